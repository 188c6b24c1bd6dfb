/*
 * Unit tests of proto/ps_mp.c: the token reader, the resumable scanner,
 * canonical re-encoding and UTF-8 validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_mp.h"
#include "../lib/tvec.h"

/* Hex to bytes; the test fails on a typo in a literal. Caller frees. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	uint8_t *p = tvec_unhex(hex, len);

	assert_non_null(p);
	return p;
}

/* An exactly-sized heap copy, so that ASan catches any read past n. */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

/* ---- ps_mp_token -------------------------------------------------------- */

struct tok_case {
	const char *hex;
	enum ps_mp_type type;
	size_t size;
	uint64_t u;             /* UINT value, or str/bin/ext/array/map count */
	int64_t i;              /* INT value */
	double f;
	int8_t ext_type;
	bool f32;
	size_t data_off;        /* payload offset for str/bin/ext */
};

#define STR31 "bf" "00112233445566778899aabbccddeeff00112233445566778899aabbccddee"

static const struct tok_case tok_cases[] = {
	/* positive fixint */
	{ "00", PS_MP_UINT, 1, .u = 0 },
	{ "01", PS_MP_UINT, 1, .u = 1 },
	{ "7f", PS_MP_UINT, 1, .u = 127 },
	/* negative fixint */
	{ "ff", PS_MP_INT, 1, .i = -1 },
	{ "e0", PS_MP_INT, 1, .i = -32 },
	/* fixmap, fixarray: headers only */
	{ "80", PS_MP_MAP, 1, .u = 0 },
	{ "8f", PS_MP_MAP, 1, .u = 15 },
	{ "90", PS_MP_ARRAY, 1, .u = 0 },
	{ "9f", PS_MP_ARRAY, 1, .u = 15 },
	/* fixstr */
	{ "a0", PS_MP_STR, 1, .u = 0, .data_off = 1 },
	{ "a3616263", PS_MP_STR, 4, .u = 3, .data_off = 1 },
	{ STR31, PS_MP_STR, 32, .u = 31, .data_off = 1 },
	/* nil, bool */
	{ "c0", PS_MP_NIL, 1, .u = 0 },
	{ "c2", PS_MP_BOOL, 1, .u = 0 },
	{ "c3", PS_MP_BOOL, 1, .u = 1 },
	/* bin 8/16/32 */
	{ "c401ab", PS_MP_BIN, 3, .u = 1, .data_off = 2 },
	{ "c400", PS_MP_BIN, 2, .u = 0, .data_off = 2 },
	{ "c50002abcd", PS_MP_BIN, 5, .u = 2, .data_off = 3 },
	{ "c600000001ab", PS_MP_BIN, 6, .u = 1, .data_off = 5 },
	/* ext 8/16/32 */
	{ "c70105ab", PS_MP_EXT, 4, .u = 1, .ext_type = 5, .data_off = 3 },
	{ "c701ffab", PS_MP_EXT, 4, .u = 1, .ext_type = -1, .data_off = 3 },
	{ "c70007", PS_MP_EXT, 3, .u = 0, .ext_type = 7, .data_off = 3 },
	{ "c8000105ab", PS_MP_EXT, 5, .u = 1, .ext_type = 5, .data_off = 4 },
	{ "c90000000205abcd", PS_MP_EXT, 8, .u = 2, .ext_type = 5, .data_off = 6 },
	/* float 32/64 */
	{ "ca3fc00000", PS_MP_FLOAT, 5, .f = 1.5, .f32 = true },
	{ "cabf800000", PS_MP_FLOAT, 5, .f = -1.0, .f32 = true },
	{ "cb3ff8000000000000", PS_MP_FLOAT, 9, .f = 1.5 },
	{ "cb400921fb54442d18", PS_MP_FLOAT, 9, .f = 3.141592653589793 },
	/* uint 8/16/32/64 */
	{ "cc00", PS_MP_UINT, 2, .u = 0 },
	{ "ccff", PS_MP_UINT, 2, .u = 255 },
	{ "cdffff", PS_MP_UINT, 3, .u = 65535 },
	{ "ce01020304", PS_MP_UINT, 5, .u = 0x01020304 },
	{ "ceffffffff", PS_MP_UINT, 5, .u = 4294967295u },
	{ "cf0102030405060708", PS_MP_UINT, 9, .u = 0x0102030405060708ull },
	{ "cfffffffffffffffff", PS_MP_UINT, 9, .u = UINT64_MAX },
	/* int 8/16/32/64: negative values are INT, the rest become UINT */
	{ "d080", PS_MP_INT, 2, .i = -128 },
	{ "d0ff", PS_MP_INT, 2, .i = -1 },
	{ "d07f", PS_MP_UINT, 2, .u = 127 },
	{ "d000", PS_MP_UINT, 2, .u = 0 },
	{ "d18000", PS_MP_INT, 3, .i = -32768 },
	{ "d10100", PS_MP_UINT, 3, .u = 256 },
	{ "d280000000", PS_MP_INT, 5, .i = INT32_MIN },
	{ "d27fffffff", PS_MP_UINT, 5, .u = INT32_MAX },
	{ "d38000000000000000", PS_MP_INT, 9, .i = INT64_MIN },
	{ "d3fffffffffffffffe", PS_MP_INT, 9, .i = -2 },
	{ "d37fffffffffffffff", PS_MP_UINT, 9, .u = INT64_MAX },
	/* fixext 1/2/4/8/16 */
	{ "d405aa", PS_MP_EXT, 3, .u = 1, .ext_type = 5, .data_off = 2 },
	{ "d505aabb", PS_MP_EXT, 4, .u = 2, .ext_type = 5, .data_off = 2 },
	{ "d605aabbccdd", PS_MP_EXT, 6, .u = 4, .ext_type = 5, .data_off = 2 },
	{ "d7010102030405060708", PS_MP_EXT, 10, .u = 8, .ext_type = 1, .data_off = 2 },
	{ "d8f0000102030405060708090a0b0c0d0e0f", PS_MP_EXT, 18, .u = 16, .ext_type = -16, .data_off = 2 },
	/* str 8/16/32 */
	{ "d903616263", PS_MP_STR, 5, .u = 3, .data_off = 2 },
	{ "d900", PS_MP_STR, 2, .u = 0, .data_off = 2 },
	{ "da0003616263", PS_MP_STR, 6, .u = 3, .data_off = 3 },
	{ "db00000003616263", PS_MP_STR, 8, .u = 3, .data_off = 5 },
	/* array 16/32, map 16/32: headers only */
	{ "dc0003", PS_MP_ARRAY, 3, .u = 3 },
	{ "dcffff", PS_MP_ARRAY, 3, .u = 65535 },
	{ "dd00010000", PS_MP_ARRAY, 5, .u = 65536 },
	{ "de0002", PS_MP_MAP, 3, .u = 2 },
	{ "df00000002", PS_MP_MAP, 5, .u = 2 },
};

