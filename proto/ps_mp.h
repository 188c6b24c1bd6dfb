/*
 * MessagePack reading for both sides: a token reader, a resumable scanner
 * that finds where one message ends in a byte stream, and canonical
 * re-encoding of values (the form the daemon stores and compares).
 * Encoding uses msgpack-c's packer writing into a struct ps_buf.
 */
#ifndef PS_MP_H
#define PS_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "ps_buf.h"
#include "ps_proto.h"

enum ps_mp_type {
	PS_MP_NIL, PS_MP_BOOL, PS_MP_UINT, PS_MP_INT, PS_MP_FLOAT,
	PS_MP_STR, PS_MP_BIN, PS_MP_ARRAY, PS_MP_MAP, PS_MP_EXT
};

/* One token: a scalar, or the header of a str/bin/ext (with its payload) or
 * of an array/map (whose elements follow). */
struct ps_mp_tok {
	enum ps_mp_type type;
	size_t size;            /* bytes of the token, payload included */
	union {
		bool b;
		uint64_t u;     /* PS_MP_UINT: values >= 0 */
		int64_t i;      /* PS_MP_INT: values < 0 */
		double f;       /* float 32 is widened */
		uint32_t n;     /* str/bin/ext length; array/map count */
	} v;
	int8_t ext_type;
	bool f32;               /* PS_MP_FLOAT was encoded as float 32 */
	const uint8_t *data;    /* str/bin/ext payload */
};

/* Reads the token at p. Returns 1 and fills t, 0 when more bytes are needed,
 * -1 when the byte 0xc1 (never used) starts it. */
int ps_mp_token(const uint8_t *p, size_t n, struct ps_mp_tok *t);

/* Resumable scanner: feed it the same growing buffer until it reports a
 * complete object. State is kept at token boundaries, so each byte is read
 * once however the stream is split. */
struct ps_mp_scan {
	size_t off;                     /* bytes of the object scanned so far */
	int depth;                      /* open containers */
	uint64_t left[PS_MAX_DEPTH + 1];/* items still owed at each level */
};

enum { PS_SCAN_MORE = 0, PS_SCAN_DONE = 1, PS_SCAN_BAD = -1, PS_SCAN_DEEP = -2 };

void ps_mp_scan_reset(struct ps_mp_scan *s);
/* Scans p[0..n). Returns PS_SCAN_DONE with *size set to the length of the
 * first complete object (the scanner is reset for the next one),
 * PS_SCAN_MORE when the object is incomplete (s->off bytes so far),
 * PS_SCAN_BAD on an invalid byte, PS_SCAN_DEEP when nesting exceeds
 * max_depth. */
int ps_mp_scan(struct ps_mp_scan *s, const uint8_t *p, size_t n, int max_depth, size_t *size);

/* Length of the complete, already validated object at p (or 0 if invalid). */
size_t ps_mp_skip(const uint8_t *p, size_t n);

/* Canonical form of a value (proto/PROTOCOL.md, "Values and equality"):
 * integers in their shortest encoding (non-negative as the unsigned family),
 * floats as float 64, str/bin/ext/array/map with their shortest headers,
 * references as fixext 8. Str must be valid UTF-8. */
#define PS_CANON_KEY 1          /* reject maps anywhere (keys must be hashable) */

struct ps_canon_info {
	uint32_t nrefs;         /* references found */
	enum ps_code code;      /* error code when ps_mp_canon fails */
	char msg[128];          /* error text when ps_mp_canon fails */
};

/* Appends the canonical encoding of the object at p[0..n) to out.
 * Returns 0, or -1 with info->code/msg set (out is restored). The object
 * must be complete; n may extend past it. */
int ps_mp_canon(const uint8_t *p, size_t n, int flags, struct ps_buf *out, struct ps_canon_info *info);

/* Calls fn(id, arg) for every reference inside the canonical object at p. */
void ps_mp_foreach_ref(const uint8_t *p, size_t n, void (*fn)(uint64_t id, void *arg), void *arg);

/* Binds a packer to a buffer. */
void ps_mp_packer(msgpack_packer *pk, struct ps_buf *b);
/* Appends a reference to object id. */
void ps_mp_pack_ref(msgpack_packer *pk, uint64_t id);
/* Appends a str from a NUL-terminated C string. */
void ps_mp_pack_cstr(msgpack_packer *pk, const char *s);

/* Type name for error messages ("int", "str", "map", ...). */
const char *ps_mp_type_name(const struct ps_mp_tok *t);

/* True when p[0..n) is valid UTF-8 (no surrogates, no overlongs). */
bool ps_utf8_valid(const uint8_t *p, size_t n);

#endif
