/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark of the health-check probe engine (userspace/health.c): N targets
 * (default 10,000) probed every interval (default 1 s) from one thread,
 * against local servers in a child process: L listening sockets (default
 * 16) on 127.88.0.1, 127.88.0.2, ... (loopback only; 127.0.0.0/8 is local
 * on lo without any configuration). The tcp server accepts and closes, the
 * http server reads the request and answers 200, the udp server echoes.
 * Probes end with a reset (SO_LINGER 0), so neither side keeps TIME_WAIT
 * sockets and ephemeral ports never run out; the table shows the TIME_WAIT
 * sockets to or from the listeners' addresses before and after.
 *
 * After a warm-up of one interval (every target's first probe lands in it)
 * the engine runs for D seconds (default 10); the table gives the probe rate
 * achieved against the expected N / interval, the success rate, probe
 * durations, the largest delay of a probe start past its due time (no probe
 * may start more than one interval late), and the CPU the engine process
 * used (getrusage, user + sys over wall time) against one core; the engine
 * is one thread, so it cannot use more than one core. With -P the engine and
 * the server are pinned to the first two CPUs (unpinned by default: on a
 * shared machine another pinned job may hold one of them). Exit
 * status 0 when every check passes, 1 when one fails, 2 on a usage or setup
 * error. The run stops by itself after warm-up + D seconds.
 *
 *   build/tools/bench_health [-n targets] [-i interval_ms] [-T timeout_ms]
 *                            [-d seconds] [-p tcp|http|udp] [-l listeners] [-P]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "health.h"

#define MAX_LISTENERS 250
#define LISTEN_NET    "127.88.0." /* listener i is on 127.88.0.(i+1) */
#define HIST_BUCKETS  64	  /* probe durations, power-of-two microsecond buckets */
#define LISTENER_BIT  (1ull << 63)

struct opts {
	unsigned int n, interval_ms, timeout_ms, seconds, listeners;
	enum vipxdp_health_type type;
	bool pin; /* engine and server on two different CPUs */
};

struct listener {
	int fd;
	__u16 port;
	struct vipxdp_addr addr;
};

struct bench {
	struct vipxdp_health *h;
	bool measuring;
	__u64 hist[HIST_BUCKETS]; /* probe durations in the measured window */
	__u64 hist_n, max_us;
	__u64 transitions;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_health [-n targets] [-i interval_ms] [-T timeout_ms] [-d seconds]\n"
		"                    [-p tcp|http|udp] [-l listeners] [-P]\n"
		"defaults: -n 10000 -i 1000 -T 500 -d 10 -p tcp -l 16; -P pins the engine and\n"
		"the server process to the first two CPUs\n");
}

static int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.n = 10000,
			   .interval_ms = 1000,
			   .timeout_ms = 500,
			   .seconds = 10,
			   .listeners = 16,
			   .type = VIPXDP_HEALTH_TCP};
	while ((c = getopt(argc, argv, "n:i:T:d:p:l:Ph")) != -1) {
		switch (c) {
		case 'P':
			o->pin = true;
			break;
		case 'n':
			if (parse_uint(optarg, 1, 1000000, &o->n))
				return -EINVAL;
			break;
		case 'i':
			if (parse_uint(optarg, 10, 60000, &o->interval_ms))
				return -EINVAL;
			break;
		case 'T':
			if (parse_uint(optarg, 1, 60000, &o->timeout_ms))
				return -EINVAL;
			break;
		case 'd':
			if (parse_uint(optarg, 1, 3600, &o->seconds))
				return -EINVAL;
			break;
		case 'l':
			if (parse_uint(optarg, 1, MAX_LISTENERS, &o->listeners))
				return -EINVAL;
			break;
		case 'p':
			if (!strcmp(optarg, "tcp"))
				o->type = VIPXDP_HEALTH_TCP;
			else if (!strcmp(optarg, "http"))
				o->type = VIPXDP_HEALTH_HTTP;
			else if (!strcmp(optarg, "udp"))
				o->type = VIPXDP_HEALTH_UDP;
			else
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || o->timeout_ms > o->interval_ms)
		return -EINVAL;
	return 0;
}

/* ---- server child ---- */

static int open_listener(struct listener *l, unsigned int i, int type)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	char a[32];
	__u8 family;

	snprintf(a, sizeof(a), LISTEN_NET "%u", i + 1);
	if (vipxdp_addr_parse(a, &family, &l->addr))
		return -EINVAL;
	memcpy(&sin.sin_addr, l->addr.b, 4);
	l->fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -errno;
	if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &len) ||
	    (type == SOCK_STREAM && listen(l->fd, 4096))) {
		fprintf(stderr, "bench_health: listener on %s: %s\n", a, strerror(errno));
		return -errno;
	}
	l->port = ntohs(sin.sin_port);
	return 0;
}

