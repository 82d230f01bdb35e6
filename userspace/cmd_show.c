/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `vipxdp status` (what is configured and attached) and `vipxdp stats`
 * (counters, optionally refreshed with rates).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "addr.h"
#include "attach.h"
#include "routewatch.h"

static const char *const reason_names[] = VIPXDP_REASON_NAMES;

static const char *hash_name(__u32 flags)
{
	return flags & VIPXDP_SVC_F_HASH_SRC ? "source-ip" : "5tuple";
}

static bool same_vip(const struct vipxdp_svc_key *k, const struct vipxdp_vip_key *v)
{
	return k->family == v->family && !memcmp(&k->addr, &v->addr, sizeof(k->addr));
}

/* A limit for display: "-" for none. */
static const char *qos_limit_str(__u64 v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	struct vipxdp_attached *ifs = NULL;
	struct vipxdp_dp_vip *vips = NULL;
	struct vipxdp_dp_svc *svcs = NULL;
	struct vipxdp_cfg cfg = {};
	struct vipxdp_dp dp;
	size_t nifs = 0, nvips = 0, nsvcs = 0, i, s, b;
	char abuf[VIPXDP_ADDR_STRLEN];
	__u32 ct_size, rgen = 0;
	bool rwatch = false, simple = false;
	int rc;

	rc = cli_no_options(c, "status", argc, argv);
	if (rc)
		return rc == CLI_HELPED ? EXIT_OK : rc;
	if (optind != argc)
		return cli_fail(c, EXIT_USAGE, "status takes no arguments");
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	if ((rc = vipxdp_attached_list(c->pin_dir, &ifs, &nifs)) ||
	    (rc = vipxdp_dp_vips(&dp, &vips, &nvips)) ||
	    (rc = vipxdp_dp_services(&dp, &svcs, &nsvcs)) || (rc = vipxdp_dp_get_cfg(&dp, &cfg)) ||
	    (rc = vipxdp_rwatch_state(dp.route_fd, &rwatch, &rgen, &simple))) {
		rc = cli_fail(c, EXIT_FAIL, "reading state: %s", strerror(-rc));
		goto out;
	}
	ct_size = vipxdp_state_ct_size(c->pin_dir);
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "pin_dir", c->pin_dir);
		json_key(&c->jw, "interfaces");
		json_arr_open(&c->jw);
	} else {
		printf("pin directory: %s\ninterfaces:\n", c->pin_dir);
	}
	for (i = 0; i < nifs; i++) {
		const char *mode = ifs[i].generic ? "generic" : "native";

		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "name", ifs[i].name);
			json_ku64(&c->jw, "ifindex", ifs[i].ifindex);
			json_kstr(&c->jw, "mode", ifs[i].ifindex ? mode : "defunct");
			json_obj_close(&c->jw);
		} else {
			printf("    %-16s ifindex %-4u %s\n", ifs[i].name, ifs[i].ifindex,
			       ifs[i].ifindex ? mode : "defunct (interface gone)");
		}
	}
	if (c->json) {
		json_arr_close(&c->jw);
		json_key(&c->jw, "settings");
		json_obj_open(&c->jw);
		json_ku64(&c->jw, "hash_seed", cfg.hash_seed);
		json_ku64(&c->jw, "table_size", cfg.table_size);
		json_ku64(&c->jw, "conntrack_size", ct_size);
		json_ku64(&c->jw, "talkers_sample", cfg.talkers_sample);
		json_kbool(&c->jw, "flow_cache", !(cfg.flags & VIPXDP_CFG_F_NO_FC));
		json_obj_close(&c->jw);
		json_key(&c->jw, "route_watch");
		json_obj_open(&c->jw);
		json_kbool(&c->jw, "on", rwatch);
		json_ku64(&c->jw, "generation", rgen);
		json_kbool(&c->jw, "next_hop_per_backend", simple);
		json_obj_close(&c->jw);
		json_key(&c->jw, "vips");
		json_arr_open(&c->jw);
	} else {
		printf("settings: hash_seed 0x%08x table_size %u conntrack_size %u talkers_sample %u "
		       "flow_cache %s\n"
		       "route watch: %s (generation %u)\n"
		       "vips:\n",
		       cfg.hash_seed, cfg.table_size, ct_size, cfg.talkers_sample,
		       cfg.flags & VIPXDP_CFG_F_NO_FC ? "off" : "on",
		       !rwatch ? "off, next hops looked up every epoch"
		       : simple
			       ? "on, next hops kept until a change, new flows take their backend's"
			       : "on, next hops kept until a change, new flows look them up",
		       rgen);
	}
	for (i = 0; i < nvips; i++) {
		bool arp = vips[i].vip.flags & VIPXDP_VIP_F_ARP;
		struct vipxdp_addr priv;
		char pbuf[VIPXDP_ADDR_STRLEN] = "", lp[24], lb[24];
		struct vipxdp_qos_spec qs = {};
		struct vipxdp_qos_stats qst = {};
		__u32 qidx = 0;
		bool has_qos = !vipxdp_dp_get_vip_qos(&dp, vips[i].key.family, &vips[i].key.addr,
						      &qs, &qidx);

		if (has_qos)
			vipxdp_dp_qos_stats(&dp, qidx, &qst);

		if (!vipxdp_dp_get_eip(&dp, vips[i].key.family, &vips[i].key.addr, &priv))
			vipxdp_addr_str(vips[i].key.family, &priv, pbuf, sizeof(pbuf));
		vipxdp_addr_str(vips[i].key.family, &vips[i].key.addr, abuf, sizeof(abuf));
		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "address", abuf);
			json_kstr(&c->jw, "name", vips[i].vip.name);
			json_kbool(&c->jw, "arp", arp);
			if (pbuf[0])
				json_kstr(&c->jw, "elastic_ip", pbuf);
			if (has_qos) {
				json_key(&c->jw, "qos");
				json_obj_open(&c->jw);
				json_ku64(&c->jw, "pps", qs.pps);
				json_ku64(&c->jw, "bps", qs.bps);
				json_ku64(&c->jw, "burst_ms", qs.burst_ms);
				json_ku64(&c->jw, "passed_packets", qst.packets);
				json_ku64(&c->jw, "passed_bytes", qst.bytes);
				json_ku64(&c->jw, "dropped_packets", qst.drop_packets);
				json_ku64(&c->jw, "dropped_bytes", qst.drop_bytes);
				json_obj_close(&c->jw);
			}
			json_key(&c->jw, "services");
			json_arr_open(&c->jw);
		} else {
			printf("    %s%s%s%s  %s %s%s%s\n", abuf, vips[i].vip.name[0] ? " (" : "",
			       vips[i].vip.name, vips[i].vip.name[0] ? ")" : "",
			       vips[i].key.family == VIPXDP_AF_INET ? "arp" : "ndp",
			       arp ? "on" : "off", pbuf[0] ? "  elastic ip -> " : "", pbuf);
			if (has_qos)
				printf("        qos pps %s bps %s burst %ums: passed %llu packets, dropped %llu packets (%llu bytes)\n",
				       qos_limit_str(qs.pps, lp, sizeof(lp)),
				       qos_limit_str(qs.bps, lb, sizeof(lb)), qs.burst_ms,
				       (unsigned long long)qst.packets,
				       (unsigned long long)qst.drop_packets,
				       (unsigned long long)qst.drop_bytes);
		}
		for (s = 0; s < nsvcs; s++) {
			struct vipxdp_dp_be *bes = NULL;
			const struct vipxdp_svc *sv = &svcs[s].svc;
			size_t nb = 0;

			if (!same_vip(&svcs[s].key, &vips[i].key))
				continue;
			vipxdp_dp_backends_of(&dp, sv->id, &bes, &nb);
			if (c->json) {
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "protocol", vipxdp_proto_str(svcs[s].key.proto));
				json_ku64(&c->jw, "port", ntohs(svcs[s].key.port));
				json_kstr(&c->jw, "mode",
					  sv->mode == VIPXDP_MODE_FULLNAT    ? "fullnat"
					  : sv->flags & VIPXDP_SVC_F_PORTFWD ? "port-forward"
									     : "dnat");
				if (sv->mode == VIPXDP_MODE_FULLNAT)
					json_kstr(&c->jw, "snat_address",
						  vipxdp_addr_str(svcs[s].key.family, &sv->snat,
								  abuf, sizeof(abuf)));
				json_kstr(&c->jw, "hash", hash_name(sv->flags));
				json_ku64(&c->jw, "id", sv->id);
				json_ku64(&c->jw, "generation", sv->gen);
				json_ku64(&c->jw, "table_size", sv->table_size[sv->gen & 1]);
				json_key(&c->jw, "backends");
				json_arr_open(&c->jw);
			} else {
				printf("        %s/%u  %s%s%s  hash %s  generation %u  table %u\n",
				       vipxdp_proto_str(svcs[s].key.proto), ntohs(svcs[s].key.port),
				       sv->mode == VIPXDP_MODE_FULLNAT	  ? "fullnat from "
				       : sv->flags & VIPXDP_SVC_F_PORTFWD ? "port-forward"
									  : "dnat",
				       sv->mode == VIPXDP_MODE_FULLNAT
					       ? vipxdp_addr_str(svcs[s].key.family, &sv->snat,
								 abuf, sizeof(abuf))
					       : "",
				       "", hash_name(sv->flags), sv->gen,
				       sv->table_size[sv->gen & 1]);
			}
			for (b = 0; b < nb; b++) {
				struct vipxdp_endpoint ep;
				char ebuf[VIPXDP_ENDPOINT_STRLEN];
				const char *state = cli_be_state(&bes[b].be);

				struct vipxdp_health_rec hr;
				bool have_hr =
					!bpf_map_lookup_elem(dp.health_fd, &bes[b].id, &hr) &&
					hr.state != VIPXDP_HREC_NONE;
				const char *health = !have_hr			  ? "unchecked"
						     : hr.state == VIPXDP_HREC_UP ? "up"
										  : "down";

				cli_ep_of_backend(&bes[b].be, &ep);
				vipxdp_addr_str(ep.family, &ep.addr, abuf, sizeof(abuf));
				if (c->json) {
					json_obj_open(&c->jw);
					json_kstr(&c->jw, "address", abuf);
					json_ku64(&c->jw, "port", ep.port);
					json_ku64(&c->jw, "weight", bes[b].be.weight);
					json_kstr(&c->jw, "state", state);
					json_ku64(&c->jw, "id", bes[b].id);
					json_kstr(&c->jw, "health", health);
					if (have_hr) {
						json_ku64(&c->jw, "health_since", hr.since);
						json_ku64(&c->jw, "health_transitions",
							  hr.transitions);
						json_ku64(&c->jw, "last_probe", hr.last_probe);
						json_kstr(&c->jw, "last_result", hr.last);
					}
					json_obj_close(&c->jw);
				} else {
					printf("            %-40s weight %-5u %-8s health %s",
					       vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf)),
					       bes[b].be.weight, state, health);
					if (have_hr) {
						char tb[32];
						time_t since = hr.since;
						struct tm tm;

						strftime(tb, sizeof(tb), "%Y-%m-%d %H:%M:%S",
							 localtime_r(&since, &tm));
						printf(" since %s, last: %s", tb,
						       hr.last[0] ? hr.last : "-");
					}
					putchar('\n');
				}
			}
			if (c->json) {
				json_arr_close(&c->jw);
				json_obj_close(&c->jw);
			}
			free(bes);
		}
		if (c->json) {
			json_arr_close(&c->jw);
			json_obj_close(&c->jw);
		}
	}
	{
		struct vipxdp_snat_rule *rules = NULL;
		size_t nr = 0;
		char sb[VIPXDP_ADDR_STRLEN];

		vipxdp_dp_snat_rules(&dp, &rules, &nr);
		if (c->json) {
			json_arr_close(&c->jw);
			json_key(&c->jw, "snat");
			json_arr_open(&c->jw);
		} else if (nr) {
			printf("source NAT (this host's own addresses excluded):\n");
		}
		for (i = 0; i < nr; i++) {
			char src[VIPXDP_CIDR_STRLEN];
			const __u32 *w = rules[i].vip.w;

			if (!(w[0] | w[1] | w[2] | w[3]))
				continue; /* exclusion of a local address */
			snprintf(src, sizeof(src), "%s/%u",
				 vipxdp_addr_str(rules[i].family, &rules[i].src, sb, sizeof(sb)),
				 rules[i].prefix_len);
			vipxdp_addr_str(rules[i].family, &rules[i].vip, abuf, sizeof(abuf));
			if (c->json) {
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "source", src);
				json_kstr(&c->jw, "address", abuf);
				json_obj_close(&c->jw);
			} else {
				printf("    %s -> %s\n", src, abuf);
			}
		}
		free(rules);
	}
	if (c->json) {
		json_arr_close(&c->jw);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	rc = EXIT_OK;
out:
	free(ifs);
	free(vips);
	free(svcs);
	vipxdp_dp_close(&dp);
	return rc;
}

