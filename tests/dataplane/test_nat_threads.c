/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat.c and dataplane/nat_table.c, continued from
 * test_nat.c: a randomized comparison against a naive model made of
 * arrays and linear scans, and two multi-threaded runs: workers sharing
 * flows while a control thread expires and reclaims, and two threads
 * creating the same flows at the same moment.  The threaded runs are the
 * ones that found a reply missing the session another lcore was still
 * publishing; run them under -Db_sanitize=thread too when touching the
 * table.  This executable links meson's thread dependency.
 *
 * Time is injected; randomness comes from a fixed xorshift stream.  The
 * test looks inside the table (nat_table.h) to check invariants.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nat_test_util.h"

/* --- Randomized comparison with a naive model ----------------------------- */

/*
 * The model keeps every session and mapping in plain arrays and finds
 * them by linear scan.  It cannot know which random port a new mapping
 * gets, so it takes the table's choice and checks it against the rules:
 * free, not a forward's, the internal port when that was free, the
 * internal port's parity when one of that parity was free.  The port
 * range is small (so exhaustion happens) and within the exhaustive-scan
 * size, and MaxSessions is small (so the table fills).
 */
enum { M_MAX = 20, M_SLOTS = 512, M_LO = 1000, M_HI = 1011, M_FWD = 1004 };

struct m_session {
	bool used;
	uint8_t proto;
	uint32_t int_addr, rem_addr;
	uint16_t int_port, rem_port, ext_port;
	uint32_t last;
	int mapping;                  /* -1: the forward */
};

struct m_mapping {
	bool used;
	uint8_t proto;
	uint32_t int_addr;
	uint16_t int_port, ext_port;
	int refs;
};

struct model {
	struct m_session s[M_SLOTS];
	struct m_mapping m[M_SLOTS];
	unsigned active;
	bool eif;
};

static uint32_t m_timeout(const struct fx *f, uint8_t proto)
{
	return f->conf.timeout[proto == UDP ? NAT_TIMEOUT_UDP : NAT_TIMEOUT_ICMP];
}

static bool m_visible(const struct fx *f, const struct m_session *s,
		      uint32_t secs)
{
	return s->used &&
	       !(secs > s->last && secs - s->last > m_timeout(f, s->proto));
}

static struct m_session *m_find(struct fx *f, struct model *md, bool out_key,
				const struct nat_tuple *t, uint32_t secs)
{
	for (int i = 0; i < M_SLOTS; i++) {
		struct m_session *s = &md->s[i];
		bool hit = out_key
			? s->int_addr == t->src &&
			  s->int_port == ntohs(t->sport) &&
			  s->rem_addr == t->dst && s->rem_port == ntohs(t->dport)
			: s->ext_port == ntohs(t->dport) && s->rem_addr == t->src &&
			  s->rem_port == ntohs(t->sport);

		if (hit && s->proto == t->proto && m_visible(f, s, secs))
			return s;
	}
	return NULL;
}

static struct m_mapping *m_mapping(struct model *md, uint8_t proto,
				   bool by_int, uint32_t addr, uint16_t port)
{
	for (int i = 0; i < M_SLOTS; i++) {
		struct m_mapping *m = &md->m[i];

		if (m->used && m->proto == proto &&
		    (by_int ? m->int_addr == addr && m->int_port == port
			    : m->ext_port == port))
			return m;
	}
	return NULL;
}

static bool m_port_free(struct model *md, uint8_t proto, uint16_t p)
{
	return !(proto == UDP && p == M_FWD) &&
	       !m_mapping(md, proto, false, 0, p);
}

static void m_add_session(struct model *md, const struct m_session *want)
{
	for (int i = 0; i < M_SLOTS; i++)
		if (!md->s[i].used) {
			md->s[i] = *want;
			md->s[i].used = true;
			md->active++;
			if (want->mapping >= 0)
				md->m[want->mapping].refs++;
			return;
		}
	fail_msg("model full");
}

