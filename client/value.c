/*
 * The Value proxy: one "value.*" request per call (proto/PROTOCOL.md,
 * "value"). The daemon checks every value against the typecode; this side
 * only encodes and decodes.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct ps_value {
	struct ps_obj obj;
};

/* The creation args [typecode] or [typecode, init], built in a->buf.
 * Returns 0, or -1 with the error on ctx (a->buf freed). */
static int value_args(ps_ctx *ctx, char typecode, const void *init, size_t ilen, struct ps_req *a)
{
	char tc[2] = { typecode, '\0' };

	ps_req_init(a, ctx);
	msgpack_pack_array(&a->pk, init != NULL ? 2 : 1);
	ps_req_str(a, "typecode", tc);
	if (init != NULL)
		ps_req_value(a, "initial value", init, ilen);
	if (a->bad_what != NULL || a->buf.oom) {
		ps_buf_free(&a->buf);
		if (a->bad_what != NULL)
			return ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: %s %s", a->bad_what, a->bad_why);
		return ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	}
	return 0;
}

/* Opens (name) or creates (name NULL) a Value. */
static ps_value *value_take(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	struct ps_req a;
	ps_value *v;
	int r;

	if (ctx == NULL || value_args(ctx, typecode, init, ilen, &a) < 0)
		return NULL;
	v = malloc(sizeof *v);
	if (v == NULL) {
		ps_buf_free(&a.buf);
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (name != NULL)
		r = ps_obj_open_args(&v->obj, ctx, "value", name, a.buf.data, a.buf.len);
	else
		r = ps_obj_create_args(&v->obj, ctx, "value", a.buf.data, a.buf.len);
	ps_buf_free(&a.buf);
	if (r < 0) {
		free(v);
		return NULL;
	}
	return v;
}

ps_value *ps_value_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	if (ctx != NULL && name == NULL) {
		ps_fail(ctx, PS_ERR_ARG, "", "invalid argument: name is NULL");
		return NULL;
	}
	return value_take(ctx, name, typecode, init, ilen);
}

ps_value *ps_value_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen)
{
	return value_take(ctx, NULL, typecode, init, ilen);
}

/* An encoded int or double, for the typed constructors. */
struct value_num {
	struct ps_buf buf;
	msgpack_packer pk;
};

static void num_init(struct value_num *n)
{
	ps_buf_init(&n->buf);
	ps_mp_packer(&n->pk, &n->buf);
}

/* Opens or creates with the encoded number n as the initial value, and
 * frees n. */
static ps_value *num_take(ps_ctx *ctx, const char *name, bool open, char typecode, struct value_num *n)
{
	ps_value *v = NULL;

	if (ctx == NULL)
		v = NULL;
	else if (n->buf.oom)
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	else if (open)
		v = ps_value_open(ctx, name, typecode, n->buf.data, n->buf.len);
	else
		v = ps_value_new(ctx, typecode, n->buf.data, n->buf.len);
	ps_buf_free(&n->buf);
	return v;
}

ps_value *ps_value_open_int(ps_ctx *ctx, const char *name, char typecode, int64_t init)
{
	struct value_num n;

	num_init(&n);
	msgpack_pack_int64(&n.pk, init);
	return num_take(ctx, name, true, typecode, &n);
}

ps_value *ps_value_new_int(ps_ctx *ctx, char typecode, int64_t init)
{
	struct value_num n;

	num_init(&n);
	msgpack_pack_int64(&n.pk, init);
	return num_take(ctx, NULL, false, typecode, &n);
}

ps_value *ps_value_open_double(ps_ctx *ctx, const char *name, char typecode, double init)
{
	struct value_num n;

	num_init(&n);
	msgpack_pack_double(&n.pk, init);
	return num_take(ctx, name, true, typecode, &n);
}

