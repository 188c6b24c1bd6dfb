/*
 * Condition against a real daemon, with real processes: Python's rules
 * (the lock must be held to wait or notify; wait gives the lock up fully
 * and takes it back at the same level, even after a timeout), a condition
 * sharing a Lock made separately, producer/consumer with notify and
 * notify_all across processes, wait_for, and a waiter killed while it
 * waits.
 *
 * Children report through their exit status. A waiter that must be known
 * to be parked is a raw connection (acquire, wait, then a ping whose
 * answer proves the wait is parked), or is counted by the condition's
 * size in the "objects" listing (the calls waiting for a notify).
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

/* ---- helpers -------------------------------------------------------------- */

/* The size the "objects" listing gives the named object: for a condition,
 * the calls waiting for a notify. */
static int64_t listed_size(ps_ctx *ctx, const char *name)
{
	char want[300];
	const char *txt = tfix_call(ctx, "objects", "[]");
	const char *at;
	long long n;

	snprintf(want, sizeof want, "[\"%s\", ", name);
	at = strstr(txt, want);
	if (at == NULL)
		fail_msg("%s not listed in %s", name, txt);
	at = strchr(at, ']');
	while (at[-1] != ' ')
		at--;
	if (sscanf(at, "%lld", &n) != 1)
		fail_msg("no size for %s in %s", name, txt);
	return n;
}

/* Polls until the named condition has n waiters (a condition wait, not a
 * sleep), at most TFIX_CHILD_MS. */
static void wait_for_waiters(ps_ctx *ctx, const char *name, int64_t n)
{
	int64_t end = tutil_now_ms() + TFIX_CHILD_MS;

	while (listed_size(ctx, name) != n)
		if (tutil_now_ms() > end)
			fail_msg("%s never had %lld waiters", name, (long long)n);
}

/* ---- raw waiters ----------------------------------------------------------- */

/* In a child: acquires the condition id, parks condition.wait [id,
 * timeout], proves it parked (ping), tells the parent on fd, checks the
 * wait's outcome against expect, and releases. Returns the exit status. */
static int raw_cond_waiter(const struct tdaemon *td, uint64_t id, const char *timeout, const char *expect, int fd)
{
	char p[64], code[64], msg[256];
	const uint8_t *enc;
	struct traw r;
	size_t len;

	if (traw_connect_unix(&r, td->sock) < 0 || traw_handshake(&r, td->key, td->keylen, NULL, 0) != 0)
		return 80;
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)id);
	enc = tval_enc(p, &len);
	if (traw_request(&r, 1, "condition.acquire", enc, len) < 0 || traw_response(&r, 1, code, sizeof code, msg, sizeof msg) != 0)
		return 81;
	snprintf(p, sizeof p, "[%llu, %s]", (unsigned long long)id, timeout);
	enc = tval_enc(p, &len);
	if (traw_request(&r, 2, "condition.wait", enc, len) < 0 || traw_request(&r, 3, "ping", "\x90", 1) < 0)
		return 82;
	if (traw_response(&r, 3, code, sizeof code, msg, sizeof msg) != 0)
		return 83;
	if (write(fd, "x", 1) != 1)
		return 84;
	if (traw_read_msg(&r, TFIX_CHILD_MS) < 0 || r.m.msgid != 2)
		return 85;
	if (strcmp(tfix_raw_outcome(&r), expect) != 0) {
		fprintf(stderr, "raw waiter: got %s, want %s\n", tfix_raw_outcome(&r), expect);
		return 86;
	}
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)id);
	enc = tval_enc(p, &len);
	if (traw_request(&r, 4, "condition.release", enc, len) < 0 || traw_response(&r, 4, code, sizeof code, msg, sizeof msg) != 0)
		return 87;
	traw_close(&r);
	return 0;
}

static pid_t start_raw_cond_waiter(const struct tdaemon *td, uint64_t id, const char *timeout, const char *expect)
{
	int fd;
	pid_t pid = tfix_fork_parked(&fd, "raw waiter");

	if (pid == 0)
		_exit(raw_cond_waiter(td, id, timeout, expect, fd));
	return pid;
}