/* Check the table's choice of port for a new mapping; record it. */
static int m_new_mapping(struct model *md, uint8_t proto, uint32_t addr,
			 uint16_t port, uint16_t got, size_t op)
{
	bool any = false, same_parity = false;

	for (uint32_t p = M_LO; p <= M_HI; p++)
		if (m_port_free(md, proto, (uint16_t)p)) {
			any = true;
			same_parity |= (p & 1) == (port & 1u);
		}
	if (!any)
		fail_msg("op %zu: got a port from a full range", op);
	if (got < M_LO || got > M_HI || !m_port_free(md, proto, got))
		fail_msg("op %zu: port %u not free", op, got);
	if (port >= M_LO && port <= M_HI && m_port_free(md, proto, port) &&
	    got != port)
		fail_msg("op %zu: port %u not preserved (%u)", op, port, got);
	if (same_parity && (got & 1) != (port & 1))
		fail_msg("op %zu: parity of %u lost (%u)", op, port, got);
	for (int i = 0; i < M_SLOTS; i++)
		if (!md->m[i].used) {
			md->m[i] = (struct m_mapping){ true, proto, addr, port,
						       got, 0 };
			return i;
		}
	fail_msg("model full");
	return -1;
}

static bool m_ports_left(struct model *md, uint8_t proto)
{
	for (uint32_t p = M_LO; p <= M_HI; p++)
		if (m_port_free(md, proto, (uint16_t)p))
			return true;
	return false;
}

static bool m_is_forward(const struct nat_tuple *t, bool internal)
{
	return t->proto == UDP &&
	       (internal ? t->src == ip("10.0.0.9") && ntohs(t->sport) == 53
			 : t->dst == ip(EXT) && ntohs(t->dport) == M_FWD);
}

static enum nat_result m_out(struct fx *f, struct model *md,
			     const struct nat_tuple *t, uint32_t secs,
			     const struct nat_rewrite *got, size_t op)
{
	struct m_session *s = m_find(f, md, true, t, secs);
	struct m_session want = { .proto = t->proto, .int_addr = t->src,
				  .int_port = ntohs(t->sport), .rem_addr = t->dst,
				  .rem_port = ntohs(t->dport), .last = secs,
				  .mapping = -1, .ext_port = M_FWD };
	struct m_mapping *m;

	if (s) {
		s->last = secs > s->last ? secs : s->last;
		return NAT_OK;
	}
	if (!m_is_forward(t, true)) {
		if ((ntohl(t->src) >> 16) != (10u << 8))
			return NAT_NOT_MASQUERADED;
		if (md->active >= M_MAX)
			return NAT_TABLE_FULL;
		m = m_mapping(md, t->proto, true, t->src, ntohs(t->sport));
		if (m) {
			want.mapping = (int)(m - md->m);
		} else if (!m_ports_left(md, t->proto)) {
			return NAT_PORTS_EXHAUSTED;
		} else {
			want.mapping = m_new_mapping(md, t->proto, t->src,
						     ntohs(t->sport),
						     ntohs(got->port), op);
		}
		want.ext_port = md->m[want.mapping].ext_port;
	} else if (md->active >= M_MAX) {
		return NAT_TABLE_FULL;
	}
	m_add_session(md, &want);
	return NAT_OK;
}

static enum nat_result m_in(struct fx *f, struct model *md,
			    const struct nat_tuple *t, uint32_t secs)
{
	struct m_session *s = m_find(f, md, false, t, secs);
	struct m_session want = { .proto = t->proto, .rem_addr = t->src,
				  .rem_port = ntohs(t->sport),
				  .ext_port = ntohs(t->dport), .last = secs,
				  .mapping = -1 };
	struct m_mapping *m = NULL;

	if (s) {
		s->last = secs > s->last ? secs : s->last;
		return NAT_OK;
	}
	if (m_is_forward(t, false)) {
		want.int_addr = ip("10.0.0.9");
		want.int_port = 53;
	} else {
		m = md->eif ? m_mapping(md, t->proto, false, 0, ntohs(t->dport))
			    : NULL;
		if (!m)
			return NAT_NO_SESSION;
		want.int_addr = m->int_addr;
		want.int_port = m->int_port;
		want.mapping = (int)(m - md->m);
	}
	if (md->active >= M_MAX)
		return NAT_TABLE_FULL;
	m_add_session(md, &want);
	return NAT_OK;
}

