/*
 * Unit tests of proto/ps_rpc.c and proto/ps_proto.c: decoding
 * MessagePack-RPC messages, walking parameters, the encoders and error
 * objects, checked against hand-written bytes and against
 * proto/vectors/messages.txt (generated independently).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_proto.h"
#include "ps_rpc.h"
#include "../lib/tvec.h"

static uint8_t *unhex(const char *hex, size_t *len)
{
	uint8_t *p = tvec_unhex(hex, len);

	assert_non_null(p);
	return p;
}

/* Decodes an exactly-sized heap copy of hex; *p is kept for the caller to
 * free (the message points into it). */
static int decode_hex(const char *hex, uint8_t **p, struct ps_rpc_msg *m, bool *msgid_ok, char *err, size_t errlen)
{
	size_t n;

	*p = unhex(hex, &n);
	err[0] = '\0';
	return ps_rpc_decode(*p, n, m, msgid_ok, err, errlen);
}

static bool method_is(const struct ps_rpc_msg *m, const char *name)
{
	return m->method_len == strlen(name) && memcmp(m->method, name, m->method_len) == 0;
}

/* ---- decoding ---------------------------------------------------------------- */

static void test_decode_request(void **state)
{
	struct ps_rpc_msg m;
	bool ok;
	char err[128];
	uint8_t *p;
	struct ps_mp_tok t;

	(void)state;
	/* [0, 1, "ping", []] */
	assert_int_equal(decode_hex("940001a470696e6790", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.type, PS_MSG_REQUEST);
	assert_true(ok);
	assert_int_equal(m.msgid, 1);
	assert_true(method_is(&m, "ping"));
	assert_ptr_equal(m.method, p + 4);
	assert_int_equal(m.params.left, 0);
	assert_int_equal(ps_args_tok(&m.params, &t), -1);
	free(p);

	/* [0, 4294967295, "dict.get", [7, "k"]] with msgid as uint 32 */
	assert_int_equal(decode_hex("9400ceffffffffa8646963742e6765749207a16b", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.msgid, UINT32_MAX);
	assert_true(method_is(&m, "dict.get"));
	assert_int_equal(m.params.left, 2);
	assert_int_equal(ps_args_tok(&m.params, &t), 0);
	assert_int_equal(t.type, PS_MP_UINT);
	assert_int_equal(t.v.u, 7);
	assert_int_equal(ps_args_tok(&m.params, &t), 0);
	assert_int_equal(t.type, PS_MP_STR);
	assert_int_equal(t.v.n, 1);
	assert_memory_equal(t.data, "k", 1);
	assert_int_equal(m.params.left, 0);
	assert_int_equal(ps_args_tok(&m.params, &t), -1);
	free(p);

	/* A msgid in a longer form than needed is still a msgid. */
	assert_int_equal(decode_hex("9400cd0005a1789190", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.msgid, 5);
	free(p);
}

static void test_decode_response(void **state)
{
	struct ps_rpc_msg m;
	bool ok;
	char err[128], name[32], msg[64];
	uint8_t *p;
	int code;

	(void)state;
	/* [1, 1, nil, "pong"] */
	assert_int_equal(decode_hex("940101c0a4706f6e67", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.type, PS_MSG_RESPONSE);
	assert_true(ok);
	assert_int_equal(m.msgid, 1);
	assert_ptr_equal(m.error, p + 3);
	assert_int_equal(m.error_len, 1);
	assert_ptr_equal(m.result, p + 4);
	assert_int_equal(m.result_len, 5);
	free(p);

	/* [1, 2, ["KeyError", "x"], nil] */
	assert_int_equal(decode_hex("94010292a84b65794572726f72a178c0", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.msgid, 2);
	assert_int_equal(m.error_len, 12);
	assert_int_equal(m.result_len, 1);
	assert_int_equal(m.result[0], 0xc0);
	assert_int_equal(ps_rpc_read_error(m.error, m.error_len, &code, name, sizeof name, msg, sizeof msg), 0);
	assert_int_equal(code, PS_E_KEY);
	assert_string_equal(name, "KeyError");
	assert_string_equal(msg, "x");
	free(p);

	/* A result that is a container spans all of it. */
	assert_int_equal(decode_hex("940103c0928101029100", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.result_len, 6);
	free(p);
}

static void test_decode_notification(void **state)
{
	struct ps_rpc_msg m;
	bool ok;
	char err[128];
	uint8_t *p;
	const uint8_t *v;
	size_t len;

	(void)state;
	/* [2, "error", ["TooLarge", "big"]] */
	assert_int_equal(decode_hex("9302a56572726f7292a8546f6f4c61726765a3626967", &p, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.type, PS_MSG_NOTIFY);
	assert_false(ok);
	assert_true(method_is(&m, "error"));
	assert_int_equal(m.params.left, 2);
	assert_int_equal(ps_args_next(&m.params, &v, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(v, "\xa8TooLarge", 9);
	assert_int_equal(ps_args_next(&m.params, &v, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(ps_args_next(&m.params, &v, &len), -1);
	free(p);
}

struct bad_case {
	const char *hex;
	bool msgid_ok;
	uint32_t msgid;
	const char *why;
};

static const struct bad_case bad_cases[] = {
	{ "a470696e67", false, 0, "not an array: str" },
	{ "05", false, 0, "not an array: int" },
	{ "81a16101", false, 0, "not an array: map" },
	{ "c1", false, 0, "not msgpack" },
	{ "", false, 0, "empty" },
	{ "920001", false, 0, "array of 2" },
	{ "950001a47069656e6790c0", false, 0, "array of 5" },
	{ "90", false, 0, "empty array" },
	{ "9403 01a470696e6790", false, 0, "type 3" },
	{ "94ff01a470696e6790", false, 0, "type -1" },
	{ "94a13001a470696e6790", false, 0, "type is a str" },
	{ "94c001a470696e6790", false, 0, "type is nil" },
	{ "94cb000000000000000001a470696e6790", false, 0, "type is a float" },
	{ "930001a470696e67", false, 0, "request of 3" },
	{ "930101c0", false, 0, "response of 3" },
	{ "9402a56572726f7290c0", false, 0, "notification of 4" },
	{ "9400cf0000000100000000a470696e6790", false, 0, "msgid 2^32" },
	{ "9400ffa470696e6790", false, 0, "msgid -1" },
	{ "9400a131a470696e6790", false, 0, "msgid is a str" },
	{ "9400c0a470696e6790", false, 0, "msgid is nil" },
	{ "94000507 90", true, 5, "method is an int" },
	{ "940005c4047069 6e6790", true, 5, "method is bin" },
	{ "940005c090", true, 5, "method is nil" },
	{ "940006a470696e6780", true, 6, "params is a map" },
	{ "940006a470696e67c0", true, 6, "params is nil" },
	{ "940006a470696e67a0", true, 6, "params is a str" },
	{ "940006a470696e67", true, 6, "params missing" },
	{ "9302 05 90", false, 0, "notification method is an int" },
	{ "9302a56572726f72c0", false, 0, "notification params is nil" },
	{ "940107c0", true, 7, "response without result" },
	{ "940107", true, 7, "response without error and result" },
	{ "94010792a1", true, 7, "response with a truncated error" },
};

static void test_decode_malformed(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
		const struct bad_case *c = &bad_cases[k];
		struct ps_rpc_msg m;
		bool ok = !c->msgid_ok;
		char err[128];
		uint8_t *p;

		if (decode_hex(c->hex, &p, &m, &ok, err, sizeof err) != -1)
			fail_msg("%s (%s): decoded, should fail", c->why, c->hex);
		if (ok != c->msgid_ok)
			fail_msg("%s: msgid_ok %d, want %d", c->why, ok, c->msgid_ok);
		if (ok && m.msgid != c->msgid)
			fail_msg("%s: msgid %u, want %u", c->why, m.msgid, c->msgid);
		if (err[0] == '\0')
			fail_msg("%s: no reason given", c->why);
		free(p);
	}
}

/* The reason fits the buffer it is given, however small. */
static void test_decode_error_text_truncated(void **state)
{
	struct ps_rpc_msg m;
	bool ok;
	char err[8];
	uint8_t *p;

	(void)state;
	memset(err, 'x', sizeof err);
	assert_int_equal(decode_hex("05", &p, &m, &ok, err, sizeof err), -1);
	assert_true(memchr(err, '\0', sizeof err) != NULL);
	assert_true(strlen(err) == sizeof err - 1);
	free(p);
}

/* ---- parameters ---------------------------------------------------------------- */

static void test_args(void **state)
{
	/* Three values: {"a": [1, 2]}, "xyz", nil */
	size_t n;
	uint8_t *p = unhex("81a1619201 02 a378797a c0", &n);
	struct ps_args a = { p, n, 3 };
	const uint8_t *v;
	size_t len;
	struct ps_mp_tok t;

	(void)state;
	assert_int_equal(ps_args_next(&a, &v, &len), 0);
	assert_ptr_equal(v, p);
	assert_int_equal(len, 6);
	assert_int_equal(a.left, 2);
	assert_int_equal(ps_args_tok(&a, &t), 0);
	assert_int_equal(t.type, PS_MP_STR);
	assert_int_equal(t.v.n, 3);
	assert_ptr_equal(t.data, p + 7);
	assert_int_equal(ps_args_tok(&a, &t), 0);
	assert_int_equal(t.type, PS_MP_NIL);
	assert_int_equal(a.left, 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(ps_args_next(&a, &v, &len), -1);
	free(p);
}

/* A count that promises more values than the bytes hold. */
static void test_args_short(void **state)
{
	size_t n;
	uint8_t *p = unhex("01 92 01", &n);
	struct ps_args a = { p, n, 3 };
	const uint8_t *v = NULL;
	size_t len = 99;

	(void)state;
	assert_int_equal(ps_args_next(&a, &v, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(ps_args_next(&a, &v, &len), -1);
	assert_int_equal(a.left, 2);
	free(p);

	p = unhex("c1", &n);
	a = (struct ps_args){ p, n, 1 };
	assert_int_equal(ps_args_next(&a, &v, &len), -1);
	free(p);
}

/* ---- encoding --------------------------------------------------------------------- */

static void expect_bytes(const struct ps_buf *b, const char *hex)
{
	size_t n;
	uint8_t *want = unhex(hex, &n);

	if (b->len != n || memcmp(b->data, want, n) != 0)
		fail_msg("encoded %zu bytes, want %s", b->len, hex);
	free(want);
}

static void test_encode_request(void **state)
{
	struct ps_buf b;
	msgpack_packer pk;

	(void)state;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	ps_rpc_put_request(&pk, 1, "ping", 0);
	expect_bytes(&b, "940001a470696e6790");
	ps_buf_free(&b);

	ps_mp_packer(&pk, &b);
	ps_rpc_put_request(&pk, 70000, "dict.get", 2);
	msgpack_pack_uint64(&pk, 7);
	ps_mp_pack_cstr(&pk, "k");
	expect_bytes(&b, "9400ce00011170a8646963742e6765749207a16b");
	ps_buf_free(&b);

	ps_mp_packer(&pk, &b);
	ps_rpc_put_request(&pk, UINT32_MAX, "", 17);
	expect_bytes(&b, "9400ceffffffffa0dc0011");
	ps_buf_free(&b);
}

static void test_encode_result(void **state)
{
	struct ps_buf b;
	msgpack_packer pk;

	(void)state;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	ps_rpc_put_result_hdr(&pk, 1);
	ps_mp_pack_cstr(&pk, "pong");
	expect_bytes(&b, "940101c0a4706f6e67");
	ps_buf_free(&b);

	ps_mp_packer(&pk, &b);
	ps_rpc_put_result_hdr(&pk, 300);
	ps_mp_pack_ref(&pk, 0x0102030405060708ull);
	expect_bytes(&b, "9401cd012cc0d7010102030405060708");
	ps_buf_free(&b);
}

static void test_encode_error(void **state)
{
	struct ps_buf b;
	msgpack_packer pk;

	(void)state;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	ps_rpc_put_error(&pk, 2, PS_E_KEY, "x");
	expect_bytes(&b, "94010292a84b65794572726f72a178c0");
	ps_buf_free(&b);

	ps_mp_packer(&pk, &b);
	ps_rpc_put_error_notify(&pk, PS_E_TOOLARGE, "big");
	expect_bytes(&b, "9302a56572726f7292a8546f6f4c61726765a3626967");
	ps_buf_free(&b);
}

/* Encoders append: several messages go out in one buffer. */
static void test_encode_appends(void **state)
{
	struct ps_buf b;
	msgpack_packer pk;

	(void)state;
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	ps_rpc_put_request(&pk, 1, "ping", 0);
	ps_rpc_put_request(&pk, 2, "ping", 0);
	expect_bytes(&b, "940001a470696e6790" "940002a470696e6790");
	ps_buf_free(&b);
}

/* ---- error objects ------------------------------------------------------------------ */

static void test_read_error(void **state)
{
	size_t n;
	uint8_t *p;
	int code = -5;
	char name[32], msg[8];

	(void)state;
	/* ["IndexError", "list index out of range"], msg cut to fit. */
	p = unhex("92aa496e6465784572726f72b76c69737420696e646578206f7574206f662072616e6765", &n);
	assert_int_equal(ps_rpc_read_error(p, n, &code, name, sizeof name, msg, sizeof msg), 0);
	assert_int_equal(code, PS_E_INDEX);
	assert_string_equal(name, "IndexError");
	assert_string_equal(msg, "list in");
	free(p);

	/* An unknown code is kept by name and reported as a protocol error. */
	p = unhex("92a64672656e6368a0", &n);
	assert_int_equal(ps_rpc_read_error(p, n, &code, name, sizeof name, msg, sizeof msg), 0);
	assert_int_equal(code, PS_E_PROTOCOL);
	assert_string_equal(name, "French");
	assert_string_equal(msg, "");
	free(p);
}

static void test_read_error_bad_shape(void **state)
{
	static const char *const hex[] = {
		"c0",                   /* nil: no error, not an error object */
		"a46f6f7073",           /* str */
		"91a14b",               /* one element */
		"93a14ba178a179",       /* three */
		"920aa178",             /* code not a str */
		"92a14b0a",             /* message not a str */
		"92a14b",               /* truncated */
		"",
	};
	(void)state;
	for (size_t k = 0; k < sizeof hex / sizeof hex[0]; k++) {
		size_t n;
		uint8_t *p = unhex(hex[k], &n);
		int code;
		char name[16], msg[16];

		if (ps_rpc_read_error(p, n, &code, name, sizeof name, msg, sizeof msg) != -1)
			fail_msg("error object %s should be refused", hex[k]);
		free(p);
	}
}

static void test_code_names(void **state)
{
	(void)state;
	for (int c = 0; c < PS_E__COUNT; c++) {
		const char *name = ps_code_name((enum ps_code)c);

		assert_non_null(name);
		assert_string_not_equal(name, "Unknown");
		assert_int_equal(ps_code_from_name(name, strlen(name)), c);
	}
	assert_string_equal(ps_code_name(PS_E_KEY), "KeyError");
	assert_string_equal(ps_code_name(PS_E_INDEX), "IndexError");
	assert_string_equal(ps_code_name(PS_E_VALUE), "ValueError");
	assert_string_equal(ps_code_name(PS_E_TYPE), "TypeError");
	assert_string_equal(ps_code_name(PS_E_NOSUCHOBJECT), "NoSuchObject");
	assert_string_equal(ps_code_name(PS_E_NOSUCHMETHOD), "NoSuchMethod");
	assert_string_equal(ps_code_name(PS_E_AUTH), "AuthFailed");
	assert_string_equal(ps_code_name(PS_E_TOOLARGE), "TooLarge");
	assert_string_equal(ps_code_name(PS_E_TIMEOUT), "Timeout");
	assert_string_equal(ps_code_name(PS_E_NOMEM), "OutOfMemory");
	assert_string_equal(ps_code_name(PS_E_PROTOCOL), "ProtocolError");
	assert_string_equal(ps_code_name(PS_E__COUNT), "Unknown");
	assert_string_equal(ps_code_name((enum ps_code)-1), "Unknown");
	assert_int_equal(ps_code_from_name("KeyErro", 7), -1);
	assert_int_equal(ps_code_from_name("KeyErrorX", 9), -1);
	assert_int_equal(ps_code_from_name("KeyErrorX", 8), PS_E_KEY);
	assert_int_equal(ps_code_from_name("", 0), -1);
}

/* ---- proto/vectors/messages.txt ----------------------------------------------------- */

/* Each vector decodes to what its comment says, and the C encoders build
 * the same bytes. */
static void test_message_vectors(void **state)
{
	struct tvec *v = tvec_load("messages.txt");
	struct ps_buf b;
	msgpack_packer pk;
	struct ps_rpc_msg m;
	bool ok;
	char err[128], name[32], msg[64];
	const uint8_t *p;
	size_t n;
	int code;
	struct ps_mp_tok t;

	(void)state;
	assert_non_null(v);
	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);

#define VEC(nm) do { p = tvec_get(v, nm, &n); if (p == NULL) fail_msg("vector %s missing", nm); } while (0)
#define SAME(nm) do { VEC(nm); if (b.len != n || memcmp(b.data, p, n) != 0) fail_msg("encoders disagree with vector %s", nm); ps_buf_free(&b); } while (0)

	ps_rpc_put_request(&pk, 1, "ping", 0);
	SAME("ping_request");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_true(m.type == PS_MSG_REQUEST && m.msgid == 1 && method_is(&m, "ping") && m.params.left == 0);

	ps_rpc_put_result_hdr(&pk, 1);
	ps_mp_pack_cstr(&pk, "pong");
	SAME("ping_response");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_true(m.type == PS_MSG_RESPONSE && m.msgid == 1 && m.error_len == 1 && m.error[0] == 0xc0);

	ps_rpc_put_request(&pk, 2, "open", 4);
	ps_mp_pack_cstr(&pk, "dict");
	ps_mp_pack_cstr(&pk, "jobs");
	msgpack_pack_true(&pk);
	msgpack_pack_array(&pk, 0);
	SAME("open_request");

	ps_rpc_put_result_hdr(&pk, 2);
	msgpack_pack_uint64(&pk, 7);
	SAME("open_response");

	ps_rpc_put_request(&pk, 3, "dict.set", 3);
	msgpack_pack_uint64(&pk, 7);
	ps_mp_pack_cstr(&pk, "answer");
	msgpack_pack_int64(&pk, 42);
	SAME("dict_set_request");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_true(method_is(&m, "dict.set") && m.params.left == 3);
	assert_int_equal(ps_args_tok(&m.params, &t), 0);
	assert_true(t.type == PS_MP_UINT && t.v.u == 7);
	assert_int_equal(ps_args_tok(&m.params, &t), 0);
	assert_true(t.type == PS_MP_STR && t.v.n == 6 && memcmp(t.data, "answer", 6) == 0);
	assert_int_equal(ps_args_tok(&m.params, &t), 0);
	assert_true(t.type == PS_MP_UINT && t.v.u == 42);

	ps_rpc_put_result_hdr(&pk, 3);
	msgpack_pack_nil(&pk);
	SAME("nil_response");

	ps_rpc_put_request(&pk, 4, "dict.get", 2);
	msgpack_pack_uint64(&pk, 7);
	ps_mp_pack_cstr(&pk, "missing");
	SAME("dict_get_request");

	ps_rpc_put_error(&pk, 4, PS_E_KEY, "'missing'");
	SAME("key_error_response");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_int_equal(ps_rpc_read_error(m.error, m.error_len, &code, name, sizeof name, msg, sizeof msg), 0);
	assert_int_equal(code, PS_E_KEY);
	assert_string_equal(msg, "'missing'");
	assert_true(m.result_len == 1 && m.result[0] == 0xc0);

	{
		static const uint8_t bin[2] = { 0, 1 };

		ps_rpc_put_request(&pk, 300, "list.append", 2);
		msgpack_pack_uint64(&pk, 9);
		msgpack_pack_array(&pk, 10);
		msgpack_pack_nil(&pk);
		msgpack_pack_true(&pk);
		msgpack_pack_false(&pk);
		msgpack_pack_int64(&pk, -1);
		msgpack_pack_int64(&pk, 255);
		msgpack_pack_int64(&pk, -129);
		msgpack_pack_int64(&pk, 70000);
		msgpack_pack_double(&pk, 1.5);
		ps_mp_pack_cstr(&pk, "\xc3\xa9t\xc3\xa9");
		msgpack_pack_bin(&pk, 2);
		msgpack_pack_bin_body(&pk, bin, 2);
		SAME("list_append_request");
	}
	/* The stored form of that value is its canonical form. */
	{
		struct ps_canon_info info;
		struct ps_buf c;
		const uint8_t *val;
		size_t vlen;

		assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
		assert_int_equal(ps_args_tok(&m.params, &t), 0);
		assert_int_equal(ps_args_next(&m.params, &val, &vlen), 0);
		ps_buf_init(&c);
		assert_int_equal(ps_mp_canon(val, vlen, 0, &c, &info), 0);
		assert_int_equal(c.len, vlen);
		assert_memory_equal(c.data, val, vlen);
		ps_buf_free(&c);
	}

	ps_rpc_put_result_hdr(&pk, 70000);
	ps_mp_pack_ref(&pk, 0x0102030405060708ull);
	SAME("ref_response");

	ps_rpc_put_request(&pk, UINT32_MAX, "ping", 0);
	SAME("max_msgid_request");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_int_equal(m.msgid, UINT32_MAX);

	ps_rpc_put_error_notify(&pk, PS_E_PROTOCOL, "invalid MessagePack byte 0xc1");
	SAME("error_notification");
	assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	assert_true(m.type == PS_MSG_NOTIFY && method_is(&m, "error") && m.params.left == 2);

	ps_rpc_put_error_notify(&pk, PS_E_TOOLARGE, "message over 65536 bytes");
	SAME("too_large_notification");

	ps_rpc_put_error(&pk, 5, PS_E_NOSUCHMETHOD, "no method dict.frobnicate");
	SAME("no_such_method_response");

	/* Every vector is one complete message the scanner agrees on. */
	for (size_t i = 0; i < tvec_count(v); i++) {
		p = tvec_bytes(v, i, &n);
		assert_int_equal(ps_mp_skip(p, n), n);
		assert_int_equal(ps_rpc_decode(p, n, &m, &ok, err, sizeof err), 0);
	}
#undef VEC
#undef SAME
	ps_buf_free(&b);
	tvec_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_request),
		cmocka_unit_test(test_decode_response),
		cmocka_unit_test(test_decode_notification),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_decode_error_text_truncated),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_short),
		cmocka_unit_test(test_encode_request),
		cmocka_unit_test(test_encode_result),
		cmocka_unit_test(test_encode_error),
		cmocka_unit_test(test_encode_appends),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_read_error_bad_shape),
		cmocka_unit_test(test_code_names),
		cmocka_unit_test(test_message_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
