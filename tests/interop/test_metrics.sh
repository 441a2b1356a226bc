#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The Prometheus endpoint ([Control] Metrics), scraped with curl:
#   - on 127.0.0.1 in the gateway's namespace, GET /metrics answers 200 with
#     the 0.0.4 content type, and the body is valid exposition format (HELP
#     and TYPE before a family's samples, families not split, names and
#     labels well formed, numeric values, no series twice);
#   - traffic through a wireguard-go road warrior makes the port, datapath
#     and peer counters grow; the peer is labelled by its public key, has a
#     handshake time, and every drop reason of the daemon's dump is there;
#   - no private or preshared key appears, in base64 or hex;
#   - without AF_XDP steering and without an exception TAP, neither
#     portcullis_xdp_frames_total nor portcullis_host_tap_frames_total;
#   - other paths get 404, other methods 405, HEAD the headers only;
#   - clients that connect and send nothing, or half a request, do not
#     hold up a scrape beside them;
#   - on a Unix socket (after a restart): mode 0660, the [Control] Group,
#     a directory made for it, curl --unix-socket; removed at exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_metrics curl
gateway_is_daemon || pc_skip "daemon only"

PORT=9586
URL=http://127.0.0.1:$PORT/metrics

# The exposition format checker ("validate FILE") and a reader of one
# series ("value FILE NAME [LABEL=VALUE...]", "absent" if missing) and of
# one label over a family ("labels FILE NAME LABEL").
PROM_PY='
import re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(" + NAME + r")(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\n]|\\\\[\\\\\"n])*)\"(?:,|$)")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")

def bad(n, why, line):
    raise SystemExit("line %d: %s: %r" % (n, why, line[:120]))

def labels_of(text, n, line):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m: bad(n, "bad label set", line)
        if m.group(1) in out: bad(n, "label given twice", line)
        out[m.group(1)] = m.group(2)
        pos = m.end()
    return out

def load(path):
    text = open(path, encoding="utf-8").read()
    if not text.endswith("\n"): raise SystemExit("no newline at the end")
    types, helps, closed, series = {}, set(), set(), {}
    current = None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("#"):
            p = line.split(" ", 3)
            if len(p) < 3 or p[1] not in ("HELP", "TYPE"): continue
            name = p[2]
            if not re.fullmatch(NAME, name): bad(n, "bad metric name", line)
            if name != current:
                if name in closed: bad(n, "family announced again after other families", line)
                if current: closed.add(current)
                current = name
            if any(k[0] == name for k in series): bad(n, p[1] + " after samples", line)
            if p[1] == "TYPE":
                if name in types: bad(n, "TYPE twice", line)
                if len(p) != 4 or p[3] not in TYPES: bad(n, "bad TYPE", line)
                types[name] = p[3]
            else:
                if name in helps: bad(n, "HELP twice", line)
                if len(p) != 4 or not p[3].strip(): bad(n, "empty HELP", line)
                helps.add(name)
            continue
        m = SAMPLE.match(line)
        if not m: bad(n, "not a sample line", line)
        name = m.group(1)
        if name != current: bad(n, "sample outside its family block", line)
        if name not in types or name not in helps: bad(n, "no HELP/TYPE before it", line)
        if not name.startswith("portcullis_"): bad(n, "not prefixed portcullis_", line)
        labels = labels_of(m.group(2) or "", n, line)
        try:
            value = float(m.group(3))
        except ValueError:
            bad(n, "value not a number", line)
        if types[name] == "counter" and (not name.endswith("_total") or value < 0):
            bad(n, "a counter named without _total or negative", line)
        key = (name, tuple(sorted(labels.items())))
        if key in series: bad(n, "series given twice", line)
        series[key] = value
    for name in types:
        if not any(k[0] == name for k in series) and name != "portcullis_peer_endpoint_info":
            raise SystemExit("family %s has no samples" % name)
    return types, series

cmd, path = sys.argv[1], sys.argv[2]
types, series = load(path)
if cmd == "validate":
    print("valid: %d families, %d series" % (len(types), len(series)))
elif cmd == "value":
    want = dict(a.split("=", 1) for a in sys.argv[4:])
    key = (sys.argv[3], tuple(sorted(want.items())))
    print("%.0f" % series[key] if key in series else "absent")
elif cmd == "labels":
    print("\n".join(sorted(dict(k[1])[sys.argv[4]] for k in series if k[0] == sys.argv[3])))
'
prom() { "$PC_PYTHON" -c "$PROM_PY" "$@"; }

