/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder and independent checksum verifier for the packet tests; see
 * pkt_build.h. Frames are read and written byte by byte in network order,
 * never through header structs, so the code does not depend on alignment or
 * on the host's byte order, and the Internet checksum (RFC 1071) is
 * computed here from scratch rather than taken from the data path.
 */
#include "pkt_build.h"

#include <stdarg.h>
#include <string.h>

#define VLAN_TAG_LEN   4
#define IPV4_HLEN      20
#define IPV6_HLEN      40
#define IPV6_FRAG_HLEN 8
#define TCP_HLEN       20
#define UDP_HLEN       8
#define ICMP_HLEN      4
#define ARP_LEN	       28
#define ND_OPT_SLLA    1
#define ND_OPT_TLLA    2
#define ND_OPT_NONCE   14
#define ND_BODY_MAX    1280

#define NH_HOPOPTS  0
#define NH_ROUTING  43
#define NH_FRAGMENT 44
#define NH_DSTOPTS  60

/* ---- bytes and checksums ---- */

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* Add len bytes as big-endian 16-bit words (odd tail padded with a zero
 * byte) to a 32-bit accumulator, without folding: an IP packet has at most
 * 32768 words of at most 0xffff, so the sum stays below 2^31. */
static __u32 sum_bytes(const __u8 *p, int len, __u32 sum)
{
	int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

/* One's complement of the folded sum: the value to store in a checksum
 * field, and 0 when verifying a region that includes a correct checksum. */
static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Pseudo-header sum: RFC 768/793 for IPv4, RFC 8200 section 8.1 for IPv6.
 * ip points at the IP header (addresses at fixed offsets). */
static __u32 pseudo_sum(int family, const __u8 *ip, __u8 proto, __u32 l4_len)
{
	__u32 sum;

	if (family == AF_INET) {
		sum = sum_bytes(ip + 12, 8, 0);
		sum += proto;
		sum += l4_len & 0xffff;
	} else {
		sum = sum_bytes(ip + 8, 32, 0);
		sum += l4_len >> 16;
		sum += l4_len & 0xffff;
		sum += proto;
	}
	return sum;
}

/* Checksum field offset inside the L4 header, -1 if proto has none. */
static int l4_csum_off(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return -1;
	}
}

/*
 * Fold of the L4 sum over l4[0..len), pseudo-header included except for
 * ICMPv4. With skip_field, the checksum field counts as zero and the result
 * is the value to store; without, the result is 0 iff the stored checksum is
 * valid (a receiver accepts 0x0000 and 0xffff alike where both verify).
 * len is at least the checksum field's end; co is even, so skipping the
 * field keeps every following word aligned.
 */
static __u16 l4_csum(int family, const __u8 *ip, __u8 proto, const __u8 *l4, int len,
		     bool skip_field)
{
	int co = l4_csum_off(proto);
	__u32 sum = 0;

	if (co < 0 || len < co + 2)
		return 0;
	if (proto != IPPROTO_ICMP)
		sum = pseudo_sum(family, ip, proto, (__u32)len);
	if (!skip_field)
		return fold(sum_bytes(l4, len, sum));
	sum = sum_bytes(l4, co, sum);
	sum = sum_bytes(l4 + co + 2, len - co - 2, sum);
	return fold(sum);
}

/* IPv4 header checksum to store (skip_field) or 0 iff valid (!skip_field). */
static __u16 ipv4_csum(const __u8 *ip, bool skip_field)
{
	int hlen = (ip[0] & 0xf) * 4;

	if (!skip_field)
		return fold(sum_bytes(ip, hlen, 0));
	return fold(sum_bytes(ip + 12, hlen - 12, sum_bytes(ip, 10, 0)));
}

/* ---- errors ---- */

