/* SPDX-License-Identifier: BSD-3-Clause */
/* portcullisctl: see cli.c, and `portcullisctl help`. */
#include <stdio.h>

#include "ctl.h"
#include "ipc.h"
#include "portcullisctl.h"

int main(int argc, char **argv)
{
	return ctl_run(argc, argv, CTL_SOCKET_DIR, IPC_TIMEOUT_MS, stdout,
		       stderr);
}
