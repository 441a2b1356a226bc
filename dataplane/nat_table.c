/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT's memory and life cycle: the pools of session, mapping and
 * tracked-session slots, the table's creation, and expiry (the control
 * thread's walk that unlinks what timed out).  The index that finds the
 * slots by key is nat_index.c.
 *
 * A slot is handed out from a per-thread cache (nat_lcore), refilled
 * from the pool's free list and then from the untouched end of the array
 * under the pool's lock.  An expired slot waits in the limbo until
 * nat_reclaim, which the caller runs after an RCU grace period, so a
 * lock-free reader never sees a slot reused under it.
 */
#include "nat_table.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "random.h"

/* --- Slot pools ----------------------------------------------------------- */

static uint32_t *pool_link(struct nat_pool *p, uint32_t idx)
{
	return (uint32_t *)(p->base + (size_t)idx * p->stride + p->link_off);
}

static void pool_push_locked(struct nat_pool *p, uint32_t idx)
{
	*pool_link(p, idx) = p->free_head;
	p->free_head = idx;
}

/* Take half a cache's worth under one lock: freed slots first, so the
 * memory touched stays near the peak number of live objects, then fresh
 * ones from the untouched end of the array. */
static void pool_refill(struct nat_pool *p, uint32_t *cache, unsigned *n)
{
	uint32_t bump;

	nat_spin_lock(&p->lock);
	while (*n < NAT_LCORE_CACHE / 2 && p->free_head != NAT_NONE) {
		cache[(*n)++] = p->free_head;
		p->free_head = *pool_link(p, p->free_head);
	}
	bump = atomic_load_explicit(&p->bump, memory_order_relaxed);
	while (*n < NAT_LCORE_CACHE / 2 && bump < p->capacity)
		cache[(*n)++] = bump++;
	atomic_store_explicit(&p->bump, bump, memory_order_release);
	nat_spin_unlock(&p->lock);
}

uint32_t nat_pool_get(struct nat_pool *p, uint32_t *cache, unsigned *n)
{
	if (*n == 0)
		pool_refill(p, cache, n);
	return *n ? cache[--*n] : NAT_NONE;
}

/* Give back a slot that was never linked: no reader can have seen it, so
 * it skips the limbo. */
void nat_pool_put(struct nat_pool *p, uint32_t *cache, unsigned *n,
		  uint32_t idx)
{
	if (*n == NAT_LCORE_CACHE) {
		nat_spin_lock(&p->lock);
		while (*n > NAT_LCORE_CACHE / 2)
			pool_push_locked(p, cache[--*n]);
		nat_spin_unlock(&p->lock);
	}
	cache[(*n)++] = idx;
}

void nat_pool_flush(struct nat_pool *p, uint32_t *cache, unsigned *n)
{
	nat_spin_lock(&p->lock);
	while (*n > 0)
		pool_push_locked(p, cache[--*n]);
	nat_spin_unlock(&p->lock);
}

/* Control thread: an unlinked slot waits here for a grace period. */
void nat_pool_retire(struct nat_pool *p, uint32_t idx)
{
	*pool_link(p, idx) = NAT_NONE;
	if (p->limbo_tail == NAT_NONE)
		p->limbo_head = idx;
	else
		*pool_link(p, p->limbo_tail) = idx;
	p->limbo_tail = idx;
}

void nat_pool_reclaim(struct nat_pool *p)
{
	if (p->limbo_head == NAT_NONE)
		return;
	nat_spin_lock(&p->lock);
	*pool_link(p, p->limbo_tail) = p->free_head;
	p->free_head = p->limbo_head;
	nat_spin_unlock(&p->lock);
	p->limbo_head = p->limbo_tail = NAT_NONE;
}

/* --- Sizing and memory ---------------------------------------------------- */

/* Slots beyond max_sessions: the live count is what is limited (an atomic
 * counter), but slots also sit in per-thread caches and in the limbo. */
static uint32_t slots_for(uint32_t max_sessions)
{
	return max_sessions + max_sessions / 16 + 4 * NAT_LCORE_CACHE;
}

/* What is reserved, not what is used: a session is either a NAT session
 * (with its share of a mapping) or a tracked one, never both, and pages
 * are backed only once written (nat_pages_alloc). */
static size_t table_bytes(uint32_t max_sessions)
{
	const size_t per_slot = sizeof(struct nat_session) +
				sizeof(struct nat_mapping) +
				sizeof(struct nat_track);

	return nat_index_bytes(max_sessions) +
	       (size_t)slots_for(max_sessions) * per_slot;
}

/* Anonymous pages: zeroed, page-aligned, and backed by memory only once
 * written, so a table sized for a million sessions costs what it holds. */
