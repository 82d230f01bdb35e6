/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet tests of the XDP data path through BPF_PROG_TEST_RUN: a crafted
 * frame in, the verdict and the exact frame out, and the exact counters.
 *
 * The program runs in a private network namespace that this test makes
 * (unshare), with two veth pairs standing for the client side (vt_in,
 * 198.18.0.1/24, 2001:db8:1::1/64) and the backend side (vt_be,
 * 198.19.0.254/24, 2001:db8:2::fe/64) and permanent neighbour entries, so
 * bpf_fib_lookup gives fixed next hops and MACs. Expected frames are built
 * with tests/packet/pkt_build.c, which shares no code with the data path,
 * and every output checksum is verified by it independently.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../lib/tap.h"
#include "pkt_build.h"
#include "pkt_env.h"
#include "dataplane.h"
#include "vipxdp_hash.h"
#include "routewatch.h"
#include "vipxdp.skel.h"

#define MAC_LOCAL_BE "02:00:00:00:00:50" /* backend on the client link */
#define MAC_PEER "02:00:00:00:00:99" /* some other host */

#define VIP4 "198.18.0.100"
#define VIP4_TX "198.18.0.101" /* backend on the ingress link: XDP_TX */
#define VIP4_NONEIGH "198.18.0.102" /* backend without neighbour entry */
#define VIP4_SRCHASH "198.18.0.103"
#define VIP4_NOARP "198.18.0.104"
#define VIP6 "2001:db8:100::1"
/* vipxdp_ct_key6() of CLIENT6 port 40200 -> VIP6 port 80 (test_ct_keys). */
#define CT6_DIGEST_A 2601332919u
#define CT6_DIGEST_B 2831287762u
#define TABLE_SIZE 65537
#define SEED 0x5eed1234u

static struct vipxdp_bpf *skel;
static struct vipxdp_dp dp;
static int prog_fd;
static int if_in, if_be;
static __u8 mac_in[6], mac_be[6], mac_client[6], mac_local_be[6], mac_peer[6];
static const __u8 mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static const char *const be4[] = { "198.19.0.1", "198.19.0.2", "198.19.0.3" };
static const char *const be6[] = { "2001:db8:2::1", "2001:db8:2::2", "2001:db8:2::3" };
static const char *const be_mac[] = { "02:00:00:00:01:01", "02:00:00:00:01:02",
				      "02:00:00:00:01:03", "02:00:00:00:01:04" };

/* ---- environment ---------------------------------------------------- */

static int setup_netns(void)
{
	static const char *const extra[] = {
		"ip neigh add 198.18.0.50 lladdr " MAC_LOCAL_BE " dev vt_in nud permanent",
		"ip neigh add 198.19.0.4 lladdr 02:00:00:00:01:04 dev vt_be nud permanent",
		/* 198.19.0.9 has no neighbour entry: FIB answers NO_NEIGH. */
	};

	return pkt_env_setup("test_datapath", extra, sizeof(extra) / sizeof(extra[0]), &if_in,
			     &if_be);
}


static int add_service(const char *vip, __u8 proto, __u16 port, __u32 flags,
		       const char *const *bes, size_t n, __u16 be_port)
{
	struct vipxdp_be_spec spec[8] = {};
	struct vipxdp_svc_spec svc = {};
	size_t i;

	pkt_env_addr(vip, &svc.family, &svc.vip);
	svc.proto = proto;
	svc.port = port;
	svc.flags = flags;
	svc.table_size = TABLE_SIZE;
	for (i = 0; i < n; i++) {
		pkt_env_addr(bes[i], &spec[i].family, &spec[i].addr);
		spec[i].port = be_port;
		spec[i].weight = 100;
	}
	return vipxdp_dp_set_service(&dp, &svc, spec, n, NULL);
}

static int add_vip(const char *vip, __u32 flags)
{
	struct vipxdp_addr a;
	__u8 family;

	pkt_env_addr(vip, &family, &a);
	return vipxdp_dp_set_vip(&dp, family, &a, flags, NULL);
}

static int setup_dataplane(void)
{
	static const char *const tx_be[] = { "198.18.0.50" };
	static const char *const nn_be[] = { "198.19.0.9" };
	struct vipxdp_cfg cfg = { .hash_seed = SEED };
	int err;

	skel = vipxdp_bpf__open();
	if (skel && (vipxdp_size_flow_cache(skel) || vipxdp_bpf__load(skel))) {
		vipxdp_bpf__destroy(skel);
		skel = NULL;
	}
	if (!skel) {
		printf("# loading the BPF object failed: %s\n", strerror(errno));
		return -1;
	}
	prog_fd = bpf_program__fd(skel->progs.vipxdp_xdp);
	err = vipxdp_dp_from_skel(&dp, skel);
	err = err ?: vipxdp_dp_set_cfg(&dp, &cfg);
	err = err ?: vipxdp_dp_set_iface(&dp, if_in, mac_in, 0);
	err = err ?: vipxdp_dp_set_iface(&dp, if_be, mac_be, 0);
	err = err ?: add_vip(VIP4, VIPXDP_VIP_F_ARP);
	err = err ?: add_vip(VIP4_TX, VIPXDP_VIP_F_ARP);
	err = err ?: add_vip(VIP4_NONEIGH, VIPXDP_VIP_F_ARP);
	err = err ?: add_vip(VIP4_SRCHASH, VIPXDP_VIP_F_ARP);
	err = err ?: add_vip(VIP4_NOARP, 0);
	err = err ?: add_vip(VIP6, VIPXDP_VIP_F_ARP);
	err = err ?: add_service(VIP4, IPPROTO_TCP, 80, 0, be4, 3, 8080);
	err = err ?: add_service(VIP4, IPPROTO_UDP, 53, 0, be4, 3, 5353);
	err = err ?: add_service(VIP6, IPPROTO_TCP, 80, 0, be6, 3, 8080);
	err = err ?: add_service(VIP6, IPPROTO_UDP, 53, 0, be6, 3, 5353);
	err = err ?: add_service(VIP4_TX, IPPROTO_TCP, 80, 0, tx_be, 1, 8080);
	err = err ?: add_service(VIP4_NONEIGH, IPPROTO_TCP, 80, 0, nn_be, 1, 8080);
	err = err ?: add_service(VIP4_SRCHASH, IPPROTO_TCP, 80, VIPXDP_SVC_F_HASH_SRC, be4, 3,
				 8080);
	err = err ?: add_service(VIP4_NOARP, IPPROTO_TCP, 80, 0, be4, 3, 8080);
	if (err)
		printf("# data-plane set-up failed: %s\n", strerror(-err));
	return err;
}

/* ---- running the program and counters -------------------------------- */

struct run {
	__u8 out[2048];
	__u32 out_len;
	__u32 retval;
};

static int run_prog(const __u8 *in, int len, int ifindex, struct run *r)
{
	struct xdp_md ctx = { .data = 0, .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		printf("# bpf_prog_test_run_opts: %s\n", strerror(errno));
		return -errno;
	}
	r->out_len = opts.data_size_out;
	r->retval = opts.retval;
	return 0;
}

/* Sum of one reason's counter over all CPUs. */
static struct vipxdp_counter reason_total(int reason)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_counter c = {};
	struct vipxdp_stats *st;
	__u32 zero = 0;

	st = calloc(ncpu, sizeof(*st));
	if (st && !bpf_map_lookup_elem(dp.stats_fd, &zero, st)) {
		for (int i = 0; i < ncpu; i++) {
			c.packets += ((struct vipxdp_counter *)&st[i])[reason].packets;
			c.bytes += ((struct vipxdp_counter *)&st[i])[reason].bytes;
		}
	}
	free(st);
	return c;
}

static struct vipxdp_lb_stats lb_total(int fd, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_lb_stats t = {}, *st;

	st = calloc(ncpu, sizeof(*st));
	if (st && !bpf_map_lookup_elem(fd, &id, st)) {
		for (int i = 0; i < ncpu; i++) {
			t.packets += st[i].packets;
			t.bytes += st[i].bytes;
			t.new_flows += st[i].new_flows;
			t.reply_packets += st[i].reply_packets;
			t.reply_bytes += st[i].reply_bytes;
		}
	}
	free(st);
	return t;
}

static const char *const reason_names[] = VIPXDP_REASON_NAMES;

/*
 * Run one frame and check: the verdict, the reason counter moved by exactly
 * this one packet of this many bytes (and no other reason moved), the
 * output equals `want` byte for byte (want == NULL: equals the input), and
 * every checksum of a rewritten output is valid (an untouched output is
 * checked by identity alone: malformed inputs stay malformed).
 */
static bool expect(const __u8 *in, int len, int ifindex, __u32 verdict, int reason,
		   const __u8 *want, int want_len, struct run *r)
{
	struct vipxdp_counter before[VIPXDP_R_MAX], after;
	char why[256];
	bool ok = true;
	int i;

	for (i = 0; i < VIPXDP_R_MAX; i++)
		before[i] = reason_total(i);
	if (run_prog(in, len, ifindex, r))
		return false;
	bool rewritten = want != NULL;

	if (!want) {
		want = in;
		want_len = len;
	}
	ok &= ASSERT_EQ(r->retval, verdict, "verdict");
	for (i = 0; i < VIPXDP_R_MAX; i++) {
		after = reason_total(i);
		if (i == reason) {
			ok &= ASSERT_EQ(after.packets - before[i].packets, 1, reason_names[i]);
			ok &= ASSERT_EQ(after.bytes - before[i].bytes, len, reason_names[i]);
		} else if (after.packets != before[i].packets) {
			printf("# counter %s moved by %llu\n", reason_names[i],
			       (unsigned long long)(after.packets - before[i].packets));
			ok = false;
		}
	}
	if ((int)r->out_len != want_len || memcmp(r->out, want, want_len)) {
		printf("# output differs from the expected frame:\n");
		pkt_hexdiff(stdout, r->out, r->out_len, want, want_len);
		ok = false;
	}
	if (rewritten && !pkt_verify_checksums(r->out, r->out_len, why, sizeof(why))) {
		printf("# output checksum: %s\n", why);
		ok = false;
	}
	return ok;
}

/* ---- packet descriptions ---------------------------------------------- */

static struct pkt_desc tcp4(const char *src, __u16 sport, const char *dst, __u16 dport,
			    __u8 flags)
{
	struct pkt_desc d = {};

	memcpy(d.l2.dmac, mac_in, 6);
	memcpy(d.l2.smac, mac_client, 6);
	d.family = AF_INET;
	snprintf(d.saddr, sizeof(d.saddr), "%s", src);
	snprintf(d.daddr, sizeof(d.daddr), "%s", dst);
	d.proto = IPPROTO_TCP;
	d.sport = sport;
	d.dport = dport;
	d.tcp_flags = flags;
	d.seq = 1000;
	d.ack = flags & PKT_ACK ? 2000 : 0;
	d.ttl = 64;
	d.ip_id = 0x1234;
	d.frag_off = PKT_IP_DF;
	d.payload = "hello";
	d.payload_len = flags & PKT_SYN ? 0 : 5;
	return d;
}

static struct pkt_desc tcp6(const char *src, __u16 sport, const char *dst, __u16 dport,
			    __u8 flags)
{
	struct pkt_desc d = tcp4(src, sport, dst, dport, flags);

	d.family = AF_INET6;
	d.frag_off = 0;
	d.ip_id = 0;
	return d;
}

static struct pkt_desc as_udp(struct pkt_desc d)
{
	d.proto = IPPROTO_UDP;
	d.tcp_flags = 0;
	d.payload = "query";
	d.payload_len = 5;
	return d;
}

/* The frame the data path should emit for d after a DNAT to addr:port,
 * forwarded through next-hop MAC dmac from interface MAC smac. */
static int expected_fwd(struct pkt_desc d, bool dst, const char *addr, __u16 port,
			const __u8 *smac, const __u8 *dmac, __u8 *buf)
{
	if (dst) {
		snprintf(d.daddr, sizeof(d.daddr), "%s", addr);
		d.dport = port;
	} else {
		snprintf(d.saddr, sizeof(d.saddr), "%s", addr);
		d.sport = port;
	}
	d.ttl--;
	memcpy(d.l2.smac, smac, 6);
	memcpy(d.l2.dmac, dmac, 6);
	return pkt_build(&d, buf, 2048);
}

/* Conntrack entries of a flow as the test describes it. */
static void fc_flow(const struct pkt_desc *d, struct vipxdp_flow *f)
{
	memset(f, 0, sizeof(*f));
	pkt_env_addr(d->saddr, &f->family, &f->saddr);
	pkt_env_addr(d->daddr, &f->family, &f->daddr);
	f->sport = htons(d->sport);
	f->dport = htons(d->dport);
	f->proto = d->proto;
}

static bool fc_ct_get(const struct pkt_desc *d, struct vipxdp_ct *ct)
{
	struct vipxdp_flow f;

	fc_flow(d, &f);
	return !vipxdp_ct_get(&dp, &f, ct);
}

static bool fc_ct_exists(const struct pkt_desc *d)
{
	struct vipxdp_ct ct;

	return fc_ct_get(d, &ct);
}

static void fc_ct_delete(const struct pkt_desc *d)
{
	struct vipxdp_flow f;

	fc_flow(d, &f);
	vipxdp_ct_del(&dp, &f);
}

/* Frame d as backend bmac sends it to the load balancer's backend link. */
static void from_backend(struct pkt_desc *d, const __u8 *bmac)
{
	memcpy(d->l2.dmac, mac_be, 6);
	memcpy(d->l2.smac, bmac, 6);
}

/* Which of the 3 backends (index into be4/be6) does this output go to? */
static int out_backend(const struct run *r, int family)
{
	struct pkt_info pi;
	char a[64];
	int i;

	if (!pkt_parse(r->out, r->out_len, &pi, NULL, 0))
		return -1;
	if (family == AF_INET)
		inet_ntop(AF_INET, r->out + pi.l3_off + 16, a, sizeof(a));
	else
		inet_ntop(AF_INET6, r->out + pi.l3_off + 24, a, sizeof(a));
	for (i = 0; i < 3; i++)
		if (!strcmp(a, family == AF_INET ? be4[i] : be6[i]))
			return i;
	return -1;
}

/* Userspace's prediction of the backend index for a flow. */
static int predict(const struct pkt_desc *d, bool syn)
{
	struct vipxdp_backend be;
	struct vipxdp_flow f = {};
	char a[64];
	__u32 id;
	int i;

	pkt_env_addr(d->saddr, &f.family, &f.saddr);
	pkt_env_addr(d->daddr, &f.family, &f.daddr);
	f.sport = htons(d->sport);
	f.dport = htons(d->dport);
	f.proto = d->proto;
	int err = vipxdp_dp_predict(&dp, &f, syn, &id, &be);

	if (err) {
		printf("# vipxdp_dp_predict(%s -> %s): %s\n", d->saddr, d->daddr, strerror(-err));
		return -1;
	}
	inet_ntop(f.family == VIPXDP_AF_INET ? AF_INET : AF_INET6, &be.addr, a, sizeof(a));
	for (i = 0; i < 3; i++)
		if (!strcmp(a, f.family == VIPXDP_AF_INET ? be4[i] : be6[i]))
			return i;
	return -1;
}

/* One packet to a VIP and what it must become (to_backend()); the frames
 * stay for more runs of the same packet. */
struct lb_send {
	__u8 in[2048], want[2048], bmac[6];
	int be, len, wlen;
	struct run r;
};

/* Send d, to a VIP, and expect it redirected with the exact bytes to the
 * backend the control plane predicts (syn: for a new flow), port port;
 * s->be is that backend's index (-1 when there is none). */
static bool to_backend(struct lb_send *s, const struct pkt_desc *d, bool syn, __u16 port)
{
	s->be = predict(d, syn);
	if (!ASSERT_GE(s->be, 0, "prediction"))
		return false;
	pkt_mac(be_mac[s->be], s->bmac);
	s->len = pkt_build(d, s->in, sizeof(s->in));
	s->wlen = expected_fwd(*d, true, d->family == AF_INET6 ? be6[s->be] : be4[s->be], port,
			       mac_be, s->bmac, s->want);
	return expect(s->in, s->len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, s->want, s->wlen,
		      &s->r);
}

/* to_backend()'s packet once more: the same bytes out. */
static bool to_backend_again(struct lb_send *s)
{
	return expect(s->in, s->len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, s->want, s->wlen,
		      &s->r);
}


/* ---- ARP ------------------------------------------------------------- */

static struct pkt_arp arp_req(const char *spa, const char *tpa)
{
	struct pkt_arp a = {};

	memcpy(a.l2.dmac, mac_bcast, 6);
	memcpy(a.l2.smac, mac_client, 6);
	a.op = PKT_ARP_REQUEST;
	memcpy(a.sha, mac_client, 6);
	snprintf(a.spa, sizeof(a.spa), "%s", spa);
	snprintf(a.tpa, sizeof(a.tpa), "%s", tpa);
	a.pad_to = PKT_ETH_MIN;
	return a;
}

/* The reply to request a: from the interface MAC, to the asker, padding kept. */
static int arp_reply_of(struct pkt_arp a, __u8 *buf)
{
	struct pkt_arp r = a;

	memcpy(r.l2.dmac, a.sha, 6);
	memcpy(r.l2.smac, mac_in, 6);
	r.op = PKT_ARP_REPLY;
	memcpy(r.sha, mac_in, 6);
	snprintf(r.spa, sizeof(r.spa), "%s", a.tpa);
	memcpy(r.tha, a.sha, 6);
	snprintf(r.tpa, sizeof(r.tpa), "%s", a.spa);
	return pkt_build_arp(&r, buf, 2048);
}

/* An ARP request for a VIP is answered in place with the interface MAC. */
static bool test_arp_request_vip(void)
{
	struct pkt_arp a = arp_req(CLIENT4, VIP4);
	__u8 in[128], want[2048];
	struct run r;
	int len = pkt_build_arp(&a, in, sizeof(in));
	int wlen = arp_reply_of(a, want);

	return expect(in, len, if_in, XDP_TX, VIPXDP_R_arp_reply, want, wlen, &r);
}

/* ARP requests for an address that is not a VIP pass untouched. */
static bool test_arp_request_other(void)
{
	struct pkt_arp a = arp_req(CLIENT4, "198.18.0.200");
	__u8 in[128];
	struct run r;
	int len = pkt_build_arp(&a, in, sizeof(in));

	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_arp, NULL, 0, &r);
}

/* A VIP whose ARP flag is off is not answered. */
static bool test_arp_request_noarp_vip(void)
{
	struct pkt_arp a = arp_req(CLIENT4, VIP4_NOARP);
	__u8 in[128];
	struct run r;
	int len = pkt_build_arp(&a, in, sizeof(in));

	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_arp, NULL, 0, &r);
}

/* ARP replies, even about a VIP, are never answered. */
static bool test_arp_reply_passes(void)
{
	struct pkt_arp a = arp_req(VIP4, CLIENT4);
	__u8 in[128];
	struct run r;
	int len;

	a.op = PKT_ARP_REPLY;
	memcpy(a.l2.dmac, mac_in, 6);
	memcpy(a.tha, mac_in, 6);
	len = pkt_build_arp(&a, in, sizeof(in));
	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_arp, NULL, 0, &r);
}

/* Gratuitous ARP (sender = target = VIP) is never answered. */
static bool test_arp_gratuitous_passes(void)
{
	struct pkt_arp a = arp_req(VIP4, VIP4);
	__u8 in[128];
	struct run r;
	int len = pkt_build_arp(&a, in, sizeof(in));

	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_arp, NULL, 0, &r);
}

/* ARP in 802.1Q and in 802.1ad+802.1Q frames is answered; tags are kept. */
static bool test_arp_vlan(void)
{
	__u8 in[128], want[2048];
	struct run r;
	bool ok = true;

	for (int n = 1; n <= 2; n++) {
		struct pkt_arp a = arp_req(CLIENT4, VIP4);
		int len, wlen;

		a.l2.nvlan = n;
		a.l2.vlan_tci[0] = 100;
		a.l2.vlan_tci[1] = 200;
		len = pkt_build_arp(&a, in, sizeof(in));
		wlen = arp_reply_of(a, want);
		ok &= expect(in, len, if_in, XDP_TX, VIPXDP_R_arp_reply, want, wlen, &r);
	}
	return ok;
}

/* ---- NDP ------------------------------------------------------------- */

static struct pkt_nd ns_for(const char *target, bool lladdr)
{
	struct pkt_nd n = {};

	pkt_ipv6_mcast_mac("ff02::1:ff00:1", n.l2.dmac);
	memcpy(n.l2.smac, mac_client, 6);
	snprintf(n.saddr, sizeof(n.saddr), "%s", CLIENT6);
	snprintf(n.target, sizeof(n.target), "%s", target);
	n.has_lladdr = lladdr;
	memcpy(n.lladdr, mac_client, 6);
	return n;
}

static int na_for(const char *target, const char *dst, const __u8 *dmac, __u8 flags, __u8 *buf)
{
	struct pkt_nd n = {};

	memcpy(n.l2.dmac, dmac, 6);
	memcpy(n.l2.smac, mac_in, 6);
	snprintf(n.saddr, sizeof(n.saddr), "%s", target);
	snprintf(n.daddr, sizeof(n.daddr), "%s", dst);
	snprintf(n.target, sizeof(n.target), "%s", target);
	n.na_flags = flags;
	n.has_lladdr = true;
	memcpy(n.lladdr, mac_in, 6);
	return pkt_build_na(&n, buf, 2048);
}

/* A neighbour solicitation for an IPv6 VIP gets a solicited, override
 * advertisement with our MAC as target link-layer address. */
static bool test_ndp_solicit_vip(void)
{
	struct pkt_nd n = ns_for(VIP6, true);
	__u8 in[256], want[2048];
	struct run r;
	int len = pkt_build_ns(&n, in, sizeof(in));
	int wlen = na_for(VIP6, CLIENT6, mac_client, PKT_NA_SOLICITED | PKT_NA_OVERRIDE, want);

	return expect(in, len, if_in, XDP_TX, VIPXDP_R_ndp_reply, want, wlen, &r);
}

/* A solicitation without options (shorter than the reply) is answered too:
 * the frame grows by 8 bytes. */
static bool test_ndp_solicit_no_option(void)
{
	struct pkt_nd n = ns_for(VIP6, false);
	__u8 in[256], want[2048];
	struct run r;
	int len = pkt_build_ns(&n, in, sizeof(in));
	int wlen = na_for(VIP6, CLIENT6, mac_client, PKT_NA_SOLICITED | PKT_NA_OVERRIDE, want);

	return expect(in, len, if_in, XDP_TX, VIPXDP_R_ndp_reply, want, wlen, &r);
}

/* Duplicate address detection (source ::, nonce option) gets an unsolicited
 * advertisement to all nodes. */
static bool test_ndp_solicit_dad(void)
{
	static const __u8 nonce[6] = { 1, 2, 3, 4, 5, 6 };
	struct pkt_nd n = ns_for(VIP6, false);
	__u8 in[256], want[2048], allnodes[6];
	struct run r;
	int len, wlen;

	snprintf(n.saddr, sizeof(n.saddr), "::");
	n.nonce = nonce;
	n.nonce_len = sizeof(nonce);
	len = pkt_build_ns(&n, in, sizeof(in));
	pkt_ipv6_mcast_mac("ff02::1", allnodes);
	wlen = na_for(VIP6, "ff02::1", allnodes, PKT_NA_OVERRIDE, want);
	return expect(in, len, if_in, XDP_TX, VIPXDP_R_ndp_reply, want, wlen, &r);
}

/* Solicitations for other addresses, or with a hop limit other than 255,
 * pass untouched. */
static bool test_ndp_solicit_other(void)
{
	struct pkt_nd n = ns_for("2001:db8:1::77", true);
	__u8 in[256];
	struct run r;
	bool ok;
	int len = pkt_build_ns(&n, in, sizeof(in));

	ok = expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_icmp6, NULL, 0, &r);
	n = ns_for(VIP6, true);
	n.hop_limit = 64;
	len = pkt_build_ns(&n, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_icmp6, NULL, 0, &r);
	return ok;
}

/* ---- DNAT load balancing --------------------------------------------- */

/* A TCP SYN, then ACK and FIN of the same flow, go to one backend: the
 * destination becomes backend:8080, TTL drops by one, MACs are the next hop's,
 * and the frame is redirected to the backend interface. Service and backend
 * counters count 3 packets, their bytes, and 1 new flow. */
static bool test_tcp4_syn_ack_fin(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 40000, VIP4, 80, PKT_SYN);
	struct vipxdp_svc_spec spec = {};
	struct vipxdp_lb_stats s0, s1, b0, b1;
	struct vipxdp_svc svc;
	__u8 in[2048], want[2048], bmac[6];
	__u64 bytes = 0;
	struct run r;
	bool ok = true;
	int be, len, wlen, i;
	const __u8 flags[] = { PKT_SYN, PKT_ACK, PKT_FIN | PKT_ACK };
	struct vipxdp_backend bev;
	__u32 be_id;
	struct vipxdp_flow f = {};

	pkt_env_addr(VIP4, &spec.family, &spec.vip);
	spec.proto = IPPROTO_TCP;
	spec.port = 80;
	if (!ASSERT_OK(vipxdp_dp_get_service(&dp, &spec, &svc), "service"))
		return false;
	be = predict(&d, true);
	if (!ASSERT_GE(be, 0, "prediction"))
		return false;
	pkt_env_addr(CLIENT4, &f.family, &f.saddr);
	pkt_env_addr(VIP4, &f.family, &f.daddr);
	f.sport = htons(40000);
	f.dport = htons(80);
	f.proto = IPPROTO_TCP;
	if (!ASSERT_OK(vipxdp_dp_predict(&dp, &f, true, &be_id, &bev), "predict id"))
		return false;
	s0 = lb_total(dp.svc_stats_fd, svc.id);
	b0 = lb_total(dp.be_stats_fd, be_id);
	pkt_mac(be_mac[be], bmac);
	for (i = 0; i < 3; i++) {
		d = tcp4(CLIENT4, 40000, VIP4, 80, flags[i]);
		len = pkt_build(&d, in, sizeof(in));
		wlen = expected_fwd(d, true, be4[be], 8080, mac_be, bmac, want);
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		bytes += len;
	}
	s1 = lb_total(dp.svc_stats_fd, svc.id);
	b1 = lb_total(dp.be_stats_fd, be_id);
	ok &= ASSERT_EQ(s1.packets - s0.packets, 3, "service packets");
	ok &= ASSERT_EQ(s1.bytes - s0.bytes, bytes, "service bytes");
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 1, "service new flows");
	ok &= ASSERT_EQ(b1.packets - b0.packets, 3, "backend packets");
	ok &= ASSERT_EQ(b1.bytes - b0.bytes, bytes, "backend bytes");
	ok &= ASSERT_EQ(b1.new_flows - b0.new_flows, 1, "backend new flows");
	return ok;
}

/* The backend's reply (backend:8080 -> client) leaves with VIP:80 as its
 * source, towards the client's MAC on the client interface. The SYN-ACK
 * fills the flow cache for the replies that follow (the handshake's state
 * needs none of them): the next reply is answered from the cache, which
 * does not see its conntrack entry deleted before it, with the same bytes. */
static bool test_tcp4_reply(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 40001, VIP4, 80, PKT_SYN), rep;
	__u8 in[2048], want[2048], bmac[6];
	struct run r;
	int be, len, wlen;
	bool ok;

	len = pkt_build(&d, in, sizeof(in));
	if (!ASSERT_OK(run_prog(in, len, if_in, &r), "syn"))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "syn went to a backend"))
		return false;
	pkt_mac(be_mac[be], bmac);
	rep = tcp4(be4[be], 8080, CLIENT4, 40001, PKT_SYN | PKT_ACK);
	from_backend(&rep, bmac);
	len = pkt_build(&rep, in, sizeof(in));
	wlen = expected_fwd(rep, false, VIP4, 80, mac_in, mac_client, want);
	ok = expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	fc_ct_delete(&d);
	rep = tcp4(be4[be], 8080, CLIENT4, 40001, PKT_ACK);
	from_backend(&rep, bmac);
	len = pkt_build(&rep, in, sizeof(in));
	wlen = expected_fwd(rep, false, VIP4, 80, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(!fc_ct_exists(&d), "the reply after the SYN-ACK: answered from the cache");
	return ok;
}

