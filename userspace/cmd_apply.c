/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `vipxdp apply -c FILE [--dry-run]`: make the running state what the policy
 * says. Everything is checked before anything changes: the whole file
 * (syntax, schema, values), the interfaces it names, and that it fits the
 * maps. Then a plan is computed against the live maps and printed (for every
 * changed service, the share of Maglev slots whose backend moves), and
 * applied in an order that never lets the data path see a half state:
 *   settings -> new interfaces -> services (each switched atomically with one
 *   map update) -> VIPs (ARP/NDP on only once their services exist) ->
 *   removals in reverse -> interfaces no longer listed.
 * An empty interfaces list leaves attachments alone (use `vipxdp unload`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "addr.h"
#include "attach.h"
#include "policy.h"

enum change { CH_NONE, CH_ADD, CH_CHANGE, CH_REMOVE };

struct svc_plan {
	struct vipxdp_svc_id id;
	enum change ch;
	double moved; /* changed: share of slots that move */
	const struct vipxdp_policy_service *ps; /* desired (NULL when removed) */
	size_t n_add, n_del, n_weight; /* backend differences */
};

struct vip_plan {
	__u8 family;
	struct vipxdp_addr addr;
	enum change ch;
	const struct vipxdp_policy_vip *pv;
};

struct eip_plan {
	__u8 family;
	struct vipxdp_addr vip, priv;
	enum change ch;
};

struct plan {
	struct eip_plan *eips;
	size_t neips;
	struct svc_plan *svcs;
	size_t nsvcs;
	struct vip_plan *vips;
	size_t nvips;
	char (*attach)[IF_NAMESIZE];
	size_t nattach;
	char (*detach)[IF_NAMESIZE];
	size_t ndetach;
	bool seed_changed, size_changed, timeouts_changed, talkers_changed, fc_changed;
	bool snat_changed;
	struct vipxdp_snat_rule *snat; /* the policy's rules, and exclusions */
	size_t nsnat;
	size_t nsnat_rules; /* of them, the policy's rules */
	struct vipxdp_cfg cfg_old, cfg_new;
	size_t unchanged;
};

static int add_local_exclusions(struct plan *p);

static void qos_spec_of(const struct vipxdp_policy_vip *pv, struct vipxdp_qos_spec *q)
{
	q->pps = pv->qos_pps;
	q->bps = pv->qos_bps;
	q->burst_ms = pv->qos_burst_ms;
}

/* Does the running VIP have the policy's rate limit (or none, alike)? */
static bool qos_same(struct vipxdp_dp *dp, const struct vipxdp_policy_vip *pv)
{
	struct vipxdp_qos_spec cur, want;

	if (vipxdp_dp_get_vip_qos(dp, pv->family, &pv->addr, &cur, NULL))
		return !pv->has_qos;
	if (!pv->has_qos)
		return false;
	qos_spec_of(pv, &want);
	return cur.pps == want.pps && cur.bps == want.bps && cur.burst_ms == want.burst_ms;
}

static void plan_free(struct plan *p)
{
	free(p->snat);
	free(p->eips);
	free(p->svcs);
	free(p->vips);
	free(p->attach);
	free(p->detach);
}

static void *grow(void *arr, size_t n, size_t sz)
{
	return realloc(arr, (n + 1) * sz);
}

#define PUSH(arr, n, val)                                                                          \
	do {                                                                                       \
		void *_t = grow((arr), (n), sizeof(*(arr)));                                       \
		if (!_t) {                                                                         \
			err = -ENOMEM;                                                             \
			goto out;                                                                  \
		}                                                                                  \
		(arr) = _t;                                                                        \
		(arr)[(n)++] = (val);                                                              \
	} while (0)

static __u32 svc_flags(const struct vipxdp_policy_service *ps)
{
	return ps->hash == VIPXDP_HASH_SOURCE_IP ? VIPXDP_SVC_F_HASH_SRC : 0;
}

void cli_policy_spec(const struct vipxdp_policy_service *ps, __u32 table_size,
		     struct vipxdp_svc_spec *spec)
{
	cli_spec_of(&ps->id, spec);
	spec->flags = svc_flags(ps);
	spec->table_size = table_size;
	spec->mode = ps->nat == VIPXDP_NAT_FULLNAT ? VIPXDP_MODE_FULLNAT : VIPXDP_MODE_DNAT;
	/* A port forward has one backend: the smallest table does. */
	if (ps->port_forward) {
		spec->flags |= VIPXDP_SVC_F_PORTFWD;
		spec->table_size = VIPXDP_MAGLEV_MIN;
	}
	if (spec->mode == VIPXDP_MODE_FULLNAT)
		spec->snat = ps->snat;
}

/*
 * Backends of a policy service as data-plane specs; malloc-ed. With dp, a
 * backend that health checks took down stays down: health state belongs to
 * `vipxdp run`, not to the file.
 */
static struct vipxdp_be_spec *specs_of(struct vipxdp_dp *dp, const struct vipxdp_policy_service *ps)
{
	struct vipxdp_be_spec *b = calloc(ps->n_backends ? ps->n_backends : 1, sizeof(*b));
	struct vipxdp_dp_be *cur = NULL;
	struct vipxdp_svc_spec spec;
	struct vipxdp_svc svc;
	size_t i, k, ncur = 0;

	if (!b)
		return NULL;
	cli_spec_of(&ps->id, &spec);
	if (dp && !vipxdp_dp_get_service(dp, &spec, &svc))
		vipxdp_dp_backends_of(dp, svc.id, &cur, &ncur);
	for (i = 0; i < ps->n_backends; i++) {
		b[i].addr = ps->backends[i].ep.addr;
		b[i].family = ps->backends[i].ep.family;
		b[i].port = ps->backends[i].ep.port;
		b[i].weight = ps->backends[i].weight;
		for (k = 0; k < ncur; k++) {
			struct vipxdp_endpoint ep;

			cli_ep_of_backend(&cur[k].be, &ep);
			if (!vipxdp_endpoint_cmp(&ep, &ps->backends[i].ep))
				b[i].down = cur[k].be.flags & VIPXDP_BE_F_DOWN;
		}
	}
	free(cur);
	return b;
}

static int plan_service(struct vipxdp_dp *dp, const struct vipxdp_policy *pol,
			const struct vipxdp_policy_service *ps, const struct vipxdp_dp_svc *cur,
			struct svc_plan *sp)
{
	struct vipxdp_dp_be *bes = NULL;
	struct vipxdp_svc_spec spec;
	struct vipxdp_be_spec *want;
	size_t nb = 0, i, k;
	int err;

	sp->ps = ps;
	if (!cur) {
		sp->ch = CH_ADD;
		return 0;
	}
	err = vipxdp_dp_backends_of(dp, cur->svc.id, &bes, &nb);
	if (err)
		return err;
	for (i = 0; i < ps->n_backends; i++) {
		const struct vipxdp_policy_backend *pb = &ps->backends[i];

		for (k = 0; k < nb; k++) {
			struct vipxdp_endpoint ep;

			cli_ep_of_backend(&bes[k].be, &ep);
			if (!vipxdp_endpoint_cmp(&ep, &pb->ep))
				break;
		}
		if (k == nb)
			sp->n_add++;
		else if (bes[k].be.weight != pb->weight)
			sp->n_weight++;
	}
	sp->n_del = nb + sp->n_add - ps->n_backends;
	free(bes);
	cli_policy_spec(ps, pol->settings.table_size, &spec);
	if (!sp->n_add && !sp->n_del && !sp->n_weight && cur->svc.flags == spec.flags &&
	    cur->svc.table_size[cur->svc.gen & 1] == spec.table_size &&
	    cur->svc.mode == spec.mode && !memcmp(&cur->svc.snat, &spec.snat, sizeof(spec.snat))) {
		sp->ch = CH_NONE;
		return 0;
	}
	sp->ch = CH_CHANGE;
	want = specs_of(dp, ps);
	if (!want)
		return -ENOMEM;
	err = vipxdp_dp_moved_share(dp, &spec, want, ps->n_backends, &sp->moved);
	free(want);
	return err;
}

static int make_plan(struct vipxdp_dp *dp, const struct vipxdp_policy *pol, const char *pin_dir,
		     bool manage_ifaces, struct plan *p)
{
	struct vipxdp_dp_svc *svcs = NULL;
	struct vipxdp_dp_vip *vips = NULL;
	struct vipxdp_attached *ifs = NULL;
	size_t nsvcs = 0, nvips = 0, nifs = 0, i, k, s;
	int err = 0;

	if (dp) {
		if ((err = vipxdp_dp_services(dp, &svcs, &nsvcs)) ||
		    (err = vipxdp_dp_vips(dp, &vips, &nvips)) ||
		    (err = vipxdp_dp_get_cfg(dp, &p->cfg_old)))
			goto out;
		vipxdp_attached_list(pin_dir, &ifs, &nifs);
	}
	p->cfg_new = p->cfg_old;
	p->cfg_new.hash_seed = pol->settings.hash_seed;
	p->cfg_new.table_size = pol->settings.table_size;
	for (i = 0; i < VIPXDP_CT_NSTATES; i++)
		p->cfg_new.ct_timeout[i] = vipxdp_ms_to_epochs(pol->settings.ct_timeout_ms[i]);
	p->cfg_new.talkers_sample = pol->settings.talkers_sample;
	p->talkers_changed = !dp || p->cfg_old.talkers_sample != p->cfg_new.talkers_sample;
	if (pol->settings.flow_cache)
		p->cfg_new.flags &= ~VIPXDP_CFG_F_NO_FC;
	else
		p->cfg_new.flags |= VIPXDP_CFG_F_NO_FC;
	p->fc_changed = (p->cfg_old.flags ^ p->cfg_new.flags) & VIPXDP_CFG_F_NO_FC;
	p->seed_changed = dp && p->cfg_old.hash_seed != p->cfg_new.hash_seed;
	p->size_changed = dp && p->cfg_old.table_size != p->cfg_new.table_size;
	p->timeouts_changed = !dp || memcmp(p->cfg_old.ct_timeout, p->cfg_new.ct_timeout,
					    sizeof(p->cfg_new.ct_timeout));

	/* Interfaces. */
	if (manage_ifaces && pol->n_ifaces) {
		for (i = 0; i < pol->n_ifaces; i++) {
			for (k = 0; k < nifs; k++)
				if (!strcmp(ifs[k].name, pol->ifaces[i].name) && ifs[k].ifindex)
					break;
			if (k == nifs) {
				char name[IF_NAMESIZE];

				snprintf(name, sizeof(name), "%s", pol->ifaces[i].name);
				p->attach = grow(p->attach, p->nattach, sizeof(*p->attach));
				if (!p->attach) {
					err = -ENOMEM;
					goto out;
				}
				memcpy(p->attach[p->nattach++], name, IF_NAMESIZE);
			}
		}
		for (k = 0; k < nifs; k++) {
			if (vipxdp_policy_find_iface(pol, ifs[k].name))
				continue;
			p->detach = grow(p->detach, p->ndetach, sizeof(*p->detach));
			if (!p->detach) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(p->detach[p->ndetach++], ifs[k].name, IF_NAMESIZE);
		}
	}

	/* Services: desired ones, then current ones the policy drops. */
	for (i = 0; i < pol->n_vips; i++) {
		const struct vipxdp_policy_vip *pv = &pol->vips[i];

		for (s = 0; s < pv->n_services; s++) {
			const struct vipxdp_policy_service *ps = &pv->services[s];
			const struct vipxdp_dp_svc *cur = NULL;
			struct vipxdp_svc_key key;
			struct vipxdp_svc_spec spec;
			struct svc_plan sp = { .id = ps->id };

			cli_spec_of(&ps->id, &spec);
			vipxdp_svc_key_from_spec(&key, &spec);
			for (k = 0; k < nsvcs; k++)
				if (!memcmp(&svcs[k].key, &key, sizeof(key)))
					cur = &svcs[k];
			if ((err = plan_service(dp, pol, ps, cur, &sp)))
				goto out;
			if (sp.ch == CH_NONE)
				p->unchanged++;
			else
				PUSH(p->svcs, p->nsvcs, sp);
		}
	}
	for (k = 0; k < nsvcs; k++) {
		struct svc_plan sp = { .ch = CH_REMOVE };

		cli_svc_id_of_key(&svcs[k].key, &sp.id);
		if (!vipxdp_policy_find_service(pol, &sp.id))
			PUSH(p->svcs, p->nsvcs, sp);
	}

	/* VIPs. */
	for (i = 0; i < pol->n_vips; i++) {
		const struct vipxdp_policy_vip *pv = &pol->vips[i];
		struct vip_plan vp = { .family = pv->family, .addr = pv->addr, .pv = pv };
		const char *want_name = pv->name ? pv->name : "";

		vp.ch = CH_ADD;
		for (k = 0; k < nvips; k++) {
			if (vips[k].key.family != pv->family ||
			    memcmp(&vips[k].key.addr, &pv->addr, sizeof(pv->addr)))
				continue;
			vp.ch = (!!(vips[k].vip.flags & VIPXDP_VIP_F_ARP) != pv->arp ||
				 strncmp(vips[k].vip.name, want_name, VIPXDP_NAME_LEN - 1) ||
				 !qos_same(dp, pv))
					? CH_CHANGE
					: CH_NONE;
		}
		if (vp.ch != CH_NONE)
			PUSH(p->vips, p->nvips, vp);
	}
	for (k = 0; k < nvips; k++) {
		struct vip_plan vp = { .family = vips[k].key.family,
				       .addr = vips[k].key.addr,
				       .ch = CH_REMOVE };

		if (!vipxdp_policy_find_vip(pol, vp.family, &vp.addr))
			PUSH(p->vips, p->nvips, vp);
	}

	/* Source NAT rules: replaced as a set when they differ. */
	{
		struct vipxdp_snat_rule *cur = NULL;
		size_t ncur = 0;

		p->snat = calloc(pol->n_snat ? pol->n_snat : 1, sizeof(*p->snat));
		if (!p->snat) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < pol->n_snat; i++) {
			p->snat[i].family = pol->snat[i].source.family;
			p->snat[i].prefix_len = pol->snat[i].source.prefix_len;
			p->snat[i].src = pol->snat[i].source.addr;
			p->snat[i].vip = pol->snat[i].vip;
		}
		p->nsnat = pol->n_snat;
		p->nsnat_rules = pol->n_snat;
		/* With rules, every address of this host is an exclusion (a
		 * rule with a zero VIP): its own traffic and traffic to it are
		 * never translated. */
		if (pol->n_snat && (err = add_local_exclusions(p)))
			goto out;
		if (dp && (err = vipxdp_dp_snat_rules(dp, &cur, &ncur)))
			goto out;
		p->snat_changed = ncur != p->nsnat;
		for (i = 0; !p->snat_changed && i < p->nsnat; i++) {
			for (k = 0; k < ncur; k++)
				if (cur[k].family == p->snat[i].family &&
				    cur[k].prefix_len == p->snat[i].prefix_len &&
				    !memcmp(&cur[k].src, &p->snat[i].src, sizeof(cur[k].src)) &&
				    !memcmp(&cur[k].vip, &p->snat[i].vip, sizeof(cur[k].vip)))
					break;
			p->snat_changed = k == ncur;
		}
		free(cur);
	}

	/* Elastic IPs: the policy's against the data plane's. */
	for (i = 0; i < pol->n_vips; i++) {
		const struct vipxdp_policy_vip *pv = &pol->vips[i];
		struct eip_plan ep = { .family = pv->family, .vip = pv->addr, .priv = pv->eip };
		struct vipxdp_addr cur;
		bool have = dp && !vipxdp_dp_get_eip(dp, pv->family, &pv->addr, &cur);

		if (pv->has_eip && !have)
			ep.ch = CH_ADD;
		else if (pv->has_eip && memcmp(&cur, &pv->eip, sizeof(cur)))
			ep.ch = CH_CHANGE;
		else if (!pv->has_eip && have)
			ep.ch = CH_REMOVE;
		else
			continue;
		PUSH(p->eips, p->neips, ep);
	}
	if (dp) {
		struct vipxdp_vip_key key, nk;
		struct vipxdp_eip e;
		void *prev = NULL;

		while (!bpf_map_get_next_key(dp->eip_fd, prev, &nk)) {
			const struct vipxdp_policy_vip *pv;

			key = nk;
			prev = &key;
			if (bpf_map_lookup_elem(dp->eip_fd, &key, &e) || e.dir != VIPXDP_EIP_IN)
				continue;
			pv = vipxdp_policy_find_vip(pol, key.family, &key.addr);
			if (!pv) {
				struct eip_plan ep = { .family = key.family,
						       .vip = key.addr,
						       .priv = e.to,
						       .ch = CH_REMOVE };

				PUSH(p->eips, p->neips, ep);
			}
		}
	}
out:
	free(svcs);
	free(vips);
	free(ifs);
	return err;
}

