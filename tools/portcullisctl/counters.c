/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl counters [--lcores] [--all]: one row per counter, as the
 * SIGUSR1 dump names them ("public rx_packets", "decap_packets", "drop
 * malformed"), a TOTAL column and, with --lcores, one column per lcore.
 * Drop reasons that are zero are left out unless --all: the list is long
 * and what matters is what dropped.
 *
 * The rows come from walking the reply's "total" object, not from a list
 * compiled in here, so a counter the daemon adds shows up without a new
 * portcullisctl.  Then, with AF_XDP steering, the reply's "xdp" object:
 * the steering program's verdicts per NIC ("xdp eth0 to_gateway"), which
 * are not per lcore ("-" in the lcore columns).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portcullisctl.h"
#include "table.h"

enum { MAX_DEPTH = 3, LABEL_LEN = 128, COL_NAME_LEN = 32 };

struct row {
	const char *path[MAX_DEPTH];        /* keys into a COUNTERS object */
	unsigned depth;
	bool per_nic;                       /* keys into the reply: "xdp" */
	char label[LABEL_LEN];
};

struct rows {
	struct row *v;
	size_t n, cap;
};

int counters_request(int argc, char **argv, struct ctl_call *c, char *why,
		     size_t n)
{
	ctl_req_init(&c->req, "counters");
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--lcores") == 0) {
			c->opts.lcores = true;
		} else if (strcmp(argv[i], "--all") == 0) {
			c->opts.all = true;
		} else {
			snprintf(why, n, "unexpected argument '%s'", argv[i]);
			return -EINVAL;
		}
	}
	return ctl_req_finish(&c->req, why, n);
}

/* "ports public rx_packets" -> "public rx_packets"; "drops malformed" ->
 * "drop malformed" (the words of the SIGUSR1 dump). */
static void make_label(struct row *r)
{
	size_t off = 0;

	r->label[0] = '\0';
	for (unsigned i = 0; i < r->depth && off < sizeof(r->label); i++) {
		const char *word = r->path[i];

		if (i == 0 && r->depth > 1 && strcmp(word, "ports") == 0)
			continue;
		if (i == 0 && strcmp(word, "drops") == 0)
			word = "drop";
		off += (size_t)snprintf(r->label + off, sizeof(r->label) - off,
					"%s%s", off ? " " : "", word);
	}
}

static int add_row(struct rows *rows, const char **path, unsigned depth)
{
	struct row *r;

	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? 2 * rows->cap : 64;
		struct row *v = realloc(rows->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		rows->v = v;
		rows->cap = cap;
	}
	r = &rows->v[rows->n++];
	memcpy(r->path, path, sizeof(r->path));
	r->depth = depth;
	r->per_nic = false;
	make_label(r);
	return 0;
}

/* Every integer leaf of obj, depth first in the reply's order. */
static int walk(const json_t *obj, const char **path, unsigned depth,
		bool drops, bool all, struct rows *rows)
{
	const char *key;
	json_t *v;
	int ret = 0;

	json_object_foreach((json_t *)obj, key, v) {
		path[depth] = key;
		if (json_is_integer(v)) {
			if (drops && !all && json_integer_value(v) == 0)
				continue;
			ret = add_row(rows, path, depth + 1);
		} else if (json_is_object(v) && depth + 1 < MAX_DEPTH) {
			ret = walk(v, path, depth + 1,
				   drops || (depth == 0 && strcmp(key, "drops") == 0),
				   all, rows);
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The "xdp" object (absent without steering): its rows, after the
 * totals; zeros too, the four verdicts of a NIC belong together. */
static int walk_xdp(const json_t *xdp, struct rows *rows)
{
	const char *path[MAX_DEPTH] = { "xdp" };
	size_t first = rows->n;
	int ret;

	if (!json_is_object(xdp))
		return 0;
	ret = walk(xdp, path, 1, false, true, rows);
	for (size_t i = first; i < rows->n; i++)
		rows->v[i].per_nic = true;
	return ret;
}

static const json_t *lookup(const json_t *counters, const struct row *r)
{
	for (unsigned i = 0; i < r->depth && counters; i++)
		counters = json_object_get(counters, r->path[i]);
	return counters;
}

static bool is_bytes(const struct row *r)
{
	const char *leaf = r->path[r->depth - 1];
	size_t len = strlen(leaf);

	return len >= 6 && strcmp(leaf + len - 6, "_bytes") == 0;
}

/* "WORKER1": the lcore's role and id, as a column header. */
static void lcore_name(char *buf, size_t len, const json_t *lcore)
{
	const json_t *role = json_object_get(lcore, "role");
	const json_t *id = json_object_get(lcore, "lcore");
	size_t i;

	snprintf(buf, len, "%s%" JSON_INTEGER_FORMAT,
		 json_is_string(role) ? json_string_value(role) : "LCORE",
		 json_is_integer(id) ? json_integer_value(id) : (json_int_t)-1);
	for (i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

static int print_table(const struct rows *rows, const json_t *reply,
		       const json_t *lcores, FILE *out, unsigned human)
{
	const json_t *total = json_object_get(reply, "total");
	size_t n_lcores = json_array_size(lcores), n_cols = 2 + n_lcores;
	struct table_col *cols = calloc(n_cols, sizeof(*cols));
	char (*names)[COL_NAME_LEN] = calloc(n_lcores + 1, sizeof(*names));
	struct table *t = NULL;
	int ret = -ENOMEM;

	if (cols == NULL || names == NULL)
		goto out;
	cols[0] = (struct table_col){ "COUNTER", false };
	cols[1] = (struct table_col){ "TOTAL", true };
	for (size_t i = 0; i < n_lcores; i++) {
		lcore_name(names[i], COL_NAME_LEN, json_array_get(lcores, i));
		cols[2 + i] = (struct table_col){ names[i], true };
	}
	t = table_create(cols, (unsigned)n_cols);
	if (t == NULL)
		goto out;
	for (size_t r = 0; r < rows->n; r++) {
		unsigned flags = is_bytes(&rows->v[r]) ? TABLE_BYTES | human : 0;

		table_add(t, rows->v[r].label);
		if (rows->v[r].per_nic) {
			table_add_json(t, lookup(reply, &rows->v[r]), flags);
			for (size_t i = 0; i < n_lcores; i++)
				table_add(t, "-");
			continue;
		}
		table_add_json(t, lookup(total, &rows->v[r]), flags);
		for (size_t i = 0; i < n_lcores; i++) {
			const json_t *lc = json_array_get(lcores, i);

			table_add_json(t, lookup(json_object_get(lc, "counters"),
						 &rows->v[r]), flags);
		}
	}
	ret = table_print(t, out);
out:
	table_destroy(t);
	free(names);
	free(cols);
	return ret;
}

int counters_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *total = json_object_get(reply, "total");
	const json_t *lcores = json_object_get(reply, "lcores");
	const char *path[MAX_DEPTH] = { NULL };
	struct rows rows = { NULL, 0, 0 };
	int ret;

	if (!json_is_object(total) || (o->lcores && !json_is_array(lcores)))
		return -EPROTO;
	ret = walk(total, path, 0, false, o->all, &rows);
	if (ret == 0)
		ret = walk_xdp(json_object_get(reply, "xdp"), &rows);
	if (ret == 0)
		ret = print_table(&rows, reply, o->lcores ? lcores : NULL, out,
				  o->human ? TABLE_HUMAN : 0);
	free(rows.v);
	return ret;
}
