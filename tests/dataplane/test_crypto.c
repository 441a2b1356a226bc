/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/crypto.c against published vectors (RFC 7693, the BLAKE2
 * reference KAT, RFC 8439, RFC 7748) plus consistency checks for the
 * constructions without official vectors (HMAC-BLAKE2s, the WireGuard KDF,
 * TAI64N).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

/* Decode lowercase hex; the vectors below are all well-formed. */
static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex(const uint8_t *got, const char *hex)
{
	uint8_t want[256];
	size_t n = unhex(want, hex);

	assert_memory_equal(got, want, n);
}

static void seq(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)i;
}

/* --- BLAKE2s -------------------------------------------------------------- */

static void test_blake2s_rfc7693(void **state)
{
	uint8_t out[CRYPTO_HASH_LEN];

	(void)state;
	/* RFC 7693 Appendix B. */
	crypto_blake2s(out, "abc", 3);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f"
			"37458b209ed63a294d999b4c86675982");
	crypto_blake2s(out, "", 0);
	assert_hex(out, "69217a3079908094e11121d042354a7c"
			"1f55b6482ca1a51e1b250dfd1ed0eef9");
	/* The concatenating form hashes a || b. */
	crypto_blake2s_concat(out, "a", 1, "bc", 2);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f"
			"37458b209ed63a294d999b4c86675982");
}

