/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_tunnel: how fast the fast path's own encap and decap run on one
 * core, beside the raw ChaCha20-Poly1305 rate of libsodium and OpenSSL on
 * the same core in the same process.  See perf/README.md.
 *
 *   bench_tunnel [--json] [--runs N] [--time SECONDS] [--sizes LIST]
 *                [-- EAL options]
 *
 * For each packet size: functional checks, a short warm-up of each of the
 * four measurements, then N rounds.  A round runs each measurement once,
 * back to back, starting with a different one each round, so slow phases
 * of a shared machine hit every column alike and the per-round ratios
 * stay meaningful.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include "bench.h"

/* In-process, no hugepages, no files shared with other DPDK processes
 * (tests or a daemon may run beside us), two null ports that free what
 * they are given, one lcore. */
static const char *const default_eal[] = {
	"-l", "0", "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
	"--no-telemetry", "--log-level=*:warning",
	"--vdev", "net_null0", "--vdev", "net_null1",
};

enum { WARMUP_MS = 100, N_DEFAULT_EAL = sizeof(default_eal) / sizeof(default_eal[0]) };

struct options {
	bool json;
	unsigned runs;
	double seconds;
	unsigned sizes[BENCH_MAX_SIZES];
	unsigned n_sizes;
	int eal_argc;
	char **eal_argv;
	char command[256];                    /* as typed, for the report */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_tunnel [--json] [--runs N] [--time SECONDS] [--sizes LIST]\n"
		"                    [-- EAL options]\n"
		"  --json          print JSON instead of the table\n"
		"  --runs N        rounds per size, 1-%d (default 5)\n"
		"  --time SECONDS  minimum measured time of each run (default 0.5)\n"
		"  --sizes LIST    inner IPv4 packet sizes, %d-%d (default 64,512,1420)\n"
		"  EAL options replace the default:", BENCH_MAX_RUNS, BENCH_MIN_SIZE,
		BENCH_MAX_SIZE);
	for (unsigned i = 0; i < N_DEFAULT_EAL; i++)
		fprintf(f, " %s", default_eal[i]);
	fprintf(f, "\n");
}

static int parse_sizes(const char *text, struct options *o)
{
	char *copy = strdup(text), *save = NULL, *tok;
	int ret = 0;

	o->n_sizes = 0;
	for (tok = strtok_r(copy, ",", &save); tok && ret == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || v < BENCH_MIN_SIZE || v > BENCH_MAX_SIZE ||
		    o->n_sizes == BENCH_MAX_SIZES)
			ret = -EINVAL;
		else
			o->sizes[o->n_sizes++] = (unsigned)v;
	}
	free(copy);
	return ret == 0 && o->n_sizes ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "runs", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "sizes", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char *eal[N_DEFAULT_EAL + 1];
	char *end;
	int opt;

	*o = (struct options){ .runs = 5, .seconds = 0.5, .n_sizes = 3,
			       .sizes = { 64, 512, 1420 } };
	/* Before getopt_long permutes argv. */
	for (int i = 0, at = 0; i < argc && at < (int)sizeof(o->command); i++)
		at += snprintf(o->command + at, sizeof(o->command) - (size_t)at, "%s%s",
			       i ? " " : "", argv[i]);
	while ((opt = getopt_long(argc, argv, "jr:t:s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			o->json = true;
			break;
		case 'r':
			o->runs = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->runs < 1 || o->runs > BENCH_MAX_RUNS)
				goto bad;
			break;
		case 't':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds > 0 && o->seconds <= 60))
				goto bad;
			break;
		case 's':
			if (parse_sizes(optarg, o) < 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind < argc) {                  /* after "--": EAL's, verbatim */
		o->eal_argv = &argv[optind - 1];
		o->eal_argv[0] = argv[0];
		o->eal_argc = argc - optind + 1;
	} else {
		eal[0] = argv[0];
		for (unsigned i = 0; i < N_DEFAULT_EAL; i++)
			eal[i + 1] = (char *)default_eal[i];
		o->eal_argv = eal;
		o->eal_argc = N_DEFAULT_EAL + 1;
	}
	return 0;
bad:
	usage(stderr);
	return -EINVAL;
}

static void cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(out, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + strspn(colon + 1, " \t");
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(out, len, "%s", colon);
			break;
		}
	}
	if (f)
		fclose(f);
}