static void check_tok(const struct tok_case *c, const uint8_t *p, const struct ps_mp_tok *t)
{
	assert_int_equal(t->type, c->type);
	assert_int_equal(t->size, c->size);
	switch (c->type) {
	case PS_MP_UINT:
		assert_true(t->v.u == c->u);
		break;
	case PS_MP_INT:
		assert_true(t->v.i == c->i);
		break;
	case PS_MP_BOOL:
		assert_int_equal(t->v.b, c->u != 0);
		break;
	case PS_MP_FLOAT:
		assert_true(t->v.f == c->f);
		assert_int_equal(t->f32, c->f32);
		break;
	case PS_MP_EXT:
		assert_int_equal(t->ext_type, c->ext_type);
		/* fall through */
	case PS_MP_STR:
	case PS_MP_BIN:
		assert_int_equal(t->v.n, c->u);
		assert_ptr_equal(t->data, p + c->data_off);
		break;
	case PS_MP_ARRAY:
	case PS_MP_MAP:
		assert_int_equal(t->v.n, c->u);
		break;
	case PS_MP_NIL:
		break;
	}
}

static void test_token_formats(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof tok_cases / sizeof tok_cases[0]; k++) {
		const struct tok_case *c = &tok_cases[k];
		struct ps_mp_tok t;
		size_t n;
		uint8_t *raw = unhex(c->hex, &n), *p;

		assert_int_equal(n, c->size);
		/* Exactly the token's bytes. */
		p = exact_copy(raw, n);
		memset(&t, 0x55, sizeof t);
		assert_int_equal(ps_mp_token(p, n, &t), 1);
		check_tok(c, p, &t);
		free(p);
		/* Bytes after the token are not part of it. */
		p = malloc(n + 3);
		assert_non_null(p);
		memcpy(p, raw, n);
		memset(p + n, 0xc1, 3);
		assert_int_equal(ps_mp_token(p, n + 3, &t), 1);
		check_tok(c, p, &t);
		free(p);
		free(raw);
	}
}

static void test_token_truncated(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof tok_cases / sizeof tok_cases[0]; k++) {
		size_t n;
		uint8_t *raw = unhex(tok_cases[k].hex, &n);

		for (size_t cut = 0; cut < n; cut++) {
			struct ps_mp_tok t;
			uint8_t *p = exact_copy(raw, cut);

			if (ps_mp_token(p, cut, &t) != 0)
				fail_msg("%s cut to %zu bytes: expected 0 (need more)", tok_cases[k].hex, cut);
			free(p);
		}
		free(raw);
	}
}

/* Lengths near 2^32 must ask for more bytes, not wrap around. */
static void test_token_huge_lengths(void **state)
{
	static const char *const hex[] = {
		"dbffffffff61", "c6ffffffff00", "c9ffffffff0500", "daffff61", "c5ffff00", "c8ffff0500",
	};
	(void)state;
	for (size_t k = 0; k < sizeof hex / sizeof hex[0]; k++) {
		struct ps_mp_tok t;
		size_t n;
		uint8_t *p = unhex(hex[k], &n);

		assert_int_equal(ps_mp_token(p, n, &t), 0);
		free(p);
	}
}

