/*
 * What the fuzz harnesses share: an in-process daemon (a struct daemon
 * with its event base, registry and key, as main.c sets it up, without
 * listeners), checks on what the daemon sends back, and the invariants
 * every input must leave true. Test-only code.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "ps_buf.h"

#define FUZZ_KEY "fuzz-authkey"
/* Small enough for inputs to reach it: replies over it become TooLarge. */
#define FUZZ_MAX_MESSAGE 4096
#define FUZZ_MAX_ITEMS 64
#define FUZZ_MAX_MEMORY (256 * 1024)

#define FUZZ_CHECK(cond) do { if (!(cond)) { fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, \
			__FILE__, __LINE__); abort(); } } while (0)

/* Sets up d for one input: registry, key, limits; the event base is made
 * once and shared by every input. */
void fuzz_daemon_init(struct daemon *d);
/* Frees every connection still open, then the registry, checking that the
 * accounting of stored bytes comes back to zero and nothing is left. */
void fuzz_daemon_free(struct daemon *d);
/* Runs the loop until nothing is ready (timers due, flushes scheduled). */
void fuzz_daemon_run(struct daemon *d);

/* Called for each message the daemon sent: kind is PS_MSG_RESPONSE or
 * PS_MSG_NOTIFY; msgid is meaningful for responses. */
typedef void (*fuzz_reply_fn)(void *arg, int kind, uint32_t msgid, bool error);

/* Splits p[0..n) into MessagePack messages and checks that each is a
 * well-formed response ([1, msgid, nil|[code, text], result], with a
 * known code and nil result on error) or error notification. Returns
 * the bytes consumed (a trailing incomplete message is left). */
size_t fuzz_check_replies(const uint8_t *p, size_t n, fuzz_reply_fn fn, void *arg);

#endif
