/*
 * Lock, RLock, Semaphore and BoundedSemaphore against a real daemon, with
 * real processes: Python's semantics and errors, mutual exclusion across
 * processes, fencing tokens, FIFO hand-over, and above all what happens
 * when a holder or a waiter is killed with SIGKILL.
 *
 * Children report through their exit status (never cmocka asserts, which
 * would unwind into the child's copy of the test runner) and tell the
 * parent they reached a point by writing a byte into a pipe. A waiter that
 * must be known to be parked is a raw connection: it sends its acquire,
 * then a ping, and the ping's answer (requests of one connection are
 * handled in order) proves the acquire is parked.
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

/* A waiter told of a dead holder must get the lock well before this. */
#define PROMPT_MS 5000

/* ---- helpers -------------------------------------------------------------- */

static void signal_parent(int fd)
{
	if (write(fd, "x", 1) != 1)
		_exit(91);
}

/* ---- raw waiters ----------------------------------------------------------- */

struct raw_wait {
	const char *method;     /* the blocking call, e.g. "lock.acquire" */
	char params[64];        /* its params, as tval text */
	const char *expect;     /* what its result must start with */
	const char *expect_end; /* and end with, or NULL */
	const char *then;       /* a method to call on the same object after, or NULL */
	uint64_t id;
};

/* A raw connection in this (child) process: parks w's call, proves it is
 * parked, tells the parent on fd, waits for the answer and checks it.
 * Returns the child's exit status. */
static int raw_waiter(const struct tdaemon *td, const struct raw_wait *w, int fd)
{
	struct traw r;
	char code[64], msg[256], p[32];
	const uint8_t *enc;
	size_t len;
	const char *got;

	if (traw_connect_unix(&r, td->sock) < 0 || traw_handshake(&r, td->key, td->keylen, NULL, 0) != 0)
		return 80;
	enc = tval_enc(w->params, &len);
	if (traw_request(&r, 1, w->method, enc, len) < 0 || traw_request(&r, 2, "ping", "\x90", 1) < 0)
		return 81;
	if (traw_response(&r, 2, code, sizeof code, msg, sizeof msg) != 0)
		return 82;      /* the call was answered at once, not parked */
	signal_parent(fd);
	if (traw_read_msg(&r, TFIX_CHILD_MS) < 0 || r.m.msgid != 1)
		return 83;
	got = tval_text(r.m.result, r.m.result_len);
	if (strncmp(got, w->expect, strlen(w->expect)) != 0 ||
	    (w->expect_end != NULL && (strlen(got) < strlen(w->expect_end) ||
				       strcmp(got + strlen(got) - strlen(w->expect_end), w->expect_end) != 0))) {
		fprintf(stderr, "raw waiter: got %s, want %s...%s\n", got, w->expect,
			w->expect_end != NULL ? w->expect_end : "");
		return 84;
	}
	if (w->then != NULL) {
		snprintf(p, sizeof p, "[%llu]", (unsigned long long)w->id);
		enc = tval_enc(p, &len);
		if (traw_request(&r, 3, w->then, enc, len) < 0 || traw_response(&r, 3, code, sizeof code, msg, sizeof msg) != 0)
			return 85;
	}
	traw_close(&r);
	return 0;
}

/* Forks a raw waiter and waits until it is parked. */
static pid_t start_raw_waiter(const struct tdaemon *td, const struct raw_wait *w)
{
	int fd;
	pid_t pid = tfix_fork_parked(&fd, "raw waiter");

	if (pid == 0)
		_exit(raw_waiter(td, w, fd));
	return pid;
}

static void raw_wait_init(struct raw_wait *w, const char *type, uint64_t id, const char *expect, const char *then)
{
	static char method[2][64];
	static int k;
	char *m = method[k++ % 2];

	snprintf(m, 64, "%s.acquire", type);
	w->method = m;
	snprintf(w->params, sizeof w->params, "[%llu]", (unsigned long long)id);
	w->expect = expect;
	w->expect_end = NULL;
	w->then = then;
	w->id = id;
}

/* ---- Python's semantics, one process ---------------------------------------- */

