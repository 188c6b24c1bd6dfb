/*
 * Parked requests and their timers.
 */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "ps_rpc.h"
#include "registry.h"
#include "wait.h"

void waitq_init(struct waitq *q)
{
	TAILQ_INIT(&q->head);
	q->n = 0;
}

struct waiter *waitq_first(const struct waitq *q)
{
	return TAILQ_FIRST(&q->head);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_timer(struct waiter *w, int64_t us)
{
	struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };

	evtimer_add(w->timer, &tv);
}

static void wait_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	int64_t left = w->deadline_us - now_us();

	(void)fd;
	(void)what;
	/* The loop's clock is the coarse one (main.c): a timer may fire up
	 * to a scheduler tick early. A timeout never ends before its time. */
	if (left > 0) {
		set_timer(w, left);
		return;
	}
	w->ops->timeout(w);
}

struct waiter *wait_park(struct call *c, struct waitq *q, int64_t timeout_ms, const struct wait_ops *ops)
{
	struct waiter *w = calloc(1, sizeof *w);

	if (w == NULL)
		goto oom;
	if (timeout_ms >= 0) {
		struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
		w->deadline_us = now_us() + timeout_ms * 1000;
		w->timer = evtimer_new(c->d->base, wait_timer_cb, w);
		if (w->timer == NULL || evtimer_add(w->timer, &tv) < 0)
			goto oom;
	}
	w->conn = c->conn;
	w->msgid = c->msgid;
	w->obj = c->obj;
	w->q = q;
	w->ops = ops;
	registry_incref(c->reg, w->obj);
	TAILQ_INSERT_TAIL(&q->head, w, qlink);
	q->n++;
	TAILQ_INSERT_TAIL(&c->conn->waiters, w, clink);
	return w;
oom:
	if (w != NULL && w->timer != NULL)
		event_free(w->timer);
	free(w);
	call_error(c, PS_E_NOMEM, "out of memory parking a blocking call");
	return NULL;
}

/* Takes the waiter out of both lists and frees it; returns its object. */
static struct object *unlink_waiter(struct waiter *w)
{
	struct object *obj = w->obj;

	TAILQ_REMOVE(&w->q->head, w, qlink);
	w->q->n--;
	TAILQ_REMOVE(&w->conn->waiters, w, clink);
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
	return obj;
}

void wait_move(struct waiter *w, struct waitq *q)
{
	TAILQ_REMOVE(&w->q->head, w, qlink);
	w->q->n--;
	TAILQ_INSERT_TAIL(&q->head, w, qlink);
	q->n++;
	w->q = q;
	/* Freeing a timer from inside its own callback is allowed: the
	 * callback (wait_timer_cb) does not touch the waiter afterwards. */
	if (w->timer != NULL) {
		event_free(w->timer);
		w->timer = NULL;
	}
}

msgpack_packer *wait_result(struct waiter *w, msgpack_packer *pk)
{
	w->conn->reply_mark = w->conn->out.len;
	ps_mp_packer(pk, &w->conn->out);
	ps_rpc_put_result_hdr(pk, w->msgid);
	return pk;
}

void wait_done(struct waiter *w)
{
	struct conn *conn = w->conn;
	struct registry *reg = &conn->d->reg;

	if (conn->out.oom) {
		/* The reply did not fit in memory: say so in a small one. */
		msgpack_packer pk;
		conn->out.len = conn->reply_mark;
		conn->out.oom = 0;
		ps_mp_packer(&pk, &conn->out);
		ps_rpc_put_error(&pk, w->msgid, PS_E_NOMEM, "out of memory building the reply");
	}
	conn_schedule_flush(conn);
	registry_decref(reg, unlink_waiter(w));
}

void wait_error(struct waiter *w, enum ps_code code, const char *msg)
{
	msgpack_packer pk;

	ps_mp_packer(&pk, &w->conn->out);
	w->conn->reply_mark = w->conn->out.len;
	ps_rpc_put_error(&pk, w->msgid, code, msg);
	wait_done(w);
}

void wait_drop_conn(struct waiter_list *list)
{
	struct waiter *w;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		struct registry *reg = &w->conn->d->reg;
		if (w->ops->drop != NULL)
			w->ops->drop(w);
		registry_decref(reg, unlink_waiter(w));
	}
}
