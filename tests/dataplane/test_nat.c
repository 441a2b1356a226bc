/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat.c and dataplane/nat_table.c, the NAT's flow
 * layer: mappings and endpoint-independent mapping (RFC 4787 REQ-1),
 * port, parity and range preservation (REQ-3, REQ-4), filtering (REQ-8),
 * port forwards, the TCP state machine as a numbered table of segment
 * sequences whose timeout is read off expiry at the exact boundary
 * (RFC 5382 REQ-5), UDP and ICMP timers and refresh (REQ-5, REQ-6,
 * RFC 5508 REQ-1), exhaustion, look-only calls, slot reuse.  The
 * randomized comparison against a naive model and the multi-threaded
 * runs are in test_nat_threads.c; the fixture both use is in
 * nat_test_util.h.
 *
 * Time is injected; randomness comes from a fixed xorshift stream.  The
 * test looks inside the table (nat_table.h) to check invariants.
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

#include "nat_test_util.h"

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

/* Each forward test runs twice: scanning the forwards, and with the
 * lookup index the daemon builds with its tables (nat_config_index). */
static void forwards_indexed(struct fx *f, bool indexed)
{
	if (indexed)
		assert_int_equal(nat_config_index(&f->conf), 0);
}

static void forwards_case(bool indexed)
{
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;
	struct nat_tuple t = { ip("198.51.100.7"), ip(EXT), htons(1),
			       htons(2222), TCP };

	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	fx_forward(f, UDP, "203.0.113.9", 8080, "10.0.0.6", 80);
	forwards_indexed(f, indexed);
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
	nat_config_index_free(&f->conf);
	fx_free(f);
}

static void test_forwards(void **state)
{
	(void)state;
	forwards_case(false);
	forwards_case(true);
}

/* Dynamic mappings never take a forward's port (same proto and address). */
static void forward_ports_case(bool indexed)
{
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;

	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	forwards_indexed(f, indexed);
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
	nat_config_index_free(&f->conf);
	fx_free(f);
}

static void test_forward_ports_reserved(void **state)
{
	(void)state;
	forward_ports_case(false);
	forward_ports_case(true);
}

/* The index's list of external addresses answers like the scan. */
static void test_external_index(void **state)
{
	struct fx *f = fx_new(64);
	static const char *const probe[] = { EXT, "203.0.113.9", "203.0.113.8",
					     "198.51.100.7", "10.0.0.5" };
	bool scanned[5];

	(void)state;
	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	fx_forward(f, UDP, "203.0.113.9", 8080, "10.0.0.6", 80);
	fx_forward(f, TCP, "203.0.113.9", 8080, "10.0.0.7", 80);
	for (int i = 0; i < 5; i++) {
		uint32_t a = ip(probe[i]);

		scanned[i] = nat_is_external(&f->conf, (const uint8_t *)&a);
	}
	assert_int_equal(nat_config_index(&f->conf), 0);
	assert_int_equal(f->conf.n_external_addrs, 2);
	for (int i = 0; i < 5; i++) {
		uint32_t a = ip(probe[i]);

		assert_int_equal(nat_is_external(&f->conf, (const uint8_t *)&a),
				 scanned[i]);
		assert_int_equal(scanned[i], i < 2);
	}
	nat_config_index_free(&f->conf);
	fx_free(f);
}

/* Nor WireGuard's ListenPort for UDP: the fast path takes every UDP
 * packet for it on a public address, so a mapping there would never see a
 * reply.  Port preservation gives way, parity (REQ-4) does not; TCP and
 * ICMP identifiers may use the number. */
static void test_listen_port_reserved(void **state)
{
	static const char *const hosts[] = { "10.0.0.2", "10.0.0.3" };
	struct fx *f = fx_new(1024);
	struct nat_rewrite rw;

	(void)state;
	f->conf.listen_port = 51820;
	assert_int_equal(out(f, UDP, "10.0.0.1", 51820, "198.51.100.7", 51820,
			     0, 0, &rw), NAT_OK);
	assert_int_not_equal(ntohs(rw.port), 51820);
	assert_int_equal(ntohs(rw.port) & 1, 0);
	assert_int_equal(out(f, TCP, "10.0.0.1", 51820, "198.51.100.7", 443,
			     TCP_SYN, 0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 51820);
	assert_int_equal(out(f, ICMP, "10.0.0.1", 51820, "198.51.100.7", 0, 0,
			     0, &rw), NAT_OK);
	assert_rw(&rw, EXT, 51820);
	fx_free(f);
	/* A PortRange around it: only the two others, then none. */
	f = fx_new(1024);
	f->conf.listen_port = 51820;
	f->conf.port_min = 51819;
	f->conf.port_max = 51821;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(out(f, UDP, hosts[i], 51820, "198.51.100.7",
				     53, 0, 0, &rw), NAT_OK);
		assert_int_not_equal(ntohs(rw.port), 51820);
	}
	assert_int_equal(out(f, UDP, "10.0.0.4", 51820, "198.51.100.7", 53, 0,
			     0, &rw), NAT_PORTS_EXHAUSTED);
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
		cmocka_unit_test(test_external_index),
		cmocka_unit_test(test_listen_port_reserved),
		cmocka_unit_test(test_tcp_states),
		cmocka_unit_test(test_tcp_no_session),
		cmocka_unit_test(test_udp_icmp_timeouts),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_mapping_lifetime),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_reclaim_reuse),
		cmocka_unit_test(test_look_only),
		cmocka_unit_test(test_bytes_per_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
