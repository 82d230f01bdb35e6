/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the Maglev table builder (userspace/maglev.c): balance with
 * equal and unequal weights, disruption when the backend set changes,
 * independence from input order, IPv6, input validation, and a golden
 * checksum that pins the algorithm so nodes of different versions agree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "../lib/tap.h"
#include "maglev.h"
#include "vipxdp_hash.h"

#define M_DEFAULT 65537u

/* xorshift64*: fixed seeds keep every run identical. */
static __u64 rng_state;

static void rng_seed(__u64 seed)
{
	rng_state = seed ? seed : 1;
}

static __u32 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (__u32)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static __u32 rng_range(__u32 lo, __u32 hi)
{
	return lo + rng_next() % (hi - lo + 1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct vipxdp_maglev_backend be_v4(__u8 a, __u8 b, __u8 c, __u8 d, __u16 port,
					  __u32 weight, __u32 id)
{
	struct vipxdp_maglev_backend be;

	memset(&be, 0, sizeof(be));
	be.family = VIPXDP_AF_INET;
	be.addr.b[0] = a;
	be.addr.b[1] = b;
	be.addr.b[2] = c;
	be.addr.b[3] = d;
	be.port = port;
	be.weight = weight;
	be.id = id;
	return be;
}

/* 2001:db8:<g>::<h> */
static struct vipxdp_maglev_backend be_v6(__u16 g, __u16 h, __u16 port, __u32 weight,
					  __u32 id)
{
	struct vipxdp_maglev_backend be;

	memset(&be, 0, sizeof(be));
	be.family = VIPXDP_AF_INET6;
	be.addr.b[0] = 0x20;
	be.addr.b[1] = 0x01;
	be.addr.b[2] = 0x0d;
	be.addr.b[3] = 0xb8;
	be.addr.b[4] = g >> 8;
	be.addr.b[5] = g & 0xff;
	be.addr.b[14] = h >> 8;
	be.addr.b[15] = h & 0xff;
	be.port = port;
	be.weight = weight;
	be.id = id;
	return be;
}

/* Backend i of the standard IPv4 pool: 198.19.(i / 250).(i % 250 + 1):8080. */
static struct vipxdp_maglev_backend pool_v4(unsigned int i, __u32 id)
{
	return be_v4(198, 19, i / 250, i % 250 + 1, 8080, 1, id);
}

static __u32 *table_alloc(__u32 size)
{
	return malloc((size_t)size * sizeof(__u32));
}

/* counts[id] = slots owned by id (ids < nids); returns the NONE slots. */
static size_t count_slots(const __u32 *table, __u32 size, __u32 *counts, size_t nids)
{
	size_t i, none = 0;

	memset(counts, 0, nids * sizeof(*counts));
	for (i = 0; i < size; i++) {
		if (table[i] == VIPXDP_BACKEND_NONE)
			none++;
		else if (table[i] < nids)
			counts[table[i]]++;
	}
	return none;
}

/* Every backend of the table owns lo..hi slots; no slot is empty. */
static bool check_equal_share(const __u32 *table, __u32 size, size_t n, __u32 lo, __u32 hi)
{
	__u32 counts[256];
	__u32 min = ~0u, max = 0;
	size_t i, none;
	bool ok = true;

	none = count_slots(table, size, counts, n);
	ok &= ASSERT_EQ(none, 0, "no empty slot");
	for (i = 0; i < n; i++) {
		if (counts[i] < min)
			min = counts[i];
		if (counts[i] > max)
			max = counts[i];
	}
	printf("# slots per backend: min %u max %u\n", min, max);
	ok &= ASSERT_GE(min, lo, "fewest slots of a backend");
	ok &= ASSERT_LE(max, hi, "most slots of a backend");
	return ok;
}

/*
 * Build a table of be[0..n-1] (ids 0..n-1) and check every backend's share
 * against size * w / W: within `rel` relative, and within one slot absolute
 * (largest remainder rounds each quota by less than one slot).
 */
static bool check_weighted(const struct vipxdp_maglev_backend *be, size_t n, __u32 size,
			   double rel)
{
	__u32 *table = table_alloc(size);
	__u32 counts[64];
	double total = 0, worst = 0;
	size_t i, none;
	bool ok = false;

	if (!ASSERT_TRUE(table, "malloc") || !ASSERT_LE(n, 64, "test set size"))
		goto out;
	if (!ASSERT_OK(vipxdp_maglev_build(be, n, size, table), "build"))
		goto out;
	none = count_slots(table, size, counts, n);
	if (!ASSERT_EQ(none, 0, "no empty slot"))
		goto out;
	for (i = 0; i < n; i++)
		total += be[i].weight;
	ok = true;
	for (i = 0; i < n; i++) {
		double want = size * be[i].weight / total;
		double dev = counts[i] - want;

		if (dev < 0)
			dev = -dev;
		if (!be[i].weight) {
			ok &= ASSERT_EQ(counts[i], 0, "weight 0 owns no slot");
			continue;
		}
		ok &= ASSERT_TRUE(dev < 1.0, "quota within one slot of the exact share");
		ok &= ASSERT_TRUE(dev <= rel * want, "share within the relative bound");
		if (dev / want > worst)
			worst = dev / want;
	}
	printf("# M=%u, %zu backends: worst relative share error %.4f%%\n", size, n,
	       worst * 100);
out:
	free(table);
	return ok;
}

/* 100 equal IPv4 backends at M = 65537 own 655 or 656 slots each; none empty. */
static bool test_equal_weights_v4(void)
{
	struct vipxdp_maglev_backend be[100];
	__u32 *table = table_alloc(M_DEFAULT);
	double t0, t1, t2;
	unsigned int i;
	bool ok = false;

	if (!ASSERT_TRUE(table, "malloc"))
		goto out;
	for (i = 0; i < 100; i++)
		be[i] = pool_v4(i, i);
	t0 = now_ms();
	if (!ASSERT_OK(vipxdp_maglev_build(be, 100, M_DEFAULT, table), "build"))
		goto out;
	t1 = now_ms();
	if (!check_equal_share(table, M_DEFAULT, 100, 655, 656))
		goto out;
	/* Timing only, no assertion: the first build also faults the table in. */
	t2 = now_ms();
	for (i = 0; i < 10; i++)
		vipxdp_maglev_build(be, 100, M_DEFAULT, table);
	printf("# build M=%u, 100 backends: first %.3f ms, then %.3f ms each\n", M_DEFAULT,
	       t1 - t0, (now_ms() - t2) / 10);
	ok = true;
out:
	free(table);
	return ok;
}

/* Shares follow the weights (within 1% relative, 1 slot absolute); weight 0 gets nothing. */
static bool test_weights_proportional(void)
{
	struct vipxdp_maglev_backend be[21];
	unsigned int i;
	bool ok = true;

	for (i = 0; i < 4; i++)
		be[i] = be_v4(10, 0, 0, i + 1, 80, i + 1, i);
	ok &= check_weighted(be, 4, M_DEFAULT, 0.01);

	/* 20 random weights 1..100 and one drained backend (weight 0). */
	rng_seed(0x5eed0002);
	for (i = 0; i < 20; i++)
		be[i] = be_v4(10, 1, 0, i + 1, 443, rng_range(1, 100), i);
	be[20] = be_v4(10, 1, 0, 200, 443, 0, 20);
	/*
	 * At 65537 slots a weight-1 backend's exact share is about 65 slots, so
	 * one slot of rounding is 1.5%: the one-slot bound is the real check
	 * there. The largest table gives every backend hundreds of slots.
	 */
	ok &= check_weighted(be, 21, M_DEFAULT, 0.02);
	ok &= check_weighted(be, 21, VIPXDP_MAGLEV_MAX, 0.01);
	return ok;
}

/*
 * Removing or adding one of 100 backends moves at most 1.6% of the slots on
 * average over every choice of backend, and never more than 2%.
 */
static bool test_disruption(void)
{
	struct vipxdp_maglev_backend be[101], sub[100];
	__u32 *base = table_alloc(M_DEFAULT), *t = table_alloc(M_DEFAULT);
	/*
	 * The removed backend's own 1% must move; the Maglev fill then shifts
	 * about 0.55% more as other backends take its slots. That cascade
	 * varies with the backend: measured 1.50..1.78% (mean 1.58%) for
	 * removals here, so 1.6% bounds the mean and 2% every single change.
	 */
	const size_t mean_limit = M_DEFAULT * 16 / 1000; /* 1.6% */
	const size_t max_limit = M_DEFAULT * 20 / 1000; /* 2% */
	size_t moved, max_rm = 0, max_add = 0, sum_rm = 0, sum_add = 0;
	const unsigned int nadd = 20;
	unsigned int i, k;
	bool ok = false;

	if (!ASSERT_TRUE(base && t, "malloc"))
		goto out;
	for (i = 0; i < 100; i++)
		be[i] = pool_v4(i, i);
	if (!ASSERT_OK(vipxdp_maglev_build(be, 100, M_DEFAULT, base), "build base"))
		goto out;

	/* Remove each backend in turn. */
	for (k = 0; k < 100; k++) {
		size_t n = 0;

		for (i = 0; i < 100; i++)
			if (i != k)
				sub[n++] = be[i];
		if (!ASSERT_OK(vipxdp_maglev_build(sub, n, M_DEFAULT, t), "build without one"))
			goto out;
		moved = vipxdp_maglev_diff(base, t, M_DEFAULT);
		sum_rm += moved;
		if (moved > max_rm)
			max_rm = moved;
	}
	/* Add one of 20 new backends, inside and outside the pool's range. */
	for (k = 0; k < nadd; k++) {
		be[100] = k < 10 ? pool_v4(100 + k * 37, 100) : be_v4(198, 18, 0, k, 8080, 1, 100);
		if (!ASSERT_OK(vipxdp_maglev_build(be, 101, M_DEFAULT, t), "build with one more"))
			goto out;
		moved = vipxdp_maglev_diff(base, t, M_DEFAULT);
		sum_add += moved;
		if (moved > max_add)
			max_add = moved;
	}
	printf("# remove one of 100: mean moved %.2f%%, max moved %.2f%%\n",
	       100.0 * sum_rm / 100 / M_DEFAULT, 100.0 * max_rm / M_DEFAULT);
	printf("# add one to 100: mean moved %.2f%%, max moved %.2f%%\n",
	       100.0 * sum_add / nadd / M_DEFAULT, 100.0 * max_add / M_DEFAULT);
	ok = ASSERT_LE(sum_rm / 100, mean_limit, "mean slots moved by removing one");
	ok &= ASSERT_LE(max_rm, max_limit, "most slots moved by removing one");
	ok &= ASSERT_LE(sum_add / nadd, mean_limit, "mean slots moved by adding one");
	ok &= ASSERT_LE(max_add, max_limit, "most slots moved by adding one");
out:
	free(t);
	free(base);
	return ok;
}

/* The table depends on the backend set only: shuffled input gives identical
 * bytes, and other ids only relabel the slots. */
static bool test_order_independent(void)
{
	struct vipxdp_maglev_backend be[60], tmp;
	__u32 *ref = table_alloc(M_DEFAULT), *t = table_alloc(M_DEFAULT);
	unsigned int i, round;
	bool ok = false;

	if (!ASSERT_TRUE(ref && t, "malloc"))
		goto out;
	/*
	 * Mixed families, same address on several ports, weights 0..10; ids
	 * are not in canonical order and travel with their backend.
	 */
	rng_seed(0x5eed0004);
	for (i = 0; i < 20; i++)
		be[i] = be_v4(192, 0, 2, i / 2 + 1, 80 + i % 2, rng_range(0, 10), 1000 - i);
	for (i = 20; i < 40; i++)
		be[i] = be_v6(i, 1, 8080, rng_range(0, 10), 7 * i);
	for (i = 40; i < 60; i++)
		be[i] = be_v4(198, 19, 1, i, 8080, rng_range(1, 10), 3 * i + 5000);
	if (!ASSERT_OK(vipxdp_maglev_build(be, 60, M_DEFAULT, ref), "build reference"))
		goto out;
	ok = true;
	for (round = 0; round < 8; round++) {
		for (i = 59; i > 0; i--) {
			unsigned int j = rng_next() % (i + 1);

			tmp = be[i];
			be[i] = be[j];
			be[j] = tmp;
		}
		if (!ASSERT_OK(vipxdp_maglev_build(be, 60, M_DEFAULT, t), "build shuffled")) {
			ok = false;
			break;
		}
		ok &= ASSERT_EQ(memcmp(ref, t, M_DEFAULT * sizeof(*t)), 0,
				"shuffled table identical to reference");
	}
	/* Other ids on the same backends: the same slots, relabelled. */
	for (i = 0; i < 60; i++)
		be[i].id = be[i].id * 2 + 1;
	if (!ASSERT_OK(vipxdp_maglev_build(be, 60, M_DEFAULT, t), "build relabelled")) {
		ok = false;
		goto out;
	}
	for (i = 0; i < M_DEFAULT; i++)
		if (!ASSERT_EQ(t[i], ref[i] * 2 + 1, "relabelled slot owner")) {
			ok = false;
			break;
		}
out:
	free(t);
	free(ref);
	return ok;
}

/* 100 equal IPv6 backends (2001:db8::/32) own 655 or 656 slots each. */
static bool test_equal_weights_v6(void)
{
	struct vipxdp_maglev_backend be[100];
	__u32 *table = table_alloc(M_DEFAULT);
	unsigned int i;
	bool ok = false;

	if (!ASSERT_TRUE(table, "malloc"))
		goto out;
	for (i = 0; i < 100; i++)
		be[i] = be_v6(i / 10, 0x10 + i % 10, 8080, 1, i);
	if (!ASSERT_OK(vipxdp_maglev_build(be, 100, M_DEFAULT, table), "build"))
		goto out;
	ok = check_equal_share(table, M_DEFAULT, 100, 655, 656);
out:
	free(table);
	return ok;
}

/* Bad size, duplicate backend and NONE id give -EINVAL with the table untouched;
 * an empty or all-drained set gives an all-NONE table. */
static bool test_bad_input(void)
{
	struct vipxdp_maglev_backend be[3];
	const __u32 size = 251;
	__u32 table[251];
	size_t i;
	bool ok = true;

	ok &= ASSERT_TRUE(!vipxdp_is_prime(0) && !vipxdp_is_prime(1), "0, 1 not prime");
	ok &= ASSERT_TRUE(vipxdp_is_prime(2) && vipxdp_is_prime(3), "2, 3 prime");
	ok &= ASSERT_TRUE(!vipxdp_is_prime(9) && !vipxdp_is_prime(65535), "9, 65535 not prime");
	ok &= ASSERT_TRUE(vipxdp_is_prime(65537) && vipxdp_is_prime(VIPXDP_MAGLEV_MAX),
			  "65537, MAGLEV_MAX prime");
	ok &= ASSERT_TRUE(vipxdp_is_prime(4294967291u), "largest 32-bit prime");
	ok &= ASSERT_TRUE(!vipxdp_is_prime(4294967295u), "2^32 - 1 not prime");

	be[0] = be_v4(10, 0, 0, 1, 80, 1, 0);
	be[1] = be_v4(10, 0, 0, 2, 80, 1, 1);
	be[2] = be_v4(10, 0, 0, 1, 81, 1, 2);
	memset(table, 0x5a, sizeof(table));
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, 65536, table), -EINVAL, "size not prime");
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, 253, table), -EINVAL, "size 11 * 23");
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, 5, table), -EINVAL, "prime below MIN");
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, 1048583, table), -EINVAL, "prime above MAX");
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, 0, table), -EINVAL, "size 0");

	/* Same (family, address, port) twice, even with other id and weight. */
	be[2] = be_v4(10, 0, 0, 1, 80, 5, 2);
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, size, table), -EINVAL, "duplicate backend");
	be[2].weight = 0;
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, size, table), -EINVAL,
			"duplicate of a drained backend");
	/* NONE marks empty slots; it cannot be a backend's id. */
	be[2] = be_v4(10, 0, 0, 3, 80, 1, VIPXDP_BACKEND_NONE);
	ok &= ASSERT_EQ(vipxdp_maglev_build(be, 3, size, table), -EINVAL, "id NONE");
	for (i = 0; i < size; i++)
		if (!ASSERT_EQ(table[i], 0x5a5a5a5au, "table untouched after errors")) {
			ok = false;
			break;
		}

	/* Same address bytes and port but different family: two backends. */
	be[2] = be_v6(0, 0, 80, 1, 2);
	memcpy(be[2].addr.b, be[0].addr.b, 16);
	ok &= ASSERT_OK(vipxdp_maglev_build(be, 3, size, table), "family tells backends apart");

	memset(table, 0x5a, sizeof(table));
	ok &= ASSERT_OK(vipxdp_maglev_build(NULL, 0, size, table), "no backends");
	for (i = 0; i < size; i++)
		if (!ASSERT_EQ(table[i], VIPXDP_BACKEND_NONE, "no backends: slot NONE")) {
			ok = false;
			break;
		}

	memset(table, 0x5a, sizeof(table));
	be[0].weight = be[1].weight = be[2].weight = 0;
	ok &= ASSERT_OK(vipxdp_maglev_build(be, 3, size, table), "all drained");
	for (i = 0; i < size; i++)
		if (!ASSERT_EQ(table[i], VIPXDP_BACKEND_NONE, "all drained: slot NONE")) {
			ok = false;
			break;
		}
	return ok;
}

