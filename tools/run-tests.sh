#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Set up, build and run every Portcullis test (README command 2, and what
# .ci/run calls):
#   1. Debian packages (tools/install-deps.sh)
#   2. build/ and its unit suite
#   3. build-asan/ (ASan + UBSan, no daemon) and its unit suite
#   3b. build-fuzz/: every libFuzzer harness for $FUZZ_SECONDS (default 30)
#   4. every tests/interop/test_*.sh, one after the other (they share two
#      cores and must not disturb each other's timing)
# and end with one line "N passed, N failed[, N skipped]" over all of it.
# Exit status is non-zero if anything failed.
#
#   --quick   skip the 150 s rekey test (development only; CI runs all)
# GATEWAY=reference runs the interop tests against wireguard-go instead of
# portcullisd (checks the harness itself).
set -uo pipefail   # no -e: a failing step is counted, and the rest still runs
cd "$(dirname "$0")/.." || exit 1

quick=0
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	*) echo "usage: $0 [--quick]" >&2; exit 2 ;;
	esac
done

passed=0 failed=0 skipped=0
declare -a failures=()
child=""
# Ctrl-C reaches only our process group: hand it to the running interop
# test (see below) and let it clean up before we stop.
on_signal() {
	if [[ -n $child ]]; then
		kill -INT "$child" 2>/dev/null
		wait "$child"
	fi
	echo "run-tests: interrupted"
	exit 130
}
trap on_signal INT TERM

section() { printf '\n=== %s\n' "$*"; }
failed_step() { failed=$((failed + 1)); failures+=("$1"); echo "run-tests: FAILED: $1"; }

# count_meson DIR LABEL: add the results of the last `meson test` in DIR.
# The JSON log has one object per test; OK and expected failures pass.
count_meson() {
	local counts p f s
	counts=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
bad = []
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    r = t.get("result", "")
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else:
        f += 1; bad.append(t.get("name", "?"))
print(p, f, s, " ".join(bad))
PY
	) || counts="0 1 0 testlog"
	read -r p f s bad <<<"$counts"
	passed=$((passed + p)) skipped=$((skipped + s))
	failed=$((failed + f))
	[[ -n ${bad:-} ]] && for t in $bad; do failures+=("$2: $t"); done
	echo "run-tests: $2: $p passed, $f failed, $s skipped"
}

# unit_suite DIR LABEL
unit_suite() {
	rm -f "$1/meson-logs/testlog.json"
	meson test -C "$1" --suite unit --print-errorlogs
	local rc=$?
	count_meson "$1" "$2"
	# meson failing without a failed test (a build error, a missing suite)
	# must not pass silently.
	if ((rc != 0)) && [[ ! -s $1/meson-logs/testlog.json ]]; then
		failed_step "$2: meson test exited $rc"
	fi
}

section "dependencies"
tools/install-deps.sh || { failed_step "install-deps"; }

section "build (build/)"
if tools/build.sh; then
	section "unit tests (build/)"
	unit_suite build unit
else
	failed_step "build"
fi

section "ASan/UBSan build (build-asan/)"
# No daemon: DPDK under ASan needs its own care; the protocol core is what
# the sanitizers are for.  b_lundef=false because the sanitizer runtimes
# resolve symbols at load time.
asan_ok=1
if [[ ! -f build-asan/meson-private/coredata.dat ]]; then
	meson setup build-asan -Ddaemon=disabled -Db_sanitize=address,undefined -Db_lundef=false ||
		asan_ok=0
fi
if ((asan_ok)) && ninja -C build-asan; then
	section "unit tests (build-asan/)"
	unit_suite build-asan unit-asan
else
	failed_step "asan build"
fi

section "fuzzing (build-fuzz/, ${FUZZ_SECONDS:=30} s per harness)"
# Coverage-instrumented everywhere (fuzzer-no-link), so the parsers guide
# the fuzzer; a crash or sanitizer report fails the step.
fuzz_ok=1
if [[ ! -f build-fuzz/meson-private/coredata.dat ]]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Ddaemon=disabled -Dtests=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null || fuzz_ok=0
fi
if ((fuzz_ok)) && ninja -C build-fuzz >/dev/null; then
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[[ -x $f && -f $f ]] || continue
		name=$(basename "$f")
		corpus=$(mktemp -d)
		seeds=tests/fuzz/corpus/${name#fuzz_}
		[[ -d $seeds ]] && cp "$seeds"/* "$corpus"/
		if "$f" -max_total_time="$FUZZ_SECONDS" -max_len=8192 "$corpus" \
			>"$corpus.log" 2>&1; then
			echo "PASS $name: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$corpus.log")"
			passed=$((passed + 1))
		else
			tail -n 40 "$corpus.log"
			failed_step "$name (crash input and log above)"
		fi
		rm -rf "$corpus" "$corpus.log"
	done
else
	failed_step "fuzz build"
fi

section "interop tests (GATEWAY=${GATEWAY:-portcullisd})"
shopt -s nullglob
for t in tests/interop/test_*.sh; do
	name=$(basename "$t" .sh)
	if ((quick)) && [[ $name == test_rekey ]]; then
		echo "SKIP $name: --quick"
		skipped=$((skipped + 1))
		continue
	fi
	printf -- '--- %s\n' "$name"
	# timeout puts the test in a process group of its own and passes on the
	# signals it gets (and its own TERM at the limit) to the whole group, so
	# the test's trap cleans up either way.  Run in the background because
	# bash runs our INT trap at once only while in `wait`.
	timeout -k 30 600 bash "$t" &
	child=$!
	wait "$child"
	rc=$?
	child=""
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*)
		((rc == 124)) && echo "run-tests: $name timed out"
		failed=$((failed + 1))
		failures+=("$name") ;;
	esac
done

section "summary"
for f in "${failures[@]}"; do echo "failed: $f"; done
line="$passed passed, $failed failed"
((skipped)) && line+=", $skipped skipped"
echo "$line"
((failed == 0))
