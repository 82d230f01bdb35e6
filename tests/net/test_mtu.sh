#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Path MTU discovery through every NAT type: a link with MTU 1280 behind the
# load balancer, and large TCP transfers with DF set across it.
#
# The test bed of tests/net/topology.sh, extended (vx_setup_extra) with two
# routers and a "far" host behind them:
#
#   client -- lb --to-r1-- r1 ==MTU 1280== r2 -- far
#   198.18.8.254/24   .8.1    .9.1    .9.2   .10.254  198.18.10.1/24
#   2001:db8:8::fe/64 ::1     :9::1   :9::2  :a::fe   2001:db8:a::1/64
#
# Every other link has MTU 1500, so the endpoints' TCP (MSS 1460) sends
# full-size segments with DF set (IP_PMTUDISC_DO); r1 cannot forward them
# onto the 1280 link and answers with ICMP "fragmentation needed" (ICMPv6
# "packet too big") quoting the packet as translated by vipxdp. The error goes
# to the translated source (the client for DNAT, port forwards and elastic
# IPs; the snat address for full NAT; the outside server for source NAT) and
# passes the lb, whose XDP program must translate it back (outer and inner
# headers) for the sender to learn the path MTU of its own flow. Without
# that the transfer stalls (the endpoints do no MTU probing: tcp_mtu_probing
# is 0) and the test times out.
#
# Each transfer moves 4 MiB of a fixed pattern; the receiver reports the byte
# count and SHA-256, checked against the sender's. After each, the sender's
# route cache must hold MTU 1280 for the address it sent to (the VIP).
# TAP on stdout; see tests/net/lib.sh.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

SINK_PORT=9000
SOURCE_PORT=9100
NBYTES=$((4 * 1024 * 1024))
EIP4=198.18.0.101
EIP6=2001:db8:1::101
SNAT_VIP4=198.18.0.102
FN_SNAT4=198.18.1.1
FN_SNAT6=2001:db8:3::1
FAR4=198.18.10.1
FAR6=2001:db8:a::1
R1_4=198.18.8.1
R1_6=2001:db8:8::1
LB_R1_IF=to-r1

# The bulk tool. Modes:
#   sink PORT            serve: per connection, read to EOF, answer "COUNT SHA256"
#   send HOST PORT N     send N pattern bytes, half-close, print the answer
#                        and "expect COUNT SHA256"
#   source PORT N        serve: per connection, send N pattern bytes, close
#   recv HOST PORT N     read to EOF, print "COUNT SHA256" and the expected
#                        "expect COUNT SHA256" of N pattern bytes
# Clients and sources set DF (IP_PMTUDISC_DO / IPV6_PMTUDISC_DO); every
# socket operation has a 30 s limit.
BULK_PY='
import hashlib, socket, sys, threading
PAT = bytes(range(251)) * 262
def pattern(n):
    out, h = [], hashlib.sha256()
    while n > 0:
        c = PAT[:min(n, len(PAT))]
        out.append(c); h.update(c); n -= len(c)
    return b"".join(out), h.hexdigest()
def df(s):
    if s.family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 2)      # IP_MTU_DISCOVER = DO
    else:
        s.setsockopt(socket.IPPROTO_IPV6, 23, 2)    # IPV6_MTU_DISCOVER = DO
def serve(port, handler):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port)); srv.listen(16)
    print("listening", port, flush=True)
    while True:
        c, _ = srv.accept()
        c.settimeout(30)
        threading.Thread(target=handler, args=(c,), daemon=True).start()
def sink(c):
    h, n = hashlib.sha256(), 0
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            h.update(b); n += len(b)
        c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
    finally:
        c.close()
def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(30); df(s); s.connect((host, port))
    return s
mode = sys.argv[1]
if mode == "sink":
    serve(int(sys.argv[2]), sink)
elif mode == "source":
    data, _ = pattern(int(sys.argv[3]))
    def src(c):
        try:
            df(c); c.sendall(data)
        finally:
            c.close()
    serve(int(sys.argv[2]), src)
elif mode == "send":
    data, digest = pattern(int(sys.argv[4]))
    s = connect(sys.argv[2], int(sys.argv[3]))
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    print(s.makefile().readline().strip()); print("expect %d %s" % (len(data), digest))
elif mode == "recv":
    s = connect(sys.argv[2], int(sys.argv[3]))
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b: break
        h.update(b); n += len(b)
    print("%d %s" % (n, h.hexdigest()))
    data, digest = pattern(int(sys.argv[4]))
    print("expect %d %s" % (len(data), digest))
