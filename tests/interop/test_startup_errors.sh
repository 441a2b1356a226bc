#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Start-up errors: every bad config or device ends portcullisd with a
# non-zero status and one clear line naming the file and line (or the port
# section), and it never reports "ready".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_startup_errors
gateway_is_daemon || pc_skip "daemon only"

ns_add gw
veth_add gw pub gw priv
key=$(wg genkey)

# write_conf NAME LINES...: a config file (0600 unless the name says 644).
write_conf() {
	local f=$PC_TMP/$1
	shift
	printf '%s\n' "$@" >"$f"
	chmod 600 "$f"
	echo "$f"
}

# expect_error FILE PATTERN: portcullisd must fail and print PATTERN.
expect_error() {
	local out rc=0
	out=$(nsx gw "$PORTCULLISD" -c "$1" -- $PORTCULLISD_EAL 2>&1) || rc=$?
	((rc != 0)) || fail "portcullisd accepted $(basename "$1"); output: $out"
	grep -q 'portcullisd: ready' <<<"$out" && fail "portcullisd said ready for $(basename "$1")"
	grep -qE "$2" <<<"$out" || fail "for $(basename "$1") want /$2/, got: $out"
	step "$(basename "$1"): exit $rc, $(grep -E "$2" <<<"$out" | head -1)"
}

ports=("[Port public]" "Device = net_af_packet0,iface=$(ifn pub)" "Address = 203.0.113.1/24"
	"[Port private]" "Device = net_af_packet1,iface=$(ifn priv)" "Address = 10.0.0.1/24")

expect_error "$(write_conf bad_allowed.conf "[Interface]" "PrivateKey = $key" "${ports[@]}" \
	"[Peer]" "PublicKey = $(wg genkey | wg pubkey)" "AllowedIPs = 10.0.0.0/33")" \
	"bad_allowed.conf:11: .*AllowedIPs.*10\.0\.0\.0/33"
expect_error "$(write_conf unknown_key.conf "[Interface]" "PrivateKey = $key" "Colour = blue")" \
	"unknown_key.conf:3: .*Colour"
expect_error "$(write_conf no_ports.conf "[Interface]" "PrivateKey = $key")" \
	"no_ports.conf: .*\[Port public\]"
expect_error "$(write_conf no_device.conf "[Interface]" "PrivateKey = $key" \
	"[Port public]" "Device = net_af_packet0,iface=$(ifn nosuch)" "Address = 203.0.113.1/24" \
	"${ports[@]:3}")" \
	"no_device.conf:3: \[Port public\]: cannot probe device .net_af_packet0"
# AF_XDP steering keeps the host's traffic with the kernel: full PMD
# mode's exception TAP makes no sense beside it.
expect_error "$(write_conf hostif_xdp.conf "[Interface]" "PrivateKey = $key" \
	"[Port public]" "Device = net_af_xdp0,iface=$(ifn pub)" "Address = 203.0.113.1/24" \
	"HostInterface = $(ifn tap)" "${ports[@]:3}")" \
	"hostif_xdp.conf:3: \[Port public\]: HostInterface is full PMD mode's exception path"
f=$(write_conf open_key.conf "[Interface]" "PrivateKey = $key" "${ports[@]}")
chmod 644 "$f"
expect_error "$f" "open_key.conf: permissions 0?644 are too open"

# The host shares the public address (its own veth carries 203.0.113.1, as
# on a Hetzner server with one IPv4): the NAT's PortRange must stay out of
# the host's ip_local_port_range (per network namespace), or the daemon
# refuses with the change to make; apart, it starts.
addr_add gw pub 203.0.113.1/24
ns_sysctl gw net.ipv4.ip_local_port_range="32768 60999"
nat=("[NAT]" "Masquerade = 10.0.0.0/24")
expect_error "$(write_conf shared_addr.conf "[Interface]" "PrivateKey = $key" "${ports[@]}" "${nat[@]}")" \
	"shared_addr.conf: \[NAT\] PortRange 1024-65535 overlaps the host's ip_local_port_range 32768-60999 \(the host shares 203\.0\.113\.1 on $(ifn pub)\): use PortRange = 1024-32767"
f=$(write_conf shared_apart.conf "[Interface]" "PrivateKey = $key" "${ports[@]}" "${nat[@]}" \
	"PortRange = 1024-32767")
PC_GW_LOG=$PC_TMP/shared_apart.log
: >"$PC_GW_LOG"
daemon_launch "$f" "$(ifn sh)"
for ((t = 0; t < 300; t++)); do
	grep -q 'portcullisd: ready' "$PC_GW_LOG" && break
	kill -0 "$PC_GW_PID" 2>/dev/null || fail "shared_apart.conf: portcullisd exited during start-up"
	sleep 0.1
done
grep -q 'portcullisd: ready' "$PC_GW_LOG" || fail "shared_apart.conf: not ready after 30 s"
# No [Interface] MTU: derived from the public port, and said so.
grep -q 'tunnel mtu 1420 (public port mtu 1500 - 80)' "$PC_GW_LOG" ||
	fail "shared_apart.conf: no derived tunnel mtu in the start-up log"
step "shared_apart.conf: ready with PortRange 1024-32767, $(grep -o 'tunnel mtu [^,]*' "$PC_GW_LOG")"
gateway_stop
pc_pass
