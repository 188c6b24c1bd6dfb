/*
 * The Value type against a real daemon: defaults and type enforcement for
 * every typecode family (TypeError, OverflowError, the value unchanged),
 * atomic add and compare-and-swap, forked processes adding at once, and
 * the lifetime of anonymous and named Values. Children report through
 * their exit status, never cmocka asserts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "procshare.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/tval.h"

#define NPROC 8
#define NADDS 400

/* ---- helpers ---------------------------------------------------------- */

static ps_value *make(ps_ctx *ctx, char typecode, const char *init)
{
	size_t n = 0;
	const uint8_t *p = init != NULL ? tval_enc(init, &n) : NULL;
	ps_value *v = ps_value_new(ctx, typecode, p, n);

	if (v == NULL)
		fail_msg("ps_value_new('%c', %s): %s", typecode, init ? init : "NULL", ps_errstr(ctx));
	return v;
}

static const char *get(ps_value *v, ps_ctx *ctx)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_value_get(v, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *set(ps_value *v, ps_ctx *ctx, const char *val)
{
	size_t n;
	const uint8_t *p = tval_enc(val, &n);

	return tval_rc(ctx, ps_value_set(v, p, n));
}

static const char *add(ps_value *v, ps_ctx *ctx, const char *delta)
{
	size_t n;
	const uint8_t *p = tval_enc(delta, &n);
	void *out = NULL;
	size_t olen = 0;
	int rc = ps_value_add(v, p, n, &out, &olen);

	return tval_res(ctx, rc, out, olen);
}

/* "[swapped, current]" or the error. */
static const char *cas(ps_value *v, ps_ctx *ctx, const char *expected, const char *desired)
{
	size_t en, dn;
	const uint8_t *e = tval_enc(expected, &en);
	const uint8_t *d = tval_enc(desired, &dn);
	void *out = NULL;
	size_t olen = 0;
	int swapped = -1;
	static char ring[8][256];
	static unsigned next;
	char *buf = ring[next++ % 8];

	if (ps_value_cas(v, e, en, d, dn, &swapped, &out, &olen) < 0)
		return tval_rc(ctx, -1);
	snprintf(buf, sizeof ring[0], "[%s, %s]", swapped ? "true" : "false", tval_text(out, olen));
	free(out);
	return buf;
}

/* ---- creation and defaults -------------------------------------------- */

static void test_defaults(void **state)
{
	struct tfix *f = *state;
	static const struct { char code; const char *zero; } cases[] = {
		{ 'b', "0" }, { 'B', "0" }, { 'h', "0" }, { 'H', "0" }, { 'i', "0" }, { 'I', "0" },
		{ 'l', "0" }, { 'L', "0" }, { 'q', "0" }, { 'Q', "0" }, { 'f', "0.0" }, { 'd', "0.0" },
		{ 'c', "b\"00\"" }, { 'u', "\"\\x00\"" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ps_value *v = make(f->ctx, cases[i].code, NULL);
		char tc = 0;

		assert_string_equal(get(v, f->ctx), cases[i].zero);
		assert_int_equal(ps_value_typecode(v, &tc), 0);
		assert_int_equal(tc, cases[i].code);
		ps_value_free(v);
	}
	/* nil as the initial value is the default too. */
	ps_value *v = make(f->ctx, 'd', "nil");

	assert_string_equal(tfix_on(f->ctx, "value.get", ps_value_id(v), ""), "0.0");
	ps_value_free(v);
}

static void test_create_errors(void **state)
{
	struct tfix *f = *state;

	assert_string_equal(tfix_create(f->ctx, "value", "[\"i\", 5]"), "ok");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"x\"]"), "!ValueError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"ii\", 1]"), "!ValueError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"\"]"), "!ValueError");
	assert_string_equal(tfix_create(f->ctx, "value", "[105]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "value", "[]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"i\", 1.5]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"b\", 128]"), "!OverflowError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"B\", -1]"), "!OverflowError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"c\", 65]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "value", "[\"i\", 1, 2]"), "!TypeError");
	/* The C API refuses an init that is not one encoded value. */
	assert_null(ps_value_new(f->ctx, 'i', "\x91", 1));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
}

