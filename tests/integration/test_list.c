/*
 * The list type through the C API against a real daemon: every function of
 * procshare.h's list section with Python's results and errors, negative
 * indexes, slices with steps, sort.
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

static ps_ctx *cur_ctx;

static ps_list *L(void **state)
{
	struct tfix *f = *state;

	cur_ctx = f->ctx;
	return f->list;
}

/* ---- wrappers ------------------------------------------------------------------ */

static const char *contents(ps_list *l)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_list_copy(l, &out, &n);

	return tval_res(cur_ctx, rc, out, n);
}

/* Replaces the contents with text (an array). */
static void fill(ps_list *l, const char *arr)
{
	size_t n;
	const uint8_t *p = tval_enc(arr, &n);

	if (ps_list_clear(l) < 0 || ps_list_extend(l, p, n) < 0)
		fail_msg("fill %s: %s", arr, ps_errstr(cur_ctx));
}

static const char *append(ps_list *l, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(cur_ctx, ps_list_append(l, p, n));
}

static const char *get(ps_list *l, int64_t i)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_list_get(l, i, &out, &n);

	return tval_res(cur_ctx, rc, out, n);
}

static const char *set(ps_list *l, int64_t i, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(cur_ctx, ps_list_set(l, i, p, n));
}

static const char *insert(ps_list *l, int64_t i, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(cur_ctx, ps_list_insert(l, i, p, n));
}

static const char *pop(ps_list *l, int64_t i)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_list_pop(l, i, &out, &n);

	return tval_res(cur_ctx, rc, out, n);
}

static const char *index_of(ps_list *l, const char *v, int64_t start, int64_t stop)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);
	int64_t out = -99;
	static char buf[32];

	if (ps_list_index(l, p, n, start, stop, &out) < 0)
		return tval_rc(cur_ctx, -1);
	snprintf(buf, sizeof buf, "%lld", (long long)out);
	return buf;
}

static const char *slice(ps_list *l, int64_t a, int64_t b, int64_t c)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_list_getslice(l, a, b, c, &out, &n);

	return tval_res(cur_ctx, rc, out, n);
}

static const char *setslice(ps_list *l, int64_t a, int64_t b, int64_t c, const char *arr)
{
	size_t n;
	const uint8_t *p = tval_enc(arr, &n);

	return tval_rc(cur_ctx, ps_list_setslice(l, a, b, c, p, n));
}

static long len_of(ps_list *l)
{
	size_t n = 12345;

	if (ps_list_len(l, &n) < 0)
		fail_msg("len: %s", ps_errstr(cur_ctx));
	return (long)n;
}

#define N PS_NONE

/* ---- tests -------------------------------------------------------------------------- */

static void test_append_get_len(void **state)
{
	ps_list *l = L(state);

	assert_int_equal(len_of(l), 0);
	assert_string_equal(get(l, 0), "!IndexError");
	assert_string_equal(get(l, -1), "!IndexError");
	assert_string_equal(append(l, "1"), "ok");
	assert_string_equal(append(l, "\"two\""), "ok");
	assert_string_equal(append(l, "[3, {\"k\": nil}]"), "ok");
	assert_int_equal(len_of(l), 3);
	assert_string_equal(get(l, 0), "1");
	assert_string_equal(get(l, 2), "[3, {\"k\": nil}]");
	assert_string_equal(get(l, -1), "[3, {\"k\": nil}]");
	assert_string_equal(get(l, -3), "1");
	assert_string_equal(get(l, 3), "!IndexError");
	assert_string_equal(get(l, -4), "!IndexError");
	assert_string_equal(get(l, INT64_MAX), "!IndexError");
	assert_string_equal(get(l, INT64_MIN + 1), "!IndexError");
	assert_string_equal(contents(l), "[1, \"two\", [3, {\"k\": nil}]]");
}

