/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/hetzner_desired.c: the desired state of the
 * hand-written project in tests/control/fixtures/hetzner (its README says
 * what each server exercises), with and without a vSwitch, whatever the
 * page order; an empty project, no Network, small ranges.  Every result
 * is also checked for the invariants: peers sorted by key, prefixes
 * masked and on one peer at most, routes from_api.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hetzner_test_util.h"

/* The hand-written project (fixtures/hetzner/README.md). */
struct project {
	struct hz_servers servers;
	struct hz_network net;
	struct hz_vswitch vs;
};

static void project_load(struct project *p, bool page2_first)
{
	const char *pages[2] = { "project_servers_page1.json", "project_servers_page2.json" };
	char err[HZ_ERR_LEN], *json;
	uint32_t next;
	size_t len;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 2; i++) {
		json = read_fixture(pages[page2_first ? 1 - i : i], &len);
		assert_int_equal(hz_parse_servers_page(json, len, &p->servers, &next, err,
						       sizeof(err)), 0);
		free(json);
	}
	json = read_fixture("project_network.json", &len);
	assert_int_equal(hz_parse_network(json, len, &p->net, err, sizeof(err)), 0);
	free(json);
	json = read_fixture("project_vswitch.json", &len);
	assert_int_equal(hz_parse_vswitch(json, len, &p->vs, err, sizeof(err)), 0);
	free(json);
}

static void project_free(struct project *p)
{
	hz_servers_free(&p->servers);
	hz_network_free(&p->net);
	hz_vswitch_free(&p->vs);
}

static const struct hz_options project_opt = { .selector_key = "portcullis/peer",
					       .network_id = 4711 };

/* Invariants of every desired state. */
static void check_desired(const struct hz_desired *d)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct hz_peer *p = &d->peers[i];

		if (i > 0)
			assert_true(memcmp(d->peers[i - 1].public_key, p->public_key, 32) < 0);
		assert_non_null(p->name);
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			struct ip_prefix m = p->allowed_ips[j];

			config_prefix_mask(&m);
			assert_memory_equal(&m, &p->allowed_ips[j], sizeof(m));
			for (size_t k = 0; k < d->n_peers; k++)
				for (size_t l = 0; l < d->peers[k].n_allowed_ips; l++)
					if (k != i || l != j)
						assert_false(memcmp(&d->peers[k].allowed_ips[l], &m,
								    sizeof(m)) == 0);
		}
	}
	for (size_t i = 0; i < d->n_routes; i++)
		assert_true(d->routes[i].from_api);
}

static const struct hz_peer *peer_of(const struct hz_desired *d, uint64_t id)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i].server_id == id)
			return &d->peers[i];
	fail_msg("no peer for server %llu", (unsigned long long)id);
	return NULL;
}

static void assert_allowed(const struct hz_peer *p, const char *const *want, size_t n)
{
	assert_int_equal(p->n_allowed_ips, n);
	for (size_t i = 0; i < n; i++)
		assert_prefix(&p->allowed_ips[i], want[i]);
}

static void assert_endpoint(const struct hz_peer *p, const char *text)
{
	char buf[64];

	if (text == NULL) {
		assert_false(p->has_endpoint);
		return;
	}
	assert_true(p->has_endpoint);
	config_endpoint_format(buf, sizeof(buf), &p->endpoint);
	assert_string_equal(buf, text);
}

static const char *const project_warnings[] = {
	/* label checks, by server id */
	"server 'badkey' (105): label portcullis/wg-key is not a WireGuard key "
	"(52 base32 characters)",
	"server 'badport' (108): bad label portcullis/wg-port '70000' (must be 1..65535)",
	"server 'nokey' (109): no label portcullis/wg-key",
	"server 'noselector' (110): no label portcullis/peer; not selected",
	"server 'badep' (111): bad label portcullis/wg-endpoint 'floating' (must be "
	"public or private)",
	/* peers, by server id */
	"server 'dup1' (104): key already used by server 'app1' (101); left out",
	"server 'nonet' (106): no private IP in network 4711: peer has no AllowedIPs",
	"server 'lonely' (107): no private IP in network 4711: peer has no endpoint and "
	"no AllowedIPs",
	/* prefixes two peers would own */
	"server 'db1' (102): 10.0.0.7/32 is already server 'app1' (101)'s; left with it",
};

