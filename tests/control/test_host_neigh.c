/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/host_neigh.c (the kernel's neighbour table over
 * rtnetlink) against a real kernel, isolated: the process moves into
 * network and mount namespaces of its own, and a veth pair links it to a
 * second network namespace that holds the peer (one namespace with both
 * ends would route locally, with no ARP or ND at all).  /run/netns is a
 * tmpfs of our mount namespace, so nothing is left on the host even if
 * the test dies before the group teardown.  Needs root: without it only
 * the argument checks run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_neigh.h"
#include "portcullis/types.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IF_A "pchn0"                   /* ours */
#define IF_B "pchn1"                   /* the peer's, in ns */
#define MAC_B "02:77:00:00:00:02"
#define MAC_P "02:77:00:00:00:50"      /* the permanent entries' */

enum { POLL_STEP_MS = 10, WAIT_MS = 2000 };

static bool unprivileged;              /* no CLONE_NEWNET: kernel cases skip */
static char ns[32];                    /* the peer's namespace */
static int ifindex_a;

/* A shell command, formatted; 0 when it exited 0. */
static int run(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		return -1;
	}
	return 0;
}

/* Our namespaces first: every mount and link below dies with us. */
static int enter_namespaces(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return -errno;
	/* Private, or the tmpfs would propagate to the host's /run. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (mkdir("/run/netns", 0755) < 0 && errno != EEXIST) ||
	    mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755") < 0)
		return -errno;
	return 0;
}

static int group_setup(void **state)
{
	int ret = enter_namespaces();

	(void)state;
	if (ret == -EPERM) {
		unprivileged = true;
		return 0;
	}
	if (ret < 0)
		return -1;
	snprintf(ns, sizeof(ns), "pc_hn_test_%d", (int)getpid());
	/* "name" is not optional: "ip link add a ..." reads "a" as address. */
	if (run("ip link set lo up") || run("ip netns add %s", ns) ||
	    run("ip link add name " IF_A " type veth peer name " IF_B) ||
	    run("ip link set " IF_B " netns %s", ns) ||
	    run("ip -n %s link set " IF_B " address " MAC_B " up", ns) ||
	    run("ip -n %s addr add 10.77.0.2/24 dev " IF_B, ns) ||
	    run("ip -n %s addr add fd77::2/64 dev " IF_B " nodad", ns) ||
	    /* NTF_USE has no packet to take a source from: the kernel's NS
	     * comes from the link-local, which must be past DAD (else no NS
	     * is sent at all, ndisc_send_ns()).  Not waiting 1-2 s for it: */
	    run("echo 0 >/proc/sys/net/ipv6/conf/" IF_A "/accept_dad") ||
	    run("ip addr add 10.77.0.1/24 dev " IF_A) ||
	    run("ip addr add fd77::1/64 dev " IF_A " nodad") ||
	    run("ip link set " IF_A " up"))
		return -1;
	ifindex_a = (int)if_nametoindex(IF_A);
	return ifindex_a > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (ns[0] != '\0')
		run("ip netns del %s", ns);
	return 0;
}

static void parse_ip(const char *text, struct ip_addr *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = strchr(text, ':') ? IP_V6 : IP_V4;
	assert_int_equal(inet_pton(ip->family == IP_V6 ? AF_INET6 : AF_INET, text,
				   ip->bytes), 1);
}

static void parse_mac(const char *text, uint8_t mac[6])
{
	assert_int_equal(sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
				&mac[2], &mac[3], &mac[4], &mac[5]), 6);
}

/* What poll reported of one address. */
struct seen {
	int ifindex;
	struct ip_addr ip;
	unsigned n;
	uint8_t mac[6];
};

static void on_entry(void *ctx, int ifindex, const struct ip_addr *ip,
		     const uint8_t mac[6])
{
	struct seen *s = ctx;

	assert_true(ip->family == IP_V4 || ip->family == IP_V6);
	if (ifindex == s->ifindex && ip_addr_equal(ip, &s->ip)) {
		s->n++;
		memcpy(s->mac, mac, 6);
	}
}

/* A fresh socket, one request for s->ip, then polls until it is
 * reported or WAIT_MS have passed. */
static void request_and_wait(struct seen *s)
{
	int err = 0;
	struct host_neigh *hn = host_neigh_open(&err);

	assert_non_null(hn);
	assert_int_equal(host_neigh_request(hn, s->ifindex, &s->ip), 0);
	for (unsigned t = 0; t < WAIT_MS / POLL_STEP_MS && s->n == 0; t++) {
		assert_true(host_neigh_poll(hn, on_entry, s) >= 0);
		if (s->n == 0)
			usleep(POLL_STEP_MS * 1000);
	}
	host_neigh_close(hn);
}

