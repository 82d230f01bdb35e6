/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-packet path, in order: parse L2 (VLAN tags kept), answer ARP/NDP
 * for VIPs, parse IPv4/IPv6 and TCP/UDP, drop out early when the address
 * pre-filter says neither address can be ours, translate a known flow
 * (conntrack, either direction) or a new flow of a service, forward. ICMP
 * errors about a translated flow are translated with it (icmp.h).
 * Returns the reason the packet ends with;
 * the entry point turns it into the XDP verdict and counts it.
 *
 * Malformed-packet policy:
 * - L2/L3 header truncated or inconsistent (IHL < 5, total length beyond the
 *   frame or below the header, wrong version): passed to the kernel
 *   untouched (pass_malformed); the kernel validates and drops.
 * - IPv4 options are parsed over; such packets are translated normally.
 * - Fragments (IPv4 MF/offset, IPv6 fragment header): dropped when the
 *   destination is a VIP (drop_frag), since only the first fragment carries
 *   ports; passed untouched otherwise (pass_frag).
 * - TCP/UDP header truncated or inconsistent (data offset < 5, UDP length
 *   wrong): dropped when the destination is a VIP (drop_malformed), passed
 *   untouched otherwise (pass_no_service when the address pre-filter already
 *   says the packet is not ours, pass_malformed when it might be).
 * - IPv6 extension headers other than fragment: not parsed, so such packets
 *   match no service and pass untouched.
 * - A packet is only written to once every check has passed: no verdict
 *   leaves a half-rewritten packet.
 *
 * Packets to a VIP (forward direction of its flows, elastic-IP inbound) go
 * through vip_packet() (qos.h): the VIP's rate limit, if it has one, may
 * drop them (drop_qos); the top-talker sampler may count them.
 */
#ifndef VIPXDP_BPF_DATAPATH_H
#define VIPXDP_BPF_DATAPATH_H

#include "maps.h"
#include "parse.h"
#include "neigh.h"
#include "lb.h"
#include "forward.h"
#include "eip.h"
#include "icmp.h"
#include "qos.h"
#include "flowcache.h"

/* Is the flow's destination a VIP address? (Used on error paths only.) */
static __always_inline bool dst_is_vip(const struct vipxdp_flow *f)
{
	struct vipxdp_vip_key k = { .addr = f->daddr, .family = f->family };

	return bpf_map_lookup_elem(&vipxdp_vip, &k) != NULL;
}

/*
 * ICMP/ICMPv6 echo request or reply: point both port pointers at the
 * identifier, and key the flow as (id, 0) for requests and (0, id) for
 * replies, so a reply finds the reverse entry of its request.
 */
static __always_inline bool parse_echo(struct hdr_cursor *c, void *data_end, __u8 l4proto,
				       struct l4_ptrs *p, struct vipxdp_flow *f)
{
	struct icmphdr *ic = c->pos; /* same layout as icmp6hdr's echo */
	bool req, rep;

	if (l4proto != IPPROTO_ICMP && l4proto != IPPROTO_ICMPV6)
		return false;
	if ((void *)(ic + 1) > data_end)
		return false;
	if (l4proto == IPPROTO_ICMP) {
		req = ic->type == 8;
		rep = ic->type == 0;
	} else {
		req = ic->type == 128;
		rep = ic->type == 129;
	}
	if ((!req && !rep) || ic->code)
		return false;
	p->sport = &ic->un.echo.id;
	p->dport = &ic->un.echo.id;
	p->check = &ic->checksum;
	f->sport = req ? ic->un.echo.id : 0;
	f->dport = req ? 0 : ic->un.echo.id;
	return true;
}

/*
 * vipxdp_process() hands a packet of another L4 protocol than TCP, UDP or
 * ICMP echo back to the entry point as VIPXDP_OTHER with where it found its
 * headers (offsets from the frame's start), and the entry point calls
 * vipxdp_other() with that. So the path of these packets (ICMP errors
 * about translated flows, elastic IPs) is a global function, verified once
 * and not once for each of the whole path's ways to it, and its stack frame
 * is not added to the whole path's.
 */
#define VIPXDP_OTHER (1ull << 62)
#define OTHER_V6(w) ((w)&1)
#define OTHER_PROTO(w) (((w) >> 8) & 0xff)
#define OTHER_IP(w) (((w) >> 16) & 0xff)
#define OTHER_L4(w) (((w) >> 24) & 0xffff)
#define OTHER_END(w) (((w) >> 40) & 0x3ffff)

