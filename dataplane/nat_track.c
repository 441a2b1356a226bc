/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking without translation: [NAT] AllowTunnelToPrivate /
 * AllowPrivateToTunnel = no as a stateful rule, like iptables'
 * "-m state --state ESTABLISHED,RELATED".  The side whose direction is
 * denied may not start flows; replies to the flows the other side started
 * get through, and so do ICMP errors about them.
 *
 * A tracked session is a slot of the NAT table (nat_table.h, struct
 * nat_track) under one key that holds both whole endpoints, IPv4 or IPv6,
 * opener first: the allowed side's packets and the denied side's replies
 * name the same key.  Its timer and TCP state follow the NAT's rules (the
 * same timeouts, RFC 5382's state machine with the opener as "out"), and
 * so do its life cycle (created under the bucket locks, found lock-free,
 * expired by the control thread, reused after an RCU grace period) and
 * MaxSessions, which NAT and tracked sessions share.  Its key kind,
 * KEY_TRACK, keeps it apart from every NAT key.
 *
 * Choices, and why:
 *  - Only the allowed side creates sessions, and only it may start a TCP
 *    connection on one: a SYN from the denied side that would start a new
 *    connection on a closed or picked-up session is refused.
 *  - An ICMP error is admitted only when it is addressed to the source of
 *    the packet it quotes: else one live flow would let the denied side
 *    send "errors", with any payload, to any host of the allowed side.
 *    Errors neither create nor refresh (RFC 4787 REQ-12, for the NAT).
 *  - A later fragment (IPv4 offset > 0, an IPv6 fragment header with an
 *    offset) has no transport header to match, and passes both ways.  It
 *    cannot start anything: its receiver cannot reassemble it without the
 *    first fragment, whose ports are checked, and it cannot change those
 *    ports (in IPv4 they are in the first 8 bytes, which no later
 *    fragment covers; in IPv6 an overlap makes the receiver discard the
 *    whole datagram, RFC 5722).  Dropping it would break every reply too
 *    large for one packet, such as big DNS answers over UDP.
 *  - Other protocols (GRE, ESP, SCTP...) are not tracked, as the NAT does
 *    not translate them: they pass from the allowed side and are refused
 *    from the denied side.
 *
 * Parsing is the minimum tracking needs, IPv4 and IPv6 (with RFC 8200
 * extension headers).  The IPv4 header and the TCP header are checked by
 * the NAT's own nat_pkt_parse4 and nat_pkt_tcp_whole (nat_packet.c), so a
 * packet is malformed or a later fragment to both alike.  The rest stays
 * apart: a tracked key holds IPv4 or IPv6 endpoints, opener first, where
 * the NAT's tuple is IPv4 in travel order, and tracking needs no quote
 * lengths nor checksum offsets.
 */
#include "nat_table.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "portcullis/wire.h"

enum {
	IP4_PROTO = offsetof(struct ipv4_hdr, protocol),
	IP4_SRC = offsetof(struct ipv4_hdr, src),
	IP4_DST = offsetof(struct ipv4_hdr, dst),
	IP6_HDR = sizeof(struct ipv6_hdr),
	IP6_NEXT = offsetof(struct ipv6_hdr, next_header),
	IP6_SRC = offsetof(struct ipv6_hdr, src),
	IP6_DST = offsetof(struct ipv6_hdr, dst),
	IP6_FRAG = offsetof(struct ipv6_frag_hdr, frag_off),
	EXT_UNIT = 8,                   /* RFC 8200: extension header sizes */
	TCP_FLAGS = offsetof(struct tcp_hdr, flags),
	ICMP_HDR = sizeof(struct icmp_hdr),
	ICMP_ID = offsetof(struct icmp_hdr, rest),   /* id, then sequence */
	/* RFC 792: an error quotes the IP header and at least 8 bytes of
	 * what followed it, enough for both ports or the echo identifier;
	 * RFC 4443 quotes more. */
	QUOTE_L4_MIN = 8,
};

/* The way a packet goes in its flow. */
enum way { WAY_OPEN, WAY_REPLY };

/* An IPv4 or IPv6 packet, or the one an ICMP error quotes, split at its
 * transport header. */
struct pkt {
	const uint8_t *src, *dst;       /* the addresses in its header */
	uint32_t l4;                    /* offset of the transport header */
	uint32_t l4_len;                /* bytes from there to the end */
	uint8_t family, proto;
};

enum icmp_class { ICMP_OTHER, ICMP_REQUEST, ICMP_REPLY, ICMP_ERROR };

