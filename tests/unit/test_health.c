/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of userspace/health.c, the health-check probe engine, against
 * servers the test runs itself on 127.0.0.1 and ::1: TCP listeners, a tiny
 * scripted HTTP server, UDP echo and silent sockets. Everything is single
 * threaded: the test loop alternates vipxdp_health_run() with a pump of the
 * non-blocking test servers, so every probe result is deterministic. The
 * per-probe callback lets a test act after an exact probe (close or reopen a
 * listener, remove a target). Every wait is bounded; the whole run takes a
 * few seconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "../lib/tap.h"
#include "health.h"

#define STR_EQ(got, want, what)                                                                    \
	tap_check(!strcmp((got), (want)), __FILE__, __LINE__, "%s: got '%s', expected '%s'", what, \
		  (got), (want))
#define STR_HAS(got, part, what)                                                                   \
	tap_check(strstr((got), (part)) != NULL, __FILE__, __LINE__,                               \
		  "%s: '%s' does not contain '%s'", what, (got), (part))

#define MAX_IDS	   16
#define MAX_PROBES 64
#define MAX_TRANS  32
#define MAX_CONNS  64

/* ---- what the callbacks saw ---- */

struct trans {
	int id;
	enum vipxdp_health_state from, to;
	int probe_no; /* probes of that id completed when it happened */
	char reason[VIPXDP_HEALTH_REASON_LEN];
};

static struct vipxdp_health *H; /* engine of the running test */
static struct {
	int n;
	bool ok[MAX_PROBES];
	char reason[MAX_PROBES][VIPXDP_HEALTH_REASON_LEN];
} plog[MAX_IDS];
static struct trans tlog[MAX_TRANS];
static int ntrans;
static int busy_ret; /* vipxdp_health_run() called from a callback */
/* Test actions after probe number n (1-based) of target id, or on a transition. */
static void (*probe_hook)(int id, int n, bool ok);
static void (*trans_hook)(int id);

static void on_probe(void *ctx, int id, const struct vipxdp_health_target *t, bool ok,
		     const char *reason)
{
	int n;

	if (id < 0 || id >= MAX_IDS)
		return;
	n = plog[id].n++;
	if (n < MAX_PROBES) {
		plog[id].ok[n] = ok;
		snprintf(plog[id].reason[n], VIPXDP_HEALTH_REASON_LEN, "%s", reason);
	}
	busy_ret = vipxdp_health_run(H, 0);
	if (probe_hook)
		probe_hook(id, n + 1, ok);
}

static void on_trans(void *ctx, int id, const struct vipxdp_health_target *t,
		     enum vipxdp_health_state from, enum vipxdp_health_state to, const char *reason)
{
	struct trans *tr;

	if (ntrans < MAX_TRANS) {
		tr = &tlog[ntrans];
		tr->id = id;
		tr->from = from;
		tr->to = to;
		tr->probe_no = id >= 0 && id < MAX_IDS ? plog[id].n : -1;
		snprintf(tr->reason, sizeof(tr->reason), "%s", reason);
	}
	ntrans++;
	if (trans_hook)
		trans_hook(id);
}

/* ---- in-test servers, pumped between engine rounds ---- */

enum srv_kind {
	SRV_ACCEPT,	  /* tcp: accept and close */
	SRV_ACCEPT_RESET, /* tcp: accept and close with a reset (SO_LINGER 0) */
	SRV_HTTP,	  /* read a request, answer with the next scripted response */
	SRV_HTTP_SILENT,  /* read a request, never answer */
	SRV_UDP_ECHO,	  /* send every datagram back */
	SRV_UDP_SILENT,	  /* never read, never answer */
};

struct resp {
	const char *text; /* "" = close without answering */
	bool dribble;	  /* one byte per pump round */
};

struct conn {
	int fd; /* -1 = free slot */
	char req[1024];
	size_t len;
	const struct resp *resp; /* NULL while reading the request */
	bool silent;
	size_t off;
};

struct server {
	enum srv_kind kind;
	int family;
	int fd;
	__u16 port;
	int accepted;
	int peer_closed; /* connections the prober closed or reset first */
	struct sockaddr_storage peer;
	const struct resp *script;
	int nscript, served;
	char req[1024]; /* the first complete request */
	struct conn conns[MAX_CONNS];
};

static struct server *servers[4];
static int nservers;

static int make_socket(int family, int type, const char *addr, __u16 port, __u16 *bound)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof(*in);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*bound = ntohs(family == AF_INET ? in->sin_port : in6->sin6_port);
	return fd;
}

/* Start a server on addr (port 0: any); backlog for the TCP kinds. */
static bool server_start(struct server *s, enum srv_kind kind, int family, const char *addr,
			 __u16 port, int backlog)
{
	bool udp = kind == SRV_UDP_ECHO || kind == SRV_UDP_SILENT;
	int i;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->family = family;
	for (i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->fd = make_socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, addr, port, &s->port);
	if (s->fd < 0 || (!udp && listen(s->fd, backlog))) {
		printf("# server on %s: %s\n", addr, strerror(errno));
		return false;
	}
	servers[nservers++] = s;
	return true;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

static void server_stop(struct server *s)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd >= 0)
			conn_close(&s->conns[i]);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A port with nothing bound to it right now. */
