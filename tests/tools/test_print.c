/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for the printers of tools/portcullisctl/ (ports.c, neigh.c,
 * allowed_ips.c, nat.c, forwards.c, counters.c, reload.c, metrics.c,
 * hetzner.c): each
 * gets replies shaped exactly as control/ctl_proto.h documents them
 * (fixtures/NAME.json) and must print exactly fixtures/NAME.txt; then
 * replies that lack what the protocol promises (-EPROTO, nothing printed)
 * and odd members (printed as "?", never a crash).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl_test_util.h"
#include "portcullisctl.h"

static const struct ctl_opts plain, human = { .human = true },
	all = { .all = true }, lcores = { .lcores = true },
	lcores_human = { .lcores = true, .human = true },
	/* hetzner status: 18 s after the fixtures' last success. */
	hz = { .now = 1795400018 };

static const struct print_case {
	const char *reply;                  /* fixture, or inline JSON "{..." */
	ctl_print_fn print;
	const struct ctl_opts *opts;
	const char *expect;                 /* fixture (*.txt), or inline text */
} cases[] = {
	/*  1 */ { "ports.json", ports_print, &plain, "ports.txt" },
	/*  2 */ { "ports.json", ports_print, &human, "ports_human.txt" },
	/*  3 */ { "ports_empty.json", ports_print, &plain,
		   "NAME  PORT  DEVICE  DRIVER  LINK  SPEED  DUPLEX  MAC  MTU  VLAN  "
		   "ADDRESSES\n\nNAME  RX_PACKETS  RX_BYTES  RX_DROPPED  RX_ERRORS  "
		   "TX_PACKETS  TX_BYTES  TX_ERRORS\n\nPORT  DESTINATION  VIA\n" },
	/*  4 */ { "neighbours.json", neigh_print, &plain, "neighbours.txt" },
	/*  5 */ { "{\"neighbours\":[]}", neigh_print, &plain,
		   "PORT  IP  MAC  STATE  HELD\n" },
	/*  6 */ { "allowed_ips.json", allowed_ips_print, &plain,
		   "allowed_ips.txt" },
	/*  7 */ { "nat_sessions.json", nat_sessions_print, &plain,
		   "nat_sessions.txt" },
	/*  8 */ { "nat_sessions_truncated.json", nat_sessions_print, &plain,
		   "nat_sessions_truncated.txt" },
	/*  9 */ { "nat_count.json", nat_count_print, &plain, "nat_count.txt" },
	/* 10 */ { "nat_count_disabled.json", nat_count_print, &plain,
		   "ENABLED  SESSIONS  MAX_SESSIONS\nno              0             0\n" },
	/* 11 */ { "nat_flush.json", nat_flush_print, &plain, "nat_flush.txt" },
	/* 12 */ { "nat_flush_one.json", nat_flush_print, &plain,
		   "flushed 1 session\n" },
	/* 13 */ { "forwards.json", forwards_print, &plain, "forwards.txt" },
	/* 14 */ { "forward_ok.json", forward_ok_print, &plain, "" },
	/* 15 */ { "counters.json", counters_print, &plain, "counters.txt" },
	/* 16 */ { "counters.json", counters_print, &all, "counters_all.txt" },
	/* 17 */ { "counters.json", counters_print, &lcores,
		   "counters_lcores.txt" },
	/* 18 */ { "counters.json", counters_print, &lcores_human,
		   "counters_lcores_human.txt" },
	/* 19 */ { "reload.json", reload_print, &plain, "reload.txt" },
	/* 20 */ { "metrics.json", metrics_print, &plain, "metrics.txt" },
	/* 21: a metrics text without its final newline gets one. */
	{ "{\"metrics\":\"up 1\"}", metrics_print, &plain, "up 1\n" },
	/* 22: a member of another type prints as it is; a missing one, or
	 * a list, as "?". */
	{ "{\"neighbours\":[{\"port\":\"public\",\"ip\":7,\"state\":[1],"
	  "\"held\":\"3\"}]}", neigh_print, &plain,
	  "PORT    IP  MAC  STATE  HELD\npublic  7   ?    ?         3\n" },
	/* 23: a counter the daemon added later shows up; a nested group
	 * other than ports and drops is "GROUP NAME". */
	{ "{\"total\":{\"new_counter\":5,\"nat\":{\"translated\":9},"
	  "\"drops\":{\"a\":0,\"b\":2}}}", counters_print, &plain,
	  "COUNTER         TOTAL\nnew_counter         5\nnat translated      9\n"
	  "drop b              2\n" },
	/* 24: an lcore without a counter shows "?" there. */
	{ "{\"total\":{\"x\":3},\"lcores\":[{\"lcore\":1,\"role\":\"worker\","
	  "\"counters\":{}}]}", counters_print, &lcores,
	  "COUNTER  TOTAL  WORKER1\nx            3        ?\n" },
	/* 25: a link that is up with an unknown speed and half duplex. */
	{ "{\"ports\":[{\"name\":\"p\",\"link\":{\"up\":true,\"speed_mbps\":0,"
	  "\"full_duplex\":false},\"vlan\":7,\"addresses\":[],\"routes\":[]}]}",
	  ports_print, &plain,
	  "NAME  PORT  DEVICE  DRIVER  LINK  SPEED  DUPLEX  MAC  MTU  VLAN  "
	  "ADDRESSES\np        ?  ?       ?       up        -  half    ?      ?     7  "
	  "-\n\nNAME  RX_PACKETS  RX_BYTES  RX_DROPPED  RX_ERRORS  TX_PACKETS  "
	  "TX_BYTES  TX_ERRORS\np              ?         ?           ?          ?"
	  "           ?         ?          ?\n\nPORT  DESTINATION  VIA\n" },
	/* 26 */ { "hetzner_status.json", hetzner_status_print, &hz,
		   "hetzner_status.txt" },
	/* 27: stopped (401), dry run, never a success, no rate limit seen,
	 * an hour since the last attempt, no routes. */
		 { "hetzner_status_failing.json", hetzner_status_print, &hz,
		   "hetzner_status_failing.txt" },
	/* 28 */ { "hetzner_status_disabled.json", hetzner_status_print, &hz,
		   "hetzner sync: off (no [Hetzner] section)\n" },
	/* 29: the next poll is due (a round under way), the budget has
	 * refilled, spans in hours and days, odd members as "?". */
		 { "{\"hetzner\":{\"enabled\":true,\"running\":true,"
		   "\"dry_run\":false,\"last_success\":1795227218,"
		   "\"last_attempt\":1795392818,\"next_poll\":1795400018,"
		   "\"last_error\":\"GET /servers: 500\",\"rounds_ok\":\"x\","
		   "\"ratelimit_remaining\":0,\"ratelimit_reset\":1795400008,"
		   "\"routes\":[{\"dst\":\"10.0.0.0/16\"}]}}",
		   hetzner_status_print, &hz,
		   "hetzner sync:         on\n"
		   "running:              yes\n"
		   "dry run:              no\n"
		   "last success:         2026-11-21 02:13:38 UTC (2 d ago)\n"
		   "last attempt:         2026-11-23 00:13:38 UTC (2 h ago)\n"
		   "next poll:            now\n"
		   "last error:           GET /servers: 500\n"
		   "rounds:               ? ok, ? failed\n"
		   "consecutive failures: ?\n"
		   "requests:             ?, ? retries\n"
		   "rate limit:           0 left, reset 10 s ago\n"
		   "peers from the API:   ?\n"
		   "warnings:             ?\n"
		   "route (ManageRoute):  ?\n"
		   "\nDST          VIA\n10.0.0.0/16  ?\n" },
	/* 30 */ { "hetzner_plan.json", hetzner_plan_print, &plain,
		   "hetzner_plan.txt" },
	/* 31 */ { "hetzner_plan_empty.json", hetzner_plan_print, &plain,
		   "nothing to change\n" },
	/* 32: nothing to change, but servers were left out. */
		 { "{\"plan\":{\"peers\":[],\"routes\":[],\"warnings\":"
		   "[\"network 5: ip_range 10.0.0.0/32 has no gateway address\"]}}",
		   hetzner_plan_print, &plain,
		   "nothing to change\n\nwarning: network 5: ip_range 10.0.0.0/32 "
		   "has no gateway address\n" },
	/* 33: routes only; odd members as "?", an endpoint null as "-". */
		 { "{\"plan\":{\"peers\":[],\"routes\":[{\"action\":\"add\","
		   "\"dst\":\"0.0.0.0/0\",\"via\":7}],\"warnings\":[3]}}",
		   hetzner_plan_print, &plain,
		   "ACTION  DST        VIA\nadd     0.0.0.0/0  7\n\nwarning: ?\n" },
	/* 34 */ { "{\"plan\":{\"peers\":[{\"action\":\"add\",\"peer\":\"k\","
		   "\"endpoint\":null,\"allowed_ips\":[\"10.0.0.9/32\",5]}],"
		   "\"routes\":[],\"warnings\":[]}}", hetzner_plan_print, &plain,
		   "ACTION  PEER  SERVER  ENDPOINT  ALLOWED-IPS\n"
		   "add     k          ?  -         10.0.0.9/32,?\n" },
	/* 35 */ { "hetzner_sync.json", hetzner_sync_print, &plain, "" },
};

