/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's side of the NAT: the session table's lifetime, the
 * [NAT] part of the published tables, the expiry tick and the counters.
 */
#include "gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mss.h"
#include "nat.h"

/* Expiry walks the whole table in about this many ticks (100 ms each):
 * a session outlives its timeout by at most ~5 s, and no tick does more
 * than 1/50 of the table. */
enum { NAT_SWEEP_TICKS = 50, NAT_SWEEP_MIN = 4096 };

int gateway_nat_start(struct gateway *gw, char *err, size_t errlen)
{
	const struct nat_config *nc = &gw->cfg->nat;

	if (!nc->enabled)
		return 0;
	gw->dp.nat = nat_create(nc->max_sessions);
	if (gw->dp.nat == NULL) {
		snprintf(err, errlen, "%s: cannot allocate the NAT table for %u sessions "
			 "(%zu bytes each); lower [NAT] MaxSessions", gw->cfg->path,
			 nc->max_sessions, nat_bytes_per_session());
		return -ENOMEM;
	}
	return 0;
}

void gateway_nat_stop(struct gateway *gw)
{
	nat_destroy(gw->dp.nat);
	gw->dp.nat = NULL;
}

static uint16_t mss_value(int32_t setting, uint32_t mtu, uint8_t family)
{
	if (setting == NAT_MSS_OFF)
		return 0;
	if (setting == NAT_MSS_AUTO)
		return tcp_mss_for_mtu(mtu, family);
	return (uint16_t)setting;
}

/* The public port's first IPv4 address: the default ExternalAddress. */
static bool public_v4(const struct dp_tables *t, struct ip_addr *out)
{
	const struct dp_port_conf *pc = &t->ports[PORT_PUBLIC];

	for (unsigned i = 0; i < pc->n_addrs; i++)
		if (pc->addrs[i].addr.family == IP_V4) {
			*out = pc->addrs[i].addr;
			return true;
		}
	return false;
}

int gateway_nat_tables(const struct config *cfg, struct dp_tables *t,
		       char *err, size_t errlen)
{
	const struct nat_config *nc = &cfg->nat;

	t->nat = *nc;
	t->nat.forwards = NULL;
	t->nat.listen_port = t->listen_port;
	t->mss_tunnel[0] = mss_value(nc->mss_clamp, t->tunnel_mtu, 4);
	t->mss_tunnel[1] = mss_value(nc->mss_clamp, t->tunnel_mtu, 6);
	t->mss_public = mss_value(nc->mss_clamp, t->ports[PORT_PUBLIC].mtu, 4);
	if (!nc->enabled)
		return 0;
	if (nc->external.family == IP_NONE && !public_v4(t, &t->nat.external)) {
		snprintf(err, errlen, "%s: [NAT] needs ExternalAddress or an IPv4 "
			 "Address on [Port public]", cfg->path);
		return -EINVAL;
	}
	if (nc->n_forwards) {
		t->nat.forwards = calloc(nc->n_forwards, sizeof(*nc->forwards));
		if (t->nat.forwards == NULL) {
			snprintf(err, errlen, "out of memory building tables");
			return -ENOMEM;
		}
		memcpy(t->nat.forwards, nc->forwards, nc->n_forwards * sizeof(*nc->forwards));
	}
	if (nat_config_index(&t->nat) < 0) {
		snprintf(err, errlen, "out of memory building tables");
		return -ENOMEM;
	}
	return 0;
}

void gateway_nat_tables_free(struct dp_tables *t)
{
	nat_config_index_free(&t->nat);
	free(t->nat.forwards);
	t->nat.forwards = NULL;
}

static void reclaim(void *nat)
{
	nat_reclaim(nat);
}

void gateway_nat_tick(struct gateway *gw)
{
	struct nat *nat = gw->dp.nat;
	unsigned budget;

	if (nat == NULL)
		return;
	budget = nat_capacity(nat) / NAT_SWEEP_TICKS;
	if (budget < NAT_SWEEP_MIN)
		budget = NAT_SWEEP_MIN;
	/* Unlinked sessions are reused only after the next grace period:
	 * a worker may still be reading one it found a moment ago. */
	if (nat_expire(nat, gw->ctx.nat_lc, &gw->dp.tables->nat, gw->ctx.now, budget))
		gateway_defer_free(gw, nat, reclaim);
}

