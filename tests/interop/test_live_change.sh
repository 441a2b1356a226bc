#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Live changes do not lose packets: while a wireguard-go road warrior and
# the private host stream numbered UDP datagrams to each other through the
# gateway (both directions: decap and encap), round after round a hundred
# other peers are added one `wg set` at a time, a `wg syncconf` removes
# them all at once, and the config file is reloaded (SIGHUP; in the first
# round also with a peer added, a bad line refused, and portcullisctl
# reload with an allowed IP moved).  Every datagram must arrive, and the
# road warrior's session must be the same one (no new handshake).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_live_change
gateway_is_daemon || pc_skip "daemon only"

topo_roadwarrior
GW=$(ifn gw)
RW=$(key_pub rw)
CTL=${PORTCULLISCTL:-$(dirname "$PORTCULLISD")/../tools/portcullisctl/portcullisctl}
RATE=${LIVE_RATE:-2000}           # datagrams per second, each way
SECONDS_STREAM=${LIVE_SECONDS:-20}

STREAM_PY='
import socket, struct, sys, time
mode = sys.argv[1]
if mode == "send":
    dst, port, rate, secs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    total = int(rate * secs)
    t0 = time.monotonic()
    for seq in range(total):
        due = t0 + seq / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        s.sendto(struct.pack("!I", seq) + b"x" * 100, (dst, port))
    time.sleep(1.0)
    for _ in range(20):
        s.sendto(b"END" + struct.pack("!I", total), (dst, port))
        time.sleep(0.05)
else:
    port, limit = int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(limit)
    seen, dup, total = set(), 0, None
    try:
        while total is None:
            d, _ = s.recvfrom(2048)
            if d.startswith(b"END"):
                total = struct.unpack("!I", d[3:7])[0]
            else:
                q = struct.unpack("!I", d[:4])[0]
                dup += q in seen
                seen.add(q)
    except socket.timeout:
        pass
    if total is None:
        print("no END marker: received %d" % len(seen)); sys.exit(1)
    missing = total - len(seen)
    print("received %d of %d, missing %d, duplicates %d" % (len(seen), total, missing, dup))
    sys.exit(0 if missing == 0 and dup == 0 else 1)
'

ping_ok rw 10.0.0.2 3
hs0=$(timeout 5 wg show "$GW" latest-handshakes | awk -v k="$RW" '$1 == k { print $2 }')
limit=$((SECONDS_STREAM + 30))

step "streams: rw -> host and host -> rw, $RATE/s each for ${SECONDS_STREAM}s"
nsx host "$PC_PYTHON" -c "$STREAM_PY" recv 7001 "$limit" >"$PC_TMP/recv-host.txt" 2>&1 &
recv_host=$!
nsx rw "$PC_PYTHON" -c "$STREAM_PY" recv 7002 "$limit" >"$PC_TMP/recv-rw.txt" 2>&1 &
recv_rw=$!
sleep 0.5
nsx rw "$PC_PYTHON" -c "$STREAM_PY" send 10.0.0.2 7001 "$RATE" "$SECONDS_STREAM" &
send_rw=$!
nsx host "$PC_PYTHON" -c "$STREAM_PY" send 10.200.0.2 7002 "$RATE" "$SECONDS_STREAM" &
send_host=$!

"$PC_PYTHON" - "$PC_TMP/keys.txt" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    for i in range(100):
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
PY
{
	echo "[Interface]"
	echo "PrivateKey = $(cat "$PC_TMP/gw.key")"
	echo "ListenPort = $GW_PORT"
	echo "[Peer]"
	echo "PublicKey = $RW"
	echo "AllowedIPs = 10.200.0.2/32"
} >"$PC_TMP/sync.conf"

