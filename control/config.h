/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway configuration: a wg-quick file ([Interface], [Peer]) plus the
 * gateway's own sections ([Port public], [Port private], [NAT]).  One data
 * model, shared by the file parser, the daemon and (later) the control
 * socket, with has_* flags for what was given.
 *
 * Errors are reported once, as text, "file:line: reason"; a config that has
 * any error is not returned at all (nothing starts, nothing changes).
 */
#ifndef PORTCULLIS_CONFIG_H
#define PORTCULLIS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/nat_config.h"
#include "portcullis/types.h"
#include "portcullis/wire.h"

enum config_limits {
	CONFIG_MAX_PEERS = 1 << 16,
	CONFIG_MAX_ALLOWED_IPS = 1 << 16,   /* per peer */
	CONFIG_MAX_ADDRESSES = 16,          /* per section */
	CONFIG_MAX_ROUTES = 1024,           /* per port */
	CONFIG_ERR_LEN = 512,
	CONFIG_MAX_LINE_LEN = 4096,         /* bytes, not counting the newline */
	CONFIG_MAX_FILE_SIZE = 16 << 20,    /* config file and text given */
	CONFIG_DEFAULT_LISTEN_PORT = 51820, /* when ListenPort is absent */
	CONFIG_DEFAULT_PORT_MTU = 1500,     /* when a [Port] has no MTU */
	CONFIG_IFNAMSIZ = 16,               /* Linux IFNAMSIZ, with the NUL */
};

enum config_port_id { PORT_PUBLIC = 0, PORT_PRIVATE = 1, PORT_COUNT = 2 };
/* "public", "private": the section names, for messages and replies. */
extern const char *const config_port_names[PORT_COUNT];

struct config_peer {
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	bool has_preshared_key;
	struct ip_endpoint endpoint;
	bool has_endpoint;
	char *endpoint_text;                /* as written (host:port), for messages */
	struct ip_prefix *allowed_ips;
	size_t n_allowed_ips;
	uint16_t persistent_keepalive;      /* seconds, 0: off */
	unsigned line;                      /* where [Peer] started */
	/* Added by the Hetzner sync (never from the file, never by wg set):
	 * the sync replaces exactly these peers each round. */
	bool from_api;
	uint64_t api_server_id;
	/* Transient, set by config_apply_uapi for an endpoint= line: write it
	 * to the peer even if equal to the configured one (it may have
	 * roamed).  config_clone clears it. */
	bool endpoint_given;
};

struct config_route {
	struct ip_prefix dst;
	struct ip_addr via;
	bool from_api;                      /* the Hetzner sync's, see from_api */
};

struct config_port {
	bool present;
	char *device;                       /* PCI address or DPDK vdev string */
	struct ip_prefix addresses[CONFIG_MAX_ADDRESSES];
	size_t n_addresses;
	struct ip_addr gateway4, gateway6;  /* family IP_NONE: not given */
	uint16_t vlan;                      /* 0: untagged */
	uint16_t mtu;                       /* 0: default (1500) */
	struct config_route *routes;
	size_t n_routes;
	/* [Port public] HostInterface: the exception TAP that carries the
	 * host's own traffic in full PMD mode ("" when not given). */
	char host_iface[CONFIG_IFNAMSIZ];
	unsigned line;
};

struct config_interface {
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	bool has_private_key;
	char *private_key_file;             /* PrivateKeyFile, if used: the
					     * path opened (relative ones are
					     * resolved against the config's
					     * directory) */
	uint16_t listen_port;               /* 51820 when not given */
	bool has_listen_port;
	struct ip_prefix addresses[CONFIG_MAX_ADDRESSES];
	size_t n_addresses;
	uint16_t mtu;                       /* 0: from the public port (config_tunnel_mtu) */
	uint32_t fwmark;                    /* FwMark / fwmark=: kept and
					     * reported for wg(8); a DPDK port
					     * has no socket to mark */
};

/* [Control]: the gateway CLI socket and the metrics endpoint.  Absent:
 * the CLI socket is root-only and there is no metrics listener. */
struct config_control {
	char *group;                        /* Group: may use the CLI socket;
					     * NULL: root only */
	char *metrics;                      /* Metrics: "127.0.0.1:9586",
					     * "[::1]:9586" or "/path.sock";
					     * NULL: off */
	unsigned line;                      /* of [Control], 0: absent */
};

