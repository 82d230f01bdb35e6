/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The test bed of the BPF_PROG_TEST_RUN programs; see pkt_env.h.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "pkt_env.h"

static const char *const base[] = {
	"ip link set lo up",
	"ip link add vt_in address " MAC_IN " type veth peer name vt_in_p",
	"ip link add vt_be address " MAC_BE " type veth peer name vt_be_p",
	"ip link set vt_in up && ip link set vt_in_p up",
	"ip link set vt_be up && ip link set vt_be_p up",
	"ip addr add 198.18.0.1/24 dev vt_in",
	"ip addr add 198.19.0.254/24 dev vt_be",
	"ip -6 addr add 2001:db8:1::1/64 dev vt_in nodad",
	"ip -6 addr add 2001:db8:2::fe/64 dev vt_be nodad",
	"sysctl -qw net.ipv4.ip_forward=1",
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
	"ip neigh add " CLIENT4 " lladdr " MAC_CLIENT " dev vt_in nud permanent",
	"ip -6 neigh add " CLIENT6 " lladdr " MAC_CLIENT " dev vt_in nud permanent",
	"ip neigh add 198.19.0.1 lladdr 02:00:00:00:01:01 dev vt_be nud permanent",
	"ip neigh add 198.19.0.2 lladdr 02:00:00:00:01:02 dev vt_be nud permanent",
	"ip neigh add 198.19.0.3 lladdr 02:00:00:00:01:03 dev vt_be nud permanent",
	"ip -6 neigh add 2001:db8:2::1 lladdr 02:00:00:00:01:01 dev vt_be nud permanent",
	"ip -6 neigh add 2001:db8:2::2 lladdr 02:00:00:00:01:02 dev vt_be nud permanent",
	"ip -6 neigh add 2001:db8:2::3 lladdr 02:00:00:00:01:03 dev vt_be nud permanent",
};

static int run_all(const char *who, const char *const *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = system(cmds[i]);

		if (rc != 0) {
			printf("# %s: command failed (%d): %s\n", who, rc, cmds[i]);
			return -1;
		}
	}
	return 0;
}

int pkt_env_setup(const char *who, const char *const *extra, size_t n_extra, int *if_in,
		  int *if_be)
{
	if (unshare(CLONE_NEWNET)) {
		printf("# %s: unshare(CLONE_NEWNET): %s\n", who, strerror(errno));
		return -1;
	}
	if (run_all(who, base, sizeof(base) / sizeof(base[0])) || run_all(who, extra, n_extra))
		return -1;
	*if_in = if_nametoindex("vt_in");
	*if_be = if_nametoindex("vt_be");
	return *if_in && *if_be ? 0 : -1;
}

void pkt_env_addr(const char *s, __u8 *family, struct vipxdp_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = VIPXDP_AF_INET;
	} else if (inet_pton(AF_INET6, s, a) == 1) {
		*family = VIPXDP_AF_INET6;
	} else {
		printf("# bad address in a test: %s\n", s);
		abort();
	}
}