static json_t *load_reply(const char *name)
{
	json_error_t err;
	json_t *j;

	if (name[0] == '{') {
		j = json_loads(name, 0, &err);
	} else {
		char *text = fixture_read(name);

		j = json_loads(text, 0, &err);
		free(text);
	}
	if (j == NULL)
		fail_msg("%s: %s", name, err.text);
	return j;
}

static bool is_fixture(const char *expect)
{
	size_t len = strlen(expect);

	return len > 4 && strcmp(expect + len - 4, ".txt") == 0 &&
	       strchr(expect, '\n') == NULL;
}

static void test_tables(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct print_case *c = &cases[i];
		json_t *reply = load_reply(c->reply);
		char *want = is_fixture(c->expect) ? fixture_read(c->expect)
						   : strdup(c->expect);
		struct capture cap;

		print_message("case %u: %.60s\n", i + 1, c->reply);
		capture_begin(&cap);
		assert_int_equal(c->print(reply, cap.f, c->opts), 0);
		assert_string_equal(capture_end(&cap), want);
		capture_free(&cap);
		free(want);
		json_decref(reply);
	}
}

/* Replies without what the protocol promises: -EPROTO, and nothing
 * printed (the caller prints the reply it did not understand). */
static void test_bad_replies(void **state)
{
	static const struct {
		const char *reply;
		ctl_print_fn print;
		const struct ctl_opts *opts;
	} bad[] = {
		/*  1 */ { "{}", ports_print, &plain },
		/*  2 */ { "{\"ports\":{}}", ports_print, &plain },
		/*  3 */ { "{}", neigh_print, &plain },
		/*  4 */ { "{\"neighbors\":[]}", neigh_print, &plain },
		/*  5 */ { "{\"allowed_ips\":null}", allowed_ips_print, &plain },
		/*  6 */ { "{}", nat_sessions_print, &plain },
		/*  7 */ { "{\"sessions\":\"12\"}", nat_count_print, &plain },
		/*  8 */ { "{}", nat_flush_print, &plain },
		/*  9 */ { "{}", forwards_print, &plain },
		/* 10 */ { "{\"ok\":false}", forward_ok_print, &plain },
		/* 11 */ { "{}", forward_ok_print, &plain },
		/* 12 */ { "{}", counters_print, &plain },
		/* 13 */ { "{\"total\":{}}", counters_print, &lcores },
		/* 14 */ { "{\"total\":[],\"lcores\":[]}", counters_print, &lcores },
		/* 15 */ { "{\"reloaded\":true,\"peers_added\":1,\"peers_removed\":0,"
			   "\"peers_unchanged\":40}", reload_print, &plain },
		/* 16 */ { "{\"metrics\":1}", metrics_print, &plain },
		/* 17 */ { "{}", hetzner_status_print, &hz },
		/* 18 */ { "{\"hetzner\":{}}", hetzner_status_print, &hz },
		/* 19 */ { "{\"hetzner\":{\"enabled\":1}}", hetzner_status_print,
			   &hz },
		/* 20: enabled promises its routes */
			 { "{\"hetzner\":{\"enabled\":true,\"running\":true}}",
			   hetzner_status_print, &hz },
		/* 21 */ { "{\"hetzner\":{\"enabled\":true,\"routes\":{}}}",
			   hetzner_status_print, &hz },
		/* 22 */ { "{}", hetzner_plan_print, &plain },
		/* 23 */ { "{\"plan\":{\"peers\":[],\"routes\":[]}}",
			   hetzner_plan_print, &plain },
		/* 24 */ { "{\"plan\":{\"peers\":{},\"routes\":[],"
			   "\"warnings\":[]}}", hetzner_plan_print, &plain },
		/* 25 */ { "{\"plan\":[]}", hetzner_plan_print, &plain },
		/* 26 */ { "{\"ok\":1}", hetzner_sync_print, &plain },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *reply = load_reply(bad[i].reply);
		struct capture cap;

		print_message("case %u: %s\n", i + 1, bad[i].reply);
		capture_begin(&cap);
		assert_int_equal(bad[i].print(reply, cap.f, bad[i].opts), -EPROTO);
		assert_string_equal(capture_end(&cap), "");
		capture_free(&cap);
		json_decref(reply);
	}
}

