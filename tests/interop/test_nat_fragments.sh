#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# IPv4 fragments through the NAT (RFC 4787 REQ-14: "A NAT MUST support
# receiving in-order and out-of-order fragments").  The gateway's ports are
# AF_XDP (GW_PMD=net_af_xdp), which, like a real NIC, hand it fragments as
# they are; af_packet would have the kernel reassemble them first and hide
# the problem (lib.sh, GW_PMD).  Where AF_XDP cannot be used the test is
# skipped (lib.sh gateway_start_daemon).
#
#   1. masquerade: UDP datagrams of 1473, 3000 and 8000 bytes from the
#      private host to a public echo service and back (fragmented both
#      ways by the hosts' kernels), compared byte for byte; the public
#      side sees 203.0.113.1 and receives fragments, not reassembled
#      packets.
#   2. port forward udp 2053 -> 10.0.0.2:8053: the same sizes from the
#      public host, the reply from 203.0.113.1:2053.
#   3. out of order: fragments written by hand on raw sockets, the last
#      one first (and a shuffled order with a duplicate), through the
#      forward and out through the masquerade; the echo must come back
#      whole.
#   4. hairpinning: the private host reaches its own forward on
#      203.0.113.1, fragments and all, in order and reversed.
#   5. later fragments whose first never comes reach nobody: held, then
#      dropped after the hold time (drop nat_fragment_timeout).
# With the daemon, the counters say the fragment tracker did the work
# (nat fragments_translated, fragments_held) and that nothing else was
# dropped for being a fragment.  GATEWAY=reference runs the same traffic
# through Linux (nftables NAT, which reassembles in conntrack).
set -euo pipefail
# Fragments must reach the NAT as fragments: AF_XDP, whatever the caller set.
export GW_PMD=net_af_xdp
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat_lib.sh"
nat_tools=()
[[ $GATEWAY == reference ]] && nat_tools=(nft)
pc_init test_nat_fragments tcpdump "${nat_tools[@]}"

EXT=203.0.113.1
PUB1=${INET_ADDRS[0]}
SIZES=(1473 3000 8000)

# echo_start NAME SHORT ADDR PORT: a UDP echo service that logs the size
# of each datagram (nat_tool.py size-serve); its log is
# $PC_TMP/echo-NAME.log.
echo_start() {
	local log=$PC_TMP/echo-$1.log
	natpy_start "$log" "$2" size-serve "$3" "$4" 600 ||
		fail "echo service $1 in $(ns "$2") did not start: $(cat "$log")"
}
echo_log() { grep '^got' "$PC_TMP/echo-$1.log" || true; }

# frag_py SHORT COMMAND ARGS...: nat_tool.py size-client or raw in
# namespace SHORT; every line of its output must start with "ok".
frag_py() {
	local n=$1 out bad
	shift
	out=$(natpy_for 60 "$n" "$@" 2>&1) || {
		gateway_alive
		fail "$n: $* failed: $out"
	}
	bad=$(grep -v '^ok ' <<<"$out" || true)
	[[ -z $bad ]] || { gateway_alive; fail "$n: $*: $(tr '\n' ' ' <<<"$out")"; }
	while read -r l; do step "$n: $l"; done <<<"$out"
}

# counter NAME: a drop or nat counter of the daemon (0 with the reference).
counter() {
	gateway_is_daemon || { echo 0; return 0; }
	case $1 in
	fragments_*) gateway_nat_counter "$1" ;;
	*) gateway_counter "drop $1" ;;
	esac
}

# ------------------------------------------------------------------ setup

topo_internet
gateway_nat "Masquerade = 10.0.0.0/16" \
	"Forward = udp 2053 -> 10.0.0.2:8053"
gateway_start
echo_start pub inet "$PUB1" 7000
echo_start priv host 10.0.0.2 8053

