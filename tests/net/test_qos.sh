#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Per-VIP rate limits (qos) and top talkers end to end, on the namespace test
# bed of tests/net/topology.sh, with real UDP traffic:
#   - 198.18.0.100 udp/9000 -> be1:9000 with qos {pps: 2000}
#   - 198.18.0.101 udp/9000 -> be2:9000 with qos {bps: 4000000}
#   - 198.18.0.102 udp/9000 -> be3:9000 without a limit (top talkers)
#   settings.talkers_sample 1 (every packet counted).
# A paced UDP sender in the client namespace sends well above a limit for
# 6 s; the rate the backend's interface received (its kernel rx counter,
# read 1 s after traffic arrives and 2.5 s later: the burst is left out) must be
# within 10% of the limit. A UDP receiver on every backend (:9000) counts
# the datagrams that reached it. Counters are checked exactly where exactness is
# possible: what the limit passed is what the backend received, and its
# drops are what drop_qos counted.
#
# Tests run in order and build on each other's state. TAP on stdout; see
# tests/net/lib.sh.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

VIP_PPS=198.18.0.100
VIP_BPS=198.18.0.101
VIP_TOP=198.18.0.102
UDP_PORT=9000
PPS_LIMIT=2000
BPS_LIMIT=4000000
# Extra client addresses, the three top talkers.
TALKERS=(198.18.0.21 198.18.0.22 198.18.0.23)

# Receiver: counts datagrams and bytes on 0.0.0.0:PORT; every 0.1 s prints
# "MONOTONIC_TIME COUNT BYTES" (UDP payload bytes).
RECV_PY='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(0.05)
n = b = 0
nxt = time.monotonic()
while True:
    try:
        data = s.recv(4096)
        n += 1
        b += len(data)
    except socket.timeout:
        pass
    now = time.monotonic()
    if now >= nxt:
        print("%.4f %d %d" % (now, n, b), flush=True)
        nxt = now + 0.1
'