void *nat_pages_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void pool_init(struct nat_pool *p, void *base, size_t stride,
		      size_t link_off, uint32_t capacity)
{
	p->base = base;
	p->stride = stride;
	p->link_off = link_off;
	p->capacity = capacity;
	p->free_head = p->limbo_head = p->limbo_tail = NAT_NONE;
}

static int table_init(struct nat *nat, uint32_t max_sessions)
{
	uint32_t slots = slots_for(max_sessions);
	void *s, *m, *t;

	nat->bytes_sessions = (size_t)slots * sizeof(struct nat_session);
	nat->bytes_mappings = (size_t)slots * sizeof(struct nat_mapping);
	nat->bytes_tracks = (size_t)slots * sizeof(struct nat_track);
	if (nat_index_init(nat, max_sessions) < 0)
		goto err;
	s = nat_pages_alloc(nat->bytes_sessions);
	if (!s)
		goto err_index;
	m = nat_pages_alloc(nat->bytes_mappings);
	if (!m)
		goto err_sessions;
	t = nat_pages_alloc(nat->bytes_tracks);
	if (!t)
		goto err_mappings;
	pool_init(&nat->sessions, s, sizeof(struct nat_session),
		  offsetof(struct nat_session, mapping), slots);
	pool_init(&nat->mappings, m, sizeof(struct nat_mapping),
		  offsetof(struct nat_mapping, next), slots);
	pool_init(&nat->tracks, t, sizeof(struct nat_track),
		  offsetof(struct nat_track, next), slots);
	return 0;

err_mappings:
	munmap(m, nat->bytes_mappings);
err_sessions:
	munmap(s, nat->bytes_sessions);
err_index:
	nat_index_fini(nat);
err:
	return -ENOMEM;
}

static void table_fini(struct nat *nat)
{
	nat_index_fini(nat);
	munmap(nat->sessions.base, nat->bytes_sessions);
	munmap(nat->mappings.base, nat->bytes_mappings);
	munmap(nat->tracks.base, nat->bytes_tracks);
}

/* --- Life cycle ----------------------------------------------------------- */

struct nat *nat_create(uint32_t max_sessions)
{
	struct nat *nat;

	if (max_sessions == 0 || max_sessions > NAT_MAX_MAX_SESSIONS)
		return NULL;
	nat = calloc(1, sizeof(*nat));
	if (!nat)
		return NULL;
	if (table_init(nat, max_sessions) < 0) {
		free(nat);
		return NULL;
	}
	nat->max_sessions = max_sessions;
	return nat;
}

void nat_destroy(struct nat *nat)
{
	if (!nat)
		return;
	table_fini(nat);
	free(nat);
}

/* Session, mapping and index share per session, measured on a table of
 * the default size (the index rounds, so small tables differ slightly). */
size_t nat_bytes_per_session(void)
{
	const uint32_t n = NAT_DEFAULT_MAX_SESSIONS;

	return (table_bytes(n) + n - 1) / n;
}

uint32_t nat_capacity(const struct nat *nat)
{
	return nat->max_sessions;
}

void nat_lcore_init(struct nat_lcore *lc)
{
	random_bytes(&lc->rng, sizeof(lc->rng));
	if (lc->rng == 0)                   /* xorshift's one fixed point */
		lc->rng = 0x9e3779b97f4a7c15ULL;
}

void nat_lcore_release(struct nat *nat, struct nat_lcore *lc)
{
	nat_pool_flush(&nat->sessions, lc->free_sessions, &lc->n_free_sessions);
	nat_pool_flush(&nat->mappings, lc->free_mappings, &lc->n_free_mappings);
	nat_pool_flush(&nat->tracks, lc->free_tracks, &lc->n_free_tracks);
}

uint32_t nat_active_sessions(const struct nat *nat)
{
	return atomic_load_explicit(&nat->active, memory_order_relaxed);
}

/* --- Expiry (control thread) ---------------------------------------------- */

/* A mapping with no session left (refs 1): kill it unless a creator takes
 * it first (its CAS from 1 to 2 makes ours fail), unlink, retire. */
static void mapping_reap(struct nat *nat, struct nat_lcore *lc, uint32_t idx)
{
	struct nat_mapping *m = nat_mapping_at(nat, idx);
	uint32_t one = 1;
	struct nat_key keys[2];

	if (atomic_load_explicit(&m->refs, memory_order_relaxed) != 1 ||
	    !atomic_compare_exchange_strong_explicit(
		    &m->refs, &one, 0, memory_order_acq_rel,
		    memory_order_relaxed))
		return;
	nat_mapping_keys(m, keys);
	nat_index_unlink(nat, &keys[0], idx);
	nat_index_unlink(nat, &keys[1], idx);
	nat_pool_retire(&nat->mappings, idx);
	lc->stats.mappings_expired++;
}

