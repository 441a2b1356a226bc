/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat.c and dataplane/nat_table.c, the NAT's flow
 * layer: mappings and endpoint-independent mapping (RFC 4787 REQ-1),
 * port, parity and range preservation (REQ-3, REQ-4), filtering (REQ-8),
 * port forwards, the TCP state machine as a numbered table of segment
 * sequences whose timeout is read off expiry at the exact boundary
 * (RFC 5382 REQ-5), UDP and ICMP timers and refresh (REQ-5, REQ-6,
 * RFC 5508 REQ-1), exhaustion, look-only calls, slot reuse; then a
 * randomized comparison against a naive model made of arrays and linear
 * scans, and two multi-threaded runs: workers sharing flows while a
 * control thread expires and reclaims, and two threads creating the same
 * flows at the same moment.  The threaded runs are the ones that found
 * a reply missing the session another lcore was still publishing; run
 * them under -Db_sanitize=thread too when touching the table.
 *
 * Time is injected; randomness comes from a fixed xorshift stream.  The
 * test looks inside the table (nat_table.h) to check invariants.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static uint32_t ip(const char *s)
{
	uint32_t a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad address %s", s);
	return a;
}

static struct ip_addr ip_addr4(const char *s)
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
static void *zalloc64(size_t size)
{
	size = (size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, size);

	assert_non_null(p);
	memset(p, 0, size);
	return p;
}

static struct fx *fx_new(uint32_t max_sessions)
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

static void fx_free(struct fx *f)
{
	nat_lcore_release(f->nat, &f->lc);
	nat_destroy(f->nat);
	random_source_set(NULL);
	free(f);
}

static void fx_forward(struct fx *f, uint8_t proto, const char *ext,
		       uint16_t ext_port, const char *in, uint16_t in_port)
{
	struct nat_forward *w = &f->fwd[f->conf.n_forwards++];

	*w = (struct nat_forward){ .proto = proto, .external_port = ext_port,
				   .internal = ip_addr4(in),
				   .internal_port = in_port };
	if (ext)
		w->external = ip_addr4(ext);
}

/* Outbound from src:sport to dst:dport; for ICMP sport is the echo id. */
static enum nat_result out(struct fx *f, uint8_t proto, const char *src,
			   uint16_t sport, const char *dst, uint16_t dport,
			   uint8_t flags, uint64_t now, struct nat_rewrite *rw)
{
	struct nat_tuple t = { ip(src), ip(dst), htons(sport),
			       proto == ICMP ? 0 : htons(dport), proto };
	struct nat_rewrite dummy;

	return nat_flow_out(f->nat, &f->lc, &f->conf, &t, flags, now,
			    rw ? rw : &dummy);
}

/* Inbound from src:sport to dst:dport; for ICMP dport is the echo id. */
static enum nat_result in(struct fx *f, uint8_t proto, const char *src,
			  uint16_t sport, const char *dst, uint16_t dport,
			  uint8_t flags, uint64_t now, struct nat_rewrite *rw)
{
	struct nat_tuple t = { ip(src), ip(dst),
			       proto == ICMP ? 0 : htons(sport), htons(dport),
			       proto };
	struct nat_rewrite dummy;

	return nat_flow_in(f->nat, &f->lc, &f->conf, &t, flags, now,
			   rw ? rw : &dummy);
}

/* The external port a new outbound UDP flow gets (must succeed). */
static uint16_t out_port(struct fx *f, const char *src, uint16_t sport,
			 const char *dst, uint16_t dport, uint64_t now)
{
	struct nat_rewrite rw;

	assert_int_equal(out(f, UDP, src, sport, dst, dport, 0, now, &rw),
			 NAT_OK);
	assert_int_equal(rw.addr, ip(EXT));
	return ntohs(rw.port);
}

static void assert_rw(const struct nat_rewrite *rw, const char *addr,
		      uint16_t port)
{
	assert_int_equal(rw->addr, ip(addr));
	assert_int_equal(ntohs(rw->port), port);
}

/* --- Mappings and ports --------------------------------------------------- */

static void test_mapping_created(void **state)
{
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;

	(void)state;
	assert_int_equal(out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53, 0),
			 5000);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_UDP], 1);
	assert_int_equal(f->lc.stats.mappings_created, 1);
	assert_int_equal(nat_active_sessions(f->nat), 1);
	assert_true(nat_mapping_find(f->nat, &f->conf, UDP, ip("10.0.0.2"),
				     htons(5000), 0, &rw));
	assert_rw(&rw, EXT, 5000);
	assert_int_equal(in(f, UDP, "198.51.100.7", 53, EXT, 5000, 0, 0, &rw),
			 NAT_OK);
	assert_rw(&rw, "10.0.0.2", 5000);
	/* Not in Masquerade: not ours. */
	assert_int_equal(out(f, UDP, "192.168.1.1", 5000, "198.51.100.7", 53,
			     0, 0, NULL), NAT_NOT_MASQUERADED);
	/* ICMP: identifier 77 is outside PortRange, so it is not kept; the
	 * new one has its parity. */
	assert_int_equal(out(f, ICMP, "10.0.0.2", 77, "198.51.100.7", 0, 0, 0,
			     &rw), NAT_OK);
	assert_true(ntohs(rw.port) >= 1024 && (ntohs(rw.port) & 1));
	assert_int_equal(in(f, ICMP, "198.51.100.7", 0, EXT, ntohs(rw.port),
			    0, 0, &rw), NAT_OK);
	assert_rw(&rw, "10.0.0.2", 77);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_ICMP], 1);
	fx_free(f);
}

/* RFC 4787 REQ-1: one external endpoint per internal endpoint, whatever
 * the remote. */
static void test_endpoint_independent_mapping(void **state)
{
	struct fx *f = fx_new(1024);
	uint16_t p;

	(void)state;
	p = out_port(f, "10.0.0.2", 40000, "198.51.100.7", 53, 0);
	assert_int_equal(out_port(f, "10.0.0.2", 40000, "198.51.100.8", 80, 0), p);
	assert_int_equal(out_port(f, "10.0.0.2", 40000, "198.51.100.7", 54, 0), p);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_UDP], 3);
	assert_int_equal(f->lc.stats.mappings_created, 1);
	/* Another internal endpoint wanting the same port gets another. */
	assert_int_not_equal(out_port(f, "10.0.0.3", 40000, "198.51.100.7", 53,
				      0), p);
	assert_int_equal(f->lc.stats.mappings_created, 2);
	fx_free(f);
}

struct port_case {
	const char *host;
	uint16_t int_port;
	uint16_t lo, hi;              /* the port wanted: lo <= port <= hi */
	int parity;                   /* -1: any */
};

/* Each row depends on the ones before it (the ports they took). */
static void run_port_cases(struct fx *f, const struct port_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t p = out_port(f, c[i].host, c[i].int_port,
				      "198.51.100.7", 53, 0);

		if (p < c[i].lo || p > c[i].hi ||
		    (c[i].parity >= 0 && (p & 1) != c[i].parity))
			fail_msg("case %zu: %s:%u got port %u", i + 1,
				 c[i].host, c[i].int_port, p);
	}
}

/* REQ-3 port preservation, REQ-4 parity, with the default PortRange. */
static void test_port_and_parity_preservation(void **state)
{
	static const struct port_case cases[] = {
		/*  1 */ { "10.0.0.1", 5000, 5000, 5000, 0 },   /* kept */
		/*  2 */ { "10.0.0.2", 5000, 1024, 65535, 0 },  /* taken: even */
		/*  3 */ { "10.0.0.3", 5000, 1024, 65535, 0 },
		/*  4 */ { "10.0.0.1", 5001, 5001, 5001, 1 },   /* kept */
		/*  5 */ { "10.0.0.2", 5001, 1024, 65535, 1 },  /* taken: odd */
		/*  6 */ { "10.0.0.4", 80, 1024, 65535, 0 },    /* not in range */
		/*  7 */ { "10.0.0.4", 65535, 65535, 65535, 1 },/* top edge */
		/*  8 */ { "10.0.0.5", 65535, 1024, 65533, 1 },
		/*  9 */ { "10.0.0.4", 1024, 1024, 1024, 0 },   /* bottom edge */
	};
	struct fx *f = fx_new(1024);

	(void)state;
	run_port_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	fx_free(f);
}

