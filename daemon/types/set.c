/*
 * The shared set: Python's set as SetProxy (Python 3.14) exposes it.
 * Members are stored values used as keys of an ordered table (odict.h),
 * so they must be hashable like dict keys (no maps), compare by their
 * canonical bytes, and come back in the order they were added.
 *
 * The algebra (union, update, issubset, ...) takes operands that are
 * either an array of members or a reference to another shared set, whose
 * members are then used; an operand may be the set itself. Every method
 * works out its whole result against the set as it was before it changes
 * anything, and makes every allocation first, so errors leave the set as
 * it was and an operand aliasing the set sees no half-done state. Members
 * a method drops are freed last (see list.c: freeing a value may destroy
 * objects it refers to).
 */
#include <stdlib.h>

#include "call.h"
#include "odict.h"
#include "registry.h"
#include "types.h"
#include "val.h"

struct set {
	struct odict t;         /* member val -> NULL */
};

/* One operand: the members of a shared set, or of an array argument
 * (deduplicated into own). */
struct set_other {
	const struct odict *m;
	struct odict own;
};

struct set_others {
	struct set_other *o;
	size_t n;
};

/* What a member is tested for against the operands. */
enum set_test { SET_IN_ALL, SET_IN_ANY, SET_IN_NONE, SET_NOT_IN_ALL };

/* Against no operands every member is SET_IN_ALL: selects them all. */
static const struct set_others set_no_others = { NULL, 0 };

static void set_free_members(struct registry *reg, struct odict *t)
{
	struct odict_entry *e;
	size_t pos = 0;

	while ((e = odict_next(t, &pos)) != NULL)
		val_free(reg, e->key);
	odict_free(t);
}

static void set_destroy(struct registry *reg, void *data)
{
	struct set *s = data;

	if (s == NULL)
		return;
	set_free_members(reg, &s->t);
	free(s);
}

static size_t set_size(const void *data)
{
	const struct set *s = data;

	return s->t.count;
}

static bool set_has(const struct odict *t, const struct val *v)
{
	return odict_find(t, v->data, v->len, v->hash) != NULL;
}

/* Frees the n values of a malloc'd array, then the array. */
static void set_drop(struct call *c, struct val **vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		val_free(c->reg, vals[i]);
	free(vals);
}

/* ---- operands --------------------------------------------------------- */

/* The members of an array operand: stored as keys (TypeError for maps),
 * each once. */
static int set_other_fill(struct call *c, struct set_other *o, const uint8_t *raw, size_t len,
			  const struct ps_mp_tok *t)
{
	size_t off = t->size;

	for (uint32_t i = 0; i < t->v.n; i++) {
		size_t k = ps_mp_skip(raw + off, len - off);
		struct val *v;

		if (k == 0)
			return call_error(c, PS_E_PROTOCOL, "truncated array element");
		v = call_val(c, raw + off, k, true);
		if (v == NULL)
			return -1;
		off += k;
		if (set_has(&o->own, v)) {
			val_free(c->reg, v);
		} else if (odict_insert(&o->own, v, NULL) == NULL) {
			val_free(c->reg, v);
			return call_error(c, PS_E_NOMEM, "out of memory reading %u members", (unsigned)t->v.n);
		}
	}
	return 0;
}

/* The set a reference operand names. */
static int set_other_ref(struct call *c, struct set_other *o, const struct ps_mp_tok *t)
{
	struct object *obj;
	uint64_t id = 0;

	for (int i = 0; i < 8; i++)
		id = id << 8 | t->data[i];
	obj = registry_get(c->reg, id);
	if (obj == NULL)
		return call_error(c, PS_E_NOSUCHOBJECT, "reference to object %llu, which does not exist",
				  (unsigned long long)id);
	if (obj->type != &set_type)
		return call_error(c, PS_E_TYPE, "object %llu is a %s, not a set", (unsigned long long)id,
				  obj->type->name);
	o->m = &((const struct set *)obj->data)->t;
	return 0;
}

/* Reads the operand at raw[0..len) into o (set up with odict_init). */
static int set_other_parse(struct call *c, struct set_other *o, const uint8_t *raw, size_t len)
{
	struct ps_mp_tok t;

	o->m = &o->own;
	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "operand is not a valid value");
	if (t.type == PS_MP_EXT && t.ext_type == PS_EXT_REF && t.v.n == 8)
		return set_other_ref(c, o, &t);
	if (t.type == PS_MP_ARRAY)
		return set_other_fill(c, o, raw, len, &t);
	return call_error(c, PS_E_TYPE, "an operand must be an array or a reference to a set, not %s",
			  ps_mp_type_name(&t));
}

