#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The health-check daemon `vipxdp run -c FILE` end to end, on the namespace
# test bed of tests/net/topology.sh: backends' HTTP servers stopped and
# restarted, a backend drained under a live connection, SIGHUP with a good
# and with a broken file, kill -9 of the daemon under traffic, every backend
# down (all_down serve-all and drop), SIGTERM, the route watch (rtnetlink
# changes move vipxdp_route's generation; `conntrack list` shows the next
# hops flows use; SIGTERM turns the watch off).
#
# Each test starts its own daemon (log in the test's directory) with a
# policy written for it, and stops it (and every process it started) when it
# ends, also when it fails; the data plane (pinned maps, attached programs)
# carries over from test to test like in production. Each test first makes
# sure that all three backends' HTTP servers answer and that the daemon sees
# every backend up, so any test can run alone:
#     tests/net/test_health.sh test_drain
#
# Health checks: HTTP GET / every 200 ms, timeout 150 ms, fall 2, rise 2, so
# a backend goes down at most about 400 ms after its server stops and comes
# back about 400 ms after it answers again; the tests allow interval x count
# + 1 s.
#
# Client source ports given explicitly (curl --local-port) come from
# 61000-62999, above the kernel's ephemeral range, each used once in a run:
# every such connection is a new flow. TAP on stdout; see tests/net/lib.sh.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

URL4="http://$VX_VIP4/"
URL6="http://[$VX_VIP6]/"
ECHO_PORT=7000
HC_INTERVAL_MS=200
HC_TIMEOUT_MS=150
HC_RISE=2
HC_FALL=2
# Out of rotation / back in rotation within interval x count + 1 s.
DOWN_LIMIT_MS=$((HC_INTERVAL_MS * HC_FALL + 1000))
UP_LIMIT_MS=$((HC_INTERVAL_MS * HC_RISE + 1000))
# jq: the services in `status` output.
JQ_SVC4=$(jq_svc "$VX_VIP4" tcp 80)
JQ_SVC6=$(jq_svc "$VX_VIP6" tcp 80)
JQ_ECHO=$(jq_svc "$VX_VIP4" tcp "$ECHO_PORT")
# Each request of fetch_ports (lib.sh) under curl --max-time 2.
FETCH_MAX_TIME=2

# jq: backend N of the IPv4 / IPv6 HTTP service, of the echo service.
jq_be4() { echo "($JQ_SVC4 | .backends[] | select(.address == \"198.19.$1.1\"))"; }
jq_be6() { echo "($JQ_SVC6 | .backends[] | select(.address == \"2001:db8:2:$1::1\"))"; }
jq_echo() { echo "($JQ_ECHO | .backends[] | select(.address == \"198.19.$1.1\"))"; }

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# ---------------------------------------------------------------------------
# Per-test set-up and clean-up. A test calls test_begin first: its EXIT trap
# (the test runs in a subshell) stops the daemon and kills every process the
# test registered with bg_add. Anything else left in the namespaces is
# killed by lib.sh's clean-up at the end of the run.

BG_PIDS=()
DAEMON_PID=
DAEMON_LOG=

bg_add() {
	BG_PIDS+=("$1")
	VX_PIDS+=("$1")
}

test_end() {
	local pid
	[ -n "$DAEMON_PID" ] && daemon_stop >/dev/null 2>&1
	for pid in "${BG_PIDS[@]}"; do
		vx_kill_tree "$pid"
		wait "$pid" 2>/dev/null
	done
	BG_PIDS=()
	if [ -n "$DAEMON_LOG" ] && [ -s "$DAEMON_LOG" ]; then
		echo "--- daemon log ($DAEMON_LOG):"
		tail -n 40 "$DAEMON_LOG"
	fi
}

test_begin() {
	trap test_end EXIT
}

# ---------------------------------------------------------------------------
# Backends' HTTP servers (started by lib.sh; stopped and restarted here).

# be_answers N: backend N's HTTP server answers on its own address.
be_answers() {
	[ "$(vx_in "${NS_BE[$1]}" 3 curl -s --max-time 1 "http://$(vx_be4 "$1"):$VX_BE_PORT/")" = "be$1" ]
}

# be_server_pids N: the HTTP server processes in backend N's namespace.
be_server_pids() {
	local pid
	for pid in $(ip netns pids "${NS_BE[$1]}" 2>/dev/null); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'http\.server' && echo "$pid"
	done
}

# be_stop N...: kill backend N's HTTP server (each N's); returns once
# connections to them are refused (at most 5 s).
be_stop() {
	local n pids i rc
	for n in "$@"; do
		pids=$(be_server_pids "$n")
		[ -n "$pids" ] || fail "no HTTP server running in ${NS_BE[n]}"
		# shellcheck disable=SC2086
		kill -KILL $pids
	done
	for n in "$@"; do
		for ((i = 0; i < 50; i++)); do
			vx_in "${NS_BE[n]}" 3 curl -s --max-time 1 -o /dev/null \
				"http://$(vx_be4 "$n"):$VX_BE_PORT/"
			rc=$?
			[ "$rc" -eq 7 ] && break
			sleep 0.1
		done
		[ "$rc" -eq 7 ] || fail "be$n's HTTP server still answers 5 s after kill -9 (curl exit $rc)"
	done
}

# be_start N...: start backend N's HTTP server (each N's) unless it answers
# already, with topology.sh's vx_backend_serve, all at once, and wait (at
# most 15 s) until they answer. The servers outlive the test (they are part
# of the test bed); lib.sh's clean-up kills them. Sets BE_READY_MS to the
# time all were seen answering.
be_start() {
	local n i started=()
	for n in "$@"; do
		be_answers "$n" && continue
		vx_backend_serve "$n"
		started+=("$n")
	done
	for n in "${started[@]}"; do
		for ((i = 0; i < 300; i++)); do
			be_answers "$n" && break
			sleep 0.05
		done
		if [ "$i" -ge 300 ]; then
			cat "$VX_RUN/be$n.log"
			fail "be$n's HTTP server does not answer 15 s after start"
		fi
	done
	BE_READY_MS=$(now_ms)
}

# ---------------------------------------------------------------------------
# Policy and daemon.

# write_policy FILE [KEY=VALUE...]: the daemon's policy: every lb interface
# (native), the IPv4 and IPv6 HTTP services (port 80 to the backends' :8080)
# with HTTP health checks. Keys:
#   v4="N:WEIGHT ..."   backends of 198.18.0.100:80/tcp (default all three, 100)
#   v6="N:WEIGHT ..."   backends of [2001:db8:1::100]:80/tcp (default all three)
#   echo="N:WEIGHT ..." adds 198.18.0.100:7000/tcp to beN:7000, TCP checks
#   all_down=MODE       all_down of the HTTP services (default: key absent)
write_policy() {
	local file=$1 v4="1:100 2:100 3:100" v6="1:100 2:100 3:100" echo_bes='' all_down='' kv hc
	local -a http
	shift
	for kv in "$@"; do
		case $kv in
		v4=*) v4=${kv#v4=} ;;
		v6=*) v6=${kv#v6=} ;;
		echo=*) echo_bes=${kv#echo=} ;;
		all_down=*) all_down=${kv#all_down=} ;;
		*) fail "write_policy: bad argument $kv" ;;
		esac
	done
	hc="interval: ${HC_INTERVAL_MS}ms, timeout: ${HC_TIMEOUT_MS}ms, rise: $HC_RISE, fall: $HC_FALL"
	# The lines of both HTTP services after their port.
	http=(${all_down:+"all_down: $all_down"} "health: {type: http, path: /, expect: 200, $hc}")
	{
		echo "# test_health.sh: generated policy"
		policy_interfaces
		echo "vips:"
		echo "  - address: $VX_VIP4"
		echo "    name: web"
		echo "    services:"
		policy_service tcp 80 4 "$VX_BE_PORT" "$v4" "${http[@]}"
		if [ -n "$echo_bes" ]; then
			policy_service tcp "$ECHO_PORT" 4 "$ECHO_PORT" "$echo_bes" "health: {type: tcp, $hc}"
		fi
		echo "  - address: $VX_VIP6"
		echo "    name: web6"
		echo "    services:"
		policy_service tcp 80 6 "$VX_BE_PORT" "$v6" "${http[@]}"
	} >"$file"
}

