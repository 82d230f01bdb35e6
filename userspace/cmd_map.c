/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `vipxdp map add|del|list` (imperative VIP -> backend changes), `map qos`
 * (a VIP's rate limit) and
 * `vipxdp lookup` (which backend a flow gets).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "addr.h"
#include "policy.h"
#include "vipxdp_hash.h"

void cli_spec_of(const struct vipxdp_svc_id *id, struct vipxdp_svc_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->vip = id->ep.addr;
	spec->family = id->ep.family;
	spec->proto = id->proto;
	spec->port = id->ep.port;
}

void cli_svc_id_of_key(const struct vipxdp_svc_key *k, struct vipxdp_svc_id *id)
{
	memset(id, 0, sizeof(*id));
	id->ep.family = k->family;
	id->ep.addr = k->addr;
	id->ep.port = ntohs(k->port);
	id->proto = k->proto;
}

void cli_ep_of_backend(const struct vipxdp_backend *b, struct vipxdp_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = b->family;
	ep->addr = b->addr;
	ep->port = ntohs(b->port);
}

/* The service's current backends as specs; *out malloc-ed (room for one more). */
static int current_backends(struct vipxdp_dp *dp, __u32 svc_id, struct vipxdp_be_spec **out,
			    size_t *n)
{
	struct vipxdp_dp_be *list;
	size_t cnt, i;
	int err;

	err = vipxdp_dp_backends_of(dp, svc_id, &list, &cnt);
	if (err)
		return err;
	*out = calloc(cnt + 1, sizeof(**out));
	if (!*out) {
		free(list);
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++) {
		(*out)[i].addr = list[i].be.addr;
		(*out)[i].family = list[i].be.family;
		(*out)[i].port = ntohs(list[i].be.port);
		(*out)[i].weight = list[i].be.weight;
		(*out)[i].down = list[i].be.flags & VIPXDP_BE_F_DOWN;
	}
	free(list);
	*n = cnt;
	return 0;
}

/* Table size and flags of an existing service, or the defaults. */
static void service_params(struct vipxdp_dp *dp, const struct vipxdp_svc *svc, bool exists,
			   struct vipxdp_svc_spec *spec)
{
	struct vipxdp_cfg cfg = {};

	if (exists) {
		spec->table_size = svc->table_size[svc->gen & 1];
		spec->flags = svc->flags;
		spec->mode = svc->mode;
		spec->snat = svc->snat;
		return;
	}
	vipxdp_dp_get_cfg(dp, &cfg);
	spec->table_size = cfg.table_size ? cfg.table_size : VIPXDP_MAGLEV_DEFAULT;
	spec->flags = 0;
}

static int parse_svc_arg(struct cli *c, const char *s, struct vipxdp_svc_id *id)
{
	char err[256];

	if (vipxdp_svc_id_parse(s, id, err, sizeof(err)))
		return cli_fail(c, EXIT_USAGE, "VIP:PORT/PROTO: %s", err);
	return 0;
}

static int parse_ep_arg(struct cli *c, const char *what, const char *s, struct vipxdp_endpoint *ep)
{
	char err[256];

	if (vipxdp_endpoint_parse(s, ep, err, sizeof(err)))
		return cli_fail(c, EXIT_USAGE, "%s: %s", what, err);
	return 0;
}

static int map_add(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "weight", required_argument, NULL, 'w' },
					    CLI_COMMON_LONGOPTS };
	struct vipxdp_be_spec *bes = NULL;
	struct vipxdp_svc_spec spec;
	struct vipxdp_svc_id id;
	struct vipxdp_endpoint ep;
	struct vipxdp_svc svc;
	struct vipxdp_dp dp;
	struct vipxdp_vip vip;
	struct vipxdp_vip_key vk = {};
	char sbuf[VIPXDP_SVC_STRLEN], ebuf[VIPXDP_ENDPOINT_STRLEN];
	__u32 weight = VIPXDP_POLICY_WEIGHT_DEFAULT;
	bool have_weight = false, exists, new_vip = false, changed = true;
	size_t n = 0, i;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":w:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'w':
			if ((rc = cli_parse_u32(c, "--weight", optarg, 0, VIPXDP_POLICY_WEIGHT_MAX,
						&weight)))
				return rc;
			have_weight = true;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("map"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (argc - optind != 2)
		return cli_fail(c, EXIT_USAGE,
				"usage: %s map add VIP:PORT/PROTO BACKEND:PORT [--weight N]",
				c->prog);
	if ((rc = parse_svc_arg(c, argv[optind], &id)) ||
	    (rc = parse_ep_arg(c, "BACKEND:PORT", argv[optind + 1], &ep)))
		return rc;
	if (ep.family != id.ep.family)
		return cli_fail(
			c, EXIT_USAGE,
			"backend %s is %s but the VIP is %s: one service cannot mix address families",
			argv[optind + 1], vipxdp_family_str(ep.family),
			vipxdp_family_str(id.ep.family));
	if ((rc = cli_open_dp(c, &dp)))
		return rc;

	cli_spec_of(&id, &spec);
	exists = !vipxdp_dp_get_service(&dp, &spec, &svc);
	service_params(&dp, &svc, exists, &spec);
	if (exists && (rc = current_backends(&dp, svc.id, &bes, &n))) {
		rc = cli_fail(c, EXIT_FAIL, "reading backends: %s", strerror(-rc));
		goto out;
	}
	if (!bes && !(bes = calloc(1, sizeof(*bes)))) {
		rc = cli_fail(c, EXIT_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (bes[i].family == ep.family && bes[i].port == ep.port &&
		    !memcmp(&bes[i].addr, &ep.addr, sizeof(ep.addr)))
			break;
	if (i == n && exists && (svc.flags & VIPXDP_SVC_F_PORTFWD)) {
		rc = cli_fail(
			c, EXIT_FAIL,
			"%s is a port forward (one target); change it in the policy's port_forwards",
			argv[optind]);
		goto out;
	}
	if (i < n) {
		changed = have_weight && bes[i].weight != weight;
		if (have_weight)
			bes[i].weight = weight;
		weight = bes[i].weight;
	} else {
		bes[n].addr = ep.addr;
		bes[n].family = ep.family;
		bes[n].port = ep.port;
		bes[n].weight = weight;
		n++;
	}

	vk.addr = id.ep.addr;
	vk.family = id.ep.family;
	if (bpf_map_lookup_elem(dp.vip_fd, &vk, &vip)) {
		rc = vipxdp_dp_set_vip(&dp, id.ep.family, &id.ep.addr, VIPXDP_VIP_F_ARP, NULL);
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "adding VIP: %s", strerror(-rc));
			goto out;
		}
		new_vip = true;
	}
	if (changed) {
		rc = vipxdp_dp_set_service(&dp, &spec, bes, n, NULL);
		if (rc) {
			if (new_vip)
				vipxdp_dp_del_vip(&dp, id.ep.family, &id.ep.addr);
			rc = cli_fail(c, EXIT_FAIL, "updating service %s: %s",
				      vipxdp_svc_id_str(&id, sbuf, sizeof(sbuf)),
				      rc == -ENOSPC ? "no free service or backend slot (map full)"
						    : strerror(-rc));
			goto out;
		}
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "service", vipxdp_svc_id_str(&id, sbuf, sizeof(sbuf)));
		json_kstr(&c->jw, "backend", vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf)));
		json_ku64(&c->jw, "weight", weight);
		json_kbool(&c->jw, "service_created", !exists);
		json_kbool(&c->jw, "changed", changed);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	rc = EXIT_OK;
