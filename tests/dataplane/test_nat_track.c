/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat_track.c, connection tracking without
 * translation ([NAT] AllowTunnelToPrivate / AllowPrivateToTunnel = no),
 * as numbered tables run over IPv4 and IPv6: opens and replies, the TCP
 * state machine with the timeout read off expiry at the exact boundary
 * and the denied side's attempts to start connections, ICMP errors
 * admitted only for a live tracked flow, timers and expiry, IPv6
 * extension headers and fragments, what passes untracked, separation from
 * NAT sessions and the shared MaxSessions; then a tamper loop
 * (truncations and byte flips).  The randomized comparison with a naive
 * model and the threaded run are in test_nat_track_threads.c.
 */
#include <stdio.h>

#include "nat_track_test_util.h"

#define S TCP_SYN
#define A TCP_ACK
#define F TCP_FIN
#define R TCP_RST

/* --- Opens and replies ---------------------------------------------------- */

enum kind { K_TCP, K_UDP, K_REQ, K_REP };

struct step {
	uint8_t way, kind, src;
	uint16_t sport;                 /* echo: the identifier */
	uint8_t dst;
	uint16_t dport;
	uint8_t flags;
	enum nat_result want;
};

static void make(struct pk *p, int fam, const struct step *s)
{
	const char *src = hosts[fam][s->src], *dst = hosts[fam][s->dst];

	switch (s->kind) {
	case K_TCP: tcp(p, src, s->sport, dst, s->dport, s->flags); break;
	case K_UDP: udp(p, src, s->sport, dst, s->dport); break;
	default: echo(p, src, dst, s->kind == K_REQ, s->sport); break;
	}
}

static const struct step basic_steps[] = {
	/*  1 */ { REPLY, K_UDP, P1, 53, T1, 5000, 0, NO },  /* not opened */
	/*  2 */ { OPEN, K_UDP, T1, 5000, P1, 53, 0, NAT_OK },
	/*  3 */ { REPLY, K_UDP, P1, 53, T1, 5000, 0, NAT_OK },
	/*  4 */ { REPLY, K_UDP, P1, 54, T1, 5000, 0, NO },  /* other port */
	/*  5 */ { REPLY, K_UDP, P1, 53, T1, 5001, 0, NO },
	/*  6 */ { REPLY, K_UDP, P2, 53, T1, 5000, 0, NO },  /* other host */
	/*  7 */ { REPLY, K_UDP, P1, 53, T2, 5000, 0, NO },
	/*  8 */ { REPLY, K_TCP, P1, 53, T1, 5000, S | A, NO }, /* other proto */
	/*  9 */ { OPEN, K_REQ, T1, 77, P1, 0, 0, NAT_OK },
	/* 10 */ { REPLY, K_REP, P1, 77, T1, 0, 0, NAT_OK },
	/* 11 */ { REPLY, K_REP, P1, 78, T1, 0, 0, NO },     /* other id */
	/* 12 */ { REPLY, K_REQ, P1, 77, T1, 0, 0, NO },     /* P pings T */
	/* 13 */ { REPLY, K_TCP, P1, 22, T1, 40000, S, NO },
	/* 14 */ { OPEN, K_TCP, T1, 40000, P1, 22, S, NAT_OK },
	/* 15 */ { REPLY, K_TCP, P1, 22, T1, 40000, S | A, NAT_OK },
	/* 16 */ { OPEN, K_TCP, T1, 40000, P1, 22, A, NAT_OK },
	/* 17 */ { REPLY, K_TCP, P1, 22, T1, 40001, A, NO },
	/* 18 */ { REPLY, K_UDP, T1, 5000, P1, 53, 0, NO },  /* the open way */
	/* 19 */ { OPEN, K_UDP, T1, 5000, P1, 53, 0, NAT_OK }, /* same flow */
	/* 20 */ { OPEN, K_UDP, P1, 53, T1, 5000, 0, NAT_OK }, /* P's own */
};

