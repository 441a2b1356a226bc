/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway CLI socket: /var/run/portcullis/<ifname>.sock, served by
 * the control thread through sock_server, one JSON object per request
 * (ctl_proto.h is the contract with portcullisctl).  One small handler
 * per command, in a table, as wireguard-tools lays out its subcommands;
 * the NAT session and forward handlers are in ctl_nat.c.
 *
 * Everything runs on the control thread, the only writer of the published
 * tables and the config, so handlers read them without an RCU read
 * section.  Per-lcore counters are summed with plain 64-bit loads (a
 * packet behind at worst, never torn).  Changes (forward-add/-remove,
 * reload) go through gateway_apply, the one path of every live change.
 *
 * Handlers validate and act first and write only once nothing can fail,
 * so a reply is either the whole answer or {"error":...} alone.  Only
 * public keys are ever written: no handler reads a private or preshared
 * key.
 */
#include "ctl.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "allowedips.h"
#include "ctl_internal.h"
#include "ctl_proto.h"
#include "gateway.h"
#include "host_ports.h"
#include "jsonw.h"
#include "neigh.h"
#include "portcullis/xdp_steer.h"
#include "sock_server.h"
#include "tunnel.h"

enum { SHOWN_MAX = 48 };                /* characters of a value echoed */


struct ctl_cmd {
	const char *name;
	const char *const *args;            /* allowed keys, NULL-ended */
	ctl_handler_fn fn;
};

/* A client's value in a message: shortened (the reply is one line; the
 * JSON writer escapes what needs it). */
static const char *shown(char out[SHOWN_MAX + 4], const char *v)
{
	snprintf(out, SHOWN_MAX + 4, "%.*s%s", SHOWN_MAX, v,
		 strlen(v) > SHOWN_MAX ? "..." : "");
	return out;
}

int ctl_bad_arg(char *err, size_t errlen, const char *key, const char *v,
		const char *want)
{
	char s[SHOWN_MAX + 4];

	snprintf(err, errlen, "bad %s '%s' (%s)", key, shown(s, v), want);
	return -EINVAL;
}

/* --- AF_XDP steering ---------------------------------------------------- */

/* The steering program's counters on each NIC it is attached to (none
 * when steering is off), read before a reply is written: a handler writes
 * only once nothing can fail. */
struct xdp_counts {
	unsigned n;
	struct {
		const char *ifname;         /* NULL: not known */
		int ret;                    /* 0, or -errno: no counters */
		uint64_t v[XDP_STEER_COUNTERS];
	} nic[PORT_COUNT];
};

static void xdp_counts_read(const struct gateway *gw, struct xdp_counts *x)
{
	int ret;

	for (x->n = 0; x->n < PORT_COUNT; x->n++) {
		x->nic[x->n].ifname = NULL;
		ret = gateway_xdp_stats(gw, x->n, &x->nic[x->n].ifname, x->nic[x->n].v);
		if (ret == -ENOENT)
			break;
		x->nic[x->n].ret = ret;
	}
}

/* The NIC whose steering program feeds port p (NULL: none).  A port is
 * matched by the kernel interface of its Device; public and private on
 * one NIC (the same Device) share it. */
static const char *xdp_iface(const struct gateway *gw, const struct xdp_counts *x,
			     unsigned p)
{
	char iface[HOST_PORTS_IFNAMSIZ];

	if (host_ports_device_iface(gw->cfg->ports[p].device, iface, sizeof(iface)) < 0)
		return NULL;
	for (unsigned i = 0; i < x->n; i++)
		if (x->nic[i].ifname && strcmp(x->nic[i].ifname, iface) == 0)
			return x->nic[i].ifname;
	return NULL;
}

/* "xdp":{"eth0":{"to_gateway":N,...}}, only with steering; a NIC whose
 * counters could not be read is null. */
