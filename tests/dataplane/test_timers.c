/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for dataplane/timers.c: deterministic scenarios with injected time
 * and a fixed random source, following the paper's section 6 timelines.
 * The test plays the caller: it polls, performs the actions it is given and
 * reports the resulting events, as the control thread does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcullis/wire.h"
#include "random.h"
#include "timers.h"

#define SEC(s) ((uint64_t)(s) * NSEC_PER_SEC)
#define MSEC(ms) ((uint64_t)(ms) * NSEC_PER_MSEC)
#define T0 SEC(1000)                    /* an arbitrary boot-relative start */
#define JITTER_BOUND ((uint32_t)(REKEY_TIMEOUT_JITTER_MAX_MS * NSEC_PER_MSEC))

/* --- A random source that makes the jitter a chosen value ------------------ */

static uint32_t fixed_word;

static void fixed_source(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i += sizeof(fixed_word))
		memcpy(p + i, &fixed_word,
		       len - i < sizeof(fixed_word) ? len - i : sizeof(fixed_word));
}

/*
 * random_uniform(bound) rejects words below 2^32 mod bound, then reduces
 * mod bound.  The largest word congruent to j is above that threshold, so
 * it is taken at once and yields exactly j.
 */
static void set_jitter(uint64_t j)
{
	uint32_t k = (uint32_t)((UINT32_MAX - j) / JITTER_BOUND);

	fixed_word = (uint32_t)j + k * JITTER_BOUND;
	random_source_set(fixed_source);
	assert_int_equal(random_uniform(JITTER_BOUND), j);
}

static int setup(void **state)
{
	(void)state;
	set_jitter(MSEC(100));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	random_source_set(NULL);
	return 0;
}

/* Poll at now and check exactly which actions fire. */
static void expect_poll(struct wg_timers *t, uint64_t now, unsigned want)
{
	unsigned got = wg_timers_poll(t, now);

	if (got != want)
		fail_msg("poll at %llu ns: actions 0x%x, want 0x%x",
			 (unsigned long long)now, got, want);
}

/* The caller sends an initiation: what send.c reports to the timers. */
static void send_initiation(struct wg_timers *t, uint64_t now)
{
	wg_timers_any_authenticated_packet_traversal(t, now);
	wg_timers_any_authenticated_packet_sent(t, now);
	wg_timers_handshake_initiated(t, now);
}

/* --- Section 6.4: retransmission and giving up ---------------------------- */

static void test_retransmit_until_give_up(void **state)
{
	const uint64_t period = SEC(REKEY_TIMEOUT_S) + MSEC(100);
	struct wg_timers t;
	unsigned retries = 0, actions;
	uint64_t now = T0;

	(void)state;
	wg_timers_init(&t, 0);
	wg_timers_session_derived(&t, T0 - SEC(30));
	assert_true(wg_timers_may_initiate(&t, now, false));
	send_initiation(&t, now);
	for (;;) {
		uint64_t next = wg_timers_next_deadline(&t);

		assert_int_equal(next, now + period);  /* every 5 s + jitter */
		expect_poll(&t, next - 1, TIMER_ACTION_NONE);
		now = next;
		actions = wg_timers_poll(&t, now);
		if (actions != TIMER_RETRANSMIT_INITIATION)
			break;
		retries++;
		assert_true(wg_timers_may_initiate(&t, now, true));
		send_initiation(&t, now);
		assert_int_equal(t.handshake_attempts, retries);
	}
	/*
	 * As Linux: the count is tested before it is incremented, so there are
	 * MAX_TIMER_HANDSHAKES + 1 = 19 retries and the give-up comes on the
	 * 20th expiry, REKEY_ATTEMPT_TIME plus one period after the first send.
	 */
	assert_int_equal(actions, TIMER_HANDSHAKE_GAVE_UP);
	assert_int_equal(retries, MAX_TIMER_HANDSHAKES + 1);
	assert_int_equal(now, T0 + (MAX_TIMER_HANDSHAKES + 2) * period);
	assert_true(now - T0 >= SEC(REKEY_ATTEMPT_TIME_S));
	assert_int_equal(t.retransmit_handshake_at, 0);
	/* The zeroing armed by session_derived is not postponed. */
	assert_int_equal(t.zero_key_material_at, T0 - SEC(30) + SEC(540));
	assert_int_equal(wg_timers_next_deadline(&t), T0 - SEC(30) + SEC(540));
	expect_poll(&t, now + SEC(1), TIMER_ACTION_NONE);
}

