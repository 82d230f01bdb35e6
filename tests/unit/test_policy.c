/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/policy.c: a valid policy is parsed into exact
 * field values with the defaults filled in, health settings are inherited
 * as documented, the annotated example deploy/examples/policy.yaml parses,
 * and every kind of invalid input is rejected with its exact
 * "FILE:LINE:COLUMN: problem" message. Run from the repository root.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/tap.h"
#include "policy.h"

#define EXAMPLE_POLICY "deploy/examples/policy.yaml"

static int parse(const char *text, struct vipxdp_policy **p, struct vipxdp_policy_errors *errs)
{
	return vipxdp_policy_parse_string("t.yaml", text, strlen(text), p, errs);
}

/* Print the messages of an unexpected failure. */
static bool parsed_ok(int ret, const struct vipxdp_policy_errors *errs)
{
	unsigned int i;

	if (ret == 0)
		return true;
	printf("# parse returned %d\n", ret);
	for (i = 0; i < errs->n; i++)
		printf("# %s\n", errs->msg[i]);
	return false;
}

static bool addr_is(__u8 family, const struct vipxdp_addr *a, const char *want, const char *what)
{
	char buf[VIPXDP_ADDR_STRLEN];

	return ASSERT_STREQ(vipxdp_addr_str(family, a, buf, sizeof(buf)), want, what);
}

static bool ep_is(const struct vipxdp_endpoint *ep, const char *want, const char *what)
{
	char buf[VIPXDP_ENDPOINT_STRLEN];

	return ASSERT_STREQ(vipxdp_endpoint_str(ep, buf, sizeof(buf)), want, what);
}

static bool loc_is(const struct vipxdp_policy_loc *loc, unsigned int line, unsigned int col,
		   const char *what)
{
	return ASSERT_EQ(loc->line, line, what) && ASSERT_EQ(loc->col, col, what);
}

/* The documented defaults of an unconfigured health check. */
static bool health_is_default(const struct vipxdp_policy_health *h, const char *what)
{
	return ASSERT_TRUE(!h->configured, what) && ASSERT_EQ(h->type, VIPXDP_HEALTH_TCP, what) &&
	       ASSERT_TRUE(!h->path && !h->host && !h->payload, what) &&
	       ASSERT_EQ(h->expect_min, 200, what) && ASSERT_EQ(h->expect_max, 399, what) &&
	       ASSERT_EQ(h->port, 0, what) && ASSERT_EQ(h->interval_ms, 2000, what) &&
	       ASSERT_EQ(h->timeout_ms, 1000, what) && ASSERT_EQ(h->rise, 2, what) &&
	       ASSERT_EQ(h->fall, 3, what) && ASSERT_EQ(h->source_family, 0, what);
}

static const char full_policy[] = "settings:\n"
				  "  hash_seed: 0x5eed1234\n"
				  "  table_size: 251\n"
				  "  conntrack_size: 1000\n"
				  "interfaces:\n"
				  "  - name: eth0\n"
				  "    mode: generic\n"
				  "  - name: veth-lb1\n"
				  "vips:\n"
				  "  - address: 198.18.0.100\n"
				  "    name: web-frontend-prod-12345\n"
				  "    services:\n"
				  "      - protocol: tcp\n"
				  "        port: 80\n"
				  "        backends:\n"
				  "          - {address: 198.19.0.1, port: 8080, weight: 100}\n"
				  "          - {address: 198.19.0.2, weight: 0}\n"
				  "      - protocol: UDP\n"
				  "        port: 53\n"
				  "        hash: source-ip\n"
				  "  - address: 2001:DB8:0::100\n"
				  "    arp: no\n"
				  "    services:\n"
				  "      - protocol: tcp\n"
				  "        port: 443\n"
				  "        backends:\n"
				  "          - address: 2001:db8:1::1\n"
				  "            weight: 65535\n";

/* A full policy yields exact values, file positions and every default. */
/* A port forward range becomes one single-backend service per port, each
 * mapped to the same offset in the target range. */
static bool test_port_forward_range(void)
{
	static const char text[] = "vips:\n  - address: 198.18.0.1\n    port_forwards:\n"
				   "      - {protocol: tcp, port: 10000-10099, to: 198.19.0.5, to_port: 20000-20099}\n"
				   "      - {protocol: udp, port: 53, to: 198.19.0.6}\n";
	struct vipxdp_policy_errors errs = {};
	struct vipxdp_policy *p = NULL;
	bool ok = true;

	if (!ASSERT_OK(vipxdp_policy_parse_string("t.yaml", text, sizeof(text) - 1, &p, &errs),
		       errs.n ? errs.msg[0] : "parse"))
		return false;
	ok &= ASSERT_EQ(p->vips[0].n_services, 101, "services");
	for (int k = 0; k < 100 && ok; k++) {
		const struct vipxdp_policy_service *s = &p->vips[0].services[k];

		ok &= ASSERT_TRUE(s->port_forward, "marked");
		ok &= ASSERT_EQ(s->id.ep.port, 10000 + k, "port");
		ok &= ASSERT_EQ(s->n_backends, 1, "one backend");
		ok &= ASSERT_EQ(s->backends[0].ep.port, 20000 + k, "to_port");
	}
	ok &= ASSERT_EQ(p->vips[0].services[100].id.proto, IPPROTO_UDP, "udp");
	ok &= ASSERT_EQ(p->vips[0].services[100].backends[0].ep.port, 53, "to_port defaults to port");
	vipxdp_policy_free(p);
	return ok;
}