/* blake2s-kat.txt (reference repository): key = 00..1f, in = 00..len-1. */
static const struct {
	size_t len;
	const char *hash;
} keyed_kat[] = {
	{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
	{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
	{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
	{ 3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b" },
	{ 4, "f6c3fbadb4cc687a0064a5be6e791bec63b868ad62fba61b3757ef9ca52e05b2" },
	{ 5, "49c1f21188dfd769aea0e911dd6b41f14dab109d2b85977aa3088b5c707e8598" },
	{ 6, "fdd8993dcd43f696d44f3cea0ff35345234ec8ee083eb3cada017c7f78c17143" },
	{ 7, "e6c8125637438d0905b749f46560ac89fd471cf8692e28fab982f73f019b83a9" },
	{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
	{ 128, "0c311f38c35a4fb90d651c289d486856cd1413df9b0677f53ece2cd9e477c60a" },
	{ 192, "5950d39a23e1545f301270aa1a12f2e6c453776e4d6355de425cc153f9818867" },
	{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
};

static void test_blake2s_keyed_kat(void **state)
{
	uint8_t key[32], in[255], out[CRYPTO_HASH_LEN];

	(void)state;
	seq(key, sizeof(key));
	seq(in, sizeof(in));
	for (size_t i = 0; i < sizeof(keyed_kat) / sizeof(keyed_kat[0]); i++) {
		crypto_blake2s_keyed(out, sizeof(out), key, sizeof(key), in,
				     keyed_kat[i].len);
		assert_hex(out, keyed_kat[i].hash);
	}
}

/* MAC is BLAKE2s with a 16-byte digest, which is not a truncated
 * BLAKE2s-256 (the length is part of the parameter block). */
static void test_mac_is_blake2s_128(void **state)
{
	uint8_t key[32], mac[CRYPTO_MAC_LEN], full[CRYPTO_HASH_LEN];
	uint8_t direct[CRYPTO_MAC_LEN];

	(void)state;
	seq(key, sizeof(key));
	crypto_mac(mac, key, sizeof(key), "abc", 3);
	crypto_blake2s_keyed(direct, sizeof(direct), key, sizeof(key), "abc", 3);
	assert_memory_equal(mac, direct, sizeof(mac));
	crypto_blake2s_keyed(full, sizeof(full), key, sizeof(key), "abc", 3);
	assert_memory_not_equal(mac, full, sizeof(mac));
}

/* --- HMAC and KDF --------------------------------------------------------- */

/* Reference HMAC straight from RFC 2104's formula. */
static void naive_hmac(uint8_t out[32], const uint8_t *key, size_t key_len,
		       const uint8_t *in, size_t len)
{
	uint8_t k[64] = { 0 }, buf[64 + 300], inner[32];

	assert_true(key_len <= 64 && len <= 300);
	memcpy(k, key, key_len);
	for (int i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x36;
	memcpy(buf + 64, in, len);
	crypto_blake2s(inner, buf, 64 + len);
	for (int i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + 64, inner, 32);
	crypto_blake2s(out, buf, 64 + 32);
}

static void test_hmac_matches_rfc2104(void **state)
{
	uint8_t key[80], in[300], got[32], want[32], hashed[32];
	static const size_t key_lens[] = { 0, 1, 16, 32, 63, 64 };
	static const size_t in_lens[] = { 0, 1, 33, 64, 65, 300 };

	(void)state;
	seq(key, sizeof(key));
	seq(in, sizeof(in));
	for (size_t k = 0; k < 6; k++) {
		for (size_t i = 0; i < 6; i++) {
			crypto_hmac(got, key, key_lens[k], in, in_lens[i]);
			naive_hmac(want, key, key_lens[k], in, in_lens[i]);
			assert_memory_equal(got, want, 32);
		}
	}
	/* A key longer than the block is replaced by its hash. */
	crypto_hmac(got, key, 80, in, 10);
	crypto_blake2s(hashed, key, 80);
	naive_hmac(want, hashed, 32, in, 10);
	assert_memory_equal(got, want, 32);
}

static void test_kdf_chain(void **state)
{
	uint8_t ck[32], in[40], t0[32], t[3][32], step[33], want[3][32];
	uint8_t a[32], b[32], alias[32];

	(void)state;
	seq(ck, sizeof(ck));
	memset(in, 0xab, sizeof(in));
	crypto_kdf(t[0], t[1], t[2], ck, in, sizeof(in));

	crypto_hmac(t0, ck, 32, in, sizeof(in));
	step[0] = 1;
	crypto_hmac(want[0], t0, 32, step, 1);
	for (int i = 1; i < 3; i++) {
		memcpy(step, want[i - 1], 32);
		step[32] = (uint8_t)(i + 1);
		crypto_hmac(want[i], t0, 32, step, 33);
	}
	assert_memory_equal(t, want, sizeof(want));

	/* Fewer outputs are prefixes of the same sequence. */
	crypto_kdf(a, NULL, NULL, ck, in, sizeof(in));
	assert_memory_equal(a, want[0], 32);
	crypto_kdf(a, b, NULL, ck, in, sizeof(in));
	assert_memory_equal(b, want[1], 32);
	crypto_kdf(NULL, NULL, b, ck, in, sizeof(in));
	assert_memory_equal(b, want[2], 32);

	/* C = Kdf1(C, x) in place. */
	memcpy(alias, ck, 32);
	crypto_kdf(alias, b, NULL, alias, in, sizeof(in));
	assert_memory_equal(alias, want[0], 32);
	assert_memory_equal(b, want[1], 32);

	/* Empty input (transport key derivation). */
	crypto_kdf(a, b, NULL, ck, NULL, 0);
	crypto_hmac(t0, ck, 32, "", 0);
	step[0] = 1;
	crypto_hmac(want[0], t0, 32, step, 1);
	assert_memory_equal(a, want[0], 32);
}

/* Protocol constants as published by other WireGuard implementations:
 * C0 = Hash(CONSTRUCTION), H0 = Hash(C0 || IDENTIFIER). */
static void test_wireguard_initial_state(void **state)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t c[32], h[32];

	(void)state;
	crypto_blake2s(c, construction, sizeof(construction) - 1);
	assert_hex(c, "60e26daef327efc02ec335e2a025d2d0"
		      "16eb4206f87277f52d38d1988b78cd36");
	crypto_blake2s_concat(h, c, 32, identifier, sizeof(identifier) - 1);
	assert_hex(h, "2211b361081ac566691243db458ad532"
		      "2d9c6c662293e8b70ee19c65ba079ef3");
}

/* --- AEAD ----------------------------------------------------------------- */

static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only "
	"one tip for the future, sunscreen would be it.";

static void test_aead_rfc8439(void **state)
{
	uint8_t key[32], nonce[12], ad[12], ct[sizeof(sunscreen) + 16];
	uint8_t pt[sizeof(sunscreen)];
	size_t len = sizeof(sunscreen) - 1;

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	unhex(nonce, "070000004041424344454647");
	unhex(ad, "50515253c0c1c2c3c4c5c6c7");
	crypto_aead_encrypt_nonce(ct, (const uint8_t *)sunscreen, len, ad, 12,
				  nonce, key);
	assert_hex(ct, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		       "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		       "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		       "3ff4def08e4b7a9de576d26586cec64b6116");
	assert_hex(ct + len, "1ae10b594f09e26a7e902ecbd0600691");

	assert_int_equal(crypto_aead_decrypt_nonce(pt, ct, len + 16, ad, 12,
						   nonce, key), 0);
	assert_memory_equal(pt, sunscreen, len);
	ad[0] ^= 1;
	assert_int_equal(crypto_aead_decrypt_nonce(pt, ct, len + 16, ad, 12,
						   nonce, key), -EBADMSG);
	assert_int_equal(crypto_aead_decrypt_nonce(pt, ct, 15, NULL, 0, nonce,
						   key), -EBADMSG);
}

/* WireGuard's nonce: 4 zero bytes, then the counter little-endian. */
static void test_aead_counter_nonce(void **state)
{
	uint8_t key[32], nonce[12], a[64 + 16], b[64 + 16], buf[64], tag[16];
	const uint64_t counter = 0x0807060504030201ULL;

	(void)state;
	seq(key, sizeof(key));
	seq(buf, sizeof(buf));
	unhex(nonce, "000000000102030405060708");
	crypto_aead_encrypt(a, buf, 64, NULL, 0, counter, key);
	crypto_aead_encrypt_nonce(b, buf, 64, NULL, 0, nonce, key);
	assert_memory_equal(a, b, sizeof(a));

	/* Detached in place gives the same bytes. */
	crypto_aead_encrypt_detached(buf, 64, tag, counter, key);
	assert_memory_equal(buf, a, 64);
	assert_memory_equal(tag, a + 64, 16);
	assert_int_equal(crypto_aead_decrypt_detached(buf, 64, tag, counter, key), 0);
	seq(b, 64);
	assert_memory_equal(buf, b, 64);
	crypto_aead_encrypt_detached(buf, 64, tag, counter, key);
	assert_int_equal(crypto_aead_decrypt_detached(buf, 64, tag, counter + 1,
						      key), -EBADMSG);
}

static void test_xaead_round_trip(void **state)
{
	uint8_t key[32], nonce[24], pt[16], ct[32], out[16], ad[16];

	(void)state;
	seq(key, sizeof(key));
	memset(nonce, 0x42, sizeof(nonce));
	memset(pt, 0x17, sizeof(pt));
	memset(ad, 0x99, sizeof(ad));
	crypto_xaead_encrypt(ct, pt, 16, ad, 16, nonce, key);
	assert_int_equal(crypto_xaead_decrypt(out, ct, 32, ad, 16, nonce, key), 0);
	assert_memory_equal(out, pt, 16);
	for (size_t i = 0; i < sizeof(ct) * 8; i++) {
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_int_equal(crypto_xaead_decrypt(out, ct, 32, ad, 16, nonce,
						      key), -EBADMSG);
		ct[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	nonce[23] ^= 1;
	assert_int_equal(crypto_xaead_decrypt(out, ct, 32, ad, 16, nonce, key),
			 -EBADMSG);
}

/* --- X25519 --------------------------------------------------------------- */

static void test_x25519_rfc7748_5_2(void **state)
{
	uint8_t k[32], u[32], out[32];

	(void)state;
	unhex(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	unhex(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	assert_int_equal(crypto_dh(out, k, u), 0);
	assert_hex(out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");

	unhex(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	unhex(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	assert_int_equal(crypto_dh(out, k, u), 0);
	assert_hex(out, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* Section 5.2's iteration: k, u = X25519(k, u), k. */
static void test_x25519_rfc7748_iterated(void **state)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];

	(void)state;
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(crypto_dh(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_hex(k, "422c8e7a6227d7bca1350b3e2bb7279f"
				      "7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

static void test_x25519_rfc7748_6_1(void **state)
{
	uint8_t a[32], b[32], pa[32], pb[32], s1[32], s2[32];

	(void)state;
	unhex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(crypto_dh_public(pa, a), 0);
	assert_int_equal(crypto_dh_public(pb, b), 0);
	assert_hex(pa, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_hex(pb, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(crypto_dh(s1, a, pb), 0);
	assert_int_equal(crypto_dh(s2, b, pa), 0);
	assert_hex(s1, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(s1, s2, 32);
}

/* The paper requires refusing all-zero DH results: small-order points. */
static void test_x25519_rejects_small_order(void **state)
{
	uint8_t k[32], u[32], out[32], zero[32] = { 0 };

	(void)state;
	seq(k, sizeof(k));
	crypto_dh_clamp(k);
	memset(u, 0, sizeof(u));                       /* u = 0 */
	memset(out, 0xff, sizeof(out));
	assert_int_equal(crypto_dh(out, k, u), -EINVAL);
	assert_memory_equal(out, zero, 32);            /* not left half-written */
	u[0] = 1;                                      /* u = 1, order 4 */
	assert_int_equal(crypto_dh(out, k, u), -EINVAL);
	assert_int_equal(crypto_dh_public(out, zero), -EINVAL);
}

static void test_x25519_clamp_and_generate(void **state)
{
	uint8_t k[32];

	(void)state;
	memset(k, 0xff, sizeof(k));
	crypto_dh_clamp(k);
	assert_int_equal(k[0], 0xf8);
	assert_int_equal(k[31], 0x7f);
	memset(k, 0, sizeof(k));
	crypto_dh_clamp(k);
	assert_int_equal(k[31], 0x40);
	crypto_dh_generate(k);
	assert_int_equal(k[0] & 7, 0);
	assert_int_equal(k[31] & 0xc0, 0x40);
}

/* --- TAI64N and hygiene --------------------------------------------------- */

static void test_tai64n_encoding(void **state)
{
	uint8_t t[12];

	(void)state;
	crypto_tai64n(t, 0);
	assert_hex(t, "400000000000000a00000000");
	crypto_tai64n(t, 1000000000ULL * 0x12345678ULL + 999999999ULL);
	assert_hex(t, "4000000012345682" "3b9ac9ff");
}

/* memcmp order must be time order, the property replay protection uses. */
static void test_tai64n_monotonic(void **state)
{
	static const uint64_t times[] = {
		0, 1, 999999999ULL, 1000000000ULL, 1000000001ULL,
		1700000000ULL * 1000000000ULL + 999999999ULL,
		1700000001ULL * 1000000000ULL,
		4102444800ULL * 1000000000ULL,   /* 2100-01-01 */
	};
	uint8_t prev[12], cur[12];

	(void)state;
	crypto_tai64n(prev, times[0]);
	for (size_t i = 1; i < sizeof(times) / sizeof(times[0]); i++) {
		crypto_tai64n(cur, times[i]);
		assert_true(memcmp(prev, cur, 12) < 0);
		memcpy(prev, cur, 12);
	}
}

static void test_constant_time_helpers(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	seq(a, 32);
	seq(b, 32);
	assert_true(crypto_equal(a, b, 32));
	b[31] ^= 0x80;
	assert_false(crypto_equal(a, b, 32));
	assert_false(crypto_is_zero(a, 32));
	crypto_wipe(a, 32);
	assert_true(crypto_is_zero(a, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2s_rfc7693),
		cmocka_unit_test(test_blake2s_keyed_kat),
		cmocka_unit_test(test_mac_is_blake2s_128),
		cmocka_unit_test(test_hmac_matches_rfc2104),
		cmocka_unit_test(test_kdf_chain),
		cmocka_unit_test(test_wireguard_initial_state),
		cmocka_unit_test(test_aead_rfc8439),
		cmocka_unit_test(test_aead_counter_nonce),
		cmocka_unit_test(test_xaead_round_trip),
		cmocka_unit_test(test_x25519_rfc7748_5_2),
		cmocka_unit_test(test_x25519_rfc7748_iterated),
		cmocka_unit_test(test_x25519_rfc7748_6_1),
		cmocka_unit_test(test_x25519_rejects_small_order),
		cmocka_unit_test(test_x25519_clamp_and_generate),
		cmocka_unit_test(test_tai64n_encoding),
		cmocka_unit_test(test_tai64n_monotonic),
		cmocka_unit_test(test_constant_time_helpers),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
