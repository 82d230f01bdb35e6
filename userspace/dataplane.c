/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Data-plane state writer; see dataplane.h. Service and backend ids are
 * allocated by scanning the maps (the backend array is mmap-ed), so any
 * number of short-lived vipxdp processes can change the same pinned state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "maglev.h"
#include "vipxdp_hash.h"
#include "vipxdp.skel.h"

/* A table map holds two slots per 8-byte element (struct vipxdp_mtbl_pair):
 * mmap-ed, its slots are consecutive __u32 backend ids, slot i at index i. */
#define TABLE_BYTES(size) ((size_t)VIPXDP_MTBL_ELEMS(size) * sizeof(struct vipxdp_mtbl_pair))

static int filter_add(struct vipxdp_dp *dp, const struct vipxdp_addr *vip,
		      const struct vipxdp_be_spec *bes, size_t n);
static int filter_rebuild(struct vipxdp_dp *dp);

/* The backend ids of one service (batch index). */
struct svc_bes {
	__u32 *ids;
	__u32 n, cap;
};

/* A new service whose table slot and service entry wait for the flush. */
struct pending_svc {
	__u32 slot; /* index in vipxdp_maglev */
	int fd; /* its table map */
	struct vipxdp_svc_key key;
	struct vipxdp_svc svc;
};

/* State of a batch; see vipxdp_dp_batch_begin(). */
struct vipxdp_dp_cache {
	struct vipxdp_backend *be; /* the backend array, mapped */
	size_t be_len;
	struct vipxdp_filter *filter; /* the address filter, mapped */
	size_t filter_len;
	bool idx_valid; /* by_svc and hwm reflect the backend array */
	bool health_valid;
	__u8 *health; /* max_backends bits: the id has a health record */
	struct svc_bes *by_svc; /* max_services lists of active backend ids */
	__u32 hwm; /* highest active backend id + 1 */
	bool used_valid;
	unsigned char *svc_used; /* max_services flags: id in use */
	bool defer; /* new services: table slot and service entry at the flush */
	struct pending_svc *pending;
	size_t npending;
};

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

static int map_max_entries(int fd, __u32 *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return -errno;
	*out = info.max_entries;
	return 0;
}

static int dp_finish_open(struct vipxdp_dp *dp)
{
	__u32 outer = 0;
	int err;

	err = map_max_entries(dp->maglev_fd, &outer);
	if (!err)
		err = map_max_entries(dp->backend_fd, &dp->max_backends);
	if (err)
		return err;
	dp->max_services = outer / VIPXDP_GENERATIONS;
	return 0;
}

int vipxdp_size_flow_cache(struct vipxdp_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu < 1)
		return ncpu < 0 ? ncpu : -EINVAL;
	return bpf_map__set_max_entries(skel->maps.vipxdp_fc, (__u32)ncpu);
}

int vipxdp_dp_from_skel(struct vipxdp_dp *dp, const struct vipxdp_bpf *skel)
{
	memset(dp, 0, sizeof(*dp));
	dp->vip_fd = bpf_map__fd(skel->maps.vipxdp_vip);
	dp->svc_fd = bpf_map__fd(skel->maps.vipxdp_svc);
	dp->backend_fd = bpf_map__fd(skel->maps.vipxdp_backend);
	dp->maglev_fd = bpf_map__fd(skel->maps.vipxdp_maglev);
	dp->ct_fd = bpf_map__fd(skel->maps.vipxdp_ct);
	dp->iface_fd = bpf_map__fd(skel->maps.vipxdp_ifaces);
	dp->cfg_fd = bpf_map__fd(skel->maps.vipxdp_cfg);
	dp->devmap_fd = bpf_map__fd(skel->maps.vipxdp_devmap);
	dp->stats_fd = bpf_map__fd(skel->maps.vipxdp_stats);
	dp->svc_stats_fd = bpf_map__fd(skel->maps.vipxdp_svc_st);
	dp->be_stats_fd = bpf_map__fd(skel->maps.vipxdp_be_st);
	dp->filter_fd = bpf_map__fd(skel->maps.vipxdp_filter);
	dp->health_fd = bpf_map__fd(skel->maps.vipxdp_health);
	dp->nat_fd = bpf_map__fd(skel->maps.vipxdp_nat);
	dp->eip_fd = bpf_map__fd(skel->maps.vipxdp_eip);
	dp->snat_fd = bpf_map__fd(skel->maps.vipxdp_snat);
	dp->rev_fd = bpf_map__fd(skel->maps.vipxdp_rev);
	dp->qos_fd = bpf_map__fd(skel->maps.vipxdp_qos);
	dp->qos_st_fd = bpf_map__fd(skel->maps.vipxdp_qos_st);
	dp->talkers_fd = bpf_map__fd(skel->maps.vipxdp_talkers);
	dp->gen_fd = bpf_map__fd(skel->maps.data_gen);
	dp->fc_ctl_fd = bpf_map__fd(skel->maps.vipxdp_fc_ctl);
	dp->route_fd = bpf_map__fd(skel->maps.vipxdp_route);
	dp->owns_fds = false;
	return dp_finish_open(dp);
}

static const struct {
	const char *name;
	size_t off;
} pinned_maps[] = {
	{ "vipxdp_vip", offsetof(struct vipxdp_dp, vip_fd) },
	{ "vipxdp_svc", offsetof(struct vipxdp_dp, svc_fd) },
	{ "vipxdp_backend", offsetof(struct vipxdp_dp, backend_fd) },
	{ "vipxdp_maglev", offsetof(struct vipxdp_dp, maglev_fd) },
	{ "vipxdp_ct", offsetof(struct vipxdp_dp, ct_fd) },
	{ "vipxdp_ifaces", offsetof(struct vipxdp_dp, iface_fd) },
	{ "vipxdp_cfg", offsetof(struct vipxdp_dp, cfg_fd) },
	{ "vipxdp_devmap", offsetof(struct vipxdp_dp, devmap_fd) },
	{ "vipxdp_stats", offsetof(struct vipxdp_dp, stats_fd) },
	{ "vipxdp_svc_st", offsetof(struct vipxdp_dp, svc_stats_fd) },
	{ "vipxdp_be_st", offsetof(struct vipxdp_dp, be_stats_fd) },
	{ "vipxdp_filter", offsetof(struct vipxdp_dp, filter_fd) },
	{ "vipxdp_health", offsetof(struct vipxdp_dp, health_fd) },
	{ "vipxdp_nat", offsetof(struct vipxdp_dp, nat_fd) },
	{ "vipxdp_eip", offsetof(struct vipxdp_dp, eip_fd) },
	{ "vipxdp_snat", offsetof(struct vipxdp_dp, snat_fd) },
	{ "vipxdp_rev", offsetof(struct vipxdp_dp, rev_fd) },
	{ "vipxdp_qos", offsetof(struct vipxdp_dp, qos_fd) },
	{ "vipxdp_qos_st", offsetof(struct vipxdp_dp, qos_st_fd) },
	{ "vipxdp_talkers", offsetof(struct vipxdp_dp, talkers_fd) },
	{ "vipxdp_gen", offsetof(struct vipxdp_dp, gen_fd) },
	{ "vipxdp_fc_ctl", offsetof(struct vipxdp_dp, fc_ctl_fd) },
	{ "vipxdp_route", offsetof(struct vipxdp_dp, route_fd) },
};

int vipxdp_dp_open_pinned(struct vipxdp_dp *dp, const char *dir)
{
	char path[PATH_MAX];
	size_t i;
	int err;

	memset(dp, 0, sizeof(*dp));
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++)
		*(int *)((char *)dp + pinned_maps[i].off) = -1;
	dp->owns_fds = true;
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, pinned_maps[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			vipxdp_dp_close(dp);
			return err;
		}
		*(int *)((char *)dp + pinned_maps[i].off) = fd;
	}
	err = dp_finish_open(dp);
	if (err)
		vipxdp_dp_close(dp);
	return err;
}

void vipxdp_dp_close(struct vipxdp_dp *dp)
{
	size_t i;

	vipxdp_dp_batch_end(dp);
	if (dp->gen)
		munmap(dp->gen, page_round(sizeof(*dp->gen)));
	dp->gen = NULL;
	if (!dp->owns_fds)
		return;
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		int *fd = (int *)((char *)dp + pinned_maps[i].off);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/*
 * Tell every CPU's flow cache control whether the cache is off
 * (vipxdp_fc_ctl.off), where it says otherwise. Only a saving: with the
 * flag wrong, packets probe a cache that holds nothing good (every entry
 * predates the change, which bumps vipxdp_gen) and take the whole path
 * anyway; so a failure here is not the change's. The data path may write
 * a CPU's control between the read and the write, which then undoes it:
 * a count is lost (window counts and a statistic), a syn_forget mark,
 * which belongs to the generation that the change's bump ends, or a skip
 * comes back or ends early (no fill happens while one is on, and the bump
 * makes every entry filled before it stale, so a skip whose start in the
 * table is older than it holds nothing good either).
 */
static void dp_sync_fc_off(struct vipxdp_dp *dp, bool off)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_fc_ctl *ctl;
	bool change = false;
	__u32 zero = 0;

	if (dp->fc_ctl_fd < 0 || ncpu < 1 || !(ctl = calloc(ncpu, sizeof(*ctl))))
		return;
	if (!bpf_map_lookup_elem(dp->fc_ctl_fd, &zero, ctl)) {
		for (int i = 0; i < ncpu; i++) {
			change |= ctl[i].off != off;
			ctl[i].off = off;
		}
		if (change)
			bpf_map_update_elem(dp->fc_ctl_fd, &zero, ctl, BPF_ANY);
	}
	free(ctl);
}

