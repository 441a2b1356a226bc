/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT44 through the real fast-path entry points, on the bench fixture:
 *
 *   inside hosts 10.0.0.0/24 -- [private 10.0.0.1/24] gateway
 *       (10.0.0.2 resolved)        [public 203.0.113.1/24] -- router 203.0.113.254
 *                                       (resolved) -- servers, remotes
 *     route 10.1.0.0/16 via 10.0.0.2 (the forward without NAT)
 *     route 0.0.0.0/0 via 203.0.113.254 on the public port
 *   [NAT] Masquerade = 10.0.0.0/24, ExternalAddress 203.0.113.1 (the
 *         port's), Forward = udp 5000 -> 10.0.0.2:5000, the rest default
 *
 * What each kind sends, all UDP (frame sizes count the 4-byte FCS, so a
 * 64-byte frame carries 46 bytes of IP), and where it enters:
 *
 *   forward      10.0.0.2:40000 -> 10.1.0.1:5201, l3_forward(FROM_PRIVATE),
 *                out of the private port again: routing with no NAT.
 *   nat_out      flow i = 10.0.0.2:(10000+i) -> 198.51.100.1:5201 for
 *                i < flows, l3_forward(FROM_PRIVATE) -> nat_stage_out.
 *                Their sessions were made at set-up.
 *   nat_in       the replies, 198.51.100.1:5201 -> 203.0.113.1:ext(i),
 *                nat_stage_in (as worker.c calls it for the public port).
 *   nat_out_new  every packet a new inside endpoint (128 hosts from
 *                10.0.0.16, each with 128 ports spread over 32768-60999),
 *                so each creates a mapping (an external port) and a
 *                session.
 *   nat_in_new   every packet from a new remote (198.18.0.0/16) to the
 *                port forward, so each creates a session on it.
 *
 * The external ports run out after 64512 mappings (RFC 4787 REQ-1: one
 * external port per inside endpoint), so a first-packet run cannot be
 * one long stream of new flows.  It runs in cycles of FRESH_CYCLE new
 * flows on a table of its own (`fresh`); between cycles, untimed, the
 * control thread's work is done the way the daemon does it: nat_expire
 * with a clock past every timeout, then nat_reclaim.  (No grace period
 * is needed: this thread is the only reader, and it is between bursts.)
 * So the cycles reuse reclaimed slots, as a gateway in a steady state
 * does, and the fast path sees between 0 and 25% of the external ports
 * taken.  (That share matters: a taken candidate port costs an index
 * insert that fails; and far from full, no run fails on a port scan that
 * gives up.)  The NAT sees a virtual clock that jumps forward by
 * the longest timeout at each expiry, so its time never goes back.  The
 * established flows live in a table of their own (`est`) that nothing
 * expires.  Both tables have the daemon's default size (MaxSessions),
 * so lookups pay the same cache and TLB misses in every row.
 */
#include "bench.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "checksum.h"
#include "config.h"
#include "nat.h"
#include "nat_stage.h"
#include "portcullis/wire.h"

enum {
	ETH_LEN = sizeof(struct eth_hdr),
	L4_OFF = ETH_LEN + sizeof(struct ipv4_hdr),
	FCS_LEN = 4,
	FRAME_MAX = 1518,                  /* IP 1500: the public MTU */
	FLOW_PORT = 10000,                 /* established inside ports */
	SERVER_PORT = 5201,
	FORWARD_PORT = 5000,
	EXTRA_FORWARD_PORT = 60000,        /* + i for the other forwards */
	BASE_PORT = 40000,                 /* the forward row's source port */
	FRESH_CYCLE = 16384,               /* new flows between two expiries */
	NEW_HOSTS = 128,                   /* 10.0.0.16 .. 10.0.0.143 */
	EPHEMERAL_LO = 32768, EPHEMERAL_N = 28232,   /* Linux: 32768-60999 */
	PORT_STEP = 10007,                 /* prime, so j -> j * step is 1:1 */
	HOST_STEP = 7919,
	EXPIRE_PASSES = 8,
};

_Static_assert(FRESH_CYCLE / NEW_HOSTS <= EPHEMERAL_N && EPHEMERAL_N % PORT_STEP,
	       "a host's new ports are distinct");
_Static_assert(FRESH_CYCLE <= 65536, "one remote per 198.18.0.0/16 address");
_Static_assert(EXTRA_FORWARD_PORT + NAT_MAX_FORWARDS <= 65536, "forward ports fit");

static const uint8_t router_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe };
static const uint8_t inside_host[4] = { 10, 0, 0, 2 };
static const uint8_t routed_dst[4] = { 10, 1, 0, 1 };
static const uint8_t server[4] = { 198, 51, 100, 1 };

