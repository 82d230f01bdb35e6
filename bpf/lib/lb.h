/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Load balancing in DNAT mode: service lookup, backend choice, conntrack and
 * the address/port rewrite in both directions.
 *
 * A packet to a service (VIP, port, protocol) first looks for its flow in
 * conntrack. A new flow hashes its 5-tuple (or source address) with the
 * configured seed into the service's Maglev table. A packet that is not a
 * TCP SYN and has no conntrack entry may belong to a flow this node never saw
 * (ECMP moved it here) or one that was established before the latest
 * table change: it takes the backend the previous table generation gives,
 * as long as that backend is still in the service, and the current table's
 * otherwise. Such packets are forwarded, never dropped. A new flow is
 * recorded in conntrack: client -> VIP (destination becomes the backend) and
 * backend -> client (source becomes the VIP; see below). A TCP SYN always
 * takes the active table's backend, and a reused client port never sticks to
 * a backend that has left: the SYN replaces its 5-tuple's conntrack entry,
 * or renews it in place when the entry already says what the new one would
 * (lb_new_flow(), ct_renew()).
 *
 * Usually a DNAT flow has only its client -> VIP entry (F_BOTH): the
 * control plane lists every DNAT backend endpoint with the (VIP, port) of
 * its services in vipxdp_rev, and a backend's reply finds the flow through
 * that (both_search). One insert per new flow instead of two, half the
 * memory. Backends whose endpoint has no free vipxdp_rev slot
 * (VIPXDP_BE_F_REPLY_CT) get the reply entry as other modes do.
 */
#ifndef VIPXDP_BPF_LB_H
#define VIPXDP_BPF_LB_H

#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "forward.h"
#include "vipxdp_hash.h"

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_ACK 0x10

static __always_inline __u32 table_get(__u32 slot_idx, __u32 hash, __u32 size)
{
	__u32 slot = vipxdp_table_slot(hash, size), elem = slot >> 1;
	__u32 *pair; /* struct vipxdp_mtbl_pair */
	void *tbl;

	tbl = bpf_map_lookup_elem(&vipxdp_maglev, &slot_idx);
	if (!tbl)
		return VIPXDP_BACKEND_NONE;
	pair = bpf_map_lookup_elem(tbl, &elem);
	return pair ? pair[slot & 1] : VIPXDP_BACKEND_NONE;
}

/* The backend for a flow without conntrack, or NULL. */
static __always_inline const struct vipxdp_backend *pick_backend(const struct vipxdp_svc *svc,
								 const struct vipxdp_flow *f,
								 bool syn, __u32 *be_id,
								 const struct vipxdp_cfg *cfg)
{
	const struct vipxdp_backend *be;
	__u32 hash, id, par, size;

	hash = vipxdp_flow_hash(f, svc->flags, cfg ? cfg->hash_seed : 0);

	if (!syn) {
		par = (svc->gen + 1) & 1;
		size = svc->table_size[par];
		if (size) {
			id = table_get(svc->id * VIPXDP_GENERATIONS + par, hash, size);
			be = bpf_map_lookup_elem(&vipxdp_backend, &id);
			if (be && VIPXDP_BE_USABLE(be->flags) && be->svc_id == svc->id) {
				*be_id = id;
				return be;
			}
		}
	}
	par = svc->gen & 1;
	size = svc->table_size[par];
	if (!size)
		return NULL;
	id = table_get(svc->id * VIPXDP_GENERATIONS + par, hash, size);
	be = bpf_map_lookup_elem(&vipxdp_backend, &id);
	if (!be || !VIPXDP_BE_USABLE(be->flags) || be->svc_id != svc->id)
		return NULL;
	*be_id = id;
	return be;
}

/*
 * An IPv6 flow's conntrack key (vipxdp_ct_key6()). A global function,
 * verified once: the digest is long, and IPv4 keys are made inline.
 */
__noinline int ct_key6(const struct vipxdp_flow *f, struct vipxdp_ct_key *k)
{
	if (!f || !k)
		return 0;
	vipxdp_ct_key6(f, k);
	return 0;
}

