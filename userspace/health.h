/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health-check probe engine: probes backends over TCP, HTTP or UDP and
 * reports each UP/DOWN transition. Single-threaded and event-driven: every
 * probe socket is non-blocking and watched by one epoll instance, and every
 * deadline (next probe, probe timeout) sits in one min-heap that bounds the
 * epoll_wait timeout. No threads, timerfds or blocking calls; one core runs
 * 10,000 targets at a 1 s interval (tools/bench_health.c measures it).
 *
 * Probes:
 * - tcp: non-blocking connect; success when the handshake completes, even
 *   if the peer resets the connection right after (accept and close with
 *   SO_LINGER 0): ECONNRESET, unlike ECONNREFUSED, proves the handshake.
 *   The socket is closed at once, with a reset (SO_LINGER 0) so that the
 *   prober keeps no TIME_WAIT sockets.
 * - http: connect, send "GET PATH HTTP/1.0" with Host (the configured host,
 *   else the backend address, with ":PORT" unless the port is 80),
 *   "User-Agent: vipxdp-health" and "Connection: close"; read only the 13
 *   bytes of the status line that hold the code ("HTTP/1.1 200 "); success
 *   when the code is within [expect_min, expect_max]. Closed with a reset.
 * - udp: connected UDP socket, send the payload (may be empty). Success on
 *   any reply, and on silence until the timeout; failure on an ICMP port
 *   unreachable (ECONNREFUSED) or another ICMP error. Where ICMP is filtered
 *   or rate limited a closed port therefore looks healthy.
 * - none: never probed; the target is UP whatever the initial state given.
 *
 * State: a target in state UP goes DOWN after `fall` failed probes in a row,
 * a target in state DOWN goes UP after `rise` successful probes in a row.
 * The callback runs on every transition; rate limiting of data-plane
 * changes (flapping) is the caller's business: vipxdp_health_get() gives
 * the time and count of transitions.
 *
 * Scheduling: each target is probed every interval_ms on a fixed cadence;
 * the first probe comes at an offset within the first interval, from a hash
 * of the target, so that many targets do not fire together. A probe never
 * overlaps the previous one of the same target. At most max_in_flight
 * probes hold a socket at once (derived from RLIMIT_NOFILE, whose soft limit
 * vipxdp_health_new() raises to the hard limit, at most 1048576); further
 * probes wait for a socket in FIFO order and count as deferred. EMFILE,
 * ENFILE, ENOBUFS or ENOMEM from socket() defer probes for 10 ms rather than
 * fail them: they say nothing about the backend.
 *
 * Overload: a round handles every ready socket event before it judges any
 * deadline, so an engine that was stalled (CPU starved) never times out a
 * probe whose answer has arrived; and a round starts at most 512 probes, so
 * catching up comes in slices with events handled in between. Late starts
 * are counted (stats late, max_late_ns); a probe that starts more than an
 * interval late shifts its target's cadence instead of causing a burst.
 *
 * Using it from an event loop: either call vipxdp_health_run() in a loop, or
 * add vipxdp_health_fd() (an epoll fd, readable when a probe socket has an
 * event) to the daemon's own epoll instance, wait no longer than
 * vipxdp_health_next_timeout(), and call vipxdp_health_run(h, 0) after each
 * wake-up.
 *
 * Callbacks run from vipxdp_health_run() only. They may call every function
 * here except vipxdp_health_run() (-EBUSY) and vipxdp_health_free(); in
 * particular they may remove any target, the one reported included. The
 * target pointer they get is valid until the callback returns or removes
 * that target; the reason text until the callback returns.
 *
 * Times: "_ns" fields are CLOCK_MONOTONIC nanoseconds (vipxdp_health_now_ns),
 * plain second fields are CLOCK_REALTIME seconds (time()).
 *
 * Functions return 0 or a negative errno.
 */
#ifndef VIPXDP_HEALTH_H
#define VIPXDP_HEALTH_H

#include <stdbool.h>
#include <linux/types.h>

#include "addr.h"
#include "policy.h"

/* Size of the reason texts, terminating NUL included. */
#define VIPXDP_HEALTH_REASON_LEN 128

struct vipxdp_health;

/* One backend to probe. */
struct vipxdp_health_target {
	/* Backend address and port; the probe goes to cfg.port, or ep.port when 0. */
	struct vipxdp_endpoint ep;
	/* Effective settings; vipxdp_health_add() copies them, strings included. */
	struct vipxdp_policy_health cfg;
	void *user; /* the caller's cookie, handed back in callbacks */
};

enum vipxdp_health_state {
	VIPXDP_HEALTH_DOWN = 0,
	VIPXDP_HEALTH_UP = 1,
};

/*
 * A transition of target id from old_state to new_state. reason is the
 * result of the probe that caused it: "connect: Connection refused",
 * "http status 503, expected 200-399", "timeout after 500 ms connecting",
 * "udp: ICMP port unreachable", "tcp: connected", "http status 200"...
 */
typedef void (*vipxdp_health_cb)(void *ctx, int id, const struct vipxdp_health_target *t,
				 enum vipxdp_health_state old_state,
				 enum vipxdp_health_state new_state, const char *reason);

/* Optional: the result of every probe, before the transition callback. */
typedef void (*vipxdp_health_probe_cb)(void *ctx, int id, const struct vipxdp_health_target *t,
				       bool ok, const char *reason);

