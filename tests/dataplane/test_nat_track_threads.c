/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/nat_track.c beside test_nat_track.c: a randomized
 * comparison with a naive model, and a threaded run (workers creating and
 * answering the same flows while a control thread expires and reclaims;
 * run it under -Db_sanitize=thread when touching the table).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "nat_track_test_util.h"

/* --- Randomized comparison with a naive model ----------------------------- */

/*
 * UDP and ICMP echo flows between two tunnel and two private hosts, both
 * families; random opens, replies, clock steps and expiry passes on a
 * table small enough to fill.  The model keeps every session in an array
 * and judges it by the rule of nat_table.h (timed out after strictly more
 * than `timeout` whole seconds, clock = seconds + 1).
 */
enum { M_FLOWS = 48, M_CAPACITY = 24, M_OPS = 60000, M_MAX = 4096 };

struct model {
	struct { int flow; uint32_t seen; bool linked; } s[M_MAX];
	unsigned n, linked;
};

static bool m_udp(int flow)
{
	return (flow >> 1) & 1;
}

static bool m_alive(const struct model *m, unsigned i, uint32_t secs,
		    const struct nat_config *conf)
{
	uint32_t to = conf->timeout[m_udp(m->s[i].flow) ? NAT_TIMEOUT_UDP
							: NAT_TIMEOUT_ICMP];

	return m->s[i].linked &&
	       !(secs > m->s[i].seen && secs - m->s[i].seen > to);
}

static int m_find(const struct model *m, int flow, uint32_t secs,
		  const struct nat_config *conf)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->s[i].flow == flow && m_alive(m, i, secs, conf))
			return (int)i;
	return -1;
}

static enum nat_result m_op(struct model *m, int way, int flow,
			    uint32_t secs, const struct nat_config *conf)
{
	int i = m_find(m, flow, secs, conf);

	if (i >= 0) {
		if (m->s[i].seen < secs)
			m->s[i].seen = secs;
		return NAT_OK;
	}
	if (way == REPLY)
		return NO;
	if (m->linked == M_CAPACITY)
		return NAT_TABLE_FULL;
	assert_true(m->n < M_MAX);
	m->s[m->n].flow = flow;
	m->s[m->n].seen = secs;
	m->s[m->n++].linked = true;
	m->linked++;
	return NAT_OK;
}

static unsigned m_expire(struct model *m, uint32_t secs,
			 const struct nat_config *conf)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->n; i++)
		if (m->s[i].linked && !m_alive(m, i, secs, conf)) {
			m->s[i].linked = false;
			n++;
		}
	m->linked -= n;
	return n;
}

static void m_packet(struct pk *p, int way, int flow)
{
	int fam = flow & 1;
	const char *t = hosts[fam][T1 + ((flow >> 2) & 1)];
	const char *h = hosts[fam][P1 + ((flow >> 3) & 1)];
	uint16_t port = (uint16_t)(1000 + (flow >> 4));

	if (m_udp(flow))
		way == OPEN ? udp(p, t, port, h, 53) : udp(p, h, 53, t, port);
	else
		way == OPEN ? echo(p, t, h, true, port)
			    : echo(p, h, t, false, port);
}

static void test_random_vs_naive(void **state)
{
	struct fx *f = fx_new(M_CAPACITY);
	struct model *m = calloc(1, sizeof(*m));
	uint64_t now = SEC(5);

	(void)state;
	assert_non_null(m);
	rng_state = 0x13198a2e03707344ULL;
	for (int i = 0; i < M_OPS; i++) {
		uint32_t r = (uint32_t)(rng() % 100), secs;
		int flow = (int)(rng() % M_FLOWS);
		enum nat_result got, want;
		struct pk p;

		if (r < 6) {
			now += rng() % SEC(40);
			continue;
		}
		secs = nat_clock_at(&f->conf, now).secs;
		if (r < 8) {
			want = m_expire(m, secs, &f->conf);
			got = nat_expire(f->nat, &f->lc, &f->conf, now, ALL);
			nat_reclaim(f->nat);
		} else {
			int way = r < 54 ? OPEN : REPLY;

			m_packet(&p, way, flow);
			want = m_op(m, way, flow, secs, &f->conf);
			got = op(f, way, &p, now);
		}
		if (got != want)
			fail_msg("op %d (r %u flow %d at %u s): got %d want %d",
				 i, r, flow, secs, got, want);
		if (m->n == M_MAX)
			break;
	}
	assert_int_equal(nat_active_sessions(f->nat), m->linked);
	free(m);
	fx_free(f);
}

