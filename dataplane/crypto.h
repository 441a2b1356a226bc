/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cryptographic primitives of WireGuard (paper section 5.4, "Protocol &
 * Cryptography"), as thin, allocation-free wrappers:
 *
 *   HASH   BLAKE2s-256 (libb2)              MAC   keyed BLAKE2s-128
 *   HMAC   HMAC-BLAKE2s-256                 KDF   HKDF over HMAC, 1-3 outputs
 *   DH     X25519 (libsodium)               AEAD  ChaCha20-Poly1305 (RFC 8439)
 *   XAEAD  XChaCha20-Poly1305 (cookies)     TAI64N timestamps
 *
 * Every function is reentrant and thread-safe; none reads a clock or draws
 * randomness except crypto_dh_generate(), which goes through random.h.
 */
#ifndef PORTCULLIS_CRYPTO_H
#define PORTCULLIS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum crypto_sizes {
	CRYPTO_HASH_LEN = 32,
	CRYPTO_HMAC_BLOCK_LEN = 64,   /* BLAKE2s block size */
	CRYPTO_MAC_LEN = 16,
	CRYPTO_KEY_LEN = 32,
	CRYPTO_DH_LEN = 32,
	CRYPTO_TAG_LEN = 16,
	CRYPTO_NONCE_LEN = 12,        /* RFC 8439 */
	CRYPTO_XNONCE_LEN = 24,
	CRYPTO_TAI64N_LEN = 12,
};

/* Select libsodium's fastest implementations; call once at start-up, before
 * threads.  Everything also works without it, only slower.  0 or -EIO. */
int crypto_init(void);

/* --- Hashing -------------------------------------------------------------- */

/* out = BLAKE2s-256(in). */
void crypto_blake2s(uint8_t out[CRYPTO_HASH_LEN], const void *in, size_t len);
/* out = BLAKE2s-256(a || b); out may alias a or b. */
void crypto_blake2s_concat(uint8_t out[CRYPTO_HASH_LEN], const void *a,
			   size_t a_len, const void *b, size_t b_len);
/* Keyed BLAKE2s with out_len 1..32 and key_len 0..32 (RFC 7693). */
void crypto_blake2s_keyed(uint8_t *out, size_t out_len, const void *key,
			  size_t key_len, const void *in, size_t len);
/* MAC(key, in) = keyed BLAKE2s-128: mac1, mac2 and cookies. */
void crypto_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key,
		size_t key_len, const void *in, size_t len);
/* HMAC-BLAKE2s (RFC 2104 with a 64-byte block); key_len <= 64. */
void crypto_hmac(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key,
		 size_t key_len, const void *in, size_t len);

/*
 * The paper's KDF_n(C, input): t0 = HMAC(C, input), t1 = HMAC(t0, 0x1),
 * t_i = HMAC(t0, t_{i-1} || i).  Any of t1..t3 may be NULL (not wanted) and
 * any may alias chaining_key, which is read before the first write.
 */
void crypto_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3,
		const uint8_t chaining_key[CRYPTO_HASH_LEN],
		const void *in, size_t len);

/* --- X25519 --------------------------------------------------------------- */

/* RFC 7748 section 5 clamping of a private scalar. */
void crypto_dh_clamp(uint8_t key[CRYPTO_DH_LEN]);
/* Fresh clamped private key from random_bytes(). */
void crypto_dh_generate(uint8_t private_key[CRYPTO_DH_LEN]);
/* public = X25519(private, 9); -EINVAL if private is all zeros. */
int crypto_dh_public(uint8_t public_key[CRYPTO_DH_LEN],
		     const uint8_t private_key[CRYPTO_DH_LEN]);
/* out = X25519(private, public); -EINVAL (out zeroed) for an all-zero
 * result, i.e. a small-order public key: the paper requires rejecting it. */
int crypto_dh(uint8_t out[CRYPTO_DH_LEN],
	      const uint8_t private_key[CRYPTO_DH_LEN],
	      const uint8_t public_key[CRYPTO_DH_LEN]);

/* --- AEAD ----------------------------------------------------------------- */

/* ChaCha20-Poly1305 with nonce 0^32 || LE64(counter).  dst receives len
 * bytes of ciphertext then the 16-byte tag; dst may equal src. */
void crypto_aead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			 const uint8_t *ad, size_t ad_len, uint64_t counter,
			 const uint8_t key[CRYPTO_KEY_LEN]);
/* src_len includes the tag.  0, or -EBADMSG (dst then undefined, the caller
 * must not use it); dst may equal src. */
int crypto_aead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			const uint8_t *ad, size_t ad_len, uint64_t counter,
			const uint8_t key[CRYPTO_KEY_LEN]);
/* Detached variants for in-place transport encryption. */
void crypto_aead_encrypt_detached(uint8_t *buf, size_t len,
				  uint8_t tag[CRYPTO_TAG_LEN], uint64_t counter,
				  const uint8_t key[CRYPTO_KEY_LEN]);
int crypto_aead_decrypt_detached(uint8_t *buf, size_t len,
				 const uint8_t tag[CRYPTO_TAG_LEN],
				 uint64_t counter,
				 const uint8_t key[CRYPTO_KEY_LEN]);
/* RFC 8439 with an explicit 96-bit nonce (test vectors). */
void crypto_aead_encrypt_nonce(uint8_t *dst, const uint8_t *src, size_t len,
			       const uint8_t *ad, size_t ad_len,
			       const uint8_t nonce[CRYPTO_NONCE_LEN],
			       const uint8_t key[CRYPTO_KEY_LEN]);
int crypto_aead_decrypt_nonce(uint8_t *dst, const uint8_t *src, size_t src_len,
			      const uint8_t *ad, size_t ad_len,
			      const uint8_t nonce[CRYPTO_NONCE_LEN],
			      const uint8_t key[CRYPTO_KEY_LEN]);

/* XChaCha20-Poly1305 (cookie replies, paper section 5.4.7). */
void crypto_xaead_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			  const uint8_t *ad, size_t ad_len,
			  const uint8_t nonce[CRYPTO_XNONCE_LEN],
			  const uint8_t key[CRYPTO_KEY_LEN]);
int crypto_xaead_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t nonce[CRYPTO_XNONCE_LEN],
			 const uint8_t key[CRYPTO_KEY_LEN]);

/* --- Timestamps and hygiene ----------------------------------------------- */

/* TAI64N label of a wall-clock time in ns since the Unix epoch:
 * BE64(2^62 + 10 + seconds) || BE32(nanoseconds).  Big-endian so that
 * memcmp() orders timestamps chronologically. */
void crypto_tai64n(uint8_t out[CRYPTO_TAI64N_LEN], uint64_t realtime_ns);

/* Constant-time equality (sodium_memcmp). */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Constant-time all-zero test (sodium_is_zero). */
bool crypto_is_zero(const void *p, size_t len);
/* Wipe that the compiler may not elide (sodium_memzero). */
void crypto_wipe(void *p, size_t len);

#endif
