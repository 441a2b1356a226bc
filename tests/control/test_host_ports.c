/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/host_ports.c (the host's ip_local_port_range against
 * [NAT] PortRange on a shared public address) and for the tunnel MTU
 * derived from the public port (config_tunnel_mtu in control/config.c):
 * numbered tables for the Device iface= argument, the /proc text, the
 * overlap and the advice in the refusal; the NAT address a config uses;
 * then the whole start-up check on the loopback interface (which carries
 * 127.0.0.1 on every Linux box) with a range file of the test's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_test_util.h"
#include "host_ports.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the kernel interface of a Device -------------------------------------- */

static const struct {
	const char *device;
	int ret;
	const char *iface;
} iface_cases[] = {
	/* 0 */ { "net_af_xdp0,iface=eth0", 0, "eth0" },
	/* 1 */ { "net_af_packet1,iface=veth1,qpairs=2", 0, "veth1" },
	/* 2 */ { "net_af_xdp0,start_queue=0,iface=enp1s0f0", 0, "enp1s0f0" },
	/* 3 */ { "eth_af_packet0,iface=x", 0, "x" },
	/* 4 */ { "net_af_xdp0,iface=abcdefghijklmno", 0, "abcdefghijklmno" },
	/* 5 */ { "net_af_xdp0,iface=abcdefghijklmnop", -ENAMETOOLONG, NULL },
	/* 6 */ { "0000:01:00.0", -ENOENT, NULL },
	/* 7 */ { "net_tap0,iface=tap0", -ENOENT, NULL },   /* a TAP it creates */
	/* 8 */ { "net_af_xdp0", -ENOENT, NULL },
	/* 9 */ { "net_af_xdp0,iface=", -ENOENT, NULL },
	/* 10 */ { "net_af_xdp0,xiface=eth0", -ENOENT, NULL },
	/* 11 */ { "net_af_packet0,iface=,qpairs=2", -ENOENT, NULL },
	/* 12 */ { "", -ENOENT, NULL },
};

static void test_device_iface(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(iface_cases); i++) {
		char out[HOST_PORTS_IFNAMSIZ] = "";
		int ret = host_ports_device_iface(iface_cases[i].device, out, sizeof(out));

		if (ret != iface_cases[i].ret)
			fail_msg("case %zu: ret %d, want %d", i, ret, iface_cases[i].ret);
		if (ret == 0 && strcmp(out, iface_cases[i].iface) != 0)
			fail_msg("case %zu: iface '%s', want '%s'", i, out, iface_cases[i].iface);
	}
}

/* --- ip_local_port_range text ---------------------------------------------- */

static const struct {
	const char *text;
	int ret;
	uint16_t min, max;
} range_cases[] = {
	/* 0 */ { "32768\t60999\n", 0, 32768, 60999 },
	/* 1 */ { "1024 65535", 0, 1024, 65535 },
	/* 2 */ { "  61000   61000  \n", 0, 61000, 61000 },
	/* 3 */ { "0 0", 0, 0, 0 },
	/* 4 */ { "", -EINVAL, 0, 0 },
	/* 5 */ { "32768\n", -EINVAL, 0, 0 },
	/* 6 */ { "60999 32768", -EINVAL, 0, 0 },
	/* 7 */ { "1 65536", -EINVAL, 0, 0 },
	/* 8 */ { "a b", -EINVAL, 0, 0 },
	/* 9 */ { "1,2", -EINVAL, 0, 0 },
	/* 10 */ { "1 2 3", -EINVAL, 0, 0 },
	/* 11 */ { "-1 2", -EINVAL, 0, 0 },
	/* 12 */ { "1 2\nx", -EINVAL, 0, 0 },
	/* 13 */ { "99999999999999999999 1", -EINVAL, 0, 0 },
};