static void print_plan(struct cli *c, const struct plan *p, const char *file, bool dry)
{
	char buf[VIPXDP_SVC_STRLEN];
	size_t i;

	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kbool(&c->jw, "dry_run", dry);
		for (int ch = CH_ADD; ch <= CH_REMOVE; ch++) {
			json_key(&c->jw, ch == CH_ADD	   ? "added"
					 : ch == CH_CHANGE ? "changed"
							   : "removed");
			json_arr_open(&c->jw);
			for (i = 0; i < p->nsvcs; i++) {
				if ((int)p->svcs[i].ch != ch)
					continue;
				vipxdp_svc_id_str(&p->svcs[i].id, buf, sizeof(buf));
				if (ch != CH_CHANGE) {
					json_str(&c->jw, buf);
					continue;
				}
				json_obj_open(&c->jw);
				json_kstr(&c->jw, "service", buf);
				json_kdouble(&c->jw, "moved_share", p->svcs[i].moved);
				json_ku64(&c->jw, "backends_added", p->svcs[i].n_add);
				json_ku64(&c->jw, "backends_removed", p->svcs[i].n_del);
				json_ku64(&c->jw, "weights_changed", p->svcs[i].n_weight);
				json_obj_close(&c->jw);
			}
			json_arr_close(&c->jw);
		}
		json_ku64(&c->jw, "unchanged", p->unchanged);
		for (int ch = CH_ADD; ch <= CH_REMOVE; ch++) {
			json_key(&c->jw, ch == CH_ADD	   ? "vips_added"
					 : ch == CH_CHANGE ? "vips_changed"
							   : "vips_removed");
			json_arr_open(&c->jw);
			for (i = 0; i < p->nvips; i++)
				if ((int)p->vips[i].ch == ch)
					json_str(&c->jw, vipxdp_addr_str(p->vips[i].family,
									 &p->vips[i].addr, buf,
									 sizeof(buf)));
			json_arr_close(&c->jw);
		}
		for (int ch = CH_ADD; ch <= CH_REMOVE; ch++) {
			json_key(&c->jw, ch == CH_ADD	   ? "elastic_ips_added"
					 : ch == CH_CHANGE ? "elastic_ips_changed"
							   : "elastic_ips_removed");
			json_arr_open(&c->jw);
			for (i = 0; i < p->neips; i++)
				if ((int)p->eips[i].ch == ch)
					json_str(&c->jw,
						 vipxdp_addr_str(p->eips[i].family, &p->eips[i].vip,
								 buf, sizeof(buf)));
			json_arr_close(&c->jw);
		}
		json_kbool(&c->jw, "snat_changed", p->snat_changed);
		json_key(&c->jw, "interfaces_attached");
		json_arr_open(&c->jw);
		for (i = 0; i < p->nattach; i++)
			json_str(&c->jw, p->attach[i]);
		json_arr_close(&c->jw);
		json_key(&c->jw, "interfaces_detached");
		json_arr_open(&c->jw);
		for (i = 0; i < p->ndetach; i++)
			json_str(&c->jw, p->detach[i]);
		json_arr_close(&c->jw);
		json_kbool(&c->jw, "hash_seed_changed", p->seed_changed);
		json_kbool(&c->jw, "table_size_changed", p->size_changed);
		json_kbool(&c->jw, "talkers_sample_changed",
			   p->talkers_changed &&
				   p->cfg_old.talkers_sample != p->cfg_new.talkers_sample);
		json_kbool(&c->jw, "flow_cache_changed", p->fc_changed);
		json_obj_close(&c->jw);
		json_end(&c->jw);
		return;
	}
	printf("%s %s:\n", dry ? "plan (dry run) for" : "applying", file);
	if (p->seed_changed && p->cfg_old.hash_seed != p->cfg_new.hash_seed)
		printf("  ~ hash_seed 0x%08x -> 0x%08x (flows without conntrack may move)\n",
		       p->cfg_old.hash_seed, p->cfg_new.hash_seed);
	if (p->size_changed && p->cfg_old.table_size != p->cfg_new.table_size)
		printf("  ~ table_size %u -> %u (every table is rebuilt)\n", p->cfg_old.table_size,
		       p->cfg_new.table_size);
	if (p->talkers_changed && p->cfg_old.talkers_sample != p->cfg_new.talkers_sample)
		printf("  ~ talkers_sample %u -> %u\n", p->cfg_old.talkers_sample,
		       p->cfg_new.talkers_sample);
	if (p->fc_changed)
		printf("  ~ flow_cache %s\n",
		       p->cfg_new.flags & VIPXDP_CFG_F_NO_FC ? "on -> off" : "off -> on");
	for (i = 0; i < p->nattach; i++)
		printf("  + interface %s\n", p->attach[i]);
	for (i = 0; i < p->nvips; i++) {
		char a[VIPXDP_ADDR_STRLEN];
		const struct vip_plan *v = &p->vips[i];

		vipxdp_addr_str(v->family, &v->addr, a, sizeof(a));
		printf("  %c vip %s%s%s%s",
		       v->ch == CH_ADD	    ? '+'
		       : v->ch == CH_CHANGE ? '~'
					    : '-',
		       a, v->pv && v->pv->name ? " (" : "", v->pv && v->pv->name ? v->pv->name : "",
		       v->pv && v->pv->name ? ")" : "");
		if (v->pv && v->pv->has_qos)
			printf(" qos pps %llu bps %llu burst %ums",
			       (unsigned long long)v->pv->qos_pps,
			       (unsigned long long)v->pv->qos_bps, v->pv->qos_burst_ms);
		printf("\n");
	}
	for (i = 0; i < p->nsvcs; i++) {
		const struct svc_plan *s = &p->svcs[i];

		vipxdp_svc_id_str(&s->id, buf, sizeof(buf));
		if (s->ch == CH_ADD)
			printf("  + service %s (%zu backends)\n", buf, s->ps->n_backends);
		else if (s->ch == CH_REMOVE)
			printf("  - service %s\n", buf);
		else
			printf("  ~ service %s: backends +%zu -%zu, weights changed %zu; %.2f%% of slots move\n",
			       buf, s->n_add, s->n_del, s->n_weight, s->moved * 100);
	}
	for (i = 0; i < p->neips; i++) {
		char a[VIPXDP_ADDR_STRLEN], b[VIPXDP_ADDR_STRLEN];
		const struct eip_plan *e = &p->eips[i];

		printf("  %c elastic ip %s -> %s\n",
		       e->ch == CH_ADD	    ? '+'
		       : e->ch == CH_CHANGE ? '~'
					    : '-',
		       vipxdp_addr_str(e->family, &e->vip, a, sizeof(a)),
		       vipxdp_addr_str(e->family, &e->priv, b, sizeof(b)));
	}
	if (p->snat_changed)
		printf("  ~ source NAT rules: %zu (and exclusions for this host's addresses)\n",
		       p->nsnat_rules);
	for (i = 0; i < p->ndetach; i++)
		printf("  - interface %s\n", p->detach[i]);
	printf("  = %zu service%s unchanged\n", p->unchanged, p->unchanged == 1 ? "" : "s");
}

