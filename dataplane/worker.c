/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker lcore loop: receive a burst on each port (or, when both sides
 * share one NIC, on that port, split by VLAN id), classify it once into
 * typed sub-bursts (data messages, handshake messages, ARP/ND exceptions,
 * IP to forward), run each stage over its sub-burst, transmit.  Handshake
 * messages and ARP/ND go to the control thread on rings, so X25519 and all
 * table changes stay off this loop.  With [Port public] HostInterface the
 * host's own traffic is one more sub-burst, to the exception TAP, which
 * each worker also polls on its queue (host_tap.c).
 */
#include "worker.h"

#include <unistd.h>

#include <urcu-qsbr.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "datapath.h"
#include "host_tap.h"
#include "l3.h"
#include "nat.h"
#include "nat_stage.h"
#include "tunnel.h"

enum { IDLE_SPINS_BEFORE_SLEEP = 256, IDLE_SLEEP_US = 50 };

struct sub_bursts {
	struct rte_mbuf *data[DP_BURST];       /* type-4 messages */
	struct rte_mbuf *handshake[DP_BURST];  /* types 1-3 */
	struct rte_mbuf *exception[DP_BURST];  /* ARP, ND */
	struct rte_mbuf *ip[DP_BURST];         /* to forward or answer */
	struct rte_mbuf *host[DP_BURST];       /* to the host's TAP */
	unsigned n_data, n_handshake, n_exception, n_ip, n_host;
};

static bool is_our_mac_or_group(const struct dp_port_conf *pc, const uint8_t *dst)
{
	return (dst[0] & 1) || memcmp(dst, pc->mac, 6) == 0;
}

/* The Ethernet/VLAN layer: sets l3_off, returns the ethertype or 0. */
static uint16_t parse_l2(struct dp_ctx *c, struct rte_mbuf *m,
			 const struct dp_port_conf *pc)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	const struct eth_hdr *eth = (const void *)d;
	uint16_t type, off = sizeof(*eth), vid = 0;

	if (len < sizeof(*eth))
		return c->st->drops[DROP_malformed]++, 0;
	if (!is_our_mac_or_group(pc, eth->dst))
		return c->st->drops[DROP_not_for_us]++, 0;
	type = rte_be_to_cpu_16(eth->type);
	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		vid = m->vlan_tci & 0xfff;     /* the PMD took the tag off */
	} else if (type == ETHERTYPE_VLAN) {
		const struct vlan_hdr *vh = (const void *)(eth + 1);

		if (len < sizeof(*eth) + sizeof(*vh))
			return c->st->drops[DROP_malformed]++, 0;
		vid = rte_be_to_cpu_16(vh->tci) & 0xfff;
		type = rte_be_to_cpu_16(vh->type);
		off += sizeof(*vh);
	}
	if (vid != pc->vlan)
		return c->st->drops[DROP_wrong_vlan]++, 0;
	pkt_meta(m)->l3_off = off;
	return type;
}

/* UDP to our listen port on one of our public addresses: the WireGuard
 * message offset, else 0. */
static uint16_t wg_message_offset(struct dp_ctx *c, struct rte_mbuf *m,
				  const uint8_t *ip, uint32_t len, uint8_t family)
{
	const struct udp_hdr *udp;
	struct ip_addr dst = { .family = family };
	uint32_t l4;

	if (family == IP_V4) {
		const struct ipv4_hdr *h = (const void *)ip;

		if (h->protocol != IPPROTO_UDP_ ||
		    (rte_be_to_cpu_16(h->frag_off) & (IPV4_MF | IPV4_OFFSET_MASK)))
			return 0;
		l4 = (h->version_ihl & 0xf) * 4u;
		memcpy(dst.bytes, h->dst, 4);
	} else {
		const struct ipv6_hdr *h6 = (const void *)ip;

		if (h6->next_header != IPPROTO_UDP_)
			return 0;
		l4 = sizeof(*h6);
		memcpy(dst.bytes, h6->dst, 16);
	}
	if (len < l4 + sizeof(*udp))
		return 0;
	udp = (const void *)(ip + l4);
	if (rte_be_to_cpu_16(udp->dst_port) != c->t->listen_port)
		return 0;
	for (unsigned i = 0; i < c->t->ports[PORT_PUBLIC].n_addrs; i++)
		if (ip_addr_equal(&c->t->ports[PORT_PUBLIC].addrs[i].addr, &dst))
			return (uint16_t)(pkt_meta(m)->l3_off + l4 + sizeof(*udp));
	return 0;
}

