#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Source NAT and elastic IPs end to end, on the namespace test bed of
# tests/net/topology.sh, through real sockets:
#   - source NAT (top-level `snat` rules): TCP, UDP and ICMP echo from the
#     private hosts be1..be3 (198.19.0.0/16, 2001:db8:2::/48) to the client
#     leave the lb as 198.18.0.100 / 2001:db8:1::100 and a port (ICMP: an
#     identifier) allocated in the XDP data path; the replies, sent to the
#     VIP, come back to the private host. The client has no route to the
#     private networks: only the translation can make these flows work.
#   - elastic IP (vips[].elastic_ip): 198.18.0.120 is be3, 1:1 and
#     stateless, every protocol, ports kept; be3's own traffic leaves as
#     198.18.0.120, not as the source NAT VIP (the elastic IP wins).
#   - conntrack: entries of source-NAT flows in `conntrack list`, their
#     idle timeouts (settings.conntrack_timeouts), ports of expired flows
#     taken over by new ones, `conntrack flush`; `status` shows the rules.
#
# Servers in the client namespace, started by the first test under a time
# limit (lib.sh's clean-up kills whatever is left in the run's namespaces):
#   - TCP, port 9000, dual-stack: per connection reads one line TAG and
#     answers "TAG PEER_ADDRESS PEER_PORT", then closes; logs the same line
#     to $VX_RUN/tcp.log;
#   - UDP, port 9001, dual-stack: answers each datagram TAG with
#     "TAG PEER_ADDRESS PEER_PORT" (logged to $VX_RUN/udp.log);
#   - an ICMP listener (raw socket) logging "SOURCE ID SEQ" for every echo
#     request the client receives ($VX_RUN/icmp.log).
# (IPv4-mapped peer addresses are shown unmapped.)
#
# Client programs on the private hosts bind explicit source ports from
# 40000-44999, each used by one test only (nothing else on those hosts opens
# connections), so every flow is new to the data path and the same ports
# can be used on two hosts at once. The ICMP echo clients are raw-socket
# python (no ping binary needed) choosing their identifiers. Tests run in
# order and build on each other's state. TAP on stdout; see tests/net/lib.sh.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

EIP4=198.18.0.120
# The interpreter itself: a version manager's python3 shim can cost a second
# per start.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
TCP_PORT=9000
UDP_PORT=9001

TCP_SERVER_PY='
import socket, sys, threading
port, log = int(sys.argv[1]), open(sys.argv[2], "a")
lock = threading.Lock()
def peer(a):
    return a[7:] if a.startswith("::ffff:") else a
def serve(c, addr):
    try:
        c.settimeout(10)
        f = c.makefile("rb")
        tag = f.readline().decode().strip() or "-"
        line = "%s %s %d" % (tag, peer(addr[0]), addr[1])
        with lock:
            log.write(line + "\n")
            log.flush()
        c.sendall((line + "\n").encode())
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", port))
s.listen(1024)
while True:
    c, addr = s.accept()
    threading.Thread(target=serve, args=(c, addr), daemon=True).start()
'

UDP_SERVER_PY='
import socket, sys
port, log = int(sys.argv[1]), open(sys.argv[2], "a")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port))
while True:
    data, addr = s.recvfrom(2048)
    a = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
    line = "%s %s %d" % (data.decode(errors="replace").strip() or "-", a, addr[1])
    log.write(line + "\n")
    log.flush()
    s.sendto(line.encode(), addr)
'

# Logs "SOURCE ID SEQ" of each IPv4 echo request received (the kernel
# answers them as usual).
ICMP_LISTENER_PY='
import socket, struct, sys
log = open(sys.argv[1], "a")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
while True:
    pkt, addr = s.recvfrom(4096)
    ihl = (pkt[0] & 15) * 4
    typ, code, _, ident, seq = struct.unpack("!BBHHH", pkt[ihl:ihl + 8])
    if typ == 8 and code == 0:
        log.write("%s %d %d\n" % (addr[0], ident, seq))
        log.flush()
'