# ------------------------------------------------------------------ 1
step "1. masquerade: UDP ${SIZES[*]} bytes from 10.0.0.2 to $PUB1:7000 and back"
# --immediate-mode: tcpdump would otherwise keep the last second of packets
# in its ring buffer, and capture_stop comes right after the traffic.
capture_start inet e0 --immediate-mode udp
frag_py host size-client "$PUB1:7000" "${SIZES[@]}"
capture_stop
got=$(echo_log pub | awk '{ print $2 }' | tr '\n' ' ')
[[ $got == "${SIZES[*]} " ]] || fail "the public echo service got datagrams of '$got', want '${SIZES[*]}'"
echo_log pub | grep -v " from $EXT:" && fail "the public side saw untranslated sources (above)"
# A later fragment has no ports: tcpdump shows it as "A > B: ip-proto-17".
# 1473, 3000 and 8000 bytes over 1500-byte links: 1 + 2 + 5 of them.
nfrag=$(grep -c "IP $EXT > $PUB1: ip-proto-17" "$PC_CAP" || true)
((nfrag == 8)) || fail "want 8 later fragments from $EXT on the public side, saw $nfrag: $(head -n 12 "$PC_CAP")"
step "the public side got the datagrams as fragments from $EXT ($nfrag later fragments)"

# ------------------------------------------------------------------ 2
step "2. port forward udp $EXT:2053 -> 10.0.0.2:8053: ${SIZES[*]} bytes from $PUB1"
frag_py inet size-client "$EXT:2053" "${SIZES[@]}"
echo_log priv | grep -v " from $PUB1:" && fail "the private service saw sources other than $PUB1 (above)"
got=$(echo_log priv | awk '{ print $2 }' | tr '\n' ' ')
[[ $got == "${SIZES[*]} " ]] || fail "the private echo service got datagrams of '$got', want '${SIZES[*]}'"

# ------------------------------------------------------------------ 3
step "3. out of order (REQ-14): the last fragment first"
held0=$(counter fragments_held)
frag_py inet raw "$PUB1" "$EXT:2053" 3000 reverse
frag_py inet raw "$PUB1" "$EXT:2053" 8000 reverse
frag_py inet raw "$PUB1" "$EXT:2053" 8000 shuffle-dup 1000
frag_py host raw 10.0.0.2 "$PUB1:7000" 3000 reverse
frag_py host raw 10.0.0.2 "$PUB1:7000" 8000 shuffle-dup 512
if gateway_is_daemon; then
	held=$(counter fragments_held)
	step "nat fragments_held: $held0 -> $held"
	((held > held0)) || fail "nat fragments_held did not grow ($held0 -> $held): nothing came out of order?"
fi

# ------------------------------------------------------------------ 4
# RFC 4787 REQ-9: the private host reaches its own forward on $EXT; both
# the datagram and the echo are translated both ways, fragments included.
step "4. hairpin: 10.0.0.2 -> $EXT:2053 -> 10.0.0.2:8053 and back, in order and reversed"
before=$(echo_log priv | wc -l)
frag_py host size-client "$EXT:2053" 3000 8000
frag_py host raw 10.0.0.2 "$EXT:2053" 8000 reverse
new=$(echo_log priv | tail -n +"$((before + 1))")
[[ $(awk '{ print $2 }' <<<"$new" | tr '\n' ' ') == "3000 8000 8000 " ]] ||
	fail "hairpin: the private service got '$new', want 3000, 8000 and 8000 bytes"
grep -v " from $EXT:" <<<"$new" && fail "hairpin: the private service saw sources other than $EXT (above)"
step "hairpin: the private service saw the datagrams from $EXT"

# ------------------------------------------------------------------ 5
step "5. later fragments without their first: held, then dropped"
before=$(echo_log priv | wc -l)
tmo0=$(counter nat_fragment_timeout)
out=$(natpy inet raw "$PUB1" "$EXT:2053" 3000 later-only 2>&1) ||
	fail "later-only sender: $out"
[[ $out == none* ]] || fail "later fragments alone got an answer: $out"
(($(echo_log priv | wc -l) == before)) || fail "later fragments alone reached the private host: $(echo_log priv | tail -n 1)"
if gateway_is_daemon; then
	sleep 1.5                       # the hold time (1 s) and a margin
	tmo=$(counter nat_fragment_timeout)
	step "drop nat_fragment_timeout: $tmo0 -> $tmo"
	((tmo == tmo0 + 2)) || fail "drop nat_fragment_timeout went $tmo0 -> $tmo, want +2 (two later fragments held, never matched)"
fi

if gateway_is_daemon; then
	tr=$(counter fragments_translated)
	unmatched=$(counter nat_fragment)
	step "nat fragments_translated $tr, drop nat_fragment $unmatched"
	((tr > 0)) || fail "nat fragments_translated is 0: the fragments did not go through the tracker"
	((unmatched == 0)) || fail "drop nat_fragment is $unmatched: fragments the tracker could not match"
fi
gateway_alive
pc_pass
