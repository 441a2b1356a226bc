/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one source of randomness of the protocol core.  Production code draws
 * from libsodium; tests install a deterministic source so handshakes, cookie
 * secrets and timer jitter are reproducible.
 */
#ifndef PORTCULLIS_RANDOM_H
#define PORTCULLIS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef void (*random_source_fn)(void *buf, size_t len);

void random_bytes(void *buf, size_t len);
uint32_t random_u32(void);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint32_t random_uniform(uint32_t bound);
/* Install a replacement source (tests); NULL restores libsodium's. */
void random_source_set(random_source_fn fn);

#endif