# scrape OUT: GET /metrics over TCP in the gateway's namespace, checked.
scrape() {
	nsx gw curl -sS --max-time 5 -D "$1.hdr" -o "$1" "$URL" || fail "scrape of $URL failed"
	grep -q '^HTTP/1\.[01] 200 ' "$1.hdr" || fail "scrape: $(head -n 1 "$1.hdr")"
	grep -qi '^Content-Type: text/plain; version=0\.0\.4' "$1.hdr" ||
		fail "scrape: content type $(grep -i '^Content-Type' "$1.hdr")"
	step "$(prom validate "$1")" || fail "scrape: invalid exposition format: $(prom validate "$1" 2>&1)"
}

# grew OLD NEW NAME [LABEL=VALUE...]: the series is larger in NEW.
grew() {
	local a b
	a=$(prom value "$1" "${@:3}")
	b=$(prom value "$2" "${@:3}")
	[[ $a != absent && $b != absent ]] || fail "${*:3}: missing ($a -> $b)"
	((b > a)) || fail "${*:3} did not grow ($a -> $b)"
	step "${*:3}: $a -> $b"
}

# The standard road warrior, with a preshared key (one more secret that
# must never appear).
topo_gateway
peer_add rw 203.0.113.2/24 10.200.0.2/32
gateway_peer rw 10.200.0.2/32
(umask 077 && wg genpsk >"$PC_TMP/rw.psk") || fail "wg genpsk"
echo "PresharedKey = $(cat "$PC_TMP/rw.psk")" >>"$PC_TMP/gw-peers.conf"
GW_EXTRA_CONF="[Control]
Metrics = 127.0.0.1:$PORT"
gateway_start
grep -q "metrics on http://127.0.0.1:$PORT/metrics" "$PC_GW_LOG" || fail "no 'metrics on' line in the log"
wg set "$(ifn rw)" peer "$(key_pub gw)" preshared-key "$PC_TMP/rw.psk"
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw
RW=$(key_pub rw)

step "scrape, then traffic, then scrape again"
scrape "$PC_TMP/m1"
ping_ok rw 10.0.0.2 5
tcp_check host 10.0.0.2 rw 1
scrape "$PC_TMP/m2"
for p in public private; do
	grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_port_rx_packets_total port=$p
	grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_port_tx_bytes_total port=$p
done
grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_decap_packets_total
grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_encap_packets_total
grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_peer_rx_bytes_total peer="$RW"
grew "$PC_TMP/m1" "$PC_TMP/m2" portcullis_peer_tx_bytes_total peer="$RW"

step "peer, handshake and build series"
[[ $(prom value "$PC_TMP/m2" portcullis_peers) == 1 ]] || fail "portcullis_peers is not 1"
hs=$(prom value "$PC_TMP/m2" portcullis_peer_last_handshake_seconds peer="$RW")
now=$(date +%s)
if [[ $hs == absent ]] || ((hs < now - 300 || hs > now + 5)); then
	fail "last handshake of the peer is $hs, now is $now"
fi
(($(prom value "$PC_TMP/m2" portcullis_handshakes_rx_total) >= 1)) || fail "no handshake counted"
[[ $(prom value "$PC_TMP/m2" portcullis_peer_endpoint_info peer="$RW" endpoint=203.0.113.2:"$(nsx rw wg show "$(ifn rw)" listen-port)") == 1 ]] ||
	fail "no endpoint info for the peer: $(grep endpoint_info "$PC_TMP/m2")"
grep -q '^portcullis_build_info{version="[^"]*",dpdk="DPDK [^"]*"} 1$' "$PC_TMP/m2" || fail "no build info"
[[ $(prom value "$PC_TMP/m2" portcullis_nat_sessions_capacity) == 0 ]] || fail "NAT capacity without [NAT]"

step "no XDP or TAP series on af_packet without HostInterface"
for fam in portcullis_xdp_frames_total portcullis_host_tap_frames_total; do
	grep -q "^\(# [A-Z]* \)\?$fam[ {]" "$PC_TMP/m2" && fail "$fam without steering or a TAP"
done

step "every drop reason of the daemon's dump is a series"
gateway_counter drop malformed >/dev/null
dumped=$(awk '$1 == "drop" { print $2 }' "$PC_GW_LOG" | sort -u)
exposed=$(prom labels "$PC_TMP/m2" portcullis_drops_total reason)
[[ -n $dumped && $dumped == "$exposed" ]] ||
	fail "drop reasons differ: $(diff <(echo "$dumped") <(echo "$exposed") | tr '\n' ' ')"
step "$(echo "$exposed" | wc -l) drop reasons"

