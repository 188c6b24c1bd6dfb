/*
 * sd_notify and sd_listen_fds, the protocol side only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t plen;
	socklen_t salen;
	ssize_t r;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	plen = strlen(path);
	if (plen >= sizeof sun.sun_path) {
		log_warn("NOTIFY_SOCKET %s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, plen);
	/* An abstract name: a leading NUL, and no terminator counted. */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("NOTIFY_SOCKET: socket: %s", strerror(errno));
		return -1;
	}
	do
		r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, salen);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		log_warn("NOTIFY_SOCKET %s: %s", path, strerror(errno));
	close(fd);
	return r < 0 ? -1 : 1;
}

int systemd_notifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return systemd_notify(buf);
}

static long env_number(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (v == NULL || v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : n;
}

int systemd_listen_fds(void)
{
	long pid = env_number("LISTEN_PID"), n = env_number("LISTEN_FDS");
	int r = 0;

	if (getenv("LISTEN_PID") == NULL)
		return 0;
	/* Meant for another process (we were started by a child of the one
	 * that got them): not ours to take. */
	if (pid != (long)getpid())
		goto out;
	if (n < 0 || n > SYSTEMD_FDS_MAX) {
		log_error("LISTEN_FDS: '%s' is not a number of sockets (0 to %d)",
			  getenv("LISTEN_FDS") ? getenv("LISTEN_FDS") : "", SYSTEMD_FDS_MAX);
		r = -1;
		goto out;
	}
	for (int fd = SYSTEMD_FDS_START; fd < SYSTEMD_FDS_START + n; fd++) {
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			log_error("LISTEN_FDS: fd %d: %s", fd, strerror(errno));
			r = -1;
			goto out;
		}
	}
	r = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return r;
}
