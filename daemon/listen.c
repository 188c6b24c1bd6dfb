/*
 * Listening sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "conn.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "ps_addr.h"
#include "ps_hs.h"

#define LISTEN_BACKLOG 1024
/* Pause in accepting when even the spare descriptor cannot serve. */
#define LISTEN_PAUSE_MS 100

static void peer_name(int fd, const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	struct ucred cred;
	socklen_t clen = sizeof cred;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		/* Who is on the other end of a Unix socket: what an operator
		 * looking for a lock's holder wants to see. */
		snprintf(out, len, "unix pid %ld uid %lu", (long)cred.pid, (unsigned long)cred.uid);
	} else {
		snprintf(out, len, "unix");
	}
}

/* TCP keepalive: a peer whose machine died or whose network was cut
 * sends no FIN, and without probes its connection (and the locks it
 * holds) would stay forever. Silent for keepalive[0] seconds, the peer is
 * probed every keepalive[1] seconds and dropped after keepalive[2]
 * unanswered probes (10 + 5 x 3 = 25 s by default, tcp-keepalive). A live
 * but idle client (one parked on a lock for hours) answers the probes from
 * its kernel and is never dropped. While replies sit unacknowledged
 * keepalive does not probe; TCP_USER_TIMEOUT gives that case the same
 * bound instead of the kernel's retransmission limit (about 15 minutes). */
static void listen_keepalive(const struct daemon *d, int fd)
{
	const int *k = d->cfg.keepalive;
	int one = 1;
	unsigned user_ms = (unsigned)(k[0] + k[1] * k[2]) * 1000u;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &k[0], sizeof k[0]);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &k[1], sizeof k[1]);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &k[2], sizeof k[2]);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
}

static void listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct daemon *d = arg;
	char peer[64];
	int one = 1;

	(void)lev;
	(void)salen;
	peer_name(fd, sa, peer, sizeof peer);
	/* Small replies must leave at once, not wait for Nagle. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		listen_keepalive(d, fd);
		conn_accept(d, fd, peer, d->cfg.tcp_encryption);
	} else {
		conn_accept(d, fd, peer, d->cfg.unix_encryption);
	}
}

/* Keeps one descriptor in reserve, given up only to turn clients away
 * when the process is out of them. */
static void spare_open(struct daemon *d)
{
	if (d->has_spare)
		return;
	d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	d->has_spare = d->spare_fd >= 0;
}

static void spare_close(struct daemon *d)
{
	if (d->has_spare)
		close(d->spare_fd);
	d->has_spare = false;
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	spare_open(d);
	for (struct listener *l = d->listeners; l != NULL; l = l->next)
		evconnlistener_enable(l->lev);
}

/* Stops accepting for LISTEN_PAUSE_MS: waiting clients stay queued in
 * the kernel until descriptors free up. */
static void accept_pause(struct daemon *d)
{
	struct timeval tv = { LISTEN_PAUSE_MS / 1000, (LISTEN_PAUSE_MS % 1000) * 1000 };

	if (d->accept_pause == NULL)
		d->accept_pause = evtimer_new(d->base, accept_resume_cb, d);
	if (d->accept_pause == NULL)
		return;
	for (struct listener *l = d->listeners; l != NULL; l = l->next)
		evconnlistener_disable(l->lev);
	evtimer_add(d->accept_pause, &tv);
}

/* Accepts every waiting client with the spare descriptor and tells it
 * why it cannot be served. Returns 0 when the queue was emptied. */
static int refuse_waiting(struct daemon *d, int lfd)
{
	uint8_t rec[PS_HS_REFUSE_MAX];
	size_t n = ps_hs_refuse(rec, "LimitExceeded", "the daemon is out of file descriptors");
	int fd, err;

	spare_close(d);
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (send(fd, rec, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("refusal: %s", strerror(errno));
		close(fd);
		d->stats.conns_refused++;
	}
	err = errno;
	spare_open(d);
	return err == EAGAIN || err == EWOULDBLOCK ? 0 : -1;
}

static void listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct daemon *d = arg;
	int err = EVUTIL_SOCKET_ERROR();

	log_warn("accept: %s", evutil_socket_error_to_string(err));
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	/* The listening socket stays readable while clients wait: retrying
	 * at once would spin. Refuse them with a reason, or pause. */
	if (!d->has_spare || refuse_waiting(d, evconnlistener_get_fd(lev)) < 0 || !d->has_spare)
		accept_pause(d);
}

