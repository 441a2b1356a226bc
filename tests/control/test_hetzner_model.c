/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/hetzner_model.c, the label codec and the parsers of
 * the Hetzner API's replies (the desired state is in test_hetzner_desired.c).
 *
 *  - the label codec: a known vector, a randomized comparison against a
 *    naive bit-by-bit base32 encoder, every last character, rejects;
 *  - every fixture in tests/control/fixtures/hetzner (real and documented
 *    replies, and a hand-written project) through its parser, with what it
 *    gives or its exact reason, and through every other parser (contract);
 *  - tamper tables: each field we use replaced by each wrong type, or
 *    removed, gives "<path>: not <type>" / "<path>: missing"; bad values
 *    give their exact reason;
 *  - pagination, limits, malformed JSON, error bodies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hetzner_test_util.h"

/* --- the label codec ------------------------------------------------------------ */

static void test_label_vector(void **state)
{
	uint8_t key[32], back[32];
	char label[HZ_LABEL_LEN + 1];
	(void)state;

	/* python3: base64.b32encode(bytes(range(32))).rstrip(b'=').lower() */
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	hz_key_to_label(label, key);
	assert_string_equal(label, "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq");
	assert_int_equal(hz_key_from_label(back, label), 0);
	assert_memory_equal(back, key, 32);
	/* The key wg shows as zbFQLi2227C2WbcThTfrS2ktEMNDQAI+BD7jdgd/Fz0=:
	 * base64.b32encode(base64.b64decode(that)).rstrip(b'=').lower() */
	hex_to_key(key, "cdb1502e2db6dbb0b659b7138537eb4b692d10c34340023e043ee376077f173d");
	hz_key_to_label(label, key);
	assert_string_equal(label, "zwyvalrnw3n3bnszw4jykn7ljnus2egdinaaepqeh3rxmb37c46q");
	assert_int_equal(hz_key_from_label(back, "ZWYVALRNW3N3BNSZW4JYKN7LJNUS2EGDINAAEPQEH3RXMB37C46Q"), 0);
	assert_memory_equal(back, key, 32);
	assert_int_equal(hz_key_from_label(back, "zWyValrnw3n3bnszw4jykn7ljnus2egdinaaepqeh3rxmb37c46Q"), 0);
	assert_memory_equal(back, key, 32);
}

static const char *const bad_labels[] = {
	/* 0 */ "",
	/* 1 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp",     /* 51 */
	/* 2 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypqa",   /* 53 */
	/* 3 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp=",    /* pad */
	/* 4 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq====", /* padded */
	/* 5 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypr",    /* bit */
	/* 6 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp8",    /* '8' */
	/* 7 */ "0aaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq",    /* '0' */
	/* 8 */ "1aaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq",    /* '1' */
	/* 9 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp q",
	/* 10 */ "zbFQLi2227C2WbcThTfrS2ktEMNDQAI+BD7jdgd/Fz0=",           /* base64 */
	/* 11 */ "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp\xc3\xa9",
};

static void test_label_rejects(void **state)
{
	uint8_t key[32], zero[32] = { 0 };
	(void)state;

	for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		memset(key, 0, sizeof(key));
		if (hz_key_from_label(key, bad_labels[i]) != -EINVAL)
			fail_msg("bad label %zu accepted", i);
		assert_memory_equal(key, zero, 32);   /* untouched */
	}
	assert_int_equal(hz_key_from_label(key, NULL), -EINVAL);
}

/* The last character carries 1 bit of the key and 4 bits that must be
 * zero: of the 32 characters only 'a' (00000) and 'q' (10000) fit. */
static void test_label_last_char(void **state)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	char label[HZ_LABEL_LEN + 1] = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypq";
	uint8_t key[32];
	(void)state;

	for (int v = 0; v < 32; v++) {
		label[HZ_LABEL_LEN - 1] = alphabet[v];
		assert_int_equal(hz_key_from_label(key, label), (v & 15) ? -EINVAL : 0);
	}
}

/* Naive reference: the key as a string of bits, cut into 5-bit groups. */
static void naive_b32(char out[HZ_LABEL_LEN + 1], const uint8_t key[32])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	char bits[HZ_LABEL_LEN * 5];

	memset(bits, 0, sizeof(bits));
	for (int i = 0; i < 256; i++)
		bits[i] = (char)((key[i / 8] >> (7 - i % 8)) & 1);
	for (int c = 0; c < HZ_LABEL_LEN; c++) {
		int v = 0;

		for (int b = 0; b < 5; b++)
			v = v * 2 + bits[c * 5 + b];
		out[c] = alphabet[v];
	}
	out[HZ_LABEL_LEN] = '\0';
}

static void test_label_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t key[32], back[32];
	char label[HZ_LABEL_LEN + 1], want[HZ_LABEL_LEN + 1];
	(void)state;

	for (int round = 0; round < 5000; round++) {
		for (int i = 0; i < 32; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			key[i] = (uint8_t)x;
		}
		hz_key_to_label(label, key);
		naive_b32(want, key);
		assert_string_equal(label, want);
		assert_int_equal(hz_key_from_label(back, label), 0);
		assert_memory_equal(back, key, 32);
		for (int i = 0; i < HZ_LABEL_LEN; i++)
			if (label[i] >= 'a')
				label[i] = (char)(label[i] - 'a' + 'A');
		assert_int_equal(hz_key_from_label(back, label), 0);
		assert_memory_equal(back, key, 32);
	}
}

