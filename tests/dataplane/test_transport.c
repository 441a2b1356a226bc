/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/transport.c: data message seal/open in place, the padding rule,
 * and that every bit of a sealed message is authenticated or checked.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "noise.h"
#include "random.h"
#include "transport.h"

enum {
	HDR = sizeof(struct message_data),
	TAG = NOISE_AUTHTAG_LEN,
	MAX_PLAIN = 9000,
	IDX_A = 0x01020304,
	IDX_B = 0xa0b0c0d0,
};

/* a sends to b: a.send_key = b.recv_key and the other way round. */
struct fixture {
	struct noise_keypair a, b;
	uint8_t buf[HDR + MAX_PLAIN + MESSAGE_PADDING_MULTIPLE + TAG];
	uint8_t copy[HDR + MAX_PLAIN + MESSAGE_PADDING_MULTIPLE + TAG];
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	random_bytes(f.a.send_key, 32);
	random_bytes(f.a.recv_key, 32);
	memcpy(f.b.recv_key, f.a.send_key, 32);
	memcpy(f.b.send_key, f.a.recv_key, 32);
	f.a.local_index = f.b.remote_index = IDX_A;
	f.b.local_index = f.a.remote_index = IDX_B;
	*state = &f;
	return 0;
}

static uint8_t *payload(struct fixture *f)
{
	return f->buf + HDR;
}

/* Fill plain_len bytes of a pattern, pad, seal; returns the message length. */
static size_t seal(struct fixture *f, size_t plain_len, size_t mtu,
		   uint64_t counter)
{
	size_t padded;

	for (size_t i = 0; i < plain_len; i++)
		payload(f)[i] = (uint8_t)(i * 7 + 1);
	padded = transport_pad(f->buf, plain_len, mtu);
	transport_seal(&f->a, counter, f->buf, padded);
	return message_data_len(padded);
}

/* --- Padding -------------------------------------------------------------- */

static const struct {
	size_t plain, mtu, padded;
} padding_cases[] = {
	/*  1 */ { 0, 1420, 0 },          /* keepalive stays empty */
	/*  2 */ { 1, 1420, 16 },
	/*  3 */ { 15, 1420, 16 },
	/*  4 */ { 16, 1420, 16 },
	/*  5 */ { 17, 1420, 32 },
	/*  6 */ { 1405, 1420, 1408 },
	/*  7 */ { 1409, 1420, 1420 },    /* would be 1424: capped at the MTU */
	/*  8 */ { 1419, 1420, 1420 },
	/*  9 */ { 1420, 1420, 1420 },
	/* 10 */ { 1430, 1420, 1436 },    /* oversized: last unit 10 -> 16 */
	/* 11 */ { 1500, 1420, 1500 },    /* last unit 80 is aligned already */
	/* 12 */ { 2840, 1420, 2840 },    /* exact multiple of the MTU */
	/* 13 */ { 17, 0, 32 },           /* no MTU: plain rounding */
	/* 14 */ { 100, 1000, 112 },
	/* 15 */ { 99, 100, 100 },        /* MTU not a multiple of 16 */
};

static void test_padding_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(padding_cases) / sizeof(padding_cases[0]);
	     i++) {
		size_t got = transport_padded_len(padding_cases[i].plain,
						  padding_cases[i].mtu);

		if (got != padding_cases[i].padded)
			fail_msg("case %zu: plain %zu mtu %zu: got %zu want %zu",
				 i + 1, padding_cases[i].plain,
				 padding_cases[i].mtu, got,
				 padding_cases[i].padded);
	}
}

/* transport_pad zeroes exactly the padding, which must arrive as zeros. */
static void test_padding_zeroed(void **state)
{
	struct fixture *f = *state;
	uint64_t counter;
	size_t len, plain;

	memset(f->buf, 0xee, sizeof(f->buf));
	len = seal(f, 5, 1420, 0);
	assert_int_equal(len, HDR + 16 + TAG);
	assert_int_equal(transport_open(&f->b, f->buf, len, &counter, &plain), 0);
	assert_int_equal(plain, 16);
	for (size_t i = 5; i < 16; i++)
		assert_int_equal(payload(f)[i], 0);
}

/* --- Round trips ---------------------------------------------------------- */

static void round_trip(struct fixture *f, size_t plain_len, size_t mtu,
		       uint64_t counter)
{
	size_t len = seal(f, plain_len, mtu, counter), got_len;
	uint64_t got_counter;

	assert_int_equal(transport_counter(f->buf), counter);
	assert_int_equal(transport_receiver_index(f->buf), IDX_B);
	assert_int_equal(transport_open(&f->b, f->buf, len, &got_counter,
					&got_len), 0);
	assert_int_equal(got_counter, counter);
	assert_int_equal(got_len, len - HDR - TAG);
	for (size_t i = 0; i < plain_len; i++)
		if (payload(f)[i] != (uint8_t)(i * 7 + 1))
			fail_msg("length %zu: byte %zu differs", plain_len, i);
}

