/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/nat_packet.c against a naive reference:
 * every translated packet must equal, byte for byte, the original with
 * the expected endpoint written in and every checksum recomputed from
 * scratch (incremental updates per RFC 1624 give exactly the full
 * computation's value whenever the data is not all zeros).  Then ICMP
 * errors in both directions with short and full quotes, a numbered table
 * of verdicts, every truncation length, a bit-flip tamper loop and
 * hairpinning.  The reference is packet_ref.h; MSS clamping has its own
 * test_mss.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mss.h"
#include "nat_internal.h"
#include "packet_ref.h"
#include "portcullis/wire.h"

#define NOW (1000 * NSEC_PER_SEC)
#define N(a) (sizeof(a) / sizeof((a)[0]))

enum {
	BUF = 2048,
	CAPACITY = 1 << 16,
	GRE = 47,
	FULL = 0xffff,                  /* quote the whole packet */
};

/* All addresses and ports in the tests are host order. */
static const uint32_t EXT = IP4(203, 0, 113, 1), EXT2 = IP4(203, 0, 113, 10),
		      REMOTE = IP4(198, 51, 100, 7), ROUTER = IP4(192, 0, 2, 1),
		      HOST = IP4(10, 0, 0, 1), FWD_TCP = IP4(10, 0, 0, 5),
		      FWD_UDP = IP4(10, 0, 0, 6), INSIDE_ROUTER = IP4(10, 0, 0, 254);

/* An ICMP error from src to dst quoting qlen bytes of quote. */
static uint32_t build_error(uint8_t *ip, uint8_t type, uint8_t code,
			    uint32_t rest, uint32_t src, uint32_t dst,
			    const uint8_t *quote, uint32_t qlen)
{
	struct spec s = { ICMP, src, dst, 0, 0, type, (uint16_t)qlen };
	uint32_t len = build(ip, &s);

	ip[21] = code;
	put32(ip + 24, rest);
	memcpy(ip + 28, quote, qlen);
	ref_checksums(ip, len);
	return len;
}

/* --- Fixture -------------------------------------------------------------- */

struct fixture {
	struct nat *nat;
	struct nat_lcore lc;
	struct nat_config conf;
	struct nat_forward fwd[2];
	uint8_t pkt[BUF], want[BUF], orig[BUF], err[BUF];
};

/* Masquerade 10.0.0.0/8 behind 203.0.113.1; forwards tcp 2222 ->
 * 10.0.0.5:22 and udp 203.0.113.10:5353 -> 10.0.0.6:53. */
static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.fwd[0] = (struct nat_forward){ .proto = TCP, .external_port = 2222,
					 .internal_port = 22, .line = 1 };
	v4(&f.fwd[0].internal, FWD_TCP);
	f.fwd[1] = (struct nat_forward){ .proto = UDP, .external_port = 5353,
					 .internal_port = 53, .line = 2 };
	v4(&f.fwd[1].external, EXT2);
	v4(&f.fwd[1].internal, FWD_UDP);
	ref_nat_config(&f.conf, EXT, f.fwd, N(f.fwd), CAPACITY);
	f.nat = nat_create(CAPACITY);
	assert_non_null(f.nat);
	nat_lcore_init(&f.lc);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nat_lcore_release(f->nat, &f->lc);
	nat_destroy(f->nat);
	return 0;
}

/* --- Round trips against the reference ------------------------------------ */

/* Send s out and check it against the reference; answer it from the
 * remote and check that.  Returns the external port (or identifier). */
static uint16_t round_trip(struct fixture *f, const struct spec *s, int row)
{
	uint32_t len = build(f->pkt, s), ext;
	struct spec reply = *s;
	enum nat_result r;
	uint16_t port;

	memcpy(f->want, f->pkt, len);
	if ((r = nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW)) != NAT_OK)
		fail_msg("row %d: nat_out gave %d", row, r);
	ext = get32(f->pkt + 12);
	port = get16(port_at(f->pkt, true));
	if (!nat_is_external(&f->conf, f->pkt + 12))
		fail_msg("row %d: source %08x is not external", row, ext);
	ref_rewrite(f->want, len, true, ext, port);
	if (memcmp(f->pkt, f->want, len) != 0)
		fail_msg("row %d: outbound differs from the reference", row);

	reply.src = s->dst;
	reply.dst = ext;
	reply.sport = s->proto == ICMP ? port : s->dport;
	reply.dport = port;
	reply.flags = s->proto == ICMP ? ICMP_ECHO_REPLY : SYN | ACK;
	len = build(f->pkt, &reply);
	memcpy(f->want, f->pkt, len);
	if ((r = nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW)) != NAT_OK)
		fail_msg("row %d: nat_in gave %d", row, r);
	ref_rewrite(f->want, len, false, s->src, s->sport);
	if (memcmp(f->pkt, f->want, len) != 0)
		fail_msg("row %d: inbound differs from the reference", row);
	return port;
}

