/*
 * Typecodes: checking and converting the scalars a Value or an Array
 * holds. The ranges are those of the C types on LP64 Linux, the platform
 * Python's array module and ctypes would use here; 'l' and 'L' are 64-bit.
 */
#include <string.h>

#include "call.h"
#include "typecode.h"

static const struct typecode typecodes[] = {
	{ 'b', TYPECODE_SIGNED, "signed char", INT8_MIN, INT8_MAX, false },
	{ 'B', TYPECODE_UNSIGNED, "unsigned char", 0, UINT8_MAX, false },
	{ 'h', TYPECODE_SIGNED, "short", INT16_MIN, INT16_MAX, false },
	{ 'H', TYPECODE_UNSIGNED, "unsigned short", 0, UINT16_MAX, false },
	{ 'i', TYPECODE_SIGNED, "int", INT32_MIN, INT32_MAX, false },
	{ 'I', TYPECODE_UNSIGNED, "unsigned int", 0, UINT32_MAX, false },
	{ 'l', TYPECODE_SIGNED, "long", INT64_MIN, INT64_MAX, false },
	{ 'L', TYPECODE_UNSIGNED, "unsigned long", 0, UINT64_MAX, false },
	{ 'q', TYPECODE_SIGNED, "long long", INT64_MIN, INT64_MAX, false },
	{ 'Q', TYPECODE_UNSIGNED, "unsigned long long", 0, UINT64_MAX, false },
	{ 'f', TYPECODE_FLOAT, "float", 0, 0, true },
	{ 'd', TYPECODE_FLOAT, "double", 0, 0, false },
	{ 'c', TYPECODE_BYTE, "char", 0, UINT8_MAX, false },
	{ 'u', TYPECODE_CHAR, "wchar_t", 0, 0x10ffff, false },
};

const struct typecode *typecode_find(const char *s, size_t len)
{
	if (len != 1)
		return NULL;
	for (size_t i = 0; i < sizeof typecodes / sizeof typecodes[0]; i++)
		if (typecodes[i].code == s[0])
			return &typecodes[i];
	return NULL;
}

int typecode_arg(struct call *c, const struct typecode **tc)
{
	const char *s;
	size_t len;

	if (call_arg_str(c, "typecode", &s, &len) < 0)
		return -1;
	*tc = typecode_find(s, len);
	if (*tc == NULL)
		return call_error(c, PS_E_VALUE, "bad typecode '%.*s' (must be b, B, h, H, i, I, l, L, q, Q, f, d, c or u)",
				  (int)(len > 16 ? 16 : len), s);
	return 0;
}

/* ---- conversion ------------------------------------------------------- */

static int typecode_type_error(struct call *c, const struct typecode *tc, const char *what, const char *want,
			       const struct ps_mp_tok *t)
{
	return call_error(c, PS_E_TYPE, "%s for typecode '%c' must be %s, not %s", what, tc->code, want,
			  ps_mp_type_name(t));
}

/* True when an int (negative: i, else u) is in the typecode's range. */
static bool typecode_fits(const struct typecode *tc, bool neg, int64_t i, uint64_t u)
{
	if (neg)
		return tc->kind == TYPECODE_SIGNED && i >= tc->min;
	return u <= tc->max;
}

/* An integer token (bools count as 0 and 1) checked against the range. */
static int typecode_conv_int(struct call *c, const struct typecode *tc, const struct ps_mp_tok *t,
			     const char *what, union typecode_elem *out)
{
	bool neg = t->type == PS_MP_INT;
	uint64_t u = t->type == PS_MP_BOOL ? t->v.b : t->v.u;

	if (t->type != PS_MP_INT && t->type != PS_MP_UINT && t->type != PS_MP_BOOL)
		return typecode_type_error(c, tc, what, "an int", t);
	if (!typecode_fits(tc, neg, t->v.i, u)) {
		if (neg)
			return call_error(c, PS_E_OVERFLOW, "%s %lld out of range for typecode '%c' (%s)", what,
					  (long long)t->v.i, tc->code, tc->ctype);
		return call_error(c, PS_E_OVERFLOW, "%s %llu out of range for typecode '%c' (%s)", what,
				  (unsigned long long)u, tc->code, tc->ctype);
	}
	if (tc->kind == TYPECODE_UNSIGNED)
		out->u = u;
	else
		out->i = neg ? t->v.i : (int64_t)u;
	return 0;
}

