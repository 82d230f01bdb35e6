/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/addr.c: address, endpoint, service and prefix
 * parsing, the canonical text they print back, and the exact error messages
 * for bad input.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "../lib/tap.h"
#include "addr.h"

/* An IPv4 literal fills the first 4 bytes in network order, the rest zero. */
static bool test_addr_parse_v4(void)
{
	struct vipxdp_addr a;
	__u8 fam = 0;
	int i;

	memset(&a, 0xaa, sizeof(a));
	if (!ASSERT_OK(vipxdp_addr_parse("198.18.0.1", &fam, &a), "parse"))
		return false;
	if (!ASSERT_EQ(fam, VIPXDP_AF_INET, "family"))
		return false;
	if (!ASSERT_TRUE(a.b[0] == 198 && a.b[1] == 18 && a.b[2] == 0 && a.b[3] == 1, "bytes"))
		return false;
	for (i = 4; i < 16; i++) {
		if (!ASSERT_EQ(a.b[i], 0, "tail byte"))
			return false;
	}
	return true;
}

/* IPv6 literals parse into 16 bytes and print back compressed, lower case. */
static bool test_addr_v6_canonical(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{"2001:0db8::0001", "2001:db8::1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"2001:db8::1:0:0:0:1", "2001:db8:0:1::1"},
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		{"0:0:0:0:0:0:0:1", "::1"},
		{"::", "::"},
		{"::ffff:198.18.0.1", "::ffff:198.18.0.1"},
	};
	char buf[VIPXDP_ADDR_STRLEN];
	struct vipxdp_addr a;
	size_t i;
	__u8 fam;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(vipxdp_addr_parse(cases[i].in, &fam, &a), cases[i].in) ||
		    !ASSERT_EQ(fam, VIPXDP_AF_INET6, cases[i].in) ||
		    !ASSERT_STREQ(vipxdp_addr_str(fam, &a, buf, sizeof(buf)), cases[i].out, cases[i].in))
			return false;
	}
	if (!ASSERT_OK(vipxdp_addr_parse("2001:db8::1", &fam, &a), "parse"))
		return false;
	return ASSERT_TRUE(a.b[0] == 0x20 && a.b[1] == 0x01 && a.b[2] == 0x0d && a.b[3] == 0xb8 &&
				   a.b[15] == 1,
			   "network order");
}

/* Anything but a plain literal is -EINVAL and leaves the outputs untouched. */
static bool test_addr_parse_rejects(void)
{
	static const char *const bad[] = {
		"",
		"1.2.3",
		"1.2.3.4.5",
		"256.0.0.1",
		"198.018.0.1",
		" 198.18.0.1",
		"198.18.0.1 ",
		"2001:db8::1%eth0",
		"2001:db8:::1",
		"[2001:db8::1]",
		"web",
		"198.18.0.1/32",
	};
	struct vipxdp_addr a, orig;
	size_t i;
	__u8 fam = 77;

	memset(&a, 0x5a, sizeof(a));
	orig = a;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!ASSERT_EQ(vipxdp_addr_parse(bad[i], &fam, &a), -EINVAL, bad[i]))
			return false;
	}
	if (!ASSERT_EQ(vipxdp_addr_parse(NULL, &fam, &a), -EINVAL, "NULL"))
		return false;
	return ASSERT_EQ(fam, 77, "family untouched") &&
	       ASSERT_TRUE(!memcmp(&a, &orig, sizeof(a)), "address untouched");
}

