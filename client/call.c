/*
 * Requests in flight on one connection, shared by any number of threads.
 *
 * A call registers a slot under a fresh msgid, sends its request whole,
 * then waits for the slot to be answered. Answers may come in any order,
 * so nobody owns the socket's input: whichever waiting thread finds the
 * reader role free takes it (leader/follower). The reader polls and reads
 * with ctx->mu released, then, holding it, cuts the input into messages,
 * copies each answer into its slot and wakes the waiters. When its own
 * answer has come, or its time is up, it hands the role back and wakes the
 * others so one of them takes it over. A call that times out takes its
 * slot away; an answer that arrives later finds no slot and is dropped.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "ps_rpc.h"

/* ---- slots ---- */

static void slot_add(ps_ctx *ctx, struct ps_slot *s)
{
	memset(s, 0, sizeof *s);
	s->msgid = ctx->next_msgid++;
	s->next = ctx->slots;
	if (ctx->slots != NULL)
		ctx->slots->prev = s;
	ctx->slots = s;
	s->linked = true;
}

static void slot_remove(ps_ctx *ctx, struct ps_slot *s)
{
	if (!s->linked)
		return;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ctx->slots = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->linked = false;
}

/* A list, not a table: each thread has one request in flight, so the list
 * is as long as the number of threads waiting. */
static struct ps_slot *slot_find(ps_ctx *ctx, uint32_t msgid)
{
	struct ps_slot *s;

	for (s = ctx->slots; s != NULL; s = s->next)
		if (s->msgid == msgid)
			return s;
	return NULL;
}

/* ---- dispatching what the daemon sent ---- */

/* An answer: copy its result (or error object) into the waiting slot. */
static int on_response(ps_ctx *ctx, const struct ps_rpc_msg *m)
{
	struct ps_slot *s = slot_find(ctx, m->msgid);
	const uint8_t *p;
	size_t n;

	if (s == NULL)
		return 0;
	s->remote = !(m->error_len == 1 && m->error[0] == 0xc0);
	p = s->remote ? m->error : m->result;
	n = s->remote ? m->error_len : m->result_len;
	s->data = malloc(n);
	if (s->data != NULL) {
		memcpy(s->data, p, n);
		s->len = n;
	} else {
		s->oom = true;
	}
	s->done = true;
	slot_remove(ctx, s);
	return 1;
}

/* The daemon announces an error it cannot tie to a request, then closes
 * the connection: keep its words as the connection's epitaph. */
static int on_notify(ps_ctx *ctx, struct ps_rpc_msg *m)
{
	struct ps_mp_tok code, msg;
	char name[PS_ERRCODE_MAX];

	if (m->method_len != 5 || memcmp(m->method, "error", 5) != 0)
		return 0;       /* notifications this version does not know */
	if (ps_args_tok(&m->params, &code) < 0 || code.type != PS_MP_STR ||
	    ps_args_tok(&m->params, &msg) < 0 || msg.type != PS_MP_STR)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon sent a malformed error notification");
	snprintf(name, sizeof name, "%.*s", (int)code.v.n, (const char *)code.data);
	return ps_err_stick(ctx, PS_ERR_PROTOCOL, name, "daemon closed the connection: %s: %.*s", name,
			    (int)msg.v.n, (const char *)msg.data);
}

/* One complete message. Returns 1 when it completed a slot, 0 when not,
 * -1 when it broke the connection. */
static int dispatch(ps_ctx *ctx, const uint8_t *p, size_t n)
{
	struct ps_rpc_msg m;
	bool msgid_ok;
	char why[128];

	if (ps_rpc_decode(p, n, &m, &msgid_ok, why, sizeof why) < 0)
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon sent a malformed message: %s", why);
	switch (m.type) {
	case PS_MSG_RESPONSE:
		return on_response(ctx, &m);
	case PS_MSG_NOTIFY:
		return on_notify(ctx, &m);
	default:
		return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon sent a request to the client");
	}
}

/* Dispatches every complete message in the read buffer. Returns 0, or -1
 * when the connection broke. */