/* REQ-3 range preservation: below 1024 stays below, 1024 and up stays up,
 * while PortRange has ports on that side. */
static void test_range_preservation(void **state)
{
	static const struct port_case cases[] = {
		/*  1 */ { "10.0.0.1", 80, 500, 1023, 0 },      /* not in range */
		/*  2 */ { "10.0.0.1", 600, 600, 600, 0 },
		/*  3 */ { "10.0.0.2", 600, 500, 1023, 0 },
		/*  4 */ { "10.0.0.1", 1200, 1200, 1200, 0 },
		/*  5 */ { "10.0.0.2", 1200, 1024, 1500, 0 },
		/*  6 */ { "10.0.0.1", 1025, 1025, 1025, 1 },
		/*  7 */ { "10.0.0.2", 1025, 1024, 1500, 1 },
		/*  8 */ { "10.0.0.2", 40000, 1024, 1500, 0 },
		/*  9 */ { "10.0.0.3", 1, 500, 1023, 1 },
	};
	static const struct port_case high_only[] = {
		/* 10 */ { "10.0.0.1", 80, 2000, 3000, 0 },     /* no low ports */
		/* 11 */ { "10.0.0.1", 2001, 2001, 2001, 1 },
	};
	struct fx *f = fx_new(1024);

	(void)state;
	f->conf.port_min = 500;
	f->conf.port_max = 1500;
	run_port_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	fx_free(f);
	f = fx_new(1024);
	f->conf.port_min = 2000;
	f->conf.port_max = 3000;
	run_port_cases(f, high_only, sizeof(high_only) / sizeof(high_only[0]));
	fx_free(f);
}

/* Parity is given up only when none of that parity is left; then the
 * range is full.  Four ports, searched exhaustively. */
static void test_parity_last_resort_and_exhaustion(void **state)
{
	static const struct port_case cases[] = {
		/*  1 */ { "10.0.0.1", 6000, 6000, 6000, 0 },
		/*  2 */ { "10.0.0.2", 6000, 6002, 6002, 0 },
		/*  3 */ { "10.0.0.3", 6000, 6001, 6003, 1 },   /* last resort */
		/*  4 */ { "10.0.0.4", 6000, 6001, 6003, 1 },
	};
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;

	(void)state;
	f->conf.port_min = 6000;
	f->conf.port_max = 6003;
	run_port_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	assert_int_equal(out(f, UDP, "10.0.0.5", 6000, "198.51.100.7", 53, 0, 0,
			     NULL), NAT_PORTS_EXHAUSTED);
	assert_int_equal(f->lc.stats.port_alloc_failures, 1);
	assert_int_equal(nat_active_sessions(f->nat), 4);
	/* The same mappings still serve their endpoints (EIM). */
	assert_int_equal(out(f, UDP, "10.0.0.2", 6000, "198.51.100.9", 1, 0, 0,
			     &rw), NAT_OK);
	assert_rw(&rw, EXT, 6002);
	/* Other protocols have their own ports. */
	assert_int_equal(out(f, TCP, "10.0.0.5", 6000, "198.51.100.7", 53,
			     TCP_SYN, 0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 6000);
	fx_free(f);
}

/* --- Filtering (REQ-8) ---------------------------------------------------- */

struct filter_case {
	uint8_t proto;
	const char *src;
	uint16_t sport;
	uint16_t dport;               /* 0: the mapping's external port */
	enum nat_result apdf, eif;
};

static void test_filtering(void **state)
{
	static const struct filter_case cases[] = {
		/* 1 */ { UDP, "198.51.100.7", 53, 0, NAT_OK, NAT_OK },
		/* 2 */ { UDP, "198.51.100.7", 54, 0, NAT_NO_SESSION, NAT_OK },
		/* 3 */ { UDP, "198.51.100.8", 53, 0, NAT_NO_SESSION, NAT_OK },
		/* 4 */ { UDP, "198.51.100.7", 53, 5002, NAT_NO_SESSION,
			  NAT_NO_SESSION },                   /* no mapping */
		/* 5 */ { TCP, "198.51.100.7", 53, 0, NAT_NO_SESSION,
			  NAT_NO_SESSION },                   /* other proto */
	};
	(void)state;
	for (int eif = 0; eif < 2; eif++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct filter_case *c = &cases[i];
			struct fx *f = fx_new(1024);
			struct nat_rewrite rw;
			enum nat_result want = eif ? c->eif : c->apdf, got;

			f->conf.filtering = eif ? NAT_FILTER_ENDPOINT_INDEPENDENT
				: NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT;
			assert_int_equal(out_port(f, "10.0.0.2", 5000,
						  "198.51.100.7", 53, SEC(1)),
					 5000);
			got = in(f, c->proto, c->src, c->sport, EXT,
				 c->dport ? c->dport : 5000, TCP_ACK, SEC(2), &rw);
			if (got != want)
				fail_msg("case %zu %s: got %d want %d", i + 1,
					 eif ? "EIF" : "APDF", got, want);
			if (got == NAT_OK)
				assert_rw(&rw, "10.0.0.2", 5000);
			/* What was admitted made a session of its own, which
			 * the inside host's replies use (same mapping). */
			assert_int_equal(nat_active_sessions(f->nat),
					 1 + (got == NAT_OK && i > 0));
			if (got == NAT_OK)
				assert_int_equal(out_port(f, "10.0.0.2", 5000,
							  c->src, c->sport,
							  SEC(3)), 5000);
			assert_int_equal(nat_active_sessions(f->nat),
					 1 + (got == NAT_OK && i > 0));
			fx_free(f);
		}
	}
}

/* --- Port forwards -------------------------------------------------------- */

static void test_forwards(void **state)
{
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;
	struct nat_tuple t = { ip("198.51.100.7"), ip(EXT), htons(1),
			       htons(2222), TCP };

	(void)state;
	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	fx_forward(f, UDP, "203.0.113.9", 8080, "10.0.0.6", 80);
	/* Look-only admission, before anything exists. */
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &t, false,
				       0, &rw), NAT_NO_SESSION);
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &t, true,
				       0, &rw), NAT_OK);
	assert_rw(&rw, "10.0.0.5", 22);
	/* Inbound creates; a RST does not. */
	assert_int_equal(in(f, TCP, "198.51.100.7", 40000, EXT, 2222, TCP_RST,
			    0, NULL), NAT_NO_SESSION);
	assert_int_equal(in(f, TCP, "198.51.100.7", 40000, EXT, 2222, TCP_SYN,
			    0, &rw), NAT_OK);
	assert_rw(&rw, "10.0.0.5", 22);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_TCP], 1);
	/* The reply leaves from the forward's port, on that session. */
	assert_int_equal(out(f, TCP, "10.0.0.5", 22, "198.51.100.7", 40000,
			     TCP_SYN | TCP_ACK, 0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 2222);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_TCP], 1);
	/* The forward's host opening a flow itself uses the forward (EIM). */
	assert_int_equal(out(f, TCP, "10.0.0.5", 22, "198.51.100.8", 5555,
			     TCP_SYN, 0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 2222);
	assert_int_equal(f->lc.stats.mappings_created, 0);
	assert_true(nat_mapping_find(f->nat, &f->conf, TCP, ip("10.0.0.5"),
				     htons(22), 0, &rw));
	assert_rw(&rw, EXT, 2222);
	/* A forward on its own external address. */
	assert_int_equal(in(f, UDP, "198.51.100.7", 9, "203.0.113.9", 8080, 0,
			    0, &rw), NAT_OK);
	assert_rw(&rw, "10.0.0.6", 80);
	assert_int_equal(in(f, UDP, "198.51.100.7", 9, EXT, 8080, 0, 0, &rw),
			 NAT_NO_SESSION);
	assert_int_equal(out(f, UDP, "10.0.0.6", 80, "198.51.100.1", 9, 0, 0,
			     &rw), NAT_OK);
	assert_rw(&rw, "203.0.113.9", 8080);
	fx_free(f);
}

