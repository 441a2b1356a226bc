#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The service files of issue 6, without disturbing the machine:
#   1. config/portcullisd@.service passes `systemd-analyze verify` with no
#      message at all (unknown keys are only warnings there), and has the
#      settings the service promises (reload by SIGHUP, restart on failure,
#      journal, each capability explained in a comment);
#   2. tools/prepare-host.sh --dry-run prints what it would do and changes
#      nothing (hugepages, mounts);
#   3. tools/prepare-host.sh for real, twice, inside a private mount
#      namespace (unshare -m) where bpffs has been unmounted: the first run
#      mounts it, the second finds it and does nothing; a hugepage
#      reservation against a stand-in for the sysfs file, with hugetlbfs
#      mounted on a directory of the test's own;
#   4. bad usage exits 2.
# Parts that cannot run here (no systemd-analyze, no unshare) are skipped
# with a note; if nothing at all could run, the test exits 77.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UNIT=$ROOT/config/portcullisd@.service
PREP=$ROOT/tools/prepare-host.sh
PORTCULLISD=${PORTCULLISD:-$ROOT/build/control/portcullisd}
NAME=test_service
TMP=""
ran=0

step() { printf '# %s\n' "$*"; }
fail() { printf 'ERROR: %s\n' "$*" >&2; echo "FAIL $NAME: $*"; exit 1; }
skip() { echo "SKIP $NAME: $*"; exit 77; }
cleanup() { [[ -z $TMP ]] || rm -rf "$TMP"; }
trap cleanup EXIT

[[ $EUID -eq 0 ]] || skip "needs root (mount namespaces, sysfs)"
TMP=$(mktemp -d /tmp/portcullis-$NAME.XXXXXX)

# ---------------------------------------------------------------- the unit

# key=value lines the unit must have (exact lines).
want_lines=(
	"Type=simple"
	"ExecReload=/bin/kill -HUP \$MAINPID"
	"Restart=on-failure"
	"LimitMEMLOCK=infinity"
	"NoNewPrivileges=yes"
	"ProtectSystem=strict"
	"ProtectHome=yes"
	"PrivateTmp=yes"
	"StandardOutput=journal"
)
for l in "${want_lines[@]}"; do
	grep -qxF "$l" "$UNIT" || fail "the unit has no line '$l'"
done
# Every capability it keeps is explained in a comment, and bounding and
# ambient sets agree.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[[ $caps == "$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")" ]] ||
	fail "CapabilityBoundingSet and AmbientCapabilities differ"
for c in $caps; do
	grep -qE "^#   $c " "$UNIT" || fail "capability $c is not explained in a comment"
done
step "unit: ${#want_lines[@]} required settings, capabilities explained: $caps"

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that the commands exist: point them at this tree
	# (/bin/true when the daemon is not built, e.g. GATEWAY=reference).
	daemon=/bin/true
	[[ -x $PORTCULLISD ]] && daemon=$PORTCULLISD
	sed -e "s|/usr/local/bin/portcullisd|$daemon|" \
	    -e "s|/usr/local/sbin/portcullis-prepare-host|$PREP|" \
	    "$UNIT" >"$TMP/portcullisd@gw0.service"
	out=$(cd "$TMP" && systemd-analyze verify --man=no "$TMP/portcullisd@gw0.service" 2>&1) ||
		fail "systemd-analyze verify failed: $out"
	[[ -z $out ]] || fail "systemd-analyze verify complained: $out"
	step "systemd-analyze verify portcullisd@gw0.service: clean"
	ran=$((ran + 1))
else
	step "SKIP part: no systemd-analyze here"
fi

# ---------------------------------------------------------------- prepare-host

# state: what prepare-host could change (only its own mount types, as
# other tests may add namespace mounts meanwhile).
state() {
	cat /proc/sys/vm/nr_hugepages
	awk '$3 == "bpf" || $3 == "hugetlbfs" { print $2, $3 }' /proc/mounts | sort
}

before=$(state)
out=$("$PREP" --dry-run --hugepages 4 --vfio 2>&1) || fail "dry run failed: $out"
[[ $(state) == "$before" ]] || fail "the dry run changed the host"
grep -q "dry run: nothing will be changed" <<<"$out" || fail "dry run does not say so: $out"
grep -qE "hugepages: (reserving 4|[0-9]+ x 2 MiB reserved, 4 wanted)" <<<"$out" ||
	fail "dry run: no hugepage line: $out"
