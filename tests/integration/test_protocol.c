/*
 * The wire protocol driven by hand over raw sockets: malformed frames,
 * the size limit at N and N+1, requests that are well-formed MessagePack
 * but not valid requests, unknown methods, wrong argument types, unknown
 * ids, pipelining. After each bad peer, another connection must still be
 * served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "ps_mp.h"
#include "ps_rpc.h"
#include "../lib/tdaemon.h"
#include "../lib/traw.h"
#include "../lib/tval.h"
#include "../lib/tvec.h"

#define MAX_MESSAGE 65536

struct fix {
	struct tdaemon td;
	struct traw r;          /* the connection under test */
	struct traw other;      /* a bystander that must keep working */
	ps_ctx *cli;            /* and one using the C client */
};

static int connect_auth(struct fix *f, struct traw *r)
{
	char refusal[256];
	int rc;

	if (traw_connect_unix(r, f->td.sock) < 0)
		return -1;
	rc = traw_handshake(r, f->td.key, f->td.keylen, refusal, sizeof refusal);
	if (rc != 0) {
		fprintf(stderr, "handshake: %d %s\n", rc, refusal);
		traw_close(r);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	static const char *const args[] = { "--max-message", "65536", NULL };
	struct fix *f = calloc(1, sizeof *f);

	if (f == NULL || tdaemon_start(&f->td, args) < 0) {
		free(f);
		return -1;
	}
	f->r.fd = f->other.fd = -1;
	f->cli = ps_connect(f->td.addr, f->td.key, f->td.keylen);
	if (f->cli == NULL || ps_err(f->cli) != PS_ERR_NONE || connect_auth(f, &f->r) < 0 ||
	    connect_auth(f, &f->other) < 0) {
		ps_free(f->cli);
		traw_close(&f->r);
		tdaemon_stop(&f->td);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	int rc;

	traw_close(&f->r);
	traw_close(&f->other);
	ps_free(f->cli);
	rc = tdaemon_stop(&f->td);
	free(f);
	return rc;
}

/* Sends a request whose params are given as text. */
static void req(struct traw *r, uint32_t msgid, const char *method, const char *params)
{
	size_t n;
	const uint8_t *p = tval_enc(params, &n);

	assert_int_equal(traw_request(r, msgid, method, p, n), 0);
}

/* The result (as text) of a request that must succeed. */
static const char *call_ok(struct traw *r, uint32_t msgid, const char *method, const char *params)
{
	char code[64], msg[256];
	int rc;

	req(r, msgid, method, params);
	rc = traw_response(r, msgid, code, sizeof code, msg, sizeof msg);
	if (rc != 0)
		fail_msg("%s %s: rc %d %s %s", method, params, rc, code, msg);
	return tval_text(r->m.result, r->m.result_len);
}

/* The error code of a request that must fail; the result must be nil. */
static const char *call_err(struct traw *r, uint32_t msgid, const char *method, const char *params)
{
	static char code[64];
	char msg[256];
	int rc;

	req(r, msgid, method, params);
	rc = traw_response(r, msgid, code, sizeof code, msg, sizeof msg);
	if (rc != 1)
		fail_msg("%s %s: expected an error response, rc %d", method, params, rc);
	assert_true(msg[0] != '\0');
	assert_int_equal(r->m.result_len, 1);
	assert_int_equal(r->m.result[0], 0xc0);
	return code;
}

/* The bystander connections are still served. */
static void other_works(struct fix *f)
{
	assert_string_equal(call_ok(&f->other, 77, "ping", "[]"), "\"pong\"");
	ps_set_timeout(f->cli, TDAEMON_CALL_MS);
	if (ps_ping(f->cli) != 0)
		fail_msg("client ping: %s", ps_errstr(f->cli));
}

/* ---- tests ------------------------------------------------------------------- */

/* ping, byte for byte as in proto/vectors/messages.txt. */
static void test_ping_vector(void **state)
{
	struct fix *f = *state;
	struct tvec *v = tvec_load("messages.txt");
	const uint8_t *reqb, *resp;
	size_t rn, sn;

	assert_non_null(v);
	reqb = tvec_get(v, "ping_request", &rn);
	resp = tvec_get(v, "ping_response", &sn);
	assert_non_null(reqb);
	assert_non_null(resp);
	assert_int_equal(traw_send(&f->r, reqb, rn), 0);
	assert_int_equal(traw_read_msg(&f->r, TRAW_TIMEOUT_MS), 0);
	assert_int_equal(f->r.msg_len, sn);
	assert_memory_equal(f->r.msg, resp, sn);
	tvec_free(v);
}

static void expect_notification_and_close(struct fix *f, const char *want)
{
	char code[64], msg[256];

	if (traw_error_notification(&f->r, code, sizeof code, msg, sizeof msg) < 0)
		fail_msg("no error notification");
	assert_string_equal(code, want);
	assert_true(msg[0] != '\0');
	assert_int_equal(traw_wait_eof(&f->r, TRAW_TIMEOUT_MS), 0);
}

/* A byte that is never valid MessagePack: ProtocolError, then close. */
static void test_invalid_byte(void **state)
{
	struct fix *f = *state;

	assert_int_equal(traw_send(&f->r, "\xc1", 1), 0);
	expect_notification_and_close(f, "ProtocolError");
	other_works(f);
}

/* The invalid byte deep inside an otherwise fine request. */
static void test_invalid_byte_inside(void **state)
{
	struct fix *f = *state;
	static const uint8_t bad[] = { 0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n', 'g', 0x91, 0xc1 };

	assert_int_equal(traw_send(&f->r, bad, sizeof bad), 0);
	expect_notification_and_close(f, "ProtocolError");
	other_works(f);
}

/* Nesting beyond PS_MAX_DEPTH is refused, and the peer is dropped. */
static void test_too_deep(void **state)
{
	struct fix *f = *state;
	uint8_t deep[PS_MAX_DEPTH + 40];

	memset(deep, 0x91, sizeof deep);
	deep[sizeof deep - 1] = 0x00;
	assert_int_equal(traw_send(&f->r, deep, sizeof deep), 0);
	{
		char code[64], msg[256];

		if (traw_error_notification(&f->r, code, sizeof code, msg, sizeof msg) < 0)
			fail_msg("no error notification");
		assert_true(strcmp(code, "ProtocolError") == 0 || strcmp(code, "TooLarge") == 0);
	}
	assert_int_equal(traw_wait_eof(&f->r, TRAW_TIMEOUT_MS), 0);
	other_works(f);
}

/* Half a request, then the peer goes away: nothing breaks. */
static void test_truncated_then_close(void **state)
{
	struct fix *f = *state;
	static const uint8_t half[] = { 0x94, 0x00, 0x01, 0xa4, 'p', 'i' };

	assert_int_equal(traw_send(&f->r, half, sizeof half), 0);
	traw_close(&f->r);
	other_works(f);
	/* And garbage that never completes, on a fresh connection. */
	assert_int_equal(connect_auth(f, &f->r), 0);
	assert_int_equal(traw_send(&f->r, "\xdb\x00\x00\x10\x00xyz", 8), 0);
	assert_int_equal(shutdown(f->r.fd, SHUT_WR), 0);
	/* The daemon sees EOF mid-message and closes its side. */
	assert_int_equal(traw_wait_eof(&f->r, TRAW_TIMEOUT_MS), 0);
	other_works(f);
}

/* Valid MessagePack that is not a request, with no msgid to answer:
 * a notification, and the connection stays open. */
static void test_not_a_request(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
		"5", "\"ping\"", "[]", "[0]", "{\"a\": 1}", "[9, 1, \"ping\", []]",
		"[0, 7, \"ping\"]",             /* 3 elements: not read as a request */
		"[0, -1, \"ping\", []]",        /* no valid msgid */
	};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		size_t n;
		const uint8_t *p = tval_enc(bad[k], &n);
		char code[64], msg[256];

		assert_int_equal(traw_send(&f->r, p, n), 0);
		if (traw_error_notification(&f->r, code, sizeof code, msg, sizeof msg) < 0)
			fail_msg("%s: no error notification", bad[k]);
		assert_string_equal(code, "ProtocolError");
	}
	assert_string_equal(call_ok(&f->r, 1, "ping", "[]"), "\"pong\"");
}

/* A readable msgid makes it an error response instead. */
static void test_bad_request_with_msgid(void **state)
{
	struct fix *f = *state;
	static const char *const bad[] = {
		"[0, 7, 5, []]",                /* method not a str */
		"[0, 7, \"ping\", 5]",          /* params not an array */
		"[0, 7, \"ping\", {}]",
	};

	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		size_t n;
		const uint8_t *p = tval_enc(bad[k], &n);
		char code[64], msg[256];

		assert_int_equal(traw_send(&f->r, p, n), 0);
		if (traw_response(&f->r, 7, code, sizeof code, msg, sizeof msg) != 1)
			fail_msg("%s: no error response for msgid 7", bad[k]);
		assert_string_equal(code, "ProtocolError");
	}
	assert_string_equal(call_ok(&f->r, 8, "ping", "[]"), "\"pong\"");
	other_works(f);
}

