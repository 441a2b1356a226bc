/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for the Hetzner loop's own logic (control/hetzner.c), without an
 * API: the backoff table, hetzner_start refusing bad secrets (token file
 * permissions, blanks, no token at all, Robot credentials without a ':'),
 * and a loop whose endpoint refuses connections: it retries, posts
 * nothing, and stops promptly in the middle of a backoff; one whose
 * endpoint never answers stops promptly in the middle of a request.  The rounds
 * against a fake API are in tests/interop/test_hetzner_loop.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hetzner.h"

enum { NS = 1000000000 };

/* --- backoff -------------------------------------------------------------- */

static const struct {
	unsigned n;
	double rnd;
	uint64_t want;                      /* ns */
} backoff_cases[] = {
	/* 0 */ { 1, 0.0, 0 },
	/* 1 */ { 1, 0.5, NS / 2 },
	/* 2 */ { 2, 0.5, NS },
	/* 3 */ { 3, 0.25, NS },
	/* 4 */ { 6, 0.5, 16ULL * NS },
	/* 5 */ { 7, 0.5, 30ULL * NS },     /* 64 s capped at 60 */
	/* 6 */ { 100, 0.5, 30ULL * NS },   /* no shift overflow */
	/* 7 */ { 0, 0.5, NS / 2 },         /* 0 counts as the first */
	/* 8 */ { 3, -1.0, 0 },             /* rnd clamped into [0, 1) */
};

static void test_backoff_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(backoff_cases) / sizeof(backoff_cases[0]); i++) {
		uint64_t got = hz_backoff_ns(backoff_cases[i].n, backoff_cases[i].rnd);

		if (got != backoff_cases[i].want)
			fail_msg("case %zu: got %llu ns, want %llu", i,
				 (unsigned long long)got,
				 (unsigned long long)backoff_cases[i].want);
	}
}

/* Whatever rnd says, the wait stays below the cap of its step. */
static void test_backoff_bounds(void **state)
{
	(void)state;
	for (unsigned n = 1; n < 40; n++) {
		uint64_t cap = n <= 6 ? (1ULL << (n - 1)) * NS : 60ULL * NS;

		assert_true(hz_backoff_ns(n, 0.999999999) < cap);
		assert_true(hz_backoff_ns(n, 1.0) < cap);
		assert_true(hz_backoff_ns(n, 7.0) < cap);
		assert_int_equal(hz_backoff_ns(n, NAN), 0);
	}
}

/* --- start refusals ----------------------------------------------------- */

static char dir[] = "/tmp/portcullis-test-hetzner.XXXXXX";

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[2][256];
	static int next;
	char *p = path[next++ % 2];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static struct config_hetzner base_conf(void)
{
	return (struct config_hetzner){
		.enabled = true, .network = "4711",
		.label_selector = (char *)HZ_DEFAULT_SELECTOR, .poll_interval = 30,
		/* Port 1 on loopback: refused at once, nothing leaves the box. */
		.api_endpoint = (char *)"http://127.0.0.1:1/v1",
		.robot_endpoint = (char *)"http://127.0.0.1:1",
	};
}

static void expect_refused(const struct config_hetzner *conf, const char *want)
{
	struct ip_addr none = { .family = IP_NONE };
	struct hetzner *h = (struct hetzner *)&h;
	char err[256] = "";

	assert_int_not_equal(hetzner_start(&h, conf, &none, err, sizeof(err)), 0);
	assert_null(h);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\" in it", err, want);
}

static const struct {
	const char *token, *robot;          /* file contents, NULL: none */
	mode_t token_mode;
	const char *want;
} refusal_cases[] = {
	/* 0 */ { "secret-token\n", NULL, 0644,
		  "permissions 0644 are too open: the file holds a secret; chmod 600 it" },
	/* 1 */ { "secret-token\n", NULL, 0640, "permissions 0640 are too open" },
	/* 2 */ { "two words\n", NULL, 0600, "must hold one line without blanks" },
	/* 3 */ { "line1\nline2\n", NULL, 0600, "must hold one line without blanks" },
	/* 4 */ { "\n", NULL, 0600, "must hold one line without blanks" },
	/* 5 */ { "tok\r\nX-Injected: 1\n", NULL, 0600, "must hold one line" },
	/* 6 */ { "secret-token\n", "no-colon\n", 0600, "must hold user:password" },
};