out:
	free(bes);
	vipxdp_dp_close(&dp);
	return rc;
}

/* Remove the VIP address when no service uses it any more. */
static int drop_vip_if_unused(struct vipxdp_dp *dp, const struct vipxdp_svc_id *id, bool *dropped)
{
	struct vipxdp_dp_svc *list;
	size_t n, i;
	int err;

	*dropped = false;
	err = vipxdp_dp_services(dp, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		if (list[i].key.family == id->ep.family &&
		    !memcmp(&list[i].key.addr, &id->ep.addr, sizeof(id->ep.addr)))
			break;
	free(list);
	if (i < n)
		return 0;
	err = vipxdp_dp_del_vip(dp, id->ep.family, &id->ep.addr);
	*dropped = !err;
	return err == -ENOENT ? 0 : err;
}

static int map_del(struct cli *c, int argc, char **argv)
{
	struct vipxdp_be_spec *bes = NULL;
	struct vipxdp_svc_spec spec;
	struct vipxdp_svc_id id;
	struct vipxdp_endpoint ep;
	struct vipxdp_svc svc;
	struct vipxdp_dp dp;
	char sbuf[VIPXDP_SVC_STRLEN], ebuf[VIPXDP_ENDPOINT_STRLEN];
	bool svc_gone = false, vip_gone = false;
	size_t n = 0, i;
	int rc;

	rc = cli_no_options(c, "map", argc, argv);
	if (rc)
		return rc == CLI_HELPED ? EXIT_OK : rc;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_fail(c, EXIT_USAGE, "usage: %s map del VIP:PORT/PROTO [BACKEND:PORT]",
				c->prog);
	if ((rc = parse_svc_arg(c, argv[optind], &id)))
		return rc;
	if (argc - optind == 2 && (rc = parse_ep_arg(c, "BACKEND:PORT", argv[optind + 1], &ep)))
		return rc;
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	cli_spec_of(&id, &spec);
	vipxdp_svc_id_str(&id, sbuf, sizeof(sbuf));
	if (vipxdp_dp_get_service(&dp, &spec, &svc)) {
		rc = cli_fail(c, EXIT_FAIL, "no service %s; 'vipxdp map list' shows them", sbuf);
		goto out;
	}
	service_params(&dp, &svc, true, &spec);
	if (argc - optind == 2) {
		if ((rc = current_backends(&dp, svc.id, &bes, &n))) {
			rc = cli_fail(c, EXIT_FAIL, "reading backends: %s", strerror(-rc));
			goto out;
		}
		for (i = 0; i < n; i++)
			if (bes[i].port == ep.port && bes[i].family == ep.family &&
			    !memcmp(&bes[i].addr, &ep.addr, sizeof(ep.addr)))
				break;
		if (i == n) {
			rc = cli_fail(c, EXIT_FAIL, "%s is not a backend of %s",
				      vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf)), sbuf);
			goto out;
		}
		memmove(&bes[i], &bes[i + 1], (n - i - 1) * sizeof(*bes));
		n--;
	}
	if (n)
		rc = vipxdp_dp_set_service(&dp, &spec, bes, n, NULL);
	else {
		rc = vipxdp_dp_del_service(&dp, &spec);
		svc_gone = !rc;
		if (!rc)
			rc = drop_vip_if_unused(&dp, &id, &vip_gone);
	}
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "updating %s: %s", sbuf, strerror(-rc));
		goto out;
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "service", sbuf);
		if (argc - optind == 2)
			json_kstr(&c->jw, "backend", vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf)));
		json_kbool(&c->jw, "service_removed", svc_gone);
		json_kbool(&c->jw, "vip_removed", vip_gone);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	rc = EXIT_OK;
