#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The WireGuard control socket's conventions and its robustness, with raw
# protocol requests (the stock wg tool is used by the other tests):
#   - the socket has no group or other access (bound under umask 077, as
#     wireguard-go does) in a 0755 directory;
#   - two requests on one connection get two replies; a client that shuts
#     its sending side after the request still gets the reply;
#   - an unknown operation gets errno=-22 and the connection stays usable;
#   - a set with a bad line gets its errno (-22) and changes nothing, a
#     good one errno=0 (test_wg_tool.sh covers what sets do);
#   - a client that sends one byte every 200 ms does not delay wg show;
#   - a request over the size limit closes that connection only;
#   - deleting the socket file stops the daemon cleanly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_uapi
gateway_is_daemon || pc_skip "daemon only"

topo_roadwarrior
SOCK=/var/run/wireguard/$(ifn gw).sock

step "socket and directory permissions"
mode=$(stat -c %a "$SOCK")
(((8#$mode & 8#077) == 0)) || fail "socket mode $mode: group or others have access"
[[ $(stat -c %a /var/run/wireguard) == 755 ]] || fail "directory mode $(stat -c %a /var/run/wireguard), want 755"

UAPI_PY='
import socket, sys, time, threading
sock = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5); s.connect(sock); return s
def reply(s):
    buf = b""
    while not buf.endswith(b"\n\n"):
        d = s.recv(65536)
        if not d: raise SystemExit("connection closed after %r" % buf[-60:])
        buf += d
    return buf.decode()
def errno_of(r):
    return [l for l in r.splitlines() if l.startswith("errno=")][-1]
cmd = sys.argv[2]
if cmd == "two":
    s = conn()
    s.sendall(b"get=1\n\n")
    a = reply(s)
    s.sendall(b"get=1\n\n")
    b = reply(s)
    assert "public_key=" in a and "public_key=" in b, (a, b)
    print("two replies:", errno_of(a), errno_of(b))
elif cmd == "unknown":
    s = conn()
    s.sendall(b"frobnicate=1\n\n")
    r = reply(s)
    s.sendall(b"get=1\n\n")
    g = reply(s)
    print("unknown:", errno_of(r), "then get:", errno_of(g))
elif cmd == "halfclose":
    s = conn()
    s.sendall(b"get=1\n\n")
    s.shutdown(socket.SHUT_WR)
    print("half-closed client:", errno_of(reply(s)))
elif cmd == "set":
    s = conn()
    s.sendall(b"set=1\nlisten_port=51820\npublic_key=" + b"zz" * 32 + b"\n\n")
    bad = reply(s)
    s.sendall(b"set=1\nlisten_port=51820\n\n")
    good = reply(s)
    print("bad set:", errno_of(bad), "valid set:", errno_of(good))
elif cmd == "slow":
    s = conn()
    for ch in b"get=1\n":
        s.send(bytes([ch])); time.sleep(0.2)
    print("slow client done")
elif cmd == "big":
    s = conn()
    try:
        s.sendall(b"set=1\n" + b"x" * (17 << 20))
        s.recv(1)
        print("big: connection closed")
    except OSError as e:
        print("big: connection closed (%s)" % e.__class__.__name__)
'
# uapi_case TITLE CMD WANT: run the helper's CMD, its one line must be WANT.
uapi_case() {
	local out
	step "$1"
	out=$(timeout 20 "$PC_PYTHON" -c "$UAPI_PY" "$SOCK" "$2") || fail "$2: $out"
	step "$out"
	[[ $out == "$3" ]] || fail "$2: want '$3', got '$out'"
}

uapi_case "two requests on one connection" two "two replies: errno=0 errno=0"
uapi_case "a client that shuts its sending side still gets the reply (socat, nc -N)" \
	halfclose "half-closed client: errno=0"
uapi_case "an unknown operation" unknown "unknown: errno=-22 then get: errno=0"
uapi_case "set: validated whole, a bad line refused, a good one applied" \
	set "bad set: errno=-22 valid set: errno=0"
grep -q 'refused a set: ' "$PC_GW_LOG" || fail "the refused set was not logged"

step "a slow client does not hold up wg show"
timeout 20 "$PC_PYTHON" -c "$UAPI_PY" "$SOCK" slow >/dev/null &
slow=$!
sleep 0.3
t0=$(date +%s%N)
wg show "$(ifn gw)" >/dev/null || fail "wg show failed while a slow client was connected"
ms=$((($(date +%s%N) - t0) / 1000000))
step "wg show took $ms ms beside the slow client"
((ms < 1000)) || fail "wg show took $ms ms: the slow client blocked the control socket"
wait "$slow" || true

step "an oversized request closes only its own connection"
out=$(timeout 30 "$PC_PYTHON" -c "$UAPI_PY" "$SOCK" big 2>&1) || fail "big request: $out"
step "$out"
wg show "$(ifn gw)" >/dev/null || fail "wg show failed after the oversized request"
ping_ok rw 10.0.0.2 2

step "deleting the socket stops the daemon"
rm -f "$SOCK"
for ((t = 0; t < 50; t++)); do
	kill -0 "$PC_GW_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$PC_GW_PID" 2>/dev/null && fail "portcullisd still runs 5 s after its socket was deleted"
grep -q 'was deleted, stopping' "$PC_GW_LOG" || fail "no stop message in the log"
PC_GW_PID=""
pc_pass