static const struct spec round_trips[] = {
	/*  1 */ { TCP, HOST, REMOTE, 40000, 443, SYN, 0 },
	/*  2 */ { TCP, HOST, REMOTE, 40001, 443, SYN, 1 },       /* odd length */
	/*  3 */ { TCP, HOST, REMOTE, 40002, 443, SYN, 1400, 10 }, /* options */
	/*  4 */ { UDP, HOST, REMOTE, 5000, 53, 0, 0 },
	/*  5 */ { UDP, HOST, REMOTE, 5001, 53, 0, 33, 1 },
	/*  6 */ { UDP, HOST, REMOTE, 5002, 53, 0, 100, 0, 0, true }, /* no csum */
	/*  7 */ { ICMP, HOST, REMOTE, 777, 0, ICMP_ECHO_REQUEST, 56 },
	/*  8 */ { ICMP, HOST, REMOTE, 0, 0, ICMP_ECHO_REQUEST, 0 }, /* id 0 */
	/*  9 */ { ICMP, HOST, REMOTE, 65535, 0, ICMP_ECHO_REQUEST, 3, 2 },
	/* 10 */ { TCP, IP4(10, 255, 255, 255), REMOTE, 65535, 1, SYN, 9 },
	/* 11 */ { UDP, IP4(10, 0, 0, 0), IP4(0, 0, 0, 1), 1, 65535, 0, 7 },
	/* 12 */ { TCP, FWD_TCP, REMOTE, 22, 50000, SYN | ACK, 0 }, /* forward */
	/* 13 */ { UDP, FWD_UDP, REMOTE, 53, 50000, 0, 12 },       /* own ext */
	/* 14 */ { UDP, HOST, REMOTE, 5000, 54, 0, 0 },           /* EIM reuse */
};

