/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/nat_frag.c, alone and behind the real NAT core as a stage
 * would drive it.  Datagrams are built whole, cut into fragments by a
 * naive RFC 791 fragmenter, sent through nat_out / nat_in (first
 * fragment) and nat_frag_first / nat_frag_later (the rest) in order, out
 * of order, duplicated and interleaved; what comes out is put together by
 * a naive reassembler and must equal, byte for byte, the whole datagram
 * with the expected endpoint written in and every checksum recomputed
 * from scratch.  Then the table's limits (timeouts, a full bucket, the
 * hold limits) and a randomized run against the same reference.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nat_frag.h"
#include "nat_internal.h"
#include "packet_ref.h"
#include "portcullis/wire.h"
#include "random.h"

#define NOW (1000 * NSEC_PER_SEC)
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
	DGRAM_MAX = REF_DGRAM_MAX,      /* a jumbo UDP datagram */
	FRAGS_MAX = 64,
	CAPACITY = 1 << 16,
};

/* Host order throughout the tests; the tracker's keys are network order. */
static const uint32_t EXT = IP4(203, 0, 113, 1), REMOTE = IP4(198, 51, 100, 7),
		      HOST = IP4(10, 0, 0, 1), FWD_A = IP4(10, 0, 0, 5),
		      FWD_B = IP4(10, 0, 0, 6);

/* --- Datagrams and fragments ---------------------------------------------- */

struct flow {
	uint8_t proto;
	uint32_t src, dst;
	uint16_t sport, dport;      /* ICMP: sport is the echo identifier */
	uint16_t id;                /* IP identification */
};

/* A whole datagram of flow fl with payload bytes after its transport
 * header (TCP SYN, UDP, or ICMP echo request), checksums computed. */
static uint32_t build_flow(uint8_t *ip, const struct flow *fl, uint32_t payload)
{
	struct spec s = { fl->proto, fl->src, fl->dst, fl->sport, fl->dport,
			  fl->proto == TCP ? SYN : ICMP_ECHO_REQUEST,
			  (uint16_t)payload };

	s.id = fl->id;
	return build(ip, &s);
}

/* The reference's, cut to fit the fixture's arrays. */
static unsigned fragment(const uint8_t *ip, uint32_t len, uint32_t step,
			 struct ref_frag *out)
{
	unsigned n = ref_fragment(ip, len, step, out, FRAGS_MAX);

	assert_int_not_equal(n, 0);
	return n;
}

/* The reference receiver; every fragment must fit into one datagram. */
static uint32_t reassemble(struct ref_frag *const *fr, unsigned n, uint8_t *out)
{
	uint32_t len = ref_reassemble(fr, n, out);

	if (len == 0)
		fail_msg("%u fragments do not make one datagram", n);
	return len;
}

/* --- Fixture: a NAT core and a tracker, as one lcore has them ------------ */

struct fixture {
	struct nat *nat;
	struct nat_lcore lc;
	struct nat_config conf;
	struct nat_forward fwd[3];
	struct nat_frag *frag;
	uint8_t whole[DGRAM_MAX], want[DGRAM_MAX], got[DGRAM_MAX];
	struct ref_frag fr[FRAGS_MAX], reply[FRAGS_MAX];
};

/* Masquerade 10.0.0.0/8 behind 203.0.113.1; forwards udp 5353 ->
 * 10.0.0.5:53, udp 5354 -> 10.0.0.6:53 and tcp 2222 -> 10.0.0.5:22. */
static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.fwd[0] = (struct nat_forward){ .proto = UDP, .external_port = 5353,
					 .internal_port = 53, .line = 1 };
	v4(&f.fwd[0].internal, FWD_A);
	f.fwd[1] = (struct nat_forward){ .proto = UDP, .external_port = 5354,
					 .internal_port = 53, .line = 2 };
	v4(&f.fwd[1].internal, FWD_B);
	f.fwd[2] = (struct nat_forward){ .proto = TCP, .external_port = 2222,
					 .internal_port = 22, .line = 3 };
	v4(&f.fwd[2].internal, FWD_A);
	ref_nat_config(&f.conf, EXT, f.fwd, N(f.fwd), CAPACITY);
	f.nat = nat_create(CAPACITY);
	assert_non_null(f.nat);
	nat_lcore_init(&f.lc);
	f.frag = nat_frag_create(NAT_FRAG_DEFAULT_ENTRIES);
	assert_non_null(f.frag);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	void *left[NAT_FRAG_HOLD_MAX];

	assert_int_equal(nat_frag_drain(f->frag, left), 0);
	nat_frag_destroy(f->frag);
	nat_lcore_release(f->nat, &f->lc);
	nat_destroy(f->nat);
	return 0;
}

