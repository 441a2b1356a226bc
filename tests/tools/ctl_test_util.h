/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers for the portcullisctl tests: reading fixtures (FIXTURES comes
 * from meson), capturing a FILE's output, and a fake portcullisd: a Unix
 * socket in a temporary directory, served by a thread that reads one
 * request per connection and answers with canned bytes, in chunks, late,
 * or not at all.
 *
 * Include after cmocka.h.
 */
#ifndef CTL_TEST_UTIL_H
#define CTL_TEST_UTIL_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef FIXTURES
#error "FIXTURES: the fixtures directory (set by tests/tools/meson.build)"
#endif

/* --- Fixtures and captured output ---------------------------------------- */

/* The whole file FIXTURES/name, NUL-terminated; the caller frees it. */
static inline char *fixture_read(const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long len;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* A memory FILE: write to cap->f, then capture_end() gives the text. */
struct capture {
	FILE *f;
	char *text;
	size_t len;
};

static inline void capture_begin(struct capture *cap)
{
	cap->text = NULL;
	cap->len = 0;
	cap->f = open_memstream(&cap->text, &cap->len);
	assert_non_null(cap->f);
}

static inline const char *capture_end(struct capture *cap)
{
	fclose(cap->f);
	cap->f = NULL;
	return cap->text;
}

static inline void capture_free(struct capture *cap)
{
	free(cap->text);
	cap->text = NULL;
}

/* --- A fake portcullisd ---------------------------------------------------- */

enum { FAKE_REQUEST_MAX = 8192 };

struct fake_server {
	char dir[64], path[128];
	int fd;                             /* listening */
	pthread_t thread;
	/* What to do with each connection. */
	const char *reply;                  /* bytes sent after the request */
	size_t reply_len;
	size_t chunk;                       /* per write; 0: all at once */
	unsigned chunk_ms;                  /* pause before each chunk */
	bool hang;                          /* no reply: wait for the client
					     * to give up and close */
	unsigned connections;               /* served before the thread ends */
	/* What the client sent on the last connection. */
	char request[FAKE_REQUEST_MAX];
	size_t request_len;
};

static inline void fake_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Read up to the request's empty line (or EOF), as the daemon frames it. */
static inline void fake_read_request(struct fake_server *s, int c)
{
	s->request_len = 0;
	while (s->request_len < sizeof(s->request) - 1) {
		ssize_t n = read(c, s->request + s->request_len,
				 sizeof(s->request) - 1 - s->request_len);

		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		if (strstr(s->request, "\n\n"))
			break;
	}
	s->request[s->request_len] = '\0';
}

static inline void *fake_serve(void *arg)
{
	struct fake_server *s = arg;

	for (unsigned i = 0; i < s->connections; i++) {
		int c = accept(s->fd, NULL, NULL);
		size_t off = 0;
		char sink[256];

		if (c < 0)
			break;
		fake_read_request(s, c);
		while (!s->hang && off < s->reply_len) {
			size_t n = s->chunk ? s->chunk : s->reply_len;

			if (n > s->reply_len - off)
				n = s->reply_len - off;
			if (s->chunk_ms)
				fake_sleep_ms(s->chunk_ms);
			if (send(c, s->reply + off, n, MSG_NOSIGNAL) <= 0)
				break;
			off += n;
		}
		/* Hanging: hold the connection until the client closes it. */
		while (s->hang && read(c, sink, sizeof(sink)) > 0)
			;
		close(c);
	}
	return NULL;
}

/* Listen on DIR/name.sock and serve `connections` connections. */
static inline void fake_start(struct fake_server *s, const char *name,
			      unsigned connections)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(s->dir, "/tmp/portcullisctl-test.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/%s.sock", s->dir, name);
	strcpy(sa.sun_path, s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	s->connections = connections;
	assert_int_equal(pthread_create(&s->thread, NULL, fake_serve, s), 0);
}

static inline void fake_set_reply(struct fake_server *s, const char *reply)
{
	s->reply = reply;
	s->reply_len = strlen(reply);
}

/* Wait for the thread (all its connections served), remove the files. */
static inline void fake_stop(struct fake_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
	rmdir(s->dir);
}

#endif
