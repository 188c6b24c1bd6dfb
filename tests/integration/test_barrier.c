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
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "procshare.h"
#include "../lib/tdaemon.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

#define CHILD_MS 60000

struct fix {
	struct tdaemon td;
	ps_ctx *ctx;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);

	if (f == NULL || tdaemon_start(&f->td, NULL) < 0) {
		free(f);
		return -1;
	}
	f->ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	if (f->ctx == NULL || ps_err(f->ctx) != PS_ERR_NONE) {
		ps_free(f->ctx);
		tdaemon_stop(&f->td);
		free(f);
		return -1;
	}
	ps_set_timeout(f->ctx, TDAEMON_CALL_MS);
	*state = f;
	return 0;
}

/* ---- children ------------------------------------------------------------- */

/* Every child forked by a test, so that one a failed test left behind
 * (a holder waiting to be killed) is killed in teardown, never leaked. */
static pid_t kids[256];
static int nkids;

/* fork(), recording the child; the child dies with the test binary. */
static pid_t fork_kid(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
		return 0;
	}
	if (pid > 0 && nkids < (int)(sizeof kids / sizeof kids[0]))
		kids[nkids++] = pid;
	return pid;
}

/* Kills and reaps the children still unreaped (a reaped pid is skipped:
 * waitpid says so without touching whoever may own the number now). */
static void kill_kids(void)
{
	for (int i = 0; i < nkids; i++) {
		int status;

		if (waitpid(kids[i], &status, WNOHANG) == 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], &status, 0);
		}
	}
	nkids = 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	kill_kids();
	ps_free(f->ctx);
	rc = tdaemon_stop(&f->td);
	free(f);
	return rc;
}

/* ---- helpers ------------------------------------------------------------ */

static const char *call_text(ps_ctx *ctx, const char *method, const char *params)
{
	size_t n, len = 0;
	const uint8_t *p = tval_enc(params, &n);
	void *res = NULL;
	int rc = ps_call(ctx, method, p, n, &res, &len);

	return tval_res(ctx, rc, res, len);
}

static void reap_ok(pid_t pid, const char *who)
{
	int rc = tutil_reap(pid, CHILD_MS);

	if (rc != 0)
		fail_msg("%s failed: %d (-1: hung, >128: signal)", who, rc);
}

/* A raw call's outcome as text: the result, or "!Code". */
static const char *raw_outcome(struct traw *r)
{
	static char buf[80];
	char name[64], msg[256];
	int code;

	if (r->m.error_len == 1 && r->m.error[0] == 0xc0)
		return tval_text(r->m.result, r->m.result_len);
	if (ps_rpc_read_error(r->m.error, r->m.error_len, &code, name, sizeof name, msg, sizeof msg) < 0)
		return "<bad error>";
	snprintf(buf, sizeof buf, "!%s", name);
	return buf;
}

/* In a child: parks method(params), proves it parked, tells the parent on
 * fd and checks the outcome. Returns the exit status. */
static int raw_waiter(const struct tdaemon *td, const char *method, const char *params, const char *expect, int fd)
{
	char code[64], msg[256];
	const uint8_t *enc;
	struct traw r;
	size_t len;

	if (traw_connect_unix(&r, td->sock) < 0 || traw_handshake(&r, td->key, td->keylen, NULL, 0) != 0)
		return 80;
	enc = tval_enc(params, &len);
	if (traw_request(&r, 1, method, enc, len) < 0 || traw_request(&r, 2, "ping", "\x90", 1) < 0)
		return 81;
	if (traw_response(&r, 2, code, sizeof code, msg, sizeof msg) != 0)
		return 82;
	if (write(fd, "x", 1) != 1)
		return 83;
	if (traw_read_msg(&r, CHILD_MS) < 0 || r.m.msgid != 1)
		return 84;
	if (strcmp(raw_outcome(&r), expect) != 0) {
		fprintf(stderr, "raw waiter: got %s, want %s\n", raw_outcome(&r), expect);
		return 85;
	}
	traw_close(&r);
	return 0;
}

static pid_t start_raw_waiter(const struct tdaemon *td, const char *method, const char *params, const char *expect)
{
	struct pollfd pf;
	int pfd[2];
	pid_t pid;
	char b;

	assert_int_equal(pipe(pfd), 0);
	pid = fork_kid();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		_exit(raw_waiter(td, method, params, expect, pfd[1]));
	}
	close(pfd[1]);
	pf.fd = pfd[0];
	pf.events = POLLIN;
	if (poll(&pf, 1, CHILD_MS) != 1 || read(pfd[0], &b, 1) != 1)
		fail_msg("raw waiter never parked");
	close(pfd[0]);
	return pid;
}

/* ---- tests ------------------------------------------------------------------ */

static void expect_broken(ps_ctx *ctx, int rc)
{
	assert_int_equal(rc, -1);
	assert_int_equal(ps_err(ctx), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(ctx), "BrokenBarrierError");
}

