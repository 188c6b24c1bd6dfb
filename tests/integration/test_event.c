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

static void test_event_semantics(void **state)
{
	struct fix *f = *state;
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

	assert_string_equal(call_text(f->ctx, "event.wait", "[1, -0.5]"), "!ValueError");
	assert_string_equal(call_text(f->ctx, "event.wait", "[1, \"x\"]"), "!TypeError");
	assert_string_equal(call_text(f->ctx, "event.set", "[1, 1]"), "!TypeError");
	assert_string_equal(call_text(f->ctx, "event.wait", "[1, 0]"), "false");
	assert_string_equal(call_text(f->ctx, "create", "[\"event\", [1]]"), "!TypeError");
	ps_event_free(e);
}

#define NWAITERS 5

/* Waiters in several processes all wake on one set. */
static void test_set_wakes_all(void **state)
{
	struct fix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "go");
	pid_t pids[NWAITERS];
	char p[64];

	assert_non_null(e);
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)ps_event_id(e));
	for (int i = 0; i < NWAITERS; i++)
		pids[i] = start_raw_waiter(&f->td, "event.wait", p, "true");
	assert_int_equal(ps_event_set(e), 0);
	for (int i = 0; i < NWAITERS; i++)
		reap_ok(pids[i], "waiter");
	ps_event_free(e);
}

/* A wait with a timeout answers false, also in a waiter parked before;
 * a killed waiter goes without disturbing the others. */
static void test_timeouts_and_dead_waiter(void **state)
{
	struct fix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "ev");
	pid_t timed, dead, live;
	char p[64];

	assert_non_null(e);
	snprintf(p, sizeof p, "[%llu, 0.2]", (unsigned long long)ps_event_id(e));
	timed = start_raw_waiter(&f->td, "event.wait", p, "false");
	reap_ok(timed, "timed waiter");
	snprintf(p, sizeof p, "[%llu, nil]", (unsigned long long)ps_event_id(e));
	dead = start_raw_waiter(&f->td, "event.wait", p, "true");
	live = start_raw_waiter(&f->td, "event.wait", p, "true");
	assert_int_equal(kill(dead, SIGKILL), 0);
	assert_int_equal(tutil_reap(dead, CHILD_MS), 128 + SIGKILL);
	assert_int_equal(ps_event_set(e), 0);
	reap_ok(live, "live waiter");
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
	struct fix *f = *state;
	ps_event *e = ps_event_open(f->ctx, "late");
	int status;
	pid_t pid;

	assert_non_null(e);
	pid = fork_kid();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_long_wait(&f->td));
	if (tutil_wait_child(pid, 2500, &status) == 0)
		fail_msg("the waiter ended early: %s", tutil_status_str(status, (char[32]){ 0 }, 32));
	assert_int_equal(ps_event_set(e), 0);
	reap_ok(pid, "long waiter");
	ps_event_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_wakes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts_and_dead_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_wait_beats_context_timeout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
