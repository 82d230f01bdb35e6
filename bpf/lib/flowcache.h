/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow cache: a per-CPU, two-way set-associative copy of what conntrack
 * does to an established flow's packets (struct vipxdp_fc says when an
 * entry is good), and the fast path that uses it.
 *
 * fc_fast() runs first on every packet. It parses what the whole path
 * (datapath.h) parses, with the same helpers, but goes on only for TCP and
 * UDP without SYN, FIN or RST, TTL above 1, and an entry: then a
 * multiply-shift hash, the entry's address in this CPU's table and a
 * 16-byte compare (IPv6: 40) replace the service and conntrack hash lookups
 * (a jhash and a bucket walk each), and the packet gets exactly
 * what the whole path would do to it and is counted the same way (service,
 * backend, verdict, sampled talkers). Anything else returns -1 and takes the
 * whole path, which fills the cache after a conntrack hit that it forwarded;
 * but such TCP and UDP that the address pre-filter says is not ours are
 * passed here, after the cache missed, as the whole path would pass them.
 * When a CPU's lookups stop hitting (struct vipxdp_fc_ctl), it leaves the
 * cache alone for a while; TCP and UDP then take the conntrack fast path:
 * the flow's conntrack entry, without the whole path's checks, where the
 * entry is all the packet needs (the common frame, fc_fast4(), by
 * ct_fast4() under the key read from the packet; every other, fc_fast(), by
 * ct_fast(), which parses it again).
 *
 * The entry's read is a hit's one likely cache miss (at a thousand flows
 * and more the entry is in L2 at best), and everything on the way to it adds
 * to that wait: measured end to end, a second multiply in the hash cost 3%
 * of the packet rate. Hence one multiply, an entry address that does not go
 * through the stack (the CPU's table is found apart from the hash, and the
 * set within it by arithmetic), and no pre-filter before a hit.
 *
 * What a hit may miss, for at most an entry's life (VIPXDP_FC_TTL_JIFFIES):
 * a change another CPU makes to the flow's conntrack entry (LRU eviction, a
 * SYN reusing the 5-tuple that lands on another CPU). Changes the control
 * plane makes bump vipxdp_gen and take effect at once; a CPU's own SYN, FIN
 * or RST drops its entry.
 */
#ifndef VIPXDP_BPF_FLOWCACHE_H
#define VIPXDP_BPF_FLOWCACHE_H

#include "maps.h"
#include "parse.h"
#include "lb.h"
#include "forward.h"
#include "qos.h"
#include "stats.h"

/* A flow as the cache keys it: the entry's first 16 bytes as two words, and
 * the pointers to its four-word source and destination (the packet's, or a
 * struct vipxdp_flow's); IPv6 compares words 1..3 too. */
struct fc_key {
	__u64 k0; /* saddr0 | daddr0 << 32 */
	__u64 k1; /* sport | dport << 16 | proto << 32 | family << 40 */
	const __u32 *s;
	const __u32 *d;
	bool v6;
};

static __always_inline void fc_key_set(struct fc_key *k, const __u32 *s, const __u32 *d,
				       __be16 sport, __be16 dport, __u8 proto, __u8 family)
{
	k->k0 = (__u64)s[0] | (__u64)d[0] << 32;
	k->k1 = (__u64)sport | (__u64)dport << 16 | (__u64)proto << 32 | (__u64)family << 40;
	k->s = s;
	k->d = d;
	k->v6 = family == VIPXDP_AF_INET6;
}

static __always_inline void fc_key_of(struct fc_key *k, const struct vipxdp_flow *f)
{
	fc_key_set(k, f->saddr.w, f->daddr.w, f->sport, f->dport, f->proto, f->family);
}

/* This CPU's table, or NULL. */
static __always_inline struct vipxdp_fc_table *fc_table(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&vipxdp_fc, &cpu);
}

/* The key's set in table t: its entry in way 0 (fc_way()). */
static __always_inline struct vipxdp_fc *fc_set(struct vipxdp_fc_table *t, const struct fc_key *k)
{
	/* One multiply: its top bits depend on every bit of the key. Before
	 * it, the ports go to the upper half, with the destination, apart
	 * from the source address's bits: many clients' flows differ in both
	 * (a load generator's addresses x its ports), and bits of the two
	 * XORed onto each other would give many flows one set. */
	__u64 h = k->k0 ^ (k->k1 << 32 | k->k1 >> 32);

	if (k->v6)
		h ^= (__u64)(k->d[1] ^ k->d[2] ^ k->d[3]) << 32 | (k->s[1] ^ k->s[2] ^ k->s[3]);
	h *= 0x9e3779b97f4a7c15ull;
	/* 4096 sets (12 bits), way 0's entries of 64 bytes in a row: two
	 * shifts to the set's offset. */
	return (void *)t->e + ((h >> 52) << 6);
}
_Static_assert(sizeof(struct vipxdp_fc) == 64, "fc_set: entries of 64 bytes");
_Static_assert(VIPXDP_FC_SETS == 4096, "fc_set takes 12 bits");

/* The entry in way w of set (way 0's entry): the ways lie apart
 * (struct vipxdp_fc_table). */
static __always_inline struct vipxdp_fc *fc_way(struct vipxdp_fc *set, int w)
{
	return set + w * VIPXDP_FC_SETS;
}

/* Entry e's IPv6 words, at the same index in the table's x[]. */
static __always_inline struct vipxdp_fc6 *fc_x(const struct vipxdp_fc *e)
{
	return (void *)e + VIPXDP_FC_ENTRIES * sizeof(struct vipxdp_fc);
}
_Static_assert(__builtin_offsetof(struct vipxdp_fc_table, x) ==
		       __builtin_offsetof(struct vipxdp_fc_table, e) +
			       VIPXDP_FC_ENTRIES * sizeof(struct vipxdp_fc),
	       "fc_x: x[] right after e[]");

static __always_inline bool fc_match(const struct vipxdp_fc *e, const struct fc_key *k)
{
	const __u64 *w = (const __u64 *)e;
	const struct vipxdp_fc6 *x;

	if (w[0] != k->k0 || w[1] != k->k1)
		return false;
	if (!k->v6)
		return true;
	x = fc_x(e);
	return !((x->saddr[0] ^ k->s[1]) | (x->saddr[1] ^ k->s[2]) | (x->saddr[2] ^ k->s[3]) |
		 (x->daddr[0] ^ k->d[1]) | (x->daddr[1] ^ k->d[2]) | (x->daddr[2] ^ k->d[3]));
}

