/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WireGuard data messages (paper section 5.4.6) on flat buffers, in place:
 *
 *   | type=4 | receiver index | counter (LE64) | ChaCha20-Poly1305(padded) | tag |
 *      4           4                8               padded_len               16
 *
 * Indices are host-order in struct noise_keypair, little-endian on the wire.
 * Used by the DPDK fast path (the buffer is an mbuf's data with tailroom
 * for the tag) and by the benchmarks.  No allocation, no locks, no clock:
 * the caller takes the counter (one atomic fetch-add on kp->send_counter),
 * checks key age and the replay window, and decides what to do with a
 * failure.  Nonce = 32 zero bits || LE64(counter) (RFC 8439's 96 bits).
 */
#ifndef PORTCULLIS_TRANSPORT_H
#define PORTCULLIS_TRANSPORT_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portcullis/wire.h"

struct noise_keypair;

/*
 * Length after WireGuard's padding rule (Linux send.c): round plain_len up
 * to MESSAGE_PADDING_MULTIPLE, but never beyond mtu, so padding alone never
 * makes a packet exceed the tunnel MTU.  mtu 0: no cap.  A packet already
 * longer than mtu is padded as if only its last mtu-sized unit counted.
 */
size_t transport_padded_len(size_t plain_len, size_t mtu);

/* Zero the padding after plain_len plaintext bytes (which start at
 * msg + sizeof(struct message_data)) and return the padded length.  The
 * buffer needs padded_len + NOISE_AUTHTAG_LEN bytes after the header. */
size_t transport_pad(uint8_t *msg, size_t plain_len, size_t mtu);

/*
 * msg: a struct message_data header (written here) followed by padded_len
 * plaintext bytes (padding already zeroed, see transport_pad) and 16 bytes
 * of tailroom.  Writes type 4, kp->remote_index and counter, encrypts in
 * place under kp->send_key and appends the tag.  The message is then
 * message_data_len(padded_len) bytes long.  Does not check kp->valid, key
 * age or counter limits: the caller does, before taking the counter.
 */
void transport_seal(const struct noise_keypair *kp, uint64_t counter,
		    uint8_t *msg, size_t padded_len);

/*
 * Verify and decrypt a whole data message in place under kp->recv_key.
 * Returns 0 with *counter_out and *plain_len_out (the padded plaintext
 * length; the inner IP header gives the real one), -EINVAL if the message
 * is shorter than a keepalive or its header is not type 4 addressed to
 * kp->local_index, -EBADMSG if authentication fails (the payload bytes are
 * then zeroed).  Does NOT touch the replay window: the caller checks
 * replay_window_check(transport_counter(msg)) before and calls
 * replay_window_update() after success.
 */
int transport_open(const struct noise_keypair *kp, uint8_t *msg, size_t msg_len,
		   uint64_t *counter_out, size_t *plain_len_out);

/* Header fields of a data message, for the lookups before transport_open
 * (msg must hold at least sizeof(struct message_data) bytes). */
static inline uint32_t transport_receiver_index(const uint8_t *msg)
{
	uint32_t idx;

	memcpy(&idx, msg + offsetof(struct message_data, key_idx), sizeof(idx));
	return le32toh(idx);
}

static inline uint64_t transport_counter(const uint8_t *msg)
{
	uint64_t counter;

	memcpy(&counter, msg + offsetof(struct message_data, counter),
	       sizeof(counter));
	return le64toh(counter);
}

#endif