/* A non-SYN packet of a flow this node never saw is forwarded by the hash
 * (never dropped), and the flow is tracked from then on. */
static bool test_tcp4_ack_without_conntrack(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 40002, VIP4, 80, PKT_ACK);
	struct lb_send s;

	return to_backend(&s, &d, false, 8080) && to_backend_again(&s);
}

/* UDP with a checksum is rewritten with a correct checksum; UDP with
 * checksum 0 keeps 0. */
static bool test_udp4(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 41000, VIP4, 53, 0));
	struct lb_send s;
	bool ok = true;

	for (int nocsum = 0; nocsum <= 1; nocsum++) {
		d.udp_no_csum = nocsum;
		d.sport = 41000 + nocsum;
		ok &= to_backend(&s, &d, false, 5353);
	}
	return ok;
}

/* IPv6: TCP SYN, ACK and the reply; UDP. */
static bool test_ipv6_tcp_udp(void)
{
	struct pkt_desc d = tcp6(CLIENT6, 40000, VIP6, 80, PKT_SYN), rep;
	__u8 in[2048], want[2048];
	struct lb_send s;
	struct run r;
	bool ok = true;
	int len, wlen;

	if (!to_backend(&s, &d, true, 8080))
		return false;
	d = tcp6(CLIENT6, 40000, VIP6, 80, PKT_ACK);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, true, be6[s.be], 8080, mac_be, s.bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	rep = tcp6(be6[s.be], 8080, CLIENT6, 40000, PKT_ACK);
	from_backend(&rep, s.bmac);
	len = pkt_build(&rep, in, sizeof(in));
	wlen = expected_fwd(rep, false, VIP6, 80, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	d = as_udp(tcp6(CLIENT6, 41000, VIP6, 53, 0));
	if (!to_backend(&s, &d, false, 5353))
		return false;
	/* The second packet fills the flow cache, the third is answered from
	 * it (its conntrack entry deleted first, which a hit does not see):
	 * the same bytes. */
	ok &= to_backend_again(&s);
	fc_ct_delete(&d);
	ok &= to_backend_again(&s);
	ok &= ASSERT_TRUE(!fc_ct_exists(&d), "IPv6: answered from the flow cache");
	return ok;
}

/* A flow of the test's addresses, TCP (the family follows the addresses). */
static struct vipxdp_flow tcp_flow(const char *src, __u16 sport, const char *dst, __u16 dport)
{
	struct pkt_desc d = tcp4(src, sport, dst, dport, 0);
	struct vipxdp_flow f;

	fc_flow(&d, &f);
	return f;
}

/*
 * The conntrack table's 16-byte keys: an IPv4 flow's key is the flow (the
 * exact bytes); an IPv6 flow's holds a digest of its addresses (a fixed
 * function: entries outlive programs, so a change must show here) and its
 * entry the addresses. An IPv6 entry of other addresses under a flow's key
 * (a digest collision) is not the flow's: the flow's packets do not use it,
 * and do not take its key while it is alive; once it has expired they do.
 */
static bool test_ct_keys(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 40100, VIP4, 80, PKT_SYN);
	struct vipxdp_flow f = tcp_flow(CLIENT4, 40100, VIP4, 80);
	struct vipxdp_ct_key k = {}, k6;
	struct vipxdp_cfg cfg0, cfg;
	struct vipxdp_ct ct, fake;
	struct vipxdp_addr other;
	struct lb_send s;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int len;

	len = pkt_build(&d, in, sizeof(in));
	ok &= ASSERT_EQ(run_prog(in, len, if_in, &r), 0, "IPv4 SYN run");
	ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "IPv4 SYN forwarded");
	/* The key by hand: saddr, daddr, sport, dport, proto, family, pad. */
	k.a = f.saddr.w[0];
	k.b = f.daddr.w[0];
	k.sport = htons(40100);
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	k.family = VIPXDP_AF_INET;
	ok &= ASSERT_OK(bpf_map_lookup_elem(dp.ct_fd, &k, &ct), "IPv4 entry under its flow's bytes");
	ok &= ASSERT_TRUE(!memcmp(&ct.ksaddr, &(struct vipxdp_addr){}, sizeof(ct.ksaddr)) &&
				  !memcmp(&ct.kdaddr, &(struct vipxdp_addr){}, sizeof(ct.kdaddr)),
			  "IPv4 entry: no addresses in the value");

	/* The digest, pinned (as in test_maglev): CLIENT6 port 40200 -> VIP6 port 80. */
	f = tcp_flow(CLIENT6, 40200, VIP6, 80);
	vipxdp_ct_key_of(&f, &k6);
	ok &= ASSERT_EQ(k6.a, CT6_DIGEST_A, "IPv6 key: digest word a");
	ok &= ASSERT_EQ(k6.b, CT6_DIGEST_B, "IPv6 key: digest word b");
	ok &= ASSERT_TRUE(k6.sport == htons(40200) && k6.dport == htons(80) &&
				  k6.proto == IPPROTO_TCP && k6.family == VIPXDP_AF_INET6 &&
				  !k6.pad[0] && !k6.pad[1],
			  "IPv6 key: ports, protocol, family");
	d = tcp6(CLIENT6, 40200, VIP6, 80, PKT_SYN);
	len = pkt_build(&d, in, sizeof(in));
	ok &= ASSERT_EQ(run_prog(in, len, if_in, &r), 0, "IPv6 SYN run");
	ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "IPv6 SYN forwarded");
	ok &= ASSERT_OK(bpf_map_lookup_elem(dp.ct_fd, &k6, &ct), "IPv6 entry under its key");
	ok &= ASSERT_TRUE(!memcmp(&ct.ksaddr, &f.saddr, 16) && !memcmp(&ct.kdaddr, &f.daddr, 16),
			  "IPv6 entry holds the flow's addresses");
	/* A walk of the table (`vipxdp conntrack list`) gives both flows
	 * back whole. */
	{
		struct vipxdp_flow want4 = tcp_flow(CLIENT4, 40100, VIP4, 80), got;
		struct vipxdp_ct_iter it = {};
		int seen4 = 0, seen6 = 0;

		while (vipxdp_ct_next(&dp, &it, &got, NULL)) {
			seen4 += !memcmp(&got, &want4, sizeof(got));
			seen6 += !memcmp(&got, &f, sizeof(got));
		}
		ok &= ASSERT_TRUE(seen4 == 1 && seen6 == 1, "the walk gives each flow once, whole");
	}

	/* A live entry of other addresses under the key of a new flow. */
	f = tcp_flow(CLIENT6, 40201, VIP6, 80);
	vipxdp_ct_key_of(&f, &k6);
	pkt_env_addr("2001:db8:1::dead", &f.family, &other);
	fake = ct;
	fake.ksaddr = other;
	fake.state = VIPXDP_CT_EST;
	fake.last_seen = vipxdp_epoch_now();
	ok &= ASSERT_OK(bpf_map_update_elem(dp.ct_fd, &k6, &fake, BPF_ANY), "colliding entry");
	ok &= ASSERT_TRUE(vipxdp_ct_get(&dp, &f, &ct) && errno == ENOENT,
			  "the control plane's lookup does not take it for the flow's");
	/* Its SYN and a packet without an entry: dropped (drop_error; what
	 * they were rewritten to before does not leave). */
	for (int i = 0; i < 2; i++) {
		struct vipxdp_counter before = reason_total(VIPXDP_R_drop_error);

		d = tcp6(CLIENT6, 40201, VIP6, 80, i ? PKT_ACK : PKT_SYN);
		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_EQ(run_prog(in, len, if_in, &r), 0, "colliding flow run");
		ok &= ASSERT_EQ(r.retval, XDP_DROP, "colliding flow dropped");
		ok &= ASSERT_EQ(reason_total(VIPXDP_R_drop_error).packets - before.packets, 1,
				"drop_error");
	}
	ok &= ASSERT_OK(bpf_map_lookup_elem(dp.ct_fd, &k6, &ct), "colliding entry kept");
	ok &= ASSERT_TRUE(!memcmp(&ct.ksaddr, &other, 16), "colliding entry unchanged");

	/* Expired (idle beyond tcp_established's timeout), it gives way. */
	if (!ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	cfg = cfg0;
	cfg.ct_timeout[VIPXDP_CT_EST] = 5;
	if (!ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "set cfg"))
		return false;
	fake.last_seen = vipxdp_epoch_now() - 6;
	ok &= ASSERT_OK(bpf_map_update_elem(dp.ct_fd, &k6, &fake, BPF_ANY), "expired entry");
	d = tcp6(CLIENT6, 40201, VIP6, 80, PKT_SYN);
	ok &= to_backend(&s, &d, true, 8080);
	ok &= ASSERT_OK(vipxdp_ct_get(&dp, &f, &ct), "the flow's own entry now");
	ok &= ASSERT_TRUE(!memcmp(&ct.ksaddr, &f.saddr, 16), "its addresses");
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "cfg restored");
	return ok;
}

/* 802.1Q and 802.1ad+802.1Q tagged TCP to a VIP: translated, tags kept. */
static bool test_vlan_tcp(void)
{
	struct lb_send s;
	bool ok = true;

	for (int n = 1; n <= 2; n++) {
		struct pkt_desc d = tcp4(CLIENT4, 42000 + n, VIP4, 80, PKT_SYN);

		d.l2.nvlan = n;
		d.l2.vlan_tci[0] = 100;
		d.l2.vlan_tci[1] = 200;
		ok &= to_backend(&s, &d, true, 8080);
	}
	return ok;
}

/* A backend reached through the ingress interface: XDP_TX. */
static bool test_forward_tx(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 43000, VIP4_TX, 80, PKT_SYN);
	__u8 in[2048], want[2048];
	struct run r;
	int len = pkt_build(&d, in, sizeof(in));
	int wlen = expected_fwd(d, true, "198.18.0.50", 8080, mac_in, mac_local_be, want);

	return expect(in, len, if_in, XDP_TX, VIPXDP_R_fwd_tx, want, wlen, &r);
}

/* A backend whose neighbour is unresolved: the translated packet goes to the
 * kernel (TTL and MACs untouched; the kernel resolves and forwards). */
static bool test_forward_no_neigh(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 43001, VIP4_NONEIGH, 80, PKT_SYN), w;
	__u8 in[2048], want[2048];
	struct run r;
	int len = pkt_build(&d, in, sizeof(in));
	int wlen;

	w = d;
	snprintf(w.daddr, sizeof(w.daddr), "198.19.0.9");
	w.dport = 8080;
	wlen = pkt_build(&w, want, sizeof(want));
	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_neigh, want, wlen, &r);
}

/* A translated packet bigger than the egress interface's MTU (vt_be set to
 * 1280 for the test): the FIB says fragmentation needed and the translated
 * packet goes to the kernel (TTL and MACs untouched), counted apart. */
static bool test_forward_frag_needed(void)
{
	static char big[1400];
	struct pkt_desc d = tcp4(CLIENT4, 43002, VIP4, 80, PKT_ACK), w;
	__u8 in[2048], want[2048];
	struct run r;
	int len, wlen, be;
	bool ok;

	memset(big, 'x', sizeof(big));
	d.payload = big;
	d.payload_len = sizeof(big);
	be = predict(&d, false);
	if (!ASSERT_GE(be, 0, "backend") ||
	    !ASSERT_EQ(system("ip link set dev vt_be mtu 1280"), 0, "mtu 1280"))
		return false;
	len = pkt_build(&d, in, sizeof(in));
	w = d;
	snprintf(w.daddr, sizeof(w.daddr), "%s", be4[be]);
	w.dport = 8080;
	wlen = pkt_build(&w, want, sizeof(want));
	ok = expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_frag_needed, want, wlen, &r);
	ok &= ASSERT_EQ(system("ip link set dev vt_be mtu 1500"), 0, "mtu back to 1500");
	return ok;
}

/* TTL 1 to a VIP: untouched to the kernel, which answers time exceeded. */
static bool test_ttl_expiring(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 43002, VIP4, 80, PKT_SYN);
	__u8 in[2048];
	struct run r;
	int len;

	d.ttl = 1;
	len = pkt_build(&d, in, sizeof(in));
	return expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_ttl, NULL, 0, &r);
}

/* IPv4 options: parsed over, translated, options kept. */
static bool test_ip_options(void)
{
	static const __u8 opts[8] = { 0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00 };
	struct pkt_desc d = tcp4(CLIENT4, 43003, VIP4, 80, PKT_SYN);
	struct lb_send s;

	d.ip_options = opts;
	d.ip_options_len = sizeof(opts);
	return to_backend(&s, &d, true, 8080);
}

/* Source-IP hashing: every connection of one client lands on one backend. */
static bool test_source_ip_hash(void)
{
	__u8 in[2048];
	struct run r;
	int first = -1;
	bool ok = true;

	for (int i = 0; i < 32; i++) {
		struct pkt_desc d = tcp4(CLIENT4, 44000 + i * 7, VIP4_SRCHASH, 80, PKT_SYN);
		int len = pkt_build(&d, in, sizeof(in)), be;

		if (!ASSERT_OK(run_prog(in, len, if_in, &r), "run"))
			return false;
		ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict");
		be = out_backend(&r, AF_INET);
		if (first < 0)
			first = be;
		ok &= ASSERT_EQ(be, first, "same backend for every source port");
	}
	return ok && first >= 0;
}

/*
 * Table generations: after the backend set changes from {1,2,3} to {1,2,4},
 * a SYN takes the new table's backend; a non-SYN packet without conntrack
 * takes the previous table's backend while that backend is still in the
 * service; when the previous backend was removed (3), the new table decides.
 */
static bool test_previous_generation(void)
{
	static const char *const old_set[] = { "198.19.0.1", "198.19.0.2", "198.19.0.3" };
	static const char *const new_set[] = { "198.19.0.1", "198.19.0.2", "198.19.0.4" };
	const char *vip = "198.18.0.105";
	__u8 in[2048];
	struct run r;
	int found_keep = 0, found_removed = 0;
	bool ok = true;
	char oldb[256][16], newb[256][16];
	int i;

	if (!ASSERT_OK(add_vip(vip, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(vip, IPPROTO_TCP, 80, 0, old_set, 3, 8080), "old set"))
		return false;
	/* Backend of each flow under the old table (flows are not sent). */
	for (i = 0; i < 256; i++) {
		struct pkt_desc d = tcp4(CLIENT4, 45000 + i, vip, 80, PKT_ACK);
		struct vipxdp_flow f = {};
		struct vipxdp_backend be;
		__u32 id;

		pkt_env_addr(d.saddr, &f.family, &f.saddr);
		pkt_env_addr(d.daddr, &f.family, &f.daddr);
		f.sport = htons(d.sport);
		f.dport = htons(80);
		f.proto = IPPROTO_TCP;
		if (vipxdp_dp_predict(&dp, &f, true, &id, &be))
			return false;
		inet_ntop(AF_INET, &be.addr, oldb[i], sizeof(oldb[i]));
	}
	if (!ASSERT_OK(add_service(vip, IPPROTO_TCP, 80, 0, new_set, 3, 8080), "new set"))
		return false;
	for (i = 0; i < 256; i++) {
		struct pkt_desc d = tcp4(CLIENT4, 45000 + i, vip, 80, PKT_SYN);
		struct pkt_info pi;
		int len;

		/* SYN of a fresh flow: the new table. */
		len = pkt_build(&d, in, sizeof(in));
		if (run_prog(in, len, if_in, &r) || !pkt_parse(r.out, r.out_len, &pi, NULL, 0))
			return false;
		inet_ntop(AF_INET, r.out + pi.l3_off + 16, newb[i], sizeof(newb[i]));
	}
	for (i = 0; i < 256; i++) {
		/* Same client, other port range: no conntrack; non-SYN. */
		struct pkt_desc d = tcp4(CLIENT4, 45000 + i, vip, 80, PKT_ACK);
		struct pkt_info pi;
		char got[16];
		int len;

		/* Remove conntrack of the SYN sent above, as on a node that
		 * never saw the flow. */
		fc_ct_delete(&d);
		len = pkt_build(&d, in, sizeof(in));
		if (run_prog(in, len, if_in, &r) || !pkt_parse(r.out, r.out_len, &pi, NULL, 0))
			return false;
		inet_ntop(AF_INET, r.out + pi.l3_off + 16, got, sizeof(got));
		if (strcmp(oldb[i], "198.19.0.3")) {
			/* old backend still in the service: it keeps the flow */
			if (strcmp(oldb[i], newb[i]))
				found_keep++;
			ok &= ASSERT_TRUE(!strcmp(got, oldb[i]), "previous-generation backend kept");
		} else {
			found_removed++;
			ok &= ASSERT_TRUE(!strcmp(got, newb[i]), "removed backend: new table");
		}
	}
	printf("# flows whose old backend stayed but whose new-table backend differs: %d\n",
	       found_keep);
	printf("# flows whose old backend was removed: %d\n", found_removed);
	ok &= ASSERT_GE(found_keep, 1, "a flow exercising the previous-generation rule");
	ok &= ASSERT_GE(found_removed, 1, "a flow whose backend was removed");
	return ok;
}


/* Send IPv4 packet d from the client; the address it was redirected to
 * into out. False when it was not redirected. */
static bool send_redirected(const struct pkt_desc *d, char *out, size_t outlen)
{
	struct pkt_info pi;
	__u8 in[2048];
	struct run r;
	int len = pkt_build(d, in, sizeof(in));

	if (run_prog(in, len, if_in, &r) || r.retval != XDP_REDIRECT ||
	    !pkt_parse(r.out, r.out_len, &pi, NULL, 0))
		return false;
	inet_ntop(AF_INET, r.out + pi.l3_off + 16, out, outlen);
	return true;
}

/* Send flow (client port) to vip as SYN or ACK, with no conntrack entry left
 * behind; returns the backend address chosen in out. */
static bool send_fresh(const char *vip, __u16 sport, __u8 flags, char *out, size_t outlen)
{
	struct pkt_desc d = tcp4(CLIENT4, sport, vip, 80, flags);

	if (!send_redirected(&d, out, outlen))
		return false;
	fc_ct_delete(&d);
	return true;
}

/*
 * Drain and health. Weight 0 (drain): new flows (SYN) never get the backend,
 * but a non-SYN packet without conntrack whose previous-generation backend is
 * the drained one still goes there (its connection continues). Down (health
 * checks failed): neither new flows nor such packets go there.
 */
static bool test_drain_and_down(void)
{
	static const char *const set[] = { "198.19.0.1", "198.19.0.2", "198.19.0.3" };
	const char *vip = "198.18.0.106";
	struct vipxdp_be_spec spec[3] = {};
	struct vipxdp_svc_spec svc = {};
	char before[200][16], got[16];
	int on3 = 0;
	bool ok = true;
	int i;

	if (!ASSERT_OK(add_vip(vip, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(vip, IPPROTO_TCP, 80, 0, set, 3, 8080), "service"))
		return false;
	for (i = 0; i < 200; i++)
		if (!send_fresh(vip, 47000 + i, PKT_SYN, before[i], sizeof(before[i])))
			return false;
	pkt_env_addr(vip, &svc.family, &svc.vip);
	svc.proto = IPPROTO_TCP;
	svc.port = 80;
	svc.table_size = TABLE_SIZE;
	for (i = 0; i < 3; i++) {
		pkt_env_addr(set[i], &spec[i].family, &spec[i].addr);
		spec[i].port = 8080;
		spec[i].weight = i == 2 ? 0 : 100; /* drain .3 */
	}
	if (!ASSERT_OK(vipxdp_dp_set_service(&dp, &svc, spec, 3, NULL), "drain"))
		return false;
	for (i = 0; i < 200; i++) {
		if (strcmp(before[i], "198.19.0.3"))
			continue;
		on3++;
		ok &= ASSERT_TRUE(send_fresh(vip, 47000 + i, PKT_SYN, got, sizeof(got)), "syn");
		ok &= ASSERT_TRUE(strcmp(got, "198.19.0.3") != 0, "SYN avoids a drained backend");
		ok &= ASSERT_TRUE(send_fresh(vip, 47000 + i, PKT_ACK, got, sizeof(got)), "ack");
		ok &= ASSERT_TRUE(!strcmp(got, "198.19.0.3"), "established flow stays on drained backend");
	}
	/* Back in the table, then down: the previous generation (which has .3)
	 * must not be used for it. */
	spec[2].weight = 100;
	if (!ASSERT_OK(vipxdp_dp_set_service(&dp, &svc, spec, 3, NULL), "undrain"))
		return false;
	spec[2].down = true;
	if (!ASSERT_OK(vipxdp_dp_set_service(&dp, &svc, spec, 3, NULL), "down"))
		return false;
	for (i = 0; i < 200; i++) {
		if (strcmp(before[i], "198.19.0.3"))
			continue;
		ok &= ASSERT_TRUE(send_fresh(vip, 47000 + i, PKT_SYN, got, sizeof(got)), "syn");
		ok &= ASSERT_TRUE(strcmp(got, "198.19.0.3") != 0, "SYN avoids a down backend");
		ok &= ASSERT_TRUE(send_fresh(vip, 47000 + i, PKT_ACK, got, sizeof(got)), "ack");
		ok &= ASSERT_TRUE(strcmp(got, "198.19.0.3") != 0, "no packet to a down backend");
	}
	printf("# flows on the drained/down backend: %d\n", on3);
	return ok && ASSERT_GE(on3, 10, "flows on backend 3");
}


static bool ct_get(const char *src, __u16 sport, const char *dst, __u16 dport,
		   struct vipxdp_ct *ct)
{
	struct vipxdp_flow f = tcp_flow(src, sport, dst, dport);

	return !vipxdp_ct_get(&dp, &f, ct);
}

static bool ct_put(const char *src, __u16 sport, const char *dst, __u16 dport,
		   const struct vipxdp_ct *ct)
{
	struct vipxdp_flow f = tcp_flow(src, sport, dst, dport);

	return !vipxdp_ct_put(&dp, &f, ct, BPF_EXIST);
}

/*
 * Conntrack lifecycle: a SYN creates the entry in state SYN, the first ACK
 * makes it established, a FIN closing; a flow whose two directions are both
 * idle beyond their state's timeout is expired: the next packet is a new flow
 * (counted as one); one live direction keeps it.
 */
static bool test_conntrack_lifecycle(void)
{
	struct vipxdp_cfg cfg0, cfg;
	struct vipxdp_svc_spec spec = {};
	struct vipxdp_lb_stats s0, s1;
	struct vipxdp_svc svc;
	struct vipxdp_ct ct;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int len, i;
	const __u8 flags[] = { PKT_SYN, PKT_ACK, PKT_FIN | PKT_ACK };
	const __u8 states[] = { VIPXDP_CT_SYN, VIPXDP_CT_EST, VIPXDP_CT_CLOSING };

	if (!ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	cfg = cfg0;
	for (i = 0; i < VIPXDP_CT_NSTATES; i++)
		cfg.ct_timeout[i] = 5;
	if (!ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "set cfg"))
		return false;
	pkt_env_addr(VIP4, &spec.family, &spec.vip);
	spec.proto = IPPROTO_TCP;
	spec.port = 80;
	vipxdp_dp_get_service(&dp, &spec, &svc);
	for (i = 0; i < 3; i++) {
		struct pkt_desc d = tcp4(CLIENT4, 48500, VIP4, 80, flags[i]);

		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_in, &r), "run");
		ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict");
		if (!ASSERT_TRUE(ct_get(CLIENT4, 48500, VIP4, 80, &ct), "entry"))
			goto out;
		ok &= ASSERT_EQ(ct.state, states[i], "state");
		/* One entry for both directions (the backend is in vipxdp_rev). */
		ok &= ASSERT_EQ(ct.flags, VIPXDP_CT_F_DNAT | VIPXDP_CT_F_BOTH, "flags");
	}
	/* The client idle for 4 epochs, then a reply from the backend: it
	 * refreshes the flow's one entry; 4 more idle epochs later (8 since
	 * the client's last packet, beyond the timeout of 5) the client's next
	 * packet is no new flow: one live direction keeps the flow. */
	{
		char be[64];
		struct vipxdp_ct peer;
		struct pkt_desc d;

		ct.last_seen -= 4;
		if (!ASSERT_TRUE(ct_put(CLIENT4, 48500, VIP4, 80, &ct), "age the entry"))
			goto out;
		inet_ntop(AF_INET, &ct.daddr, be, sizeof(be));
		ok &= ASSERT_TRUE(!ct_get(be, ntohs(ct.dport), CLIENT4, 48500, &peer),
				   "no reply entry");
		d = tcp4(be, ntohs(ct.dport), CLIENT4, 48500, PKT_ACK);
		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_be, &r), "run reply");
		ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "reply translated");
		ok &= ASSERT_TRUE(ct_get(CLIENT4, 48500, VIP4, 80, &peer), "entry");
		ok &= ASSERT_GE(peer.last_seen, ct.last_seen + 4, "the reply refreshed it");
		peer.last_seen -= 4;
		ok &= ASSERT_TRUE(ct_put(CLIENT4, 48500, VIP4, 80, &peer), "age it again");
	}
	s0 = lb_total(dp.svc_stats_fd, svc.id);
	{
		struct pkt_desc d = tcp4(CLIENT4, 48500, VIP4, 80, PKT_ACK);

		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_in, &r), "run");
	}
	s1 = lb_total(dp.svc_stats_fd, svc.id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 0, "one live direction keeps the flow");
	/* Idle for 6 epochs in both directions: expired. */
	ct_get(CLIENT4, 48500, VIP4, 80, &ct);
	ct.last_seen -= 6;
	ok &= ASSERT_TRUE(ct_put(CLIENT4, 48500, VIP4, 80, &ct), "age fwd");
	s0 = lb_total(dp.svc_stats_fd, svc.id);
	{
		struct pkt_desc d = tcp4(CLIENT4, 48500, VIP4, 80, PKT_ACK);

		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_in, &r), "run");
		ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "expired flow still forwarded");
	}
	s1 = lb_total(dp.svc_stats_fd, svc.id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 1, "expired entry makes a new flow");
	ok &= ASSERT_TRUE(ct_get(CLIENT4, 48500, VIP4, 80, &ct), "entry recreated");
	/* Idle for 4 epochs: still alive. */
	ct.last_seen -= 4;
	ok &= ASSERT_TRUE(ct_put(CLIENT4, 48500, VIP4, 80, &ct), "age less");
	s0 = lb_total(dp.svc_stats_fd, svc.id);
	{
		struct pkt_desc d = tcp4(CLIENT4, 48500, VIP4, 80, PKT_ACK);

		len = pkt_build(&d, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_in, &r), "run");
	}
	s1 = lb_total(dp.svc_stats_fd, svc.id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 0, "live entry is no new flow");
out:
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "restore cfg");
	return ok;
}

/*
 * One conntrack entry per DNAT flow: one backend endpoint (be4[0]:9090) in
 * three DNAT services (VIP4 tcp 7001-7003). vipxdp_rev has two slots, so
 * the first two services' flows have one entry (F_BOTH) and their replies
 * find it, leaving with the right VIP:port as source; the third service's
 * backend is marked VIPXDP_BE_F_REPLY_CT and its flows get a reply entry.
 * A packet from the endpoint that belongs to no flow (a direct client, a
 * health-check answer) passes untouched.
 */
