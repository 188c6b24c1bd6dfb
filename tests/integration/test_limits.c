/*
 * Every limit the daemon enforces, each at its value and just past it,
 * with the clear error the client gets, and another client still served
 * afterwards: connections, message size, nesting depth, container items,
 * memory, the backlog of unread replies, unauthenticated time and failed
 * authentications. SECURITY.md points here for each claim.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_hs.h"
#include "ps_mp.h"
#include "ps_rpc.h"
#include "../lib/tdaemon.h"
#include "../lib/tfix.h"
#include "../lib/traw.h"
#include "../lib/tutil.h"
#include "../lib/tval.h"

#define LIMIT_MESSAGE 1024      /* --max-message in the size tests */
#define WAIT_MS 10000           /* deadline for something that must happen */

static void start(struct tfix *f, const char *const *args)
{
	if (tdaemon_start(&f->td, args) < 0)
		fail_msg("daemon did not start");
}

static void raw_auth(struct tfix *f, struct traw *r)
{
	char refusal[256] = "";

	assert_int_equal(traw_connect_unix(r, f->td.sock), 0);
	if (traw_handshake(r, f->td.key, f->td.keylen, refusal, sizeof refusal) != 0)
		fail_msg("handshake failed: %s", refusal);
}

/* Encodes [params...] from text (tval notation). */
static const uint8_t *P(const char *text, size_t *len)
{
	return tval_enc(text, len);
}

/* Sends a request and returns the response's error code ("" on success). */
static const char *call_raw(struct traw *r, uint32_t msgid, const char *method, const char *params)
{
	static char code[64], msg[256];
	size_t len;
	const uint8_t *p = P(params, &len);

	code[0] = '\0';
	assert_int_equal(traw_request(r, msgid, method, p, len), 0);
	int rc = traw_response(r, msgid, code, sizeof code, msg, sizeof msg);
	if (rc < 0)
		fail_msg("no response to %s", method);
	return rc == 0 ? "" : code;
}

/* The client's view of a call: "ok" or "!Code". */
static const char *C(ps_ctx *ctx, const char *method, const char *params)
{
	void *res = NULL;
	size_t len = 0, plen;
	const uint8_t *p = P(params, &plen);
	int rc = ps_call(ctx, method, p, plen, &res, &len);

	return tval_res(ctx, rc, res, len);
}

/* ---- connections ------------------------------------------------------------ */

/* N connections are served; the N+1th gets "LimitExceeded: too many
 * connections" instead of a server hello; once one closes, a new one is
 * served again. */
static void test_connection_limit(void **state)
{
	static const char *const args[] = { "--max-connections", "3", NULL };
	struct tfix *f = *state;
	ps_ctx *c[3];
	ps_ctx *extra;
	struct traw r;
	char refusal[256] = "";

	start(f, args);
	for (int i = 0; i < 3; i++) {
		c[i] = tdaemon_connect(&f->td);
		assert_int_equal(ps_ping(c[i]), 0);
	}
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	assert_int_equal(traw_read_greeting(&r, refusal, sizeof refusal, WAIT_MS), 1);
	assert_string_equal(refusal, "LimitExceeded: too many connections");
	assert_int_equal(traw_wait_eof(&r, WAIT_MS), 0);
	traw_close(&r);
	extra = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	assert_int_equal(ps_err(extra), PS_ERR_AUTH);
	assert_string_equal(ps_errcode(extra), "LimitExceeded");
	ps_free(extra);
	/* Room again once a client leaves (the daemon notices the close on
	 * its next loop turn: retry until then). */
	ps_free(c[0]);
	extra = tfix_connect_retry(&f->td, WAIT_MS);
	assert_int_equal(ps_ping(extra), 0);
	assert_int_equal(ps_ping(c[1]), 0);
	ps_free(extra);
	ps_free(c[1]);
	ps_free(c[2]);
}

/* ---- message size and depth ------------------------------------------------- */

