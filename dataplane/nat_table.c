/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT's memory and life cycle: one hash index shared by every lcore,
 * the pools of session and mapping slots it points into, and expiry (the
 * control thread's walk that unlinks what timed out).
 *
 * The index holds four kinds of key (nat_table.h) in buckets of one cache
 * line: seven 64-bit entries (signature << 32 | kind << 30 | slot) and a
 * spinlock.  Every key has two candidate buckets and an insert goes to the
 * emptier one ("power of two choices"); entries never move once written,
 * so a lock-free reader that scans both buckets cannot miss an entry
 * that was present for its whole scan, which displacement (cuckoo
 * hashing) would allow.  The index is sized for half load at worst (every
 * session with a mapping of its own, MaxSessions live); simulating that
 * with churn, an insert found both its buckets full 4 times in 20
 * million, and the caller then reports the table full.
 *
 * Readers: one acquire load per entry, then the key stored in the object
 * is compared (signatures collide) and dead or timed-out objects are
 * skipped.  An object is written completely before the release store
 * that publishes its entry, and a slot is reused only after an RCU grace
 * period (nat_reclaim), so what a reader finds is never half-written nor
 * recycled under it.
 *
 * Writers (workers creating, the control thread expiring) lock the
 * buckets they look at, several in address order so two writers cannot
 * deadlock.  Check-then-insert under those locks is what makes claiming
 * an external port or creating a session atomic across lcores.
 *
 * The hash is SipHash-1-3 under a random key: remote addresses and ports
 * come from the outside, and with a known hash an attacker could fill the
 * two buckets of the keys it wants to deny.
 */
#include "nat_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "random.h"

enum {
	BUCKET_ENTRIES = 7,
	/* Keys per session at worst: its two, plus the two of a mapping of
	 * its own (the common case: one TCP connection per source port). */
	KEYS_PER_SESSION = 4,
	IDX_BITS = 30,
};

/* Half load: buckets = keys / (7 / 2). */
#define BUCKETS_FOR(keys) (((uint64_t)(keys) * 2 + BUCKET_ENTRIES - 1) / \
			   BUCKET_ENTRIES)

struct nat_bucket {
	_Atomic uint64_t entry[BUCKET_ENTRIES];
	_Atomic uint32_t lock;
	uint32_t unused;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct nat_bucket) == 64, "one cache line");

/* Where a key may live and the signature its entries carry. */
struct probe {
	struct nat_bucket *b[2];
	uint32_t sig;                   /* never 0: entry 0 means empty */
};

/* --- Hashing -------------------------------------------------------------- */

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0;                \
		v0 = ROTL64(v0, 32);                                    \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2;                \
		v2 = ROTL64(v2, 32);                                    \
	} while (0)

/* SipHash-1-3 of two 64-bit words (Linux's hsiphash on 64-bit hosts):
 * about five rounds, cheap enough for every packet. */
static uint64_t siphash13_2u64(uint64_t a, uint64_t b, const uint64_t key[2])
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	const uint64_t last = (uint64_t)16 << 56;

	v3 ^= a; SIPROUND; v0 ^= a;
	v3 ^= b; SIPROUND; v0 ^= b;
	v3 ^= last; SIPROUND; v0 ^= last;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* x * n / 2^32: a bucket number without a modulo or a power-of-two size. */
