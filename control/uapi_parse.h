/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `set=1` request of WireGuard's cross-platform userspace API
 * (https://www.wireguard.com/xplatform/), parsed and validated in full
 * before anything is applied: one data model with has_* flags, shared by
 * this parser and the backend that applies it (the control socket).
 *
 * The semantics are wireguard-go's (device/uapi.go), which is what the
 * stock wg(8) tool is written against.  The backend applies the model in
 * this order, which reproduces wireguard-go's line-by-line effects:
 *   1. device keys (private_key, listen_port, fwmark), then replace_peers;
 *   2. each peer section in request order (the same public_key may appear
 *      in several sections: each continues configuring that peer);
 *   3. within a section: update_only (the section does nothing when the
 *      peer does not exist yet), remove (the peer goes; nothing else in the
 *      section counts), preshared_key, endpoint, keepalive, then
 *      replace_allowed_ips (clear the peer's prefixes) and the allowed_ips
 *      list in order (an add moves the prefix from its previous owner, a
 *      removal takes it from this peer only if this peer holds it).
 * Also the backend's, not the parser's: a peer whose public key equals the
 * interface's own is ignored, as wireguard-go does ("dummy" peer); the
 * private key is clamped when used (noise.c); the total peer count after
 * applying stays within CONFIG_MAX_PEERS.
 *
 * No DPDK, no sockets: tests and the fuzzer link it through config_lib.
 */
#ifndef PORTCULLIS_UAPI_PARSE_H
#define PORTCULLIS_UAPI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "portcullis/types.h"

enum uapi_parse_limits {
	/* The largest request: a whole config's worth, as for config files. */
	UAPI_SET_MAX_SIZE = CONFIG_MAX_FILE_SIZE,
	/* The longest valid line is a 64-digit key (76 bytes); the config
	 * parser's bound is generous and keeps both parsers alike. */
	UAPI_MAX_LINE_LEN = CONFIG_MAX_LINE_LEN,
	UAPI_MAX_PEERS = CONFIG_MAX_PEERS,              /* peer sections */
	UAPI_MAX_ALLOWED_IPS = CONFIG_MAX_ALLOWED_IPS,  /* per peer section */
	UAPI_KEY_LEN = 32,
	UAPI_ERR_LEN = 160,
};

struct uapi_allowed_ip {
	struct ip_prefix prefix;            /* host bits cleared */
	bool remove;                        /* "allowed_ip=-prefix" */
};

struct uapi_peer {
	uint8_t public_key[UAPI_KEY_LEN];
	bool remove;
	bool update_only;
	bool has_preshared_key;
	uint8_t preshared_key[UAPI_KEY_LEN];  /* all zero: no PSK */
	bool has_endpoint;
	struct ip_endpoint endpoint;        /* port 0 accepted, as wireguard-go */
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive;      /* seconds, 0: off */
	/* Clear the peer's prefixes before adding allowed_ips.  allowed_ip
	 * lines that came before the (last) replace_allowed_ips line of the
	 * section are dropped by the parser, since the clear undoes them. */
	bool replace_allowed_ips;
	struct uapi_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
	unsigned line;                      /* of its public_key line */
};

struct uapi_set {
	bool has_private_key;
	uint8_t private_key[UAPI_KEY_LEN];  /* all zero: remove the key */
	bool has_listen_port;
	uint16_t listen_port;               /* 0: any port (wireguard-go
					     * lets the kernel pick) */
	bool has_fwmark;
	uint32_t fwmark;                    /* 0: off */
	bool replace_peers;                 /* remove peers not in this set */
	struct uapi_peer *peers;
	size_t n_peers;
};

/*
 * Parse the body of a set request: the lines after "set=1\n", up to and
 * including the empty line that ends it, and nothing after it.  Lines end
 * in "\n" or "\r\n" (wireguard-go's bufio.Scanner drops the "\r").
 *
 * Returns 0 with *out filled (free it with uapi_set_free), or the negative
 * errno wireguard-go would answer with (-EINVAL a bad key or value,
 * -EPROTO a line without '=' or a request not ending in an empty line,
 * -EMSGSIZE over UAPI_SET_MAX_SIZE, -ENOMEM) with *out left empty and a
 * one-line reason in err ("line 3: bad endpoint '1.2.3.4'"; line numbers
 * count from the first line after "set=1").  The reason never quotes a
 * key's value.
 */
int uapi_set_parse(const char *text, size_t len, struct uapi_set *out,
		   char *err, size_t errlen);

/* Wipes the keys and frees the peers; *set is left empty.  NULL is fine. */
void uapi_set_free(struct uapi_set *set);

/*
 * Framing for the socket reader: the length of the first request in buf,
 * through its terminating empty line ("\n" or "\r\n"), or 0 when buf does
 * not hold a whole one yet.  buf starts at the operation line ("set=1").
 */
size_t uapi_request_end(const char *buf, size_t len);

#endif
