/*
 * The request context given to methods: argument readers, value
 * canonicalisation and result writers.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "daemon.h"
#include "registry.h"
#include "types.h"
#include "val.h"

int call_error(struct call *c, enum ps_code code, const char *fmt, ...)
{
	va_list ap;

	c->code = code;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int call_arg_raw(struct call *c, const char *what, const uint8_t **v, size_t *len)
{
	if (ps_args_next(&c->args, v, len) < 0)
		return call_error(c, PS_E_TYPE, "missing argument: %s", what);
	return 0;
}

static int arg_tok(struct call *c, const char *what, struct ps_mp_tok *t)
{
	if (ps_args_tok(&c->args, t) < 0)
		return call_error(c, PS_E_TYPE, "missing argument: %s", what);
	return 0;
}

static int tok_int(struct call *c, const char *what, const struct ps_mp_tok *t, int64_t *out)
{
	if (t->type == PS_MP_INT) {
		*out = t->v.i;
		return 0;
	}
	if (t->type == PS_MP_UINT) {
		if (t->v.u > INT64_MAX)
			return call_error(c, PS_E_OVERFLOW, "%s out of range", what);
		*out = (int64_t)t->v.u;
		return 0;
	}
	return call_error(c, PS_E_TYPE, "%s must be an int, not %s", what, ps_mp_type_name(t));
}

int call_arg_int(struct call *c, const char *what, int64_t *out)
{
	struct ps_mp_tok t;

	if (arg_tok(c, what, &t) < 0)
		return -1;
	return tok_int(c, what, &t, out);
}

int call_arg_str(struct call *c, const char *what, const char **s, size_t *len)
{
	struct ps_mp_tok t;

	if (arg_tok(c, what, &t) < 0)
		return -1;
	if (t.type != PS_MP_STR)
		return call_error(c, PS_E_TYPE, "%s must be a str, not %s", what, ps_mp_type_name(&t));
	*s = (const char *)t.data;
	*len = t.v.n;
	return 0;
}

int call_arg_opt_int(struct call *c, const char *what, int64_t *out, bool *present)
{
	struct ps_mp_tok t;

	*present = false;
	if (!call_has_arg(c))
		return 0;
	if (arg_tok(c, what, &t) < 0)
		return -1;
	if (t.type == PS_MP_NIL)
		return 0;
	*present = true;
	return tok_int(c, what, &t, out);
}

int call_arg_opt_bool(struct call *c, const char *what, bool *out)
{
	struct ps_mp_tok t;

	if (!call_has_arg(c))
		return 0;
	if (arg_tok(c, what, &t) < 0)
		return -1;
	if (t.type == PS_MP_NIL)
		return 0;
	if (t.type != PS_MP_BOOL)
		return call_error(c, PS_E_TYPE, "%s must be a bool, not %s", what, ps_mp_type_name(&t));
	*out = t.v.b;
	return 0;
}

int call_arg_timeout(struct call *c, const char *what, int64_t *ms)
{
	struct ps_mp_tok t;
	double s;

	*ms = -1;
	if (!call_has_arg(c))
		return 0;
	if (arg_tok(c, what, &t) < 0)
		return -1;
	if (t.type == PS_MP_NIL)
		return 0;
	if (t.type == PS_MP_UINT)
		s = (double)t.v.u;
	else if (t.type == PS_MP_INT)
		s = (double)t.v.i;
	else if (t.type == PS_MP_FLOAT)
		s = t.v.f;
	else
		return call_error(c, PS_E_TYPE, "%s must be a number or nil, not %s", what, ps_mp_type_name(&t));
	if (isnan(s) || s < 0)
		return call_error(c, PS_E_VALUE, "%s must be a non-negative number", what);
	if (s > CALL_TIMEOUT_MAX)
		return call_error(c, PS_E_OVERFLOW, "%s value is too large", what);
	/* Rounded up by hand: the daemon does not link libm for ceil(). */
	*ms = (int64_t)(s * 1000.0);
	if ((double)*ms < s * 1000.0)
		(*ms)++;
	return 0;
}

int call_room(struct call *c, size_t have, size_t more)
{
	size_t max = c->d->cfg.max_items;

	if (max != 0 && (have > max || more > max - have))
		return call_error(c, PS_E_LIMIT, "a %s holds at most %zu items (max-items)",
				  c->obj != NULL ? c->obj->type->name : "container", max);
	return 0;
}

bool call_has_arg(const struct call *c)
{
	return c->args.left > 0;
}

