/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the Hetzner loop (hetzner.c): one HTTP request with libcurl,
 * its status, body and rate-limit headers.  Nothing here retries or
 * interprets the reply; hetzner.c does.
 *
 * The credentials go into one Authorization header that is wiped after
 * the request; libcurl's verbose output stays off and error texts never
 * include request headers, so the token cannot reach a log.
 */
#ifndef PORTCULLIS_HETZNER_HTTP_H
#define PORTCULLIS_HETZNER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

enum hz_http_limits {
	HZ_HTTP_MAX_BODY = 8 << 20,         /* bytes of a reply we accept */
	HZ_HTTP_CONNECT_TIMEOUT_MS = 10 * 1000,
	HZ_HTTP_TIMEOUT_MS = 30 * 1000,
};

enum hz_http_auth { HZ_AUTH_BEARER, HZ_AUTH_BASIC };

struct hz_http_request {
	const char *method;                 /* "GET", "POST", "DELETE" */
	const char *url;                    /* full URL, query encoded */
	enum hz_http_auth auth;
	const char *secret;                 /* token, or "user:password" */
	const char *body;                   /* JSON for POST, else NULL */
	/* Polled about once a second while the request runs: true ends it
	 * with -ECANCELED (the loop is stopping).  NULL: never. */
	bool (*cancelled)(void *ctx);
	void *ctx;
};

struct hz_http_response {
	long status;                        /* HTTP status, 0: no reply */
	char *body;                         /* NUL-terminated, malloc'd */
	size_t len;
	/* RateLimit-* headers of the reply, -1 when absent. */
	long ratelimit_limit, ratelimit_remaining;
	long long ratelimit_reset;          /* seconds since the epoch */
};

/* Once per process, before any thread calls hz_http_do (curl_global_init
 * is not thread-safe).  0 or -EIO. */
int hz_http_global_init(void);

/*
 * One request.  0 when a reply came (whatever its status; resp filled,
 * free it with hz_http_response_free), or -ETIMEDOUT, -ECONNREFUSED,
 * -EMSGSIZE (reply over HZ_HTTP_MAX_BODY), -ECANCELED, -ENOMEM or -EIO
 * with a one-line reason in err (no header, never a credential).
 */
int hz_http_do(const struct hz_http_request *req, struct hz_http_response *resp,
	       char *err, size_t errlen);
void hz_http_response_free(struct hz_http_response *resp);

/* Tests only (tests/interop/hetzner_probe.c): shorter timeouts so that a
 * stalled fake server costs a second, not 30.  0 keeps the default.  Call
 * before hetzner_start. */
void hz_http_set_timeouts(long connect_ms, long total_ms);

#endif
