#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A fake Hetzner Cloud API and Robot webservice, for the sync loop's tests.

    hetzner_fake.py --port N --state STATE.json --log LOG [--bind ADDR]

Prints "listening on ADDR:PORT" once it accepts connections (--port 0
picks a free port).  Every request re-reads
STATE.json, so a test changes the project between rounds by rewriting it
(write a temp file and rename it over, so a request never reads half a
file).  The state:

    {"token": "...",                       Bearer token the Cloud API wants
     "servers": [server objects as GET /servers returns them],
     "networks": [network objects as GET /networks/{id} returns them],
     "vswitches": [Robot vSwitch objects as GET /vswitch/{id} returns them],
     "robot_user": "...", "robot_password": "...",
     "faults": [{"method": "GET", "path": "/v1/servers",
                 "query": "page=2",        optional: substring of the query
                 "status": 429, "times": 2,  times absent: every request
                 "headers": {"RateLimit-Remaining": "0"},
                 "body": {...} or "raw": "not json",
                 "delay": seconds}],       no status: the normal reply, after
                                           delay, with these headers
     "actions": {"fail_add_route": false, "fail_delete_route": false,
                 "running_polls": 2}}

Served, in the shapes of the API reference (see /work/shared/fixtures/
hetzner): GET /v1/servers (label_selector "key" or "key=value", per_page,
page, meta.pagination), GET /v1/networks?name=, GET /v1/networks/{id},
POST /v1/networks/{id}/actions/add_route|delete_route (the route change is
written to STATE.json at once; the action is "running" for running_polls
polls of GET /v1/actions/{id}, then "success" or "error"), and Robot
GET /vswitch/{id} with HTTP Basic.  A bad token gets the documented 401,
unknown ids the documented 404, and every reply carries RateLimit-Limit,
-Remaining (one less per request) and -Reset.

