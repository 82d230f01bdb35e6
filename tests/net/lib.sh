# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Harness for the network tests, sourced by tests/net/test_*.sh. A test file
# defines functions, registers them in order with
#     vx_test FUNCTION "description"
# and ends with `vx_main "$@"` (arguments: names of the tests to run, all
# when none), which:
#   - checks the prerequisites (root, ip, ethtool, curl, jq, python3,
#     clang, timeout, build/vipxdp); when one is missing the whole file is skipped
#     (TAP "1..0 # SKIP reason");
#   - installs the cleanup trap (EXIT INT TERM HUP PIPE): every namespace,
#     process, mount and file of the run is removed, also when interrupted
#     or when the reader of its output (prove) goes away;
#   - builds the topology of tests/net/topology.sh and starts the backends'
#     HTTP servers ("Bail out!" if that fails);
#   - runs each test function in a subshell, in order, with its output
#     captured: "ok N - description" or "not ok N - description" followed by
#     the captured output as "# " lines (on failure only, or always with
#     VX_VERBOSE=1); the plan "1..N" comes last.
#
# Inside a test:
#   fail MESSAGE        end the test as failed
#   skip REASON         end the test as skipped ("ok N - ... # SKIP REASON")
#   check_rc RC CMD...  run CMD, stdout to $OUT and stderr to $ERR (files), both
#                       also echoed to the log; fail unless it exits with RC
#   cli RC ARGS...      check_rc for vipxdp in the lb namespace (--bpffs given)
#   vx_in NS SECS CMD   run CMD in a namespace under a time limit
#   $T                  a scratch directory of the test
# Each test is limited to VX_TEST_TIMEOUT seconds (default 150).
#
# Environment: VX_VERBOSE=1 shows every test's output, VX_KEEP=1 keeps the
# run directory (logs) after the run, VIPXDP=path selects the binary.

set -u

# shellcheck source=tests/net/topology.sh
. "$(dirname "${BASH_SOURCE[0]}")/topology.sh"

VX_SKIP_RC=77
VX_TESTS=()
declare -A VX_DESC=()
VX_TEST_PID=

vx_test() {
	VX_TESTS+=("$1")
	VX_DESC[$1]=$2
}

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "$*" >"$T/.skip"
	exit "$VX_SKIP_RC"
}

# check_rc RC CMD...: run CMD; stdout in $OUT, stderr in $ERR.
check_rc() {
	local want=$1 rc
	shift
	echo "+ $*"
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	sed 's/^/  stdout: /' "$OUT"
	sed 's/^/  stderr: /' "$ERR"
	echo "  exit: $rc"
	[ "$rc" -eq "$want" ] || fail "'$*' exited with $rc, expected $want"
}

# cli RC ARGS...: vipxdp ARGS in the lb namespace, expecting exit code RC.
cli() {
	local want=$1
	shift
	check_rc "$want" vx_cli "$@"
}

# The stdout / stderr of the last check_rc, as text.
out() { cat "$OUT"; }
err() { cat "$ERR"; }

# assert_match TEXT REGEX WHAT (extended regex, case-insensitive)
assert_match() {
	grep -Eiq -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# jq_check FILE FILTER WHAT: FILE holds exactly one JSON value and FILTER,
# applied to it, yields at least one result and only true ones; else the
# test fails. (Plain `jq -e` passes on empty input or an empty stream.)
jq_check() {
	local file=$1 filter=$2 what=$3
	jq -e -s "length == 1 and ([.[0] | ($filter)] | length > 0 and all)" "$file" >/dev/null 2>&1 || {
		echo "jq filter failed: $filter"
		jq . "$file" 2>&1 | head -50
		fail "$what"
	}
}

vx_prereqs() {
	local c
	[ "$(id -u)" -eq 0 ] || {
		echo "not root"
		return 1
	}
	for c in ip ethtool curl jq python3 clang timeout mount umount pgrep; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "$c not installed"
			return 1
		}
	done
	[ -x "$VIPXDP" ] || {
		echo "$VIPXDP not built (run make)"
		return 1
	}
	grep -qw bpf /proc/filesystems || {
		echo "kernel without bpffs"
		return 1
	}
	return 0
}