out:
	free(bes);
	vipxdp_dp_close(&dp);
	return rc;
}

const char *cli_be_state(const struct vipxdp_backend *b)
{
	if (b->flags & VIPXDP_BE_F_DOWN)
		return "down";
	return b->weight ? "active" : "draining";
}

static int map_list(struct cli *c, int argc, char **argv)
{
	struct vipxdp_dp_svc *svcs = NULL;
	struct vipxdp_dp dp;
	size_t n, i, k;
	int rc;

	rc = cli_no_options(c, "map", argc, argv);
	if (rc)
		return rc == CLI_HELPED ? EXIT_OK : rc;
	if (optind != argc)
		return cli_fail(c, EXIT_USAGE, "map list takes no arguments");
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	rc = vipxdp_dp_services(&dp, &svcs, &n);
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "reading services: %s", strerror(-rc));
		goto out;
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_key(&c->jw, "services");
		json_arr_open(&c->jw);
	}
	for (i = 0; i < n; i++) {
		struct vipxdp_dp_be *bes = NULL;
		struct vipxdp_svc_id id;
		char sbuf[VIPXDP_SVC_STRLEN], ebuf[VIPXDP_ENDPOINT_STRLEN];
		const char *hash =
			svcs[i].svc.flags & VIPXDP_SVC_F_HASH_SRC ? "source-ip" : "5tuple";
		size_t nb = 0;

		cli_svc_id_of_key(&svcs[i].key, &id);
		vipxdp_svc_id_str(&id, sbuf, sizeof(sbuf));
		vipxdp_dp_backends_of(&dp, svcs[i].svc.id, &bes, &nb);
		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "service", sbuf);
			json_kstr(&c->jw, "hash", hash);
			json_key(&c->jw, "backends");
			json_arr_open(&c->jw);
		} else {
			printf("%s  hash %s\n", sbuf, hash);
		}
		for (k = 0; k < nb; k++) {
			struct vipxdp_endpoint ep;

			cli_ep_of_backend(&bes[k].be, &ep);
			vipxdp_endpoint_str(&ep, ebuf, sizeof(ebuf));
			if (c->json) {
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "backend", ebuf);
				json_ku64(&c->jw, "weight", bes[k].be.weight);
				json_kstr(&c->jw, "state", cli_be_state(&bes[k].be));
				json_obj_close(&c->jw);
			} else {
				printf("    %-40s weight %-5u %s\n", ebuf, bes[k].be.weight,
				       cli_be_state(&bes[k].be));
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
		json_end(&c->jw);
	}
	rc = EXIT_OK;
