/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow hash shared by the XDP data path and the control plane. The same
 * source compiles into both, so `vipxdp lookup` and the tests predict exactly
 * the backend the data path picks. The mixing function is Bob Jenkins'
 * lookup3 (public domain) over 32-bit words; the table index is the
 * multiply-shift range reduction ((u64)hash * size) >> 32, which needs no
 * division in the data path.
 */
#ifndef VIPXDP_HASH_H
#define VIPXDP_HASH_H

#include <stdbool.h>

#include "vipxdp_abi.h"

#ifdef __BPF__
#define VIPXDP_HASH_INLINE static __always_inline
#else
#define VIPXDP_HASH_INLINE static inline
#endif

#define VIPXDP_JHASH_INIT 0xdeadbeefu

VIPXDP_HASH_INLINE __u32 vipxdp_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* lookup3's rounds, three steps a line as in its source. */
/* clang-format off */
#define VIPXDP_JHASH_MIX(a, b, c)                                             \
	do {                                                                  \
		a -= c; a ^= vipxdp_rol32(c, 4); c += b;                      \
		b -= a; b ^= vipxdp_rol32(a, 6); a += c;                      \
		c -= b; c ^= vipxdp_rol32(b, 8); b += a;                      \
		a -= c; a ^= vipxdp_rol32(c, 16); c += b;                     \
		b -= a; b ^= vipxdp_rol32(a, 19); a += c;                     \
		c -= b; c ^= vipxdp_rol32(b, 4); b += a;                      \
	} while (0)

#define VIPXDP_JHASH_FINAL(a, b, c)                                           \
	do {                                                                  \
		c ^= b; c -= vipxdp_rol32(b, 14);                             \
		a ^= c; a -= vipxdp_rol32(c, 11);                             \
		b ^= a; b -= vipxdp_rol32(a, 25);                             \
		c ^= b; c -= vipxdp_rol32(b, 16);                             \
		a ^= c; a -= vipxdp_rol32(c, 4);                              \
		b ^= a; b -= vipxdp_rol32(a, 14);                             \
		c ^= b; c -= vipxdp_rol32(b, 24);                             \
	} while (0)
/* clang-format on */

/* Hash of a 16-byte address: the source-IP-only (persistence) hash. */
VIPXDP_HASH_INLINE __u32 vipxdp_hash_addr(const struct vipxdp_addr *a, __u32 seed)
{
	__u32 x = VIPXDP_JHASH_INIT + (4 << 2) + seed;
	__u32 y = x, z = x;

	x += a->w[0];
	y += a->w[1];
	z += a->w[2];
	VIPXDP_JHASH_MIX(x, y, z);
	x += a->w[3];
	VIPXDP_JHASH_FINAL(x, y, z);
	return z;
}

/* lookup3's first two rounds over a flow's addresses (words 0-5 of the
 * eight), from the state in *a, *b, *c; words 6 and 7 are left to the
 * caller, with what else it hashes. */
VIPXDP_HASH_INLINE void vipxdp_jhash_addrs(const struct vipxdp_flow *f, __u32 *pa, __u32 *pb,
					   __u32 *pc)
{
	__u32 a = *pa, b = *pb, c = *pc;

	a += f->saddr.w[0];
	b += f->saddr.w[1];
	c += f->saddr.w[2];
	VIPXDP_JHASH_MIX(a, b, c);
	a += f->saddr.w[3];
	b += f->daddr.w[0];
	c += f->daddr.w[1];
	VIPXDP_JHASH_MIX(a, b, c);
	*pa = a;
	*pb = b;
	*pc = c;
}

/* Hash of the 5-tuple: source and destination address, both ports, protocol. */
VIPXDP_HASH_INLINE __u32 vipxdp_hash_5tuple(const struct vipxdp_flow *f, __u32 seed)
{
	__u32 a = VIPXDP_JHASH_INIT + (10 << 2) + seed;
	__u32 b = a, c = a;

	vipxdp_jhash_addrs(f, &a, &b, &c);
	a += f->daddr.w[2];
	b += f->daddr.w[3];
	c += ((__u32)f->sport << 16) | f->dport;
	VIPXDP_JHASH_MIX(a, b, c);
	a += f->proto;
	VIPXDP_JHASH_FINAL(a, b, c);
	return c;
}

