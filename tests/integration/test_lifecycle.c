/*
 * Object lifetimes: anonymous objects die with their last handle or
 * stored reference, named ones outlive every client until deleted, and a
 * client that dies (SIGKILL, even mid-request) has its handles released.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_rpc.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

#define GONE_MS 10000   /* deadline for the daemon to notice a dead client */

/* Polls until list.len on id says NoSuchObject: the condition is the
 * daemon's own answer, with a deadline. */
static void wait_gone(ps_ctx *ctx, uint64_t id)
{
	int64_t deadline = tutil_now_ms() + GONE_MS;
	const char *r;

	while (strcmp(r = tfix_on(ctx, "list.len", id, ""), "!NoSuchObject") != 0) {
		if (tutil_now_ms() > deadline)
			fail_msg("object %llu still alive after %d ms (list.len: %s)", (unsigned long long)id, GONE_MS, r);
	}
}

static void test_anonymous_freed_on_release(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_list *l = ps_list_new(f->ctx);
	uint64_t id;

	assert_non_null(l);
	id = ps_list_id(l);
	assert_int_equal(ps_list_append_int(l, 1), 0);
	/* Another connection may use the id while it lives. */
	assert_string_equal(tfix_on(other, "list.len", id, ""), "1");
	ps_list_free(l);
	/* release was answered before ps_list_free returned */
	assert_string_equal(tfix_on(other, "list.len", id, ""), "!NoSuchObject");
	assert_string_equal(tfix_on(other, "retain", id, ""), "!NoSuchObject");
	ps_free(other);
}

/* Two handles (two connections): the object lives until both go. */
static void test_anonymous_two_handles(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_list *l = ps_list_new(f->ctx);
	uint64_t id = ps_list_id(l);

	assert_string_equal(tfix_on(other, "retain", id, ""), "nil");
	ps_list_free(l);
	assert_string_equal(tfix_on(other, "list.len", id, ""), "0");
	assert_string_equal(tfix_on(other, "release", id, ""), "nil");
	assert_string_equal(tfix_on(f->ctx, "list.len", id, ""), "!NoSuchObject");
	/* Releasing what one does not hold fails. */
	assert_string_equal(tfix_on(other, "release", id, ""), "!NoSuchObject");
	ps_free(other);
}

/* A reference stored in a live object keeps an anonymous one alive. */
static void test_anonymous_kept_by_reference(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "holder");
	ps_list *l = ps_list_new(f->ctx);
	uint64_t id = ps_list_id(l);
	char ref[64];
	size_t kl, vl;
	const uint8_t *k, *v;

	assert_non_null(d);
	assert_int_equal(ps_list_append_str(l, "kept"), 0);
	snprintf(ref, sizeof ref, "ref(%llu)", (unsigned long long)id);
	k = tval_enc("\"l\"", &kl);
	v = tval_enc(ref, &vl);
	assert_int_equal(ps_dict_set(d, k, kl, v, vl), 0);
	ps_list_free(l);
	assert_string_equal(tfix_on(f->ctx, "list.len", id, ""), "1");
	/* Dropping the reference frees it. */
	assert_int_equal(ps_dict_del_str(d, "l"), 0);
	assert_string_equal(tfix_on(f->ctx, "list.len", id, ""), "!NoSuchObject");
	ps_dict_free(d);
}

/* Named objects outlive every client; delete drops the name. */
static void test_named_persist_and_delete(void **state)
{
	struct tfix *f = *state;
	ps_ctx *a = tdaemon_connect(&f->td), *b;
	ps_dict *d = ps_dict_open(a, "persist");
	int64_t v = 0;
	uint64_t id;
	void *res = NULL;
	size_t rlen = 0;
	char want[128];

	assert_non_null(d);
	id = ps_dict_id(d);
	assert_int_equal(ps_dict_set_int(d, "k", 41), 0);
	ps_dict_free(d);
	ps_free(a);
	ps_free(f->ctx);
	f->ctx = NULL;
	/* Nobody is connected now. */
	b = tdaemon_connect(&f->td);
	assert_int_equal(ps_call(b, "objects", "\x90", 1, &res, &rlen), 0);
	/* [[name, type, id, ...]]: later fields (such as the size) may follow. */
	snprintf(want, sizeof want, "[[\"persist\", \"dict\", %llu", (unsigned long long)id);
	if (strncmp(tval_text(res, rlen), want, strlen(want)) != 0)
		fail_msg("objects: %s, want %s...]]", tval_text(res, rlen), want);
	free(res);
	d = ps_dict_open(b, "persist");
	assert_non_null(d);
	assert_true(ps_dict_id(d) == id);
	assert_int_equal(ps_dict_get_int(d, "k", &v), 0);
	assert_int_equal(v, 41);
	/* delete: the name goes; the object lives on while d holds it. */
	assert_int_equal(ps_delete(b, "persist"), 0);
	assert_int_equal(ps_delete(b, "persist"), -1);
	assert_string_equal(ps_errcode(b), "NoSuchObject");
	assert_int_equal(ps_call(b, "objects", "\x90", 1, &res, &rlen), 0);
	assert_string_equal(tval_text(res, rlen), "[]");
	free(res);
	assert_int_equal(ps_dict_get_int(d, "k", &v), 0);
	assert_int_equal(v, 41);
	/* The name can be taken again: a new, empty object. */
	{
		ps_dict *d2 = ps_dict_open(b, "persist");
		size_t n = 9;

		assert_non_null(d2);
		assert_true(ps_dict_id(d2) != id);
		assert_int_equal(ps_dict_len(d2, &n), 0);
		assert_int_equal(n, 0);
		ps_dict_free(d2);
	}
	ps_dict_free(d);
	assert_string_equal(tfix_on(b, "dict.len", id, ""), "!NoSuchObject");
	ps_free(b);
}