static int dp_set_cfg(struct vipxdp_dp *dp, const struct vipxdp_cfg *cfg)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(dp->cfg_fd, &zero, cfg, BPF_ANY))
		return -errno;
	dp_sync_fc_off(dp, cfg->flags & VIPXDP_CFG_F_NO_FC);
	return 0;
}

int vipxdp_dp_get_cfg(struct vipxdp_dp *dp, struct vipxdp_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(dp->cfg_fd, &zero, cfg) ? -errno : 0;
}

static int dp_set_iface(struct vipxdp_dp *dp, __u32 ifindex, const __u8 mac[6], __u32 flags)
{
	struct vipxdp_iface ifc = { .flags = flags };

	memcpy(ifc.mac, mac, 6);
	if (bpf_map_update_elem(dp->iface_fd, &ifindex, &ifc, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(dp->devmap_fd, &ifindex, &ifindex, BPF_ANY))
		return -errno;
	return 0;
}

static int dp_del_iface(struct vipxdp_dp *dp, __u32 ifindex)
{
	int err = 0;

	if (bpf_map_delete_elem(dp->devmap_fd, &ifindex) && errno != ENOENT)
		err = -errno;
	if (bpf_map_delete_elem(dp->iface_fd, &ifindex) && errno != ENOENT)
		err = -errno;
	return err;
}

static void vip_key(struct vipxdp_vip_key *k, __u8 family, const struct vipxdp_addr *addr)
{
	memset(k, 0, sizeof(*k));
	k->addr = *addr;
	k->family = family;
}

static int dp_set_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
		      __u32 flags, const char *name)
{
	struct vipxdp_vip_key k;
	struct vipxdp_vip v = { .flags = flags }, old;

	int err;

	if (name)
		snprintf(v.name, sizeof(v.name), "%s", name);
	vip_key(&k, family, addr);
	/* The rate limit is set apart (vipxdp_dp_set_vip_qos) and stays. */
	if (!bpf_map_lookup_elem(dp->vip_fd, &k, &old))
		v.qos = old.qos;
	err = filter_add(dp, addr, NULL, 0);
	if (err)
		return err;
	return bpf_map_update_elem(dp->vip_fd, &k, &v, BPF_ANY) ? -errno : 0;
}

static int dp_del_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr)
{
	struct vipxdp_vip_key k;
	struct vipxdp_vip v;

	vip_key(&k, family, addr);
	if (!bpf_map_lookup_elem(dp->vip_fd, &k, &v) && v.qos) {
		struct vipxdp_qos z = {};

		bpf_map_update_elem(dp->qos_fd, &v.qos, &z, BPF_ANY);
	}
	if (bpf_map_delete_elem(dp->vip_fd, &k))
		return -errno;
	return filter_rebuild(dp);
}

void vipxdp_svc_key_from_spec(struct vipxdp_svc_key *key, const struct vipxdp_svc_spec *svc)
{
	memset(key, 0, sizeof(*key));
	key->addr = svc->vip;
	key->port = htons(svc->port);
	key->proto = svc->proto;
	key->family = svc->family;
}

int vipxdp_dp_get_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *svc,
			  struct vipxdp_svc *out)
{
	struct vipxdp_svc_key key;

	vipxdp_svc_key_from_spec(&key, svc);
	return bpf_map_lookup_elem(dp->svc_fd, &key, out) ? -errno : 0;
}

/* The backend array, mapped into this process. */
struct be_array {
	struct vipxdp_backend *be;
	size_t len;
};

/* In a batch the mapping is made once (len 0 here: not ours to unmap). */
static int be_map(struct vipxdp_dp *dp, struct be_array *a)
{
	struct vipxdp_dp_cache *c = dp->cache;
	size_t len = page_round((size_t)dp->max_backends * sizeof(struct vipxdp_backend));
	void *m;

	if (c && c->be) {
		a->be = c->be;
		a->len = 0;
		return 0;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | (c ? MAP_POPULATE : 0),
		 dp->backend_fd, 0);
	if (m == MAP_FAILED) {
		a->be = NULL;
		return -errno;
	}
	a->be = m;
	a->len = len;
	if (c) {
		c->be = m;
		c->be_len = len;
		a->len = 0;
	}
	return 0;
}

static void be_unmap(struct be_array *a)
{
	if (a->be && a->len)
		munmap(a->be, a->len);
	a->be = NULL;
}

/* The batch index: every service's active backends, and the id watermark. */
static int idx_build(struct vipxdp_dp *dp)
{
	struct vipxdp_dp_cache *c = dp->cache;
	struct be_array a;
	__u32 j, s;
	int err;

	if (c->idx_valid)
		return 0;
	err = be_map(dp, &a);
	if (err)
		return err;
	for (s = 0; s < dp->max_services; s++)
		c->by_svc[s].n = 0;
	c->hwm = 0;
	for (j = 0; j < dp->max_backends; j++) {
		struct svc_bes *l;

		if (!(a.be[j].flags & VIPXDP_BE_F_ACTIVE))
			continue;
		c->hwm = j + 1;
		if (a.be[j].svc_id >= dp->max_services)
			continue;
		l = &c->by_svc[a.be[j].svc_id];
		if (l->n == l->cap) {
			__u32 cap = l->cap ? l->cap * 2 : 16, *tmp;

			tmp = realloc(l->ids, cap * sizeof(*tmp));
			if (!tmp)
				return -ENOMEM;
			l->ids = tmp;
			l->cap = cap;
		}
		l->ids[l->n++] = j;
	}
	c->idx_valid = true;
	return 0;
}

/* Record that service svc_id now has exactly backends ids[0..n). */
static void idx_set(struct vipxdp_dp *dp, __u32 svc_id, const __u32 *ids, size_t n)
{
	struct vipxdp_dp_cache *c = dp->cache;
	struct svc_bes *l;

	if (!c || !c->idx_valid || svc_id >= dp->max_services)
		return;
	l = &c->by_svc[svc_id];
	if (n > l->cap) {
		__u32 *tmp = realloc(l->ids, n * sizeof(*tmp));

		if (!tmp) {
			c->idx_valid = false;
			return;
		}
		l->ids = tmp;
		l->cap = n;
	}
	memcpy(l->ids, ids, n * sizeof(*ids));
	l->n = n;
	for (size_t i = 0; i < n; i++)
		if (ids[i] + 1 > c->hwm)
			c->hwm = ids[i] + 1;
}

int vipxdp_dp_batch_begin(struct vipxdp_dp *dp)
{
	struct vipxdp_dp_cache *c;

	if (dp->cache)
		return 0;
	c = calloc(1, sizeof(*c));
	if (c) {
		c->by_svc = calloc(dp->max_services ? dp->max_services : 1, sizeof(*c->by_svc));
		c->svc_used = calloc(dp->max_services ? dp->max_services : 1, 1);
	}
	if (!c || !c->by_svc || !c->svc_used) {
		if (c) {
			free(c->by_svc);
			free(c->svc_used);
		}
		free(c);
		return -ENOMEM;
	}
	dp->cache = c;
	return 0;
}

void vipxdp_dp_batch_defer(struct vipxdp_dp *dp, bool on)
{
	if (dp->cache)
		dp->cache->defer = on;
}

size_t vipxdp_dp_batch_pending(struct vipxdp_dp *dp)
{
	return dp->cache ? dp->cache->npending : 0;
}

static int dp_batch_flush(struct vipxdp_dp *dp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct vipxdp_dp_cache *c = dp->cache;
	__u32 *keys = NULL, cnt, done = 0, i;
	int *fds = NULL, err = 0;
	struct be_array a;

	if (!c || !c->npending)
		return 0;
	keys = calloc(c->npending, sizeof(*keys));
	fds = calloc(c->npending, sizeof(*fds));
	if (!keys || !fds) {
		err = -ENOMEM;
		goto undo;
	}
	for (i = 0; i < c->npending; i++) {
		keys[i] = c->pending[i].slot;
		fds[i] = c->pending[i].fd;
	}
	/* One update of the outer map for all the tables (each update of an
	 * outer map waits for an RCU grace period), else one by one. */
	cnt = c->npending;
	if (bpf_map_update_batch(dp->maglev_fd, keys, fds, &cnt, &bo)) {
		done = cnt <= c->npending ? cnt : 0;
		for (; done < c->npending; done++)
			if (bpf_map_update_elem(dp->maglev_fd, &keys[done], &fds[done], BPF_ANY)) {
				err = -errno;
				break;
			}
	} else {
		done = c->npending;
	}
	/* Then the switches, in order. */
	for (i = 0; i < done; i++)
		if (bpf_map_update_elem(dp->svc_fd, &c->pending[i].key, &c->pending[i].svc,
					BPF_ANY)) {
			err = -errno;
			break;
		}
	done = i;
undo:
	/* Services left without their entry: their backends leave again. */
	if (done < c->npending && !be_map(dp, &a)) {
		for (i = done; i < c->npending; i++) {
			__u32 id = c->pending[i].svc.id;
			struct svc_bes *l = &c->by_svc[id];

			for (__u32 x = 0; x < l->n; x++)
				if (a.be[l->ids[x]].svc_id == id)
					__atomic_store_n(&a.be[l->ids[x]].flags, 0,
							 __ATOMIC_RELEASE);
			l->n = 0;
			c->svc_used[id] = 0;
		}
		be_unmap(&a);
	}
	for (i = 0; i < c->npending; i++)
		close(c->pending[i].fd);
	c->npending = 0;
	free(keys);
	free(fds);
	return err;
}

