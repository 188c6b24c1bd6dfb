/*
 * Barrier against a real daemon, with real processes: parties meeting
 * (their indexes a permutation of 0..N-1, round after round), a timeout
 * (the barrier's default or the wait's own) breaking it for everyone,
 * abort and reset, and a party killed while it waits breaking it for the
 * others.
 *
 * A waiter that must be known to be parked is a raw connection: it sends
 * its wait, then a ping, and the ping's answer (a connection's requests
 * are handled in order) proves the wait is parked; n_waiting counts them.
 */
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

#include "procshare.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

/* ---- tests ------------------------------------------------------------------ */

static void expect_broken(ps_ctx *ctx, int rc)
{
	assert_int_equal(rc, -1);
	assert_int_equal(ps_err(ctx), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(ctx), "BrokenBarrierError");
}

static void test_barrier_basics(void **state)
{
	struct tfix *f = *state;
	ps_barrier *b = ps_barrier_new(f->ctx, 1, -1);
	int64_t v = -1;
	int broken = -1;

	assert_non_null(b);
	assert_int_equal(ps_barrier_parties(b, &v), 0);
	assert_int_equal(v, 1);
	/* One party: every wait passes at once, index 0. */
	assert_int_equal(ps_barrier_wait(b, -1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ps_barrier_wait(b, 0, &v), 0);
	assert_int_equal(ps_barrier_n_waiting(b, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	assert_int_equal(ps_barrier_abort(b), 0);
	expect_broken(f->ctx, ps_barrier_wait(b, -1, NULL));
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	assert_int_equal(ps_barrier_reset(b), 0);
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	assert_int_equal(ps_barrier_wait(b, -1, &v), 0);
	ps_barrier_free(b);

	assert_null(ps_barrier_new(f->ctx, 0, -1));
	assert_string_equal(ps_errcode(f->ctx), "ValueError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"barrier\"]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"barrier\", [2, -1]]"), "!ValueError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"barrier\", [2, 1.5]]"), "2");
	assert_string_equal(tfix_call(f->ctx, "barrier.wait", "[2, \"x\"]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "barrier.n_waiting", "[2]"), "0");
	assert_string_equal(tfix_call(f->ctx, "barrier.parties", "[2]"), "2");
	/* Timeout 0: the barrier breaks at once, without parking. */
	assert_string_equal(tfix_call(f->ctx, "barrier.wait", "[2, 0]"), "!BrokenBarrierError");
	assert_string_equal(tfix_call(f->ctx, "barrier.broken", "[2]"), "true");
}

#define NPARTIES 5
#define NROUNDS 3

/* Meets the others NROUNDS times, recording its index of each round. */
static int child_party(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_barrier *b;
	ps_dict *d;
	char key[32];

	b = ps_barrier_open(ctx, "meet", NPARTIES, -1);
	d = ps_dict_open(ctx, "meet-idx");
	if (b == NULL || d == NULL)
		return 3;
	for (int r = 0; r < NROUNDS; r++) {
		int64_t idx = -1;

		if (ps_barrier_wait(b, -1, &idx) < 0)
			return 4;
		snprintf(key, sizeof key, "r%d-p%d", r, i);
		if (ps_dict_set_int(d, key, idx) < 0)
			return 5;
	}
	ps_barrier_free(b);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void test_parties_meet(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "meet-idx");

	assert_non_null(d);
	tfix_run_children(&f->td, NPARTIES, child_party, "party");
	for (int r = 0; r < NROUNDS; r++) {
		int seen[NPARTIES] = { 0 };

		for (int i = 0; i < NPARTIES; i++) {
			char key[32];
			int64_t idx = -1;

			snprintf(key, sizeof key, "r%d-p%d", r, i);
			assert_int_equal(ps_dict_get_int(d, key, &idx), 0);
			assert_true(idx >= 0 && idx < NPARTIES);
			if (seen[idx]++)
				fail_msg("round %d: index %lld given twice", r, (long long)idx);
		}
	}
	ps_dict_free(d);
}

/* Waits until n parties wait at b. */
static void wait_for_parties(ps_barrier *b, int64_t n)
{
	int64_t end = tutil_now_ms() + TFIX_CHILD_MS, v = -1;

	while (ps_barrier_n_waiting(b, &v) < 0 || v != n)
		if (tutil_now_ms() > end)
			fail_msg("n_waiting is %lld, not %lld", (long long)v, (long long)n);
}

/* One party's timeout breaks the barrier for the party waiting without
 * one, and for every later wait until a reset. */
static void test_timeout_breaks(void **state)
{
	struct tfix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "tb", 3, -1);
	pid_t forever;
	char p[64];
	int broken = -1;
	int64_t t0, idx = -1;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	forever = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	t0 = tutil_now_ms();
	expect_broken(f->ctx, ps_barrier_wait(b, 0.2, NULL));
	assert_true(tutil_now_ms() - t0 >= 200);
	tfix_reap_ok(forever, "waiter without timeout");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	expect_broken(f->ctx, ps_barrier_wait(b, 5, NULL));
	assert_int_equal(ps_barrier_reset(b), 0);

	/* Usable again: three parties meet. */
	snprintf(p, sizeof p, "[%llu, 30]", (unsigned long long)ps_barrier_id(b));
	forever = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "0");
	{
		pid_t second = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "1");
		assert_int_equal(ps_barrier_wait(b, 30, &idx), 0);
		assert_int_equal(idx, 2);
		tfix_reap_ok(second, "second party");
	}
	tfix_reap_ok(forever, "first party");
	ps_barrier_free(b);
}

