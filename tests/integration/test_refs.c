/*
 * References between objects and the proxies made from them, against a
 * real daemon: a dict holding a list changed through the nested proxy in
 * one process and seen in another, the life of a referenced anonymous
 * object (alive while referenced or held, gone after), the generic path
 * (ps_ref_pack / ps_ref_decode / _attach), type checks, references passing
 * through a queue, and a proxy made from a reference surviving fork().
 * Children report through their exit status.
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

#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

static void run_child(const struct tdaemon *td, int (*fn)(const struct tdaemon *))
{
	pid_t pid = fork();
	int rc;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(td));
	rc = tutil_reap(pid, TFIX_CHILD_MS);
	if (rc != 0)
		fail_msg("child failed: %d (-1: hung, >128: signal)", rc);
}

/* Whether object id still exists, asked without taking a handle. */
static const char *exists(ps_ctx *ctx, uint64_t id)
{
	char params[32];
	const uint8_t *p;
	void *res = NULL;
	size_t len, rlen = 0;
	int rc;

	snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
	p = tval_enc(params, &len);
	rc = ps_call(ctx, "typeof", p, len, &res, &rlen);
	return tval_res(ctx, rc, res, rlen);
}

/* ---- encoding ------------------------------------------------------------- */

static void test_pack_decode(void **state)
{
	uint8_t b[PS_REF_LEN + 1];
	uint64_t id = 0;

	(void)state;
	assert_int_equal(ps_ref_pack(0x0102030405060708ull, b), PS_REF_LEN);
	assert_memory_equal(b, "\xd7\x01\x01\x02\x03\x04\x05\x06\x07\x08", PS_REF_LEN);
	assert_string_equal(tval_text(b, PS_REF_LEN), "ref(72623859790382856)");
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN, &id), 0);
	assert_true(id == 0x0102030405060708ull);
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN, NULL), 0);
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN - 1, &id), -1);
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN + 1, &id), -1);
	assert_int_equal(ps_ref_decode(NULL, PS_REF_LEN, &id), -1);
	b[1] = 2;       /* another ext type */
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN, &id), -1);
	b[0] = 0xc7;    /* ext 8 is not the canonical form */
	assert_int_equal(ps_ref_decode(b, PS_REF_LEN, &id), -1);
}

/* ---- a dict holding a list, across processes ---------------------------- */

static int child_append(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_dict *root, *inner;
	ps_list *l;

	if (ps_err(ctx) != PS_ERR_NONE)
		return 2;
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	if ((root = ps_dict_open(ctx, "root")) == NULL)
		return 3;
	if ((l = ps_dict_get_list(root, "items")) == NULL)
		return 4;
	if (ps_list_append_str(l, "from the child") < 0)
		return 5;
	if ((inner = ps_dict_get_dict(root, "config")) == NULL)
		return 6;
	if (ps_dict_set_int(inner, "workers", 8) < 0)
		return 7;
	ps_dict_free(inner);
	ps_list_free(l);
	ps_dict_free(root);
	ps_free(ctx);
	return 0;
}

