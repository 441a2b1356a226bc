/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reference rates: raw ChaCha20-Poly1305 (RFC 8439) sealing, in place,
 * of size bytes with no associated data and WireGuard's nonce
 * (0^32 || LE64(counter)), in libsodium and in OpenSSL 3's EVP interface,
 * timed per burst of DP_BURST calls like the pipeline.  The buffer stays in
 * L1, so this is the best either library can do on this core: the ceiling
 * the pipeline is compared with.
 *
 * OpenSSL's context keeps the key; each message sets only the nonce, which
 * is the cheapest correct way to use EVP for a stream of packets.
 */
#include "bench.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "crypto.h"

enum { KEY_LEN = 32, NONCE_LEN = 12, TAG_LEN = 16 };

_Static_assert(KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag");

static EVP_CIPHER_CTX *evp;
static uint8_t key[KEY_LEN];
static uint8_t buf[BENCH_MAX_SIZE] __attribute__((aligned(64)));

/* WireGuard's nonce (paper 5.4.6), as crypto.c builds it. */
static inline void nonce_set(uint8_t nonce[NONCE_LEN], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

static inline void sodium_seal(uint8_t *p, unsigned len, uint8_t tag[TAG_LEN],
			       const uint8_t nonce[NONCE_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(p, tag, NULL, p, len, NULL, 0,
							   NULL, nonce, key);
}

static inline bool openssl_seal(uint8_t *p, unsigned len, uint8_t tag[TAG_LEN],
				const uint8_t nonce[NONCE_LEN])
{
	int out_len = 0, final_len = 0;

	return EVP_EncryptInit_ex(evp, NULL, NULL, NULL, nonce) == 1 &&
	       EVP_EncryptUpdate(evp, p, &out_len, p, (int)len) == 1 &&
	       EVP_EncryptFinal_ex(evp, p + out_len, &final_len) == 1 &&
	       EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
}

/* The three must agree byte for byte, or the comparison means nothing:
 * libsodium and OpenSSL here, and the dataplane's own wrapper (crypto.c,
 * what transport_seal calls) for the nonce layout. */
static int cross_check(unsigned size, char *err, size_t errlen)
{
	static uint8_t a[BENCH_MAX_SIZE], b[BENCH_MAX_SIZE], c[BENCH_MAX_SIZE];
	uint8_t tag_a[TAG_LEN], tag_b[TAG_LEN], tag_c[TAG_LEN], nonce[NONCE_LEN];
	const uint64_t counter = 0x0102030405060708ULL;

	for (unsigned i = 0; i < size; i++)
		a[i] = b[i] = c[i] = (uint8_t)(i * 13 + 1);
	nonce_set(nonce, counter);
	sodium_seal(a, size, tag_a, nonce);
	if (!openssl_seal(b, size, tag_b, nonce)) {
		snprintf(err, errlen, "OpenSSL EVP ChaCha20-Poly1305 failed");
		return -EIO;
	}
	crypto_aead_encrypt_detached(c, size, tag_c, counter, key);
	if (memcmp(a, b, size) || memcmp(tag_a, tag_b, TAG_LEN) ||
	    memcmp(a, c, size) || memcmp(tag_a, tag_c, TAG_LEN)) {
		snprintf(err, errlen, "libsodium, OpenSSL and crypto.c disagree on %u bytes",
			 size);
		return -EPROTO;
	}
	return 0;
}

int bench_crypto_init(const unsigned *sizes, unsigned n_sizes, char *err, size_t errlen)
{
	int ret;

	/* crypto_init is sodium_init: it picks the SIMD implementations
	 * portcullisd uses too. */
	if (crypto_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	for (unsigned i = 0; i < KEY_LEN; i++)
		key[i] = (uint8_t)(0x80 + i);
	evp = EVP_CIPHER_CTX_new();
	if (evp == NULL ||
	    EVP_EncryptInit_ex(evp, EVP_chacha20_poly1305(), NULL, key, NULL) != 1) {
		snprintf(err, errlen, "OpenSSL has no usable EVP_chacha20_poly1305");
		return -EIO;
	}
	for (unsigned i = 0; i < n_sizes; i++) {
		ret = cross_check(sizes[i], err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void bench_crypto_fini(void)
{
	EVP_CIPHER_CTX_free(evp);
	evp = NULL;
}

int bench_sodium_run(unsigned size, uint64_t min_ns, struct bench_sample *out,
		     char *err, size_t errlen)
{
	uint8_t nonce[NONCE_LEN], tag[TAG_LEN];
	uint64_t ns = 0, n = 0, counter = 0;

	(void)err;
	(void)errlen;
	while (ns < min_ns) {
		uint64_t t0 = dp_now();

		for (unsigned i = 0; i < DP_BURST; i++) {
			nonce_set(nonce, counter++);
			sodium_seal(buf, size, tag, nonce);
		}
		ns += dp_now() - t0;
		n += DP_BURST;
	}
	out->packets = n;
	out->ns = ns;
	return 0;
}

int bench_openssl_run(unsigned size, uint64_t min_ns, struct bench_sample *out,
		      char *err, size_t errlen)
{
	uint8_t nonce[NONCE_LEN], tag[TAG_LEN];
	uint64_t ns = 0, n = 0, counter = 0;
	bool ok = true;

	while (ns < min_ns) {
		uint64_t t0 = dp_now();

		for (unsigned i = 0; i < DP_BURST; i++) {
			nonce_set(nonce, counter++);
			ok &= openssl_seal(buf, size, tag, nonce);
		}
		ns += dp_now() - t0;
		n += DP_BURST;
	}
	if (!ok) {
		snprintf(err, errlen, "OpenSSL EVP failed during the run");
		return -EIO;
	}
	out->packets = n;
	out->ns = ns;
	return 0;
}

const char *bench_sodium_version(void)
{
	return sodium_version_string();
}

const char *bench_openssl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
