/*
 * The shared dict: Python's dict as DictProxy exposes it, insertion order
 * included, plus an atomic incr. Keys and values are canonical MessagePack
 * (val.h); keys are equal when their encodings are. Each entry is one
 * record in a dense table (dtab.h): a dict may hold millions of them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "dtab.h"
#include "registry.h"
#include "types.h"
#include "val.h"

struct dict {
	struct dtab t;          /* records of key and value */
};

static void dict_clear_all(struct registry *reg, struct dict *d)
{
	struct dtab_rec **e;
	size_t pos = 0;

	while ((e = dtab_next(&d->t, &pos)) != NULL)
		dtab_rec_free(reg, *e);
	dtab_free(&d->t);
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

/* For "describe": the bytes its keys and values hold, to find what fills
 * the daemon's memory. */
static void dict_describe(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e;
	size_t pos = 0, klen, vlen;
	uint64_t bytes = 0;

	while ((e = dtab_next(&d->t, &pos)) != NULL) {
		dtab_key(*e, &klen);
		dtab_value(*e, &vlen);
		bytes += klen + vlen;
	}
	msgpack_pack_map(&c->pk, 1);
	ps_mp_pack_cstr(&c->pk, "bytes");
	msgpack_pack_uint64(&c->pk, bytes);
}

static void result_key(struct call *c, const struct dtab_rec *r)
{
	size_t len;
	const uint8_t *p = dtab_key(r, &len);

	call_result_raw(c, p, len);
}

static void result_value(struct call *c, const struct dtab_rec *r)
{
	size_t len;
	const uint8_t *p = dtab_value(r, &len);

	call_result_raw(c, p, len);
}

/* Finds the entry for the raw key argument. */
static int dict_lookup(struct call *c, struct dict *d, const uint8_t *raw, size_t len, struct dtab_rec ***e)
{
	const uint8_t *k;
	size_t klen;

	if (call_canon(c, raw, len, true, &k, &klen) < 0)
		return -1;
	*e = dtab_find(&d->t, k, klen, call_hash(c, k, klen));
	return 0;
}

/* Gives entry e the value v[0..vlen): in place when the size allows,
 * else in a new record. Python keeps the original key and position. */
static int dict_replace(struct call *c, struct dtab_rec **e, const uint8_t *v, size_t vlen, bool vrefs)
{
	struct dtab_rec *old = *e, *r;

	if (dtab_rec_set_value(c->reg, old, v, vlen, vrefs) == 0)
		return 0;
	r = dtab_rec_with_value(c->reg, old, v, vlen, vrefs);
	if (r == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory storing a value of %zu bytes", vlen);
	*e = r;
	dtab_rec_free(c->reg, old);
	return 0;
}

/* Sets the canonical pair kv; *out (may be NULL) gets its record. */
static int dict_put(struct call *c, struct dict *d, const struct call_kv *kv, struct dtab_rec **out)
{
	struct dtab_rec **e = dtab_find(&d->t, kv->k, kv->klen, kv->hash);
	struct dtab_rec *r;

	if (e != NULL) {
		if (dict_replace(c, e, kv->v, kv->vlen, kv->vrefs > 0) < 0)
			return -1;
		if (out != NULL)
			*out = *e;
		return 0;
	}
	if (call_room(c, d->t.count, 1) < 0)
		return -1;
	r = dtab_rec_new(c->reg, kv->k, kv->klen, kv->krefs > 0, kv->v, kv->vlen, kv->vrefs > 0, kv->hash);
	if (r == NULL || dtab_insert(&d->t, r) == NULL) {
		dtab_rec_free(c->reg, r);
		return call_error(c, PS_E_NOMEM, "out of memory growing a dict");
	}
	if (out != NULL)
		*out = r;
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
	dtab_init(&d->t);
	return d;
}

static int dict_set(struct call *c, void *data)
{
	const uint8_t *kr, *vr;
	size_t kl, vl;
	struct call_kv kv;

	if (call_arg_raw(c, "key", &kr, &kl) < 0 || call_arg_raw(c, "value", &vr, &vl) < 0 ||
	    call_no_more(c) < 0 || call_canon_kv(c, kr, kl, vr, vl, &kv) < 0)
		return -1;
	if (dict_put(c, data, &kv, NULL) < 0)
		return -1;
	call_result_nil(c);
	return 0;
}

static int key_arg_entry(struct call *c, struct dict *d, struct dtab_rec ***e, bool more)
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
	struct dtab_rec **e;

	if (key_arg_entry(c, data, &e, false) < 0)
		return -1;
	if (e == NULL)
		return key_error(c);
	result_value(c, *e);
	return 0;
}

static int dict_get(struct call *c, void *data)
{
	struct dtab_rec **e;
	const uint8_t *def = NULL;
	size_t dlen = 0;

	if (key_arg_entry(c, data, &e, true) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &def, &dlen) < 0)
		return -1;
	if (call_no_more(c) < 0)
		return -1;
	if (e != NULL)
		result_value(c, *e);
	else if (def != NULL)
		call_result_raw(c, def, dlen);
	else
		call_result_nil(c);
	return 0;
}

