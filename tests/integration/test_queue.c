/*
 * Queue and JoinableQueue against a real daemon, driven by real forked
 * processes: the tutorial's producer and consumer, many producers and
 * consumers (every item consumed exactly once), a bounded queue holding its
 * producers back, clients killed while parked (no item lost, none handed to
 * the dead), join and task_done, and blocking calls outliving the
 * context's timeout. Children report through their exit status (never
 * cmocka asserts, which would unwind into the child's copy of the runner).
 *
 * A call is known to be parked when a ping sent behind it on the same raw
 * connection is answered first: the daemon handles a connection's requests
 * in order, so the blocking call had been handled (and parked) by then.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"
#include "ps_mp.h"

/* A context of the child's own (children never use cmocka). */
static ps_ctx *child_connect(const struct tdaemon *td)
{
	ps_ctx *ctx = ps_connect(td->addr, td->key, td->keylen);

	if (ctx == NULL || ps_err(ctx) != PS_ERR_NONE)
		return NULL;
	ps_set_timeout(ctx, TDAEMON_CALL_MS);
	return ctx;
}

static pid_t spawn(const struct tdaemon *td, int (*fn)(const struct tdaemon *, int), int i)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(td, i));
	return pid;
}

/* "!Code" for the error of a failed call, "ok" for success. */
static const char *outcome(ps_ctx *ctx, int rc)
{
	return tval_rc(ctx, rc);
}

/* ---- raw connections that park a call ---------------------------------- */

/* Connects raw and sends method [id] or [id, item] as msgid 1, then a ping
 * as msgid 2; returns 0 once the ping is answered, i.e. once the first
 * call is parked. */
static int raw_park(struct traw *r, const struct tdaemon *td, const char *method, uint64_t id, const char *item)
{
	struct ps_buf b;
	msgpack_packer pk;
	int rc;

	if (traw_connect_unix(r, td->sock) < 0)
		return -1;
	if (traw_handshake(r, td->key, td->keylen, NULL, 0) != 0)
		return -1;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, item != NULL ? 2 : 1);
	msgpack_pack_uint64(&pk, id);
	if (item != NULL)
		ps_mp_pack_cstr(&pk, item);
	rc = traw_request(r, 1, method, b.data, b.len);
	ps_buf_free(&b);
	if (rc < 0 || traw_request(r, 2, "ping", "\x90", 1) < 0)
		return -1;
	return traw_response(r, 2, NULL, 0, NULL, 0) == 0 ? 0 : -1;
}

/* What a parked child does: park a get or a put on queue qid, tell the
 * parent through fd, then wait for the answer (a get: the str want; a
 * put of want: nil). Exits 0 when the answer is right. */
struct parked {
	uint64_t qid;
	int fd;                 /* write end of the "parked" pipe */
	const char *want;       /* the item the child expects; NULL: none */
};

static int parked_get(const struct tdaemon *td, const struct parked *p)
{
	struct traw r;
	struct ps_mp_tok t;
	char ok = 'p';

	if (raw_park(&r, td, "queue.get", p->qid, NULL) < 0)
		return 2;
	if (write(p->fd, &ok, 1) != 1)
		return 3;
	if (traw_read_msg(&r, TFIX_CHILD_MS) < 0 || r.m.type != PS_MSG_RESPONSE || r.m.msgid != 1)
		return 4;
	if (!(r.m.error_len == 1 && r.m.error[0] == 0xc0))
		return 5;
	if (ps_mp_token(r.m.result, r.m.result_len, &t) != 1 || t.type != PS_MP_STR || p->want == NULL ||
	    t.v.n != strlen(p->want) || memcmp(t.data, p->want, t.v.n) != 0)
		return 6;
	traw_close(&r);
	return 0;
}

static int parked_put(const struct tdaemon *td, const struct parked *p)
{
	struct traw r;
	char ok = 'p';

	if (raw_park(&r, td, "queue.put", p->qid, p->want) < 0)
		return 2;
	if (write(p->fd, &ok, 1) != 1)
		return 3;
	/* Until admitted, or killed by the parent. */
	if (traw_read_msg(&r, TFIX_CHILD_MS) < 0 || r.m.type != PS_MSG_RESPONSE || r.m.msgid != 1 ||
	    !(r.m.error_len == 1 && r.m.error[0] == 0xc0))
		return 4;
	traw_close(&r);
	return 0;
}

/* Forks a child running fn(p) and waits until it reports it is parked. */
static pid_t spawn_parked(const struct tdaemon *td, int (*fn)(const struct tdaemon *, const struct parked *),
			  uint64_t qid, const char *want)
{
	struct parked p = { qid, -1, want };
	pid_t pid = tfix_fork_parked(&p.fd, "parked child");

	if (pid == 0)
		_exit(fn(td, &p));
	return pid;
}

