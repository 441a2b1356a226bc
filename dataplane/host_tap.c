/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Each worker polls the TAP on its own queue and transmits to it on its
 * own queue, as it does for the NIC: no queue is shared between lcores,
 * and the kernel spreads the host's flows over the TAP queues itself.
 *
 * The TAP is created with the public port's MAC (control/portcullisd.c),
 * so the rewrites below are no-ops in that set-up; they stay so that a
 * frame never reaches the host or the wire with a MAC the other side does
 * not own.
 */
#include "host_tap.h"

#include <string.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "datapath.h"
#include "l3.h"
#include "nat.h"

static bool is_public_addr(const struct dp_tables *t, const struct ip_addr *a)
{
	const struct dp_port_conf *pc = &t->ports[PORT_PUBLIC];

	for (unsigned i = 0; i < pc->n_addrs; i++)
		if (ip_addr_equal(&pc->addrs[i].addr, a))
			return true;
	return false;
}

bool host_tap_wants(const struct dp_tables *t, const uint8_t *ip, uint32_t len,
		    uint8_t family)
{
	struct ip_addr dst = { .family = family };
	bool nat_ext;

	memcpy(dst.bytes, family == IP_V4 ? ((const struct ipv4_hdr *)ip)->dst
					  : ((const struct ipv6_hdr *)ip)->dst,
	       ip_addr_len(&dst));
	nat_ext = family == IP_V4 && t->nat.enabled && nat_is_external(&t->nat, dst.bytes);
	if (nat_ext)
		return !nat_inbound_owned(&t->nat, ip, len);
	return is_public_addr(t, &dst);
}

struct rte_mbuf *host_tap_copy(struct dp_ctx *c, const struct rte_mbuf *m)
{
	struct rte_mbuf *copy = rte_pktmbuf_copy(m, c->dp->pool, 0, UINT32_MAX);

	if (copy == NULL)
		c->st->drops[DROP_no_mbuf]++;
	return copy;
}

void host_tap_send(struct dp_ctx *c, struct rte_mbuf **pkts, unsigned n)
{
	unsigned sent;

	if (n == 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct rte_ether_hdr *eth;

		/* The public port's VLAN, if any, is the gateway's business:
		 * the host's interface is untagged. */
		if (c->t->ports[PORT_PUBLIC].vlan)
			rte_vlan_strip(pkts[i]);
		eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		memcpy(eth->dst_addr.addr_bytes, c->t->host_mac, 6);
	}
	sent = rte_eth_tx_burst(c->t->host_port_id, c->queue, pkts, (uint16_t)n);
	c->st->host_to_tap += sent;
	for (unsigned i = sent; i < n; i++)
		dp_drop(c->st, pkts[i], DROP_tx_full);
}

unsigned host_tap_poll(struct dp_ctx *c)
{
	const struct dp_port_conf *pub = &c->t->ports[PORT_PUBLIC];
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n;

	n = rte_eth_rx_burst(c->t->host_port_id, c->queue, pkts, DP_BURST);
	c->st->host_from_tap += n;
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eth;

		if (rte_pktmbuf_data_len(m) < sizeof(*eth)) {
			dp_drop(c->st, m, DROP_malformed);
			continue;
		}
		if (pub->vlan) {
			m->vlan_tci = pub->vlan;
			if (rte_vlan_insert(&m) != 0) {
				dp_drop(c->st, m, DROP_no_room);
				continue;
			}
		}
		/* Providers drop frames from a MAC they did not assign. */
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		memcpy(eth->src_addr.addr_bytes, pub->mac, 6);
		dp_tx_enqueue(c, PORT_PUBLIC, m);
	}
	return n;
}
