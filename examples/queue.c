/*
 * Producer and consumer processes sharing a queue held by procshared, as
 * in Python's multiprocessing tutorial: the producer puts work items and
 * then None (nil) to say it is done; the consumer takes items until it
 * gets that sentinel. The queue is bounded, so a fast producer waits for
 * the consumer instead of filling memory.
 *
 *   procshared &                       # prints the two exports below
 *   export PROCSHARE_ADDRESS=unix:/tmp/procshare-1000/procshared.sock
 *   export PROCSHARE_AUTHKEY_FILE=/tmp/procshare-1000/authkey
 *   build/examples/queue
 *
 * Build against an installed library with
 *   cc queue.c $(pkg-config --cflags --libs procshare)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procshare.h"

#define ITEMS 10
#define MAXSIZE 3

/* Runs in a child. The proxy was made by the parent: on first use in the
 * child the library opens the child's own connection. */
static int produce(ps_queue *q)
{
	char item[32];

	for (int i = 0; i < ITEMS; i++) {
		snprintf(item, sizeof item, "job %d", i);
		/* block = 1, timeout < 0: wait for room as long as it takes. */
		if (ps_queue_put_str(q, item, 1, -1) < 0)
			return 1;
	}
	return ps_queue_put_nil(q, 1, -1) < 0;
}

static int consume(ps_queue *q)
{
	char *item;

	for (;;) {
		if (ps_queue_get_str(q, 1, -1, &item) < 0)
			return 1;
		if (item == NULL)       /* the sentinel */
			return 0;
		printf("consumer %d got %s\n", (int)getpid(), item);
		fflush(stdout);
		free(item);
	}
}

static pid_t spawn(int (*fn)(ps_queue *), ps_queue *q)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(q));
	return pid;
}

int main(void)
{
	ps_ctx *ctx = ps_connect_env();
	ps_queue *q;
	pid_t pids[2];
	int failed = 0;

	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE) {
		fprintf(stderr, "queue: cannot connect: %s\n", ctx ? ps_errstr(ctx) : "out of memory");
		return 1;
	}
	/* An anonymous queue, like Manager().Queue(MAXSIZE): it lives while
	 * this program (and its children) hold it. */
	q = ps_queue_new(ctx, MAXSIZE);
	if (q == NULL) {
		fprintf(stderr, "queue: %s\n", ps_errstr(ctx));
		return 1;
	}
	pids[0] = spawn(consume, q);
	pids[1] = spawn(produce, q);
	for (int i = 0; i < 2; i++) {
		int status;

		if (pids[i] < 0 || waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed) {
		fprintf(stderr, "queue: %d process(es) failed\n", failed);
		return 1;
	}
	printf("all %d jobs done\n", ITEMS);
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}
