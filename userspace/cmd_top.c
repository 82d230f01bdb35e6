// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `vipxdp top [VIP] [--interval S] [--count N] [--bytes] [-j]`: the five
 * heaviest sources of each VIP (or of VIP), from the data path's top-talker
 * counters (vipxdp_talkers, summed over CPUs), with rates from the change
 * between two refreshes. On a terminal the screen is redrawn like top(1);
 * otherwise one plain report is printed per interval. -j prints one JSON
 * report and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "addr.h"

#define TOP_N 5

static volatile sig_atomic_t top_stop;

static void top_on_signal(int sig)
{
	top_stop = 1;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct vipxdp_talker_key));
}

static bool rank_bytes; /* top --bytes */

/* Heaviest first (by bytes, or by packets); ties by address, so the order
 * is stable. */
static int rank(const struct talker_row *x, const struct talker_row *y, bool bytes)
{
	__u64 vx = bytes ? x->t.bytes : x->t.packets;
	__u64 vy = bytes ? y->t.bytes : y->t.packets;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->t.bytes != y->t.bytes)
		return x->t.bytes > y->t.bytes ? -1 : 1;
	return key_cmp(&x->key, &y->key);
}

static int rank_cmp(const void *a, const void *b)
{
	return rank(a, b, rank_bytes);
}

static int rank_packets_cmp(const void *a, const void *b)
{
	return rank(a, b, false);
}

/* Every (VIP, source) pair with its counts summed over CPUs, sorted by key. */
int cli_talkers_read(struct vipxdp_dp *dp, struct talker_row **out, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_talker_key k, nk;
	struct talker_row *rows = NULL, *tmp;
	struct vipxdp_talker *per;
	size_t cnt = 0, cap = 0;
	void *prev = NULL;

	*out = NULL;
	*n = 0;
	if (ncpu <= 0)
		return -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	while (!bpf_map_get_next_key(dp->talkers_fd, prev, &nk)) {
		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(dp->talkers_fd, &k, per))
			continue; /* evicted meanwhile */
		if (cnt == cap) {
			cap = cap ? cap * 2 : 256;
			tmp = realloc(rows, cap * sizeof(*rows));
			if (!tmp) {
				free(rows);
				free(per);
				return -ENOMEM;
			}
			rows = tmp;
		}
		memset(&rows[cnt], 0, sizeof(rows[cnt]));
		rows[cnt].key = k;
		for (int i = 0; i < ncpu; i++) {
			rows[cnt].t.packets += per[i].packets;
			rows[cnt].t.bytes += per[i].bytes;
		}
		cnt++;
	}
	free(per);
	if (cnt)
		qsort(rows, cnt, sizeof(*rows), key_cmp);
	*out = rows;
	*n = cnt;
	return 0;
}

/* The rows of VIP k (from cli_talkers_read()), heaviest first by packets,
 * into sel (room for n); returns how many. */
size_t cli_talkers_of(const struct talker_row *rows, size_t n, const struct vipxdp_vip_key *k,
		      struct talker_row *sel)
{
	size_t cnt = 0;

	for (size_t r = 0; r < n; r++)
		if (rows[r].key.family == k->family &&
		    !memcmp(&rows[r].key.vip, &k->addr, sizeof(k->addr)))
			sel[cnt++] = rows[r];
	qsort(sel, cnt, sizeof(*sel), rank_packets_cmp);
	return cnt;
}

static const struct talker_row *find_row(const struct talker_row *rows, size_t n,
					 const struct vipxdp_talker_key *k)
{
	return n ? bsearch(k, rows, n, sizeof(*rows), key_cmp) : NULL;
}

struct top_opts {
	bool one_vip;
	__u8 family;
	struct vipxdp_addr vip;
	__u32 interval;
	__u32 count; /* 0 = until interrupted */
};

