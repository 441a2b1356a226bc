/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [NAT] section of the config: its key table, one small parser per
 * key, and the checks that need the whole file.  The data model is
 * include/portcullis/nat_config.h; config/README.md documents the keys and
 * config/bastion-nat.conf shows each one.
 *
 * NAT here is NAT44 only.  The behaviour the keys tune comes from RFC 4787
 * (UDP), RFC 5382 (TCP) and RFC 5508 (ICMP); timeouts below what those
 * RFCs require are refused, naming the requirement, rather than clamped:
 * a config that silently means something else than it says is worse than
 * one that does not load.
 *
 * As in config_keys.c, every handler gets a trimmed, NUL-terminated value
 * it may modify and returns 0 or the result of config_bad().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_edit.h"
#include "config_internal.h"

enum {
	/* Longer than any RFC asks for, short enough to catch a typo such
	 * as 74400 for 7440 turning into a table that never empties. */
	NAT_TIMEOUT_MAX = 7 * 24 * 3600,
	/* "udp 255.255.255.255:65535" needs 26; the compiler cannot know
	 * the address is IPv4, so leave room for an IPv6 one. */
	FORWARD_TEXT_LEN = INET6_ADDRSTRLEN + 16,
};

/* The lowest timeouts the RFCs allow, and the requirement saying so. */
static const struct {
	uint32_t min;
	const char *rule;
} timeout_rules[NAT_TIMEOUT_COUNT] = {
	[NAT_TIMEOUT_UDP] = { NAT_MIN_UDP_TIMEOUT, "RFC 4787 REQ-5" },
	[NAT_TIMEOUT_TCP_ESTABLISHED] = { NAT_MIN_TCP_ESTABLISHED, "RFC 5382 REQ-5" },
	[NAT_TIMEOUT_TCP_TRANSITORY] = { NAT_MIN_TCP_TRANSITORY, "RFC 5382 REQ-5" },
	[NAT_TIMEOUT_ICMP] = { NAT_MIN_ICMP_TIMEOUT, "RFC 5508 REQ-1" },
};

static struct nat_config *nat(struct config_parser *p)
{
	return &p->cfg->nat;
}

/* An address a NAT may translate to or forward to: not 0/8 ("this
 * network", RFC 1122), not loopback, not multicast, reserved (240/4) or
 * broadcast. */
static bool is_usable4(const struct ip_addr *a)
{
	return a->bytes[0] != 0 && a->bytes[0] != 127 && a->bytes[0] < 224;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP_ ? "tcp" : "udp";
}

/* "tcp 2222" or "tcp 203.0.113.11:2222": a forward's outside end. */
static void format_outside(char *out, size_t len, uint8_t proto,
			   const struct ip_addr *a, uint16_t port)
{
	char addr[INET6_ADDRSTRLEN];

	if (a->family == IP_NONE) {
		snprintf(out, len, "%s %u", proto_name(proto), port);
		return;
	}
	config_addr_format(addr, sizeof(addr), a);
	snprintf(out, len, "%s %s:%u", proto_name(proto), addr, port);
}

/* --- Masquerade, ExternalAddress, PortRange ------------------------------ */

/* Host bits are cleared, as for AllowedIPs: "10.0.0.1/16" means the
 * network the gateway's private address is in. */
static int nat_masquerade_item(struct config_parser *p,
			       const struct config_key *key, char *item)
{
	struct nat_config *c = nat(p);
	struct ip_prefix pfx;
	char text[INET6_ADDRSTRLEN + 8];

	if (config_prefix_parse(item, &pfx) != 0)
		return config_bad(p, "bad %s %s", key->name, config_quote(p, item));
	if (pfx.addr.family != IP_V4)
		return config_bad(p, "bad %s %s (IPv4 only: IPv6 is routed, not translated; NAT66 is not supported)",
				  key->name, config_quote(p, item));
	config_prefix_mask(&pfx);
	for (unsigned i = 0; i < c->n_masquerade; i++) {
		if (c->masquerade[i].cidr == pfx.cidr &&
		    ip_addr_equal(&c->masquerade[i].addr, &pfx.addr)) {
			config_prefix_format(text, sizeof(text), &pfx);
			return config_bad(p, "duplicate %s %s (%s is already listed)",
					  key->name, config_quote(p, item), text);
		}
	}
	if (c->n_masquerade >= NAT_MAX_MASQUERADE)
		return config_bad(p, "too many %s entries (max %d)", key->name,
				  NAT_MAX_MASQUERADE);
	c->masquerade[c->n_masquerade++] = pfx;
	return 0;
}

