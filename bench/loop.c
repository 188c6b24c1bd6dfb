/*
 * The event-loop engine: every connection in one epoll set, one thread.
 * Pipelining works as redis-benchmark's -P does: a connection sends depth
 * operations in one write, and sends the next depth when all of them have
 * been answered. With one connection the loop blocks in read() instead of
 * epoll_wait(), as a program making one call at a time does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"
#include "procshare.h"

#define LOOP_EVENTS 1024

struct lconn {
	int idx;
	struct wire w;
	struct ps_buf in, out;  /* plaintext: answers read, requests to write */
	struct ps_mp_scan scan;
	uint32_t msgid;
	uint64_t rng;
	uint64_t t0;            /* when the batch was sent */
	uint8_t reqs[LG_MAX_DEPTH]; /* requests of each operation of the batch */
	int nops, done_ops;     /* operations in the batch, answered so far */
	int left_in_op;         /* answers still owed to the current operation */
	bool want_out;          /* EPOLLOUT armed */
	bool active;
};

struct loop {
	const struct lg_opts *o;
	const struct lg_objs *objs;
	struct lconn *c;
	int epfd;
	int sched_pos;
	uint64_t issued;
	uint64_t deadline;      /* ns; 0 when counting operations */
	int active;
	bool failed;
	bool error_shown;
	struct lg_result *res;
};

/* ---- setup ---- */

/* Gives every key of the keyspace the value, in updates of about
 * LG_FILL_CHUNK bytes (big values must not make one message too big). */
static int fill_keyspace(const struct lg_opts *o, ps_dict *d)
{
	size_t per = LG_FILL_CHUNK / (o->value_len + 20) + 1;
	struct ps_buf b;
	msgpack_packer pk;
	int r = 0;

	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	for (size_t i = 0; r == 0 && i < (size_t)o->keys; i += per) {
		size_t n = (size_t)o->keys - i < per ? (size_t)o->keys - i : per;
		b.len = b.pos = 0;
		msgpack_pack_map(&pk, (uint32_t)n);
		for (size_t j = i; j < i + n; j++) {
			char k[16];
			wire_key(k, j);
			msgpack_pack_str(&pk, sizeof k);
			msgpack_pack_str_body(&pk, k, sizeof k);
			ps_buf_append(&b, o->value, o->value_len);
		}
		r = b.oom ? -1 : ps_dict_update(d, b.data, b.len);
	}
	ps_buf_free(&b);
	return r;
}

static bool mix_has(const struct lg_opts *o, enum lg_op op)
{
	for (int i = 0; i < o->nsched; i++)
		if (o->sched[i] == op)
			return true;
	return false;
}

static int setup_fail(ps_ctx *ctx, const char *what)
{
	fprintf(stderr, "loadgen: setup: %s: %s\n", what, ps_errstr(ctx));
	return -1;
}

/* Named objects outlive the setup connection, so ids stay valid for the
 * run after it closes. */
static int setup_objects(ps_ctx *ctx, const struct lg_opts *o, struct lg_objs *objs)
{
	if (mix_has(o, OP_GET) || mix_has(o, OP_SET)) {
		ps_dict *d = ps_dict_open(ctx, "bench.dict");
		if (d == NULL)
			return setup_fail(ctx, "dict");
		objs->dict = ps_dict_id(d);
		if (mix_has(o, OP_GET) && fill_keyspace(o, d) < 0) {
			ps_dict_free(d);
			return setup_fail(ctx, "filling the dict");
		}
		ps_dict_free(d);
	}
	if (mix_has(o, OP_APPEND)) {
		ps_list *l = ps_list_open(ctx, "bench.list");
		if (l == NULL)
			return setup_fail(ctx, "list");
		objs->list = ps_list_id(l);
		ps_list_free(l);
	}
	if (mix_has(o, OP_QUEUE)) {
		ps_queue *q = ps_queue_open(ctx, "bench.queue", 0);
		if (q == NULL)
			return setup_fail(ctx, "queue");
		objs->queue = ps_queue_id(q);
		ps_queue_free(q);
	}
	if (mix_has(o, OP_VALUE)) {
		ps_value *v = ps_value_open_int(ctx, "bench.value", 'q', 0);
		if (v == NULL)
			return setup_fail(ctx, "value");
		objs->value = ps_value_id(v);
		ps_value_free(v);
	}
	return 0;
}