/* ---- Python's rules ------------------------------------------------------------- */

static void test_condition_rules(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_condition *c = ps_condition_open(f->ctx, "cv", NULL);
	ps_condition *co = ps_condition_open(other, "cv", NULL);
	struct ps_acquired a;
	int64_t t0;

	assert_non_null(c);
	assert_non_null(co);
	tfix_expect_remote(f->ctx, ps_condition_wait(c, 1), "RuntimeError", "cannot wait on un-acquired lock");
	tfix_expect_remote(f->ctx, ps_condition_notify(c, 1), "RuntimeError", "cannot notify on un-acquired lock");
	tfix_expect_remote(f->ctx, ps_condition_notify_all(c), "RuntimeError", "cannot notify on un-acquired lock");
	tfix_expect_remote(f->ctx, ps_condition_release(c), "RuntimeError", "cannot release un-acquired lock");

	assert_int_equal(ps_condition_acquire(c, 1, -1, &a), 1);
	assert_true(a.token >= 1);
	/* Its own lock is an RLock. */
	assert_int_equal(ps_condition_acquire(c, 0, -1, NULL), 1);
	assert_int_equal(ps_condition_acquire(c, 1, 2, NULL), 1);
	/* Another context neither holds it nor gets it. */
	assert_int_equal(ps_condition_acquire(co, 0, -1, NULL), 0);
	assert_int_equal(ps_condition_acquire(co, 1, 0.1, NULL), 0);
	tfix_expect_remote(other, ps_condition_wait(co, 0.1), "RuntimeError", "un-acquired");
	tfix_expect_remote(other, ps_condition_notify(co, 1), "RuntimeError", "un-acquired");

	/* A timed-out wait answers 0, with all three levels back. */
	t0 = tutil_now_ms();
	assert_int_equal(ps_condition_wait(c, 0.2), 0);
	assert_true(tutil_now_ms() - t0 >= 200);
	assert_int_equal(ps_condition_wait(c, 0), 0);
	assert_int_equal(ps_condition_notify(c, 1), 0);   /* nobody waits: nothing happens */
	assert_int_equal(ps_condition_notify_all(c), 0);
	assert_int_equal(ps_condition_acquire(co, 0, -1, NULL), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ps_condition_release(c), 0);
	tfix_expect_remote(f->ctx, ps_condition_release(c), "RuntimeError", "cannot release un-acquired lock");
	assert_int_equal(ps_condition_acquire(co, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(ps_condition_release(co), 0);

	assert_string_equal(tfix_call(f->ctx, "condition.wait", "[1, -1]"), "!ValueError");
	assert_string_equal(tfix_call(f->ctx, "condition.notify", "[1, \"x\"]"), "!TypeError");
	ps_condition_free(c);
	ps_condition_free(co);
	ps_free(other);
}

/* A condition on a Lock made separately: the lock and the condition are
 * one lock; the condition keeps the lock object alive. */
static void test_condition_on_lock(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_new(f->ctx, PS_LOCK);
	ps_condition *c;
	uint64_t lid;
	int locked = 0;
	char p[64];

	assert_non_null(l);
	lid = ps_lock_id(l);
	c = ps_condition_new(f->ctx, l);
	assert_non_null(c);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_acquire(c, 0, -1, NULL), 0);    /* a Lock: not reentrant */
	assert_int_equal(ps_condition_wait(c, 0.1), 0);
	assert_int_equal(ps_lock_locked(l, &locked), 0);
	assert_int_equal(locked, 1);
	assert_int_equal(ps_condition_notify(c, 1), 0);
	assert_int_equal(ps_condition_release(c), 0);
	tfix_expect_remote(f->ctx, ps_lock_release(l), "RuntimeError", "release unlocked lock");

	/* The proxy goes; the condition still holds the lock object. */
	ps_lock_free(l);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)lid);
	assert_string_equal(tfix_call(f->ctx, "typeof", p), "\"lock\"");
	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_release(c), 0);
	ps_condition_free(c);
	/* With the condition gone, so is the lock. */
	assert_string_equal(tfix_call(f->ctx, "typeof", p), "!NoSuchObject");

	/* Only a lock or an rlock will do. */
	assert_string_equal(tfix_call(f->ctx, "create", "[\"dict\"]"), "3");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"condition\", [3]]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"condition\", [999]]"), "!NoSuchObject");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"condition\", [\"x\"]]"), "!TypeError");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"rlock\"]"), "4");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"condition\", [ref(4)]]"), "5");
	assert_string_equal(tfix_call(f->ctx, "create", "[\"condition\", [nil]]"), "6");
}

