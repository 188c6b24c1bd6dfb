/*
 * The Namespace type against a real daemon: getattr, setattr, delattr,
 * hasattr, vars and dir with Python's results and AttributeError, initial
 * attributes, names that must be str, references kept alive by attributes,
 * and the lifetime of anonymous and named Namespaces.
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

/* ---- helpers ---------------------------------------------------------- */

static ps_namespace *make(ps_ctx *ctx, const char *attrs)
{
	size_t n = 0;
	const uint8_t *p = attrs != NULL ? tval_enc(attrs, &n) : NULL;
	ps_namespace *ns = ps_namespace_new(ctx, p, n);

	if (ns == NULL)
		fail_msg("ps_namespace_new(%s): %s", attrs ? attrs : "NULL", ps_errstr(ctx));
	return ns;
}

static const char *getattr(ps_namespace *ns, ps_ctx *ctx, const char *name)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_namespace_getattr(ns, name, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *setattr(ps_namespace *ns, ps_ctx *ctx, const char *name, const char *v)
{
	size_t n;
	const uint8_t *p = tval_enc(v, &n);

	return tval_rc(ctx, ps_namespace_setattr(ns, name, p, n));
}

static const char *vars(ps_namespace *ns, ps_ctx *ctx)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_namespace_vars(ns, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static const char *dir(ps_namespace *ns, ps_ctx *ctx)
{
	void *out = NULL;
	size_t n = 0;
	int rc = ps_namespace_dir(ns, &out, &n);

	return tval_res(ctx, rc, out, n);
}

static int has(ps_namespace *ns, ps_ctx *ctx, const char *name)
{
	int out = -1;

	if (ps_namespace_has(ns, name, &out) < 0)
		fail_msg("has %s: %s", name, ps_errstr(ctx));
	return out;
}

/* ---- tests ------------------------------------------------------------ */

static void test_attributes(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, NULL);
	size_t len = 9;

	assert_string_equal(vars(ns, f->ctx), "{}");
	assert_string_equal(getattr(ns, f->ctx, "x"), "!AttributeError");
	assert_string_equal(ps_errstr(f->ctx), "AttributeError: 'Namespace' object has no attribute 'x'");
	assert_int_equal(has(ns, f->ctx, "x"), 0);
	assert_string_equal(setattr(ns, f->ctx, "x", "1"), "ok");
	assert_string_equal(setattr(ns, f->ctx, "y", "[1, {\"k\": nil}]"), "ok");
	assert_string_equal(setattr(ns, f->ctx, "x", "\"one\""), "ok");
	assert_int_equal(has(ns, f->ctx, "x"), 1);
	assert_string_equal(getattr(ns, f->ctx, "x"), "\"one\"");
	assert_string_equal(getattr(ns, f->ctx, "y"), "[1, {\"k\": nil}]");
	/* vars keeps the order attributes were first set in. */
	assert_string_equal(vars(ns, f->ctx), "{\"x\": \"one\", \"y\": [1, {\"k\": nil}]}");
	assert_int_equal(ps_namespace_len(ns, &len), 0);
	assert_int_equal(len, 2);

	assert_int_equal(ps_namespace_delattr(ns, "x"), 0);
	assert_int_equal(ps_namespace_delattr(ns, "x"), -1);
	assert_string_equal(ps_errcode(f->ctx), "AttributeError");
	assert_string_equal(ps_errstr(f->ctx), "AttributeError: 'Namespace' object has no attribute 'x'");
	assert_string_equal(getattr(ns, f->ctx, "x"), "!AttributeError");
	assert_string_equal(vars(ns, f->ctx), "{\"y\": [1, {\"k\": nil}]}");
	/* Set again, it goes last. */
	assert_string_equal(setattr(ns, f->ctx, "x", "2"), "ok");
	assert_string_equal(vars(ns, f->ctx), "{\"y\": [1, {\"k\": nil}], \"x\": 2}");

	/* Any str is a name, as with setattr() (the empty one, spaces, UTF-8). */
	assert_string_equal(setattr(ns, f->ctx, "", "0"), "ok");
	assert_string_equal(setattr(ns, f->ctx, "not an identifier", "true"), "ok");
	assert_string_equal(setattr(ns, f->ctx, "\xc3\xa9t\xc3\xa9", "1.5"), "ok");
	assert_string_equal(getattr(ns, f->ctx, ""), "0");
	assert_string_equal(getattr(ns, f->ctx, "\xc3\xa9t\xc3\xa9"), "1.5");
	ps_namespace_free(ns);
}

static void test_getattr_default(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, "{\"a\": 1}");
	size_t dn;
	const uint8_t *def = tval_enc("\"dflt\"", &dn);
	void *out = NULL;
	size_t n = 0;

	assert_int_equal(ps_namespace_getattr_default(ns, "a", def, dn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "1");
	assert_int_equal(ps_namespace_getattr_default(ns, "b", def, dn, &out, &n), 0);
	assert_string_equal(tval_res(f->ctx, 0, out, n), "\"dflt\"");
	assert_string_equal(tfix_on(f->ctx, "namespace.getattr", ps_namespace_id(ns), "\"b\", nil"), "nil");
	assert_string_equal(tfix_on(f->ctx, "namespace.getattr", ps_namespace_id(ns), "\"b\", 1, 2"), "!TypeError");
	/* The default is not stored. */
	assert_string_equal(vars(ns, f->ctx), "{\"a\": 1}");
	ps_namespace_free(ns);
}

static void test_dir_sorted(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, "{\"b\": 1, \"a\": 2, \"B\": 3, \"\xc3\xa9\": 4, \"ab\": 5, \"\": 6}");

	/* sorted(["b", "a", "B", "é", "ab", ""]) in Python. */
	assert_string_equal(dir(ns, f->ctx), "[\"\", \"B\", \"a\", \"ab\", \"b\", \"\xc3\xa9\"]");
	assert_string_equal(vars(ns, f->ctx),
			    "{\"b\": 1, \"a\": 2, \"B\": 3, \"\xc3\xa9\": 4, \"ab\": 5, \"\": 6}");
	ps_namespace_free(ns);
	ns = make(f->ctx, NULL);
	assert_string_equal(dir(ns, f->ctx), "[]");
	ps_namespace_free(ns);
}