/* Giving up with no keys pending arms the zeroing, and cancels a passive
 * keepalive even when it is due at the same instant. */
static void test_give_up_arms_zeroing(void **state)
{
	struct wg_timers t;
	uint64_t at;

	(void)state;
	wg_timers_init(&t, 0);
	send_initiation(&t, T0);
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	at = t.retransmit_handshake_at;
	wg_timers_data_received(&t, at - SEC(KEEPALIVE_TIMEOUT_S));
	assert_int_equal(t.send_keepalive_at, at);
	expect_poll(&t, at, TIMER_HANDSHAKE_GAVE_UP);
	assert_int_equal(t.send_keepalive_at, 0);
	assert_int_equal(t.zero_key_material_at, at + SEC(3 * REJECT_AFTER_TIME_S));
	expect_poll(&t, at + SEC(539), TIMER_ACTION_NONE);
	expect_poll(&t, at + SEC(540), TIMER_ZERO_KEY_MATERIAL);
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
}

/* After giving up, a new handshake (data staged again) starts a fresh
 * series of attempts instead of giving up at the first expiry. */
static void test_new_handshake_resets_attempts(void **state)
{
	struct wg_timers t;
	uint64_t now = T0;

	(void)state;
	wg_timers_init(&t, 0);
	send_initiation(&t, now);
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	now = t.retransmit_handshake_at;
	expect_poll(&t, now, TIMER_HANDSHAKE_GAVE_UP);

	now += SEC(60);
	wg_timers_handshake_requested(&t);
	assert_int_equal(t.handshake_attempts, 0);
	assert_true(wg_timers_may_initiate(&t, now, false));
	send_initiation(&t, now);
	expect_poll(&t, t.retransmit_handshake_at, TIMER_RETRANSMIT_INITIATION);
	assert_int_equal(t.handshake_attempts, 1);

	/* A caller that never calls handshake_requested(): a non-retry send
	 * restarts the count by itself. */
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	t.retry_pending = false;
	send_initiation(&t, now + SEC(10));
	assert_int_equal(t.handshake_attempts, 0);
}

static void test_handshake_complete_stops_retries(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	send_initiation(&t, T0);
	expect_poll(&t, t.retransmit_handshake_at, TIMER_RETRANSMIT_INITIATION);
	send_initiation(&t, T0 + SEC(6));
	wg_timers_handshake_complete(&t, T0 + SEC(7));
	wg_timers_session_derived(&t, T0 + SEC(7));
	assert_int_equal(t.handshake_attempts, 0);
	assert_int_equal(t.retransmit_handshake_at, 0);
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(7) + SEC(540));
	expect_poll(&t, T0 + SEC(60), TIMER_ACTION_NONE);
}

/* --- Section 6.5: passive keepalive and the dead-peer handshake ---------- */

static void test_keepalive_after_receive(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	wg_timers_data_received(&t, T0);
	wg_timers_data_received(&t, T0 + SEC(3));  /* another before it fires */
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(10));
	expect_poll(&t, T0 + SEC(10) - 1, TIMER_ACTION_NONE);
	expect_poll(&t, T0 + SEC(10), TIMER_SEND_KEEPALIVE);
	/* need_another_keepalive: one more, KEEPALIVE_TIMEOUT later. */
	assert_false(t.need_another_keepalive);
	assert_int_equal(t.send_keepalive_at, T0 + SEC(20));
	expect_poll(&t, T0 + SEC(20), TIMER_SEND_KEEPALIVE);
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);

	/* Anything sent in the meantime makes the keepalive unnecessary. */
	wg_timers_data_received(&t, T0 + SEC(30));
	wg_timers_any_authenticated_packet_sent(&t, T0 + SEC(35));
	expect_poll(&t, T0 + SEC(45), TIMER_ACTION_NONE);
}

static void test_new_handshake_after_send(void **state)
{
	const uint64_t wait = SEC(KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S) + MSEC(100);
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	/* Data keeps flowing out; the deadline is not pushed back by it. */
	for (unsigned s = 0; s < 15; s++)
		wg_timers_data_sent(&t, T0 + SEC(s));
	assert_int_equal(t.new_handshake_at, T0 + wait);
	expect_poll(&t, T0 + wait - 1, TIMER_ACTION_NONE);
	t.handshake_attempts = 7;
	expect_poll(&t, T0 + wait, TIMER_SEND_INITIATION);
	assert_int_equal(t.handshake_attempts, 0);  /* a new handshake */

	/* Anything received from the peer proves it alive. */
	wg_timers_data_sent(&t, T0 + SEC(100));
	wg_timers_any_authenticated_packet_received(&t, T0 + SEC(101));
	expect_poll(&t, T0 + SEC(200), TIMER_ACTION_NONE);
}

