/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and publishing the tables, at start-up and for every live change
 * (`wg set`, `wg syncconf`, `portcullisctl reload`, runtime forwards).
 *
 * One path for both: gateway_start() is gateway_apply() from nothing.  A
 * change runs in two phases:
 *   build   - everything that can fail: the new tables, the new peers (with
 *             fresh ids), a NAT table if [NAT] appears for the first time.
 *             On failure all of it is freed and nothing was touched.
 *   commit  - cannot fail: settings of kept peers, removed peers reset and
 *             retired, the new tables published with one rcu_assign_pointer,
 *             old tables and removed peers freed after a grace period.
 * Workers never stop: a worker still in an iteration with the old tables
 * sees old peers that are alive until the grace period ends.
 *
 * A kept peer keeps its struct gw_peer, hence its id, keypairs, handshake,
 * timers, counters, staged packets and learned endpoint.  Peer ids of new
 * peers reuse free slots at once; the control thread re-routes staged
 * packets instead of trusting an id that waited in a ring (handshake.c),
 * and key confirmations carry the keypair index, so a reused id cannot
 * misdirect anything.
 */
#include "gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include <sodium.h>

#include "allowedips.h"
#include "handshake.h"
#include "timers.h"
#include "tunnel.h"

/* --- Peers ------------------------------------------------------------- */

static struct gw_peer *peer_create(struct gateway *gw, const struct config *cfg,
				   const struct config_peer *cp, uint32_t id,
				   char *err, size_t errlen)
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
			 cfg->path, cp->line);
		noise_handshake_destroy(&p->handshake);
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

/* --- Ports and routes ---------------------------------------------------- */

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

/* --- Build ---------------------------------------------------------------- */

struct cfg_key;

/* What a change will do, worked out before anything is touched. */
struct plan {
	const struct config *next;
	struct dp_tables *t;
	struct gw_peer **match;             /* per next peer: kept peer or NULL */
	struct gw_peer **created;           /* new peers, freed on failure */
	size_t n_created;
	struct nat *new_nat;                /* created for a first [NAT] */
	bool identity_changed;
	struct cfg_key *cfg_keys;           /* the running config's peers */
	struct gw_peer_key *keys;           /* the new handshake key index */
	uint32_t n_keys;
};

static void plan_abort(struct plan *pl)
{
	for (size_t i = 0; i < pl->n_created; i++)
		peer_free(pl->created[i]);
	if (pl->t)
		tables_free(pl->t);
	nat_destroy(pl->new_nat);
	free(pl->match);
	free(pl->created);
	free(pl->cfg_keys);
	free(pl->keys);
}

/* Ids: kept peers keep theirs; new peers take the lowest free ones. */
static int assign_peers(struct gateway *gw, struct plan *pl, char *err, size_t errlen)
{
	const struct config *next = pl->next;
	uint32_t old_slots = gw->dp.tables ? gw->dp.tables->n_peer_slots : 0;
	uint32_t cap = old_slots + (uint32_t)next->n_peers, free_id = 0, n_slots = 0;
	bool *used = calloc(cap ? cap : 1, sizeof(*used));
	int ret = 0;

	pl->match = calloc(next->n_peers ? next->n_peers : 1, sizeof(*pl->match));
	pl->created = calloc(next->n_peers ? next->n_peers : 1, sizeof(*pl->created));
	if (used == NULL || pl->match == NULL || pl->created == NULL) {
		free(used);
		snprintf(err, errlen, "out of memory building tables");
		return -ENOMEM;
	}
	for (size_t i = 0; i < next->n_peers; i++) {
		struct gw_peer *p = gateway_peer_by_key(gw, next->peers[i].public_key);

		pl->match[i] = p;
		if (p) {
			used[p->id] = true;
			n_slots = p->id + 1 > n_slots ? p->id + 1 : n_slots;
		}
	}
	for (size_t i = 0; i < next->n_peers && ret == 0; i++) {
		struct gw_peer *p;

		if (pl->match[i])
			continue;
		while (used[free_id])
			free_id++;
		p = peer_create(gw, next, &next->peers[i], free_id, err, errlen);
		if (p == NULL) {
			ret = -EINVAL;
			break;
		}
		used[free_id] = true;
		n_slots = free_id + 1 > n_slots ? free_id + 1 : n_slots;
		pl->created[pl->n_created++] = p;
	}
	free(used);
	if (ret == 0) {
		pl->t->n_peer_slots = n_slots;
		pl->t->peers = calloc(n_slots ? n_slots : 1, sizeof(*pl->t->peers));
		if (pl->t->peers == NULL) {
			snprintf(err, errlen, "out of memory building tables");
			ret = -ENOMEM;
		}
	}
	return ret;
}