/* Dynamic mappings never take a forward's port (same proto and address). */
static void test_forward_ports_reserved(void **state)
{
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;

	(void)state;
	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	f->conf.port_min = 2222;
	f->conf.port_max = 2223;
	assert_int_equal(out(f, TCP, "10.0.0.7", 2222, "198.51.100.7", 80,
			     TCP_SYN, 0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 2223);
	assert_int_equal(out(f, TCP, "10.0.0.8", 2222, "198.51.100.7", 80,
			     TCP_SYN, 0, &rw), NAT_PORTS_EXHAUSTED);
	assert_int_equal(out(f, UDP, "10.0.0.9", 2222, "198.51.100.7", 80, 0, 0,
			     &rw), NAT_OK);
	assert_rw(&rw, EXT, 2222);
	fx_free(f);
}

/* --- TCP state machine (RFC 5382) ----------------------------------------- */

enum { O = NAT_DIR_OUT, I = NAT_DIR_IN, END = 0xff };
#define S TCP_SYN
#define A TCP_ACK
#define F TCP_FIN
#define R TCP_RST
#define EST NAT_TIMEOUT_TCP_ESTABLISHED
#define TRANS NAT_TIMEOUT_TCP_TRANSITORY

struct tcp_case {
	struct { uint8_t dir, flags; } seg[12];
	enum nat_timeout_kind timeout;  /* after the last segment */
};

static const struct tcp_case tcp_cases[] = {
	/*  1 */ { { { O, S }, { END } }, TRANS },
	/*  2 */ { { { O, S }, { I, S | A }, { END } }, TRANS },
	/*  3 */ { { { O, S }, { I, S | A }, { O, A }, { END } }, EST },
	/*  4 */ { { { O, S }, { I, S }, { O, S | A }, { I, S | A }, { END } },
		   EST },                               /* simultaneous open */
	/*  5 */ { { { O, S }, { I, S }, { I, A }, { END } }, EST },
	/*  6 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A }, { END } },
		   TRANS },                             /* half closed */
	/*  7 */ { { { O, S }, { I, S | A }, { O, A }, { I, F | A }, { O, A },
		     { END } }, TRANS },
	/*  8 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { END } }, TRANS },
	/*  9 */ { { { O, S }, { I, S | A }, { O, A }, { I, R }, { END } },
		   TRANS },
	/* 10 */ { { { O, S }, { I, S | A }, { O, A }, { O, R | A }, { END } },
		   TRANS },
	/* 11 */ { { { O, A }, { END } }, TRANS },      /* mid-stream pickup */
	/* 12 */ { { { O, A }, { I, A }, { END } }, EST },
	/* 13 */ { { { O, A }, { O, A }, { END } }, TRANS },
	/* 14 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { O, S }, { END } }, TRANS },
	/* 15 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { O, S }, { I, S | A }, { O, A },
		     { END } }, EST },                  /* reopened */
	/* 16 */ { { { O, S }, { I, R | A }, { O, S }, { I, S | A }, { O, A },
		     { END } }, EST },                  /* refused, retried */
	/* 17 */ { { { O, S }, { I, S | A }, { O, A }, { O, S }, { END } },
		   EST },                               /* no reset when open */
	/* 18 */ { { { O, S }, { I, S | A }, { O, R }, { END } }, TRANS },
	/* 19 */ { { { O, A }, { O, S }, { I, S | A }, { END } }, TRANS },
	/* 20 */ { { { O, A }, { O, S }, { I, S | A }, { O, A }, { END } }, EST },
	/* 21 */ { { { O, A }, { I, A }, { I, F | A }, { END } }, TRANS },
	/* 22 */ { { { O, S }, { O, S }, { I, S | A }, { I, S | A }, { O, A },
		     { END } }, EST },                  /* retransmissions */
	/* 23 */ { { { O, S }, { I, S | A }, { O, F | A }, { END } }, TRANS },
	/* 24 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { I, S }, { END } }, TRANS },
	/* 25 */ { { { O, S }, { O, A }, { I, S | A }, { END } }, TRANS },
						/* ACK before both SYNs */
};

/* Forward sessions, created by the first inbound segment. */
static const struct tcp_case tcp_forward_cases[] = {
	/* 26 */ { { { I, S }, { O, S | A }, { I, A }, { END } }, EST },
	/* 27 */ { { { I, S }, { O, S | A }, { END } }, TRANS },
	/* 28 */ { { { I, A }, { END } }, TRANS },
	/* 29 */ { { { I, A }, { O, A }, { END } }, EST },
};

/* Feed the segments at second 0, then read the timeout off expiry: the
 * session must survive the last nanosecond of second `timeout` and be
 * gone at second timeout + 1 (nat_table.h: nat_session_timed_out). */
static void run_tcp_case(const struct tcp_case *c, size_t number,
			 bool forward)
{
	struct fx *f = fx_new(64);
	uint32_t t;

	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	for (size_t i = 0; c->seg[i].dir != END; i++) {
		enum nat_result r = c->seg[i].dir == O
			? out(f, TCP, forward ? "10.0.0.5" : "10.0.0.2",
			      forward ? 22 : 40000, "198.51.100.7", 443,
			      c->seg[i].flags, 0, NULL)
			: in(f, TCP, "198.51.100.7", 443, EXT,
			     forward ? 2222 : 40000, c->seg[i].flags, 0, NULL);

		if (r != NAT_OK)
			fail_msg("case %zu segment %zu: result %d", number,
				 i + 1, r);
	}
	assert_int_equal(f->lc.stats.created[NAT_PROTO_TCP], 1);
	t = f->conf.timeout[c->timeout];
	if (nat_expire(f->nat, &f->lc, &f->conf, JUST_BEFORE(t), ALL) != 0)
		fail_msg("case %zu: expired before %u s", number, t);
	if (nat_expire(f->nat, &f->lc, &f->conf, SEC(t + 1), ALL) != 1)
		fail_msg("case %zu: alive after %u s", number, t);
	assert_int_equal(f->lc.stats.expired[NAT_PROTO_TCP], 1);
	fx_free(f);
}

static void test_tcp_states(void **state)
{
	size_t n = sizeof(tcp_cases) / sizeof(tcp_cases[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		run_tcp_case(&tcp_cases[i], i + 1, false);
	for (size_t i = 0; i < sizeof(tcp_forward_cases) /
			       sizeof(tcp_forward_cases[0]); i++)
		run_tcp_case(&tcp_forward_cases[i], n + i + 1, true);
}

/* A RST creates nothing, in either direction; RFC 5382 REQ-4: an
 * unsolicited SYN is dropped (no session, nothing sent). */
static void test_tcp_no_session(void **state)
{
	struct fx *f = fx_new(64);

	(void)state;
	assert_int_equal(out(f, TCP, "10.0.0.2", 40000, "198.51.100.7", 443,
			     TCP_RST, 0, NULL), NAT_NO_SESSION);
	assert_int_equal(out(f, TCP, "10.0.0.2", 40000, "198.51.100.7", 443,
			     TCP_RST | TCP_ACK, 0, NULL), NAT_NO_SESSION);
	assert_int_equal(in(f, TCP, "198.51.100.7", 443, EXT, 40000, TCP_SYN, 0,
			    NULL), NAT_NO_SESSION);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	assert_int_equal(f->lc.stats.mappings_created, 0);
	fx_free(f);
}

/* --- UDP and ICMP timers -------------------------------------------------- */

static void test_udp_icmp_timeouts(void **state)
{
	struct fx *f = fx_new(64);

	(void)state;
	out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53, SEC(10));
	assert_int_equal(out(f, ICMP, "10.0.0.2", 7, "198.51.100.7", 0, 0,
			     SEC(10), NULL), NAT_OK);
	/* RFC 5508 REQ-1: ICMP 60 s. */
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf,
				    JUST_BEFORE(70), ALL), 0);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(71), ALL), 1);
	assert_int_equal(f->lc.stats.expired[NAT_PROTO_ICMP], 1);
	/* RFC 4787 REQ-5: UDP 300 s. */
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf,
				    JUST_BEFORE(310), ALL), 0);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(311), ALL), 1);
	assert_int_equal(f->lc.stats.expired[NAT_PROTO_UDP], 1);
	assert_int_equal(f->lc.stats.mappings_expired, 2);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	fx_free(f);
}

