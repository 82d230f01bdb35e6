/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health-check probe engine (see health.h for the behaviour it promises).
 *
 * Every target has exactly one deadline in a binary min-heap: when idle, the
 * time its next probe is due; while a probe is in flight, the probe's
 * timeout. vipxdp_health_run() waits on the epoll fd no longer than the
 * heap's first deadline, handles socket events, then pops the deadlines that
 * have passed. A due probe that finds no socket budget joins a FIFO wait
 * list and starts as soon as another probe closes its socket.
 *
 * Each epoll registration carries the target id and a probe serial (global,
 * incremented on every probe start and every add), so an event that arrives
 * for a probe already finished, a target removed, or an id reused in the
 * meantime is recognised and ignored: nothing ever dereferences a stale
 * pointer. Callbacks run last in each code path, and the code re-looks the
 * target up by (id, serial) after each one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "health.h"
#include "vipxdp_hash.h"

#define NSEC_PER_USEC 1000ull
#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC 1000000000ull

#define HEAP_NONE UINT32_MAX
#define EV_BATCH 256
/* Probe starts per round: a late engine catches up in slices of about 15 ms
 * and handles the sockets' events in between, rather than starting
 * thousands of probes in a row while their answers wait. */
#define START_BATCH 512
#define RETRY_NS (10 * NSEC_PER_MSEC) /* pause of new probes after EMFILE and the like */
#define NOFILE_CAP (1u << 20) /* RLIMIT_NOFILE is raised no higher */
#define RESERVE_MIN 16 /* fds left to the rest of the process */
#define RESERVE_MAX 1024
/* Bytes of an HTTP response read: "HTTP/1.1 200" and the byte after the code. */
#define STATUS_LEN 13

enum phase {
	PH_IDLE, /* in the heap until the next probe is due */
	PH_WAITING, /* due, in the wait list for a socket */
	PH_CONNECTING, /* tcp, http: handshake in progress (EPOLLOUT) */
	PH_SENDING, /* http: request partly sent (EPOLLOUT) */
	PH_READING, /* http: reading the status line (EPOLLIN) */
	PH_UDP, /* udp: datagram sent, waiting for a reply or an error (EPOLLIN) */
	PH_NEVER, /* type none: never probed */
};

union sockaddr_in46 {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct target {
	struct vipxdp_health_target t; /* the caller's target; strings owned */
	int id;
	__u32 serial; /* of the probe in flight, or of the add */
	int fd; /* probe socket, -1 when none */
	enum phase phase;
	__u32 heap_idx; /* HEAP_NONE when not in the heap */
	__u64 key_ns; /* heap key: due_ns when idle, the probe deadline in flight */
	__u64 due_ns; /* when the current or next probe is due (the cadence) */
	__u64 start_ns; /* when the probe in flight started */
	struct target *wprev, *wnext; /* wait list */
	union sockaddr_in46 dst, src;
	socklen_t sa_len;
	char *req; /* http request */
	size_t req_len, req_off;
	char status[STATUS_LEN]; /* http status line read so far */
	size_t have;

	enum vipxdp_health_state state;
	bool last_ok;
	__u32 successes, failures;
	__u64 probes, transitions;
	__s64 since, last_probe;
	__u64 since_ns;
	__u32 last_us;
	char last[VIPXDP_HEALTH_REASON_LEN];
};

struct vipxdp_health {
	int epfd;
	bool running; /* inside vipxdp_health_run() */
	vipxdp_health_cb cb;
	vipxdp_health_probe_cb probe_cb;
	void *ctx;
	struct target **slots; /* by id; NULL = free */
	int *free_ids; /* stack of free ids below n_slots */
	__u32 n_slots, n_free, cap;
	struct target **heap; /* capacity cap */
	__u32 heap_len;
	struct target *wait_head, *wait_tail;
	__u32 serial;
	__u32 fd_budget; /* default max_in_flight */
	__u32 starts; /* probe starts left in this round */
	__u64 retry_ns; /* no probe starts before this (after EMFILE...) */
	struct vipxdp_health_stats st;
};

__u64 vipxdp_health_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + (__u64)ts.tv_nsec;
}

const char *vipxdp_health_state_str(enum vipxdp_health_state state)
{
	return state == VIPXDP_HEALTH_UP ? "up" : "down";
}

/* ---- deadline heap ---- */