'

# The routers and the far host; in the main shell, so that cleanup removes
# them (lib.sh calls this at the end of its set-up).
vx_setup_extra() {
	NS_R1=vx-$VX_ID-r1
	NS_R2=vx-$VX_ID-r2
	NS_FAR=vx-$VX_ID-far
	local ns
	for ns in "$NS_R1" "$NS_R2" "$NS_FAR"; do
		vx_ns_add "$ns" || return 1
	done
	vx_veth "$NS_LB" "$LB_R1_IF" "$NS_R1" eth0 || return 1
	vx_veth "$NS_R1" to-r2 "$NS_R2" to-r1 || return 1
	vx_veth "$NS_R2" to-far "$NS_FAR" eth0 || return 1
	ip -n "$NS_R1" link set to-r2 mtu 1280 || return 1
	ip -n "$NS_R2" link set to-r1 mtu 1280 || return 1

	ip -n "$NS_LB" addr add 198.18.8.254/24 dev "$LB_R1_IF" &&
		ip -n "$NS_LB" addr add 2001:db8:8::fe/64 dev "$LB_R1_IF" nodad &&
		ip -n "$NS_R1" addr add "$R1_4/24" dev eth0 &&
		ip -n "$NS_R1" addr add "$R1_6/64" dev eth0 nodad &&
		ip -n "$NS_R1" addr add 198.18.9.1/24 dev to-r2 &&
		ip -n "$NS_R1" addr add 2001:db8:9::1/64 dev to-r2 nodad &&
		ip -n "$NS_R2" addr add 198.18.9.2/24 dev to-r1 &&
		ip -n "$NS_R2" addr add 2001:db8:9::2/64 dev to-r1 nodad &&
		ip -n "$NS_R2" addr add 198.18.10.254/24 dev to-far &&
		ip -n "$NS_R2" addr add 2001:db8:a::fe/64 dev to-far nodad &&
		ip -n "$NS_FAR" addr add "$FAR4/24" dev eth0 &&
		ip -n "$NS_FAR" addr add "$FAR6/64" dev eth0 nodad || return 1
	ip -n "$NS_LB" link set "$LB_R1_IF" up &&
		ip -n "$NS_R1" link set eth0 up && ip -n "$NS_R1" link set to-r2 up &&
		ip -n "$NS_R2" link set to-r1 up && ip -n "$NS_R2" link set to-far up &&
		ip -n "$NS_FAR" link set eth0 up || return 1

	for ns in "$NS_R1" "$NS_R2"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 || return 1
	done
	# Routes: everything behind r1 via r1; r1 and r2 default towards the
	# lb, far through r2. The client reaches the routers (whose ICMP
	# errors it receives) through the lb.
	ip -n "$NS_LB" route add 198.18.9.0/24 via "$R1_4" &&
		ip -n "$NS_LB" route add 198.18.10.0/24 via "$R1_4" &&
		ip -n "$NS_LB" -6 route add 2001:db8:9::/64 via "$R1_6" &&
		ip -n "$NS_LB" -6 route add 2001:db8:a::/64 via "$R1_6" &&
		ip -n "$NS_R1" route add default via 198.18.8.254 &&
		ip -n "$NS_R1" -6 route add default via 2001:db8:8::fe &&
		ip -n "$NS_R1" route add 198.18.10.0/24 via 198.18.9.2 &&
		ip -n "$NS_R1" -6 route add 2001:db8:a::/64 via 2001:db8:9::2 &&
		ip -n "$NS_R2" route add default via 198.18.9.1 &&
		ip -n "$NS_R2" -6 route add default via 2001:db8:9::1 &&
		ip -n "$NS_FAR" route add default via 198.18.10.254 &&
		ip -n "$NS_FAR" -6 route add default via 2001:db8:a::fe &&
		ip -n "$NS_CLIENT" route add 198.18.8.0/21 via "$VX_LB4" &&
		ip -n "$NS_CLIENT" -6 route add 2001:db8:8::/45 via "$VX_LB6" || return 1

	# As on the other test-bed hosts: GRO and an XDP_PASS program where
	# vipxdp redirects to, full checksums from the senders.
	ip netns exec "$NS_R1" ethtool -K eth0 gro on tx off >/dev/null || return 1
	ip -n "$NS_R1" link set dev eth0 xdpdrv obj "$VX_RUN/xdp_pass.o" sec xdp || return 1
	ip netns exec "$NS_FAR" ethtool -K eth0 tx off >/dev/null || return 1
	for ns in "$NS_CLIENT" "$NS_FAR"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_no_pmtu_disc=0 \
			net.ipv4.tcp_mtu_probing=0 || return 1
	done
}