# daemon_start FILE [LOG]: start `vipxdp run -c FILE` in the lb namespace,
# stdout and stderr to LOG (default $T/daemon.log); wait (at most 15 s) for
# its "running with" line. `ip netns exec` execs the daemon: $! is its pid.
daemon_start() {
	local file=$1 i
	DAEMON_LOG=${2:-$T/daemon.log}
	ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$VX_BPFFS" run -c "$file" </dev/null >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	VX_PIDS+=("$DAEMON_PID")
	for ((i = 0; i < 150; i++)); do
		grep -q "vipxdp: running with $file" "$DAEMON_LOG" && break
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID"
			echo "daemon exited with $?"
			DAEMON_PID=
			fail "the daemon did not start"
		fi
		sleep 0.1
	done
	[ "$i" -lt 150 ] || fail "no 'running with' line 15 s after starting the daemon"
	[ "$(cat "/proc/$DAEMON_PID/comm" 2>/dev/null)" = vipxdp ] || fail "pid $DAEMON_PID is not vipxdp"
	echo "daemon pid $DAEMON_PID started, log $DAEMON_LOG"
}

# daemon_alive: the daemon process exists and is not a zombie.
daemon_alive() {
	[ -n "$DAEMON_PID" ] && [ -r "/proc/$DAEMON_PID/stat" ] &&
		! awk '{ exit !($3 == "Z") }' "/proc/$DAEMON_PID/stat" 2>/dev/null
}

# daemon_stop: SIGTERM, wait at most 5 s (then SIGKILL). Sets DAEMON_RC.
daemon_stop() {
	local i
	DAEMON_RC=
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		daemon_alive || break
		sleep 0.1
	done
	daemon_alive && kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_RC=$?
	DAEMON_PID=
}

# daemon_hup: SIGHUP, then wait (at most 10 s) for the reload's outcome line
# ("reloaded FILE..." or "reload of FILE failed..."); prints the new lines.
daemon_hup() {
	local n i
	n=$(grep -cE 'vipxdp: (reloaded |reload of )' "$DAEMON_LOG")
	kill -HUP "$DAEMON_PID" || fail "cannot signal the daemon"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -cE 'vipxdp: (reloaded |reload of )' "$DAEMON_LOG")" -gt "$n" ] && break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || fail "no reload outcome in the log 10 s after SIGHUP"
	daemon_alive || fail "the daemon died on SIGHUP"
}

# wait_status FILTER LIMIT_MS: poll `vipxdp -j status` until the jq FILTER
# is true; SEEN_MS is the time (now_ms) the status that satisfied it was
# read (taken before jq runs, so that jq's time is not counted). Returns 1
# after LIMIT_MS (with the last status in $T/status.json).
wait_status() {
	local filter=$1 limit=$2 start
	start=$(now_ms)
	while :; do
		vx_cli -j status >"$T/status.json" 2>"$T/status.err"
		SEEN_MS=$(now_ms)
		jq -e "$filter" "$T/status.json" >/dev/null 2>&1 && return 0
		[ $((SEEN_MS - start)) -gt "$limit" ] && return 1
		sleep 0.02
	done
}

# status_brief FILE: `vipxdp -j status` reduced to what must not change by
# itself (no probe times): services with generation, backends with weight,
# state, health and transitions.
status_brief() {
	cli 0 -j status
	jq -S '[.vips[] | {address, services: [.services[] | {protocol, port, generation,
		backends: [.backends[] | {address, port, weight, state, health, health_transitions}]}]}]' \
		"$OUT" >"$1" || fail "status output is not JSON"
}

# setup_daemon [KEY=VALUE...]: every backend's HTTP server answers, the
# policy (write_policy KEY=VALUE...) is in $T/policy.yaml and a daemon runs
# it, and every backend of both HTTP services is active and up (at most 5 s).
setup_daemon() {
	be_start 1 2 3
	write_policy "$T/policy.yaml" "$@"
	daemon_start "$T/policy.yaml"
	wait_status "[$JQ_SVC4, $JQ_SVC6 | .backends[] | select(.weight > 0) | .state == \"active\" and .health == \"up\"] | length > 0 and all" 5000 || {
		jq . "$T/status.json"
		fail "backends not all active and up 5 s after the daemon started"
	}
}

# ---------------------------------------------------------------------------
# Clients.

# expect_none_from FETCH_OUTPUT beN WHAT
expect_none_from() {
	local n
	n=$(awk -v b="$2" '$3 == b' <<<"$1" | wc -l)
	[ "$n" -eq 0 ] || fail "$3: $n requests answered by $2"
}