LOG gets one line per request: "MONOTONIC_TIME METHOD PATH?QUERY STATUS".
Faults count their uses here, in memory: rewriting STATE.json with the same
fault does not re-arm it (add an "id" field to make a new one).
"""

import argparse
import base64
import json
import math
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RATE_LIMIT = 3600
LOCK = threading.Lock()      # the state file, the counters below
FAULT_USES = {}              # json of a fault -> times used
ACTIONS = {}                 # action id -> {"command", "polls", "fail", "network"}
BUDGET = {"remaining": RATE_LIMIT}
NEXT_ACTION = [1000]


def load_state(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_state(path, state):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".state")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, path)


def cloud_error(code, message, details=None):
    return {"error": {"code": code, "message": message, "details": details}}


def robot_error(status, code, message):
    return {"error": {"status": status, "code": code, "message": message}}


def pagination(page, per_page, total):
    last = max(1, math.ceil(total / per_page))
    return {"page": page, "per_page": per_page,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page < last else None,
            "last_page": last, "total_entries": total}


def selector_matches(selector, labels):
    """The two forms the loop sends: "key" (present) and "key=value"."""
    if "=" in selector:
        key, value = selector.split("=", 1)
        return labels.get(key) == value
    return selector in labels


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


class Handler(BaseHTTPRequestHandler):
    server_version = "hetzner-fake"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):      # our own log instead
        pass

    # ---------------------------------------------------------------- plumbing

    def write_log(self, status):
        with LOCK, open(self.server.log_path, "a", encoding="utf-8") as f:
            f.write("%.3f %s %s %d\n" % (time.monotonic(), self.command,
                                         self.path, status))

    def reply(self, status, body=None, raw=None, headers=None):
        data = raw.encode() if raw is not None else \
            json.dumps(body if body is not None else {}).encode()
        with LOCK:
            BUDGET["remaining"] = max(0, BUDGET["remaining"] - 1)
            remaining = BUDGET["remaining"]
        hdrs = {"Content-Type": "application/json",
                "RateLimit-Limit": str(RATE_LIMIT),
                "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(int(time.time()) + RATE_LIMIT - remaining)}
        hdrs.update(getattr(self, "extra_headers", None) or {})
        hdrs.update(headers or {})
        self.write_log(status)
        try:
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass                                # the client timed out

    def fault(self, state):
        """The first armed fault for this request, used up by one."""
        url = urlsplit(self.path)
        for f in state.get("faults", []):
            if f.get("method", self.command) != self.command or \
                    f.get("path") != url.path or \
                    f.get("query", "") not in url.query:
                continue
            key = json.dumps(f, sort_keys=True)
            with LOCK:
                used = FAULT_USES.get(key, 0)
                if "times" in f and used >= f["times"]:
                    continue
                FAULT_USES[key] = used + 1
            return f
        return None

    def authorised_cloud(self, state):
        return self.headers.get("Authorization") == "Bearer " + state.get("token", "")

    def authorised_robot(self, state):
        want = "%s:%s" % (state.get("robot_user", ""), state.get("robot_password", ""))
        return self.headers.get("Authorization") == \
            "Basic " + base64.b64encode(want.encode()).decode()

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(n) or b"null")
        except ValueError:
            return None

    # ---------------------------------------------------------------- dispatch

    def handle_any(self):
        state = load_state(self.server.state_path)
        f = self.fault(state)
        if f and f.get("delay"):
            time.sleep(f["delay"])
        self.extra_headers = f.get("headers") if f and "status" not in f else None
        if f and "status" in f:
            if "raw" in f:
                return self.reply(f["status"], raw=f["raw"], headers=f.get("headers"))
            return self.reply(f["status"], f.get("body", {}), headers=f.get("headers"))
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["vswitch"]:
            return self.robot(state, parts)
        if parts[:1] != ["v1"]:
            return self.reply(404, cloud_error("not_found", "no such endpoint"))
        if not self.authorised_cloud(state):
            return self.reply(401, cloud_error("unauthorized", "unable to authenticate"))
        return self.cloud(state, parts[1:], query)

    def cloud(self, state, parts, query):
        if self.command == "GET" and parts == ["servers"]:
            return self.servers(state, query)
        if self.command == "GET" and parts == ["networks"]:
            name = query.get("name", [None])[0]
            nets = [n for n in state.get("networks", [])
                    if name is None or n["name"] == name]
            return self.reply(200, {"networks": nets,
                                    "meta": {"pagination": pagination(1, 25, len(nets))}})
        if self.command == "GET" and len(parts) == 2 and parts[0] == "networks":
            net = self.find_network(state, parts[1])
            if net is None:
                return self.reply(404, cloud_error(
                    "not_found", "network with ID '%s' not found" % parts[1]))
            return self.reply(200, {"network": net})
        if self.command == "POST" and len(parts) == 4 and parts[0] == "networks" \
                and parts[2] == "actions" and parts[3] in ("add_route", "delete_route"):
            return self.route_action(state, parts[1], parts[3])
        if self.command == "GET" and len(parts) == 2 and parts[0] == "actions":
            return self.action(state, parts[1])
        return self.reply(404, cloud_error("not_found", "no such endpoint"))

    # ---------------------------------------------------------------- resources

    def servers(self, state, query):
        try:
            per_page = min(50, int(query.get("per_page", ["25"])[0]))
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return self.reply(400, cloud_error("invalid_input", "invalid input in fields 'page', 'per_page'"))
        if per_page < 1 or page < 1:
            return self.reply(400, cloud_error("invalid_input", "invalid page or per_page"))
        selector = query.get("label_selector", [None])[0]
        found = [s for s in state.get("servers", [])
                 if selector is None or selector_matches(selector, s.get("labels", {}))]
        chunk = found[(page - 1) * per_page: page * per_page]
        return self.reply(200, {"servers": chunk,
                                "meta": {"pagination": pagination(page, per_page, len(found))}})

    @staticmethod
    def find_network(state, ident):
        for n in state.get("networks", []):
            if str(n["id"]) == ident:
                return n
        return None

    def route_action(self, state, ident, command):
        route = self.body_json()
        if not isinstance(route, dict) or set(route) != {"destination", "gateway"}:
            return self.reply(400, cloud_error("invalid_input", "invalid input in fields 'destination', 'gateway'"))
        acts = state.get("actions", {})
        fail = bool(acts.get("fail_" + command))
        with LOCK:
            state = load_state(self.server.state_path)
            net = self.find_network(state, ident)
            if net is None:
                status = 404
            else:
                status = 201
                routes = net.setdefault("routes", [])
                if not fail and command == "add_route":
                    if route in routes:
                        status = 400
                    else:
                        routes.append(route)
                elif not fail:
                    if route not in routes:
                        status = 404
                    else:
                        routes.remove(route)
                if status == 201 and not fail:
                    save_state(self.server.state_path, state)
            NEXT_ACTION[0] += 1
            aid = NEXT_ACTION[0]
            ACTIONS[aid] = {"command": command, "polls": 0, "fail": fail,
                            "network": int(ident)}
        if status == 404:
            return self.reply(404, cloud_error("not_found", "network or route not found"))
        if status == 400:
            return self.reply(400, cloud_error("invalid_input", "route already exists"))
        return self.reply(201, {"action": self.action_object(aid, "running")})

    @staticmethod
    def action_object(aid, status):
        a = ACTIONS[aid]
        err = {"code": "action_failed", "message": "Action failed"} \
            if status == "error" else None
        return {"id": aid, "command": a["command"], "status": status,
                "progress": 100 if status != "running" else 0,
                "started": now_iso(),
                "finished": None if status == "running" else now_iso(),
                "resources": [{"id": a["network"], "type": "network"}],
                "error": err}

    def action(self, state, ident):
        try:
            aid = int(ident)
        except ValueError:
            aid = -1
        with LOCK:
            a = ACTIONS.get(aid)
            if a is not None:
                a["polls"] += 1
                polls = a["polls"]
        if a is None:
            return self.reply(404, cloud_error("not_found", "action with ID '%s' not found" % ident))
        running = int(state.get("actions", {}).get("running_polls", 0))
        if polls <= running:
            status = "running"
        else:
            status = "error" if a["fail"] else "success"
        return self.reply(200, {"action": self.action_object(aid, status)})

    def robot(self, state, parts):
        if self.command != "GET" or len(parts) != 2:
            return self.reply(404, robot_error(404, "NOT_FOUND", "Not found"))
        if not self.authorised_robot(state):
            return self.reply(401, robot_error(401, "UNAUTHORIZED", "Unauthorized"))
        for v in state.get("vswitches", []):
            if str(v["id"]) == parts[1]:
                return self.reply(200, v)
        return self.reply(404, robot_error(404, "NOT_FOUND", "vSwitch with ID %s not found" % parts[1]))

    do_GET = handle_any
    do_POST = handle_any
    do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.bind, args.port), Handler)
    srv.daemon_threads = True
    srv.state_path = args.state
    srv.log_path = args.log
    # "listening on ADDR:PORT": with --port 0 the test learns the port here.
    print("listening on %s:%d" % srv.server_address[:2], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
