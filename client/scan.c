/*
 * Paged reads of big containers: dict.scan and list.scan answer one
 * bounded page and a cursor for the next (proto/PROTOCOL.md, "Paging"),
 * so walking a dict of millions of entries never builds one giant reply.
 * ps_dict_iter walks a whole dict page by page, one entry at a time.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The wire names of enum ps_dict_view. */
static const char *const view_names[] = { "keys", "values", "items" };

/* Splits a [next, array] answer: *next, and the array moved to the front
 * of the reply's buffer. A daemon that answers another shape breaks the
 * connection, as for every result whose type the protocol fixes. */
static int page_split(ps_ctx *ctx, struct ps_reply *rep, uint64_t *next)
{
	struct ps_mp_tok top, cur, arr;
	size_t off = 0;

	if (ps_mp_token(rep->data, rep->len, &top) != 1 || top.type != PS_MP_ARRAY || top.v.n != 2)
		goto bad;
	off = top.size;
	if (ps_mp_token(rep->data + off, rep->len - off, &cur) != 1 || cur.type != PS_MP_UINT)
		goto bad;
	off += cur.size;
	if (ps_mp_token(rep->data + off, rep->len - off, &arr) != 1 || arr.type != PS_MP_ARRAY)
		goto bad;
	*next = cur.v.u;
	memmove(rep->data, rep->data + off, rep->len - off);
	rep->len -= off;
	return 0;
bad:
	ps_reply_free(rep);
	return ps_fail_stick(ctx, PS_ERR_PROTOCOL, "", "daemon answered a scan with something other than [cursor, array]");
}

/* Sends a scan prepared in r (id and cursor already in) and hands the page
 * to the caller. */
static int scan_call(struct ps_req *r, const char *method, uint64_t *next, void **page, size_t *len)
{
	struct ps_reply rep;

	ps_req_need(r, next != NULL && page != NULL && len != NULL, "output pointer");
	if (ps_req_call(r, method, &rep) < 0 || page_split(r->ctx, &rep, next) < 0)
		return -1;
	return ps_reply_take(&rep, page, len);
}

static uint64_t page_count(size_t count)
{
	return count == 0 || count > PS_PAGE_MAX_ITEMS ? PS_PAGE_MAX_ITEMS : count;
}

int ps_dict_scan(ps_dict *d, uint64_t cursor, size_t count, int what, uint64_t *next, void **page, size_t *len)
{
	struct ps_req r;

	if (d != NULL && (what < PS_DICT_KEYS || what > PS_DICT_ITEMS))
		return ps_fail(ps_dict_obj(d)->ctx, PS_ERR_ARG, "", "invalid argument: what is not a ps_dict_view");
	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_uint(&r, cursor);
	ps_req_uint(&r, page_count(count));
	ps_req_str(&r, "what", view_names[what]);
	return scan_call(&r, "dict.scan", next, page, len);
}

int ps_list_scan(ps_list *l, uint64_t cursor, size_t count, uint64_t *next, void **page, size_t *len)
{
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_uint(&r, cursor);
	ps_req_uint(&r, page_count(count));
	return scan_call(&r, "list.scan", next, page, len);
}

/* ---- walking a whole dict ---- */

struct ps_dict_iter {
	ps_dict *d;
	int what;
	size_t count;
	uint64_t cursor;        /* of the next page */
	bool last;              /* the page held is the last one */
	uint8_t *page;          /* the encoded array of the current page */
	size_t len, off;        /* off: the next entry in page */
	uint32_t left;          /* entries of the page not yet returned */
};

ps_dict_iter *ps_dict_iter_new(ps_dict *d, int what, size_t count)
{
	ps_dict_iter *it;
	struct ps_obj *o = ps_dict_obj(d);

	if (o == NULL)
		return NULL;
	if (what < PS_DICT_KEYS || what > PS_DICT_ITEMS) {
		ps_fail(o->ctx, PS_ERR_ARG, "", "invalid argument: what is not a ps_dict_view");
		return NULL;
	}
	it = calloc(1, sizeof *it);
	if (it == NULL) {
		ps_fail(o->ctx, PS_ERR_OOM, "", "out of memory");
		return NULL;
	}
	it->d = d;
	it->what = what;
	it->count = count;
	return it;
}

/* Fetches the next page. Returns 1, 0 when the walk is over, -1 on error
 * (the iterator is unchanged, so the caller may try again). */
static int iter_fetch(ps_dict_iter *it)
{
	struct ps_mp_tok t;
	uint64_t next;
	void *page;
	size_t len;

	if (it->last)
		return 0;
	if (ps_dict_scan(it->d, it->cursor, it->count, it->what, &next, &page, &len) < 0)
		return -1;
	free(it->page);
	it->page = page;
	it->len = len;
	ps_mp_token(it->page, it->len, &t);    /* page_split checked it */
	it->off = t.size;
	it->left = t.v.n;
	it->cursor = next;
	it->last = next == 0;
	return 1;
}

/* The next encoded value in the page. */
static const void *iter_take(ps_dict_iter *it, size_t *len)
{
	const uint8_t *p = it->page + it->off;

	*len = ps_mp_skip(p, it->len - it->off);
	it->off += *len;
	return p;
}

int ps_dict_iter_next(ps_dict_iter *it, const void **key, size_t *klen, const void **val, size_t *vlen)
{
	const void *k = NULL, *v = NULL;
	size_t kl = 0, vl = 0;
	int r;

	if (it == NULL)
		return -1;
	while (it->left == 0) {
		r = iter_fetch(it);
		if (r <= 0)
			return r;
	}
	if (it->what == PS_DICT_ITEMS) {
		struct ps_mp_tok t;
		if (ps_mp_token(it->page + it->off, it->len - it->off, &t) != 1 || t.type != PS_MP_ARRAY || t.v.n != 2)
			return ps_fail_stick(ps_dict_obj(it->d)->ctx, PS_ERR_PROTOCOL, "",
					     "daemon sent a dict.scan item that is not a [key, value] pair");
		it->off += t.size;      /* the pair's array header */
	}
	if (it->what != PS_DICT_VALUES)
		k = iter_take(it, &kl);
	if (it->what != PS_DICT_KEYS)
		v = iter_take(it, &vl);
	it->left--;
	if (key != NULL)
		*key = k;
	if (klen != NULL)
		*klen = kl;
	if (val != NULL)
		*val = v;
	if (vlen != NULL)
		*vlen = vl;
	return 1;
}

void ps_dict_iter_free(ps_dict_iter *it)
{
	if (it == NULL)
		return;
	free(it->page);
	free(it);
}