# Echo service for the drain test: `echo.py server NAME PORT` greets every
# connection with "NAME\n" and echoes its lines; `echo.py hold VIP PORT
# SPORT COUNT GAP` connects from SPORT, prints the greeting, then COUNT
# times sends a line and checks its echo, GAP seconds apart (exit 1 and
# "FAIL" on the first error); `echo.py greet VIP PORT FIRST COUNT` opens
# COUNT connections from ports FIRST.. and prints "PORT GREETING" each.
write_echo_py() {
	cat >"$1" <<'EOF'
import socket, socketserver, sys, time

def server(name, port):
    class H(socketserver.StreamRequestHandler):
        def handle(self):
            try:
                self.wfile.write(("%s\n" % name).encode())
                for line in self.rfile:
                    self.wfile.write(line)
            except OSError:
                pass
    class S(socketserver.ThreadingTCPServer):
        address_family = socket.AF_INET6
        allow_reuse_address = True
        daemon_threads = True
    S(("::", port), H).serve_forever()

def connect(vip, port, sport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.bind(("0.0.0.0", sport))
    s.connect((vip, port))
    return s, s.makefile("rb")

def hold(vip, port, sport, count, gap):
    try:
        s, f = connect(vip, port, sport)
        print("greeting", f.readline().decode().strip(), flush=True)
        for i in range(count):
            s.sendall(("ping %d\n" % i).encode())
            r = f.readline().decode().strip()
            if r != "ping %d" % i:
                print("FAIL echo %d: got %r" % (i, r), flush=True)
                return 1
            print("echo", i, "ok", flush=True)
            time.sleep(gap)
        s.close()
    except OSError as e:
        print("FAIL", e, flush=True)
        return 1
    print("done", flush=True)
    return 0

def greet(vip, port, first, count):
    for p in range(first, first + count):
        try:
            s, f = connect(vip, port, p)
            print(p, f.readline().decode().strip() or "-", flush=True)
            s.close()
        except OSError as e:
            print(p, "FAIL", e, flush=True)
    return 0

a = sys.argv
if a[1] == "server":
    server(a[2], int(a[3]))
elif a[1] == "hold":
    sys.exit(hold(a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6])))
elif a[1] == "greet":
    sys.exit(greet(a[2], int(a[3]), int(a[4]), int(a[5])))
EOF
}

# ---------------------------------------------------------------------------
# Tests.

