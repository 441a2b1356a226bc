/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Talking to portcullisd's CLI socket: find it, connect, send one request,
 * read one reply line.  Errors are -errno; cli.c puts them into words.
 */
#ifndef PORTCULLISCTL_IPC_H
#define PORTCULLISCTL_IPC_H

#include <stddef.h>

enum {
	IPC_TIMEOUT_MS = 10000,             /* the whole exchange */
	IPC_REPLY_MAX = 256 << 20,          /* "nat sessions limit 0" of a
					     * million sessions fits */
	IPC_PATH_MAX = 108,                 /* sizeof(sun_path) */
};

/*
 * Which socket to use, into path: sock if given, else dir/IFNAME.sock, else
 * the only *.sock in dir.  0; -EINVAL for a bad IFNAME; -ENOENT if dir holds
 * no socket; -EEXIST if it holds several (why lists them); -ENAMETOOLONG.
 * why gets one line of text on every error.
 */
int ipc_socket_path(const char *dir, const char *ifname, const char *sock,
		    char *path, size_t pathlen, char *why, size_t whylen);

/* A connected socket (fd), or -errno from connect (-ENOENT, -ECONNREFUSED,
 * -EACCES, ...; -ETIMEDOUT if the server's backlog stays full). */
int ipc_connect(const char *path, unsigned timeout_ms);

/*
 * Send req (len bytes) on fd and read the reply up to its '\n', all within
 * timeout_ms.  *reply is the line without its '\n', NUL-terminated, to be
 * freed by the caller.  -ETIMEDOUT; -ENODATA if the server closed the
 * connection before a complete line; -EMSGSIZE past IPC_REPLY_MAX (max_len
 * lowers that, for the tests: 0 means IPC_REPLY_MAX); -EPIPE, -ENOMEM, ...
 */
int ipc_exchange(int fd, const char *req, size_t len, unsigned timeout_ms,
		 size_t max_len, char **reply);

#endif