static void kill_child(pid_t pid)
{
	int rc;

	assert_int_equal(kill(pid, SIGKILL), 0);
	rc = tutil_reap(pid, TFIX_CHILD_MS);
	assert_int_equal(rc, 128 + SIGKILL);
}

/* Stops the daemon (SIGSTOP) and waits until it is stopped: requests and
 * hang-ups that come meanwhile are then seen by one turn of its loop, in
 * the order they happened. */
static void daemon_pause(struct tdaemon *td)
{
	char path[64], buf[256], *p;
	int64_t t0 = tutil_now_ms();

	assert_int_equal(tdaemon_signal(td, SIGSTOP), 0);
	snprintf(path, sizeof path, "/proc/%d/stat", (int)td->pid);
	for (;;) {
		FILE *fp = fopen(path, "r");
		size_t n = fp != NULL ? fread(buf, 1, sizeof buf - 1, fp) : 0;

		if (fp != NULL)
			fclose(fp);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'T')
			return;
		if (tutil_now_ms() - t0 > TFIX_CHILD_MS)
			fail_msg("the daemon did not stop");
	}
}

static void daemon_resume(struct tdaemon *td)
{
	assert_int_equal(tdaemon_signal(td, SIGCONT), 0);
}

/* ---- one process: the methods ------------------------------------------- */

static void test_basics(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 0);
	size_t n = 99;
	int b = -1;
	char *s = NULL;
	int64_t i = 0;
	double x = 0;
	const uint8_t *enc;
	void *p;
	size_t len;

	assert_non_null(q);
	assert_int_equal(ps_queue_empty(q, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(ps_queue_full(q, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(ps_queue_put_str(q, "one", 1, -1), 0);
	assert_int_equal(ps_queue_put_int(q, 2, 0, 0), 0);
	assert_int_equal(ps_queue_put_double(q, 3.5, 1, 0), 0);
	enc = tval_enc("[1, {\"k\": nil}]", &len);
	assert_int_equal(ps_queue_put(q, enc, len, 1, 5), 0);
	assert_int_equal(ps_queue_put_nil(q, 1, -1), 0);
	enc = tval_enc("b\"00ff\"", &len);
	assert_int_equal(ps_queue_put_nowait(q, enc, len), 0);
	assert_int_equal(ps_queue_qsize(q, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(ps_queue_empty(q, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(ps_queue_full(q, &b), 0);
	assert_int_equal(b, 0);
	/* FIFO, each with its type. */
	assert_int_equal(ps_queue_get_str(q, 1, -1, &s), 0);
	assert_string_equal(s, "one");
	free(s);
	assert_int_equal(ps_queue_get_int(q, 0, -1, &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(ps_queue_get_double(q, 1, 0, &x), 0);
	assert_true(x == 3.5);
	assert_int_equal(ps_queue_get(q, 1, 1, &p, &len), 0);
	assert_string_equal(tval_text(p, len), "[1, {\"k\": nil}]");
	free(p);
	s = (char *)"unchanged";
	assert_int_equal(ps_queue_get_str(q, 1, -1, &s), 0);
	assert_null(s);
	assert_int_equal(ps_queue_get_bytes(q, 1, -1, &p, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "\x00\xff", 2);
	free(p);
	/* Empty: nowait, block false, timeout 0 all fail at once. */
	assert_string_equal(outcome(f->ctx, ps_queue_get_nowait(q, &p, &len)), "!Empty");
	assert_string_equal(outcome(f->ctx, ps_queue_get(q, 0, -1, &p, &len)), "!Empty");
	assert_string_equal(outcome(f->ctx, ps_queue_get(q, 1, 0, &p, &len)), "!Empty");
	assert_int_equal(ps_err(f->ctx), PS_ERR_REMOTE);
	/* The typed getter refuses another type and leaves nothing behind. */
	assert_int_equal(ps_queue_put_int(q, 7, 1, -1), 0);
	assert_int_equal(ps_queue_get_str(q, 1, -1, &s), -1);
	assert_int_equal(ps_err(f->ctx), PS_ERR_ARG);
	assert_string_equal(ps_errcode(f->ctx), "TypeError");
	assert_int_equal(ps_queue_qsize(q, &n), 0);
	assert_int_equal(n, 0);
	/* Bad arguments. */
	assert_string_equal(outcome(f->ctx, ps_queue_get(q, 1, NAN, &p, &len)), "!ValueError");
	assert_string_equal(outcome(f->ctx, ps_queue_get(q, 1, 2e9, &p, &len)), "!OverflowError");
	assert_string_equal(outcome(f->ctx, ps_queue_task_done(q)), "!NoSuchMethod");
	assert_string_equal(outcome(f->ctx, ps_queue_put(q, "\xc1", 1, 1, -1)), "!err8: invalid argument: item is not exactly one encoded MessagePack value");
	ps_queue_free(q);
}

/* The wire forms: omitted and nil optional params, type errors, negative
 * timeouts and leftovers, and what the daemon answers for each. */
static void test_wire(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 2);
	char params[128];
	uint64_t id;

	assert_non_null(q);
	id = ps_queue_id(q);
#define CALL(method, fmt, ...) \
	(snprintf(params, sizeof params, fmt, __VA_ARGS__), tfix_call(f->ctx, method, params))
	assert_string_equal(CALL("queue.put", "[%llu, \"a\"]", (unsigned long long)id), "nil");
	assert_string_equal(CALL("queue.put", "[%llu, \"b\", nil, nil]", (unsigned long long)id), "nil");
	assert_string_equal(CALL("queue.full", "[%llu]", (unsigned long long)id), "true");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", false]", (unsigned long long)id), "!Full");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", true, 0]", (unsigned long long)id), "!Full");
	assert_string_equal(CALL("queue.put_nowait", "[%llu, \"c\"]", (unsigned long long)id), "!Full");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", true, -1]", (unsigned long long)id), "!ValueError");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", 1]", (unsigned long long)id), "!TypeError");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", true, \"1\"]", (unsigned long long)id), "!TypeError");
	assert_string_equal(CALL("queue.put", "[%llu, \"c\", true, 1, 2]", (unsigned long long)id), "!TypeError");
	assert_string_equal(CALL("queue.put_nowait", "[%llu, ref(999999)]", (unsigned long long)id), "!NoSuchObject");
	assert_string_equal(CALL("queue.qsize", "[%llu]", (unsigned long long)id), "2");
	assert_string_equal(CALL("queue.get", "[%llu, nil, nil]", (unsigned long long)id), "\"a\"");
	assert_string_equal(CALL("queue.get", "[%llu, true, 0.5]", (unsigned long long)id), "\"b\"");
	assert_string_equal(CALL("queue.get", "[%llu, true, 0]", (unsigned long long)id), "!Empty");
	assert_string_equal(CALL("queue.get_nowait", "[%llu]", (unsigned long long)id), "!Empty");
	assert_string_equal(CALL("queue.get_nowait", "[%llu, 1]", (unsigned long long)id), "!TypeError");
	assert_string_equal(CALL("queue.empty", "[%llu]", (unsigned long long)id), "true");
	assert_string_equal(CALL("typeof", "[%llu]", (unsigned long long)id), "\"queue\"");
	assert_string_equal(CALL("create", "[\"queue\", [%d, 1]]", 1), "!TypeError");
	assert_string_equal(CALL("create", "[\"queue\", [%s]]", "\"x\""), "!TypeError");
	assert_string_equal(CALL("dict.len", "[%llu]", (unsigned long long)id), "!TypeError");
