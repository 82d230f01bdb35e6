/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Data-plane state writer: the one place that writes services, backends,
 * Maglev tables, VIP addresses, interfaces and configuration into the BPF
 * maps. It works on the maps of a freshly loaded skeleton or on the pinned
 * maps of a running data plane; its bookkeeping (which service and backend ids
 * are in use) is read back from the maps, so no state lives in the process.
 *
 * Table changes follow the generation protocol of the data path: a new
 * backend set is written into the service's inactive table slot, then one
 * update of the service entry switches `gen`. The previous table stays in the
 * other slot for flows that arrive without conntrack.
 *
 * All functions return 0 or a negative errno.
 */
#ifndef VIPXDP_DATAPLANE_H
#define VIPXDP_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "vipxdp_abi.h"

struct vipxdp_bpf;
struct vipxdp_dp_cache;

/* File descriptors of the data-plane maps. */
struct vipxdp_dp {
	int vip_fd;
	int svc_fd;
	int backend_fd;
	int maglev_fd; /* array of maps: outer */
	int ct_fd; /* keyed by struct vipxdp_ct_key: see vipxdp_ct_get() */
	int iface_fd;
	int cfg_fd;
	int devmap_fd;
	int stats_fd;
	int svc_stats_fd;
	int be_stats_fd;
	int filter_fd;
	int health_fd;
	int nat_fd;
	int eip_fd;
	int snat_fd;
	int rev_fd;
	int qos_fd;
	int qos_st_fd;
	int talkers_fd;
	int gen_fd; /* vipxdp_gen: bumped after every change */
	int fc_ctl_fd; /* vipxdp_fc_ctl: per-CPU flow cache control */
	int route_fd; /* vipxdp_route: the daemon's route watch */
	__u32 *gen; /* vipxdp_gen mapped, once a change needs it */
	__u32 max_services;
	__u32 max_backends;
	bool owns_fds; /* close fds in vipxdp_dp_close() */
	struct vipxdp_dp_cache *cache; /* between batch_begin and batch_end */
};

/* A backend as the control plane describes it. */
struct vipxdp_be_spec {
	struct vipxdp_addr addr;
	__u8 family;
	__u16 port; /* host order */
	__u32 weight; /* 0 = drain: no new flows, stays in the service */
	bool down; /* health checks failed: out of the table, not used at all */
};

/* Service identity; port in host order. */
struct vipxdp_svc_spec {
	struct vipxdp_addr vip;
	__u8 family;
	__u8 proto;
	__u16 port; /* host order */
	__u32 flags; /* enum vipxdp_svc_flags */
	__u32 table_size; /* Maglev table size, prime */
	__u32 mode; /* enum vipxdp_svc_mode */
	struct vipxdp_addr snat; /* VIPXDP_MODE_FULLNAT: source address to the backends */
};

/* Use the maps of a loaded (not necessarily attached) skeleton. */
/* Before load: give the flow cache (vipxdp_fc) its part for every
 * possible CPU. 0 or -errno. */
int vipxdp_size_flow_cache(struct vipxdp_bpf *skel);
int vipxdp_dp_from_skel(struct vipxdp_dp *dp, const struct vipxdp_bpf *skel);
/* Open the maps pinned in DIR (e.g. /sys/fs/bpf/vipxdp). */
int vipxdp_dp_open_pinned(struct vipxdp_dp *dp, const char *dir);
void vipxdp_dp_close(struct vipxdp_dp *dp);

/*
 * A batch of changes (e.g. one `apply`): between begin and end the writer
 * keeps the backend array and the address filter mapped, an index of the
 * backends of every service and the set of service ids in use, read from
 * the maps once and then kept up to date by its own writes, instead of
 * scanning the maps on every call. Only for a short sequence of changes
 * made by one process: changes other processes make meanwhile to the
 * service set are not seen. vipxdp_dp_close() ends a batch too.
 */
int vipxdp_dp_batch_begin(struct vipxdp_dp *dp);
/* Flushes what is pending, then drops the batch's state. */
void vipxdp_dp_batch_end(struct vipxdp_dp *dp);
/*
 * With defer on, vipxdp_dp_set_service() of a service that does not exist
 * yet does everything but write its table slot and its service entry: those
 * wait for vipxdp_dp_batch_flush(), which writes the slots of every pending
 * service with one batch update of the outer map (each single update of an
 * outer map waits for an RCU grace period), then their entries in order.
 * Nothing refers to a pending service, so services, VIPs and elastic IPs
 * that depend on it must come after the flush. A failed flush removes the
 * pending services it could not finish (their backends too).
 */
void vipxdp_dp_batch_defer(struct vipxdp_dp *dp, bool on);
size_t vipxdp_dp_batch_pending(struct vipxdp_dp *dp);
int vipxdp_dp_batch_flush(struct vipxdp_dp *dp);

int vipxdp_dp_set_cfg(struct vipxdp_dp *dp, const struct vipxdp_cfg *cfg);
int vipxdp_dp_get_cfg(struct vipxdp_dp *dp, struct vipxdp_cfg *cfg);

