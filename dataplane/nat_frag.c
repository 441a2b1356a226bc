/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fragment tracking for the NAT (see nat_frag.h): a set-associative table
 * of translated datagrams and a small arrival-ordered list of fragments
 * waiting for their first.
 *
 * The table is NAT_FRAG_WAYS entries per bucket, with no chains: a lookup
 * compares at most four entries whatever the traffic, and a full bucket
 * gives up its oldest entry (as DPDK's rte_ip_frag table does).  Expiry is
 * lazy: an entry past its timeout is free, so there is no sweep.  The hash
 * is keyed at random so a remote sender cannot aim its datagrams at one
 * bucket to push others' entries out; it need not be a strong PRF, as the
 * bound above holds even for a known key.
 */
#include "nat_frag.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "random.h"

enum {
	IP_ID = offsetof(struct ipv4_hdr, id),
	IP_PROTO = offsetof(struct ipv4_hdr, protocol),
	IP_CSUM = offsetof(struct ipv4_hdr, checksum),
	IP_SRC = offsetof(struct ipv4_hdr, src),
	IP_DST = offsetof(struct ipv4_hdr, dst),
};

struct entry {
	struct nat_frag_key key;        /* key.path 0: free */
	struct nat_frag_addrs to;
	uint64_t born;                  /* first fragment translated */
};

struct held {
	struct nat_frag_key key;
	void *pkt;
	uint64_t arrived;
};

struct nat_frag {
	uint64_t seed[2];
	uint32_t bucket_mask;           /* buckets - 1 */
	unsigned n_held;
	struct held held[NAT_FRAG_HOLD_MAX];  /* oldest first */
	struct entry entries[];         /* buckets * NAT_FRAG_WAYS */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* --- Packet helpers ------------------------------------------------------- */

void nat_frag_key_get(const uint8_t *ip, enum nat_frag_path path,
		      struct nat_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(&k->src, ip + IP_SRC, 4);
	memcpy(&k->dst, ip + IP_DST, 4);
	memcpy(&k->id, ip + IP_ID, 2);
	k->proto = ip[IP_PROTO];
	k->path = (uint8_t)path;
}

void nat_frag_addrs_get(const uint8_t *ip, struct nat_frag_addrs *a)
{
	memcpy(&a->src, ip + IP_SRC, 4);
	memcpy(&a->dst, ip + IP_DST, 4);
}

/* Write the 4 bytes at val over p, folding each 16-bit word's change into
 * the header checksum at csum (RFC 1624 eqn 3, via csum_update16).  Both
 * address words are even-aligned in the header, so no byte swap. */
static void addr_set(uint8_t *ip, unsigned at, const uint32_t *val)
{
	const uint8_t *v = (const uint8_t *)val;
	uint16_t csum = get16(ip + IP_CSUM);

	for (unsigned i = 0; i < 4; i += 2)
		csum = csum_update16(csum, get16(ip + at + i), get16(v + i));
	put16(ip + IP_CSUM, csum);
	memcpy(ip + at, val, 4);
}

void nat_frag_rewrite(uint8_t *ip, const struct nat_frag_addrs *to)
{
	if (memcmp(ip + IP_SRC, &to->src, 4) != 0)
		addr_set(ip, IP_SRC, &to->src);
	if (memcmp(ip + IP_DST, &to->dst, 4) != 0)
		addr_set(ip, IP_DST, &to->dst);
}

/* --- The table ------------------------------------------------------------ */

static bool key_equal(const struct nat_frag_key *a, const struct nat_frag_key *b)
{
	return a->src == b->src && a->dst == b->dst && a->id == b->id &&
	       a->proto == b->proto && a->path == b->path;
}

/* murmur3's 64-bit finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static struct entry *bucket_of(const struct nat_frag *f,
			       const struct nat_frag_key *k)
{
	uint64_t a = ((uint64_t)k->src << 32 | k->dst) ^ f->seed[0];
	uint64_t b = ((uint64_t)k->id << 16 | (uint64_t)k->proto << 8 | k->path) ^
		     f->seed[1];
	uint64_t h = mix64(a ^ mix64(b));

	return (struct entry *)&f->entries[(h & f->bucket_mask) * NAT_FRAG_WAYS];
}

static bool live(const struct entry *e, uint64_t now)
{
	return e->key.path != 0 && now - e->born < NAT_FRAG_TIMEOUT_NS;
}

struct nat_frag *nat_frag_create(unsigned entries)
{
	unsigned buckets = 1;
	struct nat_frag *f;

	while (buckets * NAT_FRAG_WAYS < entries)
		buckets *= 2;
	f = calloc(1, sizeof(*f) + (size_t)buckets * NAT_FRAG_WAYS *
				   sizeof(struct entry));
	if (f == NULL)
		return NULL;
	f->bucket_mask = buckets - 1;
	random_bytes(f->seed, sizeof(f->seed));
	return f;
}

void nat_frag_destroy(struct nat_frag *f)
{
	free(f);
}

void nat_frag_record(struct nat_frag *f, const struct nat_frag_key *k,
		     const struct nat_frag_addrs *to, uint64_t now)
{
	struct entry *b = bucket_of(f, k), *victim = NULL;
	unsigned w;

	for (w = 0; w < NAT_FRAG_WAYS; w++) {
		if (live(&b[w], now) && key_equal(&b[w].key, k)) {
			b[w].to = *to;          /* duplicate: the timer runs on */
			return;
		}
	}
	/* A free or expired way, else the oldest. */
	for (w = 0; w < NAT_FRAG_WAYS; w++) {
		if (!live(&b[w], now)) {
			victim = &b[w];
			break;
		}
		if (victim == NULL || b[w].born < victim->born)
			victim = &b[w];
	}
	victim->key = *k;
	victim->to = *to;
	victim->born = now;
}

