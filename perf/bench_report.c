/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * From samples to figures.  Every rate is reported as the median over the
 * runs with the slowest and fastest run beside it: on a shared machine the
 * median says what the code does, the spread says how much to trust it.
 *
 * Ratios are taken per round (the runs of one round ran back to back, so
 * they saw the same neighbours on the machine) and then summarised the same
 * way, which cancels most of the noise that slows every row alike.  Which
 * rows and ratios a program has comes from its bench_suite.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

const char *const bench_kind_names[BENCH_KINDS] = {
	[BENCH_ENCAP] = "encap",
	[BENCH_DECAP] = "decap",
	[BENCH_SODIUM] = "libsodium",
	[BENCH_OPENSSL] = "openssl",
	[BENCH_FORWARD] = "forward",
	[BENCH_NAT_OUT] = "nat_out",
	[BENCH_NAT_IN] = "nat_in",
	[BENCH_NAT_OUT_NEW] = "nat_out_new",
	[BENCH_NAT_IN_NEW] = "nat_in_new",
};

/* Row labels of the table. */
const char *const bench_kind_labels[BENCH_KINDS] = {
	[BENCH_ENCAP] = "encap pipeline",
	[BENCH_DECAP] = "decap pipeline",
	[BENCH_SODIUM] = "libsodium seal",
	[BENCH_OPENSSL] = "openssl seal",
	[BENCH_FORWARD] = "forward, no NAT",
	[BENCH_NAT_OUT] = "NAT out, established",
	[BENCH_NAT_IN] = "NAT in, established",
	[BENCH_NAT_OUT_NEW] = "NAT out, new flow",
	[BENCH_NAT_IN_NEW] = "NAT in, new flow",
};

struct summary {
	double median, min, max;
};

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

/* Sessions created per second of measured time, in millions. */
static struct summary kind_msessions(const struct bench_result *r,
				     enum bench_kind kind)
{
	double v[BENCH_MAX_RUNS];

	for (unsigned i = 0; i < r->runs; i++) {
		const struct bench_sample *s = &r->s[kind][i];

		v[i] = s->ns ? (double)s->sessions * 1e3 / (double)s->ns : 0;
	}
	return summarise(v, r->runs);
}

/* What nat_expire + nat_reclaim cost per session (0: no expiry). */
static struct summary kind_expire_ns(const struct bench_result *r,
				     enum bench_kind kind)
{
	double v[BENCH_MAX_RUNS];

	for (unsigned i = 0; i < r->runs; i++) {
		const struct bench_sample *s = &r->s[kind][i];

		v[i] = s->expired ? (double)s->expire_ns / (double)s->expired : 0;
	}
	return summarise(v, r->runs);
}

