/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tunnel stages of the fast path: encapsulation (cryptokey routing
 * result -> WireGuard data message in UDP to the peer's endpoint) and
 * decapsulation (data message -> authenticated inner packet), plus the
 * helpers the control thread uses to send keepalives and handshake messages
 * through the same code.
 */
#ifndef PORTCULLIS_TUNNEL_H
#define PORTCULLIS_TUNNEL_H

#include <stdint.h>

#include "l3.h"

/* Encrypt m (IP packet at l3_off) to peer and send it.  Without a usable
 * session the packet is staged and the control thread starts a handshake. */
void tunnel_encap(struct dp_ctx *c, struct rte_mbuf *m, struct gw_peer *peer);
/* True if peer has a session that may send now (tunnel_encap would not
 * stage). */
bool tunnel_can_send(struct dp_ctx *c, struct gw_peer *peer);

/* m holds a type-4 message at msg_off; src is the outer UDP source. */
void tunnel_decap(struct dp_ctx *c, struct rte_mbuf *m, uint32_t msg_off,
		  const struct ip_endpoint *src);

/* Control thread: send an empty data message (keepalive).  False if there
 * is no usable session. */
bool tunnel_send_keepalive(struct dp_ctx *c, struct gw_peer *peer);

/* Wrap the payload at m's data start in UDP/IP/Ethernet from our listen
 * port to dst and output it on the public port.  Consumes m. */
void tunnel_send_udp(struct dp_ctx *c, struct rte_mbuf *m,
		     const struct ip_endpoint *dst);

/* The outer UDP source of a received WireGuard message (l3_off, msg_off set). */
void tunnel_outer_source(struct rte_mbuf *m, struct ip_endpoint *src);

/* Endpoint seqlock. */
void gw_endpoint_read(struct gw_endpoint *e, struct ip_endpoint *out);
void gw_endpoint_write(struct gw_endpoint *e, const struct ip_endpoint *in);

#endif
