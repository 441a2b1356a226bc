/* SPDX-License-Identifier: BSD-3-Clause */
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct table {
	const struct table_col *cols;
	unsigned n_cols;
	char **cells;                       /* row-major, n_cells of them */
	size_t n_cells, cap;
	bool oom;
};

struct table *table_create(const struct table_col *cols, unsigned n_cols)
{
	struct table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->cols = cols;
	t->n_cols = n_cols;
	return t;
}

void table_destroy(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* Takes ownership of text (NULL: allocation failed upstream). */
static void add_owned(struct table *t, char *text)
{
	if (text && t->n_cells == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **cells = realloc(t->cells, cap * sizeof(*cells));

		if (cells == NULL) {
			free(text);
			text = NULL;
		} else {
			t->cells = cells;
			t->cap = cap;
		}
	}
	if (text == NULL) {
		t->oom = true;
		return;
	}
	t->cells[t->n_cells++] = text;
}

void table_add(struct table *t, const char *text)
{
	add_owned(t, strdup(text));
}

void table_addf(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	add_owned(t, text);
}

void table_format_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char units[][4] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	v /= 1024;
	/* Step up while the value would print as 1024.0 or more. */
	while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%s", v, units[u]);
}

void table_add_json(struct table *t, const json_t *v, unsigned flags)
{
	char buf[32];

	if (json_is_string(v)) {
		table_add(t, json_string_value(v));
	} else if (json_is_null(v)) {
		table_add(t, "-");
	} else if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		if ((flags & TABLE_BYTES) && (flags & TABLE_HUMAN) && n >= 0) {
			table_format_bytes(buf, sizeof(buf), (uint64_t)n);
			table_add(t, buf);
		} else {
			table_addf(t, "%" JSON_INTEGER_FORMAT, n);
		}
	} else if (json_is_boolean(v)) {
		table_add(t, json_is_true(v) ? "yes" : "no");
	} else {
		table_add(t, "?");
	}
}

void table_add_member(struct table *t, const json_t *obj, const char *key,
		      unsigned flags)
{
	table_add_json(t, json_object_get(obj, key), flags);
}

bool table_failed(const struct table *t)
{
	return t->oom;
}

static void print_cell(FILE *f, const char *text, size_t width, bool right,
		       bool last)
{
	size_t pad = width - strlen(text);

	if (right)
		fprintf(f, "%*s%s", (int)pad, "", text);
	else if (last)
		fputs(text, f);                 /* no trailing blanks */
	else
		fprintf(f, "%s%*s", text, (int)pad, "");
}

int table_print(const struct table *t, FILE *f)
{
	size_t *width;

	if (t->oom)
		return -ENOMEM;
	width = calloc(t->n_cols, sizeof(*width));
	if (width == NULL)
		return -ENOMEM;
	for (unsigned c = 0; c < t->n_cols; c++)
		width[c] = strlen(t->cols[c].name);
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t len = strlen(t->cells[i]);
		unsigned c = (unsigned)(i % t->n_cols);

		if (len > width[c])
			width[c] = len;
	}
	/* The header, then each row; a short last row prints what it has. */
	for (size_t i = 0; i < t->n_cells + t->n_cols; i++) {
		unsigned c = (unsigned)(i % t->n_cols);
		const char *text = i < t->n_cols ? t->cols[c].name
						  : t->cells[i - t->n_cols];
		bool last = c + 1 == t->n_cols || i + 1 == t->n_cells + t->n_cols;

		if (c > 0)
			fputs("  ", f);
		print_cell(f, text, width[c], t->cols[c].right, last);
		if (last)
			fputc('\n', f);
	}
	free(width);
	return 0;
}

int table_print_rows(FILE *f, const json_t *reply, const char *key,
		     const struct table_col *cols, unsigned n_cols,
		     table_row_fn row, unsigned flags)
{
	const json_t *items = json_object_get(reply, key), *item;
	struct table *t;
	size_t i;
	int ret;

	if (!json_is_array(items))
		return -EPROTO;
	t = table_create(cols, n_cols);
	if (t == NULL)
		return -ENOMEM;
	json_array_foreach(items, i, item)
		row(t, item, flags);
	ret = table_print(t, f);
	table_destroy(t);
	return ret;
}
