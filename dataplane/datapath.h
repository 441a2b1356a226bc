/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runtime state shared by the fast path (worker lcores) and the control
 * thread.  Who may write what:
 *
 *  - struct dp_tables is immutable once published; the control thread builds
 *    a new one and swaps dp->tables with rcu_assign_pointer().  Workers load
 *    it once per loop iteration (liburcu QSBR: each loop iteration ends in a
 *    quiescent state), so a swap never stops them.  Old tables, removed peers
 *    and retired keypairs are freed after a grace period (dp_defer_free).
 *  - struct gw_peer outlives table swaps.  Its handshake, cookie maker,
 *    timers and staged queue belong to the control thread.  Workers read the
 *    keypair pointers (atomics), and write the traffic timestamps, the byte
 *    counters (relaxed atomics) and the endpoint (seqlock, for roaming).
 *  - Keypairs are found by receiver index in a slot table (index_table):
 *    written by the control thread, read by workers.
 *
 * Multi-core rule: any worker may encrypt for any peer (the nonce is one
 * atomic fetch-add); decryption may happen on any worker, and the replay
 * window update is serialised by a per-keypair spinlock which is
 * uncontended in practice because RSS keeps one peer's outer 4-tuple on one
 * queue.  Counters are per lcore and summed on read.
 */
#ifndef PORTCULLIS_DATAPATH_H
#define PORTCULLIS_DATAPATH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "config.h"
#include "nat.h"
#include "cookie.h"
#include "noise.h"
#include "portcullis/types.h"
#include "timers.h"

struct allowedips;
struct rte_ring;
struct rte_mempool;
struct neigh_table;

enum dp_limits {
	DP_MAX_WORKERS = 16,
	DP_MAX_LCORES = 128,           /* RTE_MAX_LCORE on Debian's build */
	DP_BURST = 32,
	DP_INDEX_BITS = 18,            /* receiver index slots: 262144 */
	DP_RING_SIZE = 4096,
	DP_NUM_MBUFS = 8191,
	DP_MBUF_CACHE = 256,
};

/* --- Drop reasons and counters ------------------------------------------ */

/* Every drop has a name; the CLI, metrics and shutdown dump use these. */
#define DP_DROP_REASONS(X)                                                   \
	X(malformed)              /* truncated or inconsistent headers */     \
	X(multiseg)               /* chained mbuf where one segment needed */ \
	X(no_room)                /* mbuf head/tailroom too small for headers */\
	X(wrong_vlan)             /* tagged frame not for our VLAN */         \
	X(not_for_us)             /* not our address, nothing to do with it */\
	X(unknown_ethertype)                                                  \
	X(wg_bad_type)            /* UDP to the listen port, bad message */   \
	X(wg_unknown_index)       /* data for no known keypair */             \
	X(wg_replay)              /* counter seen before or too old */        \
	X(wg_decrypt_failed)      /* authentication failed */                 \
	X(wg_key_expired)         /* keypair past REJECT_AFTER_TIME/MSGS */   \
	X(inner_malformed)        /* decrypted packet is not IPv4/IPv6 */     \
	X(inner_src_not_allowed)  /* inner source outside peer AllowedIPs */  \
	X(no_route)               /* no peer, no route for the destination */ \
	X(no_endpoint)            /* peer has no known endpoint */            \
	X(no_key_stage_full)      /* no session and the staging queue full */ \
	X(ttl_exceeded)                                                       \
	X(too_big)                /* over the MTU (ICMP sent if possible) */  \
	X(handshake_ring_full)    /* control thread overloaded */             \
	X(exception_ring_full)                                                \
	X(handshake_invalid)      /* bad MAC1, bad handshake, replay */       \
	X(handshake_ratelimited)                                              \
	X(neigh_unresolved)       /* next hop did not answer ARP/ND */        \
	X(neigh_queue_full)                                                   \
	X(tx_full)                /* the port did not take the packet */      \
	X(no_mbuf)                /* pool exhausted building a reply */       \
	X(icmp_ratelimited)       /* ICMP error suppressed */               \
	X(policy_denied)          /* tunnel <-> private refused by [NAT] Allow* */\
	X(nat_not_masqueraded)    /* to the public side from a source not in Masquerade */\
	X(nat_no_session)         /* unsolicited inbound, or filtered (RFC 4787 REQ-8) */\
	X(nat_icmp_no_session)    /* ICMP error quoting no NAT session */    \
	X(nat_fragment)           /* later IPv4 fragment we cannot match */  \
	X(nat_fragment_timeout)   /* held for its first fragment: too long, or no room */\
	X(nat_unsupported)        /* not TCP, UDP, ICMP echo or ICMP error */\
	X(nat_ports_exhausted)    /* no free external port (ICMP 3/13 sent) */\
	X(nat_table_full)         /* MaxSessions reached (ICMP 3/13 sent) */