void vipxdp_dp_batch_end(struct vipxdp_dp *dp)
{
	struct vipxdp_dp_cache *c = dp->cache;

	if (!c)
		return;
	vipxdp_dp_batch_flush(dp);
	free(c->pending);
	if (c->be)
		munmap(c->be, c->be_len);
	if (c->filter)
		munmap(c->filter, c->filter_len);
	for (__u32 s = 0; s < dp->max_services; s++)
		free(c->by_svc[s].ids);
	free(c->by_svc);
	free(c->svc_used);
	free(c->health);
	free(c);
	dp->cache = NULL;
}

/*
 * The address pre-filter. Bits are only ever set in place (atomically), so
 * the data path never misses an address that is in use; removals rebuild the
 * whole filter from the maps and store only the words that change.
 */
static struct vipxdp_filter *filter_map(struct vipxdp_dp *dp, size_t *len)
{
	struct vipxdp_dp_cache *c = dp->cache;
	struct vipxdp_filter *f;

	if (c && c->filter) {
		*len = 0;
		return c->filter;
	}
	*len = page_round(sizeof(*f));
	f = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, dp->filter_fd, 0);
	if (f == MAP_FAILED)
		return NULL;
	if (c) {
		c->filter = f;
		c->filter_len = *len;
		*len = 0;
	}
	return f;
}

static void filter_unmap(struct vipxdp_filter *f, size_t len)
{
	if (len)
		munmap(f, len);
}

static void filter_bit(__u64 *words, const struct vipxdp_addr *a)
{
	__u32 bit = vipxdp_filter_bit(a);

	__atomic_fetch_or(&words[bit / 64], 1ull << (bit % 64), __ATOMIC_RELEASE);
}

static int filter_add(struct vipxdp_dp *dp, const struct vipxdp_addr *vip,
		      const struct vipxdp_be_spec *bes, size_t n)
{
	struct vipxdp_filter *f;
	size_t len, i;

	f = filter_map(dp, &len);
	if (!f)
		return -errno;
	if (vip)
		filter_bit(f->vip, vip);
	for (i = 0; i < n; i++)
		filter_bit(f->backend, &bes[i].addr);
	filter_unmap(f, len);
	return 0;
}

static int filter_rebuild(struct vipxdp_dp *dp)
{
	struct vipxdp_filter *f, *want;
	struct vipxdp_dp_svc *svcs = NULL;
	struct vipxdp_dp_vip *vips = NULL;
	struct be_array a = {};
	size_t len, nsvcs = 0, nvips = 0, i;
	int err;

	want = calloc(1, sizeof(*want));
	if (!want)
		return -ENOMEM;
	if ((err = vipxdp_dp_vips(dp, &vips, &nvips)) ||
	    (err = vipxdp_dp_services(dp, &svcs, &nsvcs)) || (err = be_map(dp, &a)))
		goto out;
	for (i = 0; i < nvips; i++)
		filter_bit(want->vip, &vips[i].key.addr);
	{
		struct vipxdp_vip_key k, nk;
		struct vipxdp_eip e;
		void *prev = NULL;

		while (!bpf_map_get_next_key(dp->eip_fd, prev, &nk)) {
			k = nk;
			prev = &k;
			if (bpf_map_lookup_elem(dp->eip_fd, &k, &e))
				continue;
			filter_bit(e.dir == VIPXDP_EIP_IN ? want->vip : want->backend, &k.addr);
		}
	}
	for (i = 0; i < nsvcs; i++) {
		filter_bit(want->vip, &svcs[i].key.addr);
		if (svcs[i].svc.mode == VIPXDP_MODE_FULLNAT)
			filter_bit(want->vip, &svcs[i].svc.snat);
	}
	/* Removed backends keep their bit: conntrack still translates the
	 * replies of their open connections. An entry's address stays until
	 * its id is reused, so this over-approximates, which only costs a
	 * lookup. */
	for (i = 0; i < dp->max_backends; i++)
		if (a.be[i].family)
			filter_bit(want->backend, &a.be[i].addr);
	f = filter_map(dp, &len);
	if (!f) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < VIPXDP_FILTER_BITS / 64; i++) {
		if (f->vip[i] != want->vip[i])
			__atomic_store_n(&f->vip[i], want->vip[i], __ATOMIC_RELEASE);
		if (f->backend[i] != want->backend[i])
			__atomic_store_n(&f->backend[i], want->backend[i], __ATOMIC_RELEASE);
	}
	filter_unmap(f, len);
out:
	be_unmap(&a);
	free(vips);
	free(svcs);
	free(want);
	return err;
}

/* Lowest service id in use by no service. */
/* In a batch the set of ids in use is read once and then kept up to date. */
static int alloc_svc_id(struct vipxdp_dp *dp, __u32 *id)
{
	struct vipxdp_dp_cache *c = dp->cache;
	struct vipxdp_svc_key key, next;
	struct vipxdp_svc val;
	unsigned char *used;
	void *prev = NULL;
	__u32 i;

	used = c ? c->svc_used : calloc(dp->max_services, 1);
	if (!used)
		return -ENOMEM;
	if (!c || !c->used_valid) {
		memset(used, 0, dp->max_services);
		while (!bpf_map_get_next_key(dp->svc_fd, prev, &next)) {
			key = next;
			prev = &key;
			if (!bpf_map_lookup_elem(dp->svc_fd, &key, &val) &&
			    val.id < dp->max_services)
				used[val.id] = 1;
		}
		if (c)
			c->used_valid = true;
	}
	for (i = 0; i < dp->max_services && used[i]; i++)
		;
	if (!c)
		free(used);
	if (i == dp->max_services)
		return -ENOSPC;
	/* Taken even if the service then fails to be created: at worst an
	 * id stays unused until the batch ends. */
	if (c)
		used[i] = 1;
	*id = i;
	return 0;
}

static bool be_same(const struct vipxdp_backend *b, const struct vipxdp_be_spec *s)
{
	return b->family == s->family && b->port == htons(s->port) &&
	       !memcmp(&b->addr, &s->addr, sizeof(b->addr));
}

/*
 * Does the DNAT service v names (protocol and family of the endpoint key ek)
 * still have an active backend at the endpoint of ek?
 */
static bool rev_slot_live(struct vipxdp_dp *dp, const struct be_array *a,
			  const struct vipxdp_svc_key *ek, const struct vipxdp_rev_vip *v)
{
	struct vipxdp_svc_key sk = {
		.addr = v->addr, .port = v->port, .proto = ek->proto, .family = ek->family
	};
	struct vipxdp_svc svc;
	__u32 j;

	if (bpf_map_lookup_elem(dp->svc_fd, &sk, &svc) || svc.mode != VIPXDP_MODE_DNAT)
		return false;
	for (j = 0; j < dp->max_backends; j++)
		if ((a->be[j].flags & VIPXDP_BE_F_ACTIVE) && a->be[j].svc_id == svc.id &&
		    a->be[j].port == ek->port &&
		    !memcmp(&a->be[j].addr, &ek->addr, sizeof(ek->addr)))
			return true;
	return false;
}

/*
 * Make sure vipxdp_rev lists the DNAT service spec for backend endpoint be,
 * so replies of its flows find their one conntrack entry. A slot is reused
 * when free, or when the service it names no longer has this endpoint (its
 * remaining flows then lose their replies' translation). Returns 0 when
 * listed, 1 when every slot is in use (the backend needs
 * VIPXDP_BE_F_REPLY_CT: its flows record reply entries), or -errno.
 */
static int rev_claim(struct vipxdp_dp *dp, const struct be_array *a,
		     const struct vipxdp_svc_spec *spec, const struct vipxdp_be_spec *be)
{
	struct vipxdp_svc_key ek = { .addr = be->addr,
				     .port = htons(be->port),
				     .proto = spec->proto,
				     .family = be->family };
	__be16 vport = htons(spec->port);
	struct vipxdp_rev rev;
	int i, slot = -1;

	if (bpf_map_lookup_elem(dp->rev_fd, &ek, &rev)) {
		if (errno != ENOENT)
			return -errno;
		memset(&rev, 0, sizeof(rev));
	}
	for (i = 0; i < VIPXDP_REV_SLOTS; i++)
		if (rev.vip[i].used && rev.vip[i].port == vport &&
		    !memcmp(&rev.vip[i].addr, &spec->vip, sizeof(spec->vip)))
			return 0;
	for (i = 0; i < VIPXDP_REV_SLOTS && slot < 0; i++)
		if (!rev.vip[i].used)
			slot = i;
	for (i = 0; i < VIPXDP_REV_SLOTS && slot < 0; i++)
		if (!rev_slot_live(dp, a, &ek, &rev.vip[i]))
			slot = i;
	if (slot < 0)
		return 1;
	rev.vip[slot].addr = spec->vip;
	rev.vip[slot].port = vport;
	rev.vip[slot].used = 1;
	if (bpf_map_update_elem(dp->rev_fd, &ek, &rev, BPF_ANY))
		return -errno;
	return 0;
}

/* Zero the counters of backend ids[0..n): one batch update when the
 * kernel has them, else one update per id. */
static int zero_be_stats(struct vipxdp_dp *dp, const __u32 *ids, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_lb_stats *z;
	__u32 i, cnt = n;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	if (!n)
		return 0;
	z = calloc((size_t)ncpu * n, sizeof(*z));
	if (!z)
		return -ENOMEM;
	if (bpf_map_update_batch(dp->be_stats_fd, ids, z, &cnt, &bo)) {
		for (i = 0; i < n; i++)
			if (bpf_map_update_elem(dp->be_stats_fd, &ids[i], z, BPF_ANY)) {
				err = -errno;
				break;
			}
	}
	free(z);
	return err;
}

