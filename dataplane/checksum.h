/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internet checksum helpers (RFC 1071) and incremental update (RFC 1624,
 * equation 3: HC' = ~(~HC + ~m + m')).  Pure C, usable by the core, the
 * fast path and the tests.
 */
#ifndef PORTCULLIS_CHECKSUM_H
#define PORTCULLIS_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 32-bit accumulation of 16-bit big-endian words; fold with csum_fold. */
static inline uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Fold to 16 bits and complement; result in host order. */
static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum for TCP/UDP/ICMPv6 (RFC 768, RFC 8200 section 8.1). */
static inline uint32_t csum_pseudo(const uint8_t *src, const uint8_t *dst,
				   size_t addr_len, uint8_t proto, uint32_t len)
{
	uint32_t sum = csum_partial(src, addr_len, 0);

	sum = csum_partial(dst, addr_len, sum);
	sum += proto;
	sum += len >> 16;
	sum += len & 0xffff;
	return sum;
}

/* RFC 1624 eqn 3 for one 16-bit field; all values in host order. */
static inline uint16_t csum_update16(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old;
	sum += new;
	return csum_fold(sum);
}

#endif