static unsigned m_expire(struct fx *f, struct model *md, uint32_t secs)
{
	unsigned n = 0;

	for (int i = 0; i < M_SLOTS; i++) {
		struct m_session *s = &md->s[i];

		if (!s->used || m_visible(f, s, secs))
			continue;
		s->used = false;
		md->active--;
		n++;
		if (s->mapping >= 0 && --md->m[s->mapping].refs == 0)
			md->m[s->mapping].used = false;
	}
	return n;
}

/* What the model says a translation should give. */
static void m_expect_rw(struct model *md, const struct nat_tuple *t,
			bool out_dir, uint32_t secs, struct fx *f,
			const struct nat_rewrite *rw, size_t op)
{
	const struct m_session *s = m_find(f, md, out_dir, t, secs);

	if (!s)
		fail_msg("op %zu: no model session after OK", op);
	if (out_dir ? rw->addr != ip(EXT) || ntohs(rw->port) != s->ext_port
		    : rw->addr != s->int_addr || ntohs(rw->port) != s->int_port)
		fail_msg("op %zu: rewrite %08x:%u", op, ntohl(rw->addr),
			 ntohs(rw->port));
}

/* Every external port of a live mapping is its mapping's alone (the
 * ports were checked to lie in [M_LO, M_HI] when they were handed out). */
static void m_check_unique(struct model *md, size_t op)
{
	bool seen[2][M_HI - M_LO + 1] = { { false } };

	for (int i = 0; i < M_SLOTS; i++) {
		const struct m_mapping *m = &md->m[i];
		bool *bit;

		if (!m->used)
			continue;
		bit = &seen[m->proto == UDP][m->ext_port - M_LO];
		if (*bit)
			fail_msg("op %zu: external port %u twice", op,
				 m->ext_port);
		*bit = true;
	}
}

static struct nat_tuple random_tuple(bool out_dir)
{
	static const char *const inside[] = { "10.0.0.1", "10.0.0.2",
					      "10.0.0.9", "10.1.0.1",
					      "192.168.0.1" };
	static const uint16_t int_ports[] = { 1000, 1001, M_FWD, 3000, 53 };
	uint8_t proto = rng() % 3 ? UDP : ICMP;
	uint32_t rem = ip(rng() % 2 ? "198.51.100.1" : "198.51.100.2");
	uint16_t rport = proto == ICMP ? 0 : (uint16_t)(53 + rng() % 2);
	struct nat_tuple t = { .proto = proto };

	if (out_dir) {
		t.src = ip(inside[rng() % 5]);
		t.sport = htons(int_ports[rng() % 5]);
		t.dst = rem;
		t.dport = htons(rport);
	} else {
		t.src = rem;
		t.sport = htons(rport);
		t.dst = ip(EXT);
		t.dport = htons((uint16_t)(M_LO - 1 + rng() % (M_HI - M_LO + 3)));
	}
	return t;
}

static void random_translate(struct fx *f, struct model *md, bool o,
			     uint64_t now, size_t op)
{
	uint32_t secs = (uint32_t)(now / NSEC_PER_SEC) + 1;
	struct nat_tuple t = random_tuple(o);
	struct nat_rewrite rw = { 0 };
	enum nat_result got, want;

	got = o ? nat_flow_out(f->nat, &f->lc, &f->conf, &t, 0, now, &rw)
		: nat_flow_in(f->nat, &f->lc, &f->conf, &t, 0, now, &rw);
	want = o ? m_out(f, md, &t, secs, &rw, op) : m_in(f, md, &t, secs);
	if (got != want)
		fail_msg("op %zu %s: got %d want %d", op, o ? "out" : "in", got,
			 want);
	if (got == NAT_OK)
		m_expect_rw(md, &t, o, secs, f, &rw, op);
}