struct flow {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;             /* host order */
};

/* How a kind's packets travel. */
struct path {
	uint8_t in_port;                   /* IN_PRIVATE or IN_PUBLIC */
	unsigned out_port;
	bool inbound;                      /* nat_stage_in, not l3_forward */
	bool fresh;                        /* new flows, on the fresh table */
};

static const struct path paths[] = {
	[BENCH_FORWARD - BENCH_FORWARD] = { IN_PRIVATE, PORT_PRIVATE, false, false },
	[BENCH_NAT_OUT - BENCH_FORWARD] = { IN_PRIVATE, PORT_PUBLIC, false, false },
	[BENCH_NAT_IN - BENCH_FORWARD] = { IN_PUBLIC, PORT_PRIVATE, true, false },
	[BENCH_NAT_OUT_NEW - BENCH_FORWARD] = { IN_PRIVATE, PORT_PUBLIC, false, true },
	[BENCH_NAT_IN_NEW - BENCH_FORWARD] = { IN_PUBLIC, PORT_PRIVATE, true, true },
};

struct bench_nat {
	/* The nat_lcore caches free slots of one table, so the fresh table
	 * has its own; the control thread's counts expiry, as in the daemon. */
	struct nat_lcore fresh_lc;
	struct nat_lcore ctl_lc;
	struct nat *est, *fresh;
	unsigned flows;
	uint16_t *ext_port;                /* flow i's external port */
	unsigned next;                     /* next established flow */
	unsigned pos;                      /* next new flow of the cycle */
	uint64_t clock_offset;             /* the fresh table's virtual time */
	unsigned size;                     /* frame size, FCS included */
	/* Every frame's UDP payload for this size, and its checksum sum,
	 * so that loading a burst writes headers only. */
	uint8_t payload[FRAME_MAX];
	uint32_t payload_sum;
};

/* --- Frames -------------------------------------------------------------- */

