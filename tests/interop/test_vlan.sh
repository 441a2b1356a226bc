#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Private port on an 802.1Q VLAN (as a Hetzner vSwitch, id 4000).  The
# private host is vlan_host.py, a user-space host speaking tagged frames on
# the raw veth (no 8021q module here).  It checks the gateway answers tagged
# ARP and ping and ignores other VLANs and untagged frames; then the road
# warrior pings it through the tunnel, so the gateway must tag what it
# forwards and accept the tagged replies.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
GW_PRIV_VLAN=4000
pc_init test_vlan
gateway_is_daemon || pc_skip "the reference gateway would need the 8021q module"

topo_roadwarrior

log=$PC_TMP/vlan_host.log
nsx host "$PC_PYTHON" "$(dirname "$0")/vlan_host.py" "$(ifn e0)" 10.0.0.2 10.0.0.1 \
	"$GW_PRIV_VLAN" 15 >"$log" 2>&1 &
host_pid=$!
for ((t = 0; t < 100; t++)); do
	grep -q '^ready' "$log" && break
	grep -q 'no tagged ARP' "$log" && break
	sleep 0.2
done
grep -q '^gateway echo ok' "$log" || fail "no tagged echo reply from the gateway: $(cat "$log")"
grep -q '^wrong-vlan replies 0' "$log" || fail "gateway answered another VLAN: $(cat "$log")"
v=$(gateway_other_vlan)
[[ $v -ge 2 ]] || fail "frames of other VLANs seen: $v, want >= 2"
ping_ok rw 10.0.0.2 5
wait "$host_pid" || true
grep -qE '^served [1-9]' "$log" || fail "the tagged host answered no echo: $(cat "$log")"
pc_pass