/* A packet's flow, as the key of its tracked session. */
struct flow {
	struct nat_track_key key;
	uint8_t tcp_flags;              /* 0 but for TCP */
	bool icmp_error;                /* key: the flow of the quoted packet */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* --- Parsing -------------------------------------------------------------- */

static enum nat_result parse_v4(struct pkt *p, const uint8_t *ip, uint32_t len)
{
	uint32_t ihl;
	enum nat_result r;

	r = nat_pkt_parse4(ip, len, &ihl);
	if (r != NAT_OK)
		return r;
	*p = (struct pkt){ .src = ip + IP4_SRC, .dst = ip + IP4_DST,
			   .l4 = ihl, .l4_len = len - ihl, .family = IP_V4,
			   .proto = ip[IP4_PROTO] };
	return NAT_OK;
}

static bool is_ext_header(uint8_t next)
{
	return next == IPV6_EXT_HOP_BY_HOP || next == IPV6_EXT_ROUTING ||
	       next == IPV6_EXT_DEST_OPTS || next == IPV6_EXT_FRAGMENT;
}

/* RFC 8200 section 4: walk the extension headers to the upper-layer
 * header.  A first fragment carries the whole chain (RFC 8200 4.5, RFC
 * 7112), so it is parsed as a whole packet.  Each header is at least 8
 * bytes, so the walk ends. */
static enum nat_result parse_v6(struct pkt *p, const uint8_t *ip, uint32_t len)
{
	uint32_t off = IP6_HDR, hlen;
	uint8_t next;

	if (len < IP6_HDR)
		return NAT_MALFORMED;
	next = ip[IP6_NEXT];
	while (is_ext_header(next)) {
		if (len - off < EXT_UNIT)
			return NAT_MALFORMED;
		if (next != IPV6_EXT_FRAGMENT)
			hlen = (ip[off + 1] + 1u) * EXT_UNIT;
		else if (get16(ip + off + IP6_FRAG) & IPV6_FRAG_OFFSET_MASK)
			return NAT_FRAGMENT;
		else
			hlen = sizeof(struct ipv6_frag_hdr);
		if (hlen > len - off)
			return NAT_MALFORMED;
		next = ip[off];
		off += hlen;
	}
	*p = (struct pkt){ .src = ip + IP6_SRC, .dst = ip + IP6_DST,
			   .l4 = off, .l4_len = len - off, .family = IP_V6,
			   .proto = next };
	return NAT_OK;
}

/* NAT_OK, NAT_FRAGMENT (a later fragment) or NAT_MALFORMED. */
static enum nat_result parse_ip(struct pkt *p, const uint8_t *ip, uint32_t len)
{
	if (len == 0)
		return NAT_MALFORMED;
	switch (ip[0] >> 4) {
	case 4: return parse_v4(p, ip, len);
	case 6: return parse_v6(p, ip, len);
	default: return NAT_MALFORMED;
	}
}

static bool is_icmp(const struct pkt *p)
{
	return p->proto == (p->family == IP_V4 ? IPPROTO_ICMP_
					       : IPPROTO_ICMPV6_);
}

static enum icmp_class icmp_class(uint8_t family, uint8_t type)
{
	if (family == IP_V4)
		switch (type) {
		case ICMP_ECHO_REQUEST: return ICMP_REQUEST;
		case ICMP_ECHO_REPLY: return ICMP_REPLY;
		case ICMP_DEST_UNREACH:
		case ICMP_TIME_EXCEEDED:
		case ICMP_PARAMETER_PROBLEM: return ICMP_ERROR;
		default: return ICMP_OTHER;
		}
	switch (type) {
	case ICMP6_ECHO_REQUEST: return ICMP_REQUEST;
	case ICMP6_ECHO_REPLY: return ICMP_REPLY;
	case ICMP6_DEST_UNREACH:
	case ICMP6_PACKET_TOO_BIG:
	case ICMP6_TIME_EXCEEDED:
	case ICMP6_PARAMETER_PROBLEM: return ICMP_ERROR;
	default: return ICMP_OTHER;
	}
}

/* A TCP segment we track needs its whole header (its flags, and a sane
 * data offset as nat_packet.c asks); UDP and ICMP need 8 bytes. */
static enum nat_result l4_check(const uint8_t *ip, const struct pkt *p)
{
	if (p->proto != IPPROTO_TCP_)
		return p->l4_len < QUOTE_L4_MIN ? NAT_MALFORMED : NAT_OK;
	return nat_pkt_tcp_whole(ip + p->l4, p->l4_len) ? NAT_OK
							: NAT_MALFORMED;
}

/* The key of p's flow from the packet's own ports (network order; for
 * ICMP echo the identifier stands for the opener's port).  Going `way`,
 * the packet's source is the opener or the responder. */
static void key_fill(struct nat_track_key *k, const struct pkt *p,
		     uint16_t sport, uint16_t dport, enum way way)
{
	unsigned from = way == WAY_OPEN ? NAT_TRACK_OPENER : NAT_TRACK_RESPONDER;
	unsigned to = !from;
	size_t alen = p->family == IP_V4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->addr[from], p->src, alen);
	memcpy(k->addr[to], p->dst, alen);
	k->port[from] = sport;
	k->port[to] = dport;
	k->proto = p->proto;
	k->family = p->family;
}

