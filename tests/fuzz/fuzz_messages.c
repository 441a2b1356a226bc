/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the WireGuard message parsers of the protocol core:
 * handshake initiation and response (MAC1 check, then Noise), cookie reply,
 * and data messages (transport_open + replay window).  The first input byte
 * picks the message kind; the rest is the message, cut or zero-padded to
 * its wire size.  Valid starting points come from a real handshake between
 * two fixed identities built once, so the fuzzer also reaches the code
 * behind the MAC and AEAD checks when it keeps those bytes intact.
 *
 * Build with meson (see tests/fuzz/meson.build) and run:
 *   build-fuzz/tests/fuzz/fuzz_messages -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cookie.h"
#include "noise.h"
#include "random.h"
#include "replay.h"
#include "transport.h"

enum { NOW = 1000 * NSEC_PER_SEC };

static struct {
	struct noise_static_identity us, them;
	struct noise_handshake ours;       /* our state for "them" */
	struct noise_handshake initiating; /* our initiation towards "them" */
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct noise_keypair kp;
	struct ip_endpoint src;
	bool ready;
} F;

/* Deterministic randomness: a counter, so every run is reproducible. */
static void counter_random(void *buf, size_t len)
{
	static uint8_t c;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(c++ * 151 + 7);
}

static struct noise_handshake *lookup(void *ctx, const uint8_t key[32])
{
	(void)ctx;
	return memcmp(key, F.them.static_public, 32) == 0 ? &F.ours : NULL;
}

static void setup(void)
{
	uint8_t a[32], b[32];
	struct message_handshake_initiation init;

	random_source_set(counter_random);
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	noise_static_identity_set(&F.us, a);
	noise_static_identity_set(&F.them, b);
	noise_handshake_init(&F.ours, &F.us, F.them.static_public, NULL, NULL);
	noise_handshake_init(&F.initiating, &F.us, F.them.static_public, NULL, NULL);
	noise_handshake_create_initiation(&init, &F.initiating, 0x1234, NOW);
	cookie_checker_init(&F.checker, F.us.static_public);
	cookie_maker_init(&F.maker, F.them.static_public);
	memset(F.kp.send_key, 0x33, sizeof(F.kp.send_key));
	memset(F.kp.recv_key, 0x33, sizeof(F.kp.recv_key));
	F.kp.local_index = F.kp.remote_index = 0x5678;
	F.kp.birthdate = NOW;
	F.kp.valid = true;
	replay_window_init(&F.kp.replay);
	F.src.addr.family = IP_V4;
	memcpy(F.src.addr.bytes, "\xcb\x00\x71\x02", 4);
	F.src.port = 51820;
	F.ready = true;
}

static void fill(void *dst, size_t size, const uint8_t *data, size_t len)
{
	memset(dst, 0, size);
	memcpy(dst, data, len < size ? len : size);
}

static void initiation(const uint8_t *data, size_t len)
{
	struct message_handshake_initiation m;
	struct noise_handshake saved = F.ours;

	fill(&m, sizeof(m), data, len);
	if (cookie_validate_packet(&F.checker, &m, sizeof(m), &F.src, len & 1, NOW) ==
	    INVALID_MAC)
		return;
	noise_handshake_consume_initiation(&m, &F.us, lookup, NULL, NOW);
	F.ours = saved;                     /* every input starts alike */
}

static void response(const uint8_t *data, size_t len)
{
	struct message_handshake_response m;
	struct noise_handshake hs = F.initiating;
	struct noise_keypair kp;

	fill(&m, sizeof(m), data, len);
	cookie_validate_packet(&F.checker, &m, sizeof(m), &F.src, false, NOW);
	if (noise_handshake_consume_response(&m, &hs))
		noise_handshake_begin_session(&hs, &kp, NOW);
}

static void cookie_reply(const uint8_t *data, size_t len)
{
	struct message_handshake_cookie m;
	struct cookie_maker maker = F.maker;

	fill(&m, sizeof(m), data, len);
	cookie_message_consume(&m, &maker, NOW);
}

static void data_message(const uint8_t *data, size_t len)
{
	uint8_t buf[2048];
	uint64_t counter;
	size_t plain;

	if (len > sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, data, len);
	if (len >= sizeof(struct message_data) &&
	    !replay_window_check(&F.kp.replay, transport_counter(buf)))
		return;
	if (transport_open(&F.kp, buf, len, &counter, &plain) == 0)
		replay_window_update(&F.kp.replay, counter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!F.ready)
		setup();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: initiation(data + 1, size - 1); break;
	case 1: response(data + 1, size - 1); break;
	case 2: cookie_reply(data + 1, size - 1); break;
	default: data_message(data + 1, size - 1); break;
	}
	return 0;
}