out:
	free(svcs);
	vipxdp_dp_close(&dp);
	return rc;
}

/* map qos VIP [--pps N] [--bps N] [--burst-ms N] | map qos VIP off */
static int map_qos(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "pps", required_argument, NULL, 'p' },
					    { "bps", required_argument, NULL, 'b' },
					    { "burst-ms", required_argument, NULL, 'B' },
					    CLI_COMMON_LONGOPTS };
	struct vipxdp_qos_spec q = { .burst_ms = VIPXDP_POLICY_BURST_MS };
	struct vipxdp_addr addr;
	struct vipxdp_dp dp;
	bool off = false;
	__u8 family;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'p':
			if ((rc = cli_parse_u64(c, "--pps", optarg, 1, VIPXDP_QOS_PPS_MAX, &q.pps)))
				return rc;
			break;
		case 'b':
			if ((rc = cli_parse_u64(c, "--bps", optarg, VIPXDP_QOS_BPS_MIN,
						VIPXDP_QOS_BPS_MAX, &q.bps)))
				return rc;
			break;
		case 'B':
			if ((rc = cli_parse_u32(c, "--burst-ms", optarg, 1, VIPXDP_QOS_BURST_MAX_MS,
						&q.burst_ms)))
				return rc;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("map"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (argc - optind == 2 && !strcmp(argv[optind + 1], "off"))
		off = true;
	else if (argc - optind != 1)
		return cli_fail(
			c, EXIT_USAGE,
			"usage: %s map qos VIP [--pps N] [--bps N] [--burst-ms N] | map qos VIP off",
			c->prog);
	if (vipxdp_addr_parse(argv[optind], &family, &addr))
		return cli_fail(c, EXIT_USAGE, "VIP: '%s' is not an IPv4 or IPv6 address",
				argv[optind]);
	if (off && (q.pps || q.bps))
		return cli_fail(c, EXIT_USAGE, "'off' takes no limits");
	if (!off && !q.pps && !q.bps)
		return cli_fail(c, EXIT_USAGE, "give --pps and/or --bps, or 'off'");
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	rc = vipxdp_dp_set_vip_qos(&dp, family, &addr, off ? NULL : &q);
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "%s: %s", argv[optind],
			      rc == -ENOENT   ? "not a VIP (see 'vipxdp status')"
			      : rc == -ENOSPC ? "no free rate-limit slot"
					      : strerror(-rc));
		goto out;
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "vip", argv[optind]);
		json_ku64(&c->jw, "pps", off ? 0 : q.pps);
		json_ku64(&c->jw, "bps", off ? 0 : q.bps);
		json_ku64(&c->jw, "burst_ms", off ? 0 : q.burst_ms);
		json_kbool(&c->jw, "limited", !off);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	rc = EXIT_OK;
out:
	vipxdp_dp_close(&dp);
	return rc;
}

