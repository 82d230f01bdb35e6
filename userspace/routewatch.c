/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The route watch (routewatch.h). The data path's epoch is
 * bpf_ktime_get_coarse_ns() >> VIPXDP_EPOCH_SHIFT, the same clock as
 * CLOCK_MONOTONIC_COARSE here. The watch is written as "on until the end of
 * the next epoch" every half epoch, so it never lapses while the daemon
 * runs, and ends at most two epochs after the daemon dies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "vipxdp_abi.h"
#include "routewatch.h"

#define RWATCH_BEAT_MS 500
/* A routing check follows the first route, rule or nexthop change after
 * this long (a burst of changes takes one check), and at least 20 times
 * its last duration after the one before (a host with a full BGP table
 * does not spend its time dumping it). */
#define RWATCH_CHECK_DELAY_MS 100
#define RWATCH_CHECK_SPACING 20
#define RWATCH_RETRY_MS 1000

struct vipxdp_rwatch {
	int nl; /* NETLINK_ROUTE socket */
	int route_fd;
	__u32 gen; /* the counter, without VIPXDP_ROUTE_SIMPLE */
	bool simple; /* routing checked simple, no change since */
	bool check_due; /* a route, rule or nexthop changed: check at check_ms */
	__u64 check_ms;
	__u64 last_check_end_ms, last_check_cost_ms;
	__u64 next_beat_ms;
	char why[160]; /* why routing is not simple */
};

static __u64 mono_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

__u32 vipxdp_epoch_now(void)
{
	struct timespec ts;
	__u64 ns;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	return (__u32)(ns >> VIPXDP_EPOCH_SHIFT);
}

static int rwatch_write(struct vipxdp_rwatch *w, __u32 watch_until)
{
	struct vipxdp_route r = { .gen = w->gen | (w->simple ? VIPXDP_ROUTE_SIMPLE : 0),
				  .watch_until = watch_until };
	__u32 zero = 0;

	return bpf_map_update_elem(w->route_fd, &zero, &r, BPF_ANY) ? -errno : 0;
}

/* Keep the watch on: until the end of the next epoch. */
static int rwatch_beat(struct vipxdp_rwatch *w)
{
	w->next_beat_ms = mono_ms(CLOCK_MONOTONIC) + RWATCH_BEAT_MS;
	return rwatch_write(w, vipxdp_epoch_now() + 1);
}

/* ---- routing check: does the FIB answer by destination alone? -------- */

struct rcheck {
	char *why;
	size_t why_len;
	__u32 *groups; /* ids of nexthop groups */
	size_t ngroups, cap;
};

/* The attributes after a family header of hlen bytes in h: first one
 * into *len bytes. */
static struct rtattr *nl_attrs(const struct nlmsghdr *h, size_t hlen, int *len)
{
	*len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(hlen);
	return (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hlen));
}

static __u32 rta_u32(const struct rtattr *a)
{
	__u32 v = 0;

	if (RTA_PAYLOAD(a) >= sizeof(v))
		memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

/* Dump request type (family header hdr, hlen bytes) on fd: cb for each
 * answer until the end. 0, cb's first nonzero return (the dump is read to
 * its end), or -errno (-EAGAIN when the kernel says the dump was
 * interrupted by a change). */
static int nl_dump(int fd, __u16 type, const void *hdr, size_t hlen,
		   int (*cb)(const struct nlmsghdr *h, struct rcheck *c), struct rcheck *c)
{
	static __u32 seq;
	struct {
		struct nlmsghdr nh;
		char body[32];
	} req = {};
	size_t bufsz = 65536;
	char *buf;
	int ret = 0;

	if (hlen > sizeof(req.body))
		return -EINVAL;
	req.nh.nlmsg_len = NLMSG_LENGTH(hlen);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = ++seq;
	memcpy(req.body, hdr, hlen);
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct nlmsghdr *h;
		ssize_t n = recv(fd, buf, bufsz, 0);
		int left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EPIPE;
			break;
		}
		left = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				ret = ret ?: -EAGAIN;
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error ?: ret;
				goto out;
			}
			ret = ret ?: cb(h, c);
		}
	}
out:
	free(buf);
	return ret;
}

/* A nexthop object: groups' ids are remembered. */
static int nexthop_cb(const struct nlmsghdr *h, struct rcheck *c)
{
	__u32 id = 0;
	bool group = false;
	struct rtattr *a;
	int len;

	if (h->nlmsg_type != RTM_NEWNEXTHOP)
		return 0;
	for (a = nl_attrs(h, sizeof(struct nhmsg), &len); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == NHA_ID)
			id = rta_u32(a);
		else if (a->rta_type == NHA_GROUP)
			group = true;
	}
	if (!group)
		return 0;
	if (c->ngroups == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		__u32 *g = realloc(c->groups, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		c->groups = g;
		c->cap = cap;
	}
	c->groups[c->ngroups++] = id;
	return 0;
}

