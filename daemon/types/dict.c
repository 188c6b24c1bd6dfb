/*
 * The shared dict: Python's dict as DictProxy exposes it, insertion order
 * included, plus an atomic incr. Keys and values are canonical MessagePack
 * (val.h); keys are equal when their encodings are.
 */
#include <math.h>
#include <stdlib.h>

#include "call.h"
#include "odict.h"
#include "registry.h"
#include "types.h"
#include "val.h"

struct dict {
	struct odict t;         /* key val -> value val */
};

static void dict_clear_all(struct registry *reg, struct dict *d)
{
	struct odict_entry *e;
	size_t pos = 0;

	while ((e = odict_next(&d->t, &pos)) != NULL) {
		val_free(reg, e->key);
		val_free(reg, e->value);
	}
	odict_free(&d->t);
}

static void dict_destroy(struct registry *reg, void *data)
{
	struct dict *d = data;

	dict_clear_all(reg, d);
	free(d);
}

static size_t dict_size(const void *data)
{
	const struct dict *d = data;

	return d->t.count;
}

/* Finds the entry for the raw key argument. */
static int dict_lookup(struct call *c, struct dict *d, const uint8_t *raw, size_t len, struct odict_entry **e)
{
	const uint8_t *k;
	size_t klen;

	if (call_canon(c, raw, len, true, &k, &klen) < 0)
		return -1;
	*e = odict_find(&d->t, k, klen, call_hash(c, k, klen));
	return 0;
}

/* Sets key to value, taking ownership of both (freed on failure). */
static int dict_put(struct call *c, struct dict *d, struct val *key, struct val *value)
{
	struct odict_entry *e = odict_find(&d->t, key->data, key->len, key->hash);

	if (e != NULL) {
		/* Python keeps the original key object and position. */
		val_free(c->reg, e->value);
		e->value = value;
		val_free(c->reg, key);
		return 0;
	}
	if (odict_insert(&d->t, key, value) == NULL) {
		val_free(c->reg, key);
		val_free(c->reg, value);
		return call_error(c, PS_E_NOMEM, "out of memory growing a dict");
	}
	return 0;
}

/* Reads a key argument and a value argument as stored values. */
static int key_value_args(struct call *c, struct val **key, struct val **value)
{
	const uint8_t *kr, *vr;
	size_t kl, vl;

	*key = *value = NULL;
	if (call_arg_raw(c, "key", &kr, &kl) < 0 || call_arg_raw(c, "value", &vr, &vl) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	*key = call_val(c, kr, kl, true);
	if (*key == NULL)
		return -1;
	*value = call_val(c, vr, vl, false);
	if (*value == NULL) {
		val_free(c->reg, *key);
		return -1;
	}
	return 0;
}

static void *dict_create(struct call *c)
{
	struct dict *d;

	if (call_no_more(c) < 0)
		return NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory");
		return NULL;
	}
	odict_init(&d->t);
	return d;
}

static int dict_set(struct call *c, void *data)
{
	struct val *key, *value;

	if (key_value_args(c, &key, &value) < 0)
		return -1;
	if (dict_put(c, data, key, value) < 0)
		return -1;
	call_result_nil(c);
	return 0;
}

static int key_arg_entry(struct call *c, struct dict *d, struct odict_entry **e, bool more)
{
	const uint8_t *kr;
	size_t kl;

	if (call_arg_raw(c, "key", &kr, &kl) < 0)
		return -1;
	if (!more && call_no_more(c) < 0)
		return -1;
	return dict_lookup(c, d, kr, kl, e);
}

static int key_error(struct call *c)
{
	return call_error(c, PS_E_KEY, "key not found");
}

static int dict_getitem(struct call *c, void *data)
{
	struct odict_entry *e;

	if (key_arg_entry(c, data, &e, false) < 0)
		return -1;
	if (e == NULL)
		return key_error(c);
	call_result_val(c, e->value);
	return 0;
}

static int dict_get(struct call *c, void *data)
{
	struct odict_entry *e;
	const uint8_t *def = NULL;
	size_t dlen = 0;

	if (key_arg_entry(c, data, &e, true) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &def, &dlen) < 0)
		return -1;
	if (call_no_more(c) < 0)
		return -1;
	if (e != NULL)
		call_result_val(c, e->value);
	else if (def != NULL)
		call_result_raw(c, def, dlen);
	else
		call_result_nil(c);
	return 0;
}

static int dict_del(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	struct val *k, *v;

	if (key_arg_entry(c, d, &e, false) < 0)
		return -1;
	if (e == NULL)
		return key_error(c);
	k = e->key;
	v = e->value;
	odict_remove(&d->t, e);
	val_free(c->reg, k);
	val_free(c->reg, v);
	call_result_nil(c);
	return 0;
}

static int dict_contains(struct call *c, void *data)
{
	struct odict_entry *e;

	if (key_arg_entry(c, data, &e, false) < 0)
		return -1;
	call_result_bool(c, e != NULL);
	return 0;
}

