/*
 * The acquirers (lock.c) as condition.c uses them. A Lock, an RLock, a
 * Semaphore and a BoundedSemaphore are one mechanism, struct lock: units
 * that connections take and give back, a FIFO queue of parked acquirers,
 * and one holder record per connection holding units, which gives them
 * back when the connection closes. A Condition waits on one of them.
 *
 * Every call parked in a lock's queue carries a struct lock_want in its
 * w->arg: what it takes when the lock is handed to it, and how it is
 * answered then (an acquire answers its result; a condition's wait
 * answers true or false).
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>
#include <stdint.h>

struct call;
struct conn;
struct lock;
struct lock_holder;
struct object;
struct registry;
struct waiter;

struct lock_want;

/* Answers w, whose connection now holds the lock: token is the fencing
 * token of this acquisition, abandoned whether the previous holder died
 * holding it. Must end with wait_done (or wait_error). The lock module
 * frees want afterwards. */
typedef void (*lock_granted_fn)(struct waiter *w, struct lock_want *want, uint64_t token, bool abandoned);

struct lock_want {
	lock_granted_fn granted;
	int64_t level;                  /* RLock levels taken on grant (1 for an acquire) */
	bool notified;                  /* condition.c: answer true (notified) or false (timed out) */
	/* Made when the call parks, so that handing the lock over can never
	 * fail for want of memory; freed with the want when not used. */
	struct lock_holder *spare;
};

/* A parked call's want, with its spare holder. NULL on OOM. The caller
 * stores it in w->arg; the lock module frees it after a grant, the
 * caller's timeout and drop callbacks otherwise (lock_want_free). */
struct lock_want *lock_want_new(lock_granted_fn granted, int64_t level);
/* Frees want and its unused spare. lock_want_free(NULL) is a no-op. */
void lock_want_free(struct lock_want *want);

/* A free RLock of its own, for a Condition made without a lock. NULL on
 * OOM. Free with lock_free. */
struct lock *lock_new_rlock(void);
/* Frees a lock nobody holds or waits for (its holders and waiters keep
 * its object alive, so this is the only case). */
void lock_free(struct lock *lk);
/* The lock of a lock or rlock object; NULL for an object of another type. */
struct lock *lock_of(const struct object *obj);

/* The acquire and release methods, on any lock: what lock.acquire and
 * condition.acquire both do. The holder record takes a reference on
 * c->obj, the object called. */
int lock_acquire(struct call *c, struct lock *lk);
int lock_release(struct call *c, struct lock *lk);

/* For "describe": lk's state as a map: kind, free units, the last token,
 * pending abandoned marks, and its holders (who, how many, their token). */
void lock_describe(struct call *c, const struct lock *lk);

/* True when conn holds lk (a Lock or an RLock). */
bool lock_owned(const struct lock *lk, const struct conn *conn);
/* Releases every level conn holds on lk (it must hold it) and hands lk to
 * the next waiter. Returns the levels it held. */
int64_t lock_release_all(struct registry *reg, struct lock *lk, struct conn *conn);
/* Moves the parked call w (w->arg a lock_want) to the tail of lk's queue;
 * when lk is free it is handed over at once, and w may be answered and
 * freed before this returns. */
void lock_enqueue(struct lock *lk, struct waiter *w);

#endif
