/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-peer timer state machine of the WireGuard paper, section 6, with
 * the event semantics of Linux's drivers/net/wireguard/timers.c.
 *
 * Five one-shot timers, each stored as an absolute deadline in monotonic
 * nanoseconds:
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation is sent
 *                         and no response came (section 6.4);
 *   send_keepalive        KEEPALIVE_TIMEOUT after data was received and
 *                         nothing was sent back (section 6.5, passive
 *                         keepalive);
 *   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after
 *                         data was sent and nothing at all came back: the
 *                         peer is presumed gone and a handshake is started
 *                         (section 6.5);
 *   zero_key_material     3 * REJECT_AFTER_TIME after the last session was
 *                         derived (section 6.3: forward secrecy even if the
 *                         peer stops talking);
 *   persistent_keepalive  the configured interval after any authenticated
 *                         packet in either direction (keeps NAT mappings).
 *
 * The zero convention: a deadline of 0 means "not armed" and a
 * last_sent_handshake of 0 means "never".  Every deadline is now plus a
 * strictly positive delay, so it is never 0 even when now is 0 (tests
 * start clocks at 0).  The one place a deadline or timestamp could
 * legitimately be 0 is "due immediately / sent at time 0"; there we store
 * 1 instead, which moves the event by one nanosecond and is harmless.
 *
 * Arming an already armed timer moves its deadline (Linux mod_timer());
 * the "if not armed" cases below are the paper's, not an accident.
 */
#include "timers.h"

#include <string.h>

#include "portcullis/wire.h"
#include "random.h"

#define SEC(s) ((uint64_t)(s) * NSEC_PER_SEC)

/* Never 0: see the zero convention above. */
static inline uint64_t nonzero(uint64_t ns)
{
	return ns ? ns : 1;
}

/* now + delay, saturating so a clock near UINT64_MAX cannot wrap a
 * deadline into the past (or into the "unarmed" value 0). */
static inline uint64_t deadline(uint64_t now, uint64_t delay)
{
	return now > UINT64_MAX - delay ? UINT64_MAX : nonzero(now + delay);
}

/*
 * Section 6.4: "a random amount of jitter ... is added to prevent
 * timer-synchronised handshake storms".  Uniform in
 * [0, REKEY_TIMEOUT_JITTER_MAX_MS) milliseconds, drawn at nanosecond
 * resolution (334e6 fits in the 32-bit bound of random_uniform()).
 */
static uint64_t jitter(void)
{
	return random_uniform(REKEY_TIMEOUT_JITTER_MAX_MS * NSEC_PER_MSEC);
}

static inline bool armed(uint64_t at)
{
	return at != 0;
}

static inline bool due(uint64_t at, uint64_t now)
{
	return at != 0 && at <= now;
}

/* Age of a keypair; a birthdate in the future (it cannot happen with a
 * monotonic clock) counts as brand new, as Linux's signed comparison does. */
static inline uint64_t age(uint64_t birthdate, uint64_t now)
{
	return now > birthdate ? now - birthdate : 0;
}

void wg_timers_init(struct wg_timers *t, uint16_t persistent_keepalive_interval)
{
	memset(t, 0, sizeof(*t));
	t->persistent_keepalive_interval = persistent_keepalive_interval;
}

/*
 * As wg(8) "set ... persistent-keepalive": turning it off disarms the
 * timer; turning it on from off sends one keepalive at once (Linux set.c
 * does so, to open the NAT mapping without waiting for traffic), so the
 * timer is made due now; changing a non-zero interval re-arms it with the
 * new interval from now.
 */
void wg_timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval,
					uint64_t now)
{
	uint16_t old = t->persistent_keepalive_interval;

	t->persistent_keepalive_interval = interval;
	if (interval == 0)
		t->persistent_keepalive_at = 0;
	else if (old == 0)
		t->persistent_keepalive_at = nonzero(now);
	else
		t->persistent_keepalive_at = deadline(now, SEC(interval));
}

