/* SPDX-License-Identifier: BSD-3-Clause */
#include "port.h"

#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

enum { RX_DESC = 1024, TX_DESC = 1024 };

/* The ethdev name of a device string: the part before the first comma
 * ("net_af_packet0,iface=x" -> "net_af_packet0", "0000:01:00.0" as is). */
static void device_name(const char *device, char *name, size_t len)
{
	size_t n = strcspn(device, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, device, n);
	name[n] = '\0';
}

static int find_or_probe(const char *device, uint16_t *port_id,
			 char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	int ret;

	device_name(device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;                      /* given to EAL already */
	ret = rte_dev_probe(device);
	if (ret < 0) {
		/* Many drivers return a bare -1, which strerror would call
		 * EPERM; the EAL log above the error says what went wrong. */
		snprintf(err, errlen, "cannot probe device '%s': %s (see the EAL "
			 "messages above; does the interface or PCI device exist?)",
			 device, ret == -1 ? "the driver refused it" : strerror(-ret));
		return ret;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		snprintf(err, errlen, "device '%s' probed but no port named '%s'",
			 device, name);
		return -ENODEV;
	}
	return 0;
}

static int configure(uint16_t pid, unsigned nq, struct rte_eth_dev_info *info,
		     struct rte_mempool *pool, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	int ret;

	if (nq > 1) {
		/* RSS on the outer addresses and UDP ports keeps one
		 * WireGuard peer's packets on one queue. */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info->flow_type_rss_offloads;
	}
	ret = rte_eth_dev_configure(pid, (uint16_t)nq, (uint16_t)nq, &conf);
	if (ret < 0) {
		snprintf(err, errlen, "configure port %u: %s", pid, strerror(-ret));
		return ret;
	}
	for (unsigned q = 0; q < nq; q++) {
		ret = rte_eth_rx_queue_setup(pid, (uint16_t)q, RX_DESC,
					     rte_eth_dev_socket_id(pid), NULL, pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(pid, (uint16_t)q, TX_DESC,
						     rte_eth_dev_socket_id(pid), NULL);
		if (ret < 0) {
			snprintf(err, errlen, "queue %u setup on port %u: %s", q, pid,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int port_open(const char *device, unsigned n_queues, uint16_t mtu,
	      struct rte_mempool *pool, struct port_info *out,
	      char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t pid;
	unsigned nq;
	int ret;

	ret = find_or_probe(device, &pid, err, errlen);
	if (ret < 0)
		return ret;
	ret = rte_eth_dev_info_get(pid, &info);
	if (ret < 0) {
		snprintf(err, errlen, "port %u info: %s", pid, strerror(-ret));
		return ret;
	}
	nq = RTE_MIN(n_queues, (unsigned)RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	if (nq == 0)
		nq = 1;
	ret = configure(pid, nq, &info, pool, err, errlen);
	if (ret < 0)
		return ret;
	/* Not every vdev can set its MTU (af_packet follows the interface);
	 * the gateway enforces its own MTU in software either way. */
	if (mtu)
		rte_eth_dev_set_mtu(pid, mtu);
	ret = rte_eth_dev_start(pid);
	if (ret < 0) {
		snprintf(err, errlen, "start port %u: %s", pid, strerror(-ret));
		return ret;
	}
	/* ARP/ND and multicast need more than our unicast MAC; the workers
	 * filter on the destination MAC themselves. */
	rte_eth_promiscuous_enable(pid);
	rte_eth_allmulticast_enable(pid);
	rte_eth_macaddr_get(pid, &mac);
	out->port_id = pid;
	out->rx_queues = out->tx_queues = (uint16_t)nq;
	memcpy(out->mac, mac.addr_bytes, 6);
	snprintf(out->driver, sizeof(out->driver), "%s", info.driver_name);
	return 0;
}

void port_close(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