static int build_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int build_err(const char *fmt, ...)
{
	va_list ap;

	fputs("# pkt_build: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static bool why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* ---- builders ---- */

static int parse_addr(int family, const char *text, __u8 *out, const char *what)
{
	if (family != AF_INET && family != AF_INET6)
		return build_err("family %d is neither AF_INET nor AF_INET6", family);
	if (inet_pton(family, text, out) != 1)
		return build_err("bad %s %s address '%s'", what,
				 family == AF_INET ? "IPv4" : "IPv6", text);
	return 0;
}

/* Ethernet header and tags; returns the header length or -1. */
static int put_l2(const struct pkt_l2 *l2, __u16 ethertype, __u8 *buf, int buflen)
{
	int hlen, i, off;

	if (l2->nvlan < 0 || l2->nvlan > 2)
		return build_err("nvlan %d not in 0..2", l2->nvlan);
	hlen = ETH_HLEN + l2->nvlan * VLAN_TAG_LEN;
	if (hlen > buflen)
		return build_err("buffer of %d bytes too small for the Ethernet header", buflen);
	memcpy(buf, l2->dmac, 6);
	memcpy(buf + 6, l2->smac, 6);
	off = 12;
	for (i = 0; i < l2->nvlan; i++) {
		__u16 tpid = l2->vlan_tpid[i];

		if (!tpid)
			tpid = (l2->nvlan == 2 && i == 0) ? ETH_P_8021AD : ETH_P_8021Q;
		put16(buf + off, tpid);
		put16(buf + off + 2, l2->vlan_tci[i]);
		off += VLAN_TAG_LEN;
	}
	put16(buf + off, ethertype);
	return hlen;
}

static int pad(int len, int pad_to, __u8 *buf, int buflen)
{
	if (pad_to <= len)
		return len;
	if (pad_to > buflen)
		return build_err("pad_to %d exceeds the buffer (%d bytes)", pad_to, buflen);
	memset(buf + len, 0, pad_to - len);
	return pad_to;
}

int pkt_build_ip(const struct pkt_desc *d, __u8 *buf, int buflen)
{
	bool v4 = d->family == AF_INET;
	bool frag = v4 || d->ip6_frag_hdr;
	bool has_l4 = !(frag && (d->frag_off & PKT_IP_OFFMASK));
	int l3len, l4hlen = 0, total;
	__u8 saddr[16], daddr[16], *l4;
	__u16 c;

	if (parse_addr(d->family, d->saddr, saddr, "source") ||
	    parse_addr(d->family, d->daddr, daddr, "destination"))
		return -1;
	if (d->payload_len < 0 || (d->payload_len && !d->payload))
		return build_err("payload_len %d without payload", d->payload_len);
	if (d->ip_options_len < 0 || d->ip_options_len % 4 || d->ip_options_len > 40 ||
	    (d->ip_options_len && !d->ip_options))
		return build_err("ip_options_len %d: must be a multiple of 4, at most 40",
				 d->ip_options_len);
	if (d->ip_options_len && !v4)
		return build_err("ip_options are for IPv4");
	if (d->tcp_options_len < 0 || d->tcp_options_len % 4 || d->tcp_options_len > 40 ||
	    (d->tcp_options_len && !d->tcp_options))
		return build_err("tcp_options_len %d: must be a multiple of 4, at most 40",
				 d->tcp_options_len);

	l3len = v4 ? IPV4_HLEN + d->ip_options_len
		   : IPV6_HLEN + (d->ip6_frag_hdr ? IPV6_FRAG_HLEN : 0);
	if (has_l4) {
		switch (d->proto) {
		case IPPROTO_TCP:
			l4hlen = TCP_HLEN + d->tcp_options_len;
			break;
		case IPPROTO_UDP:
			l4hlen = UDP_HLEN;
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			l4hlen = ICMP_HLEN;
			break;
		}
	}
	total = l3len + l4hlen + d->payload_len;
	if (total > (v4 ? 65535 : 65535 + IPV6_HLEN))
		return build_err("IP packet of %d bytes too long", total);
	if (total > buflen)
		return build_err("buffer of %d bytes too small for %d", buflen, total);
	memset(buf, 0, total);

	/* IP header */
	if (v4) {
		buf[0] = 0x40 | (l3len / 4);
		buf[1] = d->tos;
		put16(buf + 2, total);
		put16(buf + 4, d->ip_id);
		put16(buf + 6, d->frag_off);
		buf[8] = d->ttl ? d->ttl : 64;
		buf[9] = d->proto;
		memcpy(buf + 12, saddr, 4);
		memcpy(buf + 16, daddr, 4);
		if (d->ip_options_len)
			memcpy(buf + IPV4_HLEN, d->ip_options, d->ip_options_len);
		put16(buf + 10, ipv4_csum(buf, true));
	} else {
		put32(buf, 6u << 28 | (__u32)d->tos << 20 | (d->flow_label & 0xfffff));
		put16(buf + 4, total - IPV6_HLEN);
		buf[6] = d->ip6_frag_hdr ? NH_FRAGMENT : d->proto;
		buf[7] = d->ttl ? d->ttl : 64;
		memcpy(buf + 8, saddr, 16);
		memcpy(buf + 24, daddr, 16);
		if (d->ip6_frag_hdr) {
			__u8 *fh = buf + IPV6_HLEN;

			fh[0] = d->proto;
			put16(fh + 2,
			      (d->frag_off & PKT_IP_OFFMASK) << 3 | !!(d->frag_off & PKT_IP_MF));
			put32(fh + 4, d->ip_id);
		}
	}

	/* L4 header and payload */
	l4 = buf + l3len;
	if (d->payload_len)
		memcpy(l4 + l4hlen, d->payload, d->payload_len);
	if (!l4hlen)
		return total;
	switch (d->proto) {
	case IPPROTO_TCP:
		put16(l4, d->sport);
		put16(l4 + 2, d->dport);
		put32(l4 + 4, d->seq);
		put32(l4 + 8, d->ack);
		l4[12] = (l4hlen / 4) << 4;
		l4[13] = d->tcp_flags;
		put16(l4 + 14, PKT_TCP_WINDOW);
		if (d->tcp_options_len)
			memcpy(l4 + TCP_HLEN, d->tcp_options, d->tcp_options_len);
		break;
	case IPPROTO_UDP:
		put16(l4, d->sport);
		put16(l4 + 2, d->dport);
		if (total - l3len > 65535)
			return build_err("UDP datagram too long");
		put16(l4 + 4, total - l3len);
		break;
	default: /* ICMP, ICMPv6 */
		l4[0] = d->icmp_type;
		l4[1] = d->icmp_code;
		break;
	}
	if (d->proto == IPPROTO_UDP && d->udp_no_csum)
		return total;
	c = l4_csum(d->family, buf, d->proto, l4, total - l3len, true);
	/* A computed UDP checksum of 0 is sent as all ones (RFC 768). */
	if (d->proto == IPPROTO_UDP && !c)
		c = 0xffff;
	put16(l4 + l4_csum_off(d->proto), c);
	return total;
}

int pkt_build(const struct pkt_desc *d, __u8 *buf, int buflen)
{
	int hlen, n;

	hlen = put_l2(&d->l2, d->family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP, buf, buflen);
	if (hlen < 0)
		return -1;
	n = pkt_build_ip(d, buf + hlen, buflen - hlen);
	if (n < 0)
		return -1;
	return pad(hlen + n, d->pad_to, buf, buflen);
}

int pkt_build_eth(const struct pkt_l2 *l2, __u16 ethertype, const void *payload, int payload_len,
		  int pad_to, __u8 *buf, int buflen)
{
	int hlen = put_l2(l2, ethertype, buf, buflen);

	if (hlen < 0)
		return -1;
	if (payload_len < 0 || (payload_len && !payload))
		return build_err("payload_len %d without payload", payload_len);
	if (payload_len > buflen - hlen)
		return build_err("buffer of %d bytes too small for %d", buflen, hlen + payload_len);
	if (payload_len)
		memcpy(buf + hlen, payload, payload_len);
	return pad(hlen + payload_len, pad_to, buf, buflen);
}

int pkt_build_arp(const struct pkt_arp *a, __u8 *buf, int buflen)
{
	__u8 arp[ARP_LEN];

	put16(arp, 1); /* Ethernet */
	put16(arp + 2, ETH_P_IP);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, a->op);
	memcpy(arp + 8, a->sha, 6);
	if (parse_addr(AF_INET, a->spa, arp + 14, "ARP sender"))
		return -1;
	memcpy(arp + 18, a->tha, 6);
	if (parse_addr(AF_INET, a->tpa, arp + 24, "ARP target"))
		return -1;
	return pkt_build_eth(&a->l2, ETH_P_ARP, arp, ARP_LEN, a->pad_to, buf, buflen);
}

static int build_nd(const struct pkt_nd *nd, __u8 type, __u8 *buf, int buflen)
{
	struct pkt_desc d = {
		.l2 = nd->l2,
		.family = AF_INET6,
		.proto = IPPROTO_ICMPV6,
		.ttl = nd->hop_limit ? nd->hop_limit : 255,
		.icmp_type = type,
		.icmp_code = nd->code,
		.pad_to = nd->pad_to,
	};
	__u8 body[ND_BODY_MAX];
	int len = 20;

	memset(body, 0, sizeof(body));
	if (nd->nonce_len < 0 || (nd->nonce_len && (!nd->nonce || (nd->nonce_len + 2) % 8)))
		return build_err("nonce_len %d: nonce_len + 2 must be a multiple of 8",
				 nd->nonce_len);
	if (nd->extra_opts_len < 0 || (nd->extra_opts_len && !nd->extra_opts))
		return build_err("extra_opts_len %d without extra_opts", nd->extra_opts_len);
	if (nd->nonce_len > ND_BODY_MAX || nd->extra_opts_len > ND_BODY_MAX ||
	    20 + 8 + nd->nonce_len + 2 + nd->extra_opts_len > ND_BODY_MAX)
		return build_err("ND options too long");
	if (type == 136)
		body[0] = nd->na_flags;
	if (parse_addr(AF_INET6, nd->target, body + 4, "ND target"))
		return -1;
	if (nd->has_lladdr) {
		body[len] = type == 135 ? ND_OPT_SLLA : ND_OPT_TLLA;
		body[len + 1] = 1;
		memcpy(body + len + 2, nd->lladdr, 6);
		len += 8;
	}
	if (nd->nonce_len) {
		body[len] = ND_OPT_NONCE;
		body[len + 1] = (nd->nonce_len + 2) / 8;
		memcpy(body + len + 2, nd->nonce, nd->nonce_len);
		len += nd->nonce_len + 2;
	}
	if (nd->extra_opts_len) {
		memcpy(body + len, nd->extra_opts, nd->extra_opts_len);
		len += nd->extra_opts_len;
	}
	d.payload = body;
	d.payload_len = len;

	snprintf(d.saddr, sizeof(d.saddr), "%s", nd->saddr);
	if (nd->daddr[0])
		snprintf(d.daddr, sizeof(d.daddr), "%s", nd->daddr);
	else if (type == 136)
		snprintf(d.daddr, sizeof(d.daddr), "ff02::1");
	else if (pkt_solicited_node(nd->target, d.daddr, sizeof(d.daddr)))
		return build_err("bad ND target '%s'", nd->target);
	return pkt_build(&d, buf, buflen);
}

int pkt_build_ns(const struct pkt_nd *nd, __u8 *buf, int buflen)
{
	return build_nd(nd, 135, buf, buflen);
}

int pkt_build_na(const struct pkt_nd *nd, __u8 *buf, int buflen)
{
	return build_nd(nd, 136, buf, buflen);
}

/* ---- small helpers ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pkt_mac(const char *str, __u8 mac[6])
{
	__u8 m[6];
	int i;

	if (!str)
		return -1;
	for (i = 0; i < 6; i++) {
		int hi = hexval(str[0]), lo = hi < 0 ? -1 : hexval(str[1]);

		if (hi < 0 || lo < 0)
			return -1;
		m[i] = hi << 4 | lo;
		str += 2;
		if (i < 5 && *str != ':' && *str != '-')
			return -1;
		if (i < 5)
			str++;
	}
	if (*str)
		return -1;
	memcpy(mac, m, 6);
	return 0;
}

int pkt_solicited_node(const char *addr, char *out, size_t outlen)
{
	__u8 a[16], sn[16] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	if (!addr || inet_pton(AF_INET6, addr, a) != 1)
		return -1;
	memcpy(sn + 13, a + 13, 3);
	return inet_ntop(AF_INET6, sn, out, outlen) ? 0 : -1;
}

int pkt_ipv6_mcast_mac(const char *addr, __u8 mac[6])
{
	__u8 a[16];

	if (!addr || inet_pton(AF_INET6, addr, a) != 1 || a[0] != 0xff)
		return -1;
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a + 12, 4);
	return 0;
}

/* ---- parser ---- */

/*
 * Parse the IP packet at frame[off..end) (end: the frame length, or the end
 * of the outer packet for an inner one). Fills pi as far as it gets.
 */
static bool parse_ip(const __u8 *f, int off, int end, int family, struct pkt_info *pi, char *why,
		     size_t whylen)
{
	const __u8 *ip = f + off;
	int avail = end - off, hlen, total;

	pi->l3_off = off;
	pi->family = family;
	if (family == AF_INET) {
		if (avail < IPV4_HLEN)
			return why_set(why, whylen, "IPv4 header truncated: %d bytes", avail);
		if (ip[0] >> 4 != 4)
			return why_set(why, whylen, "IPv4 version %d", ip[0] >> 4);
		hlen = (ip[0] & 0xf) * 4;
		total = get16(ip + 2);
		pi->proto = ip[9];
		pi->ttl = ip[8];
		pi->fragment = get16(ip + 6) & (PKT_IP_MF | PKT_IP_OFFMASK);
		if (hlen < IPV4_HLEN)
			return why_set(why, whylen, "IPv4 IHL %d < 5", hlen / 4);
		if (hlen > avail)
			return why_set(why, whylen, "IPv4 header (IHL %d) truncated: %d bytes",
				       hlen / 4, avail);
		if (total < hlen || total > avail)
			return why_set(why, whylen, "IPv4 total length %d, header %d, %d bytes",
				       total, hlen, avail);
		pi->ip_end = off + total;
		if (get16(ip + 6) & PKT_IP_OFFMASK)
			return true; /* no L4 header in a non-first fragment */
		pi->l4_off = off + hlen;
		pi->l4_len = total - hlen;
		return true;
	}

	if (avail < IPV6_HLEN)
		return why_set(why, whylen, "IPv6 header truncated: %d bytes", avail);
	if (ip[0] >> 4 != 6)
		return why_set(why, whylen, "IPv6 version %d", ip[0] >> 4);
	total = IPV6_HLEN + get16(ip + 4);
	pi->ttl = ip[7];
	if (total > avail)
		return why_set(why, whylen, "IPv6 payload length %d, %d bytes after the header",
			       total - IPV6_HLEN, avail - IPV6_HLEN);
	pi->ip_end = off + total;
	pi->proto = ip[6];
	hlen = IPV6_HLEN;
	for (;;) {
		const __u8 *eh = ip + hlen;
		bool nofrag = true;
		int elen;

		switch (pi->proto) {
		case NH_HOPOPTS:
		case NH_DSTOPTS:
			if (total - hlen < 8)
				return why_set(why, whylen, "IPv6 extension header truncated");
			elen = (eh[1] + 1) * 8;
			break;
		case NH_FRAGMENT:
			if (total - hlen < IPV6_FRAG_HLEN)
				return why_set(why, whylen, "IPv6 fragment header truncated");
			elen = IPV6_FRAG_HLEN;
			pi->fragment = true;
			nofrag = !(get16(eh + 2) & 0xfff8);
			break;
		case NH_ROUTING:
			return why_set(why, whylen, "IPv6 routing header not supported");
		default:
			pi->l4_off = off + hlen;
			pi->l4_len = total - hlen;
			return true;
		}
		if (elen > total - hlen)
			return why_set(why, whylen, "IPv6 extension header %d truncated",
				       pi->proto);
		pi->proto = eh[0];
		hlen += elen;
		if (!nofrag)
			return true;
	}
}

bool pkt_parse(const __u8 *f, int len, struct pkt_info *pi, char *why, size_t whylen)
{
	int off = 12;

	memset(pi, 0, sizeof(*pi));
	pi->l3_off = pi->ip_end = pi->l4_off = -1;
	if (len < ETH_HLEN)
		return why_set(why, whylen, "frame of %d bytes shorter than Ethernet header", len);
	pi->ethertype = get16(f + off);
	while (pi->ethertype == ETH_P_8021Q || pi->ethertype == ETH_P_8021AD) {
		if (pi->nvlan == 2)
			return why_set(why, whylen, "more than 2 VLAN tags");
		if (len < off + 2 + VLAN_TAG_LEN)
			return why_set(why, whylen, "VLAN tag truncated");
		pi->vlan_tpid[pi->nvlan] = pi->ethertype;
		pi->vlan_tci[pi->nvlan] = get16(f + off + 2);
		pi->nvlan++;
		off += VLAN_TAG_LEN;
		pi->ethertype = get16(f + off);
	}
	off += 2;
	switch (pi->ethertype) {
	case ETH_P_IP:
		return parse_ip(f, off, len, AF_INET, pi, why, whylen);
	case ETH_P_IPV6:
		return parse_ip(f, off, len, AF_INET6, pi, why, whylen);
	case ETH_P_ARP:
		pi->l3_off = off;
		if (len - off < ARP_LEN)
			return why_set(why, whylen, "ARP truncated: %d bytes", len - off);
		return true;
	default:
		pi->l3_off = off;
		return true;
	}
}

/* ---- verifier ---- */

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	default:
		return "L4";
	}
}