static void ports_of(const uint8_t *l4, uint16_t *sport, uint16_t *dport)
{
	memcpy(sport, l4, 2);
	memcpy(dport, l4 + 2, 2);
}

/*
 * The flow an ICMP error is about.  The quoted packet went the opener's
 * way (an error about it comes back from the responder's side), so it
 * names the key as an opening packet would: ports, or the identifier of
 * an echo request (an error about any other ICMP is an error about an
 * error, or about nothing we track).  It must be addressed to the quoted
 * packet's source.
 */
static enum nat_result icmp_error_flow(struct flow *f, const uint8_t *ip,
				       const struct pkt *outer)
{
	const uint8_t *quote = ip + outer->l4 + ICMP_HDR;
	uint16_t sport, dport = 0;
	struct pkt q;

	if (parse_ip(&q, quote, outer->l4_len - ICMP_HDR) != NAT_OK ||
	    q.family != outer->family || q.l4_len < QUOTE_L4_MIN)
		return NAT_UNSUPPORTED;
	if (is_icmp(&q)) {
		if (icmp_class(q.family, quote[q.l4]) != ICMP_REQUEST)
			return NAT_UNSUPPORTED;
		memcpy(&sport, quote + q.l4 + ICMP_ID, 2);
	} else if (q.proto == IPPROTO_TCP_ || q.proto == IPPROTO_UDP_) {
		ports_of(quote + q.l4, &sport, &dport);
	} else {
		return NAT_UNSUPPORTED;
	}
	if (memcmp(outer->dst, q.src, q.family == IP_V4 ? 4 : 16) != 0)
		return NAT_UNSUPPORTED;
	key_fill(&f->key, &q, sport, dport, WAY_OPEN);
	f->icmp_error = true;
	return NAT_OK;
}

/* Echo requests open, echo replies answer; errors are looked at on the
 * way back only (from the allowed side, anything goes). */
static enum nat_result icmp_flow(struct flow *f, const uint8_t *ip,
				 const struct pkt *p, enum way way)
{
	enum icmp_class cls;
	uint16_t id;

	if (p->l4_len < ICMP_HDR)
		return NAT_MALFORMED;
	cls = icmp_class(p->family, ip[p->l4]);
	memcpy(&id, ip + p->l4 + ICMP_ID, 2);
	if (way == WAY_OPEN && cls == ICMP_REQUEST) {
		key_fill(&f->key, p, id, 0, way);
		return NAT_OK;
	}
	if (way == WAY_REPLY && cls == ICMP_REPLY) {
		key_fill(&f->key, p, 0, id, way);
		return NAT_OK;
	}
	if (way == WAY_REPLY && cls == ICMP_ERROR)
		return icmp_error_flow(f, ip, p);
	return NAT_UNSUPPORTED;
}

/* The flow of a packet going `way`: NAT_OK with f filled, NAT_FRAGMENT (a
 * later fragment), NAT_UNSUPPORTED (nothing a session is made of) or
 * NAT_MALFORMED. */
static enum nat_result flow_parse(struct flow *f, const uint8_t *ip,
				  uint32_t len, enum way way)
{
	uint16_t sport, dport;
	enum nat_result r;
	struct pkt p;

	r = parse_ip(&p, ip, len);
	if (r != NAT_OK)
		return r;
	f->tcp_flags = 0;
	f->icmp_error = false;
	if (is_icmp(&p))
		return icmp_flow(f, ip, &p, way);
	if (p.proto != IPPROTO_TCP_ && p.proto != IPPROTO_UDP_)
		return NAT_UNSUPPORTED;
	r = l4_check(ip, &p);
	if (r != NAT_OK)
		return r;
	if (p.proto == IPPROTO_TCP_)
		f->tcp_flags = ip[p.l4 + TCP_FLAGS];
	ports_of(ip + p.l4, &sport, &dport);
	key_fill(&f->key, &p, sport, dport, way);
	return NAT_OK;
}

