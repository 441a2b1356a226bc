/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway as the control thread sees it: the configuration, our
 * identity, the peers, the published tables and the index slots, plus the
 * deferred-free list that turns "unpublished" into "freed" after an RCU
 * grace period.  Everything here runs on the control thread.
 */
#ifndef PORTCULLIS_GATEWAY_H
#define PORTCULLIS_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cookie.h"
#include "datapath.h"
#include "l3.h"
#include "noise.h"
#include "port.h"

struct gw_xdp;
struct hetzner;
struct hz_desired;
struct ratelimiter;
struct sock_server;

struct gw_peer_key {
	uint8_t key[32];
	struct gw_peer *peer;
};

struct deferred {
	void *ptr;
	void (*fn)(void *);
};

struct gateway {
	struct dp dp;
	struct config *cfg;
	char ifname[64];
	struct noise_static_identity identity;
	struct cookie_checker cookie_checker;
	struct ratelimiter *ratelimiter;
	struct port_info ports[PORT_COUNT];
	struct port_info host_port;            /* the exception TAP, if any */
	bool has_host_port;
	struct dp_ctx ctx;                     /* the control thread's */
	unsigned n_staged;                     /* mbufs in all staged queues */
	struct deferred *deferred;
	size_t n_deferred, cap_deferred;
	struct sock_server *uapi;              /* the WireGuard socket (uapi.c) */
	struct sock_server *ctl;               /* the CLI socket (ctl.c) */
	struct sock_server *metrics;           /* NULL: no [Control] Metrics */
	struct hetzner *hz;                    /* NULL: no [Hetzner] */
	struct hz_desired *hz_applied;         /* the sync's state now in force */
	struct gw_peer_key *peer_keys;         /* sorted by key: handshakes */
	uint32_t n_peer_keys;
	struct gw_xdp *xdp;                    /* NULL: no XDP steering */
};

/* Build peers and tables from gw->cfg and the opened ports; publish them. */
int gateway_start(struct gateway *gw, char *err, size_t errlen);
/* Retire every peer and free the tables (after the workers stopped). */
void gateway_stop(struct gateway *gw);

/* Index slots: a fresh random receiver index bound to a pending handshake
 * of peer; 0 if the table is full. */
uint32_t gateway_index_alloc(struct gateway *gw, struct gw_peer *peer);
void gateway_index_free(struct gateway *gw, uint32_t index);
struct index_slot *gateway_index_slot(struct gateway *gw, uint32_t index);

struct gw_keypair *gateway_keypair_new(struct gw_peer *peer);
/* Retire callback for noise_keypairs (ctx: the gateway). */
void gateway_keypair_retire(struct noise_keypair *kp, void *ctx);

struct gw_peer *gateway_peer_by_key(struct gateway *gw, const uint8_t key[32]);
struct gw_peer *gateway_peer_by_id(struct gateway *gw, uint32_t id);

/*
 * Live changes (gateway_apply.c).  next is a whole desired configuration
 * (from the file, or gw->cfg cloned and edited by a UAPI set or a CLI
 * command).  The difference is applied atomically: peers are matched by
 * public key, so an unchanged peer keeps its sessions, handshake, timers,
 * counters and learned endpoint; new tables are built completely and
 * published with RCU; removed peers and old tables are freed after a grace
 * period.  On success gw owns next (gw->cfg is replaced); on error nothing
 * changed, err says why and the caller still owns next.
 */
struct gateway_change {
	unsigned peers_added, peers_removed, peers_updated, peers_unchanged;
};
int gateway_apply(struct gateway *gw, struct config *next,
		  struct gateway_change *chg, char *err, size_t errlen);
/* Re-read gw->cfg->path and apply it ("file:line: reason" on error). */
int gateway_reload(struct gateway *gw, struct gateway_change *chg,
		   char *err, size_t errlen);

/*
 * AF_XDP steering (gateway_xdp.c; the rules: include/portcullis/xdp_steer.h).
 * gateway_xdp_device, before a port opens: the Device string to open (ours
 * with xdp_prog= added when the port is a net_af_xdp vdev without one).
 * gateway_xdp_start, once the tables are published: fill the maps and let
 * the kernel resolve neighbours on shared addresses.  gateway_xdp_update
 * after every applied change; _poll every control loop (the kernel's
 * neighbour answers), _tick every tick (the host's addresses); _stop after
 * the ports closed.  _stats: NIC i's counters and interface, -ENOENT past
 * the last.
 */
int gateway_xdp_device(struct gateway *gw, unsigned port, const char *device, char *out,
		       size_t outlen, char *err, size_t errlen);
int gateway_xdp_start(struct gateway *gw, char *err, size_t errlen);
void gateway_xdp_update(struct gateway *gw);
void gateway_xdp_poll(struct gateway *gw);
void gateway_xdp_tick(struct gateway *gw);
void gateway_xdp_stop(struct gateway *gw);
int gateway_xdp_stats(const struct gateway *gw, unsigned i, const char **ifname,
		      uint64_t out[]);
extern const char *const gateway_xdp_counter_names[];   /* XDP_STEER_COUNTERS */
/* "stat xdp_<counter> N" lines, summed over the NICs (none without). */
void gateway_xdp_stats_print(const struct gateway *gw, FILE *f);

/* The Hetzner sync (gateway_hetzner.c): start/stop the loop thread; the
 * tick applies each good state it leaves (not in DryRun); a reload merges
 * the applied state into the new file's config (gateway_hetzner_merge),
 * and restarts the loop if [Hetzner] changed. */
int gateway_hetzner_start(struct gateway *gw, char *err, size_t errlen);
void gateway_hetzner_stop(struct gateway *gw);
void gateway_hetzner_tick(struct gateway *gw);
int gateway_hetzner_merge(struct gateway *gw, struct config *next);
bool gateway_hetzner_changed(const struct config *cur, const struct config *next);
void gateway_hetzner_restart(struct gateway *gw);

/* Free ptr with fn once no worker can still see it. */
void gateway_defer_free(struct gateway *gw, void *ptr, void (*fn)(void *));
/* Wait for a grace period and run the deferred frees (control tick). */
void gateway_reclaim(struct gateway *gw);

/* The NAT (gateway_nat.c): table lifetime, its part of the tables, the
 * expiry tick (every control tick), counters and the start-up summary. */
int gateway_nat_start(struct gateway *gw, char *err, size_t errlen);
void gateway_nat_stop(struct gateway *gw);
/* The [NAT] part of tables t built from cfg (the next configuration). */
int gateway_nat_tables(const struct config *cfg, struct dp_tables *t,
		       char *err, size_t errlen);
void gateway_nat_tables_free(struct dp_tables *t);
void gateway_nat_tick(struct gateway *gw);
/* The per-lcore NAT counters summed. */
void gateway_nat_stats_sum(const struct gateway *gw, struct nat_stats *out);
void gateway_nat_stats_print(const struct gateway *gw, FILE *f);
void gateway_nat_log_startup(const struct gateway *gw);

/* Counters summed over lcores. */
void gateway_stats_sum(const struct gateway *gw, struct dp_lcore_stats *out);
void gateway_stats_print(const struct gateway *gw, FILE *f);

#endif