/* Each test starts with nothing held, and a clock far from the last. */
static uint64_t clock_ns = NOW;

static uint64_t fresh_time(struct fixture *f)
{
	void *left[NAT_FRAG_HOLD_MAX];

	assert_int_equal(nat_frag_drain(f->frag, left), 0);
	clock_ns += 100 * NSEC_PER_SEC;
	return clock_ns;
}

/* --- The stage, as nat_stage.c drives the core ------------------------------ */

struct run {
	struct ref_frag *sent[2 * FRAGS_MAX];   /* what a stage forwards, in order */
	unsigned n_sent, n_held, n_dropped;
	enum nat_result first;              /* the NAT's verdict on offset 0 */
};

/* Pass n fragments, in the order given, through the NAT on path (OUT or
 * IN) at time now, as nat_stage_out / nat_stage_in do. */
static void stage(struct fixture *f, struct ref_frag *const *order, unsigned n,
		  enum nat_frag_path path, uint64_t now, struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->first = NAT_RESULT_COUNT;
	for (unsigned i = 0; i < n; i++) {
		struct ref_frag *fr = order[i];
		enum nat_frag_kind kind = nat_frag_kind(fr->b);
		void *held[NAT_FRAG_HOLD_PER_DATAGRAM], *evicted;
		struct nat_frag_addrs to;
		struct nat_frag_key k;
		unsigned m;

		if (kind == NAT_FRAG_LATER || kind == NAT_FRAG_UNSAFE) {
			switch (nat_frag_later(f->frag, fr->b, kind, path, fr, now,
					       &evicted)) {
			case NAT_FRAG_TRANSLATED: r->sent[r->n_sent++] = fr; break;
			case NAT_FRAG_HELD: r->n_held++; break;
			default: r->n_dropped++; break;
			}
			assert_null(evicted);
			continue;
		}
		nat_frag_key_get(fr->b, path, &k);
		r->first = path == NAT_FRAG_OUT
			? nat_out(f->nat, &f->lc, &f->conf, fr->b, fr->len, now)
			: nat_in(f->nat, &f->lc, &f->conf, fr->b, fr->len, now);
		m = nat_frag_first(f->frag, &k, fr->b, r->first == NAT_OK, now,
				   &to, held);
		for (unsigned j = 0; j < m; j++) {
			if (r->first != NAT_OK) {
				r->n_dropped++;
				continue;
			}
			nat_frag_rewrite(((struct ref_frag *)held[j])->b, &to);
			r->sent[r->n_sent++] = held[j];
		}
		if (r->first == NAT_OK)
			r->sent[r->n_sent++] = fr;
		else
			r->n_dropped++;
	}
}

static void order_of(struct ref_frag *fr, unsigned n, bool reverse,
		     struct ref_frag **o)
{
	for (unsigned i = 0; i < n; i++)
		o[i] = &fr[reverse ? n - 1 - i : i];
}

/* Fragment fl's datagram at step bytes, send it out in the given order,
 * and check the reassembled result against the reference.  Returns the
 * external port the NAT chose. */
static uint16_t out_and_check(struct fixture *f, const struct flow *fl,
			      uint32_t payload, uint32_t step, bool reverse,
			      uint64_t now, int row)
{
	uint32_t len = build_flow(f->whole, fl, payload), glen;
	unsigned n = fragment(f->whole, len, step, f->fr);
	struct ref_frag *order[FRAGS_MAX];
	uint16_t port;
	struct run r;

	order_of(f->fr, n, reverse, order);
	stage(f, order, n, NAT_FRAG_OUT, now, &r);
	if (r.first != NAT_OK || r.n_sent != n || r.n_dropped)
		fail_msg("row %d: verdict %d, %u of %u sent, %u dropped", row,
			 r.first, r.n_sent, n, r.n_dropped);
	if (r.n_held != (reverse ? n - 1 : 0))
		fail_msg("row %d: %u held", row, r.n_held);
	glen = reassemble(r.sent, r.n_sent, f->got);
	port = get16(port_at(f->got, true));
	memcpy(f->want, f->whole, len);
	ref_rewrite(f->want, len, true, EXT, port);
	if (glen != len || memcmp(f->got, f->want, len) != 0)
		fail_msg("row %d: reassembled datagram differs from the reference", row);
	assert_int_equal(nat_frag_held(f->frag), 0);
	return port;
}