/* An RLock shared with a condition: a wait gives up every level and takes
 * them all back. */
static void test_condition_rlock_levels(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_lock *l = ps_lock_open(f->ctx, "rl", PS_RLOCK);
	ps_lock *lo = ps_lock_open(other, "rl", PS_RLOCK);
	ps_condition *c;

	assert_non_null(l);
	assert_non_null(lo);
	c = ps_condition_open(f->ctx, "cv", l);
	assert_non_null(c);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_wait(c, 0.05), 0);
	assert_int_equal(ps_lock_acquire(lo, 0, -1, NULL), 0);
	assert_int_equal(ps_lock_release(l), 0);
	assert_int_equal(ps_lock_acquire(lo, 0, -1, NULL), 0);
	assert_int_equal(ps_lock_release(l), 0);
	tfix_expect_remote(f->ctx, ps_lock_release(l), "RuntimeError", NULL);
	assert_int_equal(ps_lock_acquire(lo, 0, -1, NULL), 1);
	assert_int_equal(ps_lock_release(lo), 0);
	ps_condition_free(c);
	ps_lock_free(l);
	ps_lock_free(lo);
	ps_free(other);
}

/* ---- across processes -------------------------------------------------------------- */

#define NITEMS 60
#define NCONSUMERS 3

struct pc {
	ps_dict *d;
	int fail;
};

/* wait_for's predicate: an item to take, or the end. */
static int pc_ready(void *arg)
{
	struct pc *pc = arg;
	int64_t avail = 0, done = 0;

	if (ps_dict_get_int(pc->d, "avail", &avail) < 0 || ps_dict_get_int(pc->d, "done", &done) < 0)
		pc->fail = 1;
	return pc->fail || avail > 0 || done;
}

static int child_consumer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_condition *c = ps_condition_open(ctx, "pc", NULL);
	struct pc pc = { ps_dict_open(ctx, "pc-state"), 0 };
	char key[16];

	if (c == NULL || pc.d == NULL)
		return 2;
	snprintf(key, sizeof key, "got%d", i);
	for (;;) {
		int64_t avail = 0, n = 0;

		if (ps_condition_acquire(c, 1, -1, NULL) != 1)
			return 3;
		if (ps_condition_wait_for(c, pc_ready, &pc, -1) != 1 || pc.fail)
			return 4;
		if (ps_dict_get_int(pc.d, "avail", &avail) < 0)
			return 5;
		if (avail == 0) {       /* done, and nothing left */
			ps_condition_release(c);
			break;
		}
		/* A get and a set: only the condition's lock makes it safe. */
		if (ps_dict_set_int(pc.d, "avail", avail - 1) < 0 || ps_dict_get_int(pc.d, "consumed", &n) < 0 ||
		    ps_dict_set_int(pc.d, "consumed", n + 1) < 0 || ps_dict_incr_int(pc.d, key, 1, NULL) < 0)
			return 6;
		if (ps_condition_release(c) < 0)
			return 7;
	}
	ps_condition_free(c);
	ps_dict_free(pc.d);
	ps_free(ctx);
	return 0;
}

