/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/ratelimiter.c: the bucket arithmetic with injected
 * time, source grouping, the bounded table failing closed, garbage
 * collection, and a randomized comparison against a naive linear-scan
 * model (which also exercises deletion in the open-addressing table).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/wire.h"
#include "random.h"
#include "ratelimiter.h"

#define MSEC(ms) ((uint64_t)(ms) * NSEC_PER_MSEC)
#define COST (NSEC_PER_SEC / INITIATIONS_PER_SECOND)   /* 20 ms */
#define BURST 5
#define T0 (1000 * NSEC_PER_SEC)

/* --- Deterministic randomness: the hash key is reproducible ------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void test_source(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rng();
}

static int setup(void **state)
{
	(void)state;
	rng_state = 0x243f6a8885a308d3ULL;
	random_source_set(test_source);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	random_source_set(NULL);
	return 0;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = IP_V4;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = IP_V6;
	else
		fail_msg("bad address %s", s);
	return a;
}

/* How many packets from s pass at now, trying up to `tries`. */
static unsigned passes(struct ratelimiter *rl, const char *s, uint64_t now,
		       unsigned tries)
{
	struct ip_addr a = addr(s);
	unsigned n = 0;

	for (unsigned i = 0; i < tries; i++)
		n += ratelimiter_allow(rl, &a, now);
	return n;
}

/* --- Cases ------------------------------------------------------------------ */

static void test_burst_then_refuse(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(16);

	(void)state;
	assert_non_null(rl);
	assert_int_equal(passes(rl, "192.0.2.1", T0, 100), BURST);
	assert_int_equal(passes(rl, "192.0.2.1", T0 + MSEC(5), 10), 0);
	assert_int_equal(ratelimiter_entries(rl), 1);
	ratelimiter_destroy(rl);
}

static void test_refill(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(16);
	uint64_t now = T0;

	(void)state;
	assert_int_equal(passes(rl, "192.0.2.1", now, BURST), BURST);
	/* One packet's worth of credit takes exactly COST to come back. */
	assert_int_equal(passes(rl, "192.0.2.1", now + COST - 1, 1), 0);
	now += COST - 1;
	assert_int_equal(passes(rl, "192.0.2.1", now + 1, 2), 1);
	now += 1;
	/* Steady state: INITIATIONS_PER_SECOND a second, no more. */
	unsigned got = 0;
	for (int ms = 1; ms <= 1000; ms++)
		got += passes(rl, "192.0.2.1", now + MSEC(ms), 3);
	assert_int_equal(got, INITIATIONS_PER_SECOND);
	/* A long pause refills only up to the burst. */
	now += 60 * NSEC_PER_SEC;
	assert_int_equal(passes(rl, "192.0.2.1", now, 100), BURST);
	/* A clock that steps back gives no credit, now or later. */
	assert_int_equal(passes(rl, "192.0.2.1", now - MSEC(500), 3), 0);
	assert_int_equal(passes(rl, "192.0.2.1", now + COST, 3), 1);
	assert_int_equal(passes(rl, "192.0.2.1", now + 2 * COST - 1, 3), 0);
	ratelimiter_destroy(rl);
}

static void test_sources_independent(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(16);

	(void)state;
	assert_int_equal(passes(rl, "192.0.2.1", T0, 10), BURST);
	assert_int_equal(passes(rl, "192.0.2.2", T0, 10), BURST);
	assert_int_equal(passes(rl, "198.51.100.1", T0, 10), BURST);
	/* Same bytes, other family: another source. */
	assert_int_equal(passes(rl, "c000:201::", T0, 10), BURST);
	assert_int_equal(passes(rl, "192.0.2.1", T0, 10), 0);
	assert_int_equal(ratelimiter_entries(rl), 4);
	ratelimiter_destroy(rl);
}

