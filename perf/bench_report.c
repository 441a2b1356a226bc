/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * From samples to figures.  Every rate is reported as the median over the
 * runs with the slowest and fastest run beside it: on a shared machine the
 * median says what the code does, the spread says how much to trust it.
 *
 * Ratios are taken per round (the runs of one round ran back to back, so
 * they saw the same neighbours on the machine) and then summarised the same
 * way, which cancels most of the noise that slows all four alike.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

const char *const bench_kind_names[BENCH_KINDS] = {
	[BENCH_ENCAP] = "encap",
	[BENCH_DECAP] = "decap",
	[BENCH_SODIUM] = "libsodium",
	[BENCH_OPENSSL] = "openssl",
};

/* Row labels of the table. */
static const char *const kind_labels[BENCH_KINDS] = {
	[BENCH_ENCAP] = "encap pipeline",
	[BENCH_DECAP] = "decap pipeline",
	[BENCH_SODIUM] = "libsodium seal",
	[BENCH_OPENSSL] = "openssl seal",
};

struct summary {
	double median, min, max;
};

/* The ratios of the report: numerator / denominator, same round. */
static const struct {
	const char *name, *json;
	enum bench_kind num, den;
} ratios[] = {
	{ "encap/libsodium", "encap_libsodium", BENCH_ENCAP, BENCH_SODIUM },
	{ "decap/libsodium", "decap_libsodium", BENCH_DECAP, BENCH_SODIUM },
	{ "encap/openssl", "encap_openssl", BENCH_ENCAP, BENCH_OPENSSL },
};
enum { N_RATIOS = sizeof(ratios) / sizeof(ratios[0]) };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct summary summarise(const double *v, unsigned n)
{
	double sorted[BENCH_MAX_RUNS];
	struct summary s;

	memcpy(sorted, v, n * sizeof(*v));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	s.min = sorted[0];
	s.max = sorted[n - 1];
	s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	return s;
}

/* Packets per second of each run of kind. */
static void rates(const struct bench_result *r, enum bench_kind kind, double *pps)
{
	for (unsigned i = 0; i < r->runs; i++) {
		const struct bench_sample *s = &r->s[kind][i];

		pps[i] = s->ns ? (double)s->packets * 1e9 / (double)s->ns : 0;
	}
}

static struct summary scaled(struct summary s, double factor)
{
	return (struct summary){ s.median * factor, s.min * factor, s.max * factor };
}

static struct summary kind_mpps(const struct bench_result *r, enum bench_kind kind)
{
	double pps[BENCH_MAX_RUNS];

	rates(r, kind, pps);
	return scaled(summarise(pps, r->runs), 1e-6);
}

/* Inner bytes only: the IP packet that went into the tunnel. */
static struct summary kind_gbps(const struct bench_result *r, enum bench_kind kind)
{
	return scaled(kind_mpps(r, kind), r->size * 8.0 * 1e-3);
}

/* The least share of the core any run of kind had. */
static double kind_cpu_share(const struct bench_result *r, enum bench_kind kind)
{
	double least = 1;

	for (unsigned i = 0; i < r->runs; i++)
		if (r->s[kind][i].cpu_share < least)
			least = r->s[kind][i].cpu_share;
	return least;
}

static struct summary ratio(const struct bench_result *r, unsigned which)
{
	double num[BENCH_MAX_RUNS], den[BENCH_MAX_RUNS], q[BENCH_MAX_RUNS];

	rates(r, ratios[which].num, num);
	rates(r, ratios[which].den, den);
	for (unsigned i = 0; i < r->runs; i++)
		q[i] = den[i] > 0 ? num[i] / den[i] : 0;
	return summarise(q, r->runs);
}

/* --- Table ------------------------------------------------------------------ */

