#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Configure (once) and build Portcullis into build/ (or $BUILD_DIR).
# An existing build directory keeps its options: ninja re-runs meson itself
# when meson.build files change.  Extra arguments go to `meson setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}

if [[ ! -f $dir/meson-private/coredata.dat ]]; then
	# debugoptimized: optimised like a release, with symbols and asserts
	# for the tests and for readable stack traces.
	meson setup "$dir" -Dbuildtype=debugoptimized "$@"
fi
ninja -C "$dir"