static bool verify_ip(const __u8 *f, int off, int end, int family, int depth, char *why,
		      size_t whylen)
{
	struct pkt_info pi;
	const __u8 *ip = f + off, *l4;
	const char *inner = depth ? "inner " : "";
	__u16 want;
	int co, minlen;

	memset(&pi, 0, sizeof(pi));
	pi.l4_off = -1;
	if (!parse_ip(f, off, end, family, &pi, why, whylen))
		return false;
	if (family == AF_INET) {
		if (ipv4_csum(ip, false))
			return why_set(why, whylen, "%sIPv4 header checksum 0x%04x, want 0x%04x",
				       inner, get16(ip + 10), ipv4_csum(ip, true));
	}
	if (pi.fragment || pi.l4_off < 0)
		return true; /* L4 checksum covers the whole datagram: not checkable */

	l4 = f + pi.l4_off;
	switch (pi.proto) {
	case IPPROTO_IPIP:
		if (depth < 2)
			return verify_ip(f, pi.l4_off, pi.ip_end, AF_INET, depth + 1, why, whylen);
		return true;
	case IPPROTO_IPV6:
		if (depth < 2)
			return verify_ip(f, pi.l4_off, pi.ip_end, AF_INET6, depth + 1, why, whylen);
		return true;
	case IPPROTO_TCP:
		minlen = TCP_HLEN;
		break;
	case IPPROTO_UDP:
		minlen = UDP_HLEN;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		minlen = ICMP_HLEN;
		break;
	default:
		return true;
	}
	if (pi.l4_len < minlen)
		return why_set(why, whylen, "%s%s header truncated: %d bytes", inner,
			       proto_name(pi.proto), pi.l4_len);
	if (pi.proto == IPPROTO_TCP && (l4[12] >> 4 < 5 || (l4[12] >> 4) * 4 > pi.l4_len))
		return why_set(why, whylen, "%sTCP data offset %d, segment of %d bytes", inner,
			       l4[12] >> 4, pi.l4_len);
	if (pi.proto == IPPROTO_UDP) {
		if (get16(l4 + 4) != pi.l4_len)
			return why_set(why, whylen, "%sUDP length %d, IP payload %d", inner,
				       get16(l4 + 4), pi.l4_len);
		if (!get16(l4 + 6)) {
			if (family == AF_INET)
				return true;
			return why_set(why, whylen, "%sUDP checksum 0 over IPv6", inner);
		}
	}
	if (!l4_csum(family, ip, pi.proto, l4, pi.l4_len, false))
		return true;
	co = l4_csum_off(pi.proto);
	want = l4_csum(family, ip, pi.proto, l4, pi.l4_len, true);
	if (pi.proto == IPPROTO_UDP && !want)
		want = 0xffff;
	return why_set(why, whylen, "%s%s checksum 0x%04x, want 0x%04x", inner,
		       proto_name(pi.proto), get16(l4 + co), want);
}

