/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address types shared by the config parser, the control plane and the
 * dataplane.  Addresses are kept as network-order bytes so that IPv4 and IPv6
 * are handled by the same code paths (an IPv4 address uses bytes[0..3]).
 */
#ifndef PORTCULLIS_TYPES_H
#define PORTCULLIS_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum ip_family { IP_NONE = 0, IP_V4 = 4, IP_V6 = 6 };

struct ip_addr {
	uint8_t family;                /* enum ip_family */
	uint8_t bytes[16];             /* network order; v4 uses bytes[0..3] */
};

struct ip_prefix {
	struct ip_addr addr;
	uint8_t cidr;
};

struct ip_endpoint {
	struct ip_addr addr;
	uint16_t port;                 /* host order */
};

static inline unsigned ip_addr_len(const struct ip_addr *a)
{
	return a->family == IP_V4 ? 4 : a->family == IP_V6 ? 16 : 0;
}

/* Constant lengths per family, so the compiler inlines the compares: a
 * variable-length memcmp call was ~17% of a plain forward (per-packet
 * "is this our address?" checks). */
static inline bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return false;
	switch (a->family) {
	case IP_V4: return memcmp(a->bytes, b->bytes, 4) == 0;
	case IP_V6: return memcmp(a->bytes, b->bytes, 16) == 0;
	default: return true;
	}
}

static inline bool ip_endpoint_equal(const struct ip_endpoint *a,
				     const struct ip_endpoint *b)
{
	return a->port == b->port && ip_addr_equal(&a->addr, &b->addr);
}

/* True when addr lies inside prefix (same family, first cidr bits equal). */
static inline bool ip_prefix_contains(const struct ip_prefix *p,
				      const struct ip_addr *addr)
{
	unsigned full = p->cidr / 8, rest = p->cidr % 8;

	if (p->addr.family != addr->family)
		return false;
	if (memcmp(p->addr.bytes, addr->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((p->addr.bytes[full] ^ addr->bytes[full]) & mask) == 0;
}

#endif
