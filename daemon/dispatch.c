/*
 * Request dispatch. Global functions (ping, open, create, ...) are listed
 * here; "type.method" names go to the type's method table.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "conn.h"
#include "daemon.h"
#include "dispatch.h"
#include "log.h"
#include "registry.h"
#include "stats.h"
#include "types.h"
#include "val.h"
#include "wait.h"

/* Largest reply buffer a connection keeps between requests. */
#define DISPATCH_REPLY_KEEP (64 * 1024)

struct global {
	const char *name;
	int (*fn)(struct call *c);
};

static int g_ping(struct call *c)
{
	if (call_no_more(c) < 0)
		return -1;
	ps_mp_pack_cstr(&c->pk, "pong");
	return 0;
}

static int arg_type(struct call *c, const struct type **type)
{
	const char *name;
	size_t len;

	if (call_arg_str(c, "type", &name, &len) < 0)
		return -1;
	*type = types_find(name, len);
	if (*type == NULL)
		return call_error(c, PS_E_TYPE, "unknown type '%.*s'", (int)(len > 64 ? 64 : len), name);
	return 0;
}

/* The creation arguments: one array whose elements the type reads. */
static int take_create_args(struct call *c)
{
	struct ps_mp_tok t;
	const uint8_t *v;
	size_t len;

	if (!call_has_arg(c)) {
		c->args.left = 0;
		return 0;
	}
	if (call_arg_raw(c, "args", &v, &len) < 0 || call_no_more(c) < 0)
		return -1;
	if (ps_mp_token(v, len, &t) != 1 || (t.type != PS_MP_ARRAY && t.type != PS_MP_NIL))
		return call_error(c, PS_E_TYPE, "args must be an array");
	c->args.p = v + t.size;
	c->args.n = len - t.size;
	c->args.left = t.type == PS_MP_ARRAY ? t.v.n : 0;
	return 0;
}

/* Makes a new object of type from the pending args; the connection holds
 * the first handle. */
static struct object *new_object(struct call *c, const struct type *type)
{
	struct object *obj;
	void *data;

	if (take_create_args(c) < 0)
		return NULL;
	data = type->create(c);
	if (data == NULL)
		return NULL;
	obj = registry_add(c->reg, type, data);
	if (obj == NULL) {
		type->destroy(c->reg, data);
		call_error(c, PS_E_NOMEM, "out of memory creating a %s", type->name);
		return NULL;
	}
	if (conn_hold(c->conn, obj) < 0) {
		registry_incref(c->reg, obj);
		registry_decref(c->reg, obj);
		call_error(c, PS_E_NOMEM, "out of memory creating a %s", type->name);
		return NULL;
	}
	return obj;
}

static int g_create(struct call *c)
{
	const struct type *type;
	struct object *obj;

	if (arg_type(c, &type) < 0 || (obj = new_object(c, type)) == NULL)
		return -1;
	call_result_uint(c, obj->id);
	return 0;
}

static int g_open(struct call *c)
{
	const struct type *type;
	struct object *obj;
	const char *name;
	size_t len;
	bool create = true;

	if (arg_type(c, &type) < 0 || call_arg_str(c, "name", &name, &len) < 0 ||
	    call_arg_opt_bool(c, "create", &create) < 0)
		return -1;
	if (len == 0 || len > PS_MAX_NAME)
		return call_error(c, PS_E_VALUE, "a name is 1 to %d bytes long", PS_MAX_NAME);
	if (!ps_utf8_valid((const uint8_t *)name, len))
		return call_error(c, PS_E_VALUE, "a name must be valid UTF-8");
	obj = registry_find(c->reg, name, len);
	if (obj != NULL) {
		if (obj->type != type)
			return call_error(c, PS_E_EXISTS, "'%.*s' is a %s, not a %s", (int)len, name,
					  obj->type->name, type->name);
		if (conn_hold(c->conn, obj) < 0)
			return call_error(c, PS_E_NOMEM, "out of memory");
		call_result_uint(c, obj->id);
		return 0;
	}
	if (!create)
		return call_error(c, PS_E_NOSUCHOBJECT, "no object named '%.*s'", (int)len, name);
	obj = new_object(c, type);
	if (obj == NULL)
		return -1;
	if (registry_name(c->reg, obj, name, len) < 0) {
		conn_release(c->conn, obj);
		return call_error(c, PS_E_NOMEM, "out of memory naming an object");
	}
	call_result_uint(c, obj->id);
	return 0;
}