/* --- parsers, one call each ---------------------------------------------------------- */

enum parser { P_SERVERS, P_NETWORK, P_NETWORK_ID, P_VSWITCH, P_ACTION, P_ERROR, P_COUNT };

/* What a parse gave, for the tables. */
struct result {
	int ret;
	char err[HZ_ERR_LEN];
	uint64_t id;            /* first server / network / vswitch / action id */
	size_t n;               /* servers / routes / cloud networks */
	uint32_t next;          /* next_page */
	int status;             /* action */
	char code[64], message[160];
};

static void run(enum parser p, const char *json, size_t len, struct result *r)
{
	struct hz_servers s = { 0 };
	struct hz_network n;
	struct hz_vswitch v;
	struct hz_action a;

	memset(r, 0, sizeof(*r));
	memset(r->err, 'x', sizeof(r->err) - 1);     /* must be overwritten */
	switch (p) {
	case P_SERVERS:
		r->ret = hz_parse_servers_page(json, len, &s, &r->next, r->err,
					       sizeof(r->err));
		r->n = s.n_servers;
		r->id = s.n_servers ? s.servers[0].id : 0;
		hz_servers_free(&s);
		break;
	case P_NETWORK:
		r->ret = hz_parse_network(json, len, &n, r->err, sizeof(r->err));
		r->id = n.id;
		r->n = n.n_routes;
		hz_network_free(&n);
		break;
	case P_NETWORK_ID:
		r->ret = hz_parse_network_id_by_name(json, len, "mynet", &r->id, r->err,
						     sizeof(r->err));
		break;
	case P_VSWITCH:
		r->ret = hz_parse_vswitch(json, len, &v, r->err, sizeof(r->err));
		r->id = v.id;
		r->n = v.n_cloud_networks;
		hz_vswitch_free(&v);
		break;
	case P_ACTION:
		r->ret = hz_parse_action(json, len, &a, r->err, sizeof(r->err));
		r->id = a.id;
		r->status = (int)a.status;
		memcpy(r->code, a.error_code, sizeof(r->code));
		memcpy(r->message, a.error_message, sizeof(r->message));
		break;
	case P_ERROR:
		r->ret = hz_parse_error(json, len, r->code, sizeof(r->code), r->message,
					sizeof(r->message));
		r->err[0] = '\0';
		break;
	case P_COUNT:
		break;
	}
	/* The contract: 0 and a message-free result, or an error and words. */
	if (r->ret == 0 && p != P_ERROR)
		assert_string_equal(r->err, "");
	if (r->ret != 0 && p != P_ERROR) {
		assert_int_equal(r->ret, -EINVAL);
		assert_true(r->err[0] != '\0' && r->err[0] != 'x');
		assert_true(r->id == 0 && r->n == 0);
	}
}

/* --- every fixture ---------------------------------------------------------------------- */

static const struct fixture_case {
	const char *file;
	enum parser parser;
	int ret;
	const char *err;        /* exact; "" when ret is 0 */
	uint64_t id;
	size_t n;
	uint32_t next;
	const char *code;       /* P_ERROR: code; P_ACTION: status name */
} fixtures[] = {
	/* 0 */ { "hcloud_servers_list.docs.json", P_SERVERS, 0, "", 42, 1, 4, NULL },
	/* 1 */ { "hcloud_servers_list_empty.docs.json", P_SERVERS, 0, "", 0, 0, 0, NULL },
	/* 2 */ { "hcloud_server_get.real_ljchuello.json", P_SERVERS, -EINVAL,
		  "servers: missing", 0, 0, 0, NULL },
	/* 3 */ { "hcloud_network_get.docs.json", P_NETWORK, 0, "", 4711, 1, 0, NULL },
	/* 4 */ { "hcloud_network_get.real_ljchuello.json", P_NETWORK, 0, "", 3550135, 1, 0, NULL },
	/* 5 */ { "hcloud_network.hcloud-go_TestNetworkSchema.json", P_NETWORK, -EINVAL,
		  "network: missing", 0, 0, 0, NULL },
	/* 6 */ { "hcloud_networks_list.docs.json", P_NETWORK_ID, 0, "", 4711, 0, 0, NULL },
	/* 7 */ { "hcloud_action_add_route_201.docs.json", P_ACTION, 0, "", 13, 0, 0, "running" },
	/* 8 */ { "hcloud_action_get.docs.json", P_ACTION, 0, "", 42, 0, 0, "running" },
	/* 9 */ { "hcloud_network_action_change_ip_range_success.docs.json", P_ACTION, 0, "",
		  13, 0, 0, "success" },
	/* 10 */ { "hcloud_actions_list_by_id.docs.json", P_ACTION, -EINVAL, "action: missing",
		   0, 0, 0, NULL },
	/* 11 */ { "hcloud_add_route_request.docs.json", P_ACTION, -EINVAL, "action: missing",
		   0, 0, 0, NULL },
	/* 12 */ { "hcloud_error_deprecated_api_endpoint.docs.json", P_ERROR, 0, "", 0, 0, 0,
		   "deprecated_api_endpoint" },
	/* 13 */ { "hcloud_error_invalid_input.docs.json", P_ERROR, 0, "", 0, 0, 0, "invalid_input" },
	/* 14 */ { "hcloud_error_rate_limit_exceeded.hcloud-python.json", P_ERROR, 0, "", 0, 0, 0,
		   "rate_limit_exceeded" },
	/* 15 */ { "hcloud_error_rate_limit_exceeded_minimal.hcloud-go.json", P_ERROR, 0, "",
		   0, 0, 0, "rate_limit_exceeded" },
	/* 16 */ { "hcloud_error_resource_limit_exceeded.docs.json", P_ERROR, 0, "", 0, 0, 0,
		   "resource_limit_exceeded" },
	/* 17 */ { "hcloud_error_unauthorized.openapi_example.json", P_ERROR, 0, "", 0, 0, 0,
		   "unauthorized" },
	/* 18 */ { "hcloud_error_uniqueness.docs.json", P_ERROR, 0, "", 0, 0, 0, "uniqueness_error" },
	/* 19 */ { "robot_error_format.docs.json", P_ERROR, 0, "", 0, 0, 0, "BOOT_NOT_AVAILABLE" },
	/* 20 */ { "robot_error_vswitch_not_found.ansible-test.json", P_ERROR, 0, "", 0, 0, 0,
		   "NOT_FOUND" },
	/* 21 */ { "robot_vswitch_get.docs.json", P_VSWITCH, 0, "", 4321, 1, 0, NULL },
	/* 22 */ { "robot_vswitch_get.real_hrobot-rs.json", P_VSWITCH, 0, "", 50301, 0, 0, NULL },
	/* 23 */ { "robot_vswitch_create_201.docs.json", P_VSWITCH, 0, "", 4321, 0, 0, NULL },
	/* 24 */ { "robot_vswitch_list.docs.json", P_VSWITCH, -EINVAL,
		   "top level: not an object", 0, 0, 0, NULL },
	/* 25 */ { "robot_server_list.victoriametrics-test.json", P_VSWITCH, -EINVAL,
		   "top level: not an object", 0, 0, 0, NULL },
	/* 26 */ { "project_servers_page1.json", P_SERVERS, 0, "", 101, 5, 2, NULL },
	/* 27 */ { "project_servers_page2.json", P_SERVERS, 0, "", 106, 7, 0, NULL },
	/* 28 */ { "project_servers_empty_last.json", P_SERVERS, 0, "", 0, 0, 0, NULL },
	/* 29 */ { "project_network.json", P_NETWORK, 0, "", 4711, 5, 0, NULL },
	/* 30 */ { "project_vswitch.json", P_VSWITCH, 0, "", 4321, 1, 0, NULL },
	/* 31 */ { "robot_error_format.docs.json", P_SERVERS, -EINVAL, "servers: missing",
		   0, 0, 0, NULL },
	/* 32 */ { "hcloud_networks_list.docs.json", P_NETWORK, -EINVAL, "network: missing",
		   0, 0, 0, NULL },
};

