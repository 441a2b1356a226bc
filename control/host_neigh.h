/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel's neighbour table, over rtnetlink, for AF_XDP mode.  When the
 * gateway probes a neighbour from an address it shares with the host, the
 * answer (ARP reply, neighbour advertisement) is addressed to the host and
 * the XDP program passes it to the kernel, untouched.  So on such ports
 * the gateway reads the kernel's table (a RTM_GETNEIGH for the entry, then
 * the RTNLGRP_NEIGH notifications) and, unless the entry is already good,
 * asks the kernel to resolve it (RTM_NEWNEIGH with NTF_USE: the kernel
 * probes as if it had a packet to send).  An entry the administrator made
 * permanent is never asked about, so it stays permanent.
 *
 * One non-blocking NETLINK_ROUTE socket, in the calling process's network
 * namespace.  Control thread only.
 */
#ifndef PORTCULLIS_HOST_NEIGH_H
#define PORTCULLIS_HOST_NEIGH_H

#include <stdint.h>

struct ip_addr;
struct host_neigh;

/* NULL and *err = -errno when the socket cannot be opened or bound. */
struct host_neigh *host_neigh_open(int *err);
void host_neigh_close(struct host_neigh *hn);

/* Ask the kernel what it knows of ip (IPv4 or IPv6) on interface
 * ifindex; host_neigh_poll reads the answer and, if the entry is missing,
 * failed, incomplete or stale, asks the kernel to resolve it.  0, or
 * -EINVAL for a bad argument, -errno when the request was not sent. */
int host_neigh_request(struct host_neigh *hn, int ifindex, const struct ip_addr *ip);

/* One usable entry of the kernel's table: NUD_REACHABLE, STALE, DELAY,
 * PROBE, PERMANENT or NOARP, with a 6-byte link-layer address. */
typedef void (*host_neigh_fn)(void *ctx, int ifindex, const struct ip_addr *ip,
			      const uint8_t mac[6]);

/* Read everything the kernel sent since the last call, without
 * blocking (sending the resolve requests host_neigh_request's answers
 * call for), and call fn for each usable entry (other messages, failed
 * entries and error replies are skipped).  The number of entries
 * reported, or -errno on a socket error (ENOBUFS: notifications were
 * lost; the caller's retries ask again). */
int host_neigh_poll(struct host_neigh *hn, host_neigh_fn fn, void *ctx);

#endif
