/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/config.c: numbered tables of good and bad files (every
 * bad one must give its exact "file:line: reason" and no config), a real
 * wg-quick file with the gateway sections, permission checks on real temp
 * files, the helpers, and the example configs in config/.  The [NAT]
 * section (control/config_nat.c) is tested in test_config_nat.c; the
 * fixture both use is in config_test_util.h.
 *
 * No DNS is needed: names are only resolved for "localhost".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_test_util.h"
#include "source_root.h"

/* --- good files ------------------------------------------------------------ */

static const char *const good[] = {
	/* 0 */ IFACE,
	/* 1 */ IFACE PORTS PEER2 "AllowedIPs = 10.1.0.0/16\n",
	/* 2 */ "[interface]\nprivatekey=" PRIV "\nlistenport=1\n"
		"[PEER]\npublickey=" PUB2 "\nALLOWEDIPS=10.0.0.0/8\n"
		"[port PUBLIC]\ndevice=x\naddress=192.0.2.1/24\n",
	/* 3 */ "  # leading comment\n\n[Interface] # trailing\n"
		"\tPrivateKey\t=\t" PRIV "   # comment\n\n  \n",
	/* 4 */ "[Interface]\r\nPrivateKey = " PRIV "\r\nListenPort = 2\r\n",
	/* 5 */ "\xef\xbb\xbf" IFACE,
	/* 6 */ "[Interface]\nPrivateKey = " PRIV,
	/* 7 */ IFACE PEER2 "AllowedIPs =\n",
	/* 8 */ IFACE "[ Peer ]\nPublicKey = " PUB2 "\n",
	/* 9 */ IFACE "[Port \t private]\nDevice = a\nAddress = 10.0.0.1/8\n",
	/* 10 */ IFACE PEER2 "PersistentKeepalive = OFF\n"
		 PEER3 "PersistentKeepalive = 65535\n",
	/* 11 */ IFACE PEER2 "Endpoint = [::1]:1\n" PEER3
		 "Endpoint = 192.0.2.7:65535\n",
	/* 12 */ IFACE PEER2 "Endpoint = vpn.example.com:51820\n",
	/* 13 */ IFACE "[Port public]\nDevice = net_af_packet0,iface=eth1,qpairs=2\n"
		 "Address = 192.0.2.1/24\n",
	/* 14 */ IFACE "[Port public]\nDevice = d\nAddress = 192.0.2.1/24\n"
		 "Gateway = 192.0.2.254, fe80::1\n",
	/* 15 */ IFACE "Address = 10.9.0.1/24, fd00::1/64\nAddress = 10.9.1.1\n",
	/* 16 */ IFACE "MTU = 8920\n[Port public]\nDevice = d\nMTU = 576\n"
		 "Address = 192.0.2.1/24\n[Port private]\nDevice = e\n"
		 "MTU = 9000\nAddress = 10.0.0.1/8\n",
	/* 17 */ IFACE "[Port public]\nDevice = d\nVLAN = 1\nAddress = ::1/128\n"
		 "[Port private]\nDevice = e\nVLAN = 4094\nAddress = 10.0.0.1/8\n",
	/* 18 */ IFACE "[Port private]\nDevice = d\nAddress = fd00::1/64\n"
		 "Route = fd00:1::/48 via fd00::fe, 10.0.0.0/8 VIA 10.0.0.1\n",
	/* 19 */ IFACE PEER2 "AllowedIPs = 10.1.2.3/16, 0.0.0.0/0, ::/0\n",
	/* 20 */ IFACE "ListenPort = 65535\n" PEER2 "AllowedIPs = 192.0.2.9\n",
	/* 21 */ IFACE PEER2 "PresharedKey = " PSK "\nPersistentKeepalive = 0\n",
	/* 22 */ IFACE "DNS =\nPostUp = echo 'a = b' # not a key\n",
	/* 23 */ IFACE "[Control]\nGroup = root\nMetrics = 127.0.0.1:9586\n",
	/* 24 */ IFACE "[control]\nmetrics = [::1]:65535\n" PEER2,
	/* 25 */ IFACE "[Control]\nMetrics = /run/portcullis/metrics.sock\n",
	/* 26 */ IFACE "[Control]\nMetrics = OFF\n",
	/* 27 */ IFACE "[Control]\n",
	/* 28 */ IFACE "FwMark = off\n",
	/* 29 */ IFACE "FwMark = 0xffffffff\n",
	/* 30 */ IFACE "FwMark = 4294967295\n",
	/* 31 */ IFACE "[Port public]\nDevice = net_tap0,iface=a\nAddress = 192.0.2.1/24\n"
		 "[Port private]\nDevice = net_tap0,iface=a\nVLAN = 4000\nAddress = 10.0.0.1/8\n",
	/* 32 */ IFACE "[Port public]\nDevice = d\nVLAN = 7\nAddress = 192.0.2.1/24\n"
		 "[Port private]\nDevice = d\nAddress = 10.0.0.1/8\n",
};

static void test_good_table(void **state)
{
	(void)state;
	run_good_cases(good, sizeof(good) / sizeof(good[0]), "good");
}

/* --- bad files --------------------------------------------------------------- */