/* A tick-driven run of a peer that only sends: nothing for 15 s + jitter,
 * then exactly one initiation, and nothing between ticks. */
static void test_one_way_stream_ticks(void **state)
{
	struct wg_timers t;
	uint64_t fired_at = 0;

	(void)state;
	set_jitter(MSEC(250));
	wg_timers_init(&t, 0);
	for (uint64_t now = T0; now < T0 + SEC(20); now += MSEC(10)) {
		unsigned a;

		if ((now - T0) % SEC(1) == 0) {
			wg_timers_data_sent(&t, now);
			wg_timers_any_authenticated_packet_sent(&t, now);
		}
		a = wg_timers_poll(&t, now);
		if (a == TIMER_SEND_INITIATION) {
			assert_int_equal(fired_at, 0);
			fired_at = now;
		} else {
			assert_int_equal(a, TIMER_ACTION_NONE);
		}
	}
	assert_int_equal(fired_at, T0 + SEC(15) + MSEC(250));
}

/* --- Persistent keepalive -------------------------------------------------- */

static void test_persistent_keepalive(void **state)
{
	struct wg_timers t;
	uint64_t now = T0;

	(void)state;
	wg_timers_init(&t, 25);
	wg_timers_any_authenticated_packet_traversal(&t, now);
	for (int i = 0; i < 10; i++) {
		expect_poll(&t, now + SEC(25) - 1, TIMER_ACTION_NONE);
		now += SEC(25);
		expect_poll(&t, now, TIMER_SEND_PERSISTENT_KEEPALIVE);
		assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
		wg_timers_any_authenticated_packet_traversal(&t, now);
	}
	/* Traffic in either direction pushes it back. */
	wg_timers_any_authenticated_packet_traversal(&t, now + SEC(20));
	expect_poll(&t, now + SEC(25), TIMER_ACTION_NONE);
	expect_poll(&t, now + SEC(45), TIMER_SEND_PERSISTENT_KEEPALIVE);

	/* Off: no timer. */
	wg_timers_init(&t, 0);
	wg_timers_any_authenticated_packet_traversal(&t, now);
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
}

static void test_set_persistent_keepalive(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	wg_timers_set_persistent_keepalive(&t, 25, T0);    /* off -> on: now */
	expect_poll(&t, T0, TIMER_SEND_PERSISTENT_KEEPALIVE);
	wg_timers_any_authenticated_packet_traversal(&t, T0);
	wg_timers_set_persistent_keepalive(&t, 40, T0 + SEC(5));
	assert_int_equal(t.persistent_keepalive_at, T0 + SEC(45));
	wg_timers_set_persistent_keepalive(&t, 0, T0 + SEC(6));
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
	expect_poll(&t, T0 + SEC(100), TIMER_ACTION_NONE);
}

/* --- Section 6.3: erasing keys ----------------------------------------------- */

static void test_zero_key_material(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	wg_timers_session_derived(&t, T0);
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(540));
	wg_timers_session_derived(&t, T0 + SEC(100));      /* a rekey */
	expect_poll(&t, T0 + SEC(540), TIMER_ACTION_NONE);
	expect_poll(&t, T0 + SEC(640), TIMER_ZERO_KEY_MATERIAL);
	expect_poll(&t, T0 + SEC(641), TIMER_ACTION_NONE);
}

/* --- Section 6.2: key lifetimes -------------------------------------------- */

struct rekey_case {
	bool initiator;
	uint64_t age;
	uint64_t counter;
	bool usable, on_send, on_receive;
};

static const struct rekey_case rekey_cases[] = {
	/*  1 */ { true, 0, 0, true, false, false },
	/*  2 */ { true, SEC(120) - 1, 0, true, false, false },
	/*  3 */ { true, SEC(120), 0, true, true, false },
	/*  4 */ { false, SEC(120), 0, true, false, false },  /* responder */
	/*  5 */ { true, SEC(165) - 1, 0, true, true, false },
	/*  6 */ { true, SEC(165), 0, true, true, true },
	/*  7 */ { false, SEC(165), 0, true, false, false },
	/*  8 */ { true, SEC(180) - 1, 0, true, true, true },
	/*  9 */ { true, SEC(180), 0, false, true, true },
	/* 10 */ { false, SEC(180), 0, false, false, false },
	/* 11 */ { false, 0, REKEY_AFTER_MESSAGES, true, false, false },
	/* 12 */ { false, 0, REKEY_AFTER_MESSAGES + 1, true, true, false },
	/* 13 */ { true, 0, REJECT_AFTER_MESSAGES - 1, true, true, false },
	/* 14 */ { true, 0, REJECT_AFTER_MESSAGES, false, true, false },
	/* 15 */ { false, 0, UINT64_MAX, false, true, false },
};