static int dict_del(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e, *r;

	if (key_arg_entry(c, d, &e, false) < 0)
		return -1;
	if (e == NULL)
		return key_error(c);
	r = *e;
	dtab_remove(&d->t, e);
	dtab_rec_free(c->reg, r);
	call_result_nil(c);
	return 0;
}

static int dict_contains(struct call *c, void *data)
{
	struct dtab_rec **e;

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
	struct dtab_rec **e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)d->t.count);
	while ((e = dtab_next(&d->t, &pos)) != NULL) {
		if (what == VIEW_ITEMS)
			msgpack_pack_array(&c->pk, 2);
		if (what != VIEW_VALUES)
			result_key(c, *e);
		if (what != VIEW_KEYS)
			result_value(c, *e);
	}
	return 0;
}

static int dict_keys(struct call *c, void *data) { return dict_view(c, data, VIEW_KEYS); }
static int dict_values(struct call *c, void *data) { return dict_view(c, data, VIEW_VALUES); }
static int dict_items(struct call *c, void *data) { return dict_view(c, data, VIEW_ITEMS); }

/* ---- paging: dict.scan ---- */

/* A cursor is (the table's swept count mod 2^32) << 32 | an entry
 * position. Positions change only when a compaction sweeps holes out of
 * the entry array, and then no entry moves down by more than the holes
 * swept: moving the position back by that much resumes at or before every
 * entry the scan had not reached. So an entry present for the whole scan
 * is never skipped; after a compaction some may come twice. */
static size_t dict_cursor_pos(const struct dict *d, uint64_t cursor)
{
	uint32_t moved = (uint32_t)d->t.swept - (uint32_t)(cursor >> 32);
	size_t pos = (size_t)(cursor & UINT32_MAX);

	return pos > moved ? pos - moved : 0;
}

static uint64_t dict_cursor(const struct dict *d, size_t pos)
{
	return (uint64_t)(uint32_t)d->t.swept << 32 | (uint64_t)pos;
}

static int dict_arg_cursor(struct call *c, uint64_t *cursor)
{
	struct ps_mp_tok t;

	if (ps_args_tok(&c->args, &t) < 0)
		return call_error(c, PS_E_TYPE, "missing argument: cursor");
	if (t.type != PS_MP_UINT)
		return call_error(c, PS_E_TYPE, "cursor must be an unsigned int, not %s", ps_mp_type_name(&t));
	*cursor = t.v.u;
	return 0;
}

static int dict_arg_view(struct call *c, enum view *what)
{
	const char *s;
	size_t len;

	*what = VIEW_KEYS;
	if (!call_has_arg(c))
		return 0;
	if (call_arg_str(c, "what", &s, &len) < 0)
		return -1;
	if (len == 4 && memcmp(s, "keys", 4) == 0)
		*what = VIEW_KEYS;
	else if (len == 6 && memcmp(s, "values", 6) == 0)
		*what = VIEW_VALUES;
	else if (len == 5 && memcmp(s, "items", 5) == 0)
		*what = VIEW_ITEMS;
	else
		return call_error(c, PS_E_VALUE, "what must be \"keys\", \"values\" or \"items\"");
	return 0;
}

/* The page's end: entries from *pos up to count of them, stopping after
 * the one that takes the page past PS_PAGE_MAX_BYTES. *pos moves to the
 * entry after the last one in the page. */
