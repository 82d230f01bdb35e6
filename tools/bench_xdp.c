// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP helpers of the end-to-end benchmark (tools/bench_e2e.sh): a UDP packet
 * generator, a backend packet counter and the "ideal redirect" program.
 *
 *   bench_xdp send IFACE --dst-mac MAC --src-ip A --dst-ip A --dport P
 *                  [--sport N] [--ports N] [--size BYTES] [--count N]
 *                  [--duration SECONDS] [--cpu N] [--batch N]
 *       Generate small UDP/IPv4 packets out of IFACE (a veth end in the
 *       current network namespace): tools/bench/e2e_gen.bpf.c runs through
 *       BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES and returns XDP_TX,
 *       which a live-frames run turns into a transmission out of the ingress
 *       interface of the context (IFACE). The program writes the headers of
 *       every frame again (recycled pages keep what the receivers wrote) with
 *       source port N + (iteration % ports). Stops after --count packets or
 *       --duration seconds, whichever comes first, pinned to --cpu. Prints
 *       "sent=N secs=S pps=R".
 *   bench_xdp count IFACE --port P --pin DIR
 *       Attach tools/bench/e2e_count.bpf.c (native XDP, bpf_link) to IFACE:
 *       counts and drops UDP to port P. Link and counter map are pinned as
 *       DIR/link and DIR/pkts (DIR in a bpffs), so they outlive this process;
 *       a counter already pinned as DIR/pkts is reused (removing DIR/link
 *       detaches the program, `count` again re-attaches it).
 *   bench_xdp read DIR
 *       Print the sum over CPUs of the counter pinned at DIR/pkts.
 *   bench_xdp redirect IFACE --to IFACE2[,IFACE3...] --dst-mac MAC[,MAC...] --pin DIR
 *       Attach tools/bench/e2e_redirect.bpf.c to IFACE: the frames go to
 *       the --to interfaces in turn (up to 4), each with its MAC of the
 *       --dst-mac list as destination and the interface's own MAC as source.
 *       The link is pinned as DIR/link; removing the pin (and closing)
 *       detaches it.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "e2e.h"
#include "e2e_gen.skel.h"
#include "e2e_count.skel.h"
#include "e2e_redirect.skel.h"
#include "e2e_redirect.h"

#define PROG "bench_xdp"

static struct {
	const char *ifname, *to, *pin, *dst_mac_arg;
	unsigned char dst_mac[ETH_ALEN];
	int have_dst_mac;
	struct in_addr src_ip, dst_ip;
	int have_src_ip, have_dst_ip;
	long dport, sport, ports, size, cpu, batch, port;
	unsigned long long count;
	double duration;
} opt = {
	.dport = -1, .sport = 1024, .ports = 1024, .size = 64, .cpu = -1, .batch = 64,
	.port = -1, .count = 1000000000ULL, .duration = 5,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " send IFACE --dst-mac MAC --src-ip A --dst-ip A --dport P\n"
		"                 [--sport N] [--ports N] [--size BYTES] [--count N]\n"
		"                 [--duration SECONDS] [--cpu N] [--batch N]\n"
		"       " PROG " count IFACE --port P --pin DIR\n"
		"       " PROG " read DIR\n"
		"       " PROG " redirect IFACE --to IFACE2[,IFACE3...] --dst-mac MAC[,MAC...] --pin DIR\n"
		"Defaults: --sport 1024 --ports 1024 --size 64 (frame bytes without FCS, 60-1500)\n"
		"--count 1000000000 --duration 5 --batch 64; --cpu: stay where started.\n");
}

static int parse_long(const char *name, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s: '%s' is not an integer from %ld to %ld\n", name, s, lo,
			hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned int b[ETH_ALEN];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != ETH_ALEN) {
		fprintf(stderr, PROG ": --dst-mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)\n",
			s);
		return -EINVAL;
	}
	for (int i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff) {
			fprintf(stderr, PROG ": --dst-mac: '%s': byte out of range\n", s);
			return -EINVAL;
		}
		mac[i] = b[i];
	}
	return 0;
}

static int parse_ip4(const char *name, const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, PROG ": %s: '%s' is not an IPv4 address\n", name, s);
		return -EINVAL;
	}
	return 0;
}

