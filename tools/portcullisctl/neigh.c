/* SPDX-License-Identifier: BSD-3-Clause */
/* portcullisctl neigh: the gateway's ARP and ND table, as `ip neigh`. */
#include <errno.h>

#include "portcullisctl.h"
#include "table.h"

int neigh_request(int argc, char **argv, struct ctl_call *c, char *why,
		  size_t n)
{
	ctl_req_init(&c->req, "neighbours");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col cols[] = {
	{ "PORT" }, { "IP" }, { "MAC" }, { "STATE" }, { "HELD", true },
};

/* HELD: packets waiting for an incomplete entry to resolve. */
static void row(struct table *t, const json_t *nb, unsigned flags)
{
	(void)flags;
	table_add_member(t, nb, "port", 0);
	table_add_member(t, nb, "ip", 0);
	table_add_member(t, nb, "mac", 0);
	table_add_member(t, nb, "state", 0);
	table_add_member(t, nb, "held", 0);
}

int neigh_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	(void)o;
	return table_print_rows(out, reply, "neighbours", cols,
				sizeof(cols) / sizeof(cols[0]), row, 0);
}
