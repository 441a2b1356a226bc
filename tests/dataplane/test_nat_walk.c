/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat_walk.c, the CLI's view of the NAT sessions: the
 * description of each kind of session (UDP, ICMP, TCP, a forward's), the
 * TCP states as a numbered table of segment sequences, expires_in at the
 * exact boundaries, the walk stopping on request; the flush: a subset
 * flushed leaves the others working, a mapping dies with its last session,
 * a flushed external port and flushed slots come back after nat_reclaim,
 * and a randomized comparison of flushes against a naive model.
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

/* Look only: the inbound session of remote -> ext:port exists. */
static bool in_found(struct fx *f, uint8_t proto, const char *remote,
		     uint16_t rport, uint16_t ext_port, uint64_t now)
{
	struct nat_tuple t = { ip(remote), ip(EXT), htons(rport),
			       htons(ext_port), proto };
	struct nat_rewrite rw;

	return nat_flow_find(f->nat, &f->conf, NAT_DIR_IN, &t, false, now,
			     &rw) == NAT_OK;
}

/* --- Collecting the walk -------------------------------------------------- */

enum { MAX_SEEN = 512 };

struct seen {
	struct nat_session_info s[MAX_SEEN];
	unsigned n;
	unsigned stop_after;        /* 0: never stop */
};

static int collect(const struct nat_session_info *s, void *ctx)
{
	struct seen *w = ctx;

	assert_true(w->n < MAX_SEEN);
	w->s[w->n++] = *s;
	return w->stop_after && w->n == w->stop_after ? 42 : 0;
}

static unsigned walk(struct fx *f, uint64_t now, struct seen *w)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(nat_session_walk(f->nat, &f->conf, now, collect, w), 0);
	return w->n;
}

/* The one session of the walk whose inside endpoint is addr:port. */
static const struct nat_session_info *by_inside(const struct seen *w,
						const char *addr,
						uint16_t port)
{
	uint32_t a = ip(addr);

	for (unsigned i = 0; i < w->n; i++)
		if (memcmp(w->s[i].inside, &a, 4) == 0 &&
		    w->s[i].inside_port == port)
			return &w->s[i];
	fail_msg("no session from %s:%u", addr, port);
	return NULL;
}

static void assert_addr(const uint8_t a[4], const char *want)
{
	uint32_t v = ip(want);

	assert_memory_equal(a, &v, 4);
}

/* --- Describing ----------------------------------------------------------- */

static void test_describe(void **state)
{
	struct fx *f = fx_new(64);
	const struct nat_session_info *s;
	struct nat_rewrite rw;
	struct seen w;

	(void)state;
	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	assert_int_equal(out(f, UDP, "10.0.0.2", 5000, "198.51.100.7", 53, 0,
			     SEC(10), &rw), NAT_OK);
	assert_int_equal(out(f, ICMP, "10.0.0.3", 77, "198.51.100.8", 0, 0,
			     SEC(10), NULL), NAT_OK);
	assert_int_equal(in(f, TCP, "198.51.100.9", 40000, EXT, 2222, TCP_SYN,
			    SEC(10), NULL), NAT_OK);
	assert_int_equal(walk(f, SEC(10), &w), 3);

	s = by_inside(&w, "10.0.0.2", 5000);
	assert_int_equal(s->proto, UDP);
	assert_addr(s->external, EXT);
	assert_int_equal(s->external_port, ntohs(rw.port));
	assert_addr(s->remote, "198.51.100.7");
	assert_int_equal(s->remote_port, 53);
	assert_int_equal(s->state, NAT_STATE_OPEN);
	assert_string_equal(nat_session_state_name(s->state), "open");
	assert_int_equal(s->expires_in, 301);   /* usable through 310.999 s */
	assert_false(s->forward);

	s = by_inside(&w, "10.0.0.3", 77);      /* the echo identifier */
	assert_int_equal(s->proto, ICMP);
	assert_int_not_equal(s->external_port, 0);
	assert_addr(s->remote, "198.51.100.8");
	assert_int_equal(s->remote_port, 0);
	assert_int_equal(s->state, NAT_STATE_OPEN);
	assert_int_equal(s->expires_in, 61);
	assert_false(s->forward);

	s = by_inside(&w, "10.0.0.5", 22);
	assert_int_equal(s->proto, TCP);
	assert_addr(s->external, EXT);
	assert_int_equal(s->external_port, 2222);
	assert_addr(s->remote, "198.51.100.9");
	assert_int_equal(s->remote_port, 40000);
	assert_int_equal(s->state, NAT_STATE_SYN_SENT);
	assert_int_equal(s->expires_in, 241);
	assert_true(s->forward);

	/* The countdown, to the last nanosecond of the last second. */
	walk(f, JUST_BEFORE(309), &w);
	assert_int_equal(by_inside(&w, "10.0.0.2", 5000)->expires_in, 2);
	assert_int_equal(walk(f, JUST_BEFORE(310), &w), 1);
	assert_int_equal(w.s[0].expires_in, 1);
	assert_int_equal(walk(f, SEC(311), &w), 0);   /* timed out: not listed */
	assert_int_equal(nat_active_sessions(f->nat), 3);  /* not expired yet */
	fx_free(f);
}

