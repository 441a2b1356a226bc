/* SPDX-License-Identifier: BSD-3-Clause */
/* portcullisctl reload: re-read the config file; a bad file changes
 * nothing and its "file:line: reason" comes back as the error. */
#include <errno.h>

#include "portcullisctl.h"

int reload_request(int argc, char **argv, struct ctl_call *c, char *why,
		   size_t n)
{
	ctl_req_init(&c->req, "reload");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

int reload_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	static const char *const keys[] = {
		"peers_added", "peers_removed", "peers_updated",
		"peers_unchanged",
	};
	json_int_t v[4];

	(void)o;
	for (unsigned i = 0; i < 4; i++) {
		const json_t *n = json_object_get(reply, keys[i]);

		if (!json_is_integer(n))
			return -EPROTO;
		v[i] = json_integer_value(n);
	}
	fprintf(out, "reloaded: %" JSON_INTEGER_FORMAT " added, %"
		JSON_INTEGER_FORMAT " removed, %" JSON_INTEGER_FORMAT
		" updated, %" JSON_INTEGER_FORMAT " unchanged\n",
		v[0], v[1], v[2], v[3]);
	return 0;
}