static int nat_masquerade(struct config_parser *p, const struct config_key *key,
			  char *value)
{
	return config_list_for_each(p, key, value, nat_masquerade_item);
}

static int nat_external_address(struct config_parser *p,
				const struct config_key *key, char *value)
{
	struct ip_addr a;

	if (config_addr_parse(value, &a) != 0)
		return config_bad(p, "bad %s %s", key->name, config_quote(p, value));
	if (a.family != IP_V4)
		return config_bad(p, "bad %s %s (IPv4 only: NAT66 is not supported)",
				  key->name, config_quote(p, value));
	if (!is_usable4(&a))
		return config_bad(p, "bad %s %s (not a usable unicast address)",
				  key->name, config_quote(p, value));
	nat(p)->external = a;
	return 0;
}

/* "low-high", both ends included.  Two ports at least, so that both
 * parities exist for RFC 4787 REQ-4 (port parity preservation). */
static int nat_port_range(struct config_parser *p, const struct config_key *key,
			  char *value)
{
	const char *q = config_quote(p, value);
	char *dash = strchr(value, '-');
	unsigned long lo, hi;

	if (!dash)
		return config_bad(p, "bad %s %s (expected 'low-high', e.g. 1024-65535)",
				  key->name, q);
	*dash = '\0';
	if (config_uint_parse(config_trim(value), 65535, &lo) != 0 ||
	    config_uint_parse(config_trim(dash + 1), 65535, &hi) != 0 || lo == 0)
		return config_bad(p, "bad %s %s (ports must be 1..65535)",
				  key->name, q);
	if (lo > hi)
		return config_bad(p, "bad %s %s (low end above high end)",
				  key->name, q);
	if (lo == hi)
		return config_bad(p, "bad %s %s (needs at least 2 ports)",
				  key->name, q);
	nat(p)->port_min = (uint16_t)lo;
	nat(p)->port_max = (uint16_t)hi;
	return 0;
}

/* --- Forward ---------------------------------------------------------------- */

/* "addr:port" (or just "port" when an address is optional), IPv4 only.
 * Leaves addr IP_NONE when no address is given. */
static int parse_addr_port(struct config_parser *p, const char *q, char *text,
			   bool addr_optional, struct ip_addr *addr,
			   uint16_t *port)
{
	char *colon = strrchr(text, ':'), *port_text = text;
	unsigned long v;

	addr->family = IP_NONE;
	if (colon) {
		*colon = '\0';
		port_text = colon + 1;
		/* More than one ':' or a '[': someone wrote IPv6. */
		if (strchr(text, ':') || text[0] == '[')
			return config_bad(p, "bad Forward %s (IPv4 only: NAT66 is not supported)",
					  q);
		if (config_addr_parse(text, addr) != 0)
			return config_bad(p, "bad Forward %s (bad address)", q);
		if (!is_usable4(addr))
			return config_bad(p, "bad Forward %s (not a usable unicast address)",
					  q);
	} else if (!addr_optional) {
		return config_bad(p, "bad Forward %s (the inside end needs address:port)",
				  q);
	}
	if (config_uint_parse(port_text, 65535, &v) != 0 || v == 0)
		return config_bad(p, "bad Forward %s (port must be 1..65535)", q);
	*port = (uint16_t)v;
	return 0;
}

/* "tcp" or "udp", any case. */
static int parse_forward_proto(struct config_parser *p, const char *q,
			       const char *proto, uint8_t *out)
{
	if (strcasecmp(proto, "tcp") == 0)
		*out = IPPROTO_TCP_;
	else if (strcasecmp(proto, "udp") == 0)
		*out = IPPROTO_UDP_;
	else
		return config_bad(p, "bad Forward %s (protocol must be tcp or udp)",
				  q);
	return 0;
}

/* The three parts of a forward, split already: its [NAT] line's and the
 * CLI's (config_forward_add) one parser.  q quotes the whole value for
 * messages; outside and inside are modified. */
