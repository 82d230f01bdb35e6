/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `vipxdp run -c FILE`: the daemon. It applies FILE like `vipxdp apply`,
 * then probes every backend whose service (or itself) has health checking,
 * and keeps the data plane matched to what the probes say. Backends are
 * probed when their service or they themselves have a `health` mapping:
 * - a backend that fails `fall` probes in a row is marked down: out of the
 *   Maglev table (a new table generation) and out of the previous-generation
 *   rule; after `rise` successes in a row it comes back;
 * - a service's table changes at most once per health interval, however
 *   often its backends flap;
 * - when every backend of a service is down, all_down decides: serve-all
 *   (default: the table keeps them all) or drop;
 * - each transition is one log line and is counted in the pinned
 *   vipxdp_health map, which `vipxdp status` reads.
 * SIGHUP re-reads FILE with apply's validation (a broken file is logged and
 * the running policy stays); SIGTERM/SIGINT stop probing and exit, leaving
 * the data plane running. A restarted daemon takes the health it finds in
 * the data plane (the down flags) as its starting point, so nothing changes
 * when nothing has changed.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "addr.h"
#include "health.h"
#include "policy.h"
#include "routewatch.h"

struct run_svc {
	const struct vipxdp_policy_service *ps;
	__u64 next_ok_ns; /* no table change before this (flap limit) */
	bool dirty;
	__u32 interval_ms;
};

struct run_be {
	struct run_svc *svc;
	const struct vipxdp_policy_backend *pb;
	int hid; /* health engine id, -1 when not probed */
	__u32 be_id; /* data-plane backend id */
	bool down;
	bool last_ok; /* last probe result written to vipxdp_health */
	__u64 rec_ns; /* when the record was last written */
};

/* Health carried over a reload, by service and backend endpoint. */
struct run_prev {
	struct vipxdp_svc_id svc;
	struct vipxdp_endpoint ep;
	bool down;
};

struct run {
	struct cli *c;
	const char *file;
	struct vipxdp_policy *pol;
	struct vipxdp_dp dp;
	struct vipxdp_health *h;
	struct run_svc *svcs;
	size_t nsvcs;
	struct run_be *bes;
	size_t nbes;
	struct vipxdp_rwatch *rw; /* NULL: no route watch */
	char routing_logged[160]; /* the logged routing check's reason, "" = simple */
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line per event on stderr: journald stamps it; a terminal gets a time. */
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	if (!getenv("JOURNAL_STREAM")) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;

		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
		fprintf(stderr, "%s ", ts);
	}
	fprintf(stderr, "vipxdp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* The route watch's routing check, logged when its answer changes (and at
 * start): whether new flows take next hops cached per backend. */
static void log_routing(struct run *r, bool first)
{
	const char *why;
	bool simple = vipxdp_rwatch_simple(r->rw, &why); /* why: "" when simple */

	if (!first && !strcmp(why, r->routing_logged))
		return;
	snprintf(r->routing_logged, sizeof(r->routing_logged), "%s", why);
	if (simple)
		logmsg("routing is simple: new flows take the next hop cached for their backend");
	else
		logmsg("new flows look their next hop up in the FIB: %s", why);
}

static void be_names(const struct run_be *b, char *sbuf, size_t slen, char *ebuf, size_t elen)
{
	vipxdp_svc_id_str(&b->svc->ps->id, sbuf, slen);
	vipxdp_endpoint_str(&b->pb->ep, ebuf, elen);
}

static void health_rec_update(struct run *r, const struct run_be *b, bool transition, bool ok,
			      const char *text)
{
	struct vipxdp_health_rec rec = {};
	__u64 now = time(NULL);

	if (bpf_map_lookup_elem(r->dp.health_fd, &b->be_id, &rec)) {
		memset(&rec, 0, sizeof(rec));
		rec.since = now;
	}
	rec.state = b->down ? VIPXDP_HREC_DOWN : VIPXDP_HREC_UP;
	if (transition) {
		rec.transitions++;
		rec.since = now;
	}
	if (text) {
		rec.last_ok = ok;
		rec.last_probe = now;
		snprintf(rec.last, sizeof(rec.last), "%s", text);
	}
	bpf_map_update_elem(r->dp.health_fd, &b->be_id, &rec, BPF_ANY);
}

static void on_transition(void *ctx, int id, const struct vipxdp_health_target *t,
			  enum vipxdp_health_state old_state, enum vipxdp_health_state new_state,
			  const char *reason)
{
	struct run *r = ctx;
	struct run_be *b = t->user;
	char s[VIPXDP_SVC_STRLEN], e[VIPXDP_ENDPOINT_STRLEN];

	b->down = new_state == VIPXDP_HEALTH_DOWN;
	b->svc->dirty = true;
	be_names(b, s, sizeof(s), e, sizeof(e));
	logmsg("health: %s backend %s %s -> %s (%s)", s, e, vipxdp_health_state_str(old_state),
	       vipxdp_health_state_str(new_state), reason);
	health_rec_update(r, b, true, !b->down, reason);
}