/* The fast path's clock: jiffies, read without a helper call. */
static __always_inline __u32 fc_now(void)
{
	return (__u32)bpf_jiffies64();
}

static __always_inline bool fc_good(const struct vipxdp_fc *e, __u32 now, __u32 gen)
{
	return e->family && now - e->jif < VIPXDP_FC_TTL_JIFFIES && e->gen == gen;
}

/* Did forward() send the packet (so that its next hop is cached)? */
static __always_inline bool forwarded(int reason)
{
	return reason == VIPXDP_R_fwd_tx || reason == VIPXDP_R_fwd_redirect;
}

/* The control plane's change counter (vipxdp_gen). */
static __always_inline __u32 fc_gen(void)
{
	return *(volatile __u32 *)&vipxdp_gen;
}

/* Is this CPU leaving the cache alone now (struct vipxdp_fc_ctl)? Counts
 * the packet when it is. While the CPU skips, a TCP packet's forget does
 * not look for its flow's entry (fc_forget()), and says so in unforgot:
 * the skip's last count then waits until an entry's life has passed since
 * the skip began (vipxdp_fc_table.skip_jif), so that no entry filled before
 * it (nothing is filled while it lasts) is good when it ends. A skip
 * without such a forget (UDP; at a high packet rate the count runs out in
 * milliseconds) ends with its count. */
static __always_inline bool fc_skip(struct vipxdp_fc_ctl *ctl)
{
	const struct vipxdp_fc_table *t;

	if (!ctl->skip)
		return false;
	if (ctl->skip == 1 && ctl->unforgot) {
		t = fc_table();
		if (t && fc_now() - t->skip_jif < VIPXDP_FC_TTL_JIFFIES)
			return true;
		ctl->unforgot = 0;
	}
	ctl->skip--;
	return true;
}

/* Count a hit: a lookup, and no more (a hit ends no window). */
static __always_inline void fc_note_hit(struct vipxdp_fc_ctl *ctl)
{
	ctl->lookups++;
}

/* Count a miss; at the end of a window with too few hits (for its
 * lookups, or for the fills of this CPU's table t), skip. */
static __always_inline void fc_note_miss(struct vipxdp_fc_ctl *ctl, struct vipxdp_fc_table *t)
{
	__u32 n = ++ctl->lookups, miss = ++ctl->misses, fills;

	if (n < VIPXDP_FC_WINDOW)
		return;
	fills = t ? t->fills : 0;
	if (t)
		t->fills = 0;
	/* hits = n - miss; misses > n only after n wrapped (4G hits). */
	if (miss > n || (n - miss) * VIPXDP_FC_MIN_HIT < n ||
	    n - miss < (__u64)fills * VIPXDP_FC_HITS_PER_FILL) {
		__u8 b = ctl->backoff;

		if (b > VIPXDP_FC_BACKOFF_MAX)
			b = VIPXDP_FC_BACKOFF_MAX;
		ctl->skip = (__u32)VIPXDP_FC_SKIP << b;
		ctl->unforgot = 0;
		if (t)
			t->skip_jif = fc_now();
		if (b < VIPXDP_FC_BACKOFF_MAX)
			ctl->backoff = b + 1;
		ctl->bypasses++;
	} else if (ctl->backoff) {
		ctl->backoff = 0;
	}
	ctl->lookups = ctl->misses = 0;
}

/* Does this CPU fill the cache now, not leaving it alone (fc_skip())? The
 * whole path asks before it calls a fill, only where it would fill: a CPU
 * leaving the cache alone does not make the call. */
static __always_inline bool fc_filling(void)
{
	const struct vipxdp_fc_ctl *ctl = cpu_ctl();

	return ctl && !ctl->skip;
}

/* The entry of key k in its set of table t, good or not, or NULL. */
static __always_inline struct vipxdp_fc *fc_entry(struct vipxdp_fc_table *t, const struct fc_key *k)
{
	struct vipxdp_fc *set = fc_set(t, k);

#pragma unroll
	for (int w = 0; w < VIPXDP_FC_WAYS; w++) {
		if (fc_match(fc_way(set, w), k))
			return fc_way(set, w);
	}
	return NULL;
}

/* e if it is a good entry (a match has its key's family: it is not an
 * empty entry), else NULL. */
static __always_inline struct vipxdp_fc *fc_fresh(struct vipxdp_fc *e, __u32 now, __u32 gen)
{
	return e && now - e->jif < VIPXDP_FC_TTL_JIFFIES && e->gen == gen ? e : NULL;
}

/* The good entry of key k in table t, or NULL. */
static __always_inline struct vipxdp_fc *fc_find(struct vipxdp_fc_table *t, const struct fc_key *k,
						 __u32 now, __u32 gen)
{
	return fc_fresh(fc_entry(t, k), now, gen);
}

/* The same, for an IPv4 key k whose set (way 0's entry) and first word w0
 * of way 0's entry were read already (fc_fast4()). */
static __always_inline struct vipxdp_fc *fc_find4(struct vipxdp_fc *set, const struct fc_key *k,
						  __u64 w0, __u32 now, __u32 gen)
{
	struct vipxdp_fc *e = NULL;

	if (w0 == k->k0 && ((const __u64 *)set)[1] == k->k1)
		e = set;
	else if (fc_match(fc_way(set, 1), k))
		e = fc_way(set, 1);
	return fc_fresh(e, now, gen);
}
_Static_assert(VIPXDP_FC_WAYS == 2, "fc_find4 looks at two ways");

/*
 * Must a SYN to a DNAT service drop its flow's entry on this CPU? A SYN
 * writes the flow's conntrack entry afresh: an entry cached from the old
 * one must go, unless it has what the new one will have. It does when a
 * SYN wrote the old one in this generation (the same table then gives the
 * same backend, and the next hop has its own token): the SYN then skips
 * the set's cache lines. Any other DNAT entry cached in this generation
 * (struct vipxdp_fc_ctl.syn_forget) makes SYNs drop theirs until the next.
 */
static __always_inline bool fc_syn_forget(const struct vipxdp_fc_ctl *ctl, __u32 gen)
{
	return !ctl || ctl->syn_forget == gen + 1;
}

/* Forget flow f on this CPU (its TCP state is about to change); 0. Out of
 * line, as the fills below: the whole path's stack frame is full. Global
 * functions, all three: the verifier checks each once, not once for each
 * of the whole path's ways to it (they return an int for that). */