static void test_range_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(range_cases); i++) {
		struct host_port_range r = { 7, 7 };
		int ret = host_ports_range_parse(range_cases[i].text, &r);

		if (ret != range_cases[i].ret)
			fail_msg("case %zu: ret %d, want %d", i, ret, range_cases[i].ret);
		if (ret == 0 && (r.min != range_cases[i].min || r.max != range_cases[i].max))
			fail_msg("case %zu: %u-%u", i, r.min, r.max);
		if (ret < 0 && (r.min != 7 || r.max != 7))
			fail_msg("case %zu: output changed on error", i);
	}
}

/* --- overlap ---------------------------------------------------------------- */

static const struct {
	struct host_port_range a, b;
	bool overlap;
} overlap_cases[] = {
	/* 0 */ { { 1024, 65535 }, { 32768, 60999 }, true },
	/* 1 */ { { 1024, 32767 }, { 32768, 60999 }, false },
	/* 2 */ { { 1024, 32768 }, { 32768, 60999 }, true },      /* one port */
	/* 3 */ { { 61000, 65535 }, { 32768, 60999 }, false },
	/* 4 */ { { 60999, 65535 }, { 32768, 60999 }, true },
	/* 5 */ { { 40000, 40000 }, { 32768, 60999 }, true },      /* inside */
	/* 6 */ { { 1, 1 }, { 2, 2 }, false },
};

static void test_overlap(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(overlap_cases); i++) {
		/* Symmetric, whichever side is the NAT's. */
		if (host_ports_overlap(&overlap_cases[i].a, &overlap_cases[i].b) !=
		    overlap_cases[i].overlap ||
		    host_ports_overlap(&overlap_cases[i].b, &overlap_cases[i].a) !=
		    overlap_cases[i].overlap)
			fail_msg("case %zu: want %s", i, overlap_cases[i].overlap ? "overlap" : "apart");
	}
}

/* --- the advice ------------------------------------------------------------- */

#define HEAD(n, h) "[NAT] PortRange " n " overlaps the host's ip_local_port_range " h \
		   " (the host shares 203.0.113.10): "

static const struct {
	struct host_port_range nat, host;
	const char *want;
} advice_cases[] = {
	/* 0: the defaults of both; no host range is left outside 1024-65535 */
	{ { 1024, 65535 }, { 32768, 60999 },
	  HEAD("1024-65535", "32768-60999") "use PortRange = 1024-32767" },
	/* 1: the NAT keeps its lower part; the host may go above it */
	{ { 20000, 40000 }, { 32768, 60999 },
	  HEAD("20000-40000", "32768-60999") "use PortRange = 20000-32767, or sysctl -w "
	  "net.ipv4.ip_local_port_range=\"40001 65535\"" },
	/* 2: the NAT inside the host's range moves out of it */
	{ { 40000, 50000 }, { 32768, 60999 },
	  HEAD("40000-50000", "32768-60999") "use PortRange = 1024-32767, or sysctl -w "
	  "net.ipv4.ip_local_port_range=\"1024 39999\"" },
	/* 3: the upper part is the larger */
	{ { 30000, 65535 }, { 1024, 40000 },
	  HEAD("30000-65535", "1024-40000") "use PortRange = 40001-65535, or sysctl -w "
	  "net.ipv4.ip_local_port_range=\"1024 29999\"" },
	/* 4: nothing left on either side */
	{ { 1024, 65535 }, { 1024, 65535 },
	  HEAD("1024-65535", "1024-65535") "narrow both so they do not meet" },
	/* 5: the host takes everything; the NAT has nowhere to go */
	{ { 2000, 3000 }, { 1024, 65535 },
	  HEAD("2000-3000", "1024-65535") "use sysctl -w "
	  "net.ipv4.ip_local_port_range=\"3001 65535\"" },
	/* 6: a single shared port */
	{ { 1024, 32768 }, { 32768, 60999 },
	  HEAD("1024-32768", "32768-60999") "use PortRange = 1024-32767, or sysctl -w "
	  "net.ipv4.ip_local_port_range=\"32769 65535\"" },
};

static void test_advice(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(advice_cases); i++) {
		char err[CONFIG_ERR_LEN];

		host_ports_conflict_format(err, sizeof(err), &advice_cases[i].nat,
					   &advice_cases[i].host, "203.0.113.10");
		if (strcmp(err, advice_cases[i].want) != 0)
			fail_msg("case %zu:\n  got  \"%s\"\n  want \"%s\"", i, err,
				 advice_cases[i].want);
	}
}

