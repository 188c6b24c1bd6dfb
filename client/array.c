/*
 * The Array proxy: one "array.*" request per call (proto/PROTOCOL.md,
 * "array"). Indexes and slices follow Python; PS_NONE travels as nil for
 * an omitted slice bound. The daemon checks every element against the
 * typecode.
 */
#include "internal.h"

struct ps_array {
	struct ps_obj obj;
};

/* Starts the creation args [typecode, init]: the caller appends init. */
static void array_args(struct ps_req *a, ps_ctx *ctx, char typecode)
{
	char tc[2] = { typecode, '\0' };

	ps_args_init(a, ctx, 2);
	ps_req_str(a, "typecode", tc);
}

/* Opens (open) or creates the Array with the args in a. */
static ps_array *array_take(ps_ctx *ctx, bool open, const char *name, struct ps_req *a)
{
	if (open)
		return ps_proxy_open(ctx, sizeof(ps_array), "array", name, a);
	return ps_proxy_new(ctx, sizeof(ps_array), "array", a);
}

/* Opens or creates with the encoded initial contents init. */
static ps_array *contents_make(ps_ctx *ctx, bool open, const char *name, char typecode, const void *init,
			       size_t ilen)
{
	struct ps_req a;

	array_args(&a, ctx, typecode);
	ps_req_value(&a, "initial contents", init, ilen);
	return array_take(ctx, open, name, &a);
}

/* Opens or creates an array of n zero elements. */
static ps_array *size_make(ps_ctx *ctx, bool open, const char *name, char typecode, size_t n)
{
	struct ps_req a;

	array_args(&a, ctx, typecode);
	ps_req_uint(&a, n);
	return array_take(ctx, open, name, &a);
}

ps_array *ps_array_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	return contents_make(ctx, true, name, typecode, init, ilen);
}

ps_array *ps_array_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen)
{
	return contents_make(ctx, false, NULL, typecode, init, ilen);
}

ps_array *ps_array_open_size(ps_ctx *ctx, const char *name, char typecode, size_t n)
{
	return size_make(ctx, true, name, typecode, n);
}

ps_array *ps_array_new_size(ps_ctx *ctx, char typecode, size_t n)
{
	return size_make(ctx, false, NULL, typecode, n);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_array *ps_array_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_array), "array", id);
}

void ps_array_free(ps_array *a)
{
	ps_proxy_free(a);
}

uint64_t ps_array_id(const ps_array *a)
{
	return a != NULL ? a->obj.id : 0;
}

/* ---- generic path ----------------------------------------------------- */

int ps_array_len(ps_array *a, size_t *out)
{
	struct ps_req r;

	return ps_req_begin(&r, a) < 0 ? -1 : ps_req_call_size(&r, "array.len", out);
}

int ps_array_get(ps_array *a, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, a, index) < 0)
		return -1;
	return ps_req_call_bytes(&r, "array.getitem", val, vlen);
}

int ps_array_set(ps_array *a, int64_t index, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, a, index) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "array.setitem", NULL);
}

int ps_array_getslice(ps_array *a, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, a) < 0)
		return -1;
	ps_req_slice(&r, start, stop, step);
	return ps_req_call_bytes(&r, "array.getslice", arr, alen);
}

int ps_array_setslice(ps_array *a, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, a) < 0)
		return -1;
	ps_req_slice(&r, start, stop, step);
	ps_req_value(&r, "array", arr, alen);
	return ps_req_call(&r, "array.setslice", NULL);
}

int ps_array_tolist(ps_array *a, void **arr, size_t *alen)
{
	struct ps_req r;

	if (ps_req_begin(&r, a) < 0)
		return -1;
	return ps_req_call_bytes(&r, "array.tolist", arr, alen);
}

int ps_array_typecode(ps_array *a, char *out)
{
	struct ps_req r;

	return ps_req_begin(&r, a) < 0 ? -1 : ps_req_call_typecode(&r, "array.typecode", out);
}

/* ---- typed helpers ---------------------------------------------------- */

int ps_array_get_int(ps_array *a, int64_t index, int64_t *val)
{
	struct ps_req r;

	return ps_req_begin_index(&r, a, index) < 0 ? -1 : ps_req_get_int(&r, "array.getitem", val);
}

int ps_array_get_double(ps_array *a, int64_t index, double *val)
{
	struct ps_req r;

	return ps_req_begin_index(&r, a, index) < 0 ? -1 : ps_req_get_double(&r, "array.getitem", val);
}

int ps_array_set_int(ps_array *a, int64_t index, int64_t val)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, a, index) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "array.setitem", NULL);
}

int ps_array_set_double(ps_array *a, int64_t index, double val)
{
	struct ps_req r;

	if (ps_req_begin_index(&r, a, index) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "array.setitem", NULL);
}
