/*
 * The shared integration-test fixture (tfix.h).
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

#include "tfix.h"
#include "tutil.h"
#include "tval.h"

int tfix_setup_with(void **state, const char *const *extra)
{
	struct tfix *f = calloc(1, sizeof *f);

	if (f == NULL || tdaemon_start(&f->td, extra) < 0) {
		free(f);
		return -1;
	}
	f->ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	if (f->ctx == NULL || ps_err(f->ctx) != PS_ERR_NONE) {
		fprintf(stderr, "connect: %s\n", f->ctx ? ps_errstr(f->ctx) : "oom");
		ps_free(f->ctx);
		tdaemon_stop(&f->td);
		free(f);
		return -1;
	}
	ps_set_timeout(f->ctx, TDAEMON_CALL_MS);
	*state = f;
	return 0;
}

int tfix_setup(void **state)
{
	return tfix_setup_with(state, NULL);
}

int tfix_teardown(void **state)
{
	struct tfix *f = *state;
	int rc;

	tfix_kill_kids();
	ps_free(f->ctx);
	rc = tdaemon_stop(&f->td);
	free(f);
	return rc;
}

/* ---- children ------------------------------------------------------------- */

static pid_t kids[256];
static int nkids;

pid_t tfix_fork(void)
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

/* A reaped pid is skipped: waitpid says so without touching whoever may
 * own the number now. */
void tfix_kill_kids(void)
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

pid_t tfix_spawn(const struct tdaemon *td, int i, int (*fn)(const struct tdaemon *, int))
{
	pid_t pid = tfix_fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(td, i));
	return pid;
}

void tfix_reap_ok(pid_t pid, const char *who)
{
	int rc = tutil_reap(pid, TFIX_CHILD_MS);

	if (rc != 0)
		fail_msg("%s failed: %d (-1: hung, >128: signal)", who, rc);
}

ps_ctx *tfix_child_connect(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);

	if (ps_err(ctx) != PS_ERR_NONE)
		_exit(90);
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

void tfix_expect_remote(ps_ctx *ctx, int rc, const char *code, const char *text)
{
	assert_int_equal(rc, -1);
	assert_int_equal(ps_err(ctx), PS_ERR_REMOTE);
	assert_string_equal(ps_errcode(ctx), code);
	if (text != NULL && strstr(ps_errstr(ctx), text) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", ps_errstr(ctx), text);
}

/* ---- calls by text ---------------------------------------------------------- */

const char *tfix_call(ps_ctx *ctx, const char *method, const char *params)
{
	size_t n, len = 0;
	const uint8_t *p = tval_enc(params, &n);
	void *res = NULL;
	int rc = ps_call(ctx, method, p, n, &res, &len);

	return tval_res(ctx, rc, res, len);
}

const char *tfix_on(ps_ctx *ctx, const char *method, uint64_t id, const char *more)
{
	char text[1024];

	snprintf(text, sizeof text, more[0] != '\0' ? "[%llu, %s]" : "[%llu]", (unsigned long long)id, more);
	return tfix_call(ctx, method, text);
}

const char *tfix_create(ps_ctx *ctx, const char *type, const char *args)
{
	char text[512];
	const char *r;

	snprintf(text, sizeof text, "[\"%s\", %s]", type, args);
	r = tfix_call(ctx, "create", text);
	if (r[0] != '!') {
		/* Give the handle back: only the outcome matters here. */
		char rel[64];

		snprintf(rel, sizeof rel, "[%s]", r);
		assert_string_equal(tfix_call(ctx, "release", rel), "nil");
		return "ok";
	}
	return r;
}

/* ---- raw waiters ------------------------------------------------------------ */

const char *tfix_raw_outcome(struct traw *r)
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

pid_t tfix_fork_parked(int *fd, const char *what)
{
	struct pollfd pf;
	int pfd[2];
	pid_t pid;
	char b;

	assert_int_equal(pipe(pfd), 0);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		*fd = pfd[1];
		return 0;
	}
	close(pfd[1]);
	pf.fd = pfd[0];
	pf.events = POLLIN;
	if (poll(&pf, 1, TFIX_CHILD_MS) != 1 || read(pfd[0], &b, 1) != 1)
		fail_msg("%s never parked", what);
	close(pfd[0]);
	return pid;
}

/* In the child: parks method(params), proves it parked (a ping behind it
 * is answered: a connection's requests are handled in order), tells the
 * parent on fd and checks the outcome. Returns the exit status. */
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
	if (traw_read_msg(&r, TFIX_CHILD_MS) < 0 || r.m.msgid != 1)
		return 84;
	if (strcmp(tfix_raw_outcome(&r), expect) != 0) {
		fprintf(stderr, "raw waiter: got %s, want %s\n", tfix_raw_outcome(&r), expect);
		return 85;
	}
	traw_close(&r);
	return 0;
}

pid_t tfix_start_raw_waiter(const struct tdaemon *td, const char *method, const char *params, const char *expect)
{
	int fd;
	pid_t pid = tfix_fork_parked(&fd, "raw waiter");

	if (pid == 0)
		_exit(raw_waiter(td, method, params, expect, fd));
	return pid;
}
