/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Options, the table of subcommands, usage, and the one place where errors
 * become words: usage errors exit 2, everything that goes wrong after the
 * command line was understood (no socket, no reply, the gateway said no)
 * exits 1, with one line "portcullisctl: ..." on stderr.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "portcullisctl.h"

#define PROG "portcullisctl"
#define FILTERS "[proto tcp|udp|icmp] [inside IPV4[:PORT]] " \
		"[external IPV4[:PORT]] [remote IPV4[:PORT]]"

struct command {
	const char *name, *sub;             /* "nat", "count"; one word: NULL */
	ctl_parse_fn parse;
	ctl_print_fn print;
	const char *args;                   /* for usage; NULL: an alias */
	const char *summary;
};

static const struct command commands[] = {
	{ "ports", NULL, ports_request, ports_print, "ports",
	  "each port: link, addresses, routes, NIC counters" },
	{ "neigh", NULL, neigh_request, neigh_print, "neigh | neighbours",
	  "the ARP and ND neighbour table" },
	{ "neighbours", NULL, neigh_request, neigh_print, NULL, NULL },
	{ "allowed-ips", NULL, allowed_ips_request, allowed_ips_print,
	  "allowed-ips [PEER_KEY]", "cryptokey routing: prefix -> peer" },
	{ "nat", "sessions", nat_sessions_request, nat_sessions_print,
	  "nat sessions " FILTERS " [limit N]",
	  "NAT sessions (limit: default 1000, 0 for all)" },
	{ "nat", "count", nat_count_request, nat_count_print, "nat count",
	  "sessions in use and the maximum" },
	{ "nat", "flush", nat_flush_request, nat_flush_print,
	  "nat flush " FILTERS, "end the matching sessions (all without filters)" },
	{ "forwards", NULL, forwards_request, forwards_print,
	  "forwards | forward list", "port forwards" },
	{ "forward", "list", forwards_request, forwards_print, NULL, NULL },
	{ "forward", "add", forward_add_request, forward_ok_print,
	  "forward add tcp|udp [ADDR:]PORT ADDR:PORT",
	  "add a port forward (until the next reload)" },
	{ "forward", "remove", forward_remove_request, forward_ok_print,
	  "forward remove tcp|udp [ADDR:]PORT", "remove a port forward" },
	{ "counters", NULL, counters_request, counters_print,
	  "counters [--lcores] [--all]",
	  "packet counters and non-zero drops (--all: every drop reason)" },
	{ "reload", NULL, reload_request, reload_print, "reload",
	  "re-read the config file" },
	{ "metrics", NULL, metrics_request, metrics_print, "metrics",
	  "the Prometheus metrics text" },
	{ "hetzner", "status", hetzner_status_request, hetzner_status_print,
	  "hetzner status", "the Hetzner sync: last success, last error, next "
	  "poll, rate limit, its routes" },
	{ "hetzner", "plan", hetzner_plan_request, hetzner_plan_print,
	  "hetzner plan", "what the last state fetched from Hetzner would add, "
	  "change and remove" },
	{ "hetzner", "sync", hetzner_sync_request, hetzner_sync_print,
	  "hetzner sync", "poll the Hetzner API now" },
	{ "hetzner", "label", hetzner_label_request, NULL,
	  "hetzner label PEER_KEY", "the server label value for a WireGuard "
	  "public key, and the hcloud lines to set it (no gateway needed)" },
	{ "help", NULL, NULL, NULL, "help", "this text" },
};
enum { N_COMMANDS = sizeof(commands) / sizeof(commands[0]) };

static const char usage_line[] =
	"usage: " PROG " [-i IFNAME | -s SOCKET] [-j|--json] [-h|--human] "
	"COMMAND [ARGS]\n";

void ctl_usage(FILE *f)
{
	fputs(usage_line, f);
	fputs("\nCommands:\n", f);
	for (unsigned i = 0; i < N_COMMANDS; i++)
		if (commands[i].args)
			fprintf(f, "  %s\n      %s\n", commands[i].args,
				commands[i].summary);
	fputs("\nOptions:\n"
	      "  -i IFNAME     the gateway's socket /var/run/portcullis/IFNAME.sock\n"
	      "                (default: the only socket there)\n"
	      "  -s SOCKET     the socket at this path\n"
	      "  -j, --json    print the gateway's JSON reply, indented, instead "
	      "of a table\n"
	      "  -h, --human   byte counts in KiB, MiB, GiB (exact by default)\n"
	      "  --help        this text\n"
	      "\nExit status: 0 success; 1 error (no gateway, no reply, or the "
	      "gateway refused:\nthe reason is on stderr); 2 bad command line.\n",
	      f);
}

