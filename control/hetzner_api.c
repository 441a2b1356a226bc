/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One Hetzner API call with the loop's manners: pace by the rate-limit
 * headers, retry what may heal (429, 5xx, conflict, locked, network
 * errors and timeouts) with exponential backoff and full jitter, and give
 * up at once on what will not (401/403: the credentials; 404; 4xx).
 *
 * The Cloud API's rate limit is a token bucket: RateLimit-Limit requests
 * (3600 by default), RateLimit-Remaining of them left, refilled at a
 * steady rate so that the bucket is full again at RateLimit-Reset (a UNIX
 * time) if no request is made.  Once fewer than a tenth are left, the
 * loop spends no faster than they come back: one request per refill
 * interval, (Reset - now) / (Limit - Remaining), at most 60 s apart.  The
 * Robot webservice sends no such headers; its rate limit comes as 403
 * RATE_LIMIT_EXCEEDED and is retried like a 429.
 *
 * Called from the Hetzner loop thread only.
 */
#include "hetzner_loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

enum {
	URL_LEN = 4096,
	PACE_CAP_S = 60,
	LOW_BUDGET_DIVISOR = 10,            /* "low": under a tenth left */
};

enum verdict { V_OK, V_RETRY, V_DENIED, V_NOT_FOUND, V_FAIL };

/* How a reply's status and error code (Cloud: "rate_limit_exceeded",
 * "conflict", "locked"; Robot: "RATE_LIMIT_EXCEEDED") are handled. */
static enum verdict judge(long status, bool robot, const char *code)
{
	if (status >= 200 && status < 300)
		return V_OK;
	if (status == 429 || status >= 500 || status == 409 || status == 423)
		return V_RETRY;
	if (strcmp(code, "rate_limit_exceeded") == 0 ||
	    strcmp(code, "conflict") == 0 || strcmp(code, "locked") == 0 ||
	    (robot && strcmp(code, "RATE_LIMIT_EXCEEDED") == 0))
		return V_RETRY;
	if (status == 401 || status == 403)
		return V_DENIED;
	return status == 404 ? V_NOT_FOUND : V_FAIL;
}

/* Remembers the budget for `status` and sets when the next request may go. */
static void note_rate_limit(struct hetzner *h, const struct hz_http_response *r)
{
	long long until;
	uint64_t gap;
	long used;

	if (r->ratelimit_limit < 0 && r->ratelimit_remaining < 0)
		return;
	pthread_mutex_lock(&h->lock);
	if (r->ratelimit_limit >= 0)
		h->status.ratelimit_limit = r->ratelimit_limit;
	if (r->ratelimit_remaining >= 0)
		h->status.ratelimit_remaining = r->ratelimit_remaining;
	if (r->ratelimit_reset >= 0)
		h->status.ratelimit_reset = (uint64_t)r->ratelimit_reset;
	pthread_mutex_unlock(&h->lock);
	if (r->ratelimit_limit <= 0 || r->ratelimit_remaining < 0 ||
	    r->ratelimit_remaining * LOW_BUDGET_DIVISOR >= r->ratelimit_limit)
		return;
	until = r->ratelimit_reset - (long long)(hz_real_ns() / HZ_NS);
	used = r->ratelimit_limit - r->ratelimit_remaining;
	if (until <= 0 || used <= 0)
		return;
	gap = (uint64_t)until * HZ_NS / (uint64_t)used;
	if (gap > (uint64_t)PACE_CAP_S * HZ_NS)
		gap = (uint64_t)PACE_CAP_S * HZ_NS;
	h->next_request = hz_mono_ns() + gap;
}

/* "GET /servers?...: HTTP 500 (service_error: ...)"; the body is quoted
 * only through the parsed error, never raw. */
static void describe(char *err, size_t errlen, const char *what,
		     const struct hz_http_response *r, const char *code,
		     const char *message)
{
	if (code[0])
		snprintf(err, errlen, "%s: HTTP %ld (%s: %s)", what, r->status,
			 code, message);
	else
		snprintf(err, errlen, "%s: HTTP %ld", what, r->status);
}

