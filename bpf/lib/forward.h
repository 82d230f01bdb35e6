/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding of a rewritten packet. The kernel's FIB gives the next hop:
 * on success the data path acts as a router (TTL / hop limit decremented,
 * MACs set) and sends the frame itself, XDP_TX when the egress interface is
 * the ingress one, a devmap redirect otherwise. When the next hop's
 * neighbour entry is not resolved yet, or the FIB says the kernel must deal
 * with the packet, the rewritten packet is passed to the kernel, which then
 * resolves and forwards it (or answers with ICMP). VLAN tags stay as they
 * are. Known flows cache the FIB's answer in their conntrack entry while
 * nh_token() stays the same: for an epoch (about a second, so route and
 * neighbour changes take effect within that time), or, while the daemon
 * watches rtnetlink, until the next change it sees (at once).
 */
#ifndef VIPXDP_BPF_FORWARD_H
#define VIPXDP_BPF_FORWARD_H

#include "maps.h"
#include "parse.h"
#include "csum.h"

#define VIPXDP_AF_INET_FIB 2
#define VIPXDP_AF_INET6_FIB 10

/* TTL / hop limit check before any rewrite: 1 or 0 means the kernel answers. */
static __always_inline bool ttl_expiring(const struct l4_ptrs *p)
{
	return !p->v6 ? p->ip4->ttl <= 1 : p->ip6->hop_limit <= 1;
}

/* What a cached next hop must have been filled with to be good now, in
 * epoch epoch (struct vipxdp_route): the route generation while the
 * daemon's watch is on, else the epoch. Read before the FIB is: a change
 * after this makes the next packet's token differ. */
static __always_inline __u32 nh_token(__u32 epoch)
{
	const struct vipxdp_route *r;
	__u32 zero = 0;

	r = bpf_map_lookup_elem(&vipxdp_route, &zero);
	if (r && r->watch_until && r->watch_until >= epoch)
		return VIPXDP_NH_WATCH | r->gen;
	return epoch;
}

