/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet crafting and checking for the packet tests. pkt_build() and friends
 * write exact Ethernet frames from a declarative description; the verifier
 * re-parses any frame and checks every checksum it carries. Everything here
 * is written from the RFCs and shares no code with include/ or bpf/, so a
 * checksum bug in the data path cannot hide behind the same bug in the test.
 *
 * Builders are fully deterministic: the same description always gives the
 * same bytes, so a test builds the frame it expects the data path to emit
 * and compares it byte for byte (pkt_hexdiff() explains a mismatch).
 * Fixed values written by every builder:
 *   IPv4: version 4, IHL from the options, ID/frag_off/TOS from the
 *         description, header checksum computed.
 *   IPv6: version 6, flow label and traffic class from the description
 *         (0 unless set), no extension headers except an optional fragment
 *         header.
 *   TCP:  data offset from the options, window PKT_TCP_WINDOW (65535),
 *         urgent pointer 0, reserved bits 0.
 *   UDP:  length = 8 + payload; checksum computed (0 becomes 0xffff).
 * All multi-byte fields of the descriptions are in host byte order and are
 * written in network byte order. Addresses are text, parsed with inet_pton().
 *
 * Builders return the frame length, or -1 after printing the reason to
 * stderr as a TAP comment ("# pkt_build: ..."). To make a malformed packet,
 * build a valid one and then truncate it or poke bytes; pkt_parse() gives the
 * offsets and pkt_fix_checksums() makes the checksums valid again when the
 * test wants only the poked field to be wrong.
 *
 * Typical use, the frame sent and the frame the data path should emit:
 *	struct pkt_desc in = { .family = AF_INET, .saddr = "10.0.0.1",
 *			       .daddr = "192.0.2.10", .proto = IPPROTO_TCP,
 *			       .sport = 40000, .dport = 80, .tcp_flags = PKT_SYN,
 *			       .ip_id = 7, .ttl = 64 };
 *	struct pkt_desc out = in;
 *	out.ttl = 63;
 *	snprintf(out.daddr, sizeof(out.daddr), "10.1.0.5");
 *	pkt_mac("02:00:00:00:01:05", out.l2.dmac);
 *	n = pkt_build(&in, buf, sizeof(buf)); m = pkt_build(&out, exp, sizeof(exp));
 *	... run buf through the program, then compare with exp, and on a
 *	mismatch pkt_hexdiff(stdout, got, got_len, exp, m).
 */
#ifndef VIPXDP_PKT_BUILD_H
#define VIPXDP_PKT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10
#define PKT_URG 0x20

#define PKT_IP_MF      0x2000 /* in pkt_desc.frag_off, also for the IPv6 fragment header */
#define PKT_IP_DF      0x4000 /* IPv4 only */
#define PKT_IP_OFFMASK 0x1fff /* fragment offset in 8-byte units */

#define PKT_TCP_WINDOW 65535
#define PKT_ETH_MIN    60 /* shortest Ethernet frame without FCS: the usual pad_to */
#define PKT_ADDR_LEN   48 /* room for any text address (INET6_ADDRSTRLEN is 46) */

#define PKT_ARP_REQUEST 1
#define PKT_ARP_REPLY	2

#define PKT_NA_ROUTER	 0x80
#define PKT_NA_SOLICITED 0x40
#define PKT_NA_OVERRIDE	 0x20

/*
 * Ethernet header and up to two VLAN tags, vlan_*[0] being the outer tag.
 * A zero vlan_tpid[i] means the usual one: ETH_P_8021AD for the outer tag of
 * a double-tagged frame, ETH_P_8021Q otherwise. vlan_tci is the whole TCI
 * (PCP, DEI, VID).
 */
struct pkt_l2 {
	__u8 dmac[6], smac[6];
	int nvlan; /* 0..2 */
	__u16 vlan_tpid[2];
	__u16 vlan_tci[2];
};