__noinline int fc_forget(const struct vipxdp_flow *f)
{
	struct vipxdp_fc_table *t = fc_table();
	struct vipxdp_fc_ctl *ctl;
	struct vipxdp_fc *e;
	struct fc_key k;

	if (!f || !t)
		return 0;
	/* While the CPU leaves the cache alone, nothing is filled; with this
	 * noted, the skip outlasts every entry filled before it (fc_skip()):
	 * no entry it holds will be good again, and the set's cache lines
	 * need not be read. */
	ctl = cpu_ctl();
	if (ctl && ctl->skip) {
		if (!ctl->unforgot)
			ctl->unforgot = 1;
		return 0;
	}
	fc_key_of(&k, f);
	e = fc_entry(t, &k);
	if (e)
		e->family = 0;
	return 0;
}

/* One rewrite of an entry, address from -> to and port fport -> tport:
 * the new address (word 0 in *w0, IPv6 words 1..3 in rest, written for
 * IPv6 only) and port, and
 * what they change in the checksums, added to *addr_diff and *port_diff. */
static __always_inline void fc_set_rewrite(__be32 *w0, __be32 *rest, __be16 *port,
					   const __u32 *from, const struct vipxdp_addr *to,
					   __be16 fport, __be16 tport, bool v6, __u64 *addr_diff,
					   __u64 *port_diff)
{
	*w0 = to->w[0];
	if (v6) {
		rest[0] = to->w[1];
		rest[1] = to->w[2];
		rest[2] = to->w[3];
	}
	*port = tport;
	*addr_diff += v6 ? csum_diff_addr6(from, to->w) : csum_diff32(from[0], to->w[0]);
	*port_diff += csum_diff16(fport, tport);
}

/* The top-talker sampler's setting (vipxdp_cfg.talkers_sample: 0 or a power
 * of two up to 65536) as a hit reads it from its entry (vipxdp_fc.talk):
 * log2 + 1, 0 when off. A change of the setting bumps vipxdp_gen, so no
 * entry outlives the setting it carries. */
static __always_inline __u8 fc_talk_code(void)
{
	const struct vipxdp_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	if (!cfg || !cfg->talkers_sample)
		return 0;
#pragma unroll
	for (int i = 0; i <= 16; i++) {
		if (cfg->talkers_sample == 1u << i)
			return i + 1;
	}
	return 0; /* not a power of two: the control plane never sets that */
}

/*
 * Remember what was just done to flow f's packet: flags (enum
 * vipxdp_fc_flags), the new destination and source (daddr/saddr may be
 * NULL when the flags do not rewrite them), counters, and the next hop nh
 * that forward() has just used or filled (good with next-hop token tok,
 * nh_token()).
 * The flow's own entry is reused, else a way of its set that is not good;
 * good entries of other flows stay (a burst of new flows does not push out
 * the established ones, and costs no writes once the set is full).
 */
static __always_inline void fc_fill(const struct vipxdp_flow *f, __u8 flags,
				    const struct vipxdp_addr *daddr, __be16 dport,
				    const struct vipxdp_addr *saddr, __be16 sport, __u32 svc_id,
				    __u32 be_id, const struct vipxdp_nh *nh, __u32 tok, __u32 gen,
				    bool syn_unsafe)
{
	struct vipxdp_fc *e = NULL, *w, *set;
	struct vipxdp_fc6 *x;
	__u64 addr_diff = 0, port_diff = 0;
	__u32 now = fc_now();
	struct vipxdp_fc_table *t;
	struct vipxdp_fc_ctl *ctl;
	struct fc_key k;

	if (!nh_good(nh, tok))
		return;
	ctl = cpu_ctl();
	if (!ctl || ctl->skip)
		return; /* not paying on this CPU now */
	t = fc_table();
	if (!t)
		return;
	fc_key_of(&k, f);
	set = fc_set(t, &k);
#pragma unroll
	for (int i = 0; i < VIPXDP_FC_WAYS; i++) {
		w = fc_way(set, i);
		if (fc_match(w, &k)) {
			e = w;
			break;
		}
		if (!e && !fc_good(w, now, gen))
			e = w;
	}
	if (!e)
		return;
	if (syn_unsafe)
		ctl->syn_forget = gen + 1;
	t->fills++;
	*(__u64 *)e = k.k0;
	*((__u64 *)e + 1) = k.k1;
	x = fc_x(e);
	if (k.v6) {
		__builtin_memcpy(x->saddr, &f->saddr.w[1], 12);
		__builtin_memcpy(x->daddr, &f->daddr.w[1], 12);
	}
	e->gen = gen;
	e->jif = now;
	e->svc_id = svc_id;
	e->backend_id = be_id;
	e->flags = flags;
	e->talk = flags & VIPXDP_FC_F_VIP ? fc_talk_code() : 0;
	e->ifindex = nh->ifindex;
	__builtin_memcpy(e->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(e->smac, nh->smac, ETH_ALEN);
	/* What the rewrite does to the checksums, summed once here: a hit
	 * only adds it (RFC 1624). */
	if (flags & VIPXDP_FC_F_DNAT)
		fc_set_rewrite(&e->new_daddr0, x->new_daddr, &e->new_dport, f->daddr.w, daddr,
			       f->dport, dport, k.v6, &addr_diff, &port_diff);
	if (flags & VIPXDP_FC_F_SNAT)
		fc_set_rewrite(&e->new_saddr0, x->new_saddr, &e->new_sport, f->saddr.w, saddr,
			       f->sport, sport, k.v6, &addr_diff, &port_diff);
	e->ip_diff = csum_fold64(addr_diff + csum_ttl_diff());
	e->l4_diff = csum_fold64(addr_diff + port_diff);
}

/* Is a flow in conntrack state st (enum vipxdp_ct_state) cacheable? Only
 * established TCP and UDP (their packets change no state) whose idle
 * timeout is long enough; with syn_ok (a backend's replies to a one-entry
 * DNAT flow), TCP in its handshake too: the replies that follow a SYN-ACK
 * change no state either (it is the client's ACK, which takes the whole
 * path, that ends the handshake), so the response to a new connection's
 * first request is a hit. */
static __always_inline bool fc_state_ok(__u8 st, bool syn_ok)
{
	__u32 zero = 0, to;
	const struct vipxdp_cfg *cfg;

	if (st != VIPXDP_CT_EST && st != VIPXDP_CT_UDP && !(syn_ok && st == VIPXDP_CT_SYN))
		return false;
	/* Hits do not move the conntrack entry's age on: its timeout must
	 * outlast an entry's life (up to 2.6 s at HZ 100) by enough. */
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	if (!cfg)
		return false;
	to = st == VIPXDP_CT_EST   ? cfg->ct_timeout[VIPXDP_CT_EST]
	     : st == VIPXDP_CT_UDP ? cfg->ct_timeout[VIPXDP_CT_UDP]
				   : cfg->ct_timeout[VIPXDP_CT_SYN];
	return !to || to >= VIPXDP_FC_MIN_TIMEOUT;
}

/* Fill the cache from conntrack entry ct after forwarding a packet of its
 * key's direction (lb_known), with the next hop cached in ct->nh[0], good
 * with next-hop token tok. */
__noinline int fc_fill_ct(const struct vipxdp_flow *f, const struct vipxdp_ct *ct, __u32 tok,
			  __u32 gen)
{
	__u8 flags = 0;

	if (!f || !ct || ct->qos || !fc_state_ok(ct->state, false))
		return 0;
	if (ct->flags & VIPXDP_CT_F_DNAT)
		flags |= VIPXDP_FC_F_DNAT;
	if (ct->flags & VIPXDP_CT_F_SNAT)
		flags |= VIPXDP_FC_F_SNAT;
	if (ct->svc_id != VIPXDP_SVC_NONE)
		flags |= VIPXDP_FC_F_COUNT;
	if (ct->flags & VIPXDP_CT_F_REPLY)
		flags |= VIPXDP_FC_F_REPLY;
	else if (ct->flags & VIPXDP_CT_F_DNAT)
		flags |= VIPXDP_FC_F_VIP;
	/* A TCP DNAT flow whose entry no SYN wrote in this generation: a SYN
	 * of the flow may get another backend than this entry's. */
	fc_fill(f, flags, &ct->daddr, ct->dport, &ct->saddr, ct->sport, ct->svc_id, ct->backend_id,
		&ct->nh[0], tok, gen,
		(ct->flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_SNAT | VIPXDP_CT_F_REPLY)) ==
				VIPXDP_CT_F_DNAT &&
			f->proto == IPPROTO_TCP && ct->gen != gen);
	return 0;
}

