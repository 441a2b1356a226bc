# shellcheck shell=bash disable=SC2034  # SC2034: variables here are used by the tests that source this file
# SPDX-License-Identifier: BSD-3-Clause
#
# Shared helpers for the interop tests (and tools/demo.sh).
#
# Every test builds its own little world of network namespaces:
#
#   peers (wireguard-go) --veth-- [ NET: Linux bridge ] --veth-- pub [ GW ] priv --veth-- [ HOST ]
#        203.0.113.x/24, 2001:db8:1::x/64                         .1        10.0.0.1    10.0.0.2
#
# NET is a plain L2 switch standing for "the internet", so several peers can
# share the gateway's single public port (hub-and-spoke, roaming).  The GW
# namespace runs either portcullisd (GATEWAY=portcullisd, the default) or
# wireguard-go + Linux forwarding (GATEWAY=reference), from the same peer
# description, so one test body checks both.
#
# Naming: every namespace is "<prefix>-<short>", every interface and every
# wireguard-go/portcullisd interface name is "<prefix><suffix>", with a
# fixed-length prefix unique to this run ("pc" + 4 hex digits).  Cleanup finds
# what to remove by that prefix, so helpers may be called from subshells and a
# failure half-way through a helper still leaves nothing behind.  Helpers take
# the short names ("gw", "host", "rw"), never the full ones.
#
# Usage from a test:   source "$(dirname "$0")/lib.sh"; pc_init test_name; ...; pc_pass
# Environment:
#   GATEWAY      portcullisd (default) | reference
#   PORTCULLISD  daemon binary (default: build/control/portcullisd in the repo)
#   PORTCULLISD_EAL  EAL options (default: -l 0-1 --no-huge -m 512 ...)
#   PC_KEEP=1    keep the temp dir (configs, logs, keys) after the run
#   PC_IPV6=1    leave IPv6 enabled in the namespaces (set before pc_init)
#   PC_STOP_OK=1 Ctrl-C/SIGTERM is a normal end (the demo), not a failure
#   GW_PMD       net_af_packet (default) | net_af_xdp: the gateway ports' driver
# Hooks into the gateway's configuration (set before gateway_start):
#   GW_PUB_GATEWAY  default gateway of the public port ("Gateway =" in
#                   [Port public]; a default route on the reference gateway)
#   GW_EXTRA_CONF   text appended verbatim to portcullisd's config file (any
#                   extra section or key the daemon reads); the reference
#                   gateway ignores it, so a test that needs it in both modes
#                   wants a helper that models it there, as gateway_nat does
#   gateway_nat     the [NAT] section, for both modes (see there)
#   GW_HOST_IFACE   HostInterface of [Port public] (the exception TAP of full
#                   PMD mode, created in the gateway's namespace); default
#                   none, and portcullisd mode only

PC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GATEWAY=${GATEWAY:-portcullisd}
PORTCULLISD=${PORTCULLISD:-$PC_ROOT/build/control/portcullisd}
# Two lcores (main + one worker) because the machines have two cores that the
# daemon shares with wireguard-go and the traffic generators; no hugepages and
# no shared config so parallel runs never collide on /dev/hugepages or
# /var/run/dpdk.
PORTCULLISD_EAL=${PORTCULLISD_EAL:-"-l 0-1 --no-huge -m 512 --no-shconf --no-pci --log-level=*:notice"}
PC_IPV6=${PC_IPV6:-0}
PC_KEEP=${PC_KEEP:-0}

# Addresses of the standard topology (documentation and private ranges only).
GW_PORT=51820
GW_EP4="203.0.113.1:$GW_PORT"
GW_EP6="[2001:db8:1::1]:$GW_PORT"
GW_PUB_ADDRS=(203.0.113.1/24)
GW_PRIV_ADDRS=(10.0.0.1/24)
HOST_ADDRS=(10.0.0.2/24)
HOST_GW4=10.0.0.1
HOST_GW6=fd00:10::1
# Extra vdev arguments for both gateway ports (e.g. ",qpairs=2" for two
# workers, each with its own RX/TX queue pair).
GW_DEV_ARGS=${GW_DEV_ARGS:-}
# The DPDK driver of both gateway ports: net_af_packet (default) or
# net_af_xdp (needs bpffs on /sys/fs/bpf).  af_packet's fanout socket has the
# kernel reassemble IP fragments before DPDK sees them (and cuts what does
# not fit its 2 KiB frames); AF_XDP, like a real NIC, passes fragments on.
GW_PMD=${GW_PMD:-net_af_packet}
# 802.1Q id on the private side (0: untagged); set before topo_gateway.
GW_PRIV_VLAN=${GW_PRIV_VLAN:-0}
# 1: one NIC for both sides (a single-NIC dedicated server): the private
# port is the public port's device on VLAN GW_PRIV_VLAN, and the private
# host sits on the public switch (its namespace "host", interface e0).
# Set before topo_gateway, together with GW_PRIV_VLAN.
GW_SINGLE_NIC=${GW_SINGLE_NIC:-0}
# See "Hooks" above.
GW_PUB_GATEWAY=${GW_PUB_GATEWAY:-}
GW_EXTRA_CONF=${GW_EXTRA_CONF:-}
GW_HOST_IFACE=${GW_HOST_IFACE:-}
# topo_internet: public hosts in namespace "inet" (all on the public switch,
# with no route to the private networks), and "far", one router hop behind
# inet, for TTL and routing checks.
INET_ADDRS=(203.0.113.50 203.0.113.51 203.0.113.52)
INET_FAR_LINK=198.51.100.1
FAR_ADDR=198.51.100.2
FAR_MTU=1400

# Debian's python3 (installed by tools/install-deps.sh) rather than whatever
# comes first in PATH: a pyenv shim there starts slowly.  The transfer helper
# needs only the standard library.
if [[ -x /usr/bin/python3 ]]; then PC_PYTHON=/usr/bin/python3; else PC_PYTHON=python3; fi

PC_P=""            # the run's name prefix, set by pc_init
PC_TMP=""          # the run's temp dir
PC_TEST=""
PC_RESULT=""       # PASS / FAIL / SKIP once decided
PC_FAIL_MSG=""
PC_ERR=""          # last failing command, from the ERR trap
PC_GW_PID=""
PC_GW_LOG=""
PC_T0=$SECONDS

# ---------------------------------------------------------------- lifecycle

step() { printf '# %s\n' "$*"; }

