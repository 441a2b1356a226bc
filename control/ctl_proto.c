/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway CLI's request parser (the protocol is ctl_proto.h).  Strict
 * on purpose: the only client is portcullisctl, so anything it would never
 * send (a stray byte, a repeated key, a missing "cmd=") is a bug worth a
 * clear error, not something to guess around.
 *
 * Pure: linked by the daemon, the tests and fuzz_ctl.
 */
#include "ctl_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_lines.h"

enum { QUOTE_MAX = 32 };                /* characters echoed in a message */

struct parser {
	struct ctl_request *req;
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The one place errors become words: "line N: reason" once a line is
 * being read.  err is NUL-terminated whenever errlen > 0. */
static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[CTL_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen == 0)
		return -EINVAL;
	if (ps->line)
		snprintf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s", msg);
	return -EINVAL;
}

/* A printable, shortened copy for messages: a reply is one line of JSON
 * text, so nothing the client sent may break it or carry escapes. */
static const char *quote(char out[QUOTE_MAX + 4], struct kv_span s)
{
	return kv_span_quote(out, QUOTE_MAX, s);
}

/* Framed as the WireGuard UAPI is (kv_lines.h). */
size_t ctl_request_end(const char *buf, size_t len)
{
	return kv_lines_request_end(buf, len);
}

static bool is_name(struct kv_span s)
{
	if (s.n == 0 || s.n > CTL_MAX_KEY)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool is_printable(struct kv_span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < 0x20 || s.p[i] > 0x7e)
			return false;
	return true;
}

static int parse_line(struct parser *ps, struct kv_span line)
{
	struct ctl_request *r = ps->req;
	const char *eq = memchr(line.p, '=', line.n);
	struct kv_span key, value;
	char q[QUOTE_MAX + 4];
	struct ctl_arg *a;

	if (!eq)
		return fail(ps, "expected key=value, got '%s'", quote(q, line));
	key = (struct kv_span){ line.p, (size_t)(eq - line.p) };
	value = (struct kv_span){ eq + 1, line.n - key.n - 1 };
	if (!is_name(key))
		return fail(ps, "bad key '%s' (want [a-z0-9_-], 1 to %d "
			    "characters)", quote(q, key), CTL_MAX_KEY);
	if (!is_printable(value))
		return fail(ps, "non-printable byte in the value of '%.*s'",
			    (int)key.n, key.p);
	if (ps->line == 1) {
		if (!kv_span_is(key, "cmd"))
			return fail(ps, "the first line must be cmd=NAME");
		if (!is_name(value))
			return fail(ps, "bad command name '%s'",
				    quote(q, value));
		memcpy(r->cmd, value.p, value.n);
		r->cmd[value.n] = '\0';
		return 0;
	}
	if (kv_span_is(key, "cmd"))
		return fail(ps, "duplicate key 'cmd'");
	for (unsigned i = 0; i < r->n_args; i++)
		if (strlen(r->args[i].key) == key.n &&
		    memcmp(r->args[i].key, key.p, key.n) == 0)
			return fail(ps, "duplicate key '%.*s'", (int)key.n,
				    key.p);
	if (r->n_args == CTL_MAX_ARGS)
		return fail(ps, "too many arguments (at most %d)",
			    CTL_MAX_ARGS);
	a = &r->args[r->n_args];
	a->value = malloc(value.n + 1);
	if (!a->value)
		return fail(ps, "out of memory");
	memcpy(a->key, key.p, key.n);
	a->key[key.n] = '\0';
	memcpy(a->value, value.p, value.n);
	a->value[value.n] = '\0';
	r->n_args++;
	return 0;
}

int ctl_request_parse(const char *text, size_t len, struct ctl_request *out,
		      char *err, size_t errlen)
{
	struct parser ps = { .req = out, .err = err, .errlen = errlen };
	size_t pos = 0;
	struct kv_span line;
	int ret;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (len > CTL_MAX_REQUEST) {
		ret = fail(&ps, "request too long (at most %d bytes)",
			   CTL_MAX_REQUEST);
		goto out;
	}
	for (;;) {
		bool complete = kv_lines_next(text, len, &pos, &line);

		ps.line++;
		if (!complete) {
			ret = fail(&ps, "the request does not end with an "
				   "empty line");
			goto out;
		}
		if (line.n == 0)
			break;
		ret = parse_line(&ps, line);
		if (ret)
			goto out;
	}
	if (ps.line == 1) {
		ps.line = 0;
		ret = fail(&ps, "empty request (want cmd=NAME)");
		goto out;
	}
	if (pos != len) {
		ret = fail(&ps, "data after the empty line");
		goto out;
	}
	return 0;
out:
	ctl_request_free(out);
	return ret;
}

void ctl_request_free(struct ctl_request *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_args; i++)
		free(r->args[i].value);
	memset(r, 0, sizeof(*r));
}

const char *ctl_request_get(const struct ctl_request *r, const char *key)
{
	for (unsigned i = 0; i < r->n_args; i++)
		if (strcmp(r->args[i].key, key) == 0)
			return r->args[i].value;
	return NULL;
}