/* Fill the cache for a backend's reply f to the one-entry DNAT flow of
 * entry ct, keyed fk (both_search()), with the next hop in ct->nh[1]: the
 * source becomes the address and port the flow was addressed to. */
__noinline int fc_fill_reply(const struct vipxdp_flow *f, const struct vipxdp_flow *fk,
			     const struct vipxdp_ct *ct, __u32 tok, __u32 gen)
{
	if (!f || !fk || !ct || !fc_state_ok(ct->state, true))
		return 0;
	fc_fill(f, VIPXDP_FC_F_SNAT | VIPXDP_FC_F_COUNT | VIPXDP_FC_F_REPLY, NULL, 0, &fk->daddr,
		fk->dport, ct->svc_id, ct->backend_id, &ct->nh[1], tok, gen, false);
	return 0;
}

/* A sampled packet to a VIP: its flow (what the sampler counts) into
 * scratch slot 0, for fc_talker_count() after the fast path (whose stack
 * frame would be too deep with vip_account's). 1 when it is there. */
static __always_inline bool fc_talker(const struct fc_key *k)
{
	struct vipxdp_flow *f;
	__u32 zero = 0;

	f = bpf_map_lookup_elem(&vipxdp_scratch, &zero);
	if (!f)
		return false;
	__builtin_memset(f, 0, sizeof(*f));
	f->family = k->v6 ? VIPXDP_AF_INET6 : VIPXDP_AF_INET;
	f->saddr.w[0] = k->s[0];
	f->daddr.w[0] = k->d[0];
	if (k->v6) {
		__builtin_memcpy(&f->saddr.w[1], &k->s[1], 12);
		__builtin_memcpy(&f->daddr.w[1], &k->d[1], 12);
	}
	return true;
}

/* Count the packet fc_fast() sampled (*talk) for the top talkers. */
static __always_inline void fc_talker_count(__u32 sample, __u64 bytes)
{
	struct vipxdp_flow *f;
	__u32 zero = 0;

	f = bpf_map_lookup_elem(&vipxdp_scratch, &zero);
	if (f)
		vip_account(f, 0, sample, bytes); /* no limit: only the sampler */
}

/*
 * The top-talker sampler of hits to a VIP, sampling one packet in n (talk
 * code c = log2 n + 1, vipxdp_fc.talk): n when this packet is sampled (it
 * counts as n packets), else 0. Where the whole path draws a random number
 * for every packet (talker_draw()), a hit counts down: the gaps between
 * samples are drawn uniformly from 1..2n-1, whose mean is n, so every
 * packet is sampled with probability 1/n in the long run and the estimate
 * stays unbiased; n = 1 samples every packet. A new setting (c other than
 * the one the count was drawn for) draws a new gap at once.
 */
static __always_inline __u32 fc_talk_draw(struct vipxdp_fc_ctl *ctl, __u8 c)
{
	__u32 n, left = ctl->talk_left;

	if (left > 1 && ctl->talk_code == c) {
		ctl->talk_left = left - 1;
		return 0;
	}
	n = 1u << ((c - 1) & 31);
	ctl->talk_left = 1 + xorshift32(&ctl->rng) % (2 * n - 1);
	ctl->talk_code = c;
	return n;
}

/* Write address word 0 and, for IPv6, words 1..3. */
static __always_inline void fc_put_addr(__u32 *a, __be32 w0, const __be32 *rest, bool v6)
{
	a[0] = w0;
	if (v6) {
		a[1] = rest[0];
		a[2] = rest[1];
		a[3] = rest[2];
	}
}

/* The entry's destination and source MACs (12 bytes from dmac, which is
 * 8-aligned) into the frame: an 8-byte and a 4-byte copy, where a copy into
 * struct ethhdr (packed) takes 12 single bytes. The verifier does not hold
 * packet access to alignment on this architecture, nor does the CPU. */
static __always_inline void fc_put_macs(struct ethhdr *eth, const struct vipxdp_fc *e)
{
	*(__u64 *)eth = *(const __u64 *)e->dmac;
	*(__u32 *)((void *)eth + 8) = *(const __u32 *)(e->dmac + 8);
}
_Static_assert(__builtin_offsetof(struct vipxdp_fc, dmac) % 8 == 0, "fc_put_macs: 8-aligned MACs");
_Static_assert(__builtin_offsetof(struct vipxdp_fc, smac) ==
		       __builtin_offsetof(struct vipxdp_fc, dmac) + 6,
	       "fc_put_macs: smac after dmac");