static void check_project(const struct hz_desired *d)
{
	static const char *const app1[] = { "10.0.0.5/32", "10.0.0.6/32", "10.0.0.7/32",
					    "10.11.12.0/24", "10.20.0.0/16" };
	static const char *const edge1[] = { "10.0.0.8/32" };
	uint8_t key[32];

	check_desired(d);
	/* Sorted by key: app1 03.., edge1 48.., db1 e2.., nonet ea.., lonely f5.. */
	assert_int_equal(d->n_peers, 5);
	assert_int_equal(d->peers[0].server_id, 101);
	assert_int_equal(d->peers[1].server_id, 103);
	assert_int_equal(d->peers[2].server_id, 102);
	assert_int_equal(d->peers[3].server_id, 106);
	assert_int_equal(d->peers[4].server_id, 107);
	hex_to_key(key, "0363e4fcb7f240defd5d658b4acf024114fd8c41c195c60ee1d6cf061fc825c3");
	assert_memory_equal(d->peers[0].public_key, key, 32);
	/* db1's label is upper case. */
	hex_to_key(key, "e2d8412738c99b4918d37885ff9080778d67ab8f647b76ca8633c80d5b0602bf");
	assert_memory_equal(d->peers[2].public_key, key, 32);
	assert_string_equal(d->peers[0].name, "app1");

	/* Route owner with an alias IP and a port label; its routes. */
	assert_endpoint(peer_of(d, 101), "203.0.113.11:51821");
	assert_allowed(peer_of(d, 101), app1, 5);
	/* No IPv4: its private address; its /32 went to app1's route. */
	assert_endpoint(peer_of(d, 102), "10.0.0.7:51820");
	assert_allowed(peer_of(d, 102), NULL, 0);
	/* wg-endpoint=private despite a public IPv4. */
	assert_endpoint(peer_of(d, 103), "10.0.0.8:51820");
	assert_allowed(peer_of(d, 103), edge1, 1);
	/* Not in the Network: kept, without AllowedIPs. */
	assert_endpoint(peer_of(d, 106), "198.51.100.6:51820");
	assert_allowed(peer_of(d, 106), NULL, 0);
	assert_endpoint(peer_of(d, 107), NULL);
	assert_allowed(peer_of(d, 107), NULL, 0);

	assert_int_equal(d->n_warnings, sizeof(project_warnings) / sizeof(project_warnings[0]));
	for (size_t i = 0; i < d->n_warnings; i++)
		assert_string_equal(d->warnings[i], project_warnings[i]);
}

static void test_desired_project(void **state)
{
	struct hz_desired d;
	struct project p;
	(void)state;

	project_load(&p, false);
	assert_int_equal(hz_desired_compute(&p.servers, &p.net, NULL, &project_opt, &d), 0);
	check_project(&d);
	/* The Network's range via its first address; 0.0.0.0/0 via the
	 * bastion and 10.99.0.0/24 via nobody are not mirrored. */
	assert_int_equal(d.n_routes, 1);
	assert_prefix(&d.routes[0].dst, "10.0.0.0/16");
	assert_addr(&d.routes[0].via, "10.0.0.1");
	hz_desired_free(&d);
	assert_null(d.peers);
	assert_int_equal(d.n_warnings, 0);
	project_free(&p);
}