#undef CALL
	ps_queue_free(q);
}

/* maxsize <= 0 is unbounded, as in Python; opening by name shares the
 * queue and ignores maxsize. */
static void test_maxsize(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "bounded", 3);
	ps_queue *q2 = ps_queue_open(f->ctx, "bounded", 100);
	ps_queue *u = ps_queue_new(f->ctx, -5);
	void *objs;
	size_t len;
	int b;

	assert_non_null(q);
	assert_non_null(q2);
	assert_non_null(u);
	assert_int_equal(ps_queue_id(q), ps_queue_id(q2));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ps_queue_put_int(q2, i, 0, 0), 0);
	assert_string_equal(outcome(f->ctx, ps_queue_put_int(q, 3, 0, 0)), "!Full");
	assert_int_equal(ps_queue_full(q, &b), 0);
	assert_int_equal(b, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ps_queue_put_int(u, i, 0, 0), 0);
	assert_int_equal(ps_queue_full(u, &b), 0);
	assert_int_equal(b, 0);
	/* The listing shows the queue and its size. */
	assert_int_equal(ps_call(f->ctx, "objects", NULL, 0, &objs, &len), 0);
	assert_non_null(strstr(tval_text(objs, len), "[\"bounded\", \"queue\", "));
	assert_non_null(strstr(tval_text(objs, len), ", 3]"));
	free(objs);
	/* A joinable queue of the same name is another type (the code for
	 * that is the open method's business). */
	assert_null(ps_joinablequeue_open(f->ctx, "bounded", 0));
	assert_int_equal(ps_err(f->ctx), PS_ERR_REMOTE);
	ps_queue_free(q);
	ps_queue_free(q2);
	ps_queue_free(u);
	assert_int_equal(ps_delete(f->ctx, "bounded"), 0);
}

