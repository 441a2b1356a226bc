/* SPDX-License-Identifier: BSD-3-Clause */
#include "uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "allowedips.h"
#include "gateway.h"
#include "tunnel.h"
#include "uapi_parse.h"

#define UAPI_DIR "/var/run/wireguard"
enum {
	UAPI_MAX_CONNS = 16,                /* clients served at once */
	UAPI_REQUEST_MAX = 16 << 20,        /* bytes: a setconf of every peer */
	UAPI_READ_CHUNK = 4096,
	UAPI_REQUEST_MS = 5000,             /* to send a request, read a reply */
	UAPI_IDLE_MS = 10000,               /* between requests */
};

/* --- Connections ---------------------------------------------------------- */

/*
 * Every connection is non-blocking and has a deadline, so a slow or
 * hostile client costs the control loop one failed read per iteration,
 * never a wait: a request must be complete within UAPI_REQUEST_MS of its
 * first byte, an idle connection is closed after UAPI_IDLE_MS, a reply the
 * client does not read within UAPI_REQUEST_MS closes it, and no request
 * may exceed UAPI_REQUEST_MAX bytes.  Several requests may follow each
 * other on one connection, as wireguard-go allows.
 */
struct uapi_conn {
	int fd;                                /* -1: free slot */
	char *in;                              /* request bytes so far */
	size_t in_len, in_cap;
	char *out;                             /* reply not yet written */
	size_t out_len, out_off;
	uint64_t deadline;                     /* ns, monotonic */
	bool eof;                              /* the client shut its side:
						* answer what came, then close */
};

struct uapi_server {
	struct uapi_conn conns[UAPI_MAX_CONNS];
};

static void conn_close(struct uapi_conn *c);

