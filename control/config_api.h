/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Hetzner sync's share of a configuration (control/config_api.c):
 * peers and private-side routes marked from_api.  A good sync round
 * replaces all of them at once with config_merge_api() on a copy of the
 * running config, which then goes through gateway_apply() like any other
 * change, so unchanged peers keep their sessions.  Peers of the config
 * file and of `wg set` (from_api false) are never changed: a server whose
 * key is such a peer is left out, and so is a prefix such a peer owns
 * (each with a notice).  A reload merges the last applied state into the
 * freshly read file, so the sync's peers survive it.
 */
#ifndef PORTCULLIS_CONFIG_API_H
#define PORTCULLIS_CONFIG_API_H

#include "config.h"
#include "hetzner.h"

typedef void (*config_api_notice_fn)(const char *msg, void *ctx);

/* 0, or -ENOMEM with cfg unchanged. */
int config_merge_api(struct config *cfg, const struct hz_desired *d,
		     config_api_notice_fn fn, void *ctx);

enum config_api_change { CONFIG_API_ADD, CONFIG_API_CHANGE, CONFIG_API_REMOVE };

struct config_api_diff_ops {
	/* old NULL for an add, next NULL for a removal. */
	void (*peer)(enum config_api_change what, const struct config_peer *old,
		     const struct config_peer *next, void *ctx);
	void (*route)(enum config_api_change what, const struct config_route *r,
		      void *ctx);
};

/* What going from cur to next does to the sync's peers and routes (a NULL
 * callback skips its kind). */
void config_api_diff(const struct config *cur, const struct config *next,
		     const struct config_api_diff_ops *ops, void *ctx);

#endif
