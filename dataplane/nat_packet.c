/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT44 packet layer: parse an IPv4 packet into the flow the table knows
 * (struct nat_tuple), ask nat.c for the other side of the translation, and
 * rewrite the packet in place.  ICMP errors are translated with the packet
 * they quote (RFC 5508 section 4.2, REQ-3 and REQ-4).
 *
 * Checksums are never recomputed, only updated (RFC 1624 eqn 3,
 * HC' = ~(~HC + ~m + m')), for two reasons: it costs the same for a
 * 1500-byte packet as for a SYN, and a quoted packet inside an ICMP error
 * is usually cut short, so its transport checksum could not be recomputed
 * at all.  A checksum that was wrong before stays wrong after, so the end
 * host still drops what the wire damaged.
 *
 * Every 16-bit word we change is even-aligned relative to the start of
 * each checksum that covers it: IPv4 headers are 4-byte multiples, a
 * transport header starts right after one, and an ICMP error's quote
 * starts at offset 8 of the ICMP message.  So a word's change can be
 * added to any covering checksum as is, without swapping its bytes.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "checksum.h"
#include "nat_internal.h"
#include "portcullis/wire.h"

enum {
	IP_HDR_MIN = sizeof(struct ipv4_hdr),
	IP_LEN = offsetof(struct ipv4_hdr, total_length),
	IP_FRAG = offsetof(struct ipv4_hdr, frag_off),
	IP_PROTO = offsetof(struct ipv4_hdr, protocol),
	IP_CSUM = offsetof(struct ipv4_hdr, checksum),
	IP_SRC = offsetof(struct ipv4_hdr, src),
	IP_DST = offsetof(struct ipv4_hdr, dst),
	TCP_DOFF = offsetof(struct tcp_hdr, data_off),
	TCP_FLAGS = offsetof(struct tcp_hdr, flags),
	TCP_CSUM = offsetof(struct tcp_hdr, checksum),
	UDP_CSUM = offsetof(struct udp_hdr, checksum),
	ICMP_CSUM = offsetof(struct icmp_hdr, checksum),
	ICMP_ID = offsetof(struct icmp_hdr, rest),   /* id, then sequence */
	ICMP_HDR = sizeof(struct icmp_hdr),
	/* RFC 792: an error quotes the IP header and at least 8 bytes of
	 * what followed it, enough for both ports or the echo identifier. */
	QUOTE_L4_MIN = 8,
};

/* Which endpoint of a packet is rewritten: the source on the way out,
 * the destination on the way in. */
enum side { SIDE_SRC, SIDE_DST };

/* An IPv4 packet (or the packet an ICMP error quotes) split at its
 * transport header.  Offsets, so that read-only callers need no cast. */
struct pkt {
	uint32_t l4;            /* offset of the transport header */
	uint32_t l4_len;        /* bytes from there to the end (of the quote) */
	uint32_t l4_whole;      /* the transport message's length as the IP
				 * header says (a quote may hold less) */
	uint8_t proto;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Overwrite n (even) bytes at p with the network-order bytes at val,
 * adding each 16-bit word's change, ~m + m', to *delta. */
static void rewrite(uint8_t *p, const void *val, size_t n, uint32_t *delta)
{
	const uint8_t *v = val;

	for (size_t i = 0; i < n; i += 2)
		*delta += (uint16_t)~get16(p + i) + get16(v + i);
	memcpy(p, val, n);
}

/*
 * Apply delta to the checksum at p.  A UDP checksum of 0 means "none" and
 * stays 0, and a computed 0 goes on the wire as 0xffff (RFC 768).
 * Returns the checksum word's own change, for an outer checksum that
 * covers this one (an ICMP error's covers the quoted packet's).
 */
static uint32_t csum_fix(uint8_t *p, uint32_t delta, bool udp)
{
	uint16_t old = get16(p), new;

	if (udp && old == 0)
		return 0;
	new = csum_fold((uint16_t)~old + delta);
	if (udp && new == 0)
		new = 0xffff;
	put16(p, new);
	return (uint16_t)~old + new;
}

static bool is_icmp_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETER_PROBLEM;
}

/* Shared with nat_track.c (nat_internal.h). */
enum nat_result nat_pkt_parse4(const uint8_t *ip, uint32_t len, uint32_t *ihl)
{
	if (len < IP_HDR_MIN || ip[0] >> 4 != 4)
		return NAT_MALFORMED;
	*ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (*ihl < IP_HDR_MIN || *ihl > len)
		return NAT_MALFORMED;
	if (get16(ip + IP_FRAG) & IPV4_OFFSET_MASK)
		return NAT_FRAGMENT;
	return NAT_OK;
}