/*
 * A reused id starts unchecked: drop a health record an earlier backend of
 * that id left. In a batch the ids that have a record are read once (the
 * map is empty until `vipxdp run` has probed something).
 */
static void health_forget(struct vipxdp_dp *dp, const __u32 *ids, __u32 n)
{
	struct vipxdp_dp_cache *c = dp->cache;
	__u32 i;

	/* Few ids: deleting them costs less than reading the map. */
	if (c && !c->health_valid && n >= 16) {
		__u32 key, next;
		void *prev = NULL;

		c->health = calloc((dp->max_backends + 7) / 8, 1);
		if (c->health) {
			while (!bpf_map_get_next_key(dp->health_fd, prev, &next)) {
				key = next;
				prev = &key;
				if (key < dp->max_backends)
					c->health[key / 8] |= 1u << (key % 8);
			}
			c->health_valid = true;
		}
	}
	for (i = 0; i < n; i++) {
		if (c && c->health_valid) {
			if (ids[i] >= dp->max_backends ||
			    !(c->health[ids[i] / 8] & 1u << (ids[i] % 8)))
				continue;
			c->health[ids[i] / 8] &= ~(1u << (ids[i] % 8));
		}
		bpf_map_delete_elem(dp->health_fd, &ids[i]);
	}
}

size_t vipxdp_dp_table_len(__u32 size)
{
	return page_round(TABLE_BYTES(size));
}

/* Read one table slot's whole table; NULL when the slot is empty. */
static __u32 *table_read(struct vipxdp_dp *dp, __u32 idx, __u32 size)
{
	__u32 inner_id, *copy, *m;
	size_t len;
	int fd;

	if (!size || bpf_map_lookup_elem(dp->maglev_fd, &idx, &inner_id))
		return NULL;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return NULL;
	len = vipxdp_dp_table_len(size);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	copy = malloc((size_t)size * sizeof(__u32));
	for (__u32 i = 0; copy && i < size; i++)
		copy[i] = m[i];
	munmap(m, len);
	return copy;
}

/* The Maglev table of bes[] as indexes into bes[] (NONE: empty slot). */
static int build_index_table(const struct vipxdp_svc_spec *spec, const struct vipxdp_be_spec *bes,
			     size_t n, __u32 *table)
{
	struct vipxdp_maglev_backend *mb;
	int err;

	mb = calloc(n ? n : 1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		mb[i].addr = bes[i].addr;
		mb[i].family = bes[i].family;
		mb[i].port = bes[i].port;
		mb[i].weight = bes[i].down ? 0 : bes[i].weight;
		mb[i].id = (__u32)i; /* index into bes */
	}
	err = vipxdp_maglev_build(mb, n, spec->table_size, table);
	free(mb);
	return err;
}

void vipxdp_dp_table_free(struct vipxdp_dp_table *t)
{
	if (t->m && !t->at)
		munmap(t->m, t->len);
	if (t->fd >= 0)
		close(t->fd);
	if (t->own_buf)
		free(t->buf);
	t->m = NULL;
	t->fd = -1;
	t->buf = NULL;
	t->own_buf = false;
}

int vipxdp_dp_table_prepare(const struct vipxdp_svc_spec *spec, const struct vipxdp_be_spec *bes,
			    size_t n, __u32 *scratch, __u32 *buf, void *at,
			    struct vipxdp_dp_table *t)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__u32 size = spec->table_size, *table = scratch;
	void *m;
	int err;

	t->fd = -1;
	t->m = NULL;
	t->at = at;
	t->size = size;
	t->len = vipxdp_dp_table_len(size);
	t->buf = buf;
	t->own_buf = !buf;
	if (!buf && !(t->buf = calloc(1, t->len)))
		return -ENOMEM;
	if (!table && !(table = malloc((size_t)size * sizeof(*table)))) {
		err = -ENOMEM;
		goto out;
	}
	err = build_index_table(spec, bes, n, table);
	if (err)
		goto out;
	/* The map's layout: slot i at buf[i]. */
	for (__u32 i = 0; i < size; i++)
		t->buf[i] = table[i];
	t->fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vipxdp_mtbl", sizeof(__u32),
			       sizeof(struct vipxdp_mtbl_pair), VIPXDP_MTBL_ELEMS(size), &opts);
	if (t->fd < 0) {
		err = -errno;
		goto out;
	}
	m = mmap(at, t->len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0), t->fd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	t->m = m;
out:
	if (err)
		vipxdp_dp_table_free(t);
	if (table != scratch)
		free(table);
	return err;
}

/*
 * Copy the prepared values into the table map. Through /proc/self/mem the
 * kernel writes the map's pages itself: on a virtual machine with shadow
 * paging that is about 20 times faster than this process touching every
 * page of a new mapping for the first time (1 ms for a 512 KiB table). When
 * that file cannot be used, the values are stored through the mapping.
 */
static void table_store(struct vipxdp_dp_table *t)
{
	static int mem_fd = -2;

	if (mem_fd == -2)
		mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (mem_fd >= 0 &&
	    pwrite(mem_fd, t->buf, t->len, (off_t)(uintptr_t)t->m) == (ssize_t)t->len)
		return;
	for (__u32 i = 0; i < t->size; i++)
		t->m[i] = t->buf[i];
}

int vipxdp_dp_set_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			  const struct vipxdp_be_spec *bes, size_t n, __u32 *svc_id)
{
	return vipxdp_dp_set_service_tbl(dp, spec, bes, n, NULL, svc_id);
}

static int dp_set_service_tbl(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			      const struct vipxdp_be_spec *bes, size_t n,
			      struct vipxdp_dp_table *pre, __u32 *svc_id)
{
	struct vipxdp_dp_table own = { .fd = -1 }, *t = pre;
	struct vipxdp_svc old = {}, svc = {};
	struct vipxdp_svc_key key;
	struct be_array a = {};
	__u32 *cur = NULL, *ids = NULL, *mine = NULL, *fresh_ids = NULL, nfresh = 0;
	__u32 i, j, k, next_free = 0, par, nmine = 0, cap_mine = 0;
	bool exists, table_same = false, removed = false, *fresh = NULL;
	__u8 *xflag = NULL;
	int err;

