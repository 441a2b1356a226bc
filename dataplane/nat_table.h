/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT's shared state: session, mapping and tracked-session slots,
 * their pools, and the one hash index that finds them.  Private to
 * dataplane/nat.c, nat_index.c, nat_table.c, nat_track.c, nat_walk.c and
 * their tests, which inspect it.
 *
 * Liveness is encoded in the objects themselves so that a lock-free
 * reader can judge an index entry with one load:
 *  - a session is linked while last_seen != 0 (0 is what the zeroed
 *    memory holds, and what expiry stores); it is *usable* while its
 *    timer has not run out (nat_session_timed_out);
 *  - a mapping is linked while refs != 0; refs counts one for the index
 *    plus one per session on it, so refs == 1 is a mapping with no
 *    session left, which the control thread reaps;
 *  - a tracked session (nat_track.c) follows the rules of a session.
 */
#ifndef PORTCULLIS_NAT_TABLE_H
#define PORTCULLIS_NAT_TABLE_H

#include <stdatomic.h>

#include "nat_internal.h"
#include "portcullis/wire.h"

enum {
	NAT_NONE = UINT32_MAX,          /* "no object" as a slot index */
	NAT_DEAD = 0,                   /* last_seen of a session not linked */
};

/* TCP tracking bits (RFC 5382 section 5).  Updated with a CAS loop, not
 * a plain fetch_or, because a new SYN on a closed connection resets
 * them; the two directions of one connection may be on two lcores. */
enum nat_tcp_bits {
	NAT_TCP_SYN_OUT = 1 << 0,       /* SYN or SYN+ACK from inside */
	NAT_TCP_SYN_IN = 1 << 1,
	NAT_TCP_SYNACK_OUT = 1 << 2,
	NAT_TCP_SYNACK_IN = 1 << 3,
	NAT_TCP_ACKED = 1 << 4,         /* ACK without SYN after both SYNs */
	NAT_TCP_FIN_OUT = 1 << 5,
	NAT_TCP_FIN_IN = 1 << 6,
	NAT_TCP_RST_SEEN = 1 << 7,
	NAT_TCP_SEEN_OUT = 1 << 8,      /* any segment, for pickups */
	NAT_TCP_SEEN_IN = 1 << 9,
	NAT_TCP_PICKUP = 1 << 10,       /* created by a segment not a SYN */
};

/*
 * One (internal endpoint, remote endpoint) pair.  The key fields never
 * change while the session is linked, and a slot is reused only after an
 * RCU grace period, so a reader that found it through the index may read
 * them without a lock.  32 bytes: two per cache line.
 */
struct nat_session {
	uint32_t int_addr, ext_addr, rem_addr;      /* network order */
	uint16_t int_port, ext_port, rem_port;      /* network order */
	_Atomic uint16_t tcp;                       /* enum nat_tcp_bits */
	_Atomic uint32_t last_seen;                 /* nat_clock; NAT_DEAD */
	/* While linked: its mapping, or NAT_NONE for a port-forward
	 * session.  Once unlinked: the next slot of the limbo or free list
	 * (readers never look at this field, so reusing it is safe). */
	uint32_t mapping;
	uint8_t proto;
	uint8_t unused[3];
};
_Static_assert(sizeof(struct nat_session) == 32, "two sessions a line");

/* One internal endpoint bound to one external endpoint (RFC 4787 REQ-1). */
struct nat_mapping {
	uint32_t int_addr, ext_addr;
	uint16_t int_port, ext_port;
	_Atomic uint32_t refs;          /* 0: unlinked; 1 + sessions */
	uint32_t next;                  /* limbo / free list link */
	uint8_t proto;
	uint8_t unused[3];
};
_Static_assert(sizeof(struct nat_mapping) == 24, "mapping size");

/* The kinds of key in the index (nat.h "Model").  A kind is part of
 * every entry and every comparison, so keys of two kinds never match. */
enum nat_key_kind {
	KEY_SESSION_OUT,                /* proto, internal ep, remote ep */
	KEY_SESSION_IN,                 /* proto, external ep, remote ep */
	KEY_MAPPING_INT,                /* proto, internal ep */
	KEY_MAPPING_EXT,                /* proto, external ep */
	KEY_TRACK,                      /* struct nat_track_key */
	KEY_KIND_COUNT
};