/* ---- type enforcement ------------------------------------------------- */

struct setcase {
	const char *in;         /* what is set */
	const char *out;        /* what get then returns, or the error */
};

/* Sets each value in turn on a Value of typecode code; after an error the
 * Value must still hold what the previous success stored. */
static void check_sets(ps_ctx *ctx, char code, const struct setcase *cases, size_t n)
{
	ps_value *v = make(ctx, code, NULL);
	char held[256] = "";

	snprintf(held, sizeof held, "%s", get(v, ctx));
	for (size_t i = 0; i < n; i++) {
		const char *r = set(v, ctx, cases[i].in);

		if (cases[i].out[0] == '!') {
			if (strcmp(r, cases[i].out) != 0)
				fail_msg("'%c' set %s: got %s, want %s", code, cases[i].in, r, cases[i].out);
		} else {
			if (strcmp(r, "ok") != 0)
				fail_msg("'%c' set %s: %s", code, cases[i].in, r);
			snprintf(held, sizeof held, "%s", cases[i].out);
		}
		r = get(v, ctx);
		if (strcmp(r, held) != 0)
			fail_msg("'%c' after set %s: holds %s, want %s", code, cases[i].in, r, held);
	}
	ps_value_free(v);
}

#define CHECK(ctx, code, ...) do { \
		static const struct setcase c_[] = { __VA_ARGS__ }; \
		check_sets(ctx, code, c_, sizeof c_ / sizeof c_[0]); \
	} while (0)

static void test_signed_ranges(void **state)
{
	struct tfix *f = *state;

	CHECK(f->ctx, 'b', { "127", "127" }, { "128", "!OverflowError" }, { "-128", "-128" },
	      { "-129", "!OverflowError" }, { "true", "1" }, { "1.0", "!TypeError" }, { "\"1\"", "!TypeError" },
	      { "nil", "!TypeError" }, { "[1]", "!TypeError" });
	CHECK(f->ctx, 'h', { "32767", "32767" }, { "32768", "!OverflowError" }, { "-32768", "-32768" },
	      { "-32769", "!OverflowError" }, { "2.5", "!TypeError" });
	CHECK(f->ctx, 'i', { "2147483647", "2147483647" }, { "2147483648", "!OverflowError" },
	      { "-2147483648", "-2147483648" }, { "-2147483649", "!OverflowError" }, { "0.0", "!TypeError" },
	      { "b\"01\"", "!TypeError" });
	CHECK(f->ctx, 'l', { "9223372036854775807", "9223372036854775807" },
	      { "9223372036854775808", "!OverflowError" }, { "-9223372036854775808", "-9223372036854775808" },
	      { "1e3", "!TypeError" });
	CHECK(f->ctx, 'q', { "9223372036854775807", "9223372036854775807" },
	      { "18446744073709551615", "!OverflowError" }, { "-1", "-1" });
}

static void test_unsigned_ranges(void **state)
{
	struct tfix *f = *state;

	CHECK(f->ctx, 'B', { "255", "255" }, { "256", "!OverflowError" }, { "0", "0" }, { "-1", "!OverflowError" },
	      { "false", "0" }, { "1.5", "!TypeError" });
	CHECK(f->ctx, 'H', { "65535", "65535" }, { "65536", "!OverflowError" }, { "-1", "!OverflowError" });
	CHECK(f->ctx, 'I', { "4294967295", "4294967295" }, { "4294967296", "!OverflowError" },
	      { "-5", "!OverflowError" });
	CHECK(f->ctx, 'L', { "18446744073709551615", "18446744073709551615" }, { "-1", "!OverflowError" });
	CHECK(f->ctx, 'Q', { "18446744073709551615", "18446744073709551615" },
	      { "-9223372036854775808", "!OverflowError" }, { "\"x\"", "!TypeError" });
}

