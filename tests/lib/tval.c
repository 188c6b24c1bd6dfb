/*
 * Text notation for MessagePack values in tests.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "ps_mp.h"
#include "tval.h"

#define RING 64

static void *ring[RING];
static unsigned ring_next;

/* Takes ownership of p: freed when the ring comes round again. */
static void *keep(void *p)
{
	free(ring[ring_next % RING]);
	ring[ring_next % RING] = p;
	ring_next++;
	return p;
}

struct parser {
	const char *s;
	const char *text;
	msgpack_packer pk;
	struct ps_buf *out;
};

static void syntax(const struct parser *ps, const char *what)
{
	fail_msg("tval: %s at offset %d in: %s", what, (int)(ps->s - ps->text), ps->text);
}

static void skip_ws(struct parser *ps)
{
	while (isspace((unsigned char)*ps->s))
		ps->s++;
}

static void parse_value(struct parser *ps);

/* A quoted string with \" \\ \n \t and \xNN escapes, into buf. */
static size_t parse_quoted(struct parser *ps, char *buf, size_t cap)
{
	size_t n = 0;

	if (*ps->s != '"')
		syntax(ps, "expected '\"'");
	ps->s++;
	while (*ps->s != '"') {
		char c = *ps->s++;

		if (c == '\0')
			syntax(ps, "unterminated string");
		if (c == '\\') {
			c = *ps->s++;
			if (c == 'n') {
				c = '\n';
			} else if (c == 't') {
				c = '\t';
			} else if (c == 'x') {
				unsigned v;

				if (sscanf(ps->s, "%2x", &v) != 1)
					syntax(ps, "bad \\x escape");
				c = (char)v;
				ps->s += 2;
			} else if (c != '"' && c != '\\') {
				syntax(ps, "unknown escape");
			}
		}
		if (n + 1 >= cap)
			syntax(ps, "string too long");
		buf[n++] = c;
	}
	ps->s++;
	buf[n] = '\0';
	return n;
}

static void parse_hex(struct parser *ps, const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			syntax(ps, "bad hex");
		out[i] = (uint8_t)v;
	}
}

static void parse_seq(struct parser *ps, char close, int pairs)
{
	/* Elements are packed into a separate buffer: the count comes first. */
	struct ps_buf body, *saved = ps->out;
	msgpack_packer saved_pk = ps->pk;
	uint32_t count = 0;

	ps_buf_init(&body);
	ps->out = &body;
	ps_mp_packer(&ps->pk, &body);
	ps->s++;
	skip_ws(ps);
	while (*ps->s != close) {
		parse_value(ps);
		skip_ws(ps);
		if (pairs) {
			if (*ps->s != ':')
				syntax(ps, "expected ':'");
			ps->s++;
			parse_value(ps);
			skip_ws(ps);
		}
		count++;
		if (*ps->s == ',') {
			ps->s++;
			skip_ws(ps);
		} else if (*ps->s != close) {
			syntax(ps, "expected ',' or the closing bracket");
		}
	}
	ps->s++;
	ps->out = saved;
	ps->pk = saved_pk;
	if (pairs)
		msgpack_pack_map(&ps->pk, count);
	else
		msgpack_pack_array(&ps->pk, count);
	ps_buf_append(ps->out, body.data, body.len);
	ps_buf_free(&body);
}

