/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The value side of the config parser for [Interface] and [Peer]: one
 * small function per key, their key table, config_key_find over every
 * section's table, and the key and address helpers that the control
 * socket and the CLI share ([Port], [NAT] and [Control] keys:
 * config_port.c, config_nat.c, config_control.c).
 *
 * Every handler gets a trimmed, NUL-terminated value that it may modify (a
 * copy of the line, wiped by the caller afterwards) and returns 0 or the
 * result of config_bad(), which has recorded "file:line: reason".
 */
/* reallocarray, strsep, getaddrinfo: the build passes -D_GNU_SOURCE, but
 * the one-line fuzz build does not. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sodium.h>

#include "config_internal.h"

enum {
	KEY_B64_LEN = 44,                   /* 32 bytes, '=' padded */
	KEY_FILE_MAX = 4096,                /* a key file is one short line */
	IFACE_MTU_MIN = 576,
	/* The tunnel MTU plus the IPv6 WireGuard overhead must still fit the
	 * largest port MTU (9000). */
	IFACE_MTU_MAX = 9000 - WG_OVERHEAD_IPV6,
	HOSTNAME_MAX = 253,                 /* RFC 1035 section 2.3.4 */
};

/* --- helpers shared with the control socket and CLI ---------------------- */

int config_key_from_base64(uint8_t key[NOISE_PUBLIC_KEY_LEN], const char *b64)
{
	size_t bin_len = 0;
	const char *end = NULL;

	/* wg's own rule: exactly 44 characters ending in one '=' of padding;
	 * libsodium also refuses non-zero bits in the unused tail. */
	if (strnlen(b64, KEY_B64_LEN + 1) != KEY_B64_LEN ||
	    b64[KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	if (sodium_base642bin(key, NOISE_PUBLIC_KEY_LEN, b64, KEY_B64_LEN, NULL,
			      &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != NOISE_PUBLIC_KEY_LEN || end != b64 + KEY_B64_LEN) {
		sodium_memzero(key, NOISE_PUBLIC_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void config_key_to_base64(char out[45], const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, NOISE_PUBLIC_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

/* Decimal digits only: no sign, no spaces, no hex (strtoul takes all three). */
int config_uint_parse(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int config_addr_parse(const char *text, struct ip_addr *out)
{
	struct ip_addr a = { 0 };

	if (inet_pton(AF_INET, text, a.bytes) == 1)
		a.family = IP_V4;
	else if (inet_pton(AF_INET6, text, a.bytes) == 1)
		a.family = IP_V6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

int config_prefix_parse(const char *text, struct ip_prefix *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	struct ip_prefix pfx = { 0 };
	unsigned long cidr;

	if (alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (config_addr_parse(addr, &pfx.addr) != 0)
		return -EINVAL;
	cidr = ip_addr_len(&pfx.addr) * 8;
	if (slash && config_uint_parse(slash + 1, cidr, &cidr) != 0)
		return -EINVAL;
	pfx.cidr = (uint8_t)cidr;
	*out = pfx;
	return 0;
}

void config_prefix_mask(struct ip_prefix *p)
{
	unsigned len = ip_addr_len(&p->addr), full = p->cidr / 8;

	if (full >= len)
		return;
	if (p->cidr % 8)
		p->addr.bytes[full++] &= (uint8_t)(0xff << (8 - p->cidr % 8));
	memset(p->addr.bytes + full, 0, len - full);
}

void config_addr_format(char *out, size_t len, const struct ip_addr *a)
{
	char buf[INET6_ADDRSTRLEN] = "(none)";

	if (a->family == IP_V4 || a->family == IP_V6)
		inet_ntop(a->family == IP_V4 ? AF_INET : AF_INET6, a->bytes,
			  buf, sizeof(buf));
	snprintf(out, len, "%s", buf);
}

void config_prefix_format(char *out, size_t len, const struct ip_prefix *p)
{
	char buf[INET6_ADDRSTRLEN];

	config_addr_format(buf, sizeof(buf), &p->addr);
	snprintf(out, len, "%s/%u", buf, p->cidr);
}

void config_endpoint_format(char *out, size_t len, const struct ip_endpoint *e)
{
	char buf[INET6_ADDRSTRLEN];

	config_addr_format(buf, sizeof(buf), &e->addr);
	snprintf(out, len, e->addr.family == IP_V6 ? "[%s]:%u" : "%s:%u", buf,
		 e->port);
}

/* --- small parsing helpers ------------------------------------------------ */

/* Comma lists, as wg and wg-quick write them ("10.0.0.2/32, fd00::2/128").
 * strsep, not strtok: an empty item between two commas is an error rather
 * than silently skipped. */
int config_list_for_each(struct config_parser *p, const struct config_key *key,
			 char *value, config_item_fn fn)
{
	char *item;
	int ret;

	if (*value == '\0')
		return 0;
	while ((item = strsep(&value, ",")) != NULL) {
		item = config_trim(item);
		if (*item == '\0')
			return config_bad(p, "bad %s '' (empty list item)",
					  key->name);
		ret = fn(p, key, item);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int config_number_parse(struct config_parser *p, const struct config_key *key,
			const char *value, unsigned long min, unsigned long max,
			unsigned long *out)
{
	if (config_uint_parse(value, max, out) != 0 || *out < min)
		return config_bad(p, "bad %s %s (must be %lu..%lu)", key->name,
				  config_quote(p, value), min, max);
	return 0;
}

static int parse_key(struct config_parser *p, const struct config_key *key,
		     const char *value, uint8_t out[NOISE_PUBLIC_KEY_LEN])
{
	/* Never quote the value: it may be a secret (or one pasted into the
	 * wrong key by mistake). */
	if (config_key_from_base64(out, value) != 0)
		return config_bad(p, "bad %s (not a base64 32-byte key)",
				  key->name);
	return 0;
}

int config_prefix_add(struct config_parser *p, const struct config_key *key,
		      const char *item, struct ip_prefix *arr, size_t *n,
		      bool need_cidr)
{
	struct ip_prefix pfx;

	if (config_prefix_parse(item, &pfx) != 0)
		return config_bad(p, "bad %s %s", key->name, config_quote(p, item));
	if (need_cidr && !strchr(item, '/'))
		return config_bad(p, "bad %s %s (prefix length required)",
				  key->name, config_quote(p, item));
	if (*n >= CONFIG_MAX_ADDRESSES)
		return config_bad(p, "too many %s entries (max %d)", key->name,
				  CONFIG_MAX_ADDRESSES);
	arr[(*n)++] = pfx;
	return 0;
}

static struct config_peer *current_peer(struct config_parser *p)
{
	return &p->cfg->peers[p->cfg->n_peers - 1];
}

/* --- [Interface] ----------------------------------------------------------- */

static int iface_private_key(struct config_parser *p,
			     const struct config_key *key, char *value)
{
	int ret = parse_key(p, key, value, p->cfg->iface.private_key);

	if (ret == 0) {
		p->cfg->iface.has_private_key = true;
		p->holds_private_key = true;
	}
	return ret;
}

char *config_path_beside(const char *config_name, const char *path)
{
	const char *slash = strrchr(config_name, '/');
	size_t dir_len, len;
	char *out;

	if (path[0] == '/' || !slash)
		return strdup(path);
	dir_len = (size_t)(slash - config_name) + 1;
	len = dir_len + strlen(path) + 1;
	out = malloc(len);
	if (out)
		snprintf(out, len, "%.*s%s", (int)dir_len, config_name, path);
	return out;
}

static int check_key_file(struct config_parser *p, const char *q, int ret,
			  unsigned mode)
{
	if (ret == -EINVAL)
		return config_bad(p, "PrivateKeyFile %s is not a regular file", q);
	if (ret == -EFBIG)
		return config_bad(p, "bad PrivateKeyFile %s (too large for a key)",
				  q);
	if (ret != 0)
		return config_error(p, ret, p->line,
				    "cannot read PrivateKeyFile %s: %s", q,
				    strerror(-ret));
	/* As ssh does for identity files: a key others can read is not
	 * private any more, and one others can write is not ours. */
	if (!(p->flags & CONFIG_NO_PERMISSION_CHECK) && (mode & 077))
		return config_error(p, -EACCES, p->line,
				    "PrivateKeyFile %s: permissions %04o are too open: the file holds a private key; chmod 600 it",
				    q, mode & 07777);
	return 0;
}

static int iface_private_key_file(struct config_parser *p,
				  const struct config_key *key, char *value)
{
	struct config_interface *iface = &p->cfg->iface;
	const char *q = config_quote(p, value);
	char *path = config_path_beside(p->name, value), *buf = NULL;
	size_t len = 0;
	unsigned mode = 0;
	int ret;

	(void)key;
	if (!path)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	ret = config_read_file(path, KEY_FILE_MAX, &buf, &len, &mode);
	ret = check_key_file(p, q, ret, mode);
	if (ret == 0 && (memchr(buf, '\0', len) ||
			 config_key_from_base64(iface->private_key,
						config_trim(buf)) != 0))
		ret = config_bad(p, "bad PrivateKeyFile %s (must hold one base64 32-byte key)",
				 q);
	if (ret == 0) {
		iface->has_private_key = true;
		iface->private_key_file = path;
		path = NULL;
	}
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
	free(path);
	return ret;
}

static int iface_listen_port(struct config_parser *p,
			     const struct config_key *key, char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, 1, 65535, &v);

	if (ret == 0) {
		p->cfg->iface.listen_port = (uint16_t)v;
		p->cfg->iface.has_listen_port = true;
	}
	return ret;
}

static int iface_address_item(struct config_parser *p,
			      const struct config_key *key, char *item)
{
	struct config_interface *iface = &p->cfg->iface;

	return config_prefix_add(p, key, item, iface->addresses,
				 &iface->n_addresses, false);
}

static int iface_address(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	return config_list_for_each(p, key, value, iface_address_item);
}

static int iface_mtu(struct config_parser *p, const struct config_key *key,
		     char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, IFACE_MTU_MIN,
				      IFACE_MTU_MAX, &v);

	if (ret == 0)
		p->cfg->iface.mtu = (uint16_t)v;
	return ret;
}

/* Strict hex digits (no prefix, sign or space), at most max. */
static int hex_parse(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (unsigned)((*s | 0x20) - 'a' + 10);
		else
			return -EINVAL;
		v = v * 16 + d;
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* As wg(8) reads it: "off" (or 0) for no mark, else 32 bits in decimal or
 * 0x hex.  Kept so that wg showconf reports it; a DPDK port has no socket
 * to mark. */
static int iface_fwmark(struct config_parser *p, const struct config_key *key,
			char *value)
{
	unsigned long v = 0;
	int ret = 0;

	if (strcasecmp(value, "off") != 0) {
		if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X'))
			ret = hex_parse(value + 2, UINT32_MAX, &v);
		else
			ret = config_uint_parse(value, UINT32_MAX, &v);
	}
	if (ret != 0)
		return config_bad(p, "bad %s %s (must be 0..4294967295, 0x hex or off)",
				  key->name, config_quote(p, value));
	p->cfg->iface.fwmark = (uint32_t)v;
	return 0;
}

/* wg-quick's own keys drive its shell hooks, resolvconf and the kernel
 * routing table, none of which portcullisd touches.  Accepting them lets a
 * file written by wg-quick load unchanged; the notice says they do nothing. */
static int wg_quick_only(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	(void)value;
	config_notice(p, p->line, "wg-quick key '%s' is ignored by portcullisd",
		      key->name);
	return 0;
}

/* --- [Peer] ---------------------------------------------------------------- */

static int peer_public_key(struct config_parser *p,
			   const struct config_key *key, char *value)
{
	return parse_key(p, key, value, current_peer(p)->public_key);
}

static int peer_preshared_key(struct config_parser *p,
			      const struct config_key *key, char *value)
{
	struct config_peer *peer = current_peer(p);
	int ret = parse_key(p, key, value, peer->preshared_key);

	if (ret == 0) {
		peer->has_preshared_key = true;
		p->holds_preshared_key = true;
	}
	return ret;
}

/* Letters, digits, '-', '_' and dots, and a last label that is not all
 * digits: getaddrinfo would read "10.1" as an IPv4 address (inet_aton
 * rules), which is never what a config author meant. */
static bool valid_hostname(const char *host)
{
	size_t len = strlen(host);
	const char *last = strrchr(host, '.');
	bool numeric = true;

	if (len == 0 || len > HOSTNAME_MAX || host[0] == '-' || host[0] == '.')
		return false;
	for (const char *c = host; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' ||
		      *c == '_'))
			return false;
	for (const char *c = last ? last + 1 : host; *c; c++)
		if (*c < '0' || *c > '9')
			numeric = false;
	return !numeric;
}

/* Called once at load time, like wg-quick (wg resolves when it sets the
 * peer); the first address returned wins. */
static int resolve_endpoint(struct config_parser *p, struct config_peer *peer,
			    const char *host, const char *q)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_protocol = IPPROTO_UDP };
	struct addrinfo *res = NULL, *ai;
	char text[INET6_ADDRSTRLEN + 8];
	int rc;

	if (p->flags & CONFIG_NO_DNS) {
		config_notice(p, p->line, "Endpoint %s not resolved (DNS disabled)", q);
		return 0;
	}
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		return config_error(p, -EHOSTUNREACH, p->line,
				    "cannot resolve Endpoint %s: %s", q,
				    gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			peer->endpoint.addr.family = IP_V4;
			memcpy(peer->endpoint.addr.bytes,
			       &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			break;
		}
		if (ai->ai_family == AF_INET6) {
			peer->endpoint.addr.family = IP_V6;
			memcpy(peer->endpoint.addr.bytes,
			       &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			break;
		}
	}
	freeaddrinfo(res);
	if (!ai)
		return config_error(p, -EHOSTUNREACH, p->line,
				    "cannot resolve Endpoint %s: no address", q);
	peer->has_endpoint = true;
	config_endpoint_format(text, sizeof(text), &peer->endpoint);
	config_notice(p, p->line, "Endpoint %s resolved to %s", q, text);
	return 0;
}

/* Splits "host:port" / "[v6]:port" in place.  A bare IPv6 address is
 * refused: whether its last group is a port would be a guess. */
static int split_endpoint(struct config_parser *p, const char *q, char *value,
			  char **host, char **port)
{
	char *close, *colon;

	if (value[0] == '[') {
		close = strchr(value, ']');
		if (!close)
			return config_bad(p, "bad Endpoint %s (no closing ']')", q);
		if (close[1] != ':')
			return config_bad(p, "bad Endpoint %s (missing port)", q);
		*close = '\0';
		*host = value + 1;
		*port = close + 2;
		return 0;
	}
	colon = strrchr(value, ':');
	if (!colon)
		return config_bad(p, "bad Endpoint %s (missing port)", q);
	*colon = '\0';
	if (strchr(value, ':'))
		return config_bad(p, "bad Endpoint %s (an IPv6 address needs brackets: [addr]:port)",
				  q);
	*host = value;
	*port = colon + 1;
	return 0;
}

static int peer_endpoint(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	struct config_peer *peer = current_peer(p);
	const char *q = config_quote(p, value);
	bool bracketed = value[0] == '[';
	unsigned long port;
	char *host = NULL, *port_text = NULL;
	int ret;

	(void)key;
	peer->endpoint_text = strdup(value);
	if (!peer->endpoint_text)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	ret = split_endpoint(p, q, value, &host, &port_text);
	if (ret != 0)
		return ret;
	if (config_uint_parse(port_text, 65535, &port) != 0 || port == 0)
		return config_bad(p, "bad Endpoint %s (port must be 1..65535)", q);
	peer->endpoint.port = (uint16_t)port;
	if (bracketed) {
		if (inet_pton(AF_INET6, host, peer->endpoint.addr.bytes) != 1)
			return config_bad(p, "bad Endpoint %s (not an IPv6 address in brackets)",
					  q);
		peer->endpoint.addr.family = IP_V6;
	} else if (inet_pton(AF_INET, host, peer->endpoint.addr.bytes) == 1) {
		peer->endpoint.addr.family = IP_V4;
	} else if (!valid_hostname(host)) {
		return config_bad(p, "bad Endpoint %s", q);
	} else {
		return resolve_endpoint(p, peer, host, q);
	}
	peer->has_endpoint = true;
	return 0;
}

/* Host bits are allowed and cleared, as wg does ("10.0.0.1/24" is stored
 * and shown as 10.0.0.0/24). */
static int peer_allowed_ip(struct config_parser *p, const struct config_key *key,
			   char *item)
{
	struct config_peer *peer = current_peer(p);
	struct ip_prefix pfx;
	void *arr = peer->allowed_ips;

	if (config_prefix_parse(item, &pfx) != 0)
		return config_bad(p, "bad %s %s", key->name, config_quote(p, item));
	if (peer->n_allowed_ips >= CONFIG_MAX_ALLOWED_IPS)
		return config_bad(p, "too many AllowedIPs on this [Peer] (max %d)",
				  CONFIG_MAX_ALLOWED_IPS);
	if (config_array_reserve(&arr, peer->n_allowed_ips, sizeof(pfx)) != 0)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	peer->allowed_ips = arr;
	config_prefix_mask(&pfx);
	peer->allowed_ips[peer->n_allowed_ips++] = pfx;
	return 0;
}

static int peer_allowed_ips(struct config_parser *p,
			    const struct config_key *key, char *value)
{
	return config_list_for_each(p, key, value, peer_allowed_ip);
}

static int peer_keepalive(struct config_parser *p, const struct config_key *key,
			  char *value)
{
	unsigned long v = 0;

	if (strcasecmp(value, "off") != 0 &&
	    config_uint_parse(value, 65535, &v) != 0)
		return config_bad(p, "bad %s %s (must be 0..65535 or off)",
				  key->name, config_quote(p, value));
	current_peer(p)->persistent_keepalive = (uint16_t)v;
	return 0;
}

/* --- the key table ---------------------------------------------------------- */

static const struct config_key keys[] = {
	{ "PrivateKey", SECTION_INTERFACE, 0, iface_private_key },
	{ "PrivateKeyFile", SECTION_INTERFACE, 0, iface_private_key_file },
	{ "ListenPort", SECTION_INTERFACE, 0, iface_listen_port },
	{ "Address", SECTION_INTERFACE, KEY_REPEATABLE, iface_address },
	{ "MTU", SECTION_INTERFACE, 0, iface_mtu },
	{ "DNS", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "Table", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "PreUp", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "PostUp", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "PreDown", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "PostDown", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "SaveConfig", SECTION_INTERFACE, KEY_REPEATABLE | KEY_EMPTY_OK, wg_quick_only },
	{ "FwMark", SECTION_INTERFACE, 0, iface_fwmark },

	{ "PublicKey", SECTION_PEER, 0, peer_public_key },
	{ "PresharedKey", SECTION_PEER, 0, peer_preshared_key },
	{ "Endpoint", SECTION_PEER, 0, peer_endpoint },
	{ "AllowedIPs", SECTION_PEER, KEY_REPEATABLE | KEY_EMPTY_OK, peer_allowed_ips },
	{ "PersistentKeepalive", SECTION_PEER, 0, peer_keepalive },
};

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= CONFIG_KEY_SLOTS,
	       "config_parser.seen is too small for the key table");

/* Key names are case-insensitive, as in wg(8) and wg-quick(8).  [Port],
 * [NAT], [Control] and [Hetzner] have their own tables; their slots restart at 0, which is fine
 * since p->seen only ever holds one section's keys. */
const struct config_key *config_key_find(enum config_section section,
					 const char *name, size_t *slot)
{
	const struct config_key *table = keys;
	size_t n = sizeof(keys) / sizeof(keys[0]);

	if (section == SECTION_PORT) {
		table = config_port_keys;
		n = config_port_n_keys;
	} else if (section == SECTION_NAT) {
		table = config_nat_keys;
		n = config_nat_n_keys;
	} else if (section == SECTION_CONTROL) {
		table = config_control_keys;
		n = config_control_n_keys;
	} else if (section == SECTION_HETZNER) {
		table = config_hetzner_keys;
		n = config_hetzner_n_keys;
	}
	for (size_t i = 0; i < n; i++) {
		if (table[i].section == section &&
		    strcasecmp(table[i].name, name) == 0) {
			*slot = i;
			return &table[i];
		}
	}
	return NULL;
}
