/*
 * The shared list: Python's list, as ListProxy exposes it. Items are stored
 * values (canonical MessagePack, see val.h) in a growable array of
 * pointers, so append is amortised O(1) and a get copies bytes without
 * parsing them. Every mutating method reads and checks all its arguments
 * and makes every allocation before it touches the list, so an error
 * leaves the list exactly as it was.
 *
 * Values a method drops are freed last, once the list is consistent and
 * will not be touched again: freeing a value may destroy the objects it
 * refers to, and through a cycle of references this very list.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "types.h"
#include "val.h"

/* Capacity of a list's first allocation, and the least it shrinks to. */
#define LIST_MIN_CAP 8
/* Most items a list may hold: keeps byte counts and 1.5x growth free of
 * overflow, and every index representable as an int64. */
#define LIST_MAX_LEN (SIZE_MAX / sizeof(struct val *) / 2)
/* Runs up to this long are sorted by binary insertion, then merged. */
#define LIST_RUN 32

struct list {
	struct val **items;
	size_t len;
	size_t cap;
};

/* A slice as sent ([start, stop, step], nil for omitted) and, once
 * resolved against the list, the n positions start, start + step, ... */
struct list_slice {
	int64_t start, stop, step;
	bool has_start, has_stop, has_step;
	size_t n;
};

/* ---- storage ---------------------------------------------------------- */

/* Makes room for extra more items. Only capacity changes, never the
 * items, so callers may reserve before they know the call will succeed. */
static int list_reserve(struct call *c, struct list *l, size_t extra)
{
	struct val **p;
	size_t want, cap;

	if (call_room(c, l->len, extra) < 0)
		return -1;
	if (extra <= l->cap - l->len)
		return 0;
	if (extra > LIST_MAX_LEN - l->len)
		return call_error(c, PS_E_NOMEM, "a list cannot hold %zu more items", extra);
	want = l->len + extra;
	cap = l->cap < LIST_MIN_CAP ? LIST_MIN_CAP : l->cap;
	/* Geometric growth keeps append amortised O(1); 1.5x rather than 2x
	 * wastes less on the big lists this daemon is meant to hold. */
	while (cap < want)
		cap += cap / 2;
	if (cap > LIST_MAX_LEN)
		cap = LIST_MAX_LEN;
	p = realloc(l->items, cap * sizeof *p);
	if (p == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory growing a list to %zu items", want);
	l->items = p;
	l->cap = cap;
	return 0;
}

/* Gives memory back after removals. Shrinking only below a quarter full,
 * to twice the length, keeps alternating appends and pops from
 * reallocating every time. */
static void list_shrink(struct list *l)
{
	struct val **p;
	size_t cap;

	if (l->cap <= LIST_MIN_CAP || l->len >= l->cap / 4)
		return;
	cap = l->len * 2 < LIST_MIN_CAP ? LIST_MIN_CAP : l->len * 2;
	p = realloc(l->items, cap * sizeof *p);
	if (p == NULL)
		return; /* the bigger array simply stays */
	l->items = p;
	l->cap = cap;
}

/* Moves count items from index from to index to; the ranges may overlap.
 * Does nothing for count 0, when items may still be NULL. */
static void list_move(struct list *l, size_t to, size_t from, size_t count)
{
	if (count > 0)
		memmove(l->items + to, l->items + from, count * sizeof *l->items);
}

/* Takes the item at pos out of the array without freeing it. */
static struct val *list_take(struct list *l, size_t pos)
{
	struct val *v = l->items[pos];

	list_move(l, pos, pos + 1, l->len - pos - 1);
	l->len--;
	return v;
}

/* Frees values taken out of the list; see the rule at the top. */
static void list_drop(struct call *c, struct val **vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		val_free(c->reg, vals[i]);
}

static void list_mirror(struct val **a, size_t n)
{
	for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
		struct val *t = a[i];

		a[i] = a[j - 1];
		a[j - 1] = t;
	}
}

/* Python's item index: negative counts from the end. False when out of
 * range. */
static bool list_pos(const struct list *l, int64_t i, size_t *pos)
{
	if (i < 0)
		i += (int64_t)l->len;
	if (i < 0 || (uint64_t)i >= l->len)
		return false;
	*pos = (size_t)i;
	return true;
}

/* Python's clamped bound (insert, index start/stop): negative counts from
 * the end, then the result is pinned into [0, len]. */
