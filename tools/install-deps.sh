#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install every Debian 12 package Portcullis builds, tests, demos and
# benchmarks with.  Idempotent and quick when all is present: it asks dpkg
# first, and touches apt (one `apt-get update`, one install) only for what is
# missing.  Non-interactive, so it runs unattended in CI.
set -euo pipefail

PACKAGES=(
	# build
	gcc meson ninja-build pkg-config
	dpdk-dev libdpdk-dev dpdk libsodium-dev liburcu-dev libb2-dev libssl-dev
	libbpf-dev libxdp-dev libcmocka-dev libjansson-dev
	libcurl4-openssl-dev    # the Hetzner sync's HTTP client
	# fuzzing and sanitizers (clang's libFuzzer and runtimes), BPF programs
	clang llvm libclang-rt-14-dev
	# interop tests and demo: real WireGuard peers, namespaces, traffic
	wireguard-tools wireguard-go iproute2 ethtool iputils-ping iperf3 tcpdump
	python3 python3-scapy socat netcat-openbsd
	# the reference gateway's NAT in tests/interop (lib.sh reference_nat)
	nftables
	# helpers the scripts call (sysctl, pkill-free process handling, timeout, stdbuf)
	kmod procps coreutils
)

# One dpkg-query for all (unknown names just print nothing).  Status
# "installed" only: half-installed or removed packages count as missing.
installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "${PACKAGES[@]}" 2>/dev/null || true) "
missing=()
for p in "${PACKAGES[@]}"; do
	[[ $installed == *" $p:installed "* ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
if [[ $EUID -ne 0 ]]; then
	echo "install-deps: run as root to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/portcullis-install-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
# apt's output goes to a log shown only on failure: quiet when it works,
# complete when it does not.
run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "install-deps: '$*' failed:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}
# Package lists may be missing or stale (a fresh image), so update once
# before installing; this costs a few seconds and only happens when needed.
run apt-get update -q
run apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"
echo "install-deps: done"