static void test_nested_across_processes(void **state)
{
	struct tfix *f = *state;
	ps_dict *root = ps_dict_open(f->ctx, "root");
	ps_list *l = ps_list_new(f->ctx);
	ps_dict *cfg = ps_dict_new(f->ctx);
	ps_list *again;
	ps_dict *cfg2;
	char *s = NULL;
	int64_t v = 0;
	uint64_t lid, id = 0;
	size_t n = 0;

	assert_non_null(root);
	assert_non_null(l);
	assert_non_null(cfg);
	lid = ps_list_id(l);
	assert_int_equal(ps_dict_set_ref(root, "items", lid), 0);
	assert_int_equal(ps_dict_set_ref(root, "config", ps_dict_id(cfg)), 0);
	assert_int_equal(ps_dict_get_ref(root, "items", &id), 0);
	assert_true(id == lid);
	/* Our own handles go: the references keep both alive. */
	ps_list_free(l);
	ps_dict_free(cfg);
	run_child(&f->td, child_append);
	again = ps_dict_get_list(root, "items");
	assert_non_null(again);
	assert_true(ps_list_id(again) == lid);
	assert_int_equal(ps_list_len(again, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ps_list_get_str(again, 0, &s), 0);
	assert_string_equal(s, "from the child");
	free(s);
	cfg2 = ps_dict_get_dict(root, "config");
	assert_non_null(cfg2);
	assert_int_equal(ps_dict_get_int(cfg2, "workers", &v), 0);
	assert_int_equal(v, 8);
	/* A list holding dicts, read back by index. */
	assert_int_equal(ps_list_append_ref(again, ps_dict_id(cfg2)), 0);
	{
		ps_dict *viaidx = ps_list_get_dict(again, -1);

		assert_non_null(viaidx);
		assert_true(ps_dict_id(viaidx) == ps_dict_id(cfg2));
		ps_dict_free(viaidx);
	}
	assert_int_equal(ps_list_set_ref(again, 0, lid), 0);  /* the list holds itself */
	{
		ps_list *self = ps_list_get_list(again, 0);

		assert_non_null(self);
		assert_true(ps_list_id(self) == lid);
		ps_list_free(self);
	}
	/* Break the cycle again, or it would keep the list until the end. */
	assert_int_equal(ps_list_set(again, 0, "\xc0", 1), 0);
	ps_dict_free(cfg2);
	ps_list_free(again);
	ps_dict_free(root);
}

/* ---- lifetime ------------------------------------------------------------- */

/* An anonymous object lives while referenced, and after that while a
 * proxy made from the reference holds it; then it is gone. */
static void test_lifetime(void **state)
{
	struct tfix *f = *state;
	ps_dict *holder = ps_dict_new(f->ctx);
	ps_list *l = ps_list_new(f->ctx);
	ps_list *nested;
	uint64_t lid;
	size_t n = 0;

	assert_non_null(holder);
	assert_non_null(l);
	lid = ps_list_id(l);
	assert_int_equal(ps_list_append_int(l, 1), 0);
	assert_int_equal(ps_dict_set_ref(holder, "l", lid), 0);
	ps_list_free(l);
	/* Referenced only: alive. */
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	nested = ps_dict_get_list(holder, "l");
	assert_non_null(nested);
	/* The reference goes; the nested proxy's handle keeps it. */
	assert_int_equal(ps_dict_del_str(holder, "l"), 0);
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	assert_int_equal(ps_list_append_int(nested, 2), 0);
	assert_int_equal(ps_list_len(nested, &n), 0);
	assert_int_equal(n, 2);
	ps_list_free(nested);
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
	assert_null(ps_list_attach(f->ctx, lid));
	assert_string_equal(ps_errcode(f->ctx), "NoSuchObject");

	/* Referenced and not held: removing the reference destroys it. */
	l = ps_list_new(f->ctx);
	assert_non_null(l);
	lid = ps_list_id(l);
	assert_int_equal(ps_dict_set_ref(holder, "again", lid), 0);
	ps_list_free(l);
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	assert_int_equal(ps_dict_set_int(holder, "again", 0), 0);   /* overwritten */
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
	assert_null(ps_dict_get_list(holder, "again"));
	assert_string_equal(ps_errcode(f->ctx), "TypeError");

	/* Freeing the container frees what only it referenced. */
	l = ps_list_new(f->ctx);
	assert_non_null(l);
	lid = ps_list_id(l);
	assert_int_equal(ps_dict_set_ref(holder, "last", lid), 0);
	ps_list_free(l);
	ps_dict_free(holder);
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
}

/* A child holding a proxy made from a reference keeps the object alive
 * after the parent removed the reference. */
static int child_hold(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_dict *root;
	ps_list *l;
	ps_queue *go, *done;
	void *p;
	size_t len;

	if (ps_err(ctx) != PS_ERR_NONE)
		return 2;
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	if ((root = ps_dict_open(ctx, "root")) == NULL || (go = ps_queue_open(ctx, "go", 0)) == NULL ||
	    (done = ps_queue_open(ctx, "done", 0)) == NULL)
		return 3;
	if ((l = ps_dict_get_list(root, "l")) == NULL)
		return 4;
	if (ps_queue_put_nil(done, 1, -1) < 0)           /* attached */
		return 5;
	if (ps_queue_get(go, 1, -1, &p, &len) < 0)         /* reference removed */
		return 6;
	free(p);
	if (ps_list_append_str(l, "still here") < 0)
		return 7;
	ps_list_free(l);
	ps_dict_free(root);
	ps_queue_free(go);
	ps_queue_free(done);
	ps_free(ctx);
	return 0;
}

static void test_lifetime_across_processes(void **state)
{
	struct tfix *f = *state;
	ps_dict *root = ps_dict_open(f->ctx, "root");
	ps_queue *go = ps_queue_open(f->ctx, "go", 0);
	ps_queue *done = ps_queue_open(f->ctx, "done", 0);
	ps_list *l = ps_list_new(f->ctx);
	uint64_t lid;
	void *p;
	size_t len;
	pid_t pid;

	assert_non_null(root);
	assert_non_null(go);
	assert_non_null(done);
	assert_non_null(l);
	lid = ps_list_id(l);
	assert_int_equal(ps_dict_set_ref(root, "l", lid), 0);
	ps_list_free(l);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_hold(&f->td));
	assert_int_equal(ps_queue_get(done, 1, 30, &p, &len), 0);
	free(p);
	assert_int_equal(ps_dict_del_str(root, "l"), 0);
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	assert_int_equal(ps_queue_put_nil(go, 1, -1), 0);
	assert_int_equal(tutil_reap(pid, TFIX_CHILD_MS), 0);
	/* The child's handle went with it (released, or its connection
	 * closed): the list is gone. */
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
	ps_queue_free(go);
	ps_queue_free(done);
	ps_dict_free(root);
}

