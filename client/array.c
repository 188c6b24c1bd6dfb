/*
 * The Array proxy: one "array.*" request per call (proto/PROTOCOL.md,
 * "array"). Indexes and slices follow Python; PS_NONE travels as nil for
 * an omitted slice bound. The daemon checks every element against the
 * typecode.
 */
#include <stdlib.h>

#include "internal.h"

struct ps_array {
	struct ps_obj obj;
};

/* The creation args [typecode, init], built in a->buf. Returns 0, or -1
 * with the error on ctx (a->buf freed). */
static int array_args(ps_ctx *ctx, char typecode, const void *init, size_t ilen, struct ps_req *a)
{
	char tc[2] = { typecode, '\0' };

	ps_req_init(a, ctx);
	msgpack_pack_array(&a->pk, 2);
	ps_req_str(a, "typecode", tc);
	ps_req_value(a, "initial contents", init, ilen);
	if (a->bad_what != NULL || a->buf.oom) {
		ps_buf_free(&a->buf);
		if (a->bad_what != NULL)
			return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: %s %s", a->bad_what, a->bad_why);
		return ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	}
	return 0;
}

/* Opens (name) or creates (name NULL) an Array. */
static ps_array *array_take(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	struct ps_req a;
	ps_array *arr;
	int r;

	if (ctx == NULL || array_args(ctx, typecode, init, ilen, &a) < 0)
		return NULL;
	arr = malloc(sizeof *arr);
	if (arr == NULL) {
		ps_buf_free(&a.buf);
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (name != NULL)
		r = ps_obj_open_args(&arr->obj, ctx, "array", name, a.buf.data, a.buf.len);
	else
		r = ps_obj_create_args(&arr->obj, ctx, "array", a.buf.data, a.buf.len);
	ps_buf_free(&a.buf);
	if (r < 0) {
		free(arr);
		return NULL;
	}
	return arr;
}

ps_array *ps_array_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return array_take(ctx, name, typecode, init, ilen);
}

ps_array *ps_array_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen)
{
	return array_take(ctx, NULL, typecode, init, ilen);
}

/* Opens or creates an array of n zero elements. */
static ps_array *size_take(ps_ctx *ctx, const char *name, bool open, char typecode, size_t n)
{
	struct ps_buf b;
	msgpack_packer pk;
	ps_array *arr = NULL;

	ps_buf_init(&b);
	ps_mp_packer(&pk, &b);
	msgpack_pack_uint64(&pk, n);
	if (ctx != NULL && b.oom)
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else if (open)
		arr = ps_array_open(ctx, name, typecode, b.data, b.len);
	else
		arr = ps_array_new(ctx, typecode, b.data, b.len);
	ps_buf_free(&b);
	return arr;
}

ps_array *ps_array_open_size(ps_ctx *ctx, const char *name, char typecode, size_t n)
{
	return size_take(ctx, name, true, typecode, n);
}

ps_array *ps_array_new_size(ps_ctx *ctx, char typecode, size_t n)
{
	return size_take(ctx, NULL, false, typecode, n);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_array *ps_array_attach(ps_ctx *ctx, uint64_t id)
{
	ps_array *arr;

	if (ctx == NULL)
		return NULL;
	arr = malloc(sizeof *arr);
	if (arr == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&arr->obj, ctx, "array", id) < 0) {
		free(arr);
		return NULL;
	}
	return arr;
}

void ps_array_free(ps_array *a)
{
	if (a == NULL)
		return;
	ps_obj_release(&a->obj);
	free(a);
}

uint64_t ps_array_id(const ps_array *a)
{
	return a != NULL ? a->obj.id : 0;
}

static int begin(struct ps_req *r, ps_array *a)
{
	return ps_req_begin(r, a != NULL ? &a->obj : NULL);
}

static int call_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	ps_req_need(r, out != NULL && len != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0)
		return -1;
	return ps_reply_take(&rep, out, len);
}

/* ---- generic path ----------------------------------------------------- */

int ps_array_len(ps_array *a, size_t *out)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "array.len", &rep) < 0)
		return -1;
	return ps_reply_size(r.ctx, &rep, out);
}

int ps_array_get(ps_array *a, int64_t index, void **val, size_t *vlen)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_int(&r, index);
	return call_bytes(&r, "array.getitem", val, vlen);
}

int ps_array_set(ps_array *a, int64_t index, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "array.setitem", NULL);
}

int ps_array_getslice(ps_array *a, int64_t start, int64_t stop, int64_t step, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_opt_int(&r, start);
	ps_req_opt_int(&r, stop);
	ps_req_opt_int(&r, step);
	return call_bytes(&r, "array.getslice", arr, alen);
}

int ps_array_setslice(ps_array *a, int64_t start, int64_t stop, int64_t step, const void *arr, size_t alen)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_opt_int(&r, start);
	ps_req_opt_int(&r, stop);
	ps_req_opt_int(&r, step);
	ps_req_value(&r, "array", arr, alen);
	return ps_req_call(&r, "array.setslice", NULL);
}

int ps_array_tolist(ps_array *a, void **arr, size_t *alen)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	return call_bytes(&r, "array.tolist", arr, alen);
}

int ps_array_typecode(ps_array *a, char *out)
{
	struct ps_reply rep;
	struct ps_req r;
	char *s;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "array.typecode", &rep) < 0 || ps_value_str(a->obj.ctx, &rep, &s) < 0)
		return -1;
	*out = s[0];
	free(s);
	return 0;
}

/* ---- typed helpers ---------------------------------------------------- */

/* a[index] as a reply for the typed getters to decode. */
static int get_typed(ps_array *a, int64_t index, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_need(&r, out != NULL, "output pointer");
	return ps_req_call(&r, "array.getitem", rep);
}

int ps_array_get_int(ps_array *a, int64_t index, int64_t *val)
{
	struct ps_reply rep;

	if (get_typed(a, index, val, &rep) < 0)
		return -1;
	return ps_value_int(a->obj.ctx, &rep, val);
}

int ps_array_get_double(ps_array *a, int64_t index, double *val)
{
	struct ps_reply rep;

	if (get_typed(a, index, val, &rep) < 0)
		return -1;
	return ps_value_double(a->obj.ctx, &rep, val);
}

int ps_array_set_int(ps_array *a, int64_t index, int64_t val)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_int(&r, val);
	return ps_req_call(&r, "array.setitem", NULL);
}

int ps_array_set_double(ps_array *a, int64_t index, double val)
{
	struct ps_req r;

	if (begin(&r, a) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_double(&r, val);
	return ps_req_call(&r, "array.setitem", NULL);
}