/* Comparison is by value (not text), family first, then address bytes. */
static bool test_addr_cmp(void)
{
	struct vipxdp_addr a, b, c, d;
	__u8 fa, fb, fc, fd;
	char buf[VIPXDP_ADDR_STRLEN];

	if (vipxdp_addr_parse("2001:db8::1", &fa, &a) ||
	    vipxdp_addr_parse("2001:DB8:0::1", &fb, &b) ||
	    vipxdp_addr_parse("198.18.0.1", &fc, &c) || vipxdp_addr_parse("198.18.0.2", &fd, &d))
		return ASSERT_TRUE(false, "parse");
	return ASSERT_TRUE(vipxdp_addr_eq(fa, &a, fb, &b), "same IPv6 address") &&
	       ASSERT_TRUE(vipxdp_addr_cmp(fc, &c, fd, &d) < 0, "198.18.0.1 < 198.18.0.2") &&
	       ASSERT_TRUE(vipxdp_addr_cmp(fc, &c, fa, &a) < 0, "IPv4 before IPv6") &&
	       ASSERT_TRUE(!vipxdp_addr_eq(fc, &c, fd, &d), "different") &&
	       ASSERT_STREQ(vipxdp_family_str(fa), "IPv6", "family name") &&
	       ASSERT_STREQ(vipxdp_family_str(fc), "IPv4", "family name") &&
	       ASSERT_STREQ(vipxdp_addr_str(7, &a, buf, sizeof(buf)), "(family 7)", "unknown family");
}

/* Ports are decimal 1-65535; protocols tcp/udp in any case, printed lower. */
static bool test_port_proto(void)
{
	__u16 port = 0;
	__u8 proto = 0;

	return ASSERT_OK(vipxdp_port_parse("65535", &port), "65535") &&
	       ASSERT_EQ(port, 65535, "port") && ASSERT_OK(vipxdp_port_parse("080", &port), "080") &&
	       ASSERT_EQ(port, 80, "port") &&
	       ASSERT_EQ(vipxdp_port_parse("0", &port), -ERANGE, "0") &&
	       ASSERT_EQ(vipxdp_port_parse("65536", &port), -ERANGE, "65536") &&
	       ASSERT_EQ(vipxdp_port_parse("99999999999999999999", &port), -ERANGE, "huge") &&
	       ASSERT_EQ(vipxdp_port_parse("", &port), -EINVAL, "empty") &&
	       ASSERT_EQ(vipxdp_port_parse("-1", &port), -EINVAL, "-1") &&
	       ASSERT_EQ(vipxdp_port_parse("http", &port), -EINVAL, "http") &&
	       ASSERT_EQ(port, 80, "untouched") &&
	       ASSERT_OK(vipxdp_proto_parse("TcP", &proto), "TcP") &&
	       ASSERT_EQ(proto, IPPROTO_TCP, "tcp") &&
	       ASSERT_OK(vipxdp_proto_parse("udp", &proto), "udp") &&
	       ASSERT_EQ(proto, IPPROTO_UDP, "udp") &&
	       ASSERT_EQ(vipxdp_proto_parse("sctp", &proto), -EINVAL, "sctp") &&
	       ASSERT_STREQ(vipxdp_proto_str(IPPROTO_TCP), "tcp", "tcp name") &&
	       ASSERT_STREQ(vipxdp_proto_str(IPPROTO_UDP), "udp", "udp name") &&
	       ASSERT_STREQ(vipxdp_proto_str(132), "unknown", "other name");
}

/* Endpoints parse into family/address/port and print back canonically. */
static bool test_endpoint_roundtrip(void)
{
	static const struct {
		const char *in, *out;
		__u8 family;
		__u16 port;
	} cases[] = {
		{"198.18.0.1:80", "198.18.0.1:80", VIPXDP_AF_INET, 80},
		{"198.19.255.254:65535", "198.19.255.254:65535", VIPXDP_AF_INET, 65535},
		{"[2001:db8::1]:443", "[2001:db8::1]:443", VIPXDP_AF_INET6, 443},
		{"[2001:DB8:0:0::0:1]:1", "[2001:db8::1]:1", VIPXDP_AF_INET6, 1},
		{"[::ffff:198.18.0.1]:8080", "[::ffff:198.18.0.1]:8080", VIPXDP_AF_INET6, 8080},
	};
	char buf[VIPXDP_ENDPOINT_STRLEN], err[128];
	struct vipxdp_endpoint ep;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (!ASSERT_OK(vipxdp_endpoint_parse(cases[i].in, &ep, err, sizeof(err)),
			     cases[i].in) ||
		    !ASSERT_EQ(ep.family, cases[i].family, cases[i].in) ||
		    !ASSERT_EQ(ep.port, cases[i].port, cases[i].in) ||
		    !ASSERT_STREQ(vipxdp_endpoint_str(&ep, buf, sizeof(buf)), cases[i].out,
			    cases[i].in) ||
		    !ASSERT_STREQ(err, "", "no message on success"))
			return false;
	}
	return true;
}

