/*
 * Slowing down authkey guessing. After THROTTLE_FREE_FAILURES failed
 * handshakes from one source (an IP address for TCP, a uid for Unix
 * sockets), that source's client hellos are checked one at a time, each
 * a growing delay after the one before (THROTTLE_BASE_MS doubling up to
 * THROTTLE_MAX_MS), however many connections it opens in parallel. The
 * delay is served by a timer: the loop never blocks and other clients
 * are not slowed. A source that stays quiet for THROTTLE_FORGET_MS is
 * forgotten; a successful handshake forgets it at once.
 */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <stdint.h>

#define THROTTLE_FREE_FAILURES 3
#define THROTTLE_BASE_MS 250
#define THROTTLE_MAX_MS 4000
#define THROTTLE_FORGET_MS 60000
/* Sources remembered at once; the least recently failing one is
 * forgotten first when a new one needs room. */
#define THROTTLE_SLOTS 64
#define THROTTLE_SOURCE_MAX 48

struct throttle_slot {
	char source[THROTTLE_SOURCE_MAX];       /* "" when free */
	uint32_t failures;
	int64_t last_ms;        /* last failure */
	int64_t next_ms;        /* earliest time the next hello may be checked */
};

struct throttle {
	struct throttle_slot slots[THROTTLE_SLOTS];
};

/* The source a peer name (listen.c's "host:port", "[v6]:port" or
 * "unix pid P uid U") counts under: its address, or its uid. */
void throttle_source(const char *peer, char *out, size_t len);
/* Milliseconds to wait before checking a client hello from source, now
 * (CLOCK_MONOTONIC ms); reserves that turn, so parallel hellos of one
 * source are spread out. 0 for a source in good standing; -1, reserving
 * nothing, when its turn is more than max_wait ms away (the hello is
 * then refused unchecked). */
int64_t throttle_delay(struct throttle *t, const char *source, int64_t now, int64_t max_wait);
/* Records the outcome of a checked client hello. */
void throttle_failed(struct throttle *t, const char *source, int64_t now);
void throttle_passed(struct throttle *t, const char *source);
/* CLOCK_MONOTONIC milliseconds. */
int64_t throttle_now_ms(void);

#endif
