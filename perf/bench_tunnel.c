/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_tunnel: how fast the fast path's own encap and decap run on one
 * core, beside the raw ChaCha20-Poly1305 rate of libsodium and OpenSSL on
 * the same core in the same process.  See perf/README.md.
 *
 *   bench_tunnel [--json] [--runs N] [--time SECONDS] [--sizes LIST]
 *                [-- EAL options]
 *
 * The timed loops are in bench_pipeline.c and bench_crypto.c, the driver
 * (options, EAL, rounds) in bench_main.c.
 */
#include <errno.h>

#include "bench.h"

static int tunnel_init(const struct bench_options *o, char *err, size_t errlen)
{
	return bench_crypto_init(o->sizes, o->n_sizes, err, errlen);
}

static int tunnel_run(struct bench_fixture *f, enum bench_kind k, unsigned size,
		      uint64_t min_ns, struct bench_sample *s, char *err,
		      size_t errlen)
{
	switch (k) {
	case BENCH_ENCAP:
		return bench_encap_run(f, size, min_ns, s, err, errlen);
	case BENCH_DECAP:
		return bench_decap_run(f, size, min_ns, s, err, errlen);
	case BENCH_SODIUM:
		return bench_sodium_run(size, min_ns, s, err, errlen);
	case BENCH_OPENSSL:
		return bench_openssl_run(size, min_ns, s, err, errlen);
	default:
		return -EINVAL;
	}
}

static void tunnel_versions(struct bench_setup *setup)
{
	setup->sodium = bench_sodium_version();
	setup->openssl = bench_openssl_version();
}

static const struct bench_ratio tunnel_ratios[] = {
	{ "encap/libsodium", "encap_libsodium", BENCH_ENCAP, BENCH_SODIUM },
	{ "decap/libsodium", "decap_libsodium", BENCH_DECAP, BENCH_SODIUM },
	{ "encap/openssl", "encap_openssl", BENCH_ENCAP, BENCH_OPENSSL },
};

static const struct bench_suite tunnel_suite = {
	.name = "bench_tunnel",
	.title = "WireGuard encap/decap pipeline vs raw ChaCha20-Poly1305, one core",
	.first = BENCH_ENCAP,
	.n_kinds = BENCH_OPENSSL - BENCH_ENCAP + 1,
	.ratios = tunnel_ratios,
	.n_ratios = sizeof(tunnel_ratios) / sizeof(tunnel_ratios[0]),
	.sizes = { 64, 512, 1420 },
	.n_sizes = 3,
	.min_size = BENCH_MIN_SIZE,
	.max_size = BENCH_MAX_SIZE,
	.size_help = "inner IPv4 packet sizes",
	.size_column = "size",
	.init = tunnel_init,
	.fini = bench_crypto_fini,
	.prepare = bench_pipeline_prepare,
	.run = tunnel_run,
	.versions = tunnel_versions,
};

int main(int argc, char **argv)
{
	return bench_main(argc, argv, &tunnel_suite);
}
