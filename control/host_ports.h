/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host and the gateway sharing one public IPv4 address (a Hetzner
 * server has one): the host's own outgoing connections take their source
 * ports from net.ipv4.ip_local_port_range, the NAT's sessions from [NAT]
 * PortRange, and a reply to either arrives at the same address.  If the
 * two ranges overlap, a reply can reach the wrong one, so the daemon
 * refuses to start and says which to change.
 *
 * The address counts as shared only when the kernel interface behind the
 * public port (the iface= argument of a net_af_xdp or net_af_packet
 * Device) carries the NAT's external address itself; a PCI device or a
 * veth without an address shares nothing.
 *
 * The decisions are pure (config_lib, unit-tested); host_ports_check_host
 * reads /proc and the interface addresses, once, at start-up.
 */
#ifndef PORTCULLIS_HOST_PORTS_H
#define PORTCULLIS_HOST_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct ip_addr;

#define HOST_PORTS_PROC_RANGE "/proc/sys/net/ipv4/ip_local_port_range"
#define HOST_PORTS_PROC_RESERVED "/proc/sys/net/ipv4/ip_local_reserved_ports"

enum { HOST_PORTS_IFNAMSIZ = 16 };      /* IFNAMSIZ, without <net/if.h> */

/* An inclusive range of ports, host order. */
struct host_port_range {
	uint16_t min, max;
};

/* The kernel interface a Device string names: the iface= argument of a
 * net_af_xdp / net_af_packet (or eth_af_packet) vdev.  0 and the name in
 * out; -ENOENT when the device has no kernel interface (a PCI address,
 * another vdev, no iface=); -ENAMETOOLONG when the name does not fit. */
int host_ports_device_iface(const char *device, char *out, size_t len);

/* The contents of ip_local_port_range: two numbers, "32768\t60999\n".
 * 0, or -EINVAL for anything else (min > max, over 65535, junk). */
int host_ports_range_parse(const char *text, struct host_port_range *out);

bool host_ports_overlap(const struct host_port_range *a,
			const struct host_port_range *b);

/* The address the NAT's dynamic sessions use: ExternalAddress, or else
 * the first IPv4 Address of [Port public].  false when the config makes
 * no dynamic sessions ([NAT] absent or without Masquerade). */
bool host_ports_nat_address(const struct config *cfg, struct ip_addr *out);

/* The refusal for NAT range nat against the host's range host on the
 * shared address addr (text): what overlaps and the two ways out, a
 * PortRange outside the host's range and an ip_local_port_range outside
 * the NAT's, each only when one exists within 1024-65535. */
void host_ports_conflict_format(char *err, size_t errlen,
				const struct host_port_range *nat,
				const struct host_port_range *host,
				const char *addr);

/* At start-up, before the ports open: 0 when the host does not share the
 * NAT's address or the ranges are apart; -EADDRINUSE with the refusal in
 * err when they overlap; another -errno with the reason when the host
 * cannot be read.  proc_range is HOST_PORTS_PROC_RANGE (tests give a
 * file of their own).  Reads the interfaces of the calling process's
 * network namespace, as ip_local_port_range is per namespace too. */
int host_ports_check_host(const struct config *cfg, const char *proc_range,
			  char *err, size_t errlen);

/* ip_local_reserved_ports ("8080,9000-9100\n", or empty): 1 when port
 * is in it, 0 when not, -EINVAL for anything else. */
int host_ports_reserved_has(const char *text, uint16_t port);

/*
 * The WireGuard ListenPort on a public address the host shares: if it is
 * inside the host's ip_local_port_range and not in its
 * ip_local_reserved_ports, the host may pick it as the source port of one
 * of its own UDP sockets, whose replies would then reach the gateway.
 * Not fatal (rare, and the fix is one sysctl), so a warning: true with
 * the text in msg (naming the sysctl to run), false when there is nothing
 * to say or the host cannot be read.  At start-up.
 */
bool host_ports_listen_warning(const struct config *cfg, const char *proc_range,
			       const char *proc_reserved, char *msg, size_t len);

/* True when the kernel interface ifname carries the IPv4 address a
 * (getifaddrs); *err_out is 0, or -errno when the list cannot be read. */
bool host_ports_iface_has_addr(const char *ifname, const struct ip_addr *a,
			       int *err_out);

#endif