# A backend whose HTTP server dies leaves the rotation within interval x
# fall + 1 s of the kill (status: state "down", in both the IPv4 and the
# IPv6 service, health "down", a last_result naming the failure); from then
# on 200 new connections from distinct source ports all succeed and none
# reaches it (20 over IPv6 too); the daemon logged exactly one "up -> down"
# line for it.
test_backend_down() {
	local t0 res f line
	test_begin
	setup_daemon
	require_http "$URL4"
	t0=$(now_ms)
	be_stop 2
	echo "be2 stopped $(($(now_ms) - t0)) ms after the kill"
	# Both services (IPv4 and IPv6 addresses of the same server).
	wait_status "[$(jq_be4 2), $(jq_be6 2) | .state == \"down\" and .health == \"down\"] | length == 2 and all" "$DOWN_LIMIT_MS" || {
		jq . "$T/status.json"
		fail "be2 not down ${DOWN_LIMIT_MS} ms after its server was killed"
	}
	echo "be2 (IPv4 and IPv6) seen down $((SEEN_MS - t0)) ms after the kill (limit $DOWN_LIMIT_MS)"
	[ $((SEEN_MS - t0)) -le "$DOWN_LIMIT_MS" ] || fail "be2 went down too late"

	res=$(fetch_ports "$URL4" 61000 200)
	echo "IPv4: $(distribution "$res")"
	expect_all_ok "$res" "IPv4 requests after be2 went down"
	expect_none_from "$res" be2 "IPv4 requests after be2 went down"
	res=$(fetch_ports "$URL6" 61200 20)
	echo "IPv6: $(distribution "$res")"
	expect_all_ok "$res" "IPv6 requests after be2 went down"
	expect_none_from "$res" be2 "IPv6 requests after be2 went down"

	cli 0 -j status
	f=$OUT
	jq -c "$(jq_be4 2)" "$f"
	jq_check "$f" "$(jq_be4 2) | .state == \"down\" and .health == \"down\" and
		(.last_result | test(\"refused|connect|timeout\"; \"i\")) and .health_transitions >= 1 and
		.health_since >= $((t0 / 1000 - 1))" \
		"status: be2 down, health down, last_result names the failure, health_since after the kill"
	jq_check "$f" "[$(jq_be4 1), $(jq_be4 3) | .state == \"active\" and .health == \"up\"] | all" \
		"status: be1 and be3 active and up"
	line="health: $VX_VIP4:80/tcp backend $(vx_be4 2):$VX_BE_PORT up -> down ("
	grep -F "$line" "$DAEMON_LOG"
	[ "$(grep -cF "$line" "$DAEMON_LOG")" -eq 1 ] ||
		fail "expected exactly one '$line' line in the daemon log"
}

# A backend's HTTP server restarted: the backend is active and up again
# within interval x rise + 1 s of the server answering, with one "down ->
# up" line logged, and new connections reach it again.
test_backend_up() {
	local t0 res line nlog
	test_begin
	setup_daemon
	be_stop 2
	wait_status "$(jq_be4 2) | .state == \"down\"" 5000 || fail "be2 not down"
	nlog=$(wc -l <"$DAEMON_LOG")
	be_start 2
	t0=$BE_READY_MS
	wait_status "$(jq_be4 2) | .state == \"active\" and .health == \"up\"" "$UP_LIMIT_MS" || {
		jq . "$T/status.json"
		fail "be2 not back ${UP_LIMIT_MS} ms after its server answered again"
	}
	echo "be2 seen up $((SEEN_MS - t0)) ms after its server answered (limit $UP_LIMIT_MS)"
	[ $((SEEN_MS - t0)) -le "$UP_LIMIT_MS" ] || fail "be2 came back too late"
	jq_check "$T/status.json" "$(jq_be4 2) | .last_result | test(\"200\")" "last_result: http status 200"
	line="health: $VX_VIP4:80/tcp backend $(vx_be4 2):$VX_BE_PORT down -> up ("
	tail -n +$((nlog + 1)) "$DAEMON_LOG" >"$T/log.new"
	grep -F "$line" "$T/log.new"
	[ "$(grep -cF "$line" "$T/log.new")" -eq 1 ] ||
		fail "expected exactly one '$line' line in the daemon log since the restart"
	res=$(fetch_ports "$URL4" 61300 60)
	echo "IPv4: $(distribution "$res")"
	expect_all_ok "$res" "requests after be2 came back"
	[ "$(awk '$3 == "be2"' <<<"$res" | wc -l)" -gt 0 ] || fail "no request reached be2 after it came back"
}

# Drain: a TCP connection through the VIP to a backend's echo server sends
# a line every 200 ms for 6 s; once two lines are echoed its backend gets
# weight 0 (SIGHUP with the changed file, in the HTTP and the echo service):
# status shows it "draining" in both, the connection goes on
# to the end with every line echoed, and of 100 new HTTP connections and 30
# new echo connections made meanwhile none reaches the drained backend.
test_drain() {
	local n py hold_pid x i at_drain res v4 echo_bes s
	test_begin
	py=$T/echo.py
	write_echo_py "$py"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ip netns exec "${NS_BE[n]}" python3 "$py" server "be$n" "$ECHO_PORT" \
			</dev/null >"$T/echo-be$n.log" 2>&1 &
		bg_add $!
	done
	# Listening before the daemon's first probe.
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		for ((i = 0; i < 100; i++)); do
			[ -n "$(ip netns exec "${NS_BE[n]}" ss -Hltn "sport = :$ECHO_PORT")" ] && break
			sleep 0.05
		done
		[ "$i" -lt 100 ] || fail "be$n's echo server does not listen"
	done
	setup_daemon echo="1:100 2:100 3:100"
	wait_status "[$JQ_ECHO | .backends[] | .health == \"up\"] | length == 3 and all" 5000 ||
		fail "echo backends not up"
	vx_in "$NS_CLIENT" 20 python3 "$py" hold "$VX_VIP4" "$ECHO_PORT" 62000 30 0.2 >"$T/hold.out" 2>&1 &
	hold_pid=$!
	bg_add "$hold_pid"
	for ((i = 0; i < 50; i++)); do
		grep -q '^echo 1 ok' "$T/hold.out" && break
		sleep 0.1
	done
	cat "$T/hold.out"
	x=$(sed -n 's/^greeting be\([0-9]\)$/\1/p' "$T/hold.out")
	[ -n "$x" ] || fail "the long-lived connection got no greeting"
	grep -q '^echo 1 ok' "$T/hold.out" || fail "the long-lived connection does not echo"
	echo "long-lived connection on be$x; draining be$x"

	v4='' echo_bes=''
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		s=100
		[ "$n" = "$x" ] && s=0
		v4+="$n:$s "
		echo_bes+="$n:$s "
	done
	write_policy "$T/policy.yaml" v4="$v4" echo="$echo_bes"
	daemon_hup
	grep -q "reloaded $T/policy.yaml" "$DAEMON_LOG" || fail "the reload failed"
	wait_status "[$(jq_be4 "$x"), $(jq_echo "$x") | .weight == 0 and .state == \"draining\"] | length == 2 and all" 2000 ||
		fail "be$x not draining after the reload"
	at_drain=$(grep -c '^echo .* ok' "$T/hold.out")
	echo "drained after $at_drain echoes"

	res=$(fetch_ports "$URL4" 61400 100)
	echo "HTTP: $(distribution "$res")"
	expect_all_ok "$res" "new HTTP connections while draining"
	expect_none_from "$res" "be$x" "new HTTP connections while draining"
	vx_in "$NS_CLIENT" 30 python3 "$py" greet "$VX_VIP4" "$ECHO_PORT" 62001 30 >"$T/greet.out" 2>&1
	echo "echo: $(awk '{ print $2 }' "$T/greet.out" | sort | uniq -c | tr '\n' ' ')"
	[ "$(grep -cE '^[0-9]+ be[0-9]$' "$T/greet.out")" -eq 30 ] || {
		cat "$T/greet.out"
		fail "new echo connections failed"
	}
	! grep -q " be$x\$" "$T/greet.out" || fail "a new echo connection reached the drained be$x"

	wait "$hold_pid"
	i=$?
	tail -n 3 "$T/hold.out"
	[ "$i" -eq 0 ] || fail "the long-lived connection broke (exit $i)"
	grep -qx 'done' "$T/hold.out" || fail "the long-lived connection did not end cleanly"
	[ "$(grep -c '^echo .* ok' "$T/hold.out")" -eq 30 ] || fail "not every line was echoed"
	[ "$at_drain" -lt 30 ] || fail "the connection ended before the drain: nothing proven"
	echo "echoes after the drain: $((30 - at_drain))"
}

# SIGHUP with a changed file: first be3 removed from the IPv4 service, then
# put back. Each time the daemon logs "reloaded", keeps running (same pid),
# status shows the file's backends, and traffic follows (no request to be3
# while it is out; be3 answers again once back).
test_reload() {
	local res
	test_begin
	setup_daemon
	write_policy "$T/policy.yaml" v4="1:100 2:100"
	daemon_hup
	grep -E 'reload' "$DAEMON_LOG"
	grep -q "reloaded $T/policy.yaml: 2 services, 5 backends" "$DAEMON_LOG" ||
		fail "no 'reloaded FILE: 2 services, 5 backends' line"
	cli 0 -j status
	jq_check "$OUT" "[$JQ_SVC4 | .backends[].address] | sort == [\"198.19.1.1\", \"198.19.2.1\"]" \
		"status: the IPv4 service has be1 and be2 only"
	jq_check "$OUT" "[$JQ_SVC6 | .backends[]] | length == 3" "status: the IPv6 service keeps three backends"
	res=$(fetch_ports "$URL4" 61600 30)
	echo "IPv4: $(distribution "$res")"
	expect_all_ok "$res" "requests after be3 was removed"
	expect_none_from "$res" be3 "requests after be3 was removed"

	write_policy "$T/policy.yaml"
	daemon_hup
	grep -q "reloaded $T/policy.yaml: 2 services, 6 backends" "$DAEMON_LOG" ||
		fail "no 'reloaded FILE: 2 services, 6 backends' line"
	wait_status "[$JQ_SVC4 | .backends[] | select(.state == \"active\" and .health == \"up\") | .address] | sort == [\"198.19.1.1\", \"198.19.2.1\", \"198.19.3.1\"]" 3000 || {
		jq . "$T/status.json"
		fail "status: be3 not back, active and up"
	}
	res=$(fetch_ports "$URL4" 61630 60)
	echo "IPv4: $(distribution "$res")"
	expect_all_ok "$res" "requests after be3 was added back"
	[ "$(awk '$3 == "be3"' <<<"$res" | wc -l)" -gt 0 ] || fail "no request reached be3 after it was added back"
	daemon_alive || fail "the daemon is gone"
	! grep -q 'failed' "$DAEMON_LOG" || fail "the daemon logged a failure"
	[ "$(grep -c 'vipxdp: reloaded ' "$DAEMON_LOG")" -eq 2 ] || fail "expected two 'reloaded' lines"
}

# SIGHUP with a broken file (a YAML syntax error, a value out of range, a
# missing file): each time the daemon logs "reload of FILE failed; the
# running policy stays", keeps running, status (services, generations,
# backends' weight, state and health) is unchanged and requests still spread
# over all three backends; health checking goes on with the old policy (a
# backend stopped afterwards still goes down), and a good file reloads.
test_reload_broken() {
	local f=$T/policy.yaml res i
	test_begin
	setup_daemon
	cp "$f" "$T/good.yaml"
	status_brief "$T/before.json"
	i=0
	for broken in syntax value missing; do
		case $broken in
		syntax) printf 'vips:\n  - address: 198.18.0.100\n    services:\n\t- protocol: tcp\n' >"$f" ;;
		value) sed 's/fall: [0-9]*/fall: 0/' "$T/good.yaml" >"$f" ;;
		missing) rm -f "$f" ;;
		esac
		daemon_hup
		i=$((i + 1))
		[ "$(grep -c "vipxdp: reload of $f failed; the running policy stays" "$DAEMON_LOG")" -eq "$i" ] ||
			fail "$broken: no 'reload of FILE failed; the running policy stays' line"
		status_brief "$T/after.json"
		diff -u "$T/before.json" "$T/after.json" || fail "$broken: status changed"
		res=$(fetch_ports "$URL4" $((61700 + i * 40)) 30)
		echo "$broken: IPv4: $(distribution "$res")"
		expect_all_ok "$res" "$broken: requests after the failed reload"
		[ "$(awk '{ print $3 }' <<<"$res" | sort -u | wc -l)" -eq 3 ] || fail "$broken: requests not spread over three backends"
	done
	grep -E 'reload|:[0-9]+:[0-9]+: ' "$DAEMON_LOG"
	grep -q "$f:4:1: " "$DAEMON_LOG" || fail "the syntax error's location is not logged"
	! grep -q 'vipxdp: reloaded ' "$DAEMON_LOG" || fail "a broken file was reported as reloaded"

	# The old policy's health checks still run.
	be_stop 3
	wait_status "$(jq_be4 3) | .state == \"down\" and .health == \"down\"" "$DOWN_LIMIT_MS" ||
		fail "be3 not marked down after the failed reloads"
	be_start 3
	wait_status "$(jq_be4 3) | .state == \"active\" and .health == \"up\"" "$UP_LIMIT_MS" ||
		fail "be3 not back up"
	cp "$T/good.yaml" "$f"
	daemon_hup
	grep -q "vipxdp: reloaded $f" "$DAEMON_LOG" || fail "the good file did not reload"
}

