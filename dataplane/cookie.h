/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MAC1/MAC2 and cookie reply messages (paper section 5.4.4 and 5.4.7).
 *
 * A cookie_checker belongs to our interface (keys derived from our public
 * key, a secret rotated every COOKIE_SECRET_MAX_AGE); a cookie_maker belongs
 * to each peer (keys derived from the peer's public key, the last cookie it
 * sent us).  The source "address" bound into a cookie is the caller's
 * serialisation of the sender's IP address and UDP port; use
 * cookie_source_bytes() so both sides agree.  Control thread only.
 */
#ifndef PORTCULLIS_COOKIE_H
#define PORTCULLIS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/types.h"
#include "portcullis/wire.h"

struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birthdate;               /* monotonic ns; 0: none yet */
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct cookie_maker {
	uint8_t cookie[COOKIE_LEN];
	uint64_t birthdate;                      /* monotonic ns of the cookie */
	bool is_valid;
	bool have_sent_mac1;
	uint8_t last_mac1_sent[COOKIE_LEN];
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE,
};

enum { COOKIE_SOURCE_MAX = 18 };             /* 16-byte address + port */

/* Serialise a UDP source as bound into cookies: address bytes then port (BE). */
size_t cookie_source_bytes(uint8_t out[COOKIE_SOURCE_MAX],
			   const struct ip_endpoint *src);

void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t our_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);

/*
 * Check MAC1 (always) and, when check_cookie is true (we are under load),
 * MAC2 against the cookie for src.  msg/len is a whole handshake initiation
 * or response ending in struct message_macs.
 */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c,
					     const void *msg, size_t len,
					     const struct ip_endpoint *src,
					     bool check_cookie, uint64_t now);

/* Fill mac1 and (with a fresh cookie from this peer) mac2 of msg. */
void cookie_add_macs(struct cookie_maker *m, void *msg, size_t len, uint64_t now);

/* Build a cookie reply to the handshake message msg (which passed MAC1). */
void cookie_message_create(struct message_handshake_cookie *dst,
			   const void *msg, size_t len, uint32_t receiver_index,
			   struct cookie_checker *c,
			   const struct ip_endpoint *src, uint64_t now);

/* Accept a cookie reply for a message we sent: 0, or -EINVAL if it does not
 * decrypt against our last MAC1 (or we sent none). */
int cookie_message_consume(const struct message_handshake_cookie *src,
			   struct cookie_maker *m, uint64_t now);

#endif
