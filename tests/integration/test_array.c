/*
 * The Array type against a real daemon: creation by size and by items
 * (with the typecode checks and the size limit at N and N+1), indexes
 * with Python's negative semantics, slices with steps compared with what
 * Python gives, the same-size rule of slice assignment, and the lifetime
 * of anonymous and named Arrays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procshare.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/tval.h"

/* The daemon's ARRAY_MAX_LEN (daemon/types/array.c). */
#define MAX_LEN 16777216

/* ---- helpers ---------------------------------------------------------- */

static ps_array *make(ps_ctx *ctx, char typecode, const char *init)
{
	size_t n;
	const uint8_t *p = tval_enc(init, &n);
	ps_array *a = ps_array_new(ctx, typecode, p, n);

	if (a == NULL)
		fail_msg("ps_array_new('%c', %s): %s", typecode, init, ps_errstr(ctx));
	return a;
}

static const char *all(ps_array *a, ps_ctx *ctx)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_array_tolist(a, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *get(ps_array *a, ps_ctx *ctx, int64_t i)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_array_get(a, i, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *set(ps_array *a, ps_ctx *ctx, int64_t i, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_array_set(a, i, p, n));
}

static const char *slice(ps_array *a, ps_ctx *ctx, int64_t start, int64_t stop, int64_t step)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_array_getslice(a, start, stop, step, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *setslice(ps_array *a, ps_ctx *ctx, int64_t start, int64_t stop, int64_t step, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_array_setslice(a, start, stop, step, p, n));
}

#define N PS_NONE

/* ---- tests ------------------------------------------------------------ */

static void test_create(void **state)
{
	struct tfix *f = *state;
	ps_array *a = ps_array_new_size(f->ctx, 'i', 4);
	size_t len = 0;
	char tc = 0;

	assert_non_null(a);
	assert_string_equal(all(a, f->ctx), "[0, 0, 0, 0]");
	assert_int_equal(ps_array_len(a, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(ps_array_typecode(a, &tc), 0);
	assert_int_equal(tc, 'i');
	ps_array_free(a);

	a = ps_array_new_size(f->ctx, 'd', 2);
	assert_string_equal(all(a, f->ctx), "[0.0, 0.0]");
	ps_array_free(a);
	a = ps_array_new_size(f->ctx, 'c', 2);
	assert_string_equal(all(a, f->ctx), "[b\"00\", b\"00\"]");
	ps_array_free(a);
	a = ps_array_new_size(f->ctx, 'u', 0);
	assert_string_equal(all(a, f->ctx), "[]");
	assert_string_equal(get(a, f->ctx, 0), "!IndexError");
	ps_array_free(a);

	a = make(f->ctx, 'f', "[1, 0.1, true]");
	assert_string_equal(all(a, f->ctx), "[1.0, 0.10000000149011612, 1.0]");
	ps_array_free(a);

	assert_string_equal(tfix_create(f->ctx, "array", "[\"b\", [1, -128, 127]]"), "ok");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"b\", [1, 128]]"), "!OverflowError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\", [1, 1.5]]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"c\", [b\"61\", \"b\"]]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\", -1]"), "!ValueError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\", \"abc\"]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\", 1.0]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\"]"), "!TypeError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"z\", 1]"), "!ValueError");
	assert_string_equal(tfix_create(f->ctx, "array", "[\"i\", 1, 2]"), "!TypeError");
	assert_null(ps_array_new(f->ctx, 'i', NULL, 0));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
}

/* The size limit at N and N + 1 (calloc'd zero pages: cheap to create). */
static void test_size_limit(void **state)
{
	struct tfix *f = *state;
	ps_array *a = ps_array_new_size(f->ctx, 'b', MAX_LEN);
	size_t len = 0;

	assert_non_null(a);
	assert_int_equal(ps_array_len(a, &len), 0);
	assert_int_equal(len, MAX_LEN);
	assert_string_equal(get(a, f->ctx, -1), "0");
	assert_string_equal(set(a, f->ctx, MAX_LEN - 1, "5"), "ok");
	assert_string_equal(slice(a, f->ctx, -2, N, N), "[0, 5]");
	ps_array_free(a);
	assert_null(ps_array_new_size(f->ctx, 'b', MAX_LEN + 1));
	assert_string_equal(ps_errcode(f->ctx), "LimitExceeded");
}

