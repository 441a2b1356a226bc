/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for connection tracking (dataplane/nat_track.c): the
 * input is an IPv4 or IPv6 packet, fed to nat_track_open as from the
 * allowed side and to nat_track_reply as from the denied side.  One table
 * lives across inputs, with a clock that advances and an expiry pass now
 * and then, so sessions come and go.
 *
 * Oracles, beyond the sanitizers:
 *  - the packet is never written (the calls take it const; a copy is
 *    compared after them);
 *  - when nat_track_open created a session, its reply must be admitted
 *    (addresses and ports swapped, an echo request turned into the
 *    reply, a TCP ACK, which never starts a connection), and so must an
 *    ICMP error quoting the packet, sent back to its source.  The fuzzer
 *    could not guess those; they are where a session must be found.
 *
 * Build with meson (see tests/fuzz/meson.build) and run:
 *   build-fuzz/tests/fuzz/fuzz_nat_track -max_total_time=60 \
 *     tests/fuzz/corpus/nat_track
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_nat_table.h"
#include "portcullis/wire.h"

enum { BUF = 2048, CAPACITY = 1024, QUOTE_MAX = 1200 };

static struct fuzz_nat F;

static void setup(void)
{
	fuzz_nat_begin(&F);
	F.conf.allow_private_to_tunnel = false;
	fuzz_nat_create(&F, CAPACITY);
}

static uint64_t created(void)
{
	const uint64_t *c = F.lc.stats.tracked_created;

	return c[NAT_PROTO_TCP] + c[NAT_PROTO_UDP] + c[NAT_PROTO_ICMP];
}

static enum nat_result call(bool open, const uint8_t *ip, uint32_t len)
{
	uint8_t copy[BUF];
	enum nat_result r;

	memcpy(copy, ip, len);
	r = open ? nat_track_open(F.nat, &F.lc, &F.conf, ip, len, F.now)
		 : nat_track_reply(F.nat, &F.lc, &F.conf, ip, len, F.now);
	if (memcmp(copy, ip, len) != 0)
		abort();
	return r;
}

/* Where the transport header of a packet without IPv4 options or IPv6
 * extension headers starts (what the reply below can be built from),
 * or 0. */
static uint32_t simple_l4(const uint8_t *ip, uint32_t len, uint8_t *proto)
{
	if (ip[0] >> 4 == 4 && (ip[0] & 0x0f) == 5 && len >= 28) {
		*proto = ip[9];
		return 20;
	}
	if (ip[0] >> 4 == 6 && len >= 48 &&
	    (ip[6] == IPPROTO_TCP_ || ip[6] == IPPROTO_UDP_ ||
	     ip[6] == IPPROTO_ICMPV6_)) {
		*proto = ip[6];
		return 40;
	}
	return 0;
}

/* The reply to packet ip: addresses and ports swapped, ACK for TCP,
 * an echo reply for an echo request. */
static void check_reply(const uint8_t *ip, uint32_t len)
{
	uint8_t r[BUF], tmp[16], proto = 0;
	uint32_t l4 = simple_l4(ip, len, &proto);
	bool v6 = ip[0] >> 4 == 6;
	unsigned alen = v6 ? 16 : 4, src = v6 ? 8 : 12;

	if (l4 == 0)
		return;
	memcpy(r, ip, len);
	memcpy(tmp, r + src, alen);
	memcpy(r + src, r + src + alen, alen);
	memcpy(r + src + alen, tmp, alen);
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_) {
		r[l4] = v6 ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY;
	} else {
		memcpy(tmp, r + l4, 2);
		memcpy(r + l4, r + l4 + 2, 2);
		memcpy(r + l4 + 2, tmp, 2);
		if (proto == IPPROTO_TCP_)
			r[l4 + offsetof(struct tcp_hdr, flags)] = TCP_ACK;
	}
	if (call(false, r, len) != NAT_OK)
		abort();
}

/* An ICMP error quoting the whole packet, from its destination back to
 * its source. */
static void check_error(const uint8_t *ip, uint32_t len)
{
	uint8_t e[BUF] = { 0 };
	bool v6 = ip[0] >> 4 == 6;
	uint32_t hdr = v6 ? 40 : 20, elen = hdr + 8 + len;

	if (len > QUOTE_MAX || (!v6 && len < 20) || (v6 && len < 40))
		return;
	if (v6) {
		e[0] = 0x60;
		e[4] = (uint8_t)((8 + len) >> 8);
		e[5] = (uint8_t)(8 + len);
		e[6] = IPPROTO_ICMPV6_;
		e[7] = 64;
		memcpy(e + 8, ip + 24, 16);
		memcpy(e + 24, ip + 8, 16);
		e[hdr] = ICMP6_DEST_UNREACH;
	} else {
		e[0] = 0x45;
		e[2] = (uint8_t)(elen >> 8);
		e[3] = (uint8_t)elen;
		e[8] = 64;
		e[9] = IPPROTO_ICMP_;
		memcpy(e + 12, ip + 16, 4);
		memcpy(e + 16, ip + 12, 4);
		e[hdr] = ICMP_DEST_UNREACH;
	}
	memcpy(e + hdr + 8, ip, len);
	if (call(false, e, elen) != NAT_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = size < BUF - 64 ? (uint32_t)size : BUF - 64;
	uint64_t before;

	if (!F.nat)
		setup();
	before = created();
	call(false, data, len);
	if (call(true, data, len) == NAT_OK && created() > before) {
		check_reply(data, len);
		check_error(data, len);
	}
	fuzz_nat_tick(&F, CAPACITY);
	return 0;
}
