/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parser for the body of a UAPI `set=1` request (see uapi_parse.h for the
 * model and its contract).  Where this file decides something wireguard-go
 * also decides, it decides the same way, and the comment names the Go
 * function whose behaviour it follows; the few deliberate differences say
 * why.
 *
 * The text is never copied whole: keys are decoded from it directly and
 * only short, non-secret values (addresses, numbers) are copied to the
 * stack so that inet_pton gets a NUL-terminated string.
 */
/* reallocarray: the build passes -D_GNU_SOURCE, a one-line fuzz build may
 * not. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "uapi_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kv_lines.h"

enum {
	VALUE_BUF = 64,      /* an address value: "[" 45-char IPv6 "]:65535" */
	QUOTE_MAX = 40,      /* characters of a value echoed in a message */
};

struct parser {
	struct uapi_set *set;
	struct uapi_peer *peer;   /* current section; NULL: device section */
	size_t peer_cap;
	size_t aip_cap;           /* of peer->allowed_ips */
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The one place errors become words.  "line N: " is prepended once a line
 * is being read; err is always NUL-terminated when errlen > 0. */
static int fail(struct parser *ps, int ret, const char *fmt, ...)
{
	char msg[UAPI_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen == 0)
		return ret;
	if (ps->line)
		snprintf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s", msg);
	return ret;
}

/* A printable, shortened copy of a non-secret value for messages; never
 * called on a key's value. */
static const char *quote(char out[QUOTE_MAX + 4], struct kv_span v)
{
	return kv_span_quote(out, QUOTE_MAX, v);
}

/* NoisePublicKey.FromHex / loadExactHex: exactly 64 hex digits, either
 * case (Go's hex.DecodeString accepts both).  sodium_hex2bin runs in time
 * independent of the digits, so decoding does not leak key bits. */
static int parse_key(uint8_t key[UAPI_KEY_LEN], struct kv_span v)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (v.n != 2 * UAPI_KEY_LEN ||
	    sodium_hex2bin(key, UAPI_KEY_LEN, v.p, v.n, NULL, &bin_len,
			   &end) != 0 ||
	    bin_len != UAPI_KEY_LEN || end != v.p + v.n) {
		sodium_memzero(key, UAPI_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

/* strconv.ParseUint(s, 10, bits): digits only, no sign or space, leading
 * zeros allowed, at most max. */
static int parse_uint(struct kv_span v, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (v.n == 0)
		return -EINVAL;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v.p[i] - '0');
		if (x > max)
			return -ERANGE;
	}
	*out = x;
	return 0;
}

/* Copies a short non-secret value so that inet_pton can read it. */
static int to_cstr(char out[VALUE_BUF], struct kv_span v)
{
	if (v.n >= VALUE_BUF)
		return -EINVAL;
	memcpy(out, v.p, v.n);
	out[v.n] = '\0';
	return 0;
}

/* netip.ParseAddrPort, as StdNetBind.ParseEndpoint uses it: "a.b.c.d:port"
 * or "[v6]:port"; IPv6 only in brackets, IPv4 never.  Go also takes a zone
 * ("[fe80::1%eth0]:1"); we refuse it, as the fast path cannot scope an
 * address to an interface. */
static int parse_endpoint(struct kv_span v, struct ip_endpoint *ep)
{
	char buf[VALUE_BUF], *colon, *addr = buf;
	uint64_t port;

	if (to_cstr(buf, v) != 0 || (colon = strrchr(buf, ':')) == NULL)
		return -EINVAL;
	*colon = '\0';
	if (buf[0] == '[') {
		if (colon == buf || colon[-1] != ']')
			return -EINVAL;
		colon[-1] = '\0';
		addr = buf + 1;
	}
	if (config_addr_parse(addr, &ep->addr) != 0 ||
	    (ep->addr.family == IP_V6) != (addr != buf))
		return -EINVAL;
	if (parse_uint((struct kv_span){ colon + 1, strlen(colon + 1) }, 65535,
		       &port) != 0)
		return -EINVAL;
	ep->port = (uint16_t)port;
	return 0;
}

/* netip.ParsePrefix: the "/bits" is required (unlike the config file's
 * AllowedIPs) and may not have a leading zero. */
static int parse_prefix(struct kv_span v, struct ip_prefix *p)
{
	char buf[VALUE_BUF];
	const char *slash;

	if (to_cstr(buf, v) != 0 || (slash = strchr(buf, '/')) == NULL ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -EINVAL;
	if (config_prefix_parse(buf, p) != 0)
		return -EINVAL;
	config_prefix_mask(p);
	return 0;
}

static int grow(void **array, size_t *cap, size_t n, size_t size)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 4;
	p = reallocarray(*array, new_cap, size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = new_cap;
	return 0;
}

/* --- device keys (handleDeviceLine) -------------------------------------- */

/* FromMaybeZeroHex: 64 digits; all zero (what `wg set private-key
 * /dev/null` sends) removes the key.  An empty value is invalid. */
static int dev_private_key(struct parser *ps, struct kv_span v)
{
	if (parse_key(ps->set->private_key, v) != 0)
		return fail(ps, -EINVAL, "bad private_key (want 64 hex digits)");
	ps->set->has_private_key = true;
	return 0;
}

static int dev_listen_port(struct parser *ps, struct kv_span v)
{
	char q[QUOTE_MAX + 4];
	uint64_t x;

	if (parse_uint(v, UINT16_MAX, &x) != 0)
		return fail(ps, -EINVAL, "bad listen_port '%s' (must be 0..65535)",
			    quote(q, v));
	ps->set->listen_port = (uint16_t)x;
	ps->set->has_listen_port = true;
	return 0;
}

static int dev_fwmark(struct parser *ps, struct kv_span v)
{
	char q[QUOTE_MAX + 4];
	uint64_t x;

	if (parse_uint(v, UINT32_MAX, &x) != 0)
		return fail(ps, -EINVAL, "bad fwmark '%s' (must be 0..4294967295)",
			    quote(q, v));
	ps->set->fwmark = (uint32_t)x;
	ps->set->has_fwmark = true;
	return 0;
}

/* Flags are "true" or an error: wireguard-go has no "=false". */
static int flag(struct parser *ps, struct kv_span v, const char *key, bool *out)
{
	if (!kv_span_is(v, "true"))
		return fail(ps, -EINVAL, "%s must be 'true'", key);
	*out = true;
	return 0;
}

static int dev_replace_peers(struct parser *ps, struct kv_span v)
{
	return flag(ps, v, "replace_peers", &ps->set->replace_peers);
}

/* --- peer keys (handlePeerLine) ------------------------------------------ */

static int start_peer(struct parser *ps, struct kv_span v)
{
	struct uapi_set *set = ps->set;
	struct uapi_peer *peer;

	/* wireguard-go's NewPeer stops at MaxPeers (1 << 16) with EINVAL. */
	if (set->n_peers >= UAPI_MAX_PEERS)
		return fail(ps, -EINVAL, "too many peers (at most %d)",
			    UAPI_MAX_PEERS);
	if (grow((void **)&set->peers, &ps->peer_cap, set->n_peers,
		 sizeof(*set->peers)) != 0)
		return fail(ps, -ENOMEM, "out of memory");
	peer = &set->peers[set->n_peers];
	memset(peer, 0, sizeof(*peer));
	if (parse_key(peer->public_key, v) != 0)
		return fail(ps, -EINVAL, "bad public_key (want 64 hex digits)");
	peer->line = ps->line;
	set->n_peers++;
	ps->peer = peer;
	ps->aip_cap = 0;
	return 0;
}

static int peer_remove(struct parser *ps, struct kv_span v)
{
	return flag(ps, v, "remove", &ps->peer->remove);
}

static int peer_update_only(struct parser *ps, struct kv_span v)
{
	return flag(ps, v, "update_only", &ps->peer->update_only);
}

/* NoisePresharedKey.FromHex: 64 digits; all zero means no PSK. */
static int peer_preshared_key(struct parser *ps, struct kv_span v)
{
	if (parse_key(ps->peer->preshared_key, v) != 0)
		return fail(ps, -EINVAL, "bad preshared_key (want 64 hex digits)");
	ps->peer->has_preshared_key = true;
	return 0;
}

static int peer_endpoint(struct parser *ps, struct kv_span v)
{
	char q[QUOTE_MAX + 4];

	if (parse_endpoint(v, &ps->peer->endpoint) != 0)
		return fail(ps, -EINVAL, "bad endpoint '%s' (want a.b.c.d:port "
			    "or [v6]:port)", quote(q, v));
	ps->peer->has_endpoint = true;
	return 0;
}

static int peer_keepalive(struct parser *ps, struct kv_span v)
{
	char q[QUOTE_MAX + 4];
	uint64_t x;

	if (parse_uint(v, UINT16_MAX, &x) != 0)
		return fail(ps, -EINVAL, "bad persistent_keepalive_interval '%s' "
			    "(must be 0..65535)", quote(q, v));
	ps->peer->persistent_keepalive = (uint16_t)x;
	ps->peer->has_persistent_keepalive = true;
	return 0;
}

/* wireguard-go clears the peer's prefixes at this very line, so prefixes
 * this section added before it are gone again: drop them.  (Go's inserts
 * would also have taken them from their previous owners first; wg(8)
 * always sends replace_allowed_ips before any allowed_ip, and we prefer
 * a hand-written add-then-clear not to strip other peers.) */
static int peer_replace_allowed_ips(struct parser *ps, struct kv_span v)
{
	int ret = flag(ps, v, "replace_allowed_ips",
		       &ps->peer->replace_allowed_ips);

	if (ret == 0)
		ps->peer->n_allowed_ips = 0;
	return ret;
}

/* "prefix" adds, "-prefix" removes (wireguard-go since 2025, commit
 * 256bcbd "add support for removing allowedips individually"). */
static int peer_allowed_ip(struct parser *ps, struct kv_span v)
{
	struct uapi_peer *peer = ps->peer;
	struct uapi_allowed_ip aip = { 0 };
	char q[QUOTE_MAX + 4];

	if (v.n > 0 && v.p[0] == '-') {
		aip.remove = true;
		v.p++, v.n--;
	}
	if (parse_prefix(v, &aip.prefix) != 0)
		return fail(ps, -EINVAL, "bad allowed_ip '%s' (want addr/cidr)",
			    quote(q, v));
	if (peer->n_allowed_ips >= UAPI_MAX_ALLOWED_IPS)
		return fail(ps, -EINVAL, "too many allowed_ip lines for one peer "
			    "(at most %d)", UAPI_MAX_ALLOWED_IPS);
	if (grow((void **)&peer->allowed_ips, &ps->aip_cap, peer->n_allowed_ips,
		 sizeof(*peer->allowed_ips)) != 0)
		return fail(ps, -ENOMEM, "out of memory");
	peer->allowed_ips[peer->n_allowed_ips++] = aip;
	return 0;
}

/* Accepted and checked, nothing to store: version 1 is all there is. */
static int peer_protocol_version(struct parser *ps, struct kv_span v)
{
	char q[QUOTE_MAX + 4];

	if (!kv_span_is(v, "1"))
		return fail(ps, -EINVAL, "unsupported protocol_version '%s' "
			    "(must be 1)", quote(q, v));
	return 0;
}

/* --- the line driver ----------------------------------------------------- */

struct key_handler {
	const char *name;
	bool peer;                 /* only after public_key; else only before */
	int (*parse)(struct parser *ps, struct kv_span v);
};

static const struct key_handler keys[] = {
	{ "private_key", false, dev_private_key },
	{ "listen_port", false, dev_listen_port },
	{ "fwmark", false, dev_fwmark },
	{ "replace_peers", false, dev_replace_peers },
	{ "remove", true, peer_remove },
	{ "update_only", true, peer_update_only },
	{ "preshared_key", true, peer_preshared_key },
	{ "endpoint", true, peer_endpoint },
	{ "persistent_keepalive_interval", true, peer_keepalive },
	{ "replace_allowed_ips", true, peer_replace_allowed_ips },
	{ "allowed_ip", true, peer_allowed_ip },
	{ "protocol_version", true, peer_protocol_version },
};

/* Key names are short lowercase words; anything else might be a pasted
 * secret, so it is not echoed. */
static const char *key_name(char out[QUOTE_MAX + 4], struct kv_span k)
{
	if (k.n == 0 || k.n > QUOTE_MAX - 2)
		return "(not shown)";
	for (size_t i = 0; i < k.n; i++)
		if ((k.p[i] < 'a' || k.p[i] > 'z') && k.p[i] != '_')
			return "(not shown)";
	out[0] = '\'';
	memcpy(out + 1, k.p, k.n);
	out[k.n + 1] = '\'';
	out[k.n + 2] = '\0';
	return out;
}

/* wireguard-go switches from device to peer keys at the first public_key
 * and never back; a key on the wrong side is "invalid UAPI device/peer
 * key" (EINVAL) there, and we say which side it belongs to. */
static int parse_line(struct parser *ps, struct kv_span line)
{
	const char *eq = memchr(line.p, '=', line.n);
	struct kv_span k, v;
	char q[QUOTE_MAX + 4];

	if (memchr(line.p, '\0', line.n))
		return fail(ps, -EINVAL, "NUL byte in line");
	if (!eq)
		return fail(ps, -EPROTO, "missing '=' (want key=value)");
	k = (struct kv_span){ line.p, (size_t)(eq - line.p) };
	v = (struct kv_span){ eq + 1, line.n - k.n - 1 };
	if (kv_span_is(k, "public_key"))
		return start_peer(ps, v);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!kv_span_is(k, keys[i].name))
			continue;
		if (keys[i].peer && !ps->peer)
			return fail(ps, -EINVAL, "'%s' needs a public_key line "
				    "before it", keys[i].name);
		if (!keys[i].peer && ps->peer)
			return fail(ps, -EINVAL, "'%s' is an interface key: it "
				    "must come before the first public_key",
				    keys[i].name);
		return keys[i].parse(ps, v);
	}
	return fail(ps, -EINVAL, "unknown key %s", key_name(q, k));
}

