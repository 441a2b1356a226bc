/* SPDX-License-Identifier: BSD-3-Clause */
#include "random.h"

#include <sodium.h>

static random_source_fn source;

void random_bytes(void *buf, size_t len)
{
	if (source)
		source(buf, len);
	else
		randombytes_buf(buf, len);
}

uint32_t random_u32(void)
{
	uint32_t v;

	random_bytes(&v, sizeof(v));
	return v;
}

uint32_t random_uniform(uint32_t bound)
{
	/* Rejection sampling: discard the values that would bias the modulo. */
	uint32_t min = -bound % bound, v;

	do
		v = random_u32();
	while (v < min);
	return v % bound;
}

void random_source_set(random_source_fn fn)
{
	source = fn;
}
