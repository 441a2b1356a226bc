/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plan is computed from the published dp_tables, the same tables the
 * workers decide with, so the program and the dataplane agree on which
 * addresses, ports and VLANs are the gateway's.  Plans are sorted, so
 * that a reload writes only what changed and stale entries are found by
 * binary search.
 */
#include "xdp_steer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "datapath.h"

/* Every valid config fits: the plan cannot fail for want of room. */
_Static_assert((int)XDP_STEER_MAX_FORWARDS >= (int)NAT_MAX_FORWARDS, "forward ports");
_Static_assert((int)XDP_STEER_MAX_ADDRS >= (int)PORT_COUNT * (CONFIG_MAX_ADDRESSES + 1) +
	       CONFIG_MAX_ADDRESSES +
	       NAT_MAX_EXTERNAL + 1 + 64 /* gateway_xdp.c XDP_HOST_MAX */, "addresses");

/* dataplane/xdp/steer_obj.c, generated at build time. */
extern const unsigned char xdp_steer_obj[];
extern const size_t xdp_steer_obj_len;

/* --- The plan ------------------------------------------------------------ */

static int addr_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xdp_steer_addr_key));
}

static int fwd_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xdp_steer_fwd_key));
}

static int addr_add(struct xdp_steer_plan *p, const struct ip_addr *a, uint16_t vlan,
		    uint32_t flags)
{
	struct xdp_steer_addr_entry *e;

	if (a->family != IP_V4 && a->family != IP_V6)
		return 0;
	if (p->n_addrs == XDP_STEER_MAX_ADDRS)
		return -E2BIG;
	e = &p->addrs[p->n_addrs++];
	memset(e, 0, sizeof(*e));
	e->key.family = a->family;
	e->key.vlan = vlan;
	memcpy(e->key.addr, a->bytes, ip_addr_len(a));
	e->flags = flags;
	return 0;
}

/* Sort by key and merge the flags of duplicates (an address can be the
 * host's, the gateway's and the NAT's at once). */
static void addrs_merge(struct xdp_steer_plan *p)
{
	unsigned out = 0;

	qsort(p->addrs, p->n_addrs, sizeof(p->addrs[0]), addr_key_cmp);
	for (unsigned i = 0; i < p->n_addrs; i++) {
		if (out && addr_key_cmp(&p->addrs[out - 1].key, &p->addrs[i].key) == 0)
			p->addrs[out - 1].flags |= p->addrs[i].flags;
		else
			p->addrs[out++] = p->addrs[i];
	}
	p->n_addrs = out;
}

/* The port's own addresses on its VLAN; on the public side also the
 * tunnel's (public_input answers them), as l3_is_local_addr has it. */
static int port_addrs(struct xdp_steer_plan *p, const struct dp_tables *t, unsigned port)
{
	const struct dp_port_conf *pc = &t->ports[port];
	uint32_t flags = XDP_STEER_ADDR_GATEWAY;
	int ret = 0;

	if (port == PORT_PUBLIC)
		flags |= XDP_STEER_ADDR_WG;    /* wg_message_offset's rule */
	for (unsigned i = 0; i < pc->n_addrs && ret == 0; i++)
		ret = addr_add(p, &pc->addrs[i].addr, pc->vlan, flags);
	if (ret == 0)
		ret = addr_add(p, &pc->link_local, pc->vlan, XDP_STEER_ADDR_GATEWAY);
	for (unsigned i = 0; port == PORT_PUBLIC && i < t->n_tun_addrs && ret == 0; i++)
		ret = addr_add(p, &t->tun_addrs[i].addr, pc->vlan, XDP_STEER_ADDR_GATEWAY);
	return ret;
}

/* The NAT's external addresses and forward ports (public side only). */
static int nat_entries(struct xdp_steer_plan *p, const struct nat_config *nat,
		       uint16_t vlan)
{
	unsigned out = 0;
	int ret = addr_add(p, &nat->external, vlan, XDP_STEER_ADDR_NAT);

	for (unsigned i = 0; i < nat->n_forwards && ret == 0; i++) {
		const struct nat_forward *f = &nat->forwards[i];

		const struct ip_addr *ext = f->external.family ? &f->external : &nat->external;

		ret = addr_add(p, ext, vlan, XDP_STEER_ADDR_NAT);
		if (ret == 0 && p->n_fwd == XDP_STEER_MAX_FORWARDS)
			ret = -E2BIG;
		if (ret == 0) {
			p->fwd[p->n_fwd] = (struct xdp_steer_fwd_key){
				.proto = f->proto, .port = htons(f->external_port) };
			memcpy(p->fwd[p->n_fwd++].addr, ext->bytes, 4);
		}
	}
	qsort(p->fwd, p->n_fwd, sizeof(p->fwd[0]), fwd_key_cmp);
	for (unsigned i = 0; i < p->n_fwd; i++)
		if (out == 0 || fwd_key_cmp(&p->fwd[out - 1], &p->fwd[i]) != 0)
			p->fwd[out++] = p->fwd[i];
	p->n_fwd = out;
	return ret;
}