static size_t list_clamp(const struct list *l, int64_t i)
{
	if (i < 0) {
		i += (int64_t)l->len;
		return i < 0 ? 0 : (size_t)i;
	}
	return (uint64_t)i > l->len ? l->len : (size_t)i;
}

/* First position in [from, to) holding the canonical bytes p[0..n), or
 * SIZE_MAX. */
static size_t list_find(const struct list *l, const uint8_t *p, size_t n, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (val_eq(l->items[i], p, n))
			return i;
	return SIZE_MAX;
}

/* ---- encoded arrays coming in ------------------------------------------ */

/* Checks that raw is an array: *n elements, the first at raw + *off. */
static int list_array(struct call *c, const uint8_t *raw, size_t len, const char *what, size_t *n, size_t *off)
{
	struct ps_mp_tok t;

	if (ps_mp_token(raw, len, &t) != 1)
		return call_error(c, PS_E_PROTOCOL, "%s is not a valid value", what);
	if (t.type != PS_MP_ARRAY)
		return call_error(c, PS_E_TYPE, "%s must be an array, not %s", what, ps_mp_type_name(&t));
	/* Each element takes a byte at least: a count the bytes cannot hold
	 * must not size an allocation. */
	if (t.v.n > len - t.size)
		return call_error(c, PS_E_PROTOCOL, "%s is truncated", what);
	*n = t.v.n;
	*off = t.size;
	return 0;
}

/* Stores the n elements found at raw + off into dst[0..n). All or none:
 * when one is refused the ones already made are freed. */
static int list_make(struct call *c, const uint8_t *raw, size_t len, size_t off, size_t n, struct val **dst)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		k = ps_mp_skip(raw + off, len - off);
		if (k == 0) {
			call_error(c, PS_E_PROTOCOL, "truncated array element");
			break;
		}
		dst[i] = call_val(c, raw + off, k, false);
		if (dst[i] == NULL)
			break;
		off += k;
	}
	if (i == n)
		return 0;
	while (i > 0)
		val_free(c->reg, dst[--i]);
	return -1;
}