static void random_find(struct fx *f, struct model *md, bool o, uint64_t now,
			size_t op)
{
	uint32_t secs = (uint32_t)(now / NSEC_PER_SEC) + 1;
	struct nat_tuple t = random_tuple(o);
	bool admit = rng() & 1, mapped, want_mapped;
	const struct m_mapping *m;
	struct nat_rewrite rw;
	enum nat_result got, want;

	got = nat_flow_find(f->nat, &f->conf, o ? NAT_DIR_OUT : NAT_DIR_IN, &t,
			    admit, now, &rw);
	want = m_find(f, md, o, &t, secs) ||
	       (!o && admit && (m_is_forward(&t, false) ||
				(md->eif && m_mapping(md, t.proto, false, 0,
						      ntohs(t.dport)))))
		? NAT_OK : NAT_NO_SESSION;
	if (got != want)
		fail_msg("op %zu find: got %d want %d", op, got, want);
	if (!o)
		return;
	mapped = nat_mapping_find(f->nat, &f->conf, t.proto, t.src, t.sport,
				  now, &rw);
	m = m_mapping(md, t.proto, true, t.src, ntohs(t.sport));
	want_mapped = m || m_is_forward(&t, true);
	if (mapped != want_mapped ||
	    (mapped && ntohs(rw.port) != (m ? m->ext_port : M_FWD)))
		fail_msg("op %zu mapping_find: %d port %u", op, mapped,
			 ntohs(rw.port));
}

static void random_expire(struct fx *f, struct model *md, uint64_t now,
			  size_t op)
{
	unsigned n = nat_expire(f->nat, &f->lc, &f->conf, now, ALL);

	if (n != m_expire(f, md, (uint32_t)(now / NSEC_PER_SEC) + 1))
		fail_msg("op %zu: expired %u", op, n);
	if (nat_active_sessions(f->nat) != md->active)
		fail_msg("op %zu: active %u want %u", op,
			 nat_active_sessions(f->nat), md->active);
	nat_reclaim(f->nat);
}

/* One random operation: half translations out, a quarter in, then
 * look-ups, time passing and expiry. */
static void random_step(struct fx *f, struct model *md, uint64_t *now,
			size_t op)
{
	unsigned kind = (unsigned)(rng() % 16);

	if (kind < 12)
		random_translate(f, md, kind < 8, *now, op);
	else if (kind < 14)
		random_find(f, md, kind == 12, *now, op);
	else if (kind == 14)
		*now += rng() % 2 ? SEC(rng() % 40) : rng() % SEC(2);
	else
		random_expire(f, md, *now, op);
	m_check_unique(md, op);
}

static void test_random_vs_naive(void **state)
{
	(void)state;
	for (int seq = 0; seq < 40; seq++) {
		struct fx *f = fx_new(M_MAX);
		struct model *md = calloc(1, sizeof(*md));
		uint64_t now = SEC(seq);

		rng_state = 0x9e3779b97f4a7c15ULL + (uint64_t)seq;
		assert_non_null(md);
		md->eif = seq & 1;
		f->conf.filtering = md->eif
			? NAT_FILTER_ENDPOINT_INDEPENDENT
			: NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT;
		f->conf.port_min = M_LO;
		f->conf.port_max = M_HI;
		f->conf.timeout[NAT_TIMEOUT_UDP] = 120;
		f->conf.timeout[NAT_TIMEOUT_ICMP] = 60;
		fx_forward(f, UDP, NULL, M_FWD, "10.0.0.9", 53);
		for (size_t op = 0; op < 2500; op++)
			random_step(f, md, &now, op);
		free(md);
		fx_free(f);
	}
}

/* --- Threads -------------------------------------------------------------- */

