/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the config parser tests, test_config.c and test_config_nat.c:
 * test keys, the usual sections as text, a parse() that collects
 * notices, and the runners for numbered tables of good and bad files.
 * Header-only: each test is one translation unit and one executable.
 */
#ifndef PORTCULLIS_TESTS_CONFIG_TEST_UTIL_H
#define PORTCULLIS_TESTS_CONFIG_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"

/* Test keys, made with `wg genkey` / `wg pubkey` / `wg genpsk`. */
#define PRIV "GIPEvSj0DkG+24ZO9LDFMKgwl0JEheCow1qVdrcJFmE="
#define PUB "W71yuLDTke677VHZK1HpF4LvNoOLU2GqFUPiWZ6CK1g=" /* of PRIV */
#define PUB2 "Qs1nu4jOluP/GuKJbZ4+xcgyf3fn8llb+/zgqyyg+RY="
#define PUB3 "POY7GA644IXeq40TilEdUO+L0DudV2UZ+TARBwcbQh4="
#define PSK "+CdjtWqg44Zzy2H6BzU1wVM3gWErCQpLvRkk+R2oQoQ="

/* Two lines. */
#define IFACE "[Interface]\nPrivateKey = " PRIV "\n"
/* Six lines. */
#define PORTS "[Port public]\nDevice = net_af_xdp0,iface=eth0\n"          \
	      "Address = 203.0.113.2/24\n"                                  \
	      "[Port private]\nDevice = 0000:01:00.0\nAddress = 10.0.0.1/24\n"
#define PEER2 "[Peer]\nPublicKey = " PUB2 "\n"
#define PEER3 "[Peer]\nPublicKey = " PUB3 "\n"

enum { MAX_NOTICES = 16 };

struct notices {
	char msg[MAX_NOTICES][CONFIG_ERR_LEN + 64];
	int n;
};

static inline void collect(const char *msg, void *ctx)
{
	struct notices *n = ctx;

	if (!n)
		return;
	if (n->n < MAX_NOTICES)
		snprintf(n->msg[n->n], sizeof(n->msg[0]), "%s", msg);
	n->n++;
}

static inline int parse_flags(const char *text, unsigned flags,
			      struct config **cfg, char *err,
			      struct notices *notices)
{
	return config_parse("gw.conf", text, strlen(text), flags, collect,
			    notices, cfg, err, CONFIG_ERR_LEN);
}

static inline int parse(const char *text, struct config **cfg, char *err,
			struct notices *notices)
{
	return parse_flags(text, CONFIG_NO_PERMISSION_CHECK | CONFIG_NO_DNS, cfg,
			   err, notices);
}

static inline void assert_prefix(const struct ip_prefix *p, const char *want)
{
	char buf[64];

	config_prefix_format(buf, sizeof(buf), p);
	assert_string_equal(buf, want);
}

/* Every good file parses; `table` names the table in failure messages. */
static inline void run_good_cases(const char *const *good, size_t n,
				  const char *table)
{
	for (size_t i = 0; i < n; i++) {
		struct config *cfg = NULL;
		struct notices notes = { 0 };
		char err[CONFIG_ERR_LEN] = "";

		if (parse(good[i], &cfg, err, &notes) != 0)
			fail_msg("%s case %zu refused: %s", table, i, err);
		assert_non_null(cfg);
		config_free(cfg);
	}
}

struct bad_case {
	const char *text;
	const char *error;          /* exact prefix of the message */
};

/* Every bad file is refused with its exact message and no config. */
static inline void run_bad_cases(const struct bad_case *bad, size_t n,
				 const char *table)
{
	for (size_t i = 0; i < n; i++) {
		struct config *cfg = (struct config *)&cfg; /* must be reset */
		struct notices notes = { 0 };
		char err[CONFIG_ERR_LEN] = "";
		int ret = parse(bad[i].text, &cfg, err, &notes);

		if (ret == 0 || cfg != NULL)
			fail_msg("%s case %zu accepted", table, i);
		if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0)
			fail_msg("%s case %zu:\n  got  \"%s\"\n  want \"%s\"",
				 table, i, err, bad[i].error);
		/* Secrets never appear in messages. */
		if (strstr(err, PRIV) || strstr(err, PSK))
			fail_msg("%s case %zu leaks a key: %s", table, i, err);
	}
}

#endif