/* The barrier's own timeout applies to a wait that gives none. */
static void test_default_timeout(void **state)
{
	struct tfix *f = *state;
	ps_barrier *b = ps_barrier_new(f->ctx, 2, 0.2);
	int64_t t0;

	assert_non_null(b);
	t0 = tutil_now_ms();
	expect_broken(f->ctx, ps_barrier_wait(b, -1, NULL));
	assert_true(tutil_now_ms() - t0 >= 200);
	assert_true(tutil_now_ms() - t0 < 10000);
	ps_barrier_free(b);
}

static void test_abort_and_reset(void **state)
{
	struct tfix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "ar", 3, -1);
	pid_t w1, w2;
	char p[64];
	int broken = -1;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	w1 = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	w2 = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 2);
	assert_int_equal(ps_barrier_abort(b), 0);
	tfix_reap_ok(w1, "aborted waiter 1");
	tfix_reap_ok(w2, "aborted waiter 2");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	expect_broken(f->ctx, ps_barrier_wait(b, -1, NULL));

	/* reset: the barrier is whole again, and breaks out who waits. */
	assert_int_equal(ps_barrier_reset(b), 0);
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	w1 = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 1);
	assert_int_equal(ps_barrier_reset(b), 0);
	tfix_reap_ok(w1, "reset waiter");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	wait_for_parties(b, 0);
	ps_barrier_free(b);
}

/* A party killed while it waits breaks the barrier for the others. */
static void test_dead_party(void **state)
{
	struct tfix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "dp", 3, -1);
	pid_t dead, live;
	char p[64];
	int broken = -1;
	int64_t t0;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	dead = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "0");
	live = tfix_start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 2);
	t0 = tutil_now_ms();
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, TFIX_CHILD_MS), 128 + SIGKILL);
	tfix_reap_ok(live, "surviving party");
	assert_true(tutil_now_ms() - t0 < 5000);
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	assert_int_equal(ps_barrier_n_waiting(b, &t0), 0);
	assert_int_equal(t0, 0);
	ps_barrier_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_barrier_basics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_parties_meet, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_timeout_breaks, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_default_timeout, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_reset, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_party, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