static __always_inline void ct_key(const struct vipxdp_flow *f, struct vipxdp_ct_key *k)
{
	if (f->family == VIPXDP_AF_INET)
		vipxdp_ct_key4(f, k);
	else
		ct_key6(f, k);
}

/* Is IPv6 entry ct flow f's (vipxdp_ct_owns())? Global, as ct_key6(). */
__noinline int ct_owns6(const struct vipxdp_ct *ct, const struct vipxdp_flow *f)
{
	return ct && f && vipxdp_ct_owns(ct, f);
}

/* Flow f's conntrack entry, or NULL. One lookup for both families, the
 * family tested again after it: two lookups, one per family's branch,
 * measured 3-5 ns slower on the whole path (bench_datapath --cases 4
 * --cycle-log2 10 --no-flow-cache). */
static __always_inline struct vipxdp_ct *ct_get(const struct vipxdp_flow *f)
{
	struct vipxdp_ct_key k;
	struct vipxdp_ct *ct;

	ct_key(f, &k);
	ct = bpf_map_lookup_elem(&vipxdp_ct, &k);
	if (ct && f->family != VIPXDP_AF_INET && !ct_owns6(ct, f))
		return NULL;
	return ct;
}

static __always_inline void ct_del(const struct vipxdp_flow *f)
{
	struct vipxdp_ct_key k;

	ct_key(f, &k);
	bpf_map_delete_elem(&vipxdp_ct, &k);
}

/* The coarse-clock epoch: conntrack ages and the next-hop cache use it. */
static __always_inline __u32 ct_epoch(void)
{
	return bpf_ktime_get_coarse_ns() >> VIPXDP_EPOCH_SHIFT;
}

static __always_inline __u8 ct_initial_state(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return VIPXDP_CT_SYN;
	return proto == IPPROTO_UDP ? VIPXDP_CT_UDP : VIPXDP_CT_OTHER;
}

/* Has the entry been idle for longer than its state allows? */
static __always_inline bool ct_expired(const struct vipxdp_ct *ct, __u32 now,
				       const struct vipxdp_cfg *cfg)
{
	__u32 st = ct->state, to;

	if (!cfg)
		return false;
	/* Keep the bound check on the register that indexes (verifier). */
	asm volatile("" : "+r"(st));
	if (st >= VIPXDP_CT_NSTATES)
		return false;
	to = cfg->ct_timeout[st];
	return to && now - ct->last_seen > to;
}

/*
 * Record IPv6 flow f's entry ct, with the flow's addresses in it; 0 or -1.
 * Not over a live entry of other addresses that has the same key (a digest
 * collision, which only an attacker could find): the new flow's packet is
 * dropped instead (drop_error). A global function, verified once.
 */
__noinline int ct_put6(const struct vipxdp_flow *f, struct vipxdp_ct *ct)
{
	const struct vipxdp_ct *old;
	const struct vipxdp_cfg *cfg;
	struct vipxdp_ct_key k;
	__u32 zero = 0;

	if (!f || !ct)
		return -1;
	vipxdp_ct_key6(f, &k);
	old = bpf_map_lookup_elem(&vipxdp_ct, &k);
	if (old && !vipxdp_ct_owns(old, f)) {
		cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
		if (!ct_expired(old, ct->last_seen, cfg))
			return -1;
	}
	ct->ksaddr = f->saddr;
	ct->kdaddr = f->daddr;
	return bpf_map_update_elem(&vipxdp_ct, &k, ct, BPF_ANY) ? -1 : 0;
}

/* Record flow f's entry ct (BPF_ANY); 0 or -1. IPv4 entries keep ct's
 * ksaddr and kdaddr, zero in the scratch space entries are built in. */
static __always_inline int ct_put(const struct vipxdp_flow *f, struct vipxdp_ct *ct)
{
	struct vipxdp_ct_key k;

	if (f->family != VIPXDP_AF_INET)
		return ct_put6(f, ct);
	vipxdp_ct_key4(f, &k);
	return bpf_map_update_elem(&vipxdp_ct, &k, ct, BPF_ANY) ? -1 : 0;
}

/*
 * The key of the other direction of the flow of entry ct (key f): the
 * packet's tuple as translated, reversed. Both directions' entries use it.
 */
