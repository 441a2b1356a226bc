/* SPDX-License-Identifier: BSD-3-Clause */
#include "datapath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "neigh.h"

const char *const dp_drop_names[DROP_COUNT] = {
#define DP_DROP_NAME(name) #name,
	DP_DROP_REASONS(DP_DROP_NAME)
#undef DP_DROP_NAME
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC is a vDSO call (~20 ns); taken once per loop iteration. */
uint64_t dp_now(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t dp_realtime(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int dp_create(struct dp *dp, char *err, size_t errlen)
{
	int socket = (int)rte_socket_id();

	/* The private area holds struct pkt_meta; the default data room
	 * leaves the 128-byte headroom the outer headers go into. */
	dp->pool = rte_pktmbuf_pool_create("pc_pkts", DP_NUM_MBUFS, DP_MBUF_CACHE,
					   DP_MBUF_PRIV, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	dp->handshake_ring = rte_ring_create("pc_hs", DP_RING_SIZE, socket, RING_F_SC_DEQ);
	dp->exception_ring = rte_ring_create("pc_exc", DP_RING_SIZE, socket, RING_F_SC_DEQ);
	dp->event_ring = rte_ring_create_elem("pc_ev", sizeof(struct dp_event),
					      DP_RING_SIZE, socket, RING_F_SC_DEQ);
	dp->tx_ring[PORT_PUBLIC] = rte_ring_create("pc_tx0", DP_RING_SIZE, socket,
						   RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->tx_ring[PORT_PRIVATE] = rte_ring_create("pc_tx1", DP_RING_SIZE, socket,
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->neigh = neigh_table_create(NEIGH_MAX_ENTRIES, socket);
	dp->index_slots = calloc(1u << DP_INDEX_BITS, sizeof(struct index_slot));
	if (!dp->pool || !dp->handshake_ring || !dp->exception_ring || !dp->event_ring ||
	    !dp->tx_ring[PORT_PUBLIC] || !dp->tx_ring[PORT_PRIVATE] || !dp->neigh ||
	    !dp->index_slots) {
		snprintf(err, errlen, "cannot allocate packet pool, rings or tables: %s "
			 "(try more EAL memory, e.g. -m 512)", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

void dp_destroy(struct dp *dp)
{
	neigh_table_destroy(dp->neigh);
	free(dp->index_slots);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		rte_ring_free(dp->tx_ring[p]);
	rte_ring_free(dp->event_ring);
	rte_ring_free(dp->exception_ring);
	rte_ring_free(dp->handshake_ring);
	rte_mempool_free(dp->pool);
	dp->neigh = NULL;
	dp->index_slots = NULL;
	dp->pool = NULL;
}
