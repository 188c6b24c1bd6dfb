/*
 * Event against a real daemon, with real processes: set, clear, is_set,
 * waiters in several processes woken by one set, timeouts (answered
 * false, not an error, and not cut short by the client's own timeout),
 * and a waiter killed while it waits.
 *
 * A waiter that must be known to be parked is a raw connection: it sends
 * its wait, then a ping, and the ping's answer (a connection's requests
 * are handled in order) proves the wait is parked.
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

static void test_event_semantics(void **state)
{
	struct tfix *f = *state;
	ps_event *e = ps_event_new(f->ctx);
	int set = -1;
	int64_t t0;

	assert_non_null(e);
	assert_int_equal(ps_event_is_set(e, &set), 0);
	assert_int_equal(set, 0);
	t0 = tutil_now_ms();
	assert_int_equal(ps_event_wait(e, 0.2), 0);
	assert_true(tutil_now_ms() - t0 >= 200);
	assert_int_equal(ps_event_wait(e, 0), 0);
	assert_int_equal(ps_event_set(e), 0);
	assert_int_equal(ps_event_set(e), 0);
	assert_int_equal(ps_event_is_set(e, &set), 0);
	assert_int_equal(set, 1);
	assert_int_equal(ps_event_wait(e, -1), 1);
	assert_int_equal(ps_event_wait(e, 0), 1);
	assert_int_equal(ps_event_clear(e), 0);
	assert_int_equal(ps_event_is_set(e, &set), 0);
	assert_int_equal(set, 0);
	assert_int_equal(ps_event_wait(e, 0.01), 0);

	assert_string_equal(tfix_call(f->ctx, "event.wait", "[1, -0.5]"), "!ValueError");
	assert_string_equal(tfix_call(f->ctx, "event.wait", "[1, \"x\"]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "event.set", "[1, 1]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "event.wait", "[1, 0]"), "false");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"event\", [1]]"), "!TypeError");
	ps_event_free(e);
}

#define NWAITERS 5

/* Waiters in several processes all wake on one set. */
static void test_set_wakes_all(void **state)
{
	struct tfix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "go");
	pid_t pids[NWAITERS];
	char p[64];

	assert_non_null(e);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_event_id(e));
	for (int i = 0; i < NWAITERS; i++)
		pids[i] = tfix_start_raw_waiter(&f->td, "event.wait", p, "true");
	assert_int_equal(ps_event_set(e), 0);
	for (int i = 0; i < NWAITERS; i++)
		tfix_reap_ok(pids[i], "waiter");
	ps_event_free(e);
}

/* A wait with a timeout answers false, also in a waiter parked before;
 * a killed waiter goes without disturbing the others. */
static void test_timeouts_and_dead_waiter(void **state)
{
	struct tfix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "ev");
	pid_t timed, dead, live;
	char p[64];

	assert_non_null(e);
	snprintf(p, sizeof p, "[%llu, 0.2]", (unsigned long long)ps_event_id(e));
	timed = tfix_start_raw_waiter(&f->td, "event.wait", p, "false");
	tfix_reap_ok(timed, "timed waiter");
	snprintf(p, sizeof p, "[%llu, nil]", (unsigned long long)ps_event_id(e));
	dead = tfix_start_raw_waiter(&f->td, "event.wait", p, "true");
	live = tfix_start_raw_waiter(&f->td, "event.wait", p, "true");
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, TFIX_CHILD_MS), 128 + SIGKILL);
	assert_int_equal(ps_event_set(e), 0);
	tfix_reap_ok(live, "live waiter");
	ps_event_free(e);
}

/* A wait longer than the context's timeout is not cut short by it. */
static int child_long_wait(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_event *e;
	int64_t t0;

	if (ps_err(ctx) != PS_ERR_NONE)
		return 2;
	ps_set_timeout(ctx, 500);
	e = ps_event_open(ctx, "late");
	if (e == NULL)
		return 3;
	t0 = tutil_now_ms();
	if (ps_event_wait(e, 1.2) != 0 || tutil_now_ms() - t0 < 1200)
		return 4;
	if (ps_event_wait(e, -1) != 1)
		return 5;
	ps_event_free(e);
	ps_free(ctx);
	return 0;
}

static void test_long_wait_beats_context_timeout(void **state)
{
	struct tfix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "late");
	int status;
	pid_t pid;

	assert_non_null(e);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_long_wait(&f->td));
	if (tutil_wait_child(pid, 2500, &status) == 0)
		fail_msg("the waiter ended early: %s", tutil_status_str(status, (char[32]){ 0 }, 32));
	assert_int_equal(ps_event_set(e), 0);
	tfix_reap_ok(pid, "long waiter");
	ps_event_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_semantics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_set_wakes_all, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_timeouts_and_dead_waiter, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_long_wait_beats_context_timeout, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
