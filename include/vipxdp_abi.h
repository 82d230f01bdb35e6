/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vipxdp ABI: every map key and value, enum and flag shared by the XDP data
 * path (bpf/) and the control plane (userspace/). This header is the single
 * definition; both sides include it unchanged. Fixed-width types, explicit
 * padding, no bitfields; _Static_assert pins every size so a change that
 * moves a field fails to compile on both sides at once.
 *
 * Addresses are always 16 bytes plus a family. An IPv4 address occupies the
 * first 4 bytes (network order) and the other 12 bytes are zero.
 * Ports are stored in network byte order everywhere in maps.
 */
#ifndef VIPXDP_ABI_H
#define VIPXDP_ABI_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <stddef.h>
#endif

/* Address families as stored in maps (values of AF_INET / AF_INET6). */
#define VIPXDP_AF_INET 2
#define VIPXDP_AF_INET6 10

/* Map sizes: defaults, the control plane may change max_entries before load. */
#define VIPXDP_MAX_VIPS 4096
#define VIPXDP_MAX_SERVICES 4096
#define VIPXDP_MAX_BACKENDS 131072
#define VIPXDP_MAX_IFACES 256
#define VIPXDP_CT_DEFAULT_SIZE 262144
/* Maglev table: default size (prime) and the bounds the control plane accepts. */
#define VIPXDP_MAGLEV_DEFAULT 65537
#define VIPXDP_MAGLEV_MIN 7
#define VIPXDP_MAGLEV_MAX 1048573
/* Each service owns two table slots in vipxdp_maglev: id * 2 + (gen & 1). */
#define VIPXDP_GENERATIONS 2
/* Backend id that means "no backend" in a Maglev slot. */
#define VIPXDP_BACKEND_NONE 0xffffffffu
/*
 * A Maglev table is an array map whose element i holds slots 2i and 2i + 1
 * (array maps store values in multiples of 8 bytes: a 4-byte value would
 * waste half). A table of M slots has (M + 1) / 2 elements, and mmap-ed it
 * is simply M backend ids in a row.
 */
struct vipxdp_mtbl_pair {
	__u32 id[2];
};
#define VIPXDP_MTBL_ELEMS(size) (((size) + 1) / 2)

/* Pin directory (relative to the bpffs mount) and map names. */
#define VIPXDP_PIN_SUBDIR "vipxdp"

struct vipxdp_addr {
	union {
		__u8 b[16];
		__u32 w[4];
	};
};
_Static_assert(sizeof(struct vipxdp_addr) == 16, "vipxdp_addr size");

/* vipxdp_vip: VIP address -> per-address flags (ARP/NDP answering). */
struct vipxdp_vip_key {
	struct vipxdp_addr addr;
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct vipxdp_vip_key) == 20, "vipxdp_vip_key size");

enum vipxdp_vip_flags {
	VIPXDP_VIP_F_ARP = 1u << 0, /* answer ARP (IPv4) / NDP (IPv6) */
};

#define VIPXDP_NAME_LEN 24

struct vipxdp_vip {
	__u32 flags; /* enum vipxdp_vip_flags */
	__u32 qos; /* index into vipxdp_qos, 0 = no rate limit */
	char name[VIPXDP_NAME_LEN]; /* operator's name for the VIP, NUL-terminated */
};
_Static_assert(sizeof(struct vipxdp_vip) == 32, "vipxdp_vip size");

/* vipxdp_svc: (VIP, port, protocol) -> service. */
struct vipxdp_svc_key {
	struct vipxdp_addr addr;
	__u16 port; /* network order */
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;
};
_Static_assert(sizeof(struct vipxdp_svc_key) == 20, "vipxdp_svc_key size");

enum vipxdp_svc_flags {
	VIPXDP_SVC_F_HASH_SRC = 1u << 0, /* hash the source address only */
	VIPXDP_SVC_F_PORTFWD = 1u << 1, /* control plane: made by a port forward */
};

enum vipxdp_svc_mode {
	VIPXDP_MODE_DNAT = 0, /* destination -> backend; backends route replies via us */
	VIPXDP_MODE_FULLNAT = 1, /* also source -> snat address:allocated port */
};

struct vipxdp_svc {
	__u32 id; /* index into per-service stats and Maglev slots */
	__u32 flags; /* enum vipxdp_svc_flags */
	__u32 gen; /* active generation: slot id * 2 + (gen & 1) */
	__u32 table_size[VIPXDP_GENERATIONS]; /* entries in each slot's table, by gen & 1 */
	__u16 mode; /* enum vipxdp_svc_mode */
	__u16 qos; /* the VIP's index into vipxdp_qos, 0 = no rate limit */
	struct vipxdp_addr snat; /* FULLNAT: source address towards the backends */
};
_Static_assert(sizeof(struct vipxdp_svc) == 40, "vipxdp_svc size");