# tcp_client.py DST PORT TAG SPORT_LO SPORT_HI: one connection per source
# port SPORT_LO..SPORT_HI, all opened at once (one thread each, a barrier
# before connect); each sends "TAG-SPORT" and reads the answer line. Prints
# "SPORT ANSWER" per connection in port order, ANSWER "-" when it failed
# (the error follows).
TCP_CLIENT_PY='
import socket, sys, threading
dst, port, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lo, hi = int(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
n = hi - lo + 1
res = {}
bar = threading.Barrier(n)
def one(sp):
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", sp))
        s.settimeout(15)
        try:
            bar.wait(10)
        except threading.BrokenBarrierError:
            pass
        s.connect((dst, port))
        s.sendall(("%s-%d\n" % (tag, sp)).encode())
        ans = s.makefile("rb").readline().decode().strip()
        res[sp] = ans or "- empty answer"
    except OSError as e:
        res[sp] = "- %s" % e
    finally:
        s.close()
ts = [threading.Thread(target=one, args=(sp,)) for sp in range(lo, hi + 1)]
for t in ts:
    t.start()
for t in ts:
    t.join(30)
for sp in range(lo, hi + 1):
    print(sp, res.get(sp, "- no result"), flush=True)
'

# udp_client.py DST PORT TAG TRIES SPORT_LO SPORT_HI: for each source port
# in turn, send "TAG-SPORT" (up to TRIES times, 1 s apart) until answered.
# Prints "SPORT ANSWER" per port, ANSWER "-" when none came.
UDP_CLIENT_PY='
import socket, sys
dst, port, tag, tries = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
lo, hi = int(sys.argv[5]), int(sys.argv[6])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
for sp in range(lo, hi + 1):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", sp))
    s.settimeout(1)
    ans = "-"
    for _ in range(tries):
        s.sendto(("%s-%d" % (tag, sp)).encode(), (dst, port))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        ans = data.decode(errors="replace")
        break
    s.close()
    print(sp, ans, flush=True)
'

# pinger.py DST COUNT IDENT: COUNT ICMP/ICMPv6 echo requests with
# identifier IDENT, sequence 1..COUNT, 1 s apart at most; prints
# "reply FROM ID SEQ" for each matching echo reply and "received N/COUNT"
# last. (A raw socket: no ping binary needed.)
PINGER_PY='
import os, socket, struct, sys, time
dst, count, ident = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v6 = ":" in dst
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    req, rep = 128, 129
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    req, rep = 8, 0
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
got = 0
for seq in range(1, count + 1):
    payload = b"vipxdp-snat-%d" % seq
    hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq)
    c = 0 if v6 else csum(hdr + payload)  # the kernel fills ICMPv6 checksums
    s.sendto(struct.pack("!BBHHH", req, 0, c, ident, seq) + payload, (dst, 0))
    end = time.monotonic() + 1
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            pkt, addr = s.recvfrom(4096)
        except socket.timeout:
            break
        off = 0 if v6 else (pkt[0] & 15) * 4
        typ, code, _, i, sq = struct.unpack("!BBHHH", pkt[off:off + 8])
        if typ == rep and i == ident and sq == seq:
            print("reply", addr[0], i, sq, flush=True)
            got += 1
            time.sleep(max(0, end - time.monotonic() - 0.8))
            break
print("received %d/%d" % (got, count), flush=True)
'

# jq: the status entry of a VIP.
jq_vip() { echo ".vips[] | select(.address == \"$1\")"; }

