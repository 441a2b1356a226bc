/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-source token buckets for handshake messages under load (WireGuard
 * paper section 5.3: when a responder is under load it answers with cookie
 * replies, and it also rate-limits initiations per source so that one
 * address cannot monopolise the expensive Curve25519 work).
 *
 * Bucket arithmetic (as Linux's ratelimiter.c): tokens are measured in
 * nanoseconds of credit.  A packet costs PACKET_COST = 1 s /
 * INITIATIONS_PER_SECOND; credit accrues one nanosecond per nanosecond up
 * to TOKEN_MAX = PACKETS_BURSTABLE * PACKET_COST.  A new source starts with
 * a full bucket, minus the packet that created it.
 *
 * Sources: an IPv4 address, or the /64 of an IPv6 address, since a single
 * IPv6 host usually owns a whole /64 and could otherwise rotate addresses
 * to get a fresh bucket for every packet.
 *
 * The table: open addressing with linear probing, at most half full, keyed
 * by SipHash (crypto_shorthash) under a random key, so that an attacker
 * cannot choose sources that pile into one probe chain.  Deletion shifts
 * the following entries back (no tombstones), so probe chains stay as short
 * as the live load allows.  The table never grows: at max_entries new
 * sources are refused until ratelimiter_gc() frees idle ones, which is
 * failing closed (a flood of spoofed sources cannot evict the buckets of
 * sources already being limited).
 */
#include "ratelimiter.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "portcullis/wire.h"
#include "random.h"

enum { PACKETS_BURSTABLE = 5 };

#define PACKET_COST (NSEC_PER_SEC / INITIATIONS_PER_SECOND)
#define TOKEN_MAX (PACKET_COST * PACKETS_BURSTABLE)
/* An entry idle this long has a full bucket again: dropping it loses
 * nothing, a new entry for the source starts full too. */
#define IDLE_NS NSEC_PER_SEC
_Static_assert(TOKEN_MAX <= IDLE_NS, "idle entries must have refilled");

/* A sane upper bound, so that the table size fits 32-bit indices. */
enum { MAX_ENTRIES_LIMIT = 1 << 26 };

struct rl_entry {
	uint64_t src;          /* IPv4 address or IPv6 /64, see source_key() */
	uint64_t last_ns;      /* last time the bucket was touched */
	uint64_t tokens;       /* credit in ns, at most TOKEN_MAX */
	uint32_t home;         /* hash & mask: the slot its probe starts at */
	uint8_t family;        /* IP_V4 or IP_V6; IP_NONE: slot empty */
};

struct ratelimiter {
	struct rl_entry *slots;
	uint32_t mask;         /* slot count - 1, a power of two minus one */
	unsigned max_entries;
	unsigned entries;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

/* The part of the address that names a source. */
static bool source_key(const struct ip_addr *a, uint64_t *src)
{
	uint32_t v4;

	if (a->family == IP_V4) {
		memcpy(&v4, a->bytes, sizeof(v4));
		*src = v4;
		return true;
	}
	if (a->family == IP_V6) {
		memcpy(src, a->bytes, sizeof(*src));    /* the /64 */
		return true;
	}
	return false;
}

static uint32_t source_hash(const struct ratelimiter *rl, uint8_t family,
			    uint64_t src)
{
	uint8_t in[1 + sizeof(src)], out[crypto_shorthash_BYTES];
	uint32_t h;

	in[0] = family;
	memcpy(in + 1, &src, sizeof(src));
	crypto_shorthash(out, in, sizeof(in), rl->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

struct ratelimiter *ratelimiter_create(unsigned max_entries)
{
	struct ratelimiter *rl;
	uint32_t slots = 8;

	if (max_entries == 0 || max_entries > MAX_ENTRIES_LIMIT)
		return NULL;
	/* Keep the load at or under one half: short probes, and there is
	 * always an empty slot to end a probe. */
	while (slots < 2 * max_entries)
		slots *= 2;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->mask = slots - 1;
	rl->max_entries = max_entries;
	random_bytes(rl->hash_key, sizeof(rl->hash_key));
	return rl;
}

void ratelimiter_destroy(struct ratelimiter *rl)
{
	if (!rl)
		return;
	sodium_memzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl->slots);
	free(rl);
}

/* The slot holding the source, or the empty slot where it would go. */
static uint32_t probe(const struct ratelimiter *rl, uint8_t family,
		      uint64_t src, uint32_t home)
{
	uint32_t i = home;

	for (;;) {
		const struct rl_entry *e = &rl->slots[i];

		if (e->family == IP_NONE ||
		    (e->family == family && e->src == src))
			return i;
		i = (i + 1) & rl->mask;
	}
}

/*
 * Refill by the time elapsed, then take one packet's worth if there.  A
 * now earlier than the last touch (callers on different threads reading
 * the clock) neither refills nor moves last_ns back, which would credit
 * the same interval twice.
 */
static bool bucket_take(struct rl_entry *e, uint64_t now)
{
	if (now > e->last_ns) {
		uint64_t elapsed = now - e->last_ns;

		e->tokens = elapsed < TOKEN_MAX - e->tokens ? e->tokens + elapsed
							     : TOKEN_MAX;
		e->last_ns = now;
	}
	if (e->tokens < PACKET_COST)
		return false;
	e->tokens -= PACKET_COST;
	return true;
}

bool ratelimiter_allow(struct ratelimiter *rl, const struct ip_addr *src,
		       uint64_t now)
{
	struct rl_entry *e;
	uint64_t key;
	uint32_t home;

	if (!source_key(src, &key))
		return false;
	home = source_hash(rl, src->family, key) & rl->mask;
	e = &rl->slots[probe(rl, src->family, key, home)];
	if (e->family != IP_NONE)
		return bucket_take(e, now);
	if (rl->entries >= rl->max_entries)
		return false;          /* full: fail closed */
	*e = (struct rl_entry){
		.src = key,
		.last_ns = now,
		.tokens = TOKEN_MAX - PACKET_COST,
		.home = home,
		.family = src->family,
	};
	rl->entries++;
	return true;
}

/* True if home lies cyclically in (hole, j]: the entry at j may not move
 * back to hole without falling off the front of its probe sequence. */
static bool home_between(uint32_t hole, uint32_t j, uint32_t home)
{
	if (hole <= j)
		return hole < home && home <= j;
	return hole < home || home <= j;
}

/*
 * Delete by backward shift (Knuth's algorithm R for linear probing): walk
 * the cluster after the hole and move back every entry whose probe would
 * otherwise pass over the hole.
 */
static void slot_delete(struct ratelimiter *rl, uint32_t hole)
{
	uint32_t j = hole;

	for (;;) {
		j = (j + 1) & rl->mask;
		if (rl->slots[j].family == IP_NONE)
			break;
		if (home_between(hole, j, rl->slots[j].home))
			continue;
		rl->slots[hole] = rl->slots[j];
		hole = j;
	}
	memset(&rl->slots[hole], 0, sizeof(rl->slots[hole]));
	rl->entries--;
}

/*
 * One pass over the slots.  After a deletion the same slot is examined
 * again, since an entry from further on may have moved into it; entries
 * only ever move back towards the hole, so none is skipped (those that
 * wrap round from the start of the array were examined already and kept).
 */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now)
{
	for (uint32_t i = 0; i <= rl->mask; i++) {
		struct rl_entry *e = &rl->slots[i];

		while (e->family != IP_NONE && now > e->last_ns &&
		       now - e->last_ns > IDLE_NS)
			slot_delete(rl, i);
	}
}

unsigned ratelimiter_entries(const struct ratelimiter *rl)
{
	return rl->entries;
}
