/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl forwards | forward add | forward remove: the NAT's port
 * forwards, written as a [NAT] Forward line is ("tcp 2222 10.0.0.5:22" for
 * "Forward = tcp 2222 -> 10.0.0.5:22").  A change lasts until the next
 * reload, which takes the config file's list.
 */
#include <errno.h>

#include "portcullisctl.h"
#include "table.h"

int forwards_request(int argc, char **argv, struct ctl_call *c, char *why,
		     size_t n)
{
	ctl_req_init(&c->req, "forwards");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col cols[] = {
	{ "PROTO" }, { "EXTERNAL" }, { "TO" },
};

static void row(struct table *t, const json_t *f, unsigned flags)
{
	(void)flags;
	table_add_member(t, f, "proto", 0);
	table_add_member(t, f, "external", 0);
	table_add_member(t, f, "to", 0);
}

int forwards_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	(void)o;
	return table_print_rows(out, reply, "forwards", cols,
				sizeof(cols) / sizeof(cols[0]), row, 0);
}

/* PROTO [ADDR:]PORT: the part add and remove share. */
static int proto_external(int argc, char **argv, struct ctl_req *r,
			  char *why, size_t n)
{
	if (argc < 2) {
		snprintf(why, n, "%s", argc ? "missing the external [ADDR:]PORT"
					    : "missing the protocol (tcp or udp)");
		return -EINVAL;
	}
	if (ctl_check_proto(argv[0], false, why, n) < 0 ||
	    ctl_check_forward_external(argv[1], why, n) < 0 ||
	    ctl_req_add(r, "proto", argv[0], why, n) < 0 ||
	    ctl_req_add(r, "external", argv[1], why, n) < 0)
		return -EINVAL;
	return 0;
}

int forward_add_request(int argc, char **argv, struct ctl_call *c, char *why,
			size_t n)
{
	ctl_req_init(&c->req, "forward-add");
	if (proto_external(argc, argv, &c->req, why, n) < 0)
		return -EINVAL;
	if (argc < 3) {
		snprintf(why, n, "missing the target ADDR:PORT");
		return -EINVAL;
	}
	if (ctl_check_endpoint(argv[2], ENDPOINT_FORWARD, why, n) < 0 ||
	    ctl_req_add(&c->req, "to", argv[2], why, n) < 0 ||
	    ctl_no_args(argc - 3, argv + 3, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

int forward_remove_request(int argc, char **argv, struct ctl_call *c,
			   char *why, size_t n)
{
	ctl_req_init(&c->req, "forward-remove");
	if (proto_external(argc, argv, &c->req, why, n) < 0 ||
	    ctl_no_args(argc - 2, argv + 2, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

/* {"ok":true}: silent, as `ip route add` is. */
int forward_ok_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	(void)out;
	(void)o;
	return json_is_true(json_object_get(reply, "ok")) ? 0 : -EPROTO;
}
