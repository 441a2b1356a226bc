#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The stock wg(8) drives portcullisd as it drives wireguard-go, while a
# wireguard-go road warrior ("rw") keeps pinging the private host:
#   - wg show / showconf / set (add a peer, keepalive, fwmark, listen-port),
#     an allowed IP moved between peers and back, peer removal;
#   - wg setconf and wg syncconf (from `wg-quick strip`) keep the session of
#     an unchanged peer: no new handshake, its counters go on growing;
#   - raw requests for what Debian's wg cannot send: "allowed_ip=-prefix",
#     and a set that fails half-way (a bad line after good ones, or a valid
#     request the gateway refuses) changes nothing;
#   - a new private key: the public key follows, sessions are dropped, and
#     the old key brings the road warrior back with a new handshake.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_wg_tool
gateway_is_daemon || pc_skip "daemon only"

topo_roadwarrior
GW=$(ifn gw)
SOCK=/var/run/wireguard/$GW.sock
RW=$(key_pub rw)
key_gen p2
key_gen p3
key_gen gw2
P2=$(key_pub p2)
P3=$(key_pub p3)

# wgv FIELD...: wg show GW FIELD, one line per peer, tab replaced by space.
wgv() { timeout 5 wg show "$GW" "$@" | tr '\t' ' '; }
# allowed_of KEY: that peer's allowed IPs, sorted ("(none)" if none).
allowed_of() {
	wgv allowed-ips | awk -v k="$1" '$1 == k { for (i = 2; i <= NF; i++) print $i }' |
		sort | paste -sd ' '
}
rw_handshake() { wgv latest-handshakes | awk -v k="$RW" '$1 == k { print $2 }'; }
rw_rx() { wgv transfer | awk -v k="$RW" '$1 == k { print $2 }'; }
expect() { [[ $2 == "$3" ]] || fail "$1: want '$3', got '$2'"; step "$1: $2"; }

ping_ok rw 10.0.0.2 3
hs0=$(rw_handshake)
((hs0 > 0)) || fail "no handshake with rw"

step "wg show and showconf"
expect "public key" "$(wgv public-key)" "$(key_pub gw)"
expect "listen port" "$(wgv listen-port)" "$GW_PORT"
expect "rw allowed ips" "$(allowed_of "$RW")" "10.200.0.2/32"
timeout 5 wg showconf "$GW" >"$PC_TMP/showconf.conf" || fail "wg showconf"
grep -q "^PrivateKey = $(cat "$PC_TMP/gw.key")$" "$PC_TMP/showconf.conf" || fail "showconf lacks the private key"

step "wg set: a new peer, keepalive, fwmark"
wg set "$GW" fwmark 0x1234 peer "$P2" allowed-ips 10.201.0.0/24,fd00:201::/64 \
	endpoint 203.0.113.77:51820 persistent-keepalive 30 || fail "wg set peer p2"
expect "p2 allowed ips" "$(allowed_of "$P2")" "10.201.0.0/24 fd00:201::/64"
expect "p2 endpoint" "$(wgv endpoints | awk -v k="$P2" '$1 == k { print $2 }')" "203.0.113.77:51820"
expect "p2 keepalive" "$(wgv persistent-keepalive | awk -v k="$P2" '$1 == k { print $2 }')" "30"
expect "fwmark" "$(wgv fwmark)" "0x1234"
grep -q 'set applied: 1 peer(s) added' "$PC_GW_LOG" || fail "the set was not logged"
ping_ok rw 10.0.0.2 3

step "an allowed IP moved to another peer and back"
wg set "$GW" peer "$P2" allowed-ips 10.201.0.0/24,10.200.0.2/32 || fail "move to p2"
expect "p2 took it" "$(allowed_of "$P2")" "10.200.0.2/32 10.201.0.0/24"
expect "rw lost it" "$(allowed_of "$RW")" "(none)"
nsx rw ping -n -q -c 2 -W 1 10.0.0.2 >/dev/null 2>&1 && fail "rw still reaches the host without its allowed IP"
wg set "$GW" peer "$RW" allowed-ips 10.200.0.2/32 || fail "move back to rw"
expect "rw has it again" "$(allowed_of "$RW")" "10.200.0.2/32"
expect "p2 lost it" "$(allowed_of "$P2")" "10.201.0.0/24"
ping_ok rw 10.0.0.2 3
expect "no new handshake for rw" "$(rw_handshake)" "$hs0"

step "peer removal"
wg set "$GW" peer "$P2" remove || fail "remove p2"
wgv peers | grep -q "$P2" && fail "p2 still listed after remove"
expect "fwmark off" "$(wg set "$GW" fwmark 0 && wgv fwmark)" "off"

step "raw protocol: allowed_ip=-prefix (newer wg), one request adding and removing"
UAPI_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().replace(b"\\n", b"\n"))
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(65536)
    if not d: break
    buf += d