static void set_others_free(struct call *c, struct set_others *os)
{
	for (size_t i = 0; i < os->n; i++)
		set_free_members(c->reg, &os->o[i].own);
	free(os->o);
	os->o = NULL;
	os->n = 0;
}

/* Reads every remaining argument as an operand. exactly_one: the method
 * takes one operand, as Python's symmetric_difference or issubset do. */
static int set_others_read(struct call *c, const char *method, bool exactly_one, struct set_others *os)
{
	size_t n = c->args.left;

	os->n = 0;
	os->o = NULL;
	if (exactly_one && n != 1)
		return call_error(c, PS_E_TYPE, "%s() takes exactly one argument (%zu given)", method, n);
	os->o = calloc(n > 0 ? n : 1, sizeof *os->o);
	if (os->o == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory reading %zu operands", n);
	while (os->n < n) {
		struct set_other *o = &os->o[os->n++];
		const uint8_t *raw;
		size_t len;

		/* Counted before it is read, so a half-read operand is freed. */
		odict_init(&o->own);
		if (call_arg_raw(c, "operand", &raw, &len) < 0 || set_other_parse(c, o, raw, len) < 0) {
			set_others_free(c, os);
			return -1;
		}
	}
	return 0;
}

static bool set_test(const struct set_others *os, const struct val *v, enum set_test t)
{
	size_t hits = 0;

	for (size_t i = 0; i < os->n; i++)
		hits += set_has(os->o[i].m, v);
	switch (t) {
	case SET_IN_ALL: return hits == os->n;
	case SET_IN_ANY: return hits > 0;
	case SET_IN_NONE: return hits == 0;
	case SET_NOT_IN_ALL: return hits < os->n;
	}
	return false;
}

/* ---- selections (pointers to values owned elsewhere) ------------------ */

/* The members of s that pass the test, in s's order: a malloc'd array of
 * *n pointers to the set's own values. */
static int set_where(struct call *c, const struct set *s, const struct set_others *os, enum set_test t,
		     struct val ***out, size_t *n)
{
	struct odict_entry *e;
	size_t pos = 0;

	*n = 0;
	*out = malloc((s->t.count > 0 ? s->t.count : 1) * sizeof **out);
	if (*out == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory selecting from %zu members", s->t.count);
	while ((e = odict_next(&s->t, &pos)) != NULL)
		if (set_test(os, e->key, t))
			(*out)[(*n)++] = e->key;
	return 0;
}

/* An operand's member that a union adds to s: in neither s nor an earlier
 * operand (each operand holds it once). */
static bool set_is_extra(const struct set *s, const struct set_others *os, size_t k, const struct val *v)
{
	if (set_has(&s->t, v))
		return false;
	for (size_t j = 0; j < k; j++)
		if (set_has(os->o[j].m, v))
			return false;
	return true;
}

/* What the operands add to s, in operand order: a malloc'd array of *n
 * pointers to the operands' values. */
static int set_extras(struct call *c, const struct set *s, const struct set_others *os, struct val ***out,
		      size_t *n)
{
	struct odict_entry *e;
	size_t total = 0, pos;

	for (size_t k = 0; k < os->n; k++)
		total += os->o[k].m->count;
	*n = 0;
	*out = malloc((total > 0 ? total : 1) * sizeof **out);
	if (*out == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory selecting from %zu members", total);
	for (size_t k = 0; k < os->n; k++)
		for (pos = 0; (e = odict_next(os->o[k].m, &pos)) != NULL;)
			if (set_is_extra(s, os, k, e->key))
				(*out)[(*n)++] = e->key;
	return 0;
}

/* ---- changing the set ------------------------------------------------- */

/* Copies of the n values: stored values of this set's own. */
static int set_copies(struct call *c, struct val **vals, size_t n, struct val ***out)
{
	*out = calloc(n > 0 ? n : 1, sizeof **out);
	if (*out == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory copying %zu members", n);
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = val_new(c->reg, vals[i]->data, vals[i]->len, vals[i]->nrefs);
		if ((*out)[i] == NULL) {
			set_drop(c, *out, i);
			return call_error(c, PS_E_NOMEM, "out of memory copying %zu members", n);
		}
	}
	return 0;
}

/* Takes the n members vals[] out of s; the caller frees them. */
static void set_take_out(struct set *s, struct val **vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		odict_remove(&s->t, odict_find(&s->t, vals[i]->data, vals[i]->len, vals[i]->hash));
}

/* s -= removed[0..nr), then s |= copies of added[0..na): all or nothing.
 * Removed values are freed last. Frees both arrays; writes no result. */
static int set_change(struct call *c, struct set *s, struct val **removed, size_t nr, struct val **added,
		      size_t na)
{
	struct val **fresh;

	if (call_room(c, s->t.count - nr, na) < 0 || set_copies(c, added, na, &fresh) < 0)
		goto fail;
	if (odict_reserve(&s->t, na) < 0) {
		set_drop(c, fresh, na);
		call_error(c, PS_E_NOMEM, "out of memory growing a set");
		goto fail;
	}
	set_take_out(s, removed, nr);
	/* The reserve makes room: these cannot fail. */
	for (size_t i = 0; i < na; i++)
		odict_insert(&s->t, fresh[i], NULL);
	free(fresh);
	free(added);
	set_drop(c, removed, nr);
	return 0;
fail:
	free(removed);
	free(added);
	return -1;
}

/* The members of the operands not yet in s are added. */
static int set_add_others(struct call *c, struct set *s, const struct set_others *os)
{
	struct val **added;
	size_t na;

	if (set_extras(c, s, os, &added, &na) < 0)
		return -1;
	return set_change(c, s, NULL, 0, added, na);
}

/* The members that pass the test are removed. */
static int set_remove_where(struct call *c, struct set *s, const struct set_others *os, enum set_test t)
{
	struct val **removed;
	size_t nr;

	if (set_where(c, s, os, t, &removed, &nr) < 0)
		return -1;
	return set_change(c, s, removed, nr, NULL, 0);
}

/* ---- creation --------------------------------------------------------- */

/* Create arguments: nothing, or one operand (an array of members, or a
 * reference to a set to copy). */
static void *set_create(struct call *c)
{
	struct set_other o;
	struct set_others os = { &o, 0 };
	const uint8_t *raw = NULL;
	size_t len = 0;
	struct set *s;
	int r = 0;

	odict_init(&o.own);
	if (call_has_arg(c) && call_arg_raw(c, "members", &raw, &len) < 0)
		return NULL;
	if (call_no_more(c) < 0)
		return NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating a set");
		return NULL;
	}
	odict_init(&s->t);
	if (raw != NULL && raw[0] != 0xc0) {
		os.n = 1;
		r = set_other_parse(c, &o, raw, len);
		if (r == 0)
			r = set_add_others(c, s, &os);
	}
	set_free_members(c->reg, &o.own);
	if (r < 0) {
		set_destroy(c->reg, s);
		return NULL;
	}
	return s;
}

/* ---- methods on one member -------------------------------------------- */

/* Reads the member argument and finds its entry (*e NULL when absent). */
static int set_arg_member(struct call *c, struct set *s, const uint8_t **raw, size_t *len, struct odict_entry **e)
{
	const uint8_t *k;
	size_t klen;

	if (call_arg_raw(c, "member", raw, len) < 0 || call_no_more(c) < 0 ||
	    call_canon(c, *raw, *len, true, &k, &klen) < 0)
		return -1;
	*e = odict_find(&s->t, k, klen, call_hash(c, k, klen));
	return 0;
}

static int set_add(struct call *c, void *data)
{
	struct set *s = data;
	struct odict_entry *e;
	const uint8_t *raw;
	size_t len;
	struct val *v;

	if (set_arg_member(c, s, &raw, &len, &e) < 0)
		return -1;
	if (e == NULL) {
		if (call_room(c, s->t.count, 1) < 0)
			return -1;
		v = call_val(c, raw, len, true);
		if (v == NULL)
			return -1;
		if (odict_insert(&s->t, v, NULL) == NULL) {
			val_free(c->reg, v);
			return call_error(c, PS_E_NOMEM, "out of memory growing a set");
		}
	}
	call_result_nil(c);
	return 0;
}

/* Removes the entry found; the member is freed after the reply is set. */
static void set_unlink(struct call *c, struct set *s, struct odict_entry *e)
{
	struct val *v = e->key;

	odict_remove(&s->t, e);
	call_result_nil(c);
	val_free(c->reg, v);
}

static int set_discard(struct call *c, void *data)
{
	struct odict_entry *e;
	const uint8_t *raw;
	size_t len;

	if (set_arg_member(c, data, &raw, &len, &e) < 0)
		return -1;
	if (e != NULL)
		set_unlink(c, data, e);
	else
		call_result_nil(c);
	return 0;
}

static int set_remove(struct call *c, void *data)
{
	struct odict_entry *e;
	const uint8_t *raw;
	size_t len;

	if (set_arg_member(c, data, &raw, &len, &e) < 0)
		return -1;
	if (e == NULL)
		return call_error(c, PS_E_KEY, "member not in set");
	set_unlink(c, data, e);
	return 0;
}

static int set_contains(struct call *c, void *data)
{
	struct odict_entry *e;
	const uint8_t *raw;
	size_t len;

	if (set_arg_member(c, data, &raw, &len, &e) < 0)
		return -1;
	call_result_bool(c, e != NULL);
	return 0;
}

/* Python pops an arbitrary member; this pops the one added last, which
 * costs O(1) in the ordered table. */
static int set_pop(struct call *c, void *data)
{
	struct set *s = data;
	struct odict_entry *e;
	struct val *v;

	if (call_no_more(c) < 0)
		return -1;
	e = odict_last(&s->t);
	if (e == NULL)
		return call_error(c, PS_E_KEY, "pop from an empty set");
	v = e->key;
	odict_remove(&s->t, e);
	call_result_val(c, v);
	val_free(c->reg, v);
	return 0;
}

static int set_clear(struct call *c, void *data)
{
	struct set *s = data;
	struct odict old = s->t;

	if (call_no_more(c) < 0)
		return -1;
	/* The set is empty before any member is dropped. */
	odict_init(&s->t);
	call_result_nil(c);
	set_free_members(c->reg, &old);
	return 0;
}

static int set_len(struct call *c, void *data)
{
	struct set *s = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, s->t.count);
	return 0;
}

static int set_copy(struct call *c, void *data)
{
	struct set *s = data;
	struct odict_entry *e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)s->t.count);
	while ((e = odict_next(&s->t, &pos)) != NULL)
		call_result_val(c, e->key);
	return 0;
}

