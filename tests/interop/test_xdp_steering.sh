#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# AF_XDP mode on a bastion: the public NIC stays with the kernel, which
# has the public address 203.0.113.1 (as a Hetzner server with one IPv4
# has), and our XDP program (dataplane/xdp/steer.bpf.c) hands the gateway
# only WireGuard, NAT return traffic and forwards.  Checked, while a road
# warrior's tunnel and the NAT carry traffic:
#  - a public host reaches an SSH-like TCP service of the host on port 22
#    and pings the host (the kernel answers);
#  - a port the gateway does not own (UDP 5353) reaches the kernel;
#  - the gateway's neighbours on the shared address are resolved by the
#    kernel (the ARP replies go to the kernel, untouched);
#  - with [NAT] on the same address, the private host's connections
#    (PortRange 20000-29999) and the host's own share 203.0.113.1;
#  - portcullisctl (ports, counters) and the metrics text show the
#    program's counters for the NIC;
#  - the program is detached when the daemon stops; after a SIGKILL it
#    stays, the host's traffic still reaches the kernel (SSH works), and
#    the next start removes it;
#  - with the host's address on a bridge that the NIC is a port of, the
#    same (the address counts as the host's).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_xdp_steering
gateway_is_daemon || pc_skip "XDP steering is a portcullisd feature"
export GW_PMD=net_af_xdp
CTL=${PORTCULLISCTL:-$(dirname "$PORTCULLISD")/../tools/portcullisctl/portcullisctl}
[[ -x $CTL ]] || fail "portcullisctl not found at $CTL (set PORTCULLISCTL)"

topo_bastion
PUB_IF=$(ifn pub)
# The host's own address on the NIC the gateway also uses.
addr_add gw pub 203.0.113.1/24

# xdp_attached: is an XDP program on the gateway's public NIC?
xdp_attached() { ip -n "$(ns gw)" -d link show "$PUB_IF" | grep -q 'prog/xdp'; }

# listen_check PROTO PORT: a listener of the host's kernel on
# 203.0.113.1:PORT answers a line from the public host.
listen_check() { service_check "$1" gw "203.0.113.1:$2" pub "203.0.113.1:$2"; }

gateway_start
grep -q "XDP steering on $PUB_IF" "$PC_GW_LOG" || fail "no XDP steering in the start-up log"
grep -q "$PUB_IF: XDP steering: .* 1 shared with the host" "$PC_GW_LOG" ||
	fail "the start-up log does not show one address shared with the host"
xdp_attached || fail "no XDP program on $PUB_IF"
grep -q "warning: ListenPort $GW_PORT is inside the host's ip_local_port_range" "$PC_GW_LOG" ||
	fail "no warning about ListenPort inside the host's ephemeral ports"
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw
ping_ok rw 10.0.0.2 5
# The host's services while the tunnel carries traffic.
nsx rw ping -n -q -i 0.05 -c 200 10.0.0.2 >"$PC_TMP/rw-ping" 2>&1 &
bg=$!
tcp_check host 10.0.0.2 rw 2
listen_check tcp 22
ping_ok pub 203.0.113.1 3
listen_check udp 5353
wait "$bg" || true
grep -q '200 packets transmitted, 200 received' "$PC_TMP/rw-ping" ||
	fail "the tunnel lost pings meanwhile: $(cat "$PC_TMP/rw-ping")"
step "200 of 200 tunnel pings meanwhile"
# The gateway resolved the road warrior through the kernel's table (the
# ARP reply to the shared address went to the kernel): both hold the
# same MAC for it.
kmac=$(nsx gw ip neigh show 203.0.113.2 dev "$PUB_IF" |
	awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }')
