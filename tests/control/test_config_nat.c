/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for the [NAT] section of the config (control/config_nat.c):
 * numbered tables of good and bad files (every bad one must give its
 * exact "file:line: reason" and no config) about Masquerade,
 * ExternalAddress, PortRange, Forward, Filtering, the timeouts,
 * MaxSessions, MSSClamp and the Allow* switches; then the defaults, every
 * value of a full section, and the Masquerade and Forward limits; and
 * the forwards added and removed at runtime (config_forward_add/_remove),
 * which must follow the rules of a Forward line.  The rest of the parser
 * is tested in test_config.c.
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

#include "config_edit.h"
#include "config_test_util.h"

/* Nine lines: [NAT] is line 9, its first key line 10. */
#define NATSEC IFACE PORTS "[NAT]\n"
#define MASQ "Masquerade = 10.0.0.0/16\n"

/* --- good files ------------------------------------------------------------ */

static const char *const nat_good[] = {
	/* 0 */ NATSEC "Masquerade = 10.0.0.0/16, 10.10.0.0/24\n",
	/* 1 */ NATSEC "forward = TCP 2222 -> 10.0.0.5:22\n",
	/* 2 */ IFACE "[nat]\nMasquerade = 0.0.0.0/0\n" PORTS PEER2,
	/* 3 */ IFACE "[Port public]\nDevice = d\nAddress = 2001:db8::2/64\n"
		 "[NAT]\nExternalAddress = 203.0.113.10\n" MASQ,
	/* 4 */ NATSEC "Forward = udp 198.51.100.9:51820 -> 10.0.0.5:51820\n",
	/* 5 */ IFACE "ListenPort = 51821\n" PORTS "[NAT]\n"
		 "Forward = udp 51820 -> 10.0.0.5:51820\n",
	/* 6 */ NATSEC "Forward = tcp 51820 -> 10.0.0.5:22\n",
	/* 7 */ NATSEC "Forward = udp\t203.0.113.2:53->10.0.0.53:53\n"
		 "Forward = tcp 203.0.113.2:53 -> 10.0.0.53:53\n"
		 "Forward = udp 198.51.100.9:53 -> 10.0.0.54:53\n",
	/* 8 */ NATSEC MASQ "PortRange = 2-3\n",
	/* 9 */ NATSEC MASQ "PortRange = 1024 - 65535\n",
	/* 10 */ NATSEC MASQ "AllowTunnelToPrivate = OFF\nAllowPrivateToTunnel = true\n",
	/* 11 */ NATSEC MASQ "UDPTimeout = 120\nTCPEstablishedTimeout = 7440\n"
		 "TCPTransitoryTimeout = 240\nICMPTimeout = 604800\n",
	/* 12 */ NATSEC MASQ "MSSClamp = OFF\nMaxSessions = 64\n"
		 "Filtering = Endpoint-Independent\n",
	/* 13 */ NATSEC MASQ "MSSClamp = 536\nMaxSessions = 67108864\n",
	/* 14 */ NATSEC "Masquerade = 10.0.0.0/16\nMasquerade = 10.0.0.0/8, 10.0.0.5\n",
	/* 15 */ NATSEC "AllowPrivateToTunnel = no\n" PEER2,   /* a firewall, no NAT */
};

static void test_nat_good_table(void **state)
{
	(void)state;
	run_good_cases(nat_good, sizeof(nat_good) / sizeof(nat_good[0]),
		       "NAT good");
}

/* --- bad files --------------------------------------------------------------- */

