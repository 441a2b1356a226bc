#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# One NIC for both sides (a Hetzner dedicated server with a single port):
# [Port private] names the same Device as [Port public], on VLAN 4000 (the
# vSwitch), while the public side is untagged.  The gateway's one veth is on
# the public switch with the road warrior and the "internet" hosts; the
# private host is vlan_host.py on that same switch, speaking VLAN 4000 (a
# Linux bridge without vlan_filtering forwards tagged frames as they are).
#
#   1. the gateway answers tagged ARP and ping on 10.0.0.1 and ignores
#      VLAN 4001 (drop wrong_vlan);
#   2. the private host pings 203.0.113.50 (untagged, on the public side)
#      through the NAT ([NAT] Masquerade of its subnet);
#   3. the road warrior pings the tagged private host through the tunnel;
#   4. traffic is counted on the right logical port: the private host's
#      frames on private, the road warrior's and the internet's on public.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
GW_PRIV_VLAN=4000
GW_SINGLE_NIC=1
pc_init test_single_nic
gateway_is_daemon || pc_skip "the reference gateway would need the 8021q module"

topo_internet
peer_add rw 203.0.113.2/24 10.200.0.2/32
gateway_peer rw 10.200.0.2/32
gateway_nat "Masquerade = 10.0.0.0/24"
gateway_start
grep -q 'port private: shares .* with port public, VLAN 4000' "$PC_GW_LOG" ||
	fail "no start-up line for the shared port: $(grep 'port ' "$PC_GW_LOG")"
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw

log=$PC_TMP/vlan_host.log
: >"$log"                 # before the job starts: the polling below reads it
nsx host "$PC_PYTHON" "$(dirname "$0")/vlan_host.py" "$(ifn e0)" 10.0.0.2 10.0.0.1 \
	"$GW_PRIV_VLAN" 15 --tagged-only --ping "${INET_ADDRS[0]}" >"$log" 2>&1 &
host_pid=$!
for ((t = 0; t < 150; t++)); do
	grep -q '^ready' "$log" && break
	grep -q 'no tagged ARP' "$log" && break
	sleep 0.2
done
grep -q '^gateway echo ok' "$log" || fail "no tagged echo reply from the gateway: $(cat "$log")"
step "tagged ARP and ping of the gateway ok"
grep -q '^wrong-vlan replies 0' "$log" || fail "gateway answered another VLAN: $(cat "$log")"
v=$(gateway_other_vlan)
[[ $v -ge 1 ]] || fail "frames of other VLANs seen: $v, want >= 1"
step "VLAN 4001 not taken ($v)"
grep -qE '^remote echo [1-3]/3' "$log" ||
	fail "the tagged host got no echo from ${INET_ADDRS[0]} through the NAT: $(cat "$log")"
step "private host -> ${INET_ADDRS[0]} through the NAT ok"
priv_before=$(gateway_counter private_rx_packets)
ping_ok rw 10.0.0.2 5
ping_ok inet 203.0.113.1 3
wait "$host_pid" || true
grep -qE '^served [1-9]' "$log" || fail "the tagged host answered no echo: $(cat "$log")"

# Per logical port: the private side received the host's tagged frames
# (ARP, the echoes to the gateway and to the internet, the replies to the
# road warrior); the public side the tunnel and the internet's frames.
priv=$(gateway_counter private_rx_packets)
pub=$(gateway_counter public_rx_packets)
priv_tx=$(gateway_counter private_tx_packets)
((priv - priv_before >= 5)) || fail "private_rx_packets grew by $((priv - priv_before)) during 5 echoes, want >= 5"
((pub >= 10)) || fail "public_rx_packets is $pub, want >= 10"
((priv_tx >= 5)) || fail "private_tx_packets is $priv_tx, want >= 5"
step "counters: public rx $pub, private rx $priv (tx $priv_tx)"
pc_pass