static bool is_nd(const uint8_t *ip, uint32_t len)
{
	const struct ipv6_hdr *h6 = (const void *)ip;
	uint8_t type;

	if (h6->next_header != IPPROTO_ICMPV6_ || len < sizeof(*h6) + 4)
		return false;
	type = ip[sizeof(*h6)];
	return type >= ICMP6_ROUTER_SOLICIT && type <= ICMP6_NEIGHBOR_ADVERT + 1;
}

/* Sort a WireGuard message by type; false if it is not a valid one. */
static bool classify_wg(struct dp_ctx *c, struct rte_mbuf *m, uint16_t msg_off,
			struct sub_bursts *sb)
{
	const uint8_t *msg = rte_pktmbuf_mtod_offset(m, const uint8_t *, msg_off);
	uint32_t len = rte_pktmbuf_data_len(m) - msg_off;
	uint32_t type = len >= 4 ? rte_le_to_cpu_32(*(const uint32_t *)msg) : 0;

	pkt_meta(m)->msg_off = msg_off;
	switch (type) {
	case MESSAGE_DATA:
		if (len < MESSAGE_MINIMUM_LENGTH)
			return false;
		sb->data[sb->n_data++] = m;
		return true;
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
	case MESSAGE_HANDSHAKE_COOKIE:
		pkt_meta(m)->kind = PKT_HANDSHAKE;
		sb->handshake[sb->n_handshake++] = m;
		return true;
	default:
		(void)c;
		return false;
	}
}

/* An ARP reply or a neighbour advertisement reached the gateway's MAC,
 * which the host's TAP shares: the host may have asked, so it gets a copy
 * while the gateway reads the original as usual. */
static void copy_answer_to_host(struct dp_ctx *c, struct rte_mbuf *m,
				struct sub_bursts *sb)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    pkt_meta(m)->l3_off);
	uint32_t avail = rte_pktmbuf_data_len(m) - pkt_meta(m)->l3_off;
	struct rte_mbuf *copy;

	if (pkt_meta(m)->kind == PKT_ARP) {
		const struct arp_hdr *a = (const void *)l3;

		if (avail < sizeof(*a) || a->oper != rte_cpu_to_be_16(ARP_OP_REPLY))
			return;
	} else if (l3[sizeof(struct ipv6_hdr)] != ICMP6_NEIGHBOR_ADVERT) {
		return;                        /* is_nd checked the length */
	}
	copy = host_tap_copy(c, m);
	if (copy)
		sb->host[sb->n_host++] = copy;
}

static void classify(struct dp_ctx *c, struct rte_mbuf *m, unsigned port,
		     struct sub_bursts *sb)
{
	const struct dp_port_conf *pc = &c->t->ports[port];
	struct pkt_meta *meta = pkt_meta(m);
	uint16_t type, msg_off;
	const uint8_t *ip;
	uint32_t avail, len;
	uint8_t family = 0;

	if (m->nb_segs > 1) {
		dp_drop(c->st, m, DROP_multiseg);
		return;
	}
	type = parse_l2(c, m, pc);
	if (type == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	meta->in_port = (uint8_t)port;
	if (type == ETHERTYPE_ARP) {
		meta->kind = PKT_ARP;
		if (port == PORT_PUBLIC && c->t->has_host_port)
			copy_answer_to_host(c, m, sb);
		sb->exception[sb->n_exception++] = m;
		return;
	}
	if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6) {
		dp_drop(c->st, m, DROP_unknown_ethertype);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->l3_off);
	avail = rte_pktmbuf_data_len(m) - meta->l3_off;
	len = l3_ip_len(ip, avail, &family);
	if (len == 0 || family != (type == ETHERTYPE_IPV4 ? IP_V4 : IP_V6)) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	meta->l3_family = family;
	if (family == IP_V6 && is_nd(ip, len)) {
		meta->kind = PKT_ND;
		if (port == PORT_PUBLIC && c->t->has_host_port)
			copy_answer_to_host(c, m, sb);
		sb->exception[sb->n_exception++] = m;
		return;
	}
	if (port == PORT_PUBLIC) {
		msg_off = wg_message_offset(c, m, ip, len, family);
		if (msg_off) {
			if (!classify_wg(c, m, msg_off, sb))
				dp_drop(c->st, m, DROP_wg_bad_type);
			return;
		}
		if (c->t->has_host_port && host_tap_wants(c->t, ip, len, family)) {
			sb->host[sb->n_host++] = m;
			return;
		}
	}
	sb->ip[sb->n_ip++] = m;
}

