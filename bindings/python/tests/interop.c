/*
 * The C side of the C/Python interoperation tests (test_interop.py): a
 * libprocshare program that writes shared objects for Python to read, reads
 * what Python wrote, and holds or waits for a lock Python holds. It connects
 * with PROCSHARE_ADDRESS and PROCSHARE_AUTHKEY_FILE and prints one line per
 * fact, "what=value", which the test compares.
 *
 *   interop write PREFIX   fills PREFIX.dict, PREFIX.list, PREFIX.queue
 *   interop read PREFIX    prints PREFIX.pydict, PREFIX.pylist, PREFIX.pyqueue
 *   interop hold PREFIX    holds PREFIX.lock until a line arrives on stdin
 *   interop take PREFIX    tries PREFIX.pylock (Python holds it), then waits
 *
 * Every object it writes is named or referenced from a named one, so it
 * outlives this program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procshare.h"

static ps_ctx *ctx;
static char prefix[200];

static const char *named(const char *what)
{
	static char name[256];

	snprintf(name, sizeof name, "%s.%s", prefix, what);
	return name;
}

static int fail(const char *what)
{
	fprintf(stderr, "interop: %s: %s (%s)\n", what, ps_errstr(ctx), ps_errcode(ctx));
	return 1;
}

/* A dict of every scalar kind plus a reference to a new list, a list, and
 * a queue of items ending with a nil sentinel. */
static int write_all(void)
{
	ps_dict *d = ps_dict_open(ctx, named("dict"));
	ps_list *l = ps_list_open(ctx, named("list"));
	ps_queue *q = ps_queue_open(ctx, named("queue"), 0);
	ps_list *inner = ps_list_new(ctx);

	if (d == NULL || l == NULL || q == NULL || inner == NULL)
		return fail("open");
	if (ps_dict_set_str(d, "str", "from C") < 0 || ps_dict_set_int(d, "int", -42) < 0 ||
	    ps_dict_set_double(d, "double", 2.5) < 0 || ps_dict_set_bytes(d, "bytes", "\0\xff", 2) < 0)
		return fail("dict");
	if (ps_list_append_int(inner, 7) < 0 || ps_list_append_str(inner, "inner") < 0 ||
	    ps_dict_set_ref(d, "list", ps_list_id(inner)) < 0)
		return fail("nested list");
	if (ps_list_append_int(l, 1) < 0 || ps_list_append_str(l, "two") < 0 ||
	    ps_list_append_double(l, 3.5) < 0)
		return fail("list");
	if (ps_queue_put_str(q, "job 1", 1, -1) < 0 || ps_queue_put_int(q, 2, 1, -1) < 0 ||
	    ps_queue_put_ref(q, ps_dict_id(d), 1, -1) < 0 || ps_queue_put_nil(q, 1, -1) < 0)
		return fail("queue");
	ps_list_free(inner);
	ps_queue_free(q);
	ps_list_free(l);
	ps_dict_free(d);
	printf("written=yes\n");
	return 0;
}

static int read_dict(void)
{
	ps_dict *d = ps_dict_open(ctx, named("pydict"));
	ps_list *nested;
	char *s = NULL;
	int64_t i = 0, n0 = 0;
	double x = 0;
	size_t n = 0;

	if (d == NULL || ps_dict_get_str(d, "str", &s) < 0 || ps_dict_get_int(d, "int", &i) < 0 ||
	    ps_dict_get_double(d, "float", &x) < 0)
		return fail("read dict");
	printf("pydict.str=%s\npydict.int=%lld\npydict.float=%g\n", s, (long long)i, x);
	free(s);
	nested = ps_dict_get_list(d, "nested");
	if (nested == NULL || ps_list_len(nested, &n) < 0 || ps_list_get_int(nested, 0, &n0) < 0)
		return fail("nested list");
	printf("pydict.nested.len=%zu\npydict.nested[0]=%lld\n", n, (long long)n0);
	ps_list_free(nested);
	ps_dict_free(d);
	return 0;
}