/* REQ-6: outbound packets refresh; inbound ones may (we do). */
static void test_refresh(void **state)
{
	struct fx *f = fx_new(64);

	(void)state;
	out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53, 0);
	out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53, SEC(200));
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(301), ALL), 0);
	assert_int_equal(in(f, UDP, "198.51.100.7", 53, EXT, 5000, 0, SEC(450),
			    NULL), NAT_OK);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(501), ALL), 0);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, JUST_BEFORE(750),
				    ALL), 0);
	/* Timer out, not reaped yet: filtered inbound, created anew
	 * outbound, on the mapping that is still there. */
	assert_int_equal(in(f, UDP, "198.51.100.7", 53, EXT, 5000, 0, SEC(751),
			    NULL), NAT_NO_SESSION);
	assert_int_equal(out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53,
				  SEC(751)), 5000);
	assert_int_equal(f->lc.stats.created[NAT_PROTO_UDP], 2);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(751), ALL), 1);
	assert_int_equal(in(f, UDP, "198.51.100.7", 53, EXT, 5000, 0, SEC(752),
			    NULL), NAT_OK);
	assert_int_equal(f->lc.stats.mappings_expired, 0);
	fx_free(f);
}

/* A mapping lives while one of its sessions does and dies with the last. */
static void test_mapping_lifetime(void **state)
{
	struct fx *f = fx_new(64);
	struct nat_rewrite rw;

	(void)state;
	out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53, 0);
	out_port(f, "10.0.0.2", 5000, "198.51.100.8", 53, SEC(200));
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(301), ALL), 1);
	assert_int_equal(f->lc.stats.mappings_expired, 0);
	assert_true(nat_mapping_find(f->nat, &f->conf, UDP, ip("10.0.0.2"),
				     htons(5000), SEC(301), &rw));
	assert_int_equal(in(f, UDP, "198.51.100.7", 53, EXT, 5000, 0, SEC(301),
			    NULL), NAT_NO_SESSION);
	assert_int_equal(in(f, UDP, "198.51.100.8", 53, EXT, 5000, 0, SEC(301),
			    NULL), NAT_OK);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(602), ALL), 1);
	assert_int_equal(f->lc.stats.mappings_expired, 1);
	assert_false(nat_mapping_find(f->nat, &f->conf, UDP, ip("10.0.0.2"),
				      htons(5000), SEC(602), &rw));
	nat_reclaim(f->nat);
	assert_int_equal(out_port(f, "10.0.0.2", 5000, "198.51.100.7", 53,
				  SEC(603)), 5000);
	assert_int_equal(f->lc.stats.mappings_created, 2);
	fx_free(f);
}

/* --- Limits --------------------------------------------------------------- */

static void test_table_full(void **state)
{
	struct fx *f = fx_new(4);
	char host[32];

	(void)state;
	f->conf.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	assert_int_equal(nat_capacity(f->nat), 4);
	for (int i = 0; i < 4; i++) {
		snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
		out_port(f, host, 5000, "198.51.100.7", 53, 0);
	}
	assert_int_equal(out(f, UDP, "10.0.0.9", 5000, "198.51.100.7", 53, 0,
			     0, NULL), NAT_TABLE_FULL);
	assert_int_equal(out(f, UDP, "10.0.0.1", 5000, "198.51.100.8", 53, 0,
			     0, NULL), NAT_TABLE_FULL);
	assert_int_equal(in(f, UDP, "198.51.100.8", 53, EXT, 5000, 0, 0, NULL),
			 NAT_TABLE_FULL);
	assert_int_equal(f->lc.stats.mappings_created, 4);  /* none wasted */
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(301), ALL), 4);
	nat_reclaim(f->nat);
	out_port(f, "10.0.0.9", 5000, "198.51.100.7", 53, SEC(302));
	fx_free(f);
}

/* Expired slots come back after nat_reclaim, and only then. */
static void test_reclaim_reuse(void **state)
{
	struct fx *f = fx_new(64);
	char host[32];

	(void)state;
	for (int round = 0; round < 20; round++) {
		uint64_t t0 = SEC(round * 400);

		for (int i = 0; i < 64; i++) {
			snprintf(host, sizeof(host), "10.0.%d.%d", round, i + 1);
			out_port(f, host, 5000, "198.51.100.7", 53, t0);
		}
		assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf,
					    t0 + SEC(301), ALL), 64);
		assert_int_equal(nat_active_sessions(f->nat), 0);
		nat_reclaim(f->nat);
	}
	/* The same slots over and over: 64 live plus what a cache holds. */
	assert_true(f->nat->sessions.bump <= 64 + NAT_LCORE_CACHE);
	assert_true(f->nat->mappings.bump <= 64 + NAT_LCORE_CACHE);
	fx_free(f);
}

/* nat_flow_find and nat_mapping_find look only: no refresh, no TCP state,
 * no creation. */
static void test_look_only(void **state)
{
	struct fx *f = fx_new(64);
	struct nat_tuple o = { ip("10.0.0.2"), ip("198.51.100.7"), htons(40000),
			       htons(443), TCP };
	struct nat_tuple i = { ip("198.51.100.7"), ip(EXT), htons(443),
			       htons(40000), TCP };
	struct nat_tuple stranger = { ip("198.51.100.8"), ip(EXT), htons(443),
				      htons(40000), TCP };
	struct nat_rewrite rw;

	(void)state;
	assert_int_equal(out(f, TCP, "10.0.0.2", 40000, "198.51.100.7", 443,
			     TCP_SYN, 0, NULL), NAT_OK);
	assert_int_equal(in(f, TCP, "198.51.100.7", 443, EXT, 40000,
			    TCP_SYN | TCP_ACK, 0, NULL), NAT_OK);
	for (int s = 0; s <= 240; s += 40) {
		assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_OUT, &o,
					       false, SEC(s), &rw), NAT_OK);
		assert_rw(&rw, EXT, 40000);
		assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &i,
					       false, SEC(s), &rw), NAT_OK);
		assert_rw(&rw, "10.0.0.2", 40000);
		assert_true(nat_mapping_find(f->nat, &f->conf, TCP,
					     ip("10.0.0.2"), htons(40000),
					     SEC(s), &rw));
		assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN,
					       &stranger, true, SEC(s), &rw),
				 NAT_NO_SESSION);
	}
	/* Still transitory (no ACK was fed) and never refreshed. */
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_OUT, &o, false,
				       SEC(241), &rw), NAT_NO_SESSION);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(241), ALL), 1);
	/* Endpoint-independent filtering: admitted, but nothing created. */
	f->conf.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	out_port(f, "10.0.0.3", 5000, "198.51.100.7", 53, SEC(300));
	stranger = (struct nat_tuple){ ip("198.51.100.8"), ip(EXT), htons(1),
				       htons(5000), UDP };
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &stranger,
				       true, SEC(300), &rw), NAT_OK);
	assert_rw(&rw, "10.0.0.3", 5000);
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &stranger,
				       false, SEC(300), &rw), NAT_NO_SESSION);
	assert_int_equal(nat_active_sessions(f->nat), 1);
	fx_free(f);
}

