#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# [NAT] AllowTunnelToPrivate / AllowPrivateToTunnel = no are stateful
# (dataplane/nat_track.c): the denied direction may not start flows, but
# the replies to flows started from the allowed side get through, and so
# do ICMP errors about them.  A road warrior (tunnel 10.200.0.2 and
# fd00:200::2, over IPv4) and the private host (10.0.0.2, fd00:10::2),
# over IPv4 and IPv6 inside the tunnel:
#   1. AllowPrivateToTunnel = no: the road warrior pings the private host,
#      moves 1 MiB each way over TCP, gets its UDP echoed, and learns of the
#      private host's closed ports (a TCP reset; for UDP a port
#      unreachable, an ICMP error about its flow).  The private host's
#      ping, TCP and UDP to the road warrior's listening services reach
#      nothing, and "drop policy_denied" grows.
#   2. AllowTunnelToPrivate = no: the same, the other way round.
#   3. both no: neither side reaches the other.
# (Both yes, the default, is test_roadwarrior.sh.)  The reference gateway
# models the rule with Linux conntrack in nftables ("ct state
# established,related accept", then a drop of the denied direction).
set -euo pipefail
PC_IPV6=1
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat_lib.sh"
policy_tools=()
[[ $GATEWAY == reference ]] && policy_tools=(nft)
pc_init test_nat_policy "${policy_tools[@]}"

RW4=10.200.0.2 RW6=fd00:200::2
HOST4=10.0.0.2 HOST6=fd00:10::2
GW_PRIV_ADDRS+=(fd00:10::1/64)

# ep ADDR PORT: ADDR:PORT, with an IPv6 address in brackets.
ep() {
	if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi
}

# echo_services SHORT ADDR...: echo services on SHORT's addresses, UDP 7000
# and TCP 7001, for the rest of the test (svc_log SHORT).
echo_services() {
	local n=$1 a specs=()
	shift
	for a in "$@"; do specs+=("udp:$(ep "$a" 7000)" "tcp:$(ep "$a" 7001)"); done
	svc_start "$n" "$n" "${specs[@]}"
}

# allowed FROM TO ADDR...: FROM starts flows to TO's addresses and gets
# the replies: ping, 1 MiB each way over TCP, a UDP echo, and for closed
# ports a TCP reset and an ICMP port unreachable.
allowed() {
	local from=$1 to=$2 a out want
	shift 2
	for a in "$@"; do
		ping_ok "$from" "$a" 3
		tcp_check "$to" "$a" "$from" 1
		out=$(natpy "$from" client udp "$(ep "$a" 7000)" 2>&1) ||
			{ gateway_alive; fail "UDP $from -> $a: $out"; }
		step "$from: $out"
		out=$(natpy "$from" probe 3 "tcp:$(ep "$a" 9)" "udp:$(ep "$a" 9)" 2>&1) ||
			fail "probe from $from: $out"
		want="tcp:$(ep "$a" 9) refused"$'\n'"udp:$(ep "$a" 9) refused"
		[[ $out == "$want" ]] ||
			{ gateway_alive; fail "closed ports of $a: want a reset and a port unreachable back to $from, got: $out"; }
		step "closed ports of $a from $from: $(tr '\n' ' ' <<<"$out")"
	done
}