static void test_float_codes(void **state)
{
	struct tfix *f = *state;
	ps_value *v;
	double d = 0;

	/* 'f' keeps float32 precision, as ctypes.c_float does. */
	CHECK(f->ctx, 'f', { "0.1", "0.10000000149011612" }, { "1", "1.0" }, { "16777217", "16777216.0" },
	      { "-2.5", "-2.5" }, { "1e300", "inf" }, { "true", "1.0" }, { "\"1.0\"", "!TypeError" },
	      { "nil", "!TypeError" }, { "b\"00\"", "!TypeError" });
	CHECK(f->ctx, 'd', { "0.1", "0.1" }, { "7", "7.0" }, { "-9223372036854775808", "-9.223372036854776e+18" },
	      { "1e300", "1e+300" }, { "[1.0]", "!TypeError" }, { "{\"a\": 1}", "!TypeError" });
	/* Typed helpers. */
	v = make(f->ctx, 'd', "2.5");
	assert_int_equal(ps_value_get_double(v, &d), 0);
	assert_true(d == 2.5);
	assert_int_equal(ps_value_set_double(v, NAN), 0);
	assert_int_equal(ps_value_get_double(v, &d), 0);
	assert_true(isnan(d));
	assert_int_equal(ps_value_set_int(v, 3), 0);
	assert_string_equal(get(v, f->ctx), "3.0");
	ps_value_free(v);
}

static void test_char_codes(void **state)
{
	struct tfix *f = *state;

	CHECK(f->ctx, 'c', { "b\"41\"", "b\"41\"" }, { "b\"ff\"", "b\"ff\"" }, { "b\"4142\"", "!TypeError" },
	      { "b\"\"", "!TypeError" }, { "65", "!TypeError" }, { "\"A\"", "!TypeError" }, { "1.0", "!TypeError" });
	CHECK(f->ctx, 'u', { "\"A\"", "\"A\"" }, { "\"\xc3\xa9\"", "\"\xc3\xa9\"" },
	      { "\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\"" }, { "\"ab\"", "!TypeError" }, { "\"\"", "!TypeError" },
	      { "\"\xc3\xa9x\"", "!TypeError" }, { "b\"41\"", "!TypeError" }, { "65", "!TypeError" });
}

/* ---- add and cas ------------------------------------------------------ */

static void test_add(void **state)
{
	struct tfix *f = *state;
	ps_value *v = make(f->ctx, 'i', NULL);
	int64_t r = 0;

	assert_string_equal(add(v, f->ctx, "5"), "5");
	assert_string_equal(add(v, f->ctx, "-12"), "-7");
	assert_string_equal(add(v, f->ctx, "true"), "-6");
	assert_string_equal(add(v, f->ctx, "1.5"), "!TypeError");
	assert_string_equal(add(v, f->ctx, "\"1\""), "!TypeError");
	assert_int_equal(ps_value_set_int(v, 2147483646), 0);
	assert_int_equal(ps_value_add_int(v, 1, &r), 0);
	assert_int_equal(r, 2147483647);
	/* Out of range: refused, the value kept. */
	assert_string_equal(add(v, f->ctx, "1"), "!OverflowError");
	assert_string_equal(add(v, f->ctx, "18446744073709551615"), "!OverflowError");
	assert_string_equal(get(v, f->ctx), "2147483647");
	assert_string_equal(add(v, f->ctx, "-4294967295"), "-2147483648");
	assert_string_equal(add(v, f->ctx, "-1"), "!OverflowError");
	assert_string_equal(get(v, f->ctx), "-2147483648");
	ps_value_free(v);

	v = make(f->ctx, 'B', "250");
	assert_string_equal(add(v, f->ctx, "5"), "255");
	assert_string_equal(add(v, f->ctx, "1"), "!OverflowError");
	assert_string_equal(add(v, f->ctx, "-256"), "!OverflowError");
	assert_string_equal(add(v, f->ctx, "-255"), "0");
	ps_value_free(v);

	v = make(f->ctx, 'Q', "18446744073709551614");
	assert_string_equal(add(v, f->ctx, "1"), "18446744073709551615");
	assert_string_equal(add(v, f->ctx, "1"), "!OverflowError");
	/* The helper reports a value it cannot hold in an int64. */
	assert_int_equal(ps_value_add_int(v, 0, &r), -1);
	assert_string_equal(ps_errcode(f->ctx), "OverflowError");
	ps_value_free(v);

	v = make(f->ctx, 'q', "-9223372036854775807");
	assert_string_equal(add(v, f->ctx, "-1"), "-9223372036854775808");
	assert_string_equal(add(v, f->ctx, "-1"), "!OverflowError");
	ps_value_free(v);
}