static void test_walk_stops(void **state)
{
	struct fx *f = fx_new(64);
	struct seen w = { .stop_after = 2 };
	char host[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
		assert_int_equal(out(f, UDP, host, 5000, "198.51.100.7", 53, 0,
				     0, NULL), NAT_OK);
	}
	assert_int_equal(nat_session_walk(f->nat, &f->conf, 0, collect, &w),
			 42);
	assert_int_equal(w.n, 2);
	fx_free(f);
}

/* --- TCP states ------------------------------------------------------------- */

enum { O = 1, I = 2, END = 0 };
#define S TCP_SYN
#define A TCP_ACK
#define F TCP_FIN
#define R TCP_RST

struct state_case {
	struct { int dir; uint8_t flags; } seg[8];
	enum nat_session_state want;
	uint32_t expires_in;        /* at the time of the last segment */
};

static const struct state_case state_cases[] = {
	/* 1 */ { { { O, S }, { END } }, NAT_STATE_SYN_SENT, 241 },
	/* 2 */ { { { O, S }, { I, S | A }, { END } }, NAT_STATE_SYN_RECEIVED, 241 },
	/* 3 */ { { { O, S }, { I, S | A }, { O, A }, { END } },
		  NAT_STATE_ESTABLISHED, 7441 },
	/* 4 */ { { { O, S }, { I, S }, { END } }, NAT_STATE_SYN_RECEIVED, 241 },
	/* 5 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A }, { END } },
		  NAT_STATE_FIN_WAIT, 241 },
	/* 6 */ { { { O, S }, { I, S | A }, { O, A }, { I, F | A }, { END } },
		  NAT_STATE_FIN_WAIT, 241 },
	/* 7 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		    { I, F | A }, { O, A }, { END } }, NAT_STATE_CLOSING, 241 },
	/* 8 */ { { { O, S }, { I, S | A }, { O, A }, { I, R }, { END } },
		  NAT_STATE_CLOSED, 241 },
	/* 9 */ { { { O, S }, { I, R | A }, { END } }, NAT_STATE_CLOSED, 241 },
	/* 10 */ { { { O, A }, { END } }, NAT_STATE_SYN_SENT, 241 },  /* pickup */
	/* 11 */ { { { O, A }, { I, A }, { END } }, NAT_STATE_ESTABLISHED, 7441 },
	/* 12 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { O, S }, { END } },
		   NAT_STATE_SYN_SENT, 241 },          /* reopened */
	/* 13 */ { { { O, S }, { I, S | A }, { O, A }, { O, R }, { I, A },
		     { END } }, NAT_STATE_CLOSED, 241 },
};

static void test_tcp_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(state_cases) / sizeof(state_cases[0]);
	     i++) {
		const struct state_case *c = &state_cases[i];
		struct fx *f = fx_new(64);
		struct seen w;

		for (size_t k = 0; c->seg[k].dir != END; k++) {
			enum nat_result r = c->seg[k].dir == O
				? out(f, TCP, "10.0.0.2", 40000, "198.51.100.7",
				      443, c->seg[k].flags, SEC(k), NULL)
				: in(f, TCP, "198.51.100.7", 443, EXT, 40000,
				     c->seg[k].flags, SEC(k), NULL);

			if (r != NAT_OK)
				fail_msg("case %zu segment %zu: result %d",
					 i + 1, k + 1, r);
		}
		size_t last = 0;

		while (c->seg[last + 1].dir != END)
			last++;
		walk(f, SEC(last), &w);
		if (w.n != 1 || w.s[0].state != c->want ||
		    w.s[0].expires_in != c->expires_in)
			fail_msg("case %zu: %u sessions, state %s expires in %u, "
				 "want %s in %u", i + 1, w.n,
				 w.n ? nat_session_state_name(w.s[0].state) : "-",
				 w.n ? w.s[0].expires_in : 0,
				 nat_session_state_name(c->want), c->expires_in);
		fx_free(f);
	}
	assert_string_equal(nat_session_state_name(NAT_STATE_COUNT), "unknown");
}

/* --- Flush ------------------------------------------------------------------ */

static bool remote_port_is(const struct nat_session_info *s, void *ctx)
{
	return s->remote_port == *(const uint16_t *)ctx;
}

static bool inside_is(const struct nat_session_info *s, void *ctx)
{
	return memcmp(s->inside, ctx, 4) == 0;
}

