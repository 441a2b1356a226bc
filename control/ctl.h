/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The gateway CLI socket (protocol: ctl_proto.h) and the Prometheus
 * metrics endpoint ([Control] Metrics), both served by the control thread
 * through sock_server.
 */
#ifndef PORTCULLIS_CTL_H
#define PORTCULLIS_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct gateway;

#define CTL_SOCKET_DIR "/var/run/portcullis"

/* /var/run/portcullis/<ifname>.sock, 0660 root:[Control] Group (0600 when
 * no group).  Errors as text. */
int ctl_open(struct gateway *gw, char *err, size_t errlen);
void ctl_poll(struct gateway *gw, uint64_t now);
void ctl_close(struct gateway *gw);

/* [Control] Metrics: listen if configured (no-op otherwise). */
int metrics_open(struct gateway *gw, char *err, size_t errlen);
void metrics_poll(struct gateway *gw, uint64_t now);
void metrics_close(struct gateway *gw);
/* The Prometheus text exposition (format 0.0.4) of the gateway now. */
void metrics_write(struct gateway *gw, FILE *f);

#endif
