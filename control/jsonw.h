/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small streaming JSON writer (RFC 8259) for the CLI's replies: objects,
 * arrays, keys, strings, unsigned numbers, booleans and null, written to a
 * FILE as they come, on one line.  The writer inserts the commas; the
 * caller nests begin/end calls correctly (checked with assert).
 *
 * Strings: '"', '\\' and every control character are escaped; valid UTF-8
 * passes through as it is; a byte that is not part of a valid UTF-8
 * sequence (overlong forms and surrogates included) becomes U+FFFD, so
 * the output is always valid JSON whatever the input.
 *
 * Pure (config_lib).  Write errors are the FILE's: check ferror().
 */
#ifndef PORTCULLIS_JSONW_H
#define PORTCULLIS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { JSONW_MAX_DEPTH = 32 };

struct jsonw {
	FILE *f;
	unsigned depth;
	bool after_key;                     /* a key waits for its value */
	/* Per level: something was written, the next one needs a comma. */
	bool nonempty[JSONW_MAX_DEPTH + 1];
	bool is_object[JSONW_MAX_DEPTH + 1];
};

void jsonw_init(struct jsonw *w, FILE *f);

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);

/* Inside an object: the key of the next value. */
void jsonw_key(struct jsonw *w, const char *key);

void jsonw_string(struct jsonw *w, const char *s);
/* len bytes of s, NULs included (escaped as \u0000). */
void jsonw_string_len(struct jsonw *w, const char *s, size_t len);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* "key": value in one call. */
void jsonw_kv_string(struct jsonw *w, const char *key, const char *s);
void jsonw_kv_u64(struct jsonw *w, const char *key, uint64_t v);
void jsonw_kv_bool(struct jsonw *w, const char *key, bool v);
void jsonw_kv_null(struct jsonw *w, const char *key);

#endif
