#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# AF_XDP mode on a bastion: the public NIC stays with the kernel, which
# has the public address 203.0.113.1 (as a Hetzner server with one IPv4
# has), and our XDP program (dataplane/xdp/steer.bpf.c) hands the gateway
# only WireGuard, NAT return traffic and forwards.  Checked, while a road
# warrior's tunnel and the NAT carry traffic:
#  - a public host reaches an SSH-like TCP service of the host on port 22
#    and pings the host (the kernel answers);
#  - a port the gateway does not own (UDP 5353) reaches the kernel;
#  - the gateway's neighbours on the shared address are resolved by the
#    kernel (the ARP replies go to the kernel, untouched);
#  - with [NAT] on the same address, the private host's connections
#    (PortRange 20000-29999) and the host's own share 203.0.113.1;
#  - the program is detached when the daemon stops; after a SIGKILL it
#    stays, passes everything to the kernel (SSH still works), and the
#    next start removes it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_xdp_steering
gateway_is_daemon || pc_skip "XDP steering is a portcullisd feature"
export GW_PMD=net_af_xdp

PUBHOST=203.0.113.7
topo_gateway
peer_add rw 203.0.113.2/24 10.200.0.2/32
gateway_peer rw 10.200.0.2/32
ns_add pub
pubnet_attach pub e0 "$PUBHOST/24"
PUB_IF=$(ifn pub)
# The host's own address on the NIC the gateway also uses.
addr_add gw pub 203.0.113.1/24

# xdp_attached: is an XDP program on the gateway's public NIC?
xdp_attached() { ip -n "$(ns gw)" -d link show "$PUB_IF" | grep -q 'prog/xdp'; }

# listen_check PROTO PORT: a listener of the host's kernel on
# 203.0.113.1:PORT answers a line from the public host.
listen_check() {
	local proto=$1 port=$2 so=$PC_TMP/listener.$RANDOM out t
	: >"$so"
	nsx gw timeout 30 "$PC_PYTHON" -c '
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
if proto == "tcp":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("203.0.113.1", port)); s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    line = c.makefile().readline()
    c.sendall(b"SSH-2.0-host " + line.encode()); c.close()
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("203.0.113.1", port))
    print("listening", flush=True)
    data, peer = s.recvfrom(100)
    s.sendto(b"host " + data, peer)' "$proto" "$port" >"$so" 2>&1 &
	for ((t = 0; t < 50; t++)); do
		grep -q listening "$so" && break
		sleep 0.1
	done
	grep -q listening "$so" || fail "listener on the host did not start: $(cat "$so")"
	out=$(nsx pub timeout 20 "$PC_PYTHON" -c '
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
if proto == "tcp":
    c = socket.create_connection(("203.0.113.1", port), timeout=15)
    c.sendall(b"hello\n")
    print(c.makefile().readline().strip())
else:
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(1)
    for _ in range(10):
        c.sendto(b"hello", ("203.0.113.1", port))
        try:
            print(c.recv(100).decode()); break
        except socket.timeout:
            pass' "$proto" "$port" 2>&1) || fail "$proto to the host's port $port: $out"
	case $out in
	"SSH-2.0-host hello" | "host hello") step "public host -> host's $proto port $port ok" ;;
	*) fail "the host's $proto port $port answered '$out'" ;;
	esac
}

gateway_start
grep -q "XDP steering on $PUB_IF" "$PC_GW_LOG" || fail "no XDP steering in the start-up log"
grep -q "$PUB_IF: XDP steering: .* 1 shared with the host" "$PC_GW_LOG" ||
	fail "the start-up log does not show one address shared with the host"
xdp_attached || fail "no XDP program on $PUB_IF"
peer_to_gw rw 10.0.0.0/24 "$GW_EP4" 25
wait_handshake rw
ping_ok rw 10.0.0.2 5
tcp_check host 10.0.0.2 rw 2
listen_check tcp 22
ping_ok pub 203.0.113.1 3
listen_check udp 5353
# The gateway reached the road warrior through the kernel's ARP.
nsx gw ip neigh show 203.0.113.2 dev "$PUB_IF" | grep -qE 'lladdr' ||
	fail "the kernel has no neighbour entry for the road warrior"
v=$(gateway_counter stat xdp_to_gateway)
[[ $v -ge 10 ]] || fail "stat xdp_to_gateway is $v, want >= 10"
v=$(gateway_counter stat xdp_to_host)
[[ $v -ge 5 ]] || fail "stat xdp_to_host is $v, want >= 5"
v=$(gateway_counter drop neigh_unresolved)
[[ $v -eq 0 ]] || fail "drop neigh_unresolved is $v"

step "restart with [NAT] on the shared address"
gateway_stop
if xdp_attached; then fail "XDP program left on $PUB_IF after the daemon stopped"; fi
step "XDP program detached on stop"
ns_add inet
pubnet_attach inet e0 203.0.113.50/24
gateway_nat "Masquerade = 10.0.0.0/24" "PortRange = 20000-29999"
gateway_start
# The road warrior still sends with the old daemon's session; wireguard-go
# starts a new handshake 15 s after it stopped hearing back.
ping_ok rw 10.0.0.2 3 30
listen_check tcp 22
tcp_check inet 203.0.113.50 host 2
tcp_check inet 203.0.113.50 gw 1
ping_ok host 203.0.113.50 3
v=$(gateway_nat_counter translated)
[[ $v -ge 1 ]] || fail "nat translated is $v, want >= 1"

step "SIGKILL: the program stays and passes everything to the kernel"
kill -KILL "$PC_GW_PID"
wait "$PC_GW_PID" 2>/dev/null || true
PC_GW_PID=""
xdp_attached || fail "the XDP program went away with the killed daemon (expected to stay)"
listen_check tcp 22
gateway_start
grep -q "$PUB_IF: removed the XDP program an earlier run left attached" "$PC_GW_LOG" ||
	fail "the restart did not remove the leftover program"
ping_ok rw 10.0.0.2 3 30
listen_check tcp 22
gateway_stop
if xdp_attached; then fail "XDP program left on $PUB_IF after the daemon stopped"; fi
pc_pass
