#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# NAT ([NAT] section): the private host (10.0.0.2) and a road warrior whose
# tunnel address is in Masquerade reach "the internet" through the gateway,
# which translates them to its public address 203.0.113.1.  The public hosts
# (topo_internet: 203.0.113.50-52 in namespace inet, 198.51.100.2 one router
# hop behind it) have no route back to the private networks, so a reply
# arrives only if the gateway translated the source.
#
#   1. ping, TCP and UDP from the private host; the public side sees
#      203.0.113.1 as the source, never 10.0.0.2; a bulk TCP transfer
#      (checksums after translation); a host beyond the first hop; two
#      private hosts on the same source port get distinct external ports.
#   2. ICMP errors for translated packets come back to the private host:
#      TTL 2 to 198.51.100.2 expires in inet (time exceeded, for ping and
#      UDP); a DF ping too big for the 1400-byte link behind inet gets
#      fragmentation needed (path MTU discovery); UDP to a closed port of
#      198.51.100.2 gets port unreachable.
#   3. the gateway answers ping on its public address.
#   4. nothing unsolicited gets in: with a route to 10.0.0.0/16 via the
#      gateway, the public host's TCP, UDP and ping to 10.0.0.2 and to
#      unforwarded ports of 203.0.113.1 reach nobody.
#   5. port forwards: TCP 203.0.113.1:2222 -> 10.0.0.2:8022 and UDP
#      2053 -> 8053, the private service sees the real remote address, the
#      UDP reply comes from 203.0.113.1:2053; a forward to a closed port
#      answers with the private host's port unreachable / reset, translated;
#      the private host reaches its own forward on 203.0.113.1 (hairpinning).
#   6. endpoint-independent mapping: one private UDP socket talking to two
#      public hosts gets one external port; address-and-port-dependent
#      filtering keeps a third host, and a known host's other port, out of
#      it while the known host gets in.
#   7. a road warrior (AllowedIPs 0.0.0.0/0 on its side, 10.10.0.2 in
#      Masquerade) reaches the public host: ping, TCP, source translated;
#      and the private host, untranslated.
# portcullisd only (restarts; the reference has no endpoint-independent
# filtering and forwards without NAT):
#   8. Filtering = endpoint-independent lets the other endpoints in.
#   9. without [NAT] the private host cannot reach the public host.
# The reference gateway models [NAT] with nftables (lib.sh reference_nat).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat_lib.sh"
nat_tools=()
[[ $GATEWAY == reference ]] && nat_tools=(nft)
pc_init "${PC_TEST_NAME:-test_nat}" "${nat_tools[@]}"

EXT=203.0.113.1                       # the gateway's public address
PUB1=${INET_ADDRS[0]} PUB2=${INET_ADDRS[1]} PUB3=${INET_ADDRS[2]}
RW_TUN=10.10.0.2

# client SHORT PROTO ADDR:PORT [KIB]: a round trip that must work.
client_ok() {
	local n=$1 out
	shift
	if ! out=$(natpy "$n" client "$@" 2>&1); then
		gateway_alive
		fail "$1 $2 from $n: $out"
	fi
	step "$n: $out"
}