/* --- Threads -------------------------------------------------------------- */

/*
 * Workers open and answer the same flows (in one order when a generation
 * starts, so that they race to create them) while a control thread
 * expires at the slowest worker's clock and reclaims after a grace
 * period.  Every open and every answer of a flow a worker just
 * opened must succeed; an answer for a flow nobody opened must not.
 * Flows change every TH_GEN rounds, so sessions keep expiring.
 */
enum { TH_WORKERS = 4, TH_ROUNDS = 240, TH_FLOWS = 96, TH_GEN = 4,
       TH_LAG = 6, TH_TIMEOUT = 3 };

struct th {
	struct nat *nat;
	struct nat_config conf;
	struct nat_lcore lc[TH_WORKERS + 1];
	struct pk open[TH_FLOWS], reply[TH_FLOWS], stranger[TH_FLOWS];
	_Atomic uint32_t round[TH_WORKERS], quiescent[TH_WORKERS];
	_Atomic uint32_t expired_at;
	_Atomic bool done[TH_WORKERS];
	_Atomic unsigned errors;
	char first_error[128];
};

struct th_arg {
	struct th *th;
	int id;
};

/* Flow i of generation gen: its tunnel-side port is at byte 0 of the
 * open packet's transport header and byte 2 of the reply's; an echo
 * identifier (at 4 of both) is the only thing telling echo flows of one
 * pair of hosts apart, so each flow has its own. */
static void th_port(struct pk *p, bool reply, int gen, int i)
{
	uint32_t l4 = (p->b[0] >> 4) == 4 ? 20 : 40;
	bool icmp = p->b[(p->b[0] >> 4) == 4 ? 9 : 6] != UDP;
	uint16_t v = htons((uint16_t)(icmp ? gen * TH_FLOWS + i : 10000 + gen));

	memcpy(p->b + l4 + (icmp ? 4 : reply ? 2 : 0), &v, 2);
}

static void th_error(struct th *th, const char *what, int id, int round,
		     int i)
{
	if (atomic_fetch_add(&th->errors, 1) == 0)
		snprintf(th->first_error, sizeof(th->first_error),
			 "%s: worker %d round %d flow %d", what, id, round, i);
}

static void th_round(struct th *th, int id, int round)
{
	struct nat_lcore *lc = &th->lc[id];
	const uint64_t now = SEC(round);

	for (int k = 0; k < TH_FLOWS; k++) {
		/* A generation's first round: all in one order, so that
		 * they race to create the same flows; then each its own. */
		int i = (k + (round % TH_GEN ? id * 29 : 0)) % TH_FLOWS;
		struct pk o = th->open[i], r = th->reply[i];

		th_port(&o, false, round / TH_GEN, i);
		th_port(&r, true, round / TH_GEN, i);
		if (nat_track_open(th->nat, lc, &th->conf, o.b, o.len, now) !=
		    NAT_OK)
			th_error(th, "open", id, round, i);
		if (nat_track_reply(th->nat, lc, &th->conf, r.b, r.len, now) !=
		    NAT_OK)
			th_error(th, "reply", id, round, i);
		if (nat_track_reply(th->nat, lc, &th->conf, th->stranger[i].b,
				    th->stranger[i].len, now) != NO)
			th_error(th, "stranger admitted", id, round, i);
	}
}

static void *th_worker(void *p)
{
	struct th_arg *a = p;
	struct th *th = a->th;

	for (int round = 0; round < TH_ROUNDS; round++) {
		/* Bounded lag behind expiry; waiting holds nothing. */
		while ((uint32_t)round > atomic_load(&th->expired_at) + TH_LAG) {
			atomic_fetch_add(&th->quiescent[a->id], 1);
			sched_yield();
		}
		th_round(th, a->id, round);
		atomic_store(&th->round[a->id], (uint32_t)round + 1);
		atomic_fetch_add(&th->quiescent[a->id], 1);
	}
	nat_lcore_release(th->nat, &th->lc[a->id]);
	atomic_store(&th->done[a->id], true);
	return NULL;
}