bool pkt_verify_checksums(const __u8 *frame, int len, char *why, size_t whylen)
{
	struct pkt_info pi;

	if (!pkt_parse(frame, len, &pi, why, whylen))
		return false;
	if (pi.family)
		return verify_ip(frame, pi.l3_off, len, pi.family, 0, why, whylen);
	return true;
}

bool pkt_fix_checksums(__u8 *frame, int len)
{
	struct pkt_info pi;
	__u8 *ip, *l4;
	__u16 c;

	if (!pkt_parse(frame, len, &pi, NULL, 0))
		return false;
	if (!pi.family)
		return true;
	ip = frame + pi.l3_off;
	if (pi.family == AF_INET) {
		put16(ip + 10, ipv4_csum(ip, true));
	}
	if (pi.fragment || pi.l4_off < 0 || l4_csum_off(pi.proto) < 0)
		return true;
	l4 = frame + pi.l4_off;
	if (pi.l4_len < l4_csum_off(pi.proto) + 2)
		return true;
	if (pi.proto == IPPROTO_UDP && pi.family == AF_INET && !get16(l4 + 6))
		return true; /* keep "no checksum" */
	c = l4_csum(pi.family, ip, pi.proto, l4, pi.l4_len, true);
	if (pi.proto == IPPROTO_UDP && !c)
		c = 0xffff;
	put16(l4 + l4_csum_off(pi.proto), c);
	return true;
}

