/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vipxdp: the control plane's one binary. Table-driven subcommands in the
 * style of ip(8) and bpftool(8); the help text comes from the same table.
 * Common options (-j/--json, --bpffs DIR, -h/--help) are accepted before and
 * after the subcommand. Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "cli.h"
#include "attach.h"
#include "policy.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int cli_fail(struct cli *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_kstr(&c->jw, "error", msg);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	} else {
		fprintf(stderr, "%s%s%s: %s\n", c->prog, c->cmd ? " " : "", c->cmd ? c->cmd : "",
			msg);
	}
	return code;
}

void cli_warn(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_parse_u64(struct cli *c, const char *what, const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-')
		return cli_fail(c, EXIT_USAGE, "%s: '%s' is not a number", what, s);
	if (v < min || v > max)
		return cli_fail(c, EXIT_USAGE, "%s: %llu is out of range (%llu-%llu)", what, v,
				(unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int cli_parse_u32(struct cli *c, const char *what, const char *s, __u32 min, __u32 max, __u32 *out)
{
	__u64 v;
	int rc = cli_parse_u64(c, what, s, min, max, &v);

	if (!rc)
		*out = (__u32)v;
	return rc;
}

int cli_pin_dir(struct cli *c, bool create)
{
	struct statfs st;
	int n;

	if (statfs(c->bpffs, &st))
		return cli_fail(
			c, EXIT_FAIL,
			"bpffs directory %s: %s; mount one with 'mount -t bpf bpf %s' or choose another with --bpffs DIR",
			c->bpffs, strerror(errno), c->bpffs);
	if ((unsigned long)st.f_type != BPF_FS_MAGIC)
		return cli_fail(
			c, EXIT_FAIL,
			"%s is not a bpffs mount; mount one with 'mount -t bpf bpf %s' or choose another with --bpffs DIR (under 'ip netns exec', mount it outside the command so it outlives it)",
			c->bpffs, c->bpffs);
	n = snprintf(c->pin_dir, sizeof(c->pin_dir), "%s/" VIPXDP_PIN_SUBDIR, c->bpffs);
	if (n < 0 || (size_t)n >= sizeof(c->pin_dir))
		return cli_fail(c, EXIT_FAIL, "bpffs path too long: %s", c->bpffs);
	if (create && mkdir(c->pin_dir, 0700) && errno != EEXIST)
		return cli_fail(c, EXIT_FAIL, "creating %s: %s", c->pin_dir, strerror(errno));
	return 0;
}

int cli_open_dp(struct cli *c, struct vipxdp_dp *dp)
{
	int rc = cli_pin_dir(c, false);

	if (rc)
		return rc;
	if (!vipxdp_state_exists(c->pin_dir))
		return cli_fail(
			c, EXIT_FAIL,
			"vipxdp is not loaded (no state in %s); run 'vipxdp load IFACE' first",
			c->pin_dir);
	rc = vipxdp_dp_open_pinned(dp, c->pin_dir);
	if (rc == -ENOENT)
		return cli_fail(
			c, EXIT_FAIL,
			"the pinned state in %s lacks maps this vipxdp needs (made by an older version?); run 'vipxdp load IFACE' again to add them",
			c->pin_dir);
	if (rc)
		return cli_fail(c, EXIT_FAIL, "opening the pinned maps in %s: %s", c->pin_dir,
				strerror(-rc));
	return 0;
}

static int mode_parse(struct cli *c, const char *s, enum vipxdp_iface_mode *mode)
{
	if (!strcmp(s, "native"))
		*mode = VIPXDP_MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*mode = VIPXDP_MODE_GENERIC;
	else if (!strcmp(s, "auto"))
		*mode = VIPXDP_MODE_AUTO;
	else
		return cli_fail(c, EXIT_USAGE, "--mode: '%s' is not one of native, generic, auto",
				s);
	return 0;
}

int cli_bad_option(struct cli *c, int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (opt == ':')
		return cli_fail(c, EXIT_USAGE, "option '%s' needs a value; see '%s %s --help'", arg,
				c->prog, c->cmd);
	if (optopt && arg[0] == '-' && arg[1] != '-')
		return cli_fail(c, EXIT_USAGE, "unknown option '-%c'; see '%s %s --help'", optopt,
				c->prog, c->cmd);
	return cli_fail(c, EXIT_USAGE, "unknown option '%s'; see '%s %s --help'", arg, c->prog,
			c->cmd);
}

int cli_common_opt(struct cli *c, int opt)
{
	switch (opt) {
	case 'j':
		c->json = true;
		return 1;
	case CLI_OPT_BPFFS:
		c->bpffs = optarg;
		return 1;
	default:
		return 0;
	}
}

int cli_no_options(struct cli *c, const char *name, int argc, char **argv)
{
	static const struct option lo[] = { CLI_COMMON_LONGOPTS };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		if (opt == 'h') {
			cli_cmd_help(c, cli_find_cmd(name));
			return CLI_HELPED;
		}
		return cli_bad_option(c, opt, argv);
	}
	return 0;
}

const struct cmd *cli_find_cmd(const char *name)
{
	const struct cmd *cmd;

	for (cmd = cli_cmds; cmd->name; cmd++)
		if (!strcmp(cmd->name, name))
			return cmd;
	return NULL;
}

int cmd_load(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "mode", required_argument, NULL, 'm' },
					    { "config", required_argument, NULL, 'c' },
					    CLI_COMMON_LONGOPTS };
	enum vipxdp_iface_mode mode = VIPXDP_MODE_AUTO;
	struct vipxdp_policy_errors errs = {};
	struct vipxdp_policy *pol = NULL;
	const char *file = NULL;
	bool had_state, was_attached[argc];
	char err[512];
	int opt, rc, i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":m:c:" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'm':
			if ((rc = mode_parse(c, optarg, &mode)))
				return rc;
			break;
		case 'c':
			file = optarg;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("load"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (optind >= argc)
		return cli_fail(c, EXIT_USAGE, "missing IFACE; usage: %s %s", c->prog,
				cli_find_cmd("load")->synopsis);
	for (i = optind; i < argc; i++)
		if (!if_nametoindex(argv[i]))
			return cli_fail(c, EXIT_FAIL, "no such interface '%s'", argv[i]);
	if (file) {
		rc = vipxdp_policy_load(file, &pol, &errs);
		if (rc) {
			if (c->json)
				return cli_fail(c, EXIT_FAIL, "%s",
						errs.n ? errs.msg[0] : strerror(-rc));
			vipxdp_policy_errors_print(&errs, stderr);
			return EXIT_FAIL;
		}
	}
	if ((rc = cli_pin_dir(c, true)))
		goto out;
	had_state = vipxdp_state_exists(c->pin_dir);
	for (i = optind; i < argc; i++) {
		enum vipxdp_iface_mode m = mode;
		const struct vipxdp_policy_iface *pi =
			pol ? vipxdp_policy_find_iface(pol, argv[i]) : NULL;

		if (pi && mode == VIPXDP_MODE_AUTO)
			m = pi->mode;
		was_attached[i] = vipxdp_is_attached(c->pin_dir, argv[i]);
		rc = vipxdp_attach(c->pin_dir, argv[i], m, pol ? pol->settings.conntrack_size : 0,
				   err, sizeof(err));
		if (rc) {
			char err2[256];

			/* Nothing behind: undo this command's attachments. */
			for (int k = optind; k < i; k++)
				if (!was_attached[k])
					vipxdp_detach(c->pin_dir, argv[k], had_state, err2,
						      sizeof(err2));
			rc = cli_fail(c, EXIT_FAIL, "%s", err);
			goto out;
		}
	}
	rc = EXIT_OK;
	if (file) {
		char *av[] = { "apply", "-c", (char *)file, "--keep-interfaces", NULL };

		c->cmd = "apply";
		rc = cmd_apply(c, 4, av);
	} else if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_key(&c->jw, "loaded");
		json_arr_open(&c->jw);
		for (i = optind; i < argc; i++)
			json_str(&c->jw, argv[i]);
		json_arr_close(&c->jw);
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
out:
	vipxdp_policy_free(pol);
	return rc;
}

int cmd_unload(struct cli *c, int argc, char **argv)
{
	static const struct option lo[] = { { "keep-state", no_argument, NULL, 'k' },
					    CLI_COMMON_LONGOPTS };
	bool keep = false;
	char err[512];
	int opt, rc, i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":k" CLI_COMMON_SHORTOPTS, lo, NULL)) != -1) {
		if (cli_common_opt(c, opt))
			continue;
		switch (opt) {
		case 'k':
			keep = true;
			break;
		case 'h':
			cli_cmd_help(c, cli_find_cmd("unload"));
			return EXIT_OK;
		default:
			return cli_bad_option(c, opt, argv);
		}
	}
	if (optind >= argc)
		return cli_fail(c, EXIT_USAGE, "missing IFACE; usage: %s %s", c->prog,
				cli_find_cmd("unload")->synopsis);
	if ((rc = cli_pin_dir(c, false)))
		return rc;
	/* All or nothing: every interface must be loaded before any is touched. */
	for (i = optind; i < argc; i++)
		if (!vipxdp_has_link(c->pin_dir, argv[i]))
			return cli_fail(c, EXIT_FAIL,
					"vipxdp is not loaded on %s; nothing was unloaded",
					argv[i]);
	for (i = optind; i < argc; i++) {
		rc = vipxdp_detach(c->pin_dir, argv[i], keep, err, sizeof(err));
		if (rc)
			return cli_fail(c, EXIT_FAIL, "%s", rc == -ENOENT ? err : strerror(-rc));
	}
	if (c->json) {
		json_init(&c->jw, stdout);
		json_obj_open(&c->jw);
		json_key(&c->jw, "unloaded");
		json_arr_open(&c->jw);
		for (i = optind; i < argc; i++)
			json_str(&c->jw, argv[i]);
		json_arr_close(&c->jw);
		json_kbool(&c->jw, "state_kept", vipxdp_state_exists(c->pin_dir));
		json_obj_close(&c->jw);
		json_end(&c->jw);
	}
	return EXIT_OK;
}