# write_policy FILE [TIMEOUTS]: the policy of this file's tests; TIMEOUTS
# is a flow-style mapping for settings.conntrack_timeouts ("{udp: 2s}").
#   198.18.0.100, 2001:db8:1::100: VIPs without services, the source NAT
#     addresses of 198.19.0.0/16 and 2001:db8:2::/48;
#   198.18.0.120: elastic IP of be3 (198.19.3.1), ARP on.
write_policy() {
	{
		echo "# test_snat.sh: generated policy"
		if [ -n "${2:-}" ]; then
			echo "settings:"
			echo "  conntrack_timeouts: $2"
		fi
		policy_interfaces
		echo "vips:"
		echo "  - address: $VX_VIP4"
		echo "    name: snat4"
		echo "    arp: true"
		echo "  - address: \"$VX_VIP6\""
		echo "    name: snat6"
		echo "  - address: $EIP4"
		echo "    name: eip-be3"
		echo "    arp: true"
		echo "    elastic_ip: $(vx_be4 3)"
		echo "snat:"
		echo "  - {source: 198.19.0.0/16, address: $VX_VIP4}"
		echo "  - {source: \"2001:db8:2::/48\", address: \"$VX_VIP6\"}"
	} >"$1"
}

# tcp_from N DST TAG LO HI: TCP_CLIENT_PY on beN (output: "SPORT ANSWER").
tcp_from() {
	vx_in "${NS_BE[$1]}" 60 "$PY" -c "$TCP_CLIENT_PY" "$2" "$TCP_PORT" "$3" "$4" "$5"
}

# udp_from NS DST TAG TRIES LO HI: UDP_CLIENT_PY in namespace NS.
udp_from() {
	vx_in "$1" 60 "$PY" -c "$UDP_CLIENT_PY" "$2" "$UDP_PORT" "$3" "$4" "$5" "$6"
}

# ping_from NS DST COUNT IDENT: PINGER_PY in namespace NS.
ping_from() {
	vx_in "$1" 20 "$PY" -c "$PINGER_PY" "$2" "$3" "$4"
}

# ct_json FILE: `vipxdp -j conntrack list` into FILE (not echoed: it can
# hold thousands of entries), the entry count to the log.
ct_json() {
	echo "+ vipxdp -j conntrack list >$1"
	vx_cli -j conntrack list >"$1" 2>"$T/ct.err" || {
		cat "$T/ct.err"
		fail "conntrack list failed"
	}
	echo "  count: $(jq .count "$1")"
}

# Set-up: the client's TCP, UDP and ICMP servers start and answer locally;
# the client has no route to the private networks; vipxdp loads on every
# lb interface and applies the policy (write_policy) with exit 0.
test_setup() {
	local i ans
	vx_in "$NS_CLIENT" 300 "$PY" -c "$TCP_SERVER_PY" "$TCP_PORT" "$VX_RUN/tcp.log" \
		</dev/null >"$VX_RUN/tcp.err" 2>&1 &
	vx_in "$NS_CLIENT" 300 "$PY" -c "$UDP_SERVER_PY" "$UDP_PORT" "$VX_RUN/udp.log" \
		</dev/null >"$VX_RUN/udp.err" 2>&1 &
	vx_in "$NS_CLIENT" 300 "$PY" -c "$ICMP_LISTENER_PY" "$VX_RUN/icmp.log" \
		</dev/null >"$VX_RUN/icmp.err" 2>&1 &
	for ((i = 0; i < 50; i++)); do
		ans=$(vx_in "$NS_CLIENT" 5 "$PY" -c "$TCP_CLIENT_PY" "$VX_CLIENT4" "$TCP_PORT" setup 0 0 2>&1)
		[[ $ans == "0 setup-0 $VX_CLIENT4 "* ]] && break
		sleep 0.1
	done
	echo "TCP server: $ans"
	[[ $ans == "0 setup-0 $VX_CLIENT4 "* ]] || fail "TCP server does not answer: $(cat "$VX_RUN/tcp.err")"
	ans=$(udp_from "$NS_CLIENT" "$VX_CLIENT6" setup 5 0 0)
	echo "UDP server: $ans"
	[[ $ans == "0 setup-0 $VX_CLIENT6 "* ]] || fail "UDP server does not answer: $(cat "$VX_RUN/udp.err")"
	ans=$(ping_from "$NS_CLIENT" "$VX_CLIENT4" 1 7)
	echo "ICMP: $ans"
	for ((i = 0; i < 20; i++)); do
		grep -q "^$VX_CLIENT4 7 1$" "$VX_RUN/icmp.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^$VX_CLIENT4 7 1$" "$VX_RUN/icmp.log" ||
		fail "ICMP listener saw no echo request: $(cat "$VX_RUN/icmp.err" "$VX_RUN/icmp.log")"
	ip -n "$NS_CLIENT" route get "$(vx_be4 1)" 2>/dev/null && fail "the client has a route to be1"
	ip -n "$NS_CLIENT" -6 route get "$(vx_be6 1)" 2>/dev/null && fail "the client has a route to be1 (IPv6)"

	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) --mode native
	write_policy "$VX_RUN/snat.yaml"
	cat "$VX_RUN/snat.yaml"
	cli 0 apply -c "$VX_RUN/snat.yaml"
}