static __u16 closed_port(int family, int type)
{
	__u16 port = 0;
	int fd = make_socket(family, type, family == AF_INET ? "127.0.0.1" : "::1", 0, &port);

	if (fd >= 0)
		close(fd);
	return port;
}

static void conn_pump(struct server *s, struct conn *c)
{
	char buf[256];
	ssize_t n;
	size_t len;

	if (!c->resp) {
		n = recv(c->fd, c->silent ? buf : c->req + c->len,
			 c->silent ? sizeof(buf) : sizeof(c->req) - 1 - c->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			s->peer_closed++;
			conn_close(c);
			return;
		}
		if (n < 0 || c->silent)
			return;
		c->len += (size_t)n;
		c->req[c->len] = '\0';
		if (!strstr(c->req, "\r\n\r\n"))
			return;
		if (!s->req[0])
			memcpy(s->req, c->req, sizeof(s->req));
		if (s->kind == SRV_HTTP_SILENT || !s->nscript) {
			c->silent = true;
			return;
		}
		c->resp = &s->script[s->served < s->nscript ? s->served : s->nscript - 1];
		s->served++;
	}
	len = strlen(c->resp->text);
	if (c->off < len) {
		n = send(c->fd, c->resp->text + c->off, c->resp->dribble ? 1 : len - c->off,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			conn_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	if (c->off == len)
		conn_close(c);
}

static void server_pump(struct server *s)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	char buf[2048];
	ssize_t n;
	int fd, i;

	if (s->fd < 0)
		return;
	if (s->kind == SRV_UDP_SILENT)
		return;
	if (s->kind == SRV_UDP_ECHO) {
		for (;;) {
			plen = sizeof(peer);
			n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
			if (n < 0)
				return;
			sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
		}
	}
	for (;;) {
		plen = sizeof(peer);
		fd = accept4(s->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		s->accepted++;
		s->peer = peer;
		if (s->kind == SRV_ACCEPT_RESET) {
			const struct linger lin = {.l_onoff = 1, .l_linger = 0};

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
		}
		if (s->kind == SRV_ACCEPT || s->kind == SRV_ACCEPT_RESET) {
			close(fd);
			continue;
		}
		for (i = 0; i < MAX_CONNS && s->conns[i].fd >= 0; i++)
			;
		if (i == MAX_CONNS) {
			close(fd);
			continue;
		}
		memset(&s->conns[i], 0, sizeof(s->conns[i]));
		s->conns[i].fd = fd;
	}
	for (i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd >= 0)
			conn_pump(s, &s->conns[i]);
	}
}

/* ---- test scaffolding ---- */

static bool setup(void)
{
	int err;

	memset(plog, 0, sizeof(plog));
	memset(tlog, 0, sizeof(tlog));
	ntrans = 0;
	busy_ret = 0;
	probe_hook = NULL;
	trans_hook = NULL;
	nservers = 0;
	err = vipxdp_health_new(&H, on_trans, NULL);
	if (!ASSERT_OK(err, "vipxdp_health_new"))
		return false;
	vipxdp_health_set_probe_cb(H, on_probe);
	return true;
}

static void teardown(void)
{
	int i;

	vipxdp_health_free(H);
	H = NULL;
	for (i = 0; i < nservers; i++)
		server_stop(servers[i]);
	nservers = 0;
}

/* Run engine rounds and pump the servers until done() or max_ms. */
static bool spin(int max_ms, bool (*done)(void))
{
	__u64 end = vipxdp_health_now_ns() + (__u64)max_ms * 1000000;
	int i, r;

	while (vipxdp_health_now_ns() < end) {
		r = vipxdp_health_run(H, 2);
		if (r < 0) {
			printf("# vipxdp_health_run: %s\n", strerror(-r));
			return false;
		}
		for (i = 0; i < nservers; i++)
			server_pump(servers[i]);
		if (done && done())
			return true;
	}
	return !done;
}

static int want_trans;
static bool trans_reached(void)
{
	return ntrans >= want_trans;
}

static bool spin_trans(int n, int max_ms)
{
	want_trans = n;
	return spin(max_ms, trans_reached);
}

/* Target with the engine-friendly defaults of these tests. */
static void target_init(struct vipxdp_health_target *t, enum vipxdp_health_type type, int family,
			const char *addr, __u16 port)
{
	memset(t, 0, sizeof(*t));
	vipxdp_addr_parse(addr, &t->ep.family, &t->ep.addr);
	t->ep.family = (__u8)family;
	t->ep.port = port;
	t->cfg.type = type;
	t->cfg.expect_min = VIPXDP_HEALTH_EXPECT_MIN;
	t->cfg.expect_max = VIPXDP_HEALTH_EXPECT_MAX;
	t->cfg.interval_ms = 20;
	t->cfg.timeout_ms = 200;
	t->cfg.rise = 2;
	t->cfg.fall = 3;
}

static bool add(const struct vipxdp_health_target *t, enum vipxdp_health_state initial, int *id)
{
	int err = vipxdp_health_add(H, t, initial, id);

	return ASSERT_OK(err, "vipxdp_health_add") && ASSERT_TRUE(*id >= 0 && *id < MAX_IDS, "id");
}

static bool check_trans(int i, int id, enum vipxdp_health_state from, enum vipxdp_health_state to,
			int probe_no, const char *reason)
{
	if (!ASSERT_TRUE(i < ntrans, "transition happened"))
		return false;
	return ASSERT_EQ(tlog[i].id, id, "transition id") &&
	       ASSERT_EQ(tlog[i].from, from, "transition from") &&
	       ASSERT_EQ(tlog[i].to, to, "transition to") &&
	       ASSERT_EQ(tlog[i].probe_no, probe_no, "transition after probe") &&
	       STR_EQ(tlog[i].reason, reason, "transition reason");
}

/* ---- tcp ---- */

static struct server srv_a, srv_b;

static void rise_fall_hook(int id, int n, bool ok)
{
	if (n == 5)
		server_stop(&srv_a);
	if (n == 8) {
		srv_a.fd = make_socket(AF_INET, SOCK_STREAM, "127.0.0.1", srv_a.port, &srv_a.port);
		if (srv_a.fd >= 0)
			listen(srv_a.fd, 16);
	}
}

/* tcp: DOWN->UP after exactly `rise` handshakes, ->DOWN after exactly `fall` refusals, ->UP. */
static bool test_tcp_rise_fall(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_info info;
	__u64 t0 = vipxdp_health_now_ns();
	bool ok = false;
	int id;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_ACCEPT, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", srv_a.port);
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id))
		goto out;
	probe_hook = rise_fall_hook;
	if (!ASSERT_TRUE(spin_trans(3, 3000), "three transitions within 3 s"))
		goto out;
	if (!check_trans(0, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 2, "tcp: connected") ||
	    !check_trans(1, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 8,
			 "connect: Connection refused") ||
	    !check_trans(2, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 10, "tcp: connected"))
		goto out;
	if (!ASSERT_OK(vipxdp_health_get(H, id, &info), "get") ||
	    !ASSERT_EQ(info.state, VIPXDP_HEALTH_UP, "state") ||
	    !ASSERT_EQ(info.transitions, 3, "transitions") ||
	    !ASSERT_EQ(info.probes, 10, "probes") || !ASSERT_EQ(info.successes, 2, "successes") ||
	    !ASSERT_EQ(info.failures, 0, "failures") ||
	    !ASSERT_TRUE(info.since_ns > t0, "since_ns") || !ASSERT_TRUE(info.since > 0, "since") ||
	    !STR_EQ(info.last, "tcp: connected", "last"))
		goto out;
	ok = ASSERT_EQ(srv_a.accepted, 7, "handshakes the listener accepted");