static void test_set_del(void **state)
{
	ps_list *l = L(state);

	fill(l, "[0, 1, 2, 3]");
	assert_string_equal(set(l, 1, "\"a\""), "ok");
	assert_string_equal(set(l, -1, "\"z\""), "ok");
	assert_string_equal(set(l, 4, "9"), "!IndexError");
	assert_string_equal(set(l, -5, "9"), "!IndexError");
	assert_string_equal(contents(l), "[0, \"a\", 2, \"z\"]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_del(l, -2)), "ok");
	assert_string_equal(contents(l), "[0, \"a\", \"z\"]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_del(l, 3)), "!IndexError");
	assert_string_equal(tval_rc(cur_ctx, ps_list_del(l, 0)), "ok");
	assert_string_equal(contents(l), "[\"a\", \"z\"]");
}

static void test_insert(void **state)
{
	ps_list *l = L(state);

	fill(l, "[1, 2, 3]");
	assert_string_equal(insert(l, 0, "0"), "ok");
	assert_string_equal(contents(l), "[0, 1, 2, 3]");
	/* Before the last item, as list.insert(-1, x). */
	assert_string_equal(insert(l, -1, "\"x\""), "ok");
	assert_string_equal(contents(l), "[0, 1, 2, \"x\", 3]");
	/* Out of range indexes clamp, as in Python. */
	assert_string_equal(insert(l, 100, "\"end\""), "ok");
	assert_string_equal(insert(l, -100, "\"start\""), "ok");
	assert_string_equal(contents(l), "[\"start\", 0, 1, 2, \"x\", 3, \"end\"]");
	assert_string_equal(insert(l, INT64_MAX, "7"), "ok");
	assert_string_equal(get(l, -1), "7");
}

static void test_pop(void **state)
{
	ps_list *l = L(state);

	assert_string_equal(pop(l, -1), "!IndexError");
	fill(l, "[\"a\", \"b\", \"c\", \"d\"]");
	assert_string_equal(pop(l, -1), "\"d\"");
	assert_string_equal(pop(l, 0), "\"a\"");
	assert_string_equal(pop(l, 5), "!IndexError");
	assert_string_equal(pop(l, -3), "!IndexError");
	assert_string_equal(pop(l, -2), "\"b\"");
	assert_string_equal(contents(l), "[\"c\"]");
}

static void test_remove_index_count_contains(void **state)
{
	ps_list *l = L(state);
	size_t n, cnt = 99;
	const uint8_t *p;
	int in = -1;

	fill(l, "[1, \"a\", 2, \"a\", [1], 1]");
	p = tval_enc("\"a\"", &n);
	assert_int_equal(ps_list_count(l, p, n, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_int_equal(ps_list_contains(l, p, n, &in), 0);
	assert_int_equal(in, 1);
	assert_string_equal(index_of(l, "\"a\"", 0, INT64_MAX), "1");
	assert_string_equal(index_of(l, "\"a\"", 2, INT64_MAX), "3");
	assert_string_equal(index_of(l, "\"a\"", -3, INT64_MAX), "3");
	assert_string_equal(index_of(l, "\"a\"", 2, 3), "!ValueError");
	assert_string_equal(index_of(l, "\"a\"", 4, 2), "!ValueError");
	assert_string_equal(index_of(l, "1", -1, INT64_MAX), "5");
	assert_string_equal(index_of(l, "1", 0, -1), "0");
	assert_string_equal(index_of(l, "1", 1, -1), "!ValueError");
	assert_string_equal(index_of(l, "[1]", 0, INT64_MAX), "4");
	assert_string_equal(index_of(l, "\"zz\"", 0, INT64_MAX), "!ValueError");
	/* remove: the first equal item. */
	assert_int_equal(ps_list_remove(l, p, n), 0);
	assert_string_equal(contents(l), "[1, 2, \"a\", [1], 1]");
	p = tval_enc("[1]", &n);
	assert_int_equal(ps_list_remove(l, p, n), 0);
	p = tval_enc("3", &n);
	assert_int_equal(ps_list_remove(l, p, n), -1);
	assert_string_equal(ps_errcode(cur_ctx), "ValueError");
	assert_int_equal(ps_list_contains(l, p, n, &in), 0);
	assert_int_equal(in, 0);
	assert_int_equal(ps_list_count(l, p, n, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_string_equal(contents(l), "[1, 2, \"a\", 1]");
}

/* Equality is by canonical value: 2 sent as int 64 matches a stored 2. */
static void test_equality_canonical(void **state)
{
	ps_list *l = L(state);
	static const uint8_t two64[] = { 0xd3, 0, 0, 0, 0, 0, 0, 0, 2 };
	size_t cnt = 0;
	int64_t at = -1;

	fill(l, "[1, 2, 3, 2]");
	assert_int_equal(ps_list_count(l, two64, sizeof two64, &cnt), 0);
	assert_int_equal(cnt, 2);
	assert_int_equal(ps_list_index(l, two64, sizeof two64, 0, INT64_MAX, &at), 0);
	assert_int_equal(at, 1);
	assert_int_equal(ps_list_remove(l, two64, sizeof two64), 0);
	assert_string_equal(contents(l), "[1, 3, 2]");
}

static void test_reverse_extend_clear(void **state)
{
	ps_list *l = L(state);
	size_t n;
	const uint8_t *p;

	fill(l, "[1, 2, 3]");
	assert_int_equal(ps_list_reverse(l), 0);
	assert_string_equal(contents(l), "[3, 2, 1]");
	p = tval_enc("[]", &n);
	assert_int_equal(ps_list_extend(l, p, n), 0);
	p = tval_enc("[4, [5]]", &n);
	assert_int_equal(ps_list_extend(l, p, n), 0);
	assert_string_equal(contents(l), "[3, 2, 1, 4, [5]]");
	p = tval_enc("5", &n);
	assert_int_equal(ps_list_extend(l, p, n), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	p = tval_enc("{\"a\": 1}", &n);
	assert_int_equal(ps_list_extend(l, p, n), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_int_equal(len_of(l), 5);
	assert_int_equal(ps_list_clear(l), 0);
	assert_string_equal(contents(l), "[]");
	assert_int_equal(ps_list_reverse(l), 0);
	assert_string_equal(contents(l), "[]");
}

static void test_getslice(void **state)
{
	ps_list *l = L(state);

	fill(l, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	assert_string_equal(slice(l, N, N, N), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	assert_string_equal(slice(l, 2, 5, N), "[2, 3, 4]");
	assert_string_equal(slice(l, N, N, 2), "[0, 2, 4, 6, 8]");
	assert_string_equal(slice(l, 1, N, 3), "[1, 4, 7]");
	assert_string_equal(slice(l, N, N, -1), "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
	assert_string_equal(slice(l, N, N, -3), "[9, 6, 3, 0]");
	assert_string_equal(slice(l, 7, 2, -2), "[7, 5, 3]");
	assert_string_equal(slice(l, -3, N, N), "[7, 8, 9]");
	assert_string_equal(slice(l, N, -7, N), "[0, 1, 2]");
	assert_string_equal(slice(l, -2, -5, -1), "[8, 7, 6]");
	assert_string_equal(slice(l, 1, -1, 4), "[1, 5]");
	/* Out of range bounds clamp; empty results. */
	assert_string_equal(slice(l, -100, 100, N), "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	assert_string_equal(slice(l, 100, N, N), "[]");
	assert_string_equal(slice(l, 5, 2, N), "[]");
	assert_string_equal(slice(l, 2, 5, -1), "[]");
	assert_string_equal(slice(l, 100, -100, -4), "[9, 5, 1]");
	assert_string_equal(slice(l, INT64_MAX, INT64_MIN + 1, -1), "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
	/* Step 0 is a ValueError, as in Python. */
	assert_string_equal(slice(l, N, N, 0), "!ValueError");
}

static void test_setslice(void **state)
{
	ps_list *l = L(state);

	fill(l, "[0, 1, 2, 3, 4, 5]");
	/* Step 1: any length, the list grows or shrinks. */
	assert_string_equal(setslice(l, 1, 3, N, "[\"a\", \"b\", \"c\"]"), "ok");
	assert_string_equal(contents(l), "[0, \"a\", \"b\", \"c\", 3, 4, 5]");
	assert_string_equal(setslice(l, 1, 4, N, "[]"), "ok");
	assert_string_equal(contents(l), "[0, 3, 4, 5]");
	assert_string_equal(setslice(l, 2, 2, N, "[9, 9]"), "ok");
	assert_string_equal(contents(l), "[0, 3, 9, 9, 4, 5]");
	assert_string_equal(setslice(l, N, N, N, "[1]"), "ok");
	assert_string_equal(contents(l), "[1]");
	assert_string_equal(setslice(l, 100, 200, N, "[2, 3]"), "ok");
	assert_string_equal(contents(l), "[1, 2, 3]");
	/* Extended slices: exactly as many items as the slice has. */
	fill(l, "[0, 1, 2, 3, 4, 5]");
	assert_string_equal(setslice(l, N, N, 2, "[\"a\", \"b\", \"c\"]"), "ok");
	assert_string_equal(contents(l), "[\"a\", 1, \"b\", 3, \"c\", 5]");
	assert_string_equal(setslice(l, N, N, -1, "[6, 5, 4, 3, 2, 1]"), "ok");
	assert_string_equal(contents(l), "[1, 2, 3, 4, 5, 6]");
	assert_string_equal(setslice(l, 5, 0, -2, "[\"x\", \"y\", \"z\"]"), "ok");
	assert_string_equal(contents(l), "[1, \"z\", 3, \"y\", 5, \"x\"]");
	assert_string_equal(setslice(l, N, N, 2, "[1, 2]"), "!ValueError");
	assert_string_equal(setslice(l, N, N, 0, "[]"), "!ValueError");
	assert_string_equal(setslice(l, 0, 1, N, "7"), "!TypeError");
	assert_string_equal(contents(l), "[1, \"z\", 3, \"y\", 5, \"x\"]");
}

static void test_delslice(void **state)
{
	ps_list *l = L(state);

	fill(l, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, N, N, 3)), "ok");
	assert_string_equal(contents(l), "[1, 2, 4, 5, 7, 8]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, 1, 3, N)), "ok");
	assert_string_equal(contents(l), "[1, 5, 7, 8]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, -1, N, -2)), "ok");
	assert_string_equal(contents(l), "[1, 7]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, 5, 1, N)), "ok");
	assert_string_equal(contents(l), "[1, 7]");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, N, N, 0)), "!ValueError");
	assert_string_equal(tval_rc(cur_ctx, ps_list_delslice(l, N, N, -1)), "ok");
	assert_string_equal(contents(l), "[]");
}

static void test_sort(void **state)
{
	ps_list *l = L(state);

	fill(l, "[3, -1, 2, 10, 0]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	assert_string_equal(contents(l), "[-1, 0, 2, 3, 10]");
	assert_int_equal(ps_list_sort(l, 1), 0);
	assert_string_equal(contents(l), "[10, 3, 2, 0, -1]");
	/* ints and floats order together */
	fill(l, "[3, 1.5, 2, -0.5, 18446744073709551615, -9223372036854775808]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	assert_string_equal(contents(l), "[-9223372036854775808, -0.5, 1.5, 2, 3, 18446744073709551615]");
	/* strs by code point; bytes by byte */
	fill(l, "[\"b\", \"\xc3\xa9\", \"a\", \"Z\", \"ab\", \"\"]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	assert_string_equal(contents(l), "[\"\", \"Z\", \"a\", \"ab\", \"b\", \"\xc3\xa9\"]");
	fill(l, "[b\"02\", b\"0100\", b\"01\"]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	assert_string_equal(contents(l), "[b\"01\", b\"0100\", b\"02\"]");
	/* arrays lexicographically */
	fill(l, "[[1, 2], [1], [0, 5], [1, 1, 9]]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	assert_string_equal(contents(l), "[[0, 5], [1], [1, 1, 9], [1, 2]]");
	/* Sorting an empty or one-item list is fine. */
	fill(l, "[]");
	assert_int_equal(ps_list_sort(l, 0), 0);
	fill(l, "[{}]");
	assert_int_equal(ps_list_sort(l, 0), 0);
}

/* Items that cannot be ordered: TypeError and the list as it was, even
 * when the bad pair is met late. */
static void test_sort_mixed_types(void **state)
{
	ps_list *l = L(state);
	char arr[4096];
	int n = 0;

	fill(l, "[1, \"a\"]");
	assert_int_equal(ps_list_sort(l, 0), -1);
	assert_int_equal(ps_err(cur_ctx), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_string_equal(contents(l), "[1, \"a\"]");
	fill(l, "[{\"a\": 1}, {\"b\": 2}]");
	assert_int_equal(ps_list_sort(l, 0), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	fill(l, "[[1, 2], [1, \"x\"]]");
	assert_int_equal(ps_list_sort(l, 1), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_string_equal(contents(l), "[[1, 2], [1, \"x\"]]");
	/* 200 descending ints then a str. */
	n += snprintf(arr + n, sizeof arr - (size_t)n, "[");
	for (int i = 200; i > 0; i--)
		n += snprintf(arr + n, sizeof arr - (size_t)n, "%d, ", i);
	snprintf(arr + n, sizeof arr - (size_t)n, "\"s\"]");
	fill(l, arr);
	assert_int_equal(ps_list_sort(l, 0), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_string_equal(get(l, 0), "200");
	assert_string_equal(get(l, 1), "199");
	assert_string_equal(get(l, 199), "1");
	assert_string_equal(get(l, 200), "\"s\"");
}

static void test_typed(void **state)
{
	ps_list *l = L(state);
	char *s = NULL;
	int64_t i = 0;
	double x = 0;
	void *b = NULL;
	size_t bl = 0;

	assert_int_equal(ps_list_append_str(l, "s"), 0);
	assert_int_equal(ps_list_append_int(l, -5), 0);
	assert_int_equal(ps_list_append_double(l, 2.5), 0);
	assert_int_equal(ps_list_append_bytes(l, "\xff\x00", 2), 0);
	assert_string_equal(contents(l), "[\"s\", -5, 2.5, b\"ff00\"]");
	assert_int_equal(ps_list_get_str(l, 0, &s), 0);
	assert_string_equal(s, "s");
	free(s);
	assert_int_equal(ps_list_get_int(l, -3, &i), 0);
	assert_int_equal(i, -5);
	assert_int_equal(ps_list_get_double(l, 2, &x), 0);
	assert_true(x == 2.5);
	assert_int_equal(ps_list_get_bytes(l, -1, &b, &bl), 0);
	assert_int_equal(bl, 2);
	assert_memory_equal(b, "\xff\x00", 2);
	free(b);
	assert_int_equal(ps_list_get_int(l, 0, &i), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_int_equal(ps_list_get_str(l, 9, &s), -1);
	assert_string_equal(ps_errcode(cur_ctx), "IndexError");
}

static void test_named(void **state)
{
	struct tfix *f = *state;
	ps_list *a = ps_list_open(f->ctx, "q"), *b;
	ps_ctx *other = tdaemon_connect(&f->td);
	int64_t v = 0;

	cur_ctx = f->ctx;
	assert_non_null(a);
	b = ps_list_open(other, "q");
	assert_non_null(b);
	assert_true(ps_list_id(a) == ps_list_id(b));
	assert_int_equal(ps_list_append_int(a, 7), 0);
	assert_int_equal(ps_list_get_int(b, 0, &v), 0);
	assert_int_equal(v, 7);
	/* Using a list id with dict methods is a TypeError. */
	assert_null(ps_dict_open(other, "q"));
	assert_int_equal(ps_ping(other), 0);
	ps_list_free(b);
	ps_free(other);
	ps_list_free(a);
	ps_list_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup_list, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_append_get_len),
		T(test_set_del),
		T(test_insert),
		T(test_pop),
		T(test_remove_index_count_contains),
		T(test_equality_canonical),
		T(test_reverse_extend_clear),
		T(test_getslice),
		T(test_setslice),
		T(test_delslice),
		T(test_sort),
		T(test_sort_mixed_types),
		T(test_typed),
		T(test_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
