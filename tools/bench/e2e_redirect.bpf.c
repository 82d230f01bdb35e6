// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The "ideal redirect" of the end-to-end benchmark: the least an XDP load
 * balancer can do. Attached in the load balancer's place on its client-side
 * veth, it sends the frames to ntargets backend veths in turn (one, or the
 * three backends) through a devmap, rewriting only the MAC addresses: no
 * parsing, no lookup, no translation. Its packets/s are the ceiling vipxdp
 * is compared with.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "e2e_redirect.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Per target: destination then source MAC, set by the driver before load. */
const volatile __u8 macs[E2E_MAX_TARGETS][12];
const volatile __u32 ntargets = 1;

/* The next target (the benchmark runs on one CPU). */
__u32 next;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, E2E_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u32);
} e2e_tx_port SEC(".maps");

SEC("xdp")
int e2e_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 t = next & (E2E_MAX_TARGETS - 1);
	__u8 *d = data;

	if (data + 12 > data_end)
		return XDP_PASS;
	next = t + 1 < ntargets ? t + 1 : 0;
#pragma unroll
	for (int k = 0; k < 12; k++)
		d[k] = macs[t][k];
	return bpf_redirect_map(&e2e_tx_port, t, 0);
}