static int parse_forward_parts(struct config_parser *p, const char *q,
			       const char *proto, char *outside, char *inside,
			       struct nat_forward *f)
{
	int ret = parse_forward_proto(p, q, proto, &f->proto);

	if (ret == 0)
		ret = parse_addr_port(p, q, outside, true, &f->external,
				      &f->external_port);
	if (ret == 0)
		ret = parse_addr_port(p, q, inside, false, &f->internal,
				      &f->internal_port);
	return ret;
}

/* "tcp|udp [addr:]port -> addr:port"; blanks around "->" are optional. */
static int parse_forward(struct config_parser *p, const char *q, char *value,
			 struct nat_forward *f)
{
	char *arrow = strstr(value, "->"), *save = NULL, *proto, *outside;
	char *inside;

	if (!arrow)
		return config_bad(p, "bad Forward %s (expected 'tcp|udp [address:]port -> address:port')",
				  q);
	*arrow = '\0';
	inside = config_trim(arrow + 2);
	proto = strtok_r(value, " \t", &save);
	outside = strtok_r(NULL, " \t", &save);
	if (!proto || !outside || strtok_r(NULL, " \t", &save) ||
	    *inside == '\0' || strpbrk(inside, " \t"))
		return config_bad(p, "bad Forward %s (expected 'tcp|udp [address:]port -> address:port')",
				  q);
	return parse_forward_parts(p, q, proto, outside, inside, f);
}

/* Where a forward came from, for messages: "at line 12", or "at runtime"
 * for one added through the CLI (line 0). */
static const char *forward_origin(char out[32], unsigned line)
{
	if (line)
		snprintf(out, 32, "at line %u", line);
	else
		snprintf(out, 32, "at runtime");
	return out;
}

/* Append f to the forwards.  Exact duplicates (as written) are caught
 * here, at the line that repeats one; a port given once with and once
 * without the default address can only be seen at the end of the file
 * (check_forwards).  The scan is quadratic but bounded by
 * NAT_MAX_FORWARDS (8M comparisons of a few bytes at worst, a few
 * milliseconds, once per load). */
static int forward_append(struct config_parser *p, const struct nat_forward *f)
{
	struct nat_config *c = nat(p);
	char text[FORWARD_TEXT_LEN], where[32];
	void *arr = c->forwards;

	for (unsigned i = 0; i < c->n_forwards; i++) {
		const struct nat_forward *o = &c->forwards[i];

		if (o->proto == f->proto && o->external_port == f->external_port &&
		    ip_addr_equal(&o->external, &f->external)) {
			format_outside(text, sizeof(text), f->proto, &f->external,
				       f->external_port);
			return config_bad(p, "duplicate Forward %s (first %s)",
					  text, forward_origin(where, o->line));
		}
		/* Endpoint-independent mapping: an inside endpoint has one
		 * outside port, which its own outbound traffic uses too. */
		if (o->proto == f->proto && o->internal_port == f->internal_port &&
		    ip_addr_equal(&o->internal, &f->internal)) {
			config_addr_format(text, sizeof(text), &f->internal);
			return config_bad(p, "Forward to %s %s:%u: already forwarded %s "
					  "(an inside endpoint has one outside port)",
					  proto_name(f->proto), text,
					  f->internal_port,
					  forward_origin(where, o->line));
		}
	}
	if (c->n_forwards >= NAT_MAX_FORWARDS)
		return config_bad(p, "too many Forward entries (max %d)",
				  NAT_MAX_FORWARDS);
	if (config_array_reserve(&arr, c->n_forwards, sizeof(*f)) != 0)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	c->forwards = arr;
	c->forwards[c->n_forwards++] = *f;
	return 0;
}

static int nat_forward(struct config_parser *p, const struct config_key *key,
		       char *value)
{
	const char *q = config_quote(p, value);
	struct nat_forward f = { .line = p->line };
	int ret = parse_forward(p, q, value, &f);

	(void)key;                          /* always "Forward" */
	return ret ? ret : forward_append(p, &f);
}

/* --- the other keys ----------------------------------------------------------- */

