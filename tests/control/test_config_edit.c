/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/config_edit.c: config_clone is deep and independent;
 * config_apply_uapi reproduces wireguard-go's effects of a set request on
 * the running configuration (peers added, updated, removed, replaced;
 * allowed IPs moved, removed with the "-prefix" form, replaced; the
 * interface keys), compared as a canonical text dump of the result.
 */
#include "config_test_util.h"

#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "config_edit.h"
#include "uapi_parse.h"

/* Base64 test keys in the hex form the UAPI uses. */
static char hex_pub[4][65];
static const char *const b64_pub[4] = { PUB, PUB2, PUB3,
	"ZGl1VHDjC+fm3RXu6G/yl6OQPWbGjI5DCdtBTC7QTSY=" };
#define HPUB (hex_pub[0])
#define HPUB2 (hex_pub[1])
#define HPUB3 (hex_pub[2])
#define HPUB4 (hex_pub[3])

static int setup_keys(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		uint8_t key[32];

		assert_int_equal(config_key_from_base64(key, b64_pub[i]), 0);
		sodium_bin2hex(hex_pub[i], sizeof(hex_pub[i]), key, 32);
	}
	return 0;
}

static struct config *base(void)
{
	static const char text[] =
		IFACE "ListenPort = 51820\nAddress = 10.8.0.1/24\n" PORTS
		PEER2 "AllowedIPs = 10.8.0.2/32, 192.168.2.0/24\n"
		"Endpoint = 198.51.100.2:51820\nPersistentKeepalive = 25\n"
		PEER3 "AllowedIPs = 10.8.0.3/32\nPresharedKey = " PSK "\n";
	struct config *cfg = NULL;
	char err[CONFIG_ERR_LEN];

	assert_int_equal(parse_flags(text, CONFIG_NO_PERMISSION_CHECK, &cfg, err, NULL), 0);
	return cfg;
}

