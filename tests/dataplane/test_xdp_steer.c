/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/xdp/steer.bpf.c run by the kernel on built frames
 * (BPF_PROG_TEST_RUN), its maps filled by control/xdp_steer.c from
 * hand-made tables:
 *  - a numbered table of frames covering steps 1-8 of
 *    include/portcullis/xdp_steer.h;
 *  - random IPv4 to the shared NAT address against nat_inbound_owned(),
 *    the dataplane's own decision, which step 8 must repeat;
 *  - a second plan: stale map entries are deleted, the verdicts follow.
 * The verdict oracle is the program's counters: xsks_map is empty, so
 * every frame passes, but exactly one of NO_SOCKET (the gateway's; with a
 * socket it would be TO_GATEWAY), TO_HOST or NOT_READY goes up.
 * Needs CAP_BPF: skipped when the kernel refuses with EPERM.  Any other
 * load failure (a verifier rejection) fails, with libbpf's log above.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cmocka.h>

#include "datapath.h"
#include "nat.h"
#include "xdp_steer.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* dataplane/xdp/steer_obj.c, generated: the object the daemon embeds. */
extern const unsigned char xdp_steer_obj[];
extern const size_t xdp_steer_obj_len;

enum { ET_IP4 = 0x0800, ET_ARP = 0x0806, ET_IP6 = 0x86dd, ET_VLAN = 0x8100,
       ET_LLDP = 0x88cc, FRAME_MAX = 256, TCP = 6, UDP = 17, ICMP = 1,
       ICMP6 = 58, GRE = 47, MF = 0x2000, DF = 0x4000, WG_PORT = 51820,
       PORT_MIN = 61000, PORT_MAX = 65000, VLAN_PRIV = 4000, RANDOM_RUNS = 100000 };

enum verdict { V_GATEWAY, V_HOST, V_NOT_READY };
static const char *const verdict_name[] = { "gateway", "host", "not ready" };

/* The addresses.  PUB4 is the public port's, the NAT's and the host's. */
#define PUB4 "203.0.113.10"
#define HOST4 "203.0.113.99"             /* the host's only */
#define NAT_ONLY4 "203.0.113.77"         /* a forward's, not a port's */
#define PRIV4 "10.0.0.1"                 /* private port, VLAN 4000 */
#define PRIV_HOST4 "10.0.0.2"            /* the host's, on VLAN 4000 */
#define GW6 "2001:db8::10"               /* public port only */
#define SHARED6 "2001:db8::1"            /* public port and host */
#define HOST6 "2001:db8::99"             /* the host's only */
#define LL6 "fe80::1"                    /* the public port's link-local */

/* --- Loading and running the program ------------------------------------ */

/* The loaded program; the teardown unloads it, also after a failure. */
static struct steer {
	struct bpf_object *obj;
	int prog;
	struct xdp_steer_maps maps;
	uint64_t stats[XDP_STEER_COUNTERS];
} g;
static bool no_bpf;                             /* skipped: exit 77 for meson */

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static void steer_load(struct steer *s)
{
	struct bpf_program *p;
	int ret;

	s->maps = (struct xdp_steer_maps){ -1, -1, -1, -1 };
	libbpf_set_print(libbpf_log);
	s->obj = bpf_object__open_mem(xdp_steer_obj, xdp_steer_obj_len, NULL);
	if (s->obj == NULL)
		fail_msg("bpf_object__open_mem: %s", strerror(errno));
	ret = bpf_object__load(s->obj);
	if (ret == -EPERM) {
		no_bpf = true;
		print_message("no CAP_BPF: skipped\n");
		skip();
	}
	if (ret < 0)
		fail_msg("bpf_object__load: %s (libbpf's log above)", strerror(-ret));
	p = bpf_object__find_program_by_name(s->obj, XDP_STEER_PROG_NAME);
	assert_non_null(p);
	s->prog = bpf_program__fd(p);
	assert_int_equal(xdp_steer_maps_find(s->prog, &s->maps), 0);
	assert_int_equal(xdp_steer_stats_read(&s->maps, s->stats), 0);
}

static int steer_unload(void **state)
{
	(void)state;
	xdp_steer_maps_close(&g.maps);
	bpf_object__close(g.obj);               /* NULL: nothing */
	g.obj = NULL;
	return 0;
}

