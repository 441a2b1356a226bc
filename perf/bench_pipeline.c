/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timed loops over the dataplane's own encap and decap functions.
 *
 * What a run measures, per burst of DP_BURST packets, is what worker.c does
 * after classifying a burst: take the time (dp_now), run the stage on every
 * packet, dp_tx_flush to the port (net_null frees the mbufs).
 *
 *   encap: l3_forward(FROM_PRIVATE): TTL, allowed-IPs lookup, MTU check,
 *          tunnel_encap (key checks, counter, padding, ChaCha20-Poly1305),
 *          outer UDP/IPv4, route and neighbour lookup, Ethernet, TX queue.
 *   decap: tunnel_decap: index lookup, key age, replay window, open,
 *          endpoint and timestamps, inner source ACL, then l3_forward
 *          (FROM_TUNNEL) out of the private port.
 *
 * Not measured: filling the burst's mbufs with the test frames, which
 * stands in for the NIC writing them (the data is in cache afterwards, as
 * with DDIO), and the RX classification (parse_l2/classify in worker.c).
 *
 * Decap needs a fresh counter per message or the replay window drops it:
 * BENCH_MSGS distinct messages are made with tunnel_encap beforehand and
 * replayed in a cycle; the window is reset (untimed) at every wrap.
 *
 * A run is valid only if every packet came out of the expected port and no
 * drop counter, ring or mempool says otherwise (run_check).
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "checksum.h"
#include "noise.h"
#include "portcullis/wire.h"
#include "replay.h"
#include "transport.h"
#include "tunnel.h"

enum {
	ETH_LEN = sizeof(struct eth_hdr),
	MSG_OFF = ETH_LEN + sizeof(struct ipv4_hdr) + sizeof(struct udp_hdr),
	FRAME_MAX = MSG_OFF + sizeof(struct message_data) + BENCH_MAX_SIZE +
		    MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN,
};

_Static_assert(BENCH_MSGS % DP_BURST == 0, "whole bursts per message cycle");

/* --- Validity of a run --------------------------------------------------- */

/* bench_run_check, and every one of the n packets went through the stage. */
static int run_check(struct bench_fixture *f, const struct bench_snapshot *before,
		     uint64_t n, unsigned out_port, enum bench_kind kind,
		     char *err, size_t errlen)
{
	const struct dp_lcore_stats *st = f->ctx.st;
	uint64_t stage_count = kind == BENCH_ENCAP
		? st->encap_packets - before->st.encap_packets
		: st->decap_packets - before->st.decap_packets;
	int ret = bench_run_check(f, before, n, out_port, err, errlen);

	if (ret == 0 && stage_count != n) {
		snprintf(err, errlen, "%lu packets in, %lu through %s", n, stage_count,
			 bench_kind_names[kind]);
		ret = -EPROTO;
	}
	return ret;
}

/* --- Functional checks before timing -------------------------------------- */

/* The IP packet of frame as it must look after one forwarding hop. */
static void hop_expect(uint8_t *frame)
{
	struct ipv4_hdr *ip = (void *)(frame + ETH_LEN);

	ip->ttl--;
	ip->checksum = 0;
	ip->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(ip, sizeof(*ip), 0)));
}

/* Outer headers of a frame encap produced, towards the peer. */
static bool outer_ok(const struct bench_fixture *f, const uint8_t *d, unsigned len)
{
	const struct eth_hdr *eth = (const void *)d;
	const struct ipv4_hdr *ip = (const void *)(eth + 1);
	const struct udp_hdr *udp = (const void *)(ip + 1);
	const struct dp_port_conf *pub = &f->tables.ports[PORT_PUBLIC];

	return len > MSG_OFF &&
	       memcmp(eth->dst, f->neigh_mac[PORT_PUBLIC], 6) == 0 &&
	       memcmp(eth->src, pub->mac, 6) == 0 &&
	       eth->type == rte_cpu_to_be_16(ETHERTYPE_IPV4) &&
	       ip->version_ihl == 0x45 && ip->protocol == IPPROTO_UDP_ &&
	       rte_be_to_cpu_16(ip->total_length) == len - ETH_LEN &&
	       csum_fold(csum_partial(ip, sizeof(*ip), 0)) == 0 &&
	       memcmp(ip->src, pub->addrs[0].addr.bytes, 4) == 0 &&
	       memcmp(ip->dst, f->peer_endpoint.addr.bytes, 4) == 0 &&
	       rte_be_to_cpu_16(udp->src_port) == f->tables.listen_port &&
	       rte_be_to_cpu_16(udp->dst_port) == f->peer_endpoint.port &&
	       rte_be_to_cpu_16(udp->length) == len - ETH_LEN - sizeof(*ip);
}

/* One packet through l3_forward: the output must decrypt (transport_open
 * with the peer's view of the key) to the input minus one TTL, padded. */