static bool kind_creates(const struct bench_result *r, enum bench_kind kind)
{
	return r->runs && r->s[kind][0].sessions;
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

static struct summary ratio(const struct bench_result *r, const struct bench_ratio *q)
{
	double num[BENCH_MAX_RUNS], den[BENCH_MAX_RUNS], v[BENCH_MAX_RUNS];

	rates(r, q->num, num);
	rates(r, q->den, den);
	for (unsigned i = 0; i < r->runs; i++)
		v[i] = den[i] > 0 ? num[i] / den[i] : 0;
	return summarise(v, r->runs);
}

/* What the numerator's packet costs more than the denominator's, in ns:
 * the per-packet view of the same ratio, per round. */
static struct summary extra_ns(const struct bench_result *r, const struct bench_ratio *q)
{
	double num[BENCH_MAX_RUNS], den[BENCH_MAX_RUNS], v[BENCH_MAX_RUNS];

	rates(r, q->num, num);
	rates(r, q->den, den);
	for (unsigned i = 0; i < r->runs; i++)
		v[i] = num[i] > 0 && den[i] > 0 ? 1e9 / num[i] - 1e9 / den[i] : 0;
	return summarise(v, r->runs);
}

/* --- Table ------------------------------------------------------------------ */

static void table_head(FILE *out, const struct bench_suite *suite,
		       const struct bench_setup *setup)
{
	fprintf(out, "Portcullis %s: %s\n", suite->name, suite->title);
	fprintf(out, "command   %s\n", setup->command);
	fprintf(out, "cpu       %s (lcore %u)\n", setup->cpu, setup->lcore);
	fprintf(out, "software  %s", setup->dpdk);
	if (setup->sodium)
		fprintf(out, ", libsodium %s", setup->sodium);
	if (setup->openssl)
		fprintf(out, ", %s", setup->openssl);
	fprintf(out, ", ports %s\n", setup->ports);
	if (setup->flows)
		fprintf(out, "flows     %u established inside flows, %u port forward%s\n",
			setup->flows, setup->forwards, setup->forwards == 1 ? "" : "s");
	fprintf(out, "method    %u interleaved rounds per size, each run >= %.2f s "
		     "measured; median [min .. max] over the runs\n\n",
		setup->runs, setup->seconds);
}

/* The second column: Gbit/s, or new sessions per second. */
static void table_rate(FILE *out, const struct bench_suite *suite,
		       const struct bench_result *r, enum bench_kind k)
{
	struct summary g;

	if (!suite->sessions) {
		g = kind_gbps(r, k);
		fprintf(out, "%6.2f [%6.2f .. %6.2f]", g.median, g.min, g.max);
	} else if (kind_creates(r, k)) {
		g = kind_msessions(r, k);
		fprintf(out, "%6.3f [%6.3f .. %6.3f]", g.median, g.min, g.max);
	} else {
		fprintf(out, "%6s %19s", "-", "");
	}
}

/* One block of per-round figures, a column per ratio: the ratios
 * themselves, or (ns) what they mean in ns per packet. */
static void table_ratios(FILE *out, const struct bench_suite *suite,
			 const struct bench_result *res, unsigned n, bool ns)
{
	fprintf(out, ns ? "\nns more per packet than the denominator, within a round: "
			  "median [min .. max]\n"
			: "\nratios of rates within a round: median [min .. max]\n");
	fprintf(out, "%5s ", suite->size_column);
	for (unsigned q = 0; q < suite->n_ratios; q++)
		fprintf(out, q + 1 < suite->n_ratios ? " %-23s" : " %s",
			suite->ratios[q].name);
	fprintf(out, "\n");
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "%5u ", res[i].size);
		for (unsigned q = 0; q < suite->n_ratios; q++) {
			const struct bench_ratio *r = &suite->ratios[q];
			struct summary s = ns ? extra_ns(&res[i], r) : ratio(&res[i], r);
			char cell[64];

			snprintf(cell, sizeof(cell), ns ? "%.0f [%.0f .. %.0f]"
						       : "%4.2f [%4.2f .. %4.2f]",
				 s.median, s.min, s.max);
			fprintf(out, q + 1 < suite->n_ratios ? " %-23s" : " %s", cell);
		}
		fprintf(out, "\n");
	}
}

/* The untimed expiry between cycles of the first-packet runs. */
static void table_expiry(FILE *out, const struct bench_suite *suite,
			 const struct bench_result *res, unsigned n)
{
	bool head = false;

	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < suite->n_kinds; j++) {
			enum bench_kind k = suite->first + j;
			struct summary e = kind_expire_ns(&res[i], k);

			if (e.max == 0)
				continue;
			if (!head)
				fprintf(out, "\nexpiry between cycles (nat_expire + "
					     "nat_reclaim, not timed above), ns per session\n");
			head = true;
			fprintf(out, "%5u  %-20s %6.1f [%6.1f .. %6.1f]\n", res[i].size,
				bench_kind_labels[k], e.median, e.min, e.max);
		}
	}
}