/* Run one frame; the counter that went up is the verdict. */
static enum verdict run(struct steer *s, const uint8_t *frame, uint32_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .repeat = 1);
	uint64_t now[XDP_STEER_COUNTERS], d[XDP_STEER_COUNTERS];

	assert_int_equal(bpf_prog_test_run_opts(s->prog, &o), 0);
	assert_int_equal(xdp_steer_stats_read(&s->maps, now), 0);
	for (int k = 0; k < XDP_STEER_COUNTERS; k++)
		d[k] = now[k] - s->stats[k];
	memcpy(s->stats, now, sizeof(now));
	assert_int_equal(d[XDP_STEER_TO_GATEWAY], 0);    /* no socket */
	assert_int_equal(d[XDP_STEER_NO_SOCKET] + d[XDP_STEER_TO_HOST] +
			 d[XDP_STEER_NOT_READY], 1);
	/* The gateway's frames without a socket are dropped, not passed:
	 * the kernel would answer them. */
	assert_int_equal(o.retval, d[XDP_STEER_NO_SOCKET] ? XDP_DROP : XDP_PASS);
	return d[XDP_STEER_NO_SOCKET] ? V_GATEWAY : d[XDP_STEER_TO_HOST] ? V_HOST
								 : V_NOT_READY;
}

static unsigned map_count(int fd)
{
	uint8_t k[2][32];                       /* the largest key: 20 bytes */
	unsigned n = 0;

	while (bpf_map_get_next_key(fd, n ? k[(n - 1) % 2] : NULL, k[n % 2]) == 0)
		n++;
	return n;
}

/* The maps hold exactly the plan: each of its entries, and no other. */
static void assert_maps_hold(const struct steer *s, const struct xdp_steer_plan *p)
{
	char text[INET6_ADDRSTRLEN];
	uint32_t v;

	for (unsigned i = 0; i < p->n_addrs; i++) {
		const struct xdp_steer_addr_key *k = &p->addrs[i].key;
		int ret = bpf_map_lookup_elem(s->maps.addrs, k, &v);

		if (ret == 0 && v == p->addrs[i].flags)
			continue;
		inet_ntop(k->family == 4 ? AF_INET : AF_INET6, k->addr, text, sizeof(text));
		fail_msg("after xdp_steer_maps_write, steer_addrs[%s] is %s, the plan has "
			 "flags %u (entry %u of %u)", text, ret ? "missing" : "other",
			 p->addrs[i].flags, i, p->n_addrs);
	}
	for (unsigned i = 0; i < p->n_fwd; i++)
		if (bpf_map_lookup_elem(s->maps.fwd, &p->fwd[i], &v) < 0)
			fail_msg("after xdp_steer_maps_write, steer_fwd lacks proto %u port %u",
				 p->fwd[i].proto, ntohs(p->fwd[i].port));
	assert_int_equal(map_count(s->maps.addrs), p->n_addrs);
	assert_int_equal(map_count(s->maps.fwd), p->n_fwd);
}

/* --- The tables -------------------------------------------------------- */

static const uint8_t NIC_MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static struct ip_addr addr(const char *s)
{
	struct ip_addr a = { .family = strchr(s, ':') ? IP_V6 : IP_V4 };

	assert_int_equal(inet_pton(a.family == IP_V4 ? AF_INET : AF_INET6, s, a.bytes), 1);
	return a;
}

static struct ip_prefix prefix(const char *s, uint8_t cidr)
{
	return (struct ip_prefix){ .addr = addr(s), .cidr = cidr };
}

static struct nat_forward forwards[] = {
	{ .proto = TCP, .external_port = 2222, .internal_port = 22,
	  .internal = { .family = IP_V4, .bytes = { 10, 0, 0, 5 } } },
	{ .proto = UDP, .external_port = 5353, .internal_port = 53,
	  .internal = { .family = IP_V4, .bytes = { 10, 0, 0, 6 } } },
	{ .proto = TCP, .external_port = 8443, .internal_port = 443,
	  .external = { .family = IP_V4, .bytes = { 203, 0, 113, 77 } },   /* NAT_ONLY4 */
	  .internal = { .family = IP_V4, .bytes = { 10, 0, 0, 7 } } },
};

/* Both ports on one NIC (the private side on VLAN 4000).  second: the
 * re-plan's tables, without SHARED6 on the public port and without the
 * UDP forward. */
