/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver of the in-process benchmarks (bench_tunnel, bench_nat): what
 * they share apart from the fixture.  See perf/README.md.
 *
 *   <program> [--json] [--runs N] [--time SECONDS] [--sizes LIST]
 *             [--flows N] [--forwards N] [-- EAL options]
 *
 * For each size: the suite's functional checks, a short warm-up of each of
 * its measurements, then N rounds.  A round runs each measurement once,
 * back to back, starting with a different one each round, so slow phases
 * of a shared machine hit every row alike and the per-round ratios stay
 * meaningful.
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

static void usage(FILE *f, const struct bench_suite *s)
{
	char sizes[64];

	for (unsigned i = 0, at = 0; i < s->n_sizes; i++)
		at += (unsigned)snprintf(sizes + at, sizeof(sizes) - at, "%s%u",
					 i ? "," : "", s->sizes[i]);
	fprintf(f,
		"usage: %s [--json] [--runs N] [--time SECONDS] [--sizes LIST]%s\n"
		"       [-- EAL options]\n"
		"  --json          print JSON instead of the table\n"
		"  --runs N        rounds per size, 1-%d (default 5)\n"
		"  --time SECONDS  minimum measured time of each run (default 0.5)\n"
		"  --sizes LIST    %s, %u-%u (default %s)\n",
		s->name, s->nat_options ? " [--flows N] [--forwards N]" : "",
		BENCH_MAX_RUNS,
		s->size_help, s->min_size, s->max_size, sizes);
	if (s->nat_options)
		fprintf(f, "  --flows N       established flows, 1-%d (default %d)\n"
			"  --forwards N    port forwards in [NAT], 1-%d (default 1)\n",
			BENCH_NAT_MAX_FLOWS, BENCH_NAT_DEFAULT_FLOWS, NAT_MAX_FORWARDS);
	fprintf(f, "  EAL options replace the default:");
	for (unsigned i = 0; i < N_DEFAULT_EAL; i++)
		fprintf(f, " %s", default_eal[i]);
	fprintf(f, "\n");
}

static int parse_sizes(const char *text, const struct bench_suite *s,
		       struct bench_options *o)
{
	char *copy = strdup(text), *save = NULL, *tok;
	int ret = copy ? 0 : -ENOMEM;

