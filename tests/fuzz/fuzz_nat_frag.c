/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the NAT's fragment tracker (dataplane/nat_frag.c):
 * the input is a script of steps on one small table (two buckets, so keys
 * collide and evict), each step a first fragment (translated or not), a
 * later fragment, or time passing and held fragments expiring.  The header
 * bytes of every fragment come from the input.
 *
 * Oracle, beyond the sanitizers: every held packet comes back exactly once
 * (released with its first fragment, pushed out, expired or drained at the
 * end), the table never holds more than its limits, and a rewritten header
 * checksum is exactly as valid as it was (RFC 1624).
 *
 *   build-fuzz/tests/fuzz/fuzz_nat_frag -max_total_time=60
 */
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "nat_frag.h"

enum { STEP = 22, TOKENS = 4096 };

static struct {
	struct nat_frag *f;
	uint64_t now;
	uint8_t held[TOKENS];           /* 1: the table has token i */
	unsigned n_held, next;
} S;

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* A packet the table gave back: it must have been held, once. */
static void returned(void *p)
{
	uint8_t *t = p;

	check(t >= S.held && t < S.held + TOKENS && *t == 1);
	*t = 0;
	S.n_held--;
}

static void returned_all(void **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		returned(pkts[i]);
}

static bool header_valid(const uint8_t *ip)
{
	return csum_fold(csum_partial(ip, 20, 0)) == 0;
}

static void first(const uint8_t *in)
{
	void *out[NAT_FRAG_HOLD_PER_DATAGRAM];
	struct nat_frag_addrs to;
	struct nat_frag_key k;
	uint8_t ip[20];

	memcpy(ip, in + 2, 20);
	nat_frag_key_get(ip, (enum nat_frag_path)(1 + in[1] % 3), &k);
	memcpy(ip + 12, in + 6, 8);             /* "translated" addresses */
	returned_all(out, nat_frag_first(S.f, &k, ip, in[1] & 4, S.now, &to, out));
}

static void later(const uint8_t *in)
{
	enum nat_frag_kind kind;
	void *evicted;
	uint8_t ip[20], *tok;
	bool valid;

	if (S.next == TOKENS)
		return;
	tok = &S.held[S.next++];
	memcpy(ip, in + 2, 20);
	kind = nat_frag_kind(ip);
	if (kind != NAT_FRAG_LATER && kind != NAT_FRAG_UNSAFE)
		return;
	valid = header_valid(ip);
	switch (nat_frag_later(S.f, ip, kind, (enum nat_frag_path)(1 + in[1] % 3),
			       tok, S.now, &evicted)) {
	case NAT_FRAG_TRANSLATED:
		check(header_valid(ip) == valid);
		break;
	case NAT_FRAG_HELD:
		*tok = 1;
		S.n_held++;
		if (evicted)
			returned(evicted);
		break;
	default:
		break;
	}
	check(S.n_held == nat_frag_held(S.f) && S.n_held <= NAT_FRAG_HOLD_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *out[NAT_FRAG_HOLD_MAX];

	memset(&S, 0, sizeof(S));
	S.now = 1000 * NSEC_PER_SEC;
	S.f = nat_frag_create(2 * NAT_FRAG_WAYS);
	check(S.f != NULL);
	for (size_t at = 0; at + STEP <= size; at += STEP) {
		const uint8_t *in = data + at;

		switch (in[0] % 4) {
		case 0: first(in); break;
		case 1: later(in); break;
		case 2: later(in); break;
		default:
			/* up to ~2.5 s: crosses the hold time, and in a
			 * few dozen steps the entry timeout */
			S.now += (uint64_t)in[1] * 10 * NSEC_PER_MSEC;
			returned_all(out, nat_frag_expire(S.f, S.now, out));
			break;
		}
	}
	returned_all(out, nat_frag_drain(S.f, out));
	check(S.n_held == 0);
	nat_frag_destroy(S.f);
	return 0;
}