/* [0, 1, "list.append", [id, bin N]] encoded to exactly total bytes. */
static uint8_t *sized_request(uint64_t id, size_t total, size_t *len)
{
	for (size_t n = total > 64 ? total - 64 : 0; n <= total; n++) {
		struct ps_buf b;
		msgpack_packer pk;
		uint8_t *body;

		ps_buf_init(&b);
		ps_mp_packer(&pk, &b);
		ps_rpc_put_request(&pk, 1, "list.append", 2);
		msgpack_pack_uint64(&pk, id);
		msgpack_pack_bin(&pk, n);
		if (b.len + n == total) {
			body = calloc(1, n ? n : 1);
			assert_non_null(body);
			msgpack_pack_bin_body(&pk, body, n);
			free(body);
			*len = b.len;
			return b.data;
		}
		ps_buf_free(&b);
	}
	fail_msg("cannot size a request to %zu bytes", total);
	return NULL;
}

static uint64_t create_list(struct traw *r)
{
	const char *id = call_ok(r, 2, "create", "[\"list\", []]");

	return strtoull(id, NULL, 10);
}

/* A message of exactly --max-message bytes is accepted. */
static void test_size_limit_exact(void **state)
{
	struct fix *f = *state;
	uint64_t id = create_list(&f->r);
	size_t n;
	uint8_t *msg = sized_request(id, MAX_MESSAGE, &n);
	char code[64], emsg[256];
	char params[64];

	assert_int_equal(n, MAX_MESSAGE);
	assert_int_equal(traw_send(&f->r, msg, n), 0);
	free(msg);
	if (traw_response(&f->r, 1, code, sizeof code, emsg, sizeof emsg) != 0)
		fail_msg("a %d-byte message was refused: %s %s", MAX_MESSAGE, code, emsg);
	snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
	assert_string_equal(call_ok(&f->r, 3, "list.len", params), "1");
}

