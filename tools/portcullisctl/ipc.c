/* SPDX-License-Identifier: BSD-3-Clause */
#include "ipc.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

_Static_assert(IPC_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "IPC_PATH_MAX is sun_path");

/* --- Finding the socket --------------------------------------------------- */

/* As wg-quick: [a-zA-Z0-9_=+.-]{1,15}, so it cannot leave the directory. */
static bool ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 15)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_=+.-", *p)))
			return false;
	return true;
}

static int is_socket_name(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return len > 5 && strcmp(d->d_name + len - 5, ".sock") == 0 &&
	       (d->d_type == DT_SOCK || d->d_type == DT_UNKNOWN);
}

static int set_path(char *path, size_t pathlen, char *why, size_t whylen,
		    const char *fmt, const char *a, const char *b)
{
	int n = snprintf(path, pathlen, fmt, a, b);

	if (n < 0 || (size_t)n >= pathlen || n >= IPC_PATH_MAX) {
		snprintf(why, whylen, "socket path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The only socket in dir, or an error naming what is there. */
static int only_socket(const char *dir, char *path, size_t pathlen,
		       char *why, size_t whylen)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, is_socket_name, alphasort), ret;
	size_t off;

	if (n <= 0) {
		free(names);
		snprintf(why, whylen, "no gateway socket in %s (is portcullisd "
			 "running?)", dir);
		return -ENOENT;
	}
	if (n == 1) {
		ret = set_path(path, pathlen, why, whylen, "%s/%s", dir,
			       names[0]->d_name);
	} else {
		ret = -EEXIST;
		off = (size_t)snprintf(why, whylen, "several gateways in %s (",
				       dir);
		for (int i = 0; i < n && off < whylen; i++) {
			/* Print the interface name: the file name less .sock. */
			int len = (int)strlen(names[i]->d_name) - 5;

			off += (size_t)snprintf(why + off, whylen - off, "%s%.*s",
						i ? ", " : "", len,
						names[i]->d_name);
		}
		if (off < whylen)
			snprintf(why + off, whylen - off,
				 "): choose one with -i IFNAME");
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

int ipc_socket_path(const char *dir, const char *ifname, const char *sock,
		    char *path, size_t pathlen, char *why, size_t whylen)
{
	if (sock)
		return set_path(path, pathlen, why, whylen, "%s%s", sock, "");
	if (ifname == NULL)
		return only_socket(dir, path, pathlen, why, whylen);
	if (!ifname_valid(ifname)) {
		snprintf(why, whylen, "bad interface name '%s'", ifname);
		return -EINVAL;
	}
	return set_path(path, pathlen, why, whylen, "%s/%s.sock", dir, ifname);
}

/* --- One exchange --------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 0, or -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int ipc_connect(const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = now_ms() + timeout_ms;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A Unix stream connect completes at once or fails at once, except
	 * when the listener's backlog is full (EAGAIN): the daemon polls its
	 * socket once per control-loop iteration, so try again shortly.
	 */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		if (ret == -EINTR)
			continue;
		if (ret == -EAGAIN && now_ms() < deadline) {
			usleep(10000);
			continue;
		}
		close(fd);
		return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		int ret;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			ret = wait_fd(fd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until '\n'; the bytes after it (there should be none) are ignored. */
static int read_line(int fd, uint64_t deadline, size_t max_len, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	int ret;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *bigger = realloc(buf, 2 * cap);

			if (bigger == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			nl = memchr(buf + len, '\n', (size_t)n);
			len += (size_t)n;
			if (nl && (size_t)(nl - buf) <= max_len) {
				*nl = '\0';
				*out = buf;
				return 0;
			}
			if (nl || len > max_len) {
				ret = -EMSGSIZE;
				goto out;
			}
			continue;
		}
		if (n == 0 || errno == ECONNRESET)
			ret = -ENODATA;
		else if (errno == EAGAIN)
			ret = wait_fd(fd, POLLIN, deadline);
		else
			ret = errno == EINTR ? 0 : -errno;
		if (ret < 0)
			goto out;
	}
out:
	free(buf);
	return ret;
}

int ipc_exchange(int fd, const char *req, size_t len, unsigned timeout_ms,
		 size_t max_len, char **reply)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int ret;

	ret = send_all(fd, req, len, deadline);
	/* A server that refused the request may have replied and closed
	 * already: read what it said before reporting EPIPE. */
	if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET)
		return ret;
	return read_line(fd, deadline, max_len ? max_len : IPC_REPLY_MAX, reply);
}
