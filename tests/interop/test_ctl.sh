#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The gateway CLI socket (/var/run/portcullis/<ifname>.sock, protocol in
# control/ctl_proto.h), spoken raw, after tunnel and NAT traffic (the
# portcullisctl client has its own output tests):
#   1. the socket is 0600 root:root without [Control] in a 0755 directory;
#   2. every read-only command's JSON shape and values: ports (both ports,
#      addresses, routes, link, NIC counters that moved), neighbours (the
#      private host and the public next hop, resolved), allowed-ips (the
#      road warrior's prefix, key and endpoint; the peer= filter),
#      nat-sessions (a held TCP connection established, the UDP and ICMP
#      sessions, a forward's; each filter; limit and truncated), nat-count,
#      forwards, counters (every drop reason, the lcores, total), metrics;
#   3. malformed requests get one-line errors and the connection stays
#      usable; unknown commands and arguments are refused;
#   4. nat-flush removes what it matches and nothing else, and traffic
#      makes new sessions afterwards;
#   5. forward-add opens a port (traffic gets through), forward-remove
#      closes it, bad or duplicate forwards are refused; reload undoes a
#      runtime forward and refuses a broken file, changing nothing;
#   6. a client that connects and sends nothing, or sends one byte every
#      200 ms, does not hold up another client; an oversized request
#      closes only its own connection;
#   7. no reply ever carries a private key;
#   8. with [Control] Group the socket is 0660 root:GROUP.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat_lib.sh"
pc_init test_ctl
gateway_is_daemon || pc_skip "daemon only: the CLI socket is portcullisd's"

EXT=203.0.113.1
PUB1=${INET_ADDRS[0]}
RW_TUN=10.10.0.2

CTL_PY='
import json, os, socket, sys, time
sock, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
log = open(os.environ["CTL_LOG"], "a")

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    return s

def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1 << 20)
        if not d:
            raise SystemExit("connection closed after %r" % buf[-80:])
        buf += d
    text = buf.decode()
    log.write(text)
    assert text.count("\n") == 1, "more than one line: %r" % text[:200]
    return text

def ask_raw(data, s=None):
    own = s is None
    s = s or conn()
    s.sendall(data)
    r = json.loads(line(s))
    if own:
        s.close()
    return r

def request(c, kv):
    return ("cmd=%s\n" % c + "".join(a + "\n" for a in kv) + "\n").encode()

def ask(c, kv=()):
    return ask_raw(request(c, kv))

def env(k):
    return os.environ[k]

def check(cond, what, r):
    if not cond:
        raise SystemExit("%s: %s" % (what, json.dumps(r)[:1500]))

if cmd == "ask":
    print(json.dumps(ask(args[0], args[1:])))
elif cmd == "expect":
    # expect CMD [k=v...] -- EXPR (r: the reply)
    i = args.index("--")
    r = ask(args[0], args[1:i])
    check(eval("(" + args[i + 1] + ")", {"r": r, "env": env}), "%s %s" % (args[0], args[i + 1]), r)
    print("%s %s: ok" % (args[0], " ".join(args[1:i])))
