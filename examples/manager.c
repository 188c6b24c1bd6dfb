/*
 * The Manager example from Python's multiprocessing tutorial, in C.
 *
 * Five worker processes share one list and one dict held by procshared:
 * each appends its square to the list and records itself in the dict. The
 * parent waits for them and prints both.
 *
 *   procshared &                       # prints the two exports below
 *   export PROCSHARE_ADDRESS=unix:/tmp/procshare-1000/procshared.sock
 *   export PROCSHARE_AUTHKEY_FILE=/tmp/procshare-1000/authkey
 *   build/examples/manager
 *
 * Build against an installed library with
 *   cc manager.c $(pkg-config --cflags --libs procshare)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procshare.h"

#define WORKERS 5

/* Runs in a child. The proxies were made by the parent: on first use in
 * the child the library opens the child's own connection. */
static int work(ps_dict *d, ps_list *l, int i)
{
	char key[32], val[64];

	snprintf(key, sizeof key, "worker %d", i);
	snprintf(val, sizeof val, "done by pid %d", (int)getpid());
	if (ps_list_append_int(l, (int64_t)i * i) < 0 || ps_dict_set_str(d, key, val) < 0)
		return 1;
	return 0;
}

int main(void)
{
	ps_ctx *ctx = ps_connect_env();
	ps_dict *d;
	ps_list *l;
	size_t n = 0;
	int failed = 0;

	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE) {
		fprintf(stderr, "manager: cannot connect: %s\n", ctx ? ps_errstr(ctx) : "out of memory");
		return 1;
	}
	/* Anonymous objects, like Manager().dict() and Manager().list():
	 * they live while this program holds them. */
	d = ps_dict_new(ctx);
	l = ps_list_new(ctx);
	if (d == NULL || l == NULL) {
		fprintf(stderr, "manager: %s\n", ps_errstr(ctx));
		return 1;
	}
	for (int i = 0; i < WORKERS; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(work(d, l, i));
	}
	for (int i = 0; i < WORKERS; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed) {
		fprintf(stderr, "manager: %d worker(s) failed\n", failed);
		return 1;
	}
	/* The workers ran in any order: sort the list for a stable print. */
	if (ps_list_sort(l, 0) < 0 || ps_list_len(l, &n) < 0) {
		fprintf(stderr, "manager: %s\n", ps_errstr(ctx));
		return 1;
	}
	printf("list:");
	for (size_t i = 0; i < n; i++) {
		int64_t v;

		if (ps_list_get_int(l, (int64_t)i, &v) < 0)
			return 1;
		printf(" %lld", (long long)v);
	}
	printf("\n");
	for (int i = 0; i < WORKERS; i++) {
		char key[32], *val = NULL;

		snprintf(key, sizeof key, "worker %d", i);
		if (ps_dict_get_str(d, key, &val) < 0) {
			fprintf(stderr, "manager: %s: %s\n", key, ps_errstr(ctx));
			return 1;
		}
		printf("dict: %s: %s\n", key, val);
		free(val);
	}
	ps_list_free(l);
	ps_dict_free(d);
	ps_free(ctx);
	return 0;
}
