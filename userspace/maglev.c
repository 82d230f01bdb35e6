/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted Maglev table builder. Every node that serves a service builds the
 * table from the same configuration and must get the same bytes, so nothing
 * here may depend on input order, backend ids, memory layout or host byte
 * order: backends are sorted into canonical order (family, address, port),
 * each backend's permutation comes from a fixed-seed lookup3 hash of its
 * address, port and family (read as big-endian words), and weights become
 * exact slot quotas by the largest-remainder method before the usual Maglev
 * round-robin fill. Changing the seeds, the hash input or the fill order
 * changes every table and breaks agreement in a mixed-version cluster.
 *
 * The input is validated completely before the table is written: on error
 * the table is left untouched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "vipxdp_hash.h"

/* Fixed seeds of the two permutation hashes. Never change them. */
#define MAGLEV_SEED_OFFSET 0x6d61676cu
#define MAGLEV_SEED_SKIP 0x65763031u

struct maglev_ent {
	struct vipxdp_maglev_backend be;
	__u64 rem; /* size * weight mod total weight */
	__u32 idx; /* canonical index */
	__u32 quota; /* slots this backend must own */
	__u32 count; /* slots it owns so far */
	__u32 next; /* next candidate slot of its permutation */
	__u32 skip;
};

bool vipxdp_is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return false;
	if (n < 4)
		return true;
	if (!(n & 1))
		return false;
	for (d = 3; d <= n / d; d += 2)
		if (!(n % d))
			return false;
	return true;
}

static __u32 load_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

/* lookup3 hashword() over five words: the address, then port and family. */
static __u32 maglev_hash(const struct vipxdp_maglev_backend *be, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = VIPXDP_JHASH_INIT + (5 << 2) + seed;
	a += load_be32(&be->addr.b[0]);
	b += load_be32(&be->addr.b[4]);
	c += load_be32(&be->addr.b[8]);
	VIPXDP_JHASH_MIX(a, b, c);
	a += load_be32(&be->addr.b[12]);
	b += (__u32)be->port << 16 | be->family;
	VIPXDP_JHASH_FINAL(a, b, c);
	return c;
}

static int cmp_canonical(const void *pa, const void *pb)
{
	const struct vipxdp_maglev_backend *a = &((const struct maglev_ent *)pa)->be;
	const struct vipxdp_maglev_backend *b = &((const struct maglev_ent *)pb)->be;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
	if (r)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

/* Largest remainder first; equal remainders by canonical index. */
static int cmp_remainder(const void *pa, const void *pb)
{
	const struct maglev_ent *a = *(const struct maglev_ent *const *)pa;
	const struct maglev_ent *b = *(const struct maglev_ent *const *)pb;

	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Give every weighted backend floor(size * w / W) slots, then hand the slots
 * left over one each to the backends with the largest remainders. The quotas
 * sum to exactly size. size * w < 2^52 and W < 2^64 for any n that fits in
 * memory, so the arithmetic is exact.
 */
static int maglev_quotas(struct maglev_ent **live, size_t nlive, __u64 total, __u32 size)
{
	struct maglev_ent **order;
	__u64 left = size;
	size_t i;

	for (i = 0; i < nlive; i++) {
		__u64 share = (__u64)size * live[i]->be.weight;

		live[i]->quota = (__u32)(share / total);
		live[i]->rem = share % total;
		left -= live[i]->quota;
	}
	if (!left)
		return 0;
	/* left < nlive: each floor loses less than one slot. */
	order = malloc(nlive * sizeof(*order));
	if (!order)
		return -ENOMEM;
	memcpy(order, live, nlive * sizeof(*order));
	qsort(order, nlive, sizeof(*order), cmp_remainder);
	for (i = 0; i < left; i++)
		order[i]->quota++;
	free(order);
	return 0;
}

/*
 * Round robin in canonical order: each backend below its quota takes its
 * next preferred empty slot. A backend that reaches its quota leaves the
 * round, so every pass over `live` fills one slot per entry and the fill
 * costs O(size) besides the permutation probes. size is prime and
 * 1 <= skip < size, so each permutation visits every slot and a backend
 * below quota always finds an empty one. The probes test a bitmap of taken
 * slots (8 KiB at the default size, so it stays in the L1 cache) rather
 * than the table itself.
 */
static int maglev_fill(struct maglev_ent **live, size_t nlive, __u32 size, __u32 *table)
{
	__u64 *taken;
	size_t i, keep;

	taken = calloc(size / 64 + 1, sizeof(*taken));
	if (!taken)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		table[i] = VIPXDP_BACKEND_NONE;

	/* Drop backends whose quota rounded down to nothing. */
	for (i = 0, keep = 0; i < nlive; i++)
		if (live[i]->quota)
			live[keep++] = live[i];
	nlive = keep;

	while (nlive) {
		for (i = 0, keep = 0; i < nlive; i++) {
			struct maglev_ent *e = live[i];
			__u32 c;

			do {
				c = e->next;
				e->next += e->skip;
				if (e->next >= size)
					e->next -= size;
			} while (taken[c / 64] & 1ull << (c % 64));
			taken[c / 64] |= 1ull << (c % 64);
			table[c] = e->be.id;
			if (++e->count < e->quota)
				live[keep++] = e;
		}
		nlive = keep;
	}
	free(taken);
	return 0;
}

int vipxdp_maglev_build(const struct vipxdp_maglev_backend *be, size_t n, __u32 size, __u32 *table)
{
	struct maglev_ent *ent = NULL, **live = NULL;
	size_t i, nlive = 0;
	__u64 total = 0;
	int err;

	if (!table || (n && !be))
		return -EINVAL;
	if (size < VIPXDP_MAGLEV_MIN || size > VIPXDP_MAGLEV_MAX || !vipxdp_is_prime(size))
		return -EINVAL;

	if (n) {
		ent = calloc(n, sizeof(*ent));
		live = calloc(n, sizeof(*live));
		if (!ent || !live) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		ent[i].be = be[i];
	if (n > 1)
		qsort(ent, n, sizeof(*ent), cmp_canonical);

	for (i = 0; i < n; i++) {
		struct maglev_ent *e = &ent[i];

		if (i && !cmp_canonical(&ent[i - 1], e)) {
			err = -EINVAL; /* duplicate (family, address, port) */
			goto out;
		}
		if (!e->be.weight)
			continue;
		/* The table uses NONE to mark an empty slot and a missing backend. */
		if (e->be.id == VIPXDP_BACKEND_NONE) {
			err = -EINVAL;
			goto out;
		}
		e->idx = (__u32)i;
		e->next = maglev_hash(&e->be, MAGLEV_SEED_OFFSET) % size;
		e->skip = maglev_hash(&e->be, MAGLEV_SEED_SKIP) % (size - 1) + 1;
		total += e->be.weight;
		live[nlive++] = e;
	}

	if (nlive) {
		err = maglev_quotas(live, nlive, total, size);
		if (err)
			goto out;
	}
	/* With no weighted backend the fill leaves every slot NONE. */
	err = maglev_fill(live, nlive, size, table);
out:
	free(live);
	free(ent);
	return err;
}

size_t vipxdp_maglev_diff(const __u32 *a, const __u32 *b, __u32 size)
{
	size_t i, n = 0;

	for (i = 0; i < size; i++)
		n += a[i] != b[i];
	return n;
}