static void test_open_reply(void **state)
{
	(void)state;
	for (int fam = V4; fam <= V6; fam++) {
		struct fx *f = fx_new(64);

		for (size_t i = 0; i < sizeof(basic_steps) /
				       sizeof(basic_steps[0]); i++) {
			enum nat_result got;
			struct pk p;

			make(&p, fam, &basic_steps[i]);
			got = op(f, basic_steps[i].way, &p, SEC(1));
			if (got != basic_steps[i].want)
				fail_msg("IPv%d step %zu: got %d want %d",
					 fam ? 6 : 4, i + 1, got,
					 basic_steps[i].want);
		}
		/* One session per flow (20 is a flow of its own, opened the
		 * other way), counted as created and as tracked. */
		assert_int_equal(f->lc.stats.tracked_created[NAT_PROTO_UDP], 2);
		assert_int_equal(f->lc.stats.tracked_created[NAT_PROTO_ICMP], 1);
		assert_int_equal(f->lc.stats.tracked_created[NAT_PROTO_TCP], 1);
		assert_int_equal(f->lc.stats.created[NAT_PROTO_UDP], 2);
		assert_int_equal(nat_active_sessions(f->nat), 4);
		/* Nothing of the NAT's. */
		assert_int_equal(f->lc.stats.mappings_created, 0);
		assert_int_equal(f->nat->sessions.bump, 0);
		fx_free(f);
	}
}

/* --- TCP ------------------------------------------------------------------ */

#define EST NAT_TIMEOUT_TCP_ESTABLISHED
#define TRANS NAT_TIMEOUT_TCP_TRANSITORY
#define O OPEN
#define I REPLY

struct tcp_case {
	struct { uint8_t way, flags; enum nat_result want; } seg[10];
	enum nat_timeout_kind timeout;  /* after the last segment */
};

static const struct tcp_case tcp_cases[] = {
	/*  1 */ { { { O, S }, { END } }, TRANS },
	/*  2 */ { { { O, S }, { I, S | A }, { END } }, TRANS },
	/*  3 */ { { { O, S }, { I, S | A }, { O, A }, { END } }, EST },
	/*  4 */ { { { O, S }, { I, S }, { O, S | A }, { I, S | A }, { END } },
		   EST },                       /* simultaneous open */
	/*  5 */ { { { O, A }, { END } }, TRANS },      /* mid-stream pickup */
	/*  6 */ { { { O, A }, { I, A }, { END } }, EST },
	/*  7 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { END } }, TRANS },
	/*  8 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { I, S, NO }, { END } }, TRANS },
						/* the denied side may not reopen */
	/*  9 */ { { { O, S }, { I, S | A }, { O, A }, { O, F | A },
		     { I, F | A }, { O, A }, { O, S }, { I, S | A }, { O, A },
		     { END } }, EST },          /* the opener may */
	/* 10 */ { { { O, A }, { I, S, NO }, { I, A }, { END } }, EST },
						/* nor start one on a pickup */
	/* 11 */ { { { O, S }, { I, R | A }, { I, S, NO }, { O, S },
		     { I, S | A }, { O, A }, { END } }, EST },
	/* 12 */ { { { O, S }, { I, S | A }, { O, A }, { I, S }, { END } },
		   EST },                       /* a stray SYN restarts nothing */
	/* 13 */ { { { O, S }, { I, S | A }, { O, A }, { I, R }, { END } },
		   TRANS },
	/* 14 */ { { { O, S }, { I, S | A }, { O, A }, { O, R }, { I, A },
		     { END } }, TRANS },        /* the last ACKs after a RST */
};

