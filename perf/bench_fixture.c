/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fast path, wired up in-process as portcullisd wires it (see
 * dp_create, control/portcullisd.c open_ports and control/gateway.c
 * tables_build), but by hand and without a control thread or a handshake:
 *
 *   private host 10.0.0.2 --- [private 10.0.0.1/24] gateway
 *        [public 203.0.113.1/24, listen 51820] --- peer 203.0.113.2:51820
 *                                                  AllowedIPs 10.200.0.0/24
 *
 * The peer's current keypair is installed with noise_keypairs_install and
 * registered in the index slots like a finished handshake would do.  Its
 * receive side uses the same key and index as its send side, so what
 * tunnel_encap seals tunnel_decap accepts.  Both next hops are resolved
 * beforehand with synthetic ARP replies through neigh_input_arp, so no
 * packet ever waits for the (absent) control thread.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "allowedips.h"
#include "checksum.h"
#include "config.h"
#include "crypto.h"
#include "mss.h"
#include "neigh.h"
#include "noise.h"
#include "port.h"
#include "portcullis/wire.h"
#include "replay.h"

static const char *const port_addr[PORT_COUNT] = {
	[PORT_PUBLIC] = "203.0.113.1/24", [PORT_PRIVATE] = "10.0.0.1/24",
};
/* The next hop on each port: the peer's endpoint, the private host. */
static const char *const neigh_addr[PORT_COUNT] = {
	[PORT_PUBLIC] = "203.0.113.2", [PORT_PRIVATE] = "10.0.0.2",
};
static const uint8_t neigh_macs[PORT_COUNT][6] = {
	[PORT_PUBLIC] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 },
	[PORT_PRIVATE] = { 0x02, 0x00, 0x5e, 0x00, 0x01, 0x02 },
};
static const uint8_t inner_host[4] = { 10, 0, 0, 2 };
static const uint8_t inner_remote[4] = { 10, 200, 0, 2 };

enum {
	LISTEN_PORT = 51820,
	RECEIVER_INDEX = 0x5eed0001,           /* any non-zero index */
	INNER_SRC_PORT = 40000,
	INNER_DST_PORT = 5201,
};

/* --- Ports: as open_ports in portcullisd.c ------------------------------ */

/* The first two ethdev ports, opened with the daemon's own port_open. */
static int open_ports(struct bench_fixture *f, struct port_info pi[PORT_COUNT],
		      char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN], perr[192];
	unsigned p = 0;
	uint16_t id;

	RTE_ETH_FOREACH_DEV(id) {
		if (p == PORT_COUNT)
			break;
		if (rte_eth_dev_get_name_by_port(id, name) != 0 ||
		    port_open(name, 1, 0, f->dp.pool, &pi[p], perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "port %u: %s", id, perr);
			return -ENODEV;
		}
		p++;
	}
	if (p < PORT_COUNT) {
		snprintf(err, errlen, "need two ethdev ports, EAL has %u "
			 "(e.g. --vdev net_null0 --vdev net_null1)", p);
		return -ENODEV;
	}
	f->dp.rx_queues = 1;
	return 0;
}

/* --- Tables: as tables_build in control/gateway.c ----------------------- */

static int port_conf_init(struct dp_port_conf *pc, const struct port_info *pi,
			  const char *addr)
{
	pc->present = true;
	pc->port_id = pi->port_id;
	pc->mtu = 1500;
	memcpy(pc->mac, pi->mac, 6);
	if (config_prefix_parse(addr, &pc->addrs[0]) < 0)
		return -EINVAL;
	pc->n_addrs = 1;
	pc->routes = calloc(1, sizeof(*pc->routes));
	pc->route_lpm = allowedips_create();
	if (pc->routes == NULL || pc->route_lpm == NULL)
		return -ENOMEM;
	/* The connected route: via is IP_NONE (zeroed by calloc). */
	pc->routes[0].dst = pc->addrs[0];
	config_prefix_mask(&pc->routes[0].dst);
	pc->n_routes = 1;
	return allowedips_insert(pc->route_lpm, &pc->routes[0].dst, 0);
}