# eim_check FILTERING PORT: step 6 (one socket, one external port) and the
# filtering of its mapping, with FILTERING's expectations.  The public
# services listen on PORT, the private socket is 10.0.0.2:PORT+32900 (each
# call its own, as the services of an earlier call are still running).
eim_check() {
	local filt=$1 port=$2 sport=$(($2 + 32900)) log ports ext got t
	log=$PC_TMP/eim-$filt.log
	svc_start "eim-$filt" inet "udp:$PUB1:$port" "udp:$PUB2:$port"
	nsx host timeout 30 "$PC_PYTHON" "$NAT_TOOL" eim "$sport" 10 "$PUB1:$port" "$PUB2:$port" >"$log" 2>&1 &
	local epid=$!
	for ((t = 0; t < 100; t++)); do
		grep -q '^mapped' "$log" && break
		kill -0 "$epid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^mapped' "$log" || { gateway_alive; fail "EIM: private socket got no echo from both hosts: $(cat "$log")"; }
	# Which source each public host saw.
	ports=$(svc_log "eim-$filt" | awk '$1 == "udp" { split($4, p, ":"); print p[1], p[2] }' | sort -u)
	[[ $(awk '{ print $1 }' <<<"$ports" | sort -u) == "$EXT" ]] ||
		fail "EIM: the public hosts saw sources other than $EXT: $(svc_log "eim-$filt")"
	[[ $(wc -l <<<"$ports") -eq 1 ]] ||
		fail "EIM: one private socket (10.0.0.2:$sport) got different external ports: $(tr "\n" " " <<<"$ports")"
	ext=$(awk '{ print $2 }' <<<"$ports")
	step "EIM: 10.0.0.2:$sport -> $PUB1:$port and $PUB2:$port both seen as $EXT:$ext"
	# Unsolicited first, then the known endpoint, which ends the listener.
	natpy inet send "$PUB3:$port" "$EXT:$ext" "from-third-host"
	natpy inet send "$PUB1:$((port + 1))" "$EXT:$ext" "from-other-port"
	sleep 0.2
	natpy inet send "$PUB1:$port" "$EXT:$ext" "stop"
	wait "$epid" || true
	got=$(awk '$1 == "got" { print $3 }' "$log" | sort | tr '\n' ' ')
	case $filt in
	address-and-port-dependent)
		[[ $got == "stop " ]] ||
			fail "APDF: the private socket received '$got', want only 'stop' from $PUB1:$port: $(cat "$log")"
		step "APDF: $PUB3:$port and $PUB1:$((port + 1)) kept out of $EXT:$ext, $PUB1:$port let in" ;;
	endpoint-independent)
		[[ $got == "from-other-port from-third-host stop " ]] ||
			fail "EIF: the private socket received '$got', want all three: $(cat "$log")"
		step "EIF: $PUB3:$port, $PUB1:$((port + 1)) and $PUB1:$port all reach 10.0.0.2:$sport via $EXT:$ext" ;;
	esac
}

# nat_counters: the newest dump's "nat" lines on one line (information).
nat_counters() {
	gateway_is_daemon || return 0
	gateway_nat_counter sessions_created_udp >/dev/null
	# The newest value of each (the log holds one dump per call).
	step "nat counters: $(awk '$1 == "nat" && NF == 3 { if (!($2 in v)) o[++n] = $2; v[$2] = $3 }
		END { for (i = 1; i <= n; i++) printf "%s=%s ", o[i], v[o[i]] }' "$PC_GW_LOG")"
}

# ------------------------------------------------------------------ setup

topo_internet
addr_add host e0 10.0.0.3/24          # a second private host, for port clashes
peer_add rw 203.0.113.2/24 "$RW_TUN/32"
gateway_peer rw "$RW_TUN/32"
gateway_nat "Masquerade = 10.0.0.0/16, 10.10.0.0/24   # the LAN and the tunnel clients" \
	"PortRange = 1024-65535" \
	"Forward = tcp 2222 -> 10.0.0.2:8022" \
	"Forward = udp 2053 -> 10.0.0.2:8053" \
	"Forward = udp 2054 -> 10.0.0.2:8054   # nothing listens there" \
	"Forward = tcp 2055 -> 10.0.0.2:8055" \
	"Filtering = address-and-port-dependent" \
	"UDPTimeout = 300" \
	"MSSClamp = auto"
gateway_start
# All of the road warrior's traffic is for the gateway (AllowedIPs
# 0.0.0.0/0), but its kernel sends only the public host's address into the
# tunnel: the rest of 203.0.113.0/24, the gateway's endpoint included, stays
# on the underlay.
peer_to_gw rw 0.0.0.0/0 "$GW_EP4" 25
ip -n "$(ns rw)" route add "$PUB1/32" dev "$(ifn rw)"