static bool test_dnat_one_entry(void)
{
	static const char *const one[] = { "198.19.0.1" };
	__u8 in[2048], want[2048], bmac[6];
	struct vipxdp_ct ct;
	struct run r;
	bool ok = true;
	int len, wlen, i;

	pkt_mac(be_mac[0], bmac);
	for (i = 0; i < 3; i++)
		if (!ASSERT_OK(add_service(VIP4, IPPROTO_TCP, 7001 + i, 0, one, 1, 9090), "service"))
			return false;
	for (i = 0; i < 3; i++) {
		struct pkt_desc d = tcp4(CLIENT4, 52001 + i, VIP4, 7001 + i, PKT_SYN), rep;

		len = pkt_build(&d, in, sizeof(in));
		wlen = expected_fwd(d, true, one[0], 9090, mac_be, bmac, want);
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		if (!ASSERT_TRUE(ct_get(CLIENT4, 52001 + i, VIP4, 7001 + i, &ct), "entry"))
			return false;
		ok &= ASSERT_EQ(ct.flags, i < 2 ? VIPXDP_CT_F_DNAT | VIPXDP_CT_F_BOTH
						: VIPXDP_CT_F_DNAT, "flags");
		ok &= ASSERT_EQ(ct_get(one[0], 9090, CLIENT4, 52001 + i, &ct), i == 2,
				"reply entry only for the third service");
		/* The reply leaves from the VIP:port its flow was addressed to. */
		rep = tcp4(one[0], 9090, CLIENT4, 52001 + i, PKT_SYN | PKT_ACK);
		from_backend(&rep, bmac);
		len = pkt_build(&rep, in, sizeof(in));
		wlen = expected_fwd(rep, false, VIP4, 7001 + i, mac_in, mac_client, want);
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	}
	{
		struct pkt_desc rep = tcp4(one[0], 9090, CLIENT4, 52099, PKT_ACK);

		from_backend(&rep, bmac);
		len = pkt_build(&rep, in, sizeof(in));
		ok &= expect(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	}
	for (i = 0; i < 3; i++) {
		struct vipxdp_svc_spec spec = { .proto = IPPROTO_TCP, .port = 7001 + i };

		pkt_env_addr(VIP4, &spec.family, &spec.vip);
		ok &= ASSERT_OK(vipxdp_dp_del_service(&dp, &spec), "delete");
	}
	return ok;
}


static int set_route_watch(__u32 gen, __u32 watch_until);
static int set_be_neigh(const char *be, const char *mac);
static int set_flow_cache(bool on);

/* Send d's SYN from the client, expected at backend be (index into
 * be4/be_mac, port 9090, destination MAC dmac); then *ct its entry. */
static bool syn_to(const struct pkt_desc *d, int be, const char *dmac, struct vipxdp_ct *ct)
{
	__u8 in[2048], want[2048], mac[6];
	struct run r;
	int len, wlen;
	bool ok;

	pkt_mac(dmac, mac);
	len = pkt_build(d, in, sizeof(in));
	wlen = expected_fwd(*d, true, be4[be], 9090, mac_be, mac, want);
	ok = expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	return ASSERT_TRUE(ct_get(CLIENT4, d->sport, VIP4, d->dport, ct), "entry") && ok;
}

/* A change that changes nothing: vipxdp_gen moves on. */
static bool bump_gen(void)
{
	struct vipxdp_cfg c;

	return !vipxdp_dp_get_cfg(&dp, &c) && !vipxdp_dp_set_cfg(&dp, &c);
}

static __u32 read_gen(void)
{
	__u32 zero = 0, g = 0;

	bpf_map_lookup_elem(dp.gen_fd, &zero, &g);
	return g;
}

/* The backend's SYN-ACK to the client's port 53001 on VIP4:7010, from
 * backend be4[be]: leaves from the VIP, and caches the replies' next hop in
 * the flow's entry (nh[1]). */
static bool syn_ack_from(int be)
{
	struct pkt_desc rep = tcp4(be4[be], 9090, CLIENT4, 53001, PKT_SYN | PKT_ACK);
	__u8 in[2048], want[2048], bmac[6];
	struct vipxdp_ct ct;
	struct run r;
	int len, wlen;
	bool ok;

	pkt_mac(be_mac[be], bmac);
	from_backend(&rep, bmac);
	len = pkt_build(&rep, in, sizeof(in));
	wlen = expected_fwd(rep, false, VIP4, 7010, mac_in, mac_client, want);
	ok = expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	return ASSERT_TRUE(ct_get(CLIENT4, 53001, VIP4, 7010, &ct), "entry") &&
	       ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "the replies' next hop cached") && ok;
}

static bool fc_ctl(struct vipxdp_fc_ctl *out, bool reset);
static bool fc_ctl_put(const struct vipxdp_fc_ctl *c);

/*
 * A SYN of a flow that still has its one DNAT entry (the client's port used
 * again):
 * - in the generation of vipxdp_gen in which a SYN wrote the entry (its
 *   gen), nothing has changed, so the SYN takes the entry's backend without
 *   reading the service's table, and renews the entry in place (state, age;
 *   its next hop follows its token, as for any packet of the flow);
 * - in a later generation, the SYN renews the entry in place when the entry
 *   translates it as a new one would (same backend, same next hop), and
 *   replaces it otherwise.
 * A renewal keeps the entry's cached next hop for the replies (nh[1]), which
 * a new entry does not have: that tells the two apart. The flow cache is
 * off: every packet takes the whole path; the route watch is on, so that
 * tokens are route generations, not epochs.
 */
static bool test_syn_renews_entry(void)
{
	static const char *const first[] = { "198.19.0.1" }, *const second[] = { "198.19.0.2" };
	const char *mac_new = "02:00:00:00:01:78";
	struct pkt_desc d = tcp4(CLIENT4, 53001, VIP4, 7010, PKT_SYN);
	struct vipxdp_svc_spec spec = { .proto = IPPROTO_TCP, .port = 7010 };
	const __u8 flags[] = { PKT_ACK, PKT_FIN | PKT_ACK };
	struct vipxdp_lb_stats s0, s1;
	struct vipxdp_ct ct, old;
	struct vipxdp_svc svc;
	__u8 in[2048], family;
	struct run r;
	bool ok = true;
	int len;

	pkt_env_addr(VIP4, &spec.family, &spec.vip);
	/* SYN lookups on, whatever the SYNs of the tests before did. */
	if (!ASSERT_TRUE(fc_ctl(NULL, true), "controls reset") ||
	    !ASSERT_OK(add_service(VIP4, IPPROTO_TCP, 7010, 0, first, 1, 9090), "service") ||
	    !ASSERT_OK(vipxdp_dp_get_service(&dp, &spec, &svc), "service id") ||
	    !ASSERT_OK(set_flow_cache(false), "cache off") ||
	    !ASSERT_OK(set_route_watch(31, 0xfffffff0u), "watch on, generation 31"))
		return false;

	/* A connection: SYN, the backend's SYN-ACK, ACK, FIN; then idle for
	 * 2 epochs. */
	ok &= syn_to(&d, 0, be_mac[0], &ct) && syn_ack_from(0);
	ok &= ASSERT_EQ(ct.gen, read_gen(), "the SYN's entry has the generation");
	for (int i = 0; i < 2; i++) {
		struct pkt_desc a = tcp4(CLIENT4, 53001, VIP4, 7010, flags[i]);

		len = pkt_build(&a, in, sizeof(in));
		ok &= ASSERT_OK(run_prog(in, len, if_in, &r), "run") &&
		      ASSERT_EQ(r.retval, XDP_REDIRECT, "forwarded");
	}
	if (!ASSERT_TRUE(ct_get(CLIENT4, 53001, VIP4, 7010, &old), "entry"))
		return false;
	ok &= ASSERT_EQ(old.state, VIPXDP_CT_CLOSING, "closing");
	old.last_seen -= 2;
	ok &= ASSERT_TRUE(ct_put(CLIENT4, 53001, VIP4, 7010, &old), "idle for 2 epochs");

	/* The port again, in the same generation: renewed. */
	s0 = lb_total(dp.svc_stats_fd, svc.id);
	ok &= syn_to(&d, 0, be_mac[0], &ct);
	s1 = lb_total(dp.svc_stats_fd, svc.id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 1, "a new flow, counted");
	ok &= ASSERT_EQ(ct.state, VIPXDP_CT_SYN, "renewed: state SYN");
	ok &= ASSERT_EQ(ct.last_seen, old.last_seen + 2, "renewed: its age now");
	ok &= ASSERT_EQ(ct.flags, VIPXDP_CT_F_DNAT | VIPXDP_CT_F_BOTH, "renewed: one entry");
	ok &= ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "renewed in place: the replies' next hop stays");

	/* The same generation trusts the entry's backend: an entry made to say
	 * backend 2 (next hop to be found) takes the SYN there. */
	pkt_env_addr(second[0], &family, &ct.daddr);
	ct.nh[0].ifindex = 0;
	ok &= ASSERT_TRUE(ct_put(CLIENT4, 53001, VIP4, 7010, &ct), "an entry for backend 2");
	ok &= syn_to(&d, 1, be_mac[1], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "still in place");

	/* A later generation: the table's backend (1), in a new entry. */
	ok &= ASSERT_TRUE(bump_gen(), "a change");
	ok &= syn_to(&d, 0, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, 0, "another backend than the entry's: replaced");
	ok &= ASSERT_EQ(ct.gen, read_gen(), "the new entry has the generation");

	/* A later generation, the same translation: renewed in place, and
	 * the entry has the new generation. */
	ok &= syn_ack_from(0) && ASSERT_TRUE(bump_gen(), "a change");
	ok &= syn_to(&d, 0, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "the same translation: renewed in place");
	ok &= ASSERT_EQ(ct.gen, read_gen(), "renewed: the generation");

	/* The backend's neighbour moves (a change, and route generation 32):
	 * the SYN goes to the new MAC, in a new entry. */
	ok &= ASSERT_OK(set_be_neigh(first[0], mac_new), "neighbour to a new MAC");
	ok &= ASSERT_OK(set_route_watch(32, 0xfffffff0u), "generation 32") &&
	      ASSERT_TRUE(bump_gen(), "a change");
	ok &= syn_to(&d, 0, mac_new, &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, 0, "a new next hop: replaced");
	ok &= ASSERT_OK(set_be_neigh(first[0], be_mac[0]), "neighbour back");
	ok &= ASSERT_OK(set_route_watch(33, 0xfffffff0u), "generation 33");

	/* The service's backend changes to one behind the same next hop (as
	 * behind a router: its neighbour has the first one's MAC): the SYN
	 * goes to the new backend, in a new entry. */
	ok &= syn_to(&d, 0, be_mac[0], &ct) && syn_ack_from(0);
	ok &= ASSERT_OK(set_be_neigh(second[0], be_mac[0]), "the new backend behind the same MAC");
	ok &= ASSERT_OK(add_service(VIP4, IPPROTO_TCP, 7010, 0, second, 1, 9090), "new backend");
	ok &= syn_to(&d, 1, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, 0, "a new backend: replaced");
	ok &= ASSERT_OK(set_be_neigh(second[0], be_mac[1]), "its neighbour back");

	ok &= ASSERT_OK(set_route_watch(0, 0), "watch off");
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	ok &= ASSERT_OK(vipxdp_dp_del_service(&dp, &spec), "delete");
	return ok;
}

/* n SYNs of new flows (client ports from port up) to VIP4:7010's one
 * backend, each forwarded to it. */
static bool new_syns(__u16 port, int n)
{
	bool ok = true;

	for (int i = 0; i < n && ok; i++) {
		struct pkt_desc d = tcp4(CLIENT4, port + i, VIP4, 7010, PKT_SYN);
		struct vipxdp_ct ct;

		ok = syn_to(&d, 0, be_mac[0], &ct);
	}
	return ok;
}

/* This CPU's SYN lookup control is lookups/renews/skip/bypasses. */
static bool syn_ctl_is(__u32 lookups, __u32 renews, __u32 skip, __u32 bypasses, const char *what)
{
	struct vipxdp_fc_ctl c;

	if (!ASSERT_TRUE(fc_ctl(&c, false), what))
		return false;
	return ASSERT_EQ(c.syn_lookups, lookups, what) & ASSERT_EQ(c.syn_renews, renews, what) &
	       ASSERT_EQ(c.syn_skip, skip, what) & ASSERT_EQ(c.syn_bypasses, bypasses, what);
}

/*
 * A SYN to a DNAT service looks its flow's entry up to renew it
 * (test_syn_renews_entry); each CPU counts those lookups in windows of
 * VIPXDP_SYN_WINDOW, and one with fewer than one renewal in
 * VIPXDP_SYN_MIN_RENEW stops them for the next VIPXDP_SYN_SKIP SYNs:
 * - 4 renewals in 64 lookups (one in 16) keep them on; 1 in 64 does not;
 * - while skipping, the SYN of a flow with a renewable entry replaces it
 *   (the replies' next hop, which a renewal keeps, is gone), and its packet
 *   goes where the entry said; each such SYN counts the skip down;
 * - when the skip runs out, the next SYN looks up and renews again, in the
 *   same generation or (ct_renew()) a later one.
 */
static bool test_syn_lookup_skip(void)
{
	static const char *const first[] = { "198.19.0.1" };
	struct pkt_desc a = tcp4(CLIENT4, 53001, VIP4, 7010, PKT_SYN);
	struct vipxdp_svc_spec spec = { .proto = IPPROTO_TCP, .port = 7010 };
	struct vipxdp_fc_ctl c;
	struct vipxdp_ct ct;
	size_t nct, nnat;
	bool ok = true;

	pkt_env_addr(VIP4, &spec.family, &spec.vip);
	if (!ASSERT_OK(add_service(VIP4, IPPROTO_TCP, 7010, 0, first, 1, 9090), "service") ||
	    !ASSERT_OK(set_flow_cache(false), "cache off") ||
	    !ASSERT_OK(vipxdp_dp_ct_flush(&dp, &nct, &nnat), "flush") ||
	    !ASSERT_TRUE(fc_ctl(NULL, true), "controls reset"))
		return false;

	/* Flow a's first SYN finds nothing; its next three renew its entry. */
	ok &= syn_to(&a, 0, be_mac[0], &ct) && syn_ack_from(0);
	for (int i = 0; i < 3; i++)
		ok &= syn_to(&a, 0, be_mac[0], &ct) &&
		      ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "renewed");
	ok &= syn_ctl_is(4, 3, 0, 0, "4 lookups, 3 renewals");
	ok &= new_syns(40000, 59) && syn_ctl_is(63, 3, 0, 0, "63 lookups");
	/* The 64th, a 4th renewal: one in 16, lookups stay on. */
	ok &= syn_to(&a, 0, be_mac[0], &ct) && ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "renewed");
	ok &= syn_ctl_is(0, 0, 0, 0, "a window of 64 with 4 renewals: no skip");

	/* 63 new flows and one renewal: too few, skip. */
	ok &= new_syns(40100, 63);
	ok &= syn_to(&a, 0, be_mac[0], &ct) && ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "renewed");
	ok &= syn_ctl_is(0, 0, VIPXDP_SYN_SKIP, 1, "a window of 64 with 1 renewal: skip");
	{
		struct vipxdp_dp_fc st;

		ok &= ASSERT_OK(vipxdp_dp_fc_state(&dp, &st), "state") &&
		      ASSERT_EQ(st.syn_skip_windows, 1, "one skip window") &&
		      ASSERT_EQ(st.cpus_skipping_syn, 1, "one CPU skipping");
	}

	/* Skipping: flow a's SYN replaces its entry, to the same backend. */
	ok &= syn_to(&a, 0, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, 0, "not looked up: replaced");
	ok &= ASSERT_EQ(ct.state, VIPXDP_CT_SYN, "a SYN's entry");
	ok &= syn_ctl_is(0, 0, VIPXDP_SYN_SKIP - 1, 1, "counted down");

	/* The skip's last SYN, then lookups again: flow a renews. */
	ok &= ASSERT_TRUE(fc_ctl(&c, false), "read");
	c.syn_skip = 1;
	ok &= ASSERT_TRUE(fc_ctl_put(&c), "one SYN left to skip");
	ok &= new_syns(40200, 1) && syn_ctl_is(0, 0, 0, 1, "the skip ran out");
	ok &= syn_ack_from(0) && syn_to(&a, 0, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "looked up again: renewed");
	ok &= syn_ctl_is(1, 1, 0, 1, "a new window");
	/* A later generation, the same translation: renewed (ct_renew()). */
	ok &= ASSERT_TRUE(bump_gen(), "a change") && syn_to(&a, 0, be_mac[0], &ct);
	ok &= ASSERT_EQ(ct.nh[1].ifindex, (__u32)if_in, "renewed in place");
	ok &= syn_ctl_is(2, 2, 0, 1, "counted as a renewal");

	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	ok &= ASSERT_OK(vipxdp_dp_del_service(&dp, &spec), "delete");
	return ok;
}

/* ---- next hops: the daemon's route watch ------------------------------ */

static int set_route_watch(__u32 gen, __u32 watch_until)
{
	struct vipxdp_route rt = { .gen = gen, .watch_until = watch_until };
	__u32 zero = 0;

	return bpf_map_update_elem(dp.route_fd, &zero, &rt, BPF_ANY);
}

/* The backend's neighbour entry on vt_be, with MAC mac. */
static int set_be_neigh(const char *be, const char *mac)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "ip neigh replace %s lladdr %s dev vt_be nud permanent", be,
		 mac);
	return system(cmd) == 0 ? 0 : -1;
}

static int set_flow_cache(bool on);

/*
 * A flow's next hop, cached in its conntrack entry, follows the token of
 * struct vipxdp_route: with the watch on, a change of the backend's
 * neighbour MAC reaches the flow when (and only when) the generation moves,
 * in the same epoch; with the watch off, or run out, the epoch is the token
 * again. Each packet is checked byte for byte (the destination MAC is the
 * next hop's). The flow cache is off: every packet takes the whole path.
 */
static bool test_route_watch(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 41500, VIP4, 53, 0));
	const char *mac_new = "02:00:00:00:01:77";
	__u8 in[2048], want[2048], bmac[6], nmac[6];
	struct vipxdp_ct ct = {};
	struct run r;
	bool ok = true;
	int be, len, wlen;

	be = predict(&d, false);
	if (!ASSERT_GE(be, 0, "prediction") || !ASSERT_OK(set_flow_cache(false), "cache off") ||
	    !ASSERT_OK(set_route_watch(7, 0xfffffff0u), "watch on, generation 7"))
		return false;
	pkt_mac(be_mac[be], bmac);
	pkt_mac(mac_new, nmac);
	len = pkt_build(&d, in, sizeof(in));

	/* Watch on: the flow's first packet writes its conntrack entry with
	 * the next hop it was sent to, under generation 7's token (so the
	 * flow's next packet needs no FIB lookup). */
	wlen = expected_fwd(d, true, be4[be], 5353, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	ok &= ASSERT_EQ(ct.nh[0].epoch, VIPXDP_NH_WATCH | 7, "token: watch, generation 7");
	ok &= ASSERT_EQ(ct.nh[0].ifindex, (__u32)if_be, "next hop: the backend interface");
	ok &= ASSERT_TRUE(!memcmp(ct.nh[0].dmac, bmac, 6) && !memcmp(ct.nh[0].smac, mac_be, 6),
			  "next hop: the backend's MAC, from the interface's");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	/* The neighbour changes; the generation has not moved: still cached. */
	ok &= ASSERT_OK(set_be_neigh(be4[be], mac_new), "neighbour to the new MAC");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	/* Generation 8: the next packet looks the FIB up again. */
	ok &= ASSERT_OK(set_route_watch(8, 0xfffffff0u), "generation 8");
	wlen = expected_fwd(d, true, be4[be], 5353, mac_be, nmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	ok &= ASSERT_EQ(ct.nh[0].epoch, VIPXDP_NH_WATCH | 8, "token: watch, generation 8");

	/* Watch off: the token is the epoch (the entry's last_seen). */
	ok &= ASSERT_OK(set_route_watch(8, 0), "watch off");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	ok &= ASSERT_EQ(ct.nh[0].epoch, ct.last_seen, "token: the epoch");

	/* A watch that ran out (the daemon died) is off too. */
	ok &= ASSERT_OK(set_route_watch(9, ct.last_seen - 1), "watch ran out");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	ok &= ASSERT_EQ(ct.nh[0].epoch, ct.last_seen, "token: still the epoch");

	/* On again, with the neighbour back: the next packet takes the
	 * restored MAC at once. */
	ok &= ASSERT_OK(set_be_neigh(be4[be], be_mac[be]), "neighbour back");
	ok &= ASSERT_OK(set_route_watch(10, 0xfffffff0u), "watch on, generation 10");
	wlen = expected_fwd(d, true, be4[be], 5353, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	ok &= ASSERT_OK(set_route_watch(0, 0), "watch off");
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	fc_ct_delete(&d);
	return ok;
}

/* Slot slot of vipxdp_be_nh on every CPU: read into all (ncpu entries)
 * or, with write, set to all[0] on every CPU. */
static bool be_nh_slot(__u32 slot, struct vipxdp_be_nh *all, bool write)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.vipxdp_be_nh);

	if (write)
		for (int i = 1; i < ncpu; i++)
			all[i] = all[0];
	return write ? !bpf_map_update_elem(fd, &slot, all, BPF_ANY)
		     : !bpf_map_lookup_elem(fd, &slot, all);
}

/* The one CPU's entry of slot that is not empty, into *e; false when none
 * or several are. */
static bool be_nh_filled(__u32 slot, struct vipxdp_be_nh *e)
{
	int ncpu = libbpf_num_possible_cpus(), n = 0;
	struct vipxdp_be_nh *all = calloc(ncpu, sizeof(*all));

	if (!all || !be_nh_slot(slot, all, false)) {
		free(all);
		return false;
	}
	for (int i = 0; i < ncpu; i++)
		if (all[i].nh.ifindex) {
			*e = all[i];
			n++;
		}
	free(all);
	return n == 1;
}

/* A UDP packet of a new flow from the client to VIP4:53 that backend be
 * gets, source port from *port on; *port moves past it. */
static struct pkt_desc new_flow_to(int be, __u16 *port)
{
	struct pkt_desc d;

	for (;; (*port)++) {
		d = as_udp(tcp4(CLIENT4, *port, VIP4, 53, 0));
		if (predict(&d, false) == be)
			break;
	}
	(*port)++;
	return d;
}

/*
 * Next hops per backend (struct vipxdp_be_nh): with the watch on and
 * routing simple (VIPXDP_ROUTE_SIMPLE), a new flow to a backend takes the
 * next hop this CPU cached for that backend's address (and family), under
 * the same token, for the same ingress interface, for a packet no longer
 * than the cached one. Any
 * of those different, or routing not simple, and the FIB answers (and,
 * when simple, is cached). Told apart by the destination MAC: the cache is
 * given one the neighbour table does not have.
 */
static bool test_be_next_hop(void)
{
	const __u32 simple = VIPXDP_ROUTE_SIMPLE, gen = 21;
	const __u32 tok = VIPXDP_NH_WATCH | simple | gen;
	int ncpu = libbpf_num_possible_cpus(), be, len, wlen;
	struct vipxdp_be_nh *all = calloc(ncpu, sizeof(*all)), e = {}, fake;
	__u8 in[2048], want[2048], bmac[6], fmac[6];
	struct pkt_desc d;
	__u16 port = 42000;
	struct vipxdp_ct ct = {};
	struct run r;
	bool ok = true;
	__u32 slot;

	if (!ASSERT_TRUE(all != NULL, "memory") || !ASSERT_OK(set_flow_cache(false), "cache off") ||
	    !ASSERT_OK(set_route_watch(simple | gen, 0xfffffff0u), "watch on, simple routing")) {
		free(all);
		return false;
	}
	d = as_udp(tcp4(CLIENT4, port, VIP4, 53, 0));
	be = predict(&d, false);
	if (!ASSERT_GE(be, 0, "prediction")) {
		free(all);
		return false;
	}
	pkt_mac(be_mac[be], bmac);
	pkt_mac("02:00:00:00:01:88", fmac);

	/* The first flow: the FIB's next hop, kept in conntrack and in this
	 * CPU's slot for the backend (no other CPU's). */
	d = new_flow_to(be, &port);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, true, be4[be], 5353, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	fc_ct_delete(&d);
	slot = ct.backend_id & (VIPXDP_BE_NH_SLOTS - 1);
	ok &= ASSERT_TRUE(be_nh_filled(slot, &e), "one CPU's slot filled");
	ok &= ASSERT_TRUE(e.family == VIPXDP_AF_INET && !memcmp(&e.addr, &ct.daddr, sizeof(e.addr)),
			  "slot: the backend's address");
	ok &= ASSERT_EQ(e.iif, (__u32)if_in, "slot: ingress interface");
	ok &= ASSERT_EQ(e.max_len, len - 14, "slot: the packet's IP length");
	ok &= ASSERT_EQ(e.nh.epoch, tok, "slot: token");
	ok &= ASSERT_EQ(e.nh.ifindex, (__u32)if_be, "slot: the backend interface");
	ok &= ASSERT_TRUE(!memcmp(e.nh.dmac, bmac, 6) && !memcmp(e.nh.smac, mac_be, 6),
			  "slot: the backend's MAC, from the interface's");
	ok &= ASSERT_TRUE(!memcmp(&ct.nh[0], &e.nh, sizeof(e.nh)), "conntrack: the same next hop");

	/* Every CPU's slot given another MAC: the next new flow takes it. */
	fake = e;
	memcpy(fake.nh.dmac, fmac, 6);
	all[0] = fake;
	ok &= ASSERT_TRUE(be_nh_slot(slot, all, true), "slot written");
	d = new_flow_to(be, &port);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, true, be4[be], 5353, mac_be, fmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
	ok &= ASSERT_TRUE(!memcmp(&ct.nh[0], &fake.nh, sizeof(fake.nh)),
			  "conntrack: the cached next hop");
	fc_ct_delete(&d);

	/* Each of these makes the FIB answer (the neighbour's real MAC). */
	for (int c = 0; c < 6; c++) {
		static const char *const what[] = {
			"routing not simple", "another generation", "another backend address in the slot",
			"another ingress interface", "a longer packet", "another family in the slot",
		};
		__u32 rgen = simple | gen;

		all[0] = fake;
		if (c == 0)
			rgen = gen;
		else if (c == 1)
			all[0].nh.epoch = VIPXDP_NH_WATCH | simple | (gen - 1);
		else if (c == 2)
			all[0].addr.w[0] ^= htonl(1);
		else if (c == 3)
			all[0].iif = if_be;
		else if (c == 4)
			all[0].max_len = len - 14 - 1;
		else
			all[0].family = VIPXDP_AF_INET6;
		ok &= ASSERT_OK(set_route_watch(rgen, 0xfffffff0u), "watch");
		ok &= ASSERT_TRUE(be_nh_slot(slot, all, true), "slot written");
		d = new_flow_to(be, &port);
		len = pkt_build(&d, in, sizeof(in));
		wlen = expected_fwd(d, true, be4[be], 5353, mac_be, bmac, want);
		printf("# %s: the FIB's next hop\n", what[c]);
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		ok &= ASSERT_TRUE(fc_ct_get(&d, &ct), "conntrack entry");
		ok &= ASSERT_TRUE(!memcmp(ct.nh[0].dmac, bmac, 6), "conntrack: the FIB's next hop");
		fc_ct_delete(&d);
		/* Simple routing: the FIB's answer replaced the slot's (on the
		 * CPU that ran; the others keep what was written). */
		if (c) {
			int n = 0;

			ok &= ASSERT_TRUE(be_nh_slot(slot, all, false), "slot read");
			for (int i = 0; i < ncpu; i++)
				n += !memcmp(&all[i].addr, &ct.daddr, sizeof(ct.daddr)) &&
				     all[i].family == VIPXDP_AF_INET && all[i].iif == (__u32)if_in &&
				     all[i].max_len == len - 14 && all[i].nh.epoch == tok &&
				     !memcmp(all[i].nh.dmac, bmac, 6);
			ok &= ASSERT_EQ(n, 1, "slot: refilled from the FIB on one CPU");
		}
	}

	memset(all, 0, ncpu * sizeof(*all));
	ok &= ASSERT_TRUE(be_nh_slot(slot, all, true), "slot cleared");
	ok &= ASSERT_OK(set_route_watch(0, 0), "watch off");
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	free(all);
	return ok;
}