static const char *const status_names[] = { "running", "success", "error" };

static void test_fixtures(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture_case *c = &fixtures[i];
		struct result r;
		size_t len;
		char *json = read_fixture(c->file, &len);

		run(c->parser, json, len, &r);
		if (r.ret != c->ret || strcmp(r.err, c->err) != 0)
			fail_msg("fixture %zu (%s): %d '%s'", i, c->file, r.ret, r.err);
		assert_int_equal(r.id, c->id);
		assert_int_equal(r.n, c->n);
		assert_int_equal(r.next, c->next);
		if (c->parser == P_ERROR)
			assert_string_equal(r.code, c->code);
		if (c->parser == P_ACTION && c->ret == 0) {
			assert_string_equal(status_names[r.status], c->code);
			/* The docs' running actions carry an error object: not
			 * read unless the action failed. */
			assert_string_equal(r.code, "");
		}
		free(json);
	}
}

/* Every fixture through every parser: the contract holds whatever the
 * shape (run() checks it). */
static void test_fixtures_cross(void **state)
{
	char dir[2048];
	struct dirent *de;
	int files = 0;
	DIR *d;
	(void)state;

	fixture_dir(dir, sizeof(dir));
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), len;
		struct result r;
		char *json;

		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		json = read_fixture(de->d_name, &len);
		for (int p = 0; p < P_COUNT; p++)
			run((enum parser)p, json, len, &r);
		free(json);
		files++;
	}
	closedir(d);
	assert_true(files >= 30);
}