/*
 * An IPv4 or IPv6 packet in Ethernet. The L4 header written depends on proto:
 *   IPPROTO_TCP     sport, dport, seq, ack, tcp_flags, tcp_options, then payload
 *   IPPROTO_UDP     sport, dport, then payload
 *   IPPROTO_ICMP,   icmp_type, icmp_code, checksum, then payload: the rest
 *   IPPROTO_ICMPV6  of the message (e.g. id and sequence of an echo); only
 *                   the ICMPv6 checksum covers the pseudo-header
 *   anything else   no L4 header: payload is all of the IP payload
 *                   (use it for IPIP, GRE, or a hand-made L4 header)
 * A non-first fragment (offset != 0 in frag_off) has no L4 header either; a
 * first fragment carries an L4 checksum computed over its own bytes only.
 */
struct pkt_desc {
	struct pkt_l2 l2;
	int family; /* AF_INET / AF_INET6 */
	char saddr[PKT_ADDR_LEN], daddr[PKT_ADDR_LEN];
	__u8 proto;
	__u8 ttl;		/* IPv4 TTL / IPv6 hop limit; 0 = 64 */
	__u8 tos;		/* IPv4 TOS / IPv6 traffic class */
	__u32 flow_label;	/* IPv6, 20 bits */
	__u16 ip_id;		/* IPv4 ID; identification of the IPv6 fragment header */
	__u16 frag_off;		/* offset in 8-byte units | PKT_IP_MF | PKT_IP_DF */
	bool ip6_frag_hdr;	/* IPv6: add a fragment header built from frag_off/ip_id */
	const __u8 *ip_options; /* IPv4 options, ip_options_len a multiple of 4, <= 40 */
	int ip_options_len;
	__u16 sport, dport;
	__u8 tcp_flags; /* PKT_SYN | PKT_ACK ... */
	__u32 seq, ack;
	const __u8 *tcp_options; /* tcp_options_len a multiple of 4, <= 40 */
	int tcp_options_len;
	bool udp_no_csum; /* write UDP checksum 0 (valid for IPv4 only) */
	__u8 icmp_type, icmp_code;
	const void *payload;
	int payload_len;
	int pad_to; /* pad the frame with zeros up to this length; 0 = none */
};

/* The Ethernet frame described by d into buf; returns its length or -1. */
int pkt_build(const struct pkt_desc *d, __u8 *buf, int buflen);

/* The same packet without Ethernet header (d->l2, d->pad_to ignored): an
 * inner packet for IPIP / IPv6-in-IPv6, or an ICMP error's quoted packet. */
int pkt_build_ip(const struct pkt_desc *d, __u8 *buf, int buflen);

/* Ethernet header (and tags) with the given ethertype, then payload, then
 * zeros up to pad_to. */
int pkt_build_eth(const struct pkt_l2 *l2, __u16 ethertype, const void *payload, int payload_len,
		  int pad_to, __u8 *buf, int buflen);

/* ARP for IPv4 over Ethernet (htype 1, ptype 0x0800, hlen 6, plen 4). */
struct pkt_arp {
	struct pkt_l2 l2;
	int op; /* PKT_ARP_REQUEST / PKT_ARP_REPLY (any value is written) */
	__u8 sha[6];
	char spa[PKT_ADDR_LEN];
	__u8 tha[6];
	char tpa[PKT_ADDR_LEN];
	int pad_to; /* PKT_ETH_MIN for what a real host usually sends */
};

int pkt_build_arp(const struct pkt_arp *a, __u8 *buf, int buflen);

/*
 * ICMPv6 neighbour solicitation (135) and advertisement (136).
 * Body: 4 bytes (zero for NS, na_flags then 3 zero bytes for NA), target,
 * then options in this order: link-layer address (type 1 source in NS,
 * type 2 target in NA, length 1) if has_lladdr, nonce (type 14) if
 * nonce_len, then extra_opts verbatim (e.g. a malformed option).
 */
