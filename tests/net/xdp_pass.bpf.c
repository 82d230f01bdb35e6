/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * XDP_PASS, nothing else: attached by tests/net/topology.sh to the client's
 * and the backends' veth ends so that frames vipxdp sends with XDP_TX
 * (ARP/NDP replies, hairpinned packets) reach them. The veth driver only
 * kicks the receiving peer's NAPI after an XDP_TX when that peer has an XDP
 * program; with GRO alone the frames wait in its ring until some other
 * traffic arrives. Built by the test bed with clang; no headers needed.
 */
struct xdp_md;

__attribute__((section("xdp"), used)) int vx_xdp_pass(struct xdp_md *ctx)
{
	return 2; /* XDP_PASS */
}

char vx_license[] __attribute__((section("license"), used)) = "GPL";
