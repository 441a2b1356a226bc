/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI's Hetzner commands (protocol: ctl_proto.h): the sync's status,
 * the plan of what its last fetched state would change, and "poll now".
 * The token is never part of any reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_api.h"
#include "config_edit.h"
#include "ctl_internal.h"
#include "gateway.h"
#include "hetzner.h"
#include "jsonw.h"

static void kv_time(struct jsonw *w, const char *key, uint64_t ns)
{
	if (ns)
		jsonw_kv_u64(w, key, ns / 1000000000ull);
	else
		jsonw_kv_null(w, key);
}

static void kv_count(struct jsonw *w, const char *key, long v)
{
	if (v >= 0)
		jsonw_kv_u64(w, key, (uint64_t)v);
	else
		jsonw_kv_null(w, key);
}

static void write_route(struct jsonw *w, const struct config_route *r, const char *action)
{
	char buf[64];

	jsonw_object_begin(w);
	if (action)
		jsonw_kv_string(w, "action", action);
	config_prefix_format(buf, sizeof(buf), &r->dst);
	jsonw_kv_string(w, "dst", buf);
	config_addr_format(buf, sizeof(buf), &r->via);
	jsonw_kv_string(w, "via", buf);
	jsonw_object_end(w);
}

int ctl_hetzner_status(struct gateway *gw, const struct ctl_request *r,
		       struct jsonw *w, char *err, size_t errlen)
{
	const struct config_port *priv = &gw->cfg->ports[PORT_PRIVATE];
	struct hetzner_status st;
	unsigned peers = 0;

	(void)r, (void)err, (void)errlen;
	jsonw_key(w, "hetzner");
	jsonw_object_begin(w);
	jsonw_kv_bool(w, "enabled", gw->hz != NULL);
	if (gw->hz == NULL) {
		jsonw_object_end(w);
		return 0;
	}
	hetzner_status_get(gw->hz, &st);
	for (size_t i = 0; i < gw->cfg->n_peers; i++)
		peers += gw->cfg->peers[i].from_api;
	jsonw_kv_bool(w, "running", st.running);
	jsonw_kv_bool(w, "dry_run", st.dry_run);
	kv_time(w, "last_success", st.last_success);
	kv_time(w, "last_attempt", st.last_attempt);
	kv_time(w, "next_poll", st.running ? st.next_poll : 0);
	jsonw_kv_string(w, "last_error", st.last_error);
	jsonw_kv_u64(w, "rounds_ok", st.rounds_ok);
	jsonw_kv_u64(w, "rounds_failed", st.rounds_failed);
	jsonw_kv_u64(w, "consecutive_failures", st.consecutive_failures);
	jsonw_kv_u64(w, "requests", st.requests);
	jsonw_kv_u64(w, "retries", st.retries);
	kv_count(w, "ratelimit_limit", st.ratelimit_limit);
	kv_count(w, "ratelimit_remaining", st.ratelimit_remaining);
	if (st.ratelimit_reset)
		jsonw_kv_u64(w, "ratelimit_reset", st.ratelimit_reset);
	else
		jsonw_kv_null(w, "ratelimit_reset");
	jsonw_kv_u64(w, "peers", peers);
	jsonw_kv_u64(w, "warnings", st.n_warnings);
	jsonw_kv_string(w, "route_state", st.route_state);
	jsonw_key(w, "routes");
	jsonw_array_begin(w);
	for (size_t i = 0; i < priv->n_routes; i++)
		if (priv->routes[i].from_api)
			write_route(w, &priv->routes[i], NULL);
	jsonw_array_end(w);
	jsonw_object_end(w);
	return 0;
}

/* --- plan ------------------------------------------------------------------- */

static const char *const change_names[] = {
	[CONFIG_API_ADD] = "add", [CONFIG_API_CHANGE] = "change",
	[CONFIG_API_REMOVE] = "remove",
};

static void plan_peer(enum config_api_change what, const struct config_peer *old,
		      const struct config_peer *next, void *ctx)
{
	const struct config_peer *p = next ? next : old;
	struct jsonw *w = ctx;
	char buf[80], label[HZ_LABEL_LEN + 1];

	jsonw_object_begin(w);
	jsonw_kv_string(w, "action", change_names[what]);
	config_key_to_base64(buf, p->public_key);
	jsonw_kv_string(w, "peer", buf);
	hz_key_to_label(label, p->public_key);
	jsonw_kv_string(w, "label", label);
	jsonw_kv_u64(w, "server_id", p->api_server_id);
	if (p->has_endpoint) {
		config_endpoint_format(buf, sizeof(buf), &p->endpoint);
		jsonw_kv_string(w, "endpoint", buf);
	} else {
		jsonw_kv_null(w, "endpoint");
	}
	jsonw_key(w, "allowed_ips");
	jsonw_array_begin(w);
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		config_prefix_format(buf, sizeof(buf), &p->allowed_ips[i]);
		jsonw_string(w, buf);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void plan_route(enum config_api_change what, const struct config_route *r, void *ctx)
{
	write_route(ctx, r, change_names[what]);
}

int ctl_hetzner_plan(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen)
{
	/* Two passes, so each list is written whole. */
	static const struct config_api_diff_ops peers = { plan_peer, NULL };
	static const struct config_api_diff_ops routes = { NULL, plan_route };
	struct hetzner_status st;
	struct hz_desired d;
	struct config *next;
	int ret;

	(void)r;
	if (gw->hz == NULL) {
		snprintf(err, errlen, "no [Hetzner] section in the config");
		return -ENOENT;
	}
	if (hetzner_last(gw->hz, &d) < 0) {
		hetzner_status_get(gw->hz, &st);
		snprintf(err, errlen, "no successful round yet%s%s",
			 st.last_error[0] ? ": " : "", st.last_error);
		return -ENOENT;
	}
	next = config_clone(gw->cfg);
	ret = next ? config_merge_api(next, &d, NULL, NULL) : -ENOMEM;
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	jsonw_key(w, "plan");
	jsonw_object_begin(w);
	jsonw_key(w, "peers");
	jsonw_array_begin(w);
	config_api_diff(gw->cfg, next, &peers, w);
	jsonw_array_end(w);
	jsonw_key(w, "routes");
	jsonw_array_begin(w);
	config_api_diff(gw->cfg, next, &routes, w);
	jsonw_array_end(w);
	jsonw_key(w, "warnings");
	jsonw_array_begin(w);
	for (size_t i = 0; i < d.n_warnings; i++)
		jsonw_string(w, d.warnings[i]);
	jsonw_array_end(w);
	jsonw_object_end(w);
out:
	config_free(next);
	hz_desired_free(&d);
	return ret;
}

int ctl_hetzner_sync(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen)
{
	(void)r;
	if (gw->hz == NULL) {
		snprintf(err, errlen, "no [Hetzner] section in the config");
		return -ENOENT;
	}
	hetzner_kick(gw->hz);
	jsonw_kv_bool(w, "ok", true);
	return 0;
}