static __always_inline void ct_peer_key(const struct vipxdp_flow *f, const struct vipxdp_ct *ct,
					struct vipxdp_flow *peer)
{
	bool dnat = ct->flags & VIPXDP_CT_F_DNAT, snat = ct->flags & VIPXDP_CT_F_SNAT;

	peer->saddr = dnat ? ct->daddr : f->daddr;
	peer->daddr = snat ? ct->saddr : f->saddr;
	peer->sport = dnat ? ct->dport : f->dport;
	peer->dport = snat ? ct->sport : f->sport;
	peer->proto = f->proto;
	peer->family = f->family;
	peer->pad[0] = peer->pad[1] = 0;
}

/*
 * Is the entry dead? It is when idle beyond its timeout and the other
 * direction of its flow is too: a flow whose packets all go one way (a UDP
 * stream, a silent server) keeps both entries while either is alive.
 */
__noinline int ct_stale(const struct vipxdp_flow *f, const struct vipxdp_ct *ct, __u32 now,
			const struct vipxdp_cfg *cfg)
{
	const struct vipxdp_ct *pc;
	struct vipxdp_flow *peer;
	__u32 zero = 0;

	if (!f || !ct || !ct_expired(ct, now, cfg))
		return 0;
	if (ct->flags & VIPXDP_CT_F_BOTH)
		return 1; /* both directions refresh this one entry */
	peer = bpf_map_lookup_elem(&vipxdp_scratch, &zero);
	if (!peer)
		return 1;
	ct_peer_key(f, ct, peer);
	pc = ct_get(peer);
	return !pc || ct_expired(pc, now, cfg);
}

/* The forward entry of a new flow; the caller adds what it rewrites. */
static __always_inline void ct_init(struct vipxdp_ct *ct, __u8 proto, __u32 svc_id, __u32 be_id,
				    __u32 now)
{
	ct->state = ct_initial_state(proto);
	ct->svc_id = svc_id;
	ct->backend_id = be_id;
	ct->last_seen = now;
}

/* A zeroed conntrack value in per-CPU scratch space: [0] a new flow's
 * entry, [1] its reply entry (the program's stack is full). */
static __always_inline struct vipxdp_ct *ct_scratch(__u32 slot)
{
	struct vipxdp_ct *ct = bpf_map_lookup_elem(&vipxdp_scratch_ct, &slot);

	if (ct)
		__builtin_memset(ct, 0, sizeof(*ct));
	return ct;
}

/*
 * Record a new flow: fwd under key f, and its reply direction, which undoes
 * fwd's rewrites under the translated tuple reversed (ct_peer_key; rk when
 * the caller has built it already, for a NAT port claim). Every mode (DNAT,
 * full NAT, source NAT) records its flows here. An F_BOTH entry (DNAT, its
 * backend's endpoint in vipxdp_rev) is the flow's only one.
 */
static __always_inline int ct_commit(const struct vipxdp_flow *f, struct vipxdp_ct *fwd,
				     const struct vipxdp_flow *rk)
{
	struct vipxdp_ct *rev;
	struct vipxdp_flow *k;
	__u32 zero = 0;

	if (fwd->flags & VIPXDP_CT_F_BOTH)
		return ct_put(f, fwd) ? -1 : 0;
	/* The reply entry and its key are built in scratch space: the
	 * program's stack is full. */
	rev = ct_scratch(1);
	if (!rev)
		return -1;
	rev->flags = VIPXDP_CT_F_REPLY;
	if (fwd->flags & VIPXDP_CT_F_SNAT) {
		rev->flags |= VIPXDP_CT_F_DNAT;
		rev->daddr = f->saddr;
		rev->dport = f->sport;
	}
	if (fwd->flags & VIPXDP_CT_F_DNAT) {
		rev->flags |= VIPXDP_CT_F_SNAT;
		rev->saddr = f->daddr;
		rev->sport = f->dport;
	}
	rev->state = fwd->state;
	rev->svc_id = fwd->svc_id;
	rev->backend_id = fwd->backend_id;
	rev->last_seen = fwd->last_seen;
	if (!rk) {
		k = bpf_map_lookup_elem(&vipxdp_scratch, &zero);
		if (!k)
			return -1;
		ct_peer_key(f, fwd, k);
		rk = k;
	}
	if (ct_put(rk, rev) || ct_put(f, fwd))
		return -1;
	return 0;
}

