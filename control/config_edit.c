/* SPDX-License-Identifier: BSD-3-Clause */
#include "config_edit.h"
#include "config_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* --- Clone ---------------------------------------------------------------- */

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

/* Arrays are allocated in the shape config_array_reserve expects (a
 * power-of-two capacity implied by the count), so an edit of the clone
 * may grow any of them. */
struct config *config_clone(const struct config *cfg)
{
	struct config *c = calloc(1, sizeof(*c));
	int ret = 0;

	if (c == NULL)
		return NULL;
	*c = *cfg;
	/* Nothing below may be shared with cfg, even on failure: clear the
	 * pointers first so config_free(c) frees only what was copied. */
	c->path = NULL;
	c->iface.private_key_file = NULL;
	c->control.group = c->control.metrics = NULL;
	c->hetzner.token_file = c->hetzner.network = c->hetzner.label_selector = NULL;
	c->hetzner.api_endpoint = c->hetzner.robot_credentials_file = NULL;
	c->hetzner.robot_endpoint = NULL;
	c->peers = NULL;
	c->n_peers = 0;
	c->nat.forwards = NULL;
	c->nat.n_forwards = 0;
	c->nat.forward_ports = NULL;
	for (int p = 0; p < PORT_COUNT; p++) {
		c->ports[p].device = NULL;
		c->ports[p].routes = NULL;
		c->ports[p].n_routes = 0;
	}
	ret |= dup_str(&c->path, cfg->path);
	ret |= dup_str(&c->iface.private_key_file, cfg->iface.private_key_file);
	ret |= dup_str(&c->control.group, cfg->control.group);
	ret |= dup_str(&c->control.metrics, cfg->control.metrics);
	ret |= dup_str(&c->hetzner.token_file, cfg->hetzner.token_file);
	ret |= dup_str(&c->hetzner.network, cfg->hetzner.network);
	ret |= dup_str(&c->hetzner.label_selector, cfg->hetzner.label_selector);
	ret |= dup_str(&c->hetzner.api_endpoint, cfg->hetzner.api_endpoint);
	ret |= dup_str(&c->hetzner.robot_credentials_file, cfg->hetzner.robot_credentials_file);
	ret |= dup_str(&c->hetzner.robot_endpoint, cfg->hetzner.robot_endpoint);
	for (int p = 0; p < PORT_COUNT && ret == 0; p++) {
		ret |= dup_str(&c->ports[p].device, cfg->ports[p].device);
		ret |= config_array_dup((void **)&c->ports[p].routes, cfg->ports[p].routes,
				 cfg->ports[p].n_routes, sizeof(cfg->ports[p].routes[0]));
		if (ret == 0)
			c->ports[p].n_routes = cfg->ports[p].n_routes;
	}
	if (ret == 0)
		ret = config_array_dup((void **)&c->nat.forwards, cfg->nat.forwards,
				cfg->nat.n_forwards, sizeof(cfg->nat.forwards[0]));
	if (ret == 0)
		c->nat.n_forwards = cfg->nat.n_forwards;
	if (ret == 0)
		ret = config_array_dup((void **)&c->peers, NULL, cfg->n_peers,
				       sizeof(c->peers[0]));
	for (size_t i = 0; i < cfg->n_peers && ret == 0; i++) {
		const struct config_peer *src = &cfg->peers[i];
		struct config_peer *dst = &c->peers[i];

		*dst = *src;
		dst->endpoint_given = false;
		dst->endpoint_text = NULL;
		dst->allowed_ips = NULL;
		c->n_peers = i + 1;
		ret |= dup_str(&dst->endpoint_text, src->endpoint_text);
		ret |= config_array_dup((void **)&dst->allowed_ips, src->allowed_ips,
				 src->n_allowed_ips, sizeof(src->allowed_ips[0]));
		if (dst->allowed_ips == NULL)
			dst->n_allowed_ips = 0;
	}
	if (ret != 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* --- Applying a UAPI set --------------------------------------------------- */

/*
 * Working state.  An allowed IP carries the sequence number of the line
 * that added it (0: it was in the config before), so "the last line that
 * names a prefix wins" is decided once at the end by sorting, instead of
 * searching every peer at every line; a removal leaves a tombstone with the
 * sequence number of what it removed, so that a prefix moved to a peer and
 * then removed from it is not given back to its earlier owner
 * (wireguard-go's trie would have taken it from that owner at the move).
 */
struct aip {
	struct ip_prefix pfx;
	uint32_t seq;
};

struct wpeer {
	struct config_peer cp;              /* allowed_ips unused while working */
	struct aip *aips;
	size_t n_aips, cap_aips;
	bool gone;
};

struct work {
	struct wpeer *peers;
	size_t n_peers, cap_peers, n_live;
	uint32_t *slots;                    /* key hash -> peer index + 1 */
	size_t n_slots;
	struct aip *tombs;                  /* removed (prefix, seq) */
	size_t n_tombs, cap_tombs;
	uint32_t seq;
	uint8_t own[32];                    /* our public key (after the set's
					     * private_key) */
	char *err;
	size_t errlen;
};

static int fail(struct work *w, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct work *w, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int grow(void **array, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 4;
	void *a;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	a = realloc(*array, n * size);
	if (a == NULL)
		return -ENOMEM;
	*array = a;
	*cap = n;
	return 0;
}

static size_t key_hash(const uint8_t key[32], size_t n_slots)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));          /* public keys are uniform */
	return (size_t)(h % n_slots);
}

