/*
 * The fixture most integration tests share: a private daemon and one
 * connected context per test (or a daemon alone, or nothing yet, for tests
 * that start their own), children that cannot outlive the test, and small
 * helpers to call methods by text, to park raw waiters, to read the
 * daemon's info and size, and to run the example programs.
 * Test-only code.
 */
#ifndef TFIX_H
#define TFIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procshare.h"
#include "tdaemon.h"
#include "traw.h"

#define TFIX_CHILD_MS 60000     /* how long a child may take */
#define TFIX_MAX_CHILDREN 64    /* children of one tfix_run_children */

struct tfix {
	struct tdaemon td;
	ps_ctx *ctx;            /* connected, TDAEMON_CALL_MS timeout */
	ps_dict *dict;          /* tfix_setup_dict's anonymous dict, else NULL */
	ps_list *list;          /* tfix_setup_list's anonymous list, else NULL */
};

/* cmocka setup: starts a daemon with the NULL-terminated extra arguments
 * (may be NULL), connects, and stores a struct tfix in *state. Returns 0,
 * or -1 with the reason on stderr. */
int tfix_setup_with(void **state, const char *const *extra);
/* tfix_setup_with(state, NULL). */
int tfix_setup(void **state);
/* tfix_setup_with without the context (ctx NULL): for tests that count
 * or limit connections. */
int tfix_setup_daemon(void **state, const char *const *extra);
/* For tests that start the daemon themselves, with their own arguments
 * (tdaemon_start(&f->td, ...)): no daemon running yet, ctx NULL. */
int tfix_setup_bare(void **state);
/* tfix_setup, plus a new anonymous dict (list) in f->dict (f->list) made
 * through f->ctx, for files whose every test works on one. */
int tfix_setup_dict(void **state);
int tfix_setup_list(void **state);
/* cmocka teardown: kills the children tfix_fork left running, frees the
 * dict, the list and the context, and stops the daemon (non-zero when it
 * did not exit 0). */
int tfix_teardown(void **state);
/* A context on td (TDAEMON_CALL_MS timeout), connecting again until the
 * daemon serves it: room for a client comes a loop turn after another
 * leaves. Fails the test when none is served within timeout_ms. */
ps_ctx *tfix_connect_retry(const struct tdaemon *td, int timeout_ms);
/* Replaces f->ctx with a new connection; closing the old one gives back
 * every handle it held. */
void tfix_reconnect(struct tfix *f);

/* fork(), recording the child so that teardown kills one a failed test
 * left behind; the child dies with the test binary (PR_SET_PDEATHSIG). */
pid_t tfix_fork(void);
/* Kills and reaps the recorded children not reaped yet. */
void tfix_kill_kids(void);
/* tfix_fork()s a child that exits with fn(td, i). */
pid_t tfix_spawn(const struct tdaemon *td, int i, int (*fn)(const struct tdaemon *, int));
/* Reaps pid within TFIX_CHILD_MS; fails the test unless it exited 0. */
void tfix_reap_ok(pid_t pid, const char *who);
/* tfix_spawn()s n (at most TFIX_MAX_CHILDREN) children running fn(td, i)
 * at once, then reaps each with tfix_reap_ok ("who i" in the message). */
void tfix_run_children(const struct tdaemon *td, int n, int (*fn)(const struct tdaemon *, int), const char *who);
/* A child's own context (children never use cmocka): _exit(90) when it
 * cannot connect. */
ps_ctx *tfix_child_connect(const struct tdaemon *td);
/* Fails the test unless rc is -1 with the daemon's error code, whose
 * message contains text (unless NULL). */
void tfix_expect_remote(ps_ctx *ctx, int rc, const char *code, const char *text);

/* The integer field name ("connections") of the daemon's info reply;
 * fails the test when the call fails or has no such field. */
int64_t tfix_info_int(ps_ctx *ctx, const char *name);
/* Process pid's resident set size in KiB (/proc/PID/statm), or -1. */
long tfix_rss_kb(pid_t pid);

/* The path of the example program name ($(BUILD)/examples/NAME: beside
 * the daemon the tests run, $PS_DAEMON or build/procshared). */
void tfix_example_path(const char *name, char *out, size_t len);
/* Runs example name (failing the test when it is not built) with td's
 * address and key file in its environment, for at most timeout_ms.
 * Returns its exit code as tutil_reap does, with what it printed on
 * stdout in out (NUL-terminated, cut at cap - 1 bytes). */
int tfix_run_example(const struct tdaemon *td, const char *name, int timeout_ms, char *out, size_t cap);

/* The outcome of creating an object of type with args (tval text, the
 * params after the type name): "ok", its handle given back at once, or
 * the error as tval_res writes it. */
const char *tfix_create(ps_ctx *ctx, const char *type, const char *args);
/* The outcome of method with params written as tval text (tval_res). */
const char *tfix_call(ps_ctx *ctx, const char *method, const char *params);
/* The same for method [id] or [id, more] (more "" for none). */
const char *tfix_on(ps_ctx *ctx, const char *method, uint64_t id, const char *more);

/* The last message read on r as text: the result, or "!Code". */
const char *tfix_raw_outcome(struct traw *r);
/* Forks a child (tfix_fork) and, in the parent, waits until the child
 * writes a byte to the fd it gets in *fd (its proof that a call is
 * parked), failing the test with what's name when none comes within
 * TFIX_CHILD_MS. Returns the child's pid in the parent, 0 in the child. */
pid_t tfix_fork_parked(int *fd, const char *what);
/* Forks a raw connection that parks method(params), and returns once it
 * is parked; the child exits 0 when the call's outcome (as
 * tfix_raw_outcome) is expect. */
pid_t tfix_start_raw_waiter(const struct tdaemon *td, const char *method, const char *params, const char *expect);

#endif
