/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Data-plane state writer; see dataplane.h. Service and backend ids are
 * allocated by scanning the maps (the backend array is mmap-ed), so any
 * number of short-lived vipxdp processes can change the same pinned state.
 */
#include <errno.h>
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

/* Array maps store each value in round_up(value_size, 8) bytes; an mmap-ed
 * table of __u32 backend ids therefore has one id every 8 bytes. */
#define TABLE_STRIDE 2 /* in __u32 units */

static int filter_add(struct vipxdp_dp *dp, const struct vipxdp_addr *vip,
		      const struct vipxdp_be_spec *bes, size_t n);
static int filter_rebuild(struct vipxdp_dp *dp);

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
	dp->qos_fd = bpf_map__fd(skel->maps.vipxdp_qos);
	dp->qos_st_fd = bpf_map__fd(skel->maps.vipxdp_qos_st);
	dp->talkers_fd = bpf_map__fd(skel->maps.vipxdp_talkers);
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
	{ "vipxdp_qos", offsetof(struct vipxdp_dp, qos_fd) },
	{ "vipxdp_qos_st", offsetof(struct vipxdp_dp, qos_st_fd) },
	{ "vipxdp_talkers", offsetof(struct vipxdp_dp, talkers_fd) },
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

	if (!dp->owns_fds)
		return;
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		int *fd = (int *)((char *)dp + pinned_maps[i].off);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

int vipxdp_dp_set_cfg(struct vipxdp_dp *dp, const struct vipxdp_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(dp->cfg_fd, &zero, cfg, BPF_ANY) ? -errno : 0;
}

int vipxdp_dp_get_cfg(struct vipxdp_dp *dp, struct vipxdp_cfg *cfg)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(dp->cfg_fd, &zero, cfg) ? -errno : 0;
}

int vipxdp_dp_set_iface(struct vipxdp_dp *dp, __u32 ifindex, const __u8 mac[6], __u32 flags)
{
	struct vipxdp_iface ifc = { .flags = flags };

	memcpy(ifc.mac, mac, 6);
	if (bpf_map_update_elem(dp->iface_fd, &ifindex, &ifc, BPF_ANY))
		return -errno;
	if (bpf_map_update_elem(dp->devmap_fd, &ifindex, &ifindex, BPF_ANY))
		return -errno;
	return 0;
}

int vipxdp_dp_del_iface(struct vipxdp_dp *dp, __u32 ifindex)
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

int vipxdp_dp_set_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
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

int vipxdp_dp_del_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr)
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

static int be_map(struct vipxdp_dp *dp, struct be_array *a)
{
	a->len = page_round((size_t)dp->max_backends * sizeof(struct vipxdp_backend));
	a->be = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_SHARED, dp->backend_fd, 0);
	if (a->be == MAP_FAILED) {
		a->be = NULL;
		return -errno;
	}
	return 0;
}

static void be_unmap(struct be_array *a)
{
	if (a->be)
		munmap(a->be, a->len);
	a->be = NULL;
}

/*
 * The address pre-filter. Bits are only ever set in place (atomically), so
 * the data path never misses an address that is in use; removals rebuild the
 * whole filter from the maps and store only the words that change.
 */
static struct vipxdp_filter *filter_map(struct vipxdp_dp *dp, size_t *len)
{
	struct vipxdp_filter *f;

	*len = page_round(sizeof(*f));
	f = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, dp->filter_fd, 0);
	return f == MAP_FAILED ? NULL : f;
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
	munmap(f, len);
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
	munmap(f, len);
out:
	be_unmap(&a);
	free(vips);
	free(svcs);
	free(want);
	return err;
}

/* Lowest service id in use by no service. */
static int alloc_svc_id(struct vipxdp_dp *dp, __u32 *id)
{
	struct vipxdp_svc_key key, next;
	struct vipxdp_svc val;
	unsigned char *used;
	void *prev = NULL;
	__u32 i;

	used = calloc(dp->max_services, 1);
	if (!used)
		return -ENOMEM;
	while (!bpf_map_get_next_key(dp->svc_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(dp->svc_fd, &key, &val) && val.id < dp->max_services)
			used[val.id] = 1;
	}
	for (i = 0; i < dp->max_services && used[i]; i++)
		;
	free(used);
	if (i == dp->max_services)
		return -ENOSPC;
	*id = i;
	return 0;
}

static bool be_same(const struct vipxdp_backend *b, const struct vipxdp_be_spec *s)
{
	return b->family == s->family && b->port == htons(s->port) &&
	       !memcmp(&b->addr, &s->addr, sizeof(b->addr));
}

static int zero_be_stats(struct vipxdp_dp *dp, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_lb_stats *z;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	z = calloc(ncpu, sizeof(*z));
	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(dp->be_stats_fd, &id, z, BPF_ANY))
		err = -errno;
	free(z);
	return err;
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
	len = page_round((size_t)size * TABLE_STRIDE * sizeof(__u32));
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	copy = malloc((size_t)size * sizeof(__u32));
	for (__u32 i = 0; copy && i < size; i++)
		copy[i] = m[(size_t)i * TABLE_STRIDE];
	munmap(m, len);
	return copy;
}

