#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The Hetzner sync end to end: portcullisd with a [Hetzner] section polls a
# fake Hetzner Cloud API (tests/interop/hetzner_fake.py, on loopback in the
# gateway's namespace) every second.
#   1. a server labelled with a wireguard-go instance's key (base32, as
#      `portcullisctl hetzner label` prints it) becomes a peer: endpoint
#      its public IPv4, AllowedIPs its private IP and the Network route
#      via it; the instance reaches the private host through the tunnel;
#   2. a second server with a bad key label is left out with a warning
#      naming it; `portcullisctl hetzner status` and `plan` report;
#   3. an API outage (500s, then garbage JSON) keeps the peer and the
#      tunnel; the error shows in the status and the metrics;
#   4. a reload keeps the sync's peer (it is not in the file);
#   5. the label removed: the peer goes at the next round, the tunnel
#      stops; the label back: it returns and the tunnel works again;
#   6. a revoked token (401) stops the loop with a clear error, and the
#      gateway keeps its last state.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pc_init test_hetzner
gateway_is_daemon || pc_skip "daemon only"

HERE=$(cd "$(dirname "$0")" && pwd)
CTL=${PORTCULLISCTL:-$(dirname "$PORTCULLISD")/../tools/portcullisctl/portcullisctl}
[[ -x $CTL ]] || fail "portcullisctl not found at $CTL (set PORTCULLISCTL)"
TOKEN=hz-e2e-token-8c1f2a
STATE=$PC_TMP/api-state.json

topo_gateway
peer_add hz1 203.0.113.2/24 10.200.0.2/32
HZ1=$(key_pub hz1)
LABEL=$("$CTL" hetzner label "$HZ1" | head -n 1 | awk '{ print $NF }')
want=$("$PC_PYTHON" -c 'import base64, sys; print(base64.b32encode(base64.b64decode(sys.argv[1])).rstrip(b"=").lower().decode())' "$HZ1")
[[ $LABEL == *"$want"* ]] || fail "portcullisctl hetzner label printed '$LABEL', want $want"
step "hz1's label: $want"

# state KEYLABEL TOKEN: the fake project (server 42 = hz1, server 43 with a
# bad key), written atomically.
state() {
	"$PC_PYTHON" - "$1" "$2" "$STATE" <<'PY'
import json, os, sys
label, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
def server(sid, name, labels, ipv4, priv):
    return {"id": sid, "name": name, "status": "running", "labels": labels,
            "public_net": {"ipv4": {"id": sid, "ip": ipv4, "blocked": False,
                                    "dns_ptr": "x.example.com"} if ipv4 else None,
                           "ipv6": None, "floating_ips": [], "firewalls": []},
            "private_net": [{"network": 4711, "ip": priv, "alias_ips": [],
                             "mac_address": "86:00:00:00:00:01"}]}
hz1 = {"portcullis/peer": ""}
if label:
    hz1["portcullis/wg-key"] = label
st = {"token": token,
      "servers": [server(42, "hz1", hz1, "203.0.113.2", "10.200.0.2"),
                  server(43, "broken", {"portcullis/peer": "", "portcullis/wg-key": "not-a-key"},
                         "203.0.113.3", "10.200.0.3")],
      "networks": [{"id": 4711, "name": "bastion-net", "ip_range": "10.200.0.0/16",
                    "subnets": [{"type": "cloud", "ip_range": "10.200.0.0/24",
                                 "network_zone": "eu-central", "gateway": "10.200.0.1",
                                 "vswitch_id": None}],
                    "routes": [{"destination": "10.201.0.0/24", "gateway": "10.200.0.2"}],
                    "servers": [42, 43], "load_balancers": [], "protection": {"delete": False},
                    "labels": {}, "created": "2026-11-22T10:00:00+00:00",
                    "expose_routes_to_vswitch": False}],
      "faults": []}
if len(sys.argv) > 4:
    st["faults"] = json.loads(sys.argv[4])
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(st, f)
os.rename(tmp, path)
PY
}
faults() {   # faults JSON: rewrite the state with these faults
	"$PC_PYTHON" - "$STATE" "$1" <<'PY'
import json, os, sys
st = json.load(open(sys.argv[1]))
st["faults"] = json.loads(sys.argv[2])
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(st, f)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
PY
}
state "$want" "$TOKEN"

step "fake Hetzner API on 127.0.0.1 in the gateway's namespace"
: >"$PC_TMP/fake.out"
nsx gw timeout 600 "$PC_PYTHON" "$HERE/hetzner_fake.py" --port 0 --state "$STATE" \
	--log "$PC_TMP/api.log" >"$PC_TMP/fake.out" 2>&1 &
for ((t = 0; t < 50; t++)); do grep -q '^listening' "$PC_TMP/fake.out" && break; sleep 0.1; done
API=$(awk '/^listening/ { print $NF }' "$PC_TMP/fake.out")
[[ -n $API ]] || fail "the fake API did not start: $(cat "$PC_TMP/fake.out")"
(umask 077 && echo "$TOKEN" >"$PC_TMP/hcloud-token")
GW_EXTRA_CONF="
[Hetzner]
TokenFile = $PC_TMP/hcloud-token
Network = bastion-net
PollInterval = 1
APIEndpoint = http://$API/v1
"
export GW_EXTRA_CONF
gateway_start
GW=$(ifn gw)
peer_to_gw hz1 10.0.0.0/24 "$GW_EP4" 25

