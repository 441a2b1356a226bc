/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Aligned text tables, as `ip -br` and `iptables -L -v -n` print them: a
 * header row, columns two spaces apart, numbers right-aligned, no trailing
 * blanks.  Cells are copied; an allocation failure is remembered and
 * reported once by table_print, so the printers need not check each cell.
 */
#ifndef PORTCULLISCTL_TABLE_H
#define PORTCULLISCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct table;

struct table_col {
	const char *name;                   /* the header */
	bool right;                         /* right-aligned (numbers) */
};

/* NULL if out of memory. */
struct table *table_create(const struct table_col *cols, unsigned n_cols);
void table_destroy(struct table *t);

/* Append a cell to the last row; after n_cols cells a new row begins. */
void table_add(struct table *t, const char *text);
void table_addf(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum table_json_flags {
	TABLE_BYTES = 1 << 0,               /* a byte count: humanise if asked */
	TABLE_HUMAN = 1 << 1,               /* -h was given */
};
/*
 * A cell from a JSON value: a string as is, null as "-", an integer in
 * decimal (or, with TABLE_BYTES | TABLE_HUMAN, as 1.5KiB), true/false as
 * "yes"/"no", and "?" for a missing member or any other type, so a reply
 * from a newer or older server still prints.
 */
void table_add_json(struct table *t, const json_t *v, unsigned flags);
void table_add_member(struct table *t, const json_t *obj, const char *key,
		      unsigned flags);

/* True if a cell could not be stored. */
bool table_failed(const struct table *t);
/* 0, or -ENOMEM if a cell could not be stored (nothing is printed). */
int table_print(const struct table *t, FILE *f);

/*
 * The common case: one row per element of the array reply[key], made by
 * row(); flags are passed on (TABLE_HUMAN).  0; -EPROTO if reply[key] is
 * not an array; -ENOMEM.
 */
typedef void (*table_row_fn)(struct table *t, const json_t *item,
			     unsigned flags);
int table_print_rows(FILE *f, const json_t *reply, const char *key,
		     const struct table_col *cols, unsigned n_cols,
		     table_row_fn row, unsigned flags);

/* "512B", "1.5KiB", "12.0MiB" ... (IEC units, one decimal). */
void table_format_bytes(char *buf, size_t len, uint64_t bytes);

#endif
