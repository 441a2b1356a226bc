/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/allowedips.c: a numbered table of operations with
 * their expected results, walk order, clone independence, and a
 * randomized comparison against a linear-scan reference over thousands of
 * overlapping IPv4 and IPv6 prefixes with removals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "allowedips.h"
#include "portcullis/types.h"

/* --- Parsing helpers --------------------------------------------------------- */

static struct ip_addr addr_parse(const char *s)
{
	struct ip_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = IP_V4;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = IP_V6;
	else
		fail_msg("bad address in test: %s", s);
	return a;
}

/* "addr/cidr"; the cidr is taken as written, even when out of range, so
 * the table can feed invalid prefixes to the code under test. */
static struct ip_prefix prefix_parse(const char *s)
{
	char buf[64];
	char *slash;
	struct ip_prefix p;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = '\0';
	p.addr = addr_parse(buf);
	p.cidr = (uint8_t)atoi(slash + 1);
	return p;
}

static void prefix_format(const struct ip_prefix *p, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->addr.family == IP_V4 ? AF_INET : AF_INET6, p->addr.bytes,
		  a, sizeof(a));
	snprintf(out, len, "%s/%u", a, p->cidr);
}

/* --- The table of cases ------------------------------------------------------- */

enum op {
	INS,    /* insert s with value; want the return code */
	DEL,    /* remove s; want the return code */
	LOOK,   /* look up address s; want the value */
	MISS,   /* look up address s; want no match */
	DELV,   /* remove_by_value(value); want how many went */
	COUNT,  /* want allowedips_count() */
	NODES,  /* want allowedips_nodes() */
};

struct ap_case {
	enum op op;
	const char *s;
	uint32_t value;
	long want;
};

