/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One HTTP request to the Hetzner Cloud API or the Robot webservice, with
 * libcurl: a fresh easy handle per request (a few requests a minute do not
 * need connection reuse, and nothing lingers between rounds), TLS verified
 * (libcurl's default, set again here so that nobody "fixes" it by
 * accident), http and https only, no redirects, bounded in time and size.
 *
 * Called from the Hetzner loop thread only.
 */
#include "hetzner_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

/* Set by tests before the loop starts, read by the loop thread after
 * pthread_create (which orders the two). */
static long connect_timeout_ms = HZ_HTTP_CONNECT_TIMEOUT_MS;
static long total_timeout_ms = HZ_HTTP_TIMEOUT_MS;

void hz_http_set_timeouts(long connect_ms, long total_ms)
{
	connect_timeout_ms = connect_ms > 0 ? connect_ms : HZ_HTTP_CONNECT_TIMEOUT_MS;
	total_timeout_ms = total_ms > 0 ? total_ms : HZ_HTTP_TIMEOUT_MS;
}

int hz_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

/* --- reply collection ------------------------------------------------------- */

struct collect {
	struct hz_http_response *resp;
	size_t cap;
	bool too_large;
	bool no_memory;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct collect *c = ctx;
	struct hz_http_response *r = c->resp;
	size_t n = size * nmemb, cap;
	char *grown;

	if (n > HZ_HTTP_MAX_BODY - r->len) {
		c->too_large = true;
		return 0;                           /* curl: write error */
	}
	if (r->len + n + 1 > c->cap) {
		cap = c->cap ? c->cap : 16384;
		while (cap < r->len + n + 1)
			cap *= 2;
		grown = realloc(r->body, cap);
		if (!grown) {
			c->no_memory = true;
			return 0;
		}
		r->body = grown;
		c->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* "Name: value\r\n" -> the value as a number, if name matches. */
static bool header_number(const char *line, size_t len, const char *name,
			  long long *out)
{
	size_t nlen = strlen(name);
	char buf[32];
	char *end;
	size_t i = nlen + 1, k = 0;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (i < len && k < sizeof(buf) - 1 && line[i] >= '0' && line[i] <= '9')
		buf[k++] = line[i++];
	buf[k] = '\0';
	if (k == 0)
		return false;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno == 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct hz_http_response *r = ((struct collect *)ctx)->resp;
	size_t len = size * nmemb;
	long long v;

	/* A status line starts a new reply (after a 100 Continue, say):
	 * only the last reply's headers count. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		r->ratelimit_limit = r->ratelimit_remaining = -1;
		r->ratelimit_reset = -1;
	} else if (header_number(line, len, "RateLimit-Limit", &v)) {
		r->ratelimit_limit = (long)v;
	} else if (header_number(line, len, "RateLimit-Remaining", &v)) {
		r->ratelimit_remaining = (long)v;
	} else if (header_number(line, len, "RateLimit-Reset", &v)) {
		r->ratelimit_reset = v;
	}
	return len;
}

/* curl's progress callback: non-zero aborts the transfer.  It runs about
 * once a second even when nothing moves, so a stop waits no longer than
 * that for a request in flight, rather than for the 30 s timeout. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	const struct hz_http_request *req = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return req->cancelled && req->cancelled(req->ctx);
}

/* --- the request --------------------------------------------------------------- */

/* "Authorization: Bearer TOKEN" or "Authorization: Basic base64(u:p)",
 * malloc'd; the caller wipes and frees it. */
static char *auth_header(enum hz_http_auth auth, const char *secret)
{
	static const char bearer[] = "Authorization: Bearer ";
	static const char basic[] = "Authorization: Basic ";
	size_t slen = strlen(secret), len;
	char *out;

	if (auth == HZ_AUTH_BEARER) {
		len = sizeof(bearer) + slen;
		out = malloc(len);
		if (out)
			snprintf(out, len, "%s%s", bearer, secret);
		return out;
	}
	len = sizeof(basic) - 1 +
	      sodium_base64_encoded_len(slen, sodium_base64_VARIANT_ORIGINAL);
	out = malloc(len);
	if (out) {
		memcpy(out, basic, sizeof(basic) - 1);
		sodium_bin2base64(out + sizeof(basic) - 1, len - (sizeof(basic) - 1),
				  (const unsigned char *)secret, slen,
				  sodium_base64_VARIANT_ORIGINAL);
	}
	return out;
}

/* curl_slist_free_all frees without wiping; the Authorization line is
 * one of these copies. */
static void headers_free(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static struct curl_slist *headers_build(const struct hz_http_request *req)
{
	struct curl_slist *list = NULL, *next;
	char *auth = auth_header(req->auth, req->secret);
	const char *lines[] = {
		auth, "Accept: application/json",
		req->body ? "Content-Type: application/json" : NULL,
		"Expect:",                      /* no 100 Continue dance */
	};

	for (size_t i = 0; auth && i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		next = curl_slist_append(list, lines[i]);
		if (!next) {
			headers_free(list);
			list = NULL;
			break;
		}
		list = next;
	}
	if (auth) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	return list;
}

static void set_options(CURL *c, const struct hz_http_request *req,
			struct curl_slist *headers, struct collect *col,
			char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
	/* Threads: no SIGALRM for DNS timeouts. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)HZ_HTTP_MAX_BODY);
	/* A proxy from the environment is fine for the Internet, but a
	 * loopback endpoint (tests, a local relay) must never go through
	 * one: it would see the token in clear. */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.0/8,::1");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "portcullis-hetzner-sync");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, col);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, col);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)(req->body ? strlen(req->body) : 0));
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

static int transfer_error(CURLcode rc, const struct collect *col,
			  const char *errbuf, char *err, size_t errlen)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (col->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errlen, "reply larger than %d MiB",
			 HZ_HTTP_MAX_BODY >> 20);
		return -EMSGSIZE;
	}
	if (col->no_memory || rc == CURLE_OUT_OF_MEMORY) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "cancelled: the sync is stopping");
		return -ECANCELED;
	}
	snprintf(err, errlen, "%s", detail);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (rc == CURLE_COULDNT_CONNECT)
		return -ECONNREFUSED;
	return -EIO;
}

int hz_http_do(const struct hz_http_request *req, struct hz_http_response *resp,
	       char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct collect col = { .resp = resp };
	struct curl_slist *headers = NULL;
	CURL *c = NULL;
	CURLcode rc;
	int ret = -ENOMEM;

	memset(resp, 0, sizeof(*resp));
	resp->ratelimit_limit = resp->ratelimit_remaining = -1;
	resp->ratelimit_reset = -1;
	snprintf(err, errlen, "out of memory");
	c = curl_easy_init();
	headers = c ? headers_build(req) : NULL;
	if (!headers)
		goto out;
	set_options(c, req, headers, &col, errbuf);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		ret = transfer_error(rc, &col, errbuf, err, errlen);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body) {                      /* an empty reply */
		resp->body = calloc(1, 1);
		if (!resp->body)
			goto out;
	}
	err[0] = '\0';
	ret = 0;
out:
	headers_free(headers);
	if (c)
		curl_easy_cleanup(c);
	if (ret != 0)
		hz_http_response_free(resp);
	return ret;
}

void hz_http_response_free(struct hz_http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
