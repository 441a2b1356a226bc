/* SPDX-License-Identifier: BSD-3-Clause */
/* portcullisctl metrics: the Prometheus text the metrics endpoint serves,
 * without needing the endpoint to be configured. */
#include <errno.h>
#include <string.h>

#include "portcullisctl.h"

int metrics_request(int argc, char **argv, struct ctl_call *c, char *why,
		    size_t n)
{
	ctl_req_init(&c->req, "metrics");
	if (ctl_no_args(argc, argv, why, n) < 0)
		return -EINVAL;
	return ctl_req_finish(&c->req, why, n);
}

int metrics_print(const json_t *reply, FILE *out, const struct ctl_opts *o)
{
	const json_t *text = json_object_get(reply, "metrics");
	size_t len;

	(void)o;
	if (!json_is_string(text))
		return -EPROTO;
	len = json_string_length(text);
	fwrite(json_string_value(text), 1, len, out);
	if (len > 0 && json_string_value(text)[len - 1] != '\n')
		fputc('\n', out);
	return 0;
}