static bool th_all_done(struct th *th)
{
	for (int w = 0; w < TH_WORKERS; w++)
		if (!atomic_load(&th->done[w]))
			return false;
	return true;
}

static void *th_control(void *p)
{
	struct th *th = p;

	while (!th_all_done(th)) {
		uint32_t snap[TH_WORKERS], slowest = UINT32_MAX;

		for (int w = 0; w < TH_WORKERS; w++)
			if (atomic_load(&th->round[w]) < slowest)
				slowest = atomic_load(&th->round[w]);
		nat_expire(th->nat, &th->lc[TH_WORKERS], &th->conf,
			   SEC(slowest), 512);
		atomic_store(&th->expired_at, slowest);
		for (int w = 0; w < TH_WORKERS; w++)
			snap[w] = atomic_load(&th->quiescent[w]);
		for (int w = 0; w < TH_WORKERS; w++)
			while (atomic_load(&th->quiescent[w]) == snap[w] &&
			       !atomic_load(&th->done[w]))
				sched_yield();
		nat_reclaim(th->nat);
	}
	return NULL;
}

static void th_setup(struct th *th)
{
	rng_state = 0xa4093822299f31d0ULL;
	random_source_set(test_source);
	nat_config_defaults(&th->conf);
	th->conf.timeout[NAT_TIMEOUT_UDP] = TH_TIMEOUT;
	th->conf.timeout[NAT_TIMEOUT_ICMP] = TH_TIMEOUT;
	th->nat = nat_create(8192);
	assert_non_null(th->nat);
	for (int w = 0; w <= TH_WORKERS; w++)
		nat_lcore_init(&th->lc[w]);
	for (int i = 0; i < TH_FLOWS; i++) {
		int fam = i & 1;
		const char *t = hosts[fam][T1 + ((i >> 1) & 1)];
		const char *h = hosts[fam][P1 + ((i >> 2) & 1)];
		uint16_t dport = (uint16_t)(100 + i);

		if (i % 3 == 0) {
			echo(&th->open[i], t, h, true, 0);
			echo(&th->reply[i], h, t, false, 0);
			echo(&th->stranger[i], h, t, false, 60000);
		} else {
			udp(&th->open[i], t, 0, h, dport);
			udp(&th->reply[i], h, dport, t, 0);
			udp(&th->stranger[i], h, dport, t, 9);
		}
	}
}

static void test_threads(void **state)
{
	struct th *th = zalloc64(sizeof(*th));
	struct th_arg args[TH_WORKERS];
	pthread_t w[TH_WORKERS], ctl;
	uint64_t created = 0, expired;

	(void)state;
	th_setup(th);
	for (int i = 0; i < TH_WORKERS; i++) {
		args[i] = (struct th_arg){ th, i };
		assert_int_equal(pthread_create(&w[i], NULL, th_worker, &args[i]),
				 0);
	}
	assert_int_equal(pthread_create(&ctl, NULL, th_control, th), 0);
	for (int i = 0; i < TH_WORKERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(ctl, NULL);
	if (th->errors)
		fail_msg("%u errors, first: %s", th->errors, th->first_error);
	/* It ran concurrently: sessions expired while workers ran. */
	expired = th->lc[TH_WORKERS].stats.tracked_expired[NAT_PROTO_UDP];
	assert_true(expired > 0);
	nat_expire(th->nat, &th->lc[TH_WORKERS], &th->conf,
		   SEC(TH_ROUNDS + 100), ALL);
	nat_reclaim(th->nat);
	for (int i = 0; i < TH_WORKERS; i++)
		for (int p = 0; p < NAT_PROTO_COUNT; p++)
			created += th->lc[i].stats.tracked_created[p];
	expired = 0;
	for (int p = 0; p < NAT_PROTO_COUNT; p++)
		expired += th->lc[TH_WORKERS].stats.tracked_expired[p];
	assert_int_equal(nat_active_sessions(th->nat), 0);
	assert_int_equal(created, expired);
	/* Each flow of each generation was created at least once. */
	assert_true(created >= (uint64_t)TH_FLOWS * (TH_ROUNDS / TH_GEN));
	nat_destroy(th->nat);
	random_source_set(NULL);
	free(th);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