static void test_token_c1_invalid(void **state)
{
	static const uint8_t c1[] = { 0xc1, 0x00, 0x00 };
	struct ps_mp_tok t;

	(void)state;
	assert_int_equal(ps_mp_token(c1, sizeof c1, &t), -1);
	assert_int_equal(ps_mp_token(c1, 1, &t), -1);
	assert_int_equal(ps_mp_token(c1, 0, &t), 0);
}

/* The type each first byte announces, straight from the MessagePack spec. */
static int spec_type(unsigned b)
{
	if (b <= 0x7f || b >= 0xe0)
		return b >= 0xe0 ? PS_MP_INT : PS_MP_UINT;
	if (b <= 0x8f)
		return PS_MP_MAP;
	if (b <= 0x9f)
		return PS_MP_ARRAY;
	if (b <= 0xbf)
		return PS_MP_STR;
	switch (b) {
	case 0xc0: return PS_MP_NIL;
	case 0xc1: return -1;
	case 0xc2: case 0xc3: return PS_MP_BOOL;
	case 0xc4: case 0xc5: case 0xc6: return PS_MP_BIN;
	case 0xc7: case 0xc8: case 0xc9: return PS_MP_EXT;
	case 0xca: case 0xcb: return PS_MP_FLOAT;
	case 0xcc: case 0xcd: case 0xce: case 0xcf: return PS_MP_UINT;
	/* int 8..64 followed by zero bytes: the value 0, so unsigned */
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: return PS_MP_UINT;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return PS_MP_EXT;
	case 0xd9: case 0xda: case 0xdb: return PS_MP_STR;
	case 0xdc: case 0xdd: return PS_MP_ARRAY;
	default: return PS_MP_MAP; /* 0xde, 0xdf */
	}
}

/* Every one of the 256 first bytes, followed by zeros (lengths 0). */
static void test_token_every_first_byte(void **state)
{
	uint8_t buf[64];

	(void)state;
	for (unsigned b = 0; b < 256; b++) {
		struct ps_mp_tok t;
		int r;

		memset(buf, 0, sizeof buf);
		buf[0] = (uint8_t)b;
		r = ps_mp_token(buf, sizeof buf, &t);
		if (spec_type(b) < 0) {
			assert_int_equal(r, -1);
			continue;
		}
		if (r != 1 || (int)t.type != spec_type(b))
			fail_msg("first byte 0x%02x: r=%d type=%d, want type %d", b, r, (int)t.type, spec_type(b));
		assert_true(t.size >= 1 && t.size <= 32);
	}
}

/* ---- ps_mp_scan ----------------------------------------------------------- */

/* A request with nested containers and multi-byte tokens of every kind:
 * [0, 300, "list.append", [9, [nil, true, false, -1, 255, -129, 70000, 1.5,
 *  "ete", bin 0001, {"k": [1, 2]}, ext 1 (8 bytes)]]] */
static const char scan_msg_hex[] =
	"9400cd012cab6c6973742e617070656e6492099c"
	"c0c3c2ffccffd1ff7fce00011170cb3ff8000000000000"
	"a5c3a974c3a9c4020001" "81a16b920102" "d7010000000000000007";

/* Token boundaries of p[0..n): ends[i] is where token i ends. */
static size_t token_ends(const uint8_t *p, size_t n, size_t *ends, size_t max)
{
	size_t off = 0, k = 0;

	while (off < n) {
		struct ps_mp_tok t;

		assert_int_equal(ps_mp_token(p + off, n - off, &t), 1);
		off += t.size;
		assert_true(k < max);
		ends[k++] = off;
	}
	assert_int_equal(off, n);
	return k;
}

/* Split at every byte: MORE with s.off at the last token boundary within
 * the prefix, then DONE with the full size. Bytes before s.off are then
 * poisoned with 0xc1: a scanner that re-read them would say BAD. */
static void test_scan_every_split(void **state)
{
	size_t n, ends[64], nends;
	uint8_t *msg = unhex(scan_msg_hex, &n);

	(void)state;
	nends = token_ends(msg, n, ends, 64);
	for (size_t cut = 0; cut < n; cut++) {
		struct ps_mp_scan s;
		size_t size = 12345, want_off = 0;
		uint8_t *p = malloc(n);

		assert_non_null(p);
		memcpy(p, msg, n);
		for (size_t k = 0; k < nends && ends[k] <= cut; k++)
			want_off = ends[k];
		ps_mp_scan_reset(&s);
		assert_int_equal(ps_mp_scan(&s, p, cut, PS_MAX_DEPTH, &size), PS_SCAN_MORE);
		assert_int_equal(s.off, want_off);
		assert_int_equal(size, 12345);
		memset(p, 0xc1, s.off);
		assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
		assert_int_equal(size, n);
		free(p);
	}
	free(msg);
}

