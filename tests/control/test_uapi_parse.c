/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/uapi_parse.c: requests the stock wg(8) v1.0.20210914
 * sent to a fake socket (setconf, set, syncconf), numbered tables of good
 * requests with the model they give and of bad ones with their errno and
 * exact reason, the bounds, framing, a byte-tamper loop, and a check that
 * uapi_set_free wipes the preshared keys before the memory is freed
 * (free is wrapped at link time: -Wl,--wrap=free).
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

#include "uapi_parse.h"

/* Throwaway keys from `wg genkey` / `wg genpsk`, in the hex wg sends. */
#define PRIV "002c6c609a135e0ce71ff6c445c8f27bbd5dd58246ee11b7902143304336487b"
#define PUB2 "cdb1502e2db6dbb0b659b7138537eb4b692d10c34340023e043ee376077f173d"
#define PUB3 "74362a4baf1ecb5ea7980e263d1d6ad995dc798cc84f9760129cf298f3ed2c18"
#define PSK "cc4d7d06a42be06f8834a19c5e9307c9b509ec96a7162dec97b3f8d7a8d28018"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

/* `wg setconf` of a two-peer file, byte for byte (after "set=1\n"). */
static const char setconf[] =
	"private_key=" PRIV "\nlisten_port=51820\nfwmark=4660\n"
	"replace_peers=true\n"
	"public_key=" PUB2 "\npreshared_key=" PSK "\n"
	"endpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=25\n"
	"replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\n"
	"allowed_ip=fd00::/64\n"
	"public_key=" PUB3 "\nendpoint=192.0.2.7:4500\n"
	"replace_allowed_ips=true\nallowed_ip=0.0.0.0/0\n\n";

/* `wg set gw listen-port 0 fwmark off private-key /dev/null peer P2 remove
 * peer P3 preshared-key /dev/null endpoint [::1]:1 persistent-keepalive off
 * allowed-ips ''`. */
static const char set_clear[] =
	"private_key=" ZERO "\nlisten_port=0\nfwmark=0\n"
	"public_key=" PUB2 "\nremove=true\n"
	"public_key=" PUB3 "\npreshared_key=" ZERO "\nendpoint=[::1]:1\n"
	"persistent_keepalive_interval=0\nreplace_allowed_ips=true\n\n";

static void hex_to_key(uint8_t key[32], const char *hex)
{
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &key[i]);
}

static void assert_key(const uint8_t key[32], const char *hex)
{
	uint8_t want[32];

	hex_to_key(want, hex);
	assert_memory_equal(key, want, 32);
}

static void assert_prefix(const struct uapi_allowed_ip *a, const char *text,
			  bool remove)
{
	char buf[64];

	config_prefix_format(buf, sizeof(buf), &a->prefix);
	assert_string_equal(buf, text);
	assert_int_equal(a->remove, remove);
}

static void assert_endpoint(const struct uapi_peer *p, const char *text)
{
	char buf[64];

	assert_true(p->has_endpoint);
	config_endpoint_format(buf, sizeof(buf), &p->endpoint);
	assert_string_equal(buf, text);
}

static int parse(const char *text, struct uapi_set *set, char *err)
{
	return uapi_set_parse(text, strlen(text), set, err, UAPI_ERR_LEN);
}

/* --- what the stock wg sends --------------------------------------------- */