/* The longest service text fits VIPXDP_SVC_STRLEN exactly and parses. */
static bool test_endpoint_strlen(void)
{
	char buf[VIPXDP_SVC_STRLEN], err[128];
	struct vipxdp_svc_id svc;
	const char *longest = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535/tcp";

	if (!ASSERT_OK(vipxdp_svc_id_parse(longest, &svc, err, sizeof(err)), err))
		return false;
	return ASSERT_EQ(strlen(longest) + 1, VIPXDP_SVC_STRLEN, "longest service fits") &&
	       ASSERT_STREQ(vipxdp_svc_id_str(&svc, buf, sizeof(buf)),
		      "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535/tcp", "printed whole");
}

struct bad_case {
	const char *in;
	const char *msg;
};

static bool check_bad(const struct bad_case *cases, size_t n, bool svc)
{
	char err[256];
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		struct vipxdp_endpoint ep;
		struct vipxdp_svc_id id;

		err[0] = '\0';
		if (svc)
			ret = vipxdp_svc_id_parse(cases[i].in, &id, err, sizeof(err));
		else
			ret = vipxdp_endpoint_parse(cases[i].in, &ep, err, sizeof(err));
		if (!ASSERT_EQ(ret, -EINVAL, cases[i].in) ||
		    !ASSERT_STREQ(err, cases[i].msg, cases[i].in))
			return false;
	}
	return true;
}

/* Each malformed endpoint gets its own precise message quoting the input. */
static bool test_endpoint_errors(void)
{
	static const struct bad_case cases[] = {
		{"", "empty endpoint in '' (expected ADDR:PORT or [IPV6]:PORT)"},
		{"198.18.0.1", "missing ':PORT' in '198.18.0.1'"},
		{"198.18.0.1:", "missing port in '198.18.0.1:'"},
		{":80", "missing address in ':80'"},
		{"198.18.0.1:http", "invalid port 'http' in '198.18.0.1:http'"},
		{"198.18.0.1:-1", "invalid port '-1' in '198.18.0.1:-1'"},
		{"198.18.0.1:0", "port 0 out of range (1-65535) in '198.18.0.1:0'"},
		{"198.18.0.1:70000", "port 70000 out of range (1-65535) in '198.18.0.1:70000'"},
		{"198.18.0.300:80", "invalid IPv4 address '198.18.0.300' in '198.18.0.300:80'"},
		{"web:80", "invalid IPv4 address 'web' in 'web:80'"},
		{"web", "invalid endpoint 'web' (expected ADDR:PORT or [IPV6]:PORT)"},
		{"2001:db8::1:80", "IPv6 address must be in brackets: '[2001:db8::1]:80'"},
		{"2001:db8::", "IPv6 address must be in brackets: '[2001:db8::]:PORT'"},
		{"2001:db8::zz:80", "invalid address in '2001:db8::zz:80'"},
		{"[2001:db8::1:80", "missing ']' in '[2001:db8::1:80'"},
		{"[2001:db8::1]", "missing ':PORT' in '[2001:db8::1]'"},
		{"[2001:db8::1]80", "expected ':PORT' after ']' in '[2001:db8::1]80'"},
		{"[2001:db8::1]:", "missing port in '[2001:db8::1]:'"},
		{"[2001:db8::1]:65536",
		 "port 65536 out of range (1-65535) in '[2001:db8::1]:65536'"},
		{"[198.18.0.1]:80", "invalid IPv6 address '198.18.0.1' in '[198.18.0.1]:80'"},
		{"[]:80", "invalid IPv6 address '' in '[]:80'"},
	};

	return check_bad(cases, sizeof(cases) / sizeof(cases[0]), false);
}