static void test_round_trip_lengths(void **state)
{
	struct fixture *f = *state;

	for (size_t n = 0; n <= 1500; n++)
		round_trip(f, n, 1420, n);
	round_trip(f, MAX_PLAIN, 0, 1);
	round_trip(f, MAX_PLAIN, 9000, 2);
	round_trip(f, 100, 1420, REJECT_AFTER_MESSAGES - 1);
}

/* The wire layout: type 4, the receiver's index and the counter, all LE,
 * and the ciphertext is RFC 8439 under 0^32 || LE64(counter). */
static void test_wire_layout(void **state)
{
	struct fixture *f = *state;
	const uint64_t counter = 0x0102030405060708ULL;
	uint8_t plain[32], want[32 + TAG];
	size_t len;

	for (size_t i = 0; i < 32; i++)
		plain[i] = (uint8_t)(i * 7 + 1);
	len = seal(f, 32, 1420, counter);
	assert_int_equal(len, HDR + 32 + TAG);
	assert_int_equal(f->buf[0], MESSAGE_DATA);
	assert_int_equal(f->buf[1] | f->buf[2] | f->buf[3], 0);
	assert_int_equal(f->buf[4], IDX_B & 0xff);            /* LE index */
	assert_int_equal(f->buf[8], 0x08);                    /* LE counter */
	assert_int_equal(f->buf[15], 0x01);
	crypto_aead_encrypt(want, plain, 32, NULL, 0, counter, f->a.send_key);
	assert_memory_equal(f->buf + HDR, want, sizeof(want));
}

/* --- Rejections ----------------------------------------------------------- */

/* Header bytes are checked (-EINVAL), everything else is authenticated
 * (-EBADMSG): the counter through the nonce, payload and tag directly. */
static void tamper_all(struct fixture *f, size_t plain_len)
{
	size_t len = seal(f, plain_len, 1420, 99), out_len;
	uint64_t counter;

	memcpy(f->copy, f->buf, len);
	for (size_t i = 0; i < len; i++) {
		int want = i < offsetof(struct message_data, counter) ?
			   -EINVAL : -EBADMSG;

		for (int bit = 0; bit < 8; bit++) {
			memcpy(f->buf, f->copy, len);   /* failures zero it */
			f->buf[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(transport_open(&f->b, f->buf, len,
							&counter, &out_len),
					 want);
		}
	}
	memcpy(f->buf, f->copy, len);
	assert_int_equal(transport_open(&f->b, f->buf, len, &counter, &out_len), 0);
}

static void test_tamper(void **state)
{
	struct fixture *f = *state;

	tamper_all(f, 0);               /* keepalive */
	tamper_all(f, 1);
	tamper_all(f, 100);
}

static void test_wrong_key_or_length(void **state)
{
	struct fixture *f = *state;
	struct noise_keypair wrong = f->b;
	uint64_t counter;
	size_t len, out_len;

	/* Different receive key, same index. */
	wrong.recv_key[0] ^= 1;
	len = seal(f, 64, 1420, 5);
	assert_int_equal(transport_open(&wrong, f->buf, len, &counter, &out_len),
			 -EBADMSG);
	/* Our own keypair: the message is addressed to the peer. */
	len = seal(f, 64, 1420, 5);
	assert_int_equal(transport_open(&f->a, f->buf, len, &counter, &out_len),
			 -EINVAL);
	/* Same index and key but opened in the wrong direction. */
	wrong = f->a;
	wrong.local_index = IDX_B;
	len = seal(f, 64, 1420, 5);
	assert_int_equal(transport_open(&wrong, f->buf, len, &counter, &out_len),
			 -EBADMSG);
	/* Truncated: shorter than a keepalive, or tag cut. */
	len = seal(f, 0, 1420, 5);
	assert_int_equal(transport_open(&f->b, f->buf, len - 1, &counter,
					&out_len), -EINVAL);
	len = seal(f, 64, 1420, 5);
	assert_int_equal(transport_open(&f->b, f->buf, len - 1, &counter,
					&out_len), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padding_rule),
		cmocka_unit_test(test_padding_zeroed),
		cmocka_unit_test(test_round_trip_lengths),
		cmocka_unit_test(test_wire_layout),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_wrong_key_or_length),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