static void parse_value(struct parser *ps)
{
	char buf[4096];

	skip_ws(ps);
	if (*ps->s == '[') {
		parse_seq(ps, ']', 0);
	} else if (*ps->s == '{') {
		parse_seq(ps, '}', 1);
	} else if (*ps->s == '"') {
		size_t n = parse_quoted(ps, buf, sizeof buf);

		msgpack_pack_str(&ps->pk, n);
		msgpack_pack_str_body(&ps->pk, buf, n);
	} else if (ps->s[0] == 'b' && ps->s[1] == '"') {
		uint8_t bin[2048];
		size_t n;

		ps->s++;
		n = parse_quoted(ps, buf, sizeof buf);
		if (n % 2)
			syntax(ps, "odd hex length");
		parse_hex(ps, buf, n, bin);
		msgpack_pack_bin(&ps->pk, n / 2);
		msgpack_pack_bin_body(&ps->pk, bin, n / 2);
	} else if (strncmp(ps->s, "nil", 3) == 0) {
		ps->s += 3;
		msgpack_pack_nil(&ps->pk);
	} else if (strncmp(ps->s, "true", 4) == 0) {
		ps->s += 4;
		msgpack_pack_true(&ps->pk);
	} else if (strncmp(ps->s, "false", 5) == 0) {
		ps->s += 5;
		msgpack_pack_false(&ps->pk);
	} else if (strncmp(ps->s, "ref(", 4) == 0) {
		char *end;
		unsigned long long id = strtoull(ps->s + 4, &end, 10);

		if (*end != ')')
			syntax(ps, "expected ref(N)");
		ps->s = end + 1;
		ps_mp_pack_ref(&ps->pk, id);
	} else if (strncmp(ps->s, "ext(", 4) == 0) {
		char *end;
		long type = strtol(ps->s + 4, &end, 10);
		uint8_t data[2048];
		size_t n;

		ps->s = end;
		if (*ps->s != ',')
			syntax(ps, "expected ext(T, \"hex\")");
		ps->s++;
		skip_ws(ps);
		n = parse_quoted(ps, buf, sizeof buf);
		parse_hex(ps, buf, n, data);
		if (*ps->s != ')')
			syntax(ps, "expected ')'");
		ps->s++;
		msgpack_pack_ext(&ps->pk, n / 2, (int8_t)type);
		msgpack_pack_ext_body(&ps->pk, data, n / 2);
	} else if (*ps->s == '-' || isdigit((unsigned char)*ps->s)) {
		const char *start = ps->s;
		char *end;

		ps->s += strspn(ps->s, "-+0123456789.eE");
		if (memchr(start, '.', (size_t)(ps->s - start)) || memchr(start, 'e', (size_t)(ps->s - start))) {
			double v = strtod(start, &end);

			msgpack_pack_double(&ps->pk, v);
		} else if (*start == '-') {
			msgpack_pack_int64(&ps->pk, strtoll(start, &end, 10));
		} else {
			msgpack_pack_uint64(&ps->pk, strtoull(start, &end, 10));
		}
		if (end != ps->s)
			syntax(ps, "bad number");
	} else {
		syntax(ps, "unexpected character");
	}
}

const uint8_t *tval_enc(const char *text, size_t *len)
{
	struct ps_buf out;
	struct parser ps;

	ps_buf_init(&out);
	ps.s = ps.text = text;
	ps.out = &out;
	ps_mp_packer(&ps.pk, &out);
	parse_value(&ps);
	skip_ws(&ps);
	if (*ps.s != '\0')
		syntax(&ps, "trailing text");
	if (out.oom)
		fail_msg("tval: out of memory");
	/* An empty buffer still needs an allocation to hand out. */
	if (ps_buf_reserve(&out, 1) < 0)
		fail_msg("tval: out of memory");
	*len = out.len;
	return keep(out.data);
}

