/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Network-layer helpers of the fast path: header access, the per-port
 * routing decision, forwarding between the private port and the tunnel,
 * local delivery (ICMP echo for our own addresses) and ICMP errors.
 */
#ifndef PORTCULLIS_L3_H
#define PORTCULLIS_L3_H

#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"

struct nat_frag;
struct rte_mbuf;

/* What a worker (or the control thread) carries through one burst. */
struct dp_ctx {
	struct dp *dp;
	struct dp_tables *t;
	struct dp_lcore_stats *st;
	struct nat_lcore *nat_lc;             /* this thread's NAT context */
	/* This worker's IPv4 fragment tracker (nat_frag.h, used by
	 * nat_stage.c); NULL on the control thread or without NAT, where a
	 * later fragment on the NAT path is dropped as nat_fragment. */
	struct nat_frag *frag;
	uint64_t now;
	unsigned icmp_tokens;                 /* ICMP error budget */
	uint64_t icmp_refill;
	bool is_control;
	uint16_t queue;                       /* this worker's TX queue */
	struct rte_mbuf *tx[PORT_COUNT][2 * DP_BURST];
	unsigned n_tx[PORT_COUNT];
	/* The last next hop resolved in this burst: most of a burst goes to
	 * one next hop (the public gateway, one private host), so this saves
	 * a hash lookup per packet.  Valid for one burst only, so a MAC change
	 * by the control thread is seen by the next burst. */
	struct {
		bool valid;
		uint8_t port;
		struct ip_addr ip;
		uint8_t mac[6];
	} nh_cache;
};

/* Start of a burst: take the time once and forget per-burst caches. */
static inline void dp_ctx_begin_burst(struct dp_ctx *c, uint64_t now)
{
	c->now = now;
	c->nh_cache.valid = false;
}

enum { ICMP_ERRORS_PER_SEC = 200, ICMP_ERRORS_BURST = 50 };

/* Where a packet came from, for the forwarding policy.  FROM_PUBLIC is
 * inbound traffic the NAT has translated (nat_stage_in, hairpin): it may
 * go inside, never back out. */
enum fwd_origin { FROM_PRIVATE, FROM_TUNNEL, FROM_LOCAL, FROM_PUBLIC };

bool l3_route_lookup(const struct dp_port_conf *pc, const struct ip_addr *dst,
		     struct ip_addr *nexthop);
bool l3_is_local_addr(const struct dp_tables *t, const struct ip_addr *a);
/* Our source address of this family on a port; false if it has none. */
bool l3_port_source(const struct dp_port_conf *pc, uint8_t family,
		    const struct ip_addr *dst, struct ip_addr *out);

/*
 * m holds an IP packet at offset pkt_meta(m)->l3_off (family set).  Decide
 * where it goes: our own address (ICMP echo), a peer (encrypt), the private
 * port, or the public port (locally generated only), and hand it on.
 * Consumes m.  from_peer is the peer that sent it (FROM_TUNNEL) or UINT32_MAX.
 */
void l3_forward(struct dp_ctx *c, struct rte_mbuf *m, enum fwd_origin origin,
		uint32_t from_peer);

/* Put m (IP packet at l3_off) on the wire of port towards nexthop. */
void l3_output(struct dp_ctx *c, struct rte_mbuf *m, unsigned port,
	       const struct ip_addr *nexthop);

/* A translated IPv4 packet (a fragment the NAT held back) leaves by the
 * public port as forward_public sends one: routed, then sent, fragmented
 * or refused at the public MTU.  Consumes m. */
void l3_send_public(struct dp_ctx *c, struct rte_mbuf *m);

/* Send an ICMP error about m back to its source (rate-limited). m is not
 * consumed.  type/code per family; mtu for frag-needed / packet-too-big. */
void l3_icmp_error(struct dp_ctx *c, struct rte_mbuf *m, uint8_t type,
		   uint8_t code, uint32_t mtu);

/* Queue m for transmission on port (already a complete frame). */
void dp_tx_enqueue(struct dp_ctx *c, unsigned port, struct rte_mbuf *m);
void dp_tx_flush(struct dp_ctx *c);

/* Prepend an Ethernet (and 802.1Q) header; dst left zero. Returns NULL if no headroom. */
struct eth_hdr *l3_eth_prepend(struct rte_mbuf *m, const struct dp_port_conf *pc,
			       uint16_t ethertype);

/* Read the IP family (IP_V4/IP_V6) and length of the packet at data; 0 if malformed. */
uint32_t l3_ip_len(const uint8_t *data, uint32_t avail, uint8_t *family);

#endif
