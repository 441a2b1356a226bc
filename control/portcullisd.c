/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisd: load the config, start EAL and the ports, launch one worker
 * per extra lcore, and run the control loop on the main lcore until SIGINT,
 * SIGTERM, or the deletion of the UAPI socket.
 *
 *   portcullisd -c FILE [-i NAME] [-- EAL options]
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "crypto.h"
#include "ctl.h"
#include "gateway.h"
#include "handshake.h"
#include "host_ports.h"
#include "neigh.h"
#include "port.h"
#include "ratelimiter.h"
#include "sock_server.h"
#include "uapi.h"
#include "worker.h"

enum { TICK_MS = 100, CONTROL_IDLE_US = 200 };

static volatile sig_atomic_t stop_requested, dump_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump_requested = 1;
	else if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

/* SIGHUP (systemctl reload): as `portcullisctl reload`. */
static void reload(struct gateway *gw)
{
	struct gateway_change chg;
	char err[CONFIG_ERR_LEN];

	if (gateway_reload(gw, &chg, err, sizeof(err)) < 0)
		printf("portcullisd: reload refused, nothing changed: %s\n", err);
	else
		printf("portcullisd: reloaded %s: %u peer(s) added, %u removed, "
		       "%u updated, %u unchanged\n", gw->cfg->path, chg.peers_added,
		       chg.peers_removed, chg.peers_updated, chg.peers_unchanged);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: portcullisd -c FILE [-i NAME] [-- EAL options]\n"
		   "  -c FILE  wg-quick style config with [Port public]/[Port private]\n"
		   "  -i NAME  interface name for the control sockets (default: FILE's base name)\n");
}

static void notice(const char *msg, void *ctx)
{
	(void)ctx;
	printf("portcullisd: %s\n", msg);
}

struct options {
	const char *config;
	char ifname[64];
	int eal_argc;
	char **eal_argv;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:i:h")) != -1) {
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'i': snprintf(o->ifname, sizeof(o->ifname), "%s", optarg); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (o->config == NULL) {
		usage(stderr);
		return -EINVAL;
	}
	if (o->ifname[0] == '\0') {           /* as wg-quick: wg0.conf -> wg0 */
		char *copy = strdup(o->config), *base = basename(copy), *dot;

		if ((dot = strrchr(base, '.')) && strcmp(dot, ".conf") == 0)
			*dot = '\0';
		snprintf(o->ifname, sizeof(o->ifname), "%s", base);
		free(copy);
	}
	if (strlen(o->ifname) > 15 || strchr(o->ifname, '/')) {
		fprintf(stderr, "portcullisd: bad interface name '%s'\n", o->ifname);
		return -EINVAL;
	}
	/* Everything after "--" goes to EAL, behind our program name. */
	o->eal_argv = &argv[optind - 1];
	o->eal_argv[0] = argv[0];
	o->eal_argc = argc - optind + 1;
	return 0;
}

static int create_rings(struct gateway *gw, char *err, size_t errlen)
{
	int ret = dp_create(&gw->dp, err, errlen);

	if (ret < 0)
		return ret;
	gw->ratelimiter = ratelimiter_create(8192);
	if (gw->ratelimiter == NULL) {
		snprintf(err, errlen, "cannot allocate the handshake rate limiter");
		return -ENOMEM;
	}
	return 0;
}

/*
 * [Port public] HostInterface: the exception TAP of full PMD mode, one more
 * DPDK port (net_tap) with a queue per worker.  It gets the public port's
 * MAC, so that what the host sends through it (ARP included, whose sender
 * hardware address the gateway does not rewrite) shows the neighbours the
 * one MAC the provider knows, and the host and the gateway can share the
 * public address.  Called after the public port is open.
 */