ps_value *ps_value_new_double(ps_ctx *ctx, char typecode, double init)
{
	struct value_num n;

	num_init(&n);
	msgpack_pack_double(&n.pk, init);
	return num_take(ctx, NULL, false, typecode, &n);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_value *ps_value_attach(ps_ctx *ctx, uint64_t id)
{
	ps_value *v;

	if (ctx == NULL)
		return NULL;
	v = malloc(sizeof *v);
	if (v == NULL) {
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	if (ps_obj_attach(&v->obj, ctx, "value", id) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

void ps_value_free(ps_value *v)
{
	if (v == NULL)
		return;
	ps_obj_release(&v->obj);
	free(v);
}

uint64_t ps_value_id(const ps_value *v)
{
	return v != NULL ? v->obj.id : 0;
}

static int begin(struct ps_req *r, ps_value *v)
{
	return ps_req_begin(r, v != NULL ? &v->obj : NULL);
}

/* ---- generic path ----------------------------------------------------- */

int ps_value_get(ps_value *v, void **val, size_t *vlen)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_need(&r, val != NULL && vlen != NULL, "output pointer");
	if (ps_req_call(&r, "value.get", &rep) < 0)
		return -1;
	return ps_reply_take(&rep, val, vlen);
}

int ps_value_set(ps_value *v, const void *val, size_t vlen)
{
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_add(ps_value *v, const void *delta, size_t dlen, void **val, size_t *vlen)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_value(&r, "delta", delta, dlen);
	if (ps_req_call(&r, "value.add", &rep) < 0)
		return -1;
	if (val == NULL || vlen == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_reply_take(&rep, val, vlen);
}

/* Splits a cas answer [swapped, value]: *swapped is set and rep is left
 * holding the value alone. A daemon that answers anything else breaks the
 * connection. */
static int cas_split(ps_ctx *ctx, struct ps_reply *rep, int *swapped)
{
	struct ps_mp_tok arr, b;
	size_t off;

	if (ps_mp_token(rep->data, rep->len, &arr) != 1 || arr.type != PS_MP_ARRAY || arr.v.n != 2 ||
	    ps_mp_token(rep->data + arr.size, rep->len - arr.size, &b) != 1 || b.type != PS_MP_BOOL) {
		ps_reply_free(rep);
		return ps_fail_stick(ctx, PS_ERR_PROTOCOL, "",
				     "daemon answered value.cas with something other than [bool, value]");
	}
	if (swapped != NULL)
		*swapped = b.v.b ? 1 : 0;
	off = arr.size + b.size;
	memmove(rep->data, rep->data + off, rep->len - off);
	rep->len -= off;
	return 0;
}

/* value.cas with the two arguments already encoded in r; the answer's
 * value stays in rep. */
static int cas_call(ps_value *v, struct ps_req *r, int *swapped, struct ps_reply *rep)
{
	ps_req_need(r, swapped != NULL, "output pointer");
	if (ps_req_call(r, "value.cas", rep) < 0)
		return -1;
	return cas_split(v->obj.ctx, rep, swapped);
}

int ps_value_cas(ps_value *v, const void *expected, size_t elen, const void *desired, size_t dlen,
		 int *swapped, void **cur, size_t *clen)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_value(&r, "expected", expected, elen);
	ps_req_value(&r, "desired", desired, dlen);
	if (cas_call(v, &r, swapped, &rep) < 0)
		return -1;
	if (cur == NULL || clen == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_reply_take(&rep, cur, clen);
}

int ps_value_typecode(ps_value *v, char *out)
{
	struct ps_reply rep;
	struct ps_req r;
	char *s;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	if (ps_req_call(&r, "value.typecode", &rep) < 0 || ps_value_str(v->obj.ctx, &rep, &s) < 0)
		return -1;
	*out = s[0];
	free(s);
	return 0;
}

/* ---- typed helpers ---------------------------------------------------- */

/* The value as a reply for the typed getters to decode. */
static int get_typed(ps_value *v, const void *out, struct ps_reply *rep)
{
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_need(&r, out != NULL, "output pointer");
	return ps_req_call(&r, "value.get", rep);
}

int ps_value_get_int(ps_value *v, int64_t *out)
{
	struct ps_reply rep;

	if (get_typed(v, out, &rep) < 0)
		return -1;
	return ps_value_int(v->obj.ctx, &rep, out);
}

int ps_value_get_double(ps_value *v, double *out)
{
	struct ps_reply rep;

	if (get_typed(v, out, &rep) < 0)
		return -1;
	return ps_value_double(v->obj.ctx, &rep, out);
}

int ps_value_set_int(ps_value *v, int64_t val)
{
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_set_double(ps_value *v, double val)
{
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_add_int(ps_value *v, int64_t delta, int64_t *result)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_int(&r, delta);
	if (ps_req_call(&r, "value.add", &rep) < 0)
		return -1;
	if (result == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_value_int(v->obj.ctx, &rep, result);
}

int ps_value_add_double(ps_value *v, double delta, double *result)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_double(&r, delta);
	if (ps_req_call(&r, "value.add", &rep) < 0)
		return -1;
	if (result == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_value_double(v->obj.ctx, &rep, result);
}

int ps_value_cas_int(ps_value *v, int64_t expected, int64_t desired, int *swapped, int64_t *current)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_int(&r, expected);
	ps_req_int(&r, desired);
	if (cas_call(v, &r, swapped, &rep) < 0)
		return -1;
	if (current == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_value_int(v->obj.ctx, &rep, current);
}

int ps_value_cas_double(ps_value *v, double expected, double desired, int *swapped, double *current)
{
	struct ps_reply rep;
	struct ps_req r;

	if (begin(&r, v) < 0)
		return -1;
	ps_req_double(&r, expected);
	ps_req_double(&r, desired);
	if (cas_call(v, &r, swapped, &rep) < 0)
		return -1;
	if (current == NULL) {
		ps_reply_free(&rep);
		return 0;
	}
	return ps_value_double(v->obj.ctx, &rep, current);
}
