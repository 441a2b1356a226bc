/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT stages of the fast path (see nat_stage.h).  The translation itself
 * is the pure core in nat.c / nat_packet.c; this file turns its verdicts
 * into drop counters and ICMP errors.
 *
 * IPv4 fragments (RFC 4787 REQ-14): a first fragment is translated like a
 * whole packet and its translation noted in this lcore's fragment tracker
 * (nat_frag.h); a later fragment gets the same addresses from there, or
 * waits in it for its first.  Fragments that waited go on as their first
 * one did: out of the public port (l3_send_public), or inside through
 * l3_forward.  The tracker is per lcore, so none of this takes a lock;
 * nat_frag.h says why a datagram's fragments all reach one lcore.
 */
#include "nat_stage.h"

#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "l3.h"
#include "mss.h"
#include "nat.h"
#include "nat_frag.h"
#include "portcullis/wire.h"

/* A NAT verdict that is not NAT_OK / NAT_LOCAL, as a drop reason. */
static enum dp_drop_reason drop_reason(enum nat_result r)
{
	switch (r) {
	case NAT_NOT_MASQUERADED: return DROP_nat_not_masqueraded;
	case NAT_MALFORMED:       return DROP_malformed;
	case NAT_FRAGMENT:        return DROP_nat_fragment;
	case NAT_UNSUPPORTED:     return DROP_nat_unsupported;
	case NAT_NO_SESSION:      return DROP_nat_no_session;
	case NAT_ICMP_NO_SESSION: return DROP_nat_icmp_no_session;
	case NAT_PORTS_EXHAUSTED: return DROP_nat_ports_exhausted;
	case NAT_TABLE_FULL:      return DROP_nat_table_full;
	default:                  return DROP_malformed;
	}
}

/* Drop m for verdict r; when the NAT ran out of ports or sessions, tell
 * the sender (RFC 5508 REQ-8 / RFC 5382: "communication administratively
 * prohibited", rate-limited by the ICMP error budget) instead of letting
 * it retry into a black hole. */
static void refuse(struct dp_ctx *c, struct rte_mbuf *m, enum nat_result r)
{
	if (r == NAT_PORTS_EXHAUSTED || r == NAT_TABLE_FULL)
		l3_icmp_error(c, m, ICMP_DEST_UNREACH, ICMP_ADMIN_PROHIBITED_CODE, 0);
	dp_drop(c->st, m, drop_reason(r));
}

/* --- Fragments ------------------------------------------------------------ */

static uint8_t *mbuf_ip(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *, pkt_meta(m)->l3_off);
}

/* A fragment that waited goes where its first fragment went. */
static void frag_send(struct dp_ctx *c, struct rte_mbuf *m,
		      enum nat_frag_path path)
{
	if (path == NAT_FRAG_OUT)
		l3_send_public(c, m);
	else
		l3_forward(c, m, FROM_PUBLIC, UINT32_MAX);
}

/*
 * The NAT has looked at the first fragment of datagram k (ip is it, as it
 * leaves).  Translated: the fragments that came before it go on now,
 * rewritten the same way.  Refused: those cannot be translated either,
 * so they go now rather than at the end of the hold time.
 */
static void frag_first(struct dp_ctx *c, const struct nat_frag_key *k,
		       const uint8_t *ip, bool translated)
{
	void *held[NAT_FRAG_HOLD_PER_DATAGRAM];
	struct nat_frag_addrs to;
	unsigned n;

	if (c->frag == NULL)
		return;
	n = nat_frag_first(c->frag, k, ip, translated, c->now, &to, held);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = held[i];

		if (!translated) {
			dp_drop(c->st, m, DROP_nat_fragment);
			continue;
		}
		nat_frag_rewrite(mbuf_ip(m), &to);
		c->nat_lc->stats.fragments_translated++;
		frag_send(c, m, (enum nat_frag_path)k->path);
	}
}

