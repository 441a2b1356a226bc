/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/replay.c: a numbered table of counter sequences in
 * the spirit of Linux's wireguard selftest (in order, out of order, replays,
 * the exact left edge of the window, jumps of many laps of the ring, the
 * Reject-After-Messages limit), then a randomized comparison against a
 * naive reference that remembers every counter it ever accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/wire.h"
#include "replay.h"

/* The oldest counter still inside the window is greatest - WIN. */
#define WIN ((uint64_t)REPLAY_WINDOW_SIZE)
#define LIM (WIN + 1)
#define RAM REJECT_AFTER_MESSAGES
#define RING ((uint64_t)REPLAY_WORDS * REPLAY_WORD_BITS)

struct replay_case {
	uint64_t counter;
	bool accept;
};

/*
 * One window fed in order; each row depends on the rows before it.  The
 * row number is printed on failure.
 */
static const struct replay_case cases[] = {
	/*  1 */ { 0, true },               /* the first counter is 0 */
	/*  2 */ { 1, true },
	/*  3 */ { 1, false },              /* duplicate */
	/*  4 */ { 9, true },               /* skip ahead */
	/*  5 */ { 8, true },               /* out of order, in window */
	/*  6 */ { 7, true },
	/*  7 */ { 7, false },
	/*  8 */ { LIM, true },             /* greatest = WIN + 1 */
	/*  9 */ { LIM - 1, true },
	/* 10 */ { LIM - 1, false },
	/* 11 */ { LIM - 2, true },
	/* 12 */ { 2, true },               /* greatest - 2 == WIN - 1: inside */
	/* 13 */ { 2, false },
	/* 14 */ { 1, false },              /* exactly the left edge, but seen */
	/* 15 */ { 0, false },              /* one past the left edge */
	/* 16 */ { LIM + 16, true },
	/* 17 */ { 3, false },              /* now too old */
	/* 18 */ { LIM + 16, false },
	/* 19 */ { LIM * 4, true },         /* jump over two laps of the ring */
	/* 20 */ { LIM * 4 - WIN, true },   /* exactly the left edge */
	/* 21 */ { LIM * 4 - WIN, false },
	/* 22 */ { LIM * 4 - WIN - 1, false }, /* one past the edge */
	/* 23 */ { 10, false },
	/* 24 */ { LIM * 4 - (WIN - 1), true },
	/* 25 */ { LIM * 4 - 1, true },
	/* 26 */ { LIM * 4 + 1, true },
	/* 27 */ { LIM * 4 + 1, false },
	/* 28 */ { LIM * 4, false },
	/* 29 */ { LIM * 4 + RING, true },  /* exactly one lap: same word index */
	/* 30 */ { LIM * 4 + 1, false },    /* same bit one lap ago: too old */
	/* 31 */ { LIM * 4 + RING - 1, true },
	/* 32 */ { LIM * 4 + RING + 1, true },
	/* 33 */ { LIM * 4 + RING + 63, true }, /* word-boundary walk */
	/* 34 */ { LIM * 4 + RING + 64, true },
	/* 35 */ { LIM * 4 + RING + 62, true },
	/* 36 */ { LIM * 4 + RING + 64, false },
	/* 37 */ { RAM, false },            /* the limit itself is refused */
	/* 38 */ { RAM + 1, false },
	/* 39 */ { UINT64_MAX, false },
	/* 40 */ { RAM - 1, true },         /* the last usable counter */
	/* 41 */ { RAM, false },
	/* 42 */ { RAM - 1, false },
	/* 43 */ { RAM - 2, true },
	/* 44 */ { RAM - 2, false },
	/* 45 */ { RAM - 1 - WIN, true },   /* left edge near the top */
	/* 46 */ { RAM - 2 - WIN, false },
	/* 47 */ { RAM - 3, true },
	/* 48 */ { LIM * 4 + RING + 65, false }, /* far in the past now */
	/* 49 */ { 0, false },
};

static void test_table(void **state)
{
	struct replay_window w;

	(void)state;
	replay_window_init(&w);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool pre = replay_window_check(&w, cases[i].counter);
		bool got = replay_window_update(&w, cases[i].counter);

		if (got != cases[i].accept || pre != cases[i].accept)
			fail_msg("case %zu: counter %llu: check %d update %d, want %d",
				 i + 1, (unsigned long long)cases[i].counter,
				 pre, got, cases[i].accept);
	}
}

/* A window that has never accepted anything takes any counter below the
 * limit, including one far from 0 (the first packets were lost). */
