/*
 * The in-process daemon of the fuzz harnesses, and reply checks.
 */
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "conn.h"
#include "fuzz_common.h"
#include "log.h"
#include "ps_mp.h"
#include "ps_proto.h"
#include "ps_rpc.h"
#include "registry.h"

static struct event_base *shared_base;

void fuzz_daemon_init(struct daemon *d)
{
	if (shared_base == NULL) {
		FUZZ_CHECK(sodium_init() >= 0);
		log_set_level(LOG_ERROR);
		shared_base = event_base_new();
		FUZZ_CHECK(shared_base != NULL);
	}
	memset(d, 0, sizeof *d);
	TAILQ_INIT(&d->conns);
	d->base = shared_base;
	d->cfg.max_message = FUZZ_MAX_MESSAGE;
	d->cfg.max_conns = 8;
	d->cfg.handshake_ms = 1000;
	d->cfg.max_backlog = 4 * FUZZ_MAX_MESSAGE;
	d->cfg.backlog_ms = 30000;
	/* Small limits, so that inputs reach them. */
	d->cfg.max_items = FUZZ_MAX_ITEMS;

	d->key = (uint8_t *)FUZZ_KEY;
	d->keylen = strlen(FUZZ_KEY);
	FUZZ_CHECK(registry_init(&d->reg) == 0);
	d->reg.max_bytes = FUZZ_MAX_MEMORY;
}

void fuzz_daemon_run(struct daemon *d)
{
	/* A few passes: a callback may schedule another (a flush after a
	 * parked call was answered by a release on another connection). */
	for (int i = 0; i < 4; i++)
		event_base_loop(d->base, EVLOOP_NONBLOCK);
}

void fuzz_daemon_free(struct daemon *d)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&d->conns)) != NULL)
		conn_free(c);
	FUZZ_CHECK(d->nconns == 0);
	/* Every connection's buffers were uncounted when it went. */
	FUZZ_CHECK(d->reg.other_bytes == 0);
	fuzz_daemon_run(d);
	registry_free(&d->reg);
	/* Every stored value was freed through val_free. */
	FUZZ_CHECK(d->reg.held_bytes == 0);
}

static bool check_error_obj(const uint8_t *p, size_t n)
{
	char code[64], text[300];
	int c;

	if (ps_rpc_read_error(p, n, &c, code, sizeof code, text, sizeof text) < 0)
		return false;
	/* The daemon only sends codes of its own table. */
	return ps_code_from_name(code, strlen(code)) >= 0;
}

size_t fuzz_check_replies(const uint8_t *p, size_t n, fuzz_reply_fn fn, void *arg)
{
	struct ps_mp_scan s;
	struct ps_rpc_msg m;
	struct ps_mp_tok t;
	size_t off = 0, size;
	char err[128];
	bool msgid_ok;

	ps_mp_scan_reset(&s);
	while (off < n) {
		int r = ps_mp_scan(&s, p + off, n - off, PS_MAX_DEPTH, &size);
		if (r == PS_SCAN_MORE)
			break;
		/* Whatever the daemon sends must scan and fit the limits. */
		FUZZ_CHECK(r == PS_SCAN_DONE);
		if (ps_rpc_decode(p + off, size, &m, &msgid_ok, err, sizeof err) < 0) {
			fprintf(stderr, "the daemon sent a malformed message (%s):", err);
			for (size_t i = 0; i < size && i < 256; i++)
				fprintf(stderr, " %02x", p[off + i]);
			fprintf(stderr, "\n");
			abort();
		}
		if (m.type == PS_MSG_RESPONSE) {
			FUZZ_CHECK(ps_mp_token(m.error, m.error_len, &t) == 1);
			if (t.type != PS_MP_NIL) {
				FUZZ_CHECK(check_error_obj(m.error, m.error_len));
				FUZZ_CHECK(m.result_len == 1 && m.result[0] == 0xc0);
			}
			fn(arg, PS_MSG_RESPONSE, m.msgid, t.type != PS_MP_NIL);
		} else {
			FUZZ_CHECK(m.type == PS_MSG_NOTIFY);
			FUZZ_CHECK(m.method_len == 5 && memcmp(m.method, "error", 5) == 0);
			FUZZ_CHECK(m.params.left == 2);
			fn(arg, PS_MSG_NOTIFY, 0, true);
		}
		off += size;
	}
	return off;
}