static void test_names_must_be_str(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, NULL);
	uint64_t id = ps_namespace_id(ns);

	assert_string_equal(tfix_on(f->ctx, "namespace.setattr", id, "5, 1"), "!TypeError");
	assert_true(strstr(ps_errstr(f->ctx), "attribute name must be string") != NULL);
	assert_string_equal(tfix_on(f->ctx, "namespace.setattr", id, "b\"61\", 1"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.getattr", id, "nil"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.delattr", id, "[\"a\"]"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.has", id, "1.5"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.setattr", id, "\"a\""), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.setattr", id, "\"a\", 1, 2"), "!TypeError");
	assert_string_equal(tfix_on(f->ctx, "namespace.vars", id, "1"), "!TypeError");
	/* A name that is not UTF-8. */
	assert_string_equal(tfix_on(f->ctx, "namespace.setattr", id, "\"\\xff\", 1"), "!TypeError");
	assert_string_equal(vars(ns, f->ctx), "{}");
	ps_namespace_free(ns);
}

static void test_create_args(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, "{\"a\": 1, \"b\": [2], \"a\": 3}");

	/* A name given twice keeps its last value and its first place. */
	assert_string_equal(vars(ns, f->ctx), "{\"a\": 3, \"b\": [2]}");
	ps_namespace_free(ns);
	assert_string_equal(tfix_call(f->ctx, "create", "[\"namespace\", [{\"a\": 1, 2: 3}]]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"namespace\", [[1, 2]]]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"namespace\", [{}, {}]]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"namespace\", [{\"a\": ref(999)}]]"), "!NoSuchObject");
	assert_null(ps_namespace_new(f->ctx, "\x81", 1));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	ns = make(f->ctx, "nil");
	assert_string_equal(vars(ns, f->ctx), "{}");
	ps_namespace_free(ns);
}

