/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-source token bucket for handshake messages (as Linux ratelimiter.c):
 * INITIATIONS_PER_SECOND packets per second per source address with a burst
 * of 5; IPv6 sources are grouped by /64.  The table is bounded: when full,
 * new sources are refused (fail closed) until entries idle for a second are
 * collected.  Control thread only.
 */
#ifndef PORTCULLIS_RATELIMITER_H
#define PORTCULLIS_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "portcullis/types.h"

struct ratelimiter;

struct ratelimiter *ratelimiter_create(unsigned max_entries);
void ratelimiter_destroy(struct ratelimiter *rl);
bool ratelimiter_allow(struct ratelimiter *rl, const struct ip_addr *src, uint64_t now);
/* Drop entries idle for more than a second; called periodically. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now);
unsigned ratelimiter_entries(const struct ratelimiter *rl);

#endif
