// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The backends' HTTP server of the end-to-end benchmark (tools/bench_e2e.sh):
 * one thread, one epoll instance, non-blocking sockets. Every request (any
 * method and path, headers up to the blank line) gets the same 3-byte
 * answer "ok\n"; a request carrying "Connection: close" gets the answer and
 * then the connection is closed by the server, which is how wrk measures new
 * connections per second. It does no file I/O and no logging, so per request
 * it costs little more than the socket calls: the load balancer, not the
 * server, should limit the figures.
 *
 *   bench_httpd PORT [ADDRESS]     (default address: 0.0.0.0)
 *
 * Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAXEV 256
#define BUFSZ 4096

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
static const char reply_close[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/* Per connection: the bytes of a request not yet complete. */
struct conn {
	int fd;
	size_t len;
	char buf[BUFSZ];
};

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Answer every complete request in c->buf; 1: close the connection. */
static int serve(struct conn *c)
{
	char *start = c->buf, *end;
	int close_it = 0;

	while (!close_it && (end = memmem(start, c->len - (start - c->buf), "\r\n\r\n", 4))) {
		const char *r = reply;
		size_t rl = sizeof(reply) - 1;
		char *h;

		*end = 0;
		for (h = strstr(start, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
			char *eol = strstr(h + 2, "\r\n"), *cl;

			if (strncasecmp(h + 2, "connection:", 11))
				continue;
			cl = strcasestr(h + 13, "close");
			if (cl && (!eol || cl < eol)) {
				r = reply_close;
				rl = sizeof(reply_close) - 1;
				close_it = 1;
				break;
			}
		}
		if (write(c->fd, r, rl) != (ssize_t)rl)
			return 1; /* a slow or gone client: not worth buffering */
		start = end + 4;
	}
	c->len -= start - c->buf;
	memmove(c->buf, start, c->len);
	return close_it || c->len == sizeof(c->buf);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[MAXEV];
	int lfd, ep, one = 1, n, i;
	char *end;
	long port;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_httpd PORT [ADDRESS]\n");
		return 2;
	}
	port = strtol(argv[1], &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "bench_httpd: '%s' is not a port\n", argv[1]);
		return 2;
	}
	sa.sin_port = htons(port);
	if (argc == 3 && inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "bench_httpd: '%s' is not an IPv4 address\n", argv[2]);
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		perror("bench_httpd: socket/epoll");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
		fprintf(stderr, "bench_httpd: bind/listen on port %ld: %s\n", port, strerror(errno));
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* NULL: the listening socket */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		perror("bench_httpd: epoll_ctl");
		return 1;
	}
	for (;;) {
		n = epoll_wait(ep, evs, MAXEV, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("bench_httpd: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = malloc(sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					c->len = 0;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
						close(fd);
						free(c);
					}
				}
				continue;
			}
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				conn_close(ep, c);
				continue;
			}
			c->len += r;
			if (serve(c))
				conn_close(ep, c);
		}
	}
}