static void test_wg_setconf(void **state)
{
	struct uapi_set s;
	char err[UAPI_ERR_LEN];

	(void)state;
	assert_int_equal(parse(setconf, &s, err), 0);
	assert_string_equal(err, "");
	assert_true(s.has_private_key);
	assert_key(s.private_key, PRIV);
	assert_true(s.has_listen_port);
	assert_int_equal(s.listen_port, 51820);
	assert_true(s.has_fwmark);
	assert_int_equal(s.fwmark, 0x1234);
	assert_true(s.replace_peers);
	assert_int_equal(s.n_peers, 2);

	assert_key(s.peers[0].public_key, PUB2);
	assert_int_equal(s.peers[0].line, 5);
	assert_true(s.peers[0].has_preshared_key);
	assert_key(s.peers[0].preshared_key, PSK);
	assert_endpoint(&s.peers[0], "[2001:db8::1]:51820");
	assert_true(s.peers[0].has_persistent_keepalive);
	assert_int_equal(s.peers[0].persistent_keepalive, 25);
	assert_true(s.peers[0].replace_allowed_ips);
	assert_int_equal(s.peers[0].n_allowed_ips, 2);
	assert_prefix(&s.peers[0].allowed_ips[0], "10.0.0.0/24", false);
	assert_prefix(&s.peers[0].allowed_ips[1], "fd00::/64", false);
	assert_false(s.peers[0].remove);
	assert_false(s.peers[0].update_only);

	assert_key(s.peers[1].public_key, PUB3);
	assert_false(s.peers[1].has_preshared_key);
	assert_false(s.peers[1].has_persistent_keepalive);
	assert_endpoint(&s.peers[1], "192.0.2.7:4500");
	assert_int_equal(s.peers[1].n_allowed_ips, 1);
	assert_prefix(&s.peers[1].allowed_ips[0], "0.0.0.0/0", false);
	uapi_set_free(&s);
	assert_null(s.peers);
	assert_int_equal(s.n_peers, 0);
}

static void test_wg_set_clear(void **state)
{
	struct uapi_set s;
	char err[UAPI_ERR_LEN];

	(void)state;
	assert_int_equal(parse(set_clear, &s, err), 0);
	assert_true(s.has_private_key);
	assert_key(s.private_key, ZERO);          /* remove the key */
	assert_true(s.has_listen_port);
	assert_int_equal(s.listen_port, 0);
	assert_true(s.has_fwmark);
	assert_int_equal(s.fwmark, 0);
	assert_false(s.replace_peers);
	assert_int_equal(s.n_peers, 2);
	assert_true(s.peers[0].remove);
	assert_false(s.peers[1].remove);
	assert_true(s.peers[1].has_preshared_key);
	assert_key(s.peers[1].preshared_key, ZERO);
	assert_endpoint(&s.peers[1], "[::1]:1");
	assert_true(s.peers[1].has_persistent_keepalive);
	assert_int_equal(s.peers[1].persistent_keepalive, 0);
	assert_true(s.peers[1].replace_allowed_ips);
	assert_int_equal(s.peers[1].n_allowed_ips, 0);
	uapi_set_free(&s);
}

/* --- good requests ------------------------------------------------------- */

struct good_case {
	const char *text;
	size_t n_peers;
	/* For the last peer: allowed IPs as "prefix" / "-prefix", "|"-joined. */
	const char *allowed;
};