static int tables_build(struct gateway *gw, struct plan *pl, char *err, size_t errlen)
{
	const struct config *cfg = pl->next;
	struct dp_tables *t = calloc(1, sizeof(*t));
	size_t created = 0;
	int ret;

	if (t == NULL)
		goto nomem;
	pl->t = t;
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if (port_conf_build(&t->ports[p], &cfg->ports[p], &gw->ports[p]) < 0)
			goto nomem;
	/* One NIC for both sides: the workers poll it once and sort frames
	 * by VLAN (dataplane/worker.c). */
	t->shared_port = t->ports[PORT_PUBLIC].present && t->ports[PORT_PRIVATE].present &&
			 t->ports[PORT_PUBLIC].port_id == t->ports[PORT_PRIVATE].port_id;
	t->n_tun_addrs = (unsigned)cfg->iface.n_addresses;
	memcpy(t->tun_addrs, cfg->iface.addresses,
	       cfg->iface.n_addresses * sizeof(cfg->iface.addresses[0]));
	t->listen_port = cfg->iface.listen_port;
	t->tunnel_mtu = config_tunnel_mtu(cfg);
	t->has_host_port = gw->has_host_port;
	t->host_port_id = gw->host_port.port_id;
	memcpy(t->host_mac, gw->host_port.mac, 6);
	t->allowedips = allowedips_create();
	if (t->allowedips == NULL)
		goto nomem;
	ret = gateway_nat_tables(cfg, t, err, errlen);
	if (ret < 0)
		return ret;
	ret = assign_peers(gw, pl, err, errlen);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct config_peer *cp = &cfg->peers[i];
		struct gw_peer *p = pl->match[i] ? pl->match[i] : pl->created[created++];

		t->peers[p->id] = p;
		for (size_t a = 0; a < cp->n_allowed_ips; a++)
			if (allowedips_insert(t->allowedips, &cp->allowed_ips[a], p->id) < 0)
				goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory building tables");
	return -ENOMEM;
}

/* What cannot change while the ports run. */
static int check_static(const struct gateway *gw, const struct config *next,
			char *err, size_t errlen)
{
	const struct config *cur = gw->cfg;

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		const struct config_port *a = &cur->ports[p], *b = &next->ports[p];

		if (a->present != b->present ||
		    (a->present && (strcmp(a->device, b->device) != 0 || a->mtu != b->mtu ||
				    strcmp(a->host_iface, b->host_iface) != 0))) {
			snprintf(err, errlen, "%s:%u: [Port %s] Device, MTU and HostInterface cannot change "
				 "while portcullisd runs (restart it)", next->path,
				 b->line ? b->line : a->line, config_port_names[p]);
			return -EBUSY;
		}
	}
	if (gw->dp.nat && next->nat.enabled &&
	    next->nat.max_sessions != nat_capacity(gw->dp.nat)) {
		snprintf(err, errlen, "%s: [NAT] MaxSessions cannot change while "
			 "portcullisd runs (it is %u; restart to use %u)", next->path,
			 nat_capacity(gw->dp.nat), next->nat.max_sessions);
		return -EBUSY;
	}
	return 0;
}

/* Compared by public key: wg showconf prints the clamped private key, so
 * the same identity may come back with other low and high bits. */
static bool identity_differs(const struct config *cur, const struct config *next)
{
	uint8_t a[32], b[32];
	bool differs = noise_public_from_private(a, cur->iface.private_key) < 0 ||
		       noise_public_from_private(b, next->iface.private_key) < 0 ||
		       sodium_memcmp(a, b, 32) != 0;

	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return differs;
}

static int key_index_build(const struct dp_tables *t, struct gw_peer_key **out,
			   uint32_t *n_out);
static int cfg_index_build(const struct config *cfg, struct cfg_key **out);

static int plan_build(struct gateway *gw, struct plan *pl, char *err, size_t errlen)
{
	const struct config *next = pl->next;
	int ret;

	if (gw->cfg != next) {
		ret = check_static(gw, next, err, errlen);
		if (ret < 0)
			return ret;
		pl->identity_changed = identity_differs(gw->cfg, next);
	}
	if (next->nat.enabled && gw->dp.nat == NULL) {
		pl->new_nat = nat_create(next->nat.max_sessions);
		if (pl->new_nat == NULL) {
			snprintf(err, errlen, "%s: cannot allocate the NAT table for %u "
				 "sessions; lower [NAT] MaxSessions", next->path,
				 next->nat.max_sessions);
			return -ENOMEM;
		}
	}
	ret = tables_build(gw, pl, err, errlen);
	if (ret < 0)
		return ret;
	/* Everything commit needs is allocated here, where failing is fine. */
	if (key_index_build(pl->t, &pl->keys, &pl->n_keys) < 0 ||
	    (gw->cfg != next && cfg_index_build(gw->cfg, &pl->cfg_keys) < 0)) {
		snprintf(err, errlen, "out of memory building tables");
		return -ENOMEM;
	}
	return 0;
}