static int nat_filtering(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	if (strcasecmp(value, "address-and-port-dependent") == 0)
		nat(p)->filtering = NAT_FILTER_ADDRESS_AND_PORT_DEPENDENT;
	else if (strcasecmp(value, "endpoint-independent") == 0)
		nat(p)->filtering = NAT_FILTER_ENDPOINT_INDEPENDENT;
	else
		return config_bad(p, "bad %s %s (must be address-and-port-dependent or endpoint-independent)",
				  key->name, config_quote(p, value));
	return 0;
}

static int set_timeout(struct config_parser *p, const struct config_key *key,
		       const char *value, enum nat_timeout_kind kind)
{
	uint32_t min = timeout_rules[kind].min;
	unsigned long v = 0;
	int ret = config_uint_parse(value, NAT_TIMEOUT_MAX, &v);

	if (ret == -EINVAL)
		return config_bad(p, "bad %s %s (seconds, %u..%d)", key->name,
				  config_quote(p, value), min, NAT_TIMEOUT_MAX);
	if (ret != 0)
		return config_bad(p, "bad %s %s (at most %d seconds, one week)",
				  key->name, config_quote(p, value),
				  NAT_TIMEOUT_MAX);
	if (v < min)
		return config_bad(p, "bad %s %s (%s requires at least %u seconds)",
				  key->name, config_quote(p, value),
				  timeout_rules[kind].rule, min);
	nat(p)->timeout[kind] = (uint32_t)v;
	return 0;
}

static int nat_udp_timeout(struct config_parser *p,
			   const struct config_key *key, char *value)
{
	return set_timeout(p, key, value, NAT_TIMEOUT_UDP);
}

static int nat_tcp_established_timeout(struct config_parser *p,
				       const struct config_key *key, char *value)
{
	return set_timeout(p, key, value, NAT_TIMEOUT_TCP_ESTABLISHED);
}

static int nat_tcp_transitory_timeout(struct config_parser *p,
				      const struct config_key *key, char *value)
{
	return set_timeout(p, key, value, NAT_TIMEOUT_TCP_TRANSITORY);
}

static int nat_icmp_timeout(struct config_parser *p,
			    const struct config_key *key, char *value)
{
	return set_timeout(p, key, value, NAT_TIMEOUT_ICMP);
}

static int nat_max_sessions(struct config_parser *p,
			    const struct config_key *key, char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, NAT_MIN_MAX_SESSIONS,
				      NAT_MAX_MAX_SESSIONS, &v);

	if (ret == 0)
		nat(p)->max_sessions = (uint32_t)v;
	return ret;
}

static int nat_mss_clamp(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	unsigned long v;

	if (strcasecmp(value, "auto") == 0)
		nat(p)->mss_clamp = NAT_MSS_AUTO;
	else if (strcasecmp(value, "off") == 0)
		nat(p)->mss_clamp = NAT_MSS_OFF;
	else if (config_uint_parse(value, NAT_MSS_MAX, &v) == 0 &&
		 v >= NAT_MSS_MIN)
		nat(p)->mss_clamp = (int32_t)v;
	else
		return config_bad(p, "bad %s %s (must be auto, off or %d..%d)",
				  key->name, config_quote(p, value), NAT_MSS_MIN,
				  NAT_MSS_MAX);
	return 0;
}

int config_bool_parse(struct config_parser *p, const struct config_key *key,
		      const char *value, bool *out)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcasecmp(value, "on") == 0)
		*out = true;
	else if (strcasecmp(value, "no") == 0 ||
		 strcasecmp(value, "false") == 0 ||
		 strcasecmp(value, "off") == 0)
		*out = false;
	else
		return config_bad(p, "bad %s %s (must be yes or no)", key->name,
				  config_quote(p, value));
	return 0;
}

static int nat_allow_tunnel_to_private(struct config_parser *p,
				       const struct config_key *key, char *value)
{
	return config_bool_parse(p, key, value, &nat(p)->allow_tunnel_to_private);
}

static int nat_allow_private_to_tunnel(struct config_parser *p,
				       const struct config_key *key, char *value)
{
	return config_bool_parse(p, key, value, &nat(p)->allow_private_to_tunnel);
}

/* --- the key table ---------------------------------------------------------- */

