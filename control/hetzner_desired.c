/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Hetzner sync's desired state: servers + Network (+ vSwitch) -> the
 * peers and private-side routes the gateway should have (the mapping and
 * its rules are in hetzner.h).  Pure and deterministic: the same project
 * gives the same peers, routes and warnings whatever order the pages came
 * in, so the control thread can compare rounds and log only what changed.
 *
 * Steps: check each server once, in id order (labels) -> find keys used
 * twice (the lowest id keeps one) -> build each peer's endpoint and
 * AllowedIPs -> give each prefix to one peer -> sort the peers by key ->
 * the private routes.
 */
#include "hetzner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

enum {
	QUOTE_MAX = 40,
	DEFAULT_WG_PORT = 51820,
	PREFIX_TEXT = 64,
};

#define SERVER_FMT "server '%s' (%llu): "
#define SERVER_ARGS(s) ((s)->name ? (s)->name : ""), (unsigned long long)(s)->id

/* A server that passed its checks and may become a peer. */
struct cand {
	const struct hz_server *s;
	uint8_t key[32];
	uint16_t port;
	bool private_endpoint;
	const struct cand *winner;      /* set: another server keeps the key */
};

static int warn(struct hz_desired *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int warn(struct hz_desired *d, const char *fmt, ...)
{
	char *line;
	va_list ap;
	int n;

	if (config_array_reserve((void **)&d->warnings, d->n_warnings,
				 sizeof(*d->warnings)) != 0)
		return -ENOMEM;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	d->warnings[d->n_warnings++] = line;
	return 0;
}

/* Label values are short and plain in practice ([a-z0-9._-]), but they
 * come from whoever can label a server: printable ASCII only. */
static const char *quote(char out[QUOTE_MAX + 1], const char *s)
{
	size_t i;

	for (i = 0; i < QUOTE_MAX && s[i]; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

static const char *label(const struct hz_server *s, const char *key)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (strcmp(s->labels[i].key, key) == 0)
			return s->labels[i].value;
	return NULL;
}

static int cmp_addr(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, ip_addr_len(a));
}

static int cmp_prefix(const struct ip_prefix *a, const struct ip_prefix *b)
{
	int c = cmp_addr(&a->addr, &b->addr);

	return c ? c : (a->cidr > b->cidr) - (a->cidr < b->cidr);
}

static int cmp_prefix_qsort(const void *a, const void *b)
{
	return cmp_prefix(a, b);
}

/* --- Step 1: one server's labels --------------------------------------------- */

/* 1 with *c filled, 0 when the server is left out (with a warning), or
 * -ENOMEM. */
static int check_server(struct hz_desired *d, const struct hz_server *s,
			const char *selector, struct cand *c)
{
	char q[QUOTE_MAX + 1];
	unsigned long port = DEFAULT_WG_PORT;
	const char *v;

	*c = (struct cand){ .s = s };
	if (selector && *selector && !label(s, selector))
		return warn(d, SERVER_FMT "no label %s; not selected", SERVER_ARGS(s),
			    quote(q, selector));
	if ((v = label(s, HZ_LABEL_KEY)) == NULL)
		return warn(d, SERVER_FMT "no label " HZ_LABEL_KEY, SERVER_ARGS(s));
	if (hz_key_from_label(c->key, v) != 0)
		return warn(d, SERVER_FMT "label " HZ_LABEL_KEY " is not a WireGuard "
			    "key (%d base32 characters)", SERVER_ARGS(s), HZ_LABEL_LEN);
	v = label(s, HZ_LABEL_PORT);
	if (v && (config_uint_parse(v, 65535, &port) != 0 || port == 0))
		return warn(d, SERVER_FMT "bad label " HZ_LABEL_PORT " '%s' (must be "
			    "1..65535)", SERVER_ARGS(s), quote(q, v));
	v = label(s, HZ_LABEL_ENDPOINT);
	if (v && strcmp(v, "public") != 0 && strcmp(v, "private") != 0)
		return warn(d, SERVER_FMT "bad label " HZ_LABEL_ENDPOINT " '%s' (must "
			    "be public or private)", SERVER_ARGS(s), quote(q, v));
	c->port = (uint16_t)port;
	c->private_endpoint = v && strcmp(v, "private") == 0;
	return 1;
}

static int cmp_server_id(const void *a, const void *b)
{
	const struct hz_server *x = *(const struct hz_server *const *)a;
	const struct hz_server *y = *(const struct hz_server *const *)b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x > y) - (x < y);             /* first listed first */
}

