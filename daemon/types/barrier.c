/*
 * The shared Barrier: Python's threading.Barrier as BarrierProxy exposes
 * it (no action: the daemon runs no callables). Parties arrive with wait
 * and park until the last one comes; each is answered with its arrival
 * index, 0 for the first. A wait that times out, an abort, a reset, or a
 * party whose connection closes while it waits breaks the barrier: every
 * waiter is answered BrokenBarrierError, and so is every later wait until
 * a reset.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "registry.h"
#include "types.h"
#include "wait.h"

struct barrier {
	int64_t parties;
	int64_t timeout_ms;     /* wait's default timeout; -1: none */
	bool broken;
	struct waitq q;         /* parties that arrived; w->n their index */
};

/* args: [parties, timeout?] */
static void *barrier_create(struct call *c)
{
	struct barrier *b;
	int64_t parties, ms;

	if (call_arg_int(c, "parties", &parties) < 0 || call_arg_timeout(c, "timeout", &ms) < 0 ||
	    call_no_more(c) < 0)
		return NULL;
	if (parties < 1) {
		call_error(c, PS_E_VALUE, "parties must be >= 1");
		return NULL;
	}
	b = calloc(1, sizeof *b);
	if (b == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating a barrier");
		return NULL;
	}
	b->parties = parties;
	b->timeout_ms = ms;
	waitq_init(&b->q);
	return b;
}

static void barrier_destroy(struct registry *reg, void *data)
{
	(void)reg;
	/* Waiters keep the object alive: the queue is empty. */
	free(data);
}

static size_t barrier_size(const void *data)
{
	const struct barrier *b = data;

	return b->q.n;
}

/* Answers every waiter but skip with BrokenBarrierError. The caller
 * holds a reference on the object, so the last answer cannot destroy it. */
static void barrier_fail_all(struct barrier *b, const struct waiter *skip, const char *why)
{
	struct waiter *w, *next;

	for (w = waitq_first(&b->q); w != NULL; w = next) {
		next = TAILQ_NEXT(w, qlink);
		if (w != skip)
			wait_error(w, PS_E_BROKENBARRIER, why);
	}
}

/* A waiter's timeout passed: the barrier breaks for everyone, itself
 * included, as Python's does. */
static void barrier_timeout_cb(struct waiter *w)
{
	struct registry *reg = &w->conn->d->reg;
	struct object *obj = w->obj;
	struct barrier *b = obj->data;

	registry_incref(reg, obj);
	b->broken = true;
	barrier_fail_all(b, NULL, "a party timed out waiting at the barrier");
	registry_decref(reg, obj);
}

/* A party's connection closed while it waited: the others would wait for
 * it forever, so the barrier breaks. w itself goes unanswered; it still
 * holds its reference on the object while this runs. */
static void barrier_drop_cb(struct waiter *w)
{
	struct barrier *b = w->obj->data;

	b->broken = true;
	barrier_fail_all(b, w, "a party's connection closed while it waited at the barrier");
}

static const struct wait_ops barrier_wait_ops = { barrier_timeout_cb, barrier_drop_cb };

/* The last party came: everyone leaves with their index. */
static void barrier_trip(struct barrier *b)
{
	struct waiter *w;
	msgpack_packer pk;

	while ((w = waitq_first(&b->q)) != NULL) {
		msgpack_pack_uint64(wait_result(w, &pk), (uint64_t)w->n);
		wait_done(w);
	}
}

/* wait [id, timeout?] -> the arrival index; nil timeout: the barrier's. */
static int barrier_wait(struct call *c, void *data)
{
	struct barrier *b = data;
	struct waiter *w;
	int64_t ms, index;

	if (call_arg_timeout(c, "timeout", &ms) < 0 || call_no_more(c) < 0)
		return -1;
	if (b->broken)
		return call_error(c, PS_E_BROKENBARRIER, "the barrier is broken");
	if (ms < 0)
		ms = b->timeout_ms;
	index = (int64_t)b->q.n;
	if (index + 1 == b->parties) {
		barrier_trip(b);
		call_result_uint(c, (uint64_t)index);
		return 0;
	}
	if (ms == 0) {
		b->broken = true;
		barrier_fail_all(b, NULL, "a party timed out waiting at the barrier");
		return call_error(c, PS_E_BROKENBARRIER, "timed out waiting at the barrier");
	}
	w = wait_park(c, &b->q, ms, &barrier_wait_ops);
	if (w == NULL)
		return -1;
	w->n = index;
	return CALL_PARKED;
}

/* abort [id] -> nil: broken until reset. */
static int barrier_abort(struct call *c, void *data)
{
	struct barrier *b = data;

	if (call_no_more(c) < 0)
		return -1;
	b->broken = true;
	barrier_fail_all(b, NULL, "the barrier was aborted");
	call_result_nil(c);
	return 0;
}

/* reset [id] -> nil: waiters are broken out; the barrier is usable again. */
static int barrier_reset(struct call *c, void *data)
{
	struct barrier *b = data;

	if (call_no_more(c) < 0)
		return -1;
	barrier_fail_all(b, NULL, "the barrier was reset");
	b->broken = false;
	call_result_nil(c);
	return 0;
}

static int barrier_parties(struct call *c, void *data)
{
	struct barrier *b = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, (uint64_t)b->parties);
	return 0;
}

static int barrier_n_waiting(struct call *c, void *data)
{
	struct barrier *b = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, b->q.n);
	return 0;
}

static int barrier_broken(struct call *c, void *data)
{
	struct barrier *b = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_bool(c, b->broken);
	return 0;
}

/* For "describe": parties, the default timeout (seconds; nil: none) and
 * whether it is broken. */
static void barrier_describe(struct call *c, void *data)
{
	struct barrier *b = data;

	msgpack_pack_map(&c->pk, 3);
	ps_mp_pack_cstr(&c->pk, "parties");
	msgpack_pack_int64(&c->pk, b->parties);
	ps_mp_pack_cstr(&c->pk, "timeout");
	if (b->timeout_ms < 0)
		msgpack_pack_nil(&c->pk);
	else
		msgpack_pack_double(&c->pk, (double)b->timeout_ms / 1000.0);
	ps_mp_pack_cstr(&c->pk, "broken");
	call_result_bool(c, b->broken);
}

static const struct method barrier_methods[] = {
	{ "wait", barrier_wait },
	{ "abort", barrier_abort },
	{ "reset", barrier_reset },
	{ "parties", barrier_parties },
	{ "n_waiting", barrier_n_waiting },
	{ "broken", barrier_broken },
	{ NULL, NULL },
};

const struct type barrier_type = {
	.name = "barrier",
	.create = barrier_create,
	.destroy = barrier_destroy,
	.size = barrier_size,
	.describe = barrier_describe,
	.methods = barrier_methods,
};
