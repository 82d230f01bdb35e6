/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared pieces of the vipxdp command line: the context every command gets,
 * error reporting (plain text on stderr, or {"error": ...} on stdout in JSON
 * mode), option parsing helpers and the commands themselves.
 */
#ifndef VIPXDP_CLI_H
#define VIPXDP_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <getopt.h>

#include "json.h"
#include "dataplane.h"

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define VIPXDP_DEFAULT_BPFFS "/sys/fs/bpf"

struct cli {
	bool json;
	const char *bpffs; /* bpffs mount: --bpffs, $VIPXDP_BPFFS or /sys/fs/bpf */
	char pin_dir[PATH_MAX]; /* bpffs/vipxdp */
	struct json jw;
	const char *prog; /* "vipxdp" */
	const char *cmd; /* full command name for messages: "map add" */
};

/* A command: name, handler, one-line synopsis and help text. */
struct cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

/* Report an error; returns the exit code to use. */
int cli_fail(struct cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Warning / information on stderr (never in the JSON stream). */
void cli_warn(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parse the common options (-j/--json, --bpffs DIR, -h/--help) together with
 * a command's own. `longopts` must end with the common ones:
 * CLI_COMMON_LONGOPTS. Returns the option char like getopt_long, or -1 at the
 * end. Handles the common ones itself (returns 0 for them).
 */
#define CLI_OPT_BPFFS 0x1000
#define CLI_OPT_HELP 'h'
#define CLI_COMMON_LONGOPTS                                                                        \
	{ "json", no_argument, NULL, 'j' }, { "bpffs", required_argument, NULL, CLI_OPT_BPFFS },   \
		{ "help", no_argument, NULL, 'h' },                                                \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}
#define CLI_COMMON_SHORTOPTS "jh" /* commands prefix their own with ":" */

/* The usage error for a bad option seen by getopt ('?' or ':'). */
int cli_bad_option(struct cli *c, int opt, char **argv);
/* Handle -j / --bpffs inside a command's getopt loop; 1 if it was one. */
int cli_common_opt(struct cli *c, int opt);
/* getopt loop for a command without options of its own: 0 to go on,
 * CLI_HELPED after printing help, or an exit code for a bad option. */
#define CLI_HELPED (-1)
int cli_no_options(struct cli *c, const char *name, int argc, char **argv);
const struct cmd *cli_find_cmd(const char *name);

/* Print a command's help (from its table entry). */
void cli_cmd_help(struct cli *c, const struct cmd *cmd);

/* Check the bpffs and set pin_dir. create: make the pin directory. */
int cli_pin_dir(struct cli *c, bool create);
/* Open the pinned maps; a clear message when nothing is loaded. */
int cli_open_dp(struct cli *c, struct vipxdp_dp *dp);

/* Typed argument parsers that name the bad value on failure. */
int cli_parse_u64(struct cli *c, const char *what, const char *s, __u64 min, __u64 max, __u64 *out);
int cli_parse_u32(struct cli *c, const char *what, const char *s, __u32 min, __u32 max, __u32 *out);

/* Conversions between map keys/values and the control plane's types. */
struct vipxdp_svc_id;
struct vipxdp_endpoint;
void cli_spec_of(const struct vipxdp_svc_id *id, struct vipxdp_svc_spec *spec);
void cli_svc_id_of_key(const struct vipxdp_svc_key *k, struct vipxdp_svc_id *id);
void cli_ep_of_backend(const struct vipxdp_backend *b, struct vipxdp_endpoint *ep);
/* "active", "draining" (weight 0) or "down" (health checks failed). */
const char *cli_be_state(const struct vipxdp_backend *b);

/*
 * Validate FILE, plan, apply (unless dry). manage_ifaces: attach/detach the
 * interfaces the file lists. keep (may be NULL): the policy, on success.
 * Returns an exit code; messages are printed.
 */
struct vipxdp_policy;
struct vipxdp_policy_service;
/* The data-plane spec of a policy service. */
void cli_policy_spec(const struct vipxdp_policy_service *ps, __u32 table_size,
		     struct vipxdp_svc_spec *spec);
int cli_apply(struct cli *c, const char *file, bool dry, bool manage_ifaces,
	      struct vipxdp_policy **keep);

/* Commands. */
int cmd_load(struct cli *c, int argc, char **argv);
int cmd_unload(struct cli *c, int argc, char **argv);
int cmd_map(struct cli *c, int argc, char **argv);
int cmd_apply(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_lookup(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_conntrack(struct cli *c, int argc, char **argv);
int cmd_top(struct cli *c, int argc, char **argv);

/* Top talkers (cmd_top.c), also shown by stats. */
struct talker_row {
	struct vipxdp_talker_key key;
	struct vipxdp_talker t;
};
int cli_talkers_read(struct vipxdp_dp *dp, struct talker_row **out, size_t *n);
size_t cli_talkers_of(const struct talker_row *rows, size_t n, const struct vipxdp_vip_key *k,
		      struct talker_row *sel);

extern const struct cmd cli_cmds[];

#endif /* VIPXDP_CLI_H */
