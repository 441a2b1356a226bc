/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PORTCULLIS_WORKER_H
#define PORTCULLIS_WORKER_H

struct dp;

struct worker_args {
	struct dp *dp;
	unsigned index;                        /* 0..n_workers-1: RX/TX queue */
};

/* The lcore entry point (rte_eal_remote_launch). Returns when dp->running
 * goes false. */
int worker_main(void *arg);

#endif