static void heap_set(struct vipxdp_health *h, __u32 i, struct target *tg)
{
	h->heap[i] = tg;
	tg->heap_idx = i;
}

static void heap_up(struct vipxdp_health *h, __u32 i)
{
	struct target *tg = h->heap[i];
	__u32 p;

	while (i) {
		p = (i - 1) / 2;
		if (h->heap[p]->key_ns <= tg->key_ns)
			break;
		heap_set(h, i, h->heap[p]);
		i = p;
	}
	heap_set(h, i, tg);
}

static void heap_down(struct vipxdp_health *h, __u32 i)
{
	struct target *tg = h->heap[i];
	__u32 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->heap_len)
			break;
		if (c + 1 < h->heap_len && h->heap[c + 1]->key_ns < h->heap[c]->key_ns)
			c++;
		if (h->heap[c]->key_ns >= tg->key_ns)
			break;
		heap_set(h, i, h->heap[c]);
		i = c;
	}
	heap_set(h, i, tg);
}

/* Never fails: vipxdp_health_add() keeps room for every target. */
static void heap_push(struct vipxdp_health *h, struct target *tg, __u64 key)
{
	tg->key_ns = key;
	heap_set(h, h->heap_len++, tg);
	heap_up(h, tg->heap_idx);
}

static void heap_del(struct vipxdp_health *h, struct target *tg)
{
	__u32 i = tg->heap_idx;
	struct target *last;

	if (i == HEAP_NONE)
		return;
	tg->heap_idx = HEAP_NONE;
	last = h->heap[--h->heap_len];
	if (last == tg)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->heap_idx);
}

/* ---- wait list ---- */

static void wait_push(struct vipxdp_health *h, struct target *tg, bool front)
{
	tg->phase = PH_WAITING;
	if (front) {
		tg->wprev = NULL;
		tg->wnext = h->wait_head;
		if (h->wait_head)
			h->wait_head->wprev = tg;
		else
			h->wait_tail = tg;
		h->wait_head = tg;
	} else {
		tg->wnext = NULL;
		tg->wprev = h->wait_tail;
		if (h->wait_tail)
			h->wait_tail->wnext = tg;
		else
			h->wait_head = tg;
		h->wait_tail = tg;
	}
}

static void wait_del(struct vipxdp_health *h, struct target *tg)
{
	if (tg->wprev)
		tg->wprev->wnext = tg->wnext;
	else
		h->wait_head = tg->wnext;
	if (tg->wnext)
		tg->wnext->wprev = tg->wprev;
	else
		h->wait_tail = tg->wprev;
	tg->wprev = tg->wnext = NULL;
	tg->phase = PH_IDLE;
}

/* ---- probes ---- */

static struct target *lookup(struct vipxdp_health *h, int id, __u32 serial)
{
	struct target *tg;

	if (id < 0 || (__u32)id >= h->n_slots)
		return NULL;
	tg = h->slots[id];
	return tg && tg->serial == serial ? tg : NULL;
}

