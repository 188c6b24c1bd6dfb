/*
 * A private procshared for one test: a temporary directory holding a
 * random authkey (mode 0600) and the socket, the daemon started from
 * $PS_DAEMON (default build/procshared) with --ready-fd, and a clean stop
 * whose exit status decides whether the daemon behaved (under the
 * sanitizer build a leak or undefined behaviour in the daemon makes it
 * exit non-zero). Test-only code.
 */
#ifndef TDAEMON_H
#define TDAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "procshare.h"

#define TDAEMON_KEYLEN 32
#define TDAEMON_START_MS 10000  /* to become ready */
#define TDAEMON_STOP_MS 5000    /* to exit after SIGTERM */
#define TDAEMON_CALL_MS 20000   /* timeout of contexts made by tdaemon_connect */

struct tdaemon {
	pid_t pid;                      /* 0 when not running */
	char dir[64];                   /* the temporary directory */
	char sock[128];                 /* DIR/s.sock */
	char addr[160];                 /* "unix:DIR/s.sock" */
	char keyfile[128];              /* DIR/key */
	char logfile[128];              /* DIR/daemon.log: the daemon's stderr */
	uint8_t key[TDAEMON_KEYLEN];
	size_t keylen;
};

/* Starts a daemon listening on DIR/s.sock, with the NULL-terminated extra
 * arguments appended (may be NULL), and waits for its READY line. Returns
 * 0, or -1 with the reason (and the daemon's log) on stderr. */
int tdaemon_start(struct tdaemon *td, const char *const *extra);

/* Stops the daemon with SIGTERM and waits for it. Returns 0 when it exited
 * with status 0; otherwise prints its log and returns -1. Removes the
 * directory either way. A stopped or never started tdaemon is a no-op
 * returning 0. */
int tdaemon_stop(struct tdaemon *td);

/* Sends sig to the daemon (SIGSTOP/SIGCONT in timeout tests). */
int tdaemon_signal(struct tdaemon *td, int sig);

/* True while the daemon process has not exited. */
int tdaemon_alive(struct tdaemon *td);

/* A context connected to the daemon's Unix socket with its key, with
 * TDAEMON_CALL_MS as its timeout (a hung daemon fails a test instead of
 * hanging it). Aborts the calling test (cmocka) when the connection
 * fails. */
ps_ctx *tdaemon_connect(const struct tdaemon *td);

/* A TCP port that was free a moment ago on host ("127.0.0.1" or "::1"),
 * or -1 when the address cannot be bound (e.g. no IPv6 loopback). */
int tdaemon_free_port(const char *host);

/* Prints the daemon's log so far to stderr. */
void tdaemon_dump_log(const struct tdaemon *td);

#endif