/* Appends every element of the encoded array raw, all or none. */
static int list_add_all(struct call *c, struct list *l, const uint8_t *raw, size_t len, const char *what)
{
	size_t n, off;

	if (list_array(c, raw, len, what, &n, &off) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (list_reserve(c, l, n) < 0)
		return -1;
	/* Built in the spare capacity; the length moves once all exist. */
	if (list_make(c, raw, len, off, n, l->items + l->len) < 0)
		return -1;
	l->len += n;
	return 0;
}

/* Writes n items, every step-th from start, as one array. */
static int list_put(struct call *c, const struct list *l, int64_t start, int64_t step, size_t n)
{
	if (n > UINT32_MAX)
		return call_error(c, PS_E_TOOLARGE, "%zu items do not fit in one array", n);
	msgpack_pack_array(&c->pk, n);
	for (size_t k = 0; k < n; k++)
		call_result_val(c, l->items[start + (int64_t)k * step]);
	return 0;
}

/* ---- slices --------------------------------------------------------- */

/* Reads start, stop and step; absent or nil means omitted. */
static int list_arg_slice(struct call *c, struct list_slice *s)
{
	if (call_arg_opt_int(c, "start", &s->start, &s->has_start) < 0 ||
	    call_arg_opt_int(c, "stop", &s->stop, &s->has_stop) < 0 ||
	    call_arg_opt_int(c, "step", &s->step, &s->has_step) < 0)
		return -1;
	return 0;
}

/* One bound, as PySlice_AdjustIndices pins it. */
static void list_slice_pin(int64_t *i, int64_t len, int64_t step)
{
	if (*i < 0) {
		*i += len;
		if (*i < 0)
			*i = step < 0 ? -1 : 0;
	} else if (*i >= len) {
		*i = step < 0 ? len - 1 : len;
	}
}

/* Resolves a slice against the list exactly as Python's PySlice_Unpack
 * and PySlice_AdjustIndices do. */
static int list_slice_resolve(struct call *c, const struct list *l, struct list_slice *s)
{
	int64_t len = (int64_t)l->len;

	if (!s->has_step)
		s->step = 1;
	if (s->step == 0)
		return call_error(c, PS_E_VALUE, "slice step cannot be zero");
	/* So that -step cannot overflow; Python clamps the same way. */
	if (s->step < -INT64_MAX)
		s->step = -INT64_MAX;
	if (!s->has_start)
		s->start = s->step < 0 ? INT64_MAX : 0;
	if (!s->has_stop)
		s->stop = s->step < 0 ? INT64_MIN : INT64_MAX;
	list_slice_pin(&s->start, len, s->step);
	list_slice_pin(&s->stop, len, s->step);
	s->n = 0;
	if (s->step < 0 && s->stop < s->start)
		s->n = (size_t)((s->start - s->stop - 1) / -s->step) + 1;
	else if (s->step > 0 && s->start < s->stop)
		s->n = (size_t)((s->stop - s->start - 1) / s->step) + 1;
	return 0;
}

/* Position of the k-th item a resolved slice selects. */
static size_t list_slice_at(const struct list_slice *s, size_t k)
{
	return (size_t)(s->start + (int64_t)k * s->step);
}

/* Step 1: items [lo, lo + k) become fresh[0..n), so the length may
 * change; the replaced items go to old[0..k) for the caller to free. */
static void list_splice(struct list *l, size_t lo, size_t k, struct val **fresh, size_t n, struct val **old)
{
	if (k > 0)
		memcpy(old, l->items + lo, k * sizeof *old);
	list_move(l, lo + n, lo + k, l->len - lo - k);
	if (n > 0)
		memcpy(l->items + lo, fresh, n * sizeof *fresh);
	l->len = l->len - k + n;
	list_shrink(l);
}

/* Any other step: each selected item is replaced by its fresh one; the
 * replaced items go to old[0..s->n). */
static void list_scatter(struct list *l, const struct list_slice *s, struct val **fresh, struct val **old)
{
	for (size_t k = 0; k < s->n; k++) {
		size_t pos = list_slice_at(s, k);

		old[k] = l->items[pos];
		l->items[pos] = fresh[k];
	}
}

/* Takes out the n items at start, start + step, ... (step > 0) into
 * gone[0..n), sliding each run of kept items down over the gap. */
static void list_cut(struct list *l, size_t start, size_t step, size_t n, struct val **gone)
{
	size_t w = start;

	for (size_t k = 0; k < n; k++) {
		size_t pos = start + k * step;
		size_t next = k + 1 < n ? pos + step : l->len;
		size_t run = next - pos - 1;

		gone[k] = l->items[pos];
		list_move(l, w, pos + 1, run);
		w += run;
	}
	l->len = w;
	list_shrink(l);
}

/* ---- ordering (sort) ---------------------------------------------------- */

/* LIST_UNORD: neither is less (a NaN is involved), as Python's '<' says
 * false both ways. LIST_ERR: the two cannot be ordered at all. */
enum list_ord { LIST_LT, LIST_EQ, LIST_GT, LIST_UNORD, LIST_ERR };

/* The pair that could not be ordered, named for the TypeError. */
struct list_sorter {
	const char *left, *right;
};

/* A number as read from a token; bools count as 0 and 1, as in Python. */
struct list_num {
	enum { LIST_NUM_U, LIST_NUM_I, LIST_NUM_F } kind;
	uint64_t u;
	int64_t i;
	double f;
};

static bool list_num(const struct ps_mp_tok *t, struct list_num *n)
{
	switch (t->type) {
	case PS_MP_BOOL: n->kind = LIST_NUM_U; n->u = t->v.b; return true;
	case PS_MP_UINT: n->kind = LIST_NUM_U; n->u = t->v.u; return true;
	case PS_MP_INT: n->kind = LIST_NUM_I; n->i = t->v.i; return true;
	case PS_MP_FLOAT: n->kind = LIST_NUM_F; n->f = t->v.f; return true;
	default: return false;
	}
}

static enum list_ord list_flip(enum list_ord o)
{
	return o == LIST_LT ? LIST_GT : o == LIST_GT ? LIST_LT : o;
}

static enum list_ord list_cmp_u(uint64_t a, uint64_t b)
{
	return a < b ? LIST_LT : a > b ? LIST_GT : LIST_EQ;
}

static enum list_ord list_cmp_i(int64_t a, int64_t b)
{
	return a < b ? LIST_LT : a > b ? LIST_GT : LIST_EQ;
}

static enum list_ord list_cmp_f(double a, double b)
{
	if (a < b)
		return LIST_LT;
	if (a > b)
		return LIST_GT;
	return a == b ? LIST_EQ : LIST_UNORD;
}

/* A double against a uint64, exactly: converting the integer to double
 * would round above 2^53. Inside the range the double's integer part is
 * exact as an integer, and its fraction breaks a tie. */
static enum list_ord list_cmp_fu(double d, uint64_t u)
{
	uint64_t t;

	if (isnan(d))
		return LIST_UNORD;
	if (d < 0)
		return LIST_LT;
	if (d >= 0x1p64)
		return LIST_GT;
	t = (uint64_t)d;
	if (t != u)
		return t < u ? LIST_LT : LIST_GT;
	return d > (double)t ? LIST_GT : LIST_EQ;
}

/* A double against an int64, exactly (see list_cmp_fu). */
static enum list_ord list_cmp_fi(double d, int64_t i)
{
	int64_t t;

	if (isnan(d))
		return LIST_UNORD;
	if (d >= 0x1p63)
		return LIST_GT;
	if (d < -0x1p63)
		return LIST_LT;
	t = (int64_t)d;
	if (t != i)
		return t < i ? LIST_LT : LIST_GT;
	if (d > (double)t)
		return LIST_GT;
	return d < (double)t ? LIST_LT : LIST_EQ;
}

/* Kinds are ordered U < I < F so that each mixed pair is written once. */
static enum list_ord list_cmp_num(const struct list_num *a, const struct list_num *b)
{
	if (a->kind > b->kind)
		return list_flip(list_cmp_num(b, a));
	if (a->kind == LIST_NUM_F)
		return list_cmp_f(a->f, b->f);
	if (b->kind == LIST_NUM_F)
		return list_flip(a->kind == LIST_NUM_U ? list_cmp_fu(b->f, a->u) : list_cmp_fi(b->f, a->i));
	if (a->kind == LIST_NUM_I)
		return list_cmp_i(a->i, b->i);
	if (b->kind == LIST_NUM_U)
		return list_cmp_u(a->u, b->u);
	return b->i < 0 ? LIST_GT : list_cmp_u(a->u, (uint64_t)b->i);
}

/* Str by UTF-8 bytes is code point order; bin is plain bytes. */
static enum list_ord list_cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);

	if (r != 0)
		return r < 0 ? LIST_LT : LIST_GT;
	return list_cmp_u(an, bn);
}