/* --- Sessions ------------------------------------------------------------- */

/*
 * Link a tracked session for f.  If another lcore linked the same flow
 * first, *out is theirs.  The TCP bits start empty, or as a pickup when
 * the first segment is not a SYN (as for a NAT session: the gateway may
 * have restarted under a live connection); the caller adds the segment.
 */
static enum nat_result track_create(struct nat *nat, struct nat_lcore *lc,
				    const struct nat_clock *c,
				    const struct flow *f, struct nat_track **out)
{
	bool pickup = f->key.proto == IPPROTO_TCP_ &&
		      (f->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN;
	enum nat_proto_index proto = nat_proto_index(f->key.proto);
	uint32_t idx, found;
	struct nat_track *t;
	int err;

	if (!nat_session_reserve(nat))
		return NAT_TABLE_FULL;
	idx = nat_pool_get(&nat->tracks, lc->free_tracks, &lc->n_free_tracks);
	if (idx == NAT_NONE)
		goto full;
	/* Nobody sees the slot yet (last_seen is NAT_DEAD): plain stores. */
	t = nat_track_at(nat, idx);
	t->key = f->key;
	atomic_store_explicit(&t->tcp, pickup ? NAT_TCP_PICKUP : 0,
			      memory_order_relaxed);
	err = nat_index_link_track(nat, &t->key, idx, c, &found);
	if (err == 0) {
		lc->stats.created[proto]++;
		lc->stats.tracked_created[proto]++;
		*out = t;
		return NAT_OK;
	}
	nat_pool_put(&nat->tracks, lc->free_tracks, &lc->n_free_tracks, idx);
	if (err == -EEXIST) {
		nat_session_unreserve(nat);
		*out = nat_track_at(nat, found);
		return NAT_OK;
	}
full:
	nat_session_unreserve(nat);
	return NAT_TABLE_FULL;
}

/* The flow of a packet going `way` (flow_parse's results) and, when
 * NAT_OK, the index of its live session, or NAT_NONE. */
static enum nat_result flow_find(struct nat *nat, const struct nat_clock *c,
				 const uint8_t *ip, uint32_t len, enum way way,
				 struct flow *f, uint32_t *idx)
{
	enum nat_result r = flow_parse(f, ip, len, way);

	if (r == NAT_OK)
		*idx = nat_index_find_track(nat, &f->key, c);
	return r;
}

enum nat_result nat_track_open(struct nat *nat, struct nat_lcore *lc,
			       const struct nat_config *conf,
			       const uint8_t *ip, uint32_t len, uint64_t now)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	struct nat_track *t;
	enum nat_result r;
	struct flow f;
	uint32_t idx;

	r = flow_find(nat, &c, ip, len, WAY_OPEN, &f, &idx);
	if (r != NAT_OK)
		return r == NAT_MALFORMED ? r : NAT_OK;  /* passes untracked */
	if (idx != NAT_NONE) {
		t = nat_track_at(nat, idx);
	} else {
		/* A RST ends a connection we do not know: nothing to keep. */
		if (f.tcp_flags & TCP_RST)
			return NAT_OK;
		r = track_create(nat, lc, &c, &f, &t);
		if (r != NAT_OK)
			return r;
	}
	nat_timer_refresh(&t->last_seen, c.secs);
	if (f.key.proto == IPPROTO_TCP_)
		nat_tcp_track(&t->tcp, NAT_DIR_OUT, f.tcp_flags, true);
	return NAT_OK;
}

enum nat_result nat_track_reply(struct nat *nat, struct nat_lcore *lc,
				const struct nat_config *conf,
				const uint8_t *ip, uint32_t len, uint64_t now)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	struct nat_track *t;
	enum nat_result r;
	struct flow f;
	uint32_t idx;

	(void)lc;                       /* creates nothing, counts nothing */
	r = flow_find(nat, &c, ip, len, WAY_REPLY, &f, &idx);
	if (r == NAT_FRAGMENT)
		return NAT_OK;          /* see the top of the file */
	if (r != NAT_OK)
		return r == NAT_MALFORMED ? r : NAT_NO_SESSION;
	if (idx == NAT_NONE)
		return NAT_NO_SESSION;
	if (f.icmp_error)
		return NAT_OK;          /* look only */
	t = nat_track_at(nat, idx);
	if (f.key.proto == IPPROTO_TCP_ &&
	    !nat_tcp_track(&t->tcp, NAT_DIR_IN, f.tcp_flags, false))
		return NAT_NO_SESSION;  /* a connection the denied side starts */
	nat_timer_refresh(&t->last_seen, c.secs);
	return NAT_OK;
}
