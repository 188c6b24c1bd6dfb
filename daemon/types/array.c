/*
 * The shared Array: a fixed number of scalars of one typecode, as
 * multiprocessing's Array(typecode, sequence_or_size) holds them (a ctypes
 * array: its length never changes). ArrayProxy's len, getitem and
 * setitem, with Python's negative indexes and slices, and a copy of the
 * whole. Elements are kept as C scalars (typecode.h), checked as they come
 * in; every method converts all it was given before it writes anything, so
 * an error leaves the array as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "typecode.h"
#include "types.h"

/* Most elements an array may have. Creating one by size costs a few bytes
 * of request and ARRAY_ELEM bytes per element of daemon memory, so the
 * size needs a bound (128 MiB of elements); anything near it could not be
 * read back in one reply of the default message size anyway. */
#define ARRAY_MAX_LEN ((size_t)1 << 24)

struct array {
	const struct typecode *tc;
	size_t len;
	union typecode_elem *items;
};

/* A slice as sent (nil for omitted bounds) and, once resolved against
 * the array, the n positions start, start + step, ... it selects. */
struct array_slice {
	int64_t start, stop, step;
	bool has_start, has_stop, has_step;
	size_t n;
};

static void array_destroy(struct registry *reg, void *data)
{
	struct array *a = data;

	(void)reg;
	if (a == NULL)
		return;
	free(a->items);
	free(a);
}

static size_t array_size(const void *data)
{
	const struct array *a = data;

	return a->len;
}

/* ---- elements coming in ----------------------------------------------- */

/* Checks that raw is an array: *n elements, the first at raw + *off. */
static int array_seq(struct call *c, const uint8_t *raw, size_t len, const char *what, size_t *n, size_t *off)
{
	struct ps_mp_tok t;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "%s is not a valid value", what);
	if (t.type != PS_MP_ARRAY)
		return call_error(c, PS_E_TYPE, "%s must be an array, not %s", what, ps_mp_type_name(&t));
	*n = t.v.n;
	*off = t.size;
	return 0;
}

/* Converts the n elements found at raw + off into dst[0..n). */
static int array_conv_all(struct call *c, const struct typecode *tc, const uint8_t *raw, size_t len, size_t off,
			  size_t n, union typecode_elem *dst)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = ps_mp_skip(raw + off, len - off);

		if (k == 0)
			return call_error(c, PS_E_PROTOCOL, "truncated array element");
		if (typecode_conv(c, tc, raw + off, k, "item", &dst[i]) < 0)
			return -1;
		off += k;
	}
	return 0;
}

/* n elements' worth of zeroed storage (at least one, so that an empty
 * array still has a pointer to free). */
static union typecode_elem *array_alloc(struct call *c, size_t n)
{
	union typecode_elem *p = calloc(n > 0 ? n : 1, sizeof *p);

	if (p == NULL)
		call_error(c, PS_E_NOMEM, "out of memory for %zu array items", n);
	return p;
}

static int array_check_len(struct call *c, size_t n)
{
	if (n > ARRAY_MAX_LEN)
		return call_error(c, PS_E_LIMIT, "an array holds at most %zu items, not %zu", ARRAY_MAX_LEN, n);
	return 0;
}

/* The initial contents: a size (that many zero elements) or an array of
 * elements. */
static int array_fill(struct call *c, struct array *a, const uint8_t *raw, size_t len)
{
	struct ps_mp_tok t;
	size_t off;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "the initial contents are not a valid value");
	if (t.type == PS_MP_INT)
		return call_error(c, PS_E_VALUE, "array size must be >= 0");
	if (t.type == PS_MP_UINT) {
		if (t.v.u > ARRAY_MAX_LEN)
			return call_error(c, PS_E_LIMIT, "an array holds at most %zu items", ARRAY_MAX_LEN);
		a->len = (size_t)t.v.u;
		/* calloc's zero bytes are every typecode's zero (typecode_zero). */
		a->items = array_alloc(c, a->len);
		return a->items != NULL ? 0 : -1;
	}
	if (t.type != PS_MP_ARRAY)
		return call_error(c, PS_E_TYPE, "array contents must be a size or an array, not %s", ps_mp_type_name(&t));
	if (array_seq(c, raw, len, "array contents", &a->len, &off) < 0 || array_check_len(c, a->len) < 0 ||
	    (a->items = array_alloc(c, a->len)) == NULL)
		return -1;
	return array_conv_all(c, a->tc, raw, len, off, a->len, a->items);
}

/* Create arguments: [typecode, size or array of items]. */
static void *array_create(struct call *c)
{
	struct array *a;
	const uint8_t *raw;
	size_t len;

	a = calloc(1, sizeof *a);
	if (a == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating an array");
		return NULL;
	}
	if (typecode_arg(c, &a->tc) < 0 || call_arg_raw(c, "size or items", &raw, &len) < 0 ||
	    call_no_more(c) < 0 || array_fill(c, a, raw, len) < 0) {
		array_destroy(c->reg, a);
		return NULL;
	}
	return a;
}

/* ---- indexes and slices ----------------------------------------------- */

/* Python's item index: negative counts from the end. */
static int array_pos(struct call *c, const struct array *a, const char *msg, size_t *pos)
{
	int64_t i;

	if (call_arg_int(c, "index", &i) < 0)
		return -1;
	if (i < 0)
		i += (int64_t)a->len;
	if (i < 0 || (uint64_t)i >= a->len)
		return call_error(c, PS_E_INDEX, "%s", msg);
	*pos = (size_t)i;
	return 0;
}

