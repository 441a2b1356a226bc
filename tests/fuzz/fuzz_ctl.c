/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the gateway CLI's request parser
 * (control/ctl_proto.c) and the JSON writer of its replies
 * (control/jsonw.c).  Each input is what a client sent on the socket.
 *
 * Build (see meson.build in this folder) and run from the source root:
 *   build-fuzz/tests/fuzz/fuzz_ctl -max_total_time=60 tests/fuzz/corpus/ctl
 * The seeds are one request of each command portcullisctl sends.
 *
 * Oracles besides the sanitizers:
 *  - the contract: 0 and a request, or -EINVAL, a one-line printable
 *    reason and an empty request;
 *  - the rules: a command name and keys of [a-z0-9_-]{1,31}, keys unique,
 *    values printable, at most CTL_MAX_ARGS;
 *  - a round trip: a request written back parses to the same request;
 *  - JSON: the input written as a JSON string (as an error reply may
 *    quote it) has no raw control byte, '"' or '\\' unescaped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "jsonw.h"

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CTL_MAX_KEY)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static void check_request(const struct ctl_request *r)
{
	if (!is_name(r->cmd) || r->n_args > CTL_MAX_ARGS)
		__builtin_trap();
	for (unsigned i = 0; i < r->n_args; i++) {
		if (!is_name(r->args[i].key) || strcmp(r->args[i].key, "cmd") == 0)
			__builtin_trap();
		for (const char *c = r->args[i].value; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				__builtin_trap();
		for (unsigned j = 0; j < i; j++)
			if (strcmp(r->args[i].key, r->args[j].key) == 0)
				__builtin_trap();
	}
}

static void round_trip(const struct ctl_request *r)
{
	char *text = NULL, err[CTL_ERR_LEN];
	size_t len = 0;
	struct ctl_request again;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	fprintf(f, "cmd=%s\n", r->cmd);
	for (unsigned i = 0; i < r->n_args; i++)
		fprintf(f, "%s=%s\n", r->args[i].key, r->args[i].value);
	fputc('\n', f);
	if (fclose(f) != 0)
		return;
	if (ctl_request_end(text, len) != len ||
	    ctl_request_parse(text, len, &again, err, sizeof(err)) != 0 ||
	    strcmp(again.cmd, r->cmd) != 0 || again.n_args != r->n_args)
		__builtin_trap();
	for (unsigned i = 0; i < r->n_args; i++)
		if (strcmp(again.args[i].key, r->args[i].key) != 0 ||
		    strcmp(again.args[i].value, r->args[i].value) != 0)
			__builtin_trap();
	ctl_request_free(&again);
	free(text);
}

static void run(const char *text, size_t len)
{
	char err[CTL_ERR_LEN];
	struct ctl_request r;
	int ret = ctl_request_parse(text, len, &r, err, sizeof(err));

	if (ret != 0) {
		if (ret != -EINVAL || err[0] == '\0' || r.n_args || r.cmd[0])
			__builtin_trap();
		for (const char *c = err; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				__builtin_trap();
		return;
	}
	check_request(&r);
	round_trip(&r);
	ctl_request_free(&r);
}

static void json_string(const char *data, size_t size)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct jsonw w;

	if (!f)
		return;
	jsonw_init(&w, f);
	jsonw_string_len(&w, data, size);
	if (fclose(f) != 0)
		return;
	if (len < 2 || out[0] != '"' || out[len - 1] != '"')
		__builtin_trap();
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f || c == '"')
			__builtin_trap();
		if (c == '\\')
			i++;                /* the escaped character */
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t end = ctl_request_end(text, size);

	run(text, size);
	/* As the socket would: frame first, then parse that much. */
	if (end > 0 && end < size)
		run(text, end);
	json_string(text, size);
	return 0;
}
