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
/* Stops every listener and removes Unix socket files. */
void listen_free_all(struct daemon *d);

#endif