static void test_fixture_contents(void **state)
{
	struct hz_servers s = { 0 };
	struct hz_network n;
	struct hz_vswitch v;
	struct hz_action a;
	char err[HZ_ERR_LEN], code[64], msg[160];
	uint32_t next;
	size_t len;
	char *json;
	(void)state;

	json = read_fixture("hcloud_servers_list.docs.json", &len);
	assert_int_equal(hz_parse_servers_page(json, len, &s, &next, err, sizeof(err)), 0);
	assert_string_equal(s.servers[0].name, "my-resource");
	assert_addr(&s.servers[0].ipv4, "1.2.3.4");
	assert_int_equal(s.servers[0].n_labels, 3);
	assert_string_equal(s.servers[0].labels[1].key, "example.com/my");
	assert_string_equal(s.servers[0].labels[1].value, "label");
	assert_string_equal(s.servers[0].labels[2].value, "");
	assert_int_equal(s.servers[0].n_private_net, 1);
	assert_int_equal(s.servers[0].private_net[0].network, 4711);
	assert_addr(&s.servers[0].private_net[0].ip, "10.0.0.2");
	assert_int_equal(s.servers[0].private_net[0].n_alias_ips, 2);
	assert_addr(&s.servers[0].private_net[0].alias_ips[1], "10.0.0.4");
	hz_servers_free(&s);
	free(json);

	json = read_fixture("hcloud_network_get.real_ljchuello.json", &len);
	assert_int_equal(hz_parse_network(json, len, &n, err, sizeof(err)), 0);
	assert_string_equal(n.name, "network");
	assert_prefix(&n.ip_range, "192.168.0.0/16");
	assert_prefix(&n.routes[0].destination, "192.168.32.0/24");
	assert_addr(&n.routes[0].gateway, "192.168.16.1");
	hz_network_free(&n);
	free(json);

	json = read_fixture("robot_vswitch_get.docs.json", &len);
	assert_int_equal(hz_parse_vswitch(json, len, &v, err, sizeof(err)), 0);
	assert_int_equal(v.vlan, 4000);
	assert_int_equal(v.cloud_networks[0].network, 123);
	assert_prefix(&v.cloud_networks[0].subnet, "10.0.2.0/24");
	assert_addr(&v.cloud_networks[0].gateway, "10.0.2.1");
	hz_vswitch_free(&v);
	free(json);

	json = read_fixture("hcloud_network_action_change_ip_range_success.docs.json", &len);
	assert_int_equal(hz_parse_action(json, len, &a, err, sizeof(err)), 0);
	assert_int_equal(a.status, HZ_ACTION_SUCCESS);
	free(json);

	json = read_fixture("robot_error_vswitch_not_found.ansible-test.json", &len);
	assert_int_equal(hz_parse_error(json, len, code, sizeof(code), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "Cannot find vswitch");
	free(json);
	json = read_fixture("hcloud_error_rate_limit_exceeded_minimal.hcloud-go.json", &len);
	assert_int_equal(hz_parse_error(json, len, code, sizeof(code), msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	free(json);
}

/* The real GET /servers/{id} reply, as the one server of a page. */
static void test_real_server(void **state)
{
	struct hz_servers s = { 0 };
	char err[HZ_ERR_LEN], *page, *json;
	json_t *root, *wrap;
	json_error_t je;
	uint32_t next = 7;
	size_t len;
	(void)state;

	json = read_fixture("hcloud_server_get.real_ljchuello.json", &len);
	root = json_loadb(json, len, 0, &je);
	assert_non_null(root);
	wrap = json_pack("{s:[O],s:{s:{s:i,s:n}}}", "servers", json_object_get(root, "server"),
			 "meta", "pagination", "page", 1, "next_page");
	assert_non_null(wrap);
	page = json_dumps(wrap, 0);
	assert_int_equal(hz_parse_servers_page(page, strlen(page), &s, &next, err,
					       sizeof(err)), 0);
	assert_int_equal(next, 0);
	assert_int_equal(s.servers[0].id, 39707330);
	assert_string_equal(s.servers[0].name, "debian-2gb-ash-1");
	assert_addr(&s.servers[0].ipv4, "5.161.64.45");
	assert_int_equal(s.servers[0].n_labels, 0);
	assert_int_equal(s.servers[0].private_net[0].network, 3588651);
	assert_addr(&s.servers[0].private_net[0].ip, "10.0.0.2");
	assert_int_equal(s.servers[0].private_net[0].n_alias_ips, 0);
	hz_servers_free(&s);
	free(page);
	json_decref(wrap);
	json_decref(root);
	free(json);
}

/* --- tamper tables ------------------------------------------------------------------- */

enum kind { K_OBJECT, K_ARRAY, K_STRING, K_INTEGER };

static const char *const kind_text[] = { "an object", "an array", "a string", "an integer" };

/* Values of each JSON type; "x" stands for a wrong string. */
static const struct {
	const char *json;
	int kind;               /* -1: matches no kind we check */
	bool null;
} wrong_values[] = {
	{ "null", -1, true }, { "true", -1, false }, { "7", K_INTEGER, false },
	{ "1.5", -1, false }, { "\"x\"", K_STRING, false }, { "[]", K_ARRAY, false },
	{ "{}", K_OBJECT, false },
};

struct field_case {
	const char *path;       /* keys and indexes, space-separated */
	enum kind kind;
	bool nullable, optional;
};

struct tamper_set {
	enum parser parser;
	const char *base;
	const struct field_case *fields;
	size_t n_fields;
};

static const char servers_base[] =
	"{\"servers\":[{\"id\":1,\"name\":\"a\",\"labels\":{\"portcullis/wg-key\":\"k\"},"
	"\"public_net\":{\"ipv4\":{\"ip\":\"192.0.2.1\"}},\"private_net\":[{\"network\":2,"
	"\"ip\":\"10.0.0.2\",\"alias_ips\":[\"10.0.0.3\"]}]}],"
	"\"meta\":{\"pagination\":{\"page\":1,\"next_page\":null}}}";

static const struct field_case servers_fields[] = {
	{ "servers", K_ARRAY, false, false },
	{ "servers 0", K_OBJECT, false, false },
	{ "servers 0 id", K_INTEGER, false, false },
	{ "servers 0 name", K_STRING, false, false },
	{ "servers 0 labels", K_OBJECT, false, false },
	{ "servers 0 labels portcullis/wg-key", K_STRING, false, true },
	{ "servers 0 public_net", K_OBJECT, false, false },
	{ "servers 0 public_net ipv4", K_OBJECT, true, false },
	{ "servers 0 public_net ipv4 ip", K_STRING, false, false },
	{ "servers 0 private_net", K_ARRAY, false, false },
	{ "servers 0 private_net 0", K_OBJECT, false, false },
	{ "servers 0 private_net 0 network", K_INTEGER, false, false },
	{ "servers 0 private_net 0 ip", K_STRING, false, false },
	{ "servers 0 private_net 0 alias_ips", K_ARRAY, false, false },
	{ "servers 0 private_net 0 alias_ips 0", K_STRING, false, false },
	{ "meta", K_OBJECT, false, false },
	{ "meta pagination", K_OBJECT, false, false },
	{ "meta pagination page", K_INTEGER, false, false },
	{ "meta pagination next_page", K_INTEGER, true, false },
};

static const char network_base[] =
	"{\"network\":{\"id\":1,\"name\":\"n\",\"ip_range\":\"10.0.0.0/16\",\"routes\":"
	"[{\"destination\":\"10.1.0.0/16\",\"gateway\":\"10.0.0.2\"}]}}";

static const struct field_case network_fields[] = {
	{ "network", K_OBJECT, false, false },
	{ "network id", K_INTEGER, false, false },
	{ "network name", K_STRING, false, false },
	{ "network ip_range", K_STRING, false, false },
	{ "network routes", K_ARRAY, false, false },
	{ "network routes 0", K_OBJECT, false, false },
	{ "network routes 0 destination", K_STRING, false, false },
	{ "network routes 0 gateway", K_STRING, false, false },
};

static const char networks_base[] = "{\"networks\":[{\"id\":1,\"name\":\"mynet\"}]}";

static const struct field_case networks_fields[] = {
	{ "networks", K_ARRAY, false, false },
	{ "networks 0", K_OBJECT, false, false },
	{ "networks 0 id", K_INTEGER, false, false },
	{ "networks 0 name", K_STRING, false, false },
};

static const char vswitch_base[] =
	"{\"id\":1,\"vlan\":4000,\"cloud_network\":[{\"id\":2,\"ip\":\"10.0.1.0\","
	"\"mask\":24,\"gateway\":\"10.0.1.1\"}]}";

static const struct field_case vswitch_fields[] = {
	{ "id", K_INTEGER, false, false },
	{ "vlan", K_INTEGER, false, false },
	{ "cloud_network", K_ARRAY, false, false },
	{ "cloud_network 0", K_OBJECT, false, false },
	{ "cloud_network 0 id", K_INTEGER, false, false },
	{ "cloud_network 0 ip", K_STRING, false, false },
	{ "cloud_network 0 mask", K_INTEGER, false, false },
	{ "cloud_network 0 gateway", K_STRING, false, false },
};

static const char action_base[] =
	"{\"action\":{\"id\":1,\"status\":\"error\",\"error\":{\"code\":\"c\",\"message\":\"m\"}}}";

static const struct field_case action_fields[] = {
	{ "action", K_OBJECT, false, false },
	{ "action id", K_INTEGER, false, false },
	{ "action status", K_STRING, false, false },
	{ "action error", K_OBJECT, false, false },
	{ "action error code", K_STRING, false, false },
	{ "action error message", K_STRING, false, false },
};

#define SET(p, b, f) { p, b, f, sizeof(f) / sizeof(f[0]) }
static const struct tamper_set tamper_sets[] = {
	SET(P_SERVERS, servers_base, servers_fields),
	SET(P_NETWORK, network_base, network_fields),
	SET(P_NETWORK_ID, networks_base, networks_fields),
	SET(P_VSWITCH, vswitch_base, vswitch_fields),
	SET(P_ACTION, action_base, action_fields),
};

/* "servers 0 id" -> "servers[0].id" */
static void display_path(char *out, size_t len, const char *path)
{
	char copy[256], *save = NULL;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		n += (size_t)snprintf(out + n, len - n, tok[0] >= '0' && tok[0] <= '9' ?
				      "[%s]" : n ? ".%s" : "%s", tok);
}

/* The document with the value at path replaced (value NULL: removed). */
static char *tampered(const char *base, const char *path, const char *value)
{
	char copy[256], *save = NULL, *tok, *next, *text;
	json_error_t je;
	json_t *root = json_loads(base, 0, &je), *at;

	assert_non_null(root);
	at = root;
	snprintf(copy, sizeof(copy), "%s", path);
	tok = strtok_r(copy, " ", &save);
	while ((next = strtok_r(NULL, " ", &save)) != NULL) {
		at = json_is_array(at) ? json_array_get(at, strtoul(tok, NULL, 10)) :
					 json_object_get(at, tok);
		assert_non_null(at);
		tok = next;
	}
	if (json_is_array(at)) {
		size_t idx = strtoul(tok, NULL, 10);

		assert_non_null(value);
		assert_int_equal(json_array_set_new(at, idx,
						    json_loads(value, JSON_DECODE_ANY, &je)), 0);
	} else if (value) {
		assert_int_equal(json_object_set_new(at, tok,
						     json_loads(value, JSON_DECODE_ANY, &je)), 0);
	} else {
		assert_int_equal(json_object_del(at, tok), 0);
	}
	text = json_dumps(root, JSON_ENCODE_ANY);
	json_decref(root);
	assert_non_null(text);
	return text;
}

static void check_tampered(const struct tamper_set *set, const char *path,
			   const char *value, const char *want)
{
	char *text = tampered(set->base, path, value);
	struct result r;

	run(set->parser, text, strlen(text), &r);
	if (r.ret != -EINVAL || strcmp(r.err, want) != 0)
		fail_msg("%s = %s: got %d '%s', want '%s'", path, value ? value : "(removed)",
			 r.ret, r.err, want);
	free(text);
}

static void test_tamper_types(void **state)
{
	(void)state;

	for (size_t s = 0; s < sizeof(tamper_sets) / sizeof(tamper_sets[0]); s++) {
		const struct tamper_set *set = &tamper_sets[s];
		struct result r;

		run(set->parser, set->base, strlen(set->base), &r);
		assert_int_equal(r.ret, 0);
		for (size_t f = 0; f < set->n_fields; f++) {
			const struct field_case *fc = &set->fields[f];
			char where[256], want[512];
			bool element = strrchr(fc->path, ' ') &&
				       strrchr(fc->path, ' ')[1] >= '0' &&
				       strrchr(fc->path, ' ')[1] <= '9';

			display_path(where, sizeof(where), fc->path);
			for (size_t v = 0; v < sizeof(wrong_values) / sizeof(wrong_values[0]); v++) {
				if (wrong_values[v].kind == (int)fc->kind ||
				    (wrong_values[v].null && fc->nullable))
					continue;
				snprintf(want, sizeof(want), "%s: not %s%s", where,
					 kind_text[fc->kind], fc->nullable ? " or null" : "");
				check_tampered(set, fc->path, wrong_values[v].json, want);
			}
			if (element || fc->optional)
				continue;
			snprintf(want, sizeof(want), "%s: missing", where);
			check_tampered(set, fc->path, NULL, want);
		}
	}
}

/* Right types, wrong values. */
static const struct value_case {
	size_t set;             /* index in tamper_sets */
	const char *path, *value, *err;
} bad_values[] = {
	/* 0 */ { 0, "servers 0 id", "0", "servers[0].id: out of range (1..9223372036854775807)" },
	/* 1 */ { 0, "servers 0 id", "-3", "servers[0].id: out of range (1..9223372036854775807)" },
	/* 2 */ { 0, "servers 0 public_net ipv4 ip", "\"1.2.3\"",
		  "servers[0].public_net.ipv4.ip: not an IPv4 address: '1.2.3'" },
	/* 3 */ { 0, "servers 0 public_net ipv4 ip", "\"2001:db8::1\"",
		  "servers[0].public_net.ipv4.ip: not an IPv4 address: '2001:db8::1'" },
	/* 4 */ { 0, "servers 0 public_net ipv4 ip", "\"1.2.3.4/32\"",
		  "servers[0].public_net.ipv4.ip: not an IPv4 address: '1.2.3.4/32'" },
	/* 5 */ { 0, "servers 0 private_net 0 alias_ips 0", "\" 10.0.0.3\"",
		  "servers[0].private_net[0].alias_ips[0]: not an IPv4 address: ' 10.0.0.3'" },
	/* 6 */ { 0, "servers 0 private_net 0 network", "0",
		  "servers[0].private_net[0].network: out of range (1..9223372036854775807)" },
	/* 7 */ { 0, "meta pagination page", "0",
		  "meta.pagination.page: out of range (1..4294967295)" },
	/* 8 */ { 0, "meta pagination next_page", "1",
		  "meta.pagination.next_page: 1 is not after page 1" },
	/* 9 */ { 0, "meta pagination next_page", "4294967296",
		  "meta.pagination.next_page: out of range (1..4294967295)" },
	/* 10 */ { 0, "servers 0 private_net 0 ip", "\"10.0.0.2\\n\"",
		   "servers[0].private_net[0].ip: not an IPv4 address: '10.0.0.2?'" },
	/* 11 */ { 1, "network ip_range", "\"10.0.0.0\"",
		   "network.ip_range: not an IPv4 prefix: '10.0.0.0'" },
	/* 12 */ { 1, "network ip_range", "\"10.0.0.0/33\"",
		   "network.ip_range: not an IPv4 prefix: '10.0.0.0/33'" },
	/* 13 */ { 1, "network ip_range", "\"fd00::/64\"",
		   "network.ip_range: not an IPv4 prefix: 'fd00::/64'" },
	/* 14 */ { 1, "network routes 0 destination", "\"10.1.0.0/+16\"",
		   "network.routes[0].destination: not an IPv4 prefix: '10.1.0.0/+16'" },
	/* 15 */ { 1, "network routes 0 gateway", "\"10.0.0.256\"",
		   "network.routes[0].gateway: not an IPv4 address: '10.0.0.256'" },
	/* 16 */ { 3, "vlan", "0", "vlan: out of range (1..4094)" },
	/* 17 */ { 3, "vlan", "4095", "vlan: out of range (1..4094)" },
	/* 18 */ { 3, "cloud_network 0 mask", "33", "cloud_network[0].mask: out of range (0..32)" },
	/* 19 */ { 3, "cloud_network 0 mask", "\"24\"", "cloud_network[0].mask: not an integer" },
	/* 20 */ { 4, "action status", "\"paused\"", "action.status: unknown status 'paused'" },
	/* 21 */ { 4, "action error", "null", "action.error: not an object" },
	/* 22 */ { 0, "servers 0 labels portcullis/wg-key", "null",
		   "servers[0].labels.portcullis/wg-key: not a string" },
};

static void test_tamper_values(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct value_case *c = &bad_values[i];

		check_tampered(&tamper_sets[c->set], c->path, c->value, c->err);
	}
}

/* --- malformed replies, limits, pagination --------------------------------------------- */

static const struct text_case {
	const char *json;
	const char *err;        /* exact, or a prefix ending in '*' */
} malformed[] = {
	/* 0 */ { "", "bad JSON at line 1 column 0: '[' or '{' expected near end of file" },
	/* 1 */ { "{", "bad JSON at line 1 column 1: string or '}' expected near end of file" },
	/* 2 */ { "null", "bad JSON at line 1 column 4: '[' or '{' expected near 'null'" },
	/* 3 */ { "[]", "top level: not an object" },
	/* 4 */ { "{\"servers\":[],\"servers\":[]}", "bad JSON at line 1 column 23: "
		  "duplicate object key near '\"servers\"'" },
	/* 5 */ { "{\"servers\":[]} x", "bad JSON at line 1 column 16: end of file expected near 'x'" },
	/* 6 */ { "{\"servers\":[1e999]}", "bad JSON at line 1 column 17: real number overflow*" },
	/* 7 */ { "{\"servers\":[99999999999999999999]}",
		  "bad JSON at line 1 column 32: too big integer*" },
	/* 8 */ { "{\"a\":\"\\u0000\"}", "bad JSON at line 1 column 13: \\u0000 is not allowed*" },
	/* 9 */ { "{\"a\":\"\xff\"}", "bad JSON at line 1 column 6: unable to decode byte 0xff*" },
	/* 10 */ { "{}", "servers: missing" },
};

static void test_malformed(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const char *want = malformed[i].err;
		size_t n = strlen(want);
		struct result r;

		run(P_SERVERS, malformed[i].json, strlen(malformed[i].json), &r);
		assert_int_equal(r.ret, -EINVAL);
		if (want[n - 1] == '*' ? strncmp(r.err, want, n - 1) != 0 :
					 strcmp(r.err, want) != 0)
			fail_msg("malformed %zu: '%s', want '%s'", i, r.err, want);
	}
}

static char *repeat_json(const char *head, const char *item, size_t n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *out = malloc(hl + n * (il + 1) + tl + 1), *p;

	assert_non_null(out);
	memcpy(out, head, hl);
	p = out + hl;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, item, il);
		p += il;
	}
	memcpy(p, tail, tl + 1);
	return out;
}