struct pkt_nd {
	struct pkt_l2 l2;
	char saddr[PKT_ADDR_LEN]; /* "::" for DAD */
	char daddr[PKT_ADDR_LEN]; /* "" = NS: solicited-node address of target; NA: ff02::1 */
	char target[PKT_ADDR_LEN];
	__u8 hop_limit; /* 0 = 255, the only value a receiver accepts */
	__u8 code;	/* ICMPv6 code, 0 for a valid message */
	__u8 na_flags;	/* NA: PKT_NA_ROUTER | PKT_NA_SOLICITED | PKT_NA_OVERRIDE */
	bool has_lladdr;
	__u8 lladdr[6];
	const __u8 *nonce; /* nonce_len + 2 a multiple of 8 (6 is usual) */
	int nonce_len;
	const __u8 *extra_opts; /* appended as is */
	int extra_opts_len;
	int pad_to;
};

int pkt_build_ns(const struct pkt_nd *nd, __u8 *buf, int buflen);
int pkt_build_na(const struct pkt_nd *nd, __u8 *buf, int buflen);

/* "02:00:00:00:00:01" (or with '-') into mac; 0 or -1. */
int pkt_mac(const char *str, __u8 mac[6]);
/* Solicited-node multicast address ff02::1:ffXX:XXXX of an IPv6 address, as
 * text into out (PKT_ADDR_LEN bytes suffice); 0 or -1. */
int pkt_solicited_node(const char *addr, char *out, size_t outlen);
/* Ethernet address 33:33:XX:XX:XX:XX of an IPv6 multicast address; 0 or -1. */
int pkt_ipv6_mcast_mac(const char *addr, __u8 mac[6]);

/*
 * Where things are in a frame. Offsets count from the start of the frame;
 * -1 where the frame does not get that far. ip_end is where the IP packet
 * ends by its length field; bytes after it are link padding.
 */
struct pkt_info {
	int nvlan;
	__u16 vlan_tpid[2], vlan_tci[2];
	__u16 ethertype; /* after the tags */
	int l3_off;	 /* IP or ARP header */
	int family;	 /* AF_INET, AF_INET6, 0 for anything else */
	int ip_end;
	__u8 proto; /* L4 protocol, after IPv6 extension headers */
	__u8 ttl;
	bool fragment; /* MF set or offset != 0 */
	int l4_off;    /* -1 too for a non-first fragment */
	int l4_len;    /* ip_end - l4_off */
};

/* Parse Ethernet, up to 2 tags (0x8100, 0x88a8), IPv4 with options or IPv6
 * with hop-by-hop, destination options and fragment headers. False with the
 * reason in why (may be NULL) if the frame is truncated or malformed. */
bool pkt_parse(const __u8 *frame, int len, struct pkt_info *pi, char *why, size_t whylen);

/*
 * Check every checksum of the frame: IPv4 header, TCP, UDP (0 is accepted for
 * IPv4 only), ICMP, ICMPv6, and those of an IPIP / IPv6-in-IP inner packet.
 * A checksum is checked as a receiver does (the sum over the covered bytes
 * folds to all ones), so it accepts what an incremental update may leave;
 * compare with a built frame to insist on exact bytes. Also checks that
 * lengths are consistent (IP lengths within the frame, UDP length = IP
 * payload, TCP data offset). Fragments' L4 checksums are skipped; ARP and
 * other ethertypes have nothing to check. False with the reason in why.
 */
bool pkt_verify_checksums(const __u8 *frame, int len, char *why, size_t whylen);

/* Recompute the IPv4 header checksum and the L4 checksum (of a non-fragment)
 * in place, after a test poked a field. False if the frame does not parse. */
bool pkt_fix_checksums(__u8 *frame, int len);

/* Print the differences, naming the fields (from want's layout), as TAP
 * comments: every line starts with "# ". Prints nothing if equal. */
void pkt_hexdiff(FILE *f, const __u8 *got, int glen, const __u8 *want, int wlen);
/* Hex dump, 16 bytes a line, every line starting with "# ". */
void pkt_hexdump(FILE *f, const __u8 *frame, int len);

#endif /* VIPXDP_PKT_BUILD_H */
