/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading, attaching, detaching; see attach.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "dataplane.h"
#include "vipxdp.skel.h"

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool vipxdp_state_exists(const char *pin_dir)
{
	char p[PATH_MAX];

	return !pin_path(p, sizeof(p), pin_dir, "vipxdp_svc") && !access(p, F_OK);
}

__u32 vipxdp_state_ct_size(const char *pin_dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char p[PATH_MAX];
	int fd;

	if (pin_path(p, sizeof(p), pin_dir, "vipxdp_ct"))
		return 0;
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

int vipxdp_state_remove(const char *pin_dir)
{
	struct dirent *de;
	char p[PATH_MAX];
	DIR *d;
	int err = 0;

	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (pin_path(p, sizeof(p), pin_dir, de->d_name) || unlink(p))
			err = err ?: -errno;
	}
	closedir(d);
	if (rmdir(pin_dir) && errno != ENOENT)
		err = err ?: -errno;
	return err;
}

static int if_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* ifindex of a pinned XDP link, 0 if defunct; negative errno. */
static int link_ifindex(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return info.xdp.ifindex;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* The name map is pinned under: its own, but vipxdp_gen for the change
 * counter (a global variable in the BPF object, so libbpf names its map
 * after its section); NULL for libbpf's other internal maps (constants),
 * which are not pinned. */
static const char *pin_name(const struct vipxdp_bpf *skel, const struct bpf_map *map)
{
	if (map == skel->maps.data_gen)
		return "vipxdp_gen";
	return bpf_map__is_internal(map) ? NULL : bpf_map__name(map);
}

/* Load the object with its maps pinned in pin_dir (reusing pinned ones). */
static int load_object(const char *pin_dir, __u32 ct_size, struct vipxdp_bpf **out, char *err,
		       size_t errlen)
{
	struct vipxdp_bpf *skel;
	struct bpf_map *map;
	char p[PATH_MAX];
	int rc;

	skel = vipxdp_bpf__open();
	if (!skel) {
		rc = -errno;
		snprintf(err, errlen, "opening the BPF object: %s", strerror(-rc));
		return rc;
	}
	rc = vipxdp_size_flow_cache(skel);
	if (rc) {
		snprintf(err, errlen, "sizing the flow cache: %s", strerror(-rc));
		vipxdp_bpf__destroy(skel);
		return rc;
	}
	if (ct_size) {
		bpf_map__set_max_entries(skel->maps.vipxdp_ct, ct_size);
		bpf_map__set_max_entries(skel->maps.vipxdp_nat, ct_size);
	}
	/* Maps pinned already are reused by fd (libbpf's own reuse compares
	 * map flags, and the kernel adds BPF_F_RDONLY_PROG to devmaps); the
	 * others are created and pinned by libbpf at load. */
	bpf_object__for_each_map(map, skel->obj)
	{
		const char *name = pin_name(skel, map);
		int fd;

		if (!name)
			continue;
		if ((rc = pin_path(p, sizeof(p), pin_dir, name))) {
			snprintf(err, errlen, "pin path for %s: %s", name, strerror(-rc));
			goto fail;
		}
		fd = bpf_obj_get(p);
		if (fd >= 0) {
			struct bpf_map_info info = {};
			__u32 ilen = sizeof(info);

			/* Reuse takes the pinned map as it is: one of another
			 * layout (another vipxdp version) would only fail at
			 * verification, with a cryptic error. */
			if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) &&
			    (info.type != bpf_map__type(map) ||
			     info.key_size != bpf_map__key_size(map) ||
			     info.value_size != bpf_map__value_size(map))) {
				close(fd);
				rc = -EINVAL;
				snprintf(
					err, errlen,
					"pinned map %s has another layout (made by another vipxdp version: "
					"key %u B, value %u B; this one needs %u B, %u B); its state cannot be "
					"carried over: unload every interface (which removes the pins), then "
					"load and apply again",
					p, info.key_size, info.value_size, bpf_map__key_size(map),
					bpf_map__value_size(map));
				goto fail;
			}
			rc = bpf_map__reuse_fd(map, fd);
			close(fd);
			if (rc) {
				snprintf(
					err, errlen,
					"pinned map %s does not fit this vipxdp (%s); unload every interface first",
					p, strerror(-rc));
				goto fail;
			}
			continue;
		}
		if ((rc = bpf_map__set_pin_path(map, p))) {
			snprintf(err, errlen, "pin path for %s: %s", name, strerror(-rc));
			goto fail;
		}
	}
	rc = vipxdp_bpf__load(skel);
	if (rc) {
		snprintf(
			err, errlen,
			"loading the BPF program: %s (run with LIBBPF_DEBUG=1 for the verifier log; "
			"if the pins in %s were made by another vipxdp version, unload every "
			"interface and load again)",
			strerror(-rc), pin_dir);
		goto fail;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		if (pin_name(skel, map) && bpf_map__pin_path(map))
			chmod(bpf_map__pin_path(map), 0600);
	}
	*out = skel;
	return 0;