static void test_round_trip_table(void **state)
{
	struct fixture *f = *state;
	uint16_t first = 0, port;

	for (size_t i = 0; i < N(round_trips); i++) {
		port = round_trip(f, &round_trips[i], (int)i + 1);
		if (i == 3)
			first = port;
		if (i == 11 && port != 2222)
			fail_msg("row 12: forward's port %u", port);
		if (i == 12 && (port != 5353 || get32(f->pkt + 16) != FWD_UDP))
			fail_msg("row 13: forward's port %u", port);
		if (i == 13 && port != first)           /* RFC 4787 REQ-1 */
			fail_msg("row 14: mapping not reused: %u != %u", port, first);
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

/* Thousands of random flows: addresses in the masquerade prefix, any
 * ports, payloads, IPv4 options, UDP with and without checksum. */
static void test_round_trip_random(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 5000; i++) {
		static const uint8_t protos[] = { TCP, UDP, UDP, ICMP };
		struct spec s = {
			.proto = protos[rnd() % 4],
			.src = IP4(10, 0, 0, 0) | (rnd() & 0xffffff),
			.dst = rnd() | 1, .sport = (uint16_t)rnd(),
			.dport = (uint16_t)rnd(), .payload = rnd() % 600,
			.opt_words = rnd() % 11, .no_csum = rnd() % 4 == 0,
		};

		s.flags = s.proto == TCP ? SYN : ICMP_ECHO_REQUEST;
		round_trip(f, &s, 1000 + i);
	}
}

/* Choose the last two payload bytes of the UDP datagram in f->pkt so
 * that, once its `src` endpoint is (addr, port), its data sums to 0xffff:
 * the checksum is then 0, which RFC 768 sends as 0xffff. */
static void udp_aim_zero(struct fixture *f, uint32_t len, bool src,
			 uint32_t addr, uint16_t port)
{
	uint8_t *l4 = f->want + 20;
	uint16_t s;

	memcpy(f->want, f->pkt, len);
	put16(f->want + len - 2, 0);
	put16(port_at(f->want, src), port);
	put32(f->want + (src ? 12 : 16), addr);
	put16(l4 + 6, 0);
	s = ref_sum(l4, len - 20, ref_pseudo(f->want, UDP, len - 20));
	put16(f->pkt + len - 2, (uint16_t)(0xffff - s));
	ref_checksums(f->pkt, len);
}

/* The two cases where a checksum of 0 is not what the wire wants: UDP
 * (RFC 768) and data of all zeros (its checksum is 0xffff). */
static void test_checksum_zero(void **state)
{
	struct fixture *f = *state;
	struct spec s = { UDP, HOST, REMOTE, 7000, 53, 0, 10 };
	struct spec reply = { UDP, REMOTE, EXT, 53, 0, 0, 10 };
	struct spec ping = { ICMP, HOST, REMOTE, 0, 0, ICMP_ECHO_REQUEST }; /* id 0 */
	struct spec pong = { ICMP, REMOTE, EXT, 0, 0, ICMP_ECHO_REPLY };
	uint32_t len = build(f->pkt, &s);

	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	reply.dport = get16(f->pkt + 20);
	len = build(f->pkt, &s);
	udp_aim_zero(f, len, true, EXT, reply.dport);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	assert_int_equal(get16(f->pkt + 26), 0xffff);
	assert_true(ref_valid(f->pkt, len));

	len = build(f->pkt, &reply);
	udp_aim_zero(f, len, false, HOST, 7000);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	assert_int_equal(get16(f->pkt + 26), 0xffff);
	assert_true(ref_valid(f->pkt, len));

	/* Echo replies to identifier 0, sequence 0, payload none or zeros. */
	len = build(f->pkt, &ping);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	pong.sport = get16(f->pkt + 24);
	for (pong.payload = 0; pong.payload <= 32; pong.payload += 32) {
		len = build(f->pkt, &pong);
		memset(f->pkt + 26, 0, len - 26);
		ref_checksums(f->pkt, len);
		assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW),
				 NAT_OK);
		assert_int_equal(get16(f->pkt + 22), 0xffff);
		assert_true(ref_valid(f->pkt, len));
	}
	/* The same as a first fragment: the rest of the message is unseen.
	 * 0xffff is right if it is zeros too, and verifies if it is not. */
	pong.frag = IPV4_MF;
	len = build(f->pkt, &pong);
	memset(f->pkt + 26, 0, len - 26);
	ref_checksums(f->pkt, len);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	assert_int_equal(get16(f->pkt + 22), 0xffff);
}

/* --- ICMP errors (RFC 5508) ----------------------------------------------- */

struct err_case {
	uint8_t proto;
	uint8_t type, code;
	uint32_t rest;              /* MTU, pointer, or unused */
	uint16_t quote_l4;          /* quoted transport bytes, or FULL */
	uint8_t opt_words;          /* IPv4 options in the quoted packet */
	bool no_csum;
	uint16_t frag;              /* the quoted packet's frag_off */
};

static const struct err_case err_cases[] = {
	/*  1 */ { UDP, ICMP_TIME_EXCEEDED, 0, 0, 8 },
	/*  2 */ { UDP, ICMP_TIME_EXCEEDED, 0, 0, FULL },
	/*  3 */ { UDP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0, 8 },
	/*  4 */ { UDP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0, FULL },
	/*  5 */ { UDP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0, FULL, 0, true },
	/*  6 */ { TCP, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, 1400, 8 },
	/*  7 */ { TCP, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, 1280, FULL },
	/*  8 */ { TCP, ICMP_TIME_EXCEEDED, 0, 0, 8, 3 },
	/*  9 */ { TCP, ICMP_TIME_EXCEEDED, 0, 0, FULL, 3 },
	/* 10 */ { TCP, ICMP_TIME_EXCEEDED, 0, 0, 17 },  /* cut inside the csum */
	/* 11 */ { TCP, ICMP_TIME_EXCEEDED, 0, 0, 18 },  /* csum is the last word */
	/* 12 */ { TCP, ICMP_PARAMETER_PROBLEM, 0, 0x0c000000, FULL },
	/* 13 */ { ICMP, ICMP_TIME_EXCEEDED, 0, 0, 8 },
	/* 14 */ { ICMP, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH_CODE, 0, FULL, 1 },
	/* 15 */ { UDP, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, 576, 9 }, /* odd */
	/* A first fragment (MF, offset 0) has the transport header: its
	 * error is translated like any other. */
	/* 16 */ { UDP, ICMP_TIME_EXCEEDED, 0, 0, 8, 0, false, IPV4_MF },
	/* 17 */ { TCP, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, 1400, FULL, 1,
		   false, IPV4_MF },
	/* 18 */ { ICMP, ICMP_TIME_EXCEEDED, 0, 0, FULL, 0, false, IPV4_MF },
};