/* The entry for argv[0] (and argv[1] for two-word commands). *words: how
 * many argv entries it used.  NULL with why set if there is none. */
static const struct command *find_command(int argc, char **argv, int *words,
					  const char **usage, char *why,
					  size_t whylen)
{
	bool group = false;

	for (unsigned i = 0; i < N_COMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->name, argv[0]) != 0)
			continue;
		if (c->sub == NULL) {
			*words = 1;
			return c;
		}
		group = true;
		if (argc > 1 && strcmp(c->sub, argv[1]) == 0) {
			*words = 2;
			return c;
		}
	}
	if (!group) {
		ctl_usage_error(why, whylen, "unknown command '%s'", argv[0]);
		return NULL;
	}
	*usage = argv[0];
	if (argc > 1)
		snprintf(why, whylen, "%s: unknown subcommand '%s'", argv[0],
			 argv[1]);
	else
		snprintf(why, whylen, "%s: missing subcommand", argv[0]);
	return NULL;
}

/* Global options, before the command.  Returns the index of the command
 * word, or -EINVAL. */
static int parse_options(int argc, char **argv, struct ctl_cli *cli,
			 char *why, size_t whylen)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char **value = NULL;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0)
			cli->call.opts.json = true;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--human") == 0)
			cli->call.opts.human = true;
		else if (strcmp(a, "--help") == 0)
			cli->help = true;
		else if (strncmp(a, "-i", 2) == 0)
			value = &cli->ifname;
		else if (strncmp(a, "-s", 2) == 0)
			value = &cli->socket;
		else
			return ctl_usage_error(why, whylen,
					       "unknown option '%s'", a);
		if (value == NULL)
			continue;
		/* "-i gw0" or "-igw0", as getopt takes them. */
		if (a[2] != '\0')
			*value = a + 2;
		else if (i + 1 < argc)
			*value = argv[++i];
		else
			return ctl_usage_error(why, whylen,
					       "option %s needs a value", a);
	}
	if (cli->ifname && cli->socket)
		return ctl_usage_error(why, whylen, "%s",
				       "-i and -s exclude each other");
	return i;
}

int ctl_cli_parse(int argc, char **argv, struct ctl_cli *cli, char *why,
		  size_t whylen)
{
	const struct command *c;
	int first, words, ret;

	memset(cli, 0, sizeof(*cli));
	first = parse_options(argc, argv, cli, why, whylen);
	if (first < 0)
		return first;
	if (cli->help)
		return 0;
	if (first >= argc)
		return ctl_usage_error(why, whylen, "%s", "no command given");
	c = find_command(argc - first, argv + first, &words, &cli->usage, why,
			 whylen);
	if (c == NULL)
		return -EINVAL;
	if (c->parse == NULL) {
		cli->help = true;
		return 0;
	}
	cli->call.print = c->print;
	ret = c->parse(argc - first - words, argv + first + words, &cli->call,
		       why, whylen);
	if (ret < 0)
		cli->usage = c->name;
	return ret;
}

/* "usage: portcullisctl [OPTIONS] nat count" for each form of the command,
 * or the general usage line. */
static void print_usage_of(FILE *f, const char *name)
{
	if (name == NULL) {
		fputs(usage_line, f);
		fputs("Run '" PROG " help' for the commands.\n", f);
		return;
	}
	for (unsigned i = 0; i < N_COMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->name, name) != 0)
			continue;
		/* An alias prints the line of the command it stands for. */
		for (unsigned j = 0; c->args == NULL && j < N_COMMANDS; j++)
			if (commands[j].parse == c->parse && commands[j].args)
				c = &commands[j];
		fprintf(f, "usage: " PROG " [OPTIONS] %s\n", c->args);
	}
}

/* --- Running a command ---------------------------------------------------- */

static const char *connect_hint(int err)
{
	if (err == -EACCES || err == -EPERM)
		return " (are you root, or in the socket's group?)";
	if (err == -ENOENT || err == -ECONNREFUSED)
		return " (is portcullisd running?)";
	return "";
}

/* Send the request and read the reply line: 0, or 1 with the error
 * printed. */
