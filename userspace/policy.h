/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The vipxdp policy: the YAML file that says which VIPs, services and
 * backends the load balancer serves, parsed with libyaml into the structs
 * below and validated completely before anything uses it. Every problem is
 * reported as "FILE:LINE:COLUMN: problem" (1-based, the position of the
 * offending YAML node); up to VIPXDP_POLICY_MAX_ERRORS are collected, in
 * file order.
 *
 * File rules:
 * - An empty file (or one with only comments, or a lone null document) is
 *   a valid, empty policy: no interfaces, no VIPs, default settings.
 * - One YAML document only. Anchors (&a), aliases (*a) and tags (!!str) are
 *   rejected: a policy is meant to be read line by line.
 * - Unknown keys and repeated keys are errors. A key written with no value
 *   (null) is an error, except for the sections settings, interfaces, vips,
 *   services, backends and health, where null means "empty" / "defaults".
 * - Integers are plain (unquoted) decimal or 0x hexadecimal; booleans are
 *   true/false/yes/no in any case; enumerated values and protocols match in
 *   any case; strings may be quoted or not.
 * - Durations are a number and a unit, ms or s: "500ms", "1s", "1.5s"; they
 *   must come to a whole number of milliseconds.
 *
 * Health checking: a `health` mapping may sit under a service and under a
 * backend. A backend's effective settings are the defaults, overridden by
 * the keys in its service's `health`, overridden by the keys in its own.
 * A key given in a `health` mapping must suit the type in force there (path,
 * expect and host need http; payload needs udp).
 */
#ifndef VIPXDP_POLICY_H
#define VIPXDP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include <linux/types.h>

#include "vipxdp_abi.h"
#include "addr.h"

/* Defaults and bounds of the policy keys. */
#define VIPXDP_PORTFWD_RANGE_MAX 1024 /* ports in one port_forwards range */
#define VIPXDP_POLICY_CT_MAX (1u << 26) /* settings.conntrack_size */
#define VIPXDP_POLICY_WEIGHT_DEFAULT 100 /* backend weight */
#define VIPXDP_POLICY_WEIGHT_MAX 65535
#define VIPXDP_HEALTH_INTERVAL_MS 2000
#define VIPXDP_HEALTH_INTERVAL_MIN_MS 100
#define VIPXDP_HEALTH_TIMEOUT_MS 1000
#define VIPXDP_HEALTH_TIMEOUT_MIN_MS 10
#define VIPXDP_HEALTH_DURATION_MAX_MS 3600000 /* 1 hour, interval and timeout */
#define VIPXDP_HEALTH_RISE 2
#define VIPXDP_HEALTH_FALL 3
#define VIPXDP_HEALTH_COUNT_MAX 100 /* rise and fall: 1-100 */
#define VIPXDP_HEALTH_PATH "/" /* http path when none is given */
#define VIPXDP_HEALTH_EXPECT_MIN 200 /* http status range when none is given */
#define VIPXDP_HEALTH_EXPECT_MAX 399

/* Position of a node in the policy file, 1-based. */
struct vipxdp_policy_loc {
	unsigned int line;
	unsigned int col;
};

/* interfaces[].mode: how the XDP program is attached. */
enum vipxdp_iface_mode {
	VIPXDP_MODE_AUTO = 0, /* "auto": native if the driver supports it, else generic */
	VIPXDP_MODE_NATIVE, /* "native": driver mode, fail if unsupported */
	VIPXDP_MODE_GENERIC, /* "generic": skb mode, works everywhere, slower */
};

/* services[].hash: what the Maglev lookup hashes for a new flow. */
enum vipxdp_hash_mode {
	VIPXDP_HASH_5TUPLE = 0, /* "5tuple": addresses, ports, protocol */
	VIPXDP_HASH_SOURCE_IP, /* "source-ip": client address only (VIPXDP_SVC_F_HASH_SRC) */
};

/* services[].all_down: what a service does when health checks have taken
 * every backend down. */
enum vipxdp_all_down {
	VIPXDP_ALL_DOWN_SERVE_ALL = 0, /* "serve-all" (default): use every backend as if
					* up; a probe failure is likelier than all backends dead */
	VIPXDP_ALL_DOWN_DROP, /* "drop": no backend; new flows are dropped */
};

/* services[].nat: how a service translates. */
enum vipxdp_nat_mode {
	VIPXDP_NAT_DNAT = 0, /* "dnat" (default): destination only; the load balancer
			      * must be the backends' gateway */
	VIPXDP_NAT_FULLNAT, /* "fullnat": also source -> snat_address:allocated port;
			     * backends need no route to clients */
};

/* health.type: how a backend is probed. */
enum vipxdp_health_type {
	VIPXDP_HEALTH_TCP = 0, /* "tcp": the TCP handshake completes */
	VIPXDP_HEALTH_HTTP, /* "http": GET path answers with a status in expect */
	VIPXDP_HEALTH_UDP, /* "udp": payload sent, any reply, no ICMP unreachable */
	VIPXDP_HEALTH_NONE, /* "none": never probed, always considered up */
};