# Source NAT, TCP, IPv4: 200 connections opened at once, 100 from be1 and
# 100 from be2 using the SAME source ports 40000-40099 on both hosts, all
# get their answer; the client's server saw every one of them from
# 198.18.0.100, each from its own port in 1024-65535 (200 distinct ports:
# the allocation gives no live port twice, also for flows that differ only
# in the private address). `conntrack list` has the 200 outbound entries,
# rewritten to exactly the ports the server saw.
test_snat_tcp4() {
	local r1 r2 res bad n
	tcp_from 1 "$VX_CLIENT4" t1-be1 40000 40099 >"$T/be1.out" 2>"$T/be1.err" &
	r1=$!
	tcp_from 2 "$VX_CLIENT4" t1-be2 40000 40099 >"$T/be2.out" 2>"$T/be2.err" &
	r2=$!
	wait "$r1" "$r2"
	res=$(cat "$T/be1.out" "$T/be2.out")
	echo "$res" | head -5
	cat "$T/be1.err" "$T/be2.err"
	# Fields: sport tag peer_address peer_port
	bad=$(awk -v vip="$VX_VIP4" '$2 !~ /^t1-be[12]-/ || $3 != vip || $4 < 1024 || $4 > 65535' <<<"$res")
	[ "$(wc -l <<<"$res")" -eq 200 ] || fail "expected 200 results, got $(wc -l <<<"$res")"
	[ -z "$bad" ] || { dump_reasons; fail "connections failed or the server saw another peer than $VX_VIP4:"$'\n'"$bad"; }
	n=$(grep -c '^t1-be[12]-' "$VX_RUN/tcp.log")
	[ "$n" -eq 200 ] || fail "the server logged $n t1 connections, expected 200"
	bad=$(awk -v vip="$VX_VIP4" '/^t1-/ && $2 != vip' "$VX_RUN/tcp.log")
	[ -z "$bad" ] || fail "the server saw other peers:"$'\n'"$bad"
	n=$(awk '/^t1-/ { print $3 }' "$VX_RUN/tcp.log" | sort -u | wc -l)
	echo "distinct peer ports at the server: $n of 200"
	[ "$n" -eq 200 ] || fail "only $n distinct peer ports for 200 connections: $(awk '/^t1-/ { print $3 }' \
		"$VX_RUN/tcp.log" | sort | uniq -d | tr '\n' ' ')"

	# conntrack: each private flow's outbound entry carries the port the
	# server saw.
	ct_json "$T/ct.json"
	jq -r '.flows[] | select(.protocol == "tcp" and (.reply | not) and
		(.source | test("^198\\.19\\.[12]\\.1:400[0-9][0-9]$")) and .destination == "198.18.0.10:9000") |
		"\(.source) \(.new_source // "-") \(.state)"' "$T/ct.json" | sort >"$T/ct.txt"
	head -3 "$T/ct.txt"
	# "be1-40000 198.18.0.100:PORT" from the conntrack list and from the server.
	sed -E 's/^198\.19\.([12])\.1:([0-9]+) ([^ ]+) .*/t1-be\1-\2 \3/' "$T/ct.txt" | sort >"$T/ct.map"
	awk '/^t1-/ { print $1, $2 ":" $3 }' "$VX_RUN/tcp.log" | sort >"$T/srv.map"
	diff "$T/srv.map" "$T/ct.map" >"$T/map.diff" || {
		head -20 "$T/map.diff"
		fail "conntrack's new_source differs from the peers the server saw"
	}
	bad=$(awk '$3 != "closing"' "$T/ct.txt")
	[ -z "$bad" ] || fail "outbound entries of closed connections not in state closing:"$'\n'"$(head <<<"$bad")"
}

