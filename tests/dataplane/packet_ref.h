/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The naive reference the NAT packet tests compare against (test_nat_packet.c,
 * test_mss.c, test_nat_frag.c): checksums computed from scratch, byte by
 * byte, a builder of IPv4 TCP, UDP and ICMP packets from a spec, and an
 * RFC 791 fragmenter and receiver.  All addresses and ports in the specs
 * are host order.  Last, the NAT configuration the packet tests share.
 */
#ifndef PORTCULLIS_TESTS_PACKET_REF_H
#define PORTCULLIS_TESTS_PACKET_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nat.h"
#include "portcullis/wire.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			 (uint32_t)(c) << 8 | (uint32_t)(d))

enum {
	TCP = IPPROTO_TCP_, UDP = IPPROTO_UDP_, ICMP = IPPROTO_ICMP_,
	SYN = TCP_SYN, ACK = TCP_ACK, RST = TCP_RST,
};

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static inline unsigned ihl(const uint8_t *ip)
{
	return (ip[0] & 0x0f) * 4u;
}

/* --- The naive reference ------------------------------------------------- */

/* RFC 1071 the slow way: every byte into a 64-bit sum, then fold. */
static inline uint16_t ref_sum(const uint8_t *p, size_t n, uint64_t sum)
{
	for (size_t i = 0; i < n; i++)
		sum += i & 1 ? p[i] : (uint64_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* IPv4 or IPv6 pseudo-header (RFC 768, RFC 8200 8.1). */
static inline uint64_t ref_pseudo(const uint8_t *ip, uint8_t proto,
				  uint32_t l4_len)
{
	unsigned alen = ip[0] >> 4 == 6 ? 16 : 4, at = alen == 16 ? 8 : 12;

	return ref_sum(ip + at, 2 * alen, 0) + proto + (l4_len >> 16) +
	       (l4_len & 0xffff);
}

/* Recompute the IP and transport checksums of ip from scratch.  A UDP
 * checksum of 0 means "none" and is kept; a computed 0 is sent as 0xffff. */
static inline void ref_checksums(uint8_t *ip, uint32_t len)
{
	unsigned h = ihl(ip);
	uint8_t *l4 = ip + h;
	uint32_t n = len - h;
	uint16_t c;

	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~ref_sum(ip, h, 0));
	switch (ip[9]) {
	case TCP:
		put16(l4 + 16, 0);
		put16(l4 + 16, (uint16_t)~ref_sum(l4, n, ref_pseudo(ip, TCP, n)));
		break;
	case UDP:
		if (get16(l4 + 6) == 0)
			break;
		put16(l4 + 6, 0);
		c = (uint16_t)~ref_sum(l4, n, ref_pseudo(ip, UDP, n));
		put16(l4 + 6, c ? c : 0xffff);
		break;
	case ICMP:
		put16(l4 + 2, 0);
		put16(l4 + 2, (uint16_t)~ref_sum(l4, n, 0));
		break;
	}
}

static inline bool ref_valid(const uint8_t *ip, uint32_t len)
{
	unsigned h = ihl(ip);
	const uint8_t *l4 = ip + h;
	uint32_t n = len - h;

	if (ref_sum(ip, h, 0) != 0xffff)
		return false;
	switch (ip[9]) {
	case TCP: return ref_sum(l4, n, ref_pseudo(ip, TCP, n)) == 0xffff;
	case UDP: return get16(l4 + 6) == 0 ||
			 ref_sum(l4, n, ref_pseudo(ip, UDP, n)) == 0xffff;
	case ICMP: return ref_sum(l4, n, 0) == 0xffff;
	default: return true;
	}
}

/* The port (or echo identifier) of one side of a TCP/UDP/ICMP packet. */
static inline uint8_t *port_at(uint8_t *ip, bool src)
{
	uint8_t *l4 = ip + ihl(ip);

	return ip[9] == ICMP ? l4 + 4 : src ? l4 : l4 + 2;
}

/* What the NAT must produce: the endpoint set, checksums from scratch. */
static inline void ref_rewrite(uint8_t *ip, uint32_t len, bool src,
			       uint32_t addr, uint16_t port)
{
	put32(ip + (src ? 12 : 16), addr);
	put16(port_at(ip, src), port);
	ref_checksums(ip, len);
}

/* --- Packet builders ------------------------------------------------------ */

struct spec {
	uint8_t proto;
	uint32_t src, dst;
	uint16_t sport, dport;      /* ICMP: sport is the echo identifier */
	uint8_t flags;              /* TCP flags, or the ICMP type */
	uint16_t payload;           /* bytes after the transport header */
	uint8_t opt_words;          /* IPv4 options, 4 bytes each */
	uint16_t frag;              /* the frag_off field */
	bool no_csum;               /* UDP sent without checksum */
	uint16_t id;                /* IP identification (0: 0x1234) */
};

static inline uint32_t build(uint8_t *ip, const struct spec *s)
{
	unsigned h = 20 + 4u * s->opt_words, l4h = s->proto == TCP ? 20 : 8;
	uint32_t len = h + l4h + s->payload;
	uint8_t *l4 = ip + h;

	memset(ip, 0, len);
	ip[0] = (uint8_t)(0x40 | h / 4);
	put16(ip + 2, len);
	put16(ip + 4, s->id ? s->id : 0x1234);
	put16(ip + 6, s->frag);
	ip[8] = 64;
	ip[9] = s->proto;
	put32(ip + 12, s->src);
	put32(ip + 16, s->dst);
	memset(ip + 20, 1, h - 20);                 /* IPOPT_NOP */
	for (unsigned i = 0; i < s->payload; i++)
		l4[l4h + i] = (uint8_t)(i * 13 + s->sport);
	if (s->proto == ICMP) {
		l4[0] = s->flags;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 7);                   /* sequence */
	} else if (s->proto == TCP || s->proto == UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
	}
	if (s->proto == TCP) {
		put32(l4 + 4, 0x01020304u * s->sport);
		l4[12] = 5 << 4;
		l4[13] = s->flags;
		put16(l4 + 14, 65535);
	} else if (s->proto == UDP) {
		put16(l4 + 4, 8 + s->payload);
		put16(l4 + 6, s->no_csum ? 0 : 1);  /* nonzero: compute it */
	}
	ref_checksums(ip, len);
	return len;
}