static int dict_len(struct call *c, void *data)
{
	struct dict *d = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, d->t.count);
	return 0;
}

enum view { VIEW_KEYS, VIEW_VALUES, VIEW_ITEMS };

static int dict_view(struct call *c, struct dict *d, enum view what)
{
	struct odict_entry *e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)d->t.count);
	while ((e = odict_next(&d->t, &pos)) != NULL) {
		if (what == VIEW_ITEMS)
			msgpack_pack_array(&c->pk, 2);
		if (what != VIEW_VALUES)
			call_result_val(c, e->key);
		if (what != VIEW_KEYS)
			call_result_val(c, e->value);
	}
	return 0;
}

static int dict_keys(struct call *c, void *data) { return dict_view(c, data, VIEW_KEYS); }
static int dict_values(struct call *c, void *data) { return dict_view(c, data, VIEW_VALUES); }
static int dict_items(struct call *c, void *data) { return dict_view(c, data, VIEW_ITEMS); }

static int dict_copy(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_map(&c->pk, (uint32_t)d->t.count);
	while ((e = odict_next(&d->t, &pos)) != NULL) {
		call_result_val(c, e->key);
		call_result_val(c, e->value);
	}
	return 0;
}

static int dict_pop(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	const uint8_t *def = NULL;
	size_t dlen = 0;
	struct val *k, *v;

	if (key_arg_entry(c, d, &e, true) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &def, &dlen) < 0)
		return -1;
	if (call_no_more(c) < 0)
		return -1;
	if (e == NULL) {
		if (def == NULL)
			return key_error(c);
		call_result_raw(c, def, dlen);
		return 0;
	}
	k = e->key;
	v = e->value;
	odict_remove(&d->t, e);
	call_result_val(c, v);
	val_free(c->reg, k);
	val_free(c->reg, v);
	return 0;
}

static int dict_popitem(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	struct val *k, *v;

	if (call_no_more(c) < 0)
		return -1;
	e = odict_last(&d->t);
	if (e == NULL)
		return call_error(c, PS_E_KEY, "popitem(): dictionary is empty");
	k = e->key;
	v = e->value;
	odict_remove(&d->t, e);
	msgpack_pack_array(&c->pk, 2);
	call_result_val(c, k);
	call_result_val(c, v);
	val_free(c->reg, k);
	val_free(c->reg, v);
	return 0;
}

static int dict_setdefault(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	const uint8_t *kr, *dr = (const uint8_t *)"\xc0";
	size_t kl, dl = 1;
	struct val *key, *value;

	if (call_arg_raw(c, "key", &kr, &kl) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &dr, &dl) < 0)
		return -1;
	if (call_no_more(c) < 0 || dict_lookup(c, d, kr, kl, &e) < 0)
		return -1;
	if (e != NULL) {
		call_result_val(c, e->value);
		return 0;
	}
	key = call_val(c, kr, kl, true);
	if (key == NULL)
		return -1;
	value = call_val(c, dr, dl, false);
	if (value == NULL) {
		val_free(c->reg, key);
		return -1;
	}
	if (dict_put(c, d, key, value) < 0)
		return -1;
	call_result_val(c, value);
	return 0;
}