__noinline int vipxdp_other(struct xdp_md *ctx, __u64 where)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ip_off = OTHER_IP(where), l4_off = OTHER_L4(where), end_off = OTHER_END(where);
	__u8 l4proto = OTHER_PROTO(where);
	const struct vipxdp_filter *filt;
	const struct vipxdp_eip *eip;
	const struct vipxdp_cfg *cfg;
	struct vipxdp_flow f = {};
	struct l4_ptrs p = {};
	struct ethhdr *eth = data;
	bool maybe_vip, maybe_be;
	__u32 zero = 0, sample;
	void *l4, *l4_end;
	int rc;

	/* vipxdp_process() checked all of this; the verifier wants it again. */
	if (ip_off > ETH_HLEN + VIPXDP_VLAN_MAX * sizeof(struct vlan_hdr) || l4_off > 2048 ||
	    (void *)(eth + 1) > data_end)
		return VIPXDP_R_pass_malformed;
	l4 = data + l4_off;
	l4_end = data + end_off;
	if (OTHER_V6(where)) {
		p.ip6 = data + ip_off;
		if ((void *)(p.ip6 + 1) > data_end)
			return VIPXDP_R_pass_malformed;
		p.v6 = true;
		f.family = VIPXDP_AF_INET6;
		__builtin_memcpy(&f.saddr, &p.ip6->saddr, 16);
		__builtin_memcpy(&f.daddr, &p.ip6->daddr, 16);
		if (l4proto == IPPROTO_ICMPV6) {
			struct icmp6hdr *ih = l4;

			if ((void *)(ih + 1) > data_end)
				return VIPXDP_R_pass_malformed;
			p.check = &ih->icmp6_cksum;
			p.has_csum = true;
		}
	} else {
		p.ip4 = data + ip_off;
		if ((void *)(p.ip4 + 1) > data_end)
			return VIPXDP_R_pass_malformed;
		f.family = VIPXDP_AF_INET;
		f.saddr.w[0] = p.ip4->saddr;
		f.daddr.w[0] = p.ip4->daddr;
	}
	filt = bpf_map_lookup_elem(&vipxdp_filter, &zero);
	if (!filt)
		return VIPXDP_R_pass_no_service;
	maybe_vip = icmp_filter_hit(filt->vip, &f.daddr);
	maybe_be = icmp_filter_hit(filt->backend, &f.saddr);
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);

	/* Only elastic IPs apply; an ICMP error about a translated flow
	 * follows that flow (icmp.h). */
	rc = icmp_error(ctx, eth, l4, data_end, l4_end, &p);
	if (rc >= 0)
		return rc;
	if (l4proto == IPPROTO_ICMP) {
		struct icmphdr *ic = l4;

		if ((void *)(ic + 1) <= data_end) {
			p.check = &ic->checksum;
			p.has_csum = true;
		}
	}
	eip = eip_lookup(&f, maybe_vip, maybe_be);
	if (!eip)
		return l4proto == IPPROTO_ICMPV6 ? VIPXDP_R_pass_icmp6 : VIPXDP_R_pass_no_service;
	if (ttl_expiring(&p))
		return VIPXDP_R_pass_ttl;
	sample = cfg ? cfg->talkers_sample : 0;
	if (eip->dir == VIPXDP_EIP_IN && vip_packet(&f, eip->qos, sample, data_end - data))
		return VIPXDP_R_drop_qos;
	eip_apply(&p, eip);
	return forward(ctx, eth, &p, NULL, ct_epoch());
}

/* Out of line: the entry point's frame stays small, so that this path's
 * frame (the largest) and the flow cache's fast path (fc_fast()) each have
 * the rest of the 512 bytes. A packet's reason, or VIPXDP_OTHER | where
 * (vipxdp_other()). ct_none: ct_fast4() or ct_fast() found no flow for the packet
 * (neither a DNAT flow it replies to nor an entry of its own key), so the
 * known-flow part need not look again. */