/*
 * A SYN to a DNAT service whose flow still has its one entry (F_BOTH), old
 * (NULL when none), and the entry translates it as the new one, fwd, would:
 * a client's port used again, a retransmitted SYN. Then only the state, the
 * age, the generation and the next hop's token differ, and they are written
 * into the entry, a word each, instead of replacing it: a replacement
 * allocates an element of the LRU map and frees the old one, with interrupts
 * off and the list nodes they walk cold (measured about 1.4 us a connection
 * end to end at 9,000 connections/s, each SYN reusing a port). The next hop
 * itself must be the same: a packet of the flow on another CPU reads it
 * meanwhile. The reply's next hop (nh[1]) stays, good while its own token
 * holds. 1 when the entry was renewed so, else 0 (then ct_commit() replaces
 * it). A global function, verified once.
 */
__noinline int ct_renew(struct vipxdp_ct *old, const struct vipxdp_ct *fwd)
{
	const __u32 *om, *nm;

	if (!old || !fwd)
		return 0;
	if (old->flags != fwd->flags || old->dport != fwd->dport ||
	    !addr_eq(&old->daddr, &fwd->daddr) || old->svc_id != fwd->svc_id ||
	    old->backend_id != fwd->backend_id || old->qos != fwd->qos ||
	    old->nh[0].ifindex != fwd->nh[0].ifindex)
		return 0;
	/* The two MACs, 12 bytes from a 4-aligned offset: three words. */
	om = (const __u32 *)old->nh[0].dmac;
	nm = (const __u32 *)fwd->nh[0].dmac;
	if ((om[0] ^ nm[0]) | (om[1] ^ nm[1]) | (om[2] ^ nm[2]))
		return 0;
	old->state = fwd->state;
	old->last_seen = fwd->last_seen;
	old->gen = fwd->gen;
	old->nh[0].epoch = fwd->nh[0].epoch;
	return 1;
}
_Static_assert(__builtin_offsetof(struct vipxdp_ct, nh[0].dmac) % 4 == 0 &&
		       __builtin_offsetof(struct vipxdp_nh, smac) ==
			       __builtin_offsetof(struct vipxdp_nh, dmac) + 6,
	       "ct_renew: the MACs as three words");

/* Note the packet in the entry: age and TCP state, written only on change. */
static __always_inline void ct_touch(struct vipxdp_ct *ct, __u32 now, __u8 tcpflags)
{
	__u8 st = ct->state;

	if (st <= VIPXDP_CT_CLOSING) {
		if (tcpflags & (PKT_TCP_FIN | PKT_TCP_RST))
			st = VIPXDP_CT_CLOSING;
		else if (st == VIPXDP_CT_SYN && (tcpflags & PKT_TCP_ACK) &&
			 !(tcpflags & PKT_TCP_SYN))
			st = VIPXDP_CT_EST;
	}
	if (st != ct->state)
		ct->state = st;
	if (ct->last_seen != now)
		ct->last_seen = now;
}

/* Rewrite destination (dst = true) or source address and, where the
 * protocol has ports, port. */
static __always_inline void rewrite(struct l4_ptrs *p, bool dst, const struct vipxdp_addr *addr,
				    __be16 port)
{
	__u64 diff;

	if (!p->v6) {
		__be32 *a = dst ? &p->ip4->daddr : &p->ip4->saddr;

		diff = csum_diff32(*a, addr->w[0]);
		p->ip4->check = csum_apply(p->ip4->check, diff);
		*a = addr->w[0];
		if (!p->csum_pseudo)
			diff = 0; /* ICMPv4: the addresses are not in its checksum */
	} else {
		__u32 *a = dst ? p->ip6->daddr.in6_u.u6_addr32 : p->ip6->saddr.in6_u.u6_addr32;

		diff = csum_diff_addr6(a, addr->w);
		a[0] = addr->w[0];
		a[1] = addr->w[1];
		a[2] = addr->w[2];
		a[3] = addr->w[3];
	}
	if (p->has_ports) {
		__be16 *portp = dst ? p->dport : p->sport;

		diff += csum_diff16(*portp, port);
		*portp = port;
	}
	if (!p->has_csum)
		return;
	if (p->udp)
		*p->check = csum_apply_udp(*p->check, diff);
	else
		*p->check = csum_apply(*p->check, diff);
}