/* Section 6.5: if we send data and hear nothing for KEEPALIVE + REKEY
 * seconds, start a new handshake.  Not pushed back by further sends, or a
 * steady one-way stream would never notice a dead peer. */
void wg_timers_data_sent(struct wg_timers *t, uint64_t now)
{
	if (!armed(t->new_handshake_at))
		t->new_handshake_at =
			deadline(now, SEC(KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S) +
					      jitter());
}

/* Section 6.5: answer received data with a keepalive if we have nothing
 * to send within KEEPALIVE_TIMEOUT.  Data arriving while the keepalive is
 * pending asks for one more keepalive after that one. */
void wg_timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (!armed(t->send_keepalive_at))
		t->send_keepalive_at = deadline(now, SEC(KEEPALIVE_TIMEOUT_S));
	else
		t->need_another_keepalive = true;
}

/* Anything we send (data, keepalive, handshake) makes a passive keepalive
 * pointless. */
void wg_timers_any_authenticated_packet_sent(struct wg_timers *t, uint64_t now)
{
	(void)now;
	t->send_keepalive_at = 0;
}

/* Anything authenticated from the peer proves it is alive. */
void wg_timers_any_authenticated_packet_received(struct wg_timers *t, uint64_t now)
{
	(void)now;
	t->new_handshake_at = 0;
}

/* Persistent keepalive counts from the last authenticated packet in either
 * direction: a tunnel that is busy anyway needs no extra packets. */
void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now)
{
	if (t->persistent_keepalive_interval)
		t->persistent_keepalive_at =
			deadline(now, SEC(t->persistent_keepalive_interval));
}

/*
 * An initiation went out.  A send that does not answer a
 * TIMER_RETRANSMIT_INITIATION is a new handshake and restarts the attempt
 * count, as Linux's send path does for !is_retry (see also
 * wg_timers_handshake_requested()).
 */
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now)
{
	if (!t->retry_pending)
		t->handshake_attempts = 0;
	t->retry_pending = false;
	t->last_sent_handshake = nonzero(now);
	t->retransmit_handshake_at =
		deadline(now, SEC(REKEY_TIMEOUT_S) + jitter());
}

void wg_timers_handshake_requested(struct wg_timers *t)
{
	t->handshake_attempts = 0;
	t->retry_pending = false;
}

void wg_timers_handshake_complete(struct wg_timers *t, uint64_t now)
{
	(void)now;
	t->retransmit_handshake_at = 0;
	t->handshake_attempts = 0;
	t->retry_pending = false;
}

/* Section 6.3: keys are erased if no new session follows in 3 * Reject-
 * After-Time; each new session pushes that back. */
void wg_timers_session_derived(struct wg_timers *t, uint64_t now)
{
	t->zero_key_material_at = deadline(now, 3 * SEC(REJECT_AFTER_TIME_S));
}

bool wg_timers_may_initiate(const struct wg_timers *t, uint64_t now, bool is_retry)
{
	if (is_retry || t->last_sent_handshake == 0)
		return true;
	/* now < last only for the stored-as-1 handshake sent at time 0. */
	return now >= t->last_sent_handshake &&
	       now - t->last_sent_handshake >= SEC(REKEY_TIMEOUT_S);
}

/*
 * Section 6.4: retry every REKEY_TIMEOUT until REKEY_ATTEMPT_TIME has
 * passed, then give up: drop staged packets, stop keepalives, and let the
 * keys expire (zeroing is armed unless already pending, so giving up does
 * not postpone it).  As in Linux, the count is checked before it is
 * incremented, so the give-up comes on the MAX_TIMER_HANDSHAKES + 2nd
 * expiry, after MAX_TIMER_HANDSHAKES + 1 retransmissions.
 */