/* Append an exclusion rule (zero VIP) for every local address. */
static int add_local_exclusions(struct plan *p)
{
	struct ifaddrs *ifa, *it;
	int err = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		struct vipxdp_snat_rule r = {};
		struct vipxdp_snat_rule *tmp;
		size_t k;

		if (!it->ifa_addr)
			continue;
		if (it->ifa_addr->sa_family == AF_INET) {
			r.family = VIPXDP_AF_INET;
			r.prefix_len = 32;
			memcpy(&r.src, &((struct sockaddr_in *)it->ifa_addr)->sin_addr, 4);
		} else if (it->ifa_addr->sa_family == AF_INET6) {
			r.family = VIPXDP_AF_INET6;
			r.prefix_len = 128;
			memcpy(&r.src, &((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		for (k = 0; k < p->nsnat; k++)
			if (p->snat[k].family == r.family &&
			    p->snat[k].prefix_len == r.prefix_len &&
			    !memcmp(&p->snat[k].src, &r.src, sizeof(r.src)))
				break;
		if (k < p->nsnat)
			continue;
		tmp = realloc(p->snat, (p->nsnat + 1) * sizeof(*p->snat));
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		p->snat = tmp;
		p->snat[p->nsnat++] = r;
	}
	freeifaddrs(ifa);
	return err;
}

/* Is addr one of this host's (this network namespace's) addresses? */
static bool addr_is_local(__u8 family, const struct vipxdp_addr *addr)
{
	struct ifaddrs *ifa, *it;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (it = ifa; it && !found; it = it->ifa_next) {
		if (!it->ifa_addr)
			continue;
		if (family == VIPXDP_AF_INET && it->ifa_addr->sa_family == AF_INET)
			found = !memcmp(&((struct sockaddr_in *)it->ifa_addr)->sin_addr, addr, 4);
		else if (family == VIPXDP_AF_INET6 && it->ifa_addr->sa_family == AF_INET6)
			found = !memcmp(&((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr, addr,
					16);
	}
	freeifaddrs(ifa);
	return found;
}

/* Warnings about set-ups that validate but work badly. */
static void warn_runtime(struct cli *c, const struct vipxdp_policy *pol)
{
	char a[VIPXDP_ADDR_STRLEN], s[VIPXDP_SVC_STRLEN];

	for (size_t i = 0; i < pol->n_vips; i++) {
		for (size_t k = 0; k < pol->vips[i].n_services; k++) {
			const struct vipxdp_policy_service *ps = &pol->vips[i].services[k];

			if (ps->nat != VIPXDP_NAT_FULLNAT || ps->snat_family != VIPXDP_AF_INET ||
			    !addr_is_local(ps->snat_family, &ps->snat))
				continue;
			cli_warn(
				c,
				"%s: snat_address %s is an address of this host: until a backend's neighbour is resolved, the kernel drops the first packets as martians; route the address to this host instead, or set net.ipv4.conf.all.accept_local=1",
				vipxdp_svc_id_str(&ps->id, s, sizeof(s)),
				vipxdp_addr_str(ps->snat_family, &ps->snat, a, sizeof(a)));
		}
	}
}

/* Checks against the running system that the file alone cannot make. */
static int check_runtime(struct cli *c, const struct vipxdp_policy *pol, struct vipxdp_dp *dp,
			 bool manage_ifaces)
{
	size_t i, nsvc = 0, nbe = 0;
	__u32 max_svc = dp ? dp->max_services : VIPXDP_MAX_SERVICES;
	__u32 max_be = dp ? dp->max_backends : VIPXDP_MAX_BACKENDS;

	for (i = 0; manage_ifaces && i < pol->n_ifaces; i++)
		if (!if_nametoindex(pol->ifaces[i].name))
			return cli_fail(c, EXIT_FAIL, "%s:%u:%u: interface '%s' does not exist",
					pol->name, pol->ifaces[i].loc.line, pol->ifaces[i].loc.col,
					pol->ifaces[i].name);
	for (i = 0; i < pol->n_vips; i++) {
		nsvc += pol->vips[i].n_services;
		for (size_t s = 0; s < pol->vips[i].n_services; s++)
			nbe += pol->vips[i].services[s].n_backends;
	}
	if (pol->n_vips > VIPXDP_MAX_VIPS)
		return cli_fail(c, EXIT_FAIL, "%s: %zu VIPs, more than the data plane holds (%u)",
				pol->name, pol->n_vips, VIPXDP_MAX_VIPS);
	if (nsvc > max_svc)
		return cli_fail(c, EXIT_FAIL,
				"%s: %zu services, more than the data plane holds (%u)", pol->name,
				nsvc, max_svc);
	if (nbe > max_be)
		return cli_fail(c, EXIT_FAIL,
				"%s: %zu backends, more than the data plane holds (%u)", pol->name,
				nbe, max_be);
	return 0;
}

/*
 * While a plan is applied, new backends get new ids before the ones they
 * replace leave (at the end of their service's change, or with their
 * removed service at the end), so the ids in use peak at most at those in
 * use now plus every backend the plan adds.
 */
static int check_backend_room(struct cli *c, const struct vipxdp_policy *pol, struct vipxdp_dp *dp,
			      const struct plan *p)
{
	__u32 max_be = dp ? dp->max_backends : VIPXDP_MAX_BACKENDS;
	size_t now = 0, add = 0, i;
	int err;

	if (dp && (err = vipxdp_dp_backends_in_use(dp, &now)))
		return cli_fail(c, EXIT_FAIL, "reading the backend map: %s", strerror(-err));
	for (i = 0; i < p->nsvcs; i++)
		if (p->svcs[i].ch == CH_ADD)
			add += p->svcs[i].ps->n_backends;
		else if (p->svcs[i].ch == CH_CHANGE)
			add += p->svcs[i].n_add;
	if (now + add > max_be)
		return cli_fail(
			c, EXIT_FAIL,
			"%s: %zu backends in use and %zu to add: more than the data plane holds (%u) while the change is made; apply in smaller steps",
			pol->name, now, add, max_be);
	return 0;
}

/*
 * Services to write, in policy order, with their Maglev tables prepared
 * ahead by worker threads: built, and written as indexes into a new table
 * map that is in no slot yet (vipxdp_dp_table_prepare: most of the cost of
 * a service, and it touches no live map). Every change of the live maps
 * stays in the main thread, in order, with the same ordering rules as
 * without workers. Job k's table goes to ring slot k % TBL_RING, which is
 * free once job k - TBL_RING has been written.
 */
#define TBL_RING 8
#define TBL_MAX_WORKERS 4
#define TBL_UNMAP_CHUNK 32
#define TBL_FLUSH 64

struct tbl_job {
	const struct vipxdp_policy_service *ps;
	struct vipxdp_svc_spec spec;
	struct vipxdp_be_spec *bes;
};

struct tbl_pipe {
	struct tbl_job *jobs;
	size_t njobs;
	/* Address space for every job's table mapping (job k at k * stride),
	 * unmapped TBL_UNMAP_CHUNK jobs at a time: one TLB shootdown per
	 * chunk, not one per table, and no more than a chunk of tables mapped
	 * (they count in the RSS). Jobs below `unmapped` are unmapped. */
	char *region;
	size_t stride, unmapped;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next; /* next job a worker takes */
	size_t written; /* jobs the main thread is done with */
	bool stop;
	struct vipxdp_dp_table tbl[TBL_RING];
	__u32 *buf[TBL_RING]; /* each slot's values, stride bytes */
	size_t job[TBL_RING]; /* the job whose table the slot holds, when ready */
	bool ready[TBL_RING];
	int err[TBL_RING];
};

static void *tbl_worker(void *arg)
{
	struct tbl_pipe *tp = arg;
	__u32 *scratch = NULL, max_size = 0;

	for (size_t k = 0; k < tp->njobs; k++)
		if (tp->jobs[k].spec.table_size > max_size)
			max_size = tp->jobs[k].spec.table_size;
	scratch = malloc((size_t)max_size * sizeof(*scratch));
	pthread_mutex_lock(&tp->mu);
	while (!tp->stop && tp->next < tp->njobs) {
		size_t k = tp->next++, s = k % TBL_RING;
		const struct tbl_job *j = &tp->jobs[k];
		int rc;

		while (!tp->stop && k >= tp->written + TBL_RING)
			pthread_cond_wait(&tp->cv, &tp->mu);
		if (tp->stop)
			break;
		pthread_mutex_unlock(&tp->mu);
		rc = vipxdp_dp_table_prepare(&j->spec, j->bes, j->ps->n_backends, scratch,
					     tp->buf[s], tp->region + k * tp->stride, &tp->tbl[s]);
		pthread_mutex_lock(&tp->mu);
		tp->err[s] = rc;
		tp->job[s] = k;
		tp->ready[s] = true;
		pthread_cond_broadcast(&tp->cv);
	}
	pthread_mutex_unlock(&tp->mu);
	free(scratch);
	return NULL;
}

/* Write every job's service; tables from the workers when there are enough
 * jobs to be worth threads, else built inline. */
static int write_services(struct vipxdp_dp *dp, const struct vipxdp_policy *pol,
			  struct tbl_job *jobs, size_t njobs, char *err, size_t errlen)
{
	struct tbl_pipe tp = { .jobs = jobs, .njobs = njobs };
	pthread_t th[TBL_MAX_WORKERS];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nth = 0, k, s;
	int rc = 0;

	pthread_mutex_init(&tp.mu, NULL);
	pthread_cond_init(&tp.cv, NULL);
	for (s = 0; s < TBL_RING; s++)
		tp.tbl[s].fd = -1;
	/* The main thread's share is small: one worker per CPU. */
	if (njobs >= 2 * TBL_RING) {
		__u32 max_size = 0;
		void *r;

		for (k = 0; k < njobs; k++)
			if (jobs[k].spec.table_size > max_size)
				max_size = jobs[k].spec.table_size;
		tp.stride = vipxdp_dp_table_len(max_size);
		r = mmap(NULL, njobs * tp.stride, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r != MAP_FAILED) {
			tp.region = r;
			nth = ncpu > 1 ? (size_t)ncpu : 1;
			if (nth > TBL_MAX_WORKERS)
				nth = TBL_MAX_WORKERS;
		}
		for (s = 0; s < TBL_RING; s++)
			if (!(tp.buf[s] = calloc(1, tp.stride)))
				nth = 0;
	}
	for (k = 0; k < nth; k++)
		if (pthread_create(&th[k], NULL, tbl_worker, &tp))
			break;
	/* New services are switched on TBL_FLUSH at a time (see
	 * vipxdp_dp_batch_defer). */
	vipxdp_dp_batch_defer(dp, true);
	nth = k;
	if (!nth)
		tp.next = njobs; /* no worker: every table is built inline */

	for (k = 0; k < njobs; k++) {
		const struct tbl_job *j = &jobs[k];
		char buf[VIPXDP_SVC_STRLEN];
		struct vipxdp_dp_table *pre = NULL;

		s = k % TBL_RING;
		if (nth) {
			pthread_mutex_lock(&tp.mu);
			while (!(tp.ready[s] && tp.job[s] == k))
				pthread_cond_wait(&tp.cv, &tp.mu);
			pthread_mutex_unlock(&tp.mu);
			rc = tp.err[s];
			pre = &tp.tbl[s];
		}
		if (!rc)
			rc = vipxdp_dp_set_service_tbl(dp, &j->spec, j->bes, j->ps->n_backends, pre,
						       NULL);
		if (nth) {
			vipxdp_dp_table_free(pre);
			if (k + 1 - tp.unmapped >= TBL_UNMAP_CHUNK) {
				munmap(tp.region + tp.unmapped * tp.stride,
				       (k + 1 - tp.unmapped) * tp.stride);
				tp.unmapped = k + 1;
			}
			pthread_mutex_lock(&tp.mu);
			tp.ready[s] = false;
			tp.written = k + 1;
			pthread_cond_broadcast(&tp.cv);
			pthread_mutex_unlock(&tp.mu);
		}
		if (rc) {
			snprintf(err, errlen, "%s:%u:%u: service %s: %s", pol->name,
				 j->ps->loc.line, j->ps->loc.col,
				 vipxdp_svc_id_str(&j->ps->id, buf, sizeof(buf)),
				 rc == -ENOSPC ? "no free slot in the maps" : strerror(-rc));
			break;
		}
		if (vipxdp_dp_batch_pending(dp) >= TBL_FLUSH || k + 1 == njobs) {
			rc = vipxdp_dp_batch_flush(dp);
			if (rc) {
				snprintf(err, errlen, "%s: switching on services (up to %s): %s",
					 pol->name, vipxdp_svc_id_str(&j->ps->id, buf, sizeof(buf)),
					 strerror(-rc));
				break;
			}
		}
	}
	/* After an error: the services before it stay applied. */
	if ((k = vipxdp_dp_batch_flush(dp)) && !rc) {
		rc = (int)k;
		snprintf(err, errlen, "%s: switching on services: %s", pol->name, strerror(-rc));
	}
	vipxdp_dp_batch_defer(dp, false);
	pthread_mutex_lock(&tp.mu);
	tp.stop = true;
	pthread_cond_broadcast(&tp.cv);
	pthread_mutex_unlock(&tp.mu);
	for (k = 0; k < nth; k++)
		pthread_join(th[k], NULL);
	/* Tables prepared but not written (after an error). */
	for (s = 0; s < TBL_RING; s++)
		vipxdp_dp_table_free(&tp.tbl[s]);
	if (tp.region && tp.unmapped < njobs)
		munmap(tp.region + tp.unmapped * tp.stride, (njobs - tp.unmapped) * tp.stride);
	for (s = 0; s < TBL_RING; s++)
		free(tp.buf[s]);
	pthread_cond_destroy(&tp.cv);
	pthread_mutex_destroy(&tp.mu);
	return rc;
}

static int apply_plan(struct cli *c, struct vipxdp_dp *dp, const struct vipxdp_policy *pol,
		      const struct plan *p, char *err, size_t errlen)
{
	char buf[VIPXDP_SVC_STRLEN];
	struct tbl_job *jobs = NULL;
	size_t i, njobs = 0;
	int rc;

	if (p->seed_changed || p->size_changed || p->timeouts_changed || p->talkers_changed ||
	    p->fc_changed) {
		if ((rc = vipxdp_dp_set_cfg(dp, &p->cfg_new))) {
			snprintf(err, errlen, "writing settings: %s", strerror(-rc));
			return rc;
		}
	}
	/* Services added or changed; with a new table size every service,
	 * changed or not, is rebuilt. Their backend specs are read first. */
	for (i = 0; i < pol->n_vips; i++) {
		for (size_t s = 0; s < pol->vips[i].n_services; s++) {
			const struct vipxdp_policy_service *ps = &pol->vips[i].services[s];
			bool todo = p->size_changed;
			struct tbl_job *tmp;

			for (size_t k = 0; !todo && k < p->nsvcs; k++)
				todo = p->svcs[k].ps == ps;
			if (!todo)
				continue;
			tmp = realloc(jobs, (njobs + 1) * sizeof(*jobs));
			if (!tmp) {
				rc = -ENOMEM;
				goto out;
			}
			jobs = tmp;
			jobs[njobs].ps = ps;
			cli_policy_spec(ps, pol->settings.table_size, &jobs[njobs].spec);
			jobs[njobs].bes = specs_of(dp, ps);
			if (!jobs[njobs].bes) {
				rc = -ENOMEM;
				goto out;
			}
			njobs++;
		}
	}
	rc = write_services(dp, pol, jobs, njobs, err, errlen);
out:
	for (i = 0; i < njobs; i++)
		free(jobs[i].bes);
	free(jobs);
	if (rc) {
		if (rc == -ENOMEM && !err[0])
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		return rc;
	}
	for (i = 0; i < p->neips; i++) {
		const struct eip_plan *e = &p->eips[i];

		if (e->ch == CH_REMOVE)
			continue;
		rc = vipxdp_dp_set_eip(dp, e->family, &e->vip, &e->priv);
		if (rc) {
			snprintf(err, errlen, "elastic ip: %s", strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < p->nvips; i++) {
		const struct vip_plan *v = &p->vips[i];

		if (v->ch == CH_REMOVE)
			continue;
		rc = vipxdp_dp_set_vip(dp, v->family, &v->addr, v->pv->arp ? VIPXDP_VIP_F_ARP : 0,
				       v->pv->name);
		if (!rc) {
			struct vipxdp_qos_spec q;

			qos_spec_of(v->pv, &q);
			rc = vipxdp_dp_set_vip_qos(dp, v->family, &v->addr,
						   v->pv->has_qos ? &q : NULL);
		}
		if (rc) {
			snprintf(err, errlen, "VIP: %s",
				 rc == -ENOSPC ? "no free rate-limit (qos) slot" : strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < p->nvips; i++) {
		if (p->vips[i].ch != CH_REMOVE)
			continue;
		rc = vipxdp_dp_del_vip(dp, p->vips[i].family, &p->vips[i].addr);
		if (rc && rc != -ENOENT) {
			snprintf(err, errlen, "removing VIP: %s", strerror(-rc));
			return rc;
		}
	}
	if (p->snat_changed) {
		rc = vipxdp_dp_set_snat(dp, p->snat, p->nsnat);
		if (rc) {
			snprintf(err, errlen, "source NAT rules: %s", strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < p->neips; i++) {
		if (p->eips[i].ch != CH_REMOVE)
			continue;
		rc = vipxdp_dp_del_eip(dp, p->eips[i].family, &p->eips[i].vip);
		if (rc && rc != -ENOENT) {
			snprintf(err, errlen, "removing elastic ip: %s", strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < p->nsvcs; i++) {
		struct vipxdp_svc_spec spec;

		if (p->svcs[i].ch != CH_REMOVE)
			continue;
		cli_spec_of(&p->svcs[i].id, &spec);
		rc = vipxdp_dp_del_service(dp, &spec);
		if (rc && rc != -ENOENT) {
			snprintf(err, errlen, "removing service %s: %s",
				 vipxdp_svc_id_str(&p->svcs[i].id, buf, sizeof(buf)),
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int cli_apply(struct cli *c, const char *file, bool dry, bool manage_ifaces,
	      struct vipxdp_policy **keep)
{
	struct vipxdp_policy_errors errs = {};
	struct vipxdp_policy *pol = NULL;
	struct vipxdp_dp dp, *dpp = NULL;
	struct plan p = {};
	char err[512] = "";
	size_t i;
	int rc;

	if (keep)
		*keep = NULL;
	rc = vipxdp_policy_load(file, &pol, &errs);
	if (rc) {
		if (c->json) {
			json_init(&c->jw, stdout);
			json_obj_open(&c->jw);
			json_kstr(&c->jw, "error", errs.n ? errs.msg[0] : strerror(-rc));
			json_key(&c->jw, "errors");
			json_arr_open(&c->jw);
			for (i = 0; i < errs.n; i++)
				json_str(&c->jw, errs.msg[i]);
			json_arr_close(&c->jw);
			json_obj_close(&c->jw);
			json_end(&c->jw);
		} else if (errs.n) {
			vipxdp_policy_errors_print(&errs, stderr);
		} else {
			fprintf(stderr, "%s %s: %s: %s\n", c->prog, c->cmd, file, strerror(-rc));
		}
		return EXIT_FAIL;
	}
	if ((rc = cli_pin_dir(c, false)))
		goto out;
	if (vipxdp_state_exists(c->pin_dir)) {
		rc = vipxdp_dp_open_pinned(&dp, c->pin_dir);
		if (rc == -ENOENT) {
			rc = cli_fail(
				c, EXIT_FAIL,
				"the pinned state in %s lacks maps this vipxdp needs (made by an older version?); run 'vipxdp load IFACE' again to add them",
				c->pin_dir);
			goto out;
		} else if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "opening pinned maps: %s", strerror(-rc));
			goto out;
		}
		dpp = &dp;
		/* One batch: maps scanned once, not once per service. */
		if ((rc = vipxdp_dp_batch_begin(dpp))) {
			rc = cli_fail(c, EXIT_FAIL, "%s", strerror(-rc));
			goto out;
		}
	} else if (!pol->n_ifaces || !manage_ifaces) {
		rc = cli_fail(
			c, EXIT_FAIL,
			"vipxdp is not loaded (no state in %s); run 'vipxdp load IFACE -c %s' or list interfaces in the file",
			c->pin_dir, file);
		goto out;
	}
	if ((rc = check_runtime(c, pol, dpp, manage_ifaces)))
		goto out;
	warn_runtime(c, pol);
	if (dpp && pol->settings.conntrack_size != vipxdp_state_ct_size(c->pin_dir))
		cli_warn(
			c,
			"conntrack_size %u differs from the running %u; it takes effect when every interface is unloaded and loaded again",
			pol->settings.conntrack_size, vipxdp_state_ct_size(c->pin_dir));
	rc = make_plan(dpp, pol, c->pin_dir, manage_ifaces, &p);
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "computing the plan: %s", strerror(-rc));
		goto out;
	}
	if ((rc = check_backend_room(c, pol, dpp, &p)))
		goto out;
	if (dry) {
		print_plan(c, &p, file, true);
		rc = EXIT_OK;
		goto out;
	}

	/* Interfaces first: a first attach creates the maps. */
	for (i = 0; i < p.nattach; i++) {
		const struct vipxdp_policy_iface *pi = vipxdp_policy_find_iface(pol, p.attach[i]);

		rc = vipxdp_attach(c->pin_dir, p.attach[i], pi ? pi->mode : VIPXDP_MODE_AUTO,
				   pol->settings.conntrack_size, err, sizeof(err));
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "%s", err);
			goto out;
		}
	}
	if (!dpp) {
		rc = vipxdp_dp_open_pinned(&dp, c->pin_dir);
		if (rc) {
			rc = cli_fail(c, EXIT_FAIL, "opening pinned maps: %s", strerror(-rc));
			goto out;
		}
		dpp = &dp;
		if ((rc = vipxdp_dp_batch_begin(dpp))) {
			rc = cli_fail(c, EXIT_FAIL, "%s", strerror(-rc));
			goto out;
		}
		/* Fresh state: everything is new; plan again against it. */
		plan_free(&p);
		memset(&p, 0, sizeof(p));
		if ((rc = make_plan(dpp, pol, c->pin_dir, false, &p))) {
			rc = cli_fail(c, EXIT_FAIL, "computing the plan: %s", strerror(-rc));
			goto out;
		}
		/* Write the settings whatever the defaults of the new maps were. */
		p.seed_changed = p.size_changed = p.timeouts_changed = true;
		vipxdp_dp_get_cfg(dpp, &p.cfg_old);
	}
	if (!c->json)
		print_plan(c, &p, file, false);
	rc = apply_plan(c, dpp, pol, &p, err, sizeof(err));
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "%s (services before it were applied)", err);
		goto out;
	}
	for (i = 0; i < p.ndetach; i++) {
		rc = vipxdp_detach(c->pin_dir, p.detach[i], true, err, sizeof(err));
		if (rc && rc != -ENOENT) {
			rc = cli_fail(c, EXIT_FAIL, "%s", err);
			goto out;
		}
	}
	if (c->json)
		print_plan(c, &p, file, false);
	else
		printf("applied.\n");
	rc = EXIT_OK;
	if (keep) {
		*keep = pol;
		pol = NULL;
	}
out:
	plan_free(&p);
	if (dpp)
		vipxdp_dp_close(dpp);
	vipxdp_policy_free(pol);
	return rc;
}

int cmd_apply(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "config", required_argument, NULL, 'c' },
					    { "dry-run", no_argument, NULL, 'n' },
					    { "keep-interfaces", no_argument, NULL, 'K' },
					    CLI_COMMON_LONGOPTS };
	bool dry = false, manage_ifaces = true;
	const char *file = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":c:n" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			dry = true;
			break;
		case 'K':
			manage_ifaces = false;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("apply"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (!file)
		return cli_fail(c, EXIT_USAGE, "missing -c FILE; usage: %s %s", c->prog,
				cli_find_cmd("apply")->synopsis);
	if (optind != argc)
		return cli_fail(c, EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	return cli_apply(c, file, dry, manage_ifaces, NULL);
}
