/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbour table: an rte_hash in lock-free read mode maps (port, address)
 * to a slot; the slot's MAC is one 64-bit atomic (bit 63: valid), so workers
 * read it without locks while the control thread updates it.  Entries are
 * never deleted from the hash (the table is bounded), only invalidated, so
 * readers never race with a slot being reused.
 */
#include "neigh.h"

#include <stdatomic.h>
#include <stdio.h>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "checksum.h"
#include "datapath.h"
#include "l3.h"
#include "nat.h"
#include "portcullis/wire.h"

#define MAC_VALID (1ULL << 63)

struct neigh_key {
	uint8_t port;
	uint8_t family;
	uint8_t pad[2];
	uint8_t addr[16];
};

struct neigh_entry {
	_Atomic uint64_t mac;                  /* MAC_VALID | 48-bit address */
	/* Control thread only. */
	struct neigh_key key;
	uint64_t confirmed, next_probe;
	unsigned probes;
	unsigned n_held;
	struct rte_mbuf *held[NEIGH_HOLD];
};

struct neigh_table {
	struct rte_hash *hash;
	struct neigh_entry *entries;
	unsigned max, used;
	const struct neigh_host_ops *host;     /* NULL: we always probe */
};

static void make_key(struct neigh_key *k, unsigned port, const struct ip_addr *ip)
{
	memset(k, 0, sizeof(*k));
	k->port = (uint8_t)port;
	k->family = ip->family;
	memcpy(k->addr, ip->bytes, ip_addr_len(ip));
}

static uint64_t mac_pack(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v | MAC_VALID;
}

static void mac_unpack(uint64_t v, uint8_t mac[6])
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		mac[i] = (uint8_t)v;
}

struct neigh_table *neigh_table_create(unsigned max_entries, int socket)
{
	static unsigned instance;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.entries = max_entries,
		.key_len = sizeof(struct neigh_key),
		.hash_func = rte_jhash,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct neigh_table *nt = calloc(1, sizeof(*nt));

	if (nt == NULL)
		return NULL;
	snprintf(name, sizeof(name), "neigh%u", instance++);
	p.name = name;
	nt->hash = rte_hash_create(&p);
	nt->entries = calloc(max_entries, sizeof(*nt->entries));
	nt->max = max_entries;
	if (nt->hash == NULL || nt->entries == NULL) {
		neigh_table_destroy(nt);
		return NULL;
	}
	return nt;
}

void neigh_table_destroy(struct neigh_table *nt)
{
	if (nt == NULL)
		return;
	for (unsigned i = 0; i < nt->used; i++)
		for (unsigned j = 0; j < nt->entries[i].n_held; j++)
			rte_pktmbuf_free(nt->entries[i].held[j]);
	rte_hash_free(nt->hash);
	free(nt->entries);
	free(nt);
}

void neigh_host_ops_set(struct neigh_table *nt, const struct neigh_host_ops *ops)
{
	nt->host = ops;
}

static struct neigh_entry *find(const struct neigh_table *nt, unsigned port,
				const struct ip_addr *ip)
{
	struct neigh_key k;
	void *data;

	make_key(&k, port, ip);
	if (rte_hash_lookup_data(nt->hash, &k, &data) < 0)
		return NULL;
	return &nt->entries[(uintptr_t)data];
}

bool neigh_lookup(const struct neigh_table *nt, unsigned port,
		  const struct ip_addr *ip, uint8_t mac[6])
{
	struct neigh_entry *e = find(nt, port, ip);
	uint64_t v;

	if (e == NULL)
		return false;
	v = atomic_load_explicit(&e->mac, memory_order_acquire);
	if (!(v & MAC_VALID))
		return false;
	mac_unpack(v, mac);
	return true;
}

static struct neigh_entry *find_or_create(struct neigh_table *nt, unsigned port,
					  const struct ip_addr *ip)
{
	struct neigh_entry *e = find(nt, port, ip);

	if (e != NULL || nt->used == nt->max)
		return e;
	e = &nt->entries[nt->used];
	make_key(&e->key, port, ip);
	if (rte_hash_add_key_data(nt->hash, &e->key, (void *)(uintptr_t)nt->used) < 0)
		return NULL;
	nt->used++;
	return e;
}

