/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The config file parser: the line driver (sections, keys, comments), the
 * checks that need the whole file, and loading from disk with the
 * permission check.  The values of each key are parsed in config_keys.c
 * ([Interface], [Peer]) and config_port.c ([Port]).
 *
 * The format is wg-quick's (wg-quick(8), wg(8) "CONFIGURATION FILE FORMAT")
 * plus [Port public], [Port private], [NAT] (config_nat.c), [Control]
 * and [Hetzner] (config_hetzner.c); config/README.md documents every key.
 * As in wg and wg-quick, section and key names are case-insensitive, '#'
 * starts a comment anywhere on a line, whitespace around '=' and blank
 * lines do not matter.
 *
 * Secrets: the file text, each line copy and every decoded key live in
 * buffers that are wiped before they are freed or go out of scope, and no
 * message quotes a value that could be a key (config_quote).
 */
/* reallocarray, strsep, getaddrinfo: the build passes -D_GNU_SOURCE, but
 * the one-line fuzz build does not. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config_internal.h"

/* --- messages ---------------------------------------------------------------- */

int config_error(struct config_parser *p, int ret, unsigned line,
		 const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	/* The first error is the one worth reading; later ones are often
	 * consequences of it. */
	if (p->failed || !p->err || p->errlen == 0) {
		p->failed = true;
		return ret;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	p->failed = true;
	return ret;
}

void config_notice(struct config_parser *p, unsigned line, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN], full[CONFIG_ERR_LEN + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%u: %s", p->name, line, msg);
	if (p->notice)
		p->notice(full, p->notice_ctx);
	else
		fprintf(stderr, "%s\n", full);
}

static bool is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

const char *config_quote(struct config_parser *p, const char *s)
{
	char *out = p->quote[p->next_quote++ % 2];
	size_t run = 0, n = 0, i;

	/* A 32-byte key is 43 base64 characters before its '='.  Any run that
	 * long may be a key typed into the wrong place: never echo it. */
	for (i = 0; s[i]; i++) {
		run = is_base64_char(s[i]) ? run + 1 : 0;
		if (run >= 43) {
			snprintf(out, CONFIG_QUOTE_LEN,
				 "(value not shown: it may hold a key)");
			return out;
		}
	}
	/* Printable ASCII only, so a message cannot carry terminal escapes. */
	out[n++] = '\'';
	for (i = 0; s[i] && n < CONFIG_QUOTE_LEN - 6; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '\'';
	out[n] = '\0';
	return out;
}

/* --- small utilities --------------------------------------------------------- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

char *config_trim(char *s)
{
	size_t len;

	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		s[--len] = '\0';
	return s;
}

int config_array_reserve(void **array, size_t n, size_t size)
{
	void *grown;

	/* Capacity is 4, 8, 16, ...: only grow when n has just reached it. */
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return 0;
	grown = reallocarray(*array, n ? n * 2 : 4, size);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	return 0;
}

int config_array_dup(void **dst, const void *src, size_t n, size_t size)
{
	size_t cap = 4;

	*dst = NULL;
	if (n == 0)
		return 0;
	while (cap < n)
		cap *= 2;
	*dst = reallocarray(NULL, cap, size);
	if (!*dst)
		return -ENOMEM;
	if (src)
		memcpy(*dst, src, n * size);
	return 0;
}

int config_read_file(const char *path, size_t max, char **buf, size_t *len,
		     unsigned *mode)
{
	struct stat st;
	char *data = NULL;
	size_t size = 0, got = 0;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO named here must not hang the loader; it is
	 * refused below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = fstat(fd, &st) == 0 ? 0 : -errno;
	if (ret == 0 && !S_ISREG(st.st_mode))
		ret = -EINVAL;
	if (ret == 0 && (uintmax_t)st.st_size > max)
		ret = -EFBIG;
	if (ret == 0) {
		*mode = (unsigned)st.st_mode;
		size = (size_t)st.st_size;
		data = malloc(size + 1);
		ret = data ? 0 : -ENOMEM;
	}
	while (ret == 0 && got < size) {
		n = read(fd, data + got, size - got);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n == 0)
			break;              /* it shrank while we read */
		else if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	if (ret != 0) {
		if (data)
			sodium_memzero(data, size + 1);
		free(data);
		return ret;
	}
	data[got] = '\0';
	*buf = data;
	*len = got;
	return 0;
}

/* --- sections ---------------------------------------------------------------- */

static const char *const port_titles[PORT_COUNT] = {
	[PORT_PUBLIC] = "[Port public]",
	[PORT_PRIVATE] = "[Port private]",
};

static const char *section_title(const struct config_parser *p)
{
	if (p->section == SECTION_INTERFACE)
		return "[Interface]";
	if (p->section == SECTION_PEER)
		return "[Peer]";
	if (p->section == SECTION_NAT)
		return "[NAT]";
	if (p->section == SECTION_CONTROL)
		return "[Control]";
	if (p->section == SECTION_HETZNER)
		return "[Hetzner]";
	return port_titles[p->port - p->cfg->ports];
}

static bool key_seen(const struct config_parser *p, const char *name)
{
	size_t slot;

	return config_key_find(p->section, name, &slot) && p->seen[slot] != 0;
}

/* Checks that a section is complete; run when the next one starts or the
 * file ends, and reported at the line of the section header. */
static int end_section(struct config_parser *p)
{
	unsigned line = p->section_line;
	bool key, file;

	switch (p->section) {
	case SECTION_INTERFACE:
		key = key_seen(p, "PrivateKey");
		file = key_seen(p, "PrivateKeyFile");
		if (key && file)
			return config_error(p, -EINVAL, line,
					    "[Interface] has both PrivateKey and PrivateKeyFile (use one)");
		if (!key && !file)
			return config_error(p, -EINVAL, line,
					    "[Interface] has no PrivateKey or PrivateKeyFile");
		return 0;
	case SECTION_PEER:
		if (!key_seen(p, "PublicKey"))
			return config_error(p, -EINVAL, line, "[Peer] has no PublicKey");
		return 0;
	case SECTION_PORT:
		if (!p->port->device)
			return config_error(p, -EINVAL, line, "%s has no Device",
					    section_title(p));
		if (p->port->n_addresses == 0)
			return config_error(p, -EINVAL, line, "%s has no Address",
					    section_title(p));
		return 0;
	case SECTION_NAT:
		/* An empty [NAT] is a half-written section.  The Allow* keys
		 * alone are a firewall without translation (stateful tunnel
		 * <-> private policy), which is fine. */
		if (!key_seen(p, "Masquerade") && !key_seen(p, "Forward") &&
		    !key_seen(p, "AllowTunnelToPrivate") &&
		    !key_seen(p, "AllowPrivateToTunnel"))
			return config_error(p, -EINVAL, line,
					    "[NAT] needs Masquerade, Forward, AllowTunnelToPrivate "
					    "or AllowPrivateToTunnel");
		return 0;
	case SECTION_HETZNER:
		return config_hetzner_end(p);
	case SECTION_CONTROL:                   /* every key is optional */
	case SECTION_NONE:
		break;
	}
	return 0;
}

/* Peers hold preshared keys, so growing the array must not leave a copy
 * behind in freed memory the way realloc would. */
static int add_peer(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	struct config_peer *grown;
	size_t cap;

	if (cfg->n_peers >= CONFIG_MAX_PEERS)
		return config_bad(p, "too many peers (max %d)", CONFIG_MAX_PEERS);
	if (cfg->n_peers == p->peer_cap) {
		cap = p->peer_cap ? p->peer_cap * 2 : 8;
		grown = calloc(cap, sizeof(*grown));
		if (!grown)
			return config_error(p, -ENOMEM, p->line, "out of memory");
		if (cfg->n_peers) {
			memcpy(grown, cfg->peers, cfg->n_peers * sizeof(*grown));
			sodium_memzero(cfg->peers, cfg->n_peers * sizeof(*grown));
		}
		free(cfg->peers);
		cfg->peers = grown;
		p->peer_cap = cap;
	}
	memset(&cfg->peers[cfg->n_peers], 0, sizeof(cfg->peers[0]));
	cfg->peers[cfg->n_peers++].line = p->line;
	return 0;
}

static int begin_section(struct config_parser *p, enum config_section section,
			 int port)
{
	struct config_port *cp = port >= 0 ? &p->cfg->ports[port] : NULL;
	int ret = end_section(p);

	if (ret != 0)
		return ret;
	if (section == SECTION_INTERFACE && p->interface_line)
		return config_bad(p, "duplicate section [Interface] (first at line %u)",
				  p->interface_line);
	if (cp && cp->present)
		return config_bad(p, "duplicate section %s (first at line %u)",
				  port_titles[port], cp->line);
	if (section == SECTION_NAT && p->nat_line)
		return config_bad(p, "duplicate section [NAT] (first at line %u)",
				  p->nat_line);
	if (section == SECTION_CONTROL && p->cfg->control.line)
		return config_bad(p, "duplicate section [Control] (first at line %u)",
				  p->cfg->control.line);
	if (section == SECTION_HETZNER && p->cfg->hetzner.line)
		return config_bad(p, "duplicate section [Hetzner] (first at line %u)",
				  p->cfg->hetzner.line);
	if (section == SECTION_PEER && (ret = add_peer(p)) != 0)
		return ret;
	if (section == SECTION_INTERFACE)
		p->interface_line = p->line;
	if (section == SECTION_NAT) {
		p->nat_line = p->line;
		p->cfg->nat.enabled = true;
	}
	if (section == SECTION_CONTROL)
		p->cfg->control.line = p->line;
	if (section == SECTION_HETZNER)
		config_hetzner_begin(p);
	if (cp) {
		cp->present = true;
		cp->line = p->line;
		p->port = cp;
	}
	memset(p->seen, 0, sizeof(p->seen));
	p->section = section;
	p->section_line = p->line;
	return 0;
}

/* "[Port public]": the two words may be separated by any blanks. */
static int port_from_name(const char *name)
{
	if (strncasecmp(name, "Port", 4) != 0 || (name[4] != ' ' && name[4] != '\t'))
		return -1;
	name += 4;
	while (*name == ' ' || *name == '\t')
		name++;
	if (strcasecmp(name, "public") == 0)
		return PORT_PUBLIC;
	if (strcasecmp(name, "private") == 0)
		return PORT_PRIVATE;
	return -1;
}

static int parse_section(struct config_parser *p, char *s)
{
	size_t len = strlen(s);
	char *name;
	int port;

	if (s[len - 1] != ']')
		return config_bad(p, "bad section header %s", config_quote(p, s));
	s[len - 1] = '\0';
	name = config_trim(s + 1);
	if (strcasecmp(name, "Interface") == 0)
		return begin_section(p, SECTION_INTERFACE, -1);
	if (strcasecmp(name, "Peer") == 0)
		return begin_section(p, SECTION_PEER, -1);
	if (strcasecmp(name, "NAT") == 0)
		return begin_section(p, SECTION_NAT, -1);
	if (strcasecmp(name, "Control") == 0)
		return begin_section(p, SECTION_CONTROL, -1);
	if (strcasecmp(name, "Hetzner") == 0)
		return begin_section(p, SECTION_HETZNER, -1);
	port = port_from_name(name);
	if (port >= 0)
		return begin_section(p, SECTION_PORT, port);
	s[len - 1] = ']';
	return config_bad(p, "unknown section %s", config_quote(p, s));
}

/* --- lines ------------------------------------------------------------------- */

static int parse_assignment(struct config_parser *p, char *s)
{
	char *eq = strchr(s, '='), *name, *value;
	const struct config_key *key;
	size_t slot;

	if (!eq)
		return config_bad(p, "missing '=' in %s", config_quote(p, s));
	*eq = '\0';
	name = config_trim(s);
	value = config_trim(eq + 1);
	if (p->section == SECTION_NONE)
		return config_bad(p, "key %s outside of a section",
				  config_quote(p, name));
	key = config_key_find(p->section, name, &slot);
	if (!key)
		return config_bad(p, "unknown key %s in %s", config_quote(p, name),
				  section_title(p));
	if (p->seen[slot] && !(key->flags & KEY_REPEATABLE))
		return config_bad(p, "duplicate %s (first at line %u)", key->name,
				  p->seen[slot]);
	if (!p->seen[slot])
		p->seen[slot] = p->line;
	if (*value == '\0' && !(key->flags & KEY_EMPTY_OK))
		return config_bad(p, "missing value for %s", key->name);
	return key->parse(p, key, value);
}

static int parse_line(struct config_parser *p, char *line)
{
	char *hash = strchr(line, '#'), *s;

	if (hash)
		*hash = '\0';
	s = config_trim(line);
	if (*s == '\0')
		return 0;
	if (*s == '[')
		return parse_section(p, s);
	return parse_assignment(p, s);
}

static int parse_text(struct config_parser *p, const char *text, size_t len)
{
	char line[CONFIG_MAX_LINE_LEN + 1];
	size_t pos = 0, n;
	const char *start, *nl;
	int ret = 0;

	/* Editors on Windows like to start files with a UTF-8 BOM. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (ret == 0 && pos < len) {
		start = text + pos;
		nl = memchr(start, '\n', len - pos);
		n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1 : 0);
		p->line++;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > CONFIG_MAX_LINE_LEN)
			ret = config_bad(p, "line longer than %d bytes",
					 CONFIG_MAX_LINE_LEN);
		else if (memchr(start, '\0', n))
			ret = config_bad(p, "NUL byte in line");
		if (ret != 0)
			break;
		memcpy(line, start, n);
		line[n] = '\0';
		ret = parse_line(p, line);
	}
	sodium_memzero(line, sizeof(line));     /* it may have held a key */
	return ret != 0 ? ret : end_section(p);
}

/* --- whole-file checks ----------------------------------------------------- */

static int cmp_peer_key(const void *a, const void *b)
{
	const struct config_peer *x = *(const struct config_peer *const *)a;
	const struct config_peer *y = *(const struct config_peer *const *)b;
	int c = memcmp(x->public_key, y->public_key, NOISE_PUBLIC_KEY_LEN);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* Sorting finds duplicates in n log n: a hub may have tens of thousands of
 * peers, and the fuzzer will try that too. */
static int check_duplicate_peers(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	const struct config_peer **sorted;
	int ret = 0;

	if (cfg->n_peers < 2)
		return 0;
	sorted = calloc(cfg->n_peers, sizeof(*sorted));
	if (!sorted)
		return config_error(p, -ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < cfg->n_peers; i++)
		sorted[i] = &cfg->peers[i];
	qsort(sorted, cfg->n_peers, sizeof(*sorted), cmp_peer_key);
	for (size_t i = 0; i + 1 < cfg->n_peers && ret == 0; i++)
		if (memcmp(sorted[i]->public_key, sorted[i + 1]->public_key,
			   NOISE_PUBLIC_KEY_LEN) == 0)
			ret = config_error(p, -EINVAL, sorted[i + 1]->line,
					   "[Peer] has the same PublicKey as [Peer] at line %u",
					   sorted[i]->line);
	free(sorted);
	return ret;
}

/* A peer carrying our own public key could never complete a handshake with
 * us, and WireGuard's Noise IK pattern would treat it as ourselves. */
static int check_own_key(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	uint8_t own[NOISE_PUBLIC_KEY_LEN];
	int ret = 0;

	if (crypto_scalarmult_base(own, cfg->iface.private_key) != 0)
		ret = config_error(p, -EINVAL, p->interface_line, "bad PrivateKey");
	for (size_t i = 0; i < cfg->n_peers && ret == 0; i++)
		if (sodium_memcmp(cfg->peers[i].public_key, own, sizeof(own)) == 0)
			ret = config_error(p, -EINVAL, cfg->peers[i].line,
					   "[Peer] PublicKey is this gateway's own public key");
	sodium_memzero(own, sizeof(own));
	return ret;
}

/* One NIC for both sides (a Hetzner dedicated server with one port): the
 * private side then lives on a VLAN of the public port, and the workers tell
 * the two apart by the VLAN id alone, so the ids must differ.  Two device
 * strings naming the same ethdev would configure it twice: refused too. */
static int check_shared_device(struct config_parser *p)
{
	const struct config_port *pub = &p->cfg->ports[PORT_PUBLIC];
	const struct config_port *priv = &p->cfg->ports[PORT_PRIVATE];
	size_t n;

	if (!pub->present || !priv->present || !pub->device || !priv->device)
		return 0;
	n = strcspn(pub->device, ",");
	if (n != strcspn(priv->device, ",") || strncmp(pub->device, priv->device, n) != 0)
		return 0;
	if (strcmp(pub->device, priv->device) != 0)
		return config_error(p, -EINVAL, priv->line, "[Port private] Device %s names "
				    "the device of [Port public] (line %u) with other options: "
				    "to share it, give both the same Device",
				    config_quote(p, priv->device), pub->line);
	if (pub->vlan == priv->vlan && pub->vlan == 0)
		return config_error(p, -EINVAL, priv->line, "[Port private] shares Device %s "
				    "with [Port public] (line %u): the two need different VLAN "
				    "ids (both are untagged; give [Port private] a VLAN)",
				    config_quote(p, priv->device), pub->line);
	if (pub->vlan == priv->vlan)
		return config_error(p, -EINVAL, priv->line, "[Port private] shares Device %s "
				    "with [Port public] (line %u): the two need different VLAN "
				    "ids (both are VLAN %u)", config_quote(p, priv->device),
				    pub->line, pub->vlan);
	return 0;
}

bool config_ports_shared(const struct config *cfg)
{
	const struct config_port *pub = &cfg->ports[PORT_PUBLIC];
	const struct config_port *priv = &cfg->ports[PORT_PRIVATE];

	return pub->present && priv->present && pub->device && priv->device &&
	       strcmp(pub->device, priv->device) == 0;
}

static int check_permissions(struct config_parser *p, unsigned mode)
{
	const char *what;

	if ((p->flags & CONFIG_NO_PERMISSION_CHECK) || (mode & 077) == 0)
		return 0;
	if (p->holds_private_key)
		what = "a private key";
	else if (p->holds_preshared_key)
		what = "a preshared key";
	else
		return 0;
	return config_error(p, -EACCES, 0,
			    "permissions %04o are too open: the file holds %s; chmod 600 it",
			    mode & 07777, what);
}

/* Family, then length, then address: copies of one prefix sort together
 * (here and in config_edit.c, allowed IPs are resolved by sorting). */
int config_prefix_cmp(const struct ip_prefix *a, const struct ip_prefix *b)
{
	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	if (a->cidr != b->cidr)
		return a->cidr < b->cidr ? -1 : 1;
	return memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
}

struct aip_ref {
	struct ip_prefix pfx;
	uint32_t peer, idx;
};

static int cmp_aip(const void *a, const void *b)
{
	const struct aip_ref *x = a, *y = b;
	int c = config_prefix_cmp(&x->pfx, &y->pfx);

	if (c != 0)
		return c;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static bool same_prefix(const struct aip_ref *a, const struct aip_ref *b)
{
	return a->pfx.cidr == b->pfx.cidr && ip_addr_equal(&a->pfx.addr, &b->pfx.addr);
}

/* Marks every copy of a prefix but the last one in file order for removal
 * (family IP_NONE), with one notice per earlier peer that loses it. */
static void mark_moved(struct config_parser *p, const struct aip_ref *refs,
		       size_t first, size_t last)
{
	struct config_peer *peers = p->cfg->peers, *to = &peers[refs[last].peer];
	char text[INET6_ADDRSTRLEN + 8];

	for (size_t k = first; k < last; k++) {
		peers[refs[k].peer].allowed_ips[refs[k].idx].addr.family = IP_NONE;
		if (refs[k].peer == refs[k + 1].peer)
			continue;
		config_prefix_format(text, sizeof(text), &refs[k].pfx);
		config_notice(p, to->line,
			      "AllowedIPs %s is also on [Peer] at line %u; as wg does, it goes to the last peer listing it (this one)",
			      text, peers[refs[k].peer].line);
	}
}

/* wg moves an allowed IP to the peer that names it last; mirror that, but
 * say so, since in a hand-written file it is usually a copy-paste slip. */
static int move_allowed_ips(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	struct aip_ref *refs;
	size_t total = 0, n = 0, i, j;

	for (i = 0; i < cfg->n_peers; i++)
		total += cfg->peers[i].n_allowed_ips;
	if (total < 2)
		return 0;
	refs = calloc(total, sizeof(*refs));
	if (!refs)
		return config_error(p, -ENOMEM, 0, "out of memory");
	for (i = 0; i < cfg->n_peers; i++)
		for (j = 0; j < cfg->peers[i].n_allowed_ips; j++)
			refs[n++] = (struct aip_ref){ cfg->peers[i].allowed_ips[j],
						      (uint32_t)i, (uint32_t)j };
	qsort(refs, total, sizeof(*refs), cmp_aip);
	for (i = 0; i < total; i = j + 1) {
		for (j = i; j + 1 < total && same_prefix(&refs[j], &refs[j + 1]); j++)
			;
		mark_moved(p, refs, i, j);
	}
	free(refs);
	for (i = 0; i < cfg->n_peers; i++) {
		struct config_peer *peer = &cfg->peers[i];

		for (j = n = 0; j < peer->n_allowed_ips; j++)
			if (peer->allowed_ips[j].addr.family != IP_NONE)
				peer->allowed_ips[n++] = peer->allowed_ips[j];
		peer->n_allowed_ips = n;
	}
	return 0;
}

static int check_whole_file(struct config_parser *p, unsigned mode)
{
	int ret;

	if (!p->interface_line)
		return config_error(p, -EINVAL, 0, "no [Interface] section");
	ret = check_permissions(p, mode);
	if (ret == 0)
		ret = check_own_key(p);
	if (ret == 0)
		ret = check_duplicate_peers(p);
	if (ret == 0)
		ret = check_shared_device(p);
	if (ret == 0)
		ret = move_allowed_ips(p);
	if (ret == 0)
		ret = config_nat_check(p);
	return ret;
}

/* --- entry points ------------------------------------------------------------- */

/* mode: the file's st_mode, or 0 for text that did not come from a file. */
static int parse_common(const char *name, const char *text, size_t len,
			unsigned flags, unsigned mode, config_notice_fn notice,
			void *notice_ctx, struct config **out, char *err,
			size_t errlen)
{
	struct config_parser p = {
		.name = name ? name : "(config)", .flags = flags,
		.notice = notice, .notice_ctx = notice_ctx,
		.err = err, .errlen = errlen,
	};
	int ret;

	if (sodium_init() < 0)
		return config_error(&p, -EIO, 0, "libsodium failed to initialise");
	if (len > CONFIG_MAX_FILE_SIZE)
		return config_error(&p, -EFBIG, 0, "file too large (over %d bytes)",
				    CONFIG_MAX_FILE_SIZE);
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg || !(p.cfg->path = strdup(p.name))) {
		free(p.cfg);
		return config_error(&p, -ENOMEM, 0, "out of memory");
	}
	p.cfg->iface.listen_port = CONFIG_DEFAULT_LISTEN_PORT;
	nat_config_defaults(&p.cfg->nat);
	ret = parse_text(&p, text, len);
	if (ret == 0)
		ret = check_whole_file(&p, mode);
	if (ret != 0) {
		config_free(p.cfg);
		return ret;
	}
	*out = p.cfg;
	return 0;
}

int config_parse(const char *name, const char *text, size_t len, unsigned flags,
		 config_notice_fn notice, void *notice_ctx,
		 struct config **out, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	return parse_common(name, text, len, flags, 0, notice, notice_ctx, out,
			    err, errlen);
}

int config_load(const char *path, unsigned flags, config_notice_fn notice,
		void *notice_ctx, struct config **out, char *err, size_t errlen)
{
	struct config_parser p = { .name = path, .err = err, .errlen = errlen };
	char *text = NULL;
	size_t len = 0;
	unsigned mode = 0;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	ret = config_read_file(path, CONFIG_MAX_FILE_SIZE, &text, &len, &mode);
	if (ret == -EINVAL)
		return config_error(&p, ret, 0, "not a regular file");
	if (ret == -EFBIG)
		return config_error(&p, ret, 0, "file too large (over %d bytes)",
				    CONFIG_MAX_FILE_SIZE);
	if (ret != 0)
		return config_error(&p, ret, 0, "cannot read: %s", strerror(-ret));
	ret = parse_common(path, text, len, flags, mode, notice, notice_ctx, out,
			   err, errlen);
	sodium_memzero(text, len);
	free(text);
	return ret;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		free(cfg->peers[i].endpoint_text);
		free(cfg->peers[i].allowed_ips);
	}
	if (cfg->peers)
		sodium_memzero(cfg->peers, cfg->n_peers * sizeof(cfg->peers[0]));
	free(cfg->peers);
	for (int i = 0; i < PORT_COUNT; i++) {
		free(cfg->ports[i].device);
		free(cfg->ports[i].routes);
	}
	free(cfg->iface.private_key_file);
	free(cfg->nat.forwards);
	free(cfg->control.group);
	free(cfg->control.metrics);
	free(cfg->hetzner.token_file);
	free(cfg->hetzner.network);
	free(cfg->hetzner.label_selector);
	free(cfg->hetzner.api_endpoint);
	free(cfg->hetzner.robot_credentials_file);
	free(cfg->hetzner.robot_endpoint);
	free(cfg->path);
	sodium_memzero(cfg, sizeof(*cfg));
	free(cfg);
}

uint16_t config_port_mtu(const struct config_port *port)
{
	return port->mtu ? port->mtu : CONFIG_DEFAULT_PORT_MTU;
}

uint16_t config_tunnel_mtu(const struct config *cfg)
{
	/* PORT_MTU_MIN (576) is above the overhead, so this cannot wrap. */
	if (cfg->iface.mtu)
		return cfg->iface.mtu;
	return (uint16_t)(config_port_mtu(&cfg->ports[PORT_PUBLIC]) - WG_OVERHEAD_IPV6);
}
