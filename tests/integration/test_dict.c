/*
 * The dict type through the C API against a real daemon: every function of
 * procshare.h's dict section, with Python's results and errors (results are
 * compared as text, see tests/lib/tval.h).
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

/* ---- wrappers: arguments and results as text ---------------------------- */

static ps_ctx *cur_ctx;

static const char *set(ps_dict *d, const char *k, const char *v)
{
	size_t kl, vl;
	const uint8_t *kp = tval_enc(k, &kl), *vp = tval_enc(v, &vl);

	return tval_rc(cur_ctx, ps_dict_set(d, kp, kl, vp, vl));
}

static const char *get(ps_dict *d, const char *k)
{
	size_t kl, vl = 0;
	const uint8_t *kp = tval_enc(k, &kl);
	void *v = NULL;

	int rc = ps_dict_get(d, kp, kl, &v, &vl);

	return tval_res(cur_ctx, rc, v, vl);
}

static const char *del(ps_dict *d, const char *k)
{
	size_t kl;
	const uint8_t *kp = tval_enc(k, &kl);

	return tval_rc(cur_ctx, ps_dict_del(d, kp, kl));
}

static const char *contains(ps_dict *d, const char *k)
{
	size_t kl;
	const uint8_t *kp = tval_enc(k, &kl);
	int out = -1;

	if (ps_dict_contains(d, kp, kl, &out) < 0)
		return tval_rc(cur_ctx, -1);
	return out == 1 ? "true" : out == 0 ? "false" : "<bad>";
}

static long len_of(ps_dict *d)
{
	size_t n = 12345;

	if (ps_dict_len(d, &n) < 0)
		fail_msg("len: %s", ps_errstr(cur_ctx));
	return (long)n;
}

typedef int (*whole_fn)(ps_dict *, void **, size_t *);

static const char *whole(ps_dict *d, whole_fn fn)
{
	void *out = NULL;
	size_t n = 0;

	int rc = fn(d, &out, &n);

	return tval_res(cur_ctx, rc, out, n);
}

static const char *pop(ps_dict *d, const char *k, const char *def)
{
	size_t kl, dl = 0, vl = 0;
	const uint8_t *kp = tval_enc(k, &kl), *dp = def ? tval_enc(def, &dl) : NULL;
	void *v = NULL;

	int rc = ps_dict_pop(d, kp, kl, dp, dl, &v, &vl);

	return tval_res(cur_ctx, rc, v, vl);
}

static const char *setdefault(ps_dict *d, const char *k, const char *def)
{
	size_t kl, dl = 0, vl = 0;
	const uint8_t *kp = tval_enc(k, &kl), *dp = def ? tval_enc(def, &dl) : NULL;
	void *v = NULL;

	int rc = ps_dict_setdefault(d, kp, kl, dp, dl, &v, &vl);

	return tval_res(cur_ctx, rc, v, vl);
}

static const char *update(ps_dict *d, const char *src)
{
	size_t sl;
	const uint8_t *sp = tval_enc(src, &sl);

	return tval_rc(cur_ctx, ps_dict_update(d, sp, sl));
}

static struct tfix *fix(void **state)
{
	struct tfix *f = *state;

	cur_ctx = f->ctx;
	return f;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_set_get_len_del(void **state)
{
	ps_dict *d = fix(state)->dict;

	assert_int_equal(len_of(d), 0);
	assert_string_equal(set(d, "\"a\"", "1"), "ok");
	assert_string_equal(set(d, "\"b\"", "[1, \"two\", 3.5]"), "ok");
	assert_int_equal(len_of(d), 2);
	assert_string_equal(get(d, "\"a\""), "1");
	assert_string_equal(get(d, "\"b\""), "[1, \"two\", 3.5]");
	assert_string_equal(set(d, "\"a\"", "\"one\""), "ok");   /* overwrite */
	assert_int_equal(len_of(d), 2);
	assert_string_equal(get(d, "\"a\""), "\"one\"");
	assert_string_equal(contains(d, "\"a\""), "true");
	assert_string_equal(contains(d, "\"zz\""), "false");
	assert_string_equal(del(d, "\"a\""), "ok");
	assert_string_equal(contains(d, "\"a\""), "false");
	assert_int_equal(len_of(d), 1);
	/* Missing keys: KeyError, and the error does not stick. */
	assert_string_equal(get(d, "\"a\""), "!KeyError");
	assert_int_equal(ps_err(cur_ctx), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(cur_ctx), "KeyError");
	assert_string_equal(del(d, "\"a\""), "!KeyError");
	assert_string_equal(get(d, "\"b\""), "[1, \"two\", 3.5]");
}

/* Every hashable kind of key, and keys that differ only by type. */
static void test_key_kinds(void **state)
{
	ps_dict *d = fix(state)->dict;
	static const char *const keys[] = {
		"nil", "true", "false", "0", "1", "-1", "18446744073709551615", "-9223372036854775808",
		"1.5", "\"\"", "\"1\"", "b\"\"", "b\"31\"", "[]", "[1, [2, \"x\"]]", "ext(5, \"00\")",
	};
	char want[64];

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(want, sizeof want, "%zu", i);
		assert_string_equal(set(d, keys[i], want), "ok");
	}
	assert_int_equal(len_of(d), (long)(sizeof keys / sizeof keys[0]));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(want, sizeof want, "%zu", i);
		if (strcmp(get(d, keys[i]), want) != 0)
			fail_msg("key %s: got %s, want %s", keys[i], get(d, keys[i]), want);
	}
}

