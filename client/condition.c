/*
 * The Condition proxy (proto/PROTOCOL.md, "condition"). wait_for runs
 * here, in the caller, as Python's Condition.wait_for does: the daemon
 * cannot evaluate a predicate, so the client waits and re-checks.
 */
#include <time.h>

#include "internal.h"

struct ps_condition {
	struct ps_obj obj;
};

/* Starts the creation args: [lock's id], or [] for a lock of its own. */
static void condition_args(struct ps_req *a, ps_ctx *ctx, ps_lock *lock)
{
	ps_args_init(a, ctx, lock != NULL ? 1 : 0);
	if (lock != NULL)
		ps_req_uint(a, ps_lock_id(lock));
}

ps_condition *ps_condition_open(ps_ctx *ctx, const char *name, ps_lock *lock)
{
	struct ps_req a;

	condition_args(&a, ctx, lock);
	return ps_proxy_open(ctx, sizeof(ps_condition), "condition", name, &a);
}

ps_condition *ps_condition_new(ps_ctx *ctx, ps_lock *lock)
{
	struct ps_req a;

	condition_args(&a, ctx, lock);
	return ps_proxy_new(ctx, sizeof(ps_condition), "condition", &a);
}

void ps_condition_free(ps_condition *c)
{
	ps_proxy_free(c);
}

uint64_t ps_condition_id(const ps_condition *c)
{
	return c != NULL ? c->obj.id : 0;
}

int ps_condition_acquire(ps_condition *c, int blocking, double timeout, struct ps_acquired *info)
{
	return ps_lock_call_acquire(c, blocking, timeout, info);
}

int ps_condition_release(ps_condition *c)
{
	return ps_proxy_call(c, "condition.release");
}

int ps_condition_notify_all(ps_condition *c)
{
	return ps_proxy_call(c, "condition.notify_all");
}

int ps_condition_notify(ps_condition *c, int64_t n)
{
	struct ps_req r;

	if (ps_req_begin(&r, c) < 0)
		return -1;
	ps_req_int(&r, n);
	return ps_req_call(&r, "condition.notify", NULL);
}

int ps_condition_wait(ps_condition *c, double timeout)
{
	struct ps_reply rep;
	struct ps_req r;
	int notified;

	if (ps_req_begin(&r, c) < 0)
		return -1;
	ps_req_timeout(&r, timeout);
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