int uapi_set_parse(const char *text, size_t len, struct uapi_set *out,
		   char *err, size_t errlen)
{
	struct parser ps = { .set = out, .err = err, .errlen = errlen };
	size_t pos = 0;
	struct kv_span line;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (len > UAPI_SET_MAX_SIZE) {
		ret = fail(&ps, -EMSGSIZE, "request too large (%zu bytes, at "
			   "most %d)", len, UAPI_SET_MAX_SIZE);
		goto out;
	}
	for (;;) {
		bool complete = kv_lines_next(text, len, &pos, &line);

		ps.line++;
		if (line.n > UAPI_MAX_LINE_LEN) {
			ret = fail(&ps, -EINVAL, "line too long (at most %d "
				   "bytes)", UAPI_MAX_LINE_LEN);
			goto out;
		}
		/* wireguard-go applies what it read when the stream ends
		 * without the empty line; an atomic set cannot tell such a
		 * request from a truncated one, so it refuses it. */
		if (!complete) {
			ret = fail(&ps, -EPROTO, "request does not end with an "
				   "empty line");
			goto out;
		}
		if (line.n == 0)
			break;
		ret = parse_line(&ps, line);
		if (ret != 0)
			goto out;
	}
	/* The caller frames requests (uapi_request_end); bytes after the
	 * empty line mean it did not. */
	if (pos != len) {
		ret = fail(&ps, -EPROTO, "data after the empty line");
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		uapi_set_free(out);
	return ret;
}

void uapi_set_free(struct uapi_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_peers; i++) {
		struct uapi_peer *peer = &set->peers[i];

		free(peer->allowed_ips);
		sodium_memzero(peer, sizeof(*peer));
	}
	free(set->peers);
	sodium_memzero(set, sizeof(*set));
}

size_t uapi_request_end(const char *buf, size_t len)
{
	return kv_lines_request_end(buf, len);
}