static void test_lock_semantics(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_new(f->ctx, PS_LOCK);
	struct ps_acquired a, b;
	int locked = -1;
	int64_t t0;

	assert_non_null(l);
	assert_int_equal(ps_lock_locked(l, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(ps_lock_acquire(l, 1, -1, &a), 1);
	assert_int_equal(a.acquired, 1);
	assert_true(a.token >= 1);
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(ps_lock_locked(l, &locked), 0);
	assert_int_equal(locked, 1);

	/* A Lock is not reentrant: its own holder is refused too. */
	assert_int_equal(ps_lock_acquire(l, 0, -1, &b), 0);
	assert_int_equal(b.acquired, 0);
	assert_int_equal(b.token, 0);
	t0 = tutil_now_ms();
	assert_int_equal(ps_lock_acquire(l, 1, 0.2, &b), 0);
	assert_true(tutil_now_ms() - t0 >= 200);
	assert_true(tutil_now_ms() - t0 < 5000);
	assert_int_equal(ps_lock_acquire(l, 1, 0, NULL), 0);

	assert_int_equal(ps_lock_release(l), 0);
	tfix_expect_remote(f->ctx, ps_lock_release(l), "RuntimeError", "release unlocked lock");

	/* Tokens grow with every acquisition. */
	assert_int_equal(ps_lock_acquire(l, 1, 5, &b), 1);
	assert_true(b.token > a.token);
	assert_int_equal(ps_lock_release(l), 0);
	ps_lock_free(l);
}

/* Python allows any thread to release a Lock; here, any connection. */
static void test_lock_released_by_another(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_lock *l = ps_lock_open(f->ctx, "L", PS_LOCK);
	ps_lock *lo = ps_lock_open(other, "L", PS_LOCK);
	struct ps_acquired a;
	int locked = -1;

	assert_non_null(l);
	assert_non_null(lo);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	assert_int_equal(ps_lock_release(lo), 0);
	assert_int_equal(ps_lock_locked(l, &locked), 0);
	assert_int_equal(locked, 0);
	assert_int_equal(ps_lock_acquire(lo, 0, -1, &a), 1);
	/* Released, not abandoned: nobody died. */
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(ps_lock_release(lo), 0);
	/* Opening a name of another kind is refused. */
	assert_null(ps_lock_open(other, "L", PS_RLOCK));
	assert_int_equal(ps_err(other), PS_ERR_REMOTE);
	ps_lock_free(l);
	ps_lock_free(lo);
	ps_free(other);
}

static void test_rlock_semantics(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_lock *l = ps_lock_open(f->ctx, "R", PS_RLOCK);
	ps_lock *lo = ps_lock_open(other, "R", PS_RLOCK);
	struct ps_acquired a, b;

	assert_non_null(l);
	assert_non_null(lo);
	assert_int_equal(ps_lock_acquire(l, 1, -1, &a), 1);
	/* Re-entry: at once, even non-blocking, with the token of the hold. */
	assert_int_equal(ps_lock_acquire(l, 0, -1, &b), 1);
	assert_int_equal(b.token, a.token);
	assert_int_equal(ps_lock_acquire(l, 1, 1, &b), 1);
	/* What an operator sees: who holds it, how deep, with which token. */
	{
		const char *d = tfix_call(other, "describe", "[\"R\"]");
		char want[64];

		snprintf(want, sizeof want, "\"count\": 3, \"token\": %llu}]", (unsigned long long)a.token);
		if (strstr(d, "\"kind\": \"rlock\", \"free\": 0") == NULL || strstr(d, want) == NULL)
			fail_msg("describe says %s", d);
	}

	tfix_expect_remote(other, ps_lock_release(lo), "RuntimeError", "cannot release un-acquired lock");
	assert_int_equal(ps_lock_acquire(lo, 0, -1, NULL), 0);
	assert_int_equal(ps_lock_acquire(lo, 1, 0.1, NULL), 0);
	assert_int_equal(ps_lock_release(l), 0);
	assert_int_equal(ps_lock_release(l), 0);
	assert_int_equal(ps_lock_acquire(lo, 0, -1, NULL), 0);     /* one level left */
	assert_int_equal(ps_lock_release(l), 0);
	tfix_expect_remote(f->ctx, ps_lock_release(l), "RuntimeError", "cannot release un-acquired lock");
	assert_int_equal(ps_lock_acquire(lo, 0, -1, &b), 1);
	assert_true(b.token > a.token);
	assert_int_equal(ps_lock_release(lo), 0);
	ps_lock_free(l);
	ps_lock_free(lo);
	ps_free(other);
}

static void test_semaphore_semantics(void **state)
{
	struct tfix *f = *state;
	ps_ctx *other = tdaemon_connect(&f->td);
	ps_semaphore *s = ps_semaphore_open(f->ctx, "S", 2, 0);
	ps_semaphore *so = ps_semaphore_open(other, "S", 99, 0);  /* exists: 99 ignored */
	struct ps_acquired a, b;

	assert_non_null(s);
	assert_non_null(so);
	assert_int_equal(ps_semaphore_acquire(s, 1, -1, &a), 1);
	assert_int_equal(ps_semaphore_acquire(s, 1, -1, &b), 1);
	assert_true(b.token > a.token);
	assert_int_equal(ps_semaphore_acquire(so, 0, -1, NULL), 0);
	assert_int_equal(ps_semaphore_acquire(so, 1, 0.1, NULL), 0);
	/* Anyone may release a Semaphore, and above its initial value. */
	assert_int_equal(ps_semaphore_release(so), 0);
	assert_int_equal(ps_semaphore_acquire(so, 0, -1, NULL), 1);
	assert_int_equal(ps_semaphore_release_n(so, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 1);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 0);
	tfix_expect_remote(other, ps_semaphore_release_n(so, 0), "ValueError", "n must be one or more");
	assert_null(ps_semaphore_new(f->ctx, -1, 0));
	assert_string_equal(ps_errcode(f->ctx), "ValueError");
	ps_semaphore_free(s);
	ps_semaphore_free(so);
	ps_free(other);
}

static void test_bounded_semaphore(void **state)
{
	struct tfix *f = *state;
	ps_semaphore *s = ps_semaphore_new(f->ctx, 2, 1);

	assert_non_null(s);
	tfix_expect_remote(f->ctx, ps_semaphore_release(s), "ValueError", "Semaphore released too many times");
	assert_int_equal(ps_semaphore_acquire(s, 1, -1, NULL), 1);
	tfix_expect_remote(f->ctx, ps_semaphore_release_n(s, 2), "ValueError", "released too many times");
	assert_int_equal(ps_semaphore_release(s), 0);
	tfix_expect_remote(f->ctx, ps_semaphore_release(s), "ValueError", "released too many times");
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 1);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 1);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 0);
	assert_int_equal(ps_semaphore_release_n(s, 2), 0);
	ps_semaphore_free(s);
}