static void addr4(uint8_t out[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	out[0] = a;
	out[1] = b;
	out[2] = c;
	out[3] = d;
}

static unsigned udp_payload_len(unsigned size)
{
	return size - ETH_LEN - FCS_LEN - sizeof(struct ipv4_hdr) -
	       sizeof(struct udp_hdr);
}

static void payload_fill(struct bench_nat *nb, unsigned size)
{
	unsigned n = udp_payload_len(size);

	for (unsigned i = 0; i < n; i++)
		nb->payload[i] = (uint8_t)(i * 7 + size);
	nb->payload_sum = csum_partial(nb->payload, n, 0);
	nb->size = size;
}

/* Ethernet + IPv4 + UDP, nb->size bytes on the wire with the FCS (which
 * we do not build), valid IP and UDP checksums.  Returns the length built. */
static unsigned frame_build(const struct bench_nat *nb, uint8_t *frame,
			    const uint8_t dst_mac[6], const uint8_t src_mac[6],
			    const struct flow *fl, uint8_t ttl)
{
	struct eth_hdr *eth = (void *)frame;
	struct ipv4_hdr *ip = (void *)(eth + 1);
	struct udp_hdr *udp = (void *)(ip + 1);
	unsigned ip_len = nb->size - ETH_LEN - FCS_LEN;
	unsigned udp_len = ip_len - (unsigned)sizeof(*ip);
	uint32_t partial;
	uint16_t sum;

	memcpy(eth->dst, dst_mac, 6);
	memcpy(eth->src, src_mac, 6);
	eth->type = rte_cpu_to_be_16(ETHERTYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)ip_len);
	ip->id = rte_cpu_to_be_16(0x1234);
	ip->frag_off = rte_cpu_to_be_16(IPV4_DF);
	ip->ttl = ttl;
	ip->protocol = IPPROTO_UDP_;
	memcpy(ip->src, fl->src, 4);
	memcpy(ip->dst, fl->dst, 4);
	ip->checksum = rte_cpu_to_be_16(csum_fold(csum_partial(ip, sizeof(*ip), 0)));
	udp->src_port = rte_cpu_to_be_16(fl->sport);
	udp->dst_port = rte_cpu_to_be_16(fl->dport);
	udp->length = rte_cpu_to_be_16((uint16_t)udp_len);
	udp->checksum = 0;
	memcpy(udp + 1, nb->payload, udp_len - sizeof(*udp));
	/* A real checksum, so the NAT has one to update (RFC 768: a
	 * computed 0 is sent as 0xffff). */
	partial = csum_partial(udp, sizeof(*udp), nb->payload_sum);
	sum = csum_fold(partial + csum_pseudo(ip->src, ip->dst, 4, IPPROTO_UDP_, udp_len));
	udp->checksum = rte_cpu_to_be_16(sum ? sum : 0xffff);
	return ETH_LEN + ip_len;
}

/* A frame of len bytes, shaped as frame_build makes them, whose IP and
 * UDP checksums are both valid. */
static bool checksums_ok(const uint8_t *frame, unsigned len)
{
	const struct ipv4_hdr *ip = (const void *)(frame + ETH_LEN);
	unsigned udp_len = len - L4_OFF;

	return len > L4_OFF + sizeof(struct udp_hdr) &&
	       rte_be_to_cpu_16(ip->total_length) == len - ETH_LEN &&
	       csum_fold(csum_partial(ip, sizeof(*ip), 0)) == 0 &&
	       csum_fold(csum_partial(ip + 1, udp_len,
				      csum_pseudo(ip->src, ip->dst, 4, IPPROTO_UDP_,
						  udp_len))) == 0;
}

/* The flow of the idx-th packet of kind, as it enters the gateway. */
static void flow_in(const struct bench_fixture *f, enum bench_kind kind,
		    unsigned idx, struct flow *fl)
{
	const struct bench_nat *nb = f->nat;
	const uint8_t *external = f->tables.nat.external.bytes;
	unsigned host = idx % NEW_HOSTS, j = idx / NEW_HOSTS;

	switch (kind) {
	case BENCH_FORWARD:
		*fl = (struct flow){ .sport = BASE_PORT, .dport = SERVER_PORT };
		memcpy(fl->src, inside_host, 4);
		memcpy(fl->dst, routed_dst, 4);
		break;
	case BENCH_NAT_OUT:
	case BENCH_NAT_IN:
		*fl = (struct flow){ .sport = (uint16_t)(FLOW_PORT + idx),
				     .dport = SERVER_PORT };
		memcpy(fl->src, inside_host, 4);
		memcpy(fl->dst, server, 4);
		if (kind == BENCH_NAT_IN) {  /* the reply to flow idx */
			*fl = (struct flow){ .sport = SERVER_PORT,
					     .dport = nb->ext_port[idx] };
			memcpy(fl->src, server, 4);
			memcpy(fl->dst, external, 4);
		}
		break;
	case BENCH_NAT_OUT_NEW:
		/* Distinct ports per host, scattered over the ephemeral
		 * range as a client's are; across hosts they collide, so
		 * port preservation fails for some. */
		fl->sport = (uint16_t)(EPHEMERAL_LO + (host * HOST_STEP + j * PORT_STEP) %
				       EPHEMERAL_N);
		fl->dport = SERVER_PORT;
		addr4(fl->src, 10, 0, 0, (uint8_t)(16 + host));
		memcpy(fl->dst, server, 4);
		break;
	default:                             /* BENCH_NAT_IN_NEW */
		fl->sport = (uint16_t)(1024 + idx % 64512);
		fl->dport = FORWARD_PORT;
		addr4(fl->src, 198, 18, (uint8_t)(idx >> 8), (uint8_t)idx);
		memcpy(fl->dst, external, 4);
		break;
	}
}

