#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Site-to-site: the gateway has the Endpoint of a wireguard-go site router
# with the remote LAN 10.50.0.0/24 behind it; the site has no endpoint for
# the gateway, so only the gateway can start the handshake.  The private host
# pings into the remote LAN first, which makes the gateway initiate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_site_to_site

topo_gateway
peer_add site 203.0.113.2/24 10.200.0.2/32 51820
# The remote LAN: the site router forwards between its tunnel and 10.50.0.0/24.
ns_add remote
veth_add site lan remote e0
addr_add site lan 10.50.0.1/24
addr_add remote e0 10.50.0.2/24
ip -n "$(ns remote)" route add default via 10.50.0.1
ns_sysctl site net.ipv4.ip_forward=1

gateway_peer site 10.50.0.0/24,10.200.0.2/32 203.0.113.2:51820
gateway_start
peer_to_gw site 10.0.0.0/24 "" ""

ep=$(wg_endpoint site gw)
[[ $ep == "(none)" ]] || fail "site has endpoint '$ep' for the gateway before any traffic, want (none)"

ping_ok host 10.50.0.2 5 20
hs=$(wg_handshake site)
((hs > 0)) || fail "site shows no handshake after the private host reached it"
ep=$(wg_endpoint site gw)
[[ $ep == 203.0.113.1:$GW_PORT ]] || fail "site learned endpoint '$ep' for the gateway, want 203.0.113.1:$GW_PORT"
step "gateway initiated the handshake; site learned endpoint $ep"

ping_ok remote 10.0.0.2 5
# Both LANs have MTU 1500 and the tunnel 1420: full-size segments need the
# gateway's ICMP fragmentation-needed for path MTU discovery.
tcp_check remote 10.50.0.2 host 16
pc_pass