/* A policy rule: simple when it selects by destination at most. */
static int rule_cb(const struct nlmsghdr *h, struct rcheck *c)
{
	const struct fib_rule_hdr *frh = NLMSG_DATA(h);
	bool selects = false;
	__u32 prio = 0;
	struct rtattr *a;
	int len;

	if (h->nlmsg_type != RTM_NEWRULE)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*frh)))
		return -EBADMSG;
	selects = frh->src_len || frh->tos;
	for (a = nl_attrs(h, sizeof(*frh), &len); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case FRA_PRIORITY:
			prio = rta_u32(a);
			break;
		case FRA_TABLE:
		case FRA_DST:
		case FRA_GOTO:
		case FRA_SUPPRESS_PREFIXLEN:
		case FRA_SUPPRESS_IFGROUP:
		case FRA_PROTOCOL:
		case FRA_PAD:
			break;
		default: /* a selector (source, interface, mark, ...) or unknown */
			selects = true;
		}
	}
	if (!selects)
		return 0;
	snprintf(c->why, c->why_len, "%s policy rule %u selects by more than the destination",
		 frh->family == AF_INET6 ? "IPv6" : "IPv4", prio);
	return 1;
}

/* A route: simple unless multipath, by TOS, or source-specific. */
static int route_cb(const struct nlmsghdr *h, struct rcheck *c)
{
	const struct rtmsg *rtm = NLMSG_DATA(h);
	char dst[INET6_ADDRSTRLEN + 4] = "default";
	const char *what = NULL;
	bool multipath = false;
	__u32 table, nh_id = 0;
	struct rtattr *a;
	size_t i;
	int len;

	if (h->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return -EBADMSG;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	table = rtm->rtm_table;
	for (a = nl_attrs(h, sizeof(*rtm), &len); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_MULTIPATH)
			multipath = true;
		else if (a->rta_type == RTA_NH_ID)
			nh_id = rta_u32(a);
		else if (a->rta_type == RTA_TABLE)
			table = rta_u32(a);
		else if (a->rta_type == RTA_DST &&
			 RTA_PAYLOAD(a) >= (rtm->rtm_family == AF_INET6 ? 16u : 4u) &&
			 inet_ntop(rtm->rtm_family, RTA_DATA(a), dst, sizeof(dst)))
			snprintf(dst + strlen(dst), sizeof(dst) - strlen(dst), "/%u",
				 rtm->rtm_dst_len);
	}
	for (i = 0; nh_id && i < c->ngroups && !multipath; i++)
		multipath = c->groups[i] == nh_id;
	if (multipath)
		what = "is multipath";
	else if (rtm->rtm_tos)
		what = "selects by TOS";
	else if (rtm->rtm_src_len)
		what = "is source-specific";
	if (!what)
		return 0;
	snprintf(c->why, c->why_len, "route to %s (table %u) %s", dst, table, what);
	return 1;
}

/* Does the FIB's answer for a packet depend on its destination and ingress
 * interface alone (VIPXDP_ROUTE_SIMPLE)? 1 yes; 0 no, why says why; or
 * -errno. */
static int routing_simple(char *why, size_t why_len)
{
	struct rcheck c = { .why = why, .why_len = why_len };
	static const int families[] = { AF_INET, AF_INET6 };
	struct timeval tv = { .tv_sec = 5 };
	struct nhmsg nhm = { .nh_family = AF_UNSPEC };
	size_t i;
	int fd, rc;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		rc = -errno;
		goto out;
	}
	/* Nexthop objects first (routes name their groups by id); a kernel
	 * without them has none. */
	rc = nl_dump(fd, RTM_GETNEXTHOP, &nhm, sizeof(nhm), nexthop_cb, &c);
	if (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -EAFNOSUPPORT)
		rc = 0;
	for (i = 0; !rc && i < sizeof(families) / sizeof(families[0]); i++) {
		struct fib_rule_hdr frh = { .family = (__u8)families[i] };
		struct rtmsg rtm = { .rtm_family = (unsigned char)families[i] };

		rc = nl_dump(fd, RTM_GETRULE, &frh, sizeof(frh), rule_cb, &c);
		rc = rc ?: nl_dump(fd, RTM_GETROUTE, &rtm, sizeof(rtm), route_cb, &c);
		/* No IPv6 in this kernel: nothing to check there. */
		if (rc == -EAFNOSUPPORT && families[i] == AF_INET6)
			rc = 0;
	}
out:
	close(fd);
	free(c.groups);
	return rc < 0 ? rc : !rc;
}

/* Check routing now (VIPXDP_ROUTE_SIMPLE): w->simple and w->why. */
static void rwatch_check(struct vipxdp_rwatch *w)
{
	__u64 t0 = mono_ms(CLOCK_MONOTONIC);
	int rc = routing_simple(w->why, sizeof(w->why));

	if (rc < 0)
		snprintf(w->why, sizeof(w->why), "routing could not be read: %s", strerror(-rc));
	w->simple = rc == 1;
	if (w->simple)
		w->why[0] = 0;
	w->last_check_end_ms = mono_ms(CLOCK_MONOTONIC);
	w->last_check_cost_ms = w->last_check_end_ms - t0;
	/* A check that could not read routing is tried again in a second. */
	w->check_due = rc < 0;
	w->check_ms = w->last_check_end_ms + RWATCH_RETRY_MS;
}

