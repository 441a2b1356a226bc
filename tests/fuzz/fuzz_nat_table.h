/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT table the NAT harnesses (fuzz_nat.c, fuzz_nat_track.c) keep
 * across inputs, so that sessions come and go: a clock that advances with
 * every input and an expiry pass now and then.  Randomness is a counter,
 * so that a crash replays.
 *
 * Header-only, like the harnesses' other helpers: each harness is one
 * translation unit and one executable.
 */
#ifndef PORTCULLIS_TESTS_FUZZ_NAT_TABLE_H
#define PORTCULLIS_TESTS_FUZZ_NAT_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nat.h"
#include "portcullis/wire.h"
#include "random.h"

struct fuzz_nat {
	struct nat *nat;
	struct nat_lcore lc;
	struct nat_config conf;
	uint64_t now, inputs;
};

static inline void fuzz_nat_random(void *buf, size_t len)
{
	static uint8_t c;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(c++ * 151 + 7);
}

/* First: the random source and an enabled default configuration, for
 * the harness to fill in. */
static inline void fuzz_nat_begin(struct fuzz_nat *f)
{
	random_source_set(fuzz_nat_random);
	nat_config_defaults(&f->conf);
	f->conf.enabled = true;
}

/* Then: the table, the lcore's state and the clock. */
static inline void fuzz_nat_create(struct fuzz_nat *f, unsigned capacity)
{
	f->nat = nat_create(capacity);
	if (!f->nat)
		abort();
	nat_lcore_init(&f->lc);
	f->now = 1000 * NSEC_PER_SEC;
}

/* After each input: 0.1 s pass, and every 128 inputs up to a quarter of
 * the table is expired and reclaimed. */
static inline void fuzz_nat_tick(struct fuzz_nat *f, unsigned capacity)
{
	f->now += NSEC_PER_SEC / 10;
	if (++f->inputs % 128 == 0) {
		nat_expire(f->nat, &f->lc, &f->conf, f->now, capacity / 4);
		nat_reclaim(f->nat);
	}
}

#endif
