// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Data-path microbenchmark: nanoseconds per packet of the XDP program,
 * through BPF_PROG_TEST_RUN with repeat.
 *
 * Method. BPF_PROG_TEST_RUN with repeat > 1 runs the program on the same
 * buffer again without restoring it, so a rewriting path would measure its
 * own output from the second iteration on. The program actually test-run is
 * a wrapper (tools/bench/bench_wrap.bpf.c) that on every iteration writes the
 * whole frame again from a template (optionally with a per-iteration source
 * address and port, so every iteration is a different flow) and tail-calls
 * the data path. The same wrapper tail-calling a stub that returns XDP_DROP
 * measures the wrapper, the tail call and the test-run loop. Each run of
 * the data path is followed by a run of the stub with the same iteration
 * count; the data-path figure is the median over the runs of the difference
 * of such a pair, (min..max) its spread. Time is the thread's CPU time
 * around the syscall (CLOCK_THREAD_CPUTIME_ID: sub-nanosecond resolution per
 * packet, time spent preempted by other tasks excluded); -v also prints the
 * kernel's own per-iteration average (integer ns) of every run.
 *
 * Every case also checks that each packet took the intended path: the
 * verdict, the data path's reason counter moved by exactly the number of
 * iterations, and the new-flow counter moved by that number (SYN case) or
 * not at all (conntrack-hit cases).
 *
 * Everything runs in a private network namespace made here (veth pairs,
 * permanent neighbours), as in tests/packet/test_datapath.c, so
 * bpf_fib_lookup resolves next hops. Addresses: 198.18.0.0/15, 2001:db8::/32.
 *
 * Cases 1-3 and 5-10 share one loaded data path with a 65536-entry conntrack
 * table; cases 4 and 11 load a second one with a table that holds 2^20
 * flows, which case 4 visits in the order they were created and case 11 in
 * a scattered one. Two references go with case 4: a user-space read of a
 * random cache line in a region as large as the conntrack hash's bucket
 * array (the machine's memory of the moment), and the conntrack lookup
 * alone (tools/bench/bench_ctref.bpf.c), its runs alternating with the
 * case's: the case less the lookup is what the rest of the path costs.
 * `bench_datapath --help` lists the options; --obj benchmarks another
 * build of the data path (same program and map names), e.g. a prototype.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkt_build.h"
#include "pkt_env.h"
#include "dataplane.h"
#include "vipxdp.skel.h"
#include "bench_wrap.h"
#include "bench_wrap.skel.h"
#include "bench_ctref.skel.h"


#define VIP4 "198.18.0.100"
#define VIP6 "2001:db8:100::1"
#define NONVIP4 "198.18.0.200"
/* Full-NAT service: backends see the SNAT address (vt_be's own) and a port
 * the data path allocates per flow. */
#define VIP4_FULLNAT "198.18.0.107"
#define SNAT4 "198.19.0.254"
/* Whole connections (case 10): one backend, so every connection's replies
 * come from the address its templates carry. */
#define VIP4_CONN "198.18.0.108"
/* Varied sources: 198.19.64.0/18, 16384 addresses. */
#define SRC_BASE ((198u << 24) | (19u << 16) | (64u << 8))
#define TABLE_SIZE 65537
#define SEED 0x5eed1234u

#define CT_SMALL 65536 /* SYN case: a full table, every insert evicts */
/* 1M-flow case, per CPU: twice its flows (one entry each), a power of two as
 * the man page's SIZING advises (the kernel rounds the bucket count up to
 * one: 2.5M entries a CPU would double the bucket array for 20% more). */
#define CT_LARGE 2097152
#define CALIBRATE_ITERS 20000
#define MIN_ITERS 1000000L
#define MAX_ITERS 10000000L
#define MAX_RUNS 15
#define MAX_REPEAT 20

static const char *const be4[] = { "198.19.0.1", "198.19.0.2", "198.19.0.3" };
static const char *const be6[] = { "2001:db8:2::1", "2001:db8:2::2", "2001:db8:2::3" };

static struct {
	const char *obj;
	int runs;
	long iters; /* per run; 0 = calibrate */
	int ms; /* calibration target per run */
	int cpu;
	__u32 ct_large;
	int cycle_log2; /* cases 4 and 11: 2^cycle_log2 flows */
	bool common_lru; /* the conntrack map without BPF_F_NO_COMMON_LRU */
	bool no_route_watch; /* next hops refreshed every epoch, as without the daemon */
	bool no_simple; /* the daemon found policy rules or multipath routes */
	bool no_fc; /* the flow cache off (settings.flow_cache: false) */
	const char *katran; /* Katran's balancer object: measured side by side */
	__u32 talkers; /* settings.talkers_sample of the data path under test */
	unsigned int cases; /* bit n: run case n */
	int repeat; /* passes over the cases, each with everything loaded afresh */
	bool verbose;
} opt = { .runs = 7, .ms = 150, .cpu = -1, .ct_large = CT_LARGE, .cycle_log2 = 20,
	  .cases = ~0u, .repeat = 1 };

static int if_in, if_be;
static __u8 mac_in[6], mac_be[6], mac_client[6];
static struct bench_wrap_bpf *wrap;
static int wrap_fd, stub_fd, progs_fd;
/* The baseline's slot: BENCH_SLOT_STUB_ENCAP for Katran's encapsulated packets. */
static __u32 stub_slot = BENCH_SLOT_STUB;

/* One loaded copy of the data path. */
struct dut {
	struct vipxdp_bpf *skel;
	struct vipxdp_dp dp;
	int prog_fd;
	__u32 svc_ids[4]; /* IPv4, IPv6, IPv4 full NAT, IPv4 one backend */
};

/* ---- environment ---------------------------------------------------- */

static int setup_netns(void)
{
	static const char *const extra[] = {
		"ip route add 198.19.64.0/18 via " CLIENT4 " dev vt_in",
	};

	return pkt_env_setup("bench_datapath", extra, sizeof(extra) / sizeof(extra[0]), &if_in,
			     &if_be);
}


static int add_service(struct dut *d, const char *vip, const char *const *bes, size_t n,
		       const char *snat, __u32 *id)
{
	struct vipxdp_be_spec spec[8] = {};
	struct vipxdp_svc_spec svc = {};
	__u8 fam;

	pkt_env_addr(vip, &svc.family, &svc.vip);
	svc.proto = IPPROTO_TCP;
	svc.port = 80;
	svc.table_size = TABLE_SIZE;
	if (snat) {
		svc.mode = VIPXDP_MODE_FULLNAT;
		pkt_env_addr(snat, &fam, &svc.snat);
	}
	for (size_t i = 0; i < n; i++) {
		pkt_env_addr(bes[i], &spec[i].family, &spec[i].addr);
		spec[i].port = 8080;
		spec[i].weight = 100;
	}
	return vipxdp_dp_set_service(&d->dp, &svc, spec, n, id);
}

static int add_vip(struct dut *d, const char *vip)
{
	struct vipxdp_addr a;
	__u8 family;

	pkt_env_addr(vip, &family, &a);
	return vipxdp_dp_set_vip(&d->dp, family, &a, VIPXDP_VIP_F_ARP, NULL);
}

/* The ELF bytes of --obj FILE, read once. */
static void *obj_bytes;
static size_t obj_size;

static int read_obj(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "bench_datapath: %s: %s\n", path, strerror(errno));
		return -1;
	}
	obj_bytes = malloc(n);
	if (!obj_bytes || fread(obj_bytes, 1, n, f) != (size_t)n) {
		fprintf(stderr, "bench_datapath: %s: short read\n", path);
		return -1;
	}
	obj_size = n;
	fclose(f);
	return 0;
}

/*
 * Load the data path with a conntrack table of ct_size entries and configure
 * two services, their VIPs and both interfaces. The skeleton of the build
 * binds programs and maps by name; with --obj it is given that object's bytes
 * instead of the built-in ones (same names required).
 */