/* Builds every pair of an update first, so a bad pair changes nothing. */
static int dict_update(struct call *c, void *data)
{
	struct dict *d = data;
	const uint8_t *src;
	size_t slen, off, n, k;
	struct ps_mp_tok t, pt;
	struct val **pairs;
	uint64_t npairs;
	int r = -1;

	if (call_arg_raw(c, "other", &src, &slen) < 0 || call_no_more(c) < 0)
		return -1;
	ps_mp_token(src, slen, &t);
	if (t.type != PS_MP_MAP && t.type != PS_MP_ARRAY)
		return call_error(c, PS_E_TYPE, "update needs a map or an array of [key, value] pairs, not %s",
				  ps_mp_type_name(&t));
	npairs = t.v.n;
	pairs = calloc(npairs ? 2 * npairs : 1, sizeof *pairs);
	if (pairs == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory");
	off = t.size;
	for (n = 0; n < npairs; n++) {
		if (t.type == PS_MP_ARRAY) {
			ps_mp_token(src + off, slen - off, &pt);
			if (pt.type != PS_MP_ARRAY) {
				call_error(c, PS_E_TYPE, "cannot convert dictionary update sequence element #%zu to a sequence", n);
				goto out;
			}
			if (pt.v.n != 2) {
				call_error(c, PS_E_VALUE, "dictionary update sequence element #%zu has length %u; 2 is required",
					   n, pt.v.n);
				goto out;
			}
			off += pt.size;
		}
		for (int j = 0; j < 2; j++) {
			k = ps_mp_skip(src + off, slen - off);
			pairs[2 * n + (size_t)j] = call_val(c, src + off, k, j == 0);
			if (pairs[2 * n + (size_t)j] == NULL)
				goto out;
			off += k;
		}
	}
	if (odict_reserve(&d->t, npairs) < 0) {
		call_error(c, PS_E_NOMEM, "out of memory growing a dict");
		goto out;
	}
	for (n = 0; n < npairs; n++) {
		dict_put(c, d, pairs[2 * n], pairs[2 * n + 1]); /* cannot fail after the reserve */
		pairs[2 * n] = pairs[2 * n + 1] = NULL;
	}
	call_result_nil(c);
	r = 0;
out:
	for (n = 0; n < 2 * npairs; n++)
		val_free(c->reg, pairs[n]);
	free(pairs);
	return r;
}

static int dict_clear(struct call *c, void *data)
{
	struct dict *d = data;

	if (call_no_more(c) < 0)
		return -1;
	dict_clear_all(c->reg, d);
	call_result_nil(c);
	return 0;
}

/* Atomic read-modify-write: what Python users need a Lock around today. */
static int dict_incr(struct call *c, void *data)
{
	struct dict *d = data;
	struct odict_entry *e;
	struct ps_mp_tok cur, delta;
	const uint8_t *kr, *dr;
	size_t kl, dl;
	struct ps_buf enc;
	msgpack_packer pk;
	struct val *nv;

	if (call_arg_raw(c, "key", &kr, &kl) < 0 || call_arg_raw(c, "delta", &dr, &dl) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	ps_mp_token(dr, dl, &delta);
	if (delta.type != PS_MP_UINT && delta.type != PS_MP_INT && delta.type != PS_MP_FLOAT)
		return call_error(c, PS_E_TYPE, "delta must be an int or a float, not %s", ps_mp_type_name(&delta));
	if (dict_lookup(c, d, kr, kl, &e) < 0)
		return -1;
	if (e != NULL) {
		const struct val *old = e->value;
		ps_mp_token(old->data, old->len, &cur);
		if (cur.type != PS_MP_UINT && cur.type != PS_MP_INT && cur.type != PS_MP_FLOAT)
			return call_error(c, PS_E_TYPE, "cannot add to a %s", ps_mp_type_name(&cur));
	} else {
		cur.type = PS_MP_UINT;
		cur.v.u = 0;
	}
	ps_buf_init(&enc);
	ps_mp_packer(&pk, &enc);
	if (cur.type == PS_MP_FLOAT || delta.type == PS_MP_FLOAT) {
		double a = cur.type == PS_MP_FLOAT ? cur.v.f : cur.type == PS_MP_UINT ? (double)cur.v.u : (double)cur.v.i;
		double b = delta.type == PS_MP_FLOAT ? delta.v.f : delta.type == PS_MP_UINT ? (double)delta.v.u : (double)delta.v.i;
		msgpack_pack_double(&pk, a + b);
	} else {
		/* 128-bit arithmetic: any uint64/int64 pair sums exactly. */
		__int128 a = cur.type == PS_MP_UINT ? (__int128)cur.v.u : (__int128)cur.v.i;
		__int128 b = delta.type == PS_MP_UINT ? (__int128)delta.v.u : (__int128)delta.v.i;
		__int128 s = a + b;
		/* Counters are signed 64-bit, as in every client language. */
		if (s > (__int128)INT64_MAX || s < (__int128)INT64_MIN) {
			ps_buf_free(&enc);
			return call_error(c, PS_E_OVERFLOW, "result does not fit in a signed 64-bit integer");
		}
		if (s >= 0)
			msgpack_pack_uint64(&pk, (uint64_t)s);
		else
			msgpack_pack_int64(&pk, (int64_t)s);
	}
	nv = enc.oom ? NULL : val_new(c->reg, enc.data, enc.len, 0);
	ps_buf_free(&enc);
	if (nv == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory");
	if (e != NULL) {
		val_free(c->reg, e->value);
		e->value = nv;
	} else {
		struct val *key = call_val(c, kr, kl, true);
		if (key == NULL) {
			val_free(c->reg, nv);
			return -1;
		}
		if (dict_put(c, d, key, nv) < 0)
			return -1;
	}
	call_result_val(c, nv);
	return 0;
}

static const struct method dict_methods[] = {
	{ "get", dict_get },
	{ "getitem", dict_getitem },
	{ "set", dict_set },
	{ "del", dict_del },
	{ "contains", dict_contains },
	{ "len", dict_len },
	{ "keys", dict_keys },
	{ "values", dict_values },
	{ "items", dict_items },
	{ "pop", dict_pop },
	{ "popitem", dict_popitem },
	{ "setdefault", dict_setdefault },
	{ "update", dict_update },
	{ "clear", dict_clear },
	{ "copy", dict_copy },
	{ "incr", dict_incr },
	{ NULL, NULL },
};

const struct type dict_type = {
	.name = "dict",
	.create = dict_create,
	.destroy = dict_destroy,
	.size = dict_size,
	.methods = dict_methods,
};