static void describe_denied(char *err, size_t errlen, bool robot,
			    const char *what, const struct hz_http_response *r,
			    const char *code)
{
	snprintf(err, errlen, "%s: check the %s (%s: HTTP %ld%s%s)",
		 r->status == 401 ? "unauthorized" : "forbidden",
		 robot ? "RobotCredentialsFile" : "token", what, r->status,
		 code[0] ? " " : "", code);
}

/* One try: V_OK with resp filled, or a verdict with err set. */
static enum verdict try_once(struct hetzner *h, const struct hz_http_request *req,
			     bool robot, const char *what,
			     struct hz_http_response *resp, int *ret,
			     char *err, size_t errlen)
{
	char why[HZ_ERR_LEN], code[64] = "", message[160] = "";
	enum verdict v;

	*ret = hz_http_do(req, resp, why, sizeof(why));
	pthread_mutex_lock(&h->lock);
	h->status.requests++;
	pthread_mutex_unlock(&h->lock);
	if (*ret != 0) {
		snprintf(err, errlen, "%s: %s", what, why);
		/* A reply too large will not shrink by asking again. */
		return *ret == -EMSGSIZE || *ret == -ENOMEM ||
		       *ret == -ECANCELED ? V_FAIL : V_RETRY;
	}
	if (!robot)
		note_rate_limit(h, resp);
	if (resp->status < 200 || resp->status >= 300)
		hz_parse_error(resp->body, resp->len, code, sizeof(code),
			       message, sizeof(message));
	v = judge(resp->status, robot, code);
	if (v == V_OK)
		return v;
	if (v == V_DENIED)
		describe_denied(err, errlen, robot, what, resp, code);
	else
		describe(err, errlen, what, resp, code, message);
	hz_http_response_free(resp);
	*ret = v == V_DENIED ? -EACCES : v == V_NOT_FOUND ? -ENOENT : -EPROTO;
	return v;
}

static bool stopping(void *ctx)
{
	struct hetzner *h = ctx;
	bool v;

	pthread_mutex_lock(&h->lock);
	v = h->stopping;
	pthread_mutex_unlock(&h->lock);
	return v;
}

static double random_unit(void)
{
	return (double)randombytes_uniform(1000000) / 1e6;
}

int hz_api_call(struct hetzner *h, const char *method, bool robot,
		const char *path, const char *body, struct hz_http_response *resp,
		char *err, size_t errlen)
{
	char url[URL_LEN], what[URL_LEN / 2];
	struct hz_http_request req = {
		.method = method, .url = url, .body = body,
		.auth = robot ? HZ_AUTH_BASIC : HZ_AUTH_BEARER,
		.secret = robot ? h->robot_credentials : h->token,
		.cancelled = stopping, .ctx = h,
	};
	uint64_t delay;
	enum verdict v;
	int ret = 0;

	snprintf(url, sizeof(url), "%s%s",
		 robot ? h->conf.robot_endpoint : h->conf.api_endpoint, path);
	snprintf(what, sizeof(what), "%s%s %s", robot ? "Robot " : "", method,
		 path);
	for (unsigned attempt = 1;; attempt++) {
		if (!hz_wait_until(h, h->next_request, false))
			return -ECANCELED;
		v = try_once(h, &req, robot, what, resp, &ret, err, errlen);
		if (v != V_RETRY)
			return v == V_OK ? 0 : ret;
		if (attempt >= HZ_TRIES) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, " (gave up after %d tries)",
				 HZ_TRIES);
			return ret ? ret : -EAGAIN;
		}
		delay = hz_backoff_ns(attempt, random_unit());
		pthread_mutex_lock(&h->lock);
		h->status.retries++;
		pthread_mutex_unlock(&h->lock);
		printf("portcullisd: hetzner: %s; retry %u of %d in %.2f s\n",
		       err, attempt, HZ_TRIES - 1, (double)delay / HZ_NS);
		if (!hz_wait_until(h, hz_mono_ns() + delay, false))
			return -ECANCELED;
	}
}