svc_start pub inet "tcp:$PUB1:7000" "udp:$PUB1:7000"
svc_start priv host tcp:10.0.0.2:8022 udp:10.0.0.2:8053

# ------------------------------------------------------------------ 1
step "1. private host -> internet, translated to $EXT"
ping_ok host "$PUB1" 3
client_ok host tcp "$PUB1:7000" 256
client_ok host udp "$PUB1:7000"
svc_log pub | grep -q "^tcp $PUB1:7000 <- $EXT:" || fail "TCP from the private host not seen as $EXT: $(svc_log pub)"
svc_log pub | grep -q "^udp $PUB1:7000 <- $EXT:" || fail "UDP from the private host not seen as $EXT: $(svc_log pub)"
svc_log pub | grep -v "<- $EXT:" && fail "the public host saw untranslated sources (above)"
tcp_check inet "$PUB1" host 4
ping_ok host "$FAR_ADDR" 2
out=$(natpy host collide "$PUB1:7000" 10.0.0.2 10.0.0.3 2>&1) || { gateway_alive; fail "same source port from two private hosts: $out"; }
seen=$(svc_log pub | awk '$1 == "udp" && $5 ~ /^collide-/ { print $4 }' | sort -u)
[[ $(wc -l <<<"$seen") -eq 2 && $(grep -c "^$EXT:" <<<"$seen") -eq 2 ]] ||
	fail "10.0.0.2:40999 and 10.0.0.3:40999 should be two ports of $EXT, the public host saw: $(tr '\n' ' ' <<<"$seen")"
step "10.0.0.2:40999 and 10.0.0.3:40999 -> $(tr '\n' ' ' <<<"$seen")"

# ------------------------------------------------------------------ 2
step "2. ICMP errors: TTL 2 to $FAR_ADDR expires in inet; the time exceeded comes back"
out=$(nsx host ping -n -c 2 -i 0.3 -t 2 -W 2 "$FAR_ADDR" 2>&1 || true)
grep -qE "^From $PUB1 .*Time to live exceeded" <<<"$out" ||
	{ gateway_alive; fail "ping -t 2: no time exceeded from $PUB1: $out"; }
step "ping -t 2: $(grep -m1 'Time to live exceeded' <<<"$out")"
out=$(natpy host icmp-udp "$FAR_ADDR:33434" 2 6 2>&1) || { gateway_alive; fail "UDP TTL 2: $out"; }
[[ $out == "icmp type 11 code 0 from $PUB1 "*" dst $FAR_ADDR:33434" ]] ||
	fail "UDP TTL 2: want time exceeded from $PUB1 for $FAR_ADDR:33434, got: $out"
step "UDP TTL 2: $out"
out=$(nsx host ping -n -c 2 -i 0.3 -W 2 -M "do" -s $((FAR_MTU + 50)) "$FAR_ADDR" 2>&1 || true)
grep -qE "^From $PUB1 .*[Ff]rag needed.*mtu = $FAR_MTU" <<<"$out" ||
	{ gateway_alive; fail "DF ping of $((FAR_MTU + 78)) bytes: no fragmentation needed (mtu $FAR_MTU) from $PUB1: $out"; }
step "DF ping over the ${FAR_MTU}-byte link: $(grep -m1 -i 'frag needed' <<<"$out")"
out=$(natpy host icmp-udp "$FAR_ADDR:9" 64 6 2>&1) || { gateway_alive; fail "UDP to a closed port: $out"; }
[[ $out == "icmp type 3 code 3 from $FAR_ADDR "*" dst $FAR_ADDR:9" ]] ||
	fail "UDP to $FAR_ADDR:9: want port unreachable from $FAR_ADDR, got: $out"
step "UDP to a closed port: $out"

# ------------------------------------------------------------------ 3
step "3. the gateway answers ping on $EXT"
ping_ok inet "$EXT" 3