static int run_kind(struct bench_fixture *f, enum bench_kind k, unsigned size,
		    uint64_t min_ns, struct bench_sample *s, char *err, size_t errlen)
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

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* One run; on failure say which one (err says why). */
static int measure(struct bench_fixture *f, enum bench_kind k, unsigned size,
		   uint64_t min_ns, struct bench_sample *s, const char *when,
		   char *err, size_t errlen)
{
	uint64_t wall = dp_now(), cpu = thread_cpu_ns();
	int ret = run_kind(f, k, size, min_ns, s, err, errlen);

	wall = dp_now() - wall;
	cpu = thread_cpu_ns() - cpu;
	s->cpu_share = wall ? (double)cpu / (double)wall : 0;
	if (ret < 0)
		fprintf(stderr, "bench_tunnel: %u bytes, %s, %s: invalid run\n", size,
			bench_kind_names[k], when);
	return ret;
}

/* Checks, warm-up, then the interleaved rounds for one size. */
static int bench_size(struct bench_fixture *f, const struct options *o,
		      struct bench_result *r, char *err, size_t errlen)
{
	uint64_t min_ns = (uint64_t)(o->seconds * 1e9);
	struct bench_sample warm;
	char when[32];
	int ret;

	fprintf(stderr, "bench_tunnel: %u bytes: checking encap/decap output\n", r->size);
	ret = bench_pipeline_prepare(f, r->size, err, errlen);
	for (unsigned k = 0; k < BENCH_KINDS && ret == 0; k++)
		ret = measure(f, k, r->size, WARMUP_MS * NSEC_PER_MSEC, &warm, "warm-up",
			      err, errlen);
	for (unsigned i = 0; i < o->runs && ret == 0; i++) {
		fprintf(stderr, "bench_tunnel: %u bytes: round %u/%u\n", r->size, i + 1,
			o->runs);
		snprintf(when, sizeof(when), "round %u", i + 1);
		for (unsigned j = 0; j < BENCH_KINDS && ret == 0; j++) {
			enum bench_kind k = (enum bench_kind)((i + j) % BENCH_KINDS);

			ret = measure(f, k, r->size, min_ns, &r->s[k][i], when, err, errlen);
		}
	}
	r->runs = o->runs;
	return ret;
}

static int run(const struct options *o, struct bench_result *res)
{
	static struct bench_fixture f;
	struct rte_eth_dev_info info;
	char err[BENCH_ERR_LEN] = "", cpu[128];
	struct bench_setup setup;
	int ret;

	ret = bench_fixture_create(&f, err, sizeof(err));
	for (unsigned i = 0; i < o->n_sizes && ret == 0; i++) {
		res[i].size = o->sizes[i];
		ret = bench_size(&f, o, &res[i], err, sizeof(err));
	}
	if (ret == 0) {
		cpu_model(cpu, sizeof(cpu));
		setup = (struct bench_setup){
			.runs = o->runs, .seconds = o->seconds, .lcore = rte_lcore_id(),
			.cpu = cpu, .dpdk = rte_version(), .sodium = bench_sodium_version(),
			.openssl = bench_openssl_version(), .ports = "?",
			.command = o->command,
		};
		if (rte_eth_dev_info_get(f.tables.ports[PORT_PUBLIC].port_id, &info) == 0)
			setup.ports = info.driver_name;
		if (o->json)
			bench_report_json(stdout, &setup, res, o->n_sizes);
		else
			bench_report_table(stdout, &setup, res, o->n_sizes);
	} else {
		fprintf(stderr, "bench_tunnel: %s\n", err);
	}
	bench_fixture_destroy(&f);
	return ret;
}

int main(int argc, char **argv)
{
	static struct bench_result res[BENCH_MAX_SIZES];
	char err[BENCH_ERR_LEN];
	struct options o;
	int ret;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	ret = bench_crypto_init(o.sizes, o.n_sizes, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "bench_tunnel: %s\n", err);
		return 1;
	}
	fprintf(stderr, "bench_tunnel: %u size(s) x %u rounds x %u measurements x "
		"%.2f s: about %.0f s\n", o.n_sizes, o.runs, (unsigned)BENCH_KINDS,
		o.seconds, o.n_sizes * (o.runs * BENCH_KINDS * o.seconds +
					BENCH_KINDS * WARMUP_MS / 1e3) * 1.2);
	if (rte_eal_init(o.eal_argc, o.eal_argv) < 0) {
		fprintf(stderr, "bench_tunnel: EAL init failed: %s\n", rte_strerror(rte_errno));
		bench_crypto_fini();
		return 1;
	}
	ret = run(&o, res);
	bench_crypto_fini();
	rte_eal_cleanup();
	return ret < 0 ? 1 : 0;
}
