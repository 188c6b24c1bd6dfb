/*
 * Test helpers for time and child processes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tutil.h"

int64_t tutil_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tutil_wait_child(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = tutil_now_ms() + timeout_ms;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	pid_t r;

	if (fd < 0) {
		/* No pidfd: wait without a deadline. */
		do
			r = waitpid(pid, status, 0);
		while (r < 0 && errno == EINTR);
		return r == pid ? 0 : -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - tutil_now_ms();

		r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR)) {
			close(fd);
			return r == pid ? 0 : -1;
		}
		if (left <= 0) {
			close(fd);
			return -1;
		}
		/* The pidfd becomes readable when the process exits. */
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			close(fd);
			return -1;
		}
	}
}

int tutil_reap(pid_t pid, int timeout_ms)
{
	int status;

	if (tutil_wait_child(pid, timeout_ms, &status) < 0) {
		kill(pid, SIGKILL);
		tutil_wait_child(pid, 10000, &status);
		return -1;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

const char *tutil_status_str(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	return buf;
}
