/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus endpoint ([Control] Metrics): a minimal HTTP/1.0 server on
 * sock_server that answers GET /metrics with the text exposition format
 * 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
 * one request per connection.
 *
 * Everything is read on the control thread, the owner of the published
 * tables, so no RCU read section is needed; the per-lcore counters are
 * written by their lcore only and summed here with plain 64-bit loads,
 * which may be a packet behind but never torn.
 *
 * Public keys label the peers; no private or preshared key is ever read
 * here.
 */
#include "ctl.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_version.h>

#include "gateway.h"
#include "hetzner.h"
#include "nat.h"
#include "portcullis/xdp_steer.h"
#include "sock_server.h"
#include "tunnel.h"

#ifndef PORTCULLIS_VERSION
#define PORTCULLIS_VERSION "unknown"
#endif

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char *const nat_protos[NAT_PROTO_COUNT] = { "tcp", "udp", "icmp" };

/* --- The exposition ------------------------------------------------------- */

/* Every family is announced once, before its samples (the format requires
 * HELP and TYPE to come first and a family's samples to be together). */
static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP portcullis_%s %s\n# TYPE portcullis_%s %s\n", name,
		help, name, type);
}

/* A family with one unlabelled sample. */
static void single(FILE *f, const char *name, const char *type,
		   const char *help, uint64_t value)
{
	family(f, name, type, help);
	fprintf(f, "portcullis_%s %llu\n", name, (unsigned long long)value);
}

static void write_build(FILE *f)
{
	family(f, "build_info", "gauge",
	       "Always 1; the labels say which portcullisd and DPDK are running.");
	/* rte_version() is "DPDK 22.11.x": no quote or backslash to escape. */
	fprintf(f, "portcullis_build_info{version=\"%s\",dpdk=\"%s\"} 1\n",
		PORTCULLIS_VERSION, rte_version());
}

/* A counter family with one sample per port: the uint64_t at field in
 * each port's stats. */
struct port_counter {
	const char *name, *help;
	size_t field;
};

/* Our own per-port counters, summed over lcores. */
static const struct port_counter lcore_counters[] = {
	{ "port_rx_packets_total", "Packets received on the port by the workers.",
	  offsetof(struct dp_port_stats, rx_packets) },
	{ "port_rx_bytes_total", "Bytes received on the port by the workers.",
	  offsetof(struct dp_port_stats, rx_bytes) },
	{ "port_tx_packets_total", "Packets the port accepted for sending.",
	  offsetof(struct dp_port_stats, tx_packets) },
	{ "port_tx_bytes_total", "Bytes the port accepted for sending.",
	  offsetof(struct dp_port_stats, tx_bytes) },
};

/* The NIC's own counters: what was lost before any lcore saw it. */
static const struct port_counter nic_counters[] = {
	{ "port_rx_missed_total",
	  "Packets the NIC dropped because no RX descriptor was free (imissed).",
	  offsetof(struct rte_eth_stats, imissed) },
	{ "port_rx_errors_total",
	  "Erroneous packets received by the NIC (ierrors).",
	  offsetof(struct rte_eth_stats, ierrors) },
	{ "port_tx_errors_total", "Packets the NIC failed to send (oerrors).",
	  offsetof(struct rte_eth_stats, oerrors) },
	{ "port_rx_nombuf_total",
	  "RX mbuf allocation failures in the driver (rx_nombuf).",
	  offsetof(struct rte_eth_stats, rx_nombuf) },
};

/* stats: PORT_COUNT structs, stride bytes apart.  A port without stats
 * (shown[p] false: absent, or the NIC did not answer) has no sample. */
static void write_port_counters(FILE *f, const struct port_counter *c,
				size_t n, const void *stats, size_t stride,
				const bool shown[PORT_COUNT])
{
	for (size_t i = 0; i < n; i++) {
		family(f, c[i].name, "counter", c[i].help);
		for (unsigned p = 0; p < PORT_COUNT; p++) {
			const uint64_t *v = (const uint64_t *)
				((const char *)stats + p * stride + c[i].field);

			if (shown[p])
				fprintf(f, "portcullis_%s{port=\"%s\"} %llu\n",
					c[i].name, config_port_names[p],
					(unsigned long long)*v);
		}
	}
}