/* Appends the text of the value at p to out; returns bytes used or 0. */
static size_t render(const uint8_t *p, size_t n, struct ps_buf *out, int depth)
{
	struct ps_mp_tok t;
	char num[64];
	size_t off;

	if (depth > 64 || ps_mp_token(p, n, &t) != 1)
		return 0;
	off = t.size;
	switch (t.type) {
	case PS_MP_NIL:
		ps_buf_append(out, "nil", 3);
		break;
	case PS_MP_BOOL:
		ps_buf_append(out, t.v.b ? "true" : "false", t.v.b ? 4 : 5);
		break;
	case PS_MP_UINT:
		ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)t.v.u));
		break;
	case PS_MP_INT:
		ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)t.v.i));
		break;
	case PS_MP_FLOAT: {
		int k = snprintf(num, sizeof num, "%.17g", t.v.f);

		/* Shortest form that reads back the same (1.5, not 1.5000...). */
		for (int prec = 1; prec <= 17; prec++) {
			k = snprintf(num, sizeof num, "%.*g", prec, t.v.f);
			if (strtod(num, NULL) == t.v.f)
				break;
		}
		if (strpbrk(num, ".eni") == NULL)
			k += snprintf(num + k, sizeof num - (size_t)k, ".0");
		ps_buf_append(out, num, (size_t)k);
		break;
	}
	case PS_MP_STR:
		ps_buf_append(out, "\"", 1);
		for (uint32_t i = 0; i < t.v.n; i++) {
			uint8_t c = t.data[i];

			if (c == '"' || c == '\\') {
				ps_buf_append(out, "\\", 1);
				ps_buf_append(out, &c, 1);
			} else if (c < 0x20) {
				ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "\\x%02x", c));
			} else {
				ps_buf_append(out, &c, 1);
			}
		}
		ps_buf_append(out, "\"", 1);
		break;
	case PS_MP_BIN:
	case PS_MP_EXT:
		if (t.type == PS_MP_EXT && t.ext_type == PS_EXT_REF && t.v.n == 8) {
			uint64_t id = 0;

			for (int i = 0; i < 8; i++)
				id = id << 8 | t.data[i];
			ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "ref(%llu)", (unsigned long long)id));
			break;
		}
		if (t.type == PS_MP_EXT)
			ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "ext(%d, \"", t.ext_type));
		else
			ps_buf_append(out, "b\"", 2);
		for (uint32_t i = 0; i < t.v.n; i++)
			ps_buf_append(out, num, (size_t)snprintf(num, sizeof num, "%02x", t.data[i]));
		ps_buf_append(out, t.type == PS_MP_EXT ? "\")" : "\"", t.type == PS_MP_EXT ? 2 : 1);
		break;
	case PS_MP_ARRAY:
	case PS_MP_MAP: {
		bool map = t.type == PS_MP_MAP;

		ps_buf_append(out, map ? "{" : "[", 1);
		for (uint32_t i = 0; i < t.v.n; i++) {
			size_t k;

			if (i > 0)
				ps_buf_append(out, ", ", 2);
			k = render(p + off, n - off, out, depth + 1);
			if (k == 0)
				return 0;
			off += k;
			if (map) {
				ps_buf_append(out, ": ", 2);
				k = render(p + off, n - off, out, depth + 1);
				if (k == 0)
					return 0;
				off += k;
			}
		}
		ps_buf_append(out, map ? "}" : "]", 1);
		break;
	}
	}
	return off;
}

const char *tval_text(const void *p, size_t n)
{
	struct ps_buf out;

	ps_buf_init(&out);
	if (p == NULL || render(p, n, &out, 0) != n || out.oom) {
		ps_buf_free(&out);
		return "<bad>";
	}
	ps_buf_append(&out, "", 1);
	return keep(out.data);
}

const char *tval_rc(ps_ctx *ctx, int rc)
{
	char buf[600];

	if (rc == 0)
		return "ok";
	if (ps_err(ctx) == PS_ERR_REMOTE)
		snprintf(buf, sizeof buf, "!%s", ps_errcode(ctx));
	else
		snprintf(buf, sizeof buf, "!err%d: %s", ps_err(ctx), ps_errstr(ctx));
	return keep(strdup(buf));
}

const char *tval_res(ps_ctx *ctx, int rc, void *result, size_t len)
{
	const char *s;

	if (rc != 0)
		return tval_rc(ctx, rc);
	s = tval_text(result, len);
	free(result);
	return s;
}
