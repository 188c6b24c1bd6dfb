/*
 * Typecodes: the one-character element types of Python's array module and
 * ctypes ('b', 'i', 'd', 'c', 'u', ...), which fix what a shared Value or
 * Array element may hold. Used by daemon/types/value.c and array.c.
 *
 * An element is kept as a C scalar (union typecode_elem), not as a stored
 * value: each typecode has one canonical representation, so conversion
 * happens once, when a value comes in, and comparison is of scalars.
 */
#ifndef TYPECODE_H
#define TYPECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_mp.h"

struct call;

enum typecode_kind {
	TYPECODE_SIGNED,        /* b h i l q: min..max in .i */
	TYPECODE_UNSIGNED,      /* B H I L Q: 0..max in .u */
	TYPECODE_FLOAT,         /* f d in .f (f rounded to float32) */
	TYPECODE_BYTE,          /* c: one byte in .ch, a bin of length 1 */
	TYPECODE_CHAR           /* u: one code point in .ch, a str of length 1 */
};

struct typecode {
	char code;
	enum typecode_kind kind;
	const char *ctype;      /* the C type, for messages */
	int64_t min;            /* integer kinds */
	uint64_t max;
	bool f32;               /* float kinds: rounded to float32 */
};

union typecode_elem {
	int64_t i;
	uint64_t u;
	double f;
	uint32_t ch;
};

/* The typecode named by s[0..len); NULL when there is none. */
const struct typecode *typecode_find(const char *s, size_t len);
/* Reads a typecode argument: TypeError when not a str, ValueError when it
 * names no typecode. */
int typecode_arg(struct call *c, const struct typecode **tc);

/* Converts the value at raw[0..len) to an element: TypeError when its type
 * does not fit the typecode (a float for an integer code, an int for 'c',
 * ...), OverflowError when an integer is out of range. Ints and bools are
 * accepted by the float codes, bools by the integer codes (Python's bool is
 * an int). what names the value in messages. */
int typecode_conv(struct call *c, const struct typecode *tc, const uint8_t *raw, size_t len,
		  const char *what, union typecode_elem *out);
/* The default element: zero, 0.0, b"\x00" or "\x00". */
union typecode_elem typecode_zero(const struct typecode *tc);
/* e + delta (raw[0..len), an int or, for float codes, a float) into *out:
 * TypeError for 'c', 'u' or a float delta on an integer code,
 * OverflowError when the sum leaves the range. */
int typecode_add(struct call *c, const struct typecode *tc, union typecode_elem e, const uint8_t *raw,
		 size_t len, union typecode_elem *out);
/* True when a and b are the same element (floats bit for bit, as stored
 * values compare: proto/PROTOCOL.md, "Values and equality"). */
bool typecode_same(const struct typecode *tc, union typecode_elem a, union typecode_elem b);
/* Appends the element as a canonical value to the reply. */
void typecode_pack(struct call *c, const struct typecode *tc, union typecode_elem e);

#endif
