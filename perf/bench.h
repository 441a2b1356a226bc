/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parts of the in-process benchmarks bench_tunnel and bench_nat (see
 * perf/README.md):
 *
 *  - bench_fixture.c wires up the real fast path in-process the way
 *    portcullisd does, minus the control thread: one mbuf pool, two ethdev
 *    ports (net_null by default), the published tables, one peer with a
 *    current keypair, resolved neighbours; and the helpers every timed
 *    loop shares (loading bursts, catching output, checking a run).
 *  - bench_main.c is the driver both programs share: options, EAL,
 *    warm-up, interleaved rounds.  A program is a bench_suite: its kinds
 *    of measurement, how to run one, which ratios to report.
 *  - bench_tunnel.c: encap and decap (bench_pipeline.c) beside raw
 *    ChaCha20-Poly1305 in libsodium and OpenSSL (bench_crypto.c).
 *  - bench_nat.c: plain forwarding beside NAT44 established and
 *    first-packet traffic, each direction (bench_nat_flows.c).
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

/* What is measured; the order is the order of the report's rows.  Each
 * program measures a contiguous range of these (bench_suite). */
enum bench_kind {
	/* bench_tunnel */
	BENCH_ENCAP,                   /* l3_forward -> tunnel_encap -> TX */
	BENCH_DECAP,                   /* tunnel_decap -> l3_forward -> TX */
	BENCH_SODIUM,                  /* libsodium AEAD seal, same length */
	BENCH_OPENSSL,                 /* OpenSSL EVP AEAD seal, same length */
	/* bench_nat */
	BENCH_FORWARD,                 /* l3_forward private -> private, no NAT */
	BENCH_NAT_OUT,                 /* l3_forward -> nat_out, session exists */
	BENCH_NAT_IN,                  /* nat_stage_in -> l3_forward, exists */
	BENCH_NAT_OUT_NEW,             /* every packet a new session + mapping */
	BENCH_NAT_IN_NEW,              /* every packet a new port-forward session */
	BENCH_KINDS
};

extern const char *const bench_kind_names[BENCH_KINDS];
extern const char *const bench_kind_labels[BENCH_KINDS];

/* One run: packets (or AEAD calls) completed in ns of measured time, and
 * the share of the run's wall-clock time this thread was on the CPU (below
 * 1 when other processes took the core: the rate is then too low).  The
 * NAT's first-packet runs also count the sessions they created, and the
 * untimed expiry that emptied the table between cycles. */
struct bench_sample {
	uint64_t packets;
	uint64_t ns;
	double cpu_share;
	uint64_t sessions;             /* created in the measured time */
	uint64_t expired, expire_ns;   /* nat_expire + nat_reclaim, untimed */
};

struct bench_nat;                     /* bench_nat_flows.c */

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

	struct bench_nat *nat;                /* bench_nat only */
};

/* --- bench_fixture.c ----------------------------------------------------- */

/* After rte_eal_init: the first two ethdev ports become public and private.
 * 0, or -errno with a reason in err. */
int bench_fixture_create(struct bench_fixture *f, char *err, size_t errlen);
void bench_fixture_destroy(struct bench_fixture *f);

/* Add a route "dst via via" to a port's table (before any run). */
int bench_fixture_route_add(struct bench_fixture *f, unsigned port,
			    const char *dst, const char *via);
/* Resolve addr on port to mac with a synthetic ARP reply, as the control
 * thread would learn it.  0, or -errno with a reason in err. */
int bench_fixture_neigh_learn(struct bench_fixture *f, unsigned port,
			      const char *addr, const uint8_t mac[6],
			      char *err, size_t errlen);

/* An Ethernet + IPv4 + UDP frame whose IP packet is size bytes long, as it
 * would arrive on the private port (from_private) or leave it after decap.
 * Returns the frame length (14 + size). */
unsigned bench_frame_build(const struct bench_fixture *f, uint8_t *frame,
			   unsigned size, bool from_private);

/* Make the keypair look freshly negotiated (birthdate now), so no key-age
 * rule kicks in however long the benchmark runs. */
void bench_fixture_refresh_key(struct bench_fixture *f);

/* What the NIC and classify() would leave in m: the frame, l3_off (14),
 * in_port, and msg_off for a WireGuard message. */
void bench_mbuf_load(struct rte_mbuf *m, const uint8_t *frame, unsigned len,
		     uint8_t in_port, uint16_t msg_off);
/* n mbufs from the pool, or -ENOBUFS with the reason (a stage leaks). */
int bench_burst_alloc(struct bench_fixture *f, struct rte_mbuf **ms,
		      unsigned n, char *err, size_t errlen);
/* Take up to max of the packets the stages queued for port instead of
 * sending them; the rest are freed. */
unsigned bench_tx_intercept(struct dp_ctx *c, unsigned port,
			    struct rte_mbuf **out, unsigned max);
/* The one packet a stage queued on port, NULL (and nothing left queued)
 * if it queued anything else. */