/* ---- the tutorial: a producer and a consumer process --------------------- */

#define TUTORIAL_ITEMS 500

static int producer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "work", 0)) == NULL)
		return 2;
	for (int j = 0; j < TUTORIAL_ITEMS; j++)
		if (ps_queue_put_int(q, j, 1, -1) < 0)
			return 3;
	if (ps_queue_put_nil(q, 1, -1) < 0)
		return 4;
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

/* Gets until the nil sentinel; the items must come in order. */
static int consumer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;
	int64_t want = 0;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "work", 0)) == NULL)
		return 2;
	for (;;) {
		struct ps_mp_tok t;
		void *p;
		size_t len;
		int ok;

		if (ps_queue_get(q, 1, -1, &p, &len) < 0)
			return 3;
		if (ps_mp_token(p, len, &t) != 1 || t.type == PS_MP_NIL) {
			free(p);
			break;
		}
		ok = t.type == PS_MP_UINT && t.v.u == (uint64_t)want++;
		free(p);
		if (!ok)
			return 4;
	}
	ps_queue_free(q);
	ps_free(ctx);
	return want == TUTORIAL_ITEMS ? 0 : 5;
}

static void test_tutorial(void **state)
{
	struct tfix *f = *state;
	/* The consumer may start first: it waits for the producer. */
	pid_t c = spawn(&f->td, consumer, 0);
	pid_t p = spawn(&f->td, producer, 0);

	tfix_reap_ok(p, "producer");
	tfix_reap_ok(c, "consumer");
}

/* A consumer that waits with a timeout ends on Empty. */
static int timed_consumer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;
	int64_t v, t0, waited;
	int got = 0;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "timed", 0)) == NULL)
		return 2;
	while (ps_queue_get_int(q, 1, 1.0, &v) == 0)
		got++;
	if (strcmp(ps_errcode(ctx), "Empty") != 0 || ps_err(ctx) != PS_ERR_REMOTE)
		return 3;
	t0 = tutil_now_ms();
	if (ps_queue_get_int(q, 1, 1.0, &v) == 0)
		return 4;
	waited = tutil_now_ms() - t0;
	ps_queue_free(q);
	ps_free(ctx);
	if (waited < 990 || waited > 5000)
		return 5;
	return got == 3 ? 0 : 6;
}

static void test_get_timeout(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "timed", 0);
	pid_t c;

	assert_non_null(q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ps_queue_put_int(q, i, 1, -1), 0);
	c = spawn(&f->td, timed_consumer, 0);
	tfix_reap_ok(c, "timed consumer");
	ps_queue_free(q);
}

/* ---- many producers and consumers ---------------------------------------- */

#define NPROD 4
#define NCONS 4
#define PER_PROD 400

static int many_producer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;

	if (ctx == NULL || (q = ps_queue_open(ctx, "many", 16)) == NULL)
		return 2;
	for (int j = 0; j < PER_PROD; j++)
		if (ps_queue_put_int(q, i * PER_PROD + j, 1, -1) < 0)
			return 3;
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

/* Records every item got in the shared list "got", until the sentinel. */
static int many_consumer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;
	ps_list *got;
	void *p;
	size_t len;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "many", 16)) == NULL || (got = ps_list_open(ctx, "got")) == NULL)
		return 2;
	for (;;) {
		if (ps_queue_get(q, 1, -1, &p, &len) < 0)
			return 3;
		if (len == 1 && ((uint8_t *)p)[0] == 0xc0)
			break;
		if (ps_list_append(got, p, len) < 0)
			return 4;
		free(p);
	}
	free(p);
	ps_list_free(got);
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

static void test_many_producers_consumers(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "many", 16);
	ps_list *got = ps_list_open(f->ctx, "got");
	static unsigned char seen[NPROD * PER_PROD];
	pid_t prod[NPROD], cons[NCONS];
	size_t n = 0;

	assert_non_null(q);
	assert_non_null(got);
	for (int i = 0; i < NCONS; i++)
		cons[i] = spawn(&f->td, many_consumer, i);
	for (int i = 0; i < NPROD; i++)
		prod[i] = spawn(&f->td, many_producer, i);
	for (int i = 0; i < NPROD; i++)
		tfix_reap_ok(prod[i], "producer");
	/* One sentinel per consumer, behind every item. */
	for (int i = 0; i < NCONS; i++)
		assert_int_equal(ps_queue_put_nil(q, 1, -1), 0);
	for (int i = 0; i < NCONS; i++)
		tfix_reap_ok(cons[i], "consumer");
	assert_int_equal(ps_list_len(got, &n), 0);
	assert_int_equal(n, NPROD * PER_PROD);
	memset(seen, 0, sizeof seen);
	for (size_t k = 0; k < n; k++) {
		int64_t v = -1;

		assert_int_equal(ps_list_get_int(got, (int64_t)k, &v), 0);
		assert_true(v >= 0 && v < NPROD * PER_PROD);
		if (seen[v]++)
			fail_msg("item %lld consumed twice", (long long)v);
	}
	assert_int_equal(ps_queue_qsize(q, &n), 0);
	assert_int_equal(n, 0);
	ps_list_free(got);
	ps_queue_free(q);
}