/* Half the sessions flushed: the other half still translate both ways,
 * with the same external ports; the flushed ones are gone from both
 * directions, counted as expired, and their mappings reaped only when
 * the last session of the mapping went. */
static void test_flush_subset(void **state)
{
	struct fx *f = fx_new(256);
	uint16_t ports[16], port53 = 53;
	struct nat_rewrite rw;
	struct seen w;
	char host[32];

	(void)state;
	for (int i = 0; i < 16; i++) {
		snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
		assert_int_equal(out(f, UDP, host, 5000, "198.51.100.7", 53, 0,
				     0, &rw), NAT_OK);
		ports[i] = ntohs(rw.port);
		assert_int_equal(out(f, UDP, host, 5000, "198.51.100.7", 123, 0,
				     0, NULL), NAT_OK);
	}
	assert_int_equal(nat_active_sessions(f->nat), 32);
	assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, SEC(1),
					   remote_port_is, &port53), 16);
	assert_int_equal(nat_active_sessions(f->nat), 16);
	assert_int_equal(f->lc.stats.expired[NAT_PROTO_UDP], 16);
	assert_int_equal(f->lc.stats.mappings_expired, 0);  /* 123 holds them */
	assert_int_equal(walk(f, SEC(1), &w), 16);
	for (unsigned i = 0; i < w.n; i++)
		assert_int_equal(w.s[i].remote_port, 123);
	for (int i = 0; i < 16; i++) {
		snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
		assert_false(in_found(f, UDP, "198.51.100.7", 53, ports[i], SEC(1)));
		assert_true(in_found(f, UDP, "198.51.100.7", 123, ports[i], SEC(1)));
		assert_int_equal(in(f, UDP, "198.51.100.7", 123, EXT, ports[i],
				    0, SEC(1), &rw), NAT_OK);
		assert_int_equal(rw.addr, ip(host));
		assert_int_equal(ntohs(rw.port), 5000);
		/* Same mapping, so the same external port (REQ-1). */
		assert_int_equal(out(f, UDP, host, 5000, "198.51.100.7", 123, 0,
				     SEC(1), &rw), NAT_OK);
		assert_int_equal(ntohs(rw.port), ports[i]);
	}
	assert_int_equal(f->lc.stats.created[NAT_PROTO_UDP], 32);

	/* Everything: the mappings go with their last sessions. */
	assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, SEC(2),
					   NULL, NULL), 16);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	assert_int_equal(f->lc.stats.mappings_expired, 16);
	assert_int_equal(walk(f, SEC(2), &w), 0);
	assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, SEC(2),
					   NULL, NULL), 0);
	fx_free(f);
}

/* A forward's session flushed: the forward itself stays, and the next
 * inbound packet makes a new session. */
static void test_flush_forward(void **state)
{
	struct fx *f = fx_new(64);
	struct seen w;

	(void)state;
	fx_forward(f, TCP, NULL, 2222, "10.0.0.5", 22);
	assert_int_equal(in(f, TCP, "198.51.100.9", 40000, EXT, 2222, TCP_SYN,
			    0, NULL), NAT_OK);
	assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, 0, NULL,
					   NULL), 1);
	assert_false(in_found(f, TCP, "198.51.100.9", 40000, 2222, 0));
	assert_int_equal(f->lc.stats.mappings_expired, 0);
	assert_int_equal(in(f, TCP, "198.51.100.9", 40000, EXT, 2222, TCP_SYN,
			    SEC(1), NULL), NAT_OK);
	assert_int_equal(walk(f, SEC(1), &w), 1);
	assert_true(w.s[0].forward);
	fx_free(f);
}

/* Both external ports of a two-port range taken; flushing one host's
 * session frees its port, which a third host gets after nat_reclaim. */
static void test_flush_port_reuse(void **state)
{
	struct fx *f = fx_new(64);
	uint32_t host1 = ip("10.0.0.1");
	struct nat_rewrite rw;
	uint16_t port1;

	(void)state;
	f->conf.port_min = 20000;
	f->conf.port_max = 20001;
	assert_int_equal(out(f, UDP, "10.0.0.1", 5000, "198.51.100.7", 53, 0, 0,
			     &rw), NAT_OK);
	port1 = ntohs(rw.port);
	assert_int_equal(out(f, UDP, "10.0.0.2", 5000, "198.51.100.7", 53, 0, 0,
			     NULL), NAT_OK);
	assert_int_equal(out(f, UDP, "10.0.0.3", 5000, "198.51.100.7", 53, 0, 0,
			     NULL), NAT_PORTS_EXHAUSTED);
	assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, 0,
					   inside_is, &host1), 1);
	nat_reclaim(f->nat);
	assert_int_equal(out(f, UDP, "10.0.0.3", 5000, "198.51.100.7", 53, 0, 0,
			     &rw), NAT_OK);
	assert_int_equal(ntohs(rw.port), port1);
	fx_free(f);
}