bool nat_pkt_tcp_whole(const uint8_t *tcp, uint32_t l4_len)
{
	uint32_t doff;

	if (l4_len < sizeof(struct tcp_hdr))
		return false;
	doff = (uint32_t)(tcp[TCP_DOFF] >> 4) * 4;
	return doff >= sizeof(struct tcp_hdr) && doff <= l4_len;
}

/*
 * Split ip (len bytes) at its transport header.  A packet we translate
 * needs its whole transport header; a quote needs only the first 8 bytes
 * (RFC 792), as that is all a router must send back.
 *
 * A first fragment (offset 0, MF) holds the transport header and is
 * translated like a whole packet: the transport checksum covers the whole
 * datagram, and an incremental update of it needs only the words that
 * change (RFC 1624), all of which are in this fragment.  A later fragment
 * has no transport header: NAT_FRAGMENT, and nat_frag.c gives it the
 * addresses its first fragment got.  A quoted first fragment in an ICMP
 * error is translated the same way; a quoted later fragment cannot be
 * matched to a session.
 */
static enum nat_result pkt_parse(struct pkt *p, const uint8_t *ip,
				 uint32_t len, bool quote)
{
	uint32_t ihl, need;
	enum nat_result r;

	r = nat_pkt_parse4(ip, len, &ihl);
	if (r != NAT_OK)
		return r;
	p->proto = ip[IP_PROTO];
	p->l4 = ihl;
	p->l4_len = len - ihl;
	/* Of a first fragment, "whole" is this fragment: see icmp_zero_fix. */
	p->l4_whole = quote ? (uint32_t)get16(ip + IP_LEN) - ihl : p->l4_len;
	switch (p->proto) {
	case IPPROTO_TCP_: need = sizeof(struct tcp_hdr); break;
	case IPPROTO_UDP_: need = sizeof(struct udp_hdr); break;
	case IPPROTO_ICMP_: need = ICMP_HDR; break;
	default: return NAT_UNSUPPORTED;
	}
	if (quote)
		need = QUOTE_L4_MIN;
	if (p->l4_len < need)
		return NAT_MALFORMED;
	if (p->proto == IPPROTO_TCP_ && !quote &&
	    !nat_pkt_tcp_whole(ip + ihl, p->l4_len))
		return NAT_MALFORMED;
	return NAT_OK;
}

/* The flow of a parsed packet as the table keys it.  dir says which way
 * the packet itself travels: the echo identifier is the inside
 * endpoint's port, so the source port going out, the destination port
 * coming in (nat_internal.h). */
static void pkt_tuple(const uint8_t *ip, const struct pkt *p,
		      enum nat_dir dir, struct nat_tuple *t)
{
	const uint8_t *l4 = ip + p->l4;

	memset(t, 0, sizeof(*t));
	memcpy(&t->src, ip + IP_SRC, 4);
	memcpy(&t->dst, ip + IP_DST, 4);
	t->proto = p->proto;
	if (p->proto != IPPROTO_ICMP_) {
		memcpy(&t->sport, l4, 2);
		memcpy(&t->dport, l4 + 2, 2);
	} else if (dir == NAT_DIR_OUT) {
		memcpy(&t->sport, l4 + ICMP_ID, 2);
	} else {
		memcpy(&t->dport, l4 + ICMP_ID, 2);
	}
}

static void tuple_reverse(struct nat_tuple *t)
{
	struct nat_tuple r = *t;

	t->src = r.dst;
	t->dst = r.src;
	t->sport = r.dport;
	t->dport = r.sport;
}

static uint8_t pkt_tcp_flags(const uint8_t *ip, const struct pkt *p)
{
	return p->proto == IPPROTO_TCP_ ? ip[p->l4 + TCP_FLAGS] : 0;
}

/*
 * Eqn 3 cannot tell a sum of 0 from one of 0xffff, so for data of all
 * zeros, whose checksum is 0xffff, it gives 0 (RFC 1624 section 3).  An
 * IP header, or TCP and UDP with their pseudo-header, never sum to 0, but
 * an echo reply with identifier, sequence and payload all zero does.
 * Only a result of 0 (1 in 65536) makes us scan the message, and only a
 * whole one: a quote cut short cannot tell.  0 and 0xffff are the same
 * number in one's complement, so a checksum covering this one is
 * unaffected.  A first fragment is scanned as if it were the message: if
 * its part is all zeros, 0xffff is right when the rest is zeros too, and
 * still verifies when it is not (a receiver's sum of the other words is
 * then 0xffff already, and adding either zero leaves it so).
 */