/* ---- the generic path and the checks ----------------------------------- */

static void test_generic_and_checks(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_new(f->ctx);
	ps_list *l = ps_list_new(f->ctx);
	ps_dict *asdict;
	ps_list *aslist;
	uint8_t ref[PS_REF_LEN];
	const uint8_t *key, *val;
	void *got;
	size_t klen, vlen, len;
	uint64_t id = 0, lid;
	char text[96];

	assert_non_null(d);
	assert_non_null(l);
	lid = ps_list_id(l);
	/* A reference inside a bigger value, built by hand. */
	snprintf(text, sizeof text, "{\"list\": ref(%llu), \"n\": 1}", (unsigned long long)lid);
	key = tval_enc("\"nested\"", &klen);
	val = tval_enc(text, &vlen);
	assert_int_equal(ps_dict_set(d, key, klen, val, vlen), 0);
	assert_int_equal(ps_dict_get(d, key, klen, &got, &len), 0);
	assert_string_equal(tval_text(got, len), text);
	free(got);
	/* A bare reference through the generic path. */
	key = tval_enc("7", &klen);
	assert_int_equal(ps_dict_set(d, key, klen, ref, ps_ref_pack(lid, ref)), 0);
	assert_int_equal(ps_dict_get(d, key, klen, &got, &len), 0);
	assert_int_equal(len, PS_REF_LEN);
	assert_int_equal(ps_ref_decode(got, len, &id), 0);
	free(got);
	assert_true(id == lid);
	aslist = ps_list_attach(f->ctx, id);
	assert_non_null(aslist);
	assert_int_equal(ps_list_append_int(aslist, 5), 0);
	ps_list_free(aslist);
	/* Wrong types: no proxy, and no handle left behind. */
	assert_null(ps_dict_attach(f->ctx, lid));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_int_equal(ps_dict_set_ref(d, "l", lid), 0);
	asdict = ps_dict_get_dict(d, "l");
	assert_null(asdict);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_int_equal(ps_dict_set_str(d, "s", "not a ref"), 0);
	assert_null(ps_dict_get_list(d, "s"));
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_int_equal(ps_dict_get_ref(d, "s", &id), -1);
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_null(ps_dict_get_list(d, "absent"));
	assert_string_equal(ps_errcode(f->ctx), "KeyError");
	assert_null(ps_list_get_list(l, 99));
	assert_string_equal(ps_errcode(f->ctx), "IndexError");
	/* A reference to nothing is refused when stored. */
	assert_string_equal(tval_rc(f->ctx, ps_dict_set_ref(d, "x", 999999)), "!NoSuchObject");
	assert_string_equal(tval_rc(f->ctx, ps_list_append_ref(l, 999999)), "!NoSuchObject");
	/* Everything referenced only by d dies with it; l is still ours. */
	ps_dict_free(d);
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	ps_list_free(l);
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
	/* NULL proxies. */
	assert_null(ps_dict_get_dict(NULL, "k"));
	assert_null(ps_list_get_list(NULL, 0));
	assert_int_equal(ps_dict_set_ref(NULL, "k", 1), -1);
	assert_null(ps_dict_attach(NULL, 1));
}

