/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT's index: one hash shared by every lcore that finds sessions,
 * mappings and tracked sessions in their pools (nat_table.c) by key.
 *
 * It holds five kinds of key (nat_table.h) in buckets of one cache
 * line: seven 64-bit entries (signature << 33 | kind << 30 | slot) and a
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
#include <string.h>
#include <sys/mman.h>

#include "random.h"

enum {
	BUCKET_ENTRIES = 7,
	/* Keys per session at worst: its two, plus the two of a mapping of
	 * its own (the common case: one TCP connection per source port).  A
	 * tracked session has one. */
	KEYS_PER_SESSION = 4,
	IDX_BITS = 30,
	KIND_BITS = 3,
	SIG_SHIFT = IDX_BITS + KIND_BITS,       /* a 31-bit signature */
	TRACK_KEY_WORDS = 5,                    /* 38 bytes, as 64-bit words */
};
_Static_assert(KEY_KIND_COUNT <= 1 << KIND_BITS, "kind fits an entry");

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

/* A key of either shape, as the index's internals take it. */
struct any_key {
	unsigned kind;                  /* enum nat_key_kind */
	union {
		const struct nat_key *nat;          /* the four NAT kinds */
		const struct nat_track_key *track;  /* KEY_TRACK */
	};
};

static struct any_key of_nat(const struct nat_key *k)
{
	return (struct any_key){ .kind = k->kind, .nat = k };
}

static struct any_key of_track(const struct nat_track_key *k)
{
	return (struct any_key){ .kind = KEY_TRACK, .track = k };
}

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

/* SipHash-1-3 of n 64-bit words (for n = 2, Linux's hsiphash on 64-bit
 * hosts): n + 4 rounds, cheap enough for every packet. */
static uint64_t siphash13(const uint64_t *w, unsigned n, const uint64_t key[2])
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	const uint64_t last = (uint64_t)(8 * n) << 56;

	for (unsigned i = 0; i < n; i++) {
		v3 ^= w[i]; SIPROUND; v0 ^= w[i];
	}
	v3 ^= last; SIPROUND; v0 ^= last;
	v2 ^= 0xff;
	SIPROUND; SIPROUND; SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Every byte of the key goes in: the kind, and for a tracked flow both
 * whole addresses (a hash of part of them would let an attacker who
 * varies the rest aim at chosen buckets).  The 24 bytes an IPv4 tracked
 * flow leaves zero are left out, so IPv4 costs two words either way. */
static uint64_t key_hash(const struct nat *nat, const struct any_key *k)
{
	const struct nat_track_key *t;
	uint64_t w[TRACK_KEY_WORDS];
	uint32_t a[2];
	unsigned n;

	if (k->kind != KEY_TRACK) {
		w[0] = (uint64_t)k->nat->addr | (uint64_t)k->nat->rem_addr << 32;
		w[1] = (uint64_t)k->nat->port | (uint64_t)k->nat->rem_port << 16 |
		       (uint64_t)k->nat->proto << 32 |
		       (uint64_t)k->nat->kind << 40;
		return siphash13(w, 2, nat->hash_key);
	}
	t = k->track;
	if (t->family == IP_V4) {
		memcpy(&a[0], t->addr[NAT_TRACK_OPENER], 4);
		memcpy(&a[1], t->addr[NAT_TRACK_RESPONDER], 4);
		w[0] = (uint64_t)a[0] | (uint64_t)a[1] << 32;
		n = 1;
	} else {
		memcpy(w, t->addr, sizeof(t->addr));
		n = TRACK_KEY_WORDS - 1;
	}
	w[n] = (uint64_t)t->port[0] | (uint64_t)t->port[1] << 16 |
	       (uint64_t)t->proto << 32 | (uint64_t)t->family << 40 |
	       (uint64_t)KEY_TRACK << 48;
	return siphash13(w, n + 1, nat->hash_key);
}