/* ---- a bounded queue holds producers back ------------------------------- */

#define BOUND 3
#define BOUNDED_ITEMS 40

/* Puts items and records, after each put, how many it has put. */
static int bounded_producer(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;
	ps_dict *d;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "bounded", BOUND)) == NULL ||
	    (d = ps_dict_open(ctx, "progress")) == NULL)
		return 2;
	for (int j = 0; j < BOUNDED_ITEMS; j++)
		if (ps_queue_put_int(q, j, 1, -1) < 0 || ps_dict_set_int(d, "put", j + 1) < 0)
			return 3;
	ps_dict_free(d);
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

static void test_bounded_blocks(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "bounded", BOUND);
	ps_dict *d = ps_dict_open(f->ctx, "progress");
	int64_t t0, put = 0;
	size_t n = 0;
	int st;
	pid_t p;

	assert_non_null(q);
	assert_non_null(d);
	p = spawn(&f->td, bounded_producer, 0);
	/* Wait for the queue to fill up. */
	t0 = tutil_now_ms();
	while (ps_queue_qsize(q, &n) == 0 && n < BOUND && tutil_now_ms() - t0 < TFIX_CHILD_MS)
		;
	assert_int_equal(n, BOUND);
	/* The producer is held back: not finished, and it never gets more than
	 * BOUND puts (+1 parked) ahead. Give it a moment to run ahead if it
	 * could; a correct daemon keeps it parked. */
	assert_int_equal(tutil_wait_child(p, 300, &st), -1);
	assert_int_equal(ps_queue_qsize(q, &n), 0);
	assert_int_equal(n, BOUND);
	if (ps_dict_get_int(d, "put", &put) == 0)
		assert_true(put <= BOUND);
	/* Each get lets it go on; the items come in order. */
	for (int j = 0; j < BOUNDED_ITEMS; j++) {
		int64_t v = -1;

		assert_int_equal(ps_queue_get_int(q, 1, -1, &v), 0);
		assert_int_equal(v, j);
		assert_int_equal(ps_queue_qsize(q, &n), 0);
		assert_true(n <= BOUND);
	}
	tfix_reap_ok(p, "bounded producer");
	assert_int_equal(ps_dict_get_int(d, "put", &put), 0);
	assert_int_equal(put, BOUNDED_ITEMS);
	ps_dict_free(d);
	ps_queue_free(q);
}

/* Several parked putters are admitted in the order they came. */
static void test_putters_fifo(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 1);
	const char *names[] = { "p0", "p1", "p2" };
	pid_t pids[3];
	char *s;

	assert_non_null(q);
	assert_int_equal(ps_queue_put_str(q, "first", 0, 0), 0);
	for (int i = 0; i < 3; i++)
		pids[i] = spawn_parked(&f->td, parked_put, ps_queue_id(q), names[i]);
	assert_int_equal(ps_queue_get_str(q, 1, -1, &s), 0);
	assert_string_equal(s, "first");
	free(s);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ps_queue_get_str(q, 1, 5, &s), 0);
		assert_string_equal(s, names[i]);
		free(s);
	}
	for (int i = 0; i < 3; i++)
		tfix_reap_ok(pids[i], "parked putter");
	ps_queue_free(q);
}

/* ---- clients killed while parked ----------------------------------------- */

/* Two getters park, the first is killed: the next item goes to the live
 * one. In odd rounds the daemon is paused while the put is sent and the
 * dead getter's connection closes, so it reads the put before it reads the
 * EOF: the dead getter is still parked when the item arrives. */
