/*
 * The shared Namespace: attributes by name, as multiprocessing's
 * Namespace holds them and NamespaceProxy reaches them (getattr, setattr,
 * delattr), plus hasattr, vars() and dir(). Names are str; any str will
 * do, as with Python's setattr. Attributes keep the order they were first
 * set in. Values are stored values (val.h).
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "odict.h"
#include "types.h"
#include "val.h"

/* Longest piece of a name quoted back in an error message. */
#define NAMESPACE_QUOTE 100

struct namespace {
	struct odict t;         /* name (canonical str) -> value val */
};

static void namespace_destroy(struct registry *reg, void *data)
{
	struct namespace *ns = data;
	struct odict_entry *e;
	size_t pos = 0;

	if (ns == NULL)
		return;
	while ((e = odict_next(&ns->t, &pos)) != NULL) {
		val_free(reg, e->key);
		val_free(reg, e->value);
	}
	odict_free(&ns->t);
	free(ns);
}

static size_t namespace_size(const void *data)
{
	const struct namespace *ns = data;

	return ns->t.count;
}

/* ---- names ------------------------------------------------------------ */

/* An attribute name: a str token, its text and its canonical bytes. */
struct namespace_name {
	const char *text;
	size_t len;
	const uint8_t *raw;
	size_t rawlen;
};

/* Checks that raw[0..len) is a str, as setattr wants its name to be. */
static int namespace_check(struct call *c, const uint8_t *raw, size_t len, struct namespace_name *nm)
{
	struct ps_mp_tok t;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "attribute name is not a valid value");
	if (t.type != PS_MP_STR)
		return call_error(c, PS_E_TYPE, "attribute name must be string, not '%s'", ps_mp_type_name(&t));
	nm->text = (const char *)t.data;
	nm->len = t.v.n;
	nm->raw = raw;
	nm->rawlen = len;
	return 0;
}

static int namespace_arg_name(struct call *c, struct namespace_name *nm)
{
	const uint8_t *raw;
	size_t len;

	if (call_arg_raw(c, "name", &raw, &len) < 0)
		return -1;
	return namespace_check(c, raw, len, nm);
}

/* The entry for a name; *e NULL when there is none. */
static int namespace_lookup(struct call *c, struct namespace *ns, const struct namespace_name *nm,
			    struct odict_entry **e)
{
	const uint8_t *k;
	size_t klen;

	if (call_canon(c, nm->raw, nm->rawlen, true, &k, &klen) < 0)
		return -1;
	*e = odict_find(&ns->t, k, klen, call_hash(c, k, klen));
	return 0;
}

static int namespace_missing(struct call *c, const struct namespace_name *nm)
{
	return call_error(c, PS_E_ATTRIBUTE, "'Namespace' object has no attribute '%.*s'",
			  (int)(nm->len > NAMESPACE_QUOTE ? NAMESPACE_QUOTE : nm->len), nm->text);
}

/* Sets name to value, taking both (freed on failure). The old value is
 * dropped last: freeing it may destroy objects it referred to. */
static int namespace_put(struct call *c, struct namespace *ns, struct val *name, struct val *value)
{
	struct odict_entry *e = odict_find(&ns->t, name->data, name->len, name->hash);
	struct val *old;

	if (e != NULL) {
		old = e->value;
		e->value = value;
		val_free(c->reg, name);
		val_free(c->reg, old);
		return 0;
	}
	if (call_room(c, ns->t.count, 1) < 0) {
		val_free(c->reg, name);
		val_free(c->reg, value);
		return -1;
	}
	if (odict_insert(&ns->t, name, value) == NULL) {
		val_free(c->reg, name);
		val_free(c->reg, value);
		return call_error(c, PS_E_NOMEM, "out of memory adding an attribute");
	}
	return 0;
}

/* Stores name = value from raw arguments. */
static int namespace_set_raw(struct call *c, struct namespace *ns, const struct namespace_name *nm,
			     const uint8_t *vraw, size_t vlen)
{
	struct val *name, *value;

	name = call_val(c, nm->raw, nm->rawlen, true);
	if (name == NULL)
		return -1;
	value = call_val(c, vraw, vlen, false);
	if (value == NULL) {
		val_free(c->reg, name);
		return -1;
	}
	return namespace_put(c, ns, name, value);
}

/* ---- creation --------------------------------------------------------- */

/* Every pair of the map at raw[0..len), checked before any is stored. */
static int namespace_check_map(struct call *c, const uint8_t *raw, size_t len, size_t *n, size_t *off)
{
	struct ps_mp_tok t;
	struct namespace_name nm;
	size_t o;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "attributes are not a valid value");
	if (t.type != PS_MP_MAP)
		return call_error(c, PS_E_TYPE, "attributes must be a map, not %s", ps_mp_type_name(&t));
	o = t.size;
	for (uint32_t i = 0; i < t.v.n; i++) {
		size_t k = ps_mp_skip(raw + o, len - o);

		if (k == 0)
			return call_error(c, PS_E_PROTOCOL, "truncated map");
		if (namespace_check(c, raw + o, k, &nm) < 0)
			return -1;
		o += k;
		o += ps_mp_skip(raw + o, len - o);
	}
	*n = t.v.n;
	*off = t.size;
	return 0;
}

/* Create arguments: nothing, or a map of initial attributes (Python's
 * Namespace(**kwargs)); a name given twice keeps its last value. */
