/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding decisions and the packets the gateway itself originates:
 * ICMP echo replies for its own addresses and rate-limited ICMP errors
 * (time exceeded, unreachable, fragmentation needed / packet too big).
 */
#include "l3.h"

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "allowedips.h"
#include "checksum.h"
#include "mss.h"
#include "nat.h"
#include "nat_stage.h"
#include "neigh.h"
#include "portcullis/wire.h"
#include "tunnel.h"

bool l3_route_lookup(const struct dp_port_conf *pc, const struct ip_addr *dst,
		     struct ip_addr *nexthop)
{
	uint32_t idx;

	if (!pc->present || pc->route_lpm == NULL ||
	    !allowedips_lookup(pc->route_lpm, dst, &idx) || idx >= pc->n_routes)
		return false;
	*nexthop = pc->routes[idx].via.family ? pc->routes[idx].via : *dst;
	return true;
}

static bool prefix_list_has(const struct ip_prefix *list, unsigned n,
			    const struct ip_addr *a)
{
	for (unsigned i = 0; i < n; i++)
		if (ip_addr_equal(&list[i].addr, a))
			return true;
	return false;
}

bool l3_is_local_addr(const struct dp_tables *t, const struct ip_addr *a)
{
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		const struct dp_port_conf *pc = &t->ports[p];

		if (prefix_list_has(pc->addrs, pc->n_addrs, a) ||
		    ip_addr_equal(&pc->link_local, a))
			return true;
	}
	if (t->nat.enabled && a->family == IP_V4 && nat_is_external(&t->nat, a->bytes))
		return true;
	return prefix_list_has(t->tun_addrs, t->n_tun_addrs, a);
}

bool l3_port_source(const struct dp_port_conf *pc, uint8_t family,
		    const struct ip_addr *dst, struct ip_addr *out)
{
	const struct ip_prefix *first = NULL;

	for (unsigned i = 0; i < pc->n_addrs; i++) {
		if (pc->addrs[i].addr.family != family)
			continue;
		if (dst && ip_prefix_contains(&pc->addrs[i], dst)) {
			*out = pc->addrs[i].addr;
			return true;
		}
		if (first == NULL)
			first = &pc->addrs[i];
	}
	if (first == NULL)
		return false;
	*out = first->addr;
	return true;
}

uint32_t l3_ip_len(const uint8_t *data, uint32_t avail, uint8_t *family)
{
	if (avail < sizeof(struct ipv4_hdr))
		return 0;
	if ((data[0] >> 4) == 4) {
		const struct ipv4_hdr *ip = (const void *)data;
		uint32_t ihl = (ip->version_ihl & 0xf) * 4u;
		uint32_t tot = rte_be_to_cpu_16(ip->total_length);

		if (ihl < sizeof(*ip) || tot < ihl || tot > avail)
			return 0;
		*family = IP_V4;
		return tot;
	}
	if ((data[0] >> 4) == 6 && avail >= sizeof(struct ipv6_hdr)) {
		const struct ipv6_hdr *ip6 = (const void *)data;
		uint32_t tot = sizeof(*ip6) + rte_be_to_cpu_16(ip6->payload_len);

		if (tot > avail)
			return 0;
		*family = IP_V6;
		return tot;
	}
	return 0;
}

static void ip_src_dst(const uint8_t *data, uint8_t family,
		       struct ip_addr *src, struct ip_addr *dst)
{
	src->family = dst->family = family;
	if (family == IP_V4) {
		const struct ipv4_hdr *ip = (const void *)data;

		memcpy(src->bytes, ip->src, 4);
		memcpy(dst->bytes, ip->dst, 4);
	} else {
		const struct ipv6_hdr *ip6 = (const void *)data;

		memcpy(src->bytes, ip6->src, 16);
		memcpy(dst->bytes, ip6->dst, 16);
	}
}