/* The idx-th packet of kind as it arrives, into frame; its length. */
static unsigned frame_in(const struct bench_fixture *f, enum bench_kind kind,
			 unsigned idx, uint8_t *frame)
{
	const struct path *p = &paths[kind - BENCH_FORWARD];
	const struct dp_port_conf *pc = &f->tables.ports[p->in_port];
	struct flow fl;

	flow_in(f, kind, idx, &fl);
	return frame_build(f->nat, frame, pc->mac, p->in_port == IN_PUBLIC ? router_mac
				     : f->neigh_mac[PORT_PRIVATE], &fl, 64);
}

/* The same packet as it must leave (for nat_out_new, with external
 * port ext_port, which the NAT chose). */
static unsigned frame_out(const struct bench_fixture *f, enum bench_kind kind,
			  unsigned idx, uint16_t ext_port, uint8_t *frame)
{
	const struct path *p = &paths[kind - BENCH_FORWARD];
	const struct dp_port_conf *pc = &f->tables.ports[p->out_port];
	const uint8_t *external = f->tables.nat.external.bytes;
	struct flow fl;

	flow_in(f, kind, idx, &fl);
	switch (kind) {
	case BENCH_NAT_OUT:
		fl.sport = f->nat->ext_port[idx];
		memcpy(fl.src, external, 4);
		break;
	case BENCH_NAT_OUT_NEW:
		fl.sport = ext_port;
		memcpy(fl.src, external, 4);
		break;
	case BENCH_NAT_IN:
		fl.dport = (uint16_t)(FLOW_PORT + idx);
		memcpy(fl.dst, inside_host, 4);
		break;
	case BENCH_NAT_IN_NEW:
		fl.dport = FORWARD_PORT;
		memcpy(fl.dst, inside_host, 4);
		break;
	default:
		break;
	}
	return frame_build(f->nat, frame, p->out_port == PORT_PUBLIC ? router_mac
				  : f->neigh_mac[PORT_PRIVATE], pc->mac, &fl, 63);
}

/* The index of the next packet of kind, and move on. */
static unsigned next_packet(struct bench_nat *nb, enum bench_kind kind)
{
	unsigned idx;

	switch (kind) {
	case BENCH_NAT_OUT:
	case BENCH_NAT_IN:
		idx = nb->next;
		nb->next = (nb->next + 1) % nb->flows;
		return idx;
	case BENCH_NAT_OUT_NEW:
	case BENCH_NAT_IN_NEW:
		return nb->pos++;
	default:
		return 0;
	}
}

/* --- Which table a kind uses --------------------------------------------- */

static void use_table(struct bench_fixture *f, bool fresh)
{
	struct bench_nat *nb = f->nat;

	f->dp.nat = fresh ? nb->fresh : nb->est;
	f->ctx.nat_lc = fresh ? &nb->fresh_lc : &f->dp.nat_lcore[rte_lcore_id()];
}

static uint64_t clock_of(const struct bench_nat *nb, bool fresh, uint64_t now)
{
	return fresh ? now + nb->clock_offset : now;
}

/* Mappings of the fresh table still linked. */
static uint64_t fresh_mappings(const struct bench_nat *nb)
{
	return nb->fresh_lc.stats.mappings_created - nb->ctl_lc.stats.mappings_expired;
}

/* Empty the fresh table as the control thread would once every session
 * has timed out; the cost goes to s.  One walk should do (a session's
 * mapping is reaped with its last session); a few more are allowed. */
