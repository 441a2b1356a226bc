/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WireGuard's cross-platform userspace API on /var/run/wireguard/NAME.sock,
 * so the stock wg(8) tool can show the gateway.  This release answers
 * get=1; set=1 is refused with errno=-EOPNOTSUPP (configuration changes
 * come with the control-socket work).  Connections are served by
 * sock_server: non-blocking with deadlines, several at once and several
 * requests each; only root (or the daemon's uid) may connect.
 */
#ifndef PORTCULLIS_UAPI_H
#define PORTCULLIS_UAPI_H

#include <stddef.h>

struct gateway;

int uapi_open(struct gateway *gw, char *err, size_t errlen);
/* Accept, read, answer and write without ever blocking: call it every
 * control loop iteration.  Returns the number of open connections. */
int uapi_poll(struct gateway *gw);
/* Once per tick: -1 once the socket file was deleted (time to stop). */
int uapi_tick(struct gateway *gw);
void uapi_close(struct gateway *gw);

#endif