static const struct bad_case bad[] = {
	/* 0 */ { "ListenPort = 1\n", "gw.conf:1: key 'ListenPort' outside of a section" },
	/* 1 */ { IFACE "ListenPort 51820\n", "gw.conf:3: missing '=' in 'ListenPort 51820'" },
	/* 2 */ { IFACE "[Foo]\n", "gw.conf:3: unknown section '[Foo]'" },
	/* 3 */ { IFACE "Foo = 1\n", "gw.conf:3: unknown key 'Foo' in [Interface]" },
	/* 4 */ { IFACE PEER2 "AllowedIPs = 10.0.0.0/33\n", "gw.conf:5: bad AllowedIPs '10.0.0.0/33'" },
	/* 5 */ { IFACE PORTS "[Port public]\n", "gw.conf:9: duplicate section [Port public] (first at line 3)" },
	/* 6 */ { "[Interface]\nPrivateKey = abc\n", "gw.conf:2: bad PrivateKey (not a base64 32-byte key)" },
	/* 7 */ { "[Interface]\nPrivateKey = GIPEvSj0DkG+24ZO9LDFMKgwl0JEheCow1qVdrcJFmF=\n",
		  "gw.conf:2: bad PrivateKey (not a base64 32-byte key)" },
	/* 8 */ { "[Interface]\nPrivateKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
		  "gw.conf:2: bad PrivateKey (not a base64 32-byte key)" },
	/* 9 */ { IFACE PEER2 PEER2, "gw.conf:5: [Peer] has the same PublicKey as [Peer] at line 3" },
	/* 10 */ { IFACE PEER2 "Endpoint = 203.0.113.5\n", "gw.conf:5: bad Endpoint '203.0.113.5' (missing port)" },
	/* 11 */ { IFACE PEER2 "Endpoint = 203.0.113.5:65536\n", "gw.conf:5: bad Endpoint '203.0.113.5:65536' (port must be 1..65535)" },
	/* 12 */ { IFACE "ListenPort = 70000\n", "gw.conf:3: bad ListenPort '70000' (must be 1..65535)" },
	/* 13 */ { PORTS, "gw.conf: no [Interface] section" },
	/* 14 */ { "[Interface]\nListenPort = 1\n", "gw.conf:1: [Interface] has no PrivateKey or PrivateKeyFile" },
	/* 15 */ { IFACE "[Port public]\nAddress = 192.0.2.1/24\n", "gw.conf:3: [Port public] has no Device" },
	/* 16 */ { IFACE "[Port private]\nDevice = d\n" PEER2, "gw.conf:3: [Port private] has no Address" },
	/* 17 */ { IFACE "[Port private]\nDevice = d\nAddress = 10.0.0.1\n",
		   "gw.conf:5: bad Address '10.0.0.1' (prefix length required)" },
	/* 18 */ { IFACE "[Peer]\nPublicKey = " PUB "\n", "gw.conf:3: [Peer] PublicKey is this gateway's own public key" },
	/* 19 */ { IFACE "[Peer]\nAllowedIPs = 10.0.0.0/8\n", "gw.conf:3: [Peer] has no PublicKey" },
	/* 20 */ { IFACE "[Port public]\nVLAN = 4095\n", "gw.conf:4: bad VLAN '4095' (must be 1..4094)" },
	/* 21 */ { IFACE "[Port public]\nVLAN = 0\n", "gw.conf:4: bad VLAN '0' (must be 1..4094)" },
	/* 22 */ { IFACE "[Port public]\nMTU = 9001\n", "gw.conf:4: bad MTU '9001' (must be 576..9000)" },
	/* 23 */ { IFACE "[Port public]\nMTU = 575\n", "gw.conf:4: bad MTU '575' (must be 576..9000)" },
	/* 24 */ { IFACE "MTU = 8921\n", "gw.conf:3: bad MTU '8921' (must be 576..8920)" },
	/* 25 */ { IFACE "[Port public]\nGateway = 192.0.2.1\nGateway = ::1, 192.0.2.2\n",
		   "gw.conf:5: duplicate IPv4 Gateway '192.0.2.2' (one per family)" },
	/* 26 */ { IFACE "[Port public]\nRoute = 10.1.0.0/16 via fd00::1\n",
		   "gw.conf:4: bad Route '10.1.0.0/16 via fd00::1' (via must be the same family as the destination)" },
	/* 27 */ { IFACE "[Port public]\nRoute = 10.1.0.0/16\n",
		   "gw.conf:4: bad Route '10.1.0.0/16' (expected 'prefix via address')" },
	/* 28 */ { IFACE "[Port public]\nRoute = 10.1.0.1/16 via 10.0.0.2\n",
		   "gw.conf:4: bad Route '10.1.0.1/16 via 10.0.0.2' (host bits set in destination)" },
	/* 29 */ { IFACE "[Port public]\nRoute = 10.1.0.0/16 by 10.0.0.2\n",
		   "gw.conf:4: bad Route '10.1.0.0/16 by 10.0.0.2' (expected 'prefix via address')" },
	/* 30 */ { IFACE PEER2 "Endpoint = 2001:db8::1:51820\n",
		   "gw.conf:5: bad Endpoint '2001:db8::1:51820' (an IPv6 address needs brackets: [addr]:port)" },
	/* 31 */ { IFACE PEER2 "Endpoint = [2001:db8::1]51820\n", "gw.conf:5: bad Endpoint '[2001:db8::1]51820' (missing port)" },
	/* 32 */ { IFACE PEER2 "Endpoint = [192.0.2.1]:1\n",
		   "gw.conf:5: bad Endpoint '[192.0.2.1]:1' (not an IPv6 address in brackets)" },
	/* 33 */ { IFACE PEER2 "Endpoint = 10.1:51820\n", "gw.conf:5: bad Endpoint '10.1:51820'" },
	/* 34 */ { IFACE PEER2 "Endpoint = 192.0.2.1:0\n", "gw.conf:5: bad Endpoint '192.0.2.1:0' (port must be 1..65535)" },
	/* 35 */ { IFACE PEER2 "Endpoint = [::1:51820\n", "gw.conf:5: bad Endpoint '[::1:51820' (no closing ']')" },
	/* 36 */ { IFACE PEER2 "PersistentKeepalive = 65536\n",
		   "gw.conf:5: bad PersistentKeepalive '65536' (must be 0..65535 or off)" },
	/* 37 */ { IFACE PEER2 "PersistentKeepalive = -1\n",
		   "gw.conf:5: bad PersistentKeepalive '-1' (must be 0..65535 or off)" },
	/* 38 */ { IFACE "ListenPort = 1\nlistenport = 2\n", "gw.conf:4: duplicate ListenPort (first at line 3)" },
	/* 39 */ { IFACE "ListenPort =\n", "gw.conf:3: missing value for ListenPort" },
	/* 40 */ { "[Interface\n", "gw.conf:1: bad section header '[Interface'" },
	/* 41 */ { IFACE "[Port dmz]\n", "gw.conf:3: unknown section '[Port dmz]'" },
	/* 42 */ { IFACE "[Interface]\n", "gw.conf:3: duplicate section [Interface] (first at line 1)" },
	/* 43 */ { IFACE PSK "\n", "gw.conf:3: unknown key (value not shown: it may hold a key) in [Interface]" },
	/* 44 */ { IFACE "Address = " PSK "\n", "gw.conf:3: bad Address (value not shown: it may hold a key)" },
	/* 45 */ { IFACE PEER2 "AllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n", "gw.conf:5: bad AllowedIPs '' (empty list item)" },
	/* 46 */ { IFACE "[Port public]\nDevice = net tap\n", "gw.conf:4: bad Device 'net tap'" },
	/* 47 */ { "[Interface]\nPrivateKeyFile = /nonexistent/wg.key\n",
		   "gw.conf:2: cannot read PrivateKeyFile '/nonexistent/wg.key': No such file or directory" },
	/* 48 */ { IFACE "ListenPort = 0\n", "gw.conf:3: bad ListenPort '0' (must be 1..65535)" },
	/* 49 */ { IFACE "ListenPort = 0x10\n", "gw.conf:3: bad ListenPort '0x10' (must be 1..65535)" },
	/* 50 */ { IFACE PEER2 "AllowedIPs = 10.0.0.0/ 8\n", "gw.conf:5: bad AllowedIPs '10.0.0.0/ 8'" },
	/* 51 */ { IFACE PEER2 "PresharedKey = xyz\n", "gw.conf:5: bad PresharedKey (not a base64 32-byte key)" },
	/* 52 */ { IFACE PEER2 "ListenPort = 1\n", "gw.conf:5: unknown key 'ListenPort' in [Peer]" },
	/* 53 */ { IFACE PEER2 "DNS = 1.1.1.1\n", "gw.conf:5: unknown key 'DNS' in [Peer]" },
	/* 54 */ { IFACE PEER2 "PublicKey = " PUB3 "\n", "gw.conf:5: duplicate PublicKey (first at line 4)" },
	/* 55 */ { IFACE "[Port public]\nAddress = 192.0.2.1/24\nDevice = a\nDevice = b\n",
		   "gw.conf:6: duplicate Device (first at line 5)" },
	/* 56 */ { IFACE "[Port public]\nAddress = 300.0.0.1/24\n", "gw.conf:4: bad Address '300.0.0.1/24'" },
	/* 57 */ { IFACE "[Port public]\nGateway = 192.0.2.1/24\n", "gw.conf:4: bad Gateway '192.0.2.1/24'" },
	/* 58 */ { IFACE "Address = fd00::1/129\n", "gw.conf:3: bad Address 'fd00::1/129'" },
	/* 59 */ { IFACE "[Peer]\n" PEER2, "gw.conf:3: [Peer] has no PublicKey" },
	/* 60 */ { IFACE "[Interface] x\n", "gw.conf:3: bad section header '[Interface] x'" },
	/* 61 */ { IFACE "ListenPort = \x1b[31m\n", "gw.conf:3: bad ListenPort '?[31m' (must be 1..65535)" },
	/* 62 */ { "", "gw.conf: no [Interface] section" },
	/* 63 */ { IFACE PEER2 "Endpoint = host_name!:1\n", "gw.conf:5: bad Endpoint 'host_name!:1'" },
	/* 64 */ { IFACE "[Control]\nGroup = no-such-group-pc\n", "gw.conf:4: no such group 'no-such-group-pc'" },
	/* 65 */ { IFACE "[Control]\nMetrics = 127.0.0.1\n",
		   "gw.conf:4: bad Metrics '127.0.0.1' (want ADDRESS:PORT, [IPV6]:PORT, an absolute socket path or off)" },
	/* 66 */ { IFACE "[Control]\nMetrics = 127.0.0.1:0\n", "gw.conf:4: bad Metrics '127.0.0.1:0' (want" },
	/* 67 */ { IFACE "[Control]\nMetrics = 127.0.0.1:65536\n", "gw.conf:4: bad Metrics '127.0.0.1:65536' (want" },
	/* 68 */ { IFACE "[Control]\nMetrics = localhost:9586\n", "gw.conf:4: bad Metrics 'localhost:9586' (want" },
	/* 69 */ { IFACE "[Control]\nMetrics = ::1:9586\n", "gw.conf:4: bad Metrics '::1:9586' (want" },
	/* 70 */ { IFACE "[Control]\nMetrics = [::1]9586\n", "gw.conf:4: bad Metrics '[::1]9586' (want" },
	/* 71 */ { IFACE "[Control]\nMetrics = [127.0.0.1]:9586\n", "gw.conf:4: bad Metrics '[127.0.0.1]:9586' (want" },
	/* 72 */ { IFACE "[Control]\nMetrics = metrics.sock\n", "gw.conf:4: bad Metrics 'metrics.sock' (want" },
	/* 73 */ { IFACE "[Control]\nMetrics = 127.0.0.1:+1\n", "gw.conf:4: bad Metrics '127.0.0.1:+1' (want" },
	/* 74 */ { IFACE "[Control]\nMetrics = /run/a b.sock\n", "gw.conf:4: bad Metrics '/run/a b.sock'" },
	/* 75 */ { IFACE "[Control]\nMetrics = /run/abcdefghi-abcdefghi-abcdefghi-abcdefghi-"
		   "abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi-.sock\n",
		   "gw.conf:4: bad Metrics '/run/abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi-"
		   "abcdefghi-abcdefghi-abcdefghi-abcdefghi-abcdefghi-.sock' (a socket path is at most 107 bytes)" },
	/* 76 */ { IFACE "[Control]\n[Control]\n", "gw.conf:4: duplicate section [Control] (first at line 3)" },
	/* 77 */ { IFACE "[Control]\nMetrics = off\nMetrics = 127.0.0.1:1\n",
		   "gw.conf:5: duplicate Metrics (first at line 4)" },
	/* 78 */ { IFACE "[Control]\nPrivateKey = x\n", "gw.conf:4: unknown key 'PrivateKey' in [Control]" },
	/* 79 */ { IFACE "Group = root\n", "gw.conf:3: unknown key 'Group' in [Interface]" },
	/* 80 */ { IFACE "FwMark = 4294967296\n",
		   "gw.conf:3: bad FwMark '4294967296' (must be 0..4294967295, 0x hex or off)" },
	/* 81 */ { IFACE "FwMark = 0x100000000\n", "gw.conf:3: bad FwMark '0x100000000' (must be" },
	/* 82 */ { IFACE "FwMark = 0x\n", "gw.conf:3: bad FwMark '0x' (must be" },
	/* 83 */ { IFACE "FwMark = 0x12g\n", "gw.conf:3: bad FwMark '0x12g' (must be" },
	/* 84 */ { IFACE "FwMark = -1\n", "gw.conf:3: bad FwMark '-1' (must be" },
	/* 85 */ { IFACE "FwMark =\n", "gw.conf:3: missing value for FwMark" },
	/* 86 */ { IFACE "FwMark = 1\nFwMark = 2\n", "gw.conf:4: duplicate FwMark (first at line 3)" },
	/* 87 */ { IFACE "[Port public]\nDevice = d\nAddress = 192.0.2.1/24\n"
		   "[Port private]\nDevice = d\nAddress = 10.0.0.1/8\n",
		   "gw.conf:6: [Port private] shares Device 'd' with [Port public] (line 3): the two "
		   "need different VLAN ids (both are untagged; give [Port private] a VLAN)" },
	/* 88 */ { IFACE "[Port public]\nDevice = d\nVLAN = 4000\nAddress = 192.0.2.1/24\n"
		   "[Port private]\nDevice = d\nVLAN = 4000\nAddress = 10.0.0.1/8\n",
		   "gw.conf:7: [Port private] shares Device 'd' with [Port public] (line 3): the two "
		   "need different VLAN ids (both are VLAN 4000)" },
	/* 89 */ { IFACE "[Port public]\nDevice = net_tap0,iface=a\nAddress = 192.0.2.1/24\n"
		   "[Port private]\nDevice = net_tap0\nVLAN = 4000\nAddress = 10.0.0.1/8\n",
		   "gw.conf:6: [Port private] Device 'net_tap0' names the device of [Port public] "
		   "(line 3) with other options: to share it, give both the same Device" },
	/* 90 */ { IFACE "[Port private]\nHostInterface = host0\n",
		   "gw.conf:4: HostInterface is only for [Port public]" },
	/* 91 */ { IFACE "[Port public]\nHostInterface = abcdefghijklmnop\n",
		   "gw.conf:4: bad HostInterface 'abcdefghijklmnop' (1 to 15 characters)" },
	/* 92 */ { IFACE "[Port public]\nHostInterface = host0,mac=x\n",
		   "gw.conf:4: bad HostInterface 'host0,mac=x' (letters, digits, '_', '-', '.')" },
	/* 93 */ { IFACE "[Port public]\nHostInterface = a\nHostInterface = b\n",
		   "gw.conf:5: duplicate HostInterface (first at line 4)" },
};

