/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the Hetzner model (control/hetzner_model.c and
 * control/hetzner_desired.c).  Each input is fed, as a reply body, to every
 * parser; what parses is checked and turned into a desired state.
 *
 * Build (see meson.build in this folder) and run from the source root:
 *   build-fuzz/tests/fuzz/fuzz_hetzner -max_total_time=60 -max_len=8192 \
 *     tests/fuzz/corpus/hetzner
 * The seeds are the replies in tests/control/fixtures/hetzner.
 *
 * Besides the sanitizers (leaks included), the oracles:
 *  - the contract: 0 and an object within its bounds, or -EINVAL, a
 *    reason and an empty object (a servers page: the list as it was);
 *  - the desired state: peers sorted by key and unique, every prefix
 *    masked and on one peer at most, routes marked from_api;
 *  - the same servers in reverse order give the same desired state (when
 *    their ids are unique; a duplicated id keeps its first listing);
 *  - the label codec: what decodes encodes back to the same text, lower
 *    case; any 32 bytes survive a round trip.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hetzner.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* A small fixed project for the parts the input does not replace: two
 * peers, one a route owner, in network 4711 (coupled to vSwitch 4321). */
static const char fixed_servers[] =
	"{\"servers\":["
	"{\"id\":1,\"name\":\"a\",\"labels\":{\"portcullis/peer\":\"\",\"portcullis/wg-key\":"
	"\"anr6j7fx6jan57k5mwfuvtyciekp3dcbygk4mdxb23hqmh6iexbq\"},"
	"\"public_net\":{\"ipv4\":{\"ip\":\"192.0.2.1\"}},\"private_net\":[{\"network\":4711,"
	"\"ip\":\"10.0.0.5\",\"alias_ips\":[\"10.0.0.6\"]}]},"
	"{\"id\":2,\"name\":\"b\",\"labels\":{\"portcullis/peer\":\"\",\"portcullis/wg-key\":"
	"\"4lmecjzyzgnusggtpcc77eeao6gwpk4pmr5xnsuggpea2wygak7q\",\"portcullis/wg-endpoint\":"
	"\"private\"},\"public_net\":{\"ipv4\":null},\"private_net\":[{\"network\":4711,"
	"\"ip\":\"10.0.0.7\",\"alias_ips\":[]}]}],"
	"\"meta\":{\"pagination\":{\"page\":1,\"next_page\":null}}}";

static const char fixed_network[] =
	"{\"network\":{\"id\":4711,\"name\":\"mynet\",\"ip_range\":\"10.0.0.0/16\",\"routes\":["
	"{\"destination\":\"10.11.12.0/24\",\"gateway\":\"10.0.0.5\"},"
	"{\"destination\":\"10.0.0.7/32\",\"gateway\":\"10.0.0.6\"},"
	"{\"destination\":\"0.0.0.0/0\",\"gateway\":\"10.0.0.2\"}]}}";

static const char fixed_vswitch[] =
	"{\"id\":4321,\"vlan\":4000,\"cloud_network\":[{\"id\":4711,\"ip\":\"10.0.1.0\","
	"\"mask\":24,\"gateway\":\"10.0.1.1\"}]}";

static const struct hz_options opt = { .selector_key = "portcullis/peer",
				       .network_id = 4711 };

static struct hz_servers base_servers;
static struct hz_network base_network;
static struct hz_vswitch base_vswitch;

static void setup(void)
{
	static bool done;
	char err[HZ_ERR_LEN];
	uint32_t next;

	if (done)
		return;
	done = true;
	CHECK(hz_parse_servers_page(fixed_servers, sizeof(fixed_servers) - 1,
				    &base_servers, &next, err, sizeof(err)) == 0);
	CHECK(hz_parse_network(fixed_network, sizeof(fixed_network) - 1, &base_network,
			       err, sizeof(err)) == 0);
	CHECK(hz_parse_vswitch(fixed_vswitch, sizeof(fixed_vswitch) - 1, &base_vswitch,
			       err, sizeof(err)) == 0);
}

static void check_failed(int ret, const char *err)
{
	CHECK(ret == -EINVAL || ret == -ENOMEM);
	CHECK(err[0] != '\0' && strlen(err) < HZ_ERR_LEN);
}

static bool masked(const struct ip_prefix *p)
{
	struct ip_prefix m = *p;

	CHECK(p->cidr <= ip_addr_len(&p->addr) * 8);
	config_prefix_mask(&m);
	return memcmp(&m, p, sizeof(m)) == 0;
}

/* --- the desired state ------------------------------------------------------ */

static int cmp_prefix(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ip_prefix));
}