struct eth_hdr *l3_eth_prepend(struct rte_mbuf *m, const struct dp_port_conf *pc,
			       uint16_t ethertype)
{
	uint16_t hl = sizeof(struct eth_hdr) + (pc->vlan ? sizeof(struct vlan_hdr) : 0);
	struct eth_hdr *eth = (void *)rte_pktmbuf_prepend(m, hl);

	if (eth == NULL)
		return NULL;
	memset(eth->dst, 0, sizeof(eth->dst));
	memcpy(eth->src, pc->mac, sizeof(eth->src));
	if (pc->vlan) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		eth->type = rte_cpu_to_be_16(ETHERTYPE_VLAN);
		vh->tci = rte_cpu_to_be_16(pc->vlan);
		vh->type = rte_cpu_to_be_16(ethertype);
	} else {
		eth->type = rte_cpu_to_be_16(ethertype);
	}
	return eth;
}

void dp_tx_enqueue(struct dp_ctx *c, unsigned port, struct rte_mbuf *m)
{
	if (c->n_tx[port] == RTE_DIM(c->tx[port]))
		dp_tx_flush(c);
	c->tx[port][c->n_tx[port]++] = m;
}

static void tx_account(struct dp_ctx *c, unsigned port, struct rte_mbuf **pkts,
		       unsigned n)
{
	struct dp_port_stats *ps = &c->st->port[port];

	ps->tx_packets += n;
	for (unsigned i = 0; i < n; i++)
		ps->tx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
}

void dp_tx_flush(struct dp_ctx *c)
{
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		unsigned n = c->n_tx[p], sent;

		if (n == 0)
			continue;
		if (c->is_control) {
			/* The control thread owns no TX queue: worker 0
			 * drains this ring onto its own queue. */
			sent = rte_ring_sp_enqueue_burst(c->dp->tx_ring[p],
							 (void **)c->tx[p], n, NULL);
		} else {
			sent = rte_eth_tx_burst(c->t->ports[p].port_id, c->queue,
						c->tx[p], (uint16_t)n);
			tx_account(c, p, c->tx[p], sent);
		}
		for (unsigned i = sent; i < n; i++)
			dp_drop(c->st, c->tx[p][i], DROP_tx_full);
		c->n_tx[p] = 0;
	}
}

void l3_output(struct dp_ctx *c, struct rte_mbuf *m, unsigned port,
	       const struct ip_addr *nexthop)
{
	const struct dp_port_conf *pc = &c->t->ports[port];
	struct pkt_meta *meta = pkt_meta(m);
	struct eth_hdr *eth;

	rte_pktmbuf_adj(m, meta->l3_off);
	eth = l3_eth_prepend(m, pc, meta->l3_family == IP_V4 ? ETHERTYPE_IPV4
							     : ETHERTYPE_IPV6);
	if (eth == NULL) {
		dp_drop(c->st, m, DROP_no_room);
		return;
	}
	meta->l3_off = pc->vlan ? 18 : 14;
	if (c->nh_cache.valid && c->nh_cache.port == port &&
	    ip_addr_equal(&c->nh_cache.ip, nexthop)) {
		memcpy(eth->dst, c->nh_cache.mac, 6);
		dp_tx_enqueue(c, port, m);
		return;
	}
	if (neigh_lookup(c->dp->neigh, port, nexthop, eth->dst)) {
		c->nh_cache.valid = true;
		c->nh_cache.port = (uint8_t)port;
		c->nh_cache.ip = *nexthop;
		memcpy(c->nh_cache.mac, eth->dst, 6);
		dp_tx_enqueue(c, port, m);
		return;
	}
	if (c->is_control) {
		neigh_hold(c, port, nexthop, m);
		return;
	}
	meta->kind = PKT_NEED_NEIGH;
	meta->out_port = (uint8_t)port;
	meta->nexthop = *nexthop;
	if (rte_ring_mp_enqueue(c->dp->exception_ring, m) != 0)
		dp_drop(c->st, m, DROP_exception_ring_full);
}

/* --- Local delivery ---------------------------------------------------- */

