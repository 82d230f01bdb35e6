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
# and the helpers the test files share (status_json, fetch_ports,
# require_http, policy_service, ...), each described where it is defined.
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

# ---------------------------------------------------------------------------
# Helpers shared by the test files.

# jq_svc VIP PROTO PORT: jq filter for that service in `status` / `stats` output.
jq_svc() { echo "(.vips[] | select(.address == \"$1\") | .services[] | select(.protocol == \"$2\" and .port == $3))"; }

# status_json FILE: the canonical (sorted keys) `vipxdp -j status` in FILE.
status_json() {
	cli 0 -j status
	jq -S . "$OUT" >"$1" || fail "status output is not JSON"
}

# dump_reasons: the non-zero reason counters, for failure diagnostics.
dump_reasons() {
	vx_cli -j stats >"$T/stats.json" 2>&1
	echo "non-zero reason counters: $(jq -c '.reasons | with_entries(select(.value.packets > 0))' "$T/stats.json" 2>&1)"
}

# fetch_ports URL FIRST COUNT: one HTTP request per client source port
# FIRST..FIRST+COUNT-1, all from a single curl process (one operation per
# port), each under curl --max-time $FETCH_MAX_TIME (default 3), the whole
# batch under $FETCH_TIMEOUT s (default 120). Prints "PORT RESULT BODY" per
# request, in port order; RESULT is HTTP_CODE/CURL_EXIT_CODE, "200/0" for a
# complete answer; a request that got no body has body "-".
fetch_ports() {
	local url=$1 first=$2 count=$3 p i args=() codes=()
	for ((p = first; p < first + count; p++)); do
		rm -f "$T/body.$p"
		[ ${#args[@]} -gt 0 ] && args+=(--next)
		args+=(-g -s --max-time "${FETCH_MAX_TIME:-3}" --local-port "$p" -o "$T/body.$p" -w '%{http_code}/%{exitcode}\n' "$url")
	done
	vx_in "$NS_CLIENT" "${FETCH_TIMEOUT:-120}" curl "${args[@]}" >"$T/fetch.out" 2>"$T/fetch.err"
	mapfile -t codes <"$T/fetch.out"
	for ((i = 0; i < count; i++)); do
		p=$((first + i))
		echo "$p ${codes[i]:-000/-} $(cat "$T/body.$p" 2>/dev/null || echo -)"
	done
}

# require_http URL [REGEX]: one request must succeed with a body matching
# REGEX (without REGEX: a backend's name "beN"), else the test fails at once
# (instead of waiting out the time limit of every request of a batch).
require_http() {
	local body
	body=$(vx_in "$NS_CLIENT" 10 curl -g -s --max-time 3 "$1")
	if [ $# -lt 2 ]; then
		[[ $body =~ ^be[0-9]+$ ]] || fail "no HTTP answer through $1"
		return 0
	fi
	echo "$1 -> $body"
	[[ $body =~ $2 ]] || fail "no HTTP answer matching /$2/ through $1 (got '$body')"
}

# expect_all_ok FETCH_OUTPUT WHAT: every request completely answered (HTTP
# 200, curl exit 0) by a backend.
expect_all_ok() {
	local bad
	bad=$(awk '$2 != "200/0" || $3 !~ /^be[0-9]+$/' <<<"$1")
	[ -z "$bad" ] || fail "$2: failed requests (port http_code/curl_exit body):"$'\n'"$bad"
}

# distribution FETCH_OUTPUT: "be1=N be2=N ..." of the answering backends.
distribution() {
	awk '$2 == "200/0" { n[$3]++ } END { for (b in n) printf "%s=%d\n", b, n[b] }' <<<"$1" |
		sort | tr '\n' ' '
}

# wait_requests FILE N SECS: wait (at most SECS s) until the client loop
# writing FILE has finished N requests (one HTTP_CODE/CURL_EXIT_CODE line
# each); else say so and return 1.
wait_requests() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(grep -Ecx '[0-9]{3}/[0-9]+' "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "client loop: fewer than $2 requests after $3 s"
	return 1
}

# policy_interfaces: a policy's "interfaces:" section, every lb interface
# in native mode.
policy_interfaces() {
	local ifc
	echo "interfaces:"
	for ifc in $(vx_lb_ifaces); do
		echo "  - {name: $ifc, mode: native}"
	done
}

# policy_service PROTO PORT FAMILY BE_PORT "N[:WEIGHT] ..." [LINE...]: one
# entry of a VIP's "services:" list: PROTO/PORT to backends N (beN's IPv4
# or IPv6 address, FAMILY 4 or 6) on BE_PORT, with a weight where given;
# each LINE ("key: value") goes after the port.
policy_service() {
	local proto=$1 port=$2 family=$3 be_port=$4 bes=$5 line s addr
	shift 5
	echo "      - protocol: $proto"
	echo "        port: $port"
	for line in "$@"; do
		echo "        $line"
	done
	echo "        backends:"
	for s in $bes; do
		if [ "$family" = 6 ]; then
			addr="\"$(vx_be6 "${s%%:*}")\""
		else
			addr=$(vx_be4 "${s%%:*}")
		fi
		if [[ $s == *:* ]]; then
			echo "          - {address: $addr, port: $be_port, weight: ${s#*:}}"
		else
			echo "          - {address: $addr, port: $be_port}"
		fi
	done
}

vx_prereqs() {
	local c
	[ "$(id -u)" -eq 0 ] || {
		echo "not root"
		return 1
	}
	for c in ip ethtool curl jq python3 clang timeout mount umount pgrep ping; do
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
	# A test file may extend the test bed (in this shell, so that what it
	# makes with vx_ns_add is cleaned up): it defines vx_setup_extra.
	if declare -F vx_setup_extra >/dev/null; then
		vx_setup_extra || return 1
	fi
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
			# On stderr too, which prove shows without -v: the reason
			# reaches CI's log.
			sed "s/^/# $fn: /" "$log" >&2
		fi
		echo "# $fn: $((SECONDS - start))s"
	done
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