_Static_assert(VIPXDP_FC_F_REPLY * 3 == __builtin_offsetof(struct vipxdp_lb_stats, reply_packets),
	       "fc_apply: F_REPLY times 3 is the offset of reply_packets");

/* A hit: the packet gets what the whole path would do to it; the checksums
 * take the entry's precomputed differences. */
static __always_inline int fc_apply(struct xdp_md *ctx, struct ethhdr *eth, struct l4_ptrs *p,
				    const struct vipxdp_fc *e, const struct fc_key *k,
				    struct vipxdp_fc_ctl *ctl, __u64 bytes, __u32 *talk)
{
	__u8 flags = e->flags;

	/* Only entries of packets to a VIP have a sampler setting. */
	if (e->talk) {
		__u32 sample = fc_talk_draw(ctl, e->talk);

		if (sample && fc_talker(k))
			*talk = sample;
	}
	if (flags & VIPXDP_FC_F_COUNT) {
		/* F_REPLY (8) times 3: the offset of reply_packets (24), without
		 * a branch. */
		__u32 off = (flags & VIPXDP_FC_F_REPLY) * 3;
		__u32 svc = e->svc_id; /* 16 bits in the entry: a 32-bit key */

		count_lb_hit(&vipxdp_svc_st, &svc, bytes, off);
		/* the entry's backend_id is the key: no copy through the stack */
		count_lb_hit(&vipxdp_be_st, &e->backend_id, bytes, off);
	}
	if (flags & VIPXDP_FC_F_DNAT) {
		fc_put_addr(p->v6 ? p->ip6->daddr.in6_u.u6_addr32 : &p->ip4->daddr, e->new_daddr0,
			    fc_x(e)->new_daddr, p->v6);
		*p->dport = e->new_dport;
	}
	if (flags & VIPXDP_FC_F_SNAT) {
		fc_put_addr(p->v6 ? p->ip6->saddr.in6_u.u6_addr32 : &p->ip4->saddr, e->new_saddr0,
			    fc_x(e)->new_saddr, p->v6);
		*p->sport = e->new_sport;
	}
	if (!p->v6) {
		p->ip4->check = csum_apply16(p->ip4->check, e->ip_diff);
		p->ip4->ttl--;
	} else {
		p->ip6->hop_limit--;
	}
	*p->check = p->udp ? csum_apply16_udp(*p->check, e->l4_diff)
			   : csum_apply16(*p->check, e->l4_diff);
	fc_put_macs(eth, e);
	return send_via(ctx, e->ifindex);
}

/* What the address pre-filter says of a TCP or UDP packet whose source
 * and destination fold to sx and dx (vipxdp_addr_fold(): word 0, IPv6
 * XORed with words 1..3), as the whole path reads it: 0 = not
 * ours (it passes the packet), FC_OURS_BE = its source may be a backend,
 * FC_OURS = anything else that may be ours (to a VIP, or source NAT on);
 * -1 without the filter. */
#define FC_OURS 1
#define FC_OURS_BE 2
static __always_inline int fc_ours(const struct vipxdp_cfg *cfg, __u32 sx, __u32 dx)
{
	const struct vipxdp_filter *filt;
	__u32 zero = 0;

	filt = bpf_map_lookup_elem(&vipxdp_filter, &zero);
	if (!filt)
		return -1;
	if (filter_hit(filt->backend, vipxdp_filter_bit_x(sx)))
		return FC_OURS_BE;
	if (filter_hit(filt->vip, vipxdp_filter_bit_x(dx)))
		return FC_OURS;
	return cfg->flags & VIPXDP_CFG_F_SNAT ? FC_OURS : 0;
}

/* A packet from s to d (four words each for IPv6) that the cache did not
 * answer: pass it when the address filter says it is not ours (as the
 * whole path would at once), else -1. Counts the miss against the hit rate,
 * but not while the cache is off. */
static __always_inline int fc_miss(struct vipxdp_fc_ctl *ctl, struct vipxdp_fc_table *t,
				   const __u32 *s, const __u32 *d, bool v6)
{
	const struct vipxdp_cfg *cfg;
	__u32 zero = 0, sx = s[0], dx = d[0];
	int ours;

	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	if (!cfg)
		return -1;
	if (v6) {
		sx ^= s[1] ^ s[2] ^ s[3];
		dx ^= d[1] ^ d[2] ^ d[3];
	}
	ours = fc_ours(cfg, sx, dx);
	if (ours < 0)
		return -1;
	if (!ours)
		return VIPXDP_R_pass_no_service;
	if (!(cfg->flags & VIPXDP_CFG_F_NO_FC))
		fc_note_miss(ctl, t);
	return -1;
}

/* The fast path's clock, change counter and table. fc_fast() gets them
 * before it reads the key (the table and the clock are helper calls, which
 * the verifier inlines, but calls to the compiler), so that the key's words
 * go from the packet to the entry's address without a spill and reload in
 * between; fc_fast4() gets the table first and the rest after its early
 * read of the entry. */
struct fc_env {
	__u32 now;
	__u32 gen;
	struct vipxdp_fc_table *t;
};

static __always_inline void fc_env_get(struct fc_env *env)
{
	env->now = fc_now();
	env->gen = fc_gen();
	env->t = fc_table();
}

/*
 * The cache's answer for a TCP or UDP packet parsed into p and keyed k,
 * whose good entry is e (NULL: none, or not looked for): the hit's reason,
 * or what fc_miss() says. Only flows the whole path forwarded have an
 * entry, so a hit needs no address filter; and a flow's entry is good only
 * while vipxdp_gen has not moved since it was filled (so not after the
 * cache was turned off, nor after any other change).
 */
static __always_inline int fc_answer(struct xdp_md *ctx, struct vipxdp_fc_ctl *ctl,
				     const struct fc_env *env, struct ethhdr *eth,
				     struct l4_ptrs *p, const struct fc_key *k, struct vipxdp_fc *e,
				     __u64 bytes, __u32 *talk)
{
	if (e) {
		fc_note_hit(ctl);
		return fc_apply(ctx, eth, p, e, k, ctl, bytes, talk);
	}
	/* A miss: what the whole path would pass at once, passed here. */
	return fc_miss(ctl, env->t, k->s, k->d, k->v6);
}

