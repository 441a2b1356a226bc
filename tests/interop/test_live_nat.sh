#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Live NAT changes do not disturb existing sessions: while the private host
# streams numbered UDP datagrams through the NAT to a public echo service
# (each one translated out, echoed, translated back in), the config file is
# reloaded with the [NAT] settings changed (timeouts, MSSClamp, a Forward
# added, then removed), forwards are added and removed at runtime with
# portcullisctl, and unrelated peers come and go with wg set.
# Every echo must come back on the same mapping, and a forward added by a
# reload must work at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat_lib.sh"
pc_init test_live_nat
gateway_is_daemon || pc_skip "daemon only"

topo_internet
gateway_nat "Masquerade = 10.0.0.0/16" "UDPTimeout = 300"
gateway_start
GW=$(ifn gw)
CONF=$PC_TMP/gateway.conf
CTL=${PORTCULLISCTL:-$(dirname "$PORTCULLISD")/../tools/portcullisctl/portcullisctl}
RATE=${LIVE_RATE:-1000}
SECONDS_STREAM=${LIVE_SECONDS:-15}

ECHO_PY='
import socket, struct, sys, time
mode = sys.argv[1]
if mode == "echo":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[2])))
    print("listening", flush=True)
    srcs = set()
    while True:
        d, a = s.recvfrom(2048)
        if a not in srcs:
            srcs.add(a); print("from %s:%d" % a, flush=True)
        s.sendto(d, a)
else:
    dst, port, rate, secs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    total, got, t0, seq = int(rate * secs), set(), time.monotonic(), 0
    while seq < total or time.monotonic() < t0 + secs + 2:
        now = time.monotonic()
        while seq < total and t0 + seq / rate <= now:
            s.sendto(struct.pack("!I", seq) + b"y" * 64, (dst, port)); seq += 1
        try:
            while True:
                got.add(struct.unpack("!I", s.recv(2048)[:4])[0])
        except BlockingIOError:
            pass
        time.sleep(0.0005)
    miss = sorted(set(range(total)) - got)
    runs = []
    for q in miss:
        if runs and runs[-1][1] == q - 1: runs[-1][1] = q
        else: runs.append([q, q])
    print("echoed %d of %d, missing %d%s" % (len(got), total, total - len(got),
          (" (seq " + ", ".join("%d-%d" % (a, b) for a, b in runs[:10]) + ")") if runs else ""))
    sys.exit(0 if len(got) == total else 1)
'

: >"$PC_TMP/echo.log"
nsx inet timeout 120 "$PC_PYTHON" -c "$ECHO_PY" echo 7100 >"$PC_TMP/echo.log" 2>&1 &
for ((t = 0; t < 50; t++)); do grep -q listening "$PC_TMP/echo.log" && break; sleep 0.1; done
grep -q listening "$PC_TMP/echo.log" || fail "echo service did not start"

# Resolve the neighbours first: the stream is about live changes, and the
# gateway holds only 16 packets per unresolved next hop.
ping_ok host 203.0.113.50 2
step "stream: host -> 203.0.113.50:7100 through the NAT, $RATE/s for ${SECONDS_STREAM}s, echoed back"
nsx host "$PC_PYTHON" -c "$ECHO_PY" send 203.0.113.50 7100 "$RATE" "$SECONDS_STREAM" >"$PC_TMP/stream.txt" 2>&1 &
stream=$!
sleep 1

# reload_ok WHAT: SIGHUP, then wait for the newest reload line; it must
# be a success.
reload_ok() {
	local before t
	before=$(grep -c 'reload' "$PC_GW_LOG" || true)
	kill -HUP "$PC_GW_PID"
	for ((t = 0; t < 50; t++)); do
		(($(grep -c 'reload' "$PC_GW_LOG" || true) > before)) && break
		sleep 0.1
	done
	grep 'reload' "$PC_GW_LOG" | tail -n 1 | grep -q 'reloaded' ||
		fail "$1: $(grep 'reload' "$PC_GW_LOG" | tail -n 1)"
	step "$1: reloaded"
}

step "reload: UDPTimeout, TCP timeouts and MSSClamp changed, a Forward added"
sed -i 's/^UDPTimeout = 300$/UDPTimeout = 600\nMSSClamp = 1300\nForward = udp 2060 -> 10.0.0.2:8060/' "$CONF"
grep -q '^Forward = udp 2060' "$CONF" || fail "could not edit $CONF"
: >"$PC_TMP/svc.log"
nsx host timeout 60 "$PC_PYTHON" -c "$ECHO_PY" echo 8060 >"$PC_TMP/svc.log" 2>&1 &
for ((t = 0; t < 50; t++)); do grep -q listening "$PC_TMP/svc.log" && break; sleep 0.1; done
reload_ok "NAT settings and a forward"
out=$(nsx inet "$PC_PYTHON" -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for _ in range(3):
    s.sendto(b"hello", ("203.0.113.1", 2060))
    try:
        print(s.recvfrom(64)[0].decode()); break
    except socket.timeout:
        pass
' 2>&1)
[[ $out == hello ]] || fail "the forward added by the reload does not answer: $out"
step "the new forward answers at once"

step "unrelated peers come and go (wg set)"
for i in $(seq 1 20); do
	k=$(head -c 32 /dev/urandom | base64)
	wg set "$GW" peer "$k" allowed-ips "10.220.$i.0/24" || fail "wg set"
	wg set "$GW" peer "$k" remove || fail "wg set remove"
done

[[ -x $CTL ]] || fail "portcullisctl not found at $CTL (set PORTCULLISCTL)"
step "portcullisctl forward add / remove while the stream runs"
"$CTL" -i "$GW" forward add tcp 2070 10.0.0.2:8070 || fail "forward add"
"$CTL" -i "$GW" forwards | grep -q 2070 || fail "forward 2070 not listed"
"$CTL" -i "$GW" forward remove tcp 2070 || fail "forward remove"
! "$CTL" -i "$GW" forwards | grep -q 2070 || fail "forward 2070 still listed"

step "reload: the forward removed again, timeouts back"
sed -i -e '/^Forward = udp 2060/d' -e '/^MSSClamp = 1300$/d' -e 's/^UDPTimeout = 600$/UDPTimeout = 300/' "$CONF"
reload_ok "forward removed"

wait "$stream" || { cat "$PC_TMP/stream.txt"; fail "echoes were lost during the live NAT changes"; }
step "$(cat "$PC_TMP/stream.txt")"
srcs=$(grep -c '^from' "$PC_TMP/echo.log" || true)
((srcs == 1)) || fail "the echo service saw $srcs external sources: the mapping changed ($(grep '^from' "$PC_TMP/echo.log" | tr '\n' ' '))"
step "one mapping throughout: $(grep '^from' "$PC_TMP/echo.log")"
gateway_alive
pc_pass