static const struct good_case good[] = {
	/* 0 */ { "\n", 0, NULL },                  /* set=1 with nothing */
	/* 1 */ { "\r\n", 0, NULL },                /* Go's Scanner drops \r */
	/* 2 */ { "listen_port=1\r\nfwmark=4294967295\r\n\r\n", 0, NULL },
	/* 3 */ { "public_key=" PUB2 "\nupdate_only=true\nprotocol_version=1\n"
		  "allowed_ip=10.1.0.0/16\n\n", 1, "10.1.0.0/16" },
	/* 4 */ { "public_key=" PUB2 "\nallowed_ip=-10.0.0.0/8\n"
		  "allowed_ip=-fd00::/64\nallowed_ip=192.0.2.1/32\n\n",
		  1, "-10.0.0.0/8|-fd00::/64|192.0.2.1/32" },
	/* 5: host bits cleared, as wireguard-go's trie stores them */
	/* 5 */ { "public_key=" PUB2 "\nallowed_ip=10.1.2.3/16\n"
		  "allowed_ip=fd00::1/0\n\n", 1, "10.1.0.0/16|::/0" },
	/* 6: allowed_ip before replace_allowed_ips is undone by it */
	/* 6 */ { "public_key=" PUB2 "\nallowed_ip=10.0.0.0/8\n"
		  "replace_allowed_ips=true\nallowed_ip=10.9.0.0/16\n\n",
		  1, "10.9.0.0/16" },
	/* 7: the same peer twice: two sections, applied in order */
	/* 7 */ { "public_key=" PUB2 "\nremove=true\npublic_key=" PUB2 "\n"
		  "allowed_ip=10.0.0.0/8\n\n", 2, "10.0.0.0/8" },
	/* 8: uppercase hex (Go's hex.DecodeString takes it) */
	/* 8 */ { "public_key=CDB1502E2DB6DBB0B659B7138537EB4B692D10C34340023E"
		  "043EE376077F173D\n\n", 1, "" },
	/* 9: lines after remove are still checked, then ignored */
	/* 9 */ { "public_key=" PUB3 "\nremove=true\nendpoint=[::ffff:192.0.2.1]:0\n"
		  "persistent_keepalive_interval=65535\n\n", 1, "" },
	/* 10: repeated interface keys are fine; each is applied in turn */
	/* 10 */ { "listen_port=00051820\nlisten_port=7\nreplace_peers=true\n"
		   "replace_peers=true\n\n", 0, NULL },
};

static void check_allowed(const struct uapi_peer *p, const char *want,
			  size_t i)
{
	char got[512] = "", buf[64];

	for (size_t j = 0; j < p->n_allowed_ips; j++) {
		config_prefix_format(buf, sizeof(buf), &p->allowed_ips[j].prefix);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s%s",
			 j ? "|" : "", p->allowed_ips[j].remove ? "-" : "", buf);
	}
	if (strcmp(got, want) != 0)
		fail_msg("good case %zu: allowed_ips '%s', want '%s'", i, got,
			 want);
}

static void test_good_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct uapi_set s;
		char err[UAPI_ERR_LEN];
		int ret = parse(good[i].text, &s, err);

		if (ret != 0)
			fail_msg("good case %zu: %d %s", i, ret, err);
		assert_int_equal(s.n_peers, good[i].n_peers);
		if (good[i].allowed)
			check_allowed(&s.peers[s.n_peers - 1], good[i].allowed, i);
		uapi_set_free(&s);
	}
}

/* Later lines win, as each is applied in turn by wireguard-go. */
static void test_last_value_wins(void **state)
{
	struct uapi_set s;
	char err[UAPI_ERR_LEN];

	(void)state;
	assert_int_equal(parse(good[10].text, &s, err), 0);
	assert_int_equal(s.listen_port, 7);
	uapi_set_free(&s);
	assert_int_equal(parse("public_key=" PUB2 "\nupdate_only=true\n"
			       "endpoint=192.0.2.1:1\nendpoint=[fe80::1]:2\n\n",
			       &s, err), 0);
	assert_true(s.peers[0].update_only);
	assert_endpoint(&s.peers[0], "[fe80::1]:2");
	uapi_set_free(&s);
}

/* --- bad requests -------------------------------------------------------- */

struct bad_case {
	const char *text;
	int ret;
	const char *err;
};

#define P2 "public_key=" PUB2 "\n"