/* --- the kernel's table ----------------------------------------------------- */

#define STILL_PERMANENT(ip) \
	"ip neigh show " ip " dev " IF_A " nud permanent | grep -q " MAC_P

static const struct {
	const char *setup;             /* run first in our namespace, or NULL */
	const char *ip;
	const char *mac;               /* to be reported; NULL: nothing */
	const char *check;             /* to succeed afterwards, or NULL */
} kernel_cases[] = {
	/* Known before the socket was opened: only the get tells.  Still
	 * PERMANENT after: NTF_USE (which would clear that) was not sent. */
	/* 0 */ { "ip neigh add 10.77.0.50 lladdr " MAC_P " dev " IF_A " nud permanent",
		  "10.77.0.50", MAC_P, STILL_PERMANENT("10.77.0.50") },
	/* 1 */ { "ip -6 neigh add fd77::50 lladdr " MAC_P " dev " IF_A " nud permanent",
		  "fd77::50", MAC_P, STILL_PERMANENT("fd77::50") },
	/* A real ARP / ND exchange with the peer (NTF_USE), from scratch. */
	/* 2 */ { "ip neigh flush dev " IF_A, "10.77.0.2", MAC_B, NULL },
	/* 3 */ { "ip -6 neigh flush dev " IF_A, "fd77::2", MAC_B, NULL },
	/* Now REACHABLE: the get answers, nothing is probed. */
	/* 4 */ { NULL, "10.77.0.2", MAC_B, NULL },
	/* 5 */ { NULL, "fd77::2", MAC_B, NULL },
	/* FAILED (the kernel gave up once): probed again, and found. */
	/* 6 */ { "ip neigh replace 10.77.0.2 dev " IF_A " nud failed",
		  "10.77.0.2", MAC_B, NULL },
	/* 7 */ { "ip -6 neigh replace fd77::2 dev " IF_A " nud failed",
		  "fd77::2", MAC_B, NULL },
	/* Nobody has these: INCOMPLETE, then FAILED; nothing usable. */
	/* 8 */ { NULL, "10.77.0.99", NULL, NULL },
	/* 9 */ { NULL, "fd77::99", NULL, NULL },
};

static void test_kernel_table(void **state)
{
	(void)state;
	if (unprivileged)
		skip();
	for (size_t i = 0; i < N(kernel_cases); i++) {
		struct seen s = { .ifindex = ifindex_a };
		uint8_t want[6];

		if (kernel_cases[i].setup)
			assert_int_equal(run("%s", kernel_cases[i].setup), 0);
		parse_ip(kernel_cases[i].ip, &s.ip);
		request_and_wait(&s);
		if (kernel_cases[i].check && run("%s", kernel_cases[i].check) != 0)
			fail_msg("case %zu: check failed", i);
		if (kernel_cases[i].mac == NULL) {
			if (s.n != 0)
				fail_msg("case %zu: %s reported", i, kernel_cases[i].ip);
			continue;
		}
		if (s.n == 0)
			fail_msg("case %zu: %s not reported in %d ms", i,
				 kernel_cases[i].ip, WAIT_MS);
		parse_mac(kernel_cases[i].mac, want);
		if (memcmp(s.mac, want, 6) != 0)
			fail_msg("case %zu: %s at the wrong MAC", i, kernel_cases[i].ip);
	}
}

/* --- bad arguments: refused before anything is sent ------------------------ */

static void test_bad_input(void **state)
{
	static const struct {
		int ifindex;
		uint8_t family;
	} cases[] = {
		/* 0 */ { 0, IP_V4 },
		/* 1 */ { -1, IP_V6 },
		/* 2 */ { 1, IP_NONE },
		/* 3 */ { 1, 5 },
	};
	struct ip_addr ip = { .family = IP_V4, .bytes = { 10, 77, 0, 2 } };
	struct seen s = { .ifindex = 1 };
	int err = 0;
	struct host_neigh *hn = host_neigh_open(&err);

	(void)state;
	assert_non_null(hn);
	for (size_t i = 0; i < N(cases); i++) {
		ip.family = cases[i].family;
		if (host_neigh_request(hn, cases[i].ifindex, &ip) != -EINVAL)
			fail_msg("case %zu: not refused", i);
	}
	assert_int_equal(host_neigh_request(NULL, 1, &ip), -EINVAL);
	assert_int_equal(host_neigh_request(hn, 1, NULL), -EINVAL);
	/* Nothing was sent, so nothing is reported (notifications of other
	 * links may come; none is for ifindex 1 in our namespace). */
	assert_true(host_neigh_poll(hn, on_entry, &s) >= 0);
	assert_int_equal(s.n, 0);
	host_neigh_close(hn);
	host_neigh_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_table),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