/* One scanner fed a buffer that grows a byte at a time. */
static void test_scan_byte_by_byte(void **state)
{
	size_t n, size = 0;
	uint8_t *msg = unhex(scan_msg_hex, &n);
	struct ps_mp_scan s;

	(void)state;
	ps_mp_scan_reset(&s);
	for (size_t k = 0; k < n; k++) {
		uint8_t *p = exact_copy(msg, k);

		assert_int_equal(ps_mp_scan(&s, p, k, PS_MAX_DEPTH, &size), PS_SCAN_MORE);
		assert_true(s.off <= k);
		free(p);
	}
	assert_int_equal(ps_mp_scan(&s, msg, n, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, n);
	/* Reset for the next object. */
	assert_int_equal(s.off, 0);
	assert_int_equal(s.depth, 0);
	free(msg);
}

static void test_scan_back_to_back(void **state)
{
	/* [0,1,"ping",[]] then {"a": [1]} then 7 */
	size_t n, size = 0;
	uint8_t *p = unhex("940001a470696e6790" "81a1619101" "07", &n);
	struct ps_mp_scan s;

	(void)state;
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, 9);
	assert_int_equal(ps_mp_scan(&s, p + 9, n - 9, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, 5);
	assert_int_equal(ps_mp_scan(&s, p + 14, n - 14, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, 1);
	assert_int_equal(ps_mp_scan(&s, p + 15, 0, PS_MAX_DEPTH, &size), PS_SCAN_MORE);
	free(p);
}

static void test_scan_scalars_and_empties(void **state)
{
	static const char *const hex[] = { "c0", "05", "90", "80", "a0", "d7010000000000000001", "92c090" };
	(void)state;
	for (size_t k = 0; k < sizeof hex / sizeof hex[0]; k++) {
		struct ps_mp_scan s;
		size_t n, size = 0;
		uint8_t *p = unhex(hex[k], &n);

		ps_mp_scan_reset(&s);
		assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
		assert_int_equal(size, n);
		assert_int_equal(ps_mp_skip(p, n), n);
		free(p);
	}
}

static void test_scan_bad_byte(void **state)
{
	/* c1 first; c1 as an array element; c1 as a map value after a
	 * partial feed; c1 as the second message's first byte is not
	 * looked at while the first is scanned. */
	size_t n, size = 0;
	uint8_t *p = unhex("93 01 c1 02", &n);
	struct ps_mp_scan s;

	(void)state;
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, (const uint8_t *)"\xc1", 1, PS_MAX_DEPTH, &size), PS_SCAN_BAD);
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_BAD);
	free(p);

	p = unhex("82 a1 61 01 a1 62 c1", &n);
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, p, 4, PS_MAX_DEPTH, &size), PS_SCAN_MORE);
	assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_BAD);
	assert_int_equal(ps_mp_skip(p, n), 0);
	free(p);

	p = unhex("91 01 c1", &n);
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, 2);
	free(p);
}

/* levels nested containers; the innermost holds one item (0) or none.
 * Maps nest through their value: {0: {0: ...}}. Caller frees. */
static uint8_t *nest(int levels, bool inner_empty, bool maps, size_t *len)
{
	uint8_t *p = malloc(2 * (size_t)levels + 2), *q;

	assert_non_null(p);
	q = p;
	for (int k = 0; k < levels; k++) {
		bool last = k == levels - 1;

		if (last && inner_empty) {
			*q++ = maps ? 0x80 : 0x90;
		} else if (maps) {
			*q++ = 0x81;
			*q++ = 0x00;    /* the key */
		} else {
			*q++ = 0x91;
		}
	}
	if (!inner_empty)
		*q++ = 0x00;
	*len = (size_t)(q - p);
	return p;
}

static int scan_all(const uint8_t *p, size_t n, int max_depth)
{
	struct ps_mp_scan s;
	size_t size = 0;
	int r;

	ps_mp_scan_reset(&s);
	r = ps_mp_scan(&s, p, n, max_depth, &size);
	if (r == PS_SCAN_DONE)
		assert_int_equal(size, n);
	return r;
}

/* What a variant of nest() gives against max_depth. */
static void expect_depth(int levels, int max_depth, int want)
{
	for (int v = 0; v < 4; v++) {
		bool inner_empty = v & 1, maps = v & 2;
		size_t n;
		uint8_t *p = nest(levels, inner_empty, maps, &n);
		int r = scan_all(p, n, max_depth);

		if (r != want)
			fail_msg("%d nested %s (innermost %s), max_depth %d: got %d, want %d",
				 levels, maps ? "maps" : "arrays", inner_empty ? "empty" : "non-empty",
				 max_depth, r, want);
		free(p);
	}
}

