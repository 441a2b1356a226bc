/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbour resolution (ARP, RFC 826; IPv6 ND, RFC 4861) on the gateway's
 * own ports.  Workers only read the table (neigh_lookup); every change,
 * every ARP/ND packet and every packet waiting for resolution is handled by
 * the control thread, which holds such packets in a small bounded queue per
 * neighbour and sends them when the answer comes (or counts them as
 * neigh_unresolved after the retries).
 */
#ifndef PORTCULLIS_NEIGH_H
#define PORTCULLIS_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "portcullis/types.h"

struct dp_ctx;
struct rte_mbuf;
struct neigh_table;

enum neigh_params {
	NEIGH_MAX_ENTRIES = 4096,
	NEIGH_HOLD = 16,                  /* packets held per unresolved entry */
	NEIGH_RETRIES = 3,
	NEIGH_RETRY_MS = 1000,
	NEIGH_REACHABLE_S = 300,          /* then re-probe, keep using the MAC */
};

struct neigh_table *neigh_table_create(unsigned max_entries, int socket);
void neigh_table_destroy(struct neigh_table *nt);

/* Any thread: the MAC for ip on port, false if not (yet) known. */
bool neigh_lookup(const struct neigh_table *nt, unsigned port,
		  const struct ip_addr *ip, uint8_t mac[6]);

/* Control thread only. */
void neigh_hold(struct dp_ctx *c, unsigned port, const struct ip_addr *nexthop,
		struct rte_mbuf *m);
void neigh_input_arp(struct dp_ctx *c, struct rte_mbuf *m);
void neigh_input_nd(struct dp_ctx *c, struct rte_mbuf *m);
void neigh_tick(struct dp_ctx *c);
/* Announce our addresses (gratuitous ARP / unsolicited NA) at start-up. */
void neigh_announce(struct dp_ctx *c);

/*
 * AF_XDP mode with an address the gateway shares with the host: a probe
 * sent from that address is answered to the host, and the XDP program
 * gives the answer to the kernel (include/portcullis/xdp_steer.h, step 3).
 * For such neighbours the kernel resolves and the gateway reads its table
 * (control/host_neigh.c).  Control thread only.
 */
struct neigh_host_ops {
	/* Called where a probe would be sent (first and each retry), with
	 * the address the probe would come from.  true: the host resolves
	 * this one and has been asked to; the answer comes through
	 * neigh_host_learned, and the entry gives up after the usual
	 * retries as if no reply came.  false: the gateway probes itself. */
	bool (*resolve)(void *ctx, unsigned port, const struct ip_addr *src,
			const struct ip_addr *ip);
	void *ctx;
};
/* ops NULL: none (the default).  The table keeps the pointer. */
void neigh_host_ops_set(struct neigh_table *nt, const struct neigh_host_ops *ops);
/* The host's answer: ip on port is at mac.  Only an entry the gateway
 * already has (one it wanted, or resolved before) is updated: the
 * kernel's table is not copied wholesale. */
void neigh_host_learned(struct dp_ctx *c, unsigned port, const struct ip_addr *ip,
			const uint8_t mac[6]);

struct neigh_info {
	unsigned port;
	struct ip_addr ip;
	uint8_t mac[6];
	bool valid;
	unsigned held;
};
typedef void (*neigh_walk_fn)(const struct neigh_info *n, void *ctx);
void neigh_walk(const struct neigh_table *nt, neigh_walk_fn fn, void *ctx);

#endif
