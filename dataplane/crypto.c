/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WireGuard's primitives on top of libb2 (BLAKE2s) and libsodium (X25519,
 * ChaCha20-Poly1305, XChaCha20-Poly1305).  Every temporary that held key
 * material is wiped before returning.
 */
#include "crypto.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include <blake2.h>
#include <sodium.h>

#include "random.h"

_Static_assert((int)CRYPTO_HASH_LEN == (int)BLAKE2S_OUTBYTES, "BLAKE2s-256");
_Static_assert((int)CRYPTO_HMAC_BLOCK_LEN == (int)BLAKE2S_BLOCKBYTES, "block");
_Static_assert(CRYPTO_DH_LEN == crypto_scalarmult_BYTES, "X25519");
_Static_assert(CRYPTO_TAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES,
	       "tag");
_Static_assert(CRYPTO_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES,
	       "nonce");
_Static_assert(CRYPTO_XNONCE_LEN ==
	       crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "xnonce");

int crypto_init(void)
{
	/* 1 means "already initialised", which is fine. */
	return sodium_init() < 0 ? -EIO : 0;
}

/* --- Hashing -------------------------------------------------------------- */

/* libb2 returns an error only for invalid lengths or NULL pointers, which
 * are programming errors here: assert rather than propagate. */
static void b2_update(blake2s_state *st, const void *in, size_t len)
{
	int r = blake2s_update(st, (const uint8_t *)in, len);

	assert(r == 0);
	(void)r;
}

void crypto_blake2s_keyed(uint8_t *out, size_t out_len, const void *key,
			  size_t key_len, const void *in, size_t len)
{
	int r = blake2s(out, in, key, out_len, len, key_len);

	assert(r == 0);
	(void)r;
}

void crypto_blake2s(uint8_t out[CRYPTO_HASH_LEN], const void *in, size_t len)
{
	crypto_blake2s_keyed(out, CRYPTO_HASH_LEN, NULL, 0, in, len);
}

void crypto_blake2s_concat(uint8_t out[CRYPTO_HASH_LEN], const void *a,
			   size_t a_len, const void *b, size_t b_len)
{
	blake2s_state st;
	int r = blake2s_init(&st, CRYPTO_HASH_LEN);

	assert(r == 0);
	b2_update(&st, a, a_len);
	b2_update(&st, b, b_len);
	/* final writes out only after every input was absorbed: aliasing ok. */
	r = blake2s_final(&st, out, CRYPTO_HASH_LEN);
	assert(r == 0);
	(void)r;
	crypto_wipe(&st, sizeof(st));
}

void crypto_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key,
		size_t key_len, const void *in, size_t len)
{
	crypto_blake2s_keyed(out, CRYPTO_MAC_LEN, key, key_len, in, len);
}

/* One HMAC pass: BLAKE2s((key ^ pad) || a || b). */
static void hmac_pass(uint8_t out[CRYPTO_HASH_LEN],
		      const uint8_t block_key[CRYPTO_HMAC_BLOCK_LEN],
		      uint8_t pad, const void *a, size_t a_len)
{
	uint8_t padded[CRYPTO_HMAC_BLOCK_LEN];
	blake2s_state st;
	int r;

	for (size_t i = 0; i < sizeof(padded); i++)
		padded[i] = block_key[i] ^ pad;
	r = blake2s_init(&st, CRYPTO_HASH_LEN);
	assert(r == 0);
	b2_update(&st, padded, sizeof(padded));
	b2_update(&st, a, a_len);
	r = blake2s_final(&st, out, CRYPTO_HASH_LEN);
	assert(r == 0);
	(void)r;
	crypto_wipe(padded, sizeof(padded));
	crypto_wipe(&st, sizeof(st));
}

/* RFC 2104 with BLAKE2s-256 as H (B = 64, L = 32). */
void crypto_hmac(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key,
		 size_t key_len, const void *in, size_t len)
{
	uint8_t block_key[CRYPTO_HMAC_BLOCK_LEN] = { 0 };
	uint8_t inner[CRYPTO_HASH_LEN];

	/* Keys longer than a block are hashed first (RFC 2104 section 2). */
	if (key_len > CRYPTO_HMAC_BLOCK_LEN)
		crypto_blake2s(block_key, key, key_len);
	else if (key_len)
		memcpy(block_key, key, key_len);

	hmac_pass(inner, block_key, 0x36, in, len);
	hmac_pass(out, block_key, 0x5c, inner, sizeof(inner));

	crypto_wipe(block_key, sizeof(block_key));
	crypto_wipe(inner, sizeof(inner));
}

/* Paper section 5.4: Kdf_n(key, input) with t0 = Hmac(key, input),
 * t1 = Hmac(t0, 0x1), t_i = Hmac(t0, t_{i-1} || i). */