# kill -9 of the daemon while a client makes 600 requests (new connections,
# curl --max-time 2): not one fails, none reaches be3 (down before the
# kill). A daemon restarted with the same file takes over without changing
# anything: the same table generations, be3 still "down" (state and
# health), no transition logged, and its apply reports every service
# unchanged.
test_kill9() {
	local loop load_pid ok bad total
	test_begin
	setup_daemon
	be_stop 3
	wait_status "[$(jq_be4 3), $(jq_be6 3) | .state == \"down\" and .health == \"down\"] | length == 2 and all" 5000 ||
		fail "be3 not down"
	status_brief "$T/before.json"
	cat "$T/before.json"

	# shellcheck disable=SC2016 # expanded by the inner shell
	loop='url=$1 b=0
		while [ "$b" -lt 12 ]; do
			urls=()
			for i in $(seq 50); do urls+=("${url}?b${b}_$i"); done
			curl -g -sS --max-time 2 -w "\n%{http_code}/%{exitcode}\n" "${urls[@]}"
			b=$((b + 1))
			sleep 0.2
		done'
	vx_in "$NS_CLIENT" 90 bash -c "$loop" loop "$URL4" >"$T/load.out" 2>&1 &
	load_pid=$!
	bg_add "$load_pid"
	wait_requests "$T/load.out" 100 20 || fail "the client loop is too slow"
	echo "kill -9 of the daemon (pid $DAEMON_PID) after $(grep -cx 200/0 "$T/load.out") requests"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID"
	echo "daemon exit status $?"
	DAEMON_PID=
	wait_requests "$T/load.out" 250 20 || fail "the client loop is too slow"
	echo "restarting the daemon after $(grep -cx 200/0 "$T/load.out") requests"
	daemon_start "$T/policy.yaml" "$T/daemon2.log"
	# Several probe rounds (interval x (rise + fall)) and one more interval.
	sleep "$(awk -v ms=$(((HC_RISE + HC_FALL + 1) * HC_INTERVAL_MS)) 'BEGIN { print ms / 1000 }')"
	status_brief "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "the restarted daemon changed the state"
	jq_check "$T/after.json" '[.[].services[].backends[] | select(.address == "198.19.3.1" or .address == "2001:db8:2:3::1") | .state == "down" and .health == "down"] | length == 2 and all' \
		"be3 still down after the restart"
	cat "$DAEMON_LOG"
	! grep -q ' -> ' "$DAEMON_LOG" || fail "the restarted daemon logged a transition"
	! grep -q 'every backend' "$DAEMON_LOG" || fail "the restarted daemon logged all backends down"

	wait "$load_pid"
	ok=$(grep -cx 200/0 "$T/load.out")
	bad=$(grep -Ex '[0-9]{3}/[0-9]+' "$T/load.out" | grep -vcx 200/0)
	total=$((ok + bad))
	echo "$ok ok, $bad failed; backends: $(grep -x 'be[0-9]*' "$T/load.out" | sort | uniq -c | tr '\n' ' ')"
	grep -v -x -E '200/0|be[0-9]+|' "$T/load.out" | head -20
	[ "$bad" -eq 0 ] || fail "$bad requests failed"
	[ "$total" -ge 500 ] || fail "only $total requests made"
	! grep -qx be3 "$T/load.out" || fail "requests reached be3, which is down"
	grep -q '2 services unchanged' "$DAEMON_LOG" || fail "the restarted daemon's apply changed services"
}

# all_every_down ALL_DOWN_STATE: stop every backend's HTTP server and wait
# (at most 5 s) until the IPv4 service's three backends have health "down"
# and the state ALL_DOWN_STATE ("active" for serve-all, "down" for drop; the
# table may lag the last transition by one interval, the flap limit).
all_every_down() {
	be_stop 1 2 3
	wait_status "[$JQ_SVC4 | .backends[] | .health == \"down\" and .state == \"$1\"] | length == 3 and all" 5000 || {
		jq -c "[$JQ_SVC4 | .backends[] | {address, state, health}]" "$T/status.json"
		fail "backends not all health down and state $1 5 s after their servers stopped"
	}
	jq -c "[$JQ_SVC4 | .backends[] | {address, state, health}]" "$T/status.json"
}