static const struct bad_case nat_bad[] = {
	/* 0 */ { NATSEC "Masquerade = fd00::/64\n",
		   "gw.conf:10: bad Masquerade 'fd00::/64' (IPv4 only: IPv6 is routed, not translated; NAT66 is not supported)" },
	/* 1 */ { NATSEC "Masquerade = 10.0.0.0/33\n", "gw.conf:10: bad Masquerade '10.0.0.0/33'" },
	/* 2 */ { NATSEC MASQ "Masquerade = 10.1.0.0/16, 10.0.7.1/16\n",
		   "gw.conf:11: duplicate Masquerade '10.0.7.1/16' (10.0.0.0/16 is already listed)" },
	/* 3 */ { NATSEC "Masquerade = 10.0.0.0/16,,10.1.0.0/16\n", "gw.conf:10: bad Masquerade '' (empty list item)" },
	/* 4 */ { NATSEC "Masquerade =\n", "gw.conf:10: missing value for Masquerade" },
	/* 5 */ { NATSEC MASQ "ExternalAddress = 2001:db8::1\n",
		   "gw.conf:11: bad ExternalAddress '2001:db8::1' (IPv4 only: NAT66 is not supported)" },
	/* 6 */ { NATSEC MASQ "ExternalAddress = 203.0.113.10/32\n", "gw.conf:11: bad ExternalAddress '203.0.113.10/32'" },
	/* 7 */ { NATSEC MASQ "ExternalAddress = 224.0.0.1\n",
		   "gw.conf:11: bad ExternalAddress '224.0.0.1' (not a usable unicast address)" },
	/* 8 */ { NATSEC MASQ "ExternalAddress = 192.0.2.4\nexternaladdress = 192.0.2.5\n",
		   "gw.conf:12: duplicate ExternalAddress (first at line 11)" },
	/* 9 */ { NATSEC MASQ "PortRange = 1024\n",
		   "gw.conf:11: bad PortRange '1024' (expected 'low-high', e.g. 1024-65535)" },
	/* 10 */ { NATSEC MASQ "PortRange = 0-100\n", "gw.conf:11: bad PortRange '0-100' (ports must be 1..65535)" },
	/* 11 */ { NATSEC MASQ "PortRange = 1024-65536\n", "gw.conf:11: bad PortRange '1024-65536' (ports must be 1..65535)" },
	/* 12 */ { NATSEC MASQ "PortRange = 2000-1000\n", "gw.conf:11: bad PortRange '2000-1000' (low end above high end)" },
	/* 13 */ { NATSEC MASQ "PortRange = 2000-2000\n", "gw.conf:11: bad PortRange '2000-2000' (needs at least 2 ports)" },
	/* 14 */ { NATSEC MASQ "PortRange = 1024-+2000\n", "gw.conf:11: bad PortRange '1024-+2000' (ports must be 1..65535)" },
	/* 15 */ { NATSEC MASQ "PortRange = 1024-2000x\n", "gw.conf:11: bad PortRange '1024-2000x' (ports must be 1..65535)" },
	/* 16 */ { NATSEC "Forward = tcp 2222 10.0.0.5:22\n",
		   "gw.conf:10: bad Forward 'tcp 2222 10.0.0.5:22' (expected 'tcp|udp [address:]port -> address:port')" },
	/* 17 */ { NATSEC "Forward = sctp 2222 -> 10.0.0.5:22\n",
		   "gw.conf:10: bad Forward 'sctp 2222 -> 10.0.0.5:22' (protocol must be tcp or udp)" },
	/* 18 */ { NATSEC "Forward = tcp 0 -> 10.0.0.5:22\n",
		   "gw.conf:10: bad Forward 'tcp 0 -> 10.0.0.5:22' (port must be 1..65535)" },
	/* 19 */ { NATSEC "Forward = tcp 2222 -> 10.0.0.5:65536\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> 10.0.0.5:65536' (port must be 1..65535)" },
	/* 20 */ { NATSEC "Forward = tcp 2222 -> 10.0.0.5\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> 10.0.0.5' (the inside end needs address:port)" },
	/* 21 */ { NATSEC "Forward = tcp 2222 -> [fd00::5]:22\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> [fd00::5]:22' (IPv4 only: NAT66 is not supported)" },
	/* 22 */ { NATSEC "Forward = tcp 2001:db8::1:2222 -> 10.0.0.5:22\n",
		   "gw.conf:10: bad Forward 'tcp 2001:db8::1:2222 -> 10.0.0.5:22' (IPv4 only: NAT66 is not supported)" },
	/* 23 */ { NATSEC "Forward = tcp 2222 -> 10.0.0:22\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> 10.0.0:22' (bad address)" },
	/* 24 */ { NATSEC "Forward = tcp 2222 -> 127.0.0.1:22\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> 127.0.0.1:22' (not a usable unicast address)" },
	/* 25 */ { NATSEC "Forward = tcp 2222 ->\n",
		   "gw.conf:10: bad Forward 'tcp 2222 ->' (expected 'tcp|udp [address:]port -> address:port')" },
	/* 26 */ { NATSEC "Forward = tcp 2222 -> 10.0.0.5:22 x\n",
		   "gw.conf:10: bad Forward 'tcp 2222 -> 10.0.0.5:22 x' (expected 'tcp|udp [address:]port -> address:port')" },
	/* 27 */ { NATSEC "Forward = tcp -> 10.0.0.5:22\n",
		   "gw.conf:10: bad Forward 'tcp -> 10.0.0.5:22' (expected 'tcp|udp [address:]port -> address:port')" },
	/* 28 */ { NATSEC "Forward = tcp 2222 -> 10.0.0.5:22\nForward = TCP 2222 -> 10.0.0.6:22\n",
		   "gw.conf:11: duplicate Forward tcp 2222 (first at line 10)" },
	/* 29 */ { NATSEC "Forward = udp 198.51.100.9:53 -> 10.0.0.5:53\n"
		   "Forward = udp 198.51.100.9:53 -> 10.0.0.6:53\n",
		   "gw.conf:11: duplicate Forward udp 198.51.100.9:53 (first at line 10)" },
	/* 30 */ { NATSEC "Forward = tcp 203.0.113.2:80 -> 10.0.0.5:80\nForward = tcp 80 -> 10.0.0.6:80\n",
		   "gw.conf:11: duplicate Forward tcp 203.0.113.2:80 (first at line 10; a Forward without an address uses 203.0.113.2)" },
	/* 31 */ { NATSEC "Forward = tcp 80 -> 10.0.0.5:80\nForward = tcp 198.51.100.9:80 -> 10.0.0.6:80\n"
		   "ExternalAddress = 198.51.100.9\n",
		   "gw.conf:11: duplicate Forward tcp 198.51.100.9:80 (first at line 10; a Forward without an address uses 198.51.100.9)" },
	/* 32 */ { NATSEC "Forward = udp 51820 -> 10.0.0.5:51820\n",
		   "gw.conf:10: Forward udp 203.0.113.2:51820 clashes with ListenPort 51820 (WireGuard receives that port)" },
	/* 33 */ { "[NAT]\nForward = udp 4500 -> 10.0.0.5:4500\n" IFACE "ListenPort = 4500\n" PORTS,
		   "gw.conf:2: Forward udp 203.0.113.2:4500 clashes with ListenPort 4500 (WireGuard receives that port)" },
	/* 34 */ { NATSEC "ExternalAddress = 198.51.100.9\nForward = udp 203.0.113.2:51820 -> 10.0.0.5:1\n",
		   "gw.conf:11: Forward udp 203.0.113.2:51820 clashes with ListenPort 51820 (WireGuard receives that port)" },
	/* 35 */ { NATSEC MASQ "Filtering = full-cone\n",
		   "gw.conf:11: bad Filtering 'full-cone' (must be address-and-port-dependent or endpoint-independent)" },
	/* 36 */ { NATSEC MASQ "UDPTimeout = 119\n",
		    "gw.conf:11: bad UDPTimeout '119' (RFC 4787 REQ-5 requires at least 120 seconds)" },
	/* 37 */ { NATSEC MASQ "TCPEstablishedTimeout = 7439\n",
		    "gw.conf:11: bad TCPEstablishedTimeout '7439' (RFC 5382 REQ-5 requires at least 7440 seconds)" },
	/* 38 */ { NATSEC MASQ "TCPTransitoryTimeout = 239\n",
		    "gw.conf:11: bad TCPTransitoryTimeout '239' (RFC 5382 REQ-5 requires at least 240 seconds)" },
	/* 39 */ { NATSEC MASQ "ICMPTimeout = 59\n",
		    "gw.conf:11: bad ICMPTimeout '59' (RFC 5508 REQ-1 requires at least 60 seconds)" },
	/* 40 */ { NATSEC MASQ "UDPTimeout = 604801\n",
		    "gw.conf:11: bad UDPTimeout '604801' (at most 604800 seconds, one week)" },
	/* 41 */ { NATSEC MASQ "UDPTimeout = 5m\n", "gw.conf:11: bad UDPTimeout '5m' (seconds, 120..604800)" },
	/* 42 */ { NATSEC MASQ "UDPTimeout = 0\n",
		    "gw.conf:11: bad UDPTimeout '0' (RFC 4787 REQ-5 requires at least 120 seconds)" },
	/* 43 */ { NATSEC MASQ "ICMPTimeout = -60\n", "gw.conf:11: bad ICMPTimeout '-60' (seconds, 60..604800)" },
	/* 44 */ { NATSEC MASQ "UDPTimeout = 99999999999999999999999\n",
		    "gw.conf:11: bad UDPTimeout '99999999999999999999999' (at most 604800 seconds, one week)" },
	/* 45 */ { NATSEC MASQ "MaxSessions = 63\n", "gw.conf:11: bad MaxSessions '63' (must be 64..67108864)" },
	/* 46 */ { NATSEC MASQ "MaxSessions = 67108865\n", "gw.conf:11: bad MaxSessions '67108865' (must be 64..67108864)" },
	/* 47 */ { NATSEC MASQ "MSSClamp = 535\n", "gw.conf:11: bad MSSClamp '535' (must be auto, off or 536..65495)" },
	/* 48 */ { NATSEC MASQ "MSSClamp = 65496\n", "gw.conf:11: bad MSSClamp '65496' (must be auto, off or 536..65495)" },
	/* 49 */ { NATSEC MASQ "MSSClamp = yes\n", "gw.conf:11: bad MSSClamp 'yes' (must be auto, off or 536..65495)" },
	/* 50 */ { NATSEC MASQ "AllowTunnelToPrivate = maybe\n",
		    "gw.conf:11: bad AllowTunnelToPrivate 'maybe' (must be yes or no)" },
	/* 51 */ { NATSEC MASQ "AllowPrivateToTunnel = 1\n", "gw.conf:11: bad AllowPrivateToTunnel '1' (must be yes or no)" },
	/* 52 */ { NATSEC MASQ "Filtering = endpoint-independent\nFiltering = endpoint-independent\n",
		    "gw.conf:12: duplicate Filtering (first at line 11)" },
	/* 53 */ { NATSEC MASQ "MSSClamp = auto\nmssclamp = off\n", "gw.conf:12: duplicate MSSClamp (first at line 11)" },
	/* 54 */ { NATSEC MASQ "[NAT]\n" MASQ, "gw.conf:11: duplicate section [NAT] (first at line 9)" },
	/* 55 */ { NATSEC, "gw.conf:9: [NAT] needs Masquerade, Forward, AllowTunnelToPrivate or AllowPrivateToTunnel" },
	/* 56 */ { NATSEC "UDPTimeout = 300\n" PEER2, "gw.conf:9: [NAT] needs Masquerade, Forward, AllowTunnelToPrivate or AllowPrivateToTunnel" },
	/* 57 */ { IFACE "[NAT]\n" MASQ, "gw.conf:3: [NAT] needs a [Port public] section" },
	/* 58 */ { IFACE "[Port public]\nDevice = d\nAddress = 2001:db8::2/64\n[NAT]\n" MASQ,
		    "gw.conf:6: [NAT] needs ExternalAddress or an IPv4 Address on [Port public]" },
	/* 59 */ { NATSEC "Masquerading = 10.0.0.0/8\n", "gw.conf:10: unknown key 'Masquerading' in [NAT]" },
	/* 60 */ { IFACE "Masquerade = 10.0.0.0/8\n", "gw.conf:3: unknown key 'Masquerade' in [Interface]" },
	/* 61 */ { NATSEC "Forward = tcp 198.51.100.1:80 -> 10.0.0.5:81\n"
		    "Forward = tcp 198.51.100.2:80 -> 10.0.0.5:82\n"
		    "Forward = tcp 198.51.100.3:80 -> 10.0.0.5:83\n"
		    "Forward = tcp 198.51.100.4:80 -> 10.0.0.5:84\n"
		    "Forward = tcp 198.51.100.5:80 -> 10.0.0.5:85\n"
		    "Forward = tcp 198.51.100.6:80 -> 10.0.0.5:86\n"
		    "Forward = tcp 198.51.100.7:80 -> 10.0.0.5:87\n"
		    "Forward = tcp 198.51.100.8:80 -> 10.0.0.5:88\n",
		    "gw.conf:9: [NAT] uses 9 external addresses (max 8)" },
	/* 62 */ { NATSEC "Forward =\n", "gw.conf:10: missing value for Forward" },
	/* 63 */ { NATSEC "Forward = tcp +22 -> 10.0.0.5:22\n",
		    "gw.conf:10: bad Forward 'tcp +22 -> 10.0.0.5:22' (port must be 1..65535)" },
	/* 64 */ { NATSEC "Forward = tcp 0.0.0.0:22 -> 10.0.0.5:22\n",
		    "gw.conf:10: bad Forward 'tcp 0.0.0.0:22 -> 10.0.0.5:22' (not a usable unicast address)" },
	/* 65 */ { NATSEC "Forward = udp 1-2 -> 10.0.0.5:22\n",
		    "gw.conf:10: bad Forward 'udp 1-2 -> 10.0.0.5:22' (port must be 1..65535)" },
	/* 66 */ { NATSEC "Forward = udp 51820->10.0.0.5:22\nExternalAddress = 198.51.100.9\n",
		    "gw.conf:10: Forward udp 198.51.100.9:51820 clashes with ListenPort 51820 (WireGuard receives that port)" },
	/* 67 */ { NATSEC "Forward = tcp 22 -> 10.0.0.5:22\nForward = tcp 2222 -> 10.0.0.5:22\n",
		    "gw.conf:11: Forward to tcp 10.0.0.5:22: already forwarded at line 10 (an inside endpoint has one outside port)" },
};