static void icmp_zero_fix(uint8_t *l4, const struct pkt *p)
{
	if (get16(l4 + ICMP_CSUM) != 0 || p->l4_whole > p->l4_len)
		return;
	for (uint32_t i = 0; i < p->l4_whole; i++)
		if (l4[i])
			return;
	put16(l4 + ICMP_CSUM, 0xffff);
}

/*
 * Set one endpoint (address and port, or the echo identifier) of a parsed
 * packet to rw and fix its IP checksum and its transport checksum: for
 * TCP and UDP that covers the pseudo-header address too (RFC 9293 3.1,
 * RFC 768), for ICMP only the message.  A quote may end before the
 * transport checksum; then there is nothing to fix.  Returns the change
 * of every word written, for the checksum of an ICMP error quoting it.
 */
static uint32_t endpoint_set(uint8_t *ip, const struct pkt *p, enum side side,
			     const struct nat_rewrite *rw)
{
	uint8_t *l4 = ip + p->l4;
	uint32_t addr = 0, port = 0, all;
	unsigned port_off, csum_off;

	switch (p->proto) {
	case IPPROTO_TCP_: port_off = side == SIDE_SRC ? 0 : 2;
			   csum_off = TCP_CSUM; break;
	case IPPROTO_UDP_: port_off = side == SIDE_SRC ? 0 : 2;
			   csum_off = UDP_CSUM; break;
	default:           port_off = ICMP_ID; csum_off = ICMP_CSUM; break;
	}
	rewrite(ip + (side == SIDE_SRC ? IP_SRC : IP_DST), &rw->addr, 4, &addr);
	all = addr + csum_fix(ip + IP_CSUM, addr, false);
	rewrite(l4 + port_off, &rw->port, 2, &port);
	all += port;
	if (p->proto == IPPROTO_ICMP_)
		addr = 0;                   /* no pseudo-header */
	if (p->l4_len < csum_off + 2)
		return all;
	all += csum_fix(l4 + csum_off, addr + port, p->proto == IPPROTO_UDP_);
	if (p->proto == IPPROTO_ICMP_)
		icmp_zero_fix(l4, p);
	return all;
}

/* RFC 5508 REQ-3: an error whose ICMP checksum (when we hold the whole
 * message: it is not a fragment) or whose quoted IP header checksum is
 * wrong is dropped, not translated into a valid-looking one. */
static bool icmp_error_intact(const uint8_t *ip, const struct pkt *outer,
			      const uint8_t *quote, const struct pkt *q)
{
	if (!(get16(ip + IP_FRAG) & IPV4_MF) &&
	    csum_fold(csum_partial(ip + outer->l4, outer->l4_len, 0)) != 0)
		return false;
	return csum_fold(csum_partial(quote, q->l4, 0)) == 0;
}

/*
 * RFC 5508 section 4.2: an ICMP error about a translated packet is
 * translated too, or the sender of that packet never learns of the
 * error (PMTU discovery, traceroute).  dir is the way the error travels;
 * the packet it quotes travelled the other way, through the NAT.  We find
 * that packet's session by the flow of the error's direction (the quote
 * reversed), look only (RFC 4787 REQ-12: an error neither creates, nor
 * refreshes, nor ends a session), and rewrite the quoted endpoint on our
 * side: its source coming in, its destination going out.  The outer
 * header follows: destination coming in, source going out.  The rest of
 * the error (a frag-needed MTU, a parameter-problem pointer) stays.
 */
