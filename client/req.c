/*
 * Building a request's params, sending it, and decoding the one value an
 * answer carries. Params are encoded straight into a buffer with msgpack-c;
 * the first invalid argument is remembered and reported when the request
 * would be sent, so the proxies can append arguments without checking each.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Longest timeout the daemon accepts, in seconds. */
#define REQ_TIMEOUT_MAX 1e9

void ps_req_init(struct ps_req *r, ps_ctx *ctx)
{
	r->ctx = ctx;
	ps_buf_init(&r->buf);
	ps_mp_packer(&r->pk, &r->buf);
	r->n = 0;
	r->bad_what = NULL;
	r->bad_why = NULL;
	r->hold_ms = 0;
}

void ps_req_refuse(struct ps_req *r, const char *what, const char *why)
{
	if (r->bad_what == NULL) {
		r->bad_what = what;
		r->bad_why = why;
	}
}

void ps_req_value(struct ps_req *r, const char *what, const void *p, size_t n)
{
	struct ps_mp_scan scan;
	size_t size = 0;
	int s;

	if (p == NULL) {
		ps_req_refuse(r, what, "is NULL");
		return;
	}
	ps_mp_scan_reset(&scan);
	s = ps_mp_scan(&scan, p, n, PS_MAX_DEPTH, &size);
	if (s == PS_SCAN_DEEP)
		ps_req_refuse(r, what, "is nested too deeply");
	else if (s != PS_SCAN_DONE || size != n)
		ps_req_refuse(r, what, "is not exactly one encoded MessagePack value");
	else
		ps_buf_append(&r->buf, p, n);
	r->n++;
}

void ps_req_str(struct ps_req *r, const char *what, const char *s)
{
	if (s == NULL) {
		ps_req_refuse(r, what, "is NULL");
		return;
	}
	ps_mp_pack_cstr(&r->pk, s);
	r->n++;
}

void ps_req_bin(struct ps_req *r, const char *what, const void *p, size_t n)
{
	if (p == NULL && n > 0) {
		ps_req_refuse(r, what, "is NULL");
		return;
	}
	if (n > UINT32_MAX) {
		ps_req_refuse(r, what, "is longer than MessagePack allows");
		return;
	}
	msgpack_pack_bin(&r->pk, n);
	msgpack_pack_bin_body(&r->pk, p, n);
	r->n++;
}

void ps_req_int(struct ps_req *r, int64_t v)
{
	msgpack_pack_int64(&r->pk, v);
	r->n++;
}

void ps_req_opt_int(struct ps_req *r, int64_t v)
{
	if (v == PS_NONE)
		msgpack_pack_nil(&r->pk);
	else
		msgpack_pack_int64(&r->pk, v);
	r->n++;
}

void ps_req_uint(struct ps_req *r, uint64_t v)
{
	msgpack_pack_uint64(&r->pk, v);
	r->n++;
}

void ps_req_double(struct ps_req *r, double v)
{
	msgpack_pack_double(&r->pk, v);
	r->n++;
}

void ps_req_bool(struct ps_req *r, bool v)
{
	if (v)
		msgpack_pack_true(&r->pk);
	else
		msgpack_pack_false(&r->pk);
	r->n++;
}

void ps_req_slice(struct ps_req *r, int64_t start, int64_t stop, int64_t step)
{
	ps_req_opt_int(r, start);
	ps_req_opt_int(r, stop);
	ps_req_opt_int(r, step);
}

void ps_req_need(struct ps_req *r, bool ok, const char *what)
{
	if (!ok)
		ps_req_refuse(r, what, "is NULL");
}

void ps_req_timeout(struct ps_req *r, double timeout)
{
	if (timeout < 0) {
		ps_req_value(r, "timeout", "\xc0", 1);
		r->hold_ms = -1;
		return;
	}
	ps_req_double(r, timeout);
	/* A NaN or out-of-range timeout is refused by the daemon at once. */
	if (!(timeout <= REQ_TIMEOUT_MAX)) {
		r->hold_ms = 0;
		return;
	}
	/* Rounded up as the daemon does (by hand: no libm). */
	r->hold_ms = (int64_t)(timeout * 1000.0);
	if ((double)r->hold_ms < timeout * 1000.0)
		r->hold_ms++;
}

