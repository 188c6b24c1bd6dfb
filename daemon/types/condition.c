/*
 * The shared Condition: Python's threading.Condition as ConditionProxy
 * exposes it. It waits on a lock: a Lock or RLock object named when it is
 * created (referenced, so it lives as long as the condition), or else an
 * RLock of its own, as Python makes one.
 *
 * A wait releases the lock fully (every RLock level), parks on the
 * condition's queue, and when notified or timed out moves to the tail of
 * the lock's queue (lock_enqueue): it is answered only once it holds the
 * lock again, at the level it had, behind whoever was already waiting for
 * the lock. Nothing blocks the daemon meanwhile.
 */
#include <stdlib.h>

#include "call.h"
#include "conn.h"
#include "lock.h"
#include "registry.h"
#include "types.h"
#include "wait.h"

struct condition {
	struct lock *lk;
	struct object *lock_obj;        /* the lock object it waits on; NULL when lk is its own */
	struct waitq q;                 /* waiting for a notify; w->arg a struct lock_want */
};

/* ---- life ---------------------------------------------------------------- */

static void condition_destroy(struct registry *reg, void *data)
{
	struct condition *cd = data;

	/* Waiters keep the object alive: the queue is empty. */
	if (cd->lock_obj != NULL)
		registry_decref(reg, cd->lock_obj);
	else
		lock_free(cd->lk);
	free(cd);
}

/* The optional lock argument: an object id, or a reference to it. Sets
 * *obj NULL when absent or nil. */
static int condition_arg_lock(struct call *c, struct object **obj)
{
	const uint8_t *raw;
	struct ps_mp_tok t;
	uint64_t id = 0;
	size_t len;

	*obj = NULL;
	if (!call_has_arg(c))
		return 0;
	if (call_arg_raw(c, "lock", &raw, &len) < 0)
		return -1;
	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "lock is not a valid value");
	if (t.type == PS_MP_NIL)
		return 0;
	if (t.type == PS_MP_UINT) {
		id = t.v.u;
	} else if (t.type == PS_MP_EXT && t.ext_type == PS_EXT_REF && t.v.n == 8) {
		for (int i = 0; i < 8; i++)
			id = (id << 8) | t.data[i];
	} else {
		return call_error(c, PS_E_TYPE, "lock must be an object id or a reference, not %s",
				  ps_mp_type_name(&t));
	}
	*obj = registry_get(c->reg, id);
	if (*obj == NULL)
		return call_error(c, PS_E_NOSUCHOBJECT, "no object with id %llu", (unsigned long long)id);
	if (lock_of(*obj) == NULL)
		return call_error(c, PS_E_TYPE, "a condition's lock must be a lock or an rlock, not a %s",
				  (*obj)->type->name);
	return 0;
}

/* args: [lock?]. */
static void *condition_create(struct call *c)
{
	struct condition *cd;
	struct object *lock_obj;

	if (condition_arg_lock(c, &lock_obj) < 0 || call_no_more(c) < 0)
		return NULL;
	cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		goto oom;
	waitq_init(&cd->q);
	if (lock_obj != NULL) {
		cd->lk = lock_of(lock_obj);
		cd->lock_obj = lock_obj;
		registry_incref(c->reg, lock_obj);
		return cd;
	}
	cd->lk = lock_new_rlock();
	if (cd->lk != NULL)
		return cd;
	free(cd);
oom:
	call_error(c, PS_E_NOMEM, "out of memory creating a condition");
	return NULL;
}

/* Calls waiting for a notify. */
static size_t condition_size(const void *data)
{
	const struct condition *cd = data;

	return cd->q.n;
}

/* ---- waiting ---------------------------------------------------------------- */

/* The lock is the caller's again: wait answers whether it was notified. */
static void condition_granted_cb(struct waiter *w, struct lock_want *want, uint64_t token, bool abandoned)
{
	msgpack_packer pk;
	msgpack_packer *p = wait_result(w, &pk);

	(void)token;
	(void)abandoned;
	if (want->notified)
		msgpack_pack_true(p);
	else
		msgpack_pack_false(p);
	wait_done(w);
}

/* Timed out: take the lock back first, as Python's wait does, then
 * answer false. */
static void condition_timeout_cb(struct waiter *w)
{
	struct condition *cd = w->obj->data;

	((struct lock_want *)w->arg)->notified = false;
	lock_enqueue(cd->lk, w);
}

