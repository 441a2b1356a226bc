/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the two request protocols of the control sockets share: the
 * WireGuard UAPI (uapi_parse.c) and the gateway CLI (ctl_proto.c) both
 * send "key=value" lines, each ended by "\n" or "\r\n" (wireguard-go's
 * bufio.Scanner drops the "\r"), and end a request with an empty line.
 * The framing, the line splitting and the quoting of client text in
 * error messages live here once, so the two sockets cannot drift apart.
 *
 * Pure (config_lib): the tests and the fuzzers link it.
 */
#ifndef PORTCULLIS_KV_LINES_H
#define PORTCULLIS_KV_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes with their length, not NUL-ended: a line, a key or a value. */
struct kv_span {
	const char *p;
	size_t n;
};

/* The line at *pos in text, without its "\n" or "\r\n", and *pos moved
 * past it.  false when no "\n" is left (the request is incomplete): line
 * is then the rest of text and *pos is unchanged. */
bool kv_lines_next(const char *text, size_t len, size_t *pos,
		   struct kv_span *line);

/* Framing for the socket reader: the length of the first request in buf
 * through its empty line, or 0 when buf does not hold a whole one yet. */
size_t kv_lines_request_end(const char *buf, size_t len);

/* s holds exactly the characters of lit. */
bool kv_span_is(struct kv_span s, const char *lit);

/* A printable, shortened copy of s for a message: a byte outside
 * 0x20..0x7e becomes '?', and past max characters s is cut and "..."
 * added.  out holds max + 4 bytes; returns out. */
const char *kv_span_quote(char *out, size_t max, struct kv_span s);

#endif
