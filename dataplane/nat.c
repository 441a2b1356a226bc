/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT's flow layer: mappings, sessions, port choice, filtering, the
 * TCP state machine, timers and expiry.  The packet layer (nat_packet.c)
 * turns packets into nat_tuples and calls nat_flow_*; nat_table.c holds
 * the memory, nat_index.c the index.  Connection tracking without
 * translation (nat_track.c) shares the timers and the TCP state machine.
 *
 * Concurrency, in one place:
 *  - Lookups take no lock: nat_index_find reads the index with acquire
 *    loads and checks the object it lands on (nat_index.c).
 *  - Creating is insert-if-absent under the locks of the candidate
 *    buckets (nat_index_link).  Two lcores creating the same mapping or
 *    session: one links its object, the other finds the winner's under
 *    the same locks, takes it and gives its own slot back.  Two lcores
 *    wanting the same external port: the second sees the first's
 *    mapping-external key and moves on to the next candidate.
 *  - A session's timer is last_seen (whole seconds).  Workers move it
 *    forward with a CAS that fails on NAT_DEAD; the control thread kills
 *    with a CAS from the value it judged expired, so a refresh racing
 *    with expiry either lands first (the session lives) or fails (the
 *    packet was translated by a session that just ended, as if it had
 *    come a moment earlier).
 *  - A mapping's refs is one for the index plus one per session.  A
 *    creator takes a reference with a CAS from any non-zero value; the
 *    control thread kills a mapping with a CAS from 1 to 0, so a creator
 *    that found it first keeps it alive.
 *  - Only the control thread unlinks and retires; a retired slot is
 *    reused after nat_reclaim, which the caller runs after an RCU grace
 *    period, so no reader ever holds a recycled object.
 */
#include "nat_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Port candidates tried per parity before giving up (RFC 4787 REQ-4
 * asks for parity, not for an exhaustive search of 64k ports). */
enum { PROBES_PER_PARITY = 128 };

/* --- Config look-ups ------------------------------------------------------ */

static uint32_t v4(const struct ip_addr *a)
{
	uint32_t x;

	memcpy(&x, a->bytes, sizeof(x));
	return x;
}

static uint32_t forward_ext_addr(const struct nat_config *conf,
				 const struct nat_forward *f)
{
	return v4(f->external.family == IP_V4 ? &f->external : &conf->external);
}

/* Bit (proto, side, port) of conf->forward_ports; side 0 external, 1
 * internal; port in network order, as in tuples. */
static size_t forward_bit(uint8_t proto, unsigned side, uint16_t port)
{
	return ((size_t)(proto == IPPROTO_UDP_) * 2 + side) * 65536 + ntohs(port);
}

/* False when no forward can match: the common case, answered from the
 * bitmap without scanning the forwards. */
static bool forward_maybe(const struct nat_config *conf, uint8_t proto,
			  unsigned side, uint16_t port)
{
	size_t b;

	if (conf->n_forwards == 0)
		return false;
	if (conf->forward_ports == NULL)
		return true;
	b = forward_bit(proto, side, port);
	return conf->forward_ports[b / 64] >> (b % 64) & 1;
}


static void external_addr_add(struct nat_config *conf, const struct ip_addr *a)
{
	if (a->family != IP_V4 || conf->n_external_addrs > NAT_MAX_EXTERNAL)
		return;
	for (unsigned k = 0; k < conf->n_external_addrs; k++)
		if (memcmp(conf->external_addrs[k], a->bytes, 4) == 0)
			return;
	memcpy(conf->external_addrs[conf->n_external_addrs++], a->bytes, 4);
}

int nat_config_index(struct nat_config *conf)
{
	conf->n_external_addrs = 0;
	conf->forward_ports = NULL;
	external_addr_add(conf, &conf->external);
	for (unsigned i = 0; i < conf->n_forwards; i++)
		external_addr_add(conf, &conf->forwards[i].external);
	if (conf->n_forwards == 0)
		return 0;
	conf->forward_ports = calloc(NAT_FORWARD_BITMAP_WORDS, sizeof(uint64_t));
	if (conf->forward_ports == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < conf->n_forwards; i++) {
		const struct nat_forward *f = &conf->forwards[i];
		size_t e = forward_bit(f->proto, 0, htons(f->external_port));
		size_t in = forward_bit(f->proto, 1, htons(f->internal_port));

		conf->forward_ports[e / 64] |= 1ull << (e % 64);
		conf->forward_ports[in / 64] |= 1ull << (in % 64);
	}
	return 0;
}

