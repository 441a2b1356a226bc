/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl hetzner status | plan | sync | label: the Hetzner sync
 * (control/hetzner.h).  status is a "key: value" block, as `wg show` prints
 * an interface, then the routes the sync put on the private port; plan is
 * what the last fetched state would change; sync asks for a round now and,
 * like `ip route add`, prints nothing.  label needs no gateway: it turns a
 * WireGuard public key into the value of the server label that carries it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "hetzner.h"
#include "portcullisctl.h"
#include "table.h"

/* The width of the keys in the status block: "consecutive failures: ". */
enum { KEY_WIDTH = 22 };

static int simple_request(const char *cmd, int argc, char **argv,
			  struct ctl_call *c, char *why, size_t n)
{
	ctl_req_init(&c->req, cmd);
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

int hetzner_status_request(int argc, char **argv, struct ctl_call *c,
			   char *why, size_t n)
{
	return simple_request("hetzner-status", argc, argv, c, why, n);
}

int hetzner_plan_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n)
{
	return simple_request("hetzner-plan", argc, argv, c, why, n);
}

int hetzner_sync_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n)
{
	return simple_request("hetzner-sync", argc, argv, c, why, n);
}

/* {"ok":true}: the round is asked for; its outcome shows in status. */
int hetzner_sync_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	(void)out;
	(void)o;
	return json_is_true(json_object_get(reply, "ok")) ? 0 : -EPROTO;
}

/* --- status --------------------------------------------------------------- */

/* "42 s", "5 min", "3 h", "12 d": a span to read at a glance; below two of
 * a unit the smaller one stays (90 s, not 1 min). */
static void format_span(char *buf, size_t len, int64_t s)
{
	if (s < 120)
		snprintf(buf, len, "%" PRId64 " s", s);
	else if (s < 120 * 60)
		snprintf(buf, len, "%" PRId64 " min", s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, len, "%" PRId64 " h", s / 3600);
	else
		snprintf(buf, len, "%" PRId64 " d", s / 86400);
}

/* "in 12 s" or "42 s ago", from the gateway's clock to ours (the CLI runs
 * on the gateway, so they agree). */
static void format_relative(char *buf, size_t len, int64_t t, int64_t now)
{
	char span[32];

	format_span(span, sizeof(span), t > now ? t - now : now - t);
	snprintf(buf, len, t > now ? "in %s" : "%s ago", span);
}

/* "2026-11-22 19:00:00 UTC (42 s ago)", "never" for null, "?" for a value
 * of another type. */
static void format_when(char *buf, size_t len, const json_t *v, int64_t now)
{
	char date[40], rel[48];
	struct tm tm;
	time_t t;

	if (json_is_null(v)) {
		snprintf(buf, len, "never");
		return;
	}
	if (!json_is_integer(v)) {
		snprintf(buf, len, "?");
		return;
	}
	t = (time_t)json_integer_value(v);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(date, sizeof(date), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	format_relative(rel, sizeof(rel), json_integer_value(v), now);
	snprintf(buf, len, "%s (%s)", date, rel);
}

/* The next poll is soon, so only when: "in 12 s"; "now" once it is due (a
 * round is under way); null: the loop has stopped. */
static void format_next(char *buf, size_t len, const json_t *v, int64_t now)
{
	if (json_is_null(v))
		snprintf(buf, len, "none (stopped)");
	else if (!json_is_integer(v))
		snprintf(buf, len, "?");
	else if (json_integer_value(v) <= now)
		snprintf(buf, len, "now");
	else
		format_relative(buf, len, json_integer_value(v), now);
}

/* An integer member as text, "?" if it is not one. */
static const char *int_text(char *buf, size_t len, const json_t *obj,
			    const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return "?";
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

/* "3550 of 3600 left, resets in 40 s"; "not seen yet" before the first
 * reply that carried the RateLimit-* headers. */
static void format_ratelimit(char *buf, size_t len, const json_t *h,
			     int64_t now)
{
	const json_t *remaining = json_object_get(h, "ratelimit_remaining");
	const json_t *limit = json_object_get(h, "ratelimit_limit");
	const json_t *reset = json_object_get(h, "ratelimit_reset");
	char of[32] = "", when[64] = "", rel[48];

	if (!json_is_integer(remaining)) {
		snprintf(buf, len, "%s", json_is_null(remaining) ? "not seen yet"
								  : "?");
		return;
	}
	if (json_is_integer(limit))
		snprintf(of, sizeof(of), " of %" JSON_INTEGER_FORMAT,
			 json_integer_value(limit));
	if (json_is_integer(reset)) {
		format_relative(rel, sizeof(rel), json_integer_value(reset), now);
		snprintf(when, sizeof(when), ", %s %s",
			 json_integer_value(reset) > now ? "resets" : "reset", rel);
	}
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT "%s left%s",
		 json_integer_value(remaining), of, when);
}

static void kv(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s:%*s%s\n", key, (int)(KEY_WIDTH - 1 - strlen(key)), "",
		value);
}

