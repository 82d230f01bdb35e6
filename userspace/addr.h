/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address, endpoint, service and prefix parsing and formatting for the
 * control plane: "198.18.0.1", "[2001:db8::1]:80", "198.18.0.1:80/tcp",
 * "2001:db8::/32". Addresses use the 16-byte struct vipxdp_addr of the ABI
 * (IPv4 in the first 4 bytes, the rest zero); ports are in host order here.
 *
 * Parsers are strict (no names, no whitespace, no zone ids) and, where they
 * take an error buffer, write a message that quotes the whole input, e.g.
 * "port 70000 out of range (1-65535) in '198.18.0.1:70000/tcp'".
 * Formatters always return their buffer and print the canonical form:
 * inet_ntop() text (IPv6 compressed, lower case), IPv6 in brackets when a
 * port follows, protocols in lower case.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef VIPXDP_ADDR_H
#define VIPXDP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "vipxdp_abi.h"

/* Buffer sizes for the formatters, terminating NUL included. */
#define VIPXDP_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define VIPXDP_ENDPOINT_STRLEN (VIPXDP_ADDR_STRLEN + 8) /* "[" "]:" 65535 */
#define VIPXDP_SVC_STRLEN (VIPXDP_ENDPOINT_STRLEN + 4) /* "/tcp" */
#define VIPXDP_CIDR_STRLEN (VIPXDP_ADDR_STRLEN + 4) /* "/128" */

/* An address and a port: "198.18.0.1:80" or "[2001:db8::1]:80". */
struct vipxdp_endpoint {
	__u8 family; /* VIPXDP_AF_INET or VIPXDP_AF_INET6 */
	struct vipxdp_addr addr;
	__u16 port; /* host order, 1-65535 */
};

/* A service: VIP endpoint plus protocol, "198.18.0.1:80/tcp". */
struct vipxdp_svc_id {
	struct vipxdp_endpoint ep;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* A prefix, "198.18.0.0/15". Host bits are always zero (see cidr_parse). */
struct vipxdp_cidr {
	__u8 family;
	__u8 prefix_len; /* 0-32 (IPv4) or 0-128 (IPv6) */
	struct vipxdp_addr addr;
};

/* IPv4 or IPv6 literal (inet_pton). -EINVAL otherwise; outputs untouched. */
int vipxdp_addr_parse(const char *s, __u8 *family, struct vipxdp_addr *a);
/* Canonical text of an address; "(family N)" for an unknown family. */
const char *vipxdp_addr_str(__u8 family, const struct vipxdp_addr *a, char *buf, size_t len);
/* Order by family, then address bytes (network order); 0 when equal. */
int vipxdp_addr_cmp(__u8 fa, const struct vipxdp_addr *a, __u8 fb, const struct vipxdp_addr *b);
bool vipxdp_addr_eq(__u8 fa, const struct vipxdp_addr *a, __u8 fb, const struct vipxdp_addr *b);
/* "IPv4" / "IPv6" / "unknown family" */
const char *vipxdp_family_str(__u8 family);

/* Decimal port 1-65535: -EINVAL when not a number, -ERANGE when out of range. */
int vipxdp_port_parse(const char *s, __u16 *port);
/* "tcp" or "udp", any case: IPPROTO_TCP / IPPROTO_UDP. -EINVAL otherwise. */
int vipxdp_proto_parse(const char *s, __u8 *proto);
/* "tcp", "udp" or "unknown": a static string. */
const char *vipxdp_proto_str(__u8 proto);

/* "ADDR:PORT" (IPv4) or "[IPV6]:PORT". On error -EINVAL and a message in err. */
int vipxdp_endpoint_parse(const char *s, struct vipxdp_endpoint *ep, char *err, size_t errlen);
const char *vipxdp_endpoint_str(const struct vipxdp_endpoint *ep, char *buf, size_t len);
/* Order by family, address, then port; 0 when equal. */
int vipxdp_endpoint_cmp(const struct vipxdp_endpoint *a, const struct vipxdp_endpoint *b);

/* "ADDR:PORT/PROTO" or "[IPV6]:PORT/PROTO", PROTO tcp|udp in any case. */
int vipxdp_svc_id_parse(const char *s, struct vipxdp_svc_id *svc, char *err, size_t errlen);
const char *vipxdp_svc_id_str(const struct vipxdp_svc_id *svc, char *buf, size_t len);

/*
 * "ADDR/LEN", or a bare ADDR meaning a host prefix (/32 or /128). Host bits
 * set below the prefix length are accepted and cleared: "198.18.1.2/15"
 * gives 198.18.0.0/15.
 */
int vipxdp_cidr_parse(const char *s, struct vipxdp_cidr *c, char *err, size_t errlen);
const char *vipxdp_cidr_str(const struct vipxdp_cidr *c, char *buf, size_t len);
/* Is the address inside the prefix? Never for a different family. */
bool vipxdp_cidr_contains(const struct vipxdp_cidr *c, __u8 family, const struct vipxdp_addr *a);

#endif /* VIPXDP_ADDR_H */
