# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Sourced by the NAT tests (test_nat.sh, test_nat_policy.sh,
# test_nat_fragments.sh) after lib.sh: their traffic helper, nat_tool.py
# (its docstring lists the commands), and the services it runs.

NAT_TOOL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nat_tool.py

# natpy_for SECONDS SHORT ARGS...: the helper in namespace SHORT, bounded
# in time.  natpy SHORT ARGS...: the same within 30 s.
natpy_for() {
	local s=$1 n=$2
	shift 2
	fgwait nsx "$n" timeout "$s" "$PC_PYTHON" "$NAT_TOOL" "$@"
}
natpy() { natpy_for 30 "$@"; }

# natpy_start LOG SHORT ARGS...: a service of the helper in namespace SHORT
# for the rest of the test (killed with the namespace, or after 600 s),
# its output in LOG.  Returns 0 once it prints "listening", 1 if it does
# not within 5 s.
natpy_start() {
	local log=$1 n=$2 t
	shift 2
	: >"$log"
	nsx "$n" timeout 600 "$PC_PYTHON" "$NAT_TOOL" "$@" >"$log" 2>&1 &
	for ((t = 0; t < 50; t++)); do
		grep -q '^listening' "$log" && return 0
		sleep 0.1
	done
	return 1
}

# svc_start NAME SHORT SPEC...: a logging echo service (nat_tool.py serve)
# in SHORT; its log is $PC_TMP/svc-NAME.log.
svc_start() {
	local name=$1 n=$2 log=$PC_TMP/svc-$1.log
	shift 2
	natpy_start "$log" "$n" serve 600 "$@" ||
		fail "service $name in $(ns "$n") did not start: $(cat "$log")"
}
svc_log() { grep -v '^listening' "$PC_TMP/svc-$1.log" || true; }
svc_lines() { svc_log "$1" | wc -l; }