static void test_bad_table(void **state)
{
	(void)state;
	run_bad_cases(bad, sizeof(bad) / sizeof(bad[0]), "bad");
}

/* Lines over the limit, NUL bytes and oversized text need built buffers. */
static void test_limits(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config *cfg;
	size_t big = CONFIG_MAX_FILE_SIZE + 1;
	char *text = malloc(big);
	(void)state;

	assert_non_null(text);
	snprintf(text, big, IFACE "PostUp = ");
	memset(text + strlen(text), 'x', CONFIG_MAX_LINE_LEN + 1);
	strcpy(text + strlen(IFACE) + CONFIG_MAX_LINE_LEN + 1, "\n");
	assert_int_not_equal(parse(text, &cfg, err, NULL), 0);
	assert_string_equal(err, "gw.conf:3: line longer than 4096 bytes");

	/* Exactly CONFIG_MAX_LINE_LEN bytes (plus CR LF) is fine. */
	strcpy(text + strlen(IFACE) + CONFIG_MAX_LINE_LEN, "\r\n");
	assert_int_equal(parse(text, &cfg, err, NULL), 0);
	config_free(cfg);

	assert_int_not_equal(config_parse("gw.conf", IFACE "#\0x\n",
					  sizeof(IFACE "#\0x\n") - 1, 0, collect,
					  NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "gw.conf:3: NUL byte in line");

	memset(text, '\n', big);
	assert_int_equal(config_parse("gw.conf", text, big, 0, NULL, NULL, &cfg,
				      err, sizeof(err)), -EFBIG);
	assert_null(cfg);
	assert_string_equal(err, "gw.conf: file too large (over 16777216 bytes)");
	free(text);
}

/* --- a real wg-quick file --------------------------------------------------- */

/* As `wg-quick save` / SaveConfig writes it, with the usual hooks added by
 * hand, plus the gateway sections. */
static const char wg_quick_file[] =
	"[Interface]\n"
	"Address = 10.200.0.1/24, fd00:200::1/64\n"
	"SaveConfig = true\n"
	"DNS = 1.1.1.1, 2606:4700:4700::1111\n"
	"PostUp = iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE\n"
	"PostDown = iptables -D FORWARD -i %i -j ACCEPT\n"
	"PreUp = true\n"
	"PreDown = true\n"
	"Table = off\n"
	"FwMark = 0x1234\n"
	"ListenPort = 51821\n"
	"PrivateKey = " PRIV "\n"
	"MTU = 1380\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " PUB2 "\n"
	"PresharedKey = " PSK "\n"
	"AllowedIPs = 10.200.0.2/32, fd00:200::2/128\n"
	"Endpoint = 198.51.100.7:41414\n"
	"PersistentKeepalive = 25\n"
	"\n"
	"[Peer]\n"
	"PublicKey = " PUB3 "\n"
	"AllowedIPs = 10.200.0.3/32\n"
	"Endpoint = [2001:db8::7]:51820\n"
	"\n"
	"[Port public]\n"
	"Device = net_af_xdp0,iface=eth0\n"
	"Address = 203.0.113.2/24\n"
	"Address = 2001:db8:1::2/64\n"
	"Gateway = 203.0.113.1\n"
	"Gateway = fe80::1\n"
	"HostInterface = host0\n"
	"\n"
	"[Port private]\n"
	"Device = 0000:01:00.0\n"
	"VLAN = 100\n"
	"MTU = 9000\n"
	"Address = 10.0.0.1/24\n"
	"Route = 10.1.0.0/16 via 10.0.0.254\n";

static void check_wg_quick_interface(const struct config *cfg)
{
	uint8_t key[32];

	assert_int_equal(config_key_from_base64(key, PRIV), 0);
	assert_memory_equal(cfg->iface.private_key, key, 32);
	assert_true(cfg->iface.has_private_key);
	assert_null(cfg->iface.private_key_file);
	assert_true(cfg->iface.has_listen_port);
	assert_int_equal(cfg->iface.listen_port, 51821);
	assert_int_equal(cfg->iface.mtu, 1380);
	assert_int_equal(cfg->iface.n_addresses, 2);
	assert_prefix(&cfg->iface.addresses[0], "10.200.0.1/24");
	assert_prefix(&cfg->iface.addresses[1], "fd00:200::1/64");
}

static void check_wg_quick_peers(const struct config *cfg)
{
	const struct config_peer *a = &cfg->peers[0], *b = &cfg->peers[1];
	uint8_t key[32];
	char buf[64];

	assert_int_equal(cfg->n_peers, 2);
	assert_int_equal(config_key_from_base64(key, PUB2), 0);
	assert_memory_equal(a->public_key, key, 32);
	assert_int_equal(config_key_from_base64(key, PSK), 0);
	assert_true(a->has_preshared_key);
	assert_memory_equal(a->preshared_key, key, 32);
	assert_int_equal(a->n_allowed_ips, 2);
	assert_prefix(&a->allowed_ips[1], "fd00:200::2/128");
	assert_true(a->has_endpoint);
	config_endpoint_format(buf, sizeof(buf), &a->endpoint);
	assert_string_equal(buf, "198.51.100.7:41414");
	assert_string_equal(a->endpoint_text, "198.51.100.7:41414");
	assert_int_equal(a->persistent_keepalive, 25);
	assert_int_equal(a->line, 15);

	assert_false(b->has_preshared_key);
	assert_int_equal(b->persistent_keepalive, 0);
	assert_int_equal(b->endpoint.addr.family, IP_V6);
	assert_int_equal(b->endpoint.port, 51820);
	config_endpoint_format(buf, sizeof(buf), &b->endpoint);
	assert_string_equal(buf, "[2001:db8::7]:51820");
	assert_int_equal(b->line, 22);
}

static void check_wg_quick_ports(const struct config *cfg)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];
	const struct config_port *priv = &cfg->ports[PORT_PRIVATE];
	char buf[64];

	assert_true(pub->present);
	assert_string_equal(pub->device, "net_af_xdp0,iface=eth0");
	assert_string_equal(pub->host_iface, "host0");
	assert_string_equal(priv->host_iface, "");
	assert_int_equal(pub->n_addresses, 2);
	assert_prefix(&pub->addresses[1], "2001:db8:1::2/64");
	config_addr_format(buf, sizeof(buf), &pub->gateway4);
	assert_string_equal(buf, "203.0.113.1");
	config_addr_format(buf, sizeof(buf), &pub->gateway6);
	assert_string_equal(buf, "fe80::1");
	assert_int_equal(pub->vlan, 0);
	assert_int_equal(pub->mtu, 0);
	assert_int_equal(pub->line, 27);

	assert_true(priv->present);
	assert_int_equal(priv->vlan, 100);
	assert_int_equal(priv->mtu, 9000);
	assert_int_equal(priv->gateway4.family, IP_NONE);
	assert_int_equal(priv->n_routes, 1);
	assert_prefix(&priv->routes[0].dst, "10.1.0.0/16");
	config_addr_format(buf, sizeof(buf), &priv->routes[0].via);
	assert_string_equal(buf, "10.0.0.254");
}