/* ---- stats ---------------------------------------------------------- */

struct lb_row {
	struct vipxdp_lb_stats st;
};

static int sum_lb(int fd, __u32 id, int ncpu, struct vipxdp_lb_stats *buf,
		  struct vipxdp_lb_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &id, buf))
		return -errno;
	for (int i = 0; i < ncpu; i++) {
		out->packets += buf[i].packets;
		out->bytes += buf[i].bytes;
		out->new_flows += buf[i].new_flows;
		out->reply_packets += buf[i].reply_packets;
		out->reply_bytes += buf[i].reply_bytes;
	}
	return 0;
}

static int sum_reasons(struct vipxdp_dp *dp, int ncpu, struct vipxdp_counter *out)
{
	struct vipxdp_stats *per = calloc(ncpu, sizeof(*per));
	__u32 zero = 0;
	int err = 0;

	if (!per)
		return -ENOMEM;
	memset(out, 0, sizeof(struct vipxdp_counter) * VIPXDP_R_MAX);
	if (bpf_map_lookup_elem(dp->stats_fd, &zero, per))
		err = -errno;
	for (int i = 0; !err && i < ncpu; i++) {
		const struct vipxdp_counter *cc = (const struct vipxdp_counter *)&per[i];

		for (int r = 0; r < VIPXDP_R_MAX; r++) {
			out[r].packets += cc[r].packets;
			out[r].bytes += cc[r].bytes;
		}
	}
	free(per);
	return err;
}