static void test_nat_bad_table(void **state)
{
	(void)state;
	run_bad_cases(nat_bad, sizeof(nat_bad) / sizeof(nat_bad[0]), "NAT bad");
}

/* --- values ---------------------------------------------------------------------- */

static void test_nat_defaults(void **state)
{
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	(void)state;

	assert_int_equal(parse(IFACE PORTS PEER2, &cfg, err, NULL), 0);
	assert_false(cfg->nat.enabled);
	assert_int_equal(cfg->nat.n_masquerade, 0);
	assert_int_equal(cfg->nat.external.family, IP_NONE);
	assert_int_equal(cfg->nat.port_min, 1024);
	assert_int_equal(cfg->nat.port_max, 65535);
	assert_int_equal(cfg->nat.filtering, NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_UDP], 300);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_TCP_ESTABLISHED], 7440);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_TCP_TRANSITORY], 240);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_ICMP], 60);
	assert_int_equal(cfg->nat.max_sessions, 1000000);
	assert_null(cfg->nat.forwards);
	assert_int_equal(cfg->nat.n_forwards, 0);
	assert_int_equal(cfg->nat.mss_clamp, NAT_MSS_AUTO);
	assert_true(cfg->nat.allow_tunnel_to_private);
	assert_true(cfg->nat.allow_private_to_tunnel);
	config_free(cfg);

	/* A [NAT] with one key keeps the defaults of all the others. */
	assert_int_equal(parse(NATSEC MASQ, &cfg, err, NULL), 0);
	assert_true(cfg->nat.enabled);
	assert_int_equal(cfg->nat.n_masquerade, 1);
	assert_int_equal(cfg->nat.mss_clamp, NAT_MSS_AUTO);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_UDP], 300);
	assert_true(cfg->nat.allow_private_to_tunnel);
	config_free(cfg);
}