void nat_config_index_free(struct nat_config *conf)
{
	free(conf->forward_ports);
	conf->forward_ports = NULL;
	conf->n_external_addrs = 0;
}

/*
 * Forwards are searched linearly, but only after the port bitmap (built
 * with the tables) said a forward uses that port: a flow with no session
 * yet, or a candidate port of a new mapping, almost never scans.
 */
static const struct nat_forward *
forward_by_external(const struct nat_config *conf, uint8_t proto,
		    uint32_t addr, uint16_t port)
{
	if (!forward_maybe(conf, proto, 0, port))
		return NULL;
	for (unsigned i = 0; i < conf->n_forwards; i++) {
		const struct nat_forward *f = &conf->forwards[i];

		if (f->proto == proto && htons(f->external_port) == port &&
		    forward_ext_addr(conf, f) == addr)
			return f;
	}
	return NULL;
}

bool nat_forward_at(const struct nat_config *conf, uint8_t proto, const uint8_t addr[4],
		    uint16_t port)
{
	uint32_t a;

	memcpy(&a, addr, sizeof(a));
	return forward_by_external(conf, proto, a, port) != NULL;
}

static const struct nat_forward *
forward_by_internal(const struct nat_config *conf, uint8_t proto,
		    uint32_t addr, uint16_t port)
{
	if (!forward_maybe(conf, proto, 1, port))
		return NULL;
	for (unsigned i = 0; i < conf->n_forwards; i++) {
		const struct nat_forward *f = &conf->forwards[i];

		if (f->proto == proto && f->internal.family == IP_V4 &&
		    htons(f->internal_port) == port && v4(&f->internal) == addr)
			return f;
	}
	return NULL;
}

static bool masqueraded(const struct nat_config *conf, uint32_t addr)
{
	for (unsigned i = 0; i < conf->n_masquerade; i++) {
		const struct ip_prefix *p = &conf->masquerade[i];
		uint32_t mask;

		if (p->addr.family != IP_V4 || p->cidr > 32)
			continue;
		mask = p->cidr ? htonl(~0u << (32 - p->cidr)) : 0;
		if (((v4(&p->addr) ^ addr) & mask) == 0)
			return true;
	}
	return false;
}

/* --- Keys ----------------------------------------------------------------- */

/* Outbound t is inside -> remote; inbound t is remote -> external. */
static struct nat_key key_of(const struct nat_tuple *t, enum nat_dir dir)
{
	if (dir == NAT_DIR_OUT)
		return (struct nat_key){
			.addr = t->src, .port = t->sport, .rem_addr = t->dst,
			.rem_port = t->dport, .proto = t->proto,
			.kind = KEY_SESSION_OUT };
	return (struct nat_key){
		.addr = t->dst, .port = t->dport, .rem_addr = t->src,
		.rem_port = t->sport, .proto = t->proto, .kind = KEY_SESSION_IN };
}

/* --- Timer and TCP state -------------------------------------------------- */

static bool tcp_closed(unsigned bits)
{
	const unsigned both_fin = NAT_TCP_FIN_OUT | NAT_TCP_FIN_IN;

	return (bits & NAT_TCP_RST_SEEN) || (bits & both_fin) == both_fin;
}

/*
 * The bits after one segment.  A SYN without ACK on a closed connection
 * (both FINs or a RST: TIME_WAIT reuse, RFC 9293 section 3.6.1) or on a
 * picked-up one starts a new connection on the same session.  Otherwise
 * bits only accumulate: SYN and SYN+ACK per direction (a simultaneous
 * open, RFC 9293 figure 7, is SYN+ACK both ways), the first bare ACK
 * once both SYNs were seen (the third step of the handshake), FIN per
 * direction, RST.
 */
