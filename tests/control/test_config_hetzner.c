/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for the [Hetzner] section of the config (control/config_hetzner.c):
 * numbered tables of good and bad files (every bad one must give its
 * exact "file:line: reason" and no config), then the defaults, every
 * value of a full section, relative paths, and config_clone keeping the
 * strings.  The loop that uses the section is tested by
 * tests/interop/test_hetzner_loop.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_edit.h"
#include "config_test_util.h"

/* Three lines: [Hetzner] is line 3, its first key line 4. */
#define HZSEC IFACE "[Hetzner]\n"
#define NET "Network = bastion-net\n"

/* --- good files ------------------------------------------------------------ */

static const char *const hz_good[] = {
	/* 0 */ HZSEC NET,
	/* 1 */ HZSEC "Network = 4711\nPollInterval = 1\n",
	/* 2 */ HZSEC NET "PollInterval = 86400\nManageRoute = yes\nDryRun = on\n",
	/* 3 */ HZSEC NET "APIEndpoint = http://127.0.0.1:8080/v1\n",
	/* 4 */ HZSEC NET "APIEndpoint = http://[::1]:8080/v1/\n",
	/* 5 */ HZSEC NET "APIEndpoint = HTTP://LocalHost/v1\n",
	/* 6 */ HZSEC NET "APIEndpoint = http://127.200.0.9\n",
	/* 7 */ HZSEC NET "APIEndpoint = https://api.example.net:8443/hetzner/v1\n",
	/* 8 */ HZSEC NET "LabelSelector = role\n",
	/* 9 */ HZSEC NET "LabelSelector = example.com/wg-peer=yes\n",
	/* 10 */ HZSEC NET "LabelSelector = portcullis/peer=\n",
	/* 11 */ HZSEC NET "VSwitch = 12345\nRobotCredentialsFile = /etc/robot\n"
		  "RobotEndpoint = http://127.0.0.1:9/\n",
	/* 12 */ "[hetzner]\nnetwork = n\ntokenfile = /etc/t\n" IFACE PEER2,
	/* 13 */ HZSEC NET "RobotCredentialsFile = robot\n",   /* no VSwitch: unused */
	/* 14 */ HZSEC "Network = my net (prod)\n",
	/* 15 */ HZSEC NET "ManageRoute = false\nDryRun = No\n",
};

static void test_hz_good_table(void **state)
{
	(void)state;
	run_good_cases(hz_good, sizeof(hz_good) / sizeof(hz_good[0]), "hetzner good");
}

/* --- bad files --------------------------------------------------------------- */