/* ---- diff and dump ---- */

struct field {
	int lo, hi; /* [lo, hi) relative to the header */
	const char *name;
};

static const struct field ipv4_fields[] = {
	{0, 1, "version/ihl"}, {1, 2, "tos"},	  {2, 4, "tot_len"},   {4, 6, "id"},
	{6, 8, "frag_off"},    {8, 9, "ttl"},	  {9, 10, "protocol"}, {10, 12, "check"},
	{12, 16, "saddr"},     {16, 20, "daddr"}, {20, 60, "options"}, {0, 0, NULL},
};

static const struct field ipv6_fields[] = {
	{0, 4, "version/tc/flow"}, {4, 6, "payload_len"}, {6, 7, "nexthdr"}, {7, 8, "hop_limit"},
	{8, 24, "saddr"},	   {24, 40, "daddr"},	  {0, 0, NULL},
};

static const struct field tcp_fields[] = {
	{0, 2, "source"},    {2, 4, "dest"},	{4, 8, "seq"},	    {8, 12, "ack_seq"},
	{12, 13, "doff"},    {13, 14, "flags"}, {14, 16, "window"}, {16, 18, "check"},
	{18, 20, "urg_ptr"}, {0, 0, NULL},
};

static const struct field udp_fields[] = {
	{0, 2, "source"}, {2, 4, "dest"}, {4, 6, "len"}, {6, 8, "check"}, {0, 0, NULL},
};

