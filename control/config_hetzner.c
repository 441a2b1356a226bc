/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The [Hetzner] section of the config: where the API sync (hetzner.c)
 * finds its token, which Network and servers it follows, how often it
 * polls, and the endpoints it talks to.  config/README.md documents the
 * keys; the data model is struct config_hetzner in config.h.
 *
 * Only the shape of the values is checked here.  The token and Robot
 * credential files are read, and their permissions checked, when the
 * loop starts (hetzner_start): a reload of a config naming them must not
 * need the secrets to be readable by whoever checks the file.
 *
 * As in config_keys.c, every handler gets a trimmed, NUL-terminated value
 * it may modify and returns 0 or the result of config_bad().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "hetzner.h"

enum {
	POLL_MIN = 1,                       /* seconds; 1 is for tests */
	POLL_MAX = 86400,
	POLL_DEFAULT = 30,
	/* Ids are JSON numbers: above 2^53 they are not exact any more. */
	ID_MAX_BITS = 53,
	LABEL_NAME_MAX = 63,                /* Hetzner label rules, as
					     * Kubernetes': name and value */
	LABEL_PREFIX_MAX = 253,             /* a DNS subdomain */
	NETWORK_NAME_MAX = 255,
};

static struct config_hetzner *hz(struct config_parser *p)
{
	return &p->cfg->hetzner;
}