/* Services parse with any protocol case and print lower case. */
static bool test_svc_roundtrip(void)
{
	static const struct {
		const char *in, *out;
		__u8 proto;
	} cases[] = {
		{"198.18.0.1:80/tcp", "198.18.0.1:80/tcp", IPPROTO_TCP},
		{"198.18.0.1:53/UDP", "198.18.0.1:53/udp", IPPROTO_UDP},
		{"[2001:DB8::5]:443/Tcp", "[2001:db8::5]:443/tcp", IPPROTO_TCP},
	};
	char buf[VIPXDP_SVC_STRLEN], err[128];
	struct vipxdp_svc_id id;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(vipxdp_svc_id_parse(cases[i].in, &id, err, sizeof(err)),
			     cases[i].in) ||
		    !ASSERT_EQ(id.proto, cases[i].proto, cases[i].in) ||
		    !ASSERT_STREQ(vipxdp_svc_id_str(&id, buf, sizeof(buf)), cases[i].out, cases[i].in))
			return false;
	}
	return true;
}

/* Each malformed service gets a precise message quoting the whole input. */
static bool test_svc_errors(void)
{
	static const struct bad_case cases[] = {
		{"198.18.0.1:80", "missing '/tcp' or '/udp' in '198.18.0.1:80'"},
		{"198.18.0.1:80/", "missing protocol after '/' in '198.18.0.1:80/'"},
		{"198.18.0.1:80/sctp",
		 "unknown protocol 'sctp' (expected tcp or udp) in '198.18.0.1:80/sctp'"},
		{"198.18.0.1:70000/tcp",
		 "port 70000 out of range (1-65535) in '198.18.0.1:70000/tcp'"},
		{"2001:db8::1:80/tcp", "IPv6 address must be in brackets: '[2001:db8::1]:80'"},
		{"198.18.0.1/tcp", "missing ':PORT' in '198.18.0.1/tcp'"},
		{"/tcp", "empty endpoint in '/tcp' (expected ADDR:PORT or [IPV6]:PORT)"},
	};

	return check_bad(cases, sizeof(cases) / sizeof(cases[0]), true);
}

/* Prefixes parse, host bits are cleared, and membership follows the mask. */
static bool test_cidr(void)
{
	char buf[VIPXDP_CIDR_STRLEN], err[128];
	struct vipxdp_cidr c;
	struct vipxdp_addr a;
	__u8 fam;

	if (!ASSERT_OK(vipxdp_cidr_parse("198.18.0.0/15", &c, err, sizeof(err)), err) ||
	    !ASSERT_EQ(c.family, VIPXDP_AF_INET, "family") || !ASSERT_EQ(c.prefix_len, 15, "len") ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "198.18.0.0/15", "v4"))
		return false;
	vipxdp_addr_parse("198.19.255.255", &fam, &a);
	if (!ASSERT_TRUE(vipxdp_cidr_contains(&c, fam, &a), "198.19.255.255 inside"))
		return false;
	vipxdp_addr_parse("198.20.0.0", &fam, &a);
	if (!ASSERT_TRUE(!vipxdp_cidr_contains(&c, fam, &a), "198.20.0.0 outside"))
		return false;
	vipxdp_addr_parse("2001:db8::1", &fam, &a);
	if (!ASSERT_TRUE(!vipxdp_cidr_contains(&c, fam, &a), "other family outside"))
		return false;

	if (!ASSERT_OK(vipxdp_cidr_parse("198.18.1.2/15", &c, err, sizeof(err)), err) ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "198.18.0.0/15", "host bits cleared"))
		return false;
	if (!ASSERT_OK(vipxdp_cidr_parse("2001:DB8:ffff::1/32", &c, err, sizeof(err)), err) ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "2001:db8::/32", "v6 normalised"))
		return false;
	if (!ASSERT_OK(vipxdp_cidr_parse("2001:db8::1/127", &c, err, sizeof(err)), err) ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "2001:db8::/127", "/127"))
		return false;
	if (!ASSERT_OK(vipxdp_cidr_parse("198.18.0.7", &c, err, sizeof(err)), err) ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "198.18.0.7/32", "bare address"))
		return false;
	if (!ASSERT_OK(vipxdp_cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), err) ||
	    !ASSERT_STREQ(vipxdp_cidr_str(&c, buf, sizeof(buf)), "0.0.0.0/0", "/0"))
		return false;
	vipxdp_addr_parse("203.0.113.9", &fam, &a);
	return ASSERT_TRUE(vipxdp_cidr_contains(&c, fam, &a), "/0 holds every IPv4 address");
}

