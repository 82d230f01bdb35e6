/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounds-checked header parsing with a cursor. Each parse_* helper checks
 * that its header lies inside the frame before touching it, advances the
 * cursor, and returns the next protocol or -1 when the header is truncated
 * or inconsistent. Lengths from the packet (IHL, data offset, total length)
 * are sanity-checked before they are used for a bounds check.
 */
#ifndef VIPXDP_BPF_PARSE_H
#define VIPXDP_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define VIPXDP_VLAN_MAX 2
#define VIPXDP_IP_MF 0x2000
#define VIPXDP_IP_OFFSET 0x1fff

struct hdr_cursor {
	void *pos;
};

/* ICMP (v4) header; <linux/icmp.h> drags in libc headers. The echo layout
 * is the same for ICMPv6. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
	} un;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* ARP for IPv4 over Ethernet. */
struct arp_eth {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

/* Ethernet plus up to two 802.1Q/802.1ad tags, which stay in the frame.
 * Returns the inner EtherType (network order) or -1. */
static __always_inline int parse_eth(struct hdr_cursor *c, void *data_end, struct ethhdr **eth)
{
	struct ethhdr *e = c->pos;
	struct vlan_hdr *vh;
	__be16 proto;

	if ((void *)(e + 1) > data_end)
		return -1;
	*eth = e;
	c->pos = e + 1;
	/* One 2-byte load (struct ethhdr is packed: e->h_proto is read as
	 * two bytes). */
	proto = *(const __be16 *)((void *)e + __builtin_offsetof(struct ethhdr, h_proto));
#pragma unroll
	for (int i = 0; i < VIPXDP_VLAN_MAX; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > data_end)
			return -1;
		proto = vh->encap_proto;
		c->pos = vh + 1;
	}
	return proto;
}

/* Outcome of IP parsing beyond "next protocol". */
enum ip_parse {
	IP_OK = 0,
	IP_BAD = -1, /* truncated or inconsistent: do not trust any field */
	IP_FRAG = -2, /* well-formed fragment: addresses valid, no L4 header */
};

/* IPv4 with options. Returns IP_OK and sets *l4proto, or IP_BAD / IP_FRAG. */
static __always_inline int parse_ipv4(struct hdr_cursor *c, void *data_end, struct iphdr **iph,
				      __u8 *l4proto)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > data_end)
		return IP_BAD;
	if (ip->version != 4 || ip->ihl < 5)
		return IP_BAD;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen || (void *)ip + tot > data_end)
		return IP_BAD;
	*iph = ip;
	*l4proto = ip->protocol;
	c->pos = (void *)ip + hlen;
	if (ip->frag_off & bpf_htons(VIPXDP_IP_MF | VIPXDP_IP_OFFSET))
		return IP_FRAG;
	return IP_OK;
}

/* IPv6 without extension headers other than a fragment header, which marks
 * the packet a fragment. */
static __always_inline int parse_ipv6(struct hdr_cursor *c, void *data_end, struct ipv6hdr **ip6h,
				      __u8 *l4proto)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > data_end)
		return IP_BAD;
	if (ip6->version != 6)
		return IP_BAD;
	if ((void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
		return IP_BAD;
	*ip6h = ip6;
	*l4proto = ip6->nexthdr;
	c->pos = ip6 + 1;
	if (ip6->nexthdr == IPPROTO_FRAGMENT)
		return IP_FRAG;
	return IP_OK;
}

/* L4 header for TCP/UDP: ports and checksum must lie inside both the frame
 * and the IP payload (l4_end). Returns 0 or -1. */
static __always_inline int parse_tcp(struct hdr_cursor *c, void *data_end, void *l4_end,
				     struct tcphdr **th)
{
	struct tcphdr *t = c->pos;

	if ((void *)(t + 1) > data_end || (void *)(t + 1) > l4_end)
		return -1;
	if (t->doff < 5 || (void *)t + t->doff * 4 > l4_end)
		return -1;
	*th = t;
	return 0;
}

static __always_inline int parse_udp(struct hdr_cursor *c, void *data_end, void *l4_end,
				     struct udphdr **uh)
{
	struct udphdr *u = c->pos;
	__u16 len;

	if ((void *)(u + 1) > data_end || (void *)(u + 1) > l4_end)
		return -1;
	len = bpf_ntohs(u->len);
	if (len < sizeof(*u) || (void *)u + len > l4_end)
		return -1;
	*uh = u;
	return 0;
}

/* Where a packet's rewritable fields are. */
struct l4_ptrs {
	struct iphdr *ip4; /* set when !v6 */
	struct ipv6hdr *ip6; /* set when v6 */
	__be16 *sport; /* set when has_ports */
	__be16 *dport;
	__sum16 *check; /* set when has_csum: an L4 checksum over the pseudo-header */
	bool udp;
	bool v6; /* branch on these, not on NULL pointers: the verifier tracks them */
	bool has_ports; /* TCP, UDP; ICMP echo (sport and dport both point at the id) */
	bool has_csum; /* TCP, UDP, ICMP, ICMPv6 */
	bool csum_pseudo; /* the L4 checksum covers the addresses (all but ICMPv4) */
};

#endif /* VIPXDP_BPF_PARSE_H */