# all_servers_back: restart every backend's HTTP server; all three backends
# of the IPv4 service active and up again, and a request through the VIP works.
all_servers_back() {
	be_start 1 2 3
	wait_status "[$JQ_SVC4 | .backends[] | .state == \"active\" and .health == \"up\"] | length == 3 and all" "$UP_LIMIT_MS" || {
		jq -c "[$JQ_SVC4 | .backends[] | {address, state, health}]" "$T/status.json"
		fail "backends not back up"
	}
	require_http "$URL4"
}

# connect_fails CURL_EXIT WHAT: a new connection to the IPv4 VIP fails with
# CURL_EXIT (7: refused, 28: connect timeout of 1 s) within 3 s.
connect_fails() {
	local start rc el
	start=$(now_ms)
	vx_in "$NS_CLIENT" 10 curl -s --connect-timeout 1 --max-time 2 -o /dev/null "$URL4"
	rc=$?
	el=$(($(now_ms) - start))
	echo "$2: curl exit $rc after $el ms"
	[ "$rc" -eq "$1" ] || fail "$2: expected curl exit $1, got $rc"
	[ "$el" -le 3000 ] || fail "$2: the failure took $el ms"
}

# Every backend down. all_down serve-all (the default): the health checks
# say "down" for all three but the table keeps them (state "active"; a new
# connection reaches a backend, which refuses it at once), with an "every
# backend is down; serving all of them" line. all_down drop (SIGHUP while
# the servers are up, then all stopped): the backends are "down", a new
# connection gets no answer (curl gives up after its 1 s connect timeout)
# and its SYN is counted as drop_no_backend. Servers back: traffic again.
test_all_down() {
	local before after
	test_begin
	setup_daemon
	all_every_down active
	grep -q "health: $VX_VIP4:80/tcp: every backend is down; serving all of them (all_down: serve-all)" "$DAEMON_LOG" ||
		fail "no 'every backend is down; serving all' line"
	connect_fails 7 "serve-all"
	all_servers_back

	write_policy "$T/policy.yaml" all_down=drop
	daemon_hup
	grep -q "vipxdp: reloaded $T/policy.yaml" "$DAEMON_LOG" || fail "reload failed"
	all_every_down down
	cli 0 -j stats
	before=$(jq '.reasons.drop_no_backend.packets' "$OUT")
	connect_fails 28 "drop"
	cli 0 -j stats
	after=$(jq '.reasons.drop_no_backend.packets' "$OUT")
	echo "drop_no_backend: $before -> $after"
	[ "$after" -gt "$before" ] || fail "the SYN was not counted as drop_no_backend"
	all_servers_back
}

# all_down changed by SIGHUP while every backend is down takes effect within
# an interval + 1 s: serve-all -> drop empties the table (state "down", new
# connections time out), drop -> serve-all fills it again (state "active",
# connections refused by the backends).
test_all_down_switch() {
	test_begin
	setup_daemon
	all_every_down active
	write_policy "$T/policy.yaml" all_down=drop
	daemon_hup
	grep -q "vipxdp: reloaded $T/policy.yaml" "$DAEMON_LOG" || fail "reload failed"
	wait_status "[$JQ_SVC4 | .backends[] | .state == \"down\"] | length == 3 and all" $((HC_INTERVAL_MS + 1000)) || {
		jq -c "[$JQ_SVC4 | .backends[] | {address, state, health}]" "$T/status.json"
		fail "serve-all -> drop with every backend down: the table still serves them"
	}
	connect_fails 28 "drop"
	write_policy "$T/policy.yaml"
	daemon_hup
	wait_status "[$JQ_SVC4 | .backends[] | .state == \"active\"] | length == 3 and all" $((HC_INTERVAL_MS + 1000)) || {
		jq -c "[$JQ_SVC4 | .backends[] | {address, state, health}]" "$T/status.json"
		fail "drop -> serve-all with every backend down: the table stays empty"
	}
	connect_fails 7 "serve-all"
	all_servers_back
}

# SIGTERM: the daemon logs that it stops, exits 0, and the data plane keeps
# running: the programs stay attached and requests are served.
test_sigterm() {
	local res ifc
	test_begin
	setup_daemon
	daemon_stop
	echo "daemon exit status $DAEMON_RC"
	[ "$DAEMON_RC" -eq 0 ] || fail "SIGTERM: exit status $DAEMON_RC"
	grep -q 'signal 15: stopping; the data plane keeps running' "$DAEMON_LOG" || fail "no 'stopping' line"
	for ifc in $(vx_lb_ifaces); do
		ip -n "$NS_LB" -d link show dev "$ifc" | grep -q 'prog/xdp ' || fail "$ifc: no XDP program after SIGTERM"
	done
	res=$(fetch_ports "$URL4" 61900 20)
	echo "IPv4: $(distribution "$res")"
	expect_all_ok "$res" "requests after the daemon stopped"
}

# route_watch: from the pinned vipxdp_route map, RW_GEN (the counter),
# RW_SIMPLE (VIPXDP_ROUTE_SIMPLE: 1 or 0) and RW_UNTIL.
route_watch() {
	local j g
	j=$(bpftool map dump pinned "$VX_BPFFS/vipxdp/vipxdp_route" -j) || fail "cannot read vipxdp_route"
	g=$(jq -r '(.[0].formatted // .[0]).value.gen' <<<"$j")
	RW_UNTIL=$(jq -r '(.[0].formatted // .[0]).value.watch_until' <<<"$j")
	[[ "$g" =~ ^[0-9]+$ && "$RW_UNTIL" =~ ^[0-9]+$ ]] || fail "vipxdp_route: unexpected dump: $j"
	RW_GEN=$((g & 0x3fffffff))
	RW_SIMPLE=$(((g >> 30) & 1))
}

# wait_simple 0|1 WHAT [any]: VIPXDP_ROUTE_SIMPLE is that within 2 s, and
# the generation has moved since RW_GEN (with "any": it may stay). The
# daemon checks routing 100 ms after a change, or later when its last check
# took long (20 times that check's time after it), so a loaded machine can
# take some hundred ms more.
wait_simple() {
	local i g=$RW_GEN want="and a new generation"
	[ "${3:-}" = any ] && want="(any generation)"
	for ((i = 0; i < 20; i++)); do
		route_watch
		[ "$RW_SIMPLE" = "$1" ] && { [ "${3:-}" = any ] || [ "$RW_GEN" != "$g" ]; } && {
			echo "$2: simple routing $1, generation $g -> $RW_GEN"
			return 0
		}
		sleep 0.1
	done
	fail "$2: simple routing $RW_SIMPLE, generation $g -> $RW_GEN after 2 s; want $1 $want"
}

