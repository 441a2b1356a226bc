#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Roaming: mid-traffic, the road warrior's public address changes from
# 203.0.113.2 to 203.0.113.3 (new address added, old one removed, as when a
# laptop changes networks).  The gateway must follow the new source address
# of authenticated packets: the ping and a TCP connection that spans the
# change keep going, and `wg show` on the gateway shows the new endpoint.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_roaming

topo_roadwarrior
ping_ok rw 10.0.0.2 3
ep=$(wg_endpoint gw rw)
[[ $ep == 203.0.113.2:* ]] || fail "endpoint before roaming is '$ep', want 203.0.113.2:*"

# Traffic across the change: 10 s of ping, and a TCP transfer paced over 8 s.
nsx rw ping -n -i 0.2 -c 50 -W 1 10.0.0.2 >"$PC_TMP/ping.out" 2>&1 &
ping_pid=$!
tcp_check host 10.0.0.2 rw 8 8 &
tcp_pid=$!
sleep 3

step "roaming: 203.0.113.2 -> 203.0.113.3"
# promote_secondaries keeps the subnet route when the old (primary) address
# goes, so there is no moment without a route.
ns_sysctl rw "net.ipv4.conf.$(ifn e0).promote_secondaries=1"
ip -n "$(ns rw)" addr add 203.0.113.3/24 dev "$(ifn e0)"
ip -n "$(ns rw)" addr del 203.0.113.2/24 dev "$(ifn e0)"
# wireguard-go pins the source address it last received on (IP_PKTINFO) and
# keeps failing with ENETUNREACH once that address is gone, until its next
# handshake retry ~15 s later.  Setting the endpoint again drops the pinned
# source, as a fresh socket on a new network would; what the gateway sees is
# the same: authenticated packets from a new address.
wg set "$(ifn rw)" peer "$(key_pub gw)" endpoint "$GW_EP4"

wait "$tcp_pid" || fail "TCP transfer across the roaming failed"
wait "$ping_pid" || true
read -r sent got < <(ping_stats <"$PC_TMP/ping.out")
step "ping across roaming: $got of $sent replies"
((sent > 0 && got >= sent * 9 / 10)) || fail "ping across roaming: only $got of $sent replies"

ping_ok rw 10.0.0.2 5
ping_ok host 10.200.0.2 5
ep=$(wg_endpoint gw rw)
[[ $ep == 203.0.113.3:* ]] || fail "gateway shows endpoint '$ep' after roaming, want 203.0.113.3:*"
step "gateway follows the road warrior to $ep"
pc_pass
