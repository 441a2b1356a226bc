/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Noise_IKpsk2 for WireGuard (paper section 5.4) and keypair rotation
 * (section 5.4.6 and Linux noise.c semantics).
 *
 * Every handshake step computes on local copies of the chaining key and
 * hash and commits them to struct noise_handshake only once the whole
 * message has been built or authenticated: a failed call leaves the
 * handshake exactly as it was, so a forged or corrupted packet cannot
 * disturb a handshake in progress.  Every message function has one exit,
 * `out:`, which wipes the locals that held secrets.
 *
 * Sender/receiver indices are host-order numbers in every struct and
 * little-endian on the wire, like every WireGuard field (wire.h); the
 * dataplane looks them up with le32toh(key_idx).
 */
#include "noise.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "random.h"

/* wire.h and crypto.h name the same sizes from two sides. */
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)CRYPTO_DH_LEN, "X25519");
_Static_assert((int)NOISE_HASH_LEN == (int)CRYPTO_HASH_LEN, "BLAKE2s");
_Static_assert((int)NOISE_AUTHTAG_LEN == (int)CRYPTO_TAG_LEN, "Poly1305");
_Static_assert((int)NOISE_TIMESTAMP_LEN == (int)CRYPTO_TAI64N_LEN, "TAI64N");

/* Paper section 5.4: the protocol name and WireGuard's prologue. */
static const char handshake_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier_name[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

enum { FLOOD_INTERVAL_NS = NSEC_PER_SEC / INITIATIONS_PER_SECOND };

/* --- Static identity ------------------------------------------------------ */

int noise_public_from_private(uint8_t public_key[NOISE_PUBLIC_KEY_LEN],
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t clamped[NOISE_PUBLIC_KEY_LEN];
	int ret;

	memcpy(clamped, private_key, sizeof(clamped));
	crypto_dh_clamp(clamped);
	/* The all-zero check must see the key as given: clamping sets bit 254. */
	ret = crypto_is_zero(private_key, NOISE_PUBLIC_KEY_LEN) ? -EINVAL :
	      crypto_dh_public(public_key, clamped);
	crypto_wipe(clamped, sizeof(clamped));
	return ret;
}

int noise_static_identity_set(struct noise_static_identity *id,
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN])
{
	noise_static_identity_clear(id);
	if (noise_public_from_private(id->static_public, private_key) != 0)
		return -EINVAL;
	memcpy(id->static_private, private_key, NOISE_PUBLIC_KEY_LEN);
	crypto_dh_clamp(id->static_private);
	id->has_identity = true;
	return 0;
}

void noise_static_identity_clear(struct noise_static_identity *id)
{
	crypto_wipe(id, sizeof(*id));
	id->has_identity = false;
}

/* --- Symmetric state helpers (the Noise "MixHash"/"MixKey" operations) ---- */

/* C = Hash(CONSTRUCTION), H = Hash(Hash(C || IDENTIFIER) || S_pub_r).  The
 * responder's static key is the pre-message of pattern IK. */
static void handshake_start(uint8_t chaining_key[NOISE_HASH_LEN],
			    uint8_t hash[NOISE_HASH_LEN],
			    const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	crypto_blake2s(chaining_key, handshake_name, sizeof(handshake_name) - 1);
	crypto_blake2s_concat(hash, chaining_key, NOISE_HASH_LEN, identifier_name,
		     sizeof(identifier_name) - 1);
	crypto_blake2s_concat(hash, hash, NOISE_HASH_LEN, responder_static,
		     NOISE_PUBLIC_KEY_LEN);
}

static void mix_hash(uint8_t hash[NOISE_HASH_LEN], const void *data, size_t len)
{
	crypto_blake2s_concat(hash, hash, NOISE_HASH_LEN, data, len);
}

/* (C, k) = Kdf2(C, DH(private, public)); key may be NULL for Kdf1.
 * False for an all-zero DH result (small-order public key). */
static bool mix_dh(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t *key,
		   const uint8_t private_key[NOISE_PUBLIC_KEY_LEN],
		   const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];
	bool ok = crypto_dh(dh, private_key, public_key) == 0;

	if (ok)
		crypto_kdf(chaining_key, key, NULL, chaining_key, dh, sizeof(dh));
	crypto_wipe(dh, sizeof(dh));
	return ok;
}