static void test_limits(void **state)
{
	struct hz_servers s = { 0 };
	char err[HZ_ERR_LEN], *text;
	struct result r;
	uint32_t next;
	(void)state;

	/* 64 alias IPs are fine, 65 are not. */
	for (size_t n = 64; n <= 65; n++) {
		text = repeat_json("{\"servers\":[{\"id\":1,\"name\":\"a\",\"labels\":{},"
				   "\"public_net\":{\"ipv4\":null},\"private_net\":[{\"network\":2,"
				   "\"ip\":\"10.0.0.2\",\"alias_ips\":[", "\"10.0.1.1\"", n,
				   "]}]}],\"meta\":{\"pagination\":{\"page\":1,\"next_page\":null}}}");
		run(P_SERVERS, text, strlen(text), &r);
		assert_int_equal(r.ret, n == 64 ? 0 : -EINVAL);
		if (n == 65)
			assert_string_equal(r.err, "servers[0].private_net[0].alias_ips: too many "
					    "(max 64)");
		free(text);
	}
	for (size_t n = HZ_MAX_ROUTES; n <= HZ_MAX_ROUTES + 1; n++) {
		text = repeat_json("{\"network\":{\"id\":1,\"name\":\"n\",\"ip_range\":\"10.0.0.0/8\","
				   "\"routes\":[", "{\"destination\":\"10.1.0.0/16\",\"gateway\":"
				   "\"10.0.0.2\"}", n, "]}}");
		run(P_NETWORK, text, strlen(text), &r);
		assert_int_equal(r.ret, n == HZ_MAX_ROUTES ? 0 : -EINVAL);
		if (r.ret)
			assert_string_equal(r.err, "network.routes: too many (max 4096)");
		free(text);
	}
	/* All pages together: the last server that fits, then one too many. */
	s.n_servers = HZ_MAX_SERVERS - 1;
	text = repeat_json("{\"servers\":[", "{\"id\":1,\"name\":\"a\",\"labels\":{},"
			   "\"public_net\":{\"ipv4\":null},\"private_net\":[]}", 2,
			   "],\"meta\":{\"pagination\":{\"page\":1,\"next_page\":null}}}");
	assert_int_equal(hz_parse_servers_page(text, strlen(text), &s, &next, err,
					       sizeof(err)), -EINVAL);
	assert_string_equal(err, "servers: too many in all (max 65536)");
	assert_int_equal(s.n_servers, HZ_MAX_SERVERS - 1);
	assert_null(s.servers);
	free(text);
	/* The size cap comes before parsing. */
	assert_int_equal(hz_parse_servers_page("{}", HZ_MAX_REPLY + 1, &s, &next, err,
					       sizeof(err)), -EINVAL);
	assert_string_equal(err, "reply too large (4194305 bytes, max 4194304)");
	/* A short err buffer still gets a terminated message. */
	assert_int_equal(hz_parse_servers_page("[]", 2, &s, &next, err, 6), -EINVAL);
	assert_string_equal(err, "top l");
	assert_int_equal(hz_parse_servers_page("[]", 2, &s, &next, NULL, 0), -EINVAL);
}