/* Create a table map holding `table` and put it in slot idx. */
static int table_write(struct vipxdp_dp *dp, __u32 idx, const __u32 *table, __u32 size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = page_round((size_t)size * TABLE_STRIDE * sizeof(__u32));
	int fd, err = 0;
	__u32 *m;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vipxdp_mtbl", sizeof(__u32), sizeof(__u32), size,
			    &opts);
	if (fd < 0)
		return -errno;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	for (__u32 i = 0; i < size; i++)
		m[(size_t)i * TABLE_STRIDE] = table[i];
	munmap(m, len);
	if (bpf_map_update_elem(dp->maglev_fd, &idx, &fd, BPF_ANY))
		err = -errno;
out:
	close(fd);
	return err;
}

int vipxdp_dp_set_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			  const struct vipxdp_be_spec *bes, size_t n, __u32 *svc_id)
{
	struct vipxdp_maglev_backend *mb = NULL;
	struct vipxdp_svc old = {}, svc = {};
	struct vipxdp_svc_key key;
	struct be_array a = {};
	__u32 *table = NULL, *cur = NULL, *ids = NULL, *mine = NULL;
	__u32 i, j, k, next_free = 0, par, nmine = 0, cap_mine = 0;
	bool exists, table_same = false, removed = false, *fresh = NULL;
	int err;

	if (!vipxdp_is_prime(spec->table_size) || spec->table_size < VIPXDP_MAGLEV_MIN ||
	    spec->table_size > VIPXDP_MAGLEV_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (bes[i].family != spec->family)
			return -EAFNOSUPPORT;

	vipxdp_svc_key_from_spec(&key, spec);
	exists = !bpf_map_lookup_elem(dp->svc_fd, &key, &old);
	if (exists)
		svc.id = old.id;
	else if ((err = alloc_svc_id(dp, &svc.id)))
		return err;

	err = be_map(dp, &a);
	if (err)
		return err;
	mb = calloc(n ? n : 1, sizeof(*mb));
	ids = calloc(n ? n : 1, sizeof(*ids));
	fresh = calloc(n ? n : 1, sizeof(*fresh));
	table = malloc((size_t)spec->table_size * sizeof(*table));
	if (!mb || !ids || !fresh || !table) {
		err = -ENOMEM;
		goto out;
	}

	/* Backends that stay keep their id; new ones get a free id. New
	 * entries are complete before any table can point at them. Free ids
	 * are taken above the highest id in use first, so a just-removed id
	 * (still in a previous-generation table) is reused as late as possible. */
	/* One pass: the highest id in use, and this service's backends. */
	for (j = 0; j < dp->max_backends; j++) {
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
	for (i = 0; i < n; i++) {
		__u32 tries;

		if (ids[i] != VIPXDP_BACKEND_NONE)
			continue;
		for (tries = 0; tries < dp->max_backends; tries++) {
			j = (next_free + tries) % dp->max_backends;
			if (!(a.be[j].flags & VIPXDP_BE_F_ACTIVE))
				break;
		}
		if (tries == dp->max_backends) {
			err = -ENOSPC;
			goto out;
		}
		err = zero_be_stats(dp, j);
		if (err)
			goto out;
		bpf_map_delete_elem(dp->health_fd, &j); /* a reused id starts unchecked */
		a.be[j].addr = bes[i].addr;
		a.be[j].port = htons(bes[i].port);
		a.be[j].family = bes[i].family;
		a.be[j].svc_id = svc.id;
		a.be[j].weight = bes[i].weight;
		__atomic_store_n(&a.be[j].flags,
				 VIPXDP_BE_F_ACTIVE | (bes[i].down ? VIPXDP_BE_F_DOWN : 0),
				 __ATOMIC_RELEASE);
		ids[i] = j;
		fresh[i] = true;
		next_free = j + 1;
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
			__atomic_store_n(&a.be[ids[i]].flags, VIPXDP_BE_F_ACTIVE, __ATOMIC_RELEASE);
	}
	for (i = 0; i < n; i++) {
		mb[i].addr = bes[i].addr;
		mb[i].family = bes[i].family;
		mb[i].port = bes[i].port;
		mb[i].weight = bes[i].down ? 0 : bes[i].weight;
		mb[i].id = ids[i];
	}
	err = vipxdp_maglev_build(mb, n, spec->table_size, table);
	if (err)
		goto out;
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
			table_same = cur && !memcmp(cur, table, spec->table_size * sizeof(*table));
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
	if (!table_same) {
		err = table_write(dp, svc.id * VIPXDP_GENERATIONS + par, table, spec->table_size);
		if (err)
			goto out;
		svc.table_size[par] = spec->table_size;
	}
	if (!exists || !table_same || svc.flags != old.flags || svc.mode != old.mode || svc.qos != old.qos ||
	    memcmp(&svc.snat, &old.snat, sizeof(svc.snat))) {
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

	/* Backends of this service no longer listed leave it now that no
	 * active table refers to them. */
	for (k = 0; k < nmine; k++) {
		for (i = 0; i < n && ids[i] != mine[k]; i++)
			;
		if (i == n) {
			__atomic_store_n(&a.be[mine[k]].flags, 0, __ATOMIC_RELEASE);
			removed = true;
		}
		else if (bes[i].down)
			__atomic_store_n(&a.be[mine[k]].flags, VIPXDP_BE_F_ACTIVE | VIPXDP_BE_F_DOWN,
					 __ATOMIC_RELEASE);
	}
	if (svc_id)
		*svc_id = svc.id;
	if (removed)
		err = filter_rebuild(dp);
out:
	/* On failure, backends allocated here leave again: nothing half-applied. */
	for (i = 0; err && fresh && a.be && i < n; i++)
		if (fresh[i])
			__atomic_store_n(&a.be[ids[i]].flags, 0, __ATOMIC_RELEASE);
	free(fresh);
	free(mine);
	free(cur);
	free(table);
	free(ids);
	free(mb);
	be_unmap(&a);
	return err;
}

int vipxdp_dp_del_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec)
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
	for (i = 0; i < dp->max_backends; i++)
		if ((a.be[i].flags & VIPXDP_BE_F_ACTIVE) && a.be[i].svc_id == svc.id)
			__atomic_store_n(&a.be[i].flags, 0, __ATOMIC_RELEASE);
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
	if (bpf_map_lookup_elem(fd, &slot, val))
		err = -errno;
	close(fd);
	return err;
}

static bool be_usable(struct vipxdp_dp *dp, __u32 id, __u32 svc_id, struct vipxdp_backend *be)
{
	if (id == VIPXDP_BACKEND_NONE || bpf_map_lookup_elem(dp->backend_fd, &id, be))
		return false;
	return VIPXDP_BE_USABLE(be->flags) && be->svc_id == svc_id;
}

int vipxdp_dp_predict(struct vipxdp_dp *dp, const struct vipxdp_flow *flow, bool syn,
		      __u32 *be_id, struct vipxdp_backend *be)
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

int vipxdp_dp_backends_of(struct vipxdp_dp *dp, __u32 svc_id, struct vipxdp_dp_be **out,
			  size_t *n)
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
	for (i = 0; i < dp->max_backends; i++) {
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
	struct vipxdp_maglev_backend *mb = NULL;
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
	mb = calloc(n ? n : 1, sizeof(*mb));
	if (!neu || !mb) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		mb[i].addr = bes[i].addr;
		mb[i].family = bes[i].family;
		mb[i].port = bes[i].port;
		mb[i].weight = bes[i].down ? 0 : bes[i].weight;
		mb[i].id = i; /* index into bes */
	}
	err = vipxdp_maglev_build(mb, n, size, neu);
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
		const struct vipxdp_be_spec *nb = neu[i] == VIPXDP_BACKEND_NONE ? NULL : &bes[neu[i]];

		if (old[i] < dp->max_backends && slot_of[old[i]] != UINT32_MAX)
			ob = &cur_be[slot_of[old[i]]].be;
		if (!ob || !nb || !be_same(ob, nb))
			moved += !(ob == NULL && nb == NULL);
	}
	*share = (double)moved / size;
