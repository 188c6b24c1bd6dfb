/*
 * Lock, RLock, Semaphore and BoundedSemaphore: Python's threading
 * primitives as AcquirerProxy exposes them, made safe against holders that
 * die. All four are one mechanism (see lock.h): `value` units are free;
 * acquire takes one, release gives back; a Lock is a semaphore bounded at
 * one unit and an RLock adds an owner who may take it again.
 *
 * Who holds what is recorded per connection (struct lock_holder, hooked on
 * the connection), so a connection that closes, however it closes, gives
 * back exactly the units it took and did not give back, and the next
 * acquisitions are told that the units were abandoned. Every successful
 * acquisition that starts a new hold gets a fencing token, larger than any
 * before on this object.
 *
 * Parked acquirers are served strictly first come, first served: a free
 * unit goes to the longest waiter, never to a newcomer (no barging), so
 * nobody starves.
 */
#include <stdlib.h>
#include <sys/queue.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "lock.h"
#include "registry.h"
#include "stats.h"
#include "types.h"
#include "wait.h"

enum lock_kind { LOCK_PLAIN, LOCK_RLOCK, LOCK_SEMAPHORE, LOCK_BOUNDED };

/* The units one connection holds on one lock. */
struct lock_holder {
	struct conn_hook hook;  /* first: the hook callback finds the record */
	struct lock *lk;
	struct conn *conn;
	/* The object called to acquire, referenced while held: the object
	 * owning lk (a lock, a semaphore, or a condition wrapping it), so lk
	 * lives as long as someone holds it. */
	struct object *obj;
	int64_t count;          /* units held; an RLock's recursion level */
	uint64_t token;         /* the fencing token of the hold (RLock re-entries reuse it) */
	TAILQ_ENTRY(lock_holder) link;
};

TAILQ_HEAD(lock_holders, lock_holder);

struct lock {
	enum lock_kind kind;
	int64_t value;          /* free units; 0 or 1 for Lock and RLock */
	int64_t bound;          /* most units: 1 for Lock and RLock, the initial value of a BoundedSemaphore */
	uint64_t token;         /* the last fencing token handed out; 0 before the first */
	/* Acquisitions still to be told that their units were abandoned: the
	 * units a dead connection gave back (at most one for Lock and RLock). */
	uint64_t abandoned;
	struct waitq q;         /* parked acquirers, w->arg a struct lock_want */
	struct lock_holders holders;  /* oldest first */
};

static bool lock_counted(const struct lock *lk)
{
	return lk->kind == LOCK_SEMAPHORE || lk->kind == LOCK_BOUNDED;
}

/* ---- life ------------------------------------------------------------------ */

static struct lock *lock_new(enum lock_kind kind, int64_t value)
{
	struct lock *lk = calloc(1, sizeof *lk);

	if (lk == NULL)
		return NULL;
	lk->kind = kind;
	lk->value = value;
	lk->bound = value;
	waitq_init(&lk->q);
	TAILQ_INIT(&lk->holders);
	return lk;
}

struct lock *lock_new_rlock(void)
{
	return lock_new(LOCK_RLOCK, 1);
}

void lock_free(struct lock *lk)
{
	/* Holders and waiters each keep the object alive, so none is left. */
	free(lk);
}

static void lock_destroy(struct registry *reg, void *data)
{
	(void)reg;
	lock_free(data);
}

static void *lock_create_plain(struct call *c)
{
	struct lock *lk;

	if (call_no_more(c) < 0)
		return NULL;
	lk = lock_new(LOCK_PLAIN, 1);
	if (lk == NULL)
		call_error(c, PS_E_NOMEM, "out of memory creating a lock");
	return lk;
}

static void *lock_create_rlock(struct call *c)
{
	struct lock *lk;

	if (call_no_more(c) < 0)
		return NULL;
	lk = lock_new(LOCK_RLOCK, 1);
	if (lk == NULL)
		call_error(c, PS_E_NOMEM, "out of memory creating an rlock");
	return lk;
}