# ------------------------------------------------------------------ 4
step "4. unsolicited: inet routes 10.0.0.0/16 to the gateway, which must drop it"
ip -n "$(ns inet)" route add 10.0.0.0/16 via "$EXT"
ip -n "$(ns inet)" route add 10.10.0.0/24 via "$EXT"
gateway_is_daemon && nosess0=$(gateway_counter nat_no_session)
out=$(natpy inet probe 2 tcp:10.0.0.2:8022 udp:10.0.0.2:8053 "tcp:$EXT:8022" "udp:$EXT:8053" \
	"udp:$RW_TUN:9" 2>&1) || fail "probe: $out"
step "probes from inet: $(tr "\n" " " <<<"$out")"
while read -r sp res; do
	case $sp:$res in
	# (no answer, a reset or an ICMP error are all fine)
	tcp:*:open | udp:*:reply) fail "unsolicited $sp from the public host got through ($res)" ;;
	esac
done <<<"$out"
out=$(nsx inet ping -n -c 2 -i 0.2 -W 1 10.0.0.2 2>&1) && fail "the public host pinged 10.0.0.2 through the gateway: $out"
((n = $(svc_lines priv))) && fail "the private host's services were reached unsolicited: $(svc_log priv)"
gateway_alive
if gateway_is_daemon; then
	nosess=$(gateway_counter nat_no_session)
	step "drop nat_no_session: $nosess0 -> $nosess"
	((nosess > nosess0)) || fail "drop nat_no_session did not grow ($nosess0 -> $nosess) with unsolicited packets for $EXT"
fi

# ------------------------------------------------------------------ 5
step "5. port forwards: tcp $EXT:2222 -> 10.0.0.2:8022, udp $EXT:2053 -> 10.0.0.2:8053"
client_ok inet tcp "$EXT:2222" 1024
client_ok inet udp "$EXT:2053"
svc_log priv | grep -q "^tcp 10.0.0.2:8022 <- $PUB1:" || fail "forwarded TCP not seen from $PUB1: $(svc_log priv)"
svc_log priv | grep -q "^udp 10.0.0.2:8053 <- $PUB1:" || fail "forwarded UDP not seen from $PUB1: $(svc_log priv)"
step "the private services saw the remote address: $(svc_log priv | awk '{ print $1, $4 }' | sort -u | tr '\n' ' ')"
out=$(natpy inet probe 2 "udp:$EXT:2054" "tcp:$EXT:2055" 2>&1) || fail "probe: $out"
[[ $out == "udp:$EXT:2054 refused"$'\n'"tcp:$EXT:2055 refused" ]] ||
	{ gateway_alive; fail "forwards to closed ports: want both refused (port unreachable, reset), got: $out"; }
step "forwards to closed ports: $(tr '\n' ' ' <<<"$out")"
# Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): the private host reaches its
# own forward on the external address, and sees itself as $EXT, so that its
# reply goes back through the gateway.
before=$(svc_lines priv)
client_ok host tcp "$EXT:2222" 64
new=$(svc_log priv | tail -n +"$((before + 1))")
grep -q "^tcp 10.0.0.2:8022 <- $EXT:" <<<"$new" ||
	fail "hairpin: the private service saw '$new', want a connection from $EXT"
step "hairpin: 10.0.0.2 -> $EXT:2222 reached 10.0.0.2:8022, seen as from $EXT"

# ------------------------------------------------------------------ 6
step "6. endpoint-independent mapping, address-and-port-dependent filtering"
eim_check address-and-port-dependent 7100