static size_t dict_page(const struct dict *d, size_t *pos, size_t count, enum view what)
{
	struct dtab_rec **e;
	size_t n = 0, bytes = 0, len;

	while (n < count && bytes < PS_PAGE_MAX_BYTES && (e = dtab_next(&d->t, pos)) != NULL) {
		n++;
		bytes += 2;
		if (what != VIEW_VALUES && dtab_key(*e, &len) != NULL)
			bytes += len;
		if (what != VIEW_KEYS && dtab_value(*e, &len) != NULL)
			bytes += len;
	}
	return n;
}

/* [next cursor, entries]: one page of keys, values or [key, value] pairs
 * in insertion order; next is 0 when the page reached the end. */
static int dict_scan(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e;
	uint64_t cursor = 0;
	int64_t count;
	enum view what;
	size_t pos, end, n;

	if (dict_arg_cursor(c, &cursor) < 0 || call_arg_int(c, "count", &count) < 0 ||
	    dict_arg_view(c, &what) < 0 || call_no_more(c) < 0)
		return -1;
	if (count < 1)
		return call_error(c, PS_E_VALUE, "count must be at least 1");
	if (count > PS_PAGE_MAX_ITEMS)
		count = PS_PAGE_MAX_ITEMS;
	pos = end = dict_cursor_pos(d, cursor);
	n = dict_page(d, &end, (size_t)count, what);
	msgpack_pack_array(&c->pk, 2);
	msgpack_pack_uint64(&c->pk, end < d->t.used ? dict_cursor(d, end) : 0);
	msgpack_pack_array(&c->pk, (uint32_t)n);
	while (n-- > 0 && (e = dtab_next(&d->t, &pos)) != NULL) {
		if (what == VIEW_ITEMS)
			msgpack_pack_array(&c->pk, 2);
		if (what != VIEW_VALUES)
			result_key(c, *e);
		if (what != VIEW_KEYS)
			result_value(c, *e);
	}
	return 0;
}

static int dict_copy(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_map(&c->pk, (uint32_t)d->t.count);
	while ((e = dtab_next(&d->t, &pos)) != NULL) {
		result_key(c, *e);
		result_value(c, *e);
	}
	return 0;
}

static int dict_pop(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e;
	const uint8_t *def = NULL;
	size_t dlen = 0;
	struct dtab_rec *r;

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
	r = *e;
	dtab_remove(&d->t, e);
	result_value(c, r);
	dtab_rec_free(c->reg, r);
	return 0;
}

static int dict_popitem(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e, *r;

	if (call_no_more(c) < 0)
		return -1;
	e = dtab_last(&d->t);
	if (e == NULL)
		return call_error(c, PS_E_KEY, "popitem(): dictionary is empty");
	r = *e;
	dtab_remove(&d->t, e);
	msgpack_pack_array(&c->pk, 2);
	result_key(c, r);
	result_value(c, r);
	dtab_rec_free(c->reg, r);
	return 0;
}

static int dict_setdefault(struct call *c, void *data)
{
	struct dict *d = data;
	struct dtab_rec **e;
	const uint8_t *kr, *dr = (const uint8_t *)"\xc0";
	size_t kl, dl = 1;
	struct dtab_rec *r;
	struct call_kv kv;

	if (call_arg_raw(c, "key", &kr, &kl) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &dr, &dl) < 0)
		return -1;
	if (call_no_more(c) < 0 || dict_lookup(c, d, kr, kl, &e) < 0)
		return -1;
	if (e != NULL) {
		result_value(c, *e);
		return 0;
	}
	if (call_canon_kv(c, kr, kl, dr, dl, &kv) < 0 || dict_put(c, d, &kv, &r) < 0)
		return -1;
	result_value(c, r);
	return 0;
}

/* The entry with r's key, or NULL. */
static struct dtab_rec **rec_find(const struct dict *d, const struct dtab_rec *r)
{
	size_t klen;
	const uint8_t *k = dtab_key(r, &klen);

	return dtab_find(&d->t, k, klen, dtab_rec_hash(r));
}

