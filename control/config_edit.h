/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Edits of a configuration in memory: the desired state that live changes
 * are made of.  A UAPI set (`wg set`, `wg setconf`, `wg syncconf`) and a
 * CLI forward-add/-remove each clone the running config, edit the clone
 * and hand it to gateway_apply(), which applies the difference; a reload
 * parses the file instead.  So there is one path for every change, and a
 * change that fails anywhere leaves the running state as it was.
 *
 * Pure (config_lib): no DPDK, tested with cmocka and fuzzed.
 */
#ifndef PORTCULLIS_CONFIG_EDIT_H
#define PORTCULLIS_CONFIG_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "uapi_parse.h"

/* A deep copy (keys included; config_free wipes them).  NULL: no memory. */
struct config *config_clone(const struct config *cfg);

/*
 * Apply a parsed set=1 request to cfg in the order uapi_parse.h lays out
 * (wireguard-go's semantics).  On error returns a negative errno for the
 * reply (-EINVAL, -ENOMEM, -E2BIG over CONFIG_MAX_PEERS) with a reason in
 * err, and cfg is half-edited: callers edit a clone and drop it.
 *
 *  - private_key all zero is refused (-EINVAL): the gateway cannot run
 *    without an identity.  A peer carrying the (new) own public key is
 *    dropped, as wireguard-go does.
 *  - listen_port 0 picks a random port in 49152..65535 (what the kernel
 *    does for wireguard-go).
 *  - An allowed IP added to a peer leaves the peer that had it; later
 *    lines win over earlier ones, and over what the config had.
 *  - A new peer's line (for messages) is its public_key line in the
 *    request; its endpoint_text is the formatted endpoint.
 */
int config_apply_uapi(struct config *cfg, const struct uapi_set *set,
		      char *err, size_t errlen);

/*
 * Port forwards at runtime (portcullisctl forward add/remove), checked
 * with the same rules as a [NAT] Forward line: proto "tcp"/"udp",
 * external "[ADDR:]PORT", to "ADDR:PORT".  Errors: -EINVAL with a reason
 * (no [NAT], bad value, duplicate, conflicts with ListenPort, no such
 * forward); cfg unchanged on error.  (control/config_nat.c)
 */
int config_forward_add(struct config *cfg, const char *proto,
		       const char *external, const char *to,
		       char *err, size_t errlen);
int config_forward_remove(struct config *cfg, const char *proto,
			  const char *external, char *err, size_t errlen);
/* The [NAT] checks that see the whole config (a UDP Forward on the
 * ListenPort, ...), for an edit that changed something they look at, such
 * as `wg set listen-port`.  -EINVAL with the reason.  (config_nat.c) */
int config_nat_recheck(struct config *cfg, char *err, size_t errlen);

#endif