/* --- Sending ARP requests and neighbour solicitations ------------------- */

static void entry_ip(const struct neigh_entry *e, struct ip_addr *ip)
{
	ip->family = e->key.family;
	memcpy(ip->bytes, e->key.addr, 16);
}

static struct rte_mbuf *alloc_frame(struct dp_ctx *c, const struct dp_port_conf *pc,
				    uint16_t ethertype, uint16_t l3_len,
				    const uint8_t dst_mac[6], uint8_t **l3)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->dp->pool);
	struct eth_hdr *eth;

	if (m == NULL) {
		c->st->drops[DROP_no_mbuf]++;
		return NULL;
	}
	*l3 = (uint8_t *)rte_pktmbuf_append(m, l3_len);
	eth = l3_eth_prepend(m, pc, ethertype);
	if (*l3 == NULL || eth == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(eth->dst, dst_mac, 6);
	memset(pkt_meta(m), 0, sizeof(struct pkt_meta));
	return m;
}

static void arp_fill(struct arp_hdr *a, uint16_t op, const uint8_t sha[6],
		     const uint8_t spa[4], const uint8_t tha[6], const uint8_t tpa[4])
{
	a->htype = rte_cpu_to_be_16(1);
	a->ptype = rte_cpu_to_be_16(ETHERTYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->oper = rte_cpu_to_be_16(op);
	memcpy(a->sha, sha, 6);
	memcpy(a->spa, spa, 4);
	memcpy(a->tha, tha, 6);
	memcpy(a->tpa, tpa, 4);
}

static void send_arp_request(struct dp_ctx *c, unsigned port, const struct ip_addr *src,
			     const struct ip_addr *target)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6];
	const struct dp_port_conf *pc = &c->t->ports[port];
	struct rte_mbuf *m;
	uint8_t *l3;

	m = alloc_frame(c, pc, ETHERTYPE_ARP, sizeof(struct arp_hdr), bcast, &l3);
	if (m == NULL)
		return;
	arp_fill((void *)l3, ARP_OP_REQUEST, pc->mac, src->bytes, zero, target->bytes);
	dp_tx_enqueue(c, port, m);
}

static void solicited_node(const uint8_t target[16], uint8_t ip[16], uint8_t mac[6])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	memcpy(ip, prefix, 13);
	memcpy(ip + 13, target + 13, 3);
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, ip + 12, 4);
}

/* Build an NS or NA with a link-layer address option and send it. */
static void send_nd(struct dp_ctx *c, unsigned port, uint8_t type,
		    const struct ip_addr *src, const uint8_t dst_ip[16],
		    const uint8_t dst_mac[6], const uint8_t target[16], uint32_t flags)
{
	const struct dp_port_conf *pc = &c->t->ports[port];
	uint16_t plen = sizeof(struct nd_msg) + 8;
	struct ipv6_hdr *ip;
	struct nd_msg *nd;
	struct rte_mbuf *m;
	uint8_t *opt;

	m = alloc_frame(c, pc, ETHERTYPE_IPV6, (uint16_t)(sizeof(*ip) + plen), dst_mac,
			(uint8_t **)&ip);
	if (m == NULL)
		return;
	memset(ip, 0, sizeof(*ip) + plen);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(plen);
	ip->next_header = IPPROTO_ICMPV6_;
	ip->hop_limit = 255;                   /* RFC 4861 7.1.1 */
	memcpy(ip->src, src->bytes, 16);
	memcpy(ip->dst, dst_ip, 16);
	nd = (void *)(ip + 1);
	nd->type = type;
	nd->flags = rte_cpu_to_be_32(flags);
	memcpy(nd->target, target, 16);
	opt = nd->options;
	opt[0] = type == ICMP6_NEIGHBOR_SOLICIT ? ND_OPT_SOURCE_LLADDR : ND_OPT_TARGET_LLADDR;
	opt[1] = 1;                            /* 8 bytes */
	memcpy(opt + 2, pc->mac, 6);
	nd->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(nd, plen,
		csum_pseudo(ip->src, ip->dst, 16, IPPROTO_ICMPV6_, plen))));
	dp_tx_enqueue(c, port, m);
}