static const char nat_file[] =
	NATSEC                                                  /* 1-9 */
	"Masquerade = 10.0.0.7/16, 10.10.0.0/24\n"              /* 10 */
	"Masquerade = 192.0.2.1\n"                              /* 11 */
	"ExternalAddress = 203.0.113.10\n"                      /* 12 */
	"PortRange = 20000-29999\n"                             /* 13 */
	"Forward = tcp 2222 -> 10.0.0.5:22\n"                   /* 14 */
	"Forward = UDP 203.0.113.11:5353->10.0.0.6:53\n"        /* 15 */
	"Filtering = endpoint-independent\n"                    /* 16 */
	"UDPTimeout = 600\n"                                    /* 17 */
	"TCPEstablishedTimeout = 86400\n"                       /* 18 */
	"TCPTransitoryTimeout = 300\n"                          /* 19 */
	"ICMPTimeout = 90\n"                                    /* 20 */
	"MaxSessions = 262144\n"                                /* 21 */
	"MSSClamp = 1360\n"                                     /* 22 */
	"AllowTunnelToPrivate = no\n"                           /* 23 */
	"AllowPrivateToTunnel = false\n";                       /* 24 */

static void test_nat_values(void **state)
{
	struct config *cfg;
	const struct nat_forward *f;
	char err[CONFIG_ERR_LEN], buf[64];
	(void)state;

	if (parse(nat_file, &cfg, err, NULL) != 0)
		fail_msg("%s", err);
	assert_true(cfg->nat.enabled);
	assert_int_equal(cfg->nat.n_masquerade, 3);
	assert_prefix(&cfg->nat.masquerade[0], "10.0.0.0/16");   /* masked */
	assert_prefix(&cfg->nat.masquerade[1], "10.10.0.0/24");
	assert_prefix(&cfg->nat.masquerade[2], "192.0.2.1/32");
	config_addr_format(buf, sizeof(buf), &cfg->nat.external);
	assert_string_equal(buf, "203.0.113.10");
	assert_int_equal(cfg->nat.port_min, 20000);
	assert_int_equal(cfg->nat.port_max, 29999);
	assert_int_equal(cfg->nat.filtering, NAT_FILTER_ENDPOINT_INDEPENDENT);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_UDP], 600);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_TCP_ESTABLISHED], 86400);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_TCP_TRANSITORY], 300);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_ICMP], 90);
	assert_int_equal(cfg->nat.max_sessions, 262144);
	assert_int_equal(cfg->nat.mss_clamp, 1360);
	assert_false(cfg->nat.allow_tunnel_to_private);
	assert_false(cfg->nat.allow_private_to_tunnel);

	assert_int_equal(cfg->nat.n_forwards, 2);
	f = &cfg->nat.forwards[0];
	assert_int_equal(f->proto, IPPROTO_TCP_);
	assert_int_equal(f->external.family, IP_NONE);  /* ExternalAddress */
	assert_int_equal(f->external_port, 2222);
	config_addr_format(buf, sizeof(buf), &f->internal);
	assert_string_equal(buf, "10.0.0.5");
	assert_int_equal(f->internal_port, 22);
	assert_int_equal(f->line, 14);
	f = &cfg->nat.forwards[1];
	assert_int_equal(f->proto, IPPROTO_UDP_);
	config_addr_format(buf, sizeof(buf), &f->external);
	assert_string_equal(buf, "203.0.113.11");
	assert_int_equal(f->external_port, 5353);
	config_addr_format(buf, sizeof(buf), &f->internal);
	assert_string_equal(buf, "10.0.0.6");
	assert_int_equal(f->internal_port, 53);
	assert_int_equal(f->line, 15);
	config_free(cfg);

	/* The switches' other spellings, and MSSClamp off. */
	assert_int_equal(parse(NATSEC MASQ "AllowTunnelToPrivate = On\n"
			       "AllowPrivateToTunnel = YES\nMSSClamp = off\n",
			       &cfg, err, NULL), 0);
	assert_true(cfg->nat.allow_tunnel_to_private);
	assert_true(cfg->nat.allow_private_to_tunnel);
	assert_int_equal(cfg->nat.mss_clamp, NAT_MSS_OFF);
	config_free(cfg);
}