static bool test_full_policy(void)
{
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	const struct vipxdp_policy_vip *v4, *v6;
	const struct vipxdp_policy_service *s;
	const struct vipxdp_policy_backend *b;
	bool ok = false;

	if (!parsed_ok(parse(full_policy, &p, &errs), &errs))
		goto out;
	if (!ASSERT_EQ(errs.n, 0, "no messages") || !ASSERT_STREQ(p->name, "t.yaml", "name") ||
	    !ASSERT_EQ(p->settings.hash_seed, 0x5eed1234, "hash_seed") ||
	    !ASSERT_EQ(p->settings.table_size, 251, "table_size") ||
	    !ASSERT_EQ(p->settings.conntrack_size, 1000, "conntrack_size"))
		goto out;

	if (!ASSERT_EQ(p->n_ifaces, 2, "interfaces") || !ASSERT_STREQ(p->ifaces[0].name, "eth0", "if0") ||
	    !ASSERT_EQ(p->ifaces[0].mode, VIPXDP_MODE_GENERIC, "if0 mode") ||
	    !ASSERT_STREQ(p->ifaces[1].name, "veth-lb1", "if1") ||
	    !ASSERT_EQ(p->ifaces[1].mode, VIPXDP_MODE_AUTO, "if1 default mode") ||
	    !loc_is(&p->ifaces[1].loc, 8, 5, "if1 loc"))
		goto out;

	if (!ASSERT_EQ(p->n_vips, 2, "vips"))
		goto out;
	v4 = &p->vips[0];
	if (!ASSERT_EQ(v4->family, VIPXDP_AF_INET, "v4 family") ||
	    !addr_is(v4->family, &v4->addr, "198.18.0.100", "v4 address") ||
	    !ASSERT_STREQ(v4->name, "web-frontend-prod-12345", "v4 name of 23 bytes") ||
	    !ASSERT_TRUE(v4->arp, "v4 arp default") || !loc_is(&v4->loc, 10, 5, "v4 loc") ||
	    !ASSERT_EQ(v4->n_services, 2, "v4 services"))
		goto out;
	s = &v4->services[0];
	if (!ASSERT_EQ(s->id.proto, IPPROTO_TCP, "tcp") ||
	    !ep_is(&s->id.ep, "198.18.0.100:80", "svc0") ||
	    !ASSERT_EQ(s->hash, VIPXDP_HASH_5TUPLE, "hash default") ||
	    !health_is_default(&s->health, "svc0 health") || !loc_is(&s->loc, 13, 9, "svc0 loc") ||
	    !ASSERT_EQ(s->n_backends, 2, "svc0 backends"))
		goto out;
	b = &s->backends[0];
	if (!ep_is(&b->ep, "198.19.0.1:8080", "be0") || !ASSERT_EQ(b->weight, 100, "be0 weight") ||
	    !health_is_default(&b->health, "be0 health") || !loc_is(&b->loc, 16, 13, "be0 loc"))
		goto out;
	b = &s->backends[1];
	if (!ep_is(&b->ep, "198.19.0.2:80", "be1 port defaults to the service port") ||
	    !ASSERT_EQ(b->weight, 0, "be1 drained"))
		goto out;
	s = &v4->services[1];
	if (!ASSERT_EQ(s->id.proto, IPPROTO_UDP, "udp, any case") ||
	    !ep_is(&s->id.ep, "198.18.0.100:53", "svc1") ||
	    !ASSERT_EQ(s->hash, VIPXDP_HASH_SOURCE_IP, "source-ip") ||
	    !ASSERT_EQ(s->n_backends, 0, "no backends"))
		goto out;

	v6 = &p->vips[1];
	if (!ASSERT_EQ(v6->family, VIPXDP_AF_INET6, "v6 family") ||
	    !addr_is(v6->family, &v6->addr, "2001:db8::100", "v6 canonical") ||
	    !ASSERT_TRUE(!v6->name, "v6 no name") || !ASSERT_TRUE(!v6->arp, "arp: no") ||
	    !ASSERT_EQ(v6->n_services, 1, "v6 services"))
		goto out;
	s = &v6->services[0];
	if (!ep_is(&s->id.ep, "[2001:db8::100]:443", "v6 svc") ||
	    !ASSERT_EQ(s->n_backends, 1, "v6 backends") ||
	    !ep_is(&s->backends[0].ep, "[2001:db8:1::1]:443", "v6 backend") ||
	    !ASSERT_EQ(s->backends[0].weight, 65535, "max weight"))
		goto out;
	ok = true;
out:
	vipxdp_policy_free(p);
	return ok;
}

/* Lookups find VIPs, services, backends and interfaces by canonical value. */
static bool test_find(void)
{
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	const struct vipxdp_policy_service *s;
	struct vipxdp_svc_id id;
	struct vipxdp_endpoint ep;
	struct vipxdp_addr a;
	char err[128];
	bool ok = false;
	__u8 fam;

	if (!parsed_ok(parse(full_policy, &p, &errs), &errs))
		goto out;
	vipxdp_addr_parse("2001:db8:0:0::100", &fam, &a);
	if (!ASSERT_TRUE(vipxdp_policy_find_vip(p, fam, &a) == &p->vips[1], "v6 VIP"))
		goto out;
	vipxdp_addr_parse("198.18.0.101", &fam, &a);
	if (!ASSERT_TRUE(!vipxdp_policy_find_vip(p, fam, &a), "absent VIP"))
		goto out;
	vipxdp_svc_id_parse("198.18.0.100:53/udp", &id, err, sizeof(err));
	s = vipxdp_policy_find_service(p, &id);
	if (!ASSERT_TRUE(s == &p->vips[0].services[1], "udp service"))
		goto out;
	vipxdp_svc_id_parse("198.18.0.100:53/tcp", &id, err, sizeof(err));
	if (!ASSERT_TRUE(!vipxdp_policy_find_service(p, &id), "other protocol"))
		goto out;
	vipxdp_svc_id_parse("198.18.0.100:80/tcp", &id, err, sizeof(err));
	s = vipxdp_policy_find_service(p, &id);
	if (!ASSERT_TRUE(s == &p->vips[0].services[0], "tcp service"))
		goto out;
	vipxdp_endpoint_parse("198.19.0.2:80", &ep, err, sizeof(err));
	if (!ASSERT_TRUE(vipxdp_policy_find_backend(s, &ep) == &s->backends[1], "backend"))
		goto out;
	vipxdp_endpoint_parse("198.19.0.2:8080", &ep, err, sizeof(err));
	if (!ASSERT_TRUE(!vipxdp_policy_find_backend(s, &ep), "backend on another port"))
		goto out;
	ok = ASSERT_TRUE(vipxdp_policy_find_iface(p, "veth-lb1") == &p->ifaces[1], "iface") &&
	     ASSERT_TRUE(!vipxdp_policy_find_iface(p, "eth1"), "absent iface") &&
	     ASSERT_STREQ(vipxdp_iface_mode_str(p->ifaces[0].mode), "generic", "mode name") &&
	     ASSERT_STREQ(vipxdp_hash_mode_str(VIPXDP_HASH_SOURCE_IP), "source-ip", "hash name") &&
	     ASSERT_STREQ(vipxdp_health_type_str(VIPXDP_HEALTH_HTTP), "http", "health name");
out:
	vipxdp_policy_free(p);
	return ok;
}

