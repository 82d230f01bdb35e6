/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ARP and NDP responder. A request for a VIP that has ARP/NDP enabled is
 * turned into the reply in place and sent back out of the receiving
 * interface (XDP_TX), with that interface's MAC as the answer. Requests for
 * other addresses, ARP replies, gratuitous ARP and every other ICMPv6 message
 * go to the kernel untouched.
 */
#ifndef VIPXDP_BPF_NEIGH_H
#define VIPXDP_BPF_NEIGH_H

#include "maps.h"
#include "parse.h"
#include "csum.h"

#define ARPOP_REQ 1
#define ARPOP_REP 2
#define ARPHRD_ETH 1
#define NDP_NS 135
#define NDP_NA 136
#define NDP_OPT_SLLA 1
#define NDP_OPT_TLLA 2
#define NA_FLAG_SOLICITED 0x40
#define NA_FLAG_OVERRIDE 0x20

static __always_inline const struct vipxdp_vip *vip_lookup4(__u32 addr)
{
	struct vipxdp_vip_key k = { .family = VIPXDP_AF_INET };

	k.addr.w[0] = addr;
	return bpf_map_lookup_elem(&vipxdp_vip, &k);
}

static __always_inline const struct vipxdp_vip *vip_lookup6(const struct in6_addr *a)
{
	struct vipxdp_vip_key k = { .family = VIPXDP_AF_INET6 };

	__builtin_memcpy(&k.addr, a, 16);
	return bpf_map_lookup_elem(&vipxdp_vip, &k);
}

static __always_inline int handle_arp(struct xdp_md *ctx, struct hdr_cursor *c, void *data_end,
				      struct ethhdr *eth)
{
	struct arp_eth *arp = c->pos;
	const struct vipxdp_iface *ifc;
	const struct vipxdp_vip *vip;
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 spa, tpa;

	if ((void *)(arp + 1) > data_end)
		return VIPXDP_R_pass_malformed;
	if (arp->hrd != bpf_htons(ARPHRD_ETH) || arp->pro != bpf_htons(ETH_P_IP) ||
	    arp->hln != ETH_ALEN || arp->pln != 4 || arp->op != bpf_htons(ARPOP_REQ))
		return VIPXDP_R_pass_arp;
	__builtin_memcpy(&spa, arp->spa, 4);
	__builtin_memcpy(&tpa, arp->tpa, 4);
	if (spa == tpa) /* gratuitous */
		return VIPXDP_R_pass_arp;
	vip = vip_lookup4(tpa);
	if (!vip || !(vip->flags & VIPXDP_VIP_F_ARP))
		return VIPXDP_R_pass_arp;
	ifc = bpf_map_lookup_elem(&vipxdp_ifaces, &ifindex);
	if (!ifc)
		return VIPXDP_R_pass_arp;

	arp->op = bpf_htons(ARPOP_REP);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->sha, ifc->mac, ETH_ALEN);
	__builtin_memcpy(arp->tpa, &spa, 4);
	__builtin_memcpy(arp->spa, &tpa, 4);
	__builtin_memcpy(eth->h_dest, arp->tha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ifc->mac, ETH_ALEN);
	return VIPXDP_R_arp_reply;
}

/* The neighbour advertisement we send: ICMPv6 header, target, one option. */
struct ndp_na {
	__u8 type;
	__u8 code;
	__sum16 check;
	__u8 flags;
	__u8 reserved[3];
	struct in6_addr target;
	__u8 opt_type;
	__u8 opt_len;
	__u8 opt_mac[ETH_ALEN];
};
_Static_assert(sizeof(struct ndp_na) == 32, "ndp_na size");

/*
 * Answer a neighbour solicitation for a VIP. The frame is resized to exactly
 * L2 + IPv6 + 32 bytes (bpf_xdp_adjust_tail) and rebuilt in place: the
 * solicitation's options are not kept. Solicitations from the unspecified
 * address (duplicate address detection) get an unsolicited advertisement to
 * all nodes, as RFC 4861 7.2.4 asks.
 */