/* args: [value?=1], as Python's Semaphore(value=1). */
static void *lock_create_counted(struct call *c, enum lock_kind kind)
{
	struct lock *lk;
	int64_t value = 1;
	bool present;

	if (call_arg_opt_int(c, "value", &value, &present) < 0 || call_no_more(c) < 0)
		return NULL;
	if (value < 0) {
		call_error(c, PS_E_VALUE, "semaphore initial value must be >= 0");
		return NULL;
	}
	lk = lock_new(kind, value);
	if (lk == NULL)
		call_error(c, PS_E_NOMEM, "out of memory creating a semaphore");
	return lk;
}

static void *lock_create_semaphore(struct call *c)
{
	return lock_create_counted(c, LOCK_SEMAPHORE);
}

static void *lock_create_bounded(struct call *c)
{
	return lock_create_counted(c, LOCK_BOUNDED);
}

/* Lock and RLock: the levels held (0 when free); semaphores: free units. */
static size_t lock_size(const void *data)
{
	const struct lock *lk = data;
	const struct lock_holder *h = TAILQ_FIRST(&lk->holders);

	if (lock_counted(lk))
		return (size_t)lk->value;
	return h != NULL ? (size_t)h->count : 0;
}

struct lock *lock_of(const struct object *obj)
{
	if (obj->type == &lock_type || obj->type == &rlock_type)
		return obj->data;
	return NULL;
}

/* ---- holders ------------------------------------------------------------- */

static struct lock_holder *lock_find(const struct lock *lk, const struct conn *conn)
{
	struct lock_holder *h;

	TAILQ_FOREACH(h, &lk->holders, link)
		if (h->conn == conn)
			return h;
	return NULL;
}

bool lock_owned(const struct lock *lk, const struct conn *conn)
{
	const struct lock_holder *h = TAILQ_FIRST(&lk->holders);

	return !lock_counted(lk) && h != NULL && h->conn == conn;
}

static void lock_holder_gone_cb(struct conn_hook *hook, struct conn *conn);

/* Records h (fresh memory) as conn's hold on lk through obj. */
static void lock_holder_link(struct lock *lk, struct lock_holder *h, struct conn *conn, struct object *obj)
{
	h->hook.fn = lock_holder_gone_cb;
	h->lk = lk;
	h->conn = conn;
	h->obj = obj;
	h->count = 0;
	h->token = 0;
	TAILQ_INSERT_TAIL(&lk->holders, h, link);
	conn_hook(conn, &h->hook);
	registry_incref(&conn->d->reg, obj);
}

/* Forgets h; returns the object it referenced, for the caller to decref
 * once it no longer touches lk. */
static struct object *lock_holder_unlink(struct lock *lk, struct lock_holder *h, bool hooked)
{
	struct object *obj = h->obj;

	if (hooked)
		conn_unhook(h->conn, &h->hook);
	TAILQ_REMOVE(&lk->holders, h, link);
	free(h);
	return obj;
}

/* Takes level units (RLock levels) of a free lk for h's connection.
 * Returns the fencing token; *abandoned says whether the units came from
 * a dead holder. */
static uint64_t lock_take(struct lock *lk, struct lock_holder *h, int64_t level, bool *abandoned)
{
	*abandoned = lk->abandoned > 0;
	if (*abandoned)
		lk->abandoned--;
	lk->value -= lock_counted(lk) ? 1 : lk->value;
	h->count += level;
	h->token = ++lk->token;
	return h->token;
}

/* ---- handing over ------------------------------------------------------ */

struct lock_want *lock_want_new(lock_granted_fn granted, int64_t level)
{
	struct lock_want *want = calloc(1, sizeof *want);

	if (want == NULL)
		return NULL;
	want->spare = calloc(1, sizeof *want->spare);
	if (want->spare == NULL) {
		free(want);
		return NULL;
	}
	want->granted = granted;
	want->level = level;
	return want;
}

void lock_want_free(struct lock_want *want)
{
	if (want == NULL)
		return;
	free(want->spare);
	free(want);
}