static const struct field icmp_fields[] = {
	{0, 1, "type"},
	{1, 2, "code"},
	{2, 4, "checksum"},
	{0, 0, NULL},
};

static const struct field arp_fields[] = {
	{0, 2, "htype"}, {2, 4, "ptype"}, {4, 5, "hlen"},  {5, 6, "plen"},  {6, 8, "op"},
	{8, 14, "sha"},	 {14, 18, "spa"}, {18, 24, "tha"}, {24, 28, "tpa"}, {0, 0, NULL},
};

static bool in_table(const struct field *t, int rel, int limit, const char *layer, char *out,
		     size_t n)
{
	for (; t->name; t++) {
		if (rel >= t->lo && rel < t->hi && rel < limit) {
			snprintf(out, n, "%s.%s", layer, t->name);
			return true;
		}
	}
	return false;
}

/* Name the field at frame offset off, from pi (parsed as far as it went). */
static void field_name(const struct pkt_info *pi, const __u8 *f, int len, int off, char *out,
		       size_t n)
{
	int eth_end = ETH_HLEN + pi->nvlan * VLAN_TAG_LEN;

	if (off < 6) {
		snprintf(out, n, "eth.dst");
		return;
	}
	if (off < 12) {
		snprintf(out, n, "eth.src");
		return;
	}
	if (off < eth_end - 2) {
		int i = (off - 12) / VLAN_TAG_LEN;

		snprintf(out, n, "vlan%d.%s", i, (off - 12) % VLAN_TAG_LEN < 2 ? "tpid" : "tci");
		return;
	}
	if (off < eth_end) {
		snprintf(out, n, "eth.type");
		return;
	}
	if (pi->ip_end >= 0 && off >= pi->ip_end) {
		snprintf(out, n, "padding+%d", off - pi->ip_end);
		return;
	}
	if (pi->l3_off >= 0 && off >= pi->l3_off && (pi->l4_off < 0 || off < pi->l4_off)) {
		int rel = off - pi->l3_off;
		int ihl = pi->l3_off < len ? (f[pi->l3_off] & 0xf) * 4 : IPV4_HLEN;

		if (pi->family == AF_INET && in_table(ipv4_fields, rel, ihl, "ipv4", out, n))
			return;
		if (pi->family == AF_INET6 && in_table(ipv6_fields, rel, IPV6_HLEN, "ipv6", out, n))
			return;
		if (pi->family == AF_INET6) {
			snprintf(out, n, "ipv6.after_hdr+%d", rel - IPV6_HLEN);
			return;
		}
		if (pi->family == AF_INET) {
			snprintf(out, n, "ip.payload+%d", rel - ihl);
			return;
		}
		if (pi->ethertype == ETH_P_ARP && in_table(arp_fields, rel, ARP_LEN, "arp", out, n))
			return;
		snprintf(out, n, "l3+%d", rel);
		return;
	}
	if (pi->l4_off >= 0 && off >= pi->l4_off) {
		int rel = off - pi->l4_off;
		const char *layer = "ip";
		int hl = 0;

		switch (pi->proto) {
		case IPPROTO_TCP:
			layer = "tcp";
			hl = pi->l4_off + 12 < len ? (f[pi->l4_off + 12] >> 4) * 4 : TCP_HLEN;
			if (in_table(tcp_fields, rel, TCP_HLEN, "tcp", out, n))
				return;
			if (rel < hl) {
				snprintf(out, n, "tcp.options+%d", rel - TCP_HLEN);
				return;
			}
			break;
		case IPPROTO_UDP:
			layer = "udp";
			hl = UDP_HLEN;
			if (in_table(udp_fields, rel, UDP_HLEN, "udp", out, n))
				return;
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			layer = pi->proto == IPPROTO_ICMP ? "icmp" : "icmpv6";
			if (in_table(icmp_fields, rel, ICMP_HLEN, layer, out, n))
				return;
			snprintf(out, n, "%s.body+%d", layer, rel - ICMP_HLEN);
			return;
		default:
			break;
		}
		snprintf(out, n, "%s.payload+%d", layer, rel - hl);
		return;
	}
	snprintf(out, n, "byte");
}