/* A boolean member as yes/no, "?" otherwise. */
static const char *yes_no(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "?";
}

static const char *string_or(const json_t *obj, const char *key,
			     const char *other)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : other;
}

static void print_status_block(FILE *out, const json_t *h, int64_t now)
{
	const json_t *err = json_object_get(h, "last_error");
	char buf[512], a[32], b[32];

	kv(out, "hetzner sync", "on");
	if (json_is_false(json_object_get(h, "running")))
		kv(out, "running", "no (stopped: see the last error)");
	else
		kv(out, "running", yes_no(h, "running"));
	if (json_is_true(json_object_get(h, "dry_run")))
		kv(out, "dry run", "yes (fetch and plan only)");
	else
		kv(out, "dry run", yes_no(h, "dry_run"));
	format_when(buf, sizeof(buf), json_object_get(h, "last_success"), now);
	kv(out, "last success", buf);
	format_when(buf, sizeof(buf), json_object_get(h, "last_attempt"), now);
	kv(out, "last attempt", buf);
	format_next(buf, sizeof(buf), json_object_get(h, "next_poll"), now);
	kv(out, "next poll", buf);
	kv(out, "last error", !json_is_string(err) ? "?" :
	   json_string_length(err) ? json_string_value(err) : "none");
	snprintf(buf, sizeof(buf), "%s ok, %s failed",
		 int_text(a, sizeof(a), h, "rounds_ok"),
		 int_text(b, sizeof(b), h, "rounds_failed"));
	kv(out, "rounds", buf);
	kv(out, "consecutive failures",
	   int_text(a, sizeof(a), h, "consecutive_failures"));
	snprintf(buf, sizeof(buf), "%s, %s retries",
		 int_text(a, sizeof(a), h, "requests"),
		 int_text(b, sizeof(b), h, "retries"));
	kv(out, "requests", buf);
	format_ratelimit(buf, sizeof(buf), h, now);
	kv(out, "rate limit", buf);
	kv(out, "peers from the API", int_text(a, sizeof(a), h, "peers"));
	snprintf(buf, sizeof(buf), "%s", int_text(a, sizeof(a), h, "warnings"));
	if (json_integer_value(json_object_get(h, "warnings")) > 0)
		snprintf(buf, sizeof(buf), "%s (portcullisctl hetzner plan lists "
			 "them)", a);
	kv(out, "warnings", buf);
	kv(out, "route (ManageRoute)", string_or(h, "route_state", "?"));
}

static const struct table_col route_cols[] = { { "DST" }, { "VIA" } };

int hetzner_status_print(const json_t *reply, FILE *out,
			 const struct ctl_opts *o)
{
	const json_t *h = json_object_get(reply, "hetzner"), *r;
	const json_t *enabled = json_object_get(h, "enabled");
	const json_t *routes = json_object_get(h, "routes");
	struct table *t;
	size_t i;
	int ret;

	if (!json_is_object(h) || !json_is_boolean(enabled))
		return -EPROTO;
	if (json_is_false(enabled)) {
		fprintf(out, "hetzner sync: off (no [Hetzner] section)\n");
		return 0;
	}
	if (!json_is_array(routes))
		return -EPROTO;
	/* The table first: nothing is printed if it cannot be built. */
	t = table_create(route_cols, 2);
	if (t == NULL)
		return -ENOMEM;
	json_array_foreach(routes, i, r) {
		table_add_member(t, r, "dst", 0);
		table_add_member(t, r, "via", 0);
	}
	if (table_failed(t)) {
		table_destroy(t);
		return -ENOMEM;
	}
	print_status_block(out, h, o->now);
	fputc('\n', out);
	ret = table_print(t, out);
	table_destroy(t);
	return ret;
}

/* --- plan ----------------------------------------------------------------- */

static const struct table_col peer_cols[] = {
	{ "ACTION" }, { "PEER" }, { "SERVER", true }, { "ENDPOINT" },
	{ "ALLOWED-IPS" },
};

static const struct table_col plan_route_cols[] = {
	{ "ACTION" }, { "DST" }, { "VIA" },
};

/* The prefixes, comma-separated ("-" for none, "?" for a value that is not
 * a list).  A peer may own thousands (every Network route via it), so the
 * cell grows as needed. */
static void add_prefixes(struct table *t, const json_t *list)
{
	const json_t *p;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	if (!json_is_array(list)) {
		table_add(t, "?");
		return;
	}
	if (json_array_size(list) == 0) {
		table_add(t, "-");
		return;
	}
	f = open_memstream(&text, &len);
	if (f == NULL) {
		table_add(t, "?");
		return;
	}
	json_array_foreach(list, i, p)
		fprintf(f, "%s%s", i ? "," : "",
			json_is_string(p) ? json_string_value(p) : "?");
	if (fclose(f) == 0)
		table_add(t, text);
	else
		table_add(t, "?");
	free(text);
}