static void write_ports(FILE *f, const struct gateway *gw,
			const struct dp_lcore_stats *s)
{
	struct rte_eth_stats hw[PORT_COUNT];
	bool present[PORT_COUNT], have_hw[PORT_COUNT];

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		present[p] = gw->cfg->ports[p].present;
		have_hw[p] = present[p] &&
			     rte_eth_stats_get(gw->ports[p].port_id, &hw[p]) == 0;
	}
	write_port_counters(f, lcore_counters, RTE_DIM(lcore_counters), s->port,
			    sizeof(s->port[0]), present);
	write_port_counters(f, nic_counters, RTE_DIM(nic_counters), hw,
			    sizeof(hw[0]), have_hw);
}

static void write_datapath(FILE *f, const struct dp_lcore_stats *s)
{
	single(f, "decap_packets_total", "counter",
	       "Transport data packets decrypted and accepted.", s->decap_packets);
	single(f, "encap_packets_total", "counter",
	       "Packets encrypted into the tunnel.", s->encap_packets);
	single(f, "keepalives_rx_total", "counter",
	       "Keepalives (empty transport data packets) received.", s->keepalives_rx);
	single(f, "handshakes_rx_total", "counter",
	       "Handshake messages received (initiations, responses, cookie replies).",
	       s->handshakes_rx);
	single(f, "handshakes_tx_total", "counter",
	       "Handshake messages sent.", s->handshakes_tx);
	single(f, "icmp_tx_total", "counter",
	       "ICMP errors sent by the gateway.", s->icmp_tx);
	family(f, "drops_total", "counter",
	       "Packets dropped, by reason (README.md, Drop reasons).");
	for (unsigned d = 0; d < DROP_COUNT; d++)
		fprintf(f, "portcullis_drops_total{reason=\"%s\"} %llu\n",
			dp_drop_names[d], (unsigned long long)s->drops[d]);
}

/* --- The exception TAP and AF_XDP steering --------------------------------- */

/* Only with [Port public] HostInterface: without a TAP there is no such
 * series (as for [Hetzner]). */
static void write_host_tap(FILE *f, const struct gateway *gw,
			   const struct dp_lcore_stats *s)
{
	if (!gw->has_host_port)
		return;
	family(f, "host_tap_frames_total", "counter",
	       "Frames through the exception TAP ([Port public] HostInterface): "
	       "to_tap for the host, from_tap sent out for it.");
	fprintf(f, "portcullis_host_tap_frames_total{direction=\"to_tap\"} %llu\n",
		(unsigned long long)s->host_to_tap);
	fprintf(f, "portcullis_host_tap_frames_total{direction=\"from_tap\"} %llu\n",
		(unsigned long long)s->host_from_tap);
}

/* A label value as the format wants it: backslash and quote escaped (an
 * interface name may hold either; never a newline). */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		fputc(*v, f);
	}
}

/* Only with AF_XDP steering: one series per NIC and verdict.  A NIC whose
 * counters cannot be read has no series this scrape (rather than zeros a
 * rate() would take for a reset). */
static void write_xdp(FILE *f, const struct gateway *gw)
{
	struct {
		const char *ifname;
		uint64_t v[XDP_STEER_COUNTERS];
	} nic[PORT_COUNT];
	unsigned n = 0;

	for (unsigned i = 0; i < PORT_COUNT; i++) {
		int ret = gateway_xdp_stats(gw, i, &nic[n].ifname, nic[n].v);

		if (ret == -ENOENT)
			break;
		n += ret == 0;
	}
	if (n == 0)
		return;
	family(f, "xdp_frames_total", "counter",
	       "Frames the AF_XDP steering program saw on the NIC, by verdict "
	       "(include/portcullis/xdp_steer.h).");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < XDP_STEER_COUNTERS; k++) {
			fputs("portcullis_xdp_frames_total{interface=\"", f);
			label_value(f, nic[i].ifname);
			fprintf(f, "\",verdict=\"%s\"} %llu\n", gateway_xdp_counter_names[k],
				(unsigned long long)nic[i].v[k]);
		}
	}
}

/* --- Peers ------------------------------------------------------------------- */

