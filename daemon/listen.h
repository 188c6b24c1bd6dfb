/*
 * Listening sockets: Unix domain and TCP (IPv4, IPv6), each feeding
 * accepted connections to conn_accept.
 */
#ifndef LISTEN_H
#define LISTEN_H

struct daemon;

struct listener {
	struct listener *next;
	struct evconnlistener *lev;
	char addr[300];         /* as given, for logs */
	char path[108];         /* Unix socket to unlink at exit, or "" */
};

/* Starts listening on addr. Returns 0, or -1 after logging why. */
int listen_add(struct daemon *d, const char *addr);
/* Serves a listening socket someone else opened (systemd socket
 * activation). Refuses anything but a listening stream socket. The socket
 * file, if any, is left in place at exit. Returns 0, or -1 after logging
 * why. */
int listen_add_fd(struct daemon *d, int fd);
/* Stops every listener and removes Unix socket files. */
void listen_free_all(struct daemon *d);

#endif