static void run_tcp_case(const struct tcp_case *c, size_t number, int fam)
{
	struct fx *f = fx_new(64);
	const char *t = hosts[fam][T1], *p = hosts[fam][P1];
	uint32_t secs;
	struct pk pk;

	for (size_t i = 0; c->seg[i].way != END; i++) {
		enum nat_result got;

		if (c->seg[i].way == O)
			tcp(&pk, t, 40000, p, 443, c->seg[i].flags);
		else
			tcp(&pk, p, 443, t, 40000, c->seg[i].flags);
		got = op(f, c->seg[i].way, &pk, 0);
		if (got != c->seg[i].want)
			fail_msg("IPv%d case %zu segment %zu: got %d want %d",
				 fam ? 6 : 4, number, i + 1, got,
				 c->seg[i].want);
	}
	assert_int_equal(f->lc.stats.tracked_created[NAT_PROTO_TCP], 1);
	secs = f->conf.timeout[c->timeout];
	if (nat_expire(f->nat, &f->lc, &f->conf, JUST_BEFORE(secs), ALL) != 0)
		fail_msg("IPv%d case %zu: expired before %u s", fam ? 6 : 4,
			 number, secs);
	if (nat_expire(f->nat, &f->lc, &f->conf, SEC(secs + 1), ALL) != 1)
		fail_msg("IPv%d case %zu: alive after %u s", fam ? 6 : 4,
			 number, secs);
	assert_int_equal(f->lc.stats.tracked_expired[NAT_PROTO_TCP], 1);
	assert_int_equal(f->lc.stats.expired[NAT_PROTO_TCP], 1);
	fx_free(f);
}

static void test_tcp_states(void **state)
{
	(void)state;
	for (int fam = V4; fam <= V6; fam++)
		for (size_t i = 0; i < sizeof(tcp_cases) / sizeof(tcp_cases[0]);
		     i++)
			run_tcp_case(&tcp_cases[i], i + 1, fam);
}

/* A RST of no known connection creates nothing, from either side. */
static void test_tcp_rst_creates_nothing(void **state)
{
	struct fx *f = fx_new(64);
	struct pk p;

	(void)state;
	tcp(&p, hosts[V4][T1], 40000, hosts[V4][P1], 443, R | A);
	assert_int_equal(op(f, OPEN, &p, 0), NAT_OK);
	tcp(&p, hosts[V4][P1], 443, hosts[V4][T1], 40000, R);
	assert_int_equal(op(f, REPLY, &p, 0), NO);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	fx_free(f);
}

/* --- ICMP errors ---------------------------------------------------------- */

enum quoted { Q_UDP, Q_UDP_OTHER, Q_TCP, Q_ECHO, Q_ECHO_REPLY, Q_ERROR,
	      Q_SHORT, Q_OTHER_FAMILY };

struct err_case {
	uint8_t type[2], code[2];       /* [V4], [V6] */
	uint8_t from, to, quoted;
	enum nat_result want;
};

static const struct err_case err_cases[] = {
	/*  1 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_UDP, NAT_OK }, /* port unr. */
	/*  2 */ { { 11, 3 }, { 0, 0 }, R1, T1, Q_UDP, NAT_OK }, /* TTL */
	/*  3 */ { { 12, 4 }, { 0, 0 }, P1, T1, Q_UDP, NAT_OK },
	/*  4 */ { { 3, 2 }, { 4, 0 }, R1, T1, Q_TCP, NAT_OK }, /* PMTU */
	/*  5 */ { { 3, 1 }, { 1, 1 }, R1, T1, Q_ECHO, NAT_OK },
	/*  6 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_UDP_OTHER, NO },
	/*  7 */ { { 3, 1 }, { 3, 4 }, P1, T2, Q_UDP, NO },  /* to another */
	/*  8 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_ECHO_REPLY, NO },
	/*  9 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_ERROR, NO },
	/* 10 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_SHORT, NO },
	/* 11 */ { { 3, 1 }, { 3, 4 }, P1, T1, Q_OTHER_FAMILY, NO },
	/* 12 */ { { 5, 137 }, { 0, 0 }, R1, T1, Q_UDP, NO }, /* redirect */
	/* 13 */ { { 13, 130 }, { 0, 0 }, P1, T1, Q_UDP, NO }, /* not errors */
};

