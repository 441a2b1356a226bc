/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Longest-prefix-match table for IPv4 and IPv6 mapping a prefix to a 32-bit
 * value (a peer id for cryptokey routing, a route id for the routing table).
 * Host bits of inserted prefixes are masked off, as wg(8) does.
 *
 * Concurrency: a table is built and modified by one thread; readers use a
 * table only after it has been published (RCU) and never while it is being
 * modified.  Copy-on-write: the control thread clones, edits, publishes.
 */
#ifndef PORTCULLIS_ALLOWEDIPS_H
#define PORTCULLIS_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/types.h"

struct allowedips;

typedef int (*allowedips_walk_fn)(const struct ip_prefix *prefix,
				  uint32_t value, void *ctx);

struct allowedips *allowedips_create(void);
void allowedips_destroy(struct allowedips *t);
struct allowedips *allowedips_clone(const struct allowedips *t);

/* 0, -EINVAL (bad family/cidr), -ENOMEM.  An existing equal prefix takes the new value. */
int allowedips_insert(struct allowedips *t, const struct ip_prefix *p, uint32_t value);
/* 0 or -ENOENT. */
int allowedips_remove(struct allowedips *t, const struct ip_prefix *p);
/* Remove every prefix holding value; returns how many. */
size_t allowedips_remove_by_value(struct allowedips *t, uint32_t value);

/* Hot path: longest match, false if none.  addr is 4 or 16 network-order bytes. */
bool allowedips_lookup_v4(const struct allowedips *t, const uint8_t addr[4], uint32_t *value);
bool allowedips_lookup_v6(const struct allowedips *t, const uint8_t addr[16], uint32_t *value);
bool allowedips_lookup(const struct allowedips *t, const struct ip_addr *addr, uint32_t *value);

/* Visit every prefix (IPv4 first, then IPv6, each in address order);
 * a non-zero return from fn stops the walk and is returned. */
int allowedips_walk(const struct allowedips *t, allowedips_walk_fn fn, void *ctx);
size_t allowedips_count(const struct allowedips *t);
/* Trie nodes in use (memory metrics, tests): at most 2 * count; 0 when empty. */
size_t allowedips_nodes(const struct allowedips *t);

#endif
