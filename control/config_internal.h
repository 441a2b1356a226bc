/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the config parser: the state shared by the line driver
 * (config.c) and the per-key value parsers (config_keys.c, config_port.c
 * for [Port ...], config_nat.c for [NAT] and config_control.c for
 * [Control]).  Nothing outside
 * control/config*.c includes this.
 */
#ifndef PORTCULLIS_CONFIG_INTERNAL_H
#define PORTCULLIS_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum config_section {
	SECTION_NONE = 0,
	SECTION_INTERFACE,
	SECTION_PEER,
	SECTION_PORT,
	SECTION_NAT,
	SECTION_CONTROL,
	SECTION_HETZNER,
};

enum config_key_flags {
	KEY_REPEATABLE = 1 << 0,            /* may appear more than once */
	KEY_EMPTY_OK = 1 << 1,              /* "Key =" with nothing is fine */
};

enum { CONFIG_KEY_SLOTS = 32, CONFIG_QUOTE_LEN = 160 };

struct config_parser;

struct config_key {
	const char *name;
	enum config_section section;
	unsigned flags;
	int (*parse)(struct config_parser *p, const struct config_key *key,
		     char *value);
};

struct config_parser {
	const char *name;                   /* file name for messages */
	unsigned flags;                     /* enum config_flags */
	config_notice_fn notice;
	void *notice_ctx;
	char *err;
	size_t errlen;
	bool failed;                        /* err holds the first error */

	struct config *cfg;
	unsigned line;                      /* current line, 1-based */
	enum config_section section;
	unsigned section_line;
	struct config_port *port;           /* current [Port ...] */
	size_t peer_cap;
	/* Line each key was first seen on in the current section (0: not
	 * yet), indexed like the key table: catches repeated single keys and
	 * lets the end-of-section checks ask "was PublicKey given?". */
	unsigned seen[CONFIG_KEY_SLOTS];
	unsigned interface_line;            /* 0: no [Interface] yet */
	unsigned nat_line;                  /* 0: no [NAT] yet */
	bool holds_private_key;             /* inline PrivateKey seen */
	bool holds_preshared_key;           /* inline PresharedKey seen */

	/* Two rotating buffers so one message can quote two values. */
	char quote[2][CONFIG_QUOTE_LEN];
	unsigned next_quote;
};

/* Records "name:line: reason" (line 0: "name: reason") unless an error is
 * already recorded; returns ret so callers can `return config_error(...)`. */
int config_error(struct config_parser *p, int ret, unsigned line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The common case: -EINVAL at the current line. */
#define config_bad(p, ...) config_error((p), -EINVAL, (p)->line, __VA_ARGS__)
void config_notice(struct config_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Returns s in single quotes, made printable and shortened, or a
 * placeholder when s could hold a base64 key (never echo secrets). */
const char *config_quote(struct config_parser *p, const char *s);

/* Key table lookup; slot indexes p->seen. NULL: no such key there.  Slots
 * are unique within a section only: seen[] is cleared at every header. */
const struct config_key *config_key_find(enum config_section section,
					 const char *name, size_t *slot);

/* The [Port public] / [Port private] keys (config_port.c), searched by
 * config_key_find. */
extern const struct config_key config_port_keys[];
extern const size_t config_port_n_keys;

/* The [NAT] keys (config_nat.c), searched by config_key_find. */
extern const struct config_key config_nat_keys[];
extern const size_t config_nat_n_keys;
/* The [NAT] checks that need the whole file (ListenPort, [Port public]);
 * run after every line has been read.  0 when there is no [NAT]. */
int config_nat_check(struct config_parser *p);

/* The [Control] keys (config_control.c), searched by config_key_find. */
extern const struct config_key config_control_keys[];
extern const size_t config_control_n_keys;

/* The [Hetzner] keys (config_hetzner.c), searched by config_key_find;
 * begin sets the defaults and enabled at the header, end checks the
 * section (Network given, VSwitch with RobotCredentialsFile) and fills in
 * the default strings. */
extern const struct config_key config_hetzner_keys[];
extern const size_t config_hetzner_n_keys;
void config_hetzner_begin(struct config_parser *p);
int config_hetzner_end(struct config_parser *p);

/* A relative path (PrivateKeyFile, TokenFile, ...) taken beside the
 * config file, so it does not depend on the daemon's working directory;
 * NULL: no memory.  (config_keys.c) */
char *config_path_beside(const char *config_name, const char *path);

/* yes/true/on or no/false/off (any case), else "bad Key 'value' (must be
 * yes or no)".  (config_nat.c) */
int config_bool_parse(struct config_parser *p, const struct config_key *key,
		      const char *value, bool *out);

/* Strict decimal: digits only (no sign, space or hex), at most max. */
int config_uint_parse(const char *s, unsigned long max, unsigned long *out);
/* config_uint_parse in min..max, or "bad Key 'value' (must be min..max)". */
int config_number_parse(struct config_parser *p, const struct config_key *key,
			const char *value, unsigned long min, unsigned long max,
			unsigned long *out);

/* Parses item as a prefix (need_cidr: "/len" required) and appends it to
 * arr, which holds *n of at most CONFIG_MAX_ADDRESSES; else "bad Key
 * 'item' ..." or "too many Key entries".  (config_keys.c) */
int config_prefix_add(struct config_parser *p, const struct config_key *key,
		      const char *item, struct ip_prefix *arr, size_t *n,
		      bool need_cidr);

typedef int (*config_item_fn)(struct config_parser *p,
			      const struct config_key *key, char *item);
/* Calls fn for each trimmed item of a comma list; an empty item is an
 * error. */
int config_list_for_each(struct config_parser *p, const struct config_key *key,
			 char *value, config_item_fn fn);

/* Reads a whole regular file (at most max bytes) into a NUL-terminated
 * buffer the caller wipes and frees.  -EINVAL: not a regular file. */
int config_read_file(const char *path, size_t max, char **buf, size_t *len,
		     unsigned *mode);

/* Arrays grow by doubling; the capacity is implied by the count so the
 * public structs need no capacity fields. */
int config_array_reserve(void **array, size_t n, size_t size);
/* A new array of n elements (copied from src unless NULL) in the shape
 * config_array_reserve expects, so copies and edits can grow it too.
 * n == 0: *dst is NULL. */
int config_array_dup(void **dst, const void *src, size_t n, size_t size);

char *config_trim(char *s);

/* A total order on prefixes for qsort: by family, length, then address
 * bytes; 0 when they are the same prefix. */
int config_prefix_cmp(const struct ip_prefix *a, const struct ip_prefix *b);

#endif
