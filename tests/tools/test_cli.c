/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests for tools/portcullisctl/cli.c and request.c: each command line and
 * the exact request it sends; bad command lines and their exact message
 * (exit 2, nothing sent); then whole runs against a fake portcullisd: a
 * table, --json passing the reply through indented, the error reply, and
 * each way of not getting a reply (exit 1, one line on stderr).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl_proto.h"
#include "ctl_test_util.h"
#include "ipc.h"
#include "portcullisctl.h"

#define KEY "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
/* KEY's label value, from Python's codecs, not ours:
 * base64.b32encode(base64.b64decode(KEY)).rstrip(b'=').lower() */
#define KEY_LABEL "yuzaca423oquxzy7rbw2dwg35hxl33iizmirw5juab4jtgvj6a4a"
/* KEY with a stray bit in the last character: 32 bytes to a lenient
 * decoder, not a key to wg. */
#define KEY_STRAY_BITS "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh="
#define NO_DIR "/nonexistent-portcullis-dir"

enum { MAX_ARGV = 32 };

/* "portcullisctl" + words of line split at spaces (no quoting needed). */
struct args {
	char buf[512];
	char *argv[MAX_ARGV + 1];
	int argc;
};

static void split(struct args *a, const char *line)
{
	char *save = NULL;

	snprintf(a->buf, sizeof(a->buf), "%s", line);
	a->argv[0] = "portcullisctl";
	a->argc = 1;
	for (char *w = strtok_r(a->buf, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		assert_true(a->argc < MAX_ARGV);
		a->argv[a->argc++] = w;
	}
	a->argv[a->argc] = NULL;
}

/* --- Command line -> request ---------------------------------------------- */

enum { O_JSON = 1, O_HUMAN = 2, O_LCORES = 4, O_ALL = 8 };

static const struct {
	const char *line;
	const char *request;
	unsigned opts;
} good[] = {
	/*  1 */ { "ports", "cmd=ports\n\n", 0 },
	/*  2 */ { "neigh", "cmd=neighbours\n\n", 0 },
	/*  3 */ { "neighbours", "cmd=neighbours\n\n", 0 },
	/*  4 */ { "allowed-ips", "cmd=allowed-ips\n\n", 0 },
	/*  5 */ { "allowed-ips " KEY, "cmd=allowed-ips\npeer=" KEY "\n\n", 0 },
	/*  6 */ { "nat sessions", "cmd=nat-sessions\n\n", 0 },
	/*  7 */ { "nat sessions proto tcp inside 10.0.0.5 external "
		   "203.0.113.2:43210 remote 198.51.100.7:443 limit 0",
		   "cmd=nat-sessions\nproto=tcp\ninside=10.0.0.5\n"
		   "external=203.0.113.2:43210\nremote=198.51.100.7:443\n"
		   "limit=0\n\n", 0 },
	/*  8: the order given is kept */
		 { "nat sessions limit 5 proto icmp remote 192.0.2.1",
		   "cmd=nat-sessions\nlimit=5\nproto=icmp\nremote=192.0.2.1\n\n",
		   0 },
	/*  9: an ICMP echo identifier may be 0 */
		 { "nat sessions inside 10.0.0.5:0 limit 999999999",
		   "cmd=nat-sessions\ninside=10.0.0.5:0\nlimit=999999999\n\n", 0 },
	/* 10 */ { "nat count", "cmd=nat-count\n\n", 0 },
	/* 11 */ { "nat flush", "cmd=nat-flush\n\n", 0 },
	/* 12 */ { "nat flush proto udp inside 10.0.0.6:53000",
		   "cmd=nat-flush\nproto=udp\ninside=10.0.0.6:53000\n\n", 0 },
	/* 13 */ { "forwards", "cmd=forwards\n\n", 0 },
	/* 14 */ { "forward list", "cmd=forwards\n\n", 0 },
	/* 15 */ { "forward add tcp 2222 10.0.0.5:22",
		   "cmd=forward-add\nproto=tcp\nexternal=2222\nto=10.0.0.5:22\n\n",
		   0 },
	/* 16 */ { "forward add udp 203.0.113.11:5353 10.0.0.7:53",
		   "cmd=forward-add\nproto=udp\nexternal=203.0.113.11:5353\n"
		   "to=10.0.0.7:53\n\n", 0 },
	/* 17 */ { "forward remove tcp 2222",
		   "cmd=forward-remove\nproto=tcp\nexternal=2222\n\n", 0 },
	/* 18 */ { "forward remove udp 203.0.113.11:5353",
		   "cmd=forward-remove\nproto=udp\nexternal=203.0.113.11:5353\n\n",
		   0 },
	/* 19 */ { "counters", "cmd=counters\n\n", 0 },
	/* 20 */ { "counters --lcores", "cmd=counters\n\n", O_LCORES },
	/* 21 */ { "counters --all --lcores", "cmd=counters\n\n",
		   O_ALL | O_LCORES },
	/* 22 */ { "reload", "cmd=reload\n\n", 0 },
	/* 23 */ { "metrics", "cmd=metrics\n\n", 0 },
	/* 24 */ { "-j ports", "cmd=ports\n\n", O_JSON },
	/* 25 */ { "--json -h counters", "cmd=counters\n\n", O_JSON | O_HUMAN },
	/* 26 */ { "--human -- ports", "cmd=ports\n\n", O_HUMAN },
	/* 27 */ { "hetzner status", "cmd=hetzner-status\n\n", 0 },
	/* 28 */ { "hetzner plan", "cmd=hetzner-plan\n\n", 0 },
	/* 29 */ { "hetzner sync", "cmd=hetzner-sync\n\n", 0 },
	/* 30 */ { "-j hetzner status", "cmd=hetzner-status\n\n", O_JSON },
};

static void test_requests(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct ctl_cli cli;
		struct args a;
		char why[256] = "";
		unsigned opts;

		print_message("case %u: %s\n", i + 1, good[i].line);
		split(&a, good[i].line);
		assert_int_equal(ctl_cli_parse(a.argc, a.argv, &cli, why,
					       sizeof(why)), 0);
		assert_string_equal(why, "");
		assert_false(cli.help);
		assert_non_null(cli.call.print);
		assert_string_equal(cli.call.req.text, good[i].request);
		assert_int_equal(cli.call.req.len, strlen(good[i].request));
		opts = (cli.call.opts.json ? O_JSON : 0) |
		       (cli.call.opts.human ? O_HUMAN : 0) |
		       (cli.call.opts.lcores ? O_LCORES : 0) |
		       (cli.call.opts.all ? O_ALL : 0);
		assert_int_equal(opts, good[i].opts);
	}
}