static void test_first_counter(void **state)
{
	struct replay_window w;

	(void)state;
	replay_window_init(&w);
	assert_false(replay_window_update(&w, RAM));
	assert_false(w.any);                   /* a refusal changes nothing */
	assert_true(replay_window_update(&w, 20000));
	assert_true(replay_window_update(&w, 20000 - WIN));
	assert_false(replay_window_update(&w, 20000 - WIN - 1));
	assert_false(replay_window_update(&w, 0));

	replay_window_init(&w);
	assert_true(replay_window_update(&w, 5000));
	assert_true(replay_window_update(&w, 0));  /* 0 + WIN >= 5000 */
	assert_false(replay_window_update(&w, 0));
}

/* A long in-order run, as a busy tunnel sees it, with no false rejects. */
static void test_in_order(void **state)
{
	struct replay_window w;

	(void)state;
	replay_window_init(&w);
	for (uint64_t c = 0; c < 10 * RING; c++)
		if (!replay_window_update(&w, c))
			fail_msg("counter %llu rejected", (unsigned long long)c);
	assert_int_equal(w.greatest, 10 * RING - 1);
	assert_false(replay_window_update(&w, 10 * RING - 1));
	assert_false(replay_window_update(&w, 10 * RING - 1 - WIN));
}

/* Every counter of a full window delivered in reverse is accepted once. */
static void test_reverse_window(void **state)
{
	struct replay_window w;
	uint64_t top = 3 * RING + 17;

	(void)state;
	replay_window_init(&w);
	assert_true(replay_window_update(&w, top));
	for (uint64_t c = top - 1; c + WIN >= top; c--)
		if (!replay_window_update(&w, c))
			fail_msg("counter %llu rejected", (unsigned long long)c);
	for (uint64_t c = top - WIN - 1; c + 3 * WIN >= top; c--)
		assert_false(replay_window_update(&w, c));
	for (uint64_t c = top - WIN; c <= top; c++)
		assert_false(replay_window_update(&w, c));
}

/* --- Randomized comparison with a naive reference -------------------------- */

struct naive {
	uint64_t *seen;
	size_t n;
	uint64_t greatest;
	bool any;
};

static bool naive_update(struct naive *r, uint64_t c)
{
	if (c >= RAM)
		return false;
	if (r->any && c + WIN < r->greatest)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (r->seen[i] == c)
			return false;
	r->seen[r->n++] = c;
	if (!r->any || c > r->greatest)
		r->greatest = c;
	r->any = true;
	return true;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure is reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* g - back, kept from wrapping round to huge counters near 2^64. */
static uint64_t behind(uint64_t g, uint64_t back)
{
	return g >= back ? g - back : g;
}

/* The next counter to try: a mix of the moves a real path produces plus
 * the edges of the window, where bugs live. */
static uint64_t next_counter(const struct naive *r, uint64_t base)
{
	uint64_t g = r->any ? r->greatest : base;

	switch (rng() % 8) {
	case 0: case 1:
		return g + 1 + rng() % 4;                /* in order-ish */
	case 2:
		return behind(g, rng() % 256);           /* recent reorder */
	case 3:
		return behind(g, WIN - 2 + rng() % 5);   /* around the edge */
	case 4:
		return g + rng() % (3 * RING);           /* jumps, laps */
	case 5:
		return r->n ? r->seen[rng() % r->n] : g; /* replay */
	case 6:
		return behind(g, rng() % (2 * WIN));     /* anywhere behind */
	default:
		return g + 60 + rng() % 10;              /* word boundaries */
	}
}

static void run_sequence(uint64_t base, size_t len)
{
	struct naive ref = { .seen = calloc(len, sizeof(uint64_t)) };
	struct replay_window w;

	assert_non_null(ref.seen);
	replay_window_init(&w);
	for (size_t i = 0; i < len; i++) {
		uint64_t c = next_counter(&ref, base);
		bool pre = replay_window_check(&w, c);
		bool got = replay_window_update(&w, c);
		bool want = naive_update(&ref, c);

		if (pre != want || got != want)
			fail_msg("base %llu step %zu counter %llu: check %d update %d want %d",
				 (unsigned long long)base, i,
				 (unsigned long long)c, pre, got, want);
	}
	free(ref.seen);
}

static void test_random_vs_naive(void **state)
{
	(void)state;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int seq = 0; seq < 300; seq++) {
		uint64_t base;

		switch (seq % 3) {
		case 0: base = 0; break;
		case 1: base = rng() >> 4; break;
		default: base = RAM - 4 * RING - rng() % RING; break;
		}
		run_sequence(base, 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_first_counter),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reverse_window),
		cmocka_unit_test(test_random_vs_naive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
