#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Our protocol core against a real peer: handshake_probe (noise.c, cookie.c,
# transport.c, no DPDK) and wireguard-go talk over 127.0.0.1 inside a
# private network namespace.
#
#   1. probe initiates: handshake, then an encrypted ICMP echo request
#      10.99.0.2 -> 10.99.0.1 that wireguard-go's kernel stack answers; the
#      probe must decrypt the reply (wireguard-go only sends with the new
#      keypair after our data confirmed it).
#   2. wireguard-go initiates (ping 10.99.0.2 inside the namespace): the
#      probe responds, confirms the key on the first data and answers the
#      pings; ping must succeed.
#   3. as 2, but the probe answers the first initiation with a cookie reply
#      (as under load) and requires MAC2 on the retry (~5 s REKEY_TIMEOUT).
#
# After each, `wg show latest-handshakes` must be non-zero.
# usage: test_handshake_wggo.sh [path/to/handshake_probe]   (root; exit 77 = skip)
set -euo pipefail

PROBE=${1:-${HANDSHAKE_PROBE:-$(dirname "$0")/../../build/tests/interop/handshake_probe}}
NS="pcprobe-$$"
IFACE="pcprobe$(( $$ % 100000000 ))"       # <= 15 characters
SOCK="/var/run/wireguard/$IFACE.sock"
WG_PORT=51820
PROBE_PORT=51821
WORK=""
WGGO_PID=""
PROBE_PID=""

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*" >&2
	[[ -n $WORK && -s $WORK/wggo.log ]] && sed 's/^/  wireguard-go: /' "$WORK/wggo.log" >&2
	exit 1
}
step() { echo "== $*"; }

[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, tun)"
for tool in wireguard-go wg ip ping; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done
[[ -x $PROBE ]] || skip "probe binary not found: $PROBE"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun missing"

cleanup() {
	local rc=$?
	[[ -n $PROBE_PID ]] && kill "$PROBE_PID" 2>/dev/null && wait "$PROBE_PID" 2>/dev/null
	if [[ -n $WGGO_PID ]]; then
		kill "$WGGO_PID" 2>/dev/null || true
		wait "$WGGO_PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -f "$SOCK"
	[[ -n $WORK ]] && rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { ip netns exec "$NS" "$@"; }

WORK=$(mktemp -d /tmp/pcprobe.XXXXXX)
umask 077
wg genkey >"$WORK/wg.key"
wg genkey >"$WORK/probe.key"
WG_PUB=$(wg pubkey <"$WORK/wg.key")
PROBE_PUB=$(wg pubkey <"$WORK/probe.key")

step "namespace $NS, wireguard-go interface $IFACE"
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IFACE" >"$WORK/wggo.log" 2>&1 &
WGGO_PID=$!
for _ in $(seq 50); do
	[[ -S $SOCK ]] && break
	kill -0 "$WGGO_PID" 2>/dev/null || fail "wireguard-go exited at start-up"
	sleep 0.1
done
[[ -S $SOCK ]] || fail "wireguard-go did not create $SOCK"
in_ns wg set "$IFACE" private-key "$WORK/wg.key" listen-port "$WG_PORT"
ip -n "$NS" addr add 10.99.0.1/24 dev "$IFACE"
ip -n "$NS" link set "$IFACE" up

latest_handshake() {
	in_ns wg show "$IFACE" latest-handshakes | awk -v k="$PROBE_PUB" '$1 == k { print $2 }'
}

# A fresh peer entry: removing it drops wireguard-go's keypairs, so each
# case starts with a handshake.
reset_peer() {
	in_ns wg set "$IFACE" peer "$PROBE_PUB" remove
	in_ns wg set "$IFACE" peer "$PROBE_PUB" allowed-ips 10.99.0.2/32 "$@"
	[[ $(latest_handshake) == 0 ]] || fail "peer not reset"
}

check_handshake() {
	local hs
	hs=$(latest_handshake)
	[[ -n $hs && $hs -gt 0 ]] || fail "$1: wg show latest-handshakes is '${hs:-none}'"
	echo "   wg show: latest handshake at $hs"
}

step "1. probe initiates to wireguard-go"
reset_peer
in_ns "$PROBE" initiate --key "$WORK/probe.key" --peer "$WG_PUB" \
	--port "$WG_PORT" --timeout 15 || fail "probe as initiator"
check_handshake "probe as initiator"
rx=$(in_ns wg show "$IFACE" transfer | awk '{ print $2 }')
[[ $rx -gt 0 ]] || fail "wireguard-go received no data from the probe"

# Start the responder probe, wait until it is bound, ping through it.
respond_case() {
	local name=$1 pings=$2 deadline=$3
	shift 3
	reset_peer endpoint "127.0.0.1:$PROBE_PORT"
	in_ns "$PROBE" respond --key "$WORK/probe.key" --peer "$WG_PUB" \
		--listen "$PROBE_PORT" --count "$pings" --timeout $((deadline + 5)) \
		"$@" >"$WORK/probe.log" 2>&1 &
	PROBE_PID=$!
	for _ in $(seq 50); do
		grep -q "bound to" "$WORK/probe.log" && break
		sleep 0.1
	done
	in_ns ping -c "$pings" -i 0.5 -w "$deadline" 10.99.0.2 >"$WORK/ping.log" ||
		{ cat "$WORK/probe.log" "$WORK/ping.log"; fail "$name: ping through the probe"; }
	wait "$PROBE_PID" || { cat "$WORK/probe.log"; fail "$name: probe exited non-zero"; }
	PROBE_PID=""
	cat "$WORK/probe.log"
	tail -n 2 "$WORK/ping.log"
	check_handshake "$name"
}

step "2. wireguard-go initiates, probe responds"
respond_case "probe as responder" 3 10

step "3. probe responds under load: cookie reply, then MAC2 required"
respond_case "probe with cookie" 1 20 --cookie

echo "PASS: handshake interop with wireguard-go (initiator, responder, cookie)"