out=$("$CTL" -i "$(ifn gw)" --json neigh 2>&1) || fail "portcullisctl --json neigh: $out"
gmac=$("$PC_PYTHON" -c '
import json, sys
print(next(n["mac"] for n in json.load(sys.stdin)["neighbours"] if n["ip"] == "203.0.113.2"))' \
	<<<"$out") || fail "the gateway has no neighbour 203.0.113.2: $out"
[[ -n $kmac && $gmac == "$kmac" ]] ||
	fail "the gateway's MAC for the road warrior '$gmac' is not the kernel's '$kmac'"
step "neighbour 203.0.113.2 at $gmac, in the kernel's table and the gateway's"
v=$(gateway_counter stat xdp_to_gateway)
[[ $v -ge 10 ]] || fail "stat xdp_to_gateway is $v, want >= 10"
v=$(gateway_counter stat xdp_to_host)
[[ $v -ge 5 ]] || fail "stat xdp_to_host is $v, want >= 5"
v=$(gateway_counter drop neigh_unresolved)
[[ $v -eq 0 ]] || fail "drop neigh_unresolved is $v"

# xdp_cli: the program's counters through portcullisctl (counters as a
# table and --json, ports) and in its metrics text (this config has no
# [Control] Metrics; `portcullisctl metrics` is the same text).
xdp_cli() {
	local out v
	out=$("$CTL" -i "$(ifn gw)" --json counters 2>&1) || fail "portcullisctl --json counters: $out"
	v=$("$PC_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
x = r["xdp"][sys.argv[1]]
assert list(x) == ["to_gateway", "to_host", "not_ready", "no_socket"], x
assert x["to_gateway"] >= 10 and x["to_host"] >= 5, x
assert "host_to_tap" not in r["total"], r["total"]
print(x["to_gateway"])' "$PUB_IF" <<<"$out") || fail "portcullisctl --json counters: $out"
	step "portcullisctl --json counters: xdp $PUB_IF to_gateway $v"
	out=$("$CTL" -i "$(ifn gw)" counters 2>&1) || fail "portcullisctl counters: $out"
	v=$(awk -v i="$PUB_IF" '$1 == "xdp" && $2 == i && $3 == "to_gateway" { print $4 }' <<<"$out")
	[[ -n $v && $v -ge 10 ]] || fail "portcullisctl counters: xdp $PUB_IF to_gateway '$v', want >= 10: $out"
	out=$("$CTL" -i "$(ifn gw)" --json ports 2>&1) || fail "portcullisctl --json ports: $out"
	"$PC_PYTHON" -c '
import json, re, sys
for p in json.load(sys.stdin)["ports"]:
    assert p["xdp_steering"] == re.search(r"iface=([^,]+)", p["device"]).group(1), p
' <<<"$out" || fail "portcullisctl --json ports: xdp_steering: $out"
	out=$("$CTL" -i "$(ifn gw)" ports 2>&1) || fail "portcullisctl ports: $out"
	grep -q 'XDP_STEERING' <<<"$out" || fail "portcullisctl ports: no XDP_STEERING column: $out"
	out=$("$CTL" -i "$(ifn gw)" metrics 2>&1) || fail "portcullisctl metrics: $out"
	[[ $(grep -c '^# TYPE portcullis_xdp_frames_total counter$' <<<"$out") == 1 ]] ||
		fail "want one portcullis_xdp_frames_total family"
	v=$(awk -v s="portcullis_xdp_frames_total{interface=\"$PUB_IF\",verdict=\"to_gateway\"}" \
		'$1 == s { print $2 }' <<<"$out")
	[[ -n $v && $v -ge 10 ]] || fail "portcullis_xdp_frames_total to_gateway on $PUB_IF is '$v', want >= 10"
	for verdict in to_host not_ready no_socket; do
		grep -q "^portcullis_xdp_frames_total{interface=\"$PUB_IF\",verdict=\"$verdict\"} [0-9]" <<<"$out" ||
			fail "no portcullis_xdp_frames_total for $PUB_IF $verdict"
	done
	grep -q '^portcullis_host_tap_frames_total' <<<"$out" && fail "TAP metrics without a TAP"
	step "metrics: portcullis_xdp_frames_total{interface=\"$PUB_IF\",verdict=\"to_gateway\"} $v"
}
xdp_cli

step "restart with [NAT] on the shared address, ListenPort reserved"
gateway_stop
ns_sysctl gw net.ipv4.ip_local_reserved_ports=$GW_PORT
if xdp_attached; then fail "XDP program left on $PUB_IF after the daemon stopped"; fi
step "XDP program detached on stop"
ns_add inet
pubnet_attach inet e0 203.0.113.50/24
gateway_nat "Masquerade = 10.0.0.0/24" "PortRange = 20000-29999"
gateway_start
# The road warrior still sends with the old daemon's session; wireguard-go
# starts a new handshake 15 s after it stopped hearing back.
ping_ok rw 10.0.0.2 3 30
# The host's services while the NAT and the tunnel carry traffic.
nsx host ping -n -q -i 0.05 -c 200 203.0.113.50 >"$PC_TMP/nat-ping" 2>&1 &
bg=$!
nsx rw ping -n -q -i 0.05 -c 200 10.0.0.2 >"$PC_TMP/rw-ping" 2>&1 &
bg2=$!
listen_check tcp 22
tcp_check inet 203.0.113.50 host 2
tcp_check inet 203.0.113.50 gw 1
ping_ok pub 203.0.113.1 3
wait "$bg" "$bg2" || true
grep -q '200 packets transmitted, 200 received' "$PC_TMP/nat-ping" ||
	fail "the NAT lost pings meanwhile: $(cat "$PC_TMP/nat-ping")"
grep -q '200 packets transmitted, 200 received' "$PC_TMP/rw-ping" ||
	fail "the tunnel lost pings meanwhile: $(cat "$PC_TMP/rw-ping")"
step "200 of 200 pings through the NAT and through the tunnel meanwhile"
v=$(gateway_nat_counter translated)
[[ $v -ge 1 ]] || fail "nat translated is $v, want >= 1"
grep -q "warning: ListenPort" "$PC_GW_LOG" && fail "ListenPort warning although it is reserved"

# refused_check: TCP from the public host to 203.0.113.1:2222 is refused
# (it reached the host's kernel, which has no listener there).
refused_check() {
	nsx inet timeout 10 "$PC_PYTHON" -c '
import socket
try:
    socket.create_connection(("203.0.113.1", 2222), timeout=5)
except ConnectionRefusedError:
    raise SystemExit(0)
raise SystemExit("not refused")' || fail "TCP to 203.0.113.1:2222 was not refused by the host"
}
step "a forward added and removed live moves its port between host and gateway"
refused_check
out=$("$CTL" -i "$(ifn gw)" forward add tcp 2222 10.0.0.2:22 2>&1) || fail "forward add: $out"
service_check tcp host 10.0.0.2:22 inet 203.0.113.1:2222
out=$("$CTL" -i "$(ifn gw)" forward remove tcp 2222 2>&1) || fail "forward remove: $out"
refused_check

step "SIGKILL: the program stays and passes everything to the kernel"
kill -KILL "$PC_GW_PID"
wait "$PC_GW_PID" 2>/dev/null || true
PC_GW_PID=""
xdp_attached || fail "the XDP program went away with the killed daemon (expected to stay)"
listen_check tcp 22
gateway_start
grep -q "$PUB_IF: removed the XDP program an earlier run left attached" "$PC_GW_LOG" ||
	fail "the restart did not remove the leftover program"
ping_ok rw 10.0.0.2 3 30
listen_check tcp 22
gateway_stop
if xdp_attached; then fail "XDP program left on $PUB_IF after the daemon stopped"; fi

step "the host's address on a bridge the NIC is a port of (Proxmox-style)"
BR=$(ifn hbr)
ip -n "$(ns gw)" addr del 203.0.113.1/24 dev "$PUB_IF"
ip -n "$(ns gw)" link add "$BR" address "$(ip -n "$(ns gw)" -br link show "$PUB_IF" | awk '{ print $3 }')" \
	type bridge forward_delay 0 || fail "bridge in the gateway's namespace"
ip -n "$(ns gw)" link set "$PUB_IF" master "$BR"
ip -n "$(ns gw)" link set "$BR" up
ip -n "$(ns gw)" addr add 203.0.113.1/24 dev "$BR"
gateway_start
grep -q "$PUB_IF: XDP steering: .* 1 shared with the host" "$PC_GW_LOG" ||
	fail "the address on $BR is not seen as the host's"
ping_ok rw 10.0.0.2 3 30
listen_check tcp 22
ping_ok pub 203.0.113.1 3
tcp_check inet 203.0.113.50 host 1
gateway_stop
if xdp_attached; then fail "XDP program left on $PUB_IF after the daemon stopped"; fi
pc_pass