/* Appends printf output to a growing buffer (big generated files). */
static void append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	*buf = realloc(*buf, *len + (size_t)n + 1);
	assert_non_null(*buf);
	va_start(ap, fmt);
	vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
}

static void test_nat_limits(void **state)
{
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	char *text = NULL;
	size_t len = 0;
	int i;
	(void)state;

	/* NAT_MAX_MASQUERADE prefixes load; one more is refused. */
	append(&text, &len, "%s", NATSEC);
	for (i = 0; i < NAT_MAX_MASQUERADE; i++)
		append(&text, &len, "Masquerade = 10.%d.0.0/16\n", i);
	assert_int_equal(parse(text, &cfg, err, NULL), 0);
	assert_int_equal(cfg->nat.n_masquerade, NAT_MAX_MASQUERADE);
	config_free(cfg);
	append(&text, &len, "Masquerade = 192.0.2.0/24\n");
	assert_int_not_equal(parse(text, &cfg, err, NULL), 0);
	assert_string_equal(err, "gw.conf:74: too many Masquerade entries (max 64)");

	/* NAT_MAX_FORWARDS forwards load (and the duplicate scan copes);
	 * one more is refused. */
	len = 0;
	append(&text, &len, "%s", NATSEC);
	for (i = 1; i <= NAT_MAX_FORWARDS; i++)
		append(&text, &len, "Forward = tcp %d -> 10.0.%d.%d:22\n", i,
		       i / 250, i % 250 + 1);
	if (parse(text, &cfg, err, NULL) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg->nat.n_forwards, NAT_MAX_FORWARDS);
	assert_int_equal(cfg->nat.forwards[NAT_MAX_FORWARDS - 1].external_port,
			 NAT_MAX_FORWARDS);
	assert_int_equal(cfg->nat.forwards[NAT_MAX_FORWARDS - 1].line,
			 9 + NAT_MAX_FORWARDS);
	config_free(cfg);
	append(&text, &len, "Forward = udp 1 -> 10.0.0.1:1\n");
	assert_int_not_equal(parse(text, &cfg, err, NULL), 0);
	assert_null(cfg);
	assert_string_equal(err, "gw.conf:4106: too many Forward entries (max 4096)");
	free(text);
}