static int arg_object(struct call *c, struct object **obj)
{
	int64_t id;

	if (call_arg_int(c, "id", &id) < 0)
		return -1;
	*obj = registry_get(c->reg, (uint64_t)id);
	if (*obj == NULL)
		return call_error(c, PS_E_NOSUCHOBJECT, "no object with id %lld", (long long)id);
	return 0;
}

static int g_retain(struct call *c)
{
	struct object *obj;

	if (arg_object(c, &obj) < 0 || call_no_more(c) < 0)
		return -1;
	if (conn_hold(c->conn, obj) < 0)
		return call_error(c, PS_E_NOMEM, "out of memory");
	call_result_nil(c);
	return 0;
}

static int g_release(struct call *c)
{
	struct object *obj;

	if (arg_object(c, &obj) < 0 || call_no_more(c) < 0)
		return -1;
	if (conn_release(c->conn, obj) < 0)
		return call_error(c, PS_E_NOSUCHOBJECT, "this connection holds no handle on object %llu",
				  (unsigned long long)obj->id);
	call_result_nil(c);
	return 0;
}

static int g_delete(struct call *c)
{
	struct object *obj;
	const char *name;
	size_t len;

	if (call_arg_str(c, "name", &name, &len) < 0 || call_no_more(c) < 0)
		return -1;
	obj = registry_find(c->reg, name, len);
	if (obj == NULL)
		return call_error(c, PS_E_NOSUCHOBJECT, "no object named '%.*s'", (int)(len > 64 ? 64 : len), name);
	registry_unname(c->reg, obj);
	call_result_nil(c);
	return 0;
}

static int g_objects(struct call *c)
{
	struct odict_entry *e;
	size_t pos = 0;

	if (call_no_more(c) < 0)
		return -1;
	msgpack_pack_array(&c->pk, (uint32_t)c->reg->by_name.count);
	while ((e = odict_next(&c->reg->by_name, &pos)) != NULL) {
		struct object *obj = e->value;
		msgpack_pack_array(&c->pk, 4);
		msgpack_pack_str(&c->pk, e->key->len);
		msgpack_pack_str_body(&c->pk, e->key->data, e->key->len);
		ps_mp_pack_cstr(&c->pk, obj->type->name);
		msgpack_pack_uint64(&c->pk, obj->id);
		msgpack_pack_uint64(&c->pk, obj->type->size(obj->data));
	}
	return 0;
}

static int g_typeof(struct call *c)
{
	struct object *obj;

	if (arg_object(c, &obj) < 0 || call_no_more(c) < 0)
		return -1;
	ps_mp_pack_cstr(&c->pk, obj->type->name);
	return 0;
}

static const struct global globals[] = {
	{ "ping", g_ping },
	{ "open", g_open },
	{ "create", g_create },
	{ "retain", g_retain },
	{ "release", g_release },
	{ "delete", g_delete },
	{ "objects", g_objects },
	{ "typeof", g_typeof },
	{ "info", stats_info },
	{ "describe", stats_describe },
};

static int run_method(struct call *c, const uint8_t *name, size_t len)
{
	const uint8_t *dot = memchr(name, '.', len);
	const struct type *type;
	const struct method *m;
	struct object *obj;
	int r;

	if (dot == NULL) {
		for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
			if (strlen(globals[i].name) == len && memcmp(globals[i].name, name, len) == 0)
				return globals[i].fn(c);
		goto unknown;
	}
	type = types_find((const char *)name, (size_t)(dot - name));
	if (type == NULL)
		goto unknown;
	m = types_method(type, (const char *)dot + 1, (size_t)(name + len - dot - 1));
	if (m == NULL)
		goto unknown;
	if (arg_object(c, &obj) < 0)
		return -1;
	if (obj->type != type)
		return call_error(c, PS_E_TYPE, "object %llu is a %s, not a %s", (unsigned long long)obj->id,
				  obj->type->name, type->name);
	c->obj = obj;
	/* A method may drop the last reference to its own object (a value it
	 * removes referred to an object that referred back to this one): hold
	 * one for the duration so the object dies after the method, not in it. */
	registry_incref(c->reg, obj);
	r = m->fn(c, obj->data);
	registry_decref(c->reg, obj);
	return r;
unknown:
	return call_error(c, PS_E_NOSUCHMETHOD, "no method '%.*s'", (int)(len > 64 ? 64 : len), (const char *)name);
}

