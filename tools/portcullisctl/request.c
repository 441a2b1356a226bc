/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building a request (ctl_proto.h) and checking the arguments that go into
 * one.  The server checks everything again; checking here turns a typo into
 * a usage error (exit 2) before anything is sent, and keeps a value from
 * smuggling a second "key=value" line into the request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "portcullisctl.h"

int ctl_usage_error(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Appends text, or marks the request as overflowed (len past the buffer),
 * which ctl_req_finish reports. */
static void append(struct ctl_req *r, const char *text)
{
	size_t n = strlen(text);

	if (r->len + n >= sizeof(r->text)) {
		r->len = sizeof(r->text);
		return;
	}
	memcpy(r->text + r->len, text, n + 1);
	r->len += n;
}

void ctl_req_init(struct ctl_req *r, const char *cmd)
{
	r->len = 0;
	r->n_args = 0;
	r->text[0] = '\0';
	append(r, "cmd=");
	append(r, cmd);
	append(r, "\n");
}

/* Protocol rules: values are printable ASCII without '\n'. */
int ctl_req_add(struct ctl_req *r, const char *key, const char *value,
		char *why, size_t whylen)
{
	for (const char *p = value; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return ctl_usage_error(why, whylen, "%s: only printable "
					       "ASCII is allowed", key);
	if (r->n_args >= CTL_MAX_ARGS)
		return ctl_usage_error(why, whylen, "too many arguments");
	append(r, key);
	append(r, "=");
	append(r, value);
	append(r, "\n");
	r->n_args++;
	return 0;
}

int ctl_req_finish(struct ctl_req *r, char *why, size_t whylen)
{
	append(r, "\n");
	if (r->len >= sizeof(r->text))
		return ctl_usage_error(why, whylen, "arguments too long");
	return 0;
}

int ctl_no_args(int argc, char **argv, char *why, size_t whylen)
{
	if (argc > 0)
		return ctl_usage_error(why, whylen, "unexpected argument '%s'",
				       argv[0]);
	return 0;
}

int ctl_check_proto(const char *text, bool icmp_ok, char *why, size_t whylen)
{
	if (strcmp(text, "tcp") == 0 || strcmp(text, "udp") == 0 ||
	    (icmp_ok && strcmp(text, "icmp") == 0))
		return 0;
	return ctl_usage_error(why, whylen, "bad protocol '%s' (tcp%s)", text,
			       icmp_ok ? ", udp or icmp" : " or udp");
}

/* A decimal port of at most 5 digits, 1-65535 (0 too with zero_ok: an
 * ICMP echo identifier), as the daemon reads one. */
static bool port_valid(const char *text, bool zero_ok)
{
	size_t len = strspn(text, "0123456789");
	unsigned long v;

	if (len == 0 || len > 5 || text[len] != '\0')
		return false;
	v = strtoul(text, NULL, 10);
	return v <= 65535 && (v > 0 || zero_ok);
}

/*
 * IPV4[:PORT]: the NAT is NAT44, so sessions and forwards have IPv4
 * addresses only.  A session filter's port is optional and may be 0 (an
 * ICMP echo identifier); a forward's target needs a port, 1-65535.
 */
int ctl_check_endpoint(const char *text, enum ctl_endpoint_kind kind,
		       char *why, size_t whylen)
{
	const char *colon = strchr(text, ':');
	size_t alen = colon ? (size_t)(colon - text) : strlen(text);
	char addr[INET_ADDRSTRLEN];
	struct in_addr bin;
	bool ok;

	ok = alen < sizeof(addr);
	if (ok) {
		memcpy(addr, text, alen);
		addr[alen] = '\0';
		ok = inet_pton(AF_INET, addr, &bin) == 1;
	}
	if (kind == ENDPOINT_FILTER) {
		if (ok && (colon == NULL || port_valid(colon + 1, true)))
			return 0;
		return ctl_usage_error(why, whylen,
				       "bad address '%s' (IPV4[:PORT])", text);
	}
	if (ok && colon && port_valid(colon + 1, false))
		return 0;
	return ctl_usage_error(why, whylen, "bad address '%s' (IPV4:PORT)",
			       text);
}

int ctl_check_forward_external(const char *text, char *why, size_t whylen)
{
	if (strchr(text, ':') == NULL) {
		if (port_valid(text, false))
			return 0;
		return ctl_usage_error(why, whylen, "bad port '%s'", text);
	}
	return ctl_check_endpoint(text, ENDPOINT_FORWARD, why, whylen);
}
