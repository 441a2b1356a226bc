/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/cookie.c: MAC1 on every handshake message, cookie replies
 * under load, MAC2 bound to the sender's address and to a secret that
 * rotates every two minutes, and the maker's cookie lifetime.  Time is
 * injected; randomness is deterministic.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "random.h"

static const uint64_t T0 = 5000 * NSEC_PER_SEC;

static uint64_t rng_state;

static void test_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		rng_state = rng_state * 6364136223846793005ULL +
			    1442695040888963407ULL;
		p[i] = (uint8_t)(rng_state >> 56);
	}
}

/* The responder (checker, our interface key) and the initiator's per-peer
 * maker for it; msg stands in for any handshake message. */
struct fixture {
	uint8_t responder_public[32], other_public[32];
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct message_handshake_initiation msg;
	struct ip_endpoint src;
};

static void public_key(uint8_t pub[32])
{
	uint8_t priv[32];

	random_bytes(priv, sizeof(priv));
	assert_int_equal(noise_public_from_private(pub, priv), 0);
	crypto_wipe(priv, sizeof(priv));
}

static int setup(void **state)
{
	static struct fixture f;

	rng_state = 1;
	random_source_set(test_random);
	memset(&f, 0, sizeof(f));
	public_key(f.responder_public);
	public_key(f.other_public);
	cookie_checker_init(&f.checker, f.responder_public);
	cookie_maker_init(&f.maker, f.responder_public);
	f.msg.header.type = htole32(MESSAGE_HANDSHAKE_INITIATION);
	f.msg.sender_index = htole32(0xabcd);
	random_bytes((uint8_t *)&f.msg + offsetof(struct message_handshake_initiation,
						  unencrypted_ephemeral),
		     offsetof(struct message_handshake_initiation, macs) -
		     offsetof(struct message_handshake_initiation,
			      unencrypted_ephemeral));
	f.src = (struct ip_endpoint){
		.addr = { .family = IP_V4, .bytes = { 198, 51, 100, 7 } },
		.port = 40000,
	};
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	random_source_set(NULL);
	return 0;
}

static enum cookie_mac_state validate(struct fixture *f, bool under_load,
				      const struct ip_endpoint *src, uint64_t now)
{
	return cookie_validate_packet(&f->checker, &f->msg, sizeof(f->msg), src,
				      under_load, now);
}

/* The full exchange: message without mac2, reply, consume, resend. */
static void get_cookie(struct fixture *f, uint64_t now)
{
	struct message_handshake_cookie reply;

	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), now);
	assert_int_equal(validate(f, true, &f->src, now), VALID_MAC_BUT_NO_COOKIE);
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 0xabcd,
			      &f->checker, &f->src, now);
	assert_int_equal(cookie_message_consume(&reply, &f->maker, now), 0);
	assert_true(f->maker.is_valid);
	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), now);
}

/* --- MAC1 ----------------------------------------------------------------- */

static void test_mac1(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[16];
	struct cookie_maker wrong;

	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0);
	assert_memory_not_equal(f->msg.macs.mac1, zero, 16);
	assert_memory_equal(f->msg.macs.mac2, zero, 16);   /* no cookie yet */
	assert_true(f->maker.have_sent_mac1);
	assert_memory_equal(f->maker.last_mac1_sent, f->msg.macs.mac1, 16);
	assert_int_equal(validate(f, false, &f->src, T0), VALID_MAC_BUT_NO_COOKIE);
	/* Under load, a valid mac1 without a cookie asks for a reply. */
	assert_int_equal(validate(f, true, &f->src, T0), VALID_MAC_BUT_NO_COOKIE);

	/* MAC1 keyed for another responder. */
	cookie_maker_init(&wrong, f->other_public);
	cookie_add_macs(&wrong, &f->msg, sizeof(f->msg), T0);
	assert_int_equal(validate(f, false, &f->src, T0), INVALID_MAC);

	/* Too short to hold MACs at all. */
	assert_int_equal(cookie_validate_packet(&f->checker, &f->msg, 35,
						&f->src, false, T0),
			 INVALID_MAC);
}

/* Every bit before mac2 is covered by mac1. */
static void test_mac1_tamper(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes = (uint8_t *)&f->msg;

	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0);
	for (size_t i = 0; i < offsetof(struct message_handshake_initiation,
					macs.mac2); i++) {
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(validate(f, false, &f->src, T0),
					 INVALID_MAC);
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_int_equal(validate(f, false, &f->src, T0), VALID_MAC_BUT_NO_COOKIE);
}

/* --- Cookie replies and MAC2 ---------------------------------------------- */

static void test_cookie_round_trip(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie r1, r2;

	get_cookie(f, T0);
	assert_int_equal(validate(f, true, &f->src, T0), VALID_MAC_WITH_COOKIE);
	assert_int_equal(validate(f, false, &f->src, T0), VALID_MAC_BUT_NO_COOKIE);

	/* Replies carry our index and a fresh random nonce each time. */
	cookie_message_create(&r1, &f->msg, sizeof(f->msg), 0xabcd, &f->checker,
			      &f->src, T0);
	cookie_message_create(&r2, &f->msg, sizeof(f->msg), 0xabcd, &f->checker,
			      &f->src, T0);
	assert_int_equal(le32toh(r1.header.type), MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32toh(r1.receiver_index), 0xabcd);
	assert_memory_not_equal(r1.nonce, r2.nonce, sizeof(r1.nonce));
}

