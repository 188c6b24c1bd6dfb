/*
 * The Condition proxy (proto/PROTOCOL.md, "condition"). wait_for runs
 * here, in the caller, as Python's Condition.wait_for does: the daemon
 * cannot evaluate a predicate, so the client waits and re-checks.
 */
#include <stdlib.h>
#include <time.h>

#include "internal.h"

struct ps_condition {
	struct ps_obj obj;
};

static ps_condition *condition_take(ps_ctx *ctx, const char *name, ps_lock *lock)
{
	struct ps_buf b;
	msgpack_packer pk;
	ps_condition *c;
	int r;

	if (ctx == NULL)
		return NULL;
	c = malloc(sizeof *c);
	if (c == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	if (lock != NULL) {
		msgpack_pack_array(&pk, 1);
		msgpack_pack_uint64(&pk, ps_lock_id(lock));
	} else {
		msgpack_pack_array(&pk, 0);
	}
	if (b.oom)
		r = ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else if (name != NULL)
		r = ps_obj_open_args(&c->obj, ctx, "condition", name, b.data, b.len);
	else
		r = ps_obj_create_args(&c->obj, ctx, "condition", b.data, b.len);
	ps_buf_free(&b);
	if (r < 0) {
		free(c);
		return NULL;
	}
	return c;
}

ps_condition *ps_condition_open(ps_ctx *ctx, const char *name, ps_lock *lock)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return condition_take(ctx, name, lock);
}

ps_condition *ps_condition_new(ps_ctx *ctx, ps_lock *lock)
{
	return condition_take(ctx, NULL, lock);
}

void ps_condition_free(ps_condition *c)
{
	if (c == NULL)
		return;
	ps_obj_release(&c->obj);
	free(c);
}

uint64_t ps_condition_id(const ps_condition *c)
{
	return c != NULL ? c->obj.id : 0;
}

int ps_condition_acquire(ps_condition *c, int blocking, double timeout, struct ps_acquired *info)
{
	if (c == NULL)
		return -1;
	return ps_lock_call_acquire(&c->obj, "condition.acquire", blocking, timeout, info);
}

/* Methods that take nothing but the id and answer nil. */
static int condition_plain(ps_condition *c, const char *method)
{
	struct ps_req r;

	if (c == NULL || ps_req_begin(&r, &c->obj) < 0)
		return -1;
	return ps_req_call(&r, method, NULL);
}

int ps_condition_release(ps_condition *c)
{
	return condition_plain(c, "condition.release");
}

int ps_condition_notify_all(ps_condition *c)
{
	return condition_plain(c, "condition.notify_all");
}

int ps_condition_notify(ps_condition *c, int64_t n)
{
	struct ps_req r;

	if (c == NULL || ps_req_begin(&r, &c->obj) < 0)
		return -1;
	ps_req_int(&r, n);
	return ps_req_call(&r, "condition.notify", NULL);
}

int ps_condition_wait(ps_condition *c, double timeout)
{
	struct ps_reply rep;
	struct ps_req r;
	int notified;

	if (c == NULL || ps_req_begin(&r, &c->obj) < 0)
		return -1;
	ps_lock_req_timeout(&r, timeout);
	/* After the wait the daemon takes the lock back before it answers,
	 * and that has no bound (Python's wait blocks the same way). */
	r.hold_ms = -1;
	if (ps_req_call(&r, "condition.wait", &rep) < 0 || ps_reply_bool(r.ctx, &rep, &notified) < 0)
		return -1;
	return notified;
}

static double condition_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ps_condition_wait_for(ps_condition *c, int (*pred)(void *arg), void *arg, double timeout)
{
	double end = 0, left = timeout;
	int ok;

	if (c == NULL)
		return -1;
	if (pred == NULL)
		return ps_fail(c->obj.ctx, PS_ERR_ARG, "", "invalid argument: pred is NULL");
	if (timeout >= 0)
		end = condition_now() + timeout;
	while (!(ok = pred(arg))) {
		if (timeout >= 0) {
			left = end - condition_now();
			if (left <= 0)
				break;
		}
		if (ps_condition_wait(c, left) < 0)
			return -1;
	}
	return ok ? 1 : 0;
}