/* --- Packet helpers --------------------------------------------------------- */

static void test_kind(void **state)
{
	static const struct {
		uint8_t proto;
		uint16_t fo;
		enum nat_frag_kind want;
	} rows[] = {
		/*  1 */ { UDP, 0, NAT_FRAG_WHOLE },
		/*  2 */ { UDP, IPV4_DF, NAT_FRAG_WHOLE },
		/*  3 */ { UDP, IPV4_MF, NAT_FRAG_FIRST },
		/*  4 */ { TCP, IPV4_MF | IPV4_DF, NAT_FRAG_FIRST },
		/*  5 */ { UDP, 1, NAT_FRAG_LATER },
		/*  6 */ { UDP, IPV4_MF | 1, NAT_FRAG_LATER },
		/*  7 */ { TCP, 2, NAT_FRAG_LATER },
		/*  8 */ { ICMP, 0x1fff, NAT_FRAG_LATER },
		/*  9 */ { TCP, 1, NAT_FRAG_UNSAFE },                 /* RFC 1858 */
		/* 10 */ { TCP, IPV4_MF | 1, NAT_FRAG_UNSAFE },
	};
	uint8_t ip[20] = { 0x45 };

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		ip[9] = rows[i].proto;
		put16(ip + 6, rows[i].fo);
		if (nat_frag_kind(ip) != rows[i].want)
			fail_msg("row %zu: kind %d", i + 1, nat_frag_kind(ip));
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Random headers and addresses: the addresses are set, a valid header
 * checksum stays valid (as a recomputation would make it), and a damaged
 * one stays damaged by exactly as much (RFC 1624 carries errors through). */
static void test_rewrite_checksum(void **state)
{
	uint8_t ip[20];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct nat_frag_addrs to;
		uint16_t damage = i % 3 == 0 ? (uint16_t)(rnd() | 1) : 0, before;

		for (unsigned j = 0; j < 20; j++)
			ip[j] = (uint8_t)rnd();
		ip[0] = 0x45;
		ref_ip_checksum(ip);
		put16(ip + 10, get16(ip + 10) + damage);
		before = ref_sum(ip, 20, 0);
		to.src = i % 4 == 1 ? htonl(get32(ip + 12)) : rnd();
		to.dst = i % 4 == 2 ? htonl(get32(ip + 16)) : rnd();
		nat_frag_rewrite(ip, &to);
		assert_memory_equal(ip + 12, &to.src, 4);
		assert_memory_equal(ip + 16, &to.dst, 4);
		if (ref_sum(ip, 20, 0) != before)
			fail_msg("case %d: header sum %04x, was %04x", i,
				 ref_sum(ip, 20, 0), before);
		if (damage == 0 && before != 0xffff)
			fail_msg("case %d: reference header invalid", i);
	}
}

/* --- In order, out of order, duplicates ------------------------------------- */

static void test_in_order(void **state)
{
	struct fixture *f = *state;
	static const struct { struct flow fl; uint32_t payload, step; } rows[] = {
		/* 1 */ { { UDP, HOST, REMOTE, 40000, 7000, 1 }, 1473 - 8, 1480 },
		/* 2 */ { { UDP, HOST, REMOTE, 40000, 7000, 2 }, 3000, 1480 },
		/* 3 */ { { UDP, HOST, REMOTE, 40000, 7000, 3 }, 8000, 1480 },
		/* 4 */ { { UDP, HOST, REMOTE, 40001, 7000, 4 }, 400, 8 },   /* tiny */
		/* 5 */ { { ICMP, HOST, REMOTE, 77, 0, 5 }, 3000, 1480 },    /* ping -s */
		/* 6 */ { { TCP, HOST, REMOTE, 40002, 443, 6 }, 2000, 1000 },
	};
	uint64_t now = fresh_time(f);

	for (size_t i = 0; i < N(rows); i++)
		out_and_check(f, &rows[i].fl, rows[i].payload, rows[i].step, false,
			      now, (int)i + 1);
}

/* The reply through the same session, inbound: each fragment's
 * destination and the datagram's port become the inside host's. */