/* Every suggestion, taken, ends the overlap: brute force over a grid of
 * ranges, so the advice can never send the operator round in circles. */
static void test_advice_resolves(void **state)
{
	static const uint16_t edges[] = { 1, 1023, 1024, 1025, 20000, 32767, 32768,
					  40000, 60999, 61000, 65534, 65535 };
	(void)state;
	for (size_t a = 0; a < N(edges); a++)
	for (size_t b = a; b < N(edges); b++)
	for (size_t c = 0; c < N(edges); c++)
	for (size_t d = c; d < N(edges); d++) {
		struct host_port_range nat = { edges[a], edges[b] }, host = { edges[c], edges[d] };
		struct host_port_range sug;
		char err[CONFIG_ERR_LEN];
		unsigned x, y;
		const char *p;

		if (!host_ports_overlap(&nat, &host))
			continue;
		host_ports_conflict_format(err, sizeof(err), &nat, &host, "192.0.2.1");
		if ((p = strstr(err, "PortRange = ")) && sscanf(p, "PortRange = %u-%u", &x, &y) == 2) {
			sug = (struct host_port_range){ (uint16_t)x, (uint16_t)y };
			if (x > y || host_ports_overlap(&sug, &host))
				fail_msg("%s: PortRange %u-%u still overlaps", err, x, y);
		}
		if ((p = strstr(err, "range=\"")) && sscanf(p, "range=\"%u %u", &x, &y) == 2) {
			sug = (struct host_port_range){ (uint16_t)x, (uint16_t)y };
			if (x > y || x < 1024 || host_ports_overlap(&sug, &nat))
				fail_msg("%s: host range %u-%u still overlaps", err, x, y);
		}
	}
}

/* --- the address the NAT uses ------------------------------------------------ */

static const struct {
	const char *text;
	bool has;
	const char *addr;
} nat_addr_cases[] = {
	/* 0 */ { IFACE PORTS, false, NULL },                         /* no [NAT] */
	/* 1 */ { IFACE PORTS "[NAT]\nMasquerade = 10.0.0.0/24\n", true, "203.0.113.2" },
	/* 2 */ { IFACE PORTS "[NAT]\nMasquerade = 10.0.0.0/24\n"
		  "ExternalAddress = 203.0.113.9\n", true, "203.0.113.9" },
	/* 3 */ { IFACE PORTS "[NAT]\nForward = tcp 2222 -> 10.0.0.5:22\n", false, NULL },
};

static void test_nat_address(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(nat_addr_cases); i++) {
		struct config *cfg = NULL;
		char err[CONFIG_ERR_LEN] = "", buf[64];
		struct ip_addr a = { 0 };
		bool has;

		if (parse(nat_addr_cases[i].text, &cfg, err, NULL) != 0)
			fail_msg("case %zu refused: %s", i, err);
		has = host_ports_nat_address(cfg, &a);
		if (has != nat_addr_cases[i].has)
			fail_msg("case %zu: has %d", i, has);
		if (has) {
			config_addr_format(buf, sizeof(buf), &a);
			if (strcmp(buf, nat_addr_cases[i].addr) != 0)
				fail_msg("case %zu: %s, want %s", i, buf, nat_addr_cases[i].addr);
		}
		config_free(cfg);
	}
}

/* --- the start-up check, on lo ---------------------------------------------- */

static void test_iface_has_addr(void **state)
{
	struct ip_addr lo4 = { 0 }, other = { 0 };
	int err = 1;

	(void)state;
	assert_int_equal(config_addr_parse("127.0.0.1", &lo4), 0);
	assert_int_equal(config_addr_parse("192.0.2.1", &other), 0);
	assert_true(host_ports_iface_has_addr("lo", &lo4, &err));
	assert_int_equal(err, 0);
	assert_false(host_ports_iface_has_addr("lo", &other, &err));
	assert_false(host_ports_iface_has_addr("nosuch-if0", &lo4, &err));
	assert_int_equal(err, 0);
}