static void test_start_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusal_cases) / sizeof(refusal_cases[0]); i++) {
		struct config_hetzner conf = base_conf();

		conf.token_file = (char *)write_file("token", refusal_cases[i].token,
						     refusal_cases[i].token_mode);
		if (refusal_cases[i].robot) {
			conf.robot_credentials_file =
				(char *)write_file("robot", refusal_cases[i].robot, 0600);
			conf.vswitch = 1;
		}
		expect_refused(&conf, refusal_cases[i].want);
	}
}

static void test_start_no_token(void **state)
{
	struct config_hetzner conf = base_conf();

	(void)state;
	unsetenv("HCLOUD_TOKEN");
	expect_refused(&conf, "no API token: set TokenFile in [Hetzner] or the HCLOUD_TOKEN");
	conf.token_file = (char *)"/nonexistent/token";
	expect_refused(&conf, "TokenFile '/nonexistent/token': No such file");
	conf.token_file = dir;
	expect_refused(&conf, "is not a regular file");
	conf.token_file = NULL;
	setenv("HCLOUD_TOKEN", "has blank", 1);
	expect_refused(&conf, "HCLOUD_TOKEN must be one word without blanks");
	unsetenv("HCLOUD_TOKEN");
}

/* --- a loop with no API behind it --------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_unreachable_api(void **state)
{
	struct config_hetzner conf = base_conf();
	struct ip_addr none = { .family = IP_NONE };
	struct hetzner_status st;
	struct hz_desired last;
	struct hetzner *h = NULL;
	char err[256] = "";
	double t0;

	(void)state;
	setenv("HCLOUD_TOKEN", "env-token", 1);
	assert_int_equal(hetzner_start(&h, &conf, &none, err, sizeof(err)), 0);
	/* Refused connections are retried; wait for the first retry. */
	t0 = now_s();
	do {
		hetzner_status_get(h, &st);
		usleep(10000);
	} while (st.retries == 0 && now_s() - t0 < 5);
	assert_true(st.running);
	assert_true(st.requests >= 1);
	assert_int_equal(st.ratelimit_limit, -1);
	assert_string_equal(st.route_state, "off");
	assert_null(hetzner_take(h));
	assert_int_equal(hetzner_last(h, &last), -ENOENT);
	hetzner_kick(h);
	/* Stop cuts the backoff short rather than waiting it out. */
	t0 = now_s();
	hetzner_stop(h);
	assert_true(now_s() - t0 < 1.0);
	hetzner_stop(NULL);
	unsetenv("HCLOUD_TOKEN");
}

/* A listener that never accepts: the kernel completes the handshake, the
 * request goes out, no reply ever comes (until the 30 s timeout). */
static void test_stop_during_request(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct config_hetzner conf = base_conf();
	struct ip_addr none = { .family = IP_NONE };
	struct hetzner_status st;
	struct hetzner *h = NULL;
	char err[256] = "", url[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	double t0;

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1", ntohs(a.sin_port));
	conf.api_endpoint = url;
	setenv("HCLOUD_TOKEN", "env-token", 1);
	assert_int_equal(hetzner_start(&h, &conf, &none, err, sizeof(err)), 0);
	usleep(300 * 1000);
	hetzner_status_get(h, &st);
	assert_int_equal(st.requests, 0);           /* still waiting */
	t0 = now_s();
	hetzner_stop(h);
	assert_true(now_s() - t0 < 2.0);
	close(fd);
	unsetenv("HCLOUD_TOKEN");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/token", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/robot", dir);
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_table),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_start_refusals),
		cmocka_unit_test(test_start_no_token),
		cmocka_unit_test(test_unreachable_api),
		cmocka_unit_test(test_stop_during_request),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
