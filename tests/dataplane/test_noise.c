/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/noise.c: two instances of the core run the handshake against
 * each other (with and without PSK) and must derive matching transport keys;
 * replayed, flooding, unknown and tampered messages must be rejected without
 * any change to handshake state; keypair rotation follows Linux.
 * Randomness is deterministic (random_source_set) so failures reproduce.
 */
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
#include "transport.h"

enum {
	IDX_A = 0x11111111,
	IDX_B = 0x22222222,
};
static const uint64_t NOW = 1000 * NSEC_PER_SEC;          /* monotonic */
static const uint64_t REALTIME = 1700000000ULL * NSEC_PER_SEC;

/* --- Deterministic randomness (splitmix64) -------------------------------- */

static uint64_t rng_state;

static void test_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		p[i] = (uint8_t)(z ^ (z >> 31));
	}
}

/* --- Fixture: A initiates to B -------------------------------------------- */

struct party {
	struct noise_static_identity id;
	struct noise_handshake hs;              /* state for the other party */
};

struct pair {
	struct party a, b;
	struct noise_keypair kp_a, kp_b;
};

static struct noise_handshake *lookup_one(void *ctx,
		const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_handshake *hs = ctx;

	return memcmp(hs->remote_static, remote_static, 32) == 0 ? hs : NULL;
}

static struct noise_handshake *lookup_none(void *ctx, const uint8_t *remote)
{
	(void)ctx;
	(void)remote;
	return NULL;
}

/* A lookup that ignores the key: noise.c must still refuse a mismatch. */
static struct noise_handshake *lookup_any(void *ctx, const uint8_t *remote)
{
	(void)remote;
	return ctx;
}

static void make_identity(struct noise_static_identity *id)
{
	uint8_t priv[32];

	random_bytes(priv, sizeof(priv));
	assert_int_equal(noise_static_identity_set(id, priv), 0);
	crypto_wipe(priv, sizeof(priv));
}

static void pair_init(struct pair *p, const uint8_t *psk_a, const uint8_t *psk_b)
{
	memset(p, 0, sizeof(*p));
	make_identity(&p->a.id);
	make_identity(&p->b.id);
	assert_int_equal(noise_handshake_init(&p->a.hs, &p->a.id,
					      p->b.id.static_public, psk_a,
					      &p->a), 0);
	assert_int_equal(noise_handshake_init(&p->b.hs, &p->b.id,
					      p->a.id.static_public, psk_b,
					      &p->b), 0);
}

static int setup(void **state)
{
	static struct pair p;

	rng_state = 42;
	random_source_set(test_random);
	pair_init(&p, NULL, NULL);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	noise_handshake_destroy(&p->a.hs);
	noise_handshake_destroy(&p->b.hs);
	random_source_set(NULL);
	return 0;
}

static void create_init(struct pair *p, struct message_handshake_initiation *m,
			uint64_t realtime)
{
	assert_true(noise_handshake_create_initiation(m, &p->a.hs, IDX_A,
						      realtime));
}

static struct noise_handshake *consume_init(struct pair *p,
		const struct message_handshake_initiation *m, uint64_t now)
{
	return noise_handshake_consume_initiation(m, &p->b.id, lookup_one,
						  &p->b.hs, now);
}

/* Messages 1 and 2, both sessions begun; the response is returned. */
static void full_handshake(struct pair *p, uint64_t now, uint64_t realtime,
			   struct message_handshake_response *resp)
{
	struct message_handshake_initiation init;

	create_init(p, &init, realtime);
	assert_ptr_equal(consume_init(p, &init, now), &p->b.hs);
	assert_true(noise_handshake_create_response(resp, &p->b.hs, IDX_B));
	assert_true(noise_handshake_consume_response(resp, &p->a.hs));
	assert_true(noise_handshake_begin_session(&p->a.hs, &p->kp_a, now));
	assert_true(noise_handshake_begin_session(&p->b.hs, &p->kp_b, now));
}

/* Seal under one keypair, open under the other. */
static void assert_transport_works(struct noise_keypair *from,
				   struct noise_keypair *to, uint64_t counter)
{
	uint8_t msg[sizeof(struct message_data) + 64 + NOISE_AUTHTAG_LEN];
	uint8_t *payload = msg + sizeof(struct message_data);
	uint64_t got_counter;
	size_t len;