static int dispatch_input(ps_ctx *ctx)
{
	struct ps_buf *b = &ctx->rbuf;
	int completed = 0, r;
	size_t size;

	while (ps_buf_avail(b) > 0) {
		r = ps_mp_scan(&ctx->scan, b->data + b->pos, ps_buf_avail(b), PS_MAX_DEPTH, &size);
		if (r == PS_SCAN_MORE) {
			if (ctx->scan.off > PS_CLIENT_MAX_MESSAGE)
				ps_err_stick(ctx, PS_ERR_PROTOCOL, "TooLarge", "daemon sent a message over %u bytes",
					     PS_CLIENT_MAX_MESSAGE);
			break;
		}
		if (r != PS_SCAN_DONE) {
			ps_err_stick(ctx, PS_ERR_PROTOCOL, "", r == PS_SCAN_DEEP ?
				     "daemon sent a message nested too deeply" : "daemon sent invalid MessagePack");
			break;
		}
		r = dispatch(ctx, b->data + b->pos, size);
		ps_buf_consume(b, size);
		if (r < 0)
			break;
		completed += r;
	}
	if (ps_buf_avail(b) == 0 && b->cap > PS_READ_KEEP)
		ps_buf_free(b);
	if (completed > 0)
		pthread_cond_broadcast(&ctx->cv);
	return ctx->sticky.kind != PS_ERR_NONE ? -1 : 0;
}

/* ---- reading ---- */

static int read_fail(ps_ctx *ctx, int err)
{
	char buf[128];

	return ps_err_stick(ctx, PS_ERR_IO, "", "reading from the daemon: %s", ps_io_strerror(err, buf, sizeof buf));
}

/* Opens the records read into cin and dispatches what they carried. The
 * records before a bad one are genuine and are answered; after it,
 * nothing can be trusted. Returns 1, or -1 when the connection broke. */
static int open_records(ps_ctx *ctx)
{
	int r = ps_seal_open(&ctx->rx, &ctx->cin, &ctx->rbuf);

	if (ps_buf_avail(&ctx->cin) == 0 && ctx->cin.cap > PS_READ_KEEP)
		ps_buf_free(&ctx->cin);
	if (dispatch_input(ctx) < 0)
		return -1;
	if (r != PS_SEAL_OK)
		return ps_err_stick(ctx, r == PS_SEAL_NOMEM ? PS_ERR_OOM : PS_ERR_PROTOCOL, "",
				    "reading from the daemon at %s: %s", ctx->addr, ps_seal_strerror(r));
	return 1;
}

/* Waits for input until d and reads what has come into room bytes at at.
 * Runs without ctx->mu. Returns the bytes read (0 at EOF), -1 with errno,
 * or -2 when d passed. */
static ssize_t read_some(int fd, uint8_t *at, size_t room, const struct ps_deadline *d)
{
	int r;

	/* With no deadline, a blocking read() is the wait: one system call
	 * instead of two. */
	if (d->forever)
		return read(fd, at, room);
	r = ps_io_wait(fd, POLLIN, d);
	if (r <= 0)
		return r == 0 ? -2 : -1;
	return recv(fd, at, room, MSG_DONTWAIT);
}

/* The reader's turn: waits for input until d, reads what has come and
 * dispatches it. Called and returns with ctx->mu held, which it releases
 * while blocked. Returns 1 when it made progress, 0 when d passed, -1
 * when the connection broke. */
static int read_round(ps_ctx *ctx, const struct ps_deadline *d)
{
	/* An encrypted session reads records into cin and opens them. */
	struct ps_buf *dst = ctx->sealed ? &ctx->cin : &ctx->rbuf;
	uint8_t *at;
	size_t room;
	ssize_t n;
	int err;

	if (ps_buf_reserve(dst, PS_READ_CHUNK) < 0)
		return ps_err_stick(ctx, PS_ERR_OOM, "", "out of memory reading from the daemon");
	at = dst->data + dst->len;
	room = dst->cap - dst->len;
	/* Only the reader touches rbuf and cin, so it may fill them unlocked. */
	pthread_mutex_unlock(&ctx->mu);
	n = read_some(ctx->fd, at, room, d);
	err = errno;
	pthread_mutex_lock(&ctx->mu);
	if (n == -2)
		return 0;
	if (n == 0)
		return ps_err_stick(ctx, PS_ERR_EOF, "", "daemon closed the connection");
	if (n < 0)
		return err == EAGAIN || err == EWOULDBLOCK || err == EINTR ? 1 : read_fail(ctx, err);
	dst->len += (size_t)n;
	if (ctx->sealed)
		return open_records(ctx);
	return dispatch_input(ctx) < 0 ? -1 : 1;
}