/* The key of the four NAT kinds. */
struct nat_key {
	uint32_t addr, rem_addr;        /* rem_*: 0 for mapping keys */
	uint16_t port, rem_port;
	uint8_t proto, kind;
};

/*
 * A flow followed without translation (nat_track.c), IPv4 or IPv6, by
 * the endpoint that opened it and the one it was opened to.  Whole
 * addresses, never a hash of them: a key that two flows shared would
 * admit the other flow's traffic.  An IPv4 address fills the first four
 * bytes, the rest are zero; family keeps it apart from an IPv6 address
 * with those bytes.  No padding, so keys compare with memcmp.
 */
enum { NAT_TRACK_OPENER, NAT_TRACK_RESPONDER };

struct nat_track_key {
	uint8_t addr[2][16];            /* [NAT_TRACK_OPENER], [_RESPONDER] */
	uint16_t port[2];               /* network order; ICMP echo: the
					 * identifier is the opener's port,
					 * the responder's is 0 */
	uint8_t proto;                  /* IPPROTO_TCP_, _UDP_, _ICMP_,
					 * _ICMPV6_ */
	uint8_t family;                 /* IP_V4 / IP_V6 */
};
_Static_assert(sizeof(struct nat_track_key) == 38, "no padding");

/* A tracked session: a key, and a timer and TCP state kept as a NAT
 * session keeps them (NAT_DIR_OUT is the opener's direction).  Indexed
 * under its one key; one cache line. */
struct nat_track {
	struct nat_track_key key;
	_Atomic uint16_t tcp;           /* enum nat_tcp_bits */
	_Atomic uint32_t last_seen;     /* nat_clock; NAT_DEAD */
	uint32_t next;                  /* limbo / free list link */
	uint8_t unused[16];
};
_Static_assert(sizeof(struct nat_track) == 64, "one cache line");

/* The coarse clock objects store: whole seconds plus one, so that a
 * session touched in the first second is not mistaken for NAT_DEAD. */
struct nat_clock {
	uint32_t secs;
	const uint32_t *timeout;        /* conf->timeout[], seconds */
};

/* Slots are handed out from a free list, then fresh from a bump index. */
struct nat_pool {
	uint8_t *base;                  /* slot array */
	size_t stride;                  /* bytes per slot */
	size_t link_off;                /* offset of the uint32_t list link */
	uint32_t capacity;
	_Atomic uint32_t lock;
	_Atomic uint32_t bump;          /* slots [0, bump) were handed out */
	uint32_t free_head;             /* under lock */
	uint32_t limbo_head, limbo_tail; /* control thread only */
};

struct nat_bucket;

struct nat {
	struct nat_bucket *buckets;
	uint32_t n_buckets;
	uint64_t hash_key[2];           /* SipHash key: random per table */
	struct nat_pool sessions, mappings, tracks;
	uint32_t max_sessions;
	_Atomic uint32_t active;        /* linked sessions, tracked ones too */
	uint32_t cursor;                /* expiry walk, control thread only */
	size_t bytes_buckets, bytes_sessions, bytes_mappings, bytes_tracks;
};

static inline struct nat_session *nat_session_at(const struct nat *nat,
						 uint32_t idx)
{
	return (struct nat_session *)(nat->sessions.base +
				      (size_t)idx * sizeof(struct nat_session));
}

static inline struct nat_mapping *nat_mapping_at(const struct nat *nat,
						 uint32_t idx)
{
	return (struct nat_mapping *)(nat->mappings.base +
				      (size_t)idx * sizeof(struct nat_mapping));
}

static inline struct nat_track *nat_track_at(const struct nat *nat,
					     uint32_t idx)
{
	return (struct nat_track *)(nat->tracks.base +
				    (size_t)idx * sizeof(struct nat_track));
}

static inline struct nat_clock nat_clock_at(const struct nat_config *conf,
					    uint64_t now)
{
	return (struct nat_clock){
		.secs = (uint32_t)(now / NSEC_PER_SEC) + 1,
		.timeout = conf->timeout,
	};
}

static inline void nat_session_keys(const struct nat_session *s,
				    struct nat_key k[2])
{
	k[0] = (struct nat_key){
		.addr = s->int_addr, .port = s->int_port,
		.rem_addr = s->rem_addr, .rem_port = s->rem_port,
		.proto = s->proto, .kind = KEY_SESSION_OUT };
	k[1] = k[0];
	k[1].addr = s->ext_addr;
	k[1].port = s->ext_port;
	k[1].kind = KEY_SESSION_IN;
}

