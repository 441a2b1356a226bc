/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl: the gateway CLI.  Like wireguard-tools, a table of
 * subcommands (cli.c), one small file each.  Every subcommand has two
 * halves that never touch a socket, so the tests drive them alone:
 *
 *   <name>_request(): its arguments -> the request text (ctl_proto.h);
 *                     a bad argument is a usage error (-EINVAL + reason).
 *   <name>_print():   the parsed JSON reply -> a table on a FILE;
 *                     -EPROTO if the reply lacks what the protocol promises.
 *
 * Errors are -errno inside and become words once, in cli.c.
 */
#ifndef PORTCULLISCTL_H
#define PORTCULLISCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum { CTL_REQ_MAX = 4096 };            /* bytes: ours are a few lines */

/* How to print a reply. */
struct ctl_opts {
	bool json;                          /* --json: the reply, indented */
	bool human;                         /* -h: bytes as KiB, MiB, ... */
	bool lcores;                        /* counters --lcores */
	bool all;                           /* counters --all: zero drops too */
	int64_t now;                        /* seconds since the epoch, for
					     * "42 s ago" (set by ctl_run, so
					     * the printers never read the
					     * clock and the tests pin it) */
};

/* A request being built: "cmd=NAME\n", "key=value\n"..., then "\n". */
struct ctl_req {
	char text[CTL_REQ_MAX];
	size_t len;
	unsigned n_args;
};

typedef int (*ctl_print_fn)(const json_t *reply, FILE *out,
			    const struct ctl_opts *o);

struct ctl_call;
/* A command answered by portcullisctl itself, with no gateway (hetzner
 * label): 0, or -errno. */
typedef int (*ctl_local_fn)(const struct ctl_call *call, FILE *out);

/* What one command line asks for: the request, and how to show the reply;
 * or, for a local command, what to run instead of asking. */
struct ctl_call {
	struct ctl_req req;
	struct ctl_opts opts;
	ctl_print_fn print;
	ctl_local_fn local;                 /* NULL: ask the gateway */
	const char *arg;                    /* the local command's argument
					     * (in argv, already checked) */
};

/* Parse argv (after the command words) into call->req and call->opts. */
typedef int (*ctl_parse_fn)(int argc, char **argv, struct ctl_call *call,
			    char *why, size_t whylen);

/* request.c: building requests and checking arguments. */
/* A usage error: the formatted reason in why; returns -EINVAL. */
int ctl_usage_error(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_req_init(struct ctl_req *r, const char *cmd);
int ctl_req_add(struct ctl_req *r, const char *key, const char *value,
		char *why, size_t whylen);
int ctl_req_finish(struct ctl_req *r, char *why, size_t whylen);
int ctl_no_args(int argc, char **argv, char *why, size_t whylen);
int ctl_check_proto(const char *text, bool icmp_ok, char *why, size_t whylen);
/* A session filter IPV4[:PORT] ("10.0.0.5", "10.0.0.5:443"), or a
 * forward's target IPV4:PORT. */
enum ctl_endpoint_kind { ENDPOINT_FILTER, ENDPOINT_FORWARD };
int ctl_check_endpoint(const char *text, enum ctl_endpoint_kind kind,
		       char *why, size_t whylen);
/* A port forward's external side: "PORT" or "IPV4:PORT". */
int ctl_check_forward_external(const char *text, char *why, size_t whylen);

/* The subcommands (one file each). */
int ports_request(int argc, char **argv, struct ctl_call *c, char *why, size_t n);
int ports_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int neigh_request(int argc, char **argv, struct ctl_call *c, char *why, size_t n);
int neigh_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int allowed_ips_request(int argc, char **argv, struct ctl_call *c, char *why,
			size_t n);
int allowed_ips_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int nat_sessions_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n);
int nat_sessions_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int nat_count_request(int argc, char **argv, struct ctl_call *c, char *why,
		      size_t n);
int nat_count_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int nat_flush_request(int argc, char **argv, struct ctl_call *c, char *why,
		      size_t n);
int nat_flush_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int forwards_request(int argc, char **argv, struct ctl_call *c, char *why,
		     size_t n);
int forwards_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int forward_add_request(int argc, char **argv, struct ctl_call *c, char *why,
			size_t n);
int forward_remove_request(int argc, char **argv, struct ctl_call *c,
			   char *why, size_t n);
int forward_ok_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int counters_request(int argc, char **argv, struct ctl_call *c, char *why,
		     size_t n);
int counters_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int reload_request(int argc, char **argv, struct ctl_call *c, char *why,
		   size_t n);
int reload_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int metrics_request(int argc, char **argv, struct ctl_call *c, char *why,
		    size_t n);
int metrics_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int hetzner_status_request(int argc, char **argv, struct ctl_call *c,
			   char *why, size_t n);
int hetzner_status_print(const json_t *reply, FILE *out,
			 const struct ctl_opts *o);
int hetzner_plan_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n);
int hetzner_plan_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
int hetzner_sync_request(int argc, char **argv, struct ctl_call *c, char *why,
			 size_t n);
int hetzner_sync_print(const json_t *reply, FILE *out, const struct ctl_opts *o);
/* hetzner label PEER_KEY: local (call->local), no request. */
int hetzner_label_request(int argc, char **argv, struct ctl_call *c,
			  char *why, size_t n);

/*
 * cli.c: the whole program but main().  ctl_cli_parse reads argv (global
 * options, the command words, the command's arguments) into cli; a usage
 * error returns -EINVAL with the reason in why, and cli->usage names the
 * command whose usage lines to print (NULL: the general line).
 */
struct ctl_cli {
	const char *ifname;                 /* -i, or NULL */
	const char *socket;                 /* -s, or NULL */
	bool help;                          /* help / --help: print usage */
	const char *usage;                  /* after a usage error */
	struct ctl_call call;
};
int ctl_cli_parse(int argc, char **argv, struct ctl_cli *cli, char *why,
		  size_t whylen);
void ctl_usage(FILE *f);

/* Exit codes, documented in the usage text. */
enum { CTL_EXIT_OK = 0, CTL_EXIT_ERROR = 1, CTL_EXIT_USAGE = 2 };

/* Run a command line, printing to out and err (main() passes stdout and
 * stderr).  sock_dir: where to look for sockets (CTL_SOCKET_DIR). */
int ctl_run(int argc, char **argv, const char *sock_dir, unsigned timeout_ms,
	    FILE *out, FILE *err);

#endif