static const struct ap_case cases[] = {
	/*  1 */ { MISS, "10.0.0.1" },                        /* empty table */
	/*  2 */ { MISS, "::1" },
	/*  3 */ { INS, "10.0.0.0/8", 1, 0 },
	/*  4 */ { LOOK, "10.1.2.3", 0, 1 },
	/*  5 */ { MISS, "11.0.0.0" },
	/*  6 */ { MISS, "a00::" },                           /* v6 unaffected */
	/*  7 */ { INS, "10.1.0.0/16", 2, 0 },                /* more specific */
	/*  8 */ { LOOK, "10.1.2.3", 0, 2 },
	/*  9 */ { LOOK, "10.2.2.3", 0, 1 },
	/* 10 */ { INS, "10.1.2.3/32", 3, 0 },                /* host route */
	/* 11 */ { LOOK, "10.1.2.3", 0, 3 },
	/* 12 */ { LOOK, "10.1.2.4", 0, 2 },
	/* 13 */ { INS, "10.1.2.99/24", 4, 0 },               /* host bits masked */
	/* 14 */ { LOOK, "10.1.2.4", 0, 4 },
	/* 15 */ { LOOK, "10.1.2.3", 0, 3 },
	/* 16 */ { DEL, "10.1.2.0/24", 0, 0 },
	/* 17 */ { LOOK, "10.1.2.4", 0, 2 },
	/* 18 */ { DEL, "10.1.2.0/24", 0, -ENOENT },          /* already gone */
	/* 19 */ { DEL, "10.1.3.0/24", 0, -ENOENT },          /* never there */
	/* 20 */ { DEL, "10.0.0.0/7", 0, -ENOENT },           /* shorter */
	/* 21 */ { INS, "0.0.0.0/0", 9, 0 },                  /* default route */
	/* 22 */ { LOOK, "192.0.2.1", 0, 9 },
	/* 23 */ { LOOK, "255.255.255.255", 0, 9 },
	/* 24 */ { LOOK, "10.1.2.3", 0, 3 },
	/* 25 */ { MISS, "2001:db8::1" },                     /* families apart */
	/* 26 */ { INS, "10.1.0.0/16", 5, 0 },                /* replace value */
	/* 27 */ { LOOK, "10.1.200.1", 0, 5 },
	/* 28 */ { COUNT, NULL, 0, 4 },                       /* /0 /8 /16 /32 */
	/* 29 */ { INS, "::/0", 6, 0 },
	/* 30 */ { LOOK, "2001:db8::1", 0, 6 },
	/* 31 */ { INS, "2001:db8::/32", 7, 0 },
	/* 32 */ { INS, "2001:db8:0:1::/64", 8, 0 },
	/* 33 */ { INS, "2001:db8:0:1::1/128", 1, 0 },
	/* 34 */ { LOOK, "2001:db8:0:1::1", 0, 1 },
	/* 35 */ { LOOK, "2001:db8:0:1::2", 0, 8 },
	/* 36 */ { LOOK, "2001:db8:0:2::1", 0, 7 },
	/* 37 */ { LOOK, "2001:db9::", 0, 6 },
	/* 38 */ { INS, "2001:db8:0:1:ffff::/65", 5, 0 },     /* bit 64 set */
	/* 39 */ { LOOK, "2001:db8:0:1:8000::1", 0, 5 },
	/* 40 */ { LOOK, "2001:db8:0:1:7fff::1", 0, 8 },
	/* 41 */ { INS, "10.0.0.0/33", 1, -EINVAL },          /* bad cidr */
	/* 42 */ { INS, "::/129", 1, -EINVAL },
	/* 43 */ { INS, "10.255.255.255/32", 1, 0 },          /* edge of /8 */
	/* 44 */ { LOOK, "10.255.255.255", 0, 1 },
	/* 45 */ { LOOK, "10.255.255.254", 0, 1 },            /* via 10/8 */
	/* 46 */ { COUNT, NULL, 0, 10 },
	/* 47 */ { DELV, NULL, 1, 3 },                        /* /8 /32 /128 */
	/* 48 */ { LOOK, "10.255.255.254", 0, 9 },
	/* 49 */ { LOOK, "2001:db8:0:1::1", 0, 8 },
	/* 50 */ { LOOK, "10.1.2.3", 0, 3 },
	/* 51 */ { DELV, NULL, 1, 0 },
	/* 52 */ { DEL, "0.0.0.0/0", 0, 0 },
	/* 53 */ { MISS, "192.0.2.1" },
	/* 54 */ { DEL, "::/0", 0, 0 },
	/* 55 */ { MISS, "2001:db9::" },
	/* 56 */ { DELV, NULL, 5, 2 },
	/* 57 */ { DELV, NULL, 3, 1 },
	/* 58 */ { DELV, NULL, 7, 1 },
	/* 59 */ { DELV, NULL, 8, 1 },
	/* 60 */ { COUNT, NULL, 0, 0 },
	/* 61 */ { NODES, NULL, 0, 0 },                       /* trie folded away */
	/* 62 */ { MISS, "10.1.2.3" },
	/* 63 */ { INS, "0.0.0.0/32", 4, 0 },                 /* all-zero host */
	/* 64 */ { LOOK, "0.0.0.0", 0, 4 },
	/* 65 */ { MISS, "0.0.0.1" },
	/* 66 */ { INS, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 2, 0 },
	/* 67 */ { LOOK, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 2 },
	/* 68 */ { MISS, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe" },
};

static void run_case(struct allowedips *t, size_t num, const struct ap_case *c)
{
	struct ip_prefix p;
	struct ip_addr a;
	uint32_t v = 0xdeadbeef;
	long got;

	switch (c->op) {
	case INS:
		p = prefix_parse(c->s);
		got = allowedips_insert(t, &p, c->value);
		break;
	case DEL:
		p = prefix_parse(c->s);
		got = allowedips_remove(t, &p);
		break;
	case LOOK:
	case MISS:
		a = addr_parse(c->s);
		got = allowedips_lookup(t, &a, &v) ? (long)v : -1;
		break;
	case DELV:
		got = (long)allowedips_remove_by_value(t, c->value);
		break;
	case COUNT:
		got = (long)allowedips_count(t);
		break;
	default:
		got = (long)allowedips_nodes(t);
		break;
	}
	if (got != (c->op == MISS ? -1 : c->want))
		fail_msg("case %zu (%s): got %ld, want %ld", num,
			 c->s ? c->s : "-", got, c->op == MISS ? -1 : c->want);
}

static void test_table(void **state)
{
	struct allowedips *t = allowedips_create();

	(void)state;
	assert_non_null(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(t, i + 1, &cases[i]);
	allowedips_destroy(t);
}

static void test_invalid(void **state)
{
	struct allowedips *t = allowedips_create();
	struct ip_prefix p = prefix_parse("10.0.0.0/8");
	struct ip_addr a = { 0 };
	uint32_t v;

	(void)state;
	p.addr.family = IP_NONE;
	assert_int_equal(allowedips_insert(t, &p, 1), -EINVAL);
	p.addr.family = 5;
	assert_int_equal(allowedips_insert(t, &p, 1), -EINVAL);
	assert_int_equal(allowedips_remove(t, &p), -ENOENT);
	assert_false(allowedips_lookup(t, &a, &v));
	assert_int_equal(allowedips_count(t), 0);
	allowedips_destroy(t);
	allowedips_destroy(NULL);
}

/* --- Walk order --------------------------------------------------------------- */

struct walk_log {
	char lines[32][64];
	size_t n;
	int stop_at;
};

static int walk_record(const struct ip_prefix *p, uint32_t value, void *ctx)
{
	struct walk_log *log = ctx;
	char s[56];

	prefix_format(p, s, sizeof(s));
	assert_true(log->n < 32);
	snprintf(log->lines[log->n++], 64, "%s=%u", s, value);
	return log->stop_at && (int)log->n == log->stop_at ? 42 : 0;
}

static void test_walk_order(void **state)
{
	/* Inserted shuffled; the walk must give the sorted order. */
	static const char *const in[] = {
		"2001:db8::/32", "10.1.0.0/16", "0.0.0.0/0", "192.168.1.1/32",
		"::/0", "10.0.0.0/8", "10.1.2.0/24", "172.16.0.0/12",
		"2001:db8::/48", "10.128.0.0/9", "fe80::/10", "10.0.0.0/9",
	};
	static const char *const want[] = {
		"0.0.0.0/0=2", "10.0.0.0/8=5", "10.0.0.0/9=11", "10.1.0.0/16=1",
		"10.1.2.0/24=6", "10.128.0.0/9=9", "172.16.0.0/12=7",
		"192.168.1.1/32=3", "::/0=4", "2001:db8::/32=0", "2001:db8::/48=8",
		"fe80::/10=10",
	};
	struct allowedips *t = allowedips_create();
	struct walk_log log = { .n = 0 };

	(void)state;
	for (uint32_t i = 0; i < 12; i++) {
		struct ip_prefix p = prefix_parse(in[i]);

		assert_int_equal(allowedips_insert(t, &p, i), 0);
	}
	assert_int_equal(allowedips_walk(t, walk_record, &log), 0);
	assert_int_equal(log.n, 12);
	for (size_t i = 0; i < 12; i++)
		assert_string_equal(log.lines[i], want[i]);

	/* A non-zero return stops the walk and comes back. */
	log = (struct walk_log){ .stop_at = 3 };
	assert_int_equal(allowedips_walk(t, walk_record, &log), 42);
	assert_int_equal(log.n, 3);
	allowedips_destroy(t);
}

/* --- Clone --------------------------------------------------------------------- */

static void expect_lookup(const struct allowedips *t, const char *s, long want)
{
	struct ip_addr a = addr_parse(s);
	uint32_t v;
	long got = allowedips_lookup(t, &a, &v) ? (long)v : -1;

	if (got != want)
		fail_msg("lookup %s: got %ld, want %ld", s, got, want);
}

static void test_clone_independent(void **state)
{
	struct allowedips *t = allowedips_create(), *c, *e;
	struct ip_prefix p;

	(void)state;
	e = allowedips_clone(t);                /* clone of an empty table */
	assert_non_null(e);
	p = prefix_parse("10.0.0.0/8");
	assert_int_equal(allowedips_insert(e, &p, 1), 0);
	assert_int_equal(allowedips_count(t), 0);

	assert_int_equal(allowedips_insert(t, &p, 1), 0);
	p = prefix_parse("2001:db8::/32");
	assert_int_equal(allowedips_insert(t, &p, 2), 0);
	c = allowedips_clone(t);
	assert_non_null(c);

	/* Change the original in every way; the clone must not notice. */
	assert_int_equal(allowedips_remove(t, &p), 0);
	p = prefix_parse("10.0.0.0/8");
	assert_int_equal(allowedips_insert(t, &p, 7), 0);
	for (int i = 0; i < 200; i++) {          /* force a realloc */
		p = prefix_parse("10.0.0.0/32");
		p.addr.bytes[2] = (uint8_t)i;
		assert_int_equal(allowedips_insert(t, &p, 9), 0);
	}
	expect_lookup(c, "10.0.1.0", 1);
	expect_lookup(c, "2001:db8::1", 2);
	assert_int_equal(allowedips_count(c), 2);
	expect_lookup(t, "10.0.1.0", 9);
	expect_lookup(t, "2001:db8::1", -1);

	/* And the other way round. */
	assert_int_equal(allowedips_remove_by_value(c, 1), 1);
	expect_lookup(t, "10.0.1.1", 7);
	allowedips_destroy(t);
	expect_lookup(c, "2001:db8::1", 2);
	allowedips_destroy(c);
	allowedips_destroy(e);
}

/* --- Randomized comparison against a linear scan ------------------------------ */

struct ref_entry {
	struct ip_prefix p;
	uint32_t value;
};

struct ref {
	struct ref_entry *e;
	size_t n, cap;
};

/* Independent of the code under test: byte-wise host-bit masking. */
static void ref_mask(struct ip_prefix *p)
{
	unsigned len = ip_addr_len(&p->addr);

	for (unsigned b = 0; b < len; b++) {
		unsigned bits = p->cidr > 8 * b ? p->cidr - 8 * b : 0;

		if (bits < 8)
			p->addr.bytes[b] &= (uint8_t)(0xff00 >> bits);
	}
}

static bool prefix_same(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->cidr == b->cidr && ip_addr_equal(&a->addr, &b->addr);
}

static void ref_insert(struct ref *r, struct ip_prefix p, uint32_t value)
{
	ref_mask(&p);
	for (size_t i = 0; i < r->n; i++)
		if (prefix_same(&r->e[i].p, &p)) {
			r->e[i].value = value;
			return;
		}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		assert_non_null(r->e);
	}
	r->e[r->n++] = (struct ref_entry){ p, value };
}

static int ref_remove(struct ref *r, struct ip_prefix p)
{
	ref_mask(&p);
	for (size_t i = 0; i < r->n; i++)
		if (prefix_same(&r->e[i].p, &p)) {
			r->e[i] = r->e[--r->n];
			return 0;
		}
	return -ENOENT;
}

static size_t ref_remove_value(struct ref *r, uint32_t value)
{
	size_t removed = 0;

	for (size_t i = 0; i < r->n;)
		if (r->e[i].value == value) {
			r->e[i] = r->e[--r->n];
			removed++;
		} else {
			i++;
		}
	return removed;
}

static bool ref_lookup(const struct ref *r, const struct ip_addr *a, uint32_t *value)
{
	int best = -1;

	for (size_t i = 0; i < r->n; i++)
		if ((int)r->e[i].p.cidr > best && ip_prefix_contains(&r->e[i].p, a)) {
			best = r->e[i].p.cidr;
			*value = r->e[i].value;
		}
	return best >= 0;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A few cluster bases per family, so that random prefixes nest and part
 * at every depth instead of almost never overlapping. */
static struct ip_addr bases[2][8];
/* Bits every base shares (and every random address keeps): non-zero moves
 * the trie's root, and with it the bits the jump table indexes, deep into
 * the address. */
static unsigned shared_bits[2];

static struct ip_addr random_addr(int v6)
{
	struct ip_addr a = bases[v6][rng() % 8];
	unsigned len = v6 ? 16 : 4;
	unsigned keep = shared_bits[v6];
	unsigned from = keep + (unsigned)(rng() % (8 * len - keep + 1));

	/* Keep the first `from` bits of the base, randomize the rest. */
	for (unsigned bit = from; bit < 8 * len; bit++)
		if (rng() & 1)
			a.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	return a;
}

static struct ip_prefix random_prefix(void)
{
	int v6 = rng() & 1;
	struct ip_prefix p = { .addr = random_addr(v6) };
	unsigned max = v6 ? 128 : 32;

	/* Mostly long prefixes, some short ones, the odd default route. */
	p.cidr = (uint8_t)(rng() % 4 ? max - rng() % (max / 2 + 1)
				     : rng() % (max + 1));
	if (p.cidr < shared_bits[v6])
		p.cidr = (uint8_t)shared_bits[v6];
	return p;
}

static void compare_lookups(const struct allowedips *t, const struct ref *r,
			    int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct ip_addr a;
		uint32_t got = 0, want = 0;
		bool g, w;

		if (r->n && rng() % 2) {
			/* Inside a stored prefix, host bits random. */
			const struct ip_prefix *p = &r->e[rng() % r->n].p;
			a = p->addr;
			for (unsigned bit = p->cidr; bit < 8 * ip_addr_len(&a); bit++)
				if (rng() & 1)
					a.bytes[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		} else {
			a = random_addr(rng() & 1);
		}
		g = allowedips_lookup(t, &a, &got);
		w = ref_lookup(r, &a, &want);
		if (g != w || (g && got != want)) {
			char s[INET6_ADDRSTRLEN];

			inet_ntop(a.family == IP_V4 ? AF_INET : AF_INET6,
				  a.bytes, s, sizeof(s));
			fail_msg("lookup %s: got %d/%u, want %d/%u", s, g, got, w, want);
		}
	}
	assert_int_equal(allowedips_count(t), r->n);
	/* Path compression: no branch node without two children, so n
	 * prefixes need at most n - 1 branch nodes per family. */
	assert_true(allowedips_nodes(t) <= 2 * r->n);
}

static int ref_cmp(const void *x, const void *y)
{
	const struct ref_entry *a = x, *b = y;
	int c;

	if (a->p.addr.family != b->p.addr.family)
		return a->p.addr.family < b->p.addr.family ? -1 : 1;
	c = memcmp(a->p.addr.bytes, b->p.addr.bytes, ip_addr_len(&a->p.addr));
	return c ? c : (int)a->p.cidr - (int)b->p.cidr;
}

struct walk_cmp {
	const struct ref *sorted;
	size_t i;
};

static int walk_compare(const struct ip_prefix *p, uint32_t value, void *ctx)
{
	struct walk_cmp *w = ctx;
	const struct ref_entry *e = &w->sorted->e[w->i++];

	assert_true(w->i <= w->sorted->n);
	assert_true(prefix_same(p, &e->p));
	assert_int_equal(value, e->value);
	return 0;
}

static void compare_walk(const struct allowedips *t, struct ref *r)
{
	struct walk_cmp w = { r, 0 };

	qsort(r->e, r->n, sizeof(*r->e), ref_cmp);
	assert_int_equal(allowedips_walk(t, walk_compare, &w), 0);
	assert_int_equal(w.i, r->n);
}

/* Eight random cluster bases per family, sharing their first shared_v4 /
 * shared_v6 bits. */
static void init_bases(uint64_t seed, unsigned shared_v4, unsigned shared_v6)
{
	rng_state = seed;
	shared_bits[0] = shared_v4;
	shared_bits[1] = shared_v6;
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 8; i++) {
			bases[f][i].family = f ? IP_V6 : IP_V4;
			for (unsigned b = 0; b < 16; b++)
				bases[f][i].bytes[b] = f || b < 4 ? (uint8_t)rng() : 0;
			for (unsigned bit = 0; bit < shared_bits[f]; bit++) {
				uint8_t m = (uint8_t)(0x80 >> (bit % 8));

				bases[f][i].bytes[bit / 8] &= (uint8_t)~m;
				bases[f][i].bytes[bit / 8] |= bases[f][0].bytes[bit / 8] & m;
			}
		}
}

/* 3000 inserts, some of them replacing the value of an equal prefix. */
static void grow(struct allowedips *t, struct ref *r)
{
	for (int i = 0; i < 3000; i++) {
		struct ip_prefix p = random_prefix();
		uint32_t v = (uint32_t)(rng() % 300);

		assert_int_equal(allowedips_insert(t, &p, v), 0);
		ref_insert(r, p, v);
		if (i % 500 == 499)
			compare_lookups(t, r, 500);
	}
	compare_walk(t, r);
}

/* Remove stored and random (mostly absent) prefixes, re-add some, then
 * remove by value: few prefixes per value, and value 7 held by hundreds. */
static void shrink(struct allowedips *t, struct ref *r)
{
	for (int i = 0; i < 2000; i++) {
		struct ip_prefix p = rng() % 4 || !r->n ? random_prefix()
							: r->e[rng() % r->n].p;

		if (rng() % 3) {
			int want = ref_remove(r, p);

			assert_int_equal(allowedips_remove(t, &p), want);
		} else {
			assert_int_equal(allowedips_insert(t, &p, 7), 0);
			ref_insert(r, p, 7);
		}
		if (i % 500 == 499)
			compare_lookups(t, r, 500);
	}
	for (uint32_t v = 0; v < 300; v += 7)
		assert_int_equal(allowedips_remove_by_value(t, v),
				 ref_remove_value(r, v));
	compare_lookups(t, r, 2000);
	compare_walk(t, r);
}

static void random_round(uint64_t seed, unsigned shared_v4, unsigned shared_v6)
{
	struct allowedips *t = allowedips_create(), *snap;
	struct ref r = { 0 }, snap_ref = { 0 };

	init_bases(seed, shared_v4, shared_v6);
	grow(t, &r);
	/* Snapshot by clone; the original keeps changing. */
	snap = allowedips_clone(t);
	assert_non_null(snap);
	snap_ref.e = malloc(r.n * sizeof(*r.e));
	assert_non_null(snap_ref.e);
	memcpy(snap_ref.e, r.e, r.n * sizeof(*r.e));
	snap_ref.n = snap_ref.cap = r.n;
	shrink(t, &r);
	compare_lookups(snap, &snap_ref, 2000);

	/* Empty it completely: the trie must fold back to nothing. */
	while (r.n) {
		struct ip_prefix p = r.e[r.n - 1].p;

		assert_int_equal(allowedips_remove(t, &p), 0);
		r.n--;
	}
	compare_lookups(t, &r, 200);
	assert_int_equal(allowedips_nodes(t), 0);
	allowedips_destroy(t);
	allowedips_destroy(snap);
	free(r.e);
	free(snap_ref.e);
}

/*
 * Small tables under heavy churn: a pool of a dozen nested prefixes per
 * family and few values, so that the trie's root, the jump table's base
 * and its size change all the time, checked after every operation.
 */
static void test_random_small_churn(void **state)
{
	struct allowedips *t = allowedips_create();
	struct ip_prefix pool[24];
	struct ref r = { 0 };

	(void)state;
	init_bases(0x6a09e667f3bcc909ULL, 0, 0);
	for (int i = 0; i < 24; i++)
		pool[i] = random_prefix();
	for (int op = 0; op < 20000; op++) {
		struct ip_prefix p = pool[rng() % 24];
		uint32_t v = (uint32_t)(rng() % 4);

		switch (rng() % 4) {
		case 0:
		case 1:
			assert_int_equal(allowedips_insert(t, &p, v), 0);
			ref_insert(&r, p, v);
			break;
		case 2:
			assert_int_equal(allowedips_remove(t, &p), ref_remove(&r, p));
			break;
		default:
			assert_int_equal(allowedips_remove_by_value(t, v),
					 ref_remove_value(&r, v));
			break;
		}
		compare_lookups(t, &r, 20);
	}
	allowedips_destroy(t);
	free(r.e);
}

static void test_random_vs_linear(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++)
		random_round(0x9e3779b97f4a7c15ULL * seed, 0, 0);
	/* Everything inside one /20 and one /56: the v6 jump index spans
	 * both 64-bit words of the key. */
	random_round(0x2545f4914f6cdd1dULL, 20, 56);
	random_round(0x2545f4914f6cdd1dULL * 3, 9, 61);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_walk_order),
		cmocka_unit_test(test_clone_independent),
		cmocka_unit_test(test_random_small_churn),
		cmocka_unit_test(test_random_vs_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