static int tables_init(struct bench_fixture *f, const struct port_info pi[PORT_COUNT])
{
	struct dp_tables *t = &f->tables;
	struct ip_prefix allowed;
	int ret;

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		ret = port_conf_init(&t->ports[p], &pi[p], port_addr[p]);
		if (ret < 0)
			return ret;
	}
	t->listen_port = LISTEN_PORT;
	t->tunnel_mtu = WG_DEFAULT_MTU;
	/* No [NAT] section, as gateway_nat_tables publishes it: NAT off,
	 * tunnel <-> private allowed both ways, MSSClamp = auto. */
	nat_config_defaults(&t->nat);
	t->mss_tunnel[0] = tcp_mss_for_mtu(t->tunnel_mtu, 4);
	t->mss_tunnel[1] = tcp_mss_for_mtu(t->tunnel_mtu, 6);
	t->mss_public = tcp_mss_for_mtu(t->ports[PORT_PUBLIC].mtu, 4);
	t->allowedips = allowedips_create();
	if (t->allowedips == NULL)
		return -ENOMEM;
	if (config_prefix_parse("10.200.0.0/24", &allowed) < 0)
		return -EINVAL;
	t->peers = &f->peer;
	t->n_peer_slots = 1;
	return allowedips_insert(t->allowedips, &allowed, 0);
}

int bench_fixture_route_add(struct bench_fixture *f, unsigned port,
			    const char *dst, const char *via)
{
	struct dp_port_conf *pc = &f->tables.ports[port];
	struct dp_route *routes = realloc(pc->routes, (pc->n_routes + 1) * sizeof(*routes));
	struct dp_route *r;

	if (routes == NULL)
		return -ENOMEM;
	pc->routes = routes;
	r = &routes[pc->n_routes];
	memset(r, 0, sizeof(*r));
	if (config_prefix_parse(dst, &r->dst) < 0 || config_addr_parse(via, &r->via) < 0)
		return -EINVAL;
	config_prefix_mask(&r->dst);
	pc->n_routes++;
	return allowedips_insert(pc->route_lpm, &r->dst, pc->n_routes - 1);
}

/* --- The peer and its session ----------------------------------------- */

static int peer_init(struct bench_fixture *f)
{
	struct gw_peer *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);
	struct gw_keypair *kp;
	struct index_slot *slot;

	if (p == NULL)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	f->peer = p;
	kp = aligned_alloc(64, (sizeof(*kp) + 63) & ~(size_t)63);
	if (kp == NULL)
		return -ENOMEM;
	memset(kp, 0, sizeof(*kp));
	f->kp = kp;
	p->id = 0;
	memset(p->public_key, 0x42, sizeof(p->public_key));
	/* No retire callback: the benchmark's keypair is freed by hand. */
	noise_keypairs_init(&p->keypairs, NULL, NULL);
	rte_spinlock_init(&p->endpoint.write_lock);
	if (config_addr_parse(neigh_addr[PORT_PUBLIC], &f->peer_endpoint.addr) < 0)
		return -EINVAL;
	f->peer_endpoint.port = LISTEN_PORT;
	p->endpoint.ep = f->peer_endpoint;

	/* What noise_handshake_begin_session leaves for an initiator, with a
	 * fixed, public key: these are benchmark keys, not secrets. */
	rte_spinlock_init(&kp->replay_lock);
	kp->peer = p;
	kp->noise.owner = p;
	for (unsigned i = 0; i < sizeof(kp->noise.send_key); i++)
		kp->noise.send_key[i] = (uint8_t)(0xa0 + i);
	memcpy(kp->noise.recv_key, kp->noise.send_key, sizeof(kp->noise.recv_key));
	kp->noise.local_index = kp->noise.remote_index = RECEIVER_INDEX;
	kp->noise.is_initiator = true;
	kp->noise.birthdate = dp_now();
	replay_window_init(&kp->noise.replay);
	atomic_store_explicit(&kp->noise.send_counter, 0, memory_order_relaxed);
	atomic_store_explicit(&kp->noise.valid, true, memory_order_relaxed);
	noise_keypairs_install(&p->keypairs, &kp->noise);

	slot = &f->dp.index_slots[RECEIVER_INDEX & ((1u << DP_INDEX_BITS) - 1)];
	slot->index = RECEIVER_INDEX;
	atomic_store_explicit(&slot->keypair, kp, memory_order_release);
	return 0;
}

