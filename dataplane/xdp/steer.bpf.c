/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause) */
/*
 * The XDP steering program of AF_XDP mode: the gateway's traffic to its
 * AF_XDP sockets, the rest to the kernel.  The rules and the maps are in
 * include/portcullis/xdp_steer.h; the step numbers below are its.
 *
 * Built with clang -target bpf (dataplane/xdp/meson.build), embedded in
 * portcullisd and handed to DPDK's net_af_xdp as its xdp_prog, which
 * attaches it and fills xsks_map with one socket per queue; the control
 * plane fills the other maps (control/xdp_steer.c).  When in doubt the
 * program passes to the kernel: an empty or stale map never cuts the
 * operator off, it only delays the gateway.  The one exception is a frame
 * for the gateway on a queue without a socket, which is dropped (the
 * header says why).
 *
 * Lengths follow the dataplane's: an IPv4 packet is as long as its total
 * length says (Ethernet padding is not data), and a packet too short for
 * the field a rule reads goes to the gateway, which counts it as
 * malformed, as it would have without steering.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "portcullis/xdp_steer.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XDP_STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");                /* the name net_af_xdp looks for */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_steer_conf);
} steer_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_STEER_MAX_ADDRS);
	__type(key, struct xdp_steer_addr_key);
	__type(value, __u32);
} steer_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_STEER_MAX_FORWARDS);
	__type(key, struct xdp_steer_fwd_key);
	__type(value, __u32);
} steer_fwd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_STEER_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} steer_stats SEC(".maps");

enum {
	GATEWAY = 1, HOST = 0,
	ETH_P_8021Q_ = 0x8100,
	ARP_TPA_OFF = 24,                   /* Ethernet/IPv4 ARP: target address */
	ICMP_ECHO_REPLY_ = 0, ICMP_UNREACH_ = 3, ICMP_TIME_EXCEEDED_ = 11,
	ICMP_PARAM_PROBLEM_ = 12,
	ICMP6_NS_ = 135, IPPROTO_ICMPV6_ = 58,
	IPV4_MF_ = 0x2000, IPV4_OFFSET_ = 0x1fff,
};

struct frame {
	void *data, *end;
	const struct xdp_steer_conf *conf;
	__u16 vlan;                         /* the frame's, 0: untagged */
	__u8 transit;                       /* conf->transit[] of that VLAN */
};

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&steer_stats, &which);

	if (c)
		*c += 1;
}

static __always_inline __u32 addr_flags(const struct frame *f, __u8 family,
					       const void *addr)
{
	struct xdp_steer_addr_key k = { .family = family, .vlan = f->vlan };
	__u32 *v;

	__builtin_memcpy(k.addr, addr, family == 4 ? 4 : 16);
	v = bpf_map_lookup_elem(&steer_addrs, &k);
	return v ? *v : 0;
}

/* The gateway answers ARP/ND for its own and the NAT's addresses. */
static __always_inline int gateway_only(__u32 flags)
{
	return (flags & (XDP_STEER_ADDR_GATEWAY | XDP_STEER_ADDR_NAT)) &&
	       !(flags & XDP_STEER_ADDR_HOST);
}

static __always_inline int in_range(const struct xdp_steer_conf *conf, __u16 port_be)
{
	__u16 p = bpf_ntohs(port_be);

	return p >= conf->nat_port_min && p <= conf->nat_port_max;
}

static __always_inline int forward_port(__u8 proto, const __u8 *addr, __u16 port_be)
{
	struct xdp_steer_fwd_key k = { .proto = proto, .port = port_be };

	__builtin_memcpy(k.addr, addr, 4);
	return bpf_map_lookup_elem(&steer_fwd, &k) != NULL;
}

/* An ICMP error to the NAT's address quotes a packet that left from it
 * (q, qlen bytes of it): the NAT's when its source port or echo
 * identifier is one the NAT hands out.  Too short to tell: the NAT's. */