static int encap_verify(struct bench_fixture *f, unsigned size, char *err,
			size_t errlen)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	unsigned len = bench_frame_build(f, in, size, true), out_len;
	size_t padded = transport_padded_len(size, f->tables.tunnel_mtu), plain;
	struct dp_ctx *c = &f->ctx;
	struct rte_mbuf *m;
	uint64_t counter;
	int ret = -EPROTO;

	if (bench_burst_alloc(f, &m, 1, err, errlen) < 0)
		return -ENOBUFS;
	bench_mbuf_load(m, in, len, IN_PRIVATE, 0);
	c->now = dp_now();
	l3_forward(c, m, FROM_PRIVATE, UINT32_MAX);
	m = bench_tx_take_one(c, PORT_PUBLIC);
	if (m == NULL) {
		snprintf(err, errlen, "encap: the packet did not reach the public TX queue");
		return -EPROTO;
	}
	out_len = rte_pktmbuf_data_len(m);
	memcpy(out, rte_pktmbuf_mtod(m, uint8_t *), RTE_MIN(out_len, (unsigned)FRAME_MAX));
	rte_pktmbuf_free(m);
	hop_expect(in);
	if (out_len != MSG_OFF + message_data_len(padded) || !outer_ok(f, out, out_len))
		snprintf(err, errlen, "encap: bad outer headers or length %u", out_len);
	else if (transport_open(&f->kp->noise, out + MSG_OFF, out_len - MSG_OFF,
				&counter, &plain) != 0 || plain != padded)
		snprintf(err, errlen, "encap: the message does not decrypt");
	else if (memcmp(out + MSG_OFF + sizeof(struct message_data), in + ETH_LEN, size) != 0)
		snprintf(err, errlen, "encap: decrypted packet differs from the input");
	else
		ret = 0;
	return ret;
}

/* Message 0 through tunnel_decap: out of the private port must come the
 * packet that was sealed, minus one TTL, to the private host's MAC. */
static int decap_verify(struct bench_fixture *f, unsigned size, char *err,
			size_t errlen)
{
	static uint8_t expect[FRAME_MAX];
	unsigned len = bench_frame_build(f, expect, size, false);
	struct dp_ctx *c = &f->ctx;
	struct rte_mbuf *m;
	int ret = 0;

	if (bench_burst_alloc(f, &m, 1, err, errlen) < 0)
		return -ENOBUFS;
	bench_mbuf_load(m, f->msgs, f->msg_len, IN_PUBLIC, MSG_OFF);
	c->now = dp_now();
	tunnel_decap(c, m, MSG_OFF, &f->peer_endpoint);
	m = bench_tx_take_one(c, PORT_PRIVATE);
	if (m == NULL) {
		snprintf(err, errlen, "decap: the packet did not reach the private TX queue");
		return -EPROTO;
	}
	hop_expect(expect);
	if (rte_pktmbuf_data_len(m) != len ||
	    memcmp(rte_pktmbuf_mtod(m, uint8_t *), expect, len) != 0) {
		snprintf(err, errlen, "decap: output frame differs from the sealed packet");
		ret = -EPROTO;
	}
	rte_pktmbuf_free(m);
	replay_window_init(&f->kp->noise.replay);   /* message 0 is used again */
	return ret;
}

/* As the peer would send it: swap the outer addresses of encap's output. */
static void reverse_outer(uint8_t *d)
{
	struct eth_hdr *eth = (void *)d;
	struct ipv4_hdr *ip = (void *)(eth + 1);
	uint8_t tmp[6];

	/* Swapping whole 16-bit words keeps the IPv4 checksum valid. */
	memcpy(tmp, eth->dst, 6);
	memcpy(eth->dst, eth->src, 6);
	memcpy(eth->src, tmp, 6);
	memcpy(tmp, ip->dst, 4);
	memcpy(ip->dst, ip->src, 4);
	memcpy(ip->src, tmp, 4);
}