/* A packet of a known flow (conntrack hit), either direction: rewrite it as
 * the entry says, count it for its service and backend. */
static __always_inline void lb_known(const struct vipxdp_ct *ct, struct l4_ptrs *p, __u64 bytes)
{
	bool reply = ct->flags & VIPXDP_CT_F_REPLY;

	if (ct->svc_id != VIPXDP_SVC_NONE) {
		count_lb(&vipxdp_svc_st, ct->svc_id, bytes, false, reply);
		count_lb(&vipxdp_be_st, ct->backend_id, bytes, false, reply);
	}
	if (ct->flags & VIPXDP_CT_F_DNAT)
		rewrite(p, true, &ct->daddr, ct->dport);
	if (ct->flags & VIPXDP_CT_F_SNAT)
		rewrite(p, false, &ct->saddr, ct->sport);
}

/* A backend's reply to the one-entry DNAT flow of entry ct, keyed fk
 * (both_search()): counted as a reply, its source rewritten to the address
 * and port the flow was addressed to. */
static __always_inline void lb_reply(const struct vipxdp_ct *ct, const struct vipxdp_flow *fk,
				     struct l4_ptrs *p, __u64 bytes)
{
	count_lb(&vipxdp_svc_st, ct->svc_id, bytes, false, true);
	count_lb(&vipxdp_be_st, ct->backend_id, bytes, false, true);
	rewrite(p, false, &fk->daddr, fk->dport);
}

/*
 * The entry of the live one-entry DNAT flow (F_BOTH) that packet k, from a
 * backend, replies to, or NULL. The backend endpoint's vipxdp_rev slots name
 * the (VIP, port) the flow may be addressed to; its entry is the one keyed
 * client -> VIP:port that translates to exactly this backend endpoint, so a
 * backend's own traffic (health-check answers, direct clients) never
 * matches. fk (scratch space: the callers' stacks are full) ends as that
 * entry's key, whose destination is the reply's new source.
 */
static __always_inline struct vipxdp_ct *both_search(const struct vipxdp_flow *k,
						     struct vipxdp_flow *fk, __u32 now,
						     const struct vipxdp_cfg *cfg)
{
	struct vipxdp_svc_key *rk = (struct vipxdp_svc_key *)fk;
	const struct vipxdp_rev *rev;
	struct vipxdp_ct *ct;

	rk->addr = k->saddr;
	rk->port = k->sport;
	rk->proto = k->proto;
	rk->family = k->family;
	rev = bpf_map_lookup_elem(&vipxdp_rev, rk);
	if (!rev)
		return NULL;
	fk->saddr = k->daddr;
	fk->sport = k->dport;
	fk->proto = k->proto;
	fk->family = k->family;
	fk->pad[0] = fk->pad[1] = 0;
	for (int i = 0; i < VIPXDP_REV_SLOTS; i++) {
		if (!rev->vip[i].used)
			continue;
		fk->daddr = rev->vip[i].addr;
		fk->dport = rev->vip[i].port;
		ct = ct_get(fk);
		if (ct && (ct->flags & VIPXDP_CT_F_BOTH) && ct->dport == k->sport &&
		    addr_eq(&ct->daddr, &k->saddr))
			return ct_expired(ct, now, cfg) ? NULL : ct;
	}
	return NULL;
}

/*
 * both_search() for the ICMP error path: 1 with the entry's key in scratch
 * slot 1 (ct_both() fetches the entry), else 0. A global function, verified
 * once.
 */
__noinline int ct_find_both(const struct vipxdp_flow *k, __u32 now, const struct vipxdp_cfg *cfg)
{
	struct vipxdp_flow *fk;
	__u32 one = 1;

	if (!k)
		return 0;
	fk = bpf_map_lookup_elem(&vipxdp_scratch, &one);
	return fk && both_search(k, fk, now, cfg);
}

