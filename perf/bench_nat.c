/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_nat: how fast the fast path forwards through the NAT on one core,
 * beside plain forwarding without NAT on the same fixture in the same
 * run.  See perf/README.md.
 *
 *   bench_nat [--json] [--runs N] [--time SECONDS] [--sizes LIST]
 *             [--flows N] [--forwards N] [-- EAL options]
 *
 * Five rows: forward (no NAT), NAT out and in on established sessions,
 * NAT out and in where every packet creates a session.  Each NAT row is
 * reported as a ratio to the forward of the same round.  The flows and
 * the timed loops are in bench_nat_flows.c, the driver in bench_main.c.
 */
#include "bench.h"

static int nat_setup(struct bench_fixture *f, const struct bench_options *o,
		     char *err, size_t errlen)
{
	return bench_nat_setup(f, o->flows, o->forwards, err, errlen);
}

static const struct bench_ratio nat_ratios[] = {
	{ "out/forward", "out_forward", BENCH_NAT_OUT, BENCH_FORWARD },
	{ "in/forward", "in_forward", BENCH_NAT_IN, BENCH_FORWARD },
	{ "out-new/forward", "out_new_forward", BENCH_NAT_OUT_NEW, BENCH_FORWARD },
	{ "in-new/forward", "in_new_forward", BENCH_NAT_IN_NEW, BENCH_FORWARD },
};

static const struct bench_suite nat_suite = {
	.name = "bench_nat",
	.title = "NAT44 (masquerade + conntrack) vs plain forwarding, one core",
	.first = BENCH_FORWARD,
	.n_kinds = BENCH_NAT_IN_NEW - BENCH_FORWARD + 1,
	.ratios = nat_ratios,
	.n_ratios = sizeof(nat_ratios) / sizeof(nat_ratios[0]),
	.sizes = { 64 },
	.n_sizes = 1,
	.min_size = 64,
	.max_size = 1518,
	.size_help = "Ethernet frame sizes with FCS (64: 46 bytes of IP)",
	.size_column = "frame",
	.nat_options = true,
	.sessions = true,
	.extra_ns = true,
	.setup = nat_setup,
	.teardown = bench_nat_teardown,
	.prepare = bench_nat_prepare,
	.run = bench_nat_run,
};

int main(int argc, char **argv)
{
	return bench_main(argc, argv, &nat_suite);
}