grep -q "host ready" <<<"$out" || fail "dry run: no 'host ready': $out"
step "dry run: $(grep -c . <<<"$out") lines, host unchanged"
ran=$((ran + 1))

rc=0
"$PREP" --hugepages many >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "--hugepages many: exit $rc, want 2"
rc=0
"$PREP" --colour >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "--colour: exit $rc, want 2"
step "bad usage: exit 2"

if ! command -v unshare >/dev/null 2>&1 || ! unshare -m --propagation private true 2>/dev/null; then
	step "SKIP part: no private mount namespace here (unshare -m)"
else
	# Everything below happens in a mount namespace of its own; the
	# host's mounts are untouched (checked after).
	before=$(state)
	cat >"$TMP/real.sh" <<-'EOF'
	set -euo pipefail
	prep=$1 tmp=$2
	if awk '$2 == "/sys/fs/bpf" { f = 1 } END { exit !f }' /proc/mounts; then
		umount /sys/fs/bpf
	fi
	echo "=== run 1"
	"$prep" --hugepages 0
	echo "=== run 2"
	"$prep" --hugepages 0
	echo "=== mounts"
	awk '$2 == "/sys/fs/bpf" { print $2, $3 }' /proc/mounts
	# Hugepages against a stand-in sysfs file: 3 wanted, 1 reserved.
	mkdir -p "$tmp/hp" "$tmp/huge"
	echo 1 >"$tmp/hp/nr_hugepages"
	echo "=== pages 1"
	PREPARE_SYSFS_HP=$tmp/hp PREPARE_HUGE_MNT=$tmp/huge "$prep" --hugepages 3
	echo "=== pages 2"
	PREPARE_SYSFS_HP=$tmp/hp PREPARE_HUGE_MNT=$tmp/huge "$prep" --hugepages 3
	echo "=== nr $(cat "$tmp/hp/nr_hugepages")"
	awk -v m="$tmp/huge" '$2 == m { print "=== huge", $3 }' /proc/mounts
	EOF
	out=$(unshare -m --propagation private bash "$TMP/real.sh" "$PREP" "$TMP" 2>&1) ||
		fail "prepare-host in a private mount namespace failed: $out"
	[[ $(state) == "$before" ]] || fail "the real runs leaked out of their mount namespace"
	run1=$(sed -n '/^=== run 1/,/^=== run 2/p' <<<"$out")
	run2=$(sed -n '/^=== run 2/,/^=== mounts/p' <<<"$out")
	grep -q "bpffs: mounting on /sys/fs/bpf" <<<"$run1" || fail "run 1 did not mount bpffs: $out"
	grep -q "bpffs: mounted on /sys/fs/bpf" <<<"$run2" || fail "run 2 did not find bpffs: $out"
	grep -q "mounting" <<<"$run2" && fail "run 2 is not idempotent: $out"
	grep -qx "/sys/fs/bpf bpf" <<<"$out" || fail "bpffs is not mounted after the runs: $out"
	p1=$(sed -n '/^=== pages 1/,/^=== pages 2/p' <<<"$out")
	p2=$(sed -n '/^=== pages 2/,/^=== nr/p' <<<"$out")
	grep -q "hugepages: reserving 3 x 2 MiB (had 1)" <<<"$p1" || fail "no reservation: $out"
	grep -q "hugetlbfs: mounting on $TMP/huge" <<<"$p1" || fail "hugetlbfs not mounted: $out"
	grep -q "hugepages: 3 x 2 MiB reserved, 3 wanted: nothing to do" <<<"$p2" ||
		fail "second reservation not idempotent: $out"
	grep -q "hugetlbfs: mounted on $TMP/huge" <<<"$p2" || fail "hugetlbfs not found again: $out"
	grep -qx "=== nr 3" <<<"$out" || fail "the stand-in file does not hold 3: $out"
	grep -qx "=== huge hugetlbfs" <<<"$out" || fail "no hugetlbfs mount seen: $out"
	step "real runs (private mount namespace): bpffs mounted once then found, 3 pages reserved once, hugetlbfs mounted once"
	ran=$((ran + 1))
fi

((ran > 0)) || skip "neither systemd-analyze nor prepare-host could run here"
echo "PASS $NAME"