int ps_req_call(struct ps_req *r, const char *method, struct ps_reply *out)
{
	int rc;

	if (r->bad_what != NULL)
		rc = ps_fail(r->ctx, PS_ERR_ARG, "", "invalid argument: %s %s", r->bad_what, r->bad_why);
	else if (r->buf.oom)
		rc = ps_fail(r->ctx, PS_ERR_OOM, "", "out of memory building a request");
	else
		rc = ps_ctx_call_hold(r->ctx, method, r->n, r->buf.data, r->buf.len, out, r->hold_ms);
	ps_buf_free(&r->buf);
	return rc;
}

/* ps_req_call with the output pointer checked (ok: it is not NULL). */
static int call_out(struct ps_req *r, const char *method, bool ok, struct ps_reply *rep)
{
	ps_req_need(r, ok, "output pointer");
	return ps_req_call(r, method, rep);
}

int ps_req_call_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL && len != NULL, &rep) < 0 ? -1 : ps_reply_take(&rep, out, len);
}

int ps_req_call_bool(struct ps_req *r, const char *method, int *out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_reply_bool(r->ctx, &rep, out);
}

int ps_req_call_size(struct ps_req *r, const char *method, size_t *out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_reply_size(r->ctx, &rep, out);
}

int ps_req_call_int(struct ps_req *r, const char *method, int64_t *out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_reply_int(r->ctx, &rep, out);
}

int ps_req_call_typecode(struct ps_req *r, const char *method, char *out)
{
	char *s;

	ps_req_need(r, out != NULL, "output pointer");
	if (ps_req_get_str(r, method, &s) < 0)
		return -1;
	*out = s[0];
	free(s);
	return 0;
}

int ps_req_get_str(struct ps_req *r, const char *method, char **out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_value_str(r->ctx, &rep, out);
}

int ps_req_get_int(struct ps_req *r, const char *method, int64_t *out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_value_int(r->ctx, &rep, out);
}

int ps_req_get_double(struct ps_req *r, const char *method, double *out)
{
	struct ps_reply rep;

	return call_out(r, method, out != NULL, &rep) < 0 ? -1 : ps_value_double(r->ctx, &rep, out);
}

int ps_req_get_bytes(struct ps_req *r, const char *method, void **out, size_t *len)
{
	struct ps_reply rep;

	if (call_out(r, method, out != NULL && len != NULL, &rep) < 0)
		return -1;
	return ps_value_bytes(r->ctx, &rep, out, len);
}

/* ---- results ---- */

void ps_reply_free(struct ps_reply *r)
{
	free(r->data);
	r->data = NULL;
	r->len = 0;
}

int ps_reply_take(struct ps_reply *r, void **out, size_t *len)
{
	*out = r->data;
	*len = r->len;
	r->data = NULL;
	r->len = 0;
	return 0;
}

/* The result's first token; the answer was scanned whole, so it is there. */
static void reply_tok(const struct ps_reply *r, struct ps_mp_tok *t)
{
	if (ps_mp_token(r->data, r->len, t) != 1)
		t->type = PS_MP_NIL;    /* unreachable; keeps t defined */
}

static int reply_mismatch(ps_ctx *ctx, struct ps_reply *r, const struct ps_mp_tok *t, const char *want)
{
	ps_reply_free(r);
	return ps_fail_stick(ctx, PS_ERR_PROTOCOL, "", "daemon answered with %s where %s was due",
			     ps_mp_type_name(t), want);
}

int ps_reply_bool(ps_ctx *ctx, struct ps_reply *r, int *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type != PS_MP_BOOL)
		return reply_mismatch(ctx, r, &t, "bool");
	*out = t.v.b ? 1 : 0;
	ps_reply_free(r);
	return 0;
}