static void json_lb(struct json *j, const struct vipxdp_lb_stats *s,
		    const struct vipxdp_lb_stats *prev, double dt)
{
	json_ku64(j, "packets", s->packets);
	json_ku64(j, "bytes", s->bytes);
	json_ku64(j, "new_flows", s->new_flows);
	json_ku64(j, "reply_packets", s->reply_packets);
	json_ku64(j, "reply_bytes", s->reply_bytes);
	if (prev && dt > 0) {
		json_kdouble(j, "pps", (s->packets - prev->packets) / dt);
		json_kdouble(j, "bps", (s->bytes - prev->bytes) * 8 / dt);
		json_kdouble(j, "flows_per_s", (s->new_flows - prev->new_flows) / dt);
	}
}

static void print_lb(const char *indent, const char *what, const struct vipxdp_lb_stats *s,
		     const struct vipxdp_lb_stats *prev, double dt)
{
	printf("%s%-44s pkts %-12llu bytes %-14llu flows %-10llu replies %-12llu", indent, what,
	       (unsigned long long)s->packets, (unsigned long long)s->bytes,
	       (unsigned long long)s->new_flows, (unsigned long long)s->reply_packets);
	if (prev && dt > 0)
		printf(" %.0f pps %.0f flows/s", (s->packets - prev->packets) / dt,
		       (s->new_flows - prev->new_flows) / dt);
	putchar('\n');
}

