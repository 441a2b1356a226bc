/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Hetzner sync's part of a configuration: the peers and private-side
 * routes marked from_api, replaced as a whole by each good round, and the
 * plan (what a round would add, change and remove).  Pure: config_lib.
 */
#include "config_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_internal.h"

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Keys and prefixes of the peers that are not the sync's (file, wg set):
 * the sync never changes them, so they win every conflict. */
struct owned {
	uint8_t (*keys)[32];
	size_t n_keys;
	struct ip_prefix *prefixes;
	size_t n_prefixes;
};

static int cmp_prefix(const void *a, const void *b)
{
	return config_prefix_cmp(a, b);
}

static int owned_build(const struct config *cfg, struct owned *o)
{
	size_t np = 0;

	*o = (struct owned){ 0 };
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (!cfg->peers[i].from_api)
			np += cfg->peers[i].n_allowed_ips;
	o->keys = calloc(cfg->n_peers ? cfg->n_peers : 1, sizeof(*o->keys));
	o->prefixes = calloc(np ? np : 1, sizeof(*o->prefixes));
	if (o->keys == NULL || o->prefixes == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct config_peer *p = &cfg->peers[i];

		if (p->from_api)
			continue;
		memcpy(o->keys[o->n_keys++], p->public_key, 32);
		for (size_t a = 0; a < p->n_allowed_ips; a++)
			o->prefixes[o->n_prefixes++] = p->allowed_ips[a];
	}
	qsort(o->keys, o->n_keys, sizeof(*o->keys), cmp_key);
	qsort(o->prefixes, o->n_prefixes, sizeof(*o->prefixes), cmp_prefix);
	return 0;
}

static void owned_free(struct owned *o)
{
	free(o->keys);
	free(o->prefixes);
}

static void drop_peer(struct config_peer *p)
{
	free(p->endpoint_text);
	free(p->allowed_ips);
	sodium_memzero(p, sizeof(*p));
}

static void notice(config_api_notice_fn fn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void notice(config_api_notice_fn fn, void *ctx, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(msg, ctx);
}

/* A config peer for desired peer hp, its prefixes minus those owned by
 * the file's peers. */
static int peer_from_api(struct config_peer *cp, const struct hz_peer *hp,
			 const struct owned *o, config_api_notice_fn fn, void *ctx)
{
	char text[80];
	size_t n = 0;

	*cp = (struct config_peer){ .from_api = true, .api_server_id = hp->server_id };
	memcpy(cp->public_key, hp->public_key, 32);
	if (hp->has_endpoint) {
		cp->has_endpoint = true;
		cp->endpoint = hp->endpoint;
		config_endpoint_format(text, sizeof(text), &hp->endpoint);
		if ((cp->endpoint_text = strdup(text)) == NULL)
			return -ENOMEM;
	}
	if (config_array_dup((void **)&cp->allowed_ips, NULL, hp->n_allowed_ips,
			     sizeof(*cp->allowed_ips)) < 0)
		return -ENOMEM;
	for (size_t a = 0; a < hp->n_allowed_ips; a++) {
		if (bsearch(&hp->allowed_ips[a], o->prefixes, o->n_prefixes,
			    sizeof(*o->prefixes), cmp_prefix)) {
			config_prefix_format(text, sizeof(text), &hp->allowed_ips[a]);
			notice(fn, ctx, "server '%s' (%llu): %s belongs to a peer of the "
			       "config file; left with that peer", hp->name ? hp->name : "",
			       (unsigned long long)hp->server_id, text);
			continue;
		}
		cp->allowed_ips[n++] = hp->allowed_ips[a];
	}
	cp->n_allowed_ips = n;
	return 0;
}

int config_merge_api(struct config *cfg, const struct hz_desired *d,
		     config_api_notice_fn fn, void *ctx)
{
	struct config_port *priv = &cfg->ports[PORT_PRIVATE];
	struct config_peer *peers = NULL;
	struct config_route *routes = NULL;
	size_t n = 0, nr = 0, keep = 0;
	struct owned o;
	int ret = owned_build(cfg, &o);

	for (size_t i = 0; i < cfg->n_peers; i++)
		keep += !cfg->peers[i].from_api;
	if (ret == 0)
		ret = config_array_dup((void **)&peers, NULL, keep + d->n_peers, sizeof(*peers));
	if (ret == 0)
		ret = config_array_dup((void **)&routes, NULL, priv->n_routes + d->n_routes,
				       sizeof(*routes));
	for (size_t i = 0; i < d->n_peers && ret == 0; i++) {
		const struct hz_peer *hp = &d->peers[i];

		if (bsearch(hp->public_key, o.keys, o.n_keys, sizeof(*o.keys), cmp_key)) {
			notice(fn, ctx, "server '%s' (%llu): its key is a peer of the config "
			       "file; the config file's peer stays as it is",
			       hp->name ? hp->name : "", (unsigned long long)hp->server_id);
			continue;
		}
		ret = peer_from_api(&peers[keep + n], hp, &o, fn, ctx);
		n++;                       /* freed below on error, even half-made */
	}
	owned_free(&o);
	if (ret != 0) {
		for (size_t i = 0; i < n; i++)
			drop_peer(&peers[keep + i]);
		free(peers);
		free(routes);
		return ret;
	}
	/* Commit: cannot fail from here. */
	keep = 0;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		if (cfg->peers[i].from_api)
			drop_peer(&cfg->peers[i]);
		else
			peers[keep++] = cfg->peers[i];
	}
	if (cfg->peers)                    /* copies of the file's keys */
		sodium_memzero(cfg->peers, cfg->n_peers * sizeof(cfg->peers[0]));
	free(cfg->peers);
	cfg->peers = peers;
	cfg->n_peers = keep + n;
	for (size_t i = 0; i < priv->n_routes; i++)
		if (!priv->routes[i].from_api)
			routes[nr++] = priv->routes[i];
	for (size_t i = 0; i < d->n_routes; i++) {
		bool file_has = false;

		for (size_t k = 0; k < nr && !file_has; k++)
			file_has = config_prefix_cmp(&routes[k].dst, &d->routes[i].dst) == 0;
		if (file_has)                  /* the file's Route wins */
			continue;
		routes[nr] = d->routes[i];
		routes[nr++].from_api = true;
	}
	free(priv->routes);
	priv->routes = routes;
	priv->n_routes = nr;
	return 0;
}