static void test_pagination(void **state)
{
	struct hz_servers s = { 0 };
	char err[HZ_ERR_LEN], *p1, *p2, *bad;
	uint32_t next = 99;
	size_t l1, l2;
	(void)state;

	p1 = read_fixture("project_servers_page1.json", &l1);
	p2 = read_fixture("project_servers_page2.json", &l2);
	assert_int_equal(hz_parse_servers_page(p1, l1, &s, &next, err, sizeof(err)), 0);
	assert_int_equal(next, 2);
	assert_int_equal(s.n_servers, 5);
	/* A bad page changes nothing: not next, not what was read before. */
	bad = tampered(p2 /* as base */, "servers 3 id", "\"109\"");
	assert_int_equal(hz_parse_servers_page(bad, strlen(bad), &s, &next, err,
					       sizeof(err)), -EINVAL);
	assert_string_equal(err, "servers[3].id: not an integer");
	assert_int_equal(next, 2);
	assert_int_equal(s.n_servers, 5);
	assert_string_equal(s.servers[4].name, "badkey");
	assert_int_equal(hz_parse_servers_page(p2, l2, &s, &next, err, sizeof(err)), 0);
	assert_int_equal(next, 0);
	assert_int_equal(s.n_servers, 12);
	assert_int_equal(s.servers[5].id, 106);
	assert_int_equal(s.servers[11].id, 101);
	hz_servers_free(&s);
	assert_null(s.servers);
	free(bad);
	free(p1);
	free(p2);
}