print([l for l in buf.decode().splitlines() if l.startswith("errno=")][-1])
'
raw() { timeout 10 "$PC_PYTHON" -c "$UAPI_PY" "$SOCK" "$1"; }
hexkey() { base64 -d <<<"$1" | od -An -tx1 -v | tr -d ' \n'; }
HRW=$(hexkey "$RW")
HP3=$(hexkey "$P3")
expect "add two, remove one" "$(raw "set=1\npublic_key=$HRW\nallowed_ip=10.202.0.0/16\nallowed_ip=10.203.0.0/16\nallowed_ip=-10.202.0.0/16\n\n")" "errno=0"
expect "rw allowed ips" "$(allowed_of "$RW")" "10.200.0.2/32 10.203.0.0/16"
expect "remove" "$(raw "set=1\npublic_key=$HRW\nallowed_ip=-10.203.0.0/16\n\n")" "errno=0"
expect "rw allowed ips" "$(allowed_of "$RW")" "10.200.0.2/32"

step "atomicity: a set that fails half-way changes nothing"
before=$(timeout 5 wg showconf "$GW")
expect "bad line after good ones" \
	"$(raw "set=1\nlisten_port=40000\npublic_key=$HP3\nallowed_ip=10.204.0.0/16\npublic_key=$HRW\nallowed_ip=10.999.0.0/16\n\n")" "errno=-22"
expect "private key all zeros (valid syntax, refused)" \
	"$(raw "set=1\npublic_key=$HP3\nallowed_ip=10.204.0.0/16\nprivate_key=$(printf '0%.0s' {1..64})\n\n")" "errno=-22"
after=$(timeout 5 wg showconf "$GW")
[[ $before == "$after" ]] || fail "a refused set changed the configuration: $(diff <(echo "$before") <(echo "$after"))"
ping_ok rw 10.0.0.2 2
expect "rw session kept" "$(rw_handshake)" "$hs0"

step "wg setconf keeps the session of an unchanged peer"
rx0=$(rw_rx)
{
	echo "[Interface]"
	echo "PrivateKey = $(cat "$PC_TMP/gw.key")"
	echo "ListenPort = $GW_PORT"
	echo "[Peer]"
	echo "PublicKey = $RW"
	echo "AllowedIPs = 10.200.0.2/32"
	echo "[Peer]"
	echo "PublicKey = $P3"
	echo "AllowedIPs = 10.205.0.0/24"
} >"$PC_TMP/setconf.conf"
wg setconf "$GW" "$PC_TMP/setconf.conf" || fail "wg setconf"
expect "peers after setconf" "$(wgv peers | sort | tr '\n' ' ')" "$(printf '%s\n' "$RW" "$P3" | sort | tr '\n' ' ')"
ping_ok rw 10.0.0.2 3
expect "no new handshake for rw" "$(rw_handshake)" "$hs0"
(($(rw_rx) > rx0)) || fail "rw's receive counter did not grow after setconf (reset?)"

step "wg syncconf <(wg-quick strip ...) removes p3, adds p2, keeps rw"
mkdir -p "$PC_TMP/wgq"
{
	echo "[Interface]"
	echo "PrivateKey = $(cat "$PC_TMP/gw.key")"
	echo "ListenPort = $GW_PORT"
	echo "Address = 10.200.0.1/24"
	echo "MTU = 1420"
	echo "[Peer]"
	echo "PublicKey = $RW"
	echo "AllowedIPs = 10.200.0.2/32"
	echo "[Peer]"
	echo "PublicKey = $P2"
	echo "AllowedIPs = 10.206.0.0/24"
	echo "PersistentKeepalive = 15"
} >"$PC_TMP/wgq/$GW.conf"
chmod 600 "$PC_TMP/wgq/$GW.conf"
wg syncconf "$GW" <(wg-quick strip "$PC_TMP/wgq/$GW.conf") || fail "wg syncconf"
expect "peers after syncconf" "$(wgv peers | sort | tr '\n' ' ')" "$(printf '%s\n' "$RW" "$P2" | sort | tr '\n' ' ')"
expect "p2 allowed ips" "$(allowed_of "$P2")" "10.206.0.0/24"
ping_ok rw 10.0.0.2 3
expect "no new handshake for rw" "$(rw_handshake)" "$hs0"
grep -q 'set applied: 1 peer(s) added, 1 removed' "$PC_GW_LOG" || fail "syncconf's change not logged as 1 added, 1 removed"

step "wg set listen-port, and back"
wg set "$GW" listen-port 40001 || fail "listen-port"
expect "listen port" "$(wgv listen-port)" "40001"
wg set "$GW" listen-port "$GW_PORT" || fail "listen-port back"
ping_ok rw 10.0.0.2 3

step "a new private key drops the sessions; the old one brings rw back"
wg set "$GW" private-key "$PC_TMP/gw2.key" || fail "private-key"
expect "public key follows" "$(wgv public-key)" "$(key_pub gw2)"
wg set "$GW" private-key "$PC_TMP/gw.key" || fail "private-key back"
expect "public key back" "$(wgv public-key)" "$(key_pub gw)"
ping_ok rw 10.0.0.2 3 30
hs1=$(rw_handshake)
((hs1 > hs0)) || fail "rw did not handshake again after the key change ($hs1 <= $hs0)"
gateway_alive
pc_pass
