/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Hetzner sync: the gateway's peers and private-side routes pulled
 * from the Hetzner Cloud API (and the Robot webservice for a vSwitch).
 *
 * Three layers:
 *  - the model (hetzner_model.c, pure, in config_lib): API JSON -> structs
 *    with strict type checks (unknown fields ignored), the label codec, and
 *    the desired state computed from servers + network (+ vSwitch);
 *  - the loop (hetzner.c + hetzner_http.c, libcurl): one helper thread
 *    that polls, paces itself by the rate-limit headers, retries with
 *    backoff, manages the default route if asked, and leaves each good
 *    desired state in a mailbox;
 *  - the control thread takes the newest desired state and applies it
 *    through the same atomic path as `wg syncconf` (gateway_hetzner.c):
 *    only peers and routes marked from_api are ever replaced.
 *
 * Mapping (see README "Hetzner sync"):
 *  - peers: servers matching LabelSelector, their key in the label
 *    `portcullis/wg-key` (unpadded base32, 52 chars, either case);
 *  - endpoint: public_net.ipv4.ip (null: the private IP in the Network,
 *    or none), port from `portcullis/wg-port` (default 51820); the label
 *    `portcullis/wg-endpoint=private` picks the private IP;
 *  - AllowedIPs: the server's private IP and alias IPs in the Network (as
 *    /32), plus each Network route whose gateway is one of them;
 *  - private routes: the Network's ip_range via its gateway (the first
 *    address of ip_range); with a vSwitch (the gateway is then a dedicated
 *    server on its VLAN), ip_range via the gateway of the vSwitch's
 *    cloud_network entry for that Network (see hz_desired_compute).
 */
#ifndef PORTCULLIS_HETZNER_H
#define PORTCULLIS_HETZNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "portcullis/types.h"

#define HZ_LABEL_KEY "portcullis/wg-key"
#define HZ_LABEL_PORT "portcullis/wg-port"
#define HZ_LABEL_ENDPOINT "portcullis/wg-endpoint"   /* "public" | "private" */
#define HZ_DEFAULT_SELECTOR "portcullis/peer"
#define HZ_DEFAULT_ENDPOINT "https://api.hetzner.cloud/v1"
#define HZ_DEFAULT_ROBOT "https://robot-ws.your-server.de"

enum hz_limits {
	HZ_LABEL_LEN = 52,                  /* base32 of 32 bytes, unpadded */
	HZ_MAX_SERVERS = 1 << 16,
	HZ_MAX_ALIAS_IPS = 64,
	HZ_MAX_ROUTES = 4096,
	HZ_ERR_LEN = 256,
	HZ_PER_PAGE = 50,
	/* The parsers refuse a longer reply: a page of 50 servers is about
	 * 350 KB, a network with HZ_MAX_ROUTES routes about 250 KB.  The HTTP
	 * layer may stop reading at this size. */
	HZ_MAX_REPLY = 4 << 20,
};

/* --- Label codec ---------------------------------------------------------- */

/* RFC 4648 base32, unpadded, lower case (labels are case-sensitive; we
 * accept either case when reading).  out: HZ_LABEL_LEN + 1 bytes. */
void hz_key_to_label(char out[HZ_LABEL_LEN + 1], const uint8_t key[32]);
/* 0, or -EINVAL for anything but 52 base32 characters encoding 32 bytes
 * (the unused low bits of the last character must be zero). */
int hz_key_from_label(uint8_t key[32], const char *label);

/* --- The API's objects, as far as we use them ------------------------------ */

struct hz_label {
	char *key, *value;
};

struct hz_private_net {
	uint64_t network;                   /* network id */
	struct ip_addr ip;                  /* IPv4 */
	struct ip_addr *alias_ips;
	size_t n_alias_ips;
};

struct hz_server {
	uint64_t id;
	char *name;
	struct hz_label *labels;
	size_t n_labels;
	struct ip_addr ipv4;                /* public; family IP_NONE: null */
	struct hz_private_net *private_net;
	size_t n_private_net;
};

struct hz_servers {
	struct hz_server *servers;
	size_t n_servers;
};