int ps_reply_size(ps_ctx *ctx, struct ps_reply *r, size_t *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type != PS_MP_UINT || t.v.u > SIZE_MAX)
		return reply_mismatch(ctx, r, &t, "a count");
	*out = (size_t)t.v.u;
	ps_reply_free(r);
	return 0;
}

int ps_reply_int(ps_ctx *ctx, struct ps_reply *r, int64_t *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type == PS_MP_INT)
		*out = t.v.i;
	else if (t.type == PS_MP_UINT && t.v.u <= INT64_MAX)
		*out = (int64_t)t.v.u;
	else
		return reply_mismatch(ctx, r, &t, "an int64");
	ps_reply_free(r);
	return 0;
}

int ps_reply_id(ps_ctx *ctx, struct ps_reply *r, uint64_t *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type != PS_MP_UINT)
		return reply_mismatch(ctx, r, &t, "an object id");
	*out = t.v.u;
	ps_reply_free(r);
	return 0;
}

/* ---- stored values of an expected type ---- */

static int type_error(ps_ctx *ctx, struct ps_reply *r, const struct ps_mp_tok *t, const char *want)
{
	const char *got = ps_mp_type_name(t);

	ps_reply_free(r);
	return ps_fail(ctx, PS_ERR_ARG, "TypeError", "TypeError: value is %s, not %s", got, want);
}

/* A copy of p[0..n) with a NUL after it. */
static void *copy_z(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n + 1);

	if (c == NULL)
		return NULL;
	memcpy(c, p, n);
	c[n] = '\0';
	return c;
}

/* The token's payload, copied and NUL-terminated; frees r. NULL on OOM
 * (error set). */
static void *copy_payload(ps_ctx *ctx, struct ps_reply *r, const struct ps_mp_tok *t)
{
	void *c = copy_z(t->data, t->v.n);

	ps_reply_free(r);
	if (c == NULL)
		ps_fail(ctx, PS_ERR_OOM, "", "out of memory");
	return c;
}

int ps_value_str(ps_ctx *ctx, struct ps_reply *r, char **out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type != PS_MP_STR)
		return type_error(ctx, r, &t, "str");
	*out = copy_payload(ctx, r, &t);
	return *out != NULL ? 0 : -1;
}

/* A str is its UTF-8 bytes, so either does for bytes. */
int ps_value_bytes(ps_ctx *ctx, struct ps_reply *r, void **out, size_t *len)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type != PS_MP_BIN && t.type != PS_MP_STR)
		return type_error(ctx, r, &t, "bin");
	*len = t.v.n;
	*out = copy_payload(ctx, r, &t);
	return *out != NULL ? 0 : -1;
}

int ps_value_int(ps_ctx *ctx, struct ps_reply *r, int64_t *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type == PS_MP_INT) {
		*out = t.v.i;
	} else if (t.type == PS_MP_UINT && t.v.u <= INT64_MAX) {
		*out = (int64_t)t.v.u;
	} else if (t.type == PS_MP_UINT) {
		ps_reply_free(r);
		return ps_fail(ctx, PS_ERR_ARG, "OverflowError", "OverflowError: %" PRIu64 " does not fit in int64",
			       t.v.u);
	} else {
		return type_error(ctx, r, &t, "int");
	}
	ps_reply_free(r);
	return 0;
}

int ps_value_double(ps_ctx *ctx, struct ps_reply *r, double *out)
{
	struct ps_mp_tok t;

	reply_tok(r, &t);
	if (t.type == PS_MP_FLOAT)
		*out = t.v.f;
	else if (t.type == PS_MP_INT)
		*out = (double)t.v.i;
	else if (t.type == PS_MP_UINT)
		*out = (double)t.v.u;
	else
		return type_error(ctx, r, &t, "float");
	ps_reply_free(r);
	return 0;
}