static void peer_row(struct table *t, const json_t *p)
{
	table_add_member(t, p, "action", 0);
	table_add_member(t, p, "peer", 0);
	table_add_member(t, p, "server_id", 0);
	table_add_member(t, p, "endpoint", 0);
	add_prefixes(t, json_object_get(p, "allowed_ips"));
}

static void route_row(struct table *t, const json_t *r)
{
	table_add_member(t, r, "action", 0);
	table_add_member(t, r, "dst", 0);
	table_add_member(t, r, "via", 0);
}

/* The sections (peer table, route table or "nothing to change", warnings)
 * are printed only if there is something in them, a blank line apart. */
static int print_plan(FILE *out, struct table *peers, size_t n_peers,
		      struct table *routes, size_t n_routes,
		      const json_t *warnings)
{
	const json_t *w;
	bool gap = false;
	size_t i;
	int ret = 0;

	if (n_peers) {
		ret = table_print(peers, out);
		gap = true;
	}
	if (n_routes && ret == 0) {
		if (gap)
			fputc('\n', out);
		ret = table_print(routes, out);
		gap = true;
	}
	if (!gap) {
		fprintf(out, "nothing to change\n");
		gap = true;
	}
	if (json_array_size(warnings) && ret == 0)
		fputc('\n', out);
	json_array_foreach(warnings, i, w)
		if (ret == 0)
			fprintf(out, "warning: %s\n",
				json_is_string(w) ? json_string_value(w) : "?");
	return ret;
}

int hetzner_plan_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *plan = json_object_get(reply, "plan"), *item;
	const json_t *peers = json_object_get(plan, "peers");
	const json_t *routes = json_object_get(plan, "routes");
	const json_t *warnings = json_object_get(plan, "warnings");
	struct table *tp = NULL, *tr = NULL;
	int ret = -ENOMEM;
	size_t i;

	(void)o;
	if (!json_is_array(peers) || !json_is_array(routes) ||
	    !json_is_array(warnings))
		return -EPROTO;
	tp = table_create(peer_cols, sizeof(peer_cols) / sizeof(peer_cols[0]));
	tr = table_create(plan_route_cols, sizeof(plan_route_cols) /
					   sizeof(plan_route_cols[0]));
	if (tp == NULL || tr == NULL)
		goto out;
	json_array_foreach(peers, i, item)
		peer_row(tp, item);
	json_array_foreach(routes, i, item)
		route_row(tr, item);
	/* All or nothing: no half output after an allocation failure. */
	if (table_failed(tp) || table_failed(tr))
		goto out;
	ret = print_plan(out, tp, json_array_size(peers), tr,
			 json_array_size(routes), warnings);
out:
	table_destroy(tr);
	table_destroy(tp);
	return ret;
}

/* --- label ---------------------------------------------------------------- */

static int label_json(FILE *out, const char *key, const char *label)
{
	json_t *j = json_pack("{s:s, s:s}", "peer", key, "label", label);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	json_decref(j);
	if (text == NULL)
		return -ENOMEM;
	fprintf(out, "%s\n", text);
	free(text);
	return 0;
}

/* The label value alone on the first line (for scripts: `| head -n 1`),
 * then the hcloud lines.  portcullis/peer is the default LabelSelector; a
 * gateway configured with another selects by that label instead. */
static int label_run(const struct ctl_call *call, FILE *out)
{
	uint8_t key[32];
	char label[HZ_LABEL_LEN + 1];

	if (config_key_from_base64(key, call->arg) != 0)
		return -EINVAL;                 /* checked when parsed */
	hz_key_to_label(label, key);
	if (call->opts.json)
		return label_json(out, call->arg, label);
	fprintf(out, "%s\n\n"
		"Label the server with this key as a peer (" HZ_DEFAULT_SELECTOR
		" is the default LabelSelector):\n"
		"  hcloud server add-label SERVER " HZ_LABEL_KEY "=%s\n"
		"  hcloud server add-label SERVER " HZ_DEFAULT_SELECTOR "=\n",
		label, label);
	return 0;
}

int hetzner_label_request(int argc, char **argv, struct ctl_call *c,
			  char *why, size_t n)
{
	uint8_t key[32];

	if (argc < 1)
		return ctl_usage_error(why, n, "missing the peer's public key");
	/* wg's rule, as the daemon reads keys: 44 characters of base64 that
	 * decode to exactly 32 bytes (no stray bits in the last one). */
	if (config_key_from_base64(key, argv[0]) != 0)
		return ctl_usage_error(why, n, "bad public key '%s' (44 base64 "
				       "characters encoding 32 bytes, as wg "
				       "prints it)", argv[0]);
	if (ctl_no_args(argc - 1, argv + 1, why, n) < 0)
		return -EINVAL;
	c->local = label_run;
	c->arg = argv[0];
	return 0;
}