# pc_skip REASON: exit 77, the automake/meson convention for "skipped".
pc_skip() {
	PC_RESULT=SKIP
	PC_FAIL_MSG=$1
	exit 77
}

# pc_init NAME [EXTRA_TOOL...]: check we can run, pick the prefix, install the
# traps.  Must be called before anything is created.
pc_init() {
	PC_TEST=$1
	shift
	PC_T0=$SECONDS
	# Keep the test's own stdout/stderr: a signal can arrive while a
	# redirected command runs (`nsx rw ping ... >file`), and bash runs the
	# traps with that redirection still in place.
	exec {PC_FD_OUT}>&1 {PC_FD_ERR}>&2
	trap pc_exit_trap EXIT
	# A signal turns into a normal exit so the EXIT trap cleans up; 130/143
	# are what a shell reports for SIGINT/SIGTERM.
	trap 'PC_FAIL_MSG="interrupted"; exit 130' INT
	trap 'PC_FAIL_MSG="terminated"; exit 143' TERM HUP
	set -E
	trap 'PC_ERR="line $LINENO: $BASH_COMMAND"' ERR

	[[ $EUID -eq 0 ]] || pc_skip "needs root (network namespaces)"
	local t
	for t in ip wg wireguard-go ethtool ping timeout stdbuf "$PC_PYTHON" "$@"; do
		command -v "$t" >/dev/null 2>&1 || pc_skip "missing tool: $t (run tools/install-deps.sh)"
	done
	[[ -e /dev/net/tun ]] || pc_skip "no /dev/net/tun for wireguard-go"
	case $GATEWAY in
	reference) ;;
	portcullisd)
		# Missing daemon is a failure, not a skip: it is what we test.
		[[ -x $PORTCULLISD ]] ||
			fail "portcullisd not found at $PORTCULLISD (run tools/build.sh, or set GATEWAY=reference)" ;;
	*) fail "GATEWAY must be 'portcullisd' or 'reference', not '$GATEWAY'" ;;
	esac

	# Prefix from our PID; if leftovers of a crashed run use it, take a
	# random one.  Fixed length, so no prefix is a prefix of another.
	local id=$(($$ % 65536)) tries=0
	while :; do
		PC_P=$(printf 'pc%04x' "$id")
		compgen -G "/run/netns/$PC_P-*" >/dev/null ||
			compgen -G "/var/run/wireguard/$PC_P*" >/dev/null || break
		id=$((RANDOM % 65536))
		tries=$((tries + 1))
		((tries < 50)) || fail "cannot find a free name prefix"
	done
	PC_TMP=$(mktemp -d "/tmp/portcullis-$PC_TEST.XXXXXX")
	chmod 700 "$PC_TMP"
	step "$PC_TEST: GATEWAY=$GATEWAY prefix=$PC_P tmp=$PC_TMP"
}

# fail MSG: print MSG and the logs that explain it, then exit 1 (the EXIT trap
# cleans up and prints the summary).
fail() {
	[[ -n ${PC_FD_OUT:-} ]] && exec 1>&"$PC_FD_OUT" 2>&"$PC_FD_ERR"
	PC_RESULT=FAIL
	PC_FAIL_MSG=$*
	trap - ERR
	printf 'ERROR: %s\n' "$*" >&2
	[[ -n $PC_P ]] && pc_dump >&2
	exit 1
}

pc_pass() {
	PC_RESULT=PASS
	exit 0
}

# pc_dump: state and log tails, for failures.
pc_dump() {
	local sock name f
	for sock in /var/run/wireguard/"$PC_P"*.sock; do
		[[ -S $sock ]] || continue
		name=$(basename "$sock" .sock)
		echo "--- wg show $name"
		timeout 5 wg show "$name" 2>&1 | sed 's/^/    /'
	done
	if [[ -n $PC_GW_LOG && -f $PC_GW_LOG ]]; then
		echo "--- gateway log (last 60 lines of $PC_GW_LOG)"
		tail -n 60 "$PC_GW_LOG" | sed 's/^/    /'
	fi
	for f in "$PC_TMP"/wg-*.log; do
		[[ -f $f && $f != "$PC_GW_LOG" ]] || continue
		echo "--- $(basename "$f") (last 15 lines)"
		tail -n 15 "$f" | sed 's/^/    /'
	done
}

pc_namespaces() {
	local f
	for f in /run/netns/"$PC_P"-*; do
		[[ -e $f ]] && basename "$f"
	done
	return 0
}

# pc_cleanup: remove everything this run created.  Idempotent; never fails.
pc_cleanup() {
	[[ -n $PC_P ]] || return 0
	local ns pids pid i
	# The daemon first and politely: SIGTERM makes it print its counters
	# into the log, which is what one reads after a failure.
	if [[ -n $PC_GW_PID ]] && kill -0 "$PC_GW_PID" 2>/dev/null; then
		kill -TERM "$PC_GW_PID" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$PC_GW_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	# Background jobs of this shell (helpers waiting on something).
	pids=$(jobs -p)
	# shellcheck disable=SC2086  # $pids is a list
	[[ -n $pids ]] && kill -TERM $pids 2>/dev/null
	# Every process inside our namespaces: wireguard-go, iperf3, tcpdump,
	# python, portcullisd.  TERM, a grace period, then KILL.
	for ns in $(pc_namespaces); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[[ -n $pids ]] && kill -TERM $pids 2>/dev/null
	done
	for ((i = 0; i < 30; i++)); do
		pids=""
		for ns in $(pc_namespaces); do
			pids+=" $(ip netns pids "$ns" 2>/dev/null)"
		done
		[[ -z ${pids// /} ]] && break
		# shellcheck disable=SC2086
		((i == 29)) && kill -KILL $pids 2>/dev/null
		sleep 0.1
	done
	wait 2>/dev/null
	# Deleting a namespace deletes the veth ends in it and so the pairs.
	for ns in $(pc_namespaces); do
		ip netns del "$ns" 2>/dev/null
	done
	# wireguard-go and portcullisd remove their sockets on a clean exit,
	# not on SIGKILL.
	rm -f /var/run/wireguard/"$PC_P"*.sock /var/run/portcullis/"$PC_P"*.sock
	if [[ -n $PC_TMP && -d $PC_TMP ]]; then
		if [[ $PC_KEEP == 1 ]]; then
			echo "# kept $PC_TMP"
		else
			rm -rf "$PC_TMP"
		fi
	fi
	return 0
}

pc_exit_trap() {
	local rc=$?
	# A second Ctrl-C (or timeout(1), which signals the child and then its
	# process group) must not cut the cleanup short: it is bounded anyway.
	trap - EXIT ERR
	trap '' INT TERM HUP
	set +e
	[[ -n ${PC_FD_OUT:-} ]] && exec 1>&"$PC_FD_OUT" 2>&"$PC_FD_ERR"
	if [[ -z $PC_RESULT && -n ${PC_STOP_OK:-} && ($rc -eq 130 || $rc -eq 143) ]]; then
		# The demo ends with Ctrl-C: that is success.
		PC_RESULT=STOPPED
		rc=0
	fi
	if [[ -z $PC_RESULT ]]; then
		# Died from `set -e`, a signal or a plain exit without pc_pass.
		PC_RESULT=FAIL
		[[ -z $PC_FAIL_MSG ]] && PC_FAIL_MSG="exit status $rc${PC_ERR:+ at $PC_ERR}"
		[[ -n $PC_P && $rc -ne 130 && $rc -ne 143 ]] && pc_dump >&2
		((rc == 0)) && rc=1
	fi
	pc_cleanup
	local took=$((SECONDS - PC_T0))
	case $PC_RESULT in
	PASS) echo "PASS $PC_TEST (GATEWAY=$GATEWAY, ${took}s)" ;;
	SKIP) echo "SKIP $PC_TEST: $PC_FAIL_MSG" ;;
	STOPPED) echo "$PC_TEST: stopped after ${took}s; namespaces, processes and files removed" ;;
	*) echo "FAIL $PC_TEST (GATEWAY=$GATEWAY, ${took}s): $PC_FAIL_MSG" ;;
	esac
	exit "$rc"
}

