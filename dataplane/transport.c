/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data message seal/open: the per-packet crypto of the fast path.  Kept
 * separate from noise.c because it runs on every worker for every packet,
 * while the handshake runs on the control thread only.
 */
#include "transport.h"

#include <errno.h>

#include "crypto.h"
#include "noise.h"

enum { DATA_HEADER_LEN = sizeof(struct message_data) };

size_t transport_padded_len(size_t plain_len, size_t mtu)
{
	size_t last_unit = plain_len, padded;

	if (mtu == 0)
		return (plain_len + MESSAGE_PADDING_MULTIPLE - 1) &
		       ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	/* Linux's modulo: a packet larger than the MTU (e.g. GSO) must not
	 * make the capped size below underflow. */
	if (last_unit > mtu)
		last_unit %= mtu;
	padded = (last_unit + MESSAGE_PADDING_MULTIPLE - 1) &
		 ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	if (padded > mtu)
		padded = mtu;
	return plain_len + (padded - last_unit);
}

size_t transport_pad(uint8_t *msg, size_t plain_len, size_t mtu)
{
	size_t padded_len = transport_padded_len(plain_len, mtu);

	memset(msg + DATA_HEADER_LEN + plain_len, 0, padded_len - plain_len);
	return padded_len;
}

void transport_seal(const struct noise_keypair *kp, uint64_t counter,
		    uint8_t *msg, size_t padded_len)
{
	struct message_data *hdr = (struct message_data *)msg;

	hdr->header.type = htole32(MESSAGE_DATA);
	hdr->key_idx = htole32(kp->remote_index);
	hdr->counter = htole64(counter);
	/* WireGuard authenticates no associated data: the counter is bound
	 * through the nonce and the index only selects the key. */
	crypto_aead_encrypt_detached(msg + DATA_HEADER_LEN, padded_len,
				     msg + DATA_HEADER_LEN + padded_len,
				     counter, kp->send_key);
}

int transport_open(const struct noise_keypair *kp, uint8_t *msg, size_t msg_len,
		   uint64_t *counter_out, size_t *plain_len_out)
{
	const struct message_data *hdr = (const struct message_data *)msg;
	uint64_t counter;
	size_t len;

	if (msg_len < MESSAGE_MINIMUM_LENGTH ||
	    hdr->header.type != htole32(MESSAGE_DATA) ||
	    le32toh(hdr->key_idx) != kp->local_index)
		return -EINVAL;

	counter = le64toh(hdr->counter);
	len = msg_len - DATA_HEADER_LEN - NOISE_AUTHTAG_LEN;
	if (crypto_aead_decrypt_detached(msg + DATA_HEADER_LEN, len,
					 msg + DATA_HEADER_LEN + len, counter,
					 kp->recv_key) != 0)
		return -EBADMSG;

	*counter_out = counter;
	*plain_len_out = len;
	return 0;
}