	if (!vipxdp_is_prime(spec->table_size) || spec->table_size < VIPXDP_MAGLEV_MIN ||
	    spec->table_size > VIPXDP_MAGLEV_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (bes[i].family != spec->family)
			return -EAFNOSUPPORT;

	/* The table first, as indexes into bes[] in a new map: an invalid
	 * backend set (e.g. a duplicate) changes nothing. */
	if (!t) {
		err = vipxdp_dp_table_prepare(spec, bes, n, NULL, NULL, NULL, &own);
		if (err)
			return err;
		t = &own;
	}
	if (t->size != spec->table_size || !t->m || !t->buf) {
		err = -EINVAL;
		goto out;
	}
	for (i = 0; i < t->size; i++) {
		j = t->buf[i];
		if (j != VIPXDP_BACKEND_NONE && j >= n) {
			err = -EINVAL;
			goto out;
		}
	}

	vipxdp_svc_key_from_spec(&key, spec);
	exists = !bpf_map_lookup_elem(dp->svc_fd, &key, &old);
	if (exists)
		svc.id = old.id;
	else if ((err = alloc_svc_id(dp, &svc.id)))
		goto out;

	err = be_map(dp, &a);
	if (err)
		goto out;
	ids = calloc(n ? n : 1, sizeof(*ids));
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	fresh_ids = calloc(n ? n : 1, sizeof(*fresh_ids));
	xflag = calloc(n ? n : 1, sizeof(*xflag));
	if (!ids || !fresh || !fresh_ids || !xflag) {
		err = -ENOMEM;
		goto out;
	}

	/* DNAT: every backend endpoint listed in vipxdp_rev with this service
	 * before any table can point at it, or marked for reply entries. A
	 * slot claimed here stays if this call fails: it names a service that
	 * then does not exist, which the data path never matches. */
	for (i = 0; i < n && spec->mode == VIPXDP_MODE_DNAT; i++) {
		err = rev_claim(dp, &a, spec, &bes[i]);
		if (err < 0)
			goto out;
		xflag[i] = err ? VIPXDP_BE_F_REPLY_CT : 0;
		err = 0;
	}

	/* Backends that stay keep their id; new ones get a free id. New
	 * entries are complete before any table can point at them. Free ids
	 * are taken above the highest id in use first, so a just-removed id
	 * (still in a previous-generation table) is reused as late as possible. */
	/* One pass: the highest id in use, and this service's backends; in a
	 * batch, from the index. */
	if (dp->cache) {
		struct svc_bes *l;

		err = idx_build(dp);
		if (err)
			goto out;
		next_free = dp->cache->hwm;
		l = &dp->cache->by_svc[svc.id];
		if (exists && l->n) {
			mine = malloc(l->n * sizeof(*mine));
			if (!mine) {
				err = -ENOMEM;
				goto out;
			}
			for (k = 0; k < l->n; k++)
				if ((a.be[l->ids[k]].flags & VIPXDP_BE_F_ACTIVE) &&
				    a.be[l->ids[k]].svc_id == svc.id)
					mine[nmine++] = l->ids[k];
		}
	}
	for (j = 0; !dp->cache && j < dp->max_backends; j++) {
		if (!(a.be[j].flags & VIPXDP_BE_F_ACTIVE))
			continue;
		next_free = j + 1;
		if (!exists || a.be[j].svc_id != svc.id)
			continue;
		if (nmine == cap_mine) {
			__u32 *tmp;

			cap_mine = cap_mine ? cap_mine * 2 : 64;
			tmp = realloc(mine, cap_mine * sizeof(*mine));
			if (!tmp) {
				err = -ENOMEM;
				goto out;
			}
			mine = tmp;
		}
		mine[nmine++] = j;
	}
	for (i = 0; i < n; i++) {
		ids[i] = VIPXDP_BACKEND_NONE;
		for (k = 0; k < nmine; k++) {
			if (be_same(&a.be[mine[k]], &bes[i])) {
				ids[i] = mine[k];
				break;
			}
		}
	}
	/* New backends: pick free ids (not ACTIVE, not picked already), clear
	 * what earlier backends of those ids left, then write the entries. */
	for (i = 0; i < n; i++) {
		__u32 tries;

		if (ids[i] != VIPXDP_BACKEND_NONE)
			continue;
		for (tries = 0; tries < dp->max_backends; tries++) {
			j = (next_free + tries) % dp->max_backends;
			if (a.be[j].flags & VIPXDP_BE_F_ACTIVE)
				continue;
			for (k = 0; k < nfresh && fresh_ids[k] != j; k++)
				;
			if (k == nfresh)
				break;
		}
		if (tries == dp->max_backends) {
			err = -ENOSPC;
			goto out;
		}
		fresh_ids[nfresh++] = j;
		next_free = j + 1;
	}
	err = zero_be_stats(dp, fresh_ids, nfresh);
	if (err)
		goto out;
	health_forget(dp, fresh_ids, nfresh);
	for (i = 0, k = 0; i < n; i++) {
		if (ids[i] != VIPXDP_BACKEND_NONE)
			continue;
		j = fresh_ids[k++];
		a.be[j].addr = bes[i].addr;
		a.be[j].port = htons(bes[i].port);
		a.be[j].family = bes[i].family;
		a.be[j].svc_id = svc.id;
		a.be[j].weight = bes[i].weight;
		__atomic_store_n(&a.be[j].flags,
				 VIPXDP_BE_F_ACTIVE | (bes[i].down ? VIPXDP_BE_F_DOWN : 0) |
					 xflag[i],
				 __ATOMIC_RELEASE);
		ids[i] = j;
		fresh[i] = true;
	}

	/* Kept backends take their new weight (the data path never reads it).
	 * A backend coming back up is marked before the table switch; one
	 * going down only after it (below), so no table ever points at a
	 * backend the data path considers down. */
	for (i = 0; i < n; i++) {
		if (fresh[i])
			continue;
		a.be[ids[i]].weight = bes[i].weight;
		if (!bes[i].down)
			__atomic_store_n(&a.be[ids[i]].flags, VIPXDP_BE_F_ACTIVE | xflag[i],
					 __ATOMIC_RELEASE);
	}
	/* Indexes into bes[] become backend ids. */
	for (i = 0; i < t->size; i++) {
		__u32 *v = &t->buf[i];

		*v = *v == VIPXDP_BACKEND_NONE ? VIPXDP_BACKEND_NONE : ids[*v];
	}
	/* The data path must see the addresses before the table uses them;
	 * a full-NAT service's replies come to its snat address. */
	err = filter_add(dp, &spec->vip, bes, n);
	if (!err && spec->mode == VIPXDP_MODE_FULLNAT)
		err = filter_add(dp, &spec->snat, NULL, 0);
	if (err)
		goto out;

	svc.flags = spec->flags;
	svc.mode = spec->mode;
	svc.snat = spec->snat;
	{
		struct vipxdp_vip_key vk;
		struct vipxdp_vip v;

		vip_key(&vk, spec->family, &spec->vip);
		svc.qos = bpf_map_lookup_elem(dp->vip_fd, &vk, &v) ? 0 : v.qos;
	}
	if (exists) {
		par = old.gen & 1;
		if (old.table_size[par] == spec->table_size) {
			cur = table_read(dp, svc.id * VIPXDP_GENERATIONS + par, spec->table_size);
			table_same = cur != NULL;
			for (i = 0; table_same && i < t->size; i++)
				table_same = cur[i] == t->buf[i];
		}
		svc.gen = table_same ? old.gen : old.gen + 1;
		svc.table_size[0] = old.table_size[0];
		svc.table_size[1] = old.table_size[1];
	} else {
		svc.gen = 0;
		/* A fresh id: clear whatever an earlier service left. */
		for (par = 0; par < VIPXDP_GENERATIONS; par++) {
			i = svc.id * VIPXDP_GENERATIONS + par;
			bpf_map_delete_elem(dp->maglev_fd, &i);
		}
	}
	par = svc.gen & 1;
	if (!exists && dp->cache && dp->cache->defer) {
		/* A new service in a deferring batch: its table slot and entry
		 * are written at the flush (nothing refers to them before). */
		struct vipxdp_dp_cache *c = dp->cache;
		struct pending_svc *pn;
		int ncpu = libbpf_num_possible_cpus();
		struct vipxdp_lb_stats *z = calloc(ncpu > 0 ? ncpu : 1, sizeof(*z));

		if (z) {
			bpf_map_update_elem(dp->svc_stats_fd, &svc.id, z, BPF_ANY);
			free(z);
		}
		table_store(t);
		svc.table_size[par] = spec->table_size;
		pn = realloc(c->pending, (c->npending + 1) * sizeof(*pn));
		if (!pn) {
			err = -ENOMEM;
			goto out;
		}
		c->pending = pn;
		pn = &c->pending[c->npending];
		pn->fd = dup(t->fd);
		if (pn->fd < 0) {
			err = -errno;
			goto out;
		}
		pn->slot = svc.id * VIPXDP_GENERATIONS + par;
		pn->key = key;
		pn->svc = svc;
		c->npending++;
		goto done;
	}
	if (!table_same) {
		/* The map is in no slot yet: fill it, then put it in. */
		table_store(t);
		i = svc.id * VIPXDP_GENERATIONS + par;
		if (bpf_map_update_elem(dp->maglev_fd, &i, &t->fd, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		svc.table_size[par] = spec->table_size;
	}
	if (!exists || !table_same || svc.flags != old.flags || svc.mode != old.mode ||
	    svc.qos != old.qos || memcmp(&svc.snat, &old.snat, sizeof(svc.snat))) {
		if (!exists) {
			int ncpu = libbpf_num_possible_cpus();
			struct vipxdp_lb_stats *z = calloc(ncpu > 0 ? ncpu : 1, sizeof(*z));

			if (z) {
				bpf_map_update_elem(dp->svc_stats_fd, &svc.id, z, BPF_ANY);
				free(z);
			}
		}
		/* The switch: one update of the service entry. */
		if (bpf_map_update_elem(dp->svc_fd, &key, &svc, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}

done:
	/* Backends of this service no longer listed leave it now that no
	 * active table refers to them. */
	for (k = 0; k < nmine; k++) {
		for (i = 0; i < n && ids[i] != mine[k]; i++)
			;
		if (i == n) {
			__atomic_store_n(&a.be[mine[k]].flags, 0, __ATOMIC_RELEASE);
			removed = true;
		} else if (bes[i].down)
			__atomic_store_n(&a.be[mine[k]].flags,
					 VIPXDP_BE_F_ACTIVE | VIPXDP_BE_F_DOWN | xflag[i],
					 __ATOMIC_RELEASE);
	}
	if (svc_id)
		*svc_id = svc.id;
	idx_set(dp, svc.id, ids, n);
	if (removed)
		err = filter_rebuild(dp);
out:
	if (err && dp->cache)
		dp->cache->idx_valid = false;
	/* On failure, backends allocated here leave again: nothing half-applied. */
	for (i = 0; err && fresh && a.be && i < n; i++)
		if (fresh[i])
			__atomic_store_n(&a.be[ids[i]].flags, 0, __ATOMIC_RELEASE);
	free(fresh);
	free(xflag);
	free(fresh_ids);
	free(mine);
	free(cur);
	vipxdp_dp_table_free(&own);
	free(ids);
	be_unmap(&a);
	return err;
}

static int dp_del_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec)
{
	struct vipxdp_svc_key key;
	struct vipxdp_svc svc;
	struct be_array a = {};
	__u32 i, idx;
	int err;

	vipxdp_svc_key_from_spec(&key, spec);
	if (bpf_map_lookup_elem(dp->svc_fd, &key, &svc))
		return -errno;
	if (bpf_map_delete_elem(dp->svc_fd, &key))
		return -errno;
	for (i = 0; i < VIPXDP_GENERATIONS; i++) {
		idx = svc.id * VIPXDP_GENERATIONS + i;
		bpf_map_delete_elem(dp->maglev_fd, &idx);
	}
	err = be_map(dp, &a);
	if (err)
		return err;
	if (dp->cache && svc.id < dp->max_services) {
		dp->cache->svc_used[svc.id] = 0;
		err = idx_build(dp);
		if (err)
			return err;
	}
	if (dp->cache && svc.id < dp->max_services) {
		struct svc_bes *l = &dp->cache->by_svc[svc.id];

		for (i = 0; i < l->n; i++)
			if ((a.be[l->ids[i]].flags & VIPXDP_BE_F_ACTIVE) &&
			    a.be[l->ids[i]].svc_id == svc.id)
				__atomic_store_n(&a.be[l->ids[i]].flags, 0, __ATOMIC_RELEASE);
		l->n = 0;
	} else {
		for (i = 0; i < dp->max_backends; i++)
			if ((a.be[i].flags & VIPXDP_BE_F_ACTIVE) && a.be[i].svc_id == svc.id)
				__atomic_store_n(&a.be[i].flags, 0, __ATOMIC_RELEASE);
	}
	be_unmap(&a);
	return filter_rebuild(dp);
}

static int table_lookup(struct vipxdp_dp *dp, __u32 idx, __u32 slot, __u32 *val)
{
	__u32 inner_id;
	int fd, err = 0;

	if (bpf_map_lookup_elem(dp->maglev_fd, &idx, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	{
		struct vipxdp_mtbl_pair pair;
		__u32 elem = slot >> 1;

		if (bpf_map_lookup_elem(fd, &elem, &pair))
			err = -errno;
		else
			*val = pair.id[slot & 1];
	}
	close(fd);
	return err;
}

static bool be_usable(struct vipxdp_dp *dp, __u32 id, __u32 svc_id, struct vipxdp_backend *be)
{
	if (id == VIPXDP_BACKEND_NONE || bpf_map_lookup_elem(dp->backend_fd, &id, be))
		return false;
	return VIPXDP_BE_USABLE(be->flags) && be->svc_id == svc_id;
}

int vipxdp_dp_predict(struct vipxdp_dp *dp, const struct vipxdp_flow *flow, bool syn, __u32 *be_id,
		      struct vipxdp_backend *be)
{
	struct vipxdp_svc_key key = {};
	struct vipxdp_cfg cfg = {};
	struct vipxdp_svc svc;
	__u32 hash, par, id;
	int err;

	key.addr = flow->daddr;
	key.port = flow->dport;
	key.proto = flow->proto;
	key.family = flow->family;
	if (bpf_map_lookup_elem(dp->svc_fd, &key, &svc))
		return -errno;
	err = vipxdp_dp_get_cfg(dp, &cfg);
	if (err)
		return err;
	hash = vipxdp_flow_hash(flow, svc.flags, cfg.hash_seed);
	if (!syn) {
		par = (svc.gen + 1) & 1;
		if (svc.table_size[par] &&
		    !table_lookup(dp, svc.id * VIPXDP_GENERATIONS + par,
				  vipxdp_table_slot(hash, svc.table_size[par]), &id) &&
		    be_usable(dp, id, svc.id, be)) {
			*be_id = id;
			return 0;
		}
	}
	par = svc.gen & 1;
	if (!svc.table_size[par])
		return -ENOENT;
	err = table_lookup(dp, svc.id * VIPXDP_GENERATIONS + par,
			   vipxdp_table_slot(hash, svc.table_size[par]), &id);
	if (err)
		return err;
	if (!be_usable(dp, id, svc.id, be))
		return -ENOENT;
	*be_id = id;
	return 0;
}

static int cmp_svc(const void *a, const void *b)
{
	const struct vipxdp_dp_svc *x = a, *y = b;
	int c;

	if (x->key.family != y->key.family)
		return x->key.family - y->key.family;
	c = memcmp(&x->key.addr, &y->key.addr, sizeof(x->key.addr));
	if (c)
		return c;
	if (x->key.proto != y->key.proto)
		return x->key.proto - y->key.proto;
	return (int)ntohs(x->key.port) - (int)ntohs(y->key.port);
}

static int cmp_vip(const void *a, const void *b)
{
	const struct vipxdp_dp_vip *x = a, *y = b;

	if (x->key.family != y->key.family)
		return x->key.family - y->key.family;
	return memcmp(&x->key.addr, &y->key.addr, sizeof(x->key.addr));
}

static int cmp_be(const void *a, const void *b)
{
	const struct vipxdp_dp_be *x = a, *y = b;
	int c;

	if (x->be.family != y->be.family)
		return x->be.family - y->be.family;
	c = memcmp(&x->be.addr, &y->be.addr, sizeof(x->be.addr));
	if (c)
		return c;
	return (int)ntohs(x->be.port) - (int)ntohs(y->be.port);
}

/* Every (key, value) of a hash map into a malloc-ed array of pairs. */
static int dump_hash(int fd, size_t ksz, size_t vsz, void **out, size_t *n)
{
	size_t cap = 0, cnt = 0, esz = ksz + vsz;
	char key[64], next[64], *arr = NULL, *tmp;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			tmp = realloc(arr, cap * esz);
			if (!tmp) {
				free(arr);
				return -ENOMEM;
			}
			arr = tmp;
		}
		memcpy(arr + cnt * esz, key, ksz);
		if (bpf_map_lookup_elem(fd, key, arr + cnt * esz + ksz))
			continue; /* deleted meanwhile */
		cnt++;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int vipxdp_dp_vips(struct vipxdp_dp *dp, struct vipxdp_dp_vip **out, size_t *n)
{
	int err;

	_Static_assert(sizeof(struct vipxdp_dp_vip) ==
			       sizeof(struct vipxdp_vip_key) + sizeof(struct vipxdp_vip),
		       "packed pairs");
	err = dump_hash(dp->vip_fd, sizeof(struct vipxdp_vip_key), sizeof(struct vipxdp_vip),
			(void **)out, n);
	if (!err && *n)
		qsort(*out, *n, sizeof(**out), cmp_vip);
	return err;
}

int vipxdp_dp_services(struct vipxdp_dp *dp, struct vipxdp_dp_svc **out, size_t *n)
{
	int err;

	_Static_assert(sizeof(struct vipxdp_dp_svc) ==
			       sizeof(struct vipxdp_svc_key) + sizeof(struct vipxdp_svc),
		       "packed pairs");
	err = dump_hash(dp->svc_fd, sizeof(struct vipxdp_svc_key), sizeof(struct vipxdp_svc),
			(void **)out, n);
	if (!err && *n)
		qsort(*out, *n, sizeof(**out), cmp_svc);
	return err;
}

int vipxdp_dp_backends_in_use(struct vipxdp_dp *dp, size_t *n)
{
	struct be_array a = {};
	int err;

	*n = 0;
	if (dp->cache) {
		err = idx_build(dp);
		if (err)
			return err;
		for (__u32 s = 0; s < dp->max_services; s++)
			*n += dp->cache->by_svc[s].n;
		return 0;
	}
	err = be_map(dp, &a);
	if (err)
		return err;
	for (__u32 i = 0; i < dp->max_backends; i++)
		*n += !!(a.be[i].flags & VIPXDP_BE_F_ACTIVE);
	be_unmap(&a);
	return 0;
}

int vipxdp_dp_backends_of(struct vipxdp_dp *dp, __u32 svc_id, struct vipxdp_dp_be **out, size_t *n)
{
	struct vipxdp_dp_be *list = NULL, *tmp;
	struct be_array a = {};
	size_t cnt = 0, cap = 0;
	__u32 i;
	int err;

	*out = NULL;
	*n = 0;
	err = be_map(dp, &a);
	if (err)
		return err;
	if (dp->cache && svc_id < dp->max_services) {
		err = idx_build(dp);
		if (err)
			return err;
	}
	/* In a batch only the service's own ids are visited. */
	for (__u32 x = 0; x < dp->max_backends; x++) {
		if (dp->cache && svc_id < dp->max_services) {
			if (x >= dp->cache->by_svc[svc_id].n)
				break;
			i = dp->cache->by_svc[svc_id].ids[x];
		} else {
			i = x;
		}
		if (!(a.be[i].flags & VIPXDP_BE_F_ACTIVE) || a.be[i].svc_id != svc_id)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(list, cap * sizeof(*list));
			if (!tmp) {
				free(list);
				be_unmap(&a);
				return -ENOMEM;
			}
			list = tmp;
		}
		list[cnt].id = i;
		list[cnt].be = a.be[i];
		cnt++;
	}
	be_unmap(&a);
	if (cnt)
		qsort(list, cnt, sizeof(*list), cmp_be);
	*out = list;
	*n = cnt;
	return 0;
}

int vipxdp_dp_moved_share(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			  const struct vipxdp_be_spec *bes, size_t n, double *share)
{
	struct vipxdp_dp_be *cur_be = NULL;
	__u32 *old = NULL, *neu = NULL, *slot_of = NULL, i, size = spec->table_size, par;
	struct vipxdp_svc svc;
	size_t ncur = 0, moved = 0, k;
	int err;

	*share = 0;
	err = vipxdp_dp_get_service(dp, spec, &svc);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	par = svc.gen & 1;
	err = vipxdp_dp_backends_of(dp, svc.id, &cur_be, &ncur);
	if (err)
		return err;
	old = table_read(dp, svc.id * VIPXDP_GENERATIONS + par, svc.table_size[par]);
	neu = malloc((size_t)size * sizeof(*neu));
	if (!neu) {
		err = -ENOMEM;
		goto out;
	}
	err = build_index_table(spec, bes, n, neu);
	if (err)
		goto out;
	if (!old || svc.table_size[par] != size) {
		*share = 1.0; /* a new table size moves (nearly) everything */
		goto out;
	}
	/* Backend id -> index into cur_be, for the old table's ids. */
	slot_of = malloc((size_t)dp->max_backends * sizeof(*slot_of));
	if (!slot_of) {
		err = -ENOMEM;
		goto out;
	}
	memset(slot_of, 0xff, (size_t)dp->max_backends * sizeof(*slot_of));
	for (k = 0; k < ncur; k++)
		slot_of[cur_be[k].id] = k;
	for (i = 0; i < size; i++) {
		const struct vipxdp_backend *ob = NULL;
		const struct vipxdp_be_spec *nb =
			neu[i] == VIPXDP_BACKEND_NONE ? NULL : &bes[neu[i]];

		if (old[i] < dp->max_backends && slot_of[old[i]] != UINT32_MAX)
			ob = &cur_be[slot_of[old[i]]].be;
		if (!ob || !nb || !be_same(ob, nb))
			moved += !(ob == NULL && nb == NULL);
	}
	*share = (double)moved / size;
out:
	free(slot_of);
	free(neu);
	free(old);
	free(cur_be);
	return err;
}

static int dp_set_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
		      const struct vipxdp_addr *priv)
{
	struct vipxdp_eip in = { .to = *priv, .dir = VIPXDP_EIP_IN };
	struct vipxdp_eip out = { .to = *vip, .dir = VIPXDP_EIP_OUT };
	struct vipxdp_be_spec pb = { .addr = *priv, .family = family };
	struct vipxdp_addr old;
	struct vipxdp_vip_key k;
	int err;

	/* A changed private address: its old outbound entry goes. */
	if (!vipxdp_dp_get_eip(dp, family, vip, &old) && memcmp(&old, priv, sizeof(old))) {
		vip_key(&k, family, &old);
		bpf_map_delete_elem(dp->eip_fd, &k);
	}
	err = filter_add(dp, vip, &pb, 1);
	if (err)
		return err;
	vip_key(&k, family, priv);
	if (bpf_map_update_elem(dp->eip_fd, &k, &out, BPF_ANY))
		return -errno;
	vip_key(&k, family, vip);
	{
		struct vipxdp_vip v;

		in.qos = bpf_map_lookup_elem(dp->vip_fd, &k, &v) ? 0 : v.qos;
	}
	if (bpf_map_update_elem(dp->eip_fd, &k, &in, BPF_ANY))
		return -errno;
	return 0;
}

int vipxdp_dp_get_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
		      struct vipxdp_addr *priv)
{
	struct vipxdp_vip_key k;
	struct vipxdp_eip e;

	vip_key(&k, family, vip);
	if (bpf_map_lookup_elem(dp->eip_fd, &k, &e))
		return -errno;
	if (e.dir != VIPXDP_EIP_IN)
		return -ENOENT;
	*priv = e.to;
	return 0;
}

static int dp_del_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip)
{
	struct vipxdp_addr priv;
	struct vipxdp_vip_key k;
	int err;

	err = vipxdp_dp_get_eip(dp, family, vip, &priv);
	if (err)
		return err;
	vip_key(&k, family, vip);
	bpf_map_delete_elem(dp->eip_fd, &k);
	vip_key(&k, family, &priv);
	bpf_map_delete_elem(dp->eip_fd, &k);
	return filter_rebuild(dp);
}

static void snat_key(struct vipxdp_snat_key *k, const struct vipxdp_snat_rule *r)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + r->prefix_len;
	k->family = r->family;
	k->addr = r->src;
}

int vipxdp_dp_snat_rules(struct vipxdp_dp *dp, struct vipxdp_snat_rule **out, size_t *n)
{
	struct vipxdp_snat_rule *list = NULL, *tmp;
	struct vipxdp_snat_key k, nk;
	struct vipxdp_snat v;
	size_t cnt = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(dp->snat_fd, prev, &nk)) {
		k = nk;
		prev = &k;
		if (bpf_map_lookup_elem(dp->snat_fd, &k, &v))
			continue;
		tmp = realloc(list, (cnt + 1) * sizeof(*list));
		if (!tmp) {
			free(list);
			return -ENOMEM;
		}
		list = tmp;
		list[cnt].family = k.family;
		list[cnt].prefix_len = k.prefixlen - 32;
		list[cnt].src = k.addr;
		list[cnt].vip = v.vip;
		cnt++;
	}
	*out = list;
	*n = cnt;
	return 0;
}

