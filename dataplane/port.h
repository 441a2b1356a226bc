/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet port set-up: probe the device named in the config (a PCI address
 * or a vdev string such as net_af_xdp0,iface=eth0), configure one RX and
 * one TX queue per worker (RSS on the outer headers when there are several),
 * start it.  Init only: errors are returned as text, nothing exits here.
 */
#ifndef PORTCULLIS_PORT_H
#define PORTCULLIS_PORT_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

struct port_info {
	uint16_t port_id;
	uint16_t rx_queues, tx_queues;
	uint8_t mac[6];
	char driver[32];
};

int port_open(const char *device, unsigned n_queues, uint16_t mtu,
	      struct rte_mempool *pool, struct port_info *out,
	      char *err, size_t errlen);
void port_close(uint16_t port_id);

#endif
