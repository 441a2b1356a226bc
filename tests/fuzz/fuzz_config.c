/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the config parser (control/config.c and the key
 * parsers: config_keys.c, config_port.c, config_nat.c, config_control.c).  Each input is
 * a whole config file.
 *
 * Build (see meson.build in this folder) and run from the source root:
 *   build-fuzz/tests/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/config
 *
 * CONFIG_NO_DNS keeps the run hermetic and fast.  PrivateKeyFile lines do
 * open files, relative to the current directory: the parser refuses
 * anything but a small regular file, so a fuzzed path cannot block on a
 * FIFO or a device.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

/* Swallow notices: the fuzzer's output is for crashes. */
static void quiet(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;
	int ret;

	ret = config_parse("fuzz.conf", (const char *)data, size,
			   CONFIG_NO_PERMISSION_CHECK | CONFIG_NO_DNS, quiet, NULL,
			   &cfg, err, sizeof(err));
	/* The contract: a config on success, none and a message on failure. */
	if ((ret == 0) != (cfg != NULL) || (ret != 0 && err[0] == '\0'))
		__builtin_trap();
	config_free(cfg);
	return 0;
}