static void test_inbound(void **state)
{
	struct fixture *f = *state;
	struct flow out = { UDP, HOST, REMOTE, 41000, 7000, 10 };
	uint64_t now = fresh_time(f);
	uint16_t ext = out_and_check(f, &out, 3000, 1480, false, now, 1);
	struct flow in = { UDP, REMOTE, EXT, 7000, ext, 11 };

	for (int reverse = 0; reverse < 2; reverse++) {
		uint32_t len = build_flow(f->whole, &in, 5000), glen;
		unsigned n = fragment(f->whole, len, 1480, f->reply);
		struct ref_frag *order[FRAGS_MAX];
		struct run r;

		order_of(f->reply, n, reverse, order);
		stage(f, order, n, NAT_FRAG_IN, now, &r);
		assert_int_equal(r.first, NAT_OK);
		assert_int_equal(r.n_sent, n);
		glen = reassemble(r.sent, r.n_sent, f->got);
		memcpy(f->want, f->whole, len);
		ref_rewrite(f->want, len, false, HOST, 41000);
		assert_int_equal(glen, len);
		assert_memory_equal(f->got, f->want, len);
		in.id++;
	}
}

/* REQ-14: the last fragment first (as some stacks send them), and every
 * other order of a four-fragment datagram: the early ones are held, then
 * sent in arrival order right after the first one is translated. */
static void test_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct flow fl = { UDP, HOST, REMOTE, 42000, 7000, 100 };
	uint64_t now = fresh_time(f);
	static const uint8_t perms[][4] = {
		{ 3, 2, 1, 0 }, { 1, 0, 2, 3 }, { 2, 3, 0, 1 }, { 1, 2, 3, 0 },
		{ 3, 0, 2, 1 }, { 0, 3, 1, 2 },
	};

	out_and_check(f, &fl, 8000, 1480, true, now, 1);
	for (size_t p = 0; p < N(perms); p++) {
		uint32_t len, glen;
		struct ref_frag *order[4];
		unsigned n, first_at = 0;
		struct run r;

		fl.id++;
		len = build_flow(f->whole, &fl, 4000);
		n = fragment(f->whole, len, 1024, f->fr);
		assert_int_equal(n, 4);
		for (unsigned i = 0; i < 4; i++) {
			order[i] = &f->fr[perms[p][i]];
			if (perms[p][i] == 0)
				first_at = i;
		}
		stage(f, order, n, NAT_FRAG_OUT, now + p, &r);
		assert_int_equal(r.n_held, first_at);
		assert_int_equal(r.n_sent, 4);
		for (unsigned i = 0; i < first_at; i++)     /* arrival order */
			assert_ptr_equal(r.sent[i], order[i]);
		glen = reassemble(r.sent, r.n_sent, f->got);
		memcpy(f->want, f->whole, len);
		ref_rewrite(f->want, len, true, EXT, get16(port_at(f->got, true)));
		assert_int_equal(glen, len);
		assert_memory_equal(f->got, f->want, len);
	}
}

/* Duplicated fragments, held or not, are each translated once and sent
 * (the receiver discards the copy); a duplicate first fragment does not
 * restart the entry's timer. */
static void test_duplicates(void **state)
{
	struct fixture *f = *state;
	struct flow fl = { UDP, HOST, REMOTE, 43000, 7000, 200 };
	uint64_t now = fresh_time(f);
	uint32_t len = build_flow(f->whole, &fl, 4000), glen;
	unsigned n = fragment(f->whole, len, 1480, f->fr);
	struct ref_frag dup = f->fr[2], dup1 = f->fr[1], dup_first = f->fr[0];
	struct ref_frag *order[] = { &f->fr[2], &dup, &f->fr[0], &f->fr[1], &dup1 };
	struct nat_frag_key k;
	struct nat_frag_addrs to;
	struct run r;

	assert_int_equal(n, 3);
	stage(f, order, N(order), NAT_FRAG_OUT, now, &r);
	assert_int_equal(r.first, NAT_OK);
	assert_int_equal(r.n_held, 2);
	assert_int_equal(r.n_sent, 5);
	glen = reassemble(r.sent, r.n_sent, f->got);
	memcpy(f->want, f->whole, len);
	ref_rewrite(f->want, len, true, EXT, get16(port_at(f->got, true)));
	assert_int_equal(glen, len);
	assert_memory_equal(f->got, f->want, len);

	/* A duplicate first fragment 20 s later: still the first's timer. */
	nat_frag_key_get(dup_first.b, NAT_FRAG_OUT, &k);
	stage(f, (struct ref_frag *[]){ &dup_first }, 1, NAT_FRAG_OUT,
	      now + 20 * NSEC_PER_SEC, &r);
	assert_int_equal(r.first, NAT_OK);
	assert_true(nat_frag_lookup(f->frag, &k, now + NAT_FRAG_TIMEOUT_NS - 1, &to));
	assert_false(nat_frag_lookup(f->frag, &k, now + NAT_FRAG_TIMEOUT_NS, &to));
}