static void tables_init(struct dp_tables *t, bool second)
{
	struct dp_port_conf *pub = &t->ports[PORT_PUBLIC], *priv = &t->ports[PORT_PRIVATE];

	memset(t, 0, sizeof(*t));
	pub->present = priv->present = true;
	memcpy(pub->mac, NIC_MAC, 6);          /* one NIC: one MAC */
	memcpy(priv->mac, NIC_MAC, 6);
	pub->addrs[pub->n_addrs++] = prefix(PUB4, 24);
	pub->addrs[pub->n_addrs++] = prefix(GW6, 64);
	if (!second)
		pub->addrs[pub->n_addrs++] = prefix(SHARED6, 64);
	pub->link_local = addr(LL6);
	priv->vlan = VLAN_PRIV;
	priv->addrs[priv->n_addrs++] = prefix(PRIV4, 24);
	t->shared_port = true;
	t->listen_port = WG_PORT;
	nat_config_defaults(&t->nat);
	t->nat.enabled = true;
	t->nat.external = addr(PUB4);
	t->nat.port_min = PORT_MIN;
	t->nat.port_max = PORT_MAX;
	t->nat.listen_port = WG_PORT;
	t->nat.forwards = forwards;
	t->nat.n_forwards = second ? 1 : 3;
	assert_int_equal(nat_config_index(&t->nat), 0);
}

/* The host's addresses; the re-plan's lack HOST4 (the last). */
static unsigned host_init(struct xdp_steer_host_addr *h, bool second)
{
	const char *a[] = { PUB4, SHARED6, HOST6, PRIV_HOST4, HOST4 };
	unsigned n = second ? N(a) - 1 : N(a);

	for (unsigned i = 0; i < n; i++)
		h[i] = (struct xdp_steer_host_addr){ .addr = addr(a[i]), .ifindex = 2,
			.vlan = strcmp(a[i], PRIV_HOST4) == 0 ? VLAN_PRIV : 0 };
	return n;
}

static void plan_write(struct steer *s, struct xdp_steer_plan *p, bool second)
{
	static struct dp_tables t;
	struct xdp_steer_host_addr h[8];
	unsigned n = host_init(h, second);

	tables_init(&t, second);
	assert_int_equal(xdp_steer_plan_build(&t, 1u << PORT_PUBLIC | 1u << PORT_PRIVATE,
					      h, n, p), 0);
	nat_config_index_free(&t.nat);
	assert_int_equal(xdp_steer_maps_write(&s->maps, p), 0);
	assert_maps_hold(s, p);
}

/* --- Frames ------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet (and 802.1Q when vlan) header; returns the L3 offset. */
static uint32_t eth_put(uint8_t *f, uint16_t vlan, uint16_t type)
{
	memcpy(f, NIC_MAC, 6);
	memcpy(f + 6, "\x02\0\0\0\0\x02", 6);
	if (vlan == 0) {
		put16(f + 12, type);
		return 14;
	}
	put16(f + 12, ET_VLAN);
	put16(f + 14, vlan);
	put16(f + 16, type);
	return 18;
}

static uint32_t arp_put(uint8_t *a, const char *target)
{
	memcpy(a, "\0\x01\x08\0\x06\x04\0\x01", 8);   /* Ethernet/IPv4 request */
	memset(a + 8, 0, 16);
	memcpy(a + 24, addr(target).bytes, 4);
	return 28;
}

/* 20 bytes of IPv4 header, from 198.51.100.7 to dst. */
static void ip4_hdr_put(uint8_t *ip, uint8_t proto, uint16_t total, uint16_t frag,
			const char *dst)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, total);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, addr("198.51.100.7").bytes, 4);
	memcpy(ip + 16, addr(dst).bytes, 4);
}

/* The transport part: TCP/UDP to port, ICMP echo with identifier port,
 * an ICMP error quoting (q_proto, q_port), ICMPv6 with a target.  Its
 * length. */
static uint32_t l4_put(uint8_t *l4, uint8_t proto, uint16_t port, uint8_t icmp,
		       uint8_t q_proto, uint16_t q_port, const char *target)
{
	memset(l4, 0, 64);
	switch (proto) {
	case TCP:
	case UDP:
		put16(l4, 40000);
		put16(l4 + 2, port);
		put16(l4 + 4, 8);               /* UDP length; TCP: a sequence number */
		l4[12] = 5 << 4;                /* TCP header length; UDP: payload */
		return proto == TCP ? 20 : 8;
	case ICMP:
		l4[0] = icmp;
		if (icmp != 3 && icmp != 11 && icmp != 12) {
			put16(l4 + 4, port);
			return 8;
		}
		ip4_hdr_put(l4 + 8, q_proto, 48, 0, "198.51.100.7");
		memcpy(l4 + 8 + 12, addr(PUB4).bytes, 4);
		put16(l4 + 28 + (q_proto == ICMP ? 4 : 0), q_port);
		l4[28] = q_proto == ICMP ? 8 : l4[28];
		return 36;
	case ICMP6:
		l4[0] = icmp;
		if (target)
			memcpy(l4 + 8, addr(target).bytes, 16);
		return 24;
	default:
		return 8;
	}
}