/* Backends inherit the service's health keys and override single keys. */
static bool test_health_inheritance(void)
{
	static const char text[] =
		"vips:\n"
		"  - address: 2001:db8::100\n"
		"    services:\n"
		"      - protocol: tcp\n"
		"        port: 80\n"
		"        health: {type: http, path: /hz, expect: 200, interval: 500ms, rise: 5,\n"
		"                 source: \"2001:db8::2\", host: lb.example, fall: 0x4}\n"
		"        backends:\n"
		"          - address: 2001:db8:1::1\n"
		"          - address: 2001:db8:1::2\n"
		"            health: {path: /other, timeout: 300ms, port: 9000, expect: 204-299}\n"
		"          - address: 2001:db8:1::3\n"
		"            health: {type: udp, payload: \"a\\0b\", interval: 5s}\n"
		"          - address: 2001:db8:1::4\n"
		"            health:\n"
		"      - protocol: tcp\n"
		"        port: 81\n"
		"        backends:\n"
		"          - address: 2001:db8:1::1\n"
		"            health: {type: none, interval: 1.25s, timeout: 1250ms}\n";
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	const struct vipxdp_policy_health *h;
	const struct vipxdp_policy_service *s;
	bool ok = false;

	if (!parsed_ok(parse(text, &p, &errs), &errs))
		goto out;
	s = &p->vips[0].services[0];
	h = &s->health;
	if (!ASSERT_TRUE(h->configured, "service configured") ||
	    !ASSERT_EQ(h->type, VIPXDP_HEALTH_HTTP, "http") || !ASSERT_STREQ(h->path, "/hz", "path") ||
	    !ASSERT_EQ(h->expect_min, 200, "expect") || !ASSERT_EQ(h->expect_max, 200, "expect") ||
	    !ASSERT_EQ(h->interval_ms, 500, "interval") ||
	    !ASSERT_EQ(h->timeout_ms, 500, "timeout defaults to the shorter interval") ||
	    !ASSERT_EQ(h->rise, 5, "rise") || !ASSERT_EQ(h->fall, 4, "fall in hex") ||
	    !ASSERT_EQ(h->source_family, VIPXDP_AF_INET6, "source") ||
	    !addr_is(h->source_family, &h->source, "2001:db8::2", "source") ||
	    !ASSERT_STREQ(h->host, "lb.example", "host"))
		goto out;

	h = &s->backends[0].health;
	if (!ASSERT_TRUE(h->configured, "inherited configured") ||
	    !ASSERT_STREQ(h->path, "/hz", "path") ||
	    !ASSERT_TRUE(h->path != s->health.path, "own copy") ||
	    !ASSERT_EQ(h->timeout_ms, 500, "timeout") || !ASSERT_EQ(h->rise, 5, "rise"))
		goto out;

	h = &s->backends[1].health;
	if (!ASSERT_EQ(h->type, VIPXDP_HEALTH_HTTP, "type inherited") ||
	    !ASSERT_STREQ(h->path, "/other", "path overridden") ||
	    !ASSERT_EQ(h->timeout_ms, 300, "timeout") || !ASSERT_EQ(h->port, 9000, "port") ||
	    !ASSERT_EQ(h->expect_min, 204, "expect") || !ASSERT_EQ(h->expect_max, 299, "expect") ||
	    !ASSERT_EQ(h->interval_ms, 500, "interval") || !ASSERT_STREQ(h->host, "lb.example", "host"))
		goto out;

	h = &s->backends[2].health;
	if (!ASSERT_EQ(h->type, VIPXDP_HEALTH_UDP, "udp") ||
	    !ASSERT_EQ(h->payload_len, 3, "payload length") ||
	    !ASSERT_TRUE(h->payload && !memcmp(h->payload, "a\0b", 3), "payload bytes") ||
	    !ASSERT_EQ(h->interval_ms, 5000, "interval") ||
	    !ASSERT_EQ(h->timeout_ms, 1000, "timeout back to 1s with a longer interval"))
		goto out;

	h = &s->backends[3].health;
	if (!ASSERT_TRUE(h->configured, "empty health") ||
	    !ASSERT_STREQ(h->path, "/hz", "all inherited") || !ASSERT_EQ(h->timeout_ms, 500, "timeout"))
		goto out;

	s = &p->vips[0].services[1];
	if (!health_is_default(&s->health, "service without health"))
		goto out;
	h = &s->backends[0].health;
	ok = ASSERT_TRUE(h->configured, "backend health") &&
	     ASSERT_EQ(h->type, VIPXDP_HEALTH_NONE, "none") &&
	     ASSERT_EQ(h->interval_ms, 1250, "1.25s") && ASSERT_EQ(h->timeout_ms, 1250, "1250ms");
out:
	vipxdp_policy_free(p);
	return ok;
}

/* Empty input, comments only and a null document are an empty policy. */
static bool test_empty_policy(void)
{
	static const char *const texts[] = {"", "# nothing yet\n", "---\n", "~\n",
					    "settings:\ninterfaces:\nvips:\n"};
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p;
	size_t i;
	bool ok;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		p = NULL;
		if (!parsed_ok(parse(texts[i], &p, &errs), &errs))
			return false;
		ok = ASSERT_EQ(p->n_vips, 0, texts[i]) && ASSERT_EQ(p->n_ifaces, 0, texts[i]) &&
		     ASSERT_EQ(p->settings.hash_seed, 0, texts[i]) &&
		     ASSERT_EQ(p->settings.table_size, VIPXDP_MAGLEV_DEFAULT, texts[i]) &&
		     ASSERT_EQ(p->settings.conntrack_size, VIPXDP_CT_DEFAULT_SIZE, texts[i]);
		vipxdp_policy_free(p);
		if (!ok)
			return false;
	}
	p = NULL;
	ok = ASSERT_OK(vipxdp_policy_parse_string("t.yaml", NULL, 0, &p, NULL), "NULL text") &&
	     ASSERT_TRUE(p && p->n_vips == 0, "empty");
	vipxdp_policy_free(p);
	return ok;
}