/* FNV-1a of the table, slot values as little-endian bytes on every host. */
static __u32 table_fnv1a(const __u32 *table, __u32 size)
{
	__u32 h = 2166136261u;
	size_t i;
	int k;

	for (i = 0; i < size; i++)
		for (k = 0; k < 32; k += 8) {
			h ^= (table[i] >> k) & 0xff;
			h *= 16777619u;
		}
	return h;
}

/*
 * The algorithm is pinned: a fixed set of 10 backends at M = 251 gives a
 * recorded checksum.
 */
static bool test_golden(void)
{
	/*
	 * Every node must build bit-identical tables from the same backends, or
	 * ECMP/anycast sends a flow's packets to different backends depending on
	 * which node they reach. If this value changes, nodes running the old and
	 * the new code disagree: a mixed-version cluster breaks. Change it only
	 * for a deliberate, announced algorithm change.
	 */
	const __u32 golden = 0xe4d918b3u;
	struct vipxdp_maglev_backend be[10];
	__u32 table[251], sum;
	unsigned int i;

	for (i = 0; i < 5; i++)
		be[i] = be_v4(203, 0, 113, 10 + i, 8080, i % 3 + 1, i);
	for (i = 5; i < 10; i++)
		be[i] = be_v6(0xa, i, 443, i % 2 ? 2 : 1, i);
	if (!ASSERT_OK(vipxdp_maglev_build(be, 10, 251, table), "build"))
		return false;
	sum = table_fnv1a(table, 251);
	printf("# FNV-1a of the M=251 table: 0x%08x\n", sum);
	return ASSERT_EQ(sum, golden, "golden checksum");
}