void bench_fixture_refresh_key(struct bench_fixture *f)
{
	f->kp->noise.birthdate = dp_now();
}

/* --- Neighbours: an ARP reply from each next hop ---------------------- */

int bench_fixture_neigh_learn(struct bench_fixture *f, unsigned port,
			      const char *addr, const uint8_t mac_in[6],
			      char *err, size_t errlen)
{
	const struct dp_port_conf *pc = &f->tables.ports[port];
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->dp.pool);
	struct ip_addr ip;
	struct eth_hdr *eth;
	struct arp_hdr *a;
	struct pkt_meta *meta;
	uint8_t mac[6];

	eth = m ? (void *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*a)) : NULL;
	if (eth == NULL || config_addr_parse(addr, &ip) < 0) {
		snprintf(err, errlen, "cannot build an ARP reply");
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	a = (void *)(eth + 1);
	memcpy(eth->dst, pc->mac, 6);
	memcpy(eth->src, mac_in, 6);
	eth->type = rte_cpu_to_be_16(ETHERTYPE_ARP);
	a->htype = rte_cpu_to_be_16(1);
	a->ptype = rte_cpu_to_be_16(ETHERTYPE_IPV4);
	a->hlen = 6;
	a->plen = 4;
	a->oper = rte_cpu_to_be_16(ARP_OP_REPLY);
	memcpy(a->sha, mac_in, 6);
	memcpy(a->spa, ip.bytes, 4);
	memcpy(a->tha, pc->mac, 6);
	memcpy(a->tpa, pc->addrs[0].addr.bytes, 4);
	meta = pkt_meta(m);
	memset(meta, 0, sizeof(*meta));
	meta->kind = PKT_ARP;
	meta->in_port = (uint8_t)port;
	meta->l3_off = sizeof(*eth);
	neigh_input_arp(&f->ctx, m);          /* consumes m */

	if (!neigh_lookup(f->dp.neigh, port, &ip, mac) || memcmp(mac, mac_in, 6) != 0) {
		snprintf(err, errlen, "neigh_input_arp did not learn %s", addr);
		return -EPROTO;
	}
	return 0;
}

/* The fixture's own next hop on port: the peer's endpoint, the private host. */
static int neigh_learn(struct bench_fixture *f, unsigned port, char *err,
		       size_t errlen)
{
	int ret = bench_fixture_neigh_learn(f, port, neigh_addr[port], neigh_macs[port],
					    err, errlen);

	if (ret == 0)
		memcpy(f->neigh_mac[port], neigh_macs[port], 6);
	return ret;
}

/* --- Set-up and tear-down ----------------------------------------------- */