/* The candidates, in server id order. */
static int check_servers(struct hz_desired *d, const struct hz_servers *servers,
			 const char *selector, struct cand *cands, size_t *n_cands)
{
	const struct hz_server **by_id;
	int ret = 0;

	*n_cands = 0;
	by_id = calloc(servers->n_servers + 1, sizeof(*by_id));
	if (by_id == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < servers->n_servers; i++)
		by_id[i] = &servers->servers[i];
	qsort(by_id, servers->n_servers, sizeof(*by_id), cmp_server_id);
	for (size_t i = 0; i < servers->n_servers && ret >= 0; i++) {
		/* Pages that shift while we read them can list a server twice. */
		if (i > 0 && by_id[i]->id == by_id[i - 1]->id)
			continue;
		ret = check_server(d, by_id[i], selector, &cands[*n_cands]);
		if (ret > 0)
			(*n_cands)++;
	}
	free(by_id);
	return ret < 0 ? ret : 0;
}

/* --- Step 2: keys used twice -------------------------------------------------- */

static int cmp_cand_key(const void *a, const void *b)
{
	const struct cand *x = *(const struct cand *const *)a;
	const struct cand *y = *(const struct cand *const *)b;
	int c = memcmp(x->key, y->key, 32);

	if (c)
		return c;
	return x->s->id < y->s->id ? -1 : x->s->id > y->s->id;
}