static void check_desired(const struct hz_desired *d, size_t n_servers)
{
	size_t total = 0, k = 0;
	struct ip_prefix *all;

	CHECK(d->n_peers <= n_servers);
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct hz_peer *p = &d->peers[i];

		CHECK(p->name != NULL);
		if (i > 0)
			CHECK(memcmp(d->peers[i - 1].public_key, p->public_key, 32) < 0);
		CHECK(!p->has_endpoint || p->endpoint.port != 0);
		for (size_t j = 0; j < p->n_allowed_ips; j++)
			CHECK(masked(&p->allowed_ips[j]));
		total += p->n_allowed_ips;
	}
	all = calloc(total + 1, sizeof(*all));
	if (all == NULL)
		return;
	for (size_t i = 0; i < d->n_peers; i++)
		for (size_t j = 0; j < d->peers[i].n_allowed_ips; j++)
			all[k++] = d->peers[i].allowed_ips[j];
	qsort(all, total, sizeof(*all), cmp_prefix);
	for (size_t i = 1; i < total; i++)
		CHECK(memcmp(&all[i - 1], &all[i], sizeof(*all)) != 0);
	free(all);
	for (size_t i = 0; i < d->n_routes; i++) {
		CHECK(d->routes[i].from_api);
		CHECK(masked(&d->routes[i].dst));
	}
	for (size_t i = 0; i < d->n_warnings; i++)
		CHECK(d->warnings[i] != NULL);
}

static bool peers_equal(const struct hz_peer *a, const struct hz_peer *b)
{
	return memcmp(a->public_key, b->public_key, 32) == 0 &&
	       a->has_endpoint == b->has_endpoint &&
	       (!a->has_endpoint || ip_endpoint_equal(&a->endpoint, &b->endpoint)) &&
	       a->server_id == b->server_id && strcmp(a->name, b->name) == 0 &&
	       a->n_allowed_ips == b->n_allowed_ips &&
	       (a->n_allowed_ips == 0 ||
		memcmp(a->allowed_ips, b->allowed_ips,
		       a->n_allowed_ips * sizeof(*a->allowed_ips)) == 0);
}