/* Top talkers shown per VIP by stats (vipxdp top shows five, with rates). */
#define STATS_TALKERS 3

/* Previous sample for rates, keyed by map and id. */
struct sample {
	struct vipxdp_lb_stats *svc, *be;
	struct vipxdp_qos_stats qos[VIPXDP_MAX_VIPS + 1]; /* by QoS index */
	struct vipxdp_counter reasons[VIPXDP_R_MAX];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int stats_once(struct cli *c, struct vipxdp_dp *dp, struct sample *prev, struct sample *cur,
		      double dt)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_dp_vip *vips = NULL;
	struct vipxdp_dp_svc *svcs = NULL;
	struct vipxdp_lb_stats *buf;
	struct talker_row *talkers = NULL, *sel = NULL;
	size_t nvips = 0, nsvcs = 0, ntalkers = 0, nsel, i, s, b;
	char abuf[VIPXDP_ADDR_STRLEN], ebuf[VIPXDP_ENDPOINT_STRLEN];
	struct vipxdp_dp_fc fc;
	int rc;

	buf = calloc(ncpu > 0 ? ncpu : 1, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	if ((rc = sum_reasons(dp, ncpu, cur->reasons)) || (rc = vipxdp_dp_fc_state(dp, &fc)) ||
	    (rc = vipxdp_dp_vips(dp, &vips, &nvips)) ||
	    (rc = vipxdp_dp_services(dp, &svcs, &nsvcs)) ||
	    (rc = cli_talkers_read(dp, &talkers, &ntalkers)))
		goto out;
	sel = calloc(ntalkers ? ntalkers : 1, sizeof(*sel));
	if (!sel) {
		rc = -ENOMEM;
		goto out;
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_key(&c->jw, "reasons");
		json_obj_open(&c->jw);
		for (int r = 0; r < VIPXDP_R_MAX; r++) {
			json_key(&c->jw, reason_names[r]);
			json_obj_open(&c->jw);
			json_ku64(&c->jw, "packets", cur->reasons[r].packets);
			json_ku64(&c->jw, "bytes", cur->reasons[r].bytes);
			if (prev && dt > 0)
				json_kdouble(&c->jw, "pps",
					     (cur->reasons[r].packets - prev->reasons[r].packets) /
						     dt);
			json_obj_close(&c->jw);
		}
		json_obj_close(&c->jw);
		json_key(&c->jw, "flow_cache");
		json_obj_open(&c->jw);
		json_kbool(&c->jw, "enabled", fc.enabled);
		json_ku64(&c->jw, "bypass_windows", fc.bypasses);
		json_ku64(&c->jw, "cpus_bypassing", fc.cpus_bypassing);
		json_obj_close(&c->jw);
		json_key(&c->jw, "syn_lookups");
		json_obj_open(&c->jw);
		json_ku64(&c->jw, "skip_windows", fc.syn_skip_windows);
		json_ku64(&c->jw, "cpus_skipping", fc.cpus_skipping_syn);
		json_obj_close(&c->jw);
		json_key(&c->jw, "vips");
		json_arr_open(&c->jw);
	} else {
		printf("flow cache: %s, bypass windows %llu, CPUs bypassing it now %u\n",
		       fc.enabled ? "on" : "off", (unsigned long long)fc.bypasses,
		       fc.cpus_bypassing);
		printf("SYN conntrack lookups: skip windows %llu, CPUs skipping them now %u\n",
		       (unsigned long long)fc.syn_skip_windows, fc.cpus_skipping_syn);
		printf("verdicts:\n");
		for (int r = 0; r < VIPXDP_R_MAX; r++) {
			if (!cur->reasons[r].packets)
				continue;
			printf("    %-18s pkts %-12llu bytes %-14llu", reason_names[r],
			       (unsigned long long)cur->reasons[r].packets,
			       (unsigned long long)cur->reasons[r].bytes);
			if (prev && dt > 0)
				printf(" %.0f pps",
				       (cur->reasons[r].packets - prev->reasons[r].packets) / dt);
			putchar('\n');
		}
	}
	for (i = 0; i < nvips; i++) {
		__u32 q = vips[i].vip.qos;
		struct vipxdp_qos_stats qst = {};
		const struct vipxdp_qos_stats *qp = NULL;

		if (q > VIPXDP_MAX_VIPS)
			q = 0;
		nsel = cli_talkers_of(talkers, ntalkers, &vips[i].key, sel);
		if (q) {
			vipxdp_dp_qos_stats(dp, q, &qst);
			cur->qos[q] = qst;
			qp = prev ? &prev->qos[q] : NULL;
		}
		vipxdp_addr_str(vips[i].key.family, &vips[i].key.addr, abuf, sizeof(abuf));
		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "address", abuf);
			json_kstr(&c->jw, "name", vips[i].vip.name);
			if (q) {
				json_key(&c->jw, "qos");
				json_obj_open(&c->jw);
				json_ku64(&c->jw, "passed_packets", qst.packets);
				json_ku64(&c->jw, "passed_bytes", qst.bytes);
				json_ku64(&c->jw, "dropped_packets", qst.drop_packets);
				json_ku64(&c->jw, "dropped_bytes", qst.drop_bytes);
				if (qp && dt > 0) {
					json_kdouble(&c->jw, "passed_pps",
						     (qst.packets - qp->packets) / dt);
					json_kdouble(&c->jw, "dropped_pps",
						     (qst.drop_packets - qp->drop_packets) / dt);
				}
				json_obj_close(&c->jw);
			}
			json_key(&c->jw, "talkers");
			json_arr_open(&c->jw);
			for (size_t t = 0; t < nsel && t < STATS_TALKERS; t++) {
				char sb[VIPXDP_ADDR_STRLEN];

				json_obj_open(&c->jw);
				json_kstr(&c->jw, "source",
					  vipxdp_addr_str(vips[i].key.family, &sel[t].key.src, sb,
							  sizeof(sb)));
				json_ku64(&c->jw, "packets", sel[t].t.packets);
				json_ku64(&c->jw, "bytes", sel[t].t.bytes);
				json_obj_close(&c->jw);
			}
			json_arr_close(&c->jw);
			json_key(&c->jw, "services");
			json_arr_open(&c->jw);
		} else {
			printf("vip %s%s%s%s\n", abuf, vips[i].vip.name[0] ? " (" : "",
			       vips[i].vip.name, vips[i].vip.name[0] ? ")" : "");
			if (q) {
				printf("    qos: passed pkts %-12llu bytes %-14llu dropped pkts %-12llu bytes %-14llu",
				       (unsigned long long)qst.packets,
				       (unsigned long long)qst.bytes,
				       (unsigned long long)qst.drop_packets,
				       (unsigned long long)qst.drop_bytes);
				if (qp && dt > 0)
					printf(" %.0f pps passed %.0f pps dropped",
					       (qst.packets - qp->packets) / dt,
					       (qst.drop_packets - qp->drop_packets) / dt);
				putchar('\n');
			}
			if (nsel)
				printf("    top talkers:");
			for (size_t t = 0; t < nsel && t < STATS_TALKERS; t++) {
				char sb[VIPXDP_ADDR_STRLEN];

				printf("%s %s %llu pkts %llu bytes", t ? "," : "",
				       vipxdp_addr_str(vips[i].key.family, &sel[t].key.src, sb,
						       sizeof(sb)),
				       (unsigned long long)sel[t].t.packets,
				       (unsigned long long)sel[t].t.bytes);
			}
			if (nsel)
				putchar('\n');
		}
		for (s = 0; s < nsvcs; s++) {
			struct vipxdp_dp_be *bes = NULL;
			struct vipxdp_lb_stats st;
			__u32 sid = svcs[s].svc.id;
			char what[64];
			size_t nb = 0;

			if (!same_vip(&svcs[s].key, &vips[i].key))
				continue;
			sum_lb(dp->svc_stats_fd, sid, ncpu, buf, &st);
			if (sid < dp->max_services)
				cur->svc[sid] = st;
			if (c->json) {
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "protocol", vipxdp_proto_str(svcs[s].key.proto));
				json_ku64(&c->jw, "port", ntohs(svcs[s].key.port));
				json_lb(&c->jw, &st, prev ? &prev->svc[sid] : NULL, dt);
				json_key(&c->jw, "backends");
				json_arr_open(&c->jw);
			} else {
				snprintf(what, sizeof(what), "%s/%u",
					 vipxdp_proto_str(svcs[s].key.proto),
					 ntohs(svcs[s].key.port));
				print_lb("    ", what, &st, prev ? &prev->svc[sid] : NULL, dt);
			}
			vipxdp_dp_backends_of(dp, sid, &bes, &nb);
			for (b = 0; b < nb; b++) {
				struct vipxdp_endpoint ep;
				__u32 bid = bes[b].id;

				sum_lb(dp->be_stats_fd, bid, ncpu, buf, &st);
				if (bid < dp->max_backends)
					cur->be[bid] = st;
				cli_ep_of_backend(&bes[b].be, &ep);
				if (c->json) {
					json_obj_open(&c->jw);
					vipxdp_addr_str(ep.family, &ep.addr, abuf, sizeof(abuf));
					json_kstr(&c->jw, "address", abuf);
					json_ku64(&c->jw, "port", ep.port);
					json_lb(&c->jw, &st, prev ? &prev->be[bid] : NULL, dt);
					json_obj_close(&c->jw);
				} else {
					print_lb("        ",
						 vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf)), &st,
						 prev ? &prev->be[bid] : NULL, dt);
				}
			}
			free(bes);
			if (c->json) {
				json_arr_close(&c->jw);
				json_obj_close(&c->jw);
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
out:
	free(buf);
	free(vips);
	free(svcs);
	free(talkers);
	free(sel);
	return rc;
}

