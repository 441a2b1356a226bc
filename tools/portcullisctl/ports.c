/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl ports: one table of what each port is (as `ip -br link`
 * and `ethtool` would say), one of its NIC counters (`ip -s link`), one of
 * its routes (`ip route`).  With AF_XDP steering on a port, the first
 * table has an XDP_STEERING column: the kernel interface whose steering
 * program feeds the port ("-" for a port without); without steering
 * anywhere, no such column.
 */
#include <errno.h>
#include <string.h>

#include "portcullisctl.h"
#include "table.h"

int ports_request(int argc, char **argv, struct ctl_call *c, char *why,
		  size_t n)
{
	ctl_req_init(&c->req, "ports");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col port_cols[] = {
	{ "NAME" }, { "PORT", true }, { "DEVICE" }, { "DRIVER" }, { "LINK" },
	{ "SPEED", true }, { "DUPLEX" }, { "MAC" }, { "MTU", true },
	{ "VLAN", true }, { "ADDRESSES" },
};
#define N_PORT_COLS (sizeof(port_cols) / sizeof(port_cols[0]))

static const struct table_col port_cols_xdp[N_PORT_COLS + 1] = {
	{ "NAME" }, { "PORT", true }, { "DEVICE" }, { "DRIVER" },
	{ "XDP_STEERING" }, { "LINK" }, { "SPEED", true }, { "DUPLEX" },
	{ "MAC" }, { "MTU", true }, { "VLAN", true }, { "ADDRESSES" },
};

static const struct table_col stat_cols[] = {
	{ "NAME" }, { "RX_PACKETS", true }, { "RX_BYTES", true },
	{ "RX_DROPPED", true }, { "RX_ERRORS", true }, { "TX_PACKETS", true },
	{ "TX_BYTES", true }, { "TX_ERRORS", true },
};

static const struct table_col route_cols[] = {
	{ "PORT" }, { "DESTINATION" }, { "VIA" },
};

/* LINK, SPEED, DUPLEX: speed and duplex mean nothing on a link that is
 * down, so they print as "-" there, as ethtool's "Unknown!". */
static void add_link(struct table *t, const json_t *link)
{
	const json_t *up = json_object_get(link, "up");
	const json_t *speed = json_object_get(link, "speed_mbps");
	const json_t *duplex = json_object_get(link, "full_duplex");

	if (!json_is_boolean(up)) {
		table_add(t, "?");
		table_add(t, "?");
		table_add(t, "?");
		return;
	}
	table_add(t, json_is_true(up) ? "up" : "down");
	if (json_is_true(up) && json_is_integer(speed) &&
	    json_integer_value(speed) > 0)
		table_addf(t, "%" JSON_INTEGER_FORMAT "Mb/s",
			   json_integer_value(speed));
	else
		table_add(t, "-");
	if (json_is_true(up) && json_is_boolean(duplex))
		table_add(t, json_is_true(duplex) ? "full" : "half");
	else
		table_add(t, "-");
}

/* The addresses, comma-separated ("-" for none). */
static void add_addresses(struct table *t, const json_t *addrs)
{
	char buf[1024] = "";
	size_t off = 0, i;
	const json_t *a;

	json_array_foreach(addrs, i, a) {
		if (json_is_string(a) && off < sizeof(buf))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						"%s%s", off ? "," : "",
						json_string_value(a));
	}
	table_add(t, buf[0] ? buf : "-");
}

/* Is AF_XDP steering on for any port of the reply? */
static bool any_xdp(const json_t *ports)
{
	const json_t *p;
	size_t i;

	json_array_foreach(ports, i, p)
		if (json_is_string(json_object_get(p, "xdp_steering")))
			return true;
	return false;
}

static void add_port(struct table *t, const json_t *p, bool xdp)
{
	const json_t *vlan = json_object_get(p, "vlan");

	table_add_member(t, p, "name", 0);
	table_add_member(t, p, "dpdk_port", 0);
	table_add_member(t, p, "device", 0);
	table_add_member(t, p, "driver", 0);
	if (xdp)
		table_add_member(t, p, "xdp_steering", 0);   /* null: "-" */
	add_link(t, json_object_get(p, "link"));
	table_add_member(t, p, "mac", 0);
	table_add_member(t, p, "mtu", 0);
	if (json_is_integer(vlan) && json_integer_value(vlan) == 0)
		table_add(t, "-");              /* untagged */
	else
		table_add_json(t, vlan, 0);
	add_addresses(t, json_object_get(p, "addresses"));
}

static void add_stats(struct table *t, const json_t *p, unsigned human)
{
	table_add_member(t, p, "name", 0);
	table_add_member(t, p, "rx_packets", 0);
	table_add_member(t, p, "rx_bytes", TABLE_BYTES | human);
	table_add_member(t, p, "rx_dropped", 0);
	table_add_member(t, p, "rx_errors", 0);
	table_add_member(t, p, "tx_packets", 0);
	table_add_member(t, p, "tx_bytes", TABLE_BYTES | human);
	table_add_member(t, p, "tx_errors", 0);
}

static void add_routes(struct table *t, const json_t *p)
{
	const json_t *r;
	size_t i;

	json_array_foreach(json_object_get(p, "routes"), i, r) {
		table_add_member(t, p, "name", 0);
		table_add_member(t, r, "dst", 0);
		table_add_member(t, r, "via", 0);
	}
}

int ports_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *ports = json_object_get(reply, "ports"), *p;
	bool xdp = any_xdp(ports);
	struct table *t[3] = {
		xdp ? table_create(port_cols_xdp, N_PORT_COLS + 1)
		    : table_create(port_cols, N_PORT_COLS),
		table_create(stat_cols, sizeof(stat_cols) / sizeof(stat_cols[0])),
		table_create(route_cols, sizeof(route_cols) / sizeof(route_cols[0])),
	};
	int ret = -ENOMEM;
	size_t i;

	if (!json_is_array(ports)) {
		ret = -EPROTO;
		goto out;
	}
	if (!t[0] || !t[1] || !t[2])
		goto out;
	json_array_foreach(ports, i, p) {
		add_port(t[0], p, xdp);
		add_stats(t[1], p, o->human ? TABLE_HUMAN : 0);
		add_routes(t[2], p);
	}
	/* All or nothing: no half output after an allocation failure. */
	if (table_failed(t[0]) || table_failed(t[1]) || table_failed(t[2]))
		goto out;
	ret = table_print(t[0], out);
	for (i = 1; i < 3 && ret == 0; i++) {
		fputc('\n', out);
		ret = table_print(t[i], out);
	}
out:
	for (i = 0; i < 3; i++)
		table_destroy(t[i]);
	return ret;
}
