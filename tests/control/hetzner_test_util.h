/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the Hetzner model tests, test_hetzner_model.c (label codec,
 * parsers) and test_hetzner_desired.c (the desired state): where the
 * fixtures are, reading one, and asserts on addresses.  Header-only: each
 * test is one translation unit and one executable.
 */
#ifndef PORTCULLIS_TESTS_HETZNER_TEST_UTIL_H
#define PORTCULLIS_TESTS_HETZNER_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hetzner.h"
#include "source_root.h"

static inline void fixture_dir(char *out, size_t len)
{
	char root[1024];

	source_root(root, sizeof(root), "tests/control/fixtures/hetzner/README.md");
	snprintf(out, len, "%stests/control/fixtures/hetzner", root);
}

static inline char *read_fixture(const char *name, size_t *len)
{
	char dir[2048], path[4096];
	char *buf;
	FILE *f;
	long n;

	fixture_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline void assert_addr(const struct ip_addr *a, const char *text)
{
	char buf[64];

	config_addr_format(buf, sizeof(buf), a);
	assert_string_equal(buf, text);
}

static inline void assert_prefix(const struct ip_prefix *p, const char *text)
{
	char buf[64];

	config_prefix_format(buf, sizeof(buf), p);
	assert_string_equal(buf, text);
}

static inline void hex_to_key(uint8_t key[32], const char *hex)
{
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &key[i]);
}

#endif