/* Index of the live peer with key, or -1. */
static long peer_find(const struct work *w, const uint8_t key[32])
{
	for (size_t s = key_hash(key, w->n_slots);; s = (s + 1) % w->n_slots) {
		uint32_t v = w->slots[s];

		if (v == 0)
			return -1;
		if (!w->peers[v - 1].gone &&
		    memcmp(w->peers[v - 1].cp.public_key, key, 32) == 0)
			return (long)(v - 1);
	}
}

static void slot_insert(struct work *w, size_t idx)
{
	size_t s = key_hash(w->peers[idx].cp.public_key, w->n_slots);

	while (w->slots[s] != 0)
		s = (s + 1) % w->n_slots;
	w->slots[s] = (uint32_t)(idx + 1);
}

/* A removed peer's slot stays (its entry is skipped): rebuild only when
 * the table fills, which also drops those. */
static int slots_rehash(struct work *w, size_t want)
{
	size_t n = 64;

	while (n < 2 * want)
		n *= 2;
	free(w->slots);
	w->slots = calloc(n, sizeof(w->slots[0]));
	if (w->slots == NULL)
		return -ENOMEM;
	w->n_slots = n;
	for (size_t i = 0; i < w->n_peers; i++)
		if (!w->peers[i].gone)
			slot_insert(w, i);
	return 0;
}

static int aip_push(struct aip **a, size_t *n, size_t *cap, const struct ip_prefix *p,
		    uint32_t seq)
{
	if (grow((void **)a, cap, *n + 1, sizeof(**a)) < 0)
		return -ENOMEM;
	(*a)[(*n)++] = (struct aip){ *p, seq };
	return 0;
}

static bool same_prefix(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->cidr == b->cidr && ip_addr_equal(&a->addr, &b->addr);
}

