/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's half of WireGuard: answering and sending handshake
 * messages (paper 5.4), cookies under load (5.4.7), key confirmation
 * (5.4.6), staging packets while a handshake runs, and the timers (6).
 */
#include "handshake.h"

#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "allowedips.h"
#include "gateway.h"
#include "ratelimiter.h"
#include "timers.h"
#include "tunnel.h"

/* As Linux: under load once the queue is an eighth full. */
#define UNDER_LOAD_THRESHOLD (DP_RING_SIZE / 8)

/* Send a handshake message (copied into a fresh mbuf) to dst. */
static void send_message(struct gateway *gw, const void *msg, size_t len,
			 const struct ip_endpoint *dst)
{
	struct dp_ctx *c = &gw->ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(gw->dp.pool);
	void *p;

	if (m == NULL) {
		c->st->drops[DROP_no_mbuf]++;
		return;
	}
	p = rte_pktmbuf_append(m, (uint16_t)len);
	memcpy(p, msg, len);
	memset(pkt_meta(m), 0, sizeof(struct pkt_meta));
	c->st->handshakes_tx++;
	tunnel_send_udp(c, m, dst);
}

static void sent_authenticated(struct gw_peer *peer, uint64_t now)
{
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);
	wg_timers_any_authenticated_packet_sent(&peer->timers, now);
}

void handshake_send_initiation(struct gateway *gw, struct gw_peer *peer, bool is_retry)
{
	struct message_handshake_initiation msg;
	uint64_t now = gw->ctx.now;
	struct ip_endpoint ep;
	uint32_t index;

	gw_endpoint_read(&peer->endpoint, &ep);
	if (ep.addr.family == IP_NONE || !wg_timers_may_initiate(&peer->timers, now, is_retry))
		return;
	gateway_index_free(gw, peer->handshake_index);
	index = gateway_index_alloc(gw, peer);
	peer->handshake_index = index;
	if (index == 0 ||
	    !noise_handshake_create_initiation(&msg, &peer->handshake, index, dp_realtime()))
		return;
	cookie_add_macs(&peer->cookie, &msg, sizeof(msg), now);
	sent_authenticated(peer, now);
	wg_timers_handshake_initiated(&peer->timers, now);
	send_message(gw, &msg, sizeof(msg), &ep);
}

/* --- Sending what waited for a session ---------------------------------- */

/* Staged packets of all peers together may hold at most a quarter of the
 * pool, so unanswered handshakes cannot starve the receive path. */
#define STAGED_TOTAL_MAX (DP_NUM_MBUFS / 4)

static void staged_drop_all(struct gateway *gw, struct gw_peer *peer)
{
	struct gw_staged *s = &peer->staged;

	gw->n_staged -= s->count;
	for (; s->count; s->count--, s->head = (s->head + 1) % MAX_QUEUED_PACKETS)
		dp_drop(gw->ctx.st, s->pkts[s->head], DROP_no_key_stage_full);
	s->head = 0;
}

/* After a session is ready: send the staged packets, or a keepalive so the
 * responder can confirm the keys (as Linux's wg_packet_send_keepalive). */
static void send_staged(struct gateway *gw, struct gw_peer *peer)
{
	struct gw_staged *s = &peer->staged;

	if (s->count == 0) {
		tunnel_send_keepalive(&gw->ctx, peer);
		return;
	}
	gw->n_staged -= s->count;
	for (; s->count; s->count--, s->head = (s->head + 1) % MAX_QUEUED_PACKETS)
		tunnel_encap(&gw->ctx, s->pkts[s->head], peer);
	s->head = 0;
}

/* The owner of the packet's destination in the current tables.  The
 * worker named a peer id, but the tables may have changed while the
 * packet sat in the ring (an allowed IP moved, a peer went and its id was
 * reused): route again rather than trust the id. */
static struct gw_peer *stage_owner(struct gateway *gw, struct rte_mbuf *m)
{
	const struct pkt_meta *meta = pkt_meta(m);
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l3_off);
	struct ip_addr dst = { .family = meta->l3_family };
	uint32_t id;

	if (meta->l3_family == IP_V4)
		memcpy(dst.bytes, ((const struct ipv4_hdr *)ip)->dst, 4);
	else
		memcpy(dst.bytes, ((const struct ipv6_hdr *)ip)->dst, 16);
	if (!allowedips_lookup(gw->dp.tables->allowedips, &dst, &id))
		return NULL;
	return gateway_peer_by_id(gw, id);
}

