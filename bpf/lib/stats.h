/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU counters: one counter per verdict reason (vipxdp_stats), and
 * packets, bytes and new flows per service and per backend.
 */
#ifndef VIPXDP_BPF_STATS_H
#define VIPXDP_BPF_STATS_H

#include "maps.h"

static __always_inline void count_reason(__u32 reason, __u64 bytes)
{
	struct vipxdp_counter *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&vipxdp_stats, &zero);
	if (!c || reason >= VIPXDP_R_MAX)
		return;
	c += reason;
	c->packets++;
	c->bytes += bytes;
}

/* Count a packet of the whole path under service or backend id. */
static __always_inline void count_lb(void *map, __u32 id, __u64 bytes, bool new_flow, bool reply)
{
	struct vipxdp_lb_stats *s = bpf_map_lookup_elem(map, &id);

	if (!s)
		return;
	if (reply) {
		s->reply_packets++;
		s->reply_bytes += bytes;
		return;
	}
	s->packets++;
	s->bytes += bytes;
	s->new_flows += new_flow;
}

/* A flow cache hit's count under service or backend *id (id may point into
 * the entry: then the key needs no trip through the stack): packets and
 * bytes of its direction, and nothing else (no new flow). The direction is
 * off, the byte offset of its packets (packets or reply_packets). */
static __always_inline void count_lb_hit(void *map, const __u32 *id, __u64 bytes, __u32 off)
{
	struct vipxdp_lb_stats *s = bpf_map_lookup_elem(map, id);
	__u64 *c;

	if (!s)
		return;
	c = (void *)s + off;
	c[0]++;
	c[1] += bytes;
}
_Static_assert(__builtin_offsetof(struct vipxdp_lb_stats, bytes) ==
			       __builtin_offsetof(struct vipxdp_lb_stats, packets) + 8 &&
		       __builtin_offsetof(struct vipxdp_lb_stats, reply_bytes) ==
			       __builtin_offsetof(struct vipxdp_lb_stats, reply_packets) + 8,
	       "count_lb_hit: bytes after packets");

#endif /* VIPXDP_BPF_STATS_H */
