#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build and run an in-process benchmark (perf/README.md), save its output
# as perf/results/<date>_<time>[_nat].txt (.json with --json) and print it.
#
#   tools/bench.sh [tunnel|nat] [benchmark options] [-- EAL options]
#   e.g.  tools/bench.sh                      # bench_tunnel
#         tools/bench.sh --runs 9 --time 1
#         tools/bench.sh --json
#         tools/bench.sh nat                  # bench_nat
#         tools/bench.sh nat --flows 16384
#         tools/bench.sh -- -l 1 --no-huge -m 512 --no-shconf --no-pci \
#                           --vdev net_null0 --vdev net_null1
#
# BUILD_DIR selects the build directory, as for tools/build.sh (default:
# build).  Progress goes to stderr; only the report is saved and printed
# on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
name=bench_tunnel
suffix=
case ${1:-} in
tunnel) shift ;;
nat) name=bench_nat suffix=_nat; shift ;;
esac
bin=$dir/perf/$name

# Set-up chatter goes to stderr: stdout is the report alone, so that
# `tools/bench.sh --json | jq ...` works.
tools/install-deps.sh >&2
if ! BUILD_DIR=$dir tools/build.sh >&2; then
	# The benchmark links only the fast path and the protocol core; a
	# target elsewhere that does not build yet must not stop it.
	echo "bench: the full build failed; building only perf/$name" >&2
	ninja -C "$dir" "perf/$name" >&2
fi
if [[ ! -x $bin ]]; then
	echo "bench: $bin was not built (it needs libdpdk-dev and liburcu-dev," \
	     "bench_tunnel also libssl-dev; see the meson output)" >&2
	exit 1
fi

ext=txt
for arg in "$@"; do
	[[ $arg == -- ]] && break
	[[ $arg == --json ]] && ext=json
done
mkdir -p perf/results
out=perf/results/$(date +%Y-%m-%d_%H%M%S)$suffix.$ext

if ! "$bin" "$@" >"$out"; then
	rm -f "$out"
	echo "bench: $name failed; nothing saved" >&2
	exit 1
fi
cat "$out"
echo "bench: saved $out" >&2