static const struct bad_case bad[] = {
	/* 0 */ { "", -EPROTO, "line 1: request does not end with an empty line" },
	/* 1 */ { "listen_port=1\n", -EPROTO,
		  "line 2: request does not end with an empty line" },
	/* 2 */ { "listen_port=1", -EPROTO,
		  "line 1: request does not end with an empty line" },
	/* 3 */ { "listen_port\n\n", -EPROTO, "line 1: missing '=' (want key=value)" },
	/* 4 */ { "foo=1\n\n", -EINVAL, "line 1: unknown key 'foo'" },
	/* 5 */ { "Listen_Port=1\n\n", -EINVAL, "line 1: unknown key (not shown)" },
	/* 6 */ { " listen_port=1\n\n", -EINVAL, "line 1: unknown key (not shown)" },
	/* 7 */ { "endpoint=192.0.2.1:1\n\n", -EINVAL,
		  "line 1: 'endpoint' needs a public_key line before it" },
	/* 8 */ { "allowed_ip=10.0.0.0/8\n\n", -EINVAL,
		  "line 1: 'allowed_ip' needs a public_key line before it" },
	/* 9 */ { P2 "listen_port=1\n\n", -EINVAL, "line 2: 'listen_port' is an "
		  "interface key: it must come before the first public_key" },
	/* 10 */ { P2 "protocol_version=2\n\n", -EINVAL,
		   "line 2: unsupported protocol_version '2' (must be 1)" },
	/* 11 */ { "private_key=\n\n", -EINVAL,
		   "line 1: bad private_key (want 64 hex digits)" },
	/* 12 */ { "private_key=" PRIV "0\n\n", -EINVAL,
		   "line 1: bad private_key (want 64 hex digits)" },
	/* 13 */ { "public_key=" ZERO "x\n\n", -EINVAL,
		   "line 1: bad public_key (want 64 hex digits)" },
	/* 14 */ { "public_key=g" PUB2 "\n\n", -EINVAL,
		   "line 1: bad public_key (want 64 hex digits)" },
	/* 15 */ { P2 "preshared_key=" "zz" PSK "\n\n", -EINVAL,
		   "line 2: bad preshared_key (want 64 hex digits)" },
	/* 16 */ { "listen_port=65536\n\n", -EINVAL,
		   "line 1: bad listen_port '65536' (must be 0..65535)" },
	/* 17 */ { "listen_port=-1\n\n", -EINVAL,
		   "line 1: bad listen_port '-1' (must be 0..65535)" },
	/* 18 */ { "listen_port=\n\n", -EINVAL,
		   "line 1: bad listen_port '' (must be 0..65535)" },
	/* 19 */ { "fwmark=0x10\n\n", -EINVAL,
		   "line 1: bad fwmark '0x10' (must be 0..4294967295)" },
	/* 20 */ { "replace_peers=false\n\n", -EINVAL,
		   "line 1: replace_peers must be 'true'" },
	/* 21 */ { P2 "remove=1\n\n", -EINVAL, "line 2: remove must be 'true'" },
	/* 22 */ { P2 "update_only=\n\n", -EINVAL,
		   "line 2: update_only must be 'true'" },
	/* 23 */ { P2 "replace_allowed_ips=TRUE\n\n", -EINVAL,
		   "line 2: replace_allowed_ips must be 'true'" },
	/* 24 */ { P2 "endpoint=192.0.2.1:65536\n\n", -EINVAL, "line 2: bad "
		   "endpoint '192.0.2.1:65536' (want a.b.c.d:port or [v6]:port)" },
	/* 25 */ { P2 "endpoint=2001:db8::1:51820\n\n", -EINVAL, "line 2: bad "
		   "endpoint '2001:db8::1:51820' (want a.b.c.d:port or [v6]:port)" },
	/* 26 */ { P2 "endpoint=[192.0.2.1]:1\n\n", -EINVAL, "line 2: bad "
		   "endpoint '[192.0.2.1]:1' (want a.b.c.d:port or [v6]:port)" },
	/* 27 */ { P2 "endpoint=[fe80::1%eth0]:1\n\n", -EINVAL, "line 2: bad "
		   "endpoint '[fe80::1%eth0]:1' (want a.b.c.d:port or [v6]:port)" },
	/* 28 */ { P2 "endpoint=vpn.example.com:51820\n\n", -EINVAL, "line 2: bad "
		   "endpoint 'vpn.example.com:51820' (want a.b.c.d:port or "
		   "[v6]:port)" },
	/* 29 */ { P2 "endpoint=192.0.2.1:\n\n", -EINVAL, "line 2: bad "
		   "endpoint '192.0.2.1:' (want a.b.c.d:port or [v6]:port)" },
	/* 30 */ { P2 "persistent_keepalive_interval=65536\n\n", -EINVAL,
		   "line 2: bad persistent_keepalive_interval '65536' "
		   "(must be 0..65535)" },
	/* 31 */ { P2 "allowed_ip=10.0.0.1\n\n", -EINVAL,
		   "line 2: bad allowed_ip '10.0.0.1' (want addr/cidr)" },
	/* 32 */ { P2 "allowed_ip=10.0.0.0/33\n\n", -EINVAL,
		   "line 2: bad allowed_ip '10.0.0.0/33' (want addr/cidr)" },
	/* 33 */ { P2 "allowed_ip=10.0.0.0/08\n\n", -EINVAL,
		   "line 2: bad allowed_ip '10.0.0.0/08' (want addr/cidr)" },
	/* 34 */ { P2 "allowed_ip=--10.0.0.0/8\n\n", -EINVAL,
		   "line 2: bad allowed_ip '-10.0.0.0/8' (want addr/cidr)" },
	/* 35 */ { P2 "allowed_ip=+10.0.0.0/8\n\n", -EINVAL,
		   "line 2: bad allowed_ip '+10.0.0.0/8' (want addr/cidr)" },
	/* 36 */ { P2 "allowed_ip=\n\n", -EINVAL,
		   "line 2: bad allowed_ip '' (want addr/cidr)" },
	/* 37 */ { "listen_port=1\n\nget=1\n\n", -EPROTO,
		   "line 2: data after the empty line" },
	/* 38 */ { "listen_port=1\n\n\n", -EPROTO,
		   "line 2: data after the empty line" },
	/* 39: an error after good lines: nothing is returned (atomic set) */
	/* 39 */ { "private_key=" PRIV "\n" P2 "allowed_ip=10.0.0.0/8\n"
		   "public_key=" PUB3 "\nendpoint=x\n\n", -EINVAL,
		   "line 5: bad endpoint 'x' (want a.b.c.d:port or [v6]:port)" },
	/* 40: a line that may be a pasted key is not echoed */
	/* 40 */ { PRIV "\n\n", -EPROTO, "line 1: missing '=' (want key=value)" },
	/* 41 */ { PRIV "=1\n\n", -EINVAL, "line 1: unknown key (not shown)" },
	/* 42 */ { "=1\n\n", -EINVAL, "line 1: unknown key (not shown)" },
	/* 43 */ { "get=1\n\n", -EINVAL, "line 1: unknown key 'get'" },
};