static enum list_ord list_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, struct list_sorter *s);

/* Elements inside arrays: Python looks for the first pair that is not
 * '==' and orders the arrays by it, so elements that cannot be ordered
 * (nil, maps, ...) are fine as long as they are equal. */
static enum list_ord list_cmp_elem(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, struct list_sorter *s)
{
	enum list_ord r = list_cmp(a, an, b, bn, s);

	if (r == LIST_ERR && an == bn && memcmp(a, b, an) == 0)
		return LIST_EQ;
	return r;
}

/* Arrays: lexicographic, a proper prefix first. */
static enum list_ord list_cmp_array(const uint8_t *a, size_t an, const struct ps_mp_tok *ta,
				    const uint8_t *b, size_t bn, const struct ps_mp_tok *tb, struct list_sorter *s)
{
	size_t ao = ta->size, bo = tb->size;
	uint32_t n = ta->v.n < tb->v.n ? ta->v.n : tb->v.n;

	for (uint32_t i = 0; i < n; i++) {
		size_t ak = ps_mp_skip(a + ao, an - ao), bk = ps_mp_skip(b + bo, bn - bo);
		enum list_ord r;

		if (ak == 0 || bk == 0)
			return LIST_ERR; /* stored values are valid: not reached */
		r = list_cmp_elem(a + ao, ak, b + bo, bk, s);
		if (r != LIST_EQ)
			return r;
		ao += ak;
		bo += bk;
	}
	return list_cmp_u(ta->v.n, tb->v.n);
}

/* Orders two stored values the way Python's '<' would order what they
 * decode to; on LIST_ERR s names the innermost pair at fault. */
static enum list_ord list_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, struct list_sorter *s)
{
	struct ps_mp_tok ta, tb;
	struct list_num na, nb;

