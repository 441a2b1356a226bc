#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The Hetzner sync loop (control/hetzner*.c) without the daemon:
# hetzner_probe runs the loop on a config whose [Hetzner] points at
# hetzner_fake.py on 127.0.0.1 (PollInterval = 1), and prints what the
# control thread would take.  Scenarios:
#   - three pages of servers (120 matching, one without IPv4, alias IPs, a
#     bad key label -> a warning naming the server, a route owned by a
#     peer, a vSwitch over Robot with Basic auth);
#   - an empty project;
#   - 429 with rate-limit headers twice, then success: two retries, each
#     after the backoff it announced;
#   - 500 twice then success; 500 for ever: the round gives up after 5
#     tries and posts nothing;
#   - a reply slower than the (shortened) HTTP timeout, then a good one;
#   - garbage JSON after a good round: no new desired state, the last good
#     one stays (hetzner_last);
#   - 401: the loop stops with a clear error;
#   - ManageRoute: a default route via another gateway replaced (delete +
#     add, actions running then success), other routes untouched; an
#     add_route action that fails; DryRun only says what it would do;
#   - a token file others can read is refused.
# The token never appears in anything the probe prints.
#
# No root needed: loopback in the current namespace.  Environment:
#   HETZNER_PROBE  the probe (default: $BUILD_DIR/tests/interop/hetzner_probe,
#                  BUILD_DIR defaulting to build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/interop
FIXTURES=$ROOT/tests/control/fixtures/hetzner
PROBE=${HETZNER_PROBE:-$ROOT/${BUILD_DIR:-build}/tests/interop/hetzner_probe}
TOKEN=hz-test-token-3f9a1c77e0b24d5e8a6b
T0=$SECONDS
TMP="" FAKE_PID="" RESULT=FAIL MSG=""

finish() {
	local rc=$?
	set +e
	trap - INT TERM
	if [[ -n $FAKE_PID ]]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
	fi
	if [[ $RESULT == PASS ]]; then
		echo "PASS test_hetzner_loop ($((SECONDS - T0))s)"
	elif [[ $RESULT == SKIP ]]; then
		echo "SKIP test_hetzner_loop: $MSG"
		rc=77
	else
		[[ -n $TMP && -f $TMP/api.log ]] && { echo "--- fake API log (last 30)"; tail -n 30 "$TMP/api.log"; }
		echo "FAIL test_hetzner_loop ($((SECONDS - T0))s): ${MSG:-exit status $rc}"
		((rc == 0)) && rc=1
	fi
	[[ -n $TMP && -z ${KEEP:-} ]] && rm -rf "$TMP"
	exit "$rc"
}
trap finish EXIT
trap 'MSG=interrupted; exit 130' INT TERM

skip() { RESULT=SKIP MSG=$1; exit 77; }
fail() { MSG=$1; exit 1; }
step() { printf '# %s\n' "$*"; }

command -v python3 >/dev/null || skip "missing python3"
[[ -x $PROBE ]] || fail "hetzner_probe not found at $PROBE (run tools/build.sh)"
TMP=$(mktemp -d /tmp/portcullis-hetzner.XXXXXX)

# ------------------------------------------------------------- the project

# mk.py SCENARIO: writes the fake's state for a scenario to stdout.  Servers
# are the API reference's example server with our fields changed.
cat >"$TMP/mk.py" <<'PY'
import base64, copy, hashlib, json, sys, time
fx = sys.argv[1]
scenario = sys.argv[2]
TEMPLATE = json.load(open(fx + "/hcloud_servers_list.docs.json"))["servers"][0]
VSWITCH = json.load(open(fx + "/robot_vswitch_get.docs.json"))
VSWITCH["cloud_network"][0]["id"] = 4711          # coupled to our Network

def key(name):
    """A stable test key per name: base64 for wg, base32 for the label."""
    raw = hashlib.sha256(name.encode()).digest()
    return (base64.b64encode(raw).decode(),
            base64.b32encode(raw).decode().rstrip("=").lower())