static int open_host_port(struct gateway *gw, unsigned n_workers, char *err,
			  size_t errlen)
{
	const struct config_port *cp = &gw->cfg->ports[PORT_PUBLIC];
	const uint8_t *m = gw->ports[PORT_PUBLIC].mac;
	char device[128], perr[256];

	if (cp->host_iface[0] == '\0')
		return 0;
	snprintf(device, sizeof(device),
		 "net_tap_host0,iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		 cp->host_iface, m[0], m[1], m[2], m[3], m[4], m[5]);
	if (port_open(device, n_workers, config_port_mtu(cp), gw->dp.pool,
		      &gw->host_port, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "%s:%u: [Port public] HostInterface %s: %s",
			 gw->cfg->path, cp->line, cp->host_iface, perr);
		return -ENODEV;
	}
	gw->has_host_port = true;
	return 0;
}

static int open_ports(struct gateway *gw, unsigned n_workers, char *err, size_t errlen)
{
	char perr[256], device[PATH_MAX];
	unsigned nq = n_workers;

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		const struct config_port *cp = &gw->cfg->ports[p];
		uint16_t mtu = cp->mtu;

		if (!cp->present)
			continue;
		if (p == PORT_PRIVATE && config_ports_shared(gw->cfg)) {
			/* One NIC, the private side on a VLAN of it: opened
			 * once, with the larger MTU (see below). */
			gw->ports[p] = gw->ports[PORT_PUBLIC];
			continue;
		}
		if (p == PORT_PUBLIC && config_ports_shared(gw->cfg))
			mtu = RTE_MAX(config_port_mtu(cp),
				      config_port_mtu(&gw->cfg->ports[PORT_PRIVATE]));
		if (gateway_xdp_device(gw, p, cp->device, device, sizeof(device), perr,
				       sizeof(perr)) < 0 ||
		    port_open(device, n_workers, mtu, gw->dp.pool, &gw->ports[p],
			      perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "%s:%u: [Port %s]: %s", gw->cfg->path, cp->line,
				 config_port_names[p], perr);
			return -ENODEV;
		}
		nq = RTE_MIN(nq, gw->ports[p].rx_queues);
	}
	if (open_host_port(gw, n_workers, err, errlen) < 0)
		return -ENODEV;
	if (gw->has_host_port)
		nq = RTE_MIN(nq, gw->host_port.rx_queues);
	gw->dp.rx_queues = (uint16_t)nq;
	return 0;
}

static void log_startup(const struct gateway *gw)
{
	const struct dp_tables *t = gw->dp.tables;
	char buf[64], key[45];

	for (unsigned p = 0; p < PORT_COUNT; p++) {
		const struct dp_port_conf *pc = &t->ports[p];
		const struct port_info *pi = &gw->ports[p];

		if (!pc->present)
			continue;
		if (p == PORT_PRIVATE && config_ports_shared(gw->cfg))
			printf("portcullisd: port private: shares %s with port public, "
			       "VLAN %u\n", gw->cfg->ports[p].device, pc->vlan);
		printf("portcullisd: port %s: %s (driver %s, dpdk port %u, %u queue(s)) "
		       "mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u vlan %u\n", config_port_names[p],
		       gw->cfg->ports[p].device, pi->driver, pi->port_id, gw->dp.rx_queues,
		       pc->mac[0], pc->mac[1], pc->mac[2], pc->mac[3], pc->mac[4], pc->mac[5],
		       pc->mtu, pc->vlan);
		for (unsigned i = 0; i < pc->n_addrs; i++) {
			config_prefix_format(buf, sizeof(buf), &pc->addrs[i]);
			printf("portcullisd: port %s: address %s\n", config_port_names[p], buf);
		}
		for (unsigned i = 0; i < pc->n_routes; i++) {
			char via[64];

			config_prefix_format(buf, sizeof(buf), &pc->routes[i].dst);
			if (pc->routes[i].via.family)
				config_addr_format(via, sizeof(via), &pc->routes[i].via);
			printf("portcullisd: port %s: route %s %s%s\n", config_port_names[p], buf,
			       pc->routes[i].via.family ? "via " : "connected",
			       pc->routes[i].via.family ? via : "");
		}
	}
	if (gw->has_host_port) {
		const uint8_t *m = gw->host_port.mac;

		printf("portcullisd: port public: host interface %s (dpdk port %u, "
		       "%u queue(s)) mac %02x:%02x:%02x:%02x:%02x:%02x: the host's "
		       "own traffic\n", gw->cfg->ports[PORT_PUBLIC].host_iface,
		       gw->host_port.port_id, gw->host_port.rx_queues,
		       m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	config_key_to_base64(key, gw->identity.static_public);
	if (gw->cfg->iface.mtu)
		snprintf(buf, sizeof(buf), "[Interface] MTU");
	else
		snprintf(buf, sizeof(buf), "public port mtu %u - %u",
			 config_port_mtu(&gw->cfg->ports[PORT_PUBLIC]), WG_OVERHEAD_IPV6);
	printf("portcullisd: interface %s: public key %s, listen port %u, tunnel mtu %u (%s), "
	       "%u peer(s), %u worker(s)\n", gw->ifname, key, t->listen_port, t->tunnel_mtu,
	       buf, t->n_peer_slots, gw->dp.n_workers);
}

static unsigned drain_rings(struct gateway *gw)
{
	struct rte_mbuf *pkts[DP_BURST];
	struct dp_event ev[DP_BURST];
	unsigned n, work = 0;

	n = rte_ring_sc_dequeue_burst(gw->dp.handshake_ring, (void **)pkts, DP_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		handshake_input(gw, pkts[i]);
	work += n;
	n = rte_ring_sc_dequeue_burst(gw->dp.exception_ring, (void **)pkts, DP_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct pkt_meta *meta = pkt_meta(pkts[i]);

		switch (meta->kind) {
		case PKT_ARP: neigh_input_arp(&gw->ctx, pkts[i]); break;
		case PKT_ND: neigh_input_nd(&gw->ctx, pkts[i]); break;
		case PKT_NEED_NEIGH:
			neigh_hold(&gw->ctx, meta->out_port, &meta->nexthop, pkts[i]);
			break;
		case PKT_STAGE: handshake_stage(gw, pkts[i]); break;
		default: dp_drop(gw->ctx.st, pkts[i], DROP_malformed);
		}
	}
	work += n;
	n = rte_ring_sc_dequeue_burst_elem(gw->dp.event_ring, ev, sizeof(ev[0]), DP_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		handshake_event(gw, &ev[i]);
	return work + n;
}

static void tick(struct gateway *gw)
{
	struct dp_tables *t = gw->dp.tables;

	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i])
			handshake_peer_tick(gw, t->peers[i]);
	neigh_tick(&gw->ctx);
	ratelimiter_gc(gw->ratelimiter, gw->ctx.now);
	gateway_nat_tick(gw);
	gateway_hetzner_tick(gw);
	gateway_xdp_tick(gw);
	gateway_reclaim(gw);
}

/* Start the handshake towards peers that want a persistent keepalive, as
 * wg(8) does when the interface comes up. */
static void kick_peers(struct gateway *gw)
{
	struct dp_tables *t = gw->dp.tables;

	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i] && t->peers[i]->persistent_keepalive)
			handshake_send_initiation(gw, t->peers[i], false);
}

