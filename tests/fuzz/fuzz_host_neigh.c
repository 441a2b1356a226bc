/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the rtnetlink parser of control/host_neigh.c
 * (the kernel's neighbour table, read in AF_XDP mode).  The production
 * file is included, so its static parser is fuzzed as it is; each input
 * is one datagram as recvmsg would hand it over.  The socket is closed
 * (-1), so the resolve requests a reply would trigger fail harmlessly.
 *
 *   build-fuzz/tests/fuzz/fuzz_host_neigh -max_total_time=60 \
 *     tests/fuzz/corpus/host_neigh
 *
 * Oracles besides the sanitizers: every entry reported has a positive
 * interface index, an IPv4 or IPv6 address, and a MAC inside the
 * datagram; the count returned is the number of entries reported.
 */
#include "../../control/host_neigh.c"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

struct seen {
	const uint8_t *lo, *hi;
	int n;
};

static void entry_seen(void *ctx, int ifindex, const struct ip_addr *ip,
		       const uint8_t mac[6])
{
	struct seen *s = ctx;

	CHECK(ifindex > 0);
	CHECK(ip->family == IP_V4 || ip->family == IP_V6);
	CHECK(mac >= s->lo && mac + 6 <= s->hi);
	s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct host_neigh hn = { .fd = -1, .portid = 0 };
	struct seen s = { hn.buf, hn.buf + size, 0 };
	int n;

	if (size > sizeof(hn.buf))
		return 0;
	memcpy(hn.buf, data, size);
	n = parse_datagram(&hn, hn.buf, size, entry_seen, &s);
	CHECK(n == s.n);
	return 0;
}
