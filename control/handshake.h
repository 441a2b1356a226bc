/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handshake messages, staged packets and per-peer timers: everything of the
 * WireGuard protocol that is not a data packet.  Control thread only.
 */
#ifndef PORTCULLIS_HANDSHAKE_H
#define PORTCULLIS_HANDSHAKE_H

#include <stdbool.h>

struct gateway;
struct gw_peer;
struct rte_mbuf;
struct dp_event;

/* A handshake message (types 1-3) handed over by a worker.  Consumes m. */
void handshake_input(struct gateway *gw, struct rte_mbuf *m);
/* A packet for peer that found no usable session.  Consumes m. */
void handshake_stage(struct gateway *gw, struct rte_mbuf *m);
void handshake_event(struct gateway *gw, const struct dp_event *ev);
/* Turn datapath timestamps into timer events and act on due timers. */
void handshake_peer_tick(struct gateway *gw, struct gw_peer *peer);
void handshake_send_initiation(struct gateway *gw, struct gw_peer *peer,
			       bool is_retry);
/* Forget sessions and the handshake in progress (keys zeroed, indices
 * freed), as after REJECT_AFTER_TIME * 3.  Staged packets stay. */
void handshake_peer_reset(struct gateway *gw, struct gw_peer *peer);
/* A peer leaves the configuration: reset it and drop its staged packets
 * (the caller frees it after a grace period). */
void handshake_peer_retire(struct gateway *gw, struct gw_peer *peer);

#endif