static __noinline __u64 vipxdp_process(struct xdp_md *ctx, __u64 bytes, bool ct_none)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = { .pos = data };
	struct vipxdp_flow f = {};
	struct l4_ptrs p = {};
	const struct vipxdp_filter *filt;
	const struct vipxdp_svc *svc;
	const struct vipxdp_eip *eip;
	const struct vipxdp_cfg *cfg;
	struct vipxdp_fc_ctl *ctl;
	struct vipxdp_svc_key sk;
	bool snat_on, echo = false;
	struct vipxdp_ct *ct;
	struct vipxdp_nh *nh;
	bool maybe_vip, maybe_be;
	__u32 zero = 0, one = 1, now, sample, gen, tok;
	bool fc_on;
	__u8 tcpflags = 0;
	struct ethhdr *eth;
	void *l4_end;
	__u8 l4proto = 0;
	bool syn = false;
	int proto, ip, rc;

	proto = parse_eth(&c, data_end, &eth);
	if (proto < 0)
		return VIPXDP_R_pass_malformed;
	if (proto == bpf_htons(ETH_P_ARP))
		return handle_arp(ctx, &c, data_end, eth);

	if (proto == bpf_htons(ETH_P_IP)) {
		ip = parse_ipv4(&c, data_end, &p.ip4, &l4proto);
		if (ip == IP_BAD)
			return VIPXDP_R_pass_malformed;
		f.family = VIPXDP_AF_INET;
		f.saddr.w[0] = p.ip4->saddr;
		f.daddr.w[0] = p.ip4->daddr;
		if (ip == IP_FRAG)
			return dst_is_vip(&f) || src_is_snat(&f) ? VIPXDP_R_drop_frag
								 : VIPXDP_R_pass_frag;
		l4_end = (void *)p.ip4 + bpf_ntohs(p.ip4->tot_len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip = parse_ipv6(&c, data_end, &p.ip6, &l4proto);
		if (ip == IP_BAD)
			return VIPXDP_R_pass_malformed;
		p.v6 = true;
		f.family = VIPXDP_AF_INET6;
		__builtin_memcpy(&f.saddr, &p.ip6->saddr, 16);
		__builtin_memcpy(&f.daddr, &p.ip6->daddr, 16);
		if (ip == IP_FRAG)
			return dst_is_vip(&f) || src_is_snat(&f) ? VIPXDP_R_drop_frag
								 : VIPXDP_R_pass_frag;
		if (l4proto == IPPROTO_ICMPV6) {
			struct icmp6hdr *ih = c.pos;

			if ((void *)(ih + 1) > data_end)
				return VIPXDP_R_pass_malformed;
			if (ih->icmp6_type == NDP_NS)
				return handle_ns(ctx, (void *)p.ip6 - data);
			p.check = &ih->icmp6_cksum;
			p.has_csum = true;
		}
		l4_end = (void *)(p.ip6 + 1) + bpf_ntohs(p.ip6->payload_len);
	} else {
		return VIPXDP_R_pass_not_ip;
	}

	/* Foreign traffic leaves after two bit tests (an ICMP error's own
	 * addresses need not be ours: icmp.h tests those it quotes). */
	filt = bpf_map_lookup_elem(&vipxdp_filter, &zero);
	if (!filt)
		return VIPXDP_R_pass_no_service;
	maybe_vip = filter_hit(filt->vip, vipxdp_filter_bit(&f.daddr));
	maybe_be = filter_hit(filt->backend, vipxdp_filter_bit(&f.saddr));
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	snat_on = cfg && (cfg->flags & VIPXDP_CFG_F_SNAT);
	if (!maybe_vip && !maybe_be && !snat_on && !icmp_is_error(c.pos, data_end, l4proto))
		return l4proto == IPPROTO_ICMPV6 ? VIPXDP_R_pass_icmp6 : VIPXDP_R_pass_no_service;

	if (l4proto == IPPROTO_TCP) {
		struct tcphdr *th;

		if (parse_tcp(&c, data_end, l4_end, &th))
			return dst_is_vip(&f) ? VIPXDP_R_drop_malformed : VIPXDP_R_pass_malformed;
		p.sport = &th->source;
		p.dport = &th->dest;
		p.check = &th->check;
		syn = th->syn && !th->ack;
		tcpflags = ((__u8 *)th)[13];
	} else if (l4proto == IPPROTO_UDP) {
		struct udphdr *uh;

		if (parse_udp(&c, data_end, l4_end, &uh))
			return dst_is_vip(&f) ? VIPXDP_R_drop_malformed : VIPXDP_R_pass_malformed;
		p.sport = &uh->source;
		p.dport = &uh->dest;
		p.check = &uh->check;
		p.udp = true;
	} else if ((echo = parse_echo(&c, data_end, l4proto, &p, &f))) {
		/* ICMP echo: the identifier is its port (source NAT, conntrack). */
	} else {
		/* Other protocols: out of line (vipxdp_other()). */
		return VIPXDP_OTHER | (__u64)p.v6 | (__u64)l4proto << 8 |
		       (__u64)((p.v6 ? (void *)p.ip6 : (void *)p.ip4) - data) << 16 |
		       (__u64)(c.pos - data) << 24 | (__u64)(l4_end - data) << 40;
	}
	if (!echo) {
		f.sport = *p.sport;
		f.dport = *p.dport;
	}
	p.has_ports = true;
	p.has_csum = true;
	p.csum_pseudo = l4proto != IPPROTO_ICMP;
	f.proto = l4proto;

	/* Known flows, both directions; a SYN always starts afresh. */
	now = ct_epoch();
	sample = cfg ? cfg->talkers_sample : 0;
	/* The flow cache (flowcache.h): fc_fast() found no entry for this
	 * packet; one is filled below when a known flow is forwarded. A TCP
	 * packet that changes the flow's state drops the flow's entry. gen is
	 * read before conntrack: a change made after this (which bumps it)
	 * leaves the filled entry stale. A SYN's conntrack entry keeps it,
	 * with the cache off too (lb_new_flow()). */
	gen = fc_gen();
	fc_on = cfg && !(cfg->flags & VIPXDP_CFG_F_NO_FC) && !echo;
	if (fc_on) {
		/* A client's SYN drops the entry below, where it must. */
		if ((tcpflags & (PKT_TCP_FIN | PKT_TCP_RST)) || ((tcpflags & PKT_TCP_SYN) && !syn))
			fc_forget(&f);
	}
	if (!syn && !ct_none) {
		/* A backend's reply to a one-entry DNAT flow: tried first, as
		 * replies are most of a DNAT service's packets. */
		if (maybe_be && !echo) {
			struct vipxdp_flow *fk;

			fk = bpf_map_lookup_elem(&vipxdp_scratch, &one);
			ct = fk ? both_search(&f, fk, now, cfg) : NULL;
			if (ct && fk) {
				if (ttl_expiring(&p))
					return VIPXDP_R_pass_ttl;
				ct_touch(ct, now, tcpflags);
				lb_reply(ct, fk, &p, bytes);
				tok = nh_token(now);
				rc = forward(ctx, eth, &p, &ct->nh[1], tok);
				if (fc_on && forwarded(rc) && fc_filling())
					fc_fill_reply(&f, fk, ct, tok, gen);
				return rc;
			}
		}
		ct = ct_get(&f);
		/* The expiry test inline: most hits are live, and skip the call. */
		if (ct && ct_expired(ct, now, cfg) && ct_stale(&f, ct, now, cfg)) {
			ct_del(&f);
			ct = NULL;
		}
		if (ct) {
			if (ttl_expiring(&p))
				return VIPXDP_R_pass_ttl;
			/* Forward entries of a VIP's flows rewrite the destination. */
			if ((ct->flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_REPLY)) ==
				    VIPXDP_CT_F_DNAT &&
			    vip_packet(&f, ct->qos, sample, bytes))
				return VIPXDP_R_drop_qos;
			ct_touch(ct, now, tcpflags);
			lb_known(ct, &p, bytes);
			tok = nh_token(now);
			rc = forward(ctx, eth, &p, &ct->nh[0], tok);
			if (fc_on && forwarded(rc) && fc_filling())
				fc_fill_ct(&f, ct, tok, gen);
			return rc;
		}
	}
	svc = NULL;
	if (maybe_vip) {
		sk.addr = f.daddr;
		sk.port = f.dport;
		sk.proto = l4proto;
		sk.family = f.family;
		svc = bpf_map_lookup_elem(&vipxdp_svc, &sk);
	}
	if (!svc) {
		/* Elastic IPs first: the more specific rule beats source NAT. */
		eip = eip_lookup(&f, maybe_vip, maybe_be);
		if (!eip && !snat_on)
			return VIPXDP_R_pass_no_service;
		if (fc_on && syn)
			fc_forget(&f);
		if (ttl_expiring(&p))
			return VIPXDP_R_pass_ttl;
		if (eip) {
			if (eip->dir == VIPXDP_EIP_IN && vip_packet(&f, eip->qos, sample, bytes))
				return VIPXDP_R_drop_qos;
			eip_apply(&p, eip);
		} else {
			rc = snat_new_flow(&p, &f, now, cfg);
			if (rc >= 0)
				return rc;
		}
		return forward(ctx, eth, &p, NULL, now);
	}
	if (ttl_expiring(&p))
		return VIPXDP_R_pass_ttl;
	if (vip_packet(&f, svc->qos, sample, bytes))
		return VIPXDP_R_drop_qos;
	/* This CPU's control, for a SYN: one lookup for the cache's forget
	 * and the SYN's conntrack lookup (lb_new_flow()). */
	ctl = syn ? cpu_ctl() : NULL;
	if (fc_on && syn && (svc->mode != VIPXDP_MODE_DNAT || fc_syn_forget(ctl, gen)))
		fc_forget(&f);
	nh = NULL;
	tok = now;
	rc = lb_new_flow(ctx, svc, &f, &p, syn, bytes, now, gen, cfg, ctl, &nh, &tok);
	if (rc >= 0)
		return rc;
	return forward(ctx, eth, &p, nh, tok);
}

#endif /* VIPXDP_BPF_DATAPATH_H */