/* --- Plan ------------------------------------------------------------------- */

static bool peer_same(const struct config_peer *a, const struct config_peer *b)
{
	if (a->has_endpoint != b->has_endpoint ||
	    (a->has_endpoint && !ip_endpoint_equal(&a->endpoint, &b->endpoint)) ||
	    a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		if (config_prefix_cmp(&a->allowed_ips[i], &b->allowed_ips[i]) != 0)
			return false;
	return true;
}

static const struct config_peer *api_peer(const struct config *cfg, const uint8_t key[32])
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (cfg->peers[i].from_api && memcmp(cfg->peers[i].public_key, key, 32) == 0)
			return &cfg->peers[i];
	return NULL;
}

static bool has_api_route(const struct config *cfg, const struct config_route *r)
{
	const struct config_port *priv = &cfg->ports[PORT_PRIVATE];

	for (size_t i = 0; i < priv->n_routes; i++)
		if (priv->routes[i].from_api &&
		    config_prefix_cmp(&priv->routes[i].dst, &r->dst) == 0 &&
		    ip_addr_equal(&priv->routes[i].via, &r->via))
			return true;
	return false;
}

void config_api_diff(const struct config *cur, const struct config *next,
		     const struct config_api_diff_ops *ops, void *ctx)
{
	const struct config_port *a = &cur->ports[PORT_PRIVATE], *b = &next->ports[PORT_PRIVATE];

	/* Quadratic in the sync's peers: a plan is asked for by hand. */
	for (size_t i = 0; ops->peer && i < next->n_peers; i++) {
		const struct config_peer *np = &next->peers[i], *op;

		if (!np->from_api)
			continue;
		op = api_peer(cur, np->public_key);
		if (op == NULL)
			ops->peer(CONFIG_API_ADD, NULL, np, ctx);
		else if (!peer_same(op, np))
			ops->peer(CONFIG_API_CHANGE, op, np, ctx);
	}
	for (size_t i = 0; ops->peer && i < cur->n_peers; i++)
		if (cur->peers[i].from_api && !api_peer(next, cur->peers[i].public_key))
			ops->peer(CONFIG_API_REMOVE, &cur->peers[i], NULL, ctx);
	for (size_t i = 0; ops->route && i < b->n_routes; i++)
		if (b->routes[i].from_api && !has_api_route(cur, &b->routes[i]))
			ops->route(CONFIG_API_ADD, &b->routes[i], ctx);
	for (size_t i = 0; ops->route && i < a->n_routes; i++)
		if (a->routes[i].from_api && !has_api_route(next, &a->routes[i]))
			ops->route(CONFIG_API_REMOVE, &a->routes[i], ctx);
}