static enum nat_result icmp_error(struct nat *nat, struct nat_lcore *lc,
				  const struct nat_config *conf, uint8_t *ip,
				  const struct pkt *outer, enum nat_dir dir,
				  uint64_t now)
{
	uint8_t *quote = ip + outer->l4 + ICMP_HDR;
	enum nat_dir quoted_dir = dir == NAT_DIR_IN ? NAT_DIR_OUT : NAT_DIR_IN;
	uint8_t quoted_echo = dir == NAT_DIR_IN ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
	enum side side = dir == NAT_DIR_IN ? SIDE_SRC : SIDE_DST;
	struct nat_rewrite rw;
	struct nat_tuple t;
	struct pkt q;
	uint32_t icmp, ip_delta = 0;
	enum nat_result r;

	r = pkt_parse(&q, quote, outer->l4_len - ICMP_HDR, true);
	if (r != NAT_OK)
		return r;
	if (!icmp_error_intact(ip, outer, quote, &q))
		return NAT_MALFORMED;
	/* Errors about errors are not sent (RFC 1122 3.2.2); the only ICMP
	 * we translate one way is the echo request out, reply in. */
	if (q.proto == IPPROTO_ICMP_ && quote[q.l4] != quoted_echo)
		return NAT_UNSUPPORTED;
	pkt_tuple(quote, &q, quoted_dir, &t);
	tuple_reverse(&t);
	if (nat_flow_find(nat, conf, dir, &t, false, now, &rw) != NAT_OK)
		return NAT_ICMP_NO_SESSION;
	icmp = endpoint_set(quote, &q, side, &rw);
	/* The outer header names our side of the quoted flow: the inside
	 * host (or a router on its path) going out, so the external address
	 * replaces it; the inside host coming in. */
	rewrite(ip + (dir == NAT_DIR_IN ? IP_DST : IP_SRC), &rw.addr, 4,
		&ip_delta);
	csum_fix(ip + IP_CSUM, ip_delta, false);
	csum_fix(ip + outer->l4 + ICMP_CSUM, icmp, false);
	lc->stats.icmp_errors_translated++;
	return NAT_OK;
}

/*
 * Translate a packet going dir.  The ICMP a flow may carry: echo requests
 * out and their replies in.  Inbound echo requests are the gateway's to
 * answer (NAT_LOCAL), so an inside host never has an echo to reply to
 * through us; errors travel both ways, translated with what they quote.
 */
static enum nat_result translate(struct nat *nat, struct nat_lcore *lc,
				 const struct nat_config *conf, uint8_t *ip,
				 uint32_t len, enum nat_dir dir, uint64_t now)
{
	uint8_t echo = dir == NAT_DIR_OUT ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
	struct nat_rewrite rw;
	struct nat_tuple t;
	enum nat_result r;
	struct pkt p;

	r = pkt_parse(&p, ip, len, false);
	if (r != NAT_OK)
		return r;
	if (p.proto == IPPROTO_ICMP_) {
		uint8_t type = ip[p.l4];

		if (dir == NAT_DIR_IN && type == ICMP_ECHO_REQUEST)
			return NAT_LOCAL;
		if (is_icmp_error(type))
			return icmp_error(nat, lc, conf, ip, &p, dir, now);
		if (type != echo)
			return NAT_UNSUPPORTED;
	}
	pkt_tuple(ip, &p, dir, &t);
	r = nat_flow(nat, lc, conf, dir, &t, pkt_tcp_flags(ip, &p), now, &rw);
	if (r == NAT_OK)
		endpoint_set(ip, &p, dir == NAT_DIR_OUT ? SIDE_SRC : SIDE_DST,
			     &rw);
	return r;
}

static enum nat_result count(struct nat_lcore *lc, enum nat_result r)
{
	if ((unsigned)r < NAT_RESULT_COUNT)
		lc->stats.results[r]++;
	return r;
}

enum nat_result nat_out(struct nat *nat, struct nat_lcore *lc,
			const struct nat_config *conf, uint8_t *ip,
			uint32_t len, uint64_t now)
{
	return count(lc, translate(nat, lc, conf, ip, len, NAT_DIR_OUT, now));
}

enum nat_result nat_in(struct nat *nat, struct nat_lcore *lc,
		       const struct nat_config *conf, uint8_t *ip,
		       uint32_t len, uint64_t now)
{
	return count(lc, translate(nat, lc, conf, ip, len, NAT_DIR_IN, now));
}

/*
 * RFC 4787 REQ-9 / RFC 5382 REQ-8: after nat_out the packet would come
 * from the source's external endpoint, the one its mapping has now.  With
 * no mapping yet nat_out would pick a port we cannot know; port 0 stands
 * for it, which a forward (any remote) still admits and a filter keyed by
 * the remote's port does not.  Echo requests to an external address are
 * the gateway's to answer, as they are from outside.
 */
bool nat_hairpin_target(struct nat *nat, const struct nat_config *conf,
			const uint8_t *ip, uint32_t len, uint64_t now)
{
	struct nat_rewrite ext, rw;
	struct nat_tuple t;
	struct pkt p;

	if (pkt_parse(&p, ip, len, false) != NAT_OK ||
	    p.proto == IPPROTO_ICMP_)
		return false;
	pkt_tuple(ip, &p, NAT_DIR_OUT, &t);
	if (!nat_mapping_find(nat, conf, t.proto, t.src, t.sport, now, &ext)) {
		memcpy(&ext.addr, conf->external.bytes, 4);
		ext.port = 0;
	}
	t.src = ext.addr;
	t.sport = ext.port;
	return nat_flow_find(nat, conf, NAT_DIR_IN, &t, true, now, &rw) == NAT_OK;
}