/* The error f->err (elen bytes) was translated: it must equal the error
 * the sender would have sent had there been no NAT, quoting the pre-NAT
 * packet f->orig, from src to dst.  A quote cut inside the transport
 * checksum keeps the half it has: nobody can fix half a checksum. */
static void error_check(struct fixture *f, const struct err_case *c,
			uint32_t elen, uint32_t src, uint32_t dst, int row)
{
	uint32_t qlen = elen - 28;
	unsigned qh = ihl(f->orig);
	uint8_t quote[BUF];

	memcpy(quote, f->orig, qlen);
	if (c->proto == TCP && qlen == qh + 17)
		quote[qh + 16] = f->err[28 + qh + 16];
	build_error(f->want, c->type, c->code, c->rest, src, dst, quote, qlen);
	if (memcmp(f->err, f->want, elen) != 0)
		fail_msg("row %d: translated error differs from the reference", row);
	if (!ref_valid(f->err, elen) || ref_sum(f->err + 28, qh, 0) != 0xffff)
		fail_msg("row %d: bad checksum", row);
	if (c->quote_l4 == FULL && !ref_valid(f->err + 28, qlen))
		fail_msg("row %d: bad quoted transport checksum", row);
}

static uint32_t quote_len(const struct err_case *c, uint32_t len, const uint8_t *ip)
{
	return c->quote_l4 == FULL ? len : ihl(ip) + c->quote_l4;
}

/* A router outside reports on a packet we sent out (RFC 5508 REQ-3). */
static void error_inbound(struct fixture *f, const struct err_case *c, int row)
{
	struct spec s = { c->proto, HOST, REMOTE, (uint16_t)(30000 + row), 33434,
			  c->proto == TCP ? SYN : ICMP_ECHO_REQUEST, 40,
			  c->opt_words, c->frag, c->no_csum };
	uint32_t len = build(f->orig, &s), elen, active;
	enum nat_result r;

	memcpy(f->pkt, f->orig, len);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	elen = build_error(f->err, c->type, c->code, c->rest, ROUTER, EXT,
			   f->pkt, quote_len(c, len, f->pkt));
	active = nat_active_sessions(f->nat);
	if ((r = nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW)) != NAT_OK)
		fail_msg("row %d: nat_in gave %d", row, r);
	error_check(f, c, elen, ROUTER, HOST, row);
	/* RFC 4787 REQ-12: the error neither ends nor creates a session. */
	assert_int_equal(nat_active_sessions(f->nat), active);
	round_trip(f, &s, row);
}

/* An inside router reports on a packet we let in: a forwarded TCP or UDP
 * packet, or the echo reply to an inside host's ping. */
