/*
 * Fuzzer for the request dispatcher: decoded messages run against a live
 * in-process registry with every shared type, from several connections,
 * the way conn.c feeds them, including connections that close with calls
 * parked and locks held.
 *
 * The input is a stream of MessagePack messages as they arrive after the
 * handshake. Each request is routed by its msgid to one of FUZZ_CONNS
 * connections (msgid % FUZZ_CONNS) and renumbered with a fresh msgid, so
 * replies can be matched whatever the input. The method "fuzz.close"
 * (intercepted here) closes that connection and opens a new one in its
 * place. Anything that is not a request goes to the dispatcher as is.
 *
 * Invariants, checked per input:
 * - every reply is a well-formed response or error notification with a
 *   known error code (fuzz_check_replies);
 * - a request is answered at most once, and only a request that was sent
 *   is answered; one that got no reply at once is parked and answered
 *   later or dropped when its connection closes;
 * - a reply written at once fits the message size limit;
 * - after every connection closed and the registry is freed, the stored
 *   bytes accounting is back to zero (fuzz_daemon_free), and LeakSanitizer
 *   finds nothing (libFuzzer checks leaks per input).
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "dispatch.h"
#include "fuzz_common.h"
#include "ps_mp.h"
#include "ps_rpc.h"

#define FUZZ_CONNS 3
#define FUZZ_MAX_REQ 512

struct fconn {
	struct conn *c;
	int peer;                       /* the client's end: open while connected */
	uint8_t state[FUZZ_MAX_REQ];    /* per msgid: 0 unused, 1 parked, 2 answered */
	bool raw;                       /* a message not renumbered is being answered */
};

struct fuzz {
	struct daemon d;
	struct fconn fc[FUZZ_CONNS];
	uint32_t next_msgid;
	struct ps_buf msg;
};

static void noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void reply_cb(void *arg, int kind, uint32_t msgid, bool error)
{
	struct fconn *fc = arg;

	(void)error;
	/* A malformed message is answered with whatever msgid it had. */
	if (kind != PS_MSG_RESPONSE || fc->raw)
		return;
	FUZZ_CHECK(msgid < FUZZ_MAX_REQ);
	/* Answered once, and only what was asked. */
	FUZZ_CHECK(fc->state[msgid] == 1);
	fc->state[msgid] = 2;
}

/* Checks and discards what the daemon wrote to a connection. */
static void drain(struct fconn *fc)
{
	struct conn *c = fc->c;
	size_t used;

	if (ps_buf_avail(&c->out) == 0)
		return;
	used = fuzz_check_replies(c->out.data + c->out.pos, ps_buf_avail(&c->out), reply_cb, fc);

	/* Replies are written whole. */
	FUZZ_CHECK(used == ps_buf_avail(&c->out));
	ps_buf_consume(&c->out, used);
}

/* The write event: what conn_schedule_flush triggers for parked replies. */
static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

/* A connection as conn_accept leaves it once the handshake passed. */
static void open_conn(struct fuzz *f, struct fconn *fc)
{
	struct daemon *d = &f->d;
	struct conn *c = calloc(1, sizeof *c);
	int sv[2];

	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	c->d = d;
	c->fd = sv[1];
	c->id = ++d->next_conn_id;
	c->state = CONN_READY;
	snprintf(c->peer, sizeof c->peer, "fuzz %d", (int)(fc - f->fc));
	ps_buf_init(&c->in);
	ps_buf_init(&c->out);
	ps_buf_init(&c->reply);
	ps_mp_scan_reset(&c->scan);
	odict_init(&c->handles);
	TAILQ_INIT(&c->waiters);
	TAILQ_INIT(&c->hooks);
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->nconns++;
	c->ev_read = event_new(d->base, sv[1], EV_READ, noop_cb, NULL);
	c->ev_write = event_new(d->base, -1, 0, write_cb, fc);
	c->ev_timer = evtimer_new(d->base, noop_cb, NULL);
	FUZZ_CHECK(c->ev_read != NULL && c->ev_write != NULL && c->ev_timer != NULL);
	fc->c = c;
	fc->peer = sv[0];
	memset(fc->state, 0, sizeof fc->state);
}

/* The client goes away: the daemon sees the hang-up and frees it. */
static void close_conn(struct fconn *fc)
{
	drain(fc);
	close(fc->peer);
	conn_free(fc->c);
	fc->c = NULL;
	fc->peer = -1;
}

/* Re-encodes request m as [0, msgid, method, params] with our msgid. */
static void renumber(struct ps_buf *out, const struct ps_rpc_msg *m, uint32_t msgid)
{
	msgpack_packer pk;

	out->len = out->pos = 0;
	ps_mp_packer(&pk, out);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, PS_MSG_REQUEST);
	msgpack_pack_uint32(&pk, msgid);
	msgpack_pack_str(&pk, m->method_len);
	msgpack_pack_str_body(&pk, m->method, m->method_len);
	msgpack_pack_array(&pk, m->params.left);
	ps_buf_append(out, m->params.p, m->params.n);
	FUZZ_CHECK(!out->oom);
}

static void one_message(struct fuzz *f, const uint8_t *p, size_t n)
{
	struct ps_rpc_msg m;
	struct fconn *fc;
	char err[128];
	bool msgid_ok;
	size_t before;

	if (ps_rpc_decode(p, n, &m, &msgid_ok, err, sizeof err) < 0 || m.type != PS_MSG_REQUEST) {
		fc = &f->fc[0];
		fc->raw = true;
		dispatch_message(&f->d, fc->c, p, n, &fc->c->out);
		drain(fc);
		fc->raw = false;
		return;
	}
	fc = &f->fc[m.msgid % FUZZ_CONNS];
	if (m.method_len == 10 && memcmp(m.method, "fuzz.close", 10) == 0) {
		close_conn(fc);
		open_conn(f, fc);
		return;
	}
	if (f->next_msgid >= FUZZ_MAX_REQ)
		return;
	uint32_t id = f->next_msgid++;
	renumber(&f->msg, &m, id);
	fc->state[id] = 1;
	before = ps_buf_avail(&fc->c->out);
	dispatch_message(&f->d, fc->c, f->msg.data, f->msg.len, &fc->c->out);
	/* A reply written at once fits the limit (parked ones may be
	 * answered in the same call by the request itself: a release that
	 * hands a lock to this connection's own waiter is a second reply). */
	FUZZ_CHECK(ps_buf_avail(&fc->c->out) - before <= 2 * (FUZZ_MAX_MESSAGE + 512));
	drain(fc);
	fuzz_daemon_run(&f->d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	struct ps_mp_scan s;
	size_t off = 0, n;

	fuzz_daemon_init(&f.d);
	f.next_msgid = 0;
	ps_buf_init(&f.msg);
	for (int i = 0; i < FUZZ_CONNS; i++)
		open_conn(&f, &f.fc[i]);
	ps_mp_scan_reset(&s);
	/* conn.c hands the dispatcher only complete messages within the
	 * depth and size limits. */
	while (off < size && ps_mp_scan(&s, data + off, size - off, PS_MAX_DEPTH, &n) == PS_SCAN_DONE) {
		/* A copy of exactly the message: ASan sees reads past it. */
		uint8_t *p = malloc(n);
		FUZZ_CHECK(p != NULL);
		memcpy(p, data + off, n);
		one_message(&f, p, n);
		free(p);
		off += n;
	}
	for (int i = 0; i < FUZZ_CONNS; i++)
		close_conn(&f.fc[i]);
	ps_buf_free(&f.msg);
	fuzz_daemon_free(&f.d);
	return 0;
}
