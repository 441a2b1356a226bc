/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-peer timer state machine of the WireGuard paper, section 6, with
 * the event names of Linux's timers.c.  Pure logic: the caller reports
 * events with the monotonic time (ns) at which they happened and polls for
 * due actions; nothing here reads a clock.  Jitter comes from random.h.
 *
 * Called from the control thread only.  The dataplane records per-peer
 * timestamps (data sent/received, any authenticated packet sent/received)
 * and the control thread turns advances of those timestamps into the events
 * below once per tick; the deadlines are therefore exact up to the tick.
 */
#ifndef PORTCULLIS_TIMERS_H
#define PORTCULLIS_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

enum timer_action {
	TIMER_ACTION_NONE = 0,
	TIMER_SEND_INITIATION = 1 << 0,        /* new handshake: not a retry */
	TIMER_RETRANSMIT_INITIATION = 1 << 1,  /* retry after REKEY_TIMEOUT */
	TIMER_SEND_KEEPALIVE = 1 << 2,         /* passive keepalive */
	TIMER_SEND_PERSISTENT_KEEPALIVE = 1 << 3,
	TIMER_ZERO_KEY_MATERIAL = 1 << 4,
	TIMER_HANDSHAKE_GAVE_UP = 1 << 5,      /* drop staged packets */
};

struct wg_timers {
	uint64_t retransmit_handshake_at;      /* 0: not armed */
	uint64_t send_keepalive_at;
	uint64_t new_handshake_at;
	uint64_t zero_key_material_at;
	uint64_t persistent_keepalive_at;
	uint64_t last_sent_handshake;          /* 0: never */
	unsigned handshake_attempts;
	bool need_another_keepalive;
	uint16_t persistent_keepalive_interval; /* seconds, 0: off */
	bool retry_pending;    /* RETRANSMIT_INITIATION returned, not yet sent */
};

void wg_timers_init(struct wg_timers *t, uint16_t persistent_keepalive_interval);
/* Changing the interval re-arms the persistent keepalive (as wg set does). */
void wg_timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval,
					uint64_t now);

/* Events (Linux timers.c names). */
void wg_timers_data_sent(struct wg_timers *t, uint64_t now);
void wg_timers_data_received(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_sent(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_received(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_complete(struct wg_timers *t, uint64_t now);
void wg_timers_session_derived(struct wg_timers *t, uint64_t now);
/*
 * A new (not retry) initiation is wanted, e.g. a packet was staged with no
 * usable keypair.  Restarts the attempt count before the rate limit is
 * consulted, as Linux's send path does for !is_retry, so a peer that keeps
 * having data to send keeps trying past REKEY_ATTEMPT_TIME.  Optional:
 * wg_timers_handshake_initiated() also restarts the count for any send not
 * answering TIMER_RETRANSMIT_INITIATION, and TIMER_SEND_INITIATION does.
 */
void wg_timers_handshake_requested(struct wg_timers *t);

/*
 * True if an initiation may be sent now: retries always, new handshakes at
 * most once per REKEY_TIMEOUT since the last one sent.
 */
bool wg_timers_may_initiate(const struct wg_timers *t, uint64_t now, bool is_retry);

/* Actions due at now (bitmask of enum timer_action); fired timers disarm or
 * re-arm as the paper says.  The caller performs the actions, and reports
 * wg_timers_handshake_initiated() when it actually sends an initiation. */
unsigned wg_timers_poll(struct wg_timers *t, uint64_t now);
/* Earliest armed deadline, or UINT64_MAX. */
uint64_t wg_timers_next_deadline(const struct wg_timers *t);

/* Keypair age and use rules (paper section 6.2). */
bool wg_keypair_usable(uint64_t birthdate, uint64_t send_or_recv_counter, uint64_t now);
bool wg_keypair_should_rekey_on_send(bool is_initiator, uint64_t birthdate,
				     uint64_t send_counter, uint64_t now);
bool wg_keypair_should_rekey_on_receive(bool is_initiator, uint64_t birthdate,
					uint64_t now);

#endif