/* A request of exactly n bytes: list.append of a bin padded to fit. */
static void sized_append(struct ps_buf *b, uint32_t msgid, uint64_t id, size_t n)
{
	msgpack_packer pk;
	size_t hdr, pad;
	uint8_t *fill;

	for (size_t guess = n; ; guess--) {
		b->len = b->pos = 0;
		ps_mp_packer(&pk, b);
		ps_rpc_put_request(&pk, msgid, "list.append", 2);
		msgpack_pack_uint64(&pk, id);
		hdr = b->len;
		pad = guess - hdr;
		msgpack_pack_bin(&pk, (uint32_t)(pad - (pad > 255 + 2 ? 3 : 2)));
		fill = calloc(1, pad);
		msgpack_pack_bin_body(&pk, fill, pad - (pad > 255 + 2 ? 3 : 2));
		free(fill);
		if (b->len <= n)
			break;
	}
	assert_int_equal(b->len, n);
}

/* A request of exactly the limit is served; one byte more is refused with
 * the notification TooLarge and the connection is closed; a reply over
 * the limit is replaced by the error response TooLarge. */
static void test_message_size_limit(void **state)
{
	static const char *const args[] = { "--max-message", "1024", NULL };
	struct tfix *f = *state;
	struct traw r, other;
	struct ps_buf b;
	char code[64], msg[256];
	const char *res;

	start(f, args);
	raw_auth(f, &r);
	raw_auth(f, &other);
	assert_string_equal(call_raw(&r, 1, "create", "[\"list\"]"), "");
	ps_buf_init(&b);
	sized_append(&b, 2, 1, LIMIT_MESSAGE);
	assert_int_equal(traw_send(&r, b.data, b.len), 0);
	assert_int_equal(traw_response(&r, 2, code, sizeof code, msg, sizeof msg), 0);
	/* Two items of ~1000 bytes: list.copy's reply passes the limit. */
	res = call_raw(&r, 3, "list.copy", "[1]");
	assert_string_equal(res, "");
	sized_append(&b, 4, 1, LIMIT_MESSAGE);
	assert_int_equal(traw_send(&r, b.data, b.len), 0);
	assert_int_equal(traw_response(&r, 4, code, sizeof code, msg, sizeof msg), 0);
	assert_string_equal(call_raw(&r, 5, "list.copy", "[1]"), "TooLarge");
	assert_string_equal(call_raw(&r, 6, "list.len", "[1]"), "");
	/* One byte past the limit. */
	sized_append(&b, 7, 1, LIMIT_MESSAGE + 1);
	assert_int_equal(traw_send(&r, b.data, b.len), 0);
	assert_int_equal(traw_error_notification(&r, code, sizeof code, msg, sizeof msg), 0);
	assert_string_equal(code, "TooLarge");
	assert_int_equal(traw_wait_eof(&r, WAIT_MS), 0);
	assert_string_equal(call_raw(&other, 1, "list.len", "[1]"), "");
	ps_buf_free(&b);
	traw_close(&r);
	traw_close(&other);
}

/* Sends [0, msgid, "ping", [[[...]]]] nested depth levels in all. */
static void send_nested(struct traw *r, uint32_t msgid, int depth)
{
	uint8_t buf[128];
	size_t n = 0;

	buf[n++] = 0x94;
	buf[n++] = 0x00;
	buf[n++] = (uint8_t)msgid;
	buf[n++] = 0xa4;
	memcpy(buf + n, "ping", 4);
	n += 4;
	for (int i = 1; i < depth; i++)
		buf[n++] = 0x91;        /* params, then arrays of one */
	buf[n - 1] = 0x90;              /* the innermost is empty */
	assert_int_equal(traw_send(r, buf, n), 0);
}

/* Depth 32 (the message's own array counting as 1) is read and answered
 * (ping takes no params: TypeError); 33 gets TooLarge and a close. */
static void test_nesting_limit(void **state)
{
	struct tfix *f = *state;
	struct traw r;
	char code[64], msg[256];

	start(f, NULL);
	raw_auth(f, &r);
	send_nested(&r, 1, PS_MAX_DEPTH);
	assert_int_equal(traw_response(&r, 1, code, sizeof code, msg, sizeof msg), 1);
	assert_string_equal(code, "TypeError");
	send_nested(&r, 2, PS_MAX_DEPTH + 1);
	assert_int_equal(traw_error_notification(&r, code, sizeof code, msg, sizeof msg), 0);
	assert_string_equal(code, "TooLarge");
	assert_non_null(strstr(msg, "nested too deeply"));
	assert_int_equal(traw_wait_eof(&r, WAIT_MS), 0);
	traw_close(&r);
}