/* Holds the reader role until s is answered, d passes or the connection
 * breaks; then hands it back. */
static void lead(ps_ctx *ctx, struct ps_slot *s, const struct ps_deadline *d)
{
	ctx->reading = true;
	while (!s->done && read_round(ctx, d) > 0)
		;
	ctx->reading = false;
	pthread_cond_broadcast(&ctx->cv);
}

static void follow(ps_ctx *ctx, const struct ps_deadline *d)
{
	if (d->forever)
		pthread_cond_wait(&ctx->cv, &ctx->mu);
	else
		pthread_cond_timedwait(&ctx->cv, &ctx->mu, &d->at);
}

/* Waits, ctx->mu held, until s is answered. Returns 0, or -1 with the
 * error set (s then unlinked). */
static int wait_slot(ps_ctx *ctx, struct ps_slot *s, const struct ps_deadline *d)
{
	while (!s->done) {
		if (ps_err_check_sticky(ctx) < 0) {
			slot_remove(ctx, s);
			return -1;
		}
		if (ps_deadline_passed(d)) {
			slot_remove(ctx, s);
			return ps_err_set(ctx, PS_ERR_TIMEOUT, "Timeout", "no answer from the daemon within %d ms",
					  atomic_load(&ctx->timeout_ms));
		}
		if (ctx->reading)
			follow(ctx, d);
		else
			lead(ctx, s, d);
	}
	return 0;
}

/* Gives the slot's answer to the caller, or records the daemon's error. */
static int finish(ps_ctx *ctx, struct ps_slot *s, struct ps_reply *out)
{
	char name[PS_ERRCODE_MAX], msg[PS_ERRSTR_MAX - PS_ERRCODE_MAX - 8];
	int code, r;

	if (s->oom)
		return ps_err_set(ctx, PS_ERR_OOM, "", "out of memory copying the daemon's answer");
	if (s->remote) {
		r = ps_rpc_read_error(s->data, s->len, &code, name, sizeof name, msg, sizeof msg);
		free(s->data);
		if (r < 0)
			return ps_err_stick(ctx, PS_ERR_PROTOCOL, "", "daemon sent a malformed error");
		return ps_err_set(ctx, PS_ERR_REMOTE, name, "%s: %s", name, msg);
	}
	if (out != NULL) {
		out->data = s->data;
		out->len = s->len;
	} else {
		free(s->data);
	}
	return 0;
}

/* ---- sending ---- */

/* When a send fails, the daemon has often explained why just before it
 * closed (a notification with "TooLarge", say). Reads what is already
 * there, unless another thread is the reader, so that explanation is the
 * error that sticks. */
static void read_leftovers(ps_ctx *ctx)
{
	struct ps_deadline now;

	if (ctx->reading)
		return;
	ps_deadline_init(&now, 0);
	ctx->reading = true;
	while (read_round(ctx, &now) > 0)
		;
	ctx->reading = false;
	pthread_cond_broadcast(&ctx->cv);
}

/* Records a failed send, ctx->mu held. Nothing sent and out of time is a
 * plain timeout; a half-sent request leaves the stream unusable. */
static int send_fail(ps_ctx *ctx, int err, size_t sent)
{
	char buf[128];

	if (err == ETIMEDOUT && sent == 0)
		return ps_err_set(ctx, PS_ERR_TIMEOUT, "Timeout", "timed out sending a request");
	read_leftovers(ctx);
	if (err == ETIMEDOUT)
		return ps_err_stick(ctx, PS_ERR_TIMEOUT, "", "timed out in the middle of sending a request");
	if (err == EPIPE || err == ECONNRESET)
		return ps_err_stick(ctx, PS_ERR_EOF, "", "daemon closed the connection");
	return ps_err_stick(ctx, PS_ERR_IO, "", "writing to the daemon: %s", ps_io_strerror(err, buf, sizeof buf));
}

/* Sends iov[0..cnt) as ps_io_send does, wmu held; in an encrypted session
 * as one or more records sealed now. A send that fails with nothing sent
 * leaves the record counter as it was: the stream stays usable. */
