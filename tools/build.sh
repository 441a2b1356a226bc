#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Configure and build Portcullis into build/ (or $BUILD_DIR), with the daemon
# and the tests required: a missing dependency is an error here, not a
# silently smaller build.  An existing build directory is reconfigured to
# those options (cheap when nothing changed).  Extra arguments go to meson.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
# debugoptimized: optimised like a release, with symbols and asserts for the
# tests and for readable stack traces.
opts=(-Dbuildtype=debugoptimized -Ddaemon=enabled -Dtests=enabled "$@")

if [[ -f $dir/meson-private/coredata.dat ]]; then
	meson configure "$dir" "${opts[@]}" >/dev/null
else
	meson setup "$dir" "${opts[@]}"
fi
ninja -C "$dir"