const struct cmd cli_cmds[] = {
	{ "load", cmd_load, "load IFACE... [--mode native|generic|auto] [-c FILE]",
	  "Attach the data path to each IFACE through a bpf_link pinned in the pin\n"
	  "directory, creating the shared pinned maps on first use; then apply FILE if\n"
	  "given. Loading an interface twice changes nothing. A failed load leaves\n"
	  "nothing behind.\n"
	  "  -m, --mode MODE   native (driver), generic (skb) or auto (native, else generic;\n"
	  "                    the default, or the interface's mode from FILE)\n"
	  "  -c, --config FILE policy to apply after loading (validated first)\n" },
	{ "unload", cmd_unload, "unload IFACE... [--keep-state]",
	  "Detach the data path from each IFACE. The last unload removes the pinned\n"
	  "maps too, unless --keep-state.\n" },
	{ "map", cmd_map, "map add|del|list|qos ...",
	  "Imperative changes of VIP -> backend mappings (DNAT mode):\n"
	  "  map add VIP:PORT/PROTO BACKEND:PORT [--weight N]\n"
	  "      add a backend (or change its weight, 0-65535, default 100; 0 drains);\n"
	  "      the first backend of a new service creates it and turns on ARP/NDP\n"
	  "      for the VIP\n"
	  "  map del VIP:PORT/PROTO [BACKEND:PORT]\n"
	  "      remove one backend, or the whole service; a VIP without services is\n"
	  "      removed too\n"
	  "  map list\n"
	  "  map qos VIP [--pps N] [--bps N] [--burst-ms N]\n"
	  "      set the VIP's rate limit (packets/s, bits/s, burst in ms, default 100);\n"
	  "  map qos VIP off\n"
	  "      remove it; a policy applied later sets what its file says\n"
	  "IPv6 is written [2001:db8::1]:80/tcp; PROTO is tcp or udp.\n" },
	{ "apply", cmd_apply, "apply -c FILE [--dry-run]",
	  "Validate the whole policy FILE, print the plan (added, changed, removed;\n"
	  "for each changed service the share of hash-table slots that move), then\n"
	  "apply it. A file that fails validation changes nothing.\n"
	  "  -c, --config FILE  the policy (YAML), see vipxdp(8)\n"
	  "  -n, --dry-run      print the plan only\n"
	  "  --keep-interfaces  leave attachments alone even if the file lists interfaces\n"
	  "                     (what 'load -c' uses)\n" },
	{ "run", cmd_run, "run -c FILE",
	  "The daemon: apply FILE, then probe backends as the policy's health keys\n"
	  "say and keep the data plane matched to their health. A backend failing\n"
	  "`fall` probes in a row leaves its service's table, `rise` successes bring\n"
	  "it back; a table changes at most once per health interval. It also watches\n"
	  "rtnetlink, so that route and neighbour changes reach established flows at\n"
	  "once (without it: within about a second). SIGHUP re-reads FILE (a broken\n"
	  "file is logged and ignored); SIGTERM or SIGINT stop the daemon and leave\n"
	  "the data plane running. Logs one line per event on stderr.\n"
	  "  -c, --config FILE  the policy (YAML), see vipxdp(8)\n" },
	{ "stats", cmd_stats, "stats [--watch SECONDS]",
	  "Counters: per verdict reason, and per VIP, service and backend (packets,\n"
	  "bytes, new flows, reply packets; JSON also has reply bytes); for a VIP\n"
	  "with a rate limit (qos), the packets and bytes it passed and dropped;\n"
	  "per VIP, its three heaviest sources (see top).\n"
	  "  -w, --watch SECONDS  refresh every SECONDS until interrupted, with rates\n" },
	{ "status", cmd_status, "status",
	  "Interfaces and attach mode, settings, the daemon's route watch (on or off,\n"
	  "whether new flows take the next hop cached for their backend, generation),\n"
	  "VIPs (with their rate limit and its pass/drop counts), services, and\n"
	  "backends with weight and state.\n" },
	{ "top", cmd_top, "top [VIP] [--interval SECONDS] [--count N] [--bytes]",
	  "The five heaviest sources of each VIP (or of VIP) by packets, with bytes\n"
	  "and, from the second refresh on, rates; from the data path's top-talker\n"
	  "counters (settings.talkers_sample: one packet in N is counted as N).\n"
	  "Redraws the screen on a terminal, prints one report per interval\n"
	  "otherwise; -j prints one JSON report and exits.\n"
	  "  -i, --interval SECONDS  time between refreshes (1-3600, default 2)\n"
	  "  -n, --count N           stop after N refreshes\n"
	  "  -b, --bytes             rank by bytes instead of packets\n" },
	{ "conntrack", cmd_conntrack, "conntrack list|flush",
	  "list: every tracked flow direction: protocol, source and destination as\n"
	  "received, the source/destination it is rewritten to, its state (syn,\n"
	  "established, closing, udp, other), idle time, and the next hops it uses\n"
	  "(via IFACE, reply via IFACE). flush: remove every entry and NAT port\n"
	  "claim (DNAT flows find their backend again by hash; NAT flows break).\n" },
	{ "lookup", cmd_lookup, "lookup VIP:PORT/PROTO CLIENT:PORT",
	  "The backend a flow from CLIENT:PORT to the service gets: its conntrack entry\n"
	  "if the flow is known, otherwise the live Maglev table with the data path's\n"
	  "own hash.\n" },
	{ NULL, NULL, NULL, NULL },
};