static bool v6_source(const struct dp_port_conf *pc, const struct ip_addr *dst,
		      struct ip_addr *src)
{
	if (l3_port_source(pc, IP_V6, dst, src))
		return true;
	*src = pc->link_local;
	return src->family == IP_V6;
}

/* Counted even when nothing goes out (no source address, or the host
 * resolves): the retries and the give-up run as if no answer came. */
static void send_probe(struct dp_ctx *c, struct neigh_entry *e)
{
	const struct neigh_host_ops *host = c->dp->neigh->host;
	const struct dp_port_conf *pc = &c->t->ports[e->key.port];
	struct ip_addr ip, src;
	uint8_t sn_ip[16], sn_mac[6];
	bool have_src;

	entry_ip(e, &ip);
	have_src = ip.family == IP_V4 ? l3_port_source(pc, IP_V4, &ip, &src)
				      : v6_source(pc, &ip, &src);
	if (have_src && !(host && host->resolve(host->ctx, e->key.port, &src, &ip))) {
		if (ip.family == IP_V4) {
			send_arp_request(c, e->key.port, &src, &ip);
		} else {
			solicited_node(ip.bytes, sn_ip, sn_mac);
			send_nd(c, e->key.port, ICMP6_NEIGHBOR_SOLICIT, &src, sn_ip,
				sn_mac, ip.bytes, 0);
		}
	}
	e->probes++;
	e->next_probe = c->now + NEIGH_RETRY_MS * NSEC_PER_MSEC;
}

/* --- Control thread: holding and resolving ------------------------------ */

static void resolved(struct dp_ctx *c, struct neigh_entry *e, const uint8_t mac[6])
{
	atomic_store_explicit(&e->mac, mac_pack(mac), memory_order_release);
	e->confirmed = c->now;
	e->probes = 0;
	for (unsigned i = 0; i < e->n_held; i++) {
		struct eth_hdr *eth = rte_pktmbuf_mtod(e->held[i], struct eth_hdr *);

		memcpy(eth->dst, mac, 6);
		dp_tx_enqueue(c, e->key.port, e->held[i]);
	}
	e->n_held = 0;
}

void neigh_hold(struct dp_ctx *c, unsigned port, const struct ip_addr *nexthop,
		struct rte_mbuf *m)
{
	struct neigh_entry *e = find_or_create(c->dp->neigh, port, nexthop);
	uint64_t v;

	if (e == NULL) {
		dp_drop(c->st, m, DROP_neigh_queue_full);
		return;
	}
	v = atomic_load_explicit(&e->mac, memory_order_relaxed);
	if (v & MAC_VALID) {                   /* answered meanwhile */
		mac_unpack(v, rte_pktmbuf_mtod(m, struct eth_hdr *)->dst);
		dp_tx_enqueue(c, port, m);
		return;
	}
	if (e->n_held == NEIGH_HOLD) {
		dp_drop(c->st, m, DROP_neigh_queue_full);
		return;
	}
	e->held[e->n_held++] = m;
	if (e->probes == 0)
		send_probe(c, e);
}

/* Learn (or refresh) a neighbour; create it only when asked to. */
static void learn(struct dp_ctx *c, unsigned port, const struct ip_addr *ip,
		  const uint8_t mac[6], bool create)
{
	struct neigh_entry *e = create ? find_or_create(c->dp->neigh, port, ip)
				       : find(c->dp->neigh, port, ip);

	if (e != NULL)
		resolved(c, e, mac);
}

void neigh_host_learned(struct dp_ctx *c, unsigned port, const struct ip_addr *ip,
			const uint8_t mac[6])
{
	learn(c, port, ip, mac, false);
}

