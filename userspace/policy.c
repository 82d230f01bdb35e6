/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy file parser and validator (see policy.h for the rules).
 *
 * Two stages. libyaml's event parser builds a small tree of nodes that keeps
 * the 1-based position of every node; anchors, aliases, tags and a second
 * document stop it there. The tree is then walked against the schema,
 * filling struct vipxdp_policy. The walk does not stop at the first problem:
 * it records every error it can find (skipping only the checks that depend
 * on a value already found bad), sorts them by position and hands back the
 * first VIPXDP_POLICY_MAX_ERRORS. Any error means no policy.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <yaml.h>

#include "maglev.h"
#include "policy.h"

/* Deeper nesting than any valid policy needs; bounds the recursion. */
#define TREE_MAX_DEPTH 32
/* Errors kept before sorting; the rest are only counted. */
#define ERRORS_KEPT 1024
/* Largest file vipxdp_policy_load() reads. */
#define POLICY_FILE_MAX (64u << 20)
/* Characters of a scalar quoted in a message. */
#define QUOTE_MAX 60

enum ykind {
	Y_SCALAR,
	Y_MAP,
	Y_SEQ,
};

/* One YAML node. A mapping's kids are key, value, key, value... */
struct ynode {
	enum ykind kind;
	unsigned int line;
	unsigned int col;
	bool plain; /* scalar written without quotes (may be a number, bool, null) */
	char *str; /* scalar text, NUL-terminated (may also contain NULs) */
	size_t len;
	struct ynode **kids;
	size_t n;
	size_t cap;
};

struct perr {
	unsigned int line;
	unsigned int col;
	size_t seq;
	char msg[VIPXDP_POLICY_ERRLEN];
};

/* Parser state: where messages go. */
struct pctx {
	const char *name;
	struct perr *errs;
	size_t n_errs;
	size_t cap_errs;
	size_t total; /* errors found, kept or not */
	bool nomem;
};

static void *xcalloc(struct pctx *c, size_t n, size_t size)
{
	void *p;

	if (!n)
		n = 1;
	p = calloc(n, size);
	if (!p)
		c->nomem = true;
	return p;
}