/* One byte more: TooLarge, the connection is closed and the request
 * did nothing. */
static void test_size_limit_over(void **state)
{
	struct fix *f = *state;
	const char *id = call_ok(&f->other, 2, "open", "[\"list\", \"big\", true, []]");
	char params[64];
	size_t n;
	uint8_t *msg;

	snprintf(params, sizeof params, "[%s]", id);
	assert_string_equal(call_ok(&f->r, 3, "open", "[\"list\", \"big\", false, []]"), id);
	msg = sized_request(strtoull(id, NULL, 10), MAX_MESSAGE + 1, &n);
	assert_int_equal(n, MAX_MESSAGE + 1);
	/* The daemon may close before reading it all: ignore EPIPE. */
	traw_send(&f->r, msg, n);
	free(msg);
	expect_notification_and_close(f, "TooLarge");
	assert_string_equal(call_ok(&f->other, 4, "list.len", params), "0");
	other_works(f);
}

/* Far over the limit. */
static void test_size_limit_far_over(void **state)
{
	struct fix *f = *state;
	uint64_t id = create_list(&f->r);
	size_t n;
	uint8_t *msg = sized_request(id, 4 * MAX_MESSAGE, &n);

	traw_send(&f->r, msg, n);
	free(msg);
	expect_notification_and_close(f, "TooLarge");
	other_works(f);
}

static void test_unknown_method(void **state)
{
	struct fix *f = *state;
	uint64_t id = create_list(&f->r);
	char params[64];

	assert_string_equal(call_err(&f->r, 10, "nosuch", "[]"), "NoSuchMethod");
	assert_string_equal(call_err(&f->r, 11, "", "[]"), "NoSuchMethod");
	assert_string_equal(call_err(&f->r, 12, "frob.nicate", "[1]"), "NoSuchMethod");
	snprintf(params, sizeof params, "[%llu]", (unsigned long long)id);
	assert_string_equal(call_err(&f->r, 13, "list.frobnicate", params), "NoSuchMethod");
	/* The connection stays usable. */
	assert_string_equal(call_ok(&f->r, 14, "list.len", params), "0");
	other_works(f);
}