/* --- Fragments (RFC 791 section 3.2) -------------------------------------- */

enum { REF_FRAG_BUF = 1600, REF_DGRAM_MAX = 9000 };

struct ref_frag {
	uint8_t b[REF_FRAG_BUF];
	uint32_t len;
};

static inline void ref_ip_checksum(uint8_t *ip)
{
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~ref_sum(ip, ihl(ip), 0));
}

/* Cut a datagram without options into fragments of step payload bytes (a
 * multiple of 8).  Returns how many, 0 if more than max or too big. */
static inline unsigned ref_fragment(const uint8_t *ip, uint32_t len,
				    uint32_t step, struct ref_frag *out,
				    unsigned max)
{
	uint32_t payload = len - 20;
	unsigned n = 0;

	if (ihl(ip) != 20 || step == 0 || step % 8)
		return 0;
	for (uint32_t off = 0; off < payload; off += step, n++) {
		uint32_t chunk = payload - off < step ? payload - off : step;

		if (n == max || 20 + chunk > REF_FRAG_BUF)
			return 0;
		memcpy(out[n].b, ip, 20);
		memcpy(out[n].b + 20, ip + 20 + off, chunk);
		out[n].len = 20 + chunk;
		put16(out[n].b + 2, out[n].len);
		put16(out[n].b + 6, off / 8 | (off + chunk < payload ? IPV4_MF : 0));
		ref_ip_checksum(out[n].b);
	}
	return n;
}

/* Put fragments (any order, duplicates allowed) back together as a
 * receiver would: each header checksum valid, all of one datagram (RFC
 * 791: source, destination, protocol, identification), no hole.  Returns
 * the datagram's length, 0 if they do not make one. */
static inline uint32_t ref_reassemble(struct ref_frag *const *fr, unsigned n,
				      uint8_t *out)
{
	static uint8_t seen[REF_DGRAM_MAX];
	uint32_t total = 0;

	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *ip = fr[i]->b;
		uint32_t off = (get16(ip + 6) & IPV4_OFFSET_MASK) * 8u;
		uint32_t chunk = fr[i]->len - 20;

		if (ihl(ip) != 20 || ref_sum(ip, 20, 0) != 0xffff ||
		    20 + off + chunk > REF_DGRAM_MAX)
			return 0;
		if (memcmp(ip + 12, fr[0]->b + 12, 8) != 0 ||
		    get16(ip + 4) != get16(fr[0]->b + 4) || ip[9] != fr[0]->b[9])
			return 0;
		if (off == 0)
			memcpy(out, ip, 20);
		memcpy(out + 20 + off, ip + 20, chunk);
		memset(seen + off, 1, chunk);
		if (!(get16(ip + 6) & IPV4_MF))
			total = off + chunk;
	}
	for (uint32_t i = 0; i < total; i++)
		if (!seen[i])
			return 0;
	if (total == 0)
		return 0;
	put16(out + 2, 20 + total);
	put16(out + 6, 0);
	ref_ip_checksum(out);
	return 20 + total;
}


/* --- The NAT under test --------------------------------------------------- */

static inline void v4(struct ip_addr *a, uint32_t host)
{
	memset(a, 0, sizeof(*a));
	a->family = IP_V4;
	put32(a->bytes, host);
}

/* Masquerade 10.0.0.0/8 behind ext, with the n forwards at fwd (filled in
 * by the test) and room for max_sessions. */
static inline void ref_nat_config(struct nat_config *conf, uint32_t ext,
				  struct nat_forward *fwd, unsigned n,
				  uint32_t max_sessions)
{
	nat_config_defaults(conf);
	conf->enabled = true;
	v4(&conf->masquerade[0].addr, IP4(10, 0, 0, 0));
	conf->masquerade[0].cidr = 8;
	conf->n_masquerade = 1;
	v4(&conf->external, ext);
	conf->forwards = fwd;
	conf->n_forwards = n;
	conf->max_sessions = max_sessions;
}

#endif