int uapi_open(struct gateway *gw, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	mkdir("/var/run", 0755);
	if (mkdir(UAPI_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", UAPI_DIR, strerror(errno));
		return -errno;
	}
	snprintf(gw->uapi_path, sizeof(gw->uapi_path), UAPI_DIR "/%s.sock", gw->ifname);
	if (strlen(gw->uapi_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, gw->uapi_path, strlen(gw->uapi_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	unlink(gw->uapi_path);                 /* a stale socket of a dead daemon */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		umask(old);
		snprintf(err, errlen, "%s: %s", gw->uapi_path, strerror(errno));
		close(fd);
		return -errno;
	}
	umask(old);
	gw->uapi_srv = calloc(1, sizeof(*gw->uapi_srv));
	if (gw->uapi_srv == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		unlink(gw->uapi_path);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < UAPI_MAX_CONNS; i++)
		gw->uapi_srv->conns[i].fd = -1;
	gw->uapi_fd = fd;
	return 0;
}

void uapi_close(struct gateway *gw)
{
	if (gw->uapi_srv) {
		for (unsigned i = 0; i < UAPI_MAX_CONNS; i++)
			conn_close(&gw->uapi_srv->conns[i]);
		free(gw->uapi_srv);
		gw->uapi_srv = NULL;
	}
	if (gw->uapi_fd >= 0) {
		close(gw->uapi_fd);
		unlink(gw->uapi_path);
		gw->uapi_fd = -1;
	}
}

static void hex(char out[65], const uint8_t key[32])
{
	sodium_bin2hex(out, 65, key, 32);
}

struct walk_ctx {
	FILE *f;
	uint32_t peer;
};

static int print_allowed(const struct ip_prefix *p, uint32_t value, void *ctx)
{
	struct walk_ctx *w = ctx;
	char buf[64];

	if (value == w->peer) {
		config_prefix_format(buf, sizeof(buf), p);
		fprintf(w->f, "allowed_ip=%s\n", buf);
	}
	return 0;
}

static void print_peer(FILE *f, struct gw_peer *p, const struct dp_tables *t)
{
	struct walk_ctx w = { f, p->id };
	struct ip_endpoint ep;
	char buf[80];

	hex(buf, p->public_key);
	fprintf(f, "public_key=%s\n", buf);
	hex(buf, p->handshake.preshared_key);
	fprintf(f, "preshared_key=%s\n", buf);
	sodium_memzero(buf, sizeof(buf));
	fprintf(f, "protocol_version=1\n");
	gw_endpoint_read(&p->endpoint, &ep);
	if (ep.addr.family != IP_NONE) {
		config_endpoint_format(buf, sizeof(buf), &ep);
		fprintf(f, "endpoint=%s\n", buf);
	}
	fprintf(f, "last_handshake_time_sec=%llu\n",
		(unsigned long long)(p->last_handshake_realtime / NSEC_PER_SEC));
	fprintf(f, "last_handshake_time_nsec=%llu\n",
		(unsigned long long)(p->last_handshake_realtime % NSEC_PER_SEC));
	fprintf(f, "tx_bytes=%llu\n", (unsigned long long)atomic_load(&p->tx_bytes));
	fprintf(f, "rx_bytes=%llu\n", (unsigned long long)atomic_load(&p->rx_bytes));
	fprintf(f, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	allowedips_walk(t->allowedips, print_allowed, &w);
}

static void reply_get(struct gateway *gw, FILE *f)
{
	const struct dp_tables *t = gw->dp.tables;
	char buf[65];

	hex(buf, gw->identity.static_private);
	fprintf(f, "private_key=%s\n", buf);
	sodium_memzero(buf, sizeof(buf));
	fprintf(f, "listen_port=%u\n", t->listen_port);
	for (uint32_t i = 0; i < t->n_peer_slots; i++)
		if (t->peers[i])
			print_peer(f, t->peers[i], t);
	fprintf(f, "errno=0\n\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Buffers may hold keys (a get reply, a set request): wiped, then freed. */
static void wipe_free(char *p, size_t len)
{
	if (p) {
		sodium_memzero(p, len);
		free(p);
	}
}

static void conn_close(struct uapi_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	wipe_free(c->in, c->in_cap);
	wipe_free(c->out, c->out_len);
	*c = (struct uapi_conn){ .fd = -1 };
}

/* A set is parsed and validated whole (a bad line: its errno, nothing
 * changes); applying one arrives with the live-change work of issue 4,
 * until then a valid set is refused with -EOPNOTSUPP. */
static void reply_set(struct gateway *gw, const char *body, size_t len, FILE *f)
{
	struct uapi_set set;
	char why[160];
	int ret = uapi_set_parse(body, len, &set, why, sizeof(why));

	if (ret < 0) {
		printf("portcullisd: %s: refused a set: %s\n", gw->uapi_path, why);
	} else {
		ret = -EOPNOTSUPP;
		uapi_set_free(&set);
	}
	fprintf(f, "errno=%d\n\n", ret);
}

/* One request (text up to and including the blank line): the reply into
 * f.  Requests other than get/set get -EINVAL, as wireguard-go answers
 * an unknown operation. */
static void handle_request(struct gateway *gw, const char *req, size_t len,
			   FILE *f)
{
	if (strncmp(req, "get=1\n", 6) == 0 || strncmp(req, "get=1\r\n", 7) == 0)
		reply_get(gw, f);
	else if (strncmp(req, "set=1\n", 6) == 0)
		reply_set(gw, req + 6, len - 6, f);
	else
		fprintf(f, "errno=%d\n\n", -EINVAL);
}

/* The first complete request in c->in, if any: answered into c->out and
 * removed from c->in.  False if the reply could not be built. */
static bool conn_process(struct gateway *gw, struct uapi_conn *c, uint64_t now)
{
	size_t req_len = uapi_request_end(c->in, c->in_len), out_len = 0;
	char *out = NULL;
	FILE *f;

	if (req_len == 0)
		return true;
	f = open_memstream(&out, &out_len);
	if (f == NULL)
		return false;
	handle_request(gw, c->in, req_len, f);
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
	c->deadline = now + UAPI_REQUEST_MS * 1000000ull;
	return true;
}

/* Read what is there; false: close the connection (error, too big).  A
 * client that shuts down its sending side after a request (socat, nc -N)
 * still gets the reply: EOF only marks the connection. */
static bool conn_read(struct uapi_conn *c, uint64_t now)
{
	for (;;) {
		ssize_t n;

		if (c->in_len + 1 >= c->in_cap) {
			size_t cap = c->in_cap ? 2 * c->in_cap : UAPI_READ_CHUNK;
			char *in;

			if (cap > UAPI_REQUEST_MAX)
				return false;
			in = malloc(cap);
			if (in == NULL)
				return false;
			if (c->in_len)
				memcpy(in, c->in, c->in_len);
			wipe_free(c->in, c->in_cap);
			c->in = in;
			c->in_cap = cap;
		}
		if (c->eof)
			return true;
		n = read(c->fd, c->in + c->in_len, c->in_cap - 1 - c->in_len);
		if (n == 0) {
			c->eof = true;
			return true;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (c->in_len == 0)          /* a request's clock starts now */
			c->deadline = now + UAPI_REQUEST_MS * 1000000ull;
		c->in_len += (size_t)n;
	}
}

/* Write what the socket takes; false: close.  Once the reply is out the
 * connection may idle until the next request. */
static bool conn_write(struct uapi_conn *c, uint64_t now)
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
	c->deadline = now + UAPI_IDLE_MS * 1000000ull;
	return true;
}

/* One connection's turn: write a pending reply, else read and answer. */
static bool conn_step(struct gateway *gw, struct uapi_conn *c, uint64_t now)
{
	if (c->out) {
		if (!conn_write(c, now))
			return false;
		if (c->out)
			return true;                /* the socket is full: later */
		if (!conn_process(gw, c, now))
			return false;
		return c->out || !c->eof;
	}
	if (!conn_read(c, now) || !conn_process(gw, c, now))
		return false;
	if (c->out)
		return conn_write(c, now);
	return !c->eof;                         /* nothing more can come */
}

static void accept_all(struct uapi_server *srv, int lfd, uint64_t now)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct uapi_conn *c = NULL;

		if (fd < 0)
			return;
		for (unsigned i = 0; i < UAPI_MAX_CONNS && !c; i++)
			if (srv->conns[i].fd < 0)
				c = &srv->conns[i];
		if (c == NULL) {               /* full: the newest waits no slot */
			close(fd);
			continue;
		}
		*c = (struct uapi_conn){ .fd = fd,
					 .deadline = now + UAPI_IDLE_MS * 1000000ull };
	}
}

int uapi_poll(struct gateway *gw)
{
	struct uapi_server *srv = gw->uapi_srv;
	uint64_t now = now_ns();
	int busy = 0;

	if (gw->uapi_fd < 0 || srv == NULL)
		return 0;
	accept_all(srv, gw->uapi_fd, now);
	for (unsigned i = 0; i < UAPI_MAX_CONNS; i++) {
		struct uapi_conn *c = &srv->conns[i];

		if (c->fd < 0)
			continue;
		busy++;
		if (!conn_step(gw, c, now) || now > c->deadline)
			conn_close(c);
	}
	return busy;
}

int uapi_tick(struct gateway *gw)
{
	struct stat st;

	if (gw->uapi_fd < 0)
		return 0;
	/* Deleted: time to go, as wireguard-go does. */
	return stat(gw->uapi_path, &st) < 0 ? -1 : 0;
}
