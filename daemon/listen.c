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

#include <event2/listener.h>

#include "conn.h"
#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "ps_addr.h"

#define LISTEN_BACKLOG 1024

static void peer_name(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, len, "unix");
	}
}

static void listen_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct daemon *d = arg;
	char peer[64];
	int one = 1;

	(void)lev;
	(void)salen;
	peer_name(sa, peer, sizeof peer);
	/* Small replies must leave at once, not wait for Nagle. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	conn_accept(d, fd, peer);
}

static void listen_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	(void)lev;
	/* Out of descriptors: keep serving; accept is retried on the next event. */
	log_warn("accept: %s", evutil_socket_error_to_string(err));
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

static int open_unix(const struct ps_addr *a)
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

int listen_add(struct daemon *d, const char *addr)
{
	struct ps_addr a;
	struct listener *l;
	char err[200];
	int fd;

	if (ps_addr_parse(addr, &a, err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	fd = a.kind == PS_ADDR_UNIX ? open_unix(&a) : open_tcp(&a);
	if (fd < 0)
		return -1;
	l = calloc(1, sizeof *l);
	if (l == NULL) {
		close(fd);
		return -1;
	}
	l->lev = evconnlistener_new(d->base, listen_accept_cb, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    LISTEN_BACKLOG, fd);
	if (l->lev == NULL) {
		log_error("listen %s: %s", addr, strerror(errno));
		close(fd);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listen_error_cb);
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	if (a.kind == PS_ADDR_UNIX)
		snprintf(l->path, sizeof l->path, "%s", a.path);
	l->next = d->listeners;
	d->listeners = l;
	log_info("listening on %s", addr);
	return 0;
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
}
