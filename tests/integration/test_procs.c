/*
 * Many clients at once: forked processes appending to one list and
 * setting keys in one dict, atomic increments across processes, threads
 * sharing one context, and a forked child using its parent's context.
 * Children report through their exit status (never cmocka asserts, which
 * would unwind into the child's copy of the test runner).
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/tdaemon.h"
#include "../lib/tfix.h"

#define NPROC 8
#define NITEMS 200

static int child_append_set(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_list *l;
	ps_dict *d;
	char s[64];

	l = ps_list_open(ctx, "items");
	d = ps_dict_open(ctx, "keys");
	if (l == NULL || d == NULL)
		return 3;
	for (int j = 0; j < NITEMS; j++) {
		snprintf(s, sizeof s, "c%d-%d", i, j);
		if (ps_list_append_str(l, s) < 0)
			return 4;
		if (ps_dict_set_int(d, s, i * 100000 + j) < 0)
			return 5;
	}
	ps_list_free(l);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

/* Every item appears exactly once; every key is there with its value. */
static void test_concurrent_append_and_set(void **state)
{
	struct tfix *f = *state;
	static unsigned char seen[NPROC][NITEMS];
	ps_list *l = ps_list_open(f->ctx, "items");
	ps_dict *d = ps_dict_open(f->ctx, "keys");
	size_t n = 0;

	assert_non_null(l);
	assert_non_null(d);
	tfix_run_children(&f->td, NPROC, child_append_set, "child");
	assert_int_equal(ps_list_len(l, &n), 0);
	assert_int_equal(n, NPROC * NITEMS);
	memset(seen, 0, sizeof seen);
	for (size_t k = 0; k < n; k++) {
		char *s = NULL;
		int i, j;

		assert_int_equal(ps_list_get_str(l, (int64_t)k, &s), 0);
		if (sscanf(s, "c%d-%d", &i, &j) != 2 || i < 0 || i >= NPROC || j < 0 || j >= NITEMS)
			fail_msg("unexpected item \"%s\"", s);
		if (seen[i][j]++)
			fail_msg("item \"%s\" appears twice", s);
		free(s);
	}
	assert_int_equal(ps_dict_len(d, &n), 0);
	assert_int_equal(n, NPROC * NITEMS);
	for (int i = 0; i < NPROC; i++) {
		for (int j = 0; j < NITEMS; j++) {
			char k[32];
			int64_t v = -1;

			snprintf(k, sizeof k, "c%d-%d", i, j);
			if (ps_dict_get_int(d, k, &v) < 0 || v != i * 100000 + j)
				fail_msg("key %s: %s", k, ps_errstr(f->ctx));
		}
	}
	ps_list_free(l);
	ps_dict_free(d);
}

#define NINCR 500

static int child_incr(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_dict *d;

	(void)i;
	d = ps_dict_open(ctx, "counters");
	if (d == NULL)
		return 3;
	for (int j = 0; j < NINCR; j++)
		if (ps_dict_incr_int(d, "n", 1, NULL) < 0 || ps_dict_incr_double(d, "x", 0.5, NULL) < 0)
			return 4;
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

/* N processes x M increments = exactly N*M. */
static void test_incr_atomic_across_processes(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "counters");
	int64_t n = 0;
	double x = 0;

	assert_non_null(d);
	tfix_run_children(&f->td, NPROC, child_incr, "child");
	assert_int_equal(ps_dict_get_int(d, "n", &n), 0);
	assert_int_equal(n, NPROC * NINCR);
	assert_int_equal(ps_dict_get_double(d, "x", &x), 0);
	assert_true(x == NPROC * NINCR * 0.5);
	ps_dict_free(d);
}

/* ---- threads ---------------------------------------------------------------- */

#define NTHREADS 8
#define NCALLS 300

struct worker {
	pthread_t th;
	ps_ctx *ctx;
	ps_dict *d;             /* shared by all threads */
	ps_list *l;
	int index;
	int failures;
	char first_failure[200];
};

