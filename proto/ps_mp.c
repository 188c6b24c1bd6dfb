/*
 * MessagePack token reader, stream scanner and canonical re-encoder.
 * Decoding is ours (it must be resumable, bounded in depth and able to hand
 * back raw byte spans); encoding goes through msgpack-c's packer.
 */
#include <stdio.h>
#include <string.h>

#include "ps_mp.h"

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void set_int(struct ps_mp_tok *t, int64_t v)
{
	if (v >= 0) {
		t->type = PS_MP_UINT;
		t->v.u = (uint64_t)v;
	} else {
		t->type = PS_MP_INT;
		t->v.i = v;
	}
}

/* A payload-carrying token: header of hdr bytes, then len bytes. */
static int payload(struct ps_mp_tok *t, enum ps_mp_type type, const uint8_t *p, size_t n, size_t hdr, uint64_t len)
{
	if (n < hdr || len > n - hdr)
		return 0;
	t->type = type;
	t->v.n = (uint32_t)len;
	t->data = p + hdr;
	t->size = hdr + len;
	return 1;
}

static int ext(struct ps_mp_tok *t, const uint8_t *p, size_t n, size_t lenbytes, uint64_t fixlen)
{
	uint64_t len = fixlen;
	size_t hdr = 1 + lenbytes + 1;

	if (n < hdr)
		return 0;
	if (lenbytes > 0)
		len = be(p + 1, (int)lenbytes);
	t->ext_type = (int8_t)p[1 + lenbytes];
	return payload(t, PS_MP_EXT, p, n, hdr, len);
}

/* Fixed-size scalar: needs 1 + w bytes. */
#define NEED(w) do { if (n < 1 + (size_t)(w)) return 0; t->size = 1 + (w); } while (0)

int ps_mp_token(const uint8_t *p, size_t n, struct ps_mp_tok *t)
{
	uint8_t b;

	if (n == 0)
		return 0;
	b = p[0];
	t->data = NULL;
	t->f32 = false;
	t->ext_type = 0;
	t->size = 1;
	if (b <= 0x7f) {
		set_int(t, b);
		return 1;
	}
	if (b >= 0xe0) {
		set_int(t, (int8_t)b);
		return 1;
	}
	if (b <= 0x8f) {
		t->type = PS_MP_MAP;
		t->v.n = b & 0x0f;
		return 1;
	}
	if (b <= 0x9f) {
		t->type = PS_MP_ARRAY;
		t->v.n = b & 0x0f;
		return 1;
	}
	if (b <= 0xbf)
		return payload(t, PS_MP_STR, p, n, 1, b & 0x1f);
	switch (b) {
	case 0xc0: t->type = PS_MP_NIL; return 1;
	case 0xc2: case 0xc3: t->type = PS_MP_BOOL; t->v.b = b == 0xc3; return 1;
	case 0xc4: if (n < 2) return 0; return payload(t, PS_MP_BIN, p, n, 2, p[1]);
	case 0xc5: if (n < 3) return 0; return payload(t, PS_MP_BIN, p, n, 3, be(p + 1, 2));
	case 0xc6: if (n < 5) return 0; return payload(t, PS_MP_BIN, p, n, 5, be(p + 1, 4));
	case 0xc7: return ext(t, p, n, 1, 0);
	case 0xc8: return ext(t, p, n, 2, 0);
	case 0xc9: return ext(t, p, n, 4, 0);
	case 0xca: {
		uint32_t u;
		float f;
		NEED(4);
		u = (uint32_t)be(p + 1, 4);
		memcpy(&f, &u, 4);
		t->type = PS_MP_FLOAT;
		t->v.f = f;
		t->f32 = true;
		return 1;
	}
	case 0xcb: {
		uint64_t u;
		NEED(8);
		u = be(p + 1, 8);
		t->type = PS_MP_FLOAT;
		memcpy(&t->v.f, &u, 8);
		return 1;
	}
	case 0xcc: NEED(1); t->type = PS_MP_UINT; t->v.u = p[1]; return 1;
	case 0xcd: NEED(2); t->type = PS_MP_UINT; t->v.u = be(p + 1, 2); return 1;
	case 0xce: NEED(4); t->type = PS_MP_UINT; t->v.u = be(p + 1, 4); return 1;
	case 0xcf: NEED(8); t->type = PS_MP_UINT; t->v.u = be(p + 1, 8); return 1;
	case 0xd0: NEED(1); set_int(t, (int8_t)p[1]); return 1;
	case 0xd1: NEED(2); set_int(t, (int16_t)be(p + 1, 2)); return 1;
	case 0xd2: NEED(4); set_int(t, (int32_t)be(p + 1, 4)); return 1;
	case 0xd3: NEED(8); set_int(t, (int64_t)be(p + 1, 8)); return 1;
	case 0xd4: return ext(t, p, n, 0, 1);
	case 0xd5: return ext(t, p, n, 0, 2);
	case 0xd6: return ext(t, p, n, 0, 4);
	case 0xd7: return ext(t, p, n, 0, 8);
	case 0xd8: return ext(t, p, n, 0, 16);
	case 0xd9: if (n < 2) return 0; return payload(t, PS_MP_STR, p, n, 2, p[1]);
	case 0xda: if (n < 3) return 0; return payload(t, PS_MP_STR, p, n, 3, be(p + 1, 2));
	case 0xdb: if (n < 5) return 0; return payload(t, PS_MP_STR, p, n, 5, be(p + 1, 4));
	case 0xdc: NEED(2); t->type = PS_MP_ARRAY; t->v.n = (uint32_t)be(p + 1, 2); return 1;
	case 0xdd: NEED(4); t->type = PS_MP_ARRAY; t->v.n = (uint32_t)be(p + 1, 4); return 1;
	case 0xde: NEED(2); t->type = PS_MP_MAP; t->v.n = (uint32_t)be(p + 1, 2); return 1;
	case 0xdf: NEED(4); t->type = PS_MP_MAP; t->v.n = (uint32_t)be(p + 1, 4); return 1;
	default: return -1; /* 0xc1 */
	}
}