static void test_bytes_per_session(void **state)
{
	size_t b = nat_bytes_per_session();

	(void)state;
	print_message("nat_bytes_per_session: %zu\n", b);
	assert_true(b >= sizeof(struct nat_session) + sizeof(struct nat_mapping));
	assert_true(b <= 256);
}

/* --- Randomized comparison with a naive model ----------------------------- */

/*
 * The model keeps every session and mapping in plain arrays and finds
 * them by linear scan.  It cannot know which random port a new mapping
 * gets, so it takes the table's choice and checks it against the rules:
 * free, not a forward's, the internal port when that was free, the
 * internal port's parity when one of that parity was free.  The port
 * range is small (so exhaustion happens) and within the exhaustive-scan
 * size, and MaxSessions is small (so the table fills).
 */
enum { M_MAX = 20, M_SLOTS = 512, M_LO = 1000, M_HI = 1011, M_FWD = 1004 };

struct m_session {
	bool used;
	uint8_t proto;
	uint32_t int_addr, rem_addr;
	uint16_t int_port, rem_port, ext_port;
	uint32_t last;
	int mapping;                  /* -1: the forward */
};

struct m_mapping {
	bool used;
	uint8_t proto;
	uint32_t int_addr;
	uint16_t int_port, ext_port;
	int refs;
};

struct model {
	struct m_session s[M_SLOTS];
	struct m_mapping m[M_SLOTS];
	unsigned active;
	bool eif;
};

static uint32_t m_timeout(const struct fx *f, uint8_t proto)
{
	return f->conf.timeout[proto == UDP ? NAT_TIMEOUT_UDP : NAT_TIMEOUT_ICMP];
}

static bool m_visible(const struct fx *f, const struct m_session *s,
		      uint32_t secs)
{
	return s->used &&
	       !(secs > s->last && secs - s->last > m_timeout(f, s->proto));
}

static struct m_session *m_find(struct fx *f, struct model *md, bool out_key,
				const struct nat_tuple *t, uint32_t secs)
{
	for (int i = 0; i < M_SLOTS; i++) {
		struct m_session *s = &md->s[i];
		bool hit = out_key
			? s->int_addr == t->src &&
			  s->int_port == ntohs(t->sport) &&
			  s->rem_addr == t->dst && s->rem_port == ntohs(t->dport)
			: s->ext_port == ntohs(t->dport) && s->rem_addr == t->src &&
			  s->rem_port == ntohs(t->sport);

		if (hit && s->proto == t->proto && m_visible(f, s, secs))
			return s;
	}
	return NULL;
}

static struct m_mapping *m_mapping(struct model *md, uint8_t proto,
				   bool by_int, uint32_t addr, uint16_t port)
{
	for (int i = 0; i < M_SLOTS; i++) {
		struct m_mapping *m = &md->m[i];

		if (m->used && m->proto == proto &&
		    (by_int ? m->int_addr == addr && m->int_port == port
			    : m->ext_port == port))
			return m;
	}
	return NULL;
}

static bool m_port_free(struct model *md, uint8_t proto, uint16_t p)
{
	return !(proto == UDP && p == M_FWD) &&
	       !m_mapping(md, proto, false, 0, p);
}

static void m_add_session(struct model *md, const struct m_session *want)
{
	for (int i = 0; i < M_SLOTS; i++)
		if (!md->s[i].used) {
			md->s[i] = *want;
			md->s[i].used = true;
			md->active++;
			if (want->mapping >= 0)
				md->m[want->mapping].refs++;
			return;
		}
	fail_msg("model full");
}

/* Check the table's choice of port for a new mapping; record it. */
static int m_new_mapping(struct model *md, uint8_t proto, uint32_t addr,
			 uint16_t port, uint16_t got, size_t op)
{
	bool any = false, same_parity = false;

	for (uint32_t p = M_LO; p <= M_HI; p++)
		if (m_port_free(md, proto, (uint16_t)p)) {
			any = true;
			same_parity |= (p & 1) == (port & 1u);
		}
	if (!any)
		fail_msg("op %zu: got a port from a full range", op);
	if (got < M_LO || got > M_HI || !m_port_free(md, proto, got))
		fail_msg("op %zu: port %u not free", op, got);
	if (port >= M_LO && port <= M_HI && m_port_free(md, proto, port) &&
	    got != port)
		fail_msg("op %zu: port %u not preserved (%u)", op, port, got);
	if (same_parity && (got & 1) != (port & 1))
		fail_msg("op %zu: parity of %u lost (%u)", op, port, got);
	for (int i = 0; i < M_SLOTS; i++)
		if (!md->m[i].used) {
			md->m[i] = (struct m_mapping){ true, proto, addr, port,
						       got, 0 };
			return i;
		}
	fail_msg("model full");
	return -1;
}

static bool m_ports_left(struct model *md, uint8_t proto)
{
	for (uint32_t p = M_LO; p <= M_HI; p++)
		if (m_port_free(md, proto, (uint16_t)p))
			return true;
	return false;
}

static bool m_is_forward(const struct nat_tuple *t, bool internal)
{
	return t->proto == UDP &&
	       (internal ? t->src == ip("10.0.0.9") && ntohs(t->sport) == 53
			 : t->dst == ip(EXT) && ntohs(t->dport) == M_FWD);
}

static enum nat_result m_out(struct fx *f, struct model *md,
			     const struct nat_tuple *t, uint32_t secs,
			     const struct nat_rewrite *got, size_t op)
{
	struct m_session *s = m_find(f, md, true, t, secs);
	struct m_session want = { .proto = t->proto, .int_addr = t->src,
				  .int_port = ntohs(t->sport), .rem_addr = t->dst,
				  .rem_port = ntohs(t->dport), .last = secs,
				  .mapping = -1, .ext_port = M_FWD };
	struct m_mapping *m;

	if (s) {
		s->last = secs > s->last ? secs : s->last;
		return NAT_OK;
	}
	if (!m_is_forward(t, true)) {
		if ((ntohl(t->src) >> 16) != (10u << 8))
			return NAT_NOT_MASQUERADED;
		if (md->active >= M_MAX)
			return NAT_TABLE_FULL;
		m = m_mapping(md, t->proto, true, t->src, ntohs(t->sport));
		if (m) {
			want.mapping = (int)(m - md->m);
		} else if (!m_ports_left(md, t->proto)) {
			return NAT_PORTS_EXHAUSTED;
		} else {
			want.mapping = m_new_mapping(md, t->proto, t->src,
						     ntohs(t->sport),
						     ntohs(got->port), op);
		}
		want.ext_port = md->m[want.mapping].ext_port;
	} else if (md->active >= M_MAX) {
		return NAT_TABLE_FULL;
	}
	m_add_session(md, &want);
	return NAT_OK;
}

static enum nat_result m_in(struct fx *f, struct model *md,
			    const struct nat_tuple *t, uint32_t secs)
{
	struct m_session *s = m_find(f, md, false, t, secs);
	struct m_session want = { .proto = t->proto, .rem_addr = t->src,
				  .rem_port = ntohs(t->sport),
				  .ext_port = ntohs(t->dport), .last = secs,
				  .mapping = -1 };
	struct m_mapping *m = NULL;

	if (s) {
		s->last = secs > s->last ? secs : s->last;
		return NAT_OK;
	}
	if (m_is_forward(t, false)) {
		want.int_addr = ip("10.0.0.9");
		want.int_port = 53;
	} else {
		m = md->eif ? m_mapping(md, t->proto, false, 0, ntohs(t->dport))
			    : NULL;
		if (!m)
			return NAT_NO_SESSION;
		want.int_addr = m->int_addr;
		want.int_port = m->int_port;
		want.mapping = (int)(m - md->m);
	}
	if (md->active >= M_MAX)
		return NAT_TABLE_FULL;
	m_add_session(md, &want);
	return NAT_OK;
}

