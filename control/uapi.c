/* SPDX-License-Identifier: BSD-3-Clause */
#include "uapi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "allowedips.h"
#include "config_edit.h"
#include "gateway.h"
#include "sock_server.h"
#include "tunnel.h"
#include "uapi_parse.h"

#define UAPI_DIR "/var/run/wireguard"

static void handle_request(void *ctx, const char *req, size_t len, FILE *f);

/* Several requests may follow each other on one connection, as
 * wireguard-go allows; a set of every peer of a large hub is big. */
static const struct sock_server_ops uapi_ops = {
	.request_end = uapi_request_end,
	.handle = handle_request,
	.max_request = 16 << 20,            /* bytes: a setconf of every peer */
	.request_ms = 5000,                 /* to send a request, read a reply */
	.idle_ms = 10000,                   /* between requests */
};

/* The socket hands out the private key: 0600 and root (or our uid) only,
 * whatever the file mode says, as wireguard-go and the kernel do. */
int uapi_open(struct gateway *gw, char *err, size_t errlen)
{
	static const struct sock_server_unix_opts opts = {
		.mode = 0600, .gid = (gid_t)-1, .root_only = true,
	};
	char path[128];

	snprintf(path, sizeof(path), UAPI_DIR "/%s.sock", gw->ifname);
	return sock_server_listen_unix(&gw->uapi, path, &opts, &uapi_ops, gw,
				       err, errlen);
}

void uapi_close(struct gateway *gw)
{
	sock_server_close(gw->uapi);
	gw->uapi = NULL;
}

static void hex(char out[65], const uint8_t key[32])
{
	sodium_bin2hex(out, 65, key, 32);
}

struct walk_ctx {
	FILE *f;
	uint32_t peer;
};

static int print_allowed(const struct ip_prefix *p, uint32_t value, void *ctx)
{
	struct walk_ctx *w = ctx;
	char buf[64];

	if (value == w->peer) {
		config_prefix_format(buf, sizeof(buf), p);
		fprintf(w->f, "allowed_ip=%s\n", buf);
	}
	return 0;
}

static void print_peer(FILE *f, struct gw_peer *p, const struct dp_tables *t)
{
	struct walk_ctx w = { f, p->id };
	struct ip_endpoint ep;
	char buf[80];

	hex(buf, p->public_key);
	fprintf(f, "public_key=%s\n", buf);
	hex(buf, p->handshake.preshared_key);
	fprintf(f, "preshared_key=%s\n", buf);
	sodium_memzero(buf, sizeof(buf));
	fprintf(f, "protocol_version=1\n");
	gw_endpoint_read(&p->endpoint, &ep);
	if (ep.addr.family != IP_NONE) {
		config_endpoint_format(buf, sizeof(buf), &ep);
		fprintf(f, "endpoint=%s\n", buf);
	}
	fprintf(f, "last_handshake_time_sec=%llu\n",
		(unsigned long long)(p->last_handshake_realtime / NSEC_PER_SEC));
	fprintf(f, "last_handshake_time_nsec=%llu\n",
		(unsigned long long)(p->last_handshake_realtime % NSEC_PER_SEC));
	fprintf(f, "tx_bytes=%llu\n", (unsigned long long)atomic_load(&p->tx_bytes));
	fprintf(f, "rx_bytes=%llu\n", (unsigned long long)atomic_load(&p->rx_bytes));
	fprintf(f, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	allowedips_walk(t->allowedips, print_allowed, &w);
}

static void reply_get(struct gateway *gw, FILE *f)
{
	const struct dp_tables *t = gw->dp.tables;
	char buf[65];

	hex(buf, gw->identity.static_private);
	fprintf(f, "private_key=%s\n", buf);
	sodium_memzero(buf, sizeof(buf));
	fprintf(f, "listen_port=%u\n", t->listen_port);
	if (gw->cfg->iface.fwmark)              /* as wireguard-go: 0 is off */
		fprintf(f, "fwmark=%u\n", gw->cfg->iface.fwmark);
	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i])
			print_peer(f, t->peers[i], t);
	fprintf(f, "errno=0\n\n");
}

/* A set is parsed and validated whole, applied to a copy of the running
 * configuration, and that copy is applied to the gateway (gateway_apply):
 * any error anywhere and nothing changes; the reply carries the errno. */
static void reply_set(struct gateway *gw, const char *body, size_t len, FILE *f)
{
	struct gateway_change chg;
	struct config *next = NULL;
	struct uapi_set set;
	char why[CONFIG_ERR_LEN];
	int ret = uapi_set_parse(body, len, &set, why, sizeof(why));

	if (ret == 0) {
		next = config_clone(gw->cfg);
		ret = next ? config_apply_uapi(next, &set, why, sizeof(why)) : -ENOMEM;
		if (next == NULL)
			snprintf(why, sizeof(why), "out of memory");
		uapi_set_free(&set);
	}
	if (ret == 0)
		ret = gateway_apply(gw, next, &chg, why, sizeof(why));
	if (ret < 0) {
		config_free(next);
		printf("portcullisd: %s: refused a set: %s\n", sock_server_path(gw->uapi),
		       why);
	} else {
		printf("portcullisd: %s: set applied: %u peer(s) added, %u removed, "
		       "%u updated, %u unchanged\n", sock_server_path(gw->uapi),
		       chg.peers_added, chg.peers_removed, chg.peers_updated,
		       chg.peers_unchanged);
	}
	fprintf(f, "errno=%d\n\n", ret);
}

/* One request (text up to and including the blank line): the reply into
 * f.  Requests other than get/set get -EINVAL, as wireguard-go answers
 * an unknown operation. */
static void handle_request(void *ctx, const char *req, size_t len, FILE *f)
{
	struct gateway *gw = ctx;

	if (strncmp(req, "get=1\n", 6) == 0 || strncmp(req, "get=1\r\n", 7) == 0)
		reply_get(gw, f);
	else if (strncmp(req, "set=1\n", 6) == 0)
		reply_set(gw, req + 6, len - 6, f);
	else
		fprintf(f, "errno=%d\n\n", -EINVAL);
}

int uapi_poll(struct gateway *gw)
{
	return (int)sock_server_poll(gw->uapi, dp_now());
}

int uapi_tick(struct gateway *gw)
{
	/* Deleted: time to go, as wireguard-go does. */
	return sock_server_file_deleted(gw->uapi) ? -1 : 0;
}