enum kind { K_IP, K_ARP, K_ETHER };
enum mangle { M_NONE, M_LONG, M_IHL4, M_VER6, M_RUNT, M_OTHER_MAC, M_BCAST_MAC };

struct steer_case {
	enum verdict want;
	enum kind kind;
	uint16_t vlan;          /* 0: untagged */
	const char *dst;        /* K_IP: destination (IPv4 or IPv6) */
	uint8_t proto;
	uint16_t port;          /* TCP/UDP destination, echo identifier */
	uint8_t icmp;           /* ICMP(v6) type */
	uint8_t q_proto;        /* ICMP error: the quoted packet's protocol, */
	uint16_t q_port;        /* source port or echo identifier */
	const char *target;     /* ARP target, ICMPv6 NS target */
	uint16_t frag;          /* IPv4 flags and fragment offset */
	uint8_t ihl;            /* 0: 5 */
	uint8_t cut;            /* keep only this many transport bytes */
	uint8_t pad;            /* Ethernet padding after the IP packet */
	enum mangle mangle;
};

static uint32_t build(const struct steer_case *c, uint8_t *f)
{
	bool v6 = c->kind == K_IP && strchr(c->dst, ':');
	uint32_t off = eth_put(f, c->vlan, c->kind == K_ARP ? ET_ARP : c->kind == K_ETHER ?
			       ET_LLDP : v6 ? ET_IP6 : ET_IP4);
	uint8_t *ip = f + off, ihl = c->ihl ? c->ihl : 5;
	uint32_t l4len;

	memset(f + off, 0, FRAME_MAX - off);
	if (c->mangle == M_OTHER_MAC)
		f[5] = 0x99;                   /* another host's unicast MAC */
	if (c->mangle == M_BCAST_MAC)
		memset(f, 0xff, 6);
	if (c->kind == K_ARP)
		return off + arp_put(ip, c->target);
	if (c->kind == K_ETHER || c->mangle == M_RUNT)
		return c->kind == K_ETHER ? off + 46 : off;
	if (v6) {
		ip[0] = 0x60;
		ip[6] = c->proto;
		ip[7] = 255;
		memcpy(ip + 8, addr(SHARED6).bytes, 16);
		memcpy(ip + 24, addr(c->dst).bytes, 16);
		l4len = l4_put(ip + 40, c->proto, c->port, c->icmp, 0, 0, c->target);
		put16(ip + 4, (uint16_t)l4len);
		return off + 40 + l4len;
	}
	l4len = l4_put(ip + ihl * 4, c->proto, c->port, c->icmp, c->q_proto, c->q_port, NULL);
	l4len = c->cut ? c->cut : l4len;
	ip4_hdr_put(ip, c->proto, (uint16_t)(ihl * 4 + l4len), c->frag, c->dst);
	memset(ip + 20, 1, ihl * 4 - 20u);      /* options: NOPs */
	ip[0] = (uint8_t)(0x40 | (c->mangle == M_IHL4 ? 4 : ihl));
	if (c->mangle == M_VER6)
		ip[0] = 0x65;
	if (c->mangle == M_LONG)
		put16(ip + 2, (uint16_t)(ihl * 4 + l4len + 1));
	return off + ihl * 4 + l4len + c->pad;
}

/* --- 1. The table ------------------------------------------------------- */

#define IP(v, ...) { .want = V_##v, .kind = K_IP, __VA_ARGS__ }
#define ERR(v, t, qp, qport, ...) IP(v, .dst = PUB4, .proto = ICMP, .icmp = t, \
				      .q_proto = qp, .q_port = qport, __VA_ARGS__)

