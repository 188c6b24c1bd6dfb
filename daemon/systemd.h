/*
 * The two systemd interfaces a service needs, spoken directly rather than
 * through libsystemd: both are small, documented as stable for exactly
 * this kind of reimplementation (sd_notify(3), sd_listen_fds(3)), and
 * doing without the library keeps the daemon's dependencies to libevent,
 * msgpack-c and libsodium on every system, with systemd or without.
 *
 *  - Readiness: a datagram such as "READY=1" to the Unix socket named by
 *    $NOTIFY_SOCKET ('@' starts an abstract name).
 *  - Socket activation: listening sockets passed as fds 3, 4, ... with
 *    $LISTEN_FDS their count and $LISTEN_PID our pid.
 */
#ifndef SYSTEMD_H
#define SYSTEMD_H

/* First passed fd (SD_LISTEN_FDS_START). */
#define SYSTEMD_FDS_START 3
/* Most passed sockets taken. */
#define SYSTEMD_FDS_MAX 64

/* Sends state ("READY=1\nSTATUS=...") to the service manager when
 * $NOTIFY_SOCKET is set. Returns 1 when sent, 0 when there is no manager
 * to tell, -1 when sending failed (logged). */
int systemd_notify(const char *state);
int systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The number of sockets passed to this process (fds SYSTEMD_FDS_START
 * onwards), 0 when none; -1 after logging a malformed $LISTEN_FDS. The
 * variables are removed from the environment, and the fds marked
 * close-on-exec, so nothing started later believes they are its own. */
int systemd_listen_fds(void);

#endif