/* Every fixture is what ctl_proto.h documents: the same members, in the
 * same order, as the comment's example of that reply. */
static void test_fixtures_match_protocol(void **state)
{
	static const struct {
		const char *fixture, *keys;  /* top-level, then of an element */
	} shapes[] = {
		{ "ports.json", "ports|name device driver xdp_steering dpdk_port mac mtu vlan "
		  "link addresses routes rx_packets rx_bytes tx_packets tx_bytes "
		  "rx_dropped rx_errors tx_errors" },
		{ "neighbours.json", "neighbours|port ip mac state held" },
		{ "allowed_ips.json", "allowed_ips|prefix peer endpoint" },
		{ "nat_sessions.json", "sessions matched truncated|proto inside "
		  "external remote state expires_in_s forward" },
		{ "nat_count.json", "enabled sessions max_sessions|" },
		{ "nat_flush.json", "flushed|" },
		{ "forwards.json", "forwards|proto external to" },
		{ "forward_ok.json", "ok|" },
		{ "counters.json", "total lcores|lcore role counters" },
		{ "reload.json", "reloaded peers_added peers_removed peers_updated "
		  "peers_unchanged|" },
		{ "metrics.json", "metrics|" },
		{ "error.json", "error|" },
		{ "hetzner_sync.json", "ok|" },
		{ "hetzner_plan_error.json", "error|" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		json_t *reply = load_reply(shapes[i].fixture), *first, *v;
		char got[512] = "";
		const char *key;
		size_t off = 0;

		json_object_foreach(reply, key, v)
			off += (size_t)snprintf(got + off, sizeof(got) - off,
						"%s%s", off ? " " : "", key);
		off += (size_t)snprintf(got + off, sizeof(got) - off, "|");
		/* The elements of the first list: ports, sessions, lcores. */
		first = NULL;
		json_object_foreach(reply, key, v)
			if (first == NULL && json_is_array(v))
				first = json_array_get(v, 0);
		if (json_is_object(first)) {
			size_t start = off;

			json_object_foreach(first, key, v)
				off += (size_t)snprintf(got + off, sizeof(got) - off,
							"%s%s", off > start ? " " : "",
							key);
		}
		print_message("%s\n", shapes[i].fixture);
		assert_string_equal(got, shapes[i].keys);
		json_decref(reply);
	}
}

/* The member names of obj, space-separated, in order. */
static void member_names(const json_t *obj, char *buf, size_t len)
{
	const char *key;
	size_t off = 0;
	json_t *v;

	buf[0] = '\0';
	json_object_foreach((json_t *)obj, key, v)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? " " : "", key);
}