/* After ct_find_both() said yes: the flow's entry, *key its key. */
static __always_inline struct vipxdp_ct *ct_both(struct vipxdp_flow **key)
{
	__u32 one = 1;

	*key = bpf_map_lookup_elem(&vipxdp_scratch, &one);
	return *key ? ct_get(*key) : NULL;
}

static __always_inline bool flow_eq(const struct vipxdp_flow *a, const struct vipxdp_flow *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 d = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 4); i++)
		d |= x[i] ^ y[i];
	return !d;
}

/*
 * Allocate a source port for a NAT flow. rk is the reply-direction key with
 * every field but dport (the allocated port) set. A port is claimed by
 * inserting rk into vipxdp_nat with BPF_NOEXIST, which is atomic across
 * CPUs; a port held by a flow whose conntrack entry is gone or expired is
 * taken over. prefer (network order, 0 = none) is tried first: the port a
 * retransmitted SYN of the same flow already holds. Returns 0 with
 * rk->dport set, or -1 when every candidate is in use. A global function,
 * verified once: its tries are many.
 */
__noinline int nat_claim(struct vipxdp_flow *rk, const struct vipxdp_flow *owner, __u32 prefer,
			 __u32 hash, __u32 now)
{
	const __u32 span = VIPXDP_NAT_PORT_MAX - VIPXDP_NAT_PORT_MIN + 1;
	/* The value, a struct vipxdp_nat_owner, is the owner's flow. */
	const void *own = owner;
	struct vipxdp_nat_owner *cur;
	const struct vipxdp_cfg *cfg;
	struct vipxdp_ct *oc;
	__u32 zero = 0;

	_Static_assert(sizeof(struct vipxdp_nat_owner) == sizeof(*owner), "nat owner layout");
	if (!rk || !owner)
		return -1;
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	for (int i = 0; i < VIPXDP_NAT_TRIES; i++) {
		if (i == 0 && prefer)
			rk->dport = prefer;
		else
			rk->dport = bpf_htons(VIPXDP_NAT_PORT_MIN + (hash + i * 7919u) % span);
		if (!bpf_map_update_elem(&vipxdp_nat, rk, own, BPF_NOEXIST))
			return 0;
		cur = bpf_map_lookup_elem(&vipxdp_nat, rk);
		if (!cur)
			continue;
		if (flow_eq(&cur->owner, owner))
			return 0;
		oc = ct_get(&cur->owner);
		if (oc && !ct_stale(&cur->owner, oc, now, cfg))
			continue;
		if (!bpf_map_update_elem(&vipxdp_nat, rk, own, BPF_EXIST))
			return 0;
	}
	return -1;
}

/*
 * A new full-NAT flow: the client's packets go to the backend from
 * snat:port, the backend's replies (to snat:port) go back to the client from
 * VIP:vport. Claims the port and prepares the flow's entry, *fwdp (in
 * scratch slot 0), and *rk the key of its reply entry (rk->dport: the
 * port), for ct_commit().
 */
static __always_inline int ct_prepare_fullnat(const struct vipxdp_flow *f,
					      const struct vipxdp_svc *svc,
					      const struct vipxdp_backend *be, __u32 be_id,
					      __u32 now, const struct vipxdp_cfg *cfg,
					      struct vipxdp_ct **fwdp, struct vipxdp_flow *rk)
{
	struct vipxdp_ct *fwd;
	const struct vipxdp_ct *old;
	__u16 prefer = 0;

	old = ct_get(f);
	if (old && (old->flags & VIPXDP_CT_F_SNAT))
		prefer = old->sport;
	fwd = ct_scratch(0);
	if (!fwd)
		return VIPXDP_R_drop_error;
	fwd->daddr = be->addr;
	fwd->dport = be->port;
	fwd->saddr = svc->snat;
	fwd->flags = VIPXDP_CT_F_DNAT | VIPXDP_CT_F_SNAT;
	ct_peer_key(f, fwd, rk); /* its dport is the port to claim */
	if (nat_claim(rk, f, prefer, vipxdp_hash_5tuple(f, 0x6e617470), now))
		return VIPXDP_R_drop_nat_ports;
	fwd->sport = rk->dport;
	fwd->qos = svc->qos;
	ct_init(fwd, f->proto, svc->id, be_id, now);
	*fwdp = fwd;
	return -1;
}