/* The daemon's own parser (control/ctl_proto.c) frames and accepts every
 * request above, and reads back the command and the arguments in order. */
static void test_requests_parse_in_daemon(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *text = good[i].request;
		size_t len = strlen(text);
		struct ctl_request r;
		char err[CTL_ERR_LEN] = "", back[512];
		size_t off;

		print_message("case %u: %s\n", i + 1, good[i].line);
		assert_int_equal(ctl_request_end(text, len), len);
		assert_int_equal(ctl_request_parse(text, len, &r, err,
						   sizeof(err)), 0);
		assert_string_equal(err, "");
		off = (size_t)snprintf(back, sizeof(back), "cmd=%s\n", r.cmd);
		for (unsigned a = 0; a < r.n_args; a++)
			off += (size_t)snprintf(back + off, sizeof(back) - off,
						"%s=%s\n", r.args[a].key,
						r.args[a].value);
		snprintf(back + off, sizeof(back) - off, "\n");
		assert_string_equal(back, text);
		ctl_request_free(&r);
	}
}

static void test_socket_options(void **state)
{
	static const struct {
		const char *line, *ifname, *socket;
	} cases[] = {
		/* 1 */ { "ports", NULL, NULL },
		/* 2 */ { "-i gw0 ports", "gw0", NULL },
		/* 3 */ { "-igw1 ports", "gw1", NULL },
		/* 4 */ { "-s /run/x.sock --json ports", NULL, "/run/x.sock" },
		/* 5 */ { "--json -s/run/y.sock ports", NULL, "/run/y.sock" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_cli cli;
		struct args a;
		char why[256];

		print_message("case %u: %s\n", i + 1, cases[i].line);
		split(&a, cases[i].line);
		assert_int_equal(ctl_cli_parse(a.argc, a.argv, &cli, why,
					       sizeof(why)), 0);
		if (cases[i].ifname)
			assert_string_equal(cli.ifname, cases[i].ifname);
		else
			assert_null(cli.ifname);
		if (cases[i].socket)
			assert_string_equal(cli.socket, cases[i].socket);
		else
			assert_null(cli.socket);
	}
}

/* --- Bad command lines: exit 2, the reason and the usage on stderr -------- */

#define USAGE_GENERAL "usage: portcullisctl [-i IFNAME | -s SOCKET] " \
	"[-j|--json] [-h|--human] COMMAND [ARGS]\n" \
	"Run 'portcullisctl help' for the commands.\n"
#define FILTERS "[proto tcp|udp|icmp] [inside IPV4[:PORT]] " \
	"[external IPV4[:PORT]] [remote IPV4[:PORT]]"
#define U "usage: portcullisctl [OPTIONS] "
#define USAGE_NAT U "nat sessions " FILTERS " [limit N]\n" U "nat count\n" \
	U "nat flush " FILTERS "\n"
#define USAGE_FORWARD U "forwards | forward list\n" \
	U "forward add tcp|udp [ADDR:]PORT ADDR:PORT\n" \
	U "forward remove tcp|udp [ADDR:]PORT\n"
#define USAGE_SESSIONS USAGE_NAT
#define USAGE_HETZNER U "hetzner status\n" U "hetzner plan\n" \
	U "hetzner sync\n" U "hetzner label PEER_KEY\n"
#define BAD_KEY(k) E "bad public key '" k "' (44 base64 characters " \
	"encoding 32 bytes, as wg prints it)\n" USAGE_HETZNER
#define E "portcullisctl: "

static const struct {
	const char *line, *err;
} bad[] = {
	/*  1 */ { "", E "no command given\n" USAGE_GENERAL },
	/*  2 */ { "bogus", E "unknown command 'bogus'\n" USAGE_GENERAL },
	/*  3 */ { "-x ports", E "unknown option '-x'\n" USAGE_GENERAL },
	/*  4 */ { "-i", E "option -i needs a value\n" USAGE_GENERAL },
	/*  5 */ { "-i gw0 -s /x ports", E "-i and -s exclude each other\n"
		   USAGE_GENERAL },
	/*  6 */ { "-s /x -i gw0 -- ports", E "-i and -s exclude each other\n"
		   USAGE_GENERAL },
	/*  7 */ { "ports extra", E "unexpected argument 'extra'\n" U "ports\n" },
	/*  8: an alias prints the line of its command */
		 { "neighbours x", E "unexpected argument 'x'\n"
		   U "neigh | neighbours\n" },
	/*  9 */ { "nat", E "nat: missing subcommand\n" USAGE_NAT },
	/* 10 */ { "nat list", E "nat: unknown subcommand 'list'\n" USAGE_NAT },
	/* 11 */ { "forward", E "forward: missing subcommand\n" USAGE_FORWARD },
	/* 12 */ { "allowed-ips notakey", E "bad peer key 'notakey' (44 base64 "
		   "characters, as wg prints it)\n" U "allowed-ips [PEER_KEY]\n" },
	/* 13 */ { "allowed-ips " KEY " more", E "unexpected argument 'more'\n"
		   U "allowed-ips [PEER_KEY]\n" },
	/* 14 */ { "nat sessions proto sctp", E "bad protocol 'sctp' (tcp, udp "
		   "or icmp)\n" USAGE_SESSIONS },
	/* 15 */ { "nat sessions proto", E "proto needs a value\n"
		   USAGE_SESSIONS },
	/* 16 */ { "nat sessions proto tcp proto udp", E "proto given twice\n"
		   USAGE_SESSIONS },
	/* 17 */ { "nat sessions inside 10.0.0.256", E "bad address "
		   "'10.0.0.256' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 18 */ { "nat sessions inside 10.0.0.5:65536", E "bad address "
		   "'10.0.0.5:65536' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 19: NAT44: sessions have IPv4 addresses only */
		 { "nat sessions remote 2001:db8::1", E "bad address "
		   "'2001:db8::1' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 20 */ { "nat sessions external 10.0.0.5:", E "bad address "
		   "'10.0.0.5:' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 21 */ { "nat sessions inside 10.0.0.5:000080", E "bad address "
		   "'10.0.0.5:000080' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 22 */ { "nat sessions inside 10.0.0.5:8:8", E "bad address "
		   "'10.0.0.5:8:8' (IPV4[:PORT])\n" USAGE_SESSIONS },
	/* 23 */ { "nat sessions limit -1", E "bad limit '-1' (a number, 0 for "
		   "all)\n" USAGE_SESSIONS },
	/* 24 */ { "nat sessions limit 1000000000", E "bad limit '1000000000' "
		   "(a number, 0 for all)\n" USAGE_SESSIONS },
	/* 25 */ { "nat sessions limit ten", E "bad limit 'ten' (a number, 0 "
		   "for all)\n" USAGE_SESSIONS },
	/* 26 */ { "nat sessions colour red", E "unknown filter 'colour'\n"
		   USAGE_SESSIONS },
	/* 27 */ { "nat flush limit 5", E "unknown filter 'limit'\n" USAGE_NAT },
	/* 28 */ { "nat count 1", E "unexpected argument '1'\n" USAGE_NAT },
	/* 29 */ { "forward add", E "missing the protocol (tcp or udp)\n"
		   USAGE_FORWARD },
	/* 30 */ { "forward add tcp", E "missing the external [ADDR:]PORT\n"
		   USAGE_FORWARD },
	/* 31 */ { "forward add tcp 2222", E "missing the target ADDR:PORT\n"
		   USAGE_FORWARD },
	/* 32 */ { "forward add icmp 1 10.0.0.5:22", E "bad protocol 'icmp' "
		   "(tcp or udp)\n" USAGE_FORWARD },
	/* 33 */ { "forward add tcp 0 10.0.0.5:22", E "bad port '0'\n"
		   USAGE_FORWARD },
	/* 34 */ { "forward add tcp 22x 10.0.0.5:22", E "bad port '22x'\n"
		   USAGE_FORWARD },
	/* 35 */ { "forward add tcp 2222 10.0.0.5", E "bad address '10.0.0.5' "
		   "(IPV4:PORT)\n" USAGE_FORWARD },
	/* 36: forwards are NAT44 */
		 { "forward add tcp 2222 [fd00::5]:22", E "bad address "
		   "'[fd00::5]:22' (IPV4:PORT)\n" USAGE_FORWARD },
	/* 37 */ { "forward add tcp 2222 10.0.0.5:0", E "bad address "
		   "'10.0.0.5:0' (IPV4:PORT)\n" USAGE_FORWARD },
	/* 38 */ { "forward add tcp 203.0.113.2:x 10.0.0.5:22", E "bad address "
		   "'203.0.113.2:x' (IPV4:PORT)\n" USAGE_FORWARD },
	/* 39 */ { "forward add tcp 2222 10.0.0.5:22 now", E "unexpected "
		   "argument 'now'\n" USAGE_FORWARD },
	/* 40 */ { "forward remove tcp 2222 10.0.0.5:22", E "unexpected "
		   "argument '10.0.0.5:22'\n" USAGE_FORWARD },
	/* 41 */ { "counters --lcore", E "unexpected argument '--lcore'\n"
		   U "counters [--lcores] [--all]\n" },
	/* 42: checked before anything is sent, so no usage line */
		 { "-i ../etc ports", E "bad interface name '../etc'\n" },
	/* 43 */ { "-i gw0gw0gw0gw0gw0x ports", E "bad interface name "
		   "'gw0gw0gw0gw0gw0x'\n" },
};

static void test_bad_command_lines(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct capture out, err;
		struct args a;

		print_message("case %u: %s\n", i + 1, bad[i].line);
		split(&a, bad[i].line);
		capture_begin(&out);
		capture_begin(&err);
		assert_int_equal(ctl_run(a.argc, a.argv, NO_DIR, 1000, out.f,
					 err.f), CTL_EXIT_USAGE);
		assert_string_equal(capture_end(&out), "");
		assert_string_equal(capture_end(&err), bad[i].err);
		capture_free(&out);
		capture_free(&err);
	}
}

static void test_help(void **state)
{
	static const char *const lines[] = { "help", "--help", "-i gw0 --help" };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct capture out, err;
		struct args a;

		split(&a, lines[i]);
		capture_begin(&out);
		capture_begin(&err);
		assert_int_equal(ctl_run(a.argc, a.argv, NO_DIR, 1000, out.f,
					 err.f), CTL_EXIT_OK);
		capture_end(&out);
		assert_string_equal(capture_end(&err), "");
		/* The usage line first, every command, the exit codes. */
		assert_true(strncmp(out.text, "usage: portcullisctl [-i IFNAME",
				    31) == 0);
		assert_non_null(strstr(out.text, "\n  nat flush [proto"));
		assert_non_null(strstr(out.text, "\n  forward add tcp|udp"));
		assert_non_null(strstr(out.text, "\n  hetzner label PEER_KEY\n"));
		assert_non_null(strstr(out.text, "2 bad command line.\n"));
		capture_free(&out);
		capture_free(&err);
	}
}