static int dp_set_snat(struct vipxdp_dp *dp, const struct vipxdp_snat_rule *rules, size_t n)
{
	struct vipxdp_snat_rule *cur = NULL;
	struct vipxdp_snat_key k;
	struct vipxdp_cfg cfg;
	size_t ncur = 0, i, j;
	int err;

	err = vipxdp_dp_snat_rules(dp, &cur, &ncur);
	if (err)
		return err;
	/* New and changed rules first, then the flag, then removals. */
	for (i = 0; i < n; i++) {
		struct vipxdp_snat v = { .vip = rules[i].vip };

		snat_key(&k, &rules[i]);
		if (bpf_map_update_elem(dp->snat_fd, &k, &v, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	err = vipxdp_dp_get_cfg(dp, &cfg);
	if (err)
		goto out;
	if (n)
		cfg.flags |= VIPXDP_CFG_F_SNAT;
	else
		cfg.flags &= ~VIPXDP_CFG_F_SNAT;
	err = vipxdp_dp_set_cfg(dp, &cfg);
	if (err)
		goto out;
	for (j = 0; j < ncur; j++) {
		for (i = 0; i < n; i++)
			if (rules[i].family == cur[j].family &&
			    rules[i].prefix_len == cur[j].prefix_len &&
			    !memcmp(&rules[i].src, &cur[j].src, sizeof(cur[j].src)))
				break;
		if (i < n)
			continue;
		snat_key(&k, &cur[j]);
		if (bpf_map_delete_elem(dp->snat_fd, &k) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
out:
	free(cur);
	return err;
}

/* ---- per-VIP rate limits ------------------------------------------------ */

void vipxdp_qos_entry(struct vipxdp_qos *e, __u8 family, const struct vipxdp_addr *addr,
		      const struct vipxdp_qos_spec *q)
{
	__u64 burst;

	memset(e, 0, sizeof(*e));
	e->family = family;
	e->vip = *addr;
	e->pps = q->pps;
	e->bps = q->bps;
	e->burst_ms = q->burst_ms;
	if (q->pps) {
		e->pkt_cost = (1000000000ull << VIPXDP_QOS_FRAC) / q->pps;
		burst = q->pps * q->burst_ms / 1000;
		if (!burst)
			burst = 1;
		/* Half a unit more than the burst: costs are rounded at random
		 * to whole ns, so a burst's sum may exceed its exact value by a
		 * few ns, and its packets must still pass. */
		e->pkt_tol = ((2 * burst + 1) * e->pkt_cost) >> (VIPXDP_QOS_FRAC + 1);
	}
	if (q->bps) {
		e->byte_cost = (8000000000ull << VIPXDP_QOS_FRAC) / q->bps;
		burst = q->bps / 8 * q->burst_ms / 1000;
		if (burst < VIPXDP_QOS_MIN_BURST_BYTES)
			burst = VIPXDP_QOS_MIN_BURST_BYTES;
		e->byte_tol = ((2 * burst + 1) * e->byte_cost) >> (VIPXDP_QOS_FRAC + 1);
	}
}

/* The lowest QoS index no VIP uses, or 0 when all are taken. */
static __u32 qos_free_index(struct vipxdp_dp *dp)
{
	struct vipxdp_dp_vip *vips = NULL;
	size_t n = 0, i;
	__u8 *used;
	__u32 idx = 0;

	used = calloc(VIPXDP_MAX_VIPS + 1, 1);
	if (!used || vipxdp_dp_vips(dp, &vips, &n)) {
		free(used);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (vips[i].vip.qos <= VIPXDP_MAX_VIPS)
			used[vips[i].vip.qos] = 1;
	for (idx = 1; idx <= VIPXDP_MAX_VIPS && used[idx]; idx++)
		;
	free(vips);
	free(used);
	return idx <= VIPXDP_MAX_VIPS ? idx : 0;
}

static int dp_set_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
			  const struct vipxdp_qos_spec *q)
{
	struct vipxdp_svc_key sk, nsk;
	struct vipxdp_qos e, cur;
	struct vipxdp_vip_key k;
	struct vipxdp_vip v;
	struct vipxdp_eip ei;
	struct vipxdp_svc svc;
	__u32 idx, old;
	void *prev = NULL;

	vip_key(&k, family, addr);
	if (bpf_map_lookup_elem(dp->vip_fd, &k, &v))
		return -errno;
	old = v.qos;
	idx = 0;
	if (q) {
		idx = old ? old : qos_free_index(dp);
		if (!idx)
			return -ENOSPC;
		vipxdp_qos_entry(&e, family, addr, q);
		if (bpf_map_lookup_elem(dp->qos_fd, &idx, &cur) || cur.pps != e.pps ||
		    cur.bps != e.bps || cur.burst_ms != e.burst_ms || cur.family != e.family ||
		    memcmp(&cur.vip, &e.vip, sizeof(e.vip))) {
			if (!old) {
				int ncpu = libbpf_num_possible_cpus();
				struct vipxdp_qos_stats *z =
					calloc(ncpu > 0 ? ncpu : 1, sizeof(*z));

				if (!z)
					return -ENOMEM;
				bpf_map_update_elem(dp->qos_st_fd, &idx, z, BPF_ANY);
				free(z);
			}
			if (bpf_map_update_elem(dp->qos_fd, &idx, &e, BPF_ANY))
				return -errno;
		}
	}
	/* The VIP's services, elastic IP and tracked flows carry the index to
	 * the data path; the VIP's own index is written last. So a VIP that
	 * has the index already has it everywhere (a new service takes its
	 * VIP's), and an unchanged index costs no walk: an apply of 1,000
	 * VIPs would otherwise read the whole service map 1,000 times. A run
	 * stopped half way leaves the VIP's old index, and the next walks
	 * again. */
	if (idx == old)
		return 0;
	while (!bpf_map_get_next_key(dp->svc_fd, prev, &nsk)) {
		sk = nsk;
		prev = &sk;
		if (sk.family != family || memcmp(&sk.addr, addr, sizeof(*addr)) ||
		    bpf_map_lookup_elem(dp->svc_fd, &sk, &svc) || svc.qos == idx)
			continue;
		svc.qos = idx;
		if (bpf_map_update_elem(dp->svc_fd, &sk, &svc, BPF_EXIST))
			return -errno;
	}
	if (!bpf_map_lookup_elem(dp->eip_fd, &k, &ei) && ei.dir == VIPXDP_EIP_IN && ei.qos != idx) {
		ei.qos = idx;
		if (bpf_map_update_elem(dp->eip_fd, &k, &ei, BPF_EXIST))
			return -errno;
	}
	/* Flows already tracked: their forward entries carry the index too,
	 * so the new limit applies to them from now on (a walk of the whole
	 * table). */
	{
		struct vipxdp_ct_iter it = {};
		struct vipxdp_flow fk;
		struct vipxdp_ct ct;

		while (vipxdp_ct_next(dp, &it, &fk, &ct)) {
			if (fk.family != family || memcmp(&fk.daddr, addr, sizeof(*addr)) ||
			    (ct.flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_REPLY)) !=
				    VIPXDP_CT_F_DNAT ||
			    ct.qos == idx)
				continue;
			ct.qos = idx;
			vipxdp_ct_put(dp, &fk, &ct, BPF_EXIST);
		}
	}
	v.qos = idx;
	if (bpf_map_update_elem(dp->vip_fd, &k, &v, BPF_ANY))
		return -errno;
	if (old && !idx) {
		memset(&e, 0, sizeof(e));
		bpf_map_update_elem(dp->qos_fd, &old, &e, BPF_ANY);
	}
	return 0;
}

int vipxdp_dp_get_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
			  struct vipxdp_qos_spec *q, __u32 *idx)
{
	struct vipxdp_vip_key k;
	struct vipxdp_vip v;
	struct vipxdp_qos e;

	vip_key(&k, family, addr);
	if (bpf_map_lookup_elem(dp->vip_fd, &k, &v))
		return -errno;
	if (!v.qos || bpf_map_lookup_elem(dp->qos_fd, &v.qos, &e))
		return -ENOENT;
	q->pps = e.pps;
	q->bps = e.bps;
	q->burst_ms = e.burst_ms;
	if (idx)
		*idx = v.qos;
	return 0;
}

int vipxdp_dp_qos_stats(struct vipxdp_dp *dp, __u32 idx, struct vipxdp_qos_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct vipxdp_qos_stats *buf;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	buf = calloc(ncpu, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->qos_st_fd, &idx, buf)) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < ncpu; i++) {
		out->packets += buf[i].packets;
		out->bytes += buf[i].bytes;
		out->drop_packets += buf[i].drop_packets;
		out->drop_bytes += buf[i].drop_bytes;
	}
	free(buf);
	return 0;
}

int vipxdp_dp_fc_state(struct vipxdp_dp *dp, struct vipxdp_dp_fc *out)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct vipxdp_fc_ctl *ctl;
	struct vipxdp_cfg cfg;
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu < 1)
		return ncpu < 0 ? ncpu : -EINVAL;
	if ((err = vipxdp_dp_get_cfg(dp, &cfg)))
		return err;
	out->enabled = !(cfg.flags & VIPXDP_CFG_F_NO_FC);
	ctl = calloc(ncpu, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->fc_ctl_fd, &zero, ctl)) {
		err = -errno;
	} else {
		for (int i = 0; i < ncpu; i++) {
			out->bypasses += ctl[i].bypasses;
			out->cpus_bypassing += ctl[i].skip != 0;
			out->syn_skip_windows += ctl[i].syn_bypasses;
			out->cpus_skipping_syn += ctl[i].syn_skip != 0;
		}
	}
	free(ctl);
	return err;
}