static void test_names_cleaned(void **state)
{
	static const char page[] =
		"{\"servers\":[{\"id\":5,\"name\":\"we\\nird\\u001b[31m\",\"labels\":{},"
		"\"public_net\":{\"ipv4\":null},\"private_net\":[]}],"
		"\"meta\":{\"pagination\":{\"page\":1,\"next_page\":null}}}";
	struct hz_servers s = { 0 };
	char err[HZ_ERR_LEN];
	uint32_t next;
	(void)state;

	assert_int_equal(hz_parse_servers_page(page, sizeof(page) - 1, &s, &next, err,
					       sizeof(err)), 0);
	assert_string_equal(s.servers[0].name, "we?ird?[31m");
	hz_servers_free(&s);
}

static void test_network_by_name(void **state)
{
	static const char two[] = "{\"networks\":[{\"id\":3,\"name\":\"mynet\"},"
				  "{\"id\":4,\"name\":\"other\"},{\"id\":9,\"name\":\"mynet\"}]}";
	static const char none[] = "{\"networks\":[{\"id\":4,\"name\":\"other\"}],\"meta\":{}}";
	struct result r;
	(void)state;

	run(P_NETWORK_ID, none, sizeof(none) - 1, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.id, 0);
	run(P_NETWORK_ID, two, sizeof(two) - 1, &r);
	assert_int_equal(r.ret, -EINVAL);
	assert_string_equal(r.err, "networks: networks 3 and 9 are both named 'mynet'");
}

