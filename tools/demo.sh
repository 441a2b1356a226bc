#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# README command 1: install, build, and run portcullisd as the bastion of a
# small network in namespaces, until Ctrl-C:
#
#   road warrior (wireguard-go)  --- public 203.0.113.0/24 ---  portcullisd  --- 10.0.0.0/24 --- private host
#   tunnel 10.200.0.2                  |                       203.0.113.1 / 10.0.0.1              10.0.0.2
#                                "the internet": 203.0.113.50 --- 198.51.100.2
#
# It shows a ping and a TCP transfer through the tunnel, the private host
# reaching the internet through the gateway's NAT ([NAT] Masquerade), and
# `wg show` of the gateway, then waits so you can try things; Ctrl-C
# removes everything.
# GATEWAY=reference runs wireguard-go + Linux forwarding as the gateway instead.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
if ! tools/build.sh; then
	# The reference gateway does not need our build; the real one does.
	[[ ${GATEWAY:-portcullisd} == reference ]] || { echo "demo: build failed" >&2; exit 1; }
	echo "demo: build failed; going on, GATEWAY=reference does not need it" >&2
fi

source tests/interop/lib.sh
demo_tools=(iperf3)
[[ ${GATEWAY:-portcullisd} == reference ]] && demo_tools+=(nft)
pc_init demo "${demo_tools[@]}"

step "building the topology"
topo_internet
peer_add rw 203.0.113.2/24 10.200.0.2/32
gateway_peer rw 10.200.0.2/32
gateway_nat "Masquerade = 10.0.0.0/16" "Forward = tcp 2222 -> 10.0.0.2:22"
gateway_start
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw

RW=$(ns rw) HOST=$(ns host) GW=$(ns gw) GWIF=$(ifn gw)

echo
step "road warrior -> private host, through the tunnel"
nsx rw ping -n -c 3 -i 0.3 10.0.0.2 || fail "ping through the tunnel failed"
echo
step "private host -> road warrior"
nsx host ping -n -c 3 -i 0.3 10.200.0.2 || fail "ping back failed"
echo
step "TCP: 32 MiB each way, checked with sha256"
tcp_check host 10.0.0.2 rw 32
echo
step "TCP throughput (iperf3, 3 s)"
nsx host iperf3 -s -1 >/dev/null 2>&1 &
sleep 0.5
nsx rw iperf3 -c 10.0.0.2 -t 3 -f m | grep -E 'sender|receiver' || fail "iperf3 failed"
echo
step "private host -> the internet (203.0.113.50, 198.51.100.2), through the NAT"
nsx host ping -n -c 3 -i 0.3 203.0.113.50 || fail "ping through the NAT failed"
nsx host ping -n -c 2 -i 0.3 198.51.100.2 || fail "ping two hops out failed"
echo
step "wg show $GWIF (the gateway)"
wg show "$GWIF" || fail "wg show $GWIF failed"

PC_STOP_OK=1
cat <<EOT

The demo is running (GATEWAY=$GATEWAY). Try, in another terminal:
  ip netns exec $RW ping 10.0.0.2            # road warrior -> private host
  ip netns exec $HOST ping 10.200.0.2        # private host -> road warrior
  ip netns exec $HOST iperf3 -s &  ip netns exec $RW iperf3 -c 10.0.0.2
  ip netns exec $HOST ping 198.51.100.2      # private host -> internet, masqueraded as 203.0.113.1
  ip netns exec $(ns inet) tcpdump -ni $(ifn e0)   # what the internet sees
  wg show $GWIF                              # the gateway's peers and handshakes
  wg show $(ifn rw)                              # the road warrior's view
  ip netns exec $GW ip link                  # the gateway's ports ($(ifn pub), $(ifn priv))
Gateway log: $PC_GW_LOG
EOT
if gateway_is_daemon; then
	echo "Gateway config: $PC_TMP/gateway.conf (kill -USR1 $PC_GW_PID prints its counters into the log)"
	ctl=$PC_ROOT/build/tools/portcullisctl/portcullisctl
	cat <<EOT
The gateway's own state (portcullisctl; add --json for scripts):
  $ctl -i $GWIF ports            # link, addresses, routes, NIC counters
  $ctl -i $GWIF nat sessions     # the NAT's sessions (after the ping to 198.51.100.2)
  $ctl -i $GWIF counters         # totals and drops by reason
  wg set $GWIF peer \$(wg genkey | wg pubkey) allowed-ips 10.200.0.9/32   # a live change
EOT
fi
cat <<EOT
Press Ctrl-C to stop and clean up.
EOT
# `wait` on a background sleep returns as soon as a signal arrives, so the
# trap runs at once; the loop also notices a gateway that died.
while :; do
	sleep 2 &
	wait $! || true
	gateway_alive
done