struct rte_mbuf *bench_tx_take_one(struct dp_ctx *c, unsigned port);

/* The counters a run is checked against. */
struct bench_snapshot {
	struct dp_lcore_stats st;
	uint64_t opackets[PORT_COUNT];        /* as the ethdev counted them */
};

void bench_snapshot_take(struct bench_fixture *f, struct bench_snapshot *s);
/* n packets went in; exactly n must have left by out_port and nothing may
 * have been dropped, handed to the control thread or leaked.  0, or
 * -EPROTO with the reason in err. */
int bench_run_check(struct bench_fixture *f, const struct bench_snapshot *before,
		    uint64_t n, unsigned out_port, char *err, size_t errlen);

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

/* --- bench_nat_flows.c ----------------------------------------------------- */

/* The NAT on top of the fixture (after bench_fixture_create): [NAT]
 * config, routes and neighbours on the public side, the session tables,
 * flows established beforehand.  flows: how many established inside
 * flows (1..BENCH_NAT_MAX_FLOWS); forwards: how many Forward lines
 * (1..NAT_MAX_FORWARDS; the first is the one traffic uses). */
enum { BENCH_NAT_DEFAULT_FLOWS = 1024, BENCH_NAT_MAX_FLOWS = 16384 };

int bench_nat_setup(struct bench_fixture *f, unsigned flows, unsigned forwards,
		    char *err, size_t errlen);
void bench_nat_teardown(struct bench_fixture *f);
/* Check each path's output once for a frame size (Ethernet, FCS
 * included: 64 is 46 bytes of IP). */
int bench_nat_prepare(struct bench_fixture *f, unsigned size, char *err,
		      size_t errlen);
/* One run of kind (BENCH_FORWARD .. BENCH_NAT_IN_NEW). */
int bench_nat_run(struct bench_fixture *f, enum bench_kind kind, unsigned size,
		  uint64_t min_ns, struct bench_sample *out, char *err,
		  size_t errlen);

/* --- bench_main.c ---------------------------------------------------------- */

/* A ratio of the report: rate of num / rate of den, taken per round. */
struct bench_ratio {
	const char *name, *json;
	enum bench_kind num, den;
};

struct bench_setup;

struct bench_options {
	bool json;
	unsigned runs;
	double seconds;
	unsigned sizes[BENCH_MAX_SIZES];
	unsigned n_sizes;
	unsigned flows;                       /* bench_nat --flows */
	unsigned forwards;                    /* bench_nat --forwards */
	int eal_argc;
	char **eal_argv;
	char command[256];                    /* as typed, for the report */
};

/* One benchmark program.  Hooks left NULL do nothing. */
struct bench_suite {
	const char *name;                     /* "bench_tunnel" */
	const char *title;                    /* first line of the table */
	enum bench_kind first;                /* kinds first .. first+n_kinds-1 */
	unsigned n_kinds;
	const struct bench_ratio *ratios;
	unsigned n_ratios;
	unsigned sizes[BENCH_MAX_SIZES];      /* --sizes default */
	unsigned n_sizes;
	unsigned min_size, max_size;
	const char *size_help;                /* what --sizes means */
	const char *size_column;              /* its column's heading */
	bool nat_options;                     /* takes --flows, --forwards */
	bool sessions;                        /* sessions/s column, not Gbit/s */
	bool extra_ns;                        /* also each ratio as ns/packet more */
	/* Before the EAL (the crypto libraries), resp. at the very end. */
	int (*init)(const struct bench_options *o, char *err, size_t errlen);
	void (*fini)(void);
	/* After bench_fixture_create, resp. before bench_fixture_destroy. */
	int (*setup)(struct bench_fixture *f, const struct bench_options *o,
		     char *err, size_t errlen);
	void (*teardown)(struct bench_fixture *f);
	/* Functional checks for one size before it is timed. */
	int (*prepare)(struct bench_fixture *f, unsigned size, char *err,
		       size_t errlen);
	int (*run)(struct bench_fixture *f, enum bench_kind kind, unsigned size,
		   uint64_t min_ns, struct bench_sample *out, char *err,
		   size_t errlen);
	/* Library versions for the report (sodium, openssl). */
	void (*versions)(struct bench_setup *setup);
};

/* Parse options, start the EAL, measure, print; the exit status. */
int bench_main(int argc, char **argv, const struct bench_suite *suite);

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
	const char *dpdk;                     /* versions */
	const char *sodium, *openssl;         /* NULL: not used */
	const char *ports;                    /* PMD of the two ports */
	const char *command;                  /* the command line */
	unsigned flows, forwards;             /* 0: not used */
};

void bench_report_table(FILE *out, const struct bench_suite *suite,
			const struct bench_setup *setup,
			const struct bench_result *res, unsigned n);
void bench_report_json(FILE *out, const struct bench_suite *suite,
		       const struct bench_setup *setup,
		       const struct bench_result *res, unsigned n);

#endif
