/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The connection engine of the control thread's sockets (the contract is in
 * sock_server.h).  Shaped after OpenBSD iked's control.c: a stale socket is
 * removed, the new one is bound under umask 077 and only then opened up to
 * its final mode, every descriptor is non-blocking, every connection has a
 * deadline and every copy is checked against a limit first.  What a request
 * means is the caller's business (ops->request_end, ops->handle): the same
 * engine frames UAPI text, CLI requests and HTTP.
 */
#include "sock_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

enum {
	READ_CHUNK = 4096,                  /* first request buffer */
	LISTEN_BACKLOG = 16,
};

#define NS_PER_MS 1000000ull

struct sock_conn {
	int fd;                                /* -1: free slot */
	char *in;                              /* request bytes so far */
	size_t in_len, in_cap;
	char *out;                             /* reply not yet written */
	size_t out_len, out_off;
	uint64_t deadline;                     /* ns, the caller's clock */
	bool eof;                              /* the client shut its side:
						* answer what came, then close */
};

struct sock_server {
	int fd;                                /* the listener */
	struct sock_server_ops ops;
	void *ctx;
	bool root_only;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "": TCP */
	dev_t dev;                             /* of the socket file bound */
	ino_t ino;
	struct sock_conn conns[SOCK_SERVER_MAX_CONNS];
};

static int fail(char *err, size_t errlen, int ret, const char *what,
		const char *name)
{
	snprintf(err, errlen, "%s %s: %s", what, name, strerror(-ret));
	return ret;
}

static struct sock_server *server_new(const struct sock_server_ops *ops,
				      void *ctx)
{
	struct sock_server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->fd = -1;
	s->ops = *ops;
	s->ctx = ctx;
	for (unsigned i = 0; i < SOCK_SERVER_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	return s;
}

/* --- Unix listener ----------------------------------------------------------- */

/* Every missing directory on the way to path's own, 0755 whatever the
 * umask: /var/run itself may be missing in a bare container. */
static int make_dirs(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0)
			chmod(dir, 0755);
		else if (errno != EEXIST)
			return fail(err, errlen, -errno, "mkdir", dir);
		*slash = '/';
	}
	return 0;
}

/* A socket left by a daemon that died is removed; one that still answers
 * belongs to a live process (another gateway, a wireguard-go of the same
 * name) and is left alone.  Anything else at path is not ours to delete. */
static int remove_stale(const char *path, const struct sockaddr_un *sa,
			char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, -errno, "stat", path);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, -errno, "socket for", path);
	/* EAGAIN: listening, with its backlog full. */
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	      errno == EAGAIN ? -EADDRINUSE : 0;
	close(fd);
	if (ret < 0) {
		snprintf(err, errlen, "%s is in use by another process", path);
		return ret;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return fail(err, errlen, -errno, "unlink", path);
	return 0;
}

/* Bound under umask 077, so the socket is never reachable with a looser
 * mode than asked for, even for the moment before the chmod. */