/* A number as a double; false for anything else. */
static bool typecode_tok_double(const struct ps_mp_tok *t, double *d)
{
	switch (t->type) {
	case PS_MP_FLOAT: *d = t->v.f; return true;
	case PS_MP_UINT: *d = (double)t->v.u; return true;
	case PS_MP_INT: *d = (double)t->v.i; return true;
	case PS_MP_BOOL: *d = t->v.b; return true;
	default: return false;
	}
}

/* What ctypes' c_float does: the nearest float32 (infinity beyond its
 * range, a conversion IEC 60559 defines). */
static double typecode_round_f32(const struct typecode *tc, double d)
{
	return tc->f32 ? (double)(float)d : d;
}

static int typecode_conv_float(struct call *c, const struct typecode *tc, const struct ps_mp_tok *t,
			       const char *what, union typecode_elem *out)
{
	double d;

	if (!typecode_tok_double(t, &d))
		return typecode_type_error(c, tc, what, "a float", t);
	out->f = typecode_round_f32(tc, d);
	return 0;
}

static int typecode_conv_byte(struct call *c, const struct typecode *tc, const struct ps_mp_tok *t,
			      const char *what, union typecode_elem *out)
{
	if (t->type != PS_MP_BIN)
		return typecode_type_error(c, tc, what, "a bin of length 1", t);
	if (t->v.n != 1)
		return call_error(c, PS_E_TYPE, "%s for typecode 'c' must be a bin of length 1, not of length %u",
				  what, (unsigned)t->v.n);
	out->ch = t->data[0];
	return 0;
}