void neigh_tick(struct dp_ctx *c)
{
	struct neigh_table *nt = c->dp->neigh;

	for (unsigned i = 0; i < nt->used; i++) {
		struct neigh_entry *e = &nt->entries[i];
		bool valid = atomic_load_explicit(&e->mac, memory_order_relaxed) & MAC_VALID;

		if (e->probes > 0 && c->now >= e->next_probe) {
			if (e->probes < NEIGH_RETRIES) {
				send_probe(c, e);
				continue;
			}
			/* No answer: give up on what waited, forget the MAC. */
			for (unsigned j = 0; j < e->n_held; j++)
				dp_drop(c->st, e->held[j], DROP_neigh_unresolved);
			e->n_held = 0;
			e->probes = 0;
			atomic_store_explicit(&e->mac, 0, memory_order_release);
		} else if (valid && e->probes == 0 &&
			   c->now - e->confirmed > NEIGH_REACHABLE_S * NSEC_PER_SEC) {
			send_probe(c, e);      /* keep using the MAC meanwhile */
		}
	}
}

/* --- Control thread: ARP and ND input ------------------------------------ */

static bool port_has_v4(const struct dp_port_conf *pc, const uint8_t ip[4])
{
	for (unsigned i = 0; i < pc->n_addrs; i++)
		if (pc->addrs[i].addr.family == IP_V4 &&
		    memcmp(pc->addrs[i].addr.bytes, ip, 4) == 0)
			return true;
	return false;
}

void neigh_input_arp(struct dp_ctx *c, struct rte_mbuf *m)
{
	struct pkt_meta *meta = pkt_meta(m);
	unsigned port = meta->in_port;
	const struct dp_port_conf *pc = &c->t->ports[port];
	struct arp_hdr *a = rte_pktmbuf_mtod_offset(m, struct arp_hdr *, meta->l3_off);
	struct ip_addr sender = { .family = IP_V4 };
	uint8_t our_ip[4];
	bool for_us;

	if (rte_pktmbuf_data_len(m) < meta->l3_off + sizeof(*a) ||
	    a->htype != rte_cpu_to_be_16(1) || a->ptype != rte_cpu_to_be_16(ETHERTYPE_IPV4) ||
	    a->hlen != 6 || a->plen != 4) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	/* An ExternalAddress (or a forward's) that is not the port's own
	 * address is ours to answer on the public side too. */
	for_us = port_has_v4(pc, a->tpa) ||
		 (port == PORT_PUBLIC && c->t->nat.enabled &&
		  nat_is_external(&c->t->nat, a->tpa));
	memcpy(sender.bytes, a->spa, 4);
	if (memcmp(a->spa, "\0\0\0\0", 4) != 0)
		learn(c, port, &sender, a->sha, for_us);
	if (!for_us || a->oper != rte_cpu_to_be_16(ARP_OP_REQUEST)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* Answer in place: the frame already has the right VLAN header. */
	struct eth_hdr *eth = rte_pktmbuf_mtod(m, struct eth_hdr *);
	uint8_t their_mac[6], their_ip[4];

	/* Copies first: the reply is written over the request. */
	memcpy(our_ip, a->tpa, 4);
	memcpy(their_mac, a->sha, 6);
	memcpy(their_ip, a->spa, 4);
	arp_fill(a, ARP_OP_REPLY, pc->mac, our_ip, their_mac, their_ip);
	memcpy(eth->dst, their_mac, 6);
	memcpy(eth->src, pc->mac, 6);
	dp_tx_enqueue(c, port, m);
}

static bool port_has_v6(const struct dp_port_conf *pc, const uint8_t ip[16])
{
	if (pc->link_local.family == IP_V6 && memcmp(pc->link_local.bytes, ip, 16) == 0)
		return true;
	for (unsigned i = 0; i < pc->n_addrs; i++)
		if (pc->addrs[i].addr.family == IP_V6 &&
		    memcmp(pc->addrs[i].addr.bytes, ip, 16) == 0)
			return true;
	return false;
}

/* The link-layer address option of an NS/NA, if present. */
static const uint8_t *nd_lladdr(const struct nd_msg *nd, uint32_t len, uint8_t want)
{
	const uint8_t *opt = nd->options, *end = (const uint8_t *)nd + len;

	while (opt + 2 <= end && opt[1] != 0 && opt + opt[1] * 8 <= end) {
		if (opt[0] == want && opt[1] == 1)
			return opt + 2;
		opt += opt[1] * 8;
	}
	return NULL;
}

void neigh_input_nd(struct dp_ctx *c, struct rte_mbuf *m)
{
	struct pkt_meta *meta = pkt_meta(m);
	unsigned port = meta->in_port;
	const struct dp_port_conf *pc = &c->t->ports[port];
	struct ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct ipv6_hdr *, meta->l3_off);
	uint32_t avail = rte_pktmbuf_data_len(m) - meta->l3_off, len;
	struct nd_msg *nd = (void *)(ip + 1);
	struct ip_addr who = { .family = IP_V6 };
	const uint8_t *ll;

	len = avail >= sizeof(*ip) ? rte_be_to_cpu_16(ip->payload_len) : 0;
	if (len < sizeof(*nd) || sizeof(*ip) + len > avail || ip->hop_limit != 255 ||
	    csum_fold(csum_partial(nd, len, csum_pseudo(ip->src, ip->dst, 16,
							IPPROTO_ICMPV6_, len))) != 0) {
		dp_drop(c->st, m, DROP_malformed);
		return;
	}
	if (nd->type == ICMP6_NEIGHBOR_SOLICIT) {
		bool for_us = port_has_v6(pc, nd->target);
		static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
		static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
		bool dad = memcmp(ip->src, (uint8_t[16]){ 0 }, 16) == 0;
		struct ip_addr target = { .family = IP_V6 };

		ll = nd_lladdr(nd, len, ND_OPT_SOURCE_LLADDR);
		memcpy(who.bytes, ip->src, 16);
		if (!dad && ll)
			learn(c, port, &who, ll, for_us);
		if (for_us) {
			memcpy(target.bytes, nd->target, 16);
			send_nd(c, port, ICMP6_NEIGHBOR_ADVERT, &target,
				dad ? all_nodes : ip->src,
				dad || !ll ? all_nodes_mac : ll, nd->target,
				(dad ? 0 : ND_NA_FLAG_SOLICITED) | ND_NA_FLAG_OVERRIDE);
		}
	} else if (nd->type == ICMP6_NEIGHBOR_ADVERT) {
		struct eth_hdr *eth = rte_pktmbuf_mtod(m, struct eth_hdr *);

		ll = nd_lladdr(nd, len, ND_OPT_TARGET_LLADDR);
		memcpy(who.bytes, nd->target, 16);
		learn(c, port, &who, ll ? ll : eth->src, false);
	}
	rte_pktmbuf_free(m);
}