fail:
	vipxdp_bpf__destroy(skel);
	return rc;
}

int vipxdp_attach(const char *pin_dir, const char *ifname, enum vipxdp_iface_mode mode,
		  __u32 ct_size, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	struct vipxdp_bpf *skel = NULL;
	struct vipxdp_cfg cfg = {};
	struct vipxdp_dp dp;
	char lpath[PATH_MAX], name[64];
	bool created, generic = false;
	__u32 ifindex, cur_ct;
	__u8 mac[6];
	int rc, lfd = -1;

	if (!getenv("LIBBPF_DEBUG"))
		libbpf_set_print(silent_print);
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		snprintf(err, errlen, "no such interface '%s'", ifname);
		return -ENODEV;
	}
	rc = if_mac(ifname, mac);
	if (rc) {
		snprintf(err, errlen, "reading the MAC address of %s: %s", ifname, strerror(-rc));
		return rc;
	}
	snprintf(name, sizeof(name), VIPXDP_LINK_PREFIX "%s", ifname);
	if ((rc = pin_path(lpath, sizeof(lpath), pin_dir, name))) {
		snprintf(err, errlen, "pin directory path too long");
		return rc;
	}

	/* Attached already? Then there is nothing to do. */
	lfd = bpf_obj_get(lpath);
	if (lfd >= 0) {
		rc = link_ifindex(lfd);
		close(lfd);
		lfd = -1;
		if (rc == (int)ifindex)
			return 0;
		unlink(lpath); /* stale: the interface went away */
	}

	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "creating %s: %s", pin_dir, strerror(-rc));
		return rc;
	}
	created = !vipxdp_state_exists(pin_dir);
	cur_ct = vipxdp_state_ct_size(pin_dir);
	if (!created && ct_size && cur_ct && ct_size != cur_ct) {
		snprintf(err, errlen,
			 "conntrack_size %u differs from the running data plane's %u; it can only "
			 "change when every interface is unloaded",
			 ct_size, cur_ct);
		return -EINVAL;
	}
	rc = load_object(pin_dir, created ? ct_size : cur_ct, &skel, err, errlen);
	if (rc)
		goto fail;

	lopts.flags = XDP_FLAGS_DRV_MODE;
	if (mode == VIPXDP_MODE_GENERIC)
		lopts.flags = XDP_FLAGS_SKB_MODE;
	lfd = bpf_link_create(bpf_program__fd(skel->progs.vipxdp_xdp), ifindex, BPF_XDP, &lopts);
	if (lfd < 0 && mode == VIPXDP_MODE_AUTO) {
		lopts.flags = XDP_FLAGS_SKB_MODE;
		lfd = bpf_link_create(bpf_program__fd(skel->progs.vipxdp_xdp), ifindex, BPF_XDP,
				      &lopts);
	}
	if (lfd < 0) {
		rc = -errno;
		if (rc == -EBUSY || rc == -EEXIST)
			snprintf(err, errlen,
				 "%s already has an XDP program that vipxdp did not attach; "
				 "remove it first (ip link set dev %s xdp off)",
				 ifname, ifname);
		else
			snprintf(err, errlen, "attaching to %s in %s mode: %s", ifname,
				 mode == VIPXDP_MODE_GENERIC  ? "generic"
				 : mode == VIPXDP_MODE_NATIVE ? "native"
							      : "native or generic",
				 strerror(-rc));
		goto fail;
	}
	generic = lopts.flags == XDP_FLAGS_SKB_MODE;

	rc = vipxdp_dp_from_skel(&dp, skel);
	if (!rc && created) {
		static const __u32 to[VIPXDP_CT_NSTATES] = VIPXDP_CT_TIMEOUTS_DEFAULT;

		cfg.table_size = VIPXDP_MAGLEV_DEFAULT;
		cfg.talkers_sample = VIPXDP_POLICY_TALKERS_SAMPLE;
		for (int i = 0; i < VIPXDP_CT_NSTATES; i++)
			cfg.ct_timeout[i] = vipxdp_ms_to_epochs(to[i]);
		rc = vipxdp_dp_set_cfg(&dp, &cfg);
	}
	if (!rc)
		rc = vipxdp_dp_set_iface(&dp, ifindex, mac, generic ? VIPXDP_IF_F_GENERIC : 0);
	if (rc) {
		snprintf(err, errlen, "writing interface data: %s", strerror(-rc));
		goto fail;
	}
	if (bpf_obj_pin(lfd, lpath)) {
		rc = -errno;
		snprintf(err, errlen, "pinning the link at %s: %s", lpath, strerror(-rc));
		goto fail;
	}
	chmod(lpath, 0600);
	close(lfd);
	vipxdp_bpf__destroy(skel);
	return 0;