enum { O_DST_MAC = 256, O_SRC_IP, O_DST_IP, O_DPORT, O_SPORT, O_PORTS, O_SIZE, O_COUNT,
       O_DURATION, O_CPU, O_BATCH, O_PORT, O_PIN, O_TO };

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dst-mac", required_argument, NULL, O_DST_MAC },
		{ "src-ip", required_argument, NULL, O_SRC_IP },
		{ "dst-ip", required_argument, NULL, O_DST_IP },
		{ "dport", required_argument, NULL, O_DPORT },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "ports", required_argument, NULL, O_PORTS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "cpu", required_argument, NULL, O_CPU },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "port", required_argument, NULL, O_PORT },
		{ "pin", required_argument, NULL, O_PIN },
		{ "to", required_argument, NULL, O_TO },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long v;
	char *end;
	int c, err = 0;

	while (!err && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_DST_MAC:
			/* redirect takes a list (one per --to interface) */
			opt.dst_mac_arg = optarg;
			if (!strchr(optarg, ','))
				err = parse_mac(optarg, opt.dst_mac);
			opt.have_dst_mac = 1;
			break;
		case O_SRC_IP:
			err = parse_ip4("--src-ip", optarg, &opt.src_ip);
			opt.have_src_ip = 1;
			break;
		case O_DST_IP:
			err = parse_ip4("--dst-ip", optarg, &opt.dst_ip);
			opt.have_dst_ip = 1;
			break;
		case O_DPORT:
			err = parse_long("--dport", optarg, 1, 65535, &opt.dport);
			break;
		case O_SPORT:
			err = parse_long("--sport", optarg, 1, 65535, &opt.sport);
			break;
		case O_PORTS:
			err = parse_long("--ports", optarg, 1, 65535, &opt.ports);
			break;
		case O_SIZE:
			err = parse_long("--size", optarg, 60, 1500, &opt.size);
			break;
		case O_COUNT:
			err = parse_long("--count", optarg, 1, 1L << 62, &v);
			opt.count = v;
			break;
		case O_DURATION:
			errno = 0;
			opt.duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.duration > 0) ||
			    opt.duration > 3600) {
				fprintf(stderr, PROG ": --duration: '%s' is not a number of "
					"seconds from 0 to 3600\n", optarg);
				err = -EINVAL;
			}
			break;
		case O_CPU:
			err = parse_long("--cpu", optarg, 0, CPU_SETSIZE - 1, &opt.cpu);
			break;
		case O_BATCH:
			err = parse_long("--batch", optarg, 1, 256, &opt.batch);
			break;
		case O_PORT:
			err = parse_long("--port", optarg, 1, 65535, &opt.port);
			break;
		case O_PIN:
			opt.pin = optarg;
			break;
		case O_TO:
			opt.to = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return err;
}

static int ifindex_of(const char *name)
{
	int idx = if_nametoindex(name);

	if (!idx)
		fprintf(stderr, PROG ": interface '%s': %s\n", name, strerror(errno));
	return idx;
}

static int mac_of(const char *name, unsigned char *mac)
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		fprintf(stderr, PROG ": MAC address of '%s': %s\n", name, strerror(errno));
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	}
	close(fd);
	return err;
}

/* One's complement sum of 16-bit words as they sit in memory, not folded. */
static __u32 sum16(const void *buf, size_t len, __u32 sum)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		__u16 w;

		memcpy(&w, p + i, 2);
		sum += w;
	}
	if (len & 1) {
		__u16 w = 0;

		memcpy(&w, p + len - 1, 1);
		sum += w;
	}
	return sum;
}

