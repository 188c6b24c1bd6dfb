/*
 * Worker processes incrementing one shared counter under a Lock.
 *
 * The increment is a read followed by a write (dict get, then set), which
 * is only correct because the Lock keeps the workers out of each other's
 * way; without it updates would be lost. (For a plain counter,
 * ps_dict_incr_int is atomic on its own: the Lock is here to show the
 * pattern for any read-modify-write.) If a worker died holding the Lock,
 * the daemon would release it and tell the next worker (abandoned), which
 * could then repair whatever the dead worker left half-done.
 *
 *   procshared &                       # prints the two exports below
 *   export PROCSHARE_ADDRESS=unix:/tmp/procshare-1000/procshared.sock
 *   export PROCSHARE_AUTHKEY_FILE=/tmp/procshare-1000/authkey
 *   build/examples/lock
 *
 * Build against an installed library with
 *   cc lock.c $(pkg-config --cflags --libs procshare)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procshare.h"

#define WORKERS 4
#define INCREMENTS 500

/* One increment under the lock. */
static int increment(ps_lock *lock, ps_dict *d)
{
	struct ps_acquired info;
	int64_t n = 0;
	int ok;

	if (ps_lock_acquire(lock, 1, -1, &info) != 1)
		return -1;
	if (info.abandoned)
		fprintf(stderr, "lock: a worker died holding the lock; the counter is still whole\n");
	ok = ps_dict_get_int(d, "n", &n) == 0 && ps_dict_set_int(d, "n", n + 1) == 0;
	if (ps_lock_release(lock) < 0 || !ok)
		return -1;
	return 0;
}

/* Runs in a child. The proxies were made by the parent: on first use in
 * the child the library opens the child's own connection, so the child
 * holds the lock in its own name. */
static int work(ps_lock *lock, ps_dict *d)
{
	for (int i = 0; i < INCREMENTS; i++)
		if (increment(lock, d) < 0)
			return 1;
	return 0;
}

int main(void)
{
	ps_ctx *ctx = ps_connect_env();
	ps_lock *lock;
	ps_dict *d;
	int64_t n = -1;
	int failed = 0;

	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE) {
		fprintf(stderr, "lock: cannot connect: %s\n", ctx ? ps_errstr(ctx) : "out of memory");
		return 1;
	}
	/* Anonymous, like Manager().Lock() and Manager().dict(). */
	lock = ps_lock_new(ctx, PS_LOCK);
	d = ps_dict_new(ctx);
	if (lock == NULL || d == NULL || ps_dict_set_int(d, "n", 0) < 0) {
		fprintf(stderr, "lock: %s\n", ps_errstr(ctx));
		return 1;
	}
	for (int i = 0; i < WORKERS; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("lock: fork");
			return 1;
		}
		if (pid == 0)
			_exit(work(lock, d));
	}
	for (int i = 0; i < WORKERS; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed || ps_dict_get_int(d, "n", &n) < 0) {
		fprintf(stderr, "lock: a worker failed: %s\n", ps_errstr(ctx));
		return 1;
	}
	printf("counter = %lld (expected %d)\n", (long long)n, WORKERS * INCREMENTS);
	ps_lock_free(lock);
	ps_dict_free(d);
	ps_free(ctx);
	return n == WORKERS * INCREMENTS ? 0 : 1;
}
