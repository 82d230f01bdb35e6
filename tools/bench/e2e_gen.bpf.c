// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet generator of the end-to-end benchmark (tools/bench_e2e.sh), run by
 * `bench_xdp send` through BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 * on the client's veth: every XDP_TX of a live-frames run is transmitted
 * out of the ingress interface given in the context, i.e. into the veth
 * pair, where the load balancer's XDP program receives it.
 *
 * The kernel recycles live-frame pages without restoring their contents, and
 * the frames are rewritten downstream (vipxdp's DNAT, the ideal redirect's
 * MACs), so a recycled page holds what the last receiver left there. The
 * program therefore writes the headers again on every iteration from a
 * template, then sets the source port (sport_base + iteration % nports, so
 * the packets spread over nports flows) and the UDP checksum for it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "e2e.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the driver before load. */
const volatile __u64 hdr[E2E_GEN_HDR_WORDS]; /* template, source port 0, UDP checksum 0 */
const volatile __u32 csum_base; /* one's complement sum of the UDP checksum's
				 * input with source port 0, not folded */
const volatile __u32 sport_base;
const volatile __u32 nports;

/* Iterations so far. The driver runs one thread on one CPU. */
__u64 iter;

SEC("xdp")
int e2e_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *d = data;
	__u32 sport, sum;

	if (data + E2E_GEN_HDR_LEN > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (int k = 0; k < E2E_GEN_HDR_WORDS; k++)
		d[k] = hdr[k];

	sport = (sport_base + (__u32)(iter++ % nports)) & 0xffff;
	*(__be16 *)(data + E2E_OFF_UDP_SPORT) = bpf_htons(sport);
	/* The sum is taken over 16-bit words in network order; on a
	 * little-endian CPU the word read from memory is byte-swapped, and the
	 * one's complement sum commutes with that swap, so both the base and
	 * the port are added as they sit in memory. */
	sum = csum_base + bpf_htons(sport);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	*(__u16 *)(data + E2E_OFF_UDP_CSUM) = sum ? sum : 0xffff;
	return XDP_TX;
}