/* Argument checking on the wire. */
static void test_wire_errors(void **state)
{
	struct tfix *f = *state;

#define CALL(method, params) tfix_call(f->ctx, method, params)
	assert_string_equal(CALL("create", "[\"lock\"]"), "1");
	assert_string_equal(CALL("lock.acquire", "[1]"), "{\"acquired\": true, \"token\": 1, \"abandoned\": false}");
	assert_string_equal(CALL("lock.acquire", "[1, false]"), "{\"acquired\": false, \"token\": 0, \"abandoned\": false}");
	assert_string_equal(CALL("lock.acquire", "[1, true, 0]"), "{\"acquired\": false, \"token\": 0, \"abandoned\": false}");
	assert_string_equal(CALL("lock.acquire", "[1, false, 1]"), "!ValueError");
	assert_string_equal(CALL("lock.acquire", "[1, true, -1]"), "!ValueError");
	assert_string_equal(CALL("lock.acquire", "[1, true, \"x\"]"), "!TypeError");
	assert_string_equal(CALL("lock.acquire", "[1, 1]"), "!TypeError");
	assert_string_equal(CALL("lock.acquire", "[1, true, 1e10]"), "!OverflowError");
	assert_string_equal(CALL("lock.acquire", "[1, true, nil, 3]"), "!TypeError");
	assert_string_equal(CALL("lock.release", "[1, 1]"), "!TypeError");
	assert_string_equal(CALL("lock.locked", "[1]"), "true");
	assert_string_equal(CALL("lock.release", "[1]"), "nil");
	assert_string_equal(CALL("rlock.acquire", "[1]"), "!TypeError");
	assert_string_equal(CALL("create", "[\"lock\", [1]]"), "!TypeError");
	assert_string_equal(CALL("create", "[\"semaphore\", [\"a\"]]"), "!TypeError");
	assert_string_equal(CALL("create", "[\"boundedsemaphore\", [-1]]"), "!ValueError");
	assert_string_equal(CALL("create", "[\"semaphore\"]"), "2");
	assert_string_equal(CALL("semaphore.acquire", "[2, true, 0.5]"), "{\"acquired\": true, \"token\": 1, \"abandoned\": false}");
	assert_string_equal(CALL("semaphore.release", "[2, -1]"), "!ValueError");
	assert_string_equal(CALL("semaphore.release", "[2, nil]"), "nil");
	assert_string_equal(CALL("semaphore.release", "[2, 9223372036854775807]"), "!OverflowError");
	assert_string_equal(CALL("objects", "[]"), "[]");
#undef CALL
}