# denied FROM TO ADDR...: FROM starts nothing towards TO, whose services
# listen: no ping, no TCP connection, no UDP datagram gets there.
denied() {
	local from=$1 to=$2 a out before d0=0 d1
	shift 2
	gateway_is_daemon && d0=$(gateway_counter policy_denied)
	before=$(svc_lines "$to")
	for a in "$@"; do
		out=$(nsx "$from" ping -n -c 2 -i 0.3 -W 1 "$a" 2>&1) &&
			fail "$from pinged $a: $out"
		out=$(natpy "$from" probe 2 "tcp:$(ep "$a" 7001)" "udp:$(ep "$a" 7000)" 2>&1) ||
			fail "probe from $from: $out"
		grep -qE ' (open|reply)$' <<<"$out" && fail "$from reached $a: $out"
		step "$from -> $a: no ping; $(tr '\n' ' ' <<<"$out")"
	done
	(($(svc_lines "$to") == before)) ||
		fail "$to's services were reached from $from: $(tail -n 3 "$PC_TMP/svc-$to.log")"
	gateway_alive
	if gateway_is_daemon; then
		d1=$(gateway_counter policy_denied)
		step "drop policy_denied: $d0 -> $d1"
		((d1 > d0)) || fail "drop policy_denied did not grow ($d0 -> $d1)"
	fi
}

# rw_connect: (re)make the gateway the road warrior's peer, which starts
# a handshake at once (a restarted daemon knows no session).
rw_connect() {
	wg set "$(ifn rw)" peer "$(key_pub gw)" remove
	peer_to_gw rw "10.0.0.0/24,fd00:10::/64" "$GW_EP4" 25
	wait_handshake rw
}

# reference_policy T2P P2T: the same rule in the reference gateway, with
# Linux conntrack.
reference_policy() {
	local rules="table inet pcpolicy {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept"
	[[ $1 == yes ]] || rules+="
		iifname \"$(ifn gw)\" oifname \"$(ifn priv)\" drop"
	[[ $2 == yes ]] || rules+="
		iifname \"$(ifn priv)\" oifname \"$(ifn gw)\" drop"
	rules+="
	}
}"
	nsx gw nft delete table inet pcpolicy 2>/dev/null || true
	printf '%s\n' "$rules" | nsx gw nft -f - || fail "nft refused the policy rules"
}

# policy T2P P2T: AllowTunnelToPrivate and AllowPrivateToTunnel (yes/no).
# portcullisd restarts with them; the reference gateway changes its rules.
policy() {
	step "AllowTunnelToPrivate = $1, AllowPrivateToTunnel = $2"
	if ! gateway_is_daemon; then
		reference_policy "$1" "$2"
		return 0
	fi
	[[ -z $PC_GW_PID ]] || gateway_stop
	gateway_nat_clear
	# [NAT] wants something to translate (config.c); the private
	# network's masquerade plays no part between the tunnel and it.
	gateway_nat "Masquerade = 10.0.0.0/24" \
		"AllowTunnelToPrivate = $1" "AllowPrivateToTunnel = $2"
	gateway_start
	rw_connect
}

# ------------------------------------------------------------------ setup

topo_gateway
peer_add rw 203.0.113.2/24 "$RW4/32"
addr_add rw rw "$RW6/128"
gateway_peer rw "$RW4/32, $RW6/128"
if ! gateway_is_daemon; then
	gateway_start
	peer_to_gw rw "10.0.0.0/24,fd00:10::/64" "$GW_EP4" 25
	wait_handshake rw
fi
echo_services host "$HOST4" "$HOST6"
echo_services rw "$RW4" "$RW6"

# ------------------------------------------------------------------ 1
policy yes no
step "1. the road warrior starts flows to the private host"
allowed rw host "$HOST4" "$HOST6"
if gateway_is_daemon; then
	v=$(gateway_nat_counter sessions_active)
	step "nat sessions_active: $v (tracked)"
	((v > 0)) || fail "no tracked session after the road warrior's flows"
fi
step "1. the private host starts nothing towards the road warrior"
denied host rw "$RW4" "$RW6"

# ------------------------------------------------------------------ 2
policy no yes
step "2. the private host starts flows to the road warrior"
allowed host rw "$RW4" "$RW6"
step "2. the road warrior starts nothing towards the private host"
denied rw host "$HOST4" "$HOST6"

# ------------------------------------------------------------------ 3
policy no no
step "3. neither starts anything"
denied rw host "$HOST4" "$HOST6"
denied host rw "$RW4" "$RW6"
pc_pass
