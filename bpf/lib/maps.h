/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data path, in one place. Keys and values come from
 * include/vipxdp_abi.h. Names stay within the 15 characters the kernel keeps,
 * so `bpftool map show` prints them whole. The control plane may resize the
 * maps (bpf_map__set_max_entries) before load; the sizes here are defaults.
 */
#ifndef VIPXDP_BPF_MAPS_H
#define VIPXDP_BPF_MAPS_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vipxdp_abi.h"

/* VIP addresses we answer ARP/NDP for, and that identify "ours". */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_VIPS);
	__type(key, struct vipxdp_vip_key);
	__type(value, struct vipxdp_vip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_vip SEC(".maps");

/* Elastic IPs, both directions (key: address and family). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_VIPS * 2);
	__type(key, struct vipxdp_vip_key);
	__type(value, struct vipxdp_eip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_eip SEC(".maps");

/* Source NAT rules: longest prefix of the source address. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct vipxdp_snat_key);
	__type(value, struct vipxdp_snat);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_snat SEC(".maps");

/* (VIP, port, protocol) -> service. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_SERVICES);
	__type(key, struct vipxdp_svc_key);
	__type(value, struct vipxdp_svc);
} vipxdp_svc SEC(".maps");

/* Backend id -> backend. mmap-able: the control plane scans it in place. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIPXDP_MAX_BACKENDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vipxdp_backend);
} vipxdp_backend SEC(".maps");

/* Maglev tables: slot (service id * 2 + generation parity) -> array of
 * backend ids. Inner maps are created by the control plane with the
 * service's table size (BPF_F_INNER_MAP allows sizes to differ) and are
 * mmap-able so a whole table is written with one memcpy. */
struct vipxdp_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIPXDP_MTBL_ELEMS(VIPXDP_MAGLEV_DEFAULT));
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64); /* struct vipxdp_mtbl_pair: two slots per element */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VIPXDP_MAX_SERVICES *VIPXDP_GENERATIONS);
	__type(key, __u32);
	__array(values, struct vipxdp_maglev_inner);
} vipxdp_maglev SEC(".maps");

/*
 * Connection tracking, both directions of every flow, under 16-byte keys
 * (struct vipxdp_ct_key; lb.h's ct_get(), ct_put() and ct_del() make them).
 * Each CPU keeps its own LRU list (BPF_F_NO_COMMON_LRU): a new flow takes a
 * free entry of, or evicts the oldest entry of, the CPU that sees its first
 * packet, without the global lock of a common list. So each CPU holds
 * max_entries / number of possible CPUs of the table; lookups find entries
 * of every CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VIPXDP_CT_DEFAULT_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct vipxdp_ct_key);
	__type(value, struct vipxdp_ct);
} vipxdp_ct SEC(".maps");

/* NAT port ownership (full NAT, source NAT). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_CT_DEFAULT_SIZE);
	__type(key, struct vipxdp_flow);
	__type(value, struct vipxdp_nat_owner);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_nat SEC(".maps");

/* Interfaces the data path is attached to: ifindex -> MAC for ARP/NDP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct vipxdp_iface);
} vipxdp_ifaces SEC(".maps");

/* Redirect targets, keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, VIPXDP_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} vipxdp_devmap SEC(".maps");

/* Address pre-filter: one entry, written by the control plane via mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vipxdp_filter);
} vipxdp_filter SEC(".maps");

/* Is bit (vipxdp_filter_bit()) set in half, the filter's vip[] or
 * backend[]? */
static __always_inline bool filter_hit(const __u64 *half, __u32 bit)
{
	return (half[(bit >> 6) & (VIPXDP_FILTER_BITS / 64 - 1)] >> (bit & 63)) & 1;
}