static __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_send(void)
{
	unsigned char frame[1500] = { 0 }, src_mac[ETH_ALEN];
	unsigned char *ip = frame + 14, *udp = frame + 34;
	struct e2e_gen_bpf *skel = NULL;
	struct xdp_md ctx_in = { 0 };
	unsigned long long sent = 0, chunk;
	double t0, t1;
	__u16 ulen, tlen;
	__u32 psum;
	int ifindex, err;

	if (!opt.have_dst_mac || !opt.have_src_ip || !opt.have_dst_ip || opt.dport < 0) {
		fprintf(stderr, PROG " send: --dst-mac, --src-ip, --dst-ip and --dport are required\n");
		return 2;
	}
	ifindex = ifindex_of(opt.ifname);
	if (!ifindex || mac_of(opt.ifname, src_mac))
		return 1;
	if (opt.cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, PROG ": pinning to CPU %ld: %s\n", opt.cpu, strerror(errno));
			return 1;
		}
	}

	/* Ethernet, IPv4 (DF, TTL 64, checksum), UDP with source port 0 and
	 * checksum 0: the program adds the port and the checksum. */
	memcpy(frame, opt.dst_mac, ETH_ALEN);
	memcpy(frame + 6, src_mac, ETH_ALEN);
	frame[12] = 0x08;
	tlen = opt.size - 14;
	ulen = tlen - 20;
	ip[0] = 0x45;
	ip[2] = tlen >> 8;
	ip[3] = tlen & 0xff;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &opt.src_ip, 4);
	memcpy(ip + 16, &opt.dst_ip, 4);
	{
		__u16 c = ~fold(sum16(ip, 20, 0));

		memcpy(ip + 10, &c, 2);
	}
	udp[2] = opt.dport >> 8;
	udp[3] = opt.dport & 0xff;
	udp[4] = ulen >> 8;
	udp[5] = ulen & 0xff;
	for (int i = 42; i < opt.size; i++)
		frame[i] = i;
	/* Pseudo-header (addresses, protocol, length) and the UDP datagram. */
	{
		unsigned char ph[4] = { 0, IPPROTO_UDP, ulen >> 8, ulen & 0xff };

		psum = sum16(ip + 12, 8, 0);
		psum = sum16(ph, 4, psum);
		psum = sum16(udp, ulen, psum);
	}

	skel = e2e_gen_bpf__open();
	if (!skel) {
		fprintf(stderr, PROG ": opening the generator program: %s\n", strerror(errno));
		return 1;
	}
	memcpy((void *)skel->rodata->hdr, frame, E2E_GEN_HDR_LEN);
	skel->rodata->csum_base = psum;
	skel->rodata->sport_base = opt.sport;
	skel->rodata->nports = opt.ports;
	err = e2e_gen_bpf__load(skel);
	if (err) {
		fprintf(stderr, PROG ": loading the generator program: %s\n", strerror(-err));
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ctx_in.data_end = opt.size;
	ctx_in.ingress_ifindex = ifindex;
	/* Chunks of about 1/20 s at 20 Mpps, so the deadline is kept. */
	t0 = now();
	t1 = t0;
	while (!stop && sent < opt.count && t1 - t0 < opt.duration) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = opt.size,
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = opt.batch);

		chunk = opt.count - sent;
		if (chunk > 1000000)
			chunk = 1000000;
		o.repeat = chunk;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.e2e_gen), &o);
		if (err && errno != EINTR) {
			err = -errno;
			fprintf(stderr, PROG ": BPF_PROG_TEST_RUN (live frames) on %s: %s\n",
				opt.ifname, strerror(errno));
			goto out;
		}
		err = 0;
		t1 = now();
		/* The program's own count: an interrupted run stops mid-chunk. */
		sent = skel->bss->iter;
	}
	printf("sent=%llu secs=%.3f pps=%.0f\n", sent, t1 - t0, sent / (t1 - t0));
out:
	e2e_gen_bpf__destroy(skel);
	return err ? 1 : 0;
}

static int pin_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", opt.pin, name) >= len) {
		fprintf(stderr, PROG ": --pin: path too long\n");
		return -ENAMETOOLONG;
	}
	return 0;
}

static int attach_pin(struct bpf_program *prog, int ifindex)
{
	struct bpf_link *link;
	char path[4096];
	int err;

	link = bpf_program__attach_xdp(prog, ifindex);
	if (!link) {
		err = -errno;
		fprintf(stderr, PROG ": attaching XDP to '%s': %s\n", opt.ifname, strerror(errno));
		return err;
	}
	err = pin_path(path, sizeof(path), "link");
	if (!err) {
		err = bpf_link__pin(link, path);
		if (err)
			fprintf(stderr, PROG ": pinning the link at %s: %s\n", path, strerror(-err));
	}
	bpf_link__disconnect(link); /* the pin keeps it attached */
	bpf_link__destroy(link);
	return err;
}