static int work_load(struct work *w, const struct config *cfg)
{
	w->n_peers = cfg->n_peers;
	if (grow((void **)&w->peers, &w->cap_peers, cfg->n_peers, sizeof(*w->peers)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		struct wpeer *wp = &w->peers[i];
		const struct config_peer *cp = &cfg->peers[i];

		*wp = (struct wpeer){ .cp = *cp };
		wp->cp.allowed_ips = NULL;
		wp->cp.n_allowed_ips = 0;
		wp->cp.endpoint_text = NULL;
		if (cp->endpoint_text && (wp->cp.endpoint_text = strdup(cp->endpoint_text)) == NULL)
			return -ENOMEM;
		for (size_t a = 0; a < cp->n_allowed_ips; a++)
			if (aip_push(&wp->aips, &wp->n_aips, &wp->cap_aips,
				     &cp->allowed_ips[a], 0) < 0)
				return -ENOMEM;
	}
	w->n_live = cfg->n_peers;
	return slots_rehash(w, cfg->n_peers + 16);
}

static void work_free(struct work *w)
{
	for (size_t i = 0; i < w->n_peers; i++) {
		free(w->peers[i].cp.endpoint_text);
		free(w->peers[i].aips);
	}
	if (w->peers)
		sodium_memzero(w->peers, w->cap_peers * sizeof(*w->peers));
	free(w->peers);
	free(w->slots);
	free(w->tombs);
	sodium_memzero(w->own, sizeof(w->own));
}

static long peer_add(struct work *w, const struct uapi_peer *up)
{
	struct wpeer *wp;

	if (w->n_live >= CONFIG_MAX_PEERS)
		return fail(w, -E2BIG, "line %u: more than %d peers", up->line,
			    CONFIG_MAX_PEERS);
	if (grow((void **)&w->peers, &w->cap_peers, w->n_peers + 1, sizeof(*w->peers)) < 0)
		return -ENOMEM;
	wp = &w->peers[w->n_peers];
	*wp = (struct wpeer){ .cp.line = up->line };
	memcpy(wp->cp.public_key, up->public_key, 32);
	w->n_peers++;
	w->n_live++;
	if (2 * (w->n_peers + 1) > w->n_slots) {
		if (slots_rehash(w, w->n_peers + w->n_peers / 2 + 16) < 0)
			return -ENOMEM;
	} else {
		slot_insert(w, w->n_peers - 1);
	}
	return (long)(w->n_peers - 1);
}

/* A peer's prefixes go: each leaves a tombstone, so a prefix that moved
 * to this peer is not given back to its earlier owner. */
static int allowed_clear(struct work *w, struct wpeer *wp)
{
	for (size_t i = 0; i < wp->n_aips; i++)
		if (aip_push(&w->tombs, &w->n_tombs, &w->cap_tombs, &wp->aips[i].pfx,
			     wp->aips[i].seq) < 0)
			return -ENOMEM;
	wp->n_aips = 0;
	return 0;
}

static int peer_remove(struct work *w, struct wpeer *wp)
{
	wp->gone = true;
	w->n_live--;
	return allowed_clear(w, wp);
}

static int allowed_remove(struct work *w, struct wpeer *wp, const struct ip_prefix *p)
{
	for (size_t i = 0; i < wp->n_aips; i++) {
		if (!same_prefix(&wp->aips[i].pfx, p))
			continue;
		if (aip_push(&w->tombs, &w->n_tombs, &w->cap_tombs, p, wp->aips[i].seq) < 0)
			return -ENOMEM;
		wp->aips[i] = wp->aips[--wp->n_aips];
		i--;
	}
	return 0;
}

static int endpoint_set(struct wpeer *wp, const struct ip_endpoint *ep)
{
	char text[80];

	config_endpoint_format(text, sizeof(text), ep);
	free(wp->cp.endpoint_text);
	wp->cp.endpoint_text = strdup(text);
	if (wp->cp.endpoint_text == NULL)
		return -ENOMEM;
	wp->cp.endpoint = *ep;
	wp->cp.has_endpoint = true;
	return 0;
}

static int apply_peer(struct work *w, const struct uapi_peer *up)
{
	long idx = peer_find(w, up->public_key);
	struct wpeer *wp;
	int ret;

	if (idx < 0 && (up->update_only || up->remove))
		return 0;
	if (memcmp(up->public_key, w->own, 32) == 0)
		return 0;          /* ourselves: ignored, as wireguard-go does */
	if (idx >= 0 && up->remove)
		return peer_remove(w, &w->peers[idx]);
	if (idx < 0 && (idx = peer_add(w, up)) < 0)
		return (int)idx;
	wp = &w->peers[idx];
	if (up->has_preshared_key) {
		memcpy(wp->cp.preshared_key, up->preshared_key, 32);
		wp->cp.has_preshared_key = !sodium_is_zero(up->preshared_key, 32);
	}
	if (up->has_endpoint && (ret = endpoint_set(wp, &up->endpoint)) < 0)
		return ret;
	wp->cp.endpoint_given |= up->has_endpoint;
	if (up->has_persistent_keepalive)
		wp->cp.persistent_keepalive = up->persistent_keepalive;
	if (up->replace_allowed_ips && (ret = allowed_clear(w, wp)) < 0)
		return ret;
	for (size_t i = 0; i < up->n_allowed_ips; i++) {
		const struct uapi_allowed_ip *a = &up->allowed_ips[i];

		if (a->remove)
			ret = allowed_remove(w, wp, &a->prefix);
		else
			ret = aip_push(&wp->aips, &wp->n_aips, &wp->cap_aips, &a->prefix,
				       ++w->seq);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* --- Resolving "last line wins" for allowed IPs ---------------------------- */

struct aip_ref {
	struct ip_prefix pfx;
	uint32_t seq;
	uint32_t peer;                      /* UINT32_MAX: a tombstone */
	uint32_t idx;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct aip_ref *x = a, *y = b;
	int c = config_prefix_cmp(&x->pfx, &y->pfx);

	if (c != 0)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* Same seq: a tombstone (added and removed by the same peer's
	 * lines) sorts last so it wins over the add it cancels. */
	return (x->peer > y->peer) - (x->peer < y->peer);
}

/* Keep, for each prefix, only the entry with the highest sequence number
 * (none if that is a tombstone); marks losers with family IP_NONE. */
static int resolve_allowed(struct work *w)
{
	struct aip_ref *refs;
	size_t total = w->n_tombs, n = 0, i, j;

	for (i = 0; i < w->n_peers; i++)
		if (!w->peers[i].gone)
			total += w->peers[i].n_aips;
	if (total == 0)
		return 0;
	refs = malloc(total * sizeof(*refs));
	if (refs == NULL)
		return -ENOMEM;
	for (i = 0; i < w->n_peers; i++)
		for (j = 0; !w->peers[i].gone && j < w->peers[i].n_aips; j++)
			refs[n++] = (struct aip_ref){ w->peers[i].aips[j].pfx,
						      w->peers[i].aips[j].seq,
						      (uint32_t)i, (uint32_t)j };
	for (i = 0; i < w->n_tombs; i++)
		refs[n++] = (struct aip_ref){ w->tombs[i].pfx, w->tombs[i].seq,
					      UINT32_MAX, 0 };
	qsort(refs, total, sizeof(*refs), cmp_ref);
	for (i = 0; i < total; i = j + 1) {
		for (j = i; j + 1 < total && same_prefix(&refs[j].pfx, &refs[j + 1].pfx); j++)
			;
		/* refs[j] wins; a tombstone at seq s only cancels entries
		 * with seq <= s, which sort before it. */
		for (size_t k = i; k < j; k++)
			if (refs[k].peer != UINT32_MAX)
				w->peers[refs[k].peer].aips[refs[k].idx].pfx.addr.family = IP_NONE;
	}
	free(refs);
	return 0;
}

/* Write the working peers back into cfg (order: existing, then new). */
static void peers_free(struct config_peer *peers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(peers[i].endpoint_text);
		free(peers[i].allowed_ips);
	}
	if (peers)
		sodium_memzero(peers, n * sizeof(*peers));
	free(peers);
}

static int work_store(struct work *w, struct config *cfg)
{
	struct config_peer *peers = NULL;
	size_t n = 0;

	if (config_array_dup((void **)&peers, NULL, w->n_live, sizeof(*peers)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_peers; i++) {
		struct wpeer *wp = &w->peers[i];
		struct config_peer *cp;
		size_t k = 0;

		if (wp->gone)
			continue;
		cp = &peers[n++];
		*cp = wp->cp;
		wp->cp.endpoint_text = NULL;        /* moved */
		if (config_array_dup((void **)&cp->allowed_ips, NULL, wp->n_aips,
				     sizeof(*cp->allowed_ips)) < 0) {
			peers_free(peers, n);
			return -ENOMEM;
		}
		for (size_t a = 0; a < wp->n_aips; a++)
			if (wp->aips[a].pfx.addr.family != IP_NONE)
				cp->allowed_ips[k++] = wp->aips[a].pfx;
		cp->n_allowed_ips = k;
	}
	peers_free(cfg->peers, cfg->n_peers);
	cfg->peers = peers;
	cfg->n_peers = n;
	return 0;
}

static int apply_interface(struct work *w, struct config *cfg, const struct uapi_set *set)
{
	if (set->has_private_key) {
		if (sodium_is_zero(set->private_key, 32))
			return fail(w, -EINVAL, "the gateway cannot run without a private key");
		memcpy(cfg->iface.private_key, set->private_key, 32);
		cfg->iface.has_private_key = true;
		free(cfg->iface.private_key_file);  /* no longer where it came from */
		cfg->iface.private_key_file = NULL;
	}
	if (set->has_listen_port) {
		cfg->iface.listen_port = set->listen_port ? set->listen_port
			: (uint16_t)(49152 + randombytes_uniform(65536 - 49152));
		cfg->iface.has_listen_port = true;
	}
	if (set->has_fwmark)
		cfg->iface.fwmark = set->fwmark;
	return 0;
}

int config_apply_uapi(struct config *cfg, const struct uapi_set *set,
		      char *err, size_t errlen)
{
	struct work w = { .err = err, .errlen = errlen };
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = apply_interface(&w, cfg, set);
	if (ret == 0 && crypto_scalarmult_base(w.own, cfg->iface.private_key) != 0)
		ret = fail(&w, -EINVAL, "the private key is unusable");
	if (ret == 0)
		ret = work_load(&w, cfg);
	/* A peer that carries our (new) key goes first: its lines would
	 * count for nothing in wireguard-go. */
	for (size_t i = 0; i < w.n_peers && ret == 0; i++)
		if (!w.peers[i].gone && (set->replace_peers ||
		    memcmp(w.peers[i].cp.public_key, w.own, 32) == 0))
			ret = peer_remove(&w, &w.peers[i]);
	for (size_t i = 0; i < set->n_peers && ret == 0; i++)
		ret = apply_peer(&w, &set->peers[i]);
	if (ret == 0)
		ret = resolve_allowed(&w);
	if (ret == 0)
		ret = work_store(&w, cfg);
	if (ret == 0 && set->has_listen_port)       /* a UDP Forward on it? */
		ret = config_nat_recheck(cfg, err, errlen);
	work_free(&w);
	if (ret == -ENOMEM && errlen && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	if (ret < 0 && errlen && err[0] == '\0')
		snprintf(err, errlen, "invalid set");
	return ret;
}
