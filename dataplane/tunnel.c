/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encapsulation and decapsulation of WireGuard data messages on mbufs.
 * Encryption is in place: the outer headers go into the mbuf headroom, the
 * padding and the Poly1305 tag into its tailroom (the pool is created with
 * enough of both), so the fast path never copies or allocates.
 */
#include "tunnel.h"

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "allowedips.h"
#include "checksum.h"
#include "transport.h"

/* --- Endpoint seqlock -------------------------------------------------- */

void gw_endpoint_read(struct gw_endpoint *e, struct ip_endpoint *out)
{
	for (;;) {
		uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);

		if (s1 & 1) {
			rte_pause();
			continue;
		}
		memcpy(out, &e->ep, sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) == s1)
			return;
	}
}

void gw_endpoint_write(struct gw_endpoint *e, const struct ip_endpoint *in)
{
	uint32_t s;

	rte_spinlock_lock(&e->write_lock);
	s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&e->ep, in, sizeof(*in));
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
	rte_spinlock_unlock(&e->write_lock);
}

void tunnel_outer_source(struct rte_mbuf *m, struct ip_endpoint *src)
{
	const struct pkt_meta *meta = pkt_meta(m);
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l3_off);
	const struct udp_hdr *udp = rte_pktmbuf_mtod_offset(m, const struct udp_hdr *,
							    meta->msg_off - sizeof(*udp));

	memset(src, 0, sizeof(*src));
	src->addr.family = meta->l3_family;
	memcpy(src->addr.bytes, meta->l3_family == IP_V4 ?
	       ((const struct ipv4_hdr *)ip)->src : ((const struct ipv6_hdr *)ip)->src,
	       ip_addr_len(&src->addr));
	src->port = rte_be_to_cpu_16(udp->src_port);
}

/* --- Events to the control thread -------------------------------------- */

static void post_event(struct dp_ctx *c, uint32_t type, uint32_t peer_id,
		       uint32_t index)
{
	struct dp_event ev = { .type = type, .peer_id = peer_id, .index = index };

	/* A full ring loses the event; the timers retry a rekey and the next
	 * data packet re-posts a key confirmation, so nothing is stuck. */
	rte_ring_mp_enqueue_elem(c->dp->event_ring, &ev, sizeof(ev));
}

static void request_rekey(struct dp_ctx *c, struct gw_peer *peer)
{
	if (!atomic_exchange_explicit(&peer->rekey_requested, true,
				      memory_order_relaxed))
		post_event(c, EV_REKEY, peer->id, 0);
}

/* No usable session: the control thread queues it and starts a handshake.
 * Without an endpoint no handshake can start (a road warrior that is not
 * connected): answer host unreachable at once, as Linux does, instead of
 * holding mbufs that may never leave. */
static void stage(struct dp_ctx *c, struct rte_mbuf *m, struct gw_peer *peer)
{
	struct pkt_meta *meta = pkt_meta(m);
	struct ip_endpoint ep;

	gw_endpoint_read(&peer->endpoint, &ep);
	if (ep.addr.family == IP_NONE) {
		if (meta->l3_family == IP_V4)
			l3_icmp_error(c, m, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH_CODE, 0);
		else
			l3_icmp_error(c, m, ICMP6_DEST_UNREACH, ICMP6_ADDR_UNREACH_CODE, 0);
		dp_drop(c->st, m, DROP_no_endpoint);
		return;
	}
	meta->kind = PKT_STAGE;
	meta->peer_id = peer->id;
	if (rte_ring_mp_enqueue(c->dp->exception_ring, m) != 0)
		dp_drop(c->st, m, DROP_exception_ring_full);
}

/* --- Outer headers ----------------------------------------------------- */

static void fill_udp(struct udp_hdr *udp, uint16_t sport, uint16_t dport,
		     uint16_t plen)
{
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->length = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp)));
	udp->checksum = 0;
}