void ps_mp_scan_reset(struct ps_mp_scan *s)
{
	s->off = 0;
	s->depth = 0;
	s->left[0] = 1;
}

/* Sizes of the tokens 0xc0..0xdf that are one fixed-size piece (nil,
 * bools, numbers, fixext); 0 for the rest (the token reader decides). */
static const uint8_t fixed_size[32] = {
	1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9,
	2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0,
};

/* The size of the token starting with b when it is a scalar whose size
 * its first byte gives, else 0. */
static size_t simple_size(uint8_t b)
{
	if (b <= 0x7f || b >= 0xe0)
		return 1;
	if ((b & 0xe0) == 0xa0)
		return 1 + (size_t)(b & 0x1f);
	if (b >= 0xc0)
		return fixed_size[b - 0xc0];
	return 0;
}

int ps_mp_scan(struct ps_mp_scan *s, const uint8_t *p, size_t n, int max_depth, size_t *size)
{
	/* Locals, stored back on every return: the stream may end here. The
	 * count owed at the current level is one of them too: p may alias s,
	 * so s->left[depth] would be reloaded and stored at every token. */
	size_t off = s->off, k;
	int depth = s->depth, r = PS_SCAN_MORE;
	uint64_t left = s->left[depth];
	struct ps_mp_tok t;

	if (max_depth > PS_MAX_DEPTH)
		max_depth = PS_MAX_DEPTH;
	for (;;) {
		while (left == 0) {
			if (depth == 0) {
				*size = off;
				ps_mp_scan_reset(s);
				return PS_SCAN_DONE;
			}
			left = s->left[--depth];
		}
		if (off >= n)
			break;
		/* Requests are mostly small ints, short strs and nil: step over
		 * those without decoding a token. */
		k = simple_size(p[off]);
		if (k > 0) {
			if (n - off < k)
				break;
			left--;
			off += k;
			continue;
		}
		r = ps_mp_token(p + off, n - off, &t);
		if (r <= 0) {
			r = r == 0 ? PS_SCAN_MORE : PS_SCAN_BAD;
			break;
		}
		r = PS_SCAN_MORE;
		left--;
		off += t.size;
		if (t.type == PS_MP_ARRAY || t.type == PS_MP_MAP) {
			/* An empty container still occupies its level. */
			if (depth + 1 > max_depth) {
				r = PS_SCAN_DEEP;
				break;
			}
			if (t.v.n == 0)
				continue;
			s->left[depth++] = left;
			left = t.type == PS_MP_MAP ? 2 * (uint64_t)t.v.n : t.v.n;
		}
	}
	s->left[depth] = left;
	s->off = off;
	s->depth = depth;
	return r;
}