static bool is_resource_errno(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void close_probe(struct vipxdp_health *h, struct target *tg)
{
	if (tg->fd < 0)
		return;
	close(tg->fd);
	tg->fd = -1;
	h->st.in_flight--;
}

/*
 * The probe in flight ended: record the result, schedule the next probe,
 * then run the callbacks. The caller must not touch tg afterwards.
 */
static void probe_end(struct vipxdp_health *h, struct target *tg, __u64 now, bool ok, bool timeout,
		      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void probe_end(struct vipxdp_health *h, struct target *tg, __u64 now, bool ok, bool timeout,
		      const char *fmt, ...)
{
	const __u64 interval = (__u64)tg->t.cfg.interval_ms * NSEC_PER_MSEC;
	enum vipxdp_health_state old = tg->state;
	char why[VIPXDP_HEALTH_REASON_LEN];
	__u32 serial = tg->serial;
	int id = tg->id;
	__u64 next;
	va_list ap;

	close_probe(h, tg);
	heap_del(h, tg);
	tg->phase = PH_IDLE;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	memcpy(tg->last, why, sizeof(why));
	tg->last_ok = ok;
	tg->last_probe = time(NULL);
	tg->last_us = (__u32)((now - tg->start_ns) / NSEC_PER_USEC);
	tg->probes++;
	if (ok) {
		h->st.succeeded++;
		tg->successes++;
		tg->failures = 0;
		if (tg->state == VIPXDP_HEALTH_DOWN && tg->successes >= tg->t.cfg.rise)
			tg->state = VIPXDP_HEALTH_UP;
	} else {
		h->st.failed++;
		if (timeout)
			h->st.timeouts++;
		tg->failures++;
		tg->successes = 0;
		if (tg->state == VIPXDP_HEALTH_UP && tg->failures >= tg->t.cfg.fall)
			tg->state = VIPXDP_HEALTH_DOWN;
	}
	if (tg->state != old) {
		tg->transitions++;
		tg->since = tg->last_probe;
		tg->since_ns = now;
		h->st.transitions++;
	}

	/* Keep the cadence; a probe that started more than an interval late
	 * shifts it rather than starting a burst of catch-up probes. */
	next = tg->due_ns + interval;
	if (next < tg->start_ns)
		next = tg->start_ns + interval;
	tg->due_ns = next;
	heap_push(h, tg, next);

	if (h->probe_cb) {
		h->probe_cb(h->ctx, id, &tg->t, ok, why);
		tg = lookup(h, id, serial);
		if (!tg)
			return;
	}
	if (tg->state != old && h->cb)
		h->cb(h->ctx, id, &tg->t, old, tg->state, why);
}

static void addr_text(const union sockaddr_in46 *sa, char *buf, size_t len)
{
	struct vipxdp_addr a = {};
	__u8 family = (__u8)sa->sa.sa_family;

	if (family == VIPXDP_AF_INET)
		memcpy(a.b, &sa->in.sin_addr, 4);
	else
		memcpy(a.b, &sa->in6.sin6_addr, 16);
	vipxdp_addr_str(family, &a, buf, len);
}

/*
 * Start the probe of tg at now. False when no socket can be had now (the
 * caller queues tg, untouched); true otherwise, and then tg may already be
 * gone (an immediate failure ran the callbacks).
 */
static bool probe_start(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	const struct vipxdp_policy_health *c = &tg->t.cfg;
	const __u64 interval = (__u64)c->interval_ms * NSEC_PER_MSEC;
	const bool udp = c->type == VIPXDP_HEALTH_UDP;
	const struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	char a[VIPXDP_ADDR_STRLEN];
	struct epoll_event ev;
	int fd, err, one = 1;

	if (h->st.in_flight >= h->st.max_in_flight || now < h->retry_ns)
		return false;
	fd = socket(tg->dst.sa.sa_family,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && is_resource_errno(errno)) {
		h->retry_ns = now + RETRY_NS;
		return false;
	}

	h->st.sent++;
	if (now > tg->due_ns) {
		if (now - tg->due_ns > h->st.max_late_ns)
			h->st.max_late_ns = now - tg->due_ns;
		if (now - tg->due_ns > interval)
			h->st.late++;
	}
	tg->start_ns = now;
	tg->serial = ++h->serial;
	tg->req_off = 0;
	tg->have = 0;
	if (fd < 0) {
		err = errno;
		probe_end(h, tg, now, false, false, "socket: %s", strerror(err));
		return true;
	}
	tg->fd = fd;
	if (++h->st.in_flight > h->st.max_in_flight_seen)
		h->st.max_in_flight_seen = h->st.in_flight;

	/* Reset on close: no TIME_WAIT sockets pile up on the prober. */
	if (!udp)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	if (c->source_family) {
		/* The port is chosen at connect time, per destination. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, &tg->src.sa, tg->sa_len)) {
			err = errno;
			addr_text(&tg->src, a, sizeof(a));
			probe_end(h, tg, now, false, false, "bind %s: %s", a, strerror(err));
			return true;
		}
	}
	if (connect(fd, &tg->dst.sa, tg->sa_len) && errno != EINPROGRESS) {
		err = errno;
		if (udp && err == ECONNREFUSED)
			probe_end(h, tg, now, false, false, "udp: ICMP port unreachable");
		else
			probe_end(h, tg, now, false, false, "connect: %s", strerror(err));
		return true;
	}
	if (udp) {
		if (send(fd, c->payload ? c->payload : "", c->payload_len, MSG_NOSIGNAL) < 0) {
			err = errno;
			if (err == ECONNREFUSED)
				probe_end(h, tg, now, false, false, "udp: ICMP port unreachable");
			else
				probe_end(h, tg, now, false, false, "udp: send: %s", strerror(err));
			return true;
		}
		tg->phase = PH_UDP;
		ev.events = EPOLLIN;
	} else {
		/* Also when connect() returned 0: the event loop reports it. */
		tg->phase = PH_CONNECTING;
		ev.events = EPOLLOUT;
	}
	ev.data.u64 = (__u64)(__u32)tg->id << 32 | tg->serial;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = errno;
		probe_end(h, tg, now, false, false, "epoll_ctl: %s", strerror(err));
		return true;
	}
	heap_push(h, tg, now + (__u64)c->timeout_ms * NSEC_PER_MSEC);
	return true;
}

static void probe_timeout(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	const __u32 ms = tg->t.cfg.timeout_ms;

	switch (tg->phase) {
	case PH_UDP:
		probe_end(h, tg, now, true, false, "udp: no reply and no error in %u ms", ms);
		break;
	case PH_CONNECTING:
		probe_end(h, tg, now, false, true, "timeout after %u ms connecting", ms);
		break;
	case PH_SENDING:
		probe_end(h, tg, now, false, true, "timeout after %u ms sending the http request",
			  ms);
		break;
	case PH_READING:
		if (tg->have)
			probe_end(h, tg, now, false, true,
				  "timeout after %u ms reading the http status line (%zu bytes)",
				  ms, tg->have);
		else
			probe_end(h, tg, now, false, true,
				  "timeout after %u ms waiting for the http status", ms);
		break;
	default:
		heap_del(h, tg);
		break;
	}
}

/* "HTTP/d.d ddd" and, when there is one, a space or end of line after it. */
static int status_code(const char *s, size_t n)
{
	int i, code = 0;

	if (n < STATUS_LEN - 1 || memcmp(s, "HTTP/", 5) || s[5] < '0' || s[5] > '9' ||
	    s[6] != '.' || s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		code = code * 10 + (s[i] - '0');
	}
	if (code < 100 || code > 599)
		return -1;
	if (n > 12 && s[12] != ' ' && s[12] != '\r' && s[12] != '\n')
		return -1;
	return code;
}

static void http_status(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	const struct vipxdp_policy_health *c = &tg->t.cfg;
	char text[STATUS_LEN + 1];
	int code = status_code(tg->status, tg->have);
	size_t i;

	if (code < 0) {
		if (!tg->have) {
			probe_end(h, tg, now, false, false,
				  "http: connection closed before the status line");
			return;
		}
		for (i = 0; i < tg->have; i++)
			text[i] =
				tg->status[i] >= 0x20 && tg->status[i] < 0x7f ? tg->status[i] : '.';
		text[i] = '\0';
		probe_end(h, tg, now, false, false, "http: malformed status line \"%s\"", text);
	} else if (code >= c->expect_min && code <= c->expect_max) {
		probe_end(h, tg, now, true, false, "http status %d", code);
	} else if (c->expect_min == c->expect_max) {
		probe_end(h, tg, now, false, false, "http status %d, expected %u", code,
			  c->expect_min);
	} else {
		probe_end(h, tg, now, false, false, "http status %d, expected %u-%u", code,
			  c->expect_min, c->expect_max);
	}
}

static void http_recv(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	ssize_t n;
	int err;

	while (tg->have < STATUS_LEN) {
		n = recv(tg->fd, tg->status + tg->have, STATUS_LEN - tg->have, 0);
		if (n == 0)
			break;
		if (n < 0) {
			err = errno;
			if (err == EAGAIN || err == EINTR)
				return;
			probe_end(h, tg, now, false, false, "http: recv: %s", strerror(err));
			return;
		}
		tg->have += (size_t)n;
	}
	http_status(h, tg, now);
}

static void http_send(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	struct epoll_event ev;
	ssize_t n;
	int err;

	while (tg->req_off < tg->req_len) {
		n = send(tg->fd, tg->req + tg->req_off, tg->req_len - tg->req_off, MSG_NOSIGNAL);
		if (n < 0) {
			err = errno;
			if (err == EAGAIN || err == EINTR)
				return; /* still registered for EPOLLOUT */
			probe_end(h, tg, now, false, false, "http: send: %s", strerror(err));
			return;
		}
		tg->req_off += (size_t)n;
	}
	ev.events = EPOLLIN;
	ev.data.u64 = (__u64)(__u32)tg->id << 32 | tg->serial;
	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, tg->fd, &ev)) {
		err = errno;
		probe_end(h, tg, now, false, false, "epoll_ctl: %s", strerror(err));
		return;
	}
	tg->phase = PH_READING;
}