static bool push_udp4(struct dp_ctx *c, struct rte_mbuf *m,
		      const struct ip_endpoint *dst, uint16_t plen)
{
	struct ip_addr src;
	struct udp_hdr *udp;
	struct ipv4_hdr *ip;

	if (!l3_port_source(&c->t->ports[PORT_PUBLIC], IP_V4, &dst->addr, &src))
		return false;
	udp = (void *)rte_pktmbuf_prepend(m, sizeof(*udp));
	ip = (void *)rte_pktmbuf_prepend(m, sizeof(*ip));
	if (udp == NULL || ip == NULL)
		return false;
	fill_udp(udp, c->t->listen_port, dst->port, plen);
	/* The checksum stays 0: optional over IPv4 (RFC 768), and Poly1305
	 * already covers the payload. */
	ip->version_ihl = 0x45;
	ip->tos = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(plen + sizeof(*udp) + sizeof(*ip)));
	ip->id = 0;
	ip->frag_off = rte_cpu_to_be_16(IPV4_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP_;
	ip->checksum = 0;
	memcpy(ip->src, src.bytes, 4);
	memcpy(ip->dst, dst->addr.bytes, 4);
	ip->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(ip, sizeof(*ip), 0)));
	return true;
}

static bool push_udp6(struct dp_ctx *c, struct rte_mbuf *m,
		      const struct ip_endpoint *dst, uint16_t plen)
{
	struct ip_addr src;
	struct udp_hdr *udp;
	struct ipv6_hdr *ip;

	if (!l3_port_source(&c->t->ports[PORT_PUBLIC], IP_V6, &dst->addr, &src))
		return false;
	udp = (void *)rte_pktmbuf_prepend(m, sizeof(*udp));
	ip = (void *)rte_pktmbuf_prepend(m, sizeof(*ip));
	if (udp == NULL || ip == NULL)
		return false;
	fill_udp(udp, c->t->listen_port, dst->port, plen);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = udp->length;
	ip->next_header = IPPROTO_UDP_;
	ip->hop_limit = 64;
	memcpy(ip->src, src.bytes, 16);
	memcpy(ip->dst, dst->addr.bytes, 16);
	/* Mandatory over IPv6 (RFC 8200 8.1). */
	udp->checksum = rte_ipv6_udptcp_cksum((const struct rte_ipv6_hdr *)ip, udp);
	return true;
}

void tunnel_send_udp(struct dp_ctx *c, struct rte_mbuf *m,
		     const struct ip_endpoint *dst)
{
	uint16_t plen = (uint16_t)rte_pktmbuf_data_len(m);
	struct pkt_meta *meta = pkt_meta(m);
	struct ip_addr nh;
	bool ok;

	ok = dst->addr.family == IP_V4 ? push_udp4(c, m, dst, plen)
				       : push_udp6(c, m, dst, plen);
	if (!ok || !l3_route_lookup(&c->t->ports[PORT_PUBLIC], &dst->addr, &nh)) {
		dp_drop(c->st, m, DROP_no_route);
		return;
	}
	meta->l3_off = 0;
	meta->l3_family = dst->addr.family;
	l3_output(c, m, PORT_PUBLIC, &nh);
}

/* --- Encapsulation ----------------------------------------------------- */

static void seal_and_send(struct dp_ctx *c, struct rte_mbuf *m,
			  struct gw_peer *peer, struct noise_keypair *nk,
			  uint64_t counter, uint32_t plain_len)
{
	uint32_t padded = (uint32_t)transport_padded_len(plain_len, c->t->tunnel_mtu);
	struct ip_endpoint ep;
	uint8_t *tail, *msg;

	rte_pktmbuf_adj(m, pkt_meta(m)->l3_off);
	tail = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(padded - plain_len +
							    NOISE_AUTHTAG_LEN));
	msg = (uint8_t *)rte_pktmbuf_prepend(m, sizeof(struct message_data));
	if (tail == NULL || msg == NULL) {
		dp_drop(c->st, m, DROP_no_room);
		return;
	}
	memset(tail, 0, padded - plain_len);
	transport_seal(nk, counter, msg, padded);

	atomic_fetch_add_explicit(&peer->tx_bytes, rte_pktmbuf_data_len(m),
				  memory_order_relaxed);
	if (plain_len)
		atomic_store_explicit(&peer->last_data_tx, c->now, memory_order_relaxed);
	atomic_store_explicit(&peer->last_auth_tx, c->now, memory_order_relaxed);
	c->st->encap_packets++;

	gw_endpoint_read(&peer->endpoint, &ep);
	if (ep.addr.family == IP_NONE) {
		dp_drop(c->st, m, DROP_no_endpoint);
		return;
	}
	tunnel_send_udp(c, m, &ep);
}

