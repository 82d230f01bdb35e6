// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark wrapper for BPF_PROG_TEST_RUN. With repeat > 1 the kernel runs a
 * program again and again on the same buffer without restoring it, so a
 * program that rewrites packets (every forwarding path of vipxdp, the ARP
 * responder) would see its own output from the second iteration on. The
 * wrapper is the program that is test-run: on every iteration it writes the
 * whole frame again from a template (template = iteration & tmpl_mask,
 * optionally with a per-iteration source address and port, so every
 * iteration can be a different flow), then tail-calls slot `slot` of
 * bench_progs: the program under test, or a stub returning XDP_DROP whose
 * run measures the wrapper (copy + tail call) and the test-run loop. The
 * driver subtracts the stub's time from the program's.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_wrap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, BENCH_SLOT_MAX);
	__type(key, __u32);
	__type(value, __u32);
} bench_progs SEC(".maps");

/* Set by the driver through the skeleton (mmap-ed .bss) between runs. */
__u64 tmpl[BENCH_MAX_TMPL][BENCH_FRAME_LEN / 8];
__u32 tmpl_mask; /* number of templates - 1 */
__u32 vary;	 /* enum bench_vary */
__u32 flow_mask;
__u32 flow_mul; /* odd: 1 visits the flows in order, others scatter them */
__u32 port_bits;
__u32 src_base; /* host order */
__u32 slot;	/* enum bench_slot */
__u32 tmpl_count; /* BENCH_VARY_CONN4: packets per connection */
__u64 client_dst; /* BENCH_VARY_CONN4: bit k: template k is to the client */
/* Set when the program under test moves the frame's start (an encapsulating
 * load balancer, --katran): the frame is put back at its first place and
 * length before it is rewritten. */
__u32 restore_head;
/* Iteration counter. Test runs are serialised by the driver (one thread, one
 * CPU), so a plain global is as good as a per-CPU one. */
__u64 iter;

SEC("xdp")
int bench_wrap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *d = data;
	__u64 n = iter++, conn = 0;
	__u32 i = (__u32)n & tmpl_mask & (BENCH_MAX_TMPL - 1);

	if (restore_head) {
		long grown = (long)(data_end - data) - BENCH_FRAME_LEN;

		if (grown && bpf_xdp_adjust_head(ctx, (int)grown))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		d = data;
	}
	if (vary == BENCH_VARY_CONN4 && tmpl_count) {
		i = (__u32)(n % tmpl_count) & (BENCH_MAX_TMPL - 1);
		conn = n / tmpl_count;
	}
	if (data + BENCH_FRAME_LEN > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (int k = 0; k < BENCH_FRAME_LEN / 8; k++)
		d[k] = tmpl[i][k];

	if (vary == BENCH_VARY_SRC4) {
		__u32 addr;
		__be16 port;

		bench_src4(n, flow_mul, flow_mask, port_bits, src_base, &addr, &port);
		*(__be32 *)(data + BENCH_OFF_IP4_SADDR) = bpf_htonl(addr);
		*(__be16 *)(data + BENCH_OFF_IP4_SPORT) = port;
	} else if (vary == BENCH_VARY_CONN4) {
		__u32 bits = port_bits & 15;
		__be32 addr = bpf_htonl(src_base + (__u32)(conn >> bits));
		__be16 port = bpf_htons(1024 + ((__u32)conn & ((1u << bits) - 1)));

		if (client_dst >> i & 1) {
			*(__be32 *)(data + BENCH_OFF_IP4_DADDR) = addr;
			*(__be16 *)(data + BENCH_OFF_IP4_DPORT) = port;
		} else {
			*(__be32 *)(data + BENCH_OFF_IP4_SADDR) = addr;
			*(__be16 *)(data + BENCH_OFF_IP4_SPORT) = port;
		}
	}

	bpf_tail_call(ctx, &bench_progs, slot);
	return XDP_ABORTED; /* empty slot */
}

/* The baseline: what the wrapper and the test-run loop cost by themselves. */
SEC("xdp")
int bench_stub(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* The baseline of a program that prepends an outer IPv4 header (Katran's
 * IPIP): the same move of the frame's start, so that the wrapper's restore
 * of it next iteration is in the baseline too. This also subtracts the
 * program's own bpf_xdp_adjust_head() call from its figure: in its favour. */
SEC("xdp")
int bench_stub_encap(struct xdp_md *ctx)
{
	bpf_xdp_adjust_head(ctx, -20);
	return XDP_DROP;
}
