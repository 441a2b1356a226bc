/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NAT sessions as the CLI sees them: a walk that describes each one
 * in plain terms (portcullisctl nat sessions) and a flush that removes
 * those a predicate picks (portcullisctl nat flush).  Control thread only.
 *
 * Both scan the session slots handed out so far, as the expiry walk does,
 * and read a slot the way expiry does: last_seen first (acquire), the key
 * fields after it, which never change while the session is linked.  A
 * slot is only reused after nat_reclaim, which the control thread runs
 * itself, so nothing here can see a slot recycled under it.  The flush
 * removes through nat_session_unlink, expiry's own path.
 */
#include "nat_table.h"

#include <arpa/inet.h>
#include <string.h>

/* A removal loses its CAS to a worker's refresh at most once per second
 * of the flow's life (the timer moves in whole seconds): a few retries
 * are enough to win against any flow. */
enum { FLUSH_TRIES = 8 };

static const char *const state_names[NAT_STATE_COUNT] = {
	[NAT_STATE_OPEN] = "open",
	[NAT_STATE_SYN_SENT] = "syn_sent",
	[NAT_STATE_SYN_RECEIVED] = "syn_received",
	[NAT_STATE_ESTABLISHED] = "established",
	[NAT_STATE_FIN_WAIT] = "fin_wait",
	[NAT_STATE_CLOSING] = "closing",
	[NAT_STATE_CLOSED] = "closed",
};

const char *nat_session_state_name(enum nat_session_state s)
{
	return s < NAT_STATE_COUNT ? state_names[s] : "unknown";
}

/* The TCP bits (nat_table.h) in the words of RFC 9293's states, as far
 * as a middlebox can tell them: it sees segments, not sequence numbers. */
static enum nat_session_state tcp_state(unsigned bits)
{
	const unsigned both_syn = NAT_TCP_SYN_OUT | NAT_TCP_SYN_IN;
	const unsigned fins = bits & (NAT_TCP_FIN_OUT | NAT_TCP_FIN_IN);

	if (bits & NAT_TCP_RST_SEEN)
		return NAT_STATE_CLOSED;
	if (fins == (NAT_TCP_FIN_OUT | NAT_TCP_FIN_IN))
		return NAT_STATE_CLOSING;
	if (fins)
		return NAT_STATE_FIN_WAIT;
	if (nat_tcp_established(bits))
		return NAT_STATE_ESTABLISHED;
	if ((bits & both_syn) == both_syn)
		return NAT_STATE_SYN_RECEIVED;
	return NAT_STATE_SYN_SENT;
}

/* Whole seconds until nat_flow_timed_out says yes: a session last seen
 * in clock second L with timeout T is usable through second L + T. */
static uint32_t expires_in(const struct nat_session *s, uint32_t seen,
			   const struct nat_clock *c)
{
	uint64_t end = (uint64_t)seen +
		       nat_flow_timeout(s->proto, &s->tcp, c->timeout) + 1;

	return end > c->secs ? (uint32_t)(end - c->secs) : 0;
}

static void describe(const struct nat_session *s, uint32_t seen,
		     const struct nat_clock *c, struct nat_session_info *out)
{
	*out = (struct nat_session_info){
		.proto = s->proto,
		.inside_port = ntohs(s->int_port),
		.external_port = ntohs(s->ext_port),
		.remote_port = ntohs(s->rem_port),
		.state = s->proto == IPPROTO_TCP_
			? tcp_state(atomic_load_explicit(&s->tcp,
							 memory_order_relaxed))
			: NAT_STATE_OPEN,
		.expires_in = nat_session_timed_out(s, seen, c)
			? 0 : expires_in(s, seen, c),
		.forward = s->mapping == NAT_NONE,
	};
	memcpy(out->inside, &s->int_addr, 4);
	memcpy(out->external, &s->ext_addr, 4);
	memcpy(out->remote, &s->rem_addr, 4);
}

static uint32_t sessions_handed_out(const struct nat *nat)
{
	return atomic_load_explicit(&nat->sessions.bump, memory_order_acquire);
}

int nat_session_walk(const struct nat *nat, const struct nat_config *conf,
		     uint64_t now, nat_session_fn fn, void *ctx)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	uint32_t hi = sessions_handed_out(nat);
	struct nat_session_info info;

	for (uint32_t i = 0; i < hi; i++) {
		const struct nat_session *s = nat_session_at(nat, i);
		uint32_t seen = atomic_load_explicit(&s->last_seen,
						     memory_order_acquire);
		int ret;

		if (seen == NAT_DEAD || nat_session_timed_out(s, seen, &c))
			continue;
		describe(s, seen, &c, &info);
		ret = fn(&info, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* Judge and remove one slot.  Refreshes that land between our read and
 * our CAS change the timer, never the session, so the verdict stands:
 * read the timer again and retry. */
static unsigned flush_one(struct nat *nat, struct nat_lcore *lc,
			  const struct nat_clock *c, uint32_t idx,
			  nat_session_match_fn match, void *ctx)
{
	struct nat_session *s = nat_session_at(nat, idx);
	uint32_t seen = atomic_load_explicit(&s->last_seen,
					     memory_order_acquire);
	struct nat_session_info info;

	if (seen == NAT_DEAD)
		return 0;
	if (match) {
		describe(s, seen, c, &info);
		if (!match(&info, ctx))
			return 0;
	}
	for (int t = 0; t < FLUSH_TRIES && seen != NAT_DEAD; t++) {
		if (nat_session_unlink(nat, lc, idx, seen))
			return 1;
		seen = atomic_load_explicit(&s->last_seen,
					    memory_order_acquire);
	}
	return 0;
}

unsigned nat_session_flush(struct nat *nat, struct nat_lcore *lc,
			   const struct nat_config *conf, uint64_t now,
			   nat_session_match_fn match, void *ctx)
{
	const struct nat_clock c = nat_clock_at(conf, now);
	uint32_t hi = sessions_handed_out(nat);
	unsigned flushed = 0;

	for (uint32_t i = 0; i < hi; i++)
		flushed += flush_one(nat, lc, &c, i, match, ctx);
	return flushed;
}
