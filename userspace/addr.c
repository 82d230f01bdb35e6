/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address, endpoint, service and prefix parsing and formatting (see addr.h).
 * Everything goes through inet_pton()/inet_ntop(), so the accepted literals
 * and the canonical output are exactly the C library's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"

_Static_assert(VIPXDP_AF_INET == AF_INET, "VIPXDP_AF_INET must equal AF_INET");
_Static_assert(VIPXDP_AF_INET6 == AF_INET6, "VIPXDP_AF_INET6 must equal AF_INET6");
_Static_assert(VIPXDP_ADDR_STRLEN == INET6_ADDRSTRLEN, "VIPXDP_ADDR_STRLEN");

/* Longest address text we try to parse; longer input is not an address. */
#define ADDR_TEXT_MAX 64

int vipxdp_addr_parse(const char *s, __u8 *family, struct vipxdp_addr *a)
{
	struct vipxdp_addr tmp;

	if (!s)
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET, s, tmp.b) == 1) {
		*family = VIPXDP_AF_INET;
		*a = tmp;
		return 0;
	}
	if (inet_pton(AF_INET6, s, tmp.b) == 1) {
		*family = VIPXDP_AF_INET6;
		*a = tmp;
		return 0;
	}
	return -EINVAL;
}

/* Parse the first len bytes of s as an address of any family. */
static int addr_parse_n(const char *s, size_t len, __u8 *family, struct vipxdp_addr *a)
{
	char tmp[ADDR_TEXT_MAX];

	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return vipxdp_addr_parse(tmp, family, a);
}

const char *vipxdp_addr_str(__u8 family, const struct vipxdp_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (!len)
		return buf;
	if ((family == VIPXDP_AF_INET || family == VIPXDP_AF_INET6) &&
	    inet_ntop(family, a->b, tmp, sizeof(tmp)))
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "(family %u)", family);
	return buf;
}

int vipxdp_addr_cmp(__u8 fa, const struct vipxdp_addr *a, __u8 fb, const struct vipxdp_addr *b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a->b, b->b, sizeof(a->b));
}

bool vipxdp_addr_eq(__u8 fa, const struct vipxdp_addr *a, __u8 fb, const struct vipxdp_addr *b)
{
	return vipxdp_addr_cmp(fa, a, fb, b) == 0;
}

const char *vipxdp_family_str(__u8 family)
{
	switch (family) {
	case VIPXDP_AF_INET:
		return "IPv4";
	case VIPXDP_AF_INET6:
		return "IPv6";
	default:
		return "unknown family";
	}
}

/*
 * Parse len bytes of decimal digits. Returns -EINVAL when empty or not all
 * digits, -ERANGE when above max (value then holds max + 1).
 */
static int uint_parse_n(const char *s, size_t len, unsigned long max, unsigned long *value)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max) {
			*value = max + 1;
			return -ERANGE;
		}
	}
	*value = v;
	return 0;
}

static int port_parse_n(const char *s, size_t len, __u16 *port)
{
	unsigned long v;
	int err;

	err = uint_parse_n(s, len, 65535, &v);
	if (err)
		return err;
	if (v == 0)
		return -ERANGE;
	*port = (__u16)v;
	return 0;
}

int vipxdp_port_parse(const char *s, __u16 *port)
{
	if (!s)
		return -EINVAL;
	return port_parse_n(s, strlen(s), port);
}

static int proto_parse_n(const char *s, size_t len, __u8 *proto)
{
	if (len != 3)
		return -EINVAL;
	if (!strncasecmp(s, "tcp", 3)) {
		*proto = IPPROTO_TCP;
		return 0;
	}
	if (!strncasecmp(s, "udp", 3)) {
		*proto = IPPROTO_UDP;
		return 0;
	}
	return -EINVAL;
}

int vipxdp_proto_parse(const char *s, __u8 *proto)
{
	if (!s)
		return -EINVAL;
	return proto_parse_n(s, strlen(s), proto);
}

const char *vipxdp_proto_str(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "unknown";
	}
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Parse the endpoint in s[0..len). Messages quote `whole`, the caller's
 * complete input (an endpoint or a service).
 */