#define LO_PORTS(dev) "[Port public]\nDevice = " dev "\nAddress = 127.0.0.1/8\n" \
		      "[Port private]\nDevice = 0000:01:00.0\nAddress = 10.0.0.1/24\n"
#define LO_NAT "[NAT]\nMasquerade = 10.0.0.0/24\n"

static const struct {
	const char *conf;
	const char *range;          /* the range file's text, NULL: no file */
	int ret;
	const char *error;          /* exact message after "gw.conf: " */
} check_cases[] = {
	/* 0: shared and overlapping: refused with the advice */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo") LO_NAT, "32768\t60999\n", -EADDRINUSE,
	  "[NAT] PortRange 1024-65535 overlaps the host's ip_local_port_range 32768-60999 "
	  "(the host shares 127.0.0.1 on lo): use PortRange = 1024-32767" },
	/* 1: shared, ranges apart */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo") LO_NAT "PortRange = 1024-32767\n",
	  "32768\t60999\n", 0, NULL },
	/* 2: the interface does not carry the address: nothing shared */
	{ IFACE LO_PORTS("net_af_packet0,iface=nosuch-if0") LO_NAT, "32768\t60999\n", 0, NULL },
	/* 3: a PCI device: no kernel interface */
	{ IFACE LO_PORTS("0000:02:00.0") LO_NAT, "32768\t60999\n", 0, NULL },
	/* 4: no Masquerade, no dynamic ports */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo"), "32768\t60999\n", 0, NULL },
	/* 5: shared but the range cannot be read */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo") LO_NAT, NULL, -ENOENT,
	  "the host shares 127.0.0.1 on lo, and its " },
	/* 6: shared and the range file is junk */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo") LO_NAT, "junk\n", -EINVAL,
	  "the host shares 127.0.0.1 on lo, and its " },
};

static void test_check_host(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(check_cases); i++) {
		char path[] = "/tmp/portcullis-test-range.XXXXXX";
		char err[CONFIG_ERR_LEN] = "", want[CONFIG_ERR_LEN];
		struct config *cfg = NULL;
		int fd = mkstemp(path), ret;

		assert_true(fd >= 0);
		if (check_cases[i].range) {
			size_t n = strlen(check_cases[i].range);

			assert_int_equal(write(fd, check_cases[i].range, n), (ssize_t)n);
		} else {
			unlink(path);
		}
		close(fd);
		if (parse(check_cases[i].conf, &cfg, err, NULL) != 0)
			fail_msg("case %zu refused: %s", i, err);
		ret = host_ports_check_host(cfg, path, err, sizeof(err));
		unlink(path);
		config_free(cfg);
		if (ret != check_cases[i].ret)
			fail_msg("case %zu: ret %d, want %d (%s)", i, ret, check_cases[i].ret, err);
		if (check_cases[i].error == NULL)
			continue;
		snprintf(want, sizeof(want), "gw.conf: %s", check_cases[i].error);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu:\n  got  \"%s\"\n  want \"%s\"", i, err, want);
	}
}

/* --- ListenPort and ip_local_reserved_ports ----------------------------------- */

static const struct {
	const char *text;
	uint16_t port;
	int ret;
} reserved_cases[] = {
	/* 0 */ { "\n", 51820, 0 },
	/* 1 */ { "", 51820, 0 },
	/* 2 */ { "51820\n", 51820, 1 },
	/* 3 */ { "8080,51000-52000\n", 51820, 1 },
	/* 4 */ { "8080,51000-52000\n", 52001, 0 },
	/* 5 */ { "1-65535", 1, 1 },
	/* 6 */ { "52000-51000\n", 51820, -EINVAL },            /* backwards */
	/* 7 */ { "8080,,9090\n", 9090, -EINVAL },
	/* 8 */ { "65536\n", 1, -EINVAL },
	/* 9 */ { "80 81\n", 81, -EINVAL },
	/* 10 */ { "x\n", 1, -EINVAL },
};

