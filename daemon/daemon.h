/*
 * The daemon's state: one struct passed everywhere, owned by main.c.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "ps_buf.h"
#include "registry.h"
#include "throttle.h"

struct event;
struct event_base;
struct conn;
struct listener;

struct config {
	size_t max_message;     /* largest request accepted, and reply sent */
	size_t max_conns;       /* simultaneous connections */
	int handshake_ms;       /* time allowed to authenticate */
	size_t max_backlog;     /* unsent reply bytes before reading pauses */
	unsigned socket_mode;   /* of the Unix sockets the daemon makes */
	/* A connection whose unsent replies stay over max_backlog for
	 * backlog_ms, or ever pass DAEMON_BACKLOG_HARD(cfg), is cut off. */
	int backlog_ms;
	size_t max_items;       /* items one container may hold; 0: no limit */
	int tcp_encryption;     /* enum ps_enc_mode (PROTOCOL.md 2.1) */
	int unix_encryption;
	int keepalive[3];       /* TCP keepalive: idle s, interval s, probes */
};

/* Unsent reply bytes past which a connection is cut off at once: room
 * for the parked calls answered after reading paused. */
#define DAEMON_BACKLOG_HARD(cfg) (2 * (cfg)->max_backlog + (cfg)->max_message)


/* Seconds the requests-per-second rate of "info" spans (stats.c). */
#define STATS_WINDOW 10

struct stats {
	uint64_t conns_total;
	uint64_t requests;
	uint64_t auth_failures;
	uint64_t conns_refused; /* turned away at the connection limit */
	uint64_t bytes_in;      /* read from clients, handshakes included */
	uint64_t bytes_out;     /* written to clients */
	int64_t started_ms;     /* CLOCK_MONOTONIC milliseconds at start-up */
	struct event *tick;     /* samples requests once a second */
	uint64_t samples[STATS_WINDOW + 1];     /* requests at recent ticks, a ring */
	unsigned nsamples;      /* valid entries in samples */
	unsigned next;          /* where the next sample goes */
};

struct daemon {
	struct event_base *base;
	struct config cfg;
	struct registry reg;
	uint8_t *key;           /* the authkey */
	size_t keylen;
	TAILQ_HEAD(, conn) conns;
	size_t nconns;
	size_t nsealed;         /* of them, encrypted sessions */
	size_t trim_mark;       /* connections when memory was last given back (conn.c) */
	struct ps_buf rbuf;     /* read space lent to connections with no partial input (conn.c) */
	uint64_t next_conn_id;
	struct listener *listeners;
	struct event *accept_pause;     /* re-enables accepting after EMFILE (listen.c) */
	int spare_fd;           /* kept open to refuse clients when out of descriptors */
	bool has_spare;         /* spare_fd is open */
	struct throttle throttle;       /* sources failing authentication */
	struct stats stats;
};

#endif
