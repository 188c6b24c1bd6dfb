/*
 * The daemon's state: one struct passed everywhere, owned by main.c.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "registry.h"

struct event_base;
struct conn;
struct listener;

struct config {
	size_t max_message;     /* largest request accepted, and reply sent */
	size_t max_conns;       /* simultaneous connections */
	int handshake_ms;       /* time allowed to authenticate */
	size_t max_backlog;     /* unsent reply bytes before reading pauses */
};

struct stats {
	uint64_t conns_total;
	uint64_t requests;
	uint64_t auth_failures;
};

struct daemon {
	struct event_base *base;
	struct config cfg;
	struct registry reg;
	uint8_t *key;           /* the authkey */
	size_t keylen;
	TAILQ_HEAD(, conn) conns;
	size_t nconns;
	uint64_t next_conn_id;
	struct listener *listeners;
	struct stats stats;
};

#endif