/* Backend health seen by the daemon (control plane only, shared through the pin). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct vipxdp_health_rec);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_health SEC(".maps");

/* DNAT backend endpoint -> the (VIP, port) of its services: replies find
 * their flow's one conntrack entry through it (struct vipxdp_rev). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIPXDP_MAX_BACKENDS);
	__type(key, struct vipxdp_svc_key);
	__type(value, struct vipxdp_rev);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vipxdp_rev SEC(".maps");

/* The flow cache (see struct vipxdp_fc): a table per CPU. The loader sizes
 * it for the possible CPUs (vipxdp_size_flow_cache()); CPUs beyond its size
 * find no table and take the whole path. mmap-able only for the alignment:
 * tables start on page boundaries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct vipxdp_fc_table);
} vipxdp_fc SEC(".maps");

/* Per CPU: does the flow cache pay (struct vipxdp_fc_ctl)? */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vipxdp_fc_ctl);
} vipxdp_fc_ctl SEC(".maps");

/* This CPU's control (vipxdp_fc_ctl), or NULL. */
static __always_inline struct vipxdp_fc_ctl *cpu_ctl(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vipxdp_fc_ctl, &zero);
}

/* The control plane's change counter: flow cache entries of another value
 * are stale. A global variable in a section of its own, which libbpf makes
 * an array map of one __u32 (mmap-able: the control plane increments it in
 * place), pinned as vipxdp_gen (attach.c): the data path reads it at a
 * fixed address, with no lookup (and no call, around which the compiler
 * would have to save what it holds). */
__u32 vipxdp_gen SEC(".data.gen");

/* The daemon's route watch (struct vipxdp_route): one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vipxdp_route);
} vipxdp_route SEC(".maps");

/* Per CPU, the next hop of the last new flow to each backend (struct
 * vipxdp_be_nh). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIPXDP_BE_NH_SLOTS);
	__type(key, __u32);
	__type(value, struct vipxdp_be_nh);
} vipxdp_be_nh SEC(".maps");

/* Per-CPU scratch space for subprograms whose stack frame must stay small
 * (the main frame is near the 512-byte limit): [0] ct_stale's peer key and
 * ct_commit's reply key, [1] both_search's keys. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct vipxdp_flow);
} vipxdp_scratch SEC(".maps");

/* Per-CPU scratch space for conntrack values: [0] a new flow's entry, [1]
 * its reply entry (ct_scratch()). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct vipxdp_ct);
} vipxdp_scratch_ct SEC(".maps");

/* Global configuration: one entry. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vipxdp_cfg);
} vipxdp_cfg SEC(".maps");

/* Per-reason packet and byte counters: one entry of named fields. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vipxdp_stats);
} vipxdp_stats SEC(".maps");

/* Per-service and per-backend counters, by id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIPXDP_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct vipxdp_lb_stats);
} vipxdp_svc_st SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIPXDP_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct vipxdp_lb_stats);
} vipxdp_be_st SEC(".maps");

/* Per-VIP rate limits by QoS index: shared by every CPU (qos.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIPXDP_MAX_VIPS + 1);
	__type(key, __u32);
	__type(value, struct vipxdp_qos);
} vipxdp_qos SEC(".maps");

/* What each rate limit passed and dropped, by QoS index. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIPXDP_MAX_VIPS + 1);
	__type(key, __u32);
	__type(value, struct vipxdp_qos_stats);
} vipxdp_qos_st SEC(".maps");

/* Top talkers: (VIP, source) -> packets and bytes, sampled. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, VIPXDP_MAX_TALKERS);
	__type(key, struct vipxdp_talker_key);
	__type(value, struct vipxdp_talker);
} vipxdp_talkers SEC(".maps");

/* Per-CPU state of qos.h: the talker sampler's random state, and room for
 * a talker key (vip_account's frame must stay small). */
struct vipxdp_acct_scratch {
	struct vipxdp_talker_key key;
	__u32 rng; /* xorshift32 state, 0 = not seeded yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vipxdp_acct_scratch);
} vipxdp_tk_scr SEC(".maps");

#endif /* VIPXDP_BPF_MAPS_H */