elif cmd == "shape":
    EXT, PUB1, RW_KEY = env("EXT"), env("PUB1"), env("RW_KEY")
    r = ask("ports")
    check(sorted(r) == ["ports"] and [p["name"] for p in r["ports"]] == ["public", "private"], "ports", r)
    for p in r["ports"]:
        keys = ["name", "device", "driver", "xdp_steering", "dpdk_port", "mac", "mtu", "vlan", "link",
                "addresses", "routes", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                "rx_dropped", "rx_errors", "tx_errors"]
        check(list(p) == keys, "port keys", p)
        check(p["driver"] == "net_af_packet" and "iface=" in p["device"], "driver", p)
        check(p["xdp_steering"] is None, "no XDP steering on af_packet", p)
        check(len(p["mac"]) == 17 and p["mac"].count(":") == 5, "mac", p)
        check(sorted(p["link"]) == ["full_duplex", "speed_mbps", "up"] and p["link"]["up"] is True, "link", p)
        check(p["rx_packets"] > 0 and p["tx_packets"] > 0 and p["rx_bytes"] > p["rx_packets"], "nic counters", p)
        for rt in p["routes"]:
            check(sorted(rt) == ["dst", "via"], "route", p)
    pub, priv = r["ports"]
    check(pub["addresses"] == [EXT + "/24"] and priv["addresses"] == ["10.0.0.1/24"], "addresses", r)
    check({"dst": "0.0.0.0/0", "via": PUB1} in pub["routes"], "default route", pub)
    check(pub["mtu"] == 1500 and pub["vlan"] == 0, "mtu", pub)

    r = ask("neighbours")
    ns = {(n["port"], n["ip"]): n for n in r["neighbours"]}
    for k in [("private", "10.0.0.2"), ("public", PUB1)]:
        check(k in ns and ns[k]["state"] == "reachable" and len(ns[k]["mac"]) == 17, "neighbour %s" % (k,), r)
    for n in r["neighbours"]:
        check(list(n) == ["port", "ip", "mac", "state", "held"], "neighbour keys", n)
        check((n["mac"] is None) == (n["state"] == "incomplete"), "incomplete", n)

    r = ask("allowed-ips")
    check(r["allowed_ips"] and all(list(a) == ["prefix", "peer", "endpoint"] for a in r["allowed_ips"]), "aip keys", r)
    rw = [a for a in r["allowed_ips"] if a["peer"] == RW_KEY]
    check([a["prefix"] for a in rw] == [env("RW_TUN") + "/32"], "rw prefix", r)
    check(rw[0]["endpoint"].startswith("203.0.113.2:"), "rw endpoint", r)
    r2 = ask("allowed-ips", ["peer=" + RW_KEY])
    check(r2["allowed_ips"] == rw, "peer filter", r2)

    r = ask("nat-count")
    check(list(r) == ["enabled", "sessions", "max_sessions"] and r["enabled"] is True, "nat-count", r)
    check(r["sessions"] >= 4 and r["max_sessions"] == 1000000, "nat-count values", r)

    r = ask("counters")
    # No "xdp" without AF_XDP steering, no host_*_tap without a TAP.
    check(sorted(r) == ["lcores", "total"], "counters", r)
    roles = [(l["role"]) for l in r["lcores"]]
    check(roles[0] == "control" and roles[1:] and set(roles[1:]) == {"worker"}, "roles", r)
    keys = ["ports", "decap_packets", "encap_packets", "keepalives_rx", "handshakes_rx",
            "handshakes_tx", "icmp_tx", "drops"]
    t = r["total"]
    check(list(t) == keys and sorted(t["ports"]) == ["private", "public"], "counter keys", t)
    check(list(t["ports"]["public"]) == ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"], "port counters", t)
    for d in ["malformed", "wg_replay", "nat_no_session", "nat_table_full", "policy_denied"]:
        check(d in t["drops"], "drop " + d, t)
    check(len(t["drops"]) == int(env("N_DROPS")), "every drop reason (%s)" % env("N_DROPS"), t)
    for l in r["lcores"]:
        check(list(l["counters"]) == keys and list(l["counters"]["drops"]) == list(t["drops"]), "lcore keys", l)
    check(t["decap_packets"] > 0 and t["encap_packets"] > 0 and t["handshakes_rx"] > 0, "tunnel counters", t)
    # The total is read first: never more than the lcores read after it.
    for k in ["decap_packets", "encap_packets", "handshakes_rx"]:
        check(t[k] <= sum(l["counters"][k] for l in r["lcores"]), "total " + k, r)

    r = ask("metrics")
    check(list(r) == ["metrics"] and "# HELP portcullis_" in r["metrics"] and
          "portcullis_build_info" in r["metrics"] and r["metrics"].endswith("\n"), "metrics", r)
    print("ports, neighbours, allowed-ips, nat-count, counters (%d lcores, %d drop reasons), metrics (%d bytes): ok"
          % (len(roles), len(t["drops"]), len(r["metrics"])))
elif cmd == "errors":
    cases = [
        (b"\n", "empty request (want cmd=NAME)"),
        (b"proto=tcp\ncmd=ports\n\n", "line 1: the first line must be cmd=NAME"),
        (b"cmd=ports\nProto=tcp\n\n", "line 2: bad key \x27Proto\x27 (want [a-z0-9_-], 1 to 31 characters)"),
        (b"cmd=nat-sessions\nproto=tcp\nproto=udp\n\n", "line 3: duplicate key \x27proto\x27"),
        (b"cmd=ports\nx\n\n", "line 2: expected key=value, got \x27x\x27"),
        (b"cmd=ports\nk=a\x01b\n\n", "line 2: non-printable byte in the value of \x27k\x27"),
        (b"cmd=x\n" + b"".join(b"a%d=1\n" % i for i in range(17)) + b"\n", "line 18: too many arguments (at most 16)"),
        (b"cmd=frobnicate\n\n", "unknown command \x27frobnicate\x27"),
        (b"cmd=ports\nproto=tcp\n\n", "ports takes no argument \x27proto\x27"),
        (b"cmd=nat-sessions\nproto=sctp\n\n", "bad proto \x27sctp\x27 (want tcp, udp or icmp)"),
        (b"cmd=nat-sessions\ninside=10.0.0.2:x\n\n", "bad inside \x2710.0.0.2:x\x27 (want an IPv4 ADDR or ADDR:PORT)"),
        (b"cmd=nat-flush\nremote=fd00::1\n\n", "bad remote \x27fd00::1\x27 (want an IPv4 ADDR or ADDR:PORT)"),
        (b"cmd=nat-sessions\nlimit=-1\n\n", "bad limit \x27-1\x27 (want a number, 0 for all)"),
        (b"cmd=allowed-ips\npeer=nokey\n\n", "bad peer \x27nokey\x27 (want a base64 public key)"),
        (b"cmd=allowed-ips\npeer=" + b"A" * 43 + b"=\n\n", "no peer " + "A" * 43 + "="),
        (b"cmd=forward-add\nproto=tcp\nexternal=4444\n\n", "forward-add needs proto=, external= and to="),
        (b"cmd=forward-remove\nproto=tcp\n\n", "forward-remove needs proto=, external="),
    ]
    s = conn()
    for i, (req, want) in enumerate(cases):
        r = ask_raw(req, s)                # one connection for all of them
        check(r == {"error": want}, "error case %d %r: want %r" % (i, req[:40], want), r)
    r = ask_raw(b"cmd=nat-count\r\n\r\n", s)
    check(r.get("enabled") is True, "after the errors, on the same connection", r)
    print("%d malformed or refused requests answered with their error; the connection still works" % len(cases))
elif cmd == "idle":
    s = conn()
    time.sleep(float(args[0]))
    s.close()
elif cmd == "slow":
    s = conn()
    for ch in b"cmd=ports\n":
        s.send(bytes([ch]))
        time.sleep(0.2)
    s.close()
elif cmd == "timed":
    # timed CMD: how long one request takes, in ms
    t0 = time.monotonic()
    r = ask(args[0])
    check("error" not in r, "timed", r)
    print(int((time.monotonic() - t0) * 1000))
elif cmd == "big":
    s = conn()
    try:
        s.sendall(b"cmd=ports\nk=" + b"x" * (256 << 10))
        d = s.recv(1)
        print("big: connection closed" if d == b"" else "big: got %r" % d)
    except OSError as e:
        print("big: connection closed (%s)" % e.__class__.__name__)
'
export CTL_LOG=$PC_TMP/ctl-replies.log
: >"$CTL_LOG"

# ctl ARGS...: the helper above on the gateway's socket.
ctl() { timeout 30 "$PC_PYTHON" -c "$CTL_PY" "$SOCK" "$@"; }

# ctl_expect CMD [k=v...] -- EXPR: a request whose reply r makes EXPR true.
ctl_expect() {
	local out
	out=$(ctl expect "$@" 2>&1) || { gateway_alive; fail "$out"; }
	step "$out"
}

# ctl_error CMD [k=v...] WANT: a request refused with exactly WANT.
ctl_error() {
	local want=${*: -1} out
	out=$(ctl ask "${@:1:$#-1}" 2>&1) || { gateway_alive; fail "$out"; }
	[[ $out == "{\"error\": \"$want\"}" ]] || fail "$1: want error '$want', got $out"
	step "$1 refused: $want"
}

# socket_mode WANT_MODE WANT_GROUP
socket_mode() {
	local mode group
	mode=$(stat -c %a "$SOCK") group=$(stat -c %G "$SOCK")
	[[ $mode == "$1" && $group == "$2" && $(stat -c %U "$SOCK") == root ]] ||
		fail "socket $SOCK is $mode $(stat -c %U:%G "$SOCK"), want $1 root:$2"
	[[ $(stat -c %a "$(dirname "$SOCK")") == 755 ]] ||
		fail "directory mode $(stat -c %a "$(dirname "$SOCK")"), want 755"
	step "socket $mode root:$2 in a 0755 directory"
}

# ------------------------------------------------------------------ setup

topo_internet
peer_add rw 203.0.113.2/24 "$RW_TUN/32"
gateway_peer rw "$RW_TUN/32"
gateway_nat "Masquerade = 10.0.0.0/16, 10.10.0.0/24" \
	"Forward = tcp 2222 -> 10.0.0.2:8022"
gateway_start
peer_to_gw rw 0.0.0.0/0 "$GW_EP4" 25
ip -n "$(ns rw)" route add "$PUB1/32" dev "$(ifn rw)"
wait_handshake rw
SOCK=/var/run/portcullis/$(ifn gw).sock
[[ -S $SOCK ]] || fail "no CLI socket at $SOCK"
export EXT PUB1 RW_TUN RW_KEY
RW_KEY=$(key_pub rw)
# Every reason in dataplane/datapath.h's DP_DROP_REASONS list.
N_DROPS=$(sed -n '/define DP_DROP_REASONS/,/^$/p' "$PC_ROOT/dataplane/datapath.h" | grep -c 'X(')
export N_DROPS

svc_start pub inet "tcp:$PUB1:7000" "udp:$PUB1:7000"
svc_start priv host tcp:10.0.0.2:8022 tcp:10.0.0.2:8033

step "traffic: tunnel, NAT out, a forward in, and one TCP connection held open"
ping_ok rw 10.0.0.2 3
ping_ok host "$PUB1" 2
natpy host client tcp "$PUB1:7000" 16 >/dev/null || fail "TCP through the NAT"
natpy host client udp "$PUB1:7000" >/dev/null || fail "UDP through the NAT"
natpy inet client tcp "$EXT:2222" 16 >/dev/null || fail "TCP through the forward"
nsx host timeout 120 "$PC_PYTHON" -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7000), timeout=5)
s.sendall(b"hold"); s.recv(4)
print("held", s.getsockname()[1], flush=True)
time.sleep(110)' "$PUB1" >"$PC_TMP/hold.log" 2>&1 &
for ((t = 0; t < 50; t++)); do grep -q '^held' "$PC_TMP/hold.log" && break; sleep 0.1; done
HOLD_PORT=$(awk '$1 == "held" { print $2 }' "$PC_TMP/hold.log")
[[ -n $HOLD_PORT ]] || fail "could not hold a TCP connection open: $(cat "$PC_TMP/hold.log")"