int cmd_map(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *, int, char **);
	} subs[] = {
		{ "add", map_add }, { "del", map_del }, { "list", map_list }, { "qos", map_qos }
	};
	static char name[32];
	int sub = 1;
	size_t k;

	/* Common options may come before the subcommand: "map -j list". */
	while (sub < argc && argv[sub][0] == '-') {
		if (!strcmp(argv[sub], "-h") || !strcmp(argv[sub], "--help")) {
			cli_cmd_help(c, cli_find_cmd("map"));
			return EXIT_OK;
		}
		if (!strcmp(argv[sub], "-j") || !strcmp(argv[sub], "--json"))
			c->json = true;
		else if (!strcmp(argv[sub], "--bpffs") && sub + 1 < argc)
			c->bpffs = argv[++sub];
		else if (!strncmp(argv[sub], "--bpffs=", 8))
			c->bpffs = argv[sub] + 8;
		else
			return cli_fail(c, EXIT_USAGE, "unknown option '%s'; see '%s map --help'",
					argv[sub], c->prog);
		sub++;
	}
	if (sub >= argc)
		return cli_fail(c, EXIT_USAGE, "missing 'map' command: add, del, list or qos");
	for (k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
		if (!strcmp(argv[sub], subs[k].name) || (!strcmp(argv[sub], "delete") && k == 1) ||
		    (!strcmp(argv[sub], "ls") && k == 2)) {
			snprintf(name, sizeof(name), "map %s", subs[k].name);
			c->cmd = name;
			return subs[k].fn(c, argc - sub, argv + sub);
		}
	}
	return cli_fail(c, EXIT_USAGE, "unknown 'map' command '%s': add, del, list or qos",
			argv[sub]);
}

int cmd_lookup(struct cli *c, int argc, char **argv)
{
	struct vipxdp_endpoint client, bep;
	struct vipxdp_svc_spec spec;
	struct vipxdp_backend be;
	struct vipxdp_flow f = {};
	struct vipxdp_svc_id id;
	struct vipxdp_svc svc;
	struct vipxdp_ct ct;
	struct vipxdp_dp dp;
	char sbuf[VIPXDP_SVC_STRLEN], cbuf[VIPXDP_ENDPOINT_STRLEN], bbuf[VIPXDP_ENDPOINT_STRLEN];
	const char *source = "table";
	__u32 be_id;
	int rc;

	rc = cli_no_options(c, "lookup", argc, argv);
	if (rc)
		return rc == CLI_HELPED ? EXIT_OK : rc;
	if (argc - optind != 2)
		return cli_fail(c, EXIT_USAGE, "usage: %s %s", c->prog,
				cli_find_cmd("lookup")->synopsis);
	if ((rc = parse_svc_arg(c, argv[optind], &id)) ||
	    (rc = parse_ep_arg(c, "CLIENT:PORT", argv[optind + 1], &client)))
		return rc;
	if (client.family != id.ep.family)
		return cli_fail(c, EXIT_USAGE,
				"client %s and VIP are of different address families",
				argv[optind + 1]);
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	vipxdp_svc_id_str(&id, sbuf, sizeof(sbuf));
	cli_spec_of(&id, &spec);
	if (vipxdp_dp_get_service(&dp, &spec, &svc)) {
		rc = cli_fail(c, EXIT_FAIL, "no service %s; 'vipxdp map list' shows them", sbuf);
		goto out;
	}
	f.saddr = client.addr;
	f.daddr = id.ep.addr;
	f.sport = htons(client.port);
	f.dport = htons(id.ep.port);
	f.proto = id.proto;
	f.family = id.ep.family;
	if (!vipxdp_ct_get(&dp, &f, &ct) && (ct.flags & VIPXDP_CT_F_DNAT) && ct.svc_id == svc.id) {
		memset(&be, 0, sizeof(be));
		be.addr = ct.daddr;
		be.port = ct.dport;
		be.family = f.family;
		source = "conntrack";
	} else {
		rc = vipxdp_dp_predict(&dp, &f, true, &be_id, &be);
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "%s has no usable backend", sbuf);
			goto out;
		}
	}
	cli_ep_of_backend(&be, &bep);
	vipxdp_endpoint_str(&client, cbuf, sizeof(cbuf));
	vipxdp_endpoint_str(&bep, bbuf, sizeof(bbuf));
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "service", sbuf);
		json_kstr(&c->jw, "client", cbuf);
		json_kstr(&c->jw, "backend", bbuf);
		json_kstr(&c->jw, "source", source);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	} else {
		printf("%s\n", bbuf);
	}
	rc = EXIT_OK;
out:
	vipxdp_dp_close(&dp);
	return rc;
}