static void test_typed_helpers(void **state)
{
	struct tfix *f = *state;
	ps_namespace *ns = make(f->ctx, NULL);
	char *s = NULL;
	int64_t i = 0;
	double d = 0;
	void *b = NULL;
	size_t bn = 0;

	assert_int_equal(ps_namespace_set_str(ns, "s", "text"), 0);
	assert_int_equal(ps_namespace_set_int(ns, "i", -42), 0);
	assert_int_equal(ps_namespace_set_double(ns, "d", 0.25), 0);
	assert_int_equal(ps_namespace_set_bytes(ns, "b", "\x00\x01", 2), 0);
	assert_int_equal(ps_namespace_get_str(ns, "s", &s), 0);
	assert_string_equal(s, "text");
	free(s);
	assert_int_equal(ps_namespace_get_int(ns, "i", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(ps_namespace_get_double(ns, "d", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(ps_namespace_get_bytes(ns, "b", &b, &bn), 0);
	assert_int_equal(bn, 2);
	assert_memory_equal(b, "\x00\x01", 2);
	free(b);
	assert_int_equal(ps_namespace_get_int(ns, "s", &i), -1);
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_int_equal(ps_namespace_get_str(ns, "missing", &s), -1);
	assert_string_equal(ps_errcode(f->ctx), "AttributeError");
	assert_string_equal(vars(ns, f->ctx), "{\"s\": \"text\", \"i\": -42, \"d\": 0.25, \"b\": b\"0001\"}");
	ps_namespace_free(ns);
}

/* An attribute holding a reference keeps the object alive; replacing or
 * deleting the attribute lets it go. */
static void test_references(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_namespace *ns = make(f->ctx, NULL);
	ps_list *l = ps_list_new(f->ctx);
	uint64_t lid = ps_list_id(l);
	char ref[32];

	snprintf(ref, sizeof ref, "ref(%llu)", (unsigned long long)lid);
	assert_string_equal(setattr(ns, f->ctx, "items", ref), "ok");
	ps_list_free(l);
	assert_string_equal(tfix_on(other, "list.len", lid, ""), "0");
	assert_string_equal(getattr(ns, f->ctx, "items"), ref);
	assert_string_equal(setattr(ns, f->ctx, "items", "nil"), "ok");
	assert_string_equal(tfix_on(other, "list.len", lid, ""), "!NoSuchObject");

	l = ps_list_new(f->ctx);
	lid = ps_list_id(l);
	snprintf(ref, sizeof ref, "[ref(%llu)]", (unsigned long long)lid);
	assert_string_equal(setattr(ns, f->ctx, "nested", ref), "ok");
	ps_list_free(l);
	assert_string_equal(tfix_on(other, "list.len", lid, ""), "0");
	assert_int_equal(ps_namespace_delattr(ns, "nested"), 0);
	assert_string_equal(tfix_on(other, "list.len", lid, ""), "!NoSuchObject");
	assert_string_equal(setattr(ns, f->ctx, "gone", ref), "!NoSuchObject");
	ps_namespace_free(ns);
	ps_free(other);
}

static void test_lifetime(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_namespace *ns = make(f->ctx, "{\"a\": 1}");
	uint64_t id = ps_namespace_id(ns);
	size_t n;
	const uint8_t *init;

	assert_string_equal(tfix_on(other, "namespace.vars", id, ""), "{\"a\": 1}");
	ps_namespace_free(ns);
	assert_string_equal(tfix_on(other, "namespace.vars", id, ""), "!NoSuchObject");

	init = tval_enc("{\"v\": 1}", &n);
	ns = ps_namespace_open(f->ctx, "config", init, n);
	assert_non_null(ns);
	assert_string_equal(setattr(ns, f->ctx, "w", "2"), "ok");
	id = ps_namespace_id(ns);
	ps_namespace_free(ns);
	tfix_reconnect(f);
	/* The existing object is opened as it is: its creation args ignored. */
	init = tval_enc("{\"other\": 0}", &n);
	ns = ps_namespace_open(f->ctx, "config", init, n);
	assert_non_null(ns);
	assert_int_equal(ps_namespace_id(ns), id);
	assert_string_equal(vars(ns, f->ctx), "{\"v\": 1, \"w\": 2}");
	assert_int_equal(ps_delete(f->ctx, "config"), 0);
	ps_namespace_free(ns);
	assert_string_equal(tfix_on(other, "namespace.len", id, ""), "!NoSuchObject");
	ps_free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_attributes),
		T(test_getattr_default),
		T(test_dir_sorted),
		T(test_names_must_be_str),
		T(test_create_args),
		T(test_typed_helpers),
		T(test_references),
		T(test_lifetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