/* Rows expecting NOT_READY run before the maps are written. */
static const struct steer_case cases[] = {
	/* Step 1: nothing written yet. */
	/*  0 */ IP(NOT_READY, .dst = PUB4, .proto = TCP, .port = 22),
	/*  1 */ IP(NOT_READY, .dst = "198.51.100.7", .proto = UDP, .port = WG_PORT),
	/*  2 */ { .want = V_NOT_READY, .kind = K_ARP, .target = PUB4 },
	/* Step 2: VLANs and ethertypes. */
	/*  3 */ IP(HOST, .vlan = 100, .dst = PUB4, .proto = UDP, .port = WG_PORT),
	/*  4 */ IP(HOST, .vlan = 100, .dst = "198.51.100.7", .proto = TCP, .port = 62000),
	/*  5 */ IP(GATEWAY, .vlan = VLAN_PRIV, .dst = "198.51.100.7", .proto = TCP, .port = 443),
	/*  6 */ IP(GATEWAY, .vlan = VLAN_PRIV, .dst = PRIV4, .proto = TCP, .port = 22),
	/*  7 */ IP(HOST, .vlan = VLAN_PRIV, .dst = PRIV_HOST4, .proto = TCP, .port = 22),
	/*  8 */ { .want = V_HOST, .kind = K_ETHER },
	/*  9 */ { .want = V_HOST, .kind = K_ETHER, .vlan = VLAN_PRIV },
	/* Step 3: ARP. */
	/* 10 */ { .want = V_GATEWAY, .kind = K_ARP, .vlan = VLAN_PRIV, .target = PRIV4 },
	/* 11 */ { .want = V_HOST, .kind = K_ARP, .target = PUB4 },
	/* 12 */ { .want = V_HOST, .kind = K_ARP, .target = HOST4 },
	/* 13 */ { .want = V_HOST, .kind = K_ARP, .target = "203.0.113.50" },
	/* 14 */ { .want = V_HOST, .kind = K_ARP, .vlan = 100, .target = PRIV4 },
	/* Step 4: multicast and broadcast. */
	/* 15 */ IP(HOST, .dst = "255.255.255.255", .proto = UDP, .port = 67),
	/* 16 */ IP(HOST, .dst = "224.0.0.1", .proto = 2),
	/* 17 */ IP(HOST, .dst = "239.1.2.3", .proto = UDP, .port = 62000),
	/* 18 */ IP(GATEWAY, .dst = "ff02::1:ff00:10", .proto = ICMP6, .icmp = 135, .target = GW6),
	/* 19 */ IP(GATEWAY, .dst = "ff02::1:ff00:1", .proto = ICMP6, .icmp = 135, .target = LL6),
	/* 20 */ IP(HOST, .dst = "ff02::1:ff00:1", .proto = ICMP6, .icmp = 135, .target = SHARED6),
	/* 21 */ IP(HOST, .dst = "ff02::1:ff00:99", .proto = ICMP6, .icmp = 135, .target = HOST6),
	/* 22 */ IP(HOST, .dst = "ff02::1:ff00:10", .proto = ICMP6, .icmp = 136, .target = GW6),
	/* 23 */ IP(HOST, .dst = "ff02::1", .proto = ICMP6, .icmp = 134),
	/* 24 */ IP(HOST, .dst = "ff02::1:ff00:10", .proto = UDP, .port = WG_PORT),
	/* Steps 5 and 6: in no map (the public side: the kernel's; the
	 * private side's transit is 5 above), or not the host's. */
	/* 25 */ IP(HOST, .dst = "198.51.100.7", .proto = TCP, .port = 22),
	/* 26 */ IP(HOST, .dst = "2001:db8:1::5", .proto = UDP, .port = 53),
	/* 27 */ IP(GATEWAY, .dst = GW6, .proto = TCP, .port = 22),
	/* 28 */ IP(GATEWAY, .dst = GW6, .proto = ICMP6, .icmp = 135, .target = GW6),
	/* 29 */ IP(GATEWAY, .vlan = VLAN_PRIV, .dst = PRIV4, .proto = ICMP, .icmp = 8),
	/* Step 7: the host's only. */
	/* 30 */ IP(HOST, .dst = HOST4, .proto = TCP, .port = 22),
	/* 31 */ IP(HOST, .dst = HOST4, .proto = TCP, .port = 62000),
	/* 32 */ IP(HOST, .dst = HOST4, .proto = UDP, .port = WG_PORT),
	/* 33 */ IP(HOST, .dst = HOST6, .proto = TCP, .port = 22),
	/* Step 8: shared.  WireGuard. */
	/* 34 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = WG_PORT),
	/* 35 */ IP(HOST, .dst = PUB4, .proto = UDP, .port = WG_PORT, .frag = MF),
	/* 36 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = WG_PORT, .frag = DF),
	/* 37 */ IP(GATEWAY, .dst = SHARED6, .proto = UDP, .port = WG_PORT),
	/* 38 */ IP(HOST, .dst = SHARED6, .proto = TCP, .port = 22),
	/* 39 */ IP(HOST, .dst = SHARED6, .proto = UDP, .port = 62000),
	/* 40 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = WG_PORT),
	/* NAT: TCP/UDP ports. */
	/* 41 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 22),
	/* 42 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = PORT_MIN - 1),
	/* 43 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = PORT_MIN),
	/* 44 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = PORT_MAX),
	/* 45 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = PORT_MAX + 1),
	/* 46 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = 62000),
	/* 47 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 2222),
	/* 48 */ IP(HOST, .dst = PUB4, .proto = UDP, .port = 2222),
	/* 49 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = 5353),
	/* 50 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 5353),
	/* 51 */ IP(HOST, .dst = PUB4, .proto = GRE),
	/* ICMP. */
	/* 52 */ IP(HOST, .dst = PUB4, .proto = ICMP, .icmp = 8, .port = 62000),
	/* 53 */ IP(GATEWAY, .dst = PUB4, .proto = ICMP, .icmp = 0, .port = 62000),
	/* 54 */ IP(HOST, .dst = PUB4, .proto = ICMP, .icmp = 0, .port = 1000),
	/* 55 */ IP(HOST, .dst = PUB4, .proto = ICMP, .icmp = 5, .port = 62000),
	/* 56 */ ERR(GATEWAY, 3, UDP, 62000),
	/* 57 */ ERR(HOST, 3, TCP, 40000),
	/* 58 */ ERR(GATEWAY, 3, TCP, 2222),
	/* 59 */ ERR(HOST, 3, UDP, 2222),
	/* 60 */ ERR(GATEWAY, 11, ICMP, 63000),
	/* 61 */ ERR(HOST, 11, ICMP, 5),
	/* 62 */ ERR(HOST, 12, GRE, 62000),
	/* 63 */ ERR(GATEWAY, 12, TCP, 40000, .cut = 8 + 19),  /* quote too short */
	/* 64 */ ERR(GATEWAY, 3, TCP, 40000, .cut = 8 + 27),
	/* 65 */ ERR(HOST, 3, TCP, 40000, .cut = 8 + 28, .pad = 8),
	/* Fragments. */
	/* 66 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .frag = 100),
	/* 67 */ IP(GATEWAY, .dst = PUB4, .proto = GRE, .frag = MF | 1),
	/* 68 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 22, .frag = MF),
	/* 69 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 62000, .frag = MF),
	/* Lengths, options, malformed headers. */
	/* 70 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .cut = 4),
	/* 71 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .cut = 7, .pad = 20),
	/* 72 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 22, .cut = 8),
	/* 73 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 22, .pad = 30),
	/* 74 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 22, .ihl = 15),
	/* 75 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = 62000, .ihl = 6),
	/* 76 */ IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = WG_PORT, .ihl = 6),
	/* 77 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .mangle = M_LONG),
	/* 78 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .mangle = M_IHL4),
	/* 79 */ IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 22, .mangle = M_VER6),
	/* 80 */ IP(GATEWAY, .dst = PUB4, .mangle = M_RUNT),
	/* 81 */ IP(GATEWAY, .vlan = VLAN_PRIV, .dst = HOST4, .mangle = M_RUNT),
	/* Step 2: another host's unicast (promiscuous port); broadcast is ours. */
	/* 82 */ IP(HOST, .dst = PUB4, .proto = UDP, .port = WG_PORT, .mangle = M_OTHER_MAC),
	/* 83 */ IP(HOST, .vlan = VLAN_PRIV, .dst = "198.51.100.7", .proto = TCP, .port = 443,
		    .mangle = M_OTHER_MAC),
	/* 84 */ { .want = V_GATEWAY, .kind = K_ARP, .vlan = VLAN_PRIV, .target = PRIV4,
		   .mangle = M_BCAST_MAC },
	/* The NAT's own address (a forward's, no port's): its ARP and all. */
	/* 85 */ { .want = V_GATEWAY, .kind = K_ARP, .target = NAT_ONLY4 },
	/* 86 */ IP(GATEWAY, .dst = NAT_ONLY4, .proto = TCP, .port = 22),
	/* Addresses are per VLAN: the public ones are not the private side's. */
	/* 87 */ { .want = V_HOST, .kind = K_ARP, .vlan = VLAN_PRIV, .target = NAT_ONLY4 },
	/* 88 */ IP(GATEWAY, .vlan = VLAN_PRIV, .dst = PUB4, .proto = TCP, .port = 22),
	/* 89 */ IP(HOST, .dst = PRIV4, .proto = TCP, .port = 22),
	/* A forward is of its own address: 8443 on NAT_ONLY4 leaves PUB4's
	 * 8443 to the host, and an error quoting PUB4:8443 too. */
	/* 90 */ IP(HOST, .dst = PUB4, .proto = TCP, .port = 8443),
	/* 91 */ ERR(HOST, 3, TCP, 8443),
};

