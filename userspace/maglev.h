/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev lookup-table builder (Eisenbud et al., NSDI 2016), with weights.
 *
 * The table depends only on the set of (address, port, weight) tuples, never
 * on input order: backends are put in canonical order (family, address,
 * port) before the table is filled, and every backend's permutation comes
 * from a hash of its address and port alone. Identical configuration on
 * every node therefore gives a bit-identical table, which is what makes the
 * choice of backend anycast/ECMP safe.
 */
#ifndef VIPXDP_MAGLEV_H
#define VIPXDP_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "vipxdp_abi.h"

struct vipxdp_maglev_backend {
	struct vipxdp_addr addr;
	__u8 family;
	__u16 port; /* host order */
	__u32 weight; /* 0: takes no slot */
	__u32 id; /* value written into the table's slots */
};

bool vipxdp_is_prime(__u32 n);

/*
 * Fill table[0..size-1] with backend ids. size must be prime and within
 * [VIPXDP_MAGLEV_MIN, VIPXDP_MAGLEV_MAX]. With no backend of non-zero weight
 * every slot is VIPXDP_BACKEND_NONE. Returns 0, -EINVAL (bad size, duplicate
 * backend) or -ENOMEM.
 */
int vipxdp_maglev_build(const struct vipxdp_maglev_backend *be, size_t n, __u32 size, __u32 *table);

/* Number of slots whose value differs between two tables of the same size. */
size_t vipxdp_maglev_diff(const __u32 *a, const __u32 *b, __u32 size);

#endif /* VIPXDP_MAGLEV_H */