out:
	teardown();
	return ok;
}

static void busy_trans_hook(int id)
{
	busy_ret = vipxdp_health_run(H, 0);
}

/* tcp: refused: UP->DOWN after exactly `fall` probes; counters; run() in a callback: -EBUSY. */
static bool test_tcp_refused(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	bool ok = false;
	int id;

	if (!setup())
		return false;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", closed_port(AF_INET, SOCK_STREAM));
	if (!add(&t, VIPXDP_HEALTH_UP, &id))
		goto out;
	trans_hook = busy_trans_hook;
	if (!ASSERT_TRUE(spin_trans(1, 2000), "transition within 2 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 3,
			 "connect: Connection refused") ||
	    !ASSERT_EQ(busy_ret, -EBUSY, "run() from a callback"))
		goto out;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_EQ(st.sent, 3, "sent") && ASSERT_EQ(st.failed, 3, "failed") &&
	     ASSERT_EQ(st.succeeded, 0, "succeeded") && ASSERT_EQ(st.timeouts, 0, "timeouts") &&
	     ASSERT_EQ(st.transitions, 1, "transitions") && ASSERT_EQ(st.in_flight, 0, "in flight");
out:
	teardown();
	return ok;
}

/* tcp: an unanswered SYN (full accept queue) fails after timeout_ms, reason says timeout. */
static bool test_tcp_timeout(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	struct vipxdp_health_info info;
	int fillers[3] = {-1, -1, -1};
	bool ok = false;
	int id, i;

	if (!setup())
		return false;
	/* Never pumped: the server list stays empty, nothing accepts. */
	if (!server_start(&srv_a, SRV_ACCEPT, AF_INET, "127.0.0.1", 0, 0))
		goto out;
	nservers = 0;
	sin.sin_port = htons(srv_a.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 3; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fillers[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(20000);
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.interval_ms = 100;
	t.cfg.timeout_ms = 50;
	t.cfg.fall = 1;
	if (!add(&t, VIPXDP_HEALTH_UP, &id))
		goto out;
	if (!ASSERT_TRUE(spin_trans(1, 1000), "transition within 1 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 1,
			 "timeout after 50 ms connecting"))
		goto out;
	vipxdp_health_stats(H, &st);
	if (!ASSERT_EQ(st.timeouts, 1, "timeouts") || !ASSERT_EQ(st.failed, 1, "failed"))
		goto out;
	ok = ASSERT_OK(vipxdp_health_get(H, id, &info), "get") &&
	     ASSERT_GE(info.last_us, 50000, "probe duration") &&
	     ASSERT_LE(info.last_us, 150000, "probe duration");
out:
	for (i = 0; i < 3; i++) {
		if (fillers[i] >= 0)
			close(fillers[i]);
	}
	server_stop(&srv_a);
	teardown();
	return ok;
}

/* tcp over IPv6: a handshake with [::1] succeeds, a refused port on [::1] fails. */
static bool test_tcp_ipv6(void)
{
	struct vipxdp_health_target t;
	bool ok = false;
	int up, down;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_ACCEPT, AF_INET6, "::1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET6, "::1", srv_a.port);
	t.cfg.rise = 1;
	t.cfg.fall = 1;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &up))
		goto out;
	t.ep.port = closed_port(AF_INET6, SOCK_STREAM);
	if (!add(&t, VIPXDP_HEALTH_UP, &down))
		goto out;
	if (!ASSERT_TRUE(spin_trans(2, 1000), "two transitions within 1 s"))
		goto out;
	if (tlog[0].id != up) {
		struct trans x = tlog[0];

		tlog[0] = tlog[1];
		tlog[1] = x;
	}
	ok = check_trans(0, up, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 1, "tcp: connected") &&
	     check_trans(1, down, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 1,
			 "connect: Connection refused");
out:
	teardown();
	return ok;
}

