/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the Hetzner loop: the state its thread shares with the
 * control thread (hetzner.c), and the one API call with retries and
 * pacing that the round (hetzner.c) and the default-route management
 * (hetzner_route.c) both use.  Nothing else includes this.
 */
#ifndef PORTCULLIS_HETZNER_LOOP_H
#define PORTCULLIS_HETZNER_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hetzner.h"
#include "hetzner_http.h"

enum {
	HZ_TRIES = 5,                       /* per request, the first included */
	HZ_NS = 1000000000,
};

struct hetzner {
	pthread_t thread;
	bool thread_started;

	/* lock guards everything up to `status`, which the control thread
	 * reads; the loop holds it only to swap pointers and copy counters,
	 * never across a request. */
	pthread_mutex_t lock;
	pthread_cond_t wake;                /* CLOCK_MONOTONIC */
	bool stopping, kicked;
	struct hz_desired *pending;         /* good, not taken yet */
	struct hz_desired *last;            /* the last good one */
	struct hetzner_status status;

	/* The loop thread's alone after start (read-only or its own). */
	struct config_hetzner conf;         /* deep copy */
	char *selector_key;                 /* LabelSelector up to '=' */
	char *token;                        /* wiped on stop */
	char *robot_credentials;            /* "user:password", wiped */
	struct ip_addr private_ip;          /* IP_NONE: unknown */
	uint64_t network_id;                /* 0: resolve conf.network */
	bool network_by_name;
	uint64_t next_request;              /* monotonic ns: rate pacing */
	char last_logged[HZ_ERR_LEN];       /* the last round error logged */
};

/* Writes a message into err (cut to errlen: messages quote paths and API
 * texts of any length) and returns ret, for `return hz_fail(...)`. */
int hz_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

uint64_t hz_mono_ns(void);
uint64_t hz_real_ns(void);

/* Sleep until the monotonic deadline; false when the loop is stopping.
 * With kick_ends, a hetzner_kick ends the wait early too. */
bool hz_wait_until(struct hetzner *h, uint64_t deadline, bool kick_ends);

/*
 * One API request with the loop's rules: rate pacing before it, retries
 * with hz_backoff_ns on 429, 5xx, conflict, locked and network errors (at
 * most HZ_TRIES tries).  path is relative to the endpoint ("/servers?..."),
 * also used in messages.  0: a 2xx reply in resp (free it).  Otherwise
 * resp holds nothing and err says why:
 *   -EACCES  401 or 403 (for Robot: 401, and 403 other than its rate
 *            limit): the credentials are refused;
 *   -ENOENT  404;
 *   -ECANCELED  the loop is stopping;
 *   other    anything else, retries spent or not retryable.
 */
int hz_api_call(struct hetzner *h, const char *method, bool robot,
		const char *path, const char *body, struct hz_http_response *resp,
		char *err, size_t errlen);

/* One round (hetzner_round.c): 0 once its desired state is posted, else
 * err says why (-EACCES: credentials refused, the loop stops; -ECANCELED:
 * stopping). */
int hz_round_run(struct hetzner *h, char *err, size_t errlen);

/* Posts a good round's state (ownership passes) and records the success;
 * -ENOMEM and d stays the caller's. */
int hz_deliver(struct hetzner *h, struct hz_desired *d);
/* hz_desired_free and free; NULL is fine. */
void hz_desired_destroy(struct hz_desired *d);

/* ManageRoute (hetzner_route.c): make sure net has 0.0.0.0/0 via the
 * bastion, record the result in status.route_state, and update net's
 * routes to what the API now has.  Never fails the round. */
void hz_route_manage(struct hetzner *h, struct hz_network *net);

/* Records s as status.route_state (under the lock). */
void hz_route_state_set(struct hetzner *h, const char *s);

#endif
