#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Road warrior: a wireguard-go laptop with PersistentKeepalive and the
# gateway as its endpoint; the gateway has no endpoint for it and learns one
# from the handshake.  The laptop reaches the private host (ping, TCP both
# ways) and the private host reaches the laptop's tunnel address.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_roadwarrior

topo_roadwarrior
ping_ok rw 10.0.0.2 5
ping_ok host 10.200.0.2 5
tcp_check host 10.0.0.2 rw 16

# The gateway learned the laptop's endpoint from its packets alone.
ep=$(wg_endpoint gw rw) || fail "wg show on the gateway failed"
[[ $ep == 203.0.113.2:* ]] || fail "gateway shows endpoint '$ep' for the road warrior, want 203.0.113.2:*"
pc_pass