/* tcp: accept-then-reset counts as up, always (ECONNRESET proves the handshake). */
static bool test_tcp_reset_after_accept(void)
{
	struct vipxdp_health_target t;
	bool ok = false;
	int id, i;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_ACCEPT_RESET, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.rise = 3;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id))
		goto out;
	if (!ASSERT_TRUE(spin_trans(1, 1000), "transition within 1 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 3,
			 "tcp: connected, then reset by the peer"))
		goto out;
	for (i = 0; i < 3; i++) {
		if (!STR_EQ(plog[id].reason[i], "tcp: connected, then reset by the peer", "result"))
			goto out;
	}
	ok = ASSERT_EQ(srv_a.accepted, 3, "accepted");
out:
	teardown();
	return ok;
}

static bool probed_once(void)
{
	return plog[0].n >= 1;
}

/* EMFILE: probes wait for fds instead of failing, and run once fds are back. */
static bool test_emfile_defers(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	struct rlimit rl, low;
	bool ok = false, restored = false;
	int id, fd;

	if (!ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl), "getrlimit") || !setup())
		return false;
	if (!server_start(&srv_a, SRV_ACCEPT, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.rise = 1;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id) || !ASSERT_EQ(id, 0, "id"))
		goto out;
	/* No fd below the lowest free one can be allocated: the limit is reached. */
	fd = dup(0);
	if (!ASSERT_TRUE(fd >= 0, "dup"))
		goto out;
	close(fd);
	low = rl;
	low.rlim_cur = (rlim_t)fd;
	if (!ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low), "setrlimit"))
		goto out;
	ok = spin(100, NULL);
	restored = !setrlimit(RLIMIT_NOFILE, &rl);
	vipxdp_health_stats(H, &st);
	if (!ASSERT_TRUE(ok && restored, "spin, restore the limit") ||
	    !ASSERT_EQ(st.sent, 0, "sent without fds") || !ASSERT_GE(st.deferred, 1, "deferred") ||
	    !ASSERT_EQ(plog[id].n, 0, "no probe result without fds")) {
		ok = false;
		goto out;
	}
	ok = ASSERT_TRUE(spin(500, probed_once), "probed once fds are back") &&
	     check_trans(0, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 1, "tcp: connected");
out:
	if (!restored)
		setrlimit(RLIMIT_NOFILE, &rl);
	teardown();
	return ok;
}

/* ---- http ---- */

/* http: status in expect range is up, 503 is down; split/short replies; exact request. */
static bool test_http_status(void)
{
	static const struct resp script[] = {
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
		{"HTTP/1.1 204\r\n\r\n", true},
		{"HTTP/1.0 200", false},
		{"HTTP/1.1 503 Service Unavailable\r\n\r\n", false},
	};
	static const char *const reasons[] = {
		"http status 200", "http status 204", "http status 200",
		"http status 503, expected 200-299", "http status 503, expected 200-299"};
	struct vipxdp_health_target t;
	bool ok = false;
	int id, i;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	srv_a.script = script;
	srv_a.nscript = 4;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.path = "/healthz?full=1";
	t.cfg.host = "example.test";
	t.cfg.expect_min = 200;
	t.cfg.expect_max = 299;
	t.cfg.rise = 1;
	t.cfg.fall = 2;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id))
		goto out;
	if (!ASSERT_TRUE(spin_trans(2, 2000), "two transitions within 2 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 1, "http status 200") ||
	    !check_trans(1, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 5,
			 "http status 503, expected 200-299"))
		goto out;
	for (i = 0; i < 5; i++) {
		if (!STR_EQ(plog[id].reason[i], reasons[i], "probe result"))
			goto out;
	}
	ok = STR_EQ(srv_a.req,
		    "GET /healthz?full=1 HTTP/1.0\r\nHost: example.test\r\n"
		    "User-Agent: vipxdp-health\r\nConnection: close\r\n\r\n",
		    "request");
out:
	teardown();
	return ok;
}