/* What an error of case c quotes, for the flows test_icmp_errors opens. */
static uint32_t quote_of(struct pk *q, int fam, const struct err_case *c)
{
	const char *t = hosts[fam][T1], *p = hosts[fam][P1];
	struct pk inner;

	switch (c->quoted) {
	case Q_UDP: udp(q, t, 5000, p, 53); break;
	case Q_UDP_OTHER: udp(q, t, 5001, p, 53); break;
	case Q_TCP: tcp(q, t, 40000, p, 22, S); break;
	case Q_ECHO: echo(q, t, p, true, 77); break;
	case Q_ECHO_REPLY: echo(q, t, p, false, 77); break;
	case Q_ERROR:
		udp(&inner, p, 53, t, 5000);
		icmp_err(q, t, p, fam ? 1 : 3, fam ? 4 : 3, &inner, inner.len);
		break;
	case Q_SHORT: udp(q, t, 5000, p, 53); return q->len - 12 + 4;
	default: udp(q, hosts[!fam][T1], 5000, hosts[!fam][P1], 53); break;
	}
	return q->len;
}

static void open_error_flows(struct fx *f, int fam, uint64_t now)
{
	const char *t = hosts[fam][T1], *p = hosts[fam][P1];
	struct pk pk;

	udp(&pk, t, 5000, p, 53);
	assert_int_equal(op(f, OPEN, &pk, now), NAT_OK);
	tcp(&pk, t, 40000, p, 22, S);
	assert_int_equal(op(f, OPEN, &pk, now), NAT_OK);
	echo(&pk, t, p, true, 77);
	assert_int_equal(op(f, OPEN, &pk, now), NAT_OK);
}

static void test_icmp_errors(void **state)
{
	(void)state;
	for (int fam = V4; fam <= V6; fam++) {
		struct fx *f = fx_new(64);

		open_error_flows(f, V4, 0);
		open_error_flows(f, V6, 0);
		for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]);
		     i++) {
			const struct err_case *c = &err_cases[i];
			struct pk q, e;
			uint32_t qlen = quote_of(&q, fam, c);
			enum nat_result got;

			icmp_err(&e, hosts[fam][c->from], hosts[fam][c->to],
				 c->type[fam], c->code[fam], &q, qlen);
			got = op(f, REPLY, &e, SEC(1));
			if (got != c->want)
				fail_msg("IPv%d case %zu: got %d want %d",
					 fam ? 6 : 4, i + 1, got, c->want);
			/* From the allowed side an error passes, creating
			 * nothing. */
			assert_int_equal(op(f, OPEN, &e, SEC(1)), NAT_OK);
		}
		assert_int_equal(tracked(f), 6);
		fx_free(f);
	}
}

/* Errors look only (RFC 4787 REQ-12): they do not keep a flow alive. */
static void test_icmp_error_looks_only(void **state)
{
	struct fx *f = fx_new(64);
	struct pk q, e;

	(void)state;
	udp(&q, hosts[V4][T1], 5000, hosts[V4][P1], 53);
	assert_int_equal(op(f, OPEN, &q, SEC(10)), NAT_OK);
	icmp_err(&e, hosts[V4][P1], hosts[V4][T1], 3, 3, &q, q.len);
	for (int s = 20; s <= 310; s += 10)
		assert_int_equal(op(f, REPLY, &e, SEC(s)), NAT_OK);
	assert_int_equal(op(f, REPLY, &e, SEC(311)), NO);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(311), ALL), 1);
	fx_free(f);
}

/* --- Timers --------------------------------------------------------------- */

/* UDP 300 s and ICMP 60 s, refreshed both ways; a session whose timer ran
 * out admits nothing even before the control thread reaps it, and its
 * slot comes back after nat_reclaim. */