# Source NAT, TCP, IPv6: 20 connections at once from be1 and be2 (10 each,
# same source ports) to [2001:db8:1::10]:9000 all get their answer, and the
# server saw 2001:db8:1::100 as the peer, 20 distinct ports.
test_snat_tcp6() {
	local res bad n
	res=$({
		tcp_from 1 "$VX_CLIENT6" t1v6-be1 40100 40109 &
		tcp_from 2 "$VX_CLIENT6" t1v6-be2 40100 40109
		wait
	})
	echo "$res"
	bad=$(awk -v vip="$VX_VIP6" '$2 !~ /^t1v6-be[12]-/ || $3 != vip' <<<"$res")
	[ "$(wc -l <<<"$res")" -eq 20 ] || fail "expected 20 results"
	[ -z "$bad" ] || { dump_reasons; fail "IPv6 connections failed or saw another peer than $VX_VIP6:"$'\n'"$bad"; }
	n=$(awk '{ print $4 }' <<<"$res" | sort -u | wc -l)
	[ "$n" -eq 20 ] || fail "only $n distinct peer ports for 20 IPv6 connections"
}

# Source NAT, UDP and ICMP echo: a UDP query from be1 (IPv4) and from be2
# (IPv6) to the client's UDP server is answered, the server having seen the
# VIP; be1 and be2 each send 3 echo requests to 198.18.0.10 at the same
# time, both with identifier 4660: each gets its 3 replies, with identifier
# 4660, while the client received 3 requests from 198.18.0.100 with one
# allocated identifier (1024-65535) for each host, two different ones;
# conntrack has both echo flows (state "other") with those identifiers.
# Echo over IPv6 from be1 to 2001:db8:1::10 is answered too.
test_snat_udp_icmp() {
	local res ids n r1 r2 id
	res=$(udp_from "${NS_BE[1]}" "$VX_CLIENT4" t2-be1 3 41000 41000)
	echo "$res"
	[[ $res =~ ^41000\ t2-be1-41000\ $VX_VIP4\ ([0-9]+)$ ]] ||
		{ dump_reasons; fail "UDP from be1: no answer, or the server saw another peer than $VX_VIP4"; }
	res=$(udp_from "${NS_BE[2]}" "$VX_CLIENT6" t2v6-be2 3 41000 41000)
	echo "$res"
	[[ $res =~ ^41000\ t2v6-be2-41000\ $VX_VIP6\ ([0-9]+)$ ]] ||
		{ dump_reasons; fail "UDP from be2 (IPv6): no answer, or the server saw another peer than $VX_VIP6"; }

	ping_from "${NS_BE[1]}" "$VX_CLIENT4" 3 4660 >"$T/ping1.out" 2>&1 &
	r1=$!
	ping_from "${NS_BE[2]}" "$VX_CLIENT4" 3 4660 >"$T/ping2.out" 2>&1 &
	r2=$!
	wait "$r1" "$r2"
	for n in 1 2; do
		echo "be$n:"
		cat "$T/ping$n.out"
		[ "$(grep -c "^reply $VX_CLIENT4 4660 [1-3]$" "$T/ping$n.out")" -eq 3 ] ||
			{ dump_reasons; fail "be$n -> $VX_CLIENT4: not 3 echo replies with identifier 4660"; }
	done
	echo "echo requests at the client (source identifier sequence):"
	cat "$VX_RUN/icmp.log"
	grep -Eq "^198\.19\." "$VX_RUN/icmp.log" && fail "an echo request arrived from a private address"
	[ "$(awk -v vip="$VX_VIP4" '$1 == vip' "$VX_RUN/icmp.log" | wc -l)" -eq 6 ] ||
		fail "the client did not receive 6 echo requests from $VX_VIP4"
	ids=$(awk -v vip="$VX_VIP4" '$1 == vip { print $2 }' "$VX_RUN/icmp.log" | sort | uniq -c |
		awk '$1 == 3 && $2 >= 1024 && $2 <= 65535 { print $2 }')
	[ "$(wc -w <<<"$ids")" -eq 2 ] ||
		fail "expected two identifiers (1024-65535) with 3 requests each, got '$(tr '\n' ' ' <<<"$ids")'"

	ct_json "$T/ct.json"
	for n in 1 2; do
		id=$(jq -r "[.flows[] | select(.protocol == \"icmp\" and (.reply | not) and
			.source == \"$(vx_be4 "$n"):4660\" and .state == \"other\")] |
			if length == 1 then .[0].new_source else \"-\" end" "$T/ct.json")
		echo "be$n echo flow: $id"
		if [[ $id != "$VX_VIP4:"* ]] || ! grep -qx "${id##*:}" <<<"$ids"; then
			fail "no conntrack entry of be$n's echo flow with one of the identifiers seen ('$id')"
		fi
	done

	res=$(ping_from "${NS_BE[1]}" "$VX_CLIENT6" 3 4661)
	echo "$res"
	[ "$(grep -c "^reply $VX_CLIENT6 4661 [1-3]$" <<<"$res")" -eq 3 ] ||
		{ dump_reasons; fail "be1 -> $VX_CLIENT6: not 3 echo replies with identifier 4661"; }
}