static int fresh_expire(struct bench_fixture *f, struct bench_sample *s,
			char *err, size_t errlen)
{
	struct bench_nat *nb = f->nat;
	const struct nat_config *conf = &f->tables.nat;
	uint32_t longest = 0, active = nat_active_sessions(nb->fresh);
	uint64_t t0 = dp_now(), expired = 0, later;

	for (unsigned i = 0; i < NAT_TIMEOUT_COUNT; i++)
		longest = conf->timeout[i] > longest ? conf->timeout[i] : longest;
	nb->clock_offset += (longest + 2ull) * NSEC_PER_SEC;
	later = clock_of(nb, true, dp_now());
	for (unsigned i = 0; i < EXPIRE_PASSES; i++) {
		expired += nat_expire(nb->fresh, &nb->ctl_lc, conf, later,
				      nat_capacity(nb->fresh));
		if (nat_active_sessions(nb->fresh) == 0 && fresh_mappings(nb) == 0)
			break;
	}
	nat_reclaim(nb->fresh);
	s->expire_ns += dp_now() - t0;
	s->expired += expired;
	nb->pos = 0;
	if (nat_active_sessions(nb->fresh) != 0 || expired != active ||
	    fresh_mappings(nb) != 0) {
		snprintf(err, errlen, "nat_expire left %u of %u sessions and %lu mappings "
			 "with every timer run out", nat_active_sessions(nb->fresh), active,
			 fresh_mappings(nb));
		return -EPROTO;
	}
	return 0;
}

/* --- Functional check of one packet ---------------------------------------- */

static const char *drop_seen(const struct bench_snapshot *before,
			     const struct dp_lcore_stats *now)
{
	for (unsigned d = 0; d < DROP_COUNT; d++)
		if (now->drops[d] != before->st.drops[d])
			return dp_drop_names[d];
	return NULL;
}

/* Compare out (len bytes) with the expected frame, after checking its
 * checksums: the NAT updates them incrementally, and one's complement
 * has two zeros, so their bits are compared by validity instead. */
static bool frame_matches(uint8_t *out, unsigned len, uint8_t *want, unsigned want_len)
{
	enum {
		IP_CSUM = ETH_LEN + offsetof(struct ipv4_hdr, checksum),
		UDP_CSUM = L4_OFF + offsetof(struct udp_hdr, checksum),
	};

	if (len != want_len || !checksums_ok(out, len))
		return false;
	memset(out + IP_CSUM, 0, 2);
	memset(want + IP_CSUM, 0, 2);
	memset(out + UDP_CSUM, 0, 2);
	memset(want + UDP_CSUM, 0, 2);
	return memcmp(out, want, len) == 0;
}

/* One packet of kind through its path, untimed: it must leave by the
 * right port, translated (and for nat_out_new, from a port in range). */