static bool desired_equal(const struct hz_desired *a, const struct hz_desired *b)
{
	if (a->n_peers != b->n_peers || a->n_routes != b->n_routes ||
	    a->n_warnings != b->n_warnings)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (!peers_equal(&a->peers[i], &b->peers[i]))
			return false;
	for (size_t i = 0; i < a->n_warnings; i++)
		if (strcmp(a->warnings[i], b->warnings[i]) != 0)
			return false;
	return a->n_routes == 0 ||
	       memcmp(a->routes, b->routes, a->n_routes * sizeof(*a->routes)) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static bool ids_unique(const struct hz_servers *s)
{
	uint64_t *ids = calloc(s->n_servers + 1, sizeof(*ids));
	bool unique = true;

	if (ids == NULL)
		return false;
	for (size_t i = 0; i < s->n_servers; i++)
		ids[i] = s->servers[i].id;
	qsort(ids, s->n_servers, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < s->n_servers && unique; i++)
		unique = ids[i] != ids[i - 1];
	free(ids);
	return unique;
}

static void reverse(struct hz_servers *s)
{
	for (size_t i = 0, j = s->n_servers; i + 1 < j; i++, j--) {
		struct hz_server t = s->servers[i];

		s->servers[i] = s->servers[j - 1];
		s->servers[j - 1] = t;
	}
}

static void desire(struct hz_servers *s, const struct hz_network *net,
		   const struct hz_vswitch *vs)
{
	struct hz_desired d, again;

	if (hz_desired_compute(s, net, vs, &opt, &d) != 0)
		return;
	check_desired(&d, s->n_servers);
	if (ids_unique(s)) {
		reverse(s);
		if (hz_desired_compute(s, net, vs, &opt, &again) == 0) {
			CHECK(desired_equal(&d, &again));
			hz_desired_free(&again);
		}
		reverse(s);
	}
	hz_desired_free(&d);
}

/* --- each parser --------------------------------------------------------------- */

static void fuzz_servers(const char *text, size_t len)
{
	struct hz_servers fresh = { 0 }, more = { 0 };
	char err[HZ_ERR_LEN];
	uint32_t next = 12345, next2;
	int ret = hz_parse_servers_page(text, len, &fresh, &next, err, sizeof(err));

	if (ret != 0) {
		check_failed(ret, err);
		CHECK(fresh.servers == NULL && fresh.n_servers == 0 && next == 12345);
		return;
	}
	CHECK(err[0] == '\0');
	for (size_t i = 0; i < fresh.n_servers; i++) {
		const struct hz_server *s = &fresh.servers[i];

		CHECK(s->id > 0 && s->name != NULL);
		for (const char *c = s->name; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		CHECK(s->ipv4.family == IP_NONE || s->ipv4.family == IP_V4);
		for (size_t l = 0; l < s->n_labels; l++)
			CHECK(s->labels[l].key && s->labels[l].value);
		for (size_t p = 0; p < s->n_private_net; p++) {
			CHECK(s->private_net[p].ip.family == IP_V4);
			CHECK(s->private_net[p].n_alias_ips <= HZ_MAX_ALIAS_IPS);
		}
	}
	desire(&fresh, &base_network, NULL);
	desire(&fresh, &base_network, &base_vswitch);
	/* Appended to what an earlier page gave. */
	CHECK(hz_parse_servers_page(fixed_servers, sizeof(fixed_servers) - 1, &more,
				    &next2, err, sizeof(err)) == 0);
	if (hz_parse_servers_page(text, len, &more, &next2, err, sizeof(err)) == 0) {
		CHECK(more.n_servers == base_servers.n_servers + fresh.n_servers);
		CHECK(next2 == next);
		desire(&more, &base_network, NULL);
	}
	hz_servers_free(&more);
	hz_servers_free(&fresh);
}

static void fuzz_network(const char *text, size_t len)
{
	struct hz_network n;
	char err[HZ_ERR_LEN];
	int ret = hz_parse_network(text, len, &n, err, sizeof(err));

	if (ret != 0) {
		check_failed(ret, err);
		CHECK(n.name == NULL && n.routes == NULL && n.n_routes == 0);
		return;
	}
	CHECK(n.id > 0 && n.name != NULL && n.n_routes <= HZ_MAX_ROUTES);
	CHECK(n.ip_range.addr.family == IP_V4 && masked(&n.ip_range));
	for (size_t i = 0; i < n.n_routes; i++) {
		CHECK(masked(&n.routes[i].destination));
		CHECK(n.routes[i].gateway.family == IP_V4);
	}
	desire(&base_servers, &n, NULL);
	desire(&base_servers, &n, &base_vswitch);
	hz_network_free(&n);
}

static void fuzz_vswitch(const char *text, size_t len)
{
	struct hz_vswitch v;
	char err[HZ_ERR_LEN];
	int ret = hz_parse_vswitch(text, len, &v, err, sizeof(err));

	if (ret != 0) {
		check_failed(ret, err);
		CHECK(v.cloud_networks == NULL && v.n_cloud_networks == 0);
		return;
	}
	CHECK(v.id > 0 && v.vlan >= 1 && v.vlan <= 4094);
	for (size_t i = 0; i < v.n_cloud_networks; i++)
		CHECK(masked(&v.cloud_networks[i].subnet) &&
		      v.cloud_networks[i].gateway.family == IP_V4);
	desire(&base_servers, &base_network, &v);
	hz_vswitch_free(&v);
}

static void fuzz_small(const char *text, size_t len)
{
	struct hz_action a;
	char err[HZ_ERR_LEN], code[64], msg[160];
	uint64_t id = 99;
	int ret;

	ret = hz_parse_action(text, len, &a, err, sizeof(err));
	if (ret != 0)
		check_failed(ret, err);
	else
		CHECK(a.id > 0 && a.status <= HZ_ACTION_ERROR &&
		      strlen(a.error_code) < sizeof(a.error_code) &&
		      strlen(a.error_message) < sizeof(a.error_message));
	ret = hz_parse_network_id_by_name(text, len, "mynet", &id, err, sizeof(err));
	if (ret != 0)
		check_failed(ret, err);
	CHECK(ret == 0 || id == 0);
	ret = hz_parse_error(text, len, code, sizeof(code), msg, sizeof(msg));
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK(strlen(code) < sizeof(code) && strlen(msg) < sizeof(msg));
	CHECK(ret == 0 || (code[0] == '\0' && msg[0] == '\0'));
}

static void fuzz_label(const uint8_t *data, size_t size)
{
	char text[HZ_LABEL_LEN + 8], again[HZ_LABEL_LEN + 1];
	uint8_t key[32], back[32];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	if (hz_key_from_label(key, text) == 0) {
		hz_key_to_label(again, key);
		CHECK(strlen(text) == HZ_LABEL_LEN);
		for (size_t i = 0; i < HZ_LABEL_LEN; i++)
			CHECK(again[i] == (text[i] >= 'A' && text[i] <= 'Z' ?
					   text[i] - 'A' + 'a' : text[i]));
	}
	if (size >= 32) {
		hz_key_to_label(again, data);
		CHECK(hz_key_from_label(back, again) == 0);
		CHECK(memcmp(back, data, 32) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	setup();
	fuzz_servers(text, size);
	fuzz_network(text, size);
	fuzz_vswitch(text, size);
	fuzz_small(text, size);
	fuzz_label(data, size);
	return 0;
}