static void echo_reply(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		       uint8_t family, uint32_t len)
{
	uint8_t tmp[16];

	if (family == IP_V4) {
		struct ipv4_hdr *h = (void *)ip;
		uint32_t ihl = (h->version_ihl & 0xf) * 4u;
		struct icmp_hdr *icmp = (void *)(ip + ihl);

		if (h->protocol != IPPROTO_ICMP_ || len < ihl + sizeof(*icmp) ||
		    icmp->type != ICMP_ECHO_REQUEST ||
		    (rte_be_to_cpu_16(h->frag_off) & (IPV4_MF | IPV4_OFFSET_MASK)))
			goto not_handled;
		icmp->type = ICMP_ECHO_REPLY;
		icmp->checksum = rte_cpu_to_be_16(csum_update16(
			rte_be_to_cpu_16(icmp->checksum), ICMP_ECHO_REQUEST << 8,
			ICMP_ECHO_REPLY << 8));
		memcpy(tmp, h->src, 4);
		memcpy(h->src, h->dst, 4);
		memcpy(h->dst, tmp, 4);
		h->ttl = 64;
		h->checksum = 0;
		h->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(h, ihl, 0)));
	} else {
		struct ipv6_hdr *h = (void *)ip;
		struct icmp_hdr *icmp = (void *)(h + 1);

		if (h->next_header != IPPROTO_ICMPV6_ || len < sizeof(*h) + sizeof(*icmp) ||
		    icmp->type != ICMP6_ECHO_REQUEST)
			goto not_handled;
		icmp->type = ICMP6_ECHO_REPLY;
		icmp->checksum = rte_cpu_to_be_16(csum_update16(
			rte_be_to_cpu_16(icmp->checksum), ICMP6_ECHO_REQUEST << 8,
			ICMP6_ECHO_REPLY << 8));
		memcpy(tmp, h->src, 16);
		memcpy(h->src, h->dst, 16);
		memcpy(h->dst, tmp, 16);
		h->hop_limit = 64;
	}
	/* in_port stays: the reply leaves the way the request came. */
	l3_forward(c, m, FROM_LOCAL, UINT32_MAX);
	return;
not_handled:
	dp_drop(c->st, m, DROP_not_for_us);
}

/* --- Forwarding -------------------------------------------------------- */

/* Decrement TTL / hop limit; false (ICMP sent) when it runs out. */
static bool hop_decrement(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
			  uint8_t family)
{
	if (family == IP_V4) {
		struct ipv4_hdr *h = (void *)ip;

		if (h->ttl <= 1) {
			l3_icmp_error(c, m, ICMP_TIME_EXCEEDED, 0, 0);
			return false;
		}
		uint16_t old = (uint16_t)(h->ttl << 8 | h->protocol);
		h->ttl--;
		h->checksum = rte_cpu_to_be_16(csum_update16(
			rte_be_to_cpu_16(h->checksum), old,
			(uint16_t)(h->ttl << 8 | h->protocol)));
		return true;
	}
	struct ipv6_hdr *h6 = (void *)ip;

	if (h6->hop_limit <= 1) {
		l3_icmp_error(c, m, ICMP6_TIME_EXCEEDED, 0, 0);
		return false;
	}
	h6->hop_limit--;
	return true;
}

/* Where a (fragment of a) forwarded packet goes next. */
struct next_hop {
	struct gw_peer *peer;                  /* encrypt to it, or */
	unsigned port;                         /* output on port via nh */
	struct ip_addr nh;
};

static void send_on(struct dp_ctx *c, struct rte_mbuf *m, const struct next_hop *to)
{
	if (to->peer)
		tunnel_encap(c, m, to->peer);
	else
		l3_output(c, m, to->port, &to->nh);
}

/*
 * RFC 791 fragmentation by copy, for IPv4 without DF over the MTU: a rare
 * path (TCP sets DF), so clarity beats zero-copy here.  Options are copied
 * into every fragment.  Consumes m.
 */