struct hz_route {
	struct ip_prefix destination;
	struct ip_addr gateway;
};

struct hz_network {
	uint64_t id;
	char *name;
	struct ip_prefix ip_range;
	struct hz_route *routes;
	size_t n_routes;
};

/* One cloud_network[] entry of a vSwitch: the subnet (of type vswitch) of
 * a Cloud Network that the vSwitch's VLAN lives in, and its gateway, the
 * router between the VLAN and the rest of that Network. */
struct hz_vswitch_net {
	uint64_t network;                   /* Cloud Network id */
	struct ip_prefix subnet;            /* ip/mask, masked */
	struct ip_addr gateway;
};

struct hz_vswitch {
	uint64_t id;
	uint16_t vlan;
	struct hz_vswitch_net *cloud_networks;
	size_t n_cloud_networks;
};

enum hz_action_status { HZ_ACTION_RUNNING, HZ_ACTION_SUCCESS, HZ_ACTION_ERROR };

struct hz_action {
	uint64_t id;
	enum hz_action_status status;
	char error_code[64], error_message[160];   /* when status is error */
};

/* Parsers: JSON text -> object.  0, or -EINVAL with a one-line reason
 * naming the field ("servers[3].private_net[0].ip: not a string"), or
 * -ENOMEM ("out of memory"); on an error *out is as it was before
 * (servers) or empty.  Every field we use must be there with its
 * documented type (null only where the API documents null: ipv4,
 * next_page); unknown fields are ignored; a server whose own fields are
 * bad makes the whole page bad (the last good state stays).  Addresses
 * are IPv4 (Networks are IPv4 only), prefixes are stored masked; server
 * names have control characters replaced by '?'.  Replies longer than
 * HZ_MAX_REPLY and duplicate object keys are refused.
 */
/* GET /servers page: appends to *out; *next_page 0 when it was the last.
 * meta.pagination.page and next_page are required, and next_page must
 * be after page (a server that sends us round in circles is refused). */
int hz_parse_servers_page(const char *json, size_t len, struct hz_servers *out,
			  uint32_t *next_page, char *err, size_t errlen);
/* GET /networks/{id} -> {"network":{...}}. */
int hz_parse_network(const char *json, size_t len, struct hz_network *out,
		     char *err, size_t errlen);
/* GET /networks?name=X -> the id of the one network named X (0 if none). */
int hz_parse_network_id_by_name(const char *json, size_t len, const char *name,
				uint64_t *id, char *err, size_t errlen);
/* Robot GET /vswitch/{id} (a bare object). */
int hz_parse_vswitch(const char *json, size_t len, struct hz_vswitch *out,
		     char *err, size_t errlen);
/* {"action":{...}} (add_route/delete_route replies, GET /actions/{id}). */
int hz_parse_action(const char *json, size_t len, struct hz_action *out,
		    char *err, size_t errlen);
/* Cloud {"error":{"code","message"}} or Robot {"error":{"status","code",
 * "message"}}: code and message copied (truncated, control characters
 * replaced; message "" when absent, as in hcloud-go's minimal 429 body);
 * -EINVAL if neither. */
int hz_parse_error(const char *json, size_t len, char *code, size_t codelen,
		   char *message, size_t msglen);

void hz_servers_free(struct hz_servers *s);
void hz_network_free(struct hz_network *n);
void hz_vswitch_free(struct hz_vswitch *v);

/* --- The desired state ------------------------------------------------------ */

struct hz_peer {
	uint8_t public_key[32];
	bool has_endpoint;
	struct ip_endpoint endpoint;
	struct ip_prefix *allowed_ips;      /* masked, sorted, unique, and on
					     * no other peer */
	size_t n_allowed_ips;
	uint64_t server_id;
	char *name;
};

struct hz_desired {
	struct hz_peer *peers;              /* sorted by public key */
	size_t n_peers;
	struct config_route *routes;        /* private side, from_api set */
	size_t n_routes;
	char **warnings;                    /* one line each, naming the
					     * server ("server 'web1' (42):
					     * label portcullis/wg-key is not
					     * a WireGuard key") */
	size_t n_warnings;
};

