#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a host for portcullisd (the systemd unit runs it as ExecStartPre,
# see config/portcullisd@.service):
#   1. reserve 2 MiB hugepages, unless enough are reserved already, and mount
#      hugetlbfs on /dev/hugepages if nothing is mounted there;
#   2. mount bpffs on /sys/fs/bpf if it is not mounted (AF_XDP: libxdp pins
#      its programs there);
#   3. load the kernel modules that exist here: tun (net_tap ports), and
#      vfio-pci only when asked (full PMD mode, a NIC bound to it).
# Idempotent: a second run finds everything in place and changes nothing.
# It never lowers a reservation and never binds or unbinds a NIC.
#
#   prepare-host.sh [--hugepages N] [--vfio] [--dry-run]
#     --hugepages N  2 MiB pages wanted (default $PORTCULLIS_HUGEPAGES, or
#                    512 = 1 GiB); 0 skips the hugepage steps (EAL --no-huge)
#     --vfio         also load vfio-pci
#     --dry-run      print what would be done, change nothing
# Exit status: 0 when the host is ready, 1 on a real failure (too few pages
# after the reservation, a mount that failed), 2 on bad usage.
set -euo pipefail

pages=${PORTCULLIS_HUGEPAGES:-512}
vfio=0
dry=0
# Overridable for tests; the defaults are the kernel's paths.
SYSFS_HP=${PREPARE_SYSFS_HP:-/sys/kernel/mm/hugepages/hugepages-2048kB}
HUGE_MNT=${PREPARE_HUGE_MNT:-/dev/hugepages}
BPF_MNT=${PREPARE_BPF_MNT:-/sys/fs/bpf}

usage() {
	cat >&2 <<-EOF
	usage: prepare-host.sh [--hugepages N] [--vfio] [--dry-run]
	  --hugepages N  2 MiB hugepages wanted (default \$PORTCULLIS_HUGEPAGES or 512);
	                 0 skips the hugepage steps (EAL --no-huge)
	  --vfio         also load vfio-pci (full PMD mode)
	  --dry-run      print what would be done, change nothing
	EOF
	exit 2
}

while (($#)); do
	case $1 in
	--hugepages) (($# >= 2)) || usage; pages=$2; shift 2 ;;
	--hugepages=*) pages=${1#*=}; shift ;;
	--vfio) vfio=1; shift ;;
	--dry-run) dry=1; shift ;;
	-h | --help) usage ;;
	*) echo "prepare-host: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $pages =~ ^[0-9]+$ ]] || { echo "prepare-host: --hugepages wants a number, not '$pages'" >&2; exit 2; }

say() { echo "prepare-host: $*"; }
die() { echo "prepare-host: ERROR: $*" >&2; exit 1; }

# run CMD...: do it, or only say it with --dry-run.
run() {
	if ((dry)); then
		say "would run: $*"
	else
		"$@"
	fi
}

mounted() { awk -v m="$1" -v t="$2" '$2 == m && $3 == t { f = 1 } END { exit !f }' /proc/mounts; }

hugepages() {
	if ((pages == 0)); then
		say "hugepages: none wanted (run the daemon with EAL --no-huge), skipped"
		return
	fi
	[[ -r $SYSFS_HP/nr_hugepages ]] || die "no 2 MiB hugepage support here ($SYSFS_HP is missing)"
	local have
	have=$(<"$SYSFS_HP/nr_hugepages")
	if ((have >= pages)); then
		say "hugepages: $have x 2 MiB reserved, $pages wanted: nothing to do"
	else
		say "hugepages: reserving $pages x 2 MiB (had $have)"
		if ((dry)); then
			say "would run: echo $pages > $SYSFS_HP/nr_hugepages"
		else
			echo "$pages" >"$SYSFS_HP/nr_hugepages" || die "cannot write $SYSFS_HP/nr_hugepages"
			have=$(<"$SYSFS_HP/nr_hugepages")
			# The kernel reserves what it can find; fragmented memory
			# gives fewer pages.  Reboot, or reserve them at boot
			# (hugepages=N on the kernel command line).
			((have >= pages)) ||
				die "only $have of $pages hugepages could be reserved (memory is fragmented: add hugepages=$pages to the kernel command line and reboot)"
		fi
	fi
	if mounted "$HUGE_MNT" hugetlbfs; then
		say "hugetlbfs: mounted on $HUGE_MNT"
	else
		say "hugetlbfs: mounting on $HUGE_MNT"
		run mkdir -p "$HUGE_MNT"
		run mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_MNT" || die "cannot mount hugetlbfs on $HUGE_MNT"
	fi
}

bpffs() {
	if mounted "$BPF_MNT" bpf; then
		say "bpffs: mounted on $BPF_MNT"
		return
	fi
	say "bpffs: mounting on $BPF_MNT"
	run mkdir -p "$BPF_MNT"
	run mount -t bpf bpf "$BPF_MNT" || die "cannot mount bpffs on $BPF_MNT"
}

# module NAME WHY: load NAME if the kernel has it as a module; a kernel that
# has it built in, or has no modules at all (a container), is fine.
module() {
	local name=$1 why=$2 sysname=${1//-/_}
	if [[ -d /sys/module/$sysname ]]; then
		say "module $name: present ($why)"
	elif ! command -v modprobe >/dev/null 2>&1 || ! modprobe -n -q "$name" 2>/dev/null; then
		say "module $name: not a loadable module here (built in, or a kernel or container without modules): skipped ($why)"
	else
		say "module $name: loading ($why)"
		run modprobe "$name" || die "modprobe $name failed"
	fi
}

((dry)) && say "dry run: nothing will be changed"
if ((!dry)) && [[ $EUID -ne 0 ]]; then
	die "run as root (or with --dry-run)"
fi
hugepages
bpffs
module tun "net_tap ports"
if ((vfio)); then
	module vfio-pci "full PMD mode: bind the NIC with dpdk-devbind.py --bind=vfio-pci"
fi
say "host ready"