/* qos values and defaults; talkers_sample and flow_cache values and defaults. */
static bool test_qos(void)
{
	static const char text[] = "settings:\n"
				   "  talkers_sample: 1\n"
				   "  flow_cache: false\n"
				   "vips:\n"
				   "  - address: 198.18.0.1\n"
				   "    qos: {pps: 2000}\n"
				   "  - address: 198.18.0.2\n"
				   "    qos: {bps: 10000000000000, pps: 0x10, burst: 1.5s}\n"
				   "  - address: 198.18.0.3\n";
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	bool ok;

	if (!parsed_ok(parse(text, &p, &errs), &errs))
		return false;
	ok = ASSERT_EQ(p->settings.talkers_sample, 1, "talkers_sample") &&
	     ASSERT_TRUE(!p->settings.flow_cache, "flow_cache: false") &&
	     ASSERT_EQ(p->n_vips, 3, "vips") && ASSERT_TRUE(p->vips[0].has_qos, "qos 0") &&
	     ASSERT_EQ(p->vips[0].qos_pps, 2000, "pps 0") && ASSERT_EQ(p->vips[0].qos_bps, 0, "bps 0") &&
	     ASSERT_EQ(p->vips[0].qos_burst_ms, 100, "default burst") &&
	     ASSERT_TRUE(p->vips[1].has_qos, "qos 1") && ASSERT_EQ(p->vips[1].qos_pps, 16, "pps 1") &&
	     ASSERT_EQ(p->vips[1].qos_bps, 10000000000000ull, "bps 1") &&
	     ASSERT_EQ(p->vips[1].qos_burst_ms, 1500, "burst 1") &&
	     ASSERT_TRUE(!p->vips[2].has_qos, "no qos");
	vipxdp_policy_free(p);
	if (!ok)
		return false;
	p = NULL;
	if (!parsed_ok(parse("vips: []\n", &p, &errs), &errs))
		return false;
	ok = ASSERT_EQ(p->settings.talkers_sample, VIPXDP_POLICY_TALKERS_SAMPLE, "default sample") &&
	     ASSERT_TRUE(p->settings.flow_cache, "flow cache on by default");
	vipxdp_policy_free(p);
	return ok;
}

/* The annotated example in deploy/examples parses and means what it says. */
static bool test_example_file(void)
{
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	const struct vipxdp_policy_service *s;
	bool ok = false;

	if (!parsed_ok(vipxdp_policy_load(EXAMPLE_POLICY, &p, &errs), &errs))
		goto out;
	if (!ASSERT_EQ(p->settings.hash_seed, 0x5eed1234, "seed") ||
	    !ASSERT_EQ(p->settings.table_size, 65537, "table") ||
	    !ASSERT_EQ(p->settings.conntrack_size, 1000000, "ct") ||
	    !ASSERT_EQ(p->settings.talkers_sample, 128, "talkers_sample") ||
	    !ASSERT_EQ(p->n_ifaces, 2, "interfaces") || !ASSERT_EQ(p->n_vips, 3, "vips") ||
	    !ASSERT_TRUE(p->vips[0].has_qos, "qos") || !ASSERT_EQ(p->vips[0].qos_pps, 200000, "pps") ||
	    !ASSERT_EQ(p->vips[0].qos_bps, 1000000000, "bps") ||
	    !ASSERT_EQ(p->vips[0].qos_burst_ms, 50, "burst") ||
	    !ASSERT_TRUE(!p->vips[1].has_qos, "no qos") ||
	    !ASSERT_EQ(p->vips[0].n_services, 2, "web services") ||
	    !ASSERT_TRUE(!p->vips[2].arp, "arp: false") ||
	    !ASSERT_EQ(p->vips[2].n_services, 0, "-"))
		goto out;
	s = &p->vips[0].services[0];
	if (!ASSERT_EQ(s->n_backends, 3, "backends") ||
	    !ASSERT_EQ(s->health.type, VIPXDP_HEALTH_HTTP, "http") ||
	    !ASSERT_STREQ(s->backends[2].health.path, "/ready", "override") ||
	    !ASSERT_EQ(s->backends[2].weight, 0, "drained"))
		goto out;
	s = &p->vips[0].services[1];
	if (!ASSERT_EQ(s->hash, VIPXDP_HASH_SOURCE_IP, "dns hash") ||
	    !ASSERT_EQ(s->health.payload_len, 5, "payload") ||
	    !ASSERT_EQ(s->health.interval_ms, 1500, "1.5s"))
		goto out;
	s = &p->vips[1].services[0];
	ok = ep_is(&s->id.ep, "[2001:db8::100]:443", "v6 service") &&
	     ASSERT_EQ(s->n_backends, 3, "v6 backends") &&
	     ASSERT_EQ(s->backends[2].health.type, VIPXDP_HEALTH_NONE, "none");
out:
	vipxdp_policy_free(p);
	return ok;
}

/* A missing file gives -ENOENT and "FILE: strerror". */
static bool test_missing_file(void)
{
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = (void *)1;

	return ASSERT_EQ(vipxdp_policy_load("no/such/policy.yaml", &p, &errs), -ENOENT, "load") &&
	       ASSERT_TRUE(!p, "no policy") && ASSERT_EQ(errs.n, 1, "one message") &&
	       ASSERT_STREQ(errs.msg[0], "no/such/policy.yaml: No such file or directory", "message");
}