void cli_cmd_help(struct cli *c, const struct cmd *cmd)
{
	printf("Usage: %s [-j] [--bpffs DIR] %s\n\n%s", c->prog, cmd->synopsis, cmd->help);
	printf("\nCommon options:\n"
	       "  -j, --json      JSON output (errors too)\n"
	       "  --bpffs DIR     bpffs mount holding the pins (default $VIPXDP_BPFFS or %s)\n"
	       "  -h, --help      this help\n",
	       VIPXDP_DEFAULT_BPFFS);
}

static void usage(struct cli *c, FILE *f)
{
	const struct cmd *cmd;

	fprintf(f,
		"Usage: %s [-j|--json] [--bpffs DIR] COMMAND [ARGS]\n\n"
		"vipxdp serves virtual IPs from XDP: ARP/NDP answers, load balancing (DNAT or\n"
		"full NAT) with Maglev consistent hashing, port forwards, elastic IPs, source\n"
		"NAT, per-VIP rate limits, counters. State lives in pinned BPF maps and links\n"
		"under DIR/vipxdp (default %s/vipxdp), so forwarding goes on without any\n"
		"vipxdp process.\n\nCommands:\n",
		c->prog, VIPXDP_DEFAULT_BPFFS);
	for (cmd = cli_cmds; cmd->name; cmd++)
		fprintf(f, "  %s\n", cmd->synopsis);
	fprintf(f,
		"\nCommon options (before or after COMMAND):\n"
		"  -j, --json      JSON output, errors too\n"
		"  --bpffs DIR     bpffs mount for the pins (env VIPXDP_BPFFS)\n"
		"  -h, --help      help; '%s COMMAND --help' for a command\n"
		"\nCommand names may be abbreviated to a unique prefix. See vipxdp(8).\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n",
		c->prog);
}