fail:
	if (lfd >= 0)
		close(lfd); /* detaches: the link was never pinned */
	if (skel && !created) {
		struct vipxdp_dp d2;

		if (!vipxdp_dp_from_skel(&d2, skel))
			vipxdp_dp_del_iface(&d2, ifindex);
	}
	vipxdp_bpf__destroy(skel);
	if (created)
		vipxdp_state_remove(pin_dir);
	return rc;
}

bool vipxdp_has_link(const char *pin_dir, const char *ifname)
{
	char lpath[PATH_MAX], name[64];

	snprintf(name, sizeof(name), VIPXDP_LINK_PREFIX "%s", ifname);
	return !pin_path(lpath, sizeof(lpath), pin_dir, name) && !access(lpath, F_OK);
}

bool vipxdp_is_attached(const char *pin_dir, const char *ifname)
{
	char lpath[PATH_MAX], name[64];
	int fd, idx;

	snprintf(name, sizeof(name), VIPXDP_LINK_PREFIX "%s", ifname);
	if (pin_path(lpath, sizeof(lpath), pin_dir, name))
		return false;
	fd = bpf_obj_get(lpath);
	if (fd < 0)
		return false;
	idx = link_ifindex(fd);
	close(fd);
	return idx > 0 && (__u32)idx == if_nametoindex(ifname);
}

static int count_links(const char *pin_dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(pin_dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, VIPXDP_LINK_PREFIX, strlen(VIPXDP_LINK_PREFIX)))
			n++;
	closedir(d);
	return n;
}

int vipxdp_detach(const char *pin_dir, const char *ifname, bool keep_state, char *err,
		  size_t errlen)
{
	char lpath[PATH_MAX], name[64];
	struct vipxdp_dp dp;
	int lfd, ifindex;

	snprintf(name, sizeof(name), VIPXDP_LINK_PREFIX "%s", ifname);
	if (pin_path(lpath, sizeof(lpath), pin_dir, name))
		return -ENAMETOOLONG;
	lfd = bpf_obj_get(lpath);
	if (lfd < 0) {
		snprintf(err, errlen, "vipxdp is not loaded on %s (no %s)", ifname, lpath);
		return -ENOENT;
	}
	ifindex = link_ifindex(lfd);
	if (ifindex <= 0)
		ifindex = if_nametoindex(ifname);
	if (ifindex > 0 && !vipxdp_dp_open_pinned(&dp, pin_dir)) {
		vipxdp_dp_del_iface(&dp, ifindex);
		vipxdp_dp_close(&dp);
	}
	/* Detach now, even if some process still holds the link. */
	bpf_link_detach(lfd);
	close(lfd);
	if (unlink(lpath)) {
		int rc = -errno;

		snprintf(err, errlen, "removing %s: %s", lpath, strerror(-rc));
		return rc;
	}
	if (!keep_state && count_links(pin_dir) == 0)
		return vipxdp_state_remove(pin_dir);
	return 0;
}

int vipxdp_attached_list(const char *pin_dir, struct vipxdp_attached **out, size_t *n)
{
	struct vipxdp_attached *list = NULL, *tmp;
	size_t cnt = 0;
	struct vipxdp_dp dp;
	bool have_dp;
	struct dirent *de;
	char p[PATH_MAX];
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	have_dp = !vipxdp_dp_open_pinned(&dp, pin_dir);
	while ((de = readdir(d))) {
		size_t pl = strlen(VIPXDP_LINK_PREFIX);
		struct vipxdp_iface ifc;
		int fd, idx;

		if (strncmp(de->d_name, VIPXDP_LINK_PREFIX, pl))
			continue;
		if (pin_path(p, sizeof(p), pin_dir, de->d_name))
			continue;
		tmp = realloc(list, (cnt + 1) * sizeof(*list));
		if (!tmp)
			break;
		list = tmp;
		memset(&list[cnt], 0, sizeof(list[cnt]));
		snprintf(list[cnt].name, sizeof(list[cnt].name), "%s", de->d_name + pl);
		fd = bpf_obj_get(p);
		idx = fd >= 0 ? link_ifindex(fd) : 0;
		if (fd >= 0)
			close(fd);
		list[cnt].ifindex = idx > 0 ? idx : 0;
		if (have_dp && idx > 0 && !bpf_map_lookup_elem(dp.iface_fd, &idx, &ifc))
			list[cnt].generic = ifc.flags & VIPXDP_IF_F_GENERIC;
		cnt++;
	}
	closedir(d);
	if (have_dp)
		vipxdp_dp_close(&dp);
	*out = list;
	*n = cnt;
	return 0;
}