static uint32_t reduce(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static void probe_init(const struct nat *nat, const struct nat_key *k,
		       struct probe *p)
{
	uint64_t w0 = (uint64_t)k->addr | (uint64_t)k->rem_addr << 32;
	uint64_t w1 = (uint64_t)k->port | (uint64_t)k->rem_port << 16 |
		      (uint64_t)k->proto << 32 | (uint64_t)k->kind << 40;
	uint64_t h = siphash13_2u64(w0, w1, nat->hash_key);
	uint32_t sig = (uint32_t)((h * 0x9e3779b97f4a7c15ULL) >> 32);

	p->b[0] = &nat->buckets[reduce((uint32_t)h, nat->n_buckets)];
	p->b[1] = &nat->buckets[reduce((uint32_t)(h >> 32), nat->n_buckets)];
	p->sig = sig ? sig : 1;
}

static uint64_t entry_make(uint32_t sig, unsigned kind, uint32_t idx)
{
	return (uint64_t)sig << 32 | (uint64_t)kind << IDX_BITS | idx;
}

static uint32_t entry_idx(uint64_t e)
{
	return (uint32_t)e & ((1u << IDX_BITS) - 1);
}

static unsigned entry_kind(uint64_t e)
{
	return (uint32_t)e >> IDX_BITS;
}

/* --- Objects as the index sees them --------------------------------------- */

static bool object_has_key(const struct nat *nat, const struct nat_key *k,
			   uint32_t idx)
{
	const struct nat_session *s = nat_session_at(nat, idx);
	const struct nat_mapping *m = nat_mapping_at(nat, idx);

	switch (k->kind) {
	case KEY_SESSION_OUT:
		return s->int_addr == k->addr && s->int_port == k->port &&
		       s->rem_addr == k->rem_addr &&
		       s->rem_port == k->rem_port && s->proto == k->proto;
	case KEY_SESSION_IN:
		return s->ext_addr == k->addr && s->ext_port == k->port &&
		       s->rem_addr == k->rem_addr &&
		       s->rem_port == k->rem_port && s->proto == k->proto;
	case KEY_MAPPING_INT:
		return m->int_addr == k->addr && m->int_port == k->port &&
		       m->proto == k->proto;
	default:
		return m->ext_addr == k->addr && m->ext_port == k->port &&
		       m->proto == k->proto;
	}
}

static bool kind_is_session(unsigned kind)
{
	return kind == KEY_SESSION_OUT || kind == KEY_SESSION_IN;
}

/* May a lookup use it?  A session whose timer ran out counts as absent
 * even before the control thread unlinks it (nat.h: filtering must not
 * depend on how far the expiry walk has got). */
static bool object_usable(const struct nat *nat, unsigned kind, uint32_t idx,
			  const struct nat_clock *c)
{
	if (kind_is_session(kind)) {
		const struct nat_session *s = nat_session_at(nat, idx);

		return !nat_session_timed_out(s, atomic_load_explicit(
			&s->last_seen, memory_order_acquire), c);
	}
	return atomic_load_explicit(&nat_mapping_at(nat, idx)->refs,
				    memory_order_acquire) != 0;
}

/* Unlinked already (its entries are about to be removed by the control
 * thread, which waits for our lock): the entry may be overwritten. */
static bool object_dead(const struct nat *nat, unsigned kind, uint32_t idx)
{
	if (kind_is_session(kind))
		return atomic_load_explicit(
			       &nat_session_at(nat, idx)->last_seen,
			       memory_order_relaxed) == NAT_DEAD;
	return atomic_load_explicit(&nat_mapping_at(nat, idx)->refs,
				    memory_order_relaxed) == 0;
}

/* --- Lookups -------------------------------------------------------------- */

static uint32_t bucket_find(const struct nat *nat, struct nat_bucket *b,
			    uint32_t sig, const struct nat_key *k,
			    const struct nat_clock *c)
{
	for (unsigned i = 0; i < BUCKET_ENTRIES; i++) {
		uint64_t e = atomic_load_explicit(&b->entry[i],
						  memory_order_acquire);

		if ((uint32_t)(e >> 32) != sig || entry_kind(e) != k->kind)
			continue;
		if (object_has_key(nat, k, entry_idx(e)) &&
		    object_usable(nat, k->kind, entry_idx(e), c))
			return entry_idx(e);
	}
	return NAT_NONE;
}

static uint32_t probe_find(const struct nat *nat, const struct probe *p,
			   const struct nat_key *k, const struct nat_clock *c)
{
	uint32_t idx = bucket_find(nat, p->b[0], p->sig, k, c);

	if (idx == NAT_NONE && p->b[1] != p->b[0])
		idx = bucket_find(nat, p->b[1], p->sig, k, c);
	return idx;
}

uint32_t nat_index_find(const struct nat *nat, const struct nat_key *k,
			const struct nat_clock *c)
{
	struct probe p;

	probe_init(nat, k, &p);
	return probe_find(nat, &p, k, c);
}

/* --- Writers -------------------------------------------------------------- */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void spin_lock(_Atomic uint32_t *l)
{
	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		while (atomic_load_explicit(l, memory_order_relaxed))
			cpu_relax();
}

static void spin_unlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* Lock the candidate buckets of n probes, each once, in address order
 * (the order every writer uses, so none waits on another in a cycle). */
static unsigned lock_buckets(const struct probe *p, unsigned n,
			     struct nat_bucket *out[4])
{
	unsigned count = 0;

	for (unsigned i = 0; i < 2 * n; i++) {
		struct nat_bucket *b = p[i / 2].b[i % 2];
		unsigned j = count;

		for (unsigned k = 0; k < count; k++)
			if (out[k] == b)
				goto next;
		while (j > 0 && out[j - 1] > b) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = b;
		count++;
next:;
	}
	for (unsigned i = 0; i < count; i++)
		spin_lock(&out[i]->lock);
	return count;
}

static void unlock_buckets(struct nat_bucket *const b[4], unsigned n)
{
	while (n-- > 0)
		spin_unlock(&b[n]->lock);
}

static bool entry_free(const struct nat *nat, uint64_t e)
{
	return e == 0 || object_dead(nat, entry_kind(e), entry_idx(e));
}

/* A free entry in the emptier candidate bucket, other than `taken`. */
static _Atomic uint64_t *free_entry(const struct nat *nat,
				    const struct probe *p,
				    const _Atomic uint64_t *taken)
{
	_Atomic uint64_t *first[2] = { NULL, NULL };
	unsigned n_free[2] = { 0, 0 };

	for (unsigned i = 0; i < 2; i++) {
		if (i == 1 && p->b[1] == p->b[0])
			break;
		for (unsigned j = 0; j < BUCKET_ENTRIES; j++) {
			_Atomic uint64_t *e = &p->b[i]->entry[j];

			if (e == taken || !entry_free(nat, atomic_load_explicit(
						  e, memory_order_relaxed)))
				continue;
			if (!first[i])
				first[i] = e;
			n_free[i]++;
		}
	}
	return n_free[1] > n_free[0] ? first[1] : first[0];
}

int nat_index_link(struct nat *nat, const struct nat_key keys[2],
		   uint32_t idx, const struct nat_clock *c, uint32_t found[2])
{
	struct nat_bucket *locked[4];
	_Atomic uint64_t *slot[2];
	struct probe p[2];
	unsigned n;
	int ret = -EEXIST;

	probe_init(nat, &keys[0], &p[0]);
	probe_init(nat, &keys[1], &p[1]);
	n = lock_buckets(p, 2, locked);
	found[0] = probe_find(nat, &p[0], &keys[0], c);
	found[1] = probe_find(nat, &p[1], &keys[1], c);
	if (found[0] != NAT_NONE || found[1] != NAT_NONE)
		goto out;
	ret = -ENOSPC;
	slot[0] = free_entry(nat, &p[0], NULL);
	slot[1] = slot[0] ? free_entry(nat, &p[1], slot[0]) : NULL;
	if (!slot[1])
		goto out;
	/* A session becomes live here, under the locks: a racing creator
	 * of the same flow sees it as soon as it can see the entries, and
	 * the expiry walk never sees a session that did not get linked. */
	if (kind_is_session(keys[0].kind))
		atomic_store_explicit(&nat_session_at(nat, idx)->last_seen,
				      c->secs, memory_order_release);
	/* keys[1] first: a reader on another lcore that finds the object by
	 * keys[0] (the key of the packet that created it, which it may be
	 * translating) then also finds it by keys[1] (the reply's key).  The
	 * other order lets a reply miss a session whose creator was
	 * preempted between the two stores. */
	atomic_store_explicit(slot[1], entry_make(p[1].sig, keys[1].kind, idx),
			      memory_order_release);
	atomic_store_explicit(slot[0], entry_make(p[0].sig, keys[0].kind, idx),
			      memory_order_release);
	ret = 0;
out:
	unlock_buckets(locked, n);
	return ret;
}

void nat_index_unlink(struct nat *nat, const struct nat_key *k, uint32_t idx)
{
	struct nat_bucket *locked[4];
	struct probe p;
	uint64_t want;
	unsigned n;

	probe_init(nat, k, &p);
	want = entry_make(p.sig, k->kind, idx);
	n = lock_buckets(&p, 1, locked);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < BUCKET_ENTRIES; j++)
			if (atomic_load_explicit(&locked[i]->entry[j],
						 memory_order_relaxed) == want)
				atomic_store_explicit(&locked[i]->entry[j], 0,
						      memory_order_relaxed);
	unlock_buckets(locked, n);
}

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

	spin_lock(&p->lock);
	while (*n < NAT_LCORE_CACHE / 2 && p->free_head != NAT_NONE) {
		cache[(*n)++] = p->free_head;
		p->free_head = *pool_link(p, p->free_head);
	}
	bump = atomic_load_explicit(&p->bump, memory_order_relaxed);
	while (*n < NAT_LCORE_CACHE / 2 && bump < p->capacity)
		cache[(*n)++] = bump++;
	atomic_store_explicit(&p->bump, bump, memory_order_release);
	spin_unlock(&p->lock);
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
		spin_lock(&p->lock);
		while (*n > NAT_LCORE_CACHE / 2)
			pool_push_locked(p, cache[--*n]);
		spin_unlock(&p->lock);
	}
	cache[(*n)++] = idx;
}