static void error_outbound(struct fixture *f, const struct err_case *c, int row)
{
	struct spec s = { c->proto, REMOTE, EXT, (uint16_t)(40000 + row), 2222,
			  SYN, 40, c->opt_words, c->frag, c->no_csum };
	uint32_t len, elen, ext = EXT;
	enum nat_result r;

	if (c->proto == UDP) {
		s.dst = ext = EXT2;
		s.dport = 5353;
	} else if (c->proto == ICMP) {
		struct spec ping = { ICMP, HOST, REMOTE, (uint16_t)row, 0,
				     ICMP_ECHO_REQUEST, 8 };

		len = build(f->pkt, &ping);
		assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len,
					 NOW), NAT_OK);
		s.flags = ICMP_ECHO_REPLY;
		s.sport = get16(port_at(f->pkt, true));
	}
	len = build(f->orig, &s);
	memcpy(f->pkt, f->orig, len);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	elen = build_error(f->err, c->type, c->code, c->rest, INSIDE_ROUTER,
			   REMOTE, f->pkt, quote_len(c, len, f->pkt));
	if ((r = nat_out(f->nat, &f->lc, &f->conf, f->err, elen, NOW)) != NAT_OK)
		fail_msg("row %d: nat_out gave %d", row, r);
	error_check(f, c, elen, ext, REMOTE, row);
}

static void test_icmp_errors(void **state)
{
	struct fixture *f = *state;
	uint64_t before = f->lc.stats.icmp_errors_translated;

	for (size_t i = 0; i < N(err_cases); i++) {
		error_inbound(f, &err_cases[i], (int)i + 1);
		error_outbound(f, &err_cases[i], 100 + (int)i + 1);
	}
	assert_int_equal(f->lc.stats.icmp_errors_translated - before,
			 2 * N(err_cases));
}

/* Errors that must not be translated, and stay untouched. */
static void test_icmp_errors_refused(void **state)
{
	struct fixture *f = *state;
	struct spec s = { UDP, EXT, REMOTE, 9999, 53, 0, 8 };
	struct spec ping = { ICMP, EXT, REMOTE, 9999, 0, ICMP_ECHO_REPLY, 8 };
	uint32_t len = build(f->orig, &s), elen;

	/* 1: no session behind the quoted flow, in and out. */
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, len);
	memcpy(f->want, f->err, elen);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
			 NAT_ICMP_NO_SESSION);
	assert_memory_equal(f->err, f->want, elen);
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, HOST, REMOTE, f->orig, len);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
			 NAT_ICMP_NO_SESSION);
	/* 2: the quote is shorter than a header plus 8 bytes. */
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, 27);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
			 NAT_MALFORMED);
	/* 3: quoting an echo reply coming in: we never send those out. */
	len = build(f->orig, &ping);
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, len);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
			 NAT_UNSUPPORTED);
	/* 4: quoting a later fragment: no ports to find a session by (a
	 * quoted first fragment is translated: err_cases 16-18). */
	s.frag = IPV4_MF | 1;
	len = build(f->orig, &s);
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, len);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
			 NAT_FRAGMENT);
	/* 5, 6: RFC 5508 REQ-3: a bad ICMP checksum, or a bad checksum of
	 * the quoted IP header, is dropped untouched, even with a session. */
	s = (struct spec){ UDP, HOST, REMOTE, 7777, 53, 0, 8 };
	len = build(f->orig, &s);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->orig, len, NOW), NAT_OK);
	for (int bad = 0; bad < 2; bad++) {
		elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, len);
		f->err[bad ? 28 + 10 : 20 + 2] ^= 0x40;   /* quoted IP / ICMP checksum */
		memcpy(f->want, f->err, elen);
		assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW),
				 NAT_MALFORMED);
		assert_memory_equal(f->err, f->want, elen);
	}
	/* ...and the intact one is translated. */
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->orig, len);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->err, elen, NOW), NAT_OK);
}

/* --- Verdicts --------------------------------------------------------------- */

/* The external port the last translated outbound packet got. */
enum { LAST = 0 };

struct verdict {
	bool in;                    /* nat_in, else nat_out */
	struct spec s;              /* an inbound dport LAST: see above */
	enum nat_result want;
	uint32_t want_addr;         /* translated endpoint, when nonzero */
	uint16_t want_port;
	int poke_at;                /* when nonzero: byte poke_at - 1 := poke */
	uint8_t poke;
};

