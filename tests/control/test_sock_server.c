/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for control/sock_server.c on real sockets in a temp directory,
 * with a line-echo protocol ("x\n" -> "re:x\n") and the clock passed in,
 * so deadlines are tested without sleeping: the socket file (mode, group,
 * directories made, stale and live sockets, deletion), request framing
 * (pipelined, byte by byte, half-closed), close_after_reply, the size
 * limit, the request and idle deadlines, the connection limit, root_only
 * (a child that drops to nobody is refused) and the TCP address parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sock_server.h"

#define MS 1000000ull

static size_t line_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	return nl ? (size_t)(nl - buf) + 1 : 0;
}

static void echo(void *ctx, const char *req, size_t len, FILE *out)
{
	(*(unsigned *)ctx)++;
	fprintf(out, "re:%.*s", (int)len, req);
}

static const struct sock_server_ops echo_ops = {
	.request_end = line_end, .handle = echo, .max_request = 64,
	.request_ms = 1000, .idle_ms = 2000,
};

static const struct sock_server_unix_opts root_0600 = {
	.mode = 0600, .gid = (gid_t)-1, .root_only = true,
};

struct fixture {
	char dir[64], path[128];
	unsigned handled;
	struct sock_server *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sock_server.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* Two directories to make: both must come out 0755. */
	snprintf(f->path, sizeof(f->path), "%s/a/b/s.sock", f->dir);
	if (sock_server_listen_unix(&f->s, f->path, &root_0600, &echo_ops,
				    &f->handled, err, sizeof(err)) < 0)
		fail_msg("listen: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	sock_server_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Polls the server at time now until want bytes came back on fd, or the
 * server closed it (returns what came, NUL-terminated). */
static size_t pump(struct sock_server *s, uint64_t now, int fd, char *buf,
		   size_t want)
{
	size_t got = 0;

	for (int i = 0; i < 200 && got < want; i++) {
		ssize_t n;

		sock_server_poll(s, now);
		n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			got += (size_t)n;
		else
			usleep(500);
	}
	buf[got] = '\0';
	return got;
}

/* Closed by the other side: EOF, or a reset when it closed with our
 * bytes unread. */
static bool is_closed(ssize_t n)
{
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* True once the server has closed fd (after polling at now). */
static bool closed_by_server(struct sock_server *s, uint64_t now, int fd)
{
	char c;

	for (int i = 0; i < 200; i++) {
		sock_server_poll(s, now);
		if (is_closed(recv(fd, &c, 1, MSG_DONTWAIT)))
			return true;
		usleep(500);
	}
	return false;
}

static void test_socket_file(void **state)
{
	struct fixture *f = *state;
	char dir[128];
	struct stat st;

	assert_string_equal(sock_server_path(f->s), f->path);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/a/b", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_false(sock_server_file_deleted(f->s));
	/* Replaced by another file: deleted, and the other file survives
	 * sock_server_close. */
	assert_int_equal(unlink(f->path), 0);
	assert_true(sock_server_file_deleted(f->s));
	assert_int_equal(mknod(f->path, S_IFREG | 0600, 0), 0);
	assert_true(sock_server_file_deleted(f->s));
	sock_server_close(f->s);
	f->s = NULL;
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* A dead daemon's socket is replaced; a live one, or a file that is not a
 * socket, is refused and left alone. */
static void test_stale_and_live(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sock_server *s2 = NULL;
	unsigned n = 0;
	char err[256], stale[100], file[128];
	int fd;

	assert_int_equal(sock_server_listen_unix(&s2, f->path, &root_0600, &echo_ops,
						 &n, err, sizeof(err)), -EADDRINUSE);
	assert_null(s2);
	assert_non_null(strstr(err, "in use by another process"));
	assert_false(sock_server_file_deleted(f->s));

	snprintf(stale, sizeof(stale), "%s/stale.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);                              /* bound, never listened: dead */
	assert_int_equal(sock_server_listen_unix(&s2, stale, &root_0600, &echo_ops,
						 &n, err, sizeof(err)), 0);
	sock_server_close(s2);
	assert_int_equal(access(stale, F_OK), -1);   /* ours: unlinked */

	snprintf(file, sizeof(file), "%s/file", f->dir);
	assert_int_equal(mknod(file, S_IFREG | 0600, 0), 0);
	assert_int_equal(sock_server_listen_unix(&s2, file, &root_0600, &echo_ops,
						 &n, err, sizeof(err)), -EEXIST);
	assert_int_equal(access(file, F_OK), 0);
	assert_int_equal(sock_server_listen_unix(&s2, "relative.sock", &root_0600,
						 &echo_ops, &n, err, sizeof(err)),
			 -EINVAL);
}

static void test_framing(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);
	char buf[128];

	/* Two requests in one write: two replies, in order, one connection. */
	assert_int_equal(write(fd, "a\nbb\n", 5), 5);
	assert_int_equal(pump(f->s, 0, fd, buf, 11), 11);
	assert_string_equal(buf, "re:a\nre:bb\n");
	/* Byte by byte across polls. */
	for (const char *p = "xyz\n"; *p; p++) {
		assert_int_equal(write(fd, p, 1), 1);
		sock_server_poll(f->s, 0);
	}
	assert_int_equal(pump(f->s, 0, fd, buf, 7), 7);
	assert_string_equal(buf, "re:xyz\n");
	/* Half-closed after a request: still answered, then closed. */
	assert_int_equal(write(fd, "end\n", 4), 4);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_int_equal(pump(f->s, 0, fd, buf, 100), 7);
	assert_string_equal(buf, "re:end\n");
	assert_int_equal(f->handled, 4);
	assert_int_equal(sock_server_poll(f->s, 0), 0);
	close(fd);
}

static void test_limits_and_deadlines(void **state)
{
	struct fixture *f = *state;
	char big[100], buf[128];
	int slow, idle, huge, ok;

	memset(big, 'x', sizeof(big));
	huge = client(f->path);
	slow = client(f->path);
	idle = client(f->path);
	ok = client(f->path);
	/* Over max_request (64) without a newline: that connection only. */
	assert_int_equal(write(huge, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_true(closed_by_server(f->s, 0, huge));
	/* Half a request at t=0.5 s: alive until 1.5 s (request_ms). */
	assert_int_equal(write(slow, "ha", 2), 2);
	assert_int_equal(sock_server_poll(f->s, 500 * MS), 3);
	assert_int_equal(sock_server_poll(f->s, 1400 * MS), 3);
	assert_true(closed_by_server(f->s, 1501 * MS, slow));
	/* Connected at 0, silent: closed after idle_ms (2 s); a connection
	 * answered at 1.9 s idles until 3.9 s. */
	assert_int_equal(write(ok, "q\n", 2), 2);
	assert_int_equal(pump(f->s, 1900 * MS, ok, buf, 5), 5);
	assert_true(closed_by_server(f->s, 2001 * MS, idle));
	assert_int_equal(sock_server_poll(f->s, 3800 * MS), 1);
	assert_true(closed_by_server(f->s, 3901 * MS, ok));
	close(huge);
	close(slow);
	close(idle);
	close(ok);
}

static void test_connection_limit(void **state)
{
	struct fixture *f = *state;
	int fds[SOCK_SERVER_MAX_CONNS + 1];
	char buf[16];

	for (unsigned i = 0; i <= SOCK_SERVER_MAX_CONNS; i++)
		fds[i] = client(f->path);
	assert_int_equal(sock_server_poll(f->s, 0), SOCK_SERVER_MAX_CONNS);
	assert_true(closed_by_server(f->s, 0, fds[SOCK_SERVER_MAX_CONNS]));
	/* The ones that got a slot are served. */
	assert_int_equal(write(fds[0], "k\n", 2), 2);
	assert_int_equal(pump(f->s, 0, fds[0], buf, 5), 5);
	for (unsigned i = 0; i <= SOCK_SERVER_MAX_CONNS; i++)
		close(fds[i]);
}

/* HTTP/1.0 style: one request, one reply, then the server closes. */
static void test_close_after_reply(void **state)
{
	struct fixture *f = *state;
	struct sock_server_ops ops = echo_ops;
	struct sock_server *s = NULL;
	char path[160], buf[64], err[256];
	unsigned n = 0;
	int fd;

	ops.close_after_reply = true;
	snprintf(path, sizeof(path), "%s/once.sock", f->dir);
	assert_int_equal(sock_server_listen_unix(&s, path, &root_0600, &ops, &n,
						 err, sizeof(err)), 0);
	fd = client(path);
	assert_int_equal(write(fd, "one\ntwo\n", 8), 8);
	assert_int_equal(pump(s, 0, fd, buf, sizeof(buf) - 1), 7);
	assert_string_equal(buf, "re:one\n");
	assert_int_equal(n, 1);
	close(fd);
	sock_server_close(s);
}

/* A child that drops to nobody connects (the file mode would let it, 0666
 * here) and is refused by SO_PEERCRED. */
static void test_root_only(void **state)
{
	struct fixture *f = *state;
	struct sock_server_unix_opts open_to_all = { .mode = 0666, .gid = (gid_t)-1,
						     .root_only = true };
	struct sock_server *s = NULL;
	char path[160], err[256];
	unsigned n = 0;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/root.sock", f->dir);
	assert_int_equal(sock_server_listen_unix(&s, path, &open_to_all, &echo_ops,
						 &n, err, sizeof(err)), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = client(path);
		if (write(fd, "get\n", 4) != 4)
			_exit(3);
		_exit(is_closed(read(fd, &c, 1)) ? 0 : 1);   /* unanswered */
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		sock_server_poll(s, 0);
		usleep(500);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(n, 0);
	sock_server_close(s);
}

static void test_tcp(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "localhost:9586", "[::1]9586", "::1:9586", ":9586",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+1", "[127.0.0.1]:1",
		"127.0.0.1:1x", "",
	};
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct sock_server *s = NULL;
	char addr[32], err[256], buf[32];
	unsigned n = 0;
	int fd;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sock_server_listen_tcp(&s, bad[i], &echo_ops, &n, err,
					   sizeof(err)) != -EINVAL)
			fail_msg("bad address %zu '%s' accepted", i, bad[i]);
		assert_null(s);
	}
	/* A free port: bind one, note it, let it go. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	if (sock_server_listen_tcp(&s, addr, &echo_ops, &n, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(sock_server_path(s), "");
	assert_false(sock_server_file_deleted(s));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, "tcp\n", 4), 4);
	assert_int_equal(pump(s, 0, fd, buf, 7), 7);
	assert_string_equal(buf, "re:tcp\n");
	close(fd);
	sock_server_close(s);
	sock_server_close(NULL);
	assert_int_equal(sock_server_poll(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_after_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_only, setup, teardown),
		cmocka_unit_test(test_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