static int verify_one(struct bench_fixture *f, enum bench_kind kind, char *err,
		      size_t errlen)
{
	static uint8_t in[FRAME_MAX], want[FRAME_MAX], out[FRAME_MAX];
	const struct path *p = &paths[kind - BENCH_FORWARD];
	const struct nat_config *conf = &f->tables.nat;
	struct bench_nat *nb = f->nat;
	struct dp_ctx *c = &f->ctx;
	unsigned idx = next_packet(nb, kind), len = frame_in(f, kind, idx, in), out_len;
	struct bench_snapshot before;
	struct rte_mbuf *m;
	const char *drop;
	uint16_t ext = 0;

	if (bench_burst_alloc(f, &m, 1, err, errlen) < 0)
		return -ENOBUFS;
	bench_snapshot_take(f, &before);
	bench_mbuf_load(m, in, len, p->in_port, 0);
	dp_ctx_begin_burst(c, clock_of(nb, p->fresh, dp_now()));
	if (p->inbound)
		nat_stage_in(c, m);
	else
		l3_forward(c, m, FROM_PRIVATE, UINT32_MAX);
	m = bench_tx_take_one(c, p->out_port);
	if (m == NULL) {
		drop = drop_seen(&before, c->st);
		snprintf(err, errlen, "%s: packet %u %s%s", bench_kind_labels[kind], idx,
			 drop ? "dropped as " : "did not reach the TX queue",
			 drop ? drop : "");
		return -EPROTO;
	}
	out_len = rte_pktmbuf_data_len(m);
	memcpy(out, rte_pktmbuf_mtod(m, uint8_t *), RTE_MIN(out_len, (unsigned)FRAME_MAX));
	rte_pktmbuf_free(m);
	if (kind == BENCH_NAT_OUT_NEW && out_len >= L4_OFF + 2) {
		ext = (uint16_t)(out[L4_OFF] << 8 | out[L4_OFF + 1]);
		if (ext < conf->port_min || ext > conf->port_max) {
			snprintf(err, errlen, "%s: external port %u outside %u-%u",
				 bench_kind_labels[kind], ext, conf->port_min, conf->port_max);
			return -EPROTO;
		}
	}
	if (!frame_matches(out, out_len, want, frame_out(f, kind, idx, ext, want))) {
		snprintf(err, errlen, "%s: packet %u left with the wrong headers or "
			 "checksums", bench_kind_labels[kind], idx);
		return -EPROTO;
	}
	return 0;
}

/* --- Set-up ------------------------------------------------------------------ */

/* The [NAT] section, on top of the defaults the fixture published.
 * Forward 0 is udp 5000 -> 10.0.0.2:5000; the others (--forwards) only
 * make the config bigger: udp 60000+i -> 10.0.0.(3 + i % 250):6000+i, on
 * ports no flow of the benchmark uses. */
static int nat_config_init(struct bench_fixture *f, unsigned forwards)
{
	struct dp_tables *t = &f->tables;
	struct nat_config *nc = &t->nat;

	nc->enabled = true;
	if (config_prefix_parse("10.0.0.0/24", &nc->masquerade[0]) < 0)
		return -EINVAL;
	nc->n_masquerade = 1;
	nc->external = t->ports[PORT_PUBLIC].addrs[0].addr;
	nc->forwards = calloc(forwards, sizeof(*nc->forwards));
	if (nc->forwards == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < forwards; i++) {
		struct nat_forward *fw = &nc->forwards[i];

		*fw = (struct nat_forward){
			.proto = IPPROTO_UDP_, .internal = { .family = IP_V4 },
			.external_port = (uint16_t)(i ? EXTRA_FORWARD_PORT + i : FORWARD_PORT),
			.internal_port = (uint16_t)(i ? 6000 + i : FORWARD_PORT),
		};
		addr4(fw->internal.bytes, 10, 0, 0, (uint8_t)(i ? 3 + i % 250 : 2));
	}
	nc->n_forwards = forwards;
	return nat_config_index(nc);          /* as the daemon's tables do */
}

/* Send each established flow out once, so it has its session and
 * mapping, and learn its external port. */
static int flows_establish(struct bench_fixture *f, char *err, size_t errlen)
{
	static uint8_t in[FRAME_MAX];
	struct bench_nat *nb = f->nat;
	struct dp_ctx *c = &f->ctx;

	for (unsigned i = 0; i < nb->flows; i++) {
		unsigned len = frame_in(f, BENCH_NAT_OUT, i, in);
		const struct ipv4_hdr *ip;
		struct rte_mbuf *m;

		if (bench_burst_alloc(f, &m, 1, err, errlen) < 0)
			return -ENOBUFS;
		bench_mbuf_load(m, in, len, IN_PRIVATE, 0);
		dp_ctx_begin_burst(c, dp_now());
		l3_forward(c, m, FROM_PRIVATE, UINT32_MAX);
		m = bench_tx_take_one(c, PORT_PUBLIC);
		if (m == NULL) {
			snprintf(err, errlen, "establishing flow %u: no packet out of the "
				 "public port", i);
			return -EPROTO;
		}
		ip = rte_pktmbuf_mtod_offset(m, const struct ipv4_hdr *, ETH_LEN);
		nb->ext_port[i] = rte_be_to_cpu_16(((const struct udp_hdr *)(ip + 1))->src_port);
		rte_pktmbuf_free(m);
	}
	return 0;
}

