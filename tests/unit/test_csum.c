/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of bpf/lib/csum.h, the data path's incremental checksum
 * updates (RFC 1624), compiled for the host: the flow cache's one-fold
 * csum_apply16() against the general csum_apply() for every checksum value,
 * and csum_apply() itself against a checksum recomputed from scratch.
 */
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/tap.h"

#pragma GCC diagnostic ignored "-Wunknown-pragmas" /* csum.h's #pragma unroll */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "../../bpf/lib/csum.h"

/* Differences to try: the edges and a spread of others. */
static int diffs(__u16 *d, int max)
{
	static const __u16 edge[] = {0, 1, 2, 0x7fff, 0x8000, 0xfffe, 0xffff};
	__u32 x = 0x12345679;
	int n = 0;

	for (unsigned int i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		d[n++] = edge[i];
	while (n < max) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[n++] = (__u16)x;
	}
	return n;
}

/* For every stored checksum and every difference: the same result. */
static bool test_apply16_equals_apply(void)
{
	__u16 d[512];
	int n = diffs(d, 512);

	for (__u32 check = 0; check <= 0xffff; check++) {
		for (int i = 0; i < n; i++) {
			if (csum_apply16(check, d[i]) == csum_apply(check, d[i]) &&
			    csum_apply16_udp(check, d[i]) == csum_apply_udp(check, d[i]))
				continue;
			printf("# check 0x%04x diff 0x%04x\n", check, d[i]);
			ASSERT_EQ(csum_apply16(check, d[i]), csum_apply(check, d[i]), "TCP/IP");
			ASSERT_EQ(csum_apply16_udp(check, d[i]), csum_apply_udp(check, d[i]),
				  "UDP");
			return false;
		}
	}
	return true;
}

/* Ones' complement checksum of n 16-bit words. */
static __u16 full_csum(const __u16 *w, int n)
{
	__u32 s = 0;

	for (int i = 0; i < n; i++)
		s += w[i];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

/* Rewriting a 32-bit word of a buffer and applying its difference gives the
 * checksum of the rewritten buffer, up to ones' complement's two zeros
 * (0x0000 and 0xffff). */
static bool test_apply_matches_recompute(void)
{
	__u16 buf[10], check, want, got;
	__u32 x = 0x9e3779b9;

	for (int round = 0; round < 200000; round++) {
		__u32 from, to;

		for (int i = 0; i < 10; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (__u16)x;
		}
		buf[9] |= 1; /* never all zero */
		check = full_csum(buf, 10);
		memcpy(&from, &buf[2], 4);
		to = x * 2654435761u;
		memcpy(&buf[2], &to, 4);
		want = full_csum(buf, 10);
		got = csum_apply16(check, csum_fold64(csum_diff32(from, to)));
		if (got == want || (got == 0xffff && want == 0) || (got == 0 && want == 0xffff))
			continue;
		printf("# round %d: from 0x%08x to 0x%08x\n", round, from, to);
		ASSERT_EQ(got, want, "incremental vs recomputed");
		return false;
	}
	return true;
}

int main(void)
{
	tap_run("csum: csum_apply16 (one fold) equals csum_apply for every checksum",
		test_apply16_equals_apply);
	tap_run("csum: a rewritten word's difference gives the recomputed checksum",
		test_apply_matches_recompute);
	return tap_done();
}