/*
 * Workers translate an overlapping set of "hot" flows, each in its own
 * order, so they race to create the same mappings and sessions and to
 * claim ports; every few rounds a new generation of hot flows starts and
 * the old one goes cold.  Each also creates a few "churn" flows a round,
 * which the next worker must then find.  A control thread expires and,
 * after every worker has passed a quiescent point (a hand-made RCU grace
 * period), reclaims.  Each worker's clock is its round; the expiry clock
 * is the slowest worker's, so a flow some worker still uses never
 * expires, and any change of its external port would be a bug.
 */
enum {
	T_WORKERS = 3, T_ROUNDS = 120, T_GEN = 10, T_GENS = T_ROUNDS / T_GEN,
	T_HOT = 96, T_CHURN = 8, T_TIMEOUT = 3, T_LAG = 4,
};

struct churn_box {
	pthread_mutex_t lock;
	int round;                      /* -1: empty */
	struct nat_tuple t[T_CHURN];    /* inbound: remote -> external */
	uint32_t int_addr[T_CHURN];
};

struct mt {
	struct nat_lcore lc[T_WORKERS + 1];     /* the last: control */
	struct nat *nat;
	struct nat_config conf;
	_Atomic uint32_t round[T_WORKERS];      /* rounds completed */
	_Atomic uint32_t quiescent[T_WORKERS];  /* quiescent states passed */
	_Atomic uint32_t expired_at;            /* clock of the last expiry */
	_Atomic bool done[T_WORKERS];
	_Atomic uint32_t hot_ext[T_GENS][T_HOT]; /* 0x10000 | port */
	struct churn_box box[T_WORKERS];
	_Atomic unsigned errors, found_by_other;
	char first_error[128];
};

struct worker_arg {
	struct mt *mt;
	int id;
};

static struct nat_tuple hot_tuple(int gen, int i)
{
	char src[32], dst[32];

	snprintf(src, sizeof(src), "10.0.%d.%d", 1 + gen % 4, 1 + i % 48);
	snprintf(dst, sizeof(dst), "198.51.100.%d", 1 + i % 5);
	return (struct nat_tuple){ ip(src), ip(dst), htons(4000 + i / 48),
				   htons(53 + gen % 3), UDP };
}

/* Count a failure, and describe the first for the report. */
static void error(struct mt *mt, const char *what, int worker, int round,
		  int i)
{
	if (atomic_fetch_add(&mt->errors, 1) == 0)
		snprintf(mt->first_error, sizeof(mt->first_error),
			 "%s: worker %d round %d flow %d", what, worker, round, i);
}

static void worker_hot(struct mt *mt, int id, int round)
{
	int gen = round / T_GEN;
	struct nat_lcore *lc = &mt->lc[id];

	for (int k = 0; k < T_HOT; k++) {
		int i = (k + id * 37) % T_HOT;  /* each its own order */
		struct nat_tuple t = hot_tuple(gen, i), back;
		struct nat_rewrite rw;
		uint32_t want = 0, got;

		if (nat_flow_out(mt->nat, lc, &mt->conf, &t, 0, SEC(round),
				 &rw) != NAT_OK || rw.addr != ip(EXT)) {
			error(mt, "hot out", id, round, i);
			continue;
		}
		got = 0x10000u | ntohs(rw.port);
		if (!atomic_compare_exchange_strong(&mt->hot_ext[gen][i], &want,
						    got) && want != got)
			error(mt, "hot port changed", id, round, i);
		back = (struct nat_tuple){ t.dst, rw.addr, t.dport, rw.port, UDP };
		if (nat_flow_in(mt->nat, lc, &mt->conf, &back, 0, SEC(round),
				&rw) != NAT_OK ||
		    rw.addr != t.src || rw.port != t.sport)
			error(mt, "hot in", id, round, i);
	}
}