static void to_ring(struct dp_ctx *c, struct rte_ring *r, struct rte_mbuf **pkts,
		    unsigned n, enum dp_drop_reason full)
{
	unsigned done = n ? rte_ring_mp_enqueue_burst(r, (void **)pkts, n, NULL) : 0;

	for (unsigned i = done; i < n; i++)
		dp_drop(c->st, pkts[i], full);
}

/* A public-port packet that is not a WireGuard message: NAT inbound for
 * an external address, otherwise only our own addresses are answered.
 * true: m was consumed. */
static bool public_input(struct dp_ctx *c, struct rte_mbuf *m)
{
	struct ip_addr dst = { .family = pkt_meta(m)->l3_family };
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    pkt_meta(m)->l3_off);

	memcpy(dst.bytes, dst.family == IP_V4 ? ((const struct ipv4_hdr *)ip)->dst
					      : ((const struct ipv6_hdr *)ip)->dst,
	       ip_addr_len(&dst));
	if (dst.family == IP_V4 && c->t->nat.enabled &&
	    nat_is_external(&c->t->nat, dst.bytes)) {
		nat_stage_in(c, m);
		return true;
	}
	if (!l3_is_local_addr(c->t, &dst)) {
		dp_drop(c->st, m, DROP_not_for_us);
		return true;
	}
	return false;
}

static void process(struct dp_ctx *c, struct sub_bursts *sb, unsigned port)
{
	struct ip_endpoint src;

	for (unsigned i = 0; i < sb->n_data; i++) {
		if (i + 1 < sb->n_data)
			rte_prefetch0(rte_pktmbuf_mtod(sb->data[i + 1], void *));
		tunnel_outer_source(sb->data[i], &src);
		tunnel_decap(c, sb->data[i], pkt_meta(sb->data[i])->msg_off, &src);
	}
	to_ring(c, c->dp->handshake_ring, sb->handshake, sb->n_handshake,
		DROP_handshake_ring_full);
	to_ring(c, c->dp->exception_ring, sb->exception, sb->n_exception,
		DROP_exception_ring_full);
	for (unsigned i = 0; i < sb->n_ip; i++) {
		struct rte_mbuf *m = sb->ip[i];

		/* The public side reaches the gateway itself, and the inside
		 * only through the NAT. */
		if (port == PORT_PUBLIC && public_input(c, m))
			continue;
		l3_forward(c, m, FROM_PRIVATE, UINT32_MAX);
	}
	host_tap_send(c, sb->host, sb->n_host);
}

/* Count, classify and process what one logical port received. */
static void port_input(struct dp_ctx *c, unsigned port, struct rte_mbuf **pkts,
		       unsigned n)
{
	struct sub_bursts sb;

	if (n == 0)
		return;
	sb.n_data = sb.n_handshake = sb.n_exception = sb.n_ip = sb.n_host = 0;
	c->st->port[port].rx_packets += n;
	for (unsigned i = 0; i < n; i++) {
		c->st->port[port].rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
		classify(c, pkts[i], port, &sb);
	}
	process(c, &sb, port);
}

static unsigned poll_port(struct dp_ctx *c, unsigned port)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n;

	n = rte_eth_rx_burst(c->t->ports[port].port_id, c->queue, pkts, DP_BURST);
	port_input(c, port, pkts, n);
	return n;
}

/* The 802.1Q id of a frame: 0 if untagged, or too short to tell (parse_l2
 * then drops it as malformed, whichever side it lands on). */
