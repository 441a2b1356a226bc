/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's socket servers (the WireGuard UAPI socket, the
 * gateway CLI socket, the metrics endpoint) share one connection engine:
 * every socket is non-blocking, polled once per control-loop iteration, and
 * every connection has a deadline, so a slow or hostile client costs one
 * failed read per iteration and never a wait.
 *
 *  - A request must be complete within ops->request_ms of its first byte,
 *    and at most ops->max_request bytes; otherwise the connection closes.
 *  - An idle connection closes after ops->idle_ms; a reply the client does
 *    not read within ops->request_ms closes it.
 *  - Several requests may follow each other on one connection (unless
 *    ops->close_after_reply, as for HTTP/1.0); a client that shuts its
 *    sending side after a request still gets the reply.
 *  - At most SOCK_SERVER_MAX_CONNS clients at once; more are refused.
 *  - Request and reply buffers are wiped before they are freed (a UAPI set
 *    or get carries keys).
 *
 * Control thread only.
 */
#ifndef PORTCULLIS_SOCK_SERVER_H
#define PORTCULLIS_SOCK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { SOCK_SERVER_MAX_CONNS = 16 };

struct sock_server;

struct sock_server_ops {
	/* Length of the first complete request in buf (through its
	 * terminator), 0 while it is incomplete. */
	size_t (*request_end)(const char *buf, size_t len);
	/* Answer one request (req[len] is not NUL: use len) into out. */
	void (*handle)(void *ctx, const char *req, size_t len, FILE *out);
	size_t max_request;                 /* bytes */
	unsigned request_ms, idle_ms;
	bool close_after_reply;
};

struct sock_server_unix_opts {
	mode_t mode;                        /* of the socket file: 0600, 0660 */
	gid_t gid;                          /* group of the socket file;
					     * (gid_t)-1: leave it */
	/* Refuse peers whose SO_PEERCRED uid is neither 0 nor ours (the
	 * WireGuard socket, which hands out the private key). */
	bool root_only;
};

/*
 * Listen on a Unix socket at path: the directory is created 0755 if
 * missing, a stale socket is replaced, the socket is created under umask
 * 077 and then given opts->mode and opts->gid.  Errors as one line of text.
 */
int sock_server_listen_unix(struct sock_server **out, const char *path,
			    const struct sock_server_unix_opts *opts,
			    const struct sock_server_ops *ops, void *ctx,
			    char *err, size_t errlen);
/* Listen on TCP "ADDR:PORT" or "[V6ADDR]:PORT" (numeric only). */
int sock_server_listen_tcp(struct sock_server **out, const char *addr_port,
			   const struct sock_server_ops *ops, void *ctx,
			   char *err, size_t errlen);

/* Accept, read, answer and write what is ready; close what has expired.
 * now: monotonic ns.  Returns the number of open connections. */
unsigned sock_server_poll(struct sock_server *s, uint64_t now);

/* The Unix socket's path ("" for TCP). */
const char *sock_server_path(const struct sock_server *s);
/* True if the Unix socket file is gone (or replaced by another inode):
 * the daemon stops, as wireguard-go does. */
bool sock_server_file_deleted(const struct sock_server *s);

/* Close every connection and the listener; unlink a Unix socket that is
 * still ours.  NULL is fine. */
void sock_server_close(struct sock_server *s);

#endif
