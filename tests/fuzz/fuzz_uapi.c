/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the UAPI set parser (control/uapi_parse.c).  Each
 * input is the body of a set request (the lines after "set=1\n").
 *
 * Build (see meson.build in this folder) and run from the source root:
 *   build-fuzz/tests/fuzz/fuzz_uapi -max_total_time=60 tests/fuzz/corpus/uapi
 * The seeds are what the stock wg(8) sent for setconf, addconf, set and
 * syncconf, captured on a fake socket, plus the -prefix form.
 *
 * Besides the sanitizers, four oracles:
 *  - the contract: 0 and a model, or an errno, a reason and an empty model;
 *  - the model's bounds: counts within the limits, prefixes masked;
 *  - a round trip: a model written back as wg would write it parses to
 *    the same model (catches values accepted but stored wrongly);
 *  - applied to a running config (config_apply_uapi on a clone), the
 *    result is a config: unique peer keys, each prefix on one peer at
 *    most, prefixes masked, none of them our own key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config_edit.h"
#include "uapi_parse.h"

static void hex(FILE *f, const char *key, const uint8_t k[UAPI_KEY_LEN])
{
	fprintf(f, "%s=", key);
	for (int i = 0; i < UAPI_KEY_LEN; i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
}

static void write_set(FILE *f, const struct uapi_set *s)
{
	char buf[64];

	if (s->has_private_key)
		hex(f, "private_key", s->private_key);
	if (s->has_listen_port)
		fprintf(f, "listen_port=%u\n", s->listen_port);
	if (s->has_fwmark)
		fprintf(f, "fwmark=%u\n", s->fwmark);
	if (s->replace_peers)
		fputs("replace_peers=true\n", f);
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct uapi_peer *p = &s->peers[i];

		hex(f, "public_key", p->public_key);
		if (p->remove)
			fputs("remove=true\n", f);
		if (p->update_only)
			fputs("update_only=true\n", f);
		if (p->has_preshared_key)
			hex(f, "preshared_key", p->preshared_key);
		if (p->has_endpoint) {
			config_endpoint_format(buf, sizeof(buf), &p->endpoint);
			fprintf(f, "endpoint=%s\n", buf);
		}
		if (p->has_persistent_keepalive)
			fprintf(f, "persistent_keepalive_interval=%u\n",
				p->persistent_keepalive);
		if (p->replace_allowed_ips)
			fputs("replace_allowed_ips=true\n", f);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			config_prefix_format(buf, sizeof(buf),
					     &p->allowed_ips[j].prefix);
			fprintf(f, "allowed_ip=%s%s\n",
				p->allowed_ips[j].remove ? "-" : "", buf);
		}
	}
	fputc('\n', f);
}

static bool peer_equal(const struct uapi_peer *a, const struct uapi_peer *b)
{
	/* line differs by design: the rewrite has other line numbers. */
	return memcmp(a->public_key, b->public_key, UAPI_KEY_LEN) == 0 &&
	       a->remove == b->remove && a->update_only == b->update_only &&
	       a->has_preshared_key == b->has_preshared_key &&
	       memcmp(a->preshared_key, b->preshared_key, UAPI_KEY_LEN) == 0 &&
	       a->has_endpoint == b->has_endpoint &&
	       (!a->has_endpoint || ip_endpoint_equal(&a->endpoint, &b->endpoint)) &&
	       a->has_persistent_keepalive == b->has_persistent_keepalive &&
	       a->persistent_keepalive == b->persistent_keepalive &&
	       a->replace_allowed_ips == b->replace_allowed_ips &&
	       a->n_allowed_ips == b->n_allowed_ips &&
	       (a->n_allowed_ips == 0 ||
		memcmp(a->allowed_ips, b->allowed_ips,
		       a->n_allowed_ips * sizeof(*a->allowed_ips)) == 0);
}

static bool set_equal(const struct uapi_set *a, const struct uapi_set *b)
{
	if (a->has_private_key != b->has_private_key ||
	    memcmp(a->private_key, b->private_key, UAPI_KEY_LEN) != 0 ||
	    a->has_listen_port != b->has_listen_port ||
	    a->listen_port != b->listen_port || a->has_fwmark != b->has_fwmark ||
	    a->fwmark != b->fwmark || a->replace_peers != b->replace_peers ||
	    a->n_peers != b->n_peers)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (!peer_equal(&a->peers[i], &b->peers[i]))
			return false;
	return true;
}

