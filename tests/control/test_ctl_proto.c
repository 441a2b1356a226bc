/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/ctl_proto.c (the CLI request parser) and
 * control/jsonw.c (the JSON writer of its replies): numbered tables of
 * good requests with what they parse to and of bad ones with their exact
 * reason, framing, the limits, a byte-tamper loop; JSON output for every
 * kind of value and escape, and a randomized round trip through a naive
 * reference decoder (valid UTF-8 comes back byte for byte, random bytes
 * always give valid JSON text).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "jsonw.h"

/* --- requests: good ------------------------------------------------------- */

struct good_case {
	const char *text;
	const char *cmd;
	const char *args;           /* "k=v;k=v" as parsed, in order */
};

static const struct good_case good[] = {
	/* 0 */ { "cmd=ports\n\n", "ports", "" },
	/* 1 */ { "cmd=nat-sessions\nproto=tcp\nlimit=0\n\n", "nat-sessions",
		  "proto=tcp;limit=0" },
	/* 2 */ { "cmd=ports\r\n\r\n", "ports", "" },
	/* 3 */ { "cmd=forward-add\r\nproto=udp\nexternal=203.0.113.2:53\r\n"
		  "to=10.0.0.5:53\n\r\n", "forward-add",
		  "proto=udp;external=203.0.113.2:53;to=10.0.0.5:53" },
	/* 4 */ { "cmd=x\npeer=\n\n", "x", "peer=" },         /* empty value */
	/* 5 */ { "cmd=a_b-9\nk=v=w\n\n", "a_b-9", "k=v=w" }, /* '=' in value */
	/* 6 */ { "cmd=x\nk= spaced value ~\n\n", "x", "k= spaced value ~" },
	/* 7 */ { "cmd=x\nabcdefghijklmnopqrstuvwxyz01234=1\n\n", "x",
		  "abcdefghijklmnopqrstuvwxyz01234=1" },          /* 31 chars */
	/* 8 */ { "cmd=abcdefghijklmnopqrstuvwxyz01234\n\n",
		  "abcdefghijklmnopqrstuvwxyz01234", "" },
	/* 9 */ { "cmd=x\n1=a\n2=b\n3=c\n4=d\n5=e\n6=f\n7=g\n8=h\n9=i\n"
		  "10=j\n11=k\n12=l\n13=m\n14=n\n15=o\n16=p\n\n", "x",
		  "1=a;2=b;3=c;4=d;5=e;6=f;7=g;8=h;9=i;10=j;11=k;12=l;13=m;"
		  "14=n;15=o;16=p" },                             /* 16 args */
};

static void args_text(const struct ctl_request *r, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < r->n_args; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s=%s", i ? ";" : "",
				      r->args[i].key, r->args[i].value);
}

static void test_good_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct ctl_request r;
		char err[CTL_ERR_LEN], args[512];
		size_t len = strlen(good[i].text);
		int ret = ctl_request_parse(good[i].text, len, &r, err,
					    sizeof(err));

		if (ret != 0)
			fail_msg("good case %zu: %s", i, err);
		assert_string_equal(r.cmd, good[i].cmd);
		args_text(&r, args, sizeof(args));
		if (strcmp(args, good[i].args) != 0)
			fail_msg("good case %zu: args '%s', want '%s'", i, args,
				 good[i].args);
		assert_int_equal(ctl_request_end(good[i].text, len), len);
		ctl_request_free(&r);
		assert_int_equal(r.n_args, 0);
	}
}

static void test_get(void **state)
{
	static const char text[] = "cmd=nat-flush\nproto=udp\ninside=\n\n";
	struct ctl_request r;
	char err[CTL_ERR_LEN];
	(void)state;

	assert_int_equal(ctl_request_parse(text, strlen(text), &r, err,
					   sizeof(err)), 0);
	assert_string_equal(ctl_request_get(&r, "proto"), "udp");
	assert_string_equal(ctl_request_get(&r, "inside"), "");
	assert_null(ctl_request_get(&r, "remote"));
	assert_null(ctl_request_get(&r, "prot"));
	assert_null(ctl_request_get(&r, "cmd"));    /* r.cmd holds it */
	ctl_request_free(&r);
	ctl_request_free(NULL);
}