	o->n_sizes = 0;
	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && ret == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || v < s->min_size || v > s->max_size ||
		    o->n_sizes == BENCH_MAX_SIZES)
			ret = -EINVAL;
		else
			o->sizes[o->n_sizes++] = (unsigned)v;
	}
	free(copy);
	return ret == 0 && o->n_sizes ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, const struct bench_suite *s,
		      struct bench_options *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "runs", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "sizes", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "forwards", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char *eal[N_DEFAULT_EAL + 1];
	char *end;
	int opt;

	*o = (struct bench_options){ .runs = 5, .seconds = 0.5, .n_sizes = s->n_sizes,
				     .flows = s->nat_options ? BENCH_NAT_DEFAULT_FLOWS : 0,
				     .forwards = s->nat_options ? 1 : 0 };
	memcpy(o->sizes, s->sizes, sizeof(o->sizes));
	/* Before getopt_long permutes argv. */
	for (int i = 0, at = 0; i < argc && at < (int)sizeof(o->command); i++)
		at += snprintf(o->command + at, sizeof(o->command) - (size_t)at, "%s%s",
			       i ? " " : "", argv[i]);
	while ((opt = getopt_long(argc, argv, "jr:t:s:f:F:h", longopts, NULL)) != -1) {
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
			if (parse_sizes(optarg, s, o) < 0)
				goto bad;
			break;
		case 'f':
			o->flows = (unsigned)strtoul(optarg, &end, 10);
			if (!s->nat_options || *end || o->flows < 1 ||
			    o->flows > BENCH_NAT_MAX_FLOWS)
				goto bad;
			break;
		case 'F':
			o->forwards = (unsigned)strtoul(optarg, &end, 10);
			if (!s->nat_options || *end || o->forwards < 1 ||
			    o->forwards > NAT_MAX_FORWARDS)
				goto bad;
			break;
		case 'h':
			usage(stdout, s);
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
	usage(stderr, s);
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

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* One run; on failure say which one (err says why). */
static int measure(const struct bench_suite *s, struct bench_fixture *f,
		   enum bench_kind k, unsigned size, uint64_t min_ns,
		   struct bench_sample *out, const char *when, char *err,
		   size_t errlen)
{
	uint64_t wall = dp_now(), cpu = thread_cpu_ns();
	int ret;

	memset(out, 0, sizeof(*out));
	ret = s->run(f, k, size, min_ns, out, err, errlen);
	wall = dp_now() - wall;
	cpu = thread_cpu_ns() - cpu;
	out->cpu_share = wall ? (double)cpu / (double)wall : 0;
	if (ret < 0)
		fprintf(stderr, "%s: %u bytes, %s, %s: invalid run\n", s->name, size,
			bench_kind_names[k], when);
	return ret;
}

/* Checks, warm-up, then the interleaved rounds for one size. */
static int bench_size(const struct bench_suite *s, struct bench_fixture *f,
		      const struct bench_options *o, struct bench_result *r,
		      char *err, size_t errlen)
{
	uint64_t min_ns = (uint64_t)(o->seconds * 1e9);
	struct bench_sample warm;
	char when[32];
	int ret = 0;

	fprintf(stderr, "%s: %u bytes: checking the output\n", s->name, r->size);
	if (s->prepare)
		ret = s->prepare(f, r->size, err, errlen);
	for (unsigned j = 0; j < s->n_kinds && ret == 0; j++)
		ret = measure(s, f, s->first + j, r->size, WARMUP_MS * NSEC_PER_MSEC,
			      &warm, "warm-up", err, errlen);
	for (unsigned i = 0; i < o->runs && ret == 0; i++) {
		fprintf(stderr, "%s: %u bytes: round %u/%u\n", s->name, r->size, i + 1,
			o->runs);
		snprintf(when, sizeof(when), "round %u", i + 1);
		for (unsigned j = 0; j < s->n_kinds && ret == 0; j++) {
			enum bench_kind k = s->first + (i + j) % s->n_kinds;

			ret = measure(s, f, k, r->size, min_ns, &r->s[k][i], when, err,
				      errlen);
		}
	}
	r->runs = o->runs;
	return ret;
}

static int run(const struct bench_suite *s, const struct bench_options *o,
	       struct bench_result *res)
{
	static struct bench_fixture f;
	struct rte_eth_dev_info info;
	char err[BENCH_ERR_LEN] = "", cpu[128];
	struct bench_setup setup;
	int ret;

	ret = bench_fixture_create(&f, err, sizeof(err));
	if (ret == 0 && s->setup)
		ret = s->setup(&f, o, err, sizeof(err));
	for (unsigned i = 0; i < o->n_sizes && ret == 0; i++) {
		res[i].size = o->sizes[i];
		ret = bench_size(s, &f, o, &res[i], err, sizeof(err));
	}
	if (ret == 0) {
		cpu_model(cpu, sizeof(cpu));
		setup = (struct bench_setup){
			.runs = o->runs, .seconds = o->seconds, .lcore = rte_lcore_id(),
			.cpu = cpu, .dpdk = rte_version(), .ports = "?",
			.command = o->command, .flows = o->flows,
			.forwards = o->forwards,
		};
		if (s->versions)
			s->versions(&setup);
		if (rte_eth_dev_info_get(f.tables.ports[PORT_PUBLIC].port_id, &info) == 0)
			setup.ports = info.driver_name;
		if (o->json)
			bench_report_json(stdout, s, &setup, res, o->n_sizes);
		else
			bench_report_table(stdout, s, &setup, res, o->n_sizes);
	} else {
		fprintf(stderr, "%s: %s\n", s->name, err);
	}
	if (s->teardown)
		s->teardown(&f);
	bench_fixture_destroy(&f);
	return ret;
}

int bench_main(int argc, char **argv, const struct bench_suite *s)
{
	static struct bench_result res[BENCH_MAX_SIZES];
	char err[BENCH_ERR_LEN];
	struct bench_options o;
	int ret = 0;

	if (parse_args(argc, argv, s, &o) < 0)
		return 2;
	if (s->init)
		ret = s->init(&o, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", s->name, err);
		return 1;
	}
	fprintf(stderr, "%s: %u size(s) x %u rounds x %u measurements x "
		"%.2f s: about %.0f s\n", s->name, o.n_sizes, o.runs, s->n_kinds,
		o.seconds, o.n_sizes * (o.runs * s->n_kinds * o.seconds +
					s->n_kinds * WARMUP_MS / 1e3) * 1.2);
	if (rte_eal_init(o.eal_argc, o.eal_argv) < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", s->name,
			rte_strerror(rte_errno));
		if (s->fini)
			s->fini();
		return 1;
	}
	ret = run(s, &o, res);
	if (s->fini)
		s->fini();
	rte_eal_cleanup();
	return ret < 0 ? 1 : 0;
}