/* ---- the algebra ------------------------------------------------------ */

/* Writes a[0..na) then b[0..nb) as one array, and frees both arrays. */
static int set_put(struct call *c, struct val **a, size_t na, struct val **b, size_t nb)
{
	msgpack_pack_array(&c->pk, (uint32_t)(na + nb));
	for (size_t i = 0; i < na; i++)
		call_result_val(c, a[i]);
	for (size_t i = 0; i < nb; i++)
		call_result_val(c, b[i]);
	free(a);
	free(b);
	return 0;
}

/* The members of s that pass the test against the operands, as an array. */
static int set_select(struct call *c, struct set *s, const char *method, enum set_test t)
{
	struct set_others os;
	struct val **sel;
	size_t n;
	int r;

	if (set_others_read(c, method, false, &os) < 0)
		return -1;
	r = set_where(c, s, &os, t, &sel, &n);
	if (r == 0)
		set_put(c, sel, n, NULL, 0);
	set_others_free(c, &os);
	return r;
}

static int set_union(struct call *c, void *data)
{
	struct set *s = data;
	struct set_others os;
	struct val **all, **extra;
	size_t na, ne;
	int r = -1;

	if (set_others_read(c, "union", false, &os) < 0)
		return -1;
	if (set_where(c, s, &set_no_others, SET_IN_ALL, &all, &na) == 0) {
		if (set_extras(c, s, &os, &extra, &ne) == 0)
			r = set_put(c, all, na, extra, ne);
		else
			free(all);
	}
	set_others_free(c, &os);
	return r;
}