static unsigned m_expire(struct fx *f, struct model *md, uint32_t secs)
{
	unsigned n = 0;

	for (int i = 0; i < M_SLOTS; i++) {
		struct m_session *s = &md->s[i];

		if (!s->used || m_visible(f, s, secs))
			continue;
		s->used = false;
		md->active--;
		n++;
		if (s->mapping >= 0 && --md->m[s->mapping].refs == 0)
			md->m[s->mapping].used = false;
	}
	return n;
}

/* What the model says a translation should give. */
static void m_expect_rw(struct model *md, const struct nat_tuple *t,
			bool out_dir, uint32_t secs, struct fx *f,
			const struct nat_rewrite *rw, size_t op)
{
	const struct m_session *s = m_find(f, md, out_dir, t, secs);

	if (!s)
		fail_msg("op %zu: no model session after OK", op);
	if (out_dir ? rw->addr != ip(EXT) || ntohs(rw->port) != s->ext_port
		    : rw->addr != s->int_addr || ntohs(rw->port) != s->int_port)
		fail_msg("op %zu: rewrite %08x:%u", op, ntohl(rw->addr),
			 ntohs(rw->port));
}

/* Every external port of a live mapping is its mapping's alone (the
 * ports were checked to lie in [M_LO, M_HI] when they were handed out). */
static void m_check_unique(struct model *md, size_t op)
{
	bool seen[2][M_HI - M_LO + 1] = { { false } };

	for (int i = 0; i < M_SLOTS; i++) {
		const struct m_mapping *m = &md->m[i];
		bool *bit;

		if (!m->used)
			continue;
		bit = &seen[m->proto == UDP][m->ext_port - M_LO];
		if (*bit)
			fail_msg("op %zu: external port %u twice", op,
				 m->ext_port);
		*bit = true;
	}
}

static struct nat_tuple random_tuple(bool out_dir)
{
	static const char *const inside[] = { "10.0.0.1", "10.0.0.2",
					      "10.0.0.9", "10.1.0.1",
					      "192.168.0.1" };
	static const uint16_t int_ports[] = { 1000, 1001, M_FWD, 3000, 53 };
	uint8_t proto = rng() % 3 ? UDP : ICMP;
	uint32_t rem = ip(rng() % 2 ? "198.51.100.1" : "198.51.100.2");
	uint16_t rport = proto == ICMP ? 0 : (uint16_t)(53 + rng() % 2);
	struct nat_tuple t = { .proto = proto };

	if (out_dir) {
		t.src = ip(inside[rng() % 5]);
		t.sport = htons(int_ports[rng() % 5]);
		t.dst = rem;
		t.dport = htons(rport);
	} else {
		t.src = rem;
		t.sport = htons(rport);
		t.dst = ip(EXT);
		t.dport = htons((uint16_t)(M_LO - 1 + rng() % (M_HI - M_LO + 3)));
	}
	return t;
}

static void random_translate(struct fx *f, struct model *md, bool o,
			     uint64_t now, size_t op)
{
	uint32_t secs = (uint32_t)(now / NSEC_PER_SEC) + 1;
	struct nat_tuple t = random_tuple(o);
	struct nat_rewrite rw = { 0 };
	enum nat_result got, want;

	got = o ? nat_flow_out(f->nat, &f->lc, &f->conf, &t, 0, now, &rw)
		: nat_flow_in(f->nat, &f->lc, &f->conf, &t, 0, now, &rw);
	want = o ? m_out(f, md, &t, secs, &rw, op) : m_in(f, md, &t, secs);
	if (got != want)
		fail_msg("op %zu %s: got %d want %d", op, o ? "out" : "in", got,
			 want);
	if (got == NAT_OK)
		m_expect_rw(md, &t, o, secs, f, &rw, op);
}

static void random_find(struct fx *f, struct model *md, bool o, uint64_t now,
			size_t op)
{
	uint32_t secs = (uint32_t)(now / NSEC_PER_SEC) + 1;
	struct nat_tuple t = random_tuple(o);
	bool admit = rng() & 1, mapped, want_mapped;
	const struct m_mapping *m;
	struct nat_rewrite rw;
	enum nat_result got, want;

	got = nat_flow_find(f->nat, &f->conf, o ? NAT_DIR_OUT : NAT_DIR_IN, &t,
			    admit, now, &rw);
	want = m_find(f, md, o, &t, secs) ||
	       (!o && admit && (m_is_forward(&t, false) ||
				(md->eif && m_mapping(md, t.proto, false, 0,
						      ntohs(t.dport)))))
		? NAT_OK : NAT_NO_SESSION;
	if (got != want)
		fail_msg("op %zu find: got %d want %d", op, got, want);
	if (!o)
		return;
	mapped = nat_mapping_find(f->nat, &f->conf, t.proto, t.src, t.sport,
				  now, &rw);
	m = m_mapping(md, t.proto, true, t.src, ntohs(t.sport));
	want_mapped = m || m_is_forward(&t, true);
	if (mapped != want_mapped ||
	    (mapped && ntohs(rw.port) != (m ? m->ext_port : M_FWD)))
		fail_msg("op %zu mapping_find: %d port %u", op, mapped,
			 ntohs(rw.port));
}

static void random_expire(struct fx *f, struct model *md, uint64_t now,
			  size_t op)
{
	unsigned n = nat_expire(f->nat, &f->lc, &f->conf, now, ALL);

	if (n != m_expire(f, md, (uint32_t)(now / NSEC_PER_SEC) + 1))
		fail_msg("op %zu: expired %u", op, n);
	if (nat_active_sessions(f->nat) != md->active)
		fail_msg("op %zu: active %u want %u", op,
			 nat_active_sessions(f->nat), md->active);
	nat_reclaim(f->nat);
}

/* One random operation: half translations out, a quarter in, then
 * look-ups, time passing and expiry. */
static void random_step(struct fx *f, struct model *md, uint64_t *now,
			size_t op)
{
	unsigned kind = (unsigned)(rng() % 16);

	if (kind < 12)
		random_translate(f, md, kind < 8, *now, op);
	else if (kind < 14)
		random_find(f, md, kind == 12, *now, op);
	else if (kind == 14)
		*now += rng() % 2 ? SEC(rng() % 40) : rng() % SEC(2);
	else
		random_expire(f, md, *now, op);
	m_check_unique(md, op);
}

static void test_random_vs_naive(void **state)
{
	(void)state;
	for (int seq = 0; seq < 40; seq++) {
		struct fx *f = fx_new(M_MAX);
		struct model *md = calloc(1, sizeof(*md));
		uint64_t now = SEC(seq);

		rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)seq;
		assert_non_null(md);
		md->eif = seq & 1;
		f->conf.filtering = md->eif
			? NAT_FILTER_ENDPOINT_INDEPENDENT
			: NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT;
		f->conf.port_min = M_LO;
		f->conf.port_max = M_HI;
		f->conf.timeout[NAT_TIMEOUT_UDP] = 120;
		f->conf.timeout[NAT_TIMEOUT_ICMP] = 60;
		fx_forward(f, UDP, NULL, M_FWD, "10.0.0.9", 53);
		for (size_t op = 0; op < 2500; op++)
			random_step(f, md, &now, op);
		free(md);
		fx_free(f);
	}
}

/* --- Threads -------------------------------------------------------------- */

/*
 * Workers translate an overlapping set of "hot" flows, each in its own
 * order, so they race to create the same mappings and sessions and to
 * claim ports; every few rounds a new generation of hot flows starts and
 * the old one goes cold.  Each also creates a few "churn" flows a round,
 * which the next worker must then find.  A control thread expires and,
 * after every worker has passed a quiescent point (a hand-made RCU grace
 * period), reclaims.  Each worker's clock is its round; the expiry clock
 * is the slowest worker's, so a flow some worker still uses never
 * expires, and any change of its external port would be a bug.
 */