/* http over IPv6: non-HTTP or empty replies fail clearly; default Host is [::1]:PORT. */
static bool test_http_malformed(void)
{
	static const struct resp script[] = {
		{"SSH-2.0-OpenSSH_9.2\r\n", false},
		{"", false},
	};
	struct vipxdp_health_target t;
	char want[128];
	bool ok = false;
	int id;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP, AF_INET6, "::1", 0, 16))
		goto out;
	srv_a.script = script;
	srv_a.nscript = 2;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET6, "::1", srv_a.port);
	t.cfg.fall = 2;
	if (!add(&t, VIPXDP_HEALTH_UP, &id))
		goto out;
	if (!ASSERT_TRUE(spin_trans(1, 2000), "transition within 2 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 2,
			 "http: connection closed before the status line") ||
	    !STR_EQ(plog[id].reason[0], "http: malformed status line \"SSH-2.0-OpenS\"",
		    "first probe"))
		goto out;
	snprintf(want, sizeof(want),
		 "GET / HTTP/1.0\r\nHost: [::1]:%u\r\nUser-Agent: vipxdp-health\r\n"
		 "Connection: close\r\n\r\n",
		 srv_a.port);
	ok = STR_EQ(srv_a.req, want, "request");
out:
	teardown();
	return ok;
}

/* http: a server that never answers fails the probe by timeout, counted in stats. */
static bool test_http_timeout(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	bool ok = false;
	int id;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP_SILENT, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.interval_ms = 200;
	t.cfg.timeout_ms = 100;
	t.cfg.fall = 1;
	if (!add(&t, VIPXDP_HEALTH_UP, &id))
		goto out;
	if (!ASSERT_TRUE(spin_trans(1, 1000), "transition within 1 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 1,
			 "timeout after 100 ms waiting for the http status"))
		goto out;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_EQ(st.timeouts, 1, "timeouts") && ASSERT_TRUE(srv_a.req[0], "request read");
out:
	teardown();
	return ok;
}

/* ---- udp ---- */

static int udp_echo_id;

static void udp_hook(int id, int n, bool ok)
{
	if (id == udp_echo_id && n == 2)
		server_stop(&srv_a);
}

/* udp: reply and silence succeed; ICMP port unreachable (IPv4, IPv6) fails. */
static bool test_udp(void)
{
	struct vipxdp_health_target t;
	int echo, silent, closed4, closed6, i;
	bool ok = false, seen[4] = {};

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_UDP_ECHO, AF_INET, "127.0.0.1", 0, 0) ||
	    !server_start(&srv_b, SRV_UDP_SILENT, AF_INET, "127.0.0.1", 0, 0))
		goto out;
	target_init(&t, VIPXDP_HEALTH_UDP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.payload = "ping\0!";
	t.cfg.payload_len = 6;
	t.cfg.interval_ms = 100;
	t.cfg.timeout_ms = 50;
	t.cfg.rise = 1;
	t.cfg.fall = 1;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &echo))
		goto out;
	udp_echo_id = echo;
	probe_hook = udp_hook;
	t.cfg.payload = NULL;
	t.cfg.payload_len = 0;
	t.ep.port = srv_b.port;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &silent))
		goto out;
	t.ep.port = closed_port(AF_INET, SOCK_DGRAM);
	t.cfg.fall = 2;
	if (!add(&t, VIPXDP_HEALTH_UP, &closed4))
		goto out;
	target_init(&t, VIPXDP_HEALTH_UDP, AF_INET6, "::1", closed_port(AF_INET6, SOCK_DGRAM));
	t.cfg.interval_ms = 100;
	t.cfg.timeout_ms = 50;
	t.cfg.fall = 2;
	if (!add(&t, VIPXDP_HEALTH_UP, &closed6))
		goto out;
	/* echo: up, then down; silent: up; closed4, closed6: down. */
	if (!ASSERT_TRUE(spin_trans(5, 2000), "five transitions within 2 s"))
		goto out;
	for (i = 0; i < 5; i++) {
		if (tlog[i].id == echo && tlog[i].to == VIPXDP_HEALTH_UP) {
			seen[0] = check_trans(i, echo, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 1,
					      "udp: reply of 6 bytes");
		} else if (tlog[i].id == echo) {
			seen[1] = check_trans(i, echo, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 3,
					      "udp: ICMP port unreachable");
		} else if (tlog[i].id == silent) {
			seen[2] = check_trans(i, silent, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 1,
					      "udp: no reply and no error in 50 ms");
		} else {
			seen[3] = check_trans(i, tlog[i].id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN,
					      2, "udp: ICMP port unreachable");
		}
	}
	ok = ASSERT_TRUE(seen[0] && seen[1] && seen[2] && seen[3], "every expected transition") &&
	     ASSERT_TRUE(plog[echo].ok[1], "second echo probe succeeded");
out:
	teardown();
	return ok;
}

/* ---- none, source, ipv6, limits ---- */

/* none: UP whatever the initial state, never probed, no socket, no deadline. */
static bool test_none(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	struct vipxdp_health_info info;
	bool ok = false;
	int id;

	if (!setup())
		return false;
	target_init(&t, VIPXDP_HEALTH_NONE, AF_INET, "127.0.0.1", 0);
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id) ||
	    !ASSERT_EQ(vipxdp_health_next_timeout(H), -1, "no deadline") ||
	    !ASSERT_TRUE(spin(100, NULL), "spin"))
		goto out;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_OK(vipxdp_health_get(H, id, &info), "get") &&
	     ASSERT_EQ(info.state, VIPXDP_HEALTH_UP, "state") &&
	     ASSERT_EQ(info.probes, 0, "probes") && ASSERT_EQ(info.next_ns, 0, "next") &&
	     ASSERT_EQ(st.sent, 0, "sent") && ASSERT_EQ(st.targets, 1, "targets") &&
	     ASSERT_EQ(ntrans, 0, "transitions");