# ------------------------------------------------------------------ 1
step "1. socket permissions without [Control]"
socket_mode 600 root

# ------------------------------------------------------------------ 2
step "2. the read-only commands"
out=$(ctl shape 2>&1) || { gateway_alive; fail "$out"; }
step "$out"
ctl_expect nat-sessions proto=tcp "inside=10.0.0.2:$HOLD_PORT" -- \
	'r["matched"] == 1 and not r["truncated"] and r["sessions"][0]["state"] == "established" and
	 r["sessions"][0]["remote"] == env("PUB1") + ":7000" and r["sessions"][0]["external"].startswith(env("EXT") + ":") and
	 7300 < r["sessions"][0]["expires_in_s"] <= 7441 and r["sessions"][0]["forward"] is False and
	 list(r["sessions"][0]) == ["proto", "inside", "external", "remote", "state", "expires_in_s", "forward"]'
ctl_expect nat-sessions proto=udp "remote=$PUB1:7000" -- \
	'r["matched"] >= 1 and all(s["proto"] == "udp" and s["state"] == "open" and s["inside"].startswith("10.0.0.2:")
	 and 0 < s["expires_in_s"] <= 301 for s in r["sessions"])'
ctl_expect nat-sessions proto=icmp -- \
	'r["matched"] >= 1 and all(s["remote"].endswith(":0") and s["state"] == "open" and s["expires_in_s"] <= 61
	 for s in r["sessions"])'