static int set_intersection(struct call *c, void *data)
{
	return set_select(c, data, "intersection", SET_IN_ALL);
}

static int set_difference(struct call *c, void *data)
{
	return set_select(c, data, "difference", SET_IN_NONE);
}

static int set_symmetric_difference(struct call *c, void *data)
{
	struct set *s = data;
	struct set_others os;
	struct val **mine, **theirs;
	size_t nm, nt;
	int r = -1;

	if (set_others_read(c, "symmetric_difference", true, &os) < 0)
		return -1;
	if (set_where(c, s, &os, SET_IN_NONE, &mine, &nm) == 0) {
		if (set_extras(c, s, &os, &theirs, &nt) == 0)
			r = set_put(c, mine, nm, theirs, nt);
		else
			free(mine);
	}
	set_others_free(c, &os);
	return r;
}

static int set_update(struct call *c, void *data)
{
	struct set_others os;
	int r;

	if (set_others_read(c, "update", false, &os) < 0)
		return -1;
	r = set_add_others(c, data, &os);
	set_others_free(c, &os);
	if (r == 0)
		call_result_nil(c);
	return r;
}

static int set_update_where(struct call *c, void *data, const char *method, enum set_test t)
{
	struct set_others os;
	int r;

	if (set_others_read(c, method, false, &os) < 0)
		return -1;
	r = set_remove_where(c, data, &os, t);
	set_others_free(c, &os);
	if (r == 0)
		call_result_nil(c);
	return r;
}

