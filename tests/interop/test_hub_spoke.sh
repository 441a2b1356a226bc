#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Hub-and-spoke: two wireguard-go spokes route the whole tunnel subnet
# 10.200.0.0/24 to the gateway, which sends what it decrypts from one spoke
# straight back out encrypted to the other.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_hub_spoke

topo_gateway
peer_add spa 203.0.113.2/24 10.200.0.2/32
peer_add spb 203.0.113.3/24 10.200.0.3/32
gateway_peer spa 10.200.0.2/32
gateway_peer spb 10.200.0.3/32
gateway_start
peer_to_gw spa 10.200.0.0/24 "$GW_EP4" 25
peer_to_gw spb 10.200.0.0/24 "$GW_EP4" 25

# The gateway knows a spoke's endpoint only after that spoke's handshake.
wait_handshake spa
wait_handshake spb
ping_ok spa 10.200.0.3 5
ping_ok spb 10.200.0.2 5
tcp_check spb 10.200.0.3 spa 16
pc_pass