static void test_wg_quick_file(void **state)
{
	static const char *const ignored[] = {
		"gw.conf:3: wg-quick key 'SaveConfig' is ignored by portcullisd",
		"gw.conf:4: wg-quick key 'DNS' is ignored by portcullisd",
		"gw.conf:5: wg-quick key 'PostUp' is ignored by portcullisd",
		"gw.conf:6: wg-quick key 'PostDown' is ignored by portcullisd",
		"gw.conf:7: wg-quick key 'PreUp' is ignored by portcullisd",
		"gw.conf:8: wg-quick key 'PreDown' is ignored by portcullisd",
		"gw.conf:9: wg-quick key 'Table' is ignored by portcullisd",
	};
	struct notices n = { 0 };
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	(void)state;

	if (parse_flags(wg_quick_file, CONFIG_NO_PERMISSION_CHECK, &cfg, err, &n))
		fail_msg("%s", err);
	assert_int_equal(n.n, 7);
	for (int i = 0; i < 7; i++)
		assert_string_equal(n.msg[i], ignored[i]);
	assert_string_equal(cfg->path, "gw.conf");
	assert_int_equal(cfg->iface.fwmark, 0x1234);
	check_wg_quick_interface(cfg);
	check_wg_quick_peers(cfg);
	check_wg_quick_ports(cfg);
	config_free(cfg);
}