/* fc_answer(), after looking k up in this CPU's table. */
static __always_inline int fc_lookup(struct xdp_md *ctx, struct vipxdp_fc_ctl *ctl,
				     const struct fc_env *env, struct ethhdr *eth,
				     struct l4_ptrs *p, const struct fc_key *k, __u64 bytes,
				     __u32 *talk)
{
	struct vipxdp_fc *e = NULL;

	if (env->t)
		e = fc_find(env->t, k, env->now, env->gen);
	return fc_answer(ctx, ctl, env, eth, p, k, e, bytes, talk);
}

/* The common frame's fixed offsets (fc_common4()). */
#define FC4_IP ETH_HLEN
#define FC4_L4 (FC4_IP + 20)
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "fc_common4 and the entry's key words are laid out for little-endian loads");

/* Is this frame (data, data_end) long enough for the common frame's UDP,
 * with EtherType 0x0800, then version 4 and IHL 5 (bytes 12..14)? */
static __always_inline bool fc_is_common4(void *data, void *data_end)
{
	return data + FC4_L4 + sizeof(struct udphdr) <= data_end &&
	       (*(const __u32 *)(data + 12) & 0xffffff) == 0x450008;
}

/*
 * The common frame: untagged Ethernet, IPv4 without options, not a
 * fragment, TTL above 1, TCP or UDP whose header the IP total length holds.
 * Parsed at fixed offsets, so that the key is two loads from the packet and
 * the way to the entry is short; the frame's start is checked before, by
 * fc_is_common4(). The checks here are parse_ipv4()'s and parse_tcp()'s or
 * parse_udp()'s for this frame: true, and p set, when the whole path would
 * parse it as TCP or UDP without finding anything wrong, with TTL above 1;
 * false for a frame that starts so but is not TCP or UDP, or is a fragment,
 * has TTL 1 or lengths that do not fit.
 */
static __always_inline bool fc_parse4(void *data, void *data_end, struct l4_ptrs *p)
{
	struct iphdr *ip = data + FC4_IP;
	__u32 x, tot;
	__u8 l4proto;

	p->ip4 = ip;
	/* Fragment offset and flags, TTL, protocol: bytes 6..9 of IP. */
	x = *(const __u32 *)((void *)ip + 6);
	if (x & bpf_htons(VIPXDP_IP_MF | VIPXDP_IP_OFFSET) || ((x >> 16) & 0xff) <= 1)
		return false;
	l4proto = x >> 24;
	tot = bpf_ntohs(ip->tot_len);
	if ((void *)ip + tot > data_end)
		return false;
	if (l4proto == IPPROTO_UDP) {
		struct udphdr *uh = data + FC4_L4;
		__u32 len = bpf_ntohs(uh->len);

		if (tot < 20 + sizeof(*uh) || len < sizeof(*uh) || len > tot - 20)
			return false;
		p->check = &uh->check;
		p->udp = true;
	} else if (l4proto == IPPROTO_TCP) {
		struct tcphdr *th = data + FC4_L4;

		if ((void *)(th + 1) > data_end || tot < 20 + sizeof(*th) || th->doff < 5 ||
		    th->doff * 4 > tot - 20)
			return false;
		p->check = &th->check;
	} else {
		return false;
	}
	/* Both headers start with the source and destination ports. */
	p->sport = data + FC4_L4;
	p->dport = data + FC4_L4 + 2;
	return true;
}

/* The common frame's key k (fc_parse4()), its set and way 0's first word
 * w0 read already (fc_fast4(); set is NULL without a table): the reason
 * (fc_answer()), or -1 (the whole path) for a frame fc_parse4() refuses, so
 * on every frame this way does what fc_fast() would. */
static __always_inline int fc_common4(struct xdp_md *ctx, struct vipxdp_fc_ctl *ctl,
				      const struct fc_env *env, void *data, void *data_end,
				      const struct fc_key *k, struct vipxdp_fc *set, __u64 w0,
				      __u32 *talk)
{
	struct l4_ptrs p = {};
	struct vipxdp_fc *e = NULL;

	if (!fc_parse4(data, data_end, &p))
		return -1;
	if (set)
		e = fc_find4(set, k, w0, env->now, env->gen);
	return fc_answer(ctx, ctl, env, data, &p, k, e, data_end - data, talk);
}

/* The common frame's key words (struct fc_key's k0, k1), which are also
 * its conntrack key's (struct vipxdp_ct_key): the addresses (saddr then
 * daddr) and the ports (sport then dport) as they lie in the packet, the
 * protocol and the family. */
static __always_inline void fc_key4(void *data, __u64 *k0, __u64 *k1)
{
	struct iphdr *ip = data + FC4_IP;

	*k0 = *(const __u64 *)&ip->saddr;
	*k1 = *(const __u32 *)(data + FC4_L4) | (__u64)ip->protocol << 32 |
	      (__u64)VIPXDP_AF_INET << 40;
}
_Static_assert(sizeof(struct vipxdp_ct_key) == 16 &&
		       __builtin_offsetof(struct vipxdp_ct_key, b) == 4 &&
		       __builtin_offsetof(struct vipxdp_ct_key, sport) == 8 &&
		       __builtin_offsetof(struct vipxdp_ct_key, proto) == 12 &&
		       __builtin_offsetof(struct vipxdp_ct_key, family) == 13,
	       "fc_key4: the key words are the conntrack key's");

/* ct_fast4(), ct_fast(): the flow is not known (no conntrack entry, nor a
 * DNAT flow this is a backend's reply to): the whole path may skip its
 * search. */
#define FC_CT_NONE (-2)
/* ct_reply_fast(): no DNAT flow that this packet replies to. */
#define FC_CT_NO_REPLY (-3)

/* The conntrack fast path's reply branch (ct_fast4(), ct_fast()): packet
 * p of flow f, whose source may be a backend's, as a reply to a one-entry
 * DNAT flow (both_search()): the reason, -1 (the whole path) when the
 * reply's next hop is not good now, FC_CT_NO_REPLY when it is no reply. */
static __always_inline int ct_reply_fast(struct xdp_md *ctx, void *data, __u64 bytes,
					 struct l4_ptrs *p, struct vipxdp_flow *f, __u32 now,
					 const struct vipxdp_cfg *cfg, __u8 tcpflags)
{
	struct vipxdp_flow *fk;
	struct vipxdp_ct *ct;
	struct vipxdp_nh *nh;
	__u32 one = 1;

	fk = bpf_map_lookup_elem(&vipxdp_scratch, &one);
	ct = fk ? both_search(f, fk, now, cfg) : NULL;
	if (!ct || !fk)
		return FC_CT_NO_REPLY;
	nh = &ct->nh[1];
	if (!nh_good(nh, nh_token(now)))
		return -1;
	ct_touch(ct, now, tcpflags);
	lb_reply(ct, fk, p, bytes);
	return send_cached(ctx, data, p, nh);
}

