/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AF_XDP mode: the NIC stays with the kernel, and the XDP program
 * dataplane/xdp/steer.bpf.c hands the gateway (its AF_XDP sockets) only
 * what the gateway handles; everything else passes to the kernel
 * untouched.  This header is the contract between that program and the
 * control plane that fills its maps (control/xdp_steer.c); both sides
 * include it, so it uses only <linux/types.h>.
 *
 * Addresses are looked up with the VLAN the frame came on: an address is
 * the host's or the gateway's on one VLAN of the NIC (0: untagged).
 *
 * The decision, per frame (the program's comments go step by step):
 *  1. Maps not filled yet (conf.enabled == 0): the kernel.
 *  2. Unicast to another MAC than the NIC's (the port is promiscuous), a
 *     VLAN the gateway does not use on this NIC (conf.vlan[]), or a frame
 *     that is neither ARP, IPv4 nor IPv6: the kernel.
 *  3. ARP: the gateway when the target address is the gateway's (or the
 *     NAT's) and not the host's, else the kernel (the kernel answers for
 *     the addresses it shares with the gateway; the gateway learns its
 *     neighbours on those from the kernel's table, control/host_neigh.c).
 *  4. IP to a multicast or broadcast address: the kernel, except an IPv6
 *     neighbour solicitation for a gateway-only target.
 *  5. IP to an address not in the address map: on a VLAN that carries
 *     transit (conf.transit[], the private side) the gateway, which routes
 *     it (to the internet, the tunnel); elsewhere (the public side, where
 *     the gateway would drop it) the kernel, whose other interfaces and
 *     routed subnets it may be for.
 *  6. IP to an address the host does not have: the gateway.
 *  7. IP to an address the host has and the gateway does not: the kernel.
 *  8. IP to an address both have (one public IPv4 shared by the bastion
 *     and the NAT): the gateway takes WireGuard (unfragmented UDP to
 *     listen_port on an ADDR_WG address) and, on an ADDR_NAT address, what
 *     nat_inbound_owned() (dataplane/nat.h) says the NAT owns: TCP/UDP to
 *     its PortRange or a forward's port on that address, echo replies with
 *     an identifier
 *     in PortRange, ICMP errors quoting those, non-first fragments.  The
 *     kernel gets the rest: SSH, ping, the host's own connections.
 * A frame for the gateway that arrives on a queue without a gateway
 * socket is dropped (counted as no_socket): given to the kernel, NAT
 * return traffic would be answered with resets, or transit routed past
 * the gateway's filter.
 * tests/dataplane/test_xdp_steer.c runs the program on packets and checks
 * step 8 against nat_inbound_owned() on random packets.
 */
#ifndef PORTCULLIS_XDP_STEER_H
#define PORTCULLIS_XDP_STEER_H

#include <linux/types.h>

/* The program's name (its function's, at most 15 characters): how the
 * control plane recognises a copy left attached by a run that did not stop
 * cleanly. */
#define XDP_STEER_PROG_NAME "portcullis_xdp"

enum xdp_steer_limits {
	XDP_STEER_MAX_QUEUES = 256,         /* xsks_map: one socket per NIC queue */
	XDP_STEER_MAX_ADDRS = 1024,
	XDP_STEER_MAX_FORWARDS = 4096,
	XDP_STEER_VLAN_UNUSED = 0xffff,     /* a conf.vlan slot that matches nothing */
};

/* struct xdp_steer_conf: the one entry of the "steer_conf" array map. */
struct xdp_steer_conf {
	__u32 enabled;                      /* written last, after the other maps */
	__u16 listen_port;                  /* host order; 0: no WireGuard here */
	__u16 nat_port_min, nat_port_max;   /* host order, inclusive */
	__u16 vlan[2];                      /* 0: untagged; XDP_STEER_VLAN_UNUSED */
	__u8 transit[2];                    /* 1: step 5 gives vlan[i] the gateway */
	__u8 mac[6];                        /* the NIC's */
	__u8 pad[2];
};

/* "steer_addrs" (hash): an address of the host or the gateway on this NIC. */
struct xdp_steer_addr_key {
	__u8 family;                        /* 4 or 6 */
	__u8 pad;
	__u16 vlan;                         /* host order; 0: untagged */
	__u8 addr[16];                      /* IPv4 in the first 4 bytes */
};

enum xdp_steer_addr_flag {
	XDP_STEER_ADDR_HOST = 1,            /* the kernel has it */
	XDP_STEER_ADDR_GATEWAY = 2,         /* a [Port] Address of this NIC */
	XDP_STEER_ADDR_WG = 4,              /* WireGuard answers here */
	XDP_STEER_ADDR_NAT = 8,             /* a NAT external address */
};

/* "steer_fwd" (hash): a forward's external address and port; value 1. */
struct xdp_steer_fwd_key {
	__u8 proto;                         /* 6 or 17 */
	__u8 pad;
	__u16 port;                         /* network order */
	__u8 addr[4];                       /* IPv4, network order */
};

/* "steer_stats" (per-CPU array): frames per verdict. */
enum xdp_steer_counter {
	XDP_STEER_TO_GATEWAY,
	XDP_STEER_TO_HOST,
	XDP_STEER_NOT_READY,                /* passed before the maps were filled */
	XDP_STEER_NO_SOCKET,                /* for the gateway, but no socket on
					     * that queue: dropped */
	XDP_STEER_COUNTERS
};

#endif