/* Writes the reply to p[0..n) to out, which holds nothing else. */
static void build_reply(struct daemon *d, struct conn *conn, const uint8_t *p, size_t n, struct ps_buf *out)
{
	struct ps_rpc_msg m;
	struct call c;
	char err[128];
	bool msgid_ok;
	size_t start = out->len;
	int r;

	/* Everything but the message text, which call_error writes before
	 * anything reads it: a request costs no 256-byte memset. */
	memset(&c, 0, offsetof(struct call, msg));
	c.msg[0] = '\0';
	ps_mp_packer(&c.pk, out);
	if (ps_rpc_decode(p, n, &m, &msgid_ok, err, sizeof err) < 0) {
		if (msgid_ok)
			ps_rpc_put_error(&c.pk, m.msgid, PS_E_PROTOCOL, err);
		else
			ps_rpc_put_error_notify(&c.pk, PS_E_PROTOCOL, err);
		return;
	}
	if (m.type != PS_MSG_REQUEST) {
		/* Notifications ask for nothing back; responses are not ours. */
		if (m.type == PS_MSG_RESPONSE)
			ps_rpc_put_error_notify(&c.pk, PS_E_PROTOCOL, "clients do not send responses");
		return;
	}
	d->stats.requests++;
	c.d = d;
	c.reg = &d->reg;
	c.conn = conn;
	c.args = m.params;
	c.out = out;
	c.msgid = m.msgid;
	ps_rpc_put_result_hdr(&c.pk, m.msgid);
	r = run_method(&c, m.method, m.method_len);
	if (r == CALL_PARKED) {
		out->len = start;
		return;
	} else if (r < 0) {
		out->len = start;
	} else if (out->oom) {
		out->len = start;
		call_error(&c, PS_E_NOMEM, "out of memory building the reply");
	} else if (out->len - start > d->cfg.max_message) {
		call_error(&c, PS_E_TOOLARGE, "reply of %zu bytes exceeds the maximum message size (%zu)",
			   out->len - start, d->cfg.max_message);
		out->len = start;
	} else {
		return;
	}
	out->oom = 0;
	ps_rpc_put_error(&c.pk, m.msgid, c.code, c.msg);
}

void dispatch_message(struct daemon *d, struct conn *conn, const uint8_t *p, size_t n, struct ps_buf *out)
{
	struct ps_buf *reply = &conn->reply;
	msgpack_packer pk;

	/* The reply is built apart from out: the method may answer parked
	 * calls of this same connection (a release handing the lock to the
	 * connection's own waiter), and those replies go to out while this
	 * one is being written. Built in place they would land inside it. */
	reply->len = reply->pos = 0;
	reply->oom = 0;
	build_reply(d, conn, p, n, reply);
	if (reply->len > 0 && ps_buf_append(out, reply->data, reply->len) < 0) {
		struct ps_rpc_msg m;
		char err[8];
		bool msgid_ok;

		out->oom = 0;
		ps_mp_packer(&pk, out);
		if (ps_rpc_decode(p, n, &m, &msgid_ok, err, sizeof err) == 0 && m.type == PS_MSG_REQUEST)
			ps_rpc_put_error(&pk, m.msgid, PS_E_NOMEM, "out of memory queueing the reply");
		out->oom = 0;
	}
	/* One huge reply does not pin its buffer for the connection's life. */
	if (reply->cap > DISPATCH_REPLY_KEEP)
		ps_buf_free(reply);
}