static unsigned fire_retransmit(struct wg_timers *t, uint64_t now)
{
	t->retransmit_handshake_at = 0;
	if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		t->send_keepalive_at = 0;
		t->retry_pending = false;
		if (!armed(t->zero_key_material_at))
			t->zero_key_material_at =
				deadline(now, 3 * SEC(REJECT_AFTER_TIME_S));
		return TIMER_HANDSHAKE_GAVE_UP;
	}
	t->handshake_attempts++;
	t->retry_pending = true;
	return TIMER_RETRANSMIT_INITIATION;
}

static unsigned fire_send_keepalive(struct wg_timers *t, uint64_t now)
{
	t->send_keepalive_at = 0;
	if (t->need_another_keepalive) {
		t->need_another_keepalive = false;
		t->send_keepalive_at = deadline(now, SEC(KEEPALIVE_TIMEOUT_S));
	}
	return TIMER_SEND_KEEPALIVE;
}

/* A new handshake, not a retry: the attempt count restarts (Linux queues
 * it with is_retry false), whether or not the rate limit lets it out. */
static unsigned fire_new_handshake(struct wg_timers *t)
{
	t->new_handshake_at = 0;
	wg_timers_handshake_requested(t);
	return TIMER_SEND_INITIATION;
}

unsigned wg_timers_poll(struct wg_timers *t, uint64_t now)
{
	unsigned actions = TIMER_ACTION_NONE;

	/* Retransmit first: giving up cancels a keepalive due at the same
	 * moment. */
	if (due(t->retransmit_handshake_at, now))
		actions |= fire_retransmit(t, now);
	if (due(t->send_keepalive_at, now))
		actions |= fire_send_keepalive(t, now);
	if (due(t->new_handshake_at, now))
		actions |= fire_new_handshake(t);
	if (due(t->zero_key_material_at, now)) {
		t->zero_key_material_at = 0;
		actions |= TIMER_ZERO_KEY_MATERIAL;
	}
	if (due(t->persistent_keepalive_at, now)) {
		/* Re-armed by the traversal event of the keepalive it sends. */
		t->persistent_keepalive_at = 0;
		if (t->persistent_keepalive_interval)
			actions |= TIMER_SEND_PERSISTENT_KEEPALIVE;
	}
	return actions;
}

uint64_t wg_timers_next_deadline(const struct wg_timers *t)
{
	const uint64_t all[] = {
		t->retransmit_handshake_at, t->send_keepalive_at,
		t->new_handshake_at, t->zero_key_material_at,
		t->persistent_keepalive_at,
	};
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (armed(all[i]) && all[i] < next)
			next = all[i];
	return next;
}

/* Section 6.2: a keypair is dead after Reject-After-Time or when its
 * counter reaches Reject-After-Messages, whichever comes first. */
bool wg_keypair_usable(uint64_t birthdate, uint64_t send_or_recv_counter, uint64_t now)
{
	return age(birthdate, now) < SEC(REJECT_AFTER_TIME_S) &&
	       send_or_recv_counter < REJECT_AFTER_MESSAGES;
}

/*
 * Section 6.2: the sender rekeys after Rekey-After-Messages, and the
 * initiator of the current session also after Rekey-After-Time; only the
 * initiator, so that both ends do not start handshakes at once (the
 * "thundering herd" the paper warns about).
 */
bool wg_keypair_should_rekey_on_send(bool is_initiator, uint64_t birthdate,
				     uint64_t send_counter, uint64_t now)
{
	return send_counter > REKEY_AFTER_MESSAGES ||
	       (is_initiator && age(birthdate, now) >= SEC(REKEY_AFTER_TIME_S));
}

/*
 * Section 6.2: an initiator that only receives would never hit the send
 * rule, so it rekeys on receipt once the keypair is within KEEPALIVE +
 * REKEY_TIMEOUT of Reject-After-Time, leaving time for a handshake before
 * the keys die.
 */
bool wg_keypair_should_rekey_on_receive(bool is_initiator, uint64_t birthdate,
					uint64_t now)
{
	return is_initiator &&
	       age(birthdate, now) >= SEC(REJECT_AFTER_TIME_S - KEEPALIVE_TIMEOUT_S -
					   REKEY_TIMEOUT_S);
}