step "no key material"
for secret in "$(cat "$PC_TMP/gw.key")" "$(cat "$PC_TMP/rw.psk")" "$(cat "$PC_TMP/rw.key")"; do
	hex=$(echo "$secret" | base64 -d | od -An -tx1 | tr -d ' \n')
	for f in "$PC_TMP/m1" "$PC_TMP/m2"; do
		grep -qF -e "$secret" -e "$hex" "$f" && fail "a private or preshared key appears in the metrics"
	done
done
grep -qF "$(key_pub gw)" "$PC_TMP/m2" && fail "our own public key is not a peer"

step "404, 405, HEAD"
code=$(nsx gw curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")
[[ $code == 404 ]] || fail "GET / answered $code, want 404"
code=$(nsx gw curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metricsx")
[[ $code == 404 ]] || fail "GET /metricsx answered $code, want 404"
code=$(nsx gw curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST "$URL")
[[ $code == 405 ]] || fail "POST answered $code, want 405"
code=$(nsx gw curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$URL?name[]=x")
[[ $code == 200 ]] || fail "GET /metrics?query answered $code, want 200"
nsx gw curl -sS --max-time 5 -I "$URL" >"$PC_TMP/head.hdr" || fail "HEAD failed"
grep -q '^HTTP/1\.[01] 200 ' "$PC_TMP/head.hdr" || fail "HEAD: $(head -n 1 "$PC_TMP/head.hdr")"

step "silent and half-request clients do not hold up a scrape"
SLOW_PY='
import socket, sys, time
conns = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    if i % 2:
        s.sendall(b"GET /metr")
    conns.append(s)
print("connected", flush=True)
time.sleep(float(sys.argv[2]))
'
: >"$PC_TMP/slow.out"
nsx gw timeout 20 "$PC_PYTHON" -c "$SLOW_PY" "$PORT" 3 >"$PC_TMP/slow.out" 2>&1 &
slow=$!
for ((t = 0; t < 50; t++)); do
	grep -q connected "$PC_TMP/slow.out" && break
	sleep 0.1
done
grep -q connected "$PC_TMP/slow.out" || fail "slow clients: $(cat "$PC_TMP/slow.out")"
t0=$(date +%s%N)
scrape "$PC_TMP/m3"
ms=$((($(date +%s%N) - t0) / 1000000))
step "scrape took $ms ms beside four stalled clients"
((ms < 1000)) || fail "the scrape took $ms ms: stalled clients blocked it"
wait "$slow" || fail "slow clients: $(cat "$PC_TMP/slow.out")"
gateway_alive

step "Unix socket: restart with [Control] Metrics = a path and a Group, and [NAT]"
GROUP=nogroup
getent group "$GROUP" >/dev/null || GROUP=daemon
SOCK=$PC_TMP/run/metrics.sock
gateway_stop
GW_EXTRA_CONF="[Control]
Group = $GROUP
Metrics = $SOCK"
gateway_nat "Masquerade = 10.0.0.0/24"
gateway_start
grep -q "metrics on unix:$SOCK" "$PC_GW_LOG" || fail "no 'metrics on' line in the log"
[[ -S $SOCK ]] || fail "no socket at $SOCK"
[[ $(stat -c %a "$SOCK") == 660 ]] || fail "socket mode $(stat -c %a "$SOCK"), want 660"
[[ $(stat -c %G "$SOCK") == "$GROUP" ]] || fail "socket group $(stat -c %G "$SOCK"), want $GROUP"
[[ $(stat -c %a "$(dirname "$SOCK")") == 755 ]] || fail "directory mode $(stat -c %a "$(dirname "$SOCK")"), want 755"
curl -sS --max-time 5 --unix-socket "$SOCK" -D "$PC_TMP/m4.hdr" -o "$PC_TMP/m4" http://localhost/metrics ||
	fail "scrape over $SOCK failed"
grep -q '^HTTP/1\.[01] 200 ' "$PC_TMP/m4.hdr" || fail "unix scrape: $(head -n 1 "$PC_TMP/m4.hdr")"
step "$(prom validate "$PC_TMP/m4")" || fail "unix scrape: $(prom validate "$PC_TMP/m4" 2>&1)"
[[ $(prom value "$PC_TMP/m4" portcullis_peer_rx_bytes_total peer="$RW") != absent ]] ||
	fail "unix scrape: no series for the peer"
(($(prom value "$PC_TMP/m4" portcullis_nat_sessions_capacity) > 0)) || fail "unix scrape: no NAT capacity with [NAT]"
code=$(curl -sS --max-time 5 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' http://localhost/nope)
[[ $code == 404 ]] || fail "unix GET /nope answered $code, want 404"
gateway_stop
[[ -e $SOCK ]] && fail "$SOCK is still there after the daemon stopped"
pc_pass