bool nat_is_external(const struct nat_config *conf, const uint8_t addr[4])
{
	/* Per packet (every public-port packet, every forwarded one): the
	 * prepared list has at most NAT_MAX_EXTERNAL + 1 entries. */
	if (conf->n_external_addrs) {
		for (unsigned i = 0; i < conf->n_external_addrs; i++)
			if (memcmp(conf->external_addrs[i], addr, 4) == 0)
				return true;
		return false;
	}
	if (conf->external.family == IP_V4 &&
	    memcmp(conf->external.bytes, addr, 4) == 0)
		return true;
	for (unsigned i = 0; i < conf->n_forwards; i++) {
		const struct ip_addr *a = &conf->forwards[i].external;

		if (a->family == IP_V4 && memcmp(a->bytes, addr, 4) == 0)
			return true;
	}
	return false;
}

/* --- Shared public address: what is the NAT's ------------------------- */

enum { ICMP_HDR_LEN = 8, ICMP_ID_OFF = 4 };

static bool in_nat_range(const struct nat_config *nat, const uint8_t *port_be)
{
	uint16_t p = (uint16_t)(port_be[0] << 8 | port_be[1]);

	return p >= nat->port_min && p <= nat->port_max;
}

/* An ICMP error to the external address quotes a packet that went out
 * from it: the NAT's if its source port (or echo identifier) is one the
 * NAT hands out or a forward's on that address, the host's otherwise.
 * Too short to tell: the NAT's. */
static bool nat_icmp_error(const struct nat_config *nat, const uint8_t *q,
			   uint32_t qlen)
{
	uint32_t ql4;
	uint16_t sport;

	if (qlen < sizeof(struct ipv4_hdr))
		return true;
	ql4 = (q[0] & 0xf) * 4u;
	if (qlen < ql4 + ICMP_HDR_LEN)
		return true;
	switch (((const struct ipv4_hdr *)q)->protocol) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		memcpy(&sport, q + ql4, 2);      /* network order */
		return in_nat_range(nat, q + ql4) ||
		       nat_forward_at(nat, ((const struct ipv4_hdr *)q)->protocol,
				      ((const struct ipv4_hdr *)q)->src, sport);
	case IPPROTO_ICMP_:
		return in_nat_range(nat, q + ql4 + ICMP_ID_OFF);
	default:
		return false;
	}
}

/*
 * IPv4 to a NAT external address: what nat_in must see.  TCP/UDP to the
 * NAT's PortRange or to a forward's port on that address (a forward of
 * 443 on a second address leaves the host's 443 on the first alone); ICMP
 * echo replies whose
 * identifier is in PortRange (the NAT takes identifiers from it too) and
 * errors about the NAT's packets; later fragments (they carry no ports;
 * the host's own traffic is rarely fragmented).  The rest (a connection to
 * the host's SSH, an echo request, the replies to the host's own
 * connections, whose ports the start-up check keeps outside PortRange) is
 * the host's.
 */
bool nat_inbound_owned(const struct nat_config *nat, const uint8_t *ip, uint32_t len)
{
	const struct ipv4_hdr *h = (const void *)ip;
	uint32_t l4 = (h->version_ihl & 0xf) * 4u;
	uint16_t port;

	if (ntohs(h->frag_off) & IPV4_OFFSET_MASK)
		return true;
	if (len < l4 + ICMP_HDR_LEN)
		return true;                   /* let the NAT call it malformed */
	switch (h->protocol) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		memcpy(&port, ip + l4 + 2, 2);   /* destination, network order */
		return in_nat_range(nat, ip + l4 + 2) ||
		       nat_forward_at(nat, h->protocol, h->dst, port);
	case IPPROTO_ICMP_:
		switch (ip[l4]) {
		case ICMP_ECHO_REPLY:
			return in_nat_range(nat, ip + l4 + ICMP_ID_OFF);
		case ICMP_DEST_UNREACH:
		case ICMP_TIME_EXCEEDED:
		case ICMP_PARAMETER_PROBLEM:
			return nat_icmp_error(nat, ip + l4 + ICMP_HDR_LEN,
					      len - l4 - ICMP_HDR_LEN);
		default:
			return false;
		}
	default:
		return false;
	}
}