/* vipxdp_eip: elastic IPs (stateless 1:1 NAT, every protocol and port).
 * Two entries per elastic IP: VIP -> private (inbound: destination
 * rewritten) and private -> VIP (outbound: source rewritten). */
enum vipxdp_eip_dir {
	VIPXDP_EIP_IN = 0, /* key is the VIP: destination becomes `to` */
	VIPXDP_EIP_OUT = 1, /* key is the private address: source becomes `to` */
};

struct vipxdp_eip {
	struct vipxdp_addr to;
	__u32 dir; /* enum vipxdp_eip_dir */
	__u32 qos; /* VIPXDP_EIP_IN: the VIP's index into vipxdp_qos, 0 = none */
};
_Static_assert(sizeof(struct vipxdp_eip) == 24, "vipxdp_eip size");

/* vipxdp_snat: source prefix -> VIP that private traffic leaves with
 * (LPM trie). The key's data is family, 3 zero bytes, 16 address bytes;
 * prefixlen counts 32 bits for family and padding plus the prefix. */
struct vipxdp_snat_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	struct vipxdp_addr addr;
};
_Static_assert(sizeof(struct vipxdp_snat_key) == 24, "vipxdp_snat_key size");

struct vipxdp_snat {
	struct vipxdp_addr vip;
};

/* vipxdp_backend: backend id -> where to send the flow. */
enum vipxdp_backend_flags {
	/* Set while the backend belongs to its service (also when drained with
	 * weight 0). Cleared when it is removed: previous-generation lookups
	 * then fall back to the active table. */
	VIPXDP_BE_F_ACTIVE = 1u << 0,
	/* Health checks failed: out of the table, and not used by the
	 * previous-generation rule either. Set together with ACTIVE. */
	VIPXDP_BE_F_DOWN = 1u << 1,
	/* Replies of its DNAT flows need an entry of their own: its endpoint
	 * is in more DNAT services than vipxdp_rev has slots for. */
	VIPXDP_BE_F_REPLY_CT = 1u << 2,
};
#define VIPXDP_BE_USABLE(flags)                                                                    \
	(((flags) & (VIPXDP_BE_F_ACTIVE | VIPXDP_BE_F_DOWN)) == VIPXDP_BE_F_ACTIVE)

struct vipxdp_backend {
	struct vipxdp_addr addr;
	__u16 port; /* network order */
	__u8 family;
	__u8 flags; /* enum vipxdp_backend_flags */
	__u32 svc_id; /* the service this backend belongs to */
	__u32 weight; /* control plane: Maglev weight, 0 = draining */
	__u32 reserved;
};
_Static_assert(sizeof(struct vipxdp_backend) == 32, "vipxdp_backend size");

/*
 * vipxdp_rev: a DNAT backend endpoint (key: struct vipxdp_svc_key holding
 * the backend's address, port and protocol) -> the (VIP, port) of the DNAT
 * services it is in. A reply from the backend finds its flow's conntrack
 * entry (keyed client -> VIP:port) through these, so a DNAT flow needs one
 * entry, not two. A slot stays after its service is removed (flows of it
 * live on) and is reused when a new service needs it; an endpoint in more
 * services than there are slots gets VIPXDP_BE_F_REPLY_CT on its backends.
 */
#define VIPXDP_REV_SLOTS 2
struct vipxdp_rev_vip {
	struct vipxdp_addr addr;
	__u16 port; /* network order */
	__u16 used; /* 1 when the slot holds a (VIP, port) */
};

struct vipxdp_rev {
	struct vipxdp_rev_vip vip[VIPXDP_REV_SLOTS];
};
_Static_assert(sizeof(struct vipxdp_rev) == 40, "vipxdp_rev size");

/* Flow key: conntrack key in both directions and the input of the flow hash. */
struct vipxdp_flow {
	struct vipxdp_addr saddr;
	struct vipxdp_addr daddr;
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct vipxdp_flow) == 40, "vipxdp_flow size");

/*
 * vipxdp_ct's key: a flow in 16 bytes. The kernel hashes and compares a
 * hash map's whole key on every lookup, and 16 bytes cost a jhash of four
 * words where struct vipxdp_flow's 40 would cost ten. An IPv4 flow's key is
 * the flow itself; an IPv6 flow's holds a 64-bit digest of its addresses
 * (vipxdp_ct_key_of() in vipxdp_hash.h), and its entry the addresses
 * themselves (vipxdp_ct.ksaddr, kdaddr): a lookup checks them, so flows
 * whose digests agree are never taken for each other, and a new flow does
 * not take the key of a live one.
 */