int xdp_steer_plan_build(const struct dp_tables *t, unsigned port_mask,
			 const struct xdp_steer_host_addr *host, unsigned n_host,
			 struct xdp_steer_plan *p)
{
	bool pub = port_mask & (1u << PORT_PUBLIC);
	unsigned n_vlan = 0;
	int ret = 0;

	memset(&p->conf, 0, sizeof(p->conf));
	p->n_addrs = p->n_fwd = 0;
	p->conf.vlan[0] = p->conf.vlan[1] = XDP_STEER_VLAN_UNUSED;
	p->conf.nat_port_min = 1;              /* empty unless the NAT is here */
	for (unsigned port = 0; port < PORT_COUNT && ret == 0; port++) {
		if (!(port_mask & (1u << port)) || !t->ports[port].present)
			continue;
		if (n_vlan < 2) {
			p->conf.transit[n_vlan] = port == PORT_PRIVATE;
			p->conf.vlan[n_vlan++] = t->ports[port].vlan;
		}
		memcpy(p->conf.mac, t->ports[port].mac, 6);   /* one NIC, one MAC */
		ret = port_addrs(p, t, port);
	}
	if (pub) {
		p->conf.listen_port = t->listen_port;
		if (ret == 0 && t->nat.enabled) {
			p->conf.nat_port_min = t->nat.port_min;
			p->conf.nat_port_max = t->nat.port_max;
			ret = nat_entries(p, &t->nat, t->ports[PORT_PUBLIC].vlan);
		}
	}
	for (unsigned i = 0; i < n_host && ret == 0; i++)
		ret = addr_add(p, &host[i].addr, host[i].vlan, XDP_STEER_ADDR_HOST);
	addrs_merge(p);
	p->conf.enabled = 1;
	if (ret < 0)
		p->n_addrs = p->n_fwd = 0;
	return ret;
}

/* --- The maps ------------------------------------------------------------ */

struct map_want {
	const char *name;
	uint32_t type, key_size, value_size;
	size_t field;                          /* offset in struct xdp_steer_maps */
};

static const struct map_want wanted[] = {
	{ "steer_conf", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct xdp_steer_conf),
	  offsetof(struct xdp_steer_maps, conf) },
	{ "steer_addrs", BPF_MAP_TYPE_HASH, sizeof(struct xdp_steer_addr_key), 4,
	  offsetof(struct xdp_steer_maps, addrs) },
	{ "steer_fwd", BPF_MAP_TYPE_HASH, sizeof(struct xdp_steer_fwd_key), 4,
	  offsetof(struct xdp_steer_maps, fwd) },
	{ "steer_stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8,
	  offsetof(struct xdp_steer_maps, stats) },
};

/* Keep fd in m if it is one of the wanted maps; true if kept. */
static bool map_keep(int fd, struct xdp_steer_maps *m)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return false;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		const struct map_want *w = &wanted[i];
		int *slot = (int *)((char *)m + w->field);

		if (strcmp(info.name, w->name) == 0 && info.type == w->type &&
		    info.key_size == w->key_size && info.value_size == w->value_size &&
		    *slot < 0) {
			*slot = fd;
			return true;
		}
	}
	return false;
}

int xdp_steer_maps_find(int prog_fd, struct xdp_steer_maps *m)
{
	uint32_t ids[16], len;
	struct bpf_prog_info info;

	*m = (struct xdp_steer_maps){ -1, -1, -1, -1 };
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return -errno;
	for (uint32_t i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd >= 0 && !map_keep(fd, m))
			close(fd);
	}
	if (m->conf < 0 || m->addrs < 0 || m->fwd < 0 || m->stats < 0) {
		xdp_steer_maps_close(m);
		return -ENOENT;
	}
	return 0;
}

void xdp_steer_maps_close(struct xdp_steer_maps *m)
{
	int *fds[] = { &m->conf, &m->addrs, &m->fwd, &m->stats };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Delete the keys of map fd that are not in want (sorted, n elements of
 * stride bytes, each starting with its key).  Keys are collected first:
 * deleting while walking would restart the walk. */
static int delete_stale(int fd, size_t key_size, const void *want, unsigned n,
			size_t stride, unsigned max, int (*cmp)(const void *, const void *))
{
	uint8_t *stale = calloc(max, key_size), key[32], *prev = NULL;
	unsigned n_stale = 0;
	int ret = 0;

	if (stale == NULL)
		return -ENOMEM;
	while (n_stale < max && bpf_map_get_next_key(fd, prev, key) == 0) {
		if (!bsearch(key, want, n, stride, cmp))
			memcpy(stale + (size_t)n_stale++ * key_size, key, key_size);
		prev = key;
	}
	for (unsigned i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, stale + (size_t)i * key_size) < 0 && errno != ENOENT)
			ret = -errno;
	free(stale);
	return ret;
}