/*
 * Source NAT: a new outbound flow from a private address in a snat rule
 * leaves from the rule's VIP and an allocated port (ICMP echo: identifier);
 * replies to it come back to the private host. Returns a reason, or -1 after
 * the rewrite.
 */
static __always_inline const struct vipxdp_snat *snat_rule(const struct vipxdp_addr *a, __u8 family)
{
	struct vipxdp_snat_key k = { .family = family, .addr = *a };

	k.prefixlen = 32 + (family == VIPXDP_AF_INET ? 32 : 128);
	return bpf_map_lookup_elem(&vipxdp_snat, &k);
}

/* Is the source covered by a source NAT rule? (Error paths only.) */
static __always_inline bool src_is_snat(const struct vipxdp_flow *f)
{
	const struct vipxdp_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	return cfg && (cfg->flags & VIPXDP_CFG_F_SNAT) && snat_rule(&f->saddr, f->family);
}

static __always_inline int snat_new_flow(struct l4_ptrs *p, const struct vipxdp_flow *f, __u32 now,
					 const struct vipxdp_cfg *cfg)
{
	struct vipxdp_ct *fwd;
	const struct vipxdp_snat *rule;
	struct vipxdp_flow rk;

	/* A rule with a zero VIP is an exclusion: the control plane adds one
	 * for each address of this host, so its own traffic and traffic to it
	 * are not translated. Traffic between private hosts is not either. */
	rule = snat_rule(&f->saddr, f->family);
	if (!rule || !(rule->vip.w[0] | rule->vip.w[1] | rule->vip.w[2] | rule->vip.w[3]))
		return VIPXDP_R_pass_no_service;
	if (snat_rule(&f->daddr, f->family))
		return VIPXDP_R_pass_no_service;
	fwd = ct_scratch(0);
	if (!fwd)
		return VIPXDP_R_drop_error;
	fwd->saddr = rule->vip;
	fwd->flags = VIPXDP_CT_F_SNAT;
	ct_peer_key(f, fwd, &rk); /* its dport is the port to claim */
	if (nat_claim(&rk, f, 0, vipxdp_hash_5tuple(f, 0x736e6174), now))
		return VIPXDP_R_drop_nat_ports;
	fwd->sport = rk.dport;
	ct_init(fwd, f->proto, VIPXDP_SVC_NONE, 0, now);
	if (ct_commit(f, fwd, &rk))
		return VIPXDP_R_drop_error;
	rewrite(p, false, &rule->vip, rk.dport);
	return -1;
}

/* Does this SYN look its flow's entry up, to renew it (ct_renew())? Not
 * while the CPU skips those lookups (VIPXDP_SYN_WINDOW); counts the SYN
 * then. Always without a control. */
static __always_inline bool syn_looks_up(struct vipxdp_fc_ctl *ctl)
{
	if (!ctl || !ctl->syn_skip)
		return true;
	ctl->syn_skip--;
	return false;
}

/* Count a SYN's lookup, and whether it renewed the entry; at the end of a
 * window with too few renewals, skip the next VIPXDP_SYN_SKIP SYNs'. */
static __always_inline void syn_note(struct vipxdp_fc_ctl *ctl, bool renewed)
{
	__u32 n;

	if (!ctl)
		return;
	n = ++ctl->syn_lookups;
	if (renewed)
		ctl->syn_renews++;
	if (n < VIPXDP_SYN_WINDOW)
		return;
	if ((__u64)ctl->syn_renews * VIPXDP_SYN_MIN_RENEW < n) {
		ctl->syn_skip = VIPXDP_SYN_SKIP;
		ctl->syn_bypasses++;
	}
	ctl->syn_lookups = ctl->syn_renews = 0;
}