/* A full table flushed gives its slots back after nat_reclaim, and only
 * then: the same slots serve round after round. */
static void test_flush_slots_reused(void **state)
{
	struct fx *f = fx_new(64);
	char host[32];

	(void)state;
	for (int round = 0; round < 10; round++) {
		uint64_t t = SEC(round);

		for (int i = 0; i < 64; i++) {
			snprintf(host, sizeof(host), "10.0.%d.%d", round, i + 1);
			assert_int_equal(out(f, UDP, host, 5000, "198.51.100.7",
					     53, 0, t, NULL), NAT_OK);
		}
		assert_int_equal(out(f, UDP, "10.0.99.1", 5000, "198.51.100.7",
				     53, 0, t, NULL), NAT_TABLE_FULL);
		assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf, t,
						   NULL, NULL), 64);
		assert_int_equal(nat_active_sessions(f->nat), 0);
		nat_reclaim(f->nat);
	}
	assert_true(f->nat->sessions.bump <= 64 + NAT_LCORE_CACHE);
	assert_true(f->nat->mappings.bump <= 64 + NAT_LCORE_CACHE);
	fx_free(f);
}

/* --- Randomized: flushes against a naive model ------------------------------ */

enum { MODEL_HOSTS = 8, MODEL_REMOTES = 6, MODEL_PORTS = 4 };

struct model {
	bool live[MODEL_HOSTS][MODEL_REMOTES][MODEL_PORTS];
};

static void model_addr(char *buf, size_t len, const char *net, unsigned i)
{
	snprintf(buf, len, "%s.%u", net, i + 1);
}

/* The flush predicate: a random subset of remote addresses and ports. */
struct pick {
	uint32_t remote_mask;       /* bit per remote host */
	uint32_t port_mask;         /* bit per remote port index */
};

static bool picked(const struct nat_session_info *s, void *ctx)
{
	struct pick *p = ctx;
	unsigned r = s->remote[3] - 1, port = s->remote_port - 1000u;

	assert_true(r < MODEL_REMOTES && port < MODEL_PORTS);
	return (p->remote_mask >> r & 1) && (p->port_mask >> port & 1);
}

static void test_flush_random(void **state)
{
	struct fx *f = fx_new(1024);
	struct model m = { 0 };
	char h[32], r[32];
	struct seen w;

	(void)state;
	for (int round = 0; round < 300; round++) {
		uint64_t now = SEC(round);      /* well within the UDP timeout */
		struct pick p = { 0 };
		unsigned live = 0, want = 0;

		for (int k = 0; k < 20; k++) {
			unsigned hi = (unsigned)(rng() % MODEL_HOSTS);
			unsigned ri = (unsigned)(rng() % MODEL_REMOTES);
			unsigned pi = (unsigned)(rng() % MODEL_PORTS);

			model_addr(h, sizeof(h), "10.0.0", hi);
			model_addr(r, sizeof(r), "198.51.100", ri);
			assert_int_equal(out(f, UDP, h, 5000, r, 1000 + pi, 0,
					     now, NULL), NAT_OK);
			m.live[hi][ri][pi] = true;
		}
		p.remote_mask = (uint32_t)rng();
		p.port_mask = (uint32_t)rng();
		for (unsigned a = 0; a < MODEL_HOSTS; a++)
			for (unsigned b = 0; b < MODEL_REMOTES; b++)
				for (unsigned c = 0; c < MODEL_PORTS; c++) {
					if (!m.live[a][b][c])
						continue;
					if ((p.remote_mask >> b & 1) &&
					    (p.port_mask >> c & 1)) {
						m.live[a][b][c] = false;
						want++;
					} else {
						live++;
					}
				}
		assert_int_equal(nat_session_flush(f->nat, &f->lc, &f->conf,
						   now, picked, &p), want);
		if (round % 7 == 0)
			nat_reclaim(f->nat);
		/* The walk shows exactly the model's live sessions. */
		assert_int_equal(walk(f, now, &w), live);
		for (unsigned i = 0; i < w.n; i++) {
			unsigned a = w.s[i].inside[3] - 1;
			unsigned b = w.s[i].remote[3] - 1;
			unsigned c = w.s[i].remote_port - 1000;

			assert_true(m.live[a][b][c]);
		}
		assert_int_equal(nat_active_sessions(f->nat), live);
	}
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_walk_stops),
		cmocka_unit_test(test_tcp_states),
		cmocka_unit_test(test_flush_subset),
		cmocka_unit_test(test_flush_forward),
		cmocka_unit_test(test_flush_port_reuse),
		cmocka_unit_test(test_flush_slots_reused),
		cmocka_unit_test(test_flush_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