static void run_cases(struct steer *s, bool not_ready)
{
	uint8_t f[FRAME_MAX];
	unsigned bad = 0;

	for (unsigned i = 0; i < N(cases); i++) {
		const struct steer_case *c = &cases[i];
		enum verdict got;

		if ((c->want == V_NOT_READY) != not_ready)
			continue;
		got = run(s, f, build(c, f));
		if (got != c->want) {
			print_error("case %u: %s, want %s\n", i, verdict_name[got],
				    verdict_name[c->want]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_cases(void **state)
{
	static struct xdp_steer_plan plan;

	(void)state;
	steer_load(&g);
	run_cases(&g, true);
	plan_write(&g, &plan, false);
	run_cases(&g, false);
}

/* --- 2. Random IPv4 to the shared address against nat_inbound_owned ----- */

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A port or identifier, often at the edges of the range or a forward's. */
static uint16_t rnd_port(uint64_t *x)
{
	static const uint16_t special[] = { PORT_MIN - 1, PORT_MIN, PORT_MIN + 1,
		PORT_MAX - 1, PORT_MAX, PORT_MAX + 1, 2222, 5353, 22, WG_PORT, 0, 65535 };

	switch (rnd(x) % 4) {
	case 0: return (uint16_t)rnd(x);
	case 1: return special[rnd(x) % N(special)];
	case 2: return (uint16_t)(PORT_MIN + rnd(x) % (PORT_MAX - PORT_MIN + 1));
	default: return (uint16_t)(1 + rnd(x) % (PORT_MIN - 1));
	}
}

static uint8_t rnd_proto(uint64_t *x)
{
	static const uint8_t p[] = { TCP, UDP, ICMP, ICMP, GRE };

	return rnd(x) % 8 ? p[rnd(x) % N(p)] : (uint8_t)rnd(x);
}

/* The transport part (l4, 64 random bytes already there); its length. */
static uint32_t rnd_l4(uint64_t *x, uint8_t *l4, uint8_t proto)
{
	static const uint8_t types[] = { 0, 0, 3, 3, 11, 12, 8, 5 };
	uint8_t *q = l4 + 8, qihl;

	if (proto == TCP || proto == UDP) {
		put16(l4 + 2, rnd_port(x));
		return proto == TCP ? 20 + rnd(x) % 20 : 8 + rnd(x) % 20;
	}
	if (proto != ICMP)
		return rnd(x) % 40;
	l4[0] = rnd(x) % 8 ? types[rnd(x) % N(types)] : (uint8_t)rnd(x);
	put16(l4 + 4, rnd_port(x));
	if (l4[0] != 3 && l4[0] != 11 && l4[0] != 12)
		return 8 + rnd(x) % 16;
	/* The quoted packet: usually a sane header, sometimes any. */
	qihl = rnd(x) % 4 ? 5 : rnd(x) % 16;
	q[0] = (uint8_t)(0x40 | qihl);
	q[9] = rnd_proto(x);
	put16(q + qihl * 4 + (q[9] == ICMP ? 4 : 0), rnd_port(x));
	return 8 + qihl * 4u + 8;
}

/* An Ethernet frame holding a well-formed IPv4 header to PUB4; *ip and
 * *len: the packet and its total length. */
static uint32_t rnd_frame(uint64_t *x, uint8_t *f, uint8_t **ip, uint32_t *len)
{
	uint32_t off = eth_put(f, 0, ET_IP4), ihl = rnd(x) % 8 ? 20 : 4 * (5 + rnd(x) % 11);
	uint32_t l4len, pad = rnd(x) % 4 ? 0 : rnd(x) % 24;
	uint8_t *p = f + off;

	for (uint32_t i = off; i < FRAME_MAX; i++)
		f[i] = (uint8_t)rnd(x);
	ip4_hdr_put(p, rnd_proto(x), 0, 0, PUB4);
	memcpy(p + 12, &(uint32_t){ (uint32_t)rnd(x) }, 4);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	switch (rnd(x) % 8) {
	case 0:                                 /* a later fragment */
		put16(p + 6, (uint16_t)(1 + rnd(x) % 0x1fff));
		p[6] |= (uint8_t)((rnd(x) & (MF | DF)) >> 8);
		break;
	case 1: put16(p + 6, MF); break;
	case 2: put16(p + 6, DF); break;
	}
	l4len = rnd_l4(x, p + ihl, p[9]);
	if (rnd(x) % 4 == 0)
		l4len = (uint32_t)(rnd(x) % (l4len + 1));       /* cut short */
	*ip = p;
	*len = ihl + l4len;
	put16(p + 2, (uint16_t)*len);
	return off + *len + pad;
}

static bool is_wireguard(const uint8_t *ip, uint32_t len)
{
	uint32_t ihl = (ip[0] & 0xf) * 4u;

	return ip[9] == UDP && ((ip[6] << 8 | ip[7]) & (MF | 0x1fff)) == 0 &&
	       len >= ihl + 8 && (ip[ihl + 2] << 8 | ip[ihl + 3]) == WG_PORT;
}

static void test_random(void **state)
{
	static struct xdp_steer_plan plan;
	static struct dp_tables t;
	uint64_t x = 0x9e3779b97f4a7c15ull, n[2] = { 0 }, n_wg = 0;
	uint8_t f[FRAME_MAX], *ip;
	uint32_t len;

	(void)state;
	steer_load(&g);
	plan_write(&g, &plan, false);
	tables_init(&t, false);
	for (unsigned i = 0; i < RANDOM_RUNS; i++) {
		uint32_t flen = rnd_frame(&x, f, &ip, &len);
		bool wg = is_wireguard(ip, len);
		enum verdict want = wg || nat_inbound_owned(&t.nat, ip, len) ? V_GATEWAY
									     : V_HOST;
		enum verdict got = run(&g, f, flen);

		if (got != want) {
			print_error("packet %u: %s, want %s (nat_inbound_owned %d, "
				    "WireGuard %d, total length %u, frame %u)\n", i,
				    verdict_name[got], verdict_name[want],
				    nat_inbound_owned(&t.nat, ip, len), wg, len, flen);
			for (uint32_t k = 0; k < flen; k++)
				print_error("%s%02x", k % 16 ? " " : "\n  ", f[k]);
			fail_msg("the first mismatch, above");
		}
		n[want]++;
		n_wg += wg;
	}
	print_message("%u random packets: %" PRIu64 " gateway (%" PRIu64 " of them "
		      "WireGuard), %" PRIu64 " host\n", RANDOM_RUNS, n[V_GATEWAY], n_wg,
		      n[V_HOST]);
	assert_true(n[V_GATEWAY] > RANDOM_RUNS / 10 && n[V_HOST] > RANDOM_RUNS / 10);
	nat_config_index_free(&t.nat);
}

/* --- 3. A second plan ---------------------------------------------------- */

static void test_replan(void **state)
{
	static struct xdp_steer_plan p1, p2;
	static const struct {
		struct steer_case c;
		enum verdict second;            /* c.want: under the first plan */
	} rows[] = {
		/* 0 */ { IP(GATEWAY, .dst = PUB4, .proto = UDP, .port = 5353), V_HOST },
		/* 1 */ { IP(GATEWAY, .dst = PUB4, .proto = TCP, .port = 2222), V_GATEWAY },
		/* 2: no longer the host's address, in no map: still the kernel's
		 * on the public side (the maps are checked entry by entry) */
		/* 2 */ { IP(HOST, .dst = HOST4, .proto = TCP, .port = 22), V_HOST },
		/* 3 */ { IP(GATEWAY, .dst = SHARED6, .proto = UDP, .port = WG_PORT), V_HOST },
		/* 4 */ { ERR(GATEWAY, 3, UDP, 5353), V_HOST },
		/* 5 */ { IP(HOST, .dst = PUB4, .proto = TCP, .port = 22), V_HOST },
	};
	uint8_t f[FRAME_MAX];

	(void)state;
	steer_load(&g);
	plan_write(&g, &p1, false);
	assert_int_equal(p1.n_fwd, 3);
	assert_int_equal(p1.n_addrs, 9);
	assert_true(p1.conf.vlan[0] == 0 && p1.conf.vlan[1] == VLAN_PRIV);
	for (unsigned i = 0; i < N(rows); i++)
		if (run(&g, f, build(&rows[i].c, f)) != rows[i].c.want)
			fail_msg("row %u, first plan", i);

	plan_write(&g, &p2, true);
	assert_int_equal(p2.n_fwd, 1);
	assert_int_equal(p2.n_addrs, 7);     /* HOST4 and NAT_ONLY4 gone */
	for (unsigned i = 0; i < N(rows); i++)
		if (run(&g, f, build(&rows[i].c, f)) != rows[i].second)
			fail_msg("row %u, second plan", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cases, steer_unload),
		cmocka_unit_test_teardown(test_random, steer_unload),
		cmocka_unit_test_teardown(test_replan, steer_unload),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	return failed ? failed : no_bpf ? 77 : 0;
}
