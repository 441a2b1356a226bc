/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP MSS clamping (RFC 879, RFC 6691), for the tunnel and the NAT paths:
 * a host that does not know its path crosses a smaller MTU (the tunnel,
 * a Hetzner private network at 1450, a vSwitch VLAN at 1400) would
 * otherwise rely on PMTU discovery, which ICMP filters often break.
 */
#ifndef PORTCULLIS_MSS_H
#define PORTCULLIS_MSS_H

#include <stdbool.h>
#include <stdint.h>

/* The MSS that fits an MTU: MTU minus the IPv4 (20) or IPv6 (40) header
 * and the TCP header (20). */
static inline uint16_t tcp_mss_for_mtu(uint32_t mtu, uint8_t family)
{
	uint32_t hdr = family == 6 ? 60 : 40;

	return mtu > hdr ? (uint16_t)(mtu - hdr) : 0;
}

/* On a TCP SYN (with or without ACK), lower an MSS option above max_mss
 * to max_mss and fix the TCP checksum incrementally (RFC 1624).  ip
 * points at an IPv4 or IPv6 header (family 4 or 6) of total length len,
 * already checked against the buffer; a non-first fragment, a non-TCP
 * packet or one with malformed options is left alone.  Returns true if
 * the packet was changed. */
bool tcp_mss_clamp(uint8_t *ip, uint32_t len, uint8_t family, uint16_t max_mss);

#endif
