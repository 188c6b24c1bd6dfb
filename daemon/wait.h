/*
 * Parked requests. A blocking call (queue get, lock acquire, event wait...)
 * that cannot be satisfied now is parked on a wait queue of its object
 * instead of blocking the loop; it is answered later by whoever satisfies
 * it, by its timer, or dropped unanswered when its connection closes. The
 * waiter keeps a reference on its object, so an object never dies with
 * waiters on it.
 */
#ifndef WAIT_H
#define WAIT_H

#include <stdint.h>
#include <sys/queue.h>

#include <msgpack.h>

#include "ps_proto.h"

struct call;
struct conn;
struct event;
struct object;
struct waiter;

TAILQ_HEAD(waiter_list, waiter);

/* A first-come, first-served queue of waiters, kept in a type's state. */
struct waitq {
	struct waiter_list head;
	size_t n;
};

struct wait_ops {
	/* The waiter's timeout passed: answer it (wait_reply_*). */
	void (*timeout)(struct waiter *w);
	/* The waiter goes unanswered (its connection closed or the daemon is
	 * stopping): undo what parking it did, e.g. free w->arg. May be NULL. */
	void (*drop)(struct waiter *w);
};

struct waiter {
	struct conn *conn;
	uint32_t msgid;
	struct object *obj;     /* referenced while parked */
	struct waitq *q;
	struct event *timer;    /* NULL when waiting forever */
	int64_t deadline_us;    /* CLOCK_MONOTONIC time the timer stands for */
	const struct wait_ops *ops;
	void *arg;              /* the type's own data (e.g. an item to put) */
	int64_t n;              /* the type's own number (e.g. units wanted) */
	TAILQ_ENTRY(waiter) qlink;
	TAILQ_ENTRY(waiter) clink;
};

/* Returned by a method that parked its call: no reply is written now. */
#define CALL_PARKED 1

void waitq_init(struct waitq *q);
/* The longest-waiting waiter, or NULL. */
struct waiter *waitq_first(const struct waitq *q);

/* Parks call c on q for at most timeout_ms (< 0: forever). Returns the
 * waiter (for w->arg / w->n), or NULL after call_error (OOM). The method
 * then returns CALL_PARKED. */
struct waiter *wait_park(struct call *c, struct waitq *q, int64_t timeout_ms, const struct wait_ops *ops);

/* Moves a parked call to the tail of another queue (a notified condition
 * waiter going to queue for its lock) and stops its timer: from then on it
 * waits until it is answered or dropped. */
void wait_move(struct waiter *w, struct waitq *q);

/* Starts the reply to a parked call: returns a packer positioned for the
 * result value. Finish with wait_done. */
msgpack_packer *wait_result(struct waiter *w, msgpack_packer *pk);
/* Unparks and frees the waiter and sends its connection what was written.
 * The waiter's object may be destroyed here: touch nothing after it. */
void wait_done(struct waiter *w);
/* Answers with an error and frees the waiter (like wait_done). */
void wait_error(struct waiter *w, enum ps_code code, const char *msg);

/* Drops every waiter of a connection unanswered (it is closing). */
void wait_drop_conn(struct waiter_list *list);

#endif
