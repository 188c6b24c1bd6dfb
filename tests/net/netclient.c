/*
 * The C side of the network tests (tests/net): a libprocshare client that
 * a test drives line by line over its stdin and stdout, in whatever
 * network namespace the test started it. netclient.py speaks the same
 * lines, so every test can run with either language on either end.
 *
 * It connects with ps_connect_env() (PROCSHARE_ADDRESS,
 * PROCSHARE_AUTHKEY_FILE, PROCSHARE_ENCRYPTION) and prints
 * "ready ENCRYPTED" (1 or 0), or "fail CODE: TEXT" and exits 1. Then, one
 * command a line, one answer a line ("ok ..." or "err CODE: TEXT"):
 *
 *   enc                       ok 1|0           whether the session is encrypted
 *   dset DICT KEY VALUE       ok               DICT[KEY] = VALUE (a str)
 *   dget DICT KEY             ok VALUE
 *   qput QUEUE VALUE          ok
 *   qget QUEUE TIMEOUT        ok VALUE         blocking get, TIMEOUT seconds
 *   acquire LOCK TIMEOUT      ok A TOKEN ABANDONED T
 *                             blocking acquire (TIMEOUT < 0: forever); A is
 *                             1 when acquired; T is CLOCK_MONOTONIC in
 *                             seconds when the answer came
 *   release LOCK              ok
 *   quit                      (exits 0)
 *
 * Names and values are single words. Objects are opened (created when
 * absent) by name for each command; freeing a lock proxy does not release
 * the lock, so a hold outlives the command that took it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "procshare.h"

#define LINE_MAX_LEN 1024
#define MAX_WORDS 8
#define CALL_TIMEOUT_MS 30000   /* a hung daemon fails the test, not hangs it */

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void answer_err(ps_ctx *ctx)
{
	const char *code = ps_errcode(ctx);

	printf("err %s: %s\n", *code != '\0' ? code : "Error", ps_errstr(ctx));
}

static void cmd_dset(ps_ctx *ctx, char **w)
{
	ps_dict *d = ps_dict_open(ctx, w[1]);

	if (d == NULL || ps_dict_set_str(d, w[2], w[3]) < 0)
		answer_err(ctx);
	else
		printf("ok\n");
	ps_dict_free(d);
}

static void cmd_dget(ps_ctx *ctx, char **w)
{
	ps_dict *d = ps_dict_open(ctx, w[1]);
	char *val = NULL;

	if (d == NULL || ps_dict_get_str(d, w[2], &val) < 0)
		answer_err(ctx);
	else
		printf("ok %s\n", val);
	free(val);
	ps_dict_free(d);
}

static void cmd_qput(ps_ctx *ctx, char **w)
{
	ps_queue *q = ps_queue_open(ctx, w[1], 0);

	if (q == NULL || ps_queue_put_str(q, w[2], 1, -1) < 0)
		answer_err(ctx);
	else
		printf("ok\n");
	ps_queue_free(q);
}

static void cmd_qget(ps_ctx *ctx, char **w)
{
	ps_queue *q = ps_queue_open(ctx, w[1], 0);
	char *val = NULL;

	if (q == NULL || ps_queue_get_str(q, 1, atof(w[2]), &val) < 0)
		answer_err(ctx);
	else
		printf("ok %s\n", val != NULL ? val : "None");
	free(val);
	ps_queue_free(q);
}

static void cmd_acquire(ps_ctx *ctx, char **w)
{
	ps_lock *l = ps_lock_open(ctx, w[1], PS_LOCK);
	struct ps_acquired info;

	if (l == NULL || ps_lock_acquire(l, 1, atof(w[2]), &info) < 0)
		answer_err(ctx);
	else
		printf("ok %d %llu %d %.6f\n", info.acquired, (unsigned long long)info.token,
		       info.abandoned, monotonic_s());
	ps_lock_free(l);
}

static void cmd_release(ps_ctx *ctx, char **w)
{
	ps_lock *l = ps_lock_open(ctx, w[1], PS_LOCK);

	if (l == NULL || ps_lock_release(l) < 0)
		answer_err(ctx);
	else
		printf("ok\n");
	ps_lock_free(l);
}

static const struct command {
	const char *name;
	int words;              /* including the command's own */
	void (*run)(ps_ctx *, char **);
} commands[] = {
	{ "dset", 4, cmd_dset },
	{ "dget", 3, cmd_dget },
	{ "qput", 3, cmd_qput },
	{ "qget", 3, cmd_qget },
	{ "acquire", 3, cmd_acquire },
	{ "release", 2, cmd_release },
};

/* Splits line into at most MAX_WORDS words, in place. */
static int split_words(char *line, char **w)
{
	int n = 0;

	for (char *tok = strtok(line, " \t\r\n"); tok != NULL && n < MAX_WORDS;
	     tok = strtok(NULL, " \t\r\n"))
		w[n++] = tok;
	return n;
}

/* Runs one command line; 1 when it was quit. */
static int run_line(ps_ctx *ctx, char *line)
{
	char *w[MAX_WORDS];
	int n = split_words(line, w);

	if (n == 0)
		return 0;
	if (strcmp(w[0], "quit") == 0)
		return 1;
	if (strcmp(w[0], "enc") == 0) {
		printf("ok %d\n", ps_encrypted(ctx));
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(w[0], commands[i].name) != 0)
			continue;
		if (n != commands[i].words)
			printf("err Usage: %s takes %d arguments\n", w[0], commands[i].words - 1);
		else
			commands[i].run(ctx, w);
		return 0;
	}
	printf("err Usage: unknown command %s\n", w[0]);
	return 0;
}

int main(void)
{
	char line[LINE_MAX_LEN];
	ps_ctx *ctx;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ctx = ps_connect_env();
	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE) {
		const char *code = ps_errcode(ctx);

		printf("fail %s: %s\n", *code != '\0' ? code : "Error", ps_errstr(ctx));
		ps_free(ctx);
		return 1;
	}
	ps_set_timeout(ctx, CALL_TIMEOUT_MS);
	printf("ready %d\n", ps_encrypted(ctx));
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (run_line(ctx, line))
			break;
	}
	ps_free(ctx);
	return 0;
}
