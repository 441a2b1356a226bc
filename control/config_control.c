/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [Control] section of the config: who may use the CLI socket (Group)
 * and where the Prometheus endpoint listens (Metrics).  config/README.md
 * documents both keys; ctl.c and metrics.c use them.
 *
 * As in config_keys.c, every handler gets a trimmed, NUL-terminated value
 * it may modify and returns 0 or the result of config_bad().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "config_internal.h"

enum { SOCKET_PATH_MAX = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 };

/* Checked now so that a typo fails at load, not when the socket is made;
 * the name is kept (and looked up again then) rather than the gid. */
static int control_group(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	(void)key;
	if (getgrnam(value) == NULL)
		return config_bad(p, "no such group %s", config_quote(p, value));
	p->cfg->control.group = strdup(value);
	if (!p->cfg->control.group)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	return 0;
}

/* "A.B.C.D:PORT" or "[V6]:PORT", numeric: a listener binds an address of
 * this machine, so there is no name to resolve. */
static bool listen_address_valid(char *value)
{
	struct in6_addr a6;
	struct in_addr a4;
	char *colon, *host = value;
	unsigned long port;

	if (value[0] == '[') {
		colon = strchr(value, ']');
		if (!colon || colon[1] != ':')
			return false;
		*colon++ = '\0';
		host = value + 1;
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
	} else {
		colon = strrchr(value, ':');
		if (!colon)
			return false;
		*colon = '\0';
		if (inet_pton(AF_INET, host, &a4) != 1)
			return false;
	}
	return config_uint_parse(colon + 1, 65535, &port) == 0 && port != 0;
}

/* NULL if value is a Metrics listener, else the reason to append to the
 * message ("" for no more than "bad Metrics '...'"). */
static const char *metrics_problem(char *value)
{
	if (value[0] != '/')
		return listen_address_valid(value) ? NULL
		       : " (want ADDRESS:PORT, [IPV6]:PORT, an absolute socket path or off)";
	if (strlen(value) > SOCKET_PATH_MAX)
		return " (a socket path is at most 107 bytes)";
	for (const char *c = value; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return "";
	return NULL;
}

static int control_metrics(struct config_parser *p, const struct config_key *key,
			   char *value)
{
	const char *q = config_quote(p, value), *why;
	char *text;

	if (strcasecmp(value, "off") == 0)
		return 0;
	text = strdup(value);                   /* metrics_problem cuts value */
	if (!text)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	why = metrics_problem(value);
	if (why) {
		free(text);
		return config_bad(p, "bad %s %s%s", key->name, q, why);
	}
	p->cfg->control.metrics = text;
	return 0;
}

/* --- the key table ---------------------------------------------------------- */

const struct config_key config_control_keys[] = {
	{ "Group", SECTION_CONTROL, 0, control_group },
	{ "Metrics", SECTION_CONTROL, 0, control_metrics },
};

#define N_CONTROL_KEYS \
	(sizeof(config_control_keys) / sizeof(config_control_keys[0]))

const size_t config_control_n_keys = N_CONTROL_KEYS;

_Static_assert(N_CONTROL_KEYS <= CONFIG_KEY_SLOTS,
	       "config_parser.seen is too small for the [Control] key table");
