/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The route watch (routewatch.h). The data path's epoch is
 * bpf_ktime_get_coarse_ns() >> VIPXDP_EPOCH_SHIFT, the same clock as
 * CLOCK_MONOTONIC_COARSE here. The watch is written as "on until the end of
 * the next epoch" every half epoch, so it never lapses while the daemon
 * runs, and ends at most two epochs after the daemon dies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "vipxdp_abi.h"
#include "routewatch.h"

#define RWATCH_BEAT_MS 500

struct vipxdp_rwatch {
	int nl; /* NETLINK_ROUTE socket */
	int route_fd;
	__u32 gen;
	__u64 next_beat_ms;
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
	struct vipxdp_route r = { .gen = w->gen, .watch_until = watch_until };
	__u32 zero = 0;

	return bpf_map_update_elem(w->route_fd, &zero, &r, BPF_ANY) ? -errno : 0;
}

/* Keep the watch on: until the end of the next epoch. */
static int rwatch_beat(struct vipxdp_rwatch *w)
{
	w->next_beat_ms = mono_ms(CLOCK_MONOTONIC) + RWATCH_BEAT_MS;
	return rwatch_write(w, vipxdp_epoch_now() + 1);
}

int vipxdp_rwatch_new(struct vipxdp_rwatch **wp, int route_fd)
{
	/* Everything a FIB lookup's answer depends on: routes, policy rules,
	 * nexthop objects, addresses, links and neighbours. */
	static const unsigned int groups[] = { RTNLGRP_LINK,	   RTNLGRP_NEIGH,
					       RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
					       RTNLGRP_IPV4_RULE,   RTNLGRP_IPV6_IFADDR,
					       RTNLGRP_IPV6_ROUTE,  RTNLGRP_IPV6_RULE,
					       RTNLGRP_NEXTHOP };
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
	w->gen = (cur.gen + 1) & ~VIPXDP_NH_WATCH;
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
	__u64 now = mono_ms(CLOCK_MONOTONIC);

	return now >= w->next_beat_ms ? 0 : (int)(w->next_beat_ms - now);
}

int vipxdp_rwatch_run(struct vipxdp_rwatch *w)
{
	char buf[16384];
	int changes = 0, err;
	ssize_t n;

	for (;;) {
		n = recv(w->nl, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			/* Any message: what a FIB lookup answers may have
			 * changed (a neighbour's state, too). */
			changes++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			changes++; /* messages were lost: assume a change */
			continue;
		}
		break; /* EAGAIN, or nothing more to read */
	}
	if (changes)
		w->gen = (w->gen + 1) & ~VIPXDP_NH_WATCH;
	if (changes || vipxdp_rwatch_timeout_ms(w) == 0) {
		err = rwatch_beat(w);
		if (err)
			return err;
	}
	return changes;
}

__u32 vipxdp_rwatch_gen(const struct vipxdp_rwatch *w)
{
	return w->gen;
}

int vipxdp_rwatch_state(int route_fd, bool *on, __u32 *gen)
{
	struct vipxdp_route r;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(route_fd, &zero, &r))
		return -errno;
	*on = r.watch_until && r.watch_until >= vipxdp_epoch_now();
	*gen = r.gen;
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
