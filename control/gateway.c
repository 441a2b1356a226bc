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

struct gw_peer *gateway_peer_by_key(struct gateway *gw, const uint8_t key[32])
{
	struct dp_tables *t = gw->dp.tables;

	/* Public keys are not secret; a linear scan is fine at handshake
	 * rates for the peer counts of this release. */
	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i] && memcmp(t->peers[i]->public_key, key, 32) == 0)
			return t->peers[i];
	return NULL;
}

static struct gw_peer *peer_create(struct gateway *gw, const struct config_peer *cp,
				   uint32_t id, char *err, size_t errlen)
{
	struct gw_peer *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	p->id = id;
	memcpy(p->public_key, cp->public_key, 32);
	noise_keypairs_init(&p->keypairs, gateway_keypair_retire, gw);
	rte_spinlock_init(&p->endpoint.write_lock);
	if (cp->has_endpoint)
		p->endpoint.ep = cp->endpoint;
	p->persistent_keepalive = cp->persistent_keepalive;
	if (noise_handshake_init(&p->handshake, &gw->identity, cp->public_key,
				 cp->has_preshared_key ? cp->preshared_key : NULL, p) < 0) {
		snprintf(err, errlen, "%s:%u: peer public key is unusable (weak point)",
			 gw->cfg->path, cp->line);
		free(p);
		return NULL;
	}
	cookie_maker_init(&p->cookie, cp->public_key);
	wg_timers_init(&p->timers, cp->persistent_keepalive);
	return p;
}