vx_on_signal() {
	trap '' INT TERM HUP PIPE
	echo "# interrupted by SIG$1, cleaning up" >&2
	# No "Killed" job notices from here on.
	exec 2>/dev/null
	[ -n "$VX_TEST_PID" ] && vx_kill_tree "$VX_TEST_PID"
	vx_cleanup
	trap - EXIT
	case $1 in
	HUP) exit 129 ;;
	INT) exit 130 ;;
	PIPE) exit 141 ;;
	*) exit 143 ;;
	esac
}

vx_on_exit() {
	[ -n "$VX_TEST_PID" ] && vx_kill_tree "$VX_TEST_PID"
	vx_cleanup
}

vx_setup() {
	vx_mount_bpffs || {
		echo "cannot mount a bpffs at $VX_BPFFS"
		return 1
	}
	vx_topology_create || return 1
	vx_backends_start || return 1
}

# Run FUNCTION in a subshell with its output to FILE, within the time limit.
# Returns its exit code (124 on timeout).
vx_run_one() {
	local fn=$1 log=$2 limit=${VX_TEST_TIMEOUT:-150} deadline rc
	T=$VX_RUN/tests/$fn
	mkdir -p "$T"
	OUT=$T/.out
	ERR=$T/.err
	(
		trap - EXIT INT TERM HUP PIPE
		"$fn"
	) >"$log" 2>&1 </dev/null &
	VX_TEST_PID=$!
	deadline=$((SECONDS + limit))
	while kill -0 "$VX_TEST_PID" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "TIMEOUT: test still running after ${limit}s, killed" >>"$log"
			exec 3>&2 2>/dev/null
			vx_kill_tree "$VX_TEST_PID"
			wait "$VX_TEST_PID"
			exec 2>&3 3>&-
			VX_TEST_PID=
			return 124
		fi
		sleep 0.1
	done
	wait "$VX_TEST_PID"
	rc=$?
	VX_TEST_PID=
	return "$rc"
}

vx_main() {
	local why fn n=0 rc log start failed=0 sel
	# Arguments: run only the named tests (in file order), e.g.
	#   tests/net/test_dnat.sh test_load_native test_http_ipv4_arp
	if [ $# -gt 0 ]; then
		sel=()
		for fn in "${VX_TESTS[@]}"; do
			[[ " $* " == *" $fn "* ]] && sel+=("$fn")
		done
		VX_TESTS=("${sel[@]}")
	fi
	why=$(vx_prereqs) || {
		echo "1..0 # SKIP $why"
		exit 0
	}
	trap 'vx_on_signal INT' INT
	trap 'vx_on_signal TERM' TERM
	trap 'vx_on_signal HUP' HUP
	# prove gone (stdout closed): clean up instead of dying silently.
	trap 'vx_on_signal PIPE' PIPE
	trap vx_on_exit EXIT
	vx_run_init net || {
		echo "Bail out! cannot create a run directory"
		exit 1
	}
	echo "# run $VX_ID in $VX_RUN: namespaces $NS_CLIENT $NS_LB ${NS_BE[*]}"
	log=$VX_RUN/setup.log
	if ! vx_setup >"$log" 2>&1; then
		sed 's/^/# /' "$log"
		echo "Bail out! test bed setup failed"
		exit 1
	fi
	for fn in "${VX_TESTS[@]}"; do
		n=$((n + 1))
		log=$VX_RUN/$n.log
		start=$SECONDS
		vx_run_one "$fn" "$log"
		rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "ok $n - ${VX_DESC[$fn]}"
			[ "${VX_VERBOSE:-0}" = 1 ] && sed 's/^/# /' "$log"
		elif [ "$rc" -eq "$VX_SKIP_RC" ]; then
			echo "ok $n - ${VX_DESC[$fn]} # SKIP $(cat "$T/.skip" 2>/dev/null)"
			[ "${VX_VERBOSE:-0}" = 1 ] && sed 's/^/# /' "$log"
		else
			failed=$((failed + 1))
			echo "not ok $n - ${VX_DESC[$fn]}"
			sed 's/^/# /' "$log"
		fi
		echo "# $fn: $((SECONDS - start))s"
	done
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