/* [Hetzner]: the API sync (control/hetzner*.c).  enabled false: absent. */
struct config_hetzner {
	bool enabled;
	char *token_file;                   /* TokenFile; NULL: HCLOUD_TOKEN */
	char *network;                      /* Network: id or name (required) */
	char *label_selector;               /* LabelSelector, default
					     * "portcullis/peer" */
	unsigned poll_interval;             /* PollInterval, seconds (1..86400,
					     * default 30) */
	bool manage_route;                  /* ManageRoute, default false */
	bool dry_run;                       /* DryRun: fetch and plan, never
					     * apply (default false) */
	char *api_endpoint;                 /* APIEndpoint, default
					     * https://api.hetzner.cloud/v1 */
	char *robot_credentials_file;       /* RobotCredentialsFile, optional */
	uint64_t vswitch;                   /* VSwitch id, 0: none */
	char *robot_endpoint;               /* RobotEndpoint, default
					     * https://robot-ws.your-server.de */
	unsigned line;
};

struct config {
	char *path;
	struct config_interface iface;
	struct config_control control;
	struct config_hetzner hetzner;
	struct config_peer *peers;
	size_t n_peers;
	struct config_port ports[PORT_COUNT];
	/* [NAT]: nat_config_defaults() when the section is absent (enabled
	 * false, MSSClamp auto, both tunnel <-> private directions allowed).
	 * nat.forwards is owned here and freed by config_free; a forward's
	 * external address IP_NONE and nat.external IP_NONE both mean the
	 * first IPv4 Address of [Port public], which the parser has checked
	 * exists whenever nat.enabled. */
	struct nat_config nat;
};

/* Notices (ignored wg-quick keys, DNS names resolved) go here; NULL: stderr. */
typedef void (*config_notice_fn)(const char *msg, void *ctx);

enum config_flags {
	/* Skip the file-permission checks (tests and fuzzing of buffers). */
	CONFIG_NO_PERMISSION_CHECK = 1 << 0,
	/* Do not resolve DNS names in Endpoint (fuzzing): such a peer keeps
	 * endpoint_text but has has_endpoint false. */
	CONFIG_NO_DNS = 1 << 1,
};

/* Load and validate a file.  On error returns -errno-style code, writes
 * "file:line: reason" into err and returns no config. */
int config_load(const char *path, unsigned flags, config_notice_fn notice,
		void *notice_ctx, struct config **out, char *err, size_t errlen);
/* Same for text already in memory; name is used in messages. */
int config_parse(const char *name, const char *text, size_t len, unsigned flags,
		 config_notice_fn notice, void *notice_ctx,
		 struct config **out, char *err, size_t errlen);
/* Wipes keys, frees everything; NULL is fine. */
void config_free(struct config *cfg);

/* Helpers shared with the control socket and CLI. */
int config_key_from_base64(uint8_t key[NOISE_PUBLIC_KEY_LEN], const char *b64);
void config_key_to_base64(char out[45], const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
/* "addr" or "addr/cidr" (no cidr: /32 or /128); host bits are kept. */
int config_prefix_parse(const char *text, struct ip_prefix *out);
/* Clears the host bits (AllowedIPs are stored masked, as wg does). */
void config_prefix_mask(struct ip_prefix *p);
int config_addr_parse(const char *text, struct ip_addr *out);
/* Formats "10.0.0.0/8" / "fd00::/64"; out >= 44 bytes. */
void config_prefix_format(char *out, size_t len, const struct ip_prefix *p);
void config_addr_format(char *out, size_t len, const struct ip_addr *a);
void config_endpoint_format(char *out, size_t len, const struct ip_endpoint *e);

/* [Port] MTU, or CONFIG_DEFAULT_PORT_MTU when not given. */
uint16_t config_port_mtu(const struct config_port *port);
/* Both ports present with the same Device: one NIC, the private side on a
 * VLAN of it (the loader has checked that the VLAN ids differ). */
bool config_ports_shared(const struct config *cfg);
/* The tunnel MTU: [Interface] MTU, or when it is not given the public
 * port's MTU less WG_OVERHEAD_IPV6, so that a full inner packet still fits
 * the port once wrapped in IPv6 + UDP + WireGuard (wg-quick derives it the
 * same way from the route's MTU): 1420 on a 1500 port, 1370 on a Hetzner
 * cloud network's 1450. */
uint16_t config_tunnel_mtu(const struct config *cfg);

#endif