static void check_bad(const char *text, size_t len, int want_ret,
		      const char *want_err, size_t i)
{
	struct uapi_set s;
	char err[UAPI_ERR_LEN];
	int ret;

	memset(&s, 0xa5, sizeof(s));
	ret = uapi_set_parse(text, len, &s, err, sizeof(err));
	if (ret != want_ret || strcmp(err, want_err) != 0)
		fail_msg("bad case %zu: got %d '%s', want %d '%s'", i, ret, err,
			 want_ret, want_err);
	/* Nothing half-parsed is handed back. */
	assert_null(s.peers);
	assert_int_equal(s.n_peers, 0);
	assert_false(s.has_private_key);
	assert_false(s.has_listen_port);
	assert_false(s.replace_peers);
	uapi_set_free(&s);                        /* harmless on empty */
}

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(bad[i].text, strlen(bad[i].text), bad[i].ret,
			  bad[i].err, i);
	/* A NUL inside a line (strlen would stop there). */
	check_bad("listen_port=1\0\n\n", 16, -EINVAL, "line 1: NUL byte in line",
		  100);
}

/* --- bounds -------------------------------------------------------------- */

static char *repeat(const char *head, const char *item, size_t n,
		    const char *tail, size_t *len)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *buf = malloc(hl + il * n + tl + 1), *p = buf;

	assert_non_null(buf);
	memcpy(p, head, hl), p += hl;
	for (size_t i = 0; i < n; i++)
		memcpy(p, item, il), p += il;
	memcpy(p, tail, tl + 1);
	*len = hl + il * n + tl;
	return buf;
}