/* Probe results reach the pinned record when they change, and otherwise at
 * most every 5 s: 10,000 backends must not cost 20,000 syscalls a second. */
static void on_probe(void *ctx, int id, const struct vipxdp_health_target *t, bool ok,
		     const char *reason)
{
	struct run_be *b = t->user;
	__u64 now = vipxdp_health_now_ns();

	if (ok == b->last_ok && now - b->rec_ns < 5000000000ull)
		return;
	b->last_ok = ok;
	b->rec_ns = now;
	health_rec_update(ctx, b, false, ok, reason);
}

/* Write one service's backend set with the current health. */
static int write_service(struct run *r, struct run_svc *sv)
{
	const struct vipxdp_policy_service *ps = sv->ps;
	struct vipxdp_be_spec *bes;
	struct vipxdp_svc_spec spec;
	size_t i, k, ndown = 0, nlive = 0;
	int err;

	bes = calloc(ps->n_backends ? ps->n_backends : 1, sizeof(*bes));
	if (!bes)
		return -ENOMEM;
	for (i = 0; i < ps->n_backends; i++) {
		bes[i].addr = ps->backends[i].ep.addr;
		bes[i].family = ps->backends[i].ep.family;
		bes[i].port = ps->backends[i].ep.port;
		bes[i].weight = ps->backends[i].weight;
		for (k = 0; k < r->nbes; k++)
			if (r->bes[k].pb == &ps->backends[i])
				bes[i].down = r->bes[k].down;
		if (bes[i].weight) {
			nlive++;
			ndown += bes[i].down;
		}
	}
	/* Every serving backend down: serve-all keeps them in the table. */
	if (nlive && ndown == nlive && ps->all_down == VIPXDP_ALL_DOWN_SERVE_ALL) {
		char s[VIPXDP_SVC_STRLEN];

		logmsg("health: %s: every backend is down; serving all of them (all_down: serve-all)",
		       vipxdp_svc_id_str(&ps->id, s, sizeof(s)));
		for (i = 0; i < ps->n_backends; i++)
			bes[i].down = false;
	}
	cli_policy_spec(ps, r->pol->settings.table_size, &spec);
	err = vipxdp_dp_set_service(&r->dp, &spec, bes, ps->n_backends, NULL);
	free(bes);
	return err;
}

/* Write the services whose backends changed, each at most once per interval. */
static void flush(struct run *r, __u64 now)
{
	char s[VIPXDP_SVC_STRLEN];
	size_t i;
	int err;

	for (i = 0; i < r->nsvcs; i++) {
		struct run_svc *sv = &r->svcs[i];

		if (!sv->dirty || now < sv->next_ok_ns)
			continue;
		err = write_service(r, sv);
		if (err)
			logmsg("health: updating %s: %s",
			       vipxdp_svc_id_str(&sv->ps->id, s, sizeof(s)), strerror(-err));
		sv->dirty = false;
		sv->next_ok_ns = now + (__u64)sv->interval_ms * 1000000;
	}
}

/* Milliseconds until the next flush is allowed, -1 when none is pending. */
static int flush_timeout(const struct run *r, __u64 now)
{
	__u64 best = 0;
	size_t i;

	for (i = 0; i < r->nsvcs; i++) {
		const struct run_svc *sv = &r->svcs[i];

		if (!sv->dirty)
			continue;
		if (sv->next_ok_ns <= now)
			return 0;
		if (!best || sv->next_ok_ns < best)
			best = sv->next_ok_ns;
	}
	return best ? (int)((best - now + 999999) / 1000000) : -1;
}

static void state_free(struct run *r)
{
	size_t i;

	for (i = 0; r->h && i < r->nbes; i++)
		if (r->bes[i].hid >= 0)
			vipxdp_health_remove(r->h, r->bes[i].hid);
	free(r->bes);
	free(r->svcs);
	r->bes = NULL;
	r->svcs = NULL;
	r->nbes = r->nsvcs = 0;
}

