/*
 * The shared queues: Python's queue.Queue as the manager's Queue proxy
 * exposes it (put/get with block and timeout, the _nowait forms, qsize,
 * empty, full), and JoinableQueue, which adds task_done and join.
 *
 * Items are stored values (val.h) in a ring. A get on an empty queue and a
 * put on a full one park on a wait queue (wait.h) instead of blocking the
 * loop. Waiters are served first come, first served: an arriving item goes
 * straight to the longest-waiting getter, and the space a get frees
 * admits the longest-waiting putter's item. So getters wait only while
 * the queue is empty and putters only while it is full.
 *
 * Nothing is ever handed to a client that is gone: a parked call's
 * connection may have hung up with its EOF still unread in this loop turn,
 * so each handover first asks conn_gone and passes over such a waiter
 * (it is dropped when the loop reads the EOF; a putter's item with it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "registry.h"
#include "types.h"
#include "val.h"
#include "wait.h"

/* Capacity of a ring's first allocation, and the least it shrinks to. */
#define QUEUE_MIN_CAP 8
/* Bytes of a reply around its result: [1, msgid, nil, ...]. */
#define QUEUE_REPLY_HEADER 16
/* Most items a queue may hold: keeps ring arithmetic free of overflow. */
#define QUEUE_MAX_LEN (SIZE_MAX / sizeof(struct val *) / 2)

struct queue {
	struct val **ring;      /* items[i] is ring[(head + i) % cap] */
	size_t head, len, cap;
	size_t maxsize;         /* 0: unbounded */
	struct waitq getters;   /* parked gets (the queue is empty) */
	struct waitq putters;   /* parked puts, item in w->arg (the queue is full) */
	bool joinable;
	uint64_t unfinished;    /* JoinableQueue: items put and not yet task_done */
	struct waitq joiners;   /* parked joins */
};

/* ---- the ring ------------------------------------------------------------ */

static bool queue_is_full(const struct queue *q)
{
	return q->maxsize > 0 && q->len >= q->maxsize;
}