/* --- runtime forwards (config_forward_add / config_forward_remove) ----------- */

/* Lines 11 and 12. */
#define FWDS NATSEC MASQ "Forward = tcp 2222 -> 10.0.0.5:22\n"              \
	     "Forward = udp 203.0.113.2:53 -> 10.0.0.53:53\n"

struct edit_case {
	const char *file;
	const char *proto, *external, *to;  /* to NULL: a remove */
	const char *error;                  /* NULL: accepted */
	const char *forwards;               /* after it, as forwards_text */
};

static const struct edit_case edit_cases[] = {
	/* 0 */ { FWDS, "tcp", "2223", "10.0.0.6:22", NULL,
		  "tcp 2222 10.0.0.5:22 @11; udp 203.0.113.2:53 10.0.0.53:53 @12; "
		  "tcp 2223 10.0.0.6:22 @0" },
	/* 1 */ { FWDS, "TCP", "203.0.113.9:80", "10.0.0.7:80", NULL,
		  "tcp 2222 10.0.0.5:22 @11; udp 203.0.113.2:53 10.0.0.53:53 @12; "
		  "tcp 203.0.113.9:80 10.0.0.7:80 @0" },
	/* 2 */ { FWDS, "udp", "51821", "10.0.0.5:51820", NULL, NULL },
	/* 3 */ { FWDS, "sctp", "1", "10.0.0.5:1",
		  "bad Forward 'sctp 1 -> 10.0.0.5:1' (protocol must be tcp or udp)", NULL },
	/* 4 */ { FWDS, "tcp", "0", "10.0.0.5:1",
		  "bad Forward 'tcp 0 -> 10.0.0.5:1' (port must be 1..65535)", NULL },
	/* 5 */ { FWDS, "tcp", "2224", "10.0.0.5",
		  "bad Forward 'tcp 2224 -> 10.0.0.5' (the inside end needs address:port)", NULL },
	/* 6 */ { FWDS, "tcp", "2224", "127.0.0.1:22",
		  "bad Forward 'tcp 2224 -> 127.0.0.1:22' (not a usable unicast address)", NULL },
	/* 7 */ { FWDS, "tcp", "2224", "[fd00::1]:22",
		  "bad Forward 'tcp 2224 -> [fd00::1]:22' (IPv4 only: NAT66 is not supported)", NULL },
	/* 8 */ { FWDS, "tcp", "2222", "10.0.0.9:22",
		  "duplicate Forward tcp 2222 (first at line 11)", NULL },
	/* 9 */ { FWDS, "tcp", "203.0.113.2:2222", "10.0.0.9:22",
		  "duplicate Forward tcp 203.0.113.2:2222 (first at line 11; a Forward "
		  "without an address uses 203.0.113.2)", NULL },
	/* 10 */ { FWDS, "udp", "53", "10.0.0.9:53",
		   "duplicate Forward udp 203.0.113.2:53 (first at line 12; a Forward "
		   "without an address uses 203.0.113.2)", NULL },
	/* 11 */ { FWDS, "tcp", "3333", "10.0.0.5:22",
		   "Forward to tcp 10.0.0.5:22: already forwarded at line 11 (an inside "
		   "endpoint has one outside port)", NULL },
	/* 12 */ { FWDS, "udp", "51820", "10.0.0.5:1",
		   "Forward udp 203.0.113.2:51820 clashes with ListenPort 51820 "
		   "(WireGuard receives that port)", NULL },
	/* 13 */ { FWDS, "tcp", "", "10.0.0.5:23",
		   "bad Forward 'tcp  -> 10.0.0.5:23' (port must be 1..65535)", NULL },
	/* 14 */ { FWDS, "tcp", "2224 -> 10.0.0.8:1", "10.0.0.5:23",
		   "bad Forward 'tcp 2224 -> 10.0.0.8:1 -> 10.0.0.5:23' (bad address)", NULL },
	/* 15 */ { IFACE PORTS PEER2, "tcp", "2222", "10.0.0.5:22",
		   "no [NAT] section in the config: forwards need one", NULL },
	/* 16 */ { NATSEC "Forward = tcp 198.51.100.1:80 -> 10.0.0.5:81\n"
		   "Forward = tcp 198.51.100.2:80 -> 10.0.0.5:82\n"
		   "Forward = tcp 198.51.100.3:80 -> 10.0.0.5:83\n"
		   "Forward = tcp 198.51.100.4:80 -> 10.0.0.5:84\n"
		   "Forward = tcp 198.51.100.5:80 -> 10.0.0.5:85\n"
		   "Forward = tcp 198.51.100.6:80 -> 10.0.0.5:86\n"
		   "Forward = tcp 198.51.100.7:80 -> 10.0.0.5:87\n",
		   "tcp", "198.51.100.8:80", "10.0.0.5:88",
		   "[NAT] uses 9 external addresses (max 8)", NULL },
	/* 17 */ { FWDS, "tcp", "2222", NULL, NULL,
		   "udp 203.0.113.2:53 10.0.0.53:53 @12" },
	/* 18 */ { FWDS, "tcp", "203.0.113.2:2222", NULL, NULL,
		   "udp 203.0.113.2:53 10.0.0.53:53 @12" },
	/* 19 */ { FWDS, "UDP", "53", NULL, NULL, "tcp 2222 10.0.0.5:22 @11" },
	/* 20 */ { FWDS, "tcp", "2223", NULL, "no Forward tcp 203.0.113.2:2223", NULL },
	/* 21 */ { FWDS, "udp", "2222", NULL, "no Forward udp 203.0.113.2:2222", NULL },
	/* 22 */ { FWDS, "tcp", "198.51.100.1:2222", NULL,
		   "no Forward tcp 198.51.100.1:2222", NULL },
	/* 23 */ { FWDS, "icmp", "1", NULL,
		   "bad Forward 'icmp 1' (protocol must be tcp or udp)", NULL },
	/* 24 */ { FWDS, "tcp", "22x", NULL, "bad Forward 'tcp 22x' (port must be 1..65535)", NULL },
	/* 25 */ { IFACE PORTS PEER2, "tcp", "2222", NULL,
		   "no [NAT] section in the config: forwards need one", NULL },
	/* 26 */ { FWDS, "tcp", "2224", "10.0.0.5:" PRIV,
		   "bad Forward (value not shown: it may hold a key) (port must be 1..65535)", NULL },
};