static const struct bad_case hz_bad[] = {
	/* 0 */ { HZSEC, "gw.conf:3: [Hetzner] has no Network (an id or a name)" },
	/* 1 */ { HZSEC "PollInterval = 5\n" PEER2,
		  "gw.conf:3: [Hetzner] has no Network (an id or a name)" },
	/* 2 */ { HZSEC NET "PollInterval = 0\n",
		  "gw.conf:5: bad PollInterval '0' (must be 1..86400)" },
	/* 3 */ { HZSEC NET "PollInterval = 86401\n",
		  "gw.conf:5: bad PollInterval '86401' (must be 1..86400)" },
	/* 4 */ { HZSEC NET "PollInterval = 30s\n",
		  "gw.conf:5: bad PollInterval '30s' (must be 1..86400)" },
	/* 5 */ { HZSEC NET "APIEndpoint = http://api.hetzner.cloud/v1\n",
		  "gw.conf:5: bad APIEndpoint 'http://api.hetzner.cloud/v1' (plain http only to a loopback address: 127.0.0.0/8, [::1] or localhost)" },
	/* 6 */ { HZSEC NET "APIEndpoint = http://10.0.0.1:80/v1\n",
		  "gw.conf:5: bad APIEndpoint 'http://10.0.0.1:80/v1' (plain http only to a loopback address" },
	/* 7 */ { HZSEC NET "APIEndpoint = ftp://127.0.0.1/v1\n",
		  "gw.conf:5: bad APIEndpoint 'ftp://127.0.0.1/v1' (must start with https://, or http:// for a loopback address)" },
	/* 8 */ { HZSEC NET "APIEndpoint = api.hetzner.cloud/v1\n",
		  "gw.conf:5: bad APIEndpoint 'api.hetzner.cloud/v1' (must start with https://" },
	/* 9 */ { HZSEC NET "APIEndpoint = https://user:pw@api.hetzner.cloud/v1\n",
		  "gw.conf:5: bad APIEndpoint 'https://user:pw@api.hetzner.cloud/v1' (no user or password in the URL)" },
	/* 10 */ { HZSEC NET "APIEndpoint = https://api.hetzner.cloud/v1?x=1\n",
		   "gw.conf:5: bad APIEndpoint 'https://api.hetzner.cloud/v1?x=1' (no query or fragment" },
	/* 11 */ { HZSEC NET "APIEndpoint = https:///v1\n",
		   "gw.conf:5: bad APIEndpoint 'https:///v1' (no host)" },
	/* 12 */ { HZSEC NET "APIEndpoint = http://127.0.0.1:0/v1\n",
		   "gw.conf:5: bad APIEndpoint 'http://127.0.0.1:0/v1' (bad host or port)" },
	/* 13 */ { HZSEC NET "APIEndpoint = http://[::1/v1\n",
		   "gw.conf:5: bad APIEndpoint 'http://[::1/v1' (bad host or port)" },
	/* 14 */ { HZSEC NET "APIEndpoint = http://[::2]:80\n",
		   "gw.conf:5: bad APIEndpoint 'http://[::2]:80' (plain http only to a loopback" },
	/* 15 */ { HZSEC NET "APIEndpoint = http://localhost.example.com\n",
		   "gw.conf:5: bad APIEndpoint 'http://localhost.example.com' (plain http only" },
	/* 16 */ { HZSEC NET "RobotEndpoint = http://robot-ws.your-server.de\n",
		   "gw.conf:5: bad RobotEndpoint 'http://robot-ws.your-server.de' (plain http only" },
	/* 17 */ { HZSEC NET "VSwitch = 12345\n",
		   "gw.conf:5: VSwitch needs RobotCredentialsFile (the Robot webservice login)" },
	/* 18 */ { HZSEC NET "VSwitch = 0\nRobotCredentialsFile = /r\n",
		   "gw.conf:5: bad VSwitch '0' (must be 1..9007199254740991)" },
	/* 19 */ { HZSEC NET "VSwitch = -1\n", "gw.conf:5: bad VSwitch '-1'" },
	/* 20 */ { HZSEC NET "ManageRoute = maybe\n",
		   "gw.conf:5: bad ManageRoute 'maybe' (must be yes or no)" },
	/* 21 */ { HZSEC NET "DryRun = 1\n", "gw.conf:5: bad DryRun '1' (must be yes or no)" },
	/* 22 */ { HZSEC NET "LabelSelector = bad key\n",
		   "gw.conf:5: bad LabelSelector 'bad key' (want a label key, or key=value, as Hetzner labels allow)" },
	/* 23 */ { HZSEC NET "LabelSelector = !portcullis/peer\n",
		   "gw.conf:5: bad LabelSelector '!portcullis/peer' (want a label key" },
	/* 24 */ { HZSEC NET "LabelSelector = a=b,c\n", "gw.conf:5: bad LabelSelector 'a=b,c'" },
	/* 25 */ { HZSEC NET "LabelSelector = /peer\n", "gw.conf:5: bad LabelSelector '/peer'" },
	/* 26 */ { HZSEC NET "LabelSelector = -peer\n", "gw.conf:5: bad LabelSelector '-peer'" },
	/* 27 */ { HZSEC NET "Network = other\n", "gw.conf:5: duplicate Network (first at line 4)" },
	/* 28 */ { HZSEC NET "[Hetzner]\n" NET,
		   "gw.conf:5: duplicate section [Hetzner] (first at line 3)" },
	/* 29 */ { HZSEC NET "Token = abc\n", "gw.conf:5: unknown key 'Token' in [Hetzner]" },
	/* 30 */ { HZSEC "Network =\n", "gw.conf:4: missing value for Network" },
	/* 31 */ { HZSEC NET "TokenFile =\n", "gw.conf:5: missing value for TokenFile" },
	/* 32 */ { HZSEC NET "ListenPort = 1\n", "gw.conf:5: unknown key 'ListenPort' in [Hetzner]" },
	/* 33 */ { HZSEC NET "APIEndpoint = https://api.hetzner.cloud/v 1\n",
		   "gw.conf:5: bad APIEndpoint 'https://api.hetzner.cloud/v 1' (a URL has no blanks" },
	/* 34 */ { HZSEC NET "VSwitch = 9007199254740992\nRobotCredentialsFile = /r\n",
		   "gw.conf:5: bad VSwitch '9007199254740992' (must be 1..9007199254740991)" },
};

static void test_hz_bad_table(void **state)
{
	(void)state;
	run_bad_cases(hz_bad, sizeof(hz_bad) / sizeof(hz_bad[0]), "hetzner bad");
}

