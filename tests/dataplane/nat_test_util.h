/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixture shared by the NAT flow-layer tests: test_nat.c (the numbered
 * tables and single-thread cases), test_nat_threads.c (the randomized
 * comparison with a naive model and the multi-threaded runs) and
 * test_nat_walk.c (the CLI's session walk and flush).
 *
 * Header-only on purpose: each test is one translation unit and one
 * executable, so the static state below (the xorshift stream) is private
 * to each, and nothing needs linking in besides the core library.
 */
#ifndef PORTCULLIS_TESTS_NAT_TEST_UTIL_H
#define PORTCULLIS_TESTS_NAT_TEST_UTIL_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nat_table.h"
#include "portcullis/wire.h"
#include "random.h"

#define SEC(s) ((uint64_t)(s) * NSEC_PER_SEC)
#define JUST_BEFORE(s) (SEC(s) + NSEC_PER_SEC - 1)  /* last ns of second s */
#define ALL 1000000u                                 /* expiry budget */
#define UDP IPPROTO_UDP_
#define TCP IPPROTO_TCP_
#define ICMP IPPROTO_ICMP_

/* --- Fixture -------------------------------------------------------------- */

/* One stream per executable: each test (re)seeds it before use. */
static uint64_t rng_state;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static inline void test_source(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng();
}

static inline uint32_t ip(const char *s)
{
	uint32_t a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad address %s", s);
	return a;
}

static inline struct ip_addr ip_addr4(const char *s)
{
	struct ip_addr a = { .family = IP_V4 };
	uint32_t v = ip(s);

	memcpy(a.bytes, &v, sizeof(v));
	return a;
}

#define EXT "203.0.113.1"

struct fx {
	struct nat *nat;
	struct nat_lcore lc;
	struct nat_config conf;
	struct nat_forward fwd[4];
};

/* struct nat_lcore is cache-line aligned, and so must its holder be. */
static inline void *zalloc64(size_t size)
{
	size = (size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, size);

	assert_non_null(p);
	memset(p, 0, size);
	return p;
}

static inline struct fx *fx_new(uint32_t max_sessions)
{
	struct fx *f = zalloc64(sizeof(*f));

	rng_state = 0x243f6a8885a308d3ULL;
	random_source_set(test_source);
	nat_config_defaults(&f->conf);
	f->conf.enabled = true;
	f->conf.masquerade[0] = (struct ip_prefix){ ip_addr4("10.0.0.0"), 16 };
	f->conf.n_masquerade = 1;
	f->conf.external = ip_addr4(EXT);
	f->conf.forwards = f->fwd;
	f->nat = nat_create(max_sessions);
	assert_non_null(f->nat);
	nat_lcore_init(&f->lc);
	return f;
}

static inline void fx_free(struct fx *f)
{
	nat_lcore_release(f->nat, &f->lc);
	nat_destroy(f->nat);
	random_source_set(NULL);
	free(f);
}

static inline void fx_forward(struct fx *f, uint8_t proto, const char *ext,
			      uint16_t ext_port, const char *in,
			      uint16_t in_port)
{
	struct nat_forward *w = &f->fwd[f->conf.n_forwards++];

	*w = (struct nat_forward){ .proto = proto, .external_port = ext_port,
				   .internal = ip_addr4(in),
				   .internal_port = in_port };
	if (ext)
		w->external = ip_addr4(ext);
}

/* --- One packet's flow lookup --------------------------------------------- */

/* Outbound from src:sport to dst:dport; for ICMP sport is the echo id.
 * rw may be NULL when the rewrite does not matter. */
static inline enum nat_result out(struct fx *f, uint8_t proto,
				  const char *src, uint16_t sport,
				  const char *dst, uint16_t dport,
				  uint8_t flags, uint64_t now,
				  struct nat_rewrite *rw)
{
	struct nat_tuple t = { ip(src), ip(dst), htons(sport),
			       proto == ICMP ? 0 : htons(dport), proto };
	struct nat_rewrite dummy;

	return nat_flow_out(f->nat, &f->lc, &f->conf, &t, flags, now,
			    rw ? rw : &dummy);
}

/* Inbound from src:sport to dst:dport; for ICMP dport is the echo id. */
static inline enum nat_result in(struct fx *f, uint8_t proto, const char *src,
				 uint16_t sport, const char *dst,
				 uint16_t dport, uint8_t flags, uint64_t now,
				 struct nat_rewrite *rw)
{
	struct nat_tuple t = { ip(src), ip(dst),
			       proto == ICMP ? 0 : htons(sport), htons(dport),
			       proto };
	struct nat_rewrite dummy;

	return nat_flow_in(f->nat, &f->lc, &f->conf, &t, flags, now,
			   rw ? rw : &dummy);
}

#endif