ctl_expect nat-sessions "external=$EXT:2222" -- \
	'r["matched"] >= 1 and all(s["forward"] and s["inside"] == "10.0.0.2:8022" and s["remote"].startswith(env("PUB1") + ":")
	 for s in r["sessions"])'
ctl_expect nat-sessions "inside=$RW_TUN" -- \
	'r["matched"] == 0 and r["sessions"] == [] and not r["truncated"]'
ctl_expect nat-sessions limit=1 -- \
	'len(r["sessions"]) == 1 and r["matched"] >= 4 and r["truncated"] is True'
ctl_expect nat-sessions limit=0 -- \
	'len(r["sessions"]) == r["matched"] >= 4 and r["truncated"] is False'
ctl_expect forwards -- \
	'r == {"forwards": [{"proto": "tcp", "external": env("EXT") + ":2222", "to": "10.0.0.2:8022"}]}'

# ------------------------------------------------------------------ 3
step "3. malformed requests"
out=$(ctl errors 2>&1) || { gateway_alive; fail "$out"; }
step "$out"

# ------------------------------------------------------------------ 4
step "4. nat-flush"
natpy rw client tcp "$PUB1:7000" 4 >/dev/null || fail "TCP from the road warrior"
ctl_expect nat-sessions "inside=$RW_TUN" -- 'r["matched"] >= 1'
before=$(ctl ask nat-count | "$PC_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["sessions"])')
ctl_expect nat-flush "inside=$RW_TUN" -- 'r["flushed"] >= 1 and list(r) == ["flushed"]'
ctl_expect nat-sessions "inside=$RW_TUN" -- 'r["matched"] == 0'
ctl_expect nat-sessions proto=tcp "inside=10.0.0.2:$HOLD_PORT" -- \
	'r["matched"] == 1 and r["sessions"][0]["state"] == "established"'
ctl_expect nat-count -- "r['sessions'] < $before"
ctl_expect nat-flush proto=udp "remote=198.51.100.99" -- 'r == {"flushed": 0}'
natpy rw client tcp "$PUB1:7000" 4 >/dev/null || fail "TCP from the road warrior after its sessions were flushed"
ctl_expect nat-sessions "inside=$RW_TUN" proto=tcp -- 'r["matched"] >= 1'

# ------------------------------------------------------------------ 5
step "5. runtime forwards and reload"
out=$(natpy inet probe 2 "tcp:$EXT:3333" 2>&1) || fail "probe: $out"
[[ $out == "tcp:$EXT:3333 "* && $out != *open ]] || fail "tcp $EXT:3333 open before forward-add: $out"
ctl_expect forward-add proto=tcp external=3333 to=10.0.0.2:8033 -- 'r == {"ok": True}'
ctl_expect forwards -- \
	'{"proto": "tcp", "external": env("EXT") + ":3333", "to": "10.0.0.2:8033"} in r["forwards"] and len(r["forwards"]) == 2'
natpy inet client tcp "$EXT:3333" 8 >/dev/null || { gateway_alive; fail "TCP through the runtime forward"; }
svc_log priv | grep -q "^tcp 10.0.0.2:8033 <- $PUB1:" || fail "the runtime forward did not reach 10.0.0.2:8033"
step "tcp $EXT:3333 -> 10.0.0.2:8033 carries traffic"
ctl_error forward-add proto=tcp external=3333 to=10.0.0.2:8034 "duplicate Forward tcp 3333 (first at runtime)"
fwd_line=$(grep -n '^Forward = tcp 2222' "$PC_TMP/gateway.conf" | cut -d: -f1)
ctl_error forward-add proto=tcp "external=$EXT:2222" to=10.0.0.2:8034 \
	"duplicate Forward tcp $EXT:2222 (first at line $fwd_line; a Forward without an address uses $EXT)"
ctl_error forward-add proto=udp external=51820 to=10.0.0.2:1 \
	"Forward udp $EXT:51820 clashes with ListenPort 51820 (WireGuard receives that port)"
ctl_error forward-add proto=tcp external=3334 to=10.0.0.2 \
	"bad Forward 'tcp 3334 -> 10.0.0.2' (the inside end needs address:port)"
ctl_error forward-remove proto=udp external=3333 "no Forward udp $EXT:3333"
ctl_expect forward-remove proto=tcp "external=$EXT:3333" -- 'r == {"ok": True}'
ctl_expect nat-sessions "external=$EXT:3333" -- 'r["matched"] == 0'
out=$(natpy inet probe 2 "tcp:$EXT:3333" 2>&1) || fail "probe: $out"
[[ $out != *open ]] || fail "tcp $EXT:3333 still open after forward-remove: $out"
step "after forward-remove: $out"
ctl_expect forward-add proto=udp external=3335 to=10.0.0.2:8035 -- 'r == {"ok": True}'
ctl_expect reload -- \
	'r == {"reloaded": True, "peers_added": 0, "peers_removed": 0, "peers_updated": 0, "peers_unchanged": 1}'
ctl_expect forwards -- 'len(r["forwards"]) == 1 and r["forwards"][0]["external"] == env("EXT") + ":2222"'
conf=$PC_TMP/gateway.conf
cp -p "$conf" "$conf.good"
echo "Bogus = 1" >>"$conf"
lines=$(wc -l <"$conf")
ctl_error reload "$conf:$lines: unknown key 'Bogus' in [Peer]"
mv "$conf.good" "$conf"
ping_ok rw 10.0.0.2 2
ctl_expect allowed-ips -- '[a["prefix"] for a in r["allowed_ips"]] == [env("RW_TUN") + "/32"]'

# ------------------------------------------------------------------ 6
step "6. slow and idle clients do not hold up others"
ctl idle 6 &
idle=$!
ctl slow >/dev/null &
slow=$!
sleep 0.5
for c in ports counters nat-sessions; do
	ms=$(ctl timed "$c") || fail "$c beside the slow clients: $ms"
	step "$c took $ms ms beside an idle and a slow client"
	((ms < 1000)) || fail "$c took $ms ms: a slow client blocked the CLI socket"
done
wait "$idle" "$slow" || true
out=$(ctl big 2>&1) || fail "big request: $out"
step "$out"
[[ $out == "big: connection closed"* ]] || fail "an oversized request was not refused: $out"
ctl_expect nat-count -- 'r["enabled"] is True'

# ------------------------------------------------------------------ 7
step "7. no private key in any reply"
for k in gw rw; do
	grep -qF "$(cat "$PC_TMP/$k.key")" "$CTL_LOG" && fail "a reply carried the private key of $k"
done
step "$(wc -l <"$CTL_LOG") replies, no private key in them"
grep -q '^portcullisd: ctl: forward added: tcp 3333 -> 10.0.0.2:8033' "$PC_GW_LOG" ||
	fail "forward-add not logged"

# ------------------------------------------------------------------ 8
step "8. [Control] Group: 0660 root:$(getent group daemon | cut -d: -f1)"
gateway_stop
GW_EXTRA_CONF=$'[Control]\nGroup = daemon'
gateway_start
[[ -S $SOCK ]] || fail "no CLI socket after the restart"
socket_mode 660 daemon
ctl_expect nat-count -- 'r["enabled"] is True'
pc_pass