static void test_killed_getter(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 0);
	struct traw put;
	struct ps_buf b;
	msgpack_packer pk;
	pid_t dead, live;
	size_t n = 9;

	assert_non_null(q);
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, ps_queue_id(q));
	ps_mp_pack_cstr(&pk, "x");
	assert_int_equal(traw_connect_unix(&put, f->td.sock), 0);
	assert_int_equal(traw_handshake(&put, f->td.key, f->td.keylen, NULL, 0), 0);
	for (uint32_t round = 0; round < 6; round++) {
		dead = spawn_parked(&f->td, parked_get, ps_queue_id(q), NULL);
		live = spawn_parked(&f->td, parked_get, ps_queue_id(q), "x");
		if (round % 2 == 1) {
			daemon_pause(&f->td);
			assert_int_equal(traw_request(&put, round, "queue.put", b.data, b.len), 0);
			kill_child(dead);
			daemon_resume(&f->td);
		} else {
			kill_child(dead);
			assert_int_equal(traw_request(&put, round, "queue.put", b.data, b.len), 0);
		}
		assert_int_equal(traw_response(&put, round, NULL, 0, NULL, 0), 0);
		tfix_reap_ok(live, "live getter");
		assert_int_equal(ps_queue_qsize(q, &n), 0);
		assert_int_equal(n, 0);
	}
	traw_close(&put);
	ps_buf_free(&b);
	/* Nothing is left waiting: a new item stays in the queue. */
	assert_int_equal(ps_queue_put_str(q, "y", 1, -1), 0);
	assert_int_equal(ps_queue_qsize(q, &n), 0);
	assert_int_equal(n, 1);
	ps_queue_free(q);
}

/* A putter killed while parked on a full queue: its item never appears.
 * In odd rounds the get reaches the daemon before the dead putter's EOF
 * (paused as above): the space it frees must not admit the dead item. */
static void test_killed_putter(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 1);
	struct traw get;
	struct ps_buf b;
	msgpack_packer pk;
	struct ps_mp_tok t;
	void *p;
	size_t len, n = 9;
	char *s = NULL;
	pid_t ghost;

	assert_non_null(q);
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint64(&pk, ps_queue_id(q));
	assert_int_equal(traw_connect_unix(&get, f->td.sock), 0);
	assert_int_equal(traw_handshake(&get, f->td.key, f->td.keylen, NULL, 0), 0);
	for (uint32_t round = 0; round < 6; round++) {
		assert_int_equal(ps_queue_put_str(q, "real", 0, 0), 0);
		ghost = spawn_parked(&f->td, parked_put, ps_queue_id(q), "ghost");
		if (round % 2 == 1) {
			daemon_pause(&f->td);
			assert_int_equal(traw_request(&get, round, "queue.get", b.data, b.len), 0);
			kill_child(ghost);
			daemon_resume(&f->td);
		} else {
			kill_child(ghost);
			assert_int_equal(traw_request(&get, round, "queue.get", b.data, b.len), 0);
		}
		assert_int_equal(traw_response(&get, round, NULL, 0, NULL, 0), 0);
		assert_int_equal(ps_mp_token(get.m.result, get.m.result_len, &t), 1);
		assert_true(t.type == PS_MP_STR && t.v.n == 4 && memcmp(t.data, "real", 4) == 0);
		assert_string_equal(outcome(f->ctx, ps_queue_get_nowait(q, &p, &len)), "!Empty");
		assert_int_equal(ps_queue_qsize(q, &n), 0);
		assert_int_equal(n, 0);
	}
	traw_close(&get);
	ps_buf_free(&b);
	/* The queue works on: the ghost's place is gone. */
	assert_int_equal(ps_queue_put_str(q, "after", 0, 0), 0);
	assert_int_equal(ps_queue_get_str(q, 0, 0, &s), 0);
	assert_string_equal(s, "after");
	free(s);
	ps_queue_free(q);
}

/* A putter still parked when the daemon stops: its item is freed (the
 * daemon's clean exit under the sanitizer build proves it). */
static void test_stop_with_parked_calls(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "held", 1);
	ps_queue *e = ps_queue_open(f->ctx, "empty", 0);
	struct traw put, get;

	assert_non_null(q);
	assert_non_null(e);
	assert_int_equal(ps_queue_put_str(q, "in", 0, 0), 0);
	assert_int_equal(raw_park(&put, &f->td, "queue.put", ps_queue_id(q), "parked item"), 0);
	assert_int_equal(raw_park(&get, &f->td, "queue.get", ps_queue_id(e), NULL), 0);
	ps_queue_free(q);
	ps_queue_free(e);
	assert_int_equal(tdaemon_stop(&f->td), 0);
	traw_close(&put);
	traw_close(&get);
	/* teardown's stop is then a no-op; start a fresh one for it. */
	assert_int_equal(tdaemon_start(&f->td, NULL), 0);
	tfix_reconnect(f);
}

/* ---- JoinableQueue --------------------------------------------------------- */