void nat_pool_flush(struct nat_pool *p, uint32_t *cache, unsigned *n)
{
	spin_lock(&p->lock);
	while (*n > 0)
		pool_push_locked(p, cache[--*n]);
	spin_unlock(&p->lock);
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
	spin_lock(&p->lock);
	*pool_link(p, p->limbo_tail) = p->free_head;
	p->free_head = p->limbo_head;
	spin_unlock(&p->lock);
	p->limbo_head = p->limbo_tail = NAT_NONE;
}

/* --- Sizing and memory ---------------------------------------------------- */

/* Slots beyond max_sessions: the live count is what is limited (an atomic
 * counter), but slots also sit in per-thread caches and in the limbo. */
static uint32_t slots_for(uint32_t max_sessions)
{
	return max_sessions + max_sessions / 16 + 4 * NAT_LCORE_CACHE;
}

static uint32_t buckets_for(uint32_t max_sessions)
{
	uint64_t n = BUCKETS_FOR((uint64_t)KEYS_PER_SESSION * max_sessions);

	return n < 2 ? 2 : (uint32_t)n;
}

static size_t table_bytes(uint32_t max_sessions)
{
	const size_t per_slot = sizeof(struct nat_session) +
				sizeof(struct nat_mapping);

	return (size_t)buckets_for(max_sessions) * sizeof(struct nat_bucket) +
	       (size_t)slots_for(max_sessions) * per_slot;
}

