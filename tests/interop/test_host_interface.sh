#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Full PMD mode's exception path: [Port public] HostInterface makes the
# daemon create a TAP in the gateway's namespace, and the host's own
# traffic on the public port goes through it both ways while the gateway
# keeps WireGuard, the tunnel and the NAT.  The host puts the gateway's
# public address 203.0.113.1 on the TAP, as a Hetzner server with one IPv4
# would.  Checked, with a road warrior's tunnel up:
#  - a public host reaches an SSH-like TCP service of the host (port 22)
#    and pings the host (the kernel answers, through the TAP);
#  - the host's own outgoing traffic: it pings a public host (its ARP goes
#    out through the TAP, the reply comes back as a copy) and opens a TCP
#    connection to one;
#  - with [NAT] on the same address, the private host's traffic through
#    the NAT and the host's own connections share 203.0.113.1;
#  - portcullisctl counters and the metrics show the TAP's frames;
#  - the TAP is gone once the daemon stops.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_host_interface
gateway_is_daemon || pc_skip "HostInterface is a portcullisd feature"
CTL=${PORTCULLISCTL:-$(dirname "$PORTCULLISD")/../tools/portcullisctl/portcullisctl}
[[ -x $CTL ]] || fail "portcullisctl not found at $CTL (set PORTCULLISCTL)"

topo_bastion
GW_HOST_IFACE=$(ifn host)
TAP=$GW_HOST_IFACE
# Full PMD mode takes the NIC from the kernel; net_af_packet, standing in
# for it here, does not: the gateway namespace's kernel would still take
# the frames on the veth, and with 203.0.113.1 on the TAP it would answer
# them (RSTs for the NAT's connections, port unreachables for WireGuard).
# Drop them at the veth's ingress hook, which runs after the packet
# socket's tap, so the daemon still gets them all.
nsx gw nft add table netdev pc_hostif || fail "nft table"
nsx gw nft add chain netdev pc_hostif in \
	"{ type filter hook ingress device $(ifn pub) priority 0; policy drop; }" ||
	fail "nft ingress chain on $(ifn pub)"

# host_up: give the TAP the host's address (the daemon just created it).
host_up() {
	nsx gw ip link show "$TAP" >/dev/null 2>&1 || fail "no TAP $TAP in the gateway's namespace"
	ip -n "$(ns gw)" addr add 203.0.113.1/24 dev "$TAP" || fail "address on $TAP"
	ip -n "$(ns gw)" link set "$TAP" up || fail "link up $TAP"
	nsx gw ethtool -K "$TAP" tx off >/dev/null 2>&1 || true
}

# line_check: a plain TCP listener of the host on 203.0.113.1:22 answers a
# line from the public host.
line_check() { service_check tcp gw 203.0.113.1:22 pub 203.0.113.1:22; }

gateway_start
grep -q "host interface $TAP" "$PC_GW_LOG" || fail "no host interface in the start-up log"
host_up
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw

line_check
ping_ok pub 203.0.113.1 3
ping_ok gw "$PUBHOST" 3
tcp_check pub "$PUBHOST" gw 2
ping_ok rw 10.0.0.2 5
tcp_check host 10.0.0.2 rw 2
v=$(gateway_counter stat host_to_tap)
[[ $v -ge 1 ]] || fail "stat host_to_tap is $v, want >= 1"
v=$(gateway_counter stat host_from_tap)
[[ $v -ge 1 ]] || fail "stat host_from_tap is $v, want >= 1"

# tap_cli: the same counters through portcullisctl (table and --json) and
# its metrics text; no XDP counters on af_packet.
tap_cli() {
	local out v
	out=$("$CTL" -i "$(ifn gw)" counters 2>&1) || fail "portcullisctl counters: $out"
	v=$(awk '$1 == "host_to_tap" { print $2 }' <<<"$out")
	[[ -n $v && $v -ge 1 ]] || fail "portcullisctl counters: host_to_tap '$v', want >= 1: $out"
	grep -q '^host_from_tap ' <<<"$out" || fail "portcullisctl counters: no host_from_tap row: $out"
	grep -q '^xdp ' <<<"$out" && fail "portcullisctl counters: XDP rows without steering: $out"
	step "portcullisctl counters: host_to_tap $v"
	out=$("$CTL" -i "$(ifn gw)" --json counters 2>&1) || fail "portcullisctl --json counters: $out"
	"$PC_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
t = r["total"]
assert t["host_to_tap"] >= 1 and t["host_from_tap"] >= 1, t
assert all("host_to_tap" in l["counters"] for l in r["lcores"]), r["lcores"]
assert "xdp" not in r, r' <<<"$out" || fail "portcullisctl --json counters: $out"
	out=$("$CTL" -i "$(ifn gw)" --json ports 2>&1) || fail "portcullisctl --json ports: $out"
	"$PC_PYTHON" -c '
import json, sys
assert all(p["xdp_steering"] is None for p in json.load(sys.stdin)["ports"])' <<<"$out" ||
		fail "portcullisctl --json ports: xdp_steering is not null: $out"
	out=$("$CTL" -i "$(ifn gw)" metrics 2>&1) || fail "portcullisctl metrics: $out"
	grep -q '^# TYPE portcullis_host_tap_frames_total counter$' <<<"$out" ||
		fail "no portcullis_host_tap_frames_total family"
	v=$(awk '$1 == "portcullis_host_tap_frames_total{direction=\"to_tap\"}" { print $2 }' <<<"$out")
	[[ -n $v && $v -ge 1 ]] || fail "portcullis_host_tap_frames_total{direction=\"to_tap\"} is '$v', want >= 1"
	grep -q '^portcullis_host_tap_frames_total{direction="from_tap"} [0-9]' <<<"$out" ||
		fail "no portcullis_host_tap_frames_total{direction=\"from_tap\"}"
	grep -q '^portcullis_xdp_frames_total' <<<"$out" && fail "XDP metrics without steering"
	step "metrics: portcullis_host_tap_frames_total{direction=\"to_tap\"} $v"
}
tap_cli

step "restart with [NAT] on the shared address"
gateway_stop
if nsx gw ip link show "$TAP" >/dev/null 2>&1; then fail "TAP $TAP left behind after the daemon stopped"; fi
step "TAP gone after the daemon stopped"
# The host's ephemeral ports (ip_local_port_range, 32768-60999 here) and
# the NAT's must not overlap on a shared address: the daemon checks.
gateway_nat "Masquerade = 10.0.0.0/24" "PortRange = 20000-29999"
gateway_start
host_up
line_check
tcp_check pub "$PUBHOST" gw 1
ping_ok host "$PUBHOST" 3
tcp_check pub "$PUBHOST" host 1
v=$(gateway_nat_counter translated)
[[ $v -ge 1 ]] || fail "nat translated is $v, want >= 1"
gateway_stop
if nsx gw ip link show "$TAP" >/dev/null 2>&1; then fail "TAP $TAP left behind after the daemon stopped"; fi
pc_pass