static int set_string(struct config_parser *p, char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* --- paths ------------------------------------------------------------------ */

/* A relative path is taken beside the config file, as PrivateKeyFile is,
 * so the result does not depend on the daemon's working directory. */
static int set_path(struct config_parser *p, const struct config_key *key,
		    char **slot, const char *value)
{
	char *path;

	if (has_control_char(value))
		return config_bad(p, "bad %s %s", key->name, config_quote(p, value));
	path = config_path_beside(p->name, value);
	if (!path)
		return config_error(p, -ENOMEM, p->line, "out of memory");
	free(*slot);
	*slot = path;
	return 0;
}

static int hz_token_file(struct config_parser *p, const struct config_key *key,
			 char *value)
{
	return set_path(p, key, &hz(p)->token_file, value);
}

static int hz_robot_credentials_file(struct config_parser *p,
				     const struct config_key *key, char *value)
{
	return set_path(p, key, &hz(p)->robot_credentials_file, value);
}

/* --- endpoints ---------------------------------------------------------------- */

static bool is_loopback_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return ((const uint8_t *)&a4)[0] == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	       IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Splits "host[:port]" or "[v6][:port]" (modifying it) and checks the
 * port.  NULL: malformed. */
static const char *authority_host(char *auth)
{
	char *port = NULL, *host = auth;
	unsigned long v;

	if (auth[0] == '[') {
		char *end = strchr(auth, ']');

		if (!end || (end[1] != '\0' && end[1] != ':'))
			return NULL;
		port = end[1] == ':' ? end + 2 : NULL;
		*end = '\0';
		host = auth + 1;
	} else if ((port = strchr(auth, ':')) != NULL) {
		*port++ = '\0';
	}
	if (*host == '\0')
		return NULL;
	if (port && (config_uint_parse(port, 65535, &v) != 0 || v == 0))
		return NULL;
	return host;
}

/* NULL if url is an endpoint we may use, else why not.  The base URL has
 * API paths and queries appended to it, so a query or fragment of its own,
 * or credentials in it (which would end up in logs), are refused. */
static const char *endpoint_problem(const char *url)
{
	char auth[300];
	const char *rest, *host;
	size_t len;
	bool plain;

	if (strncasecmp(url, "https://", 8) == 0) {
		rest = url + 8;
		plain = false;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		rest = url + 7;
		plain = true;
	} else {
		return "must start with https://, or http:// for a loopback address";
	}
	for (const char *c = url; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || strchr("\"\\<>^`{|}", *c))
			return "a URL has no blanks, quotes or control characters";
	if (strpbrk(url, "?#"))
		return "no query or fragment: API paths are appended to it";
	len = strcspn(rest, "/");
	if (memchr(rest, '@', len))
		return "no user or password in the URL";
	if (len == 0 || len >= sizeof(auth))
		return "no host";
	memcpy(auth, rest, len);
	auth[len] = '\0';
	host = authority_host(auth);
	if (!host)
		return "bad host or port";
	if (plain && !is_loopback_host(host))
		return "plain http only to a loopback address: 127.0.0.0/8, [::1] or localhost";
	return NULL;
}

static int set_endpoint(struct config_parser *p, const struct config_key *key,
			char **slot, char *value)
{
	const char *why = endpoint_problem(value);
	size_t len = strlen(value);

	if (why)
		return config_bad(p, "bad %s %s (%s)", key->name,
				  config_quote(p, value), why);
	/* "https://host/v1/" and "https://host/v1" are the same base. */
	while (len > 0 && value[len - 1] == '/')
		value[--len] = '\0';
	return set_string(p, slot, value);
}

static int hz_api_endpoint(struct config_parser *p, const struct config_key *key,
			   char *value)
{
	return set_endpoint(p, key, &hz(p)->api_endpoint, value);
}

static int hz_robot_endpoint(struct config_parser *p,
			     const struct config_key *key, char *value)
{
	return set_endpoint(p, key, &hz(p)->robot_endpoint, value);
}

/* --- Network, LabelSelector ------------------------------------------------------ */

/* An id (digits) or a name; either goes into a URL, percent-encoded by the
 * loop, so only control characters are refused here. */
static int hz_network(struct config_parser *p, const struct config_key *key,
		      char *value)
{
	if (has_control_char(value) || strlen(value) > NETWORK_NAME_MAX)
		return config_bad(p, "bad %s %s (a network id or name)",
				  key->name, config_quote(p, value));
	return set_string(p, &hz(p)->network, value);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Hetzner's label name and value rule: at most 63 characters, alphanumeric
 * at both ends, '-', '_' and '.' between; a value may be empty. */
static bool label_part_valid(const char *s, size_t len, bool empty_ok)
{
	if (len == 0)
		return empty_ok;
	if (len > LABEL_NAME_MAX || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* A key is "[prefix/]name", the prefix a DNS subdomain. */
static bool label_key_valid(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	size_t plen;

	if (!slash)
		return label_part_valid(s, len, false);
	plen = (size_t)(slash - s);
	if (plen == 0 || plen > LABEL_PREFIX_MAX || !is_alnum(s[0]) ||
	    !is_alnum(s[plen - 1]))
		return false;
	for (size_t i = 0; i < plen; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return label_part_valid(slash + 1, len - plen - 1, false);
}

/* "key" (present) or "key=value".  The API understands richer selectors,
 * but the loop checks the key again on every server it gets back
 * (hz_options.selector_key), so the selector must name exactly one key
 * that every peer carries. */
static int hz_label_selector(struct config_parser *p,
			     const struct config_key *key, char *value)
{
	const char *eq = strchr(value, '=');
	size_t klen = eq ? (size_t)(eq - value) : strlen(value);

	if (!label_key_valid(value, klen) ||
	    (eq && !label_part_valid(eq + 1, strlen(eq + 1), true)))
		return config_bad(p, "bad %s %s (want a label key, or key=value, as Hetzner labels allow)",
				  key->name, config_quote(p, value));
	return set_string(p, &hz(p)->label_selector, value);
}

/* --- numbers and switches ----------------------------------------------------- */

static int hz_poll_interval(struct config_parser *p,
			    const struct config_key *key, char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, POLL_MIN, POLL_MAX, &v);

	if (ret == 0)
		hz(p)->poll_interval = (unsigned)v;
	return ret;
}

static int hz_vswitch(struct config_parser *p, const struct config_key *key,
		      char *value)
{
	unsigned long v = 0;
	int ret = config_number_parse(p, key, value, 1,
				      (1UL << ID_MAX_BITS) - 1, &v);

	if (ret == 0)
		hz(p)->vswitch = v;
	return ret;
}

static int hz_manage_route(struct config_parser *p,
			   const struct config_key *key, char *value)
{
	return config_bool_parse(p, key, value, &hz(p)->manage_route);
}

static int hz_dry_run(struct config_parser *p, const struct config_key *key,
		      char *value)
{
	return config_bool_parse(p, key, value, &hz(p)->dry_run);
}

/* --- the key table ---------------------------------------------------------- */

const struct config_key config_hetzner_keys[] = {
	{ "TokenFile", SECTION_HETZNER, 0, hz_token_file },
	{ "Network", SECTION_HETZNER, 0, hz_network },
	{ "LabelSelector", SECTION_HETZNER, 0, hz_label_selector },
	{ "PollInterval", SECTION_HETZNER, 0, hz_poll_interval },
	{ "ManageRoute", SECTION_HETZNER, 0, hz_manage_route },
	{ "DryRun", SECTION_HETZNER, 0, hz_dry_run },
	{ "APIEndpoint", SECTION_HETZNER, 0, hz_api_endpoint },
	{ "RobotCredentialsFile", SECTION_HETZNER, 0, hz_robot_credentials_file },
	{ "VSwitch", SECTION_HETZNER, 0, hz_vswitch },
	{ "RobotEndpoint", SECTION_HETZNER, 0, hz_robot_endpoint },
};

#define N_HETZNER_KEYS (sizeof(config_hetzner_keys) / sizeof(config_hetzner_keys[0]))

const size_t config_hetzner_n_keys = N_HETZNER_KEYS;

_Static_assert(N_HETZNER_KEYS <= CONFIG_KEY_SLOTS,
	       "config_parser.seen is too small for the [Hetzner] key table");

/* --- section start and end ---------------------------------------------------- */

void config_hetzner_begin(struct config_parser *p)
{
	struct config_hetzner *h = hz(p);

	h->enabled = true;
	h->line = p->line;
	h->poll_interval = POLL_DEFAULT;
}

/* The line a key of this section was given on, 0: not given. */
static unsigned seen_line(const struct config_parser *p, const char *name)
{
	size_t slot;

	return config_key_find(SECTION_HETZNER, name, &slot) ? p->seen[slot] : 0;
}

/* Run when the section ends: what one key cannot check alone, then the
 * defaults, so that the loop never sees a NULL it has to interpret. */
int config_hetzner_end(struct config_parser *p)
{
	struct config_hetzner *h = hz(p);
	int ret = 0;

	if (!h->network)
		return config_error(p, -EINVAL, h->line,
				    "[Hetzner] has no Network (an id or a name)");
	if (h->vswitch && !h->robot_credentials_file)
		return config_error(p, -EINVAL, seen_line(p, "VSwitch"),
				    "VSwitch needs RobotCredentialsFile (the Robot webservice login)");
	if (!h->label_selector)
		ret = set_string(p, &h->label_selector, HZ_DEFAULT_SELECTOR);
	if (ret == 0 && !h->api_endpoint)
		ret = set_string(p, &h->api_endpoint, HZ_DEFAULT_ENDPOINT);
	if (ret == 0 && !h->robot_endpoint)
		ret = set_string(p, &h->robot_endpoint, HZ_DEFAULT_ROBOT);
	return ret;
}