# Elastic IP 198.18.0.120 = be3: the client reaches be3's :8080 server
# through it ("be3"), and be3 sees the client's own address (stateless 1:1,
# source kept); be3's own TCP connection and UDP datagram to the client
# arrive from 198.18.0.120 with be3's source port unchanged, though be3 is
# inside the source NAT prefix; echo requests from the client to
# 198.18.0.120 are answered, and so are be3's to the client.
test_elastic_ip() {
	local body res
	body=$(vx_in "$NS_CLIENT" 10 curl -s --max-time 5 "http://$EIP4:$VX_BE_PORT/")
	echo "http://$EIP4:$VX_BE_PORT/ -> $body"
	[ "$body" = be3 ] || { dump_reasons; fail "no answer 'be3' through the elastic IP"; }
	grep "\"GET / HTTP" "$VX_RUN/be3.log" | tail -2
	# (http.server logs IPv4 peers of its dual-stack socket as ::ffff:A.B.C.D)
	grep -Eq "^(::ffff:)?${VX_CLIENT4//./\\.} .*\"GET / HTTP" "$VX_RUN/be3.log" ||
		fail "be3 did not see the client's address"

	res=$(tcp_from 3 "$VX_CLIENT4" t3-be3 42000 42002)
	echo "$res"
	[ "$res" = "$(for p in 42000 42001 42002; do echo "$p t3-be3-$p $EIP4 $p"; done)" ] ||
		{ dump_reasons; fail "be3's connections did not arrive from $EIP4 with their own ports"; }
	res=$(udp_from "${NS_BE[3]}" "$VX_CLIENT4" t3-be3 3 42010 42010)
	echo "$res"
	assert_eq "$res" "42010 t3-be3-42010 $EIP4 42010" "be3's UDP datagram"

	res=$(ping_from "$NS_CLIENT" "$EIP4" 3 4662)
	echo "$res"
	[ "$(grep -c "^reply $EIP4 4662 [1-3]$" <<<"$res")" -eq 3 ] ||
		{ dump_reasons; fail "client -> $EIP4: not 3 echo replies"; }
	res=$(ping_from "${NS_BE[3]}" "$VX_CLIENT4" 2 4663)
	echo "$res"
	[ "$(grep -c "^reply $VX_CLIENT4 4663 [1-2]$" <<<"$res")" -eq 2 ] ||
		{ dump_reasons; fail "be3 -> $VX_CLIENT4: not 2 echo replies"; }
	grep -q "^$EIP4 4663 " "$VX_RUN/icmp.log" || fail "be3's echo requests did not arrive from $EIP4 (id kept)"
}