const struct config_key config_nat_keys[] = {
	{ "Masquerade", SECTION_NAT, KEY_REPEATABLE, nat_masquerade },
	{ "ExternalAddress", SECTION_NAT, 0, nat_external_address },
	{ "PortRange", SECTION_NAT, 0, nat_port_range },
	{ "Forward", SECTION_NAT, KEY_REPEATABLE, nat_forward },
	{ "Filtering", SECTION_NAT, 0, nat_filtering },
	{ "UDPTimeout", SECTION_NAT, 0, nat_udp_timeout },
	{ "TCPEstablishedTimeout", SECTION_NAT, 0, nat_tcp_established_timeout },
	{ "TCPTransitoryTimeout", SECTION_NAT, 0, nat_tcp_transitory_timeout },
	{ "ICMPTimeout", SECTION_NAT, 0, nat_icmp_timeout },
	{ "MaxSessions", SECTION_NAT, 0, nat_max_sessions },
	{ "MSSClamp", SECTION_NAT, 0, nat_mss_clamp },
	{ "AllowTunnelToPrivate", SECTION_NAT, 0, nat_allow_tunnel_to_private },
	{ "AllowPrivateToTunnel", SECTION_NAT, 0, nat_allow_private_to_tunnel },
};

#define N_NAT_KEYS (sizeof(config_nat_keys) / sizeof(config_nat_keys[0]))

const size_t config_nat_n_keys = N_NAT_KEYS;

_Static_assert(N_NAT_KEYS <= CONFIG_KEY_SLOTS,
	       "config_parser.seen is too small for the [NAT] key table");

/* --- whole-file checks ------------------------------------------------------- */

/* ExternalAddress, else the first IPv4 Address of [Port public] (what the
 * table builder will fill in).  False: there is none. */
static bool default_external(const struct config *cfg, struct ip_addr *out)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];

	if (cfg->nat.external.family == IP_V4) {
		*out = cfg->nat.external;
		return true;
	}
	for (size_t i = 0; i < pub->n_addresses; i++) {
		if (pub->addresses[i].addr.family == IP_V4) {
			*out = pub->addresses[i].addr;
			return true;
		}
	}
	return false;
}

/* The address a forward listens on once the default is filled in. */
static const struct ip_addr *outside_addr(const struct nat_forward *f,
					  const struct ip_addr *dflt)
{
	return f->external.family != IP_NONE ? &f->external : dflt;
}

static bool on_public_port(const struct config *cfg, const struct ip_addr *a)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];

	for (size_t i = 0; i < pub->n_addresses; i++)
		if (ip_addr_equal(&pub->addresses[i].addr, a))
			return true;
	return false;
}

/* WireGuard takes every UDP packet for ListenPort on a public address
 * (dataplane/worker.c, wg_message_offset), so a UDP forward there could
 * never receive anything.  ExternalAddress is refused as well even when
 * it is not on the port (a Floating IP): "udp 51820" on the gateway's
 * main NAT address reads as WireGuard's port to anyone, and forwarding it
 * elsewhere is almost certainly a mistake. */
static int check_listen_port(struct config_parser *p, const struct ip_addr *dflt)
{
	const struct config *cfg = p->cfg;
	uint16_t listen = cfg->iface.listen_port;
	char text[FORWARD_TEXT_LEN];

	for (unsigned i = 0; i < cfg->nat.n_forwards; i++) {
		const struct nat_forward *f = &cfg->nat.forwards[i];
		const struct ip_addr *ext = outside_addr(f, dflt);

		if (f->proto != IPPROTO_UDP_ || f->external_port != listen ||
		    !(ip_addr_equal(ext, dflt) || on_public_port(cfg, ext)))
			continue;
		format_outside(text, sizeof(text), f->proto, ext, f->external_port);
		return config_error(p, -EINVAL, f->line,
				    "Forward %s clashes with ListenPort %u (WireGuard receives that port)",
				    text, listen);
	}
	return 0;
}

struct forward_ref {
	struct ip_addr ext;                 /* the address in effect */
	uint16_t port;
	uint8_t proto;
	unsigned line;
};

/* Lines in the order forwards were added: the file's, then those added
 * at runtime (line 0), so a runtime forward is the one reported. */
static unsigned line_order(unsigned line)
{
	return line ? line : UINT_MAX;
}

