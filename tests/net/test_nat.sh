#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Full NAT and port forwarding end to end, on the namespace test bed of
# tests/net/topology.sh, through real sockets:
#   - full NAT (services[].nat: fullnat, snat_address): client -> VIP:vport
#     leaves the lb as SNAT:allocated-port -> backend:bport, and the
#     backend's replies to SNAT:port are turned back in XDP on the
#     backend-facing interface. The backends are given NO route to the
#     client: their default routes are removed and the only non-connected
#     route they have is one to the snat address, via their lb gateway.
#     The snat addresses 198.18.1.1 and 2001:db8:3::1 are configured on no
#     interface: only vipxdp's data path handles packets to them. (Were
#     198.18.1.1 an address of the lb, the kernel would drop as a martian
#     source the translated first packet that the data path hands it while
#     a backend's neighbour entry is unresolved, and IPv4 flows would fail.)
#   - port forwarding (vips[].port_forwards): VIP:port -> to:to_port, DNAT
#     with port translation to one target, TCP and a UDP range mapped
#     offset by offset; replies route through the lb (the backends'
#     gateway) as in DNAT mode.
#   - policy validation of port conflicts, and `vipxdp -j status`.
#
# Servers besides the backends' standard ones (:8080, "beN"):
#   - a "peer" HTTP server on every backend, :8090, answering
#     "beN PEER_ADDRESS PEER_PORT" (the connection's source as the backend
#     sees it);
#   - a UDP server on be3, ports 20000-20003, answering each datagram with
#     the port it came in on.
# They are started by the first test, in the backend namespaces, under a
# time limit; lib.sh's clean-up kills every process left in the run's
# namespaces.
#
# Tests run in order and build on each other's state. Client source ports
# given explicitly (curl --local-port) come from 61000-61999, above the
# kernel's ephemeral range, each used once in a run: every such connection is
# a new flow. TAP on stdout; see tests/net/lib.sh.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

SNAT4=198.18.1.1
SNAT6=2001:db8:3::1
PEER_PORT=8090
UDP_LO=20000
UDP_HI=20003
# The batches of fetch_ports (lib.sh) under 60 s.
FETCH_TIMEOUT=60