enum {
	T_WORKERS = 3, T_ROUNDS = 120, T_GEN = 10, T_GENS = T_ROUNDS / T_GEN,
	T_HOT = 96, T_CHURN = 8, T_TIMEOUT = 3, T_LAG = 4,
};

struct churn_box {
	pthread_mutex_t lock;
	int round;                      /* -1: empty */
	struct nat_tuple t[T_CHURN];    /* inbound: remote -> external */
	uint32_t int_addr[T_CHURN];
};

struct mt {
	struct nat_lcore lc[T_WORKERS + 1];     /* the last: control */
	struct nat *nat;
	struct nat_config conf;
	_Atomic uint32_t round[T_WORKERS];      /* rounds completed */
	_Atomic uint32_t quiescent[T_WORKERS];  /* quiescent states passed */
	_Atomic uint32_t expired_at;            /* clock of the last expiry */
	_Atomic bool done[T_WORKERS];
	_Atomic uint32_t hot_ext[T_GENS][T_HOT]; /* 0x10000 | port */
	struct churn_box box[T_WORKERS];
	_Atomic unsigned errors, found_by_other;
	char first_error[128];
};

struct worker_arg {
	struct mt *mt;
	int id;
};

static struct nat_tuple hot_tuple(int gen, int i)
{
	char src[32], dst[32];

	snprintf(src, sizeof(src), "10.0.%d.%d", 1 + gen % 4, 1 + i % 48);
	snprintf(dst, sizeof(dst), "198.51.100.%d", 1 + i % 5);
	return (struct nat_tuple){ ip(src), ip(dst), htons(4000 + i / 48),
				   htons(53 + gen % 3), UDP };
}

/* Count a failure, and describe the first for the report. */
static void error(struct mt *mt, const char *what, int worker, int round,
		  int i)
{
	if (atomic_fetch_add(&mt->errors, 1) == 0)
		snprintf(mt->first_error, sizeof(mt->first_error),
			 "%s: worker %d round %d flow %d", what, worker, round, i);
}

static void worker_hot(struct mt *mt, int id, int round)
{
	int gen = round / T_GEN;
	struct nat_lcore *lc = &mt->lc[id];

	for (int k = 0; k < T_HOT; k++) {
		int i = (k + id * 37) % T_HOT;  /* each its own order */
		struct nat_tuple t = hot_tuple(gen, i), back;
		struct nat_rewrite rw;
		uint32_t want = 0, got;

		if (nat_flow_out(mt->nat, lc, &mt->conf, &t, 0, SEC(round),
				 &rw) != NAT_OK || rw.addr != ip(EXT)) {
			error(mt, "hot out", id, round, i);
			continue;
		}
		got = 0x10000u | ntohs(rw.port);
		if (!atomic_compare_exchange_strong(&mt->hot_ext[gen][i], &want,
						    got) && want != got)
			error(mt, "hot port changed", id, round, i);
		back = (struct nat_tuple){ t.dst, rw.addr, t.dport, rw.port, UDP };
		if (nat_flow_in(mt->nat, lc, &mt->conf, &back, 0, SEC(round),
				&rw) != NAT_OK ||
		    rw.addr != t.src || rw.port != t.sport)
			error(mt, "hot in", id, round, i);
	}
}

static void worker_churn(struct mt *mt, int id, int round)
{
	struct churn_box *mine = &mt->box[id];
	struct churn_box *next = &mt->box[(id + 1) % T_WORKERS];
	struct churn_box seen;
	char src[32];

	pthread_mutex_lock(&mine->lock);
	mine->round = round;
	for (int c = 0; c < T_CHURN; c++) {
		struct nat_tuple t;
		struct nat_rewrite rw;

		snprintf(src, sizeof(src), "10.%d.%d.%d", 100 + id, round,
			 c + 1);
		t = (struct nat_tuple){ ip(src), ip("198.51.100.50"),
					htons(7000), htons(9999), UDP };
		if (nat_flow_out(mt->nat, &mt->lc[id], &mt->conf, &t, 0,
				 SEC(round), &rw) != NAT_OK)
			error(mt, "churn out", id, round, c);
		mine->t[c] = (struct nat_tuple){ t.dst, rw.addr, t.dport,
						 rw.port, UDP };
		mine->int_addr[c] = t.src;
	}
	pthread_mutex_unlock(&mine->lock);
	pthread_mutex_lock(&next->lock);
	seen = *next;
	pthread_mutex_unlock(&next->lock);
	/* Within the timeout of its creation it must be there. */
	if (seen.round < 0 || round > seen.round + T_TIMEOUT - 1)
		return;
	for (int c = 0; c < T_CHURN; c++) {
		struct nat_rewrite rw;

		if (nat_flow_find(mt->nat, &mt->conf, NAT_DIR_IN, &seen.t[c],
				  false, SEC(round), &rw) != NAT_OK ||
		    rw.addr != seen.int_addr[c])
			error(mt, "churn not found", id, round, c);
		else
			atomic_fetch_add(&mt->found_by_other, 1);
	}
}

static void *worker(void *p)
{
	struct worker_arg *a = p;

	struct mt *mt = a->mt;

	for (int round = 0; round < T_ROUNDS; round++) {
		/* Stay within T_LAG rounds of the last expiry, whatever the
		 * scheduler does, so the live set (and the ports it holds)
		 * stays bounded.  Waiting holds nothing: quiescent. */
		while ((uint32_t)round > atomic_load(&mt->expired_at) + T_LAG) {
			atomic_fetch_add(&mt->quiescent[a->id], 1);
			sched_yield();
		}
		worker_hot(mt, a->id, round);
		worker_churn(mt, a->id, round);
		atomic_store(&mt->round[a->id], (uint32_t)round + 1);
		/* Between rounds a worker holds nothing found in the table. */
		atomic_fetch_add(&mt->quiescent[a->id], 1);
	}
	nat_lcore_release(mt->nat, &mt->lc[a->id]);
	atomic_store(&mt->done[a->id], true);
	return NULL;
}

static bool all_done(struct mt *mt)
{
	for (int w = 0; w < T_WORKERS; w++)
		if (!atomic_load(&mt->done[w]))
			return false;
	return true;
}

static void *controller(void *p)
{
	struct mt *mt = p;
	struct nat_lcore *lc = &mt->lc[T_WORKERS];

	while (!all_done(mt)) {
		uint32_t snap[T_WORKERS], slowest = UINT32_MAX;

		for (int w = 0; w < T_WORKERS; w++)
			if (atomic_load(&mt->round[w]) < slowest)
				slowest = atomic_load(&mt->round[w]);
		/* A partial walk: the cursor carries over between calls. */
		nat_expire(mt->nat, lc, &mt->conf, SEC(slowest), 1024);
		atomic_store(&mt->expired_at, slowest);
		/* Grace period: every worker passes a quiescent point. */
		for (int w = 0; w < T_WORKERS; w++)
			snap[w] = atomic_load(&mt->quiescent[w]);
		for (int w = 0; w < T_WORKERS; w++)
			while (atomic_load(&mt->quiescent[w]) == snap[w] &&
			       !atomic_load(&mt->done[w]))
				sched_yield();
		nat_reclaim(mt->nat);
	}
	return NULL;
}

/* Among everything still linked: one mapping per external port, one
 * usable session per key. */
