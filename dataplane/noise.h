/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, the WireGuard handshake (paper
 * section 5.4), and keypair rotation with key confirmation (section 5.4.6).
 *
 * The core never sees peers or interfaces: the responder finds the
 * initiator's handshake state through a lookup callback keyed by static
 * public key, and the caller owns index allocation and keypair memory (so
 * the dataplane can free keypairs after an RCU grace period).
 *
 * Handshake functions are called from the control thread only.  Keypair
 * pointers in struct noise_keypairs are C11 atomics: the control thread is
 * the single writer; dataplane workers load them (acquire) to encrypt.
 */
#ifndef PORTCULLIS_NOISE_H
#define PORTCULLIS_NOISE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcullis/wire.h"
#include "replay.h"

struct noise_static_identity {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

struct noise_keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	_Atomic uint64_t send_counter;  /* next nonce: one fetch-add per packet */
	struct replay_window replay;    /* receive side */
	uint64_t birthdate;             /* monotonic ns */
	uint32_t local_index;           /* our receiver index, as on the wire */
	uint32_t remote_index;          /* theirs, put in outgoing data messages */
	bool is_initiator;
	_Atomic bool valid;             /* cleared when expired or zeroed */
	void *owner;                    /* opaque: the dataplane's peer */
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

struct noise_handshake {
	enum noise_handshake_state state;
	const struct noise_static_identity *static_identity;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];  /* zeros: no PSK */
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];   /* greatest accepted */
	uint64_t last_initiation_consumption;            /* monotonic ns, 0: never */
	uint32_t local_index;
	uint32_t remote_index;
	void *owner;                                     /* opaque: the peer */
};

/* Sets private (clamped) and derives public.  -EINVAL for an all-zero key. */
int noise_static_identity_set(struct noise_static_identity *id,
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN]);
void noise_static_identity_clear(struct noise_static_identity *id);
/* Public key for a private key (wg pubkey). */
int noise_public_from_private(uint8_t public_key[NOISE_PUBLIC_KEY_LEN],
			      const uint8_t private_key[NOISE_PUBLIC_KEY_LEN]);

/* Prepare the per-peer state; psk may be NULL.  Precomputes DH(s_i, S_r);
 * returns -EINVAL if that is the all-zero point (peer key unusable). */
int noise_handshake_init(struct noise_handshake *hs,
			 const struct noise_static_identity *id,
			 const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			 const uint8_t *psk, void *owner);
/* Re-derive after the local identity or the PSK changed. */
int noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);
/* Forget ephemeral state (keeps remote_static, psk, latest_timestamp). */
void noise_handshake_clear(struct noise_handshake *hs);
/* Wipe everything, including the PSK. */
void noise_handshake_destroy(struct noise_handshake *hs);

/* Initiator.  MACs are NOT added here (cookie_add_macs does it).
 * realtime_ns is wall-clock time for the TAI64N timestamp. */
bool noise_handshake_create_initiation(struct message_handshake_initiation *dst,
				       struct noise_handshake *hs,
				       uint32_t local_index, uint64_t realtime_ns);

typedef struct noise_handshake *(*noise_lookup_fn)(void *ctx,
		const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]);

/*
 * Responder: decrypt the initiator's static key, find its handshake with
 * lookup, check the TAI64N timestamp is newer than the greatest seen and
 * that initiations from this peer come at most INITIATIONS_PER_SECOND
 * (using now, monotonic ns).  Returns the updated handshake (state
 * CONSUMED_INITIATION) or NULL; on NULL no handshake state was changed.
 */
struct noise_handshake *
noise_handshake_consume_initiation(const struct message_handshake_initiation *src,
				   const struct noise_static_identity *id,
				   noise_lookup_fn lookup, void *lookup_ctx,
				   uint64_t now);

bool noise_handshake_create_response(struct message_handshake_response *dst,
				     struct noise_handshake *hs,
				     uint32_t local_index);

/* Initiator: hs is the handshake whose local_index equals
 * src->receiver_index (found by the caller).  False leaves hs unchanged. */
bool noise_handshake_consume_response(const struct message_handshake_response *src,
				      struct noise_handshake *hs);

/* Derive transport keys into kp (caller-allocated), then clear the
 * ephemeral handshake state.  Valid after CONSUMED_RESPONSE (initiator)
 * or CREATED_RESPONSE (responder). */
bool noise_handshake_begin_session(struct noise_handshake *hs,
				   struct noise_keypair *kp, uint64_t now);

/* --- Keypair rotation (writers: control thread only) ------------------- */

typedef void (*noise_keypair_retire_fn)(struct noise_keypair *kp, void *ctx);

struct noise_keypairs {
	struct noise_keypair *_Atomic current;
	struct noise_keypair *_Atomic previous;
	struct noise_keypair *_Atomic next;
	noise_keypair_retire_fn retire;  /* frees (after a grace period) */
	void *retire_ctx;
};

void noise_keypairs_init(struct noise_keypairs *kps,
			 noise_keypair_retire_fn retire, void *ctx);
/*
 * Install a fresh keypair.  Initiator: it becomes current at once (previous
 * <- current).  Responder: it waits in next until the peer proves it has the
 * keys by sending data with it (key confirmation).  Retired keypairs go to
 * the retire callback.
 */
void noise_keypairs_install(struct noise_keypairs *kps, struct noise_keypair *kp);
/* Called when an authenticated data packet arrived under kp: if kp is next,
 * rotate it into current.  Returns true if a rotation happened. */
bool noise_keypairs_received_with(struct noise_keypairs *kps,
				  struct noise_keypair *kp);
/* Retire all three (zero key material). */
void noise_keypairs_clear(struct noise_keypairs *kps);

#endif