static int child_producer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_condition *c = ps_condition_open(ctx, "pc", NULL);
	ps_dict *d = ps_dict_open(ctx, "pc-state");

	(void)i;
	if (c == NULL || d == NULL)
		return 2;
	for (int k = 0; k < NITEMS; k++) {
		int64_t avail = 0;

		if (ps_condition_acquire(c, 1, -1, NULL) != 1 || ps_dict_get_int(d, "avail", &avail) < 0 ||
		    ps_dict_set_int(d, "avail", avail + 1) < 0 || ps_condition_notify(c, 1) < 0 ||
		    ps_condition_release(c) < 0)
			return 3;
	}
	if (ps_condition_acquire(c, 1, -1, NULL) != 1 || ps_dict_set_int(d, "done", 1) < 0 ||
	    ps_condition_notify_all(c) < 0 || ps_condition_release(c) < 0)
		return 4;
	ps_condition_free(c);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void test_producer_consumer(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "pc-state");
	ps_condition *c = ps_condition_open(f->ctx, "pc", NULL);
	pid_t cons[NCONSUMERS], prod;
	int64_t n = 0, sum = 0;

	assert_non_null(d);
	assert_non_null(c);
	assert_int_equal(ps_dict_set_int(d, "avail", 0), 0);
	assert_int_equal(ps_dict_set_int(d, "consumed", 0), 0);
	assert_int_equal(ps_dict_set_int(d, "done", 0), 0);
	for (int i = 0; i < NCONSUMERS; i++)
		cons[i] = tfix_spawn(&f->td, i, child_consumer);
	/* The consumers are all waiting before anything is produced. */
	wait_for_waiters(f->ctx, "pc", NCONSUMERS);
	prod = tfix_spawn(&f->td, 0, child_producer);
	tfix_reap_ok(prod, "producer");
	for (int i = 0; i < NCONSUMERS; i++)
		tfix_reap_ok(cons[i], "consumer");
	assert_int_equal(ps_dict_get_int(d, "consumed", &n), 0);
	assert_int_equal(n, NITEMS);
	for (int i = 0; i < NCONSUMERS; i++) {
		char key[16];
		int64_t g = 0;

		snprintf(key, sizeof key, "got%d", i);
		if (ps_dict_get_int(d, key, &g) == 0)
			sum += g;
	}
	assert_int_equal(sum, NITEMS);
	assert_int_equal(ps_dict_get_int(d, "avail", &n), 0);
	assert_int_equal(n, 0);
	ps_condition_free(c);
	ps_dict_free(d);
}

#define NWAITERS 4

/* Waits once, forever, and counts itself woken. */
static int child_wait_once(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_condition *c = ps_condition_open(ctx, "bell", NULL);
	ps_dict *d = ps_dict_open(ctx, "bell-state");

	(void)i;
	if (c == NULL || d == NULL)
		return 2;
	if (ps_condition_acquire(c, 1, -1, NULL) != 1)
		return 3;
	if (ps_condition_wait(c, -1) != 1)
		return 4;
	/* It holds the lock again. */
	if (ps_dict_incr_int(d, "woken", 1, NULL) < 0 || ps_condition_release(c) < 0)
		return 5;
	ps_condition_free(c);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void wait_for_woken(ps_dict *d, int64_t n)
{
	int64_t end = tutil_now_ms() + TFIX_CHILD_MS, v = -1;

	while (ps_dict_get_int(d, "woken", &v) < 0 || v != n)
		if (tutil_now_ms() > end)
			fail_msg("woken is %lld, not %lld", (long long)v, (long long)n);
}

/* notify(1) wakes one, notify(2) two more, notify_all the rest. */
static void test_notify_counts(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "bell-state");
	ps_condition *c = ps_condition_open(f->ctx, "bell", NULL);
	pid_t pids[NWAITERS];

	assert_non_null(d);
	assert_non_null(c);
	assert_int_equal(ps_dict_set_int(d, "woken", 0), 0);
	for (int i = 0; i < NWAITERS; i++)
		pids[i] = tfix_spawn(&f->td, i, child_wait_once);
	wait_for_waiters(f->ctx, "bell", NWAITERS);

	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_notify(c, 1), 0);
	assert_int_equal(ps_condition_release(c), 0);
	wait_for_woken(d, 1);
	assert_int_equal(listed_size(f->ctx, "bell"), NWAITERS - 1);

	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_notify(c, 2), 0);
	/* Notified, but the lock is ours: they queue for it. */
	assert_int_equal(listed_size(f->ctx, "bell"), NWAITERS - 3);
	assert_int_equal(ps_condition_release(c), 0);
	wait_for_woken(d, 3);

	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_notify_all(c), 0);
	assert_int_equal(ps_condition_release(c), 0);
	for (int i = 0; i < NWAITERS; i++)
		tfix_reap_ok(pids[i], "waiter");
	wait_for_woken(d, NWAITERS);
	ps_condition_free(c);
	ps_dict_free(d);
}

