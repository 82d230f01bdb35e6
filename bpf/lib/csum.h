/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624). A rewrite collects one
 * ones'-complement difference of every changed field (old value out, new value
 * in) and applies it to each checksum that covers those fields: the IPv4
 * header checksum for addresses, the TCP/UDP checksum for addresses (through
 * the pseudo-header) and ports. All words are used as they lie in memory,
 * so no byte swapping is needed.
 */
#ifndef VIPXDP_BPF_CSUM_H
#define VIPXDP_BPF_CSUM_H

#include <linux/types.h>

static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Difference of replacing a 32-bit word. */
static __always_inline __u64 csum_diff32(__u32 from, __u32 to)
{
	return (__u64)(~from) + to;
}

static __always_inline __u64 csum_diff16(__u16 from, __u16 to)
{
	return (__u16)~from + (__u64)to;
}

/* Difference of replacing a 16-byte (IPv6) address. */
static __always_inline __u64 csum_diff_addr6(const __u32 *from, const __u32 *to)
{
	return csum_diff32(from[0], to[0]) + csum_diff32(from[1], to[1]) +
	       csum_diff32(from[2], to[2]) + csum_diff32(from[3], to[3]);
}

/* Apply a difference to a stored checksum. */
static __always_inline __u16 csum_apply(__u16 check, __u64 diff)
{
	return ~csum_fold64((__u16)~check + diff);
}

/* UDP: checksum 0 means "none" and stays 0; a computed 0 is sent as 0xffff.
 * r is the updated value of stored checksum check. */
static __always_inline __u16 csum_udp(__u16 check, __u16 r)
{
	return !check ? 0 : r ? r : 0xffff;
}

static __always_inline __u16 csum_apply_udp(__u16 check, __u64 diff)
{
	return csum_udp(check, csum_apply(check, diff));
}

/* Apply a folded (16-bit) difference: one fold is enough, as ~check +
 * diff is at most 0x1fffe. */
static __always_inline __u16 csum_apply16(__u16 check, __u16 diff)
{
	__u32 s = (__u16)~check + (__u32)diff;

	return ~(__u16)((s & 0xffff) + (s >> 16));
}

static __always_inline __u16 csum_apply16_udp(__u16 check, __u16 diff)
{
	return csum_udp(check, csum_apply16(check, diff));
}

/* Full checksum of a buffer of 16-bit words (fixed, small size). */
static __always_inline __u64 csum_add_words(const __u16 *p, int nwords)
{
	__u64 s = 0;

#pragma unroll
	for (int i = 0; i < nwords; i++)
		s += p[i];
	return s;
}

#endif /* VIPXDP_BPF_CSUM_H */