int call_no_more(struct call *c)
{
	if (c->args.left > 0)
		return call_error(c, PS_E_TYPE, "too many arguments (%u left over)", c->args.left);
	return 0;
}

struct ref_check {
	struct registry *reg;
	uint64_t missing;
};

static void check_ref_cb(uint64_t id, void *arg)
{
	struct ref_check *rc = arg;

	if (rc->missing == 0 && registry_get(rc->reg, id) == NULL)
		rc->missing = id;
}

/* Appends the canonical form of raw to the scratch space and checks that
 * every object it refers to exists; *nrefs gets how many references. */
static int canon_append(struct call *c, const uint8_t *raw, size_t len, bool key, uint32_t *nrefs)
{
	struct ps_canon_info info;
	struct ps_buf *s = &c->reg->scratch;
	size_t start = s->len;

	if (ps_mp_canon(raw, len, key ? PS_CANON_KEY : 0, s, &info) < 0)
		return call_error(c, info.code, "%s", info.msg);
	*nrefs = info.nrefs;
	if (info.nrefs > 0) {
		struct ref_check rc = { c->reg, 0 };
		ps_mp_foreach_ref(s->data + start, s->len - start, check_ref_cb, &rc);
		if (rc.missing)
			return call_error(c, PS_E_NOSUCHOBJECT, "reference to object %llu, which does not exist",
					  (unsigned long long)rc.missing);
	}
	return 0;
}

int call_canon(struct call *c, const uint8_t *raw, size_t len, bool key, const uint8_t **p, size_t *plen)
{
	struct ps_buf *s = &c->reg->scratch;

	s->len = s->pos = 0;
	if (canon_append(c, raw, len, key, &c->canon_nrefs) < 0)
		return -1;
	*p = s->data;
	*plen = s->len;
	return 0;
}

int call_canon_kv(struct call *c, const uint8_t *kraw, size_t klen, const uint8_t *vraw, size_t vlen,
		  struct call_kv *kv)
{
	struct ps_buf *s = &c->reg->scratch;

	s->len = s->pos = 0;
	if (canon_append(c, kraw, klen, true, &kv->krefs) < 0)
		return -1;
	kv->klen = s->len;
	if (canon_append(c, vraw, vlen, false, &kv->vrefs) < 0)
		return -1;
	kv->vlen = s->len - kv->klen;
	kv->k = s->data;
	kv->v = s->data + kv->klen;
	kv->hash = call_hash(c, kv->k, kv->klen);
	/* Counted as two stored values (dtab.c), as call_val would count them. */
	if (val_over_limit(c->reg, sizeof(struct val) + kv->klen + kv->vlen))
		return call_error(c, PS_E_NOMEM, "storing %zu more bytes would pass the daemon's memory limit (max-memory %zu)",
				  kv->klen + kv->vlen, c->reg->max_bytes);
	return 0;
}

struct val *call_val(struct call *c, const uint8_t *raw, size_t len, bool key)
{
	const uint8_t *p;
	size_t plen;
	struct val *v;

	if (call_canon(c, raw, len, key, &p, &plen) < 0)
		return NULL;
	if (val_over_limit(c->reg, plen)) {
		call_error(c, PS_E_NOMEM, "storing %zu more bytes would pass the daemon's memory limit (max-memory %zu)",
			   plen, c->reg->max_bytes);
		return NULL;
	}
	v = val_new(c->reg, p, plen, c->canon_nrefs);
	if (v == NULL)
		call_error(c, PS_E_NOMEM, "out of memory storing a value of %zu bytes", plen);
	return v;
}

uint64_t call_hash(const struct call *c, const uint8_t *p, size_t len)
{
	return registry_hash(c->reg, p, len);
}

void call_result_nil(struct call *c)
{
	msgpack_pack_nil(&c->pk);
}

void call_result_bool(struct call *c, bool b)
{
	if (b)
		msgpack_pack_true(&c->pk);
	else
		msgpack_pack_false(&c->pk);
}

void call_result_uint(struct call *c, uint64_t u)
{
	msgpack_pack_uint64(&c->pk, u);
}

void call_result_int(struct call *c, int64_t i)
{
	msgpack_pack_int64(&c->pk, i);
}

void call_result_val(struct call *c, const struct val *v)
{
	ps_buf_append(c->out, v->data, v->len);
}

void call_result_raw(struct call *c, const uint8_t *p, size_t len)
{
	ps_buf_append(c->out, p, len);
}
