/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the NAT44 packet layer and MSS clamping: the input
 * is an IPv4 packet, fed to nat_out, nat_in and nat_hairpin_target, then
 * as IPv4 and as IPv6 to tcp_mss_clamp.  A total length larger than the
 * input is cut to it (the caller's check), so the fuzzer need not guess
 * it to get past the IP header.  One table lives across inputs, with a
 * clock that advances and an expiry pass now and then, so sessions come
 * and go.  When nat_out translates a packet, the reply and an ICMP error
 * quoting it are built and fed to nat_in: the fuzzer cannot guess the
 * external port, and those are the paths where a session must be found.
 *
 * Oracle, beyond the sanitizers: an incremental checksum update carries
 * any error through (RFC 1624), so each checksum over the packet must be
 * exactly as valid after a translation or a clamp as before it.
 *
 * Build with meson (see tests/fuzz/meson.build) and run:
 *   build-fuzz/tests/fuzz/fuzz_nat -max_total_time=60 tests/fuzz/corpus/nat
 */
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "fuzz_nat_table.h"
#include "mss.h"
#include "portcullis/wire.h"

enum { BUF = 2048, CAPACITY = 1024, MAX_MSS = 1360 };

static struct fuzz_nat F;
static struct nat_forward fwd[2];

static void v4(struct ip_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
	memset(a, 0, sizeof(*a));
	a->family = IP_V4;
	a->bytes[0] = a0, a->bytes[1] = a1, a->bytes[2] = a2, a->bytes[3] = a3;
}

/* Masquerade 10.0.0.0/8 behind 203.0.113.1; forwards tcp 2222 ->
 * 10.0.0.5:22 and udp 203.0.113.10:5353 -> 10.0.0.6:53. */
static void setup(void)
{
	fuzz_nat_begin(&F);
	v4(&F.conf.masquerade[0].addr, 10, 0, 0, 0);
	F.conf.masquerade[0].cidr = 8;
	F.conf.n_masquerade = 1;
	v4(&F.conf.external, 203, 0, 113, 1);
	fwd[0] = (struct nat_forward){ .proto = IPPROTO_TCP_,
					.external_port = 2222, .internal_port = 22 };
	v4(&fwd[0].internal, 10, 0, 0, 5);
	fwd[1] = (struct nat_forward){ .proto = IPPROTO_UDP_,
					.external_port = 5353, .internal_port = 53 };
	v4(&fwd[1].external, 203, 0, 113, 10);
	v4(&fwd[1].internal, 10, 0, 0, 6);
	F.conf.forwards = fwd;
	F.conf.n_forwards = 2;
	F.conf.max_sessions = CAPACITY;
	fuzz_nat_create(&F, CAPACITY);
}

static unsigned ihl(const uint8_t *ip)
{
	return (ip[0] & 0x0f) * 4u;
}

/* Checksum validity of the IP header (bit 0) and of the transport
 * header over the rest of the packet (bit 1), computed in full. */
static unsigned validity(const uint8_t *ip, uint32_t len)
{
	uint32_t h = ihl(ip), n = len - h;
	const uint8_t *l4 = ip + h;
	unsigned v = csum_fold(csum_partial(ip, h, 0)) == 0;
	uint32_t sum;

	switch (ip[9]) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		if (ip[9] == IPPROTO_UDP_ && (n < 8 || !(l4[6] | l4[7])))
			return v | 2;           /* no UDP checksum */
		sum = csum_pseudo(ip + 12, ip + 16, 4, ip[9], n);
		return v | (csum_fold(csum_partial(l4, n, sum)) == 0) << 1;
	case IPPROTO_ICMP_:
		return v | (csum_fold(csum_partial(l4, n, 0)) == 0) << 1;
	default:
		return v;
	}
}

static enum nat_result checked_in(uint8_t *ip, uint32_t len)
{
	unsigned before = len >= 20 && ihl(ip) >= 20 && ihl(ip) <= len ?
			  validity(ip, len) : 0;
	enum nat_result r = nat_in(F.nat, &F.lc, &F.conf, ip, len, F.now);

	if (r == NAT_OK && validity(ip, len) != before)
		abort();
	return r;
}

/* The reply to a translated packet: addresses and ports swapped (for
 * an echo request, turned into the reply). */