/* ---- flow cache ------------------------------------------------------- */

#define VIP4_FC "198.18.0.108"

/* Milliseconds on the monotonic clock. */
static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_flow_cache(bool on)
{
	struct vipxdp_cfg cfg;
	int err = vipxdp_dp_get_cfg(&dp, &cfg);

	if (on)
		cfg.flags &= ~VIPXDP_CFG_F_NO_FC;
	else
		cfg.flags |= VIPXDP_CFG_F_NO_FC;
	return err ?: vipxdp_dp_set_cfg(&dp, &cfg);
}

/* A frame of TCP flow t (with flags) built into fr->in, and what its
 * forwarding to fc_attempt()'s backend 198.19.0.1:8088 must give into
 * fr->want: the data path must forward it so (fr keeps the frame, to send
 * it again). */
struct fc_frame {
	__u8 in[2048], want[2048];
	int len, wlen;
};

/* fc_tcp() to backend be (its port 8088). */
static bool fc_tcp_to(struct pkt_desc *t, __u8 flags, const char *be, const __u8 *bmac,
		      struct fc_frame *fr)
{
	struct run r;

	t->tcp_flags = flags;
	fr->len = pkt_build(t, fr->in, sizeof(fr->in));
	fr->wlen = expected_fwd(*t, true, be, 8088, mac_be, bmac, fr->want);
	return expect(fr->in, fr->len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, fr->want,
		      fr->wlen, &r);
}

static bool fc_tcp(struct pkt_desc *t, __u8 flags, const __u8 *bmac, struct fc_frame *fr)
{
	return fc_tcp_to(t, flags, "198.19.0.1", bmac, fr);
}

/* TCP flow t from its SYN to its first data (ACK with 5 bytes): with the
 * ACK the flow is established, and the whole path fills the cache. */
static bool fc_tcp_establish(struct pkt_desc *t, const __u8 *bmac, struct fc_frame *fr)
{
	bool ok;

	t->payload_len = 0;
	t->ack = 0;
	ok = fc_tcp(t, PKT_SYN, bmac, fr);
	t->ack = 2000;
	t->payload_len = 5;
	return fc_tcp(t, PKT_ACK, bmac, fr) && ok;
}

static int fc_ctl_set_skip(__u32 n);

/*
 * One attempt of test_flow_cache (a run slower than an entry's life, 256
 * jiffies, is retried). The way to tell a cache hit from the
 * whole path: a conntrack entry deleted behind the data path's back (no
 * control-plane change) stays deleted while hits forward the flow, and
 * comes back on the first packet that takes the whole path.
 */
static bool fc_attempt(int n, bool *crossed)
{
	static const char *const one[] = { "198.19.0.1" };
	struct pkt_desc u = as_udp(tcp4(CLIENT4, 41000 + n * 10, VIP4_FC, 53, 0));
	struct pkt_desc t = tcp4(CLIENT4, 41001 + n * 10, VIP4_FC, 80, PKT_SYN);
	struct pkt_desc rep = tcp4(one[0], 8088, CLIENT4, 41001 + n * 10, PKT_ACK);
	__u8 in[2048], want[2048], bmac[6];
	struct vipxdp_lb_stats s0, s1, b0, b1;
	struct vipxdp_fc_ctl ctl;
	struct fc_frame tf;
	size_t nct, nnat;
	__u64 t0 = now_ms();
	struct vipxdp_ct ct;
	struct run r;
	bool ok = true;
	int len, wlen, i;

	pkt_mac(be_mac[0], bmac);
	/* UDP: packet 1 makes the flow, packet 2 (conntrack hit) fills the
	 * cache, 3..6 hit it with the conntrack entry gone: the same bytes,
	 * exact counters. */
	len = pkt_build(&u, in, sizeof(in));
	wlen = expected_fwd(u, true, one[0], 5353, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	if (!ASSERT_TRUE(fc_ct_get(&u, &ct), "conntrack entry"))
		return false;
	fc_ct_delete(&u);
	s0 = lb_total(dp.svc_stats_fd, ct.svc_id);
	b0 = lb_total(dp.be_stats_fd, ct.backend_id);
	for (i = 0; i < 4; i++)
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	s1 = lb_total(dp.svc_stats_fd, ct.svc_id);
	b1 = lb_total(dp.be_stats_fd, ct.backend_id);
	ok &= ASSERT_EQ(b1.packets - b0.packets, 4, "backend packets");
	ok &= ASSERT_TRUE(!fc_ct_exists(&u), "hits leave conntrack alone");
	ok &= ASSERT_EQ(s1.packets - s0.packets, 4, "service packets");
	ok &= ASSERT_EQ(s1.bytes - s0.bytes, 4 * (__u64)len, "service bytes");
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 0, "no new flow");
	/* TTL 1 is never answered from the cache. */
	{
		struct pkt_desc x = u;
		__u8 xin[2048];
		int xlen;

		x.ttl = 1;
		xlen = pkt_build(&x, xin, sizeof(xin));
		ok &= expect(xin, xlen, if_in, XDP_PASS, VIPXDP_R_pass_ttl, NULL, 0, &r);
	}
	/* A control-plane change (here: conntrack flush) empties the cache:
	 * the next packet takes the whole path and makes the flow again. */
	ok &= ASSERT_OK(vipxdp_dp_ct_flush(&dp, &nct, &nnat), "flush");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_exists(&u), "after a flush: the whole path");
	s1 = lb_total(dp.svc_stats_fd, ct.svc_id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 1, "counted as a new flow");
	/* flow_cache off: every packet takes the whole path, without probing
	 * the cache (every CPU's control says off: the fast path then stops
	 * before its skip countdown, which stays). */
	ok &= ASSERT_OK(set_flow_cache(false), "cache off");
	ok &= ASSERT_EQ(fc_ctl_set_skip(100), 0, "every CPU off; skip 100");
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	fc_ct_delete(&u);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ct_exists(&u), "cache off: the whole path");
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.skip == 100, "off: no probe, skip left alone");
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && !ctl.off && ctl.skip == 100, "on again");
	/* Frames the cache never answers go to the whole path before the
	 * cache control: an ARP request, a TCP SYN, a FIN, an ICMP echo do not
	 * count the skip down (and get what the whole path gives them). */
	{
		struct pkt_arp a = arp_req(CLIENT4, VIP4);
		struct pkt_desc syn = tcp4(CLIENT4, 41002 + n * 10, "198.18.0.200", 80, PKT_SYN);
		struct pkt_desc fin = tcp4(CLIENT4, 41002 + n * 10, "198.18.0.200", 80,
					   PKT_FIN | PKT_ACK);
		struct pkt_desc echo = tcp4(CLIENT4, 0, "198.18.0.200", 0, 0);
		__u8 oin[2048], owant[2048];
		int olen;

		olen = pkt_build_arp(&a, oin, sizeof(oin));
		ok &= expect(oin, olen, if_in, XDP_TX, VIPXDP_R_arp_reply, owant,
			     arp_reply_of(a, owant), &r);
		olen = pkt_build(&syn, oin, sizeof(oin));
		ok &= expect(oin, olen, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
		olen = pkt_build(&fin, oin, sizeof(oin));
		ok &= expect(oin, olen, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
		echo.proto = IPPROTO_ICMP;
		echo.icmp_type = 8;
		echo.payload = "\x12\x34\x00\x01"; /* identifier, sequence */
		echo.payload_len = 4;
		olen = pkt_build(&echo, oin, sizeof(oin));
		ok &= expect(oin, olen, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
		ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.skip == 100,
				  "ARP, SYN, FIN, ICMP: the skip not counted down");
	}
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.skip == 99, "on: the fast path counts down");
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset");
	/* A UDP timeout shorter than VIPXDP_FC_MIN_TIMEOUT epochs: hits would
	 * not move the entry's age on in time, so the flow is not cached. */
	{
		struct vipxdp_cfg cfg0, cfg;

		ok &= ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg");
		cfg = cfg0;
		cfg.ct_timeout[VIPXDP_CT_UDP] = VIPXDP_FC_MIN_TIMEOUT - 1;
		ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "short udp timeout");
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		fc_ct_delete(&u);
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		ok &= ASSERT_TRUE(fc_ct_exists(&u), "short timeout: the whole path");
		ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "timeouts back");
	}

	/* TCP: SYN, ACK (established: fills), ACK (hit). A FIN takes the
	 * whole path and drops the entry: the ACK after it does too. */
	ok &= fc_tcp_establish(&t, bmac, &tf);
	fc_ct_delete(&t);
	ok &= expect(tf.in, tf.len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, tf.want, tf.wlen,
		     &r);
	ok &= ASSERT_TRUE(!fc_ct_exists(&t), "established TCP: a hit");
	/* The backend's replies: the first fills, the second hits. */
	ok &= expect(tf.in, tf.len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, tf.want, tf.wlen,
		     &r);
	from_backend(&rep, bmac);
	{
		__u8 rin[2048], rwant[2048];
		int rlen = pkt_build(&rep, rin, sizeof(rin));
		int rwlen = expected_fwd(rep, false, VIP4_FC, 80, mac_in, mac_client, rwant);

		fc_ct_delete(&t); /* from the whole path's ACK: start afresh */
		ok &= fc_tcp_establish(&t, bmac, &tf);
		if (!ASSERT_TRUE(fc_ct_get(&t, &ct), "tcp entry"))
			return false;
		ok &= ASSERT_EQ(ct.flags, VIPXDP_CT_F_DNAT | VIPXDP_CT_F_BOTH, "one entry");
		b0 = lb_total(dp.be_stats_fd, ct.backend_id);
		ok &= expect(rin, rlen, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, rwant, rwlen, &r);
		fc_ct_delete(&t);
		ok &= expect(rin, rlen, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, rwant, rwlen, &r);
		b1 = lb_total(dp.be_stats_fd, ct.backend_id);
		ok &= ASSERT_EQ(b1.reply_packets - b0.reply_packets, 2, "reply packets");
		ok &= ASSERT_EQ(b1.reply_bytes - b0.reply_bytes, 2 * (__u64)rlen, "reply bytes");
		/* Once the cache is emptied, a reply without its flow passes. */
		ok &= ASSERT_OK(set_flow_cache(true), "a change");
		ok &= expect(rin, rlen, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	}
	/* FIN: the whole path, and the entry of the flow goes. */
	ok &= fc_tcp(&t, PKT_ACK, bmac, &tf);
	ok &= fc_tcp(&t, PKT_ACK, bmac, &tf);
	ok &= fc_tcp(&t, PKT_ACK | PKT_FIN, bmac, &tf);
	ok &= ASSERT_TRUE(fc_ct_exists(&t), "FIN: the whole path");
	fc_ct_delete(&t);
	ok &= fc_tcp(&t, PKT_ACK, bmac, &tf);
	ok &= ASSERT_TRUE(fc_ct_exists(&t), "after a FIN: no hit");
	/* Entries live VIPXDP_FC_TTL_JIFFIES: 256 ms at HZ 1000. */
	*crossed = now_ms() - t0 > 200;
	return ok;
}

/* This CPU's flow-cache control (vipxdp_fc_ctl); reset = zero every CPU's. */
static bool fc_ctl(struct vipxdp_fc_ctl *out, bool reset)
{
	int ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu();
	struct vipxdp_fc_ctl *all = calloc(ncpu, sizeof(*all));
	__u32 zero = 0;
	bool ok;

	if (!all || cpu < 0 || cpu >= ncpu) {
		free(all);
		return false;
	}
	ok = reset ? !bpf_map_update_elem(bpf_map__fd(skel->maps.vipxdp_fc_ctl), &zero, all, 0)
		   : !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vipxdp_fc_ctl), &zero, all);
	if (ok && out)
		*out = all[cpu];
	free(all);
	return ok;
}

/* This CPU's flow cache control to *c (the others' stay); false when it
 * cannot be written. */
static bool fc_ctl_put(const struct vipxdp_fc_ctl *c)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.vipxdp_fc_ctl);
	struct vipxdp_fc_ctl *all = calloc(ncpu, sizeof(*all));
	int cpu = sched_getcpu();
	__u32 zero = 0;
	bool ok;

	ok = all && cpu >= 0 && cpu < ncpu && !bpf_map_lookup_elem(fd, &zero, all);
	if (ok) {
		all[cpu] = *c;
		ok = !bpf_map_update_elem(fd, &zero, all, BPF_ANY);
	}
	free(all);
	return ok;
}

/* Every CPU's skip countdown to n; 0, or 1 when some CPU's control does
 * not say off (or cannot be read or written). */
static int fc_ctl_set_skip(__u32 n)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.vipxdp_fc_ctl), rc = 1;
	struct vipxdp_fc_ctl *all = calloc(ncpu, sizeof(*all));
	__u32 zero = 0;

	if (all && !bpf_map_lookup_elem(fd, &zero, all)) {
		rc = 0;
		for (int i = 0; i < ncpu; i++) {
			rc |= !all[i].off;
			all[i].skip = n;
		}
		if (bpf_map_update_elem(fd, &zero, all, BPF_ANY))
			rc = 1;
	}
	free(all);
	return rc;
}

/* Send n UDP packets of flows 198.18.0.61:first.. (step 0: one flow) to
 * VIP4_FC:53; each must be redirected. */
static bool fc_udp_run(__u16 first, int step, int n)
{
	__u8 in[256];
	struct run r;
	int len;

	for (int i = 0; i < n; i++) {
		struct pkt_desc d = as_udp(tcp4("198.18.0.61", first + i * step, VIP4_FC, 53, 0));

		len = pkt_build(&d, in, sizeof(in));
		if (run_prog(in, len, if_in, &r) || r.retval != XDP_REDIRECT)
			return ASSERT_TRUE(false, "redirected");
	}
	return true;
}

/* The CPU skipping after a window without hits (test_flow_cache): each
 * such window in a row doubles the skip, up to VIPXDP_FC_BACKOFF_MAX; a
 * window with hits starts again at VIPXDP_FC_SKIP. */
static bool fc_skip_backoff(void)
{
	struct vipxdp_fc_ctl ctl;
	bool ok = true;
	__u32 want;

	for (int b = 1; b <= VIPXDP_FC_BACKOFF_MAX + 1; b++) {
		/* The skip's end, without sending its packets. */
		if (!ASSERT_TRUE(fc_ctl(&ctl, false), "read"))
			return false;
		ctl.skip = 0;
		if (!ASSERT_TRUE(fc_ctl_put(&ctl), "skip over") ||
		    !fc_udp_run(30000 + b * VIPXDP_FC_WINDOW, 1, VIPXDP_FC_WINDOW) ||
		    !ASSERT_TRUE(fc_ctl(&ctl, false), "read"))
			return false;
		want = b < VIPXDP_FC_BACKOFF_MAX ? b + 1 : VIPXDP_FC_BACKOFF_MAX;
		ok &= ASSERT_EQ(ctl.bypasses, b + 1, "another window without hits");
		ok &= ASSERT_EQ(ctl.skip, (__u32)VIPXDP_FC_SKIP << (b < VIPXDP_FC_BACKOFF_MAX ? b : VIPXDP_FC_BACKOFF_MAX),
				"the skip doubled (up to the most)");
		ok &= ASSERT_EQ(ctl.backoff, want, "backoff");
	}
	/* A window that hits: one flow, its first packet (a miss, conntrack
	 * made), its second (a miss, the cache filled), then hits; a new
	 * flow's miss ends the window. */
	ctl.skip = 0;
	if (!ASSERT_TRUE(fc_ctl_put(&ctl), "skip over") ||
	    !fc_udp_run(29000, 0, VIPXDP_FC_WINDOW + 8) ||
	    !fc_udp_run(29001, 0, 1) || !ASSERT_TRUE(fc_ctl(&ctl, false), "read"))
		return false;
	ok &= ASSERT_EQ(ctl.bypasses, VIPXDP_FC_BACKOFF_MAX + 2, "no bypass");
	ok &= ASSERT_EQ(ctl.skip, 0, "not skipping");
	ok &= ASSERT_EQ(ctl.backoff, 0, "backoff back to 0");
	ok &= ASSERT_EQ(ctl.lookups, 0, "the window ended");
	return ok;
}

#define FC_SKIP_JIF_UNSET 0xdead0000u

/* The tail of this CPU's table. Without skip_jif: its count of fills in
 * the current window to 0, and its skip start to FC_SKIP_JIF_UNSET. With
 * skip_jif: the skip start it has into *skip_jif (a skip that began since
 * wrote its jiffies there). */
static bool fc_tail(__u32 *skip_jif)
{
	int fd = bpf_map__fd(skel->maps.vipxdp_fc);
	struct vipxdp_fc_table *t = malloc(sizeof(*t));
	__u32 key = (__u32)sched_getcpu();
	bool ok;

	ok = t && !bpf_map_lookup_elem(fd, &key, t);
	if (ok && skip_jif) {
		*skip_jif = t->skip_jif;
	} else if (ok) {
		t->fills = 0;
		t->skip_jif = FC_SKIP_JIF_UNSET;
		ok = !bpf_map_update_elem(fd, &key, t, BPF_ANY);
	}
	free(t);
	return ok;
}

/* With the cache control and the fills reset, nflows UDP flows of per_flow
 * packets each from port first on (fc_udp_run()); then the control into
 * *ctl. */
static bool fc_fresh_flows(__u16 first, int nflows, int per_flow, struct vipxdp_fc_ctl *ctl)
{
	if (!ASSERT_TRUE(fc_ctl(NULL, true), "reset") || !ASSERT_TRUE(fc_tail(NULL), "fills 0"))
		return false;
	for (int j = 0; j < nflows; j++) {
		if (!fc_udp_run(first + j, 0, per_flow))
			return false;
	}
	return ASSERT_TRUE(fc_ctl(ctl, false), "read");
}

/* Flows of per_flow UDP packets each, from port first on: each flow's
 * first two lookups miss (the second fills), the rest hit. With fewer hits
 * than VIPXDP_FC_HITS_PER_FILL per fill, a window makes the CPU skip even
 * though one lookup in 8 hit; with more, it does not. */
static bool fc_skip_hits_per_fill(void)
{
	struct vipxdp_fc_ctl ctl;
	bool ok = true;
	__u32 jif;

	/* 3 packets a flow: 1 hit per fill, 1 lookup in 3 a hit. The window
	 * ends at flow 341's first packet (lookup 1024, a miss). */
	if (!fc_fresh_flows(37000, 341, 3, &ctl))
		return false;
	ok &= ASSERT_EQ(ctl.lookups, 1023, "no window ended yet") &&
	      ASSERT_EQ(ctl.bypasses, 0, "no skip yet");
	if (!fc_udp_run(37000 + 341, 0, 1) || !ASSERT_TRUE(fc_ctl(&ctl, false), "read"))
		return false;
	ok &= ASSERT_EQ(ctl.bypasses, 1, "a hit per fill: skipping") &&
	      ASSERT_EQ(ctl.skip, VIPXDP_FC_SKIP, "skip") && ASSERT_EQ(ctl.lookups, 0, "window ended");
	ok &= ASSERT_TRUE(fc_tail(&jif), "read the skip's start") &&
	      ASSERT_TRUE(jif != FC_SKIP_JIF_UNSET, "the skip's start written");
	/* 8 packets a flow: 6 hits per fill; 130 flows end a window. */
	if (!fc_fresh_flows(38000, 130, 8, &ctl))
		return false;
	ok &= ASSERT_TRUE(ctl.lookups < 130 * 8, "a window ended") &&
	      ASSERT_EQ(ctl.bypasses, 0, "6 hits per fill: no skip") && ASSERT_EQ(ctl.skip, 0, "not skipping");
	return ok;
}

/* The index of the TCP entry of CLIENT4:sport -> VIP4_FC:80 in table t,
 * or -1. */
static int fc_tcp_entry(const struct vipxdp_fc_table *t, __u16 sport)
{
	__u32 c = 0, v = 0;

	inet_pton(AF_INET, CLIENT4, &c);
	inet_pton(AF_INET, VIP4_FC, &v);
	for (int i = 0; i < VIPXDP_FC_ENTRIES; i++) {
		const struct vipxdp_fc *x = &t->e[i];

		if (x->family == VIPXDP_AF_INET && x->proto == IPPROTO_TCP && x->saddr0 == c &&
		    x->daddr0 == v && x->sport == htons(sport) && x->dport == htons(80))
			return i;
	}
	return -1;
}

/*
 * While the CPU leaves the cache alone, a FIN's forget does not look: the
 * flow's entry stays, and the control notes it (unforgot). Nothing is
 * filled while the CPU skips, and a skip with such a forget lasts at least
 * an entry's life since it began (vipxdp_fc_table.skip_jif), so that no
 * entry filled before it is good when it ends: its last count waits for
 * that. A skip without one ends with its count. (A skip that began an
 * entry's life before its entry is set up here, which the data path never
 * makes, to tell the cases apart.)
 */
static bool fc_skip_no_forget(void)
{
	int fd = bpf_map__fd(skel->maps.vipxdp_fc);
	struct vipxdp_fc_table *t = malloc(sizeof(*t));
	__u32 key = (__u32)sched_getcpu();
	struct vipxdp_fc_ctl ctl = {};
	struct fc_frame fr;
	__u8 bmac[6];
	bool ok = ASSERT_TRUE(t, "memory");

	pkt_mac(be_mac[0], bmac);
	for (int longago = 0; ok && longago < 2; longago++) {
		__u16 port = 42001 + longago;
		struct pkt_desc d = tcp4(CLIENT4, port, VIP4_FC, 80, PKT_SYN);
		__u64 t0 = now_ms();
		int i;

		memset(&ctl, 0, sizeof(ctl));
		if (!ASSERT_TRUE(fc_ctl(NULL, true), "reset") || !fc_tcp_establish(&d, bmac, &fr) ||
		    !ASSERT_OK(bpf_map_lookup_elem(fd, &key, t), "table") ||
		    !ASSERT_TRUE((i = fc_tcp_entry(t, port)) >= 0, "established: an entry")) {
			ok = false;
			break;
		}
		t->skip_jif = t->e[i].jif - (longago ? VIPXDP_FC_TTL_JIFFIES + 1 : 0);
		/* Without an undone forget, the last count ends the skip. */
		ctl.skip = 1;
		if (!ASSERT_OK(bpf_map_update_elem(fd, &key, t, BPF_ANY), "skip start") ||
		    !ASSERT_TRUE(fc_ctl_put(&ctl), "the last count") ||
		    !fc_tcp(&d, PKT_ACK, bmac, &fr) || !ASSERT_TRUE(fc_ctl(&ctl, false), "read")) {
			ok = false;
			break;
		}
		ok &= ASSERT_EQ(ctl.skip, 0, "no forget left undone: the skip ends with its count");
		ctl.skip = 1000;
		if (!ASSERT_TRUE(fc_ctl_put(&ctl), "skipping") ||
		    !fc_tcp(&d, PKT_FIN | PKT_ACK, bmac, &fr) ||
		    !ASSERT_OK(bpf_map_lookup_elem(fd, &key, t), "table") ||
		    !ASSERT_TRUE(fc_ctl(&ctl, false), "read")) {
			ok = false;
			break;
		}
		ok &= ASSERT_EQ(t->e[i].family, VIPXDP_AF_INET, "skipping: the forget did not look");
		ok &= ASSERT_EQ(ctl.unforgot, 1, "the forget left undone, noted");
		/* The skip's last count. */
		ctl.skip = 1;
		if (!ASSERT_TRUE(fc_ctl_put(&ctl), "the last count") ||
		    !fc_tcp(&d, PKT_ACK, bmac, &fr) || !ASSERT_TRUE(fc_ctl(&ctl, false), "read")) {
			ok = false;
			break;
		}
		if (longago) {
			ok &= ASSERT_EQ(ctl.skip, 0, "an entry's life since the skip began: it ends");
			ok &= ASSERT_EQ(ctl.unforgot, 0, "the note goes with it");
		} else if (now_ms() - t0 < 200) { /* entries live 256 ms at HZ 1000 */
			ok &= ASSERT_EQ(ctl.skip, 1, "begun just now: the skip goes on");
		}
	}
	free(t);
	return ASSERT_TRUE(fc_ctl(NULL, true), "reset") && ok;
}

/* While the CPU skips, the whole path fills nothing: a flow's conntrack
 * hit then leaves no entry, which the next packet, after the skip, would
 * hit with the conntrack entry gone behind the data path's back. */
static bool fc_skip_no_fill(void)
{
	struct pkt_desc u = as_udp(tcp4("198.18.0.61", 28000, VIP4_FC, 53, 0));
	struct vipxdp_fc_ctl ctl = {};
	bool ok = true;

	/* Skip 3: the first two packets take the whole path with skip left. */
	ctl.skip = 3;
	if (!ASSERT_TRUE(fc_ctl(NULL, true), "reset") || !ASSERT_TRUE(fc_ctl_put(&ctl), "skip 3") ||
	    !fc_udp_run(28000, 0, 2) || !ASSERT_TRUE(fc_ct_exists(&u), "conntrack entry"))
		return false;
	fc_ct_delete(&u);
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset") && fc_udp_run(28000, 0, 1);
	ok &= ASSERT_TRUE(fc_ct_exists(&u), "no entry filled: the whole path made the flow again");
	/* The same with the cache on throughout: the fill, then a hit. */
	if (!fc_udp_run(28000, 0, 1))
		return false;
	fc_ct_delete(&u);
	ok &= fc_udp_run(28000, 0, 1);
	ok &= ASSERT_TRUE(!fc_ct_exists(&u), "not skipping: filled, and hit");
	return ok;
}

/*
 * Flow cache (flowcache.h): hits give the same bytes and counters as the
 * whole path and skip conntrack; TTL 1, TCP SYN/FIN/RST, a control-plane
 * change and flow_cache off all take the whole path. A window of lookups
 * that nearly all miss makes the CPU leave the cache alone for a while.
 */
static bool test_flow_cache(void)
{
	static const char *const one[] = { "198.19.0.1" };
	bool crossed = true, ok = false;
	struct vipxdp_fc_ctl ctl;
	__u8 in[2048];
	struct run r;
	int i, len;

	/* Earlier tests' many one-packet flows may have made this CPU skip. */
	if (!ASSERT_TRUE(fc_ctl(NULL, true), "reset the cache control") ||
	    !ASSERT_OK(add_vip(VIP4_FC, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(VIP4_FC, IPPROTO_UDP, 53, 0, one, 1, 5353), "udp") ||
	    !ASSERT_OK(add_service(VIP4_FC, IPPROTO_TCP, 80, 0, one, 1, 8088), "tcp"))
		return false;
	for (int n = 0; n < 3 && crossed; n++) {
		ok = fc_attempt(n, &crossed);
		if (crossed)
			printf("# attempt %d took over 200 ms: again\n", n + 1);
	}
	ok &= ASSERT_TRUE(!crossed, "a run within an entry's life");
	/* One window of new flows: every lookup misses, so the CPU skips the
	 * cache for the next VIPXDP_FC_SKIP packets. */
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset");
	for (i = 0; i < VIPXDP_FC_WINDOW; i++) {
		struct pkt_desc d = as_udp(tcp4("198.18.0.60", 20000 + i, VIP4_FC, 53, 0));

		len = pkt_build(&d, in, sizeof(in));
		if (run_prog(in, len, if_in, &r) || r.retval != XDP_REDIRECT)
			return false;
	}
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false), "read");
	ok &= ASSERT_EQ(ctl.bypasses, 1, "one window without hits");
	ok &= ASSERT_EQ(ctl.skip, VIPXDP_FC_SKIP, "skipping");
	ok &= ASSERT_EQ(ctl.backoff, 1, "the next skip twice as long");
	{
		struct vipxdp_dp_fc st;

		ok &= ASSERT_OK(vipxdp_dp_fc_state(&dp, &st), "state");
		ok &= ASSERT_TRUE(st.enabled, "enabled") && ASSERT_EQ(st.bypasses, 1, "bypasses") &&
		      ASSERT_EQ(st.cpus_bypassing, 1, "one CPU bypassing");
	}
	ok &= fc_skip_backoff();
	ok &= fc_skip_no_fill();
	ok &= fc_skip_hits_per_fill();
	ok &= fc_skip_no_forget();
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset");
	return ok;
}