def server(sid, name, ip, public=True, alias=(), labels=None, bad_key=False):
    s = copy.deepcopy(TEMPLATE)
    s["id"], s["name"] = sid, name
    s["labels"] = {"portcullis/peer": "", "portcullis/wg-key": key(name)[1]}
    if bad_key:
        s["labels"]["portcullis/wg-key"] = "not-a-wireguard-key"
    s["labels"].update(labels or {})
    if public:
        s["public_net"]["ipv4"]["ip"] = "198.51.100.%d" % (sid % 250 + 1)
    else:
        s["public_net"]["ipv4"] = None
    s["private_net"] = [{"network": 4711, "ip": ip, "alias_ips": list(alias),
                         "mac_address": "86:00:00:00:%02x:%02x" % (sid >> 8 & 255, sid & 255)}]
    return s

def network(routes):
    return {"id": 4711, "name": "bastion-net", "ip_range": "10.0.0.0/16",
            "subnets": [{"type": "cloud", "ip_range": "10.0.0.0/24",
                         "network_zone": "eu-central", "gateway": "10.0.0.1",
                         "vswitch_id": None}],
            "routes": routes, "servers": [], "load_balancers": [],
            "protection": {"delete": False}, "labels": {},
            "created": "2024-05-01T10:00:00+00:00",
            "expose_routes_to_vswitch": False}

def two_servers():
    return [server(11, "web1", "10.0.0.11"), server(12, "web2", "10.0.0.12")]

state = {"token": "@TOKEN@", "robot_user": "robot-user", "robot_password": "robot-pw",
         "servers": two_servers(), "vswitches": [VSWITCH],
         "networks": [network([{"destination": "10.11.12.0/24", "gateway": "10.0.0.11"}])],
         "faults": [], "actions": {"running_polls": 2}}
reset = int(time.time()) + 2
fault_429 = {"id": "429", "method": "GET", "path": "/v1/servers", "status": 429, "times": 2,
             "headers": {"RateLimit-Limit": "3600", "RateLimit-Remaining": "0",
                         "RateLimit-Reset": str(reset)},
             "body": {"error": {"code": "rate_limit_exceeded",
                                "message": "limit of 3600 requests per hour reached",
                                "details": None}}}
err_500 = {"error": {"code": "service_error", "message": "something broke", "details": None}}

if scenario == "pages":
    servers = []
    for i in range(120):
        servers.append(server(100 + i, "peer%03d" % i, "10.0.3.%d" % (10 + i)))
    servers[5] = server(105, "peer005", "10.0.3.15", public=False)
    servers[7] = server(107, "peer007", "10.0.3.17", alias=["10.0.3.200", "10.0.3.201"])
    servers[9] = server(109, "broken-label", "10.0.3.19", bad_key=True)
    outsider = server(999, "not-a-peer", "10.0.9.9")
    del outsider["labels"]["portcullis/peer"]
    state["servers"] = servers[:60] + [outsider] + servers[60:]
    state["networks"] = [network([{"destination": "10.11.12.0/24", "gateway": "10.0.3.17"},
                                  {"destination": "10.99.0.0/24", "gateway": "10.0.9.250"}])]
elif scenario == "empty":
    state["servers"] = []
elif scenario == "429":
    state["faults"] = [fault_429]
elif scenario == "500":
    state["faults"] = [{"id": "500", "method": "GET", "path": "/v1/networks/4711",
                        "status": 500, "times": 2, "body": err_500}]
elif scenario == "500-forever":
    state["faults"] = [{"id": "500f", "method": "GET", "path": "/v1/networks/4711",
                        "status": 503, "body": err_500}]
elif scenario == "timeout":
    state["faults"] = [{"id": "slow", "method": "GET", "path": "/v1/networks/4711",
                        "delay": 2.5, "times": 1}]
elif scenario == "pacing":
    # A budget nearly spent: 10 a window, none left, full again in ~3 s.
    state["faults"] = [{"id": "pace", "method": "GET", "path": "/v1/networks", "times": 1,
                        "headers": {"RateLimit-Limit": "10", "RateLimit-Remaining": "0",
                                    "RateLimit-Reset": str(int(time.time()) + 3)}}]
elif scenario == "garbage":
    state["faults"] = [{"id": "garbage", "method": "GET", "path": "/v1/servers",
                        "status": 200, "raw": "{\"servers\": [ not json"}]
