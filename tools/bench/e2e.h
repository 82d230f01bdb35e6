/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Constants shared by the end-to-end benchmark's BPF programs
 * (tools/bench/e2e_{gen,count,redirect}.bpf.c) and their driver
 * (tools/bench_xdp.c).
 */
#ifndef VIPXDP_BENCH_E2E_H
#define VIPXDP_BENCH_E2E_H

/* The generator writes this many bytes of the frame on every iteration:
 * Ethernet + IPv4 + UDP headers (42 bytes) and the first 6 payload bytes.
 * Everything a receiver may rewrite (MACs, addresses, ports, checksums) is
 * inside; the rest of the payload is never touched downstream. */
#define E2E_GEN_HDR_LEN 48
#define E2E_GEN_HDR_WORDS (E2E_GEN_HDR_LEN / 8)

/* Offsets in the untagged IPv4/UDP frame the generator sends. */
#define E2E_OFF_UDP_SPORT 34
#define E2E_OFF_UDP_CSUM 40

#endif /* VIPXDP_BENCH_E2E_H */