/* --- requests: bad -------------------------------------------------------- */

struct bad_case {
	const char *text;
	size_t len;                 /* 0: strlen(text) */
	const char *error;
};

static const struct bad_case bad[] = {
	/* 0 */ { "\n", 0, "empty request (want cmd=NAME)" },
	/* 1 */ { "proto=tcp\ncmd=ports\n\n", 0,
		  "line 1: the first line must be cmd=NAME" },
	/* 2 */ { "cmd=ports", 0,
		  "line 1: the request does not end with an empty line" },
	/* 3 */ { "cmd=ports\n", 0,
		  "line 2: the request does not end with an empty line" },
	/* 4 */ { "cmd=ports\nx=1\n", 0,
		  "line 3: the request does not end with an empty line" },
	/* 5 */ { "cmd=ports\n\nx", 0, "line 2: data after the empty line" },
	/* 6 */ { "cmd=ports\n\ncmd=ports\n\n", 0,
		  "line 2: data after the empty line" },
	/* 7 */ { "cmd=ports\nproto\n\n", 0,
		  "line 2: expected key=value, got 'proto'" },
	/* 8 */ { "cmd=ports\nProto=tcp\n\n", 0,
		  "line 2: bad key 'Proto' (want [a-z0-9_-], 1 to 31 characters)" },
	/* 9 */ { "cmd=ports\n=tcp\n\n", 0,
		  "line 2: bad key '' (want [a-z0-9_-], 1 to 31 characters)" },
	/* 10 */ { "cmd=x\nabcdefghijklmnopqrstuvwxyz012345=1\n\n", 0,
		   "line 2: bad key 'abcdefghijklmnopqrstuvwxyz012345' (want [a-z0-9_-], 1 to 31 characters)" },
	/* 11 */ { "cmd=x\nproto=tcp\nproto=udp\n\n", 0,
		   "line 3: duplicate key 'proto'" },
	/* 12 */ { "cmd=x\ncmd=y\n\n", 0, "line 2: duplicate key 'cmd'" },
	/* 13 */ { "cmd=x\n1=a\n2=b\n3=c\n4=d\n5=e\n6=f\n7=g\n8=h\n9=i\n"
		   "10=j\n11=k\n12=l\n13=m\n14=n\n15=o\n16=p\n17=q\n\n", 0,
		   "line 18: too many arguments (at most 16)" },
	/* 14 */ { "cmd=x\nk=a\tb\n\n", 0,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 15 */ { "cmd=x\nk=a\x7f\n\n", 0,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 16 */ { "cmd=x\nk=\xc3\xa9\n\n", 0,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 17 */ { "cmd=x\nk=a\0b\n\n", 13,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 18 */ { "cmd=x\nk=a\rb\n\n", 0,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 19 */ { "cmd=x\nk=v\r\r\n\n", 0,
		   "line 2: non-printable byte in the value of 'k'" },
	/* 20 */ { "cmd=Ports\n\n", 0, "line 1: bad command name 'Ports'" },
	/* 21 */ { "cmd=\n\n", 0, "line 1: bad command name ''" },
	/* 22 */ { "cmd=nat sessions\n\n", 0,
		   "line 1: bad command name 'nat sessions'" },
	/* 23 */ { "cmd=\x1b[2J\n\n", 0, "line 1: non-printable byte in the value of 'cmd'" },
	/* 24 */ { "k\x1b=1\n\n", 0,
		   "line 1: bad key 'k?' (want [a-z0-9_-], 1 to 31 characters)" },
	/* 25 */ { "cmd=x\nk=1\n \n\n", 0, "line 3: expected key=value, got ' '" },
	/* 26 */ { "cmd=x\nthis line is much longer than thirty-two characters\n\n", 0,
		   "line 2: expected key=value, got 'this line is much longer than th...'" },
	/* 27 */ { "\r\n", 0, "empty request (want cmd=NAME)" },
	/* 28 */ { "", 0, "line 1: the request does not end with an empty line" },
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ctl_request r;
		char err[CTL_ERR_LEN] = "";
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
		int ret = ctl_request_parse(bad[i].text, len, &r, err,
					    sizeof(err));

		if (ret != -EINVAL || strcmp(err, bad[i].error) != 0)
			fail_msg("bad case %zu: got %d '%s', want '%s'", i, ret,
				 err, bad[i].error);
		/* Left empty. */
		assert_int_equal(r.n_args, 0);
		assert_string_equal(r.cmd, "");
		/* One line of printable text. */
		for (const char *c = err; *c; c++)
			assert_true(*c >= 0x20 && *c < 0x7f);
	}
}

/* A request at the size limit is read; one byte more is refused. */
static void test_limits(void **state)
{
	size_t len = CTL_MAX_REQUEST + 1;
	char *text = malloc(len + 1), err[CTL_ERR_LEN];
	struct ctl_request r;
	static const char head[] = "cmd=x\nk=";
	(void)state;

	assert_non_null(text);
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'v', CTL_MAX_REQUEST - sizeof(head) - 1);
	memcpy(text + CTL_MAX_REQUEST - 2, "\n\n", 2);
	assert_int_equal(ctl_request_parse(text, CTL_MAX_REQUEST, &r, err,
					   sizeof(err)), 0);
	assert_int_equal(strlen(ctl_request_get(&r, "k")),
			 CTL_MAX_REQUEST - sizeof(head) - 1);
	ctl_request_free(&r);

	memset(text + sizeof(head) - 1, 'v', CTL_MAX_REQUEST - sizeof(head));
	memcpy(text + CTL_MAX_REQUEST - 1, "\n\n", 2);
	assert_int_equal(ctl_request_parse(text, len, &r, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "request too long (at most 65536 bytes)");

	/* errlen 0: still refused, nothing written. */
	assert_int_equal(ctl_request_parse("x", 1, &r, NULL, 0), -EINVAL);
	free(text);
}

struct end_case {
	const char *text;
	size_t want;
};

static const struct end_case ends[] = {
	/* 0 */ { "", 0 },
	/* 1 */ { "cmd=ports", 0 },
	/* 2 */ { "cmd=ports\n", 0 },
	/* 3 */ { "cmd=ports\n\n", 11 },
	/* 4 */ { "cmd=ports\n\ncmd=counters\n\n", 11 },
	/* 5 */ { "cmd=ports\r\n\r\nrest", 13 },
	/* 6 */ { "\n", 1 },
	/* 7 */ { "cmd=ports\n\r", 0 },
	/* 8 */ { "cmd=ports\n \n", 0 },
	/* 9 */ { "a\nb\n\nc\n\n", 5 },
};

static void test_request_end(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t got = ctl_request_end(ends[i].text, strlen(ends[i].text));

		if (got != ends[i].want)
			fail_msg("framing case %zu: %zu, want %zu", i, got,
				 ends[i].want);
	}
}

/* Every byte of a good request replaced by every value: the parser either
 * accepts (then the result obeys the rules) or gives a one-line reason. */
static void test_tamper(void **state)
{
	static const char text[] =
		"cmd=nat-sessions\r\nproto=tcp\ninside=10.0.0.5:22\nlimit=5\n\n";
	size_t len = sizeof(text) - 1;
	char buf[sizeof(text)], err[CTL_ERR_LEN];
	(void)state;

	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 256; v++) {
			struct ctl_request r;
			int ret;

			memcpy(buf, text, len);
			buf[i] = (char)v;
			ret = ctl_request_parse(buf, len, &r, err, sizeof(err));
			if (ret != 0) {
				assert_int_equal(ret, -EINVAL);
				assert_true(err[0] != '\0');
				assert_int_equal(r.n_args, 0);
				continue;
			}
			assert_true(r.cmd[0] != '\0');
			for (unsigned a = 0; a < r.n_args; a++) {
				for (const char *c = r.args[a].value; *c; c++)
					assert_true(*c >= 0x20 && *c < 0x7f);
				for (unsigned b = 0; b < a; b++)
					assert_string_not_equal(r.args[a].key,
								r.args[b].key);
			}
			ctl_request_free(&r);
		}
	}
}

/* --- JSON ------------------------------------------------------------------ */

/* The writer's output for fn, as a NUL-terminated string to free. */
static char *json_of(void (*fn)(struct jsonw *w, const void *arg),
		     const void *arg, size_t *len_out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jsonw w;

	assert_non_null(f);
	jsonw_init(&w, f);
	fn(&w, arg);
	assert_int_equal(w.depth, 0);
	assert_int_equal(fclose(f), 0);
	if (len_out)
		*len_out = len;
	return buf;
}

static void write_document(struct jsonw *w, const void *arg)
{
	(void)arg;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "name", "public");
	jsonw_kv_u64(w, "zero", 0);
	jsonw_kv_u64(w, "max", UINT64_MAX);
	jsonw_kv_bool(w, "up", true);
	jsonw_kv_bool(w, "down", false);
	jsonw_kv_null(w, "via");
	jsonw_key(w, "empty");
	jsonw_object_begin(w);
	jsonw_object_end(w);
	jsonw_key(w, "list");
	jsonw_array_begin(w);
	jsonw_u64(w, 1);
	jsonw_string(w, "two");
	jsonw_array_begin(w);
	jsonw_array_end(w);
	jsonw_object_begin(w);
	jsonw_kv_u64(w, "k", 3);
	jsonw_object_end(w);
	jsonw_null(w);
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void test_json_document(void **state)
{
	char *s = json_of(write_document, NULL, NULL);
	(void)state;

	assert_string_equal(s,
		"{\"name\":\"public\",\"zero\":0,\"max\":18446744073709551615,"
		"\"up\":true,\"down\":false,\"via\":null,\"empty\":{},"
		"\"list\":[1,\"two\",[],{\"k\":3},null]}");
	free(s);
}

struct escape_case {
	const char *in;
	size_t len;                 /* 0: strlen(in) */
	const char *out;            /* with the quotes */
};

static const struct escape_case escapes[] = {
	/* 0 */ { "", 0, "\"\"" },
	/* 1 */ { "a\"b\\c/d", 0, "\"a\\\"b\\\\c/d\"" },
	/* 2 */ { "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\"" },
	/* 3 */ { "\x01\x1f\x7f\x1b[0m", 0, "\"\\u0001\\u001f\\u007f\\u001b[0m\"" },
	/* 4 */ { "a\0b", 3, "\"a\\u0000b\"" },
	/* 5 */ { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", 0,
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"" },   /* é € 🔑 */
	/* 6 */ { "\xc3", 0, "\"\\ufffd\"" },                    /* truncated */
	/* 7 */ { "\xc3(", 0, "\"\\ufffd(\"" },
	/* 8 */ { "\xc0\xaf", 0, "\"\\ufffd\\ufffd\"" },         /* overlong / */
	/* 9 */ { "\xe0\x80\xaf", 0, "\"\\ufffd\\ufffd\\ufffd\"" }, /* overlong */
	/* 10 */ { "\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
	/* 11 */ { "\xed\x9f\xbf", 0, "\"\xed\x9f\xbf\"" },       /* U+D7FF */
	/* 12 */ { "\xf4\x90\x80\x80", 0,
		   "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },            /* > U+10FFFF */
	/* 13 */ { "\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\"" }, /* U+10FFFF */
	/* 14 */ { "\xf5\x80\x80\x80", 0,
		   "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
	/* 15 */ { "\x80x\xbf", 0, "\"\\ufffdx\\ufffd\"" },         /* lone continuation */
	/* 16 */ { "\xc2\x80", 0, "\"\xc2\x80\"" },                 /* U+0080 passes */
	/* 17 */ { "\xe2\x82", 0, "\"\\ufffd\\ufffd\"" },
	/* 18 */ { "\xff\xfe", 0, "\"\\ufffd\\ufffd\"" },
};

static void write_one_string(struct jsonw *w, const void *arg)
{
	const struct escape_case *c = arg;

	jsonw_string_len(w, c->in, c->len ? c->len : strlen(c->in));
}

static void test_json_escapes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		char *s = json_of(write_one_string, &escapes[i], NULL);

		if (strcmp(s, escapes[i].out) != 0)
			fail_msg("escape case %zu: got %s want %s", i, s,
				 escapes[i].out);
		free(s);
	}
}

static void write_escaped_key(struct jsonw *w, const void *arg)
{
	(void)arg;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "a\"b", "\n");
	jsonw_object_end(w);
}

static void test_json_key_escaped(void **state)
{
	char *s = json_of(write_escaped_key, NULL, NULL);
	(void)state;

	assert_string_equal(s, "{\"a\\\"b\":\"\\n\"}");
	free(s);
}

/* --- JSON: randomized round trip through a naive decoder --------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* The reference: encode code point cp as UTF-8 the textbook way. */
static size_t utf8_put(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* The reference decoder: one code point of UTF-8 at s, by brute force:
 * try every code point's encoding of each length (slow, obviously right
 * for what the writer emits).  0 if none matches. */
static size_t utf8_get(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t enc[4];
	size_t len = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;

	if (len > n)
		return 0;
	/* Candidates share the lead byte's payload bits: decode, re-encode,
	 * compare. */
	uint32_t v = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> len));

	for (size_t i = 1; i < len; i++)
		v = v << 6 | (s[i] & 0x3f);
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (utf8_put(enc, v) != len || memcmp(enc, s, len) != 0)
		return 0;
	*cp = v;
	return len;
}