static int cmp_forward_ref(const void *a, const void *b)
{
	const struct forward_ref *x = a, *y = b;
	unsigned lx = line_order(x->line), ly = line_order(y->line);
	int c = memcmp(x->ext.bytes, y->ext.bytes, 4);

	if (c != 0)
		return c;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (lx > ly) - (lx < ly);
}

static bool same_outside(const struct forward_ref *a,
			 const struct forward_ref *b)
{
	return a->proto == b->proto && a->port == b->port &&
	       ip_addr_equal(&a->ext, &b->ext);
}

/* refs sorted: reports the earliest line that repeats a forward once the
 * default address is filled in, then counts the external addresses. */
static int check_forward_refs(struct config_parser *p,
			      const struct forward_ref *refs, size_t n,
			      const struct ip_addr *dflt)
{
	const struct forward_ref *first = NULL, *again = NULL;
	unsigned distinct = 0;
	bool has_default = false;
	char text[FORWARD_TEXT_LEN], addr[INET6_ADDRSTRLEN], where[32];

	for (size_t i = 0; i < n; i++) {
		if (i == 0 || !ip_addr_equal(&refs[i].ext, &refs[i - 1].ext))
			distinct++;
		has_default |= ip_addr_equal(&refs[i].ext, dflt);
		if (i > 0 && same_outside(&refs[i - 1], &refs[i]) &&
		    (!again ||
		     line_order(refs[i].line) < line_order(again->line))) {
			first = &refs[i - 1];
			again = &refs[i];
		}
	}
	if (again) {
		format_outside(text, sizeof(text), again->proto, &again->ext,
			       again->port);
		config_addr_format(addr, sizeof(addr), dflt);
		return config_error(p, -EINVAL, again->line,
				    "duplicate Forward %s (first %s; a Forward without an address uses %s)",
				    text, forward_origin(where, first->line), addr);
	}
	if (!has_default)
		distinct++;
	if (distinct > NAT_MAX_EXTERNAL)
		return config_error(p, -EINVAL, p->nat_line,
				    "[NAT] uses %u external addresses (max %d)",
				    distinct, NAT_MAX_EXTERNAL);
	return 0;
}

static int check_forwards(struct config_parser *p, const struct ip_addr *dflt)
{
	const struct nat_config *c = &p->cfg->nat;
	struct forward_ref *refs;
	int ret;

	if (c->n_forwards == 0)
		return 0;
	refs = calloc(c->n_forwards, sizeof(*refs));
	if (!refs)
		return config_error(p, -ENOMEM, 0, "out of memory");
	for (unsigned i = 0; i < c->n_forwards; i++) {
		const struct nat_forward *f = &c->forwards[i];

		refs[i] = (struct forward_ref){
			.ext = *outside_addr(f, dflt),
			.port = f->external_port, .proto = f->proto,
			.line = f->line,
		};
	}
	/* Sorting keeps this n log n however many forwards there are. */
	qsort(refs, c->n_forwards, sizeof(*refs), cmp_forward_ref);
	ret = check_forward_refs(p, refs, c->n_forwards, dflt);
	free(refs);
	return ret;
}

int config_nat_check(struct config_parser *p)
{
	struct ip_addr dflt;
	int ret;

	if (!p->cfg->nat.enabled)
		return 0;
	if (!p->cfg->ports[PORT_PUBLIC].present)
		return config_error(p, -EINVAL, p->nat_line,
				    "[NAT] needs a [Port public] section");
	if (!default_external(p->cfg, &dflt))
		return config_error(p, -EINVAL, p->nat_line,
				    "[NAT] needs ExternalAddress or an IPv4 Address on [Port public]");
	ret = check_listen_port(p, &dflt);
	if (ret == 0)
		ret = check_forwards(p, &dflt);
	return ret;
}

/* --- runtime forwards (portcullisctl forward add/remove) ----------------------- */

/*
 * A CLI edit runs the [NAT] line's parser and the whole-file checks on the
 * config being edited, at no line: a message about the new forward comes
 * out as "file: reason", and the reply wants the reason alone.  One about
 * a line of the file (a forward there that a later `wg set listen-port`
 * made clash) keeps its "file:line: ".
 */
struct runtime_edit {
	struct config_parser p;
	char msg[CONFIG_ERR_LEN];
};

