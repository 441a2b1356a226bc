/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parts of bench_tunnel (see perf/README.md):
 *
 *  - bench_fixture.c wires up the real fast path in-process the way
 *    portcullisd does, minus the control thread: one mbuf pool, two ethdev
 *    ports (net_null by default), the published tables, one peer with a
 *    current keypair, resolved neighbours.
 *  - bench_pipeline.c times the dataplane's own encap and decap functions
 *    on that fixture and checks every run against the drop counters.
 *  - bench_crypto.c times raw ChaCha20-Poly1305 in libsodium and OpenSSL.
 *  - bench_report.c turns samples into the table or the JSON.
 *
 * Everything runs on the calling thread (one lcore); nothing here is
 * thread-safe, and nothing needs to be.
 */
#ifndef PORTCULLIS_BENCH_H
#define PORTCULLIS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "datapath.h"
#include "l3.h"

enum bench_limits {
	BENCH_MAX_SIZES = 8,
	BENCH_MAX_RUNS = 99,
	BENCH_MIN_SIZE = 28,           /* IPv4 + UDP headers */
	BENCH_MAX_SIZE = 1420,         /* WG_DEFAULT_MTU: the tunnel MTU */
	BENCH_MSGS = 1024,             /* distinct decap messages per size */
	BENCH_ERR_LEN = 256,
};

/* What is measured; the order is the order of the report's rows. */
enum bench_kind {
	BENCH_ENCAP,                   /* l3_forward -> tunnel_encap -> TX */
	BENCH_DECAP,                   /* tunnel_decap -> l3_forward -> TX */
	BENCH_SODIUM,                  /* libsodium AEAD seal, same length */
	BENCH_OPENSSL,                 /* OpenSSL EVP AEAD seal, same length */
	BENCH_KINDS
};

extern const char *const bench_kind_names[BENCH_KINDS];

/* One run: packets (or AEAD calls) completed in ns of measured time, and
 * the share of the run's wall-clock time this thread was on the CPU (below
 * 1 when other processes took the core: the rate is then too low). */
struct bench_sample {
	uint64_t packets;
	uint64_t ns;
	double cpu_share;
};

struct bench_fixture {
	struct dp dp;
	struct dp_tables tables;
	struct gw_peer *peer;
	struct gw_keypair *kp;
	struct dp_ctx ctx;
	struct ip_endpoint peer_endpoint;     /* outer source of decap input */
	uint8_t neigh_mac[PORT_COUNT][6];     /* next hops' MACs, pre-resolved */

	/* Decap input for one packet size: BENCH_MSGS Ethernet frames, each a
	 * data message from the peer made by tunnel_encap, msg_stride apart. */
	uint8_t *msgs;
	unsigned msg_len, msg_stride, msg_size;
};

/* --- bench_fixture.c ----------------------------------------------------- */

/* After rte_eal_init: the first two ethdev ports become public and private.
 * 0, or -errno with a reason in err. */
int bench_fixture_create(struct bench_fixture *f, char *err, size_t errlen);
void bench_fixture_destroy(struct bench_fixture *f);

/* An Ethernet + IPv4 + UDP frame whose IP packet is size bytes long, as it
 * would arrive on the private port (from_private) or leave it after decap.
 * Returns the frame length (14 + size). */
unsigned bench_frame_build(const struct bench_fixture *f, uint8_t *frame,
			   unsigned size, bool from_private);

/* Make the keypair look freshly negotiated (birthdate now), so no key-age
 * rule kicks in however long the benchmark runs. */
void bench_fixture_refresh_key(struct bench_fixture *f);

/* --- bench_pipeline.c ---------------------------------------------------- */

/* Check once that encap and decap do the real work (the output decrypts,
 * resp. matches the packet that was sealed), then fill f->msgs. */
int bench_pipeline_prepare(struct bench_fixture *f, unsigned size,
			   char *err, size_t errlen);
/* Time the pipeline until at least min_ns of measured time.  -EPROTO (and
 * err says why) if a packet was dropped, leaked, or did not reach TX. */
int bench_encap_run(struct bench_fixture *f, unsigned size, uint64_t min_ns,
		    struct bench_sample *out, char *err, size_t errlen);
int bench_decap_run(struct bench_fixture *f, unsigned size, uint64_t min_ns,
		    struct bench_sample *out, char *err, size_t errlen);

/* --- bench_crypto.c ------------------------------------------------------ */

/* sodium_init, an OpenSSL context, and a cross-check that both libraries
 * produce identical ciphertext and tag for every size in sizes. */
int bench_crypto_init(const unsigned *sizes, unsigned n_sizes,
		      char *err, size_t errlen);
void bench_crypto_fini(void);
int bench_sodium_run(unsigned size, uint64_t min_ns, struct bench_sample *out,
		     char *err, size_t errlen);
int bench_openssl_run(unsigned size, uint64_t min_ns, struct bench_sample *out,
		      char *err, size_t errlen);
const char *bench_sodium_version(void);
const char *bench_openssl_version(void);

/* --- bench_report.c ------------------------------------------------------ */

struct bench_result {
	unsigned size;
	unsigned runs;
	struct bench_sample s[BENCH_KINDS][BENCH_MAX_RUNS];
};

struct bench_setup {
	unsigned runs;
	double seconds;                       /* minimum measured time per run */
	unsigned lcore;
	const char *cpu;                      /* model name */
	const char *dpdk, *sodium, *openssl;  /* versions */
	const char *ports;                    /* PMD of the two ports */
	const char *command;                  /* the command line */
};

void bench_report_table(FILE *out, const struct bench_setup *setup,
			const struct bench_result *res, unsigned n);
void bench_report_json(FILE *out, const struct bench_setup *setup,
		       const struct bench_result *res, unsigned n);

#endif