/* Interface data for ARP/NDP replies and the redirect devmap. */
int vipxdp_dp_set_iface(struct vipxdp_dp *dp, __u32 ifindex, const __u8 mac[6], __u32 flags);
int vipxdp_dp_del_iface(struct vipxdp_dp *dp, __u32 ifindex);

/* VIP addresses: flags is enum vipxdp_vip_flags; name may be NULL. */
int vipxdp_dp_set_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
		      __u32 flags, const char *name);
int vipxdp_dp_del_vip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr);

/*
 * Create the service if new (allocating an id), or replace its backend set.
 * Backends that stay keep their ids, so established flows keep their backend.
 * Backends no longer listed are deactivated. Returns 0 and fills *svc_id.
 */
int vipxdp_dp_set_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *svc,
			  const struct vipxdp_be_spec *bes, size_t n, __u32 *svc_id);
/*
 * A service's Maglev table made ahead of vipxdp_dp_set_service_tbl(): the
 * slots as indexes into bes[] (VIPXDP_BACKEND_NONE in an empty slot) in buf,
 * laid out as in the map, and a new, empty table map, mapped. Preparing
 * touches no map of the data plane, so it may run in another thread;
 * scratch (table_size entries, or NULL) is working memory; buf (len bytes,
 * zeroed before its first use, or NULL: allocated here) holds the values
 * until they are written into the map. With at (page-aligned, len bytes of
 * the caller's own reservation) the map is mapped there (MAP_FIXED) and
 * left mapped by vipxdp_dp_table_free(): the caller unmaps the whole
 * reservation at once, since every munmap costs a TLB shootdown on every
 * CPU the process runs on. vipxdp_dp_set_service_tbl() turns the indexes
 * into backend ids and installs the map; the caller frees it afterwards
 * either way.
 */
struct vipxdp_dp_table {
	int fd; /* the table map, -1 when none */
	__u32 *m; /* its values: slot i at m[i] (two slots per 8-byte element) */
	size_t len; /* of the mapping: vipxdp_dp_table_len(table_size) */
	void *at; /* the caller's address, or NULL: mapped and unmapped here */
	__u32 *buf; /* the values to write, laid out as in m */
	bool own_buf; /* buf allocated by prepare, freed by free */
	__u32 size;
};
/* Bytes of a table mapping of `size` slots, rounded up to whole pages. */
size_t vipxdp_dp_table_len(__u32 size);
int vipxdp_dp_table_prepare(const struct vipxdp_svc_spec *svc, const struct vipxdp_be_spec *bes,
			    size_t n, __u32 *scratch, __u32 *buf, void *at,
			    struct vipxdp_dp_table *t);
void vipxdp_dp_table_free(struct vipxdp_dp_table *t);
/* vipxdp_dp_set_service() with a prepared table (NULL: made here). */
int vipxdp_dp_set_service_tbl(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *svc,
			      const struct vipxdp_be_spec *bes, size_t n,
			      struct vipxdp_dp_table *pre, __u32 *svc_id);
int vipxdp_dp_del_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *svc);

/* Look up a service; fills *out. -ENOENT when absent. */
int vipxdp_dp_get_service(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *svc,
			  struct vipxdp_svc *out);

/*
 * Which backend does a new flow (or, with syn=false, a flow without
 * conntrack) get? Uses the live tables and the data path's hash and
 * generation rule. Fills *be_id and *be.
 */
int vipxdp_dp_predict(struct vipxdp_dp *dp, const struct vipxdp_flow *flow, bool syn, __u32 *be_id,
		      struct vipxdp_backend *be);

/* Number of backend ids in use (active backends of every service). */
int vipxdp_dp_backends_in_use(struct vipxdp_dp *dp, size_t *n);

/* Listings, sorted by family, address, protocol, port (services) or
 * family, address, port (backends). Arrays are malloc-ed. */
struct vipxdp_dp_vip {
	struct vipxdp_vip_key key;
	struct vipxdp_vip vip;
};
struct vipxdp_dp_svc {
	struct vipxdp_svc_key key;
	struct vipxdp_svc svc;
};
struct vipxdp_dp_be {
	__u32 id;
	struct vipxdp_backend be;
};
int vipxdp_dp_vips(struct vipxdp_dp *dp, struct vipxdp_dp_vip **out, size_t *n);
int vipxdp_dp_services(struct vipxdp_dp *dp, struct vipxdp_dp_svc **out, size_t *n);
int vipxdp_dp_backends_of(struct vipxdp_dp *dp, __u32 svc_id, struct vipxdp_dp_be **out, size_t *n);

/*
 * Share (0..1) of the service's table slots whose backend would change if
 * its backend set became bes[] with table size spec->table_size. A service
 * that does not exist yet gives 0.
 */
int vipxdp_dp_moved_share(struct vipxdp_dp *dp, const struct vipxdp_svc_spec *spec,
			  const struct vipxdp_be_spec *bes, size_t n, double *share);

/* Elastic IP vip <-> priv (same family): both directions at once. */
int vipxdp_dp_set_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
		      const struct vipxdp_addr *priv);