/* The current keypair if it may still send, else NULL. */
static struct noise_keypair *sending_keypair(struct dp_ctx *c, struct gw_peer *peer)
{
	struct noise_keypair *nk = atomic_load_explicit(&peer->keypairs.current,
							memory_order_acquire);

	if (nk == NULL || !atomic_load_explicit(&nk->valid, memory_order_relaxed) ||
	    !wg_keypair_usable(nk->birthdate,
			       atomic_load_explicit(&nk->send_counter,
						    memory_order_relaxed), c->now))
		return NULL;
	return nk;
}

bool tunnel_can_send(struct dp_ctx *c, struct gw_peer *peer)
{
	return sending_keypair(c, peer) != NULL;
}

void tunnel_encap(struct dp_ctx *c, struct rte_mbuf *m, struct gw_peer *peer)
{
	uint32_t plain_len = rte_pktmbuf_data_len(m) - pkt_meta(m)->l3_off;
	struct noise_keypair *nk = sending_keypair(c, peer);
	uint64_t counter;

	if (nk == NULL) {
		stage(c, m, peer);
		return;
	}
	counter = atomic_fetch_add_explicit(&nk->send_counter, 1, memory_order_relaxed);
	if (counter >= REJECT_AFTER_MESSAGES) {
		stage(c, m, peer);
		return;
	}
	if (wg_keypair_should_rekey_on_send(nk->is_initiator, nk->birthdate,
					    counter, c->now))
		request_rekey(c, peer);
	seal_and_send(c, m, peer, nk, counter, plain_len);
}

bool tunnel_send_keepalive(struct dp_ctx *c, struct gw_peer *peer)
{
	struct noise_keypair *nk = sending_keypair(c, peer);
	struct rte_mbuf *m;
	uint64_t counter;

	if (nk == NULL)
		return false;
	m = rte_pktmbuf_alloc(c->dp->pool);
	if (m == NULL) {
		c->st->drops[DROP_no_mbuf]++;
		return false;
	}
	memset(pkt_meta(m), 0, sizeof(struct pkt_meta));
	counter = atomic_fetch_add_explicit(&nk->send_counter, 1, memory_order_relaxed);
	if (counter >= REJECT_AFTER_MESSAGES) {
		rte_pktmbuf_free(m);
		return false;
	}
	seal_and_send(c, m, peer, nk, counter, 0);
	return true;
}

/* --- Decapsulation ----------------------------------------------------- */

/* Roaming (paper 2.1): the endpoint follows the latest authenticated packet. */
static void update_endpoint(struct gw_peer *peer, const struct ip_endpoint *src)
{
	struct ip_endpoint cur;

	gw_endpoint_read(&peer->endpoint, &cur);
	if (!ip_endpoint_equal(&cur, src))
		gw_endpoint_write(&peer->endpoint, src);
}