static void control_loop(struct gateway *gw)
{
	uint64_t next_tick = 0;

	while (!stop_requested) {
		unsigned work;

		dp_ctx_begin_burst(&gw->ctx, dp_now());
		gw->ctx.t = gw->dp.tables;
		work = drain_rings(gw);
		gateway_xdp_poll(gw);
		uapi_poll(gw);
		ctl_poll(gw, gw->ctx.now);
		metrics_poll(gw, gw->ctx.now);
		if (gw->ctx.now >= next_tick) {
			tick(gw);
			next_tick = gw->ctx.now + TICK_MS * NSEC_PER_MSEC;
			if (uapi_tick(gw) < 0) {
				printf("portcullisd: %s was deleted, stopping\n",
				       sock_server_path(gw->uapi));
				break;
			}
		}
		dp_tx_flush(&gw->ctx);
		if (dump_requested) {
			dump_requested = 0;
			gateway_stats_print(gw, stdout);
		}
		if (reload_requested) {
			reload_requested = 0;
			reload(gw);
		}
		if (!work)
			usleep(CONTROL_IDLE_US);
	}
}

static int launch_workers(struct gateway *gw, struct worker_args *args)
{
	unsigned lcore, n = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (n == gw->dp.n_workers)
			break;
		args[n] = (struct worker_args){ .dp = &gw->dp, .index = n };
		gw->dp.worker_lcores[n] = lcore;
		if (rte_eal_remote_launch(worker_main, &args[n], lcore) != 0)
			return -EBUSY;
		n++;
	}
	return 0;
}