	if (ps_mp_token(a, an, &ta) != 1 || ps_mp_token(b, bn, &tb) != 1)
		return LIST_ERR; /* stored values are valid: not reached */
	if (list_num(&ta, &na) && list_num(&tb, &nb))
		return list_cmp_num(&na, &nb);
	if (ta.type == tb.type && (ta.type == PS_MP_STR || ta.type == PS_MP_BIN))
		return list_cmp_bytes(ta.data, ta.v.n, tb.data, tb.v.n);
	if (ta.type == tb.type && ta.type == PS_MP_ARRAY)
		return list_cmp_array(a, an, &ta, b, bn, &tb, s);
	s->left = ps_mp_type_name(&ta);
	s->right = ps_mp_type_name(&tb);
	return LIST_ERR;
}

/* 1 when x sorts strictly before y, 0 when not, -1 when they cannot be
 * ordered. Taking an item from the right only when strictly less is what
 * keeps the sort stable. */
static int list_less(struct list_sorter *s, const struct val *x, const struct val *y)
{
	enum list_ord r = list_cmp(x->data, x->len, y->data, y->len, s);

	if (r == LIST_ERR)
		return -1;
	return r == LIST_LT;
}

/* Binary insertion: few comparisons, and comparisons (token decoding) cost
 * far more than moving pointers. Equal items go after, so it is stable. */
static int list_isort(struct list_sorter *s, struct val **a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct val *x = a[i];
		size_t lo = 0, hi = i;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int r = list_less(s, x, a[mid]);

			if (r < 0)
				return -1;
			if (r)
				hi = mid;
			else
				lo = mid + 1;
		}
		memmove(a + lo + 1, a + lo, (i - lo) * sizeof *a);
		a[lo] = x;
	}
	return 0;
}

/* Merges the sorted runs a[0..h) and a[h..n) using tmp[0..h). */
static int list_merge(struct list_sorter *s, struct val **a, size_t h, size_t n, struct val **tmp)
{
	size_t i = 0, j = h, k = 0;
	int r;

	/* Runs already in order (sorted or nearly sorted input) cost one
	 * comparison. */
	r = list_less(s, a[h], a[h - 1]);
	if (r <= 0)
		return r;
	memcpy(tmp, a, h * sizeof *a);
	while (i < h && j < n) {
		r = list_less(s, a[j], tmp[i]);
		if (r < 0)
			return -1;
		a[k++] = r ? a[j++] : tmp[i++];
	}
	while (i < h)
		a[k++] = tmp[i++];
	return 0;
}

/* Stable merge sort of a[0..n); tmp holds n / 2 pointers. On error a is
 * left scrambled, which is why the caller sorts a copy. */
static int list_msort(struct list_sorter *s, struct val **a, size_t n, struct val **tmp)
{
	size_t h = n / 2;

	if (n <= LIST_RUN)
		return list_isort(s, a, n);
	if (list_msort(s, a, h, tmp) < 0 || list_msort(s, a + h, n - h, tmp) < 0)
		return -1;
	return list_merge(s, a, h, n, tmp);
}

/* ---- the type ----------------------------------------------------------- */

static void list_destroy(struct registry *reg, void *data)
{
	struct list *l = data;

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->len; i++)
		val_free(reg, l->items[i]);
	free(l->items);
	free(l);
}

/* Create arguments: nothing, or one array of initial items. */
static void *list_create(struct call *c)
{
	struct list *l;
	const uint8_t *raw = NULL;
	size_t len = 0;
	bool has_items = call_has_arg(c);

	l = calloc(1, sizeof *l);
	if (l == NULL) {
		call_error(c, PS_E_NOMEM, "out of memory creating a list");
		return NULL;
	}
	if (has_items && call_arg_raw(c, "items", &raw, &len) < 0)
		goto fail;
	if (call_no_more(c) < 0)
		goto fail;
	if (has_items && list_add_all(c, l, raw, len, "list items") < 0)
		goto fail;
	return l;
fail:
	list_destroy(c->reg, l);
	return NULL;
}

static size_t list_size(const void *data)
{
	const struct list *l = data;

	return l->len;
}

/* For "describe": the bytes its items hold. */
static void list_describe(struct call *c, void *data)
{
	struct list *l = data;
	uint64_t bytes = 0;

	for (size_t i = 0; i < l->len; i++)
		bytes += l->items[i]->len;
	msgpack_pack_map(&c->pk, 1);
	ps_mp_pack_cstr(&c->pk, "bytes");
	msgpack_pack_uint64(&c->pk, bytes);
}

/* ---- methods ------------------------------------------------------------ */

