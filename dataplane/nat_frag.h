/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 fragments through the NAT without reassembly ("virtual reassembly",
 * RFC 4787 REQ-14: a NAT MUST support receiving in-order and out-of-order
 * fragments).  Pure C, no EAL: time comes in as `now` (monotonic ns), the
 * packets held are opaque pointers the caller owns again when it gets them
 * back.
 *
 * Only the first fragment (offset 0) carries the transport header, so only
 * it can be looked up in the session table; nat_out / nat_in translate it
 * like any packet (the transport checksum covers the whole datagram, so its
 * incremental update stays right).  This module remembers what that
 * translation did to the addresses, keyed by the datagram's identity as it
 * arrived, (path, protocol, source, destination, IP identification) per
 * RFC 791 section 3.2, and applies the same address change to every later
 * fragment: addresses and the IPv4 header checksum only, as there is no
 * transport header to touch.
 *
 * A later fragment that arrives before its first fragment is held for up
 * to NAT_FRAG_HOLD_NS and released when the first one is translated; the
 * caller drops what times out or does not fit (bounded per table and per
 * datagram).  An entry lives NAT_FRAG_TIMEOUT_NS from the first fragment,
 * like a reassembly timer (Linux ipfrag_time), and is not ended by the
 * last fragment: fragments may be duplicated or reordered.
 *
 * Time: `now` never goes back between calls on one table (one lcore's
 * monotonic clock).
 *
 * Concurrency: one table per worker lcore, touched by that lcore only, so
 * no locks.  That is enough because every fragment of a datagram arrives
 * on the same RX queue: NIC RSS classes every IPv4 fragment, the first
 * too, as a fragment and hashes it on the addresses alone (later fragments
 * have no ports; or, with that hash type off, sends all to queue 0);
 * af_packet's fanout hash does the same, AF_XDP sockets get their NIC
 * queue's share, and tunnelled traffic follows its outer flow.  If a
 * datagram were split across queues anyway, the other lcore finds no
 * entry and the fragment ends as a counted drop after the hold time,
 * never as a wrong translation.
 */
#ifndef PORTCULLIS_NAT_FRAG_H
#define PORTCULLIS_NAT_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/wire.h"

struct nat_frag;

enum nat_frag_limits {
	NAT_FRAG_WAYS = 4,              /* entries per hash bucket */
	NAT_FRAG_DEFAULT_ENTRIES = 4096, /* per lcore, 32 bytes each */
	NAT_FRAG_HOLD_MAX = 64,         /* held fragments per lcore */
	NAT_FRAG_HOLD_PER_DATAGRAM = 32, /* no one datagram takes them all */
};

/* RFC 791 leaves the reassembly timeout to the host (15 s suggested);
 * Linux uses 30 s (net.ipv4.ipfrag_time), and a NAT that forgets a
 * datagram before the receiver does would cut it short. */
#define NAT_FRAG_TIMEOUT_NS (30 * NSEC_PER_SEC)
/* Out-of-order fragments come ahead of their first by microseconds; a
 * second is generous and keeps held mbufs out of the pool only briefly. */
#define NAT_FRAG_HOLD_NS (1 * NSEC_PER_SEC)

/* Which NAT stage saw the datagram: part of the key, so an inbound and a
 * hairpinned datagram with the same addresses and id never share an
 * entry.  0 is reserved (a free entry). */
enum nat_frag_path { NAT_FRAG_OUT = 1, NAT_FRAG_IN, NAT_FRAG_HAIRPIN };

/* What an IPv4 header says about fragmentation. */
enum nat_frag_kind {
	NAT_FRAG_WHOLE,         /* not a fragment */
	NAT_FRAG_FIRST,         /* offset 0, MF: has the transport header */
	NAT_FRAG_LATER,         /* offset > 0: addresses only */
	NAT_FRAG_UNSAFE,        /* TCP at offset 8 bytes: drop (RFC 1858 4) */
};

/* A datagram as it arrived at the NAT.  Network byte order. */
struct nat_frag_key {
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t path;           /* enum nat_frag_path */
};

/* The addresses the first fragment left with.  Network byte order. */
struct nat_frag_addrs {
	uint32_t src, dst;
};

/* --- Packet helpers: ip points at an IPv4 header of at least 20 bytes
 * (ihl and total length already checked by the caller). --- */

/* Every packet on a NAT path asks this, so it is inline. */
static inline enum nat_frag_kind nat_frag_kind(const uint8_t *ip)
{
	const uint8_t *f = ip + offsetof(struct ipv4_hdr, frag_off);
	unsigned fo = (unsigned)f[0] << 8 | f[1];

	if ((fo & IPV4_OFFSET_MASK) == 0)
		return fo & IPV4_MF ? NAT_FRAG_FIRST : NAT_FRAG_WHOLE;
	/* RFC 1858 section 4 (overlapping fragment attack): a TCP fragment
	 * at offset 8 could rewrite the flags of a header the filter saw.
	 * No sender needs it: the first fragment of a TCP segment holds at
	 * least 16 bytes of header (nat_packet.c wants all of it). */
	if ((fo & IPV4_OFFSET_MASK) == 1 &&
	    ip[offsetof(struct ipv4_hdr, protocol)] == IPPROTO_TCP_)
		return NAT_FRAG_UNSAFE;
	return NAT_FRAG_LATER;
}

