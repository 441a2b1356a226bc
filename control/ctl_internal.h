/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the CLI socket: what the command table (ctl.c) and the NAT
 * session and forward handlers (ctl_nat.c) share.  Nothing outside
 * control/ctl*.c includes this.
 *
 * The handlers' contract is the one at the top of ctl.c: called on the
 * control thread; validate and act first, write the reply's members only
 * once nothing can fail (the reply object is opened and closed by the
 * caller), and on failure return -errno with a one-line reason in err.
 */
#ifndef PORTCULLIS_CTL_INTERNAL_H
#define PORTCULLIS_CTL_INTERNAL_H

#include <stddef.h>

struct ctl_request;
struct gateway;
struct jsonw;

/* One command of ctl_proto.h. */
typedef int (*ctl_handler_fn)(struct gateway *gw, const struct ctl_request *r,
			      struct jsonw *w, char *err, size_t errlen);

/* "bad KEY 'VALUE' (WANT)" in err, the value shortened; returns -EINVAL. */
int ctl_bad_arg(char *err, size_t errlen, const char *key, const char *value,
		const char *want);

/* ctl_nat.c: the NAT sessions and port forwards. */
int ctl_nat_sessions(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen);
int ctl_nat_count(struct gateway *gw, const struct ctl_request *r,
		  struct jsonw *w, char *err, size_t errlen);
int ctl_nat_flush(struct gateway *gw, const struct ctl_request *r,
		  struct jsonw *w, char *err, size_t errlen);
int ctl_forwards(struct gateway *gw, const struct ctl_request *r,
		 struct jsonw *w, char *err, size_t errlen);
int ctl_forward_add(struct gateway *gw, const struct ctl_request *r,
		    struct jsonw *w, char *err, size_t errlen);
int ctl_forward_remove(struct gateway *gw, const struct ctl_request *r,
		       struct jsonw *w, char *err, size_t errlen);

/* ctl_hetzner.c */
int ctl_hetzner_status(struct gateway *gw, const struct ctl_request *r,
		       struct jsonw *w, char *err, size_t errlen);
int ctl_hetzner_plan(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen);
int ctl_hetzner_sync(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen);

#endif