struct hz_options {
	const char *selector_key;           /* label key that marks a peer;
					     * NULL or "": not checked */
	uint64_t network_id;                /* used only when net is NULL */
};

/*
 * Servers (already filtered by the selector on the API side; checked again
 * here: the selector key must be present) + network (+ vswitch, NULL if
 * none) -> the desired peers and routes.  A server without the key label,
 * with a bad key, a bad port label, a bad endpoint label, or a key another
 * server already has (the lowest server id keeps it), is left out with a
 * warning; a server listed twice (pages shifting under us) counts once.
 * The Network is net->id (opt->network_id when net is NULL: no AllowedIPs,
 * no routes).
 *  - A server with no private IP in the Network is kept, with a warning:
 *    it has no AllowedIPs, and no endpoint either if it has no IPv4.
 *  - A prefix two servers would own stays with the lower server id (a
 *    warning names the other): each prefix is on one peer at most.
 *  - Routes: without a vSwitch, ip_range via its first address; with one,
 *    ip_range via the gateway of the vSwitch's cloud_network entry for this
 *    Network (the gateway is on the VLAN, the Network's own gateway is
 *    not; the vSwitch subnet itself is on-link, so it gets no route).  A
 *    vSwitch not coupled to the Network gives a warning and no route.
 *    Network routes not owned by a peer are not mirrored (a 0.0.0.0/0 via
 *    some other NAT box would take the gateway's own default route).
 * Warnings are in a stable order (label checks by server id, then peers
 * by server id, then prefix conflicts by prefix), so the same project
 * gives the same output whatever the page order.  0 or -ENOMEM (out is
 * then empty).
 */
int hz_desired_compute(const struct hz_servers *servers, const struct hz_network *net,
		       const struct hz_vswitch *vswitch, const struct hz_options *opt,
		       struct hz_desired *out);
void hz_desired_free(struct hz_desired *d);

/* --- The loop --------------------------------------------------------------- */

struct hetzner;

struct hetzner_status {
	bool running;                       /* false: stopped (401/403) */
	bool dry_run;
	uint64_t last_success;              /* ns since the epoch, 0: never */
	uint64_t last_attempt;
	uint64_t next_poll;                 /* ns since the epoch */
	char last_error[HZ_ERR_LEN];        /* "" if the last round was good */
	uint64_t rounds_ok, rounds_failed, requests, retries;
	long ratelimit_limit, ratelimit_remaining;  /* -1: not seen yet */
	uint64_t ratelimit_reset;           /* seconds since the epoch */
	unsigned consecutive_failures;
	unsigned n_peers, n_routes, n_warnings;     /* of the last good round */
	char route_state[96];               /* ManageRoute: "in place",
					     * "added", "replaced ...", error */
};

/*
 * Start the loop thread with a copy of conf.  private_ip: the bastion's
 * address in the Network (for ManageRoute), IP_NONE if unknown.  The token
 * (TokenFile, 0600 or stricter, or HCLOUD_TOKEN) and Robot credentials are
 * read here: errors as text, and then nothing runs.
 */
int hetzner_start(struct hetzner **out, const struct config_hetzner *conf,
		  const struct ip_addr *private_ip, char *err, size_t errlen);
/* Stop and join the thread, wipe the token.  NULL is fine. */
void hetzner_stop(struct hetzner *h);
/* Control thread: the newest good desired state not yet taken (ownership
 * passes to the caller), or NULL.  Never blocks for long (a mutex the loop
 * holds only to swap pointers). */
struct hz_desired *hetzner_take(struct hetzner *h);
/* The last good desired state, copied (for `plan` and after a reload);
 * -ENOENT if there was none yet. */
int hetzner_last(struct hetzner *h, struct hz_desired *out);
/* Poll now instead of at next_poll (CLI `hetzner sync`). */
void hetzner_kick(struct hetzner *h);
void hetzner_status_get(struct hetzner *h, struct hetzner_status *out);

/* Backoff for the n-th consecutive failure (n >= 1): base 1 s doubling,
 * capped at 60 s, with "full jitter" from rnd in [0, 1).  In ns. */
uint64_t hz_backoff_ns(unsigned n, double rnd);

#endif