static void test_bounds(void **state)
{
	char err[UAPI_ERR_LEN], *buf, want[UAPI_ERR_LEN];
	struct uapi_set s;
	size_t len;

	(void)state;
	/* The longest line allowed is fine up to its value; one more byte
	 * is refused as too long, before its key is even looked at. */
	buf = repeat("fwmark=", "0", UAPI_MAX_LINE_LEN - 8, "1\n\n", &len);
	assert_int_equal(uapi_set_parse(buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.fwmark, 1);
	uapi_set_free(&s);
	free(buf);
	buf = repeat("fwmark=", "0", UAPI_MAX_LINE_LEN - 7, "1\n\n", &len);
	check_bad(buf, len, -EINVAL, "line 1: line too long (at most 4096 bytes)",
		  200);
	free(buf);

	/* Peers: UAPI_MAX_PEERS sections parse, one more is refused. */
	buf = repeat("", "public_key=" PUB2 "\n", UAPI_MAX_PEERS, "\n", &len);
	assert_int_equal(uapi_set_parse(buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_peers, UAPI_MAX_PEERS);
	uapi_set_free(&s);
	free(buf);
	buf = repeat("", "public_key=" PUB2 "\n", UAPI_MAX_PEERS + 1, "\n", &len);
	snprintf(want, sizeof(want), "line %d: too many peers (at most %d)",
		 UAPI_MAX_PEERS + 1, UAPI_MAX_PEERS);
	check_bad(buf, len, -EINVAL, want, 201);
	free(buf);

	/* Allowed IPs per peer section. */
	buf = repeat(P2, "allowed_ip=10.0.0.0/8\n", UAPI_MAX_ALLOWED_IPS, "\n",
		     &len);
	assert_int_equal(uapi_set_parse(buf, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.peers[0].n_allowed_ips, UAPI_MAX_ALLOWED_IPS);
	uapi_set_free(&s);
	free(buf);
	buf = repeat(P2, "allowed_ip=10.0.0.0/8\n", UAPI_MAX_ALLOWED_IPS + 1,
		     "\n", &len);
	snprintf(want, sizeof(want), "line %d: too many allowed_ip lines for one "
		 "peer (at most %d)", UAPI_MAX_ALLOWED_IPS + 2,
		 UAPI_MAX_ALLOWED_IPS);
	check_bad(buf, len, -EINVAL, want, 202);
	free(buf);

	/* The whole request: refused before any line is read. */
	buf = repeat("", "\n", UAPI_SET_MAX_SIZE + 1, "", &len);
	snprintf(want, sizeof(want), "request too large (%d bytes, at most %d)",
		 UAPI_SET_MAX_SIZE + 1, UAPI_SET_MAX_SIZE);
	check_bad(buf, len, -EMSGSIZE, want, 203);
	free(buf);

	/* A short err buffer is still terminated; errlen 0 is allowed. */
	assert_int_equal(uapi_set_parse("x\n\n", 3, &s, err, 8), -EPROTO);
	assert_string_equal(err, "line 1:");
	assert_int_equal(uapi_set_parse("x\n\n", 3, &s, NULL, 0), -EPROTO);
}

/* --- framing ------------------------------------------------------------- */

static void test_request_end(void **state)
{
	static const struct {
		const char *buf;
		size_t end;
	} cases[] = {
		/* 0 */ { "", 0 },
		/* 1 */ { "get=1\n", 0 },
		/* 2 */ { "get=1\n\n", 7 },
		/* 3 */ { "get=1\n\nget=1\n\n", 7 },
		/* 4 */ { "set=1\nlisten_port=1\n", 0 },
		/* 5 */ { "set=1\nlisten_port=1\n\nset=1\n", 21 },
		/* 6 */ { "set=1\r\nlisten_port=1\r\n\r\n", 24 },
		/* 7 */ { "set=1\nlisten_port=1\n\r", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = uapi_request_end(cases[i].buf, strlen(cases[i].buf));

		if (got != cases[i].end)
			fail_msg("framing case %zu: %zu, want %zu", i, got,
				 cases[i].end);
	}
	/* Framed then parsed: the body after "set=1\n" is exactly a request. */
	{
		const char req[] = "set=1\nlisten_port=9\n\nget=1\n\n";
		size_t end = uapi_request_end(req, sizeof(req) - 1);
		struct uapi_set s;
		char err[UAPI_ERR_LEN];

		assert_int_equal(uapi_set_parse(req + 6, end - 6, &s, err,
						 sizeof(err)), 0);
		assert_int_equal(s.listen_port, 9);
		uapi_set_free(&s);
	}
}

/* --- tamper loop --------------------------------------------------------- */

/* Every byte of wg's setconf request replaced by each of a few chosen
 * bytes: the parser either accepts or refuses with a reason and an empty
 * model, and never echoes a key's hex digits. */
static void test_tamper(void **state)
{
	static const char subst[] = { '\n', '\r', '=', '-', '/', ':', '[', '0',
				      'g', ' ', '\0', 'A' };
	char buf[sizeof(setconf)], err[UAPI_ERR_LEN];
	size_t len = sizeof(setconf) - 1, accepted = 0, refused = 0;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (size_t j = 0; j < sizeof(subst); j++) {
			struct uapi_set s;
			int ret;

			memcpy(buf, setconf, sizeof(buf));
			buf[i] = subst[j];
			ret = uapi_set_parse(buf, len, &s, err, sizeof(err));
			if (ret == 0) {
				accepted++;
				uapi_set_free(&s);
				continue;
			}
			refused++;
			assert_true(ret == -EINVAL || ret == -EPROTO);
			assert_true(err[0] != '\0');
			assert_null(s.peers);
			assert_null(strstr(err, "c6c609a1"));   /* PRIV */
			assert_null(strstr(err, "7d06a42b"));   /* PSK */
		}
	}
	assert_true(accepted > 0 && refused > 0);
}

/* --- secrets are wiped --------------------------------------------------- */

void __real_free(void *p);
void __wrap_free(void *p);

/* The one allocation under watch and whether it was all zero when freed. */
static const void *watched;
static size_t watched_len;
static int watched_state;             /* 0: not freed, 1: zero, 2: not zero */

void __wrap_free(void *p)
{
	if (p && p == watched) {
		const uint8_t *b = p;
		uint8_t acc = 0;

		for (size_t i = 0; i < watched_len; i++)
			acc |= b[i];
		watched_state = acc ? 2 : 1;
		watched = NULL;
	}
	__real_free(p);
}

static void test_free_wipes(void **state)
{
	struct uapi_set s;
	char err[UAPI_ERR_LEN];
	uint8_t psk[32];

	(void)state;
	hex_to_key(psk, PSK);
	assert_int_equal(parse(setconf, &s, err), 0);
	assert_memory_equal(s.peers[0].preshared_key, psk, 32);
	watched = s.peers;
	watched_len = s.n_peers * sizeof(*s.peers);
	watched_state = 0;
	uapi_set_free(&s);
	assert_int_equal(watched_state, 1);
	/* The private key lives in the caller's struct. */
	for (size_t i = 0; i < sizeof(s.private_key); i++)
		assert_int_equal(s.private_key[i], 0);
	assert_false(s.has_private_key);

	/* And on the error path: a PSK parsed before a bad line. */
	assert_int_equal(parse("private_key=" PRIV "\n" P2 "preshared_key=" PSK
			       "\nallowed_ip=x\n\n", &s, err), -EINVAL);
	for (size_t i = 0; i < sizeof(s.private_key); i++)
		assert_int_equal(s.private_key[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wg_setconf),
		cmocka_unit_test(test_wg_set_clear),
		cmocka_unit_test(test_good_table),
		cmocka_unit_test(test_last_value_wins),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_request_end),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_free_wipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
