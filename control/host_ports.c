/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host's ephemeral ports against [NAT] PortRange on a shared public
 * address (see host_ports.h).  Pure except host_ports_iface_has_addr and
 * host_ports_check_host, which read the running system.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "host_ports.h"

/* The vdevs whose iface= names an existing kernel interface that keeps its
 * addresses.  net_tap is not one: its iface= is a TAP it creates. */
static const char *const kernel_vdevs[] = {
	"net_af_xdp", "net_af_packet", "eth_af_packet",
};

static bool is_kernel_vdev(const char *device)
{
	for (size_t i = 0; i < sizeof(kernel_vdevs) / sizeof(kernel_vdevs[0]); i++)
		if (strncmp(device, kernel_vdevs[i], strlen(kernel_vdevs[i])) == 0)
			return true;
	return false;
}

int host_ports_device_iface(const char *device, char *out, size_t len)
{
	const char *arg, *end;
	size_t n;

	if (!is_kernel_vdev(device))
		return -ENOENT;
	/* Arguments follow the driver name, each after a ','; "iface" may
	 * appear anywhere among them (DPDK's kvargs take any order). */
	for (arg = strchr(device, ','); arg; arg = strchr(arg + 1, ','))
		if (strncmp(arg + 1, "iface=", 6) == 0)
			break;
	if (arg == NULL)
		return -ENOENT;
	arg += 1 + 6;
	end = strchr(arg, ',');
	n = end ? (size_t)(end - arg) : strlen(arg);
	if (n == 0)
		return -ENOENT;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(out, arg, n);
	out[n] = '\0';
	return 0;
}

/* One decimal port, 0-65535, moving *s past it. */
static int port_parse(const char **s, uint16_t *out)
{
	unsigned long v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	*out = (uint16_t)v;
	*s = p;
	return 0;
}

int host_ports_range_parse(const char *text, struct host_port_range *out)
{
	const char *p = text;
	struct host_port_range r;

	while (*p == ' ' || *p == '\t')
		p++;
	if (port_parse(&p, &r.min) < 0 || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (port_parse(&p, &r.max) < 0)
		return -EINVAL;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '\0' || r.min > r.max)
		return -EINVAL;
	*out = r;
	return 0;
}

bool host_ports_overlap(const struct host_port_range *a,
			const struct host_port_range *b)
{
	return a->min <= b->max && b->min <= a->max;
}

bool host_ports_nat_address(const struct config *cfg, struct ip_addr *out)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];

	/* Only Masquerade makes dynamic mappings (dataplane/nat.c); forwards
	 * use the ports they name and are the operator's choice. */
	if (!cfg->nat.enabled || cfg->nat.n_masquerade == 0)
		return false;
	if (cfg->nat.external.family == IP_V4) {
		*out = cfg->nat.external;
		return true;
	}
	for (size_t i = 0; pub->present && i < pub->n_addresses; i++)
		if (pub->addresses[i].addr.family == IP_V4) {
			*out = pub->addresses[i].addr;
			return true;
		}
	return false;
}

/* The larger part of [lo, hi] outside avoid; false when none is left.
 * Ties go to the lower part, which keeps the NAT below the kernel's
 * default range (32768-60999) as in the usual advice. */
static bool widest_outside(uint32_t lo, uint32_t hi, const struct host_port_range *avoid,
			   struct host_port_range *out)
{
	struct host_port_range below = { 0, 0 }, above = { 0, 0 };
	uint32_t n_below = 0, n_above = 0;

	if (avoid->min > lo) {
		below = (struct host_port_range){ (uint16_t)lo,
			(uint16_t)(avoid->min - 1u < hi ? avoid->min - 1u : hi) };
		n_below = below.max - below.min + 1u;
	}
	if (avoid->max < hi) {
		above = (struct host_port_range){
			(uint16_t)(avoid->max + 1u > lo ? avoid->max + 1u : lo), (uint16_t)hi };
		n_above = above.max - above.min + 1u;
	}
	if (n_below == 0 && n_above == 0)
		return false;
	*out = n_below >= n_above ? below : above;
	return true;
}

void host_ports_conflict_format(char *err, size_t errlen,
				const struct host_port_range *nat,
				const struct host_port_range *host,
				const char *addr)
{
	struct host_port_range new_nat, new_host;
	bool has_nat, has_host;
	int n;

	/* A PortRange the NAT can move to: what is left of its own range,
	 * else the unprivileged ports the host does not use.  A host range
	 * the host can move to: the unprivileged ports the NAT leaves free. */
	has_nat = widest_outside(nat->min, nat->max, host, &new_nat) ||
		  widest_outside(1024, 65535, host, &new_nat);
	has_host = widest_outside(1024, 65535, nat, &new_host);
	n = snprintf(err, errlen, "[NAT] PortRange %u-%u overlaps the host's "
		     "ip_local_port_range %u-%u (the host shares %s): ",
		     nat->min, nat->max, host->min, host->max, addr);
	if (n < 0 || (size_t)n >= errlen)
		return;
	err += n;
	errlen -= (size_t)n;
	if (has_nat && has_host)
		snprintf(err, errlen, "use PortRange = %u-%u, or sysctl -w "
			 "net.ipv4.ip_local_port_range=\"%u %u\"", new_nat.min,
			 new_nat.max, new_host.min, new_host.max);
	else if (has_nat)
		snprintf(err, errlen, "use PortRange = %u-%u", new_nat.min, new_nat.max);
	else if (has_host)
		snprintf(err, errlen, "use sysctl -w net.ipv4.ip_local_port_range=\"%u %u\"",
			 new_host.min, new_host.max);
	else
		snprintf(err, errlen, "narrow both so they do not meet");
}