/* Expiry's removal, shared with nat_session_flush (nat_walk.c): kill with
 * a CAS from the timer value the caller judged, unlink both keys, give the
 * session's reference back to its mapping (reaping the mapping if that was
 * the last), retire the slot. */
bool nat_session_unlink(struct nat *nat, struct nat_lcore *lc, uint32_t idx,
			uint32_t seen)
{
	struct nat_session *s = nat_session_at(nat, idx);
	struct nat_key keys[2];
	uint32_t mapping;

	/* Fails if a worker refreshed it since the caller read the timer. */
	if (seen == NAT_DEAD ||
	    !atomic_compare_exchange_strong_explicit(
		    &s->last_seen, &seen, NAT_DEAD, memory_order_acq_rel,
		    memory_order_relaxed))
		return false;
	nat_session_keys(s, keys);
	nat_index_unlink(nat, &keys[0], idx);
	nat_index_unlink(nat, &keys[1], idx);
	atomic_fetch_sub_explicit(&nat->active, 1, memory_order_relaxed);
	lc->stats.expired[nat_proto_index(s->proto)]++;
	mapping = s->mapping;                   /* retire reuses the field */
	nat_pool_retire(&nat->sessions, idx);
	if (mapping != NAT_NONE) {
		nat_mapping_unref(nat, mapping);
		mapping_reap(nat, lc, mapping);
	}
	return true;
}

static unsigned session_expire(struct nat *nat, struct nat_lcore *lc,
			       const struct nat_clock *c, uint32_t idx)
{
	struct nat_session *s = nat_session_at(nat, idx);
	uint32_t seen = atomic_load_explicit(&s->last_seen,
					     memory_order_acquire);

	if (seen == NAT_DEAD || !nat_session_timed_out(s, seen, c))
		return 0;
	return nat_session_unlink(nat, lc, idx, seen);
}

/* The same for a tracked session: it has one key and no mapping. */
static unsigned track_expire(struct nat *nat, struct nat_lcore *lc,
			     const struct nat_clock *c, uint32_t idx)
{
	struct nat_track *t = nat_track_at(nat, idx);
	uint32_t seen = atomic_load_explicit(&t->last_seen,
					     memory_order_acquire);
	enum nat_proto_index proto;

	if (seen == NAT_DEAD || !nat_track_timed_out(t, seen, c))
		return 0;
	if (!atomic_compare_exchange_strong_explicit(
		    &t->last_seen, &seen, NAT_DEAD, memory_order_acq_rel,
		    memory_order_relaxed))
		return 0;
	nat_index_unlink_track(nat, &t->key, idx);
	atomic_fetch_sub_explicit(&nat->active, 1, memory_order_relaxed);
	proto = nat_proto_index(t->key.proto);
	lc->stats.expired[proto]++;
	lc->stats.tracked_expired[proto]++;
	nat_pool_retire(&nat->tracks, idx);
	return 1;
}

static uint32_t bump_of(const struct nat_pool *p)
{
	return atomic_load_explicit(&p->bump, memory_order_acquire);
}

unsigned nat_expire(struct nat *nat, struct nat_lcore *lc,
		    const struct nat_config *conf, uint64_t now,
		    unsigned budget)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	uint32_t hi_s = bump_of(&nat->sessions), hi_m = bump_of(&nat->mappings);
	uint32_t hi_t = bump_of(&nat->tracks);
	uint32_t hi = hi_s > hi_m ? hi_s : hi_m;
	unsigned expired = 0;

	if (hi_t > hi)
		hi = hi_t;

	/* Only slots ever handed out can be linked; each visited once. */
	if (budget > hi)
		budget = hi;
	for (unsigned n = 0; n < budget; n++) {
		uint32_t i = nat->cursor < hi ? nat->cursor : 0;

		nat->cursor = i + 1;
		if (i < hi_s)
			expired += session_expire(nat, lc, &c, i);
		/* Mappings orphaned by a failed creation have no session
		 * to bring them here: the walk visits them too. */
		if (i < hi_m)
			mapping_reap(nat, lc, i);
		if (i < hi_t)
			expired += track_expire(nat, lc, &c, i);
	}
	return expired;
}

void nat_reclaim(struct nat *nat)
{
	nat_pool_reclaim(&nat->sessions);
	nat_pool_reclaim(&nat->mappings);
	nat_pool_reclaim(&nat->tracks);
}