void handshake_stage(struct gateway *gw, struct rte_mbuf *m)
{
	struct gw_peer *peer = stage_owner(gw, m);
	struct ip_endpoint ep;
	struct gw_staged *s;

	if (peer == NULL) {
		dp_drop(gw->ctx.st, m, DROP_no_route);
		return;
	}
	/* A session may have come up while the packet waited in the ring
	 * (the response was handled first), or the packet was routed again
	 * to a peer that has one: send it now, after what waited before it. */
	if (tunnel_can_send(&gw->ctx, peer)) {
		if (peer->staged.count)
			send_staged(gw, peer);
		tunnel_encap(&gw->ctx, m, peer);
		return;
	}
	gw_endpoint_read(&peer->endpoint, &ep);
	if (ep.addr.family == IP_NONE) {             /* nowhere to shake hands */
		dp_drop(gw->ctx.st, m, DROP_no_endpoint);
		return;
	}
	s = &peer->staged;
	if (s->count == MAX_QUEUED_PACKETS) {   /* drop the oldest, as Linux */
		dp_drop(gw->ctx.st, s->pkts[s->head], DROP_no_key_stage_full);
		s->head = (s->head + 1) % MAX_QUEUED_PACKETS;
		s->count--;
		gw->n_staged--;
	}
	if (gw->n_staged >= STAGED_TOTAL_MAX) {
		dp_drop(gw->ctx.st, m, DROP_no_key_stage_full);
	} else {
		s->pkts[(s->head + s->count++) % MAX_QUEUED_PACKETS] = m;
		gw->n_staged++;
	}
	handshake_send_initiation(gw, peer, false);
}

/* --- Receiving handshake messages --------------------------------------- */

static struct noise_handshake *lookup_by_key(void *ctx, const uint8_t key[32])
{
	struct gw_peer *peer = gateway_peer_by_key(ctx, key);

	return peer ? &peer->handshake : NULL;
}

static void received_authenticated(struct gw_peer *peer, const struct ip_endpoint *src,
				   uint64_t now)
{
	gw_endpoint_write(&peer->endpoint, src);
	wg_timers_any_authenticated_packet_received(&peer->timers, now);
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);
}

static bool install_session(struct gateway *gw, struct gw_peer *peer)
{
	struct gw_keypair *kp = gateway_keypair_new(peer);
	struct index_slot *slot = gateway_index_slot(gw, peer->handshake.local_index);

	if (kp == NULL || slot == NULL ||
	    !noise_handshake_begin_session(&peer->handshake, &kp->noise, gw->ctx.now)) {
		free(kp);
		return false;
	}
	/* The handshake's index now names the keypair. */
	slot->handshake_peer = NULL;
	atomic_store_explicit(&slot->keypair, kp, memory_order_release);
	peer->handshake_index = 0;
	noise_keypairs_install(&peer->keypairs, &kp->noise);
	wg_timers_session_derived(&peer->timers, gw->ctx.now);
	return true;
}

static void consume_initiation(struct gateway *gw, const void *msg,
			       const struct ip_endpoint *src)
{
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct gw_peer *peer;
	uint64_t now = gw->ctx.now;
	uint32_t index;

	hs = noise_handshake_consume_initiation(msg, &gw->identity, lookup_by_key, gw, now);
	if (hs == NULL) {
		gw->ctx.st->drops[DROP_handshake_invalid]++;
		return;
	}
	peer = hs->owner;
	received_authenticated(peer, src, now);
	gateway_index_free(gw, peer->handshake_index);
	index = gateway_index_alloc(gw, peer);
	peer->handshake_index = index;
	if (index == 0 || !noise_handshake_create_response(&resp, hs, index))
		return;
	cookie_add_macs(&peer->cookie, &resp, sizeof(resp), now);
	if (!install_session(gw, peer))
		return;
	sent_authenticated(peer, now);
	send_message(gw, &resp, sizeof(resp), src);
}