/* Decode a JSON string (the writer's output) back to UTF-8 bytes; fail on
 * anything RFC 8259 does not allow in one. */
static size_t json_decode(const char *json, size_t jlen, uint8_t *out)
{
	const uint8_t *s = (const uint8_t *)json;
	size_t i = 1, n = 0;

	assert_true(jlen >= 2 && s[0] == '"' && s[jlen - 1] == '"');
	while (i < jlen - 1) {
		uint32_t cp;
		size_t l;

		if (s[i] == '\\') {
			char e = (char)s[i + 1];
			const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);

			if (e == 'u') {
				char hex[5] = { 0 };

				memcpy(hex, s + i + 2, 4);
				cp = (uint32_t)strtoul(hex, NULL, 16);
				n += utf8_put(out + n, cp);
				i += 6;
				continue;
			}
			assert_non_null(map);
			out[n++] = (uint8_t)map[1];
			i += 2;
			continue;
		}
		assert_true(s[i] >= 0x20 && s[i] != '"' && s[i] != 0x7f);
		l = utf8_get(s + i, jlen - 1 - i, &cp);
		assert_true(l > 0);
		memcpy(out + n, s + i, l);
		n += l;
		i += l;
	}
	return n;
}

struct blob {
	const uint8_t *p;
	size_t n;
};