static int list_append(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw;
	size_t len;
	struct val *v;

	if (call_arg_raw(c, "value", &raw, &len) < 0 || call_no_more(c) < 0 || list_reserve(c, l, 1) < 0)
		return -1;
	v = call_val(c, raw, len, false);
	if (v == NULL)
		return -1;
	l->items[l->len++] = v;
	call_result_nil(c);
	return 0;
}

static int list_extend(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw;
	size_t len;

	if (call_arg_raw(c, "items", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    list_add_all(c, l, raw, len, "extend argument") < 0)
		return -1;
	call_result_nil(c);
	return 0;
}

static int list_insert(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw;
	size_t len, pos;
	int64_t i;
	struct val *v;

	if (call_arg_int(c, "index", &i) < 0 || call_arg_raw(c, "value", &raw, &len) < 0 ||
	    call_no_more(c) < 0 || list_reserve(c, l, 1) < 0)
		return -1;
	v = call_val(c, raw, len, false);
	if (v == NULL)
		return -1;
	pos = list_clamp(l, i);
	list_move(l, pos + 1, pos, l->len - pos);
	l->items[pos] = v;
	l->len++;
	call_result_nil(c);
	return 0;
}

static int list_pop(struct call *c, void *data)
{
	struct list *l = data;
	int64_t i = -1;
	bool present;
	size_t pos;
	struct val *v;

	if (call_arg_opt_int(c, "index", &i, &present) < 0 || call_no_more(c) < 0)
		return -1;
	if (!present)
		i = -1;
	if (l->len == 0)
		return call_error(c, PS_E_INDEX, "pop from empty list");
	if (!list_pos(l, i, &pos))
		return call_error(c, PS_E_INDEX, "pop index out of range");
	v = list_take(l, pos);
	list_shrink(l);
	call_result_val(c, v);
	val_free(c->reg, v);
	return 0;
}

static int list_remove(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw, *p;
	size_t len, n, pos;
	struct val *v;

	if (call_arg_raw(c, "value", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    call_canon(c, raw, len, false, &p, &n) < 0)
		return -1;
	pos = list_find(l, p, n, 0, l->len);
	if (pos == SIZE_MAX)
		return call_error(c, PS_E_VALUE, "list.remove(x): x not in list");
	v = list_take(l, pos);
	list_shrink(l);
	call_result_nil(c);
	val_free(c->reg, v);
	return 0;
}

static int list_index(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw, *p;
	size_t len, n, pos;
	int64_t start, stop;
	bool has_start, has_stop;

	if (call_arg_raw(c, "value", &raw, &len) < 0 ||
	    call_arg_opt_int(c, "start", &start, &has_start) < 0 ||
	    call_arg_opt_int(c, "stop", &stop, &has_stop) < 0 ||
	    call_no_more(c) < 0 || call_canon(c, raw, len, false, &p, &n) < 0)
		return -1;
	pos = list_find(l, p, n, has_start ? list_clamp(l, start) : 0,
			has_stop ? list_clamp(l, stop) : l->len);
	if (pos == SIZE_MAX)
		return call_error(c, PS_E_VALUE, "x is not in list");
	call_result_int(c, (int64_t)pos);
	return 0;
}

static int list_count(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw, *p;
	size_t len, n;
	uint64_t count = 0;

	if (call_arg_raw(c, "value", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    call_canon(c, raw, len, false, &p, &n) < 0)
		return -1;
	for (size_t i = 0; i < l->len; i++)
		count += val_eq(l->items[i], p, n);
	call_result_uint(c, count);
	return 0;
}

static int list_contains(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw, *p;
	size_t len, n;

	if (call_arg_raw(c, "value", &raw, &len) < 0 || call_no_more(c) < 0 ||
	    call_canon(c, raw, len, false, &p, &n) < 0)
		return -1;
	call_result_bool(c, list_find(l, p, n, 0, l->len) != SIZE_MAX);
	return 0;
}

static int list_reverse(struct call *c, void *data)
{
	struct list *l = data;

	if (call_no_more(c) < 0)
		return -1;
	if (l->len > 1)
		list_mirror(l->items, l->len);
	call_result_nil(c);
	return 0;
}

/* Sorts a copy of the pointers and copies it back only on success, so a
 * TypeError part-way leaves the list as it was. reverse=true does what
 * Python does (reverse, stable sort, reverse): equal items keep their
 * original order. */
static int list_sort(struct call *c, void *data)
{
	struct list *l = data;
	struct list_sorter s = { "?", "?" };
	struct val **work;
	bool rev = false;
	size_t n = l->len;

	if (call_arg_opt_bool(c, "reverse", &rev) < 0 || call_no_more(c) < 0)
		return -1;
	if (n > 1) {
		work = malloc((n + n / 2) * sizeof *work);
		if (work == NULL)
			return call_error(c, PS_E_NOMEM, "out of memory sorting a list of %zu items", n);
		memcpy(work, l->items, n * sizeof *work);
		if (rev)
			list_mirror(work, n);
		if (list_msort(&s, work, n, work + n) < 0) {
			free(work);
			return call_error(c, PS_E_TYPE, "'<' not supported between instances of '%s' and '%s'",
					  s.left, s.right);
		}
		if (rev)
			list_mirror(work, n);
		memcpy(l->items, work, n * sizeof *work);
		free(work);
	}
	call_result_nil(c);
	return 0;
}

static int list_len(struct call *c, void *data)
{
	struct list *l = data;

	if (call_no_more(c) < 0)
		return -1;
	call_result_uint(c, l->len);
	return 0;
}

static int list_getitem(struct call *c, void *data)
{
	struct list *l = data;
	int64_t i;
	size_t pos;

	if (call_arg_int(c, "index", &i) < 0 || call_no_more(c) < 0)
		return -1;
	if (!list_pos(l, i, &pos))
		return call_error(c, PS_E_INDEX, "list index out of range");
	call_result_val(c, l->items[pos]);
	return 0;
}

static int list_setitem(struct call *c, void *data)
{
	struct list *l = data;
	const uint8_t *raw;
	size_t len, pos;
	int64_t i;
	struct val *v, *old;

	if (call_arg_int(c, "index", &i) < 0 || call_arg_raw(c, "value", &raw, &len) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	if (!list_pos(l, i, &pos))
		return call_error(c, PS_E_INDEX, "list assignment index out of range");
	v = call_val(c, raw, len, false);
	if (v == NULL)
		return -1;
	old = l->items[pos];
	l->items[pos] = v;
	call_result_nil(c);
	val_free(c->reg, old);
	return 0;
}

static int list_delitem(struct call *c, void *data)
{
	struct list *l = data;
	int64_t i;
	size_t pos;
	struct val *v;

	if (call_arg_int(c, "index", &i) < 0 || call_no_more(c) < 0)
		return -1;
	if (!list_pos(l, i, &pos))
		return call_error(c, PS_E_INDEX, "list assignment index out of range");
	v = list_take(l, pos);
	list_shrink(l);
	call_result_nil(c);
	val_free(c->reg, v);
	return 0;
}

static int list_getslice(struct call *c, void *data)
{
	struct list *l = data;
	struct list_slice s;

	if (list_arg_slice(c, &s) < 0 || call_no_more(c) < 0 || list_slice_resolve(c, l, &s) < 0)
		return -1;
	return list_put(c, l, s.start, s.step, s.n);
}

/* Python's a[start:stop:step] = items. Step 1 replaces the range with any
 * number of items; any other step needs exactly one item per slot. */
static int list_setslice(struct call *c, void *data)
{
	struct list *l = data;
	struct list_slice s;
	const uint8_t *raw;
	size_t len, n, off, k;
	struct val **buf = NULL;

	if (list_arg_slice(c, &s) < 0 || call_arg_raw(c, "items", &raw, &len) < 0 ||
	    call_no_more(c) < 0 || list_slice_resolve(c, l, &s) < 0 ||
	    list_array(c, raw, len, "slice assignment value", &n, &off) < 0)
		return -1;
	if (s.step != 1 && n != s.n)
		return call_error(c, PS_E_VALUE, "attempt to assign sequence of size %zu to extended slice of size %zu",
				  n, s.n);
	k = s.n; /* items replaced */
	/* Nothing replaced by nothing (l[i:i] = []): no change, and no
	 * buffer to point into. */
	if (n + k == 0) {
		call_result_nil(c);
		return 0;
	}
	/* One buffer: the n fresh values, then the k they replace. */
	if (n + k > 0 && (n > LIST_MAX_LEN || (buf = malloc((n + k) * sizeof *buf)) == NULL))
		return call_error(c, PS_E_NOMEM, "out of memory assigning %zu items", n);
	if ((n > k && list_reserve(c, l, n - k) < 0) || list_make(c, raw, len, off, n, buf) < 0) {
		free(buf);
		return -1;
	}
	if (s.step == 1)
		list_splice(l, (size_t)s.start, k, buf, n, buf + n);
	else
		list_scatter(l, &s, buf, buf + n);
	call_result_nil(c);
	list_drop(c, buf + n, k);
	free(buf);
	return 0;
}

static int list_delslice(struct call *c, void *data)
{
	struct list *l = data;
	struct list_slice s;
	struct val **gone;

	if (list_arg_slice(c, &s) < 0 || call_no_more(c) < 0 || list_slice_resolve(c, l, &s) < 0)
		return -1;
	if (s.n == 0) {
		call_result_nil(c);
		return 0;
	}
	/* Dropped values wait here (see the rule at the top); CPython keeps
	 * the same kind of buffer, "recycle", for the same reason. */
	gone = malloc(s.n * sizeof *gone);
	if (gone == NULL)
		return call_error(c, PS_E_NOMEM, "out of memory deleting %zu items", s.n);
	/* Walk upwards whatever the sign of step, as Python does. */
	if (s.step < 0) {
		s.start += s.step * (int64_t)(s.n - 1);
		s.step = -s.step;
	}
	list_cut(l, (size_t)s.start, (size_t)s.step, s.n, gone);
	call_result_nil(c);
	list_drop(c, gone, s.n);
	free(gone);
	return 0;
}

static int list_clear(struct call *c, void *data)
{
	struct list *l = data;
	struct val **items = l->items;
	size_t n = l->len;

	if (call_no_more(c) < 0)
		return -1;
	/* The list is empty before any value is dropped. */
	l->items = NULL;
	l->len = 0;
	l->cap = 0;
	call_result_nil(c);
	list_drop(c, items, n);
	free(items);
	return 0;
}

static int list_copy(struct call *c, void *data)
{
	struct list *l = data;

	if (call_no_more(c) < 0)
		return -1;
	return list_put(c, l, 0, 1, l->len);
}

/* [next, items]: a page of up to count items from index cursor on (count
 * capped at PS_PAGE_MAX_ITEMS, the page ended early once it passes
 * PS_PAGE_MAX_BYTES); next is the index after the page, or 0 when the page
 * reached the end. Positions are plain indexes: items inserted or removed
 * before the cursor during a scan shift the rest, as in Python. */
static int list_scan(struct call *c, void *data)
{
	struct list *l = data;
	int64_t cursor, count;
	size_t pos, end, bytes = 0;

	if (call_arg_int(c, "cursor", &cursor) < 0 || call_arg_int(c, "count", &count) < 0 ||
	    call_no_more(c) < 0)
		return -1;
	if (cursor < 0)
		return call_error(c, PS_E_VALUE, "cursor must not be negative");
	if (count < 1)
		return call_error(c, PS_E_VALUE, "count must be at least 1");
	if (count > PS_PAGE_MAX_ITEMS)
		count = PS_PAGE_MAX_ITEMS;
	pos = end = (uint64_t)cursor < l->len ? (size_t)cursor : l->len;
	while (end < l->len && end - pos < (size_t)count && bytes < PS_PAGE_MAX_BYTES)
		bytes += l->items[end++]->len;
	msgpack_pack_array(&c->pk, 2);
	msgpack_pack_uint64(&c->pk, end < l->len ? end : 0);
	return list_put(c, l, (int64_t)pos, 1, end - pos);
}

static const struct method list_methods[] = {
	{ "append", list_append },
	{ "extend", list_extend },
	{ "insert", list_insert },
	{ "pop", list_pop },
	{ "remove", list_remove },
	{ "index", list_index },
	{ "count", list_count },
	{ "reverse", list_reverse },
	{ "sort", list_sort },
	{ "len", list_len },
	{ "contains", list_contains },
	{ "getitem", list_getitem },
	{ "setitem", list_setitem },
	{ "delitem", list_delitem },
	{ "getslice", list_getslice },
	{ "setslice", list_setslice },
	{ "delslice", list_delslice },
	{ "clear", list_clear },
	{ "copy", list_copy },
	{ "scan", list_scan },
	{ NULL, NULL },
};

const struct type list_type = {
	.name = "list",
	.create = list_create,
	.destroy = list_destroy,
	.size = list_size,
	.methods = list_methods,
	.describe = list_describe,
};
