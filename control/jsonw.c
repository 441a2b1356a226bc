/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON writer (jsonw.h).  RFC 8259 section 7 says which characters a
 * string must escape ('"', '\\', U+0000..U+001F); we also escape DEL so a
 * reply printed raw cannot move a terminal's cursor, and use the short
 * forms (\n, \t, ...) where JSON has them.  UTF-8 is checked per RFC 3629
 * section 4 (no overlong forms, no surrogates, nothing above U+10FFFF):
 * JSON text must be valid UTF-8 (RFC 8259 section 8.1).
 */
#include "jsonw.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

void jsonw_init(struct jsonw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

/* Before any value: the comma that separates it from the previous one
 * (unless it follows its key). */
static void value_prefix(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	assert(!w->is_object[w->depth]);     /* a value needs its key */
	if (w->nonempty[w->depth])
		fputc(',', w->f);
	w->nonempty[w->depth] = true;
}

static void level_open(struct jsonw *w, char c, bool is_object)
{
	value_prefix(w);
	assert(w->depth < JSONW_MAX_DEPTH);
	fputc(c, w->f);
	w->depth++;
	w->nonempty[w->depth] = false;
	w->is_object[w->depth] = is_object;
}

static void level_close(struct jsonw *w, char c, bool is_object)
{
	assert(w->depth > 0 && w->is_object[w->depth] == is_object &&
	       !w->after_key);
	(void)is_object;
	fputc(c, w->f);
	w->depth--;
}

void jsonw_object_begin(struct jsonw *w)
{
	level_open(w, '{', true);
}

void jsonw_object_end(struct jsonw *w)
{
	level_close(w, '}', true);
}

void jsonw_array_begin(struct jsonw *w)
{
	level_open(w, '[', false);
}

void jsonw_array_end(struct jsonw *w)
{
	level_close(w, ']', false);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if the
 * bytes there are not one (RFC 3629 section 4's table). */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint8_t lo = 0x80, hi = 0xbf;       /* range of the second byte */

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;                   /* ASCII is not asked; C0, C1, F5+ */
	if (c == 0xe0)
		lo = 0xa0;                  /* overlong */
	else if (c == 0xed)
		hi = 0x9f;                  /* UTF-16 surrogates */
	else if (c == 0xf0)
		lo = 0x90;                  /* overlong */
	else if (c == 0xf4)
		hi = 0x8f;                  /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void write_escaped(FILE *f, const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		uint8_t c = s[i];
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			fputc(c, f);
			i++;
			continue;
		}
		if (c < 0x80) {
			switch (c) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\b': fputs("\\b", f); break;
			case '\f': fputs("\\f", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			default: fprintf(f, "\\u%04x", c);
			}
			i++;
			continue;
		}
		n = utf8_len(s + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", f);    /* one per bad byte */
			i++;
			continue;
		}
		fwrite(s + i, 1, n, f);
		i += n;
	}
	fputc('"', f);
}

void jsonw_key(struct jsonw *w, const char *key)
{
	assert(w->depth > 0 && w->is_object[w->depth] && !w->after_key);
	if (w->nonempty[w->depth])
		fputc(',', w->f);
	w->nonempty[w->depth] = true;
	write_escaped(w->f, key, strlen(key));
	fputc(':', w->f);
	w->after_key = true;
}

void jsonw_string_len(struct jsonw *w, const char *s, size_t len)
{
	value_prefix(w);
	write_escaped(w->f, s, len);
}

void jsonw_string(struct jsonw *w, const char *s)
{
	jsonw_string_len(w, s, strlen(s));
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	value_prefix(w);
	fprintf(w->f, "%" PRIu64, v);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	value_prefix(w);
	fputs(v ? "true" : "false", w->f);
}

void jsonw_null(struct jsonw *w)
{
	value_prefix(w);
	fputs("null", w->f);
}

void jsonw_kv_string(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_string(w, s);
}

void jsonw_kv_u64(struct jsonw *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_u64(w, v);
}

void jsonw_kv_bool(struct jsonw *w, const char *key, bool v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}

void jsonw_kv_null(struct jsonw *w, const char *key)
{
	jsonw_key(w, key);
	jsonw_null(w);
}