/* Moves the items into a new array of cap slots, unwrapped. */
static int queue_resize(struct queue *q, size_t cap)
{
	struct val **ring = malloc(cap * sizeof *ring);

	if (ring == NULL)
		return -1;
	for (size_t i = 0; i < q->len; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = ring;
	q->head = 0;
	q->cap = cap;
	return 0;
}

/* Makes room for one more item, so a push cannot fail. */
static int queue_reserve(struct call *c, struct queue *q)
{
	if (call_room(c, q->len, 1) < 0)
		return -1;
	if (q->len < q->cap)
		return 0;
	if (q->len >= QUEUE_MAX_LEN)
		return call_error(c, PS_E_NOMEM, "a queue cannot hold more than %zu items", q->len);
	if (queue_resize(q, q->cap < QUEUE_MIN_CAP ? QUEUE_MIN_CAP : 2 * q->cap) < 0)
		return call_error(c, PS_E_NOMEM, "out of memory growing a queue to %zu items", q->len + 1);
	return 0;
}

/* Gives memory back once the queue has drained below a quarter. */
static void queue_shrink(struct queue *q)
{
	if (q->cap > QUEUE_MIN_CAP && q->len < q->cap / 4)
		queue_resize(q, q->cap / 2); /* on failure the bigger ring stays */
}

/* Appends v; the caller has made room. */
static void queue_push(struct queue *q, struct val *v)
{
	q->ring[(q->head + q->len) % q->cap] = v;
	q->len++;
	if (q->joinable)
		q->unfinished++;
}

static struct val *queue_pop(struct queue *q)
{
	struct val *v = q->ring[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return v;
}

/* ---- arguments ------------------------------------------------------------ */

/* block and timeout, as put and get take them; *ms is 0 when the call
 * must not wait (block false, or timeout 0). */
static int queue_arg_wait(struct call *c, int64_t *ms)
{
	bool block = true;

	if (call_arg_opt_bool(c, "block", &block) < 0 || call_arg_timeout(c, "timeout", ms) < 0)
		return -1;
	if (!block)
		*ms = 0;
	return 0;
}

/* An item must fit in the reply that gets it, or a get would remove it
 * and then fail with TooLarge: it would be lost. Canonical encoding can
 * make an item bigger than it was sent (float 32 widened to float 64). */
static int queue_check_size(struct call *c, size_t len)
{
	size_t max = c->d->cfg.max_message;

	if (len > max - QUEUE_REPLY_HEADER)
		return call_error(c, PS_E_TOOLARGE, "an item of %zu bytes would not fit in a reply (max-message %zu)",
				  len, max);
	return 0;
}

/* ---- handing over ------------------------------------------------------- */

/* The longest-waiting waiter whose client can still take an answer. */
static struct waiter *queue_live(const struct waitq *wq)
{
	struct waiter *w;

	TAILQ_FOREACH(w, &wq->head, qlink)
		if (!conn_gone(w->conn))
			return w;
	return NULL;
}

static void queue_answer_nil(struct waiter *w)
{
	msgpack_packer pk;

	msgpack_pack_nil(wait_result(w, &pk));
	wait_done(w);
}

/* Gives the item p[0..len) to a parked getter. */
static void queue_answer_item(struct waiter *w, const uint8_t *p, size_t len)
{
	msgpack_packer pk;

	wait_result(w, &pk);
	ps_buf_append(&w->conn->out, p, len);
	wait_done(w);
}

/* Moves parked putters' items into the room a get made, oldest first. */
static void queue_admit(struct queue *q)
{
	struct waiter *w;

	while (!queue_is_full(q) && q->len < q->cap && (w = queue_live(&q->putters)) != NULL) {
		queue_push(q, w->arg);
		w->arg = NULL;
		queue_answer_nil(w);
	}
}

/* JoinableQueue: every item put has been marked done; wake the joiners. */
static void queue_release_joiners(struct queue *q)
{
	struct waiter *w;

	while ((w = waitq_first(&q->joiners)) != NULL)
		queue_answer_nil(w);
}

/* ---- parked calls ------------------------------------------------------- */

static struct registry *queue_waiter_reg(const struct waiter *w)
{
	return &w->conn->d->reg;
}

static void queue_get_timeout(struct waiter *w)
{
	wait_error(w, PS_E_EMPTY, "queue is empty (timed out)");
}

static void queue_put_timeout(struct waiter *w)
{
	struct val *v = w->arg;

	w->arg = NULL;
	val_free(queue_waiter_reg(w), v);
	wait_error(w, PS_E_FULL, "queue is full (timed out)");
}

/* The putter's client is gone: its item goes with it. */
static void queue_put_drop(struct waiter *w)
{
	val_free(queue_waiter_reg(w), w->arg);
	w->arg = NULL;
}

static void queue_join_timeout(struct waiter *w)
{
	wait_error(w, PS_E_TIMEOUT, "join: tasks still unfinished (timed out)");
}

static const struct wait_ops queue_get_ops = { queue_get_timeout, NULL };
static const struct wait_ops queue_put_ops = { queue_put_timeout, queue_put_drop };
static const struct wait_ops queue_join_ops = { queue_join_timeout, NULL };

/* ---- life ------------------------------------------------------------------ */

static void *queue_new(struct call *c, bool joinable)
{
	struct queue *q;
	int64_t maxsize = 0;
	bool present;

	if (call_arg_opt_int(c, "maxsize", &maxsize, &present) < 0 || call_no_more(c) < 0)
		return NULL;
	q = calloc(1, sizeof *q);
	if (q == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory");
		return NULL;
	}
	/* As in Python, a maxsize of 0 or less means unbounded. */
	q->maxsize = maxsize > 0 ? (size_t)maxsize : 0;
	q->joinable = joinable;
	waitq_init(&q->getters);
	waitq_init(&q->putters);
	waitq_init(&q->joiners);
	return q;
}

static void *queue_create(struct call *c)
{
	return queue_new(c, false);
}

static void *queue_joinable_create(struct call *c)
{
	return queue_new(c, true);
}

/* No waiter is left: each holds a reference on the object. */
static void queue_destroy(struct registry *reg, void *data)
{
	struct queue *q = data;

	while (q->len > 0)
		val_free(reg, queue_pop(q));
	free(q->ring);
	free(q);
}

static size_t queue_size(const void *data)
{
	const struct queue *q = data;

	return q->len;
}

/* ---- methods ---------------------------------------------------------------- */

/* A put while a getter waits: the item goes straight to it, as it is:
 * nothing is stored, nothing allocated. */
static int queue_hand_over(struct call *c, struct queue *q, struct waiter *w, const uint8_t *raw, size_t len)
{
	const uint8_t *p;
	size_t plen;

	if (call_canon(c, raw, len, false, &p, &plen) < 0 || queue_check_size(c, plen) < 0)
		return -1;
	if (q->joinable)
		q->unfinished++;
	queue_answer_item(w, p, plen);
	call_result_nil(c);
	return 0;
}

/* A put nobody waits for: into the queue, else (full) the call waits with
 * its item for at most ms, or fails with Full when it may not wait. The
 * item is checked either way. */
static int queue_store(struct call *c, struct queue *q, int64_t ms, const uint8_t *raw, size_t len)
{
	struct waiter *w;
	struct val *v = call_val(c, raw, len, false);

	if (v == NULL)
		return -1;
	if (queue_check_size(c, v->len) < 0)
		goto fail;
	if (!queue_is_full(q)) {
		if (queue_reserve(c, q) < 0)
			goto fail;
		queue_push(q, v);
		call_result_nil(c);
		return 0;
	}
	if (ms == 0) {
		call_error(c, PS_E_FULL, "queue is full");
		goto fail;
	}
	w = wait_park(c, &q->putters, ms, &queue_put_ops);
	if (w == NULL)
		goto fail;
	w->arg = v;
	return CALL_PARKED;
fail:
	val_free(c->reg, v);
	return -1;
}

/* put and put_nowait. */
static int queue_put_item(struct call *c, struct queue *q, bool nowait)
{
	const uint8_t *raw;
	size_t len;
	int64_t ms = 0;
	struct waiter *w;

	if (call_arg_raw(c, "item", &raw, &len) < 0 || (!nowait && queue_arg_wait(c, &ms) < 0) ||
	    call_no_more(c) < 0)
		return -1;
	w = queue_live(&q->getters);
	if (w != NULL)
		return queue_hand_over(c, q, w, raw, len);
	return queue_store(c, q, ms, raw, len);
}

/* get and get_nowait: the oldest item, else the call waits or fails with
 * Empty. */
static int queue_get_item(struct call *c, struct queue *q, bool nowait)
{
	int64_t ms = 0;
	struct val *v;

	if ((!nowait && queue_arg_wait(c, &ms) < 0) || call_no_more(c) < 0)
		return -1;
	if (q->len == 0) {
		if (ms == 0)
			return call_error(c, PS_E_EMPTY, "queue is empty");
		return wait_park(c, &q->getters, ms, &queue_get_ops) != NULL ? CALL_PARKED : -1;
	}
	v = queue_pop(q);
	queue_admit(q);
	call_result_val(c, v);
	/* Freed last: its references may keep objects alive that die now. */
	val_free(c->reg, v);
	queue_shrink(q);
	return 0;
}

static int queue_put(struct call *c, void *data) { return queue_put_item(c, data, false); }
static int queue_put_nowait(struct call *c, void *data) { return queue_put_item(c, data, true); }
static int queue_get(struct call *c, void *data) { return queue_get_item(c, data, false); }
static int queue_get_nowait(struct call *c, void *data) { return queue_get_item(c, data, true); }

static int queue_qsize(struct call *c, void *data)
{
	struct queue *q = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, q->len);
	return 0;
}

static int queue_empty(struct call *c, void *data)
{
	struct queue *q = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_bool(c, q->len == 0);
	return 0;
}

static int queue_full(struct call *c, void *data)
{
	if (call_no_more(c) < 0)
		return -1;
	call_result_bool(c, queue_is_full(data));
	return 0;
}

static int queue_task_done(struct call *c, void *data)
{
	struct queue *q = data;

	if (call_no_more(c) < 0)
		return -1;
	if (q->unfinished == 0)
		return call_error(c, PS_E_VALUE, "task_done() called too many times");
	if (--q->unfinished == 0)
		queue_release_joiners(q);
	call_result_nil(c);
	return 0;
}

/* Python's join has no timeout; this one may have one (Timeout error). */
static int queue_join(struct call *c, void *data)
{
	struct queue *q = data;
	int64_t ms;

	if (call_arg_timeout(c, "timeout", &ms) < 0 || call_no_more(c) < 0)
		return -1;
	if (q->unfinished == 0) {
		call_result_nil(c);
		return 0;
	}
	if (ms == 0)
		return call_error(c, PS_E_TIMEOUT, "join: tasks still unfinished");
	return wait_park(c, &q->joiners, ms, &queue_join_ops) != NULL ? CALL_PARKED : -1;
}

static const struct method queue_methods[] = {
	{ "put", queue_put },
	{ "get", queue_get },
	{ "put_nowait", queue_put_nowait },
	{ "get_nowait", queue_get_nowait },
	{ "qsize", queue_qsize },
	{ "empty", queue_empty },
	{ "full", queue_full },
	{ NULL, NULL },
};

static const struct method queue_joinable_methods[] = {
	{ "put", queue_put },
	{ "get", queue_get },
	{ "put_nowait", queue_put_nowait },
	{ "get_nowait", queue_get_nowait },
	{ "qsize", queue_qsize },
	{ "empty", queue_empty },
	{ "full", queue_full },
	{ "task_done", queue_task_done },
	{ "join", queue_join },
	{ NULL, NULL },
};

const struct type queue_type = {
	.name = "queue",
	.create = queue_create,
	.destroy = queue_destroy,
	.size = queue_size,
	.methods = queue_methods,
};

const struct type joinablequeue_type = {
	.name = "joinablequeue",
	.create = queue_joinable_create,
	.destroy = queue_destroy,
	.size = queue_size,
	.methods = queue_joinable_methods,
};
