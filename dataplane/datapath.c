/* SPDX-License-Identifier: BSD-3-Clause */
#include "datapath.h"

#include <time.h>

const char *const dp_drop_names[DROP_COUNT] = {
#define DP_DROP_NAME(name) #name,
	DP_DROP_REASONS(DP_DROP_NAME)
#undef DP_DROP_NAME
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC is a vDSO call (~20 ns); taken once per loop iteration. */
uint64_t dp_now(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t dp_realtime(void)
{
	return clock_ns(CLOCK_REALTIME);
}