	memset(payload, 0x5a, 64);
	transport_seal(from, counter, msg, 64);
	assert_int_equal(transport_open(to, msg, sizeof(msg), &got_counter,
					&len), 0);
	assert_int_equal(got_counter, counter);
	assert_int_equal(len, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(payload[i], 0x5a);
}

/* --- Static identities ---------------------------------------------------- */

static void test_identity(void **state)
{
	struct noise_static_identity id;
	uint8_t priv[32] = { 0 }, pub[32], want[32];

	(void)state;
	assert_int_equal(noise_static_identity_set(&id, priv), -EINVAL);
	assert_false(id.has_identity);
	assert_int_equal(noise_public_from_private(pub, priv), -EINVAL);

	/* RFC 7748 section 6.1, Alice. */
	static const uint8_t alice[32] = {
		0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1,
		0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0,
		0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a };
	static const uint8_t alice_pub[32] = {
		0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d,
		0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38,
		0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a };
	assert_int_equal(noise_static_identity_set(&id, alice), 0);
	assert_true(id.has_identity);
	assert_memory_equal(id.static_public, alice_pub, 32);
	assert_int_equal(id.static_private[0] & 7, 0);        /* clamped */
	assert_int_equal(noise_public_from_private(want, alice), 0);
	assert_memory_equal(want, alice_pub, 32);

	noise_static_identity_clear(&id);
	assert_false(id.has_identity);
	assert_true(crypto_is_zero(id.static_private, 32));
}

/* A peer whose public key is a small-order point gives an all-zero
 * static-static DH: refused at configuration time. */
static void test_small_order_peer_key(void **state)
{
	struct pair *p = *state;
	struct noise_handshake hs;
	struct message_handshake_initiation init;
	uint8_t bad[32] = { 1 };                          /* u = 1 */

	assert_int_equal(noise_handshake_init(&hs, &p->a.id, bad, NULL, NULL),
			 -EINVAL);
	assert_false(noise_handshake_create_initiation(&init, &hs, IDX_A,
						       REALTIME));
	assert_int_equal(hs.state, HANDSHAKE_ZEROED);
	noise_handshake_destroy(&hs);
}

/* --- Full handshakes ------------------------------------------------------ */

static void check_session(struct pair *p)
{
	assert_memory_equal(p->kp_a.send_key, p->kp_b.recv_key, 32);
	assert_memory_equal(p->kp_a.recv_key, p->kp_b.send_key, 32);
	assert_memory_not_equal(p->kp_a.send_key, p->kp_a.recv_key, 32);
	assert_true(p->kp_a.is_initiator);
	assert_false(p->kp_b.is_initiator);
	assert_int_equal(p->kp_a.local_index, IDX_A);
	assert_int_equal(p->kp_a.remote_index, IDX_B);
	assert_int_equal(p->kp_b.local_index, IDX_B);
	assert_int_equal(p->kp_b.remote_index, IDX_A);
	assert_ptr_equal(p->kp_a.owner, &p->a);
	assert_ptr_equal(p->kp_b.owner, &p->b);
	assert_true(atomic_load(&p->kp_a.valid));
	assert_int_equal(p->kp_a.birthdate, NOW);
	assert_int_equal(atomic_load(&p->kp_a.send_counter), 0);

	/* Both handshakes forgot their ephemeral state. */
	assert_int_equal(p->a.hs.state, HANDSHAKE_ZEROED);
	assert_int_equal(p->b.hs.state, HANDSHAKE_ZEROED);
	assert_true(crypto_is_zero(p->a.hs.ephemeral_private, 32));
	assert_true(crypto_is_zero(p->a.hs.chaining_key, 32));
	assert_true(crypto_is_zero(p->b.hs.hash, 32));

	assert_transport_works(&p->kp_a, &p->kp_b, 0);
	assert_transport_works(&p->kp_b, &p->kp_a, 7);
}

static void test_handshake_no_psk(void **state)
{
	struct pair *p = *state;
	struct message_handshake_response resp;

	full_handshake(p, NOW, REALTIME, &resp);
	check_session(p);
	assert_int_equal(le32toh(resp.receiver_index), IDX_A);
	assert_int_equal(le32toh(resp.sender_index), IDX_B);
}

static void test_handshake_psk(void **state)
{
	struct pair *p = *state;
	struct message_handshake_response resp;
	uint8_t psk[32], a_no_psk[32];

	full_handshake(p, NOW, REALTIME, &resp);
	memcpy(a_no_psk, p->kp_a.send_key, 32);

	random_bytes(psk, sizeof(psk));
	assert_int_equal(noise_handshake_set_psk(&p->a.hs, psk), 0);
	assert_int_equal(noise_handshake_set_psk(&p->b.hs, psk), 0);
	/* Re-deriving with its own PSK keeps it (identity change path). */
	assert_int_equal(noise_handshake_set_psk(&p->b.hs, p->b.hs.preshared_key),
			 0);
	assert_memory_equal(p->b.hs.preshared_key, psk, 32);
	full_handshake(p, NOW + NSEC_PER_SEC, REALTIME + NSEC_PER_SEC, &resp);
	p->kp_a.birthdate = p->kp_b.birthdate = NOW;   /* for check_session */
	check_session(p);
	assert_memory_not_equal(p->kp_a.send_key, a_no_psk, 32);
}

/* Different PSKs: B cannot tell, A's check of the empty payload fails. */
static void test_handshake_psk_mismatch(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	uint8_t psk[32];

	random_bytes(psk, sizeof(psk));
	assert_int_equal(noise_handshake_set_psk(&p->a.hs, psk), 0);
	create_init(p, &init, REALTIME);
	assert_ptr_equal(consume_init(p, &init, NOW), &p->b.hs);
	assert_true(noise_handshake_create_response(&resp, &p->b.hs, IDX_B));
	assert_false(noise_handshake_consume_response(&resp, &p->a.hs));
	assert_int_equal(p->a.hs.state, HANDSHAKE_CREATED_INITIATION);
	assert_false(noise_handshake_begin_session(&p->a.hs, &p->kp_a, NOW));
}

/* Out-of-order calls are refused. */
static void test_state_machine(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;

	assert_false(noise_handshake_create_response(&resp, &p->b.hs, IDX_B));
	assert_false(noise_handshake_begin_session(&p->a.hs, &p->kp_a, NOW));
	create_init(p, &init, REALTIME);
	assert_false(noise_handshake_begin_session(&p->a.hs, &p->kp_a, NOW));
	assert_ptr_equal(consume_init(p, &init, NOW), &p->b.hs);
	assert_false(noise_handshake_begin_session(&p->b.hs, &p->kp_b, NOW));
	assert_true(noise_handshake_create_response(&resp, &p->b.hs, IDX_B));
	/* The responder's handshake cannot consume its own response. */
	assert_false(noise_handshake_consume_response(&resp, &p->b.hs));
	assert_true(noise_handshake_consume_response(&resp, &p->a.hs));
	/* Only once. */
	assert_false(noise_handshake_consume_response(&resp, &p->a.hs));
}

/* Same seed, same time: same bytes.  Proves the core draws randomness only
 * through random.h and reads no clock. */
static void test_deterministic(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation m1, m2;

	rng_state = 7;
	create_init(p, &m1, REALTIME);
	rng_state = 7;
	create_init(p, &m2, REALTIME);
	assert_memory_equal(&m1, &m2, sizeof(m1));
	rng_state = 8;
	create_init(p, &m2, REALTIME);
	assert_memory_not_equal(&m1, &m2, sizeof(m1));
}

/* --- Replay, flood and identity checks ------------------------------------ */

static void assert_rejected_unchanged(struct pair *p,
		const struct message_handshake_initiation *m, uint64_t now)
{
	struct noise_handshake before;

	memcpy(&before, &p->b.hs, sizeof(before));
	assert_null(consume_init(p, m, now));
	assert_memory_equal(&before, &p->b.hs, sizeof(before));
}

static void test_replayed_initiation(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation old, cur, same;

	create_init(p, &old, REALTIME);
	create_init(p, &cur, REALTIME + NSEC_PER_SEC);
	create_init(p, &same, REALTIME + NSEC_PER_SEC);   /* new ephemeral */
	assert_ptr_equal(consume_init(p, &cur, NOW), &p->b.hs);

	/* The very same message again, long after the flood interval. */
	assert_rejected_unchanged(p, &cur, NOW + 10 * NSEC_PER_SEC);
	/* A fresh message with the same timestamp. */
	assert_rejected_unchanged(p, &same, NOW + 10 * NSEC_PER_SEC);
	/* An older one. */
	assert_rejected_unchanged(p, &old, NOW + 10 * NSEC_PER_SEC);
	/* Timestamps within one 2^24 ns granule are equal (Linux rounding). */
	create_init(p, &same, REALTIME + NSEC_PER_SEC + 1000);
	assert_rejected_unchanged(p, &same, NOW + 10 * NSEC_PER_SEC);
	/* A newer one is fine. */
	create_init(p, &cur, REALTIME + 2 * NSEC_PER_SEC);
	assert_ptr_equal(consume_init(p, &cur, NOW + 10 * NSEC_PER_SEC),
			 &p->b.hs);
}

static void test_initiation_flood(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation m;
	const uint64_t interval = NSEC_PER_SEC / INITIATIONS_PER_SECOND;

	create_init(p, &m, REALTIME);
	assert_ptr_equal(consume_init(p, &m, NOW), &p->b.hs);
	create_init(p, &m, REALTIME + NSEC_PER_SEC);
	assert_rejected_unchanged(p, &m, NOW + interval - 1);
	assert_ptr_equal(consume_init(p, &m, NOW + interval), &p->b.hs);
	assert_int_equal(p->b.hs.last_initiation_consumption, NOW + interval);
}

static void test_unknown_or_wrong_peer(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation m;
	struct noise_static_identity mallory;
	struct noise_handshake m_hs, before;

	memcpy(&before, &p->b.hs, sizeof(before));
	/* Nobody configured with A's key. */
	create_init(p, &m, REALTIME);
	assert_null(noise_handshake_consume_initiation(&m, &p->b.id,
						       lookup_none, NULL, NOW));
	/* B's state is for A, but a different responder key is addressed:
	 * the static key does not even decrypt. */
	assert_null(noise_handshake_consume_initiation(&m, &p->a.id,
						       lookup_any, &p->b.hs,
						       NOW));
	assert_memory_equal(&before, &p->b.hs, sizeof(before));

	/* Mallory, unknown to B, initiates to B; a sloppy lookup hands back
	 * A's handshake anyway: noise.c must notice the key mismatch. */
	make_identity(&mallory);
	assert_int_equal(noise_handshake_init(&m_hs, &mallory,
					      p->b.id.static_public, NULL,
					      NULL), 0);
	assert_true(noise_handshake_create_initiation(&m, &m_hs, 5, REALTIME));
	assert_null(consume_init(p, &m, NOW));
	assert_null(noise_handshake_consume_initiation(&m, &p->b.id,
						       lookup_any, &p->b.hs,
						       NOW));
	assert_memory_equal(&before, &p->b.hs, sizeof(before));

	/* No identity on the responder side. */
	struct noise_static_identity none = { .has_identity = false };
	create_init(p, &m, REALTIME);
	assert_null(noise_handshake_consume_initiation(&m, &none, lookup_one,
						       &p->b.hs, NOW));
	noise_handshake_destroy(&m_hs);
}

/* --- Tamper loops --------------------------------------------------------- */

/* Flip every bit of [from, to) and require consume to fail without touching
 * B's state; sender_index is skipped here because only MAC1 protects it
 * (see the pipeline loop below). */
static void tamper_initiation_range(struct pair *p,
				    struct message_handshake_initiation *m,
				    size_t from, size_t to)
{
	uint8_t *bytes = (uint8_t *)m;

	for (size_t i = from; i < to; i++) {
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			assert_rejected_unchanged(p, m, NOW);
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}
}

static void test_tamper_initiation(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation m;

	create_init(p, &m, REALTIME);
	tamper_initiation_range(p, &m, 0, 4);                   /* type */
	tamper_initiation_range(p, &m,
		offsetof(struct message_handshake_initiation,
			 unencrypted_ephemeral),
		offsetof(struct message_handshake_initiation, macs));
	/* Untouched, it is still accepted: the loop changed nothing. */
	assert_ptr_equal(consume_init(p, &m, NOW), &p->b.hs);
}

static void test_tamper_response(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	uint8_t *bytes = (uint8_t *)&resp;
	struct noise_handshake before;

	create_init(p, &init, REALTIME);
	assert_ptr_equal(consume_init(p, &init, NOW), &p->b.hs);
	assert_true(noise_handshake_create_response(&resp, &p->b.hs, IDX_B));
	memcpy(&before, &p->a.hs, sizeof(before));
	for (size_t i = 0; i < offsetof(struct message_handshake_response, macs);
	     i++) {
		if (i >= 4 && i < 8)                    /* sender_index: MAC1 */
			continue;
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			assert_false(noise_handshake_consume_response(&resp,
								      &p->a.hs));
			assert_memory_equal(&before, &p->a.hs, sizeof(before));
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_true(noise_handshake_consume_response(&resp, &p->a.hs));
}

/* The receive pipeline as the control thread runs it: MAC1, then Noise.
 * Every byte up to mac2 (which only counts under load) is covered. */
static void test_tamper_pipeline(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation m;
	struct cookie_maker maker;
	struct cookie_checker checker;
	struct ip_endpoint src = { .addr = { .family = IP_V4,
					     .bytes = { 192, 0, 2, 1 } },
				   .port = 51820 };
	uint8_t *bytes = (uint8_t *)&m;
	struct noise_handshake before;

	memcpy(&before, &p->b.hs, sizeof(before));
	cookie_maker_init(&maker, p->b.id.static_public);
	cookie_checker_init(&checker, p->b.id.static_public);
	create_init(p, &m, REALTIME);
	cookie_add_macs(&maker, &m, sizeof(m), NOW);
	for (size_t i = 0; i < offsetof(struct message_handshake_initiation,
					macs.mac2); i++) {
		for (int bit = 0; bit < 8; bit++) {
			bytes[i] ^= (uint8_t)(1 << bit);
			bool ok = cookie_validate_packet(&checker, &m, sizeof(m),
							 &src, false, NOW) !=
				  INVALID_MAC &&
				  consume_init(p, &m, NOW) != NULL;
			assert_false(ok);
			assert_memory_equal(&before, &p->b.hs, sizeof(before));
			bytes[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_int_equal(cookie_validate_packet(&checker, &m, sizeof(m), &src,
						false, NOW),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_ptr_equal(consume_init(p, &m, NOW), &p->b.hs);
}

/* --- Keypair rotation ----------------------------------------------------- */

struct retired {
	struct noise_keypair *kp[16];
	int n;
};

static void record_retire(struct noise_keypair *kp, void *ctx)
{
	struct retired *r = ctx;

	assert_false(atomic_load(&kp->valid));
	r->kp[r->n++] = kp;
}

static void make_kp(struct noise_keypair *kp, bool initiator)
{
	memset(kp, 0, sizeof(*kp));
	kp->is_initiator = initiator;
	atomic_store(&kp->valid, true);
}

#define ASSERT_SLOTS(kps, prev, cur, nxt) do {                       \
	assert_ptr_equal(atomic_load(&(kps)->previous), (prev));     \
	assert_ptr_equal(atomic_load(&(kps)->current), (cur));       \
	assert_ptr_equal(atomic_load(&(kps)->next), (nxt));          \
} while (0)

static void test_keypair_rotation(void **state)
{
	struct noise_keypairs kps;
	struct noise_keypair k[8];
	struct retired r = { .n = 0 };

	(void)state;
	noise_keypairs_init(&kps, record_retire, &r);
	for (int i = 0; i < 8; i++)
		make_kp(&k[i], i != 3 && i != 4 && i != 6);

	noise_keypairs_install(&kps, &k[0]);            /* initiator */
	ASSERT_SLOTS(&kps, NULL, &k[0], NULL);
	noise_keypairs_install(&kps, &k[1]);
	ASSERT_SLOTS(&kps, &k[0], &k[1], NULL);
	noise_keypairs_install(&kps, &k[2]);
	ASSERT_SLOTS(&kps, &k[1], &k[2], NULL);
	assert_int_equal(r.n, 1);
	assert_ptr_equal(r.kp[0], &k[0]);

	/* Responder: waits in next, previous goes. */
	noise_keypairs_install(&kps, &k[3]);
	ASSERT_SLOTS(&kps, NULL, &k[2], &k[3]);
	assert_ptr_equal(r.kp[1], &k[1]);
	/* A second unconfirmed responder keypair replaces next. */
	noise_keypairs_install(&kps, &k[4]);
	ASSERT_SLOTS(&kps, NULL, &k[2], &k[4]);
	assert_int_equal(r.n, 3);
	assert_ptr_equal(r.kp[2], &k[3]);

	/* Data under current or an unrelated keypair rotates nothing. */
	assert_false(noise_keypairs_received_with(&kps, &k[2]));
	assert_false(noise_keypairs_received_with(&kps, &k[3]));
	assert_false(noise_keypairs_received_with(&kps, NULL));
	/* Key confirmation. */
	assert_true(noise_keypairs_received_with(&kps, &k[4]));
	ASSERT_SLOTS(&kps, &k[2], &k[4], NULL);
	assert_false(noise_keypairs_received_with(&kps, &k[4]));
	assert_int_equal(r.n, 3);

	/* Initiator install while a responder keypair is pending: the
	 * pending one becomes previous, current goes. */
	noise_keypairs_install(&kps, &k[6]);
	ASSERT_SLOTS(&kps, NULL, &k[4], &k[6]);
	noise_keypairs_install(&kps, &k[7]);
	ASSERT_SLOTS(&kps, &k[6], &k[7], NULL);
	assert_int_equal(r.n, 5);
	assert_ptr_equal(r.kp[3], &k[2]);
	assert_ptr_equal(r.kp[4], &k[4]);

	noise_keypairs_clear(&kps);
	ASSERT_SLOTS(&kps, NULL, NULL, NULL);
	assert_int_equal(r.n, 7);
	assert_true(atomic_load(&k[5].valid));          /* never installed */
}

/* Without a retire callback the keys are wiped at once. */
static void test_keypair_clear_wipes(void **state)
{
	struct noise_keypairs kps;
	struct noise_keypair k;

	(void)state;
	make_kp(&k, true);
	memset(k.send_key, 0xaa, 32);
	memset(k.recv_key, 0xbb, 32);
	noise_keypairs_init(&kps, NULL, NULL);
	noise_keypairs_install(&kps, &k);
	noise_keypairs_clear(&kps);
	assert_true(crypto_is_zero(k.send_key, 32));
	assert_true(crypto_is_zero(k.recv_key, 32));
	assert_false(atomic_load(&k.valid));
}

/* Key confirmation end to end: the responder uses its new keypair only
 * after data from the initiator authenticated under it. */
static void test_key_confirmation(void **state)
{
	struct pair *p = *state;
	struct message_handshake_response resp;
	struct noise_keypairs a, b;
	struct noise_keypair old_b;
	struct retired r = { .n = 0 };

	noise_keypairs_init(&a, record_retire, &r);
	noise_keypairs_init(&b, record_retire, &r);
	make_kp(&old_b, false);
	atomic_store(&b.current, &old_b);

	full_handshake(p, NOW, REALTIME, &resp);
	noise_keypairs_install(&a, &p->kp_a);
	noise_keypairs_install(&b, &p->kp_b);
	ASSERT_SLOTS(&a, NULL, &p->kp_a, NULL);
	ASSERT_SLOTS(&b, NULL, &old_b, &p->kp_b);

	assert_transport_works(&p->kp_a, &p->kp_b, 0);
	assert_true(noise_keypairs_received_with(&b, &p->kp_b));
	ASSERT_SLOTS(&b, &old_b, &p->kp_b, NULL);
	assert_transport_works(&p->kp_b, &p->kp_a, 0);
	assert_int_equal(r.n, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_small_order_peer_key),
		T(test_handshake_no_psk),
		T(test_handshake_psk),
		T(test_handshake_psk_mismatch),
		T(test_state_machine),
		T(test_deterministic),
		T(test_replayed_initiation),
		T(test_initiation_flood),
		T(test_unknown_or_wrong_peer),
		T(test_tamper_initiation),
		T(test_tamper_response),
		T(test_tamper_pipeline),
		T(test_keypair_rotation),
		T(test_keypair_clear_wipes),
		T(test_key_confirmation),
	};
#undef T

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