static int bind_unix(struct sock_server *s, const struct sockaddr_un *sa,
		     const struct sock_server_unix_opts *opts, char *err,
		     size_t errlen)
{
	struct stat st;
	mode_t old = umask(077);
	int ret = bind(s->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;

	umask(old);
	if (ret < 0)
		return fail(err, errlen, ret, "bind", s->path);
	if (opts->gid != (gid_t)-1 && chown(s->path, (uid_t)-1, opts->gid) < 0)
		ret = fail(err, errlen, -errno, "chown", s->path);
	else if (chmod(s->path, opts->mode) < 0)
		ret = fail(err, errlen, -errno, "chmod", s->path);
	else if (stat(s->path, &st) < 0)
		ret = fail(err, errlen, -errno, "stat", s->path);
	else if (listen(s->fd, LISTEN_BACKLOG) < 0)
		ret = fail(err, errlen, -errno, "listen", s->path);
	if (ret < 0) {
		unlink(s->path);
		return ret;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int sock_server_listen_unix(struct sock_server **out, const char *path,
			    const struct sock_server_unix_opts *opts,
			    const struct sock_server_ops *ops, void *ctx,
			    char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	struct sock_server *s;
	int ret;

	*out = NULL;
	if (path[0] != '/' || len >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "bad socket path %s (absolute, under %zu bytes)",
			 path, sizeof(sa.sun_path));
		return path[0] != '/' ? -EINVAL : -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, len + 1);
	if ((ret = make_dirs(path, err, errlen)) < 0 ||
	    (ret = remove_stale(path, &sa, err, errlen)) < 0)
		return ret;
	s = server_new(ops, ctx);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(s->path, path, len + 1);
	s->root_only = opts->root_only;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		ret = fail(err, errlen, -errno, "socket for", path);
	else
		ret = bind_unix(s, &sa, opts, err, errlen);
	if (ret < 0) {
		s->path[0] = '\0';             /* nothing of ours to unlink */
		sock_server_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* --- TCP listener ---------------------------------------------------------- */

/* "A.B.C.D:PORT" or "[V6]:PORT", numbers only: a listener is not the
 * place for a DNS lookup. */
static int parse_addr_port(const char *text, struct sockaddr_storage *ss,
			   socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = text;
	size_t hlen;
	char *end;
	unsigned long port;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - text);
	}
	if (hlen >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	*sslen = sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

int sock_server_listen_tcp(struct sock_server **out, const char *addr_port,
			   const struct sock_server_ops *ops, void *ctx,
			   char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct sock_server *s;
	int one = 1, ret;

	*out = NULL;
	if (parse_addr_port(addr_port, &ss, &sslen) < 0) {
		snprintf(err, errlen, "bad listen address '%s' (want ADDR:PORT or [V6ADDR]:PORT)",
			 addr_port);
		return -EINVAL;
	}
	s = server_new(ops, ctx);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		ret = fail(err, errlen, -errno, "socket for", addr_port);
	/* SO_REUSEADDR: a restart must not wait out TIME_WAIT of the last
	 * scrape's connections. */
	else if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		ret = fail(err, errlen, -errno, "setsockopt on", addr_port);
	else if (bind(s->fd, (struct sockaddr *)&ss, sslen) < 0)
		ret = fail(err, errlen, -errno, "bind", addr_port);
	else if (listen(s->fd, LISTEN_BACKLOG) < 0)
		ret = fail(err, errlen, -errno, "listen", addr_port);
	else
		ret = 0;
	if (ret < 0) {
		sock_server_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* --- Connections ---------------------------------------------------------- */

/* Buffers may hold keys (a UAPI get reply, a set request): wiped, then
 * freed. */
static void wipe_free(char *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		free(p);
	}
}

static void conn_close(struct sock_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	wipe_free(c->in, c->in_cap);
	wipe_free(c->out, c->out_len);
	*c = (struct sock_conn){ .fd = -1 };
}

/* The first complete request in c->in, if any: answered into c->out and
 * removed from c->in.  False if the reply could not be built. */
static bool conn_process(struct sock_server *s, struct sock_conn *c, uint64_t now)
{
	size_t req_len = s->ops.request_end(c->in, c->in_len), out_len = 0;
	char *out = NULL;
	FILE *f;

	if (req_len == 0)
		return true;
	f = open_memstream(&out, &out_len);
	if (f == NULL)
		return false;
	s->ops.handle(s->ctx, c->in, req_len, f);
	if (fclose(f) != 0) {
		wipe_free(out, out_len);
		return false;
	}
	c->out = out;
	c->out_len = out_len;
	c->out_off = 0;
	sodium_memzero(c->in, req_len);
	memmove(c->in, c->in + req_len, c->in_len - req_len);
	c->in_len -= req_len;
	c->deadline = now + s->ops.request_ms * NS_PER_MS;
	return true;
}

/* Room for one more read; false once a request would exceed max_request. */
static bool conn_grow(const struct sock_server *s, struct sock_conn *c)
{
	size_t cap = c->in_cap ? 2 * c->in_cap : READ_CHUNK;
	char *in;

	if (cap > s->ops.max_request)
		cap = s->ops.max_request;
	if (cap <= c->in_cap)
		return false;
	in = malloc(cap);
	if (in == NULL)
		return false;
	if (c->in_len)
		memcpy(in, c->in, c->in_len);
	wipe_free(c->in, c->in_cap);
	c->in = in;
	c->in_cap = cap;
	return true;
}

/* Read what is there; false: close the connection (error, too big).  A
 * client that shuts down its sending side after a request (socat, nc -N)
 * still gets the reply: EOF only marks the connection. */
static bool conn_read(const struct sock_server *s, struct sock_conn *c,
		      uint64_t now)
{
	while (!c->eof) {
		ssize_t n;

		if (c->in_len == c->in_cap) {
			/* Full: a whole request in it is answered first. */
			if (s->ops.request_end(c->in, c->in_len))
				break;
			if (!conn_grow(s, c))
				return false;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == 0) {
			c->eof = true;
			break;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (c->in_len == 0)          /* a request's clock starts now */
			c->deadline = now + s->ops.request_ms * NS_PER_MS;
		c->in_len += (size_t)n;
	}
	return true;
}

/* Write what the socket takes; false: close.  Once the reply is out the
 * connection may idle until the next request, or closes (HTTP/1.0). */
static bool conn_write(const struct sock_server *s, struct sock_conn *c,
		       uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		c->out_off += (size_t)n;
	}
	wipe_free(c->out, c->out_len);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->deadline = now + s->ops.idle_ms * NS_PER_MS;
	return !s->ops.close_after_reply;
}

/* One connection's turn: write a pending reply, else read and answer. */
static bool conn_step(struct sock_server *s, struct sock_conn *c, uint64_t now)
{
	if (c->out) {
		if (!conn_write(s, c, now))
			return false;
		if (c->out)
			return true;                /* the socket is full: later */
		if (!conn_process(s, c, now))
			return false;
		return c->out || !c->eof;
	}
	if (!conn_read(s, c, now) || !conn_process(s, c, now))
		return false;
	if (c->out)
		return conn_write(s, c, now);
	return !c->eof;                         /* nothing more can come */
}

/* SO_PEERCRED is the credential of the process that connected, taken by
 * the kernel at connect(): it cannot be forged by the client. */
static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void accept_all(struct sock_server *s, uint64_t now)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sock_conn *c = NULL;

		if (fd < 0)
			return;
		for (unsigned i = 0; i < SOCK_SERVER_MAX_CONNS && !c; i++)
			if (s->conns[i].fd < 0)
				c = &s->conns[i];
		/* Full: the newest waits for no slot. */
		if (c == NULL || (s->root_only && !peer_is_root(fd))) {
			close(fd);
			continue;
		}
		*c = (struct sock_conn){ .fd = fd,
					 .deadline = now + s->ops.idle_ms * NS_PER_MS };
	}
}

unsigned sock_server_poll(struct sock_server *s, uint64_t now)
{
	unsigned open = 0;

	if (s == NULL || s->fd < 0)
		return 0;
	accept_all(s, now);
	for (unsigned i = 0; i < SOCK_SERVER_MAX_CONNS; i++) {
		struct sock_conn *c = &s->conns[i];

		if (c->fd < 0)
			continue;
		if (!conn_step(s, c, now) || now > c->deadline)
			conn_close(c);
		else
			open++;
	}
	return open;
}

/* --- The socket file -------------------------------------------------------- */

const char *sock_server_path(const struct sock_server *s)
{
	return s ? s->path : "";
}

bool sock_server_file_deleted(const struct sock_server *s)
{
	struct stat st;

	if (s == NULL || s->path[0] == '\0')
		return false;
	if (stat(s->path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR;
	return st.st_dev != s->dev || st.st_ino != s->ino;
}

void sock_server_close(struct sock_server *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < SOCK_SERVER_MAX_CONNS; i++)
		conn_close(&s->conns[i]);
	/* Someone else's socket at our path (we were replaced) stays. */
	if (s->path[0] && !sock_server_file_deleted(s))
		unlink(s->path);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