void gateway_nat_stats_sum(const struct gateway *gw, struct nat_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned l = 0; l < DP_MAX_LCORES; l++) {
		const struct nat_stats *s = &gw->dp.nat_lcore[l].stats;

		for (unsigned p = 0; p < NAT_PROTO_COUNT; p++) {
			out->created[p] += s->created[p];
			out->expired[p] += s->expired[p];
			out->tracked_created[p] += s->tracked_created[p];
			out->tracked_expired[p] += s->tracked_expired[p];
		}
		for (unsigned r = 0; r < NAT_RESULT_COUNT; r++)
			out->results[r] += s->results[r];
		out->mappings_created += s->mappings_created;
		out->mappings_expired += s->mappings_expired;
		out->port_alloc_failures += s->port_alloc_failures;
		out->icmp_errors_translated += s->icmp_errors_translated;
		out->mss_clamped += s->mss_clamped;
		out->fragments_translated += s->fragments_translated;
		out->fragments_held += s->fragments_held;
	}
}

void gateway_nat_stats_print(const struct gateway *gw, FILE *f)
{
	static const char *const protos[NAT_PROTO_COUNT] = { "tcp", "udp", "icmp" };
	struct nat_stats s;

	gateway_nat_stats_sum(gw, &s);
	fprintf(f, "stat mss_clamped %lu\n", s.mss_clamped);
	if (gw->dp.nat == NULL)
		return;
	fprintf(f, "nat sessions_active %u\n", nat_active_sessions(gw->dp.nat));
	for (unsigned p = 0; p < NAT_PROTO_COUNT; p++) {
		fprintf(f, "nat sessions_created_%s %lu\n", protos[p], s.created[p]);
		fprintf(f, "nat sessions_expired_%s %lu\n", protos[p], s.expired[p]);
		fprintf(f, "nat sessions_active_%s %lu\n", protos[p],
			s.created[p] - s.expired[p]);
		/* Of those, tracked without translation (Allow* = no). */
		fprintf(f, "nat tracked_created_%s %lu\n", protos[p], s.tracked_created[p]);
		fprintf(f, "nat tracked_active_%s %lu\n", protos[p],
			s.tracked_created[p] - s.tracked_expired[p]);
	}
	fprintf(f, "nat mappings_active %lu\n", s.mappings_created - s.mappings_expired);
	fprintf(f, "nat port_alloc_failures %lu\n", s.port_alloc_failures);
	fprintf(f, "nat icmp_errors_translated %lu\n", s.icmp_errors_translated);
	fprintf(f, "nat translated %lu\n", s.results[NAT_OK]);
	fprintf(f, "nat fragments_translated %lu\n", s.fragments_translated);
	fprintf(f, "nat fragments_held %lu\n", s.fragments_held);
}

void gateway_nat_log_startup(const struct gateway *gw)
{
	const struct nat_config *nc = &gw->dp.tables->nat;
	char a[64], b[64];

	if (!nc->enabled) {
		printf("portcullisd: nat: off (nothing is forwarded between the public "
		       "and the private side)\n");
		return;
	}
	config_addr_format(a, sizeof(a), &nc->external);
	printf("portcullisd: nat: external %s ports %u-%u filtering %s, up to %u sessions "
	       "(%zu bytes each)\n", a, nc->port_min, nc->port_max,
	       nc->filtering == NAT_FILTER_ENDPOINT_INDEPENDENT ? "endpoint-independent"
								: "address-and-port-dependent",
	       nc->max_sessions, nat_bytes_per_session());
	for (unsigned i = 0; i < nc->n_masquerade; i++) {
		config_prefix_format(a, sizeof(a), &nc->masquerade[i]);
		printf("portcullisd: nat: masquerade %s\n", a);
	}
	for (unsigned i = 0; i < nc->n_forwards; i++) {
		const struct nat_forward *fw = &nc->forwards[i];

		config_addr_format(a, sizeof(a), fw->external.family ? &fw->external
								     : &nc->external);
		config_addr_format(b, sizeof(b), &fw->internal);
		printf("portcullisd: nat: forward %s %s:%u -> %s:%u\n",
		       fw->proto == IPPROTO_TCP_ ? "tcp" : "udp", a, fw->external_port, b,
		       fw->internal_port);
	}
}