/* A queued reference keeps its object alive while the item is queued; the
 * get that removes the item takes that hold away with it. */
static void test_reference_in_queue(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 0);
	ps_list *l = ps_list_new(f->ctx);
	ps_list *kept;
	uint64_t lid, id = 0;
	void *p;
	size_t len;

	assert_non_null(q);
	assert_non_null(l);
	lid = ps_list_id(l);
	assert_int_equal(ps_queue_put_ref(q, lid, 1, -1), 0);
	assert_int_equal(ps_queue_put_ref(q, lid, 1, -1), 0);
	ps_list_free(l);
	assert_string_equal(exists(f->ctx, lid), "\"list\"");
	/* Attach while the item still holds it: the proxy keeps it. */
	assert_int_equal(ps_queue_get(q, 1, -1, &p, &len), 0);
	assert_int_equal(ps_ref_decode(p, len, &id), 0);
	free(p);
	assert_true(id == lid);
	kept = ps_list_attach(f->ctx, id);       /* the second item holds it */
	assert_non_null(kept);
	assert_int_equal(ps_queue_get(q, 1, -1, &p, &len), 0);
	free(p);
	assert_int_equal(ps_list_append_int(kept, 1), 0);
	ps_list_free(kept);
	assert_string_equal(exists(f->ctx, lid), "!NoSuchObject");
	assert_string_equal(tval_rc(f->ctx, ps_queue_put_ref(q, lid, 1, -1)), "!NoSuchObject");
	ps_queue_free(q);
}

/* A proxy made from a reference follows fork() like any other. */
static void test_attached_proxy_in_child(void **state)
{
	struct tfix *f = *state;
	ps_dict *root = ps_dict_open(f->ctx, "root");
	ps_list *l = ps_list_new(f->ctx);
	ps_list *nested;
	size_t n = 0;
	pid_t pid;

	assert_non_null(root);
	assert_non_null(l);
	assert_int_equal(ps_dict_set_ref(root, "l", ps_list_id(l)), 0);
	ps_list_free(l);
	nested = ps_dict_get_list(root, "l");
	assert_non_null(nested);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ps_list_append_str(nested, "child") == 0 ? 0 : 1);
	assert_int_equal(tutil_reap(pid, TFIX_CHILD_MS), 0);
	assert_int_equal(ps_list_len(nested, &n), 0);
	assert_int_equal(n, 1);
	ps_list_free(nested);
	ps_dict_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_decode),
		cmocka_unit_test_setup_teardown(test_nested_across_processes, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_lifetime, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_lifetime_across_processes, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_generic_and_checks, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_attached_proxy_in_child, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_reference_in_queue, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