# The peer server: HTTP/1.0 (one connection per request), dual-stack,
# answers "NAME PEER_ADDRESS PEER_PORT" (IPv4-mapped addresses unmapped).
PEER_PY='
import http.server, socket, sys
name, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host, peer_port = self.client_address[0], self.client_address[1]
        if host.startswith("::ffff:"):
            host = host[7:]
        body = ("%s %s %d\n" % (name, host, peer_port)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
S(("::", port), H).serve_forever()
'

# UDP server on ports LO..HI: answers each datagram with the local port
# ("20002"); logs "PORT PEER_ADDRESS PEER_PORT" to stdout.
UDP_PY='
import selectors, socket, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for p in range(lo, hi + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", p))
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        data, peer = s.recvfrom(2048)
        port = s.getsockname()[1]
        print(port, peer[0], peer[1], flush=True)
        s.sendto(str(port).encode(), peer)
'

# UDP client (python3 starts slowly: one process for several queries):
# udp_client.py ADDR TRIES PORT:SPORT... sends a datagram to ADDR:PORT from
# source port SPORT, up to TRIES times 1 s apart, for each pair in turn;
# prints "PORT ANSWER FROM_ADDRESS:FROM_PORT" per pair, or "PORT - -" when no
# answer came.
UDP_CLIENT_PY='
import socket, sys
addr, tries = sys.argv[1], int(sys.argv[2])
for pair in sys.argv[3:]:
    port, sport = (int(x) for x in pair.split(":"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", sport))
    s.settimeout(1)
    ans = "- -"
    for _ in range(tries):
        s.sendto(b"ping", (addr, port))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        ans = "%s %s:%d" % (data.decode(), peer[0], peer[1])
        break
    print(port, ans, flush=True)
    s.close()
'

# be_routes snat|gateway: the backends' routes outside their own link.
#   snat:    no default route, only the snat addresses via the lb: the
#            backends cannot reach the client.
#   gateway: default routes via the lb (the test bed's set-up).
be_routes() {
	local mode=$1 n ns gw4 gw6
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ns=${NS_BE[n]}
		gw4=198.19.$n.254
		gw6=2001:db8:2:$n::fe
		ip -n "$ns" route del default 2>/dev/null
		ip -n "$ns" -6 route del default 2>/dev/null
		ip -n "$ns" route del "$SNAT4/32" 2>/dev/null
		ip -n "$ns" -6 route del "$SNAT6/128" 2>/dev/null
		if [ "$mode" = snat ]; then
			ip -n "$ns" route add "$SNAT4/32" via "$gw4" || fail "be$n: route to $SNAT4"
			ip -n "$ns" -6 route add "$SNAT6/128" via "$gw6" || fail "be$n: route to $SNAT6"
		else
			ip -n "$ns" route add default via "$gw4" || fail "be$n: default route"
			ip -n "$ns" -6 route add default via "$gw6" || fail "be$n: IPv6 default route"
		fi
	done
}

# udp_ask ADDR TRIES PORT:SPORT...: UDP_CLIENT_PY in the client namespace.
udp_ask() {
	vx_in "$NS_CLIENT" 30 python3 -c "$UDP_CLIENT_PY" "$@"
}

# write_policy FILE: the policy of this file's tests.
#   198.18.0.100: tcp/80 full NAT -> beN:8080, tcp/8000 full NAT -> beN:8090
#     (peer server), both from 198.18.1.1; port forwards tcp/8081 ->
#     be2:8080, tcp/8082 -> be2:8090, udp/10000-10003 -> be3:20000-20003.
#   2001:db8:1::100: tcp/80 and tcp/8000 the same, from 2001:db8:3::1.
write_policy() {
	{
		echo "# test_nat.sh: generated policy"
		policy_interfaces
		echo "vips:"
		echo "  - address: $VX_VIP4"
		echo "    name: nat4"
		fullnat_services 4 "$SNAT4"
		echo "    port_forwards:"
		echo "      - {protocol: tcp, port: 8081, to: $(vx_be4 2), to_port: $VX_BE_PORT}"
		echo "      - {protocol: tcp, port: 8082, to: $(vx_be4 2), to_port: $PEER_PORT}"
		echo "      - {protocol: udp, port: 10000-10003, to: $(vx_be4 3), to_port: $UDP_LO-$UDP_HI}"
		echo "  - address: \"$VX_VIP6\""
		echo "    name: nat6"
		fullnat_services 6 "\"$SNAT6\""
	} >"$1"
}

# fullnat_services FAMILY SNAT_ADDRESS: the "services:" of a VIP of
# write_policy: tcp/80 -> every beN:8080 and tcp/8000 -> every beN:8090 (the
# peer servers), full NAT from SNAT_ADDRESS (as written in YAML).
fullnat_services() {
	local all
	all=$(seq -s ' ' "$VX_NBACKENDS")
	echo "    services:"
	policy_service tcp 80 "$1" "$VX_BE_PORT" "$all" "nat: fullnat" "snat_address: $2"
	policy_service tcp 8000 "$1" "$PEER_PORT" "$all" "nat: fullnat" "snat_address: $2"
}

# Set-up: the peer HTTP servers (every backend, :8090) and the UDP server
# (be3, 20000-20003) start and answer locally; vipxdp loads on every lb
# interface and applies the policy (write_policy) with exit 0. The snat
# addresses are on no lb interface.
test_setup() {
	local n i ok ans
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		vx_in "${NS_BE[n]}" 300 python3 -c "$PEER_PY" "be$n" "$PEER_PORT" \
			</dev/null >"$VX_RUN/peer$n.log" 2>&1 &
	done
	vx_in "${NS_BE[3]}" 300 python3 -c "$UDP_PY" "$UDP_LO" "$UDP_HI" \
		</dev/null >"$VX_RUN/udp3.log" 2>&1 &
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ok=0
		for ((i = 0; i < 50; i++)); do
			ans=$(vx_in "${NS_BE[n]}" 3 curl -s --max-time 1 "http://$(vx_be4 "$n"):$PEER_PORT/")
			if [[ $ans == "be$n $(vx_be4 "$n") "* ]]; then
				ok=1
				break
			fi
			sleep 0.1
		done
		echo "be$n peer server: $ans"
		[ $ok = 1 ] || fail "be$n: peer server does not answer: $(cat "$VX_RUN/peer$n.log")"
	done
	# One process, up to 10 tries (10 s) while the server starts.
	ans=$(vx_in "${NS_BE[3]}" 20 python3 -c "$UDP_CLIENT_PY" "$(vx_be4 3)" 10 "$UDP_HI:0")
	echo "be3 UDP server: $ans"
	[ "$ans" = "$UDP_HI $UDP_HI $(vx_be4 3):$UDP_HI" ] ||
		fail "be3: UDP server does not answer: $(cat "$VX_RUN/udp3.log")"

	ip -n "$NS_LB" addr | grep -Eq "$SNAT4|$SNAT6" && fail "a snat address is configured in the lb"
	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) --mode native
	write_policy "$VX_RUN/nat.yaml"
	cat "$VX_RUN/nat.yaml"
	cli 0 apply -c "$VX_RUN/nat.yaml"
}

# Full NAT, IPv4, backends without a route to the client (checked with
# `ip route get`): HTTP through 198.18.0.100:80 is answered by the backends'
# :8080 servers ("beN"); 50 connections through 198.18.0.100:8000 (the peer
# servers) all succeed, reach at least two backends, and every backend sees
# the snat address 198.18.1.1 as the peer, from an allocated port in
# 1024-65535, a different one for every connection to the same backend.
test_fullnat_ipv4() {
	local n res bad dup
	be_routes snat
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ip -n "${NS_BE[n]}" route
		ip -n "${NS_BE[n]}" route get "$VX_CLIENT4" 2>/dev/null &&
			fail "be$n still has a route to the client"
	done
	require_http "http://$VX_VIP4/" '^be[1-3]$'
	res=$(fetch_ports "http://$VX_VIP4/" 61000 10)
	echo "$res"
	bad=$(awk '$2 != "200/0" || $3 !~ /^be[1-3]$/' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "failed requests through $VX_VIP4:80:"$'\n'"$bad"; }

	require_http "http://$VX_VIP4:8000/" "^be[1-3] $SNAT4 [0-9]+$"
	res=$(fetch_ports "http://$VX_VIP4:8000/" 61010 50)
	echo "$res"
	# Fields: client_port result backend peer_address peer_port
	bad=$(awk -v snat="$SNAT4" '$2 != "200/0" || $3 !~ /^be[1-3]$/ || $4 != snat ||
		$5 < 1024 || $5 > 65535' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "requests failed or saw another peer than $SNAT4:"$'\n'"$bad"; }
	echo "backends: $(awk '{ print $3 }' <<<"$res" | sort | uniq -c | tr '\n' ' ')"
	[ "$(awk '{ print $3 }' <<<"$res" | sort -u | wc -l)" -ge 2 ] ||
		fail "50 connections all went to one backend"
	dup=$(awk '{ print $3, $5 }' <<<"$res" | sort | uniq -d)
	[ -z "$dup" ] || fail "a backend saw the same snat port twice: $dup"
	echo "distinct snat ports: $(awk '{ print $5 }' <<<"$res" | sort -u | wc -l) of 50"
}

# Full NAT, IPv6, backends without a route to the client: HTTP through
# [2001:db8:1::100]:80 is answered by a backend, and 10 connections through
# port 8000 all reach backends that see 2001:db8:3::1 as the peer, each from
# its own port.
test_fullnat_ipv6() {
	local n res bad dup
	be_routes snat
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ip -n "${NS_BE[n]}" -6 route get "$VX_CLIENT6" 2>/dev/null &&
			fail "be$n still has a route to the client"
	done
	require_http "http://[$VX_VIP6]/" '^be[1-3]$'
	require_http "http://[$VX_VIP6]:8000/" "^be[1-3] $SNAT6 [0-9]+$"
	res=$(fetch_ports "http://[$VX_VIP6]:8000/" 61060 10)
	echo "$res"
	bad=$(awk -v snat="$SNAT6" '$2 != "200/0" || $3 !~ /^be[1-3]$/ || $4 != snat' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "requests failed or saw another peer than $SNAT6:"$'\n'"$bad"; }
	dup=$(awk '{ print $3, $5 }' <<<"$res" | sort | uniq -d)
	[ -z "$dup" ] || fail "a backend saw the same snat port twice: $dup"
}

# Port forwarding, TCP, with port translation: 198.18.0.100:8081 is
# be2:8080, 10 connections all answered "be2"; 198.18.0.100:8082 is
# be2:8090, where be2 sees the client's own address (DNAT: the source is
# kept).
test_portfwd_tcp() {
	local res bad
	be_routes gateway
	require_http "http://$VX_VIP4:8081/" '^be2$'
	res=$(fetch_ports "http://$VX_VIP4:8081/" 61100 10)
	echo "$res"
	bad=$(awk '$2 != "200/0" || $3 != "be2"' <<<"$res")
	[ -z "$bad" ] || { dump_reasons; fail "requests through $VX_VIP4:8081 not answered by be2:"$'\n'"$bad"; }
	res=$(fetch_ports "http://$VX_VIP4:8082/" 61110 1)
	echo "$res"
	assert_match "$res" "^61110 200/0 be2 $VX_CLIENT4 61110$" "be2:8090 sees the client"
}

# Port forwarding, UDP range 10000-10003 -> be3:20000-20003, offset by
# offset: a datagram to 198.18.0.100:1000K (K = 0..3) is answered "2000K"
# (the port it reached on be3), from 198.18.0.100:1000K; be3 saw the
# client's address. Port 10004, outside the range, gets no answer.
test_portfwd_udp_range() {
	local k res want
	be_routes gateway
	res=$(udp_ask "$VX_VIP4" 3 10002:61122 10000:61120 10001:61121 10003:61123)
	echo "$res"
	want=$(for k in 2 0 1 3; do echo "$((10000 + k)) $((UDP_LO + k)) $VX_VIP4:$((10000 + k))"; done)
	[ "$res" = "$want" ] || { dump_reasons; fail "answers (VIP_PORT ANSWER FROM) differ from:"$'\n'"$want"; }
	cat "$VX_RUN/udp3.log"
	grep -q "^$((UDP_LO + 2)) $VX_CLIENT4 61122$" "$VX_RUN/udp3.log" ||
		fail "be3 did not see the client $VX_CLIENT4:61122"
	res=$(udp_ask "$VX_VIP4" 1 10004:61124)
	echo "$res"
	assert_eq "$res" "10004 - -" "port 10004 (outside the range)"
}

# A port forward on a service's port is a validation error: `apply` (and
# `apply --dry-run`) exit 1 with "FILE:LINE:COL: port conflict: ..." at the
# port forward, naming the service's position too; the file also changes a
# backend set and a snat address, and none of it is applied (status
# identical before and after); traffic still flows. The same port on the
# other protocol is no conflict (dry run accepted); two overlapping port
# forwards conflict with each other.
test_port_conflict() {
	local f=$T/conflict.yaml g=$T/udp80.yaml h=$T/overlap.yaml
	status_json "$T/before.json"
	# Line numbers matter: the service is at 4:9, the port forward at 13:9.
	printf '%s\n' \
		'vips:' \
		'  - address: 198.18.0.100' \
		'    services:' \
		'      - protocol: tcp' \
		'        port: 80' \
		'        nat: fullnat' \
		'        snat_address: 198.18.1.2' \
		'        backends:' \
		'          - {address: 198.19.1.1, port: 8080}' \
		'          - {address: 198.19.2.1, port: 8080}' \
		'    port_forwards:' \
		'      - {protocol: udp, port: 10000-10003, to: 198.19.3.1, to_port: 20000-20003}' \
		'      - {protocol: tcp, port: 79-81, to: 198.19.2.1, to_port: 8080}' >"$f"
	cli 1 apply -c "$f"
	assert_match "$(err)" "^$f:13:9: port conflict: 198\.18\.0\.100:80/tcp .*also used by the service at 4:9" \
		"conflict message"
	[ "$(grep -c 'port conflict' "$ERR")" = 1 ] || fail "expected exactly one conflict (port 80 only)"
	cli 1 apply -c "$f" --dry-run
	assert_match "$(err)" "^$f:13:9: port conflict: .*also used by the service at 4:9" "conflict message (dry run)"
	cli 1 -j apply -c "$f"
	jq_check "$OUT" '.error | test("port conflict")' "JSON error names the conflict"
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "a rejected policy changed the state"
	require_http "http://$VX_VIP4:8081/" '^be2$'

	# The same port on another protocol is no conflict.
	sed 's/protocol: tcp, port: 79-81/protocol: udp, port: 79-81/' "$f" >"$g"
	cli 0 apply -c "$g" --dry-run
	# Overlapping port forwards conflict with each other.
	printf '%s\n' \
		'vips:' \
		'  - address: 198.18.0.100' \
		'    port_forwards:' \
		'      - {protocol: udp, port: 10000-10003, to: 198.19.3.1, to_port: 20000-20003}' \
		'      - {protocol: udp, port: 10003, to: 198.19.3.1, to_port: 20000}' >"$h"
	cli 1 apply -c "$h" --dry-run
	assert_match "$(err)" "^$h:5:9: port conflict: 198\.18\.0\.100:10003/udp .*also used by the port forward at 4:9" \
		"overlapping port forwards"
	status_json "$T/after2.json"
	diff -u "$T/before.json" "$T/after2.json" || fail "a dry run changed the state"
}

# `vipxdp -j status` shows the full-NAT services with "mode": "fullnat" and
# their "snat_address" (both families), the port forwards with "mode":
# "port-forward" and their single target (the UDP range offset by offset);
# the text status says the same.
test_status() {
	local k
	cli 0 -j status
	jq_check "$OUT" "[$(jq_svc "$VX_VIP4" tcp 80), $(jq_svc "$VX_VIP4" tcp 8000) |
		.mode == \"fullnat\" and .snat_address == \"$SNAT4\" and (.backends | length == 3)] | length == 2 and all" \
		"IPv4 full-NAT services"
	jq_check "$OUT" "[$(jq_svc "$VX_VIP6" tcp 80), $(jq_svc "$VX_VIP6" tcp 8000) |
		.mode == \"fullnat\" and .snat_address == \"$SNAT6\" and (.backends | length == 3)] | length == 2 and all" \
		"IPv6 full-NAT services"
	jq_check "$OUT" "$(jq_svc "$VX_VIP4" tcp 8081) | .mode == \"port-forward\" and (has(\"snat_address\") | not) and
		([.backends[] | {address, port}] == [{\"address\": \"198.19.2.1\", \"port\": 8080}])" \
		"tcp/8081 port forward"
	for ((k = 0; k < 4; k++)); do
		jq_check "$OUT" "$(jq_svc "$VX_VIP4" udp $((10000 + k))) | .mode == \"port-forward\" and
			([.backends[] | {address, port}] == [{\"address\": \"198.19.3.1\", \"port\": $((UDP_LO + k))}])" \
			"udp/$((10000 + k)) port forward"
	done
	jq_check "$OUT" "[.vips[].services[] | select(.mode == \"port-forward\")] | length == 6" "6 port-forward services"
	cli 0 status
	assert_match "$(out)" "tcp/80 +fullnat from $SNAT4" "text status: IPv4 full NAT"
	assert_match "$(out)" "tcp/80 +fullnat from $SNAT6" "text status: IPv6 full NAT"
	assert_match "$(out)" "udp/10002 +port-forward" "text status: port forward"
}

vx_test test_setup "servers on the backends, load, apply the NAT policy"
vx_test test_fullnat_ipv4 "full NAT IPv4: backends without a route to the client see the snat address, 50 flows"
vx_test test_fullnat_ipv6 "full NAT IPv6: backends without a route to the client see the snat address"
vx_test test_portfwd_tcp "port forward tcp 8081 -> be2:8080"
vx_test test_portfwd_udp_range "port forward udp 10000-10003 -> be3:20000-20003, offset by offset"
vx_test test_port_conflict "port conflict rejected with both locations, state unchanged"
vx_test test_status "status: fullnat with snat_address, port-forward"
vx_main "$@"