static void *namespace_create(struct call *c)
{
	struct namespace *ns;
	struct namespace_name nm;
	const uint8_t *raw = NULL;
	size_t len = 0, n = 0, off = 0;

	if (call_has_arg(c) && call_arg_raw(c, "attributes", &raw, &len) < 0)
		return NULL;
	if (raw != NULL && raw[0] == 0xc0)
		raw = NULL;
	if (call_no_more(c) < 0 || (raw != NULL && namespace_check_map(c, raw, len, &n, &off) < 0))
		return NULL;
	ns = calloc(1, sizeof *ns);
	if (ns == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating a namespace");
		return NULL;
	}
	odict_init(&ns->t);
	for (size_t i = 0; i < n; i++) {
		size_t k = ps_mp_skip(raw + off, len - off), vk;

		namespace_check(c, raw + off, k, &nm);
		vk = ps_mp_skip(raw + off + k, len - off - k);
		if (namespace_set_raw(c, ns, &nm, raw + off + k, vk) < 0) {
			namespace_destroy(c->reg, ns);
			return NULL;
		}
		off += k + vk;
	}
	return ns;
}

/* ---- methods ---------------------------------------------------------- */

/* getattr [id, name, default?]: the default, when given, answers for a
 * missing attribute as Python's getattr(ns, name, default) does. */
static int namespace_getattr(struct call *c, void *data)
{
	struct namespace_name nm;
	struct odict_entry *e;
	const uint8_t *def = NULL;
	size_t dlen = 0;

	if (namespace_arg_name(c, &nm) < 0)
		return -1;
	if (call_has_arg(c) && call_arg_raw(c, "default", &def, &dlen) < 0)
		return -1;
	if (call_no_more(c) < 0 || namespace_lookup(c, data, &nm, &e) < 0)
		return -1;
	if (e != NULL)
		call_result_val(c, e->value);
	else if (def != NULL)
		call_result_raw(c, def, dlen);
	else
		return namespace_missing(c, &nm);
	return 0;
}

static int namespace_setattr(struct call *c, void *data)
{
	struct namespace_name nm;
	const uint8_t *vraw;
	size_t vlen;

	if (namespace_arg_name(c, &nm) < 0 || call_arg_raw(c, "value", &vraw, &vlen) < 0 ||
	    call_no_more(c) < 0 || namespace_set_raw(c, data, &nm, vraw, vlen) < 0)
		return -1;
	call_result_nil(c);
	return 0;
}

static int namespace_delattr(struct call *c, void *data)
{
	struct namespace *ns = data;
	struct namespace_name nm;
	struct odict_entry *e;
	struct val *k, *v;

	if (namespace_arg_name(c, &nm) < 0 || call_no_more(c) < 0 || namespace_lookup(c, ns, &nm, &e) < 0)
		return -1;
	if (e == NULL)
		return namespace_missing(c, &nm);
	k = e->key;
	v = e->value;
	odict_remove(&ns->t, e);
	call_result_nil(c);
	val_free(c->reg, k);
	val_free(c->reg, v);
	return 0;
}

static int namespace_has(struct call *c, void *data)
{
	struct namespace_name nm;
	struct odict_entry *e;

	if (namespace_arg_name(c, &nm) < 0 || call_no_more(c) < 0 || namespace_lookup(c, data, &nm, &e) < 0)
		return -1;
	call_result_bool(c, e != NULL);
	return 0;
}

static int namespace_len(struct call *c, void *data)
{
	struct namespace *ns = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, ns->t.count);
	return 0;
}

/* vars(ns): every attribute as a map, in the order first set. */
static int namespace_vars(struct call *c, void *data)
{
	struct namespace *ns = data;
	struct odict_entry *e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_map(&c->pk, (uint32_t)ns->t.count);
	while ((e = odict_next(&ns->t, &pos)) != NULL) {
		call_result_val(c, e->key);
		call_result_val(c, e->value);
	}
	return 0;
}

/* Orders canonical str encodings by their text: the header is skipped,
 * as its length would otherwise sort short names first. */
static int namespace_cmp_names(const void *x, const void *y)
{
	const struct val *a = *(const struct val *const *)x, *b = *(const struct val *const *)y;
	struct ps_mp_tok ta, tb;
	int r;

	ps_mp_token(a->data, a->len, &ta);
	ps_mp_token(b->data, b->len, &tb);
	r = memcmp(ta.data, tb.data, ta.v.n < tb.v.n ? ta.v.n : tb.v.n);
	if (r != 0)
		return r;
	return ta.v.n < tb.v.n ? -1 : ta.v.n > tb.v.n;
}

/* dir(ns) without the dunder names: the attribute names, sorted (by code
 * point, which is UTF-8 byte order). */
static int namespace_dir(struct call *c, void *data)
{
	struct namespace *ns = data;
	struct odict_entry *e;
	const struct val **names;
	size_t pos = 0, n = 0;

	if (call_no_more(c) < 0)
		return -1;
	names = malloc((ns->t.count > 0 ? ns->t.count : 1) * sizeof *names);
	if (names == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory listing %zu names", ns->t.count);
	while ((e = odict_next(&ns->t, &pos)) != NULL)
		names[n++] = e->key;
	qsort(names, n, sizeof *names, namespace_cmp_names);
	msgpack_pack_array(&c->pk, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		call_result_val(c, names[i]);
	free(names);
	return 0;
}

static const struct method namespace_methods[] = {
	{ "getattr", namespace_getattr },
	{ "setattr", namespace_setattr },
	{ "delattr", namespace_delattr },
	{ "has", namespace_has },
	{ "len", namespace_len },
	{ "vars", namespace_vars },
	{ "dir", namespace_dir },
	{ NULL, NULL },
};

const struct type namespace_type = {
	.name = "namespace",
	.create = namespace_create,
	.destroy = namespace_destroy,
	.size = namespace_size,
	.methods = namespace_methods,
};
