/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for tools/portcullisctl/table.c: alignment (left, right, the last
 * column without trailing blanks), an empty table, cells from every JSON
 * type, and byte counts in IEC units at each unit's edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl_test_util.h"
#include "table.h"

static const struct table_col cols[] = {
	{ "NAME" }, { "PACKETS", true }, { "NOTE" },
};

/* t prints exactly want; t is destroyed. */
static void assert_table_prints(struct table *t, const char *want)
{
	struct capture cap;

	capture_begin(&cap);
	assert_int_equal(table_print(t, cap.f), 0);
	assert_string_equal(capture_end(&cap), want);
	capture_free(&cap);
	table_destroy(t);
}

static void test_alignment(void **state)
{
	struct table *t = table_create(cols, 3);

	(void)state;
	assert_non_null(t);
	table_add(t, "public");
	table_addf(t, "%d", 1234567);
	table_add(t, "a long note");
	table_add(t, "lo");
	table_add(t, "0");
	table_add(t, "x");
	assert_table_prints(t, "NAME    PACKETS  NOTE\n"
			       "public  1234567  a long note\n"
			       "lo            0  x\n");
}

/* A right-aligned last column is padded (that is its alignment); a left
 * one never is. */
static void test_right_last_column(void **state)
{
	static const struct table_col two[] = { { "K" }, { "VALUE", true } };
	struct table *t = table_create(two, 2);

	(void)state;
	table_add(t, "a");
	table_add(t, "1");
	assert_table_prints(t, "K  VALUE\na      1\n");
}

static void test_empty(void **state)
{
	struct table *t = table_create(cols, 3);

	(void)state;
	assert_table_prints(t, "NAME  PACKETS  NOTE\n");
	table_destroy(NULL);
}

/* Every JSON type as a cell; bytes humanised only with both flags. */
static void test_json_cells(void **state)
{
	static const struct {
		const char *json;           /* {"v": ...}, or {} for missing */
		unsigned flags;
		const char *cell;
	} cases[] = {
		/*  1 */ { "{\"v\":\"up\"}", 0, "up" },
		/*  2 */ { "{\"v\":null}", 0, "-" },
		/*  3 */ { "{\"v\":true}", 0, "yes" },
		/*  4 */ { "{\"v\":false}", 0, "no" },
		/*  5 */ { "{\"v\":0}", 0, "0" },
		/*  6 */ { "{\"v\":9223372036854775807}", 0, "9223372036854775807" },
		/*  7 */ { "{\"v\":-1}", 0, "-1" },
		/*  8 */ { "{\"v\":1536}", TABLE_BYTES, "1536" },
		/*  9 */ { "{\"v\":1536}", TABLE_HUMAN, "1536" },
		/* 10 */ { "{\"v\":1536}", TABLE_BYTES | TABLE_HUMAN, "1.5KiB" },
		/* 11 */ { "{\"v\":-1}", TABLE_BYTES | TABLE_HUMAN, "-1" },
		/* 12 */ { "{}", 0, "?" },
		/* 13 */ { "{\"v\":1.5}", 0, "?" },
		/* 14 */ { "{\"v\":[1]}", 0, "?" },
		/* 15 */ { "{\"v\":{}}", 0, "?" },
		/* 16 */ { "{\"v\":\"\"}", 0, "" },
	};
	static const struct table_col one[] = { { "V" } };

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *obj = json_loads(cases[i].json, 0, NULL);
		struct table *t = table_create(one, 1);
		char want[64];

		print_message("case %u: %s\n", i + 1, cases[i].json);
		assert_non_null(obj);
		table_add_member(t, obj, "v", cases[i].flags);
		snprintf(want, sizeof(want), "V\n%s\n", cases[i].cell);
		assert_table_prints(t, want);
		json_decref(obj);
	}
}

static void test_format_bytes(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		/*  1 */ { 0, "0B" },
		/*  2 */ { 1023, "1023B" },
		/*  3 */ { 1024, "1.0KiB" },
		/*  4 */ { 1536, "1.5KiB" },
		/*  5 */ { 1048575, "1.0MiB" },     /* would be "1024.0KiB" */
		/*  6 */ { 1048473, "1023.9KiB" },
		/*  7 */ { 1617637785, "1.5GiB" },
		/*  8 */ { 5ull << 40, "5.0TiB" },
		/*  9 */ { 3ull << 50, "3.0PiB" },
		/* 10 */ { UINT64_MAX, "16.0EiB" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];

		print_message("case %u\n", i + 1);
		table_format_bytes(buf, sizeof(buf), cases[i].bytes);
		assert_string_equal(buf, cases[i].text);
	}
}

/* The last row may be short (a printer that gave up half-way): what it
 * has is printed, nothing is read past the end. */
static void test_short_row(void **state)
{
	struct table *t = table_create(cols, 3);

	(void)state;
	table_add(t, "a");
	table_add(t, "1");
	assert_table_prints(t, "NAME  PACKETS  NOTE\na           1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_right_last_column),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_json_cells),
		cmocka_unit_test(test_format_bytes),
		cmocka_unit_test(test_short_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