static int set_intersection_update(struct call *c, void *data)
{
	return set_update_where(c, data, "intersection_update", SET_NOT_IN_ALL);
}

static int set_difference_update(struct call *c, void *data)
{
	return set_update_where(c, data, "difference_update", SET_IN_ANY);
}

/* Both halves are worked out against the set as it was: the operand's
 * members it lacks come in, the ones it has go out. */
static int set_symmetric_difference_update(struct call *c, void *data)
{
	struct set *s = data;
	struct set_others os;
	struct val **removed, **added;
	size_t nr, na;
	int r = -1;

	if (set_others_read(c, "symmetric_difference_update", true, &os) < 0)
		return -1;
	if (set_where(c, s, &os, SET_IN_ANY, &removed, &nr) == 0) {
		if (set_extras(c, s, &os, &added, &na) == 0)
			r = set_change(c, s, removed, nr, added, na);
		else
			free(removed);
	}
	set_others_free(c, &os);
	if (r == 0)
		call_result_nil(c);
	return r;
}

/* isdisjoint, issubset, issuperset: one operand, a bool. */
static int set_compare(struct call *c, struct set *s, const char *method, bool (*fn)(const struct set *,
									     const struct odict *))
{
	struct set_others os;

	if (set_others_read(c, method, true, &os) < 0)
		return -1;
	call_result_bool(c, fn(s, os.o[0].m));
	set_others_free(c, &os);
	return 0;
}

/* True when every member of a is in b. */
static bool set_within(const struct odict *a, const struct odict *b)
{
	struct odict_entry *e;
	size_t pos = 0;

	while ((e = odict_next(a, &pos)) != NULL)
		if (!set_has(b, e->key))
			return false;
	return true;
}

static bool set_disjoint(const struct set *s, const struct odict *o)
{
	struct odict_entry *e;
	size_t pos = 0;

	while ((e = odict_next(&s->t, &pos)) != NULL)
		if (set_has(o, e->key))
			return false;
	return true;
}

static bool set_subset(const struct set *s, const struct odict *o)
{
	return set_within(&s->t, o);
}

static bool set_superset(const struct set *s, const struct odict *o)
{
	return set_within(o, &s->t);
}

static int set_isdisjoint(struct call *c, void *data)
{
	return set_compare(c, data, "isdisjoint", set_disjoint);
}

static int set_issubset(struct call *c, void *data)
{
	return set_compare(c, data, "issubset", set_subset);
}

static int set_issuperset(struct call *c, void *data)
{
	return set_compare(c, data, "issuperset", set_superset);
}

static const struct method set_methods[] = {
	{ "add", set_add },
	{ "discard", set_discard },
	{ "remove", set_remove },
	{ "pop", set_pop },
	{ "clear", set_clear },
	{ "contains", set_contains },
	{ "len", set_len },
	{ "copy", set_copy },
	{ "update", set_update },
	{ "union", set_union },
	{ "intersection", set_intersection },
	{ "difference", set_difference },
	{ "symmetric_difference", set_symmetric_difference },
	{ "intersection_update", set_intersection_update },
	{ "difference_update", set_difference_update },
	{ "symmetric_difference_update", set_symmetric_difference_update },
	{ "isdisjoint", set_isdisjoint },
	{ "issubset", set_issubset },
	{ "issuperset", set_issuperset },
	{ NULL, NULL },
};

const struct type set_type = {
	.name = "set",
	.create = set_create,
	.destroy = set_destroy,
	.size = set_size,
	.methods = set_methods,
};
