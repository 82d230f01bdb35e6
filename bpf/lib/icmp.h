/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about translated flows, so that path MTU discovery and
 * traceroute work through every NAT type: IPv4 destination unreachable
 * (every code, fragmentation needed included) and time exceeded; ICMPv6
 * destination unreachable, packet too big and time exceeded.
 *
 * An error quotes the packet that caused it: its IP header (IPv4 with
 * options, IPv6 without extension headers) and at least 8 bytes of its L4
 * header, which hold the ports of TCP and UDP and the identifier of an ICMP
 * echo. The quoted packet is one the data path translated on its way out, so
 * its tuple reversed (source and destination swapped, ports too; an echo
 * keyed as parse_echo keys it, then reversed) is the conntrack key of the
 * direction the error itself travels, and that entry E says what to undo:
 *   E DNAT: the error goes to E.daddr (outer destination) and the quoted
 *           packet came from E.daddr:E.dport (quoted source);
 *   E SNAT: the quoted packet went to E.saddr:E.sport (quoted destination),
 *           and when the error comes from the far end itself (outer source =
 *           old quoted destination) it comes from E.saddr.
 * Elastic IPs have no conntrack: the same reversed tuple is looked up in
 * vipxdp_eip as eip_lookup() does for a packet (an IN entry for the quoted
 * source acts as DNAT, an OUT entry for the quoted destination as SNAT,
 * ports kept). Conntrack first, as for any packet.
 *
 * The entry counts while its flow lives (ct_stale(), as for every packet);
 * an error does not refresh it. Errors pass the address pre-filter
 * (icmp_is_error()), since their own addresses need not be ours: the
 * reversed tuple goes through the same pre-filter instead.
 *
 * An error is only taken for a flow when it is addressed to the sender of
 * the quoted packet (outer destination = quoted source), the quoted packet
 * is of the error's family and not a later fragment, and its 8 L4 bytes are
 * inside both the frame and the outer IP length. Anything else (unknown
 * flow, truncated quote, other ICMP types) goes on through the ordinary path
 * untouched by this file, exactly as before.
 *
 * Checksums, all incremental: the outer IPv4 header; the ICMP checksum over
 * the whole message, which changes with every quoted byte written (quoted
 * addresses, ports and identifier, and the quoted checksum fields
 * themselves), plus for ICMPv6 the outer addresses in its pseudo-header; the
 * quoted IPv4 header checksum; the quoted TCP/UDP/ICMP checksum where the
 * quote holds it (UDP and ICMP: always within 8 bytes; TCP: bytes 16-17,
 * often cut off). A quoted UDP checksum 0 stays 0.
 *
 * Everything is checked and looked up before the first write. The TTL rule
 * and forwarding are those of every translated packet; errors count under
 * the forwarding reasons, not in the service counters. Errors the kernel of
 * this host sends (e.g. about a translated packet it forwards for us) leave
 * through its stack, not through XDP, and are not translated.
 */
#ifndef VIPXDP_BPF_ICMP_H
#define VIPXDP_BPF_ICMP_H

#include "maps.h"
#include "parse.h"
#include "lb.h"
#include "forward.h"
#include "eip.h"

#define VIPXDP_ICMP_ECHOREPLY 0
#define VIPXDP_ICMP_DEST_UNREACH 3
#define VIPXDP_ICMP_ECHO 8
#define VIPXDP_ICMP_TIME_EXCEEDED 11

/* The address pre-filter bit of an address in one half of the filter. */
static __always_inline bool icmp_filter_hit(const __u64 *half, const struct vipxdp_addr *a)
{
	return filter_hit(half, vipxdp_filter_bit(a));
}