bool host_ports_iface_has_addr(const char *ifname, const struct ip_addr *a,
			       int *err_out)
{
	struct ifaddrs *list, *ifa;
	bool found = false;

	*err_out = 0;
	if (getifaddrs(&list) < 0) {
		*err_out = -errno;
		return false;
	}
	for (ifa = list; ifa && !found; ifa = ifa->ifa_next) {
		const struct sockaddr_in *sin = (const void *)ifa->ifa_addr;

		if (sin == NULL || sin->sin_family != AF_INET || strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		found = a->family == IP_V4 && memcmp(&sin->sin_addr, a->bytes, 4) == 0;
	}
	freeifaddrs(list);
	return found;
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;
	int ret;

	if (f == NULL)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	buf[n] = '\0';
	return ret;
}

static int read_range(const char *path, struct host_port_range *out)
{
	char buf[64];
	int ret = read_text(path, buf, sizeof(buf));

	return ret < 0 ? ret : host_ports_range_parse(buf, out);
}

/*
 * Does the host share address a of [Port public] pub with the gateway?
 * ifname: the interface that makes it so.  1 yes, 0 no, -errno when the
 * host's addresses cannot be listed.
 */
static int addr_shared(const struct config_port *pub, const struct ip_addr *a,
		       char *ifname, size_t len)
{
	int err = 0;

	if (pub->host_iface[0]) {
		/* Full PMD mode: the host's addresses go on the exception TAP,
		 * which the daemon has not created yet, and the host's traffic
		 * reaches it through the gateway: count the address as shared. */
		snprintf(ifname, len, "%s", pub->host_iface);
		return 1;
	}
	if (host_ports_device_iface(pub->device, ifname, len) < 0)
		return 0;
	return host_ports_iface_has_addr(ifname, a, &err) ? 1 : err;
}

int host_ports_reserved_has(const char *text, uint16_t port)
{
	const char *p = text;
	int found = 0;

	while (*p && *p != '\n') {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || lo > 65535)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi > 65535 || hi < lo)
				return -EINVAL;
		}
		found |= port >= lo && port <= hi;
		p = end;
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return found;
}


/* Does the host have the first IPv4 [Port public] address (where
 * WireGuard is usually reached)? */
static bool public_shared(const struct config *cfg, char *ifname, size_t len,
			  struct ip_addr *addr)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];

	for (size_t i = 0; i < pub->n_addresses; i++) {
		if (pub->addresses[i].addr.family != IP_V4)
			continue;
		*addr = pub->addresses[i].addr;
		return addr_shared(pub, addr, ifname, len) > 0;
	}
	return false;
}

bool host_ports_listen_warning(const struct config *cfg, const char *proc_range,
			       const char *proc_reserved, char *msg, size_t len)
{
	uint16_t port = cfg->iface.listen_port;
	char ifname[HOST_PORTS_IFNAMSIZ], text[4096], addr[64];
	struct host_port_range host;
	struct ip_addr a;

	if (!cfg->ports[PORT_PUBLIC].present || port == 0 ||
	    !public_shared(cfg, ifname, sizeof(ifname), &a) ||
	    read_range(proc_range, &host) < 0 || port < host.min || port > host.max ||
	    read_text(proc_reserved, text, sizeof(text)) < 0 ||
	    host_ports_reserved_has(text, port) != 0)
		return false;
	config_addr_format(addr, sizeof(addr), &a);
	snprintf(msg, len, "ListenPort %u is inside the host's ip_local_port_range "
		 "(%u-%u) on the shared address %s on %s: reserve it, or the host may "
		 "use it for a connection of its own whose replies would reach the "
		 "gateway: sysctl -w net.ipv4.ip_local_reserved_ports=%u (and in "
		 "/etc/sysctl.d/)", port, host.min, host.max, addr, ifname, port);
	return true;
}

int host_ports_check_host(const struct config *cfg, const char *proc_range,
			  char *err, size_t errlen)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];
	struct host_port_range nat, host;
	char ifname[HOST_PORTS_IFNAMSIZ], addr[64], msg[CONFIG_ERR_LEN];
	struct ip_addr ext;
	int ret;

	if (!pub->present || !host_ports_nat_address(cfg, &ext))
		return 0;
	if ((ret = addr_shared(pub, &ext, ifname, sizeof(ifname))) <= 0) {
		if (ret < 0)
			snprintf(err, errlen, "cannot list the host's addresses: %s",
				 strerror(-ret));
		return ret;
	}
	config_addr_format(addr, sizeof(addr), &ext);
	ret = read_range(proc_range, &host);
	if (ret < 0) {
		snprintf(err, errlen, "%s: the host shares %s on %s, and its %s cannot be "
			 "read: %s", cfg->path, addr, ifname, proc_range, strerror(-ret));
		return ret;
	}
	nat = (struct host_port_range){ cfg->nat.port_min, cfg->nat.port_max };
	if (!host_ports_overlap(&nat, &host))
		return 0;
	snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr), " on %s", ifname);
	host_ports_conflict_format(msg, sizeof(msg), &nat, &host, addr);
	snprintf(err, errlen, "%s: %s", cfg->path, msg);
	return -EADDRINUSE;
}