static void condition_drop_cb(struct waiter *w)
{
	lock_want_free(w->arg);
}

static const struct wait_ops condition_wait_ops = { condition_timeout_cb, condition_drop_cb };

/* wait [id, timeout?] -> bool */
static int condition_wait(struct call *c, void *data)
{
	struct condition *cd = data;
	struct lock_want *want;
	struct waiter *w;
	int64_t ms;

	if (call_arg_timeout(c, "timeout", &ms) < 0 || call_no_more(c) < 0)
		return -1;
	if (!lock_owned(cd->lk, c->conn))
		return call_error(c, PS_E_RUNTIME, "cannot wait on un-acquired lock");
	/* Releasing and taking the lock straight back would change nothing
	 * the caller can see; timeout 0 never parks. */
	if (ms == 0) {
		call_result_bool(c, false);
		return 0;
	}
	want = lock_want_new(condition_granted_cb, 0);
	if (want == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory parking a wait");
	w = wait_park(c, &cd->q, ms, &condition_wait_ops);
	if (w == NULL) {
		lock_want_free(want);
		return -1;
	}
	w->arg = want;
	/* Parked first, released last: nothing can fail after the release. */
	want->level = lock_release_all(c->reg, cd->lk, c->conn);
	return CALL_PARKED;
}

/* Sends up to n live waiters to queue for the lock, oldest first. The
 * caller holds the lock, so none of them is answered here. */
static void condition_wake(struct condition *cd, int64_t n)
{
	struct waiter *w, *next;

	for (w = waitq_first(&cd->q); w != NULL && n > 0; w = next) {
		next = TAILQ_NEXT(w, qlink);
		/* A notify spent on a client that is gone would be lost. */
		if (conn_gone(w->conn))
			continue;
		((struct lock_want *)w->arg)->notified = true;
		lock_enqueue(cd->lk, w);
		n--;
	}
}

static int condition_check_owner(struct call *c, struct condition *cd)
{
	if (!lock_owned(cd->lk, c->conn))
		return call_error(c, PS_E_RUNTIME, "cannot notify on un-acquired lock");
	return 0;
}

/* notify [id, n?=1] -> nil; n <= 0 wakes nobody, as in Python. */
static int condition_notify(struct call *c, void *data)
{
	struct condition *cd = data;
	int64_t n = 1;
	bool present;

	if (call_arg_opt_int(c, "n", &n, &present) < 0 || call_no_more(c) < 0 ||
	    condition_check_owner(c, cd) < 0)
		return -1;
	condition_wake(cd, n);
	call_result_nil(c);
	return 0;
}

/* notify_all [id] -> nil */
static int condition_notify_all(struct call *c, void *data)
{
	struct condition *cd = data;

	if (call_no_more(c) < 0 || condition_check_owner(c, cd) < 0)
		return -1;
	condition_wake(cd, INT64_MAX);
	call_result_nil(c);
	return 0;
}

/* ---- the lock ----------------------------------------------------------------- */

static int condition_acquire(struct call *c, void *data)
{
	struct condition *cd = data;

	return lock_acquire(c, cd->lk);
}

static int condition_release(struct call *c, void *data)
{
	struct condition *cd = data;

	return lock_release(c, cd->lk);
}

/* For "describe": its lock's state, and which lock object it is (nil:
 * its own). */
static void condition_describe(struct call *c, void *data)
{
	struct condition *cd = data;

	msgpack_pack_map(&c->pk, 2);
	ps_mp_pack_cstr(&c->pk, "lock_id");
	if (cd->lock_obj != NULL)
		msgpack_pack_uint64(&c->pk, cd->lock_obj->id);
	else
		msgpack_pack_nil(&c->pk);
	ps_mp_pack_cstr(&c->pk, "lock");
	lock_describe(c, cd->lk);
}

static const struct method condition_methods[] = {
	{ "acquire", condition_acquire },
	{ "release", condition_release },
	{ "wait", condition_wait },
	{ "notify", condition_notify },
	{ "notify_all", condition_notify_all },
	{ NULL, NULL },
};

const struct type condition_type = {
	.name = "condition",
	.create = condition_create,
	.destroy = condition_destroy,
	.size = condition_size,
	.describe = condition_describe,
	.methods = condition_methods,
};
