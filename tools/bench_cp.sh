#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Control-plane benchmark (run by `make bench` after the data-path one, or
# alone: tools/bench_cp.sh [--vips N] [--backends M] [--runs R]
# [--probes P] [--table-size PRIME]). As root, after `make`.
#
# What it measures, on a policy of N VIPs (default 1000) with one TCP
# service each and M backends per service (default 100):
#   - `vipxdp apply` from scratch (cold: loads the XDP program on two veths,
#     creates the maps, writes every service), R times, each on a new bpffs;
#   - re-apply of the same file (nothing changes);
#   - re-apply with one backend of one service changed (one table rebuilt);
#   - `apply --dry-run` of the changed file against the running state;
#   for each: wall time, user and system CPU time and peak RSS of the vipxdp
#   process (getrusage of the child), median and (min..max) over R runs;
#   - BPF map memory: bytes_memlock (as `bpftool map show` reports it) of
#     every map of this instance, the Maglev tables included, and from it the
#     bytes per VIP and per conntrack entry;
#   - time from `vipxdp map add` (a new UDP service on a new VIP) to the
#     first packet the new table forwards, P times (method below).
#
# Test bed: three network namespaces made here, joined by veth pairs:
#   client  eth0 198.18.0.10/24   --  lb  lbc 198.18.0.1/24
#   backend eth0 198.18.254.2/24  --  lb  lbb 198.18.254.1/24
# vipxdp is loaded on lbc and lbb. The policy's VIPs are 198.18.4.1 and up;
# its backends (198.19.J.K, ports 8000+) need not exist: only the control
# plane is measured on them. The probe VIPs 198.18.250.P are routed by the
# client to the lb. Addresses only from 198.18.0.0/15. Everything (the
# namespaces, the bpffs mounts under the run directory, the processes) is
# removed by a trap, also when interrupted.
#
# First-packet method: a sender in the client namespace sends one UDP
# datagram every ~100 us (sleep-paced; it reports its real rate) to the
# probe VIP, each carrying a sequence number and its send time; before the
# service exists the lb's kernel drops them (no route). A receiver in the
# backend namespace, bound to the backend port, takes the kernel's receive
# timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) of the first datagram that
# arrives and exits. t0 is CLOCK_REALTIME just before `vipxdp map add` is
# started, t1 just after it exits. Reported: first arrival - t0 (the whole
# latency, process start included), the duration of the command
# (t1 - t0), and first arrival - t1 (how long after the command returned the
# first packet arrived; negative: before it returned). Resolution: the
# send interval. Every loop is bounded in packets and time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VIPXDP=$ROOT/build/vipxdp

NVIPS=1000
NBE=100
RUNS=3
PROBES=5
TABLE_SIZE=

usage() {
	sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--vips) NVIPS=$2; shift 2 ;;
	--backends) NBE=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--probes) PROBES=$2; shift 2 ;;
	--table-size) TABLE_SIZE=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "bench_cp: unknown argument '$1'" >&2; usage 2 ;;
	esac