static void test_defaults(void **state)
{
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	(void)state;

	assert_int_equal(parse(IFACE PEER2, &cfg, err, NULL), 0);
	assert_false(cfg->iface.has_listen_port);
	assert_int_equal(cfg->iface.listen_port, CONFIG_DEFAULT_LISTEN_PORT);
	assert_int_equal(cfg->iface.mtu, 0);
	assert_false(cfg->ports[PORT_PUBLIC].present);
	assert_false(cfg->ports[PORT_PRIVATE].present);
	assert_false(cfg->peers[0].has_endpoint);
	assert_null(cfg->peers[0].endpoint_text);
	assert_int_equal(cfg->peers[0].n_allowed_ips, 0);
	assert_int_equal(cfg->iface.fwmark, 0);
	assert_int_equal(cfg->control.line, 0);
	assert_null(cfg->control.group);
	assert_null(cfg->control.metrics);
	config_free(cfg);
	config_free(NULL);
}

/* [Control] keeps the names as written; FwMark as wg reads it. */
static void test_control(void **state)
{
	static const struct {
		const char *text;
		const char *group, *metrics;
		unsigned line;
	} cases[] = {
		/* 0 */ { IFACE "[Control]\nGroup = root\nMetrics = 127.0.0.1:9586\n",
			  "root", "127.0.0.1:9586", 3 },
		/* 1 */ { IFACE PEER2 "[CONTROL]\nmetrics = [::1]:9586 # local\n",
			  NULL, "[::1]:9586", 5 },
		/* 2 */ { IFACE "[Control]\nMetrics = /run/portcullis/m.sock\n" PEER2,
			  NULL, "/run/portcullis/m.sock", 3 },
		/* 3 */ { IFACE "[Control]\nMetrics = off\nGroup = root\n", "root", NULL, 3 },
	};
	static const struct {
		const char *value;
		uint32_t fwmark;
	} marks[] = {
		{ "off", 0 }, { "0", 0 }, { "51820", 51820 }, { "0x0", 0 },
		{ "0xCA6C", 0xca6c }, { "0Xffffffff", 0xffffffff },
		{ "4294967295", 0xffffffff },
	};
	char err[CONFIG_ERR_LEN], text[256];
	struct config *cfg;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].text, &cfg, err, NULL) != 0)
			fail_msg("control case %zu refused: %s", i, err);
		if (cases[i].group)
			assert_string_equal(cfg->control.group, cases[i].group);
		else
			assert_null(cfg->control.group);
		if (cases[i].metrics)
			assert_string_equal(cfg->control.metrics, cases[i].metrics);
		else
			assert_null(cfg->control.metrics);
		assert_int_equal(cfg->control.line, cases[i].line);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		snprintf(text, sizeof(text), IFACE "FwMark = %s\n", marks[i].value);
		if (parse(text, &cfg, err, NULL) != 0)
			fail_msg("FwMark %s refused: %s", marks[i].value, err);
		assert_int_equal(cfg->iface.fwmark, marks[i].fwmark);
		config_free(cfg);
	}
}