/* The conntrack fast path's own-key branch: packet p whose own key found
 * ct (NULL: none): the reason, FC_CT_NONE without an entry, -1 (the whole
 * path) for an expired entry, a packet to a VIP that its rate limit or the
 * top-talker sampler must see, and a next hop that is not good now. */
static __always_inline int ct_known_fast(struct xdp_md *ctx, void *data, __u64 bytes,
					 struct l4_ptrs *p, struct vipxdp_ct *ct, __u32 now,
					 const struct vipxdp_cfg *cfg, __u8 tcpflags)
{
	struct vipxdp_nh *nh;

	if (!ct)
		return FC_CT_NONE;
	if (ct_expired(ct, now, cfg))
		return -1;
	if ((ct->flags & (VIPXDP_CT_F_DNAT | VIPXDP_CT_F_REPLY)) == VIPXDP_CT_F_DNAT &&
	    (ct->qos || cfg->talkers_sample))
		return -1;
	nh = &ct->nh[0];
	if (!nh_good(nh, nh_token(now)))
		return -1;
	ct_touch(ct, now, tcpflags);
	lb_known(ct, p, bytes);
	return send_cached(ctx, data, p, nh);
}

/*
 * The common frame of TCP (without SYN, FIN or RST: fc_fast4() checked) or
 * UDP while this CPU leaves the flow cache alone (fc_skip(): many flows,
 * or short ones) or the cache is off: the whole path's known-flow part
 * (vipxdp_process()) without its second parse, for the flow of key words
 * k0, k1 (fc_key4()). As there: a packet whose source may be a backend's
 * is first tried as a reply to a one-entry DNAT flow (ct_reply_fast()),
 * then every packet under its own key (ct_known_fast()). When what it
 * finds is all the packet needs, it does what the whole path does, with
 * the same functions (ct_touch(), lb_known() or lb_reply(), send_cached()
 * for the cached next hop, as forward() sends to it) and returns the
 * reason; pass_no_service for a packet the address pre-filter says is not
 * ours (as the whole path would); FC_CT_NONE when neither search finds a
 * flow (the whole path then skips them); and -1 (the whole path, from the
 * start) for all else: an expired entry of its own key, a packet to a VIP
 * that its rate limit or the top-talker sampler must see, and a next hop
 * that is not cached or not good now (the whole path looks it up). Nothing
 * is written before the last check. A global function: verified once.
 */
__noinline int ct_fast4(struct xdp_md *ctx, __u64 k0, __u64 k1)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + FC4_IP;
	const struct vipxdp_cfg *cfg;
	struct l4_ptrs p = {};
	__u64 key[2] = { k0, k1 };
	__u32 zero = 0, now;
	__u8 tcpflags = 0;
	int ours, rc;

	if (!fc_is_common4(data, data_end) || !fc_parse4(data, data_end, &p))
		return -1;
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	if (!cfg)
		return -1;
	ours = fc_ours(cfg, ip->saddr, ip->daddr);
	if (ours < 0)
		return -1;
	if (!ours)
		return VIPXDP_R_pass_no_service;
	if (!p.udp) {
		const __u8 *flags = data + FC4_L4 + 13;

		if ((void *)(flags + 1) > data_end)
			return -1;
		tcpflags = *flags;
	}
	p.has_ports = true;
	p.has_csum = true;
	p.csum_pseudo = true;
	now = ct_epoch();
	if (ours == FC_OURS_BE) {
		struct vipxdp_flow f = {
			.saddr.w[0] = ip->saddr,
			.daddr.w[0] = ip->daddr,
			.sport = *p.sport,
			.dport = *p.dport,
			.proto = ip->protocol,
			.family = VIPXDP_AF_INET,
		};

		rc = ct_reply_fast(ctx, data, data_end - data, &p, &f, now, cfg, tcpflags);
		if (rc != FC_CT_NO_REPLY)
			return rc;
	}
	return ct_known_fast(ctx, data, data_end - data, &p, bpf_map_lookup_elem(&vipxdp_ct, key),
			     now, cfg, tcpflags);
}

/* This CPU's flow cache control, or NULL when the cache is off or the CPU
 * is leaving it alone now (then the packet takes the whole path). */
static __always_inline struct vipxdp_fc_ctl *fc_ctl_get(void)
{
	struct vipxdp_fc_ctl *ctl = cpu_ctl();

	return ctl && !ctl->off && !fc_skip(ctl) ? ctl : NULL;
}

/*
 * The fast path, in two parts, each out of line (as the whole path,
 * vipxdp_process()): each one's code stays small and together, and the
 * stack frames are not added up (each may use what the entry point leaves
 * of the 512 bytes). Both return the reason the packet ends with when the
 * cache answers it (or when it is TCP/UDP that the cache missed and the
 * address filter says is not ours, which the whole path would pass too),
 * -1 to take the whole path. *talk is set when the top-talker sampler
 * picked the packet: the caller then counts it (fc_talker_count()).
 *
 * fc_fast4() takes the frames that start as the common frame
 * (fc_is_common4(), checked by the caller), fc_fast() every other: apart,
 * the compiler cannot merge the two ways' tails into one that keeps the
 * common frame's constants in registers and on the stack.
 */
static __noinline int fc_fast4(struct xdp_md *ctx, __u32 *talk)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + FC4_IP;
	struct vipxdp_fc_ctl *ctl;
	struct vipxdp_fc *set = NULL;
	struct fc_env env;
	struct fc_key k;
	__u64 w0 = 0;

	/* The caller checked already; the verifier needs this function's
	 * own check. */
	if (!fc_is_common4(data, data_end))
		return -1;
	/* Neither a frame that is not TCP or UDP nor a TCP SYN, FIN or RST
	 * is answered by the cache: they go to the whole path at once, before
	 * the cache control is looked up (as in fc_fast()). So does a frame
	 * too short for the flags, as in fc_common4(). */
	if (ip->protocol == IPPROTO_TCP) {
		const __u8 *flags = data + FC4_L4 + 13;

		if ((void *)(flags + 1) > data_end ||
		    *flags & (PKT_TCP_SYN | PKT_TCP_FIN | PKT_TCP_RST))
			return -1;
	} else if (ip->protocol != IPPROTO_UDP) {
		return -1;
	}
	/* The key, then the first word of its set's way 0 entry, before the
	 * other checks: that read is a hit's likely cache miss, and the
	 * checks after it go on while it waits (1,024 flows cycled in
	 * bench_datapath: 16.1-16.4 -> 14.3 ns). */
	fc_key4(data, &k.k0, &k.k1);
	ctl = fc_ctl_get();
	if (!ctl)
		return ct_fast4(ctx, k.k0, k.k1);
	k.s = &ip->saddr;
	k.d = &ip->daddr;
	k.v6 = false;
	env.t = fc_table();
	if (env.t) {
		set = fc_set(env.t, &k);
		w0 = *(volatile __u64 *)set;
	}
	env.now = fc_now();
	env.gen = fc_gen();
	return fc_common4(ctx, ctl, &env, data, data_end, &k, set, w0, talk);
}