/* Keys compare by canonical value: the same integer or string in a longer
 * encoding is the same key. */
static void test_keys_canonical(void **state)
{
	ps_dict *d = fix(state)->dict;
	/* 5 as fixint, uint 16, int 64; "ab" as fixstr and str 8 */
	static const uint8_t five_a[] = { 0x05 }, five_b[] = { 0xcd, 0x00, 0x05 },
			     five_c[] = { 0xd3, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const uint8_t ab_a[] = { 0xa2, 'a', 'b' }, ab_b[] = { 0xd9, 0x02, 'a', 'b' };
	size_t vl;
	const uint8_t *v = tval_enc("\"five\"", &vl);
	void *out = NULL;
	size_t olen = 0;
	int in = 0;

	assert_int_equal(ps_dict_set(d, five_b, sizeof five_b, v, vl), 0);
	assert_int_equal(ps_dict_get(d, five_a, sizeof five_a, &out, &olen), 0);
	assert_string_equal(tval_text(out, olen), "\"five\"");
	free(out);
	assert_int_equal(ps_dict_contains(d, five_c, sizeof five_c, &in), 0);
	assert_int_equal(in, 1);
	assert_int_equal(ps_dict_set(d, ab_b, sizeof ab_b, v, vl), 0);
	assert_int_equal(ps_dict_del(d, ab_a, sizeof ab_a), 0);
	assert_int_equal(len_of(d), 1);
	/* keys() hands back the canonical form. */
	assert_string_equal(whole(d, ps_dict_keys), "[5]");
	{
		void *k = NULL;
		size_t kl = 0;

		assert_int_equal(ps_dict_keys(d, &k, &kl), 0);
		assert_int_equal(kl, 2);
		assert_memory_equal(k, "\x91\x05", 2);
		free(k);
	}
}

/* Values come back in canonical form (float 32 widened, shortest ints). */
static void test_values_canonical(void **state)
{
	ps_dict *d = fix(state)->dict;
	static const uint8_t f32[] = { 0xca, 0x3f, 0xc0, 0x00, 0x00 };  /* 1.5 */
	static const uint8_t i64[] = { 0xd3, 0, 0, 0, 0, 0, 0, 0, 7 };   /* 7 */
	size_t kl;
	const uint8_t *k = tval_enc("\"f\"", &kl);
	void *out = NULL;
	size_t n = 0;

	assert_int_equal(ps_dict_set(d, k, kl, f32, sizeof f32), 0);
	assert_int_equal(ps_dict_get(d, k, kl, &out, &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(out, "\xcb\x3f\xf8\0\0\0\0\0\0", 9);
	free(out);
	assert_int_equal(ps_dict_set(d, k, kl, i64, sizeof i64), 0);
	assert_int_equal(ps_dict_get(d, k, kl, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(((uint8_t *)out)[0], 7);
	free(out);
}

static void test_bad_keys_and_values(void **state)
{
	ps_dict *d = fix(state)->dict;
	static const uint8_t bad_utf8[] = { 0xa2, 0xc3, 0x28 };
	static const uint8_t truncated[] = { 0x92, 0x01 };
	size_t vl;
	const uint8_t *v = tval_enc("1", &vl);

	/* Maps are not hashable, at any depth. */
	assert_string_equal(set(d, "{\"a\": 1}", "1"), "!TypeError");
	assert_string_equal(set(d, "[1, {}]", "1"), "!TypeError");
	assert_string_equal(get(d, "{}"), "!TypeError");
	/* A map is a fine value. */
	assert_string_equal(set(d, "\"m\"", "{\"a\": {\"b\": [1]}}"), "ok");
	assert_string_equal(get(d, "\"m\""), "{\"a\": {\"b\": [1]}}");
	/* str must be UTF-8. */
	assert_int_equal(ps_dict_set(d, bad_utf8, sizeof bad_utf8, v, vl), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_int_equal(ps_dict_set(d, v, vl, bad_utf8, sizeof bad_utf8), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	/* A value that is not one complete MessagePack object never reaches
	 * the daemon as such: the call fails (locally or remotely), and the
	 * connection still works. */
	assert_int_equal(ps_dict_set(d, v, vl, truncated, sizeof truncated), -1);
	assert_int_equal(ps_ping(cur_ctx), 0);
	/* A reference must name a live object. */
	assert_string_equal(set(d, "\"r\"", "ref(999999)"), "!NoSuchObject");
	assert_int_equal(len_of(d), 1);
}

static void test_order(void **state)
{
	ps_dict *d = fix(state)->dict;

	set(d, "\"c\"", "1");
	set(d, "\"a\"", "2");
	set(d, "\"b\"", "3");
	assert_string_equal(whole(d, ps_dict_keys), "[\"c\", \"a\", \"b\"]");
	assert_string_equal(whole(d, ps_dict_values), "[1, 2, 3]");
	assert_string_equal(whole(d, ps_dict_items), "[[\"c\", 1], [\"a\", 2], [\"b\", 3]]");
	assert_string_equal(whole(d, ps_dict_copy), "{\"c\": 1, \"a\": 2, \"b\": 3}");
	/* Overwriting keeps the place; deleting and re-adding moves to the end. */
	set(d, "\"c\"", "10");
	assert_string_equal(whole(d, ps_dict_keys), "[\"c\", \"a\", \"b\"]");
	del(d, "\"c\"");
	set(d, "\"c\"", "11");
	assert_string_equal(whole(d, ps_dict_items), "[[\"a\", 2], [\"b\", 3], [\"c\", 11]]");
}

static void test_pop(void **state)
{
	ps_dict *d = fix(state)->dict;

	set(d, "\"a\"", "[1]");
	assert_string_equal(pop(d, "\"a\"", NULL), "[1]");
	assert_string_equal(contains(d, "\"a\""), "false");
	assert_string_equal(pop(d, "\"a\"", NULL), "!KeyError");
	assert_string_equal(pop(d, "\"a\"", "\"dflt\""), "\"dflt\"");
	assert_string_equal(pop(d, "\"a\"", "nil"), "nil");
	assert_int_equal(len_of(d), 0);
	set(d, "\"b\"", "2");
	assert_string_equal(pop(d, "\"b\"", "\"dflt\""), "2");
}

static void test_popitem(void **state)
{
	ps_dict *d = fix(state)->dict;
	void *out = NULL;
	size_t n = 0;

	assert_int_equal(ps_dict_popitem(d, &out, &n), -1);
	assert_string_equal(ps_errcode(cur_ctx), "KeyError");
	set(d, "1", "\"one\"");
	set(d, "2", "\"two\"");
	set(d, "3", "\"three\"");
	del(d, "3");
	/* LIFO, like Python 3.7+. */
	assert_string_equal(whole(d, ps_dict_popitem), "[2, \"two\"]");
	set(d, "4", "\"four\"");
	assert_string_equal(whole(d, ps_dict_popitem), "[4, \"four\"]");
	assert_string_equal(whole(d, ps_dict_popitem), "[1, \"one\"]");
	assert_string_equal(whole(d, ps_dict_popitem), "!KeyError");
	assert_int_equal(len_of(d), 0);
}

static void test_setdefault(void **state)
{
	ps_dict *d = fix(state)->dict;

	assert_string_equal(setdefault(d, "\"k\"", "[]"), "[]");
	assert_string_equal(get(d, "\"k\""), "[]");
	assert_string_equal(setdefault(d, "\"k\"", "5"), "[]");
	assert_string_equal(get(d, "\"k\""), "[]");
	assert_string_equal(setdefault(d, "\"n\"", NULL), "nil");
	assert_string_equal(get(d, "\"n\""), "nil");
	assert_int_equal(len_of(d), 2);
	assert_string_equal(setdefault(d, "{}", "1"), "!TypeError");
}

static void test_update(void **state)
{
	ps_dict *d = fix(state)->dict;

	set(d, "\"a\"", "0");
	assert_string_equal(update(d, "{\"b\": 2, \"a\": 1}"), "ok");
	assert_string_equal(whole(d, ps_dict_items), "[[\"a\", 1], [\"b\", 2]]");
	assert_string_equal(update(d, "[[\"c\", 3], [\"a\", 4]]"), "ok");
	assert_string_equal(whole(d, ps_dict_items), "[[\"a\", 4], [\"b\", 2], [\"c\", 3]]");
	assert_string_equal(update(d, "{}"), "ok");
	assert_string_equal(update(d, "[]"), "ok");
	assert_int_equal(len_of(d), 3);
	/* Python: dict.update([[1, 2, 3]]) is a ValueError, update([1]) and
	 * update(5) are TypeErrors, an unhashable key is a TypeError. */
	assert_string_equal(update(d, "[[1, 2, 3]]"), "!ValueError");
	assert_string_equal(update(d, "[1]"), "!TypeError");
	assert_string_equal(update(d, "5"), "!TypeError");
	assert_string_equal(update(d, "[[{}, 1]]"), "!TypeError");
	assert_string_equal(whole(d, ps_dict_items), "[[\"a\", 4], [\"b\", 2], [\"c\", 3]]");
}

static void test_clear_copy(void **state)
{
	ps_dict *d = fix(state)->dict;

	assert_string_equal(whole(d, ps_dict_copy), "{}");
	assert_string_equal(whole(d, ps_dict_keys), "[]");
	set(d, "\"x\"", "b\"00ff\"");
	assert_string_equal(whole(d, ps_dict_copy), "{\"x\": b\"00ff\"}");
	assert_int_equal(ps_dict_clear(d), 0);
	assert_int_equal(len_of(d), 0);
	assert_string_equal(whole(d, ps_dict_copy), "{}");
	assert_int_equal(ps_dict_clear(d), 0);
}

static void test_typed(void **state)
{
	ps_dict *d = fix(state)->dict;
	char *s = NULL;
	int64_t i = 0;
	double x = 0;
	void *b = NULL;
	size_t bl = 0;
	int in = -1;

	assert_int_equal(ps_dict_set_str(d, "s", "h\xc3\xa9llo"), 0);
	assert_int_equal(ps_dict_set_int(d, "i", INT64_MIN), 0);
	assert_int_equal(ps_dict_set_double(d, "x", -0.25), 0);
	assert_int_equal(ps_dict_set_bytes(d, "b", "\0\1\2", 3), 0);
	assert_int_equal(ps_dict_get_str(d, "s", &s), 0);
	assert_string_equal(s, "h\xc3\xa9llo");
	free(s);
	assert_int_equal(ps_dict_get_int(d, "i", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(ps_dict_get_double(d, "x", &x), 0);
	assert_true(x == -0.25);
	assert_int_equal(ps_dict_get_bytes(d, "b", &b, &bl), 0);
	assert_int_equal(bl, 3);
	assert_memory_equal(b, "\0\1\2", 3);
	free(b);
	/* The typed path and the generic one see the same values. */
	assert_string_equal(get(d, "\"x\""), "-0.25");
	assert_string_equal(get(d, "\"b\""), "b\"000102\"");
	/* Wrong stored type: TypeError; missing: KeyError. */
	assert_int_equal(ps_dict_get_int(d, "s", &i), -1);
	assert_int_equal(ps_err(cur_ctx), PS_ERR_ARG); /* a local check: the value arrived */
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_int_equal(ps_dict_get_str(d, "i", &s), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	/* _bytes takes a str as its UTF-8 bytes, but not an int. */
	assert_int_equal(ps_dict_get_bytes(d, "i", &b, &bl), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_int_equal(ps_dict_get_double(d, "nope", &x), -1);
	assert_string_equal(ps_errcode(cur_ctx), "KeyError");
	assert_int_equal(ps_dict_contains_str(d, "s", &in), 0);
	assert_int_equal(in, 1);
	assert_int_equal(ps_dict_del_str(d, "s"), 0);
	assert_int_equal(ps_dict_contains_str(d, "s", &in), 0);
	assert_int_equal(in, 0);
	assert_int_equal(ps_dict_del_str(d, "s"), -1);
	assert_string_equal(ps_errcode(cur_ctx), "KeyError");
	/* A str with a NUL inside comes back whole through the generic path. */
	assert_string_equal(set(d, "\"z\"", "\"a\\x00b\""), "ok");
	assert_string_equal(get(d, "\"z\""), "\"a\\x00b\"");
}

static void test_incr(void **state)
{
	ps_dict *d = fix(state)->dict;
	int64_t r = 0;
	double x = 0;

	assert_int_equal(ps_dict_incr_int(d, "n", 5, &r), 0);
	assert_int_equal(r, 5);
	assert_int_equal(ps_dict_incr_int(d, "n", -7, &r), 0);
	assert_int_equal(r, -2);
	assert_int_equal(ps_dict_incr_int(d, "n", 0, NULL), 0);
	assert_string_equal(get(d, "\"n\""), "-2");
	/* Overflow leaves the value alone. */
	assert_int_equal(ps_dict_set_int(d, "big", INT64_MAX - 1), 0);
	assert_int_equal(ps_dict_incr_int(d, "big", 1, &r), 0);
	assert_true(r == INT64_MAX);
	assert_int_equal(ps_dict_incr_int(d, "big", 1, &r), -1);
	assert_string_equal(ps_errcode(cur_ctx), "OverflowError");
	assert_int_equal(ps_dict_set_int(d, "small", INT64_MIN), 0);
	assert_int_equal(ps_dict_incr_int(d, "small", -1, &r), -1);
	assert_string_equal(ps_errcode(cur_ctx), "OverflowError");
	assert_string_equal(get(d, "\"big\""), "9223372036854775807");
	/* Not an integer. */
	assert_int_equal(ps_dict_set_str(d, "s", "x"), 0);
	assert_int_equal(ps_dict_incr_int(d, "s", 1, &r), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
	assert_string_equal(get(d, "\"s\""), "\"x\"");
	/* Doubles. */
	assert_int_equal(ps_dict_incr_double(d, "f", 0.5, &x), 0);
	assert_true(x == 0.5);
	assert_int_equal(ps_dict_incr_double(d, "f", 0.25, &x), 0);
	assert_true(x == 0.75);
	assert_string_equal(get(d, "\"f\""), "0.75");
	assert_int_equal(ps_dict_incr_double(d, "s", 1.0, &x), -1);
	assert_string_equal(ps_errcode(cur_ctx), "TypeError");
}

static void test_big_values(void **state)
{
	ps_dict *d = fix(state)->dict;
	size_t n = 200000;
	char *big = malloc(n + 1);
	char *back = NULL;

	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	assert_int_equal(ps_dict_set_str(d, big, big), 0);
	assert_int_equal(ps_dict_get_str(d, big, &back), 0);
	assert_string_equal(back, big);
	free(back);
	free(big);
	/* Many keys. */
	for (int i = 0; i < 5000; i++) {
		char k[32];

		snprintf(k, sizeof k, "k%d", i);
		assert_int_equal(ps_dict_set_int(d, k, i), 0);
	}
	assert_int_equal(len_of(d), 5001);
	for (int i = 0; i < 5000; i += 7) {
		char k[32];
		int64_t v = -1;

		snprintf(k, sizeof k, "k%d", i);
		assert_int_equal(ps_dict_get_int(d, k, &v), 0);
		assert_int_equal(v, i);
	}
}

/* A dict used as a stack or queue: insert and remove distinct keys many
 * times while few are live at once. */
static void test_churn(void **state)
{
	ps_dict *d = fix(state)->dict;
	char k[32];

	/* A hang shows up as a timeout. */
	ps_set_timeout(cur_ctx, 5000);
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof k, "churn%d", i);
		assert_int_equal(ps_dict_set_int(d, k, i), 0);
		assert_int_equal(ps_dict_del_str(d, k), 0);
	}
	assert_int_equal(len_of(d), 0);
	assert_int_equal(ps_ping(cur_ctx), 0);
}

/* Named dicts: one object per name, shared by every opener. */
static void test_named(void **state)
{
	struct tfix *f = fix(state);
	ps_dict *a = ps_dict_open(f->ctx, "shared-dict"), *b;
	ps_ctx *other = tdaemon_connect(&f->td);
	int64_t v = 0;

	assert_non_null(a);
	b = ps_dict_open(other, "shared-dict");
	assert_non_null(b);
	assert_true(ps_dict_id(a) == ps_dict_id(b));
	assert_true(ps_dict_id(a) != ps_dict_id(f->dict));
	assert_int_equal(ps_dict_set_int(a, "k", 42), 0);
	assert_int_equal(ps_dict_get_int(b, "k", &v), 0);
	assert_int_equal(v, 42);
	/* The name is taken by a dict: a list of that name is refused. */
	assert_null(ps_list_open(other, "shared-dict"));
	assert_int_equal(ps_err(other), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(other), "Exists");
	assert_int_equal(ps_ping(other), 0);
	ps_dict_free(b);
	ps_free(other);
	ps_dict_free(a);
	ps_dict_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup_dict, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set_get_len_del),
		T(test_key_kinds),
		T(test_keys_canonical),
		T(test_values_canonical),
		T(test_bad_keys_and_values),
		T(test_order),
		T(test_pop),
		T(test_popitem),
		T(test_setdefault),
		T(test_update),
		T(test_clear_copy),
		T(test_typed),
		T(test_incr),
		T(test_big_values),
		T(test_churn),
		T(test_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