/* Every bit of a message with mac2 is covered when under load. */
static void test_mac2_tamper(void **state)
{
	struct fixture *f = *state;
	uint8_t *bytes = (uint8_t *)&f->msg;

	get_cookie(f, T0);
	for (size_t i = 0; i < sizeof(f->msg); i++) {
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			assert_int_not_equal(validate(f, true, &f->src, T0),
					     VALID_MAC_WITH_COOKIE);
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_int_equal(validate(f, true, &f->src, T0), VALID_MAC_WITH_COOKIE);
}

/* The cookie is for one IP address and UDP port. */
static void test_mac2_source_bound(void **state)
{
	struct fixture *f = *state;
	struct ip_endpoint other = f->src;

	get_cookie(f, T0);
	other.port++;
	assert_int_equal(validate(f, true, &other, T0), VALID_MAC_BUT_NO_COOKIE);
	other = f->src;
	other.addr.bytes[3] ^= 1;
	assert_int_equal(validate(f, true, &other, T0), VALID_MAC_BUT_NO_COOKIE);
	/* Same leading bytes as IPv6: a different serialisation. */
	other = f->src;
	other.addr.family = IP_V6;
	assert_int_equal(validate(f, true, &other, T0), VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(validate(f, true, &f->src, T0), VALID_MAC_WITH_COOKIE);
}

static void test_source_bytes(void **state)
{
	uint8_t out[COOKIE_SOURCE_MAX];
	struct ip_endpoint v4 = { .addr = { .family = IP_V4,
					    .bytes = { 10, 0, 0, 1 } },
				  .port = 0x1234 };
	struct ip_endpoint v6 = { .addr = { .family = IP_V6,
					    .bytes = { 0x20, 0x01, 0x0d, 0xb8,
						       [15] = 1 } },
				  .port = 51820 };
	static const uint8_t want4[] = { 10, 0, 0, 1, 0x12, 0x34 };

	(void)state;
	assert_int_equal(cookie_source_bytes(out, &v4), 6);
	assert_memory_equal(out, want4, 6);
	assert_int_equal(cookie_source_bytes(out, &v6), 18);
	assert_int_equal(out[15], 1);
	assert_int_equal(out[16], 51820 >> 8);
	assert_int_equal(out[17], 51820 & 0xff);
}

/* --- Expiry --------------------------------------------------------------- */

/* The checker's secret lives COOKIE_SECRET_MAX_AGE_S from its first use;
 * after that every outstanding cookie stops validating. */
static void test_secret_rotation(void **state)
{
	struct fixture *f = *state;
	const uint64_t age = COOKIE_SECRET_MAX_AGE_S * NSEC_PER_SEC;

	get_cookie(f, T0);
	assert_int_equal(f->checker.secret_birthdate, T0);
	assert_int_equal(validate(f, true, &f->src, T0 + age - 1),
			 VALID_MAC_WITH_COOKIE);
	assert_int_equal(validate(f, true, &f->src, T0 + age),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(f->checker.secret_birthdate, T0 + age);
	/* A new cookie under the new secret works again. */
	get_cookie(f, T0 + age);
	assert_int_equal(validate(f, true, &f->src, T0 + age),
			 VALID_MAC_WITH_COOKIE);
}

/* The maker uses a cookie for MAX_AGE - LATENCY seconds, then sends zeros. */
static void test_maker_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	const uint64_t life = (COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) *
			      NSEC_PER_SEC;
	static const uint8_t zero[16];

	get_cookie(f, T0);
	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0 + life - 1);
	assert_memory_not_equal(f->msg.macs.mac2, zero, 16);
	assert_int_equal(validate(f, true, &f->src, T0 + life - 1),
			 VALID_MAC_WITH_COOKIE);
	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0 + life);
	assert_memory_equal(f->msg.macs.mac2, zero, 16);
	assert_int_equal(validate(f, true, &f->src, T0 + life),
			 VALID_MAC_BUT_NO_COOKIE);
}

/* --- Consuming replies ---------------------------------------------------- */

static void assert_consume_fails_unchanged(struct fixture *f,
		const struct message_handshake_cookie *reply)
{
	struct cookie_maker before;

	memcpy(&before, &f->maker, sizeof(before));
	assert_int_equal(cookie_message_consume(reply, &f->maker, T0), -EINVAL);
	assert_memory_equal(&before, &f->maker, sizeof(before));
}

static void test_reply_rejections(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply;
	struct cookie_checker other;
	uint8_t *bytes = (uint8_t *)&reply;

	/* Nothing sent yet: no reply can be for us. */
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 1, &f->checker,
			      &f->src, T0);
	assert_consume_fails_unchanged(f, &reply);

	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0);
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 1, &f->checker,
			      &f->src, T0);
	for (size_t i = 0; i < sizeof(reply); i++) {
		if (i >= 4 && i < 8)            /* receiver_index: a lookup key */
			continue;
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			assert_consume_fails_unchanged(f, &reply);
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}

	/* From a responder with another key. */
	cookie_checker_init(&other, f->other_public);
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 1, &other,
			      &f->src, T0);
	assert_consume_fails_unchanged(f, &reply);

	/* For an older message: the reply is bound to the latest mac1. */
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 1, &f->checker,
			      &f->src, T0);
	f->msg.sender_index ^= 1;
	cookie_add_macs(&f->maker, &f->msg, sizeof(f->msg), T0);
	assert_consume_fails_unchanged(f, &reply);

	/* Accepted once, then a replay of the same reply is refused. */
	cookie_message_create(&reply, &f->msg, sizeof(f->msg), 1, &f->checker,
			      &f->src, T0);
	assert_int_equal(cookie_message_consume(&reply, &f->maker, T0), 0);
	assert_consume_fails_unchanged(f, &reply);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mac1),
		T(test_mac1_tamper),
		T(test_cookie_round_trip),
		T(test_mac2_tamper),
		T(test_mac2_source_bound),
		T(test_source_bytes),
		T(test_secret_rotation),
		T(test_maker_cookie_expiry),
		T(test_reply_rejections),
	};
#undef T

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