static int endpoint_parse_n(const char *s, size_t len, const char *whole,
			    struct vipxdp_endpoint *ep, char *err, size_t errlen)
{
	struct vipxdp_endpoint tmp;
	const char *host, *port, *colon;
	size_t host_len, port_len;
	int ret;

	memset(&tmp, 0, sizeof(tmp));
	if (len == 0) {
		set_err(err, errlen, "empty endpoint in '%s' (expected ADDR:PORT or [IPV6]:PORT)",
			whole);
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close) {
			set_err(err, errlen, "missing ']' in '%s'", whole);
			return -EINVAL;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		if (addr_parse_n(host, host_len, &tmp.family, &tmp.addr) ||
		    tmp.family != VIPXDP_AF_INET6) {
			set_err(err, errlen, "invalid IPv6 address '%.*s' in '%s'", (int)host_len,
				host, whole);
			return -EINVAL;
		}
		colon = close + 1;
		if (colon == s + len) {
			set_err(err, errlen, "missing ':PORT' in '%s'", whole);
			return -EINVAL;
		}
		if (*colon != ':') {
			set_err(err, errlen, "expected ':PORT' after ']' in '%s'", whole);
			return -EINVAL;
		}
	} else {
		const char *first = memchr(s, ':', len);

		colon = memrchr(s, ':', len);
		if (colon && colon != first) {
			/* More than one ':': an IPv6 address without brackets. */
			__u8 fam;
			struct vipxdp_addr a;
			size_t plen = (size_t)(colon - s);
			size_t tail = len - plen - 1;
			unsigned long dummy;

			if (!addr_parse_n(s, plen, &fam, &a) && fam == VIPXDP_AF_INET6 &&
			    uint_parse_n(colon + 1, tail, 65535, &dummy) != -EINVAL)
				set_err(err, errlen,
					"IPv6 address must be in brackets: '[%.*s]:%.*s'",
					(int)plen, s, (int)tail, colon + 1);
			else if (!addr_parse_n(s, len, &fam, &a))
				set_err(err, errlen,
					"IPv6 address must be in brackets: '[%.*s]:PORT'", (int)len,
					s);
			else
				set_err(err, errlen, "invalid address in '%s'", whole);
			return -EINVAL;
		}
		if (!colon) {
			if (!addr_parse_n(s, len, &tmp.family, &tmp.addr))
				set_err(err, errlen, "missing ':PORT' in '%s'", whole);
			else
				set_err(err, errlen,
					"invalid endpoint '%s' (expected ADDR:PORT or [IPV6]:PORT)",
					whole);
			return -EINVAL;
		}
		host = s;
		host_len = (size_t)(colon - s);
		if (host_len == 0) {
			set_err(err, errlen, "missing address in '%s'", whole);
			return -EINVAL;
		}
		if (addr_parse_n(host, host_len, &tmp.family, &tmp.addr) ||
		    tmp.family != VIPXDP_AF_INET) {
			set_err(err, errlen, "invalid IPv4 address '%.*s' in '%s'", (int)host_len,
				host, whole);
			return -EINVAL;
		}
	}

	port = colon + 1;
	port_len = len - (size_t)(port - s);
	ret = port_parse_n(port, port_len, &tmp.port);
	if (ret == -ERANGE) {
		set_err(err, errlen, "port %.*s out of range (1-65535) in '%s'", (int)port_len,
			port, whole);
		return -EINVAL;
	}
	if (ret) {
		if (port_len == 0)
			set_err(err, errlen, "missing port in '%s'", whole);
		else
			set_err(err, errlen, "invalid port '%.*s' in '%s'", (int)port_len, port,
				whole);
		return -EINVAL;
	}
	*ep = tmp;
	return 0;
}

int vipxdp_endpoint_parse(const char *s, struct vipxdp_endpoint *ep, char *err, size_t errlen)
{
	if (!s) {
		set_err(err, errlen, "no endpoint given");
		return -EINVAL;
	}
	return endpoint_parse_n(s, strlen(s), s, ep, err, errlen);
}