# Sender: send.py SRC DST PORT SIZE PPS SECONDS [COUNT]: datagrams of SIZE
# payload bytes from SRC to DST:PORT at PPS per second (paced in 10 ms
# slots) for SECONDS, or exactly COUNT datagrams when given. Prints the
# number sent.
SEND_PY='
import socket, sys, time
src, dst, port, size, pps, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
count = int(sys.argv[7]) if len(sys.argv) > 7 else None
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.bind((src, 0))
data = b"x" * size
sent = 0
t0 = time.monotonic()
per_slot = max(1, pps // 100)
slot = 0
while time.monotonic() - t0 < secs and (count is None or sent < count):
    for _ in range(per_slot):
        if count is not None and sent >= count:
            break
        s.sendto(data, (dst, port))
        sent += 1
    slot += 1
    delay = t0 + slot * 0.01 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(sent)
'

# rx_count NS: frames received so far by the backend's interface (kernel
# counter; a user-space receiver lags behind when the CPUs are busy), and
# the time it was read, ns: "NS_TIME COUNT".
rx_count() {
	local a b c
	a=$(date +%s%N)
	c=$(ip netns exec "$1" cat "/sys/class/net/$VX_PEER_IF/statistics/rx_packets")
	b=$(date +%s%N)
	echo "$(((a + b) / 2)) $c"
}

# measure NS SRC DST SIZE PPS: send from SRC to DST:9000 at PPS for 6 s in
# the background; once NS's receive counter moves (the sender runs), wait
# 1 s (the burst is over), then read the counter twice 2.5 s apart; prints
# "FRAMES_PER_S SENT".
measure() {
	local ns=$1 r0 r1 r2 sent i
	r0=$(rx_count "$ns")
	send_udp "$2" "$3" "$4" "$5" 6 >"$T/sent" &
	for ((i = 0; i < 100; i++)); do
		r1=$(rx_count "$ns")
		[ "${r1#* }" -gt $((${r0#* } + 10)) ] && break
		sleep 0.05
	done
	sleep 1
	r1=$(rx_count "$ns")
	sleep 2.5
	r2=$(rx_count "$ns")
	wait $! || fail "sender failed"
	sent=$(cat "$T/sent")
	echo "counter $r1 -> $r2" >&2
	awk -v a="$r1" -v b="$r2" -v s="$sent" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.1f %d\n", (y[2] - x[2]) / ((y[1] - x[1]) / 1e9), s }'
}

# last_count LOG: the receiver's last logged datagram count.
last_count() {
	tail -n 1 "$1" | awk '{ print $2 }'
}

# send_udp SRC DST SIZE PPS SECONDS [COUNT]: SEND_PY in the client namespace.
send_udp() {
	vx_in "$NS_CLIENT" 60 python3 -c "$SEND_PY" "$1" "$2" "$UDP_PORT" "$3" "$4" "$5" ${6:+"$6"}
}

# warm_up DST: one datagram from the client, so the neighbour entries on
# the way (client -> VIP, lb -> backend) exist before a measured burst.
warm_up() {
	send_udp "$VX_CLIENT4" "$1" 64 100 1 1 >/dev/null || fail "warm-up sender failed"
	sleep 0.3
}

write_policy() {
	{
		echo "# test_qos.sh: generated policy"
		echo "settings:"
		echo "  talkers_sample: 1"
		policy_interfaces
		echo "vips:"
		echo "  - address: $VIP_PPS"
		echo "    name: qos-pps"
		echo "    qos: {pps: $PPS_LIMIT}"
		echo "    services:"
		policy_service udp "$UDP_PORT" 4 "$UDP_PORT" 1
		echo "  - address: $VIP_BPS"
		echo "    name: qos-bps"
		echo "    qos: {bps: $BPS_LIMIT, burst: 200ms}"
		echo "    services:"
		policy_service udp "$UDP_PORT" 4 "$UDP_PORT" 2
		echo "  - address: $VIP_TOP"
		echo "    name: talkers"
		echo "    services:"
		policy_service udp "$UDP_PORT" 4 "$UDP_PORT" 3
	} >"$1"
}

# Set-up: receivers on every backend, three extra client addresses, vipxdp
# loaded and the policy applied; status shows both limits (JSON) with zero
# counters, and talkers_sample 1.
test_setup() {
	local n a
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		vx_in "${NS_BE[n]}" 300 python3 -u -c "$RECV_PY" "$UDP_PORT" \
			</dev/null >"$VX_RUN/recv$n.log" 2>&1 &
	done
	for a in "${TALKERS[@]}"; do
		ip -n "$NS_CLIENT" addr add "$a/24" dev "$VX_PEER_IF" || fail "address $a"
	done
	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) --mode native
	write_policy "$VX_RUN/qos.yaml"
	cat "$VX_RUN/qos.yaml"
	cli 0 apply -c "$VX_RUN/qos.yaml"
	status_json "$T/status.json"
	jq_check "$T/status.json" ".settings.talkers_sample == 1" "talkers_sample"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_PPS\") | .qos) ==
		{pps: $PPS_LIMIT, bps: 0, burst_ms: 100, passed_packets: 0, passed_bytes: 0,
		 dropped_packets: 0, dropped_bytes: 0}" "pps limit in status"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_BPS\") | .qos |
		.bps == $BPS_LIMIT and .pps == 0 and .burst_ms == 200)" "bps limit in status"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_TOP\") | has(\"qos\") | not)" \
		"no limit on $VIP_TOP"
	cli 0 status
	grep -Fx "        qos pps $PPS_LIMIT bps - burst 100ms: passed 0 packets, dropped 0 packets (0 bytes)" "$OUT" ||
		fail "pps limit in the text status"
	grep -Fx "        qos pps - bps $BPS_LIMIT burst 200ms: passed 0 packets, dropped 0 packets (0 bytes)" "$OUT" ||
		fail "bps limit in the text status"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		for ((a = 0; a < 50; a++)); do
			[ -s "$VX_RUN/recv$n.log" ] && break
			sleep 0.1
		done
		[ -s "$VX_RUN/recv$n.log" ] || fail "be$n: receiver did not start"
	done
}

# qos {pps: 2000}: 10,000 datagrams/s for 6 s to 198.18.0.100:9000; be1
# receives 1800-2200 datagrams/s in the window; everything the limit passed
# reached be1 (exact); the limit's drops equal the drop_qos counter and,
# with its passes, every datagram sent.
test_pps_limit() {
	local sent rate got passed dropped reason
	warm_up "$VIP_PPS"
	read -r rate sent < <(measure "${NS_BE[1]}" "$VX_CLIENT4" "$VIP_PPS" 64 10000)
	sleep 0.5
	echo "sent $sent; be1 received $rate frames/s; limit $PPS_LIMIT pps"
	awk -v r="$rate" -v l="$PPS_LIMIT" 'BEGIN { exit !(r >= 0.9 * l && r <= 1.1 * l) }' ||
		{ dump_reasons; fail "rate $rate pps not within 10% of $PPS_LIMIT"; }
	got=$(last_count "$VX_RUN/recv1.log")
	cli 0 stats
	grep -Eq "^    qos: passed pkts +[1-9][0-9]* +bytes +[0-9]+ +dropped pkts +[1-9]" "$OUT" ||
		fail "qos line in the text stats"
	cli 0 -j stats
	cp "$OUT" "$T/stats.json"
	passed=$(jq ".vips[] | select(.address == \"$VIP_PPS\") | .qos.passed_packets" "$T/stats.json")
	dropped=$(jq ".vips[] | select(.address == \"$VIP_PPS\") | .qos.dropped_packets" "$T/stats.json")
	reason=$(jq ".reasons.drop_qos.packets" "$T/stats.json")
	echo "be1 got $got; qos passed $passed dropped $dropped; drop_qos $reason"
	assert_eq "$got" "$passed" "datagrams at be1 vs passed by the limit"
	assert_eq "$reason" "$dropped" "drop_qos vs the VIP's drops"
	assert_eq "$((passed + dropped))" "$((sent + 1))" "passed + dropped vs sent (and the warm-up)"
	[ "$dropped" -gt $((sent / 2)) ] || fail "only $dropped of $sent dropped at 5x the limit"
}

# qos {bps: 4000000, burst: 200ms}: 500-byte frames (458 bytes of UDP
# payload) at 5,000/s for 6 s, 5x the limit; be2 receives 900-1100 frames/s,
# i.e. 3.6-4.4 Mbit/s of frames.
test_bps_limit() {
	local sent rate bits before
	warm_up "$VIP_BPS"
	cli 0 -j stats
	before=$(jq ".reasons.drop_qos.packets" "$OUT")
	read -r rate sent < <(measure "${NS_BE[2]}" "$VX_CLIENT4" "$VIP_BPS" 458 5000)
	sleep 0.5
	bits=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 500 * 8 }')
	echo "sent $sent; be2 received $rate frames/s = $bits bit/s of frames; limit $BPS_LIMIT"
	awk -v r="$bits" -v l="$BPS_LIMIT" 'BEGIN { exit !(r >= 0.9 * l && r <= 1.1 * l) }' ||
		{ dump_reasons; fail "rate $bits bit/s not within 10% of $BPS_LIMIT"; }
	cli 0 -j stats
	jq_check "$OUT" "(.vips[] | select(.address == \"$VIP_BPS\") | .qos |
		.passed_packets + .dropped_packets == $sent + 1 and
		 .passed_bytes == (.passed_packets - 1) * 500 + 106)
		and .reasons.drop_qos.packets > $before" "bps counters"
}

# A changed limit is applied in place (status shows it); a VIP whose qos
# key is removed has no limit any more: 1,000 datagrams at 5,000/s all
# reach be1.
test_change_and_remove() {
	local got0 got1
	sed -i "s/qos: {pps: $PPS_LIMIT}/qos: {pps: 500}/" "$VX_RUN/qos.yaml"
	cli 0 apply -c "$VX_RUN/qos.yaml"
	assert_match "$(out)" "~ vip $VIP_PPS \(qos-pps\) qos pps 500 bps 0 burst 100ms" "plan"
	status_json "$T/status.json"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_PPS\") | .qos.pps == 500)" \
		"changed limit"
	sed -i "/qos: {pps: 500}/d" "$VX_RUN/qos.yaml"
	cli 0 apply -c "$VX_RUN/qos.yaml"
	status_json "$T/status.json"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_PPS\") | has(\"qos\") | not)" \
		"limit removed"
	got0=$(last_count "$VX_RUN/recv1.log")
	send_udp "$VX_CLIENT4" "$VIP_PPS" 64 5000 5 1000 >/dev/null || fail "sender failed"
	sleep 0.5
	got1=$(last_count "$VX_RUN/recv1.log")
	assert_eq "$((got1 - got0))" 1000 "datagrams at be1 without a limit"
}

# `vipxdp map qos`: sets a limit on a running VIP (status shows it, -j
# answers), 'off' removes it; an address that is no VIP, a missing limit and
# an out-of-range value are refused and change nothing.
test_map_qos() {
	cli 0 -j map qos "$VIP_PPS" --pps 1000 --burst-ms 20
	jq_check "$OUT" '. == {vip: "'"$VIP_PPS"'", pps: 1000, bps: 0, burst_ms: 20, limited: true}' \
		"map qos answer"
	status_json "$T/status.json"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_PPS\") | .qos |
		.pps == 1000 and .bps == 0 and .burst_ms == 20)" "limit set by map qos"
	cli 1 map qos 198.18.0.99 --pps 5
	assert_match "$(err)" "198.18.0.99: not a VIP" "unknown VIP"
	cli 2 map qos "$VIP_PPS"
	assert_match "$(err)" "give --pps and/or --bps, or 'off'" "no limit given"
	cli 2 map qos "$VIP_PPS" --bps 100
	assert_match "$(err)" "--bps: 100 is out of range" "bps range"
	status_json "$T/status2.json"
	jq_check "$T/status2.json" "(.vips[] | select(.address == \"$VIP_PPS\") | .qos.pps == 1000)" \
		"refused commands changed nothing"
	cli 0 map qos "$VIP_PPS" off
	status_json "$T/status.json"
	jq_check "$T/status.json" "(.vips[] | select(.address == \"$VIP_PPS\") | has(\"qos\") | not)" \
		"limit removed by map qos off"
}