static void fragment_v4(struct dp_ctx *c, struct rte_mbuf *m, const uint8_t *ip,
			uint32_t len, uint32_t mtu, const struct next_hop *to)
{
	const struct ipv4_hdr *h = (const void *)ip;
	uint32_t ihl = (h->version_ihl & 0xf) * 4u, payload = len - ihl;
	uint32_t step = (mtu - ihl) & ~7u, off;
	uint16_t fo = rte_be_to_cpu_16(h->frag_off);
	uint32_t base = (fo & IPV4_OFFSET_MASK) * 8u;

	for (off = 0; off < payload; off += step) {
		uint32_t chunk = RTE_MIN(step, payload - off);
		bool more = off + chunk < payload || (fo & IPV4_MF);
		struct rte_mbuf *n = rte_pktmbuf_alloc(c->dp->pool);
		uint8_t *d = n ? (uint8_t *)rte_pktmbuf_append(n, (uint16_t)(ihl + chunk)) : NULL;
		struct ipv4_hdr *nh = (void *)d;

		if (d == NULL) {
			if (n)
				rte_pktmbuf_free(n);
			c->st->drops[DROP_no_mbuf]++;
			break;
		}
		memcpy(d, ip, ihl);
		memcpy(d + ihl, ip + ihl + off, chunk);
		nh->total_length = rte_cpu_to_be_16((uint16_t)(ihl + chunk));
		nh->frag_off = rte_cpu_to_be_16((uint16_t)(((base + off) / 8) |
							   (more ? IPV4_MF : 0)));
		nh->checksum = 0;
		nh->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(nh, ihl, 0)));
		*pkt_meta(n) = *pkt_meta(m);
		pkt_meta(n)->l3_off = 0;
		send_on(c, n, to);
	}
	rte_pktmbuf_free(m);
}

/* Send, fragment, or refuse with ICMP (frag needed / packet too big). */
static void send_checked(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
			 uint8_t family, uint32_t len, uint32_t mtu,
			 const struct next_hop *to)
{
	if (len <= mtu) {
		send_on(c, m, to);
		return;
	}
	if (family == IP_V4) {
		const struct ipv4_hdr *h = (const void *)ip;

		if (!(rte_be_to_cpu_16(h->frag_off) & IPV4_DF) && mtu >= 68) {
			fragment_v4(c, m, ip, len, mtu, to);
			return;
		}
		l3_icmp_error(c, m, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, mtu);
	} else {
		l3_icmp_error(c, m, ICMP6_PACKET_TOO_BIG, 0, mtu);
	}
	dp_drop(c->st, m, DROP_too_big);
}

/*
 * The tunnel <-> private policy of [NAT] AllowTunnelToPrivate /
 * AllowPrivateToTunnel, stateful (nat_track.c): a denied direction may
 * not start flows, but replies to flows the other side started pass, and
 * ICMP errors about them.  Both allowed: no tracking at all; both denied:
 * nothing passes.  NAT-translated inbound traffic and the gateway's own
 * packets may go either way.  False with *why: the caller drops m.
 */
static bool policy_allows(struct dp_ctx *c, struct rte_mbuf *m,
			  enum fwd_origin origin, bool to_tunnel,
			  const uint8_t *ip, uint32_t len,
			  enum dp_drop_reason *why)
{
	const struct nat_config *nc = &c->t->nat;
	bool fwd, back;                 /* this direction, the reverse one */
	enum nat_result r;

	if (origin == FROM_PRIVATE && to_tunnel) {
		fwd = nc->allow_private_to_tunnel;
		back = nc->allow_tunnel_to_private;
	} else if (origin == FROM_TUNNEL && !to_tunnel) {
		fwd = nc->allow_tunnel_to_private;
		back = nc->allow_private_to_tunnel;
	} else {
		return true;
	}
	if (fwd && back)
		return true;
	*why = DROP_policy_denied;
	/* The keys live in [NAT], which brings the table; without one
	 * the rule is stateless, as it was before tracking. */
	if ((!fwd && !back) || c->dp->nat == NULL)
		return fwd;
	r = fwd ? nat_track_open(c->dp->nat, c->nat_lc, nc, ip, len, c->now)
		: nat_track_reply(c->dp->nat, c->nat_lc, nc, ip, len, c->now);
	if (r == NAT_MALFORMED)
		*why = DROP_malformed;
	if (r == NAT_TABLE_FULL) {      /* as nat_stage.c: tell the sender */
		bool v4 = ip[0] >> 4 == 4;

		*why = DROP_nat_table_full;
		l3_icmp_error(c, m, v4 ? ICMP_DEST_UNREACH : ICMP6_DEST_UNREACH,
			      v4 ? ICMP_ADMIN_PROHIBITED_CODE
				 : ICMP6_ADMIN_PROHIBITED_CODE, 0);
	}
	return r == NAT_OK;
}