enum dp_drop_reason {
#define DP_DROP_ENUM(name) DROP_##name,
	DP_DROP_REASONS(DP_DROP_ENUM)
#undef DP_DROP_ENUM
	DROP_COUNT
};

extern const char *const dp_drop_names[DROP_COUNT];

struct dp_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

/* Per-lcore counters; only their lcore writes them, readers sum. */
struct dp_lcore_stats {
	uint64_t drops[DROP_COUNT];
	struct dp_port_stats port[PORT_COUNT];
	uint64_t decap_packets, encap_packets, keepalives_rx;
	uint64_t handshakes_rx, handshakes_tx, icmp_tx;
	uint64_t host_to_tap, host_from_tap;   /* the exception TAP, frames */
} __attribute__((aligned(64)));

/* --- Peers and keypairs ------------------------------------------------- */

struct gw_keypair {
	struct noise_keypair noise;
	rte_spinlock_t replay_lock;            /* serialises replay updates */
	_Atomic bool confirm_posted;           /* worker told control once */
	struct gw_peer *peer;
};

/* Endpoint written by workers (roaming) and control: a seqlock. */
struct gw_endpoint {
	_Atomic uint32_t seq;                  /* odd while being written */
	rte_spinlock_t write_lock;
	struct ip_endpoint ep;
};

struct gw_staged {                       /* control thread only */
	struct rte_mbuf *pkts[MAX_QUEUED_PACKETS];
	unsigned head, count;
};

struct gw_peer {
	uint32_t id;                           /* slot in dp_tables.peers */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	struct noise_keypairs keypairs;
	struct gw_endpoint endpoint;
	uint16_t persistent_keepalive;

	/* Written by workers, read by control (timers) and the UAPI. */
	_Atomic uint64_t last_data_tx, last_data_rx;   /* monotonic ns */
	_Atomic uint64_t last_auth_tx, last_auth_rx;
	_Atomic uint64_t rx_bytes, tx_bytes;
	_Atomic bool rekey_requested;

	/* Control thread only. */
	struct noise_handshake handshake;
	struct cookie_maker cookie;
	struct wg_timers timers;
	struct gw_staged staged;
	uint64_t seen_data_tx, seen_data_rx, seen_auth_tx, seen_auth_rx;
	uint64_t last_handshake_realtime;      /* ns since the epoch, 0: never */
	uint32_t handshake_index;              /* slot held by the handshake */
};

/* --- Tables published with RCU ------------------------------------------- */

/* A route out of a port: direct (connected) or via a next hop. */
struct dp_route {
	struct ip_prefix dst;
	struct ip_addr via;                    /* IP_NONE: directly connected */
};

struct dp_port_conf {
	uint16_t port_id;                      /* DPDK port */
	uint16_t vlan;                         /* 0: untagged */
	uint16_t mtu;
	bool present;
	uint8_t mac[6];
	struct ip_addr link_local;             /* fe80::EUI-64, IP_NONE if no v6 */
	struct ip_prefix addrs[CONFIG_MAX_ADDRESSES];
	unsigned n_addrs;
	struct dp_route *routes;               /* index = value in route_lpm */
	unsigned n_routes;
	struct allowedips *route_lpm;          /* dst prefix -> route index */
};

struct dp_tables {
	struct dp_port_conf ports[PORT_COUNT];
	/* Both ports on one DPDK port (one NIC, the private side on a VLAN
	 * of it, the VLAN ids differ): polled once, split by VLAN id. */
	bool shared_port;
	struct ip_prefix tun_addrs[CONFIG_MAX_ADDRESSES]; /* [Interface] Address */
	unsigned n_tun_addrs;
	uint16_t listen_port;
	uint16_t tunnel_mtu;
	struct allowedips *allowedips;         /* inner prefix -> peer id */
	struct gw_peer **peers;                /* by id; NULL: free slot */
	uint32_t n_peer_slots;
	/* [NAT]: nat.enabled false means no NAT and nothing forwarded between
	 * the public and the private side.  nat.external is filled in. */
	struct nat_config nat;
	/* MSS clamps by path (0: off), from [NAT] MSSClamp. */
	uint16_t mss_tunnel[2];                /* [0] IPv4, [1] IPv6 */
	uint16_t mss_public;                   /* IPv4 NAT path */
	/* [Port public] HostInterface: the host's own traffic on the public
	 * port is exchanged with this TAP (dataplane/host_tap.c). */
	bool has_host_port;
	uint16_t host_port_id;                 /* DPDK port of the TAP */
	uint8_t host_mac[6];
};

