/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway CLI protocol, spoken on /var/run/portcullis/<ifname>.sock
 * between portcullisctl (tools/portcullisctl/) and portcullisd (ctl.c).
 *
 * Request: text lines "key=value\n", the first one "cmd=NAME", ended by an
 * empty line (like the WireGuard UAPI).  At most CTL_MAX_REQUEST bytes,
 * CTL_MAX_ARGS arguments, keys [a-z0-9_-]{1,31}, values printable ASCII
 * without '\n' (may be empty).  A key may appear once.
 *
 * Reply: one JSON object on one line, ended by "\n".  Failure:
 *   {"error":"one line of text"}
 * and nothing else.  Several requests may share a connection.
 *
 * Commands (arguments in brackets are optional) and their replies:
 *
 *   cmd=ports
 *     {"ports":[{"name":"public","device":"net_af_packet0,iface=x",
 *       "driver":"net_af_packet","xdp_steering":null,"dpdk_port":0,
 *       "mac":"02:00:00:00:00:01",
 *       "mtu":1500,"vlan":0,"link":{"up":true,"speed_mbps":10000,
 *       "full_duplex":true},"addresses":["203.0.113.2/24"],
 *       "routes":[{"dst":"0.0.0.0/0","via":"203.0.113.1"},
 *                 {"dst":"203.0.113.0/24","via":null}],
 *       "rx_packets":0,"rx_bytes":0,"tx_packets":0,"tx_bytes":0,
 *       "rx_dropped":0,"rx_errors":0,"tx_errors":0}]}
 *     (counters from rte_eth_stats: rx_dropped = imissed + rx_nombuf;
 *      xdp_steering: the kernel interface, "eth0", whose AF_XDP steering
 *      program feeds the port, null without steering)
 *
 *   cmd=neighbours
 *     {"neighbours":[{"port":"public","ip":"203.0.113.1",
 *       "mac":"02:00:00:00:00:02","state":"reachable","held":0}]}
 *     (state "reachable" with a MAC, "incomplete" with "mac":null)
 *
 *   cmd=allowed-ips  [peer=BASE64KEY]
 *     {"allowed_ips":[{"prefix":"10.8.0.2/32","peer":"BASE64KEY",
 *       "endpoint":"198.51.100.9:51820"}]}   ("endpoint":null if none)
 *
 *   cmd=nat-sessions  [proto=tcp|udp|icmp] [inside=ADDR[:PORT]]
 *                     [external=ADDR[:PORT]] [remote=ADDR[:PORT]]
 *                     [limit=N (default 1000, 0: all)]
 *     {"sessions":[{"proto":"tcp","inside":"10.0.0.5:43210",
 *       "external":"203.0.113.2:43210","remote":"198.51.100.7:443",
 *       "state":"established","expires_in_s":7430,"forward":false}],
 *      "matched":1,"truncated":false}
 *     (ICMP echo: the port is the echo identifier; state is one of
 *      "open" (UDP/ICMP), "syn_sent", "syn_received", "established",
 *      "fin_wait", "closing", "closed")
 *
 *   cmd=nat-count
 *     {"enabled":true,"sessions":12,"max_sessions":65536}
 *
 *   cmd=nat-flush  [proto=] [inside=] [external=] [remote=]
 *     {"flushed":12}
 *
 *   cmd=forwards
 *     {"forwards":[{"proto":"tcp","external":"203.0.113.2:2222",
 *       "to":"10.0.0.5:22"}]}
 *   cmd=forward-add     proto=tcp|udp external=[ADDR:]PORT to=ADDR:PORT
 *   cmd=forward-remove  proto=tcp|udp external=[ADDR:]PORT
 *     {"ok":true}
 *     (the same rules as a [NAT] Forward line; a runtime change, undone by
 *      a reload unless the config file has it too)
 *
 *   cmd=counters
 *     {"total":COUNTERS,"xdp":{"eth0":{"to_gateway":0,"to_host":0,
 *       "not_ready":0,"no_socket":0}},"lcores":[{"lcore":0,
 *       "role":"control","counters":COUNTERS},{"lcore":1,"role":"worker",
 *       ...}]}
 *     COUNTERS = {"ports":{"public":{"rx_packets":0,"rx_bytes":0,
 *       "tx_packets":0,"tx_bytes":0},"private":{...}},"decap_packets":0,
 *       "encap_packets":0,"keepalives_rx":0,"handshakes_rx":0,
 *       "handshakes_tx":0,"icmp_tx":0,"host_to_tap":0,"host_from_tap":0,
 *       "drops":{"malformed":0,...}}
 *     ("drops" lists every reason of DP_DROP_REASONS, zeros included;
 *      "host_to_tap", "host_from_tap": frames into and out of the
 *      exception TAP, only with [Port public] HostInterface; "xdp": only
 *      with AF_XDP steering, the steering program's frames per verdict on
 *      each NIC, by kernel interface (include/portcullis/xdp_steer.h),
 *      summed over CPUs, not per lcore; null for a NIC whose counters
 *      could not be read)
 *
 *   cmd=reload
 *     {"reloaded":true,"peers_added":1,"peers_removed":0,
 *      "peers_updated":2,"peers_unchanged":40}
 *     (a bad file: {"error":"gw0.conf:12: ..."} and nothing changes)
 *
 *   cmd=metrics
 *     {"metrics":"# HELP ...\n..."}   (the Prometheus text, as served)
 *
 *   cmd=hetzner-status
 *     {"hetzner":{"enabled":true,"running":true,"dry_run":false,
 *      "last_success":1795400000,"last_attempt":1795400000,
 *      "next_poll":1795400030,"last_error":"","rounds_ok":12,
 *      "rounds_failed":0,"consecutive_failures":0,"requests":40,
 *      "retries":0,"ratelimit_limit":3600,"ratelimit_remaining":3550,
 *      "ratelimit_reset":1795400100,"peers":3,"warnings":0,
 *      "route_state":"in place",
 *      "routes":[{"dst":"10.0.0.0/16","via":"10.0.0.1"}]}}
 *     (times in seconds since the epoch, null: never / not known;
 *      {"hetzner":{"enabled":false}} without [Hetzner])
 *
 *   cmd=hetzner-plan
 *     {"plan":{"peers":[{"action":"add","peer":"BASE64KEY",
 *       "label":"base32 label value","server_id":42,
 *       "endpoint":"1.2.3.4:51820","allowed_ips":["10.0.0.5/32"]}],
 *      "routes":[{"action":"remove","dst":"10.1.0.0/16","via":"10.0.0.1"}],
 *      "warnings":["server 'x' (7): ..."]}}
 *     (what the last fetched state would change: "add", "change",
 *      "remove"; an error before the first successful round)
 *
 *   cmd=hetzner-sync
 *     {"ok":true}   (poll now)
 *
 * Private keys, preshared keys and the API token never appear in a reply.
 *
 * This parser is pure (config_lib): the fuzzer and the tests link it.
 */
#ifndef PORTCULLIS_CTL_PROTO_H
#define PORTCULLIS_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

enum ctl_proto_limits {
	CTL_MAX_REQUEST = 64 << 10,
	CTL_MAX_ARGS = 16,
	CTL_MAX_KEY = 31,
	CTL_ERR_LEN = 256,
};

struct ctl_arg {
	char key[CTL_MAX_KEY + 1];
	char *value;                        /* NUL-terminated, owned */
};

struct ctl_request {
	char cmd[CTL_MAX_KEY + 1];
	struct ctl_arg args[CTL_MAX_ARGS];
	unsigned n_args;
};

/* Length of the first request in buf through its empty line, 0 if
 * incomplete. */
size_t ctl_request_end(const char *buf, size_t len);

/* Parse one framed request (as ctl_request_end measured it).  0, or
 * -EINVAL with a one-line reason in err and *out left empty. */
int ctl_request_parse(const char *text, size_t len, struct ctl_request *out,
		      char *err, size_t errlen);
void ctl_request_free(struct ctl_request *r);

/* The value of key, NULL if absent. */
const char *ctl_request_get(const struct ctl_request *r, const char *key);

#endif
