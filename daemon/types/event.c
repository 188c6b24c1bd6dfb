/*
 * The shared Event: Python's threading.Event as EventProxy exposes it. A
 * flag; wait parks until it is set (or the timeout passes) and answers the
 * flag. Method functions are named event_m_* because libevent owns the
 * event_* names (event_set among them).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "call.h"
#include "registry.h"
#include "types.h"
#include "wait.h"

struct event_obj {
	bool set;
	struct waitq q;         /* parked waits: the flag is clear */
};

static void *event_m_create(struct call *c)
{
	struct event_obj *e;

	if (call_no_more(c) < 0)
		return NULL;
	e = calloc(1, sizeof *e);
	if (e == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating an event");
		return NULL;
	}
	waitq_init(&e->q);
	return e;
}

static void event_m_destroy(struct registry *reg, void *data)
{
	(void)reg;
	/* Waiters keep the object alive: the queue is empty. */
	free(data);
}

/* 1 when set, else 0. */
static size_t event_m_size(const void *data)
{
	const struct event_obj *e = data;

	return e->set ? 1 : 0;
}

static void event_m_answer(struct waiter *w, bool flag)
{
	msgpack_packer pk;
	msgpack_packer *p = wait_result(w, &pk);

	if (flag)
		msgpack_pack_true(p);
	else
		msgpack_pack_false(p);
	wait_done(w);
}

/* Python's wait answers the flag as it is when the wait ends: false. */
static void event_m_timeout_cb(struct waiter *w)
{
	event_m_answer(w, false);
}

static const struct wait_ops event_wait_ops = { event_m_timeout_cb, NULL };

/* set [id] -> nil: wakes every waiter. The call holds a reference on the
 * object, so answering the last waiter cannot destroy it mid-loop. */
static int event_m_set(struct call *c, void *data)
{
	struct event_obj *e = data;
	struct waiter *w;

	if (call_no_more(c) < 0)
		return -1;
	e->set = true;
	while ((w = waitq_first(&e->q)) != NULL)
		event_m_answer(w, true);
	call_result_nil(c);
	return 0;
}

/* clear [id] -> nil */
static int event_m_clear(struct call *c, void *data)
{
	struct event_obj *e = data;

	if (call_no_more(c) < 0)
		return -1;
	e->set = false;
	call_result_nil(c);
	return 0;
}

/* is_set [id] -> bool */
static int event_m_is_set(struct call *c, void *data)
{
	struct event_obj *e = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_bool(c, e->set);
	return 0;
}

/* wait [id, timeout?] -> bool: true once set; false when the timeout
 * passed first (not an error, as in Python). */
static int event_m_wait(struct call *c, void *data)
{
	struct event_obj *e = data;
	int64_t ms;

	if (call_arg_timeout(c, "timeout", &ms) < 0 || call_no_more(c) < 0)
		return -1;
	if (e->set || ms == 0) {
		call_result_bool(c, e->set);
		return 0;
	}
	if (wait_park(c, &e->q, ms, &event_wait_ops) == NULL)
		return -1;
	return CALL_PARKED;
}

static void event_m_describe(struct call *c, void *data)
{
	struct event_obj *e = data;

	msgpack_pack_map(&c->pk, 1);
	ps_mp_pack_cstr(&c->pk, "set");
	call_result_bool(c, e->set);
}

static const struct method event_methods[] = {
	{ "set", event_m_set },
	{ "clear", event_m_clear },
	{ "is_set", event_m_is_set },
	{ "wait", event_m_wait },
	{ NULL, NULL },
};

const struct type event_type = {
	.name = "event",
	.create = event_m_create,
	.destroy = event_m_destroy,
	.size = event_m_size,
	.describe = event_m_describe,
	.methods = event_methods,
};