void bench_report_table(FILE *out, const struct bench_suite *suite,
			const struct bench_setup *setup,
			const struct bench_result *res, unsigned n)
{
	int width = 15;

	for (unsigned j = 0; j < suite->n_kinds; j++) {
		int len = (int)strlen(bench_kind_labels[suite->first + j]) + 1;

		width = len > width ? len : width;
	}
	table_head(out, suite, setup);
	fprintf(out, "%5s  %-*s %-30s %-27s %s\n", suite->size_column, width, "path",
		"Mpps", suite->sessions ? "new sessions/s (millions)"
					: "Gbit/s (inner IP bytes)", "core");
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < suite->n_kinds; j++) {
			enum bench_kind k = suite->first + j;
			struct summary p = kind_mpps(&res[i], k);

			fprintf(out, "%5u  %-*s %7.3f [%7.3f .. %7.3f]   ", res[i].size,
				width, bench_kind_labels[k], p.median, p.min, p.max);
			table_rate(out, suite, &res[i], k);
			fprintf(out, "   %3.0f%%\n", 100 * kind_cpu_share(&res[i], k));
		}
	}
	table_ratios(out, suite, res, n, false);
	if (suite->extra_ns)
		table_ratios(out, suite, res, n, true);
	table_expiry(out, suite, res, n);
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

static void json_field(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",\n  \"%s\": ", name);
	json_string(out, value);
}

static void json_summary(FILE *out, const char *name, struct summary s)
{
	fprintf(out, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g}",
		name, s.median, s.min, s.max);
}

static void json_kind(FILE *out, const struct bench_suite *suite,
		      const struct bench_result *r, enum bench_kind k)
{
	double pps[BENCH_MAX_RUNS];

	rates(r, k, pps);
	fprintf(out, "      \"%s\": {", bench_kind_names[k]);
	json_summary(out, "mpps", kind_mpps(r, k));
	fprintf(out, ", ");
	if (!suite->sessions) {
		json_summary(out, "gbps", kind_gbps(r, k));
		fprintf(out, ", ");
	} else if (kind_creates(r, k)) {
		json_summary(out, "msessions_per_s", kind_msessions(r, k));
		fprintf(out, ", ");
		json_summary(out, "expire_ns_per_session", kind_expire_ns(r, k));
		fprintf(out, ", ");
	}
	fprintf(out, "\"runs_mpps\": [");
	for (unsigned i = 0; i < r->runs; i++)
		fprintf(out, "%s%.6g", i ? ", " : "", pps[i] * 1e-6);
	fprintf(out, "], \"runs_cpu_share\": [");
	for (unsigned i = 0; i < r->runs; i++)
		fprintf(out, "%s%.3f", i ? ", " : "", r->s[k][i].cpu_share);
	fprintf(out, "]},\n");
}

void bench_report_json(FILE *out, const struct bench_suite *suite,
		       const struct bench_setup *setup,
		       const struct bench_result *res, unsigned n)
{
	fprintf(out, "{\n  \"benchmark\": ");
	json_string(out, suite->name);
	json_field(out, "command", setup->command);
	json_field(out, "cpu", setup->cpu);
	fprintf(out, ",\n  \"lcore\": %u", setup->lcore);
	json_field(out, "dpdk", setup->dpdk);
	if (setup->sodium)
		json_field(out, "libsodium", setup->sodium);
	if (setup->openssl)
		json_field(out, "openssl", setup->openssl);
	json_field(out, "ports", setup->ports);
	if (setup->flows)
		fprintf(out, ",\n  \"flows\": %u,\n  \"forwards\": %u", setup->flows,
			setup->forwards);
	fprintf(out, ",\n  \"runs\": %u,\n  \"min_seconds_per_run\": %.3f,\n"
		     "  \"results\": [\n", setup->runs, setup->seconds);
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "    {\n      \"size\": %u,\n", res[i].size);
		for (unsigned j = 0; j < suite->n_kinds; j++)
			json_kind(out, suite, &res[i], suite->first + j);
		fprintf(out, "      \"ratios\": {");
		for (unsigned q = 0; q < suite->n_ratios; q++) {
			fprintf(out, "%s", q ? ", " : "");
			json_summary(out, suite->ratios[q].json,
				     ratio(&res[i], &suite->ratios[q]));
		}
		if (suite->extra_ns) {
			fprintf(out, "},\n      \"extra_ns_per_packet\": {");
			for (unsigned q = 0; q < suite->n_ratios; q++) {
				fprintf(out, "%s", q ? ", " : "");
				json_summary(out, suite->ratios[q].json,
					     extra_ns(&res[i], &suite->ratios[q]));
			}
		}
		fprintf(out, "}\n    }%s\n", i + 1 < n ? "," : "");
	}
	fprintf(out, "  ]\n}\n");
	fflush(out);
}