static const struct verdict verdicts[] = {
	/*  1 */ { false, { TCP, HOST, REMOTE, 1000, 80, SYN }, NAT_OK },
	/*  2 */ { true, { TCP, REMOTE, EXT, 80, LAST, SYN | ACK }, NAT_OK, HOST, 1000 },
	/*  3 */ { true, { TCP, REMOTE, EXT, 81, LAST, SYN }, NAT_NO_SESSION }, /* REQ-8 */
	/*  4 */ { true, { TCP, IP4(198, 51, 100, 8), EXT, 80, LAST, SYN }, NAT_NO_SESSION },
	/*  5 */ { false, { TCP, IP4(192, 168, 1, 1), REMOTE, 1, 80, SYN }, NAT_NOT_MASQUERADED },
	/*  6 */ { false, { TCP, HOST, REMOTE, 1001, 80, RST }, NAT_NO_SESSION },
	/*  7 */ { false, { GRE, HOST, REMOTE }, NAT_UNSUPPORTED },
	/*  8 */ { true, { GRE, REMOTE, EXT }, NAT_UNSUPPORTED },
	/*  9 */ { false, { ICMP, HOST, REMOTE, 5, 0, ICMP_ECHO_REPLY }, NAT_UNSUPPORTED },
	/* 10 */ { false, { ICMP, HOST, REMOTE, 5, 0, 13 }, NAT_UNSUPPORTED }, /* timestamp */
	/* 11 */ { true, { ICMP, REMOTE, EXT, 5, 0, ICMP_ECHO_REQUEST, 56 }, NAT_LOCAL },
	/* 12 */ { true, { ICMP, REMOTE, EXT, 5, 0, ICMP_ECHO_REPLY }, NAT_NO_SESSION },
	/* 13 */ { true, { UDP, REMOTE, EXT, 53, 4444 }, NAT_NO_SESSION },
	/* 14 */ { true, { TCP, REMOTE, EXT, 5555, 2222, SYN }, NAT_OK, FWD_TCP, 22 },
	/* 15 */ { true, { UDP, REMOTE, EXT2, 5555, 5353 }, NAT_OK, FWD_UDP, 53 },
	/* 16 */ { true, { UDP, REMOTE, EXT, 5555, 5353 }, NAT_NO_SESSION }, /* not on .1 */
	/* First fragments are translated like whole packets (the transport
	 * checksum covers the datagram; RFC 1624 updates it all the same),
	 * later ones have no transport header (nat_frag.c's business). */
	/* 17 */ { true, { TCP, REMOTE, EXT, 5555, 2222, SYN, 0, 0, IPV4_MF }, NAT_OK, FWD_TCP, 22 },
	/* 18 */ { true, { TCP, REMOTE, EXT, 5555, 2222, SYN, 0, 0, 1 }, NAT_FRAGMENT },
	/* 19 */ { false, { UDP, HOST, REMOTE, 1, 2, 0, 0, 0, IPV4_MF | 8 }, NAT_FRAGMENT },
	/* 20 */ { false, { ICMP, HOST, REMOTE, 1, 0, 8, 0, 0, IPV4_MF }, NAT_OK },
	/* 21 */ { false, { UDP, HOST, REMOTE, 1, 2, 0, 0, 0, IPV4_DF }, NAT_OK },
	/* 22 */ { false, { TCP, HOST, REMOTE, 1, 2, SYN }, NAT_MALFORMED, 0, 0, 33, 0x40 },
	/* 23 */ { false, { TCP, HOST, REMOTE, 1, 2, SYN }, NAT_MALFORMED, 0, 0, 33, 0x60 },
	/* 24 */ { false, { UDP, HOST, REMOTE, 1, 2 }, NAT_MALFORMED, 0, 0, 1, 0x44 },
	/* 25 */ { true, { UDP, REMOTE, EXT, 1, 2 }, NAT_MALFORMED, 0, 0, 1, 0x65 },
	/* 26 */ { false, { UDP, HOST, REMOTE, 1, 2 }, NAT_MALFORMED, 0, 0, 1, 0x47 },
	/* 27 */ { false, { UDP, HOST, REMOTE, 3, 4, 0, 1200, 0, IPV4_MF }, NAT_OK },
	/* 28 */ { true, { UDP, REMOTE, EXT2, 5555, 5353, 0, 1200, 0, IPV4_MF }, NAT_OK, FWD_UDP, 53 },
	/* 29 */ { true, { UDP, REMOTE, EXT2, 5555, 5353, 0, 0, 0, IPV4_MF | 0x1fff }, NAT_FRAGMENT },
	/* RFC 1858 tiny fragment: a first fragment without its whole TCP
	 * header (data offset 15: 60 bytes, 20 here) gives no ports to trust. */
	/* 30 */ { true, { TCP, REMOTE, EXT, 5555, 2222, SYN, 0, 0, IPV4_MF }, NAT_MALFORMED, 0, 0, 33, 0xf0 },
};

