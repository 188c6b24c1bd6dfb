/*
 * Small helpers for tests that wait: monotonic time, and waiting for a
 * child process with a deadline (a condition wait, never a sleep).
 * Test-only code.
 */
#ifndef TUTIL_H
#define TUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic milliseconds. */
int64_t tutil_now_ms(void);

/* Waits up to timeout_ms for child pid to exit and reaps it. Returns 0 with
 * *status set (as waitpid's), or -1 when it is still running at the
 * deadline (it is left running and unreaped) or on error. */
int tutil_wait_child(pid_t pid, int timeout_ms, int *status);

/* Waits as above; on timeout kills the child with SIGKILL and reaps it.
 * Returns the child's exit code (0..255), 128 + signal when it was killed
 * by a signal, or -1 when it had to be killed at the deadline. */
int tutil_reap(pid_t pid, int timeout_ms);

/* Describes a waitpid status ("exit 3", "signal 9") for messages. */
const char *tutil_status_str(int status, char *buf, size_t len);

#endif
