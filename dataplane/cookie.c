/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MAC1, MAC2 and cookie replies (paper sections 5.3, 5.4.4 and 5.4.7).
 *
 *   mac1   = Mac(Hash("mac1----" || S_pub of the receiver), msg up to mac1)
 *   cookie = Mac(R_m, source address || port), R_m random, renewed every
 *            COOKIE_SECRET_MAX_AGE_S
 *   mac2   = Mac(cookie, msg up to mac2), zeros without a fresh cookie
 *   reply  = XAead(Hash("cookie--" || S_pub of the checker), nonce, cookie,
 *                  mac1 of the message being answered)
 *
 * Binding the reply to mac1 means only the host that sent that exact
 * message can use the cookie, and only for the source it came from.
 */
#include "cookie.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "random.h"

_Static_assert((int)COOKIE_LEN == (int)CRYPTO_MAC_LEN, "16-byte MACs");
_Static_assert((int)COOKIE_NONCE_LEN == (int)CRYPTO_XNONCE_LEN, "XChaCha20");

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

/* Both labels are 8 bytes; the hash is over label || public key. */
static void derive_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char *label,
		       const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	crypto_blake2s_concat(key, label, 8, public_key, NOISE_PUBLIC_KEY_LEN);
}

static bool has_expired(uint64_t birthdate, uint64_t max_age_s, uint64_t now)
{
	return birthdate + max_age_s * NSEC_PER_SEC <= now;
}

/* The MACs are the last 32 bytes of every message that carries them. */
static struct message_macs *macs_of(const void *msg, size_t len)
{
	return (struct message_macs *)((uintptr_t)msg + len -
				       sizeof(struct message_macs));
}

static void compute_mac1(uint8_t out[COOKIE_LEN], const void *msg, size_t len,
			 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	crypto_mac(out, key, NOISE_SYMMETRIC_KEY_LEN, msg,
		   len - sizeof(struct message_macs));
}

static void compute_mac2(uint8_t out[COOKIE_LEN], const void *msg, size_t len,
			 const uint8_t cookie[COOKIE_LEN])
{
	crypto_mac(out, cookie, COOKIE_LEN, msg, len - COOKIE_LEN);
}

size_t cookie_source_bytes(uint8_t out[COOKIE_SOURCE_MAX],
			   const struct ip_endpoint *src)
{
	size_t len = ip_addr_len(&src->addr);

	memcpy(out, src->addr.bytes, len);
	out[len] = (uint8_t)(src->port >> 8);
	out[len + 1] = (uint8_t)src->port;
	return len + 2;
}

void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t our_public[NOISE_PUBLIC_KEY_LEN])
{
	crypto_wipe(c, sizeof(*c));
	derive_key(c->cookie_encryption_key, label_cookie, our_public);
	derive_key(c->message_mac1_key, label_mac1, our_public);
	/* secret_birthdate 0: the first cookie draws a fresh secret. */
}

void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	crypto_wipe(m, sizeof(*m));
	derive_key(m->cookie_decryption_key, label_cookie, peer_public);
	derive_key(m->message_mac1_key, label_mac1, peer_public);
}

/* The cookie for src under the current secret, renewing the secret when
 * it is COOKIE_SECRET_MAX_AGE_S old: outstanding cookies then stop
 * validating, which bounds how long a leaked cookie is useful. */
static void make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *c,
			const struct ip_endpoint *src, uint64_t now)
{
	uint8_t source[COOKIE_SOURCE_MAX];
	size_t len;

	if (c->secret_birthdate == 0 ||
	    has_expired(c->secret_birthdate, COOKIE_SECRET_MAX_AGE_S, now)) {
		random_bytes(c->secret, sizeof(c->secret));
		c->secret_birthdate = now;
	}
	len = cookie_source_bytes(source, src);
	crypto_mac(cookie, c->secret, sizeof(c->secret), source, len);
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const void *msg, size_t len,
					     const struct ip_endpoint *src,
					     bool check_cookie, uint64_t now)
{
	enum cookie_mac_state ret = INVALID_MAC;
	const struct message_macs *macs;
	uint8_t computed[COOKIE_LEN];
	uint8_t cookie[COOKIE_LEN];

	/* Callers pass whole handshake messages; anything shorter than the
	 * MACs plus a header is malformed, not merely unauthenticated. */
	if (len < sizeof(struct message_header) + sizeof(struct message_macs))
		goto out;

	macs = macs_of(msg, len);
	compute_mac1(computed, msg, len, c->message_mac1_key);
	if (!crypto_equal(computed, macs->mac1, COOKIE_LEN))
		goto out;
	ret = VALID_MAC_BUT_NO_COOKIE;

	if (!check_cookie)
		goto out;
	make_cookie(cookie, c, src, now);
	compute_mac2(computed, msg, len, cookie);
	if (!crypto_equal(computed, macs->mac2, COOKIE_LEN))
		goto out;
	ret = VALID_MAC_WITH_COOKIE;
out:
	crypto_wipe(cookie, sizeof(cookie));
	crypto_wipe(computed, sizeof(computed));
	return ret;
}

/* mac2 uses the cookie only while it is younger than the checker's secret
 * rotation minus a margin for the reply's flight time: an older cookie
 * would likely be refused, and zeros at least do not pretend. */
void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now)
{
	struct message_macs *macs;

	if (len < sizeof(struct message_header) + sizeof(struct message_macs))
		return;
	macs = macs_of(msg, len);

	compute_mac1(macs->mac1, msg, len, m->message_mac1_key);
	memcpy(m->last_mac1_sent, macs->mac1, COOKIE_LEN);
	m->have_sent_mac1 = true;

	if (m->is_valid &&
	    !has_expired(m->birthdate,
			 COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S, now))
		compute_mac2(macs->mac2, msg, len, m->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
}

void cookie_message_create(struct message_handshake_cookie *dst,
			   const void *msg, size_t len, uint32_t receiver_index,
			   struct cookie_checker *c,
			   const struct ip_endpoint *src, uint64_t now)
{
	const struct message_macs *macs = macs_of(msg, len);
	uint8_t cookie[COOKIE_LEN];

	dst->header.type = htole32(MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = htole32(receiver_index);
	/* A random 192-bit nonce never repeats in practice, so the checker
	 * keeps no nonce state. */
	random_bytes(dst->nonce, sizeof(dst->nonce));
	make_cookie(cookie, c, src, now);
	crypto_xaead_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN,
			     macs->mac1, COOKIE_LEN, dst->nonce,
			     c->cookie_encryption_key);
	crypto_wipe(cookie, sizeof(cookie));
}

int cookie_message_consume(const struct message_handshake_cookie *src,
			   struct cookie_maker *m, uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];
	int ret = -EINVAL;

	if (!m->have_sent_mac1 ||
	    src->header.type != htole32(MESSAGE_HANDSHAKE_COOKIE))
		goto out;
	if (crypto_xaead_decrypt(cookie, src->encrypted_cookie,
				 sizeof(src->encrypted_cookie),
				 m->last_mac1_sent, COOKIE_LEN, src->nonce,
				 m->cookie_decryption_key) != 0)
		goto out;

	memcpy(m->cookie, cookie, COOKIE_LEN);
	m->birthdate = now;
	m->is_valid = true;
	/* One reply per message sent: a replayed reply cannot refresh it. */
	m->have_sent_mac1 = false;
	ret = 0;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}
