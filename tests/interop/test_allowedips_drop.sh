#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Cryptokey routing on the way in: the road warrior (AllowedIPs 10.200.0.2/32
# on the gateway) sends a correctly encrypted packet whose inner source is
# 10.201.0.9.  The gateway must drop it: the private host never sees it, and
# portcullisd counts it as `drop inner_src_not_allowed`.  Allowed packets
# sent just before and after prove the capture was working.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_allowedips_drop tcpdump

BAD_SRC=10.201.0.9
BAD_COUNT=5

topo_roadwarrior "$BAD_SRC/32"
ping_ok rw 10.0.0.2 3

before=0
gateway_is_daemon && before=$(gateway_counter inner_src_not_allowed)

capture_start host e0 icmp
ping_ok rw 10.0.0.2 2
# Expected to get no reply: ping exits 1, which is the point.
nsx rw ping -n -q -i 0.2 -c "$BAD_COUNT" -W 1 -I "$BAD_SRC" 10.0.0.2 >/dev/null 2>&1 &&
	fail "ping from $BAD_SRC got a reply through the gateway"
ping_ok rw 10.0.0.2 2
sleep 1
capture_stop

grep -q "10.200.0.2 > 10.0.0.2: ICMP echo request" "$PC_CAP" ||
	fail "capture on the private host saw no allowed packets; capture broken? $(head -c 300 "$PC_CAP")"
if grep -q "$BAD_SRC" "$PC_CAP"; then
	fail "private host received packets from $BAD_SRC: $(grep "$BAD_SRC" "$PC_CAP" | head -n 2)"
fi
step "private host saw the allowed pings and none from $BAD_SRC"

if gateway_is_daemon; then
	after=$(gateway_counter inner_src_not_allowed)
	((after - before >= BAD_COUNT)) ||
		fail "drop inner_src_not_allowed went $before -> $after, want +$BAD_COUNT"
	step "drop inner_src_not_allowed: $before -> $after"
else
	step "GATEWAY=reference: no drop counters to check"
fi
pc_pass
