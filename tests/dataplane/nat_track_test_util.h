/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets for the connection-tracking tests (test_nat_track.c, the tables;
 * test_nat_track_threads.c, the model and the threads): IPv4 and IPv6
 * TCP, UDP, ICMP echo and ICMP errors, fragments and IPv6 extension
 * headers, built from address strings, with no checksums (the tracker
 * reads none).  "T" hosts are on the allowed side (they open), "P" hosts
 * on the denied side (they may only answer).  Header-only, like
 * nat_test_util.h, whose fixture it uses.
 */
#ifndef PORTCULLIS_TESTS_NAT_TRACK_TEST_UTIL_H
#define PORTCULLIS_TESTS_NAT_TRACK_TEST_UTIL_H

#include "nat_test_util.h"

/* --- Packets -------------------------------------------------------------- */

enum { PK_MAX = 512, V4 = 0, V6 = 1 };

struct pk {
	uint8_t b[PK_MAX];
	uint32_t len;
};

enum host { T1, T2, P1, P2, R1 };      /* R1: a router on the P side */

static const char *const hosts[2][5] = {
	[V4] = { "10.200.0.2", "10.200.0.3", "10.0.0.2", "10.0.0.3",
		 "10.0.0.254" },
	[V6] = { "fd00:200::2", "fd00:200::3", "fd00:10::2", "fd00:10::3",
		 "fd00:10::fe" },
};

static inline bool is_v6(const char *a)
{
	return strchr(a, ':') != NULL;
}

static inline void addr_bytes(const char *s, uint8_t *out)
{
	if (inet_pton(is_v6(s) ? AF_INET6 : AF_INET, s, out) != 1)
		fail_msg("bad address %s", s);
}

/* src to dst carrying l4; ICMP is ICMPv6 over IPv6.  No checksums: the
 * tracker reads none. */
static inline void build(struct pk *p, const char *src, const char *dst,
			 uint8_t proto, const uint8_t *l4, uint32_t l4_len)
{
	memset(p, 0, sizeof(*p));
	if (!is_v6(src)) {
		struct ipv4_hdr *h = (void *)p->b;

		h->version_ihl = 0x45;
		h->total_length = htons((uint16_t)(20 + l4_len));
		h->ttl = 64;
		h->protocol = proto;
		addr_bytes(src, h->src);
		addr_bytes(dst, h->dst);
		p->len = 20;
	} else {
		struct ipv6_hdr *h = (void *)p->b;

		h->vtc_flow = htonl(6u << 28);
		h->payload_len = htons((uint16_t)l4_len);
		h->next_header = proto == ICMP ? IPPROTO_ICMPV6_ : proto;
		h->hop_limit = 64;
		addr_bytes(src, h->src);
		addr_bytes(dst, h->dst);
		p->len = 40;
	}
	assert_true(p->len + l4_len <= PK_MAX);
	memcpy(p->b + p->len, l4, l4_len);
	p->len += l4_len;
}

static inline void tcp(struct pk *p, const char *src, uint16_t sport,
		       const char *dst, uint16_t dport, uint8_t flags)
{
	struct tcp_hdr t = { .src_port = htons(sport), .dst_port = htons(dport),
			     .data_off = 5 << 4, .flags = flags,
			     .window = htons(1024) };

	build(p, src, dst, TCP, (const uint8_t *)&t, sizeof(t));
}

static inline void udp(struct pk *p, const char *src, uint16_t sport,
		       const char *dst, uint16_t dport)
{
	uint8_t l4[12] = { 0 };
	struct udp_hdr *u = (void *)l4;

	u->src_port = htons(sport);
	u->dst_port = htons(dport);
	u->length = htons(sizeof(l4));
	build(p, src, dst, UDP, l4, sizeof(l4));
}

static inline void echo(struct pk *p, const char *src, const char *dst,
			bool request, uint16_t id)
{
	uint8_t l4[16] = { 0 };

	if (is_v6(src))
		l4[0] = request ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
	else
		l4[0] = request ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
	l4[4] = (uint8_t)(id >> 8);
	l4[5] = (uint8_t)id;
	l4[7] = 1;                              /* sequence */
	build(p, src, dst, ICMP, l4, sizeof(l4));
}

/* An ICMP error quoting the first qlen bytes of q. */
static inline void icmp_err(struct pk *p, const char *src, const char *dst,
			    uint8_t type, uint8_t code, const struct pk *q,
			    uint32_t qlen)
{
	uint8_t l4[PK_MAX] = { type, code };

	assert_true(qlen <= q->len && qlen + 8 <= sizeof(l4));
	memcpy(l4 + 8, q->b, qlen);
	build(p, src, dst, ICMP, l4, 8 + qlen);
}

/* Make p an IPv4 fragment (offset in 8-byte units). */
static inline void frag4(struct pk *p, uint16_t offset, bool more)
{
	((struct ipv4_hdr *)p->b)->frag_off =
		htons((uint16_t)(offset | (more ? IPV4_MF : 0)));
}

/* Put an 8-byte extension header right after p's IPv6 header: options
 * (a PadN) or a fragment header with the given offset and M bit. */
static inline void ext6(struct pk *p, uint8_t type, uint16_t offset,
			bool more)
{
	struct ipv6_hdr *h = (void *)p->b;
	uint8_t e[8] = { h->next_header, 0, 1, 4 };

	if (type == IPV6_EXT_FRAGMENT) {
		uint16_t fo = htons((uint16_t)(offset << 3 | more));

		memcpy(e + 2, &fo, 2);
		e[7] = 42;                      /* identification */
	}
	assert_true(p->len + 8 <= PK_MAX);
	memmove(p->b + 48, p->b + 40, p->len - 40);
	memcpy(p->b + 40, e, 8);
	h->next_header = type;
	h->payload_len = htons((uint16_t)(ntohs(h->payload_len) + 8));
	p->len += 8;
}

/* --- Calls ---------------------------------------------------------------- */

enum way { OPEN, REPLY, END = 0xff };

static inline enum nat_result op(struct fx *f, int way, const struct pk *p,
				 uint64_t now)
{
	return way == OPEN
		? nat_track_open(f->nat, &f->lc, &f->conf, p->b, p->len, now)
		: nat_track_reply(f->nat, &f->lc, &f->conf, p->b, p->len, now);
}

static inline uint64_t tracked(const struct fx *f)
{
	const uint64_t *c = f->lc.stats.tracked_created;

	return c[NAT_PROTO_TCP] + c[NAT_PROTO_UDP] + c[NAT_PROTO_ICMP];
}

#define NO NAT_NO_SESSION

#endif
