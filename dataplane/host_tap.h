/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The exception path of full PMD mode ([Port public] HostInterface): the
 * host's own traffic on the public port is handed to a TAP interface, and
 * what the host sends on that TAP leaves through the public port.  The
 * host and the gateway may share the public address: the gateway keeps
 * WireGuard, NAT return traffic and forwards, the host gets the rest.
 * Worker lcores only; nothing here runs unless t->has_host_port.
 */
#ifndef PORTCULLIS_HOST_TAP_H
#define PORTCULLIS_HOST_TAP_H

#include <stdbool.h>
#include <stdint.h>

struct dp_ctx;
struct dp_tables;
struct rte_mbuf;

/* An IP packet that arrived on the public port (ip: its header, len its
 * checked total length) and is not a WireGuard message: is it the host's? */
bool host_tap_wants(const struct dp_tables *t, const uint8_t *ip, uint32_t len,
		    uint8_t family);

/* Give the host a copy of m (an ARP or ND answer the gateway also reads),
 * or NULL if the pool is empty; m is left as it was. */
struct rte_mbuf *host_tap_copy(struct dp_ctx *c, const struct rte_mbuf *m);

/* Send frames received on the public port to the TAP on this worker's
 * queue; consumes them (unsent ones drop as tx_full). */
void host_tap_send(struct dp_ctx *c, struct rte_mbuf **pkts, unsigned n);

/* Receive what the host sent on this worker's TAP queue and queue it on
 * the public port; the number of frames. */
unsigned host_tap_poll(struct dp_ctx *c);

#endif