int vipxdp_ct_get(const struct vipxdp_dp *dp, const struct vipxdp_flow *f, struct vipxdp_ct *ct)
{
	struct vipxdp_ct_key k;

	vipxdp_ct_key_of(f, &k);
	if (bpf_map_lookup_elem(dp->ct_fd, &k, ct))
		return -1;
	if (!vipxdp_ct_owns(ct, f)) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int vipxdp_ct_put(const struct vipxdp_dp *dp, const struct vipxdp_flow *f,
		  const struct vipxdp_ct *ct, __u64 flags)
{
	struct vipxdp_ct v = *ct;
	struct vipxdp_ct_key k;

	vipxdp_ct_key_of(f, &k);
	if (f->family != VIPXDP_AF_INET) {
		v.ksaddr = f->saddr;
		v.kdaddr = f->daddr;
	}
	return bpf_map_update_elem(dp->ct_fd, &k, &v, flags);
}

int vipxdp_ct_del(const struct vipxdp_dp *dp, const struct vipxdp_flow *f)
{
	struct vipxdp_ct_key k;

	vipxdp_ct_key_of(f, &k);
	return bpf_map_delete_elem(dp->ct_fd, &k);
}

/* The flow of a conntrack key and its entry. */
static void ct_flow(const struct vipxdp_ct_key *k, const struct vipxdp_ct *ct,
		    struct vipxdp_flow *f)
{
	memset(f, 0, sizeof(*f));
	if (k->family == VIPXDP_AF_INET) {
		f->saddr.w[0] = k->a;
		f->daddr.w[0] = k->b;
	} else {
		f->saddr = ct->ksaddr;
		f->daddr = ct->kdaddr;
	}
	f->sport = k->sport;
	f->dport = k->dport;
	f->proto = k->proto;
	f->family = k->family;
}

bool vipxdp_ct_next(const struct vipxdp_dp *dp, struct vipxdp_ct_iter *it, struct vipxdp_flow *f,
		    struct vipxdp_ct *ct)
{
	struct vipxdp_ct_key next;
	struct vipxdp_ct tmp;

	if (!ct)
		ct = &tmp;
	while (!bpf_map_get_next_key(dp->ct_fd, it->started ? &it->prev : NULL, &next)) {
		it->started = true;
		it->prev = next;
		if (bpf_map_lookup_elem(dp->ct_fd, &next, ct))
			continue;
		ct_flow(&next, ct, f);
		return true;
	}
	return false;
}

static size_t map_clear(int fd, size_t ksz)
{
	char key[64], next[64];
	size_t n = 0;

	/* Always restart from the first key: deleting invalidates iteration. */
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, ksz);
		if (bpf_map_delete_elem(fd, key))
			break;
		n++;
	}
	return n;
}