static uint16_t frame_vlan(const struct rte_mbuf *m)
{
	const struct eth_hdr *eth = rte_pktmbuf_mtod(m, const struct eth_hdr *);
	const struct vlan_hdr *vh = (const void *)(eth + 1);

	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED)
		return m->vlan_tci & 0xfff;
	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*vh) ||
	    eth->type != rte_cpu_to_be_16(ETHERTYPE_VLAN))
		return 0;
	return rte_be_to_cpu_16(vh->tci) & 0xfff;
}

/*
 * One NIC for both sides (t->shared_port): one RX burst, split by VLAN id
 * into the private side's frames and the rest, each then processed as if
 * it came from a port of its own.  The rest goes to the public side, whose
 * parse_l2 drops a frame of a third VLAN as wrong_vlan, so such frames
 * count as received on the public port, as they would on a NIC of its own.
 * Order within each side is kept.
 */
static unsigned poll_shared(struct dp_ctx *c)
{
	struct rte_mbuf *pkts[DP_BURST], *priv[DP_BURST];
	uint16_t priv_vlan = c->t->ports[PORT_PRIVATE].vlan;
	unsigned n, n_pub = 0, n_priv = 0;

	n = rte_eth_rx_burst(c->t->ports[PORT_PUBLIC].port_id, c->queue, pkts, DP_BURST);
	for (unsigned i = 0; i < n; i++) {
		if (frame_vlan(pkts[i]) == priv_vlan)
			priv[n_priv++] = pkts[i];
		else
			pkts[n_pub++] = pkts[i];       /* n_pub <= i: in place */
	}
	port_input(c, PORT_PUBLIC, pkts, n_pub);
	port_input(c, PORT_PRIVATE, priv, n_priv);
	return n;
}

/* Worker 0 sends what the control thread queued (ARP, handshakes, held
 * packets): the control thread has no TX queue of its own. */
static unsigned drain_control_tx(struct dp_ctx *c)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned total = 0;

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		unsigned n = rte_ring_sc_dequeue_burst(c->dp->tx_ring[p], (void **)pkts,
						       DP_BURST, NULL);

		for (unsigned i = 0; i < n; i++)
			dp_tx_enqueue(c, p, pkts[i]);
		total += n;
	}
	return total;
}

int worker_main(void *arg)
{
	struct worker_args *wa = arg;
	struct dp *dp = wa->dp;
	struct dp_ctx c = {
		.dp = dp,
		.st = &dp->stats[rte_lcore_id()],
		.nat_lc = &dp->nat_lcore[rte_lcore_id()],
		.queue = (uint16_t)wa->index,
		.icmp_tokens = ICMP_ERRORS_BURST,
	};
	unsigned idle = 0;
	bool frag_tried;

	nat_lcore_init(c.nat_lc);
	nat_stage_frag_init(&c);             /* IPv4 fragments through the NAT */
	frag_tried = dp->nat != NULL;
	rcu_register_thread();
	while (dp->running) {
		unsigned work = 0;

		c.t = rcu_dereference(dp->tables);
		dp_ctx_begin_burst(&c, dp_now());
		if (c.t->shared_port) {
			if (c.queue < dp->rx_queues)
				work += poll_shared(&c);
		} else {
			for (unsigned p = 0; p < PORT_COUNT; p++)
				if (c.t->ports[p].present && c.queue < dp->rx_queues)
					work += poll_port(&c, p);
		}
		if (c.t->has_host_port && c.queue < dp->rx_queues)
			work += host_tap_poll(&c);
		if (wa->index == 0)
			work += drain_control_tx(&c);
		if (!frag_tried && dp->nat) {    /* [NAT] added by a reload */
			nat_stage_frag_init(&c);
			frag_tried = true;
		}
		nat_stage_frag_tick(&c);         /* drop fragments held too long */
		dp_tx_flush(&c);
		rcu_quiescent_state();
		if (work || dp->busy_poll) {
			idle = 0;
			continue;
		}
		/* Sharing cores (tests, small boxes): nap when idle, offline so
		 * grace periods need not wait for us. */
		if (++idle > IDLE_SPINS_BEFORE_SLEEP) {
			rcu_thread_offline();
			usleep(IDLE_SLEEP_US);
			rcu_thread_online();
		}
	}
	nat_stage_frag_fini(&c);             /* frees the mbufs still held */
	if (dp->nat)
		nat_lcore_release(dp->nat, c.nat_lc);
	rcu_unregister_thread();
	return 0;
}