# mtu_policy FILE MODE: the policy of MODE:
#   lb    VIP 198.18.0.100 / 2001:db8:1::100: tcp/9001 DNAT -> far:9000,
#         tcp/9002 full NAT -> far:9000 (snat 198.18.1.1 / 2001:db8:3::1),
#         port forward tcp/9003 -> far:9000
#   eip   VIP 198.18.0.101 / 2001:db8:1::101, elastic IP of far
#   snat  source NAT of 198.18.10.0/24 through VIP 198.18.0.102
mtu_policy() {
	local ifc
	{
		echo "interfaces:"
		for ifc in $(vx_lb_ifaces) "$LB_R1_IF"; do
			echo "  - {name: $ifc, mode: native}"
		done
		echo "vips:"
		case $2 in
		lb)
			mtu_vip "$VX_VIP4" lb4 "$FAR4" "$FN_SNAT4"
			mtu_vip "\"$VX_VIP6\"" lb6 "\"$FAR6\"" "\"$FN_SNAT6\""
			;;
		eip)
			echo "  - {address: $EIP4, name: eip4, elastic_ip: $FAR4}"
			echo "  - {address: \"$EIP6\", name: eip6, elastic_ip: \"$FAR6\"}"
			;;
		snat)
			echo "  - {address: $SNAT_VIP4, name: out4}"
			echo "snat:"
			echo "  - {source: 198.18.10.0/24, address: $SNAT_VIP4}"
			;;
		esac
	} >"$1"
}

# mtu_vip ADDRESS NAME FAR SNAT: one VIP of the "lb" policy.
mtu_vip() {
	cat <<EOF
  - address: $1
    name: $2
    services:
      - protocol: tcp
        port: 9001
        backends: [{address: $3, port: $SINK_PORT}]
      - protocol: tcp
        port: 9002
        nat: fullnat
        snat_address: $4
        backends: [{address: $3, port: $SINK_PORT}]
    port_forwards:
      - {protocol: tcp, port: 9003, to: $3, to_port: $SINK_PORT}
EOF
}

# apply_mode MODE: apply that policy (exit 0).
apply_mode() {
	mtu_policy "$T/$1.yaml" "$1"
	cat "$T/$1.yaml"
	cli 0 apply -c "$T/$1.yaml"
}

# forget_pmtu NS: drop the path MTUs NS has learnt, so each transfer starts
# at 1500 and must discover 1280 anew.
forget_pmtu() {
	ip -n "$1" route flush cache
	ip -n "$1" -6 route flush cache
}

# expect_pmtu NS DST: NS's route to DST carries the learnt MTU 1280.
expect_pmtu() {
	local r
	r=$(ip -n "$1" route get "$2" 2>&1)
	echo "route get $2 in $1: $r"
	[[ $r =~ mtu\ 1280 ]] || fail "$1 has not learnt path MTU 1280 towards $2"
}

# check_transfer OUTPUT WHAT: the receiver's "COUNT SHA" equals the sender's.
check_transfer() {
	local got want
	sed 's/^/  /' <<<"$1"
	got=$(sed -n 1p <<<"$1")
	want=$(sed -n 2p <<<"$1")
	echo "received: $got; sent: ${want#expect }"
	[ -n "$got" ] && [ "$got" = "${want#expect }" ] || {
		dump_reasons
		fail "$2: transfer incomplete or corrupted"
	}
	[ "${got%% *}" = "$NBYTES" ] || fail "$2: $got bytes, expected $NBYTES"
}

# upload DST PORT WHAT: the client sends 4 MiB with DF to DST:PORT (reaching
# far's sink through the lb), and learns the path MTU of DST.
upload() {
	local res
	forget_pmtu "$NS_CLIENT"
	res=$(vx_in "$NS_CLIENT" 60 python3 -c "$BULK_PY" send "$1" "$2" "$NBYTES" 2>&1)
	check_transfer "$res" "$3"
	expect_pmtu "$NS_CLIENT" "$1"
}

