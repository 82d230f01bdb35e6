/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `vipxdp conntrack list|flush`: the flows the data path tracks, one line
 * (or JSON object) per entry: one per direction, or one for both directions
 * of a DNAT flow; with what it rewrites, its state, idle time and the next
 * hops it caches; flush removes every entry and every NAT port claim.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "addr.h"
#include "routewatch.h"

static const char *const state_names[VIPXDP_CT_NSTATES] = { "syn", "established", "closing", "udp",
							    "other" };

static const char *proto_name(__u8 proto, char *buf, size_t len)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		return vipxdp_proto_str(proto);
	if (proto == IPPROTO_ICMP)
		return "icmp";
	if (proto == IPPROTO_ICMPV6)
		return "icmpv6";
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void ep_str(__u8 family, const struct vipxdp_addr *a, __u16 port_be, char *buf, size_t len)
{
	struct vipxdp_endpoint ep = { .family = family, .addr = *a, .port = ntohs(port_be) };

	if (ep.port)
		vipxdp_endpoint_str(&ep, buf, len);
	else
		vipxdp_addr_str(family, a, buf, len);
}

static const char *nh_ifname(const struct vipxdp_nh *nh, char *buf)
{
	if (!if_indextoname(nh->ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%u", nh->ifindex);
	return buf;
}

/* A cached next hop in JSON: "key": {interface, ifindex, mac, current},
 * current when the data path still uses it (its token is today's), else it
 * looks the route up again for the flow's next packet. Nothing when none
 * is cached. */
static void nh_json(struct cli *c, const char *key, const struct vipxdp_nh *nh, __u32 tok)
{
	char ifn[IF_NAMESIZE], mac[18];
	const __u8 *m = nh->dmac;

	if (!nh->ifindex)
		return;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	json_key(&c->jw, key);
	json_obj_open(&c->jw);
	json_kstr(&c->jw, "interface", nh_ifname(nh, ifn));
	json_ku64(&c->jw, "ifindex", nh->ifindex);
	json_kstr(&c->jw, "mac", mac);
	json_kbool(&c->jw, "current", nh->epoch == tok);
	json_obj_close(&c->jw);
}

static int ct_list(struct cli *c, struct vipxdp_dp *dp)
{
	struct vipxdp_ct_iter it = {};
	struct vipxdp_flow key;
	struct vipxdp_ct ct;
	__u32 now = vipxdp_epoch_now(), tok = vipxdp_rwatch_token(dp->route_fd, now);
	size_t n = 0;

	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_key(&c->jw, "flows");
		json_arr_open(&c->jw);
	}
	while (vipxdp_ct_next(dp, &it, &key, &ct)) {
		char src[VIPXDP_ENDPOINT_STRLEN], dst[VIPXDP_ENDPOINT_STRLEN];
		char nsrc[VIPXDP_ENDPOINT_STRLEN] = "", ndst[VIPXDP_ENDPOINT_STRLEN] = "", pb[8];
		const char *state;
		double idle;

		n++;
		ep_str(key.family, &key.saddr, key.sport, src, sizeof(src));
		ep_str(key.family, &key.daddr, key.dport, dst, sizeof(dst));
		if (ct.flags & VIPXDP_CT_F_SNAT)
			ep_str(key.family, &ct.saddr, ct.sport, nsrc, sizeof(nsrc));
		if (ct.flags & VIPXDP_CT_F_DNAT)
			ep_str(key.family, &ct.daddr, ct.dport, ndst, sizeof(ndst));
		state = ct.state < VIPXDP_CT_NSTATES ? state_names[ct.state] : "?";
		idle = (double)(__s32)(now - ct.last_seen) * (1ull << VIPXDP_EPOCH_SHIFT) / 1e9;
		if (idle < 0)
			idle = 0;
		if (c->json) {
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "protocol", proto_name(key.proto, pb, sizeof(pb)));
			json_kstr(&c->jw, "source", src);
			json_kstr(&c->jw, "destination", dst);
			if (nsrc[0])
				json_kstr(&c->jw, "new_source", nsrc);
			if (ndst[0])
				json_kstr(&c->jw, "new_destination", ndst);
			json_kbool(&c->jw, "reply", ct.flags & VIPXDP_CT_F_REPLY);
			json_kbool(&c->jw, "both_directions", ct.flags & VIPXDP_CT_F_BOTH);
			json_kstr(&c->jw, "state", state);
			json_kdouble(&c->jw, "idle_s", idle);
			if (ct.svc_id != VIPXDP_SVC_NONE)
				json_ku64(&c->jw, "service_id", ct.svc_id);
			nh_json(c, "next_hop", &ct.nh[0], tok);
			if (ct.flags & VIPXDP_CT_F_BOTH)
				nh_json(c, "reply_next_hop", &ct.nh[1], tok);
			json_obj_close(&c->jw);
		} else {
			char via[IF_NAMESIZE + 8] = "", rvia[IF_NAMESIZE + 16] = "",
					       ifn[IF_NAMESIZE];

			/* Next hops the data path uses now, by interface. */
			if (ct.nh[0].ifindex && ct.nh[0].epoch == tok)
				snprintf(via, sizeof(via), " via %s", nh_ifname(&ct.nh[0], ifn));
			if ((ct.flags & VIPXDP_CT_F_BOTH) && ct.nh[1].ifindex &&
			    ct.nh[1].epoch == tok)
				snprintf(rvia, sizeof(rvia), " reply via %s",
					 nh_ifname(&ct.nh[1], ifn));
			printf("%-6s %-44s -> %-44s %s%s%s%s %-11s idle %.0fs%s%s%s\n",
			       proto_name(key.proto, pb, sizeof(pb)), src, dst,
			       nsrc[0] ? " src=" : "", nsrc, ndst[0] ? " dst=" : "", ndst, state,
			       idle,
			       ct.flags & VIPXDP_CT_F_REPLY  ? " (reply)"
			       : ct.flags & VIPXDP_CT_F_BOTH ? " (both directions)"
							     : "",
			       via, rvia);
		}
	}
	if (c->json) {
		json_arr_close(&c->jw);
		json_ku64(&c->jw, "count", n);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	} else if (!n) {
		printf("no tracked flows\n");
	}
	return EXIT_OK;
}