/* --- Keys ---------------------------------------------------------------------- */

/* Two datagrams from one remote to one external address, interleaved,
 * told apart by port forward (5353 -> 10.0.0.5, 5354 -> 10.0.0.6): only
 * the IP id (RFC 791 3.2) says which later fragment is whose.  Then the
 * same id and addresses with another protocol (tcp 2222 -> 10.0.0.5). */
static void test_interleaved(void **state)
{
	struct fixture *f = *state;
	struct flow a = { UDP, REMOTE, EXT, 6000, 5353, 300 };
	struct flow b = { UDP, REMOTE, EXT, 6000, 5354, 301 };
	static struct ref_frag fa[FRAGS_MAX], fb[FRAGS_MAX];
	static uint8_t wa[DGRAM_MAX], wb[DGRAM_MAX];
	uint64_t now = fresh_time(f);
	uint32_t la = build_flow(wa, &a, 4000), lb = build_flow(wb, &b, 4000);
	unsigned na = fragment(wa, la, 1480, fa), nb = fragment(wb, lb, 1480, fb);
	struct ref_frag *order[] = { &fb[2], &fa[1], &fa[0], &fb[1], &fb[0], &fa[2] };
	struct ref_frag *sa[FRAGS_MAX], *sb[FRAGS_MAX];
	unsigned n_a = 0, n_b = 0;
	struct run r;

	assert_true(na == 3 && nb == 3);
	stage(f, order, N(order), NAT_FRAG_IN, now, &r);
	assert_int_equal(r.n_sent, 6);
	for (unsigned i = 0; i < r.n_sent; i++) {
		if (r.sent[i] >= fa && r.sent[i] < fa + FRAGS_MAX)
			sa[n_a++] = r.sent[i];
		else
			sb[n_b++] = r.sent[i];
	}
	assert_int_equal(reassemble(sa, n_a, f->got), la);
	ref_rewrite(wa, la, false, FWD_A, 53);
	assert_memory_equal(f->got, wa, la);
	assert_int_equal(reassemble(sb, n_b, f->got), lb);
	ref_rewrite(wb, lb, false, FWD_B, 53);
	assert_memory_equal(f->got, wb, lb);

	/* Key fields one by one: protocol, id, path, addresses. */
	struct nat_frag_key k, o;
	struct nat_frag_addrs to;

	nat_frag_key_get(fa[0].b, NAT_FRAG_IN, &k);   /* now to 10.0.0.5 */
	k.dst = htonl(EXT);                            /* as received */
	assert_true(nat_frag_lookup(f->frag, &k, now, &to));
	assert_int_equal(to.dst, htonl(FWD_A));
	o = k; o.proto = TCP;
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));
	o = k; o.id = htons(301);
	assert_true(nat_frag_lookup(f->frag, &o, now, &to));      /* that is b */
	assert_int_equal(to.dst, htonl(FWD_B));
	o = k; o.id = htons(302);
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));
	o = k; o.path = NAT_FRAG_OUT;
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));
	o = k; o.path = NAT_FRAG_HAIRPIN;
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));
	o = k; o.src ^= htonl(1);
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));
	o = k; o.dst ^= htonl(1);
	assert_false(nat_frag_lookup(f->frag, &o, now, &to));

	/* The same id, addresses and path, but TCP to the tcp forward. */
	struct flow t = { TCP, REMOTE, EXT, 6001, 2222, 300 };
	uint32_t lt = build_flow(f->whole, &t, 3000);
	unsigned nt = fragment(f->whole, lt, 1480, f->fr);
	struct ref_frag *ot[FRAGS_MAX];

	order_of(f->fr, nt, true, ot);
	stage(f, ot, nt, NAT_FRAG_IN, now, &r);
	assert_int_equal(r.n_sent, nt);
	assert_int_equal(reassemble(r.sent, r.n_sent, f->got), lt);
	ref_rewrite(f->whole, lt, false, FWD_A, 22);
	assert_memory_equal(f->got, f->whole, lt);
}

/* A first fragment the NAT refuses (unsolicited) leaves no entry: the
 * fragments held before it come back to be dropped, those after it are
 * held and time out. */