static int setup_locks(ps_ctx *ctx, const struct lg_opts *o, struct lg_objs *objs)
{
	objs->locks = calloc((size_t)o->conns, sizeof *objs->locks);
	if (objs->locks == NULL)
		return -1;
	if (!mix_has(o, OP_LOCK))
		return 0;
	for (int i = 0; i < o->conns; i++) {
		char name[32];
		snprintf(name, sizeof name, "bench.lock.%d", i);
		ps_lock *l = ps_lock_open(ctx, name, PS_LOCK);
		if (l == NULL)
			return setup_fail(ctx, "lock");
		objs->locks[i] = ps_lock_id(l);
		ps_lock_free(l);
	}
	return 0;
}

int loop_setup(const struct lg_opts *o, const uint8_t *key, size_t keylen, struct lg_objs *objs)
{
	ps_ctx *ctx = ps_connect_mode(o->addr, key, keylen, o->enc);
	int r;

	memset(objs, 0, sizeof *objs);
	if (ctx == NULL || ps_err(ctx) != 0) {
		fprintf(stderr, "loadgen: cannot connect to %s: %s\n", o->addr, ctx ? ps_errstr(ctx) : "out of memory");
		ps_free(ctx);
		return -1;
	}
	r = setup_objects(ctx, o, objs) < 0 || setup_locks(ctx, o, objs) < 0 ? -1 : 0;
	ps_free(ctx);
	return r;
}

/* ---- the run ---- */

static bool may_issue(struct loop *L, uint64_t now)
{
	if (L->o->ops > 0)
		return L->issued < L->o->ops;
	return now < L->deadline;
}

static void arm_out(struct loop *L, struct lconn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == on || L->epfd < 0)
		return;
	c->want_out = on;
	epoll_ctl(L->epfd, EPOLL_CTL_MOD, c->w.fd, &ev);
}

static int flush(struct loop *L, struct lconn *c)
{
	struct ps_buf *b = wire_pending(&c->w, &c->out);

	if (b == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return -1;
	}
	while (ps_buf_avail(b) > 0) {
		ssize_t n = send(c->w.fd, b->data + b->pos, ps_buf_avail(b), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			arm_out(L, c, true);
			return 0;
		}
		if (n < 0) {
			fprintf(stderr, "loadgen: writing to the daemon: %s\n", strerror(errno));
			return -1;
		}
		ps_buf_consume(b, (size_t)n);
	}
	arm_out(L, c, false);
	return 0;
}

/* Sends the next batch, or retires the connection when the run is over. */
static int start_batch(struct loop *L, struct lconn *c, uint64_t now)
{
	c->nops = c->done_ops = 0;
	while (c->nops < L->o->depth && may_issue(L, now)) {
		enum lg_op op = L->o->sched[L->sched_pos++ % L->o->nsched];
		c->reqs[c->nops++] = (uint8_t)wire_put_op(&c->out, L->o, op, L->objs, c->idx, &c->msgid, &c->rng);
		L->issued++;
	}
	if (c->nops == 0) {
		c->active = false;
		L->active--;
		return 0;
	}
	if (c->out.oom) {
		fprintf(stderr, "loadgen: out of memory\n");
		return -1;
	}
	c->left_in_op = c->reqs[0];
	c->t0 = now;
	return flush(L, c);
}

static void on_answer(struct loop *L, struct lconn *c, bool is_error, const uint8_t *p, size_t n, uint64_t now)
{
	if (is_error) {
		L->res->errors++;
		if (!L->error_shown) {
			L->error_shown = true;
			fprintf(stderr, "loadgen: error reply: %.*s\n", (int)(n > 200 ? 200 : n), (const char *)p);
		}
	}
	if (--c->left_in_op > 0)
		return;
	hist_add(&L->res->lat, now - c->t0);
	L->res->ops++;
	if (++c->done_ops < c->nops)
		c->left_in_op = c->reqs[c->done_ops];
}