/* Length of the UTF-8 sequence led by b (the text is known valid). */
static size_t typecode_utf8_len(uint8_t b)
{
	return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

static int typecode_conv_char(struct call *c, const struct typecode *tc, const struct ps_mp_tok *t,
			      const char *what, union typecode_elem *out)
{
	static const uint8_t lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	size_t n;
	uint32_t cp;

	if (t->type != PS_MP_STR)
		return typecode_type_error(c, tc, what, "a str of one character", t);
	if (!ps_utf8_valid(t->data, t->v.n))
		return call_error(c, PS_E_TYPE, "%s is not valid UTF-8", what);
	n = t->v.n > 0 ? typecode_utf8_len(t->data[0]) : 0;
	if (n == 0 || n != t->v.n)
		return call_error(c, PS_E_TYPE, "%s for typecode 'u' must be a str of one character", what);
	cp = t->data[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (t->data[i] & 0x3f);
	out->ch = cp;
	return 0;
}

int typecode_conv(struct call *c, const struct typecode *tc, const uint8_t *raw, size_t len, const char *what,
		  union typecode_elem *out)
{
	struct ps_mp_tok t;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "%s is not a valid value", what);
	switch (tc->kind) {
	case TYPECODE_SIGNED:
	case TYPECODE_UNSIGNED:
		return typecode_conv_int(c, tc, &t, what, out);
	case TYPECODE_FLOAT:
		return typecode_conv_float(c, tc, &t, what, out);
	case TYPECODE_BYTE:
		return typecode_conv_byte(c, tc, &t, what, out);
	case TYPECODE_CHAR:
		return typecode_conv_char(c, tc, &t, what, out);
	}
	return call_error(c, PS_E_TYPE, "bad typecode");
}

union typecode_elem typecode_zero(const struct typecode *tc)
{
	union typecode_elem e;

	memset(&e, 0, sizeof e);
	if (tc->kind == TYPECODE_FLOAT)
		e.f = 0.0;
	return e;
}

/* ---- arithmetic ------------------------------------------------------- */

/* Integer sum in 128 bits, where any two 64-bit operands fit, then
 * checked against the typecode's range. */
static int typecode_add_int(struct call *c, const struct typecode *tc, union typecode_elem e,
			    const struct ps_mp_tok *t, union typecode_elem *out)
{
	__int128 a = tc->kind == TYPECODE_SIGNED ? (__int128)e.i : (__int128)e.u;
	__int128 b, s;

	if (t->type == PS_MP_INT)
		b = t->v.i;
	else if (t->type == PS_MP_UINT)
		b = t->v.u;
	else if (t->type == PS_MP_BOOL)
		b = t->v.b;
	else
		return typecode_type_error(c, tc, "delta", "an int", t);
	s = a + b;
	if (s < (__int128)tc->min || s > (__int128)tc->max)
		return call_error(c, PS_E_OVERFLOW, "the sum is out of range for typecode '%c' (%s)", tc->code,
				  tc->ctype);
	if (tc->kind == TYPECODE_SIGNED)
		out->i = (int64_t)s;
	else
		out->u = (uint64_t)s;
	return 0;
}

int typecode_add(struct call *c, const struct typecode *tc, union typecode_elem e, const uint8_t *raw, size_t len,
		 union typecode_elem *out)
{
	struct ps_mp_tok t;
	double d;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "delta is not a valid value");
	switch (tc->kind) {
	case TYPECODE_SIGNED:
	case TYPECODE_UNSIGNED:
		return typecode_add_int(c, tc, e, &t, out);
	case TYPECODE_FLOAT:
		if (!typecode_tok_double(&t, &d))
			return typecode_type_error(c, tc, "delta", "an int or a float", &t);
		out->f = typecode_round_f32(tc, e.f + d);
		return 0;
	case TYPECODE_BYTE:
	case TYPECODE_CHAR:
		break;
	}
	return call_error(c, PS_E_TYPE, "typecode '%c' does not support add", tc->code);
}

bool typecode_same(const struct typecode *tc, union typecode_elem a, union typecode_elem b)
{
	switch (tc->kind) {
	case TYPECODE_SIGNED: return a.i == b.i;
	case TYPECODE_UNSIGNED: return a.u == b.u;
	case TYPECODE_FLOAT: return memcmp(&a.f, &b.f, sizeof a.f) == 0;
	case TYPECODE_BYTE:
	case TYPECODE_CHAR: return a.ch == b.ch;
	}
	return false;
}

/* ---- output ----------------------------------------------------------- */

static size_t typecode_utf8_put(uint32_t cp, uint8_t *p)
{
	if (cp < 0x80) {
		p[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (uint8_t)(0xc0 | cp >> 6);
		p[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (uint8_t)(0xe0 | cp >> 12);
		p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (uint8_t)(0xf0 | cp >> 18);
	p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

void typecode_pack(struct call *c, const struct typecode *tc, union typecode_elem e)
{
	uint8_t buf[4];
	size_t n;

	switch (tc->kind) {
	case TYPECODE_SIGNED:
		msgpack_pack_int64(&c->pk, e.i);
		break;
	case TYPECODE_UNSIGNED:
		msgpack_pack_uint64(&c->pk, e.u);
		break;
	case TYPECODE_FLOAT:
		msgpack_pack_double(&c->pk, e.f);
		break;
	case TYPECODE_BYTE:
		buf[0] = (uint8_t)e.ch;
		msgpack_pack_bin(&c->pk, 1);
		msgpack_pack_bin_body(&c->pk, buf, 1);
		break;
	case TYPECODE_CHAR:
		n = typecode_utf8_put(e.ch, buf);
		msgpack_pack_str(&c->pk, n);
		msgpack_pack_str_body(&c->pk, buf, n);
		break;
	}
}