const char *vipxdp_endpoint_str(const struct vipxdp_endpoint *ep, char *buf, size_t len)
{
	char a[VIPXDP_ADDR_STRLEN + 16];

	vipxdp_addr_str(ep->family, &ep->addr, a, sizeof(a));
	if (ep->family == VIPXDP_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

int vipxdp_endpoint_cmp(const struct vipxdp_endpoint *a, const struct vipxdp_endpoint *b)
{
	int c = vipxdp_addr_cmp(a->family, &a->addr, b->family, &b->addr);

	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return 0;
}

int vipxdp_svc_id_parse(const char *s, struct vipxdp_svc_id *svc, char *err, size_t errlen)
{
	struct vipxdp_svc_id tmp;
	const char *slash;
	size_t len;
	int ret;

	if (!s) {
		set_err(err, errlen, "no service given");
		return -EINVAL;
	}
	memset(&tmp, 0, sizeof(tmp));
	len = strlen(s);
	slash = strrchr(s, '/');
	if (!slash) {
		set_err(err, errlen, "missing '/tcp' or '/udp' in '%s'", s);
		return -EINVAL;
	}
	if (!slash[1]) {
		set_err(err, errlen, "missing protocol after '/' in '%s'", s);
		return -EINVAL;
	}
	if (proto_parse_n(slash + 1, len - (size_t)(slash + 1 - s), &tmp.proto)) {
		set_err(err, errlen, "unknown protocol '%s' (expected tcp or udp) in '%s'",
			slash + 1, s);
		return -EINVAL;
	}
	ret = endpoint_parse_n(s, (size_t)(slash - s), s, &tmp.ep, err, errlen);
	if (ret)
		return ret;
	*svc = tmp;
	return 0;
}

const char *vipxdp_svc_id_str(const struct vipxdp_svc_id *svc, char *buf, size_t len)
{
	char ep[VIPXDP_ENDPOINT_STRLEN + 16];

	vipxdp_endpoint_str(&svc->ep, ep, sizeof(ep));
	snprintf(buf, len, "%s/%s", ep, vipxdp_proto_str(svc->proto));
	return buf;
}

/* Clear every bit of a below the first prefix_len bits. */
static void mask_addr(struct vipxdp_addr *a, unsigned int bits, unsigned int prefix_len)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++) {
		unsigned int lo = i * 8;

		if (prefix_len <= lo)
			a->b[i] = 0;
		else if (prefix_len < lo + 8)
			a->b[i] &= (__u8)(0xff << (8 - (prefix_len - lo)));
	}
}

int vipxdp_cidr_parse(const char *s, struct vipxdp_cidr *c, char *err, size_t errlen)
{
	struct vipxdp_cidr tmp;
	const char *slash;
	unsigned long plen;
	unsigned int bits;
	size_t alen;
	int ret;

	if (!s) {
		set_err(err, errlen, "no prefix given");
		return -EINVAL;
	}
	memset(&tmp, 0, sizeof(tmp));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (addr_parse_n(s, alen, &tmp.family, &tmp.addr)) {
		set_err(err, errlen, "invalid address '%.*s' in '%s'", (int)alen, s, s);
		return -EINVAL;
	}
	bits = tmp.family == VIPXDP_AF_INET ? 32 : 128;
	if (!slash) {
		plen = bits;
	} else {
		ret = uint_parse_n(slash + 1, strlen(slash + 1), bits, &plen);
		if (ret == -ERANGE) {
			set_err(err, errlen, "prefix length %s out of range (0-%u) in '%s'",
				slash + 1, bits, s);
			return -EINVAL;
		}
		if (ret) {
			set_err(err, errlen, "invalid prefix length '%s' in '%s'", slash + 1, s);
			return -EINVAL;
		}
	}
	tmp.prefix_len = (__u8)plen;
	mask_addr(&tmp.addr, bits, tmp.prefix_len);
	*c = tmp;
	return 0;
}

const char *vipxdp_cidr_str(const struct vipxdp_cidr *c, char *buf, size_t len)
{
	char a[VIPXDP_ADDR_STRLEN + 16];

	vipxdp_addr_str(c->family, &c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefix_len);
	return buf;
}

bool vipxdp_cidr_contains(const struct vipxdp_cidr *c, __u8 family, const struct vipxdp_addr *a)
{
	struct vipxdp_addr m = *a;

	if (family != c->family)
		return false;
	mask_addr(&m, family == VIPXDP_AF_INET ? 32 : 128, c->prefix_len);
	return memcmp(m.b, c->addr.b, sizeof(m.b)) == 0;
}
