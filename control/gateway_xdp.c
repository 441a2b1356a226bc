/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AF_XDP mode's steering, as the gateway runs it (the rules:
 * include/portcullis/xdp_steer.h).  For each net_af_xdp Device without an
 * xdp_prog= of the user's:
 *  - before the port opens, a copy of our program left attached by a
 *    killed run is removed, and net_af_xdp is given the embedded program
 *    through a memfd (gateway_xdp_device);
 *  - once the tables are published, the maps are filled
 *    (gateway_xdp_start), and again after every change that is applied
 *    (gateway_xdp_update, from gateway_apply) and whenever the kernel's
 *    addresses on the NIC change (looked at every few seconds);
 *  - neighbours probed from an address the host shares are resolved by
 *    the kernel (neigh_host_ops, control/host_neigh.c);
 *  - after the port closed (net_af_xdp detaches the program), a program
 *    still attached is removed (gateway_xdp_stop).
 * Control thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "gateway.h"
#include "host_neigh.h"
#include "host_ports.h"
#include "neigh.h"
#include "xdp_steer.h"

enum {
	XDP_HOST_MAX = 64,                  /* host addresses looked at per NIC */
	XDP_HOST_SCAN_S = 5,
	XDP_VLAN_IFS_MAX = 64,
};

struct xdp_nic {
	unsigned port_mask;                 /* the logical ports on this NIC */
	char ifname[IF_NAMESIZE];
	int ifindex;
	int memfd;                          /* the program, until the port opened */
	struct xdp_steer_maps maps;
	struct xdp_steer_host_addr host[XDP_HOST_MAX];
	unsigned n_host;
	bool host_full;                     /* said that more did not fit */
	struct xdp_steer_plan *written;     /* what the maps hold */
};

struct gw_xdp {
	struct xdp_nic nic[PORT_COUNT];
	unsigned n_nic;
	struct host_neigh *hn;
	struct neigh_host_ops ops;
	uint64_t next_scan;
};


/* --- The kernel's addresses on a NIC ------------------------------------- */

struct vlan_if {
	char name[IF_NAMESIZE], parent[IF_NAMESIZE];
	uint16_t vid;
};

/* /proc/net/vlan/config: "eth0.4000 | 4000 | eth0" after two header
 * lines; absent without the 8021q module (then there are no VLANs). */
static unsigned vlan_ifs_read(struct vlan_if *v, unsigned max)
{
	FILE *f = fopen("/proc/net/vlan/config", "re");
	char line[128];
	unsigned n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned vid;

		if (sscanf(line, "%15s | %u | %15s", v[n].name, &vid, v[n].parent) == 3 &&
		    vid < 4096) {
			v[n].vid = (uint16_t)vid;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* A kernel interface whose frames come through the NIC, and the VLAN
 * they carry there. */
struct nic_if {
	char name[IF_NAMESIZE];
	uint16_t vlan;
};

/*
 * The NIC and every interface stacked on it, as sysfs links them
 * (/sys/class/net/IF/upper_*): its VLAN interfaces, a bridge it is a port
 * of (a Proxmox-style br0 holds the host's address, not eth0), a bond,
 * macvlans, and what sits on those.  A VLAN interface carries its id; the
 * others carry their lower's.  The number of interfaces, at most max.
 */
static unsigned nic_ifs_collect(const char *nic, struct nic_if *out, unsigned max)
{
	struct vlan_if vifs[XDP_VLAN_IFS_MAX];
	unsigned n_v = vlan_ifs_read(vifs, XDP_VLAN_IFS_MAX), n = 1;

	snprintf(out[0].name, sizeof(out[0].name), "%s", nic);
	out[0].vlan = 0;
	for (unsigned i = 0; i < n; i++) {
		char path[sizeof("/sys/class/net/") + IF_NAMESIZE];
		struct dirent *d;
		DIR *dir;

		snprintf(path, sizeof(path), "/sys/class/net/%.*s", IF_NAMESIZE - 1,
			 out[i].name);
		if ((dir = opendir(path)) == NULL)
			continue;
		while ((d = readdir(dir)) != NULL && n < max) {
			struct nic_if *u = &out[n];

			if (strncmp(d->d_name, "upper_", 6) != 0 ||
			    strlen(d->d_name + 6) >= sizeof(u->name))
				continue;
			snprintf(u->name, sizeof(u->name), "%s", d->d_name + 6);
			u->vlan = out[i].vlan;
			for (unsigned k = 0; k < n_v; k++)
				if (strcmp(vifs[k].name, u->name) == 0)
					u->vlan = vifs[k].vid;
			n++;
		}
		closedir(dir);
	}
	return n;
}

static bool on_nic(const struct nic_if *ifs, unsigned n, const char *ifname,
		   uint16_t *vlan)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(ifs[i].name, ifname) == 0) {
			*vlan = ifs[i].vlan;
			return true;
		}
	return false;
}

