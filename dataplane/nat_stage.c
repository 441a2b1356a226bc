/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT stages of the fast path (see nat_stage.h).  The translation itself
 * is the pure core in nat.c / nat_packet.c; this file turns its verdicts
 * into drop counters and ICMP errors.
 */
#include "nat_stage.h"

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "l3.h"
#include "mss.h"
#include "nat.h"
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
	enum nat_result r;

	if (len > mtu && (rte_be_to_cpu_16(h->frag_off) & IPV4_DF)) {
		l3_icmp_error(c, m, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, mtu);
		dp_drop(c->st, m, DROP_too_big);
		return false;
	}
	r = nat_out(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
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
	uint8_t family;
	enum nat_result r;

	len = l3_ip_len(ip, len, &family);
	if (len == 0 || family != IP_V4) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	r = nat_in(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
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
	enum nat_result r;

	if (!nat_hairpin_target(c->dp->nat, &c->t->nat, ip, len, c->now))
		return false;
	/* RFC 4787 REQ-9: the inside target sees the sender's external
	 * address and port, as any outside host would. */
	r = nat_out(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
	if (r == NAT_OK)
		r = nat_in(c->dp->nat, c->nat_lc, &c->t->nat, ip, len, c->now);
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
