/*
 * MessagePack-RPC framing on top of the token reader.
 */
#include <stdio.h>
#include <string.h>

#include "ps_rpc.h"

static int fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

/* The msgid at p[0..n) in any of its unsigned forms; returns its length,
 * 0 when it is something else (the general path then decides). */
static size_t get_msgid(const uint8_t *p, size_t n, uint32_t *msgid)
{
	if (n >= 1 && p[0] <= 0x7f) {
		*msgid = p[0];
		return 1;
	}
	if (n >= 2 && p[0] == 0xcc) {
		*msgid = p[1];
		return 2;
	}
	if (n >= 3 && p[0] == 0xcd) {
		*msgid = (uint32_t)p[1] << 8 | p[2];
		return 3;
	}
	if (n >= 5 && p[0] == 0xce) {
		*msgid = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
		return 5;
	}
	return 0;
}

/* The common shapes, read without the token reader: a request with a
 * short method and a few params, or a response without an error. Returns
 * 1 when p is one of them (m filled), 0 to take the general path. */
static int decode_fast(const uint8_t *p, size_t n, struct ps_rpc_msg *m)
{
	size_t off = 2, k;

	if (n < 5 || p[0] != 0x94 || p[1] > PS_MSG_RESPONSE)
		return 0;
	k = get_msgid(p + off, n - off, &m->msgid);
	if (k == 0)
		return 0;
	off += k;
	if (p[1] == PS_MSG_RESPONSE) {
		if (off >= n || p[off] != 0xc0)
			return 0;
		k = ps_mp_skip(p + off + 1, n - off - 1);
		if (k == 0)
			return 0;
		m->type = PS_MSG_RESPONSE;
		m->error = p + off;
		m->error_len = 1;
		m->result = p + off + 1;
		m->result_len = k;
		return 1;
	}
	if (off >= n || (p[off] & 0xe0) != 0xa0)
		return 0;
	k = p[off] & 0x1f;
	if (n - off - 1 <= k || (p[off + 1 + k] & 0xf0) != 0x90)
		return 0;
	m->type = PS_MSG_REQUEST;
	m->method = p + off + 1;
	m->method_len = k;
	off += 1 + k;
	m->params.left = p[off] & 0x0f;
	m->params.p = p + off + 1;
	m->params.n = n - off - 1;
	return 1;
}

int ps_rpc_decode(const uint8_t *p, size_t n, struct ps_rpc_msg *m, bool *msgid_ok, char *err, size_t errlen)
{
	struct ps_mp_tok t;
	size_t off;

	memset(m, 0, sizeof *m);
	if (decode_fast(p, n, m)) {
		*msgid_ok = true;
		return 0;
	}
	memset(m, 0, sizeof *m);
	*msgid_ok = false;
	if (ps_mp_token(p, n, &t) != 1 || t.type != PS_MP_ARRAY)
		return fail(err, errlen, "message is not an array");
	off = t.size;
	if (t.v.n < 3 || t.v.n > 4)
		return fail(err, errlen, "message array must have 3 or 4 elements");
	uint32_t count = t.v.n;
	if (ps_mp_token(p + off, n - off, &t) != 1 || t.type != PS_MP_UINT || t.v.u > 2)
		return fail(err, errlen, "message type must be 0, 1 or 2");
	m->type = (int)t.v.u;
	off += t.size;
	if (m->type == PS_MSG_NOTIFY) {
		if (count != 3)
			return fail(err, errlen, "notification must be [2, method, params]");
	} else {
		if (count != 4)
			return fail(err, errlen, "request and response must have 4 elements");
		if (ps_mp_token(p + off, n - off, &t) != 1 || t.type != PS_MP_UINT || t.v.u > UINT32_MAX)
			return fail(err, errlen, "msgid must be an unsigned 32-bit integer");
		m->msgid = (uint32_t)t.v.u;
		*msgid_ok = true;
		off += t.size;
	}
	if (m->type == PS_MSG_RESPONSE) {
		m->error = p + off;
		m->error_len = ps_mp_skip(p + off, n - off);
		if (m->error_len == 0)
			return fail(err, errlen, "truncated response");
		off += m->error_len;
		m->result = p + off;
		m->result_len = ps_mp_skip(p + off, n - off);
		if (m->result_len == 0)
			return fail(err, errlen, "truncated response");
		return 0;
	}
	if (ps_mp_token(p + off, n - off, &t) != 1 || t.type != PS_MP_STR)
		return fail(err, errlen, "method must be a str");
	m->method = t.data;
	m->method_len = t.v.n;
	off += t.size;
	if (ps_mp_token(p + off, n - off, &t) != 1 || t.type != PS_MP_ARRAY)
		return fail(err, errlen, "params must be an array");
	off += t.size;
	m->params.p = p + off;
	m->params.n = n - off;
	m->params.left = t.v.n;
	return 0;
}

