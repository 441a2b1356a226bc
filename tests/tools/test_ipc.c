/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for tools/portcullisctl/ipc.c against a fake portcullisd: the
 * request arrives byte for byte; a reply split across many reads, sent
 * byte by byte or late but in time, or large, is read whole; a server that
 * never answers times out on time; one that closes early or sends too much
 * is an error; and finding the socket (-s, -i, the only one, several, none).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl_test_util.h"
#include "ipc.h"

static const char request[] = "cmd=nat-count\n\n";
static const char reply[] =
	"{\"enabled\":true,\"sessions\":12,\"max_sessions\":65536}\n";

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Connect to s and do one exchange; the reply (or NULL) in *line. */
static int exchange(struct fake_server *s, unsigned timeout_ms,
		    size_t max_len, char **line)
{
	int fd = ipc_connect(s->path, 1000), ret;

	assert_true(fd >= 0);
	*line = NULL;
	ret = ipc_exchange(fd, request, sizeof(request) - 1, timeout_ms,
			   max_len, line);
	close(fd);
	return ret;
}

/* Replies that arrive whole, however they are cut. */
static void test_reply_in_pieces(void **state)
{
	static const struct {
		size_t chunk;
		unsigned chunk_ms;
	} cases[] = {
		/* 1 */ { 0, 0 },               /* one write */
		/* 2 */ { 1, 0 },               /* byte by byte */
		/* 3 */ { 7, 2 },               /* small pieces, 2 ms apart */
		/* 4 */ { 30, 150 },            /* late, within the timeout */
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_server s = { .chunk = cases[i].chunk,
					 .chunk_ms = cases[i].chunk_ms };
		char *line;

		print_message("case %u\n", i + 1);
		fake_set_reply(&s, reply);
		fake_start(&s, "gw0", 1);
		assert_int_equal(exchange(&s, 2000, 0, &line), 0);
		fake_stop(&s);
		assert_string_equal(s.request, request);
		/* The line without its '\n'. */
		assert_int_equal(strlen(line), sizeof(reply) - 2);
		assert_memory_equal(line, reply, sizeof(reply) - 2);
		free(line);
	}
}

/* Anything after the '\n' is not part of this reply. */
static void test_bytes_after_the_line(void **state)
{
	struct fake_server s = { 0 };
	char *line;

	(void)state;
	fake_set_reply(&s, "{\"ok\":true}\n{\"ok\":false}\n");
	fake_start(&s, "gw0", 1);
	assert_int_equal(exchange(&s, 2000, 0, &line), 0);
	fake_stop(&s);
	assert_string_equal(line, "{\"ok\":true}");
	free(line);
}

/* A 3 MiB line: the buffer grows, nothing is lost. */
static void test_large_reply(void **state)
{
	size_t len = 3 << 20;
	char *big = malloc(len + 1), *line;
	struct fake_server s = { .chunk = 65536 };

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < len - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[len - 1] = '\n';
	big[len] = '\0';
	fake_set_reply(&s, big);
	fake_start(&s, "gw0", 1);
	assert_int_equal(exchange(&s, 5000, 0, &line), 0);
	fake_stop(&s);
	assert_int_equal(strlen(line), len - 1);
	assert_memory_equal(line, big, len - 1);
	free(line);
	free(big);
}

static void test_timeout(void **state)
{
	struct fake_server s = { .hang = true };
	uint64_t start;
	char *line;

	(void)state;
	fake_start(&s, "gw0", 1);
	start = ms_now();
	assert_int_equal(exchange(&s, 300, 0, &line), -ETIMEDOUT);
	assert_true(ms_now() - start >= 300);
	assert_true(ms_now() - start < 3000);
	assert_null(line);
	fake_stop(&s);
	assert_string_equal(s.request, request);
}

/* The deadline is for the whole reply, not for each read: a server that
 * trickles a byte every 50 ms cannot hold the client past it. */
static void test_timeout_trickle(void **state)
{
	struct fake_server s = { .chunk = 1, .chunk_ms = 50 };
	uint64_t start;
	char *line;

	(void)state;
	fake_set_reply(&s, reply);
	fake_start(&s, "gw0", 1);
	start = ms_now();
	assert_int_equal(exchange(&s, 400, 0, &line), -ETIMEDOUT);
	assert_true(ms_now() - start < 3000);
	fake_stop(&s);
}

static void test_server_closes_early(void **state)
{
	static const char *const replies[] = {
		/* 1 */ "",                     /* nothing at all */
		/* 2 */ "{\"enabled\":true,",   /* half a line */
	};

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct fake_server s = { 0 };
		char *line;

		print_message("case %u\n", i + 1);
		fake_set_reply(&s, replies[i]);
		fake_start(&s, "gw0", 1);
		assert_int_equal(exchange(&s, 2000, 0, &line), -ENODATA);
		assert_null(line);
		fake_stop(&s);
	}
}