out:
	teardown();
	return ok;
}

/* source: probes come from the bound address; a foreign one fails with the bind error. */
static bool test_source(void)
{
	static const struct resp script[] = {{"HTTP/1.0 200 OK\r\n\r\n", false}};
	struct sockaddr_in *peer4 = (struct sockaddr_in *)&srv_a.peer;
	struct sockaddr_in6 *peer6 = (struct sockaddr_in6 *)&srv_b.peer;
	struct vipxdp_health_target t;
	bool ok = false;
	int id4, id6, bad;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP, AF_INET, "127.0.0.1", 0, 16) ||
	    !server_start(&srv_b, SRV_HTTP, AF_INET6, "::1", 0, 16))
		goto out;
	srv_a.script = srv_b.script = script;
	srv_a.nscript = srv_b.nscript = 1;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.rise = 1;
	t.cfg.fall = 1;
	vipxdp_addr_parse("127.0.0.2", &t.cfg.source_family, &t.cfg.source);
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id4))
		goto out;
	vipxdp_addr_parse("192.0.2.1", &t.cfg.source_family, &t.cfg.source);
	if (!add(&t, VIPXDP_HEALTH_UP, &bad))
		goto out;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET6, "::1", srv_b.port);
	t.cfg.rise = 1;
	vipxdp_addr_parse("::1", &t.cfg.source_family, &t.cfg.source);
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id6))
		goto out;
	if (!ASSERT_TRUE(spin_trans(3, 2000), "three transitions within 2 s") ||
	    !ASSERT_EQ(plog[id4].n >= 1 && plog[id4].ok[0], true, "bound probe succeeded") ||
	    !ASSERT_EQ(plog[id6].n >= 1 && plog[id6].ok[0], true, "bound IPv6 probe succeeded") ||
	    !STR_EQ(plog[bad].reason[0], "bind 192.0.2.1: Cannot assign requested address",
		    "foreign source"))
		goto out;
	ok = ASSERT_EQ(peer4->sin_family, AF_INET, "peer family") &&
	     ASSERT_EQ(ntohl(peer4->sin_addr.s_addr), 0x7f000002, "peer is 127.0.0.2") &&
	     ASSERT_EQ(peer6->sin6_family, AF_INET6, "peer family") &&
	     ASSERT_TRUE(IN6_IS_ADDR_LOOPBACK(&peer6->sin6_addr), "peer is ::1");
out:
	teardown();
	return ok;
}

static int removed_id = -1;
static bool silent_probe_in_flight(void)
{
	struct vipxdp_health_info info;

	return srv_a.accepted >= 1 && !vipxdp_health_get(H, removed_id, &info) && info.probing &&
	       srv_a.req[0];
}

static bool peer_closed(void)
{
	return srv_a.peer_closed >= 1;
}

static void remove_in_trans(int id)
{
	vipxdp_health_remove(H, id);
}

static void remove_in_probe(int id, int n, bool ok)
{
	if (id == removed_id)
		vipxdp_health_remove(H, id);
}

/* remove: mid-probe (socket closed, no callback), id reuse, and from both callbacks. */
static bool test_remove_in_flight(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	struct vipxdp_health_info info;
	bool ok = false;
	int id, id2;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP_SILENT, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.interval_ms = 50;
	t.cfg.timeout_ms = 50;
	t.cfg.fall = 1;
	t.cfg.path = "/slow";
	if (!add(&t, VIPXDP_HEALTH_UP, &id))
		goto out;
	removed_id = id;
	if (!ASSERT_TRUE(spin(1000, silent_probe_in_flight), "probe in flight within 1 s") ||
	    !ASSERT_OK(vipxdp_health_remove(H, id), "remove"))
		goto out;
	vipxdp_health_stats(H, &st);
	if (!ASSERT_EQ(st.in_flight, 0, "in flight") || !ASSERT_EQ(st.targets, 0, "targets") ||
	    !ASSERT_EQ(vipxdp_health_get(H, id, &info), -ENOENT, "get removed") ||
	    !ASSERT_EQ(vipxdp_health_remove(H, id), -ENOENT, "remove twice") ||
	    !ASSERT_TRUE(spin(500, peer_closed), "server saw the probe socket closed"))
		goto out;

	/* The id comes back for a new target that fails and removes itself on its transition. */
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", closed_port(AF_INET, SOCK_STREAM));
	t.cfg.fall = 2;
	if (!add(&t, VIPXDP_HEALTH_UP, &id2) || !ASSERT_EQ(id2, id, "id reused"))
		goto out;
	trans_hook = remove_in_trans;
	if (!ASSERT_TRUE(spin_trans(1, 1000), "transition within 1 s") ||
	    !check_trans(0, id, VIPXDP_HEALTH_UP, VIPXDP_HEALTH_DOWN, 2,
			 "connect: Connection refused") ||
	    !ASSERT_TRUE(spin(100, NULL), "spin"))
		goto out;
	vipxdp_health_stats(H, &st);
	if (!ASSERT_EQ(st.targets, 0, "targets") || !ASSERT_EQ(plog[id].n, 2, "probes of the id"))
		goto out;

	/* Removed from its own probe callback: no transition callback. */
	t.cfg.fall = 1;
	if (!add(&t, VIPXDP_HEALTH_UP, &id2))
		goto out;
	removed_id = id2;
	probe_hook = remove_in_probe;
	if (!ASSERT_TRUE(spin(200, NULL), "spin"))
		goto out;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_EQ(st.targets, 0, "targets") && ASSERT_EQ(ntrans, 1, "transitions") &&
	     ASSERT_EQ(st.in_flight, 0, "in flight");
out:
	teardown();
	return ok;
}