/* Hands a unit of lk to the parked call w and answers it. */
static void lock_give(struct lock *lk, struct waiter *w)
{
	struct lock_want *want = w->arg;
	struct lock_holder *h = lock_find(lk, w->conn);
	uint64_t token;
	bool abandoned;

	if (h == NULL) {
		h = want->spare;
		want->spare = NULL;
		lock_holder_link(lk, h, w->conn, w->obj);
	}
	token = lock_take(lk, h, want->level, &abandoned);
	/* The new holder references w->obj, so answering w (which drops the
	 * waiter's reference) cannot destroy lk. */
	want->granted(w, want, token, abandoned);
	lock_want_free(want);
}

/* Gives free units to the longest-waiting live callers. A caller whose
 * client is gone (its EOF not yet read) is passed over: it would only give
 * the units back at once, marked abandoned. It stays queued until its
 * connection's close drops it. */
static void lock_grant(struct lock *lk)
{
	struct waiter *w, *next;

	for (w = waitq_first(&lk->q); w != NULL && lk->value > 0; w = next) {
		next = TAILQ_NEXT(w, qlink);
		if (!conn_gone(w->conn))
			lock_give(lk, w);
	}
}

void lock_enqueue(struct lock *lk, struct waiter *w)
{
	wait_move(w, &lk->q);
	lock_grant(lk);
}

/* A connection closed holding units: they come back, marked abandoned,
 * and go to the next waiters. */
static void lock_holder_gone_cb(struct conn_hook *hook, struct conn *conn)
{
	struct lock_holder *h = (struct lock_holder *)hook;
	struct lock *lk = h->lk;
	struct object *obj;

	if (lock_counted(lk)) {
		lk->value += h->count;
		lk->abandoned += (uint64_t)h->count;
	} else {
		lk->value = 1;
		lk->abandoned = 1;
	}
	/* conn_detach has already taken the hook off its list. */
	obj = lock_holder_unlink(lk, h, false);
	lock_grant(lk);
	registry_decref(&conn->d->reg, obj);
}

int64_t lock_release_all(struct registry *reg, struct lock *lk, struct conn *conn)
{
	struct lock_holder *h = lock_find(lk, conn);
	int64_t level = h->count;
	struct object *obj;

	obj = lock_holder_unlink(lk, h, true);
	lk->value = 1;
	lock_grant(lk);
	registry_decref(reg, obj);
	return level;
}

/* ---- acquire --------------------------------------------------------------- */

/* The result of an acquire: {"acquired", "token", "abandoned"}; token 0
 * when not acquired (tokens start at 1). */