static void test_timers_and_expiry(void **state)
{
	struct fx *f = fx_new(64);
	struct pk o, r, eo, er;

	(void)state;
	udp(&o, hosts[V6][T1], 5000, hosts[V6][P1], 53);
	udp(&r, hosts[V6][P1], 53, hosts[V6][T1], 5000);
	echo(&eo, hosts[V4][T1], hosts[V4][P1], true, 9);
	echo(&er, hosts[V4][P1], hosts[V4][T1], false, 9);
	assert_int_equal(op(f, OPEN, &o, SEC(10)), NAT_OK);
	assert_int_equal(op(f, OPEN, &eo, SEC(10)), NAT_OK);
	assert_int_equal(op(f, REPLY, &er, JUST_BEFORE(70)), NAT_OK);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, JUST_BEFORE(130),
				    ALL), 0);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(131), ALL), 1);
	assert_int_equal(f->lc.stats.tracked_expired[NAT_PROTO_ICMP], 1);
	assert_int_equal(op(f, REPLY, &er, SEC(131)), NO);
	assert_int_equal(op(f, REPLY, &r, SEC(200)), NAT_OK);    /* refresh */
	assert_int_equal(op(f, REPLY, &r, JUST_BEFORE(500)), NAT_OK);
	assert_int_equal(op(f, REPLY, &r, SEC(801)), NO);        /* ran out */
	assert_int_equal(nat_active_sessions(f->nat), 1);        /* not reaped */
	assert_int_equal(op(f, OPEN, &o, SEC(801)), NAT_OK);     /* anew */
	assert_int_equal(f->lc.stats.tracked_created[NAT_PROTO_UDP], 2);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(801), ALL), 1);
	assert_int_equal(op(f, REPLY, &r, SEC(802)), NAT_OK);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(2000), ALL),
			 1);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	nat_reclaim(f->nat);
	for (int round = 0; round < 10; round++) {
		assert_int_equal(op(f, OPEN, &o, SEC(3000 + round * 400)),
				 NAT_OK);
		assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf,
					    SEC(3000 + round * 400 + 301), ALL),
				 1);
		nat_reclaim(f->nat);
	}
	assert_true(f->nat->tracks.bump <= 2 + NAT_LCORE_CACHE);
	fx_free(f);
}

/* --- IPv6 ----------------------------------------------------------------- */

/* Whole addresses in the key: hosts alike in their last 32 bits, or an
 * IPv4 host and its IPv4-mapped or -compatible IPv6 form, are strangers. */
static void test_ipv6_whole_addresses(void **state)
{
	static const char *const strangers[] = {
		"fd00:11::2", "fd01:10::2", "fd00:10::1:2", "::ffff:10.0.0.2",
		"::10.0.0.2",
	};
	struct fx *f = fx_new(64);
	struct pk p;

	(void)state;
	udp(&p, "fd00:200::2", 5000, "fd00:10::2", 53);
	assert_int_equal(op(f, OPEN, &p, 0), NAT_OK);
	udp(&p, "10.200.0.2", 5000, "10.0.0.2", 53);
	assert_int_equal(op(f, OPEN, &p, 0), NAT_OK);
	for (size_t i = 0; i < sizeof(strangers) / sizeof(strangers[0]); i++) {
		udp(&p, strangers[i], 53, "fd00:200::2", 5000);
		if (op(f, REPLY, &p, 0) != NO)
			fail_msg("%s got in", strangers[i]);
	}
	udp(&p, "fd00:10::2", 53, "fd00:200::2", 5000);
	assert_int_equal(op(f, REPLY, &p, 0), NAT_OK);
	fx_free(f);
}

/* Extension headers are walked; a first fragment is a whole packet to the
 * tracker, a later one passes both ways; a truncated chain is malformed. */
static void test_ipv6_extension_headers(void **state)
{
	struct fx *f = fx_new(64);
	const char *t = hosts[V6][T1], *p = hosts[V6][P1];
	struct pk pk;

	(void)state;
	udp(&pk, t, 5000, p, 53);
	ext6(&pk, IPV6_EXT_DEST_OPTS, 0, false);
	ext6(&pk, IPV6_EXT_HOP_BY_HOP, 0, false);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	udp(&pk, p, 53, t, 5000);
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_OK);
	ext6(&pk, IPV6_EXT_ROUTING, 0, false);
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_OK);
	ext6(&pk, IPV6_EXT_FRAGMENT, 0, true);          /* first fragment */
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_OK);
	udp(&pk, p, 54, t, 5000);
	ext6(&pk, IPV6_EXT_FRAGMENT, 0, true);
	assert_int_equal(op(f, REPLY, &pk, 0), NO);
	udp(&pk, p, 54, t, 5000);
	ext6(&pk, IPV6_EXT_FRAGMENT, 185, false);       /* later fragment */
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_OK);
	udp(&pk, t, 6000, p, 53);
	ext6(&pk, IPV6_EXT_FRAGMENT, 185, true);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	assert_int_equal(tracked(f), 1);
	/* Cut inside the extension header, and inside the UDP header. */
	udp(&pk, t, 5000, p, 53);
	ext6(&pk, IPV6_EXT_DEST_OPTS, 0, false);
	pk.len = 44;
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_MALFORMED);
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_MALFORMED);
	pk.len = 52;
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_MALFORMED);
	fx_free(f);
}