void crypto_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3,
		const uint8_t chaining_key[CRYPTO_HASH_LEN],
		const void *in, size_t len)
{
	uint8_t *outs[3] = { t1, t2, t3 };
	uint8_t secret[CRYPTO_HASH_LEN];
	uint8_t t[3][CRYPTO_HASH_LEN];
	uint8_t step[CRYPTO_HASH_LEN + 1];
	size_t n = t3 ? 3 : t2 ? 2 : 1;

	crypto_hmac(secret, chaining_key, CRYPTO_HASH_LEN, in, len);

	step[0] = 1;
	crypto_hmac(t[0], secret, sizeof(secret), step, 1);
	for (size_t i = 1; i < n; i++) {
		memcpy(step, t[i - 1], CRYPTO_HASH_LEN);
		step[CRYPTO_HASH_LEN] = (uint8_t)(i + 1);
		crypto_hmac(t[i], secret, sizeof(secret), step, sizeof(step));
	}
	/* Written only now, so any output may alias chaining_key. */
	for (size_t i = 0; i < n; i++)
		if (outs[i])
			memcpy(outs[i], t[i], CRYPTO_HASH_LEN);

	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(t, sizeof(t));
	crypto_wipe(step, sizeof(step));
}

/* --- X25519 --------------------------------------------------------------- */

void crypto_dh_clamp(uint8_t key[CRYPTO_DH_LEN])
{
	key[0] &= 248;
	key[31] = (uint8_t)((key[31] & 127) | 64);
}

void crypto_dh_generate(uint8_t private_key[CRYPTO_DH_LEN])
{
	random_bytes(private_key, CRYPTO_DH_LEN);
	crypto_dh_clamp(private_key);
}

int crypto_dh_public(uint8_t public_key[CRYPTO_DH_LEN],
		     const uint8_t private_key[CRYPTO_DH_LEN])
{
	if (crypto_is_zero(private_key, CRYPTO_DH_LEN) ||
	    crypto_scalarmult_base(public_key, private_key) != 0) {
		crypto_wipe(public_key, CRYPTO_DH_LEN);
		return -EINVAL;
	}
	return 0;
}

int crypto_dh(uint8_t out[CRYPTO_DH_LEN],
	      const uint8_t private_key[CRYPTO_DH_LEN],
	      const uint8_t public_key[CRYPTO_DH_LEN])
{
	/* libsodium already fails for small-order points and zero results;
	 * the explicit test keeps the paper's rule visible and independent
	 * of the library version. */
	if (crypto_scalarmult(out, private_key, public_key) != 0 ||
	    crypto_is_zero(out, CRYPTO_DH_LEN)) {
		crypto_wipe(out, CRYPTO_DH_LEN);
		return -EINVAL;
	}
	return 0;
}

/* --- AEAD ----------------------------------------------------------------- */

/* Paper section 5.4.6: 32 bits of zeros then the 64-bit counter, LE. */
static void counter_nonce(uint8_t nonce[CRYPTO_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

void crypto_aead_encrypt_nonce(uint8_t *dst, const uint8_t *src, size_t len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[CRYPTO_NONCE_LEN],
			       const uint8_t key[CRYPTO_KEY_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad,
						  ad_len, NULL, nonce, key);
}

int crypto_aead_decrypt_nonce(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len,
			      const uint8_t nonce[CRYPTO_NONCE_LEN],
			      const uint8_t key[CRYPTO_KEY_LEN])
{
	if (src_len < CRYPTO_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src,
						      src_len, ad, ad_len,
						      nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

void crypto_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			 const uint8_t *ad, size_t ad_len, uint64_t counter,
			 const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	counter_nonce(nonce, counter);
	crypto_aead_encrypt_nonce(dst, src, len, ad, ad_len, nonce, key);
}

int crypto_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			const uint8_t *ad, size_t ad_len, uint64_t counter,
			const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	counter_nonce(nonce, counter);
	return crypto_aead_decrypt_nonce(dst, src, src_len, ad, ad_len, nonce,
					 key);
}

void crypto_aead_encrypt_detached(uint8_t *buf, size_t len,
				  uint8_t tag[CRYPTO_TAG_LEN], uint64_t counter,
				  const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	counter_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, tag, NULL, buf,
							   len, NULL, 0, NULL,
							   nonce, key);
}

int crypto_aead_decrypt_detached(uint8_t *buf, size_t len,
				 const uint8_t tag[CRYPTO_TAG_LEN],
				 uint64_t counter,
				 const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t nonce[CRYPTO_NONCE_LEN];

	counter_nonce(nonce, counter);
	/* libsodium authenticates before it decrypts, so in place is safe. */
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf,
							       len, tag, NULL,
							       0, nonce,
							       key) != 0)
		return -EBADMSG;
	return 0;
}

void crypto_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t *ad, size_t ad_len,
			  const uint8_t nonce[CRYPTO_XNONCE_LEN],
			  const uint8_t key[CRYPTO_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad,
						   ad_len, NULL, nonce, key);
}

int crypto_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t nonce[CRYPTO_XNONCE_LEN],
			 const uint8_t key[CRYPTO_KEY_LEN])
{
	if (src_len < CRYPTO_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src,
						       src_len, ad, ad_len,
						       nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

/* --- Timestamps and hygiene ----------------------------------------------- */

/* https://cr.yp.to/libtai/tai64.html: label 2^62 + 10 is 1970-01-01 TAI
 * (the 10 is TAI-UTC then, as WireGuard uses it; leap seconds since are
 * ignored, which is harmless because only the ordering matters). */
void crypto_tai64n(uint8_t out[CRYPTO_TAI64N_LEN], uint64_t realtime_ns)
{
	uint64_t secs = 0x400000000000000aULL + realtime_ns / 1000000000ULL;
	uint32_t nsec = (uint32_t)(realtime_ns % 1000000000ULL);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

void crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}