/* Host bits are cleared, and a prefix on two peers moves to the last one
 * with a notice, as wg does. */
static void test_allowed_ips(void **state)
{
	struct notices n = { 0 };
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	(void)state;

	assert_int_equal(parse(IFACE PEER2 "AllowedIPs = 10.1.2.3/16, 10.9.0.0/24\n"
			       "AllowedIPs = fd00::1/64, 10.9.0.0/24\n"
			       PEER3 "AllowedIPs = 10.9.0.7/24, 192.0.2.1\n",
			       &cfg, err, &n), 0);
	assert_int_equal(cfg->peers[0].n_allowed_ips, 2);
	assert_prefix(&cfg->peers[0].allowed_ips[0], "10.1.0.0/16");
	assert_prefix(&cfg->peers[0].allowed_ips[1], "fd00::/64");
	assert_int_equal(cfg->peers[1].n_allowed_ips, 2);
	assert_prefix(&cfg->peers[1].allowed_ips[0], "10.9.0.0/24");
	assert_prefix(&cfg->peers[1].allowed_ips[1], "192.0.2.1/32");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.msg[0],
			    "gw.conf:7: AllowedIPs 10.9.0.0/24 is also on [Peer] at line 3; as wg does, it goes to the last peer listing it (this one)");
	config_free(cfg);
}