# wait_peers N: until the gateway has N peers (15 s).
wait_peers() {
	local t n=-1
	for ((t = 0; t < 75; t++)); do
		n=$(timeout 5 wg show "$GW" peers | grep -c . || true)
		((n == $1)) && return 0
		sleep 0.2
	done
	fail "want $1 peer(s) on the gateway, have $n"
}

step "1. the labelled server becomes a peer"
wait_peers 1
[[ $(timeout 5 wg show "$GW" peers) == "$HZ1" ]] || fail "the peer is not hz1's key"
aips=$(timeout 5 wg show "$GW" allowed-ips | cut -f2 | tr ' ' '\n' | sort | paste -sd ' ')
[[ $aips == "10.200.0.2/32 10.201.0.0/24" ]] || fail "allowed IPs: '$aips'"
ep=$(timeout 5 wg show "$GW" endpoints | cut -f2)
[[ $ep == 203.0.113.2:51820 ]] || fail "endpoint: '$ep'"
step "peer hz1: endpoint $ep, allowed IPs $aips"
wait_handshake hz1
ping_ok hz1 10.0.0.2 3

step "2. status, plan, the bad label's warning"
grep -q "hetzner: server 'broken' (43)" "$PC_GW_LOG" || fail "no warning naming server 'broken'"
status=$("$CTL" -i "$GW" --json hetzner status)
"$PC_PYTHON" - "$status" <<'PY' || fail "hetzner status: $status"
import json, sys
h = json.loads(sys.argv[1])["hetzner"]
assert h["enabled"] and h["running"], h
assert h["last_success"] and h["rounds_ok"] >= 1 and h["last_error"] == "", h
assert h["peers"] == 1 and h["warnings"] == 1, h
assert {"dst": "10.200.0.0/16", "via": "10.200.0.1"} in h["routes"], h
PY
"$CTL" -i "$GW" hetzner status | sed 's/^/    /'
plan=$("$CTL" -i "$GW" hetzner plan)
[[ $plan == *"nothing to change"* ]] || fail "plan after a good round: $plan"
grep -q "$TOKEN" "$PC_GW_LOG" && fail "the token appears in the gateway log"

step "3. API outage: 500s, then garbage; the peer and the tunnel stay"
# failures: "CONSECUTIVE_FAILURES ROUNDS_FAILED LAST_ERROR" from the status.
failures() {
	"$CTL" -i "$GW" --json hetzner status | "$PC_PYTHON" -c 'import json, sys
h = json.load(sys.stdin)["hetzner"]
print(h["consecutive_failures"], h["rounds_failed"], h["last_error"])'
}
# wait_failed_round MIN_ROUNDS_FAILED: a round failed (retries with backoff
# make one take several seconds), 40 s at most.
wait_failed_round() {
	local t f
	for ((t = 0; t < 200; t++)); do
		f=$(failures)
		read -r _ rf _ <<<"$f"
		((rf >= $1)) && { step "status: $f"; return 0; }
		sleep 0.2
	done
	fail "no failed round recorded (status: $f)"
}
faults '[{"method": "GET", "path": "/v1/servers", "status": 500}]'
wait_failed_round 1
ping_ok hz1 10.0.0.2 2
wait_peers 1
"$CTL" -i "$GW" metrics | grep -q '^portcullis_hetzner_consecutive_failures [1-9]' ||
	fail "the outage does not show in the metrics"
read -r _ failed _ <<<"$(failures)"
faults '[{"method": "GET", "path": "/v1/servers", "status": 200, "raw": "{\"servers\": [garbage"}]'
wait_failed_round $((failed + 1))
wait_peers 1
ping_ok hz1 10.0.0.2 2
faults '[]'

step "4. a reload keeps the sync's peer"
out=$("$CTL" -i "$GW" reload) || fail "reload: $out"
step "$out"
wait_peers 1
ping_ok hz1 10.0.0.2 2

step "5. the key label removed: the peer goes; back: it returns"
state "" "$TOKEN"
wait_peers 0
nsx hz1 ping -n -q -c 2 -W 1 10.0.0.2 >/dev/null 2>&1 && fail "hz1 still reaches the host"
grep -q 'hetzner: applied: 0 peer(s) added, 1 removed' "$PC_GW_LOG" || fail "the removal was not logged"
state "$want" "$TOKEN"
wait_peers 1
ping_ok hz1 10.0.0.2 3 30

step "6. a revoked token stops the loop; the gateway keeps its state"
state "$want" "another-token"
for ((t = 0; t < 50; t++)); do
	running=$("$CTL" -i "$GW" --json hetzner status | "$PC_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["hetzner"]["running"])')
	[[ $running == False ]] && break
	sleep 0.2
done
[[ $running == False ]] || fail "the loop still runs after a 401"
"$CTL" -i "$GW" hetzner status | grep -qi 'unauthorized' || fail "no clear 401 error in the status"
wait_peers 1
ping_ok hz1 10.0.0.2 2
gateway_alive
pc_pass
