/*
 * The set type against a real daemon: members (add, discard, remove, pop
 * and their errors), hashability, equality by encoding, the algebra with
 * array operands, references to other sets and to the set itself, the
 * _update forms, all-or-nothing updates, references kept alive by
 * members, forked clients adding at once, and the lifetime of anonymous
 * and named sets. Expected results are Python's, in the set's order.
 */
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

#define NPROC 6
#define NADD 150

/* ---- helpers ---------------------------------------------------------- */

static ps_set *make(ps_ctx *ctx, const char *members)
{
	size_t n = 0;
	const uint8_t *p = members != NULL ? tval_enc(members, &n) : NULL;
	ps_set *s = ps_set_new(ctx, p, n);

	if (s == NULL)
		fail_msg("ps_set_new(%s): %s", members ? members : "NULL", ps_errstr(ctx));
	return s;
}

static const char *members(ps_set *s, ps_ctx *ctx)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_set_copy(s, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *add(ps_set *s, ps_ctx *ctx, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_set_add(s, p, n));
}

static const char *discard(ps_set *s, ps_ctx *ctx, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_set_discard(s, p, n));
}

static const char *remove_(ps_set *s, ps_ctx *ctx, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_set_remove(s, p, n));
}

static int contains(ps_set *s, ps_ctx *ctx, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);
	int out = -1;

	if (ps_set_contains(s, p, n, &out) < 0)
		fail_msg("contains %s: %s", v, ps_errstr(ctx));
	return out;
}

/* "ref(id)" for s, as operand text. */
static const char *ref(ps_set *s)
{
	static char buf[4][32];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof buf[0], "ref(%llu)", (unsigned long long)ps_set_id(s));
	return b;
}

/* ---- members ---------------------------------------------------------- */

