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

struct daemon;
struct event;
struct object;

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
	struct ps_buf in;
	struct ps_buf out;
	struct ps_mp_scan scan;
	uint8_t shello[PS_HS_SERVER_HELLO];
	struct odict handles;    /* 8-byte id -> count held (as uintptr_t) */
	char peer[64];
	TAILQ_ENTRY(conn) entry;
};

/* Takes over an accepted socket: sends the server hello (or a refusal when
 * the connection limit is reached). */
void conn_accept(struct daemon *d, int fd, const char *peer);
/* Closes and frees a connection, releasing every handle it held. */
void conn_free(struct conn *c);

/* Handle bookkeeping for requests: take one more handle on obj for this
 * connection (0, or -1 on OOM with nothing taken); release one (-1 when
 * the connection holds none). */
int conn_hold(struct conn *c, struct object *obj);
int conn_release(struct conn *c, struct object *obj);

#endif
