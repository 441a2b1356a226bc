/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pure part of the Hetzner sync (see hetzner.h): the label codec, the
 * parsers of the API's replies, and the desired state.  No I/O, no clock,
 * no threads: the loop (hetzner.c) fetches, this file decides.
 *
 * JSON is read with jansson, whole, then walked with a type check on every
 * field we use.  A field's path is kept as a chain of `struct where` on the
 * stack and turned into text ("servers[3].private_net[0].ip") only when
 * something is wrong, so a good reply costs no formatting.
 */
#include "hetzner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_internal.h"

enum {
	QUOTE_MAX = 40,          /* characters of a value echoed in a message */
	NAME_MAX_LEN = 63,       /* Hetzner's own limit for names */
	DEFAULT_WG_PORT = 51820,
};

/* --- Label codec (RFC 4648 section 6, without the padding) ----------------- */

static const char b32_alphabet[33] = "abcdefghijklmnopqrstuvwxyz234567";

void hz_key_to_label(char out[HZ_LABEL_LEN + 1], const uint8_t key[32])
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < 32; i++) {
		acc = ((acc << 8) | key[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	/* 256 bits = 51 groups of 5 + 1 bit, padded with zero bits. */
	out[n++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
}

static int b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int hz_key_from_label(uint8_t key[32], const char *label)
{
	uint8_t out[32];
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	if (label == NULL || strnlen(label, HZ_LABEL_LEN + 1) != HZ_LABEL_LEN)
		return -EINVAL;
	for (size_t i = 0; i < HZ_LABEL_LEN; i++) {
		int v = b32_value(label[i]);

		if (v < 0)
			return -EINVAL;
		acc = ((acc << 5) | (unsigned)v) & 0x1fff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* 52 * 5 = 260 bits: 32 bytes and 4 bits that must be zero, or two
	 * labels would decode to the same key. */
	if ((acc & 0xf) != 0)
		return -EINVAL;
	memcpy(key, out, 32);
	return 0;
}

/* --- Paths and messages -------------------------------------------------- */

/* Where a value sits in the reply: a key of an object, or (key NULL) an
 * element of an array.  up NULL: a member of the top-level object. */
struct where {
	const struct where *up;
	const char *key;
	size_t index;
};

struct parse {
	char *err;
	size_t errlen;
};

struct text {
	char *p;
	size_t len, used;
};

/* Appends at most max bytes of s; anything but printable ASCII becomes
 * '?' (keys, names and jansson's "near '...'" come from the reply). */
static void text_put(struct text *t, const char *s, size_t max)
{
	if (t->len == 0)
		return;
	for (size_t i = 0; i < max && s[i] && t->used + 1 < t->len; i++)
		t->p[t->used++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	t->p[t->used] = '\0';
}

static void path_put(struct text *t, const struct where *w)
{
	char idx[24];

	if (w == NULL)
		return;
	path_put(t, w->up);
	if (w->key) {
		if (w->up)
			text_put(t, ".", 1);
		text_put(t, w->key, QUOTE_MAX);
	} else {
		snprintf(idx, sizeof(idx), "[%zu]", w->index);
		text_put(t, idx, sizeof(idx));
	}
}

/* The reply itself, for errors about the whole of it. */
static const struct where top_level = { NULL, "top level", 0 };

static int fail(struct parse *ps, int ret, const struct where *at,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The one place a parser's error becomes words: "path: reason", or the
 * reason alone when at is NULL (errors that are not about a field). */
static int fail(struct parse *ps, int ret, const struct where *at,
		const char *fmt, ...)
{
	struct text t = { ps->err, ps->errlen, 0 };
	char msg[HZ_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at) {
		path_put(&t, at);
		text_put(&t, ": ", 2);
	}
	text_put(&t, msg, sizeof(msg));
	return ret;
}

static int no_memory(struct parse *ps)
{
	return fail(ps, -ENOMEM, NULL, "out of memory");
}

static json_t *load(struct parse *ps, const char *json, size_t len)
{
	json_error_t je;
	json_t *root;

	if (json == NULL) {                     /* no body: as an empty one */
		json = "";
		len = 0;
	}
	if (len > HZ_MAX_REPLY) {
		fail(ps, -EINVAL, NULL, "reply too large (%zu bytes, max %d)", len,
		     HZ_MAX_REPLY);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		fail(ps, -EINVAL, NULL, "bad JSON at line %d column %d: %s", je.line,
		     je.column, je.text);
	else if (!json_is_object(root)) {
		fail(ps, -EINVAL, &top_level, "not an object");
		json_decref(root);
		root = NULL;
	}
	return root;
}

/* --- Typed fields ---------------------------------------------------------- */

enum kind { K_OBJECT, K_ARRAY, K_STRING, K_INTEGER };

static const char *const kind_name[] = {
	[K_OBJECT] = "an object", [K_ARRAY] = "an array",
	[K_STRING] = "a string", [K_INTEGER] = "an integer",
};

static bool is_kind(const json_t *v, enum kind k)
{
	switch (k) {
	case K_OBJECT: return json_is_object(v);
	case K_ARRAY: return json_is_array(v);
	case K_STRING: return json_is_string(v);
	case K_INTEGER: return json_is_integer(v);
	}
	return false;
}

static int want(struct parse *ps, const struct where *w, const json_t *v,
		enum kind kind)
{
	return is_kind(v, kind) ? 0 :
	       fail(ps, -EINVAL, w, "not %s", kind_name[kind]);
}

/* obj.key, of the given kind; nullable: null gives *out NULL.  A field we
 * use that is absent is an error like a wrong type: the documented shapes
 * always carry it, and guessing would risk removing peers. */
static int field(struct parse *ps, const struct where *at, json_t *obj,
		 const char *key, enum kind kind, bool nullable, json_t **out)
{
	const struct where w = { at, key, 0 };
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return fail(ps, -EINVAL, &w, "missing");
	if (nullable && json_is_null(v))
		return 0;
	if (!is_kind(v, kind))
		return fail(ps, -EINVAL, &w, "not %s%s", kind_name[kind],
			    nullable ? " or null" : "");
	*out = v;
	return 0;
}

/* An integer in min..max. */
static int get_uint(struct parse *ps, const struct where *at, json_t *obj,
		    const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct where w = { at, key, 0 };
	json_t *v;
	int ret = field(ps, at, obj, key, K_INTEGER, false, &v);

	if (ret)
		return ret;
	if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return fail(ps, -EINVAL, &w, "out of range (%llu..%llu)",
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Ids are positive (0 means "none" in our structs). */
static int get_id(struct parse *ps, const struct where *at, json_t *obj,
		  const char *key, uint64_t *out)
{
	return get_uint(ps, at, obj, key, 1, INT64_MAX, out);
}

static int ip4_value(struct parse *ps, const struct where *w, const json_t *v,
		     struct ip_addr *out)
{
	const char *s;

	if (!json_is_string(v))
		return fail(ps, -EINVAL, w, "not a string");
	s = json_string_value(v);
	if (config_addr_parse(s, out) != 0 || out->family != IP_V4)
		return fail(ps, -EINVAL, w, "not an IPv4 address: '%.*s'",
			    QUOTE_MAX, s);
	return 0;
}

static int get_ip4(struct parse *ps, const struct where *at, json_t *obj,
		   const char *key, struct ip_addr *out)
{
	const struct where w = { at, key, 0 };
	json_t *v;
	int ret = field(ps, at, obj, key, K_STRING, false, &v);

	return ret ? ret : ip4_value(ps, &w, v, out);
}

/* "a.b.c.d/n", stored masked. */
static int get_prefix4(struct parse *ps, const struct where *at, json_t *obj,
		       const char *key, struct ip_prefix *out)
{
	const struct where w = { at, key, 0 };
	const char *s;
	json_t *v;
	int ret = field(ps, at, obj, key, K_STRING, false, &v);

	if (ret)
		return ret;
	s = json_string_value(v);
	if (!strchr(s, '/') || config_prefix_parse(s, out) != 0 ||
	    out->addr.family != IP_V4)
		return fail(ps, -EINVAL, &w, "not an IPv4 prefix: '%.*s'",
			    QUOTE_MAX, s);
	config_prefix_mask(out);
	return 0;
}

/* A copy with control characters replaced: names end up in logs. */
static char *dup_clean(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	out[n] = '\0';
	return out;
}

static void copy_clean(char *dst, size_t len, const char *src)
{
	struct text t = { dst, len, 0 };

	if (len)
		dst[0] = '\0';
	text_put(&t, src, len);
}

/* --- Servers --------------------------------------------------------------- */

static int parse_labels(struct parse *ps, const struct where *at, json_t *obj,
			struct hz_server *s)
{
	const char *key;
	json_t *v;

	s->labels = calloc(json_object_size(obj) + 1, sizeof(*s->labels));
	if (s->labels == NULL)
		return no_memory(ps);
	json_object_foreach(obj, key, v) {
		const struct where w = { at, key, 0 };
		struct hz_label *l = &s->labels[s->n_labels];

		if (!json_is_string(v))
			return fail(ps, -EINVAL, &w, "not a string");
		l->key = strdup(key);
		l->value = strdup(json_string_value(v));
		s->n_labels++;
		if (l->key == NULL || l->value == NULL)
			return no_memory(ps);
	}
	return 0;
}

static int parse_private_net(struct parse *ps, const struct where *at,
			     json_t *v, struct hz_private_net *pn)
{
	const struct where wa = { at, "alias_ips", 0 };
	json_t *aliases;
	int ret;

	if ((ret = want(ps, at, v, K_OBJECT)) ||
	    (ret = get_id(ps, at, v, "network", &pn->network)) ||
	    (ret = get_ip4(ps, at, v, "ip", &pn->ip)) ||
	    (ret = field(ps, at, v, "alias_ips", K_ARRAY, false, &aliases)))
		return ret;
	if (json_array_size(aliases) > HZ_MAX_ALIAS_IPS)
		return fail(ps, -EINVAL, &wa, "too many (max %d)", HZ_MAX_ALIAS_IPS);
	pn->alias_ips = calloc(json_array_size(aliases) + 1, sizeof(*pn->alias_ips));
	if (pn->alias_ips == NULL)
		return no_memory(ps);
	for (size_t i = 0; i < json_array_size(aliases); i++) {
		const struct where w = { &wa, NULL, i };

		ret = ip4_value(ps, &w, json_array_get(aliases, i), &pn->alias_ips[i]);
		if (ret)
			return ret;
		pn->n_alias_ips++;
	}
	return 0;
}

static int parse_server(struct parse *ps, const struct where *at, json_t *v,
			struct hz_server *s)
{
	const struct where wl = { at, "labels", 0 }, wp = { at, "public_net", 0 };
	const struct where w4 = { &wp, "ipv4", 0 }, wn = { at, "private_net", 0 };
	json_t *name, *labels, *pub, *ipv4, *nets;
	int ret;

	if ((ret = want(ps, at, v, K_OBJECT)) ||
	    (ret = get_id(ps, at, v, "id", &s->id)) ||
	    (ret = field(ps, at, v, "name", K_STRING, false, &name)) ||
	    (ret = field(ps, at, v, "labels", K_OBJECT, false, &labels)) ||
	    (ret = field(ps, at, v, "public_net", K_OBJECT, false, &pub)) ||
	    (ret = field(ps, &wp, pub, "ipv4", K_OBJECT, true, &ipv4)) ||
	    (ipv4 && (ret = get_ip4(ps, &w4, ipv4, "ip", &s->ipv4))) ||
	    (ret = field(ps, at, v, "private_net", K_ARRAY, false, &nets)))
		return ret;
	if ((s->name = dup_clean(json_string_value(name), NAME_MAX_LEN)) == NULL)
		return no_memory(ps);
	if ((ret = parse_labels(ps, &wl, labels, s)) != 0)
		return ret;
	s->private_net = calloc(json_array_size(nets) + 1, sizeof(*s->private_net));
	if (s->private_net == NULL)
		return no_memory(ps);
	for (size_t i = 0; i < json_array_size(nets); i++) {
		const struct where w = { &wn, NULL, i };

		s->n_private_net++;
		ret = parse_private_net(ps, &w, json_array_get(nets, i),
					&s->private_net[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* meta.pagination: next_page null (last page) or after page. */
static int parse_pagination(struct parse *ps, json_t *root, uint32_t *next)
{
	const struct where wm = { NULL, "meta", 0 }, wp = { &wm, "pagination", 0 };
	const struct where wn = { &wp, "next_page", 0 };
	json_t *meta, *pag, *np;
	uint64_t page;
	int ret;

	if ((ret = field(ps, NULL, root, "meta", K_OBJECT, false, &meta)) ||
	    (ret = field(ps, &wm, meta, "pagination", K_OBJECT, false, &pag)) ||
	    (ret = get_uint(ps, &wp, pag, "page", 1, UINT32_MAX, &page)) ||
	    (ret = field(ps, &wp, pag, "next_page", K_INTEGER, true, &np)))
		return ret;
	*next = 0;
	if (np == NULL)
		return 0;
	if (json_integer_value(np) < 1 || json_integer_value(np) > (json_int_t)UINT32_MAX)
		return fail(ps, -EINVAL, &wn, "out of range (1..4294967295)");
	if (json_integer_value(np) <= (json_int_t)page)
		return fail(ps, -EINVAL, &wn, "%lld is not after page %llu",
			    (long long)json_integer_value(np), (unsigned long long)page);
	*next = (uint32_t)json_integer_value(np);
	return 0;
}

int hz_parse_servers_page(const char *json, size_t len, struct hz_servers *out,
			  uint32_t *next_page, char *err, size_t errlen)
{
	const struct where ws = { NULL, "servers", 0 };
	struct parse ps = { err, errlen };
	struct hz_servers page = { 0 };
	struct hz_server *grown;
	json_t *root, *arr;
	uint32_t next = 0;
	int ret = -EINVAL;

	if (errlen)
		err[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	if ((ret = field(&ps, NULL, root, "servers", K_ARRAY, false, &arr)) ||
	    (ret = parse_pagination(&ps, root, &next)))
		goto out;
	if (json_array_size(arr) > HZ_MAX_SERVERS - out->n_servers) {
		ret = fail(&ps, -EINVAL, &ws, "too many in all (max %d)", HZ_MAX_SERVERS);
		goto out;
	}
	page.servers = calloc(json_array_size(arr) + 1, sizeof(*page.servers));
	if (page.servers == NULL) {
		ret = no_memory(&ps);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const struct where w = { &ws, NULL, i };

		page.n_servers++;
		ret = parse_server(&ps, &w, json_array_get(arr, i), &page.servers[i]);
		if (ret)
			goto out;
	}
	grown = reallocarray(out->servers, out->n_servers + page.n_servers + 1,
			     sizeof(*grown));
	if (grown == NULL) {
		ret = no_memory(&ps);
		goto out;
	}
	out->servers = grown;
	if (page.n_servers)
		memcpy(grown + out->n_servers, page.servers,
		       page.n_servers * sizeof(*grown));
	out->n_servers += page.n_servers;
	free(page.servers);
	page = (struct hz_servers){ 0 };
	*next_page = next;
	ret = 0;
out:
	hz_servers_free(&page);
	json_decref(root);
	return ret;
}

void hz_servers_free(struct hz_servers *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_servers; i++) {
		struct hz_server *sv = &s->servers[i];

		for (size_t l = 0; l < sv->n_labels; l++) {
			free(sv->labels[l].key);
			free(sv->labels[l].value);
		}
		for (size_t p = 0; p < sv->n_private_net; p++)
			free(sv->private_net[p].alias_ips);
		free(sv->labels);
		free(sv->private_net);
		free(sv->name);
	}
	free(s->servers);
	*s = (struct hz_servers){ 0 };
}

/* --- Networks -------------------------------------------------------------- */

static int parse_routes(struct parse *ps, const struct where *at, json_t *arr,
			struct hz_network *n)
{
	if (json_array_size(arr) > HZ_MAX_ROUTES)
		return fail(ps, -EINVAL, at, "too many (max %d)", HZ_MAX_ROUTES);
	n->routes = calloc(json_array_size(arr) + 1, sizeof(*n->routes));
	if (n->routes == NULL)
		return no_memory(ps);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const struct where w = { at, NULL, i };
		json_t *r = json_array_get(arr, i);
		int ret;

		if ((ret = want(ps, &w, r, K_OBJECT)) ||
		    (ret = get_prefix4(ps, &w, r, "destination",
				       &n->routes[i].destination)) ||
		    (ret = get_ip4(ps, &w, r, "gateway", &n->routes[i].gateway)))
			return ret;
		n->n_routes++;
	}
	return 0;
}

int hz_parse_network(const char *json, size_t len, struct hz_network *out,
		     char *err, size_t errlen)
{
	const struct where wn = { NULL, "network", 0 }, wr = { &wn, "routes", 0 };
	struct parse ps = { err, errlen };
	struct hz_network n = { 0 };
	json_t *root, *net, *name, *routes;
	int ret;

	*out = n;
	if (errlen)
		err[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	if ((ret = field(&ps, NULL, root, "network", K_OBJECT, false, &net)) ||
	    (ret = get_id(&ps, &wn, net, "id", &n.id)) ||
	    (ret = field(&ps, &wn, net, "name", K_STRING, false, &name)) ||
	    (ret = get_prefix4(&ps, &wn, net, "ip_range", &n.ip_range)) ||
	    (ret = field(&ps, &wn, net, "routes", K_ARRAY, false, &routes)))
		goto out;
	if ((n.name = dup_clean(json_string_value(name), NAME_MAX_LEN)) == NULL) {
		ret = no_memory(&ps);
		goto out;
	}
	if ((ret = parse_routes(&ps, &wr, routes, &n)) != 0)
		goto out;
	*out = n;
	n = (struct hz_network){ 0 };
out:
	hz_network_free(&n);
	json_decref(root);
	return ret;
}

int hz_parse_network_id_by_name(const char *json, size_t len, const char *name,
				uint64_t *id, char *err, size_t errlen)
{
	const struct where wl = { NULL, "networks", 0 };
	struct parse ps = { err, errlen };
	json_t *root, *arr;
	uint64_t found = 0;
	int ret;

	*id = 0;
	if (errlen)
		err[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	if ((ret = field(&ps, NULL, root, "networks", K_ARRAY, false, &arr)))
		goto out;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const struct where w = { &wl, NULL, i };
		json_t *v = json_array_get(arr, i), *nm;
		uint64_t nid;

		if ((ret = want(&ps, &w, v, K_OBJECT)) ||
		    (ret = get_id(&ps, &w, v, "id", &nid)) ||
		    (ret = field(&ps, &w, v, "name", K_STRING, false, &nm)))
			goto out;
		if (strcmp(json_string_value(nm), name) != 0)
			continue;
		if (found) {
			ret = fail(&ps, -EINVAL, &wl, "networks %llu and %llu are "
				   "both named '%.*s'", (unsigned long long)found,
				   (unsigned long long)nid, QUOTE_MAX, name);
			goto out;
		}
		found = nid;
	}
	*id = found;
out:
	json_decref(root);
	return ret;
}

void hz_network_free(struct hz_network *n)
{
	if (n == NULL)
		return;
	free(n->name);
	free(n->routes);
	*n = (struct hz_network){ 0 };
}

/* --- Robot: vSwitch ---------------------------------------------------------- */

static int parse_cloud_network(struct parse *ps, const struct where *at,
			       json_t *v, struct hz_vswitch_net *cn)
{
	uint64_t mask;
	int ret;

	/* mask is an integer here (the Robot's /server subnets send it as a
	 * string; the vSwitch docs and hrobot-rs say integer). */
	if ((ret = want(ps, at, v, K_OBJECT)) ||
	    (ret = get_id(ps, at, v, "id", &cn->network)) ||
	    (ret = get_ip4(ps, at, v, "ip", &cn->subnet.addr)) ||
	    (ret = get_uint(ps, at, v, "mask", 0, 32, &mask)) ||
	    (ret = get_ip4(ps, at, v, "gateway", &cn->gateway)))
		return ret;
	cn->subnet.cidr = (uint8_t)mask;
	config_prefix_mask(&cn->subnet);
	return 0;
}

int hz_parse_vswitch(const char *json, size_t len, struct hz_vswitch *out,
		     char *err, size_t errlen)
{
	const struct where wc = { NULL, "cloud_network", 0 };
	struct parse ps = { err, errlen };
	struct hz_vswitch vs = { 0 };
	json_t *root, *arr;
	uint64_t vlan;
	int ret;

	*out = vs;
	if (errlen)
		err[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	if ((ret = get_id(&ps, NULL, root, "id", &vs.id)) ||
	    (ret = get_uint(&ps, NULL, root, "vlan", 1, 4094, &vlan)) ||
	    (ret = field(&ps, NULL, root, "cloud_network", K_ARRAY, false, &arr)))
		goto out;
	vs.vlan = (uint16_t)vlan;
	vs.cloud_networks = calloc(json_array_size(arr) + 1, sizeof(*vs.cloud_networks));
	if (vs.cloud_networks == NULL) {
		ret = no_memory(&ps);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const struct where w = { &wc, NULL, i };

		ret = parse_cloud_network(&ps, &w, json_array_get(arr, i),
					  &vs.cloud_networks[i]);
		if (ret)
			goto out;
		vs.n_cloud_networks++;
	}
	*out = vs;
	vs = (struct hz_vswitch){ 0 };
out:
	hz_vswitch_free(&vs);
	json_decref(root);
	return ret;
}

void hz_vswitch_free(struct hz_vswitch *v)
{
	if (v == NULL)
		return;
	free(v->cloud_networks);
	*v = (struct hz_vswitch){ 0 };
}

/* --- Actions and errors ------------------------------------------------------ */

int hz_parse_action(const char *json, size_t len, struct hz_action *out,
		    char *err, size_t errlen)
{
	const struct where wa = { NULL, "action", 0 }, ws = { &wa, "status", 0 };
	const struct where we = { &wa, "error", 0 };
	struct parse ps = { err, errlen };
	struct hz_action a = { 0 };
	json_t *root, *act, *status, *e, *code, *msg;
	const char *st;
	int ret;

	*out = a;
	if (errlen)
		err[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	if ((ret = field(&ps, NULL, root, "action", K_OBJECT, false, &act)) ||
	    (ret = get_id(&ps, &wa, act, "id", &a.id)) ||
	    (ret = field(&ps, &wa, act, "status", K_STRING, false, &status)))
		goto out;
	st = json_string_value(status);
	if (strcmp(st, "running") == 0)
		a.status = HZ_ACTION_RUNNING;
	else if (strcmp(st, "success") == 0)
		a.status = HZ_ACTION_SUCCESS;
	else if (strcmp(st, "error") == 0)
		a.status = HZ_ACTION_ERROR;
	else {
		ret = fail(&ps, -EINVAL, &ws, "unknown status '%.*s'", QUOTE_MAX, st);
		goto out;
	}
	/* The docs' examples carry an error object whatever the status; only
	 * a failed action's error means anything. */
	if (a.status == HZ_ACTION_ERROR) {
		if ((ret = field(&ps, &wa, act, "error", K_OBJECT, false, &e)) ||
		    (ret = field(&ps, &we, e, "code", K_STRING, false, &code)) ||
		    (ret = field(&ps, &we, e, "message", K_STRING, false, &msg)))
			goto out;
		copy_clean(a.error_code, sizeof(a.error_code), json_string_value(code));
		copy_clean(a.error_message, sizeof(a.error_message),
			   json_string_value(msg));
	}
	*out = a;
out:
	json_decref(root);
	return ret;
}

int hz_parse_error(const char *json, size_t len, char *code, size_t codelen,
		   char *message, size_t msglen)
{
	struct parse ps = { NULL, 0 };
	json_t *root, *e, *c, *m;
	int ret = -EINVAL;

	if (codelen)
		code[0] = '\0';
	if (msglen)
		message[0] = '\0';
	if ((root = load(&ps, json, len)) == NULL)
		return -EINVAL;
	e = json_object_get(root, "error");
	c = json_object_get(e, "code");
	m = json_object_get(e, "message");
	if (json_is_object(e) && json_is_string(c) && (m == NULL || json_is_string(m))) {
		copy_clean(code, codelen, json_string_value(c));
		if (m)
			copy_clean(message, msglen, json_string_value(m));
		ret = 0;
	}
	json_decref(root);
	return ret;
}
