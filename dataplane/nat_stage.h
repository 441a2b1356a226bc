/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT stages of the fast path: where the pure NAT core (nat.h) meets
 * mbufs, drop counters, ICMP errors and MSS clamping.  l3_forward calls
 * the outbound and hairpin stages; the worker calls the inbound stage for
 * public-port packets to an external address.
 */
#ifndef PORTCULLIS_NAT_STAGE_H
#define PORTCULLIS_NAT_STAGE_H

#include <stdbool.h>
#include <stdint.h>

struct dp_ctx;
struct rte_mbuf;

/* Outbound: m (IPv4 at ip, len bytes) is routed out of the public port.
 * Refuses DF packets over the public MTU with ICMP frag-needed before
 * translating (RFC 4787 REQ-13: the error must quote what the inside host
 * sent), translates, clamps MSS.  true: translated, the caller sends it
 * (fragmenting if needed); false: m was dropped and counted, or (a later
 * fragment before its first) held, to be sent by l3_send_public. */
bool nat_stage_out(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		   uint32_t len);

/* Inbound: m arrived on the public port for an external address.
 * Translates it and forwards it inside, or answers it (pings to us), or
 * drops it under a named reason.  Consumes m. */
void nat_stage_in(struct dp_ctx *c, struct rte_mbuf *m);

/* Hairpinning: m from inside is for an external address.  If it maps to
 * an inside host, translate both ways and forward it (consumes m, returns
 * true); otherwise return false and leave m alone (it is for us). */
bool nat_stage_hairpin(struct dp_ctx *c, struct rte_mbuf *m, uint8_t *ip,
		       uint32_t len);

/* An ICMP error the gateway generated about an inbound translated packet
 * is on its way out of the public port: translate the quoted packet back
 * to its external form so the remote can match it (RFC 5508 REQ-3). */
void nat_stage_local_out(struct dp_ctx *c, uint8_t *ip, uint32_t len);

/* The worker's IPv4 fragment tracker (c->frag): created at worker start
 * when there is a NAT, expired every loop (fragments held too long are
 * dropped as nat_fragment_timeout), drained and freed at worker exit so no
 * held mbuf outlives the loop.  Worker thread only. */
void nat_stage_frag_init(struct dp_ctx *c);
void nat_stage_frag_tick(struct dp_ctx *c);
void nat_stage_frag_fini(struct dp_ctx *c);

/* MSS clamp for a packet on a path with clamp value mss (0: off). */
void nat_stage_clamp(struct dp_ctx *c, uint8_t *ip, uint32_t len,
		     uint8_t family, uint16_t mss);

#endif
