/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * portcullisctl allowed-ips [PEER_KEY]: cryptokey routing, one row per
 * prefix with the peer it routes to (`wg show IFNAME allowed-ips`, turned
 * around so that "who gets 10.8.0.2?" is one grep).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "portcullisctl.h"
#include "table.h"

/* A WireGuard public key as wg prints it: 43 base64 characters and '='
 * (32 bytes). */
static bool key_valid(const char *s)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";

	return strlen(s) == 44 && strspn(s, b64) == 43 && s[43] == '=';
}

int allowed_ips_request(int argc, char **argv, struct ctl_call *c, char *why,
			size_t n)
{
	ctl_req_init(&c->req, "allowed-ips");
	if (argc > 0) {
		if (!key_valid(argv[0])) {
			snprintf(why, n, "bad peer key '%s' (44 base64 "
				 "characters, as wg prints it)", argv[0]);
			return -EINVAL;
		}
		if (ctl_req_add(&c->req, "peer", argv[0], why, n) < 0 ||
		    ctl_no_args(argc - 1, argv + 1, why, n) < 0)
			return -EINVAL;
	}
	return ctl_req_finish(&c->req, why, n);
}

static const struct table_col cols[] = {
	{ "PREFIX" }, { "PEER" }, { "ENDPOINT" },
};

static void row(struct table *t, const json_t *a, unsigned flags)
{
	(void)flags;
	table_add_member(t, a, "prefix", 0);
	table_add_member(t, a, "peer", 0);
	table_add_member(t, a, "endpoint", 0);
}

int allowed_ips_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	(void)o;
	return table_print_rows(out, reply, "allowed_ips", cols,
				sizeof(cols) / sizeof(cols[0]), row, 0);
}