/* The flow hash a service uses for a flow. */
VIPXDP_HASH_INLINE __u32 vipxdp_flow_hash(const struct vipxdp_flow *f, __u32 svc_flags, __u32 seed)
{
	if (svc_flags & VIPXDP_SVC_F_HASH_SRC)
		return vipxdp_hash_addr(&f->saddr, seed);
	return vipxdp_hash_5tuple(f, seed);
}

/* The seed of conntrack keys' IPv6 digests. A constant: entries outlive
 * programs and settings. (Flows that agree on their digest cannot take each
 * other's entry: see struct vipxdp_ct_key.) */
#define VIPXDP_CT_DIGEST_SEED 0x63743664u

/* A conntrack key of words a and b and flow f's ports, protocol, family. */
VIPXDP_HASH_INLINE void vipxdp_ct_key_set(struct vipxdp_ct_key *k, __u32 a, __u32 b,
					  const struct vipxdp_flow *f)
{
	k->a = a;
	k->b = b;
	k->sport = f->sport;
	k->dport = f->dport;
	k->proto = f->proto;
	k->family = f->family;
	k->pad[0] = k->pad[1] = 0;
}

/* An IPv6 flow's conntrack key: its two addresses, eight words, digested
 * into two (lookup3's two final words), then its ports and protocol. */
VIPXDP_HASH_INLINE void vipxdp_ct_key6(const struct vipxdp_flow *f, struct vipxdp_ct_key *k)
{
	__u32 a = VIPXDP_JHASH_INIT + (8 << 2) + VIPXDP_CT_DIGEST_SEED;
	__u32 b = a, c = a;

	vipxdp_jhash_addrs(f, &a, &b, &c);
	a += f->daddr.w[2];
	b += f->daddr.w[3];
	VIPXDP_JHASH_FINAL(a, b, c);
	vipxdp_ct_key_set(k, c, b, f);
}

/* An IPv4 flow's conntrack key: the flow itself. */
VIPXDP_HASH_INLINE void vipxdp_ct_key4(const struct vipxdp_flow *f, struct vipxdp_ct_key *k)
{
	vipxdp_ct_key_set(k, f->saddr.w[0], f->daddr.w[0], f);
}

/* A flow's conntrack key (struct vipxdp_ct_key). */
VIPXDP_HASH_INLINE void vipxdp_ct_key_of(const struct vipxdp_flow *f, struct vipxdp_ct_key *k)
{
	if (f->family == VIPXDP_AF_INET)
		vipxdp_ct_key4(f, k);
	else
		vipxdp_ct_key6(f, k);
}

/* Is entry ct (found under flow f's key) f's own? Always for IPv4; for
 * IPv6, when it holds f's addresses. */
VIPXDP_HASH_INLINE bool vipxdp_ct_owns(const struct vipxdp_ct *ct, const struct vipxdp_flow *f)
{
	__u32 d = 0;

	if (f->family == VIPXDP_AF_INET)
		return true;
	for (int i = 0; i < 4; i++)
		d |= (ct->ksaddr.w[i] ^ f->saddr.w[i]) | (ct->kdaddr.w[i] ^ f->daddr.w[i]);
	return !d;
}

/* Maglev slot for a hash in a table of `size` entries. */
VIPXDP_HASH_INLINE __u32 vipxdp_table_slot(__u32 hash, __u32 size)
{
	return (__u32)(((__u64)hash * size) >> 32);
}

/* Bit index in struct vipxdp_filter of an address whose four words XOR
 * to x (Fibonacci hashing). */
VIPXDP_HASH_INLINE __u32 vipxdp_filter_bit_x(__u32 x)
{
	return (x * 0x9e3779b1u) >> 16;
}

/* An address's four words XORed: what vipxdp_filter_bit_x() takes (an
 * IPv4 address's other words are zero). */
VIPXDP_HASH_INLINE __u32 vipxdp_addr_fold(const struct vipxdp_addr *a)
{
	return a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3];
}

/* Bit index of an address in struct vipxdp_filter. */
VIPXDP_HASH_INLINE __u32 vipxdp_filter_bit(const struct vipxdp_addr *a)
{
	return vipxdp_filter_bit_x(vipxdp_addr_fold(a));
}

#endif /* VIPXDP_HASH_H */