static void test_endpoints(void **state)
{
	struct notices n = { 0 };
	struct config *cfg;
	char err[CONFIG_ERR_LEN], buf[64];
	(void)state;

	assert_int_equal(parse(IFACE PEER2 "Endpoint = [fe80::1:2]:9\n" PEER3
			       "Endpoint = vpn.example.com:51820\n", &cfg, err, &n), 0);
	config_endpoint_format(buf, sizeof(buf), &cfg->peers[0].endpoint);
	assert_string_equal(buf, "[fe80::1:2]:9");
	assert_string_equal(cfg->peers[0].endpoint_text, "[fe80::1:2]:9");
	/* CONFIG_NO_DNS: kept as text, not resolved, and said so. */
	assert_false(cfg->peers[1].has_endpoint);
	assert_string_equal(cfg->peers[1].endpoint_text, "vpn.example.com:51820");
	assert_int_equal(n.n, 1);
	assert_string_equal(n.msg[0], "gw.conf:8: Endpoint 'vpn.example.com:51820' not resolved (DNS disabled)");
	config_free(cfg);

	/* localhost resolves from /etc/hosts, no DNS server needed. */
	n.n = 0;
	if (parse_flags(IFACE PEER2 "Endpoint = localhost:51820\n", 0, &cfg, err, &n))
		fail_msg("%s", err);
	assert_true(cfg->peers[0].has_endpoint);
	assert_int_equal(cfg->peers[0].endpoint.port, 51820);
	config_endpoint_format(buf, sizeof(buf), &cfg->peers[0].endpoint);
	assert_true(strcmp(buf, "127.0.0.1:51820") == 0 ||
		    strcmp(buf, "[::1]:51820") == 0);
	assert_int_equal(n.n, 1);
	assert_non_null(strstr(n.msg[0], "gw.conf:5: Endpoint 'localhost:51820' resolved to "));
	config_free(cfg);
}

/* --- helpers ------------------------------------------------------------------- */

static void test_helpers(void **state)
{
	static const char *const bad_prefixes[] = {
		"", "/", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0/8",
		"10.0.0.0/8/8", "10.0.0.0/-1", "1.2.3.4 ", "::1%eth0", "x",
		"10.0.0.0/+8", "01.2.3.4",
	};
	struct ip_prefix p;
	struct ip_addr a;
	struct ip_endpoint e = { 0 };
	uint8_t key[32];
	char b64[45], buf[64];
	(void)state;

	assert_int_equal(config_key_from_base64(key, PUB2), 0);
	config_key_to_base64(b64, key);
	assert_string_equal(b64, PUB2);
	assert_int_not_equal(config_key_from_base64(key, PUB2 "="), 0);
	assert_int_not_equal(config_key_from_base64(key, " " PUB2), 0);
	assert_int_not_equal(config_key_from_base64(key, ""), 0);

	for (size_t i = 0; i < sizeof(bad_prefixes) / sizeof(bad_prefixes[0]); i++)
		if (config_prefix_parse(bad_prefixes[i], &p) == 0)
			fail_msg("bad prefix %zu '%s' accepted", i, bad_prefixes[i]);
	assert_int_equal(config_prefix_parse("10.1.2.3/8", &p), 0);
	assert_prefix(&p, "10.1.2.3/8");
	config_prefix_mask(&p);
	assert_prefix(&p, "10.0.0.0/8");
	assert_int_equal(config_prefix_parse("2001:db8:ffff::1/33", &p), 0);
	config_prefix_mask(&p);
	assert_prefix(&p, "2001:db8:8000::/33");
	assert_int_equal(config_prefix_parse("::", &p), 0);
	assert_int_equal(p.cidr, 128);
	assert_int_equal(config_prefix_parse("0.0.0.0/0", &p), 0);
	config_prefix_mask(&p);
	assert_prefix(&p, "0.0.0.0/0");

	assert_int_equal(config_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, IP_V4);
	assert_int_not_equal(config_addr_parse("192.0.2.1/32", &a), 0);
	e.addr.family = IP_NONE;
	config_endpoint_format(buf, sizeof(buf), &e);
	assert_string_equal(buf, "(none):0");
	assert_int_equal(config_addr_parse("::1", &e.addr), 0);
	e.port = 65535;
	config_endpoint_format(buf, sizeof(buf), &e);
	assert_string_equal(buf, "[::1]:65535");
}

/* --- real files: permissions, PrivateKeyFile, errors opening ----------------- */

struct tmp {
	char dir[64];
	char conf[128];
	char key[128];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int load(const char *path, unsigned flags, struct config **cfg, char *err)
{
	return config_load(path, flags, collect, NULL, cfg, err, CONFIG_ERR_LEN);
}

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/portcullis-test-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->conf, sizeof(t->conf), "%s/gw.conf", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/wg.key", t->dir);
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;