int bench_nat_setup(struct bench_fixture *f, unsigned flows, unsigned forwards,
		    char *err, size_t errlen)
{
	struct bench_nat *nb = aligned_alloc(64, (sizeof(*nb) + 63) & ~(size_t)63);
	int ret;

	if (nb == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(nb, 0, sizeof(*nb));
	f->nat = nb;
	nb->flows = flows;
	payload_fill(nb, 64);
	nb->ext_port = calloc(flows, sizeof(*nb->ext_port));
	ret = nb->ext_port ? nat_config_init(f, forwards) : -ENOMEM;
	if (ret == 0)
		ret = bench_fixture_route_add(f, PORT_PUBLIC, "0.0.0.0/0", "203.0.113.254");
	if (ret == 0)
		ret = bench_fixture_route_add(f, PORT_PRIVATE, "10.1.0.0/16", "10.0.0.2");
	if (ret < 0) {
		snprintf(err, errlen, "cannot build the NAT tables: %s", strerror(-ret));
		return ret;
	}
	ret = bench_fixture_neigh_learn(f, PORT_PUBLIC, "203.0.113.254", router_mac,
					err, errlen);
	if (ret < 0)
		return ret;
	nb->est = nat_create(f->tables.nat.max_sessions);
	nb->fresh = nat_create(f->tables.nat.max_sessions);
	if (nb->est == NULL || nb->fresh == NULL) {
		snprintf(err, errlen, "nat_create failed (%zu bytes per session)",
			 nat_bytes_per_session());
		return -ENOMEM;
	}
	nat_lcore_init(&nb->fresh_lc);
	nat_lcore_init(&nb->ctl_lc);
	use_table(f, false);
	return flows_establish(f, err, errlen);
}

void bench_nat_teardown(struct bench_fixture *f)
{
	struct bench_nat *nb = f->nat;

	if (nb == NULL)
		return;
	if (nb->est) {
		nat_lcore_release(nb->est, &f->dp.nat_lcore[rte_lcore_id()]);
		nat_destroy(nb->est);
	}
	if (nb->fresh) {
		nat_lcore_release(nb->fresh, &nb->fresh_lc);
		nat_lcore_release(nb->fresh, &nb->ctl_lc);
		nat_destroy(nb->fresh);
	}
	f->dp.nat = NULL;
	nat_config_index_free(&f->tables.nat);
	free(f->tables.nat.forwards);
	f->tables.nat.forwards = NULL;
	f->tables.nat.n_forwards = 0;
	f->tables.nat.enabled = false;
	free(nb->ext_port);
	free(nb);
	f->nat = NULL;
}

int bench_nat_prepare(struct bench_fixture *f, unsigned size, char *err,
		      size_t errlen)
{
	int ret = 0;

	struct bench_sample unused = { 0 };

	payload_fill(f->nat, size);
	for (enum bench_kind k = BENCH_FORWARD; k <= BENCH_NAT_IN_NEW && ret == 0; k++) {
		use_table(f, paths[k - BENCH_FORWARD].fresh);
		if (paths[k - BENCH_FORWARD].fresh)
			ret = fresh_expire(f, &unused, err, errlen);
		if (ret == 0)
			ret = verify_one(f, k, err, errlen);
	}
	use_table(f, false);
	return ret;
}

/* --- The timed loop ---------------------------------------------------------- */

/* The NAT's own account of a run of n packets: each one translated once,
 * and for new flows, each one a new session (and mapping, going out). */
static int nat_check(struct bench_fixture *f, enum bench_kind kind,
		     const struct nat_stats *before, uint64_t n,
		     struct bench_sample *s, char *err, size_t errlen)
{
	const struct nat_stats *now = &f->ctx.nat_lc->stats;
	bool fresh = paths[kind - BENCH_FORWARD].fresh;
	uint64_t calls = 0, ok = now->results[NAT_OK] - before->results[NAT_OK];
	uint64_t created = now->created[NAT_PROTO_UDP] - before->created[NAT_PROTO_UDP];
	uint64_t mappings = now->mappings_created - before->mappings_created;

	for (unsigned r = 0; r < NAT_RESULT_COUNT; r++)
		calls += now->results[r] - before->results[r];
	s->sessions = created;
	if (calls != (kind == BENCH_FORWARD ? 0 : n) || ok != calls ||
	    created != (fresh ? n : 0) ||
	    mappings != (kind == BENCH_NAT_OUT_NEW ? n : 0)) {
		snprintf(err, errlen, "%lu packets in: %lu NAT calls, %lu translated, "
			 "%lu sessions and %lu mappings created", n, calls, ok, created,
			 mappings);
		return -EPROTO;
	}
	return 0;
}

static int timed_loop(struct bench_fixture *f, enum bench_kind kind, uint64_t min_ns,
		      struct bench_sample *out, char *err, size_t errlen)
{
	static uint8_t frame[FRAME_MAX];
	const struct path *p = &paths[kind - BENCH_FORWARD];
	struct bench_nat *nb = f->nat;
	struct rte_mbuf *ms[DP_BURST];
	struct dp_ctx *c = &f->ctx;
	struct bench_snapshot before;
	struct nat_stats nat_before = c->nat_lc->stats;
	uint64_t ns = 0, n = 0;
	int ret;

	bench_snapshot_take(f, &before);
	while (ns < min_ns) {
		uint64_t t0;

		if (p->fresh && nb->pos + DP_BURST > FRESH_CYCLE &&
		    (ret = fresh_expire(f, out, err, errlen)) < 0)
			return ret;
		if (bench_burst_alloc(f, ms, DP_BURST, err, errlen) < 0)
			return -ENOBUFS;
		for (unsigned i = 0; i < DP_BURST; i++)
			bench_mbuf_load(ms[i], frame,
					frame_in(f, kind, next_packet(nb, kind), frame),
					p->in_port, 0);

		t0 = dp_now();
		dp_ctx_begin_burst(c, clock_of(nb, p->fresh, t0));
		if (p->inbound) {
			for (unsigned i = 0; i < DP_BURST; i++)
				nat_stage_in(c, ms[i]);
		} else {
			for (unsigned i = 0; i < DP_BURST; i++)
				l3_forward(c, ms[i], FROM_PRIVATE, UINT32_MAX);
		}
		dp_tx_flush(c);
		ns += dp_now() - t0;
		n += DP_BURST;
	}
	out->packets = n;
	out->ns = ns;
	ret = bench_run_check(f, &before, n, p->out_port, err, errlen);
	return ret < 0 ? ret : nat_check(f, kind, &nat_before, n, out, err, errlen);
}

int bench_nat_run(struct bench_fixture *f, enum bench_kind kind, unsigned size,
		  uint64_t min_ns, struct bench_sample *out, char *err,
		  size_t errlen)
{
	const struct path *p;
	int ret = 0;

	if (kind < BENCH_FORWARD || kind > BENCH_NAT_IN_NEW || f->nat->size != size) {
		snprintf(err, errlen, "%u bytes were not prepared", size);
		return -EINVAL;
	}
	p = &paths[kind - BENCH_FORWARD];
	use_table(f, p->fresh);
	/* Each first-packet run starts on an empty table. */
	if (p->fresh)
		ret = fresh_expire(f, out, err, errlen);
	if (ret == 0)
		ret = verify_one(f, kind, err, errlen);
	if (ret == 0)
		ret = timed_loop(f, kind, min_ns, out, err, errlen);
	use_table(f, false);
	return ret;
}