/* A family and framing for test_ct_fast(): its VIP's one backend is be. */
struct ct_fast_case {
	const char *name;
	bool v6;
	int nvlan;
	const char *client, *vip, *be;
	__u16 sport; /* the TCP flow's; the UDP flow's is one more */
};

#define VIP6_FC "2001:db8:100::108"

/* A TCP (flags) or UDP (flags 0, as_udp()) frame of case c. */
static struct pkt_desc ctf_pkt(const struct ct_fast_case *c, const char *src, __u16 sport,
			       const char *dst, __u16 dport, __u8 flags)
{
	struct pkt_desc d = c->v6 ? tcp6(src, sport, dst, dport, flags)
				  : tcp4(src, sport, dst, dport, flags);

	d.l2.nvlan = c->nvlan;
	d.l2.vlan_tci[0] = 100;
	return d;
}

/*
 * The conntrack fast path, here with the cache off (ct_fast4() for the
 * common frame, ct_fast() for the others: IPv6, VLAN tags): the ACK that
 * ends a handshake establishes the entry, a packet moves its age on, the
 * backend's replies get the VIP as source, the counts are exact both ways,
 * and an expired entry gives way as on the whole path (a new flow); a flow
 * conntrack does not have is made by the whole path.
 */
static bool ct_fast_case(const struct ct_fast_case *c)
{
	const char *const one[] = { c->be };
	struct pkt_desc t = ctf_pkt(c, c->client, c->sport, c->vip, 80, PKT_SYN);
	struct pkt_desc u = as_udp(ctf_pkt(c, c->client, c->sport + 1, c->vip, 53, 0));
	struct vipxdp_lb_stats s0, s1;
	struct vipxdp_cfg cfg0, cfg;
	struct vipxdp_flow f;
	struct vipxdp_ct ct;
	struct fc_frame fr;
	__u8 bmac[6];
	bool ok = true;
	int i;

	printf("# %s\n", c->name);
	pkt_mac(be_mac[0], bmac);
	if (!ASSERT_OK(add_vip(c->vip, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(c->vip, IPPROTO_UDP, 53, 0, one, 1, 5353), "udp") ||
	    !ASSERT_OK(add_service(c->vip, IPPROTO_TCP, 80, 0, one, 1, 8088), "tcp") ||
	    !ASSERT_OK(set_flow_cache(false), "cache off") ||
	    !ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	/* The SYN makes the entry; the client's ACK establishes it. */
	t.payload_len = 0;
	ok &= fc_tcp_to(&t, PKT_SYN, c->be, bmac, &fr);
	ok &= ASSERT_TRUE(fc_ct_get(&t, &ct) && ct.state == VIPXDP_CT_SYN, "after the SYN: syn");
	s0 = lb_total(dp.svc_stats_fd, ct.svc_id);
	t.ack = 2000;
	t.payload_len = 5;
	ok &= fc_tcp_to(&t, PKT_ACK, c->be, bmac, &fr);
	ok &= ASSERT_TRUE(fc_ct_get(&t, &ct) && ct.state == VIPXDP_CT_EST,
			  "after the ACK: established");
	/* A packet moves the entry's age on. */
	fc_flow(&t, &f);
	ct.last_seen = vipxdp_epoch_now() - 3;
	ok &= ASSERT_OK(vipxdp_ct_put(&dp, &f, &ct, BPF_EXIST), "entry aged");
	ok &= fc_tcp_to(&t, PKT_ACK, c->be, bmac, &fr);
	ok &= ASSERT_TRUE(fc_ct_get(&t, &ct) && vipxdp_epoch_now() - ct.last_seen <= 1,
			  "a packet moves its age on");
	s1 = lb_total(dp.svc_stats_fd, ct.svc_id);
	ok &= ASSERT_EQ(s1.packets - s0.packets, 2, "service packets");
	ok &= ASSERT_EQ(s1.bytes - s0.bytes, 2 * (__u64)fr.len, "service bytes");
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 0, "no new flow");
	/* The backend's reply (the flow's one entry, found through
	 * vipxdp_rev): its source becomes the VIP's, it is counted as a reply
	 * and moves the entry's age on. */
	{
		struct pkt_desc rep = ctf_pkt(c, c->be, 8088, c->client, c->sport, PKT_ACK);
		__u8 in[2048], want[2048];
		struct run r;
		int len, wlen;

		rep.payload_len = 7;
		from_backend(&rep, bmac);
		len = pkt_build(&rep, in, sizeof(in));
		wlen = expected_fwd(rep, false, c->vip, 80, mac_in, mac_client, want);
		s0 = lb_total(dp.be_stats_fd, ct.backend_id);
		/* The first reply fills the entry's next hop for replies. */
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		ok &= ASSERT_TRUE(fc_ct_get(&t, &ct) && ct.nh[1].ifindex, "reply next hop cached");
		ct.last_seen = vipxdp_epoch_now() - 3;
		ok &= ASSERT_OK(vipxdp_ct_put(&dp, &f, &ct, BPF_EXIST), "entry aged again");
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		ok &= ASSERT_TRUE(fc_ct_get(&t, &ct) && vipxdp_epoch_now() - ct.last_seen <= 1,
				  "a reply moves the age on");
		/* A reply next hop that is not good now (another token, and a
		 * MAC that is not the client's): looked up again. */
		ct.nh[1].epoch ^= 1;
		memset(ct.nh[1].dmac, 0x5a, 6);
		ok &= ASSERT_OK(vipxdp_ct_put(&dp, &f, &ct, BPF_EXIST), "stale reply next hop");
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		s1 = lb_total(dp.be_stats_fd, ct.backend_id);
		ok &= ASSERT_EQ(s1.reply_packets - s0.reply_packets, 3, "backend reply packets");
		ok &= ASSERT_EQ(s1.reply_bytes - s0.reply_bytes, 3 * (__u64)len, "reply bytes");
		ok &= ASSERT_EQ(s1.packets - s0.packets, 0, "no forward packets");
	}

	/* UDP: the first packet (no entry) makes the flow, the next ones
	 * follow it. */
	for (i = 0; i < 3; i++) {
		__u8 in[2048], want[2048];
		struct run r;
		int len = pkt_build(&u, in, sizeof(in));
		int wlen = expected_fwd(u, true, c->be, 5353, mac_be, bmac, want);

		if (i == 1) {
			ok &= ASSERT_TRUE(fc_ct_get(&u, &ct), "UDP: the first packet's entry");
			s0 = lb_total(dp.svc_stats_fd, ct.svc_id);
		}
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	}
	s1 = lb_total(dp.svc_stats_fd, ct.svc_id);
	ok &= ASSERT_EQ(s1.packets - s0.packets, 2, "UDP: service packets");
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 0, "UDP: no new flow after the first packet's");
	/* Idle beyond the udp timeout: the next packet makes a new flow. */
	cfg = cfg0;
	cfg.ct_timeout[VIPXDP_CT_UDP] = 5;
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "udp timeout 5 s");
	fc_flow(&u, &f);
	ok &= ASSERT_TRUE(fc_ct_get(&u, &ct), "UDP entry");
	ct.last_seen = vipxdp_epoch_now() - 6;
	ok &= ASSERT_OK(vipxdp_ct_put(&dp, &f, &ct, BPF_EXIST), "UDP entry expired");
	s0 = lb_total(dp.svc_stats_fd, ct.svc_id);
	{
		__u8 in[2048], want[2048];
		struct run r;
		int len = pkt_build(&u, in, sizeof(in));
		int wlen = expected_fwd(u, true, c->be, 5353, mac_be, bmac, want);

		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	}
	s1 = lb_total(dp.svc_stats_fd, ct.svc_id);
	ok &= ASSERT_EQ(s1.new_flows - s0.new_flows, 1, "expired: a new flow");
	ok &= ASSERT_TRUE(fc_ct_get(&u, &ct) && vipxdp_epoch_now() - ct.last_seen <= 1,
			  "expired: a fresh entry");
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "cfg restored");
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	return ok;
}

static bool test_ct_fast(void)
{
	static const struct ct_fast_case cases[] = {
		{ "IPv4", false, 0, CLIENT4, VIP4_FC, "198.19.0.1", 44001 },
		{ "IPv6", true, 0, CLIENT6, VIP6_FC, "2001:db8:2::1", 44011 },
		{ "IPv4, 802.1Q tag", false, 1, CLIENT4, VIP4_FC, "198.19.0.1", 44021 },
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok &= ct_fast_case(&cases[i]);
	return ok;
}

#define VIP4_SYN "198.18.0.111"

/* Send TCP packet flags (ack number ack, payload_len bytes) of flow
 * CLIENT4:sport -> VIP4_SYN:80 and put the address it was sent to into out
 * (16 bytes); false when it was not redirected. */
static bool syn_send(__u16 sport, __u8 flags, __u32 ack, int payload_len, char *out)
{
	struct pkt_desc d = tcp4(CLIENT4, sport, VIP4_SYN, 80, flags);

	d.ack = ack;
	d.payload_len = payload_len;
	return send_redirected(&d, out, 16);
}

/* Flow sport: SYN, then the ACK with the first data that establishes it
 * (and fills the cache); the backend it went to into out. */
static bool syn_establish(__u16 sport, char *out)
{
	char a[16];

	return syn_send(sport, PKT_SYN, 0, 0, a) && syn_send(sport, PKT_ACK, 2000, 5, out) &&
	       !strcmp(a, out);
}

static bool syn_ct_delete(__u16 sport)
{
	struct pkt_desc d = tcp4(CLIENT4, sport, VIP4_SYN, 80, PKT_ACK);

	fc_ct_delete(&d);
	return !fc_ct_exists(&d);
}

static bool syn_ct_exists(__u16 sport)
{
	struct pkt_desc d = tcp4(CLIENT4, sport, VIP4_SYN, 80, PKT_ACK);

	return fc_ct_exists(&d);
}

/* One attempt of test_flow_cache_syn (a run slower than an entry's life
 * is retried); sport: a flow that gets backend set[0] first. */
static bool fc_syn_attempt(const struct vipxdp_svc_spec *svc, struct vipxdp_be_spec *spec,
			   __u16 sport, bool *crossed)
{
	char got[16], first[16];
	struct vipxdp_fc_ctl ctl;
	__u64 t0 = now_ms();
	bool ok = true;

	spec[0].weight = spec[1].weight = 100;
	ok &= ASSERT_OK(vipxdp_dp_set_service(&dp, svc, spec, 2, NULL), "both backends");
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset the cache control");

	/* A SYN wrote the flow's entry in this generation: a SYN of the flow
	 * keeps the cached entry (the next ACK is a hit: it leaves the
	 * conntrack entry deleted behind the data path's back alone). */
	ok &= ASSERT_TRUE(syn_establish(sport, first), "established");
	ok &= ASSERT_TRUE(!strcmp(first, "198.19.0.1"), "the first backend");
	ok &= ASSERT_TRUE(syn_send(sport, PKT_SYN, 0, 0, got), "SYN again");
	ok &= ASSERT_TRUE(syn_ct_delete(sport), "conntrack entry deleted");
	ok &= ASSERT_TRUE(syn_send(sport, PKT_ACK, 2000, 5, got), "ACK");
	ok &= ASSERT_TRUE(!syn_ct_exists(sport), "a SYN kept the flow's cached entry: a hit");
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.syn_forget == 0, "no SYN must forget");
	/* A UDP flow (no SYN writes its entry) cached meanwhile changes
	 * nothing for TCP SYNs. */
	{
		struct pkt_desc u = as_udp(tcp4(CLIENT4, sport, VIP4_SYN, 53, 0));
		__u8 in[2048];
		struct run r;
		int len = pkt_build(&u, in, sizeof(in));

		for (int i = 0; i < 2; i++)
			ok &= ASSERT_TRUE(!run_prog(in, len, if_in, &r) && r.retval == XDP_REDIRECT,
					  "UDP flow");
		fc_ct_delete(&u);
		ok &= ASSERT_TRUE(!run_prog(in, len, if_in, &r) && r.retval == XDP_REDIRECT &&
					  !fc_ct_exists(&u),
				  "UDP flow cached");
		ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.syn_forget == 0,
				  "a UDP flow: still no SYN must forget");
	}

	/* The flow's first backend drained (a new generation): its next
	 * packet takes the whole path and caches the entry again, which no
	 * SYN wrote in this generation. A SYN of the flow now gets the other
	 * backend and must drop the cached entry: the ACK after it goes to
	 * the new backend, not to the drained one. */
	ok &= syn_establish(sport, got);
	spec[0].weight = 0;
	ok &= ASSERT_OK(vipxdp_dp_set_service(&dp, svc, spec, 2, NULL), "drain the first");
	ok &= ASSERT_TRUE(syn_send(sport, PKT_ACK, 2000, 5, got), "ACK (caches)");
	ok &= ASSERT_TRUE(!strcmp(got, "198.19.0.1"), "established: still the drained backend");
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false) && ctl.syn_forget != 0, "SYNs must forget now");
	ok &= ASSERT_TRUE(syn_send(sport, PKT_SYN, 0, 0, got), "SYN of a new connection");
	ok &= ASSERT_TRUE(!strcmp(got, "198.19.0.2"), "SYN: the other backend");
	ok &= ASSERT_TRUE(syn_send(sport, PKT_ACK, 2000, 5, got), "its ACK");
	ok &= ASSERT_TRUE(!strcmp(got, "198.19.0.2"), "ACK: the SYN's backend, not the cached one");
	*crossed = now_ms() - t0 > 200;
	ok &= ASSERT_TRUE(syn_ct_delete(sport), "cleanup");
	return ok;
}

/*
 * The flow cache's set hash on flows that differ in few bits: 4 client
 * addresses x 1,024 consecutive ports, as a load generator's (4,096 flows,
 * half the CPU's 8,192 entries in 2-way sets). Each flow's second packet
 * fills its entry unless both ways of its set hold other good entries, so
 * how many entries the table then holds measures the hash's spread: random
 * keys would get about 89%; a hash that mixed the ports into the bits of
 * the source address (as one did) got 38%.
 */
#define FC_SPREAD_ADDRS 4
#define FC_SPREAD_PORTS 1024
static bool test_flow_cache_spread(void)
{
	static const char *const one[] = { "198.19.0.1" };
	static const char *const src[FC_SPREAD_ADDRS] = { "198.19.77.0", "198.19.77.1",
							  "198.19.77.2", "198.19.77.3" };
	struct vipxdp_fc_table *t = NULL;
	__u32 key = (__u32)sched_getcpu(), vip, s0, held = 0;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int len;

	/* A new service bumps vipxdp_gen: earlier tests' entries are not good
	 * and give their ways up. */
	if (!ASSERT_OK(add_vip(VIP4_FC, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(VIP4_FC, IPPROTO_UDP, 5454, 0, one, 1, 5353), "udp"))
		return false;
	for (int a = 0; a < FC_SPREAD_ADDRS; a++) {
		for (int i = 0; i < FC_SPREAD_PORTS; i++) {
			struct pkt_desc d = as_udp(tcp4(src[a], 1024 + i, VIP4_FC, 5454, 0));

			/* Lookups that all miss would make the CPU skip the
			 * cache (and its fills) after a window. */
			if (i % (VIPXDP_FC_WINDOW / 4) == 0 && !ASSERT_TRUE(fc_ctl(NULL, true), "reset"))
				return false;
			len = pkt_build(&d, in, sizeof(in));
			for (int k = 0; k < 2; k++) {
				if (run_prog(in, len, if_in, &r) || r.retval != XDP_REDIRECT)
					return ASSERT_TRUE(false, "forwarded");
			}
		}
	}
	t = malloc(sizeof(*t));
	if (!ASSERT_TRUE(t && !bpf_map_lookup_elem(bpf_map__fd(skel->maps.vipxdp_fc), &key, t),
			 "this CPU's table")) {
		free(t);
		return false;
	}
	inet_pton(AF_INET, VIP4_FC, &vip);
	inet_pton(AF_INET, src[0], &s0);
	for (int e = 0; e < VIPXDP_FC_ENTRIES; e++) {
		const struct vipxdp_fc *x = &t->e[e];

		if (x->family == VIPXDP_AF_INET && x->proto == IPPROTO_UDP && x->daddr0 == vip &&
		    x->dport == htons(5454) && (ntohl(x->saddr0) & ~3u) == ntohl(s0))
			held++;
	}
	free(t);
	printf("# %u of %d flows have an entry\n", held, FC_SPREAD_ADDRS * FC_SPREAD_PORTS);
	ok &= ASSERT_TRUE(held >= FC_SPREAD_ADDRS * FC_SPREAD_PORTS * 8 / 10,
			  "at least 80% of the flows hold an entry");
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset");
	return ok;
}

/*
 * A client's SYN and the flow cache: a SYN writes its flow's conntrack
 * entry afresh, so the flow's cached entry goes, unless it has what the new
 * conntrack entry will have: a DNAT flow whose entry a SYN wrote in this
 * generation (struct vipxdp_fc_ctl.syn_forget). A DNAT entry cached in
 * this generation that no SYN wrote in it (here: written before a drain)
 * makes SYNs drop their flow's cached entry again.
 */
static bool test_flow_cache_syn(void)
{
	static const char *const set[] = { "198.19.0.1", "198.19.0.2" };
	struct vipxdp_be_spec spec[2] = {};
	struct vipxdp_svc_spec svc = {};
	bool crossed = true, ok = false;
	__u16 sport;
	char got[16];

	if (!ASSERT_OK(add_vip(VIP4_SYN, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(VIP4_SYN, IPPROTO_TCP, 80, 0, set, 2, 8080), "service") ||
	    !ASSERT_OK(add_service(VIP4_SYN, IPPROTO_UDP, 53, 0, set, 2, 5353), "udp service"))
		return false;
	pkt_env_addr(VIP4_SYN, &svc.family, &svc.vip);
	svc.proto = IPPROTO_TCP;
	svc.port = 80;
	svc.table_size = TABLE_SIZE;
	for (int i = 0; i < 2; i++) {
		pkt_env_addr(set[i], &spec[i].family, &spec[i].addr);
		spec[i].port = 8080;
		spec[i].weight = 100;
	}
	for (sport = 43000; sport < 43100; sport++) {
		if (!syn_send(sport, PKT_SYN, 0, 0, got) || !syn_ct_delete(sport))
			return false;
		if (!strcmp(got, set[0]))
			break;
	}
	if (!ASSERT_TRUE(sport < 43100, "a flow to the first backend"))
		return false;
	for (int n = 0; n < 3 && crossed; n++) {
		ok = fc_syn_attempt(&svc, spec, sport, &crossed);
		if (crossed)
			printf("# attempt %d took over 200 ms: again\n", n + 1);
	}
	ok &= ASSERT_TRUE(!crossed, "a run within an entry's life");
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset the cache control");
	return ok;
}

#define VIP4_ODD "198.18.0.109"

/* What one run of the program did: verdict, output and the reason counted. */
struct outcome {
	struct run r;
	int reason;
};

static bool run_outcome(const __u8 *in, int len, struct outcome *o)
{
	struct vipxdp_counter before[VIPXDP_R_MAX];
	int i;

	for (i = 0; i < VIPXDP_R_MAX; i++)
		before[i] = reason_total(i);
	if (run_prog(in, len, if_in, &o->r))
		return false;
	o->reason = -1;
	for (i = 0; i < VIPXDP_R_MAX; i++) {
		if (reason_total(i).packets != before[i].packets)
			o->reason = i;
	}
	return true;
}

/*
 * Frame `in` of flow d, sent while d is in this CPU's flow cache and in
 * conntrack: it gets what it gets with the cache off (the whole path), byte
 * for byte, and a cache hit exactly when hit says so. A hit counts a lookup
 * and no miss in vipxdp_fc_ctl.
 */
static bool odd_check(const char *what, const struct pkt_desc *d, const __u8 *in, int len, bool hit)
{
	struct outcome on, off, base;
	struct vipxdp_fc_ctl ctl;
	__u8 b[2048];
	int blen = pkt_build(d, b, sizeof(b));
	bool ok = true;
	char why[160];

	/* The cache on: the flow's own frame twice (the second fills). */
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	ok &= run_outcome(b, blen, &base) && run_outcome(b, blen, &base);
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset the cache control");
	ok &= run_outcome(in, len, &on);
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false), "read the cache control");
	snprintf(why, sizeof(why), "%s: %s", what, hit ? "a hit" : "not a hit");
	ok &= ASSERT_EQ(ctl.lookups == 1 && ctl.misses == 0, hit, why);
	/* The cache off: the flow's frame (conntrack as before), the frame. */
	ok &= ASSERT_OK(set_flow_cache(false), "cache off");
	ok &= run_outcome(b, blen, &base) && run_outcome(in, len, &off);
	ok &= ASSERT_OK(set_flow_cache(true), "cache on");
	snprintf(why, sizeof(why), "%s: verdict as the whole path's", what);
	ok &= ASSERT_EQ(on.r.retval, off.r.retval, why);
	snprintf(why, sizeof(why), "%s: reason as the whole path's", what);
	ok &= ASSERT_EQ(on.reason, off.reason, why);
	snprintf(why, sizeof(why), "%s: bytes as the whole path's", what);
	ok &= ASSERT_TRUE(
		on.r.out_len == off.r.out_len && !memcmp(on.r.out, off.r.out, on.r.out_len), why);
	return ok;
}

/* odd_check() of the frame variant x of flow d describes. */
static bool odd_desc(const char *what, const struct pkt_desc *d, const struct pkt_desc *x, bool hit)
{
	__u8 in[2048];
	int len = pkt_build(x, in, sizeof(in));

	return ASSERT_GE(len, 0, what) && odd_check(what, d, in, len, hit);
}

/* Put a 16-bit field (host order) at offset off of a frame. */
static void put16(__u8 *f, int off, __u16 v)
{
	f[off] = v >> 8;
	f[off + 1] = v & 0xff;
}

/*
 * The flow cache's fixed-offset way for the common frame (untagged IPv4
 * without options, TCP or UDP) and its general way for every other frame
 * must agree with the whole path on every frame of a cached flow: the odd
 * ones (tags, options, padding) hit the cache, the bad ones (lengths that
 * do not fit, fragments, TTL 1, bad TCP offset) do not, and each gets what
 * the whole path gives it.
 */