/* "tcp 2222 10.0.0.5:22 @11; ..." */
static void forwards_text(const struct nat_config *c, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < c->n_forwards; i++) {
		const struct nat_forward *f = &c->forwards[i];
		char ext[64] = "", in[64];

		if (f->external.family) {
			config_addr_format(ext, sizeof(ext) - 1, &f->external);
			strcat(ext, ":");
		}
		config_addr_format(in, sizeof(in), &f->internal);
		n += (size_t)snprintf(out + n, len - n, "%s%s %s%u %s:%u @%u",
				      i ? "; " : "",
				      f->proto == IPPROTO_TCP_ ? "tcp" : "udp",
				      ext, f->external_port, in,
				      f->internal_port, f->line);
	}
}

static void test_runtime_forwards(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(edit_cases) / sizeof(edit_cases[0]); i++) {
		const struct edit_case *c = &edit_cases[i];
		char err[CONFIG_ERR_LEN] = "", before[2048], after[2048];
		struct config *cfg;
		int ret;

		if (parse(c->file, &cfg, err, NULL) != 0)
			fail_msg("edit case %zu: the file: %s", i, err);
		forwards_text(&cfg->nat, before, sizeof(before));
		ret = c->to ? config_forward_add(cfg, c->proto, c->external,
						 c->to, err, sizeof(err))
			    : config_forward_remove(cfg, c->proto, c->external,
						    err, sizeof(err));
		forwards_text(&cfg->nat, after, sizeof(after));
		if (c->error) {
			if (ret != -EINVAL || strcmp(err, c->error) != 0)
				fail_msg("edit case %zu:\n  got  %d \"%s\"\n  want \"%s\"",
					 i, ret, err, c->error);
			/* Refused: nothing changed. */
			assert_string_equal(before, after);
		} else {
			if (ret != 0)
				fail_msg("edit case %zu refused: %s", i, err);
			if (c->forwards && strcmp(after, c->forwards) != 0)
				fail_msg("edit case %zu:\n  got  %s\n  want %s", i,
					 after, c->forwards);
		}
		assert_null(strstr(err, PRIV));
		config_free(cfg);
	}
}

/* Forwards added at runtime are checked against each other too, and are
 * named as such; removing one makes its port free again. */