static int dut_load(struct dut *d, __u32 ct_size)
{
	struct vipxdp_cfg cfg = { .hash_seed = SEED, .talkers_sample = opt.talkers,
				  .flags = opt.no_fc ? VIPXDP_CFG_F_NO_FC : 0 };
	__u32 k = BENCH_SLOT_DUT;
	int err;

	memset(d, 0, sizeof(*d));
	d->skel = calloc(1, sizeof(*d->skel));
	if (!d->skel || vipxdp_bpf__create_skeleton(d->skel)) {
		fprintf(stderr, "bench_datapath: out of memory\n");
		return -1;
	}
	if (obj_bytes) {
		d->skel->skeleton->data = obj_bytes;
		d->skel->skeleton->data_sz = obj_size;
	}
	err = bpf_object__open_skeleton(d->skel->skeleton, NULL);
	if (!err && opt.common_lru)
		err = bpf_map__set_map_flags(d->skel->maps.vipxdp_ct,
					     bpf_map__map_flags(d->skel->maps.vipxdp_ct) &
						     ~BPF_F_NO_COMMON_LRU);
	/* Per-CPU LRU lists: each CPU holds 1/ncpus of the table, and the
	 * bench runs on one CPU, so size the table for that CPU's share. */
	if (!err && (bpf_map__map_flags(d->skel->maps.vipxdp_ct) & BPF_F_NO_COMMON_LRU) &&
	    libbpf_num_possible_cpus() > 0)
		ct_size *= libbpf_num_possible_cpus();
	err = err ?: bpf_map__set_max_entries(d->skel->maps.vipxdp_ct, ct_size);
	err = err ?: vipxdp_size_flow_cache(d->skel);
	if (err) {
		fprintf(stderr, "bench_datapath: opening the BPF object: %s\n", strerror(-err));
		return -1;
	}
	err = vipxdp_bpf__load(d->skel);
	if (err) {
		fprintf(stderr, "bench_datapath: loading the BPF object: %s\n", strerror(-err));
		return -1;
	}
	d->prog_fd = bpf_program__fd(d->skel->progs.vipxdp_xdp);

	err = vipxdp_dp_from_skel(&d->dp, d->skel);
	err = err ?: vipxdp_dp_set_cfg(&d->dp, &cfg);
	/* The daemon's route watch, as `vipxdp run` keeps it (no route
	 * changes during a run): on for longer than any run, on a host whose
	 * routing it found simple (the test bed's) unless --no-simple-routing. */
	if (!err && !opt.no_route_watch) {
		struct vipxdp_route rt = { .gen = 1 | (opt.no_simple ? 0 : VIPXDP_ROUTE_SIMPLE),
					   .watch_until = 0xfffffff0u };
		__u32 zero = 0;

		err = bpf_map_update_elem(d->dp.route_fd, &zero, &rt, BPF_ANY) ? -errno : 0;
	}
	err = err ?: vipxdp_dp_set_iface(&d->dp, if_in, mac_in, 0);
	err = err ?: vipxdp_dp_set_iface(&d->dp, if_be, mac_be, 0);
	err = err ?: add_vip(d, VIP4);
	err = err ?: add_vip(d, VIP6);
	err = err ?: add_vip(d, VIP4_FULLNAT);
	err = err ?: add_service(d, VIP4, be4, 3, NULL, &d->svc_ids[0]);
	err = err ?: add_service(d, VIP6, be6, 3, NULL, &d->svc_ids[1]);
	err = err ?: add_service(d, VIP4_FULLNAT, be4, 3, SNAT4, &d->svc_ids[2]);
	err = err ?: add_vip(d, VIP4_CONN);
	err = err ?: add_service(d, VIP4_CONN, be4, 1, NULL, &d->svc_ids[3]);
	if (err) {
		fprintf(stderr, "bench_datapath: data-plane set-up failed: %s\n", strerror(-err));
		return -1;
	}
	/* The wrapper's slot 0 is this copy of the data path. */
	if (bpf_map_update_elem(progs_fd, &k, &d->prog_fd, BPF_ANY)) {
		fprintf(stderr, "bench_datapath: prog array update: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void dut_close(struct dut *d)
{
	__u32 k = BENCH_SLOT_DUT;

	bpf_map_delete_elem(progs_fd, &k);
	vipxdp_bpf__destroy(d->skel);
	d->skel = NULL;
}

static int load_wrapper(void)
{
	__u32 k = BENCH_SLOT_STUB;
	int fd;

	wrap = bench_wrap_bpf__open_and_load();
	if (!wrap) {
		fprintf(stderr, "bench_datapath: loading the wrapper: %s\n", strerror(errno));
		return -1;
	}
	wrap_fd = bpf_program__fd(wrap->progs.bench_wrap);
	stub_fd = bpf_program__fd(wrap->progs.bench_stub);
	progs_fd = bpf_map__fd(wrap->maps.bench_progs);
	if (bpf_map_update_elem(progs_fd, &k, &stub_fd, BPF_ANY)) {
		fprintf(stderr, "bench_datapath: prog array update: %s\n", strerror(errno));
		return -1;
	}
	k = BENCH_SLOT_STUB_ENCAP;
	fd = bpf_program__fd(wrap->progs.bench_stub_encap);
	if (bpf_map_update_elem(progs_fd, &k, &fd, BPF_ANY)) {
		fprintf(stderr, "bench_datapath: prog array update: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- frames ------------------------------------------------------------ */

struct frame {
	__u8 b[BENCH_FRAME_LEN];
};

static struct pkt_desc tcp_desc(int family, const char *src, __u16 sport, const char *dst,
				__u16 dport, __u8 flags)
{
	struct pkt_desc d = {};

	memcpy(d.l2.dmac, mac_in, 6);
	memcpy(d.l2.smac, mac_client, 6);
	d.family = family;
	snprintf(d.saddr, sizeof(d.saddr), "%s", src);
	snprintf(d.daddr, sizeof(d.daddr), "%s", dst);
	d.proto = IPPROTO_TCP;
	d.sport = sport;
	d.dport = dport;
	d.tcp_flags = flags;
	d.seq = 1000;
	d.ack = flags & PKT_ACK ? 2000 : 0;
	d.ttl = 64;
	d.frag_off = family == AF_INET ? PKT_IP_DF : 0;
	d.payload = "hello";
	d.payload_len = flags & PKT_SYN ? 0 : 5;
	d.pad_to = BENCH_FRAME_LEN;
	return d;
}

static void build(const struct pkt_desc *d, struct frame *f)
{
	if (pkt_build(d, f->b, sizeof(f->b)) != BENCH_FRAME_LEN) {
		fprintf(stderr, "bench_datapath: frame does not fit %d bytes\n", BENCH_FRAME_LEN);
		exit(1);
	}
}

/* ---- running ----------------------------------------------------------- */

static double now_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct timing {
	double ns; /* thread CPU time / repeat */
	__u32 kernel_ns; /* the kernel's own per-iteration average */
	__u32 retval;
};

/* Run prog_fd `repeat` times on frame f arriving on ifindex; out may be NULL. */
static int test_run(int prog_fd, const struct frame *f, __u32 ifindex, long repeat,
		    struct timing *t, struct frame *out)
{
	struct xdp_md ctx = { .data = 0, .data_end = BENCH_FRAME_LEN, .ingress_ifindex = ifindex };
	__u8 outbuf[BENCH_FRAME_LEN + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = BENCH_FRAME_LEN,
		    .data_out = outbuf, .data_size_out = sizeof(outbuf), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	double t0, t1;
	int err;

	t0 = now_cpu_ns();
	err = bpf_prog_test_run_opts(prog_fd, &o);
	t1 = now_cpu_ns();
	if (err) {
		fprintf(stderr, "bench_datapath: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	t->ns = (t1 - t0) / repeat;
	t->kernel_ns = o.duration;
	t->retval = o.retval;
	if (out)
		memcpy(out->b, outbuf, BENCH_FRAME_LEN);
	return 0;
}

/* What the wrapper does for a case. */
struct wrap_cfg {
	const struct frame *tmpl;
	int ntmpl; /* power of two, but for BENCH_VARY_CONN4 */
	__u32 vary, flow_mask, port_bits;
	__u32 flow_mul; /* BENCH_VARY_SRC4: odd, 0 = 1 (the flows in order) */
	__u64 client_dst; /* BENCH_VARY_CONN4 */
};

static void wrap_set(const struct wrap_cfg *w)
{
	for (int i = 0; i < w->ntmpl; i++)
		memcpy(wrap->bss->tmpl[i], w->tmpl[i].b, BENCH_FRAME_LEN);
	wrap->bss->tmpl_mask = w->ntmpl - 1;
	wrap->bss->tmpl_count = w->ntmpl;
	wrap->bss->client_dst = w->client_dst;
	wrap->bss->vary = w->vary;
	wrap->bss->flow_mask = w->flow_mask;
	wrap->bss->flow_mul = w->flow_mul ? w->flow_mul : 1;
	wrap->bss->port_bits = w->port_bits;
	wrap->bss->src_base = SRC_BASE;
}

static int run_wrapped(int slot, const struct wrap_cfg *w, __u32 ifindex, long repeat,
		       struct timing *t)
{
	wrap->bss->slot = slot;
	return test_run(wrap_fd, &w->tmpl[0], ifindex, repeat, t, NULL);
}

/* ---- counters ---------------------------------------------------------- */

struct snap {
	__u64 reason[VIPXDP_R_MAX];
	__u64 all;
	__u64 new_flows;
};

static void snapshot(struct dut *d, struct snap *s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_stats *st = calloc(ncpu, sizeof(*st));
	struct vipxdp_lb_stats *lb = calloc(ncpu, sizeof(*lb));
	__u32 zero = 0;

	memset(s, 0, sizeof(*s));
	if (st && !bpf_map_lookup_elem(d->dp.stats_fd, &zero, st))
		for (int c = 0; c < ncpu; c++)
			for (int r = 0; r < VIPXDP_R_MAX; r++) {
				__u64 p = ((struct vipxdp_counter *)&st[c])[r].packets;

				s->reason[r] += p;
				s->all += p;
			}
	for (int i = 0; lb && i < 4; i++)
		if (!bpf_map_lookup_elem(d->dp.svc_stats_fd, &d->svc_ids[i], lb))
			for (int c = 0; c < ncpu; c++)
				s->new_flows += lb[c].new_flows;
	free(st);
	free(lb);
}

static const char *const reason_names[] = VIPXDP_REASON_NAMES;

static const char *verdict_name(__u32 v)
{
	static const char *const n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v < 5 ? n[v] : "?";
}

/* ---- cases ------------------------------------------------------------- */

enum flows_expect { NEW_NONE, NEW_EVERY };

struct result {
	int num;
	const char *name;
	const char *method;
	bool measured;
	double total, base; /* medians, ns per packet */
	double dp, dp_min, dp_max; /* median, min, max of total - base of paired runs */
	long iters;
	int runs;
	__u32 verdict;
	bool ok;
	char check[160];
	/* Katran's rows (--katran): the median and range of vipxdp's figure
	 * over Katran's, run by run (their runs alternate). */
	double ratio, ratio_min, ratio_max;
};

static struct result results[16];
static int nresults;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double tmp[MAX_RUNS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n & 1 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/*
 * The machine's price of one cache miss of case 4: a dependent read of a
 * random cache line in a region as large as the conntrack hash's bucket
 * array (bytes), 4 KB pages as the kernel's vmalloc uses. Each packet of
 * case 4 reads one bucket at random (the entries themselves are read in
 * the order they were created, which the prefetcher partly follows; case
 * 11 reads them at random too), so this, measured just before the case,
 * tells how much of its figure is the memory of the moment. A user-space
 * pointer chase over 2^20 lines (case 4's flow count) in a random cycle;
 * median of 3 runs, ns per read; -1 when the region cannot be had.
 */
static struct {
	double ns;
	size_t bytes;
} mem_ref = { .ns = -1 };

static double mem_chase_ns(size_t bytes)
{
	size_t nlines = bytes / 64, nodes = nlines < (1u << 20) ? nlines : 1u << 20;
	double v[3], t0;
	__u32 *perm;
	char *buf;
	void **p;

	buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -1;
	perm = malloc(nlines * sizeof(*perm));
	if (!perm || nodes < 2) {
		free(perm);
		munmap(buf, bytes);
		return -1;
	}
	madvise(buf, bytes, MADV_NOHUGEPAGE);
	memset(buf, 0, bytes);
	for (size_t i = 0; i < nlines; i++)
		perm[i] = i;
	srandom(SEED);
	for (size_t i = nlines - 1; i > 0; i--) {
		size_t j = ((size_t)random() << 16 ^ (size_t)random()) % (i + 1);
		__u32 x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (size_t i = 0; i < nodes; i++)
		*(void **)(buf + (size_t)perm[i] * 64) = buf + (size_t)perm[(i + 1) % nodes] * 64;
	p = (void **)(buf + (size_t)perm[0] * 64);
	free(perm);
	for (size_t i = 0; i < nodes; i++) /* one lap to warm what can be warmed */
		p = *p;
	for (int r = 0; r < 3; r++) {
		t0 = now_cpu_ns();
		for (size_t i = 0; i < nodes; i++)
			p = *p;
		v[r] = (now_cpu_ns() - t0) / nodes;
	}
	/* Keep the chase from being optimised away. */
	if (!p)
		fprintf(stderr, "bench_datapath: empty chase\n");
	munmap(buf, bytes);
	return median(v, 3);
}

/* Data-path figure: median, min and max of the paired differences. */
/* Median, min and max of v[0..n), n >= 1. */
static void med_range(const double *v, int n, double *med, double *lo, double *hi)
{
	*med = median(v, n);
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

static void spread(double *diff, int n, struct result *r)
{
	med_range(diff, n, &r->dp, &r->dp_min, &r->dp_max);
}

static long pick_iters(double ns_per_iter)
{
	long n;

	if (opt.iters)
		return opt.iters;
	n = (long)(opt.ms * 1e6 / ns_per_iter);
	if (n < MIN_ITERS)
		n = MIN_ITERS;
	if (n > MAX_ITERS)
		n = MAX_ITERS;
	return n / 1000 * 1000;
}

/*
 * Measure one case: the wrapper with the data path (slot 0) and with the
 * stub (slot 1), interleaved, opt.runs times each; check the counters.
 */
/*
 * The runs of case r->num: a calibration, then opt.runs pairs of runs of
 * the data path and of the stub back to back, each of a number of
 * iterations that is a multiple of unit; with BENCH_VARY_CONN4 the wrapper
 * starts again at connection 0 for each run. Fills r's medians and spread
 * and its verdict (the last iteration's); *verdicts_ok says whether every
 * run ended with want_verdict (the stub's with XDP_DROP). Returns the data
 * path's iterations in all.
 */
/*
 * One side of a measurement: a program in the wrapper's slot `slot`, run
 * against the stub in `stub` (its baseline), with the wrapper putting the
 * frame's start back first when restore_head is set (Katran encapsulates).
 * run_sides() fills the rest.
 */
struct side {
	struct result *r;
	int slot, stub;
	bool restore_head;
	__u32 want_verdict;
	long iters;	  /* the program's iterations, calibration included */
	bool verdicts_ok; /* every run gave want_verdict, every stub XDP_DROP */
	double diff[MAX_RUNS]; /* per run: total - base */
};

/* One run of side s, n iterations, and its stub's: the times into t, ts. */
static void run_side(struct side *s, const struct wrap_cfg *w, __u32 ifindex, long n,
		     struct timing *t, struct timing *ts)
{
	bool restart = w->vary == BENCH_VARY_CONN4;

	wrap->bss->restore_head = s->restore_head;
	if (restart)
		wrap->bss->iter = 0;
	run_wrapped(s->slot, w, ifindex, n, t);
	s->iters += n;
	if (restart)
		wrap->bss->iter = 0;
	run_wrapped(s->stub, w, ifindex, n, ts);
	wrap->bss->restore_head = 0;
}

/*
 * Measure ns sides on the same frames (w), opt.runs runs each of the same
 * number of iterations (a multiple of unit), each run of a side followed at
 * once by its stub's. With two sides, their runs alternate (A B, B A, ...),
 * so that the machine's speed, which moves from minute to minute here,
 * weighs on both alike.
 */
static void run_sides(struct side *sd, int ns, const struct wrap_cfg *w, __u32 ifindex,
		      long unit)
{
	double tot[3][MAX_RUNS], base[3][MAX_RUNS];
	long n = CALIBRATE_ITERS / unit * unit;
	struct timing t, ts;

	for (int j = 0; j < ns; j++) {
		sd[j].iters = 0;
		sd[j].verdicts_ok = true;
		run_side(&sd[j], w, ifindex, n, &t, &ts);
		if (j == 0)
			n = pick_iters(t.ns) / unit * unit;
	}
	for (int i = 0; i < opt.runs; i++) {
		for (int o = 0; o < ns; o++) {
			int j = i % 2 ? ns - 1 - o : o;
			struct side *s = &sd[j];

			run_side(s, w, ifindex, n, &t, &ts);
			tot[j][i] = t.ns;
			base[j][i] = ts.ns;
			s->diff[i] = t.ns - ts.ns;
			s->verdicts_ok &= t.retval == s->want_verdict && ts.retval == XDP_DROP;
			s->r->verdict = t.retval;
			if (opt.verbose)
				fprintf(stderr, "  case %d%s run %d: %ld iters, total %.2f ns (kernel %u), "
					"baseline %.2f ns (kernel %u)\n", s->r->num,
					s->r->method[0] == 'K' ? " Katran" : "", i, n, t.ns,
					t.kernel_ns, ts.ns, ts.kernel_ns);
		}
	}
	for (int j = 0; j < ns; j++) {
		sd[j].r->total = median(tot[j], opt.runs);
		sd[j].r->base = median(base[j], opt.runs);
		spread(sd[j].diff, opt.runs, sd[j].r);
		sd[j].r->iters = n;
		sd[j].r->runs = opt.runs;
	}
}

/*
 * Case 4's conntrack lookup alone (tools/bench/bench_ctref.bpf.c): the
 * lookups of its flows in the data path's own table, in its order, with
 * nothing else, through the wrapper and against the stub as the data path
 * is. It is a further side of case 4's measurement, its runs alternating
 * with the case's, so that case 4 less the lookup, run by run, is what the
 * rest of the path costs at the same moment; the lookup itself is the
 * kernel's (the LRU hash's bucket, then the entry).
 */
static struct {
	struct bench_ctref_bpf *skel; /* loaded while case 4 is measured */
	struct result r;
	double ns, over, over_lo, over_hi; /* ns < 0: not measured */
	char check[96];
} lookup_ref = { .ns = -1 };

/* Load the lookup of case 4's flows in d's table into the wrapper's slot
 * BENCH_SLOT_CT_REF; when that fails, the check says why. */
static void lookup_ref_load(struct dut *d)
{
	static const __u32 slot = BENCH_SLOT_CT_REF;
	struct bench_ctref_bpf *ref = bench_ctref_bpf__open();
	int err = ref ? 0 : -errno, fd;

	err = err ?: bpf_map__reuse_fd(ref->maps.ref_ct, bpf_map__fd(d->skel->maps.vipxdp_ct));
	err = err ?: bench_ctref_bpf__load(ref);
	if (!err) {
		fd = bpf_program__fd(ref->progs.bench_ct_ref);
		err = bpf_map_update_elem(progs_fd, &slot, &fd, BPF_ANY) ? -errno : 0;
	}
	if (err) {
		snprintf(lookup_ref.check, sizeof(lookup_ref.check), "not measured: %s",
			 strerror(-err));
		bench_ctref_bpf__destroy(ref);
		return;
	}
	lookup_ref.skel = ref;
}

static void lookup_ref_unload(void)
{
	static const __u32 slot = BENCH_SLOT_CT_REF;

	if (!lookup_ref.skel)
		return;
	bpf_map_delete_elem(progs_fd, &slot);
	bench_ctref_bpf__destroy(lookup_ref.skel);
	lookup_ref.skel = NULL;
}

/* The lookup's side of case 4's measurement, once wrap_set() gave the
 * wrapper the case's flows: the lookup follows the same ones. */
static struct side lookup_ref_side(void)
{
	struct bench_ctref_bpf *ref = lookup_ref.skel;

	ref->bss->flow_mask = wrap->bss->flow_mask;
	ref->bss->flow_mul = wrap->bss->flow_mul;
	ref->bss->port_bits = wrap->bss->port_bits;
	ref->bss->src_base = wrap->bss->src_base;
	inet_pton(AF_INET, VIP4, &ref->bss->daddr);
	ref->bss->dport = htons(80);
	lookup_ref.r = (struct result){ .num = 4, .name = "conntrack lookup alone", .method = "W-S" };
	return (struct side){ .r = &lookup_ref.r, .slot = BENCH_SLOT_CT_REF, .stub = stub_slot,
			      .want_verdict = XDP_DROP };
}

/* Its result, once run beside case 4's side c: every lookup found its
 * flow, and case 4 less the lookup run by run. */
static void lookup_ref_result(const struct side *c, const struct side *l)
{
	const struct bench_ctref_bpf *ref = lookup_ref.skel;
	double over[MAX_RUNS];

	snprintf(lookup_ref.check, sizeof(lookup_ref.check), "%s: %llu lookups, %llu found nothing",
		 l->verdicts_ok && !ref->bss->misses && ref->bss->n == (__u64)l->iters ? "ok" : "FAIL",
		 (unsigned long long)ref->bss->n, (unsigned long long)ref->bss->misses);
	for (int i = 0; i < opt.runs; i++)
		over[i] = c->diff[i] - l->diff[i];
	med_range(over, opt.runs, &lookup_ref.over, &lookup_ref.over_lo, &lookup_ref.over_hi);
	lookup_ref.ns = l->r->dp;
}

/* One side: the program under test against stub_slot's stub. */
static long run_pairs(struct result *r, const struct wrap_cfg *w, __u32 ifindex, long unit,
		      __u32 want_verdict, bool *verdicts_ok)
{
	struct side s = { .r = r, .slot = BENCH_SLOT_DUT, .stub = stub_slot,
			  .want_verdict = want_verdict };

	run_sides(&s, 1, w, ifindex, unit);
	*verdicts_ok = s.verdicts_ok;
	return s.iters;
}

/* Katran beside the data path under test (--katran): loaded in the
 * wrapper's slot BENCH_SLOT_KAT for the cases it has, else NULL. */
struct kat;
static struct kat *kat_on;
static void kat_misses(struct kat *k, __u64 *syn, __u64 *other);
static long kat_create(struct kat *k, struct wrap_cfg *w, const struct frame *syn, long n);

/* What a case expects of Katran's side: its row's name, its verdict, and
 * whether every packet is an LRU miss of a SYN. */
struct kat_expect {
	const char *name;
	__u32 verdict;
	bool syn_miss;
};

/* Katran's row of a side-by-side case: its checks, and vipxdp's figure over
 * its own run by run (v: vipxdp's side, k: Katran's). */
static void kat_result(const struct side *v, const struct side *k, const struct kat_expect *ke,
		       __u64 syn_misses, __u64 other_misses)
{
	struct result *r = k->r;
	__u64 want_s = ke->syn_miss ? (__u64)k->iters : 0;
	double ratio[MAX_RUNS];

	r->ok = k->verdicts_ok && syn_misses == want_s && other_misses == 0;
	snprintf(r->check, sizeof(r->check), "%s: verdict %s, LRU misses %llu SYN (want %llu), "
		 "%llu other (want 0)", r->ok ? "ok" : "FAIL", verdict_name(r->verdict),
		 (unsigned long long)syn_misses, (unsigned long long)want_s,
		 (unsigned long long)other_misses);
	for (int i = 0; i < opt.runs; i++)
		ratio[i] = k->diff[i] > 0 ? v->diff[i] / k->diff[i] : 0;
	r->ratio = median(ratio, opt.runs);
	r->ratio_min = r->ratio_max = ratio[0];
	for (int i = 1; i < opt.runs; i++) {
		r->ratio_min = ratio[i] < r->ratio_min ? ratio[i] : r->ratio_min;
		r->ratio_max = ratio[i] > r->ratio_max ? ratio[i] : r->ratio_max;
	}
}

/*
 * Measure a case of the data path under test (its row: num, name, method)
 * and check what it did: every packet ended with want_verdict and reason
 * want_reason, and made a new flow or none (flows). With ke and Katran
 * loaded (kat_on), Katran's balancer is measured on the same frames, its
 * runs alternating with vipxdp's, in a row of its own.
 */
static struct result *measure_vs(struct dut *d, const struct kat_expect *ke, int num,
				 const char *name, const char *method, const struct wrap_cfg *w,
				 __u32 ifindex, __u32 want_verdict, int want_reason,
				 enum flows_expect flows)
{
	struct result *r = &results[nresults++];
	struct side sd[3] = {
		{ .r = r, .slot = BENCH_SLOT_DUT, .stub = stub_slot, .want_verdict = want_verdict },
	};
	bool kat = ke && kat_on, lookup = num == 4 && lookup_ref.skel;
	struct snap before, after;
	__u64 ks0 = 0, ko0 = 0, ks1 = 0, ko1 = 0;
	bool verdicts_ok;
	long dut_iters;
	int ns = 1;

	r->num = num;
	r->name = name;
	r->method = method;
	r->measured = true;
	if (kat) {
		struct result *kr = &results[nresults++];

		kr->num = num;
		kr->name = ke->name;
		kr->method = "K";
		kr->measured = true;
		/* Katran's baseline moves the frame's start as its IPIP
		 * encapsulation does. */
		sd[1] = (struct side){ .r = kr, .slot = BENCH_SLOT_KAT, .restore_head = true,
				       .stub = ke->verdict == XDP_TX ? BENCH_SLOT_STUB_ENCAP
								     : BENCH_SLOT_STUB,
				       .want_verdict = ke->verdict };
		ns = 2;
		kat_misses(kat_on, &ks0, &ko0);
	}
	wrap_set(w);
	if (lookup)
		sd[ns++] = lookup_ref_side();
	snapshot(d, &before);
	run_sides(sd, ns, w, ifindex, 1);
	snapshot(d, &after);
	if (kat) {
		kat_misses(kat_on, &ks1, &ko1);
		kat_result(&sd[0], &sd[1], ke, ks1 - ks0, ko1 - ko0);
	}
	if (lookup)
		lookup_ref_result(&sd[0], &sd[ns - 1]);
	dut_iters = sd[0].iters;
	verdicts_ok = sd[0].verdicts_ok;

	__u64 moved = after.reason[want_reason] - before.reason[want_reason];
	__u64 all = after.all - before.all;
	__u64 nf = after.new_flows - before.new_flows;
	__u64 want_nf = flows == NEW_EVERY ? (__u64)dut_iters : 0;

	r->ok = verdicts_ok && moved == (__u64)dut_iters && all == (__u64)dut_iters &&
		nf == want_nf;
	if (r->ok)
		snprintf(r->check, sizeof(r->check), "ok: %s x%ld, new flows %llu",
			 reason_names[want_reason], dut_iters, (unsigned long long)nf);
	else
		snprintf(r->check, sizeof(r->check),
			 "FAIL: verdict %s%s, %s moved %llu of %ld (all reasons %llu), "
			 "new flows %llu (want %llu)",
			 verdict_name(r->verdict), verdicts_ok ? "" : " (unexpected)",
			 reason_names[want_reason], (unsigned long long)moved, dut_iters,
			 (unsigned long long)all, (unsigned long long)nf,
			 (unsigned long long)want_nf);
	return r;
}

static struct result *measure(struct dut *d, int num, const char *name, const char *method,
			      const struct wrap_cfg *w, __u32 ifindex, __u32 want_verdict,
			      int want_reason, enum flows_expect flows)
{
	return measure_vs(d, NULL, num, name, method, w, ifindex, want_verdict, want_reason, flows);
}

/* Run one frame through the data path itself (no wrapper), once. */
static __u32 run_once(struct dut *d, const struct frame *f, __u32 ifindex, struct frame *out)
{
	struct timing t;

	test_run(d->prog_fd, f, ifindex, 1, &t, out);
	return t.retval;
}

static long count_entries(int fd, size_t key_size)
{
	__u8 key[64], next[64];
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static void case_arp(struct dut *d)
{
	struct pkt_arp a = {};
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };

	memset(a.l2.dmac, 0xff, 6);
	memcpy(a.l2.smac, mac_client, 6);
	a.op = PKT_ARP_REQUEST;
	memcpy(a.sha, mac_client, 6);
	snprintf(a.spa, sizeof(a.spa), "%s", CLIENT4);
	snprintf(a.tpa, sizeof(a.tpa), "%s", VIP4);
	a.pad_to = BENCH_FRAME_LEN;
	if (pkt_build_arp(&a, f.b, sizeof(f.b)) != BENCH_FRAME_LEN)
		exit(1);
	measure(d, 1, "ARP reply (request for a VIP)", "W", &w, if_in, XDP_TX,
		VIPXDP_R_arp_reply, NEW_NONE);
}

static void case_syn_full(struct dut *d)
{
	struct pkt_desc pd = tcp_desc(AF_INET, "198.19.64.0", 1024, VIP4, 80, PKT_SYN);
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1, .vary = BENCH_VARY_SRC4,
			      .flow_mask = (1u << 24) - 1, .port_bits = 10 };
	struct timing t;
	struct result *r;
	long entries;

	static const struct kat_expect ke = { "Katran: TCP SYN, LRU full", XDP_TX, true };
	long kat_entries = 0;

	build(&pd, &f);
	wrap_set(&w);
	/* Fill the table: twice as many flows as it holds (2 entries each). */
	run_wrapped(BENCH_SLOT_DUT, &w, if_in, CT_SMALL, &t);
	entries = count_entries(d->dp.ct_fd, sizeof(struct vipxdp_ct_key));
	if (kat_on)
		kat_entries = kat_create(kat_on, &w, &f, 2 * CT_SMALL);
	r = measure_vs(d, &ke, 2, "TCP SYN, new flow, conntrack full", "W+S", &w, if_in,
		       XDP_REDIRECT, VIPXDP_R_fwd_redirect, NEW_EVERY);
	snprintf(r->check + strlen(r->check), sizeof(r->check) - strlen(r->check),
		 "; CT %ld entries before (table share of this CPU: %d)", entries, CT_SMALL);
	if (kat_on)
		snprintf(r[1].check + strlen(r[1].check), sizeof(r[1].check) - strlen(r[1].check),
			 "; LRU %ld of %d before", kat_entries, CT_SMALL);
}

/* Create a flow with one SYN run through the data path itself. For IPv4,
 * be_out (if not NULL) receives the backend address and *be_port its port,
 * read from the translated frame, and src_out (if not NULL) its source
 * address and *src_port its source port (full NAT: the allocated ones). */
static void create_flow_src(struct dut *d, int family, const char *client, __u16 sport,
			    const char *vip, char *be_out, __u16 *be_port, char *src_out,
			    __u16 *src_port)
{
	struct pkt_desc pd = tcp_desc(family, client, sport, vip, 80, PKT_SYN);
	struct frame f, out;
	__u32 v;

	build(&pd, &f);
	v = run_once(d, &f, if_in, &out);
	if (v != XDP_REDIRECT) {
		fprintf(stderr, "bench_datapath: SYN to %s got verdict %s\n", vip, verdict_name(v));
		exit(1);
	}
	if (be_out) { /* IPv4, untagged: daddr at 30, dport at 36 */
		inet_ntop(AF_INET, out.b + 30, be_out, INET_ADDRSTRLEN);
		*be_port = (out.b[36] << 8) | out.b[37];
	}
	if (src_out) { /* saddr at 26, sport at 34 */
		inet_ntop(AF_INET, out.b + 26, src_out, INET_ADDRSTRLEN);
		*src_port = (out.b[34] << 8) | out.b[35];
	}
}

static void create_flow(struct dut *d, int family, const char *client, __u16 sport,
			const char *vip, char *be_out, __u16 *be_port)
{
	create_flow_src(d, family, client, sport, vip, be_out, be_port, NULL, NULL);
}

static void case_hot(struct dut *d)
{
	struct pkt_desc pd = tcp_desc(AF_INET, CLIENT4, 40000, VIP4, 80, PKT_ACK);
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };

	static const struct kat_expect ke = { "Katran: established, one hot flow", XDP_TX, false };

	create_flow(d, AF_INET, CLIENT4, 40000, VIP4, NULL, NULL);
	build(&pd, &f);
	if (kat_on) {
		struct pkt_desc syn = tcp_desc(AF_INET, CLIENT4, 40000, VIP4, 80, PKT_SYN);
		struct frame fs;

		build(&syn, &fs);
		kat_create(kat_on, &w, &fs, 1);
	}
	measure_vs(d, &ke, 3, "established, one hot flow", "W", &w, if_in, XDP_REDIRECT,
		   VIPXDP_R_fwd_redirect, NEW_NONE);
}

/*
 * Case 11 visits case 4's flows in a scattered order: flow = iteration x
 * this (odd, so each flow once per 2^20 packets) mod 2^20, consecutive
 * packets' flows about 2^19 apart.
 */
#define SCATTER_MUL 0x9e3779b1u

/* Cases 4 and 11 (those of them in opt.cases), on one table of 2^20 flows
 * (2^cycle_log2). */
static void case_1m(struct dut *d)
{
	struct pkt_desc syn = tcp_desc(AF_INET, "198.19.64.0", 1024, VIP4, 80, PKT_SYN);
	struct pkt_desc ack = tcp_desc(AF_INET, "198.19.64.0", 1024, VIP4, 80, PKT_ACK);
	struct frame fs, fa;
	__u32 nflows = 1u << opt.cycle_log2;
	struct wrap_cfg w = { .tmpl = &fs, .ntmpl = 1, .vary = BENCH_VARY_SRC4,
			      .flow_mask = nflows - 1, .port_bits = 6 };
	static const struct kat_expect ke = { "Katran: established, cycling flows", XDP_TX, false };
	static const struct kat_expect ke11 = { "Katran: established, flows scattered", XDP_TX,
						false };
	static char name[64], name11[64];
	long kat_flows = 0;
	struct snap s0, s1;
	struct timing t;
	struct result *r;

	build(&syn, &fs);
	build(&ack, &fa);
	/* Create the flows: one SYN each. */
	wrap_set(&w);
	wrap->bss->iter = 0;
	snapshot(d, &s0);
	run_wrapped(BENCH_SLOT_DUT, &w, if_in, nflows, &t);
	snapshot(d, &s1);
	w.tmpl = &fa;
	/* The bucket array: max_entries rounded up to a power of two, 16
	 * bytes a bucket (struct bucket of kernel/bpf/hashtab.c). */
	mem_ref.bytes = 16;
	while (mem_ref.bytes < 16ull * bpf_map__max_entries(d->skel->maps.vipxdp_ct))
		mem_ref.bytes <<= 1;
	mem_ref.ns = mem_chase_ns(mem_ref.bytes);
	if (opt.cases & 1u << 4)
		lookup_ref_load(d);
	if (opt.cycle_log2 == 20) {
		snprintf(name, sizeof(name), "established, cycling over 1M flows");
		snprintf(name11, sizeof(name11), "established, 1M flows scattered");
	} else {
		snprintf(name, sizeof(name), "established, cycling over %u flows", nflows);
		snprintf(name11, sizeof(name11), "established, %u flows scattered", nflows);
	}
	if (kat_on)
		kat_flows = kat_create(kat_on, &w, &fs, nflows);
	/* Case 4 visits the flows in order, case 11 scattered. */
	const struct {
		int num;
		__u32 mul;
		const char *name, *method;
		const struct kat_expect *ke;
	} visits[] = { { 4, 1, name, "W+S", &ke }, { 11, SCATTER_MUL, name11, "W+S'", &ke11 } };

	for (size_t i = 0; i < sizeof(visits) / sizeof(visits[0]); i++) {
		if (!(opt.cases & 1u << visits[i].num))
			continue;
		w.flow_mul = visits[i].mul;
		r = measure_vs(d, visits[i].ke, visits[i].num, visits[i].name, visits[i].method, &w,
			       if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, NEW_NONE);
		snprintf(r->check + strlen(r->check), sizeof(r->check) - strlen(r->check),
			 "; %llu flows created first",
			 (unsigned long long)(s1.new_flows - s0.new_flows));
		if (s1.new_flows - s0.new_flows != nflows)
			r->ok = false;
		if (kat_on) {
			snprintf(r[1].check + strlen(r[1].check),
				 sizeof(r[1].check) - strlen(r[1].check),
				 "; %ld of %u flows in its LRU", kat_flows, nflows);
			if (kat_flows != (long)nflows)
				r[1].ok = false;
		}
	}
	lookup_ref_unload();
}

/*
 * Case 10: whole TCP connections to a one-backend DNAT service, nine
 * packets each as an HTTP request with "Connection: close" makes them
 * (handshake, request, response, the server's FIN first), every connection
 * a new client port: what the data path spends on a connection, per packet.
 * Every packet enters on the client interface (a test run has one ingress
 * interface), so the backend's packets leave by XDP_TX where they would be
 * redirected. Each run starts again at connection 0 (the wrapper's counter
 * reset), so runs are alike; a SYN that finds the old connection's entry
 * starts afresh, as on a live system.
 */
static void case_conn(struct dut *d)
{
	static const struct {
		bool to_client;
		__u8 flags;
	} seq[] = {
		{ false, PKT_SYN },	     { true, PKT_SYN | PKT_ACK },  { false, PKT_ACK },
		{ false, PKT_PSH | PKT_ACK }, { true, PKT_PSH | PKT_ACK },  { true, PKT_FIN | PKT_ACK },
		{ false, PKT_ACK },	     { false, PKT_FIN | PKT_ACK }, { true, PKT_ACK },
	};
	const long npkt = sizeof(seq) / sizeof(seq[0]);
	static struct frame fr[sizeof(seq) / sizeof(seq[0])];
	struct wrap_cfg w = { .tmpl = fr, .ntmpl = (int)npkt, .vary = BENCH_VARY_CONN4,
			      .port_bits = 10 };
	struct result *r = &results[nresults++];
	struct snap s0, s1;
	bool verdicts_ok;
	long dut_iters;
	__u64 fwd, all, nf;

	for (long i = 0; i < npkt; i++) {
		struct pkt_desc pd = seq[i].to_client
					     ? tcp_desc(AF_INET, be4[0], 8080, "198.19.64.0", 1024,
							seq[i].flags)
					     : tcp_desc(AF_INET, "198.19.64.0", 1024, VIP4_CONN, 80,
							seq[i].flags);

		build(&pd, &fr[i]);
		if (seq[i].to_client)
			w.client_dst |= 1ull << i;
	}
	r->num = 10;
	r->name = "TCP connection (9 packets), per packet";
	r->method = "W+C";
	r->measured = true;
	wrap_set(&w);
	snapshot(d, &s0);
	/* Every run ends with a connection's last packet, the server's ACK:
	 * XDP_TX (it entered on the client interface). */
	dut_iters = run_pairs(r, &w, if_in, npkt, XDP_TX, &verdicts_ok);
	snapshot(d, &s1);
	fwd = s1.reason[VIPXDP_R_fwd_redirect] - s0.reason[VIPXDP_R_fwd_redirect] +
	      s1.reason[VIPXDP_R_fwd_tx] - s0.reason[VIPXDP_R_fwd_tx];
	all = s1.all - s0.all;
	nf = s1.new_flows - s0.new_flows;
	r->ok = verdicts_ok && fwd == (__u64)dut_iters && all == (__u64)dut_iters &&
		nf == (__u64)(dut_iters / npkt);
	snprintf(r->check, sizeof(r->check), "%s: forwarded %llu of %ld, connections %llu",
		 r->ok ? "ok" : "FAIL", (unsigned long long)fwd, dut_iters,
		 (unsigned long long)nf);
}

static void case_reply(struct dut *d)
{
	char be[INET_ADDRSTRLEN];
	__u16 be_port;
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };
	struct pkt_desc pd;

	create_flow(d, AF_INET, CLIENT4, 40001, VIP4, be, &be_port);
	pd = tcp_desc(AF_INET, be, be_port, CLIENT4, 40001, PKT_ACK);
	memcpy(pd.l2.dmac, mac_be, 6);
	pkt_mac("02:00:00:00:01:01", pd.l2.smac);
	build(&pd, &f);
	measure(d, 5, "backend reply (reverse NAT)", "W", &w, if_be, XDP_REDIRECT,
		VIPXDP_R_fwd_redirect, NEW_NONE);
}

static void case_nonvip(struct dut *d)
{
	struct pkt_desc pd = tcp_desc(AF_INET, CLIENT4, 40000, NONVIP4, 80, PKT_ACK);
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };
	struct result *r;
	double dut[MAX_RUNS], stub[MAX_RUNS], diff[MAX_RUNS];
	struct snap s0, s1;
	struct timing t;
	long n;

	static const struct kat_expect ke = { "Katran: non-VIP pass", XDP_PASS, false };

	build(&pd, &f);
	measure_vs(d, &ke, 6, "non-VIP pass", "W", &w, if_in, XDP_PASS, VIPXDP_R_pass_no_service,
		   NEW_NONE);

	/* Cross-check: this path does not write the packet, so it can also be
	 * test-run directly, minus a directly test-run XDP_DROP stub. */
	r = &results[nresults++];
	r->num = 6;
	r->name = "non-VIP pass, cross-check";
	r->method = "D";
	r->measured = true;
	snapshot(d, &s0);
	test_run(d->prog_fd, &f, if_in, CALIBRATE_ITERS, &t, NULL);
	n = pick_iters(t.ns);
	for (int i = 0; i < opt.runs; i++) {
		test_run(d->prog_fd, &f, if_in, n, &t, NULL);
		dut[i] = t.ns;
		r->verdict = t.retval;
		test_run(stub_fd, &f, if_in, n, &t, NULL);
		stub[i] = t.ns;
		diff[i] = dut[i] - stub[i];
	}
	snapshot(d, &s1);
	r->total = median(dut, opt.runs);
	r->base = median(stub, opt.runs);
	spread(diff, opt.runs, r);
	r->iters = n;
	r->runs = opt.runs;
	r->ok = r->verdict == XDP_PASS &&
		s1.reason[VIPXDP_R_pass_no_service] - s0.reason[VIPXDP_R_pass_no_service] ==
			(__u64)(CALIBRATE_ITERS + n * opt.runs);
	snprintf(r->check, sizeof(r->check), "%s: pass_no_service x%ld", r->ok ? "ok" : "FAIL",
		 CALIBRATE_ITERS + n * opt.runs);
}

static void case_v6(struct dut *d)
{
	struct pkt_desc pd = tcp_desc(AF_INET6, CLIENT6, 40000, VIP6, 80, PKT_ACK);
	struct frame f;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };

	create_flow(d, AF_INET6, CLIENT6, 40000, VIP6, NULL, NULL);
	build(&pd, &f);
	measure(d, 7, "IPv6 established, one hot flow", "W", &w, if_in, XDP_REDIRECT,
		VIPXDP_R_fwd_redirect, NEW_NONE);
}

/* A full-NAT service: the client's established flow (destination and
 * source rewritten), then the backend's reply to the SNAT address and the
 * allocated port (both rewritten back). */
static void case_fullnat(struct dut *d)
{
	struct pkt_desc pd = tcp_desc(AF_INET, CLIENT4, 40002, VIP4_FULLNAT, 80, PKT_ACK);
	char be[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN], rsrc[INET_ADDRSTRLEN], rdst[INET_ADDRSTRLEN];
	__u16 be_port, src_port;
	struct frame f, fr, out;
	bool reply_ok;
	struct wrap_cfg w = { .tmpl = &f, .ntmpl = 1 };
	struct result *r;

	create_flow_src(d, AF_INET, CLIENT4, 40002, VIP4_FULLNAT, be, &be_port, src, &src_port);
	build(&pd, &f);
	r = measure(d, 8, "full-NAT established, one hot flow", "W", &w, if_in, XDP_REDIRECT,
		    VIPXDP_R_fwd_redirect, NEW_NONE);
	if (strcmp(src, SNAT4)) { /* the flow must really be full NAT */
		r->ok = false;
		snprintf(r->check, sizeof(r->check), "FAIL: translated source %s, want %s", src,
			 SNAT4);
	}

	pd = tcp_desc(AF_INET, be, be_port, src, src_port, PKT_ACK);
	memcpy(pd.l2.dmac, mac_be, 6);
	pkt_mac("02:00:00:00:01:01", pd.l2.smac);
	build(&pd, &fr);
	/* Once through the data path: the reply must go back to the client
	 * from VIP:80. */
	if (run_once(d, &fr, if_be, &out) != XDP_REDIRECT) {
		fprintf(stderr, "bench_datapath: full-NAT reply not redirected\n");
		exit(1);
	}
	inet_ntop(AF_INET, out.b + 26, rsrc, sizeof(rsrc));
	inet_ntop(AF_INET, out.b + 30, rdst, sizeof(rdst));
	reply_ok = !strcmp(rsrc, VIP4_FULLNAT) && ((out.b[34] << 8) | out.b[35]) == 80 &&
		   !strcmp(rdst, CLIENT4) && ((out.b[36] << 8) | out.b[37]) == 40002;
	w.tmpl = &fr;
	r = measure(d, 9, "full-NAT backend reply", "W", &w, if_be, XDP_REDIRECT,
		    VIPXDP_R_fwd_redirect, NEW_NONE);
	if (!reply_ok) {
		r->ok = false;
		snprintf(r->check, sizeof(r->check),
			 "FAIL: reply translated to %s -> %s, want %s:80 -> %s:40002", rsrc, rdst,
			 VIP4_FULLNAT, CLIENT4);
	}
}

/* ---- Katran, side by side (--katran) ----------------------------------- */

/*
 * Katran's balancer (facebookincubator/katran, katran/lib/bpf/balancer.bpf.c,
 * built by tools/bench_katran.sh) through the same wrapper, frames and
 * method, in the same run: its established flow (one hot flow, 2^20 flows
 * in turn), its SYN with a full connection table, and a non-VIP packet.
 * It is loaded beside vipxdp's data path (the wrapper's slot
 * BENCH_SLOT_KAT), and each case alternates their runs (measure_vs()).
 * Its maps are configured the way its control plane would for one IPv4
 * VIP (port 80, TCP) with three reals and the default 65537-slot ring: the
 * layouts below mirror katran/lib/bpf/balancer_structs.h, and kat_load()
 * checks their sizes against the object's. Its connection table (an LRU
 * hash per CPU, lru_mapping) is as large as vipxdp's table share of the
 * CPU in the same case. Differences in what the two do per packet: Katran
 * encapsulates in IPIP and returns XDP_TX (vipxdp rewrites and redirects);
 * it keeps no reply state and no TCP state; its baseline stub moves the
 * frame's start as its encapsulation does (bench_stub_encap).
 */
struct kat_vip_key {
	__be32 addr[4];
	__u16 port; /* network order */
	__u8 proto;
	__u8 pad;
};

struct kat_vip_meta {
	__u32 flags;
	__u32 vip_num;
};

struct kat_real {
	__be32 addr[4];
	__u8 flags;
	__u8 pad[3];
};

struct kat_lb_stats {
	__u64 v1, v2;
};

#define KAT_RING_SIZE 65537
#define KAT_MAX_VIPS 512
#define KAT_LRU_MISS_CNTR (KAT_MAX_VIPS + 1) /* v1: SYNs, v2: other TCP */
#define KAT_FLOW_KEY_SIZE 40 /* struct flow_key */
#define KAT_LRU_VALUE_SIZE 16 /* struct real_pos_lru */

struct kat {
	struct bpf_object *obj;
	int prog_fd, lru_fd, stats_fd;
};

static int kat_map_fd(struct kat *k, const char *name, __u32 key_size, __u32 value_size)
{
	struct bpf_map *m = bpf_object__find_map_by_name(k->obj, name);

	if (!m) {
		fprintf(stderr, "bench_datapath: --katran: no map %s in %s\n", name, opt.katran);
		return -1;
	}
	if (bpf_map__key_size(m) != key_size || bpf_map__value_size(m) != value_size) {
		fprintf(stderr, "bench_datapath: --katran: map %s has key/value sizes %u/%u, "
				"this tool knows %u/%u (another Katran version?)\n",
			name, bpf_map__key_size(m), bpf_map__value_size(m), key_size, value_size);
		return -1;
	}
	return bpf_map__fd(m);
}

static int kat_update(int fd, const void *key, const void *value, const char *what)
{
	if (fd < 0)
		return -1;
	if (bpf_map_update_elem(fd, key, value, BPF_ANY)) {
		fprintf(stderr, "bench_datapath: --katran: setting %s: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* Load Katran's object with a connection table of lru_size entries for the
 * benchmark's CPU, configure it and put it in the wrapper's DUT slot. */
static int kat_load(struct kat *k, __u32 lru_size)
{
	struct kat_vip_key vk = { .port = htons(80), .proto = IPPROTO_TCP };
	struct kat_vip_meta vm = { 0 };
	__u32 cpu = opt.cpu, slot = BENCH_SLOT_KAT, key;
	struct bpf_program *prog;
	char msg[128];
	__u64 ctl = 0;
	int fd, err;

	memset(k, 0, sizeof(*k));
	k->lru_fd = -1;
	k->obj = bpf_object__open_file(opt.katran, NULL);
	if (!k->obj) {
		libbpf_strerror(errno, msg, sizeof(msg));
		fprintf(stderr, "bench_datapath: --katran: opening %s: %s\n", opt.katran, msg);
		return -1;
	}
	prog = bpf_object__find_program_by_name(k->obj, "balancer_ingress");
	err = prog ? bpf_object__load(k->obj) : -ENOENT;
	if (err) {
		libbpf_strerror(err, msg, sizeof(msg));
		fprintf(stderr, "bench_datapath: --katran: loading %s: %s\n", opt.katran,
			prog ? msg : "no program balancer_ingress");
		return -1;
	}
	k->prog_fd = bpf_program__fd(prog);
	k->lru_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "kat_lru", KAT_FLOW_KEY_SIZE,
				   KAT_LRU_VALUE_SIZE, lru_size, NULL);
	if (k->lru_fd < 0) {
		fprintf(stderr, "bench_datapath: --katran: creating its LRU: %s\n", strerror(errno));
		return -1;
	}
	err = kat_update(kat_map_fd(k, "lru_mapping", 4, 4), &cpu, &k->lru_fd, "lru_mapping");
	inet_pton(AF_INET, VIP4, &vk.addr[0]);
	err = err ?: kat_update(kat_map_fd(k, "vip_map", sizeof(vk), sizeof(vm)), &vk, &vm,
				"vip_map");
	fd = kat_map_fd(k, "reals", 4, sizeof(struct kat_real));
	for (key = 1; !err && key <= 3; key++) {
		struct kat_real r = { 0 };

		inet_pton(AF_INET, be4[key - 1], &r.addr[0]);
		err = kat_update(fd, &key, &r, "reals");
	}
	fd = kat_map_fd(k, "ch_rings", 4, 4);
	for (key = 0; !err && key < KAT_RING_SIZE; key++) {
		__u32 real = 1 + key % 3;

		err = kat_update(fd, &key, &real, "ch_rings");
	}
	memcpy(&ctl, mac_be, 6);
	key = 0;
	err = err ?: kat_update(kat_map_fd(k, "ctl_array", 4, 8), &key, &ctl, "ctl_array");
	k->stats_fd = kat_map_fd(k, "stats", 4, sizeof(struct kat_lb_stats));
	if (err || k->stats_fd < 0)
		return -1;
	if (bpf_map_update_elem(progs_fd, &slot, &k->prog_fd, BPF_ANY)) {
		fprintf(stderr, "bench_datapath: --katran: tail-call slot: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void kat_close(struct kat *k)
{
	__u32 slot = BENCH_SLOT_KAT;

	bpf_map_delete_elem(progs_fd, &slot);
	if (k->lru_fd >= 0)
		close(k->lru_fd);
	bpf_object__close(k->obj);
}

/* Katran's LRU misses so far: SYNs (v1) and other TCP packets (v2). */
static void kat_misses(struct kat *k, __u64 *syn, __u64 *other)
{
	int ncpu = libbpf_num_possible_cpus();
	struct kat_lb_stats *st = calloc(ncpu, sizeof(*st));
	__u32 key = KAT_LRU_MISS_CNTR;

	*syn = *other = 0;
	if (st && !bpf_map_lookup_elem(k->stats_fd, &key, st))
		for (int c = 0; c < ncpu; c++) {
			*syn += st[c].v1;
			*other += st[c].v2;
		}
	free(st);
}

/* Create flows in Katran's LRU the way its traffic does: one SYN each,
 * frames w varies from syn, n of them from the wrapper's iteration 0. How
 * many entries its LRU then has. */
static long kat_create(struct kat *k, struct wrap_cfg *w, const struct frame *syn, long n)
{
	const struct frame *tmpl = w->tmpl;
	struct timing t;

	w->tmpl = syn;
	wrap_set(w);
	wrap->bss->iter = 0;
	wrap->bss->restore_head = 1;
	run_wrapped(BENCH_SLOT_KAT, w, if_in, n, &t);
	wrap->bss->restore_head = 0;
	w->tmpl = tmpl;
	if (tmpl)
		wrap_set(w);
	return count_entries(k->lru_fd, KAT_FLOW_KEY_SIZE);
}

/* ---- report ------------------------------------------------------------ */

static void prog_sizes(int fd, __u32 *xlated, __u32 *jited)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	*xlated = *jited = 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		*xlated = info.xlated_prog_len / 8;
		*jited = info.jited_prog_len;
	}
}

static const char *loadavg(void)
{
	static char buf[64];
	char l1[16] = "?", l5[16] = "?", l15[16] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%15s %15s %15s", l1, l5, l15) != 3)
			l1[0] = 0;
		fclose(f);
	}
	snprintf(buf, sizeof(buf), "%s %s %s", l1, l5, l15);
	return buf;
}

static int cmp_result(const void *a, const void *b)
{
	const struct result *x = a, *y = b;

	return x->num - y->num;
}

static const struct result *find(int num)
{
	for (int i = 0; i < nresults; i++)
		if (results[i].num == num && results[i].method[0] == 'W')
			return &results[i];
	return NULL;
}

/* The issue's targets, by case. */
static const struct {
	int num;
	const char *name;
	double max;
} targets[] = {
	{ 3, "established, one hot flow", 50 },
	{ 4, "established, cycling 1M flows", 300 },
	{ 2, "TCP SYN, conntrack full", 500 },
	{ 6, "non-VIP pass", 20 },
	{ 1, "ARP reply", 30 },
};

/* Case 4 less its memory reference (over, ns; spread lo..hi when more
 * than one pass): what the path adds to the one random read, and so how
 * slow a read its target allows. */
static void print_over_read(double over, double lo, double hi)
{
	char range[40] = "";
	double max = 0;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (targets[i].num == 4)
			max = targets[i].max;
	if (hi > lo)
		snprintf(range, sizeof(range), " (%.1f..%.1f)", lo, hi);
	printf("case 4 less the memory reference: %.1f ns%s, what the path adds to the read at the "
	       "machine's\nspeed of the moment; its %.0f ns target holds while a random read costs "
	       "at most %.1f ns\n",
	       over, range, max, max - over);
}

/*
 * Case 4 beside its conntrack lookup alone (lookup_ref): the lookup's ns
 * and case 4 less it (over) with its range (the runs' in a pass; with
 * --repeat, medians over the passes and the passes' range).
 */
static void print_lookup_ref(double ns, double over, double lo, double hi)
{
	printf("conntrack lookup alone (case 4): the data path's own table, its flows in its order, "
	       "nothing else,\nthrough the wrapper as the data path, its runs alternating with the "
	       "case's (%s)", lookup_ref.check);
	if (ns < 0) {
		printf("\n");
		return;
	}
	printf(": %.1f ns;\ncase 4 less the lookup, run by run: %.1f ns (%.1f..%.1f), what the rest "
	       "of the path costs\n", ns, over, lo, hi);
}

static bool report(void)
{
	bool all_ok = true;

	qsort(results, nresults, sizeof(results[0]), cmp_result);
	printf("\n%-2s %-36s %9s %13s %7s %7s %9s %-6s %-8s %s\n", "#", "case", "data path",
	       "(min..max)", "total", "wrapper", "iters/run", "method", "verdict", "check");
	for (int i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		if (!r->measured) {
			printf("%-2d %-36s %9s %13s %7s %7s %9s %-6s %-8s %s\n", r->num, r->name, "n/a",
			       "", "", "", "", r->method, "", r->check);
			continue;
		}
		char range[32];

		snprintf(range, sizeof(range), "(%.1f..%.1f)", r->dp_min, r->dp_max);
		printf("%-2d %-36s %6.1f ns %13s %7.1f %7.1f %9ld %-6s %-8s %s\n", r->num, r->name,
		       r->dp, range, r->total, r->base, r->iters, r->method, verdict_name(r->verdict),
		       r->check);
		all_ok &= r->ok;
	}
	printf("\nmethod: W   = wrapper rewrites the %d-byte frame from a template every iteration, "
	       "tail-calls vipxdp_xdp;\n"
	       "              data path = median over %d runs of (wrapper+vipxdp) - (wrapper+XDP_DROP "
	       "stub), each pair run back to back\n"
	       "        W+S = W, and the wrapper writes a new IPv4 source address/port every "
	       "iteration (a new flow each\n"
	       "              iteration for the SYN case; 2^20 flows in turn for the 1M case, "
	       "created by one SYN each first)\n"
	       "        W+S' = W+S, case 4's flows in a scattered order: flow = iteration x "
	       "0x9e3779b1 mod 2^20\n"
	       "        W+C = W, cycling through the 9 packets of a TCP connection (both "
	       "directions, all entering on\n"
	       "              the client interface), each connection a new client port\n"
	       "        D   = vipxdp_xdp test-run directly with repeat (valid only because this path "
	       "does not write the\n"
	       "              packet), minus a directly test-run XDP_DROP stub\n"
	       "time = thread CPU time around BPF_PROG_TEST_RUN / repeat; all figures ns per packet; "
	       "'total' and 'wrapper'\n"
	       "are the medians of the two sides; (min..max) is the spread of the per-run differences.\n",
	       BENCH_FRAME_LEN, opt.runs);

	if (opt.katran) {
		static const int kcases[] = { 3, 4, 11, 2, 6 };

		printf("        K   = W, Katran's balancer (--katran %s) in vipxdp's place, its baseline "
		       "a stub that moves\n"
		       "              the frame's start as its IPIP encapsulation does (XDP_TX cases); "
		       "flows created by\n"
		       "              one SYN each, its connection table as large as vipxdp's share "
		       "in the same case;\n"
		       "              loaded beside vipxdp, its runs alternating with vipxdp's (V K, "
		       "K V, ...); ratio =\n"
		       "              median (min..max) of vipxdp / Katran run by run\n",
		       opt.katran);
		printf("\n%-2s %-36s %9s %9s %8s %s\n", "#", "side by side (same run)", "vipxdp",
		       "Katran", "ratio", "(min..max)");
		for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
			const struct result *v = NULL, *kr = NULL;

			for (int j = 0; j < nresults; j++) {
				if (results[j].num != kcases[i] || !results[j].measured)
					continue;
				if (results[j].method[0] == 'W' && !v)
					v = &results[j];
				else if (results[j].method[0] == 'K')
					kr = &results[j];
			}
			if (!v || !kr)
				continue;
			printf("%-2d %-36s %6.1f ns %6.1f ns %7.2fx (%.2f..%.2f)\n", kcases[i], v->name,
			       v->dp, kr->dp, kr->ratio, kr->ratio_min, kr->ratio_max);
		}
		printf("\n");
	}
	if (mem_ref.ns >= 0)
		printf("memory (case 4): a dependent read of a random cache line in %zu MB of 4 KB pages, the "
		       "size of its\n"
		       "conntrack hash's bucket array, just before the case: %.1f ns (user-space pointer "
		       "chase). Each packet\n"
		       "of case 4 reads one bucket at random: the machine's memory of the moment is that "
		       "much of its figure\n"
		       "(its flows' entries are read in the order they were created, which the "
		       "prefetcher partly follows; case 11\n"
		       "reads them at random too, as traffic of many flows would: two such reads a "
		       "packet).\n",
		       mem_ref.bytes >> 20, mem_ref.ns);
	if (mem_ref.ns >= 0 && find(4))
		print_over_read(find(4)->dp - mem_ref.ns, 0, 0);
	if (find(4) && lookup_ref.check[0])
		print_lookup_ref(lookup_ref.ns, lookup_ref.over, lookup_ref.over_lo, lookup_ref.over_hi);
	all_ok &= strncmp(lookup_ref.check, "FAIL", 4) != 0;

	printf("\n%-32s %8s %12s  %s\n", "target (issue)", "max ns", "measured ns", "status");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct result *r = find(targets[i].num);

		if (!r) {
			printf("%-32s %8.0f %12s  %s\n", targets[i].name, targets[i].max, "-",
			       "not run");
			continue;
		}
		printf("%-32s %8.0f %12.1f  %s", targets[i].name, targets[i].max, r->dp,
		       r->dp <= targets[i].max ? "meets" : "MISSES");
		if (r->dp > targets[i].max)
			printf(" (%.1fx the target)", r->dp / targets[i].max);
		printf("\n");
	}
	return all_ok;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_datapath [--obj FILE] [--runs N] [--iters N] [--ms N] [--cpu N]\n"
		   "                      [--cases LIST] [--ct-large N] [--cycle-log2 N]\n"
		   "                      [--ct-common-lru] [--no-route-watch]\n"
		   "                      [--no-simple-routing] [--no-flow-cache]\n"
		   "                      [--talkers N] [--katran FILE] [--repeat N] [-v]\n"
		   "  --obj FILE    benchmark this BPF object instead of the built-in data path\n"
		   "  --runs N      runs per case and baseline, median reported (default 7)\n"
		   "  --iters N     iterations per run (default: about --ms worth, 1e6..1e7)\n"
		   "  --ms N        calibration target per run in ms (default 150)\n"
		   "  --cpu N       pin to this CPU (default: the last one)\n"
		   "  --cases LIST  run only these cases, e.g. 2,4 (default all)\n"
		   "  --ct-large N  conntrack entries of cases 4 and 11, per CPU (in all with\n"
		   "                --ct-common-lru; default %d)\n"
		   "  --cycle-log2 N  cases 4 and 11 cycle over 2^N flows (default 20)\n"
		   "  --ct-common-lru  conntrack with one LRU list for all CPUs (vipxdp's keeps one\n"
		   "                per CPU: BPF_F_NO_COMMON_LRU), for comparison\n"
		   "  --no-route-watch  next hops looked up again every epoch, as without the\n"
		   "                daemon (default: the route watch on, as under `vipxdp run`)\n"
		   "  --no-simple-routing  new flows look the FIB up, as when the daemon finds\n"
		   "                policy rules or multipath routes (default: they take the\n"
		   "                next hop cached per backend)\n"
		   "  --no-flow-cache  settings.flow_cache: false: a known flow's TCP and UDP\n"
		   "                packets take the conntrack fast path, every other packet the\n"
		   "                whole path\n"
		   "  --talkers N   top-talker sampling, one packet in N (default 0: off)\n"
		   "  --katran FILE  also measure Katran's balancer object (tools/bench_katran.sh\n"
		   "                builds it) in cases 2, 3, 4, 6 and 11, side by side\n"
		   "  --repeat N    N passes over the cases (up to %d), everything loaded afresh\n"
		   "                for each, then the median and range of each figure, and\n"
		   "                each pass's speed (case 3's wrapper run alone): the targets\n"
		   "                again over the passes at the fastest one's speed when some\n"
		   "                were slower\n"
		   "  -v            print every run\n", CT_LARGE, MAX_REPEAT);
}

/* Option name's argument arg as an integer from 1 to max into *out; -1
 * (with a message) when it is not one. */
static int int_arg(const char *name, const char *arg, int max, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > max) {
		fprintf(stderr, "bench_datapath: %s: 1..%d\n", name, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "obj", required_argument, NULL, 'o' },   { "runs", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'n' }, { "ms", required_argument, NULL, 'm' },
		{ "cpu", required_argument, NULL, 'c' },   { "ct-large", required_argument, NULL, 'L' },
		{ "cases", required_argument, NULL, 'C' }, { "cycle-log2", required_argument, NULL, 'F' },
		{ "ct-common-lru", no_argument, NULL, 'P' }, { "talkers", required_argument, NULL, 'T' },
		{ "no-route-watch", no_argument, NULL, 'W' },
		{ "no-simple-routing", no_argument, NULL, 'S' },
		{ "no-flow-cache", no_argument, NULL, 'N' },
		{ "katran", required_argument, NULL, 'K' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },     { "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			opt.obj = optarg;
			break;
		case 'r':
			if (int_arg("--runs", optarg, MAX_RUNS, &opt.runs))
				return 2;
			break;
		case 'n':
			opt.iters = atol(optarg);
			if (opt.iters < 1) {
				fprintf(stderr, "bench_datapath: --iters: a positive count\n");
				return 2;
			}
			break;
		case 'm':
			opt.ms = atoi(optarg);
			if (opt.ms < 1) {
				fprintf(stderr, "bench_datapath: --ms: a positive count\n");
				return 2;
			}
			break;
		case 'c':
			opt.cpu = atoi(optarg);
			break;
		case 'L':
			opt.ct_large = strtoul(optarg, NULL, 0);
			break;
		case 'C': {
			char *p = optarg, *end;

			opt.cases = 0;
			do {
				long n = strtol(p, &end, 10);

				if (end == p || n < 1 || n > 11) {
					fprintf(stderr, "bench_datapath: --cases: numbers 1..11, "
							"comma-separated\n");
					return 2;
				}
				opt.cases |= 1u << n;
				p = end + 1;
			} while (*end == ',');
			if (*end) {
				fprintf(stderr, "bench_datapath: --cases: numbers 1..11, comma-separated\n");
				return 2;
			}
			break;
		}
		case 'F':
			opt.cycle_log2 = atoi(optarg);
			if (opt.cycle_log2 < 6 || opt.cycle_log2 > 22) {
				fprintf(stderr, "bench_datapath: --cycle-log2: 6..22\n");
				return 2;
			}
			break;
		case 'P':
			opt.common_lru = true;
			break;
		case 'W':
			opt.no_route_watch = true;
			break;
		case 'S':
			opt.no_simple = true;
			break;
		case 'N':
			opt.no_fc = true;
			break;
		case 'K':
			opt.katran = optarg;
			break;
		case 'R':
			if (int_arg("--repeat", optarg, MAX_REPEAT, &opt.repeat))
				return 2;
			break;
		case 'T':
			opt.talkers = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (opt.ct_large < (1u << opt.cycle_log2) + 4096) {
		fprintf(stderr, "bench_datapath: --ct-large: at least %u for 2^%d flows\n",
			(1u << opt.cycle_log2) + 4096, opt.cycle_log2);
		return 2;
	}
	return 0;
}

/* The cases run on the small conntrack table, in order: their bits in
 * opt.cases (cases 4 and 11, the 1M-flow ones, load a table of their own). */
static const struct {
	__u32 mask;
	void (*run)(struct dut *d);
} small_cases[] = {
	{ 1u << 1, case_arp },	   { 1u << 2, case_syn_full },	{ 1u << 3, case_hot },
	{ 1u << 5, case_reply },   { 1u << 6, case_nonvip },	{ 1u << 7, case_v6 },
	{ 1u << 8 | 1u << 9, case_fullnat }, { 1u << 10, case_conn },
};

/* Close Katran, when it is loaded beside the data path. */
static void kat_off(void)
{
	if (kat_on) {
		kat_close(kat_on);
		kat_on = NULL;
	}
}

/*
 * One pass over the cases (opt.cases). The first finds the data path loaded
 * by main() for the header; the others load it afresh, as the 1M-flow case
 * always does, and Katran too. 0, or 1 when a load failed.
 */
static int run_cases(struct dut *d, struct kat *kat, bool first)
{
	nresults = 0;
	mem_ref.ns = -1;
	lookup_ref.ns = -1;
	lookup_ref.check[0] = 0;
	if (!first && dut_load(d, CT_SMALL))
		return 1;
	if (opt.katran && opt.cases & (1u << 2 | 1u << 3 | 1u << 6)) {
		if (kat_load(kat, CT_SMALL))
			return 1;
		kat_on = kat;
	}
	for (size_t i = 0; i < sizeof(small_cases) / sizeof(small_cases[0]); i++) {
		if (opt.cases & small_cases[i].mask)
			small_cases[i].run(d);
	}
	kat_off();
	dut_close(d);

	if (opt.cases & (1u << 4 | 1u << 11)) {
		if (dut_load(d, opt.ct_large))
			return 1;
		if (opt.katran) {
			if (kat_load(kat, opt.ct_large))
				return 1;
			kat_on = kat;
		}
		case_1m(d);
		kat_off();
		dut_close(d);
	}

	return 0;
}

/* --repeat: each repeat's figures (results in report()'s order, which is
 * the same in every repeat) and memory reference. */
static struct {
	double dp[MAX_REPEAT][sizeof(results) / sizeof(results[0])];
	double ratio[MAX_REPEAT][sizeof(results) / sizeof(results[0])];
	double mem[MAX_REPEAT];
	double lookup[MAX_REPEAT], lookup_over[MAX_REPEAT]; /* lookup_ref.ns, .over */
	double speed[MAX_REPEAT]; /* speed reference (repeat_speed()), -1 = none */
	int n;
} reps;

/* Passes whose speed reference is within this factor of the lowest ran at
 * the machine's usual speed, unless a slow phase lasted the whole run (then
 * every pass is slow alike, which only other runs' references show). */
#define USUAL_SPEED 1.15

/*
 * The machine's speed in a repeat: case 3's baseline, the wrapper program
 * run alone (about 22 ns), or -1 when case 3 did not run. On this kind of
 * VM the whole machine has slow phases of minutes, in which every case,
 * Katran's too, takes up to twice its time; this shows them.
 */
static double repeat_speed(void)
{
	const struct result *r = find(3);

	return r && r->measured ? r->base : -1;
}

static void repeat_save(void)
{
	if (reps.n >= MAX_REPEAT)
		return;
	for (int i = 0; i < nresults; i++) {
		reps.dp[reps.n][i] = results[i].dp;
		reps.ratio[reps.n][i] = results[i].ratio;
	}
	reps.speed[reps.n] = repeat_speed();
	reps.lookup[reps.n] = lookup_ref.ns;
	reps.lookup_over[reps.n] = lookup_ref.over;
	reps.mem[reps.n++] = mem_ref.ns;
}

/* The targets again over the repeats at the fastest one's speed (speed
 * reference within USUAL_SPEED of the lowest), when some were slower. */
static void repeat_usual_speed(void)
{
	double lowest = -1, v[MAX_REPEAT], med, lo, hi;
	bool usual[MAX_REPEAT];
	int nu = 0;

	for (int r = 0; r < reps.n; r++)
		if (reps.speed[r] >= 0 && (lowest < 0 || reps.speed[r] < lowest))
			lowest = reps.speed[r];
	if (lowest < 0)
		return;
	printf("\nspeed reference (case 3's wrapper run alone), repeat by repeat:");
	for (int r = 0; r < reps.n; r++) {
		usual[r] = reps.speed[r] <= lowest * USUAL_SPEED;
		nu += usual[r];
		printf(" %.1f", reps.speed[r]);
	}
	printf(" ns\n");
	if (nu == reps.n) {
		printf("every repeat ran at about one speed (within %.0f%% of the fastest): a slow phase "
		       "of the machine as long as the run slows them all alike, so compare the "
		       "reference with other runs'\n",
		       (USUAL_SPEED - 1) * 100);
		return;
	}
	printf("%d of %d repeats ran at the fastest one's speed (within %.0f%%); over those:\n",
	       nu, reps.n, (USUAL_SPEED - 1) * 100);
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		const struct result *res = find(targets[t].num);
		int i, n = 0, met = 0;

		if (!res)
			continue;
		i = (int)(res - results);
		for (int r = 0; r < reps.n; r++) {
			if (!usual[r])
				continue;
			v[n++] = reps.dp[r][i];
			met += reps.dp[r][i] <= targets[t].max;
		}
		med_range(v, n, &med, &lo, &hi);
		printf("  %-30s %8.0f %9.1f  (%.1f..%.1f)  %d of %d\n", targets[t].name, targets[t].max,
		       med, lo, hi, met, n);
	}
}

/* Median, min and max of column i of rows[0..n) into *med, *lo, *hi. */
static void repeat_stats(double (*rows)[sizeof(results) / sizeof(results[0])], int i,
			 double *med, double *lo, double *hi)
{
	double v[MAX_REPEAT];

	for (int r = 0; r < reps.n; r++)
		v[r] = rows[r][i];
	med_range(v, reps.n, med, lo, hi);
}

/* What the repeats give together: per case and target, the median of the
 * repeats' figures, their range, and how many met the target. */
static void repeat_summary(void)
{
	double med, lo, hi;

	printf("\n== summary of %d repeats: the data path, its maps%s loaded afresh for each "
	       "(the machine's\n   memory of the moment differs from one allocation to the "
	       "next); median (min..max) of the repeats' figures ==\n",
	       reps.n, opt.katran ? " and Katran" : "");
	printf("\n%-2s %-36s %9s %17s\n", "#", "case", "data path", "(min..max)");
	for (int i = 0; i < nresults; i++) {
		char range[40];

		if (!results[i].measured)
			continue;
		repeat_stats(reps.dp, i, &med, &lo, &hi);
		snprintf(range, sizeof(range), "(%.1f..%.1f)", lo, hi);
		printf("%-2d %-36s %6.1f ns %17s", results[i].num, results[i].name, med, range);
		if (results[i].method[0] == 'K') {
			repeat_stats(reps.ratio, i, &med, &lo, &hi);
			printf("   vipxdp / Katran %.2fx (%.2f..%.2f)", med, lo, hi);
		}
		printf("\n");
	}
	if (reps.mem[0] >= 0) {
		med_range(reps.mem, reps.n, &med, &lo, &hi);
		printf("memory reference (case 4): %.1f ns (%.1f..%.1f)\n", med, lo, hi);
		if (find(4)) {
			double over[MAX_REPEAT];
			int i = (int)(find(4) - results);

			for (int k = 0; k < reps.n; k++)
				over[k] = reps.dp[k][i] - reps.mem[k];
			med_range(over, reps.n, &med, &lo, &hi);
			print_over_read(med, lo, hi);
		}
	}
	if (find(4)) {
		double lk[MAX_REPEAT], over[MAX_REPEAT];
		int n = 0;

		for (int k = 0; k < reps.n; k++)
			if (reps.lookup[k] >= 0) {
				lk[n] = reps.lookup[k];
				over[n++] = reps.lookup_over[k];
			}
		/* The check is the last pass's; each pass's report has its own. */
		if (n) {
			med_range(over, n, &med, &lo, &hi);
			print_lookup_ref(median(lk, n), med, lo, hi);
		}
	}
	printf("\n%-32s %8s %9s %17s  %s\n", "target (issue)", "max ns", "median", "(min..max)",
	       "repeats meeting it");
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		const struct result *r = find(targets[t].num);
		int i, met = 0;
		char range[40];

		if (!r)
			continue;
		i = (int)(r - results);
		for (int k = 0; k < reps.n; k++)
			met += reps.dp[k][i] <= targets[t].max;
		repeat_stats(reps.dp, i, &med, &lo, &hi);
		snprintf(range, sizeof(range), "(%.1f..%.1f)", lo, hi);
		printf("%-32s %8.0f %9.1f %17s  %d of %d%s\n", targets[t].name, targets[t].max, med,
		       range, met, reps.n, med <= targets[t].max ? "" : "  (median MISSES)");
	}
	repeat_usual_speed();
}

int main(int argc, char **argv)
{
	struct kat kat;
	struct dut d;
	struct utsname u;
	cpu_set_t set;
	__u32 xl, jit, wxl, wjit;
	int rc;

	rc = parse_args(argc, argv);
	if (rc)
		return rc;
	if (geteuid() != 0) {
		fprintf(stderr, "bench_datapath: needs root (BPF, network namespace)\n");
		return 1;
	}
	if (opt.cpu < 0)
		opt.cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "bench_datapath: pinning to CPU %d: %s\n", opt.cpu, strerror(errno));
		return 1;
	}
	libbpf_set_print(NULL);
	pkt_mac(MAC_IN, mac_in);
	pkt_mac(MAC_BE, mac_be);
	pkt_mac(MAC_CLIENT, mac_client);
	if (opt.obj && read_obj(opt.obj))
		return 1;
	if (setup_netns() || load_wrapper())
		return 1;
	if (opt.katran) {
		/* Katran's object loads and has the maps this tool knows, before
		 * anything is measured. */
		struct kat k;

		if (kat_load(&k, 1024))
			return 1;
		kat_close(&k);
	}
	if (dut_load(&d, CT_SMALL))
		return 1;

	uname(&u);
	prog_sizes(d.prog_fd, &xl, &jit);
	prog_sizes(wrap_fd, &wxl, &wjit);
	printf("vipxdp data-path microbenchmark: BPF_PROG_TEST_RUN, kernel %s, CPU %d, "
	       "%d runs per figure, median\n", u.release, opt.cpu, opt.runs);
	printf("program: %s, vipxdp_xdp %u xlated insns, %u bytes jited; wrapper %u insns\n",
	       opt.obj ? opt.obj : "built-in (build/vipxdp.o)", xl, jit, wxl);
	printf("conntrack: %d entries (cases 1-3, 5-10), %u entries (cases 4, 11)%s; load average %s\n",
	       CT_SMALL, opt.ct_large, opt.common_lru ? ", one LRU list for all CPUs (--ct-common-lru)" : "",
	       loadavg());
	printf("flow cache: %s\n", opt.no_fc ? "off (--no-flow-cache)" : "on");
	printf("next hops: %s\n",
	       opt.no_route_watch ? "looked up again every epoch (--no-route-watch: no daemon)"
				  : opt.no_simple ? "route watch on, routing not simple: new flows look "
						    "the FIB up (--no-simple-routing)"
						  : "route watch on, as under `vipxdp run` (no route "
						    "changes), simple routing: new flows take the "
						    "next hop cached per backend");
	fflush(stdout);

	for (int rep = 0; rep < opt.repeat; rep++) {
		if (opt.repeat > 1) {
			printf("\n== repeat %d of %d ==\n", rep + 1, opt.repeat);
			fflush(stdout);
		}
		if (run_cases(&d, &kat, rep == 0))
			return 1;
		rc |= report() ? 0 : 1;
		repeat_save();
	}
	if (opt.repeat > 1)
		repeat_summary();
	printf("load average at the end: %s (figures are noisy when other work shares the machine)\n",
	       loadavg());
	bench_wrap_bpf__destroy(wrap);
	if (rc)
		printf("\nbench_datapath: some case did not take the intended path (see check)\n");
	return rc;
}