/* Same with the DH(s_i, S_r) computed once per peer (noise_handshake_init). */
static bool mix_precomputed_dh(uint8_t chaining_key[NOISE_HASH_LEN],
			       uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			       const uint8_t precomputed[NOISE_PUBLIC_KEY_LEN])
{
	if (crypto_is_zero(precomputed, NOISE_PUBLIC_KEY_LEN))
		return false;
	crypto_kdf(chaining_key, key, NULL, chaining_key, precomputed,
		   NOISE_PUBLIC_KEY_LEN);
	return true;
}

/* (C, tau, k) = Kdf3(C, Q); H = Hash(H || tau). */
static void mix_psk(uint8_t chaining_key[NOISE_HASH_LEN],
		    uint8_t hash[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	crypto_kdf(chaining_key, tau, key, chaining_key, psk,
		   NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(hash, tau, sizeof(tau));
	crypto_wipe(tau, sizeof(tau));
}

/* An ephemeral public key enters both the hash and the chaining key
 * (the "psk" modifier of Noise makes "e" also MixKey). */
static void mix_ephemeral(uint8_t chaining_key[NOISE_HASH_LEN],
			  uint8_t hash[NOISE_HASH_LEN],
			  const uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN])
{
	mix_hash(hash, ephemeral, NOISE_PUBLIC_KEY_LEN);
	crypto_kdf(chaining_key, NULL, NULL, chaining_key, ephemeral,
		   NOISE_PUBLIC_KEY_LEN);
}

/* dst = Aead(k, 0, src, H); H = Hash(H || dst).  Each handshake key
 * encrypts exactly one message, hence the constant nonce 0. */
static void encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			     uint8_t hash[NOISE_HASH_LEN])
{
	crypto_aead_encrypt(dst, src, len, hash, NOISE_HASH_LEN, 0, key);
	mix_hash(hash, dst, len + NOISE_AUTHTAG_LEN);
}

