/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal TAP producer for the C test programs, read by `prove`.
 * Assertion macros only evaluate and report; they never return or jump, so a
 * test reads `if (!ASSERT_EQ(a, b, "what")) goto out;`.
 * Each test function is run by tap_run(name, fn) and gives one TAP line.
 */
#ifndef VIPXDP_TAP_H
#define VIPXDP_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline bool tap_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	fprintf(stdout, "# %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return false;
}

/* Each operand is evaluated exactly once (GNU statement expressions). */
#define ASSERT_TRUE(cond, what)                                                       \
	({                                                                             \
		bool _c = !!(cond);                                                    \
		tap_check(_c, __FILE__, __LINE__, "%s: expected true: %s", what, #cond); \
	})
#define TAP_CMP_(a, b, op, what, fmt, ...)                                              \
	({                                                                             \
		long long _a = (long long)(a), _b = (long long)(b);                    \
		tap_check(_a op _b, __FILE__, __LINE__, fmt, what, #a, _a, __VA_ARGS__); \
	})
#define ASSERT_EQ(a, b, what) TAP_CMP_(a, b, ==, what, "%s: %s == %lld, expected %s == %lld", #b, _b)
#define ASSERT_NE(a, b, what) TAP_CMP_(a, b, !=, what, "%s: %s == %lld, expected not %s%s", #b, "")
#define ASSERT_LE(a, b, what) TAP_CMP_(a, b, <=, what, "%s: %s == %lld, expected <= %s (%lld)", #b, _b)
#define ASSERT_GE(a, b, what) TAP_CMP_(a, b, >=, what, "%s: %s == %lld, expected >= %s (%lld)", #b, _b)
#define ASSERT_OK(err, what)                                                          \
	({                                                                             \
		int _e = (int)(err);                                                   \
		tap_check(_e == 0, __FILE__, __LINE__, "%s: returned %d (%s)", what, _e, \
			  _e < 0 ? strerror(-_e) : "not zero");                        \
	})

#define ASSERT_STREQ(got, want, what)                                                 \
	({                                                                             \
		const char *_g = (got), *_w = (want);                                  \
		tap_check(_g && !strcmp(_g, _w), __FILE__, __LINE__,                    \
			  "%s: got '%s', expected '%s'", what, _g ? _g : "(null)", _w);  \
	})

/* Run one named test; print its TAP line. */
static inline void tap_run(const char *name, bool (*fn)(void))
{
	bool ok = fn();

	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", tap_count, name);
	fflush(stdout);
}

/* Report a result computed elsewhere (table-driven tests). */
static inline void tap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
}

/* Print the plan; returns the process exit code. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif /* VIPXDP_TAP_H */