static void test_members(void **state)
{
	struct tfix *f = *state;
	ps_set *s = make(f->ctx, NULL);
	size_t len = 9;
	void *out = NULL;
	size_t n = 0;

	assert_string_equal(members(s, f->ctx), "[]");
	assert_string_equal(add(s, f->ctx, "1"), "ok");
	assert_string_equal(add(s, f->ctx, "\"a\""), "ok");
	assert_string_equal(add(s, f->ctx, "1"), "ok");
	assert_string_equal(add(s, f->ctx, "[1, \"t\"]"), "ok");
	assert_int_equal(ps_set_len(s, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(members(s, f->ctx), "[1, \"a\", [1, \"t\"]]");
	assert_int_equal(contains(s, f->ctx, "[1, \"t\"]"), 1);
	assert_int_equal(contains(s, f->ctx, "2"), 0);

	/* Equal means the same encoding: 1.0, true and b"61" are other members. */
	assert_int_equal(contains(s, f->ctx, "1.0"), 0);
	assert_int_equal(contains(s, f->ctx, "true"), 0);
	assert_int_equal(contains(s, f->ctx, "b\"61\""), 0);
	assert_string_equal(add(s, f->ctx, "1.0"), "ok");
	assert_int_equal(ps_set_len(s, &len), 0);
	assert_int_equal(len, 4);

	/* Unhashable: a map, anywhere. */
	assert_string_equal(add(s, f->ctx, "{\"k\": 1}"), "!TypeError");
	assert_string_equal(add(s, f->ctx, "[1, {}]"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.contains", ps_set_id(s), "{}"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.discard", ps_set_id(s), "{}"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.add", ps_set_id(s), ""), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.add", ps_set_id(s), "1, 2"), "!TypeError");

	/* discard ignores what is absent; remove does not. */
	assert_string_equal(discard(s, f->ctx, "\"zz\""), "ok");
	assert_string_equal(discard(s, f->ctx, "\"a\""), "ok");
	assert_string_equal(remove_(s, f->ctx, "\"a\""), "!KeyError");
	assert_string_equal(remove_(s, f->ctx, "1.0"), "ok");
	assert_string_equal(members(s, f->ctx), "[1, [1, \"t\"]]");

	/* pop takes the member added last. */
	assert_int_equal(ps_set_pop(s, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "[1, \"t\"]");
	assert_int_equal(ps_set_pop(s, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "1");
	assert_int_equal(ps_set_pop(s, &out, &n), -1);
	assert_string_equal(ps_errcode(f->ctx), "KeyError");
	assert_string_equal(ps_errstr(f->ctx), "KeyError: pop from an empty set");

	assert_string_equal(add(s, f->ctx, "5"), "ok");
	assert_int_equal(ps_set_clear(s), 0);
	assert_string_equal(members(s, f->ctx), "[]");
	ps_set_free(s);
}

static void test_typed_helpers(void **state)
{
	struct tfix *f = *state;
	ps_set *s = make(f->ctx, NULL);
	int in = -1;

	assert_int_equal(ps_set_add_str(s, "x"), 0);
	assert_int_equal(ps_set_add_int(s, -3), 0);
	assert_int_equal(ps_set_add_int(s, 7), 0);
	assert_int_equal(ps_set_contains_str(s, "x", &in), 0);
	assert_int_equal(in, 1);
	assert_int_equal(ps_set_contains_int(s, 8, &in), 0);
	assert_int_equal(in, 0);
	assert_int_equal(ps_set_discard_int(s, 8), 0);
	assert_int_equal(ps_set_remove_int(s, 8), -1);
	assert_string_equal(ps_errcode(f->ctx), "KeyError");
	assert_int_equal(ps_set_remove_int(s, 7), 0);
	assert_int_equal(ps_set_discard_str(s, "x"), 0);
	assert_int_equal(ps_set_remove_str(s, "x"), -1);
	assert_string_equal(members(s, f->ctx), "[-3]");
	ps_set_free(s);
}

/* ---- the algebra ------------------------------------------------------ */

static void test_algebra_arrays(void **state)
{
	struct tfix *f = *state;
	ps_set *s = make(f->ctx, "[1, 2, 3, 4]");
	uint64_t id = ps_set_id(s);

	assert_string_equal(tfix_on(f->ctx, "set.union", id, "[3, 4, 5], [6, 1]"), "[1, 2, 3, 4, 5, 6]");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, "[5, 5, 5]"), "[1, 2, 3, 4, 5]");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, ""), "[1, 2, 3, 4]");
	assert_string_equal(tfix_on(f->ctx, "set.intersection", id, "[2, 3, 9], [3, 2]"), "[2, 3]");
	assert_string_equal(tfix_on(f->ctx, "set.intersection", id, ""), "[1, 2, 3, 4]");
	assert_string_equal(tfix_on(f->ctx, "set.intersection", id, "[]"), "[]");
	assert_string_equal(tfix_on(f->ctx, "set.difference", id, "[1], [4, 7]"), "[2, 3]");
	assert_string_equal(tfix_on(f->ctx, "set.difference", id, ""), "[1, 2, 3, 4]");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference", id, "[3, 4, 5, 6, 5]"), "[1, 2, 5, 6]");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference", id, ""), "!TypeError");
	assert_true(strstr(ps_errstr(f->ctx), "takes exactly one argument (0 given)") != NULL);
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference", id, "[1], [2]"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.isdisjoint", id, "[5, 6]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.isdisjoint", id, "[4]"), "false");
	assert_string_equal(tfix_on(f->ctx, "set.issubset", id, "[1, 2, 3, 4, 5]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.issubset", id, "[1, 2]"), "false");
	assert_string_equal(tfix_on(f->ctx, "set.issuperset", id, "[1, 2]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.issuperset", id, "[1, 9]"), "false");
	assert_string_equal(tfix_on(f->ctx, "set.issuperset", id, "[]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.issubset", id, ""), "!TypeError");
	/* Operands: arrays of hashable members, or references to sets. */
	assert_string_equal(tfix_on(f->ctx, "set.union", id, "5"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, "{\"a\": 1}"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, "[{}]"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, "ref(123456)"), "!NoSuchObject");
	/* None of that changed the set. */
	assert_string_equal(members(s, f->ctx), "[1, 2, 3, 4]");
	ps_set_free(s);

	s = make(f->ctx, NULL);
	id = ps_set_id(s);
	assert_string_equal(tfix_on(f->ctx, "set.issubset", id, "[]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.isdisjoint", id, "[]"), "true");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference", id, "[2, 1]"), "[2, 1]");
	ps_set_free(s);
}

