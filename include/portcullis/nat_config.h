/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [NAT] section as both sides see it: the config parser fills it, the
 * control thread copies it into the published tables, the NAT core reads
 * it.  IPv4 only (NAT44): the RFCs it follows (4787, 5382, 5508) are about
 * IPv4, and IPv6 on a Hetzner bastion is routed, not translated.
 */
#ifndef PORTCULLIS_NAT_CONFIG_H
#define PORTCULLIS_NAT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "portcullis/types.h"

enum nat_config_limits {
	NAT_MAX_MASQUERADE = 64,            /* prefixes in Masquerade */
	NAT_MAX_FORWARDS = 4096,            /* Forward lines */
	NAT_MAX_EXTERNAL = 8,               /* distinct external addresses */
};

enum nat_filtering {
	/* Our default: inbound only from the exact remote address and port
	 * the inside host sent to.  RFC 4787 REQ-8 allows it where strict
	 * filtering matters more than transparency, as on a bastion. */
	NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT = 0,
	/* Any remote may use an existing mapping ("full cone"). */
	NAT_FILTER_ENDPOINT_INDEPENDENT = 1,
};

enum nat_timeout_kind {
	NAT_TIMEOUT_UDP,                    /* RFC 4787 REQ-5: >= 120, default 300 */
	NAT_TIMEOUT_TCP_ESTABLISHED,        /* RFC 5382 REQ-5: >= 7440 */
	NAT_TIMEOUT_TCP_TRANSITORY,         /* RFC 5382 REQ-5: >= 240 */
	NAT_TIMEOUT_ICMP,                   /* RFC 5508 REQ-1: >= 60 */
	NAT_TIMEOUT_COUNT
};

/* Defaults and the lowest values the RFCs allow (seconds). */
enum nat_timeout_defaults {
	NAT_DEFAULT_UDP_TIMEOUT = 300,      NAT_MIN_UDP_TIMEOUT = 120,
	NAT_DEFAULT_TCP_ESTABLISHED = 7440, NAT_MIN_TCP_ESTABLISHED = 7440,
	NAT_DEFAULT_TCP_TRANSITORY = 240,   NAT_MIN_TCP_TRANSITORY = 240,
	NAT_DEFAULT_ICMP_TIMEOUT = 60,      NAT_MIN_ICMP_TIMEOUT = 60,
	NAT_DEFAULT_PORT_MIN = 1024,
	NAT_DEFAULT_PORT_MAX = 65535,
	NAT_DEFAULT_MAX_SESSIONS = 1000000,
	NAT_MIN_MAX_SESSIONS = 64,
	NAT_MAX_MAX_SESSIONS = 1 << 26,     /* the index has 30 bits */
};

/* MSSClamp: NAT_MSS_AUTO derives the value from the path MTU (MTU - 40 for
 * IPv4, MTU - 60 for IPv6); NAT_MSS_OFF leaves MSS alone; any other value
 * is the largest MSS let through, on the tunnel and the NAT paths. */
enum { NAT_MSS_OFF = 0, NAT_MSS_AUTO = -1, NAT_MSS_MIN = 536, NAT_MSS_MAX = 65495 };

/* Forward = tcp [203.0.113.10:]2222 -> 10.0.0.5:22 */
struct nat_forward {
	uint8_t proto;                      /* IPPROTO_TCP_ or IPPROTO_UDP_ */
	struct ip_addr external;            /* IP_NONE: the NAT's ExternalAddress */
	uint16_t external_port;             /* host order */
	struct ip_addr internal;            /* IPv4 */
	uint16_t internal_port;             /* host order */
	unsigned line;                      /* config line, for messages */
};

struct nat_config {
	bool enabled;                       /* a [NAT] section was given */
	struct ip_prefix masquerade[NAT_MAX_MASQUERADE];  /* IPv4, masked */
	unsigned n_masquerade;
	struct ip_addr external;            /* IP_NONE: the public port's first
					     * IPv4 address (filled in when the
					     * tables are built) */
	uint16_t port_min, port_max;        /* inclusive, host order */
	enum nat_filtering filtering;
	uint32_t timeout[NAT_TIMEOUT_COUNT]; /* seconds */
	uint32_t max_sessions;
	struct nat_forward *forwards;       /* heap array, n_forwards long */
	unsigned n_forwards;
	int32_t mss_clamp;                  /* NAT_MSS_AUTO / NAT_MSS_OFF / value */
	uint16_t listen_port;               /* the WireGuard UDP port: never an
					     * external UDP port (filled in with
					     * `external`; 0: none) */
	bool allow_tunnel_to_private;       /* default true */
	bool allow_private_to_tunnel;       /* default true */

	/* Derived by nat_config_index() when the tables are built, never by
	 * the parser: the distinct external addresses, and which ports
	 * forwards use, so the per-packet "is this an external address?" and
	 * the per-new-flow forward checks cost the same with 4096 forwards as
	 * with one.  n_external_addrs 0 / forward_ports NULL: not built (the
	 * checks then scan the forwards). */
	uint8_t external_addrs[NAT_MAX_EXTERNAL + 1][4];
	unsigned n_external_addrs;
	uint64_t *forward_ports;            /* NAT_FORWARD_BITMAP_WORDS */
};

/* forward_ports: one bit per port, for (TCP, UDP) x (external, internal). */
enum { NAT_FORWARD_BITMAP_WORDS = 2 * 2 * 65536 / 64 };

/* The values used when [NAT] is absent or a key is not given: NAT off,
 * MSS clamping auto (so the tunnel clamps by default), both tunnel <->
 * private directions allowed, the RFC default timeouts. */
static inline void nat_config_defaults(struct nat_config *c)
{
	*c = (struct nat_config){
		.port_min = NAT_DEFAULT_PORT_MIN,
		.port_max = NAT_DEFAULT_PORT_MAX,
		.filtering = NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT,
		.timeout = {
			[NAT_TIMEOUT_UDP] = NAT_DEFAULT_UDP_TIMEOUT,
			[NAT_TIMEOUT_TCP_ESTABLISHED] = NAT_DEFAULT_TCP_ESTABLISHED,
			[NAT_TIMEOUT_TCP_TRANSITORY] = NAT_DEFAULT_TCP_TRANSITORY,
			[NAT_TIMEOUT_ICMP] = NAT_DEFAULT_ICMP_TIMEOUT,
		},
		.max_sessions = NAT_DEFAULT_MAX_SESSIONS,
		.mss_clamp = NAT_MSS_AUTO,
		.allow_tunnel_to_private = true,
		.allow_private_to_tunnel = true,
	};
}

#endif