static bool tcp_restarts(unsigned bits, uint8_t flags)
{
	return (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	       (tcp_closed(bits) || (bits & NAT_TCP_PICKUP));
}

static unsigned tcp_next(unsigned bits, enum nat_dir dir, uint8_t flags)
{
	bool out = dir == NAT_DIR_OUT;
	unsigned seen = out ? NAT_TCP_SEEN_OUT : NAT_TCP_SEEN_IN;
	unsigned syn = out ? NAT_TCP_SYN_OUT : NAT_TCP_SYN_IN;
	const unsigned both_syn = NAT_TCP_SYN_OUT | NAT_TCP_SYN_IN;

	if (tcp_restarts(bits, flags))
		return syn | seen;
	bits |= seen;
	if (flags & TCP_SYN)
		bits |= syn | (flags & TCP_ACK ? (out ? NAT_TCP_SYNACK_OUT
						     : NAT_TCP_SYNACK_IN)
					       : 0);
	else if ((flags & TCP_ACK) && (bits & both_syn) == both_syn)
		bits |= NAT_TCP_ACKED;
	if (flags & TCP_FIN)
		bits |= out ? NAT_TCP_FIN_OUT : NAT_TCP_FIN_IN;
	if (flags & TCP_RST)
		bits |= NAT_TCP_RST_SEEN;
	return bits;
}

/* The two directions may be on two lcores at once: a CAS loop, with no
 * write at all when the segment changes nothing (the common case). */
bool nat_tcp_track(_Atomic uint16_t *tcp, enum nat_dir dir, uint8_t flags,
		   bool may_restart)
{
	uint16_t bits = atomic_load_explicit(tcp, memory_order_relaxed);
	uint16_t next;

	do {
		if (!may_restart && tcp_restarts(bits, flags))
			return false;
		next = (uint16_t)tcp_next(bits, dir, flags);
		if (next == bits)
			return true;
	} while (!atomic_compare_exchange_weak_explicit(
		tcp, &bits, next, memory_order_relaxed, memory_order_relaxed));
	return true;
}

static void session_touch(struct nat_session *s, const struct nat_clock *c,
			  enum nat_dir dir, uint8_t tcp_flags)
{
	nat_timer_refresh(&s->last_seen, c->secs);
	if (s->proto == IPPROTO_TCP_)
		nat_tcp_track(&s->tcp, dir, tcp_flags, true);
}

/* --- External ports (RFC 4787 section 4.2.1) ------------------------------ */

static uint32_t lcore_random(struct nat_lcore *lc)
{
	uint64_t x = lc->rng;                 /* xorshift64 */

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	lc->rng = x;
	return (uint32_t)(x >> 32);
}

/* Uniform in [0, n), n > 0. */
static uint32_t lcore_uniform(struct nat_lcore *lc, uint32_t n)
{
	return (uint32_t)(((uint64_t)lcore_random(lc) * n) >> 32);
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * The candidates for one new mapping: the internal port itself (REQ-3
 * port preservation), then ports of the same parity (REQ-4) in a random
 * order, then the other parity as a last resort.  All are drawn from the
 * range half the internal port is in (REQ-3 range preservation: below
 * 1024 or not) when PortRange has ports there.  ICMP identifiers use the
 * same scheme and range: simple, and an identifier is as good as another.
 * A range of up to PROBES_PER_PARITY ports per parity is searched fully,
 * so a small PortRange fails only when it really is full.
 */
struct port_scan {
	int32_t preserve;               /* the internal port, or -1 */
	bool preserve_pending;          /* not tried yet */
	uint32_t lo, hi;                /* inclusive */
	uint32_t parity;
	unsigned pass, k, limit, count, first, start, step;
	struct nat_lcore *lc;
};

static void scan_pass(struct port_scan *ps, unsigned pass)
{
	uint32_t parity = ps->parity ^ pass;

	ps->pass = pass;
	ps->k = 0;
	ps->first = ps->lo + ((ps->lo & 1) != parity);
	ps->count = ps->first > ps->hi ? 0 : (ps->hi - ps->first) / 2 + 1;
	ps->limit = ps->count < PROBES_PER_PARITY ? ps->count
						   : PROBES_PER_PARITY;
	ps->start = ps->count ? lcore_uniform(ps->lc, ps->count) : 0;
	/* A random step coprime with count visits every candidate once.
	 * Stepping by one from a random start would hit runs of taken ports
	 * and make them longer (linear probing's clustering), until a run
	 * ate the whole probe budget with free ports elsewhere. */
	/* Always coprime: from a random start, the next coprime number (1
	 * is one), so no pass falls back to stepping by one. */
	ps->step = 1;
	if (ps->count > 2) {
		uint32_t step = 1 + lcore_uniform(ps->lc, ps->count - 1);

		while (gcd(step, ps->count) != 1)
			step = step + 1 < ps->count ? step + 1 : 1;
		ps->step = step;
	}
}

static void scan_init(struct port_scan *ps, const struct nat_config *conf,
		      uint8_t proto, uint16_t int_port, struct nat_lcore *lc)
{
	uint32_t lo = conf->port_min, hi = conf->port_max;

	if (proto != IPPROTO_ICMP_ && lo == 0)
		lo = 1;                         /* port 0 is not a port */
	*ps = (struct port_scan){
		.preserve = int_port >= lo && int_port <= hi ? int_port : -1,
		.preserve_pending = int_port >= lo && int_port <= hi,
		.lo = lo, .hi = hi, .parity = int_port & 1, .lc = lc,
	};
	if (int_port < 1024 && lo < 1024)
		ps->hi = hi < 1023 ? hi : 1023;
	else if (int_port >= 1024 && hi >= 1024)
		ps->lo = lo > 1024 ? lo : 1024;
	scan_pass(ps, 0);
}

static bool scan_next(struct port_scan *ps, uint16_t *port)
{
	if (ps->preserve_pending) {
		ps->preserve_pending = false;
		*port = (uint16_t)ps->preserve;
		return true;
	}
	for (;;) {
		while (ps->k < ps->limit) {
			uint64_t at = ps->start + (uint64_t)ps->k++ * ps->step;
			uint32_t p = ps->first + 2 * (uint32_t)(at % ps->count);

			if ((int32_t)p != ps->preserve) {
				*port = (uint16_t)p;
				return true;
			}
		}
		if (ps->pass == 1)
			return false;
		scan_pass(ps, 1);
	}
}

/* Ports a dynamic mapping never takes: a forward's (the forward owns it:
 * static NAT) and, for UDP, WireGuard's ListenPort, which the fast path
 * claims on every public address before the NAT sees the packet, so the
 * replies to such a mapping would never reach it. */
static bool port_reserved(const struct nat_config *conf, uint8_t proto,
			  uint32_t ext_addr, uint16_t port)
{
	if (proto == IPPROTO_UDP_ && conf->listen_port != 0 &&
	    port == conf->listen_port)
		return true;
	return forward_by_external(conf, proto, ext_addr, htons(port)) != NULL;
}

/* --- Mappings ------------------------------------------------------------- */

/* Take a reference unless the mapping is dead (refs 0).  Racing with the
 * control thread's CAS 1 -> 0: whichever CAS lands first decides. */
static bool mapping_ref(struct nat_mapping *m)
{
	uint32_t refs = atomic_load_explicit(&m->refs, memory_order_relaxed);

	while (refs != 0)
		if (atomic_compare_exchange_weak_explicit(
			    &m->refs, &refs, refs + 1, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	return false;
}

static void mapping_give_back(struct nat *nat, struct nat_lcore *lc,
			      uint32_t idx)
{
	nat_pool_put(&nat->mappings, lc->free_mappings, &lc->n_free_mappings,
		     idx);
}

/* Try to link slot idx as want's mapping on one external port: 0, or
 * -EEXIST with found[] (nat_index_link), or -ENOSPC. */
static int mapping_claim(struct nat *nat, const struct nat_clock *c,
			 uint32_t idx, const struct nat_mapping *want,
			 uint16_t port, uint32_t found[2])
{
	struct nat_mapping *m = nat_mapping_at(nat, idx);
	struct nat_key keys[2];
	int err;

	/* Field by field: refs is atomic (the expiry walk reads it). */
	m->int_addr = want->int_addr;
	m->int_port = want->int_port;
	m->ext_addr = want->ext_addr;
	m->ext_port = port;
	m->proto = want->proto;
	/* The index's reference and the caller's session's; published by
	 * the release store of the entries.  The walk ignores refs 2. */
	atomic_store_explicit(&m->refs, 2, memory_order_relaxed);
	nat_mapping_keys(m, keys);
	err = nat_index_link(nat, keys, idx, c, found);
	if (err)
		atomic_store_explicit(&m->refs, 0, memory_order_relaxed);
	return err;
}

/*
 * Claim an external port for a new mapping of want's internal endpoint on
 * want->ext_addr.  Each candidate is claimed by linking the mapping's two
 * keys at once: the external key makes the port ours against every other
 * lcore, the internal key makes the mapping the only one of its endpoint
 * (if another lcore linked one first, we take that one: REQ-1).
 */
static enum nat_result mapping_create(struct nat *nat, struct nat_lcore *lc,
				      const struct nat_config *conf,
				      const struct nat_clock *c,
				      const struct nat_mapping *want,
				      uint32_t *out)
{
	uint32_t idx = nat_pool_get(&nat->mappings, lc->free_mappings,
				    &lc->n_free_mappings);
	enum nat_result ret = NAT_PORTS_EXHAUSTED;
	struct port_scan ps;
	uint32_t found[2];
	uint16_t port;
	int err;

	if (idx == NAT_NONE)
		return NAT_TABLE_FULL;
	scan_init(&ps, conf, want->proto, ntohs(want->int_port), lc);
	while (scan_next(&ps, &port)) {
		if (port_reserved(conf, want->proto, want->ext_addr, port))
			continue;
		err = mapping_claim(nat, c, idx, want, htons(port), found);
		if (err == 0) {
			lc->stats.mappings_created++;
			*out = idx;
			return NAT_OK;
		}
		if (err == -ENOSPC) {
			ret = NAT_TABLE_FULL;
			goto give_back;
		}
		if (found[0] != NAT_NONE &&
		    mapping_ref(nat_mapping_at(nat, found[0]))) {
			*out = found[0];
			ret = NAT_OK;
			goto give_back;
		}
		/* The port is taken: next candidate. */
	}
	lc->stats.port_alloc_failures++;
give_back:
	mapping_give_back(nat, lc, idx);
	return ret;
}

/* The mapping of an internal endpoint with a reference taken for a new
 * session: the existing one (endpoint-independent, REQ-1) or a new one. */
static enum nat_result mapping_acquire(struct nat *nat, struct nat_lcore *lc,
				       const struct nat_config *conf,
				       const struct nat_clock *c,
				       const struct nat_tuple *t, uint32_t *out)
{
	const struct nat_mapping want = {
		.int_addr = t->src, .int_port = t->sport,
		.ext_addr = v4(&conf->external), .proto = t->proto,
	};
	const struct nat_key k = { .addr = t->src, .port = t->sport,
				   .proto = t->proto, .kind = KEY_MAPPING_INT };

	/* A mapping found but dead before we could take it (the control
	 * thread won the CAS) is unusable on the next look: bounded. */
	for (int tries = 0; tries < 3; tries++) {
		uint32_t idx = nat_index_find(nat, &k, c);

		if (idx == NAT_NONE)
			break;
		if (mapping_ref(nat_mapping_at(nat, idx))) {
			*out = idx;
			return NAT_OK;
		}
	}
	return mapping_create(nat, lc, conf, c, &want, out);
}

/* --- Sessions ------------------------------------------------------------- */

/* A slot nobody else sees yet (its last_seen is NAT_DEAD, so the expiry
 * walk skips it too): plain stores but for the atomic fields. */
static struct nat_session *session_fill(struct nat_session *s,
					const struct nat_session *want,
					uint8_t tcp_flags)
{
	bool pickup = want->proto == IPPROTO_TCP_ &&
		      (tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN;

	memcpy(s, want, offsetof(struct nat_session, tcp));
	s->proto = want->proto;
	s->mapping = want->mapping;
	atomic_store_explicit(&s->tcp, pickup ? NAT_TCP_PICKUP : 0,
			      memory_order_relaxed);
	return s;
}

/*
 * Link a session made of want's endpoints.  Consumes the reservation and
 * the mapping reference: kept by the new session, or given back.  If
 * another lcore linked the same session first, *out is theirs.  The TCP
 * bits start empty, or as a pickup when the first segment is not a SYN
 * (RFC 5382 allows creating on any segment; such a connection is
 * transitory until traffic was seen both ways); the caller's
 * session_touch adds the first segment.  dir is the direction of that
 * segment: its key is published last (nat_index_link).
 */
static enum nat_result session_create(struct nat *nat, struct nat_lcore *lc,
				      const struct nat_clock *c,
				      const struct nat_session *want,
				      enum nat_dir dir, uint8_t tcp_flags,
				      struct nat_session **out)
{
	uint32_t idx = nat_pool_get(&nat->sessions, lc->free_sessions,
				    &lc->n_free_sessions);
	enum nat_result ret = NAT_TABLE_FULL;
	struct nat_key keys[2];
	struct nat_session *s;
	uint32_t found[2];
	int err;

	if (idx == NAT_NONE)
		goto release;
	s = session_fill(nat_session_at(nat, idx), want, tcp_flags);
	nat_session_keys(s, keys);
	if (dir == NAT_DIR_IN) {
		struct nat_key k = keys[0];

		keys[0] = keys[1];
		keys[1] = k;
	}
	err = nat_index_link(nat, keys, idx, c, found);
	if (err == 0) {
		lc->stats.created[nat_proto_index(s->proto)]++;
		*out = s;
		return NAT_OK;
	}
	nat_pool_put(&nat->sessions, lc->free_sessions, &lc->n_free_sessions,
		     idx);
	/* Lost a race for the same session: use the winner's.  Keys under
	 * two different sessions mean two forwards share an internal
	 * endpoint and disagree on its external port: refuse. */
	if (err == -EEXIST)
		ret = found[0] == found[1] ? NAT_OK : NAT_NO_SESSION;
	if (ret == NAT_OK)
		*out = nat_session_at(nat, found[0]);
release:
	nat_session_unreserve(nat);
	if (want->mapping != NAT_NONE)
		nat_mapping_unref(nat, want->mapping);
	return ret;
}

/* No session for outbound t: create one on the endpoint's forward or on
 * its (possibly new) mapping. */
static enum nat_result flow_out_create(struct nat *nat, struct nat_lcore *lc,
				       const struct nat_config *conf,
				       const struct nat_clock *c,
				       const struct nat_tuple *t,
				       uint8_t tcp_flags,
				       struct nat_session **out)
{
	struct nat_session want = {
		.int_addr = t->src, .int_port = t->sport,
		.rem_addr = t->dst, .rem_port = t->dport,
		.proto = t->proto, .mapping = NAT_NONE,
	};
	const struct nat_forward *f;
	enum nat_result r;

	/* A RST ends a connection we do not know: nothing to keep. */
	if (t->proto == IPPROTO_TCP_ && (tcp_flags & TCP_RST))
		return NAT_NO_SESSION;
	f = forward_by_internal(conf, t->proto, t->src, t->sport);
	if (!f && (conf->external.family != IP_V4 ||
		   !masqueraded(conf, t->src)))
		return NAT_NOT_MASQUERADED;
	if (!nat_session_reserve(nat))
		return NAT_TABLE_FULL;
	if (f) {
		/* The forward is the endpoint's static mapping (EIM). */
		want.ext_addr = forward_ext_addr(conf, f);
		want.ext_port = htons(f->external_port);
	} else {
		r = mapping_acquire(nat, lc, conf, c, t, &want.mapping);
		if (r != NAT_OK) {
			nat_session_unreserve(nat);
			return r;
		}
		want.ext_addr = nat_mapping_at(nat, want.mapping)->ext_addr;
		want.ext_port = nat_mapping_at(nat, want.mapping)->ext_port;
	}
	return session_create(nat, lc, c, &want, NAT_DIR_OUT, tcp_flags, out);
}

/* Which internal endpoint would take inbound t with no session: a
 * forward's, or under endpoint-independent filtering (REQ-8) the one
 * whose mapping t is addressed to.  *mapping is NAT_NONE for a forward. */
static bool inbound_admit(const struct nat *nat, const struct nat_config *conf,
			  const struct nat_clock *c, const struct nat_tuple *t,
			  struct nat_rewrite *to, uint32_t *mapping)
{
	const struct nat_forward *f;
	struct nat_key k = { .addr = t->dst, .port = t->dport,
			     .proto = t->proto, .kind = KEY_MAPPING_EXT };

	f = forward_by_external(conf, t->proto, t->dst, t->dport);
	if (f) {
		to->addr = v4(&f->internal);
		to->port = htons(f->internal_port);
		*mapping = NAT_NONE;
		return true;
	}
	if (conf->filtering != NAT_FILTER_ENDPOINT_INDEPENDENT)
		return false;
	*mapping = nat_index_find(nat, &k, c);
	if (*mapping == NAT_NONE)
		return false;
	to->addr = nat_mapping_at(nat, *mapping)->int_addr;
	to->port = nat_mapping_at(nat, *mapping)->int_port;
	return true;
}

static enum nat_result flow_in_create(struct nat *nat, struct nat_lcore *lc,
				      const struct nat_config *conf,
				      const struct nat_clock *c,
				      const struct nat_tuple *t,
				      uint8_t tcp_flags,
				      struct nat_session **out)
{
	struct nat_session want = {
		.ext_addr = t->dst, .ext_port = t->dport,
		.rem_addr = t->src, .rem_port = t->sport, .proto = t->proto,
	};
	struct nat_rewrite to;

	/* A RST for no session: nothing to create. */
	if (t->proto == IPPROTO_TCP_ && (tcp_flags & TCP_RST))
		return NAT_NO_SESSION;
	/* Unsolicited (REQ-8 filtering).  For a SYN the caller drops it
	 * silently: RFC 5382 REQ-4, no RST and no ICMP back. */
	if (!inbound_admit(nat, conf, c, t, &to, &want.mapping))
		return NAT_NO_SESSION;
	if (!nat_session_reserve(nat))
		return NAT_TABLE_FULL;
	if (want.mapping != NAT_NONE &&
	    !mapping_ref(nat_mapping_at(nat, want.mapping))) {
		nat_session_unreserve(nat);
		return NAT_NO_SESSION;          /* it died meanwhile */
	}
	want.int_addr = to.addr;
	want.int_port = to.port;
	return session_create(nat, lc, c, &want, NAT_DIR_IN, tcp_flags,
			      out);
}

enum nat_result nat_flow(struct nat *nat, struct nat_lcore *lc,
			 const struct nat_config *conf, enum nat_dir dir,
			 const struct nat_tuple *t, uint8_t tcp_flags,
			 uint64_t now, struct nat_rewrite *rw)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	const struct nat_key k = key_of(t, dir);
	uint32_t idx = nat_index_find(nat, &k, &c);
	struct nat_session *s;
	enum nat_result r;

	if (idx != NAT_NONE) {
		s = nat_session_at(nat, idx);
	} else {
		r = dir == NAT_DIR_OUT
			? flow_out_create(nat, lc, conf, &c, t, tcp_flags, &s)
			: flow_in_create(nat, lc, conf, &c, t, tcp_flags, &s);
		if (r != NAT_OK)
			return r;
	}
	session_touch(s, &c, dir, tcp_flags);
	rw->addr = dir == NAT_DIR_OUT ? s->ext_addr : s->int_addr;
	rw->port = dir == NAT_DIR_OUT ? s->ext_port : s->int_port;
	return NAT_OK;
}

/* --- Look-only ------------------------------------------------------------ */

enum nat_result nat_flow_find(struct nat *nat, const struct nat_config *conf,
			      enum nat_dir dir, const struct nat_tuple *t,
			      bool admit_new, uint64_t now,
			      struct nat_rewrite *rw)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	const struct nat_key k = key_of(t, dir);
	uint32_t idx = nat_index_find(nat, &k, &c), mapping;
	const struct nat_session *s;

	if (idx != NAT_NONE) {
		s = nat_session_at(nat, idx);
		rw->addr = dir == NAT_DIR_OUT ? s->ext_addr : s->int_addr;
		rw->port = dir == NAT_DIR_OUT ? s->ext_port : s->int_port;
		return NAT_OK;
	}
	if (dir == NAT_DIR_IN && admit_new &&
	    inbound_admit(nat, conf, &c, t, rw, &mapping))
		return NAT_OK;
	return NAT_NO_SESSION;
}

bool nat_mapping_find(struct nat *nat, const struct nat_config *conf,
		      uint8_t proto, uint32_t int_addr, uint16_t int_port,
		      uint64_t now, struct nat_rewrite *ext)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	const struct nat_key k = { .addr = int_addr, .port = int_port,
				   .proto = proto, .kind = KEY_MAPPING_INT };
	const struct nat_forward *f;
	uint32_t idx;

	/* The same precedence as nat_flow_out: a forward first. */
	f = forward_by_internal(conf, proto, int_addr, int_port);
	if (f) {
		ext->addr = forward_ext_addr(conf, f);
		ext->port = htons(f->external_port);
		return true;
	}
	idx = nat_index_find(nat, &k, &c);
	if (idx == NAT_NONE)
		return false;
	ext->addr = nat_mapping_at(nat, idx)->ext_addr;
	ext->port = nat_mapping_at(nat, idx)->ext_port;
	return true;
}