/* Out of the public port: only through the NAT, IPv4, when configured. */
static void forward_public(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
			   uint8_t family, uint32_t len, const struct ip_addr *dst)
{
	struct ip_addr nh;

	if (!c->t->nat.enabled || family != IP_V4 ||
	    !l3_route_lookup(&c->t->ports[PORT_PUBLIC], dst, &nh)) {
		l3_icmp_error(c, m, family == IP_V4 ? ICMP_DEST_UNREACH : ICMP6_DEST_UNREACH,
			      family == IP_V4 ? ICMP_HOST_UNREACH_CODE : ICMP6_NO_ROUTE_CODE, 0);
		dp_drop(c->st, m, DROP_no_route);
		return;
	}
	if (nat_stage_out(c, m, ip, len)) {
		struct next_hop to = { .port = PORT_PUBLIC, .nh = nh };

		/* Translated: a non-DF packet over the MTU is fragmented now,
		 * after its transport header was rewritten. */
		send_checked(c, m, ip, family, len, c->t->ports[PORT_PUBLIC].mtu, &to);
	}
}

void l3_send_public(struct dp_ctx *c, struct rte_mbuf *m)
{
	struct pkt_meta *meta = pkt_meta(m);
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->l3_off);
	uint32_t len = rte_pktmbuf_data_len(m) - meta->l3_off;
	struct ip_addr dst = { .family = IP_V4 };
	struct next_hop to = { .port = PORT_PUBLIC };

	/* The route was there for the first fragment; a table swap since
	 * may have taken it.  No ICMP error: this one is translated. */
	memcpy(dst.bytes, ((const struct ipv4_hdr *)ip)->dst, 4);
	if (!l3_route_lookup(&c->t->ports[PORT_PUBLIC], &dst, &to.nh)) {
		dp_drop(c->st, m, DROP_no_route);
		return;
	}
	send_checked(c, m, ip, IP_V4, len, c->t->ports[PORT_PUBLIC].mtu, &to);
}

/* What the gateway says itself (echo replies, ICMP errors) to the public
 * side goes back out of the public port, even when a peer's AllowedIPs
 * (say 0.0.0.0/0) would cover the address. */
static void output_local_public(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
				uint8_t family, uint32_t len, const struct ip_addr *dst)
{
	struct ip_addr nh;

	if (!l3_route_lookup(&c->t->ports[PORT_PUBLIC], dst, &nh)) {
		dp_drop(c->st, m, DROP_no_route);
		return;
	}
	if (c->t->nat.enabled && family == IP_V4)
		nat_stage_local_out(c, ip, len);
	l3_output(c, m, PORT_PUBLIC, &nh);
}

void l3_forward(struct dp_ctx *c, struct rte_mbuf *m, enum fwd_origin origin,
		uint32_t from_peer)
{
	struct pkt_meta *meta = pkt_meta(m);
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, meta->l3_off);
	uint32_t avail = rte_pktmbuf_data_len(m) - meta->l3_off, len, pid;
	struct ip_addr src, dst, nh;
	uint8_t family = 0;

	(void)from_peer;
	len = l3_ip_len(ip, avail, &family);
	if (len == 0) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	rte_pktmbuf_trim(m, avail - len);   /* Ethernet padding */
	meta->l3_family = family;
	ip_src_dst(ip, family, &src, &dst);

	if (origin != FROM_LOCAL && l3_is_local_addr(c->t, &dst)) {
		/* RFC 4787 REQ-9: inside to an external address that maps
		 * to an inside host loops back through the NAT. */
		if (origin != FROM_PUBLIC && family == IP_V4 && c->t->nat.enabled &&
		    nat_is_external(&c->t->nat, dst.bytes) &&
		    nat_stage_hairpin(c, m, ip, len))
			return;
		echo_reply(c, m, ip, family, len);
		return;
	}
	if (origin == FROM_LOCAL && meta->in_port == IN_PUBLIC) {
		output_local_public(c, m, ip, family, len, &dst);
		return;
	}
	if (origin != FROM_LOCAL && !hop_decrement(c, m, ip, family)) {
		dp_drop(c->st, m, DROP_ttl_exceeded);
		return;
	}
	if (allowedips_lookup(c->t->allowedips, &dst, &pid) &&
	    pid < c->t->n_peer_slots && c->t->peers[pid]) {
		struct next_hop to = { .peer = c->t->peers[pid] };
		enum dp_drop_reason why = DROP_policy_denied;

		if (!policy_allows(c, m, origin, true, ip, len, &why)) {
			dp_drop(c->st, m, why);
			return;
		}
		nat_stage_clamp(c, ip, len, family, c->t->mss_tunnel[family == IP_V6]);
		send_checked(c, m, ip, family, len, c->t->tunnel_mtu, &to);
		return;
	}
	if (l3_route_lookup(&c->t->ports[PORT_PRIVATE], &dst, &nh)) {
		struct next_hop to = { .port = PORT_PRIVATE, .nh = nh };
		enum dp_drop_reason why = DROP_policy_denied;

		if (!policy_allows(c, m, origin, false, ip, len, &why)) {
			dp_drop(c->st, m, why);
			return;
		}
		if (origin == FROM_TUNNEL)
			nat_stage_clamp(c, ip, len, family, c->t->mss_tunnel[family == IP_V6]);
		send_checked(c, m, ip, family, len, c->t->ports[PORT_PRIVATE].mtu, &to);
		return;
	}
	if (origin == FROM_LOCAL) {
		/* Our own packets towards the public side (ICMP errors for
		 * packets that came from there are handled above). */
		if (l3_route_lookup(&c->t->ports[PORT_PUBLIC], &dst, &nh))
			l3_output(c, m, PORT_PUBLIC, &nh);
		else
			dp_drop(c->st, m, DROP_no_route);
		return;
	}
	if (origin == FROM_PUBLIC) {
		/* Translated inbound with no inside route: never back out. */
		dp_drop(c->st, m, DROP_no_route);
		return;
	}
	forward_public(c, m, ip, family, len, &dst);
}