static void test_updates(void **state)
{
	struct tfix *f = *state;
	ps_set *s = make(f->ctx, "[1, 2, 3, 4]");
	uint64_t id = ps_set_id(s);
	size_t n;
	const uint8_t *p;

	p = tval_enc("[4, 5, 6]", &n);
	assert_int_equal(ps_set_update(s, p, n), 0);
	assert_string_equal(members(s, f->ctx), "[1, 2, 3, 4, 5, 6]");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[7], [8, 1], []"), "nil");
	assert_string_equal(members(s, f->ctx), "[1, 2, 3, 4, 5, 6, 7, 8]");
	p = tval_enc("[2, 4, 6, 8, 10]", &n);
	assert_int_equal(ps_set_intersection_update(s, p, n), 0);
	assert_string_equal(members(s, f->ctx), "[2, 4, 6, 8]");
	assert_string_equal(tfix_on(f->ctx, "set.intersection_update", id, "[2, 4, 6], [4, 6, 8]"), "nil");
	assert_string_equal(members(s, f->ctx), "[4, 6]");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[1, 2, 3]"), "nil");
	p = tval_enc("[6]", &n);
	assert_int_equal(ps_set_difference_update(s, p, n), 0);
	assert_string_equal(tfix_on(f->ctx, "set.difference_update", id, "[1], [9, 3]"), "nil");
	assert_string_equal(members(s, f->ctx), "[4, 2]");
	p = tval_enc("[2, 5, 7]", &n);
	assert_int_equal(ps_set_symmetric_difference_update(s, p, n), 0);
	assert_string_equal(members(s, f->ctx), "[4, 5, 7]");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference_update", id, "[1], [2]"), "!TypeError");

	/* All or nothing: one bad member or operand and nothing is added. */
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[100, 101], [102, {}]"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[100], ref(999999)"), "!NoSuchObject");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[100], 7"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "set.difference_update", id, "[4], 7"), "!TypeError");
	assert_string_equal(members(s, f->ctx), "[4, 5, 7]");
	ps_set_free(s);
}