static void consume_response(struct gateway *gw, const struct message_handshake_response *msg,
			     const struct ip_endpoint *src)
{
	struct index_slot *slot = gateway_index_slot(gw, rte_le_to_cpu_32(msg->receiver_index));
	struct gw_peer *peer = slot ? slot->handshake_peer : NULL;
	uint64_t now = gw->ctx.now;

	if (peer == NULL || !noise_handshake_consume_response(msg, &peer->handshake) ||
	    !install_session(gw, peer)) {
		gw->ctx.st->drops[DROP_handshake_invalid]++;
		return;
	}
	received_authenticated(peer, src, now);
	wg_timers_handshake_complete(&peer->timers, now);
	peer->last_handshake_realtime = dp_realtime();
	send_staged(gw, peer);
}

static void consume_cookie(struct gateway *gw, const struct message_handshake_cookie *msg)
{
	struct index_slot *slot = gateway_index_slot(gw, rte_le_to_cpu_32(msg->receiver_index));
	struct gw_peer *peer = NULL;
	struct gw_keypair *kp;

	if (slot) {
		kp = atomic_load_explicit(&slot->keypair, memory_order_relaxed);
		peer = slot->handshake_peer ? slot->handshake_peer : kp ? kp->peer : NULL;
	}
	if (peer == NULL || cookie_message_consume(msg, &peer->cookie, gw->ctx.now) < 0)
		gw->ctx.st->drops[DROP_handshake_invalid]++;
}

static const size_t message_sizes[] = {
	[MESSAGE_HANDSHAKE_INITIATION] = sizeof(struct message_handshake_initiation),
	[MESSAGE_HANDSHAKE_RESPONSE] = sizeof(struct message_handshake_response),
	[MESSAGE_HANDSHAKE_COOKIE] = sizeof(struct message_handshake_cookie),
};

/* MAC1 always; under load MAC2 (else a cookie reply) and a per-source limit. */
static bool admit(struct gateway *gw, const uint8_t *msg, uint32_t type,
		  const struct ip_endpoint *src)
{
	bool under_load = rte_ring_count(gw->dp.handshake_ring) >= UNDER_LOAD_THRESHOLD;
	enum cookie_mac_state st;

	if (type == MESSAGE_HANDSHAKE_COOKIE)
		return true;
	st = cookie_validate_packet(&gw->cookie_checker, msg, message_sizes[type], src,
				    under_load, gw->ctx.now);
	if (st == INVALID_MAC) {
		gw->ctx.st->drops[DROP_handshake_invalid]++;
		return false;
	}
	if (!under_load)
		return true;
	if (st == VALID_MAC_BUT_NO_COOKIE) {
		struct message_handshake_cookie reply;
		uint32_t sender = ((const struct message_handshake_initiation *)msg)->sender_index;

		cookie_message_create(&reply, msg, message_sizes[type],
				      rte_le_to_cpu_32(sender), &gw->cookie_checker, src,
				      gw->ctx.now);
		send_message(gw, &reply, sizeof(reply), src);
		return false;
	}
	if (!ratelimiter_allow(gw->ratelimiter, &src->addr, gw->ctx.now)) {
		gw->ctx.st->drops[DROP_handshake_ratelimited]++;
		return false;
	}
	return true;
}

void handshake_input(struct gateway *gw, struct rte_mbuf *m)
{
	const struct pkt_meta *meta = pkt_meta(m);
	const uint8_t *msg = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->msg_off);
	uint32_t len = rte_pktmbuf_data_len(m) - meta->msg_off;
	uint32_t type = rte_le_to_cpu_32(*(const uint32_t *)msg);
	struct ip_endpoint src;

	gw->ctx.st->handshakes_rx++;
	if (type >= RTE_DIM(message_sizes) || message_sizes[type] != len) {
		dp_drop(gw->ctx.st, m, DROP_wg_bad_type);
		return;
	}
	tunnel_outer_source(m, &src);
	if (admit(gw, msg, type, &src)) {
		if (type == MESSAGE_HANDSHAKE_INITIATION)
			consume_initiation(gw, msg, &src);
		else if (type == MESSAGE_HANDSHAKE_RESPONSE)
			consume_response(gw, (const void *)msg, &src);
		else
			consume_cookie(gw, (const void *)msg);
	}
	rte_pktmbuf_free(m);
}