/* --- Commit --------------------------------------------------------------- */

static int cmp_peer_key(const void *a, const void *b)
{
	return memcmp(((const struct gw_peer_key *)a)->key,
		      ((const struct gw_peer_key *)b)->key, 32);
}

/* The sorted key index for handshakes; on no memory the old one stays
 * with lookups that may miss, so try first and only then swap. */
static int key_index_build(const struct dp_tables *t, struct gw_peer_key **out,
			   uint32_t *n_out)
{
	struct gw_peer_key *keys = calloc(t->n_peer_slots ? t->n_peer_slots : 1,
					  sizeof(*keys));
	uint32_t n = 0;

	if (keys == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i]) {
			memcpy(keys[n].key, t->peers[i]->public_key, 32);
			keys[n++].peer = t->peers[i];
		}
	qsort(keys, n, sizeof(*keys), cmp_peer_key);
	*out = keys;
	*n_out = n;
	return 0;
}

struct cfg_key {
	uint8_t key[32];                    /* first: bsearch compares keys */
	const struct config_peer *peer;
};

static int cmp_cfg_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static const struct config_peer *config_peer_find(const struct config *cfg,
						  const struct cfg_key *sorted,
						  const uint8_t key[32])
{
	const struct cfg_key *k = bsearch(key, sorted, cfg->n_peers, sizeof(*k),
					  cmp_cfg_key);

	return k ? k->peer : NULL;
}

static bool same_allowed(const struct config_peer *a, const struct config_peer *b)
{
	if (a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		if (a->allowed_ips[i].cidr != b->allowed_ips[i].cidr ||
		    !ip_addr_equal(&a->allowed_ips[i].addr, &b->allowed_ips[i].addr))
			return false;
	return true;
}

/* Kept peer p goes from config old to np: psk, endpoint, keepalive.  An
 * endpoint is written when the configured one changed or an endpoint=
 * line asked for it, so a peer that roamed is not sent back to a stale
 * address by a reload of the same file, but `wg set ... endpoint` is.
 * True if anything about the peer changed (allowed IPs included). */
static bool peer_update(struct gateway *gw, struct gw_peer *p,
			const struct config_peer *op, const struct config_peer *np)
{
	bool changed = false;

	if (op == NULL)
		return true;
	if (op->has_preshared_key != np->has_preshared_key ||
	    sodium_memcmp(op->preshared_key, np->preshared_key, 32) != 0) {
		noise_handshake_set_psk(&p->handshake,
					np->has_preshared_key ? np->preshared_key : NULL);
		changed = true;
	}
	if (np->has_endpoint && (np->endpoint_given || !op->has_endpoint ||
				 !ip_endpoint_equal(&op->endpoint, &np->endpoint))) {
		gw_endpoint_write(&p->endpoint, &np->endpoint);
		changed = true;
	}
	if (op->persistent_keepalive != np->persistent_keepalive) {
		p->persistent_keepalive = np->persistent_keepalive;
		wg_timers_set_persistent_keepalive(&p->timers, np->persistent_keepalive,
						   gw->ctx.now);
		if (np->persistent_keepalive)          /* as wg set: at once */
			handshake_send_initiation(gw, p, false);
		changed = true;
	}
	return changed || !same_allowed(op, np);
}

static int cfg_index_build(const struct config *cfg, struct cfg_key **out)
{
	struct cfg_key *k = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof(*k));

	if (k == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		memcpy(k[i].key, cfg->peers[i].public_key, 32);
		k[i].peer = &cfg->peers[i];
	}
	qsort(k, cfg->n_peers, sizeof(*k), cmp_cfg_key);
	*out = k;
	return 0;
}

static bool removed(const struct gw_peer *p, const struct dp_tables *t)
{
	return p && !(p->id < t->n_peer_slots && t->peers[p->id] == p);
}

