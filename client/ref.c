/*
 * References: a shared object stored inside another one's values (a dict
 * holding a list). On the wire a reference is MessagePack ext type 1 with
 * the object's id as 8 big-endian bytes, always as fixext 8
 * (proto/PROTOCOL.md, "Objects, handles and references"). Here: encoding
 * and decoding one, storing one through the typed helpers, and turning one
 * read back into a proxy that holds its own handle on the object.
 */
#include <string.h>

#include "internal.h"

size_t ps_ref_pack(uint64_t id, void *out)
{
	uint8_t *p = out;

	p[0] = 0xd7;            /* fixext 8 */
	p[1] = PS_EXT_REF;
	for (int i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)(id >> (56 - 8 * i));
	return PS_REF_LEN;
}

int ps_ref_decode(const void *p, size_t len, uint64_t *id)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	if (b == NULL || len != PS_REF_LEN || b[0] != 0xd7 || b[1] != PS_EXT_REF)
		return -1;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[2 + i];
	if (id != NULL)
		*id = v;
	return 0;
}

/* The reference a reply holds; frees r. Another value is PS_ERR_ARG,
 * code TypeError, as for the other typed getters. */
static int value_ref(ps_ctx *ctx, struct ps_reply *r, uint64_t *id)
{
	struct ps_mp_tok t;
	int ok = ps_ref_decode(r->data, r->len, id) == 0;

	if (!ok && ps_mp_token(r->data, r->len, &t) != 1)
		t.type = PS_MP_NIL;
	ps_reply_free(r);
	if (!ok)
		return ps_fail(ctx, PS_ERR_ARG, "TypeError", "TypeError: value is %s, not a reference",
			       ps_mp_type_name(&t));
	return 0;
}

/* ---- storing ---- */

int ps_dict_set_ref(ps_dict *d, const char *key, uint64_t id)
{
	uint8_t ref[PS_REF_LEN];
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_str(&r, "key", key);
	ps_req_value(&r, "value", ref, ps_ref_pack(id, ref));
	return ps_req_call(&r, "dict.set", NULL);
}

int ps_list_append_ref(ps_list *l, uint64_t id)
{
	uint8_t ref[PS_REF_LEN];
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_value(&r, "value", ref, ps_ref_pack(id, ref));
	return ps_req_call(&r, "list.append", NULL);
}

int ps_list_set_ref(ps_list *l, int64_t index, uint64_t id)
{
	uint8_t ref[PS_REF_LEN];
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_value(&r, "value", ref, ps_ref_pack(id, ref));
	return ps_req_call(&r, "list.setitem", NULL);
}

/* ---- reading ---- */

int ps_dict_get_ref(ps_dict *d, const char *key, uint64_t *id)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, d) < 0)
		return -1;
	ps_req_str(&r, "key", key);
	ps_req_need(&r, id != NULL, "output pointer");
	if (ps_req_call(&r, "dict.getitem", &rep) < 0)
		return -1;
	return value_ref(r.ctx, &rep, id);
}

int ps_list_get_ref(ps_list *l, int64_t index, uint64_t *id)
{
	struct ps_reply rep;
	struct ps_req r;

	if (ps_req_begin(&r, l) < 0)
		return -1;
	ps_req_int(&r, index);
	ps_req_need(&r, id != NULL, "output pointer");
	if (ps_req_call(&r, "list.getitem", &rep) < 0)
		return -1;
	return value_ref(r.ctx, &rep, id);
}

/* The nested proxies: read the reference, then take a handle of their own,
 * so the object outlives its removal from the container while the proxy
 * lives. */

ps_dict *ps_dict_get_dict(ps_dict *d, const char *key)
{
	uint64_t id;

	if (ps_dict_get_ref(d, key, &id) < 0)
		return NULL;
	return ps_dict_attach(ps_dict_obj(d)->ctx, id);
}

ps_list *ps_dict_get_list(ps_dict *d, const char *key)
{
	uint64_t id;

	if (ps_dict_get_ref(d, key, &id) < 0)
		return NULL;
	return ps_list_attach(ps_dict_obj(d)->ctx, id);
}

ps_dict *ps_list_get_dict(ps_list *l, int64_t index)
{
	uint64_t id;

	if (ps_list_get_ref(l, index, &id) < 0)
		return NULL;
	return ps_dict_attach(ps_list_obj(l)->ctx, id);
}

ps_list *ps_list_get_list(ps_list *l, int64_t index)
{
	uint64_t id;

	if (ps_list_get_ref(l, index, &id) < 0)
		return NULL;
	return ps_list_attach(ps_list_obj(l)->ctx, id);
}