/* Several errors are all reported, sorted by position, with *out NULL. */
static bool test_errors_in_file_order(void)
{
	static const char text[] = "vips:\n"
				   "  - address: 198.18.0.1\n"
				   "  - address: 198.18.0.1\n"
				   "    services:\n"
				   "      - {protocol: tcp, port: 0}\n"
				   "settings:\n"
				   "  table_size: 9\n";
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = (void *)1;

	return ASSERT_EQ(parse(text, &p, &errs), -EINVAL, "invalid") &&
	       ASSERT_TRUE(!p, "no policy") && ASSERT_EQ(errs.n, 3, "three errors") &&
	       ASSERT_EQ(errs.more, 0, "no more") &&
	       ASSERT_STREQ(errs.msg[0], "t.yaml:3:5: duplicate VIP 198.18.0.1 (first defined at 2:5)",
		      "first") &&
	       ASSERT_STREQ(errs.msg[1], "t.yaml:5:31: port 0 out of range (1-65535)", "second") &&
	       ASSERT_STREQ(errs.msg[2], "t.yaml:7:15: table_size 9 is not prime", "third");
}

/* Past VIPXDP_POLICY_MAX_ERRORS messages, the rest are counted in `more`. */
static bool test_error_limit(void)
{
	struct vipxdp_policy_errors errs;
	struct vipxdp_policy *p = NULL;
	char *text = malloc(64 * 30 + 16), *w;
	bool ok;
	int i;

	if (!ASSERT_TRUE(text, "malloc"))
		return false;
	w = text + sprintf(text, "vips:\n");
	for (i = 0; i < 25; i++)
		w += sprintf(w, "  - address: 198.18.0.%d\n    arp: maybe\n", i);
	ok = ASSERT_EQ(parse(text, &p, &errs), -EINVAL, "invalid") &&
	     ASSERT_EQ(errs.n, VIPXDP_POLICY_MAX_ERRORS, "kept") &&
	     ASSERT_EQ(errs.more, 5, "more") &&
	     ASSERT_STREQ(errs.msg[19],
		    "t.yaml:41:10: arp: expected a boolean (true, false, yes, no), got 'maybe'",
		    "20th message");
	free(text);
	return ok;
}

/* A NULL error list is allowed; the return value still tells. */
static bool test_null_errors(void)
{
	struct vipxdp_policy *p = (void *)1;

	return ASSERT_EQ(parse("vips: 5\n", &p, NULL), -EINVAL, "invalid") && ASSERT_TRUE(!p, "NULL");
}

/* Heads of policies with one VIP and one service, to build error cases on. */
#define VIP   "vips:\n  - address: 198.18.0.1\n"
#define SVC   VIP "    services:\n      - protocol: tcp\n"
#define SVC80 SVC "        port: 80\n"
#define BE    SVC80 "        backends:\n"

struct error_case {
	const char *name;
	const char *yaml;
	const char *msg;
};