/* State of one target, for `vipxdp status`. */
struct vipxdp_health_info {
	enum vipxdp_health_state state;
	bool probing; /* a probe is in flight (or waiting for a socket) */
	bool last_ok; /* result of the last completed probe */
	__u32 successes; /* consecutive successful probes, up to now */
	__u32 failures; /* consecutive failed probes, up to now */
	__u64 probes; /* completed probes since the target was added */
	__u64 transitions; /* state changes since the target was added */
	__s64 since; /* realtime s: last transition, or when added */
	__u64 since_ns; /* monotonic ns of the same */
	__s64 last_probe; /* realtime s: end of the last completed probe; 0 = none yet */
	__u32 last_us; /* duration of the last completed probe, microseconds */
	__u64 next_ns; /* monotonic ns: when the next probe is due; 0 = never (none) */
	char last[VIPXDP_HEALTH_REASON_LEN]; /* result of the last probe; "" = none yet */
};

/* Engine counters, since vipxdp_health_new(). */
struct vipxdp_health_stats {
	__u64 sent; /* probes started */
	__u64 succeeded; /* probes completed with success */
	__u64 failed; /* probes completed with failure, timeouts included */
	__u64 timeouts; /* failures by timeout */
	__u64 transitions; /* state changes, all targets */
	__u64 deferred; /* probe starts that had to wait for a socket */
	__u64 late; /* probes started more than one interval after they were due */
	__u64 max_late_ns; /* the largest delay of a probe start past its due time (peak) */
	__u32 targets; /* targets added and not removed */
	__u32 in_flight; /* probe sockets open now */
	__u32 max_in_flight_seen; /* peak of in_flight */
	__u32 max_in_flight; /* the limit in force */
	__u64 nofile_before; /* RLIMIT_NOFILE soft limit found by vipxdp_health_new() */
	__u64 nofile; /* the soft limit after raising it (to the hard limit) */
};

/* CLOCK_MONOTONIC in nanoseconds, the clock of every "_ns" field. */
__u64 vipxdp_health_now_ns(void);

/* "up" or "down". */
const char *vipxdp_health_state_str(enum vipxdp_health_state state);

/*
 * New engine. cb (may be NULL) gets every transition, with ctx. Raises the
 * RLIMIT_NOFILE soft limit to the hard limit (at most 1048576) when it is
 * lower; the limit before and after is in the stats. Returns -ENOMEM or the errno of
 * epoll_create1().
 */
int vipxdp_health_new(struct vipxdp_health **out, vipxdp_health_cb cb, void *ctx);

/* Closes every probe socket and frees everything; h may be NULL. */
void vipxdp_health_free(struct vipxdp_health *h);

/* Set (or with NULL clear) the per-probe callback; it gets the same ctx. */
void vipxdp_health_set_probe_cb(struct vipxdp_health *h, vipxdp_health_probe_cb cb);

/*
 * Limit the probe sockets open at once; 0 restores the default (the
 * RLIMIT_NOFILE soft limit minus a reserve of 1/8, 16 to 1024 fds, for the
 * rest of the process). -ERANGE above the default.
 */
int vipxdp_health_set_max_in_flight(struct vipxdp_health *h, unsigned int n);

/*
 * Add a target in state initial (ignored for type none: always UP) and
 * return its id (>= 0) in *id. Ids are reused after removal, like file
 * descriptors. The first probe is due within one interval. -EINVAL when the
 * target is unusable: family not IPv4/IPv6, no port, source of another
 * family, interval, timeout, rise or fall of 0 or beyond the policy bounds,
 * a path not starting with '/', a path or host with spaces or control
 * characters. -ENOMEM.
 */
int vipxdp_health_add(struct vipxdp_health *h, const struct vipxdp_health_target *t,
		      enum vipxdp_health_state initial, int *id);

/* Remove a target, aborting its probe in flight. -ENOENT for an unknown id. */
int vipxdp_health_remove(struct vipxdp_health *h, int id);

/* The target as added (strings owned by the engine); NULL for an unknown id. */
const struct vipxdp_health_target *vipxdp_health_get_target(struct vipxdp_health *h, int id);

/* State of a target. -ENOENT for an unknown id. */
int vipxdp_health_get(struct vipxdp_health *h, int id, struct vipxdp_health_info *info);

void vipxdp_health_stats(struct vipxdp_health *h, struct vipxdp_health_stats *st);

/* Restart the peaks max_late_ns and max_in_flight_seen (e.g. per metrics scrape). */
void vipxdp_health_stats_reset_peaks(struct vipxdp_health *h);

/*
 * One round: wait for probe socket events up to timeout_ms (-1: until the
 * next deadline; the wait never goes past the next deadline), handle them,
 * then expire the due deadlines: start probes, time out probes. Returns the
 * number of socket events and deadlines handled (0 also when a signal
 * interrupted the wait), -EBUSY when called from a callback, or the negative
 * errno of epoll_wait().
 */
int vipxdp_health_run(struct vipxdp_health *h, int timeout_ms);

/* The epoll fd: readable when vipxdp_health_run() has socket events to handle. */
int vipxdp_health_fd(struct vipxdp_health *h);

/* Milliseconds until the next deadline (rounded up), 0 if one is due, -1 if none. */
int vipxdp_health_next_timeout(struct vipxdp_health *h);

#endif /* VIPXDP_HEALTH_H */