static int sample_alloc(struct vipxdp_dp *dp, struct sample *s)
{
	s->svc = calloc(dp->max_services, sizeof(*s->svc));
	s->be = calloc(dp->max_backends, sizeof(*s->be));
	return s->svc && s->be ? 0 : -ENOMEM;
}

static void sample_free(struct sample *s)
{
	free(s->svc);
	free(s->be);
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "watch", required_argument, NULL, 'w' },
					    CLI_COMMON_LONGOPTS };
	struct sample a = {}, b = {}, *prev = NULL, *cur = &a;
	struct vipxdp_dp dp;
	struct timespec t0, t1;
	__u32 watch = 0;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":w:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'w':
			if ((rc = cli_parse_u32(c, "--watch", optarg, 1, 3600, &watch)))
				return rc;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("stats"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (optind != argc)
		return cli_fail(c, EXIT_USAGE, "stats takes no arguments");
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	if (sample_alloc(&dp, &a) || sample_alloc(&dp, &b)) {
		rc = cli_fail(c, EXIT_FAIL, "out of memory");
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		double dt;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		t0 = t1;
		if (watch && !c->json)
			printf("\033[H\033[2J%s every %us (Ctrl-C to stop)\n", "vipxdp stats",
			       watch);
		rc = stats_once(c, &dp, prev, cur, dt);
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "reading counters: %s", strerror(-rc));
			goto out;
		}
		if (!watch || stop)
			break;
		prev = cur;
		cur = cur == &a ? &b : &a;
		for (__u32 i = 0; i < watch * 10 && !stop; i++)
			usleep(100000);
		if (stop)
			break;
	}
	rc = EXIT_OK;
out:
	sample_free(&a);
	sample_free(&b);
	vipxdp_dp_close(&dp);
	return rc;
}
