/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ManageRoute: the NAT-gateway pattern of Hetzner Cloud networks.  Servers
 * without a public IPv4 reach the Internet through the bastion when the
 * Network has the route 0.0.0.0/0 via the bastion's private IP; this
 * makes sure it does.
 *
 * The API has no "update route": a 0.0.0.0/0 route via another gateway is
 * deleted, then ours added (POST /networks/{id}/actions/delete_route and
 * add_route), and each returned action is polled (GET /actions/{id})
 * until it succeeds or fails.  No other route is ever touched.  Between
 * the two actions the Network has no default route; that gap is the
 * API's, not ours to close.
 *
 * Errors here never fail the round: the peers do not depend on the
 * default route.  They are shown in status.route_state and logged when
 * the state changes.
 *
 * Called from the Hetzner loop thread only.
 */
#include "hetzner_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
	ACTION_POLL_MS = 500,
	ACTION_MAX_POLLS = 120,             /* 60 s: add_route takes ~1 s */
	STATE_LEN = sizeof(((struct hetzner_status *)0)->route_state),
};

static struct hz_route *default_route(struct hz_network *net)
{
	for (size_t i = 0; i < net->n_routes; i++)
		if (net->routes[i].destination.addr.family == IP_V4 &&
		    net->routes[i].destination.cidr == 0)
			return &net->routes[i];
	return NULL;
}

static int parse_action(const struct hz_http_response *r, const char *what,
			struct hz_action *a, char *err, size_t errlen)
{
	char why[HZ_ERR_LEN];
	int ret = hz_parse_action(r->body, r->len, a, why, sizeof(why));

	if (ret != 0)
		hz_fail(err, errlen, ret, "%s: %s", what, why);
	return ret;
}

/* Polls the action in the first reply until it is no longer running. */
static int wait_action(struct hetzner *h, const char *verb,
		       struct hz_http_response *first, char *err, size_t errlen)
{
	struct hz_http_response resp;
	struct hz_action a;
	char path[64];
	int ret = parse_action(first, verb, &a, err, errlen);

	hz_http_response_free(first);
	for (unsigned polls = 0; ret == 0 && a.status == HZ_ACTION_RUNNING; polls++) {
		if (polls >= ACTION_MAX_POLLS) {
			snprintf(err, errlen, "%s: action %llu still running after %d s",
				 verb, (unsigned long long)a.id,
				 ACTION_MAX_POLLS * ACTION_POLL_MS / 1000);
			return -ETIMEDOUT;
		}
		if (!hz_wait_until(h, hz_mono_ns() + (uint64_t)ACTION_POLL_MS * 1000000,
				   false))
			return -ECANCELED;
		snprintf(path, sizeof(path), "/actions/%llu", (unsigned long long)a.id);
		ret = hz_api_call(h, "GET", false, path, NULL, &resp, err, errlen);
		if (ret == 0) {
			ret = parse_action(&resp, path, &a, err, errlen);
			hz_http_response_free(&resp);
		}
	}
	if (ret == 0 && a.status == HZ_ACTION_ERROR) {
		ret = hz_fail(err, errlen, -EPROTO, "%s failed: %s: %s", verb,
			      a.error_code, a.error_message);
	}
	return ret;
}

/* POST /networks/{id}/actions/<verb> for 0.0.0.0/0 via gw, and wait. */
static int route_action(struct hetzner *h, const char *verb,
			const struct ip_addr *gw, char *err, size_t errlen)
{
	char path[96], body[128], ip[INET_ADDRSTRLEN];
	struct hz_http_response resp;
	int ret;

	inet_ntop(AF_INET, gw->bytes, ip, sizeof(ip));
	snprintf(path, sizeof(path), "/networks/%llu/actions/%s",
		 (unsigned long long)h->network_id, verb);
	snprintf(body, sizeof(body),
		 "{\"destination\":\"0.0.0.0/0\",\"gateway\":\"%s\"}", ip);
	ret = hz_api_call(h, "POST", false, path, body, &resp, err, errlen);
	if (ret == 0)
		ret = wait_action(h, verb, &resp, err, errlen);
	return ret;
}

/* Logs a new state once, then records it. */
static void set_state(struct hetzner *h, const char *state, const char *detail)
{
	bool changed;

	pthread_mutex_lock(&h->lock);
	changed = strcmp(h->status.route_state, state) != 0;
	pthread_mutex_unlock(&h->lock);
	if (changed)
		printf("portcullisd: hetzner: ManageRoute: %s\n", detail ? detail : state);
	hz_route_state_set(h, state);
}

/* net's routes as the API has them now: a failed add after a good delete
 * leaves no default route. */
static void drop_route(struct hz_network *net, struct hz_route *r)
{
	*r = net->routes[--net->n_routes];
}

void hz_route_manage(struct hetzner *h, struct hz_network *net)
{
	char state[STATE_LEN], err[HZ_ERR_LEN], detail[HZ_ERR_LEN + 32];
	char ours[INET_ADDRSTRLEN], theirs[INET_ADDRSTRLEN] = "";
	struct hz_route *r = default_route(net);
	bool replace = r != NULL;
	int ret = 0;

	if (!h->conf.manage_route)
		return;
	if (h->private_ip.family != IP_V4) {
		set_state(h, "not managed: no IPv4 address on [Port private]", NULL);
		return;
	}
	inet_ntop(AF_INET, h->private_ip.bytes, ours, sizeof(ours));
	if (!ip_prefix_contains(&net->ip_range, &h->private_ip)) {
		snprintf(state, sizeof(state), "not managed: %s is not in the Network",
			 ours);
		set_state(h, state, NULL);
		return;
	}
	if (r)
		inet_ntop(AF_INET, r->gateway.bytes, theirs, sizeof(theirs));
	if (r && ip_addr_equal(&r->gateway, &h->private_ip)) {
		snprintf(state, sizeof(state), "in place: 0.0.0.0/0 via %s", ours);
		set_state(h, state, NULL);
		return;
	}
	if (h->conf.dry_run) {
		if (r)
			snprintf(state, sizeof(state), "dry run: would replace 0.0.0.0/0 via %s with %s",
				 theirs, ours);
		else
			snprintf(state, sizeof(state), "dry run: would add 0.0.0.0/0 via %s", ours);
		set_state(h, state, NULL);
		return;
	}
	if (replace) {
		ret = route_action(h, "delete_route", &r->gateway, err, sizeof(err));
		if (ret == 0)
			drop_route(net, r);
	}
	if (ret == 0)
		ret = route_action(h, "add_route", &h->private_ip, err, sizeof(err));
	if (ret == -ECANCELED)
		return;
	if (ret != 0) {
		hz_fail(state, sizeof(state), ret, "error: %s", err);
		hz_fail(detail, sizeof(detail), ret, "error: %s", err);
		set_state(h, state, detail);
	} else if (replace) {
		snprintf(state, sizeof(state), "replaced 0.0.0.0/0 via %s with %s",
			 theirs, ours);
		set_state(h, state, NULL);
	} else {
		snprintf(state, sizeof(state), "added 0.0.0.0/0 via %s", ours);
		set_state(h, state, NULL);
	}
}