/* Same field: names equal up to a "+offset" suffix (payload+3, payload+4). */
static bool same_field(const char *a, const char *b)
{
	size_t la = strcspn(a, "+"), lb = strcspn(b, "+");

	return la == lb && !strncmp(a, b, la);
}

static void hex_row(FILE *f, const char *label, const __u8 *p, int len, int row)
{
	int i;

	fprintf(f, "# %s", label);
	for (i = row; i < row + 16; i++) {
		if (i < len)
			fprintf(f, " %02x", p[i]);
		else
			fprintf(f, " --");
	}
	fputc('\n', f);
}

void pkt_hexdiff(FILE *f, const __u8 *got, int glen, const __u8 *want, int wlen)
{
	int max = glen > wlen ? glen : wlen, min = glen < wlen ? glen : wlen;
	int i, row, last, ndiff = 0, first = -1;
	struct pkt_info pi;
	char name[64], prev[64] = "";
	const __u8 *lay;
	int laylen, run_lo = -1;

	for (i = 0; i < max; i++) {
		if (i >= min || got[i] != want[i]) {
			ndiff++;
			if (first < 0)
				first = i;
		}
	}
	if (!ndiff)
		return;

	/* Field names from the expected frame's layout, or from got's if the
	 * expected one is itself malformed (a failed parse still fills what
	 * it got to, so fall back to want's partial layout). */
	lay = want;
	laylen = wlen;
	if (!pkt_parse(want, wlen, &pi, NULL, 0)) {
		if (pkt_parse(got, glen, &pi, NULL, 0)) {
			lay = got;
			laylen = glen;
		} else {
			pkt_parse(want, wlen, &pi, NULL, 0);
		}
	}

	fprintf(f, "# frame differs: got %d bytes, want %d; %d byte%s differ, first at 0x%04x\n",
		glen, wlen, ndiff, ndiff == 1 ? "" : "s", first);

	/* Differing fields, consecutive bytes of one field merged. */
	fprintf(f, "# fields:");
	for (i = first; i <= max; i++) {
		bool diff = i < max && (i >= min || got[i] != want[i]);

		if (diff)
			field_name(&pi, lay, laylen, i, name, sizeof(name));
		if (run_lo >= 0 && (!diff || !same_field(name, prev))) {
			if (i - 1 > run_lo)
				fprintf(f, " %s(0x%x-0x%x)", prev, run_lo, i - 1);
			else
				fprintf(f, " %s(0x%x)", prev, run_lo);
			run_lo = -1;
		}
		if (diff && run_lo < 0) {
			run_lo = i;
			snprintf(prev, sizeof(prev), "%s", name);
		}
	}
	fputc('\n', f);

	for (row = first & ~15; row < max; row += 16) {
		bool rowdiff = false;

		for (i = row; i < row + 16 && i < max; i++)
			if (i >= min || got[i] != want[i])
				rowdiff = true;
		if (!rowdiff)
			continue;
		fprintf(f, "# %04x\n", row);
		hex_row(f, "  got: ", got, glen, row);
		hex_row(f, "  want:", want, wlen, row);
		fprintf(f, "#       ");
		last = row;
		for (i = row; i < row + 16 && i < max; i++)
			if (i >= min || got[i] != want[i])
				last = i;
		for (i = row; i <= last; i++)
			fputs(i >= min || got[i] != want[i] ? " ^^" : "   ", f);
		fputc('\n', f);
	}
}

void pkt_hexdump(FILE *f, const __u8 *frame, int len)
{
	int row, i;

	for (row = 0; row < len; row += 16) {
		fprintf(f, "# %04x:", row);
		for (i = row; i < row + 16 && i < len; i++)
			fprintf(f, " %02x", frame[i]);
		fputc('\n', f);
	}
}