int bench_fixture_create(struct bench_fixture *f, char *err, size_t errlen)
{
	struct port_info pi[PORT_COUNT];
	unsigned lcore = rte_lcore_id();
	int ret;

	memset(f, 0, sizeof(*f));
	ret = dp_create(&f->dp, err, errlen);
	if (ret == 0)
		ret = open_ports(f, pi, err, errlen);
	if (ret < 0)
		return ret;
	ret = tables_init(f, pi);
	if (ret == 0)
		ret = peer_init(f);
	if (ret < 0) {
		snprintf(err, errlen, "cannot build tables or peer: %s", strerror(-ret));
		return ret;
	}
	f->dp.tables = &f->tables;
	f->dp.n_workers = 1;
	f->dp.worker_lcores[0] = lcore;
	f->dp.control_lcore = lcore;
	f->dp.busy_poll = true;
	f->dp.running = true;
	/* A worker's context (worker_main): queue 0, not the control thread. */
	f->ctx = (struct dp_ctx){
		.dp = &f->dp, .t = &f->tables, .st = &f->dp.stats[lcore],
		.nat_lc = &f->dp.nat_lcore[lcore],
		.queue = 0, .icmp_tokens = ICMP_ERRORS_BURST, .now = dp_now(),
	};
	nat_lcore_init(f->ctx.nat_lc);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		ret = neigh_learn(f, p, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void bench_fixture_destroy(struct bench_fixture *f)
{
	struct dp_tables *t = &f->tables;

	free(f->msgs);
	if (f->kp) {
		struct index_slot *slot =
			&f->dp.index_slots[RECEIVER_INDEX & ((1u << DP_INDEX_BITS) - 1)];

		atomic_store_explicit(&slot->keypair, NULL, memory_order_relaxed);
		slot->index = 0;
	}
	if (f->peer)
		noise_keypairs_clear(&f->peer->keypairs);   /* wipes the keys */
	if (f->kp)
		crypto_wipe(f->kp, sizeof(*f->kp));
	free(f->kp);
	free(f->peer);
	allowedips_destroy(t->allowedips);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		if (t->ports[p].present)
			port_close(t->ports[p].port_id);
		allowedips_destroy(t->ports[p].route_lpm);
		free(t->ports[p].routes);
	}
	dp_destroy(&f->dp);
	memset(f, 0, sizeof(*f));
}

/* --- Test packets --------------------------------------------------------- */

unsigned bench_frame_build(const struct bench_fixture *f, uint8_t *frame,
			   unsigned size, bool from_private)
{
	struct eth_hdr *eth = (void *)frame;
	struct ipv4_hdr *ip = (void *)(eth + 1);
	struct udp_hdr *udp = (void *)(ip + 1);
	uint8_t *payload = (uint8_t *)(udp + 1);
	const struct dp_port_conf *priv = &f->tables.ports[PORT_PRIVATE];

	/* From the private host to the gateway, or from the gateway to the
	 * private host (what decap should put on the wire). */
	memcpy(eth->dst, from_private ? priv->mac : f->neigh_mac[PORT_PRIVATE], 6);
	memcpy(eth->src, from_private ? f->neigh_mac[PORT_PRIVATE] : priv->mac, 6);
	eth->type = rte_cpu_to_be_16(ETHERTYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)size);
	ip->id = rte_cpu_to_be_16(0x1234);
	ip->frag_off = rte_cpu_to_be_16(IPV4_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP_;
	memcpy(ip->src, from_private ? inner_host : inner_remote, 4);
	memcpy(ip->dst, from_private ? inner_remote : inner_host, 4);
	ip->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(ip, sizeof(*ip), 0)));
	udp->src_port = rte_cpu_to_be_16(INNER_SRC_PORT);
	udp->dst_port = rte_cpu_to_be_16(INNER_DST_PORT);
	udp->length = rte_cpu_to_be_16((uint16_t)(size - sizeof(*ip)));
	udp->checksum = 0;                    /* optional over IPv4 */
	for (unsigned i = 0; i < size - sizeof(*ip) - sizeof(*udp); i++)
		payload[i] = (uint8_t)(i * 7 + size);
	return (unsigned)sizeof(*eth) + size;
}

/* --- What every timed loop shares ------------------------------------------ */