static void serve_udp(int fd)
{
	struct sockaddr_in peer;
	socklen_t plen;
	char buf[2048];
	ssize_t n;

	for (;;) {
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < 0)
			return;
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
	}
}

static void serve_http_conn(int fd)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	char buf[1024];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		send(fd, resp, sizeof(resp) - 1, MSG_NOSIGNAL);
	close(fd); /* also unregisters it */
}

/* The child's loop: serve until killed. */
static void serve(const struct opts *o, const struct listener *ls, int cpu)
{
	struct epoll_event ev, evs[256];
	int ep, n, i, fd;
	cpu_set_t set;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(o->seconds + o->interval_ms / 1000 + 60); /* a backstop only */
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		_exit(2);
	for (i = 0; i < (int)o->listeners; i++) {
		ev.events = EPOLLIN;
		ev.data.u64 = LISTENER_BIT | (__u64)ls[i].fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[i].fd, &ev))
			_exit(2);
	}
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			fd = (int)(evs[i].data.u64 & 0x7fffffff);
			if (!(evs[i].data.u64 & LISTENER_BIT)) {
				serve_http_conn(fd);
				continue;
			}
			if (o->type == VIPXDP_HEALTH_UDP) {
				serve_udp(fd);
				continue;
			}
			while (1) {
				int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c < 0)
					break;
				if (o->type == VIPXDP_HEALTH_TCP) {
					close(c);
					continue;
				}
				ev.events = EPOLLIN;
				ev.data.u64 = (__u64)c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
					close(c);
			}
		}
	}
}

/* ---- engine side ---- */

static void on_trans(void *ctx, int id, const struct vipxdp_health_target *t,
		     enum vipxdp_health_state from, enum vipxdp_health_state to, const char *reason)
{
	struct bench *b = ctx;

	b->transitions++;
	if (b->transitions <= 3)
		fprintf(stderr, "bench_health: target %d %s -> %s: %s\n", id,
			vipxdp_health_state_str(from), vipxdp_health_state_str(to), reason);
}

static void on_probe(void *ctx, int id, const struct vipxdp_health_target *t, bool ok,
		     const char *reason)
{
	struct bench *b = ctx;
	struct vipxdp_health_info info;
	unsigned int k = 0;

	if (!b->measuring || vipxdp_health_get(b->h, id, &info))
		return;
	while (k < HIST_BUCKETS - 1 && (1ull << k) <= info.last_us)
		k++;
	b->hist[k]++;
	b->hist_n++;
	if (info.last_us > b->max_us)
		b->max_us = info.last_us;
}

/* Upper bound, in ms, of the duration below which a fraction q of probes ended. */
static double hist_quantile(const struct bench *b, double q)
{
	__u64 want = (__u64)(q * (double)b->hist_n), sum = 0;
	unsigned int k;

	for (k = 0; k < HIST_BUCKETS; k++) {
		sum += b->hist[k];
		if (sum > want)
			return (double)(1ull << k) / 1000.0;
	}
	return (double)b->max_us / 1000.0;
}

static double cpu_s(const struct rusage *r)
{
	return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
	       (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

/* TIME_WAIT sockets from or to the listeners' addresses, -1 if unknown. */
static long time_wait_count(void)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	unsigned int la, ra, st;
	__u8 lb[4], rb[4];
	char line[256];
	long tw = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "  12: 0100587F:1F90 0200587F:C350 06 ...": raw __be32 in host order. */
		if (sscanf(line, " %*u: %x:%*x %x:%*x %x", &la, &ra, &st) != 3 || st != 6)
			continue;
		memcpy(lb, &la, 4);
		memcpy(rb, &ra, 4);
		if ((lb[0] == 127 && lb[1] == 88 && lb[2] == 0) ||
		    (rb[0] == 127 && rb[1] == 88 && rb[2] == 0))
			tw++;
	}
	fclose(f);
	return tw;
}

/* Busy and total jiffies of all CPUs, from the first line of /proc/stat. */
static bool machine_cpu(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[8] = {};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return false;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return false;
	/* user nice system idle iowait irq softirq steal */
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*total = *busy + v[3] + v[4];
	return true;
}

/* The first two CPUs this process may run on, -1 when absent. */
static void pick_cpus(int *engine, int *server)
{
	cpu_set_t set;
	int i;

	*engine = *server = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (*engine < 0) {
			*engine = i;
		} else {
			*server = i;
			break;
		}
	}
	if (*server < 0)
		*engine = -1; /* one CPU: no pinning, both share it */
}

