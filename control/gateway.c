/* SPDX-License-Identifier: BSD-3-Clause */
#include "gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu-qsbr.h>

#include <sodium.h>

#include "allowedips.h"
#include "random.h"
#include "timers.h"

#define INDEX_MASK ((1u << DP_INDEX_BITS) - 1)

/* --- Deferred frees ---------------------------------------------------- */

void gateway_defer_free(struct gateway *gw, void *ptr, void (*fn)(void *))
{
	if (gw->n_deferred == gw->cap_deferred) {
		size_t cap = gw->cap_deferred ? gw->cap_deferred * 2 : 64;
		struct deferred *d = realloc(gw->deferred, cap * sizeof(*d));

		if (d == NULL) {
			/* Out of memory: wait here rather than free early. */
			synchronize_rcu();
			fn(ptr);
			return;
		}
		gw->deferred = d;
		gw->cap_deferred = cap;
	}
	gw->deferred[gw->n_deferred++] = (struct deferred){ ptr, fn };
}

void gateway_reclaim(struct gateway *gw)
{
	if (gw->n_deferred == 0)
		return;
	synchronize_rcu();
	for (size_t i = 0; i < gw->n_deferred; i++)
		gw->deferred[i].fn(gw->deferred[i].ptr);
	gw->n_deferred = 0;
}

/* --- Index slots ------------------------------------------------------- */

struct index_slot *gateway_index_slot(struct gateway *gw, uint32_t index)
{
	struct index_slot *s = &gw->dp.index_slots[index & INDEX_MASK];

	return index != 0 && s->index == index ? s : NULL;
}

uint32_t gateway_index_alloc(struct gateway *gw, struct gw_peer *peer)
{
	/* Random probing keeps indices unpredictable; with 2^18 slots a
	 * sparse table almost never needs a second try. */
	for (int tries = 0; tries < 256; tries++) {
		uint32_t index = random_u32();
		struct index_slot *s = &gw->dp.index_slots[index & INDEX_MASK];

		if (index == 0 || s->index != 0)
			continue;
		s->index = index;
		s->handshake_peer = peer;
		atomic_store_explicit(&s->keypair, NULL, memory_order_relaxed);
		return index;
	}
	return 0;
}

void gateway_index_free(struct gateway *gw, uint32_t index)
{
	struct index_slot *s = gateway_index_slot(gw, index);

	if (s == NULL)
		return;
	atomic_store_explicit(&s->keypair, NULL, memory_order_release);
	s->handshake_peer = NULL;
	s->index = 0;
}

/* --- Keypairs ---------------------------------------------------------- */

struct gw_keypair *gateway_keypair_new(struct gw_peer *peer)
{
	struct gw_keypair *kp = aligned_alloc(64, (sizeof(*kp) + 63) & ~(size_t)63);

	if (kp == NULL)
		return NULL;
	memset(kp, 0, sizeof(*kp));
	rte_spinlock_init(&kp->replay_lock);
	kp->peer = peer;
	kp->noise.owner = peer;
	return kp;
}

static void keypair_free(void *p)
{
	sodium_memzero(p, sizeof(struct gw_keypair));
	free(p);
}

void gateway_keypair_retire(struct noise_keypair *nk, void *ctx)
{
	struct gateway *gw = ctx;
	struct gw_keypair *kp = container_of(nk, struct gw_keypair, noise);
	struct index_slot *s = gateway_index_slot(gw, nk->local_index);

	atomic_store_explicit(&nk->valid, false, memory_order_release);
	if (s && atomic_load_explicit(&s->keypair, memory_order_relaxed) == kp)
		gateway_index_free(gw, nk->local_index);
	gateway_defer_free(gw, kp, keypair_free);
}

/* --- Peers ------------------------------------------------------------- */

struct gw_peer *gateway_peer_by_id(struct gateway *gw, uint32_t id)
{
	struct dp_tables *t = gw->dp.tables;

	return id < t->n_peer_slots ? t->peers[id] : NULL;
}

static int cmp_key(const void *key, const void *entry)
{
	return memcmp(key, ((const struct gw_peer_key *)entry)->key, 32);
}