static int read_list(void)
{
	ps_list *l = ps_list_open(ctx, named("pylist"));
	int64_t first = 0;
	char *second = NULL;
	size_t n = 0;

	if (l == NULL || ps_list_len(l, &n) < 0 || ps_list_get_int(l, 0, &first) < 0 ||
	    ps_list_get_str(l, 1, &second) < 0)
		return fail("read list");
	printf("pylist.len=%zu\npylist[0]=%lld\npylist[1]=%s\n", n, (long long)first, second);
	free(second);
	ps_list_free(l);
	return 0;
}

/* A reference to a dict (opened as a proxy), then strings until the None
 * sentinel. */
static int read_queue(void)
{
	ps_queue *q = ps_queue_open(ctx, named("pyqueue"), 0);
	ps_dict *d;
	void *item = NULL;
	size_t len = 0;
	uint64_t id = 0;
	char *s = NULL;

	if (q == NULL || ps_queue_get(q, 1, 30, &item, &len) < 0)
		return fail("get");
	if (ps_ref_decode(item, len, &id) < 0) {
		free(item);
		fprintf(stderr, "interop: the first item is not a reference\n");
		return 1;
	}
	free(item);
	d = ps_dict_attach(ctx, id);
	if (d == NULL || ps_dict_get_str(d, "str", &s) < 0)
		return fail("attach");
	printf("pyqueue.ref.str=%s\n", s);
	free(s);
	ps_dict_free(d);
	for (;;) {
		if (ps_queue_get_str(q, 1, 30, &s) < 0)
			return fail("get_str");
		if (s == NULL)
			break;
		printf("pyqueue.item=%s\n", s);
		free(s);
	}
	printf("pyqueue.end=None\n");
	ps_queue_free(q);
	return 0;
}

/* Holds PREFIX.lock until stdin gives a line (or closes). */
static int hold(void)
{
	ps_lock *l = ps_lock_open(ctx, named("lock"), PS_LOCK);
	char line[16];

	if (l == NULL || ps_lock_acquire(l, 1, -1, NULL) != 1)
		return fail("acquire");
	printf("held=yes\n");
	fflush(stdout);
	if (fgets(line, sizeof line, stdin) == NULL || strcmp(line, "die\n") == 0) {
		/* Exit holding it (freeing the proxy does not release the
		 * lock): the daemon gives it back when the connection closes. */
		ps_lock_free(l);
		return 0;
	}
	if (ps_lock_release(l) < 0)
		return fail("release");
	printf("released=yes\n");
	ps_lock_free(l);
	return 0;
}

/* PREFIX.pylock is held by Python: a non-blocking try fails, then a
 * blocking acquire succeeds once Python releases it. */
static int take(void)
{
	ps_lock *l = ps_lock_open(ctx, named("pylock"), PS_RLOCK);
	struct ps_acquired info;
	int got;

	if (l == NULL)
		return fail("open pylock");
	got = ps_lock_acquire(l, 0, 0, NULL);
	printf("try=%d\n", got);
	fflush(stdout);
	got = ps_lock_acquire(l, 1, 60, &info);
	if (got < 0)
		return fail("acquire");
	printf("acquired=%d\nabandoned=%d\n", got, info.abandoned);
	if (ps_lock_release(l) < 0)
		return fail("release");
	ps_lock_free(l);
	return 0;
}

int main(int argc, char **argv)
{
	int status;

	if (argc != 3) {
		fprintf(stderr, "usage: interop write|read|hold|take PREFIX\n");
		return 2;
	}
	snprintf(prefix, sizeof prefix, "%s", argv[2]);
	ctx = ps_connect_env();
	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE)
		return fail("connect");
	if (strcmp(argv[1], "write") == 0)
		status = write_all();
	else if (strcmp(argv[1], "read") == 0)
		status = read_dict() || read_list() || read_queue();
	else if (strcmp(argv[1], "hold") == 0)
		status = hold();
	else if (strcmp(argv[1], "take") == 0)
		status = take();
	else
		status = 2;
	ps_free(ctx);
	return status;
}
