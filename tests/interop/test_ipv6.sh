#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# IPv6 outside and inside: the road warrior reaches the gateway only over
# IPv6 (2001:db8:1::2 -> [2001:db8:1::1]:51820) and its tunnel carries only
# IPv6 (fd00:200::2 <-> the private host fd00:10::2 behind fd00:10::1).
# Needs IPv6 neighbour discovery on both gateway ports.
set -euo pipefail
PC_IPV6=1
source "$(dirname "$0")/lib.sh"
pc_init test_ipv6

GW_PUB_ADDRS+=(2001:db8:1::1/64)
GW_PRIV_ADDRS+=(fd00:10::1/64)
topo_gateway
peer_add rw 2001:db8:1::2/64 fd00:200::2/128
gateway_peer rw fd00:200::2/128
gateway_start
peer_to_gw rw fd00:10::/64 "$GW_EP6" 25

wait_handshake rw
ep=$(wg_endpoint gw rw)
[[ $ep == "[2001:db8:1::2]:"* ]] || fail "gateway shows endpoint '$ep', want [2001:db8:1::2]:*"
ping_ok rw fd00:10::2 5
ping_ok host fd00:200::2 5
tcp_check host fd00:10::2 rw 16

# Over the tunnel MTU (1420): the gateway answers with ICMPv6 packet too big
# (RFC 4443 3.1) carrying 1420, from its private address.
step "1450 + 48 bytes from the private host: expect packet too big, mtu 1420"
out=$(nsx host ping -6 -n -c 2 -W 2 -M do -s 1450 fd00:200::2 2>&1 || true)
grep -qiE 'mtu ?=? ?1420' <<<"$out" || fail "no packet-too-big with mtu 1420; ping said: $out"
pc_pass