static int mark_duplicates(struct cand *cands, size_t n)
{
	struct cand **by_key = calloc(n + 1, sizeof(*by_key));

	if (by_key == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		by_key[i] = &cands[i];
	qsort(by_key, n, sizeof(*by_key), cmp_cand_key);
	for (size_t i = 1; i < n; i++)
		if (memcmp(by_key[i]->key, by_key[i - 1]->key, 32) == 0)
			by_key[i]->winner = by_key[i - 1]->winner ? by_key[i - 1]->winner :
								  by_key[i - 1];
	free(by_key);
	return 0;
}

/* --- Step 3: a peer's endpoint and AllowedIPs ---------------------------------- */

struct build {
	struct hz_desired *d;
	const struct hz_network *net;       /* NULL: none */
	uint64_t network;
	const struct hz_route **by_gateway; /* net->routes sorted by gateway */
};

static int cmp_route_gw(const void *a, const void *b)
{
	const struct hz_route *x = *(const struct hz_route *const *)a;
	const struct hz_route *y = *(const struct hz_route *const *)b;
	int c = cmp_addr(&x->gateway, &y->gateway);

	return c ? c : cmp_prefix(&x->destination, &y->destination);
}

/* Index of the first route whose gateway is a (or n_routes). */
static size_t routes_via(const struct build *b, const struct ip_addr *a)
{
	size_t lo = 0, hi = b->net ? b->net->n_routes : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_addr(&b->by_gateway[mid]->gateway, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds a's /32 and the routes via a; out NULL: only counts. */
static size_t add_owned(const struct build *b, const struct ip_addr *a,
			struct ip_prefix *out)
{
	size_t n = 0, nr = b->net ? b->net->n_routes : 0;

	if (out)
		out[n] = (struct ip_prefix){ .addr = *a, .cidr = 32 };
	n++;
	for (size_t r = routes_via(b, a); r < nr; r++) {
		if (cmp_addr(&b->by_gateway[r]->gateway, a) != 0)
			break;
		if (out) {
			out[n] = b->by_gateway[r]->destination;
			config_prefix_mask(&out[n]);
		}
		n++;
	}
	return n;
}

/* The server's addresses in the Network, and what routes via them. */
static size_t collect_owned(const struct build *b, const struct hz_server *s,
			    struct ip_prefix *out)
{
	size_t n = 0;

	for (size_t i = 0; b->net && i < s->n_private_net; i++) {
		const struct hz_private_net *pn = &s->private_net[i];

		if (pn->network != b->network)
			continue;
		n += add_owned(b, &pn->ip, out ? out + n : NULL);
		for (size_t a = 0; a < pn->n_alias_ips; a++)
			n += add_owned(b, &pn->alias_ips[a], out ? out + n : NULL);
	}
	return n;
}

static const struct ip_addr *private_ip(const struct build *b,
					const struct hz_server *s)
{
	for (size_t i = 0; b->net && i < s->n_private_net; i++)
		if (s->private_net[i].network == b->network)
			return &s->private_net[i].ip;
	return NULL;
}

static int build_peer(struct build *b, const struct cand *c, struct hz_peer *p)
{
	const struct hz_server *s = c->s;
	const struct ip_addr *priv = private_ip(b, s), *ep;
	size_t n = collect_owned(b, s, NULL), u = 0;

	memcpy(p->public_key, c->key, 32);
	p->server_id = s->id;
	p->name = strdup(s->name ? s->name : "");
	p->allowed_ips = calloc(n + 1, sizeof(*p->allowed_ips));
	if (p->name == NULL || p->allowed_ips == NULL)
		return -ENOMEM;
	collect_owned(b, s, p->allowed_ips);
	qsort(p->allowed_ips, n, sizeof(*p->allowed_ips), cmp_prefix_qsort);
	for (size_t i = 0; i < n; i++)           /* an alias may repeat ip */
		if (u == 0 || cmp_prefix(&p->allowed_ips[u - 1], &p->allowed_ips[i]))
			p->allowed_ips[u++] = p->allowed_ips[i];
	p->n_allowed_ips = u;

	/* Endpoint: the public IPv4 unless the label asks for the private
	 * address; a server without IPv4 is reached on its private one. */
	ep = c->private_endpoint || s->ipv4.family != IP_V4 ? priv : &s->ipv4;
	if (ep) {
		p->has_endpoint = true;
		p->endpoint = (struct ip_endpoint){ .addr = *ep, .port = c->port };
	}
	if (priv || b->net == NULL)
		return 0;
	/* Kept all the same: it can still handshake, and it gets its
	 * AllowedIPs (without losing its session) once it joins. */
	return warn(b->d, SERVER_FMT "no private IP in network %llu: peer has %s",
		    SERVER_ARGS(s), (unsigned long long)b->network,
		    ep ? "no AllowedIPs" : "no endpoint and no AllowedIPs");
}

/* --- Step 4: each prefix on one peer -------------------------------------------- */

struct owner {
	struct ip_prefix pfx;
	uint64_t server_id;
	size_t peer, slot;
};

static int cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	int c = cmp_prefix(&x->pfx, &y->pfx);

	if (c)
		return c;
	return x->server_id < y->server_id ? -1 : x->server_id > y->server_id;
}

static int give_prefixes_once(struct hz_desired *d)
{
	size_t total = 0, k = 0, *base;
	struct owner *o;
	bool *drop;
	int ret = -ENOMEM;

	for (size_t i = 0; i < d->n_peers; i++)
		total += d->peers[i].n_allowed_ips;
	o = calloc(total + 1, sizeof(*o));
	drop = calloc(total + 1, sizeof(*drop));
	base = calloc(d->n_peers + 1, sizeof(*base));
	if (o == NULL || drop == NULL || base == NULL)
		goto out;
	for (size_t i = 0; i < d->n_peers; i++) {
		base[i] = k;
		for (size_t j = 0; j < d->peers[i].n_allowed_ips; j++)
			o[k++] = (struct owner){ d->peers[i].allowed_ips[j],
						 d->peers[i].server_id, i, j };
	}
	qsort(o, total, sizeof(*o), cmp_owner);
	for (size_t i = 1, first = 0; i < total; i++) {
		const struct hz_peer *keep, *lose;
		char text[PREFIX_TEXT];

		if (cmp_prefix(&o[i].pfx, &o[first].pfx) != 0) {
			first = i;
			continue;
		}
		keep = &d->peers[o[first].peer];
		lose = &d->peers[o[i].peer];
		drop[base[o[i].peer] + o[i].slot] = true;
		config_prefix_format(text, sizeof(text), &o[i].pfx);
		if (warn(d, "server '%s' (%llu): %s is already server '%s' (%llu)'s; "
			 "left with it", lose->name, (unsigned long long)lose->server_id,
			 text, keep->name, (unsigned long long)keep->server_id) != 0)
			goto out;
	}
	for (size_t i = 0; i < d->n_peers; i++) {
		struct hz_peer *p = &d->peers[i];
		size_t u = 0;

		for (size_t j = 0; j < p->n_allowed_ips; j++)
			if (!drop[base[i] + j])
				p->allowed_ips[u++] = p->allowed_ips[j];
		p->n_allowed_ips = u;
	}
	ret = 0;
out:
	free(o);
	free(drop);
	free(base);
	return ret;
}

static int cmp_peer_key(const void *a, const void *b)
{
	const struct hz_peer *x = a, *y = b;

	return memcmp(x->public_key, y->public_key, 32);
}

/* --- Step 5: the private side ------------------------------------------------- */

static int add_route(struct hz_desired *d, const struct ip_prefix *dst,
		     const struct ip_addr *via)
{
	struct config_route *r;

	if (config_array_reserve((void **)&d->routes, d->n_routes,
				 sizeof(*d->routes)) != 0)
		return -ENOMEM;
	r = &d->routes[d->n_routes++];
	*r = (struct config_route){ .dst = *dst, .via = *via, .from_api = true };
	config_prefix_mask(&r->dst);
	return 0;
}

static int private_routes(struct hz_desired *d, const struct hz_network *net,
			  const struct hz_vswitch *vs)
{
	struct ip_prefix range = net->ip_range;
	struct ip_addr gw;
	char text[PREFIX_TEXT];

	config_prefix_mask(&range);
	config_prefix_format(text, sizeof(text), &range);
	if (vs) {
		for (size_t i = 0; i < vs->n_cloud_networks; i++)
			if (vs->cloud_networks[i].network == net->id &&
			    vs->cloud_networks[i].gateway.family == IP_V4)
				return add_route(d, &range, &vs->cloud_networks[i].gateway);
		return warn(d, "vSwitch %llu is not coupled to network %llu: no route "
			    "to %s", (unsigned long long)vs->id,
			    (unsigned long long)net->id, text);
	}
	/* Hetzner's gateway is the first address of ip_range (the subnets'
	 * "gateway" field says the same); no room for one in a /31 or /32. */
	if (range.addr.family != IP_V4 || range.cidr > 30)
		return warn(d, "network %llu: ip_range %s has no gateway address",
			    (unsigned long long)net->id, text);
	gw = range.addr;
	gw.bytes[3] |= 1;
	return add_route(d, &range, &gw);
}

/* --- The whole ------------------------------------------------------------------ */

static int compute(struct build *b, const struct hz_servers *servers,
		   const struct hz_vswitch *vs, const struct hz_options *opt)
{
	struct hz_desired *d = b->d;
	struct cand *cands;
	size_t n = 0;
	int ret;

	cands = calloc(servers->n_servers + 1, sizeof(*cands));
	d->peers = calloc(servers->n_servers + 1, sizeof(*d->peers));
	if (cands == NULL || d->peers == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if ((ret = check_servers(d, servers, opt ? opt->selector_key : NULL,
				 cands, &n)) != 0 ||
	    (ret = mark_duplicates(cands, n)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct cand *c = &cands[i];

		if (c->winner) {
			ret = warn(d, SERVER_FMT "key already used by server '%s' (%llu); "
				   "left out", SERVER_ARGS(c->s), SERVER_ARGS(c->winner->s));
			if (ret)
				goto out;
			continue;
		}
		/* Counted before the build so that a failed one is freed. */
		ret = build_peer(b, c, &d->peers[d->n_peers++]);
		if (ret)
			goto out;
	}
	if ((ret = give_prefixes_once(d)) != 0)
		goto out;
	qsort(d->peers, d->n_peers, sizeof(*d->peers), cmp_peer_key);
	if (b->net)
		ret = private_routes(d, b->net, vs);
out:
	free(cands);
	return ret;
}

int hz_desired_compute(const struct hz_servers *servers, const struct hz_network *net,
		       const struct hz_vswitch *vswitch, const struct hz_options *opt,
		       struct hz_desired *out)
{
	struct build b = { .d = out, .net = net };
	int ret;

	*out = (struct hz_desired){ 0 };
	b.network = net ? net->id : opt ? opt->network_id : 0;
	if (net) {
		b.by_gateway = calloc(net->n_routes + 1, sizeof(*b.by_gateway));
		if (b.by_gateway == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < net->n_routes; i++)
			b.by_gateway[i] = &net->routes[i];
		qsort(b.by_gateway, net->n_routes, sizeof(*b.by_gateway), cmp_route_gw);
	}
	ret = compute(&b, servers, vswitch, opt);
	free(b.by_gateway);
	if (ret != 0)
		hz_desired_free(out);
	return ret;
}

void hz_desired_free(struct hz_desired *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_peers; i++) {
		free(d->peers[i].allowed_ips);
		free(d->peers[i].name);
	}
	for (size_t i = 0; i < d->n_warnings; i++)
		free(d->warnings[i]);
	free(d->peers);
	free(d->routes);
	free(d->warnings);
	*d = (struct hz_desired){ 0 };
}