static void test_desired_vswitch(void **state)
{
	struct hz_desired d;
	struct project p;
	struct hz_vswitch other;
	char err[HZ_ERR_LEN], *json;
	size_t len;
	(void)state;

	project_load(&p, false);
	/* Coupled: the range via the vSwitch subnet's gateway. */
	assert_int_equal(hz_desired_compute(&p.servers, &p.net, &p.vs, &project_opt, &d), 0);
	check_project(&d);
	assert_int_equal(d.n_routes, 1);
	assert_prefix(&d.routes[0].dst, "10.0.0.0/16");
	assert_addr(&d.routes[0].via, "10.0.1.1");
	hz_desired_free(&d);
	/* The docs' vSwitch is coupled to network 123: no route, a warning. */
	json = read_fixture("robot_vswitch_get.docs.json", &len);
	assert_int_equal(hz_parse_vswitch(json, len, &other, err, sizeof(err)), 0);
	free(json);
	assert_int_equal(hz_desired_compute(&p.servers, &p.net, &other, &project_opt, &d), 0);
	assert_int_equal(d.n_routes, 0);
	assert_int_equal(d.n_peers, 5);
	assert_string_equal(d.warnings[d.n_warnings - 1],
			    "vSwitch 4321 is not coupled to network 4711: no route to 10.0.0.0/16");
	hz_desired_free(&d);
	hz_vswitch_free(&other);
	project_free(&p);
}

/* Pages in another order (and the duplicate of 101 first): same result. */
static void test_desired_order(void **state)
{
	struct hz_desired d;
	struct project p;
	(void)state;

	project_load(&p, true);
	assert_int_equal(p.servers.servers[0].id, 106);
	assert_int_equal(hz_desired_compute(&p.servers, &p.net, NULL, &project_opt, &d), 0);
	check_project(&d);
	hz_desired_free(&d);
	project_free(&p);
}

static void test_desired_empty(void **state)
{
	struct hz_servers none = { 0 };
	struct hz_desired d;
	struct project p;
	char err[HZ_ERR_LEN], *json;
	uint32_t next;
	size_t len;
	(void)state;

	project_load(&p, false);
	json = read_fixture("hcloud_servers_list_empty.docs.json", &len);
	assert_int_equal(hz_parse_servers_page(json, len, &none, &next, err, sizeof(err)), 0);
	free(json);
	assert_int_equal(hz_desired_compute(&none, &p.net, NULL, &project_opt, &d), 0);
	assert_int_equal(d.n_peers, 0);
	assert_int_equal(d.n_warnings, 0);
	assert_int_equal(d.n_routes, 1);
	hz_desired_free(&d);
	hz_servers_free(&none);
	/* No Network: peers without AllowedIPs, no routes, and no warning
	 * about the Network; no selector: 110 is a peer too. */
	assert_int_equal(hz_desired_compute(&p.servers, NULL, NULL, NULL, &d), 0);
	check_desired(&d);
	assert_int_equal(d.n_peers, 6);
	assert_int_equal(d.n_routes, 0);
	for (size_t i = 0; i < d.n_peers; i++)
		assert_int_equal(d.peers[i].n_allowed_ips, 0);
	assert_endpoint(peer_of(&d, 102), NULL);
	assert_endpoint(peer_of(&d, 110), "203.0.113.20:51820");
	assert_int_equal(d.n_warnings, 5);
	hz_desired_free(&d);
	project_free(&p);
}

/* Hand-built servers: the network's gateway for small ranges, a /31. */
static void test_desired_small_range(void **state)
{
	struct hz_servers none = { 0 };
	struct hz_network net = { .id = 1, .name = "n" };
	struct hz_desired d;
	(void)state;

	assert_int_equal(config_prefix_parse("10.9.8.0/30", &net.ip_range), 0);
	assert_int_equal(hz_desired_compute(&none, &net, NULL, NULL, &d), 0);
	assert_int_equal(d.n_routes, 1);
	assert_addr(&d.routes[0].via, "10.9.8.1");
	hz_desired_free(&d);
	assert_int_equal(config_prefix_parse("10.9.8.0/31", &net.ip_range), 0);
	assert_int_equal(hz_desired_compute(&none, &net, NULL, NULL, &d), 0);
	assert_int_equal(d.n_routes, 0);
	assert_string_equal(d.warnings[0], "network 1: ip_range 10.9.8.0/31 has no gateway address");
	hz_desired_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desired_project),
		cmocka_unit_test(test_desired_vswitch),
		cmocka_unit_test(test_desired_order),
		cmocka_unit_test(test_desired_empty),
		cmocka_unit_test(test_desired_small_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
