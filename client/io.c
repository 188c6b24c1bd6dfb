/*
 * Deadlines and socket I/O for the client. Every wait that has a deadline
 * goes through poll() with the time the call has left; the I/O itself uses
 * MSG_DONTWAIT, so it works the same on blocking and non-blocking sockets.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define NS_PER_SEC 1000000000L
#define NS_PER_MS 1000000L

void ps_deadline_init(struct ps_deadline *d, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	d->forever = timeout_ms < 0;
	if (d->forever)
		return;
	d->at.tv_sec += timeout_ms / 1000;
	d->at.tv_nsec += (long)(timeout_ms % 1000) * NS_PER_MS;
	if (d->at.tv_nsec >= NS_PER_SEC) {
		d->at.tv_sec++;
		d->at.tv_nsec -= NS_PER_SEC;
	}
}

int ps_deadline_left_ms(const struct ps_deadline *d)
{
	struct timespec now;
	int64_t ns, ms;

	if (d->forever)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(d->at.tv_sec - now.tv_sec) * NS_PER_SEC + (d->at.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	/* Round up: poll() with a rounded-down timeout would wake just before
	 * the deadline and spin. */
	ms = (ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

bool ps_deadline_passed(const struct ps_deadline *d)
{
	return !d->forever && ps_deadline_left_ms(d) == 0;
}

int ps_io_wait(int fd, short events, const struct ps_deadline *d)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		/* A passed deadline still polls once with timeout 0, so bytes that
		 * have already arrived are not reported as a timeout. */
		r = poll(&p, 1, ps_deadline_left_ms(d));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Drops n sent bytes from the front of *iov. */
static void iov_advance(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt > 0) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

int ps_io_send(int fd, struct iovec *iov, int cnt, const struct ps_deadline *d, size_t *sent)
{
	struct msghdr mh;
	ssize_t n;
	int r;

	*sent = 0;
	iov_advance(&iov, &cnt, 0);
	while (cnt > 0) {
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)cnt;
		/* sendmsg rather than writev: MSG_NOSIGNAL keeps a closed
		 * connection from killing the program with SIGPIPE, and
		 * MSG_DONTWAIT lets the deadline rule on a blocking socket. */
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			*sent += (size_t)n;
			iov_advance(&iov, &cnt, (size_t)n);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		r = ps_io_wait(fd, POLLOUT, d);
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

ssize_t ps_io_read_full(int fd, void *p, size_t n, const struct ps_deadline *d)
{
	size_t got = 0;
	ssize_t k;
	int r;

	while (got < n) {
		k = recv(fd, (uint8_t *)p + got, n - got, MSG_DONTWAIT);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		r = ps_io_wait(fd, POLLIN, d);
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return (ssize_t)got;
}

const char *ps_io_strerror(int err, char *buf, size_t len)
{
	/* The GNU strerror_r (the Makefile defines _GNU_SOURCE) returns the
	 * text, which may or may not be buf. */
	return strerror_r(err, buf, len);
}