int ps_args_next(struct ps_args *a, const uint8_t **v, size_t *len)
{
	size_t k;

	if (a->left == 0)
		return -1;
	k = ps_mp_skip(a->p, a->n);
	if (k == 0)
		return -1;
	*v = a->p;
	*len = k;
	a->p += k;
	a->n -= k;
	a->left--;
	return 0;
}

int ps_args_tok(struct ps_args *a, struct ps_mp_tok *t)
{
	const uint8_t *v;
	size_t len;

	if (ps_args_next(a, &v, &len) < 0)
		return -1;
	if (ps_mp_token(v, len, t) != 1)
		return -1;
	return 0;
}

/* msgid as msgpack_pack_uint32 writes it (the shortest form) at h;
 * returns its length. */
static size_t put_msgid(uint8_t *h, uint32_t msgid)
{
	if (msgid < 0x80) {
		h[0] = (uint8_t)msgid;
		return 1;
	}
	if (msgid < 0x100) {
		h[0] = 0xcc;
		h[1] = (uint8_t)msgid;
		return 2;
	}
	if (msgid < 0x10000) {
		h[0] = 0xcd;
		h[1] = (uint8_t)(msgid >> 8);
		h[2] = (uint8_t)msgid;
		return 3;
	}
	h[0] = 0xce;
	for (int i = 0; i < 4; i++)
		h[1 + i] = (uint8_t)(msgid >> (24 - 8 * i));
	return 5;
}

void ps_rpc_put_request(msgpack_packer *pk, uint32_t msgid, const char *method, uint32_t nparams)
{
	size_t mlen = strlen(method);

	/* The usual short method and few params: the header in one write. */
	if (mlen < 32 && nparams < 16) {
		uint8_t h[48];
		size_t k = 0;
		h[k++] = 0x94;
		h[k++] = PS_MSG_REQUEST;
		k += put_msgid(h + k, msgid);
		h[k++] = (uint8_t)(0xa0 | mlen);
		memcpy(h + k, method, mlen);
		k += mlen;
		h[k++] = (uint8_t)(0x90 | nparams);
		pk->callback(pk->data, (const char *)h, k);
		return;
	}
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PS_MSG_REQUEST);
	msgpack_pack_uint32(pk, msgid);
	ps_mp_pack_cstr(pk, method);
	msgpack_pack_array(pk, nparams);
}

/* One write instead of four: every reply starts with this. */
void ps_rpc_put_result_hdr(msgpack_packer *pk, uint32_t msgid)
{
	uint8_t h[8];
	size_t k = 0;

	h[k++] = 0x94;
	h[k++] = PS_MSG_RESPONSE;
	k += put_msgid(h + k, msgid);
	h[k++] = 0xc0;
	pk->callback(pk->data, (const char *)h, k);
}

static void put_error_obj(msgpack_packer *pk, enum ps_code code, const char *msg)
{
	msgpack_pack_array(pk, 2);
	ps_mp_pack_cstr(pk, ps_code_name(code));
	ps_mp_pack_cstr(pk, msg);
}

void ps_rpc_put_error(msgpack_packer *pk, uint32_t msgid, enum ps_code code, const char *msg)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PS_MSG_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	put_error_obj(pk, code, msg);
	msgpack_pack_nil(pk);
}

void ps_rpc_put_error_notify(msgpack_packer *pk, enum ps_code code, const char *msg)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PS_MSG_NOTIFY);
	ps_mp_pack_cstr(pk, "error");
	put_error_obj(pk, code, msg);
}

static void copy_str(char *dst, size_t cap, const struct ps_mp_tok *t)
{
	if (cap == 0)
		return;
	size_t k = t->v.n < cap - 1 ? t->v.n : cap - 1;

	memcpy(dst, t->data, k);
	dst[k] = '\0';
}

int ps_rpc_read_error(const uint8_t *p, size_t n, int *code, char *name, size_t namelen, char *msg, size_t msglen)
{
	struct ps_mp_tok t, c, s;
	size_t off;

	if (ps_mp_token(p, n, &t) != 1 || t.type != PS_MP_ARRAY || t.v.n != 2)
		return -1;
	off = t.size;
	if (ps_mp_token(p + off, n - off, &c) != 1 || c.type != PS_MP_STR)
		return -1;
	off += c.size;
	if (ps_mp_token(p + off, n - off, &s) != 1 || s.type != PS_MP_STR)
		return -1;
	*code = ps_code_from_name((const char *)c.data, c.v.n);
	if (*code < 0)
		*code = PS_E_PROTOCOL;
	copy_str(name, namelen, &c);
	copy_str(msg, msglen, &s);
	return 0;
}
