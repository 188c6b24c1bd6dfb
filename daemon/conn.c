/*
 * Client connections. Plain event_new + read()/write() rather than
 * bufferevents: replies are written in the same callback that read the
 * requests, so a batch of pipelined requests costs one read and one write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "conn.h"
#include "daemon.h"
#include "dispatch.h"
#include "log.h"
#include "ps_rpc.h"
#include "registry.h"
#include "val.h"

#define CONN_READ_CHUNK (64 * 1024)
/* Time a connection that was told of a fatal error may keep sending before
 * it is closed; closing at once with unread input would reset the
 * connection and could destroy the error report before the peer reads it. */
#define CONN_DRAIN_MS 1000

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static int conn_flush(struct conn *c);

static void set_timer(struct conn *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->ev_timer, &tv);
}

/* Best-effort write of a short record to a socket we are about to close. */
static void send_now(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
}

void conn_accept(struct daemon *d, int fd, const char *peer)
{
	uint8_t nonce[PS_HS_NONCE];
	struct conn *c;

	if (d->nconns >= d->cfg.max_conns) {
		uint8_t rec[PS_HS_REFUSE_MAX];
		send_now(fd, rec, ps_hs_refuse(rec, "LimitExceeded", "too many connections"));
		log_warn("refused %s: connection limit (%zu) reached", peer, d->cfg.max_conns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL)
		goto fail;
	c->d = d;
	c->fd = fd;
	c->id = ++d->next_conn_id;
	c->state = CONN_HANDSHAKE;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	ps_buf_init(&c->in);
	ps_buf_init(&c->out);
	ps_mp_scan_reset(&c->scan);
	odict_init(&c->handles);
	TAILQ_INIT(&c->waiters);
	TAILQ_INIT(&c->hooks);
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->nconns++;
	d->stats.conns_total++;
	c->ev_read = event_new(d->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(d->base, fd, EV_WRITE, conn_write_cb, c);
	c->ev_timer = evtimer_new(d->base, conn_timer_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL)
		goto fail;
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_server_hello(c->shello, nonce);
	if (ps_buf_append(&c->out, c->shello, sizeof c->shello) < 0)
		goto fail;
	event_add(c->ev_read, NULL);
	set_timer(c, d->cfg.handshake_ms);
	/* The hello is tiny: it leaves now or when the socket is writable. */
	conn_write_cb(fd, EV_WRITE, c);
	log_debug("conn %llu: accepted %s", (unsigned long long)c->id, peer);
	return;
fail:
	log_error("out of memory accepting %s", peer);
	if (c != NULL)
		conn_free(c);
	else
		close(fd);
}

static void release_all(struct conn *c)
{
	struct odict_entry *e;
	size_t pos = 0;

	while ((e = odict_next(&c->handles, &pos)) != NULL) {
		uint64_t id = 0;
		for (int i = 0; i < 8; i++)
			id = (id << 8) | e->key->data[i];
		struct object *obj = registry_get(&c->d->reg, id);
		for (uintptr_t n = (uintptr_t)e->value; obj != NULL && n > 0; n--)
			registry_decref(&c->d->reg, obj);
		free(e->key);
	}
	odict_free(&c->handles);
}

/* Undoes what the connection holds beyond handles: parked calls are
 * dropped first, so that a lock released by a hook is not handed to one of
 * this connection's own waiters. */
static void conn_detach(struct conn *c)
{
	struct conn_hook *h;

	wait_drop_conn(&c->waiters);
	while ((h = TAILQ_FIRST(&c->hooks)) != NULL) {
		TAILQ_REMOVE(&c->hooks, h, link);
		h->fn(h, c);
	}
}

void conn_hook(struct conn *c, struct conn_hook *h)
{
	TAILQ_INSERT_TAIL(&c->hooks, h, link);
}

void conn_unhook(struct conn *c, struct conn_hook *h)
{
	TAILQ_REMOVE(&c->hooks, h, link);
}

void conn_schedule_flush(struct conn *c)
{
	if (c->state != CONN_DRAINING || ps_buf_avail(&c->out) > 0)
		event_active(c->ev_write, EV_WRITE, 1);
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_detach(c);
	release_all(c);
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_timer)
		event_free(c->ev_timer);
	close(c->fd);
	ps_buf_free(&c->in);
	ps_buf_free(&c->out);
	TAILQ_REMOVE(&c->d->conns, c, entry);
	c->d->nconns--;
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	free(c);
}

static struct odict_entry *find_handle(struct conn *c, uint64_t id, uint8_t idb[8])
{
	for (int i = 0; i < 8; i++)
		idb[i] = (uint8_t)(id >> (56 - 8 * i));
	return odict_find(&c->handles, idb, 8, registry_hash(&c->d->reg, idb, 8));
}

int conn_hold(struct conn *c, struct object *obj)
{
	uint8_t idb[8];
	struct odict_entry *e = find_handle(c, obj->id, idb);
	struct val *key;

	if (e == NULL) {
		key = registry_key(&c->d->reg, idb, 8);
		if (key == NULL)
			return -1;
		e = odict_insert(&c->handles, key, (void *)(uintptr_t)0);
		if (e == NULL) {
			free(key);
			return -1;
		}
	}
	e->value = (void *)((uintptr_t)e->value + 1);
	registry_incref(&c->d->reg, obj);
	return 0;
}

int conn_release(struct conn *c, struct object *obj)
{
	uint8_t idb[8];
	struct odict_entry *e = find_handle(c, obj->id, idb);

	if (e == NULL)
		return -1;
	e->value = (void *)((uintptr_t)e->value - 1);
	if ((uintptr_t)e->value == 0) {
		struct val *k = e->key;
		odict_remove(&c->handles, e);
		free(k);
	}
	registry_decref(&c->d->reg, obj);
	return 0;
}

/* Tells the peer why it is being dropped and stops serving it. */
static void conn_fatal(struct conn *c, enum ps_code code, const char *msg)
{
	msgpack_packer pk;

	log_info("conn %llu (%s): %s: %s", (unsigned long long)c->id, c->peer, ps_code_name(code), msg);
	ps_mp_packer(&pk, &c->out);
	ps_rpc_put_error_notify(&pk, code, msg);
	c->state = CONN_DRAINING;
	ps_buf_free(&c->in);
	evtimer_del(c->ev_timer);
	set_timer(c, CONN_DRAIN_MS);
	conn_detach(c);
}

void conn_shutdown(struct conn *c)
{
	struct waiter *w;

	while ((w = TAILQ_FIRST(&c->waiters)) != NULL)
		wait_error(w, PS_E_SHUTDOWN, "the daemon is stopping");
	conn_flush(c);
	conn_free(c);
}

static void conn_handshake(struct conn *c)
{
	struct daemon *d = c->d;
	uint8_t rec[PS_HS_REFUSE_MAX];
	const uint8_t *ch = c->in.data + c->in.pos;
	int r;

	if (ps_buf_avail(&c->in) < PS_HS_CLIENT_HELLO)
		return;
	r = ps_hs_check_client_hello(ch, c->shello, d->key, d->keylen);
	if (r < 0) {
		const char *why = r == -3 ? "wrong authkey" : r == -2 ? "protocol version mismatch"
									: "not a procshare client hello";
		d->stats.auth_failures++;
		log_warn("conn %llu (%s): authentication failed: %s", (unsigned long long)c->id, c->peer, why);
		ps_buf_append(&c->out, rec, ps_hs_refuse(rec, "AuthFailed", why));
		c->state = CONN_DRAINING;
		ps_buf_free(&c->in);
		evtimer_del(c->ev_timer);
		set_timer(c, CONN_DRAIN_MS);
		return;
	}
	ps_hs_accept(rec, c->shello, ch, d->key, d->keylen);
	ps_buf_append(&c->out, rec, PS_HS_ACCEPT);
	ps_buf_consume(&c->in, PS_HS_CLIENT_HELLO);
	c->state = CONN_READY;
	evtimer_del(c->ev_timer);
}

/* Answers every complete request in the input buffer. */
static void conn_requests(struct conn *c)
{
	struct daemon *d = c->d;
	size_t size;
	int r;

	while (c->state == CONN_READY && ps_buf_avail(&c->in) > 0) {
		r = ps_mp_scan(&c->scan, c->in.data + c->in.pos, ps_buf_avail(&c->in), PS_MAX_DEPTH, &size);
		if (r == PS_SCAN_MORE) {
			if (ps_buf_avail(&c->in) > d->cfg.max_message)
				conn_fatal(c, PS_E_TOOLARGE, "message larger than the maximum message size");
			return;
		}
		if (r == PS_SCAN_BAD) {
			conn_fatal(c, PS_E_PROTOCOL, "invalid MessagePack (byte 0xc1)");
			return;
		}
		if (r == PS_SCAN_DEEP) {
			conn_fatal(c, PS_E_TOOLARGE, "message nested too deeply");
			return;
		}
		if (size > d->cfg.max_message) {
			conn_fatal(c, PS_E_TOOLARGE, "message larger than the maximum message size");
			return;
		}
		dispatch_message(d, c, c->in.data + c->in.pos, size, &c->out);
		ps_buf_consume(&c->in, size);
	}
}

/* Writes what is pending; arms the write event when the socket is full. */
static int conn_flush(struct conn *c)
{
	while (ps_buf_avail(&c->out) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->out.pos, ps_buf_avail(&c->out), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->ev_write, NULL);
				break;
			}
			log_debug("conn %llu: write: %s", (unsigned long long)c->id, strerror(errno));
			return -1;
		}
		ps_buf_consume(&c->out, (size_t)n);
	}
	/* After a fatal error, EOF right behind the report tells the peer
	 * nothing more is coming. */
	if (c->state == CONN_DRAINING && ps_buf_avail(&c->out) == 0)
		shutdown(c->fd, SHUT_WR);
	/* A client that does not read its replies stops being read. */
	if (!c->read_paused && ps_buf_avail(&c->out) > c->d->cfg.max_backlog) {
		c->read_paused = true;
		event_del(c->ev_read);
	} else if (c->read_paused && ps_buf_avail(&c->out) <= c->d->cfg.max_backlog / 2) {
		c->read_paused = false;
		event_add(c->ev_read, NULL);
	}
	return 0;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	if (ps_buf_reserve(&c->in, CONN_READ_CHUNK) < 0) {
		conn_fatal(c, PS_E_NOMEM, "out of memory for input");
		goto flush;
	}
	do
		n = read(fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_free(c);
		return;
	}
	if (n < 0)
		return;
	if (c->state == CONN_DRAINING) {
		c->in.len = c->in.pos = 0;
		return;
	}
	c->in.len += (size_t)n;
	if (c->state == CONN_HANDSHAKE)
		conn_handshake(c);
	conn_requests(c);
flush:
	if (conn_flush(c) < 0)
		conn_free(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_flush(c) < 0)
		conn_free(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint8_t rec[PS_HS_REFUSE_MAX];

	(void)fd;
	(void)what;
	if (c->state == CONN_HANDSHAKE) {
		log_info("conn %llu (%s): handshake not completed in %d ms", (unsigned long long)c->id,
			 c->peer, c->d->cfg.handshake_ms);
		send_now(c->fd, rec, ps_hs_refuse(rec, "Timeout", "handshake not completed in time"));
	}
	conn_free(c);
}
