/*
 * The shared Value: one scalar of a fixed typecode, as multiprocessing's
 * Value(typecode, value) holds it, with ValueProxy's get and set plus the
 * atomic read-modify-writes (add, compare-and-swap) that Python users
 * otherwise build from a Lock around the value. The typecode decides what
 * may be stored and its range (typecode.h); a value of the wrong type or
 * out of range is refused and the Value keeps what it had.
 */
#include <stdlib.h>

#include "call.h"
#include "typecode.h"
#include "types.h"

struct value {
	const struct typecode *tc;
	union typecode_elem v;
};

static void value_destroy(struct registry *reg, void *data)
{
	(void)reg;
	free(data);
}

static size_t value_size(const void *data)
{
	(void)data;
	return 1;
}

/* Create arguments: [typecode, initial?]; an absent or nil initial value
 * is the typecode's zero, as ctypes gives. */
static void *value_create(struct call *c)
{
	const struct typecode *tc;
	union typecode_elem v;
	const uint8_t *raw;
	size_t len;
	struct value *val;

	if (typecode_arg(c, &tc) < 0)
		return NULL;
	v = typecode_zero(tc);
	if (call_has_arg(c)) {
		if (call_arg_raw(c, "initial value", &raw, &len) < 0)
			return NULL;
		if (raw[0] != 0xc0 && typecode_conv(c, tc, raw, len, "initial value", &v) < 0)
			return NULL;
	}
	if (call_no_more(c) < 0)
		return NULL;
	val = malloc(sizeof *val);
	if (val == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating a value");
		return NULL;
	}
	val->tc = tc;
	val->v = v;
	return val;
}

/* Reads one argument converted to the Value's typecode. */
static int value_arg(struct call *c, const struct value *val, const char *what, union typecode_elem *out)
{
	const uint8_t *raw;
	size_t len;

	if (call_arg_raw(c, what, &raw, &len) < 0)
		return -1;
	return typecode_conv(c, val->tc, raw, len, what, out);
}

static int value_get(struct call *c, void *data)
{
	struct value *val = data;

	if (call_no_more(c) < 0)
		return -1;
	typecode_pack(c, val->tc, val->v);
	return 0;
}

static int value_set(struct call *c, void *data)
{
	struct value *val = data;
	union typecode_elem v;

	if (value_arg(c, val, "value", &v) < 0 || call_no_more(c) < 0)
		return -1;
	val->v = v;
	call_result_nil(c);
	return 0;
}

static int value_add(struct call *c, void *data)
{
	struct value *val = data;
	union typecode_elem v;
	const uint8_t *raw;
	size_t len;

	if (call_arg_raw(c, "delta", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    typecode_add(c, val->tc, val->v, raw, len, &v) < 0)
		return -1;
	val->v = v;
	typecode_pack(c, val->tc, v);
	return 0;
}

/* Compare-and-swap: both arguments are converted (and checked) like a
 * set's; the match is exact (floats bit for bit). Answers [swapped, the
 * value now held]. */
static int value_cas(struct call *c, void *data)
{
	struct value *val = data;
	union typecode_elem expected, desired;
	bool swap;

	if (value_arg(c, val, "expected", &expected) < 0 || value_arg(c, val, "new value", &desired) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	swap = typecode_same(val->tc, val->v, expected);
	if (swap)
		val->v = desired;
	msgpack_pack_array(&c->pk, 2);
	call_result_bool(c, swap);
	typecode_pack(c, val->tc, val->v);
	return 0;
}

static int value_typecode(struct call *c, void *data)
{
	struct value *val = data;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_str(&c->pk, 1);
	msgpack_pack_str_body(&c->pk, &val->tc->code, 1);
	return 0;
}

static const struct method value_methods[] = {
	{ "get", value_get },
	{ "set", value_set },
	{ "add", value_add },
	{ "cas", value_cas },
	{ "typecode", value_typecode },
	{ NULL, NULL },
};

const struct type value_type = {
	.name = "value",
	.create = value_create,
	.destroy = value_destroy,
	.size = value_size,
	.methods = value_methods,
};