static bool test_flow_cache_odd_frames(void)
{
	static const char *const one[] = {"198.19.0.1"};
	static const __u8 opts[4] = {0x01, 0x01, 0x01, 0x00};
	static const char payload[] = "0123456789";
	struct pkt_desc u = as_udp(tcp4(CLIENT4, 45000, VIP4_ODD, 53, 0));
	struct pkt_desc t = tcp4(CLIENT4, 45001, VIP4_ODD, 80, PKT_SYN);
	struct pkt_desc x;
	struct fc_frame tf;
	__u8 in[2048], bmac[6];
	const int ip = ETH_HLEN, l4 = ETH_HLEN + 20;
	bool ok = true;
	int len;

	if (!ASSERT_OK(add_vip(VIP4_ODD, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_service(VIP4_ODD, IPPROTO_UDP, 53, 0, one, 1, 5353), "udp") ||
	    !ASSERT_OK(add_service(VIP4_ODD, IPPROTO_TCP, 80, 0, one, 1, 8088), "tcp"))
		return false;
	u.payload = payload;
	u.payload_len = 10;

	ok &= odd_desc("udp: the common frame", &u, &u, true);
	x = u;
	x.ip_options = opts;
	x.ip_options_len = sizeof(opts);
	ok &= odd_desc("udp: IPv4 options", &u, &x, true);
	x = u;
	x.l2.nvlan = 1;
	x.l2.vlan_tci[0] = 100;
	ok &= odd_desc("udp: 802.1Q tag", &u, &x, true);
	x = u;
	x.pad_to = 96;
	ok &= odd_desc("udp: frame longer than the IP packet", &u, &x, true);
	x = u;
	x.ttl = 2;
	ok &= odd_desc("udp: TTL 2", &u, &x, true);
	x = u;
	x.ttl = 1;
	ok &= odd_desc("udp: TTL 1", &u, &x, false);
	x = u;
	x.frag_off = PKT_IP_MF;
	ok &= odd_desc("udp: first fragment", &u, &x, false);

	len = pkt_build(&u, in, sizeof(in));
	put16(in, l4 + 4, 8 + 10 + 1);
	ok &= odd_check("udp: length beyond the IP payload", &u, in, len, false);
	len = pkt_build(&u, in, sizeof(in));
	put16(in, l4 + 4, 7);
	ok &= odd_check("udp: length 7", &u, in, len, false);
	len = pkt_build(&u, in, sizeof(in));
	put16(in, ip + 2, 20 + 8 + 10 + 1);
	ok &= odd_check("udp: IP total length beyond the frame", &u, in, len, false);
	len = pkt_build(&u, in, sizeof(in));
	put16(in, ip + 2, 20 + 7);
	ok &= odd_check("udp: IP total length without room for UDP", &u, in, len, false);

	/* TCP: established (the ACK fills), then its data frame and others. */
	pkt_mac(be_mac[0], bmac);
	ok &= fc_tcp_establish(&t, bmac, &tf);
	ok &= odd_check("tcp: the common frame", &t, tf.in, tf.len, true);
	memcpy(in, tf.in, tf.len);
	in[l4 + 12] = 4 << 4;
	ok &= odd_check("tcp: data offset 4", &t, in, tf.len, false);
	memcpy(in, tf.in, tf.len);
	in[l4 + 12] = 15 << 4;
	ok &= odd_check("tcp: data offset beyond the IP payload", &t, in, tf.len, false);
	memcpy(in, tf.in, tf.len);
	put16(in, ip + 2, 20 + 19);
	ok &= odd_check("tcp: IP total length without room for TCP", &t, in, tf.len, false);
	ok &= odd_check("tcp: frame cut inside the TCP header", &t, tf.in, l4 + 16, false);
	/* Last: after a FIN the flow is no longer established. */
	x = t;
	x.tcp_flags = PKT_ACK | PKT_FIN;
	ok &= odd_desc("tcp: FIN", &t, &x, false);
	return ok;
}

#define VIP4_FULLNAT "198.18.0.107"
#define SNAT4 "198.19.0.254"

static int add_fullnat_service(void)
{
	static const char *const be[] = { "198.19.0.1" };
	struct vipxdp_be_spec spec = {};
	struct vipxdp_svc_spec svc = {};
	__u8 fam;

	pkt_env_addr(VIP4_FULLNAT, &svc.family, &svc.vip);
	svc.proto = IPPROTO_TCP;
	svc.port = 80;
	svc.table_size = 7;
	svc.mode = VIPXDP_MODE_FULLNAT;
	pkt_env_addr(SNAT4, &fam, &svc.snat);
	pkt_env_addr(be[0], &spec.family, &spec.addr);
	spec.port = 8080;
	spec.weight = 1;
	return vipxdp_dp_set_service(&dp, &svc, &spec, 1, NULL);
}

/* The source port the data path allocates: the n-th candidate. */
static __u16 fullnat_candidate(const char *client, __u16 cport, int n)
{
	struct vipxdp_flow f = {};
	__u32 span = VIPXDP_NAT_PORT_MAX - VIPXDP_NAT_PORT_MIN + 1;

	pkt_env_addr(client, &f.family, &f.saddr);
	pkt_env_addr(VIP4_FULLNAT, &f.family, &f.daddr);
	f.sport = htons(cport);
	f.dport = htons(80);
	f.proto = IPPROTO_TCP;
	return VIPXDP_NAT_PORT_MIN + (vipxdp_hash_5tuple(&f, 0x6e617470) + n * 7919u) % span;
}

/*
 * Full NAT: the client's SYN reaches the backend from the SNAT address and an
 * allocated port (exact bytes); the backend's reply to that address and port
 * reaches the client from VIP:80 (exact bytes). A retransmitted SYN keeps
 * its port.
 */
static bool test_fullnat(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 49100, VIP4_FULLNAT, 80, PKT_SYN), rep, w;
	__u8 in[2048], want[2048], bmac[6];
	struct vipxdp_ct ctf, ctr;
	struct vipxdp_flow kf, kr;
	struct run r;
	__u16 port = fullnat_candidate(CLIENT4, 49100, 0);
	bool ok = true;
	int len, wlen;

	if (!ASSERT_OK(add_vip(VIP4_FULLNAT, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_fullnat_service(), "fullnat service"))
		return false;
	pkt_mac(be_mac[0], bmac);
	len = pkt_build(&d, in, sizeof(in));
	w = d;
	snprintf(w.saddr, sizeof(w.saddr), SNAT4);
	w.sport = port;
	wlen = expected_fwd(w, true, "198.19.0.1", 8080, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	/* The first packet writes the flow's entry with its next hop (the
	 * route watch is off: the token is the epoch). */
	ok &= ASSERT_TRUE(fc_ct_get(&d, &ctf), "forward entry");
	ok &= ASSERT_EQ(ctf.nh[0].ifindex, (__u32)if_be, "next hop: the backend interface");
	ok &= ASSERT_TRUE(!memcmp(ctf.nh[0].dmac, bmac, 6) && !memcmp(ctf.nh[0].smac, mac_be, 6),
			  "next hop: the backend's MAC, from the interface's");
	ok &= ASSERT_EQ(ctf.nh[0].epoch, ctf.last_seen, "next hop: the epoch's token");
	/* retransmission: same port */
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	rep = tcp4("198.19.0.1", 8080, SNAT4, port, PKT_SYN | PKT_ACK);
	from_backend(&rep, bmac);
	len = pkt_build(&rep, in, sizeof(in));
	w = rep;
	snprintf(w.saddr, sizeof(w.saddr), VIP4_FULLNAT);
	w.sport = 80;
	wlen = expected_fwd(w, true, CLIENT4, 49100, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	/* Established, both directions: the first ACK makes the entry
	 * established and fills the flow cache, the next are answered from it
	 * (the conntrack entries deleted first): the same bytes. */
	d.tcp_flags = PKT_ACK;
	d.ack = 2000;
	d.payload_len = 5;
	rep.tcp_flags = PKT_ACK;
	rep.ack = 2000;
	rep.payload_len = 5;
	for (int i = 0; i < 3; i++) {
		if (i == 2) {
			if (!ASSERT_TRUE(fc_ct_get(&d, &ctf) && fc_ct_get(&rep, &ctr), "entries"))
				return false;
			fc_ct_delete(&d);
			fc_ct_delete(&rep);
		}
		len = pkt_build(&d, in, sizeof(in));
		w = d;
		snprintf(w.saddr, sizeof(w.saddr), SNAT4);
		w.sport = port;
		wlen = expected_fwd(w, true, "198.19.0.1", 8080, mac_be, bmac, want);
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
		len = pkt_build(&rep, in, sizeof(in));
		w = rep;
		snprintf(w.saddr, sizeof(w.saddr), VIP4_FULLNAT);
		w.sport = 80;
		wlen = expected_fwd(w, true, CLIENT4, 49100, mac_in, mac_client, want);
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	}
	ok &= ASSERT_TRUE(!fc_ct_exists(&d) && !fc_ct_exists(&rep),
			  "full NAT: both directions answered from the flow cache");
	/* The entries back, for the tests that follow. */
	fc_flow(&d, &kf);
	fc_flow(&rep, &kr);
	ok &= ASSERT_OK(vipxdp_ct_put(&dp, &kf, &ctf, BPF_ANY) ||
				vipxdp_ct_put(&dp, &kr, &ctr, BPF_ANY),
			"entries restored");
	return ok;
}

/* Claim NAT port `port` for an owner flow (client owner_port) whose
 * conntrack entry is fresh (or, with stale, long expired). */
static bool hold_port(__u16 port, __u16 owner_port, bool stale, __u32 now)
{
	struct vipxdp_nat_owner own = {};
	struct vipxdp_flow rk = {};
	struct vipxdp_ct ct = { .state = VIPXDP_CT_EST, .last_seen = now };
	__u8 fam;

	pkt_env_addr("198.19.0.1", &rk.family, &rk.saddr);
	pkt_env_addr(SNAT4, &fam, &rk.daddr);
	rk.sport = htons(8080);
	rk.dport = htons(port);
	rk.proto = IPPROTO_TCP;
	pkt_env_addr("198.18.0.77", &own.owner.family, &own.owner.saddr);
	pkt_env_addr(VIP4_FULLNAT, &fam, &own.owner.daddr);
	own.owner.sport = htons(owner_port);
	own.owner.dport = htons(80);
	own.owner.proto = IPPROTO_TCP;
	if (stale)
		ct.last_seen = now - 100000;
	return !bpf_map_update_elem(dp.nat_fd, &rk, &own, BPF_ANY) &&
	       !vipxdp_ct_put(&dp, &own.owner, &ct, BPF_ANY);
}

/*
 * Port exhaustion: when every candidate port of a new flow is held by a live
 * flow, the packet is dropped and counted (drop_nat_ports), never
 * mis-translated; when the holder of a candidate has expired, its port is
 * taken over.
 */
static bool test_fullnat_exhaustion(void)
{
	struct vipxdp_cfg cfg0, cfg;
	struct pkt_desc d = tcp4(CLIENT4, 49200, VIP4_FULLNAT, 80, PKT_SYN), w;
	__u8 in[2048], want[2048], bmac[6];
	struct vipxdp_ct probe;
	struct run r;
	bool ok = true;
	__u32 now;
	int len, wlen, i;

	if (!ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	cfg = cfg0;
	for (i = 0; i < VIPXDP_CT_NSTATES; i++)
		cfg.ct_timeout[i] = 100;
	vipxdp_dp_set_cfg(&dp, &cfg);
	/* The data path's notion of now: the entry test_fullnat made. */
	if (!ASSERT_TRUE(ct_get(CLIENT4, 49100, VIP4_FULLNAT, 80, &probe), "reference entry"))
		goto out;
	now = probe.last_seen;
	for (i = 0; i < VIPXDP_NAT_TRIES; i++)
		ok &= ASSERT_TRUE(hold_port(fullnat_candidate(CLIENT4, 49200, i), 1000 + i, false, now),
				  "hold");
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_nat_ports, NULL, 0, &r);

	/* The holder of the 4th candidate expires: its port is reused. */
	ok &= ASSERT_TRUE(hold_port(fullnat_candidate(CLIENT4, 49200, 3), 1003, true, now), "stale");
	pkt_mac(be_mac[0], bmac);
	w = d;
	snprintf(w.saddr, sizeof(w.saddr), SNAT4);
	w.sport = fullnat_candidate(CLIENT4, 49200, 3);
	wlen = expected_fwd(w, true, "198.19.0.1", 8080, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
out:
	vipxdp_dp_set_cfg(&dp, &cfg0);
	return ok;
}


#define EIP4 "198.18.0.110"
#define EIP4_PRIV "198.19.0.3"
#define EIP6 "2001:db8:100::10"
#define EIP6_PRIV "2001:db8:2::3"

/*
 * Elastic IP: stateless 1:1 in both directions, every protocol: TCP to the
 * elastic IP reaches the private address (ports kept), UDP from the private
 * address leaves with the elastic IP as source, ICMP echo in (IPv4: only the
 * header checksum changes) and ICMPv6 echo in (checksum over the
 * pseudo-header updated); exact bytes, checksums verified independently.
 */
static bool test_elastic_ip(void)
{
	static const __u8 echo[8] = { 0x12, 0x34, 0x00, 0x01, 'p', 'i', 'n', 'g' };
	struct vipxdp_addr v, pv;
	__u8 in[2048], want[2048], bmac[6], fam;
	struct pkt_desc d, w;
	struct run r;
	bool ok = true;
	int len, wlen;

	pkt_env_addr(EIP4, &fam, &v);
	pkt_env_addr(EIP4_PRIV, &fam, &pv);
	if (!ASSERT_OK(vipxdp_dp_set_eip(&dp, fam, &v, &pv), "eip4"))
		return false;
	pkt_env_addr(EIP6, &fam, &v);
	pkt_env_addr(EIP6_PRIV, &fam, &pv);
	if (!ASSERT_OK(vipxdp_dp_set_eip(&dp, fam, &v, &pv), "eip6"))
		return false;
	pkt_mac(be_mac[2], bmac);

	d = tcp4(CLIENT4, 50000, EIP4, 22, PKT_SYN);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, true, EIP4_PRIV, 22, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	d = as_udp(tcp4(EIP4_PRIV, 5000, CLIENT4, 53, 0));
	memcpy(d.l2.dmac, mac_be, 6);
	memcpy(d.l2.smac, bmac, 6);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, false, EIP4, 5000, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	d = tcp4(CLIENT4, 0, EIP4, 0, 0);
	d.proto = IPPROTO_ICMP;
	d.icmp_type = 8;
	d.payload = echo;
	d.payload_len = sizeof(echo);
	len = pkt_build(&d, in, sizeof(in));
	w = d;
	snprintf(w.daddr, sizeof(w.daddr), EIP4_PRIV);
	w.ttl--;
	memcpy(w.l2.smac, mac_be, 6);
	memcpy(w.l2.dmac, bmac, 6);
	wlen = pkt_build(&w, want, sizeof(want));
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	d = tcp6(CLIENT6, 0, EIP6, 0, 0);
	d.proto = IPPROTO_ICMPV6;
	d.icmp_type = 128;
	d.payload = echo;
	d.payload_len = sizeof(echo);
	len = pkt_build(&d, in, sizeof(in));
	w = d;
	snprintf(w.daddr, sizeof(w.daddr), EIP6_PRIV);
	w.ttl--;
	memcpy(w.l2.smac, mac_be, 6);
	memcpy(w.l2.dmac, bmac, 6);
	wlen = pkt_build(&w, want, sizeof(want));
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	/* Removed: traffic to it is no longer ours. */
	pkt_env_addr(EIP4, &fam, &v);
	ok &= ASSERT_OK(vipxdp_dp_del_eip(&dp, fam, &v), "del eip");
	d = tcp4(CLIENT4, 50001, EIP4, 22, PKT_SYN);
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	return ok;
}


/* ---- per-VIP rate limits and top talkers ------------------------------- */

#define VIP4_QOS "198.18.0.120"
#define VIP4_QOS_BPS "198.18.0.121"
#define VIP4_TALK "198.18.0.122"

static struct vipxdp_qos_stats qos_total(const char *vip)
{
	struct vipxdp_qos_stats st = {};
	struct vipxdp_qos_spec q;
	struct vipxdp_addr a;
	__u32 idx = 0;
	__u8 fam;

	pkt_env_addr(vip, &fam, &a);
	if (!vipxdp_dp_get_vip_qos(&dp, fam, &a, &q, &idx))
		vipxdp_dp_qos_stats(&dp, idx, &st);
	return st;
}

static int set_qos(const char *vip, __u64 pps, __u64 bps, __u32 burst_ms)
{
	struct vipxdp_qos_spec q = { .pps = pps, .bps = bps, .burst_ms = burst_ms };
	struct vipxdp_addr a;
	__u8 fam;

	pkt_env_addr(vip, &fam, &a);
	return vipxdp_dp_set_vip_qos(&dp, fam, &a, pps || bps ? &q : NULL);
}

/* A VIP with one UDP service (port 53) to be4[0]:5353. */
static int add_udp_vip(const char *vip)
{
	static const char *const one[] = { "198.19.0.1" };
	int err = add_vip(vip, VIPXDP_VIP_F_ARP);

	return err ?: add_service(vip, IPPROTO_UDP, 53, 0, one, 1, 5353);
}

/* Send d: it must be forwarded to be4[0]:5353 (pass) or dropped by QoS. */
static bool qos_send(struct pkt_desc d, bool pass)
{
	__u8 in[2048], want[2048], bmac[6];
	struct run r;
	int len, wlen;

	pkt_mac(be_mac[0], bmac);
	len = pkt_build(&d, in, sizeof(in));
	if (!pass)
		return expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_qos, NULL, 0, &r);
	wlen = expected_fwd(d, true, be4[0], 5353, mac_be, bmac, want);
	return expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
}

/*
 * pps 1 with a burst of 5 s: 5 packets pass at once, the next ones are
 * dropped (refill is one packet a second; the test sends within
 * milliseconds). The new flow and its established packets (conntrack path)
 * share the bucket; a second flow is limited too; replies are not; the
 * per-VIP counters and drop_qos count exactly. Removing the limit lets the
 * established flow through again.
 */
static bool test_qos_pps(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 42000, VIP4_QOS, 53, 0));
	struct vipxdp_qos_stats st;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int i, len;

	if (!ASSERT_OK(add_udp_vip(VIP4_QOS), "vip") ||
	    !ASSERT_OK(set_qos(VIP4_QOS, 1, 0, 5000), "qos"))
		return false;
	for (i = 0; i < 5; i++)
		ok &= qos_send(d, true);
	for (i = 0; i < 3; i++)
		ok &= qos_send(d, false);
	d.sport = 42001; /* a new flow of the same VIP */
	ok &= qos_send(d, false);
	st = qos_total(VIP4_QOS);
	ok &= ASSERT_EQ(st.packets, 5, "qos passed packets");
	ok &= ASSERT_EQ(st.drop_packets, 4, "qos dropped packets");
	len = pkt_build(&d, in, sizeof(in));
	ok &= ASSERT_EQ(st.drop_bytes, 4 * len, "qos dropped bytes");

	/* The backend's reply is not limited. */
	d = as_udp(tcp4(be4[0], 5353, CLIENT4, 42000, 0));
	memcpy(d.l2.dmac, mac_be, 6);
	pkt_mac(be_mac[0], d.l2.smac);
	len = pkt_build(&d, in, sizeof(in));
	ok &= ASSERT_OK(run_prog(in, len, if_be, &r), "reply");
	ok &= ASSERT_EQ(r.retval, XDP_REDIRECT, "reply verdict");

	/* No limit: the established flow passes again, nothing is counted. */
	ok &= ASSERT_OK(set_qos(VIP4_QOS, 0, 0, 0), "qos off");
	d = as_udp(tcp4(CLIENT4, 42000, VIP4_QOS, 53, 0));
	ok &= qos_send(d, true);
	return ok;
}

/*
 * bps 8000 (1000 bytes/s) with the minimum burst of 9216 bytes: nine
 * 1000-byte frames pass, the tenth and later are dropped.
 */
static bool test_qos_bps(void)
{
	static char payload[958];
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 43000, VIP4_QOS_BPS, 53, 0));
	struct vipxdp_qos_stats st;
	bool ok = true;
	int i;

	memset(payload, 'x', sizeof(payload));
	d.payload = payload;
	d.payload_len = sizeof(payload); /* 14 + 20 + 8 + 958 = 1000 bytes */
	if (!ASSERT_OK(add_udp_vip(VIP4_QOS_BPS), "vip") ||
	    !ASSERT_OK(set_qos(VIP4_QOS_BPS, 0, 8000, 1000), "qos"))
		return false;
	for (i = 0; i < 9; i++)
		ok &= qos_send(d, true);
	for (i = 0; i < 3; i++)
		ok &= qos_send(d, false);
	st = qos_total(VIP4_QOS_BPS);
	ok &= ASSERT_EQ(st.packets, 9, "qos passed packets");
	ok &= ASSERT_EQ(st.bytes, 9000, "qos passed bytes");
	ok &= ASSERT_EQ(st.drop_packets, 3, "qos dropped packets");
	ok &= ASSERT_EQ(st.drop_bytes, 3000, "qos dropped bytes");
	return ok;
}

#define VIP4_QOS_FRAC "198.18.0.124"

/*
 * A cost that is no whole number of ns (pps 3: 333333333.3 ns), charged
 * rounded up or down at random: a burst of 6 (2 s) still passes whole, the
 * 7th and 8th packets are dropped.
 */
static bool test_qos_fraction(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 46000, VIP4_QOS_FRAC, 53, 0));
	bool ok = true;
	int i;

	if (!ASSERT_OK(add_udp_vip(VIP4_QOS_FRAC), "vip") ||
	    !ASSERT_OK(set_qos(VIP4_QOS_FRAC, 3, 0, 2000), "qos"))
		return false;
	for (i = 0; i < 6; i++)
		ok &= qos_send(d, true);
	for (i = 0; i < 2; i++)
		ok &= qos_send(d, false);
	ok &= ASSERT_EQ(qos_total(VIP4_QOS_FRAC).drop_packets, 2, "dropped");
	return ok;
}

#define VIP4_QOS_CPUS "198.18.0.123"
#define QOS_CPU_PKTS 2000

struct qos_thread {
	int cpu;
	const __u8 *in;
	int len;
	int pass, drop, other;
};

static void *qos_thread_fn(void *arg)
{
	struct qos_thread *t = arg;
	cpu_set_t set;
	struct run r;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (int i = 0; i < QOS_CPU_PKTS; i++) {
		if (run_prog(t->in, t->len, if_in, &r))
			t->other++;
		else if (r.retval == XDP_DROP)
			t->drop++;
		else if (r.retval == XDP_REDIRECT)
			t->pass++;
		else
			t->other++;
	}
	return NULL;
}

/*
 * One limit for all CPUs: two threads pinned to CPUs 0 and 1 send 2000
 * packets each, at the same time, to a VIP with pps 1 and a burst of 10 s
 * (10 packets): exactly 10 pass in all, not 10 per CPU, and the per-CPU
 * drop counters show that both CPUs ran the program.
 */
static bool test_qos_cpus(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 45000, VIP4_QOS_CPUS, 53, 0));
	int ncpu = libbpf_num_possible_cpus(), ran = 0;
	struct qos_thread th[2] = {};
	struct vipxdp_qos_stats *per, st;
	struct vipxdp_qos_spec q;
	struct vipxdp_addr a;
	pthread_t tid[2];
	__u8 in[2048];
	__u32 idx = 0;
	bool ok = true;
	__u8 fam;
	int len, i;

	if (!ASSERT_OK(add_udp_vip(VIP4_QOS_CPUS), "vip") ||
	    !ASSERT_OK(set_qos(VIP4_QOS_CPUS, 1, 0, 10000), "qos"))
		return false;
	len = pkt_build(&d, in, sizeof(in));
	for (i = 0; i < 2; i++) {
		th[i].cpu = i % (int)sysconf(_SC_NPROCESSORS_ONLN);
		th[i].in = in;
		th[i].len = len;
		if (!ASSERT_OK(pthread_create(&tid[i], NULL, qos_thread_fn, &th[i]), "thread"))
			return false;
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	printf("# cpu %d: %d passed %d dropped; cpu %d: %d passed %d dropped\n", th[0].cpu, th[0].pass,
	       th[0].drop, th[1].cpu, th[1].pass, th[1].drop);
	ok &= ASSERT_EQ(th[0].other + th[1].other, 0, "other verdicts");
	ok &= ASSERT_EQ(th[0].pass + th[1].pass, 10, "passed in all");
	ok &= ASSERT_EQ(th[0].drop + th[1].drop, 2 * QOS_CPU_PKTS - 10, "dropped in all");
	st = qos_total(VIP4_QOS_CPUS);
	ok &= ASSERT_EQ(st.packets, 10, "qos passed packets");
	ok &= ASSERT_EQ(st.drop_packets, 2 * QOS_CPU_PKTS - 10, "qos dropped packets");
	pkt_env_addr(VIP4_QOS_CPUS, &fam, &a);
	per = calloc(ncpu, sizeof(*per));
	if (per && !vipxdp_dp_get_vip_qos(&dp, fam, &a, &q, &idx) &&
	    !bpf_map_lookup_elem(dp.qos_st_fd, &idx, per))
		for (i = 0; i < ncpu; i++)
			ran += per[i].packets + per[i].drop_packets > 0;
	free(per);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		ok &= ASSERT_EQ(ran, 2, "CPUs that counted packets");
	return ok;
}

/* Packets of (VIP, source) in the top-talker map, summed over CPUs. */
static struct vipxdp_talker talker_total(const char *vip, const char *src)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vipxdp_talker_key k = {};
	struct vipxdp_talker t = {}, *per;

	pkt_env_addr(vip, &k.family, &k.vip);
	pkt_env_addr(src, &k.family, &k.src);
	per = calloc(ncpu, sizeof(*per));
	if (per && !bpf_map_lookup_elem(dp.talkers_fd, &k, per)) {
		for (int i = 0; i < ncpu; i++) {
			t.packets += per[i].packets;
			t.bytes += per[i].bytes;
		}
	}
	free(per);
	return t;
}

static int set_talkers(__u32 n)
{
	struct vipxdp_cfg cfg;
	int err = vipxdp_dp_get_cfg(&dp, &cfg);

	cfg.talkers_sample = n;
	return err ?: vipxdp_dp_set_cfg(&dp, &cfg);
}

/*
 * talkers_sample 1: every packet to the VIP is counted under its source,
 * new flows and established ones, exactly; replies are not; with 0 nothing
 * is counted.
 */
/*
 * One packet in 8 sampled: 4,000 packets of one flow (nearly all flow
 * cache hits, which count down between samples) are estimated at 8 per
 * sample, within 20% (8 standard deviations of this sampler); then sample
 * 1 counts the next packets exactly, at once.
 */
static bool talkers_sampled(void)
{
	static const char *const src = "198.18.0.34";
	struct pkt_desc d = as_udp(tcp4(src, 44001, VIP4_TALK, 53, 0));
	struct vipxdp_talker t0, t;
	struct vipxdp_fc_ctl ctl;
	__u8 in[2048];
	bool ok = true;
	int i, len = pkt_build(&d, in, sizeof(in));

	ok &= ASSERT_OK(set_talkers(8), "sample 8");
	/* Earlier tests' many one-packet flows may have made this CPU skip. */
	ok &= ASSERT_TRUE(fc_ctl(NULL, true), "reset the cache control");
	for (i = 0; i < 4000 && ok; i++)
		ok &= qos_send(d, true);
	ok &= ASSERT_TRUE(fc_ctl(&ctl, false), "read the cache control");
	ok &= ASSERT_TRUE(ctl.lookups - ctl.misses >= 3990, "the packets hit the cache");
	t = talker_total(VIP4_TALK, src);
	ok &= ASSERT_TRUE(t.packets >= 3200 && t.packets <= 4800, "4,000 packets, sampled 1 in 8");
	ok &= ASSERT_EQ(t.packets % 8, 0, "each sample counts 8 packets");
	ok &= ASSERT_EQ(t.bytes, t.packets * len, "and their bytes");
	printf("# 4000 packets sampled 1 in 8: estimated %llu\n", (unsigned long long)t.packets);
	ok &= ASSERT_OK(set_talkers(1), "sample 1");
	t0 = talker_total(VIP4_TALK, src);
	for (i = 0; i < 5; i++)
		ok &= qos_send(d, true);
	t = talker_total(VIP4_TALK, src);
	ok &= ASSERT_EQ(t.packets - t0.packets, 5, "sample 1 again: every packet, at once");
	return ok;
}

static bool test_talkers(void)
{
	static const char *const src[] = { "198.18.0.31", "198.18.0.32", "198.18.0.33" };
	static const int n[] = { 3, 2, 5 };
	struct vipxdp_talker t;
	struct pkt_desc d;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int i, k, len = 0;

	if (!ASSERT_OK(add_udp_vip(VIP4_TALK), "vip") || !ASSERT_OK(set_talkers(1), "sample"))
		return false;
	for (i = 0; i < 3; i++) {
		d = as_udp(tcp4(src[i], 44000, VIP4_TALK, 53, 0));
		for (k = 0; k < n[i]; k++)
			ok &= qos_send(d, true);
	}
	len = pkt_build(&d, in, sizeof(in));
	/* A reply to the first source: not a packet to the VIP. */
	d = as_udp(tcp4(be4[0], 5353, src[0], 44000, 0));
	memcpy(d.l2.dmac, mac_be, 6);
	pkt_mac(be_mac[0], d.l2.smac);
	ok &= ASSERT_OK(run_prog(in, pkt_build(&d, in, sizeof(in)), if_be, &r), "reply");
	for (i = 0; i < 3; i++) {
		t = talker_total(VIP4_TALK, src[i]);
		ok &= ASSERT_EQ(t.packets, n[i], src[i]);
		ok &= ASSERT_EQ(t.bytes, (__u64)n[i] * len, src[i]);
	}
	ok &= ASSERT_OK(set_talkers(0), "sample off");
	d = as_udp(tcp4(src[0], 44000, VIP4_TALK, 53, 0));
	ok &= qos_send(d, true);
	t = talker_total(VIP4_TALK, src[0]);
	ok &= ASSERT_EQ(t.packets, n[0], "not counted with sampling off");
	ok &= talkers_sampled();
	return ok;
}

/* The port (ICMP: identifier) source NAT allocates first for a flow. */
static __u16 snat_candidate(const struct pkt_desc *d, __u16 sport, __u16 dport)
{
	struct vipxdp_flow f = {};
	__u32 span = VIPXDP_NAT_PORT_MAX - VIPXDP_NAT_PORT_MIN + 1;

	pkt_env_addr(d->saddr, &f.family, &f.saddr);
	pkt_env_addr(d->daddr, &f.family, &f.daddr);
	f.sport = htons(sport);
	f.dport = htons(dport);
	f.proto = d->proto;
	return VIPXDP_NAT_PORT_MIN + vipxdp_hash_5tuple(&f, 0x736e6174) % span;
}

/*
 * Source NAT through a VIP: outbound TCP from a private host in the rule's
 * prefix leaves as VIP:allocated port and the reply comes back to the host;
 * ICMP echo is translated by identifier, both ways (ICMP checksum updated
 * without the addresses); a host with an elastic IP leaves with its elastic
 * IP instead (the more specific rule wins).
 */
