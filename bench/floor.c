/*
 * The floor: a bare ping-pong over Unix sockets, no procshare at all. A
 * forked echo server answers each message from an epoll loop (read, then
 * write back), which is the least any event-loop daemon does per request;
 * the client sends and waits exactly as the loop engine does. What a
 * request/response daemon can reach on this machine is this rate.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loadgen.h"

#define FLOOR_EVENTS 1024
#define FLOOR_BUF (64 * 1024)

static void echo_server(int *fds, int n)
{
	struct epoll_event evs[FLOOR_EVENTS];
	static uint8_t buf[FLOOR_BUF];
	int ep = epoll_create1(0), open_fds = n;

	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	while (open_fds > 0) {
		int k = epoll_wait(ep, evs, FLOOR_EVENTS, -1);
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			ssize_t r = read(fd, buf, sizeof buf);
			if (r <= 0) {
				close(fd);
				open_fds--;
				continue;
			}
			if (wire_write_all(fd, buf, (size_t)r) < 0) {
				close(fd);
				open_fds--;
			}
		}
	}
	_exit(0);
}

struct fconn {
	int fd;
	size_t owed;            /* bytes of the batch not yet echoed */
	uint64_t t0;
	int nops;
	bool active;
};

struct floor_run {
	const struct lg_opts *o;
	uint8_t *msg;           /* depth messages */
	uint64_t issued, deadline;
	int active;
	struct lg_result *res;
};

static int floor_batch(struct floor_run *F, struct fconn *c, uint64_t now)
{
	c->nops = 0;
	while (c->nops < F->o->depth && (F->o->ops > 0 ? F->issued < F->o->ops : now < F->deadline)) {
		c->nops++;
		F->issued++;
	}
	if (c->nops == 0) {
		c->active = false;
		F->active--;
		return 0;
	}
	c->owed = (size_t)c->nops * (size_t)F->o->msgsize;
	c->t0 = now;
	return wire_write_all(c->fd, F->msg, c->owed);
}

/* Takes n echoed bytes; a batch is answered when all its bytes are back. */
static int floor_input(struct floor_run *F, struct fconn *c, size_t n)
{
	uint64_t now;

	if (n > c->owed)
		return -1;
	c->owed -= n;
	if (c->owed > 0)
		return 0;
	now = wire_now_ns();
	for (int i = 0; i < c->nops; i++)
		hist_add(&F->res->lat, now - c->t0);
	F->res->ops += (uint64_t)c->nops;
	return floor_batch(F, c, now);
}

static int floor_client(struct floor_run *F, struct fconn *c, int n)
{
	static uint8_t buf[FLOOR_BUF];
	struct epoll_event evs[FLOOR_EVENTS];
	int ep = n > 1 ? epoll_create1(0) : -1;
	uint64_t now = wire_now_ns();

	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c[i] };
		if (ep >= 0)
			epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
		if (floor_batch(F, &c[i], now) < 0)
			return -1;
	}
	while (F->active > 0) {
		int k = 1;
		if (ep >= 0) {
			k = epoll_wait(ep, evs, FLOOR_EVENTS, -1);
			if (k < 0 && errno == EINTR)
				continue;
		} else {
			evs[0].data.ptr = &c[0];
		}
		for (int i = 0; i < k; i++) {
			struct fconn *fc = evs[i].data.ptr;
			ssize_t r = read(fc->fd, buf, sizeof buf);
			if (r <= 0 || floor_input(F, fc, (size_t)r) < 0)
				return -1;
		}
	}
	if (ep >= 0)
		close(ep);
	return 0;
}

int floor_run(const struct lg_opts *o, struct lg_result *res)
{
	struct floor_run F = { .o = o, .res = res };
	struct fconn *c = calloc((size_t)o->conns, sizeof *c);
	int *srv = calloc((size_t)o->conns, sizeof *srv);
	uint64_t t0;
	long ticks;
	pid_t pid;
	int r, status;

	F.msg = malloc((size_t)o->depth * (size_t)o->msgsize);
	if (c == NULL || srv == NULL || F.msg == NULL)
		return -1;
	memset(F.msg, 'p', (size_t)o->depth * (size_t)o->msgsize);
	for (int i = 0; i < o->conns; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
			fprintf(stderr, "loadgen: socketpair: %s\n", strerror(errno));
			return -1;
		}
		c[i].fd = sv[0];
		c[i].active = true;
		srv[i] = sv[1];
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (int i = 0; i < o->conns; i++)
			close(c[i].fd);
		echo_server(srv, o->conns);
	}
	for (int i = 0; i < o->conns; i++)
		close(srv[i]);
	F.active = o->conns;
	ticks = wire_cpu_ticks(pid);
	t0 = wire_now_ns();
	F.deadline = t0 + (uint64_t)(o->secs * 1e9);
	r = floor_client(&F, c, o->conns);
	res->secs = (double)(wire_now_ns() - t0) / 1e9;
	/* The echo server's CPU, as loadgen reports the daemon's. */
	if (ticks >= 0 && wire_cpu_ticks(pid) >= ticks)
		res->srv_ticks = wire_cpu_ticks(pid) - ticks;
	for (int i = 0; i < o->conns; i++)
		close(c[i].fd);
	waitpid(pid, &status, 0);
	free(c);
	free(srv);
	free(F.msg);
	return r;
}