# ---------------------------------------------------------------- plumbing

# fgwait CMD...: run CMD and wait for it, interruptibly.  Bash defers a
# trapped signal until a foreground command ends, so a SIGTERM (e.g. from
# `timeout`) during a 150 s ping would otherwise wait 150 s to clean up;
# `wait` returns at once.
fgwait() {
	"$@" &
	wait $!
}

ns() { printf '%s-%s' "$PC_P" "$1"; }       # full namespace name of a short name
ifn() { printf '%s%s' "$PC_P" "$1"; }       # full interface name of a suffix
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }  # run in namespace

# ns_sysctl SHORT KEY=VALUE...
ns_sysctl() {
	local n=$1 kv
	shift
	for kv in "$@"; do
		nsx "$n" sysctl -qw "$kv" || fail "sysctl $kv in $(ns "$n")"
	done
}

# ns_add SHORT...: new namespace with lo up.  IPv6 is off unless PC_IPV6=1 so
# router solicitations and MLD reports do not wander into the gateway in the
# IPv4 tests; reverse-path filtering is off because roaming changes sources.
ns_add() {
	local n dis=1
	[[ $PC_IPV6 == 1 ]] && dis=0
	for n in "$@"; do
		ip netns add "$(ns "$n")" || fail "ip netns add $(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
		ns_sysctl "$n" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.disable_ipv6=$dis net.ipv6.conf.default.disable_ipv6=$dis
		# Addresses are usable at once, without duplicate-address detection.
		((dis)) || ns_sysctl "$n" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
}

# veth_add NS1 IF1 NS2 IF2: a veth pair between two namespaces (interface
# names are suffixes: "pub" becomes "<prefix>pub"), both ends up.
# Checksum offload is turned off on both ends: a kernel sender on a veth
# leaves TCP/UDP checksums unfinished (CHECKSUM_PARTIAL), and a DPDK port on
# the other end forwards them unfinished, so TCP through the gateway dies
# while ping works (see /work/shared/ENVIRONMENT.md).
veth_add() {
	local n1=$1 i1 n2=$3 i2
	i1=$(ifn "$2")
	i2=$(ifn "$4")
	ip link add name "$i1" netns "$(ns "$n1")" type veth peer name "$i2" netns "$(ns "$n2")" ||
		fail "cannot create veth $i1/$i2"
	# tx off: see ENVIRONMENT (checksums left to the receiver).  txvlan
	# off: a VLAN tag travels in the frame, not beside it, so XDP on the
	# far end sees it (the bridge takes tags off into metadata).
	nsx "$n1" ethtool -K "$i1" tx off txvlan off >/dev/null || fail "ethtool -K $i1 tx off"
	nsx "$n2" ethtool -K "$i2" tx off txvlan off >/dev/null || fail "ethtool -K $i2 tx off"
	ip -n "$(ns "$n1")" link set "$i1" up
	ip -n "$(ns "$n2")" link set "$i2" up
}

# addr_add SHORT IFSUFFIX CIDR...: addresses (IPv6 ones without DAD).
addr_add() {
	local n=$1 i a
	i=$(ifn "$2")
	shift 2
	for a in "$@"; do
		if [[ $a == *:* ]]; then
			ip -n "$(ns "$n")" addr add "$a" dev "$i" nodad || fail "ip addr add $a dev $i in $(ns "$n")"
		else
			ip -n "$(ns "$n")" addr add "$a" dev "$i" || fail "ip addr add $a dev $i in $(ns "$n")"
		fi
	done
}