/* Delete every key of a map; returns the number deleted. */
static int ct_flush(struct cli *c, struct vipxdp_dp *dp)
{
	size_t n, np;

	vipxdp_dp_ct_flush(dp, &n, &np);

	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_ku64(&c->jw, "flushed", n);
		json_ku64(&c->jw, "nat_ports_released", np);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	} else {
		printf("flushed %zu conntrack entries, released %zu NAT ports\n", n, np);
	}
	return EXIT_OK;
}

int cmd_conntrack(struct cli *c, int argc, char **argv)
{
	struct vipxdp_dp dp;
	const char *sub = NULL;
	static char name[32];
	int rc, i;

	rc = cli_no_options(c, "conntrack", argc, argv);
	if (rc)
		return rc == CLI_HELPED ? EXIT_OK : rc;
	for (i = optind; i < argc; i++) {
		if (sub)
			return cli_fail(c, EXIT_USAGE, "unexpected argument '%s'", argv[i]);
		sub = argv[i];
	}
	if (!sub || (strcmp(sub, "list") && strcmp(sub, "flush")))
		return cli_fail(c, EXIT_USAGE, "usage: %s %s", c->prog,
				cli_find_cmd("conntrack")->synopsis);
	snprintf(name, sizeof(name), "conntrack %s", sub);
	c->cmd = name;
	if ((rc = cli_open_dp(c, &dp)))
		return rc;
	rc = !strcmp(sub, "list") ? ct_list(c, &dp) : ct_flush(c, &dp);
	vipxdp_dp_close(&dp);
	return rc;
}