static char *xstrndup(struct pctx *c, const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (!p) {
		c->nomem = true;
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void err_at(struct pctx *c, unsigned int line, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record "NAME:LINE:COL: message". */
static void err_at(struct pctx *c, unsigned int line, unsigned int col, const char *fmt, ...)
{
	struct perr *e;
	va_list ap;
	int off;

	c->total++;
	if (c->n_errs == c->cap_errs) {
		size_t cap = c->cap_errs ? c->cap_errs * 2 : 16;
		struct perr *p;

		if (c->cap_errs >= ERRORS_KEPT)
			return;
		p = realloc(c->errs, cap * sizeof(*p));
		if (!p) {
			c->nomem = true;
			return;
		}
		c->errs = p;
		c->cap_errs = cap;
	}
	e = &c->errs[c->n_errs++];
	e->line = line;
	e->col = col;
	e->seq = c->n_errs;
	off = snprintf(e->msg, sizeof(e->msg), "%s:%u:%u: ", c->name, line, col);
	if (off < 0 || (size_t)off >= sizeof(e->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg + off, sizeof(e->msg) - (size_t)off, fmt, ap);
	va_end(ap);
}

#define err_node(c, node, ...) err_at((c), (node)->line, (node)->col, __VA_ARGS__)

static int perr_cmp(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand the first errors, in file order, to the caller. */
static void errors_export(struct pctx *c, struct vipxdp_policy_errors *out)
{
	size_t i;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (c->n_errs)
		qsort(c->errs, c->n_errs, sizeof(*c->errs), perr_cmp);
	for (i = 0; i < c->n_errs && i < VIPXDP_POLICY_MAX_ERRORS; i++)
		memcpy(out->msg[i], c->errs[i].msg, sizeof(out->msg[i]));
	out->n = (unsigned int)i;
	out->more = (unsigned int)(c->total - i);
}

/* ---- YAML tree ---- */

static void tree_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		tree_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static struct ynode *node_new(struct pctx *c, enum ykind kind, yaml_mark_t mark)
{
	struct ynode *n = xcalloc(c, 1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (unsigned int)mark.line + 1;
	n->col = (unsigned int)mark.column + 1;
	return n;
}

static int node_append(struct pctx *c, struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k) {
			c->nomem = true;
			return -ENOMEM;
		}
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* Line and column of a byte offset (for reader errors, which have no mark). */
static void offset_pos(const char *text, size_t len, size_t off, unsigned int *line,
		       unsigned int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int syntax_error(struct pctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	unsigned int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		c->nomem = true;
		return -ENOMEM;
	case YAML_READER_ERROR:
		offset_pos(text, len, p->problem_offset, &line, &col);
		err_at(c, line, col, "invalid input: %s",
		       p->problem ? p->problem : "unknown error");
		return -EINVAL;
	default:
		line = (unsigned int)p->problem_mark.line + 1;
		col = (unsigned int)p->problem_mark.column + 1;
		if (p->context)
			err_at(c, line, col, "YAML syntax error: %s (%s at %u:%u)",
			       p->problem ? p->problem : "unknown error", p->context,
			       (unsigned int)p->context_mark.line + 1,
			       (unsigned int)p->context_mark.column + 1);
		else
			err_at(c, line, col, "YAML syntax error: %s",
			       p->problem ? p->problem : "unknown error");
		return -EINVAL;
	}
}

/* Reject what a policy does not use; returns true when the event is clean. */
static bool event_plain(struct pctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
			const yaml_char_t *tag)
{
	unsigned int line = (unsigned int)ev->start_mark.line + 1;
	unsigned int col = (unsigned int)ev->start_mark.column + 1;

	if (anchor) {
		err_at(c, line, col, "anchors (&%s) are not supported", (const char *)anchor);
		return false;
	}
	if (tag) {
		const char *t = (const char *)tag;
		const char *core = "tag:yaml.org,2002:";

		if (!strncmp(t, core, strlen(core)))
			err_at(c, line, col, "tags (!!%s) are not supported", t + strlen(core));
		else
			err_at(c, line, col, "tags (%s) are not supported", t);
		return false;
	}
	return true;
}

/*
 * Build the tree of the single document in text. *root is NULL for an empty
 * stream. Returns 0, -EINVAL (error recorded) or -ENOMEM.
 */
static int tree_build(struct pctx *c, const char *text, size_t len, struct ynode **root)
{
	struct ynode *stack[TREE_MAX_DEPTH];
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned int docs = 0;
	size_t depth = 0;
	bool done = false;
	int ret = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&parser)) {
		c->nomem = true;
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

	while (!done && !ret) {
		struct ynode *n = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			ret = syntax_error(c, &parser, text, len);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				err_at(c, (unsigned int)ev.start_mark.line + 1,
				       (unsigned int)ev.start_mark.column + 1,
				       "only one YAML document is allowed");
				ret = -EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			err_at(c, (unsigned int)ev.start_mark.line + 1,
			       (unsigned int)ev.start_mark.column + 1,
			       "aliases (*%s) are not supported",
			       (const char *)ev.data.alias.anchor);
			ret = -EINVAL;
			break;
		case YAML_SCALAR_EVENT:
			if (!event_plain(c, &ev, ev.data.scalar.anchor, ev.data.scalar.tag)) {
				ret = -EINVAL;
				break;
			}
			n = node_new(c, Y_SCALAR, ev.start_mark);
			if (!n) {
				ret = -ENOMEM;
				break;
			}
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			n->len = ev.data.scalar.length;
			n->str = xstrndup(c, (const char *)ev.data.scalar.value, n->len);
			if (!n->str)
				ret = -ENOMEM;
			break;
		case YAML_MAPPING_START_EVENT:
			if (!event_plain(c, &ev, ev.data.mapping_start.anchor,
					 ev.data.mapping_start.tag)) {
				ret = -EINVAL;
				break;
			}
			n = node_new(c, Y_MAP, ev.start_mark);
			if (!n)
				ret = -ENOMEM;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (!event_plain(c, &ev, ev.data.sequence_start.anchor,
					 ev.data.sequence_start.tag)) {
				ret = -EINVAL;
				break;
			}
			n = node_new(c, Y_SEQ, ev.start_mark);
			if (!n)
				ret = -ENOMEM;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}

		if (n && ret) {
			tree_free(n);
		} else if (n) {
			/* The first node is the root (libyaml gives one per
			 * document); every other one goes into the open container. */
			if (depth == 0 && !*root) {
				*root = n;
			} else if (depth == 0 || node_append(c, stack[depth - 1], n)) {
				tree_free(n);
				n = NULL;
				ret = -ENOMEM;
			}
			if (n && n->kind != Y_SCALAR) {
				if (depth == TREE_MAX_DEPTH) {
					err_node(c, n, "nesting deeper than %d levels",
						 TREE_MAX_DEPTH);
					ret = -EINVAL;
				} else {
					stack[depth++] = n;
				}
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (ret) {
		tree_free(*root);
		*root = NULL;
	}
	return ret;
}

/* ---- node helpers ---- */

static bool is_null(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

/* Scalar text for a message: at most QUOTE_MAX characters, controls as '?'. */
static const char *quote(const struct ynode *n, char *buf, size_t len)
{
	size_t i, max = n->len < QUOTE_MAX ? n->len : QUOTE_MAX;

	if (len < QUOTE_MAX + 4)
		return "";
	for (i = 0; i < max; i++) {
		unsigned char ch = (unsigned char)n->str[i];

		buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (n->len > QUOTE_MAX) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* "a mapping", "a list", "null" or "'text'" */
static const char *describe(const struct ynode *n, char *buf, size_t len)
{
	char q[QUOTE_MAX + 4];

	if (n->kind == Y_MAP)
		snprintf(buf, len, "a mapping");
	else if (n->kind == Y_SEQ)
		snprintf(buf, len, "a list");
	else if (is_null(n))
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "'%s'", quote(n, q, sizeof(q)));
	return buf;
}

/*
 * Check that a section value is a container of the wanted kind. Returns 1
 * if it is, 0 for null (an empty section), -1 after recording an error.
 */
static int want_kind(struct pctx *c, const struct ynode *n, const char *key, enum ykind kind)
{
	char d[QUOTE_MAX + 8];

	if (n->kind == kind)
		return 1;
	if (is_null(n))
		return 0;
	err_node(c, n, "%s: expected %s, got %s", key, kind == Y_MAP ? "a mapping" : "a list",
		 describe(n, d, sizeof(d)));
	return -1;
}

/* A list item that must be a mapping. */
static bool want_item_map(struct pctx *c, const struct ynode *n, const char *what)
{
	char d[QUOTE_MAX + 8];

	if (n->kind == Y_MAP)
		return true;
	err_node(c, n, "%s: expected a mapping, got %s", what, describe(n, d, sizeof(d)));
	return false;
}

/*
 * Match the keys of a mapping against allowed[] (NULL-terminated): vals[i]
 * gets the value of allowed[i], NULL when absent. Unknown, repeated and
 * non-string keys are recorded as errors. `where` completes "unknown key 'x'
 * in service".
 */
static void map_fields(struct pctx *c, const struct ynode *map, const char *where,
		       const char *const allowed[], const struct ynode **vals)
{
	const struct ynode *keys[16] = { NULL };
	size_t i, k, nallowed = 0;
	char d[QUOTE_MAX + 8];

	while (allowed[nallowed])
		nallowed++;
	for (k = 0; k < nallowed; k++)
		vals[k] = NULL;

	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *key = map->kids[i];

		if (key->kind != Y_SCALAR || is_null(key)) {
			err_node(c, key, "keys must be strings, got %s %s",
				 describe(key, d, sizeof(d)), where);
			continue;
		}
		for (k = 0; k < nallowed; k++) {
			if (key->len == strlen(allowed[k]) && !strcmp(key->str, allowed[k]))
				break;
		}
		if (k == nallowed) {
			char list[256] = "";
			size_t j, off = 0;

			for (j = 0; j < nallowed && off < sizeof(list); j++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							j ? ", " : "", allowed[j]);
			err_node(c, key, "unknown key %s %s (allowed: %s)",
				 describe(key, d, sizeof(d)), where, list);
			continue;
		}
		if (keys[k]) {
			err_node(c, key, "duplicate key '%s' %s (first at %u:%u)", allowed[k],
				 where, keys[k]->line, keys[k]->col);
			continue;
		}
		keys[k] = key;
		vals[k] = map->kids[i + 1];
	}
}

/* A scalar that is not null; otherwise record "KEY: expected X, got Y". */
static bool scalar_ok(struct pctx *c, const struct ynode *n, const char *key, const char *expected)
{
	char d[QUOTE_MAX + 8];

	if (n->kind == Y_SCALAR && !is_null(n))
		return true;
	err_node(c, n, "%s: expected %s, got %s", key, expected, describe(n, d, sizeof(d)));
	return false;
}

/*
 * Integer in [min, max]: plain decimal or 0x hex, optional '-'. Out of range
 * is reported with the text as written: "port 70000 out of range (1-65535)".
 */
static bool get_int(struct pctx *c, const struct ynode *n, const char *key, long long min,
		    long long max, long long *out)
{
	char q[QUOTE_MAX + 4];
	unsigned long long v = 0;
	bool neg = false, big = false, hex = false;
	const char *s;
	size_t i = 0;

	if (!scalar_ok(c, n, key, "an integer"))
		return false;
	if (!n->plain) {
		err_node(c, n, "%s: expected an integer, got a quoted string '%s'", key,
			 quote(n, q, sizeof(q)));
		return false;
	}
	s = n->str;
	if (s[i] == '-') {
		neg = true;
		i++;
	}
	if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = true;
		i += 2;
	}
	if (i == n->len)
		goto bad;
	for (; i < n->len; i++) {
		unsigned int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned int)(s[i] - '0');
		else if (hex && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned int)(s[i] - 'a' + 10);
		else if (hex && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned int)(s[i] - 'A' + 10);
		else
			goto bad;
		if (v > (1ull << 40))
			big = true;
		else
			v = v * (hex ? 16 : 10) + d;
	}
	if (big || (neg && v) || (long long)v < min || (long long)v > max) {
		err_node(c, n, "%s %s out of range (%lld-%lld)", key, quote(n, q, sizeof(q)), min,
			 max);
		return false;
	}
	*out = (long long)v;
	return true;
bad:
	err_node(c, n, "%s: expected an integer, got '%s'", key, quote(n, q, sizeof(q)));
	return false;
}

static bool get_u32(struct pctx *c, const struct ynode *n, const char *key, __u32 min, __u32 max,
		    __u32 *out)
{
	long long v;

	if (!get_int(c, n, key, min, max, &v))
		return false;
	*out = (__u32)v;
	return true;
}

static bool get_bool(struct pctx *c, const struct ynode *n, const char *key, bool *out)
{
	char q[QUOTE_MAX + 4];

	if (!scalar_ok(c, n, key, "a boolean (true, false, yes, no)"))
		return false;
	if (!n->plain) {
		err_node(c, n,
			 "%s: expected a boolean (true, false, yes, no), got a quoted string '%s'",
			 key, quote(n, q, sizeof(q)));
		return false;
	}
	if (strlen(n->str) != n->len)
		goto bad;
	if (!strcasecmp(n->str, "true") || !strcasecmp(n->str, "yes")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(n->str, "false") || !strcasecmp(n->str, "no")) {
		*out = false;
		return true;
	}
bad:
	err_node(c, n, "%s: expected a boolean (true, false, yes, no), got '%s'", key,
		 quote(n, q, sizeof(q)));
	return false;
}

/* A non-null scalar; empty text only with allow_empty. */
static bool get_str(struct pctx *c, const struct ynode *n, const char *key, bool allow_empty)
{
	if (!scalar_ok(c, n, key, "a string"))
		return false;
	if (!allow_empty && n->len == 0) {
		err_node(c, n, "%s: must not be empty", key);
		return false;
	}
	return true;
}

/* One of names[] (NULL-terminated), in any case; *out is its index. */
static bool get_enum(struct pctx *c, const struct ynode *n, const char *key,
		     const char *const names[], unsigned int *out)
{
	char q[QUOTE_MAX + 4], list[128] = "";
	size_t off = 0;
	unsigned int i;

	if (!scalar_ok(c, n, key, "a string"))
		return false;
	for (i = 0; names[i]; i++) {
		if (n->len == strlen(names[i]) && !strcasecmp(n->str, names[i])) {
			*out = i;
			return true;
		}
	}
	for (i = 0; names[i] && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
					names[i]);
	err_node(c, n, "%s: invalid value '%s' (allowed: %s)", key, quote(n, q, sizeof(q)), list);
	return false;
}

static bool get_addr(struct pctx *c, const struct ynode *n, const char *key, __u8 *family,
		     struct vipxdp_addr *addr)
{
	char q[QUOTE_MAX + 4];

	if (!scalar_ok(c, n, key, "an IP address"))
		return false;
	if (strlen(n->str) != n->len || vipxdp_addr_parse(n->str, family, addr)) {
		err_node(c, n, "%s: invalid IP address '%s'", key, quote(n, q, sizeof(q)));
		return false;
	}
	return true;
}

/* "2s", "1500ms", "1.5s" */
static const char *ms_str(__u32 ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
	return buf;
}

/* What would break an HTTP request line or header. */
static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* Duration "NUMBER[.FRACTION]UNIT", UNIT ms or s, a whole number of ms. */
static bool get_duration(struct pctx *c, const struct ynode *n, const char *key, __u32 min_ms,
			 __u32 max_ms, __u32 *out)
{
	char q[QUOTE_MAX + 4], a[16], b[16];
	unsigned long long whole = 0, ms;
	const char *s, *frac = NULL, *unit;
	size_t nfrac = 0, i;
	unsigned int scale;

	if (!scalar_ok(c, n, key, "a duration"))
		return false;
	s = n->str;
	for (unit = s; *unit >= '0' && *unit <= '9'; unit++) {
		if (whole < 1000000000000ull)
			whole = whole * 10 + (unsigned long long)(*unit - '0');
	}
	if (unit == s)
		goto bad;
	if (*unit == '.') {
		frac = ++unit;
		while (*unit >= '0' && *unit <= '9')
			unit++;
		nfrac = (size_t)(unit - frac);
		if (!nfrac)
			goto bad;
	}
	if (!strcmp(unit, "ms"))
		scale = 1;
	else if (!strcmp(unit, "s"))
		scale = 1000;
	else
		goto bad;
	if ((size_t)(unit - s) + strlen(unit) != n->len)
		goto bad;

	ms = whole * scale;
	for (i = 0; i < nfrac; i++) {
		unsigned int d = (unsigned int)(frac[i] - '0');

		scale /= 10;
		if (!scale && d) {
			err_node(c, n, "%s: duration '%s' is not a whole number of milliseconds",
				 key, quote(n, q, sizeof(q)));
			return false;
		}
		ms += (unsigned long long)d * scale;
	}
	if (ms < min_ms || ms > max_ms) {
		err_node(c, n, "%s %s out of range (%s-%s)", key, quote(n, q, sizeof(q)),
			 ms_str(min_ms, a, sizeof(a)), ms_str(max_ms, b, sizeof(b)));
		return false;
	}
	*out = (__u32)ms;
	return true;
bad:
	err_node(c, n, "%s: invalid duration '%s' (expected a number and a unit: 500ms, 1s, 1.5s)",
		 key, quote(n, q, sizeof(q)));
	return false;
}

/* Three decimal digits at s, 100-599. */
static bool status_code(const char *s, unsigned int *code)
{
	unsigned int i, v = 0;

	for (i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*code = v;
	return v >= 100 && v <= 599;
}

/* Status "200" or range "200-399", codes 100-599. */
static bool get_expect(struct pctx *c, const struct ynode *n, const char *key, __u16 *lo, __u16 *hi)
{
	char q[QUOTE_MAX + 4];
	unsigned int a, b;

	if (!scalar_ok(c, n, key, "a status code or range"))
		return false;
	if (n->len == 3 && status_code(n->str, &a)) {
		b = a;
	} else if (n->len == 7 && n->str[3] == '-' && status_code(n->str, &a) &&
		   status_code(n->str + 4, &b) && a <= b) {
		/* range */
	} else {
		err_node(c, n, "%s: invalid status '%s' (expected CODE or MIN-MAX, codes 100-599)",
			 key, quote(n, q, sizeof(q)));
		return false;
	}
	*lo = (__u16)a;
	*hi = (__u16)b;
	return true;
}

/* ---- health ---- */

static const char *const health_types[] = { "tcp", "http", "udp", "none", NULL };

static void health_defaults(struct vipxdp_policy_health *h)
{
	memset(h, 0, sizeof(*h));
	h->type = VIPXDP_HEALTH_TCP;
	h->expect_min = VIPXDP_HEALTH_EXPECT_MIN;
	h->expect_max = VIPXDP_HEALTH_EXPECT_MAX;
	h->interval_ms = VIPXDP_HEALTH_INTERVAL_MS;
	h->timeout_ms = VIPXDP_HEALTH_TIMEOUT_MS;
	h->rise = VIPXDP_HEALTH_RISE;
	h->fall = VIPXDP_HEALTH_FALL;
}

static void health_release(struct vipxdp_policy_health *h)
{
	free(h->path);
	free(h->host);
	free(h->payload);
	h->path = h->host = h->payload = NULL;
}

/* Replace *dst (freed) by a copy of len bytes of s. */
static void set_string(struct pctx *c, char **dst, const char *s, size_t len)
{
	free(*dst);
	*dst = xstrndup(c, s, len);
}

/* dst = copy of src, strings duplicated. */
static void health_copy(struct pctx *c, struct vipxdp_policy_health *dst,
			const struct vipxdp_policy_health *src)
{
	*dst = *src;
	dst->path = dst->host = dst->payload = NULL;
	if (src->path)
		set_string(c, &dst->path, src->path, strlen(src->path));
	if (src->host)
		set_string(c, &dst->host, src->host, strlen(src->host));
	if (src->payload)
		set_string(c, &dst->payload, src->payload, src->payload_len);
}

enum {
	H_TYPE,
	H_PATH,
	H_EXPECT,
	H_HOST,
	H_PORT,
	H_INTERVAL,
	H_TIMEOUT,
	H_RISE,
	H_FALL,
	H_SOURCE,
	H_PAYLOAD,
	H_NKEYS,
};

static const char *const health_keys[] = { "type", "path",     "expect",  "host",
					   "port", "interval", "timeout", "rise",
					   "fall", "source",   "payload", NULL };

/*
 * Apply a health mapping on top of h (already holding the inherited
 * settings). *timeout_set tells whether a timeout was given on the way;
 * without one the timeout is 1s or the interval when shorter. vip_family
 * and vip_str describe the VIP (family 0: unknown, skip source checks).
 */
static void parse_health(struct pctx *c, const struct ynode *n, struct vipxdp_policy_health *h,
			 bool *timeout_set, __u8 vip_family, const char *vip_str)
{
	const struct ynode *v[H_NKEYS];
	char a[VIPXDP_ADDR_STRLEN], t1[16], t2[16];
	unsigned int type;
	bool type_ok = true;
	long long num;
	__u8 fam;
	struct vipxdp_addr addr;
	int k;

	k = want_kind(c, n, "health", Y_MAP);
	if (k < 0)
		return;
	h->configured = true;
	if (k == 0)
		return;
	map_fields(c, n, "in health", health_keys, v);

	if (v[H_TYPE]) {
		type_ok = get_enum(c, v[H_TYPE], "type", health_types, &type);
		if (type_ok)
			h->type = (enum vipxdp_health_type)type;
	}
	if (v[H_PATH] && get_str(c, v[H_PATH], "path", false)) {
		if (v[H_PATH]->str[0] != '/' || strlen(v[H_PATH]->str) != v[H_PATH]->len)
			err_node(c, v[H_PATH], "path: must start with '/'");
		else if (has_space_or_ctl(v[H_PATH]->str))
			err_node(c, v[H_PATH],
				 "path: no spaces or control characters (URL-encode them)");
		else
			set_string(c, &h->path, v[H_PATH]->str, v[H_PATH]->len);
	}
	if (v[H_EXPECT])
		get_expect(c, v[H_EXPECT], "expect", &h->expect_min, &h->expect_max);
	if (v[H_HOST] && get_str(c, v[H_HOST], "host", false)) {
		if (has_space_or_ctl(v[H_HOST]->str) || strlen(v[H_HOST]->str) != v[H_HOST]->len)
			err_node(c, v[H_HOST], "host: no spaces or control characters");
		else
			set_string(c, &h->host, v[H_HOST]->str, v[H_HOST]->len);
	}
	if (v[H_PORT] && get_int(c, v[H_PORT], "port", 1, 65535, &num))
		h->port = (__u16)num;
	if (v[H_INTERVAL])
		get_duration(c, v[H_INTERVAL], "interval", VIPXDP_HEALTH_INTERVAL_MIN_MS,
			     VIPXDP_HEALTH_DURATION_MAX_MS, &h->interval_ms);
	if (v[H_TIMEOUT] && get_duration(c, v[H_TIMEOUT], "timeout", VIPXDP_HEALTH_TIMEOUT_MIN_MS,
					 VIPXDP_HEALTH_DURATION_MAX_MS, &h->timeout_ms))
		*timeout_set = true;
	if (v[H_RISE])
		get_u32(c, v[H_RISE], "rise", 1, VIPXDP_HEALTH_COUNT_MAX, &h->rise);
	if (v[H_FALL])
		get_u32(c, v[H_FALL], "fall", 1, VIPXDP_HEALTH_COUNT_MAX, &h->fall);
	if (v[H_SOURCE] && get_addr(c, v[H_SOURCE], "source", &fam, &addr)) {
		if (vip_family && fam != vip_family)
			err_node(c, v[H_SOURCE], "source %s is %s but VIP %s is %s",
				 vipxdp_addr_str(fam, &addr, a, sizeof(a)), vipxdp_family_str(fam),
				 vip_str, vipxdp_family_str(vip_family));
		h->source_family = fam;
		h->source = addr;
	}
	if (v[H_PAYLOAD] && get_str(c, v[H_PAYLOAD], "payload", true)) {
		set_string(c, &h->payload, v[H_PAYLOAD]->str, v[H_PAYLOAD]->len);
		h->payload_len = v[H_PAYLOAD]->len;
	}

	/* Keys written here must suit the type in force here. */
	for (k = H_PATH; k <= H_HOST && type_ok; k++) {
		if (v[k] && h->type != VIPXDP_HEALTH_HTTP)
			err_node(c, v[k], "%s: only valid with type http (type is %s)",
				 health_keys[k], health_types[h->type]);
	}
	if (v[H_PAYLOAD] && type_ok && h->type != VIPXDP_HEALTH_UDP)
		err_node(c, v[H_PAYLOAD], "payload: only valid with type udp (type is %s)",
			 health_types[h->type]);

	if (!*timeout_set)
		h->timeout_ms = h->interval_ms < VIPXDP_HEALTH_TIMEOUT_MS
					? h->interval_ms
					: VIPXDP_HEALTH_TIMEOUT_MS;
	else if ((v[H_TIMEOUT] || v[H_INTERVAL]) && h->timeout_ms > h->interval_ms)
		err_node(c, v[H_TIMEOUT] ? v[H_TIMEOUT] : v[H_INTERVAL],
			 "timeout %s is longer than interval %s",
			 ms_str(h->timeout_ms, t1, sizeof(t1)),
			 ms_str(h->interval_ms, t2, sizeof(t2)));
}

/* ---- duplicates ---- */

struct dkey {
	__u8 k[24];
	size_t idx;
};

static int dkey_cmp(const void *a, const void *b)
{
	const struct dkey *x = a, *y = b;
	int r = memcmp(x->k, y->k, sizeof(x->k));

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * keys[0..n) hold the keys of the valid items (idx: position in the list of
 * nitems). Fills first[i]: the position of the first item with item i's key
 * (i itself when unique or first, and for items without a key).
 */
static void find_dups(struct dkey *keys, size_t n, size_t *first, size_t nitems)
{
	size_t i, run = 0;

	for (i = 0; i < nitems; i++)
		first[i] = i;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), dkey_cmp);
	for (i = 1; i < n; i++) {
		if (memcmp(keys[i].k, keys[run].k, sizeof(keys[i].k)))
			run = i;
		else
			first[keys[i].idx] = keys[run].idx;
	}
}

/* ---- schema ---- */

enum { B_ADDRESS, B_PORT, B_WEIGHT, B_HEALTH, B_NKEYS };
static const char *const backend_keys[] = { "address", "port", "weight", "health", NULL };

/* One backend of svc. Returns true when its address and port are valid. */
static bool parse_backend(struct pctx *c, const struct ynode *n, struct vipxdp_policy_service *svc,
			  bool svc_timeout_set, bool svc_valid, struct vipxdp_policy_backend *be)
{
	const struct ynode *v[B_NKEYS];
	char a[VIPXDP_ADDR_STRLEN], sv[VIPXDP_SVC_STRLEN];
	const struct vipxdp_endpoint *vip = &svc->id.ep;
	bool ok = true, timeout_set = svc_timeout_set;
	long long num;

	be->ep.port = vip->port;
	be->weight = VIPXDP_POLICY_WEIGHT_DEFAULT;
	be->loc.line = n->line;
	be->loc.col = n->col;
	health_copy(c, &be->health, &svc->health);
	if (!want_item_map(c, n, "backend"))
		return false;
	map_fields(c, n, "in backend", backend_keys, v);

	if (!v[B_ADDRESS]) {
		err_node(c, n, "missing required key 'address' in backend");
		ok = false;
	} else if (!get_addr(c, v[B_ADDRESS], "address", &be->ep.family, &be->ep.addr)) {
		ok = false;
	} else if (vip->family && be->ep.family != vip->family) {
		err_node(
			c, v[B_ADDRESS],
			"mixed address families inside one service: backend %s is %s, VIP %s is %s",
			vipxdp_addr_str(be->ep.family, &be->ep.addr, a, sizeof(a)),
			vipxdp_family_str(be->ep.family),
			vipxdp_addr_str(vip->family, &vip->addr, sv, sizeof(sv)),
			vipxdp_family_str(vip->family));
		ok = false;
	}
	if (v[B_PORT]) {
		if (get_int(c, v[B_PORT], "port", 1, 65535, &num))
			be->ep.port = (__u16)num;
		else
			ok = false;
	} else if (!svc_valid) {
		ok = false; /* the default port is unknown */
	}
	if (v[B_WEIGHT] && get_int(c, v[B_WEIGHT], "weight", 0, VIPXDP_POLICY_WEIGHT_MAX, &num))
		be->weight = (__u32)num;
	if (v[B_HEALTH])
		parse_health(c, v[B_HEALTH], &be->health, &timeout_set, vip->family,
			     vipxdp_addr_str(vip->family, &vip->addr, a, sizeof(a)));

	if (ok && svc_valid && !vipxdp_endpoint_cmp(&be->ep, vip)) {
		err_node(c, v[B_ADDRESS], "backend %s is the service's own address",
			 vipxdp_endpoint_str(&be->ep, sv, sizeof(sv)));
		ok = false;
	}
	return ok;
}

static void check_backend_dups(struct pctx *c, struct vipxdp_policy_service *svc, const bool *valid)
{
	char e[VIPXDP_ENDPOINT_STRLEN], s[VIPXDP_SVC_STRLEN];
	size_t i, nk = 0, *first;
	struct dkey *keys;

	keys = xcalloc(c, svc->n_backends, sizeof(*keys));
	first = xcalloc(c, svc->n_backends, sizeof(*first));
	if (!keys || !first)
		goto out;
	for (i = 0; i < svc->n_backends; i++) {
		const struct vipxdp_endpoint *ep = &svc->backends[i].ep;

		if (!valid[i])
			continue;
		keys[nk].k[0] = ep->family;
		memcpy(&keys[nk].k[1], ep->addr.b, 16);
		keys[nk].k[17] = (__u8)(ep->port >> 8);
		keys[nk].k[18] = (__u8)ep->port;
		keys[nk].idx = i;
		nk++;
	}
	find_dups(keys, nk, first, svc->n_backends);
	for (i = 0; i < svc->n_backends; i++) {
		const struct vipxdp_policy_backend *be = &svc->backends[i];
		const struct vipxdp_policy_backend *f = &svc->backends[first[i]];

		if (first[i] == i)
			continue;
		err_at(c, be->loc.line, be->loc.col,
		       "duplicate backend %s in service %s (first defined at %u:%u)",
		       vipxdp_endpoint_str(&be->ep, e, sizeof(e)),
		       vipxdp_svc_id_str(&svc->id, s, sizeof(s)), f->loc.line, f->loc.col);
	}
out:
	free(keys);
	free(first);
}

enum { S_PROTOCOL, S_PORT, S_HASH, S_BACKENDS, S_HEALTH, S_ALL_DOWN, S_NAT, S_SNAT, S_NKEYS };
static const char *const service_keys[] = { "protocol", "port",		"hash",
					    "backends", "health",	"all_down",
					    "nat",	"snat_address", NULL };
static const char *const nat_modes[] = { "dnat", "fullnat", NULL };
static const char *const all_down_modes[] = { "serve-all", "drop", NULL };
static const char *const protocols[] = { "tcp", "udp", NULL };
static const char *const hash_modes[] = { "5tuple", "source-ip", NULL };

/* One service of a VIP (vip_family 0: the VIP address is invalid). */
static bool parse_service(struct pctx *c, const struct ynode *n, __u8 vip_family,
			  const struct vipxdp_addr *vip_addr, struct vipxdp_policy_service *svc)
{
	const struct ynode *v[S_NKEYS];
	char a[VIPXDP_ADDR_STRLEN];
	bool ok = true, timeout_set = false, *valid = NULL;
	unsigned int e;
	long long num;
	size_t i;
	int k;

	svc->id.ep.family = vip_family;
	svc->id.ep.addr = *vip_addr;
	svc->loc.line = n->line;
	svc->loc.col = n->col;
	health_defaults(&svc->health);
	if (!want_item_map(c, n, "service"))
		return false;
	map_fields(c, n, "in service", service_keys, v);

	if (!v[S_PROTOCOL]) {
		err_node(c, n, "missing required key 'protocol' in service");
		ok = false;
	} else if (get_enum(c, v[S_PROTOCOL], "protocol", protocols, &e)) {
		svc->id.proto = e == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	} else {
		ok = false;
	}
	if (!v[S_PORT]) {
		err_node(c, n, "missing required key 'port' in service");
		ok = false;
	} else if (get_int(c, v[S_PORT], "port", 1, 65535, &num)) {
		svc->id.ep.port = (__u16)num;
	} else {
		ok = false;
	}
	if (v[S_HASH] && get_enum(c, v[S_HASH], "hash", hash_modes, &e))
		svc->hash = (enum vipxdp_hash_mode)e;
	if (v[S_ALL_DOWN] && get_enum(c, v[S_ALL_DOWN], "all_down", all_down_modes, &e))
		svc->all_down = (enum vipxdp_all_down)e;
	if (v[S_NAT] && get_enum(c, v[S_NAT], "nat", nat_modes, &e))
		svc->nat = (enum vipxdp_nat_mode)e;
	if (v[S_SNAT] && get_addr(c, v[S_SNAT], "snat_address", &svc->snat_family, &svc->snat)) {
		if (vip_family && svc->snat_family != vip_family) {
			err_node(c, v[S_SNAT], "snat_address %s is %s but the VIP is %s",
				 vipxdp_addr_str(svc->snat_family, &svc->snat, a, sizeof(a)),
				 vipxdp_family_str(svc->snat_family),
				 vipxdp_family_str(vip_family));
			ok = false;
		}
	}
	if (svc->nat == VIPXDP_NAT_FULLNAT && !v[S_SNAT]) {
		err_node(c, n, "nat: fullnat needs snat_address (the source address backends see)");
		ok = false;
	} else if (svc->nat != VIPXDP_NAT_FULLNAT && v[S_SNAT]) {
		err_node(c, v[S_SNAT], "snat_address is only used with nat: fullnat");
		ok = false;
	}
	if (v[S_HEALTH])
		parse_health(c, v[S_HEALTH], &svc->health, &timeout_set, vip_family,
			     vipxdp_addr_str(vip_family, vip_addr, a, sizeof(a)));

	if (!v[S_BACKENDS])
		return ok;
	k = want_kind(c, v[S_BACKENDS], "backends", Y_SEQ);
	if (k <= 0)
		return ok;
	svc->backends = xcalloc(c, v[S_BACKENDS]->n, sizeof(*svc->backends));
	valid = xcalloc(c, v[S_BACKENDS]->n, sizeof(*valid));
	if (!svc->backends || !valid)
		goto out;
	svc->n_backends = v[S_BACKENDS]->n;
	for (i = 0; i < svc->n_backends; i++)
		valid[i] = parse_backend(c, v[S_BACKENDS]->kids[i], svc, timeout_set,
					 ok && vip_family, &svc->backends[i]);
	check_backend_dups(c, svc, valid);
out:
	free(valid);
	return ok;
}

enum { V_ADDRESS, V_NAME, V_ARP, V_SERVICES, V_PORTFWD, V_EIP, V_QOS, V_NKEYS };
static const char *const vip_keys[] = { "address",	 "name",       "arp", "services",
					"port_forwards", "elastic_ip", "qos", NULL };

enum { Q_PPS, Q_BPS, Q_BURST, Q_NKEYS };
static const char *const qos_keys[] = { "pps", "bps", "burst", NULL };

/* qos: {pps: N, bps: N, burst: DURATION} under a VIP. */
static void parse_qos(struct pctx *c, const struct ynode *n, struct vipxdp_policy_vip *vip)
{
	const struct ynode *v[Q_NKEYS];
	long long x;
	bool ok = true;

	vip->qos_burst_ms = VIPXDP_POLICY_BURST_MS;
	if (is_null(n)) {
		err_node(c, n, "qos: expected a mapping with pps and/or bps, got null");
		return;
	}
	if (want_kind(c, n, "qos", Y_MAP) <= 0)
		return;
	map_fields(c, n, "in qos", qos_keys, v);
	if (!v[Q_PPS] && !v[Q_BPS]) {
		err_node(c, n, "qos: needs pps (packets/s) or bps (bits/s), or both");
		return;
	}
	if (v[Q_PPS]) {
		if (get_int(c, v[Q_PPS], "pps", 1, (long long)VIPXDP_QOS_PPS_MAX, &x))
			vip->qos_pps = (__u64)x;
		else
			ok = false;
	}
	if (v[Q_BPS]) {
		if (get_int(c, v[Q_BPS], "bps", (long long)VIPXDP_QOS_BPS_MIN,
			    (long long)VIPXDP_QOS_BPS_MAX, &x))
			vip->qos_bps = (__u64)x;
		else
			ok = false;
	}
	if (v[Q_BURST] &&
	    !get_duration(c, v[Q_BURST], "burst", 1, VIPXDP_QOS_BURST_MAX_MS, &vip->qos_burst_ms))
		ok = false;
	vip->has_qos = ok;
}

/* "N" or "N-M" (1-65535, N <= M, at most VIPXDP_PORTFWD_RANGE_MAX ports). */
static bool get_port_range(struct pctx *c, const struct ynode *n, const char *key, __u16 *lo,
			   __u16 *hi)
{
	char q[QUOTE_MAX + 4];
	unsigned long a, b;
	char *end;

	if (!scalar_ok(c, n, key, "a port or a range N-M"))
		return false;
	errno = 0;
	a = strtoul(n->str, &end, 10);
	b = a;
	if (end != n->str && *end == '-')
		b = strtoul(end + 1, &end, 10);
	if (errno || end == n->str || *end || !isdigit((unsigned char)n->str[0])) {
		err_node(c, n, "%s: expected a port or a range N-M, got '%s'", key,
			 quote(n, q, sizeof(q)));
		return false;
	}
	if (a < 1 || b > 65535 || a > b) {
		err_node(c, n, "%s %s out of range (1-65535, N <= M)", key, quote(n, q, sizeof(q)));
		return false;
	}
	if (b - a + 1 > VIPXDP_PORTFWD_RANGE_MAX) {
		err_node(c, n, "%s %s spans %lu ports, more than %u", key, quote(n, q, sizeof(q)),
			 b - a + 1, VIPXDP_PORTFWD_RANGE_MAX);
		return false;
	}
	*lo = (__u16)a;
	*hi = (__u16)b;
	return true;
}

enum { F_PROTOCOL, F_PORT, F_TO, F_TO_PORT, F_NKEYS };
static const char *const portfwd_keys[] = { "protocol", "port", "to", "to_port", NULL };

/*
 * One port_forwards entry, appended to vip->services as one single-backend
 * service per port (marked port_forward). Returns false on an error.
 */
static bool parse_port_forward(struct pctx *c, const struct ynode *n, struct vipxdp_policy_vip *vip,
			       bool vip_ok)
{
	const struct ynode *v[F_NKEYS];
	struct vipxdp_policy_service *svcs;
	char a[VIPXDP_ADDR_STRLEN];
	__u16 lo = 0, hi = 0, tlo = 0, thi = 0;
	struct vipxdp_endpoint to = {};
	unsigned int e;
	__u8 proto = 0;
	bool ok = true;
	size_t k;

	if (!want_item_map(c, n, "port forward"))
		return false;
	map_fields(c, n, "in port forward", portfwd_keys, v);
	if (!v[F_PROTOCOL]) {
		err_node(c, n, "missing required key 'protocol' in port forward");
		ok = false;
	} else if (get_enum(c, v[F_PROTOCOL], "protocol", protocols, &e)) {
		proto = e == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	} else {
		ok = false;
	}
	if (!v[F_PORT]) {
		err_node(c, n, "missing required key 'port' in port forward");
		ok = false;
	} else if (!get_port_range(c, v[F_PORT], "port", &lo, &hi)) {
		ok = false;
	}
	if (!v[F_TO]) {
		err_node(c, n, "missing required key 'to' in port forward");
		ok = false;
	} else if (!get_addr(c, v[F_TO], "to", &to.family, &to.addr)) {
		ok = false;
	} else if (vip_ok && to.family != vip->family) {
		err_node(c, v[F_TO], "to %s is %s but the VIP is %s",
			 vipxdp_addr_str(to.family, &to.addr, a, sizeof(a)),
			 vipxdp_family_str(to.family), vipxdp_family_str(vip->family));
		ok = false;
	}
	tlo = lo;
	thi = hi;
	if (v[F_TO_PORT]) {
		if (!get_port_range(c, v[F_TO_PORT], "to_port", &tlo, &thi))
			ok = false;
		else if (ok && thi - tlo != hi - lo && thi != tlo) {
			err_node(
				c, v[F_TO_PORT],
				"to_port spans %u ports but port spans %u (give a range of the same length, or one port)",
				thi - tlo + 1, hi - lo + 1);
			ok = false;
		}
	}
	if (!ok || !vip_ok)
		return false;
	svcs = realloc(vip->services, (vip->n_services + (hi - lo + 1)) * sizeof(*svcs));
	if (!svcs) {
		c->nomem = true;
		return false;
	}
	vip->services = svcs;
	for (k = 0; k <= (size_t)(hi - lo); k++) {
		struct vipxdp_policy_service *svc = &vip->services[vip->n_services++];

		memset(svc, 0, sizeof(*svc));
		svc->id.ep.family = vip->family;
		svc->id.ep.addr = vip->addr;
		svc->id.ep.port = (__u16)(lo + k);
		svc->id.proto = proto;
		svc->port_forward = true;
		svc->loc.line = n->line;
		svc->loc.col = n->col;
		health_defaults(&svc->health);
		svc->health.type = VIPXDP_HEALTH_NONE;
		svc->backends = xcalloc(c, 1, sizeof(*svc->backends));
		if (!svc->backends)
			return false;
		svc->n_backends = 1;
		svc->backends[0].ep = to;
		svc->backends[0].ep.port = (__u16)(thi == tlo ? tlo : tlo + k);
		svc->backends[0].weight = VIPXDP_POLICY_WEIGHT_DEFAULT;
		svc->backends[0].health = svc->health;
		svc->backends[0].loc = svc->loc;
	}
	return true;
}

static void check_service_dups(struct pctx *c, struct vipxdp_policy_vip *vip, const bool *valid)
{
	char s[VIPXDP_SVC_STRLEN];
	size_t i, nk = 0, *first;
	struct dkey *keys;

	keys = xcalloc(c, vip->n_services, sizeof(*keys));
	first = xcalloc(c, vip->n_services, sizeof(*first));
	if (!keys || !first)
		goto out;
	for (i = 0; i < vip->n_services; i++) {
		const struct vipxdp_svc_id *id = &vip->services[i].id;

		if (!valid[i])
			continue;
		keys[nk].k[0] = id->proto;
		keys[nk].k[1] = (__u8)(id->ep.port >> 8);
		keys[nk].k[2] = (__u8)id->ep.port;
		keys[nk].idx = i;
		nk++;
	}
	find_dups(keys, nk, first, vip->n_services);
	for (i = 0; i < vip->n_services; i++) {
		const struct vipxdp_policy_service *svc = &vip->services[i];
		const struct vipxdp_policy_service *f = &vip->services[first[i]];

		if (first[i] == i)
			continue;
		if (!svc->port_forward && !f->port_forward)
			err_at(c, svc->loc.line, svc->loc.col,
			       "duplicate service %s (first defined at %u:%u)",
			       vipxdp_svc_id_str(&svc->id, s, sizeof(s)), f->loc.line, f->loc.col);
		else
			err_at(c, svc->loc.line, svc->loc.col,
			       "port conflict: %s of this %s is also used by the %s at %u:%u",
			       vipxdp_svc_id_str(&svc->id, s, sizeof(s)),
			       svc->port_forward ? "port forward" : "service",
			       f->port_forward ? "port forward" : "service", f->loc.line,
			       f->loc.col);
	}
out:
	free(keys);
	free(first);
}

/* One VIP. Returns true when its address is valid. */
static bool parse_vip(struct pctx *c, const struct ynode *n, struct vipxdp_policy_vip *vip)
{
	const struct ynode *v[V_NKEYS];
	char q[QUOTE_MAX + 4];
	bool ok = true, *valid = NULL;
	size_t i;

	vip->arp = true;
	vip->loc.line = n->line;
	vip->loc.col = n->col;
	if (!want_item_map(c, n, "VIP"))
		return false;
	map_fields(c, n, "in VIP", vip_keys, v);

	if (!v[V_ADDRESS]) {
		err_node(c, n, "missing required key 'address' in VIP");
		ok = false;
	} else if (!get_addr(c, v[V_ADDRESS], "address", &vip->family, &vip->addr)) {
		ok = false;
	}
	if (v[V_NAME] && get_str(c, v[V_NAME], "name", false)) {
		if (v[V_NAME]->len >= VIPXDP_NAME_LEN || strlen(v[V_NAME]->str) != v[V_NAME]->len)
			err_node(c, v[V_NAME], "name '%s' is longer than %d bytes",
				 quote(v[V_NAME], q, sizeof(q)), VIPXDP_NAME_LEN - 1);
		else
			vip->name = xstrndup(c, v[V_NAME]->str, v[V_NAME]->len);
	}
	if (v[V_ARP])
		get_bool(c, v[V_ARP], "arp", &vip->arp);
	if (v[V_EIP]) {
		__u8 fam;
		char a[VIPXDP_ADDR_STRLEN];

		if (get_addr(c, v[V_EIP], "elastic_ip", &fam, &vip->eip)) {
			if (ok && fam != vip->family)
				err_node(c, v[V_EIP], "elastic_ip %s is %s but the VIP is %s",
					 vipxdp_addr_str(fam, &vip->eip, a, sizeof(a)),
					 vipxdp_family_str(fam), vipxdp_family_str(vip->family));
			else if (v[V_SERVICES] || v[V_PORTFWD])
				err_node(
					c, v[V_EIP],
					"elastic_ip takes every port of the VIP; it cannot also have %s (at %u:%u)",
					v[V_SERVICES] ? "services" : "port_forwards",
					(v[V_SERVICES] ? v[V_SERVICES] : v[V_PORTFWD])->line,
					(v[V_SERVICES] ? v[V_SERVICES] : v[V_PORTFWD])->col);
			else
				vip->has_eip = true;
		}
	}
	if (v[V_QOS])
		parse_qos(c, v[V_QOS], vip);

	if (!v[V_SERVICES] || want_kind(c, v[V_SERVICES], "services", Y_SEQ) <= 0)
		goto out_forwards;
	vip->services = xcalloc(c, v[V_SERVICES]->n, sizeof(*vip->services));
	valid = xcalloc(c, v[V_SERVICES]->n, sizeof(*valid));
	if (!vip->services || !valid)
		goto out;
	vip->n_services = v[V_SERVICES]->n;
	for (i = 0; i < vip->n_services; i++)
		valid[i] = parse_service(c, v[V_SERVICES]->kids[i], ok ? vip->family : 0,
					 &vip->addr, &vip->services[i]);
out_forwards:
	if (v[V_PORTFWD] && want_kind(c, v[V_PORTFWD], "port_forwards", Y_SEQ) > 0) {
		for (i = 0; i < v[V_PORTFWD]->n; i++) {
			size_t before = vip->n_services;
			bool *nv;

			parse_port_forward(c, v[V_PORTFWD]->kids[i], vip, ok);
			nv = realloc(valid,
				     (vip->n_services ? vip->n_services : 1) * sizeof(*valid));
			if (!nv) {
				c->nomem = true;
				break;
			}
			valid = nv;
			for (size_t k = before; k < vip->n_services; k++)
				valid[k] = true;
		}
	}
	if (valid)
		check_service_dups(c, vip, valid);
out:
	free(valid);
	return ok;
}

static void parse_vips(struct pctx *c, const struct ynode *n, struct vipxdp_policy *p)
{
	char a[VIPXDP_ADDR_STRLEN];
	size_t i, nk = 0, *first = NULL;
	struct dkey *keys = NULL;
	bool *valid = NULL;

	if (want_kind(c, n, "vips", Y_SEQ) <= 0)
		return;
	p->vips = xcalloc(c, n->n, sizeof(*p->vips));
	valid = xcalloc(c, n->n, sizeof(*valid));
	keys = xcalloc(c, n->n, sizeof(*keys));
	first = xcalloc(c, n->n, sizeof(*first));
	if (!p->vips || !valid || !keys || !first)
		goto out;
	p->n_vips = n->n;
	for (i = 0; i < p->n_vips; i++) {
		struct vipxdp_policy_vip *vip = &p->vips[i];

		valid[i] = parse_vip(c, n->kids[i], vip);
		if (!valid[i])
			continue;
		keys[nk].k[0] = vip->family;
		memcpy(&keys[nk].k[1], vip->addr.b, 16);
		keys[nk].idx = i;
		nk++;
	}
	find_dups(keys, nk, first, p->n_vips);
	/* An elastic IP's private address belongs to one VIP, and is no VIP. */
	for (i = 0; i < p->n_vips; i++) {
		const struct vipxdp_policy_vip *vi = &p->vips[i];

		if (!vi->has_eip)
			continue;
		for (size_t j = 0; j < p->n_vips; j++) {
			const struct vipxdp_policy_vip *vj = &p->vips[j];

			if (j != i && vj->family == vi->family &&
			    !memcmp(&vj->addr, &vi->eip, sizeof(vi->eip))) {
				err_at(c, vi->loc.line, vi->loc.col,
				       "elastic_ip %s is itself a VIP (at %u:%u)",
				       vipxdp_addr_str(vi->family, &vi->eip, a, sizeof(a)),
				       vj->loc.line, vj->loc.col);
				break;
			}
			if (j < i && vj->has_eip && vj->family == vi->family &&
			    !memcmp(&vj->eip, &vi->eip, sizeof(vi->eip))) {
				err_at(c, vi->loc.line, vi->loc.col,
				       "elastic_ip %s is already the elastic IP of the VIP at %u:%u",
				       vipxdp_addr_str(vi->family, &vi->eip, a, sizeof(a)),
				       vj->loc.line, vj->loc.col);
				break;
			}
		}
	}
	for (i = 0; i < p->n_vips; i++) {
		const struct vipxdp_policy_vip *vip = &p->vips[i], *f = &p->vips[first[i]];

		if (first[i] != i)
			err_at(c, vip->loc.line, vip->loc.col,
			       "duplicate VIP %s (first defined at %u:%u)",
			       vipxdp_addr_str(vip->family, &vip->addr, a, sizeof(a)), f->loc.line,
			       f->loc.col);
	}
out:
	free(valid);
	free(keys);
	free(first);
}

enum { I_NAME, I_MODE, I_NKEYS };
static const char *const iface_keys[] = { "name", "mode", NULL };
static const char *const iface_modes[] = { "auto", "native", "generic", NULL };

static bool parse_iface(struct pctx *c, const struct ynode *n, struct vipxdp_policy_iface *ifc)
{
	const struct ynode *v[I_NKEYS];
	char q[QUOTE_MAX + 4];
	unsigned int mode;
	size_t i;

	ifc->loc.line = n->line;
	ifc->loc.col = n->col;
	if (!want_item_map(c, n, "interface"))
		return false;
	map_fields(c, n, "in interface", iface_keys, v);
	if (v[I_MODE] && get_enum(c, v[I_MODE], "mode", iface_modes, &mode))
		ifc->mode = (enum vipxdp_iface_mode)mode;
	if (!v[I_NAME]) {
		err_node(c, n, "missing required key 'name' in interface");
		return false;
	}
	if (!get_str(c, v[I_NAME], "name", false))
		return false;
	if (v[I_NAME]->len >= IFNAMSIZ) {
		err_node(c, v[I_NAME], "interface name '%s' is longer than %d characters",
			 quote(v[I_NAME], q, sizeof(q)), IFNAMSIZ - 1);
		return false;
	}
	for (i = 0; i < v[I_NAME]->len; i++) {
		unsigned char ch = (unsigned char)v[I_NAME]->str[i];

		if (ch <= ' ' || ch == 0x7f || ch == '/' || ch == ':')
			break;
	}
	if (i < v[I_NAME]->len || !strcmp(v[I_NAME]->str, ".") || !strcmp(v[I_NAME]->str, "..")) {
		err_node(c, v[I_NAME],
			 "invalid interface name '%s' (no '/', ':', whitespace, '.' or '..')",
			 quote(v[I_NAME], q, sizeof(q)));
		return false;
	}
	memcpy(ifc->name, v[I_NAME]->str, v[I_NAME]->len);
	return true;
}

static void parse_ifaces(struct pctx *c, const struct ynode *n, struct vipxdp_policy *p)
{
	size_t i, nk = 0, *first = NULL;
	struct dkey *keys = NULL;

	if (want_kind(c, n, "interfaces", Y_SEQ) <= 0)
		return;
	p->ifaces = xcalloc(c, n->n, sizeof(*p->ifaces));
	keys = xcalloc(c, n->n, sizeof(*keys));
	first = xcalloc(c, n->n, sizeof(*first));
	if (!p->ifaces || !keys || !first)
		goto out;
	p->n_ifaces = n->n;
	for (i = 0; i < p->n_ifaces; i++) {
		if (!parse_iface(c, n->kids[i], &p->ifaces[i]))
			continue;
		memcpy(keys[nk].k, p->ifaces[i].name, IFNAMSIZ);
		keys[nk].idx = i;
		nk++;
	}
	find_dups(keys, nk, first, p->n_ifaces);
	for (i = 0; i < p->n_ifaces; i++) {
		const struct vipxdp_policy_iface *ifc = &p->ifaces[i], *f = &p->ifaces[first[i]];

		if (first[i] != i)
			err_at(c, ifc->loc.line, ifc->loc.col,
			       "duplicate interface '%s' (first defined at %u:%u)", ifc->name,
			       f->loc.line, f->loc.col);
	}
out:
	free(keys);
	free(first);
}

enum { G_HASH_SEED, G_TABLE_SIZE, G_CT_SIZE, G_CT_TIMEOUTS, G_TALKERS, G_FLOW_CACHE, G_NKEYS };
static const char *const settings_keys[] = {
	"hash_seed",  "table_size", "conntrack_size", "conntrack_timeouts", "talkers_sample",
	"flow_cache", NULL
};
/* In enum vipxdp_ct_state order. */
static const char *const ct_timeout_keys[] = { "tcp_syn", "tcp_established", "tcp_closing",
					       "udp",	  "other",	     NULL };

static void parse_ct_timeouts(struct pctx *c, const struct ynode *n, __u32 *ms)
{
	const struct ynode *v[VIPXDP_CT_NSTATES];
	int i;

	if (want_kind(c, n, "conntrack_timeouts", Y_MAP) <= 0)
		return;
	map_fields(c, n, "in conntrack_timeouts", ct_timeout_keys, v);
	for (i = 0; i < VIPXDP_CT_NSTATES; i++) {
		if (!v[i])
			continue;
		if (v[i]->kind == Y_SCALAR && v[i]->str && !strcmp(v[i]->str, "0"))
			ms[i] = 0;
		else
			get_duration(c, v[i], ct_timeout_keys[i], 1000, VIPXDP_CT_TIMEOUT_MAX_MS,
				     &ms[i]);
	}
}

static void parse_settings(struct pctx *c, const struct ynode *n, struct vipxdp_policy_settings *s)
{
	const struct ynode *v[G_NKEYS];
	char q[QUOTE_MAX + 4];
	__u32 size;

	if (want_kind(c, n, "settings", Y_MAP) <= 0)
		return;
	map_fields(c, n, "in settings", settings_keys, v);
	if (v[G_HASH_SEED])
		get_u32(c, v[G_HASH_SEED], "hash_seed", 0, UINT32_MAX, &s->hash_seed);
	if (v[G_TABLE_SIZE] && get_u32(c, v[G_TABLE_SIZE], "table_size", VIPXDP_MAGLEV_MIN,
				       VIPXDP_MAGLEV_MAX, &size)) {
		if (vipxdp_is_prime(size))
			s->table_size = size;
		else
			err_node(c, v[G_TABLE_SIZE], "table_size %s is not prime",
				 quote(v[G_TABLE_SIZE], q, sizeof(q)));
	}
	if (v[G_CT_SIZE])
		get_u32(c, v[G_CT_SIZE], "conntrack_size", 1, VIPXDP_POLICY_CT_MAX,
			&s->conntrack_size);
	if (v[G_CT_TIMEOUTS])
		parse_ct_timeouts(c, v[G_CT_TIMEOUTS], s->ct_timeout_ms);
	if (v[G_TALKERS] &&
	    get_u32(c, v[G_TALKERS], "talkers_sample", 0, VIPXDP_TALKERS_SAMPLE_MAX, &size)) {
		if (size & (size - 1))
			err_node(
				c, v[G_TALKERS],
				"talkers_sample %s is not a power of two (1, 2, 4 ... 65536) or 0 (off)",
				quote(v[G_TALKERS], q, sizeof(q)));
		else
			s->talkers_sample = size;
	}
	if (v[G_FLOW_CACHE])
		get_bool(c, v[G_FLOW_CACHE], "flow_cache", &s->flow_cache);
}

enum { T_SETTINGS, T_INTERFACES, T_VIPS, T_SNAT, T_NKEYS };
static const char *const top_keys[] = { "settings", "interfaces", "vips", "snat", NULL };

enum { N_SOURCE, N_ADDRESS, N_NKEYS };
static const char *const snat_keys[] = { "source", "address", NULL };

/* snat: [{source: CIDR, address: VIP}]; after vips (address must be one). */
static void parse_snat(struct pctx *c, const struct ynode *n, struct vipxdp_policy *p)
{
	char err[256], a[VIPXDP_ADDR_STRLEN], q[QUOTE_MAX + 4];
	size_t i, k;

	if (want_kind(c, n, "snat", Y_SEQ) <= 0)
		return;
	p->snat = xcalloc(c, n->n, sizeof(*p->snat));
	if (!p->snat)
		return;
	for (i = 0; i < n->n; i++) {
		const struct ynode *v[N_NKEYS], *it = n->kids[i];
		struct vipxdp_policy_snat *r = &p->snat[p->n_snat];
		__u8 fam;

		if (!want_item_map(c, it, "snat rule"))
			continue;
		map_fields(c, it, "in snat rule", snat_keys, v);
		r->loc.line = it->line;
		r->loc.col = it->col;
		if (!v[N_SOURCE] || !v[N_ADDRESS]) {
			err_node(c, it, "missing required key '%s' in snat rule",
				 v[N_SOURCE] ? "address" : "source");
			continue;
		}
		if (!get_str(c, v[N_SOURCE], "source", false))
			continue;
		if (vipxdp_cidr_parse(v[N_SOURCE]->str, &r->source, err, sizeof(err))) {
			err_node(c, v[N_SOURCE], "source: %s", err);
			continue;
		}
		if (!get_addr(c, v[N_ADDRESS], "address", &fam, &r->vip))
			continue;
		if (fam != r->source.family) {
			err_node(c, v[N_ADDRESS], "address %s is %s but source %s is %s",
				 vipxdp_addr_str(fam, &r->vip, a, sizeof(a)),
				 vipxdp_family_str(fam), quote(v[N_SOURCE], q, sizeof(q)),
				 vipxdp_family_str(r->source.family));
			continue;
		}
		if (!vipxdp_policy_find_vip(p, fam, &r->vip)) {
			err_node(c, v[N_ADDRESS],
				 "address %s is not a VIP of this policy (declare it under vips)",
				 vipxdp_addr_str(fam, &r->vip, a, sizeof(a)));
			continue;
		}
		for (k = 0; k < p->n_snat; k++) {
			if (p->snat[k].source.family == r->source.family &&
			    p->snat[k].source.prefix_len == r->source.prefix_len &&
			    !memcmp(&p->snat[k].source.addr, &r->source.addr, 16))
				break;
		}
		if (k < p->n_snat) {
			err_node(c, v[N_SOURCE], "duplicate snat source %s (first at %u:%u)",
				 quote(v[N_SOURCE], q, sizeof(q)), p->snat[k].loc.line,
				 p->snat[k].loc.col);
			continue;
		}
		p->n_snat++;
	}
}

static void parse_top(struct pctx *c, const struct ynode *root, struct vipxdp_policy *p)
{
	const struct ynode *v[T_NKEYS];
	char d[QUOTE_MAX + 8];

	if (!root || is_null(root))
		return;
	if (root->kind != Y_MAP) {
		err_node(c, root, "expected a mapping at the top level, got %s",
			 describe(root, d, sizeof(d)));
		return;
	}
	map_fields(c, root, "at the top level", top_keys, v);
	if (v[T_SETTINGS])
		parse_settings(c, v[T_SETTINGS], &p->settings);
	if (v[T_INTERFACES])
		parse_ifaces(c, v[T_INTERFACES], p);
	if (v[T_VIPS])
		parse_vips(c, v[T_VIPS], p);
	if (v[T_SNAT])
		parse_snat(c, v[T_SNAT], p);
}

/* ---- public ---- */

void vipxdp_policy_free(struct vipxdp_policy *p)
{
	size_t i, j, k;

	if (!p)
		return;
	free(p->snat);
	for (i = 0; i < p->n_vips; i++) {
		struct vipxdp_policy_vip *vip = &p->vips[i];

		for (j = 0; j < vip->n_services; j++) {
			struct vipxdp_policy_service *svc = &vip->services[j];

			for (k = 0; k < svc->n_backends; k++)
				health_release(&svc->backends[k].health);
			free(svc->backends);
			health_release(&svc->health);
		}
		free(vip->services);
		free(vip->name);
	}
	free(p->vips);
	free(p->ifaces);
	free(p->name);
	free(p);
}

static int parse(struct pctx *c, const char *text, size_t len, struct vipxdp_policy **out)
{
	struct vipxdp_policy *p = NULL;
	struct ynode *root = NULL;
	int ret;

	ret = tree_build(c, text, len, &root);
	if (ret)
		goto out;
	p = xcalloc(c, 1, sizeof(*p));
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	p->settings.table_size = VIPXDP_MAGLEV_DEFAULT;
	p->settings.conntrack_size = VIPXDP_CT_DEFAULT_SIZE;
	p->settings.talkers_sample = VIPXDP_POLICY_TALKERS_SAMPLE;
	p->settings.flow_cache = true;
	{
		static const __u32 to[VIPXDP_CT_NSTATES] = VIPXDP_CT_TIMEOUTS_DEFAULT;

		memcpy(p->settings.ct_timeout_ms, to, sizeof(to));
	}
	p->name = xstrndup(c, c->name, strlen(c->name));
	parse_top(c, root, p);
	if (c->nomem)
		ret = -ENOMEM;
	else if (c->total)
		ret = -EINVAL;
out:
	tree_free(root);
	if (!ret && c->nomem)
		ret = -ENOMEM;
	if (ret) {
		vipxdp_policy_free(p);
		p = NULL;
	}
	*out = p;
	return ret;
}

int vipxdp_policy_parse_string(const char *name, const char *text, size_t len,
			       struct vipxdp_policy **out, struct vipxdp_policy_errors *errs)
{
	struct pctx c = { .name = name ? name : "<string>" };
	int ret;

	ret = parse(&c, text ? text : "", text ? len : 0, out);
	errors_export(&c, errs);
	free(c.errs);
	return ret;
}

/* Record a message without a position ("FILE: problem"). */
static void file_error(struct vipxdp_policy_errors *errs, const char *path, const char *what)
{
	if (!errs)
		return;
	memset(errs, 0, sizeof(*errs));
	snprintf(errs->msg[0], sizeof(errs->msg[0]), "%s: %s", path, what);
	errs->n = 1;
}

int vipxdp_policy_load(const char *path, struct vipxdp_policy **out,
		       struct vipxdp_policy_errors *errs)
{
	size_t len = 0, cap = 0, got;
	char *buf = NULL, *nbuf;
	FILE *f;
	int ret = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		file_error(errs, path, strerror(-ret));
		return ret;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= POLICY_FILE_MAX) {
				ret = -EFBIG;
				file_error(errs, path, "file too large");
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				file_error(errs, path, strerror(ENOMEM));
				goto out;
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		file_error(errs, path, "read error");
		goto out;
	}
	ret = vipxdp_policy_parse_string(path, buf, len, out, errs);
out:
	free(buf);
	fclose(f);
	return ret;
}

void vipxdp_policy_errors_print(const struct vipxdp_policy_errors *errs, FILE *f)
{
	unsigned int i;

	for (i = 0; i < errs->n; i++)
		fprintf(f, "%s\n", errs->msg[i]);
	if (errs->more)
		fprintf(f, "... and %u more error%s\n", errs->more, errs->more == 1 ? "" : "s");
}

const struct vipxdp_policy_vip *vipxdp_policy_find_vip(const struct vipxdp_policy *p, __u8 family,
						       const struct vipxdp_addr *addr)
{
	size_t i;

	for (i = 0; i < p->n_vips; i++) {
		if (vipxdp_addr_eq(p->vips[i].family, &p->vips[i].addr, family, addr))
			return &p->vips[i];
	}
	return NULL;
}

const struct vipxdp_policy_service *vipxdp_policy_find_service(const struct vipxdp_policy *p,
							       const struct vipxdp_svc_id *id)
{
	const struct vipxdp_policy_vip *vip;
	size_t i;

	vip = vipxdp_policy_find_vip(p, id->ep.family, &id->ep.addr);
	if (!vip)
		return NULL;
	for (i = 0; i < vip->n_services; i++) {
		const struct vipxdp_policy_service *svc = &vip->services[i];

		if (svc->id.proto == id->proto && svc->id.ep.port == id->ep.port)
			return svc;
	}
	return NULL;
}

const struct vipxdp_policy_backend *
vipxdp_policy_find_backend(const struct vipxdp_policy_service *svc,
			   const struct vipxdp_endpoint *ep)
{
	size_t i;

	for (i = 0; i < svc->n_backends; i++) {
		if (!vipxdp_endpoint_cmp(&svc->backends[i].ep, ep))
			return &svc->backends[i];
	}
	return NULL;
}

const struct vipxdp_policy_iface *vipxdp_policy_find_iface(const struct vipxdp_policy *p,
							   const char *name)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++) {
		if (!strncmp(p->ifaces[i].name, name, IFNAMSIZ))
			return &p->ifaces[i];
	}
	return NULL;
}

const char *vipxdp_iface_mode_str(enum vipxdp_iface_mode mode)
{
	return (unsigned int)mode < 3 ? iface_modes[mode] : "unknown";
}

const char *vipxdp_hash_mode_str(enum vipxdp_hash_mode hash)
{
	return (unsigned int)hash < 2 ? hash_modes[hash] : "unknown";
}

const char *vipxdp_health_type_str(enum vipxdp_health_type type)
{
	return (unsigned int)type < 4 ? health_types[type] : "unknown";
}