static void worker_fail(struct worker *w, const char *what, int j)
{
	if (w->failures++ == 0)
		snprintf(w->first_failure, sizeof w->first_failure, "thread %d call %d: %s", w->index, j, what);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[32];

	snprintf(key, sizeof key, "t%d", w->index);
	for (int j = 0; j < NCALLS; j++) {
		int64_t v = -1, sum = -1;
		char *s = NULL;

		/* Each thread's own key: what it reads back must be what it
		 * wrote, never another thread's answer. */
		if (ps_dict_set_int(w->d, key, w->index * 1000000 + j) < 0)
			worker_fail(w, "set", j);
		if (ps_dict_get_int(w->d, key, &v) < 0 || v != w->index * 1000000 + j)
			worker_fail(w, "get returned another answer", j);
		if (ps_dict_incr_int(w->d, "total", 1, &sum) < 0 || sum < 1)
			worker_fail(w, "incr", j);
		if (ps_list_append_int(w->l, w->index) < 0)
			worker_fail(w, "append", j);
		if (ps_dict_get_str(w->d, "fixed", &s) < 0 || strcmp(s, "value") != 0)
			worker_fail(w, "get fixed", j);
		free(s);
		/* An error answer goes to the thread that asked. */
		if (ps_dict_get_int(w->d, "absent", &v) != -1)
			worker_fail(w, "absent key found", j);
	}
	return NULL;
}

static void test_threads_share_ctx(void **state)
{
	struct tfix *f = *state;
	struct worker w[NTHREADS];
	ps_dict *d = ps_dict_new(f->ctx);
	ps_list *l = ps_list_new(f->ctx);
	int64_t total = 0;
	size_t n = 0, counts[NTHREADS] = { 0 };

	assert_non_null(d);
	assert_non_null(l);
	assert_int_equal(ps_dict_set_str(d, "fixed", "value"), 0);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].ctx = f->ctx;
		w[i].d = d;
		w[i].l = l;
		w[i].index = i;
		assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		if (w[i].failures)
			fail_msg("%d failures; first: %s", w[i].failures, w[i].first_failure);
	assert_int_equal(ps_dict_get_int(d, "total", &total), 0);
	assert_int_equal(total, NTHREADS * NCALLS);
	assert_int_equal(ps_list_len(l, &n), 0);
	assert_int_equal(n, NTHREADS * NCALLS);
	for (size_t k = 0; k < n; k++) {
		int64_t v = -1;

		assert_int_equal(ps_list_get_int(l, (int64_t)k, &v), 0);
		assert_true(v >= 0 && v < NTHREADS);
		counts[v]++;
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(counts[i], NCALLS);
	ps_list_free(l);
	ps_dict_free(d);
}

/* ---- fork with a live context ------------------------------------------------ */

/* A forked child uses its parent's context and proxies (named and
 * anonymous): the library gives it its own connection. Meanwhile the
 * parent keeps using its connection. */
static void test_fork_uses_parent_ctx(void **state)
{
	struct tfix *f = *state;
	ps_list *named = ps_list_open(f->ctx, "forked");
	ps_list *anon = ps_list_new(f->ctx);
	uint64_t anon_id;
	size_t n = 0;
	pid_t pid;

	assert_non_null(named);
	assert_non_null(anon);
	anon_id = ps_list_id(anon);
	assert_int_equal(ps_list_append_str(anon, "from parent"), 0);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *s = NULL;

		for (int j = 0; j < 200; j++)
			if (ps_list_append_int(named, 1) < 0)
				_exit(2);
		if (ps_list_get_str(anon, 0, &s) < 0 || strcmp(s, "from parent") != 0)
			_exit(3);
		free(s);
		if (ps_list_append_str(anon, "from child") < 0)
			_exit(4);
		if (ps_list_id(anon) != anon_id)
			_exit(5);
		ps_list_free(anon);
		ps_list_free(named);
		ps_free(f->ctx);
		_exit(0);
	}
	for (int j = 0; j < 200; j++)
		assert_int_equal(ps_list_append_int(named, 2), 0);
	tfix_reap_ok(pid, "child");
	/* The parent's connection, proxies and handles are intact: the
	 * child's exit released only the child's own handles. */
	assert_int_equal(ps_ping(f->ctx), 0);
	assert_int_equal(ps_list_len(named, &n), 0);
	assert_int_equal(n, 400);
	assert_int_equal(ps_list_len(anon, &n), 0);
	assert_int_equal(n, 2);
	ps_list_free(anon);
	ps_list_free(named);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tfix_setup, tfix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_concurrent_append_and_set),
		T(test_incr_atomic_across_processes),
		T(test_threads_share_ctx),
		T(test_fork_uses_parent_ctx),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