static void plan_commit(struct gateway *gw, struct plan *pl, struct gateway_change *chg)
{
	const struct config *old = gw->cfg == pl->next ? NULL : gw->cfg;
	struct dp_tables *prev = gw->dp.tables, *t = pl->t;

	*chg = (struct gateway_change){ 0 };
	if (pl->identity_changed) {
		/* Every session and handshake was made with the old key. */
		noise_static_identity_set(&gw->identity, pl->next->iface.private_key);
		cookie_checker_init(&gw->cookie_checker, gw->identity.static_public);
		for (uint32_t i = 0; i < t->n_peer_slots; i++)
			if (t->peers[i]) {
				noise_handshake_set_psk(&t->peers[i]->handshake,
							t->peers[i]->handshake.preshared_key);
				handshake_peer_reset(gw, t->peers[i]);
			}
	}
	for (size_t i = 0; i < pl->next->n_peers; i++) {
		struct gw_peer *p = pl->match[i];
		const struct config_peer *np = &pl->next->peers[i], *op;

		if (p == NULL) {
			chg->peers_added++;
			continue;
		}
		op = old ? config_peer_find(old, pl->cfg_keys, p->public_key) : NULL;
		if (peer_update(gw, p, op, np))
			chg->peers_updated++;
		else
			chg->peers_unchanged++;
	}
	for (uint32_t i = 0; prev && i < prev->n_peer_slots; i++)
		if (removed(prev->peers[i], t)) {
			handshake_peer_retire(gw, prev->peers[i]);
			chg->peers_removed++;
		}
	if (pl->new_nat)
		rcu_assign_pointer(gw->dp.nat, pl->new_nat);
	rcu_assign_pointer(gw->dp.tables, t);
	gw->ctx.t = t;
	free(gw->peer_keys);
	gw->peer_keys = pl->keys;
	gw->n_peer_keys = pl->n_keys;
	/* Only now, unpublished, may old tables and removed peers be queued
	 * for freeing (without memory for the queue, defer_free waits for a
	 * grace period and frees at once). */
	for (uint32_t i = 0; prev && i < prev->n_peer_slots; i++)
		if (removed(prev->peers[i], t))
			gateway_defer_free(gw, prev->peers[i], peer_free);
	if (prev)
		gateway_defer_free(gw, prev, tables_free);
	/* New peers that want a persistent keepalive start at once, as wg. */
	for (size_t i = 0; prev && i < pl->n_created; i++)
		if (pl->created[i]->persistent_keepalive)
			handshake_send_initiation(gw, pl->created[i], false);
	free(pl->match);
	free(pl->created);
	free(pl->cfg_keys);
}

int gateway_apply(struct gateway *gw, struct config *next,
		  struct gateway_change *chg, char *err, size_t errlen)
{
	struct plan pl = { .next = next };
	struct gateway_change unused;
	int ret;

	if (chg == NULL)
		chg = &unused;
	ret = plan_build(gw, &pl, err, errlen);
	if (ret < 0) {
		plan_abort(&pl);
		return ret;
	}
	plan_commit(gw, &pl, chg);
	if (gw->cfg != next) {
		if (gw->cfg->control.line != next->control.line ||
		    (gw->cfg->control.metrics == NULL) != (next->control.metrics == NULL) ||
		    (gw->cfg->control.group == NULL) != (next->control.group == NULL) ||
		    (next->control.metrics &&
		     strcmp(gw->cfg->control.metrics, next->control.metrics) != 0) ||
		    (next->control.group && strcmp(gw->cfg->control.group, next->control.group) != 0))
			printf("portcullisd: [Control] changes take effect at the next start\n");
		config_free(gw->cfg);
		gw->cfg = next;
	}
	gateway_xdp_update(gw);                /* the program follows the tables */
	return 0;
}

static void reload_notice(const char *msg, void *ctx)
{
	(void)ctx;
	printf("portcullisd: reload: %s\n", msg);
}

int gateway_reload(struct gateway *gw, struct gateway_change *chg,
		   char *err, size_t errlen)
{
	struct config *next;
	int ret = config_load(gw->cfg->path, 0, reload_notice, NULL, &next, err, errlen);
	bool hz_changed;

	if (ret < 0)
		return ret;
	/* The sync's peers are not in the file: keep them. */
	ret = gateway_hetzner_merge(gw, next);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		config_free(next);
		return ret;
	}
	hz_changed = gateway_hetzner_changed(gw->cfg, next);
	ret = gateway_apply(gw, next, chg, err, errlen);
	if (ret < 0) {
		config_free(next);
		return ret;
	}
	if (hz_changed)
		gateway_hetzner_restart(gw);
	return 0;
}

/* --- Start and stop -------------------------------------------------------- */

int gateway_start(struct gateway *gw, char *err, size_t errlen)
{
	struct gateway_change chg;
	int ret;

	ret = noise_static_identity_set(&gw->identity, gw->cfg->iface.private_key);
	if (ret < 0) {
		snprintf(err, errlen, "%s: PrivateKey is unusable", gw->cfg->path);
		return ret;
	}
	cookie_checker_init(&gw->cookie_checker, gw->identity.static_public);
	return gateway_apply(gw, gw->cfg, &chg, err, errlen);
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
	free(gw->peer_keys);
	gw->peer_keys = NULL;
	gw->n_peer_keys = 0;
}