/* After its timeout, a wait takes the lock back before answering: it
 * stays blocked while another process holds the lock. */
static int child_timed_wait(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_condition *c = ps_condition_open(ctx, "tw", NULL);

	(void)i;
	if (c == NULL || ps_condition_acquire(c, 1, -1, NULL) != 1)
		return 2;
	/* The context's timeout is shorter than the whole wait. */
	ps_set_timeout(ctx, 200);
	if (ps_condition_wait(c, 0.3) != 0)
		return 3;
	if (ps_condition_release(c) < 0)
		return 4;
	return 0;
}

static void test_timed_out_wait_requeues(void **state)
{
	struct tfix *f = *state;
	ps_condition *c = ps_condition_open(f->ctx, "tw", NULL);
	int status;
	pid_t pid;

	assert_non_null(c);
	pid = tfix_spawn(&f->td, 0, child_timed_wait);
	wait_for_waiters(f->ctx, "tw", 1);
	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	/* Well past the wait's 0.3 s, it still waits for the lock. */
	if (tutil_wait_child(pid, 1500, &status) == 0)
		fail_msg("the waiter ended early: %s", tutil_status_str(status, (char[32]){ 0 }, 32));
	assert_int_equal(ps_condition_release(c), 0);
	tfix_reap_ok(pid, "timed waiter");
	ps_condition_free(c);
}

/* A waiter killed while it waits is removed: a notify goes to the live
 * one behind it instead of being lost. */
static void test_dead_waiter(void **state)
{
	struct tfix *f = *state;
	ps_condition *c = ps_condition_open(f->ctx, "dw", NULL);
	pid_t dead, live;
	int status;

	assert_non_null(c);
	dead = start_raw_cond_waiter(&f->td, ps_condition_id(c), "nil", "true");
	live = start_raw_cond_waiter(&f->td, ps_condition_id(c), "nil", "true");
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, TFIX_CHILD_MS), 128 + SIGKILL);
	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_notify(c, 1), 0);
	assert_int_equal(ps_condition_release(c), 0);
	assert_int_equal(tutil_wait_child(live, TFIX_CHILD_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	wait_for_waiters(f->ctx, "dw", 0);
	ps_condition_free(c);
}

/* A waiter whose timeout passes while nobody holds the lock gets it back
 * at once and answers false; one notified answers true. */
static void test_raw_wait_outcomes(void **state)
{
	struct tfix *f = *state;
	ps_condition *c = ps_condition_open(f->ctx, "ro", NULL);
	pid_t a, b;

	assert_non_null(c);
	a = start_raw_cond_waiter(&f->td, ps_condition_id(c), "0.2", "false");
	tfix_reap_ok(a, "timed-out waiter");
	b = start_raw_cond_waiter(&f->td, ps_condition_id(c), "30", "true");
	assert_int_equal(ps_condition_acquire(c, 1, -1, NULL), 1);
	assert_int_equal(ps_condition_notify_all(c), 0);
	assert_int_equal(ps_condition_release(c), 0);
	tfix_reap_ok(b, "notified waiter");
	ps_condition_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_condition_rules, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_condition_on_lock, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_condition_rlock_levels, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_producer_consumer, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_notify_counts, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_timed_out_wait_requeues, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_waiter, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_raw_wait_outcomes, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
