/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Elastic IPs: stateless 1:1 NAT of every protocol. A packet to an elastic
 * IP gets the private address as destination; a packet from the private
 * address gets the elastic IP as source. Ports are kept. Checksums: the IPv4
 * header, and the L4 checksum where it covers the addresses (TCP, UDP,
 * ICMPv6). No state, so both directions work from the first packet and on
 * any node with the same configuration.
 */
#ifndef VIPXDP_BPF_EIP_H
#define VIPXDP_BPF_EIP_H

#include "maps.h"
#include "lb.h"

/* The elastic IP entry that applies to the packet, or NULL. */
static __always_inline const struct vipxdp_eip *eip_lookup(const struct vipxdp_flow *f,
							   bool maybe_vip, bool maybe_priv)
{
	struct vipxdp_vip_key k = { .family = f->family };
	const struct vipxdp_eip *e;

	if (maybe_vip) {
		k.addr = f->daddr;
		e = bpf_map_lookup_elem(&vipxdp_eip, &k);
		if (e && e->dir == VIPXDP_EIP_IN)
			return e;
	}
	if (maybe_priv) {
		k.addr = f->saddr;
		e = bpf_map_lookup_elem(&vipxdp_eip, &k);
		if (e && e->dir == VIPXDP_EIP_OUT)
			return e;
	}
	return NULL;
}

/* Rewrite one address as the entry says; ports stay. */
static __always_inline void eip_apply(struct l4_ptrs *p, const struct vipxdp_eip *e)
{
	bool in = e->dir == VIPXDP_EIP_IN;
	__be16 port = 0;

	if (p->has_ports)
		port = in ? *p->dport : *p->sport;
	rewrite(p, in, &e->to, port);
}

#endif /* VIPXDP_BPF_EIP_H */