bool nat_frag_lookup(const struct nat_frag *f, const struct nat_frag_key *k,
		     uint64_t now, struct nat_frag_addrs *to)
{
	const struct entry *b = bucket_of(f, k);

	for (unsigned w = 0; w < NAT_FRAG_WAYS; w++) {
		if (live(&b[w], now) && key_equal(&b[w].key, k)) {
			*to = b[w].to;
			return true;
		}
	}
	return false;
}

/* --- Held fragments --------------------------------------------------------- */

/* Remove held[i], keeping the rest in arrival order (64 entries at most:
 * a memmove is cheaper than any list). */
static void *held_remove(struct nat_frag *f, unsigned i)
{
	void *pkt = f->held[i].pkt;

	f->n_held--;
	memmove(&f->held[i], &f->held[i + 1], (f->n_held - i) * sizeof(f->held[0]));
	return pkt;
}

int nat_frag_hold(struct nat_frag *f, const struct nat_frag_key *k, void *pkt,
		  uint64_t now, void **evicted)
{
	unsigned same = 0;

	*evicted = NULL;
	for (unsigned i = 0; i < f->n_held; i++)
		same += key_equal(&f->held[i].key, k);
	if (same >= NAT_FRAG_HOLD_PER_DATAGRAM)
		return -ENOSPC;
	/* Full: the oldest is the likeliest to belong to a datagram whose
	 * first fragment was lost, so it makes room for the newest. */
	if (f->n_held == NAT_FRAG_HOLD_MAX)
		*evicted = held_remove(f, 0);
	f->held[f->n_held++] = (struct held){ .key = *k, .pkt = pkt, .arrived = now };
	return 0;
}

unsigned nat_frag_take(struct nat_frag *f, const struct nat_frag_key *k,
		       void **out)
{
	unsigned n = 0, kept = 0;

	for (unsigned i = 0; i < f->n_held; i++) {
		if (key_equal(&f->held[i].key, k))
			out[n++] = f->held[i].pkt;
		else
			f->held[kept++] = f->held[i];
	}
	f->n_held = kept;
	return n;
}

unsigned nat_frag_expire(struct nat_frag *f, uint64_t now, void **out)
{
	unsigned n = 0;

	/* Arrival order is expiry order: the hold time is the same for all. */
	while (n < f->n_held && now - f->held[n].arrived >= NAT_FRAG_HOLD_NS) {
		out[n] = f->held[n].pkt;
		n++;
	}
	if (n) {
		f->n_held -= n;
		memmove(&f->held[0], &f->held[n], f->n_held * sizeof(f->held[0]));
	}
	return n;
}

unsigned nat_frag_drain(struct nat_frag *f, void **out)
{
	unsigned n = f->n_held;

	for (unsigned i = 0; i < n; i++)
		out[i] = f->held[i].pkt;
	f->n_held = 0;
	return n;
}

unsigned nat_frag_held(const struct nat_frag *f)
{
	return f->n_held;
}

/* --- What a NAT stage calls ------------------------------------------------------ */

unsigned nat_frag_first(struct nat_frag *f, const struct nat_frag_key *k,
			const uint8_t *ip, bool translated, uint64_t now,
			struct nat_frag_addrs *to, void **out)
{
	nat_frag_addrs_get(ip, to);
	if (translated)
		nat_frag_record(f, k, to, now);
	return f->n_held ? nat_frag_take(f, k, out) : 0;
}

enum nat_frag_verdict nat_frag_later(struct nat_frag *f, uint8_t *ip,
				     enum nat_frag_kind kind,
				     enum nat_frag_path path, void *pkt,
				     uint64_t now, void **evicted)
{
	struct nat_frag_addrs to;
	struct nat_frag_key k;

	*evicted = NULL;
	if (kind == NAT_FRAG_UNSAFE)
		return NAT_FRAG_REFUSED;
	nat_frag_key_get(ip, path, &k);
	if (nat_frag_lookup(f, &k, now, &to)) {
		nat_frag_rewrite(ip, &to);
		return NAT_FRAG_TRANSLATED;
	}
	if (nat_frag_hold(f, &k, pkt, now, evicted) != 0)
		return NAT_FRAG_NO_ROOM;
	return NAT_FRAG_HELD;
}