static void after_authentication(struct dp_ctx *c, struct gw_keypair *kp,
				 const struct ip_endpoint *src, uint32_t msg_len)
{
	struct gw_peer *peer = kp->peer;
	struct noise_keypair *nk = &kp->noise;

	/* Key confirmation (paper 5.4.6): the responder switches to this
	 * keypair once the initiator has used it.  The control thread rotates. */
	if (atomic_load_explicit(&peer->keypairs.next, memory_order_acquire) == nk &&
	    !atomic_exchange_explicit(&kp->confirm_posted, true, memory_order_relaxed))
		post_event(c, EV_KEY_CONFIRMED, peer->id, nk->local_index);
	update_endpoint(peer, src);
	atomic_store_explicit(&peer->last_auth_rx, c->now, memory_order_relaxed);
	atomic_fetch_add_explicit(&peer->rx_bytes, msg_len, memory_order_relaxed);
	if (wg_keypair_should_rekey_on_receive(nk->is_initiator, nk->birthdate, c->now) &&
	    atomic_load_explicit(&peer->keypairs.current, memory_order_relaxed) == nk)
		request_rekey(c, peer);
}

void tunnel_decap(struct dp_ctx *c, struct rte_mbuf *m, uint32_t msg_off,
		  const struct ip_endpoint *src)
{
	uint8_t *msg = rte_pktmbuf_mtod_offset(m, uint8_t *, msg_off);
	uint32_t msg_len = rte_pktmbuf_data_len(m) - msg_off, inner_len, pid;
	const struct message_data *md = (const void *)msg;
	struct pkt_meta *meta = pkt_meta(m);
	struct gw_keypair *kp;
	uint64_t counter = rte_le_to_cpu_64(md->counter);
	size_t plain_len;
	struct ip_addr inner_src;
	uint8_t family = 0;
	bool fresh;

	kp = index_table_lookup(c->dp->index_slots, rte_le_to_cpu_32(md->key_idx));
	if (kp == NULL)
		goto drop_unknown_index;
	if (!atomic_load_explicit(&kp->noise.valid, memory_order_relaxed) ||
	    !wg_keypair_usable(kp->noise.birthdate, counter, c->now))
		goto drop_expired;
	if (!replay_window_check(&kp->noise.replay, counter))
		goto drop_replay;
	if (transport_open(&kp->noise, msg, msg_len, &counter, &plain_len) != 0)
		goto drop_decrypt;
	rte_spinlock_lock(&kp->replay_lock);
	fresh = replay_window_update(&kp->noise.replay, counter);
	rte_spinlock_unlock(&kp->replay_lock);
	if (!fresh)
		goto drop_replay;
	after_authentication(c, kp, src, msg_len);

	if (plain_len == 0) {           /* keepalive: consumed here */
		c->st->keepalives_rx++;
		rte_pktmbuf_free(m);
		return;
	}
	atomic_store_explicit(&kp->peer->last_data_rx, c->now, memory_order_relaxed);
	msg += sizeof(struct message_data);
	inner_len = l3_ip_len(msg, (uint32_t)plain_len, &family);
	if (inner_len == 0)
		goto drop_inner_malformed;
	inner_src.family = family;
	memcpy(inner_src.bytes, family == IP_V4 ? ((struct ipv4_hdr *)msg)->src
						: ((struct ipv6_hdr *)msg)->src,
	       family == IP_V4 ? 4 : 16);
	/* Cryptokey routing as an ACL (paper 2.2): the source must be one of
	 * this peer's allowed IPs. */
	if (!allowedips_lookup(c->t->allowedips, &inner_src, &pid) ||
	    pid != kp->peer->id)
		goto drop_src;
	meta->l3_off = (uint16_t)(msg_off + sizeof(struct message_data));
	meta->l3_family = family;
	meta->in_port = IN_TUNNEL;
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - meta->l3_off - inner_len));
	c->st->decap_packets++;
	l3_forward(c, m, FROM_TUNNEL, kp->peer->id);
	return;

drop_unknown_index:
	dp_drop(c->st, m, DROP_wg_unknown_index);
	return;
drop_expired:
	dp_drop(c->st, m, DROP_wg_key_expired);
	return;
drop_replay:
	dp_drop(c->st, m, DROP_wg_replay);
	return;
drop_decrypt:
	dp_drop(c->st, m, DROP_wg_decrypt_failed);
	return;
drop_inner_malformed:
	dp_drop(c->st, m, DROP_inner_malformed);
	return;
drop_src:
	dp_drop(c->st, m, DROP_inner_src_not_allowed);
}