/* Past max_len, with or without a newline in sight. */
static void test_too_long(void **state)
{
	static const size_t limits[] = { 10, 50 };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct fake_server s = { .chunk = 4 };
		char *line;

		print_message("max_len %zu\n", limits[i]);
		fake_set_reply(&s, reply);
		fake_start(&s, "gw0", 1);
		assert_int_equal(exchange(&s, 2000, limits[i], &line), -EMSGSIZE);
		fake_stop(&s);
	}
	/* Exactly max_len bytes before the '\n' is fine. */
	{
		struct fake_server s = { 0 };
		char *line;

		fake_set_reply(&s, reply);
		fake_start(&s, "gw0", 1);
		assert_int_equal(exchange(&s, 2000, sizeof(reply) - 2, &line), 0);
		free(line);
		fake_stop(&s);
	}
}

static void test_connect_errors(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/portcullisctl-test.XXXXXX", path[128], longp[200];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gw0.sock", dir);
	assert_int_equal(ipc_connect(path, 100), -ENOENT);

	/* A socket file nobody listens on: a daemon that died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(ipc_connect(path, 100), -ECONNREFUSED);
	close(fd);
	unlink(path);
	rmdir(dir);

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ipc_connect(longp, 100), -ENAMETOOLONG);
}

/* --- Finding the socket --------------------------------------------------- */

static void touch_socket(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void touch_file(const char *dir, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void remove_all(const char *dir, const char *const *names)
{
	char path[256];

	for (; *names; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		unlink(path);
	}
	rmdir(dir);
}

static void test_socket_path(void **state)
{
	static const char *const files[] = {
		"gw1.sock", "gw0.sock", "notes.txt", "old.sock", NULL,
	};
	char dir[] = "/tmp/portcullisctl-test.XXXXXX", path[IPC_PATH_MAX];
	char why[512], want[512], longname[160];

	(void)state;
	assert_non_null(mkdtemp(dir));

	/* Empty, or only files that are not sockets. */
	assert_int_equal(ipc_socket_path(dir, NULL, NULL, path, sizeof(path),
					 why, sizeof(why)), -ENOENT);
	snprintf(want, sizeof(want), "no gateway socket in %s (is portcullisd "
		 "running?)", dir);
	assert_string_equal(why, want);
	touch_file(dir, "notes.txt");
	touch_file(dir, "old.sock");        /* a regular file: not a socket */
	assert_int_equal(ipc_socket_path(dir, NULL, NULL, path, sizeof(path),
					 why, sizeof(why)), -ENOENT);

	/* One socket: that one. */
	touch_socket(dir, "gw1.sock");
	assert_int_equal(ipc_socket_path(dir, NULL, NULL, path, sizeof(path),
					 why, sizeof(why)), 0);
	snprintf(want, sizeof(want), "%s/gw1.sock", dir);
	assert_string_equal(path, want);

	/* Two: the user must choose; they are listed in order. */
	touch_socket(dir, "gw0.sock");
	assert_int_equal(ipc_socket_path(dir, NULL, NULL, path, sizeof(path),
					 why, sizeof(why)), -EEXIST);
	snprintf(want, sizeof(want), "several gateways in %s (gw0, gw1): "
		 "choose one with -i IFNAME", dir);
	assert_string_equal(why, want);

	/* -i and -s choose without looking. */
	assert_int_equal(ipc_socket_path(dir, "gw0", NULL, path, sizeof(path),
					 why, sizeof(why)), 0);
	snprintf(want, sizeof(want), "%s/gw0.sock", dir);
	assert_string_equal(path, want);
	assert_int_equal(ipc_socket_path(dir, NULL, "/run/other.sock", path,
					 sizeof(path), why, sizeof(why)), 0);
	assert_string_equal(path, "/run/other.sock");
	assert_int_equal(ipc_socket_path("/nonexistent", "wg-0.a_b=c+", NULL,
					 path, sizeof(path), why, sizeof(why)), 0);
	assert_string_equal(path, "/nonexistent/wg-0.a_b=c+.sock");

	/* Interface names as wg-quick allows them, nothing else. */
	assert_int_equal(ipc_socket_path(dir, "a/b", NULL, path, sizeof(path),
					 why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bad interface name 'a/b'");
	assert_int_equal(ipc_socket_path(dir, "", NULL, path, sizeof(path),
					 why, sizeof(why)), -EINVAL);
	assert_int_equal(ipc_socket_path(dir, "sixteen-chars-xx", NULL, path,
					 sizeof(path), why, sizeof(why)), -EINVAL);

	/* A path that would not fit in sun_path. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ipc_socket_path(dir, NULL, longname, path, sizeof(path),
					 why, sizeof(why)), -ENAMETOOLONG);
	assert_string_equal(why, "socket path too long");

	remove_all(dir, files);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_in_pieces),
		cmocka_unit_test(test_bytes_after_the_line),
		cmocka_unit_test(test_large_reply),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_trickle),
		cmocka_unit_test(test_server_closes_early),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_socket_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
