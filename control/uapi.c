/* SPDX-License-Identifier: BSD-3-Clause */
#include "uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "allowedips.h"
#include "gateway.h"
#include "tunnel.h"

#define UAPI_DIR "/var/run/wireguard"
enum { UAPI_REQUEST_MAX = 4096, UAPI_TIMEOUT_MS = 200 };

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
	gw->uapi_fd = fd;
	return 0;
}

void uapi_close(struct gateway *gw)
{
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

/* Read one request (up to the blank line) within the deadline. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, UAPI_TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return len ? (ssize_t)len : -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void serve(struct gateway *gw, int fd)
{
	char req[UAPI_REQUEST_MAX];
	FILE *f;
	int wfd = dup(fd);

	if (wfd < 0 || (f = fdopen(wfd, "w")) == NULL) {
		if (wfd >= 0)
			close(wfd);
		return;
	}
	if (read_request(fd, req, sizeof(req)) > 0) {
		if (strncmp(req, "get=1\n", 6) == 0)
			reply_get(gw, f);
		else if (strncmp(req, "set=1\n", 6) == 0)
			fprintf(f, "errno=%d\n\n", -EOPNOTSUPP);
		else
			fprintf(f, "errno=%d\n\n", -EINVAL);
	}
	sodium_memzero(req, sizeof(req));
	fclose(f);
}

int uapi_poll(struct gateway *gw)
{
	struct stat st;
	int served = 0;

	if (gw->uapi_fd < 0)
		return 0;
	if (stat(gw->uapi_path, &st) < 0)
		return -1;                     /* deleted: time to go, as wireguard-go */
	for (;;) {
		int fd = accept4(gw->uapi_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return served;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		serve(gw, fd);
		close(fd);
		served++;
	}
}
