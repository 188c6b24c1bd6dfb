/*
 * Client connections: the handshake, reading and splitting requests,
 * answering them in the same callback that read them, and releasing what
 * the client held when it goes, however it goes.
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "odict.h"
#include "ps_buf.h"
#include "ps_hs.h"
#include "ps_mp.h"
#include "ps_seal.h"
#include "wait.h"

struct daemon;
struct event;
struct object;

/* Something a type must undo when a connection closes (a lock it holds,
 * a barrier party it is). The type embeds the hook in its own record. */
struct conn_hook {
	void (*fn)(struct conn_hook *h, struct conn *c);
	TAILQ_ENTRY(conn_hook) link;
};
TAILQ_HEAD(conn_hook_list, conn_hook);

enum conn_state {
	CONN_HANDSHAKE,         /* server hello sent, waiting for the client's */
	CONN_READY,             /* authenticated: requests flow */
	CONN_DRAINING           /* fatal error sent: discarding input until close */
};

struct conn {
	struct daemon *d;
	uint64_t id;
	int fd;
	enum conn_state state;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_timer;  /* handshake deadline, then drain deadline */
	bool read_paused;        /* output backlog over the limit */
	bool hello_held;         /* client hello waits for its turn (throttle.h) */
	size_t charged;          /* buffer bytes counted in the memory budget */
	struct ps_buf in;        /* may be the daemon's rbuf, lent for one read */
	bool in_lent;            /* in is d->rbuf (conn_read_cb) */
	struct ps_buf out;
	struct ps_mp_scan scan;
	uint8_t shello[PS_HS_SERVER_HELLO];
	/* An encrypted session (PROTOCOL.md 2.2): bytes read go to cin and are
	 * opened into in; replies built in out are sealed into cout, which is
	 * what gets sent. */
	bool sealed;
	struct ps_seal rx, tx;
	struct ps_buf cin, cout;
	struct odict handles;    /* 8-byte id -> count held (as uintptr_t) */
	struct waiter_list waiters;  /* this connection's parked calls */
	struct conn_hook_list hooks; /* run when the connection closes */
	size_t reply_mark;       /* start of the reply being built in out */
	struct ps_buf reply;     /* a request's reply while it is built (dispatch.c) */
	bool flush_scheduled;
	char peer[64];
	TAILQ_ENTRY(conn) entry;
};

/* Takes over an accepted socket: sends the server hello (or a refusal when
 * the connection limit is reached). enc (enum ps_enc_mode: ON, OPTIONAL or
 * OFF) says whether the session may or must be encrypted. */
void conn_accept(struct daemon *d, int fd, const char *peer, int enc);
/* Answers the connection's parked calls with a Shutdown error, sends what
 * it can without blocking, and frees it. */
void conn_shutdown(struct conn *c);
/* Closes and frees a connection, releasing every handle it held. */
void conn_free(struct conn *c);

/* Registers h to run when c closes; conn_unhook cancels it. */
void conn_hook(struct conn *c, struct conn_hook *h);
void conn_unhook(struct conn *c, struct conn_hook *h);
/* Sends c's pending output on a later turn of the loop (replies to parked
 * calls are written outside c's own callbacks). */
void conn_schedule_flush(struct conn *c);
/* True when c can no longer take an answer: it is not serving requests, or
 * its peer has hung up and the close is only waiting for the loop to read
 * the EOF. A type handing something over to a parked call (a queue item)
 * checks this first, so nothing is given to a client that is gone. */
bool conn_gone(const struct conn *c);

/* Handle bookkeeping for requests: take one more handle on obj for this
 * connection (0, or -1 on OOM with nothing taken); release one (-1 when
 * the connection holds none). */
int conn_hold(struct conn *c, struct object *obj);
int conn_release(struct conn *c, struct object *obj);

#endif