out:
	free(slot_of);
	free(mb);
	free(neu);
	free(old);
	free(cur_be);
	return err;
}

int vipxdp_dp_set_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
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

int vipxdp_dp_del_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip)
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

int vipxdp_dp_set_snat(struct vipxdp_dp *dp, const struct vipxdp_snat_rule *rules, size_t n)
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

int vipxdp_dp_set_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
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
				struct vipxdp_qos_stats *z = calloc(ncpu > 0 ? ncpu : 1, sizeof(*z));

				if (!z)
					return -ENOMEM;
				bpf_map_update_elem(dp->qos_st_fd, &idx, z, BPF_ANY);
				free(z);
			}
			if (bpf_map_update_elem(dp->qos_fd, &idx, &e, BPF_ANY))
				return -errno;
		}
	}
	if (idx != old) {
		v.qos = idx;
		if (bpf_map_update_elem(dp->vip_fd, &k, &v, BPF_ANY))
			return -errno;
	}
	/* The VIP's services and elastic IP carry the index to the data path. */
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
	 * table, only when the index changes). */
	if (idx != old) {
		struct vipxdp_flow fk, nfk;
		struct vipxdp_ct ct;

		prev = NULL;
		while (!bpf_map_get_next_key(dp->ct_fd, prev, &nfk)) {
			fk = nfk;
			prev = &fk;
			if (fk.family != family || memcmp(&fk.daddr, addr, sizeof(*addr)) ||
			    bpf_map_lookup_elem(dp->ct_fd, &fk, &ct) ||
			    (ct.flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_REPLY)) != VIPXDP_CT_F_DNAT ||
			    ct.qos == idx)
				continue;
			ct.qos = idx;
			bpf_map_update_elem(dp->ct_fd, &fk, &ct, BPF_EXIST);
		}
	}
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
