/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sliding anti-replay window for data message counters, RFC 6479 style:
 * a ring of 64-bit words indexed by counter / 64, so advancing the window
 * clears whole words instead of shifting bits.
 *
 * Concurrency: not internally synchronised.  The dataplane serialises
 * updates per keypair (see dataplane/tunnel.c).  replay_window_check() is a
 * read-only pre-filter that may race benignly with an update; the
 * authoritative decision is replay_window_update() after authentication.
 */
#ifndef PORTCULLIS_REPLAY_H
#define PORTCULLIS_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum replay_sizes {
	REPLAY_WORD_BITS = 64,
	REPLAY_WORDS = 128,                                   /* 8192 bits */
	REPLAY_WINDOW_SIZE = (REPLAY_WORDS - 1) * REPLAY_WORD_BITS, /* 8128 */
};

struct replay_window {
	uint64_t greatest;             /* highest counter accepted so far */
	bool any;                      /* false until the first update */
	uint64_t bitmap[REPLAY_WORDS];
};

void replay_window_init(struct replay_window *w);
/* False if counter is certainly a replay, too old, or >= REJECT_AFTER_MESSAGES. */
bool replay_window_check(const struct replay_window *w, uint64_t counter);
/* Record counter; false (and no change) if it must be rejected. */
bool replay_window_update(struct replay_window *w, uint64_t counter);

#endif