static __always_inline bool addr6_eq(const __u32 *a, const __u32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

/*
 * Is this an ICMP/ICMPv6 error of a type translated here? Asked before the
 * address pre-filter, since an error's own addresses need not be ours when
 * those of the packet it quotes are.
 */
static __always_inline bool icmp_is_error(void *l4, void *data_end, __u8 l4proto)
{
	struct icmphdr *ic = l4;

	if (l4proto != IPPROTO_ICMP && l4proto != IPPROTO_ICMPV6)
		return false;
	if ((void *)(ic + 1) > data_end)
		return false;
	if (l4proto == IPPROTO_ICMP)
		return ic->type == VIPXDP_ICMP_DEST_UNREACH ||
		       ic->type == VIPXDP_ICMP_TIME_EXCEEDED;
	return ic->type == ICMPV6_DEST_UNREACH || ic->type == ICMPV6_PKT_TOOBIG ||
	       ic->type == ICMPV6_TIME_EXCEED;
}

/* The shape of a quoted packet, as icmp_quote_key() finds it. */
#define ICMPQ_OFF 0xff /* offset of the quoted L4 header from the ICMP header */
#define ICMPQ_CSUM 0x100 /* the quote holds the quoted L4 checksum */
#define ICMPQ_UDP 0x200
#define ICMPQ_ECHO 0x400 /* ICMP/ICMPv6 echo: the identifier is both ports */

/* Where the fields of a quoted packet are, once located and bounds-checked. */
struct icmp_quote {
	void *ip; /* IPv4 or IPv6 header */
	__be16 *sport, *dport; /* echo: both are the identifier */
	__sum16 *check; /* L4 checksum, valid when has_csum */
	bool v6;
	bool has_csum;
	bool udp; /* a UDP checksum: 0 stays 0 */
	bool pseudo; /* the L4 checksum covers the addresses (all but ICMPv4) */
};

/*
 * Write addr:port as the quoted packet's destination (dst) or source, keep
 * its IPv4 header checksum and its L4 checksum (where the quote holds it)
 * right, and return the change of the sum of the quoted bytes, checksum
 * fields included: what the enclosing ICMP checksum must take.
 */
static __always_inline __u64 quote_set(const struct icmp_quote *q, bool dst,
				       const struct vipxdp_addr *addr, __be16 port)
{
	__be16 *portp = dst ? q->dport : q->sport;
	__u64 da, dp, d;
	__u16 old;

	if (!q->v6) {
		struct iphdr *ip4 = q->ip;
		__be32 *a = dst ? &ip4->daddr : &ip4->saddr;

		da = csum_diff32(*a, addr->w[0]);
		*a = addr->w[0];
		old = ip4->check;
		ip4->check = csum_apply(old, da);
		d = da + csum_diff16(old, ip4->check);
	} else {
		struct ipv6hdr *ip6 = q->ip;
		__u32 *a = dst ? ip6->daddr.in6_u.u6_addr32 : ip6->saddr.in6_u.u6_addr32;

		da = csum_diff_addr6(a, addr->w);
		a[0] = addr->w[0];
		a[1] = addr->w[1];
		a[2] = addr->w[2];
		a[3] = addr->w[3];
		d = da;
	}
	dp = csum_diff16(*portp, port);
	*portp = port;
	d += dp;
	if (q->has_csum) {
		if (!q->pseudo)
			da = 0;
		old = *q->check;
		if (q->udp)
			*q->check = csum_apply_udp(old, da + dp);
		else
			*q->check = csum_apply(old, da + dp);
		d += csum_diff16(old, *q->check);
	}
	return d;
}

/*
 * Check an ICMP/ICMPv6 error (ic: its header; outer: its IP header, as
 * parsed) and its quote, and fill k with the quoted tuple reversed. Returns
 * the quote's shape (ICMPQ_*), or -1 when it is not an error this file
 * translates.
 */
static __always_inline int icmp_quote_key(struct icmphdr *ic, void *data_end, void *l4_end,
					  const struct l4_ptrs *outer, struct vipxdp_flow *k)
{
	struct icmphdr *ie;
	__u8 iproto, echo_proto;
	__be16 *ports;
	void *ql4;
	int shape;

	if ((void *)(ic + 1) > data_end || (void *)(ic + 1) > l4_end)
		return -1;
	if (!outer->v6) {
		struct iphdr *ip = (void *)(ic + 1);

		if (ic->type != VIPXDP_ICMP_DEST_UNREACH && ic->type != VIPXDP_ICMP_TIME_EXCEEDED)
			return -1;
		if ((void *)(ip + 1) > data_end || (void *)(ip + 1) > l4_end)
			return -1;
		if (ip->version != 4 || ip->ihl < 5 || (ip->frag_off & bpf_htons(VIPXDP_IP_OFFSET)))
			return -1;
		if (ip->saddr != outer->ip4->daddr)
			return -1; /* not addressed to the quoted packet's sender */
		iproto = ip->protocol;
		echo_proto = IPPROTO_ICMP;
		shape = sizeof(*ic) + ip->ihl * 4; /* offset of the quoted L4 header */
		ql4 = (void *)ic + shape;
		k->family = VIPXDP_AF_INET;
		k->saddr.w[0] = ip->daddr;
		k->daddr.w[0] = ip->saddr;
	} else {
		struct ipv6hdr *ip6 = (void *)(ic + 1);

		if (ic->type != ICMPV6_DEST_UNREACH && ic->type != ICMPV6_PKT_TOOBIG &&
		    ic->type != ICMPV6_TIME_EXCEED)
			return -1;
		if ((void *)(ip6 + 1) > data_end || (void *)(ip6 + 1) > l4_end)
			return -1;
		if (ip6->version != 6)
			return -1;
		if (!addr6_eq(ip6->saddr.in6_u.u6_addr32, outer->ip6->daddr.in6_u.u6_addr32))
			return -1; /* not addressed to the quoted packet's sender */
		iproto = ip6->nexthdr;
		echo_proto = IPPROTO_ICMPV6;
		shape = sizeof(*ic) + sizeof(*ip6);
		ql4 = (void *)ic + shape;
		k->family = VIPXDP_AF_INET6;
		__builtin_memcpy(&k->saddr, &ip6->daddr, 16);
		__builtin_memcpy(&k->daddr, &ip6->saddr, 16);
	}
	/* 8 bytes of the quoted L4 header: ports, UDP and ICMP checksums. */
	if (ql4 + 8 > data_end || ql4 + 8 > l4_end)
		return -1;
	ports = ql4;
	k->proto = iproto;
	if (iproto == IPPROTO_TCP || iproto == IPPROTO_UDP) {
		k->sport = ports[1];
		k->dport = ports[0];
		if (iproto == IPPROTO_UDP)
			return shape | ICMPQ_UDP | ICMPQ_CSUM;
		if (ql4 + 18 <= data_end && ql4 + 18 <= l4_end)
			return shape | ICMPQ_CSUM;
		return shape;
	}
	if (iproto != echo_proto)
		return -1;
	ie = ql4;
	if (ie->code)
		return -1;
	/* parse_echo keys a request (id, 0) and a reply (0, id); reversed. */
	if (ie->type == (!outer->v6 ? VIPXDP_ICMP_ECHO : ICMPV6_ECHO_REQUEST))
		k->dport = ie->un.echo.id;
	else if (ie->type == (!outer->v6 ? VIPXDP_ICMP_ECHOREPLY : ICMPV6_ECHO_REPLY))
		k->sport = ie->un.echo.id;
	else
		return -1;
	return shape | ICMPQ_ECHO | ICMPQ_CSUM;
}

/*
 * An ICMP/ICMPv6 message (l4: its header; outer: the packet's pointers, as
 * parsed) that may be an error about a translated flow. Returns the
 * packet's reason once translated (or pass_ttl), or -1, with nothing
 * written, when it is not one: the caller then goes on as before. The flow
 * is found first and the fields to write are located afterwards, so that
 * few values live across the map lookups (the program's stack is nearly
 * full).
 */
static __always_inline int icmp_error(struct xdp_md *ctx, struct ethhdr *eth, void *l4,
				      void *data_end, void *l4_end, struct l4_ptrs *outer)
{
	const struct vipxdp_addr *to_d = NULL, *to_s = NULL;
	const struct vipxdp_filter *filt;
	const struct vipxdp_cfg *cfg;
	const struct vipxdp_eip *eip;
	struct icmphdr *ic = l4;
	struct vipxdp_flow k = {};
	struct vipxdp_flow *fk = NULL;
	struct vipxdp_ct *ct;
	bool maybe_vip, maybe_be, snat_on, src_match, keep_ports = false;
	struct icmp_quote q = {};
	__be16 to_dport = 0, to_sport = 0;
	__u32 zero = 0, now, flags = 0;
	__u64 diff = 0;
	void *ql4;
	int shape;

	shape = icmp_quote_key(ic, data_end, l4_end, outer, &k);
	if (shape < 0)
		return -1;

	/* The reversed tuple must pass the address pre-filter, as every
	 * conntrack key and elastic IP does. */
	filt = bpf_map_lookup_elem(&vipxdp_filter, &zero);
	if (!filt)
		return -1;
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	snat_on = cfg && (cfg->flags & VIPXDP_CFG_F_SNAT);
	maybe_vip = icmp_filter_hit(filt->vip, &k.daddr);
	maybe_be = icmp_filter_hit(filt->backend, &k.saddr);
	if (!maybe_vip && !maybe_be && !snat_on)
		return -1;

	now = ct_epoch();
	ct = ct_get(&k);
	if (ct && !ct_stale(&k, ct, now, cfg)) {
		flags = ct->flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_SNAT);
		to_d = &ct->daddr;
		to_dport = ct->dport;
		to_s = &ct->saddr;
		to_sport = ct->sport;
	} else if (maybe_be && ct_find_both(&k, now, cfg) && ct_both(&fk) && fk) {
		/* A one-entry DNAT flow: E is its reply direction, which
		 * gives the backend's replies the VIP:port (the destination
		 * of the flow's key) as source. */
		flags = VIPXDP_CT_F_SNAT;
		to_s = &fk->daddr;
		to_sport = fk->dport;
	} else if ((eip = eip_lookup(&k, maybe_vip, maybe_be))) {
		/* An IN entry for the quoted source, an OUT one for its
		 * destination; ports (echo: the identifier) stay. */
		keep_ports = true;
		if (eip->dir == VIPXDP_EIP_IN) {
			flags = VIPXDP_CT_F_DNAT;
			to_d = &eip->to;
		} else {
			flags = VIPXDP_CT_F_SNAT;
			to_s = &eip->to;
		}
	}
	if (!flags)
		return -1;

	/* Locate the fields; icmp_quote_key() checked them, but the verifier
	 * wants every pointer checked again. Nothing is written before. */
	data_end = (void *)(long)ctx->data_end;
	ql4 = (void *)ic + (shape & ICMPQ_OFF);
	q.ip = ic + 1;
	q.v6 = outer->v6;
	q.pseudo = true;
	if (shape & ICMPQ_ECHO) {
		q.sport = ql4 + 4;
		q.dport = q.sport;
		q.check = ql4 + 2;
		q.has_csum = true;
		q.pseudo = q.v6; /* ICMPv4's checksum leaves out the addresses */
	} else {
		q.sport = ql4;
		q.dport = ql4 + 2;
		q.udp = shape & ICMPQ_UDP;
		q.check = ql4 + (q.udp ? 6 : 16);
		q.has_csum = shape & ICMPQ_CSUM;
	}
	if (q.ip + (q.v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) > data_end ||
	    (void *)(q.sport + 1) > data_end || (void *)(q.dport + 1) > data_end)
		return -1;
	if (q.has_csum && (void *)(q.check + 1) > data_end)
		return -1;
	if (keep_ports) {
		to_dport = *q.sport;
		to_sport = *q.dport;
	}

	/* From the far end itself? (Compared before anything is written.) */
	if (!outer->v6)
		src_match = outer->ip4->saddr == ((struct iphdr *)q.ip)->daddr;
	else
		src_match = addr6_eq(outer->ip6->saddr.in6_u.u6_addr32,
				     ((struct ipv6hdr *)q.ip)->daddr.in6_u.u6_addr32);
	if (ttl_expiring(outer))
		return VIPXDP_R_pass_ttl;

	/* The outer addresses (no ports; the checksum over them is ICMPv6's,
	 * ICMPv4's leaves them out), then the quote. */
	outer->has_ports = false;
	outer->check = &ic->checksum;
	outer->has_csum = outer->v6;
	if (flags & VIPXDP_CT_F_DNAT)
		rewrite(outer, true, to_d, 0);
	if ((flags & VIPXDP_CT_F_SNAT) && src_match)
		rewrite(outer, false, to_s, 0);
	if (flags & VIPXDP_CT_F_DNAT)
		diff += quote_set(&q, false, to_d, to_dport);
	if (flags & VIPXDP_CT_F_SNAT)
		diff += quote_set(&q, true, to_s, to_sport);
	ic->checksum = csum_apply(ic->checksum, diff);
	return forward(ctx, eth, outer, NULL, now);
}

#endif /* VIPXDP_BPF_ICMP_H */