/* PS_MAX_DEPTH: "deepest nesting of arrays and maps inside one message
 * (the message's own top-level array counts as level 1)"; ps_mp_scan:
 * "PS_SCAN_DEEP when nesting exceeds max_depth". So N levels pass and
 * N+1 do not, whether or not the innermost container is empty. */
static void test_scan_depth_limit_at_n(void **state)
{
	(void)state;
	expect_depth(PS_MAX_DEPTH, PS_MAX_DEPTH, PS_SCAN_DONE);
	expect_depth(4, 4, PS_SCAN_DONE);
	expect_depth(1, 1, PS_SCAN_DONE);
}

static void test_scan_depth_limit_over_n(void **state)
{
	(void)state;
	expect_depth(PS_MAX_DEPTH + 1, PS_MAX_DEPTH, PS_SCAN_DEEP);
	expect_depth(5, 4, PS_SCAN_DEEP);
	expect_depth(2, 1, PS_SCAN_DEEP);
	/* A max_depth beyond the compiled limit is clamped to it. */
	expect_depth(PS_MAX_DEPTH + 1, 1000, PS_SCAN_DEEP);
	expect_depth(PS_MAX_DEPTH + 40, 1000, PS_SCAN_DEEP);
}

/* Far under the limit and wide: depth falls back as containers close. */
static void test_scan_depth_resets_as_containers_close(void **state)
{
	/* 40 sibling arrays of depth 3 inside one array: never deeper than 4. */
	uint8_t p[1 + 40 * 3 + 2];
	size_t n = 0;

	(void)state;
	p[n++] = 0xdc;
	p[n++] = 0x00;
	p[n++] = 40;
	for (int k = 0; k < 40; k++) {
		p[n++] = 0x91;
		p[n++] = 0x91;
		p[n++] = 0x90;
	}
	assert_int_equal(scan_all(p, n, 4), PS_SCAN_DONE);
	assert_int_equal(scan_all(p, n, 3), PS_SCAN_DEEP);
}

/* ---- ps_mp_canon ----------------------------------------------------------- */

static int canon_hex(const char *hex, int flags, struct ps_buf *out, struct ps_canon_info *info)
{
	size_t n;
	uint8_t *p = unhex(hex, &n);
	int r = ps_mp_canon(p, n, flags, out, info);

	free(p);
	return r;
}

static void expect_canon(const char *in, const char *want_hex)
{
	struct ps_buf out;
	struct ps_canon_info info;
	size_t wn;
	uint8_t *want = unhex(want_hex, &wn);

	ps_buf_init(&out);
	if (canon_hex(in, 0, &out, &info) != 0)
		fail_msg("canon(%s) failed: %s", in, info.msg);
	if (out.len != wn || memcmp(out.data, want, wn) != 0)
		fail_msg("canon(%s): wrong bytes (want %s)", in, want_hex);
	/* Canonical form is a fixed point. */
	{
		struct ps_buf again;

		ps_buf_init(&again);
		assert_int_equal(ps_mp_canon(out.data, out.len, 0, &again, &info), 0);
		assert_int_equal(again.len, wn);
		assert_memory_equal(again.data, want, wn);
		ps_buf_free(&again);
	}
	ps_buf_free(&out);
	free(want);
}

static void test_canon_ints_shortest(void **state)
{
	(void)state;
	expect_canon("cc05", "05");
	expect_canon("cd0005", "05");
	expect_canon("ce00000005", "05");
	expect_canon("cf0000000000000005", "05");
	expect_canon("cf00000000000000ff", "ccff");
	expect_canon("cf000000000000ffff", "cdffff");
	expect_canon("cf00000000ffffffff", "ceffffffff");
	expect_canon("cfffffffffffffffff", "cfffffffffffffffff");
	expect_canon("d3ffffffffffffffff", "ff");
	expect_canon("d1ffe0", "e0");
	expect_canon("d1ffdf", "d0df");
	expect_canon("d2ffffff80", "d080");
	expect_canon("d3ffffffffffffff7f", "d1ff7f");
	expect_canon("d3ffffffffffff7fff", "d2ffff7fff");
	expect_canon("d3ffffffff7fffffff", "d3ffffffff7fffffff");
	expect_canon("d380000000ffffffff", "d380000000ffffffff");
	expect_canon("d3ffffffff80000000", "d280000000");
}

static void test_canon_signed_positive_to_unsigned(void **state)
{
	(void)state;
	expect_canon("d005", "05");
	expect_canon("d07f", "7f");
	expect_canon("d100c8", "ccc8");
	expect_canon("d10100", "cd0100");
	expect_canon("d200010000", "ce00010000");
	expect_canon("d30000000100000000", "cf0000000100000000");
	expect_canon("d37fffffffffffffff", "cf7fffffffffffffff");
	expect_canon("d000", "00");
}

static void test_canon_float32_widened(void **state)
{
	(void)state;
	expect_canon("ca3fc00000", "cb3ff8000000000000");
	expect_canon("cabf800000", "cbbff0000000000000");
	expect_canon("cb400921fb54442d18", "cb400921fb54442d18");
}