static void test_ipv6_grouped_by_64(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(16);

	(void)state;
	assert_int_equal(passes(rl, "2001:db8:1:2::1", T0, 3), 3);
	/* Anywhere in the same /64: the same bucket. */
	assert_int_equal(passes(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", T0, 10), 2);
	assert_int_equal(passes(rl, "2001:db8:1:2:dead::beef", T0, 10), 0);
	/* The next /64 is someone else. */
	assert_int_equal(passes(rl, "2001:db8:1:3::1", T0, 10), BURST);
	assert_int_equal(ratelimiter_entries(rl), 2);
	ratelimiter_destroy(rl);
}

static void test_table_full_fails_closed(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(4);
	const char *srcs[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4" };

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(passes(rl, srcs[i], T0, 1), 1);
	assert_int_equal(ratelimiter_entries(rl), 4);
	/* A fifth source is refused, every time, and takes no slot. */
	assert_int_equal(passes(rl, "10.0.0.5", T0, 10), 0);
	assert_int_equal(passes(rl, "2001:db8::5", T0 + MSEC(900), 10), 0);
	assert_int_equal(ratelimiter_entries(rl), 4);
	/* Known sources are still served. */
	assert_int_equal(passes(rl, srcs[2], T0, 10), BURST - 1);
	/* Until the collector frees idle entries, nothing changes. */
	ratelimiter_gc(rl, T0 + NSEC_PER_SEC);
	assert_int_equal(passes(rl, "10.0.0.5", T0 + NSEC_PER_SEC, 1), 0);
	ratelimiter_gc(rl, T0 + NSEC_PER_SEC + 1);
	assert_int_equal(ratelimiter_entries(rl), 0);
	assert_int_equal(passes(rl, "10.0.0.5", T0 + NSEC_PER_SEC + 1, 10), BURST);
	ratelimiter_destroy(rl);
}

static void test_gc(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(256);
	char s[32];

	(void)state;
	/* 200 sources, last seen 10 ms apart: 0 .. 1990 ms after T0. */
	for (int i = 0; i < 200; i++) {
		snprintf(s, sizeof(s), "10.0.%d.%d", i / 100, i % 100);
		assert_int_equal(passes(rl, s, T0 + MSEC(10 * i), BURST), BURST);
	}
	assert_int_equal(ratelimiter_entries(rl), 200);
	/* At T0 + 2 s, idle "more than a second" means last seen before
	 * T0 + 1 s: sources 0..99 go, 100 (exactly 1 s) stays. */
	ratelimiter_gc(rl, T0 + 2 * NSEC_PER_SEC);
	assert_int_equal(ratelimiter_entries(rl), 100);
	/* The survivors are the same buckets, still empty: not re-created. */
	for (int i = 100; i < 200; i++) {
		snprintf(s, sizeof(s), "10.0.%d.%d", i / 100, i % 100);
		assert_int_equal(passes(rl, s, T0 + MSEC(10 * i), 1), 0);
	}
	/* The collected ones come back with a full burst. */
	assert_int_equal(passes(rl, "10.0.0.7", T0 + 2 * NSEC_PER_SEC, 10), BURST);
	ratelimiter_gc(rl, T0 + 100 * NSEC_PER_SEC);
	assert_int_equal(ratelimiter_entries(rl), 0);
	ratelimiter_destroy(rl);
}

static void test_invalid(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(4);
	struct ip_addr none = { 0 };

	(void)state;
	assert_null(ratelimiter_create(0));
	assert_false(ratelimiter_allow(rl, &none, T0));
	none.family = 5;
	assert_false(ratelimiter_allow(rl, &none, T0));
	assert_int_equal(ratelimiter_entries(rl), 0);
	ratelimiter_destroy(rl);
	ratelimiter_destroy(NULL);
}

/* --- Randomized comparison with a naive model ---------------------------------- */

struct naive_entry {
	struct ip_addr src;    /* normalised: v6 host bits cleared */
	uint64_t last, tokens;
};

struct naive {
	struct naive_entry e[64];
	unsigned n, max;
};

static struct ip_addr normalise(struct ip_addr a)
{
	if (a.family == IP_V6)
		memset(a.bytes + 8, 0, 8);
	return a;
}

static bool naive_allow(struct naive *m, struct ip_addr a, uint64_t now)
{
	a = normalise(a);
	for (unsigned i = 0; i < m->n; i++) {
		struct naive_entry *e = &m->e[i];

		if (!ip_addr_equal(&e->src, &a))
			continue;
		if (now > e->last) {
			e->tokens += now - e->last;
			e->last = now;
		}
		if (e->tokens > BURST * COST)
			e->tokens = BURST * COST;
		if (e->tokens < COST)
			return false;
		e->tokens -= COST;
		return true;
	}
	if (m->n == m->max)
		return false;
	m->e[m->n++] = (struct naive_entry){ a, now, (BURST - 1) * COST };
	return true;
}

static void naive_gc(struct naive *m, uint64_t now)
{
	for (unsigned i = 0; i < m->n;)
		if (now > m->e[i].last && now - m->e[i].last > NSEC_PER_SEC)
			m->e[i] = m->e[--m->n];
		else
			i++;
}

static void test_random_vs_naive(void **state)
{
	struct ratelimiter *rl = ratelimiter_create(48);
	struct naive m = { .max = 48 };
	struct ip_addr pool[120];
	uint64_t now = T0;

	(void)state;
	/* 60 IPv4 sources and 60 IPv6 addresses in 30 /64s. */
	for (int i = 0; i < 120; i++) {
		memset(&pool[i], 0, sizeof(pool[i]));
		pool[i].family = i < 60 ? IP_V4 : IP_V6;
		pool[i].bytes[0] = 10;
		pool[i].bytes[3] = (uint8_t)i;
		if (i >= 60) {
			pool[i].bytes[7] = (uint8_t)(i / 2);
			pool[i].bytes[15] = (uint8_t)i;
		}
	}
	for (int op = 0; op < 200000; op++) {
		const struct ip_addr *a = &pool[rng() % (op % 5000 < 2500 ? 30 : 120)];

		now += rng() % MSEC(rng() % 8 ? 2 : 300);
		if (rng() % 100 == 0) {
			ratelimiter_gc(rl, now);
			naive_gc(&m, now);
			assert_int_equal(ratelimiter_entries(rl), m.n);
			continue;
		}
		if (ratelimiter_allow(rl, a, now) != naive_allow(&m, *a, now))
			fail_msg("op %d: source %u/%u differs", op, a->family,
				 a->bytes[3]);
	}
	ratelimiter_destroy(rl);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_burst_then_refuse),
		TEST(test_refill),
		TEST(test_sources_independent),
		TEST(test_ipv6_grouped_by_64),
		TEST(test_table_full_fails_closed),
		TEST(test_gc),
		TEST(test_invalid),
		TEST(test_random_vs_naive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
