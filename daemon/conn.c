/*
 * Client connections. Plain event_new + read()/write() rather than
 * bufferevents: replies are written in the same callback that read the
 * requests, so a batch of pipelined requests costs one read and one write.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
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
#include "throttle.h"
#include "val.h"

#define CONN_READ_CHUNK (64 * 1024)
#define CONN_TRIM_MIN 64
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

/* Counts the connection's buffers in the memory budget (max-memory), so
 * that stored values and buffers together stay within it. */
static void conn_account(struct conn *c)
{
	size_t now = c->in.cap + c->out.cap + c->reply.cap + c->cin.cap + c->cout.cap;
	struct registry *reg = &c->d->reg;

	reg->other_bytes = reg->other_bytes - c->charged + now;
	c->charged = now;
}

/* Output not yet sent: replies, and records sealed from them. */
static size_t conn_pending(const struct conn *c)
{
	return ps_buf_avail(&c->out) + ps_buf_avail(&c->cout);
}

void conn_accept(struct daemon *d, int fd, const char *peer, int enc)
{
	uint8_t nonce[PS_HS_NONCE];
	struct conn *c;

	if (d->nconns >= d->cfg.max_conns) {
		uint8_t rec[PS_HS_REFUSE_MAX];
		send_now(fd, rec, ps_hs_refuse(rec, "LimitExceeded", "too many connections"));
		d->stats.conns_refused++;
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
	ps_buf_init(&c->reply);
	ps_buf_init(&c->cin);
	ps_buf_init(&c->cout);
	ps_mp_scan_reset(&c->scan);
	odict_init(&c->handles);
	TAILQ_INIT(&c->waiters);
	TAILQ_INIT(&c->hooks);
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->nconns++;
	if (d->nconns > d->trim_mark)
		d->trim_mark = d->nconns;
	d->stats.conns_total++;
	c->ev_read = event_new(d->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(d->base, fd, EV_WRITE, conn_write_cb, c);
	c->ev_timer = evtimer_new(d->base, conn_timer_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL)
		goto fail;
	randombytes_buf(nonce, sizeof nonce);
	ps_hs_server_hello(c->shello, nonce);
	ps_hs_set_flags(c->shello, enc == PS_ENC_ON ? PS_HS_FLAG_ENC_OFFER | PS_HS_FLAG_ENC_REQUIRED
			: enc == PS_ENC_OPTIONAL ? PS_HS_FLAG_ENC_OFFER : 0);
	if (ps_buf_append(&c->out, c->shello, sizeof c->shello) < 0)
		goto fail;
	event_add(c->ev_read, NULL);
	set_timer(c, d->cfg.handshake_ms);
	log_debug("conn %llu: accepted %s", (unsigned long long)c->id, peer);
	/* The hello is tiny: it leaves now or when the socket is writable.
	 * A peer already gone makes this free c: touch nothing after it. */
	conn_write_cb(fd, EV_WRITE, c);
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
	if (c->state != CONN_DRAINING || conn_pending(c) > 0)
		event_active(c->ev_write, EV_WRITE, 1);
}

bool conn_gone(const struct conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

	if (c->state != CONN_READY)
		return true;
	/* A peer that hung up (or was killed) has closed its end; its EOF
	 * may sit unread behind other ready events of this loop turn. The
	 * daemon closes a connection at EOF, so its answers would be lost. */
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
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
	ps_buf_free(&c->reply);
	ps_buf_free(&c->cin);
	ps_buf_free(&c->cout);
	ps_seal_wipe(&c->rx);
	ps_seal_wipe(&c->tx);
	conn_account(c);
	if (c->sealed)
		c->d->nsealed--;
	TAILQ_REMOVE(&c->d->conns, c, entry);
	c->d->nconns--;
	if (c->d->nconns == 0)
		ps_buf_free(&c->d->rbuf);
	/* Many clients left: give their buffers' memory back to the system
	 * (malloc keeps freed memory otherwise), each time the count halves
	 * from at least CONN_TRIM_MIN; a client coming and going costs none. */
	if (c->d->trim_mark >= CONN_TRIM_MIN && c->d->nconns <= c->d->trim_mark / 2) {
		c->d->trim_mark = c->d->nconns;
		malloc_trim(0);
	}
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

	while ((w = TAILQ_FIRST(&c->waiters)) != NULL) {
		/* The call goes unserved: undo what parking it did (free a
		 * queued item), as for a closing connection. */
		if (w->ops->drop != NULL)
			w->ops->drop(w);
		wait_error(w, PS_E_SHUTDOWN, "the daemon is stopping");
	}
	conn_flush(c);
	conn_free(c);
}

/* Answers the handshake with a refusal and stops serving the peer. */
static void conn_refuse(struct conn *c, const char *code, const char *why)
{
	uint8_t rec[PS_HS_REFUSE_MAX];

	ps_buf_append(&c->out, rec, ps_hs_refuse(rec, code, why));
	c->state = CONN_DRAINING;
	ps_buf_free(&c->in);
	evtimer_del(c->ev_timer);
	set_timer(c, CONN_DRAIN_MS);
}

/* The flags of an authenticated client hello against what we offered
 * (PROTOCOL.md 2.1). Returns 0, or -1 after refusing the client. */
static int conn_check_flags(struct conn *c, const uint8_t *ch)
{
	uint16_t want = ps_hs_flags(ch), offer = ps_hs_flags(c->shello);

	if ((want & ~PS_HS_FLAG_ENC) != 0 || ((want & PS_HS_FLAG_ENC) && !(offer & PS_HS_FLAG_ENC_OFFER))) {
		log_warn("conn %llu (%s): refused: unsupported handshake flags 0x%04x", (unsigned long long)c->id,
			 c->peer, want);
		conn_refuse(c, "ProtocolError", "unsupported handshake flags");
		return -1;
	}
	if ((offer & PS_HS_FLAG_ENC_REQUIRED) && !(want & PS_HS_FLAG_ENC)) {
		log_info("conn %llu (%s): refused: a plaintext session on a listener that requires encryption",
			 (unsigned long long)c->id, c->peer);
		conn_refuse(c, "EncryptionRequired", "this listener serves encrypted sessions only");
		return -1;
	}
	return 0;
}

/* Derives the session's keys. What is already in out (the server hello,
 * if it has not left yet, and the accept) goes out as it is; everything
 * after it is sealed. */
static void conn_start_sealing(struct conn *c, const uint8_t *ch)
{
	ps_seal_derive(&c->rx, &c->tx, c->d->key, c->d->keylen, c->shello, ch);
	ps_buf_append(&c->cout, c->out.data + c->out.pos, ps_buf_avail(&c->out));
	ps_buf_consume(&c->out, ps_buf_avail(&c->out));
	c->sealed = true;
	c->d->nsealed++;
	log_debug("conn %llu: encrypted session", (unsigned long long)c->id);
}

/* Opens the records that have come in (cin) into the input. Returns 0, or
 * -1 when the session is over (a fatal error was sent). */
static int conn_unseal(struct conn *c)
{
	int r = ps_seal_open(&c->rx, &c->cin, &c->in);

	if (r != PS_SEAL_OK) {
		conn_fatal(c, r == PS_SEAL_NOMEM ? PS_E_NOMEM : PS_E_PROTOCOL, ps_seal_strerror(r));
		ps_buf_free(&c->cin);
		return -1;
	}
	/* Idle connections hold no input buffer (see conn_lend_input). */
	if (ps_buf_avail(&c->cin) == 0)
		ps_buf_free(&c->cin);
	return 0;
}

/* Records the client sent right behind its hello were read as input:
 * they are ciphertext, to be opened first. */
static void conn_move_ciphertext(struct conn *c)
{
	if (ps_buf_avail(&c->in) == 0)
		return;
	if (ps_buf_append(&c->cin, c->in.data + c->in.pos, ps_buf_avail(&c->in)) < 0) {
		ps_buf_consume(&c->in, ps_buf_avail(&c->in));
		conn_fatal(c, PS_E_NOMEM, "out of memory for input");
		return;
	}
	ps_buf_consume(&c->in, ps_buf_avail(&c->in));
	conn_unseal(c);
}

/* Verifies the client hello at the front of the input. */
static void conn_check_hello(struct conn *c, const char *source)
{
	struct daemon *d = c->d;
	uint8_t rec[PS_HS_ACCEPT];
	const uint8_t *ch = c->in.data + c->in.pos;
	int r;

	r = ps_hs_check_client_hello(ch, c->shello, d->key, d->keylen);
	if (r < 0) {
		const char *why = r == -3 ? "wrong authkey" : r == -2 ? "protocol version mismatch"
									: "not a procshare client hello";
		d->stats.auth_failures++;
		throttle_failed(&d->throttle, source, throttle_now_ms());
		log_warn("conn %llu (%s): authentication failed: %s", (unsigned long long)c->id, c->peer, why);
		conn_refuse(c, "AuthFailed", why);
		return;
	}
	throttle_passed(&d->throttle, source);
	if (conn_check_flags(c, ch) < 0)
		return;
	ps_hs_accept(rec, c->shello, ch, d->key, d->keylen);
	ps_buf_append(&c->out, rec, PS_HS_ACCEPT);
	if (ps_hs_flags(ch) & PS_HS_FLAG_ENC)
		conn_start_sealing(c, ch);
	ps_buf_consume(&c->in, PS_HS_CLIENT_HELLO);
	c->state = CONN_READY;
	evtimer_del(c->ev_timer);
	if (c->sealed)
		conn_move_ciphertext(c);
}

static void conn_handshake(struct conn *c)
{
	struct daemon *d = c->d;
	char source[THROTTLE_SOURCE_MAX];
	int64_t wait;

	if (c->hello_held || ps_buf_avail(&c->in) < PS_HS_CLIENT_HELLO)
		return;
	throttle_source(c->peer, source, sizeof source);
	wait = throttle_delay(&d->throttle, source, throttle_now_ms(), d->cfg.handshake_ms);
	if (wait < 0) {
		/* Refused unchecked: its turn is too far away to hold it. */
		d->stats.auth_failures++;
		log_warn("conn %llu (%s): refused: too many failed authentications from %s", (unsigned long long)c->id,
			 c->peer, source);
		conn_refuse(c, "LimitExceeded", "too many failed authentications; try again later");
		return;
	}
	if (wait > 0) {
		/* A source that failed repeatedly waits its turn; a timer
		 * brings it back, the loop goes on serving everyone else. */
		c->hello_held = true;
		event_del(c->ev_read);
		evtimer_del(c->ev_timer);
		set_timer(c, (int)wait);
		return;
	}
	conn_check_hello(c, source);
}

/* Answers every complete request in the input buffer. */
static void conn_requests(struct conn *c)
{
	struct daemon *d = c->d;
	size_t size;
	int r;

	/* Past the backlog limit the rest waits: one read of small requests
	 * asking for big replies must not pile up unbounded output. */
	while (c->state == CONN_READY && ps_buf_avail(&c->in) > 0 && conn_pending(c) <= d->cfg.max_backlog) {
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

/* A client that does not read its replies stops being read, and is cut
 * off when it goes on not reading (-1: free it). */
static int conn_backlog(struct conn *c)
{
	const struct config *cfg = &c->d->cfg;
	size_t backlog = conn_pending(c);

	if (c->state != CONN_READY)
		return 0;
	if (backlog > DAEMON_BACKLOG_HARD(cfg)) {
		log_warn("conn %llu (%s): cut off: %zu bytes of replies unread (limit %zu)", (unsigned long long)c->id,
			 c->peer, backlog, (size_t)DAEMON_BACKLOG_HARD(cfg));
		return -1;
	}
	if (backlog > cfg->max_backlog) {
		if (!c->read_paused) {
			c->read_paused = true;
			event_del(c->ev_read);
		}
		/* The deadline runs while the backlog stays over the limit. */
		if (!evtimer_pending(c->ev_timer, NULL))
			set_timer(c, cfg->backlog_ms);
		return 0;
	}
	evtimer_del(c->ev_timer);
	if (c->read_paused && backlog <= cfg->max_backlog / 2) {
		c->read_paused = false;
		event_add(c->ev_read, NULL);
	}
	return 0;
}

/* Writes what is pending; arms the write event when the socket is full. */
static int conn_flush(struct conn *c)
{
	struct ps_buf *w = c->sealed ? &c->cout : &c->out;

	if (c->sealed && ps_buf_avail(&c->out) > 0) {
		/* All the replies of one read go out in one record. */
		if (ps_seal_put(&c->tx, c->out.data + c->out.pos, ps_buf_avail(&c->out), &c->cout) < 0) {
			log_warn("conn %llu (%s): out of memory sealing replies", (unsigned long long)c->id, c->peer);
			return -1;
		}
		ps_buf_consume(&c->out, ps_buf_avail(&c->out));
	}
	while (ps_buf_avail(w) > 0) {
		ssize_t n = send(c->fd, w->data + w->pos, ps_buf_avail(w), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->ev_write, NULL);
				break;
			}
			if (errno == ETIMEDOUT)
				log_info("conn %llu (%s): connection lost: %s", (unsigned long long)c->id, c->peer,
					 strerror(errno));
			else
				log_debug("conn %llu: write: %s", (unsigned long long)c->id, strerror(errno));
			return -1;
		}
		ps_buf_consume(w, (size_t)n);
		c->d->stats.bytes_out += (uint64_t)n;
	}
	/* Idle encrypted connections keep no output buffer either. */
	if (c->sealed && ps_buf_avail(w) == 0)
		ps_buf_free(w);
	/* After a fatal error, EOF right behind the report tells the peer
	 * nothing more is coming. */
	if (c->state == CONN_DRAINING && conn_pending(c) == 0)
		shutdown(c->fd, SHUT_WR);
	conn_account(c);
	return conn_backlog(c);
}

/* Answers the requests in the input and sends the replies, for as long
 * as the client takes them: requests held back by the backlog limit go
 * on as soon as a flush has made room, since no new input may come to
 * wake them (the client may have sent everything already). Returns -1
 * when the connection must be freed. */
static int conn_serve(struct conn *c)
{
	size_t before;

	do {
		before = ps_buf_avail(&c->in);
		conn_requests(c);
		if (conn_flush(c) < 0)
			return -1;
	} while (c->state == CONN_READY && !c->read_paused && ps_buf_avail(&c->in) > 0 &&
		 ps_buf_avail(&c->in) != before);
	return 0;
}

/* A connection with no partial message of its own reads into the
 * daemon's read space, lent for the callback: 10,000 idle connections
 * then hold no input buffer (a 64 KiB one each costs a page or two of
 * RSS each), and a busy one reads into memory that is already hot. */
static void conn_lend_input(struct conn *c)
{
	struct ps_buf *rb = &c->d->rbuf;

	if (ps_buf_avail(&c->in) > 0)
		return;
	ps_buf_free(&c->in);
	c->in = *rb;
	c->in.len = c->in.pos = 0;
	ps_buf_init(rb);
	c->in_lent = true;
}

/* Gives the read space back; what the connection has not used up (part
 * of a message, or requests held back by the backlog limit) is copied
 * into a buffer of its own. */
static void conn_return_input(struct conn *c)
{
	struct ps_buf *rb = &c->d->rbuf;
	struct ps_buf rest;

	if (!c->in_lent)
		return;
	c->in_lent = false;
	ps_buf_init(&rest);
	if (ps_buf_avail(&c->in) > 0 && ps_buf_append(&rest, c->in.data + c->in.pos, ps_buf_avail(&c->in)) < 0) {
		/* No memory for a copy: the connection keeps the space. */
		conn_account(c);
		return;
	}
	ps_buf_free(rb);
	*rb = c->in;
	rb->len = rb->pos = 0;
	c->in = rest;
	conn_account(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	/* An encrypted session reads records, opened into the input below. */
	struct ps_buf *dst = c->sealed ? &c->cin : &c->in;
	ssize_t n;

	(void)what;
	conn_lend_input(c);
	if (ps_buf_reserve(dst, CONN_READ_CHUNK) < 0) {
		conn_fatal(c, PS_E_NOMEM, "out of memory for input");
		goto flush;
	}
	do
		n = read(fd, dst->data + dst->len, dst->cap - dst->len);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		/* A peer that vanished (keepalive or TCP_USER_TIMEOUT gave up:
		 * ETIMEDOUT) or reset is worth a line; a close is not. */
		if (n < 0)
			log_info("conn %llu (%s): connection lost: %s", (unsigned long long)c->id, c->peer,
				 strerror(errno));
		conn_return_input(c);
		conn_free(c);
		return;
	}
	if (n < 0) {
		conn_return_input(c);
		return;
	}
	if (c->state == CONN_DRAINING) {
		dst->len = dst->pos = 0;
		conn_return_input(c);
		return;
	}
	dst->len += (size_t)n;
	c->d->stats.bytes_in += (uint64_t)n;
	if (c->sealed && conn_unseal(c) < 0)
		goto flush;
	if (c->state == CONN_HANDSHAKE)
		conn_handshake(c);
	n = conn_serve(c);
	conn_return_input(c);
	if (n < 0)
		conn_free(c);
	return;
flush:
	conn_return_input(c);
	if (conn_flush(c) < 0)
		conn_free(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	/* Also serves requests left waiting while the backlog was over the
	 * limit. */
	if (conn_serve(c) < 0)
		conn_free(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint8_t rec[PS_HS_REFUSE_MAX];

	(void)fd;
	(void)what;
	if (c->state == CONN_HANDSHAKE && c->hello_held) {
		char source[THROTTLE_SOURCE_MAX];

		/* Its turn came: check the hello, then serve what followed it. */
		c->hello_held = false;
		throttle_source(c->peer, source, sizeof source);
		conn_check_hello(c, source);
		if (c->state == CONN_READY)
			event_add(c->ev_read, NULL);
		if (conn_serve(c) < 0)
			conn_free(c);
		return;
	}
	if (c->state == CONN_READY) {
		log_warn("conn %llu (%s): cut off: replies unread for %d ms", (unsigned long long)c->id, c->peer,
			 c->d->cfg.backlog_ms);
		conn_free(c);
		return;
	}
	if (c->state == CONN_HANDSHAKE) {
		log_info("conn %llu (%s): handshake not completed in %d ms", (unsigned long long)c->id,
			 c->peer, c->d->cfg.handshake_ms);
		send_now(c->fd, rec, ps_hs_refuse(rec, "Timeout", "handshake not completed in time"));
	}
	conn_free(c);
}
