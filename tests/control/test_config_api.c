/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/config_api.c: the Hetzner sync's peers and routes
 * merged into a configuration (replaced as a whole each round, the file's
 * peers and routes never changed and winning every conflict), and the
 * plan (config_api_diff) between two configurations.
 */
#include "config_test_util.h"

#include <errno.h>
#include <stdlib.h>

#include "config_api.h"
#include "config_edit.h"

static struct config *base(void)
{
	static const char text[] =
		IFACE "ListenPort = 51820\n" PORTS
		"Route = 10.50.0.0/16 via 10.0.0.254\n"
		PEER2 "AllowedIPs = 10.8.0.2/32, 10.0.0.7/32\n";
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN];

	assert_int_equal(parse_flags(text, CONFIG_NO_PERMISSION_CHECK, &cfg, err, NULL), 0);
	return cfg;
}

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_int_equal(config_prefix_parse(text, &p), 0);
	return p;
}

/* A desired state with n peers: key byte i+1, prefixes as given. */
struct fake {
	struct hz_desired d;
	struct hz_peer peers[4];
	struct ip_prefix aips[4][3];
	struct config_route routes[2];
};

static void fake_peer(struct fake *f, unsigned i, uint64_t id, const char *ep,
		      const char *a0, const char *a1)
{
	struct hz_peer *p = &f->peers[i];

	memset(p, 0, sizeof(*p));
	p->public_key[0] = (uint8_t)(i + 1);
	p->server_id = id;
	p->name = "srv";
	if (ep) {
		char host[64];
		unsigned port;

		assert_int_equal(sscanf(ep, "%63[^:]:%u", host, &port), 2);
		assert_int_equal(config_addr_parse(host, &p->endpoint.addr), 0);
		p->endpoint.port = (uint16_t)port;
		p->has_endpoint = true;
	}
	p->allowed_ips = f->aips[i];
	if (a0)
		f->aips[i][p->n_allowed_ips++] = pfx(a0);
	if (a1)
		f->aips[i][p->n_allowed_ips++] = pfx(a1);
	f->d.peers = f->peers;
	f->d.n_peers = i + 1 > f->d.n_peers ? i + 1 : f->d.n_peers;
}

static void fake_route(struct fake *f, const char *dst, const char *via)
{
	struct config_route *r = &f->routes[f->d.n_routes++];

	memset(r, 0, sizeof(*r));
	r->dst = pfx(dst);
	assert_int_equal(config_addr_parse(via, &r->via), 0);
	f->d.routes = f->routes;
}

struct notes {
	char text[8][256];
	int n;
};

static void note(const char *msg, void *ctx)
{
	struct notes *n = ctx;

	if (n->n < 8)
		snprintf(n->text[n->n], sizeof(n->text[0]), "%s", msg);
	n->n++;
}

static unsigned api_peers(const struct config *cfg)
{
	unsigned n = 0;

	for (size_t i = 0; i < cfg->n_peers; i++)
		n += cfg->peers[i].from_api;
	return n;
}

static void test_merge_and_replace(void **state)
{
	struct config *cfg = base();
	struct fake f = { 0 }, g = { 0 };
	struct notes notes = { 0 };
	char buf[64];

	(void)state;
	fake_peer(&f, 0, 42, "198.51.100.4:51820", "10.0.0.4/32", "10.11.12.0/24");
	fake_peer(&f, 1, 43, NULL, "10.0.0.5/32", NULL);
	fake_route(&f, "10.0.0.0/16", "10.0.0.1");
	assert_int_equal(config_merge_api(cfg, &f.d, note, &notes), 0);
	assert_int_equal(notes.n, 0);
	assert_int_equal(cfg->n_peers, 3);
	assert_false(cfg->peers[0].from_api);              /* the file's first */
	assert_true(cfg->peers[1].from_api);
	assert_int_equal(cfg->peers[1].api_server_id, 42);
	assert_string_equal(cfg->peers[1].endpoint_text, "198.51.100.4:51820");
	assert_int_equal(cfg->peers[1].n_allowed_ips, 2);
	assert_false(cfg->peers[2].has_endpoint);
	assert_int_equal(cfg->ports[PORT_PRIVATE].n_routes, 2);
	assert_false(cfg->ports[PORT_PRIVATE].routes[0].from_api);
	assert_true(cfg->ports[PORT_PRIVATE].routes[1].from_api);
	config_prefix_format(buf, sizeof(buf), &cfg->ports[PORT_PRIVATE].routes[1].dst);
	assert_string_equal(buf, "10.0.0.0/16");

	/* The next round replaces the sync's peers and routes as a whole. */
	fake_peer(&g, 1, 43, "203.0.113.5:4000", "10.0.0.5/32", NULL);
	g.d.peers = &g.peers[1];
	g.d.n_peers = 1;
	assert_int_equal(config_merge_api(cfg, &g.d, note, &notes), 0);
	assert_int_equal(cfg->n_peers, 2);
	assert_int_equal(api_peers(cfg), 1);
	assert_int_equal(cfg->peers[1].public_key[0], 2);
	assert_string_equal(cfg->peers[1].endpoint_text, "203.0.113.5:4000");
	assert_int_equal(cfg->ports[PORT_PRIVATE].n_routes, 1);
	assert_false(cfg->ports[PORT_PRIVATE].routes[0].from_api);

	/* An empty project removes them all; the file's peer stays. */
	memset(&g.d, 0, sizeof(g.d));
	assert_int_equal(config_merge_api(cfg, &g.d, note, &notes), 0);
	assert_int_equal(cfg->n_peers, 1);
	assert_false(cfg->peers[0].from_api);
	config_free(cfg);
}