static int wire_send(ps_ctx *ctx, struct iovec *iov, int cnt, const struct ps_deadline *d, size_t *sent)
{
	struct iovec rec;
	uint64_t seq = ctx->tx.seq;
	int r;

	if (!ctx->sealed)
		return ps_io_send(ctx->fd, iov, cnt, d, sent);
	ctx->sbuf.len = ctx->sbuf.pos = 0;
	if (ps_seal_putv(&ctx->tx, iov, cnt, &ctx->sbuf) < 0) {
		*sent = 0;
		errno = ENOMEM;
		return -1;
	}
	rec.iov_base = ctx->sbuf.data;
	rec.iov_len = ctx->sbuf.len;
	r = ps_io_send(ctx->fd, &rec, 1, d, sent);
	if (r < 0 && *sent == 0)
		ctx->tx.seq = seq;
	/* A big request's records are not kept around. */
	if (ctx->sbuf.cap > PS_READ_KEEP)
		ps_buf_free(&ctx->sbuf);
	return r;
}

/* Sends [0, msgid, method, [params...]] in one system call when the socket
 * takes it. Holds wmu, not mu, so the reader can keep dispatching while a
 * large request drains. Returns 0, or -1 with errno and *sent. */
static int send_request(ps_ctx *ctx, uint32_t msgid, const char *method, uint32_t nparams,
			const uint8_t *params, size_t plen, const struct ps_deadline *d, size_t *sent)
{
	struct iovec iov[2];
	msgpack_packer pk;
	int r;

	pthread_mutex_lock(&ctx->wmu);
	ctx->wbuf.len = ctx->wbuf.pos = 0;
	ps_mp_packer(&pk, &ctx->wbuf);
	ps_rpc_put_request(&pk, msgid, method, nparams);
	if (ctx->wbuf.oom) {
		ctx->wbuf.oom = 0;
		pthread_mutex_unlock(&ctx->wmu);
		*sent = 0;
		errno = ENOMEM;
		return -1;
	}
	iov[0].iov_base = ctx->wbuf.data;
	iov[0].iov_len = ctx->wbuf.len;
	iov[1].iov_base = (void *)params;
	iov[1].iov_len = plen;
	r = wire_send(ctx, iov, 2, d, sent);
	pthread_mutex_unlock(&ctx->wmu);
	return r;
}

/* The deadline of a call the daemon may hold for hold_ms: a blocking call
 * must not be cut short by the context's timeout, which then only covers
 * the time an answer may take beyond the call's own wait. */
static void call_deadline(ps_ctx *ctx, int64_t hold_ms, struct ps_deadline *d)
{
	int t = atomic_load(&ctx->timeout_ms);

	if (hold_ms == 0 || t < 0) {
		ps_ctx_deadline(ctx, d);
		return;
	}
	if (hold_ms < 0 || hold_ms > INT_MAX - t)
		ps_deadline_init(d, -1);
	else
		ps_deadline_init(d, (int)hold_ms + t);
}

int ps_ctx_call(ps_ctx *ctx, const char *method, uint32_t nparams, const uint8_t *params, size_t plen,
		struct ps_reply *out)
{
	return ps_ctx_call_hold(ctx, method, nparams, params, plen, out, 0);
}

int ps_ctx_call_hold(ps_ctx *ctx, const char *method, uint32_t nparams, const uint8_t *params, size_t plen,
		     struct ps_reply *out, int64_t hold_ms)
{
	struct ps_deadline d;
	struct ps_slot s;
	size_t sent;
	int r, err;

	ps_ctx_lock(ctx);
	if (ps_err_check_sticky(ctx) < 0) {
		ps_ctx_unlock(ctx);
		return -1;
	}
	call_deadline(ctx, hold_ms, &d);
	slot_add(ctx, &s);
	pthread_mutex_unlock(&ctx->mu);
	r = send_request(ctx, s.msgid, method, nparams, params, plen, &d, &sent);
	err = errno;
	pthread_mutex_lock(&ctx->mu);
	if (r < 0) {
		slot_remove(ctx, &s);
		r = err == ENOMEM ? ps_err_set(ctx, PS_ERR_OOM, "", "out of memory building a request")
				  : send_fail(ctx, err, sent);
	} else {
		r = wait_slot(ctx, &s, &d);
		if (r == 0)
			r = finish(ctx, &s, out);
	}
	ps_ctx_unlock(ctx);
	return r;
}