/* A socket file left behind by a dead daemon is removed; a live one is not. */
static int unix_prepare(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s exists and is not a socket", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (r == 0) {
		log_error("%s: another daemon is listening there", path);
		return -1;
	}
	unlink(path);
	return 0;
}

static int open_unix(const struct ps_addr *a, unsigned mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if (unix_prepare(a->path) < 0)
		return -1;
	strcpy(sun.sun_path, a->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* Only the owner may connect; the authkey is the second lock. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		umask(old);
		log_error("bind %s: %s", a->path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* Widened only after bind: the socket never exists with more access
	 * than the operator asked for. */
	if (mode != 0600 && chmod(a->path, mode) < 0) {
		log_error("chmod %s: %s", a->path, strerror(errno));
		close(fd);
		unlink(a->path);
		return -1;
	}
	return fd;
}

static int open_tcp(const struct ps_addr *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	int fd = -1, one = 1, r;

	r = getaddrinfo(a->host, a->port, &hints, &res);
	if (r != 0) {
		log_error("%s: %s", a->host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		log_error("bind %s:%s: %s", a->host, a->port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Serves connections arriving on the listening socket fd. */
static int listen_attach(struct daemon *d, int fd, const char *addr, const char *path)
{
	struct listener *l = calloc(1, sizeof *l);

	if (l == NULL) {
		close(fd);
		return -1;
	}
	l->lev = evconnlistener_new(d->base, listen_accept_cb, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    path != NULL ? LISTEN_BACKLOG : 0, fd);
	if (l->lev == NULL) {
		log_error("listen %s: %s", addr, strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
	spare_open(d);
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	if (path != NULL)
		snprintf(l->path, sizeof l->path, "%s", path);
	l->next = d->listeners;
	d->listeners = l;
	log_info("listening on %s", addr);
	return 0;
}

int listen_add(struct daemon *d, const char *addr)
{
	struct ps_addr a;
	char err[200];
	int fd;

	if (ps_addr_parse(addr, &a, err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	fd = a.kind == PS_ADDR_UNIX ? open_unix(&a, d->cfg.socket_mode) : open_tcp(&a);
	if (fd < 0)
		return -1;
	return listen_attach(d, fd, addr, a.kind == PS_ADDR_UNIX ? a.path : "");
}

int listen_add_fd(struct daemon *d, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int type = 0, listening = 0;
	socklen_t tlen = sizeof type, llen = sizeof listening;
	char name[300];

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) < 0 || !listening ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		log_error("passed fd %d is not a listening stream socket", fd);
		return -1;
	}
	if (ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&ss;
		snprintf(name, sizeof name, "unix:%.*s (passed fd %d)", (int)sizeof sun->sun_path, sun->sun_path, fd);
	} else {
		peer_name(fd, (const struct sockaddr *)&ss, name, sizeof name);
		snprintf(name + strlen(name), sizeof name - strlen(name), " (passed fd %d)", fd);
	}
	if (evutil_make_socket_nonblocking(fd) < 0) {
		log_error("passed fd %d: %s", fd, strerror(errno));
		return -1;
	}
	/* Whoever passed it owns the socket file: no path to remove at exit. */
	return listen_attach(d, fd, name, NULL);
}

void listen_free_all(struct daemon *d)
{
	struct listener *l, *next;

	for (l = d->listeners; l != NULL; l = next) {
		next = l->next;
		evconnlistener_free(l->lev);
		if (l->path[0] != '\0')
			unlink(l->path);
		free(l);
	}
	d->listeners = NULL;
	spare_close(d);
	if (d->accept_pause != NULL)
		event_free(d->accept_pause);
	d->accept_pause = NULL;
}