/* ---- across processes ---------------------------------------------------------- */

#define NPROC 8
#define NINCR 150

/* Increments "n" with a get and a set (not dict.incr) under the lock, and
 * checks inside the critical section that its token is above the last
 * one any process wrote there. */
static int child_counter(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_lock *l = ps_lock_open(ctx, "counter-lock", PS_LOCK);
	ps_dict *d = ps_dict_open(ctx, "counter");
	struct ps_acquired a;

	(void)i;
	if (l == NULL || d == NULL)
		return 2;
	for (int j = 0; j < NINCR; j++) {
		int64_t n = 0, last = 0;

		if (ps_lock_acquire(l, 1, -1, &a) != 1 || a.abandoned)
			return 3;
		if (ps_dict_get_int(d, "n", &n) < 0 || ps_dict_get_int(d, "token", &last) < 0)
			return 4;
		if ((int64_t)a.token <= last)
			return 5;
		if (ps_dict_set_int(d, "n", n + 1) < 0 || ps_dict_set_int(d, "token", (int64_t)a.token) < 0)
			return 6;
		if (ps_lock_release(l) < 0)
			return 7;
	}
	ps_lock_free(l);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void test_counter_under_lock(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "counter");
	int64_t n = -1, token = -1;

	assert_non_null(d);
	assert_int_equal(ps_dict_set_int(d, "n", 0), 0);
	assert_int_equal(ps_dict_set_int(d, "token", 0), 0);
	tfix_run_children(&f->td, NPROC, child_counter, "child");
	assert_int_equal(ps_dict_get_int(d, "n", &n), 0);
	assert_int_equal(n, NPROC * NINCR);
	assert_int_equal(ps_dict_get_int(d, "token", &token), 0);
	assert_int_equal(token, NPROC * NINCR);
	ps_dict_free(d);
}

#define SEM_PROCS 10
#define SEM_UNITS 3

/* Inside the section: counts itself in, and stays until it has seen the
 * section full (or everyone has entered, so it cannot fill any more),
 * recording any moment when more than SEM_UNITS were inside. */
static int child_semaphore(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_semaphore *s = ps_semaphore_open(ctx, "gate", SEM_UNITS, 0);
	ps_dict *d = ps_dict_open(ctx, "gate-stats");
	int64_t inside = 0, entered = 0;

	(void)i;
	if (s == NULL || d == NULL)
		return 2;
	if (ps_semaphore_acquire(s, 1, -1, NULL) != 1)
		return 3;
	if (ps_dict_incr_int(d, "inside", 1, &inside) < 0 || ps_dict_incr_int(d, "entered", 1, &entered) < 0)
		return 4;
	while (inside < SEM_UNITS && entered < SEM_PROCS) {
		if (ps_dict_incr_int(d, "inside", 0, &inside) < 0 || ps_dict_incr_int(d, "entered", 0, &entered) < 0)
			return 5;
		if (inside > SEM_UNITS)
			break;
	}
	if (inside > SEM_UNITS && ps_dict_incr_int(d, "over", 1, NULL) < 0)
		return 6;
	if (inside == SEM_UNITS && ps_dict_incr_int(d, "full", 1, NULL) < 0)
		return 7;
	if (ps_dict_incr_int(d, "inside", -1, NULL) < 0 || ps_semaphore_release(s) < 0)
		return 8;
	ps_semaphore_free(s);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}

