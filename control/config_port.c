/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [Port public] and [Port private] sections of the config: their key
 * table and one small parser per key (Device, Address, Gateway, VLAN, MTU,
 * Route, HostInterface).  p->port is the section being read.
 *
 * As in config_keys.c, every handler gets a trimmed, NUL-terminated value
 * it may modify and returns 0 or the result of config_bad().
 */
/* strtok_r, strdup: the build passes -D_GNU_SOURCE, but the one-line fuzz
 * build does not. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"

const char *const config_port_names[PORT_COUNT] = { "public", "private" };

enum {
	PORT_MTU_MIN = 576,
	PORT_MTU_MAX = 9000,
	VLAN_MAX = 4094,
};

/* DPDK device arguments ("net_af_xdp0,iface=eth0,queue_count=2") contain
 * commas and '=', so the value is taken whole; only spaces and control
 * characters are refused, as rte_devargs would choke on them. */
static int port_device(struct config_parser *p, const struct config_key *key,
		       char *value)
{
	for (const char *c = value; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return config_bad(p, "bad %s %s", key->name,
					  config_quote(p, value));
	p->port->device = strdup(value);
	if (!p->port->device)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	return 0;
}

/* HostInterface = NAME: a Linux interface name (IFNAMSIZ, and the
 * characters that need no quoting in a vdev string or a shell). */
static int port_host_iface(struct config_parser *p, const struct config_key *key,
			   char *value)
{
	size_t n = strlen(value);

	if (p->port != &p->cfg->ports[PORT_PUBLIC])
		return config_bad(p, "%s is only for [Port public]", key->name);
	if (n == 0 || n >= sizeof(p->port->host_iface))
		return config_bad(p, "bad %s %s (1 to %zu characters)", key->name,
				  config_quote(p, value), sizeof(p->port->host_iface) - 1);
	for (const char *c = value; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return config_bad(p, "bad %s %s (letters, digits, '_', '-', '.')",
					  key->name, config_quote(p, value));
	memcpy(p->port->host_iface, value, n + 1);
	return 0;
}

static int port_address_item(struct config_parser *p,
			     const struct config_key *key, char *item)
{
	return config_prefix_add(p, key, item, p->port->addresses,
				 &p->port->n_addresses, true);
}

static int port_address(struct config_parser *p, const struct config_key *key,
			char *value)
{
	return config_list_for_each(p, key, value, port_address_item);
}

static int port_gateway_item(struct config_parser *p,
			     const struct config_key *key, char *item)
{
	struct ip_addr a;
	struct ip_addr *slot;

	if (config_addr_parse(item, &a) != 0)
		return config_bad(p, "bad %s %s", key->name, config_quote(p, item));
	slot = a.family == IP_V4 ? &p->port->gateway4 : &p->port->gateway6;
	if (slot->family != IP_NONE)
		return config_bad(p, "duplicate IPv%u %s %s (one per family)",
				  a.family, key->name, config_quote(p, item));
	*slot = a;
	return 0;
}

static int port_gateway(struct config_parser *p, const struct config_key *key,
			char *value)
{
	return config_list_for_each(p, key, value, port_gateway_item);
}

static int port_vlan(struct config_parser *p, const struct config_key *key,
		     char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, 1, VLAN_MAX, &v);

	if (ret == 0)
		p->port->vlan = (uint16_t)v;
	return ret;
}

static int port_mtu(struct config_parser *p, const struct config_key *key,
		    char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, PORT_MTU_MIN,
				      PORT_MTU_MAX, &v);

	if (ret == 0)
		p->port->mtu = (uint16_t)v;
	return ret;
}

/* "10.1.0.0/16 via 10.0.0.1".  Unlike AllowedIPs, host bits in the
 * destination are refused, as `ip route` does: a route is written by hand
 * and a stray host bit usually means a typo in the prefix length. */
static int parse_route(struct config_parser *p, char *item, const char *q,
		       struct config_route *r)
{
	char *save = NULL, *dst, *via, *gw;
	struct ip_prefix masked;

	dst = strtok_r(item, " \t", &save);
	via = strtok_r(NULL, " \t", &save);
	gw = strtok_r(NULL, " \t", &save);
	if (!dst || !via || !gw || strtok_r(NULL, " \t", &save) ||
	    strcasecmp(via, "via") != 0)
		return config_bad(p, "bad Route %s (expected 'prefix via address')", q);
	if (config_prefix_parse(dst, &r->dst) != 0)
		return config_bad(p, "bad Route %s (bad destination)", q);
	masked = r->dst;
	config_prefix_mask(&masked);
	if (!ip_addr_equal(&masked.addr, &r->dst.addr))
		return config_bad(p, "bad Route %s (host bits set in destination)", q);
	if (config_addr_parse(gw, &r->via) != 0)
		return config_bad(p, "bad Route %s (bad via address)", q);
	if (r->via.family != r->dst.addr.family)
		return config_bad(p, "bad Route %s (via must be the same family as the destination)",
				  q);
	return 0;
}

static int port_route_item(struct config_parser *p,
			   const struct config_key *key, char *item)
{
	struct config_port *port = p->port;
	struct config_route r;
	void *arr = port->routes;
	int ret;

	ret = parse_route(p, item, config_quote(p, item), &r);
	if (ret != 0)
		return ret;
	if (port->n_routes >= CONFIG_MAX_ROUTES)
		return config_bad(p, "too many %s entries (max %d)", key->name,
				  CONFIG_MAX_ROUTES);
	if (config_array_reserve(&arr, port->n_routes, sizeof(r)) != 0)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	port->routes = arr;
	port->routes[port->n_routes++] = r;
	return 0;
}

static int port_route(struct config_parser *p, const struct config_key *key,
		      char *value)
{
	return config_list_for_each(p, key, value, port_route_item);
}

/* --- the key table ---------------------------------------------------------- */

const struct config_key config_port_keys[] = {
	{ "Device", SECTION_PORT, 0, port_device },
	{ "Address", SECTION_PORT, KEY_REPEATABLE, port_address },
	{ "Gateway", SECTION_PORT, KEY_REPEATABLE, port_gateway },
	{ "VLAN", SECTION_PORT, 0, port_vlan },
	{ "MTU", SECTION_PORT, 0, port_mtu },
	{ "Route", SECTION_PORT, KEY_REPEATABLE, port_route },
	{ "HostInterface", SECTION_PORT, 0, port_host_iface },
};

#define N_PORT_KEYS (sizeof(config_port_keys) / sizeof(config_port_keys[0]))

const size_t config_port_n_keys = N_PORT_KEYS;

_Static_assert(N_PORT_KEYS <= CONFIG_KEY_SLOTS,
	       "config_parser.seen is too small for the [Port] key table");
