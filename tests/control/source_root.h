/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where the source tree is, for control tests that read files from it
 * (example configs, API fixtures): PORTCULLIS_SOURCE_ROOT, else SOURCE_ROOT
 * from meson, else found from __FILE__, which is relative to the build
 * root (meson) or the cwd (a direct gcc).  Include after <cmocka.h>.
 */
#ifndef PORTCULLIS_TESTS_SOURCE_ROOT_H
#define PORTCULLIS_TESTS_SOURCE_ROOT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* out: the root with a trailing '/'; probe: a file under it to look for. */
static inline void source_root(char *out, size_t len, const char *probe_rel)
{
	static const char suffix[] = "tests/control/source_root.h";
	const char *file = __FILE__, *env = getenv("PORTCULLIS_SOURCE_ROOT");
	size_t flen = strlen(file), plen = flen - (sizeof(suffix) - 1);
	char probe[4096];

#ifdef SOURCE_ROOT
	if (!env)
		env = SOURCE_ROOT;
#endif
	if (env) {
		snprintf(out, len, "%s/", env);
		return;
	}
	assert_true(flen >= sizeof(suffix) - 1);
	for (int up = 0; up <= 3; up++) {
		snprintf(out, len, "%.*s%.*s", up * 3, "../../../", (int)plen, file);
		snprintf(probe, sizeof(probe), "%s%s", out, probe_rel);
		if (access(probe, R_OK) == 0)
			return;
	}
	fail_msg("cannot find the source tree; set PORTCULLIS_SOURCE_ROOT");
}

#endif
