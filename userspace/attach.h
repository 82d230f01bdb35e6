/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the data path onto interfaces and taking it off again. All state
 * is pinned under one directory (default /sys/fs/bpf/vipxdp): the maps,
 * shared by every interface, and one bpf_link per interface
 * (link_IFNAME), so the data path keeps running with no vipxdp process.
 */
#ifndef VIPXDP_ATTACH_H
#define VIPXDP_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

#include "policy.h"

#define VIPXDP_LINK_PREFIX "link_"

/* Is there pinned state (maps) in pin_dir? */
bool vipxdp_state_exists(const char *pin_dir);

/*
 * Attach to ifname, creating the pinned maps if there are none yet (with
 * ct_size conntrack entries; 0 = default). Attaching an interface that is
 * attached already succeeds and changes nothing. On failure nothing is left
 * behind (pins this call created are removed) and err says why.
 */
int vipxdp_attach(const char *pin_dir, const char *ifname, enum vipxdp_iface_mode mode,
		  __u32 ct_size, char *err, size_t errlen);

/* Detach from ifname. The last detach removes all pinned state unless
 * keep_state. -ENOENT when ifname is not attached. */
int vipxdp_detach(const char *pin_dir, const char *ifname, bool keep_state, char *err,
		  size_t errlen);

/* Is there a pinned link for ifname (live or defunct)? */
bool vipxdp_has_link(const char *pin_dir, const char *ifname);

/* Does ifname have a live pinned link? */
bool vipxdp_is_attached(const char *pin_dir, const char *ifname);

/* Remove every pin in pin_dir and the directory (nothing attached). */
int vipxdp_state_remove(const char *pin_dir);

struct vipxdp_attached {
	char name[IF_NAMESIZE]; /* from the pin name */
	__u32 ifindex; /* 0 when the interface is gone (link defunct) */
	bool generic;
};

/* Interfaces with a pinned link; *out is malloc-ed. */
int vipxdp_attached_list(const char *pin_dir, struct vipxdp_attached **out, size_t *n);

/* The conntrack size of the pinned state, 0 when none. */
__u32 vipxdp_state_ct_size(const char *pin_dir);

#endif /* VIPXDP_ATTACH_H */