static void test_action_error(void **state)
{
	static const char failed[] =
		"{\"action\":{\"id\":77,\"command\":\"add_route\",\"status\":\"error\","
		"\"error\":{\"code\":\"action_failed\",\"message\":\"route conflicts\"}}}";
	struct result r;
	(void)state;

	run(P_ACTION, failed, sizeof(failed) - 1, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.id, 77);
	assert_int_equal(r.status, HZ_ACTION_ERROR);
	assert_string_equal(r.code, "action_failed");
	assert_string_equal(r.message, "route conflicts");
}

static const struct error_case {
	const char *json;
	int ret;
	const char *code, *message;
} error_bodies[] = {
	/* 0 */ { "{\"error\":{\"code\":\"conflict\",\"message\":\"busy\"}}", 0, "conflict", "busy" },
	/* 1 */ { "{\"error\":{\"code\":\"locked\"}}", 0, "locked", "" },
	/* 2 */ { "{\"error\":{\"code\":\"abcdefghijklmnop\",\"message\":\"a\\nb\"}}", 0,
		  "abcdefghi", "a?b" },
	/* 3 */ { "{\"error\":{\"code\":7}}", -EINVAL, "", "" },
	/* 4 */ { "{\"error\":{\"code\":\"x\",\"message\":null}}", -EINVAL, "", "" },
	/* 5 */ { "{\"error\":\"x\"}", -EINVAL, "", "" },
	/* 6 */ { "{\"message\":\"x\"}", -EINVAL, "", "" },
	/* 7 */ { "<html>502 Bad Gateway</html>", -EINVAL, "", "" },
	/* 8 */ { "", -EINVAL, "", "" },
};

static void test_error_bodies(void **state)
{
	char code[10], message[64];
	(void)state;

	for (size_t i = 0; i < sizeof(error_bodies) / sizeof(error_bodies[0]); i++) {
		const struct error_case *c = &error_bodies[i];

		memset(code, 'x', sizeof(code));
		memset(message, 'x', sizeof(message));
		assert_int_equal(hz_parse_error(c->json, strlen(c->json), code, sizeof(code),
						message, sizeof(message)), c->ret);
		assert_string_equal(code, c->code);
		assert_string_equal(message, c->message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_vector),
		cmocka_unit_test(test_label_rejects),
		cmocka_unit_test(test_label_last_char),
		cmocka_unit_test(test_label_random),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixtures_cross),
		cmocka_unit_test(test_fixture_contents),
		cmocka_unit_test(test_real_server),
		cmocka_unit_test(test_tamper_types),
		cmocka_unit_test(test_tamper_values),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pagination),
		cmocka_unit_test(test_names_cleaned),
		cmocka_unit_test(test_network_by_name),
		cmocka_unit_test(test_action_error),
		cmocka_unit_test(test_error_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