static void check_model(const struct uapi_set *s)
{
	if (s->n_peers > UAPI_MAX_PEERS)
		__builtin_trap();
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct uapi_peer *p = &s->peers[i];

		if (p->n_allowed_ips > UAPI_MAX_ALLOWED_IPS)
			__builtin_trap();
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			struct ip_prefix m = p->allowed_ips[j].prefix;

			if (m.cidr > ip_addr_len(&m.addr) * 8)
				__builtin_trap();
			config_prefix_mask(&m);
			if (memcmp(&m, &p->allowed_ips[j].prefix, sizeof(m)) != 0)
				__builtin_trap();
		}
	}
}

static void round_trip(const struct uapi_set *s)
{
	char *text = NULL, err[UAPI_ERR_LEN];
	size_t len = 0;
	struct uapi_set again;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	write_set(f, s);
	if (fclose(f) != 0)
		return;
	if (uapi_set_parse(text, len, &again, err, sizeof(err)) != 0 ||
	    !set_equal(s, &again))
		__builtin_trap();
	uapi_set_free(&again);
	free(text);
}

static const char base_text[] =
	"[Interface]\nPrivateKey = GIPEvSj0DkG+24ZO9LDFMKgwl0JEheCow1qVdrcJFmE=\n"
	"ListenPort = 51820\n"
	"[Peer]\nPublicKey = Qs1nu4jOluP/GuKJbZ4+xcgyf3fn8llb+/zgqyyg+RY=\n"
	"AllowedIPs = 10.0.0.0/24, fd00::/64\nEndpoint = 192.0.2.1:51820\n"
	"[Peer]\nPublicKey = POY7GA644IXeq40TilEdUO+L0DudV2UZ+TARBwcbQh4=\n"
	"AllowedIPs = 0.0.0.0/0\n";

struct owner {
	struct ip_prefix pfx;
	size_t peer;
};

static int cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	int c = memcmp(&x->pfx, &y->pfx, sizeof(x->pfx));

	return c ? c : (x->peer > y->peer) - (x->peer < y->peer);
}

static void check_config(const struct config *cfg)
{
	size_t total = 0, n = 0;
	struct owner *o;
	uint8_t own[32];

	crypto_scalarmult_base(own, cfg->iface.private_key);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		total += cfg->peers[i].n_allowed_ips;
		if (memcmp(cfg->peers[i].public_key, own, 32) == 0)
			__builtin_trap();
		for (size_t j = i + 1; j < cfg->n_peers && j < i + 64; j++)
			if (memcmp(cfg->peers[i].public_key, cfg->peers[j].public_key, 32) == 0)
				__builtin_trap();
	}
	o = calloc(total ? total : 1, sizeof(*o));
	if (!o)
		return;
	for (size_t i = 0; i < cfg->n_peers; i++)
		for (size_t j = 0; j < cfg->peers[i].n_allowed_ips; j++) {
			memset(&o[n].pfx, 0, sizeof(o[n].pfx));
			o[n].pfx.addr = cfg->peers[i].allowed_ips[j].addr;
			o[n].pfx.cidr = cfg->peers[i].allowed_ips[j].cidr;
			o[n++].peer = i;
		}
	qsort(o, n, sizeof(*o), cmp_owner);
	for (size_t k = 0; k + 1 < n; k++)
		if (memcmp(&o[k].pfx, &o[k + 1].pfx, sizeof(o[k].pfx)) == 0)
			__builtin_trap();
	free(o);
}

static void apply(const struct uapi_set *s)
{
	static struct config *base;
	struct config *next;
	char err[256];

	if (!base && config_parse("base.conf", base_text, sizeof(base_text) - 1,
				  CONFIG_NO_PERMISSION_CHECK | CONFIG_NO_DNS, NULL, NULL,
				  &base, err, sizeof(err)) != 0)
		__builtin_trap();
	next = config_clone(base);
	if (!next)
		return;
	if (config_apply_uapi(next, s, err, sizeof(err)) == 0)
		check_config(next);
	else if (err[0] == '\0')
		__builtin_trap();
	config_free(next);
}

static void run(const char *text, size_t len)
{
	char err[UAPI_ERR_LEN];
	struct uapi_set s;
	int ret = uapi_set_parse(text, len, &s, err, sizeof(err));

	if (ret != 0) {
		if (err[0] == '\0' || s.peers || s.n_peers || s.has_private_key)
			__builtin_trap();
		return;
	}
	check_model(&s);
	round_trip(&s);
	apply(&s);
	uapi_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t end = uapi_request_end(text, size);

	run(text, size);
	/* As the socket reader would: frame first, then parse that much. */
	if (end > 0 && end < size)
		run(text, end);
	return 0;
}