size_t ps_mp_skip(const uint8_t *p, size_t n)
{
	struct ps_mp_scan s;
	struct ps_mp_tok t;
	size_t size = 0;

	/* A scalar is one token: no scanner needed, and mostly no decoding. */
	if (n > 0 && !(p[0] >= 0x80 && p[0] <= 0x9f) && !(p[0] >= 0xdc && p[0] <= 0xdf)) {
		size = simple_size(p[0]);
		if (size > 0)
			return size <= n ? size : 0;
		return ps_mp_token(p, n, &t) == 1 ? t.size : 0;
	}
	ps_mp_scan_reset(&s);
	if (ps_mp_scan(&s, p, n, PS_MAX_DEPTH, &size) != PS_SCAN_DONE)
		return 0;
	return size;
}

void ps_mp_packer(msgpack_packer *pk, struct ps_buf *b)
{
	msgpack_packer_init(pk, b, ps_buf_write_cb);
}

void ps_mp_pack_ref(msgpack_packer *pk, uint64_t id)
{
	uint8_t be8[8];

	for (int i = 0; i < 8; i++)
		be8[i] = (uint8_t)(id >> (56 - 8 * i));
	msgpack_pack_ext(pk, 8, PS_EXT_REF);
	msgpack_pack_ext_body(pk, be8, 8);
}

void ps_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

const char *ps_mp_type_name(const struct ps_mp_tok *t)
{
	switch (t->type) {
	case PS_MP_NIL: return "nil";
	case PS_MP_BOOL: return "bool";
	case PS_MP_UINT: case PS_MP_INT: return "int";
	case PS_MP_FLOAT: return "float";
	case PS_MP_STR: return "str";
	case PS_MP_BIN: return "bin";
	case PS_MP_ARRAY: return "array";
	case PS_MP_MAP: return "map";
	case PS_MP_EXT: return t->ext_type == PS_EXT_REF ? "ref" : "ext";
	}
	return "?";
}

bool ps_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c;
		uint32_t cp;
		uint64_t w;
		int k;

		/* Mostly ASCII: eight bytes at a time while it lasts. */
		if (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= (size_t)k)
			return false;
		for (int j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += (size_t)k + 1;
	}
	return true;
}

static int canon_fail(struct ps_canon_info *info, enum ps_code code, const char *msg)
{
	info->code = code;
	snprintf(info->msg, sizeof info->msg, "%s", msg);
	return -1;
}