/* ---- container items -------------------------------------------------------- */

/* --max-items 5: each container takes its 5th item and refuses a 6th
 * with LimitExceeded, leaving its contents unchanged; replacing an item
 * at the limit is still allowed. */
static void test_container_items_limit(void **state)
{
	static const char *const args[] = { "--max-items", "5", NULL };
	struct tfix *f = *state;
	ps_ctx *ctx;

	start(f, args);
	ctx = tdaemon_connect(&f->td);
	/* list: 1 */
	assert_string_equal(C(ctx, "create", "[\"list\", [[1, 2, 3, 4]]]"), "1");
	assert_string_equal(C(ctx, "list.extend", "[1, [5, 6]]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "list.len", "[1]"), "4");
	assert_string_equal(C(ctx, "list.append", "[1, 5]"), "nil");
	assert_string_equal(C(ctx, "list.append", "[1, 6]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "list.insert", "[1, 0, 6]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "list.copy", "[1]"), "[1, 2, 3, 4, 5]");
	assert_string_equal(C(ctx, "list.setitem", "[1, 0, 9]"), "nil");
	/* dict: 2 */
	assert_string_equal(C(ctx, "create", "[\"dict\"]"), "2");
	assert_string_equal(C(ctx, "dict.update", "[2, {\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}]"), "nil");
	assert_string_equal(C(ctx, "dict.update", "[2, {\"a\": 0, \"e\": 5, \"f\": 6}]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "dict.get", "[2, \"a\"]"), "1");
	assert_string_equal(C(ctx, "dict.set", "[2, \"e\", 5]"), "nil");
	assert_string_equal(C(ctx, "dict.set", "[2, \"f\", 6]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "dict.incr", "[2, \"g\", 1]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "dict.set", "[2, \"a\", 7]"), "nil");
	assert_string_equal(C(ctx, "dict.len", "[2]"), "5");
	/* queue: 3 */
	assert_string_equal(C(ctx, "create", "[\"queue\"]"), "3");
	for (int i = 0; i < 5; i++)
		assert_string_equal(C(ctx, "queue.put_nowait", "[3, 1]"), "nil");
	assert_string_equal(C(ctx, "queue.put_nowait", "[3, 1]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "queue.qsize", "[3]"), "5");
	/* set: 4 */
	assert_string_equal(C(ctx, "create", "[\"set\"]"), "4");
	assert_string_equal(C(ctx, "set.update", "[4, [1, 2, 3, 4, 5]]"), "nil");
	assert_string_equal(C(ctx, "set.add", "[4, 6]"), "!LimitExceeded");
	assert_string_equal(C(ctx, "set.add", "[4, 5]"), "nil");
	assert_string_equal(C(ctx, "set.len", "[4]"), "5");
	ps_free(ctx);
}

/* ---- memory ------------------------------------------------------------------ */

/* --max-memory 1M: stores of 8 KiB values succeed until the budget is
 * reached, then fail with OutOfMemory and change nothing; the daemon stays
 * small and serves; freeing values makes room again. 32 MB of attempts
 * leave the daemon's resident size far below them. Connection buffers
 * count in the same budget, so a little under 1 MiB of values fit. */
static void test_memory_limit(void **state)
{
	static const char *const args[] = { "--max-memory", "1M", NULL };
	struct tfix *f = *state;
	static uint8_t blob[8192];
	ps_ctx *ctx;
	ps_list *l;
	size_t stored = 0, n = 0;
	int failures = 0;

	start(f, args);
	ctx = tdaemon_connect(&f->td);
	l = ps_list_open(ctx, "big");
	assert_non_null(l);
	for (int i = 0; i < 4000; i++) {
		blob[0] = (uint8_t)i;
		if (ps_list_append_bytes(l, blob, sizeof blob) == 0) {
			assert_int_equal(failures, 0);
			stored++;
			continue;
		}
		assert_int_equal(ps_err(ctx), PS_ERR_REMOTE);
		assert_string_equal(ps_errcode(ctx), "OutOfMemory");
		failures++;
	}
	/* At the limit: 1 MiB holds fewer than 128 values of 8 KiB. */
	if (stored < 64 || stored >= 128)
		fail_msg("%zu values stored", stored);
	assert_int_equal(ps_list_len(l, &n), 0);
	assert_int_equal(n, stored);
	/* (Under make valgrind the process measured would be valgrind.) */
	if (getenv("PS_VALGRIND_DAEMON") == NULL)
		assert_true(tfix_rss_kb(f->td.pid) < 64 * 1024);
	assert_int_equal(ps_ping(ctx), 0);
	/* Room again after a pop. */
	assert_int_equal(ps_list_del(l, 0), 0);
	assert_int_equal(ps_list_append_bytes(l, blob, sizeof blob), 0);
	assert_int_not_equal(ps_list_append_bytes(l, blob, sizeof blob), 0);
	assert_string_equal(ps_errcode(ctx), "OutOfMemory");
	ps_list_free(l);
	ps_free(ctx);
}

/* ---- backlog of unread replies -------------------------------------------- */

/* Waits until the daemon has closed r's connection, without reading
 * (reading would relieve the backlog): POLLRDHUP says the peer is gone. */
static int wait_closed(struct traw *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLRDHUP };
	int64_t deadline = tutil_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - tutil_now_ms();
		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return 0;
	}
}

/* Sends up to max requests (same length each) without reading, until
 * the daemon stops taking them for FLOOD_IDLE_MS. Returns how many were
 * sent whole. Written in large batches, as a pipelining client would. */
#define FLOOD_IDLE_MS 300
static int flood(struct traw *r, const char *method, const char *params, int max)
{
	size_t plen, one, off = 0;
	const uint8_t *p = P(params, &plen);
	struct ps_buf b;
	msgpack_packer pk;

	assert_true(max <= 60000);      /* msgids 1000..61000 encode alike */
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	for (int i = 0; i < max; i++) {
		ps_rpc_put_request(&pk, (uint32_t)(1000 + i), method, 0);
		b.len--;                /* the empty params array header */
		ps_buf_append(&b, p, plen);
	}
	one = b.len / (size_t)max;
	while (off < b.len) {
		ssize_t w = send(r->fd, b.data + off, b.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pf = { .fd = r->fd, .events = POLLOUT };

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN)
			break;
		if (poll(&pf, 1, FLOOD_IDLE_MS) <= 0)
			break;
	}
	ps_buf_free(&b);
	return (int)(off / one);
}

/* Pings on ctx for n rounds; fails when any takes over max_ms. */
static void pings_fast(ps_ctx *ctx, int n, int max_ms)
{
	for (int i = 0; i < n; i++) {
		int64_t t0 = tutil_now_ms();
		assert_int_equal(ps_ping(ctx), 0);
		if (tutil_now_ms() - t0 > max_ms)
			fail_msg("ping %d took %lld ms", i, (long long)(tutil_now_ms() - t0));
	}
}

/* Milliseconds n pings take. */
static int64_t pings_ms(ps_ctx *ctx, int n)
{
	int64_t t0 = tutil_now_ms();

	for (int i = 0; i < n; i++)
		assert_int_equal(ps_ping(ctx), 0);
	return tutil_now_ms() - t0;
}

/* Others keep their speed: n pings take at most 4 times (plus 250 ms of
 * scheduling noise) what they took with nobody misbehaving. */
static void same_speed(ps_ctx *ctx, int n, int64_t base_ms)
{
	int64_t ms = pings_ms(ctx, n);

	if (ms > 4 * base_ms + 250)
		fail_msg("%d pings took %lld ms, %lld ms before", n, (long long)ms, (long long)base_ms);
}

/* A client that asks for replies and does not read them is first no
 * longer read, then cut off once its backlog has stayed over the limit
 * for --backlog-timeout; one that catches up before then keeps its
 * connection and gets every reply. Another client keeps its speed. */
static void test_backlog_timeout(void **state)
{
	static const char *const args[] = { "--max-message", "1024", "--backlog-timeout", "2000", NULL };
	struct tfix *f = *state;
	struct traw r;
	ps_ctx *other;
	int sent, got = 0;
	int64_t t0, base;

	start(f, args);
	other = tdaemon_connect(&f->td);
	base = pings_ms(other, 200);
	assert_string_equal(C(other, "open", "[\"list\", \"l\"]"), "1");
	assert_string_equal(C(other, "list.extend", "[1, [b\"00\", b\"01\", b\"02\"]]"), "nil");
	/* Replies of ~800 bytes: each 20-byte request asks for 40 times its size. */
	for (int i = 0; i < 3; i++) {
		char p[1100];
		snprintf(p, sizeof p, "[1, %d, b\"%0800d\"]", i, 0);
		assert_string_equal(C(other, "list.setitem", p), "nil");
	}
	/* Under the limit for a while, then reading: nothing is lost. */
	raw_auth(f, &r);
	sent = flood(&r, "list.getitem", "[1, 0]", 400);
	assert_true(sent > 0);
	t0 = tutil_now_ms();
	same_speed(other, 200, base);
	while (got < sent) {
		char code[64], msg[256];
		if (traw_response(&r, (uint32_t)(1000 + got), code, sizeof code, msg, sizeof msg) != 0)
			fail_msg("reply %d of %d missing", got, sent);
		got++;
	}
	/* Past the timeout: cut off, not before it. */
	sent = flood(&r, "list.getitem", "[1, 0]", 60000);
	t0 = tutil_now_ms();
	same_speed(other, 200, base);
	assert_int_equal(wait_closed(&r, WAIT_MS), 0);
	assert_true(tutil_now_ms() - t0 >= 2000 - FLOOD_IDLE_MS - 300);
	same_speed(other, 200, base);
	traw_close(&r);
	ps_free(other);
}

/* Replies to parked calls keep coming after reading paused; past twice
 * the backlog limit plus one message the client is cut off at once,
 * without waiting for the timeout. */
static void test_backlog_hard_cap(void **state)
{
	static const char *const args[] = { "--max-message", "1024", "--backlog-timeout", "600000", NULL };
	struct tfix *f = *state;
	struct traw r;
	ps_ctx *other;
	ps_queue *q;
	char item[900];
	int parked;
	int64_t t0;

	start(f, args);
	other = tdaemon_connect(&f->td);
	q = ps_queue_open(other, "q", 0);
	assert_non_null(q);
	raw_auth(f, &r);
	parked = flood(&r, "queue.get", "[1, true, nil]", 800);
	assert_int_equal(parked, 800);
	/* The daemon has read them all once the queue reports its getters:
	 * a put that finds one hands the item over at once. */
	memset(item, 'x', sizeof item);
	item[sizeof item - 1] = '\0';
	t0 = tutil_now_ms();
	for (int i = 0; i < 800 && wait_closed(&r, 0) < 0; i++)
		assert_int_equal(ps_queue_put_str(q, item, 1, 10), 0);
	assert_int_equal(wait_closed(&r, WAIT_MS), 0);
	assert_true(tutil_now_ms() - t0 < WAIT_MS);
	assert_int_equal(ps_ping(other), 0);
	traw_close(&r);
	ps_queue_free(q);
	ps_free(other);
}

/* ---- authentication ---------------------------------------------------------- */

/* A peer that has not sent its client hello when --handshake-timeout
 * passes gets "Timeout: handshake not completed in time"; one that sends
 * it before is accepted. */
static void test_handshake_timeout(void **state)
{
	static const char *const args[] = { "--handshake-timeout", "600", NULL };
	struct tfix *f = *state;
	struct traw r;
	uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE] = { 1 };
	uint8_t rec[PS_HS_ACCEPT];
	char refusal[256] = "";
	int64_t t0;

	start(f, args);
	/* Just before the limit. */
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	t0 = tutil_now_ms();
	assert_int_equal(traw_recv(&r, shello, sizeof shello, WAIT_MS), (ssize_t)sizeof shello);
	/* Nothing comes for 300 ms (a deadline on the socket, not a sleep). */
	assert_int_equal(traw_recv(&r, rec, 1, 300), -1);
	ps_hs_client_hello(chello, shello, nonce, f->td.key, f->td.keylen);
	assert_int_equal(traw_send(&r, chello, sizeof chello), 0);
	assert_int_equal(traw_recv(&r, rec, sizeof rec, WAIT_MS), (ssize_t)sizeof rec);
	assert_int_equal(ps_hs_check_accept(rec, shello, chello, f->td.key, f->td.keylen), 0);
	traw_close(&r);
	/* Past it. */
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	t0 = tutil_now_ms();
	assert_int_equal(traw_recv(&r, shello, sizeof shello, WAIT_MS), (ssize_t)sizeof shello);
	assert_int_equal(traw_read_greeting(&r, refusal, sizeof refusal, WAIT_MS), 1);
	assert_string_equal(refusal, "Timeout: handshake not completed in time");
	assert_true(tutil_now_ms() - t0 >= 550);
	traw_close(&r);
}

/* One failed handshake with a wrong key: returns the refusal text and
 * the milliseconds from sending the hello to the refusal. */
static int64_t wrong_key(struct tfix *f, char *refusal, size_t rlen)
{
	struct traw r;
	uint8_t bad[8] = "wrongkey";
	int64_t t0, dt;

	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	t0 = tutil_now_ms();
	assert_int_equal(traw_handshake(&r, bad, sizeof bad, refusal, rlen), -2);
	dt = tutil_now_ms() - t0;
	traw_close(&r);
	return dt;
}

/* After THROTTLE_FREE_FAILURES (3) failures from one source, each next
 * hello waits its turn: 250 ms after the previous check, then 500, ...;
 * the wait is a timer (another client's calls stay fast meanwhile), and
 * a correct key still gets in. */
static void test_failed_auth_slowed(void **state)
{
	struct tfix *f = *state;
	char refusal[256];
	int64_t dt[6];
	ps_ctx *other, *good;
	struct traw r;
	uint8_t bad[8] = "wrongkey";

	start(f, NULL);
	other = tdaemon_connect(&f->td);
	for (int i = 0; i < 6; i++) {
		dt[i] = wrong_key(f, refusal, sizeof refusal);
		assert_string_equal(refusal, "AuthFailed: wrong authkey");
	}
	/* The first 4 checks are immediate (the 4th opens the throttle). */
	for (int i = 0; i < 4; i++)
		if (dt[i] > 200)
			fail_msg("attempt %d took %lld ms", i + 1, (long long)dt[i]);
	/* Then 250 ms, then 500 ms between checks. */
	assert_true(dt[4] >= 150);
	assert_true(dt[5] >= 350);
	/* During a held hello the loop serves others. */
	assert_int_equal(traw_connect_unix(&r, f->td.sock), 0);
	{
		uint8_t shello[PS_HS_SERVER_HELLO], chello[PS_HS_CLIENT_HELLO], nonce[PS_HS_NONCE] = { 2 };
		int64_t t0 = tutil_now_ms();

		assert_int_equal(traw_recv(&r, shello, sizeof shello, WAIT_MS), (ssize_t)sizeof shello);
		ps_hs_client_hello(chello, shello, nonce, bad, sizeof bad);
		assert_int_equal(traw_send(&r, chello, sizeof chello), 0);
		pings_fast(other, 50, 100);
		assert_int_equal(traw_read_greeting(&r, refusal, sizeof refusal, WAIT_MS), 1);
		assert_string_equal(refusal, "AuthFailed: wrong authkey");
		assert_true(tutil_now_ms() - t0 >= 700);
	}
	traw_close(&r);
	/* The key holder gets in, after its turn. */
	good = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	assert_int_equal(ps_err(good), PS_ERR_NONE);
	assert_int_equal(ps_ping(good), 0);
	/* And its success clears the source's record. */
	dt[0] = wrong_key(f, refusal, sizeof refusal);
	assert_true(dt[0] < 200);
	ps_free(good);
	ps_free(other);
}

/* A source whose next turn is further away than the handshake timeout is
 * refused at once, unchecked: "LimitExceeded: too many failed
 * authentications; try again later". */
static void test_failed_auth_refused_when_far(void **state)
{
	static const char *const args[] = { "--handshake-timeout", "700", NULL };
	struct tfix *f = *state;
	char refusal[256];
	int limited = 0;

	start(f, args);
	for (int i = 0; i < 8 && !limited; i++) {
		wrong_key(f, refusal, sizeof refusal);
		if (strcmp(refusal, "LimitExceeded: too many failed authentications; try again later") == 0)
			limited = 1;
		else
			assert_string_equal(refusal, "AuthFailed: wrong authkey");
	}
	assert_true(limited);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connection_limit, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_message_size_limit, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_nesting_limit, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_container_items_limit, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_memory_limit, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_backlog_timeout, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_backlog_hard_cap, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_timeout, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_failed_auth_slowed, tfix_setup_bare, tfix_teardown),
		cmocka_unit_test_setup_teardown(test_failed_auth_refused_when_far, tfix_setup_bare, tfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