static __always_inline int nat_icmp_error(const struct frame *f, __u8 *q, __u32 qlen)
{
	__u32 ql4;
	__u8 *l4;

	if (qlen < 20 || (void *)(q + 20) > f->end)
		return GATEWAY;
	ql4 = (q[0] & 0xf) * 4;
	if (qlen < ql4 + 8)
		return GATEWAY;
	l4 = q + ql4;
	if ((void *)(l4 + 8) > f->end)
		return GATEWAY;
	switch (q[9]) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return in_range(f->conf, *(__u16 *)l4) ||
		       forward_port(q[9], q + 12, *(__u16 *)l4);    /* its source */
	case IPPROTO_ICMP:
		return in_range(f->conf, *(__u16 *)(l4 + 4));
	default:
		return HOST;
	}
}

/* Step 8 for a NAT external address: nat_inbound_owned() of the
 * dataplane, rule for rule. */
static __always_inline int nat_owned(const struct frame *f, __u8 *ip, __u32 len)
{
	__u32 l4off = (ip[0] & 0xf) * 4;
	__u16 frag = bpf_ntohs(*(__u16 *)(ip + 6));
	__u8 *l4;

	if (frag & IPV4_OFFSET_)
		return GATEWAY;
	if (len < l4off + 8)
		return GATEWAY;
	l4 = ip + l4off;
	if ((void *)(l4 + 8) > f->end)
		return GATEWAY;
	switch (ip[9]) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return in_range(f->conf, *(__u16 *)(l4 + 2)) ||
		       forward_port(ip[9], ip + 16, *(__u16 *)(l4 + 2));
	case IPPROTO_ICMP:
		switch (l4[0]) {
		case ICMP_ECHO_REPLY_:
			return in_range(f->conf, *(__u16 *)(l4 + 4));
		case ICMP_UNREACH_:
		case ICMP_TIME_EXCEEDED_:
		case ICMP_PARAM_PROBLEM_:
			return nat_icmp_error(f, l4 + 8, len - l4off - 8);
		default:
			return HOST;
		}
	default:
		return HOST;
	}
}

/* Unfragmented UDP to the listen port: a WireGuard message. */
static __always_inline int wireguard(const struct frame *f, __u8 proto, __u16 frag,
				     __u8 *l4, __u32 l4len)
{
	if (proto != IPPROTO_UDP || (frag & (IPV4_MF_ | IPV4_OFFSET_)) || l4len < 8 ||
	    (void *)(l4 + 8) > f->end || f->conf->listen_port == 0)
		return 0;
	return bpf_ntohs(*(__u16 *)(l4 + 2)) == f->conf->listen_port;
}

static __always_inline int ipv4(const struct frame *f, __u8 *ip)
{
	__u32 ihl, len, flags;
	__u16 frag;

	if ((void *)(ip + 20) > f->end)
		return GATEWAY;
	ihl = (ip[0] & 0xf) * 4;
	len = bpf_ntohs(*(__u16 *)(ip + 2));
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < ihl || (void *)ip + len > f->end)
		return GATEWAY;                 /* malformed: the gateway counts it */
	/* Step 4: multicast and broadcast. */
	if ((ip[16] & 0xf0) == 0xe0 || *(__u32 *)(ip + 16) == 0xffffffff)
		return HOST;
	flags = addr_flags(f, 4, ip + 16);
	if (flags == 0)
		return f->transit ? GATEWAY : HOST;     /* step 5 */
	if (!(flags & XDP_STEER_ADDR_HOST))
		return GATEWAY;                 /* step 6 */
	if (!(flags & (XDP_STEER_ADDR_GATEWAY | XDP_STEER_ADDR_NAT)))
		return HOST;                    /* step 7 */
	/* Step 8: an address both have. */
	frag = bpf_ntohs(*(__u16 *)(ip + 6));
	if ((flags & XDP_STEER_ADDR_WG) && wireguard(f, ip[9], frag, ip + ihl, len - ihl))
		return GATEWAY;
	if (flags & XDP_STEER_ADDR_NAT)
		return nat_owned(f, ip, len);
	return HOST;
}