# Conntrack expiry and port reuse:
#  - 1000 UDP flows from be1 (round A, ports 43000-43999, default 60 s
#    timeout, all alive together) get 1000 distinct ports: a live flow's
#    port is never given to another;
#  - after `apply` with conntrack_timeouts {udp: 2s, tcp_closing: 2s}, a
#    UDP exchange from be1:41100 shows in `conntrack list` as two entries:
#    be1:41100 -> client:9001 with new_source 198.18.0.100:PORT (the port
#    the server saw) and the reply client:9001 -> 198.18.0.100:PORT with
#    new_destination be1:41100; after 4 s without traffic both are idle
#    >= 3 s, and a new exchange from the same be1:41100 is answered and
#    has fresh entries (idle_s < 1.5);
#  - 1000 new UDP flows (round B, ports 44000-44999), once round A has
#    expired, are all answered, and some of them take over ports of round
#    A's expired flows: a flow's first candidate port is taken by round A
#    with probability 1000/64512, so about 15 are expected, and none at all
#    (ports of expired flows kept out of use) has odds of about 2e-7;
#  - `conntrack flush` empties the table: count 0 in JSON.
test_conntrack_expiry() {
	local res port port2 bad n reused
	res=$(udp_from "${NS_BE[1]}" "$VX_CLIENT4" t4a 3 43000 43999)
	bad=$(awk -v vip="$VX_VIP4" '$3 != vip' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "UDP flows not answered or not from $VX_VIP4:"$'\n'"$(head <<<"$bad")"; }
	awk '{ print $4 }' <<<"$res" | sort >"$T/ports.a"
	n=$(sort -u "$T/ports.a" | wc -l)
	echo "round A: $n distinct ports of 1000"
	[ "$n" -eq 1000 ] || fail "a live flow's port was given to another: $(uniq -d "$T/ports.a" | tr '\n' ' ')"

	write_policy "$T/timeouts.yaml" "{udp: 2s, tcp_closing: 2s}"
	cli 0 apply -c "$T/timeouts.yaml"

	res=$(udp_from "${NS_BE[1]}" "$VX_CLIENT4" t4 3 41100 41100)
	echo "$res"
	[[ $res =~ ^41100\ t4-41100\ $VX_VIP4\ ([0-9]+)$ ]] || { dump_reasons; fail "UDP from be1:41100 not answered"; }
	port=${BASH_REMATCH[1]}
	ct_json "$T/ct1.json"
	jq_check "$T/ct1.json" "[.flows[] | select(.protocol == \"udp\" and .source == \"$(vx_be4 1):41100\")] |
		length == 1 and .[0].destination == \"$VX_CLIENT4:$UDP_PORT\" and
		.[0].new_source == \"$VX_VIP4:$port\" and (.[0].reply | not) and .[0].state == \"udp\"" \
		"outbound entry of be1:41100"
	jq_check "$T/ct1.json" "[.flows[] | select(.protocol == \"udp\" and .destination == \"$VX_VIP4:$port\" and
		.source == \"$VX_CLIENT4:$UDP_PORT\")] | length == 1 and .[0].reply and
		.[0].new_destination == \"$(vx_be4 1):41100\" and .[0].idle_s < 2" "reply entry to $VX_VIP4:$port"

	sleep 4
	ct_json "$T/ct2.json"
	jq_check "$T/ct2.json" "[.flows[] | select(.protocol == \"udp\" and (.source == \"$(vx_be4 1):41100\" or
		(.source == \"$VX_CLIENT4:$UDP_PORT\" and .destination == \"$VX_VIP4:$port\"))) |
		.idle_s >= 3] | length == 2 and all" \
		"both entries idle for 3 s or more"
	res=$(udp_from "${NS_BE[1]}" "$VX_CLIENT4" t4 3 41100 41100)
	echo "$res"
	[[ $res =~ ^41100\ t4-41100\ $VX_VIP4\ ([0-9]+)$ ]] ||
		{ dump_reasons; fail "UDP from be1:41100 after expiry not answered"; }
	port2=${BASH_REMATCH[1]}
	echo "NAT port before expiry $port, after $port2"
	ct_json "$T/ct3.json"
	jq_check "$T/ct3.json" "[.flows[] | select(.protocol == \"udp\" and .source == \"$(vx_be4 1):41100\")] |
		length == 1 and .[0].new_source == \"$VX_VIP4:$port2\" and .[0].idle_s < 1.5" \
		"fresh outbound entry of be1:41100"
	jq_check "$T/ct3.json" "[.flows[] | select(.protocol == \"udp\" and .destination == \"$VX_VIP4:$port2\" and
		.source == \"$VX_CLIENT4:$UDP_PORT\")] | length == 1 and .[0].idle_s < 1.5 and
		.[0].new_destination == \"$(vx_be4 1):41100\"" "fresh reply entry"

	# Round A (43000-43999) expired long ago (2 s timeout): round B's
	# flows find their ports free or take them over.
	res=$(udp_from "${NS_BE[1]}" "$VX_CLIENT4" t4b 3 44000 44999)
	bad=$(awk -v vip="$VX_VIP4" '$3 != vip' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "round B UDP flows not answered:"$'\n'"$(head <<<"$bad")"; }
	awk '{ print $4 }' <<<"$res" | sort >"$T/ports.b"
	reused=$(comm -12 "$T/ports.a" "$T/ports.b" | wc -l)
	echo "round B: $(sort -u "$T/ports.b" | wc -l) distinct ports of 1000, $reused taken over from round A"
	[ "$reused" -ge 1 ] || fail "no round B flow got a port of an expired round A flow"

	cli 0 -j conntrack flush
	cat "$OUT"
	cli 0 -j conntrack list
	jq_check "$OUT" '.count == 0 and (.flows | length == 0)' "conntrack list after flush"
}