#define LIMIT_TARGETS 10
static int limit_ids[LIMIT_TARGETS];
static bool all_probed_twice(void)
{
	int i;

	for (i = 0; i < LIMIT_TARGETS; i++) {
		if (plog[limit_ids[i]].n < 2)
			return false;
	}
	return true;
}

/* in-flight limit: never more than max_in_flight sockets; the rest wait, all get probed. */
static bool test_in_flight_limit(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_stats st;
	bool ok = false;
	int i;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_HTTP_SILENT, AF_INET, "127.0.0.1", 0, 64))
		goto out;
	if (!ASSERT_OK(vipxdp_health_set_max_in_flight(H, 2), "set_max_in_flight"))
		goto out;
	target_init(&t, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.interval_ms = 100;
	t.cfg.timeout_ms = 30;
	for (i = 0; i < LIMIT_TARGETS; i++) {
		if (!add(&t, VIPXDP_HEALTH_UP, &limit_ids[i]))
			goto out;
	}
	if (!ASSERT_TRUE(spin(2000, all_probed_twice), "every target probed twice within 2 s"))
		goto out;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_EQ(st.max_in_flight_seen, 2, "max in flight seen") &&
	     ASSERT_GE(st.deferred, 1, "deferred") && ASSERT_EQ(st.succeeded, 0, "succeeded") &&
	     ASSERT_EQ(st.timeouts, st.failed, "all failures are timeouts") &&
	     STR_EQ(plog[limit_ids[0]].reason[0], "timeout after 30 ms waiting for the http status",
		    "reason");
out:
	teardown();
	return ok;
}

/* nesting: the engine fd in the caller's epoll plus next_timeout() drives the probes. */
static bool test_nested_epoll(void)
{
	struct epoll_event ev = {.events = EPOLLIN}, out_ev;
	struct vipxdp_health_target t;
	__u64 end = vipxdp_health_now_ns() + 1000000000ull;
	int ep = -1, id, n, wake = 0, r;
	bool ok = false;

	if (!setup())
		return false;
	if (!server_start(&srv_a, SRV_ACCEPT, AF_INET, "127.0.0.1", 0, 16))
		goto out;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!ASSERT_TRUE(ep >= 0, "epoll_create1") ||
	    !ASSERT_OK(epoll_ctl(ep, EPOLL_CTL_ADD, vipxdp_health_fd(H), &ev), "epoll_ctl"))
		goto out;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", srv_a.port);
	t.cfg.interval_ms = 30;
	if (!add(&t, VIPXDP_HEALTH_DOWN, &id) ||
	    !ASSERT_TRUE(vipxdp_health_next_timeout(H) >= 0 && vipxdp_health_next_timeout(H) <= 30,
			 "first deadline within the interval"))
		goto out;
	while (ntrans < 1 && vipxdp_health_now_ns() < end) {
		n = epoll_wait(ep, &out_ev, 1, vipxdp_health_next_timeout(H));
		if (n > 0)
			wake++;
		r = vipxdp_health_run(H, 0);
		if (!ASSERT_TRUE(r >= 0, "run"))
			goto out;
		server_pump(&srv_a);
	}
	ok = check_trans(0, id, VIPXDP_HEALTH_DOWN, VIPXDP_HEALTH_UP, 2, "tcp: connected") &&
	     ASSERT_GE(wake, 2, "wake-ups by the engine fd");
out:
	if (ep >= 0)
		close(ep);
	teardown();
	return ok;
}

/* spread: 1000 same-endpoint first probes fill each 100 ms of a 1 s interval evenly. */
static bool test_spread(void)
{
	struct vipxdp_health_target t;
	struct vipxdp_health_info info;
	int bucket[10] = {}, id, i;
	__u64 t0, t1;
	bool ok = false;

	if (!setup())
		return false;
	target_init(&t, VIPXDP_HEALTH_TCP, AF_INET, "127.0.0.1", 9);
	t.cfg.interval_ms = 1000;
	t0 = vipxdp_health_now_ns();
	for (i = 0; i < 1000; i++) {
		if (!ASSERT_OK(vipxdp_health_add(H, &t, VIPXDP_HEALTH_UP, &id), "add"))
			goto out;
	}
	t1 = vipxdp_health_now_ns();
	for (i = 0; i < 1000; i++) {
		if (!ASSERT_OK(vipxdp_health_get(H, i, &info), "get") ||
		    !ASSERT_TRUE(info.next_ns >= t0 && info.next_ns < t1 + 1000000000ull,
				 "first probe within the interval"))
			goto out;
		bucket[(info.next_ns - t0) / 100000000 < 10 ? (info.next_ns - t0) / 100000000
							    : 9]++;
	}
	for (i = 0; i < 10; i++) {
		if (!ASSERT_GE(bucket[i], 50, "probes in a 100 ms slice") ||
		    !ASSERT_LE(bucket[i], 150, "probes in a 100 ms slice"))
			goto out;
	}
	ok = true;
out:
	teardown();
	return ok;
}