/* --- ICMP errors ------------------------------------------------------- */

static bool icmp_budget(struct dp_ctx *c)
{
	uint64_t elapsed = c->now - c->icmp_refill;
	uint64_t add = elapsed * ICMP_ERRORS_PER_SEC / NSEC_PER_SEC;

	if (add) {
		c->icmp_tokens = (unsigned)RTE_MIN((uint64_t)ICMP_ERRORS_BURST,
						   c->icmp_tokens + add);
		c->icmp_refill = c->now;
	}
	if (c->icmp_tokens == 0)
		return false;
	c->icmp_tokens--;
	return true;
}

/* Never answer an error with an error (RFC 1122 3.2.2, RFC 4443 2.4 e). */
static bool is_icmp_error(const uint8_t *ip, uint8_t family, uint32_t len)
{
	if (family == IP_V4) {
		const struct ipv4_hdr *h = (const void *)ip;
		uint32_t ihl = (h->version_ihl & 0xf) * 4u;

		if (rte_be_to_cpu_16(h->frag_off) & IPV4_OFFSET_MASK)
			return true;      /* not the first fragment */
		return h->protocol == IPPROTO_ICMP_ && len > ihl &&
		       ip[ihl] != ICMP_ECHO_REQUEST && ip[ihl] != ICMP_ECHO_REPLY;
	}
	const struct ipv6_hdr *h6 = (const void *)ip;

	return h6->next_header == IPPROTO_ICMPV6_ && len > sizeof(*h6) &&
	       ip[sizeof(*h6)] < 128;
}

/* Our address to put as the source of an error sent towards dst. */
static bool error_source(struct dp_ctx *c, uint8_t family, uint8_t in_port,
			 const struct ip_addr *dst, struct ip_addr *out)
{
	if (in_port == IN_TUNNEL) {
		for (unsigned i = 0; i < c->t->n_tun_addrs; i++)
			if (c->t->tun_addrs[i].addr.family == family) {
				*out = c->t->tun_addrs[i].addr;
				return true;
			}
	}
	if (in_port < PORT_COUNT && l3_port_source(&c->t->ports[in_port], family, dst, out))
		return true;
	return l3_port_source(&c->t->ports[PORT_PRIVATE], family, dst, out) ||
	       l3_port_source(&c->t->ports[PORT_PUBLIC], family, dst, out);
}