enum peer_metric { PEER_RX, PEER_TX, PEER_HANDSHAKE, PEER_ENDPOINT };

/* One sample of one peer; base64 has no character a label must escape. */
static void write_peer(FILE *f, struct gw_peer *p, enum peer_metric m)
{
	struct ip_endpoint ep;
	char key[45], text[64];

	config_key_to_base64(key, p->public_key);
	switch (m) {
	case PEER_RX:
		fprintf(f, "portcullis_peer_rx_bytes_total{peer=\"%s\"} %llu\n", key,
			(unsigned long long)atomic_load(&p->rx_bytes));
		break;
	case PEER_TX:
		fprintf(f, "portcullis_peer_tx_bytes_total{peer=\"%s\"} %llu\n", key,
			(unsigned long long)atomic_load(&p->tx_bytes));
		break;
	case PEER_HANDSHAKE:
		fprintf(f, "portcullis_peer_last_handshake_seconds{peer=\"%s\"} %llu\n",
			key, (unsigned long long)(p->last_handshake_realtime /
						  NSEC_PER_SEC));
		break;
	case PEER_ENDPOINT:
		gw_endpoint_read(&p->endpoint, &ep);
		if (ep.addr.family == IP_NONE)
			break;
		config_endpoint_format(text, sizeof(text), &ep);
		fprintf(f, "portcullis_peer_endpoint_info{peer=\"%s\",endpoint=\"%s\"} 1\n",
			key, text);
		break;
	}
}

static void write_peers(FILE *f, const struct dp_tables *t)
{
	static const struct {
		const char *name, *type, *help;
	} families[] = {
		[PEER_RX] = { "peer_rx_bytes_total", "counter",
			      "Transport data bytes received from the peer (as wg show)." },
		[PEER_TX] = { "peer_tx_bytes_total", "counter",
			      "Transport data bytes sent to the peer (as wg show)." },
		[PEER_HANDSHAKE] = { "peer_last_handshake_seconds", "gauge",
				     "Unix time of the last completed handshake, 0 if none." },
		[PEER_ENDPOINT] = { "peer_endpoint_info", "gauge",
				    "Always 1; the peer's current endpoint, for peers that have one." },
	};
	uint64_t n = 0;

	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		n += t->peers[i] != NULL;
	single(f, "peers", "gauge", "Configured peers.", n);
	for (unsigned m = PEER_RX; m <= PEER_ENDPOINT; m++) {
		family(f, families[m].name, families[m].type, families[m].help);
		for (uint32_t i = 0; i < t->n_peer_slots; i++)
			if (t->peers[i])
				write_peer(f, t->peers[i], m);
	}
}

/* --- NAT ----------------------------------------------------------------------- */

static void write_by_proto(FILE *f, const char *name, const char *help,
			   const uint64_t v[NAT_PROTO_COUNT])
{
	family(f, name, "counter", help);
	for (unsigned p = 0; p < NAT_PROTO_COUNT; p++)
		fprintf(f, "portcullis_%s{proto=\"%s\"} %llu\n", name, nat_protos[p],
			(unsigned long long)v[p]);
}

/* Written whether or not [NAT] is on (all zero when off), so a dashboard
 * sees the same series on every gateway. */