static int dp_ct_flush(struct vipxdp_dp *dp, size_t *n, size_t *nat)
{
	*n = map_clear(dp->ct_fd, sizeof(struct vipxdp_ct_key));
	*nat = map_clear(dp->nat_fd, sizeof(struct vipxdp_flow));
	return 0;
}

/*
 * After a change: bump vipxdp_gen (in place, atomically: other vipxdp
 * processes may bump it too). Returns rc, the change's result; a change
 * that failed half way bumps as well. Should the map not be mappable (out
 * of memory), entries filled before the change expire on their own within
 * VIPXDP_FC_TTL_JIFFIES.
 */
static int dp_changed(struct vipxdp_dp *dp, int rc)
{
	if (!dp->gen) {
		void *m = mmap(NULL, page_round(sizeof(*dp->gen)), PROT_READ | PROT_WRITE,
			       MAP_SHARED, dp->gen_fd, 0);

		if (m != MAP_FAILED)
			dp->gen = m;
	}
	if (dp->gen)
		__atomic_add_fetch(dp->gen, 1, __ATOMIC_SEQ_CST);
	return rc;
}

/*
 * Every change goes through one of these: the change, then a bump of
 * vipxdp_gen, so the data path's flow caches drop what they hold (an entry
 * filled from the state before the change carries the old value).
 */
int vipxdp_dp_set_cfg(struct vipxdp_dp *dp, const struct vipxdp_cfg *cfg)
{
	return dp_changed(dp, dp_set_cfg(dp, cfg));
}

int vipxdp_dp_set_iface(struct vipxdp_dp *dp, __u32 ifindex, const __u8 mac[6], __u32 flags)
{
	return dp_changed(dp, dp_set_iface(dp, ifindex, mac, flags));
}

int vipxdp_dp_del_iface(struct vipxdp_dp *dp, __u32 ifindex)
{
	return dp_changed(dp, dp_del_iface(dp, ifindex));
}

int vipxdp_dp_set_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
		      __u32 flags, const char *name)
{
	return dp_changed(dp, dp_set_vip(dp, family, addr, flags, name));
}

int vipxdp_dp_del_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr)
{
	return dp_changed(dp, dp_del_vip(dp, family, addr));
}

int vipxdp_dp_set_service_tbl(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			      const struct vipxdp_be_spec *bes, size_t n,
			      struct vipxdp_dp_table *pre, __u32 *svc_id)
{
	return dp_changed(dp, dp_set_service_tbl(dp, spec, bes, n, pre, svc_id));
}

int vipxdp_dp_del_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec)
{
	return dp_changed(dp, dp_del_service(dp, spec));
}

int vipxdp_dp_batch_flush(struct vipxdp_dp *dp)
{
	return dp_changed(dp, dp_batch_flush(dp));
}

int vipxdp_dp_set_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
		      const struct vipxdp_addr *priv)
{
	return dp_changed(dp, dp_set_eip(dp, family, vip, priv));
}

int vipxdp_dp_del_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip)
{
	return dp_changed(dp, dp_del_eip(dp, family, vip));
}

int vipxdp_dp_set_snat(struct vipxdp_dp *dp, const struct vipxdp_snat_rule *rules, size_t n)
{
	return dp_changed(dp, dp_set_snat(dp, rules, n));
}

int vipxdp_dp_set_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
			  const struct vipxdp_qos_spec *q)
{
	return dp_changed(dp, dp_set_vip_qos(dp, family, addr, q));
}

int vipxdp_dp_ct_flush(struct vipxdp_dp *dp, size_t *n, size_t *nat)
{
	return dp_changed(dp, dp_ct_flush(dp, n, nat));
}