/* What fc_parse() finds besides p. */
struct fc_pkt {
	struct ethhdr *eth;
	const __u32 *s, *d; /* the addresses: four words each for IPv6 */
	__u8 l4proto;
	__u8 family;
	__u8 tcpflags; /* 0 for UDP */
};

/*
 * Every frame but the common one (VLAN tags, IPv4 options, IPv6, or one
 * the whole path will find something wrong with), parsed into p and x:
 * true for TCP without SYN, FIN or RST, or UDP, that the whole path would
 * parse without finding anything wrong, with TTL or hop limit above 1;
 * false for every other frame (the whole path's).
 */
static __always_inline bool fc_parse(void *data, void *data_end, struct l4_ptrs *p,
				     struct fc_pkt *x)
{
	struct hdr_cursor c = { .pos = data };
	void *l4_end;
	int proto;

	proto = parse_eth(&c, data_end, &x->eth);
	if (proto == bpf_htons(ETH_P_IP)) {
		if (parse_ipv4(&c, data_end, &p->ip4, &x->l4proto) != IP_OK || p->ip4->ttl <= 1)
			return false;
		x->s = &p->ip4->saddr;
		x->d = &p->ip4->daddr;
		x->family = VIPXDP_AF_INET;
		l4_end = (void *)p->ip4 + bpf_ntohs(p->ip4->tot_len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (parse_ipv6(&c, data_end, &p->ip6, &x->l4proto) != IP_OK ||
		    p->ip6->hop_limit <= 1)
			return false;
		p->v6 = true;
		x->s = p->ip6->saddr.in6_u.u6_addr32;
		x->d = p->ip6->daddr.in6_u.u6_addr32;
		x->family = VIPXDP_AF_INET6;
		l4_end = (void *)(p->ip6 + 1) + bpf_ntohs(p->ip6->payload_len);
	} else {
		return false;
	}
	x->tcpflags = 0;
	if (x->l4proto == IPPROTO_TCP) {
		struct tcphdr *th;

		if (parse_tcp(&c, data_end, l4_end, &th))
			return false;
		x->tcpflags = ((__u8 *)th)[13];
		if (x->tcpflags & (PKT_TCP_SYN | PKT_TCP_FIN | PKT_TCP_RST))
			return false;
		p->sport = &th->source;
		p->dport = &th->dest;
		p->check = &th->check;
	} else if (x->l4proto == IPPROTO_UDP) {
		struct udphdr *uh;

		if (parse_udp(&c, data_end, l4_end, &uh))
			return false;
		p->sport = &uh->source;
		p->dport = &uh->dest;
		p->check = &uh->check;
		p->udp = true;
	} else {
		return false;
	}
	return true;
}

/*
 * ct_fast4()'s way for every frame fc_parse() takes (IPv6, VLAN tags,
 * IPv4 options): the same searches and answers, and FC_CT_NONE or -1 in
 * the same cases. It parses the frame again (fc_fast() did, before it
 * looked at the cache control): a global function, verified once, whose
 * packet pointers are its own.
 */
__noinline int ct_fast(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct vipxdp_flow f = {};
	const struct vipxdp_cfg *cfg;
	struct l4_ptrs p = {};
	struct fc_pkt x;
	__u32 zero = 0, now;
	int ours, rc;

	if (!fc_parse(data, data_end, &p, &x))
		return -1;
	cfg = bpf_map_lookup_elem(&vipxdp_cfg, &zero);
	if (!cfg)
		return -1;
	if (p.v6) {
		__builtin_memcpy(&f.saddr, x.s, 16);
		__builtin_memcpy(&f.daddr, x.d, 16);
	} else {
		f.saddr.w[0] = x.s[0];
		f.daddr.w[0] = x.d[0];
	}
	ours = fc_ours(cfg, vipxdp_addr_fold(&f.saddr), vipxdp_addr_fold(&f.daddr));
	if (ours < 0)
		return -1;
	if (!ours)
		return VIPXDP_R_pass_no_service;
	/* The rest of the flow only for packets that may be ours. */
	f.sport = *p.sport;
	f.dport = *p.dport;
	f.proto = x.l4proto;
	f.family = x.family;
	p.has_ports = true;
	p.has_csum = true;
	p.csum_pseudo = true;
	now = ct_epoch();
	if (ours == FC_OURS_BE) {
		rc = ct_reply_fast(ctx, x.eth, data_end - data, &p, &f, now, cfg, x.tcpflags);
		if (rc != FC_CT_NO_REPLY)
			return rc;
	}
	return ct_known_fast(ctx, x.eth, data_end - data, &p, ct_get(&f), now, cfg, x.tcpflags);
}

static __noinline int fc_fast(struct xdp_md *ctx, __u32 *talk)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct l4_ptrs p = {};
	struct vipxdp_fc_ctl *ctl;
	struct fc_env env;
	struct fc_pkt x;
	struct fc_key k;

	if (!fc_parse(data, data_end, &p, &x))
		return -1;
	/* Only now, as in fc_fast4(): ARP, NDP, ICMP, a TCP SYN, FIN or RST
	 * and every other frame the cache never answers go to the whole path
	 * without this CPU's cache control (a lookup, and a count of a skip,
	 * which so counts only the packets the cache could answer). */
	ctl = fc_ctl_get();
	if (!ctl)
		return ct_fast(ctx);
	fc_env_get(&env);
	fc_key_set(&k, x.s, x.d, *p.sport, *p.dport, x.l4proto, x.family);
	return fc_lookup(ctx, ctl, &env, x.eth, &p, &k, data_end - data, talk);
}

#endif /* VIPXDP_BPF_FLOWCACHE_H */