static int exchange(const char *path, const struct ctl_req *req,
		    unsigned timeout_ms, char **line, FILE *err)
{
	int fd = ipc_connect(path, timeout_ms), ret;

	if (fd < 0) {
		fprintf(err, PROG ": cannot connect to %s: %s%s\n", path,
			strerror(-fd), connect_hint(fd));
		return CTL_EXIT_ERROR;
	}
	ret = ipc_exchange(fd, req->text, req->len, timeout_ms, 0, line);
	close(fd);
	if (ret == 0)
		return CTL_EXIT_OK;
	if (ret == -ETIMEDOUT)
		fprintf(err, PROG ": no reply from %s within %u s\n", path,
			(timeout_ms + 999) / 1000);
	else if (ret == -ENODATA)
		fprintf(err, PROG ": %s closed the connection without a "
			"complete reply\n", path);
	else if (ret == -EMSGSIZE)
		fprintf(err, PROG ": the reply from %s is too long\n", path);
	else
		fprintf(err, PROG ": %s: %s\n", path, strerror(-ret));
	return CTL_EXIT_ERROR;
}

/* Print a parsed reply as the command line asked: 0 or 1. */
static int show(const json_t *reply, const struct ctl_call *call,
		const char *path, FILE *out, FILE *err)
{
	const json_t *error = json_object_get(reply, "error");
	char *text;
	int ret;

	if (error) {
		fprintf(err, PROG ": %s\n", json_is_string(error) ?
			json_string_value(error) : "the gateway refused");
		return CTL_EXIT_ERROR;
	}
	if (call->opts.json) {
		text = json_dumps(reply, JSON_INDENT(2));
		if (text == NULL) {
			fprintf(err, PROG ": out of memory\n");
			return CTL_EXIT_ERROR;
		}
		fprintf(out, "%s\n", text);
		free(text);
		return CTL_EXIT_OK;
	}
	ret = call->print(reply, out, &call->opts);
	if (ret == -EPROTO) {
		text = json_dumps(reply, JSON_COMPACT);
		fprintf(err, PROG ": unexpected reply from %s: %.200s\n", path,
			text ? text : "");
		free(text);
	} else if (ret < 0) {
		fprintf(err, PROG ": %s\n", strerror(-ret));
	}
	return ret < 0 ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}

static int flush_out(FILE *out, FILE *err)
{
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, PROG ": write error: %s\n", strerror(errno));
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

/* A command that needs no gateway (hetzner label); its argument was
 * checked when the command line was parsed. */
static int run_local(const struct ctl_call *call, FILE *out, FILE *err)
{
	int ret = call->local(call, out);

	if (ret < 0) {
		fprintf(err, PROG ": %s\n", strerror(-ret));
		return CTL_EXIT_ERROR;
	}
	return flush_out(out, err);
}

int ctl_run(int argc, char **argv, const char *sock_dir, unsigned timeout_ms,
	    FILE *out, FILE *err)
{
	char why[512], path[IPC_PATH_MAX], *line = NULL;
	struct ctl_cli cli;
	json_error_t jerr;
	json_t *reply;
	int ret;

	if (ctl_cli_parse(argc, argv, &cli, why, sizeof(why)) < 0) {
		fprintf(err, PROG ": %s\n", why);
		print_usage_of(err, cli.usage);
		return CTL_EXIT_USAGE;
	}
	if (cli.help) {
		ctl_usage(out);
		return CTL_EXIT_OK;
	}
	if (cli.call.local)
		return run_local(&cli.call, out, err);
	cli.call.opts.now = (int64_t)time(NULL);
	ret = ipc_socket_path(sock_dir, cli.ifname, cli.socket, path,
			      sizeof(path), why, sizeof(why));
	if (ret < 0) {
		fprintf(err, PROG ": %s\n", why);
		return ret == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_ERROR;
	}
	ret = exchange(path, &cli.call.req, timeout_ms, &line, err);
	if (ret != CTL_EXIT_OK)
		return ret;
	reply = json_loads(line, 0, &jerr);
	free(line);
	if (!json_is_object(reply)) {
		fprintf(err, PROG ": bad reply from %s: %s\n", path,
			reply ? "not a JSON object" : jerr.text);
		json_decref(reply);
		return CTL_EXIT_ERROR;
	}
	ret = show(reply, &cli.call, path, out, err);
	json_decref(reply);
	return ret == CTL_EXIT_OK ? flush_out(out, err) : ret;
}