static void write_nat(FILE *f, const struct gateway *gw)
{
	const struct nat *nat = gw->dp.nat;
	struct nat_stats s;

	gateway_nat_stats_sum(gw, &s);
	single(f, "mss_clamped_total", "counter",
	       "TCP SYNs whose MSS option was lowered ([NAT] MSSClamp).", s.mss_clamped);
	single(f, "nat_sessions", "gauge", "NAT and tracked sessions in the table.",
	       nat ? nat_active_sessions(nat) : 0);
	single(f, "nat_sessions_capacity", "gauge",
	       "Size of the session table ([NAT] MaxSessions), 0 without [NAT].",
	       nat ? nat_capacity(nat) : 0);
	write_by_proto(f, "nat_sessions_created_total",
		       "Sessions created, tracked ones included.", s.created);
	write_by_proto(f, "nat_sessions_expired_total", "Sessions expired.", s.expired);
	write_by_proto(f, "nat_tracked_sessions_created_total",
		       "Sessions tracked without translation (Allow* = no).",
		       s.tracked_created);
	write_by_proto(f, "nat_tracked_sessions_expired_total",
		       "Tracked sessions expired.", s.tracked_expired);
	single(f, "nat_mappings_created_total", "counter",
	       "External address and port mappings created.", s.mappings_created);
	single(f, "nat_mappings_expired_total", "counter",
	       "External address and port mappings expired.", s.mappings_expired);
	single(f, "nat_port_alloc_failures_total", "counter",
	       "Times no free external port was found.", s.port_alloc_failures);
	single(f, "nat_icmp_errors_translated_total", "counter",
	       "ICMP errors translated back to a session (RFC 5508).",
	       s.icmp_errors_translated);
	single(f, "nat_translated_total", "counter", "Packets translated.",
	       s.results[NAT_OK]);
	single(f, "nat_fragments_translated_total", "counter",
	       "Later IPv4 fragments translated by the fragment tracker.",
	       s.fragments_translated);
	single(f, "nat_fragments_held_total", "counter",
	       "Later IPv4 fragments held until their first fragment came.",
	       s.fragments_held);
}

/* --- Hetzner sync ----------------------------------------------------------- */

/* Written only with [Hetzner]: a gateway without the sync has no such
 * series (an absent series, not a 0 that alerts would read as "down"). */
static void write_hetzner(FILE *f, const struct gateway *gw)
{
	struct hetzner_status st;
	uint64_t peers = 0;

	if (gw->hz == NULL)
		return;
	hetzner_status_get(gw->hz, &st);
	for (size_t i = 0; i < gw->cfg->n_peers; i++)
		peers += gw->cfg->peers[i].from_api;
	single(f, "hetzner_up", "gauge",
	       "1 while the Hetzner sync runs, 0 once it stopped (401/403).",
	       st.running);
	single(f, "hetzner_last_success_timestamp_seconds", "gauge",
	       "Unix time of the last good Hetzner round, 0 if none.",
	       st.last_success / NSEC_PER_SEC);
	family(f, "hetzner_rounds_total", "counter",
	       "Hetzner rounds, by result (a failed round changes nothing).");
	fprintf(f, "portcullis_hetzner_rounds_total{result=\"ok\"} %llu\n",
		(unsigned long long)st.rounds_ok);
	fprintf(f, "portcullis_hetzner_rounds_total{result=\"failed\"} %llu\n",
		(unsigned long long)st.rounds_failed);
	single(f, "hetzner_consecutive_failures", "gauge",
	       "Hetzner rounds failed in a row since the last good one.",
	       st.consecutive_failures);
	single(f, "hetzner_requests_total", "counter",
	       "HTTP requests to the Hetzner APIs, every try counted.", st.requests);
	single(f, "hetzner_retries_total", "counter",
	       "Hetzner API requests retried (429, 5xx, conflict, locked, network error).",
	       st.retries);
	/* Unknown until a reply carried RateLimit-Remaining. */
	if (st.ratelimit_remaining >= 0)
		single(f, "hetzner_ratelimit_remaining", "gauge",
		       "Hetzner Cloud API requests left in the budget (RateLimit-Remaining).",
		       (uint64_t)st.ratelimit_remaining);
	single(f, "hetzner_peers", "gauge",
	       "Peers the Hetzner sync put in the configuration.", peers);
	single(f, "hetzner_warnings", "gauge",
	       "Servers or prefixes the last good Hetzner round left out, with a warning.",
	       st.n_warnings);
}

void metrics_write(struct gateway *gw, FILE *f)
{
	struct dp_lcore_stats s;

	gateway_stats_sum(gw, &s);
	write_build(f);
	write_ports(f, gw, &s);
	write_xdp(f, gw);
	write_datapath(f, &s);
	write_host_tap(f, gw, &s);
	write_peers(f, gw->dp.tables);
	write_nat(f, gw);
	write_hetzner(f, gw);
}

/* --- HTTP ------------------------------------------------------------------------ */

/* Through the blank line that ends the headers; a bare "\n\n" is taken too
 * (a hand-typed request through nc). */