static void peer_free(void *ptr)
{
	struct gw_peer *p = ptr;

	for (unsigned i = 0; i < p->staged.count; i++)
		rte_pktmbuf_free(p->staged.pkts[(p->staged.head + i) % MAX_QUEUED_PACKETS]);
	noise_handshake_destroy(&p->handshake);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* --- Tables ------------------------------------------------------------ */

static void mask_prefix(struct ip_prefix *p)
{
	unsigned len = ip_addr_len(&p->addr);

	for (unsigned i = 0; i < len; i++) {
		int bits = (int)p->cidr - (int)i * 8;

		p->addr.bytes[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static int add_route(struct dp_port_conf *pc, const struct ip_prefix *dst,
		     const struct ip_addr *via)
{
	struct dp_route *r = realloc(pc->routes, (pc->n_routes + 1) * sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	pc->routes = r;
	r[pc->n_routes].dst = *dst;
	mask_prefix(&r[pc->n_routes].dst);
	if (via)
		r[pc->n_routes].via = *via;
	else
		memset(&r[pc->n_routes].via, 0, sizeof(*via));
	if (allowedips_insert(pc->route_lpm, &r[pc->n_routes].dst, pc->n_routes) < 0)
		return -ENOMEM;
	pc->n_routes++;
	return 0;
}

static void link_local_from_mac(struct ip_addr *ll, const uint8_t mac[6])
{
	/* RFC 4291 appendix A: modified EUI-64. */
	memset(ll, 0, sizeof(*ll));
	ll->family = IP_V6;
	ll->bytes[0] = 0xfe;
	ll->bytes[1] = 0x80;
	ll->bytes[8] = mac[0] ^ 0x02;
	ll->bytes[9] = mac[1];
	ll->bytes[10] = mac[2];
	ll->bytes[11] = 0xff;
	ll->bytes[12] = 0xfe;
	ll->bytes[13] = mac[3];
	ll->bytes[14] = mac[4];
	ll->bytes[15] = mac[5];
}

static int port_conf_build(struct dp_port_conf *pc, const struct config_port *cp,
			   const struct port_info *pi)
{
	static const struct ip_prefix any4 = { .addr.family = IP_V4, .cidr = 0 };
	static const struct ip_prefix any6 = { .addr.family = IP_V6, .cidr = 0 };
	bool has_v6 = false;
	int ret = 0;

	pc->present = cp->present;
	pc->route_lpm = allowedips_create();
	if (pc->route_lpm == NULL)
		return -ENOMEM;
	if (!cp->present)
		return 0;
	pc->port_id = pi->port_id;
	pc->vlan = cp->vlan;
	pc->mtu = cp->mtu ? cp->mtu : 1500;
	memcpy(pc->mac, pi->mac, 6);
	pc->n_addrs = (unsigned)cp->n_addresses;
	memcpy(pc->addrs, cp->addresses, cp->n_addresses * sizeof(cp->addresses[0]));
	for (unsigned i = 0; i < pc->n_addrs && ret == 0; i++) {
		has_v6 |= pc->addrs[i].addr.family == IP_V6;
		ret = add_route(pc, &pc->addrs[i], NULL);       /* connected */
	}
	if (has_v6)
		link_local_from_mac(&pc->link_local, pc->mac);
	for (size_t i = 0; i < cp->n_routes && ret == 0; i++)
		ret = add_route(pc, &cp->routes[i].dst, &cp->routes[i].via);
	if (ret == 0 && cp->gateway4.family)
		ret = add_route(pc, &any4, &cp->gateway4);
	if (ret == 0 && cp->gateway6.family)
		ret = add_route(pc, &any6, &cp->gateway6);
	return ret;
}

static void tables_free(void *ptr)
{
	struct dp_tables *t = ptr;

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		allowedips_destroy(t->ports[p].route_lpm);
		free(t->ports[p].routes);
	}
	allowedips_destroy(t->allowedips);
	gateway_nat_tables_free(t);
	free(t->peers);
	free(t);
}

static int tables_build(struct gateway *gw, struct dp_tables **out,
			char *err, size_t errlen)
{
	const struct config *cfg = gw->cfg;
	struct dp_tables *t = calloc(1, sizeof(*t));
	int ret = -ENOMEM;

	if (t == NULL)
		goto fail;
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if (port_conf_build(&t->ports[p], &cfg->ports[p], &gw->ports[p]) < 0)
			goto fail;
	t->n_tun_addrs = (unsigned)cfg->iface.n_addresses;
	memcpy(t->tun_addrs, cfg->iface.addresses,
	       cfg->iface.n_addresses * sizeof(cfg->iface.addresses[0]));
	t->listen_port = cfg->iface.listen_port;
	t->tunnel_mtu = cfg->iface.mtu ? cfg->iface.mtu : WG_DEFAULT_MTU;
	t->allowedips = allowedips_create();
	t->n_peer_slots = (uint32_t)cfg->n_peers;
	t->peers = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof(*t->peers));
	if (t->allowedips == NULL || t->peers == NULL)
		goto fail;
	ret = gateway_nat_tables(gw, t, err, errlen);
	if (ret < 0)
		goto fail;
	ret = -ENOMEM;
	for (uint32_t i = 0; i < cfg->n_peers; i++) {
		const struct config_peer *cp = &cfg->peers[i];

		t->peers[i] = peer_create(gw, cp, i, err, errlen);
		if (t->peers[i] == NULL) {
			ret = -EINVAL;
			goto fail;
		}
		for (size_t a = 0; a < cp->n_allowed_ips; a++)
			if (allowedips_insert(t->allowedips, &cp->allowed_ips[a], i) < 0)
				goto fail;
	}
	*out = t;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory building tables");
	if (t) {
		for (uint32_t i = 0; t->peers && i < t->n_peer_slots; i++)
			if (t->peers[i])
				peer_free(t->peers[i]);
		tables_free(t);
	}
	return ret;
}

int gateway_start(struct gateway *gw, char *err, size_t errlen)
{
	struct dp_tables *t;
	int ret;

	ret = noise_static_identity_set(&gw->identity, gw->cfg->iface.private_key);
	if (ret < 0) {
		snprintf(err, errlen, "%s: PrivateKey is unusable", gw->cfg->path);
		return ret;
	}
	cookie_checker_init(&gw->cookie_checker, gw->identity.static_public);
	ret = tables_build(gw, &t, err, errlen);
	if (ret < 0)
		return ret;
	rcu_assign_pointer(gw->dp.tables, t);
	return 0;
}

void gateway_stop(struct gateway *gw)
{
	struct dp_tables *t = gw->dp.tables;

	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->n_peer_slots; i++) {
		if (t->peers[i] == NULL)
			continue;
		noise_keypairs_clear(&t->peers[i]->keypairs);
		gateway_defer_free(gw, t->peers[i], peer_free);
	}
	rcu_assign_pointer(gw->dp.tables, NULL);
	gateway_defer_free(gw, t, tables_free);
	gateway_reclaim(gw);
	noise_static_identity_clear(&gw->identity);
	free(gw->deferred);
	gw->deferred = NULL;
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
	}
}

void gateway_stats_print(const struct gateway *gw, FILE *f)
{
	static const char *const port_names[PORT_COUNT] = { "public", "private" };
	struct dp_lcore_stats s;

	gateway_stats_sum(gw, &s);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		fprintf(f, "stat %s_rx_packets %lu\n", port_names[p], s.port[p].rx_packets);
		fprintf(f, "stat %s_rx_bytes %lu\n", port_names[p], s.port[p].rx_bytes);
		fprintf(f, "stat %s_tx_packets %lu\n", port_names[p], s.port[p].tx_packets);
		fprintf(f, "stat %s_tx_bytes %lu\n", port_names[p], s.port[p].tx_bytes);
	}
	fprintf(f, "stat decap_packets %lu\n", s.decap_packets);
	fprintf(f, "stat encap_packets %lu\n", s.encap_packets);
	fprintf(f, "stat keepalives_rx %lu\n", s.keepalives_rx);
	fprintf(f, "stat handshakes_rx %lu\n", s.handshakes_rx);
	fprintf(f, "stat handshakes_tx %lu\n", s.handshakes_tx);
	fprintf(f, "stat icmp_tx %lu\n", s.icmp_tx);
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