# pubnet_attach SHORT IFSUFFIX [CIDR...]: plug SHORT into the public switch.
pubnet_attach() {
	local n=$1 i=$2
	shift 2
	PC_NETPORTS=$((${PC_NETPORTS:-0} + 1))
	veth_add "$n" "$i" net "b$PC_NETPORTS"
	ip -n "$(ns net)" link set "$(ifn "b$PC_NETPORTS")" master "$(ifn br)" || fail "bridge port"
	(($# == 0)) || addr_add "$n" "$i" "$@"
}

# topo_gateway: the NET switch, the GW namespace with its public port on the
# switch, and the private HOST at 10.0.0.2 (fd00:10::2 with PC_IPV6=1)
# behind the gateway's private port.  Addresses of the gateway itself are
# given in gateway_start, because only the reference gateway puts them on
# the veths.
topo_gateway() {
	ns_add net gw host
	# A switch, not a router: no addresses, no IPv6 of its own, no multicast
	# snooping (the DPDK port never sends MLD reports, so a snooping bridge
	# could stop forwarding neighbour solicitations to it).
	ns_sysctl net net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$(ns net)" link add "$(ifn br)" type bridge forward_delay 0 mcast_snooping 0 ||
		fail "cannot create bridge"
	ip -n "$(ns net)" link set "$(ifn br)" up
	pubnet_attach gw pub
	if ((GW_SINGLE_NIC)); then
		pubnet_attach host e0
	else
		veth_add gw priv host e0
	fi
	local a hif=e0
	# A tagged private side has no kernel host here (no 8021q module on
	# these machines): the test brings its own (tests/interop/vlan_host.py).
	((GW_PRIV_VLAN)) && return 0
	for a in "${HOST_ADDRS[@]}"; do addr_add host "$hif" "$a"; done
	ip -n "$(ns host)" route add default via "$HOST_GW4"
	if [[ $PC_IPV6 == 1 ]]; then
		addr_add host "$hif" fd00:10::2/64
		ip -n "$(ns host)" -6 route add default via "$HOST_GW6"
	fi
}

# topo_roadwarrior [EXTRA_RW_ADDR]: the standard topology with one road
# warrior "rw" (tunnel 10.200.0.2/32, PersistentKeepalive 25, the gateway as
# its endpoint and 10.0.0.0/24 routed into the tunnel), up and handshaken.
# EXTRA_RW_ADDR is one more address on the road warrior's tunnel interface.
topo_roadwarrior() {
	topo_gateway
	peer_add rw 203.0.113.2/24 10.200.0.2/32
	[[ -n ${1:-} ]] && addr_add rw rw "$1"
	gateway_peer rw 10.200.0.2/32
	gateway_start
	peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
	wait_handshake rw
}

# topo_bastion: the standard topology with the road warrior "rw" (a peer
# of the gateway, not yet pointed at it) and a public host "pub" at
# PUBHOST on the switch: the tests of the host's own traffic on the
# gateway's public address (test_host_interface, test_xdp_steering).
PUBHOST=203.0.113.7
topo_bastion() {
	topo_gateway
	peer_add rw 203.0.113.2/24 10.200.0.2/32
	gateway_peer rw 10.200.0.2/32
	ns_add pub
	pubnet_attach pub e0 "$PUBHOST/24"
}

# topo_internet: the standard topology (topo_gateway) plus "the internet"
# for the NAT tests:
#
#   [ HOST ] -- [ GW ] -- NET switch -- [ INET ] 203.0.113.50, .51, .52 --- [ FAR ]
#   10.0.0.2                    .1         router: 198.51.100.1/24 ---------- .2
#
# INET's three addresses are three public hosts (two to check that one
# private socket keeps one external port, a third that must not get in).
# INET forwards to FAR, so a packet from the private host with TTL 2
# expires in INET and the time exceeded comes back from 203.0.113.50; the
# link to FAR has MTU 1400 (FAR_MTU), so a bigger DF packet gets
# fragmentation needed from 203.0.113.50 (path MTU discovery).  INET
# has no route to 10.0.0.0/16: replies reach the private host only if the
# gateway translated the source.  (A test that wants the gateway to see
# packets for the private addresses adds that route itself.)  The gateway's
# public default route is INET (GW_PUB_GATEWAY), so it can reach FAR.
topo_internet() {
	topo_gateway
	ns_add inet far
	local a
	pubnet_attach inet e0
	for a in "${INET_ADDRS[@]}"; do addr_add inet e0 "$a/24"; done
	veth_add inet far far e0
	addr_add inet far "$INET_FAR_LINK/24"
	addr_add far e0 "$FAR_ADDR/24"
	# A narrower link behind the first hop: INET answers a DF packet of more
	# than 1400 bytes for FAR with fragmentation needed (path MTU discovery
	# through the gateway).
	ip -n "$(ns inet)" link set "$(ifn far)" mtu "$FAR_MTU"
	ip -n "$(ns far)" link set "$(ifn e0)" mtu "$FAR_MTU"
	ns_sysctl inet net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
	# Time exceeded and echo replies at full speed (the default limit of one
	# ICMP error per second per destination would make retries flaky).
	ns_sysctl inet net.ipv4.icmp_ratelimit=0
	ip -n "$(ns far)" route add default via "$INET_FAR_LINK" || fail "default route in far"
	GW_PUB_GATEWAY=${GW_PUB_GATEWAY:-${INET_ADDRS[0]}}
}

# ---------------------------------------------------------------- WireGuard peers

# key_gen NAME: $PC_TMP/NAME.key (private, 0600) and NAME.pub.
key_gen() {
	(umask 077 && wg genkey >"$PC_TMP/$1.key") || fail "wg genkey"
	wg pubkey <"$PC_TMP/$1.key" >"$PC_TMP/$1.pub" || fail "wg pubkey"
}
key_pub() { cat "$PC_TMP/$1.pub"; }

# wg_start SHORT [LISTEN_PORT]: a wireguard-go interface <prefix>SHORT in
# namespace SHORT, keyed with key SHORT, up.  The interface name must be
# unique on the machine because /var/run/wireguard is shared by namespaces.
wg_start() {
	local n=$1 port=${2:-} i sock
	i=$(ifn "$n")
	sock=/var/run/wireguard/$i.sock
	[[ -f $PC_TMP/$n.key ]] || key_gen "$n"
	# Called directly, not through nsx: a backgrounded function is a subshell
	# and $! would be that subshell, not wireguard-go.
	ip netns exec "$(ns "$n")" env LOG_LEVEL=debug wireguard-go -f "$i" >"$PC_TMP/wg-$i.log" 2>&1 &
	local pid=$! t
	for ((t = 0; t < 100; t++)); do
		[[ -S $sock ]] && break
		kill -0 "$pid" 2>/dev/null || fail "wireguard-go $i exited at start"
		sleep 0.1
	done
	[[ -S $sock ]] || fail "wireguard-go $i: no socket $sock after 10 s"
	wg set "$i" private-key "$PC_TMP/$n.key" ${port:+listen-port "$port"} || fail "wg set $i"
	ip -n "$(ns "$n")" link set "$i" up
}

# peer_add SHORT PUB_CIDR TUN_CIDR [LISTEN_PORT]: a host on the public switch
# (interface <prefix>e0) running wireguard-go with tunnel address TUN_CIDR.
peer_add() {
	local n=$1 pub=$2 tun=$3 port=${4:-}
	ns_add "$n"
	pubnet_attach "$n" e0 "$pub"
	wg_start "$n" "$port"
	addr_add "$n" "$n" "$tun"
}

# peer_to_gw SHORT ALLOWED ENDPOINT KEEPALIVE: make the gateway a peer of
# wireguard-go interface SHORT, with routes for ALLOWED (comma separated)
# into the tunnel, as wg-quick would add.  ENDPOINT and KEEPALIVE may be "".
# Call it after gateway_start: a keepalive setting sends the first handshake
# at once, and it should not be lost to a gateway that is not up yet.
peer_to_gw() {
	local n=$1 allowed=$2 ep=$3 ka=$4 i p
	i=$(ifn "$n")
	wg set "$i" peer "$(key_pub gw)" allowed-ips "$allowed" \
		${ep:+endpoint "$ep"} ${ka:+persistent-keepalive "$ka"} || fail "wg set $i peer gw"
	for p in ${allowed//,/ }; do
		ip -n "$(ns "$n")" route replace "$p" dev "$i" || fail "route $p dev $i"
	done
}

# wg_handshake SHORT: newest latest-handshake of interface SHORT (0 = none).
wg_handshake() {
	timeout 5 wg show "$(ifn "$1")" latest-handshakes |
		awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }'
}

# wait_handshake SHORT [TIMEOUT=30] [NEWER_THAN=0]
wait_handshake() {
	local n=$1 to=${2:-30} after=${3:-0} t hs
	for ((t = 0; t < to * 5; t++)); do
		hs=$(wg_handshake "$n" 2>/dev/null || echo 0)
		((hs > after)) && return 0
		sleep 0.2
	done
	fail "no handshake on $(ifn "$n") within ${to}s"
}

# wg_endpoint SHORT PEERKEY: the endpoint interface SHORT has for a peer.
wg_endpoint() {
	local pub
	pub=$(key_pub "$2")
	timeout 5 wg show "$(ifn "$1")" endpoints | awk -v k="$pub" '$1 == k { print $2 }'
}

# ---------------------------------------------------------------- the gateway

# gateway_peer KEYNAME ALLOWED [ENDPOINT] [KEEPALIVE]: a [Peer] of the
# gateway, in the wg-quick syntax both modes read.
gateway_peer() {
	[[ -f $PC_TMP/$1.pub ]] || fail "gateway_peer: no key '$1'"
	{
		echo "[Peer]"
		echo "PublicKey = $(key_pub "$1")"
		echo "AllowedIPs = $2"
		[[ -z ${3:-} ]] || echo "Endpoint = $3"
		[[ -z ${4:-} ]] || echo "PersistentKeepalive = $4"
		echo
	} >>"$PC_TMP/gw-peers.conf"
}

gateway_is_daemon() { [[ $GATEWAY == portcullisd ]]; }

# gateway_nat LINE...: add lines ("Key = value", portcullisd's syntax) to the
# gateway's [NAT] section; gateway_nat_clear forgets them (a restart without
# NAT).  portcullisd gets the section as written; the reference gateway
# models it with nftables (reference_nat): Masquerade/ExternalAddress/
# PortRange become an SNAT rule, Forward a DNAT rule (from inside too, with
# the source translated as well: hairpinning), and the forward hook
# lets in from the public port only replies (conntrack) and forwarded ports,
# and lets out to it only masqueraded sources, as portcullisd does.  Linux
# conntrack filters address-and-port-dependent, so the reference refuses
# "Filtering = endpoint-independent"; UDPTimeout, MSSClamp and other keys
# are ignored there.
gateway_nat() {
	local l
	for l in "$@"; do printf '%s\n' "$l" >>"$PC_TMP/gw-nat.conf"; done
}
gateway_nat_clear() { rm -f "$PC_TMP/gw-nat.conf"; }
gateway_has_nat() { [[ -s $PC_TMP/gw-nat.conf ]]; }

# gateway_nat_value KEY: the values of KEY in the [NAT] lines (one per
# line, comma lists split, comments and blanks dropped).
gateway_nat_value() {
	gateway_has_nat || return 0
	awk -v k="$1" '
		{ sub(/#.*/, "") }
		index($0, "=") {
			key = substr($0, 1, index($0, "=") - 1); val = substr($0, index($0, "=") + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", key)
			if (tolower(key) != tolower(k)) next
			n = split(val, items, ",")
			for (i = 1; i <= n; i++) { gsub(/^[ \t]+|[ \t]+$/, "", items[i]); if (items[i] != "") print items[i] }
		}' "$PC_TMP/gw-nat.conf"
}

# gateway_nat_external: the external address (ExternalAddress, else the
# public port's first IPv4 address), without a length.
gateway_nat_external() {
	local e a
	e=$(gateway_nat_value ExternalAddress | head -n 1)
	if [[ -z $e ]]; then
		for a in "${GW_PUB_ADDRS[@]}"; do
			[[ $a == *:* ]] && continue
			e=${a%/*}
			break
		done
	fi
	echo "$e"
}

# gateway_start: start the gateway in namespace gw on ports <prefix>pub and
# <prefix>priv, with GW_PUB_ADDRS / GW_PRIV_ADDRS and the peers given so far.
gateway_start() {
	[[ -f $PC_TMP/gw.key ]] || key_gen gw
	touch "$PC_TMP/gw-peers.conf"
	PC_GW_LOG=$PC_TMP/gateway.log
	if gateway_is_daemon; then
		gateway_start_daemon
	else
		gateway_start_reference
	fi
}

gateway_start_daemon() {
	local conf=$PC_TMP/gateway.conf a t
	case $GW_PMD in
	net_af_packet) ;;
	net_af_xdp)
		[[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) == bpf_fs ]] ||
			pc_skip "GW_PMD=net_af_xdp needs bpffs: mount -t bpf bpf /sys/fs/bpf" ;;
	*) fail "GW_PMD must be net_af_packet or net_af_xdp, not '$GW_PMD'" ;;
	esac
	# The DPDK process owns the veths: the kernel must not answer ARP or
	# send IPv6 chatter of its own on them.
	ns_sysctl gw "net.ipv6.conf.$(ifn pub).disable_ipv6=1"
	((GW_SINGLE_NIC)) || ns_sysctl gw "net.ipv6.conf.$(ifn priv).disable_ipv6=1"
	(
		umask 077
		{
			echo "[Interface]"
			echo "PrivateKey = $(cat "$PC_TMP/gw.key")"
			echo "ListenPort = $GW_PORT"
			echo
			echo "[Port public]"
			echo "Device = ${GW_PMD}0,iface=$(ifn pub)$GW_DEV_ARGS"
			for a in "${GW_PUB_ADDRS[@]}"; do echo "Address = $a"; done
			[[ -z $GW_PUB_GATEWAY ]] || echo "Gateway = $GW_PUB_GATEWAY"
			[[ -z $GW_HOST_IFACE ]] || echo "HostInterface = $GW_HOST_IFACE"
			echo
			echo "[Port private]"
			if ((GW_SINGLE_NIC)); then
				echo "Device = ${GW_PMD}0,iface=$(ifn pub)$GW_DEV_ARGS"
			else
				echo "Device = ${GW_PMD}1,iface=$(ifn priv)$GW_DEV_ARGS"
			fi
			for a in "${GW_PRIV_ADDRS[@]}"; do echo "Address = $a"; done
			if ((GW_PRIV_VLAN)); then echo "VLAN = $GW_PRIV_VLAN"; fi
			echo
			if gateway_has_nat; then
				echo "[NAT]"
				cat "$PC_TMP/gw-nat.conf"
				echo
			fi
			cat "$PC_TMP/gw-peers.conf"
			[[ -z $GW_EXTRA_CONF ]] || printf '%s\n' "$GW_EXTRA_CONF"
		} >"$conf"
	)
	chmod 600 "$conf"
	# Created here, not by the background job's redirection, so the polling
	# below never races with it.
	: >"$PC_GW_LOG"
	daemon_launch "$conf" "$(ifn gw)"
	for ((t = 0; t < 600; t++)); do
		grep -q 'portcullisd: ready' "$PC_GW_LOG" && break
		kill -0 "$PC_GW_PID" 2>/dev/null || gateway_start_failed
		sleep 0.1
	done
	grep -q 'portcullisd: ready' "$PC_GW_LOG" || fail "portcullisd not ready after 60 s"
	step "portcullisd ready (pid $PC_GW_PID)"
}

# daemon_launch CONF IFNAME: portcullisd in the gateway's namespace, in the
# background, its output in $PC_GW_LOG, its pid in PC_GW_PID.  stdbuf: the
# log is a file, and "ready" must not wait in a stdio buffer.  ip, stdbuf
# and the daemon exec each other, so $! is the daemon itself (which is why
# this is not nsx: a backgrounded function is a subshell).
daemon_launch() {
	# shellcheck disable=SC2086  # PORTCULLISD_EAL is a list of options
	ip netns exec "$(ns gw)" stdbuf -oL -eL "$PORTCULLISD" -c "$1" -i "$2" -- $PORTCULLISD_EAL \
		>"$PC_GW_LOG" 2>&1 &
	PC_GW_PID=$!
}

# gateway_start_failed: the daemon exited before "ready".  AF_XDP needs
# kernel and driver support (XDP on veth, AF_XDP sockets) that a machine may
# lack: a port the net_af_xdp driver cannot set up is a skip, not a failure.
gateway_start_failed() {
	local why
	why=$(grep -m1 -E '\[Port (public|private)\]: ' "$PC_GW_LOG" || true)
	[[ $GW_PMD == net_af_xdp && -n $why ]] && pc_skip "net_af_xdp ports cannot be used here: $why"
	fail "portcullisd exited during start-up"
}

gateway_start_reference() {
	local a p
	for a in "${GW_PUB_ADDRS[@]}"; do addr_add gw pub "$a"; done
	for a in "${GW_PRIV_ADDRS[@]}"; do addr_add gw priv "$a"; done
	ns_sysctl gw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
	[[ $PC_IPV6 == 1 ]] && ns_sysctl gw net.ipv6.conf.all.forwarding=1
	wg_start gw "$GW_PORT"
	wg setconf "$(ifn gw)" <(
		echo "[Interface]"
		echo "PrivateKey = $(cat "$PC_TMP/gw.key")"
		echo "ListenPort = $GW_PORT"
		echo
		cat "$PC_TMP/gw-peers.conf"
	) || fail "wg setconf on the reference gateway"
	# Routes into the tunnel for every AllowedIPs, as wg-quick adds them.
	# shellcheck disable=SC2013  # prefixes are words, not lines
	for p in $(awk -F' *= *' '$1 == "AllowedIPs" { gsub(",", " ", $2); print $2 }' "$PC_TMP/gw-peers.conf"); do
		ip -n "$(ns gw)" route replace "$p" dev "$(ifn gw)" || fail "route $p on the gateway"
	done
	[[ -z $GW_PUB_GATEWAY ]] ||
		ip -n "$(ns gw)" route replace default via "$GW_PUB_GATEWAY" dev "$(ifn pub)" ||
		fail "default route via $GW_PUB_GATEWAY on the gateway"
	gateway_has_nat && reference_nat
	PC_GW_LOG=$PC_TMP/wg-$(ifn gw).log
	step "reference gateway (wireguard-go + Linux forwarding${GW_NAT_REF:+ + nftables NAT}) ready"
}

# reference_nat: the [NAT] lines (gateway_nat) as nftables rules in the
# reference gateway's namespace.  Needs nft (package nftables) and a kernel
# with nf_tables and nf_nat.
reference_nat() {
	local pub ext range masq f proto eport iaddr iport rules filt
	local re='^(tcp|udp)[[:space:]]+(([0-9.]+):)?([0-9]+)[[:space:]]*->[[:space:]]*([0-9.]+):([0-9]+)$'
	command -v nft >/dev/null 2>&1 || pc_skip "missing tool: nft (the reference gateway's NAT; run tools/install-deps.sh)"
	pub=$(ifn pub)
	ext=$(gateway_nat_external)
	[[ -n $ext ]] || fail "reference NAT: no IPv4 external address"
	# An ExternalAddress that is not one of the port's: the kernel must own
	# it too (ARP, local delivery of the translated replies).
	if ! ip -n "$(ns gw)" -4 addr show dev "$pub" | grep -qw "inet $ext/[0-9]*"; then
		addr_add gw pub "$ext/32"
	fi
	range=$(gateway_nat_value PortRange | head -n 1)
	filt=$(gateway_nat_value Filtering | head -n 1)
	case ${filt,,} in
	"" | address-and-port-dependent) ;;
	*) fail "reference NAT: Filtering = $filt is not modelled (Linux conntrack is address-and-port-dependent)" ;;
	esac
	masq=$(gateway_nat_value Masquerade | paste -sd, -)
	rules="table ip pcnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;"
	while read -r f; do
		[[ -n $f ]] || continue
		# tcp [ADDR:]PORT -> ADDR:PORT
		[[ ${f,,} =~ $re ]] ||
			fail "reference NAT: cannot read 'Forward = $f'"
		proto=${BASH_REMATCH[1]} eport=${BASH_REMATCH[4]} iaddr=${BASH_REMATCH[5]} iport=${BASH_REMATCH[6]}
		rules+="
		ip daddr ${BASH_REMATCH[3]:-$ext} $proto dport $eport dnat to $iaddr:$iport"
	done < <(gateway_nat_value Forward)
	rules+="
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;"
	# A port range applies to TCP and UDP only; ICMP keeps its identifier.
	[[ -z $masq || -z $range ]] || rules+="
		oifname \"$pub\" ip saddr { $masq } meta l4proto { tcp, udp } snat to $ext:$range"
	[[ -z $masq ]] || rules+="
		oifname \"$pub\" ip saddr { $masq } snat to $ext
		oifname != \"$pub\" ct status dnat ip saddr { $masq } snat to $ext"
	rules+="
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
		iifname \"$pub\" ct status dnat accept
		iifname \"$pub\" drop"
	if [[ -n $masq ]]; then
		rules+="
		oifname \"$pub\" ip saddr != { $masq } drop"
	else
		rules+="
		oifname \"$pub\" drop"
	fi
	rules+="
	}
}"
	printf '%s\n' "$rules" >"$PC_TMP/reference-nat.nft"
	nsx gw nft -f "$PC_TMP/reference-nat.nft" ||
		fail "reference NAT: nft refused $PC_TMP/reference-nat.nft (kernel without nf_tables/nf_nat?)"
	GW_NAT_REF=1
}

# gateway_stop: stop portcullisd (it prints its counters on the way out),
# keeping its log as gateway-<pid>.log so gateway_start can start another
# one with a different configuration in the same topology.  portcullisd
# only: the reference gateway's kernel state is not undone.
gateway_stop() {
	local i
	gateway_is_daemon || fail "gateway_stop: GATEWAY=$GATEWAY cannot be restarted"
	[[ -n $PC_GW_PID ]] || return 0
	kill -TERM "$PC_GW_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PC_GW_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$PC_GW_PID" 2>/dev/null && fail "portcullisd (pid $PC_GW_PID) did not stop within 10 s of SIGTERM"
	wait "$PC_GW_PID" 2>/dev/null
	mv "$PC_GW_LOG" "$PC_TMP/gateway-$PC_GW_PID.log"
	step "portcullisd stopped (log kept as gateway-$PC_GW_PID.log)"
	PC_GW_PID=""
}

# gateway_counter [KIND] NAME: current value of a counter in the daemon's
# dump ("drop NAME n", "stat NAME n" and "nat NAME n" lines).  KIND (drop,
# stat or nat, also accepted as one word "drop NAME") picks the kind; without
# it drop and stat lines are searched.  Asks the daemon for a dump with
# SIGUSR1 and reads the newest value from its log; a counter missing from
# the dump reads as 0 (once the dump has stopped growing).  portcullisd
# mode only.
gateway_counter() {
	local name=$* kinds=" drop stat " before t v size last=-1
	case $name in
	"drop "* | "stat "* | "nat "*)
		kinds=" ${name%% *} "
		name=${name#* }
		;;
	esac
	gateway_is_daemon || fail "gateway_counter: no counters in GATEWAY=$GATEWAY"
	before=$(wc -l <"$PC_GW_LOG")
	kill -USR1 "$PC_GW_PID" 2>/dev/null || fail "portcullisd is not running"
	for ((t = 0; t < 30; t++)); do
		sleep 0.1
		v=$(tail -n +"$((before + 1))" "$PC_GW_LOG" |
			awk -v n="$name" -v k="$kinds" 'index(k, " " $1 " ") && $2 == n { v = $3 } END { print v }')
		if [[ -n $v ]]; then
			echo "$v"
			return 0
		fi
		# The dump is there (its drop lines) and complete (no growth
		# for 0.1 s): the counter is not in it.
		size=$(wc -c <"$PC_GW_LOG")
		if ((size == last)) && tail -n +"$((before + 1))" "$PC_GW_LOG" | grep -q '^drop '; then
			break
		fi
		last=$size
	done
	echo 0
}

# gateway_nat_counter NAME: a "nat NAME n" counter (0 if absent).
gateway_nat_counter() { gateway_counter nat "$1"; }

# gateway_other_vlan: frames of a VLAN the gateway does not use, as it
# counts them: dropped as wrong_vlan, or, with AF_XDP steering, left to the
# kernel (xdp_to_host, which counts the host's other frames too).
gateway_other_vlan() {
	if [[ $GW_PMD == net_af_xdp ]]; then
		gateway_counter stat xdp_to_host
	else
		gateway_counter drop wrong_vlan
	fi
}

# gateway_alive: fail if the daemon died (call between steps for a clear error).
gateway_alive() {
	gateway_is_daemon || return 0
	kill -0 "$PC_GW_PID" 2>/dev/null || fail "portcullisd died"
}

# ---------------------------------------------------------------- traffic checks

# ping_ok SHORT DEST [COUNT=3] [DEADLINE=15]: COUNT replies within DEADLINE
# seconds (ping keeps sending until then, so a first packet lost to ARP or a
# handshake in progress does not fail the check).
ping_ok() {
	local n=$1 dst=$2 count=${3:-3} dl=${4:-15} out
	if ! out=$(nsx "$n" ping -n -q -i 0.2 -c "$count" -w "$dl" "$dst" 2>&1); then
		gateway_alive
		fail "ping $(ns "$n") -> $dst: $(echo "$out" | grep -E 'transmitted|rror' | head -n 2 | tr '\n' ' ')"
	fi
	step "ping $n -> $dst ok"
}

# ping_stats < PING_OUTPUT: "<transmitted> <received>" ("0 0" if none).
ping_stats() {
	awk '/packets transmitted/ { print $1, $4; f = 1 } END { if (!f) print 0, 0 }'
}

# The transfer helper: "serve ADDR PORT SIZE TIMEOUT" accepts one connection,
# reads to EOF, then sends SIZE random bytes; "send ADDR PORT SIZE TIMEOUT
# [SECONDS]" connects, sends SIZE random bytes (spread over SECONDS if given),
# half-closes and reads to EOF.  Both print "rx <sha256> <bytes>" and
# "tx <sha256> <bytes>"; the shell compares the two ends.
PC_XFER_PY='
import hashlib, os, socket, sys, time
mode, addr, port, size, tmo = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
pace = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
CH = 65536
def send(c):
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    while n < size:
        d = os.urandom(min(CH, size - n))
        c.sendall(d); h.update(d); n += len(d)
        if pace:
            ahead = t0 + pace * n / size - time.monotonic()
            if ahead > 0: time.sleep(ahead)
    print("tx", h.hexdigest(), n, flush=True)
def recv(c):
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(CH)
        if not d: break
        h.update(d); n += len(d)
    print("rx", h.hexdigest(), n, flush=True)
if mode == "serve":
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1); s.settimeout(tmo)
    print("listening", flush=True)
    c, _ = s.accept(); c.settimeout(tmo)
    recv(c); send(c); c.close()
else:
    deadline = time.monotonic() + tmo
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=5); break
        except OSError:
            if time.monotonic() > deadline: raise
            time.sleep(0.5)
    c.settimeout(tmo)
    send(c); c.shutdown(socket.SHUT_WR); recv(c); c.close()
'

# service_check PROTO SERVER_SHORT BIND_ADDR:PORT CLIENT_SHORT ADDR:PORT: a
# one-shot listener (tcp or udp, an SSH-like line exchange) in SERVER_SHORT
# answers a line from CLIENT_SHORT, which connects to ADDR:PORT (the same
# address, or a forward's external one).  Checks which side a shared
# address's traffic reaches (the host's kernel or, through the gateway, a
# private host).
service_check() {
	local proto=$1 sns=$2 bind=$3 cns=$4 to=$5 so=$PC_TMP/listener.$RANDOM out t
	: >"$so"
	nsx "$sns" timeout 30 "$PC_PYTHON" -c '
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    line = c.makefile().readline()
    c.sendall(b"SSH-2.0-host " + line.encode()); c.close()
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("listening", flush=True)
    data, peer = s.recvfrom(100)
    s.sendto(b"host " + data, peer)' "$proto" "${bind%:*}" "${bind##*:}" >"$so" 2>&1 &
	for ((t = 0; t < 50; t++)); do
		grep -q listening "$so" && break
		sleep 0.1
	done
	grep -q listening "$so" || fail "listener in $(ns "$sns") did not start: $(cat "$so")"
	out=$(nsx "$cns" timeout 20 "$PC_PYTHON" -c '
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if proto == "tcp":
    c = socket.create_connection((addr, port), timeout=15)
    c.sendall(b"hello\n")
    print(c.makefile().readline().strip())
else:
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(1)
    for _ in range(10):
        c.sendto(b"hello", (addr, port))
        try:
            print(c.recv(100).decode()); break
        except socket.timeout:
            pass' "$proto" "${to%:*}" "${to##*:}" 2>&1) || fail "$proto $cns -> $to: $out"
	case $out in
	"SSH-2.0-host hello" | "host hello") step "$proto $cns -> $to reaches $sns ok" ;;
	*) fail "$proto $cns -> $to answered '$out'" ;;
	esac
}

# tcp_check SERVER_SHORT SERVER_ADDR CLIENT_SHORT [MIB=8] [SECONDS]: one TCP
# connection carrying MIB MiB of random data each way, verified by sha256.
# SECONDS spreads the client's half over that time (traffic during roaming).
tcp_check() {
	local sn=$1 sa=$2 cn=$3 mib=${4:-8} pace=${5:-} port=5201 size t so co
	size=$((mib * 1048576))
	so=$PC_TMP/xfer-server.$RANDOM
	co=$PC_TMP/xfer-client.$RANDOM
	: >"$so"   # exists before the server starts, so the wait below can read it
	nsx "$sn" timeout 120 "$PC_PYTHON" -c "$PC_XFER_PY" serve "$sa" "$port" "$size" 60 >"$so" 2>&1 &
	local spid=$!
	for ((t = 0; t < 50; t++)); do
		grep -q listening "$so" && break
		sleep 0.1
	done
	grep -q listening "$so" || fail "transfer server in $(ns "$sn") did not start: $(cat "$so")"
	if ! fgwait nsx "$cn" timeout 120 "$PC_PYTHON" -c "$PC_XFER_PY" send "$sa" "$port" "$size" 60 ${pace:+"$pace"} >"$co" 2>&1; then
		gateway_alive
		fail "TCP transfer $cn -> $sa failed: $(tail -n 1 "$co")"
	fi
	wait "$spid" || fail "TCP transfer server in $(ns "$sn") failed: $(tail -n 1 "$so")"
	local ctx crx stx srx
	ctx=$(awk '$1 == "tx" { print $2, $3 }' "$co")
	crx=$(awk '$1 == "rx" { print $2, $3 }' "$co")
	stx=$(awk '$1 == "tx" { print $2, $3 }' "$so")
	srx=$(awk '$1 == "rx" { print $2, $3 }' "$so")
	[[ -n $ctx && $ctx == "$srx" ]] || fail "TCP $cn -> $sa: data differs (sent '$ctx', received '$srx')"
	[[ -n $stx && $stx == "$crx" ]] || fail "TCP $sa -> $cn: data differs (sent '$stx', received '$crx')"
	[[ ${ctx#* } == "$size" && ${stx#* } == "$size" ]] || fail "TCP transfer: short ($ctx / $stx)"
	step "TCP $cn <-> $sn ($sa): ${mib} MiB each way, sha256 ok"
}

# capture_start SHORT IFSUFFIX FILTER...: tcpdump text output into
# $PC_TMP/capture.txt; returns once tcpdump is listening.  The shell opens
# the file, so tcpdump's privilege drop cannot get in the way.
capture_start() {
	local n=$1 i t
	i=$(ifn "$2")
	shift 2
	PC_CAP=$PC_TMP/capture.txt
	: >"$PC_CAP.err"   # before tcpdump starts, so the polling never races it
	ip netns exec "$(ns "$n")" tcpdump -i "$i" -n -l -p "$@" >"$PC_CAP" 2>"$PC_CAP.err" &
	PC_CAP_PID=$!
	for ((t = 0; t < 50; t++)); do
		grep -q 'listening on' "$PC_CAP.err" && return 0
		sleep 0.1
	done
	fail "tcpdump in $(ns "$n") did not start: $(cat "$PC_CAP.err")"
}

# capture_stop: stop tcpdump and let it flush; the text stays in $PC_CAP.
capture_stop() {
	kill -INT "$PC_CAP_PID" 2>/dev/null || true
	wait "$PC_CAP_PID" 2>/dev/null || true
}