/* The data-plane backend (id and down flag) of a policy backend. */
static int find_dp_backend(struct run *r, const struct vipxdp_policy_service *ps,
			   const struct vipxdp_policy_backend *pb, __u32 *id, bool *down)
{
	struct vipxdp_svc_spec spec;
	struct vipxdp_dp_be *list = NULL;
	struct vipxdp_svc svc;
	size_t n = 0, k;
	int err;

	cli_spec_of(&ps->id, &spec);
	err = vipxdp_dp_get_service(&r->dp, &spec, &svc);
	if (!err)
		err = vipxdp_dp_backends_of(&r->dp, svc.id, &list, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (k = 0; k < n; k++) {
		struct vipxdp_endpoint ep;

		cli_ep_of_backend(&list[k].be, &ep);
		if (!vipxdp_endpoint_cmp(&ep, &pb->ep)) {
			*id = list[k].id;
			*down = list[k].be.flags & VIPXDP_BE_F_DOWN;
			err = 0;
		}
	}
	free(list);
	return err;
}

/* Targets for every probed backend of the policy; health from the data
 * plane, or from prev (the state before a reload) where it has the backend. */
static int state_build(struct run *r, const struct run_prev *prev, size_t nprev)
{
	struct vipxdp_policy *pol = r->pol;
	size_t i, s, b, nb = 0, ns = 0;
	int err;

	for (i = 0; i < pol->n_vips; i++)
		for (s = 0; s < pol->vips[i].n_services; s++) {
			ns++;
			nb += pol->vips[i].services[s].n_backends;
		}
	r->svcs = calloc(ns ? ns : 1, sizeof(*r->svcs));
	r->bes = calloc(nb ? nb : 1, sizeof(*r->bes));
	if (!r->svcs || !r->bes)
		return -ENOMEM;
	for (i = 0; i < pol->n_vips; i++) {
		for (s = 0; s < pol->vips[i].n_services; s++) {
			const struct vipxdp_policy_service *ps = &pol->vips[i].services[s];
			struct run_svc *sv = &r->svcs[r->nsvcs++];

			sv->ps = ps;
			sv->interval_ms = ps->health.interval_ms;
			/* Written once at start and after each reload: all_down is
			 * the daemon's alone (the data plane does not hold it), and
			 * an unchanged table keeps its generation. */
			sv->dirty = true;
			for (b = 0; b < ps->n_backends; b++) {
				const struct vipxdp_policy_backend *pb = &ps->backends[b];
				struct run_be *rb = &r->bes[r->nbes++];
				struct vipxdp_health_target t = {};

				rb->svc = sv;
				rb->pb = pb;
				rb->hid = -1;
				if (pb->health.interval_ms < sv->interval_ms)
					sv->interval_ms = pb->health.interval_ms;
				err = find_dp_backend(r, ps, pb, &rb->be_id, &rb->down);
				if (err)
					return err;
				/* all_down: serve-all writes down backends as up; the
				 * daemon's own record still says down. */
				{
					struct vipxdp_health_rec hr;

					if (!bpf_map_lookup_elem(r->dp.health_fd, &rb->be_id,
								 &hr) &&
					    hr.state == VIPXDP_HREC_DOWN)
						rb->down = true;
				}
				for (size_t k = 0; k < nprev; k++) {
					if (vipxdp_endpoint_cmp(&prev[k].ep, &pb->ep) ||
					    vipxdp_endpoint_cmp(&prev[k].svc.ep, &ps->id.ep) ||
					    prev[k].svc.proto != ps->id.proto)
						continue;
					if (prev[k].down != rb->down)
						sv->dirty = true;
					rb->down = prev[k].down;
				}
				rb->last_ok = !rb->down;
				if (!pb->health.configured ||
				    pb->health.type == VIPXDP_HEALTH_NONE) {
					/* Not probed: no stale record for status. */
					bpf_map_delete_elem(r->dp.health_fd, &rb->be_id);
					if (rb->down) {
						rb->down = false; /* none: always up */
						sv->dirty = true;
					}
					continue;
				}
				t.ep = pb->ep;
				t.cfg = pb->health;
				t.user = rb;
				err = vipxdp_health_add(
					r->h, &t, rb->down ? VIPXDP_HEALTH_DOWN : VIPXDP_HEALTH_UP,
					&rb->hid);
				if (err)
					return err;
				health_rec_update(r, rb, false, !rb->down, NULL);
			}
		}
	}
	return 0;
}

/* SIGHUP: re-read the file; on any error keep everything as it is. */
static void reload(struct run *r)
{
	struct vipxdp_policy *pol = NULL;
	struct run_prev *prev;
	size_t i, nprev = 0;
	int rc;

	logmsg("reloading %s", r->file);
	rc = cli_apply(r->c, r->file, false, true, &pol);
	if (rc) {
		logmsg("reload of %s failed; the running policy stays", r->file);
		return;
	}
	/* Health seen so far survives the reload, also where the flap limit
	 * has not written it to the data plane yet. */
	prev = calloc(r->nbes ? r->nbes : 1, sizeof(*prev));
	for (i = 0; prev && i < r->nbes; i++) {
		if (r->bes[i].hid < 0)
			continue;
		prev[nprev].svc = r->bes[i].svc->ps->id;
		prev[nprev].ep = r->bes[i].pb->ep;
		prev[nprev].down = r->bes[i].down;
		nprev++;
	}
	state_free(r);
	vipxdp_policy_free(r->pol);
	r->pol = pol;
	rc = state_build(r, prev, nprev);
	free(prev);
	if (rc)
		logmsg("reload: setting up health checks: %s", strerror(-rc));
	else
		logmsg("reloaded %s: %zu services, %zu backends", r->file, r->nsvcs, r->nbes);
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "config", required_argument, NULL, 'c' },
					    CLI_COMMON_LONGOPTS };
	struct run r = { .c = c };
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int opt, rc, sfd = -1, efd = -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":c:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'c':
			r.file = optarg;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("run"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (!r.file)
		return cli_fail(c, EXIT_USAGE, "missing -c FILE; usage: %s %s", c->prog,
				cli_find_cmd("run")->synopsis);
	if (optind != argc)
		return cli_fail(c, EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	c->json = false; /* the daemon logs lines */
	setvbuf(stdout, NULL, _IOLBF, 0); /* plans reach the journal as they happen */

	/* Signals first, so a SIGHUP during start-up is not lost. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = cli_apply(c, r.file, false, true, &r.pol);
	if (rc)
		return rc;
	if ((rc = cli_open_dp(c, &r.dp)))
		goto out_pol;
	rc = vipxdp_health_new(&r.h, on_transition, &r);
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "starting the probe engine: %s", strerror(-rc));
		goto out;
	}
	vipxdp_health_set_probe_cb(r.h, on_probe);
	rc = state_build(&r, NULL, 0);
	if (rc) {
		rc = cli_fail(c, EXIT_FAIL, "setting up health checks: %s", strerror(-rc));
		goto out;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || efd < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev)) {
		rc = cli_fail(c, EXIT_FAIL, "signalfd/epoll: %s", strerror(errno));
		goto out;
	}
	ev.data.fd = vipxdp_health_fd(r.h);
	if (epoll_ctl(efd, EPOLL_CTL_ADD, vipxdp_health_fd(r.h), &ev)) {
		rc = cli_fail(c, EXIT_FAIL, "epoll: %s", strerror(errno));
		goto out;
	}
	/* The route watch is an optimisation: without it next hops are
	 * refreshed once an epoch, so a failure here is logged, not fatal. */
	rc = vipxdp_rwatch_new(&r.rw, r.dp.route_fd);
	if (rc) {
		logmsg("route watch off (%s): next hops are looked up again every second",
		       strerror(-rc));
		r.rw = NULL;
	} else {
		ev.data.fd = vipxdp_rwatch_fd(r.rw);
		if (epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev)) {
			rc = cli_fail(c, EXIT_FAIL, "epoll: %s", strerror(errno));
			goto out;
		}
	}
	rc = 0;
	logmsg("running with %s: %zu services, %zu backends; route watch %s", r.file, r.nsvcs,
	       r.nbes, r.rw ? "on" : "off");
	if (r.rw)
		log_routing(&r, true);

	for (;;) {
		struct epoll_event evs[4];
		struct signalfd_siginfo si;
		__u64 now = vipxdp_health_now_ns();
		int t1 = vipxdp_health_next_timeout(r.h), t2 = flush_timeout(&r, now), t, n, werr;

		t = t1 < 0 ? t2 : t2 < 0 ? t1 : (t1 < t2 ? t1 : t2);
		if (r.rw) {
			t1 = vipxdp_rwatch_timeout_ms(r.rw);
			t = t < 0 || t1 < t ? t1 : t;
		}
		n = epoll_wait(efd, evs, 4, t);
		if (n < 0 && errno != EINTR) {
			rc = cli_fail(c, EXIT_FAIL, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		if (r.rw && (werr = vipxdp_rwatch_run(r.rw)) < 0) {
			logmsg("route watch off (writing vipxdp_route: %s): next hops are "
			       "looked up again every second",
			       strerror(-werr));
			vipxdp_rwatch_free(r.rw);
			r.rw = NULL;
		}
		if (r.rw)
			log_routing(&r, false);
		vipxdp_health_run(r.h, 0);
		flush(&r, vipxdp_health_now_ns());
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				reload(&r);
				flush(&r, vipxdp_health_now_ns());
				continue;
			}
			logmsg("signal %u: stopping; the data plane keeps running", si.ssi_signo);
			rc = EXIT_OK;
			goto out;
		}
	}
out:
	vipxdp_rwatch_free(r.rw);
	if (sfd >= 0)
		close(sfd);
	if (efd >= 0)
		close(efd);
	state_free(&r);
	vipxdp_health_free(r.h);
	vipxdp_dp_close(&r.dp);
out_pol:
	vipxdp_policy_free(r.pol);
	return rc;
}