static __always_inline int ipv6(const struct frame *f, __u8 *ip)
{
	__u32 len, flags;
	__u8 *l4 = ip + 40;

	if ((void *)(ip + 40) > f->end)
		return GATEWAY;
	len = 40 + bpf_ntohs(*(__u16 *)(ip + 4));
	if ((void *)ip + len > f->end)
		return GATEWAY;
	if (ip[24] == 0xff) {               /* step 4 */
		if (ip[6] == IPPROTO_ICMPV6_ && (void *)(l4 + 24) <= f->end &&
		    l4[0] == ICMP6_NS_ && gateway_only(addr_flags(f, 6, l4 + 8)))
			return GATEWAY;
		return HOST;
	}
	flags = addr_flags(f, 6, ip + 24);
	if (flags == 0)
		return f->transit ? GATEWAY : HOST;     /* step 5 */
	if (!(flags & XDP_STEER_ADDR_HOST))
		return GATEWAY;                 /* step 6 */
	if (!(flags & XDP_STEER_ADDR_GATEWAY))
		return HOST;                    /* step 7 */
	/* Step 8: the NAT is IPv4 only, so only WireGuard is the gateway's. */
	if ((flags & XDP_STEER_ADDR_WG) && wireguard(f, ip[6], 0, l4, len - 40))
		return GATEWAY;
	return HOST;
}

/* Step 2: unicast to another MAC (the port is promiscuous). */
static __always_inline int other_mac(const struct xdp_steer_conf *conf,
				     const struct ethhdr *eth)
{
	return !(eth->h_dest[0] & 1) && (*(const __u32 *)eth->h_dest !=
					 *(const __u32 *)conf->mac ||
					 *(const __u16 *)(eth->h_dest + 4) !=
					 *(const __u16 *)(conf->mac + 4));
}

/* Step 2: the frame's VLAN is one the gateway uses on this NIC. */
static __always_inline int vlan_ours(struct frame *f, __u16 vid)
{
	f->vlan = vid;
	if (vid == f->conf->vlan[0]) {
		f->transit = f->conf->transit[0];
		return 1;
	}
	if (vid == f->conf->vlan[1]) {
		f->transit = f->conf->transit[1];
		return 1;
	}
	return 0;
}

static __always_inline int decide(struct frame *f)
{
	struct ethhdr *eth = f->data;
	__u8 *l3 = (__u8 *)(eth + 1);
	__u16 type, vid = 0;

	if ((void *)l3 > f->end || other_mac(f->conf, eth))
		return HOST;
	type = bpf_ntohs(eth->h_proto);
	if (type == ETH_P_8021Q_) {         /* one 802.1Q tag, as parse_l2 */
		if ((void *)(l3 + 4) > f->end)
			return HOST;
		vid = bpf_ntohs(*(__u16 *)l3) & 0x0fff;
		type = bpf_ntohs(*(__u16 *)(l3 + 2));
		l3 += 4;
	}
	if (!vlan_ours(f, vid))
		return HOST;
	switch (type) {
	case ETH_P_ARP:                     /* step 3 */
		if ((void *)(l3 + ARP_TPA_OFF + 4) > f->end)
			return HOST;
		return gateway_only(addr_flags(f, 4, l3 + ARP_TPA_OFF)) ? GATEWAY : HOST;
	case ETH_P_IP:
		return ipv4(f, l3);
	case ETH_P_IPV6:
		return ipv6(f, l3);
	default:
		return HOST;
	}
}

SEC("xdp")
int portcullis_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0, queue = ctx->rx_queue_index;
	struct frame f = {
		.data = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};

	f.conf = bpf_map_lookup_elem(&steer_conf, &zero);
	if (!f.conf || !f.conf->enabled) {  /* step 1 */
		count(XDP_STEER_NOT_READY);
		return XDP_PASS;
	}
	if (decide(&f) == HOST) {
		count(XDP_STEER_TO_HOST);
		return XDP_PASS;
	}
	if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
		count(XDP_STEER_NO_SOCKET);
		return XDP_DROP;
	}
	count(XDP_STEER_TO_GATEWAY);
	return bpf_redirect_map(&xsks_map, queue, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