static void test_semaphore_bounds_concurrency(void **state)
{
	struct tfix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "gate-stats");
	ps_semaphore *s = ps_semaphore_open(f->ctx, "gate", SEM_UNITS, 0);
	int64_t v;

	assert_non_null(d);
	assert_non_null(s);
	assert_int_equal(ps_dict_set_int(d, "over", 0), 0);
	assert_int_equal(ps_dict_set_int(d, "full", 0), 0);
	tfix_run_children(&f->td, SEM_PROCS, child_semaphore, "child");
	assert_int_equal(ps_dict_get_int(d, "over", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ps_dict_get_int(d, "full", &v), 0);
	assert_true(v >= 1);    /* the section really was full at some point */
	assert_int_equal(ps_dict_get_int(d, "inside", &v), 0);
	assert_int_equal(v, 0);
	/* Every unit came back. */
	for (int i = 0; i < SEM_UNITS; i++)
		assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 1);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, NULL), 0);
	ps_semaphore_free(s);
	ps_dict_free(d);
}

/* ---- dead holders -------------------------------------------------------------- */

enum holder_kind { HOLD_LOCK, HOLD_RLOCK_TWICE, HOLD_SEMAPHORE };

/* Takes the named object's units, tells the parent, and waits to be
 * killed. */
static int holder_child(const struct tdaemon *td, enum holder_kind kind, int fd)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_lock *l;
	ps_semaphore *s;

	switch (kind) {
	case HOLD_LOCK:
		l = ps_lock_open(ctx, "held", PS_LOCK);
		if (l == NULL || ps_lock_acquire(l, 1, -1, NULL) != 1)
			return 2;
		break;
	case HOLD_RLOCK_TWICE:
		l = ps_lock_open(ctx, "held", PS_RLOCK);
		if (l == NULL || ps_lock_acquire(l, 1, -1, NULL) != 1 || ps_lock_acquire(l, 1, -1, NULL) != 1)
			return 2;
		break;
	case HOLD_SEMAPHORE:
		s = ps_semaphore_open(ctx, "held", 2, 0);
		if (s == NULL || ps_semaphore_acquire(s, 1, -1, NULL) != 1 || ps_semaphore_acquire(s, 1, -1, NULL) != 1)
			return 2;
		break;
	}
	signal_parent(fd);
	for (;;)
		pause();        /* until killed */
}

static pid_t start_holder(const struct tdaemon *td, enum holder_kind kind)
{
	int fd;
	pid_t pid = tfix_fork_parked(&fd, "holder");

	if (pid == 0)
		_exit(holder_child(td, kind, fd));
	return pid;
}

/* A process holding the object id is killed while another process waits:
 * the waiter gets it promptly, is told the holder died, and releases it. */