/*
 * Client -> VIP packet of a service without conntrack entry (a new flow, or
 * one this node has not seen): pick a backend, record the flow, rewrite.
 * Returns a reason when the packet cannot be forwarded, -1 after a rewrite.
 * gen: vipxdp_gen, read before anything else; ctl: this CPU's control
 * (cpu_ctl()) for a SYN, else unused.
 */
static __always_inline int lb_new_flow(struct xdp_md *ctx, const struct vipxdp_svc *svc,
				       const struct vipxdp_flow *f, struct l4_ptrs *p, bool syn,
				       __u64 bytes, __u32 now, __u32 gen,
				       const struct vipxdp_cfg *cfg, struct vipxdp_fc_ctl *ctl,
				       struct vipxdp_nh **nh, __u32 *tok)
{
	const struct vipxdp_backend *be;
	struct vipxdp_flow rk, *rkp = NULL;
	struct vipxdp_ct *fwd, *old = NULL;
	bool looked = false, renewed;
	__u32 be_id = 0;
	int rc;

	/* A SYN of a flow whose entry a SYN wrote in this generation of
	 * vipxdp_gen (ct->gen): nothing the control plane sets has changed
	 * since, so the service's table gives the entry's backend, and the
	 * entry is renewed as it stands (its next hop follows its token, as
	 * any packet's of the flow does), without the backend's lookup (the
	 * flow's hash, a cold line of the Maglev table, the backend, a new
	 * entry's next hop). Unless this CPU skips such lookups for now (a
	 * stream of new flows: syn_note()). */
	if (syn && svc->mode == VIPXDP_MODE_DNAT && syn_looks_up(ctl)) {
		looked = true;
		old = ct_get(f);
		if (old && old->gen == gen && old->flags == (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_BOTH) &&
		    old->svc_id == svc->id && old->qos == svc->qos) {
			old->state = VIPXDP_CT_SYN;
			if (old->last_seen != now)
				old->last_seen = now;
			rewrite(p, true, &old->daddr, old->dport);
			*tok = nh_token(now);
			*nh = &old->nh[0];
			be_id = old->backend_id;
			syn_note(ctl, true);
			goto count;
		}
	}
	be = pick_backend(svc, f, syn, &be_id, cfg);
	if (!be)
		return VIPXDP_R_drop_no_backend;
	if (svc->mode == VIPXDP_MODE_FULLNAT) {
		rc = ct_prepare_fullnat(f, svc, be, be_id, now, cfg, &fwd, &rk);
		if (rc >= 0)
			return rc;
		rkp = &rk;
		rewrite(p, true, &be->addr, be->port);
		rewrite(p, false, &svc->snat, rk.dport);
	} else {
		fwd = ct_scratch(0);
		if (!fwd)
			return VIPXDP_R_drop_error;
		fwd->daddr = be->addr;
		fwd->dport = be->port;
		fwd->flags = VIPXDP_CT_F_DNAT;
		fwd->qos = svc->qos;
		if (!(be->flags & VIPXDP_BE_F_REPLY_CT))
			fwd->flags |= VIPXDP_CT_F_BOTH;
		ct_init(fwd, f->proto, svc->id, be_id, now);
		/* See vipxdp_ct.gen: not a generation's value unless a SYN. */
		fwd->gen = syn ? gen : gen - 1;
		rewrite(p, true, &be->addr, be->port);
	}
	/* The translated packet's next hop is found before the entry is
	 * written and kept in it: the flow's next packet needs no FIB lookup,
	 * and this one's forward() uses it. */
	*tok = nh_token(now);
	be_next_hop(ctx, p, be, be_id, *tok, &fwd->nh[0]);
	renewed = old && (fwd->flags & VIPXDP_CT_F_BOTH) && ct_renew(old, fwd);
	if (looked)
		syn_note(ctl, renewed);
	if (!renewed && ct_commit(f, fwd, rkp))
		return VIPXDP_R_drop_error;
	*nh = &fwd->nh[0];
count:
	count_lb(&vipxdp_svc_st, svc->id, bytes, true, false);
	count_lb(&vipxdp_be_st, be_id, bytes, true, false);
	return -1;
}

#endif /* VIPXDP_BPF_LB_H */