static size_t http_request_end(const char *buf, size_t len)
{
	const char *crlf = memmem(buf, len, "\r\n\r\n", 4);
	const char *lf = memmem(buf, len, "\n\n", 2);

	if (crlf && (!lf || crlf < lf))
		return (size_t)(crlf - buf) + 4;
	return lf ? (size_t)(lf - buf) + 2 : 0;
}

static void http_reply(FILE *out, const char *status, const char *extra,
		       const char *type, const char *body, size_t len, bool head)
{
	fprintf(out, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "%sConnection: close\r\n\r\n", status, type, len, extra);
	if (!head)
		fwrite(body, 1, len, out);
}

static void http_error(FILE *out, const char *status, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	http_reply(out, status, extra, "text/plain; charset=utf-8", body,
		   (size_t)n, false);
}

/* "METHOD TARGET[ VERSION]" on the first line; the headers are not read:
 * nothing in them changes the answer. */
static void http_handle(void *ctx, const char *req, size_t len, FILE *out)
{
	const char *eol = memchr(req, '\n', len), *sp, *target, *end;
	size_t mlen, tlen;
	char *body = NULL;
	size_t body_len = 0;
	FILE *f;
	bool head;

	sp = memchr(req, ' ', (size_t)(eol - req));
	if (sp == NULL || sp == req) {
		http_error(out, "400 Bad Request", "");
		return;
	}
	mlen = (size_t)(sp - req);
	target = sp + 1;
	for (end = target; end < eol && *end != ' ' && *end != '\r' && *end != '?'; end++)
		;
	tlen = (size_t)(end - target);
	head = mlen == 4 && memcmp(req, "HEAD", 4) == 0;
	if (!head && !(mlen == 3 && memcmp(req, "GET", 3) == 0)) {
		http_error(out, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (tlen != 8 || memcmp(target, "/metrics", 8) != 0) {
		http_error(out, "404 Not Found", "");
		return;
	}
	f = open_memstream(&body, &body_len);
	if (f == NULL) {
		http_error(out, "500 Internal Server Error", "");
		return;
	}
	metrics_write(ctx, f);
	if (fclose(f) != 0)
		http_error(out, "500 Internal Server Error", "");
	else
		http_reply(out, "200 OK", "", METRICS_CONTENT_TYPE, body, body_len, head);
	free(body);
}

/* A scrape is one small request; Prometheus waits up to its
 * scrape_timeout (10 s by default) for the answer. */
static const struct sock_server_ops metrics_ops = {
	.request_end = http_request_end,
	.handle = http_handle,
	.max_request = 8192,
	.request_ms = 5000,
	.idle_ms = 5000,
	.close_after_reply = true,
};

/* --- The listener --------------------------------------------------------- */

int metrics_open(struct gateway *gw, char *err, size_t errlen)
{
	const struct config_control *cc = &gw->cfg->control;
	struct sock_server_unix_opts opts = { .mode = 0600, .gid = (gid_t)-1 };
	char why[256];
	int ret;

	if (cc->metrics == NULL)
		return 0;
	if (cc->metrics[0] != '/') {
		ret = sock_server_listen_tcp(&gw->metrics, cc->metrics, &metrics_ops,
					     gw, why, sizeof(why));
	} else {
		/* The group was checked at load; it may have gone since. */
		if (cc->group) {
			struct group *g = getgrnam(cc->group);

			if (g == NULL) {
				snprintf(err, errlen, "%s:%u: [Control] no such group '%s'",
					 gw->cfg->path, cc->line, cc->group);
				return -ENOENT;
			}
			opts.gid = g->gr_gid;
			opts.mode = 0660;
		}
		ret = sock_server_listen_unix(&gw->metrics, cc->metrics, &opts,
					      &metrics_ops, gw, why, sizeof(why));
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s:%u: [Control] Metrics: %s", gw->cfg->path,
			 cc->line, why);
		return ret;
	}
	if (cc->metrics[0] == '/')
		printf("portcullisd: metrics on unix:%s\n", cc->metrics);
	else
		printf("portcullisd: metrics on http://%s/metrics\n", cc->metrics);
	return 0;
}

void metrics_poll(struct gateway *gw, uint64_t now)
{
	sock_server_poll(gw->metrics, now);
}

void metrics_close(struct gateway *gw)
{
	sock_server_close(gw->metrics);
	gw->metrics = NULL;
}