static void test_reserved(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(reserved_cases); i++) {
		int ret = host_ports_reserved_has(reserved_cases[i].text, reserved_cases[i].port);

		if (ret != reserved_cases[i].ret)
			fail_msg("case %zu: ret %d, want %d", i, ret, reserved_cases[i].ret);
	}
}

static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* ListenPort 51820 (the default) on 127.0.0.1, which lo carries. */
static const struct {
	const char *conf, *range, *reserved;
	bool warn;
} listen_cases[] = {
	/* 0 */ { IFACE LO_PORTS("net_af_xdp0,iface=lo"), "32768\t60999\n", "\n", true },
	/* 1 */ { IFACE LO_PORTS("net_af_xdp0,iface=lo"), "32768\t60999\n", "51820\n", false },
	/* 2 */ { IFACE LO_PORTS("net_af_xdp0,iface=lo"), "32768\t50000\n", "\n", false },
	/* 3: not shared (a PCI device) */
	{ IFACE LO_PORTS("0000:02:00.0"), "32768\t60999\n", "\n", false },
	/* 4: unreadable reserved list: say nothing rather than guess */
	{ IFACE LO_PORTS("net_af_xdp0,iface=lo"), "32768\t60999\n", "junk\n", false },
};

static void test_listen_warning(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(listen_cases); i++) {
		char range[] = "/tmp/portcullis-test-range.XXXXXX";
		char reserved[] = "/tmp/portcullis-test-reserved.XXXXXX";
		char err[CONFIG_ERR_LEN] = "", msg[CONFIG_ERR_LEN] = "";
		struct config *cfg = NULL;
		bool warn;

		write_file(range, listen_cases[i].range);
		write_file(reserved, listen_cases[i].reserved);
		if (parse(listen_cases[i].conf, &cfg, err, NULL) != 0)
			fail_msg("case %zu refused: %s", i, err);
		warn = host_ports_listen_warning(cfg, range, reserved, msg, sizeof(msg));
		unlink(range);
		unlink(reserved);
		config_free(cfg);
		if (warn != listen_cases[i].warn)
			fail_msg("case %zu: warning %d (%s), want %d", i, warn, msg,
				 listen_cases[i].warn);
		if (warn && !strstr(msg, "sysctl -w net.ipv4.ip_local_reserved_ports=51820"))
			fail_msg("case %zu: the warning does not say what to run: %s", i, msg);
	}
}

/* --- the tunnel MTU ---------------------------------------------------------- */

#define PUBLIC "[Port public]\nDevice = d\nAddress = 203.0.113.2/24\n"

static const struct {
	const char *text;
	uint16_t mtu;
} mtu_cases[] = {
	/* 0 */ { IFACE PORTS, WG_DEFAULT_MTU },                  /* 1500 port: 1420 */
	/* 1 */ { IFACE PUBLIC "MTU = 1450\n", 1370 },            /* cloud network */
	/* 2 */ { IFACE PUBLIC "MTU = 1400\n", 1320 },            /* vSwitch VLAN */
	/* 3 */ { IFACE "MTU = 1380\n" PUBLIC "MTU = 1450\n", 1380 },  /* given */
	/* 4 */ { IFACE PUBLIC "MTU = 9000\n", 8920 },
	/* 5 */ { IFACE, WG_DEFAULT_MTU },                        /* no port at all */
};

static void test_tunnel_mtu(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(mtu_cases); i++) {
		struct config *cfg = NULL;
		char err[CONFIG_ERR_LEN] = "";

		if (parse(mtu_cases[i].text, &cfg, err, NULL) != 0)
			fail_msg("case %zu refused: %s", i, err);
		if (config_tunnel_mtu(cfg) != mtu_cases[i].mtu)
			fail_msg("case %zu: mtu %u, want %u", i, config_tunnel_mtu(cfg),
				 mtu_cases[i].mtu);
		config_free(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_iface),
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_advice_resolves),
		cmocka_unit_test(test_nat_address),
		cmocka_unit_test(test_iface_has_addr),
		cmocka_unit_test(test_check_host),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_listen_warning),
		cmocka_unit_test(test_tunnel_mtu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