static int cmd_count(void)
{
	struct e2e_count_bpf *skel;
	char path[4096];
	int ifindex, map_fd, err;

	if (opt.port < 0 || !opt.pin) {
		fprintf(stderr, PROG " count: --port and --pin are required\n");
		return 2;
	}
	ifindex = ifindex_of(opt.ifname);
	if (!ifindex)
		return 1;
	skel = e2e_count_bpf__open();
	if (!skel) {
		fprintf(stderr, PROG ": opening the counter program: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->port = htons(opt.port);
	/* A counter already pinned there is reused (re-attaching). */
	err = pin_path(path, sizeof(path), "pkts");
	map_fd = err ? -1 : bpf_obj_get(path);
	if (map_fd >= 0) {
		err = bpf_map__reuse_fd(skel->maps.e2e_count_pkts, map_fd);
		close(map_fd);
		if (err)
			fprintf(stderr, PROG ": reusing the counter at %s: %s\n", path,
				strerror(-err));
	}
	if (!err) {
		err = e2e_count_bpf__load(skel);
		if (err)
			fprintf(stderr, PROG ": loading the counter program: %s\n",
				strerror(-err));
	}
	if (!err && map_fd < 0) {
		err = bpf_map__pin(skel->maps.e2e_count_pkts, path);
		if (err)
			fprintf(stderr, PROG ": pinning the counter at %s: %s\n", path,
				strerror(-err));
	}
	err = err ?: attach_pin(skel->progs.e2e_count, ifindex);
	e2e_count_bpf__destroy(skel);
	return err ? 1 : 0;
}

static int cmd_read(const char *dir)
{
	int ncpu = libbpf_num_possible_cpus(), fd;
	unsigned long long total = 0;
	char path[4096];
	__u32 key = 0;
	__u64 *vals;

	if (ncpu < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/pkts", dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, PROG ": counter %s: %s\n", path, strerror(errno));
		return 1;
	}
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals || bpf_map_lookup_elem(fd, &key, vals)) {
		fprintf(stderr, PROG ": reading %s: %s\n", path, strerror(errno));
		free(vals);
		close(fd);
		return 1;
	}
	for (int i = 0; i < ncpu; i++)
		total += vals[i];
	printf("%llu\n", total);
	free(vals);
	close(fd);
	return 0;
}

/* Split a comma-separated list into at most max words (in buf). */
static int split_list(const char *arg, char *buf, size_t bufsz, char **words, int max)
{
	int n = 0;
	char *save = NULL, *w;

	if (strlen(arg) >= bufsz)
		return -1;
	strcpy(buf, arg);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

static int cmd_redirect(void)
{
	char tobuf[256], macbuf[256], *tos[E2E_MAX_TARGETS], *macs[E2E_MAX_TARGETS];
	unsigned char *m;
	struct e2e_redirect_bpf *skel;
	int ifindex, out_ifindex[E2E_MAX_TARGETS], nto, nmac, err = 0, i;
	__u32 key, val;

	if (!opt.to || !opt.have_dst_mac || !opt.pin) {
		fprintf(stderr, PROG " redirect: --to, --dst-mac and --pin are required\n");
		return 2;
	}
	nto = split_list(opt.to, tobuf, sizeof(tobuf), tos, E2E_MAX_TARGETS);
	nmac = split_list(opt.dst_mac_arg, macbuf, sizeof(macbuf), macs, E2E_MAX_TARGETS);
	if (nto < 1 || nto != nmac) {
		fprintf(stderr, PROG " redirect: --to and --dst-mac take lists of the same length, "
				"1 to %d\n", E2E_MAX_TARGETS);
		return 2;
	}
	ifindex = ifindex_of(opt.ifname);
	if (!ifindex)
		return 1;
	skel = e2e_redirect_bpf__open();
	if (!skel) {
		fprintf(stderr, PROG ": opening the redirect program: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < nto && !err; i++) {
		m = (unsigned char *)skel->rodata->macs[i];
		out_ifindex[i] = ifindex_of(tos[i]);
		if (!out_ifindex[i] || parse_mac(macs[i], m) || mac_of(tos[i], m + ETH_ALEN))
			err = -EINVAL;
	}
	skel->rodata->ntargets = nto;
	err = err ?: e2e_redirect_bpf__load(skel);
	if (err && err != -EINVAL)
		fprintf(stderr, PROG ": loading the redirect program: %s\n", strerror(-err));
	for (i = 0; i < nto && !err; i++) {
		key = i;
		val = out_ifindex[i];
		err = bpf_map__update_elem(skel->maps.e2e_tx_port, &key, sizeof(key), &val,
					   sizeof(val), 0);
		if (err)
			fprintf(stderr, PROG ": devmap entry for '%s': %s\n", tos[i],
				strerror(-err));
	}
	err = err ?: attach_pin(skel->progs.e2e_redirect, ifindex);
	e2e_redirect_bpf__destroy(skel);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 3) {
		usage(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	cmd = argv[1];
	opt.ifname = argv[2];
	if (parse_args(argc - 2, argv + 2))
		return 2;
	if (optind != argc - 2) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind + 2]);
		return 2;
	}
	libbpf_set_print(NULL);
	if (!strcmp(cmd, "send"))
		return cmd_send();
	if (!strcmp(cmd, "count"))
		return cmd_count();
	if (!strcmp(cmd, "read"))
		return cmd_read(argv[2]);
	if (!strcmp(cmd, "redirect"))
		return cmd_redirect();
	fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