static void host_addr_take(struct xdp_nic *nic, const struct ifaddrs *ifa,
			   const struct sockaddr *sa, uint16_t vlan)
{
	struct xdp_steer_host_addr *h;

	if (nic->n_host == XDP_HOST_MAX)
		return;
	h = &nic->host[nic->n_host];
	memset(h, 0, sizeof(*h));
	if (sa->sa_family == AF_INET) {
		h->addr.family = IP_V4;
		memcpy(h->addr.bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		h->addr.family = IP_V6;
		memcpy(h->addr.bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	h->ifindex = (int)if_nametoindex(ifa->ifa_name);
	h->vlan = vlan;
	nic->n_host++;
}

/* Read the host's addresses on nic; true if they changed. */
static bool host_scan(struct xdp_nic *nic)
{
	struct xdp_steer_host_addr before[XDP_HOST_MAX];
	struct nic_if ifs[XDP_VLAN_IFS_MAX];
	unsigned n_before = nic->n_host, n_ifs = nic_ifs_collect(nic->ifname, ifs,
								 XDP_VLAN_IFS_MAX);
	struct ifaddrs *list;
	uint16_t vlan;
	bool full;

	if (getifaddrs(&list) < 0)
		return false;                  /* keep what we had */
	memcpy(before, nic->host, sizeof(before));
	nic->n_host = 0;
	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next)
		if (ifa->ifa_addr && (ifa->ifa_addr->sa_family == AF_INET ||
				      ifa->ifa_addr->sa_family == AF_INET6) &&
		    on_nic(ifs, n_ifs, ifa->ifa_name, &vlan)) {
			host_addr_take(nic, ifa, ifa->ifa_addr, vlan);
			/* The subnet's broadcast (203.0.113.255) is the
			 * host's too, not transit for the gateway. */
			if (ifa->ifa_addr->sa_family == AF_INET &&
			    (ifa->ifa_flags & IFF_BROADCAST) && ifa->ifa_broadaddr)
				host_addr_take(nic, ifa, ifa->ifa_broadaddr, vlan);
		}
	freeifaddrs(list);
	/* More than fit: the rest would be taken for the gateway's transit
	 * on the private side; say so once. */
	full = nic->n_host == XDP_HOST_MAX;
	if (full && !nic->host_full)
		fprintf(stderr, "portcullisd: warning: %s: the host has more than %u "
			"addresses on it; the others are not known to the XDP program\n",
			nic->ifname, XDP_HOST_MAX);
	nic->host_full = full;
	return nic->n_host != n_before ||
	       memcmp(before, nic->host, n_before * sizeof(before[0])) != 0;
}

/* --- Filling the maps ---------------------------------------------------- */

static bool plan_same(const struct xdp_steer_plan *a, const struct xdp_steer_plan *b)
{
	return memcmp(&a->conf, &b->conf, sizeof(a->conf)) == 0 &&
	       a->n_addrs == b->n_addrs && a->n_fwd == b->n_fwd &&
	       memcmp(a->addrs, b->addrs, a->n_addrs * sizeof(a->addrs[0])) == 0 &&
	       memcmp(a->fwd, b->fwd, a->n_fwd * sizeof(a->fwd[0])) == 0;
}

static int nic_write(struct gateway *gw, struct xdp_nic *nic, bool log)
{
	struct xdp_steer_plan *p = malloc(sizeof(*p));
	char second_vlan[16] = "";
	unsigned shared = 0;
	int ret;

	if (p == NULL)
		return -ENOMEM;
	ret = xdp_steer_plan_build(gw->dp.tables, nic->port_mask, nic->host, nic->n_host, p);
	if (ret == 0 && nic->written && plan_same(p, nic->written)) {
		free(p);
		return 0;
	}
	if (ret == 0) {
		/* A write that fails half-way leaves the maps unknown: the
		 * next plan is written whole, even if it equals the old. */
		free(nic->written);
		nic->written = NULL;
		ret = xdp_steer_maps_write(&nic->maps, p);
	}
	if (ret < 0) {
		free(p);
		return ret;
	}
	for (unsigned i = 0; i < p->n_addrs; i++)
		shared += (p->addrs[i].flags & XDP_STEER_ADDR_HOST) &&
			  (p->addrs[i].flags & (XDP_STEER_ADDR_GATEWAY | XDP_STEER_ADDR_NAT));
	if (p->conf.vlan[1] != XDP_STEER_VLAN_UNUSED)
		snprintf(second_vlan, sizeof(second_vlan), " and %u", p->conf.vlan[1]);
	if (log)
		printf("portcullisd: %s: XDP steering: %u address(es), %u shared with "
		       "the host, %u forward port(s), listen port %u, VLAN %u%s\n",
		       nic->ifname, p->n_addrs, shared, p->n_fwd, p->conf.listen_port,
		       p->conf.vlan[0], second_vlan);
	nic->written = p;
	return 0;
}

void gateway_xdp_update(struct gateway *gw)
{
	struct gw_xdp *x = gw->xdp;

	for (unsigned i = 0; x && i < x->n_nic; i++) {
		int ret;

		if (x->nic[i].maps.conf < 0)
			continue;              /* before gateway_xdp_start */
		ret = nic_write(gw, &x->nic[i], true);

		/* The old maps stay: traffic keeps flowing as before. */
		if (ret < 0)
			fprintf(stderr, "portcullisd: %s: XDP steering not updated: %s\n",
				x->nic[i].ifname, strerror(-ret));
	}
}

/* --- Neighbours through the kernel --------------------------------------- */

/* The host's address a on the VLAN of port (the same link-local address
 * may be on the NIC and on each VLAN interface over it). */
static const struct xdp_steer_host_addr *host_addr_of(const struct gateway *gw,
						      unsigned port,
						      const struct ip_addr *a)
{
	const struct gw_xdp *x = gw->xdp;
	uint16_t vlan = gw->dp.tables->ports[port].vlan;

	for (unsigned i = 0; i < x->n_nic; i++) {
		const struct xdp_nic *nic = &x->nic[i];

		if (!(nic->port_mask & (1u << port)))
			continue;
		for (unsigned k = 0; k < nic->n_host; k++)
			if (nic->host[k].vlan == vlan && ip_addr_equal(&nic->host[k].addr, a))
				return &nic->host[k];
	}
	return NULL;
}

static bool resolve_via_host(void *ctx, unsigned port, const struct ip_addr *src,
			     const struct ip_addr *ip)
{
	struct gateway *gw = ctx;
	const struct xdp_steer_host_addr *h = host_addr_of(gw, port, src);

	return h && host_neigh_request(gw->xdp->hn, h->ifindex, ip) == 0;
}

/* The kernel resolved ip on ifindex: the logical port whose VLAN that
 * interface carries. */
static void host_learned(void *ctx, int ifindex, const struct ip_addr *ip,
			 const uint8_t mac[6])
{
	struct gateway *gw = ctx;
	const struct gw_xdp *x = gw->xdp;

	for (unsigned i = 0; i < x->n_nic; i++) {
		const struct xdp_nic *nic = &x->nic[i];

		for (unsigned k = 0; k < nic->n_host; k++) {
			if (nic->host[k].ifindex != ifindex)
				continue;
			for (unsigned p = 0; p < PORT_COUNT; p++)
				if ((nic->port_mask & (1u << p)) &&
				    gw->dp.tables->ports[p].vlan == nic->host[k].vlan)
					neigh_host_learned(&gw->ctx, p, ip, mac);
			return;
		}
	}
}

void gateway_xdp_poll(struct gateway *gw)
{
	if (gw->xdp && gw->xdp->hn)
		host_neigh_poll(gw->xdp->hn, host_learned, gw);
}

void gateway_xdp_tick(struct gateway *gw)
{
	struct gw_xdp *x = gw->xdp;
	bool changed = false;

	if (x == NULL || gw->ctx.now < x->next_scan)
		return;
	x->next_scan = gw->ctx.now + XDP_HOST_SCAN_S * NSEC_PER_SEC;
	for (unsigned i = 0; i < x->n_nic; i++)
		changed |= host_scan(&x->nic[i]);
	if (changed)
		gateway_xdp_update(gw);
}

/* --- Start and stop ------------------------------------------------------ */

/*
 * A NIC with rx-vlan-offload takes the tag off into its descriptor, where
 * neither the XDP program nor the AF_XDP socket sees it: a tagged private
 * frame would look like a public one.  So on a NIC that carries a VLAN of
 * ours it is turned off (the kernel's own VLAN interfaces untag in
 * software).  Failing that, the operator is told what to run.
 */
/* One SIOCETHTOOL request (cmd: an ethtool struct, its command set) on
 * ifname; 0 or -errno. */
static int ethtool(const char *ifname, void *cmd)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void rx_vlan_offload_off(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GFLAGS };
	int err;

	if (ethtool(ifname, &ev) < 0 || !(ev.data & ETH_FLAG_RXVLAN))
		return;                        /* off already, or not a setting */
	ev.cmd = ETHTOOL_SFLAGS;
	ev.data &= ~(uint32_t)ETH_FLAG_RXVLAN;
	err = -ethtool(ifname, &ev);
	if (err == 0)
		printf("portcullisd: %s: rx-vlan-offload turned off, so that XDP sees "
		       "VLAN tags\n", ifname);
	else
		fprintf(stderr, "portcullisd: %s: cannot turn rx-vlan-offload off (%s); "
			"tagged frames may be taken for untagged: run 'ethtool -K %s "
			"rxvlan off'\n", ifname, strerror(err), ifname);
}

static bool wants_steering(const char *device)
{
	return strncmp(device, "net_af_xdp", 10) == 0 && strstr(device, "xdp_prog=") == NULL;
}

int gateway_xdp_device(struct gateway *gw, unsigned port, const char *device, char *out,
		       size_t outlen, char *err, size_t errlen)
{
	struct xdp_nic *nic;
	char path[64], why[256];
	int ret;

	snprintf(out, outlen, "%s", device);
	if (!wants_steering(device))
		return 0;
	if (gw->cfg->ports[PORT_PUBLIC].host_iface[0] && (port == PORT_PUBLIC ||
							  config_ports_shared(gw->cfg))) {
		snprintf(err, errlen, "HostInterface is full PMD mode's exception path; "
			 "with net_af_xdp the host keeps its traffic through XDP steering "
			 "(drop HostInterface, or give the Device an xdp_prog= of your own)");
		return -EINVAL;
	}
	if (strlen(device) + strlen(",xdp_prog=/proc/self/fd/") + 11 > outlen) {
		snprintf(err, errlen, "Device too long for XDP steering");
		return -ENAMETOOLONG;
	}
	if (gw->xdp == NULL && (gw->xdp = calloc(1, sizeof(*gw->xdp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nic = &gw->xdp->nic[gw->xdp->n_nic];
	*nic = (struct xdp_nic){ .memfd = -1, .maps = { -1, -1, -1, -1 } };
	nic->port_mask = 1u << port;
	if (port == PORT_PUBLIC && config_ports_shared(gw->cfg))
		nic->port_mask |= 1u << PORT_PRIVATE;
	if ((ret = host_ports_device_iface(device, nic->ifname, sizeof(nic->ifname))) < 0) {
		snprintf(err, errlen, "no iface= in the Device, for XDP steering");
		return -ENODEV;
	}
	if ((nic->ifindex = (int)if_nametoindex(nic->ifname)) == 0) {
		snprintf(err, errlen, "no interface %s for XDP steering", nic->ifname);
		return -ENODEV;
	}
	/* One program per interface: a second Device string on the same NIC
	 * (other queues) would replace the first one's program. */
	for (unsigned i = 0; i < gw->xdp->n_nic; i++)
		if (gw->xdp->nic[i].ifindex == nic->ifindex) {
			snprintf(err, errlen, "%s already carries the other port: to use one "
				 "NIC for both, give both [Port]s the same Device and "
				 "different VLANs", nic->ifname);
			return -EEXIST;
		}
	if ((ret = xdp_steer_clear_leftover(nic->ifindex, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "%s: %s", nic->ifname, why);
		return ret;
	}
	if (ret == 1)
		printf("portcullisd: %s: removed the XDP program an earlier run left "
		       "attached\n", nic->ifname);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if ((nic->port_mask & (1u << p)) && gw->cfg->ports[p].vlan) {
			rx_vlan_offload_off(nic->ifname);
			break;
		}
	if ((nic->memfd = xdp_steer_object_memfd(path, sizeof(path))) < 0) {
		snprintf(err, errlen, "cannot hold the XDP program: %s", strerror(-nic->memfd));
		return nic->memfd;
	}
	gw->xdp->n_nic++;
	snprintf(out, outlen, "%s,xdp_prog=%s", device, path);
	printf("portcullisd: port %s: XDP steering on %s: the host keeps what is not "
	       "the gateway's\n", config_port_names[port], nic->ifname);
	return 0;
}

/*
 * The program redirects to the socket of the queue a frame arrived on;
 * the gateway has sockets on its first n_queues queues.  A NIC with more
 * queues spreads flows over all of them (RSS), and the gateway's frames
 * that land on the others reach the kernel (xdp_no_socket).  Say so at
 * start-up, with the fix.
 */
static void queue_check(const struct xdp_nic *nic, const char *device, unsigned n_queues)
{
	const char *sq = strstr(device, "start_queue=");
	unsigned start = sq ? (unsigned)strtoul(sq + 12, NULL, 10) : 0;
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	unsigned nic_queues;

	if (ethtool(nic->ifname, &ch) < 0)
		return;                        /* a NIC without channels */
	nic_queues = ch.combined_count + ch.rx_count;
	if (nic_queues <= n_queues && start == 0)
		return;
	fprintf(stderr, "portcullisd: warning: %s has %u RX queues and the gateway reads "
		"%u-%u: what RSS puts on the others is dropped (xdp_no_socket); spread "
		"RSS over those only ('ethtool -X %s start %u equal %u'", nic->ifname,
		nic_queues, start, start + n_queues - 1, nic->ifname, start, n_queues);
	if (start == 0)
		fprintf(stderr, ", or 'ethtool -L %s combined %u'", nic->ifname, n_queues);
	fprintf(stderr, "), or give the Device queue_count=%u and as many workers\n",
		nic_queues);
}

static int nic_start(struct xdp_nic *nic, char *err, size_t errlen)
{
	int ours, fd = xdp_steer_attached(nic->ifindex, &ours), ret;

	close(nic->memfd);                     /* net_af_xdp has loaded it */
	nic->memfd = -1;
	if (fd < 0 || !ours) {
		snprintf(err, errlen, "%s: the steering program is not attached after the "
			 "port opened (%s)", nic->ifname, fd < 0 ? strerror(-fd) : "another is");
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	ret = xdp_steer_maps_find(fd, &nic->maps);
	close(fd);
	if (ret < 0)
		snprintf(err, errlen, "%s: the steering program's maps: %s", nic->ifname,
			 strerror(-ret));
	return ret;
}

int gateway_xdp_start(struct gateway *gw, char *err, size_t errlen)
{
	struct gw_xdp *x = gw->xdp;
	int ret;

	if (x == NULL)
		return 0;
	for (unsigned i = 0; i < x->n_nic; i++) {
		if ((ret = nic_start(&x->nic[i], err, errlen)) < 0)
			return ret;
		queue_check(&x->nic[i], gw->cfg->ports[__builtin_ctz(x->nic[i].port_mask)].device,
			    gw->dp.rx_queues);
		host_scan(&x->nic[i]);
		if ((ret = nic_write(gw, &x->nic[i], true)) < 0) {
			snprintf(err, errlen, "%s: cannot fill the XDP steering maps: %s",
				 x->nic[i].ifname, strerror(-ret));
			return ret;
		}
	}
	x->next_scan = gw->ctx.now + XDP_HOST_SCAN_S * NSEC_PER_SEC;
	if ((x->hn = host_neigh_open(&ret)) == NULL) {
		snprintf(err, errlen, "cannot read the kernel's neighbours: %s", strerror(-ret));
		return ret;
	}
	x->ops = (struct neigh_host_ops){ .resolve = resolve_via_host, .ctx = gw };
	neigh_host_ops_set(gw->dp.neigh, &x->ops);
	return 0;
}

int gateway_xdp_stats(const struct gateway *gw, unsigned i, const char **ifname,
		      uint64_t out[])
{
	if (gw->xdp == NULL || i >= gw->xdp->n_nic)
		return -ENOENT;
	*ifname = gw->xdp->nic[i].ifname;
	return xdp_steer_stats_read(&gw->xdp->nic[i].maps, out);
}

const char *const gateway_xdp_counter_names[XDP_STEER_COUNTERS] = {
	[XDP_STEER_TO_GATEWAY] = "to_gateway",
	[XDP_STEER_TO_HOST] = "to_host",
	[XDP_STEER_NOT_READY] = "not_ready",
	[XDP_STEER_NO_SOCKET] = "no_socket",
};

void gateway_xdp_stats_print(const struct gateway *gw, FILE *f)
{
	uint64_t sum[XDP_STEER_COUNTERS] = { 0 }, one[XDP_STEER_COUNTERS];
	const char *ifname;
	unsigned i;
	int ret;

	for (i = 0; (ret = gateway_xdp_stats(gw, i, &ifname, one)) != -ENOENT; i++)
		for (unsigned k = 0; ret == 0 && k < XDP_STEER_COUNTERS; k++)
			sum[k] += one[k];
	for (unsigned k = 0; i > 0 && k < XDP_STEER_COUNTERS; k++)
		fprintf(f, "stat xdp_%s %lu\n", gateway_xdp_counter_names[k], sum[k]);
}

void gateway_xdp_stop(struct gateway *gw)
{
	struct gw_xdp *x = gw->xdp;
	char why[256];

	if (x == NULL)
		return;
	if (gw->dp.neigh)
		neigh_host_ops_set(gw->dp.neigh, NULL);
	for (unsigned i = 0; i < x->n_nic; i++) {
		struct xdp_nic *nic = &x->nic[i];

		xdp_steer_maps_close(&nic->maps);
		if (nic->memfd >= 0)
			close(nic->memfd);
		/* net_af_xdp detached it when the port closed; if not, do. */
		if (xdp_steer_clear_leftover(nic->ifindex, why, sizeof(why)) == 1)
			printf("portcullisd: %s: XDP program detached\n", nic->ifname);
		free(nic->written);
	}
	host_neigh_close(x->hn);
	free(x);
	gw->xdp = NULL;
}