static bool decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t src_len,
			     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			     uint8_t hash[NOISE_HASH_LEN])
{
	if (crypto_aead_decrypt(dst, src, src_len, hash, NOISE_HASH_LEN, 0,
				key) != 0)
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

/* Linux rounds the nanoseconds down to a power of two no finer than the
 * flood limit: the timestamp then reveals nothing about the clock that a
 * responder could not learn from the rate limit anyway. */
static void timestamp_now(uint8_t out[NOISE_TIMESTAMP_LEN],
			  uint64_t realtime_ns)
{
	uint64_t granule = 1;
	uint64_t nsec = realtime_ns % NSEC_PER_SEC;

	while (granule * 2 <= FLOOD_INTERVAL_NS)
		granule *= 2;
	crypto_tai64n(out, realtime_ns - nsec + (nsec & ~(granule - 1)));
}

/* --- Per-peer handshake state --------------------------------------------- */

int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_static_identity *id,
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *psk, void *owner)
{
	crypto_wipe(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
	hs->static_identity = id;
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	hs->owner = owner;
	return noise_handshake_set_psk(hs, psk);
}

/* Also the way to re-derive after the identity changed: pass
 * hs->preshared_key to keep the current PSK. */
int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	const struct noise_static_identity *id = hs->static_identity;

	if (!psk)
		crypto_wipe(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	else if (psk != hs->preshared_key)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);

	/* No identity yet (wg set may add peers before a private key): leave
	 * the precomputation zero, which makes every handshake step fail. */
	if (!id || !id->has_identity) {
		crypto_wipe(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
		return 0;
	}
	return crypto_dh(hs->precomputed_static_static, id->static_private,
			 hs->remote_static);
}

/* Forget one handshake's ephemeral secrets.  local_index is kept so the
 * caller can still unregister it (as Linux keeps handshake->entry.index). */
void noise_handshake_clear(struct noise_handshake *hs)
{
	crypto_wipe(hs->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	crypto_wipe(hs->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	crypto_wipe(hs->hash, NOISE_HASH_LEN);
	crypto_wipe(hs->chaining_key, NOISE_HASH_LEN);
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_handshake_destroy(struct noise_handshake *hs)
{
	crypto_wipe(hs, sizeof(*hs));
	hs->state = HANDSHAKE_ZEROED;
}

/* --- Initiator: message 1 ------------------------------------------------- */

bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       uint32_t local_index, uint64_t realtime_ns)
{
	const struct noise_static_identity *id = hs->static_identity;
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	bool ret = false;

	if (!id || !id->has_identity)
		goto out;

	dst->header.type = htole32(MESSAGE_HANDSHAKE_INITIATION);
	dst->sender_index = htole32(local_index);
	memset(&dst->macs, 0, sizeof(dst->macs));
	handshake_start(chaining_key, hash, hs->remote_static);

	/* e */
	crypto_dh_generate(ephemeral_private);
	if (crypto_dh_public(dst->unencrypted_ephemeral, ephemeral_private) != 0)
		goto out;
	mix_ephemeral(chaining_key, hash, dst->unencrypted_ephemeral);

	/* es */
	if (!mix_dh(chaining_key, key, ephemeral_private, hs->remote_static))
		goto out;

	/* s */
	encrypt_and_hash(dst->encrypted_static, id->static_public,
			 NOISE_PUBLIC_KEY_LEN, key, hash);

	/* ss */
	if (!mix_precomputed_dh(chaining_key, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	timestamp_now(timestamp, realtime_ns);
	encrypt_and_hash(dst->encrypted_timestamp, timestamp,
			 NOISE_TIMESTAMP_LEN, key, hash);

	memcpy(hs->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	hs->local_index = local_index;
	hs->remote_index = 0;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ret = true;
out:
	crypto_wipe(chaining_key, sizeof(chaining_key));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ephemeral_private, sizeof(ephemeral_private));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(timestamp, sizeof(timestamp));
	return ret;
}

/* --- Responder: message 1 ------------------------------------------------- */

/* The TAI64N timestamp must exceed the greatest seen (paper section 5.1:
 * a replayed initiation cannot reset a session), and, as in Linux, a peer
 * gets at most INITIATIONS_PER_SECOND initiations consumed (flood: each
 * costs us DH operations).  The timestamp is not secret: memcmp is fine. */
static bool initiation_is_fresh(const struct noise_handshake *hs,
				const uint8_t timestamp[NOISE_TIMESTAMP_LEN],
				uint64_t now)
{
	if (memcmp(timestamp, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0)
		return false;
	if (hs->last_initiation_consumption != 0 &&
	    now < hs->last_initiation_consumption + FLOOD_INTERVAL_NS)
		return false;
	return true;
}

struct noise_handshake *
noise_handshake_consume_initiation(const struct message_handshake_initiation *src,
				   const struct noise_static_identity *id,
				   noise_lookup_fn lookup, void *lookup_ctx,
				   uint64_t now)
{
	struct noise_handshake *hs, *ret = NULL;
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN], remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];

	if (!id || !id->has_identity ||
	    src->header.type != htole32(MESSAGE_HANDSHAKE_INITIATION))
		goto out;
	handshake_start(chaining_key, hash, id->static_public);

	/* e */
	memcpy(ephemeral, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(chaining_key, hash, ephemeral);

	/* es */
	if (!mix_dh(chaining_key, key, id->static_private, ephemeral))
		goto out;

	/* s */
	if (!decrypt_and_hash(remote_static, src->encrypted_static,
			      sizeof(src->encrypted_static), key, hash))
		goto out;

	/* Only now do we know which peer claims to speak, hence whose
	 * precomputed static-static DH to mix in.  "ss" would fail for a
	 * handshake of another peer anyway; the key check makes a sloppy
	 * lookup obvious instead of merely unsuccessful. */
	hs = lookup(lookup_ctx, remote_static);
	if (!hs || !crypto_equal(hs->remote_static, remote_static,
				 NOISE_PUBLIC_KEY_LEN))
		goto out;

	/* ss */
	if (!mix_precomputed_dh(chaining_key, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	if (!decrypt_and_hash(timestamp, src->encrypted_timestamp,
			      sizeof(src->encrypted_timestamp), key, hash))
		goto out;
	if (!initiation_is_fresh(hs, timestamp, now))
		goto out;

	/* Authenticated and fresh: commit. */
	memcpy(hs->remote_ephemeral, ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	memcpy(hs->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	hs->remote_index = le32toh(src->sender_index);
	if (now > hs->last_initiation_consumption)
		hs->last_initiation_consumption = now;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ret = hs;
out:
	crypto_wipe(chaining_key, sizeof(chaining_key));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(ephemeral, sizeof(ephemeral));
	crypto_wipe(remote_static, sizeof(remote_static));
	crypto_wipe(timestamp, sizeof(timestamp));
	return ret;
}

/* --- Responder: message 2 ------------------------------------------------- */

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     uint32_t local_index)
{
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		goto out;

	dst->header.type = htole32(MESSAGE_HANDSHAKE_RESPONSE);
	dst->sender_index = htole32(local_index);
	dst->receiver_index = htole32(hs->remote_index);
	memset(&dst->macs, 0, sizeof(dst->macs));
	memcpy(chaining_key, hs->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, hs->hash, NOISE_HASH_LEN);

	/* e */
	crypto_dh_generate(ephemeral_private);
	if (crypto_dh_public(dst->unencrypted_ephemeral, ephemeral_private) != 0)
		goto out;
	mix_ephemeral(chaining_key, hash, dst->unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, hs->remote_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, hs->remote_static))
		goto out;

	/* psk */
	mix_psk(chaining_key, hash, key, hs->preshared_key);

	/* {} */
	encrypt_and_hash(dst->encrypted_nothing, NULL, 0, key, hash);

	/* The responder's ephemeral private key is not needed after this
	 * message, so it is never stored. */
	memcpy(hs->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	hs->local_index = local_index;
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ret = true;
out:
	crypto_wipe(chaining_key, sizeof(chaining_key));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ephemeral_private, sizeof(ephemeral_private));
	crypto_wipe(key, sizeof(key));
	return ret;
}

/* --- Initiator: message 2 ------------------------------------------------- */

bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs)
{
	const struct noise_static_identity *id = hs->static_identity;
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	if (!id || !id->has_identity ||
	    hs->state != HANDSHAKE_CREATED_INITIATION ||
	    src->header.type != htole32(MESSAGE_HANDSHAKE_RESPONSE) ||
	    le32toh(src->receiver_index) != hs->local_index)
		goto out;
	memcpy(chaining_key, hs->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, hs->hash, NOISE_HASH_LEN);

	/* e */
	memcpy(ephemeral, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(chaining_key, hash, ephemeral);

	/* ee */
	if (!mix_dh(chaining_key, NULL, hs->ephemeral_private, ephemeral))
		goto out;

	/* se */
	if (!mix_dh(chaining_key, NULL, id->static_private, ephemeral))
		goto out;

	/* psk */
	mix_psk(chaining_key, hash, key, hs->preshared_key);

	/* {} */
	if (!decrypt_and_hash(NULL, src->encrypted_nothing,
			      sizeof(src->encrypted_nothing), key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(hs->hash, hash, NOISE_HASH_LEN);
	hs->remote_index = le32toh(src->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = true;
out:
	crypto_wipe(chaining_key, sizeof(chaining_key));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ephemeral, sizeof(ephemeral));
	crypto_wipe(key, sizeof(key));
	return ret;
}

/* --- Transport keys ------------------------------------------------------- */

/* (T_send_i = T_recv_r, T_recv_i = T_send_r) = Kdf2(C, empty). */
bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, uint64_t now)
{
	bool initiator = hs->state == HANDSHAKE_CONSUMED_RESPONSE;

	if (!initiator && hs->state != HANDSHAKE_CREATED_RESPONSE)
		return false;

	if (initiator)
		crypto_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key,
			   NULL, 0);
	else
		crypto_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key,
			   NULL, 0);
	/* kp is not yet visible to any other thread: relaxed stores suffice;
	 * publication (noise_keypairs_install) is the release. */
	atomic_store_explicit(&kp->send_counter, 0, memory_order_relaxed);
	replay_window_init(&kp->replay);
	kp->birthdate = now;
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->is_initiator = initiator;
	kp->owner = hs->owner;
	atomic_store_explicit(&kp->valid, true, memory_order_relaxed);

	noise_handshake_clear(hs);
	return true;
}

/* --- Keypair rotation ----------------------------------------------------- */

/* Retire callbacks do the same after their grace period (crypto_wipe). */
static void keypair_wipe(struct noise_keypair *kp)
{
	atomic_store_explicit(&kp->valid, false, memory_order_release);
	crypto_wipe(kp->send_key, sizeof(kp->send_key));
	crypto_wipe(kp->recv_key, sizeof(kp->recv_key));
}

void noise_keypairs_init(struct noise_keypairs *kps,
			 noise_keypair_retire_fn retire, void *ctx)
{
	atomic_init(&kps->current, NULL);
	atomic_init(&kps->previous, NULL);
	atomic_init(&kps->next, NULL);
	kps->retire = retire;
	kps->retire_ctx = ctx;
}

/* Hand dropped keypairs over only after they were unpublished, so the
 * grace period the callback starts covers every reader that saw them.
 * Without a callback there is nobody to wait for readers: wipe at once. */
static void retire_keypairs(struct noise_keypairs *kps,
			    struct noise_keypair *const dropped[3])
{
	for (int i = 0; i < 3; i++) {
		struct noise_keypair *kp = dropped[i];

		if (!kp)
			continue;
		atomic_store_explicit(&kp->valid, false, memory_order_release);
		if (kps->retire)
			kps->retire(kp, kps->retire_ctx);
		else
			keypair_wipe(kp);
	}
}

#define LOAD(p) atomic_load_explicit(&(p), memory_order_acquire)
#define STORE(p, v) atomic_store_explicit(&(p), (v), memory_order_release)

void noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp)
{
	struct noise_keypair *previous = LOAD(kps->previous);
	struct noise_keypair *current = LOAD(kps->current);
	struct noise_keypair *next = LOAD(kps->next);
	struct noise_keypair *dropped[3] = { NULL, NULL, NULL };

	if (kp->is_initiator) {
		/* The response proved the peer holds these keys: use them now.
		 * An unconfirmed next (we were responder meanwhile) is kept as
		 * previous, like Linux, so data already sent under it still
		 * decrypts; otherwise current slides to previous. */
		if (next) {
			STORE(kps->next, NULL);
			STORE(kps->previous, next);
			dropped[0] = current;
		} else {
			STORE(kps->previous, current);
		}
		dropped[1] = previous;
		STORE(kps->current, kp);
	} else {
		/* Responder: the peer has not proved it derived the keys yet
		 * (key confirmation); wait in next.  Linux drops previous too,
		 * so at most one unconfirmed and one confirmed keypair exist. */
		STORE(kps->next, kp);
		STORE(kps->previous, NULL);
		dropped[0] = next;
		dropped[1] = previous;
	}
	retire_keypairs(kps, dropped);
}

bool noise_keypairs_received_with(struct noise_keypairs *kps,
				  struct noise_keypair *kp)
{
	struct noise_keypair *expected = kp;
	struct noise_keypair *dropped[3] = { NULL, NULL, NULL };

	/* Fast path for every data packet but the first under a new keypair. */
	if (!kp || LOAD(kps->next) != kp)
		return false;
	/* Writers are the control thread only, but two workers may both see
	 * the first packets: the exchange lets exactly one rotate. */
	if (!atomic_compare_exchange_strong(&kps->next, &expected, NULL))
		return false;
	dropped[0] = LOAD(kps->previous);
	STORE(kps->previous, LOAD(kps->current));
	STORE(kps->current, kp);
	retire_keypairs(kps, dropped);
	return true;
}

void noise_keypairs_clear(struct noise_keypairs *kps)
{
	struct noise_keypair *dropped[3] = {
		atomic_exchange(&kps->previous, NULL),
		atomic_exchange(&kps->current, NULL),
		atomic_exchange(&kps->next, NULL),
	};

	retire_keypairs(kps, dropped);
}