/*
 * The flow hashes are pinned too: a flow's slot in the table must be the
 * same on every node, whatever vipxdp version it runs (the 5-tuple hash
 * and the source-address hash, seed 0x5eed, for an IPv4 and an IPv6 TCP
 * flow), and so must the IPv6 conntrack key's digest, which entries in
 * pinned maps outlive programs with.
 */
static bool test_flow_hash_golden(void)
{
	struct vipxdp_flow f4 = {}, f6 = {};
	struct vipxdp_ct_key k;
	bool ok = true;

	inet_pton(AF_INET, "198.18.0.10", &f4.saddr);
	inet_pton(AF_INET, "198.18.0.100", &f4.daddr);
	inet_pton(AF_INET6, "2001:db8:1::10", &f6.saddr);
	inet_pton(AF_INET6, "2001:db8:100::1", &f6.daddr);
	f4.sport = f6.sport = htons(40000);
	f4.dport = f6.dport = htons(80);
	f4.proto = f6.proto = 6;
	f4.family = VIPXDP_AF_INET;
	f6.family = VIPXDP_AF_INET6;
	ok &= ASSERT_EQ(vipxdp_flow_hash(&f4, 0, 0x5eed), 0x0465f2fdu, "IPv4 5-tuple hash");
	ok &= ASSERT_EQ(vipxdp_flow_hash(&f6, 0, 0x5eed), 0x4c05047cu, "IPv6 5-tuple hash");
	ok &= ASSERT_EQ(vipxdp_flow_hash(&f4, VIPXDP_SVC_F_HASH_SRC, 0x5eed), 0xdb924417u,
			"IPv4 source hash");
	ok &= ASSERT_EQ(vipxdp_flow_hash(&f6, VIPXDP_SVC_F_HASH_SRC, 0x5eed), 0x7fc34227u,
			"IPv6 source hash");
	vipxdp_ct_key_of(&f6, &k);
	ok &= ASSERT_EQ(k.a, 2601332919u, "IPv6 conntrack digest, word a");
	ok &= ASSERT_EQ(k.b, 2831287762u, "IPv6 conntrack digest, word b");
	return ok;
}

int main(void)
{
	tap_run("maglev: 100 equal IPv4 backends own 655 or 656 of 65537 slots",
		test_equal_weights_v4);
	tap_run("maglev: weights give proportional shares, weight 0 gets none",
		test_weights_proportional);
	tap_run("maglev: removing/adding one of 100 backends moves <= 1.6% (mean), <= 2% (max)",
		test_disruption);
	tap_run("maglev: shuffled input gives a byte-identical table; ids only relabel",
		test_order_independent);
	tap_run("maglev: 100 equal IPv6 backends own 655 or 656 of 65537 slots",
		test_equal_weights_v6);
	tap_run("maglev: bad size, duplicate, NONE id rejected; no backend gives all NONE",
		test_bad_input);
	tap_run("maglev: golden checksum of a fixed table (cross-version agreement)",
		test_golden);
	tap_run("hash: golden flow hashes and IPv6 conntrack digest (cross-version agreement)",
		test_flow_hash_golden);
	return tap_done();
}