/* Remove the elastic IP of vip (and its outbound entry). -ENOENT when none. */
int vipxdp_dp_del_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip);
/* The private address of an elastic IP; -ENOENT when vip has none. */
int vipxdp_dp_get_eip(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *vip,
		      struct vipxdp_addr *priv);

/* Source NAT: traffic from src/prefix_len leaves as vip:allocated port. */
struct vipxdp_snat_rule {
	__u8 family;
	__u8 prefix_len;
	struct vipxdp_addr src; /* host bits zero */
	struct vipxdp_addr vip;
};
/* Make the rules exactly rules[0..n-1]; sets/clears VIPXDP_CFG_F_SNAT. */
int vipxdp_dp_set_snat(struct vipxdp_dp *dp, const struct vipxdp_snat_rule *rules, size_t n);
/* The current rules, malloc-ed. */
int vipxdp_dp_snat_rules(struct vipxdp_dp *dp, struct vipxdp_snat_rule **out, size_t *n);

/*
 * Per-VIP rate limit (QoS): pps packets/s and bps bits/s (0 = no such
 * limit), bursts of burst_ms worth of each (at least one packet and
 * VIPXDP_QOS_MIN_BURST_BYTES bytes).
 */
#define VIPXDP_QOS_DEFAULT_BURST_MS 100
#define VIPXDP_QOS_MIN_BURST_BYTES 9216
struct vipxdp_qos_spec {
	__u64 pps;
	__u64 bps;
	__u32 burst_ms;
};
/* The data-path entry for a limit of the VIP (family, addr). */
void vipxdp_qos_entry(struct vipxdp_qos *e, __u8 family, const struct vipxdp_addr *addr,
		      const struct vipxdp_qos_spec *q);
/*
 * Give the VIP (which must exist: -ENOENT) the limit q, or none (q NULL).
 * Allocates or frees its QoS index and writes it into the VIP, its services
 * and its elastic IP. An unchanged limit keeps its buckets' state.
 */
int vipxdp_dp_set_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
			  const struct vipxdp_qos_spec *q);
/* The VIP's limit: 0 and *q filled, -ENOENT when it has none (or no VIP). */
int vipxdp_dp_get_vip_qos(struct vipxdp_dp *dp, __u8 family, const struct vipxdp_addr *addr,
			  struct vipxdp_qos_spec *q, __u32 *idx);
/* Sum over CPUs of the QoS counters of index idx. */
int vipxdp_dp_qos_stats(struct vipxdp_dp *dp, __u32 idx, struct vipxdp_qos_stats *out);

/* The flow cache at a glance: on or off (settings.flow_cache), bypass
 * windows since load summed over the CPUs, and CPUs leaving the cache alone
 * now (see struct vipxdp_fc_ctl); the same for SYNs' conntrack lookups
 * (VIPXDP_SYN_WINDOW). 0 or -errno. */
struct vipxdp_dp_fc {
	bool enabled;
	__u64 bypasses;
	__u32 cpus_bypassing;
	__u64 syn_skip_windows;
	__u32 cpus_skipping_syn;
};
int vipxdp_dp_fc_state(struct vipxdp_dp *dp, struct vipxdp_dp_fc *out);

/* Remove every conntrack entry and NAT port claim (`vipxdp conntrack
 * flush`); *n and *nat say how many. */
int vipxdp_dp_ct_flush(struct vipxdp_dp *dp, size_t *n, size_t *nat);

/*
 * The conntrack table by flow (its keys are struct vipxdp_ct_key, made by
 * vipxdp_ct_key_of()): lookup, update (BPF_ANY, BPF_EXIST...; an IPv6
 * entry's ksaddr and kdaddr are set from f), delete. 0, or -1 with errno set
 * as by bpf_map_*_elem(); an IPv6 entry of other addresses under f's key
 * is ENOENT to the lookup.
 */
int vipxdp_ct_get(const struct vipxdp_dp *dp, const struct vipxdp_flow *f, struct vipxdp_ct *ct);
int vipxdp_ct_put(const struct vipxdp_dp *dp, const struct vipxdp_flow *f,
		  const struct vipxdp_ct *ct, __u64 flags);
int vipxdp_ct_del(const struct vipxdp_dp *dp, const struct vipxdp_flow *f);

/* A walk over the table: zero it, then vipxdp_ct_next() until false. */
struct vipxdp_ct_iter {
	bool started;
	struct vipxdp_ct_key prev;
};

/* The next entry: its flow in *f and, if ct is not NULL, its value (an
 * entry deleted meanwhile is skipped). False at the end. */
bool vipxdp_ct_next(const struct vipxdp_dp *dp, struct vipxdp_ct_iter *it, struct vipxdp_flow *f,
		    struct vipxdp_ct *ct);

/* Fill a svc key from a spec (port converted to network order). */
void vipxdp_svc_key_from_spec(struct vipxdp_svc_key *key, const struct vipxdp_svc_spec *svc);

#endif /* VIPXDP_DATAPLANE_H */