/* Effective health-check settings (defaults and inheritance applied). */
struct vipxdp_policy_health {
	bool configured; /* a health mapping applied here (service or backend) */
	enum vipxdp_health_type type; /* type: default tcp */
	char *path; /* path: http request path, starts with '/'; NULL = VIPXDP_HEALTH_PATH */
	__u16 expect_min; /* expect: "200" or "200-399", codes 100-599; default 200-399 */
	__u16 expect_max;
	char *host; /* host: http Host header; NULL = the backend address */
	__u16 port; /* port: probe port 1-65535; 0 (default) = the backend's port */
	__u32 interval_ms; /* interval: time between probes, 100ms-3600s, default 2s */
	/* timeout: per probe, 10ms-3600s, <= interval; default 1s, or the
	 * interval when that is shorter */
	__u32 timeout_ms;
	__u32 rise; /* rise: consecutive successes to mark up, 1-100, default 2 */
	__u32 fall; /* fall: consecutive failures to mark down, 1-100, default 3 */
	__u8 source_family; /* source: probe source address; family 0 = not given */
	struct vipxdp_addr source; /* same family as the VIP */
	char *payload; /* payload: udp datagram to send (may hold NULs); NULL = empty */
	size_t payload_len;
};

/* vips[].services[].backends[] */
struct vipxdp_policy_backend {
	/* address: required, the VIP's family; port: 1-65535, default the service port */
	struct vipxdp_endpoint ep;
	__u32 weight; /* weight: 0-65535, default 100; 0 = drain (no new flows) */
	struct vipxdp_policy_health health; /* effective health settings */
	struct vipxdp_policy_loc loc; /* the backend's mapping */
};

/* vips[].services[] */
struct vipxdp_policy_service {
	/* The VIP's address; port: 1-65535, required; protocol: tcp | udp, required */
	struct vipxdp_svc_id id;
	enum vipxdp_hash_mode hash; /* hash: 5tuple (default) | source-ip */
	enum vipxdp_all_down all_down; /* all_down: serve-all (default) | drop */
	enum vipxdp_nat_mode nat; /* nat: dnat (default) | fullnat */
	bool port_forward; /* made from a port_forwards entry: one
			    * backend (to:to_port), no health checks */
	__u8 snat_family; /* snat_address: required with fullnat, */
	struct vipxdp_addr snat; /* the VIP's family; backends reply to it */
	struct vipxdp_policy_health health; /* health: service-level settings */
	struct vipxdp_policy_backend *backends; /* backends: in file order, may be empty */
	size_t n_backends;
	struct vipxdp_policy_loc loc; /* the service's mapping */
};

/* vips[] */
struct vipxdp_policy_vip {
	__u8 family; /* of address */
	struct vipxdp_addr addr; /* address: IPv4 or IPv6 literal, required, unique */
	char *name; /* name: free text label, 1-23 bytes (fits the VIP map entry); NULL when not
		       given */
	bool arp; /* arp: answer ARP (IPv4) / NDP (IPv6) for address; default true */
	struct vipxdp_policy_service *services; /* services: file order, may be empty;
						 * port_forwards are appended as services */
	size_t n_services;
	/* elastic_ip: a private address of the same family; every protocol and
	 * port of the VIP goes to it, and its own traffic leaves with the VIP
	 * as source. A VIP with elastic_ip has no services or port_forwards. */
	bool has_eip;
	struct vipxdp_addr eip;
	/* qos: {pps: N, bps: N, burst: DURATION}: a rate limit on the packets
	 * sent to the VIP (services, port forwards, elastic IP), shared by
	 * every CPU. pps 1-VIPXDP_QOS_PPS_MAX packets/s, bps
	 * VIPXDP_QOS_BPS_MIN-VIPXDP_QOS_BPS_MAX bits/s (frame bytes * 8), at
	 * least one of the two; burst 1ms-10s, default 100ms: how much above
	 * the rate may pass at once. */
	bool has_qos;
	__u64 qos_pps; /* 0 = no packet limit */
	__u64 qos_bps; /* 0 = no bit limit */
	__u32 qos_burst_ms;
	struct vipxdp_policy_loc loc; /* the VIP's mapping */
};

/* interfaces[] */
struct vipxdp_policy_iface {
	/* name: 1-15 characters, no '/', ':' or whitespace, not "." or "..";
	 * required, unique */
	char name[IFNAMSIZ];
	enum vipxdp_iface_mode mode; /* mode: native | generic | auto (default) */
	struct vipxdp_policy_loc loc; /* the interface's mapping */
};