static void worker_churn(struct mt *mt, int id, int round)
{
	struct churn_box *mine = &mt->box[id];
	struct churn_box *next = &mt->box[(id + 1) % T_WORKERS];
	struct churn_box seen;
	char src[32];

	pthread_mutex_lock(&mine->lock);
	mine->round = round;
	for (int c = 0; c < T_CHURN; c++) {
		struct nat_tuple t;
		struct nat_rewrite rw;

		snprintf(src, sizeof(src), "10.%d.%d.%d", 100 + id, round,
			 c + 1);
		t = (struct nat_tuple){ ip(src), ip("198.51.100.50"),
					htons(7000), htons(9999), UDP };
		if (nat_flow_out(mt->nat, &mt->lc[id], &mt->conf, &t, 0,
				 SEC(round), &rw) != NAT_OK)
			error(mt, "churn out", id, round, c);
		mine->t[c] = (struct nat_tuple){ t.dst, rw.addr, t.dport,
						 rw.port, UDP };
		mine->int_addr[c] = t.src;
	}
	pthread_mutex_unlock(&mine->lock);
	pthread_mutex_lock(&next->lock);
	seen = *next;
	pthread_mutex_unlock(&next->lock);
	/* Within the timeout of its creation it must be there. */
	if (seen.round < 0 || round > seen.round + T_TIMEOUT - 1)
		return;
	for (int c = 0; c < T_CHURN; c++) {
		struct nat_rewrite rw;

		if (nat_flow_find(mt->nat, &mt->conf, NAT_DIR_IN, &seen.t[c],
				  false, SEC(round), &rw) != NAT_OK ||
		    rw.addr != seen.int_addr[c])
			error(mt, "churn not found", id, round, c);
		else
			atomic_fetch_add(&mt->found_by_other, 1);
	}
}

static void *worker(void *p)
{
	struct worker_arg *a = p;

	struct mt *mt = a->mt;

	for (int round = 0; round < T_ROUNDS; round++) {
		/* Stay within T_LAG rounds of the last expiry, whatever the
		 * scheduler does, so the live set (and the ports it holds)
		 * stays bounded.  Waiting holds nothing: quiescent. */
		while ((uint32_t)round > atomic_load(&mt->expired_at) + T_LAG) {
			atomic_fetch_add(&mt->quiescent[a->id], 1);
			sched_yield();
		}
		worker_hot(mt, a->id, round);
		worker_churn(mt, a->id, round);
		atomic_store(&mt->round[a->id], (uint32_t)round + 1);
		/* Between rounds a worker holds nothing found in the table. */
		atomic_fetch_add(&mt->quiescent[a->id], 1);
	}
	nat_lcore_release(mt->nat, &mt->lc[a->id]);
	atomic_store(&mt->done[a->id], true);
	return NULL;
}

static bool all_done(struct mt *mt)
{
	for (int w = 0; w < T_WORKERS; w++)
		if (!atomic_load(&mt->done[w]))
			return false;
	return true;
}

static void *controller(void *p)
{
	struct mt *mt = p;
	struct nat_lcore *lc = &mt->lc[T_WORKERS];

	while (!all_done(mt)) {
		uint32_t snap[T_WORKERS], slowest = UINT32_MAX;

		for (int w = 0; w < T_WORKERS; w++)
			if (atomic_load(&mt->round[w]) < slowest)
				slowest = atomic_load(&mt->round[w]);
		/* A partial walk: the cursor carries over between calls. */
		nat_expire(mt->nat, lc, &mt->conf, SEC(slowest), 1024);
		atomic_store(&mt->expired_at, slowest);
		/* Grace period: every worker passes a quiescent point. */
		for (int w = 0; w < T_WORKERS; w++)
			snap[w] = atomic_load(&mt->quiescent[w]);
		for (int w = 0; w < T_WORKERS; w++)
			while (atomic_load(&mt->quiescent[w]) == snap[w] &&
			       !atomic_load(&mt->done[w]))
				sched_yield();
		nat_reclaim(mt->nat);
	}
	return NULL;
}

/* Among everything still linked: one mapping per external port, one
 * usable session per key. */
