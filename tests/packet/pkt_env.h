/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The test bed of the BPF_PROG_TEST_RUN programs (packet tests and the
 * data-path benchmark): a private network namespace with a client-side veth
 * (vt_in, 198.18.0.1/24, 2001:db8:1::1/64) and a backend-side veth (vt_be,
 * 198.19.0.254/24, 2001:db8:2::fe/64), forwarding on, and permanent
 * neighbour entries for the client and three backends, so bpf_fib_lookup
 * answers with fixed next hops and MACs.
 */
#ifndef VIPXDP_PKT_ENV_H
#define VIPXDP_PKT_ENV_H

#include <stddef.h>
#include <linux/types.h>

#include "vipxdp_abi.h"

#define MAC_IN "02:00:00:00:00:01" /* vt_in: client side */
#define MAC_BE "02:00:00:00:00:02" /* vt_be: backend side */
#define MAC_CLIENT "02:00:00:00:00:10"
#define CLIENT4 "198.18.0.10"
#define CLIENT6 "2001:db8:1::10"

/* Enter a new network namespace and build the test bed, then run the
 * caller's extra commands. who names the program in messages. Fills the
 * interfaces' ifindexes. Returns 0 or -1 after printing why. */
int pkt_env_setup(const char *who, const char *const *extra, size_t n_extra, int *if_in,
		  int *if_be);

/* An IPv4 or IPv6 literal into a 16-byte address; aborts on a bad one (a
 * bug in the calling test). */
void pkt_env_addr(const char *s, __u8 *family, struct vipxdp_addr *a);

#endif /* VIPXDP_PKT_ENV_H */
