#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Tunnel MTU (1420): a private host sending a DF packet bigger than that gets
# ICMP fragmentation-needed with the tunnel MTU from the gateway (so PMTU
# discovery works); a packet without DF is fragmented by the gateway and
# arrives whole at the wireguard-go peer.  (Fragments the host makes itself
# cannot test this over net_af_packet: its fanout socket asks the kernel to
# reassemble them before DPDK sees them.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_mtu

topo_roadwarrior
ping_ok host 10.200.0.2 3

# First, before the host learns a path MTU: a 1500-byte packet without DF
# leaves the host whole, and the gateway must fragment it to 1420.
step "DF clear, 1472 + 28 bytes: the gateway fragments, the peer answers"
out=$(nsx host ping -n -c 3 -W 3 -M dont -s 1472 10.200.0.2 2>&1) ||
	fail "1500-byte ping without DF got no reply: $out"

step "DF set, 1450 + 28 bytes: expect fragmentation needed, mtu 1420"
out=$(nsx host ping -n -c 2 -W 2 -M do -s 1450 10.200.0.2 2>&1 || true)
grep -qiE 'mtu ?=? ?1420' <<<"$out" || fail "no frag-needed with mtu 1420; ping said: $out"
if gateway_is_daemon; then
	v=$(gateway_counter too_big)
	[[ $v -ge 1 ]] || fail "drop too_big stayed $v after the DF probe"
fi
pc_pass