	unlink(t->conf);
	unlink(t->key);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void expect_load_error(const char *path, unsigned flags, const char *reason)
{
	struct config *cfg;
	char err[CONFIG_ERR_LEN], want[CONFIG_ERR_LEN];

	snprintf(want, sizeof(want), "%s%s", path, reason);
	assert_int_not_equal(load(path, flags, &cfg, err), 0);
	assert_null(cfg);
	assert_string_equal(err, want);
}

static void test_inline_key_permissions(void **state)
{
	struct tmp *t = *state;
	struct config *cfg;
	char err[CONFIG_ERR_LEN];

	write_file(t->conf, IFACE PEER2, 0644);
	expect_load_error(t->conf, 0, ": permissions 0644 are too open: the file holds a private key; chmod 600 it");
	assert_int_equal(chmod(t->conf, 0640), 0);
	expect_load_error(t->conf, 0, ": permissions 0640 are too open: the file holds a private key; chmod 600 it");
	assert_int_equal(load(t->conf, CONFIG_NO_PERMISSION_CHECK, &cfg, err), 0);
	config_free(cfg);
	assert_int_equal(chmod(t->conf, 0600), 0);
	assert_int_equal(load(t->conf, 0, &cfg, err), 0);
	assert_string_equal(cfg->path, t->conf);
	config_free(cfg);
}

static void test_key_file(void **state)
{
	struct tmp *t = *state;
	struct config *cfg;
	char err[CONFIG_ERR_LEN];
	uint8_t key[32];

	/* No secret inline: the config itself may be world-readable. */
	write_file(t->conf, "[Interface]\nPrivateKeyFile = wg.key\n" PEER2, 0644);
	write_file(t->key, PRIV "\n", 0600);
	if (load(t->conf, 0, &cfg, err) != 0)
		fail_msg("%s", err);
	assert_true(cfg->iface.has_private_key);
	assert_string_equal(cfg->iface.private_key_file, t->key);
	assert_int_equal(config_key_from_base64(key, PRIV), 0);
	assert_memory_equal(cfg->iface.private_key, key, 32);
	config_free(cfg);

	assert_int_equal(chmod(t->key, 0644), 0);
	expect_load_error(t->conf, 0, ":2: PrivateKeyFile 'wg.key': permissions 0644 are too open: the file holds a private key; chmod 600 it");
	assert_int_equal(load(t->conf, CONFIG_NO_PERMISSION_CHECK, &cfg, err), 0);
	config_free(cfg);

	write_file(t->key, PRIV "\n" PRIV "\n", 0600);
	expect_load_error(t->conf, 0, ":2: bad PrivateKeyFile 'wg.key' (must hold one base64 32-byte key)");

	/* Absolute path, and both kinds of key at once. */
	write_file(t->key, PRIV, 0600);
	char text[512];
	snprintf(text, sizeof(text), "[Interface]\nPrivateKeyFile = %s\nPrivateKey = " PRIV "\n", t->key);
	write_file(t->conf, text, 0600);
	expect_load_error(t->conf, 0, ":1: [Interface] has both PrivateKey and PrivateKeyFile (use one)");

	/* A preshared key is a secret too. */
	write_file(t->conf, "[Interface]\nPrivateKeyFile = wg.key\n" PEER2 "PresharedKey = " PSK "\n", 0604);
	expect_load_error(t->conf, 0, ": permissions 0604 are too open: the file holds a preshared key; chmod 600 it");
}

static void test_load_errors(void **state)
{
	struct tmp *t = *state;

	expect_load_error(t->key, 0, ": cannot read: No such file or directory");
	expect_load_error(t->dir, 0, ": not a regular file");
	write_file(t->conf, "[Interface]\nPrivateKeyFile = .\n", 0600);
	expect_load_error(t->conf, 0, ":2: PrivateKeyFile '.' is not a regular file");
}

/* --- the documented examples ----------------------------------------------------- */


/* The documented example says what each key does; make sure it parses to
 * what it says. */
static void check_bastion_example(const struct config *cfg)
{
	char buf[64];

	assert_true(cfg->nat.enabled);
	assert_int_equal(cfg->nat.n_masquerade, 2);
	assert_prefix(&cfg->nat.masquerade[0], "10.0.0.0/16");
	assert_prefix(&cfg->nat.masquerade[1], "10.10.0.0/24");
	config_addr_format(buf, sizeof(buf), &cfg->nat.external);
	assert_string_equal(buf, "203.0.113.10");
	assert_true(cfg->nat.n_forwards >= 2);
	assert_int_equal(cfg->nat.mss_clamp, NAT_MSS_AUTO);
	assert_int_equal(cfg->nat.port_min, NAT_DEFAULT_PORT_MIN);
	assert_int_equal(cfg->nat.port_max, NAT_DEFAULT_PORT_MAX);
	assert_int_equal(cfg->nat.filtering, NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT);
	assert_int_equal(cfg->nat.timeout[NAT_TIMEOUT_UDP], NAT_DEFAULT_UDP_TIMEOUT);
	assert_int_equal(cfg->nat.max_sessions, NAT_DEFAULT_MAX_SESSIONS);
	assert_true(cfg->nat.allow_tunnel_to_private);
	assert_true(cfg->nat.allow_private_to_tunnel);
}

static void test_example_configs(void **state)
{
	char root[2048], dir[4096], path[8192], err[CONFIG_ERR_LEN];
	struct config *cfg;
	struct dirent *de;
	DIR *d;
	int loaded = 0;
	bool bastion = false;
	(void)state;

	source_root(root, sizeof(root), "config/road-warrior.conf");
	snprintf(dir, sizeof(dir), "%sconfig", root);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load(path, CONFIG_NO_PERMISSION_CHECK | CONFIG_NO_DNS, &cfg, err))
			fail_msg("%s", err);
		/* Every example is a complete gateway. */
		assert_true(cfg->ports[PORT_PUBLIC].present);
		assert_true(cfg->ports[PORT_PRIVATE].present);
		assert_true(cfg->n_peers > 0);
		if (strcmp(de->d_name, "bastion-nat.conf") == 0) {
			check_bastion_example(cfg);
			bastion = true;
		}
		config_free(cfg);
		loaded++;
	}
	closedir(d);
	assert_true(loaded >= 4);
	assert_true(bastion);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_wg_quick_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_allowed_ips),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test_setup_teardown(test_inline_key_permissions, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_key_file, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_errors, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_example_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