/* Bad prefixes are rejected with a message quoting the input. */
static bool test_cidr_errors(void)
{
	static const struct bad_case cases[] = {
		{"198.18.0.0/33", "prefix length 33 out of range (0-32) in '198.18.0.0/33'"},
		{"2001:db8::/129", "prefix length 129 out of range (0-128) in '2001:db8::/129'"},
		{"198.18.0.0/", "invalid prefix length '' in '198.18.0.0/'"},
		{"198.18.0.0/x", "invalid prefix length 'x' in '198.18.0.0/x'"},
		{"198.18.0/15", "invalid address '198.18.0' in '198.18.0/15'"},
		{"/15", "invalid address '' in '/15'"},
	};
	char err[256];
	struct vipxdp_cidr c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_EQ(vipxdp_cidr_parse(cases[i].in, &c, err, sizeof(err)), -EINVAL,
			     cases[i].in) ||
		    !ASSERT_STREQ(err, cases[i].msg, cases[i].in))
			return false;
	}
	return true;
}

/* A too small buffer truncates, and a NULL error buffer is allowed. */
static bool test_small_buffers(void)
{
	struct vipxdp_endpoint ep;
	char buf[8], err[16];

	if (!ASSERT_EQ(vipxdp_endpoint_parse("198.18.0.1:0", &ep, NULL, 0), -EINVAL, "NULL err"))
		return false;
	if (!ASSERT_EQ(vipxdp_endpoint_parse("198.18.0.1:0", &ep, err, sizeof(err)), -EINVAL,
		     "small"))
		return false;
	if (!ASSERT_STREQ(err, "port 0 out of r", "truncated message"))
		return false;
	vipxdp_endpoint_parse("[2001:db8::1]:80", &ep, NULL, 0);
	return ASSERT_STREQ(vipxdp_endpoint_str(&ep, buf, sizeof(buf)), "[2001:d", "truncated text");
}

int main(void)
{
	tap_run("addr: IPv4 parse", test_addr_parse_v4);
	tap_run("addr: IPv6 canonical form", test_addr_v6_canonical);
	tap_run("addr: rejects non-literals", test_addr_parse_rejects);
	tap_run("addr: compare by value", test_addr_cmp);
	tap_run("port and protocol", test_port_proto);
	tap_run("endpoint: round trip", test_endpoint_roundtrip);
	tap_run("endpoint: buffer size constants", test_endpoint_strlen);
	tap_run("endpoint: error messages", test_endpoint_errors);
	tap_run("service: round trip", test_svc_roundtrip);
	tap_run("service: error messages", test_svc_errors);
	tap_run("cidr: parse, normalise, contains", test_cidr);
	tap_run("cidr: error messages", test_cidr_errors);
	tap_run("small buffers", test_small_buffers);
	return tap_done();
}