/* One report: every VIP (or the chosen one) and its TOP_N heaviest sources. */
static int top_report(struct cli *c, struct vipxdp_dp *dp, const struct top_opts *o,
		      const struct talker_row *cur, size_t ncur, const struct talker_row *prev,
		      size_t nprev, double dt, __u32 sample)
{
	struct vipxdp_dp_vip *vips = NULL;
	struct talker_row *sel = NULL;
	size_t nvips = 0, i, r, nsel;
	char a[VIPXDP_ADDR_STRLEN];
	int err;

	if ((err = vipxdp_dp_vips(dp, &vips, &nvips)))
		return err;
	sel = calloc(ncur ? ncur : 1, sizeof(*sel));
	if (!sel) {
		free(vips);
		return -ENOMEM;
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_ku64(&c->jw, "talkers_sample", sample);
		json_kstr(&c->jw, "ranked_by", rank_bytes ? "bytes" : "packets");
		json_key(&c->jw, "vips");
		json_arr_open(&c->jw);
	} else {
		printf("vipxdp top: five heaviest sources per VIP by %s; ",
		       rank_bytes ? "bytes" : "packets");
		if (!sample)
			printf("top talkers are off (settings.talkers_sample 0)\n");
		else if (sample == 1)
			printf("every packet counted\n");
		else
			printf("one packet in %u sampled (counts are estimates)\n", sample);
	}
	for (i = 0; i < nvips; i++) {
		const struct vipxdp_vip_key *vk = &vips[i].key;

		if (o->one_vip && !vipxdp_addr_eq(vk->family, &vk->addr, o->family, &o->vip))
			continue;
		nsel = 0;
		for (r = 0; r < ncur; r++)
			if (cur[r].key.family == vk->family &&
			    !memcmp(&cur[r].key.vip, &vk->addr, sizeof(vk->addr)))
				sel[nsel++] = cur[r];
		qsort(sel, nsel, sizeof(*sel), rank_cmp);
		vipxdp_addr_str(vk->family, &vk->addr, a, sizeof(a));
		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "address", a);
			json_kstr(&c->jw, "name", vips[i].vip.name);
			json_ku64(&c->jw, "sources", nsel);
			json_key(&c->jw, "talkers");
			json_arr_open(&c->jw);
		} else {
			printf("\nvip %s%s%s%s  (%zu source%s)\n", a,
			       vips[i].vip.name[0] ? " (" : "", vips[i].vip.name,
			       vips[i].vip.name[0] ? ")" : "", nsel, nsel == 1 ? "" : "s");
			if (nsel)
				printf("    %-40s %14s %16s %12s %14s\n", "source", "packets",
				       "bytes", "pps", "bit/s");
		}
		for (r = 0; r < nsel && r < TOP_N; r++) {
			const struct talker_row *p = find_row(prev, nprev, &sel[r].key);
			bool rate = prev && dt > 0;
			double pps = 0, bps = 0;
			char s[VIPXDP_ADDR_STRLEN];

			if (rate) {
				pps = (sel[r].t.packets - (p ? p->t.packets : 0)) / dt;
				bps = (sel[r].t.bytes - (p ? p->t.bytes : 0)) * 8 / dt;
			}
			vipxdp_addr_str(vk->family, &sel[r].key.src, s, sizeof(s));
			if (c->json) {
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "source", s);
				json_ku64(&c->jw, "packets", sel[r].t.packets);
				json_ku64(&c->jw, "bytes", sel[r].t.bytes);
				if (rate) {
					json_kdouble(&c->jw, "pps", pps);
					json_kdouble(&c->jw, "bps", bps);
				}
				json_obj_close(&c->jw);
			} else if (rate) {
				printf("    %-40s %14llu %16llu %12.0f %14.0f\n", s,
				       (unsigned long long)sel[r].t.packets,
				       (unsigned long long)sel[r].t.bytes, pps, bps);
			} else {
				printf("    %-40s %14llu %16llu %12s %14s\n", s,
				       (unsigned long long)sel[r].t.packets,
				       (unsigned long long)sel[r].t.bytes, "-", "-");
			}
		}
		if (c->json) {
			json_arr_close(&c->jw);
			json_obj_close(&c->jw);
		}
	}
	if (c->json) {
		json_arr_close(&c->jw);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	fflush(stdout);
	free(sel);
	free(vips);
	return 0;
}

int cmd_top(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "interval", required_argument, NULL, 'i' },
					    { "count", required_argument, NULL, 'n' },
					    { "bytes", no_argument, NULL, 'b' },
					    CLI_COMMON_LONGOPTS };
	struct talker_row *cur = NULL, *prev = NULL;
	size_t ncur = 0, nprev = 0;
	struct top_opts o = { .interval = 2 };
	struct timespec t0, t1;
	struct vipxdp_cfg cfg = {};
	struct vipxdp_dp dp;
	bool tty = isatty(STDOUT_FILENO);
	__u32 done = 0;
	int opt, rc;

	rank_bytes = false;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":i:n:b" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'i':
			if ((rc = cli_parse_u32(c, "--interval", optarg, 1, 3600, &o.interval)))
				return rc;
			break;
		case 'n':
			if ((rc = cli_parse_u32(c, "--count", optarg, 1, 1000000, &o.count)))
				return rc;
			break;
		case 'b':
			rank_bytes = true;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("top"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (argc - optind > 1)
		return cli_fail(c, EXIT_USAGE, "top takes at most one VIP");
	if (optind < argc) {
		if (vipxdp_addr_parse(argv[optind], &o.family, &o.vip))
			return cli_fail(c, EXIT_USAGE, "top: '%s' is not an IPv4 or IPv6 address",
					argv[optind]);
		o.one_vip = true;
	}
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	if (o.one_vip) {
		struct vipxdp_vip_key k = { .addr = o.vip, .family = o.family };
		struct vipxdp_vip v;

		if (bpf_map_lookup_elem(dp.vip_fd, &k, &v)) {
			rc = cli_fail(c, EXIT_FAIL, "top: %s is not a VIP (see 'vipxdp status')",
				      argv[optind]);
			goto out;
		}
	}
	if ((rc = vipxdp_dp_get_cfg(&dp, &cfg))) {
		rc = cli_fail(c, EXIT_FAIL, "reading settings: %s", strerror(-rc));
		goto out;
	}
	signal(SIGINT, top_on_signal);
	signal(SIGTERM, top_on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		double dt;

		rc = cli_talkers_read(&dp, &cur, &ncur);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		t0 = t1;
		if (!rc) {
			if (tty && !c->json)
				printf("\033[H\033[2J");
			else if (done && !c->json)
				putchar('\n');
			rc = top_report(c, &dp, &o, cur, ncur, done ? prev : NULL, nprev, dt,
					cfg.talkers_sample);
		}
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "reading top talkers: %s", strerror(-rc));
			goto out;
		}
		done++;
		if (c->json || top_stop || (o.count && done >= o.count))
			break;
		free(prev);
		prev = cur;
		nprev = ncur;
		cur = NULL;
		for (__u32 i = 0; i < o.interval * 10 && !top_stop; i++)
			usleep(100000);
		if (top_stop)
			break;
	}
	rc = EXIT_OK;
out:
	free(cur);
	free(prev);
	vipxdp_dp_close(&dp);
	return rc;
}