static int joiner(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q;

	(void)i;
	if (ctx == NULL || (q = ps_joinablequeue_open(ctx, "jobs", 0)) == NULL)
		return 2;
	if (ps_queue_join(q, -1) < 0)
		return 3;
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

static void test_joinable(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_joinablequeue_open(f->ctx, "jobs", 0);
	struct traw r;
	int64_t v, t0, waited;
	char code[32];
	pid_t j;
	int st;

	assert_non_null(q);
	/* Nothing put: join returns at once. */
	assert_int_equal(ps_queue_join(q, -1), 0);
	assert_int_equal(ps_queue_join(q, 0), 0);
	assert_string_equal(outcome(f->ctx, ps_queue_task_done(q)), "!ValueError");
	assert_non_null(strstr(ps_errstr(f->ctx), "task_done() called too many times"));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ps_queue_put_int(q, i, 1, -1), 0);
	j = spawn(&f->td, joiner, 0);
	/* Parked behind a ping on a raw connection too. */
	assert_int_equal(raw_park(&r, &f->td, "joinablequeue.join", ps_queue_id(q), NULL), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ps_queue_get_int(q, 1, -1, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(ps_queue_task_done(q), 0);
	assert_int_equal(ps_queue_task_done(q), 0);
	/* One task unfinished: a join with a timeout times out. */
	t0 = tutil_now_ms();
	assert_string_equal(outcome(f->ctx, ps_queue_join(q, 0.2)), "!Timeout");
	waited = tutil_now_ms() - t0;
	assert_true(waited >= 195);
	assert_int_equal(ps_err(f->ctx), PS_ERR_REMOTE);
	assert_string_equal(outcome(f->ctx, ps_queue_join(q, 0)), "!Timeout");
	/* The joiner process has not returned either. */
	assert_int_equal(tutil_wait_child(j, 200, &st), -1);
	/* The last task_done releases every joiner. */
	assert_int_equal(ps_queue_task_done(q), 0);
	assert_int_equal(traw_response(&r, 1, code, sizeof code, NULL, 0), 0);
	traw_close(&r);
	tfix_reap_ok(j, "joiner");
	assert_int_equal(ps_queue_join(q, 0), 0);
	assert_string_equal(outcome(f->ctx, ps_queue_task_done(q)), "!ValueError");
	/* A put counts even when it goes straight to a waiting getter. */
	assert_int_equal(raw_park(&r, &f->td, "joinablequeue.get", ps_queue_id(q), NULL), 0);
	assert_int_equal(ps_queue_put_int(q, 5, 1, -1), 0);
	assert_int_equal(traw_response(&r, 1, code, sizeof code, NULL, 0), 0);
	traw_close(&r);
	assert_string_equal(outcome(f->ctx, ps_queue_join(q, 0)), "!Timeout");
	assert_int_equal(ps_queue_task_done(q), 0);
	assert_int_equal(ps_queue_join(q, 1), 0);
	ps_queue_free(q);
}

/* ---- threads sharing one context -------------------------------------------- */

#define THREAD_ITEMS 300

struct side {
	ps_queue *q;
	int bad;
};

/* Gets THREAD_ITEMS ints, in order, blocking. */
static void *thread_getter(void *arg)
{
	struct side *s = arg;

	for (int i = 0; i < THREAD_ITEMS; i++) {
		int64_t v = -1;

		if (ps_queue_get_int(s->q, 1, -1, &v) < 0 || v != i)
			s->bad++;
	}
	return NULL;
}

/* One connection, one thread blocked in get while another puts (and, the
 * queue holding one item, the putter blocked while the other gets): the
 * answers to parked calls and to the calls that release them travel on
 * the same connection. */
static void test_threads_one_ctx(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 1);
	struct side s = { q, 0 };
	pthread_t th;

	assert_non_null(q);
	assert_int_equal(pthread_create(&th, NULL, thread_getter, &s), 0);
	for (int i = 0; i < THREAD_ITEMS; i++)
		assert_int_equal(ps_queue_put_int(q, i, 1, 30), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.bad, 0);
	ps_queue_free(q);
}

/* ---- the context's timeout does not cut a blocking call short ------------ */

/* Puts after a wait the daemon times (a get with a timeout on an empty
 * queue), so no sleep is needed. */
static int late_putter(const struct tdaemon *td, int i)
{
	ps_ctx *ctx = child_connect(td);
	ps_queue *q, *idle;
	int64_t v;

	(void)i;
	if (ctx == NULL || (q = ps_queue_open(ctx, "late", 0)) == NULL || (idle = ps_queue_new(ctx, 0)) == NULL)
		return 2;
	if (ps_queue_get_int(idle, 1, 0.6, &v) == 0 || strcmp(ps_errcode(ctx), "Empty") != 0)
		return 3;
	if (ps_queue_put_str(q, "late", 1, -1) < 0)
		return 4;
	ps_queue_free(idle);
	ps_queue_free(q);
	ps_free(ctx);
	return 0;
}

static void test_blocking_outlives_ctx_timeout(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_open(f->ctx, "late", 0);
	int64_t t0, waited, v;
	char *s = NULL;
	pid_t p;

	assert_non_null(q);
	ps_set_timeout(f->ctx, 200);
	/* A timed get: Empty after its own 0.5 s, not a local timeout. */
	t0 = tutil_now_ms();
	assert_string_equal(outcome(f->ctx, ps_queue_get_int(q, 1, 0.5, &v)), "!Empty");
	waited = tutil_now_ms() - t0;
	assert_true(waited >= 495);
	/* A get without timeout waits as long as it takes. */
	p = spawn(&f->td, late_putter, 0);
	assert_int_equal(ps_queue_get_str(q, 1, -1, &s), 0);
	assert_string_equal(s, "late");
	free(s);
	tfix_reap_ok(p, "late putter");
	/* Other calls keep the context's timeout. */
	ps_set_timeout(f->ctx, TDAEMON_CALL_MS);
	ps_queue_free(q);
}

/* ---- items and the message size ------------------------------------------ */

static int setup_small(void **state)
{
	static const char *const args[] = { "--max-message", "1024", NULL };

	return tfix_setup_with(state, args);
}

/* An array of n float 32s: 5 bytes each as sent, 9 once stored. */
static void floats(struct ps_buf *b, int n)
{
	msgpack_packer pk;

	b->len = b->pos = 0;
	ps_mp_packer(&pk, b);
	msgpack_pack_array(&pk, (size_t)n);
	for (int i = 0; i < n; i++)
		msgpack_pack_float(&pk, 1.5f);
	assert_false(b->oom);
}

/* An item whose stored form would not fit in the reply to a get is
 * refused at put (TooLarge), on both paths: it could never be got. */
static void test_item_too_large(void **state)
{
	struct tfix *f = *state;
	ps_queue *q = ps_queue_new(f->ctx, 0);
	struct ps_buf b;
	struct traw r;
	void *p;
	size_t len;

	assert_non_null(q);
	ps_buf_init(&b);
	floats(&b, 150);        /* 753 bytes sent, 1,353 stored */
	assert_true(b.len < 1000);
	assert_string_equal(outcome(f->ctx, ps_queue_put(q, b.data, b.len, 1, -1)), "!TooLarge");
	assert_string_equal(outcome(f->ctx, ps_queue_get_nowait(q, &p, &len)), "!Empty");
	/* The same while a getter waits: it keeps waiting. */
	assert_int_equal(raw_park(&r, &f->td, "queue.get", ps_queue_id(q), NULL), 0);
	assert_string_equal(outcome(f->ctx, ps_queue_put(q, b.data, b.len, 1, -1)), "!TooLarge");
	floats(&b, 100);        /* 903 bytes stored: fits */
	assert_int_equal(ps_queue_put(q, b.data, b.len, 1, -1), 0);
	assert_int_equal(traw_response(&r, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(r.m.result_len, 903);
	traw_close(&r);
	assert_int_equal(ps_queue_put(q, b.data, b.len, 1, -1), 0);
	assert_int_equal(ps_queue_get(q, 1, -1, &p, &len), 0);
	assert_int_equal(len, 903);
	free(p);
	ps_buf_free(&b);
	ps_queue_free(q);
}

/* ---- examples/queue.c ------------------------------------------------------ */

static void test_example(void **state)
{
	struct tfix *f = *state;
	char out[4096], line[64];
	const char *at = out;
	int rc;

	/* The example built beside the daemon: $(BUILD)/examples/queue. */
	rc = tfix_run_example(&f->td, "queue", TFIX_CHILD_MS, out, sizeof out);
	if (rc != 0)
		fail_msg("the queue example exited with %d; output:\n%s", rc, out);
	/* Every job, in order, then the summary. */
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof line, " got job %d\n", i);
		at = strstr(at, line);
		if (at == NULL)
			fail_msg("no \"%s\" in order in:\n%s", line, out);
	}
	assert_non_null(strstr(at, "all 10 jobs done\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basics, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_wire, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_maxsize, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_tutorial, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_get_timeout, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_many_producers_consumers, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_bounded_blocks, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_putters_fifo, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_killed_getter, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_killed_putter, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_parked_calls, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_joinable, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_blocking_outlives_ctx_timeout, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_threads_one_ctx, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_example, tfix_setup, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_item_too_large, setup_small, tfix_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