static void reply(uint8_t *ip, uint32_t len)
{
	uint8_t *l4 = ip + ihl(ip), tmp[4];

	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	if (ip[9] == IPPROTO_ICMP_) {
		l4[0] = ICMP_ECHO_REPLY;    /* stale checksum: the oracle
					     * compares validity, not value */
	} else {
		memcpy(tmp, l4, 2);
		memcpy(l4, l4 + 2, 2);
		memcpy(l4 + 2, tmp, 2);
	}
	checked_in(ip, len);
}

/* A time-exceeded error from a router, quoting (the start of) packet t
 * of tlen bytes, as it would arrive at the external address. */
static void error_about(const uint8_t *t, uint32_t tlen, uint8_t quote_sel)
{
	uint8_t ip[BUF] = { 0x45, 0, 0, 0, 0, 0, 0, 0, 64, IPPROTO_ICMP_ };
	uint32_t q = tlen < 576 - 28 ? tlen : 576 - 28, len;
	uint16_t c;

	if (quote_sel & 1 && q > ihl(t) + 8)
		q = ihl(t) + 8;                 /* the RFC 792 minimum */
	len = 28 + q;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	memcpy(ip + 12, t + 16, 4);         /* from the remote... */
	memcpy(ip + 16, t + 12, 4);         /* ...to our external address */
	ip[20] = ICMP_TIME_EXCEEDED;
	memcpy(ip + 28, t, q);
	c = csum_fold(csum_partial(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	c = csum_fold(csum_partial(ip + 20, len - 20, 0));
	ip[22] = (uint8_t)(c >> 8), ip[23] = (uint8_t)c;
	checked_in(ip, len);
}

static bool tcp_valid(const uint8_t *ip, uint32_t len, uint8_t family)
{
	uint32_t h = family == 6 ? 40 : ihl(ip), n = len - h;
	unsigned alen = family == 6 ? 16 : 4, at = family == 6 ? 8 : 12;
	uint32_t sum = csum_pseudo(ip + at, ip + at + alen, alen, IPPROTO_TCP_, n);

	return csum_fold(csum_partial(ip + h, n, sum)) == 0;
}

/* A clamped packet is a whole TCP header past an IP header, so both
 * copies can be checked in full. */
static void clamp(const uint8_t *data, uint32_t len, uint8_t family)
{
	uint8_t ip[BUF];

	memcpy(ip, data, len);
	if (tcp_mss_clamp(ip, len, family, MAX_MSS) &&
	    tcp_valid(ip, len, family) != tcp_valid(data, len, family))
		abort();
}

static void translate(const uint8_t *data, uint32_t len, uint8_t sel)
{
	uint8_t ip[BUF], t[BUF];
	unsigned before;

	memcpy(ip, data, len);
	if (len >= 20)
		nat_is_external(&F.conf, ip + 16);
	nat_hairpin_target(F.nat, &F.conf, ip, len, F.now);
	before = len >= 20 && ihl(ip) >= 20 && ihl(ip) <= len ? validity(ip, len) : 0;
	if (nat_out(F.nat, &F.lc, &F.conf, ip, len, F.now) == NAT_OK) {
		if (validity(ip, len) != before)
			abort();
		memcpy(t, ip, len);
		error_about(t, len, sel);
		reply(ip, len);
	}
	memcpy(ip, data, len);
	checked_in(ip, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ip[BUF];
	uint32_t len = size < BUF ? (uint32_t)size : BUF;

	if (!F.nat)
		setup();
	memcpy(ip, data, len);
	/* The caller has checked total_length against the frame; cutting
	 * it to the input stands for that check.  A length below a header
	 * is set to the input's too, so that no input is wasted. */
	if (len >= 4) {
		uint32_t total = (uint32_t)ip[2] << 8 | ip[3];

		if (total > len || total < 20) {
			ip[2] = (uint8_t)(len >> 8);
			ip[3] = (uint8_t)len;
		} else {
			len = total;
		}
	}
	translate(ip, len, len ? ip[len - 1] : 0);
	clamp(ip, len, 4);
	clamp(ip, len, 6);
	fuzz_nat_tick(&F, CAPACITY);
	return 0;
}