/* Handshakes find their peer by binary search in the sorted keys that
 * gateway_apply() rebuilds with every change: O(log n) per initiation,
 * even for a hub with tens of thousands of peers. */
struct gw_peer *gateway_peer_by_key(struct gateway *gw, const uint8_t key[32])
{
	const struct gw_peer_key *k = bsearch(key, gw->peer_keys, gw->n_peer_keys,
					      sizeof(*k), cmp_key);

	return k ? k->peer : NULL;
}

/* --- Counters ---------------------------------------------------------- */

void gateway_stats_sum(const struct gateway *gw, struct dp_lcore_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned l = 0; l < DP_MAX_LCORES; l++) {
		const struct dp_lcore_stats *s = &gw->dp.stats[l];

		for (unsigned d = 0; d < DROP_COUNT; d++)
			out->drops[d] += s->drops[d];
		for (unsigned p = 0; p < PORT_COUNT; p++) {
			out->port[p].rx_packets += s->port[p].rx_packets;
			out->port[p].rx_bytes += s->port[p].rx_bytes;
			out->port[p].tx_packets += s->port[p].tx_packets;
			out->port[p].tx_bytes += s->port[p].tx_bytes;
		}
		out->decap_packets += s->decap_packets;
		out->encap_packets += s->encap_packets;
		out->keepalives_rx += s->keepalives_rx;
		out->handshakes_rx += s->handshakes_rx;
		out->handshakes_tx += s->handshakes_tx;
		out->icmp_tx += s->icmp_tx;
		out->host_to_tap += s->host_to_tap;
		out->host_from_tap += s->host_from_tap;
	}
}

void gateway_stats_print(const struct gateway *gw, FILE *f)
{
	struct dp_lcore_stats s;

	gateway_stats_sum(gw, &s);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		fprintf(f, "stat %s_rx_packets %lu\n", config_port_names[p], s.port[p].rx_packets);
		fprintf(f, "stat %s_rx_bytes %lu\n", config_port_names[p], s.port[p].rx_bytes);
		fprintf(f, "stat %s_tx_packets %lu\n", config_port_names[p], s.port[p].tx_packets);
		fprintf(f, "stat %s_tx_bytes %lu\n", config_port_names[p], s.port[p].tx_bytes);
	}
	fprintf(f, "stat decap_packets %lu\n", s.decap_packets);
	fprintf(f, "stat encap_packets %lu\n", s.encap_packets);
	fprintf(f, "stat keepalives_rx %lu\n", s.keepalives_rx);
	fprintf(f, "stat handshakes_rx %lu\n", s.handshakes_rx);
	fprintf(f, "stat handshakes_tx %lu\n", s.handshakes_tx);
	fprintf(f, "stat icmp_tx %lu\n", s.icmp_tx);
	if (gw->has_host_port) {
		fprintf(f, "stat host_to_tap %lu\n", s.host_to_tap);
		fprintf(f, "stat host_from_tap %lu\n", s.host_from_tap);
	}
	gateway_xdp_stats_print(gw, f);
	gateway_nat_stats_print(gw, f);
	for (unsigned d = 0; d < DROP_COUNT; d++)
		fprintf(f, "drop %s %lu\n", dp_drop_names[d], s.drops[d]);
	/* Per lcore: which thread did the work (the control lcore sends
	 * handshakes and ARP through worker 0, so it has no rx). */
	for (unsigned l = 0; l < DP_MAX_LCORES; l++) {
		const struct dp_lcore_stats *ls = &gw->dp.stats[l];
		uint64_t rx = 0, drops = 0;

		for (unsigned p = 0; p < PORT_COUNT; p++)
			rx += ls->port[p].rx_packets;
		for (unsigned d = 0; d < DROP_COUNT; d++)
			drops += ls->drops[d];
		if (rx || drops || ls->handshakes_rx)
			fprintf(f, "lcore %u rx_packets %lu decap_packets %lu encap_packets %lu "
				"drops %lu handshakes_rx %lu\n", l, rx, ls->decap_packets,
				ls->encap_packets, drops, ls->handshakes_rx);
	}
	fflush(f);
}
