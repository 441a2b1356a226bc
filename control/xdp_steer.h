/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control plane's side of AF_XDP steering (the rules and the maps:
 * include/portcullis/xdp_steer.h): the program object embedded in the
 * daemon, what to write into its maps for the tables in force, writing
 * them, reading its counters, and a copy left attached by an earlier run.
 * libbpf; the control thread only.
 */
#ifndef PORTCULLIS_CONTROL_XDP_STEER_H
#define PORTCULLIS_CONTROL_XDP_STEER_H

#include <stddef.h>
#include <stdint.h>

#include "portcullis/types.h"
#include "portcullis/xdp_steer.h"

struct dp_tables;

/* An address the kernel has on the NIC: on its interface (vlan 0) or on
 * a VLAN interface over it (vlan: its id). */
struct xdp_steer_host_addr {
	struct ip_addr addr;
	int ifindex;
	uint16_t vlan;
};

struct xdp_steer_addr_entry {
	struct xdp_steer_addr_key key;
	uint32_t flags;                     /* enum xdp_steer_addr_flag */
};

/* What the maps should hold. */
struct xdp_steer_plan {
	struct xdp_steer_conf conf;
	struct xdp_steer_addr_entry addrs[XDP_STEER_MAX_ADDRS];
	unsigned n_addrs;
	struct xdp_steer_fwd_key fwd[XDP_STEER_MAX_FORWARDS];
	unsigned n_fwd;
};

/* The plan for one NIC carrying the logical ports in port_mask (bit
 * 1 << PORT_PUBLIC, 1 << PORT_PRIVATE) of tables t, whose kernel
 * interfaces have the addresses in host.  0, or -E2BIG when the
 * addresses or forwards do not fit the maps (nothing is half-planned). */
int xdp_steer_plan_build(const struct dp_tables *t, unsigned port_mask,
			 const struct xdp_steer_host_addr *host, unsigned n_host,
			 struct xdp_steer_plan *p);

/* The maps of a loaded program, by name; -1 when closed. */
struct xdp_steer_maps {
	int conf, addrs, fwd, stats;
};

/* 0, or -ENOENT when prog_fd is not our program (a map is missing or
 * has another shape). */
int xdp_steer_maps_find(int prog_fd, struct xdp_steer_maps *m);
void xdp_steer_maps_close(struct xdp_steer_maps *m);

/* Make the maps hold p: entries added and changed first, stale ones
 * deleted, conf last (its enabled = 1 turns steering on), so the program
 * never sees a conf whose addresses are not there yet.  0 or -errno. */
int xdp_steer_maps_write(const struct xdp_steer_maps *m, const struct xdp_steer_plan *p);

/* The counters, summed over CPUs.  0 or -errno. */
int xdp_steer_stats_read(const struct xdp_steer_maps *m,
			 uint64_t out[XDP_STEER_COUNTERS]);

/* A memfd holding the embedded program object; its path
 * ("/proc/self/fd/N", what net_af_xdp's xdp_prog= takes) in path.
 * The fd, or -errno. */
int xdp_steer_object_memfd(char *path, size_t len);

/* The program attached to ifindex: its fd (the caller closes it),
 * -ENOENT when none, another -errno on error.  *ours: it is ours. */
int xdp_steer_attached(int ifindex, int *ours);

/* Before the port opens: detach a copy of our program left attached by
 * a run that was killed (1), nothing there (0), or -EEXIST when another
 * program is attached (its name and id in err: we do not remove what is
 * not ours). */
int xdp_steer_clear_leftover(int ifindex, char *err, size_t errlen);

#endif