struct vipxdp_ct_key {
	__u32 a; /* IPv4: source address; IPv6: digest, first word */
	__u32 b; /* IPv4: destination address; IPv6: digest, second word */
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
_Static_assert(sizeof(struct vipxdp_ct_key) == 16, "vipxdp_ct_key size");

/* Source ports allocated for full NAT and source NAT. */
#define VIPXDP_NAT_PORT_MIN 1024
#define VIPXDP_NAT_PORT_MAX 65535
#define VIPXDP_NAT_TRIES 16 /* candidate ports tried per new flow */

/* vipxdp_nat: reply-direction flow key -> the flow that owns the allocated
 * port (its conntrack key). A plain hash, never evicted behind our back: a
 * port is reused only once its owner's conntrack entry is gone or expired. */
struct vipxdp_nat_owner {
	struct vipxdp_flow owner;
};

/* What a conntrack entry rewrites, and how it is counted. */
enum vipxdp_ct_flags {
	VIPXDP_CT_F_DNAT = 1u << 0, /* destination becomes daddr:dport */
	VIPXDP_CT_F_SNAT = 1u << 1, /* source becomes saddr:sport */
	VIPXDP_CT_F_REPLY = 1u << 2, /* the reply direction of its flow */
	/* DNAT flow in one entry: replies (backend -> client) find it through
	 * vipxdp_rev, and their source becomes the key's destination. */
	VIPXDP_CT_F_BOTH = 1u << 3,
};

/* A cached FIB answer, good while the data path's next-hop token
 * (struct vipxdp_route) is still the one it was filled with. */
struct vipxdp_nh {
	__u32 ifindex; /* egress interface, 0 = empty */
	__u8 dmac[6];
	__u8 smac[6];
	__u32 epoch; /* the token when filled: an epoch, or VIPXDP_NH_WATCH | gen */
};

/*
 * vipxdp_route: the daemon's route watch. A next hop cached in conntrack is
 * good while the token it was filled with holds: by default the epoch (so
 * every flow looks its next hop up again once an epoch, about a second);
 * while watch_until is the current epoch or later, VIPXDP_NH_WATCH | gen
 * instead. The daemon (`vipxdp run`) listens on rtnetlink and bumps gen
 * after every route, rule, nexthop, address, link, neighbour and interface
 * setting (forwarding) change the kernel announces (and after a lost
 * message), and moves watch_until on twice an epoch; so while it runs,
 * changes reach established flows at once and flows do not look the FIB
 * up again every epoch. When it stops it clears watch_until; when it dies,
 * the watch ends two epochs later.
 */
struct vipxdp_route {
	__u32 gen; /* a counter (VIPXDP_ROUTE_GEN_MASK), and VIPXDP_ROUTE_SIMPLE */
	__u32 watch_until; /* epoch; 0 = no watch */
};
#define VIPXDP_NH_WATCH 0x80000000u
/*
 * In gen: the daemon has checked that the FIB's answer for a packet depends
 * on its destination and ingress interface alone: every policy rule
 * selects by destination at most (no source, interface, mark, TOS, port,
 * UID or VRF selector), and no route is multipath (RTA_MULTIPATH or a
 * nexthop group), selects by TOS, or is source-specific (IPv6). Then, under
 * the watch, a new flow to a backend takes the next hop an earlier flow to
 * that backend got (struct vipxdp_be_nh) without a FIB lookup. The daemon
 * clears the bit as soon as it sees a route, rule or nexthop change, and
 * sets it again (with a new counter) after checking again.
 */
#define VIPXDP_ROUTE_SIMPLE 0x40000000u
#define VIPXDP_ROUTE_GEN_MASK 0x3fffffffu

/*
 * vipxdp_be_nh: per CPU, the next hop of the last new flow to a backend,
 * slot backend id % VIPXDP_BE_NH_SLOTS (another backend in the same slot
 * replaces it). Used for a new flow's first packet to the backend address
 * addr (of family) while the token is nh.epoch, the token has
 * VIPXDP_NH_WATCH and VIPXDP_ROUTE_SIMPLE, the packet entered on iif, and
 * it is no longer than max_len (the longest packet the FIB has passed for
 * it: the route's MTU was checked up to that). Keyed by address, not id:
 * an id the control plane gives to another backend finds nothing. Not
 * pinned: a new program starts with an empty cache.
 */
struct vipxdp_be_nh {
	struct vipxdp_addr addr;
	__u32 iif;
	struct vipxdp_nh nh;
	__u16 max_len;
	__u8 family;
	__u8 pad[5]; /* per-CPU values are read and written 8-byte aligned */
};
_Static_assert(sizeof(struct vipxdp_be_nh) == 48, "vipxdp_be_nh size");
#define VIPXDP_BE_NH_SLOTS 4096

/* Connection state, which selects the entry's idle timeout. */
enum vipxdp_ct_state {
	VIPXDP_CT_SYN = 0, /* TCP: handshake not finished */
	VIPXDP_CT_EST = 1, /* TCP: established */
	VIPXDP_CT_CLOSING = 2, /* TCP: FIN or RST seen */
	VIPXDP_CT_UDP = 3,
	VIPXDP_CT_OTHER = 4, /* ICMP echo and anything else */
	VIPXDP_CT_NSTATES
};

/*
 * vipxdp_ct: flow (struct vipxdp_ct_key) -> translation. A flow has two
 * entries, one per direction, each saying what to write into the packet,
 * except a DNAT flow whose
 * backend endpoint vipxdp_rev knows: its one entry (F_BOTH, keyed client ->
 * VIP) serves both directions. Times are coarse-clock epochs
 * (bpf_ktime_get_coarse_ns() >> 30, about 1.07 s). An entry idle for longer
 * than its state's timeout is expired: the next packet finds it gone. The
 * next-hop cache lets established packets skip the FIB lookup; it is valid
 * during the epoch it was filled in.
 */
struct vipxdp_ct {
	/* What a DNAT flow's packets read, in the first 64 bytes (one cache
	 * line of the hash map's element: the one after its key's). */
	struct vipxdp_addr daddr; /* F_DNAT: new destination */
	__u16 dport; /* network order */
	__u16 sport; /* network order */
	__u8 flags; /* enum vipxdp_ct_flags */
	__u8 state; /* enum vipxdp_ct_state */
	__u16 qos; /* forward entries of a VIP's flows: its vipxdp_qos index, 0 = none */
	__u32 svc_id; /* for counters; VIPXDP_SVC_NONE when not a service */
	__u32 backend_id;
	__u32 last_seen; /* epoch of the last packet */
	/* A DNAT entry a SYN wrote: vipxdp_gen then (while it holds, the
	 * backend is the one a SYN of the flow picks); any other entry: a
	 * value vipxdp_gen did not have (see vipxdp_fc_ctl.syn_forget). */
	__u32 gen;
	/* Next-hop cache: [0] for packets of the key's direction, [1] for the
	 * replies of an F_BOTH entry. */
	struct vipxdp_nh nh[2];
	struct vipxdp_addr saddr; /* F_SNAT: new source */
	/* IPv6 entries: the flow's addresses, which their key only digests
	 * (struct vipxdp_ct_key); zero in IPv4 ones. */
	struct vipxdp_addr ksaddr;
	struct vipxdp_addr kdaddr;
};
_Static_assert(sizeof(struct vipxdp_ct) == 128, "vipxdp_ct size");
_Static_assert(__builtin_offsetof(struct vipxdp_ct, nh) + sizeof(struct vipxdp_nh) <= 64,
	       "vipxdp_ct: a DNAT flow's fields in 64 bytes");

#define VIPXDP_SVC_NONE 0xffffffffu
#define VIPXDP_EPOCH_SHIFT 30 /* epoch = coarse ns >> 30 */

/*
 * vipxdp_fc: the flow cache, a plain array with one element per possible
 * CPU (key: the CPU's number), each element a table of VIPXDP_FC_ENTRIES
 * entries in sets of VIPXDP_FC_WAYS (struct vipxdp_fc_table). Finding the
 * CPU's table does not wait for the flow's hash, and the entry's address is
 * then one computation from the hash (a per-CPU array of entries would need
 * a pointer load per entry, and a plain array of entries a key through the
 * stack, both after the hash). An established flow's packets skip the
 * service and conntrack hash lookups: the entry holds what its conntrack
 * entry does to them (the rewrite, the counters to bump, the next hop). An
 * entry is filled by a packet that went the whole way (conntrack hit,
 * forwarded by XDP) and is good while both hold:
 * - it is younger than VIPXDP_FC_TTL_JIFFIES: then a packet of the flow
 *   takes the whole path again, which refreshes the conntrack entry's age
 *   and the next hop, and re-reads the entry (jiffies, as the data path
 *   reads them without a helper call);
 * - its gen is vipxdp_gen's value: the control plane bumps that on every
 *   change it makes (configuration, conntrack flush), which empties every
 *   CPU's cache at once.
 * TCP packets with SYN, FIN or RST always take the whole path (they change
 * conntrack) and drop the entry of their flow on their CPU. Flows with a
 * rate limit (qos) are not cached.
 */
#define VIPXDP_FC_TTL_JIFFIES 256 /* 0.26 s at HZ 1000, 2.6 s at HZ 100 */
/* Flows whose conntrack timeout (in epochs) is shorter are not cached. */
#define VIPXDP_FC_MIN_TIMEOUT 4
#define VIPXDP_FC_SETS 4096
#define VIPXDP_FC_WAYS 2
#define VIPXDP_FC_ENTRIES (VIPXDP_FC_SETS * VIPXDP_FC_WAYS)

enum vipxdp_fc_flags {
	VIPXDP_FC_F_DNAT = 1u << 0, /* rewrite the destination to daddr:dport */
	VIPXDP_FC_F_SNAT = 1u << 1, /* rewrite the source to saddr:sport */
	VIPXDP_FC_F_COUNT = 1u << 2, /* count under svc_id and backend_id */
	VIPXDP_FC_F_REPLY = 1u << 3, /* ... as a reply */
	VIPXDP_FC_F_VIP = 1u << 4, /* a packet to a VIP: the fill gives the entry the talker
				      sampler's setting (vipxdp_fc.talk), which hits read */
};

/*
 * vipxdp_fc_ctl: per CPU, whether the flow cache pays (and whether a SYN's
 * conntrack lookup does: below). A window of VIPXDP_FC_WINDOW lookups or
 * more that had fewer than one hit in VIPXDP_FC_MIN_HIT (far more flows
 * than entries: every lookup a miss in memory, every fill in vain), or
 * fewer than VIPXDP_FC_HITS_PER_FILL hits per fill (vipxdp_fc_table.fills;
 * short flows, such as one HTTP request per connection, whose few hits do
 * not pay for each direction's first lookup and fill, a cold cache line
 * each), stops lookups and fills for the next
 * VIPXDP_FC_SKIP << backoff packets (they go straight to the whole path),
 * and at least an entry's life (VIPXDP_FC_TTL_JIFFIES) when a TCP packet's
 * forget was left undone meanwhile; then the next window decides again. Each
 * such window in a row doubles the skip, up to VIPXDP_FC_SKIP <<
 * VIPXDP_FC_BACKOFF_MAX: a window's lookups are a cold miss each and its
 * conntrack hits a fill each, and at 15 windows skipped per window tried
 * (with the fills still called while skipping) they cost a 1M-flow load
 * about 13 ns a packet. A window with enough hits starts again at
 * VIPXDP_FC_SKIP. Misses end windows (a hit only counts a lookup): while
 * everything hits, there is nothing to decide.
 */
#define VIPXDP_FC_WINDOW 1024
#define VIPXDP_FC_MIN_HIT 8
#define VIPXDP_FC_HITS_PER_FILL 2
#define VIPXDP_FC_SKIP (15 * VIPXDP_FC_WINDOW)
#define VIPXDP_FC_BACKOFF_MAX 4

/*
 * The same control, per CPU, for the conntrack lookup of a SYN to a DNAT
 * service (lb_new_flow() in bpf/lib/lb.h). It looks for an entry the flow
 * still has (a client's port used again, a retransmitted SYN) to renew it in
 * place, which costs far less than replacing it. For a flow the table has
 * never seen, it is a cold miss: about a fifth of a new flow's cost with a
 * full table (bench_datapath case 2), where Katran's SYN does no lookup. A
 * window of VIPXDP_SYN_WINDOW such lookups that renewed fewer than one entry
 * in VIPXDP_SYN_MIN_RENEW (a stream of new flows: a SYN flood, clients
 * whose ports come back only after their entries are gone) stops them for
 * the next VIPXDP_SYN_SKIP SYNs, which then replace whatever entry their
 * flow has (BPF_ANY), as an entry that cannot be renewed is replaced
 * anyway; then the next window decides again. Under such a stream the
 * lookups cost 1 in 16 of what they did.
 */
#define VIPXDP_SYN_WINDOW 64
#define VIPXDP_SYN_MIN_RENEW 16
#define VIPXDP_SYN_SKIP (15 * VIPXDP_SYN_WINDOW)

struct vipxdp_fc_ctl {
	__u32 lookups; /* in this window */
	__u32 misses; /* in this window (a hit only counts a lookup) */
	/* Packets left to take the whole path without the cache (those it
	 * could answer: TCP without SYN, FIN or RST, and UDP). */
	__u32 skip;
	__u32 bypasses; /* windows that started a skip, since load */
	__u32 rng; /* the fast path's top-talker sampler: xorshift state */
	__u32 talk_left; /* packets to a VIP until the next sample (fc_talk_draw()) */
	__u8 talk_code; /* the setting talk_left was drawn for (vipxdp_fc.talk) */
	/* Set by the control plane while settings.flow_cache is false, on
	 * every CPU: packets then go straight to the whole path, without
	 * probing the cache (which holds nothing good then). The data path
	 * only reads it. */
	__u8 off;
	/* Windows without enough hits in a row, up to VIPXDP_FC_BACKOFF_MAX:
	 * the next skip is VIPXDP_FC_SKIP << backoff packets. */
	__u8 backoff;
	/* 1 once a TCP packet's forget was left undone during the current
	 * skip (fc_forget()): the skip then lasts at least an entry's life. */
	__u8 unforgot;
	/* vipxdp_gen + 1 once this CPU has cached, in that generation, a TCP
	 * DNAT flow whose conntrack entry a SYN did not write in it (its backend
	 * may not be the one a new SYN of the flow would get): SYNs to DNAT
	 * services then drop their flow's entry, as every other SYN does. */
	__u32 syn_forget;
	/* SYN lookups (VIPXDP_SYN_WINDOW): in this window, those of them that
	 * renewed the flow's entry, SYNs left to go without one, and windows
	 * that started such a skip since load. */
	__u32 syn_lookups;
	__u32 syn_renews;
	__u32 syn_skip;
	__u32 syn_bypasses;
};

/*
 * One entry: one cache line, all an IPv4 flow needs (its key is the first
 * 16 bytes, compared as two 64-bit words). An IPv6 flow's other three
 * words of its addresses are in a second line apart (struct vipxdp_fc6),
 * so that IPv4 entries lie next to each other.
 */
struct vipxdp_fc {
	__be32 saddr0; /* key: word 0 of the source and destination */
	__be32 daddr0;
	__be16 sport; /* key */
	__be16 dport;
	__u8 proto; /* key */
	__u8 family; /* key; 0 = empty */
	__u16 kpad; /* key: 0 */
	__u32 gen; /* vipxdp_gen when filled */
	__u32 jif; /* jiffies when filled (low 32 bits) */
	__u16 svc_id;
	__u16 l4_diff; /* the rewrite's change to the L4 checksum, folded */
	__u32 backend_id;
	__be32 new_daddr0; /* F_DNAT: word 0 of the new destination */
	__be32 new_saddr0; /* F_SNAT: word 0 of the new source */
	__be16 new_dport;
	__be16 new_sport;
	__u32 ifindex; /* the next hop */
	__u8 dmac[6];
	__u8 smac[6];
	__u8 flags; /* enum vipxdp_fc_flags */
	__u8 talk; /* F_VIP: the top-talker sampler's talkers_sample, as log2 + 1; 0 = off */
	__u16 ip_diff; /* IPv4: the rewrite's and TTL's change to the header checksum */
};
_Static_assert(sizeof(struct vipxdp_fc) == 64, "vipxdp_fc: one cache line");

/* An entry's IPv6 words 1..3 (unused by IPv4 entries). */
struct vipxdp_fc6 {
	__be32 saddr[3]; /* key */
	__be32 daddr[3]; /* key */
	__be32 new_daddr[3];
	__be32 new_saddr[3];
	__u8 pad[16];
};
_Static_assert(sizeof(struct vipxdp_fc6) == 64, "vipxdp_fc6: one cache line");

/* One CPU's part of the flow cache: 1 MiB of entries, then the count of
 * fills in the current window (see vipxdp_fc_ctl; counted here because
 * this map is not pinned, so the pinned control keeps the layout that
 * older versions pinned). Way w of set s is e[w * VIPXDP_FC_SETS + s]
 * (its IPv6 words x[] at the same index): the ways lie apart, so a
 * thousand flows' entries (mostly in way 0) spread over every set of the
 * CPU's caches, where two-line entries in sets of adjacent ways (way 0 at
 * a 256-byte stride) had a quarter of them. */
struct vipxdp_fc_table {
	struct vipxdp_fc e[VIPXDP_FC_ENTRIES];
	struct vipxdp_fc6 x[VIPXDP_FC_ENTRIES];
	__u32 fills;
	/* Jiffies when the CPU's current skip began (vipxdp_fc_ctl.skip):
	 * once a forget is left undone, the skip lasts at least an entry's
	 * life since, so that no entry filled before it is good when it
	 * ends. */
	__u32 skip_jif;
	__u32 pad[14]; /* the next CPU's table starts on a cache line */
};
_Static_assert(sizeof(struct vipxdp_fc_table) % 64 == 0, "vipxdp_fc_table: whole cache lines");
_Static_assert(VIPXDP_MAX_SERVICES <= 0xffff, "vipxdp_fc.svc_id is 16 bits");

/*
 * vipxdp_filter: a quick "could this be ours?" test before any hash lookup,
 * so foreign traffic passes at the cost of two bit tests. One bit per hash of
 * every VIP address (destination side) and of every backend address (source
 * side of replies). False positives only cost the full lookup.
 */
#define VIPXDP_FILTER_BITS 65536
struct vipxdp_filter {
	__u64 vip[VIPXDP_FILTER_BITS / 64];
	__u64 backend[VIPXDP_FILTER_BITS / 64];
};

/* vipxdp_ifaces: ifindex -> interface data the data path needs. */
enum vipxdp_iface_flags {
	VIPXDP_IF_F_GENERIC = 1u << 0, /* attached in generic (skb) mode */
};

struct vipxdp_iface {
	__u8 mac[6];
	__u16 pad;
	__u32 flags; /* enum vipxdp_iface_flags: control plane bookkeeping */
};
_Static_assert(sizeof(struct vipxdp_iface) == 12, "vipxdp_iface size");

/* vipxdp_cfg: one entry of global configuration. */
enum vipxdp_cfg_flags {
	VIPXDP_CFG_F_SNAT = 1u << 0, /* source NAT rules exist: look up sources */
	VIPXDP_CFG_F_NO_FC = 1u << 1, /* flow cache off (settings.flow_cache: false) */
};

struct vipxdp_cfg {
	__u32 hash_seed; /* same on every node serving the same VIPs */
	__u32 table_size; /* control plane: Maglev size for new tables */
	__u32 flags; /* enum vipxdp_cfg_flags */
	/* Top talkers: one packet in N to a VIP is counted in vipxdp_talkers
	 * (as N packets); 1 = every packet, 0 = off. */
	__u32 talkers_sample;
	/* Idle timeouts per enum vipxdp_ct_state, in epochs; 0 = never. */
	__u32 ct_timeout[VIPXDP_CT_NSTATES];
	__u32 pad;
};
_Static_assert(sizeof(struct vipxdp_cfg) == 40, "vipxdp_cfg size");

/* vipxdp_health: backend id -> health as `vipxdp run` last saw it, for
 * `vipxdp status`. The data path never reads it. */
enum vipxdp_health_rec_state {
	VIPXDP_HREC_NONE = 0, /* not probed (no daemon, or type none) */
	VIPXDP_HREC_UP = 1,
	VIPXDP_HREC_DOWN = 2,
};

#define VIPXDP_HREC_TEXT 48

struct vipxdp_health_rec {
	__u8 state; /* enum vipxdp_health_rec_state */
	__u8 last_ok; /* result of the last probe */
	__u16 pad;
	__u32 transitions; /* state changes seen by the daemon */
	__u64 since; /* CLOCK_REALTIME seconds of the last state change */
	__u64 last_probe; /* CLOCK_REALTIME seconds of the last probe */
	char last[VIPXDP_HREC_TEXT]; /* last probe result, NUL-terminated */
};
_Static_assert(sizeof(struct vipxdp_health_rec) == 72, "vipxdp_health_rec size");

/*
 * Verdict/reason counters. Every packet the program sees is counted under
 * exactly one reason. The list is written once here and expands to both the
 * index enum and the named fields of struct vipxdp_stats, so
 * `bpftool map dump name vipxdp_stats` reads as a table.
 */
/* clang-format off */
#define VIPXDP_REASONS(X)                                                     \
	X(pass_not_ip)      /* not ARP/IPv4/IPv6: not ours */                  \
	X(pass_no_service)  /* IP packet matching no service and no flow */    \
	X(pass_arp)         /* ARP not for us: other address, reply, gratuitous */ \
	X(pass_icmp6)       /* ICMPv6 not answered by us */                    \
	X(pass_malformed)   /* truncated/inconsistent L2/L3 header */          \
	X(pass_frag)        /* fragment to a non-VIP address */                \
	X(pass_no_neigh)    /* rewritten, next hop unresolved: kernel forwards */ \
	X(pass_fib)         /* rewritten, FIB says the kernel must handle it */ \
	X(pass_frag_needed) /* rewritten, bigger than the egress MTU: kernel */    \
	X(pass_ttl)         /* TTL/hop limit would expire: kernel answers */   \
	X(arp_reply)        /* ARP request for a VIP answered (XDP_TX) */      \
	X(ndp_reply)        /* neighbour solicitation for a VIP answered */    \
	X(fwd_tx)           /* rewritten and sent back out (XDP_TX) */         \
	X(fwd_redirect)     /* rewritten and redirected to another interface */ \
	X(drop_malformed)   /* to a VIP, but L4 header truncated/invalid */    \
	X(drop_frag)        /* IP fragment to a VIP */                         \
	X(drop_no_backend)  /* service has no usable backend */                \
	X(drop_nat_ports)   /* NAT: no free source port (exhaustion) */        \
	X(drop_qos)         /* to a VIP over its rate limit (qos) */           \
	X(drop_error)       /* internal error (map update, adjust_tail) */
/* clang-format on */

#define VIPXDP_REASON_ENUM(name) VIPXDP_R_##name,
enum vipxdp_reason { VIPXDP_REASONS(VIPXDP_REASON_ENUM) VIPXDP_R_MAX };
#undef VIPXDP_REASON_ENUM

struct vipxdp_counter {
	__u64 packets;
	__u64 bytes;
};

#define VIPXDP_REASON_FIELD(name) struct vipxdp_counter name;
/* vipxdp_stats: per-CPU array with one entry; fields in enum order. */
struct vipxdp_stats {
	VIPXDP_REASONS(VIPXDP_REASON_FIELD)
};
#undef VIPXDP_REASON_FIELD
_Static_assert(sizeof(struct vipxdp_stats) == VIPXDP_R_MAX * sizeof(struct vipxdp_counter),
	       "vipxdp_stats must be an array of counters in enum order");

/* Reason names for userspace display, in enum order. */
#define VIPXDP_REASON_NAME(name) #name,
#define VIPXDP_REASON_NAMES                                                                        \
	{                                                                                          \
		VIPXDP_REASONS(VIPXDP_REASON_NAME)                                                 \
	}

/* vipxdp_svc_st / vipxdp_be_st: per-CPU arrays indexed by service id and by
 * backend id. "packets/bytes" count client -> VIP packets (frame bytes as
 * received), "reply_*" count backend -> client packets. */
struct vipxdp_lb_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 reply_packets;
	__u64 reply_bytes;
};
_Static_assert(sizeof(struct vipxdp_lb_stats) == 40, "vipxdp_lb_stats size");