static inline void nat_mapping_keys(const struct nat_mapping *m,
				    struct nat_key k[2])
{
	k[0] = (struct nat_key){ .addr = m->int_addr, .port = m->int_port,
				 .proto = m->proto, .kind = KEY_MAPPING_INT };
	k[1] = (struct nat_key){ .addr = m->ext_addr, .port = m->ext_port,
				 .proto = m->proto, .kind = KEY_MAPPING_EXT };
}

/* Drop a session's reference.  A worker may leave the mapping at 1 (no
 * session): the control thread's expiry walk reaps such orphans. */
static inline void nat_mapping_unref(struct nat *nat, uint32_t idx)
{
	atomic_fetch_sub_explicit(&nat_mapping_at(nat, idx)->refs, 1,
				  memory_order_release);
}

/* RFC 5382 REQ-5: the established timeout only while the connection is
 * up with no FIN or RST seen; every other state is transitory. */
static inline bool nat_tcp_established(unsigned bits)
{
	const unsigned both_syn = NAT_TCP_SYN_OUT | NAT_TCP_SYN_IN;
	const unsigned both_synack = NAT_TCP_SYNACK_OUT | NAT_TCP_SYNACK_IN;
	const unsigned both_seen = NAT_TCP_SEEN_OUT | NAT_TCP_SEEN_IN;

	if (bits & (NAT_TCP_FIN_OUT | NAT_TCP_FIN_IN | NAT_TCP_RST_SEEN))
		return false;
	if ((bits & both_syn) == both_syn &&
	    ((bits & NAT_TCP_ACKED) || (bits & both_synack) == both_synack))
		return true;
	return (bits & NAT_TCP_PICKUP) && (bits & both_seen) == both_seen;
}

/* The timeout of a session (NAT or tracked) of protocol proto; ICMPv6
 * echo is timed as ICMP echo. */
static inline uint32_t nat_flow_timeout(uint8_t proto,
					const _Atomic uint16_t *tcp,
					const uint32_t *timeout)
{
	unsigned bits;

	if (proto == IPPROTO_UDP_)
		return timeout[NAT_TIMEOUT_UDP];
	if (proto != IPPROTO_TCP_)
		return timeout[NAT_TIMEOUT_ICMP];
	bits = atomic_load_explicit(tcp, memory_order_relaxed);
	return nat_tcp_established(bits) ? timeout[NAT_TIMEOUT_TCP_ESTABLISHED]
					 : timeout[NAT_TIMEOUT_TCP_TRANSITORY];
}

/*
 * Has the timer run out?  Strictly more than `timeout` whole seconds, so
 * that with one-second resolution a session never lives *less* than its
 * timeout (the RFCs give minimums): touched at 10.9 s with a 300 s
 * timeout, it is usable until 310.999 s and expires at 311 s.  A clock
 * behind last_seen (another lcore read it a moment earlier) is not out.
 */
static inline bool nat_flow_timed_out(uint8_t proto,
				      const _Atomic uint16_t *tcp,
				      uint32_t last_seen,
				      const struct nat_clock *c)
{
	return last_seen == NAT_DEAD ||
	       (c->secs > last_seen &&
		c->secs - last_seen > nat_flow_timeout(proto, tcp, c->timeout));
}

static inline bool nat_session_timed_out(const struct nat_session *s,
					 uint32_t last_seen,
					 const struct nat_clock *c)
{
	return nat_flow_timed_out(s->proto, &s->tcp, last_seen, c);
}

static inline bool nat_track_timed_out(const struct nat_track *t,
				       uint32_t last_seen,
				       const struct nat_clock *c)
{
	return nat_flow_timed_out(t->key.proto, &t->tcp, last_seen, c);
}

/* RFC 4787 REQ-6 (outbound refresh; inbound refresh is allowed too).
 * Written only when the second changes, so a busy flow does not bounce
 * its cache line between lcores on every packet; never backwards (lcores
 * read the clock at slightly different moments); never onto NAT_DEAD,
 * which the control thread's CAS stored when it expired the session. */
static inline void nat_timer_refresh(_Atomic uint32_t *last_seen,
				     uint32_t secs)
{
	uint32_t seen = atomic_load_explicit(last_seen, memory_order_relaxed);

	while (seen != NAT_DEAD && seen < secs)
		if (atomic_compare_exchange_weak_explicit(
			    last_seen, &seen, secs, memory_order_relaxed,
			    memory_order_relaxed))
			break;
}