/* The record of the key and value at src + *off, which moves past them. */
static int update_record(struct call *c, const uint8_t *src, size_t slen, size_t *off, struct dtab_rec **out)
{
	size_t kl = ps_mp_skip(src + *off, slen - *off), vl;
	const uint8_t *kr = src + *off, *vr = kr + kl;
	struct call_kv kv;

	vl = ps_mp_skip(vr, slen - *off - kl);
	*off += kl + vl;
	if (call_canon_kv(c, kr, kl, vr, vl, &kv) < 0)
		return -1;
	*out = dtab_rec_new(c->reg, kv.k, kv.klen, kv.krefs > 0, kv.v, kv.vlen, kv.vrefs > 0, kv.hash);
	if (*out == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory storing a value of %zu bytes", kv.vlen);
	return 0;
}

/* Builds every pair of an update first, so a bad pair changes nothing. */
static int dict_update(struct call *c, void *data)
{
	struct dict *d = data;
	const uint8_t *src;
	size_t slen, off, n, k;
	struct ps_mp_tok t, pt;
	struct dtab_rec **recs;
	uint64_t npairs;
	int r = -1;

	if (call_arg_raw(c, "other", &src, &slen) < 0 || call_no_more(c) < 0)
		return -1;
	ps_mp_token(src, slen, &t);
	if (t.type != PS_MP_MAP && t.type != PS_MP_ARRAY)
		return call_error(c, PS_E_TYPE, "update needs a map or an array of [key, value] pairs, not %s",
				  ps_mp_type_name(&t));
	npairs = t.v.n;
	recs = calloc(npairs ? npairs : 1, sizeof *recs);
	if (recs == NULL)
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
		if (update_record(c, src, slen, &off, &recs[n]) < 0)
			goto out;
	}
	/* max-items: keys not yet present (one repeated in the update
	 * counts each time, erring on the safe side). */
	k = 0;
	for (n = 0; n < npairs; n++)
		k += rec_find(d, recs[n]) == NULL;
	if (call_room(c, d->t.count, k) < 0)
		goto out;
	if (dtab_reserve(&d->t, npairs) < 0) {
		call_error(c, PS_E_NOMEM, "out of memory growing a dict");
		goto out;
	}
	for (n = 0; n < npairs; n++) {
		struct dtab_rec **e = rec_find(d, recs[n]), *old;
		if (e != NULL) {
			old = *e;
			*e = recs[n];
			dtab_rec_free(c->reg, old);
		} else {
			dtab_insert(&d->t, recs[n]); /* cannot fail after the reserve */
		}
		recs[n] = NULL;
	}
	call_result_nil(c);
	r = 0;
out:
	for (n = 0; n < npairs; n++)
		dtab_rec_free(c->reg, recs[n]);
	free(recs);
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
	struct dtab_rec **e;
	struct ps_mp_tok cur, delta;
	const uint8_t *kr, *dr;
	size_t kl, dl;
	struct ps_buf enc;
	msgpack_packer pk;
	struct call_kv kv;
	int r;

	if (call_arg_raw(c, "key", &kr, &kl) < 0 || call_arg_raw(c, "delta", &dr, &dl) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	ps_mp_token(dr, dl, &delta);
	if (delta.type != PS_MP_UINT && delta.type != PS_MP_INT && delta.type != PS_MP_FLOAT)
		return call_error(c, PS_E_TYPE, "delta must be an int or a float, not %s", ps_mp_type_name(&delta));
	if (dict_lookup(c, d, kr, kl, &e) < 0)
		return -1;
	if (e != NULL) {
		size_t len;
		const uint8_t *old = dtab_value(*e, &len);
		ps_mp_token(old, len, &cur);
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
	if (enc.oom)
		r = call_error(c, PS_E_NOMEM, "out of memory");
	else if (e != NULL)
		r = dict_replace(c, e, enc.data, enc.len, false);
	else
		r = call_canon_kv(c, kr, kl, enc.data, enc.len, &kv) < 0 ? -1 : dict_put(c, d, &kv, NULL);
	if (r == 0)
		call_result_raw(c, enc.data, enc.len);
	ps_buf_free(&enc);
	return r;
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
	{ "scan", dict_scan },
	{ NULL, NULL },
};

const struct type dict_type = {
	.name = "dict",
	.create = dict_create,
	.destroy = dict_destroy,
	.size = dict_size,
	.methods = dict_methods,
	.describe = dict_describe,
};