void neigh_announce(struct dp_ctx *c)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		const struct dp_port_conf *pc = &c->t->ports[p];

		for (unsigned i = 0; pc->present && i < pc->n_addrs; i++) {
			const struct ip_addr *a = &pc->addrs[i].addr;
			struct rte_mbuf *m;
			uint8_t *l3;

			if (a->family == IP_V6) {
				send_nd(c, p, ICMP6_NEIGHBOR_ADVERT, a, all_nodes,
					all_nodes_mac, a->bytes, ND_NA_FLAG_OVERRIDE);
				continue;
			}
			/* Gratuitous ARP (RFC 5227 3): a request for ourselves. */
			m = alloc_frame(c, pc, ETHERTYPE_ARP, sizeof(struct arp_hdr), bcast, &l3);
			if (m == NULL)
				continue;
			arp_fill((void *)l3, ARP_OP_REQUEST, pc->mac, a->bytes, bcast, a->bytes);
			memset(((struct arp_hdr *)l3)->tha, 0, 6);
			dp_tx_enqueue(c, p, m);
		}
	}
}

void neigh_walk(const struct neigh_table *nt, neigh_walk_fn fn, void *ctx)
{
	for (unsigned i = 0; i < nt->used; i++) {
		const struct neigh_entry *e = &nt->entries[i];
		uint64_t v = atomic_load_explicit(&e->mac, memory_order_acquire);
		struct neigh_info info = {
			.port = e->key.port,
			.valid = v & MAC_VALID,
			.held = e->n_held,
		};

		entry_ip(e, &info.ip);
		mac_unpack(v, info.mac);
		fn(&info, ctx);
	}
}
