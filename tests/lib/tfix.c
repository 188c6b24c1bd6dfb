/*
 * The shared integration-test fixture (tfix.h).
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

int tfix_setup_bare(void **state)
{
	struct tfix *f = calloc(1, sizeof *f);

	*state = f;
	return f == NULL ? -1 : 0;
}

int tfix_setup_daemon(void **state, const char *const *extra)
{
	struct tfix *f;

	if (tfix_setup_bare(state) < 0)
		return -1;
	f = *state;
	if (tdaemon_start(&f->td, extra) < 0) {
		free(f);
		*state = NULL;
		return -1;
	}
	return 0;
}

int tfix_setup_with(void **state, const char *const *extra)
{
	struct tfix *f;

	if (tfix_setup_daemon(state, extra) < 0)
		return -1;
	f = *state;
	f->ctx = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	if (f->ctx == NULL || ps_err(f->ctx) != PS_ERR_NONE) {
		fprintf(stderr, "connect: %s\n", f->ctx ? ps_errstr(f->ctx) : "oom");
		ps_free(f->ctx);
		tdaemon_stop(&f->td);
		free(f);
		*state = NULL;
		return -1;
	}
	ps_set_timeout(f->ctx, TDAEMON_CALL_MS);
	return 0;
}

int tfix_setup(void **state)
{
	return tfix_setup_with(state, NULL);
}

/* tfix_setup and a new anonymous dict or list. cmocka does not tear down
 * after a failed setup, so a failure cleans up here. */
static int setup_with_object(void **state, bool dict)
{
	struct tfix *f;

	if (tfix_setup(state) < 0)
		return -1;
	f = *state;
	if (dict)
		f->dict = ps_dict_new(f->ctx);
	else
		f->list = ps_list_new(f->ctx);
	if (f->dict != NULL || f->list != NULL)
		return 0;
	fprintf(stderr, "%s: %s\n", dict ? "ps_dict_new" : "ps_list_new", ps_errstr(f->ctx));
	tfix_teardown(state);
	*state = NULL;
	return -1;
}

int tfix_setup_dict(void **state)
{
	return setup_with_object(state, true);
}

int tfix_setup_list(void **state)
{
	return setup_with_object(state, false);
}

int tfix_teardown(void **state)
{
	struct tfix *f = *state;
	int rc;

	tfix_kill_kids();
	/* The proxies first: freeing one releases its handle over f->ctx. */
	ps_dict_free(f->dict);
	ps_list_free(f->list);
	ps_free(f->ctx);
	rc = tdaemon_stop(&f->td);
	free(f);
	return rc;
}

ps_ctx *tfix_connect_retry(const struct tdaemon *td, int timeout_ms)
{
	int64_t deadline = tutil_now_ms() + timeout_ms;
	char why[256];

	for (;;) {
		ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);

		if (ps_err(ctx) == PS_ERR_NONE) {
			ps_set_timeout(ctx, TDAEMON_CALL_MS);
			return ctx;
		}
		snprintf(why, sizeof why, "%s", ps_errstr(ctx));
		ps_free(ctx);
		if (tutil_now_ms() > deadline)
			break;
	}
	fail_msg("not served within %d ms: %s", timeout_ms, why);
	return NULL;
}

void tfix_reconnect(struct tfix *f)
{
	ps_free(f->ctx);
	/* tdaemon_connect may fail the test: teardown must not see the old one. */
	f->ctx = NULL;
	f->ctx = tdaemon_connect(&f->td);
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

void tfix_run_children(const struct tdaemon *td, int n, int (*fn)(const struct tdaemon *, int), const char *who)
{
	pid_t pids[TFIX_MAX_CHILDREN];
	char name[64];

	assert_true(n >= 0 && n <= TFIX_MAX_CHILDREN);
	for (int i = 0; i < n; i++)
		pids[i] = tfix_spawn(td, i, fn);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s %d", who, i);
		tfix_reap_ok(pids[i], name);
	}
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

/* ---- the daemon's state ---------------------------------------------------- */

int64_t tfix_info_int(ps_ctx *ctx, const char *name)
{
	const char *info = tfix_call(ctx, "info", "[]");
	char key[64];
	const char *at;

	/* info is a map; its text has each field as "name": value. */
	snprintf(key, sizeof key, "\"%s\": ", name);
	at = strstr(info, key);
	if (at == NULL)
		fail_msg("info has no %s: %s", name, info);
	return strtoll(at + strlen(key), NULL, 10);
}

long tfix_rss_kb(pid_t pid)
{
	char path[64];
	long pages = 0, rss = -1;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	/* statm: total and resident pages, first. */
	if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(fp);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- examples ---------------------------------------------------------------- */

void tfix_example_path(const char *name, char *out, size_t len)
{
	const char *daemon = getenv("PS_DAEMON");
	char dir[512];

	snprintf(dir, sizeof dir, "%s", daemon != NULL && *daemon != '\0' ? daemon : "build/procshared");
	snprintf(out, len, "%s/examples/%s", dirname(dir), name);
}

int tfix_run_example(const struct tdaemon *td, const char *name, int timeout_ms, char *out, size_t cap)
{
	int64_t deadline = tutil_now_ms() + timeout_ms, left;
	char path[600];
	size_t n = 0;
	int p[2];
	pid_t pid;

	tfix_example_path(name, path, sizeof path);
	if (access(path, X_OK) != 0)
		fail_msg("%s is not built", path);
	assert_int_equal(pipe(p), 0);
	pid = tfix_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		setenv("PROCSHARE_ADDRESS", td->addr, 1);
		setenv("PROCSHARE_AUTHKEY_FILE", td->keyfile, 1);
		unsetenv("PROCSHARE_AUTHKEY");
		execl(path, path, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	/* Until EOF (it exited), the deadline, or out is full. */
	while (n + 1 < cap && (left = deadline - tutil_now_ms()) > 0) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t k;

		if (poll(&pf, 1, (int)left) <= 0)
			break;
		k = read(p[0], out + n, cap - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(p[0]);
	left = deadline - tutil_now_ms();
	return tutil_reap(pid, left > 0 ? (int)left : 1);
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
