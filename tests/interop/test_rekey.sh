#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Rekey: a steady ping runs for 150 s, past REKEY_AFTER_TIME (120 s, the real
# constant: this test is long on purpose rather than faking time).  The road
# warrior, as initiator of the first session, starts a new handshake when it
# sends after 120 s; traffic must flow on the old keys while the new ones are
# negotiated and then on the new ones, with at most a small loss.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_rekey

DURATION=150        # seconds of ping; > REKEY_AFTER_TIME with margin
MAX_LOST=3          # out of DURATION * 2 pings

topo_roadwarrior
ping_ok rw 10.0.0.2 3
hs0=$(wg_handshake rw)

step "pinging for ${DURATION}s across the rekey"
fgwait nsx rw ping -n -i 0.5 -c $((DURATION * 2)) -W 2 10.0.0.2 >"$PC_TMP/ping.out" 2>&1 || true
read -r sent got < <(ping_stats <"$PC_TMP/ping.out")
step "ping: $got of $sent replies"
gateway_alive
((sent == DURATION * 2 && sent - got <= MAX_LOST)) ||
	fail "ping across the rekey: $got of $sent replies (at most $MAX_LOST may be lost)"

hs1=$(wg_handshake rw)
((hs1 > hs0)) || fail "no new handshake on the road warrior in ${DURATION}s (latest-handshake still $hs0)"
step "new handshake $((hs1 - hs0))s after the first"

# Bulk data on the new keys, both ways.
tcp_check host 10.0.0.2 rw 8
pc_pass
