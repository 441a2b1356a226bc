#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Two worker lcores, each polling its own RX queue of both ports (af_packet
# qpairs=2, so the kernel's fanout hash plays RSS).  Packets of one peer may
# be decrypted on either worker and any worker encrypts for any peer: the
# road warrior's and a second spoke's traffic must stay intact, in both
# directions, with several TCP connections.  lcore 2 shares CPU 1 here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
GW_DEV_ARGS=",qpairs=2"
PORTCULLISD_EAL="--lcores 0@0,1@1,2@1 --no-huge -m 512 --no-shconf --no-pci --log-level=*:notice"
pc_init test_two_workers
gateway_is_daemon || pc_skip "daemon only"

topo_gateway
peer_add rw 203.0.113.2/24 10.200.0.2/32
peer_add sp 203.0.113.3/24 10.200.0.3/32
gateway_peer rw 10.200.0.2/32
gateway_peer sp 10.200.0.3/32
gateway_start
grep -q '2 worker(s)' "$PC_GW_LOG" || fail "portcullisd did not start two workers"
peer_to_gw rw 10.0.0.0/24,10.200.0.0/24 "$GW_EP4" 25
peer_to_gw sp 10.0.0.0/24,10.200.0.0/24 "$GW_EP4" 25
wait_handshake rw
wait_handshake sp
ping_ok rw 10.0.0.2 5
ping_ok sp 10.200.0.2 5
tcp_check host 10.0.0.2 rw 8
tcp_check host 10.0.0.2 sp 8
tcp_check rw 10.200.0.2 sp 8
gateway_counter decap_packets >/dev/null
step "work per lcore: $(grep '^lcore' "$PC_GW_LOG" | tail -3 | tr '\n' ';')"
pc_pass
