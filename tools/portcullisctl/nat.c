/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl nat sessions | count | flush: the NAT session table, read
 * as `conntrack -L` reads conntrack's, with its filters written as `ip`
 * writes selectors ("proto tcp remote 198.51.100.7:443").
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "portcullisctl.h"
#include "table.h"

enum filter { F_PROTO, F_INSIDE, F_EXTERNAL, F_REMOTE, F_LIMIT, F_COUNT };
static const char *const filter_names[F_COUNT] = {
	"proto", "inside", "external", "remote", "limit",
};

/* A session limit: 0 (all) or up to 9 decimal digits, as the daemon
 * takes it (more than any MaxSessions). */
static int check_limit(const char *text, char *why, size_t n)
{
	size_t len = strspn(text, "0123456789");

	if (len > 0 && len <= 9 && text[len] == '\0')
		return 0;
	snprintf(why, n, "bad limit '%s' (a number, 0 for all)", text);
	return -EINVAL;
}

static int check_value(enum filter f, const char *value, char *why, size_t n)
{
	switch (f) {
	case F_PROTO:
		return ctl_check_proto(value, true, why, n);
	case F_LIMIT:
		return check_limit(value, why, n);
	default:
		return ctl_check_endpoint(value, ENDPOINT_FILTER, why, n);
	}
}

/* "KEYWORD VALUE" pairs in any order, each at most once; they go into the
 * request in the order given. */
static int parse_filters(int argc, char **argv, bool limit_ok,
			 struct ctl_req *r, char *why, size_t n)
{
	bool seen[F_COUNT] = { false };

	for (int i = 0; i < argc; i += 2) {
		enum filter f = 0;

		while (f < F_COUNT && strcmp(argv[i], filter_names[f]) != 0)
			f++;
		if (f == F_COUNT || (f == F_LIMIT && !limit_ok)) {
			snprintf(why, n, "unknown filter '%s'", argv[i]);
			return -EINVAL;
		}
		if (seen[f]) {
			snprintf(why, n, "%s given twice", argv[i]);
			return -EINVAL;
		}
		seen[f] = true;
		if (i + 1 == argc) {
			snprintf(why, n, "%s needs a value", argv[i]);
			return -EINVAL;
		}
		if (check_value(f, argv[i + 1], why, n) < 0 ||
		    ctl_req_add(r, argv[i], argv[i + 1], why, n) < 0)
			return -EINVAL;
	}
	return 0;
}

int nat_sessions_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n)
{
	ctl_req_init(&c->req, "nat-sessions");
	if (parse_filters(argc, argv, true, &c->req, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col session_cols[] = {
	{ "PROTO" }, { "INSIDE" }, { "EXTERNAL" }, { "REMOTE" }, { "STATE" },
	{ "EXPIRES", true }, { "FORWARD" },
};

static void session_row(struct table *t, const json_t *s, unsigned flags)
{
	const json_t *expires = json_object_get(s, "expires_in_s");

	(void)flags;
	table_add_member(t, s, "proto", 0);
	table_add_member(t, s, "inside", 0);
	table_add_member(t, s, "external", 0);
	table_add_member(t, s, "remote", 0);
	table_add_member(t, s, "state", 0);
	if (json_is_integer(expires))
		table_addf(t, "%" JSON_INTEGER_FORMAT "s",
			   json_integer_value(expires));
	else
		table_add_json(t, expires, 0);
	table_add_member(t, s, "forward", 0);
}

int nat_sessions_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *sessions = json_object_get(reply, "sessions");
	const json_t *matched = json_object_get(reply, "matched");
	int ret;

	(void)o;
	ret = table_print_rows(out, reply, "sessions", session_cols,
			       sizeof(session_cols) / sizeof(session_cols[0]),
			       session_row, 0);
	/* Say so when the server stopped at the limit: a table that looks
	 * complete but is not would mislead. */
	if (ret == 0 && json_is_true(json_object_get(reply, "truncated")))
		fprintf(out, "(%zu of %" JSON_INTEGER_FORMAT " matching sessions "
			"shown; 'limit 0' shows all)\n", json_array_size(sessions),
			json_integer_value(matched));
	return ret;
}

int nat_count_request(int argc, char **argv, struct ctl_call *c, char *why,
		      size_t n)
{
	ctl_req_init(&c->req, "nat-count");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col count_cols[] = {
	{ "ENABLED" }, { "SESSIONS", true }, { "MAX_SESSIONS", true },
};

int nat_count_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	struct table *t;
	int ret;

	(void)o;
	if (!json_is_integer(json_object_get(reply, "sessions")))
		return -EPROTO;
	t = table_create(count_cols, sizeof(count_cols) / sizeof(count_cols[0]));
	if (t == NULL)
		return -ENOMEM;
	table_add_member(t, reply, "enabled", 0);
	table_add_member(t, reply, "sessions", 0);
	table_add_member(t, reply, "max_sessions", 0);
	ret = table_print(t, out);
	table_destroy(t);
	return ret;
}

int nat_flush_request(int argc, char **argv, struct ctl_call *c, char *why,
		      size_t n)
{
	ctl_req_init(&c->req, "nat-flush");
	if (parse_filters(argc, argv, false, &c->req, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

int nat_flush_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *flushed = json_object_get(reply, "flushed");
	json_int_t count;

	(void)o;
	if (!json_is_integer(flushed))
		return -EPROTO;
	count = json_integer_value(flushed);
	fprintf(out, "flushed %" JSON_INTEGER_FORMAT " session%s\n", count,
		count == 1 ? "" : "s");
	return 0;
}
