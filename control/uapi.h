/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * WireGuard's cross-platform userspace API on /var/run/wireguard/NAME.sock,
 * so the stock wg(8) tool can show the gateway.  This release answers
 * get=1; set=1 is refused with errno=-EOPNOTSUPP (configuration changes
 * come with the control-socket work).
 */
#ifndef PORTCULLIS_UAPI_H
#define PORTCULLIS_UAPI_H

#include <stddef.h>

struct gateway;

int uapi_open(struct gateway *gw, char *err, size_t errlen);
/* Serve pending connections without blocking the control loop for long.
 * Returns the number served, or -1 once the socket file was deleted. */
int uapi_poll(struct gateway *gw);
void uapi_close(struct gateway *gw);

#endif