static void runtime_begin(struct runtime_edit *e, struct config *cfg)
{
	memset(e, 0, sizeof(*e));
	e->p.name = cfg->path ? cfg->path : "config";
	e->p.cfg = cfg;
	e->p.err = e->msg;
	e->p.errlen = sizeof(e->msg);
}

static int runtime_end(struct runtime_edit *e, int ret, char *err,
		       size_t errlen)
{
	size_t n = strlen(e->p.name);
	const char *reason = e->msg;

	if (ret != 0 && errlen > 0) {
		if (strncmp(reason, e->p.name, n) == 0 &&
		    strncmp(reason + n, ": ", 2) == 0)
			reason += n + 2;
		snprintf(err, errlen, "%s", reason);
	}
	return ret;
}

static int no_nat(struct runtime_edit *e)
{
	return config_error(&e->p, -EINVAL, 0,
			    "no [NAT] section in the config: forwards need one");
}

int config_nat_recheck(struct config *cfg, char *err, size_t errlen)
{
	struct runtime_edit e;

	runtime_begin(&e, cfg);
	return runtime_end(&e, config_nat_check(&e.p), err, errlen);
}

int config_forward_add(struct config *cfg, const char *proto,
		       const char *external, const char *to,
		       char *err, size_t errlen)
{
	struct nat_forward f = { .line = 0 };
	struct runtime_edit e;
	char *outside = strdup(external), *inside = strdup(to), *text = NULL;
	const char *q;
	int ret;

	runtime_begin(&e, cfg);
	if (!outside || !inside ||
	    asprintf(&text, "%s %s -> %s", proto, external, to) < 0) {
		text = NULL;
		ret = config_error(&e.p, -ENOMEM, 0, "out of memory");
		goto out;
	}
	q = config_quote(&e.p, text);
	if (!cfg->nat.enabled) {
		ret = no_nat(&e);
		goto out;
	}
	ret = parse_forward_parts(&e.p, q, proto, outside, inside, &f);
	if (ret == 0)
		ret = forward_append(&e.p, &f);
	if (ret != 0)
		goto out;
	/* The checks that see every forward, the new one last. */
	ret = config_nat_check(&e.p);
	if (ret != 0)
		cfg->nat.n_forwards--;
out:
	free(outside);
	free(inside);
	free(text);
	return runtime_end(&e, ret, err, errlen);
}

int config_forward_remove(struct config *cfg, const char *proto,
			  const char *external, char *err, size_t errlen)
{
	struct nat_config *c = &cfg->nat;
	struct nat_forward f = { .line = 0 };
	struct runtime_edit e;
	char *outside = strdup(external), *text = NULL;
	char shown[FORWARD_TEXT_LEN];
	struct ip_addr dflt;
	const char *q;
	int ret;

	runtime_begin(&e, cfg);
	if (!outside || asprintf(&text, "%s %s", proto, external) < 0) {
		text = NULL;
		ret = config_error(&e.p, -ENOMEM, 0, "out of memory");
		goto out;
	}
	q = config_quote(&e.p, text);
	if (!c->enabled || !default_external(cfg, &dflt)) {
		ret = no_nat(&e);
		goto out;
	}
	ret = parse_forward_proto(&e.p, q, proto, &f.proto);
	if (ret == 0)
		ret = parse_addr_port(&e.p, q, outside, true, &f.external,
				      &f.external_port);
	if (ret != 0)
		goto out;
	/* "2222" and "203.0.113.2:2222" name the same forward when
	 * 203.0.113.2 is the default address, as check_forwards sees it. */
	for (unsigned i = 0; i < c->n_forwards; i++) {
		const struct nat_forward *o = &c->forwards[i];

		if (o->proto == f.proto && o->external_port == f.external_port &&
		    ip_addr_equal(outside_addr(o, &dflt),
				  outside_addr(&f, &dflt))) {
			memmove(&c->forwards[i], &c->forwards[i + 1],
				(c->n_forwards - i - 1) * sizeof(*o));
			c->n_forwards--;
			goto out;
		}
	}
	format_outside(shown, sizeof(shown), f.proto, outside_addr(&f, &dflt),
		       f.external_port);
	ret = config_error(&e.p, -EINVAL, 0, "no Forward %s", shown);
out:
	free(outside);
	free(text);
	return runtime_end(&e, ret, err, errlen);
}