static void test_wrong_argument_types(void **state)
{
	struct fix *f = *state;
	uint64_t id = create_list(&f->r);
	char p[128];

	assert_string_equal(call_err(&f->r, 20, "list.len", "[\"x\"]"), "TypeError");
	assert_string_equal(call_err(&f->r, 21, "list.len", "[]"), "TypeError");
	assert_string_equal(call_err(&f->r, 22, "create", "[5, []]"), "TypeError");
	assert_string_equal(call_err(&f->r, 23, "create", "[\"nosuchtype\", []]"), "TypeError");
	assert_string_equal(call_err(&f->r, 24, "open", "[\"dict\", 7, true, []]"), "TypeError");
	assert_string_equal(call_err(&f->r, 25, "ping", "[1]"), "TypeError");
	snprintf(p, sizeof p, "[%llu, \"x\"]", (unsigned long long)id);
	assert_string_equal(call_err(&f->r, 26, "list.getitem", p), "TypeError");
	snprintf(p, sizeof p, "[%llu, 1.5]", (unsigned long long)id);
	assert_string_equal(call_err(&f->r, 27, "list.getitem", p), "TypeError");
	snprintf(p, sizeof p, "[%llu, 0, 1, 2, 3]", (unsigned long long)id);
	assert_string_equal(call_err(&f->r, 28, "list.getitem", p), "TypeError");
	/* dict methods on a list */
	snprintf(p, sizeof p, "[%llu]", (unsigned long long)id);
	assert_string_equal(call_err(&f->r, 29, "dict.len", p), "TypeError");
	assert_string_equal(call_ok(&f->r, 30, "ping", "[]"), "\"pong\"");
	other_works(f);
}

static void test_no_such_object(void **state)
{
	struct fix *f = *state;

	assert_string_equal(call_err(&f->r, 40, "list.len", "[999999]"), "NoSuchObject");
	assert_string_equal(call_err(&f->r, 41, "dict.getitem", "[999999, \"k\"]"), "NoSuchObject");
	assert_string_equal(call_err(&f->r, 42, "release", "[999999]"), "NoSuchObject");
	assert_string_equal(call_err(&f->r, 43, "retain", "[999999]"), "NoSuchObject");
	assert_string_equal(call_err(&f->r, 44, "delete", "[\"no such name\"]"), "NoSuchObject");
	assert_string_equal(call_err(&f->r, 45, "open", "[\"dict\", \"absent\", false, []]"), "NoSuchObject");
	assert_string_equal(call_ok(&f->r, 46, "ping", "[]"), "\"pong\"");
	other_works(f);
}

/* Many requests in one write: one response each, msgids intact. */
static void test_pipelining(void **state)
{
	struct fix *f = *state;
	struct ps_buf b;
	msgpack_packer pk;
	enum { K = 500 };
	static uint8_t seen[K];

	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	for (uint32_t i = 0; i < K; i++)
		ps_rpc_put_request(&pk, 1000 + i, "ping", 0);
	assert_int_equal(traw_send(&f->r, b.data, b.len), 0);
	ps_buf_free(&b);
	memset(seen, 0, sizeof seen);
	for (int i = 0; i < K; i++) {
		assert_int_equal(traw_read_msg(&f->r, TRAW_TIMEOUT_MS), 0);
		assert_int_equal(f->r.m.type, PS_MSG_RESPONSE);
		assert_true(f->r.m.msgid >= 1000 && f->r.m.msgid < 1000 + K);
		assert_int_equal(seen[f->r.m.msgid - 1000], 0);
		seen[f->r.m.msgid - 1000] = 1;
		assert_string_equal(tval_text(f->r.m.result, f->r.m.result_len), "\"pong\"");
	}
}

/* A request split into one-byte writes is answered once it completes. */
static void test_byte_by_byte(void **state)
{
	struct fix *f = *state;
	static const uint8_t ping[] = { 0x94, 0x00, 0x05, 0xa4, 'p', 'i', 'n', 'g', 0x90 };
	char code[64], msg[64];

	for (size_t i = 0; i < sizeof ping; i++)
		assert_int_equal(traw_send(&f->r, ping + i, 1), 0);
	assert_int_equal(traw_response(&f->r, 5, code, sizeof code, msg, sizeof msg), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ping_vector),
		T(test_invalid_byte),
		T(test_invalid_byte_inside),
		T(test_too_deep),
		T(test_truncated_then_close),
		T(test_not_a_request),
		T(test_bad_request_with_msgid),
		T(test_size_limit_exact),
		T(test_size_limit_over),
		T(test_size_limit_far_over),
		T(test_unknown_method),
		T(test_wrong_argument_types),
		T(test_no_such_object),
		T(test_pipelining),
		T(test_byte_by_byte),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