static bool test_snat(void)
{
	static const __u8 echo[8] = { 0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g' };
	struct vipxdp_snat_rule rule = { .prefix_len = 24 };
	__u8 in[2048], want[2048], bmac[6], fam;
	struct vipxdp_addr v, pv;
	struct pkt_desc d, w, rep;
	struct run r;
	bool ok = true;
	__u16 aport, aid;
	int len, wlen;

	pkt_env_addr("198.19.0.0", &rule.family, &rule.src);
	pkt_env_addr(VIP4, &fam, &rule.vip);
	if (!ASSERT_OK(vipxdp_dp_set_snat(&dp, &rule, 1), "snat rule"))
		return false;
	pkt_mac(be_mac[1], bmac);

	d = tcp4("198.19.0.2", 33000, CLIENT4, 443, PKT_SYN);
	memcpy(d.l2.dmac, mac_be, 6);
	memcpy(d.l2.smac, bmac, 6);
	aport = snat_candidate(&d, 33000, 443);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, false, VIP4, aport, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	rep = tcp4(CLIENT4, 443, VIP4, aport, PKT_SYN | PKT_ACK);
	len = pkt_build(&rep, in, sizeof(in));
	wlen = expected_fwd(rep, true, "198.19.0.2", 33000, mac_be, bmac, want);
	ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

	/* ICMP echo request and reply. */
	d = tcp4("198.19.0.2", 0, CLIENT4, 0, 0);
	memcpy(d.l2.dmac, mac_be, 6);
	memcpy(d.l2.smac, bmac, 6);
	d.proto = IPPROTO_ICMP;
	d.icmp_type = 8;
	d.payload = echo;
	d.payload_len = sizeof(echo);
	aid = snat_candidate(&d, 0x1234, 0);
	len = pkt_build(&d, in, sizeof(in));
	{
		__u8 e2[8];

		memcpy(e2, echo, 8);
		e2[0] = aid >> 8;
		e2[1] = aid & 0xff;
		w = d;
		w.payload = e2;
		snprintf(w.saddr, sizeof(w.saddr), VIP4);
		w.ttl--;
		memcpy(w.l2.smac, mac_in, 6);
		memcpy(w.l2.dmac, mac_client, 6);
		wlen = pkt_build(&w, want, sizeof(want));
		ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);

		rep = tcp4(CLIENT4, 0, VIP4, 0, 0);
		rep.proto = IPPROTO_ICMP;
		rep.icmp_type = 0;
		rep.payload = e2;
		rep.payload_len = sizeof(e2);
		len = pkt_build(&rep, in, sizeof(in));
		w = rep;
		w.payload = echo;
		snprintf(w.daddr, sizeof(w.daddr), "198.19.0.2");
		w.ttl--;
		memcpy(w.l2.smac, mac_be, 6);
		memcpy(w.l2.dmac, bmac, 6);
		wlen = pkt_build(&w, want, sizeof(want));
		ok &= expect(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	}

	/* An elastic IP beats the source NAT rule. */
	pkt_env_addr("198.18.0.111", &fam, &v);
	pkt_env_addr("198.19.0.4", &fam, &pv);
	ok &= ASSERT_OK(vipxdp_dp_set_eip(&dp, fam, &v, &pv), "eip");
	pkt_mac(be_mac[3], bmac);
	d = tcp4("198.19.0.4", 33001, CLIENT4, 443, PKT_SYN);
	memcpy(d.l2.dmac, mac_be, 6);
	memcpy(d.l2.smac, bmac, 6);
	len = pkt_build(&d, in, sizeof(in));
	wlen = expected_fwd(d, false, "198.18.0.111", 33001, mac_in, mac_client, want);
	ok &= expect(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen, &r);
	ok &= ASSERT_OK(vipxdp_dp_del_eip(&dp, fam, &v), "del eip");
	ok &= ASSERT_OK(vipxdp_dp_set_snat(&dp, NULL, 0), "clear snat");
	return ok;
}

/* ---- ICMP errors about translated flows -------------------------------- */

#define ROUTER4_BE "198.19.0.200" /* a router on the backend side */
#define ROUTER4_CL "198.18.0.254" /* a router on the client side */
#define ROUTER6_BE "2001:db8:2::99"
#define ROUTER6_CL "2001:db8:1::fe"
#define MTU_1400 1400u /* next-hop MTU: the low 16 bits of the 4 bytes after the checksum */
#define MTU_1280 1280u /* ICMPv6 packet too big: all 4 bytes */

/* The L2 header of a frame from some router, to interface MAC dmac. */
static struct pkt_l2 from_router(const __u8 *dmac)
{
	struct pkt_l2 l2 = {};

	memcpy(l2.dmac, dmac, 6);
	memcpy(l2.smac, mac_peer, 6);
	return l2;
}

/*
 * An ICMP (IPv4) or ICMPv6 (IPv6) error from `from` to `to` with TTL / hop
 * limit ttl: type and code, the 4 bytes after the checksum (`rest`: unused,
 * next-hop MTU or MTU), then the first `quote` bytes (-1: all) of the IP
 * packet `inner`, built from scratch like every frame here. Returns the
 * frame length.
 */
static int icmp_error_frame(const struct pkt_l2 *l2, const char *from, const char *to, __u8 ttl,
			    __u8 type, __u8 code, __u32 rest, const struct pkt_desc *inner,
			    int quote, __u8 *buf)
{
	__u8 ip[2048], body[2048];
	struct pkt_desc d = {};
	int n = pkt_build_ip(inner, ip, sizeof(ip));

	if (n < 0)
		return -1;
	if (quote >= 0 && quote < n)
		n = quote;
	body[0] = rest >> 24;
	body[1] = (rest >> 16) & 0xff;
	body[2] = (rest >> 8) & 0xff;
	body[3] = rest & 0xff;
	memcpy(body + 4, ip, n);
	d.l2 = *l2;
	d.family = inner->family;
	snprintf(d.saddr, sizeof(d.saddr), "%s", from);
	snprintf(d.daddr, sizeof(d.daddr), "%s", to);
	d.proto = inner->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	d.ttl = ttl;
	d.ip_id = inner->family == AF_INET ? 0x4242 : 0;
	d.icmp_type = type;
	d.icmp_code = code;
	d.payload = body;
	d.payload_len = 4 + n;
	return pkt_build(&d, buf, 2048);
}

/*
 * Independent check of the packet an ICMP error quotes, which
 * pkt_verify_checksums() does not look into (it checks the ICMP checksum
 * over it): the quoted IPv4 header checksum, summed here; and when the quote
 * is the whole packet, all its checksums through pkt_verify_checksums() on a
 * frame made of it. (A cut quote's L4 checksum covers bytes not there: the
 * byte comparison with a frame built from scratch checks it.)
 */
static bool quote_checksums_ok(const __u8 *frame, int len)
{
	__u8 eth[2048] = { 0 };
	char why[256] = "no L4 header";
	struct pkt_info pi;
	const __u8 *q;
	int qlen, ilen;

	if (!pkt_parse(frame, len, &pi, why, sizeof(why)) || pi.l4_off < 0) {
		printf("# ICMP error does not parse: %s\n", why);
		return false;
	}
	q = frame + pi.l4_off + 8;
	qlen = pi.ip_end - (pi.l4_off + 8);
	if (pi.family == AF_INET) {
		__u32 sum = 0;
		int hl;

		if (qlen < 20 || (hl = (q[0] & 15) * 4) > qlen)
			return ASSERT_TRUE(false, "quoted IPv4 header in the quote");
		for (int i = 0; i < hl; i += 2)
			sum += (__u32)(q[i] << 8 | q[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (!ASSERT_EQ(sum, 0xffff, "quoted IPv4 header checksum"))
			return false;
		ilen = q[2] << 8 | q[3];
	} else {
		if (qlen < 40)
			return ASSERT_TRUE(false, "quoted IPv6 header in the quote");
		ilen = 40 + (q[4] << 8 | q[5]);
	}
	if (ilen > qlen)
		return true;
	eth[12] = pi.family == AF_INET ? 0x08 : 0x86;
	eth[13] = pi.family == AF_INET ? 0x00 : 0xdd;
	memcpy(eth + ETH_HLEN, q, ilen);
	if (!pkt_verify_checksums(eth, ETH_HLEN + ilen, why, sizeof(why))) {
		printf("# quoted packet: %s\n", why);
		return false;
	}
	return true;
}

/* Zeros after the IP packet up to `to` bytes of frame (link padding). */
static int pad_frame(__u8 *buf, int len, int to)
{
	if (len < 0 || len >= to)
		return len;
	memset(buf + len, 0, to - len);
	return to;
}

/* expect() for an ICMP error; a translated one also has its quote checked. */
static bool expect_icmp(const __u8 *in, int len, int ifindex, __u32 verdict, int reason,
			const __u8 *want, int want_len)
{
	struct run r;
	bool ok = expect(in, len, ifindex, verdict, reason, want, want_len, &r);

	if (want && r.retval == verdict)
		ok &= quote_checksums_ok(r.out, r.out_len);
	return ok;
}

/* A 16-bit field of an output frame's L4 header (host order); -1 if none. */
static int out_l4_16(const struct run *r, int off)
{
	struct pkt_info pi;

	if (!pkt_parse(r->out, r->out_len, &pi, NULL, 0) || pi.l4_off < 0 ||
	    pi.l4_off + off + 2 > (int)r->out_len)
		return -1;
	return r->out[pi.l4_off + off] << 8 | r->out[pi.l4_off + off + 1];
}

/* Start flow d (received on ifindex); fills the frame the data path sent. */
static bool start_flow(const struct pkt_desc *d, int ifindex, struct run *r)
{
	__u8 in[2048];
	int len = pkt_build(d, in, sizeof(in));

	return ASSERT_OK(run_prog(in, len, ifindex, r), "run") &&
	       ASSERT_EQ(r->retval, XDP_REDIRECT, "flow started");
}

/*
 * DNAT, IPv4: a router between us and the backend answers the client's
 * translated SYN (client -> backend:8080) with fragmentation needed, sent to
 * the client. The client must see its own packet quoted (client -> VIP:80)
 * for its path MTU to the VIP to drop: quoted destination address and port
 * restored, quoted IPv4 header and TCP checksums and the ICMP checksum
 * updated, outer addresses kept, forwarded to the client. Also with IPv4
 * options in the quoted header, and with the quote cut after 8 TCP bytes
 * and link padding after it (the TCP checksum is then not in the quote, and
 * the padding is not taken for it).
 */
static bool test_icmp_dnat_frag_needed(void)
{
	static const __u8 opts[4] = { 0x01, 0x01, 0x01, 0x00 };
	struct pkt_desc d = tcp4(CLIENT4, 51000, VIP4, 80, PKT_SYN), q, wq;
	struct pkt_l2 l2 = from_router(mac_be), wl2 = {};
	__u8 in[2048], want[2048];
	struct run r;
	bool ok = true;
	int be, len, wlen;

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	memcpy(wl2.smac, mac_in, 6);
	memcpy(wl2.dmac, mac_client, 6);
	for (int v = 0; v < 3; v++) {
		int quote = v == 2 ? 20 + 8 : -1;

		q = d; /* the SYN as it left us */
		snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
		q.dport = 8080;
		q.ttl = 63;
		if (v == 1) {
			q.ip_options = opts;
			q.ip_options_len = sizeof(opts);
		}
		wq = q; /* the same with the client's destination back */
		snprintf(wq.daddr, sizeof(wq.daddr), VIP4);
		wq.dport = 80;
		len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, quote, in);
		wlen = icmp_error_frame(&wl2, ROUTER4_BE, CLIENT4, 63, 3, 4, MTU_1400, &wq, quote,
					want);
		if (v == 2) {
			len = pad_frame(in, len, 96);
			wlen = pad_frame(want, wlen, 96);
		}
		if (!expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen)) {
			printf("# variant %d\n", v);
			ok = false;
		}
	}
	return ok;
}

/*
 * DNAT, IPv4: a router on the client side drops the backend's reply (sent on
 * as VIP:80 -> client) with time exceeded, addressed to the VIP. It must
 * reach the backend about the backend's own packet: outer destination and
 * quoted source become backend and backend:8080.
 */
static bool test_icmp_dnat_time_exceeded_reply(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 51001, VIP4, 80, PKT_SYN), q, wq;
	struct pkt_l2 l2 = from_router(mac_in), wl2 = {};
	__u8 in[2048], want[2048];
	struct run r;
	int be, len, wlen;

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = tcp4(VIP4, 80, CLIENT4, 51001, PKT_SYN | PKT_ACK); /* the reply as it left us */
	q.ttl = 1;
	wq = q; /* the same with the backend's source back */
	snprintf(wq.saddr, sizeof(wq.saddr), "%s", be4[be]);
	wq.sport = 8080;
	memcpy(wl2.smac, mac_be, 6);
	pkt_mac(be_mac[be], wl2.dmac);
	len = icmp_error_frame(&l2, ROUTER4_CL, VIP4, 64, 11, 0, 0, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_CL, be4[be], 63, 11, 0, 0, &wq, -1, want);
	return expect_icmp(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
}

/*
 * DNAT, IPv4 UDP: the backend itself answers with port unreachable (backend
 * -> client, quoting client -> backend:5353). The client must get it from
 * the VIP about client -> VIP:53: the outer source is rewritten too, and the
 * quoted UDP checksum updated; a quoted UDP checksum 0 stays 0.
 */
static bool test_icmp_dnat_port_unreachable(void)
{
	__u8 in[2048], want[2048], bmac[6];
	struct pkt_l2 wl2 = {};
	struct run r;
	bool ok = true;

	for (int nocsum = 0; nocsum <= 1; nocsum++) {
		struct pkt_desc d = as_udp(tcp4(CLIENT4, 51010 + nocsum, VIP4, 53, 0)), q, wq;
		struct pkt_l2 l2;
		int be, len, wlen;

		d.udp_no_csum = nocsum;
		if (!start_flow(&d, if_in, &r))
			return false;
		be = out_backend(&r, AF_INET);
		if (!ASSERT_GE(be, 0, "backend"))
			return false;
		pkt_mac(be_mac[be], bmac);
		l2 = from_router(mac_be);
		memcpy(l2.smac, bmac, 6);
		q = d;
		snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
		q.dport = 5353;
		q.ttl = 63;
		wq = q;
		snprintf(wq.daddr, sizeof(wq.daddr), VIP4);
		wq.dport = 53;
		memcpy(wl2.smac, mac_in, 6);
		memcpy(wl2.dmac, mac_client, 6);
		len = icmp_error_frame(&l2, be4[be], CLIENT4, 64, 3, 3, 0, &q, -1, in);
		wlen = icmp_error_frame(&wl2, VIP4, CLIENT4, 63, 3, 3, 0, &wq, -1, want);
		ok &= expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
	}
	return ok;
}

/*
 * Full NAT: a router between us and the backend sends fragmentation needed
 * to the SNAT address about snat:port -> backend:8080. The client must get
 * it about its own packet: the error goes to the client, and the quoted
 * packet becomes client:port -> VIP:80 (both quoted addresses and ports).
 */
static bool test_icmp_fullnat_frag_needed(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 51020, VIP4_FULLNAT, 80, PKT_SYN), q, wq;
	struct pkt_l2 l2 = from_router(mac_be), wl2 = {};
	__u8 in[2048], want[2048];
	struct run r;
	int port, len, wlen;

	if (!ASSERT_OK(add_vip(VIP4_FULLNAT, VIPXDP_VIP_F_ARP), "vip") ||
	    !ASSERT_OK(add_fullnat_service(), "fullnat service") || !start_flow(&d, if_in, &r))
		return false;
	port = out_l4_16(&r, 0);
	if (!ASSERT_GE(port, VIPXDP_NAT_PORT_MIN, "allocated port"))
		return false;
	q = d;
	snprintf(q.saddr, sizeof(q.saddr), SNAT4);
	q.sport = port;
	snprintf(q.daddr, sizeof(q.daddr), "198.19.0.1");
	q.dport = 8080;
	q.ttl = 63;
	wq = d;
	wq.ttl = 63;
	memcpy(wl2.smac, mac_in, 6);
	memcpy(wl2.dmac, mac_client, 6);
	len = icmp_error_frame(&l2, ROUTER4_BE, SNAT4, 64, 3, 4, MTU_1400, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_BE, CLIENT4, 63, 3, 4, MTU_1400, &wq, -1, want);
	return expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
}

/*
 * Source NAT: a private host's TCP flow and ping leave as VIP:port (VIP and
 * identifier); a router on the outside answers each with time exceeded to
 * the VIP, quoting VIP:port -> remote. The errors must reach the private host
 * about its own packets: outer destination and quoted source (address and
 * port; ICMP echo: identifier, its checksum updated without the addresses).
 */
static bool test_icmp_snat_time_exceeded(void)
{
	static const __u8 echo[8] = { 0x43, 0x21, 0x00, 0x01, 'p', 'i', 'n', 'g' };
	struct vipxdp_snat_rule rule = { .prefix_len = 24 };
	struct pkt_l2 l2 = from_router(mac_in), wl2 = {};
	__u8 in[2048], want[2048], e2[8], fam;
	struct pkt_desc d, q, wq;
	struct run r;
	bool ok = true;
	int port, len, wlen;

	pkt_env_addr("198.19.0.0", &rule.family, &rule.src);
	pkt_env_addr(VIP4, &fam, &rule.vip);
	if (!ASSERT_OK(vipxdp_dp_set_snat(&dp, &rule, 1), "snat rule"))
		return false;
	memcpy(wl2.smac, mac_be, 6);
	pkt_mac(be_mac[1], wl2.dmac);

	d = tcp4("198.19.0.2", 33100, CLIENT4, 443, PKT_SYN);
	memcpy(d.l2.dmac, mac_be, 6);
	memcpy(d.l2.smac, wl2.dmac, 6);
	if (!start_flow(&d, if_be, &r))
		goto out;
	port = out_l4_16(&r, 0);
	q = d;
	snprintf(q.saddr, sizeof(q.saddr), VIP4);
	q.sport = port;
	q.ttl = 1;
	wq = d;
	wq.ttl = 1;
	len = icmp_error_frame(&l2, ROUTER4_CL, VIP4, 64, 11, 0, 0, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_CL, "198.19.0.2", 63, 11, 0, 0, &wq, -1, want);
	ok &= expect_icmp(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);

	/* ping: the quoted echo request carries the allocated identifier */
	d.proto = IPPROTO_ICMP;
	d.icmp_type = 8;
	d.payload = echo;
	d.payload_len = sizeof(echo);
	if (!start_flow(&d, if_be, &r))
		goto out;
	port = out_l4_16(&r, 4);
	memcpy(e2, echo, sizeof(e2));
	e2[0] = port >> 8;
	e2[1] = port & 0xff;
	q = d;
	snprintf(q.saddr, sizeof(q.saddr), VIP4);
	q.payload = e2;
	q.ttl = 1;
	wq = d;
	wq.ttl = 1;
	len = icmp_error_frame(&l2, ROUTER4_CL, VIP4, 64, 11, 0, 0, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_CL, "198.19.0.2", 63, 11, 0, 0, &wq, -1, want);
	ok &= expect_icmp(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
out:
	ok &= ASSERT_OK(vipxdp_dp_set_snat(&dp, NULL, 0), "clear snat");
	return ok;
}

/*
 * DNAT, IPv6: packet too big from a router between us and the backend, to
 * the client, about client -> backend:8080: the quoted destination becomes
 * VIP:80 (TCP checksum, ICMPv6 checksum updated). And time exceeded from a
 * router on the client side to the VIP about the reply VIP:80 -> client:
 * goes to the backend, the new outer destination entering the ICMPv6
 * checksum through its pseudo-header.
 */
static bool test_icmp6_dnat(void)
{
	struct pkt_desc d = tcp6(CLIENT6, 51030, VIP6, 80, PKT_SYN), q, wq;
	struct pkt_l2 l2 = from_router(mac_be), wl2 = {};
	__u8 in[2048], want[2048];
	struct run r;
	bool ok = true;
	int be, len, wlen;

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET6);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = d;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be6[be]);
	q.dport = 8080;
	q.ttl = 63;
	wq = d;
	wq.ttl = 63;
	memcpy(wl2.smac, mac_in, 6);
	memcpy(wl2.dmac, mac_client, 6);
	len = icmp_error_frame(&l2, ROUTER6_BE, CLIENT6, 64, 2, 0, MTU_1280, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER6_BE, CLIENT6, 63, 2, 0, MTU_1280, &wq, -1, want);
	ok &= expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);

	l2 = from_router(mac_in);
	q = tcp6(VIP6, 80, CLIENT6, 51030, PKT_SYN | PKT_ACK);
	q.ttl = 1;
	wq = q;
	snprintf(wq.saddr, sizeof(wq.saddr), "%s", be6[be]);
	wq.sport = 8080;
	memcpy(wl2.smac, mac_be, 6);
	pkt_mac(be_mac[be], wl2.dmac);
	len = icmp_error_frame(&l2, ROUTER6_CL, VIP6, 64, 3, 0, 0, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER6_CL, be6[be], 63, 3, 0, 0, &wq, -1, want);
	ok &= expect_icmp(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
	return ok;
}

/*
 * Elastic IP (no conntrack, same rule through vipxdp_eip): time exceeded to
 * the elastic IP about elastic IP -> remote goes to the private address
 * about its own packet; port unreachable from the private host about
 * remote -> private comes from the elastic IP about remote -> elastic IP
 * (before, only the outer source was translated, leaking the private
 * address in the quote); fragmentation needed from a router behind us about
 * remote -> private reaches the remote about remote -> elastic IP.
 */
static bool test_icmp_elastic_ip(void)
{
	struct pkt_l2 l2, wl2 = {};
	struct vipxdp_addr v, pv;
	__u8 in[2048], want[2048], pmac[6], fam;
	struct pkt_desc q, wq;
	bool ok = true;
	int len, wlen;

	pkt_env_addr(EIP4, &fam, &v);
	pkt_env_addr(EIP4_PRIV, &fam, &pv);
	if (!ASSERT_OK(vipxdp_dp_set_eip(&dp, fam, &v, &pv), "eip4"))
		return false;
	pkt_mac(be_mac[2], pmac);

	l2 = from_router(mac_in);
	q = as_udp(tcp4(EIP4, 5000, CLIENT4, 53, 0));
	q.ttl = 1;
	wq = q;
	snprintf(wq.saddr, sizeof(wq.saddr), EIP4_PRIV);
	memcpy(wl2.smac, mac_be, 6);
	memcpy(wl2.dmac, pmac, 6);
	len = icmp_error_frame(&l2, ROUTER4_CL, EIP4, 64, 11, 0, 0, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_CL, EIP4_PRIV, 63, 11, 0, 0, &wq, -1, want);
	ok &= expect_icmp(in, len, if_in, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);

	l2 = from_router(mac_be);
	memcpy(l2.smac, pmac, 6);
	q = tcp4(CLIENT4, 50010, EIP4_PRIV, 22, PKT_SYN);
	q.ttl = 63;
	wq = q;
	snprintf(wq.daddr, sizeof(wq.daddr), EIP4);
	memcpy(wl2.smac, mac_in, 6);
	memcpy(wl2.dmac, mac_client, 6);
	len = icmp_error_frame(&l2, EIP4_PRIV, CLIENT4, 64, 3, 3, 0, &q, 28, in);
	wlen = icmp_error_frame(&wl2, EIP4, CLIENT4, 63, 3, 3, 0, &wq, 28, want);
	ok &= expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);

	l2 = from_router(mac_be);
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_BE, CLIENT4, 63, 3, 4, MTU_1400, &wq, -1, want);
	ok &= expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);

	ok &= ASSERT_OK(vipxdp_dp_del_eip(&dp, fam, &v), "del eip");
	return ok;
}

/*
 * ICMP errors that match no flow pass untouched, counted as before: time
 * exceeded to the VIP about a flow that does not exist (IPv4), packet too
 * big about an unknown client -> backend flow (IPv6), errors about known
 * flows that are not addressed to the quoted packet's sender (IPv4, IPv6),
 * and one about a flow whose conntrack entries have both expired.
 */
static bool test_icmp_unknown_flow(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 51040, VIP4, 80, PKT_SYN), q;
	struct pkt_l2 l2 = from_router(mac_in);
	struct vipxdp_cfg cfg0, cfg;
	struct vipxdp_ct ct;
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int be, len;

	q = tcp4(VIP4, 80, CLIENT4, 59999, PKT_SYN | PKT_ACK);
	q.ttl = 1;
	len = icmp_error_frame(&l2, ROUTER4_CL, VIP4, 64, 11, 0, 0, &q, -1, in);
	ok &= expect_icmp(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0);

	l2 = from_router(mac_be);
	q = tcp6(CLIENT6, 59999, be6[0], 8080, PKT_SYN);
	q.ttl = 63;
	len = icmp_error_frame(&l2, ROUTER6_BE, CLIENT6, 64, 2, 0, MTU_1280, &q, -1, in);
	ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_icmp6, NULL, 0);

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = d;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
	q.dport = 8080;
	q.ttl = 63;
	len = icmp_error_frame(&l2, ROUTER4_BE, "198.18.0.77", 64, 3, 4, MTU_1400, &q, -1, in);
	ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0);
	{
		struct pkt_desc d6 = tcp6(CLIENT6, 51041, VIP6, 80, PKT_SYN), q6;
		int be6i;

		if (!start_flow(&d6, if_in, &r))
			return false;
		be6i = out_backend(&r, AF_INET6);
		if (!ASSERT_GE(be6i, 0, "backend"))
			return false;
		q6 = d6;
		snprintf(q6.daddr, sizeof(q6.daddr), "%s", be6[be6i]);
		q6.dport = 8080;
		q6.ttl = 63;
		len = icmp_error_frame(&l2, ROUTER6_BE, "2001:db8:1::77", 64, 2, 0, MTU_1280, &q6,
				       -1, in);
		ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_icmp6, NULL, 0);
	}

	/* The flow idle past its timeout (its one entry, which the error
	 * would use through vipxdp_rev). */
	if (!ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	cfg = cfg0;
	for (int i = 0; i < VIPXDP_CT_NSTATES; i++)
		cfg.ct_timeout[i] = 5;
	if (!ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "set cfg"))
		return false;
	ok &= ASSERT_TRUE(!ct_get(be4[be], 8080, CLIENT4, 51040, &ct), "no reply entry");
	if (ASSERT_TRUE(ct_get(CLIENT4, 51040, VIP4, 80, &ct), "forward entry")) {
		ct.last_seen -= 6;
		ok &= ASSERT_TRUE(ct_put(CLIENT4, 51040, VIP4, 80, &ct), "age the entry");
	} else {
		ok = false;
	}
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, -1, in);
	ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0);
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "restore cfg");
	return ok;
}

/*
 * A one-way flow (client -> VIP only, say a UDP stream): the direction the
 * error travels (backend -> client) never had a packet, and DNAT flows have
 * no entry of their own for it. The flow lives, so fragmentation needed
 * about the client's packets is translated (through vipxdp_rev): path MTU
 * discovery keeps working for such flows.
 */
static bool test_icmp_one_way_flow(void)
{
	struct pkt_desc d = as_udp(tcp4(CLIENT4, 51070, VIP4, 53, 0)), q, wq;
	struct pkt_l2 l2 = from_router(mac_be), wl2 = {};
	struct vipxdp_cfg cfg0, cfg;
	struct vipxdp_flow k = {};
	struct vipxdp_ct ct;
	__u8 in[2048], want[2048];
	struct run r;
	bool ok = true;
	int be, len, wlen;

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend") || !ASSERT_OK(vipxdp_dp_get_cfg(&dp, &cfg0), "cfg"))
		return false;
	cfg = cfg0;
	for (int i = 0; i < VIPXDP_CT_NSTATES; i++)
		cfg.ct_timeout[i] = 5;
	if (!ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg), "set cfg"))
		return false;
	pkt_env_addr(be4[be], &k.family, &k.saddr);
	pkt_env_addr(CLIENT4, &k.family, &k.daddr);
	k.sport = htons(5353);
	k.dport = htons(51070);
	k.proto = IPPROTO_UDP;
	/* The backend never answered: the flow has its one (client -> VIP)
	 * entry, no entry of the error's direction. */
	ok &= ASSERT_TRUE(vipxdp_ct_get(&dp, &k, &ct) && errno == ENOENT,
			  "no reply entry");
	q = d;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
	q.dport = 5353;
	q.ttl = 63;
	wq = d;
	wq.ttl = 63;
	memcpy(wl2.smac, mac_in, 6);
	memcpy(wl2.dmac, mac_client, 6);
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, -1, in);
	wlen = icmp_error_frame(&wl2, ROUTER4_BE, CLIENT4, 63, 3, 4, MTU_1400, &wq, -1, want);
	ok &= expect_icmp(in, len, if_be, XDP_REDIRECT, VIPXDP_R_fwd_redirect, want, wlen);
	ok &= ASSERT_OK(vipxdp_dp_set_cfg(&dp, &cfg0), "restore cfg");
	return ok;
}

/*
 * Errors about a known flow whose quote is cut short (inside the quoted
 * IPv4/IPv6 header, or fewer than 8 L4 bytes; an IHL reaching past the
 * quote), or quotes a later fragment (no ports), pass untouched as before.
 * The frames carry link padding: the quote ends with the outer IP packet,
 * not with the frame.
 */