static void check_unique(struct mt *mt, uint64_t now)
{
	const struct nat_clock c = nat_clock_at(&mt->conf, now);
	struct nat *nat = mt->nat;
	uint32_t ns = nat->sessions.bump, nm = nat->mappings.bump;

	for (uint32_t i = 0; i < nm; i++)
		for (uint32_t j = i + 1; j < nm; j++) {
			const struct nat_mapping *a = nat_mapping_at(nat, i);
			const struct nat_mapping *b = nat_mapping_at(nat, j);

			if (a->refs && b->refs && a->proto == b->proto &&
			    a->ext_port == b->ext_port)
				fail_msg("port %u mapped twice",
					 ntohs(a->ext_port));
		}
	for (uint32_t i = 0; i < ns; i++) {
		const struct nat_session *a = nat_session_at(nat, i);

		if (nat_session_timed_out(a, a->last_seen, &c))
			continue;
		for (uint32_t j = i + 1; j < ns; j++) {
			const struct nat_session *b = nat_session_at(nat, j);

			if (!nat_session_timed_out(b, b->last_seen, &c) &&
			    a->rem_addr == b->rem_addr &&
			    a->rem_port == b->rem_port &&
			    ((a->int_addr == b->int_addr &&
			      a->int_port == b->int_port) ||
			     a->ext_port == b->ext_port))
				fail_msg("sessions %u and %u share a key", i, j);
		}
	}
}

static void check_generations(struct mt *mt)
{
	for (int g = 0; g < T_GENS; g++)
		for (int i = 0; i < T_HOT; i++)
			for (int j = i + 1; j < T_HOT; j++)
				if (mt->hot_ext[g][i] == mt->hot_ext[g][j])
					fail_msg("generation %d: flows %d and %d "
						 "share port %u", g, i, j,
						 mt->hot_ext[g][i] & 0xffff);
}

static void test_threads(void **state)
{
	struct mt *mt = zalloc64(sizeof(*mt));
	struct worker_arg args[T_WORKERS];
	pthread_t th[T_WORKERS], ctl;
	uint64_t created = 0, m_created = 0;
	struct nat_stats *cs;

	(void)state;
	rng_state = 0x3c6ef372fe94f82bULL;
	random_source_set(test_source);
	nat_config_defaults(&mt->conf);
	mt->conf.masquerade[0] = (struct ip_prefix){ ip_addr4("10.0.0.0"), 8 };
	mt->conf.n_masquerade = 1;
	mt->conf.external = ip_addr4(EXT);
	mt->conf.port_min = 3000;
	mt->conf.port_max = 5999;
	mt->conf.timeout[NAT_TIMEOUT_UDP] = T_TIMEOUT;
	mt->nat = nat_create(8192);
	assert_non_null(mt->nat);
	for (int w = 0; w <= T_WORKERS; w++)
		nat_lcore_init(&mt->lc[w]);
	for (int w = 0; w < T_WORKERS; w++) {
		pthread_mutex_init(&mt->box[w].lock, NULL);
		mt->box[w].round = -1;
	}
	for (int w = 0; w < T_WORKERS; w++) {
		args[w] = (struct worker_arg){ mt, w };
		assert_int_equal(pthread_create(&th[w], NULL, worker, &args[w]),
				 0);
	}
	assert_int_equal(pthread_create(&ctl, NULL, controller, mt), 0);
	for (int w = 0; w < T_WORKERS; w++)
		pthread_join(th[w], NULL);
	pthread_join(ctl, NULL);

	if (mt->errors)
		fail_msg("%u errors, first: %s", mt->errors, mt->first_error);
	assert_true(mt->found_by_other > 0);
	check_generations(mt);
	check_unique(mt, SEC(T_ROUNDS));
	cs = &mt->lc[T_WORKERS].stats;
	assert_true(cs->expired[NAT_PROTO_UDP] > 0);   /* it ran concurrently */
	nat_expire(mt->nat, &mt->lc[T_WORKERS], &mt->conf, SEC(T_ROUNDS + 10),
		   ALL);
	nat_reclaim(mt->nat);
	for (int w = 0; w < T_WORKERS; w++) {
		created += mt->lc[w].stats.created[NAT_PROTO_UDP];
		m_created += mt->lc[w].stats.mappings_created;
	}
	assert_int_equal(nat_active_sessions(mt->nat), 0);
	assert_int_equal(cs->expired[NAT_PROTO_UDP], created);
	assert_int_equal(cs->mappings_expired, m_created);
	for (int w = 0; w < T_WORKERS; w++)
		pthread_mutex_destroy(&mt->box[w].lock);
	nat_destroy(mt->nat);
	random_source_set(NULL);
	free(mt);
}