/* Operands that are other shared sets, or the set itself. */
static void test_set_operands(void **state)
{
	struct tfix *f = *state;
	ps_set *s = make(f->ctx, "[1, 2, 3, 4]");
	ps_set *t = make(f->ctx, "[3, 4, 10]");
	ps_dict *d = ps_dict_new(f->ctx);
	uint64_t id = ps_set_id(s);
	uint8_t rb[PS_REF_LEN];
	size_t rn = ps_ref_pack(ps_set_id(t), rb);
	const uint8_t *p;
	void *out = NULL;
	size_t n = 0;
	int yes = -1;
	char text[64];

	assert_int_equal(ps_set_union(s, rb, rn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "[1, 2, 3, 4, 10]");
	assert_int_equal(ps_set_intersection(s, rb, rn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "[3, 4]");
	assert_int_equal(ps_set_difference(s, rb, rn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "[1, 2]");
	assert_int_equal(ps_set_symmetric_difference(s, rb, rn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "[1, 2, 10]");
	assert_int_equal(ps_set_isdisjoint(s, rb, rn, &yes), 0);
	assert_int_equal(yes, 0);
	assert_int_equal(ps_set_issubset(s, rb, rn, &yes), 0);
	assert_int_equal(yes, 0);
	snprintf(text, sizeof text, "%s, [1, 2]", ref(t));
	assert_string_equal(tfix_on(f->ctx, "set.union", id, text), "[1, 2, 3, 4, 10]");
	assert_string_equal(tfix_on(f->ctx, "set.intersection", id, text), "[]");

	/* A reference to something that is not a set. */
	snprintf(text, sizeof text, "ref(%llu)", (unsigned long long)ps_dict_id(d));
	assert_string_equal(tfix_on(f->ctx, "set.union", id, text), "!TypeError");

	/* t <= s | t, and the update brings t's members in. */
	assert_int_equal(ps_set_update(s, rb, rn), 0);
	assert_string_equal(members(s, f->ctx), "[1, 2, 3, 4, 10]");
	assert_int_equal(ps_set_issuperset(s, rb, rn, &yes), 0);
	assert_int_equal(yes, 1);
	snprintf(text, sizeof text, "%s", ref(s));
	assert_string_equal(tfix_on(f->ctx, "set.issubset", ps_set_id(t), text), "true");
	assert_string_equal(members(t, f->ctx), "[3, 4, 10]");

	/* The set itself: worked out against the set as it was. */
	assert_string_equal(tfix_on(f->ctx, "set.issubset", id, ref(s)), "true");
	assert_string_equal(tfix_on(f->ctx, "set.isdisjoint", id, ref(s)), "false");
	assert_string_equal(tfix_on(f->ctx, "set.union", id, ref(s)), "[1, 2, 3, 4, 10]");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference", id, ref(s)), "[]");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, ref(s)), "nil");
	assert_string_equal(tfix_on(f->ctx, "set.intersection_update", id, ref(s)), "nil");
	assert_string_equal(members(s, f->ctx), "[1, 2, 3, 4, 10]");
	assert_string_equal(tfix_on(f->ctx, "set.symmetric_difference_update", id, ref(s)), "nil");
	assert_string_equal(members(s, f->ctx), "[]");
	assert_string_equal(tfix_on(f->ctx, "set.update", id, "[1, 2, 3]"), "nil");
	assert_string_equal(tfix_on(f->ctx, "set.difference_update", id, ref(s)), "nil");
	assert_string_equal(members(s, f->ctx), "[]");

	/* A new set made from another one. */
	ps_set *c = ps_set_new(f->ctx, rb, rn);
	assert_non_null(c);
	assert_string_equal(members(c, f->ctx), "[3, 4, 10]");
	ps_set_free(c);
	p = tval_enc("ref(424242)", &n);
	assert_null(ps_set_new(f->ctx, p, n));
	assert_string_equal(ps_errcode(f->ctx), "NoSuchObject");
	p = tval_enc("[1, {}]", &n);
	assert_null(ps_set_new(f->ctx, p, n));
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"set\", [[1], [2]]]"), "!TypeError");
	ps_dict_free(d);
	ps_set_free(t);
	ps_set_free(s);
}

/* A member holding a reference keeps its object alive until removed;
 * clear, pop and the _update forms let go too. */
static void test_references(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_set *s = make(f->ctx, NULL);
	ps_list *l1 = ps_list_new(f->ctx), *l2 = ps_list_new(f->ctx);
	uint64_t a = ps_list_id(l1), b = ps_list_id(l2);
	char text[64];

	snprintf(text, sizeof text, "ref(%llu)", (unsigned long long)a);
	assert_string_equal(add(s, f->ctx, text), "ok");
	snprintf(text, sizeof text, "[ref(%llu)], [ref(%llu)]", (unsigned long long)a, (unsigned long long)b);
	assert_string_equal(tfix_on(f->ctx, "set.update", ps_set_id(s), text), "nil");
	ps_list_free(l1);
	ps_list_free(l2);
	assert_string_equal(tfix_on(other, "list.len", a, ""), "0");
	assert_string_equal(tfix_on(other, "list.len", b, ""), "0");

	/* The operand's own references live only for the call. */
	snprintf(text, sizeof text, "[ref(%llu)]", (unsigned long long)a);
	assert_string_equal(tfix_on(f->ctx, "set.difference_update", ps_set_id(s), text), "nil");
	assert_string_equal(tfix_on(other, "list.len", a, ""), "!NoSuchObject");
	assert_string_equal(tfix_on(other, "list.len", b, ""), "0");
	assert_int_equal(ps_set_clear(s), 0);
	assert_string_equal(tfix_on(other, "list.len", b, ""), "!NoSuchObject");
	snprintf(text, sizeof text, "ref(%llu)", (unsigned long long)b);
	assert_string_equal(add(s, f->ctx, text), "!NoSuchObject");
	ps_set_free(s);
	ps_free(other);
}

/* ---- many processes ----------------------------------------------------- */

/* Child i adds its own members and the shared ones, and removes its own
 * odd ones again. */
static int child_members(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_set *s;
	char m[32];

	s = ps_set_open(ctx, "shared", NULL, 0);
	if (s == NULL)
		return 3;
	for (int j = 0; j < NADD; j++) {
		snprintf(m, sizeof m, "c%d-%d", i, j);
		if (ps_set_add_str(s, m) < 0 || ps_set_add_int(s, j) < 0)
			return 4;
	}
	for (int j = 1; j < NADD; j += 2) {
		snprintf(m, sizeof m, "c%d-%d", i, j);
		if (ps_set_remove_str(s, m) < 0)
			return 5;
	}
	ps_set_free(s);
	ps_free(ctx);
	return 0;
}

static void test_concurrent(void **state)
{
	struct tfix *f = *state;
	ps_set *s = ps_set_open(f->ctx, "shared", NULL, 0);
	size_t len = 0;
	int in = -1;

	assert_non_null(s);
	tfix_run_children(&f->td, NPROC, child_members, "child");
	assert_int_equal(ps_set_len(s, &len), 0);
	assert_int_equal(len, NADD + NPROC * (NADD / 2));
	assert_int_equal(ps_set_contains_str(s, "c3-4", &in), 0);
	assert_int_equal(in, 1);
	assert_int_equal(ps_set_contains_str(s, "c3-5", &in), 0);
	assert_int_equal(in, 0);
	ps_set_free(s);
}

/* ---- lifetime ----------------------------------------------------------- */

static void test_lifetime(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_set *s = make(f->ctx, "[1]");
	uint64_t id = ps_set_id(s);
	const uint8_t *p;
	size_t n;

	assert_string_equal(tfix_on(other, "set.copy", id, ""), "[1]");
	ps_set_free(s);
	assert_string_equal(tfix_on(other, "set.len", id, ""), "!NoSuchObject");

	p = tval_enc("[\"a\", \"b\"]", &n);
	s = ps_set_open(f->ctx, "tags", p, n);
	assert_non_null(s);
	assert_int_equal(ps_set_add_str(s, "c"), 0);
	id = ps_set_id(s);
	ps_set_free(s);
	tfix_reconnect(f);
	p = tval_enc("[\"z\"]", &n);
	s = ps_set_open(f->ctx, "tags", p, n);
	assert_non_null(s);
	assert_int_equal(ps_set_id(s), id);
	assert_string_equal(members(s, f->ctx), "[\"a\", \"b\", \"c\"]");
	assert_int_equal(ps_delete(f->ctx, "tags"), 0);
	ps_set_free(s);
	assert_string_equal(tfix_on(other, "set.len", id, ""), "!NoSuchObject");
	ps_free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_members),
		T(test_typed_helpers),
		T(test_algebra_arrays),
		T(test_updates),
		T(test_set_operands),
		T(test_references),
		T(test_concurrent),
		T(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