/* --- What is not tracked -------------------------------------------------- */

static void test_untracked(void **state)
{
	static const uint8_t gre[8] = { 0, 0, 0x08, 0 };
	static const uint8_t timestamp[20] = { 13 };
	struct fx *f = fx_new(64);
	const char *t = hosts[V4][T1], *p = hosts[V4][P1];
	struct pk pk;

	(void)state;
	/* Other protocols and ICMP other than echo: pass from the allowed
	 * side, creating nothing; refused from the denied side. */
	build(&pk, t, p, 47, gre, sizeof(gre));
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	build(&pk, p, t, 47, gre, sizeof(gre));
	assert_int_equal(op(f, REPLY, &pk, 0), NO);
	build(&pk, t, p, ICMP, timestamp, sizeof(timestamp));
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	build(&pk, p, t, ICMP, timestamp, sizeof(timestamp));
	assert_int_equal(op(f, REPLY, &pk, 0), NO);
	echo(&pk, t, p, false, 5);                      /* a reply to P */
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	/* IPv4 later fragments pass both ways (nat_track.c says why); a
	 * first fragment is tracked as a whole packet. */
	udp(&pk, t, 5000, p, 53);
	frag4(&pk, 0, true);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	udp(&pk, p, 9, t, 9);
	frag4(&pk, 1, false);
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_OK);
	frag4(&pk, 0, true);
	assert_int_equal(op(f, REPLY, &pk, 0), NO);
	assert_int_equal(tracked(f), 1);
	/* Neither IPv4 nor IPv6. */
	pk.b[0] = 0x55;
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_MALFORMED);
	assert_int_equal(op(f, REPLY, &pk, 0), NAT_MALFORMED);
	fx_free(f);
}

/* --- Beside the NAT ------------------------------------------------------- */

/* Tracked and NAT sessions never find each other's keys, and share
 * MaxSessions. */
static void test_apart_from_nat(void **state)
{
	struct fx *f = fx_new(4);
	struct nat_tuple t = { ip("10.0.0.2"), ip("198.51.100.7"), htons(5000),
			       htons(53), UDP };
	struct nat_tuple back = { t.dst, t.src, t.dport, t.sport, UDP };
	struct nat_rewrite rw;
	struct pk pk;

	(void)state;
	assert_int_equal(nat_flow_out(f->nat, &f->lc, &f->conf, &t, 0, 0, &rw),
			 NAT_OK);
	udp(&pk, "198.51.100.7", 53, "10.0.0.2", 5000);
	assert_int_equal(op(f, REPLY, &pk, 0), NO);
	udp(&pk, "10.0.0.2", 6000, "198.51.100.7", 53);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	t.sport = back.dport = htons(6000);
	assert_int_equal(nat_flow_find(f->nat, &f->conf, NAT_DIR_OUT, &t, false,
				       0, &rw), NO);
	back.dst = ip(EXT);
	assert_int_equal(nat_flow_in(f->nat, &f->lc, &f->conf, &back, 0, 0,
				     &rw), NO);
	/* Two of each fill the table of four. */
	assert_int_equal(nat_flow_out(f->nat, &f->lc, &f->conf, &t, 0, 0, &rw),
			 NAT_OK);
	udp(&pk, "10.0.0.2", 6001, "198.51.100.7", 53);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_OK);
	assert_int_equal(nat_active_sessions(f->nat), 4);
	udp(&pk, "10.0.0.2", 6002, "198.51.100.7", 53);
	assert_int_equal(op(f, OPEN, &pk, 0), NAT_TABLE_FULL);
	t.sport = htons(7000);
	assert_int_equal(nat_flow_out(f->nat, &f->lc, &f->conf, &t, 0, 0, &rw),
			 NAT_TABLE_FULL);
	assert_int_equal(nat_expire(f->nat, &f->lc, &f->conf, SEC(301), ALL), 4);
	nat_reclaim(f->nat);
	assert_int_equal(op(f, OPEN, &pk, SEC(302)), NAT_OK);
	fx_free(f);
}