static void write_blob(struct jsonw *w, const void *arg)
{
	const struct blob *b = arg;

	jsonw_string_len(w, (const char *)b->p, b->n);
}

static void test_json_random(void **state)
{
	uint8_t in[256], back[1024];
	(void)state;

	for (int round = 0; round < 20000; round++) {
		size_t n = 0, jlen, blen;
		struct blob b = { in, 0 };
		char *json;

		if (round % 2 == 0) {
			/* Valid UTF-8 of random code points: back exactly. */
			while (n < sizeof(in) - 4 && rng() % 32) {
				uint32_t cp = rng() % 4 == 0 ? rng() % 0x80
					      : rng() % 0x110000;

				if (cp >= 0xd800 && cp <= 0xdfff)
					continue;
				n += utf8_put(in + n, cp);
			}
		} else {
			/* Random bytes, biased to UTF-8 lead and
			 * continuation bytes: always valid JSON out. */
			n = rng() % 64;
			for (size_t i = 0; i < n; i++)
				in[i] = (uint8_t)(rng() % 3 ? 0x80 | rng()
						  : rng());
		}
		b.n = n;
		json = json_of(write_blob, &b, &jlen);
		blen = json_decode(json, jlen, back);
		if (round % 2 == 0) {
			assert_int_equal(blen, n);
			assert_memory_equal(back, in, n);
		}
		free(json);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_request_end),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_key_escaped),
		cmocka_unit_test(test_json_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
