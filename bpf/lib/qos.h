/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-VIP accounting of packets addressed to a VIP: rate limits (QoS) and
 * top-talker counters, in one global subprogram, vip_account() (verified
 * once). The main program calls it through vip_packet(), which first draws
 * the talker sample inline: a packet of a VIP without QoS that is not
 * sampled costs a few instructions and no call; with sampling off
 * (talkers_sample 0) not even the draw.
 *
 * Which packets: client -> VIP packets of a service's flows (new, and
 * established ones through their forward conntrack entry, which carries the
 * VIP's QoS index), port forwards, and packets to an elastic IP. Replies
 * (backend -> client) and the outbound direction of elastic IPs and source
 * NAT are neither limited nor counted as talkers.
 *
 * Rate limits: GCRA (virtual scheduling) per limit on one theoretical
 * arrival time shared by every CPU, advanced with compare-and-swap (a few
 * bounded retries; a packet that loses every race is dropped, erring on the
 * side of the limit). The packet limit is checked first, then the byte
 * limit: a packet the byte limit drops has used packet credit.
 *
 * Top talkers: with talkers_sample N, a packet is counted with probability
 * 1/N as N packets and N times its bytes, so the counts are exact for N = 1
 * and estimates otherwise. Packets the rate limit drops are counted too: the
 * list shows what each source sends.
 */
#ifndef VIPXDP_BPF_QOS_H
#define VIPXDP_BPF_QOS_H

#include "maps.h"

#define QOS_CAS_TRIES 4

/* One GCRA step: 0 when the packet conforms (and is charged), 1 when not. */
static __always_inline int gcra(__u64 *tat, __u64 cost, __u64 tol, __u64 now)
{
	__u64 old, base, next;

	for (int i = 0; i < QOS_CAS_TRIES; i++) {
		old = *(volatile __u64 *)tat;
		base = old > now ? old : now;
		next = base + cost;
		if (next - now > tol)
			return 1;
		if (__sync_val_compare_and_swap(tat, old, next) == old)
			return 0;
	}
	return 1;
}

static __always_inline void talker_add(const struct vipxdp_flow *f, __u32 sample, __u32 bytes)
{
	struct vipxdp_acct_scratch *s;
	struct vipxdp_talker_key *k;
	struct vipxdp_talker *t, nt;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&vipxdp_tk_scr, &zero);
	if (!s)
		return;
	k = &s->key;
	k->vip = f->daddr;
	k->src = f->saddr;
	k->family = f->family;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	t = bpf_map_lookup_elem(&vipxdp_talkers, k);
	if (t) {
		t->packets += sample;
		t->bytes += (__u64)sample * bytes;
		return;
	}
	nt.packets = sample;
	nt.bytes = (__u64)sample * bytes;
	bpf_map_update_elem(&vipxdp_talkers, k, &nt, BPF_NOEXIST);
}

/* Is the packet within the VIP's limits? Counts it either way. */
static __always_inline int qos_check(const struct vipxdp_flow *f, __u32 qos, __u32 bytes)
{
	struct vipxdp_qos_stats *st;
	struct vipxdp_qos *q;
	__u64 now, frac;
	int drop = 0;

	q = bpf_map_lookup_elem(&vipxdp_qos, &qos);
	/* An index left in a conntrack entry after its VIP lost or changed
	 * its limit names an entry of another address, or an empty one. */
	if (!q || q->family != f->family || q->vip.w[0] != f->daddr.w[0] ||
	    q->vip.w[1] != f->daddr.w[1] || q->vip.w[2] != f->daddr.w[2] ||
	    q->vip.w[3] != f->daddr.w[3])
		return 0;
	now = bpf_ktime_get_ns();
	/* Costs are charged in whole ns, rounded up or down at random in
	 * proportion to their fraction, so no rounding bias builds up. */
	frac = bpf_get_prandom_u32() & ((1u << VIPXDP_QOS_FRAC) - 1);
	if (q->pkt_cost)
		drop = gcra(&q->pkt_tat, (q->pkt_cost + frac) >> VIPXDP_QOS_FRAC, q->pkt_tol, now);
	if (!drop && q->byte_cost)
		drop = gcra(&q->byte_tat, (q->byte_cost * bytes + frac) >> VIPXDP_QOS_FRAC,
			    q->byte_tol, now);
	st = bpf_map_lookup_elem(&vipxdp_qos_st, &qos);
	if (st) {
		if (drop) {
			st->drop_packets++;
			st->drop_bytes += bytes;
		} else {
			st->packets++;
			st->bytes += bytes;
		}
	}
	return drop;
}

/*
 * A packet to a VIP (f: its flow, before any rewrite): count it as a talker
 * (as `sample` packets; 0 = not sampled), then apply the VIP's rate limit
 * (qos = its QoS index, 0 = none). Returns 1 when the packet must be
 * dropped, 0 otherwise.
 */
__noinline int vip_account(const struct vipxdp_flow *f, __u32 qos, __u32 sample, __u32 bytes)
{
	if (!f)
		return 0;
	if (sample)
		talker_add(f, sample, bytes);
	if (!qos)
		return 0;
	return qos_check(f, qos, bytes);
}

/* The next number of per-CPU xorshift state *rng (seeded when 0). */
static __always_inline __u32 xorshift32(__u32 *rng)
{
	__u32 x = *rng;

	if (!x)
		x = bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*rng = x;
	return x;
}

/* One draw of the sampler with per-CPU xorshift state *rng: sample (the
 * packet counts as that many) or 0. */
static __always_inline __u32 talker_draw(__u32 *rng, __u32 sample)
{
	if (sample <= 1)
		return sample;
	return ((xorshift32(rng) >> 16) & (sample - 1)) ? 0 : sample;
}

/*
 * Is this packet one of the sampled ones? sample is talkers_sample, a power
 * of two (the control plane checks). A per-CPU xorshift32 instead of
 * bpf_get_prandom_u32() per packet: the per-CPU array lookup is inlined,
 * a helper call is not. Returns the weight of the sample (0 = not sampled).
 */
static __always_inline __u32 talker_sampled(__u32 sample)
{
	struct vipxdp_acct_scratch *s;
	__u32 zero = 0;

	if (sample <= 1)
		return sample;
	s = bpf_map_lookup_elem(&vipxdp_tk_scr, &zero);
	return s ? talker_draw(&s->rng, sample) : 0;
}

/* The per-packet entry: 1 = drop (over the VIP's limit). */
static __always_inline int vip_packet(const struct vipxdp_flow *f, __u32 qos, __u32 sample,
				      __u32 bytes)
{
	sample = talker_sampled(sample);
	if (!(qos | sample))
		return 0;
	return vip_account(f, qos, sample, bytes);
}

#endif /* VIPXDP_BPF_QOS_H */