/* Header bytes of the shortest str (bin) header for a payload of n bytes. */
static size_t str_hdr(uint32_t n)
{
	return n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

static size_t bin_hdr(uint32_t n)
{
	return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/* Bytes of the shortest encoding of an int, as msgpack_pack_uint64 and
 * msgpack_pack_int64 write it. */
static size_t int_size(const struct ps_mp_tok *t)
{
	if (t->type == PS_MP_UINT)
		return t->v.u < 0x80 ? 1 : t->v.u < 0x100 ? 2 : t->v.u < 0x10000 ? 3 : t->v.u <= UINT32_MAX ? 5 : 9;
	return t->v.i >= -32 ? 1 : t->v.i >= -128 ? 2 : t->v.i >= -32768 ? 3 : t->v.i >= INT32_MIN ? 5 : 9;
}

/* Whether token t at p is already in canonical form, so that its bytes
 * (the header only, for an array or a map) can be copied as they are:
 * what clients send mostly is, and a copy costs less than re-encoding.
 * Refs and other exts always take the re-encoding path. */
static bool canon_as_is(const uint8_t *p, const struct ps_mp_tok *t)
{
	uint8_t b = p[0];

	switch (t->type) {
	case PS_MP_NIL:
	case PS_MP_BOOL:
		return true;
	case PS_MP_UINT:
		/* Non-negative ints sent in the signed family are not. */
		return (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) && t->size == int_size(t);
	case PS_MP_INT:
		return t->size == int_size(t);
	case PS_MP_FLOAT:
		return !t->f32;
	case PS_MP_STR:
		return t->size - t->v.n == str_hdr(t->v.n);
	case PS_MP_BIN:
		return t->size - t->v.n == bin_hdr(t->v.n);
	case PS_MP_ARRAY:
	case PS_MP_MAP:
		return t->size == (t->v.n < 16 ? 1u : t->v.n < 0x10000 ? 3u : 5u);
	case PS_MP_EXT:
		return false;
	}
	return false;
}

/* Re-encodes one object; *used gets its input length. */
static int canon_one(const uint8_t *p, size_t n, int flags, int depth, msgpack_packer *pk,
		     struct ps_canon_info *info, size_t *used)
{
	struct ps_mp_tok t;
	size_t off, sub;
	uint64_t items;

	if (ps_mp_token(p, n, &t) != 1)
		return canon_fail(info, PS_E_PROTOCOL, "truncated or invalid value");
	*used = t.size;
	if (t.type != PS_MP_ARRAY && t.type != PS_MP_MAP && canon_as_is(p, &t)) {
		if (t.type == PS_MP_STR && !ps_utf8_valid(t.data, t.v.n))
			return canon_fail(info, PS_E_TYPE, "str is not valid UTF-8 (send bytes as bin)");
		pk->callback(pk->data, (const char *)p, t.size);
		return 0;
	}
	switch (t.type) {
	case PS_MP_NIL: msgpack_pack_nil(pk); return 0;
	case PS_MP_BOOL: t.v.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); return 0;
	case PS_MP_UINT: msgpack_pack_uint64(pk, t.v.u); return 0;
	case PS_MP_INT: msgpack_pack_int64(pk, t.v.i); return 0;
	case PS_MP_FLOAT: msgpack_pack_double(pk, t.v.f); return 0;
	case PS_MP_STR:
		if (!ps_utf8_valid(t.data, t.v.n))
			return canon_fail(info, PS_E_TYPE, "str is not valid UTF-8 (send bytes as bin)");
		msgpack_pack_str(pk, t.v.n);
		msgpack_pack_str_body(pk, t.data, t.v.n);
		return 0;
	case PS_MP_BIN:
		msgpack_pack_bin(pk, t.v.n);
		msgpack_pack_bin_body(pk, t.data, t.v.n);
		return 0;
	case PS_MP_EXT:
		if (t.ext_type == PS_EXT_REF) {
			if (t.v.n != 8)
				return canon_fail(info, PS_E_TYPE, "reference (ext 1) payload must be 8 bytes");
			info->nrefs++;
			ps_mp_pack_ref(pk, be(t.data, 8));
			return 0;
		}
		msgpack_pack_ext(pk, t.v.n, t.ext_type);
		msgpack_pack_ext_body(pk, t.data, t.v.n);
		return 0;
	case PS_MP_ARRAY:
	case PS_MP_MAP:
		if (t.type == PS_MP_MAP && (flags & PS_CANON_KEY))
			return canon_fail(info, PS_E_TYPE, "unhashable type: map");
		if (depth >= PS_MAX_VALUE_DEPTH)
			return canon_fail(info, PS_E_TOOLARGE, "value nested too deeply");
		if (canon_as_is(p, &t))
			pk->callback(pk->data, (const char *)p, t.size);
		else if (t.type == PS_MP_MAP)
			msgpack_pack_map(pk, t.v.n);
		else
			msgpack_pack_array(pk, t.v.n);
		items = t.type == PS_MP_MAP ? 2 * (uint64_t)t.v.n : t.v.n;
		off = t.size;
		for (uint64_t i = 0; i < items; i++) {
			if (canon_one(p + off, n - off, flags, depth + 1, pk, info, &sub) < 0)
				return -1;
			off += sub;
		}
		*used = off;
		return 0;
	}
	return canon_fail(info, PS_E_PROTOCOL, "invalid value");
}

int ps_mp_canon(const uint8_t *p, size_t n, int flags, struct ps_buf *out, struct ps_canon_info *info)
{
	msgpack_packer pk;
	size_t start = out->len, used;

	info->nrefs = 0;
	info->code = PS_OK;
	info->msg[0] = '\0';
	ps_mp_packer(&pk, out);
	if (canon_one(p, n, flags, 1, &pk, info, &used) < 0 || out->oom) {
		if (out->oom && info->code == PS_OK)
			canon_fail(info, PS_E_NOMEM, "out of memory");
		out->len = start;
		out->oom = 0;
		return -1;
	}
	return 0;
}

void ps_mp_foreach_ref(const uint8_t *p, size_t n, void (*fn)(uint64_t id, void *arg), void *arg)
{
	struct ps_mp_tok t;
	size_t off = 0;
	uint64_t left = 1;

	/* Canonical values are trusted: a flat walk counting owed items suffices. */
	while (left > 0 && ps_mp_token(p + off, n - off, &t) == 1) {
		left--;
		off += t.size;
		if (t.type == PS_MP_ARRAY)
			left += t.v.n;
		else if (t.type == PS_MP_MAP)
			left += 2 * (uint64_t)t.v.n;
		else if (t.type == PS_MP_EXT && t.ext_type == PS_EXT_REF && t.v.n == 8)
			fn(be(t.data, 8), arg);
	}
}