int xdp_steer_maps_write(const struct xdp_steer_maps *m, const struct xdp_steer_plan *p)
{
	uint32_t zero = 0, one = 1;
	int ret;

	for (unsigned i = 0; i < p->n_addrs; i++)
		if (bpf_map_update_elem(m->addrs, &p->addrs[i].key, &p->addrs[i].flags,
					BPF_ANY) < 0)
			return -errno;
	for (unsigned i = 0; i < p->n_fwd; i++)
		if (bpf_map_update_elem(m->fwd, &p->fwd[i], &one, BPF_ANY) < 0)
			return -errno;
	/* The plan's addresses are sorted by key; bsearch over the entries
	 * works because the key is their first member. */
	_Static_assert(offsetof(struct xdp_steer_addr_entry, key) == 0, "key first");
	ret = delete_stale(m->addrs, sizeof(struct xdp_steer_addr_key), p->addrs, p->n_addrs,
			   sizeof(p->addrs[0]), XDP_STEER_MAX_ADDRS, addr_key_cmp);
	if (ret == 0)
		ret = delete_stale(m->fwd, sizeof(struct xdp_steer_fwd_key), p->fwd, p->n_fwd,
				   sizeof(p->fwd[0]), XDP_STEER_MAX_FORWARDS, fwd_key_cmp);
	if (ret == 0 && bpf_map_update_elem(m->conf, &zero, &p->conf, BPF_ANY) < 0)
		ret = -errno;
	return ret;
}

int xdp_steer_stats_read(const struct xdp_steer_maps *m, uint64_t out[XDP_STEER_COUNTERS])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per_cpu;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (per_cpu == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < XDP_STEER_COUNTERS; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(m->stats, &k, per_cpu) < 0) {
			free(per_cpu);
			return -errno;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += per_cpu[c];
	}
	free(per_cpu);
	return 0;
}

/* --- The program --------------------------------------------------------- */

int xdp_steer_object_memfd(char *path, size_t len)
{
	int fd = memfd_create("portcullis_xdp", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < xdp_steer_obj_len) {
		ssize_t n = write(fd, xdp_steer_obj + done, xdp_steer_obj_len - done);

		if (n <= 0) {
			int ret = n < 0 ? -errno : -EIO;

			close(fd);
			return ret;
		}
		done += (size_t)n;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static int prog_name(int fd, char *name, size_t len)
{
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) < 0)
		return -errno;
	snprintf(name, len, "%s", info.name);
	return (int)info.id;
}

int xdp_steer_attached(int ifindex, int *ours)
{
	char name[32];
	uint32_t id = 0;
	int fd, ret;

	*ours = 0;
	if ((ret = bpf_xdp_query_id(ifindex, 0, &id)) < 0)
		return ret;
	if (id == 0)
		return -ENOENT;
	if ((fd = bpf_prog_get_fd_by_id(id)) < 0)
		return -errno;
	if ((ret = prog_name(fd, name, sizeof(name))) < 0) {
		close(fd);
		return ret;
	}
	*ours = strcmp(name, XDP_STEER_PROG_NAME) == 0;
	return fd;
}

int xdp_steer_clear_leftover(int ifindex, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[32];
	int ours, fd = xdp_steer_attached(ifindex, &ours), ret;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the interface's XDP program: %s",
			 strerror(-fd));
		return fd;
	}
	ret = prog_name(fd, name, sizeof(name));
	close(fd);
	if (!ours) {
		snprintf(err, errlen, "another XDP program (\"%s\", id %d) is attached; "
			 "remove it (ip link set dev IFACE xdp off) or give the Device "
			 "an xdp_prog= of your own", name, ret);
		return -EEXIST;
	}
	/* Detach in the mode it was attached in (native on most drivers). */
	if ((ret = bpf_xdp_query(ifindex, 0, &q)) < 0 ||
	    (ret = bpf_xdp_detach(ifindex, q.attach_mode == XDP_ATTACHED_SKB ?
				  XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, NULL)) < 0) {
		snprintf(err, errlen, "cannot remove the XDP program an earlier run "
			 "left attached: %s", strerror(-ret));
		return ret;
	}
	return 1;
}