/* Children of expect_released_on_kill: each connects, makes an anonymous
 * list, reports its id on fd and waits to be killed. Exit codes say
 * where one failed. */

/* Holds the list with one item in it. */
static void child_hold(const struct tdaemon *td, int fd)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_list *l;
	uint64_t id;
	char c;

	if (ps_err(ctx) != PS_ERR_NONE)
		_exit(2);
	l = ps_list_new(ctx);
	if (l == NULL || ps_list_append_int(l, 5) < 0)
		_exit(3);
	id = ps_list_id(l);
	if (write(fd, &id, sizeof id) != (ssize_t)sizeof id)
		_exit(4);
	/* Blocks until killed (the parent never writes). */
	for (;;)
		if (read(fd, &c, 1) <= 0)
			pause();
}

/* Holds the empty list and has sent half of a large list.append. */
static void child_half_request(const struct tdaemon *td, int fd)
{
	static uint8_t big[1 << 20];
	char code[64], msg[128];
	struct ps_mp_tok t;
	msgpack_packer pk;
	struct ps_buf b;
	struct traw r;
	uint64_t id;

	if (traw_connect_unix(&r, td->sock) < 0 || traw_handshake(&r, td->key, td->keylen, NULL, 0) != 0)
		_exit(2);
	if (traw_request(&r, 1, "create", "\x92\xa4list\x90", 7) < 0 ||
	    traw_response(&r, 1, code, sizeof code, msg, sizeof msg) != 0)
		_exit(3);
	if (ps_mp_token(r.m.result, r.m.result_len, &t) != 1 || t.type != PS_MP_UINT)
		_exit(4);
	id = t.v.u;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	ps_rpc_put_request(&pk, 2, "list.append", 2);
	msgpack_pack_uint64(&pk, id);
	msgpack_pack_bin(&pk, sizeof big);
	msgpack_pack_bin_body(&pk, big, sizeof big);
	/* Half of it, then tell the parent, then hang. */
	if (traw_send(&r, b.data, b.len / 2) < 0)
		_exit(5);
	if (write(fd, &id, sizeof id) != (ssize_t)sizeof id)
		_exit(6);
	for (;;)
		pause();
}

/* Forks child, checks that its list answers list.len with len, kills
 * the child (SIGKILL) and waits for the daemon to free the list. */
static void expect_released_on_kill(struct tfix *f, void (*child)(const struct tdaemon *, int), const char *len)
{
	struct traw r = { .fd = -1 };
	uint64_t id = 0;
	int p[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(&f->td, p[1]);
	}
	close(p[1]);
	r.fd = p[0];
	ps_buf_init(&r.in);
	if (traw_recv(&r, &id, sizeof id, 10000) != (ssize_t)sizeof id) {
		kill(pid, SIGKILL);
		fail_msg("child did not report an id (exit %d)", tutil_reap(pid, 10000));
	}
	ps_buf_free(&r.in);
	close(p[0]);
	assert_string_equal(tfix_on(f->ctx, "list.len", id, ""), len);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tutil_reap(pid, 10000), 128 + SIGKILL);
	wait_gone(f->ctx, id);
	assert_int_equal(ps_ping(f->ctx), 0);
}

static void test_killed_client_releases(void **state)
{
	expect_released_on_kill(*state, child_hold, "1");
}

/* Killed half way through sending a large request. */
static void test_killed_mid_request(void **state)
{
	expect_released_on_kill(*state, child_half_request, "0");
}

/* Many anonymous objects created and released in turn, few alive at once
 * (what any long-running client does). */
static void test_create_release_churn(void **state)
{
	struct tfix *f = *state;

	ps_set_timeout(f->ctx, 5000);
	for (int i = 0; i < 300; i++) {
		ps_dict *d = ps_dict_new(f->ctx);

		if (d == NULL)
			fail_msg("ps_dict_new #%d: %s", i, ps_errstr(f->ctx));
		assert_int_equal(ps_dict_set_int(d, "i", i), 0);
		ps_dict_free(d);
	}
	assert_int_equal(ps_ping(f->ctx), 0);
}

/* Connections that come and go, each leaving a named object behind. */
static void test_connection_churn(void **state)
{
	struct tfix *f = *state;

	for (int i = 0; i < 50; i++) {
		ps_ctx *c = tdaemon_connect(&f->td);
		ps_list *l = ps_list_open(c, "churn");

		assert_non_null(l);
		assert_int_equal(ps_list_append_int(l, i), 0);
		ps_list_free(l);
		ps_free(c);
	}
	{
		ps_list *l = ps_list_open(f->ctx, "churn");
		size_t n = 0;

		assert_int_equal(ps_list_len(l, &n), 0);
		assert_int_equal(n, 50);
		ps_list_free(l);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_anonymous_freed_on_release),
		T(test_anonymous_two_handles),
		T(test_anonymous_kept_by_reference),
		T(test_named_persist_and_delete),
		T(test_killed_client_releases),
		T(test_killed_mid_request),
		T(test_create_release_churn),
		T(test_connection_churn),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
