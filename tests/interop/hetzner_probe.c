/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hetzner_probe: the Hetzner sync loop (control/hetzner*.c) without the
 * daemon.  Loads a gateway config, starts the loop on its [Hetzner]
 * section and prints one JSON object per line for what the control
 * thread would see, until SECONDS have passed, ROUNDS rounds have ended
 * or the loop stopped itself (401/403):
 *
 *   {"event":"desired","peers":[{"name","server_id","key","label",
 *     "endpoint","allowed_ips":[...]}],"routes":[{"dst","via"}],
 *    "warnings":[...]}                 a good round's state, taken
 *   {"event":"status","round":N,...}   hetzner_status after each round
 *   {"event":"last",...}               with --last: hetzner_last at the end
 *   {"event":"error","message":...}    hetzner_start refused
 *
 * Driven by tests/interop/test_hetzner_loop.sh against hetzner_fake.py.
 *
 *   hetzner_probe CONFIG SECONDS [ROUNDS] [--last]
 *
 * The loop logs as the daemon does, on stdout; here that goes to stderr
 * and stdout carries the JSON alone.
 *
 * PORTCULLIS_HZ_TIMEOUT_MS shortens the HTTP timeouts (connect and
 * total), so that a stalled fake server costs a second.  The bastion's
 * private IP is the first IPv4 address of [Port private], as the daemon
 * takes it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "hetzner.h"
#include "hetzner_http.h"

static FILE *events;                    /* the real stdout */

static void emit(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);

	if (text) {
		fprintf(events, "%s\n", text);
		fflush(events);
		free(text);
	}
	json_decref(obj);
}

static json_t *prefix_json(const struct ip_prefix *p)
{
	char buf[64];

	config_prefix_format(buf, sizeof(buf), p);
	return json_string(buf);
}

static json_t *peer_json(const struct hz_peer *p)
{
	char key[45], label[HZ_LABEL_LEN + 1], ep[64] = "";
	json_t *aips = json_array();

	config_key_to_base64(key, p->public_key);
	hz_key_to_label(label, p->public_key);
	if (p->has_endpoint)
		config_endpoint_format(ep, sizeof(ep), &p->endpoint);
	for (size_t i = 0; i < p->n_allowed_ips; i++)
		json_array_append_new(aips, prefix_json(&p->allowed_ips[i]));
	return json_pack("{s:s?, s:I, s:s, s:s, s:s?, s:o}", "name", p->name,
			 "server_id", (json_int_t)p->server_id, "key", key,
			 "label", label, "endpoint", p->has_endpoint ? ep : NULL,
			 "allowed_ips", aips);
}

static json_t *desired_json(const char *event, const struct hz_desired *d)
{
	json_t *peers = json_array(), *routes = json_array(), *warn = json_array();
	char via[64];

	for (size_t i = 0; i < d->n_peers; i++)
		json_array_append_new(peers, peer_json(&d->peers[i]));
	for (size_t i = 0; i < d->n_routes; i++) {
		config_addr_format(via, sizeof(via), &d->routes[i].via);
		json_array_append_new(routes, json_pack("{s:o, s:s, s:b}", "dst",
							prefix_json(&d->routes[i].dst),
							"via", via, "from_api",
							d->routes[i].from_api));
	}
	for (size_t i = 0; i < d->n_warnings; i++)
		json_array_append_new(warn, json_string(d->warnings[i]));
	return json_pack("{s:s, s:o, s:o, s:o}", "event", event, "peers", peers,
			 "routes", routes, "warnings", warn);
}

static json_t *status_json(const struct hetzner_status *s)
{
	return json_pack("{s:s, s:I, s:b, s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:s}",
			 "event", "status",
			 "round", (json_int_t)(s->rounds_ok + s->rounds_failed),
			 "running", s->running, "dry_run", s->dry_run,
			 "had_success", s->last_success != 0,
			 "last_error", s->last_error,
			 "rounds_ok", (json_int_t)s->rounds_ok,
			 "rounds_failed", (json_int_t)s->rounds_failed,
			 "requests", (json_int_t)s->requests,
			 "retries", (json_int_t)s->retries,
			 "ratelimit_limit", (json_int_t)s->ratelimit_limit,
			 "ratelimit_remaining", (json_int_t)s->ratelimit_remaining,
			 "consecutive_failures", (json_int_t)s->consecutive_failures,
			 "n_peers", (json_int_t)s->n_peers,
			 "n_routes", (json_int_t)s->n_routes,
			 "n_warnings", (json_int_t)s->n_warnings,
			 "route_state", s->route_state);
}

static void error_exit(const char *msg)
{
	emit(json_pack("{s:s, s:s}", "event", "error", "message", msg));
	exit(1);
}

static struct ip_addr private_ip(const struct config *cfg)
{
	const struct config_port *p = &cfg->ports[PORT_PRIVATE];
	struct ip_addr none = { .family = IP_NONE };

	for (size_t i = 0; i < p->n_addresses; i++)
		if (p->addresses[i].addr.family == IP_V4)
			return p->addresses[i].addr;
	return none;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints what the loop leaves until the end; returns the rounds seen. */
static uint64_t watch(struct hetzner *h, double seconds, uint64_t rounds)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct hetzner_status st;
	struct hz_desired *d;
	uint64_t seen = 0;
	double end = now_s() + seconds;

	while (now_s() < end) {
		/* Status first: a round it counts has already left its state
		 * in the mailbox, so the state prints before its status. */
		hetzner_status_get(h, &st);
		d = hetzner_take(h);
		if (d) {
			emit(desired_json("desired", d));
			hz_desired_free(d);
			free(d);
		}
		if (st.rounds_ok + st.rounds_failed != seen) {
			seen = st.rounds_ok + st.rounds_failed;
			emit(status_json(&st));
		}
		if (!st.running || (rounds && seen >= rounds))
			break;
		nanosleep(&tick, NULL);
	}
	return seen;
}

int main(int argc, char **argv)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg = NULL;
	struct hetzner *h = NULL;
	struct hz_desired last;
	struct ip_addr ip;
	const char *ms = getenv("PORTCULLIS_HZ_TIMEOUT_MS");
	bool want_last = argc > 1 && strcmp(argv[argc - 1], "--last") == 0;

	events = fdopen(dup(STDOUT_FILENO), "w");
	if (!events || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		perror("hetzner_probe: stdout");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (want_last)
		argc--;
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: hetzner_probe CONFIG SECONDS [ROUNDS] [--last]\n");
		return 2;
	}
	if (ms)
		hz_http_set_timeouts(atol(ms), atol(ms));
	if (config_load(argv[1], CONFIG_NO_DNS, NULL, NULL, &cfg, err, sizeof(err)) != 0)
		error_exit(err);
	if (!cfg->hetzner.enabled)
		error_exit("no [Hetzner] section");
	ip = private_ip(cfg);
	if (hetzner_start(&h, &cfg->hetzner, &ip, err, sizeof(err)) != 0)
		error_exit(err);
	watch(h, atof(argv[2]), argc == 4 ? strtoull(argv[3], NULL, 10) : 0);
	if (want_last && hetzner_last(h, &last) == 0) {
		emit(desired_json("last", &last));
		hz_desired_free(&last);
	}
	hetzner_stop(h);
	config_free(cfg);
	return 0;
}