static bool test_icmp_truncated_quote(void)
{
	struct pkt_desc d4 = tcp4(CLIENT4, 51050, VIP4, 80, PKT_SYN), q;
	struct pkt_desc d6 = tcp6(CLIENT6, 51050, VIP6, 80, PKT_SYN);
	struct pkt_l2 l2 = from_router(mac_be);
	static const __u8 opts[8] = { 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00 };
	__u8 in[2048];
	struct run r;
	bool ok = true;
	int be, len;

	if (!start_flow(&d4, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = d4;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
	q.dport = 8080;
	q.ttl = 63;
	for (int cut = 0; cut < 20 + 8; cut++) {
		len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, cut, in);
		len = pad_frame(in, len, 128);
		if (!expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0)) {
			printf("# IPv4 quote of %d bytes\n", cut);
			ok = false;
		}
	}
	q.ip_options = opts;
	q.ip_options_len = sizeof(opts);
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 3, 4, MTU_1400, &q, 20 + 8, in);
	len = pad_frame(in, len, 128);
	ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0);
	q.ip_options_len = 0;
	q.frag_off = 100;
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 64, 11, 1, 0, &q, -1, in);
	ok &= expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0);

	if (!start_flow(&d6, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET6);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = d6;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be6[be]);
	q.dport = 8080;
	q.ttl = 63;
	for (int cut = 0; cut < 40 + 8; cut++) {
		len = icmp_error_frame(&l2, ROUTER6_BE, CLIENT6, 64, 2, 0, MTU_1280, &q, cut, in);
		len = pad_frame(in, len, 160);
		if (!expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_icmp6, NULL, 0)) {
			printf("# IPv6 quote of %d bytes\n", cut);
			ok = false;
		}
	}
	return ok;
}

/* An error about a known flow arriving with TTL 1 passes untouched (the
 * kernel answers), like every packet the data path would translate. */
static bool test_icmp_ttl_expiring(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 51060, VIP4, 80, PKT_SYN), q;
	struct pkt_l2 l2 = from_router(mac_be);
	__u8 in[2048];
	struct run r;
	int be, len;

	if (!start_flow(&d, if_in, &r))
		return false;
	be = out_backend(&r, AF_INET);
	if (!ASSERT_GE(be, 0, "backend"))
		return false;
	q = d;
	snprintf(q.daddr, sizeof(q.daddr), "%s", be4[be]);
	q.dport = 8080;
	q.ttl = 63;
	len = icmp_error_frame(&l2, ROUTER4_BE, CLIENT4, 1, 3, 4, MTU_1400, &q, -1, in);
	return expect_icmp(in, len, if_be, XDP_PASS, VIPXDP_R_pass_ttl, NULL, 0);
}

/* ---- malformed and foreign traffic ----------------------------------- */

/* A TCP frame to a VIP cut at every length from the Ethernet header on
 * (BPF_PROG_TEST_RUN needs 14 bytes), IPv4/IPv6 with 0-2 tags: the IP
 * length then exceeds the frame, so the frame passes untouched. */
static bool test_truncated(void)
{
	__u8 in[2048];
	struct run r;
	bool ok = true;

	for (int fam = 0; fam < 2; fam++) {
		for (int n = 0; n <= 2; n++) {
			struct pkt_desc d = fam ? tcp6(CLIENT6, 46000, VIP6, 80, PKT_SYN)
						: tcp4(CLIENT4, 46000, VIP4, 80, PKT_SYN);
			int len;

			d.l2.nvlan = n;
			len = pkt_build(&d, in, sizeof(in));
			for (int cut = ETH_HLEN; cut < len; cut++) {
				if (!expect(in, cut, if_in, XDP_PASS, VIPXDP_R_pass_malformed, NULL, 0,
					    &r)) {
					printf("# family %s, %d tags, cut at %d of %d\n",
					       fam ? "IPv6" : "IPv4", n, cut, len);
					ok = false;
				}
			}
		}
	}
	return ok;
}

/* IP lengths consistent, but the TCP header does not fit in them: dropped
 * when addressed to a VIP; passed untouched otherwise, as foreign traffic
 * (the address pre-filter sends it on before L4 is parsed). */
static bool test_short_l4(void)
{
	__u8 in[2048];
	struct run r;
	bool ok = true;

	for (int vip = 0; vip < 2; vip++) {
		for (int fam = 0; fam < 2; fam++) {
			const char *dst = fam ? (vip ? VIP6 : "2001:db8:1::99")
					      : (vip ? VIP4 : "198.18.0.200");
			struct pkt_desc d = fam ? tcp6(CLIENT6, 46100, dst, 80, PKT_SYN)
						: tcp4(CLIENT4, 46100, dst, 80, PKT_SYN);
			struct pkt_info pi;
			int len;

			len = pkt_build(&d, in, sizeof(in));
			pkt_parse(in, len, &pi, NULL, 0);
			/* keep 10 bytes of TCP header and say so in the IP length */
			len = pi.l4_off + 10;
			if (fam) {
				in[pi.l3_off + 4] = 0;
				in[pi.l3_off + 5] = 10;
			} else {
				in[pi.l3_off + 2] = 0;
				in[pi.l3_off + 3] = 30;
				pkt_fix_checksums(in, len);
			}
			ok &= expect(in, len, if_in, vip ? XDP_DROP : XDP_PASS,
				     vip ? VIPXDP_R_drop_malformed : VIPXDP_R_pass_no_service, NULL, 0,
				     &r);
		}
	}
	return ok;
}

/* Inconsistent IPv4 headers (IHL < 5, total length beyond the frame or below
 * the header, wrong version) pass untouched; a UDP length that disagrees with
 * the IP length, to a VIP, is dropped. */
static bool test_bad_headers(void)
{
	struct pkt_desc d = tcp4(CLIENT4, 47000, VIP4, 80, PKT_SYN);
	__u8 in[2048], pkt[2048];
	struct pkt_info pi;
	struct run r;
	bool ok = true;
	int len;

	len = pkt_build(&d, pkt, sizeof(pkt));
	pkt_parse(pkt, len, &pi, NULL, 0);

	memcpy(in, pkt, len);
	in[pi.l3_off] = 0x44; /* IHL 4 */
	pkt_fix_checksums(in, len);
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_malformed, NULL, 0, &r);

	memcpy(in, pkt, len);
	in[pi.l3_off + 2] = 0x05; /* total length 1280+ > frame */
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_malformed, NULL, 0, &r);

	memcpy(in, pkt, len);
	in[pi.l3_off + 2] = 0;
	in[pi.l3_off + 3] = 16; /* total length < header */
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_malformed, NULL, 0, &r);

	memcpy(in, pkt, len);
	in[pi.l3_off] = 0x65; /* version 6 in an IPv4 EtherType */
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_malformed, NULL, 0, &r);

	memcpy(in, pkt, len);
	in[pi.l4_off + 12] = 0x40; /* TCP data offset 4 */
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_malformed, NULL, 0, &r);

	d = as_udp(tcp4(CLIENT4, 47001, VIP4, 53, 0));
	len = pkt_build(&d, in, sizeof(in));
	pkt_parse(in, len, &pi, NULL, 0);
	in[pi.l4_off + 5] += 10; /* UDP length beyond the IP payload */
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_malformed, NULL, 0, &r);
	return ok;
}

/* Fragments: to a VIP dropped (no ports to translate), to anyone else passed
 * untouched; IPv4 (first and later fragments) and IPv6 (fragment header). */
static bool test_fragments(void)
{
	__u8 in[2048];
	struct run r;
	bool ok = true;
	struct pkt_desc d;
	int len;

	d = tcp4(CLIENT4, 48000, VIP4, 80, PKT_ACK);
	d.frag_off = PKT_IP_MF;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_frag, NULL, 0, &r);
	d.frag_off = 100;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_frag, NULL, 0, &r);
	d = tcp4(CLIENT4, 48000, "198.18.0.200", 80, PKT_ACK);
	d.frag_off = PKT_IP_MF;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_frag, NULL, 0, &r);

	d = as_udp(tcp6(CLIENT6, 48000, VIP6, 53, 0));
	d.ip6_frag_hdr = true;
	d.frag_off = PKT_IP_MF;
	d.ip_id = 7;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_DROP, VIPXDP_R_drop_frag, NULL, 0, &r);
	d = as_udp(tcp6(CLIENT6, 48000, "2001:db8:1::99", 53, 0));
	d.ip6_frag_hdr = true;
	d.frag_off = PKT_IP_MF;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_frag, NULL, 0, &r);
	return ok;
}

/* Traffic that is not for a VIP passes byte-identical: TCP/UDP to another
 * address, a VIP port with no service, ICMP, and a non-IP EtherType. */
static bool test_not_ours(void)
{
	static const __u8 junk[46] = { 1, 2, 3 };
	struct pkt_l2 l2 = {};
	__u8 in[2048];
	struct run r;
	bool ok = true;
	struct pkt_desc d;
	int len;

	d = tcp4(CLIENT4, 49000, "198.18.0.200", 80, PKT_SYN);
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	d = tcp4(CLIENT4, 49000, VIP4, 81, PKT_SYN);
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	d = as_udp(tcp6(CLIENT6, 49000, "2001:db8:1::99", 53, 0));
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	d = tcp4(CLIENT4, 0, VIP4, 0, 0);
	d.proto = IPPROTO_ICMP;
	d.icmp_type = 8;
	len = pkt_build(&d, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_no_service, NULL, 0, &r);
	memcpy(l2.dmac, mac_in, 6);
	memcpy(l2.smac, mac_client, 6);
	len = pkt_build_eth(&l2, 0x88cc, junk, sizeof(junk), 0, in, sizeof(in));
	ok &= expect(in, len, if_in, XDP_PASS, VIPXDP_R_pass_not_ip, NULL, 0, &r);
	return ok;
}

/* ---- hash agreement --------------------------------------------------- */

/* For 10,000 random flows (IPv4 and IPv6, TCP and UDP) the backend the BPF
 * program picks equals the one userspace predicts. */
static bool test_hash_agreement(void)
{
	__u8 in[2048];
	struct run r;
	int mismatches = 0, counts[3] = { 0 };
	unsigned int seed = 12345;

	for (int i = 0; i < 10000; i++) {
		bool v6 = i & 1, udp = i & 2;
		char src[64];
		struct pkt_desc d;
		int len, got, want;

		if (v6)
			snprintf(src, sizeof(src), "2001:db8:%x:%x::%x", rand_r(&seed) & 0xffff,
				 rand_r(&seed) & 0xffff, rand_r(&seed) & 0xffff);
		else
			snprintf(src, sizeof(src), "198.%d.%d.%d", 18 + (rand_r(&seed) & 1),
				 rand_r(&seed) & 255, 1 + rand_r(&seed) % 254);
		d = v6 ? tcp6(src, 1024 + rand_r(&seed) % 60000, VIP6, 80, PKT_SYN)
		       : tcp4(src, 1024 + rand_r(&seed) % 60000, VIP4, 80, PKT_SYN);
		if (udp) {
			d = as_udp(d);
			d.dport = 53;
		}
		want = predict(&d, !udp);
		len = pkt_build(&d, in, sizeof(in));
		if (run_prog(in, len, if_in, &r))
			return false;
		got = out_backend(&r, v6 ? AF_INET6 : AF_INET);
		if (got < 0 || got != want) {
			if (mismatches++ < 5)
				printf("# flow %d (%s): BPF chose %d, userspace predicted %d\n", i, src,
				       got, want);
		} else {
			counts[got]++;
		}
	}
	printf("# backends chosen: %d / %d / %d\n", counts[0], counts[1], counts[2]);
	return ASSERT_EQ(mismatches, 0, "flows where BPF and userspace disagree");
}

/* ---- control-plane batches -------------------------------------------- */

#define VIP4_BATCH_A "198.18.0.120"
#define VIP4_BATCH_B "198.18.0.121"
#define VIP4_BATCH_C "198.18.0.122"

static __u32 svc_id_of(const char *vip)
{
	struct vipxdp_svc_spec spec = { .proto = IPPROTO_TCP, .port = 80 };
	struct vipxdp_svc svc;

	pkt_env_addr(vip, &spec.family, &spec.vip);
	return vipxdp_dp_get_service(&dp, &spec, &svc) ? VIPXDP_SVC_NONE : svc.id;
}

/* "id:address:port,..." of a service's backends, as vipxdp_dp_backends_of
 * gives them (sorted by address). */
static bool backends_str(__u32 svc_id, char *out, size_t len)
{
	struct vipxdp_dp_be *bes = NULL;
	size_t n = 0, used = 0;
	char a[64];

	out[0] = 0;
	if (vipxdp_dp_backends_of(&dp, svc_id, &bes, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		inet_ntop(AF_INET, &bes[i].be.addr, a, sizeof(a));
		used += snprintf(out + used, used < len ? len - used : 0, "%s%u:%s:%u", i ? "," : "",
				 bes[i].id, a, ntohs(bes[i].be.port));
	}
	free(bes);
	return used < len;
}

/*
 * A batch (what `apply` uses: maps scanned once, then an index kept up to
 * date by the batch's own writes) reports exactly what full scans of the
 * maps report after services were added, one changed (a backend kept with
 * its id, two removed, one added), one deleted and one added again; the
 * new service takes the lowest free service id; the changed service's
 * table sends a new flow to a backend of the new set. A service added with
 * deferral is invisible until the flush, then complete and forwarding.
 */
static bool test_batch(void)
{
	static const char *const set1[] = { "198.19.0.1", "198.19.0.2", "198.19.0.3" };
	static const char *const set2[] = { "198.19.0.3", "198.19.0.4" };
	char in_a[512], in_c[512], full_a[512], full_c[512], kept[512], got[512];
	struct pkt_desc d = tcp4(CLIENT4, 47000, VIP4_BATCH_A, 80, PKT_SYN);
	struct vipxdp_dp_svc *svcs = NULL;
	size_t in_use = 0, full_use = 0, nsvcs = 0, i;
	__u32 id_a, id_b, id_c, lowest;
	__u8 in[256], *used = NULL;
	struct run r;
	bool ok = true;
	int len;

	if (!ASSERT_OK(add_vip(VIP4_BATCH_A, VIPXDP_VIP_F_ARP), "vip a") ||
	    !ASSERT_OK(vipxdp_dp_batch_begin(&dp), "batch begin"))
		return false;
	ok &= ASSERT_OK(add_service(VIP4_BATCH_A, IPPROTO_TCP, 80, 0, set1, 3, 8080), "add a");
	ok &= ASSERT_OK(add_service(VIP4_BATCH_B, IPPROTO_TCP, 80, 0, set1, 2, 9090), "add b");
	id_a = svc_id_of(VIP4_BATCH_A);
	id_b = svc_id_of(VIP4_BATCH_B);
	ok &= ASSERT_TRUE(backends_str(id_a, in_a, sizeof(in_a)), "a before");
	/* The id 198.19.0.3:8080 has now, which the change must keep. */
	snprintf(kept, sizeof(kept), "%s", strstr(in_a, ",") ? strrchr(in_a, ',') + 1 : "");
	ok &= ASSERT_OK(add_service(VIP4_BATCH_A, IPPROTO_TCP, 80, 0, set2, 2, 8080), "change a");
	ok &= ASSERT_OK(vipxdp_dp_del_service(&dp,
					      &(struct vipxdp_svc_spec){
						      .family = VIPXDP_AF_INET,
						      .proto = IPPROTO_TCP,
						      .port = 80,
						      .vip.b = { 198, 18, 0, 121 },
					      }),
			"delete b");
	ok &= ASSERT_OK(add_service(VIP4_BATCH_C, IPPROTO_TCP, 80, 0, set2, 1, 7070), "add c");
	id_c = svc_id_of(VIP4_BATCH_C);
	ok &= ASSERT_TRUE(backends_str(id_a, in_a, sizeof(in_a)), "a in batch");
	ok &= ASSERT_TRUE(backends_str(id_c, in_c, sizeof(in_c)), "c in batch");
	ok &= ASSERT_OK(vipxdp_dp_backends_in_use(&dp, &in_use), "in use, batch");
	vipxdp_dp_batch_end(&dp);

	ok &= ASSERT_TRUE(backends_str(id_a, full_a, sizeof(full_a)), "a, full scan");
	ok &= ASSERT_TRUE(backends_str(id_c, full_c, sizeof(full_c)), "c, full scan");
	ok &= ASSERT_OK(vipxdp_dp_backends_in_use(&dp, &full_use), "in use, full scan");
	ok &= ASSERT_STREQ(in_a, full_a, "a: batch index = full scan");
	ok &= ASSERT_STREQ(in_c, full_c, "c: batch index = full scan");
	ok &= ASSERT_EQ(in_use, full_use, "backends in use: batch = full scan");
	ok &= ASSERT_EQ(svc_id_of(VIP4_BATCH_B), VIPXDP_SVC_NONE, "b deleted");
	/* A's set: 198.19.0.3 with the id it had, and 198.19.0.4. */
	ok &= ASSERT_TRUE(strstr(full_a, ":198.19.0.3:8080") && strstr(full_a, ":198.19.0.4:8080") &&
				  !strstr(full_a, "198.19.0.1") && !strstr(full_a, "198.19.0.2"),
			  "a has exactly the new set");
	snprintf(got, sizeof(got), "%s", full_a);
	*strchr(got, ',') = 0;
	ok &= ASSERT_STREQ(got, kept, "198.19.0.3 keeps its backend id");
	ok &= ASSERT_TRUE(strstr(full_c, ":198.19.0.3:7070") != NULL, "c's backend");

	/* C took the lowest service id no other service uses (B's was free). */
	used = calloc(dp.max_services, 1);
	if (!ASSERT_TRUE(used != NULL, "alloc") ||
	    !ASSERT_OK(vipxdp_dp_services(&dp, &svcs, &nsvcs), "services"))
		goto out;
	for (i = 0; i < nsvcs; i++)
		if (svcs[i].svc.id != id_c)
			used[svcs[i].svc.id] = 1;
	for (lowest = 0; lowest < dp.max_services && used[lowest]; lowest++)
		;
	ok &= ASSERT_EQ(id_c, lowest, "c's id is the lowest free one");
	ok &= ASSERT_TRUE(lowest <= id_b, "b's id was free for c");

	/* Deferred: a new service is invisible until the flush, then whole. */
	vipxdp_dp_batch_begin(&dp);
	vipxdp_dp_batch_defer(&dp, true);
	ok &= ASSERT_OK(add_service(VIP4_BATCH_B, IPPROTO_TCP, 80, 0, set2, 2, 9090), "add b");
	ok &= ASSERT_EQ(vipxdp_dp_batch_pending(&dp), 1, "b pending");
	ok &= ASSERT_EQ(svc_id_of(VIP4_BATCH_B), VIPXDP_SVC_NONE, "b not visible before the flush");
	ok &= ASSERT_OK(vipxdp_dp_batch_flush(&dp), "flush");
	vipxdp_dp_batch_end(&dp);
	id_b = svc_id_of(VIP4_BATCH_B);
	ok &= ASSERT_NE(id_b, VIPXDP_SVC_NONE, "b visible after the flush");
	ok &= ASSERT_TRUE(backends_str(id_b, full_c, sizeof(full_c)) &&
				  strstr(full_c, ":198.19.0.3:9090") && strstr(full_c, ":198.19.0.4:9090"),
			  "b's backends");
	{
		struct pkt_desc db = tcp4(CLIENT4, 47001, VIP4_BATCH_B, 80, PKT_SYN);
		struct pkt_info pi;
		char a[64] = "";

		len = pkt_build(&db, in, sizeof(in));
		if (ASSERT_OK(run_prog(in, len, if_in, &r), "run b") &&
		    ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict b") &&
		    pkt_parse(r.out, r.out_len, &pi, NULL, 0))
			inet_ntop(AF_INET, r.out + pi.l3_off + 16, a, sizeof(a));
		ok &= ASSERT_TRUE(!strcmp(a, "198.19.0.3") || !strcmp(a, "198.19.0.4"),
				  "b's table is installed");
	}

	/* The data path uses A's new table. */
	len = pkt_build(&d, in, sizeof(in));
	if (ASSERT_OK(run_prog(in, len, if_in, &r), "run") &&
	    ASSERT_EQ(r.retval, XDP_REDIRECT, "verdict")) {
		struct pkt_info pi;
		char a[64] = "";

		if (pkt_parse(r.out, r.out_len, &pi, NULL, 0))
			inet_ntop(AF_INET, r.out + pi.l3_off + 16, a, sizeof(a));
		ok &= ASSERT_TRUE(!strcmp(a, "198.19.0.3") || !strcmp(a, "198.19.0.4"),
				  "new flow goes to a backend of the new set");
	}
out:
	vipxdp_dp_batch_end(&dp);
	free(used);
	free(svcs);
	return ok;
}

static void run_cases(void)
{
	tap_run("arp: request for a VIP answered with interface MAC (XDP_TX)", test_arp_request_vip);
	tap_run("arp: request for a non-VIP passes untouched", test_arp_request_other);
	tap_run("arp: VIP with arp off is not answered", test_arp_request_noarp_vip);
	tap_run("arp: ARP reply passes untouched", test_arp_reply_passes);
	tap_run("arp: gratuitous ARP passes untouched", test_arp_gratuitous_passes);
	tap_run("arp: 802.1Q and QinQ requests answered, tags kept", test_arp_vlan);
	tap_run("ndp: solicitation for a VIP gets a solicited+override advertisement",
		test_ndp_solicit_vip);
	tap_run("ndp: solicitation without options answered (frame grows)",
		test_ndp_solicit_no_option);
	tap_run("ndp: DAD solicitation gets an advertisement to all nodes", test_ndp_solicit_dad);
	tap_run("ndp: other targets and hop limit != 255 pass untouched", test_ndp_solicit_other);
	tap_run("lb4: TCP SYN, ACK, FIN to one backend; exact bytes; service/backend counters",
		test_tcp4_syn_ack_fin);
	tap_run("lb4: backend reply gets VIP:port as source; the SYN-ACK caches the replies",
		test_tcp4_reply);
	tap_run("lb4: ACK without conntrack forwarded by hash, not dropped",
		test_tcp4_ack_without_conntrack);
	tap_run("lb4: UDP with checksum and UDP checksum 0", test_udp4);
	tap_run("lb6: TCP SYN/ACK, reply and UDP over IPv6", test_ipv6_tcp_udp);
	tap_run("conntrack keys: IPv4 bytes, IPv6 digest, collisions", test_ct_keys);
	tap_run("lb: 802.1Q and QinQ tagged TCP translated, tags kept", test_vlan_tcp);
	tap_run("forward: egress = ingress gives XDP_TX", test_forward_tx);
	tap_run("forward: unresolved neighbour passes the translated packet", test_forward_no_neigh);
	tap_run("forward: bigger than the egress MTU passes the translated packet (pass_frag_needed)",
		test_forward_frag_needed);
	tap_run("forward: TTL 1 passes untouched", test_ttl_expiring);
	tap_run("forward: a new flow's entry has its next hop; it follows the route watch's "
		"generation, else the epoch",
		test_route_watch);
	tap_run("forward: a new flow takes its backend's next hop cached on this CPU while routing is "
		"simple, for its address, under the same token, interface and length; else the FIB's",
		test_be_next_hop);
	tap_run("lb4: IPv4 options parsed over and kept", test_ip_options);
	tap_run("lb: source-ip hash keeps a client on one backend", test_source_ip_hash);
	tap_run("lb: previous table generation keeps flows without conntrack",
		test_previous_generation);
	tap_run("lb: drain keeps established flows, down backend gets nothing", test_drain_and_down);
	tap_run("conntrack: TCP states and idle timeout expiry", test_conntrack_lifecycle);
	tap_run("lb4: one conntrack entry per DNAT flow, reply entries past two services per backend",
		test_dnat_one_entry);
	tap_run("lb4: a SYN renews its flow's entry in place: in the generation a SYN wrote it in, "
		"with the entry's backend; later, when it translates the SYN the same way",
		test_syn_renews_entry);
	tap_run("lb4: a stream of new flows stops SYNs' conntrack lookups for a while; renewals "
		"keep them on",
		test_syn_lookup_skip);
	tap_run("flow cache: hits skip conntrack with the same bytes and counters; what bypasses it",
		test_flow_cache);
	tap_run("conntrack fast path (cache off), IPv4, IPv6, 802.1Q: ACK establishes, age "
		"moves on, counts exact both ways, expired entries give way",
		test_ct_fast);
	tap_run("flow cache: odd and bad frames of a cached flow get what the whole path gives",
		test_flow_cache_odd_frames);
	tap_run("flow cache: 4 addresses x 1,024 ports spread over the sets",
		test_flow_cache_spread);
	tap_run("flow cache: a SYN keeps its DNAT flow's entry only when a SYN wrote the flow's "
		"conntrack entry in this generation",
		test_flow_cache_syn);
	tap_run("fullnat: both directions translated, SYN retransmit keeps its port", test_fullnat);
	tap_run("fullnat: port exhaustion drops and counts; expired holder's port reused",
		test_fullnat_exhaustion);
	tap_run("elastic ip: 1:1 both ways, TCP/UDP/ICMP/ICMPv6, removal", test_elastic_ip);
	tap_run("snat: TCP and ICMP echo out through a VIP and back; elastic IP wins", test_snat);
	tap_run("qos: pps limit with burst 5 drops exactly the excess (new and known flows)",
		test_qos_pps);
	tap_run("qos: bps limit passes 9 of 12 1000-byte frames (9216-byte burst)", test_qos_bps);
	tap_run("qos: fractional cost (pps 3): a burst of 6 passes, then drops", test_qos_fraction);
	tap_run("qos: two CPUs at once share one limit: 10 of 4000 pass", test_qos_cpus);
	tap_run("talkers: sample 1 counts every packet to the VIP per source, exactly",
		test_talkers);
	tap_run("icmp: DNAT frag needed to the client quotes client -> VIP (options, cut quote)",
		test_icmp_dnat_frag_needed);
	tap_run("icmp: DNAT time exceeded to the VIP about the reply goes to the backend",
		test_icmp_dnat_time_exceeded_reply);
	tap_run("icmp: DNAT backend's port unreachable comes from the VIP (UDP csum, csum 0)",
		test_icmp_dnat_port_unreachable);
	tap_run("icmp: full NAT frag needed to the SNAT address goes to the client",
		test_icmp_fullnat_frag_needed);
	tap_run("icmp: source NAT time exceeded to the VIP goes to the private host (TCP, echo)",
		test_icmp_snat_time_exceeded);
	tap_run("icmp6: DNAT packet too big to the client; time exceeded to the VIP to the backend",
		test_icmp6_dnat);
	tap_run("icmp: elastic IP errors translated both ways, quote included",
		test_icmp_elastic_ip);
	tap_run("icmp: errors about unknown flows or misaddressed pass untouched",
		test_icmp_unknown_flow);
	tap_run("icmp: one-way flow, error's direction idle: still translated (PMTUD)",
		test_icmp_one_way_flow);
	tap_run("icmp: cut-short quotes and quoted later fragments pass untouched",
		test_icmp_truncated_quote);
	tap_run("icmp: error with TTL 1 passes untouched", test_icmp_ttl_expiring);
	tap_run("malformed: truncated at every byte (IPv4/IPv6, 0-2 tags)", test_truncated);
	tap_run("malformed: TCP header beyond consistent IP lengths", test_short_l4);
	tap_run("malformed: bad IHL, lengths, version, TCP offset, UDP length", test_bad_headers);
	tap_run("malformed: fragments dropped to VIPs, passed otherwise", test_fragments);
	tap_run("pass: non-VIP, no-service port, ICMP, non-IP pass byte-identical", test_not_ours);
	tap_run("hash: BPF and userspace agree on 10,000 random flows", test_hash_agreement);
	tap_run("batch: index agrees with full scans after add, change, delete, re-add",
		test_batch);
}

int main(void)
{
	if (geteuid() != 0) {
		tap_skip_all("needs root (BPF, network namespace)");
		return 0;
	}
	libbpf_set_print(NULL);
	pkt_mac(MAC_IN, mac_in);
	pkt_mac(MAC_BE, mac_be);
	pkt_mac(MAC_CLIENT, mac_client);
	pkt_mac(MAC_LOCAL_BE, mac_local_be);
	pkt_mac(MAC_PEER, mac_peer);
	/* The flow cache is per CPU: every packet on one CPU, one cache. */
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if (setup_netns() || setup_dataplane()) {
		printf("Bail out! test environment could not be set up\n");
		return 1;
	}
	run_cases();
	vipxdp_bpf__destroy(skel);
	return tap_done();
}