/* Messages in buf (n bytes): does one announce a route, rule or nexthop
 * change (which can change what routing_simple() answers)? */
static bool routing_msgs(const char *buf, ssize_t n)
{
	const struct nlmsghdr *h;
	int left = (int)n;

	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		switch (h->nlmsg_type) {
		case RTM_NEWROUTE:
		case RTM_DELROUTE:
		case RTM_NEWRULE:
		case RTM_DELRULE:
		case RTM_NEWNEXTHOP:
		case RTM_DELNEXTHOP:
			return true;
		}
	}
	return false;
}

int vipxdp_rwatch_new(struct vipxdp_rwatch **wp, int route_fd)
{
	/* Everything a FIB lookup's answer depends on: routes, policy rules,
	 * nexthop objects, addresses, links, neighbours, and the interfaces'
	 * settings (forwarding on or off). */
	static const unsigned int groups[] = {
		RTNLGRP_LINK,	   RTNLGRP_NEIGH,	 RTNLGRP_IPV4_IFADDR,  RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_IFADDR,	 RTNLGRP_IPV6_ROUTE,   RTNLGRP_IPV6_RULE,
		RTNLGRP_NEXTHOP,   RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF,
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct vipxdp_route cur = {};
	struct vipxdp_rwatch *w;
	__u32 zero = 0;
	size_t i;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->route_fd = route_fd;
	w->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->nl < 0 || bind(w->nl, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail_errno;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (setsockopt(w->nl, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])))
			goto fail_errno;
	}
	if (bpf_map_lookup_elem(route_fd, &zero, &cur))
		goto fail_errno;
	w->gen = (cur.gen + 1) & VIPXDP_ROUTE_GEN_MASK;
	rwatch_check(w);
	err = rwatch_beat(w);
	if (err) {
		if (w->nl >= 0)
			close(w->nl);
		free(w);
		return err;
	}
	*wp = w;
	return 0;
fail_errno:
	err = -errno;
	if (w->nl >= 0)
		close(w->nl);
	free(w);
	return err;
}

int vipxdp_rwatch_fd(const struct vipxdp_rwatch *w)
{
	return w->nl;
}

int vipxdp_rwatch_timeout_ms(const struct vipxdp_rwatch *w)
{
	__u64 now = mono_ms(CLOCK_MONOTONIC), due = w->next_beat_ms;

	if (w->check_due && w->check_ms < due)
		due = w->check_ms;
	return now >= due ? 0 : (int)(due - now);
}

int vipxdp_rwatch_run(struct vipxdp_rwatch *w)
{
	int changes = 0, routing = 0, err;
	char buf[16384];
	__u64 now;
	ssize_t n;

	for (;;) {
		n = recv(w->nl, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			/* Any message: what a FIB lookup answers may have
			 * changed (a neighbour's state, too). */
			changes++;
			routing += routing_msgs(buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			changes++; /* messages were lost: assume a change */
			routing++;
			continue;
		}
		break; /* EAGAIN, or nothing more to read */
	}
	/* Routes, rules or nexthops changed: new flows look the FIB up until
	 * a check finds routing simple again. */
	now = mono_ms(CLOCK_MONOTONIC);
	if (routing) {
		w->simple = false;
		if (!w->check_due) {
			w->check_due = true;
			w->check_ms = now + RWATCH_CHECK_DELAY_MS;
			if (w->check_ms <
			    w->last_check_end_ms + RWATCH_CHECK_SPACING * w->last_check_cost_ms)
				w->check_ms = w->last_check_end_ms +
					      RWATCH_CHECK_SPACING * w->last_check_cost_ms;
		}
	}
	if (w->check_due && now >= w->check_ms) {
		rwatch_check(w);
		changes += w->simple;
	}
	if (changes)
		w->gen = (w->gen + 1) & VIPXDP_ROUTE_GEN_MASK;
	if (changes || vipxdp_rwatch_timeout_ms(w) == 0) {
		err = rwatch_beat(w);
		if (err)
			return err;
	}
	return changes;
}

bool vipxdp_rwatch_simple(const struct vipxdp_rwatch *w, const char **why)
{
	*why = w->why;
	return !w->why[0];
}

int vipxdp_rwatch_state(int route_fd, bool *on, __u32 *gen, bool *simple)
{
	struct vipxdp_route r;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(route_fd, &zero, &r))
		return -errno;
	*on = r.watch_until && r.watch_until >= vipxdp_epoch_now();
	*gen = r.gen & VIPXDP_ROUTE_GEN_MASK;
	*simple = *on && (r.gen & VIPXDP_ROUTE_SIMPLE);
	return 0;
}

__u32 vipxdp_rwatch_token(int route_fd, __u32 now)
{
	struct vipxdp_route r;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(route_fd, &zero, &r) || !r.watch_until || r.watch_until < now)
		return now;
	return VIPXDP_NH_WATCH | r.gen;
}

void vipxdp_rwatch_free(struct vipxdp_rwatch *w)
{
	if (!w)
		return;
	rwatch_write(w, 0);
	close(w->nl);
	free(w);
}