elif scenario == "unauthorized":
    state["token"] = "another-token"
elif scenario == "route-replace":
    state["networks"] = [network([{"destination": "10.11.12.0/24", "gateway": "10.0.0.11"},
                                  {"destination": "0.0.0.0/0", "gateway": "10.0.0.9"}])]
elif scenario == "route-fail":
    state["actions"]["fail_add_route"] = True
elif scenario != "base":
    sys.exit("unknown scenario " + scenario)
text = json.dumps(state, indent=1).replace("@TOKEN@", sys.argv[3])
print(text)
PY

# state SCENARIO: the fake's state file, replaced atomically.
state() {
	python3 "$TMP/mk.py" "$FIXTURES" "$1" "$TOKEN" >"$TMP/state.new"
	mv "$TMP/state.new" "$TMP/state.json"
}

# conf [EXTRA [HETZNER_LINES...]]: a gateway config (0600) with a [Hetzner]
# section for the fake API; extra lines go into [Hetzner].
conf() {
	local f=$TMP/gw.conf
	{
		printf '[Interface]\nPrivateKey = GIPEvSj0DkG+24ZO9LDFMKgwl0JEheCow1qVdrcJFmE=\n'
		printf '[Port private]\nDevice = net_null0\nAddress = 10.0.0.2/16\n'
		printf '[Hetzner]\nTokenFile = token\nNetwork = bastion-net\nPollInterval = 1\n'
		printf 'APIEndpoint = http://127.0.0.1:%s/v1\nRobotEndpoint = http://127.0.0.1:%s\n' \
			"$PORT" "$PORT"
		local l
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$f"
	chmod 600 "$f"
}

# probe NAME SECONDS [ROUNDS] [--last]: run the probe; output in NAME.out,
# its log lines in NAME.err.
probe() {
	local name=$1
	shift
	local rc=0
	PORTCULLIS_HZ_TIMEOUT_MS=${TIMEOUT_MS:-} "$PROBE" "$TMP/gw.conf" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
	probe_done "$name" "$rc"
}

# probe_done NAME RC: 0 or 1 (hetzner_start refused) only, no sanitizer
# report (an ASan build of the probe), no token anywhere.
probe_done() {
	if (($2 > 1)) || grep -q 'Sanitizer' "$TMP/$1.err"; then
		tail -n 40 "$TMP/$1.err" >&2
		fail "$1: hetzner_probe exited $2"
	fi
	if grep -q -- "$TOKEN" "$TMP/$1.out" "$TMP/$1.err"; then
		fail "$1: the token appears in the probe's output"
	fi
}

# check NAME PYTHON: run assertions over the probe's events: ev (all),
# desired, status (lists of dicts), log (the fake's lines since the
# scenario began, split), err (the probe's log text).
check() {
	local name=$1 code=$2
	python3 - "$TMP/$name.out" "$TMP/api.log" "$TMP/$name.err" "$TMP/$name.mark" "$code" <<'PY' ||
import json, sys
out, logf, errf, markf, code = sys.argv[1:]
ev = [json.loads(l) for l in open(out) if l.strip()]
desired = [e for e in ev if e["event"] == "desired"]
status = [e for e in ev if e["event"] == "status"]
mark = int(open(markf).read())
log = [l.split() for l in open(logf).read().splitlines()[mark:]]
err = open(errf).read()
try:
    exec(code)
except AssertionError as e:
    print("check failed:", e or "(assert)", file=sys.stderr)
    print("events:", *[json.dumps(e)[:600] for e in ev], sep="\n  ", file=sys.stderr)
    print("probe log:", err[-1500:], file=sys.stderr)
    sys.exit(1)
PY
		fail "$name"
}

# scenario NAME STATE: set the fake's state and mark where its log stands.
scenario() {
	step "$1"
	state "$2"
	wc -l <"$TMP/api.log" >"$TMP/$1.mark"
}

# ------------------------------------------------------------- the fake API

printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
state base
: >"$TMP/api.log"
python3 "$HERE/hetzner_fake.py" --port 0 --state "$TMP/state.json" --log "$TMP/api.log" \
	>"$TMP/fake.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 100); do
	grep -q '^listening' "$TMP/fake.out" && break
	kill -0 "$FAKE_PID" 2>/dev/null || fail "fake API died: $(cat "$TMP/fake.out")"
	sleep 0.05
done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/fake.out")
[[ -n $PORT ]] || fail "fake API did not start"

# ------------------------------------------------------------- scenarios

scenario pages pages
conf "VSwitch = 4321" "RobotCredentialsFile = robot"
printf 'robot-user:robot-pw\n' >"$TMP/robot"
chmod 600 "$TMP/robot"
probe pages 15 1
check pages '
assert len(desired) == 1 and status[-1]["rounds_ok"] == 1, "one good round"
d = desired[0]
peers = {p["name"]: p for p in d["peers"]}
assert len(peers) == 119, len(peers)                # 120, less the bad label
assert "not-a-peer" not in peers and "broken-label" not in peers
assert any("broken-label" in w for w in d["warnings"]), d["warnings"]
assert peers["peer000"]["endpoint"] == "198.51.100.101:51820", peers["peer000"]
assert peers["peer005"]["endpoint"] == "10.0.3.15:51820", peers["peer005"]  # no IPv4
aips = set(peers["peer007"]["allowed_ips"])
assert {"10.0.3.17/32", "10.0.3.200/32", "10.0.3.201/32", "10.11.12.0/24"} <= aips, aips
assert not any("10.99.0.0/24" in p["allowed_ips"] for p in d["peers"])
routes = {(r["dst"], r["via"]) for r in d["routes"]}
# From a dedicated server the Network is behind the vSwitch gateway.
assert routes == {("10.0.0.0/16", "10.0.2.1")}, routes
pages = [l[2] for l in log if l[2].startswith("/v1/servers")]
assert [p.split("page=")[-1] for p in pages] == ["1", "2", "3"], pages
assert all("label_selector=portcullis%2Fpeer" in p and "per_page=50" in p for p in pages), pages
assert any(l[2] == "/vswitch/4321" and l[3] == "200" for l in log), "Robot asked with Basic auth"
assert status[-1]["n_warnings"] == 1 and status[-1]["ratelimit_limit"] == 3600
'

scenario empty empty
conf
probe empty 10 1
check empty '
assert len(desired) == 1 and desired[0]["peers"] == [], desired
assert status[-1]["rounds_ok"] == 1 and status[-1]["last_error"] == ""
'

scenario 429 429
probe 429 20 1
check 429 '
import re
s = status[-1]
assert s["rounds_ok"] == 1 and s["retries"] == 2, s
assert len(desired) == 1 and len(desired[0]["peers"]) == 2
got = [(float(l[0]), l[3]) for l in log if l[2].startswith("/v1/servers")]
assert [c for _, c in got] == ["429", "429", "200"], got
delays = [float(x) for x in re.findall(r"retry \d of 4 in ([0-9.]+) s", err)]
assert len(delays) == 2 and "rate_limit_exceeded" in err, err
for n, d in enumerate(delays):
    gap = got[n + 1][0] - got[n][0]
    assert gap >= d - 0.05, (gap, d)                  # the backoff was kept
    assert d < 2 ** n, (n, d)                         # below 1 s, then 2 s
'

# With the budget spent, the next request waits one refill interval,
# (Reset - now) / (Limit - Remaining): 2 or 3 s / 10.
scenario pacing pacing
probe pacing 20 1
check pacing '
t = [float(l[0]) for l in log]
assert log[0][2] == "/v1/networks?name=bastion-net" and len(desired) == 1, log
assert t[1] - t[0] >= 0.15, t[1] - t[0]
assert all(b - a < 0.15 for a, b in zip(t[1:], t[2:])), t      # then no more
'

scenario 500 500
probe 500 20 1
check 500 '
s = status[-1]
assert s["rounds_ok"] == 1 and s["retries"] == 2 and len(desired) == 1, s
codes = [l[3] for l in log if l[2] == "/v1/networks/4711"]
assert codes == ["500", "500", "200"], codes
'

scenario 500-forever 500-forever
probe 500-forever 40 1
check 500-forever '
s = status[-1]
assert s["rounds_failed"] == 1 and s["rounds_ok"] == 0 and desired == [], s
assert s["retries"] == 4, s
assert s["last_error"].startswith("GET /networks/4711: HTTP 503 (service_error: something broke)"), s
assert s["last_error"].endswith("(gave up after 5 tries)"), s
assert [l[3] for l in log if l[2] == "/v1/networks/4711"] == ["503"] * 5
'

scenario timeout timeout
TIMEOUT_MS=1000 probe timeout 20 1
check timeout '
s = status[-1]
assert s["rounds_ok"] == 1 and s["retries"] == 1 and len(desired) == 1, s
assert "timed out" in err.lower(), err
'

# A good round, then garbage from then on: the state of round 1 stays.
scenario garbage base
"$PROBE" "$TMP/gw.conf" 20 3 --last >"$TMP/garbage.out" 2>"$TMP/garbage.err" &
probe_pid=$!
for _ in $(seq 200); do
	grep -q '"event":"status"' "$TMP/garbage.out" 2>/dev/null && break
	sleep 0.05
done
state garbage
rc=0
wait "$probe_pid" || rc=$?
probe_done garbage "$rc"
check garbage '
assert len(desired) == 1 and len(desired[0]["peers"]) == 2, desired
s = status[-1]
assert s["rounds_ok"] == 1 and s["rounds_failed"] == 2 and s["consecutive_failures"] == 2, s
assert s["last_error"].startswith("GET /servers?label_selector="), s
assert s["n_peers"] == 2 and s["had_success"], s
last = [e for e in ev if e["event"] == "last"]
assert len(last) == 1 and last[0]["peers"] == desired[0]["peers"], last
'

scenario unauthorized unauthorized
probe unauthorized 10
check unauthorized '
s = status[-1]
assert not s["running"] and s["rounds_failed"] == 1 and desired == [], s
assert s["last_error"].startswith("unauthorized: check the token ("), s
assert "401" in s["last_error"], s
assert len([l for l in log if l[3] == "401"]) == 1, "no retry of a 401"
'

scenario route-replace route-replace
conf "ManageRoute = yes"
probe route-replace 20 2
check route-replace '
assert [s["route_state"] for s in status] == [
    "replaced 0.0.0.0/0 via 10.0.0.9 with 10.0.0.2", "in place: 0.0.0.0/0 via 10.0.0.2"], status
assert len(desired) == 2
posts = [l[2] for l in log if l[1] == "POST"]
assert posts == ["/v1/networks/4711/actions/delete_route",
                 "/v1/networks/4711/actions/add_route"], posts
polls = [l for l in log if l[2].startswith("/v1/actions/")]
assert len(polls) == 6, polls                         # 2 running + 1 done, twice
net = json.load(open(logf.rsplit("/", 1)[0] + "/state.json"))["networks"][0]
assert net["routes"] == [{"destination": "10.11.12.0/24", "gateway": "10.0.0.11"},
                         {"destination": "0.0.0.0/0", "gateway": "10.0.0.2"}], net["routes"]
'

scenario route-fail route-fail
probe route-fail 20 1
check route-fail '
s = status[-1]
assert s["route_state"] == "error: add_route failed: action_failed: Action failed", s
assert s["rounds_ok"] == 1 and len(desired) == 1, s   # the peers do not wait for it
'

scenario dry-run route-replace
conf "ManageRoute = yes" "DryRun = yes"
probe dry-run 20 1 --last
check dry-run '
s = status[-1]
assert s["dry_run"] and s["rounds_ok"] == 1 and desired == [], s
assert s["route_state"] == "dry run: would replace 0.0.0.0/0 via 10.0.0.9 with 10.0.0.2", s
assert not any(l[1] == "POST" for l in log), log
last = [e for e in ev if e["event"] == "last"]
assert len(last) == 1 and len(last[0]["peers"]) == 2, last
'

step "token file permissions"
wc -l <"$TMP/api.log" >"$TMP/perms.mark"
chmod 640 "$TMP/token"
conf
probe perms 5
check perms '
assert ev[0]["event"] == "error", ev
assert "permissions 0640 are too open" in ev[0]["message"], ev
'
chmod 600 "$TMP/token"

RESULT=PASS