static void on_connect(struct vipxdp_health *h, struct target *tg, __u32 events, __u64 now)
{
	socklen_t len = sizeof(int);
	int err = 0;

	/* EPOLLOUT alone: connected; the error is only read when there is one. */
	if ((events & (EPOLLERR | EPOLLHUP | EPOLLOUT)) != EPOLLOUT &&
	    getsockopt(tg->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	/* A reset in SYN_SENT is ECONNREFUSED; ECONNRESET and EPIPE come from a
	 * reset after the handshake completed: success for tcp, whatever the
	 * race between the peer's reset and this event. */
	if ((err == ECONNRESET || err == EPIPE) && tg->t.cfg.type == VIPXDP_HEALTH_TCP) {
		probe_end(h, tg, now, true, false, "tcp: connected, then reset by the peer");
		return;
	}
	if (err) {
		probe_end(h, tg, now, false, false, "connect: %s", strerror(err));
		return;
	}
	if (!(events & EPOLLOUT)) {
		probe_end(h, tg, now, false, false, "connect: connection closed");
		return;
	}
	if (tg->t.cfg.type == VIPXDP_HEALTH_TCP) {
		probe_end(h, tg, now, true, false, "tcp: connected");
		return;
	}
	tg->phase = PH_SENDING;
	http_send(h, tg, now);
}

static void udp_recv(struct vipxdp_health *h, struct target *tg, __u64 now)
{
	char b[1];
	ssize_t n;
	int err;

	n = recv(tg->fd, b, sizeof(b), MSG_TRUNC);
	if (n >= 0) {
		probe_end(h, tg, now, true, false, "udp: reply of %zd bytes", n);
		return;
	}
	err = errno;
	if (err == EAGAIN || err == EINTR)
		return;
	if (err == ECONNREFUSED)
		probe_end(h, tg, now, false, false, "udp: ICMP port unreachable");
	else
		probe_end(h, tg, now, false, false, "udp: %s", strerror(err));
}

static int handle_event(struct vipxdp_health *h, __u64 data, __u32 events, __u64 now)
{
	struct target *tg = lookup(h, (int)(data >> 32), (__u32)data);

	if (!tg || tg->fd < 0)
		return 0; /* stale: probe finished or target removed */
	switch (tg->phase) {
	case PH_CONNECTING:
		on_connect(h, tg, events, now);
		break;
	case PH_SENDING:
		http_send(h, tg, now);
		break;
	case PH_READING:
		http_recv(h, tg, now);
		break;
	case PH_UDP:
		udp_recv(h, tg, now);
		break;
	default:
		return 0;
	}
	return 1;
}

static bool can_start(struct vipxdp_health *h, __u64 now)
{
	return h->starts && h->st.in_flight < h->st.max_in_flight && now >= h->retry_ns;
}

static int drain_waiting(struct vipxdp_health *h, __u64 now)
{
	struct target *tg;
	int n = 0;

	while ((tg = h->wait_head) && can_start(h, now)) {
		wait_del(h, tg);
		if (!probe_start(h, tg, now)) {
			wait_push(h, tg, true);
			break;
		}
		h->starts--;
		n++;
	}
	return n;
}

/* Pop the deadlines up to now; each target at most once a call. */
static int expire(struct vipxdp_health *h, __u64 now)
{
	__u32 budget = h->heap_len;
	struct target *tg;
	int n = 0;

	while (h->heap_len && budget--) {
		tg = h->heap[0];
		if (tg->key_ns > now)
			break;
		if (tg->phase != PH_IDLE) {
			probe_timeout(h, tg, now);
			n++;
			continue;
		}
		if (!h->starts)
			break; /* the rest is due: the next round starts at once */
		n++;
		heap_del(h, tg);
		if (!h->wait_head && probe_start(h, tg, now)) {
			h->starts--;
			continue;
		}
		wait_push(h, tg, false);
		h->st.deferred++;
	}
	return n;
}

/* ---- engine ---- */

static void raise_nofile(struct vipxdp_health *h)
{
	struct rlimit rl;
	rlim_t want, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = 1024;
		rl.rlim_max = 1024;
	}
	h->st.nofile_before = rl.rlim_cur;
	want = rl.rlim_max < NOFILE_CAP ? rl.rlim_max : NOFILE_CAP;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) && getrlimit(RLIMIT_NOFILE, &rl))
			rl.rlim_cur = h->st.nofile_before;
	}
	h->st.nofile = rl.rlim_cur;
	reserve = rl.rlim_cur / 8;
	if (reserve < RESERVE_MIN)
		reserve = RESERVE_MIN;
	if (reserve > RESERVE_MAX)
		reserve = RESERVE_MAX;
	if (rl.rlim_cur > 2 * reserve)
		h->fd_budget = (__u32)(rl.rlim_cur - reserve > UINT32_MAX ? UINT32_MAX
									  : rl.rlim_cur - reserve);
	else
		h->fd_budget = rl.rlim_cur > 2 ? (__u32)(rl.rlim_cur / 2) : 1;
}