static void lock_pack_result(msgpack_packer *pk, bool acquired, uint64_t token, bool abandoned)
{
	msgpack_pack_map(pk, 3);
	ps_mp_pack_cstr(pk, "acquired");
	if (acquired)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	ps_mp_pack_cstr(pk, "token");
	msgpack_pack_uint64(pk, token);
	ps_mp_pack_cstr(pk, "abandoned");
	if (abandoned)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void lock_acquired_cb(struct waiter *w, struct lock_want *want, uint64_t token, bool abandoned)
{
	msgpack_packer pk;

	(void)want;
	lock_pack_result(wait_result(w, &pk), true, token, abandoned);
	wait_done(w);
}

static void lock_timeout_cb(struct waiter *w)
{
	struct lock_want *want = w->arg;
	msgpack_packer pk;

	lock_pack_result(wait_result(w, &pk), false, 0, false);
	wait_done(w);
	lock_want_free(want);
}

static void lock_drop_cb(struct waiter *w)
{
	lock_want_free(w->arg);
}

static const struct wait_ops lock_wait_ops = { lock_timeout_cb, lock_drop_cb };

/* blocking and timeout as Python's acquire takes them; *ms is 0 when the
 * call must not wait. */
static int lock_arg_wait(struct call *c, int64_t *ms)
{
	bool blocking = true;

	if (call_arg_opt_bool(c, "blocking", &blocking) < 0 || call_arg_timeout(c, "timeout", ms) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	if (!blocking && *ms >= 0)
		return call_error(c, PS_E_VALUE, "can't specify a timeout for a non-blocking call");
	if (!blocking)
		*ms = 0;
	return 0;
}

/* The owner of an RLock takes it once more, with the token of its hold. */
static int lock_reenter(struct call *c, struct lock_holder *h)
{
	if (h->count == INT64_MAX)
		return call_error(c, PS_E_OVERFLOW, "rlock recursion level out of range");
	h->count++;
	lock_pack_result(&c->pk, true, h->token, false);
	return 0;
}

/* A free unit, taken now. Free units mean no live caller is waiting:
 * every change that frees one hands it over first (lock_grant). */
static int lock_take_now(struct call *c, struct lock *lk)
{
	struct lock_holder *h = lock_find(lk, c->conn);
	uint64_t token;
	bool abandoned;

	if (h == NULL) {
		h = calloc(1, sizeof *h);
		if (h == NULL)
			return call_error(c, PS_E_NOMEM, "out of memory acquiring a lock");
		lock_holder_link(lk, h, c->conn, c->obj);
	}
	token = lock_take(lk, h, 1, &abandoned);
	lock_pack_result(&c->pk, true, token, abandoned);
	return 0;
}

int lock_acquire(struct call *c, struct lock *lk)
{
	struct lock_holder *owner = TAILQ_FIRST(&lk->holders);
	struct lock_want *want;
	struct waiter *w;
	int64_t ms;

	if (lock_arg_wait(c, &ms) < 0)
		return -1;
	if (lk->kind == LOCK_RLOCK && owner != NULL && owner->conn == c->conn)
		return lock_reenter(c, owner);
	if (lk->value > 0)
		return lock_take_now(c, lk);
	if (ms == 0) {
		lock_pack_result(&c->pk, false, 0, false);
		return 0;
	}
	want = lock_want_new(lock_acquired_cb, 1);
	if (want == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory parking an acquire");
	w = wait_park(c, &lk->q, ms, &lock_wait_ops);
	if (w == NULL) {
		lock_want_free(want);
		return -1;
	}
	w->arg = want;
	return CALL_PARKED;
}

/* ---- release ---------------------------------------------------------------- */

/* Which holder's units a release gives back: the caller's own, else (a
 * Lock or a semaphore may be released by anyone, as in Python) those of
 * the connection that has held units longest. Counting the release
 * against a holder keeps a later close of that holder from giving the
 * same units back twice. */
static struct lock_holder *lock_debtor(const struct lock *lk, const struct conn *conn)
{
	struct lock_holder *h = lock_find(lk, conn);

	return h != NULL ? h : TAILQ_FIRST(&lk->holders);
}

/* Counts n released units against holders; a holder left with none is
 * forgotten. The call's own reference keeps lk alive through the decrefs. */
static void lock_settle(struct call *c, struct lock *lk, int64_t n)
{
	struct lock_holder *h;

	while (n > 0 && (h = lock_debtor(lk, c->conn)) != NULL) {
		int64_t k = h->count < n ? h->count : n;

		h->count -= k;
		n -= k;
		if (h->count == 0)
			registry_decref(c->reg, lock_holder_unlink(lk, h, true));
	}
}

/* Checks that n more free units are allowed, as Python would. */
static int lock_check_release(struct call *c, const struct lock *lk, int64_t n)
{
	const struct lock_holder *owner = TAILQ_FIRST(&lk->holders);

	switch (lk->kind) {
	case LOCK_PLAIN:
		if (lk->value > 0)
			return call_error(c, PS_E_RUNTIME, "release unlocked lock");
		return 0;
	case LOCK_RLOCK:
		if (owner == NULL || owner->conn != c->conn)
			return call_error(c, PS_E_RUNTIME, "cannot release un-acquired lock");
		return 0;
	case LOCK_BOUNDED:
		if (lk->value > lk->bound - n)
			return call_error(c, PS_E_VALUE, "Semaphore released too many times");
		return 0;
	case LOCK_SEMAPHORE:
		if (lk->value > INT64_MAX - n)
			return call_error(c, PS_E_OVERFLOW, "semaphore value out of range");
		return 0;
	}
	return 0;
}

int lock_release(struct call *c, struct lock *lk)
{
	int64_t n = 1;
	bool present;

	/* Python's Semaphore.release(n=1); Lock and RLock take no argument. */
	if (lock_counted(lk) && call_arg_opt_int(c, "n", &n, &present) < 0)
		return -1;
	if (call_no_more(c) < 0)
		return -1;
	if (n < 1)
		return call_error(c, PS_E_VALUE, "n must be one or more");
	if (lock_check_release(c, lk, n) < 0)
		return -1;
	if (lk->kind == LOCK_RLOCK) {
		struct lock_holder *owner = TAILQ_FIRST(&lk->holders);
		if (--owner->count > 0)
			goto done;
		lk->value = 1;
		registry_decref(c->reg, lock_holder_unlink(lk, owner, true));
	} else {
		lock_settle(c, lk, n);
		lk->value += n;
	}
	lock_grant(lk);
done:
	call_result_nil(c);
	return 0;
}

/* ---- describe ------------------------------------------------------------------ */

void lock_describe(struct call *c, const struct lock *lk)
{
	static const char *const kinds[] = { "lock", "rlock", "semaphore", "boundedsemaphore" };
	const struct lock_holder *h;
	uint32_t n = 0;

	TAILQ_FOREACH(h, &lk->holders, link)
		n++;
	msgpack_pack_map(&c->pk, 5);
	ps_mp_pack_cstr(&c->pk, "kind");
	ps_mp_pack_cstr(&c->pk, kinds[lk->kind]);
	ps_mp_pack_cstr(&c->pk, "free");
	msgpack_pack_int64(&c->pk, lk->value);
	ps_mp_pack_cstr(&c->pk, "token");
	msgpack_pack_uint64(&c->pk, lk->token);
	ps_mp_pack_cstr(&c->pk, "abandoned");
	msgpack_pack_uint64(&c->pk, lk->abandoned);
	ps_mp_pack_cstr(&c->pk, "holders");
	msgpack_pack_array(&c->pk, n);
	TAILQ_FOREACH(h, &lk->holders, link) {
		msgpack_pack_map(&c->pk, 3);
		ps_mp_pack_cstr(&c->pk, "by");
		stats_pack_conn(&c->pk, h->conn);
		ps_mp_pack_cstr(&c->pk, "count");
		msgpack_pack_int64(&c->pk, h->count);
		ps_mp_pack_cstr(&c->pk, "token");
		msgpack_pack_uint64(&c->pk, h->token);
	}
}

static void lock_m_describe(struct call *c, void *data)
{
	lock_describe(c, data);
}

/* ---- the types ---------------------------------------------------------------- */

static int lock_m_acquire(struct call *c, void *data)
{
	return lock_acquire(c, data);
}

static int lock_m_release(struct call *c, void *data)
{
	return lock_release(c, data);
}

/* Python's Lock.locked(). */
static int lock_m_locked(struct call *c, void *data)
{
	struct lock *lk = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_bool(c, lk->value == 0);
	return 0;
}

static const struct method lock_methods[] = {
	{ "acquire", lock_m_acquire },
	{ "release", lock_m_release },
	{ "locked", lock_m_locked },
	{ NULL, NULL },
};

static const struct method lock_semaphore_methods[] = {
	{ "acquire", lock_m_acquire },
	{ "release", lock_m_release },
	{ NULL, NULL },
};

const struct type lock_type = {
	.name = "lock",
	.create = lock_create_plain,
	.destroy = lock_destroy,
	.size = lock_size,
	.describe = lock_m_describe,
	.methods = lock_methods,
};

const struct type rlock_type = {
	.name = "rlock",
	.create = lock_create_rlock,
	.destroy = lock_destroy,
	.size = lock_size,
	.describe = lock_m_describe,
	.methods = lock_methods,
};

const struct type semaphore_type = {
	.name = "semaphore",
	.create = lock_create_semaphore,
	.destroy = lock_destroy,
	.size = lock_size,
	.describe = lock_m_describe,
	.methods = lock_semaphore_methods,
};

const struct type boundedsemaphore_type = {
	.name = "boundedsemaphore",
	.create = lock_create_bounded,
	.destroy = lock_destroy,
	.size = lock_size,
	.describe = lock_m_describe,
	.methods = lock_semaphore_methods,
};