# status_route_watch TEXT: `vipxdp status` says "route watch: TEXT
# (generation G)" with G at least RW_GEN, the generation read before it
# (other rtnetlink messages, such as the kernel's own follow-ups to a
# removed IPv6 route, can move it on in between).
status_route_watch() {
	local line g
	vx_cli status >"$T/status.txt" || fail "vipxdp status failed"
	line=$(grep '^route watch: ' "$T/status.txt")
	[[ "$line" =~ ^route\ watch:\ (.*)\ \(generation\ ([0-9]+)\)$ ]] ||
		fail "status: '$line', want 'route watch: $1 (generation N)'"
	g=${BASH_REMATCH[2]}
	[ "${BASH_REMATCH[1]}" = "$1" ] && [ "$g" -ge "$RW_GEN" ] ||
		fail "status: '$line', want 'route watch: $1' with a generation of at least $RW_GEN"
}

# wait_log TEXT WHAT: a daemon log line contains TEXT (fixed) within 2 s.
wait_log() {
	local i
	for ((i = 0; i < 20; i++)); do
		grep -qF -- "$1" "$DAEMON_LOG" && return 0
		sleep 0.1
	done
	fail "$2: no '$1' in the daemon's log: $(tail -n 3 "$DAEMON_LOG")"
}

# wait_gen_moves GEN WHAT: the generation differs from GEN within 2 s.
wait_gen_moves() {
	local i
	for ((i = 0; i < 20; i++)); do
		route_watch
		[ "$RW_GEN" != "$1" ] && {
			echo "$2: generation $1 -> $RW_GEN"
			return 0
		}
		sleep 0.1
	done
	fail "$2: the route generation stayed $1 for 2 s"
}

# check_ct_next_hops FILE CURRENT: in `conntrack -j list` output FILE, each
# flow from the client's ports 61950-61959 (one DNAT entry each) has as next
# hop the lb's veth to its backend with that backend's MAC, and as reply
# next hop the lb's client veth with the client's MAC; each next hop's
# "current" is CURRENT (true or false; empty: not checked).
check_ct_next_hops() {
	local n be ifn mac cmac want flows
	cmac=$(vx_mac "$NS_CLIENT" "$VX_PEER_IF")
	flows=$(jq '[.flows[] | select(.source | test(":619[5][0-9]$"))] | length' "$1")
	[ "$flows" -eq 10 ] || fail "conntrack list: $flows entries of the client's ports 61950-61959, want 10: $(cat "$1")"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		be=$(vx_be4 "$n")
		ifn=$(vx_lb_be_if "$n")
		mac=$(vx_mac "${NS_BE[n]}" "$VX_PEER_IF")
		want='.next_hop.interface == $ifn and .next_hop.mac == $mac and
			.reply_next_hop.interface == $cif and .reply_next_hop.mac == $cmac and
			(.next_hop.ifindex | type) == "number"'
		[ -n "$2" ] && want="$want and .next_hop.current == $2 and .reply_next_hop.current == $2"
		jq -e --arg be "$be:$VX_BE_PORT" --arg ifn "$ifn" --arg mac "$mac" --arg cif "$VX_LB_CLIENT_IF" \
			--arg cmac "$cmac" "[.flows[] | select((.source | test(\":619[5][0-9]\$\")) and
				.new_destination == \$be)] | all($want)" "$1" >/dev/null ||
			fail "conntrack list: flows to $be: next hops $(jq -c --arg be "$be:$VX_BE_PORT" \
				'[.flows[] | select(.new_destination == $be) | [.next_hop, .reply_next_hop]]' "$1"), want via $ifn ($mac), reply via $VX_LB_CLIENT_IF ($cmac), current ${2:-any}"
	done
	echo "conntrack list: 10 flows with their backends' and the client's next hops (current: ${2:-not checked})"
}