static void test_add_floats_and_chars(void **state)
{
	struct tfix *f = *state;
	ps_value *v = make(f->ctx, 'd', "1");
	double d = 0;

	assert_string_equal(add(v, f->ctx, "0.5"), "1.5");
	assert_string_equal(add(v, f->ctx, "2"), "3.5");
	assert_int_equal(ps_value_add_double(v, -0.25, &d), 0);
	assert_true(d == 3.25);
	assert_string_equal(add(v, f->ctx, "\"x\""), "!TypeError");
	ps_value_free(v);

	v = make(f->ctx, 'f', NULL);
	assert_string_equal(add(v, f->ctx, "0.1"), "0.10000000149011612");
	assert_string_equal(add(v, f->ctx, "16777216"), "16777216.0");
	ps_value_free(v);

	v = make(f->ctx, 'c', "b\"41\"");
	assert_string_equal(add(v, f->ctx, "1"), "!TypeError");
	assert_string_equal(get(v, f->ctx), "b\"41\"");
	ps_value_free(v);
	v = make(f->ctx, 'u', "\"a\"");
	assert_string_equal(add(v, f->ctx, "1"), "!TypeError");
	ps_value_free(v);
}

static void test_cas(void **state)
{
	struct tfix *f = *state;
	ps_value *v = make(f->ctx, 'i', NULL);
	int64_t cur = 0;
	int swapped = -1;
	double d = 0;

	assert_string_equal(cas(v, f->ctx, "0", "5"), "[true, 5]");
	assert_string_equal(cas(v, f->ctx, "0", "7"), "[false, 5]");
	assert_string_equal(cas(v, f->ctx, "5", "-3"), "[true, -3]");
	/* Both arguments are checked as set checks them, nothing changes. */
	assert_string_equal(cas(v, f->ctx, "-3.0", "1"), "!TypeError");
	assert_string_equal(cas(v, f->ctx, "-3", "2147483648"), "!OverflowError");
	assert_string_equal(cas(v, f->ctx, "3000000000", "1"), "!OverflowError");
	assert_string_equal(get(v, f->ctx), "-3");
	assert_int_equal(ps_value_cas_int(v, -3, 9, &swapped, &cur), 0);
	assert_int_equal(swapped, 1);
	assert_int_equal(cur, 9);
	assert_int_equal(ps_value_cas_int(v, -3, 10, &swapped, &cur), 0);
	assert_int_equal(swapped, 0);
	assert_int_equal(cur, 9);
	assert_string_equal(tfix_on(f->ctx, "value.cas", ps_value_id(v), "9"), "!TypeError");
	ps_value_free(v);

	/* An int expected matches the float it converts to. */
	v = make(f->ctx, 'd', "1");
	assert_string_equal(cas(v, f->ctx, "1", "2.5"), "[true, 2.5]");
	assert_int_equal(ps_value_cas_double(v, 2.5, 0.0, &swapped, &d), 0);
	assert_int_equal(swapped, 1);
	/* Floats compare bit for bit, as stored values do: -0.0 is not 0.0. */
	assert_int_equal(ps_value_cas_double(v, -0.0, 1.0, &swapped, &d), 0);
	assert_int_equal(swapped, 0);
	assert_int_equal(ps_value_set_double(v, NAN), 0);
	assert_int_equal(ps_value_cas_double(v, NAN, 4.0, &swapped, &d), 0);
	assert_int_equal(swapped, 1);
	assert_true(d == 4.0);
	ps_value_free(v);

	/* 'f': the expected value is rounded to float32 like the stored one. */
	v = make(f->ctx, 'f', "0.1");
	assert_string_equal(cas(v, f->ctx, "0.1", "0.5"), "[true, 0.5]");
	ps_value_free(v);

	v = make(f->ctx, 'c', "b\"61\"");
	assert_string_equal(cas(v, f->ctx, "b\"61\"", "b\"62\""), "[true, b\"62\"]");
	assert_string_equal(cas(v, f->ctx, "b\"61\"", "b\"63\""), "[false, b\"62\"]");
	ps_value_free(v);
}