/* One bound pinned into the array, as PySlice_AdjustIndices does. */
static int64_t array_pin(int64_t i, int64_t len, int64_t step)
{
	if (i < 0) {
		i += len;
		if (i < 0)
			return step < 0 ? -1 : 0;
		return i;
	}
	if (i >= len)
		return step < 0 ? len - 1 : len;
	return i;
}

/* Reads start, stop, step (each an int or nil) and resolves them against
 * the array exactly as Python's PySlice_Unpack and PySlice_AdjustIndices
 * do. */
static int array_arg_slice(struct call *c, const struct array *a, struct array_slice *s)
{
	int64_t len = (int64_t)a->len;

	if (call_arg_opt_int(c, "start", &s->start, &s->has_start) < 0 ||
	    call_arg_opt_int(c, "stop", &s->stop, &s->has_stop) < 0 ||
	    call_arg_opt_int(c, "step", &s->step, &s->has_step) < 0)
		return -1;
	if (!s->has_step)
		s->step = 1;
	if (s->step == 0)
		return call_error(c, PS_E_VALUE, "slice step cannot be zero");
	/* Python clamps the step the same way, so -step cannot overflow. */
	if (s->step < -INT64_MAX)
		s->step = -INT64_MAX;
	s->start = s->has_start ? array_pin(s->start, len, s->step) : s->step < 0 ? len - 1 : 0;
	s->stop = s->has_stop ? array_pin(s->stop, len, s->step) : s->step < 0 ? -1 : len;
	s->n = 0;
	if (s->step > 0 && s->start < s->stop)
		s->n = (size_t)((s->stop - s->start - 1) / s->step) + 1;
	else if (s->step < 0 && s->stop < s->start)
		s->n = (size_t)((s->start - s->stop - 1) / -s->step) + 1;
	return 0;
}

/* Position of the k-th element a resolved slice selects. */
static size_t array_slice_at(const struct array_slice *s, size_t k)
{
	return (size_t)(s->start + (int64_t)k * s->step);
}

/* ---- methods ---------------------------------------------------------- */

static int array_len(struct call *c, void *data)
{
	struct array *a = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, a->len);
	return 0;
}

static int array_getitem(struct call *c, void *data)
{
	struct array *a = data;
	size_t pos;

	if (array_pos(c, a, "array index out of range", &pos) < 0 || call_no_more(c) < 0)
		return -1;
	typecode_pack(c, a->tc, a->items[pos]);
	return 0;
}

static int array_setitem(struct call *c, void *data)
{
	struct array *a = data;
	union typecode_elem v;
	const uint8_t *raw;
	size_t len, pos;

	if (array_pos(c, a, "array assignment index out of range", &pos) < 0 ||
	    call_arg_raw(c, "value", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    typecode_conv(c, a->tc, raw, len, "value", &v) < 0)
		return -1;
	a->items[pos] = v;
	call_result_nil(c);
	return 0;
}

static int array_getslice(struct call *c, void *data)
{
	struct array *a = data;
	struct array_slice s;

	if (array_arg_slice(c, a, &s) < 0 || call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)s.n);
	for (size_t k = 0; k < s.n; k++)
		typecode_pack(c, a->tc, a->items[array_slice_at(&s, k)]);
	return 0;
}

/* a[start:stop:step] = items, with exactly one item per selected slot: a
 * ctypes array cannot change its length. */
static int array_setslice(struct call *c, void *data)
{
	struct array *a = data;
	struct array_slice s;
	union typecode_elem *fresh;
	const uint8_t *raw;
	size_t len, n, off;

	if (array_arg_slice(c, a, &s) < 0 || call_arg_raw(c, "items", &raw, &len) < 0 ||
	    call_no_more(c) < 0 || array_seq(c, raw, len, "slice assignment value", &n, &off) < 0)
		return -1;
	if (n != s.n)
		return call_error(c, PS_E_VALUE, "Can only assign sequence of same size (%zu items to a slice of %zu)",
				  n, s.n);
	fresh = array_alloc(c, n);
	if (fresh == NULL)
		return -1;
	if (array_conv_all(c, a->tc, raw, len, off, n, fresh) < 0) {
		free(fresh);
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		a->items[array_slice_at(&s, k)] = fresh[k];
	free(fresh);
	call_result_nil(c);
	return 0;
}

static int array_tolist(struct call *c, void *data)
{
	struct array *a = data;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)a->len);
	for (size_t i = 0; i < a->len; i++)
		typecode_pack(c, a->tc, a->items[i]);
	return 0;
}

static int array_typecode(struct call *c, void *data)
{
	struct array *a = data;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_str(&c->pk, 1);
	msgpack_pack_str_body(&c->pk, &a->tc->code, 1);
	return 0;
}

static const struct method array_methods[] = {
	{ "len", array_len },
	{ "getitem", array_getitem },
	{ "setitem", array_setitem },
	{ "getslice", array_getslice },
	{ "setslice", array_setslice },
	{ "tolist", array_tolist },
	{ "copy", array_tolist },
	{ "typecode", array_typecode },
	{ NULL, NULL },
};

const struct type array_type = {
	.name = "array",
	.create = array_create,
	.destroy = array_destroy,
	.size = array_size,
	.methods = array_methods,
};