/* ---- after a reconnect ---- */

/* Encodes one "retain" per handle the held table says we had. */
static int retain_encode(ps_ctx *ctx, struct ps_slot *slots, struct ps_buf *b)
{
	msgpack_packer pk;
	size_t k = 0;

	ps_mp_packer(&pk, b);
	for (size_t i = 0; i < ctx->nheld; i++) {
		for (uint32_t c = 0; c < ctx->held[i].count; c++, k++) {
			slot_add(ctx, &slots[k]);
			ps_rpc_put_request(&pk, slots[k].msgid, "retain", 1);
			msgpack_pack_uint64(&pk, ctx->held[i].id);
		}
	}
	return b->oom ? -1 : 0;
}

static size_t held_handles(const ps_ctx *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < ctx->nheld; i++)
		n += ctx->held[i].count;
	return n;
}

/* Waits for every retain. An object that is gone (its last handle was
 * the parent's, and the parent let go) is not an error here: its proxy
 * reports NoSuchObject when used. */
static int retain_wait(ps_ctx *ctx, struct ps_slot *slots, size_t n, const struct ps_deadline *d)
{
	int r = 0;

	for (size_t k = 0; k < n; k++) {
		if (r == 0 && wait_slot(ctx, &slots[k], d) == 0) {
			free(slots[k].data);
			continue;
		}
		r = -1;
		slot_remove(ctx, &slots[k]);
		free(slots[k].data);
	}
	return r;
}

int ps_call_retain_held(ps_ctx *ctx, const struct ps_deadline *d)
{
	size_t n = held_handles(ctx), sent;
	struct ps_slot *slots;
	struct ps_buf b;
	struct iovec iov;
	int r, err;

	if (n == 0)
		return 0;
	slots = calloc(n, sizeof *slots);
	ps_buf_init(&b);
	if (slots == NULL || retain_encode(ctx, slots, &b) < 0) {
		for (size_t k = 0; slots != NULL && k < n; k++)
			slot_remove(ctx, &slots[k]);
		r = ps_err_stick(ctx, PS_ERR_OOM, "", "out of memory taking handles again after fork");
		goto out;
	}
	/* All in one write, and with mu held: no other thread's request can
	 * reach the daemon before the handles it may rely on. */
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	pthread_mutex_lock(&ctx->wmu);
	r = wire_send(ctx, &iov, 1, d, &sent);
	pthread_mutex_unlock(&ctx->wmu);
	if (r < 0) {
		err = errno;
		for (size_t k = 0; k < n; k++)
			slot_remove(ctx, &slots[k]);
		r = send_fail(ctx, err, sent);
		goto out;
	}
	r = retain_wait(ctx, slots, n, d);
out:
	ps_buf_free(&b);
	free(slots);
	return r;
}

/* ---- global methods ---- */

int ps_call(ps_ctx *ctx, const char *method, const void *params, size_t plen, void **result, size_t *rlen)
{
	struct ps_reply rep;
	struct ps_mp_tok t;
	const uint8_t *p = params;

	if (ctx == NULL)
		return -1;
	if (method == NULL)
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: method is NULL");
	if (p == NULL || plen == 0) {
		p = (const uint8_t *)"";
		plen = 0;
		t.v.n = 0;
		t.size = 0;
	} else if (ps_mp_token(p, plen, &t) != 1 || t.type != PS_MP_ARRAY || ps_mp_skip(p, plen) != plen) {
		return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: params is not one encoded MessagePack array");
	}
	if (ps_ctx_call(ctx, method, t.v.n, p + t.size, plen - t.size, result != NULL ? &rep : NULL) < 0)
		return -1;
	if (result != NULL) {
		*result = rep.data;
		if (rlen != NULL)
			*rlen = rep.len;
	}
	return 0;
}

int ps_ping(ps_ctx *ctx)
{
	if (ctx == NULL)
		return -1;
	return ps_ctx_call(ctx, "ping", 0, NULL, 0, NULL);
}

int ps_delete(ps_ctx *ctx, const char *name)
{
	struct ps_req r;

	if (ctx == NULL)
		return -1;
	ps_req_init(&r, ctx);
	ps_req_str(&r, "name", name);
	return ps_req_call(&r, "delete", NULL);
}
