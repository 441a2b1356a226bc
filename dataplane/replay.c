/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Anti-replay window for WireGuard data message counters (paper section
 * 5.4.6: "the receiver keeps track of received counters with a sliding
 * window", using the algorithm of RFC 6479).
 *
 * The bitmap is a ring of REPLAY_WORDS 64-bit words; bit (c % 64) of word
 * (c / 64) % REPLAY_WORDS records counter c.  When the greatest counter
 * moves forward, the words between the old and the new greatest are
 * cleared whole, so advancing costs at most REPLAY_WORDS stores however far
 * the window jumps, and nothing is ever shifted (RFC 6479 section 2).
 *
 * Acceptance rule (the same as Linux's counter_validate()):
 *   counter < REJECT_AFTER_MESSAGES, and
 *   counter + REPLAY_WINDOW_SIZE >= greatest, and
 *   counter has not been seen.
 * So the window holds greatest and the REPLAY_WINDOW_SIZE counters below it.
 * One word of the ring is kept as slack: the oldest counter in the window,
 * greatest - REPLAY_WINDOW_SIZE, always lies REPLAY_WORDS - 1 words behind
 * greatest's word, so clearing the words ahead of greatest can never erase
 * a bit that is still inside the window.
 */
#include "replay.h"

#include <string.h>

#include "portcullis/wire.h"

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0,
	       "REPLAY_WORDS must be a power of two");
_Static_assert(REPLAY_WINDOW_SIZE == (REPLAY_WORDS - 1) * REPLAY_WORD_BITS,
	       "one word of slack between the window and the ring");
/* counter + REPLAY_WINDOW_SIZE below must not wrap for accepted counters. */
_Static_assert(REJECT_AFTER_MESSAGES <= UINT64_MAX - REPLAY_WINDOW_SIZE,
	       "window arithmetic overflows");

static inline unsigned word_index(uint64_t counter)
{
	return (unsigned)((counter / REPLAY_WORD_BITS) & (REPLAY_WORDS - 1));
}

static inline uint64_t bit_mask(uint64_t counter)
{
	return 1ULL << (counter % REPLAY_WORD_BITS);
}

void replay_window_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

/*
 * The part of the decision that does not depend on the bitmap: the hard
 * message limit (paper section 6.1, Reject-After-Messages) and the left
 * edge of the window.
 */
static inline bool in_range(const struct replay_window *w, uint64_t counter)
{
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	if (!w->any)
		return true;
	return counter + REPLAY_WINDOW_SIZE >= w->greatest;
}

bool replay_window_check(const struct replay_window *w, uint64_t counter)
{
	if (!in_range(w, counter))
		return false;
	/*
	 * Ahead of greatest, the ring word may still hold bits of counters one
	 * lap behind; they are cleared only when the window advances, so such
	 * counters are new by definition.
	 */
	if (!w->any || counter > w->greatest)
		return true;
	return !(w->bitmap[word_index(counter)] & bit_mask(counter));
}

/*
 * Move greatest forward to counter, clearing the ring words that now
 * represent counters beyond the old greatest.  The word holding the old
 * greatest is kept: it still carries live bits.  A jump of a whole ring
 * or more clears everything (capped at REPLAY_WORDS stores).
 */
static void advance(struct replay_window *w, uint64_t counter)
{
	uint64_t cur = w->greatest / REPLAY_WORD_BITS;
	uint64_t next = counter / REPLAY_WORD_BITS;
	uint64_t words = next - cur;

	if (words > REPLAY_WORDS)
		words = REPLAY_WORDS;
	for (uint64_t i = 1; i <= words; i++)
		w->bitmap[(cur + i) & (REPLAY_WORDS - 1)] = 0;
	w->greatest = counter;
}

bool replay_window_update(struct replay_window *w, uint64_t counter)
{
	uint64_t *word, mask;

	if (!in_range(w, counter))
		return false;
	if (!w->any) {
		/* The first counter need not be 0 (a lost first packet); the
		 * bitmap is all zeroes from init, so nothing to clear. */
		w->any = true;
		w->greatest = counter;
	} else if (counter > w->greatest) {
		advance(w, counter);
	}
	word = &w->bitmap[word_index(counter)];
	mask = bit_mask(counter);
	if (*word & mask)
		return false;
	*word |= mask;
	return true;
}