static void test_canon_headers_shortest(void **state)
{
	(void)state;
	expect_canon("d9026162", "a26162");
	expect_canon("da00026162", "a26162");
	expect_canon("db000000026162", "a26162");
	expect_canon("c500020102", "c4020102");
	expect_canon("c6000000020102", "c4020102");
	expect_canon("c701050a", "d4050a");
	expect_canon("c80002050a0b", "d5050a0b");
	expect_canon("c70305010203", "c70305010203");
	expect_canon("dc00020102", "920102");
	expect_canon("dd000000020102", "920102");
	expect_canon("de0001a16101", "81a16101");
	expect_canon("df00000001a16101", "81a16101");
	expect_canon("c0", "c0");
	expect_canon("c2", "c2");
	expect_canon("c3", "c3");
}

/* proto/vectors/canonical.txt, generated independently. */
static void test_canon_vectors(void **state)
{
	struct tvec *v = tvec_load("canonical.txt");
	size_t checked = 0;

	(void)state;
	assert_non_null(v);
	for (size_t i = 0; i < tvec_count(v); i++) {
		const char *name = tvec_name(v, i);
		size_t nl = strlen(name), inlen, outlen;
		const uint8_t *in, *want;
		char outname[256];
		struct ps_buf out;
		struct ps_canon_info info;

		if (nl < 3 || strcmp(name + nl - 3, ".in") != 0)
			continue;
		in = tvec_bytes(v, i, &inlen);
		snprintf(outname, sizeof outname, "%.*s.out", (int)(nl - 3), name);
		want = tvec_get(v, outname, &outlen);
		assert_non_null(want);
		ps_buf_init(&out);
		if (ps_mp_canon(in, inlen, 0, &out, &info) != 0)
			fail_msg("%s: canon failed: %s", name, info.msg);
		if (out.len != outlen || memcmp(out.data, want, outlen) != 0)
			fail_msg("%s: canonical bytes differ from the vector", name);
		ps_buf_free(&out);
		checked++;
	}
	assert_true(checked >= 20);
	tvec_free(v);
}

static void expect_canon_fail(const char *in, int flags, enum ps_code code)
{
	struct ps_buf out;
	struct ps_canon_info info;
	static const uint8_t before[] = { 0xaa, 0xbb };

	ps_buf_init(&out);
	assert_int_equal(ps_buf_append(&out, before, 2), 0);
	if (canon_hex(in, flags, &out, &info) != -1)
		fail_msg("canon(%s, %d) should fail", in, flags);
	if (info.code != code)
		fail_msg("canon(%s): code %s, want %s", in, ps_code_name(info.code), ps_code_name(code));
	assert_true(info.msg[0] != '\0');
	/* out is restored: what was there before stays, nothing is added. */
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.data, before, 2);
	assert_int_equal(out.oom, 0);
	ps_buf_free(&out);
}

static void test_canon_bad_utf8(void **state)
{
	(void)state;
	expect_canon_fail("a2c328", 0, PS_E_TYPE);               /* bad continuation */
	expect_canon_fail("a2c0af", 0, PS_E_TYPE);               /* overlong */
	expect_canon_fail("a3eda080", 0, PS_E_TYPE);             /* surrogate */
	expect_canon_fail("92a161a1ff", 0, PS_E_TYPE);           /* inside an array */
	expect_canon_fail("81a16ba1ff", 0, PS_E_TYPE);           /* as a map value */
	/* The same bytes as bin are fine. */
	expect_canon("c402c328", "c402c328");
}

static void test_canon_key_mode(void **state)
{
	struct ps_buf out;
	struct ps_canon_info info;

	(void)state;
	expect_canon_fail("80", PS_CANON_KEY, PS_E_TYPE);
	expect_canon_fail("81a16101", PS_CANON_KEY, PS_E_TYPE);
	expect_canon_fail("920192a16180", PS_CANON_KEY, PS_E_TYPE); /* map deep inside an array */
	/* Arrays and scalars are fine as keys; maps are fine as values. */
	ps_buf_init(&out);
	assert_int_equal(canon_hex("9201d10002", PS_CANON_KEY, &out, &info), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "\x92\x01\x02", 3);
	ps_buf_free(&out);
	ps_buf_init(&out);
	assert_int_equal(canon_hex("81a16101", 0, &out, &info), 0);
	ps_buf_free(&out);
}