static void check_unique(struct mt *mt, uint64_t now)
{
	const struct nat_clock c = nat_clock_at(&mt->conf, now);
	struct nat *nat = mt->nat;
	uint32_t ns = nat->sessions.bump, nm = nat->mappings.bump;

	for (uint32_t i = 0; i < nm; i++)
		for (uint32_t j = i + 1; j < nm; j++) {
			const struct nat_mapping *a = nat_mapping_at(nat, i);
			const struct nat_mapping *b = nat_mapping_at(nat, j);

			if (a->refs && b->refs && a->proto == b->proto &&
			    a->ext_port == b->ext_port)
				fail_msg("port %u mapped twice",
					 ntohs(a->ext_port));
		}
	for (uint32_t i = 0; i < ns; i++) {
		const struct nat_session *a = nat_session_at(nat, i);

		if (nat_session_timed_out(a, a->last_seen, &c))
			continue;
		for (uint32_t j = i + 1; j < ns; j++) {
			const struct nat_session *b = nat_session_at(nat, j);

			if (!nat_session_timed_out(b, b->last_seen, &c) &&
			    a->rem_addr == b->rem_addr &&
			    a->rem_port == b->rem_port &&
			    ((a->int_addr == b->int_addr &&
			      a->int_port == b->int_port) ||
			     a->ext_port == b->ext_port))
				fail_msg("sessions %u and %u share a key", i, j);
		}
	}
}

static void check_generations(struct mt *mt)
{
	for (int g = 0; g < T_GENS; g++)
		for (int i = 0; i < T_HOT; i++)
			for (int j = i + 1; j < T_HOT; j++)
				if (mt->hot_ext[g][i] == mt->hot_ext[g][j])
					fail_msg("generation %d: flows %d and %d "
						 "share port %u", g, i, j,
						 mt->hot_ext[g][i] & 0xffff);
}

static void test_threads(void **state)
{
	struct mt *mt = zalloc64(sizeof(*mt));
	struct worker_arg args[T_WORKERS];
	pthread_t th[T_WORKERS], ctl;
	uint64_t created = 0, m_created = 0;
	struct nat_stats *cs;

	(void)state;
	rng_state = 0x3c6ef372fe94f82bULL;
	random_source_set(test_source);
	nat_config_defaults(&mt->conf);
	mt->conf.masquerade[0] = (struct ip_prefix){ ip_addr4("10.0.0.0"), 8 };
	mt->conf.n_masquerade = 1;
	mt->conf.external = ip_addr4(EXT);
	mt->conf.port_min = 3000;
	mt->conf.port_max = 5999;
	mt->conf.timeout[NAT_TIMEOUT_UDP] = T_TIMEOUT;
	mt->nat = nat_create(8192);
	assert_non_null(mt->nat);
	for (int w = 0; w <= T_WORKERS; w++)
		nat_lcore_init(&mt->lc[w]);
	for (int w = 0; w < T_WORKERS; w++) {
		pthread_mutex_init(&mt->box[w].lock, NULL);
		mt->box[w].round = -1;
	}
	for (int w = 0; w < T_WORKERS; w++) {
		args[w] = (struct worker_arg){ mt, w };
		assert_int_equal(pthread_create(&th[w], NULL, worker, &args[w]),
				 0);
	}
	assert_int_equal(pthread_create(&ctl, NULL, controller, mt), 0);
	for (int w = 0; w < T_WORKERS; w++)
		pthread_join(th[w], NULL);
	pthread_join(ctl, NULL);

	if (mt->errors)
		fail_msg("%u errors, first: %s", mt->errors, mt->first_error);
	assert_true(mt->found_by_other > 0);
	check_generations(mt);
	check_unique(mt, SEC(T_ROUNDS));
	cs = &mt->lc[T_WORKERS].stats;
	assert_true(cs->expired[NAT_PROTO_UDP] > 0);   /* it ran concurrently */
	nat_expire(mt->nat, &mt->lc[T_WORKERS], &mt->conf, SEC(T_ROUNDS + 10),
		   ALL);
	nat_reclaim(mt->nat);
	for (int w = 0; w < T_WORKERS; w++) {
		created += mt->lc[w].stats.created[NAT_PROTO_UDP];
		m_created += mt->lc[w].stats.mappings_created;
	}
	assert_int_equal(nat_active_sessions(mt->nat), 0);
	assert_int_equal(cs->expired[NAT_PROTO_UDP], created);
	assert_int_equal(cs->mappings_expired, m_created);
	for (int w = 0; w < T_WORKERS; w++)
		pthread_mutex_destroy(&mt->box[w].lock);
	nat_destroy(mt->nat);
	random_source_set(NULL);
	free(mt);
}

/* Two threads meet before each flow and create it at the same moment:
 * every race between them ends with one session and one mapping per
 * flow, which both see, and the loser counted nothing. */
enum { R_FLOWS = 3000 };

struct race {
	struct nat_lcore lc[2];
	struct nat *nat;
	struct nat_config conf;
	_Atomic int arrived[R_FLOWS];
	uint16_t port[2][R_FLOWS];
};

struct race_arg {
	struct race *r;
	int id;
};

static struct nat_tuple race_tuple(int i)
{
	return (struct nat_tuple){ htonl(0x0a000000u + (uint32_t)i + 1),
				   ip("198.51.100.7"), htons(5000), htons(53),
				   UDP };
}

static void *racer(void *p)
{
	struct race_arg *a = p;
	struct race *r = a->r;

	for (int i = 0; i < R_FLOWS; i++) {
		struct nat_tuple t = race_tuple(i);
		struct nat_rewrite rw = { 0 };

		/* Meet the other thread before each flow. */
		atomic_fetch_add(&r->arrived[i], 1);
		for (int spins = 0; atomic_load(&r->arrived[i]) < 2; spins++)
			if (spins > 1000)
				sched_yield();

		if (nat_flow_out(r->nat, &r->lc[a->id], &r->conf, &t, 0, 0,
				 &rw) == NAT_OK)
			r->port[a->id][i] = ntohs(rw.port);
	}
	nat_lcore_release(r->nat, &r->lc[a->id]);
	return NULL;
}

static void test_threads_same_flows(void **state)
{
	struct race *r = zalloc64(sizeof(*r));
	struct race_arg args[2] = { { r, 0 }, { r, 1 } };
	pthread_t th[2];
	bool *used = calloc(65536, sizeof(bool));

	(void)state;
	assert_non_null(used);
	rng_state = 0x510e527fade682d1ULL;
	random_source_set(test_source);
	nat_config_defaults(&r->conf);
	r->conf.masquerade[0] = (struct ip_prefix){ ip_addr4("10.0.0.0"), 8 };
	r->conf.n_masquerade = 1;
	r->conf.external = ip_addr4(EXT);
	r->nat = nat_create(2 * R_FLOWS);
	assert_non_null(r->nat);
	for (int i = 0; i < 2; i++)
		nat_lcore_init(&r->lc[i]);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer, &args[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < R_FLOWS; i++) {
		if (r->port[0][i] == 0 || r->port[0][i] != r->port[1][i])
			fail_msg("flow %d: ports %u and %u", i, r->port[0][i],
				 r->port[1][i]);
		if (used[r->port[0][i]])
			fail_msg("flow %d: port %u twice", i, r->port[0][i]);
		used[r->port[0][i]] = true;
	}
	assert_int_equal(r->lc[0].stats.created[NAT_PROTO_UDP] +
			 r->lc[1].stats.created[NAT_PROTO_UDP], R_FLOWS);
	assert_int_equal(r->lc[0].stats.mappings_created +
			 r->lc[1].stats.mappings_created, R_FLOWS);
	assert_int_equal(nat_active_sessions(r->nat), R_FLOWS);
	nat_destroy(r->nat);
	random_source_set(NULL);
	free(used);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping_created),
		cmocka_unit_test(test_endpoint_independent_mapping),
		cmocka_unit_test(test_port_and_parity_preservation),
		cmocka_unit_test(test_range_preservation),
		cmocka_unit_test(test_parity_last_resort_and_exhaustion),
		cmocka_unit_test(test_filtering),
		cmocka_unit_test(test_forwards),
		cmocka_unit_test(test_forward_ports_reserved),
		cmocka_unit_test(test_tcp_states),
		cmocka_unit_test(test_tcp_no_session),
		cmocka_unit_test(test_udp_icmp_timeouts),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_mapping_lifetime),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_reclaim_reuse),
		cmocka_unit_test(test_look_only),
		cmocka_unit_test(test_bytes_per_session),
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_same_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