# `vipxdp -j status` lists both source NAT rules (source prefix and VIP)
# and the elastic IP's private address under its VIP; the text status
# says the same.
test_status() {
	cli 0 -j status
	jq_check "$OUT" ".snat | length == 2" "two snat rules"
	jq_check "$OUT" "[.snat[] | select(.source == \"198.19.0.0/16\" and .address == \"$VX_VIP4\")] | length == 1" \
		"IPv4 snat rule"
	jq_check "$OUT" "[.snat[] | select(.source == \"2001:db8:2::/48\" and .address == \"$VX_VIP6\")] | length == 1" \
		"IPv6 snat rule"
	jq_check "$OUT" "$(jq_vip "$EIP4") | .elastic_ip == \"$(vx_be4 3)\"" "elastic IP of $EIP4"
	jq_check "$OUT" "[$(jq_vip "$VX_VIP4") | has(\"elastic_ip\") | not] | all" "$VX_VIP4 has no elastic IP"
	cli 0 status
	assert_match "$(out)" "198\.19\.0\.0/16 -> $VX_VIP4" "text status: IPv4 snat rule"
	assert_match "$(out)" "2001:db8:2::/48 -> $VX_VIP6" "text status: IPv6 snat rule"
	assert_match "$(out)" "$EIP4.*elastic ip -> $(vx_be4 3)" "text status: elastic IP"
}

vx_test test_setup "servers on the client, load, apply the source NAT / elastic IP policy"
vx_test test_snat_tcp4 "source NAT TCP: 200 concurrent flows from be1 and be2 leave as the VIP, 200 distinct ports"
vx_test test_snat_tcp6 "source NAT TCP over IPv6: 20 flows leave as 2001:db8:1::100"
vx_test test_snat_udp_icmp "source NAT UDP and ICMP echo (IPv4 and IPv6), identifiers translated"
vx_test test_elastic_ip "elastic IP: inbound to be3, be3 outbound as the elastic IP (beats source NAT), ping"
vx_test test_conntrack_expiry "conntrack: idle expiry, fresh entries for a reused source port, port takeover, flush"
vx_test test_status "status: snat rules and elastic IP"
vx_main "$@"