# churn: a hundred peers added, one wg set each, then removed by one
# wg syncconf back to rw alone, then the config file reloaded (SIGHUP).
churn() {
	local i=0 k n
	while read -r k; do
		wg set "$GW" peer "$k" allowed-ips "10.210.$i.0/24" \
			endpoint "203.0.113.$((100 + i % 100)):51820" || fail "wg set peer $i"
		i=$((i + 1))
	done <"$PC_TMP/keys.txt"
	n=$(timeout 5 wg show "$GW" peers | wc -l)
	((n >= 101)) || fail "want 101 or more peers after the adds, have $n"
	wg syncconf "$GW" "$PC_TMP/sync.conf" || fail "wg syncconf"
	n=$(timeout 5 wg show "$GW" peers | wc -l)
	((n == 1)) || fail "want 1 peer after syncconf, have $n"
}

# Send SIGHUP and wait (5 s at most) for the gateway's log to match $1;
# the caller checks what was logged.
sighup_wait() {
	local t
	kill -HUP "$PC_GW_PID"
	for ((t = 0; t < 50; t++)); do
		grep -q "$1" "$PC_GW_LOG" && return 0
		sleep 0.1
	done
}

step "round 1: 100 peers added (wg set each), removed (wg syncconf)"
churn
step "reload (SIGHUP) with a peer added to the file"
key_gen extra
cat >>"$PC_TMP/gateway.conf" <<EOF

[Peer]
PublicKey = $(key_pub extra)
AllowedIPs = 10.211.0.0/24
EOF
sighup_wait 'reloaded .*1 peer(s) added'
grep -q 'reloaded .*1 peer(s) added, 0 removed, 0 updated, 1 unchanged' "$PC_GW_LOG" ||
	fail "SIGHUP reload not logged as 1 added, 1 unchanged: $(grep -E 'reload' "$PC_GW_LOG" | tail -n 2)"

step "a bad line in the file: the reload is refused, nothing changes"
echo "AllowedIPs = 10.999.0.0/24" >>"$PC_TMP/gateway.conf"
sighup_wait 'reload refused'
grep -q "reload refused, nothing changed: .*gateway.conf:[0-9]*:" "$PC_GW_LOG" ||
	fail "the bad reload was not refused with file:line"
sed -i '$d' "$PC_TMP/gateway.conf"
n=$(timeout 5 wg show "$GW" peers | wc -l)
((n == 2)) || fail "want 2 peers after the refused reload, have $n"

[[ -x $CTL ]] || fail "portcullisctl not found at $CTL (set PORTCULLISCTL)"
step "portcullisctl reload with the extra peer's prefix moved"
sed -i 's|^AllowedIPs = 10.211.0.0/24$|AllowedIPs = 10.212.0.0/24|' "$PC_TMP/gateway.conf"
out=$("$CTL" -i "$GW" reload 2>&1) || fail "portcullisctl reload: $out"
step "$out"
[[ $out == *"0 added, 0 removed, 1 updated, 1 unchanged"* ]] || fail "portcullisctl reload: $out"

rounds=1
while kill -0 "$send_rw" 2>/dev/null; do
	churn
	kill -HUP "$PC_GW_PID"
	rounds=$((rounds + 1))
done
step "$rounds rounds of 100 adds, a syncconf and a reload while the streams ran"
((rounds >= 3)) || fail "only $rounds rounds: the changes did not overlap the stream"
wait "$send_rw" || fail "sender rw"
wait "$send_host" || fail "sender host"
ok=1
wait "$recv_host" || ok=0
wait "$recv_rw" || ok=0
step "rw -> host: $(cat "$PC_TMP/recv-host.txt")"
step "host -> rw: $(cat "$PC_TMP/recv-rw.txt")"
((ok)) || fail "the stream lost or duplicated datagrams during the live changes"
hs1=$(timeout 5 wg show "$GW" latest-handshakes | awk -v k="$RW" '$1 == k { print $2 }')
[[ $hs1 == "$hs0" ]] || fail "rw handshook again during the changes ($hs0 -> $hs1)"
step "rw kept its session (latest handshake $hs0)"
gateway_alive
pc_pass