static void test_canon_refs(void **state)
{
	struct ps_buf out;
	struct ps_canon_info info;

	(void)state;
	/* A reference is ext type 1 with exactly 8 bytes. */
	expect_canon_fail("d60100000001", 0, PS_E_TYPE);
	expect_canon_fail("d501aabb", 0, PS_E_TYPE);
	expect_canon_fail("c7000100", 0, PS_E_TYPE);
	expect_canon_fail("c709010000000000000000aa", 0, PS_E_TYPE);
	expect_canon_fail("91d60100000001", 0, PS_E_TYPE);

	/* ext 8 with 8 bytes becomes fixext 8; nrefs counts every one. */
	ps_buf_init(&out);
	assert_int_equal(canon_hex("c708010000000000000007", 0, &out, &info), 0);
	assert_int_equal(info.nrefs, 1);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, "\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x07", 10);
	ps_buf_free(&out);

	ps_buf_init(&out);
	assert_int_equal(canon_hex("93d7010000000000000001"
				   "81a16bd7010000000000000002"
				   "91d7010000000000000003", 0, &out, &info), 0);
	assert_int_equal(info.nrefs, 3);
	ps_buf_free(&out);

	/* Other ext types are not references. */
	ps_buf_init(&out);
	assert_int_equal(canon_hex("d7020000000000000001", 0, &out, &info), 0);
	assert_int_equal(info.nrefs, 0);
	ps_buf_free(&out);

	/* nrefs restarts at 0 on every call. */
	ps_buf_init(&out);
	assert_int_equal(canon_hex("05", 0, &out, &info), 0);
	assert_int_equal(info.nrefs, 0);
	ps_buf_free(&out);
}

static void collect_ref(uint64_t id, void *arg)
{
	uint64_t *ids = arg;

	ids[++ids[0]] = id;
}

static void test_foreach_ref(void **state)
{
	size_t n;
	uint8_t *p = unhex("94d7010000000000000001"
			   "81d7010000000000000002d7010000000000000003"
			   "d7020000000000000009" "91d70101020304050607ff", &n);
	uint64_t ids[8] = { 0 };

	(void)state;
	ps_mp_foreach_ref(p, n, collect_ref, ids);
	assert_int_equal(ids[0], 4);
	assert_true(ids[1] == 1 && ids[2] == 2 && ids[3] == 3);
	assert_true(ids[4] == 0x01020304050607ffull);
	free(p);
}

static void test_canon_truncated(void **state)
{
	(void)state;
	expect_canon_fail("92 01", 0, PS_E_PROTOCOL);
	expect_canon_fail("a3 61 62", 0, PS_E_PROTOCOL);
	expect_canon_fail("c1", 0, PS_E_PROTOCOL);
	expect_canon_fail("", 0, PS_E_PROTOCOL);
}

/* Appends to what out holds; only the first object is taken. */
static void test_canon_appends_first_object(void **state)
{
	struct ps_buf out;
	struct ps_canon_info info;

	(void)state;
	ps_buf_init(&out);
	assert_int_equal(ps_buf_append(&out, "\x01", 1), 0);
	assert_int_equal(canon_hex("cd0002 c1 c1", 0, &out, &info), 0);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.data, "\x01\x02", 2);
	ps_buf_free(&out);
}

/* PS_MAX_VALUE_DEPTH: a stored value nests at most that deep (a scalar is
 * depth 1): N levels pass, N+1 are TooLarge. */
static void test_canon_depth(void **state)
{
	struct ps_buf out;
	struct ps_canon_info info;
	size_t n;
	uint8_t *p;

	(void)state;
	/* N-1 arrays around a scalar: depth N. */
	p = nest(PS_MAX_VALUE_DEPTH - 1, false, false, &n);
	ps_buf_init(&out);
	if (ps_mp_canon(p, n, 0, &out, &info) != 0)
		fail_msg("a value of depth %d was refused: %s", PS_MAX_VALUE_DEPTH, info.msg);
	assert_int_equal(out.len, n);
	ps_buf_free(&out);
	free(p);
	/* N arrays around a scalar: depth N+1; and deeper still. */
	for (int extra = 0; extra <= 2; extra++) {
		p = nest(PS_MAX_VALUE_DEPTH + extra, false, extra == 2, &n);
		ps_buf_init(&out);
		assert_int_equal(ps_mp_canon(p, n, 0, &out, &info), -1);
		assert_int_equal(info.code, PS_E_TOOLARGE);
		assert_int_equal(out.len, 0);
		ps_buf_free(&out);
		free(p);
	}
}

/* A value at the deepest stored depth still fits in the deepest reply
 * that carries it: [1, msgid, nil, [[key, value]]] (dict.items). */
static void test_value_depth_fits_replies(void **state)
{
	size_t n;
	uint8_t *v = nest(PS_MAX_VALUE_DEPTH - 1, false, false, &n);
	uint8_t *msg = malloc(n + 8);
	struct ps_mp_scan s;
	size_t size = 0;

	(void)state;
	assert_non_null(msg);
	memcpy(msg, "\x94\x01\x01\xc0\x91\x92\x00", 7);
	memcpy(msg + 7, v, n);
	ps_mp_scan_reset(&s);
	assert_int_equal(ps_mp_scan(&s, msg, n + 7, PS_MAX_DEPTH, &size), PS_SCAN_DONE);
	assert_int_equal(size, n + 7);
	free(msg);
	free(v);
}