static void dead_holder(struct tfix *f, enum holder_kind kind, uint64_t id)
{
	static const char *const types[] = { "lock", "rlock", "semaphore" };
	static const char *const releases[] = { "lock.release", "rlock.release", "semaphore.release" };
	pid_t holder = start_holder(&f->td, kind);
	struct raw_wait w;
	pid_t waiter;
	int64_t t0;
	int status;

	raw_wait_init(&w, types[kind], id, "{\"acquired\": true, \"token\": ", releases[kind]);
	w.expect_end = ", \"abandoned\": true}";
	waiter = start_raw_waiter(&f->td, &w);
	assert_int_equal(tutil_wait_child(waiter, 300, &status), -1);     /* really waiting */
	t0 = tutil_now_ms();
	assert_int_equal(kill(holder, SIGKILL), 0);
	assert_int_equal(tutil_reap(holder, TFIX_CHILD_MS), 128 + SIGKILL);
	assert_int_equal(tutil_wait_child(waiter, TFIX_CHILD_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(tutil_now_ms() - t0 < PROMPT_MS);
}

static void test_dead_lock_holder(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_open(f->ctx, "held", PS_LOCK);
	struct ps_acquired a;

	assert_non_null(l);
	dead_holder(f, HOLD_LOCK, ps_lock_id(l));
	/* The waiter released it cleanly: nothing abandoned any more. */
	assert_int_equal(ps_lock_acquire(l, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 0);
	ps_lock_free(l);
}

static void test_dead_rlock_holder(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_open(f->ctx, "held", PS_RLOCK);
	struct ps_acquired a;

	assert_non_null(l);
	dead_holder(f, HOLD_RLOCK_TWICE, ps_lock_id(l));
	/* Both levels went with the holder: one release by the waiter freed it. */
	assert_int_equal(ps_lock_acquire(l, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(ps_lock_release(l), 0);
	ps_lock_free(l);
}

static void test_dead_semaphore_holder(void **state)
{
	struct tfix *f = *state;
	ps_semaphore *s = ps_semaphore_open(f->ctx, "held", 2, 0);
	struct ps_acquired a;

	assert_non_null(s);
	dead_holder(f, HOLD_SEMAPHORE, ps_semaphore_id(s));
	/* The two units came back, one of them still marked abandoned (the
	 * waiter had the other and released it); no more than two. */
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 1);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(ps_semaphore_acquire(s, 0, -1, &a), 0);
	ps_semaphore_free(s);
}

/* ---- dead waiters, FIFO ---------------------------------------------------------- */

/* A waiter killed while parked is removed: the lock goes to the live
 * waiter behind it, and nothing is marked abandoned. */
static void test_dead_waiter(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_new(f->ctx, PS_LOCK);
	struct raw_wait w;
	struct ps_acquired a;
	pid_t dead, live;
	int status;

	assert_non_null(l);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	/* The handle is ours; the raw waiters use the id alone. */
	raw_wait_init(&w, "lock", ps_lock_id(l), "{\"acquired\": true, \"token\": 2, \"abandoned\": false}",
		      "lock.release");
	dead = start_raw_waiter(&f->td, &w);
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, TFIX_CHILD_MS), 128 + SIGKILL);
	live = start_raw_waiter(&f->td, &w);
	assert_int_equal(ps_lock_release(l), 0);
	assert_int_equal(tutil_wait_child(live, TFIX_CHILD_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(ps_lock_acquire(l, 0, -1, &a), 1);
	assert_int_equal(a.abandoned, 0);
	assert_int_equal(a.token, 3);
	ps_lock_free(l);
}

/* Waiters are served in the order they came. */
static void test_fifo(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_new(f->ctx, PS_LOCK);
	struct raw_wait w[3];
	pid_t pids[3];
	char expect[3][80];
	int status;

	assert_non_null(l);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	for (int i = 0; i < 3; i++) {
		/* Token 1 is ours; the i-th waiter must be the (i+2)-th holder. */
		snprintf(expect[i], sizeof expect[i], "{\"acquired\": true, \"token\": %d, \"abandoned\": false}", i + 2);
		raw_wait_init(&w[i], "lock", ps_lock_id(l), expect[i], "lock.release");
		pids[i] = start_raw_waiter(&f->td, &w[i]);
	}
	assert_int_equal(ps_lock_release(l), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(tutil_wait_child(pids[i], TFIX_CHILD_MS, &status), 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("waiter %d: exit %d", i, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	ps_lock_free(l);
}

/* Thousands of parked calls cost the daemon memory, not threads: one
 * connection parks NMANY acquires at once, the daemon keeps answering
 * (the ping behind them), and they are served in order, each release
 * handing the lock to the next one. */
#define NMANY 2000

static const char *raw_text(const struct traw *r)
{
	if (r->m.error_len != 1 || r->m.error[0] != 0xc0)
		return "<error>";
	return tval_text(r->m.result, r->m.result_len);
}

static void test_many_waiters(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_new(f->ctx, PS_LOCK);
	char code[64], msg[256], want[96];
	struct ps_acquired a;
	msgpack_packer pk;
	struct ps_buf b;
	struct traw r;
	uint32_t next;

	assert_non_null(l);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_handshake(&r, f->td.key, f->td.keylen, NULL, 0), 0);
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	for (uint32_t i = 1; i <= NMANY; i++) {
		ps_rpc_put_request(&pk, i, "lock.acquire", 1);
		msgpack_pack_uint64(&pk, ps_lock_id(l));
	}
	ps_rpc_put_request(&pk, NMANY + 1, "ping", 0);
	assert_false(b.oom);
	assert_int_equal(traw_send(&r, b.data, b.len), 0);
	ps_buf_free(&b);
	assert_int_equal(traw_response(&r, NMANY + 1, code, sizeof code, msg, sizeof msg), 0);

	assert_int_equal(ps_lock_release(l), 0);
	next = 1;
	for (uint32_t k = 0; k <= NMANY; k++) {
		int released = k == 0;  /* the first hand-over was our release */

		if (k > 0) {
			char p[32];
			size_t n;
			const uint8_t *enc;

			snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_lock_id(l));
			enc = tval_enc(p, &n);
			assert_int_equal(traw_request(&r, NMANY + 1 + k, "lock.release", enc, n), 0);
		}
		/* The release's answer and the next holder's may come in either
		 * order; the next acquire must be answered before its release. */
		while (!released || (k < NMANY && next < k + 2)) {
			assert_int_equal(traw_read_msg(&r, TFIX_CHILD_MS), 0);
			if (r.m.msgid == NMANY + 1 + k) {
				assert_string_equal(raw_text(&r), "nil");
				released = 1;
				continue;
			}
			if (r.m.msgid != next)
				fail_msg("answer to %u while %u was due", r.m.msgid, next);
			snprintf(want, sizeof want, "{\"acquired\": true, \"token\": %u, \"abandoned\": false}", next + 1);
			assert_string_equal(raw_text(&r), want);
			next++;
		}
	}
	traw_close(&r);
	assert_int_equal(ps_lock_acquire(l, 0, -1, &a), 1);
	assert_int_equal(a.token, NMANY + 2);
	ps_lock_free(l);
}

/* ---- the client's deadline ---------------------------------------------------------- */

/* A wait longer than the context's timeout is not cut short by it. */
static int child_long_wait(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = tfix_child_connect(td);
	ps_lock *l = ps_lock_open(ctx, "slow", PS_LOCK);
	struct ps_acquired a;
	int64_t t0;

	(void)i;
	if (l == NULL)
		return 2;
	ps_set_timeout(ctx, 500);
	/* Timed: the daemon answers "not acquired" after 1.5 s. */
	t0 = tutil_now_ms();
	if (ps_lock_acquire(l, 1, 1.5, &a) != 0 || tutil_now_ms() - t0 < 1500)
		return 3;
	/* Forever: acquired when the parent releases, long after 500 ms. */
	if (ps_lock_acquire(l, 1, -1, &a) != 1)
		return 4;
	return 0;
}

static void test_long_wait_beats_context_timeout(void **state)
{
	struct tfix *f = *state;
	ps_lock *l = ps_lock_open(f->ctx, "slow", PS_LOCK);
	pid_t pid;
	int status;

	assert_non_null(l);
	assert_int_equal(ps_lock_acquire(l, 1, -1, NULL), 1);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_long_wait(&f->td, 0));
	/* Still blocked well past its context's timeout... */
	if (tutil_wait_child(pid, 3000, &status) == 0)
		fail_msg("the waiter ended early: %s", tutil_status_str(status, (char[32]){ 0 }, 32));
	/* ...until the lock is free. */
	assert_int_equal(ps_lock_release(l), 0);
	assert_int_equal(tutil_reap(pid, TFIX_CHILD_MS), 0);
	ps_lock_free(l);
}

/* ---- the example ---------------------------------------------------------------- */

/* examples/lock.c, built beside the daemon, run against this daemon:
 * its workers' total must come out whole. */
static void test_example(void **state)
{
	struct tfix *f = *state;
	char out[256];
	int rc = tfix_run_example(&f->td, "lock", TFIX_CHILD_MS, out, sizeof out);

	if (rc != 0)
		fail_msg("the lock example failed (%d): %s", rc, out);
	assert_string_equal(out, "counter = 2000 (expected 2000)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_semantics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_lock_released_by_another, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_rlock_semantics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_semaphore_semantics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_bounded_semaphore, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_wire_errors, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_counter_under_lock, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_semaphore_bounds_concurrency, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_lock_holder, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_rlock_holder, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_semaphore_holder, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_dead_waiter, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_fifo, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_many_waiters, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_long_wait_beats_context_timeout, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_example, tfix_setup, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