# ------------------------------------------------------------------ 7
step "7. road warrior $RW_TUN (AllowedIPs 0.0.0.0/0) -> internet through the tunnel and NAT"
wait_handshake rw
before=$(svc_lines pub)
ping_ok rw "$PUB1" 3
client_ok rw tcp "$PUB1:7000" 256
client_ok rw udp "$PUB1:7000"
new=$(svc_log pub | tail -n +"$((before + 1))")
[[ -n $new ]] || fail "the public host saw nothing from the road warrior"
grep -v "<- $EXT:" <<<"$new" && fail "the public host saw the road warrior untranslated (above)"
tcp_check inet "$PUB1" rw 2
ping_ok rw "$FAR_ADDR" 2
# Inside to inside is routed, not translated, though both are in Masquerade.
before=$(svc_lines priv)
client_ok rw tcp 10.0.0.2:8022 64
new=$(svc_log priv | tail -n +"$((before + 1))")
grep -q "^tcp 10.0.0.2:8022 <- $RW_TUN:" <<<"$new" ||
	fail "the private host saw the road warrior as '$new', want $RW_TUN (no NAT between inside networks)"
ep=$(wg_endpoint gw rw) || fail "wg show on the gateway failed"
[[ $ep == 203.0.113.2:* ]] || fail "the road warrior's endpoint is '$ep': its tunnel went into itself?"
nat_counters
if gateway_is_daemon && grep -q '2 worker(s)' "$PC_GW_LOG"; then
	# test_nat_two_workers.sh: both workers must have carried NAT traffic,
	# so sessions were created on one lcore and found on the other.
	gateway_counter decap_packets >/dev/null
	l1=$(grep '^lcore 1 ' "$PC_GW_LOG" | tail -n 1) l2=$(grep '^lcore 2 ' "$PC_GW_LOG" | tail -n 1)
	step "work per lcore: $l1; $l2"
	for l in "$l1" "$l2"; do
		[[ $l =~ rx_packets\ ([0-9]+) ]] && ((BASH_REMATCH[1] > 100)) ||
			fail "a worker carried (almost) no traffic: '$l'"
	done
fi

if gateway_is_daemon; then
	# ------------------------------------------------------------------ 8
	step "8. restart with Filtering = endpoint-independent"
	gateway_stop
	gateway_nat_clear
	gateway_nat "Masquerade = 10.0.0.0/16" "Filtering = endpoint-independent"
	gateway_start
	eim_check endpoint-independent 7200
	nat_counters

	# ------------------------------------------------------------------ 8b
	step "8b. restart with ExternalAddress = 203.0.113.9 (not the port's address: the gateway answers ARP for it)"
	gateway_stop
	gateway_nat_clear
	gateway_nat "Masquerade = 10.0.0.0/16" "ExternalAddress = 203.0.113.9"
	gateway_start
	before=$(svc_lines pub)
	client_ok host tcp "$PUB1:7000" 16
	client_ok host udp "$PUB1:7000"
	seen=$(svc_log pub | tail -n +$((before + 1)) | awk '{ split($4, p, ":"); print p[1] }' | sort -u)
	[[ $seen == 203.0.113.9 ]] || fail "ExternalAddress: the public host saw '$seen', want 203.0.113.9"
	out=$(nsx inet ping -n -c 2 -i 0.2 -W 1 203.0.113.9 2>&1) || fail "ping to the ExternalAddress: $out"

	# ------------------------------------------------------------------ 9
	step "9. restart without [NAT]: the private host does not reach the internet"
	gateway_stop
	gateway_nat_clear
	gateway_start
	before=$(svc_lines pub)
	out=$(nsx host ping -n -c 3 -i 0.2 -W 1 "$PUB1" 2>&1) && fail "without NAT the private host pinged $PUB1: $out"
	out=$(natpy host probe 2 "tcp:$PUB1:7000" "udp:$PUB1:7000" 2>&1) || true
	step "without NAT: $(tr "\n" " " <<<"$out")"
	grep -qE ' (open|reply)$' <<<"$out" && fail "without NAT the private host reached $PUB1: $out"
	(($(svc_lines pub) == before)) || fail "without NAT the public host was reached: $(svc_log pub | tail -n 3)"
	gateway_alive
fi
pc_pass