/* --- Events from workers ------------------------------------------------ */

void handshake_event(struct gateway *gw, const struct dp_event *ev)
{
	struct gw_peer *peer = gateway_peer_by_id(gw, ev->peer_id);
	struct noise_keypair *next;

	if (peer == NULL)
		return;
	if (ev->type == EV_REKEY) {
		atomic_store_explicit(&peer->rekey_requested, false, memory_order_relaxed);
		handshake_send_initiation(gw, peer, false);
		return;
	}
	next = atomic_load_explicit(&peer->keypairs.next, memory_order_relaxed);
	if (ev->type == EV_KEY_CONFIRMED && next && next->local_index == ev->index &&
	    noise_keypairs_received_with(&peer->keypairs, next)) {
		wg_timers_handshake_complete(&peer->timers, gw->ctx.now);
		peer->last_handshake_realtime = dp_realtime();
		send_staged(gw, peer);
	}
}

/* --- Timers -------------------------------------------------------------- */

/* Feed the datapath's traffic timestamps to the timers, oldest first, so a
 * "sent" after a "received" in the same tick cancels the keepalive. */
static void observe(struct gw_peer *p)
{
	struct { uint64_t ts; int kind; } ev[4];
	uint64_t v;
	int n = 0;

#define SEEN(field, seen, k) \
	v = atomic_load_explicit(&p->field, memory_order_relaxed); \
	if (v != p->seen) { p->seen = v; ev[n].ts = v; ev[n++].kind = k; }
	SEEN(last_data_tx, seen_data_tx, 0)
	SEEN(last_data_rx, seen_data_rx, 1)
	SEEN(last_auth_tx, seen_auth_tx, 2)
	SEEN(last_auth_rx, seen_auth_rx, 3)
#undef SEEN
	for (int i = 1; i < n; i++)           /* insertion sort of <= 4 */
		for (int j = i; j > 0 && ev[j].ts < ev[j - 1].ts; j--) {
			typeof(ev[0]) t = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		switch (ev[i].kind) {
		case 0: wg_timers_data_sent(&p->timers, ev[i].ts); break;
		case 1: wg_timers_data_received(&p->timers, ev[i].ts); break;
		case 2: sent_authenticated(p, ev[i].ts); break;
		default:
			wg_timers_any_authenticated_packet_received(&p->timers, ev[i].ts);
			wg_timers_any_authenticated_packet_traversal(&p->timers, ev[i].ts);
		}
	}
}

static void keepalive_or_handshake(struct gateway *gw, struct gw_peer *peer)
{
	if (!tunnel_send_keepalive(&gw->ctx, peer))
		handshake_send_initiation(gw, peer, false);
}

void handshake_peer_tick(struct gateway *gw, struct gw_peer *peer)
{
	unsigned actions;

	observe(peer);
	actions = wg_timers_poll(&peer->timers, gw->ctx.now);
	if (actions & TIMER_RETRANSMIT_INITIATION)
		handshake_send_initiation(gw, peer, true);
	if (actions & TIMER_SEND_INITIATION)
		handshake_send_initiation(gw, peer, false);
	if (actions & (TIMER_SEND_KEEPALIVE | TIMER_SEND_PERSISTENT_KEEPALIVE))
		keepalive_or_handshake(gw, peer);
	if (actions & TIMER_HANDSHAKE_GAVE_UP)
		staged_drop_all(gw, peer);
	if (actions & TIMER_ZERO_KEY_MATERIAL)
		handshake_peer_reset(gw, peer);
}

void handshake_peer_reset(struct gateway *gw, struct gw_peer *peer)
{
	noise_keypairs_clear(&peer->keypairs);
	noise_handshake_clear(&peer->handshake);
	gateway_index_free(gw, peer->handshake_index);
	peer->handshake_index = 0;
}

void handshake_peer_retire(struct gateway *gw, struct gw_peer *peer)
{
	handshake_peer_reset(gw, peer);
	staged_drop_all(gw, peer);
}