static void test_file_wins(void **state)
{
	struct config *cfg = base();
	struct fake f = { 0 };
	struct notes notes = { 0 };

	(void)state;
	/* Peer 0 takes a prefix of the file's peer; peer 1 has its key. */
	fake_peer(&f, 0, 42, NULL, "10.0.0.4/32", "10.0.0.7/32");
	fake_peer(&f, 1, 43, NULL, "10.0.0.9/32", NULL);
	memcpy(f.peers[1].public_key, cfg->peers[0].public_key, 32);
	fake_route(&f, "10.50.0.0/16", "10.0.0.1");         /* the file has it */
	assert_int_equal(config_merge_api(cfg, &f.d, note, &notes), 0);
	assert_int_equal(notes.n, 2);
	assert_string_equal(notes.text[0], "server 'srv' (42): 10.0.0.7/32 belongs to a "
			    "peer of the config file; left with that peer");
	assert_string_equal(notes.text[1], "server 'srv' (43): its key is a peer of the "
			    "config file; the config file's peer stays as it is");
	assert_int_equal(cfg->n_peers, 2);
	assert_int_equal(cfg->peers[0].n_allowed_ips, 2);   /* unchanged */
	assert_int_equal(cfg->peers[1].n_allowed_ips, 1);
	assert_int_equal(cfg->ports[PORT_PRIVATE].n_routes, 1);
	config_free(cfg);
}

struct plan {
	char lines[8][96];
	int n;
};

static void plan_peer(enum config_api_change what, const struct config_peer *old,
		      const struct config_peer *next, void *ctx)
{
	static const char *const names[] = { "add", "change", "remove" };
	struct plan *p = ctx;
	const struct config_peer *peer = next ? next : old;

	snprintf(p->lines[p->n++], sizeof(p->lines[0]), "%s peer %u", names[what],
		 peer->public_key[0]);
}

static void plan_route(enum config_api_change what, const struct config_route *r, void *ctx)
{
	struct plan *p = ctx;
	char buf[64];

	config_prefix_format(buf, sizeof(buf), &r->dst);
	snprintf(p->lines[p->n++], sizeof(p->lines[0]), "%s route %s",
		 what == CONFIG_API_ADD ? "add" : "remove", buf);
}

static void test_plan(void **state)
{
	static const struct config_api_diff_ops ops = { plan_peer, plan_route };
	struct config *cfg = base(), *next;
	struct fake f = { 0 }, g = { 0 };
	struct plan p = { 0 };

	(void)state;
	fake_peer(&f, 0, 42, NULL, "10.0.0.4/32", NULL);
	fake_peer(&f, 1, 43, NULL, "10.0.0.5/32", NULL);
	fake_route(&f, "10.0.0.0/16", "10.0.0.1");
	assert_int_equal(config_merge_api(cfg, &f.d, NULL, NULL), 0);
	next = config_clone(cfg);
	assert_non_null(next);
	/* Peer 1 goes, peer 2 changes, peer 3 comes, the route moves. */
	fake_peer(&g, 1, 43, NULL, "10.0.0.6/32", NULL);
	fake_peer(&g, 2, 44, NULL, "10.0.0.8/32", NULL);
	g.d.n_peers = 2;
	g.d.peers = &g.peers[1];
	fake_route(&g, "10.0.0.0/8", "10.0.0.1");
	assert_int_equal(config_merge_api(next, &g.d, NULL, NULL), 0);
	config_api_diff(cfg, next, &ops, &p);
	assert_int_equal(p.n, 5);
	assert_string_equal(p.lines[0], "change peer 2");
	assert_string_equal(p.lines[1], "add peer 3");
	assert_string_equal(p.lines[2], "remove peer 1");
	assert_string_equal(p.lines[3], "add route 10.0.0.0/8");
	assert_string_equal(p.lines[4], "remove route 10.0.0.0/16");
	/* No change: an empty plan. */
	p.n = 0;
	config_api_diff(next, next, &ops, &p);
	assert_int_equal(p.n, 0);
	config_free(next);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_and_replace),
		cmocka_unit_test(test_file_wins),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