/* Anonymous pages: zeroed, page-aligned, and backed by memory only once
 * written, so a table sized for a million sessions costs what it holds. */
static void *pages_alloc(size_t bytes)
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
	void *b, *s, *m;

	nat->n_buckets = buckets_for(max_sessions);
	nat->bytes_buckets = (size_t)nat->n_buckets * sizeof(struct nat_bucket);
	nat->bytes_sessions = (size_t)slots * sizeof(struct nat_session);
	nat->bytes_mappings = (size_t)slots * sizeof(struct nat_mapping);
	b = pages_alloc(nat->bytes_buckets);
	if (!b)
		goto err;
	s = pages_alloc(nat->bytes_sessions);
	if (!s)
		goto err_buckets;
	m = pages_alloc(nat->bytes_mappings);
	if (!m)
		goto err_sessions;
	nat->buckets = b;
	pool_init(&nat->sessions, s, sizeof(struct nat_session),
		  offsetof(struct nat_session, mapping), slots);
	pool_init(&nat->mappings, m, sizeof(struct nat_mapping),
		  offsetof(struct nat_mapping, next), slots);
	random_bytes(nat->hash_key, sizeof(nat->hash_key));
	return 0;

err_sessions:
	munmap(s, nat->bytes_sessions);
err_buckets:
	munmap(b, nat->bytes_buckets);
err:
	return -ENOMEM;
}

static void table_fini(struct nat *nat)
{
	munmap(nat->buckets, nat->bytes_buckets);
	munmap(nat->sessions.base, nat->bytes_sessions);
	munmap(nat->mappings.base, nat->bytes_mappings);
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

static unsigned session_expire(struct nat *nat, struct nat_lcore *lc,
			       const struct nat_clock *c, uint32_t idx)
{
	struct nat_session *s = nat_session_at(nat, idx);
	uint32_t seen = atomic_load_explicit(&s->last_seen,
					     memory_order_acquire);
	struct nat_key keys[2];
	uint32_t mapping;

	if (seen == NAT_DEAD || !nat_session_timed_out(s, seen, c))
		return 0;
	/* Fails if a worker refreshed it since we read the timer. */
	if (!atomic_compare_exchange_strong_explicit(
		    &s->last_seen, &seen, NAT_DEAD, memory_order_acq_rel,
		    memory_order_relaxed))
		return 0;
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
	return 1;
}

unsigned nat_expire(struct nat *nat, struct nat_lcore *lc,
		    const struct nat_config *conf, uint64_t now,
		    unsigned budget)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	uint32_t hi_s = atomic_load_explicit(&nat->sessions.bump,
					     memory_order_acquire);
	uint32_t hi_m = atomic_load_explicit(&nat->mappings.bump,
					     memory_order_acquire);
	uint32_t hi = hi_s > hi_m ? hi_s : hi_m;
	unsigned expired = 0;

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
	}
	return expired;
}

void nat_reclaim(struct nat *nat)
{
	nat_pool_reclaim(&nat->sessions);
	nat_pool_reclaim(&nat->mappings);
}