/* settings */
struct vipxdp_policy_settings {
	__u32 hash_seed; /* hash_seed: 32-bit flow hash seed, same on every node; default 0 */
	/* table_size: Maglev table size of every service, a prime in
	 * VIPXDP_MAGLEV_MIN-VIPXDP_MAGLEV_MAX (7-1048573); default 65537 */
	__u32 table_size;
	/* conntrack_size: flow table entries, 1-VIPXDP_POLICY_CT_MAX; default 262144 */
	__u32 conntrack_size;
	/* conntrack_timeouts: idle timeouts by connection state, in ms, indexed
	 * by enum vipxdp_ct_state: tcp_syn (default 60s), tcp_established
	 * (3600s), tcp_closing (10s), udp (60s), other (30s: ICMP echo...);
	 * 1s-7d, or 0 ("never": only the LRU evicts). The data path counts in
	 * ~1.07 s epochs, so a timeout is exact to about a second. */
	__u32 ct_timeout_ms[VIPXDP_CT_NSTATES];
	/* talkers_sample: top talkers count one packet in N to a VIP (as N
	 * packets): a power of two 1-65536, or 0 (off); default 128 */
	__u32 talkers_sample;
	/* flow_cache: established flows' packets answered from the per-CPU
	 * flow cache (default true); false sends every packet through
	 * conntrack. */
	bool flow_cache;
};

#define VIPXDP_QOS_PPS_MAX 1000000000ull
#define VIPXDP_QOS_BPS_MIN 8000ull
#define VIPXDP_QOS_BPS_MAX 10000000000000ull
#define VIPXDP_QOS_BURST_MAX_MS 10000
#define VIPXDP_POLICY_BURST_MS 100
#define VIPXDP_POLICY_TALKERS_SAMPLE 128
#define VIPXDP_TALKERS_SAMPLE_MAX 65536

/* Default idle timeouts, ms, by enum vipxdp_ct_state. */
#define VIPXDP_CT_TIMEOUTS_DEFAULT                                                                 \
	{                                                                                          \
		60000, 3600000, 10000, 60000, 30000                                                \
	}
#define VIPXDP_CT_TIMEOUT_MAX_MS (7u * 24 * 3600 * 1000)

/* Timeout in ms -> data-path epochs (rounded up; 0 stays 0). */
static inline __u32 vipxdp_ms_to_epochs(__u32 ms)
{
	return ms ? (__u32)(((__u64)ms * 1000000 + (1ull << VIPXDP_EPOCH_SHIFT) - 1) >>
			    VIPXDP_EPOCH_SHIFT)
		  : 0;
}

/* snat[]: source NAT through a VIP */
struct vipxdp_policy_snat {
	struct vipxdp_cidr source; /* source: private prefix (host bits cleared) */
	struct vipxdp_addr vip; /* address: a VIP of this policy, same family; outbound
				 * TCP, UDP and ICMP echo from source leave from it */
	struct vipxdp_policy_loc loc;
};

struct vipxdp_policy {
	char *name; /* the file name given to the parser */
	struct vipxdp_policy_snat *snat; /* snat: file order */
	size_t n_snat;
	struct vipxdp_policy_settings settings;
	struct vipxdp_policy_iface *ifaces; /* interfaces: file order */
	size_t n_ifaces;
	struct vipxdp_policy_vip *vips; /* vips: file order */
	size_t n_vips;
};

#define VIPXDP_POLICY_MAX_ERRORS 20
#define VIPXDP_POLICY_ERRLEN 320

/* The first errors of a failed load, in file order (line, then column). */
struct vipxdp_policy_errors {
	unsigned int n; /* messages in msg[] */
	unsigned int more; /* errors found beyond the ones in msg[] */
	char msg[VIPXDP_POLICY_MAX_ERRORS][VIPXDP_POLICY_ERRLEN];
};

/*
 * Read and validate the policy in the file at path. On success *out is a
 * new policy (free it with vipxdp_policy_free()) and errs->n is 0. On
 * failure *out is NULL, errs (may be NULL) holds the messages, and the
 * return value is -EINVAL (syntax or validation), -ENOMEM, or the -errno
 * of reading the file (then the message is "FILE: strerror").
 */
int vipxdp_policy_load(const char *path, struct vipxdp_policy **out,
		       struct vipxdp_policy_errors *errs);

/* The same for len bytes of text; name is used in messages ("t.yaml"). */
int vipxdp_policy_parse_string(const char *name, const char *text, size_t len,
			       struct vipxdp_policy **out, struct vipxdp_policy_errors *errs);

void vipxdp_policy_free(struct vipxdp_policy *p);

/* Print every message, one a line, and "... and N more errors". */
void vipxdp_policy_errors_print(const struct vipxdp_policy_errors *errs, FILE *f);

/* Lookups by identity; NULL when absent. */
const struct vipxdp_policy_vip *vipxdp_policy_find_vip(const struct vipxdp_policy *p, __u8 family,
						       const struct vipxdp_addr *addr);
const struct vipxdp_policy_service *vipxdp_policy_find_service(const struct vipxdp_policy *p,
							       const struct vipxdp_svc_id *id);
const struct vipxdp_policy_backend *
vipxdp_policy_find_backend(const struct vipxdp_policy_service *svc,
			   const struct vipxdp_endpoint *ep);
const struct vipxdp_policy_iface *vipxdp_policy_find_iface(const struct vipxdp_policy *p,
							   const char *name);

/* Key words as written in the policy ("native", "source-ip", "http"...). */
const char *vipxdp_iface_mode_str(enum vipxdp_iface_mode mode);
const char *vipxdp_hash_mode_str(enum vipxdp_hash_mode hash);
const char *vipxdp_health_type_str(enum vipxdp_health_type type);

#endif /* VIPXDP_POLICY_H */