done
for o in vips:NVIPS backends:NBE runs:RUNS probes:PROBES; do
	v=${o#*:}
	[[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || {
		echo "bench_cp: --${o%%:*}: a positive number" >&2
		exit 2
	}
done
[ "$NVIPS" -le 4000 ] || { echo "bench_cp: --vips: at most 4000" >&2; exit 2; }
[ "$NBE" -le 250 ] || { echo "bench_cp: --backends: at most 250" >&2; exit 2; }
[ "$PROBES" -le 250 ] || { echo "bench_cp: --probes: at most 250" >&2; exit 2; }
[ -z "$TABLE_SIZE" ] || [[ $TABLE_SIZE =~ ^[0-9]+$ ]] || {
	echo "bench_cp: --table-size: a prime number" >&2
	exit 2
}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench_cp: needs root (BPF, network namespaces)" >&2
	exit 1
fi
[ -x "$VIPXDP" ] || { echo "bench_cp: $VIPXDP not found: run 'make' first" >&2; exit 1; }
for t in ip bpftool jq python3 ethtool timeout; do
	command -v "$t" >/dev/null || { echo "bench_cp: $t not found (tools/install-deps.sh)" >&2; exit 1; }
done

ID=$$-$RANDOM
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipxdp-benchcp.XXXXXX")
NS_LB=vxcp-$ID-lb
NS_CL=vxcp-$ID-cl
NS_BE=vxcp-$ID-be
NAMESPACES=()
MOUNTS=()
PIDS=()

cleanup() {
	local p m n
	trap - EXIT INT TERM HUP PIPE
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	for n in "${NAMESPACES[@]}"; do
		ip netns del "$n" 2>/dev/null || true
	done
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

ns_add() {
	ip netns add "$1"
	NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# A new bpffs for one state of vipxdp; sets BPFFS.
new_bpffs() {
	BPFFS=$RUN/bpffs.$1
	mkdir -p "$BPFFS"
	mount -t bpf bpf "$BPFFS"
	MOUNTS+=("$BPFFS")
}

vx() { timeout -k 2 120 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$BPFFS" "$@"; }

# ---- test bed ----
ns_add "$NS_LB"
ns_add "$NS_CL"
ns_add "$NS_BE"
ip -n "$NS_LB" link add lbc type veth peer name eth0 netns "$NS_CL"
ip -n "$NS_LB" link add lbb type veth peer name eth0 netns "$NS_BE"
ip -n "$NS_LB" addr add 198.18.0.1/24 dev lbc
ip -n "$NS_LB" addr add 198.18.254.1/24 dev lbb
ip -n "$NS_CL" addr add 198.18.0.10/24 dev eth0
ip -n "$NS_BE" addr add 198.18.254.2/24 dev eth0
ip netns exec "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
	net.ipv4.conf.default.rp_filter=0
for ifc in lbc lbb; do ip -n "$NS_LB" link set "$ifc" up; done
ip -n "$NS_CL" link set eth0 up
ip -n "$NS_BE" link set eth0 up
# GRO on (after both ends are up) so redirected frames are not dropped; tx
# checksum offload off so the client's UDP checksums are complete.
ip netns exec "$NS_BE" ethtool -K eth0 gro on >/dev/null
ip netns exec "$NS_CL" ethtool -K eth0 tx off >/dev/null
ip -n "$NS_CL" route add 198.18.250.0/24 via 198.18.0.1
ip -n "$NS_BE" route add default via 198.18.254.1
BE_MAC=$(ip -n "$NS_BE" -j link show dev eth0 | jq -r '.[0].address')
LB_MAC=$(ip -n "$NS_LB" -j link show dev lbc | jq -r '.[0].address')
ip -n "$NS_LB" neigh replace 198.18.254.2 lladdr "$BE_MAC" dev lbb nud permanent
ip -n "$NS_CL" neigh replace 198.18.0.1 lladdr "$LB_MAC" dev eth0 nud permanent

# ---- helpers ----
cat >"$RUN/rusage.py" <<'EOF'
# rusage.py LOG CMD...: run CMD (stdout and stderr to LOG); print
# "wall user sys maxrss_kb rc" of it (getrusage of the child).
# (os.wait4: the rusage of that child and what it waited for, nothing else.)
import os, subprocess, sys, time
with open(sys.argv[1], "ab") as log:
    t = time.monotonic()
    p = subprocess.Popen(sys.argv[2:], stdout=log, stderr=log)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t
rc = os.waitstatus_to_exitcode(status)
print(f"{wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f} {ru.ru_maxrss} {rc}")
EOF

# Policy: NVIPS VIPs, one TCP service each, NBE backends each. CHANGE=1:
# the first backend of the first service has another port.
gen_policy() {
	awk -v nvips="$NVIPS" -v nbe="$NBE" -v change="$2" -v tsize="$TABLE_SIZE" '
	BEGIN {
		print "settings:"
		print "  hash_seed: 0x5eed1234"
		if (tsize != "")
			print "  table_size: " tsize
		print "interfaces:"
		print "  - name: lbc"
		print "  - name: lbb"
		print "vips:"
		for (i = 0; i < nvips; i++) {
			printf "  - address: 198.18.%d.%d\n", 4 + int(i / 250), 1 + i % 250
			print "    services:"
			print "      - protocol: tcp"
			print "        port: 80"
			print "        health: {type: none}"
			print "        backends:"
			for (j = 0; j < nbe; j++) {
				port = 8000 + int(i / 250)
				if (change && i == 0 && j == 0)
					port = 9000
				printf "          - {address: 198.19.%d.%d, port: %d}\n", j, 1 + i % 250, port
			}
		}
	}' >"$1"
}

RES=$RUN/results
: >"$RES"
# timed LABEL ARGS...: one timed vipxdp command; fails the benchmark on a
# non-zero exit.
timed() {
	local label=$1 line
	shift
	line=$(python3 "$RUN/rusage.py" "$RUN/vipxdp.log" timeout -k 2 120 \
		ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$BPFFS" "$@")
	set -- $line "$@"
	if [ "$5" != 0 ]; then
		echo "bench_cp: '$label' failed (exit $5); log:" >&2
		tail -5 "$RUN/vipxdp.log" >&2
		exit 1
	fi
	echo "$label $1 $2 $3 $4" >>"$RES"
}

# stat LABEL: "median (min..max)" of wall, user, sys, maxrss.
stat_line() {
	python3 - "$RES" "$1" <<'EOF'
import statistics, sys
rows = [l.split()[1:] for l in open(sys.argv[1]) if l.split()[0] == sys.argv[2]]
def f(i, fmt):
    v = [float(r[i]) for r in rows]
    return f"{fmt(statistics.median(v))} ({fmt(min(v))}..{fmt(max(v))})"
s = lambda x: f"{x:.2f}"
m = lambda x: f"{x / 1024:.0f}"
print(f"{len(rows)}  wall {f(0, s)} s  user {f(1, s)} s  sys {f(2, s)} s  peak RSS {f(3, m)} MiB")
EOF
}

POL=$RUN/policy.yaml
POL1=$RUN/policy-1changed.yaml
gen_policy "$POL" 0
gen_policy "$POL1" 1
nb=$((NVIPS * NBE))
echo "== control plane: $NVIPS VIPs x $NBE backends ($nb backends), table_size ${TABLE_SIZE:-default} =="
echo "kernel $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "policy: $(wc -l <"$POL") lines, $(du -k "$POL" | cut -f1) KiB"

# ---- apply: cold, R times on fresh state ----
for ((r = 1; r <= RUNS; r++)); do
	new_bpffs "$r"
	timed cold apply -c "$POL"
	if [ "$r" -lt "$RUNS" ]; then
		vx unload lbc >/dev/null
		vx unload lbb >/dev/null
		umount "$BPFFS"
		# The kernel frees the old maps (500 MiB at the defaults) in the
		# background: let it finish before the next run.
		sleep 3
	fi
done
# Sanity: every service and backend is in the data plane.
vx -j status >"$RUN/status.json"
got=$(jq '[.vips[].services[]] | length' "$RUN/status.json")
gotb=$(jq '[.vips[].services[].backends[]] | length' "$RUN/status.json")
if [ "$got" != "$NVIPS" ] || [ "$gotb" != "$nb" ]; then
	echo "bench_cp: after apply: $got services, $gotb backends (want $NVIPS, $nb)" >&2
	exit 1
fi

for ((r = 1; r <= RUNS; r++)); do
	timed same apply -c "$POL"
done
for ((r = 1; r <= RUNS; r++)); do
	timed dry apply --dry-run -c "$POL1"
done
other=$POL
for ((r = 1; r <= RUNS; r++)); do
	# Alternate, so that every run changes one backend.
	if [ $((r % 2)) = 1 ]; then f=$POL1 other=$POL; else f=$POL other=$POL1; fi
	timed one apply -c "$f"
done
# Against the state now, the other file changes exactly one service.
vx -j apply --dry-run -c "$other" >"$RUN/plan.json"
jq -e '(.changed | length) == 1 and (.added | length) == 0 and (.removed | length) == 0 and
	.unchanged == '"$((NVIPS - 1))" "$RUN/plan.json" >/dev/null || {
	echo "bench_cp: unexpected plan between the two files:" >&2
	jq -c . "$RUN/plan.json" >&2
	exit 1
}

echo
printf '%-48s %s\n' "vipxdp apply -c FILE, from scratch (cold):" "$(stat_line cold)"
printf '%-48s %s\n' "vipxdp apply -c FILE, same file again:" "$(stat_line same)"
printf '%-48s %s\n' "vipxdp apply -c FILE, one backend changed:" "$(stat_line one)"
printf '%-48s %s\n' "vipxdp apply --dry-run -c FILE (1 change):" "$(stat_line dry)"
echo "(runs, then median (min..max); cold = load on 2 veths, create the maps, write everything)"
med() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
cold_med=$(awk '$1 == "cold" {print $2}' "$RES" | med)
cold_cpu=$(awk '$1 == "cold" {print $3 + $4}' "$RES" | med)
if awk -v m="$cold_med" 'BEGIN {exit !(m <= 5)}'; then verdict=meets; else verdict=MISSES; fi
echo "target (issue): apply of 1,000 x 100 in <= 5 s: median cold apply ${cold_med} s wall: $verdict" \
	"(CPU time user+sys ${cold_cpu} s; wall time depends on what else runs: load average $(cut -d' ' -f1 /proc/loadavg))"

# ---- memory ----
# Our maps: every pinned map of this state and the table maps in the
# Maglev outer map; bytes_memlock of each from one `bpftool map show`.
echo
echo "== BPF map memory (bpftool map show: bytes_memlock) =="
for pin in "$BPFFS"/vipxdp/*; do
	[ -f "$pin" ] || continue
	bpftool -j map show pinned "$pin" 2>/dev/null || true
done >"$RUN/pinned.json"
bpftool -j map dump pinned "$BPFFS/vipxdp/vipxdp_maglev" >"$RUN/maglev.json"
bpftool -j map show >"$RUN/maps.json"
python3 - "$RUN" "$NBE" "$(cat /sys/devices/system/cpu/possible)" <<'EOF'
import json, sys
run, nbe, possible = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dec = json.JSONDecoder()
def stream(path):
    text, i, out = open(path).read(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        v, i = dec.raw_decode(text, i)
        out.append(v)
ids = {m["id"] for m in stream(run + "/pinned.json") if "id" in m}  # maps, not links
# Outer map values: the inner map ids, little-endian bytes.
for e in stream(run + "/maglev.json")[0]:
    ids.add(int.from_bytes(bytes(int(b, 16) for b in e["value"]), "little"))
ours = [m for m in stream(run + "/maps.json")[0] if m["id"] in ids]
mib = lambda b: f"{b / 1048576:.2f} MiB"
tables = [m for m in ours if m["name"] == "vipxdp_mtbl"]
for m in sorted((m for m in ours if m["name"] != "vipxdp_mtbl"), key=lambda m: -m["bytes_memlock"]):
    print(f"  {m['name']:<16} {m['type']:<14} max_entries {m['max_entries']:>9}  {mib(m['bytes_memlock'])}")
t = tables[0]["bytes_memlock"]
print(f"  vipxdp_mtbl x {len(tables)} (Maglev tables, {tables[0]['max_entries']} elements of two slots each): "
      f"{mib(sum(m['bytes_memlock'] for m in tables))}, {t} bytes each")
print(f"  total: {mib(sum(m['bytes_memlock'] for m in ours))} in {len(ours)} maps "
      f"(possible CPUs {possible}: per-CPU maps hold one copy per possible CPU)")
by = {m["name"]: m for m in ours}
per = lambda n: by[n]["bytes_memlock"] / by[n]["max_entries"]
pre = per("vipxdp_svc") + per("vipxdp_vip") + nbe * (per("vipxdp_backend") + per("vipxdp_be_st")) + per("vipxdp_svc_st")
print(f"per VIP (1 service, {nbe} backends): Maglev tables {t} bytes x 2 generations = {2 * t} bytes "
      f"({2 * t / 1048576:.2f} MiB; one generation right after a cold apply, both once its table changed);")
print(f"  its entries in the preallocated maps: service {per('vipxdp_svc'):.0f} + VIP {per('vipxdp_vip'):.0f} + "
      f"{nbe} x (backend {per('vipxdp_backend'):.0f} + backend counters {per('vipxdp_be_st'):.0f}) + "
      f"service counters {per('vipxdp_svc_st'):.0f} = {pre:.0f} bytes")
ct = by["vipxdp_ct"]
print(f"per conntrack entry: {per('vipxdp_ct'):.1f} bytes (vipxdp_ct: {ct['type']}, {ct['max_entries']} entries, "
      f"preallocated: {mib(ct['bytes_memlock'])}); one entry per DNAT flow, two per full-NAT or source-NAT flow; full NAT also takes one "
      f"vipxdp_nat entry per flow (hash map without preallocation, {by['vipxdp_nat']['max_entries']} entries at most)")
EOF

# ---- map add -> first forwarded packet ----
cat >"$RUN/recv.py" <<'EOF'
# recv.py PORT TIMEOUT: print "RX_NS SEQ SEND_NS" of the first datagram
# (kernel receive timestamp, CLOCK_REALTIME), or "none" after TIMEOUT s.
import socket, struct, sys
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # asm-generic and x86 value
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
print("ready", flush=True)
try:
    data, anc, _, _ = s.recvmsg(256, 256)
except socket.timeout:
    print("none", flush=True)
    sys.exit(0)
rx = None
for level, typ, val in anc:
    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
        sec, nsec = struct.unpack("qq", val[:16])
        rx = sec * 1000000000 + nsec
seq, sent = data.decode().split()
print(rx, seq, sent, flush=True)
EOF
cat >"$RUN/send.py" <<'EOF'
# send.py ADDR PORT INTERVAL_US MAX_S MAX_PKTS: one datagram "SEQ SEND_NS"
# every INTERVAL_US (sleep-paced), until MAX_S seconds or MAX_PKTS packets
# or SIGTERM; prints "packets seconds".
import signal, socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
gap, max_s, max_n = int(sys.argv[3]) / 1e6, float(sys.argv[4]), int(sys.argv[5])
stop = False
def term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, term)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("sending", flush=True)
t0 = time.monotonic()
n = 0
while not stop and n < max_n and time.monotonic() - t0 < max_s:
    try:
        s.sendto(f"{n} {time.time_ns()}".encode(), (addr, port))
    except OSError:
        pass  # ICMP unreachable from the lb before the service exists
    n += 1
    time.sleep(gap)
print(n, f"{time.monotonic() - t0:.3f}", flush=True)
EOF

echo
echo "== vipxdp map add (new UDP service on a new VIP) -> first packet forwarded by its table =="
: >"$RUN/probe"
for ((p = 1; p <= PROBES; p++)); do
	vip=198.18.250.$p
	port=$((5000 + p))
	timeout -k 2 10 ip netns exec "$NS_BE" python3 "$RUN/recv.py" "$port" 8 >"$RUN/recv.$p" 2>&1 &
	rpid=$!
	PIDS+=("$rpid")
	for ((w = 0; w < 50; w++)); do
		grep -q ready "$RUN/recv.$p" 2>/dev/null && break
		sleep 0.1
	done
	timeout -k 2 10 ip netns exec "$NS_CL" python3 "$RUN/send.py" "$vip" "$port" 100 6 60000 \
		>"$RUN/send.$p" 2>&1 &
	spid=$!
	PIDS+=("$spid")
	for ((w = 0; w < 50; w++)); do
		grep -q sending "$RUN/send.$p" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3 # the sender runs; nothing arrives yet
	t0=$(date +%s%N)
	vx map add "$vip:$port/udp" "198.18.254.2:$port" >>"$RUN/vipxdp.log" 2>&1
	t1=$(date +%s%N)
	wait "$rpid" || true
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" || true
	rx= seq= sent= npk= secs=
	read -r rx seq sent < <(grep -v ready "$RUN/recv.$p") || true
	read -r npk secs < <(grep -v sending "$RUN/send.$p") || true
	if [ -z "${rx:-}" ] || [ "$rx" = none ] || [ "$rx" -lt "$t0" ] || [ "$seq" = 0 ]; then
		echo "  probe $p: bad result (receiver: $(tr '\n' ' ' <"$RUN/recv.$p")): the first forwarded packet must arrive after t0 and must not be the sender's first (seq 0)" >&2
		exit 1
	fi
	echo "$(((rx - t0) / 1000)) $(((t1 - t0) / 1000)) $(((rx - t1) / 1000)) $npk $secs" >>"$RUN/probe"
	awk -v p="$p" -v a="$((rx - t0))" -v c="$((t1 - t0))" -v d="$((rx - t1))" -v seq="$seq" \
		-v n="$npk" -v s="$secs" 'BEGIN {
		printf "  probe %d: first arrival %6.1f ms after t0; map add ran %6.1f ms; arrival - exit %+6.1f ms; first packet seq %s; sender %s pkts in %s s\n",
			p, a / 1e6, c / 1e6, d / 1e6, seq, n, s }'
	vx map del "$vip:$port/udp" >>"$RUN/vipxdp.log" 2>&1
done
python3 - "$RUN/probe" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def f(i):
    v = [r[i] / 1000 for r in rows]
    return f"{statistics.median(v):.1f} ({min(v):.1f}..{max(v):.1f})"
gap = statistics.median(r[4] / r[3] * 1e6 for r in rows)
print(f"map add -> first forwarded packet: {f(0)} ms; map add command: {f(1)} ms; "
      f"arrival - command exit: {f(2)} ms ({len(rows)} probes, median (min..max); "
      f"sender interval {gap:.0f} us)")
EOF