/*
 * A later fragment (no transport header) on a NAT path.  true: rewritten
 * like its first fragment, the caller forwards it.  false: m was held
 * until its first fragment comes, or dropped (no tracker, RFC 1858, no
 * room to hold it).
 */
static bool frag_later(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		       enum nat_frag_kind kind, enum nat_frag_path path)
{
	void *evicted = NULL;

	if (c->frag == NULL) {
		dp_drop(c->st, m, DROP_nat_fragment);
		return false;
	}
	switch (nat_frag_later(c->frag, ip, kind, path, m, c->now, &evicted)) {
	case NAT_FRAG_TRANSLATED:
		c->nat_lc->stats.fragments_translated++;
		return true;
	case NAT_FRAG_HELD:
		/* Out of order (REQ-14): it waits for its first fragment. */
		c->nat_lc->stats.fragments_held++;
		if (evicted)
			dp_drop(c->st, evicted, DROP_nat_fragment_timeout);
		return false;
	case NAT_FRAG_NO_ROOM:
		dp_drop(c->st, m, DROP_nat_fragment_timeout);
		return false;
	default:
		dp_drop(c->st, m, DROP_nat_fragment);
		return false;
	}
}

static bool is_later(enum nat_frag_kind kind)
{
	return kind == NAT_FRAG_LATER || kind == NAT_FRAG_UNSAFE;
}

void nat_stage_frag_init(struct dp_ctx *c)
{
	c->frag = NULL;
	if (c->dp->nat == NULL)
		return;
	c->frag = nat_frag_create(NAT_FRAG_DEFAULT_ENTRIES);
	if (c->frag == NULL)
		fprintf(stderr, "portcullisd: lcore %u: no memory for the IPv4 fragment "
			"tracker: later fragments on the NAT path will be dropped "
			"(drop nat_fragment)\n", rte_lcore_id());
}

void nat_stage_frag_tick(struct dp_ctx *c)
{
	void *due[NAT_FRAG_HOLD_MAX];
	unsigned n;

	if (c->frag == NULL)
		return;
	n = nat_frag_expire(c->frag, c->now, due);
	for (unsigned i = 0; i < n; i++)
		dp_drop(c->st, due[i], DROP_nat_fragment_timeout);
}

void nat_stage_frag_fini(struct dp_ctx *c)
{
	void *held[NAT_FRAG_HOLD_MAX];
	unsigned n;

	if (c->frag == NULL)
		return;
	n = nat_frag_drain(c->frag, held);
	for (unsigned i = 0; i < n; i++)
		dp_drop(c->st, held[i], DROP_nat_fragment_timeout);
	nat_frag_destroy(c->frag);
	c->frag = NULL;
}

/* --- Stages ------------------------------------------------------------------ */

void nat_stage_clamp(struct dp_ctx *c, uint8_t *ip, uint32_t len,
		     uint8_t family, uint16_t mss)
{
	if (mss && tcp_mss_clamp(ip, len, family, mss))
		c->nat_lc->stats.mss_clamped++;
}

