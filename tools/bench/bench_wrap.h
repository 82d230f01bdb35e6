/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Constants shared by the benchmark wrapper (tools/bench/bench_wrap.bpf.c)
 * and its driver (tools/bench_datapath.c).
 */
#ifndef VIPXDP_BENCH_WRAP_H
#define VIPXDP_BENCH_WRAP_H

/* Every template frame is exactly this long; the wrapper rewrites all of it
 * on every iteration, so the frame the data path sees is always pristine. */
#define BENCH_FRAME_LEN 96
/* Templates the wrapper can cycle through (a power of two). */
#define BENCH_MAX_TMPL 64

/* Slots of the wrapper's program array. */
enum bench_slot {
	BENCH_SLOT_DUT = 0,  /* the program under test (vipxdp_xdp) */
	BENCH_SLOT_STUB = 1, /* returns XDP_DROP: the wrapper's own cost */
	BENCH_SLOT_STUB_ENCAP = 2, /* prepends 20 bytes, returns XDP_DROP (--katran) */
	BENCH_SLOT_KAT = 3, /* Katran's balancer, beside the program under test (--katran) */
	BENCH_SLOT_CT_REF = 4, /* the conntrack lookup alone (bench_ctref.bpf.c) */
	BENCH_SLOT_MAX,
};

/* What the wrapper changes in the template after copying it. */
enum bench_vary {
	BENCH_VARY_NONE = 0,
	/* Untagged IPv4 TCP/UDP: flow = iteration x flow_mul & flow_mask
	 * (flow_mul odd: each flow once per 2^k iterations); source address
	 * src_base + (flow >> port_bits), source port 1024 + low port_bits
	 * bits of flow. Checksums are not fixed up: the data path only ever
	 * updates them incrementally, never verifies them. */
	BENCH_VARY_SRC4 = 1,
	/* Whole connections of untagged IPv4 TCP: iteration n is packet
	 * n % tmpl_count (its template) of connection n / tmpl_count, whose
	 * client is src_base + (conn >> port_bits) port 1024 + low port_bits
	 * bits of conn; the client is the source of a template, or its
	 * destination when bit (n % tmpl_count) of client_dst is set. */
	BENCH_VARY_CONN4 = 2,
};

#ifdef __BPF__
/* BENCH_VARY_SRC4's flow of iteration n: its source address (host order)
 * and port (network order). */
static __always_inline void bench_src4(__u64 n, __u32 flow_mul, __u32 flow_mask, __u32 port_bits,
				       __u32 src_base, __u32 *addr, __be16 *port)
{
	__u32 flow = (__u32)n * flow_mul & flow_mask;
	__u32 bits = port_bits & 15;

	*addr = src_base + (flow >> bits);
	*port = bpf_htons(1024 + (flow & ((1u << bits) - 1)));
}
#endif

/* Offsets in an untagged IPv4 frame. */
#define BENCH_OFF_IP4_SADDR 26
#define BENCH_OFF_IP4_DADDR 30
#define BENCH_OFF_IP4_SPORT 34
#define BENCH_OFF_IP4_DPORT 36

#endif /* VIPXDP_BENCH_WRAP_H */