static void test_keypair_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rekey_cases) / sizeof(rekey_cases[0]); i++) {
		const struct rekey_case *c = &rekey_cases[i];
		uint64_t now = T0 + c->age;

		if (wg_keypair_usable(T0, c->counter, now) != c->usable ||
		    wg_keypair_should_rekey_on_send(c->initiator, T0, c->counter,
						    now) != c->on_send ||
		    wg_keypair_should_rekey_on_receive(c->initiator, T0, now) !=
			    c->on_receive)
			fail_msg("rekey case %zu", i + 1);
	}
	/* A birthdate after now (clock skew between threads) is not expired. */
	assert_true(wg_keypair_usable(T0 + SEC(1), 0, T0));
}

/* --- Rate limit, deadlines, and time 0 --------------------------------------- */

static void test_may_initiate(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	assert_true(wg_timers_may_initiate(&t, T0, false));  /* never sent */
	send_initiation(&t, T0);
	assert_false(wg_timers_may_initiate(&t, T0, false));
	assert_false(wg_timers_may_initiate(&t, T0 + SEC(5) - 1, false));
	assert_true(wg_timers_may_initiate(&t, T0 + SEC(5), false));
	assert_true(wg_timers_may_initiate(&t, T0 + 1, true));  /* retries */
}

static void test_next_deadline(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 25);
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
	wg_timers_session_derived(&t, T0);                    /* +540 s */
	wg_timers_any_authenticated_packet_traversal(&t, T0); /* +25 s */
	wg_timers_data_sent(&t, T0);                          /* +15.1 s */
	wg_timers_data_received(&t, T0);                      /* +10 s */
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(10));
	/* Sending cancels the keepalive, arms the retransmit at +6.1 s and
	 * moves the persistent keepalive to +26 s. */
	send_initiation(&t, T0 + SEC(1));
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(6) + MSEC(100));
	expect_poll(&t, T0 + SEC(16), TIMER_RETRANSMIT_INITIATION |
				     TIMER_SEND_INITIATION);
	assert_int_equal(wg_timers_next_deadline(&t), T0 + SEC(26));
	expect_poll(&t, T0 + SEC(600), TIMER_SEND_PERSISTENT_KEEPALIVE |
				      TIMER_ZERO_KEY_MATERIAL);
	assert_int_equal(wg_timers_next_deadline(&t), UINT64_MAX);
}

/* Time 0 is a valid now: deadlines are never 0 ("unarmed"), and a
 * handshake sent at 0 is recorded as sent (at 1 ns). */
static void test_time_zero(void **state)
{
	struct wg_timers t;

	(void)state;
	wg_timers_init(&t, 0);
	wg_timers_data_received(&t, 0);
	assert_int_equal(wg_timers_next_deadline(&t), SEC(10));
	expect_poll(&t, SEC(10), TIMER_SEND_KEEPALIVE);

	send_initiation(&t, 0);
	assert_int_not_equal(t.last_sent_handshake, 0);
	assert_false(wg_timers_may_initiate(&t, 0, false));
	assert_false(wg_timers_may_initiate(&t, SEC(5) - 1, false));
	assert_true(wg_timers_may_initiate(&t, SEC(5) + 1, false));

	wg_timers_init(&t, 0);
	wg_timers_set_persistent_keepalive(&t, 1, 0);
	assert_int_equal(wg_timers_next_deadline(&t), 1);
	expect_poll(&t, 1, TIMER_SEND_PERSISTENT_KEEPALIVE);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		TEST(test_retransmit_until_give_up),
		TEST(test_give_up_arms_zeroing),
		TEST(test_new_handshake_resets_attempts),
		TEST(test_handshake_complete_stops_retries),
		TEST(test_keepalive_after_receive),
		TEST(test_new_handshake_after_send),
		TEST(test_one_way_stream_ticks),
		TEST(test_persistent_keepalive),
		TEST(test_set_persistent_keepalive),
		TEST(test_zero_key_material),
		TEST(test_keypair_rules),
		TEST(test_may_initiate),
		TEST(test_next_deadline),
		TEST(test_time_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