/* --- request.c ------------------------------------------------------------ */

static void test_request_limits(void **state)
{
	struct ctl_req r;
	char why[256], big[1024];

	(void)state;
	/* A value never carries a second line into the request. */
	ctl_req_init(&r, "nat-sessions");
	assert_int_equal(ctl_req_add(&r, "inside", "10.0.0.5\nlimit=0", why,
				     sizeof(why)), -EINVAL);
	assert_string_equal(why, "inside: only printable ASCII is allowed");
	assert_int_equal(ctl_req_add(&r, "inside", "\xc3\xa9", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(r.text, "cmd=nat-sessions\n");

	/* CTL_MAX_ARGS (16) arguments at most. */
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(ctl_req_add(&r, "k", "v", why, sizeof(why)), 0);
	assert_int_equal(ctl_req_add(&r, "k", "v", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "too many arguments");

	/* Longer than the buffer: refused at the end, never cut short. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ctl_req_init(&r, "x");
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(ctl_req_add(&r, "k", big, why, sizeof(why)), 0);
	assert_int_equal(ctl_req_finish(&r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "arguments too long");
}

/* --- Whole runs against a fake portcullisd -------------------------------- */

struct run {
	int code;
	struct capture out, err;
};

static void run_line(struct run *r, const char *line, const char *dir,
		     unsigned timeout_ms)
{
	struct args a;

	split(&a, line);
	capture_begin(&r->out);
	capture_begin(&r->err);
	r->code = ctl_run(a.argc, a.argv, dir, timeout_ms, r->out.f, r->err.f);
	capture_end(&r->out);
	capture_end(&r->err);
}

static void run_free(struct run *r)
{
	capture_free(&r->out);
	capture_free(&r->err);
}

/* One exchange with a fake server answering reply; the request it got is
 * left in s->request. */
static void run_against(struct run *r, struct fake_server *s,
			const char *reply, const char *args, unsigned timeout_ms)
{
	char line[512];

	memset(s, 0, sizeof(*s));
	if (reply)
		fake_set_reply(s, reply);
	s->hang = reply == NULL;
	fake_start(s, "gw0", 1);
	snprintf(line, sizeof(line), "-s %s %s", s->path, args);
	run_line(r, line, NO_DIR, timeout_ms);
	fake_stop(s);
}

static void test_run_table(void **state)
{
	char *reply = fixture_read("nat_count.json");
	char *want = fixture_read("nat_count.txt");
	struct fake_server s;
	struct run r;

	(void)state;
	run_against(&r, &s, reply, "nat count", 5000);
	assert_string_equal(s.request, "cmd=nat-count\n\n");
	assert_int_equal(r.code, CTL_EXIT_OK);
	assert_string_equal(r.out.text, want);
	assert_string_equal(r.err.text, "");
	run_free(&r);
	free(want);
	free(reply);
}

/* --json prints the reply indented by 2, members in the server's order:
 * two fixtures against hand-written text, all of them against jansson's
 * own rendering and as the same JSON value. */
static void test_run_json(void **state)
{
	static const struct {
		const char *fixture, *args, *pretty;
	} cases[] = {
		{ "nat_count.json", "nat count", "nat_count.pretty.txt" },
		{ "forwards.json", "forwards", "forwards.pretty.txt" },
		{ "ports.json", "ports", NULL },
		{ "neighbours.json", "neigh", NULL },
		{ "allowed_ips.json", "allowed-ips", NULL },
		{ "nat_sessions.json", "nat sessions", NULL },
		{ "nat_flush.json", "nat flush", NULL },
		{ "forward_ok.json", "forward remove tcp 2222", NULL },
		{ "counters.json", "counters", NULL },
		{ "reload.json", "reload", NULL },
		{ "metrics.json", "metrics", NULL },
		{ "hetzner_status.json", "hetzner status", NULL },
		{ "hetzner_status_disabled.json", "hetzner status", NULL },
		{ "hetzner_plan.json", "hetzner plan", NULL },
		{ "hetzner_sync.json", "hetzner sync", NULL },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *reply = fixture_read(cases[i].fixture), *want, args[128];
		json_t *sent = json_loads(reply, 0, NULL), *got;
		struct fake_server s;
		struct run r;

		print_message("case %u: %s\n", i + 1, cases[i].fixture);
		snprintf(args, sizeof(args), "--json %s", cases[i].args);
		run_against(&r, &s, reply, args, 5000);
		assert_int_equal(r.code, CTL_EXIT_OK);
		assert_string_equal(r.err.text, "");
		if (cases[i].pretty) {
			want = fixture_read(cases[i].pretty);
		} else {
			char *dump = json_dumps(sent, JSON_INDENT(2));

			assert_int_equal(asprintf(&want, "%s\n", dump) > 0, 1);
			free(dump);
		}
		assert_string_equal(r.out.text, want);
		got = json_loads(r.out.text, 0, NULL);
		assert_true(json_equal(got, sent));
		json_decref(got);
		json_decref(sent);
		free(want);
		free(reply);
		run_free(&r);
	}
}

/* The gateway's error: its text on stderr, exit 1, nothing on stdout,
 * with or without --json. */
static void test_run_error_reply(void **state)
{
	static const char *const args[] = { "reload", "--json reload" };
	char *reply = fixture_read("error.json");

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct fake_server s;
		struct run r;

		run_against(&r, &s, reply, args[i], 5000);
		assert_string_equal(s.request, "cmd=reload\n\n");
		assert_int_equal(r.code, CTL_EXIT_ERROR);
		assert_string_equal(r.out.text, "");
		assert_string_equal(r.err.text, "portcullisctl: gw0.conf:12: bad "
				    "AllowedIPs '10.0.0.0/33'\n");
		run_free(&r);
	}
	free(reply);
}

/* Replies that are not what was asked for, and no reply at all. */
static void test_run_bad_replies(void **state)
{
	static const struct {
		const char *reply;          /* NULL: never answer */
		const char *args;
		const char *err;            /* after "portcullisctl: PATH" */
	} cases[] = {
		/* 1 */ { "{\"ports\":{}}\n", "ports", NULL },
		/* 2 */ { "not json\n", "ports", NULL },
		/* 3 */ { "[1]\n", "ports", NULL },
		/* 4 */ { "", "ports", NULL },
		/* 5 */ { "{\"ports\":[", "ports", NULL },
		/* 6 */ { NULL, "ports", NULL },
		/* 7 */ { "{\"error\":17}\n", "ports", NULL },
	};
	static const char *const want[] = {
		/* 1 */ "portcullisctl: unexpected reply from %s: {\"ports\":{}}\n",
		/* 2 */ "portcullisctl: bad reply from %s: '[' or '{' expected "
			"near 'not'\n",
		/* 3 */ "portcullisctl: bad reply from %s: not a JSON object\n",
		/* 4 */ "portcullisctl: %s closed the connection without a "
			"complete reply\n",
		/* 5 */ "portcullisctl: %s closed the connection without a "
			"complete reply\n",
		/* 6 */ "portcullisctl: no reply from %s within 1 s\n",
		/* 7 */ "portcullisctl: the gateway refused\n",
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_server s;
		struct run r;
		char expect[512];

		print_message("case %u\n", i + 1);
		run_against(&r, &s, cases[i].reply, cases[i].args, 300);
		snprintf(expect, sizeof(expect), want[i], s.path);
		assert_int_equal(r.code, CTL_EXIT_ERROR);
		assert_string_equal(r.out.text, "");
		assert_string_equal(r.err.text, expect);
		run_free(&r);
	}
}

/* The Hetzner commands against a fake gateway: the plan's tables, sync
 * silent, and the plan's error before the first good round.  (status
 * prints times relative to now: test_print pins the clock.) */
static void test_run_hetzner(void **state)
{
	static const struct {
		const char *fixture, *args, *request, *out, *err;
		int code;
	} cases[] = {
		/* 1 */ { "hetzner_plan.json", "hetzner plan",
			  "cmd=hetzner-plan\n\n", "hetzner_plan.txt", "",
			  CTL_EXIT_OK },
		/* 2 */ { "hetzner_plan_empty.json", "hetzner plan",
			  "cmd=hetzner-plan\n\n", "nothing to change\n", "",
			  CTL_EXIT_OK },
		/* 3 */ { "hetzner_sync.json", "hetzner sync",
			  "cmd=hetzner-sync\n\n", "", "", CTL_EXIT_OK },
		/* 4 */ { "hetzner_status_disabled.json", "hetzner status",
			  "cmd=hetzner-status\n\n",
			  "hetzner sync: off (no [Hetzner] section)\n", "",
			  CTL_EXIT_OK },
		/* 5 */ { "hetzner_plan_error.json", "hetzner plan",
			  "cmd=hetzner-plan\n\n", "", "portcullisctl: no "
			  "successful round yet: GET /servers: 503 service "
			  "unavailable (gave up after 5 tries)\n",
			  CTL_EXIT_ERROR },
		/* 6 */ { "hetzner_plan_error.json", "--json hetzner plan",
			  "cmd=hetzner-plan\n\n", "", "portcullisctl: no "
			  "successful round yet: GET /servers: 503 service "
			  "unavailable (gave up after 5 tries)\n",
			  CTL_EXIT_ERROR },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *reply = fixture_read(cases[i].fixture);
		const char *o = cases[i].out;
		char *want = strstr(o, ".txt") && !strchr(o, '\n') ?
			     fixture_read(o) : strdup(o);
		struct fake_server s;
		struct run r;

		print_message("case %u: %s\n", i + 1, cases[i].args);
		run_against(&r, &s, reply, cases[i].args, 5000);
		assert_string_equal(s.request, cases[i].request);
		assert_int_equal(r.code, cases[i].code);
		assert_string_equal(r.out.text, want);
		assert_string_equal(r.err.text, cases[i].err);
		run_free(&r);
		free(want);
		free(reply);
	}
}

/* hetzner label needs no gateway: no socket is looked for, -i and -s
 * are ignored, and the value is Python's base32 of the key. */
static void test_run_hetzner_label(void **state)
{
	static const char *const lines[] = {
		"hetzner label " KEY, "-i gw0 hetzner label " KEY,
		"-s " NO_DIR "/gw0.sock hetzner label " KEY,
	};
	static const char text[] =
		KEY_LABEL "\n\n"
		"Label the server with this key as a peer (portcullis/peer is "
		"the default LabelSelector):\n"
		"  hcloud server add-label SERVER portcullis/wg-key=" KEY_LABEL "\n"
		"  hcloud server add-label SERVER portcullis/peer=\n";
	struct run r;

	(void)state;
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		print_message("case %u: %s\n", i + 1, lines[i]);
		run_line(&r, lines[i], NO_DIR, 1000);
		assert_int_equal(r.code, CTL_EXIT_OK);
		assert_string_equal(r.out.text, text);
		assert_string_equal(r.err.text, "");
		run_free(&r);
	}
	run_line(&r, "--json hetzner label " KEY, NO_DIR, 1000);
	assert_int_equal(r.code, CTL_EXIT_OK);
	assert_string_equal(r.out.text, "{\n  \"peer\": \"" KEY "\",\n"
			    "  \"label\": \"" KEY_LABEL "\"\n}\n");
	assert_string_equal(r.err.text, "");
	run_free(&r);
}

static void test_run_cannot_connect(void **state)
{
	struct run r;

	(void)state;
	run_line(&r, "-s " NO_DIR "/gw0.sock ports", NO_DIR, 1000);
	assert_int_equal(r.code, CTL_EXIT_ERROR);
	assert_string_equal(r.out.text, "");
	assert_string_equal(r.err.text, "portcullisctl: cannot connect to "
			    NO_DIR "/gw0.sock: No such file or directory (is "
			    "portcullisd running?)\n");
	run_free(&r);

	run_line(&r, "-i gw0 ports", NO_DIR, 1000);
	assert_int_equal(r.code, CTL_EXIT_ERROR);
	assert_string_equal(r.err.text, "portcullisctl: cannot connect to "
			    NO_DIR "/gw0.sock: No such file or directory (is "
			    "portcullisd running?)\n");
	run_free(&r);

	run_line(&r, "ports", NO_DIR, 1000);
	assert_int_equal(r.code, CTL_EXIT_ERROR);
	assert_string_equal(r.err.text, "portcullisctl: no gateway socket in "
			    NO_DIR " (is portcullisd running?)\n");
	run_free(&r);
}

/* Without -i or -s, the only socket in the directory is the one. */
static void test_run_finds_the_socket(void **state)
{
	char *reply = fixture_read("reload.json");
	struct fake_server s;
	struct run r;

	(void)state;
	memset(&s, 0, sizeof(s));
	fake_set_reply(&s, reply);
	fake_start(&s, "gw7", 2);
	run_line(&r, "reload", s.dir, 5000);
	assert_int_equal(r.code, CTL_EXIT_OK);
	assert_string_equal(r.out.text, "reloaded: 1 added, 0 removed, "
			    "2 updated, 40 unchanged\n");
	run_free(&r);
	run_line(&r, "-i gw7 reload", s.dir, 5000);
	assert_int_equal(r.code, CTL_EXIT_OK);
	run_free(&r);
	fake_stop(&s);
	free(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_requests_parse_in_daemon),
		cmocka_unit_test(test_socket_options),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_run_table),
		cmocka_unit_test(test_run_json),
		cmocka_unit_test(test_run_error_reply),
		cmocka_unit_test(test_run_bad_replies),
		cmocka_unit_test(test_run_hetzner),
		cmocka_unit_test(test_run_hetzner_label),
		cmocka_unit_test(test_run_cannot_connect),
		cmocka_unit_test(test_run_finds_the_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