/* RLIMIT_NOFILE: soft limit raised to the hard one, reported; in-flight limit below. */
static bool test_rlimit(void)
{
	struct vipxdp_health_stats st;
	struct rlimit rl;
	rlim_t want;
	bool ok = false;

	if (!ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl), "getrlimit"))
		return false;
	want = rl.rlim_max < (1u << 20) ? rl.rlim_max : (1u << 20);
	rl.rlim_cur = 256;
	if (!ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl), "setrlimit") || !setup())
		return false;
	vipxdp_health_stats(H, &st);
	ok = ASSERT_EQ(st.nofile_before, 256, "soft limit before") &&
	     ASSERT_EQ(st.nofile, want, "soft limit after") &&
	     ASSERT_TRUE(st.max_in_flight > 0 && st.max_in_flight < st.nofile, "in-flight limit") &&
	     ASSERT_EQ(vipxdp_health_set_max_in_flight(H, st.max_in_flight + 1), -ERANGE,
		       "limit above the default") &&
	     ASSERT_OK(vipxdp_health_set_max_in_flight(H, 0), "default limit");
	teardown();
	return ok;
}

/* API: unusable targets give -EINVAL, unknown ids -ENOENT; strings are copied. */
static bool test_api_errors(void)
{
	struct vipxdp_health_target t, good;
	struct vipxdp_health_info info;
	bool ok = false;
	int id, i;

	if (!setup())
		return false;
	target_init(&good, VIPXDP_HEALTH_HTTP, AF_INET, "127.0.0.1", 80);
	for (i = 0; i < 11; i++) {
		t = good;
		switch (i) {
		case 0:
			t.ep.family = 0;
			break;
		case 1:
			t.ep.port = 0;
			break;
		case 2:
			vipxdp_addr_parse("::1", &t.cfg.source_family, &t.cfg.source);
			break;
		case 3:
			t.cfg.rise = 0;
			break;
		case 4:
			t.cfg.fall = VIPXDP_HEALTH_COUNT_MAX + 1;
			break;
		case 5:
			t.cfg.interval_ms = 0;
			break;
		case 6:
			t.cfg.timeout_ms = 0;
			break;
		case 7:
			t.cfg.path = "/a b";
			break;
		case 8:
			t.cfg.path = "nope";
			break;
		case 9:
			t.cfg.host = "x\r\nX-Injected: 1";
			break;
		case 10:
			t.cfg.type = (enum vipxdp_health_type)7;
			break;
		}
		if (!ASSERT_EQ(vipxdp_health_add(H, &t, VIPXDP_HEALTH_UP, &id), -EINVAL,
			       "bad target"))
			goto out;
	}
	if (!ASSERT_EQ(vipxdp_health_add(H, &good, (enum vipxdp_health_state)5, &id), -EINVAL,
		       "bad initial state") ||
	    !ASSERT_EQ(vipxdp_health_get(H, 0, &info), -ENOENT, "get unknown") ||
	    !ASSERT_EQ(vipxdp_health_remove(H, -1), -ENOENT, "remove unknown") ||
	    !ASSERT_TRUE(vipxdp_health_get_target(H, 3) == NULL, "target unknown"))
		goto out;
	good.cfg.port = 8080;
	good.user = &good;
	if (!add(&good, VIPXDP_HEALTH_UP, &id))
		goto out;
	good.cfg.path = "/changed";
	ok = ASSERT_TRUE(vipxdp_health_get_target(H, id)->user == &good, "user cookie") &&
	     ASSERT_EQ(vipxdp_health_get_target(H, id)->cfg.port, 8080, "copied") &&
	     ASSERT_TRUE(vipxdp_health_get_target(H, id)->cfg.path == NULL, "strings copied");
out:
	teardown();
	return ok;
}

int main(void)
{
	tap_run("tcp: exact rise/fall transitions", test_tcp_rise_fall);
	tap_run("tcp: refused connect goes down after fall probes", test_tcp_refused);
	tap_run("tcp: unanswered SYN times out", test_tcp_timeout);
	tap_run("tcp: IPv6", test_tcp_ipv6);
	tap_run("tcp: reset right after accept is up", test_tcp_reset_after_accept);
	tap_run("EMFILE defers probes, does not fail them", test_emfile_defers);
	tap_run("http: expected status range, partial reads", test_http_status);
	tap_run("http: malformed and empty responses, default Host", test_http_malformed);
	tap_run("http: server that never answers times out", test_http_timeout);
	tap_run("udp: reply, silence, ICMP port unreachable", test_udp);
	tap_run("none: never probed, always up", test_none);
	tap_run("source address binding", test_source);
	tap_run("remove with a probe in flight, from callbacks", test_remove_in_flight);
	tap_run("in-flight limit defers probes", test_in_flight_limit);
	tap_run("engine fd nested in the caller's epoll", test_nested_epoll);
	tap_run("first probes spread over the interval", test_spread);
	tap_run("RLIMIT_NOFILE raised and reported", test_rlimit);
	tap_run("API errors", test_api_errors);
	return tap_done();
}