void bench_mbuf_load(struct rte_mbuf *m, const uint8_t *frame, unsigned len,
		     uint8_t in_port, uint16_t msg_off)
{
	struct pkt_meta *meta = pkt_meta(m);

	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	memset(meta, 0, sizeof(*meta));
	meta->in_port = in_port;
	meta->l3_off = sizeof(struct eth_hdr);
	meta->l3_family = IP_V4;
	meta->msg_off = msg_off;
}

int bench_burst_alloc(struct bench_fixture *f, struct rte_mbuf **ms, unsigned n,
		      char *err, size_t errlen)
{
	if (rte_pktmbuf_alloc_bulk(f->dp.pool, ms, n) == 0)
		return 0;
	snprintf(err, errlen, "mbuf pool exhausted (%u in use): a stage leaks mbufs",
		 rte_mempool_in_use_count(f->dp.pool));
	return -ENOBUFS;
}

unsigned bench_tx_intercept(struct dp_ctx *c, unsigned port,
			    struct rte_mbuf **out, unsigned max)
{
	unsigned n = c->n_tx[port];

	if (n > max)
		n = max;
	memcpy(out, c->tx[port], n * sizeof(*out));
	for (unsigned i = n; i < c->n_tx[port]; i++)
		rte_pktmbuf_free(c->tx[port][i]);
	c->n_tx[port] = 0;
	return n;
}

struct rte_mbuf *bench_tx_take_one(struct dp_ctx *c, unsigned port)
{
	struct rte_mbuf *m = NULL;
	bool one = c->n_tx[port] == 1 && c->n_tx[!port] == 0;

	bench_tx_intercept(c, !port, &m, 0);
	if (bench_tx_intercept(c, port, &m, one ? 1 : 0) == 1)
		return m;
	return NULL;
}

void bench_snapshot_take(struct bench_fixture *f, struct bench_snapshot *s)
{
	s->st = *f->ctx.st;
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		struct rte_eth_stats es;

		s->opackets[p] = rte_eth_stats_get(f->tables.ports[p].port_id, &es) == 0
				 ? es.opackets : 0;
	}
}

int bench_run_check(struct bench_fixture *f, const struct bench_snapshot *before,
		    uint64_t n, unsigned out_port, char *err, size_t errlen)
{
	struct bench_snapshot after;
	uint64_t sent, counted, other;

	bench_snapshot_take(f, &after);
	if (errlen)
		err[0] = '\0';
	/* Every reason: one drop can count twice (an ICMP error suppressed
	 * for the packet dropped as nat_table_full). */
	for (unsigned d = 0, at = 0; d < DROP_COUNT; d++) {
		uint64_t dropped = after.st.drops[d] - before->st.drops[d];

		if (dropped && at < errlen)
			at += (unsigned)snprintf(err + at, errlen - at,
						 "%s%lu of %lu packets dropped as '%s'",
						 at ? ", " : "", dropped, n,
						 dp_drop_names[d]);
	}
	if (err[0])
		return -EPROTO;
	sent = after.st.port[out_port].tx_packets - before->st.port[out_port].tx_packets;
	counted = after.opackets[out_port] - before->opackets[out_port];
	other = after.st.port[!out_port].tx_packets - before->st.port[!out_port].tx_packets;
	if (sent != n || counted != n || other != 0) {
		snprintf(err, errlen, "%lu packets in, %lu sent, %lu counted by the port, "
			 "%lu out of the wrong port", n, sent, counted, other);
		return -EPROTO;
	}
	if (rte_ring_count(f->dp.exception_ring) || rte_ring_count(f->dp.event_ring) ||
	    rte_ring_count(f->dp.handshake_ring)) {
		snprintf(err, errlen, "packets or events went to the control thread "
			 "(staged, neighbour miss or rekey)");
		return -EPROTO;
	}
	if (rte_mempool_in_use_count(f->dp.pool) != 0) {
		snprintf(err, errlen, "%u mbufs still in use after the run",
			 rte_mempool_in_use_count(f->dp.pool));
		return -EPROTO;
	}
	return 0;
}