static void test_untranslated_first(void **state)
{
	struct fixture *f = *state;
	struct flow fl = { UDP, REMOTE, EXT, 6000, 9999, 400 };
	uint64_t now = fresh_time(f);
	uint32_t len = build_flow(f->whole, &fl, 5000);
	unsigned n = fragment(f->whole, len, 1480, f->fr);
	struct ref_frag *order[] = { &f->fr[3], &f->fr[0], &f->fr[1], &f->fr[2] };
	struct nat_frag_addrs to;
	struct nat_frag_key k;
	void *due[NAT_FRAG_HOLD_MAX];
	struct run r;

	assert_int_equal(n, 4);
	stage(f, order, n, NAT_FRAG_IN, now, &r);
	assert_int_equal(r.first, NAT_NO_SESSION);
	assert_int_equal(r.n_sent, 0);
	assert_int_equal(r.n_dropped, 2);       /* fr[3] held then dropped, fr[0] */
	assert_int_equal(r.n_held, 3);
	nat_frag_key_get(f->fr[0].b, NAT_FRAG_IN, &k);
	assert_false(nat_frag_lookup(f->frag, &k, now, &to));
	assert_int_equal(nat_frag_held(f->frag), 2);
	assert_int_equal(nat_frag_expire(f->frag, now + NAT_FRAG_HOLD_NS, due), 2);
	assert_ptr_equal(due[0], &f->fr[1]);
	assert_ptr_equal(due[1], &f->fr[2]);
	/* RFC 1858: TCP at offset 8 bytes is refused outright. */
	fl.proto = TCP;
	build_flow(f->whole, &fl, 100);
	fragment(f->whole, 20 + 20 + 100, 8, f->fr);
	assert_int_equal(nat_frag_kind(f->fr[1].b), NAT_FRAG_UNSAFE);
	stage(f, (struct ref_frag *[]){ &f->fr[1] }, 1, NAT_FRAG_IN, now, &r);
	assert_int_equal(r.n_dropped, 1);
	assert_int_equal(nat_frag_held(f->frag), 0);
}

/* --- Limits ------------------------------------------------------------------ */

static struct nat_frag_key key_n(unsigned i)
{
	return (struct nat_frag_key){ .src = htonl(HOST), .dst = htonl(REMOTE),
				      .id = (uint16_t)i, .proto = UDP,
				      .path = NAT_FRAG_OUT };
}

static void test_timeouts(void **state)
{
	struct fixture *f = *state;
	struct nat_frag_key k = key_n(1), k2 = key_n(2);
	struct nat_frag_addrs to = { htonl(EXT), htonl(REMOTE) }, got;
	uint64_t now = fresh_time(f);
	void *due[NAT_FRAG_HOLD_MAX], *ev;
	int pkts[3];

	nat_frag_record(f->frag, &k, &to, now);
	assert_true(nat_frag_lookup(f->frag, &k, now + NAT_FRAG_TIMEOUT_NS - 1, &got));
	assert_int_equal(got.src, to.src);
	assert_false(nat_frag_lookup(f->frag, &k, now + NAT_FRAG_TIMEOUT_NS, &got));
	/* Expired, it is a new datagram that may take the key again. */
	nat_frag_record(f->frag, &k, &to, now + NAT_FRAG_TIMEOUT_NS);
	assert_true(nat_frag_lookup(f->frag, &k, now + NAT_FRAG_TIMEOUT_NS + 1, &got));

	/* Held fragments go after NAT_FRAG_HOLD_NS, oldest first. */
	assert_int_equal(nat_frag_hold(f->frag, &k2, &pkts[0], now, &ev), 0);
	assert_int_equal(nat_frag_hold(f->frag, &k2, &pkts[1], now + 10, &ev), 0);
	assert_int_equal(nat_frag_hold(f->frag, &k2, &pkts[2], now + 20, &ev), 0);
	assert_int_equal(nat_frag_expire(f->frag, now + NAT_FRAG_HOLD_NS - 1, due), 0);
	assert_int_equal(nat_frag_expire(f->frag, now + NAT_FRAG_HOLD_NS + 10, due), 2);
	assert_ptr_equal(due[0], &pkts[0]);
	assert_ptr_equal(due[1], &pkts[1]);
	assert_int_equal(nat_frag_held(f->frag), 1);
	assert_int_equal(nat_frag_take(f->frag, &k2, due), 1);
	assert_ptr_equal(due[0], &pkts[2]);
	assert_int_equal(nat_frag_take(f->frag, &k2, due), 0);
}