static const struct error_case error_cases[] = {
	/* An unknown key at the top level names the allowed keys. */
	{"unknown top-level key", "vip: []\n",
	 "t.yaml:1:1: unknown key 'vip' at the top level (allowed: settings, interfaces, vips, snat)"},
	/* An unknown key in settings. */
	{"unknown settings key", "settings:\n  seed: 1\n",
	 "t.yaml:2:3: unknown key 'seed' in settings (allowed: hash_seed, table_size, "
	 "conntrack_size, conntrack_timeouts, talkers_sample, flow_cache)"},
	/* An unknown key in an interface. */
	{"unknown interface key", "interfaces:\n  - {name: eth0, driver: x}\n",
	 "t.yaml:2:18: unknown key 'driver' in interface (allowed: name, mode)"},
	/* An unknown key in a VIP. */
	{"unknown VIP key", VIP "    port: 80\n",
	 "t.yaml:3:5: unknown key 'port' in VIP (allowed: address, name, arp, services, "
	 "port_forwards, elastic_ip, qos)"},
	/* An unknown key in a service. */
	/* A port forward on a port a service already uses. */
	{"port forward conflicts with a service",
	 SVC80 "    port_forwards:\n      - {protocol: tcp, port: 79-81, to: 198.19.0.9}\n",
	 "t.yaml:7:9: port conflict: 198.18.0.1:80/tcp of this port forward is also used by the "
	 "service at 4:9"},
	/* Ranges of different lengths. */
	{"port forward range lengths",
	 VIP "    port_forwards:\n      - {protocol: udp, port: 10-19, to: 198.19.0.9, to_port: 20-22}\n",
	 "t.yaml:4:63: to_port spans 3 ports but port spans 10 (give a range of the same length, or one port)"},
	/* An elastic IP on a VIP that has services. */
	{"elastic_ip with services", SVC80 "    elastic_ip: 198.19.0.9\n",
	 "t.yaml:6:17: elastic_ip takes every port of the VIP; it cannot also have services (at 4:7)"},
	/* A snat address that is no VIP of the policy. */
	{"snat address must be a VIP",
	 VIP "snat:\n  - {source: 198.19.0.0/16, address: 198.18.0.9}\n",
	 "t.yaml:4:38: address 198.18.0.9 is not a VIP of this policy (declare it under vips)"},
	/* nat: fullnat without snat_address. */
	{"fullnat needs snat_address", SVC80 "        nat: fullnat\n",
	 "t.yaml:4:9: nat: fullnat needs snat_address (the source address backends see)"},
	/* snat_address without nat: fullnat. */
	{"snat_address needs fullnat", SVC80 "        snat_address: 198.18.0.1\n",
	 "t.yaml:6:23: snat_address is only used with nat: fullnat"},
	/* snat_address of the other family. */
	{"snat_address family", SVC80 "        nat: fullnat\n        snat_address: 2001:db8::1\n",
	 "t.yaml:7:23: snat_address 2001:db8::1 is IPv6 but the VIP is IPv4"},
	/* A conntrack timeout below one second. */
	{"conntrack timeout too short", "settings:\n  conntrack_timeouts: {udp: 500ms}\n",
	 "t.yaml:2:29: udp 500ms out of range (1s-604800s)"},
	{"unknown service key", SVC80 "        prot: 81\n",
	 "t.yaml:6:9: unknown key 'prot' in service (allowed: protocol, port, hash, backends, "
	 "health, all_down, nat, snat_address)"},
	/* An unknown key in a backend (flow mapping). */
	{"unknown backend key", BE "          - {address: 198.19.0.1, weigth: 5}\n",
	 "t.yaml:7:35: unknown key 'weigth' in backend (allowed: address, port, weight, health)"},
	/* An unknown key in a health mapping. */
	{"unknown health key", SVC80 "        health: {kind: tcp}\n",
	 "t.yaml:6:18: unknown key 'kind' in health (allowed: type, path, expect, host, port, "
	 "interval, timeout, rise, fall, source, payload)"},
	/* A key given twice in one mapping. */
	{"repeated key", "settings:\n  hash_seed: 1\n  hash_seed: 2\n",
	 "t.yaml:3:3: duplicate key 'hash_seed' in settings (first at 2:3)"},
	/* A key that is not a string. */
	{"non-string key", "? [a]\n: b\n",
	 "t.yaml:1:3: keys must be strings, got a list at the top level"},
	/* A list where a mapping is expected. */
	{"list for a mapping", "settings:\n  - 1\n",
	 "t.yaml:2:3: settings: expected a mapping, got a list"},
	/* A mapping where a list is expected. */
	{"mapping for a list", "vips:\n  address: 198.18.0.1\n",
	 "t.yaml:2:3: vips: expected a list, got a mapping"},
	/* A string where a list is expected. */
	{"string for a list", VIP "    services: web\n",
	 "t.yaml:3:15: services: expected a list, got 'web'"},
	/* A list item that is not a mapping. */
	{"backend not a mapping", BE "          - 198.19.0.1:80\n",
	 "t.yaml:7:13: backend: expected a mapping, got '198.19.0.1:80'"},
	/* A list where a health mapping is expected. */
	{"health not a mapping", SVC80 "        health: [tcp]\n",
	 "t.yaml:6:17: health: expected a mapping, got a list"},
	/* The top level must be a mapping. */
	{"top level list", "- a\n", "t.yaml:1:1: expected a mapping at the top level, got a list"},
	/* A string where a number is expected. */
	{"string for a number", SVC "        port: http\n",
	 "t.yaml:5:15: port: expected an integer, got 'http'"},
	/* A quoted number is a string, not a number. */
	{"quoted number", SVC "        port: \"80\"\n",
	 "t.yaml:5:15: port: expected an integer, got a quoted string '80'"},
	/* A key without a value where a number is required. */
	{"null number", SVC "        port:\n", "t.yaml:5:14: port: expected an integer, got null"},
	/* A list where a number is expected. */
	{"list for a number", SVC "        port: [80]\n",
	 "t.yaml:5:15: port: expected an integer, got a list"},
	/* A key without a value where a string is required. */
	{"null string", VIP "    name:\n", "t.yaml:3:10: name: expected a string, got null"},
	/* An empty string where a name is required. */
	{"empty name", VIP "    name: \"\"\n", "t.yaml:3:11: name: must not be empty"},
	/* A VIP name that does not fit the VIP map entry (VIPXDP_NAME_LEN - 1 bytes). */
	{"VIP name too long", VIP "    name: web-frontend-production-1\n",
	 "t.yaml:3:11: name 'web-frontend-production-1' is longer than 23 bytes"},
	/* A VIP address that is not an IP literal. */
	{"bad VIP address", "vips:\n  - address: 198.18.0.300\n",
	 "t.yaml:2:14: address: invalid IP address '198.18.0.300'"},
	/* A backend address that is not an IP literal. */
	{"bad backend address", BE "          - address: www.example.com\n",
	 "t.yaml:7:22: address: invalid IP address 'www.example.com'"},
	/* Port above 65535. */
	{"port too large", SVC "        port: 70000\n",
	 "t.yaml:5:15: port 70000 out of range (1-65535)"},
	/* Port 0. */
	{"port zero", SVC "        port: 0\n", "t.yaml:5:15: port 0 out of range (1-65535)"},
	/* A backend port out of range. */
	{"backend port", BE "          - {address: 198.19.0.1, port: 65536}\n",
	 "t.yaml:7:41: port 65536 out of range (1-65535)"},
	/* Weight above 65535. */
	{"weight too large", BE "          - {address: 198.19.0.1, weight: 70000}\n",
	 "t.yaml:7:43: weight 70000 out of range (0-65535)"},
	/* Negative weight. */
	{"negative weight", BE "          - {address: 198.19.0.1, weight: -1}\n",
	 "t.yaml:7:43: weight -1 out of range (0-65535)"},
	/* A fractional weight is not an integer. */
	{"fractional weight", BE "          - {address: 198.19.0.1, weight: 1.5}\n",
	 "t.yaml:7:43: weight: expected an integer, got '1.5'"},
	/* A table size that is not prime. */
	{"non-prime table size", "settings:\n  table_size: 65536\n",
	 "t.yaml:2:15: table_size 65536 is not prime"},
	/* A table size below the minimum. */
	{"table size too small", "settings:\n  table_size: 5\n",
	 "t.yaml:2:15: table_size 5 out of range (7-1048573)"},
	/* A table size above the maximum (1048583 is prime). */
	{"table size too large", "settings:\n  table_size: 1048583\n",
	 "t.yaml:2:15: table_size 1048583 out of range (7-1048573)"},
	/* A hash seed wider than 32 bits. */
	{"hash seed too large", "settings:\n  hash_seed: 0x100000000\n",
	 "t.yaml:2:14: hash_seed 0x100000000 out of range (0-4294967295)"},
	/* A zero conntrack size. */
	{"conntrack size zero", "settings:\n  conntrack_size: 0\n",
	 "t.yaml:2:19: conntrack_size 0 out of range (1-67108864)"},
	/* The same VIP twice, written differently. */
	{"duplicate VIP", "vips:\n  - address: 2001:db8::1\n  - address: 2001:DB8:0::1\n",
	 "t.yaml:3:5: duplicate VIP 2001:db8::1 (first defined at 2:5)"},
	/* The same protocol and port twice on a VIP (protocol in any case). */
	{"duplicate service", SVC80 "      - protocol: TCP\n        port: 80\n",
	 "t.yaml:6:9: duplicate service 198.18.0.1:80/tcp (first defined at 4:9)"},
	/* The same backend twice, once through the default port. */
	{"duplicate backend",
	 BE "          - {address: 198.19.0.1}\n          - {address: 198.19.0.1, port: 80}\n",
	 "t.yaml:8:13: duplicate backend 198.19.0.1:80 in service 198.18.0.1:80/tcp (first defined "
	 "at 7:13)"},
	/* An IPv6 backend in an IPv4 service. */
	{"mixed families (IPv6 backend)", BE "          - {address: 2001:db8::2}\n",
	 "t.yaml:7:23: mixed address families inside one service: backend 2001:db8::2 is IPv6, "
	 "VIP 198.18.0.1 is IPv4"},
	/* An IPv4 backend in an IPv6 service. */
	{"mixed families (IPv4 backend)",
	 "vips:\n  - address: 2001:db8::1\n    services:\n      - protocol: udp\n        port: 53\n"
	 "        backends:\n          - address: 198.19.0.1\n",
	 "t.yaml:7:22: mixed address families inside one service: backend 198.19.0.1 is IPv4, "
	 "VIP 2001:db8::1 is IPv6"},
	/* A backend that is the service itself would loop. */
	{"backend is the VIP", BE "          - {address: 198.18.0.1, port: 80}\n",
	 "t.yaml:7:23: backend 198.18.0.1:80 is the service's own address"},
	/* The same interface twice. */
	{"duplicate interface", "interfaces:\n  - name: eth0\n  - {name: eth0, mode: native}\n",
	 "t.yaml:3:5: duplicate interface 'eth0' (first defined at 2:5)"},
	/* An interface name longer than IFNAMSIZ - 1. */
	{"interface name too long", "interfaces:\n  - name: eth0123456789abc\n",
	 "t.yaml:2:11: interface name 'eth0123456789abc' is longer than 15 characters"},
	/* An interface name with a character the kernel refuses. */
	{"interface name with '/'", "interfaces:\n  - name: a/b\n",
	 "t.yaml:2:11: invalid interface name 'a/b' (no '/', ':', whitespace, '.' or '..')"},
	/* An unknown attach mode. */
	{"bad mode", "interfaces:\n  - name: eth0\n    mode: xdp\n",
	 "t.yaml:3:11: mode: invalid value 'xdp' (allowed: auto, native, generic)"},
	/* An unknown protocol. */
	{"bad protocol", VIP "    services:\n      - protocol: sctp\n        port: 80\n",
	 "t.yaml:4:19: protocol: invalid value 'sctp' (allowed: tcp, udp)"},
	/* An unknown hash mode. */
	{"bad hash", SVC80 "        hash: random\n",
	 "t.yaml:6:15: hash: invalid value 'random' (allowed: 5tuple, source-ip)"},
	/* A boolean that is not true/false/yes/no. */
	{"bad boolean", VIP "    arp: maybe\n",
	 "t.yaml:3:10: arp: expected a boolean (true, false, yes, no), got 'maybe'"},
	/* A VIP without its address. */
	{"missing VIP address", "vips:\n  - name: web\n",
	 "t.yaml:2:5: missing required key 'address' in VIP"},
	/* A service without its protocol. */
	{"missing protocol", VIP "    services:\n      - port: 80\n",
	 "t.yaml:4:9: missing required key 'protocol' in service"},
	/* A service without its port. */
	{"missing port", SVC "        hash: 5tuple\n",
	 "t.yaml:4:9: missing required key 'port' in service"},
	/* A backend without its address. */
	{"missing backend address", BE "          - {port: 80}\n",
	 "t.yaml:7:13: missing required key 'address' in backend"},
	/* An interface without its name. */
	{"missing interface name", "interfaces:\n  - mode: auto\n",
	 "t.yaml:2:5: missing required key 'name' in interface"},
	/* An unknown health type. */
	{"bad health type", SVC80 "        health: {type: icmp}\n",
	 "t.yaml:6:24: type: invalid value 'icmp' (allowed: tcp, http, udp, none)"},
	/* A duration without a unit. */
	{"duration without unit", SVC80 "        health: {interval: 5}\n",
	 "t.yaml:6:28: interval: invalid duration '5' (expected a number and a unit: 500ms, 1s, "
	 "1.5s)"},
	/* A duration with an unknown unit. */
	{"duration in minutes", SVC80 "        health: {interval: 1m}\n",
	 "t.yaml:6:28: interval: invalid duration '1m' (expected a number and a unit: 500ms, 1s, "
	 "1.5s)"},
	/* An interval below the minimum. */
	{"interval too short", SVC80 "        health: {interval: 50ms}\n",
	 "t.yaml:6:28: interval 50ms out of range (100ms-3600s)"},
	/* A duration finer than a millisecond. */
	{"sub-millisecond duration", SVC80 "        health: {timeout: 1.5ms}\n",
	 "t.yaml:6:27: timeout: duration '1.5ms' is not a whole number of milliseconds"},
	/* A timeout longer than the interval. */
	{"timeout above interval", SVC80 "        health: {interval: 1s, timeout: 2s}\n",
	 "t.yaml:6:41: timeout 2s is longer than interval 1s"},
	/* A backend timeout longer than the interval it inherits. */
	{"inherited interval",
	 BE "          - address: 198.19.0.1\n            health: {timeout: 3s}\n",
	 "t.yaml:8:31: timeout 3s is longer than interval 2s"},
	/* rise below 1. */
	{"rise zero", SVC80 "        health: {rise: 0}\n",
	 "t.yaml:6:24: rise 0 out of range (1-100)"},
	/* fall above 100. */
	{"fall too large", SVC80 "        health: {fall: 101}\n",
	 "t.yaml:6:24: fall 101 out of range (1-100)"},
	/* A health port of 0. */
	{"health port zero", SVC80 "        health: {port: 0}\n",
	 "t.yaml:6:24: port 0 out of range (1-65535)"},
	/* An http key with the default tcp type. */
	{"path without http", SVC80 "        health: {path: /hz}\n",
	 "t.yaml:6:24: path: only valid with type http (type is tcp)"},
	/* An http path must be absolute. */
	{"relative path", SVC80 "        health: {type: http, path: hz}\n",
	 "t.yaml:6:36: path: must start with '/'"},
	/* A bad expected status. */
	{"bad expect", SVC80 "        health: {type: http, expect: 2xx}\n",
	 "t.yaml:6:38: expect: invalid status '2xx' (expected CODE or MIN-MAX, codes 100-599)"},
	/* An expected range written backwards. */
	{"reversed expect", SVC80 "        health: {type: http, expect: 399-200}\n",
	 "t.yaml:6:38: expect: invalid status '399-200' (expected CODE or MIN-MAX, codes "
	 "100-599)"},
	/* A udp payload with an http check. */
	{"payload without udp", SVC80 "        health: {type: http, payload: x}\n",
	 "t.yaml:6:39: payload: only valid with type udp (type is http)"},
	/* A probe source of the other family. */
	{"source family", SVC80 "        health: {source: 2001:db8::9}\n",
	 "t.yaml:6:26: source 2001:db8::9 is IPv6 but VIP 198.18.0.1 is IPv4"},
	/* A probe source that is not an address. */
	{"bad source", SVC80 "        health: {source: lb1}\n",
	 "t.yaml:6:26: source: invalid IP address 'lb1'"},
	/* Unbalanced brackets: libyaml's problem and position. */
	{"syntax error", "vips:\n  - address: [198.18.0.1\n",
	 "t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
	 "sequence at 2:14)"},
	/* Bad indentation: libyaml's problem and position. */
	{"indentation error", VIP "   name: x\n",
	 "t.yaml:3:4: YAML syntax error: did not find expected '-' indicator (while parsing a "
	 "block "
	 "collection at 2:3)"},
	/* Bytes that are not UTF-8. */
	{"invalid UTF-8", "vips: \xff\n", "t.yaml:1:7: invalid input: invalid leading UTF-8 octet"},
	/* Anchors are refused. */
	{"anchor", "settings: &s\n  hash_seed: 1\n", "t.yaml:1:11: anchors (&s) are not supported"},
	/* Aliases are refused. */
	{"alias", "vips: *v\n", "t.yaml:1:7: aliases (*v) are not supported"},
	/* Tags are refused. */
	{"tag", "settings:\n  hash_seed: !!int 5\n", "t.yaml:2:14: tags (!!int) are not supported"},
	/* A long value is quoted shortened to 60 characters. */
	{"long value shortened",
	 "vips:\n  - address: "
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	 "t.yaml:2:14: address: invalid IP address "
	 "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"},
	/* Nesting deeper than any policy needs is refused. */
	{"deep nesting",
	 "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	 "t.yaml:1:35: nesting deeper than 32 levels"},
	/* qos: bad values, each with its position. */
	{"qos pps zero", VIP "    qos: {pps: 0}\n",
	 "t.yaml:3:16: pps 0 out of range (1-1000000000)"},
	{"qos pps negative", VIP "    qos: {pps: -5}\n",
	 "t.yaml:3:16: pps -5 out of range (1-1000000000)"},
	{"qos pps not a number", VIP "    qos: {pps: fast}\n",
	 "t.yaml:3:16: pps: expected an integer, got 'fast'"},
	{"qos pps quoted", VIP "    qos: {pps: \"10\"}\n",
	 "t.yaml:3:16: pps: expected an integer, got a quoted string '10'"},
	{"qos bps too small", VIP "    qos: {bps: 100}\n",
	 "t.yaml:3:16: bps 100 out of range (8000-10000000000000)"},
	{"qos unknown key", VIP "    qos: {pps: 10, rate: 5}\n",
	 "t.yaml:3:20: unknown key 'rate' in qos (allowed: pps, bps, burst)"},
	{"qos without a limit", VIP "    qos: {burst: 1s}\n",
	 "t.yaml:3:10: qos: needs pps (packets/s) or bps (bits/s), or both"},
	{"qos null", VIP "    qos:\n",
	 "t.yaml:3:9: qos: expected a mapping with pps and/or bps, got null"},
	{"qos not a mapping", VIP "    qos: 100\n",
	 "t.yaml:3:10: qos: expected a mapping, got '100'"},
	{"qos burst too long", VIP "    qos: {pps: 10, burst: 20s}\n",
	 "t.yaml:3:27: burst 20s out of range (1ms-10s)"},
	{"flow_cache not a boolean", "settings:\n  flow_cache: maybe\n",
	 "t.yaml:2:15: flow_cache: expected a boolean (true, false, yes, no), got 'maybe'"},
	{"talkers_sample not a power of two", "settings:\n  talkers_sample: 3\n",
	 "t.yaml:2:19: talkers_sample 3 is not a power of two (1, 2, 4 ... 65536) or 0 (off)"},
	{"talkers_sample too big", "settings:\n  talkers_sample: 131072\n",
	 "t.yaml:2:19: talkers_sample 131072 out of range (0-65536)"},
	/* A second document is refused. */
	{"two documents", "vips: []\n---\nvips: []\n",
	 "t.yaml:2:1: only one YAML document is allowed"},
};

/* Each invalid policy gives exactly one error, with its exact message. */
static void run_error_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *ec = &error_cases[i];
		struct vipxdp_policy_errors errs;
		struct vipxdp_policy *p = (void *)1;
		int ret;
		bool ok;

		ret = parse(ec->yaml, &p, &errs);
		ok = ASSERT_EQ(ret, -EINVAL, ec->name) && ASSERT_TRUE(!p, ec->name) &&
		     ASSERT_EQ(errs.n, 1, ec->name) && ASSERT_STREQ(errs.msg[0], ec->msg, ec->name);
		if (!ok && errs.n > 1)
			vipxdp_policy_errors_print(&errs, stdout);
		tap_result(ok, "error: %s", ec->name);
	}
}

int main(void)
{
	tap_run("full policy: values and defaults", test_full_policy);
	tap_run("lookups", test_find);
	tap_run("health inheritance", test_health_inheritance);
	tap_run("empty policy", test_empty_policy);
	tap_run("qos and talkers_sample: values and defaults", test_qos);
	tap_run("example file " EXAMPLE_POLICY, test_example_file);
	tap_run("missing file", test_missing_file);
	tap_run("errors in file order", test_errors_in_file_order);
	tap_run("error limit", test_error_limit);
	tap_run("NULL error list", test_null_errors);
	run_error_cases();
	tap_run("port_forwards: a range expands into per-port services", test_port_forward_range);
	return tap_done();
}
