// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The conntrack lookup alone, for bench_datapath's case 4: the lookup of
 * its flows in the data path's own conntrack table (the driver hands this
 * object vipxdp_ct's descriptor before loading it), in the order the
 * wrapper visits them, and nothing else. Run in the wrapper's slot
 * BENCH_SLOT_CT_REF against the stub, as the data path is, so that case 4
 * less this is what the rest of the path costs.
 *
 * Each iteration's flow is the program's own count n through the wrapper's
 * formula (bench_src4()): the flows in the data path's order, from wherever
 * the count stands.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "vipxdp_abi.h"
#include "bench_wrap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Replaced by vipxdp_ct (bpf_map__reuse_fd()) before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct vipxdp_ct_key);
	__type(value, struct vipxdp_ct);
} ref_ct SEC(".maps");

/* Set by the driver: the wrapper's BENCH_VARY_SRC4 settings and the
 * flows' destination (network order). */
__u32 flow_mask, flow_mul, port_bits, src_base, daddr;
__u16 dport;
__u64 n;      /* iterations so far */
__u64 misses; /* lookups that found no entry: 0 when the flows are all there */

SEC("xdp")
int bench_ct_ref(struct xdp_md *ctx)
{
	struct vipxdp_ct_key k = { .b = daddr, .dport = dport, .proto = IPPROTO_TCP,
				   .family = VIPXDP_AF_INET };
	__u32 addr;

	bench_src4(n++, flow_mul, flow_mask, port_bits, src_base, &addr, &k.sport);
	k.a = bpf_htonl(addr);
	if (bpf_map_lookup_elem(&ref_ct, &k))
		return XDP_DROP;
	misses++;
	return XDP_PASS;
}