/* One bucket of NAT_FRAG_WAYS: free ways first, then an expired entry,
 * then the oldest live one, wherever it sits in the bucket. */
static void test_table_full(void **state)
{
	static const uint64_t born[] = { 0, 20, 21, 22, 31, 32 };  /* seconds */
	static const bool kept[] = { false, false, true, true, true, true };
	struct nat_frag *t = nat_frag_create(1);
	struct nat_frag_addrs to = { htonl(EXT), htonl(REMOTE) }, got;
	struct nat_frag_key k;

	(void)state;
	assert_non_null(t);
	for (unsigned i = 0; i < N(born); i++) {
		k = key_n(i);
		nat_frag_record(t, &k, &to, NOW + born[i] * NSEC_PER_SEC);
		if (i == NAT_FRAG_WAYS - 1)          /* free ways: all kept */
			for (unsigned j = 0; j <= i; j++) {
				k = key_n(j);
				assert_true(nat_frag_lookup(t, &k, NOW + 22 * NSEC_PER_SEC,
							    &got));
			}
	}
	for (unsigned i = 0; i < N(born); i++) {
		k = key_n(i);
		if (nat_frag_lookup(t, &k, NOW + 32 * NSEC_PER_SEC, &got) != kept[i])
			fail_msg("key %u: %s", i, kept[i] ? "lost" : "still there");
	}
	nat_frag_destroy(t);
}

/* Deterministic keys for the hash, so the big-table case below is the
 * same on every run. */
static void counter_random(void *buf, size_t len)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + 7);
}

/* A full default-size table under a stream of datagrams: eviction takes
 * the oldest of a bucket, so the newest datagrams are always there. */
static void test_table_stream(void **state)
{
	struct nat_frag_addrs to = { htonl(EXT), htonl(REMOTE) }, got;
	struct nat_frag *t;
	struct nat_frag_key k;
	unsigned old_found = 0;

	(void)state;
	random_source_set(counter_random);
	t = nat_frag_create(NAT_FRAG_DEFAULT_ENTRIES);
	random_source_set(NULL);
	assert_non_null(t);
	for (unsigned i = 0; i < 20000; i++) {
		k = key_n(i);
		k.src ^= htonl(i >> 16);
		nat_frag_record(t, &k, &to, NOW + i);
	}
	for (unsigned i = 0; i < 20000; i++) {
		bool found;

		k = key_n(i);
		k.src ^= htonl(i >> 16);
		found = nat_frag_lookup(t, &k, NOW + 20000, &got);
		if (i >= 20000 - 256 && !found)
			fail_msg("datagram %u of the newest 256 was evicted", i);
		old_found += i < 1000 && found;
	}
	assert_int_equal(old_found, 0);
	nat_frag_destroy(t);
}

/* NAT_FRAG_HOLD_MAX held: the next pushes out the oldest.  One datagram
 * holds at most NAT_FRAG_HOLD_PER_DATAGRAM. */
static void test_hold_limits(void **state)
{
	struct fixture *f = *state;
	static int pkts[NAT_FRAG_HOLD_MAX + 1];
	void *ev, *out[NAT_FRAG_HOLD_MAX];
	uint64_t now = fresh_time(f);
	struct nat_frag_key k;
	uint8_t ip[20] = { 0x45 };

	for (unsigned i = 0; i < NAT_FRAG_HOLD_MAX; i++) {
		k = key_n(i);
		assert_int_equal(nat_frag_hold(f->frag, &k, &pkts[i], now + i, &ev), 0);
		assert_null(ev);
	}
	k = key_n(NAT_FRAG_HOLD_MAX);
	assert_int_equal(nat_frag_hold(f->frag, &k, &pkts[NAT_FRAG_HOLD_MAX],
				       now + 100, &ev), 0);
	assert_ptr_equal(ev, &pkts[0]);
	assert_int_equal(nat_frag_held(f->frag), NAT_FRAG_HOLD_MAX);
	k = key_n(0);
	assert_int_equal(nat_frag_take(f->frag, &k, out), 0);
	assert_int_equal(nat_frag_drain(f->frag, out), NAT_FRAG_HOLD_MAX);
	assert_ptr_equal(out[0], &pkts[1]);

	/* Per datagram, through nat_frag_later as a stage sees it. */
	ip[9] = UDP;
	put16(ip + 6, 185);
	put32(ip + 12, REMOTE);
	put32(ip + 16, EXT);
	for (unsigned i = 0; i < NAT_FRAG_HOLD_PER_DATAGRAM; i++)
		assert_int_equal(nat_frag_later(f->frag, ip, NAT_FRAG_LATER, NAT_FRAG_IN,
						&pkts[i], now, &ev), NAT_FRAG_HELD);
	assert_int_equal(nat_frag_later(f->frag, ip, NAT_FRAG_LATER, NAT_FRAG_IN,
					&pkts[NAT_FRAG_HOLD_MAX], now, &ev), NAT_FRAG_NO_ROOM);
	put16(ip + 4, 1);                         /* another datagram: room */
	assert_int_equal(nat_frag_later(f->frag, ip, NAT_FRAG_LATER, NAT_FRAG_IN,
					&pkts[NAT_FRAG_HOLD_MAX], now, &ev), NAT_FRAG_HELD);
	assert_int_equal(nat_frag_drain(f->frag, out), NAT_FRAG_HOLD_PER_DATAGRAM + 1);
}