# Top talkers: three sources send 30, 20 and 10 datagrams to 198.18.0.102
# (after the client's one warm-up datagram); `vipxdp top -j 198.18.0.102`
# lists them heaviest first with exact packet and byte counts (92-byte
# frames; the warm-up's is 106 bytes); the plain report (not a terminal)
# prints them twice with --count 2; an unknown VIP and a bad address are
# refused.
test_top() {
	local i n=(30 20 10)
	warm_up "$VIP_TOP"
	for i in 0 1 2; do
		send_udp "${TALKERS[i]}" "$VIP_TOP" 50 1000 5 "${n[i]}" >/dev/null || fail "sender failed"
	done
	sleep 0.5
	cli 0 -j top "$VIP_TOP"
	jq . "$OUT"
	jq_check "$OUT" ".talkers_sample == 1 and (.vips | length == 1) and
		.vips[0].address == \"$VIP_TOP\" and .vips[0].sources == 4 and
		([.vips[0].talkers[] | [.source, .packets, .bytes]] ==
		 [[\"${TALKERS[0]}\", 30, 2760], [\"${TALKERS[1]}\", 20, 1840], [\"${TALKERS[2]}\", 10, 920],
		  [\"$VX_CLIENT4\", 1, 106]])" \
		"top talkers of $VIP_TOP"
	cli 0 -j top
	jq_check "$OUT" "([.vips[].address] | sort) == [\"$VIP_PPS\", \"$VIP_BPS\", \"$VIP_TOP\"] and
		(.vips[] | select(.address == \"$VIP_PPS\") | .talkers[0].source == \"$VX_CLIENT4\") and
		(.vips[] | select(.address == \"$VIP_TOP\") | .sources == 4)" \
		"top over every VIP"
	cli 0 -j stats
	jq_check "$OUT" "(.vips[] | select(.address == \"$VIP_TOP\") | [.talkers[] | [.source, .packets, .bytes]]) ==
		[[\"${TALKERS[0]}\", 30, 2760], [\"${TALKERS[1]}\", 20, 1840], [\"${TALKERS[2]}\", 10, 920]]" \
		"top talkers in stats"
	cli 0 stats
	grep -Fx "    top talkers: ${TALKERS[0]} 30 pkts 2760 bytes, ${TALKERS[1]} 20 pkts 1840 bytes, ${TALKERS[2]} 10 pkts 920 bytes" \
		"$OUT" || fail "top talkers in the text stats"
	cli 0 top "$VIP_TOP" --interval 1 --count 2
	[ "$(grep -c "^vip $VIP_TOP (talkers)  (4 sources)" "$OUT")" = 2 ] || fail "two plain reports"
	grep -Eq "^ +${TALKERS[0]//./\\.} +30 +2760 " "$OUT" || fail "plain report row"
	cli 1 top 198.18.0.99
	assert_match "$(err)" "198.18.0.99 is not a VIP" "unknown VIP"
	cli 2 top 198.18.0.999
	assert_match "$(err)" "not an IPv4 or IPv6 address" "bad address"
}

# Policy errors are reported with their position and change nothing.
test_bad_policy() {
	status_json "$T/before.json"
	sed "s/qos: {bps: $BPS_LIMIT, burst: 200ms}/qos: {bps: 0, burst: 200ms}/" \
		"$VX_RUN/qos.yaml" >"$T/bad.yaml"
	cli 1 apply -c "$T/bad.yaml"
	assert_match "$(err)" "bad.yaml:[0-9]+:[0-9]+: bps 0 out of range" "error message"
	status_json "$T/after.json"
	jq -S 'del(.vips[].qos.passed_packets, .vips[].qos.passed_bytes,
		.vips[].qos.dropped_packets, .vips[].qos.dropped_bytes)' "$T/before.json" >"$T/b"
	jq -S 'del(.vips[].qos.passed_packets, .vips[].qos.passed_bytes,
		.vips[].qos.dropped_packets, .vips[].qos.dropped_bytes)' "$T/after.json" >"$T/a"
	diff "$T/b" "$T/a" || fail "a bad policy changed the state"
}

vx_test test_setup "set-up: receivers, talkers' addresses, load, apply; limits in status"
vx_test test_pps_limit "qos pps 2000: received rate within 10%, counters exact"
vx_test test_bps_limit "qos bps 4 Mbit/s: received rate within 10%"
vx_test test_change_and_remove "qos changed and removed by apply"
vx_test test_map_qos "map qos: set, refuse bad input, off"
vx_test test_top "top: three sources in order with exact counts; plain; errors"
vx_test test_bad_policy "bad qos value: FILE:LINE:COL error, state unchanged"
vx_main "$@"