/* BENCH_MSGS data messages from the peer, sealed by tunnel_encap itself. */
static int msgs_make(struct bench_fixture *f, unsigned size, char *err, size_t errlen)
{
	static uint8_t inner[FRAME_MAX];
	unsigned len = bench_frame_build(f, inner, size, false);
	size_t padded = transport_padded_len(size, f->tables.tunnel_mtu);
	struct rte_mbuf *ms[DP_BURST];
	struct dp_ctx *c = &f->ctx;

	free(f->msgs);
	f->msg_size = size;
	f->msg_len = (unsigned)(MSG_OFF + message_data_len(padded));
	f->msg_stride = (f->msg_len + 63) & ~63u;
	f->msgs = aligned_alloc(64, (size_t)BENCH_MSGS * f->msg_stride);
	if (f->msgs == NULL) {
		snprintf(err, errlen, "out of memory for decap messages");
		return -ENOMEM;
	}
	for (unsigned k = 0; k < BENCH_MSGS; k += DP_BURST) {
		if (bench_burst_alloc(f, ms, DP_BURST, err, errlen) < 0)
			return -ENOBUFS;
		c->now = dp_now();
		for (unsigned i = 0; i < DP_BURST; i++) {
			bench_mbuf_load(ms[i], inner, len, IN_PRIVATE, 0);
			tunnel_encap(c, ms[i], f->peer);
		}
		if (c->n_tx[PORT_PRIVATE] != 0 ||
		    bench_tx_intercept(c, PORT_PUBLIC, ms, DP_BURST) != DP_BURST) {
			snprintf(err, errlen, "tunnel_encap did not queue every message");
			return -EPROTO;
		}
		for (unsigned i = 0; i < DP_BURST; i++) {
			uint8_t *slot = f->msgs + (size_t)(k + i) * f->msg_stride;
			bool ok = rte_pktmbuf_data_len(ms[i]) == f->msg_len;

			if (ok)
				memcpy(slot, rte_pktmbuf_mtod(ms[i], uint8_t *), f->msg_len);
			rte_pktmbuf_free(ms[i]);
			if (!ok || !outer_ok(f, slot, f->msg_len)) {
				snprintf(err, errlen, "tunnel_encap made a bad message");
				return -EPROTO;
			}
			reverse_outer(slot);
		}
	}
	return 0;
}

int bench_pipeline_prepare(struct bench_fixture *f, unsigned size,
			   char *err, size_t errlen)
{
	int ret;

	bench_fixture_refresh_key(f);
	ret = encap_verify(f, size, err, errlen);
	if (ret == 0)
		ret = msgs_make(f, size, err, errlen);
	if (ret == 0)
		ret = decap_verify(f, size, err, errlen);
	return ret;
}

/* --- The timed loops ------------------------------------------------------ */

int bench_encap_run(struct bench_fixture *f, unsigned size, uint64_t min_ns,
		    struct bench_sample *out, char *err, size_t errlen)
{
	static uint8_t frame[FRAME_MAX];
	unsigned len = bench_frame_build(f, frame, size, true);
	struct rte_mbuf *ms[DP_BURST];
	struct dp_ctx *c = &f->ctx;
	struct bench_snapshot before;
	uint64_t ns = 0, n = 0;

	bench_fixture_refresh_key(f);
	bench_snapshot_take(f, &before);
	while (ns < min_ns) {
		uint64_t t0;

		if (bench_burst_alloc(f, ms, DP_BURST, err, errlen) < 0)
			return -ENOBUFS;
		for (unsigned i = 0; i < DP_BURST; i++)
			bench_mbuf_load(ms[i], frame, len, IN_PRIVATE, 0);

		t0 = dp_now();
		dp_ctx_begin_burst(c, t0);
		for (unsigned i = 0; i < DP_BURST; i++)
			l3_forward(c, ms[i], FROM_PRIVATE, UINT32_MAX);
		dp_tx_flush(c);
		ns += dp_now() - t0;
		n += DP_BURST;
	}
	out->packets = n;
	out->ns = ns;
	return run_check(f, &before, n, PORT_PUBLIC, BENCH_ENCAP, err, errlen);
}

int bench_decap_run(struct bench_fixture *f, unsigned size, uint64_t min_ns,
		    struct bench_sample *out, char *err, size_t errlen)
{
	struct rte_mbuf *ms[DP_BURST];
	struct dp_ctx *c = &f->ctx;
	struct bench_snapshot before;
	uint64_t ns = 0, n = 0;
	unsigned k = BENCH_MSGS;

	if (f->msgs == NULL || f->msg_size != size) {
		snprintf(err, errlen, "no decap messages for %u bytes", size);
		return -EINVAL;
	}
	bench_fixture_refresh_key(f);
	bench_snapshot_take(f, &before);
	while (ns < min_ns) {
		uint64_t t0;

		if (k == BENCH_MSGS) {        /* counters start over */
			k = 0;
			replay_window_init(&f->kp->noise.replay);
		}
		if (bench_burst_alloc(f, ms, DP_BURST, err, errlen) < 0)
			return -ENOBUFS;
		for (unsigned i = 0; i < DP_BURST; i++, k++)
			bench_mbuf_load(ms[i], f->msgs + (size_t)k * f->msg_stride, f->msg_len,
				  IN_PUBLIC, MSG_OFF);

		t0 = dp_now();
		dp_ctx_begin_burst(c, t0);
		for (unsigned i = 0; i < DP_BURST; i++)
			tunnel_decap(c, ms[i], MSG_OFF, &f->peer_endpoint);
		dp_tx_flush(c);
		ns += dp_now() - t0;
		n += DP_BURST;
	}
	out->packets = n;
	out->ns = ns;
	return run_check(f, &before, n, PORT_PRIVATE, BENCH_DECAP, err, errlen);
}