int vipxdp_health_new(struct vipxdp_health **out, vipxdp_health_cb cb, void *ctx)
{
	struct vipxdp_health *h;
	int err;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->epfd < 0) {
		err = -errno;
		goto out;
	}
	h->cb = cb;
	h->ctx = ctx;
	raise_nofile(h);
	h->st.max_in_flight = h->fd_budget;
	*out = h;
	return 0;
out:
	free(h);
	return err;
}

static void target_free(struct target *tg)
{
	if (!tg)
		return;
	free(tg->t.cfg.path);
	free(tg->t.cfg.host);
	free(tg->t.cfg.payload);
	free(tg->req);
	free(tg);
}

void vipxdp_health_free(struct vipxdp_health *h)
{
	__u32 i;

	if (!h)
		return;
	for (i = 0; i < h->n_slots; i++) {
		if (h->slots[i] && h->slots[i]->fd >= 0)
			close(h->slots[i]->fd);
		target_free(h->slots[i]);
	}
	free(h->slots);
	free(h->free_ids);
	free(h->heap);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

void vipxdp_health_set_probe_cb(struct vipxdp_health *h, vipxdp_health_probe_cb cb)
{
	h->probe_cb = cb;
}

int vipxdp_health_set_max_in_flight(struct vipxdp_health *h, unsigned int n)
{
	if (n > h->fd_budget)
		return -ERANGE;
	h->st.max_in_flight = n ? n : h->fd_budget;
	return 0;
}

/* A path or host goes into the request line or a header: no space, no control. */
static bool token_ok(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

static int check_target(const struct vipxdp_health_target *t)
{
	const struct vipxdp_policy_health *c = &t->cfg;

	if (t->ep.family != VIPXDP_AF_INET && t->ep.family != VIPXDP_AF_INET6)
		return -EINVAL;
	if ((unsigned int)c->type > VIPXDP_HEALTH_NONE)
		return -EINVAL;
	if (c->type == VIPXDP_HEALTH_NONE)
		return 0;
	if (!c->port && !t->ep.port)
		return -EINVAL;
	if (c->source_family && c->source_family != t->ep.family)
		return -EINVAL;
	if (!c->interval_ms || c->interval_ms > VIPXDP_HEALTH_DURATION_MAX_MS || !c->timeout_ms ||
	    c->timeout_ms > VIPXDP_HEALTH_DURATION_MAX_MS)
		return -EINVAL;
	if (!c->rise || c->rise > VIPXDP_HEALTH_COUNT_MAX || !c->fall ||
	    c->fall > VIPXDP_HEALTH_COUNT_MAX)
		return -EINVAL;
	if (c->path && (c->path[0] != '/' || !token_ok(c->path)))
		return -EINVAL;
	if (c->host && (!c->host[0] || !token_ok(c->host)))
		return -EINVAL;
	if (c->payload_len && !c->payload)
		return -EINVAL;
	return 0;
}

static void set_sockaddr(union sockaddr_in46 *sa, __u8 family, const struct vipxdp_addr *a,
			 __u16 port)
{
	memset(sa, 0, sizeof(*sa));
	if (family == VIPXDP_AF_INET) {
		sa->in.sin_family = AF_INET;
		sa->in.sin_port = htons(port);
		memcpy(&sa->in.sin_addr, a->b, 4);
	} else {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_port = htons(port);
		memcpy(&sa->in6.sin6_addr, a->b, 16);
	}
}

static int build_request(struct target *tg, __u16 port)
{
	const struct vipxdp_policy_health *c = &tg->t.cfg;
	char a[VIPXDP_ADDR_STRLEN], host[VIPXDP_ENDPOINT_STRLEN];
	int len;

	if (!c->host) {
		vipxdp_addr_str(tg->t.ep.family, &tg->t.ep.addr, a, sizeof(a));
		snprintf(host, sizeof(host), tg->t.ep.family == VIPXDP_AF_INET6 ? "[%s]" : "%s", a);
		if (port != 80)
			snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", port);
	}
	len = asprintf(&tg->req,
		       "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vipxdp-health\r\n"
		       "Connection: close\r\n\r\n",
		       c->path ? c->path : VIPXDP_HEALTH_PATH, c->host ? c->host : host);
	if (len < 0) {
		tg->req = NULL;
		return -ENOMEM;
	}
	tg->req_len = (size_t)len;
	return 0;
}

/* Room for one more target in slots, free_ids and heap. */
static int reserve_slot(struct vipxdp_health *h)
{
	__u32 cap = h->cap ? h->cap * 2 : 64;
	struct target **slots, **heap;
	int *ids;

	if (h->n_free || h->n_slots < h->cap)
		return 0;
	slots = realloc(h->slots, cap * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	h->slots = slots;
	ids = realloc(h->free_ids, cap * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	h->free_ids = ids;
	heap = realloc(h->heap, cap * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	h->heap = heap;
	h->cap = cap;
	return 0;
}

/* First probe: an offset within the interval from a hash of the target. */
static __u64 first_offset_ns(const struct target *tg, __u16 port)
{
	const struct vipxdp_endpoint *ep = &tg->t.ep;
	__u32 a, b, c;

	a = b = c = VIPXDP_JHASH_INIT + (6 << 2);
	a += ep->addr.w[0];
	b += ep->addr.w[1];
	c += ep->addr.w[2];
	VIPXDP_JHASH_MIX(a, b, c);
	a += ep->addr.w[3];
	b += (__u32)port << 16 | (__u32)tg->t.cfg.type << 8 | ep->family;
	c += (__u32)tg->id;
	VIPXDP_JHASH_FINAL(a, b, c);
	return ((__u64)c * ((__u64)tg->t.cfg.interval_ms * 1000) >> 32) * NSEC_PER_USEC;
}

int vipxdp_health_add(struct vipxdp_health *h, const struct vipxdp_health_target *t,
		      enum vipxdp_health_state initial, int *id)
{
	const struct vipxdp_policy_health *c = &t->cfg;
	struct target *tg = NULL;
	__u64 now = vipxdp_health_now_ns();
	__u16 port;
	int err;

	err = check_target(t);
	if (err)
		goto out;
	if (initial != VIPXDP_HEALTH_UP && initial != VIPXDP_HEALTH_DOWN) {
		err = -EINVAL;
		goto out;
	}
	err = reserve_slot(h);
	if (err)
		goto out;
	err = -ENOMEM;
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		goto out;
	tg->t = *t;
	tg->t.cfg.path = tg->t.cfg.host = tg->t.cfg.payload = NULL;
	if (c->path && !(tg->t.cfg.path = strdup(c->path)))
		goto out;
	if (c->host && !(tg->t.cfg.host = strdup(c->host)))
		goto out;
	if (c->payload) {
		tg->t.cfg.payload = malloc(c->payload_len ? c->payload_len : 1);
		if (!tg->t.cfg.payload)
			goto out;
		memcpy(tg->t.cfg.payload, c->payload, c->payload_len);
	}
	port = c->port ? c->port : t->ep.port;
	if (c->type == VIPXDP_HEALTH_HTTP && build_request(tg, port))
		goto out;
	set_sockaddr(&tg->dst, t->ep.family, &t->ep.addr, port);
	if (c->source_family)
		set_sockaddr(&tg->src, c->source_family, &c->source, 0);
	tg->sa_len = t->ep.family == VIPXDP_AF_INET ? sizeof(struct sockaddr_in)
						    : sizeof(struct sockaddr_in6);
	tg->fd = -1;
	tg->heap_idx = HEAP_NONE;
	tg->serial = ++h->serial;
	tg->state = c->type == VIPXDP_HEALTH_NONE ? VIPXDP_HEALTH_UP : initial;
	tg->since = time(NULL);
	tg->since_ns = now;

	tg->id = h->n_free ? h->free_ids[--h->n_free] : (int)h->n_slots++;
	h->slots[tg->id] = tg;
	h->st.targets++;
	if (c->type == VIPXDP_HEALTH_NONE) {
		tg->phase = PH_NEVER;
	} else {
		tg->phase = PH_IDLE;
		tg->due_ns = now + first_offset_ns(tg, port);
		heap_push(h, tg, tg->due_ns);
	}
	*id = tg->id;
	return 0;
out:
	target_free(tg);
	return err;
}

static struct target *slot(struct vipxdp_health *h, int id)
{
	if (id < 0 || (__u32)id >= h->n_slots)
		return NULL;
	return h->slots[id];
}

int vipxdp_health_remove(struct vipxdp_health *h, int id)
{
	struct target *tg = slot(h, id);

	if (!tg)
		return -ENOENT;
	if (tg->phase == PH_WAITING)
		wait_del(h, tg);
	heap_del(h, tg);
	close_probe(h, tg);
	h->slots[id] = NULL;
	h->free_ids[h->n_free++] = id;
	h->st.targets--;
	target_free(tg);
	return 0;
}

const struct vipxdp_health_target *vipxdp_health_get_target(struct vipxdp_health *h, int id)
{
	struct target *tg = slot(h, id);

	return tg ? &tg->t : NULL;
}

int vipxdp_health_get(struct vipxdp_health *h, int id, struct vipxdp_health_info *info)
{
	struct target *tg = slot(h, id);

	if (!tg)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	info->state = tg->state;
	info->probing = tg->phase != PH_IDLE && tg->phase != PH_NEVER;
	info->last_ok = tg->last_ok;
	info->successes = tg->successes;
	info->failures = tg->failures;
	info->probes = tg->probes;
	info->transitions = tg->transitions;
	info->since = tg->since;
	info->since_ns = tg->since_ns;
	info->last_probe = tg->last_probe;
	info->last_us = tg->last_us;
	if (tg->phase == PH_IDLE || tg->phase == PH_WAITING)
		info->next_ns = tg->due_ns;
	else if (tg->phase != PH_NEVER)
		info->next_ns = tg->due_ns + (__u64)tg->t.cfg.interval_ms * NSEC_PER_MSEC;
	memcpy(info->last, tg->last, sizeof(info->last));
	return 0;
}

void vipxdp_health_stats(struct vipxdp_health *h, struct vipxdp_health_stats *st)
{
	*st = h->st;
}

void vipxdp_health_stats_reset_peaks(struct vipxdp_health *h)
{
	h->st.max_late_ns = 0;
	h->st.max_in_flight_seen = h->st.in_flight;
}

int vipxdp_health_fd(struct vipxdp_health *h)
{
	return h->epfd;
}

static int timeout_ms(struct vipxdp_health *h, __u64 now)
{
	__u64 d = UINT64_MAX, ms;

	if (h->heap_len)
		d = h->heap[0]->key_ns;
	if (h->wait_head && h->st.in_flight < h->st.max_in_flight && h->retry_ns < d)
		d = h->retry_ns;
	if (d == UINT64_MAX)
		return -1;
	if (d <= now)
		return 0;
	ms = (d - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int vipxdp_health_next_timeout(struct vipxdp_health *h)
{
	return timeout_ms(h, vipxdp_health_now_ns());
}

int vipxdp_health_run(struct vipxdp_health *h, int timeout)
{
	struct epoll_event ev[EV_BATCH];
	int wait, n, i, done;
	__u32 batches;
	__u64 now;

	if (h->running)
		return -EBUSY;
	wait = vipxdp_health_next_timeout(h);
	if (wait < 0 || (timeout >= 0 && timeout < wait))
		wait = timeout;
	n = epoll_wait(h->epfd, ev, EV_BATCH, wait);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	h->running = true;
	h->starts = START_BATCH;
	now = vipxdp_health_now_ns();
	done = 0;
	/* Every ready event before any deadline: after a stall, a probe whose
	 * answer is waiting must not be timed out. Bounded by the sockets open. */
	for (batches = h->st.in_flight / EV_BATCH + 2;;) {
		for (i = 0; i < n; i++)
			done += handle_event(h, ev[i].data.u64, ev[i].events, now);
		if (n < EV_BATCH || !--batches)
			break;
		n = epoll_wait(h->epfd, ev, EV_BATCH, 0);
		if (n <= 0)
			break;
	}
	done += drain_waiting(h, now);
	done += expire(h, now);
	done += drain_waiting(h, now);
	h->running = false;
	return done;
}