/* --- Tamper --------------------------------------------------------------- */

static void tamper_one(struct fx *f, const uint8_t *pkt, uint32_t len)
{
	/* An exact-size copy, so a read past the end is the sanitizer's. */
	uint8_t *buf = malloc(len ? len : 1);
	enum nat_result r;

	assert_non_null(buf);
	memcpy(buf, pkt, len);
	r = nat_track_open(f->nat, &f->lc, &f->conf, buf, len, 0);
	if (r != NAT_OK && r != NAT_MALFORMED && r != NAT_TABLE_FULL)
		fail_msg("open of %u bytes: %d", len, r);
	r = nat_track_reply(f->nat, &f->lc, &f->conf, buf, len, 0);
	if (r != NAT_OK && r != NO && r != NAT_MALFORMED)
		fail_msg("reply of %u bytes: %d", len, r);
	free(buf);
}

/* Every truncation and many single-byte changes of packets of every
 * shape the tracker reads: no read outside the packet, only documented
 * results, and whatever got created expires. */
static void test_tamper(void **state)
{
	struct fx *f = fx_new(4096);
	struct pk base[9], q;
	size_t n = 0;

	(void)state;
	for (int fam = V4; fam <= V6; fam++) {
		const char *t = hosts[fam][T1], *p = hosts[fam][P1];

		tcp(&base[n++], t, 40000, p, 22, S);
		echo(&base[n++], p, t, false, 7);
		udp(&q, t, 5000, p, 53);
		icmp_err(&base[n++], p, t, fam ? 1 : 3, fam ? 4 : 3, &q, q.len);
		udp(&base[n], p, 53, t, 5000);
		if (fam == V6) {
			ext6(&base[n], IPV6_EXT_DEST_OPTS, 0, false);
			ext6(&base[n], IPV6_EXT_FRAGMENT, 0, true);
		}
		n++;
	}
	tcp(&base[n], hosts[V4][T1], 1, hosts[V4][P1], 2, A);
	base[n].b[0] = 0x46;                            /* IHL 6: options */
	n++;
	for (size_t i = 0; i < n; i++) {
		for (uint32_t len = 0; len <= base[i].len; len++)
			tamper_one(f, base[i].b, len);
		for (uint32_t at = 0; at < base[i].len; at++) {
			static const uint8_t with[] = { 0x00, 0xff, 0x80, 0x06 };

			for (size_t v = 0; v < sizeof(with); v++) {
				struct pk m = base[i];

				m.b[at] ^= with[v];
				tamper_one(f, m.b, m.len);
			}
		}
	}
	assert_true(tracked(f) > 0);
	nat_expire(f->nat, &f->lc, &f->conf, SEC(100000), ALL);
	assert_int_equal(nat_active_sessions(f->nat), 0);
	for (int p = 0; p < NAT_PROTO_COUNT; p++)
		assert_int_equal(f->lc.stats.tracked_created[p],
				 f->lc.stats.tracked_expired[p]);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_reply),
		cmocka_unit_test(test_tcp_states),
		cmocka_unit_test(test_tcp_rst_creates_nothing),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_icmp_error_looks_only),
		cmocka_unit_test(test_timers_and_expiry),
		cmocka_unit_test(test_ipv6_whole_addresses),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_untracked),
		cmocka_unit_test(test_apart_from_nat),
		cmocka_unit_test(test_tamper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