void nat_frag_key_get(const uint8_t *ip, enum nat_frag_path path,
		      struct nat_frag_key *k);
void nat_frag_addrs_get(const uint8_t *ip, struct nat_frag_addrs *a);
/* Set the source and destination to `to`, updating the header checksum
 * incrementally (RFC 1624 eqn 3): a damaged header stays damaged. */
void nat_frag_rewrite(uint8_t *ip, const struct nat_frag_addrs *to);

/* --- What a NAT stage calls --- */

/* What became of a later fragment. */
enum nat_frag_verdict {
	NAT_FRAG_TRANSLATED,    /* rewritten like its first: forward it */
	NAT_FRAG_HELD,          /* kept until its first fragment comes */
	NAT_FRAG_NO_ROOM,       /* its datagram has too many held: drop */
	NAT_FRAG_REFUSED,       /* NAT_FRAG_UNSAFE: drop */
};

/*
 * The NAT has looked at a first fragment: k is the datagram as it came in,
 * ip the fragment as it leaves.  If it was translated, remember its
 * addresses (into *to as well) for the later fragments.  Either way take
 * back the fragments of k that were held (into out, room for
 * NAT_FRAG_HOLD_PER_DATAGRAM) and return how many: translated, the caller
 * rewrites them to *to and sends them on as it sends the first; refused,
 * it drops them now, as nothing will match them.  An untranslated first
 * fragment leaves no entry, so its later fragments can never be matched.
 */
unsigned nat_frag_first(struct nat_frag *f, const struct nat_frag_key *k,
			const uint8_t *ip, bool translated, uint64_t now,
			struct nat_frag_addrs *to, void **out);

/*
 * A later fragment (kind NAT_FRAG_LATER or NAT_FRAG_UNSAFE) at ip, in
 * packet pkt, on path.  Translated in place when its first fragment was;
 * else held (REQ-14 out of order), pushing the oldest held packet into
 * *evicted when the table is full (else *evicted is NULL).
 */
enum nat_frag_verdict nat_frag_later(struct nat_frag *f, uint8_t *ip,
				     enum nat_frag_kind kind,
				     enum nat_frag_path path, void *pkt,
				     uint64_t now, void **evicted);

/* --- The per-lcore table --- */

/* entries is rounded up to a power of two, at least NAT_FRAG_WAYS.  The
 * hash is keyed from random.h.  NULL on failure.  Destroy only with
 * nothing held (nat_frag_drain first): the packets are the caller's. */
struct nat_frag *nat_frag_create(unsigned entries);
void nat_frag_destroy(struct nat_frag *f);

/* The first fragment of k was translated to `to`: remember it for
 * NAT_FRAG_TIMEOUT_NS.  A duplicate first fragment updates the addresses
 * but not the timer (a reassembly timer starts once).  When k's bucket is
 * full, the oldest entry in it goes. */
void nat_frag_record(struct nat_frag *f, const struct nat_frag_key *k,
		     const struct nat_frag_addrs *to, uint64_t now);
/* The live translation of datagram k, if its first fragment was seen. */
bool nat_frag_lookup(const struct nat_frag *f, const struct nat_frag_key *k,
		     uint64_t now, struct nat_frag_addrs *to);

/*
 * Hold pkt, a later fragment of k with no entry yet.  0: held; when the
 * table was full, the oldest held packet was pushed out into *evicted
 * (else *evicted is NULL) for the caller to drop.  -ENOSPC: k already has
 * NAT_FRAG_HOLD_PER_DATAGRAM held; pkt is not held.
 */
int nat_frag_hold(struct nat_frag *f, const struct nat_frag_key *k, void *pkt,
		  uint64_t now, void **evicted);
/* Take back the held fragments of k, in arrival order; returns how many
 * (at most NAT_FRAG_HOLD_PER_DATAGRAM, so out needs no more room). */
unsigned nat_frag_take(struct nat_frag *f, const struct nat_frag_key *k,
		       void **out);
/* Take back the fragments held NAT_FRAG_HOLD_NS or longer; out has room
 * for NAT_FRAG_HOLD_MAX.  Cheap when nothing is due: call it every loop. */
unsigned nat_frag_expire(struct nat_frag *f, uint64_t now, void **out);
/* Take back everything held (shutdown); out has NAT_FRAG_HOLD_MAX room. */
unsigned nat_frag_drain(struct nat_frag *f, void **out);
unsigned nat_frag_held(const struct nat_frag *f);

#endif