/* One line per peer, in order: "KEY4 psk ep=... ka=N aips=a,b". */
static char *dump(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	char buf[80], b64[45];

	fprintf(f, "port=%u fwmark=%u\n", cfg->iface.listen_port, cfg->iface.fwmark);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct config_peer *p = &cfg->peers[i];

		config_key_to_base64(b64, p->public_key);
		fprintf(f, "%.4s%s", b64, p->has_preshared_key ? " psk" : "");
		if (p->has_endpoint) {
			config_endpoint_format(buf, sizeof(buf), &p->endpoint);
			fprintf(f, " ep=%s", buf);
			assert_non_null(p->endpoint_text);
		}
		if (p->persistent_keepalive)
			fprintf(f, " ka=%u", p->persistent_keepalive);
		fprintf(f, " aips=");
		for (size_t a = 0; a < p->n_allowed_ips; a++) {
			config_prefix_format(buf, sizeof(buf), &p->allowed_ips[a]);
			fprintf(f, "%s%s", a ? "," : "", buf);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return out;
}

/* Apply a set body (printf format) to a clone of base(); returns the
 * errno and the dump of the result (NULL on error). */
static int apply(char **result, char *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int apply(char **result, char *err, const char *fmt, ...)
{
	struct config *cfg = base(), *next = config_clone(cfg);
	struct uapi_set set;
	char body[4096];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	assert_non_null(next);
	assert_int_equal(uapi_set_parse(body, strlen(body), &set, err, 256), 0);
	ret = config_apply_uapi(next, &set, err, 256);
	*result = ret == 0 ? dump(next) : NULL;
	uapi_set_free(&set);
	config_free(next);
	config_free(cfg);
	return ret;
}

static void test_clone_is_deep(void **state)
{
	struct config *cfg = base(), *c = config_clone(cfg);
	char *a, *b;

	(void)state;
	assert_non_null(c);
	a = dump(cfg);
	b = dump(c);
	assert_string_equal(a, b);
	assert_ptr_not_equal(c->peers, cfg->peers);
	assert_ptr_not_equal(c->peers[0].allowed_ips, cfg->peers[0].allowed_ips);
	assert_ptr_not_equal(c->ports[0].device, cfg->ports[0].device);
	assert_string_equal(c->ports[0].device, cfg->ports[0].device);
	assert_string_equal(c->path, cfg->path);
	assert_memory_equal(c->iface.private_key, cfg->iface.private_key, 32);
	/* Editing the clone leaves the original alone. */
	c->peers[0].allowed_ips[0].cidr = 8;
	c->peers[0].endpoint_text[0] = 'x';
	free(b);
	b = dump(cfg);
	assert_string_equal(a, b);
	free(a);
	free(b);
	config_free(c);
	config_free(cfg);
}

static void test_add_and_update(void **state)
{
	char err[256], *r;

	(void)state;
	assert_int_equal(apply(&r, err,
		"public_key=%s\nendpoint=[2001:db8::4]:4444\n"
		"persistent_keepalive_interval=10\nallowed_ip=10.8.0.4/32\n"
		"public_key=%s\npreshared_key=" "%s" "\nendpoint=203.0.113.9:1\n\n",
		HPUB4, HPUB2, HPUB3), 0);
	assert_string_equal(r,
		"port=51820 fwmark=0\n"
		"Qs1n psk ep=203.0.113.9:1 ka=25 aips=10.8.0.2/32,192.168.2.0/24\n"
		"POY7 psk aips=10.8.0.3/32\n"
		"ZGl1 ep=[2001:db8::4]:4444 ka=10 aips=10.8.0.4/32\n");
	free(r);
}

static void test_remove_update_only_replace(void **state)
{
	char err[256], *r;

	(void)state;
	/* remove; update_only on an unknown peer does nothing; remove of an
	 * unknown peer does nothing. */
	assert_int_equal(apply(&r, err,
		"public_key=%s\nremove=true\n"
		"public_key=%s\nupdate_only=true\nallowed_ip=10.9.0.0/16\n"
		"public_key=%s\nupdate_only=true\npersistent_keepalive_interval=5\n\n",
		HPUB2, HPUB4, HPUB3), 0);
	assert_string_equal(r, "port=51820 fwmark=0\nPOY7 psk ka=5 aips=10.8.0.3/32\n");
	free(r);
	/* replace_peers: a re-listed peer stays as configured here (its
	 * psk is dropped: setconf replaces it); the others go. */
	assert_int_equal(apply(&r, err,
		"listen_port=4000\nfwmark=77\nreplace_peers=true\n"
		"public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.8.0.3/32\n\n",
		HPUB3), 0);
	assert_string_equal(r, "port=4000 fwmark=77\nPOY7 aips=10.8.0.3/32\n");
	free(r);
}

static void test_allowed_ip_moves(void **state)
{
	char err[256], *r;

	(void)state;
	/* Adding a prefix another peer holds moves it. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=192.168.2.0/24\n\n",
			       HPUB3), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32\n"
		"POY7 psk aips=10.8.0.3/32,192.168.2.0/24\n");
	free(r);
	/* Moved, then removed from the new owner: nobody has it (the first
	 * owner lost it at the move). */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=192.168.2.0/24\n"
			       "allowed_ip=-192.168.2.0/24\n\n", HPUB3), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* Moved away and back: the last line wins (a prefix given again
	 * goes to the end of its peer's list). */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=10.8.0.2/32\n"
			       "public_key=%s\nallowed_ip=10.8.0.2/32\n\n", HPUB3, HPUB2), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=192.168.2.0/24,10.8.0.2/32\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* "-prefix" on a peer that does not hold it changes nothing; on
	 * the holder it removes it; host bits are ignored. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=-10.8.0.2/32\n"
			       "public_key=%s\nallowed_ip=-192.168.2.77/24\n\n",
			       HPUB3, HPUB2), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* replace_allowed_ips, and a prefix named twice by one peer. */
	assert_int_equal(apply(&r, err, "public_key=%s\nreplace_allowed_ips=true\n"
			       "allowed_ip=fd00::/64\nallowed_ip=fd00::/64\n\n", HPUB2), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=fd00::/64\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* A removed peer's prefixes may be taken in the same request. */
	assert_int_equal(apply(&r, err, "public_key=%s\nremove=true\n"
			       "public_key=%s\nallowed_ip=10.8.0.2/32\n\n", HPUB2, HPUB4), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"POY7 psk aips=10.8.0.3/32\n"
		"ZGl1 aips=10.8.0.2/32\n");
	free(r);
}

/* Found by review: what wireguard-go's trie does that a naive "last line
 * wins" would not. */
static void test_allowed_ip_edge_cases(void **state)
{
	char err[256], *r;
	const char *const want_gone = "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32\n"
		"POY7 psk aips=10.8.0.3/32\n";

	(void)state;
	/* Our own key's lines do nothing, and take nothing from others. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=192.168.2.0/24\n\n",
			       HPUB), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32,192.168.2.0/24\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* Moved to POY7, then POY7's prefixes replaced: nobody has it. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=192.168.2.0/24\n"
			       "public_key=%s\nreplace_allowed_ips=true\n"
			       "allowed_ip=10.8.0.3/32\n\n", HPUB3, HPUB3), 0);
	assert_string_equal(r, want_gone);
	free(r);
	/* Moved to a new peer, which is then removed: nobody has it. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=192.168.2.0/24\n"
			       "public_key=%s\nremove=true\n\n", HPUB4, HPUB4), 0);
	assert_string_equal(r, want_gone);
	free(r);
}

/* An endpoint= line marks the peer so the gateway writes the endpoint even
 * when it equals the configured one (the peer may have roamed); a clone
 * starts unmarked. */
static void test_endpoint_given(void **state)
{
	struct config *cfg = base(), *next = config_clone(cfg), *again;
	struct uapi_set set;
	char body[256], err[256];

	(void)state;
	snprintf(body, sizeof(body), "public_key=%s\nendpoint=198.51.100.2:51820\n"
		 "public_key=%s\npersistent_keepalive_interval=7\n\n", HPUB2, HPUB3);
	assert_int_equal(uapi_set_parse(body, strlen(body), &set, err, sizeof(err)), 0);
	assert_int_equal(config_apply_uapi(next, &set, err, sizeof(err)), 0);
	assert_true(next->peers[0].endpoint_given);
	assert_false(next->peers[1].endpoint_given);
	again = config_clone(next);
	assert_false(again->peers[0].endpoint_given);
	uapi_set_free(&set);
	config_free(again);
	config_free(next);
	config_free(cfg);
}

/* wg set listen-port onto a UDP Forward's port is refused like the same
 * file would be. */
static void test_listen_port_recheck(void **state)
{
	static const char text[] =
		IFACE "ListenPort = 51820\n" PORTS
		"[NAT]\nMasquerade = 10.0.0.0/24\nForward = udp 4000 -> 10.0.0.5:4000\n";
	struct config *cfg = NULL, *next;
	struct uapi_set set;
	char err[256];
	const char *body = "listen_port=4000\n\n";

	(void)state;
	assert_int_equal(parse_flags(text, CONFIG_NO_PERMISSION_CHECK, &cfg, err, NULL), 0);
	next = config_clone(cfg);
	assert_int_equal(uapi_set_parse(body, strlen(body), &set, err, sizeof(err)), 0);
	assert_int_equal(config_apply_uapi(next, &set, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "4000"));
	uapi_set_free(&set);
	config_free(next);
	config_free(cfg);
}

static void test_interface_keys(void **state)
{
	char err[256], *r;

	(void)state;
	assert_int_equal(apply(&r, err, "private_key=%s\n\n",
		"0000000000000000000000000000000000000000000000000000000000000000"),
		-EINVAL);
	assert_null(r);
	assert_string_equal(err, "the gateway cannot run without a private key");
	/* A peer with our own public key is dropped, as wireguard-go does. */
	assert_int_equal(apply(&r, err, "public_key=%s\nallowed_ip=10.7.0.0/16\n\n", HPUB), 0);
	assert_string_equal(r, "port=51820 fwmark=0\n"
		"Qs1n ep=198.51.100.2:51820 ka=25 aips=10.8.0.2/32,192.168.2.0/24\n"
		"POY7 psk aips=10.8.0.3/32\n");
	free(r);
	/* listen_port=0: a random port from the dynamic range. */
	for (int i = 0; i < 32; i++) {
		unsigned port;

		assert_int_equal(apply(&r, err, "listen_port=0\n\n"), 0);
		assert_int_equal(sscanf(r, "port=%u", &port), 1);
		assert_in_range(port, 49152, 65535);
		free(r);
	}
}

/* Every prefix of a thousand peers moved by one request: the result has
 * each prefix once, on its last owner. */
static void test_many_moves(void **state)
{
	struct config *cfg = base(), *next = config_clone(cfg);
	size_t cap = 1 << 20, len = 0;
	char *body = malloc(cap), err[256];
	struct uapi_set set;

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		uint8_t key[32] = { 1, (uint8_t)(i >> 8), (uint8_t)i };
		char hex[65];

		sodium_bin2hex(hex, sizeof(hex), key, 32);
		len += (size_t)snprintf(body + len, cap - len,
					"public_key=%s\nallowed_ip=10.%u.%u.0/24\n"
					"allowed_ip=10.200.0.0/16\n", hex, i >> 8, i & 255);
	}
	len += (size_t)snprintf(body + len, cap - len, "\n");
	assert_int_equal(uapi_set_parse(body, len, &set, err, sizeof(err)), 0);
	assert_int_equal(config_apply_uapi(next, &set, err, sizeof(err)), 0);
	assert_int_equal(next->n_peers, 1002);
	for (size_t i = 2; i < 1001; i++)
		assert_int_equal(next->peers[i].n_allowed_ips, 1);
	assert_int_equal(next->peers[1001].n_allowed_ips, 2);
	uapi_set_free(&set);
	free(body);
	config_free(next);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clone_is_deep),
		cmocka_unit_test(test_add_and_update),
		cmocka_unit_test(test_remove_update_only_replace),
		cmocka_unit_test(test_allowed_ip_moves),
		cmocka_unit_test(test_allowed_ip_edge_cases),
		cmocka_unit_test(test_endpoint_given),
		cmocka_unit_test(test_listen_port_recheck),
		cmocka_unit_test(test_interface_keys),
		cmocka_unit_test(test_many_moves),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
