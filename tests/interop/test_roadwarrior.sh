#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Road warrior: a wireguard-go laptop with PersistentKeepalive and the
# gateway as its endpoint; the gateway has no endpoint for it and learns one
# from the handshake.  The laptop reaches the private host (ping, TCP both
# ways) and the private host reaches the laptop's tunnel address.  A second
# laptop is configured but never connects: traffic to it gets host
# unreachable at once (no endpoint, so no handshake can start), as Linux
# answers, instead of waiting in a queue.  TCP SYNs through the tunnel get
# their MSS clamped to the tunnel MTU.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_roadwarrior

topo_gateway
peer_add rw 203.0.113.2/24 10.200.0.2/32
gateway_peer rw 10.200.0.2/32
key_gen away
gateway_peer away 10.200.0.9/32
gateway_start
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw

ping_ok rw 10.0.0.2 5
ping_ok host 10.200.0.2 5
tcp_check host 10.0.0.2 rw 16

# The gateway learned the laptop's endpoint from its packets alone.
ep=$(wg_endpoint gw rw) || fail "wg show on the gateway failed"
[[ $ep == 203.0.113.2:* ]] || fail "gateway shows endpoint '$ep' for the road warrior, want 203.0.113.2:*"

# (wireguard-go, the reference gateway, just drops such packets silently.)
if gateway_is_daemon; then
	step "the laptop that never connected: host unreachable from the gateway"
	out=$(nsx host ping -n -c 2 -W 2 10.200.0.9 2>&1 || true)
	grep -q 'Destination Host Unreachable' <<<"$out" ||
		fail "no host unreachable for 10.200.0.9: $out"
	v=$(gateway_counter no_endpoint)
	[[ $v -ge 1 ]] || fail "drop no_endpoint is $v, want >= 1"

	# MSSClamp = auto (the default, also without [NAT]): the private
	# host's SYN-ACK offers MSS 1460 (its 1500 MTU); the laptop must see
	# 1380, what fits the 1420-byte tunnel.
	step "TCP MSS clamped to the tunnel MTU (1420 - 40)"
	capture_start rw rw 'tcp[tcpflags] & tcp-syn != 0'
	tcp_check host 10.0.0.2 rw 1
	for ((t = 0; t < 30; t++)); do        # tcpdump may lag behind a little
		grep -q 'mss' "$PC_CAP" && break
		sleep 0.1
	done
	capture_stop
	grep -q 'Flags \[S\.\].*mss 1380' "$PC_CAP" ||
		fail "no SYN-ACK with mss 1380 on the laptop's tunnel: $(cat "$PC_CAP")"
	v=$(gateway_counter mss_clamped)
	[[ $v -ge 1 ]] || fail "stat mss_clamped is $v, want >= 1"
fi
pc_pass