static void test_verdicts(void **state)
{
	struct fixture *f = *state;
	uint64_t want[NAT_RESULT_COUNT] = { 0 };
	uint16_t last = 0;

	for (size_t i = 0; i < N(verdicts); i++) {
		const struct verdict *v = &verdicts[i];
		struct spec s = v->s;
		enum nat_result r;
		uint32_t len;

		if (v->in && s.dport == LAST && s.proto != ICMP)
			s.dport = last;
		len = build(f->pkt, &s);
		if (v->poke_at)
			f->pkt[v->poke_at - 1] = v->poke;
		memcpy(f->want, f->pkt, len);
		r = v->in ? nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW)
			  : nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW);
		if (r != v->want)
			fail_msg("row %zu: got %d want %d", i + 1, r, v->want);
		if (r != NAT_OK && memcmp(f->pkt, f->want, len) != 0)
			fail_msg("row %zu: refused packet was changed", i + 1);
		if (v->want_addr && (get32(f->pkt + 16) != v->want_addr ||
				     get16(port_at(f->pkt, false)) != v->want_port))
			fail_msg("row %zu: wrong destination", i + 1);
		if (r == NAT_OK && !ref_valid(f->pkt, len))
			fail_msg("row %zu: bad checksum", i + 1);
		if (r == NAT_OK && !v->in)
			last = get16(port_at(f->pkt, true));
		want[v->want]++;
	}
	assert_memory_equal(f->lc.stats.results, want, sizeof(want));
}

/* --- Truncation and tampering ------------------------------------------- */

/* Each packet cut at every length into a buffer of exactly that size
 * (ASan catches a read past it): headers cut short are MALFORMED, and
 * with the headers whole the packet translates as len says. */
static void cut_all(struct fixture *f, const uint8_t *p, uint32_t full,
		    uint32_t need, bool in)
{
	for (uint32_t len = 0; len <= full; len++) {
		uint8_t *b = malloc(len ? len : 1);
		enum nat_result r;

		assert_non_null(b);
		memcpy(b, p, len);
		nat_hairpin_target(f->nat, &f->conf, b, len, NOW);
		r = in ? nat_in(f->nat, &f->lc, &f->conf, b, len, NOW)
		       : nat_out(f->nat, &f->lc, &f->conf, b, len, NOW);
		if (r != (len < need ? NAT_MALFORMED : NAT_OK))
			fail_msg("length %u of %u: got %d", len, full, r);
		memcpy(b, p, len);
		tcp_mss_clamp(b, len, 4, 536);
		tcp_mss_clamp(b, len, 6, 536);
		free(b);
	}
}

static void test_truncation(void **state)
{
	struct fixture *f = *state;
	static const struct spec outs[] = {
		{ TCP, HOST, REMOTE, 1000, 80, SYN, 30, 2 },
		{ UDP, HOST, REMOTE, 1000, 53, 0, 9 },
		{ ICMP, HOST, REMOTE, 1000, 0, ICMP_ECHO_REQUEST, 9, 1 },
	};
	uint32_t len, elen;

	for (size_t i = 0; i < N(outs); i++) {
		len = build(f->orig, &outs[i]);
		cut_all(f, f->orig, len, ihl(f->orig) + (outs[i].proto == TCP ? 20 : 8),
			false);
	}
	/* An error quoting the last packet (in f->orig, sent out above). */
	memcpy(f->pkt, f->orig, len);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	elen = build_error(f->err, ICMP_TIME_EXCEEDED, 0, 0, ROUTER, EXT, f->pkt, len);
	/* Its ICMP checksum covers the whole message, so any cut of it is
	 * refused (RFC 5508 REQ-3), even with every header whole. */
	cut_all(f, f->err, elen, elen, true);
}

/* Flip every bit of the headers: whatever the verdict, nothing is read
 * out of bounds, and a translated packet's checksums are exactly as valid
 * as they were (RFC 1624 carries an error through, never repairs it). */