/* ---- ps_utf8_valid ---------------------------------------------------------- */

static bool utf8(const char *hex)
{
	size_t n;
	uint8_t *p = unhex(hex, &n), *q = exact_copy(p, n);
	bool r = ps_utf8_valid(q, n);

	free(p);
	free(q);
	return r;
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8(""));
	assert_true(utf8("00"));
	assert_true(utf8("7f"));
	assert_true(utf8("68656c6c6f"));
	assert_true(utf8("c280"));              /* U+0080, first 2-byte */
	assert_true(utf8("c3a9"));              /* é */
	assert_true(utf8("dfbf"));              /* U+07FF */
	assert_true(utf8("e0a080"));            /* U+0800, first 3-byte */
	assert_true(utf8("e282ac"));            /* € */
	assert_true(utf8("ed9fbf"));            /* U+D7FF, last before surrogates */
	assert_true(utf8("ee8080"));            /* U+E000, first after */
	assert_true(utf8("efbfbf"));            /* U+FFFF */
	assert_true(utf8("f0908080"));          /* U+10000, first 4-byte */
	assert_true(utf8("f09f9880"));          /* U+1F600 */
	assert_true(utf8("f48fbfbf"));          /* U+10FFFF, the last */
	assert_true(utf8("61c3a9e282acf09f988062"));
}

static void test_utf8_overlong(void **state)
{
	(void)state;
	assert_false(utf8("c080"));             /* U+0000 in 2 bytes */
	assert_false(utf8("c1bf"));             /* U+007F in 2 bytes */
	assert_false(utf8("e08080"));
	assert_false(utf8("e09fbf"));           /* U+07FF in 3 bytes */
	assert_false(utf8("f0808080"));
	assert_false(utf8("f08fbfbf"));         /* U+FFFF in 4 bytes */
	assert_false(utf8("f8888080 80"));      /* 5-byte form */
	assert_false(utf8("fc8480808080"));     /* 6-byte form */
}

static void test_utf8_surrogates(void **state)
{
	(void)state;
	assert_false(utf8("eda080"));           /* U+D800 */
	assert_false(utf8("edadbf"));           /* U+DB7F */
	assert_false(utf8("edb080"));           /* U+DC00 */
	assert_false(utf8("edbfbf"));           /* U+DFFF */
	assert_false(utf8("eda0bdedb880"));     /* a CESU-8 pair */
}

static void test_utf8_beyond_max(void **state)
{
	(void)state;
	assert_false(utf8("f4908080"));         /* U+110000 */
	assert_false(utf8("f4bfbfbf"));
	assert_false(utf8("f5808080"));
	assert_false(utf8("f7bfbfbf"));
	assert_false(utf8("fe"));
	assert_false(utf8("ff"));
}

static void test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	assert_false(utf8("c3"));
	assert_false(utf8("e282"));
	assert_false(utf8("f09f98"));
	assert_false(utf8("61f09f98"));
	assert_false(utf8("c341"));             /* lead then ASCII */
	assert_false(utf8("e28241"));
	assert_false(utf8("f09f9841"));
	assert_false(utf8("80"));               /* lone continuation */
	assert_false(utf8("bf"));
	assert_false(utf8("61bf62"));
	assert_false(utf8("c3a9a9"));           /* one continuation too many */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_formats),
		cmocka_unit_test(test_token_truncated),
		cmocka_unit_test(test_token_huge_lengths),
		cmocka_unit_test(test_token_c1_invalid),
		cmocka_unit_test(test_token_every_first_byte),
		cmocka_unit_test(test_scan_every_split),
		cmocka_unit_test(test_scan_byte_by_byte),
		cmocka_unit_test(test_scan_back_to_back),
		cmocka_unit_test(test_scan_scalars_and_empties),
		cmocka_unit_test(test_scan_bad_byte),
		cmocka_unit_test(test_scan_depth_limit_at_n),
		cmocka_unit_test(test_scan_depth_limit_over_n),
		cmocka_unit_test(test_scan_depth_resets_as_containers_close),
		cmocka_unit_test(test_canon_ints_shortest),
		cmocka_unit_test(test_canon_signed_positive_to_unsigned),
		cmocka_unit_test(test_canon_float32_widened),
		cmocka_unit_test(test_canon_headers_shortest),
		cmocka_unit_test(test_canon_vectors),
		cmocka_unit_test(test_canon_bad_utf8),
		cmocka_unit_test(test_canon_key_mode),
		cmocka_unit_test(test_canon_refs),
		cmocka_unit_test(test_foreach_ref),
		cmocka_unit_test(test_canon_truncated),
		cmocka_unit_test(test_canon_appends_first_object),
		cmocka_unit_test(test_canon_depth),
		cmocka_unit_test(test_value_depth_fits_replies),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates),
		cmocka_unit_test(test_utf8_beyond_max),
		cmocka_unit_test(test_utf8_truncated_and_stray),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
