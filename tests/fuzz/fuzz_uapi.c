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
 * Besides the sanitizers, three oracles:
 *  - the contract: 0 and a model, or an errno, a reason and an empty model;
 *  - the model's bounds: counts within the limits, prefixes masked;
 *  - a round trip: a model written back as wg would write it parses to
 *    the same model (catches values accepted but stored wrongly).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