static void test_runtime_forwards_sequence(void **state)
{
	char err[CONFIG_ERR_LEN] = "", text[512];
	struct config *cfg;
	(void)state;

	assert_int_equal(parse(FWDS, &cfg, err, NULL), 0);
	assert_int_equal(config_forward_add(cfg, "tcp", "2223", "10.0.0.6:22",
					    err, sizeof(err)), 0);
	assert_int_equal(config_forward_add(cfg, "tcp", "2223", "10.0.0.7:22",
					    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "duplicate Forward tcp 2223 (first at runtime)");
	assert_int_equal(config_forward_add(cfg, "tcp", "203.0.113.2:2223",
					    "10.0.0.7:22", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "duplicate Forward tcp 203.0.113.2:2223 (first at "
			    "runtime; a Forward without an address uses 203.0.113.2)");
	assert_int_equal(config_forward_add(cfg, "tcp", "2224", "10.0.0.6:22",
					    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Forward to tcp 10.0.0.6:22: already forwarded at "
			    "runtime (an inside endpoint has one outside port)");
	assert_int_equal(config_forward_remove(cfg, "tcp", "203.0.113.2:2223",
					       err, sizeof(err)), 0);
	assert_int_equal(config_forward_add(cfg, "tcp", "2223", "10.0.0.7:22",
					    err, sizeof(err)), 0);
	assert_int_equal(config_forward_remove(cfg, "tcp", "2222", err,
					       sizeof(err)), 0);
	assert_int_equal(config_forward_remove(cfg, "udp", "53", err,
					       sizeof(err)), 0);
	forwards_text(&cfg->nat, text, sizeof(text));
	assert_string_equal(text, "tcp 2223 10.0.0.7:22 @0");
	assert_int_equal(config_forward_remove(cfg, "tcp", "2223", err,
					       sizeof(err)), 0);
	assert_int_equal(cfg->nat.n_forwards, 0);
	assert_int_equal(config_forward_remove(cfg, "tcp", "2223", err,
					       sizeof(err)), -EINVAL);
	assert_string_equal(err, "no Forward tcp 203.0.113.2:2223");
	config_free(cfg);
}

/* Up to NAT_MAX_FORWARDS, as in the file. */
static void test_runtime_forwards_limit(void **state)
{
	char err[CONFIG_ERR_LEN] = "", ext[16], to[32];
	struct config *cfg;
	(void)state;

	assert_int_equal(parse(NATSEC MASQ, &cfg, err, NULL), 0);
	for (int i = 1; i <= NAT_MAX_FORWARDS; i++) {
		snprintf(ext, sizeof(ext), "%d", i);
		snprintf(to, sizeof(to), "10.0.%d.%d:22", i / 250, i % 250 + 1);
		if (config_forward_add(cfg, "tcp", ext, to, err, sizeof(err)) != 0)
			fail_msg("forward %d: %s", i, err);
	}
	assert_int_equal(config_forward_add(cfg, "udp", "1", "10.0.0.1:1", err,
					    sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many Forward entries (max 4096)");
	assert_int_equal(cfg->nat.n_forwards, NAT_MAX_FORWARDS);
	config_free(cfg);
}

/* On a clone (config_clone allocates arrays to their exact size), as the
 * CLI edits: adding past the clone's size grows the array (the ASan build
 * catches a write past it). */
static void test_runtime_forwards_on_clone(void **state)
{
	char err[CONFIG_ERR_LEN] = "", ext[16], to[32], text[512];
	struct config *cfg, *next;
	(void)state;

	assert_int_equal(parse(NATSEC MASQ "Forward = tcp 2222 -> 10.0.0.5:22\n",
			       &cfg, err, NULL), 0);
	for (int round = 0; round < 3; round++) {
		next = config_clone(cfg);
		assert_non_null(next);
		for (int i = 0; i < 9; i++) {
			snprintf(ext, sizeof(ext), "%d", 3000 + i);
			snprintf(to, sizeof(to), "10.0.1.%d:22", i + 1);
			if (config_forward_add(next, "udp", ext, to, err,
					       sizeof(err)) != 0)
				fail_msg("round %d forward %d: %s", round, i, err);
		}
		assert_int_equal(next->nat.n_forwards, 10);
		assert_int_equal(config_forward_remove(next, "udp", "3000", err,
						       sizeof(err)), 0);
		config_free(cfg);
		cfg = next;
		assert_int_equal(cfg->nat.n_forwards, 9);
		for (int i = 1; i < 9; i++) {
			snprintf(ext, sizeof(ext), "%d", 3000 + i);
			assert_int_equal(config_forward_remove(cfg, "udp", ext, err,
							       sizeof(err)), 0);
		}
	}
	forwards_text(&cfg->nat, text, sizeof(text));
	assert_string_equal(text, "tcp 2222 10.0.0.5:22 @11");
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_good_table),
		cmocka_unit_test(test_nat_bad_table),
		cmocka_unit_test(test_nat_defaults),
		cmocka_unit_test(test_nat_values),
		cmocka_unit_test(test_nat_limits),
		cmocka_unit_test(test_runtime_forwards),
		cmocka_unit_test(test_runtime_forwards_sequence),
		cmocka_unit_test(test_runtime_forwards_limit),
		cmocka_unit_test(test_runtime_forwards_on_clone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