/* --- Receiver index -> keypair ------------------------------------------- */

/*
 * A receiver index is (random high bits | slot), so the fast path finds a
 * keypair with one load and one compare instead of a hash lookup.  Control
 * thread writes, workers read; entries are freed after a grace period.
 */
struct index_slot {
	struct gw_keypair *_Atomic keypair;
	struct gw_peer *handshake_peer;        /* control only: pending handshake */
	uint32_t index;                        /* full index held, 0: free */
};

static inline struct gw_keypair *
index_table_lookup(struct index_slot *slots, uint32_t index)
{
	struct index_slot *s = &slots[index & ((1u << DP_INDEX_BITS) - 1)];
	struct gw_keypair *kp = atomic_load_explicit(&s->keypair,
						     memory_order_acquire);

	if (kp == NULL || kp->noise.local_index != index)
		return NULL;
	return kp;
}

/* --- Per-packet metadata (mbuf private area) ------------------------------ */

enum pkt_kind {
	PKT_HANDSHAKE,        /* worker -> control: types 1-3 */
	PKT_ARP,              /* worker -> control */
	PKT_ND,               /* worker -> control: ICMPv6 NS/NA/RS/RA */
	PKT_NEED_NEIGH,       /* worker -> control: resolve nexthop, then send */
	PKT_STAGE,            /* worker -> control: no session for peer yet */
};

/* Where a packet entered: a port, the tunnel, or the gateway itself. */
enum pkt_origin_port { IN_PUBLIC = PORT_PUBLIC, IN_PRIVATE = PORT_PRIVATE,
		       IN_TUNNEL, IN_LOCAL };

struct pkt_meta {
	uint8_t kind;             /* enum pkt_kind */
	uint8_t in_port;          /* enum pkt_origin_port */
	uint8_t out_port;
	uint8_t l3_family;        /* IP_V4 / IP_V6 */
	uint16_t l3_off;          /* offset of the IP header */
	uint16_t msg_off;         /* offset of a WireGuard message */
	uint32_t peer_id;
	struct ip_addr nexthop;
};

enum { DP_MBUF_PRIV = 48 };
_Static_assert(sizeof(struct pkt_meta) <= DP_MBUF_PRIV, "mbuf priv area");

static inline struct pkt_meta *pkt_meta(struct rte_mbuf *m)
{
	return (struct pkt_meta *)rte_mbuf_to_priv(m);
}

/* --- Events worker -> control --------------------------------------------- */

enum dp_event_type { EV_KEY_CONFIRMED = 1, EV_REKEY = 2 };

struct dp_event {
	uint32_t type;
	uint32_t peer_id;
	uint32_t index;           /* keypair local index, for EV_KEY_CONFIRMED */
	uint32_t pad;
};

/* --- The whole datapath --------------------------------------------------- */

struct dp {
	struct dp_tables *tables;              /* RCU-protected */
	struct index_slot *index_slots;        /* 1 << DP_INDEX_BITS */
	struct rte_mempool *pool;
	struct rte_ring *handshake_ring;       /* mbufs, workers -> control */
	struct rte_ring *exception_ring;       /* mbufs, workers -> control */
	struct rte_ring *event_ring;           /* struct dp_event, MP/SC */
	struct rte_ring *tx_ring[PORT_COUNT];  /* mbufs, control -> worker 0 */
	struct neigh_table *neigh;
	struct nat *nat;                       /* NULL: no [NAT] at start-up */
	uint16_t n_workers;
	uint16_t rx_queues;                    /* per port = n_workers */
	unsigned worker_lcores[DP_MAX_WORKERS];
	unsigned control_lcore;
	bool busy_poll;                        /* false: sleep when idle */
	volatile bool running;
	struct dp_lcore_stats stats[DP_MAX_LCORES];
	struct nat_lcore nat_lcore[DP_MAX_LCORES];  /* by lcore id */
};

static inline void dp_drop(struct dp_lcore_stats *st, struct rte_mbuf *m,
			   enum dp_drop_reason why)
{
	st->drops[why]++;
	rte_pktmbuf_free(m);
}

/* The packet pool, the rings, the neighbour table and the index slots of
 * a datapath (init only; errors as text).  dp_destroy frees what exists. */
int dp_create(struct dp *dp, char *err, size_t errlen);
void dp_destroy(struct dp *dp);

/* Monotonic ns; the same clock on every thread. */
uint64_t dp_now(void);
uint64_t dp_realtime(void);

#endif
