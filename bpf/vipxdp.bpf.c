/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vipxdp XDP entry point. The per-packet logic lives in lib/: the flow
 * cache's fast path (flowcache.h) first, the whole path (datapath.h) when it
 * does not answer. This file turns the reason a packet ends with into its
 * verdict and counts it, in one place.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/datapath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int reason_action(int reason)
{
	switch (reason) {
	case VIPXDP_R_arp_reply:
	case VIPXDP_R_ndp_reply:
	case VIPXDP_R_fwd_tx:
		return XDP_TX;
	case VIPXDP_R_fwd_redirect:
		return XDP_REDIRECT;
	case VIPXDP_R_drop_malformed:
	case VIPXDP_R_drop_frag:
	case VIPXDP_R_drop_no_backend:
	case VIPXDP_R_drop_nat_ports:
	case VIPXDP_R_drop_qos:
	case VIPXDP_R_drop_error:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

SEC("xdp")
int vipxdp_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	__u32 talk = 0;
	/* The flow cache: the common frame's way (fc_fast4()) or the general
	 * one (fc_fast()), chosen before either is called. */
	int reason = fc_is_common4(data, data_end) ? fc_fast4(ctx, &talk) : fc_fast(ctx, &talk);

	if (reason < 0) {
		__u64 r = vipxdp_process(ctx, bytes, reason == FC_CT_NONE);

		reason = r & VIPXDP_OTHER ? vipxdp_other(ctx, r) : (int)r;
	} else if (talk)
		fc_talker_count(talk, bytes);
	/* The usual end, with a constant reason: counted at a constant
	 * place, no table from reason to verdict. */
	if (reason == VIPXDP_R_fwd_redirect) {
		count_reason(VIPXDP_R_fwd_redirect, bytes);
		return XDP_REDIRECT;
	}
	count_reason(reason, bytes);
	return reason_action(reason);
}