void bench_report_table(FILE *out, const struct bench_setup *setup,
			const struct bench_result *res, unsigned n)
{
	fprintf(out, "Portcullis bench_tunnel: WireGuard encap/decap pipeline vs raw "
		     "ChaCha20-Poly1305, one core\n");
	fprintf(out, "command   %s\n", setup->command);
	fprintf(out, "cpu       %s (lcore %u)\n", setup->cpu, setup->lcore);
	fprintf(out, "software  %s, libsodium %s, %s, ports %s\n", setup->dpdk,
		setup->sodium, setup->openssl, setup->ports);
	fprintf(out, "method    %u interleaved rounds per size, each run >= %.2f s "
		     "measured; median [min .. max] over the runs\n\n",
		setup->runs, setup->seconds);
	fprintf(out, "%5s  %-15s %-30s %-27s %s\n", "size", "path", "Mpps",
		"Gbit/s (inner IP bytes)", "core");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < BENCH_KINDS; k++) {
			struct summary p = kind_mpps(&res[i], k), g = kind_gbps(&res[i], k);

			fprintf(out, "%5u  %-15s %7.3f [%7.3f .. %7.3f]   %6.2f [%6.2f .. %6.2f]"
				"   %3.0f%%\n", res[i].size, kind_labels[k], p.median, p.min,
				p.max, g.median, g.min, g.max,
				100 * kind_cpu_share(&res[i], k));
		}
	}
	fprintf(out, "\nratios of rates within a round: median [min .. max]\n");
	fprintf(out, "%5s ", "size");
	for (unsigned q = 0; q < N_RATIOS; q++)
		fprintf(out, q + 1 < N_RATIOS ? " %-23s" : " %s", ratios[q].name);
	fprintf(out, "\n");
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "%5u ", res[i].size);
		for (unsigned q = 0; q < N_RATIOS; q++) {
			struct summary s = ratio(&res[i], q);
			char cell[64];

			snprintf(cell, sizeof(cell), "%4.2f [%4.2f .. %4.2f]", s.median,
				 s.min, s.max);
			fprintf(out, q + 1 < N_RATIOS ? " %-23s" : " %s", cell);
		}
		fprintf(out, "\n");
	}
	fprintf(out, "\ncore: the least share of wall-clock time any run of that row "
		     "had the CPU;\nbelow ~95%% other processes took the core and the "
		     "rates are low.\n");
	fflush(out);
}

/* --- JSON ------------------------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void json_summary(FILE *out, const char *name, struct summary s)
{
	fprintf(out, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g}",
		name, s.median, s.min, s.max);
}

static void json_kind(FILE *out, const struct bench_result *r, enum bench_kind k)
{
	double pps[BENCH_MAX_RUNS];

	rates(r, k, pps);
	fprintf(out, "      \"%s\": {", bench_kind_names[k]);
	json_summary(out, "mpps", kind_mpps(r, k));
	fprintf(out, ", ");
	json_summary(out, "gbps", kind_gbps(r, k));
	fprintf(out, ", \"runs_mpps\": [");
	for (unsigned i = 0; i < r->runs; i++)
		fprintf(out, "%s%.6g", i ? ", " : "", pps[i] * 1e-6);
	fprintf(out, "], \"runs_cpu_share\": [");
	for (unsigned i = 0; i < r->runs; i++)
		fprintf(out, "%s%.3f", i ? ", " : "", r->s[k][i].cpu_share);
	fprintf(out, "]},\n");
}

void bench_report_json(FILE *out, const struct bench_setup *setup,
		       const struct bench_result *res, unsigned n)
{
	fprintf(out, "{\n  \"benchmark\": \"bench_tunnel\",\n  \"command\": ");
	json_string(out, setup->command);
	fprintf(out, ",\n  \"cpu\": ");
	json_string(out, setup->cpu);
	fprintf(out, ",\n  \"lcore\": %u,\n  \"dpdk\": ", setup->lcore);
	json_string(out, setup->dpdk);
	fprintf(out, ",\n  \"libsodium\": ");
	json_string(out, setup->sodium);
	fprintf(out, ",\n  \"openssl\": ");
	json_string(out, setup->openssl);
	fprintf(out, ",\n  \"ports\": ");
	json_string(out, setup->ports);
	fprintf(out, ",\n  \"runs\": %u,\n  \"min_seconds_per_run\": %.3f,\n"
		     "  \"results\": [\n", setup->runs, setup->seconds);
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "    {\n      \"size\": %u,\n", res[i].size);
		for (unsigned k = 0; k < BENCH_KINDS; k++)
			json_kind(out, &res[i], k);
		fprintf(out, "      \"ratios\": {");
		for (unsigned q = 0; q < N_RATIOS; q++) {
			fprintf(out, "%s", q ? ", " : "");
			json_summary(out, ratios[q].json, ratio(&res[i], q));
		}
		fprintf(out, "}\n    }%s\n", i + 1 < n ? "," : "");
	}
	fprintf(out, "  ]\n}\n");
	fflush(out);
}