/* MaxSessions is a limit on linked sessions (NAT and tracked), counted
 * atomically; the count is taken before anything else is created, so a
 * full table never leaves a fresh mapping behind. */
static inline bool nat_session_reserve(struct nat *nat)
{
	if (atomic_fetch_add_explicit(&nat->active, 1, memory_order_relaxed) <
	    nat->max_sessions)
		return true;
	atomic_fetch_sub_explicit(&nat->active, 1, memory_order_relaxed);
	return false;
}

static inline void nat_session_unreserve(struct nat *nat)
{
	atomic_fetch_sub_explicit(&nat->active, 1, memory_order_relaxed);
}

/* --- nat.c ---------------------------------------------------------------- */

/*
 * Feed one segment's flags, travelling dir, to the TCP state machine of a
 * session (NAT or tracked).  With may_restart false, a segment that would
 * start a new connection on the session (a SYN once the old one closed,
 * or on a picked-up one) is refused and changes nothing: false.  The
 * check and the change are one CAS, so no other lcore's segment slips in
 * between.
 */
bool nat_tcp_track(_Atomic uint16_t *tcp, enum nat_dir dir, uint8_t flags,
		   bool may_restart);

/* Writers' locks: index buckets and pool free lists, held for a few
 * loads and stores. */
static inline void nat_spin_lock(_Atomic uint32_t *l)
{
	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		while (atomic_load_explicit(l, memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
}

static inline void nat_spin_unlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* --- nat_index.c ---------------------------------------------------------- */

/* The index of a table for max_sessions sessions: its buckets (and the
 * bytes they take) and its random hash key.  0 or -ENOMEM. */
int nat_index_init(struct nat *nat, uint32_t max_sessions);
void nat_index_fini(struct nat *nat);
size_t nat_index_bytes(uint32_t max_sessions);

/* Lock-free: the slot of the usable object stored under k, or NAT_NONE. */
uint32_t nat_index_find(const struct nat *nat, const struct nat_key *k,
			const struct nat_clock *c);
uint32_t nat_index_find_track(const struct nat *nat,
			      const struct nat_track_key *k,
			      const struct nat_clock *c);
/*
 * Insert both keys of object idx if neither has a usable object yet:
 * 0, -EEXIST (found[i] = the object under keys[i], or NAT_NONE) or
 * -ENOSPC (no room in the candidate buckets).  Atomic for writers; for
 * readers keys[1] appears first, so keys[0] should be the key of the
 * direction that creates the object.
 */
int nat_index_link(struct nat *nat, const struct nat_key keys[2],
		   uint32_t idx, const struct nat_clock *c, uint32_t found[2]);
/* The same for the one key of tracked session idx: 0, -EEXIST (*found =
 * the live tracked session under k) or -ENOSPC. */
int nat_index_link_track(struct nat *nat, const struct nat_track_key *k,
			 uint32_t idx, const struct nat_clock *c,
			 uint32_t *found);
/* Remove k's entry if it still names idx. */
void nat_index_unlink(struct nat *nat, const struct nat_key *k, uint32_t idx);
void nat_index_unlink_track(struct nat *nat, const struct nat_track_key *k,
			    uint32_t idx);

/* --- nat_table.c ---------------------------------------------------------- */

/* Zeroed anonymous pages, backed only once written; NULL on failure. */
void *nat_pages_alloc(size_t bytes);
uint32_t nat_pool_get(struct nat_pool *p, uint32_t *cache, unsigned *n);
void nat_pool_put(struct nat_pool *p, uint32_t *cache, unsigned *n,
		  uint32_t idx);
void nat_pool_flush(struct nat_pool *p, uint32_t *cache, unsigned *n);
void nat_pool_retire(struct nat_pool *p, uint32_t idx);
void nat_pool_reclaim(struct nat_pool *p);

/*
 * Control thread: remove NAT session idx, whose last_seen the caller read
 * as seen, as expiry does (both keys unlinked, the mapping's reference
 * dropped and the mapping reaped if it was the last, the slot retired
 * until nat_reclaim), counted as expired in lc.  False, and nothing done,
 * if seen is NAT_DEAD or a worker refreshed the timer since.
 */
bool nat_session_unlink(struct nat *nat, struct nat_lcore *lc, uint32_t idx,
			uint32_t seen);

#endif