/* ---- many processes ----------------------------------------------------- */

/* Each child adds 1 NADDS times with value.add, and NADDS times with a
 * get / cas retry loop: both are atomic, so nothing is lost. */
static int child_adds(const struct tdaemon *td, int child)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_value *a, *b;
	int64_t cur, seen;
	int swapped;

	(void)child;
	a = ps_value_open(ctx, "adds", 'q', NULL, 0);
	b = ps_value_open(ctx, "cas", 'i', NULL, 0);
	if (a == NULL || b == NULL)
		return 3;
	for (int i = 0; i < NADDS; i++) {
		if (ps_value_add_int(a, 1, NULL) < 0)
			return 4;
		if (ps_value_get_int(b, &cur) < 0)
			return 5;
		do {
			if (ps_value_cas_int(b, cur, cur + 1, &swapped, &seen) < 0)
				return 6;
			cur = seen;
		} while (!swapped);
	}
	ps_value_free(a);
	ps_value_free(b);
	ps_free(ctx);
	return 0;
}

static void test_concurrent_adds(void **state)
{
	struct tfix *f = *state;
	ps_value *a = ps_value_open_int(f->ctx, "adds", 'q', 0);
	ps_value *b = ps_value_open_int(f->ctx, "cas", 'i', 0);
	int64_t n = -1;

	assert_non_null(a);
	assert_non_null(b);
	tfix_run_children(&f->td, NPROC, child_adds, "child");
	assert_int_equal(ps_value_get_int(a, &n), 0);
	assert_int_equal(n, NPROC * NADDS);
	assert_int_equal(ps_value_get_int(b, &n), 0);
	assert_int_equal(n, NPROC * NADDS);
	ps_value_free(a);
	ps_value_free(b);
}

/* ---- lifetime ----------------------------------------------------------- */

static void test_lifetime(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_value *v = ps_value_new_int(f->ctx, 'h', 42);
	uint64_t id = ps_value_id(v);
	char tc = 0;
	int64_t n = 0;

	assert_non_null(v);
	assert_string_equal(tfix_on(other, "value.get", id, ""), "42");
	ps_value_free(v);
	assert_string_equal(tfix_on(other, "value.get", id, ""), "!NoSuchObject");

	/* Named: outlives every handle; a later open ignores its creation
	 * arguments. */
	v = ps_value_open_int(f->ctx, "kept", 'h', 7);
	assert_non_null(v);
	assert_int_equal(ps_value_add_int(v, 1, NULL), 0);
	id = ps_value_id(v);
	ps_value_free(v);
	tfix_reconnect(f);
	v = ps_value_open_double(f->ctx, "kept", 'd', 1.5);
	assert_non_null(v);
	assert_int_equal(ps_value_id(v), id);
	assert_int_equal(ps_value_typecode(v, &tc), 0);
	assert_int_equal(tc, 'h');
	assert_int_equal(ps_value_get_int(v, &n), 0);
	assert_int_equal(n, 8);
	/* Another type under the same name is refused. */
	assert_null(ps_set_open(f->ctx, "kept", NULL, 0));
	assert_int_equal(ps_delete(f->ctx, "kept"), 0);
	ps_value_free(v);
	assert_string_equal(tfix_on(other, "value.get", id, ""), "!NoSuchObject");
	assert_string_equal(tfix_on(other, "value.get", 0, ""), "!NoSuchObject");
	ps_free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_create_errors),
		T(test_signed_ranges),
		T(test_unsigned_ranges),
		T(test_float_codes),
		T(test_char_codes),
		T(test_add),
		T(test_add_floats_and_chars),
		T(test_cas),
		T(test_concurrent_adds),
		T(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