static void tamper(struct fixture *f, const uint8_t *p, uint32_t len,
		   uint32_t span, bool in)
{
	for (uint32_t i = 0; i < span; i++) {
		for (int bit = 0; bit < 8; bit++) {
			enum nat_result r;
			bool valid;

			memcpy(f->pkt, p, len);
			f->pkt[i] ^= (uint8_t)(1 << bit);
			if (ihl(f->pkt) < 20 || ihl(f->pkt) + 8 > len)
				continue;           /* ref_valid would overrun */
			valid = ref_valid(f->pkt, len);
			r = in ? nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW)
			       : nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW);
			assert_in_range(r, 0, NAT_RESULT_COUNT - 1);
			if (r == NAT_OK && ref_valid(f->pkt, len) != valid)
				fail_msg("byte %u bit %d: validity changed", i, bit);
		}
	}
}

static void test_tamper(void **state)
{
	struct fixture *f = *state;
	struct spec s = { TCP, HOST, REMOTE, 1000, 80, SYN, 16, 1 };
	uint32_t len = build(f->orig, &s), elen;

	tamper(f, f->orig, len, len, false);
	s.proto = UDP;
	len = build(f->orig, &s);
	tamper(f, f->orig, len, len, false);
	memcpy(f->pkt, f->orig, len);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	elen = build_error(f->err, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH_CODE, 0,
			   REMOTE, EXT, f->pkt, len);
	tamper(f, f->err, elen, elen, true);
}

/* --- Hairpinning --------------------------------------------------------- */

static void test_hairpin(void **state)
{
	struct fixture *f = *state;
	struct spec to_fwd = { TCP, IP4(10, 0, 0, 9), EXT, 4000, 2222, SYN };
	struct spec a = { UDP, HOST, REMOTE, 5000, 53 };
	struct spec ping = { ICMP, IP4(10, 0, 0, 9), EXT, 1, 0, ICMP_ECHO_REQUEST };
	struct spec b = { UDP, IP4(10, 0, 0, 2), EXT, 6000, 0 };
	uint8_t addr[4];
	uint32_t len;

	/* 1: a forward admits anyone; then out and in deliver it inside. */
	len = build(f->pkt, &to_fwd);
	assert_true(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	assert_int_equal(nat_in(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	assert_int_equal(get32(f->pkt + 12), EXT);
	assert_int_equal(get32(f->pkt + 16), FWD_TCP);
	assert_int_equal(get16(f->pkt + 22), 22);
	assert_true(ref_valid(f->pkt, len));
	/* 2: echo requests to an external address are the gateway's. */
	len = build(f->pkt, &ping);
	assert_false(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	/* 3: A's mapping, filtered per remote (REQ-8): B may not use it... */
	len = build(f->pkt, &a);
	assert_int_equal(nat_out(f->nat, &f->lc, &f->conf, f->pkt, len, NOW), NAT_OK);
	b.dport = get16(f->pkt + 20);
	len = build(f->pkt, &b);
	assert_false(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	/* 4: ...but may with endpoint-independent filtering. */
	f->conf.filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	assert_true(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	/* 5: nothing behind the port, or a later fragment (no ports); a
	 * first fragment has them. */
	b.dport ^= 1;
	len = build(f->pkt, &b);
	assert_false(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	to_fwd.frag = IPV4_MF | 1;
	len = build(f->pkt, &to_fwd);
	assert_false(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));
	to_fwd.frag = IPV4_MF;
	len = build(f->pkt, &to_fwd);
	assert_true(nat_hairpin_target(f->nat, &f->conf, f->pkt, len, NOW));

	put32(addr, EXT);
	assert_true(nat_is_external(&f->conf, addr));
	put32(addr, EXT2);
	assert_true(nat_is_external(&f->conf, addr));
	put32(addr, EXT + 1);
	assert_false(nat_is_external(&f->conf, addr));
	put32(addr, HOST);
	assert_false(nat_is_external(&f->conf, addr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_round_trip_table),
		T(test_round_trip_random),
		T(test_checksum_zero),
		T(test_icmp_errors),
		T(test_icmp_errors_refused),
		T(test_verdicts),
		T(test_truncation),
		T(test_tamper),
		T(test_hairpin),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