static void write_xdp(struct jsonw *w, const struct xdp_counts *x)
{
	if (x->n == 0)
		return;
	jsonw_key(w, "xdp");
	jsonw_object_begin(w);
	for (unsigned i = 0; i < x->n; i++) {
		if (x->nic[i].ifname == NULL)
			continue;
		jsonw_key(w, x->nic[i].ifname);
		if (x->nic[i].ret < 0) {
			jsonw_null(w);
			continue;
		}
		jsonw_object_begin(w);
		for (unsigned k = 0; k < XDP_STEER_COUNTERS; k++)
			jsonw_kv_u64(w, gateway_xdp_counter_names[k], x->nic[i].v[k]);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}

/* --- ports -------------------------------------------------------------- */

static void write_link(struct jsonw *w, uint16_t port_id)
{
	struct rte_eth_link link;

	jsonw_key(w, "link");
	jsonw_object_begin(w);
	if (rte_eth_link_get_nowait(port_id, &link) != 0)
		memset(&link, 0, sizeof(link));
	jsonw_kv_bool(w, "up", link.link_status == RTE_ETH_LINK_UP);
	/* A virtual device may not know its speed. */
	if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
		jsonw_kv_null(w, "speed_mbps");
	else
		jsonw_kv_u64(w, "speed_mbps", link.link_speed);
	jsonw_kv_bool(w, "full_duplex",
		      link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX);
	jsonw_object_end(w);
}

static void write_routes(struct jsonw *w, const struct dp_port_conf *pc)
{
	char buf[64];

	jsonw_key(w, "routes");
	jsonw_array_begin(w);
	for (unsigned i = 0; i < pc->n_routes; i++) {
		jsonw_object_begin(w);
		config_prefix_format(buf, sizeof(buf), &pc->routes[i].dst);
		jsonw_kv_string(w, "dst", buf);
		if (pc->routes[i].via.family == IP_NONE) {
			jsonw_kv_null(w, "via");
		} else {
			config_addr_format(buf, sizeof(buf), &pc->routes[i].via);
			jsonw_kv_string(w, "via", buf);
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void write_port(struct jsonw *w, const struct gateway *gw,
		       const struct xdp_counts *x, unsigned p)
{
	const struct dp_port_conf *pc = &gw->dp.tables->ports[p];
	const struct port_info *pi = &gw->ports[p];
	const char *xdp = xdp_iface(gw, x, p);
	struct rte_eth_stats st;
	char buf[64];

	if (rte_eth_stats_get(pi->port_id, &st) != 0)
		memset(&st, 0, sizeof(st));
	jsonw_object_begin(w);
	jsonw_kv_string(w, "name", config_port_names[p]);
	jsonw_kv_string(w, "device", gw->cfg->ports[p].device);
	jsonw_kv_string(w, "driver", pi->driver);
	if (xdp)
		jsonw_kv_string(w, "xdp_steering", xdp);
	else
		jsonw_kv_null(w, "xdp_steering");
	jsonw_kv_u64(w, "dpdk_port", pi->port_id);
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", pc->mac[0],
		 pc->mac[1], pc->mac[2], pc->mac[3], pc->mac[4], pc->mac[5]);
	jsonw_kv_string(w, "mac", buf);
	jsonw_kv_u64(w, "mtu", pc->mtu);
	jsonw_kv_u64(w, "vlan", pc->vlan);
	write_link(w, pi->port_id);
	jsonw_key(w, "addresses");
	jsonw_array_begin(w);
	for (unsigned i = 0; i < pc->n_addrs; i++) {
		config_prefix_format(buf, sizeof(buf), &pc->addrs[i]);
		jsonw_string(w, buf);
	}
	jsonw_array_end(w);
	write_routes(w, pc);
	jsonw_kv_u64(w, "rx_packets", st.ipackets);
	jsonw_kv_u64(w, "rx_bytes", st.ibytes);
	jsonw_kv_u64(w, "tx_packets", st.opackets);
	jsonw_kv_u64(w, "tx_bytes", st.obytes);
	jsonw_kv_u64(w, "rx_dropped", st.imissed + st.rx_nombuf);
	jsonw_kv_u64(w, "rx_errors", st.ierrors);
	jsonw_kv_u64(w, "tx_errors", st.oerrors);
	jsonw_object_end(w);
}

static int cmd_ports(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen)
{
	struct xdp_counts x;

	(void)r, (void)err, (void)errlen;
	xdp_counts_read(gw, &x);
	jsonw_key(w, "ports");
	jsonw_array_begin(w);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if (gw->dp.tables->ports[p].present)
			write_port(w, gw, &x, p);
	jsonw_array_end(w);
	return 0;
}

/* --- neighbours --------------------------------------------------------- */

static void write_neighbour(const struct neigh_info *n, void *ctx)
{
	struct jsonw *w = ctx;
	char buf[64];

	jsonw_object_begin(w);
	jsonw_kv_string(w, "port", n->port < PORT_COUNT ? config_port_names[n->port]
							: "unknown");
	config_addr_format(buf, sizeof(buf), &n->ip);
	jsonw_kv_string(w, "ip", buf);
	if (n->valid) {
		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x",
			 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
			 n->mac[5]);
		jsonw_kv_string(w, "mac", buf);
	} else {
		jsonw_kv_null(w, "mac");
	}
	jsonw_kv_string(w, "state", n->valid ? "reachable" : "incomplete");
	jsonw_kv_u64(w, "held", n->held);
	jsonw_object_end(w);
}

static int cmd_neighbours(struct gateway *gw, const struct ctl_request *r,
			  struct jsonw *w, char *err, size_t errlen)
{
	(void)r, (void)err, (void)errlen;
	jsonw_key(w, "neighbours");
	jsonw_array_begin(w);
	neigh_walk(gw->dp.neigh, write_neighbour, w);
	jsonw_array_end(w);
	return 0;
}

/* --- allowed-ips -------------------------------------------------------- */

struct aip_walk {
	struct jsonw *w;
	const struct dp_tables *t;
	const struct gw_peer *only;         /* NULL: every peer */
};

static int write_allowed_ip(const struct ip_prefix *prefix, uint32_t id,
			    void *ctx)
{
	struct aip_walk *a = ctx;
	struct gw_peer *peer = id < a->t->n_peer_slots ? a->t->peers[id] : NULL;
	struct ip_endpoint ep;
	char buf[64], key[45];

	if (!peer || (a->only && peer != a->only))
		return 0;
	jsonw_object_begin(a->w);
	config_prefix_format(buf, sizeof(buf), prefix);
	jsonw_kv_string(a->w, "prefix", buf);
	config_key_to_base64(key, peer->public_key);
	jsonw_kv_string(a->w, "peer", key);
	gw_endpoint_read(&peer->endpoint, &ep);
	if (ep.addr.family == IP_NONE) {
		jsonw_kv_null(a->w, "endpoint");
	} else {
		config_endpoint_format(buf, sizeof(buf), &ep);
		jsonw_kv_string(a->w, "endpoint", buf);
	}
	jsonw_object_end(a->w);
	return 0;
}

static int cmd_allowed_ips(struct gateway *gw, const struct ctl_request *r,
			   struct jsonw *w, char *err, size_t errlen)
{
	struct aip_walk a = { .w = w, .t = gw->dp.tables };
	const char *peer = ctl_request_get(r, "peer");
	uint8_t key[NOISE_PUBLIC_KEY_LEN];

	if (peer) {
		if (config_key_from_base64(key, peer) != 0)
			return ctl_bad_arg(err, errlen, "peer", peer,
					   "want a base64 public key");
		a.only = gateway_peer_by_key(gw, key);
		if (!a.only) {
			snprintf(err, errlen, "no peer %s", peer);
			return -ENOENT;
		}
	}
	jsonw_key(w, "allowed_ips");
	jsonw_array_begin(w);
	allowedips_walk(a.t->allowedips, write_allowed_ip, &a);
	jsonw_array_end(w);
	return 0;
}

/* --- counters ----------------------------------------------------------- */

static void write_counters(struct jsonw *w, const struct gateway *gw,
			   const struct dp_lcore_stats *s)
{
	jsonw_object_begin(w);
	jsonw_key(w, "ports");
	jsonw_object_begin(w);
	for (unsigned p = 0; p < PORT_COUNT; p++) {
		if (!gw->cfg->ports[p].present)
			continue;
		jsonw_key(w, config_port_names[p]);
		jsonw_object_begin(w);
		jsonw_kv_u64(w, "rx_packets", s->port[p].rx_packets);
		jsonw_kv_u64(w, "rx_bytes", s->port[p].rx_bytes);
		jsonw_kv_u64(w, "tx_packets", s->port[p].tx_packets);
		jsonw_kv_u64(w, "tx_bytes", s->port[p].tx_bytes);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
	jsonw_kv_u64(w, "decap_packets", s->decap_packets);
	jsonw_kv_u64(w, "encap_packets", s->encap_packets);
	jsonw_kv_u64(w, "keepalives_rx", s->keepalives_rx);
	jsonw_kv_u64(w, "handshakes_rx", s->handshakes_rx);
	jsonw_kv_u64(w, "handshakes_tx", s->handshakes_tx);
	jsonw_kv_u64(w, "icmp_tx", s->icmp_tx);
	if (gw->has_host_port) {
		jsonw_kv_u64(w, "host_to_tap", s->host_to_tap);
		jsonw_kv_u64(w, "host_from_tap", s->host_from_tap);
	}
	jsonw_key(w, "drops");
	jsonw_object_begin(w);
	for (unsigned d = 0; d < DROP_COUNT; d++)
		jsonw_kv_u64(w, dp_drop_names[d], s->drops[d]);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

static void write_lcore(struct jsonw *w, const struct gateway *gw,
			unsigned lcore, const char *role)
{
	jsonw_object_begin(w);
	jsonw_kv_u64(w, "lcore", lcore);
	jsonw_kv_string(w, "role", role);
	jsonw_key(w, "counters");
	write_counters(w, gw, &gw->dp.stats[lcore]);
	jsonw_object_end(w);
}

static int cmd_counters(struct gateway *gw, const struct ctl_request *r,
			struct jsonw *w, char *err, size_t errlen)
{
	struct dp_lcore_stats total;
	struct xdp_counts x;

	(void)r, (void)err, (void)errlen;
	gateway_stats_sum(gw, &total);
	xdp_counts_read(gw, &x);
	jsonw_key(w, "total");
	write_counters(w, gw, &total);
	write_xdp(w, &x);
	jsonw_key(w, "lcores");
	jsonw_array_begin(w);
	write_lcore(w, gw, gw->dp.control_lcore, "control");
	for (unsigned i = 0; i < gw->dp.n_workers; i++)
		write_lcore(w, gw, gw->dp.worker_lcores[i], "worker");
	jsonw_array_end(w);
	return 0;
}

/* --- reload, metrics ---------------------------------------------------- */

static int cmd_reload(struct gateway *gw, const struct ctl_request *r,
		      struct jsonw *w, char *err, size_t errlen)
{
	struct gateway_change chg;
	int ret = gateway_reload(gw, &chg, err, errlen);

	(void)r;
	if (ret != 0) {
		printf("portcullisd: ctl: reload refused, nothing changed: %s\n",
		       err);
		return ret;
	}
	printf("portcullisd: ctl: reloaded %s: %u peer(s) added, %u removed, "
	       "%u updated, %u unchanged\n", gw->cfg->path, chg.peers_added,
	       chg.peers_removed, chg.peers_updated, chg.peers_unchanged);
	jsonw_kv_bool(w, "reloaded", true);
	jsonw_kv_u64(w, "peers_added", chg.peers_added);
	jsonw_kv_u64(w, "peers_removed", chg.peers_removed);
	jsonw_kv_u64(w, "peers_updated", chg.peers_updated);
	jsonw_kv_u64(w, "peers_unchanged", chg.peers_unchanged);
	return 0;
}

static int cmd_metrics(struct gateway *gw, const struct ctl_request *r,
		       struct jsonw *w, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)r;
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	metrics_write(gw, f);
	if (fclose(f) != 0) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	jsonw_key(w, "metrics");
	jsonw_string_len(w, text, len);
	free(text);
	return 0;
}

/* --- the socket ----------------------------------------------------------- */

static const char *const no_args[] = { NULL };
static const char *const peer_args[] = { "peer", NULL };
static const char *const session_args[] = { "proto", "inside", "external",
					    "remote", "limit", NULL };
static const char *const flush_args[] = { "proto", "inside", "external",
					  "remote", NULL };
static const char *const forward_args[] = { "proto", "external", "to", NULL };
static const char *const unforward_args[] = { "proto", "external", NULL };

static const struct ctl_cmd commands[] = {
	{ "ports", no_args, cmd_ports },
	{ "neighbours", no_args, cmd_neighbours },
	{ "allowed-ips", peer_args, cmd_allowed_ips },
	{ "nat-sessions", session_args, ctl_nat_sessions },
	{ "nat-count", no_args, ctl_nat_count },
	{ "nat-flush", flush_args, ctl_nat_flush },
	{ "forwards", no_args, ctl_forwards },
	{ "forward-add", forward_args, ctl_forward_add },
	{ "forward-remove", unforward_args, ctl_forward_remove },
	{ "counters", no_args, cmd_counters },
	{ "reload", no_args, cmd_reload },
	{ "metrics", no_args, cmd_metrics },
	{ "hetzner-status", no_args, ctl_hetzner_status },
	{ "hetzner-plan", no_args, ctl_hetzner_plan },
	{ "hetzner-sync", no_args, ctl_hetzner_sync },
};

static bool arg_allowed(const struct ctl_cmd *c, const char *key)
{
	for (const char *const *a = c->args; *a; a++)
		if (strcmp(*a, key) == 0)
			return true;
	return false;
}

static int dispatch(struct gateway *gw, const struct ctl_request *r,
		    struct jsonw *w, char *err, size_t errlen)
{
	const struct ctl_cmd *c = NULL;
	char s[SHOWN_MAX + 4];

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, r->cmd) == 0)
			c = &commands[i];
	if (!c) {
		snprintf(err, errlen, "unknown command '%s'", r->cmd);
		return -EINVAL;
	}
	for (unsigned i = 0; i < r->n_args; i++) {
		if (!arg_allowed(c, r->args[i].key)) {
			snprintf(err, errlen, "%s takes no argument '%s'", c->name,
				 shown(s, r->args[i].key));
			return -EINVAL;
		}
	}
	return c->fn(gw, r, w, err, errlen);
}

/* One request (through its empty line): one line of JSON into out.  The
 * reply object is opened here and handlers write its members; a handler
 * that fails has written nothing (see the top of the file), so the error
 * is the object's only member. */
static void handle_request(void *ctx, const char *req, size_t len, FILE *out)
{
	struct gateway *gw = ctx;
	struct ctl_request r;
	char err[CTL_ERR_LEN] = "";
	struct jsonw w;
	int ret = ctl_request_parse(req, len, &r, err, sizeof(err));

	jsonw_init(&w, out);
	jsonw_object_begin(&w);
	if (ret == 0)
		ret = dispatch(gw, &r, &w, err, sizeof(err));
	if (ret != 0)
		jsonw_kv_string(&w, "error", err[0] ? err : strerror(-ret));
	jsonw_object_end(&w);
	fputc('\n', out);
	ctl_request_free(&r);
}

static const struct sock_server_ops ctl_ops = {
	.request_end = ctl_request_end,
	.handle = handle_request,
	.max_request = CTL_MAX_REQUEST,
	.request_ms = 5000,                 /* to send a request, read a reply */
	.idle_ms = 10000,                   /* between requests */
};

/* 0660 root:Group so that the group may run portcullisctl, else 0600;
 * nothing here hands out a secret, so the file mode is the whole policy
 * (unlike the UAPI socket, which also checks the peer's uid). */
int ctl_open(struct gateway *gw, char *err, size_t errlen)
{
	struct sock_server_unix_opts opts = { .mode = 0600, .gid = (gid_t)-1 };
	const char *group = gw->cfg->control.group;
	char path[128];

	if (group) {
		struct group *g = getgrnam(group);

		if (!g) {
			snprintf(err, errlen, "%s:%u: [Control] no such group '%s'",
				 gw->cfg->path, gw->cfg->control.line, group);
			return -ENOENT;
		}
		opts.mode = 0660;
		opts.gid = g->gr_gid;
	}
	snprintf(path, sizeof(path), CTL_SOCKET_DIR "/%s.sock", gw->ifname);
	return sock_server_listen_unix(&gw->ctl, path, &opts, &ctl_ops, gw,
				       err, errlen);
}

void ctl_poll(struct gateway *gw, uint64_t now)
{
	if (gw->ctl)
		sock_server_poll(gw->ctl, now);
}

void ctl_close(struct gateway *gw)
{
	sock_server_close(gw->ctl);
	gw->ctl = NULL;
}