/* The Hetzner replies nest one level deeper than the others: their inner
 * objects against ctl_proto.h's examples. */
static void test_hetzner_fixture_shapes(void **state)
{
	static const struct {
		const char *fixture, *path, *keys;
	} shapes[] = {
		{ "hetzner_status.json", "hetzner", "enabled running dry_run "
		  "last_success last_attempt next_poll last_error rounds_ok "
		  "rounds_failed consecutive_failures requests retries "
		  "ratelimit_limit ratelimit_remaining ratelimit_reset peers "
		  "warnings route_state routes" },
		{ "hetzner_status.json", "hetzner routes", "dst via" },
		{ "hetzner_status_failing.json", "hetzner", "enabled running "
		  "dry_run last_success last_attempt next_poll last_error "
		  "rounds_ok rounds_failed consecutive_failures requests "
		  "retries ratelimit_limit ratelimit_remaining ratelimit_reset "
		  "peers warnings route_state routes" },
		{ "hetzner_status_disabled.json", "hetzner", "enabled" },
		{ "hetzner_plan.json", "plan", "peers routes warnings" },
		{ "hetzner_plan.json", "plan peers", "action peer label "
		  "server_id endpoint allowed_ips" },
		{ "hetzner_plan.json", "plan routes", "action dst via" },
		{ "hetzner_plan_empty.json", "plan", "peers routes warnings" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		json_t *reply = load_reply(shapes[i].fixture);
		const json_t *v = reply;
		char path[64], got[512], *save = NULL;

		print_message("%s: %s\n", shapes[i].fixture, shapes[i].path);
		snprintf(path, sizeof(path), "%s", shapes[i].path);
		/* A list stands for each of its elements: check them all. */
		for (char *k = strtok_r(path, " ", &save); k;
		     k = strtok_r(NULL, " ", &save))
			v = json_object_get(v, k);
		if (json_is_array(v)) {
			size_t j;
			const json_t *e;

			assert_true(json_array_size(v) > 0);
			json_array_foreach(v, j, e) {
				member_names(e, got, sizeof(got));
				assert_string_equal(got, shapes[i].keys);
			}
		} else {
			member_names(v, got, sizeof(got));
			assert_string_equal(got, shapes[i].keys);
		}
		json_decref(reply);
	}
}

/* COUNTERS, in "total" and in each lcore. */
static void test_counters_fixture_shape(void **state)
{
	json_t *reply = load_reply("counters.json"), *lc;
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(reply, "lcores")), 3);
	json_array_foreach(json_object_get(reply, "lcores"), i, lc) {
		const json_t *c[2] = { json_object_get(reply, "total"),
				       json_object_get(lc, "counters") };

		for (unsigned k = 0; k < 2; k++) {
			char got[256] = "";
			size_t off = 0;
			const char *key;
			json_t *v;

			json_object_foreach((json_t *)c[k], key, v)
				off += (size_t)snprintf(got + off, sizeof(got) - off,
							"%s%s", off ? " " : "", key);
			assert_string_equal(got, "ports decap_packets encap_packets "
					    "keepalives_rx handshakes_rx "
					    "handshakes_tx icmp_tx drops");
			/* "drops" lists every reason, zeros included: the 36
			 * of DP_DROP_REASONS when the fixture was written. */
			assert_int_equal(json_object_size(json_object_get(c[k],
									  "drops")),
					 36);
		}
	}
	json_decref(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_bad_replies),
		cmocka_unit_test(test_fixtures_match_protocol),
		cmocka_unit_test(test_counters_fixture_shape),
		cmocka_unit_test(test_hetzner_fixture_shapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