static int run(struct gateway *gw, struct options *o)
{
	static struct worker_args args[DP_MAX_WORKERS];
	char err[CONFIG_ERR_LEN];
	unsigned workers = rte_lcore_count() - 1;
	int ret;

	if (workers == 0) {
		fprintf(stderr, "portcullisd: need at least two lcores (e.g. EAL option -l 0-1): "
			"one control, one worker\n");
		return -EINVAL;
	}
	if (!gw->cfg->ports[PORT_PUBLIC].present || !gw->cfg->ports[PORT_PRIVATE].present) {
		fprintf(stderr, "portcullisd: %s: the gateway needs a [Port public] and a "
			"[Port private] section (see config/README.md)\n", gw->cfg->path);
		return -EINVAL;
	}
	gw->dp.n_workers = (uint16_t)RTE_MIN(workers, (unsigned)DP_MAX_WORKERS);
	gw->dp.control_lcore = rte_lcore_id();
	snprintf(gw->ifname, sizeof(gw->ifname), "%s", o->ifname);
	if (host_ports_listen_warning(gw->cfg, HOST_PORTS_PROC_RANGE,
				      HOST_PORTS_PROC_RESERVED, err, sizeof(err)))
		fprintf(stderr, "portcullisd: warning: %s\n", err);
	if ((ret = host_ports_check_host(gw->cfg, HOST_PORTS_PROC_RANGE, err,
					 sizeof(err))) < 0 ||
	    (ret = create_rings(gw, err, sizeof(err))) < 0 ||
	    (ret = open_ports(gw, gw->dp.n_workers, err, sizeof(err))) < 0 ||
	    (ret = gateway_nat_start(gw, err, sizeof(err))) < 0 ||
	    (ret = gateway_start(gw, err, sizeof(err))) < 0 ||
	    (ret = gateway_xdp_start(gw, err, sizeof(err))) < 0 ||
	    (ret = uapi_open(gw, err, sizeof(err))) < 0 ||
	    (ret = ctl_open(gw, err, sizeof(err))) < 0 ||
	    (ret = gateway_hetzner_start(gw, err, sizeof(err))) < 0 ||
	    (ret = metrics_open(gw, err, sizeof(err))) < 0) {
		fprintf(stderr, "portcullisd: %s\n", err);
		return ret;
	}
	gw->dp.n_workers = RTE_MIN(gw->dp.n_workers, gw->dp.rx_queues);
	gw->ctx = (struct dp_ctx){ .dp = &gw->dp, .t = gw->dp.tables, .is_control = true,
				   .st = &gw->dp.stats[rte_lcore_id()],
				   .nat_lc = &gw->dp.nat_lcore[rte_lcore_id()],
				   .icmp_tokens = ICMP_ERRORS_BURST, .now = dp_now() };
	nat_lcore_init(gw->ctx.nat_lc);
	log_startup(gw);
	gateway_nat_log_startup(gw);
	gw->dp.running = true;
	if (launch_workers(gw, args) < 0) {
		fprintf(stderr, "portcullisd: cannot launch workers\n");
		gw->dp.running = false;
		return -EBUSY;
	}
	neigh_announce(&gw->ctx);
	kick_peers(gw);
	printf("portcullisd: ready\n");
	fflush(stdout);
	control_loop(gw);
	gw->dp.running = false;
	rte_eal_mp_wait_lcore();
	return 0;
}

static void shutdown_all(struct gateway *gw)
{
	printf("portcullisd: counters at shutdown\n");
	gateway_stats_print(gw, stdout);
	uapi_close(gw);
	gateway_hetzner_stop(gw);
	ctl_close(gw);
	metrics_close(gw);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if (gw->cfg->ports[p].present && gw->dp.pool &&
		    !(p == PORT_PRIVATE && config_ports_shared(gw->cfg)))
			port_close(gw->ports[p].port_id);       /* a shared NIC once */
	if (gw->has_host_port)
		port_close(gw->host_port.port_id);      /* the TAP goes with it */
	gateway_xdp_stop(gw);                   /* after net_af_xdp detached */
	gateway_stop(gw);
	gateway_nat_stop(gw);
	ratelimiter_destroy(gw->ratelimiter);
	dp_destroy(&gw->dp);
}

int main(int argc, char **argv)
{
	static struct gateway gw;
	struct options o = { 0 };
	char err[CONFIG_ERR_LEN];
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if (crypto_init() < 0) {
		fprintf(stderr, "portcullisd: libsodium failed to initialise\n");
		return 1;
	}
	/* The config is checked before EAL starts so mistakes are cheap. */
	ret = config_load(o.config, 0, notice, NULL, &gw.cfg, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "portcullisd: %s\n", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (rte_eal_init(o.eal_argc, o.eal_argv) < 0) {
		fprintf(stderr, "portcullisd: EAL init failed: %s\n", rte_strerror(rte_errno));
		config_free(gw.cfg);
		return 1;
	}
	ret = run(&gw, &o);
	shutdown_all(&gw);
	config_free(gw.cfg);
	rte_eal_cleanup();
	return ret < 0 ? 1 : 0;
}