static __always_inline int handle_ns(struct xdp_md *ctx, __u64 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct vipxdp_iface *ifc;
	const struct vipxdp_vip *vip;
	struct ipv6hdr *ip6;
	struct ethhdr *eth;
	struct ndp_na *na;
	struct in6_addr target, src;
	__u32 ifindex = ctx->ingress_ifindex;
	__u8 peer_mac[ETH_ALEN];
	bool dad;
	__u64 sum;
	int delta;

	if (l3_off > ETH_HLEN + VIPXDP_VLAN_MAX * sizeof(struct vlan_hdr))
		return VIPXDP_R_pass_malformed;
	eth = data;
	ip6 = data + l3_off;
	na = (void *)(ip6 + 1);
	/* The solicitation is at least as long as the 24 bytes before options. */
	if ((void *)na + 24 > data_end)
		return VIPXDP_R_pass_malformed;
	if (ip6->hop_limit != 255 || na->code != 0 || bpf_ntohs(ip6->payload_len) < 24)
		return VIPXDP_R_pass_icmp6;
	vip = vip_lookup6(&na->target);
	if (!vip || !(vip->flags & VIPXDP_VIP_F_ARP))
		return VIPXDP_R_pass_icmp6;
	ifc = bpf_map_lookup_elem(&vipxdp_ifaces, &ifindex);
	if (!ifc)
		return VIPXDP_R_pass_icmp6;

	target = na->target;
	src = ip6->saddr;
	dad = !(src.in6_u.u6_addr32[0] | src.in6_u.u6_addr32[1] | src.in6_u.u6_addr32[2] |
		src.in6_u.u6_addr32[3]);
	__builtin_memcpy(peer_mac, eth->h_source, ETH_ALEN);

	delta = (int)(l3_off + sizeof(*ip6) + sizeof(*na)) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return VIPXDP_R_drop_error;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l3_off > ETH_HLEN + VIPXDP_VLAN_MAX * sizeof(struct vlan_hdr))
		return VIPXDP_R_drop_error;
	eth = data;
	ip6 = data + l3_off;
	na = (void *)(ip6 + 1);
	if ((void *)(eth + 1) > data_end || (void *)(na + 1) > data_end)
		return VIPXDP_R_drop_error;

	if (dad) {
		__u8 all_nodes_mac[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };

		__builtin_memcpy(eth->h_dest, all_nodes_mac, ETH_ALEN);
		__builtin_memset(&ip6->daddr, 0, sizeof(ip6->daddr));
		ip6->daddr.in6_u.u6_addr8[0] = 0xff;
		ip6->daddr.in6_u.u6_addr8[1] = 0x02;
		ip6->daddr.in6_u.u6_addr8[15] = 0x01;
	} else {
		__builtin_memcpy(eth->h_dest, peer_mac, ETH_ALEN);
		ip6->daddr = src;
	}
	__builtin_memcpy(eth->h_source, ifc->mac, ETH_ALEN);
	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, class 0, flow 0 */
	ip6->payload_len = bpf_htons(sizeof(*na));
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	ip6->saddr = target;

	na->type = NDP_NA;
	na->code = 0;
	na->check = 0;
	na->flags = dad ? NA_FLAG_OVERRIDE : (NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE);
	na->reserved[0] = na->reserved[1] = na->reserved[2] = 0;
	na->target = target;
	na->opt_type = NDP_OPT_TLLA;
	na->opt_len = 1;
	__builtin_memcpy(na->opt_mac, ifc->mac, ETH_ALEN);

	/* Pseudo-header (addresses, length, next header) plus the message. */
	sum = csum_add_words((const __u16 *)&ip6->saddr, 16);
	sum += bpf_htons(sizeof(*na)) + bpf_htons(IPPROTO_ICMPV6);
	sum += csum_add_words((const __u16 *)na, sizeof(*na) / 2);
	na->check = ~csum_fold64(sum);
	return VIPXDP_R_ndp_reply;
}

#endif /* VIPXDP_BPF_NEIGH_H */