/* --- Randomized, against the reference ---------------------------------------- */

/* Random datagrams of every protocol and size, cut at random sizes, sent
 * in a random order with random duplicates, out and (TCP, UDP) back in. */
static void one_random(struct fixture *f, unsigned iter, uint64_t now)
{
	static const uint8_t protos[] = { UDP, UDP, TCP, ICMP };
	static struct ref_frag dups[FRAGS_MAX];
	struct flow fl = {
		.proto = protos[rnd() % 4], .src = IP4(10, 1, 0, 0) | (rnd() & 0xffff),
		.dst = IP4(198, 18, 0, 0) | (rnd() & 0xffff),
		.sport = (uint16_t)rnd(), .dport = (uint16_t)(rnd() | 1),
		.id = (uint16_t)rnd(),
	};
	uint32_t payload = 1 + rnd() % 8000, len = build_flow(f->whole, &fl, payload);
	uint32_t min_step = ((len - 20) / 24 + 8) & ~7u;        /* <= 24 pieces */
	uint32_t step = min_step + (rnd() % 185) * 8, glen;
	unsigned n, m = 0, nd = 0;
	struct ref_frag *order[2 * FRAGS_MAX];
	struct run r;

	if (step > 1480)
		step = 1480 < min_step ? min_step : 1480;
	n = fragment(f->whole, len, step, f->fr);
	for (unsigned i = 0; i < n; i++) {
		order[m++] = &f->fr[i];
		/* Never more than a datagram may hold (the first may come last). */
		if (rnd() % 5 == 0 && m < NAT_FRAG_HOLD_PER_DATAGRAM) {
			dups[nd] = f->fr[i];
			order[m++] = &dups[nd++];
		}
	}
	for (unsigned i = m - 1; i > 0; i--) {      /* Fisher-Yates */
		unsigned j = rnd() % (i + 1);
		struct ref_frag *x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	stage(f, order, m, NAT_FRAG_OUT, now, &r);
	if (r.first != NAT_OK || r.n_sent != m || nat_frag_held(f->frag))
		fail_msg("iteration %u: verdict %d, %u of %u sent", iter, r.first,
			 r.n_sent, m);
	glen = reassemble(r.sent, r.n_sent, f->got);
	memcpy(f->want, f->whole, len);
	ref_rewrite(f->want, len, true, EXT, get16(port_at(f->got, true)));
	if (glen != len || memcmp(f->got, f->want, len) != 0)
		fail_msg("iteration %u: %u bytes in %u fragments of %u: differs",
			 iter, len, n, step);
}

static void test_random(void **state)
{
	struct fixture *f = *state;
	uint64_t now = fresh_time(f);

	for (unsigned i = 0; i < 3000; i++)
		one_random(f, i, now + i * NSEC_PER_MSEC);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_kind),
	cmocka_unit_test(test_rewrite_checksum),
	cmocka_unit_test(test_in_order),
	cmocka_unit_test(test_inbound),
	cmocka_unit_test(test_out_of_order),
	cmocka_unit_test(test_duplicates),
	cmocka_unit_test(test_interleaved),
	cmocka_unit_test(test_untranslated_first),
	cmocka_unit_test(test_timeouts),
	cmocka_unit_test(test_table_full),
	cmocka_unit_test(test_table_stream),
	cmocka_unit_test(test_hold_limits),
	cmocka_unit_test(test_random),
};

int main(void)
{
	return cmocka_run_group_tests(tests, setup, teardown);
}
