/*
 * The Value proxy: one "value.*" request per call (proto/PROTOCOL.md,
 * "value"). The daemon checks every value against the typecode; this side
 * only encodes and decodes.
 */
#include <string.h>

#include "internal.h"

struct ps_value {
	struct ps_obj obj;
};

/* Starts the creation args [typecode] (n 1) or [typecode, init] (n 2:
 * the caller appends init). */
static void value_args(struct ps_req *a, ps_ctx *ctx, char typecode, uint32_t n)
{
	char tc[2] = { typecode, '\0' };

	ps_args_init(a, ctx, n);
	ps_req_str(a, "typecode", tc);
}

/* Opens (open) or creates the Value with the args in a. */
static ps_value *value_take(ps_ctx *ctx, bool open, const char *name, struct ps_req *a)
{
	if (open)
		return ps_proxy_open(ctx, sizeof(ps_value), "value", name, a);
	return ps_proxy_new(ctx, sizeof(ps_value), "value", a);
}

/* Opens or creates with init (NULL: none) as the encoded initial value. */
static ps_value *value_make(ps_ctx *ctx, bool open, const char *name, char typecode, const void *init,
			    size_t ilen)
{
	struct ps_req a;

	value_args(&a, ctx, typecode, init != NULL ? 2 : 1);
	if (init != NULL)
		ps_req_value(&a, "initial value", init, ilen);
	return value_take(ctx, open, name, &a);
}

ps_value *ps_value_open(ps_ctx *ctx, const char *name, char typecode, const void *init, size_t ilen)
{
	return value_make(ctx, true, name, typecode, init, ilen);
}

ps_value *ps_value_new(ps_ctx *ctx, char typecode, const void *init, size_t ilen)
{
	return value_make(ctx, false, NULL, typecode, init, ilen);
}

static ps_value *int_make(ps_ctx *ctx, bool open, const char *name, char typecode, int64_t init)
{
	struct ps_req a;

	value_args(&a, ctx, typecode, 2);
	ps_req_int(&a, init);
	return value_take(ctx, open, name, &a);
}

static ps_value *double_make(ps_ctx *ctx, bool open, const char *name, char typecode, double init)
{
	struct ps_req a;

	value_args(&a, ctx, typecode, 2);
	ps_req_double(&a, init);
	return value_take(ctx, open, name, &a);
}

ps_value *ps_value_open_int(ps_ctx *ctx, const char *name, char typecode, int64_t init)
{
	return int_make(ctx, true, name, typecode, init);
}

ps_value *ps_value_new_int(ps_ctx *ctx, char typecode, int64_t init)
{
	return int_make(ctx, false, NULL, typecode, init);
}

ps_value *ps_value_open_double(ps_ctx *ctx, const char *name, char typecode, double init)
{
	return double_make(ctx, true, name, typecode, init);
}

ps_value *ps_value_new_double(ps_ctx *ctx, char typecode, double init)
{
	return double_make(ctx, false, NULL, typecode, init);
}

/* A proxy for the existing object id (from a reference), with a handle
 * of its own. */
ps_value *ps_value_attach(ps_ctx *ctx, uint64_t id)
{
	return ps_proxy_attach(ctx, sizeof(ps_value), "value", id);
}

void ps_value_free(ps_value *v)
{
	ps_proxy_free(v);
}

uint64_t ps_value_id(const ps_value *v)
{
	return v != NULL ? v->obj.id : 0;
}

/* ---- generic path ----------------------------------------------------- */

int ps_value_get(ps_value *v, void **val, size_t *vlen)
{
	struct ps_req r;

	return ps_req_begin(&r, v) < 0 ? -1 : ps_req_call_bytes(&r, "value.get", val, vlen);
}

int ps_value_set(ps_value *v, const void *val, size_t vlen)
{
	struct ps_req r;

	if (ps_req_begin(&r, v) < 0)
		return -1;
	ps_req_value(&r, "value", val, vlen);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_add(ps_value *v, const void *delta, size_t dlen, void **val, size_t *vlen)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, v) < 0)
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

	if (ps_req_begin(&r, v) < 0)
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
	struct ps_req r;

	return ps_req_begin(&r, v) < 0 ? -1 : ps_req_call_typecode(&r, "value.typecode", out);
}

/* ---- typed helpers ---------------------------------------------------- */

int ps_value_get_int(ps_value *v, int64_t *out)
{
	struct ps_req r;

	return ps_req_begin(&r, v) < 0 ? -1 : ps_req_get_int(&r, "value.get", out);
}

int ps_value_get_double(ps_value *v, double *out)
{
	struct ps_req r;

	return ps_req_begin(&r, v) < 0 ? -1 : ps_req_get_double(&r, "value.get", out);
}

int ps_value_set_int(ps_value *v, int64_t val)
{
	struct ps_req r;

	if (ps_req_begin(&r, v) < 0)
		return -1;
	ps_req_int(&r, val);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_set_double(ps_value *v, double val)
{
	struct ps_req r;

	if (ps_req_begin(&r, v) < 0)
		return -1;
	ps_req_double(&r, val);
	return ps_req_call(&r, "value.set", NULL);
}

int ps_value_add_int(ps_value *v, int64_t delta, int64_t *result)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, v) < 0)
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

	if (ps_req_begin(&r, v) < 0)
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

	if (ps_req_begin(&r, v) < 0)
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

	if (ps_req_begin(&r, v) < 0)
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