/* Run the engine until the monotonic time end_ns. */
static int run_until(struct vipxdp_health *h, __u64 end_ns)
{
	__u64 now;
	int err;

	while ((now = vipxdp_health_now_ns()) < end_ns) {
		__u64 left_ms = (end_ns - now + 999999) / 1000000;

		err = vipxdp_health_run(h, left_ms < 100 ? (int)left_ms : 100);
		if (err < 0)
			return err;
	}
	return 0;
}

static void row(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("  %-32s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int main(int argc, char **argv)
{
	static struct listener ls[MAX_LISTENERS];
	struct vipxdp_health_stats s0, s1;
	struct vipxdp_health_target t;
	struct rusage r0, r1, rc;
	struct bench b = {};
	struct opts o;
	__u64 start, w0, w1, done, ok, expected_x1000;
	double wall, cpu, rate, expected, success, child_wall;
	unsigned long long m0_busy, m0_total, m1_busy = 0, m1_total = 0;
	bool have_m;
	long tw0, tw1;
	int cpu_engine, cpu_server, status, err, id;
	unsigned int i;
	pid_t child = -1;
	cpu_set_t set;
	bool pass = true;
	int ret = 2;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < MAX_LISTENERS; i++)
		ls[i].fd = -1;
	for (i = 0; i < o.listeners; i++) {
		if (open_listener(&ls[i], i,
				  o.type == VIPXDP_HEALTH_UDP ? SOCK_DGRAM : SOCK_STREAM))
			goto out;
	}
	cpu_engine = cpu_server = -1;
	if (o.pin)
		pick_cpus(&cpu_engine, &cpu_server);
	tw0 = time_wait_count();
	child = fork();
	if (child < 0) {
		perror("bench_health: fork");
		goto out;
	}
	if (child == 0)
		serve(&o, ls, cpu_server);
	for (i = 0; i < o.listeners; i++) {
		close(ls[i].fd);
		ls[i].fd = -1;
	}
	if (cpu_engine >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu_engine, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}

	err = vipxdp_health_new(&b.h, on_trans, &b);
	if (err) {
		fprintf(stderr, "bench_health: vipxdp_health_new: %s\n", strerror(-err));
		goto out;
	}
	vipxdp_health_set_probe_cb(b.h, on_probe);
	memset(&t, 0, sizeof(t));
	t.cfg.type = o.type;
	t.cfg.expect_min = VIPXDP_HEALTH_EXPECT_MIN;
	t.cfg.expect_max = VIPXDP_HEALTH_EXPECT_MAX;
	t.cfg.interval_ms = o.interval_ms;
	t.cfg.timeout_ms = o.timeout_ms;
	t.cfg.rise = VIPXDP_HEALTH_RISE;
	t.cfg.fall = VIPXDP_HEALTH_FALL;
	t.cfg.path = "/healthz";
	t.cfg.payload = "ping";
	t.cfg.payload_len = 4;
	t.ep.family = VIPXDP_AF_INET;
	for (i = 0; i < o.n; i++) {
		t.ep.addr = ls[i % o.listeners].addr;
		t.ep.port = ls[i % o.listeners].port;
		err = vipxdp_health_add(b.h, &t, VIPXDP_HEALTH_UP, &id);
		if (err) {
			fprintf(stderr, "bench_health: vipxdp_health_add: %s\n", strerror(-err));
			goto out;
		}
	}

	/* Warm-up: every target's first probe falls in the first interval. */
	start = vipxdp_health_now_ns();
	err = run_until(b.h, start + (__u64)o.interval_ms * 1000000);
	if (err)
		goto run_err;
	b.measuring = true;
	vipxdp_health_stats_reset_peaks(b.h);
	vipxdp_health_stats(b.h, &s0);
	getrusage(RUSAGE_SELF, &r0);
	have_m = machine_cpu(&m0_busy, &m0_total);
	w0 = vipxdp_health_now_ns();
	err = run_until(b.h, w0 + (__u64)o.seconds * 1000000000);
	if (err)
		goto run_err;
	w1 = vipxdp_health_now_ns();
	getrusage(RUSAGE_SELF, &r1);
	have_m = have_m && machine_cpu(&m1_busy, &m1_total) && m1_total > m0_total;
	vipxdp_health_stats(b.h, &s1);
	b.measuring = false;
	tw1 = time_wait_count();
	kill(child, SIGTERM);
	waitpid(child, &status, 0);
	child = -1;
	getrusage(RUSAGE_CHILDREN, &rc);
	child_wall = (double)(vipxdp_health_now_ns() - start) / 1e9;

	wall = (double)(w1 - w0) / 1e9;
	cpu = cpu_s(&r1) - cpu_s(&r0);
	done = (s1.succeeded + s1.failed) - (s0.succeeded + s0.failed);
	ok = s1.succeeded - s0.succeeded;
	rate = (double)done / wall;
	expected = (double)o.n * 1000.0 / o.interval_ms;
	success = done ? 100.0 * (double)ok / (double)done : 0;
	expected_x1000 = (__u64)(expected * wall * 1000);

	printf("bench_health: %u %s targets on %u listeners (" LISTEN_NET "1-%u), interval %u ms, "
	       "timeout %u ms\n",
	       o.n, vipxdp_health_type_str(o.type), o.listeners, o.listeners, o.interval_ms,
	       o.timeout_ms);
	if (cpu_engine >= 0)
		printf("engine on CPU %d, server process on CPU %d; measured %u s after a %u ms "
		       "warm-up\n\n",
		       cpu_engine, cpu_server, o.seconds, o.interval_ms);
	else
		printf("engine and server process not pinned; measured %u s after a %u ms "
		       "warm-up\n\n",
		       o.seconds, o.interval_ms);
	row("metric", "value");
	row("--------------------------------", "------------------------------");
	row("probes completed", "%llu", (unsigned long long)done);
	row("probes/s (expected)", "%.1f (%.1f)", rate, expected);
	row("success rate", "%.3f %%", success);
	row("failures / timeouts", "%llu / %llu", (unsigned long long)(s1.failed - s0.failed),
	    (unsigned long long)(s1.timeouts - s0.timeouts));
	row("state transitions", "%llu", (unsigned long long)b.transitions);
	row("probe duration p50 / p99 / max", "<= %.3f / <= %.3f / %.3f ms", hist_quantile(&b, 0.5),
	    hist_quantile(&b, 0.99), (double)b.max_us / 1000.0);
	row("max probes in flight (limit)", "%u (%u)", s1.max_in_flight_seen, s1.max_in_flight);
	row("deferred for lack of a socket", "%llu",
	    (unsigned long long)(s1.deferred - s0.deferred));
	row("max start delay (limit)", "%.3f ms (%u ms)", (double)s1.max_late_ns / 1e6,
	    o.interval_ms);
	row("probes late by > interval", "%llu (warm-up included)", (unsigned long long)s1.late);
	row("engine CPU user + sys", "%.3f + %.3f s in %.3f s",
	    (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
		    (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6,
	    (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
		    (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6,
	    wall);
	row("engine CPU share of one core", "%.1f %%", 100.0 * cpu / wall);
	row("engine CPU per probe", "%.1f us", done ? cpu * 1e6 / (double)done : 0);
	row("server process CPU share", "%.1f %% (whole run)", 100.0 * cpu_s(&rc) / child_wall);
	if (have_m)
		row("machine busy, all CPUs", "%.1f %% of %ld CPUs (anything running)",
		    100.0 * (double)(m1_busy - m0_busy) / (double)(m1_total - m0_total),
		    sysconf(_SC_NPROCESSORS_ONLN));
	if (tw0 >= 0 && tw1 >= 0)
		row("TIME_WAIT sockets before/after", "%ld / %ld (to/from " LISTEN_NET "x)", tw0,
		    tw1);
	row("RLIMIT_NOFILE soft (before)", "%llu (%llu)", (unsigned long long)s1.nofile,
	    (unsigned long long)s1.nofile_before);

	if (s1.late) {
		printf("FAIL: %llu probes started more than one interval late\n",
		       (unsigned long long)s1.late);
		pass = false;
	}
	if (done * 1000 < expected_x1000 * 98 / 100) {
		printf("FAIL: %.1f probes/s is below 98 %% of the expected %.1f\n", rate, expected);
		pass = false;
	}
	if (success < 99.9) {
		printf("FAIL: success rate %.3f %% is below 99.9 %%\n", success);
		pass = false;
	}
	if (cpu / wall >= 1.0) {
		printf("FAIL: the engine needs more than one core\n");
		pass = false;
	}
	row("result", "%s", pass ? "PASS" : "FAIL");
	ret = pass ? 0 : 1;
	goto out;
run_err:
	fprintf(stderr, "bench_health: vipxdp_health_run: %s\n", strerror(-err));
out:
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	for (i = 0; i < o.listeners && i < MAX_LISTENERS; i++) {
		if (ls[i].fd >= 0)
			close(ls[i].fd);
	}
	vipxdp_health_free(b.h);
	return ret;
}