static void test_items(void **state)
{
	struct tfix *f = *state;
	ps_array *a = make(f->ctx, 'h', "[10, 20, 30]");
	int64_t v = 0;
	double d = 0;

	assert_string_equal(get(a, f->ctx, 0), "10");
	assert_string_equal(get(a, f->ctx, 2), "30");
	assert_string_equal(get(a, f->ctx, -1), "30");
	assert_string_equal(get(a, f->ctx, -3), "10");
	assert_string_equal(get(a, f->ctx, 3), "!IndexError");
	assert_true(strstr(ps_errstr(f->ctx), "array index out of range") != NULL);
	assert_string_equal(get(a, f->ctx, -4), "!IndexError");
	assert_string_equal(get(a, f->ctx, INT64_MAX), "!IndexError");
	assert_string_equal(get(a, f->ctx, INT64_MIN + 1), "!IndexError");

	assert_string_equal(set(a, f->ctx, -1, "-32768"), "ok");
	assert_string_equal(set(a, f->ctx, 0, "32768"), "!OverflowError");
	assert_string_equal(set(a, f->ctx, 0, "1.5"), "!TypeError");
	assert_string_equal(set(a, f->ctx, 0, "nil"), "!TypeError");
	assert_string_equal(set(a, f->ctx, 3, "1"), "!IndexError");
	assert_string_equal(set(a, f->ctx, -4, "1"), "!IndexError");
	assert_string_equal(all(a, f->ctx), "[10, 20, -32768]");

	assert_int_equal(ps_array_set_int(a, 1, 7), 0);
	assert_int_equal(ps_array_get_int(a, 1, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ps_array_get_double(a, 1, &d), 0);
	assert_true(d == 7.0);
	assert_int_equal(ps_array_set_double(a, 1, 2.0), -1);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_string_equal(tfix_on(f->ctx, "array.getitem", ps_array_id(a), "1.0"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "array.getitem", ps_array_id(a), "1, 2"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "array.copy", ps_array_id(a), ""), "[10, 7, -32768]");
	ps_array_free(a);

	a = make(f->ctx, 'd', "[0.5]");
	assert_int_equal(ps_array_set_double(a, 0, 2.25), 0);
	assert_int_equal(ps_array_get_double(a, 0, &d), 0);
	assert_true(d == 2.25);
	assert_int_equal(ps_array_set_int(a, -1, 3), 0);
	assert_string_equal(all(a, f->ctx), "[3.0]");
	ps_array_free(a);
}

/* Each slice of range(10) as Python 3 gives it. */
static void test_getslice(void **state)
{
	struct tfix *f = *state;
	static const struct { int64_t a, b, c; const char *want; } cases[] = {
		{ N, N, N, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" },
		{ 2, 8, N, "[2, 3, 4, 5, 6, 7]" },
		{ N, N, 2, "[0, 2, 4, 6, 8]" },
		{ N, N, -1, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]" },
		{ 8, 2, -2, "[8, 6, 4]" },
		{ -3, N, N, "[7, 8, 9]" },
		{ N, -3, N, "[0, 1, 2, 3, 4, 5, 6]" },
		{ -100, 100, N, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" },
		{ 100, -100, -1, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]" },
		{ N, N, -3, "[9, 6, 3, 0]" },
		{ 1, N, 3, "[1, 4, 7]" },
		{ 5, 5, N, "[]" },
		{ 7, 2, N, "[]" },
		{ -1, -11, -4, "[9, 5, 1]" },
		{ 3, -1, 2, "[3, 5, 7]" },
		{ 9, N, -4, "[9, 5, 1]" },
		{ 0, 1, -1, "[]" },
		{ N, N, INT64_MAX, "[0]" },
		{ N, N, INT64_MIN + 1, "[9]" },
	};
	ps_array *a = make(f->ctx, 'q', "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *r = slice(a, f->ctx, cases[i].a, cases[i].b, cases[i].c);

		if (strcmp(r, cases[i].want) != 0)
			fail_msg("slice #%zu: got %s, want %s", i, r, cases[i].want);
	}
	assert_string_equal(slice(a, f->ctx, N, N, 0), "!ValueError");
	assert_string_equal(tfix_on(f->ctx, "array.getslice", ps_array_id(a), "nil, nil, \"x\""), "!TypeError");
	ps_array_free(a);
}

/* Slice assignment keeps the length: one item per selected slot. The
 * results are ctypes' for the same assignments. */
static void test_setslice(void **state)
{
	struct tfix *f = *state;
	const char *ten = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]";
	ps_array *a = make(f->ctx, 'i', ten);

	assert_string_equal(setslice(a, f->ctx, N, N, -3, "[100, 101, 102, 103]"), "ok");
	assert_string_equal(all(a, f->ctx), "[103, 1, 2, 102, 4, 5, 101, 7, 8, 100]");
	assert_string_equal(setslice(a, f->ctx, N, N, N, ten), "ok");
	assert_string_equal(setslice(a, f->ctx, 1, N, 4, "[7, 8, 9]"), "ok");
	assert_string_equal(all(a, f->ctx), "[0, 7, 2, 3, 4, 8, 6, 7, 8, 9]");
	assert_string_equal(setslice(a, f->ctx, 2, 5, N, "[20, 30, 40]"), "ok");
	assert_string_equal(all(a, f->ctx), "[0, 7, 20, 30, 40, 8, 6, 7, 8, 9]");
	assert_string_equal(setslice(a, f->ctx, -2, N, N, "[-1, -2]"), "ok");
	assert_string_equal(all(a, f->ctx), "[0, 7, 20, 30, 40, 8, 6, 7, -1, -2]");
	/* An empty slice takes an empty array. */
	assert_string_equal(setslice(a, f->ctx, 5, 2, N, "[]"), "ok");

	/* Another size is refused, whatever the step; the array is kept. */
	assert_string_equal(setslice(a, f->ctx, 2, 5, N, "[1]"), "!ValueError");
	assert_true(strstr(ps_errstr(f->ctx), "Can only assign sequence of same size") != NULL);
	assert_string_equal(setslice(a, f->ctx, 2, 5, N, "[1, 2, 3, 4]"), "!ValueError");
	assert_string_equal(setslice(a, f->ctx, N, N, 2, "[1, 2, 3, 4]"), "!ValueError");
	assert_string_equal(setslice(a, f->ctx, 5, 2, N, "[1]"), "!ValueError");
	assert_string_equal(setslice(a, f->ctx, N, N, 0, "[]"), "!ValueError");
	/* A bad element anywhere changes nothing. */
	assert_string_equal(setslice(a, f->ctx, 0, 3, N, "[1, 2, 3.5]"), "!TypeError");
	assert_string_equal(setslice(a, f->ctx, 0, 3, N, "[1, 2, 2147483648]"), "!OverflowError");
	assert_string_equal(setslice(a, f->ctx, 0, 3, N, "5"), "!TypeError");
	assert_string_equal(all(a, f->ctx), "[0, 7, 20, 30, 40, 8, 6, 7, -1, -2]");
	ps_array_free(a);

	a = make(f->ctx, 'u', "[\"a\", \"b\", \"c\"]");
	assert_string_equal(setslice(a, f->ctx, N, N, -1, "[\"x\", \"y\", \"\xc3\xa9\"]"), "ok");
	assert_string_equal(all(a, f->ctx), "[\"\xc3\xa9\", \"y\", \"x\"]");
	ps_array_free(a);
}

static void test_lifetime(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_array *a = make(f->ctx, 'B', "[1, 2]");
	uint64_t id = ps_array_id(a);
	const uint8_t *init;
	size_t ilen;
	char tc = 0;

	assert_string_equal(tfix_on(other, "array.tolist", id, ""), "[1, 2]");
	ps_array_free(a);
	assert_string_equal(tfix_on(other, "array.len", id, ""), "!NoSuchObject");

	a = ps_array_open_size(f->ctx, "grid", 'H', 3);
	assert_non_null(a);
	assert_string_equal(set(a, f->ctx, 1, "65535"), "ok");
	id = ps_array_id(a);
	ps_array_free(a);
	tfix_reconnect(f);
	/* Open ignores the creation arguments of an existing array. */
	init = tval_enc("[1.5]", &ilen);
	a = ps_array_open(f->ctx, "grid", 'd', init, ilen);
	assert_non_null(a);
	assert_int_equal(ps_array_id(a), id);
	assert_int_equal(ps_array_typecode(a, &tc), 0);
	assert_int_equal(tc, 'H');
	assert_string_equal(all(a, f->ctx), "[0, 65535, 0]");
	assert_int_equal(ps_delete(f->ctx, "grid"), 0);
	ps_array_free(a);
	assert_string_equal(tfix_on(other, "array.len", id, ""), "!NoSuchObject");
	ps_free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_size_limit),
		T(test_items),
		T(test_getslice),
		T(test_setslice),
		T(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