/* Answers what has arrived; starts the next batch when this one is done. */
static int on_input(struct loop *L, struct lconn *c, bool block)
{
	uint64_t now = 0;
	size_t size;
	int r;

	while (c->done_ops < c->nops) {
		const uint8_t *res;
		size_t rlen;
		uint32_t msgid;
		bool is_error;

		r = wire_next_msg(&c->w, &c->in, &c->scan, block, &size);
		if (r <= 0)
			return r;
		if (now == 0)
			now = wire_now_ns();
		if (wire_reply(c->in.data + c->in.pos, size, &is_error, &msgid, &res, &rlen) < 0)
			return -1;
		on_answer(L, c, is_error, res, rlen, now);
		ps_buf_consume(&c->in, size);
	}
	return start_batch(L, c, now ? now : wire_now_ns());
}

static int read_some(struct lconn *c)
{
	ssize_t n = wire_read(&c->w, &c->in);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		if (n == 0 || errno != EPROTO)
			fprintf(stderr, "loadgen: reading from the daemon: %s\n",
				n == 0 ? "connection closed" : strerror(errno));
		return -1;
	}
	return 0;
}

static int run_single(struct loop *L)
{
	struct lconn *c = &L->c[0];

	if (start_batch(L, c, wire_now_ns()) < 0)
		return -1;
	while (c->active)
		if (on_input(L, c, true) < 0)
			return -1;
	return 0;
}

static int run_epoll(struct loop *L)
{
	struct epoll_event evs[LOOP_EVENTS];
	uint64_t now = wire_now_ns();

	for (int i = 0; i < L->o->conns; i++)
		if (start_batch(L, &L->c[i], now) < 0)
			return -1;
	while (L->active > 0) {
		int n = epoll_wait(L->epfd, evs, LOOP_EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			struct lconn *c = evs[i].data.ptr;
			if (!c->active)
				continue;
			if ((evs[i].events & EPOLLOUT) && flush(L, c) < 0)
				return -1;
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    (read_some(c) < 0 || on_input(L, c, false) < 0))
				return -1;
		}
	}
	return 0;
}

static int open_conns(struct loop *L, const uint8_t *key, size_t keylen)
{
	for (int i = 0; i < L->o->conns; i++) {
		struct lconn *c = &L->c[i];
		c->idx = i;
		c->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		c->msgid = 1;
		c->active = true;
		ps_buf_init(&c->in);
		ps_buf_init(&c->out);
		ps_mp_scan_reset(&c->scan);
		if (wire_connect(&c->w, L->o->addr, key, keylen, L->o->enc) < 0)
			return -1;
		L->active++;
		/* All connections alike, or the run says nothing certain. */
		if (i == 0)
			L->res->encrypted = c->w.sealed;
		else if (L->res->encrypted != c->w.sealed)
			L->res->encrypted = -1;
		if (L->epfd >= 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
			fcntl(c->w.fd, F_SETFL, fcntl(c->w.fd, F_GETFL) | O_NONBLOCK);
			if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, c->w.fd, &ev) < 0)
				return -1;
		}
	}
	return 0;
}

static void close_conns(struct loop *L)
{
	for (int i = 0; i < L->o->conns; i++) {
		struct lconn *c = &L->c[i];
		wire_close(&c->w);
		ps_buf_free(&c->in);
		ps_buf_free(&c->out);
	}
}

int loop_run(const struct lg_opts *o, const uint8_t *key, size_t keylen, const struct lg_objs *objs,
	     struct lg_result *res)
{
	struct loop L = { .o = o, .objs = objs, .epfd = -1, .res = res };
	uint64_t t0;
	int r = -1;

	L.c = calloc((size_t)o->conns, sizeof *L.c);
	if (L.c == NULL)
		return -1;
	for (int i = 0; i < o->conns; i++)
		L.c[i].w.fd = -1;
	if (o->conns > 1 && (L.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	if (open_conns(&L, key, keylen) < 0)
		goto out;
	t0 = wire_now_ns();
	L.deadline = t0 + (uint64_t)(o->secs * 1e9);
	r = o->conns == 1 ? run_single(&L) : run_epoll(&L);
	res->secs = (double)(wire_now_ns() - t0) / 1e9;
out:
	close_conns(&L);
	if (L.epfd >= 0)
		close(L.epfd);
	free(L.c);
	return r;
}