int main(int argc, char **argv)
{
	struct cli c = { .prog = "vipxdp" };
	const struct cmd *cmd, *found = NULL;
	const char *env = getenv("VIPXDP_BPFFS");
	int i, nfound = 0;

	c.bpffs = env && *env ? env : VIPXDP_DEFAULT_BPFFS;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			c.json = true;
		} else if (!strcmp(argv[i], "--bpffs")) {
			if (i + 1 >= argc)
				return cli_fail(&c, EXIT_USAGE, "--bpffs needs a directory");
			c.bpffs = argv[++i];
		} else if (!strncmp(argv[i], "--bpffs=", 8)) {
			c.bpffs = argv[i] + 8;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(&c, stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-') {
			usage(&c, stderr);
			return cli_fail(&c, EXIT_USAGE, "unknown option '%s'", argv[i]);
		} else {
			break;
		}
	}
	if (i >= argc) {
		usage(&c, stderr);
		return EXIT_USAGE;
	}
	for (cmd = cli_cmds; cmd->name; cmd++) {
		if (!strcmp(cmd->name, argv[i])) {
			found = cmd;
			nfound = 1;
			break;
		}
		if (!strncmp(cmd->name, argv[i], strlen(argv[i]))) {
			found = cmd;
			nfound++;
		}
	}
	if (nfound != 1)
		return cli_fail(&c, EXIT_USAGE, "%s command '%s'; see '%s --help'",
				nfound ? "ambiguous" : "unknown", argv[i], c.prog);
	c.cmd = found->name;
	return found->fn(&c, argc - i, argv + i);
}
