/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP MSS clamping.  The MSS option rides only on SYN and SYN-ACK
 * segments (RFC 9293 3.7.1), so only those are looked at; each side's
 * SYN is clamped on its way through, which caps the segments both sides
 * send.  The options are walked twice: once to check that every option
 * is well formed, then to rewrite, so that a packet we do not fully
 * understand leaves exactly as it came.  The packet may have come from
 * anywhere: every length is checked before the byte it covers is read.
 */
#include <stddef.h>

#include "checksum.h"
#include "mss.h"
#include "portcullis/wire.h"

enum {
	TCP_HDR_MIN = sizeof(struct tcp_hdr),
	TCP_CSUM = offsetof(struct tcp_hdr, checksum),
	TCP_FLAGS = offsetof(struct tcp_hdr, flags),
	TCP_DOFF = offsetof(struct tcp_hdr, data_off),
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * The TCP header of an IPv4 or IPv6 packet, or NULL when there is none
 * we may touch: not TCP, a non-first fragment, an IPv6 extension header
 * in the way (the SYNs we clamp never carry one), or truncated.
 * *hlen gets the header length (data offset), checked against len.
 */
static uint8_t *tcp_header(uint8_t *ip, uint32_t len, uint8_t family,
			   uint32_t *hlen)
{
	uint32_t l3;
	uint8_t *tcp;

	if (family == 4) {
		const struct ipv4_hdr *h = (const struct ipv4_hdr *)ip;

		if (len < sizeof(*h) || ip[0] >> 4 != 4)
			return NULL;
		l3 = (uint32_t)(ip[0] & 0x0f) * 4;
		if (l3 < sizeof(*h) || h->protocol != IPPROTO_TCP_ ||
		    get16(ip + offsetof(struct ipv4_hdr, frag_off)) & IPV4_OFFSET_MASK)
			return NULL;
	} else if (family == 6) {
		const struct ipv6_hdr *h = (const struct ipv6_hdr *)ip;

		if (len < sizeof(*h) || ip[0] >> 4 != 6 ||
		    h->next_header != IPPROTO_TCP_)
			return NULL;
		l3 = sizeof(*h);
	} else {
		return NULL;
	}
	if (l3 > len || len - l3 < TCP_HDR_MIN)
		return NULL;
	tcp = ip + l3;
	*hlen = (uint32_t)(tcp[TCP_DOFF] >> 4) * 4;
	if (*hlen < TCP_HDR_MIN || *hlen > len - l3)
		return NULL;
	return tcp;
}

/*
 * The options (RFC 9293 3.2) in tcp[TCP_HDR_MIN, hlen): EOL ends the
 * list, NOP is one byte, every other kind has a length byte of at least
 * 2 that must not run past the header, and an MSS option is exactly 4
 * bytes.  Finds the next option at or after *at, past any NOPs, and its
 * length.
 */
enum option_step { OPTION_FOUND, OPTION_END, OPTION_BAD };

static enum option_step option_next(const uint8_t *tcp, uint32_t hlen,
				    uint32_t *at, uint32_t *olen)
{
	uint32_t i = *at;

	while (i < hlen && tcp[i] == TCP_OPT_NOP)
		i++;
	if (i >= hlen || tcp[i] == TCP_OPT_EOL)
		return OPTION_END;
	if (hlen - i < 2)
		return OPTION_BAD;
	*olen = tcp[i + 1];
	if (*olen < 2 || *olen > hlen - i ||
	    (tcp[i] == TCP_OPT_MSS && *olen != TCP_OPT_MSS_LEN))
		return OPTION_BAD;
	*at = i;
	return OPTION_FOUND;
}

static bool options_valid(const uint8_t *tcp, uint32_t hlen)
{
	uint32_t at = TCP_HDR_MIN, olen;
	enum option_step step;

	while ((step = option_next(tcp, hlen, &at, &olen)) == OPTION_FOUND)
		at += olen;
	return step == OPTION_END;
}

/* Write the MSS value at tcp[at] and fix the checksum (RFC 1624 eqn 3).
 * After an odd number of NOPs the value straddles two 16-bit words of
 * the checksum, so its bytes count swapped (RFC 1071 2(B): the sum is
 * byte-order independent). */
static void mss_set(uint8_t *tcp, uint32_t at, uint16_t mss)
{
	uint16_t old = get16(tcp + at), csum = get16(tcp + TCP_CSUM);

	if (at & 1)
		csum = csum_update16(csum, __builtin_bswap16(old),
				     __builtin_bswap16(mss));
	else
		csum = csum_update16(csum, old, mss);
	put16(tcp + at, mss);
	put16(tcp + TCP_CSUM, csum);
}

/* Every MSS option counts, in case a packet carries two: which one a
 * host believes is up to its stack. */
static bool options_clamp(uint8_t *tcp, uint32_t hlen, uint16_t max_mss)
{
	uint32_t at = TCP_HDR_MIN, olen;
	bool changed = false;

	while (option_next(tcp, hlen, &at, &olen) == OPTION_FOUND) {
		if (tcp[at] == TCP_OPT_MSS && get16(tcp + at + 2) > max_mss) {
			mss_set(tcp, at + 2, max_mss);
			changed = true;
		}
		at += olen;
	}
	return changed;
}

bool tcp_mss_clamp(uint8_t *ip, uint32_t len, uint8_t family, uint16_t max_mss)
{
	uint32_t hlen;
	uint8_t *tcp;

	/* 0 is NAT_MSS_OFF: no MSS may be lowered to it. */
	if (max_mss == 0)
		return false;
	tcp = tcp_header(ip, len, family, &hlen);
	if (!tcp || !(tcp[TCP_FLAGS] & TCP_SYN) || !options_valid(tcp, hlen))
		return false;
	return options_clamp(tcp, hlen, max_mss);
}