/* x * n / 2^32: a bucket number without a modulo or a power-of-two size. */
static uint32_t reduce(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static void probe_init(const struct nat *nat, const struct any_key *k,
		       struct probe *p)
{
	uint64_t h = key_hash(nat, k);
	uint32_t sig = (uint32_t)((h * 0x9e3779b97f4a7c15ULL) >> SIG_SHIFT);

	p->b[0] = &nat->buckets[reduce((uint32_t)h, nat->n_buckets)];
	p->b[1] = &nat->buckets[reduce((uint32_t)(h >> 32), nat->n_buckets)];
	p->sig = sig ? sig : 1;
}

static uint64_t entry_make(uint32_t sig, unsigned kind, uint32_t idx)
{
	return (uint64_t)sig << SIG_SHIFT | (uint64_t)kind << IDX_BITS | idx;
}

static uint32_t entry_idx(uint64_t e)
{
	return (uint32_t)e & ((1u << IDX_BITS) - 1);
}

static unsigned entry_kind(uint64_t e)
{
	return (unsigned)(e >> IDX_BITS) & ((1u << KIND_BITS) - 1);
}

static uint32_t entry_sig(uint64_t e)
{
	return (uint32_t)(e >> SIG_SHIFT);
}

/* --- Objects as the index sees them --------------------------------------- */

static bool object_has_key(const struct nat *nat, const struct any_key *a,
			   uint32_t idx)
{
	const struct nat_session *s = nat_session_at(nat, idx);
	const struct nat_mapping *m = nat_mapping_at(nat, idx);
	const struct nat_key *k = a->nat;

	switch (a->kind) {
	case KEY_TRACK:
		return memcmp(&nat_track_at(nat, idx)->key, a->track,
			      sizeof(*a->track)) == 0;
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
	if (kind == KEY_TRACK) {
		const struct nat_track *t = nat_track_at(nat, idx);

		return !nat_track_timed_out(t, atomic_load_explicit(
			&t->last_seen, memory_order_acquire), c);
	}
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
	if (kind == KEY_TRACK)
		return atomic_load_explicit(&nat_track_at(nat, idx)->last_seen,
					    memory_order_relaxed) == NAT_DEAD;
	if (kind_is_session(kind))
		return atomic_load_explicit(
			       &nat_session_at(nat, idx)->last_seen,
			       memory_order_relaxed) == NAT_DEAD;
	return atomic_load_explicit(&nat_mapping_at(nat, idx)->refs,
				    memory_order_relaxed) == 0;
}

/* A session (NAT or tracked) becomes live: the expiry walk and readers
 * judge it by last_seen from now on. */
static void object_set_live(struct nat *nat, unsigned kind, uint32_t idx,
			    uint32_t secs)
{
	if (kind == KEY_TRACK)
		atomic_store_explicit(&nat_track_at(nat, idx)->last_seen, secs,
				      memory_order_release);
	else if (kind_is_session(kind))
		atomic_store_explicit(&nat_session_at(nat, idx)->last_seen,
				      secs, memory_order_release);
}

/* --- Lookups -------------------------------------------------------------- */

static uint32_t bucket_find(const struct nat *nat, struct nat_bucket *b,
			    uint32_t sig, const struct any_key *k,
			    const struct nat_clock *c)
{
	for (unsigned i = 0; i < BUCKET_ENTRIES; i++) {
		uint64_t e = atomic_load_explicit(&b->entry[i],
						  memory_order_acquire);

		if (entry_sig(e) != sig || entry_kind(e) != k->kind)
			continue;
		if (object_has_key(nat, k, entry_idx(e)) &&
		    object_usable(nat, k->kind, entry_idx(e), c))
			return entry_idx(e);
	}
	return NAT_NONE;
}

static uint32_t probe_find(const struct nat *nat, const struct probe *p,
			   const struct any_key *k, const struct nat_clock *c)
{
	uint32_t idx = bucket_find(nat, p->b[0], p->sig, k, c);

	if (idx == NAT_NONE && p->b[1] != p->b[0])
		idx = bucket_find(nat, p->b[1], p->sig, k, c);
	return idx;
}

static uint32_t index_find(const struct nat *nat, const struct any_key *k,
			   const struct nat_clock *c)
{
	struct probe p;

	probe_init(nat, k, &p);
	return probe_find(nat, &p, k, c);
}

uint32_t nat_index_find(const struct nat *nat, const struct nat_key *k,
			const struct nat_clock *c)
{
	const struct any_key a = of_nat(k);

	return index_find(nat, &a, c);
}

uint32_t nat_index_find_track(const struct nat *nat,
			      const struct nat_track_key *k,
			      const struct nat_clock *c)
{
	const struct any_key a = of_track(k);

	return index_find(nat, &a, c);
}

/* --- Writers -------------------------------------------------------------- */

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
		nat_spin_lock(&out[i]->lock);
	return count;
}

static void unlock_buckets(struct nat_bucket *const b[4], unsigned n)
{
	while (n-- > 0)
		nat_spin_unlock(&b[n]->lock);
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

/* nat_index_link for n (1 or 2) keys of one object. */
static int index_link(struct nat *nat, const struct any_key *keys, unsigned n,
		      uint32_t idx, const struct nat_clock *c, uint32_t *found)
{
	_Atomic uint64_t *slot[2] = { NULL, NULL };
	struct nat_bucket *locked[4];
	struct probe p[2];
	unsigned nb, i;
	int ret = -EEXIST;

	/* The buckets are rarely in cache for a new flow, and the locking
	 * instructions would take their misses one after another: start
	 * all of them first. */
	for (i = 0; i < n; i++) {
		probe_init(nat, &keys[i], &p[i]);
		__builtin_prefetch(p[i].b[0], 1);
		__builtin_prefetch(p[i].b[1], 1);
	}
	nb = lock_buckets(p, n, locked);
	for (i = 0; i < n; i++)
		found[i] = probe_find(nat, &p[i], &keys[i], c);
	for (i = 0; i < n; i++)
		if (found[i] != NAT_NONE)
			goto out;
	ret = -ENOSPC;
	for (i = 0; i < n; i++) {
		slot[i] = free_entry(nat, &p[i], slot[0]);
		if (!slot[i])
			goto out;
	}
	/* A session becomes live here, under the locks: a racing creator
	 * of the same flow sees it as soon as it can see the entries, and
	 * the expiry walk never sees a session that did not get linked. */
	object_set_live(nat, keys[0].kind, idx, c->secs);
	/* keys[1] first: a reader on another lcore that finds the object by
	 * keys[0] (the key of the packet that created it, which it may be
	 * translating) then also finds it by keys[1] (the reply's key).  The
	 * other order lets a reply miss a session whose creator was
	 * preempted between the two stores. */
	for (i = n; i-- > 0;)
		atomic_store_explicit(slot[i], entry_make(p[i].sig, keys[i].kind,
							  idx),
				      memory_order_release);
	ret = 0;
out:
	unlock_buckets(locked, nb);
	return ret;
}

int nat_index_link(struct nat *nat, const struct nat_key keys[2],
		   uint32_t idx, const struct nat_clock *c, uint32_t found[2])
{
	const struct any_key a[2] = { of_nat(&keys[0]), of_nat(&keys[1]) };

	return index_link(nat, a, 2, idx, c, found);
}

int nat_index_link_track(struct nat *nat, const struct nat_track_key *k,
			 uint32_t idx, const struct nat_clock *c,
			 uint32_t *found)
{
	const struct any_key a = of_track(k);

	return index_link(nat, &a, 1, idx, c, found);
}

static void index_unlink(struct nat *nat, const struct any_key *k,
			 uint32_t idx)
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

void nat_index_unlink(struct nat *nat, const struct nat_key *k, uint32_t idx)
{
	const struct any_key a = of_nat(k);

	index_unlink(nat, &a, idx);
}

void nat_index_unlink_track(struct nat *nat, const struct nat_track_key *k,
			    uint32_t idx)
{
	const struct any_key a = of_track(k);

	index_unlink(nat, &a, idx);
}

/* --- Memory --------------------------------------------------------------- */

static uint32_t buckets_for(uint32_t max_sessions)
{
	uint64_t n = BUCKETS_FOR((uint64_t)KEYS_PER_SESSION * max_sessions);

	return n < 2 ? 2 : (uint32_t)n;
}

size_t nat_index_bytes(uint32_t max_sessions)
{
	return (size_t)buckets_for(max_sessions) * sizeof(struct nat_bucket);
}

int nat_index_init(struct nat *nat, uint32_t max_sessions)
{
	nat->n_buckets = buckets_for(max_sessions);
	nat->bytes_buckets = nat_index_bytes(max_sessions);
	nat->buckets = nat_pages_alloc(nat->bytes_buckets);
	/* Keys hash all over the index, so its pages are all backed soon
	 * after traffic starts anyway; transparent huge pages save the TLB
	 * misses of a random bucket (+10-15% on new flows in bench_nat).
	 * Only a hint: without THP it changes nothing. */
	if (nat->buckets)
		(void)madvise(nat->buckets, nat->bytes_buckets, MADV_HUGEPAGE);
	if (!nat->buckets)
		return -ENOMEM;
	random_bytes(nat->hash_key, sizeof(nat->hash_key));
	return 0;
}

void nat_index_fini(struct nat *nat)
{
	munmap(nat->buckets, nat->bytes_buckets);
}