static uint32_t build_icmp4(uint8_t *out, const uint8_t *orig, uint32_t quote,
			    const struct ip_addr *src, uint8_t type, uint8_t code,
			    uint32_t mtu)
{
	struct ipv4_hdr *h = (void *)out;
	struct icmp_hdr *icmp = (void *)(h + 1);
	uint32_t total = sizeof(*h) + sizeof(*icmp) + quote;

	memset(h, 0, sizeof(*h) + sizeof(*icmp));
	h->version_ihl = 0x45;
	h->total_length = rte_cpu_to_be_16((uint16_t)total);
	h->ttl = 64;
	h->protocol = IPPROTO_ICMP_;
	memcpy(h->src, src->bytes, 4);
	memcpy(h->dst, ((const struct ipv4_hdr *)orig)->src, 4);
	h->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(h, sizeof(*h), 0)));
	icmp->type = type;
	icmp->code = code;
	if (mtu)
		icmp->rest = rte_cpu_to_be_32(mtu & 0xffff);
	memcpy(icmp + 1, orig, quote);
	icmp->checksum = rte_cpu_to_be_16(csum_fold(
		csum_partial(icmp, sizeof(*icmp) + quote, 0)));
	return total;
}

static uint32_t build_icmp6(uint8_t *out, const uint8_t *orig, uint32_t quote,
			    const struct ip_addr *src, uint8_t type, uint8_t code,
			    uint32_t mtu)
{
	struct ipv6_hdr *h = (void *)out;
	struct icmp_hdr *icmp = (void *)(h + 1);
	uint32_t plen = sizeof(*icmp) + quote;

	memset(h, 0, sizeof(*h) + sizeof(*icmp));
	h->vtc_flow = rte_cpu_to_be_32(6u << 28);
	h->payload_len = rte_cpu_to_be_16((uint16_t)plen);
	h->next_header = IPPROTO_ICMPV6_;
	h->hop_limit = 64;
	memcpy(h->src, src->bytes, 16);
	memcpy(h->dst, ((const struct ipv6_hdr *)orig)->src, 16);
	icmp->type = type;
	icmp->code = code;
	if (mtu)
		icmp->rest = rte_cpu_to_be_32(mtu);
	memcpy(icmp + 1, orig, quote);
	icmp->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(icmp, plen,
		csum_pseudo(h->src, h->dst, 16, IPPROTO_ICMPV6_, plen))));
	return sizeof(*h) + plen;
}

void l3_icmp_error(struct dp_ctx *c, struct rte_mbuf *m, uint8_t type,
		   uint8_t code, uint32_t mtu)
{
	struct pkt_meta *meta = pkt_meta(m), *nmeta;
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l3_off);
	uint32_t len = rte_pktmbuf_data_len(m) - meta->l3_off, quote, total;
	uint8_t family = meta->l3_family;
	struct ip_addr src, dst, our;
	struct rte_mbuf *n;
	uint8_t *out;

	if (is_icmp_error(ip, family, len))
		return;
	ip_src_dst(ip, family, &src, &dst);
	if (!error_source(c, family, meta->in_port, &src, &our))
		return;
	if (!icmp_budget(c)) {
		c->st->drops[DROP_icmp_ratelimited]++;
		return;
	}
	n = rte_pktmbuf_alloc(c->dp->pool);
	if (n == NULL) {
		c->st->drops[DROP_no_mbuf]++;
		return;
	}
	/* RFC 1812 4.3.2.3: quote as much as fits in 576 bytes; RFC 4443
	 * 2.4 (c): as much as fits in the IPv6 minimum MTU. */
	quote = RTE_MIN(len, family == IP_V4 ? 576u - 28 : 1280u - 48);
	out = (uint8_t *)rte_pktmbuf_append(n, (uint16_t)(quote + 48));
	if (out == NULL) {
		dp_drop(c->st, n, DROP_no_mbuf);
		return;
	}
	total = family == IP_V4 ? build_icmp4(out, ip, quote, &our, type, code, mtu)
				: build_icmp6(out, ip, quote, &our, type, code, mtu);
	rte_pktmbuf_trim(n, (uint16_t)(quote + 48 - total));
	nmeta = pkt_meta(n);
	memset(nmeta, 0, sizeof(*nmeta));
	nmeta->l3_off = 0;
	nmeta->l3_family = family;
	nmeta->in_port = meta->in_port;     /* back the way it came */
	c->st->icmp_tx++;
	l3_forward(c, n, FROM_LOCAL, UINT32_MAX);
}