/*
 * vipxdp_qos: array indexed by a VIP's QoS index (1..VIPXDP_MAX_VIPS; 0 is
 * "none" and never used). Each limit is a GCRA (virtual scheduling) on one
 * shared "theoretical arrival time" per limit, updated with compare-and-swap
 * by every CPU, so the limit holds for the VIP as a whole. A packet costs
 * pkt_cost ns (packets) and bytes * byte_cost ns (bytes), both fixed point
 * with VIPXDP_QOS_FRAC fraction bits (charged in whole ns, rounded at
 * random); it passes when the new arrival time is at most tol ns ahead of
 * now (tol = burst size, plus half a unit, times the cost of one unit).
 */
#define VIPXDP_QOS_FRAC 20
#define VIPXDP_DEFAULT_TALKERS_SAMPLE 16
#define VIPXDP_MAX_TALKERS 65536

struct vipxdp_qos {
	__u64 pkt_tat; /* data path: theoretical arrival time, ns (bpf_ktime_get_ns) */
	__u64 byte_tat;
	__u64 pkt_cost; /* ns per packet << VIPXDP_QOS_FRAC; 0 = no packet limit */
	__u64 byte_cost; /* ns per byte << VIPXDP_QOS_FRAC; 0 = no byte limit */
	__u64 pkt_tol; /* burst tolerance, ns */
	__u64 byte_tol;
	__u64 pps; /* control plane: the limits as configured (bits/s for bps) */
	__u64 bps;
	__u32 burst_ms;
	__u8 family; /* the VIP this index belongs to: a stale index in a */
	__u8 pad[3]; /* conntrack entry of another address is not limited */
	struct vipxdp_addr vip;
};
_Static_assert(sizeof(struct vipxdp_qos) == 88, "vipxdp_qos size");

/* vipxdp_qos_st: per-CPU array by QoS index: what the limit let through
 * and what it dropped. */
struct vipxdp_qos_stats {
	__u64 packets;
	__u64 bytes;
	__u64 drop_packets;
	__u64 drop_bytes;
};
_Static_assert(sizeof(struct vipxdp_qos_stats) == 32, "vipxdp_qos_stats size");

/* vipxdp_talkers: per-CPU LRU hash (VIP, source) -> packets and bytes sent
 * to the VIP (sampled: see vipxdp_cfg.talkers_sample). */
struct vipxdp_talker_key {
	struct vipxdp_addr vip;
	struct vipxdp_addr src;
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct vipxdp_talker_key) == 36, "vipxdp_talker_key size");

struct vipxdp_talker {
	__u64 packets;
	__u64 bytes;
};

#endif /* VIPXDP_ABI_H */