test_setup() {
	local i ans
	vx_in "$NS_FAR" 600 python3 -c "$BULK_PY" sink "$SINK_PORT" \
		</dev/null >"$VX_RUN/sink.log" 2>&1 &
	vx_in "$NS_CLIENT" 600 python3 -c "$BULK_PY" source "$SOURCE_PORT" "$NBYTES" \
		</dev/null >"$VX_RUN/source.log" 2>&1 &
	for ((i = 0; i < 50; i++)); do
		grep -q listening "$VX_RUN/sink.log" && grep -q listening "$VX_RUN/source.log" && break
		sleep 0.1
	done
	grep -q listening "$VX_RUN/sink.log" || fail "sink on far did not start: $(cat "$VX_RUN/sink.log")"
	grep -q listening "$VX_RUN/source.log" || fail "source on the client did not start: $(cat "$VX_RUN/source.log")"
	# The 1280 link is real: far answers a 1252-byte DF ping and r1 refuses
	# a 1253-byte one (1280 = 20 + 8 + 1252).
	check_rc 0 vx_in "$NS_R1" 10 ping -c 1 -W 2 -M do -s 1252 "$FAR4"
	if vx_in "$NS_R1" 10 ping -c 1 -W 2 -M do -s 1253 "$FAR4"; then
		fail "a 1253-byte DF ping crosses the 1280 link"
	fi
	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) "$LB_R1_IF" --mode native
	apply_mode lb
	ans=$(vx_in "$NS_CLIENT" 30 python3 -c "$BULK_PY" send "$VX_VIP4" 9001 1000 2>&1)
	echo "small transfer through the VIP: $ans"
	[ "$(sed -n 1p <<<"$ans")" = "$(sed -n 2p <<<"$ans" | sed 's/^expect //')" ] ||
		fail "a small transfer through the VIP fails"
}

test_dnat_ipv4() { upload "$VX_VIP4" 9001 "DNAT IPv4"; }
test_dnat_ipv6() { upload "$VX_VIP6" 9001 "DNAT IPv6"; }
test_fullnat_ipv4() { upload "$VX_VIP4" 9002 "full NAT IPv4"; }
test_fullnat_ipv6() { upload "$VX_VIP6" 9002 "full NAT IPv6"; }
test_portfwd_ipv4() { upload "$VX_VIP4" 9003 "port forward IPv4"; }
test_portfwd_ipv6() { upload "$VX_VIP6" 9003 "port forward IPv6"; }

test_eip() {
	apply_mode eip
	upload "$EIP4" "$SINK_PORT" "elastic IP IPv4"
	upload "$EIP6" "$SINK_PORT" "elastic IP IPv6"
}

# Source NAT: far (private, behind the 1280 link) downloads 4 MiB from the
# client's source server; the client's segments go to the snat VIP, and r1's
# errors about them, quoting far's address and port, reach the client as
# errors about the VIP.
test_snat() {
	local res
	apply_mode snat
	forget_pmtu "$NS_CLIENT"
	forget_pmtu "$NS_FAR"
	res=$(vx_in "$NS_FAR" 60 python3 -c "$BULK_PY" recv "$VX_CLIENT4" "$SOURCE_PORT" "$NBYTES" 2>&1)
	check_transfer "$res" "source NAT IPv4"
	expect_pmtu "$NS_CLIENT" "$SNAT_VIP4"
}

vx_test test_setup "far host behind an MTU 1280 link, sink and source servers, vipxdp loaded"
vx_test test_dnat_ipv4 "DNAT IPv4: 4 MiB with DF across MTU 1280, path MTU learnt for the VIP"
vx_test test_dnat_ipv6 "DNAT IPv6: 4 MiB with DF across MTU 1280 (packet too big translated)"
vx_test test_fullnat_ipv4 "full NAT IPv4: 4 MiB with DF across MTU 1280 (error to the snat address)"
vx_test test_fullnat_ipv6 "full NAT IPv6: 4 MiB with DF across MTU 1280"
vx_test test_portfwd_ipv4 "port forward IPv4: 4 MiB with DF across MTU 1280"
vx_test test_portfwd_ipv6 "port forward IPv6: 4 MiB with DF across MTU 1280"
vx_test test_eip "elastic IP IPv4 and IPv6: 4 MiB with DF across MTU 1280"
vx_test test_snat "source NAT IPv4: private host downloads 4 MiB with DF across MTU 1280"
vx_main "$@"