/* Two threads meet before each flow and create it at the same moment:
 * every race between them ends with one session and one mapping per
 * flow, which both see, and the loser counted nothing. */
enum { R_FLOWS = 3000 };

struct race {
	struct nat_lcore lc[2];
	struct nat *nat;
	struct nat_config conf;
	_Atomic int arrived[R_FLOWS];
	uint16_t port[2][R_FLOWS];
};

struct race_arg {
	struct race *r;
	int id;
};

static struct nat_tuple race_tuple(int i)
{
	return (struct nat_tuple){ htonl(0x0a000000u + (uint32_t)i + 1),
				   ip("198.51.100.7"), htons(5000), htons(53),
				   UDP };
}

static void *racer(void *p)
{
	struct race_arg *a = p;
	struct race *r = a->r;

	for (int i = 0; i < R_FLOWS; i++) {
		struct nat_tuple t = race_tuple(i);
		struct nat_rewrite rw = { 0 };

		/* Meet the other thread before each flow. */
		atomic_fetch_add(&r->arrived[i], 1);
		for (int spins = 0; atomic_load(&r->arrived[i]) < 2; spins++)
			if (spins > 1000)
				sched_yield();

		if (nat_flow_out(r->nat, &r->lc[a->id], &r->conf, &t, 0, 0,
				 &rw) == NAT_OK)
			r->port[a->id][i] = ntohs(rw.port);
	}
	nat_lcore_release(r->nat, &r->lc[a->id]);
	return NULL;
}

static void test_threads_same_flows(void **state)
{
	struct race *r = zalloc64(sizeof(*r));
	struct race_arg args[2] = { { r, 0 }, { r, 1 } };
	pthread_t th[2];
	bool *used = calloc(65536, sizeof(bool));

	(void)state;
	assert_non_null(used);
	rng_state = 0x510e527fade682d1ULL;
	random_source_set(test_source);
	nat_config_defaults(&r->conf);
	r->conf.masquerade[0] = (struct ip_prefix){ ip_addr4("10.0.0.0"), 8 };
	r->conf.n_masquerade = 1;
	r->conf.external = ip_addr4(EXT);
	r->nat = nat_create(2 * R_FLOWS);
	assert_non_null(r->nat);
	for (int i = 0; i < 2; i++)
		nat_lcore_init(&r->lc[i]);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer, &args[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < R_FLOWS; i++) {
		if (r->port[0][i] == 0 || r->port[0][i] != r->port[1][i])
			fail_msg("flow %d: ports %u and %u", i, r->port[0][i],
				 r->port[1][i]);
		if (used[r->port[0][i]])
			fail_msg("flow %d: port %u twice", i, r->port[0][i]);
		used[r->port[0][i]] = true;
	}
	assert_int_equal(r->lc[0].stats.created[NAT_PROTO_UDP] +
			 r->lc[1].stats.created[NAT_PROTO_UDP], R_FLOWS);
	assert_int_equal(r->lc[0].stats.mappings_created +
			 r->lc[1].stats.mappings_created, R_FLOWS);
	assert_int_equal(nat_active_sessions(r->nat), R_FLOWS);
	nat_destroy(r->nat);
	random_source_set(NULL);
	free(used);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_same_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