bool nat_stage_out(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		   uint32_t len)
{
	const struct ipv4_hdr *h = (const void *)ip;
	uint32_t mtu = c->t->ports[PORT_PUBLIC].mtu;
	enum nat_frag_kind kind = nat_frag_kind(ip);
	struct nat_frag_key k = { 0 };
	enum nat_result r;

	/* Senders set DF on whole packets only; a fragment with DF over
	 * the MTU is refused the same way, harmlessly. */
	if (len > mtu && (rte_be_to_cpu_16(h->frag_off) & IPV4_DF)) {
		l3_icmp_error(c, m, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, mtu);
		dp_drop(c->st, m, DROP_too_big);
		return false;
	}
	if (is_later(kind))
		return frag_later(c, m, ip, kind, NAT_FRAG_OUT);
	if (kind == NAT_FRAG_FIRST)
		nat_frag_key_get(ip, NAT_FRAG_OUT, &k);  /* as it came in */
	r = nat_out(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
	/* Held fragments go first, in the order they came (the caller
	 * sends this one when we return). */
	if (kind == NAT_FRAG_FIRST)
		frag_first(c, &k, ip, r == NAT_OK);
	if (r != NAT_OK) {
		refuse(c, m, r);
		return false;
	}
	nat_stage_clamp(c, ip, len, IP_V4, c->t->mss_public);
	return true;
}

void nat_stage_in(struct dp_ctx *c, struct rte_mbuf *m)
{
	struct pkt_meta *meta = pkt_meta(m);
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->l3_off);
	uint32_t len = rte_pktmbuf_data_len(m) - meta->l3_off;
	enum nat_frag_kind kind;
	struct nat_frag_key k = { 0 };
	uint8_t family;
	enum nat_result r;

	len = l3_ip_len(ip, len, &family);
	if (len == 0 || family != IP_V4) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	kind = nat_frag_kind(ip);
	if (is_later(kind)) {
		if (frag_later(c, m, ip, kind, NAT_FRAG_IN))
			l3_forward(c, m, FROM_PUBLIC, UINT32_MAX);
		return;
	}
	if (kind == NAT_FRAG_FIRST)
		nat_frag_key_get(ip, NAT_FRAG_IN, &k);   /* as it came in */
	r = nat_in(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
	if (kind == NAT_FRAG_FIRST)
		frag_first(c, &k, ip, r == NAT_OK);
	switch (r) {
	case NAT_OK:
		nat_stage_clamp(c, ip, len, IP_V4, c->t->mss_public);
		l3_forward(c, m, FROM_PUBLIC, UINT32_MAX);
		return;
	case NAT_LOCAL:
		/* A ping to our external address: l3_forward answers it. */
		l3_forward(c, m, FROM_PRIVATE, UINT32_MAX);
		return;
	default:
		dp_drop(c->st, m, drop_reason(r));
	}
}

bool nat_stage_hairpin(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		       uint32_t len)
{
	enum nat_frag_kind kind = nat_frag_kind(ip);
	struct nat_frag_key k = { 0 };
	enum nat_result r;

	if (is_later(kind)) {
		/* No tracker: for us, as before (echo_reply drops it). */
		if (c->frag == NULL)
			return false;
		if (frag_later(c, m, ip, kind, NAT_FRAG_HAIRPIN))
			l3_forward(c, m, FROM_PUBLIC, UINT32_MAX);
		return true;
	}
	if (kind == NAT_FRAG_FIRST)
		nat_frag_key_get(ip, NAT_FRAG_HAIRPIN, &k); /* as it came in */
	if (!nat_hairpin_target(c->dp->nat, &c->t->nat, ip, len, c->now)) {
		if (kind == NAT_FRAG_FIRST)
			frag_first(c, &k, ip, false);
		return false;
	}
	/* RFC 4787 REQ-9: the inside target sees the sender's external
	 * address and port, as any outside host would. */
	r = nat_out(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
	if (r == NAT_OK)
		r = nat_in(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
	if (kind == NAT_FRAG_FIRST)
		frag_first(c, &k, ip, r == NAT_OK);
	if (r != NAT_OK) {
		refuse(c, m, r);
		return true;
	}
	l3_forward(c, m, FROM_PUBLIC, UINT32_MAX);
	return true;
}

void nat_stage_local_out(struct dp_ctx *c, uint8_t *ip, uint32_t len)
{
	const struct ipv4_hdr *h = (const void *)ip;

	uint32_t ihl = (h->version_ihl & 0xf) * 4u;
	uint8_t type = len > ihl ? ip[ihl] : 0;

	/* Only our ICMP errors; a miss (the error is about a packet to the
	 * gateway itself) leaves the packet as it is. */
	if (h->protocol == IPPROTO_ICMP_ &&
	    (type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	     type == ICMP_PARAMETER_PROBLEM))
		(void)nat_out(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
}
