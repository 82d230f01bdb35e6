/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's route watch (struct vipxdp_route): an rtnetlink listener
 * that bumps the data path's route generation after every change the kernel
 * announces, so that next hops cached in conntrack follow routes and
 * neighbours at once, and that keeps the watch on while the daemon runs.
 * It also checks whether routing is simple (VIPXDP_ROUTE_SIMPLE): at start,
 * and again shortly after route, rule or nexthop changes, during which the
 * bit is off.
 */
#ifndef VIPXDP_ROUTEWATCH_H
#define VIPXDP_ROUTEWATCH_H

#include <stdbool.h>
#include <linux/types.h>

struct vipxdp_rwatch;

/* Listen on rtnetlink in the caller's network namespace and turn the watch
 * on in map route_fd (vipxdp_route), with a new generation (changes made
 * while nobody watched count too). 0, or -errno (nothing changed). */
int vipxdp_rwatch_new(struct vipxdp_rwatch **w, int route_fd);

/* The netlink socket, for the caller's poll loop. */
int vipxdp_rwatch_fd(const struct vipxdp_rwatch *w);

/* Milliseconds until vipxdp_rwatch_run() is due to keep the watch on, or
 * to check routing again. */
int vipxdp_rwatch_timeout_ms(const struct vipxdp_rwatch *w);

/* Read what rtnetlink announced (without blocking): after any change, or
 * after lost messages, a new generation; check routing when due; and keep
 * the watch on. The number
 * of changes seen (lost messages count as one), or -errno when the map
 * could not be written (the data path then refreshes next hops once an
 * epoch, as without a watch). */
int vipxdp_rwatch_run(struct vipxdp_rwatch *w);

/* The data path's epoch now: bpf_ktime_get_coarse_ns() >> VIPXDP_EPOCH_SHIFT,
 * the same clock as CLOCK_MONOTONIC_COARSE. */
__u32 vipxdp_epoch_now(void);

/* The last routing check's answer: true when the FIB's answer for a packet
 * depends on its destination and ingress interface alone (*why is then
 * ""); else *why says why not ("route to 198.18.5.0/24 (table 254) is
 * multipath", ...). */
bool vipxdp_rwatch_simple(const struct vipxdp_rwatch *w, const char **why);

/* Turn the watch off (next hops are refreshed once an epoch again) and
 * free w. */
void vipxdp_rwatch_free(struct vipxdp_rwatch *w);

/* Is the watch in map route_fd on now (as the data path sees it)? The
 * generation (the counter) into *gen; into *simple, whether new flows take
 * next hops cached per backend (the watch on, VIPXDP_ROUTE_SIMPLE set).
 * -errno when the map cannot be read. */
int vipxdp_rwatch_state(int route_fd, bool *on, __u32 *gen, bool *simple);

/* The token a next hop cached in epoch now carries (the data path's
 * nh_token()): VIPXDP_NH_WATCH | gen while the watch is on, else now (also
 * when the map cannot be read). */
__u32 vipxdp_rwatch_token(int route_fd, __u32 now);

#endif /* VIPXDP_ROUTEWATCH_H */