/* --- values ------------------------------------------------------------------ */

static struct config *must_parse(const char *text)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";

	if (parse(text, &cfg, err, NULL) != 0)
		fail_msg("refused: %s", err);
	return cfg;
}

static void test_hz_absent(void **state)
{
	struct config *cfg = must_parse(IFACE PEER2);

	(void)state;
	assert_false(cfg->hetzner.enabled);
	assert_null(cfg->hetzner.network);
	assert_int_equal(cfg->hetzner.line, 0);
	config_free(cfg);
}

static void test_hz_defaults(void **state)
{
	struct config *cfg = must_parse(HZSEC NET);
	const struct config_hetzner *h = &cfg->hetzner;

	(void)state;
	assert_true(h->enabled);
	assert_int_equal(h->line, 3);
	assert_string_equal(h->network, "bastion-net");
	assert_null(h->token_file);                 /* HCLOUD_TOKEN */
	assert_string_equal(h->label_selector, "portcullis/peer");
	assert_int_equal(h->poll_interval, 30);
	assert_false(h->manage_route);
	assert_false(h->dry_run);
	assert_string_equal(h->api_endpoint, "https://api.hetzner.cloud/v1");
	assert_null(h->robot_credentials_file);
	assert_int_equal(h->vswitch, 0);
	assert_string_equal(h->robot_endpoint, "https://robot-ws.your-server.de");
	config_free(cfg);
}

static void test_hz_full(void **state)
{
	struct config *cfg = must_parse(
		HZSEC "TokenFile = /etc/portcullis/hcloud-token\n"
		"Network = 4711\nLabelSelector = role=bastion-peer\n"
		"PollInterval = 5\nManageRoute = true\nDryRun = yes\n"
		"APIEndpoint = http://127.0.0.1:8080/v1//\n"
		"RobotCredentialsFile = /etc/portcullis/robot-credentials\n"
		"VSwitch = 12345\nRobotEndpoint = https://robot.example.net/\n");
	const struct config_hetzner *h = &cfg->hetzner;

	(void)state;
	assert_string_equal(h->token_file, "/etc/portcullis/hcloud-token");
	assert_string_equal(h->network, "4711");
	assert_string_equal(h->label_selector, "role=bastion-peer");
	assert_int_equal(h->poll_interval, 5);
	assert_true(h->manage_route);
	assert_true(h->dry_run);
	/* Trailing slashes go: paths are appended with their own. */
	assert_string_equal(h->api_endpoint, "http://127.0.0.1:8080/v1");
	assert_string_equal(h->robot_credentials_file,
			    "/etc/portcullis/robot-credentials");
	assert_int_equal(h->vswitch, 12345);
	assert_string_equal(h->robot_endpoint, "https://robot.example.net");
	config_free(cfg);
}

/* Relative paths are taken beside the config file, like PrivateKeyFile. */
static void test_hz_relative_paths(void **state)
{
	static const char text[] = HZSEC NET "TokenFile = secrets/token\n"
				   "RobotCredentialsFile = robot\n";
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_parse("/etc/portcullis/gw.conf", text,
				      strlen(text), CONFIG_NO_PERMISSION_CHECK |
				      CONFIG_NO_DNS, NULL, NULL, &cfg, err,
				      sizeof(err)), 0);
	assert_string_equal(cfg->hetzner.token_file,
			    "/etc/portcullis/secrets/token");
	assert_string_equal(cfg->hetzner.robot_credentials_file,
			    "/etc/portcullis/robot");
	config_free(cfg);
}

/* A clone owns its own strings: freeing the original leaves it whole. */
static void test_hz_clone(void **state)
{
	struct config *cfg = must_parse(HZSEC NET "TokenFile = /t\n");
	struct config *copy = config_clone(cfg);

	(void)state;
	assert_non_null(copy);
	assert_ptr_not_equal(copy->hetzner.network, cfg->hetzner.network);
	config_free(cfg);
	assert_true(copy->hetzner.enabled);
	assert_string_equal(copy->hetzner.network, "bastion-net");
	assert_string_equal(copy->hetzner.token_file, "/t");
	assert_string_equal(copy->hetzner.api_endpoint,
			    "https://api.hetzner.cloud/v1");
	config_free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hz_good_table),
		cmocka_unit_test(test_hz_bad_table),
		cmocka_unit_test(test_hz_absent),
		cmocka_unit_test(test_hz_defaults),
		cmocka_unit_test(test_hz_full),
		cmocka_unit_test(test_hz_relative_paths),
		cmocka_unit_test(test_hz_clone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