test_route_watch() {
	local g n until0 be1if
	be1if=$(vx_lb_be_if 1)
	test_begin
	setup_daemon
	grep -q 'route watch on' "$DAEMON_LOG" || fail "no 'route watch on' in the daemon's log"
	route_watch
	echo "generation $RW_GEN, watch until epoch $RW_UNTIL"
	[ "$RW_UNTIL" -gt 0 ] || fail "the watch is off while the daemon runs"
	vx_cli -j status >"$T/status.json" || fail "vipxdp status failed"
	jq -e ".route_watch.on == true and .route_watch.generation >= $RW_GEN and
		.route_watch.next_hop_per_backend == true" "$T/status.json" >/dev/null ||
		fail "status: route_watch is $(jq -c .route_watch "$T/status.json"), want on, generation $RW_GEN or later, next hops per backend"
	[ "$RW_SIMPLE" = 1 ] || fail "the test bed's routing is not found simple"
	grep -q 'routing is simple: new flows take the next hop cached for their backend' "$DAEMON_LOG" ||
		fail "no 'routing is simple' in the daemon's log"
	# Kept on: the watch moves on with the epochs (about 1.07 s each).
	until0=$RW_UNTIL
	sleep 2.5
	route_watch
	[ "$RW_UNTIL" -gt "$until0" ] || fail "watch_until stayed $until0 for 2.5 s"
	# A neighbour, a route and their removal each move the generation.
	g=$RW_GEN
	ip -n "$NS_LB" neigh replace 198.19.1.99 lladdr 02:00:00:00:09:99 dev "$be1if" nud permanent ||
		fail "ip neigh replace"
	wait_gen_moves "$g" "neighbour added"
	g=$RW_GEN
	ip -n "$NS_LB" route add 198.19.200.0/24 via 198.19.1.99 dev "$be1if" || fail "ip route add"
	wait_gen_moves "$g" "route added"
	g=$RW_GEN
	ip -n "$NS_LB" route del 198.19.200.0/24 via 198.19.1.99 dev "$be1if" || fail "ip route del"
	ip -n "$NS_LB" neigh del 198.19.1.99 dev "$be1if" || fail "ip neigh del"
	wait_gen_moves "$g" "route and neighbour removed"
	# Forwarding turned off and on again on an interface (RTM_NEWNETCONF).
	g=$RW_GEN
	ip netns exec "$NS_LB" sysctl -qw "net.ipv4.conf.$be1if.forwarding=0" || fail "sysctl forwarding=0"
	wait_gen_moves "$g" "forwarding off on $be1if"
	g=$RW_GEN
	ip netns exec "$NS_LB" sysctl -qw "net.ipv4.conf.$be1if.forwarding=1" || fail "sysctl forwarding=1"
	wait_gen_moves "$g" "forwarding on again on $be1if"
	# Routing that is not simple (the FIB's answer depends on more than
	# the destination) turns the next hops per backend off; once it is
	# simple again they come back, each time with a new generation.
	wait_simple 1 "routing simple again after the route's removal" any
	ip -n "$NS_LB" route add 198.19.201.0/24 nexthop via "$(vx_be4 1)" dev "$be1if" \
		nexthop via "$(vx_be4 2)" dev "$(vx_lb_be_if 2)" || fail "ip route add (multipath)"
	wait_simple 0 "multipath route added"
	wait_log "new flows look their next hop up in the FIB: route to 198.19.201.0/24 (table 254) is multipath" \
		"multipath route"
	status_route_watch "on, next hops kept until a change, new flows look them up"
	ip -n "$NS_LB" route del 198.19.201.0/24 || fail "ip route del (multipath)"
	wait_simple 1 "multipath route removed"
	# Routes through a nexthop group: the kernel's compatibility mode off,
	# so that route dumps name the group alone (no RTA_MULTIPATH).
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.nexthop_compat_mode=0 || fail "nexthop_compat_mode"
	ip -n "$NS_LB" nexthop add id 9001 via "$(vx_be4 1)" dev "$be1if" &&
		ip -n "$NS_LB" nexthop add id 9002 via "$(vx_be4 2)" dev "$(vx_lb_be_if 2)" &&
		ip -n "$NS_LB" nexthop add id 9010 group 9001/9002 || fail "ip nexthop add"
	wait_simple 1 "nexthop group added, no route uses it"
	ip -n "$NS_LB" route add 198.19.203.0/24 nhid 9010 || fail "ip route add (nexthop group)"
	wait_simple 0 "route through a nexthop group added"
	wait_log "route to 198.19.203.0/24 (table 254) is multipath" "route through a nexthop group"
	ip -n "$NS_LB" route del 198.19.203.0/24 && ip -n "$NS_LB" nexthop del id 9010 &&
		ip -n "$NS_LB" nexthop del id 9001 && ip -n "$NS_LB" nexthop del id 9002 ||
		fail "ip route/nexthop del"
	wait_simple 1 "route and nexthop group removed"
	ip -n "$NS_LB" rule add from 198.19.202.0/24 lookup main pref 100 || fail "ip rule add"
	wait_simple 0 "source rule added"
	wait_log "IPv4 policy rule 100 selects by more than the destination" "source rule"
	ip -n "$NS_LB" rule del pref 100 || fail "ip rule del"
	wait_simple 1 "source rule removed"
	ip -n "$NS_LB" -6 route add 2001:db8:c9::/64 from 2001:db8:ca::/64 dev "$be1if" ||
		fail "ip route add (source-specific)"
	wait_simple 0 "source-specific IPv6 route added"
	wait_log "route to 2001:db8:c9::/64 (table 254) is source-specific" "source-specific route"
	ip -n "$NS_LB" -6 route del 2001:db8:c9::/64 from 2001:db8:ca::/64 dev "$be1if" ||
		fail "ip route del (source-specific)"
	wait_simple 1 "source-specific IPv6 route removed"
	status_route_watch "on, next hops kept until a change, new flows take their backend's"
	# Traffic through the VIP is unchanged. The lb's neighbours are made
	# permanent first, so that their state changes do not move the
	# generation while the flows run.
	ip -n "$NS_LB" neigh replace "$VX_CLIENT4" lladdr "$(vx_mac "$NS_CLIENT" "$VX_PEER_IF")" \
		dev "$VX_LB_CLIENT_IF" nud permanent || fail "ip neigh replace (client)"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ip -n "$NS_LB" neigh replace "$(vx_be4 "$n")" lladdr "$(vx_mac "${NS_BE[n]}" "$VX_PEER_IF")" \
			dev "$(vx_lb_be_if "$n")" nud permanent || fail "ip neigh replace (backend $n)"
	done
	sleep 0.3
	route_watch
	g=$RW_GEN
	expect_all_ok "$(fetch_ports "$URL4" 61950 10)" "requests with the route watch on"
	# Both lists, then the generation: when no change came in between
	# (other rtnetlink messages can), every next hop is the one in use.
	vx_cli -j conntrack list >"$T/ct.json" || fail "vipxdp conntrack list failed"
	vx_cli conntrack list >"$T/ct.txt" || fail "vipxdp conntrack list failed"
	route_watch
	check_ct_next_hops "$T/ct.json" "$([ "$RW_GEN" = "$g" ] && echo true)"
	if [ "$RW_GEN" = "$g" ]; then
		n=$(grep -cE ':619[5][0-9] .*\(both directions\) via to-be[1-3] reply via to-client$' "$T/ct.txt")
		[ "$n" -eq 10 ] || fail "conntrack list: $n of the 10 flows show their next hops: $(cat "$T/ct.txt")"
	else
		echo "generation $g -> $RW_GEN during the flows: whether next hops are in use not checked"
	fi
	daemon_stop
	route_watch
	[ "$RW_UNTIL" -eq 0 ] || fail "the watch is still on (until epoch $RW_UNTIL) after SIGTERM"
	# Cached next hops carry the watch's generation: without the watch the
	# data path looks them up again, and the list says so.
	vx_cli -j conntrack list >"$T/ct.json" || fail "vipxdp conntrack list failed"
	check_ct_next_hops "$T/ct.json" false
	vx_cli conntrack list >"$T/ct.txt" || fail "vipxdp conntrack list failed"
	! grep -q ' via ' "$T/ct.txt" || fail "conntrack list shows next hops in use after SIGTERM: $(grep -m1 ' via ' "$T/ct.txt")"
	vx_cli status >"$T/status.txt" || fail "vipxdp status failed"
	grep -q "^route watch: off, next hops looked up every epoch (generation $RW_GEN)$" "$T/status.txt" ||
		fail "status: $(grep 'route watch' "$T/status.txt"), want off"
	echo "after SIGTERM: generation $RW_GEN, watch off"
}

vx_test test_backend_down "server stopped: backend down within interval x fall + 1 s, no request fails or reaches it"
vx_test test_backend_up "server restarted: backend up within interval x rise + 1 s, requests reach it"
vx_test test_drain "weight 0: the established connection goes on, new ones avoid the backend"
vx_test test_reload "SIGHUP with a changed file: status follows, daemon keeps running"
vx_test test_reload_broken "SIGHUP with a broken file: logged, state and traffic unchanged"
vx_test test_kill9 "kill -9 under traffic: no failed request; restart changes nothing, down stays down"
vx_test test_all_down "every backend down: serve-all keeps the table, drop fails fast"
vx_test test_all_down_switch "all_down changed by SIGHUP while every backend is down takes effect"
vx_test test_sigterm "SIGTERM: exit 0, data plane keeps running"
vx_test test_route_watch "route watch: on while the daemon runs, generation moves on neighbour and route changes, next hops per backend only while routing is simple, conntrack list shows the next hops in use, off after SIGTERM"
vx_main "$@"