static void test_barrier_basics(void **state)
{
	struct fix *f = *state;
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
	assert_string_equal(call_text(f->ctx, "create", "[\"barrier\"]"), "!TypeError");
	assert_string_equal(call_text(f->ctx, "create", "[\"barrier\", [2, -1]]"), "!ValueError");
	assert_string_equal(call_text(f->ctx, "create", "[\"barrier\", [2, 1.5]]"), "2");
	assert_string_equal(call_text(f->ctx, "barrier.wait", "[2, \"x\"]"), "!TypeError");
	assert_string_equal(call_text(f->ctx, "barrier.n_waiting", "[2]"), "0");
	assert_string_equal(call_text(f->ctx, "barrier.parties", "[2]"), "2");
	/* Timeout 0: the barrier breaks at once, without parking. */
	assert_string_equal(call_text(f->ctx, "barrier.wait", "[2, 0]"), "!BrokenBarrierError");
	assert_string_equal(call_text(f->ctx, "barrier.broken", "[2]"), "true");
}

#define NPARTIES 5
#define NROUNDS 3

/* Meets the others NROUNDS times, recording its index of each round. */
static int child_party(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);
	ps_barrier *b;
	ps_dict *d;
	char key[32];

	if (ps_err(ctx) != PS_ERR_NONE)
		return 2;
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
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
	struct fix *f = *state;
	ps_dict *d = ps_dict_open(f->ctx, "meet-idx");
	pid_t pids[NPARTIES];

	assert_non_null(d);
	for (int i = 0; i < NPARTIES; i++) {
		pids[i] = fork_kid();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(child_party(&f->td, i));
	}
	for (int i = 0; i < NPARTIES; i++)
		reap_ok(pids[i], "party");
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
	int64_t end = tutil_now_ms() + CHILD_MS, v = -1;

	while (ps_barrier_n_waiting(b, &v) < 0 || v != n)
		if (tutil_now_ms() > end)
			fail_msg("n_waiting is %lld, not %lld", (long long)v, (long long)n);
}

/* One party's timeout breaks the barrier for the party waiting without
 * one, and for every later wait until a reset. */
static void test_timeout_breaks(void **state)
{
	struct fix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "tb", 3, -1);
	pid_t forever;
	char p[64];
	int broken = -1;
	int64_t t0, idx = -1;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	forever = start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	t0 = tutil_now_ms();
	expect_broken(f->ctx, ps_barrier_wait(b, 0.2, NULL));
	assert_true(tutil_now_ms() - t0 >= 200);
	reap_ok(forever, "waiter without timeout");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	expect_broken(f->ctx, ps_barrier_wait(b, 5, NULL));
	assert_int_equal(ps_barrier_reset(b), 0);

	/* Usable again: three parties meet. */
	snprintf(p, sizeof p, "[%llu, 30]", (unsigned long long)ps_barrier_id(b));
	forever = start_raw_waiter(&f->td, "barrier.wait", p, "0");
	{
		pid_t second = start_raw_waiter(&f->td, "barrier.wait", p, "1");
		assert_int_equal(ps_barrier_wait(b, 30, &idx), 0);
		assert_int_equal(idx, 2);
		reap_ok(second, "second party");
	}
	reap_ok(forever, "first party");
	ps_barrier_free(b);
}

/* The barrier's own timeout applies to a wait that gives none. */
static void test_default_timeout(void **state)
{
	struct fix *f = *state;
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
	struct fix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "ar", 3, -1);
	pid_t w1, w2;
	char p[64];
	int broken = -1;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	w1 = start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	w2 = start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 2);
	assert_int_equal(ps_barrier_abort(b), 0);
	reap_ok(w1, "aborted waiter 1");
	reap_ok(w2, "aborted waiter 2");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 1);
	expect_broken(f->ctx, ps_barrier_wait(b, -1, NULL));

	/* reset: the barrier is whole again, and breaks out who waits. */
	assert_int_equal(ps_barrier_reset(b), 0);
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	w1 = start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 1);
	assert_int_equal(ps_barrier_reset(b), 0);
	reap_ok(w1, "reset waiter");
	assert_int_equal(ps_barrier_broken(b, &broken), 0);
	assert_int_equal(broken, 0);
	wait_for_parties(b, 0);
	ps_barrier_free(b);
}

/* A party killed while it waits breaks the barrier for the others. */
static void test_dead_party(void **state)
{
	struct fix *f = *state;
	ps_barrier *b = ps_barrier_open(f->ctx, "dp", 3, -1);
	pid_t dead, live;
	char p[64];
	int broken = -1;
	int64_t t0;

	assert_non_null(b);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_barrier_id(b));
	dead = start_raw_waiter(&f->td, "barrier.wait", p, "0");
	live = start_raw_waiter(&f->td, "barrier.wait", p, "!BrokenBarrierError");
	wait_for_parties(b, 2);
	t0 = tutil_now_ms();
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, CHILD_MS), 128 + SIGKILL);
	reap_ok(live, "surviving party");
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
		cmocka_unit_test_setup_teardown(test_barrier_basics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parties_meet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_breaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_party, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