/* Route the rewritten packet through the FIB; fills the cache nh. */
static __always_inline int fib_next_hop(struct xdp_md *ctx, struct l4_ptrs *p, struct vipxdp_nh *nh,
					__u32 token, __u32 *ifindex, __u8 *dmac, __u8 *smac)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	if (!p->v6) {
		fib.family = VIPXDP_AF_INET_FIB;
		fib.tos = p->ip4->tos;
		fib.l4_protocol = p->ip4->protocol;
		fib.tot_len = bpf_ntohs(p->ip4->tot_len);
		fib.ipv4_src = p->ip4->saddr;
		fib.ipv4_dst = p->ip4->daddr;
	} else {
		fib.family = VIPXDP_AF_INET6_FIB;
		fib.flowinfo = *(__be32 *)p->ip6 & bpf_htonl(0x0fffffff);
		fib.l4_protocol = p->ip6->nexthdr;
		fib.tot_len = bpf_ntohs(p->ip6->payload_len) + sizeof(struct ipv6hdr);
		__builtin_memcpy(fib.ipv6_src, &p->ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &p->ip6->daddr, 16);
	}
	if (p->has_ports) {
		fib.sport = *p->sport;
		fib.dport = *p->dport;
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return VIPXDP_R_pass_no_neigh;
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return VIPXDP_R_pass_frag_needed;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return VIPXDP_R_pass_fib;
	*ifindex = fib.ifindex;
	__builtin_memcpy(dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(smac, fib.smac, ETH_ALEN);
	if (nh) {
		nh->ifindex = fib.ifindex;
		__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
		nh->epoch = token;
	}
	return -1;
}

/* Are addresses a and b the same (all four words; no branch per word)? */
static __always_inline bool addr_eq(const struct vipxdp_addr *a, const struct vipxdp_addr *b)
{
	return !((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		 (a->w[3] ^ b->w[3]));
}

/*
 * The next hop of a new flow's first packet (rewritten already) to backend
 * be (id be_id), into nh with token: from this CPU's per-backend cache
 * where it holds (struct vipxdp_be_nh), else from the FIB, whose answer is
 * then cached. nh stays empty when the FIB has no answer (forward() looks
 * up again, and gives the reason).
 */
static __always_inline void be_next_hop(struct xdp_md *ctx, struct l4_ptrs *p,
					const struct vipxdp_backend *be, __u32 be_id, __u32 token,
					struct vipxdp_nh *nh)
{
	const __u32 simple = VIPXDP_NH_WATCH | VIPXDP_ROUTE_SIMPLE;
	__u32 slot = be_id & (VIPXDP_BE_NH_SLOTS - 1), len;
	__u8 family = p->v6 ? VIPXDP_AF_INET6 : VIPXDP_AF_INET;
	struct vipxdp_be_nh *c = NULL;

	len = !p->v6 ? bpf_ntohs(p->ip4->tot_len)
		     : bpf_ntohs(p->ip6->payload_len) + sizeof(struct ipv6hdr);
	if ((token & simple) == simple) {
		c = bpf_map_lookup_elem(&vipxdp_be_nh, &slot);
		if (c && c->nh.epoch == token && c->iif == ctx->ingress_ifindex &&
		    len <= c->max_len && c->family == family && addr_eq(&c->addr, &be->addr)) {
			*nh = c->nh;
			return;
		}
	}
	if (fib_next_hop(ctx, p, NULL, 0, &nh->ifindex, nh->dmac, nh->smac) >= 0)
		return;
	nh->epoch = token;
	if (c) {
		/* The FIB passed this length; the entry had a smaller one
		 * at most, or was another key's. */
		c->addr = be->addr;
		c->family = family;
		c->iif = ctx->ingress_ifindex;
		c->max_len = len;
		c->nh = *nh;
	}
}

/* What decrementing the IPv4 TTL does to the header checksum: the TTL
 * sits in the high byte of its 16-bit word with the protocol. */
static __always_inline __u64 csum_ttl_diff(void)
{
	return csum_diff16(bpf_htons(0x0100), 0);
}

/* Send the frame, MACs and TTL already set, out of ifindex: XDP_TX or a
 * redirect. */
static __always_inline int send_via(struct xdp_md *ctx, __u32 ifindex)
{
	int rc;

	if (ifindex == ctx->ingress_ifindex)
		return VIPXDP_R_fwd_tx;
	rc = bpf_redirect_map(&vipxdp_devmap, ifindex, 0);
	if (rc != XDP_REDIRECT)
		rc = bpf_redirect(ifindex, 0);
	return rc == XDP_REDIRECT ? VIPXDP_R_fwd_redirect : VIPXDP_R_drop_error;
}

/* Send the frame, TTL already down, to next hop (ifindex, dmac) from smac:
 * MACs set, XDP_TX or a redirect. */
static __always_inline int send_to(struct xdp_md *ctx, struct ethhdr *eth, __u32 ifindex,
				   const __u8 *dmac, const __u8 *smac)
{
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return send_via(ctx, ifindex);
}

/*
 * Send the rewritten packet on. nh (may be NULL) is the next-hop cache of
 * the packet's direction in its flow's conntrack entry: used while it has
 * the current token (nh_token(); unused without nh), and refilled from the
 * FIB otherwise.
 */
/* Is the cached next hop nh good with token (nh_token())? */
static __always_inline bool nh_good(const struct vipxdp_nh *nh, __u32 token)
{
	return nh && nh->ifindex && nh->epoch == token;
}

/* The TTL (hop limit) down by one, and the IPv4 checksum with it. */
static __always_inline void ttl_down(struct l4_ptrs *p)
{
	if (!p->v6) {
		p->ip4->check = csum_apply(p->ip4->check, csum_ttl_diff());
		p->ip4->ttl--;
	} else {
		p->ip6->hop_limit--;
	}
}

/* Send the rewritten packet to the cached next hop nh (nh_good()), without
 * forward()'s copy of the MACs (which its FIB way needs). */
static __always_inline int send_cached(struct xdp_md *ctx, struct ethhdr *eth, struct l4_ptrs *p,
				       const struct vipxdp_nh *nh)
{
	ttl_down(p);
	return send_to(ctx, eth, nh->ifindex, nh->dmac, nh->smac);
}

static __always_inline int forward(struct xdp_md *ctx, struct ethhdr *eth, struct l4_ptrs *p,
				   struct vipxdp_nh *nh, __u32 token)
{
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	__u32 ifindex;
	int rc;

	if (nh_good(nh, token)) {
		ifindex = nh->ifindex;
		__builtin_memcpy(dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(smac, nh->smac, ETH_ALEN);
	} else {
		rc = fib_next_hop(ctx, p, nh, token, &ifindex, dmac, smac);
		if (rc >= 0)
			return rc;
	}
	ttl_down(p);
	return send_to(ctx, eth, ifindex, dmac, smac);
}

#endif /* VIPXDP_BPF_FORWARD_H */
