#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test_nat.sh with two worker lcores, each polling its own RX queue of both
# ports (af_packet qpairs=2: the kernel's fanout hash plays RSS).  A NAT
# session's request and reply arrive on different ports and usually on
# different queues, so every check of test_nat.sh here also checks that a
# session created by one worker is found by the other (the shared session
# table, dataplane/nat.c).  lcore 2 shares CPU 1 here.
set -euo pipefail
export GW_DEV_ARGS=",qpairs=2"
export PORTCULLISD_EAL="--lcores 0@0,1@1,2@1 --no-huge -m 512 --no-shconf --no-pci --log-level=*:notice"
export PC_TEST_NAME=test_nat_two_workers
exec bash "$(dirname "$0")/test_nat.sh" "$@"
