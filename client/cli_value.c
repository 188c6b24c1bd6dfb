/*
 * The procshare tool's value notation: parsing command-line arguments
 * into MessagePack, and printing MessagePack back as that notation or as
 * JSON. A recursive-descent parser; containers are encoded into a
 * scratch buffer first because MessagePack wants the element count
 * before the elements.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The extension type of a reference to a shared object (PROTOCOL.md). */
#define CLI_EXT_REF 1

struct parser {
	const char *p;          /* the next character */
	int depth;
	char *err;
	size_t errlen;
};

static int parse_value(struct parser *ps, msgpack_sbuffer *out);

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_space(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

/* Ends a bare word inside brackets. */
static bool is_delim(char c)
{
	return c == '\0' || isspace((unsigned char)c) || strchr(",:[]{}\"", c) != NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- strings ---- */

static void put_utf8(msgpack_sbuffer *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	msgpack_sbuffer_write(b, u, n);
}

static int parse_u4(struct parser *ps, uint32_t *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(ps->p[i]);
		if (h < 0)
			return fail(ps, "\\u needs four hex digits");
		*cp = *cp << 4 | (uint32_t)h;
	}
	ps->p += 4;
	return 0;
}

/* \uXXXX, with a surrogate pair for code points above U+FFFF (JSON). */
static int parse_unicode(struct parser *ps, msgpack_sbuffer *b)
{
	uint32_t cp, lo;

	if (parse_u4(ps, &cp) < 0)
		return -1;
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "a lone surrogate \\u%04X", (unsigned)cp);
		ps->p += 2;
		if (parse_u4(ps, &lo) < 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "a lone surrogate \\u%04X", (unsigned)cp);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		return fail(ps, "a lone surrogate \\u%04X", (unsigned)cp);
	}
	put_utf8(b, cp);
	return 0;
}

static int parse_escape(struct parser *ps, msgpack_sbuffer *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	char c = *ps->p++;

	if (c == 'u')
		return parse_unicode(ps, b);
	hit = c != '\0' ? strchr(from, c) : NULL;
	if (hit == NULL)
		return fail(ps, "unknown escape \\%c in a string", c != '\0' ? c : '0');
	msgpack_sbuffer_write(b, &to[hit - from], 1);
	return 0;
}

/* "text" with JSON's escapes. */
static int parse_string(struct parser *ps, msgpack_sbuffer *out)
{
	msgpack_sbuffer b;
	msgpack_packer pk;
	int r = 0;

	msgpack_sbuffer_init(&b);
	ps->p++;
	while (r == 0 && *ps->p != '"') {
		char c = *ps->p;

		if (c == '\0') {
			r = fail(ps, "a string is missing its closing quote");
			break;
		}
		ps->p++;
		if (c == '\\')
			r = parse_escape(ps, &b);
		else
			msgpack_sbuffer_write(&b, &c, 1);
	}
	if (r == 0) {
		ps->p++;
		msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
		msgpack_pack_str_with_body(&pk, b.data != NULL ? b.data : "", b.size);
	}
	msgpack_sbuffer_destroy(&b);
	return r;
}

/* b"00ff": a bin given as hex digits. */
static int parse_bin(struct parser *ps, msgpack_sbuffer *out)
{
	const char *start = ps->p + 2, *end = strchr(start, '"');
	msgpack_packer pk;
	size_t n;

	if (end == NULL)
		return fail(ps, "b\"...\" is missing its closing quote");
	n = (size_t)(end - start);
	if (n % 2 != 0)
		return fail(ps, "b\"...\" needs an even number of hex digits");
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_bin(&pk, n / 2);
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(start[i]), lo = hexval(start[i + 1]);
		char byte;
		if (hi < 0 || lo < 0)
			return fail(ps, "b\"...\" holds a non-hex character");
		byte = (char)(hi << 4 | lo);
		msgpack_sbuffer_write(out, &byte, 1);
	}
	ps->p = end + 1;
	return 0;
}

/* ---- words: null, true, false, numbers, ref(N), bare strings ---- */

enum number_kind { NOT_NUMBER, INTEGER, REAL };

/* JSON's number grammar, plus nan, inf and -inf. */
static enum number_kind number_kind(const char *s, size_t n)
{
	size_t i = 0, digits;
	bool real = false;

	if (i < n && s[i] == '-')
		i++;
	if ((n - i == 3 && strncmp(s + i, "inf", 3) == 0) || (n == 3 && strncmp(s, "nan", 3) == 0))
		return REAL;
	for (digits = 0; i < n && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (digits == 0)
		return NOT_NUMBER;
	if (i < n && s[i] == '.') {
		real = true;
		for (digits = 0, i++; i < n && isdigit((unsigned char)s[i]); i++)
			digits++;
		if (digits == 0)
			return NOT_NUMBER;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		real = true;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (digits = 0; i < n && isdigit((unsigned char)s[i]); i++)
			digits++;
		if (digits == 0)
			return NOT_NUMBER;
	}
	if (i != n)
		return NOT_NUMBER;
	return real ? REAL : INTEGER;
}

static int pack_number(struct parser *ps, const char *s, size_t n, enum number_kind kind, msgpack_sbuffer *out)
{
	char buf[400];
	msgpack_packer pk;

	if (n >= sizeof buf)
		return fail(ps, "number too long");
	memcpy(buf, s, n);
	buf[n] = '\0';
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	errno = 0;
	if (kind == REAL) {
		msgpack_pack_double(&pk, strtod(buf, NULL));
	} else if (buf[0] == '-') {
		long long v = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return fail(ps, "%s is below the smallest integer (-2^63)", buf);
		msgpack_pack_int64(&pk, v);
	} else {
		unsigned long long v = strtoull(buf, NULL, 10);
		if (errno == ERANGE)
			return fail(ps, "%s is above the largest integer (2^64 - 1)", buf);
		msgpack_pack_uint64(&pk, v);
	}
	return 0;
}

/* ref(N): a reference to object N, as the daemon stores it (fixext 8). */
static bool pack_ref(const char *s, size_t n, msgpack_sbuffer *out)
{
	char digits[24], be[8];
	unsigned long long id;
	msgpack_packer pk;
	char *end;

	if (n < 6 || n - 5 >= sizeof digits || strncmp(s, "ref(", 4) != 0 || s[n - 1] != ')')
		return false;
	memcpy(digits, s + 4, n - 5);
	digits[n - 5] = '\0';
	if (!isdigit((unsigned char)digits[0]))
		return false;
	errno = 0;
	id = strtoull(digits, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	for (int i = 0; i < 8; i++)
		be[i] = (char)(id >> (56 - 8 * i));
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_ext(&pk, sizeof be, CLI_EXT_REF);
	msgpack_pack_ext_body(&pk, be, sizeof be);
	return true;
}

/* A literal word; returns 1 when s[0..n) is one (packed), 0 when not. */
static int pack_literal(struct parser *ps, const char *s, size_t n, msgpack_sbuffer *out)
{
	enum number_kind kind = number_kind(s, n);
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	if (n == 4 && strncmp(s, "null", 4) == 0)
		msgpack_pack_nil(&pk);
	else if (n == 4 && strncmp(s, "true", 4) == 0)
		msgpack_pack_true(&pk);
	else if (n == 5 && strncmp(s, "false", 5) == 0)
		msgpack_pack_false(&pk);
	else if (kind != NOT_NUMBER)
		return pack_number(ps, s, n, kind, out) < 0 ? -1 : 1;
	else if (!pack_ref(s, n, out))
		return 0;
	return 1;
}

/* A word inside brackets: a literal, else a bare string. */
static int parse_word(struct parser *ps, msgpack_sbuffer *out)
{
	const char *start = ps->p;
	size_t n;
	int r;

	while (!is_delim(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - start);
	if (n == 0)
		return *ps->p == '\0' ? fail(ps, "a value is missing") : fail(ps, "unexpected '%c'", *ps->p);
	r = pack_literal(ps, start, n, out);
	if (r == 0) {
		msgpack_packer pk;
		msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
		msgpack_pack_str_with_body(&pk, start, n);
	}
	return r < 0 ? -1 : 0;
}

/* ---- containers ---- */

/* Items up to close, separated by commas; pairs (k: v) when map. */
static int parse_items(struct parser *ps, char close, bool map, msgpack_sbuffer *body, uint32_t *count)
{
	*count = 0;
	ps->p++;
	skip_space(ps);
	if (*ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (parse_value(ps, body) < 0)
			return -1;
		skip_space(ps);
		if (map) {
			if (*ps->p != ':')
				return fail(ps, "expected ':' after a map key");
			ps->p++;
			if (parse_value(ps, body) < 0)
				return -1;
			skip_space(ps);
		}
		(*count)++;
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, "expected ',' or '%c'", close);
		ps->p++;
	}
}

static int parse_container(struct parser *ps, msgpack_sbuffer *out)
{
	bool map = *ps->p == '{';
	msgpack_sbuffer body;
	msgpack_packer pk;
	uint32_t n;
	int r;

	if (++ps->depth > CLI_MAX_DEPTH)
		return fail(ps, "nested deeper than %d levels", CLI_MAX_DEPTH);
	msgpack_sbuffer_init(&body);
	r = parse_items(ps, map ? '}' : ']', map, &body, &n);
	if (r == 0) {
		msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
		if (map)
			msgpack_pack_map(&pk, n);
		else
			msgpack_pack_array(&pk, n);
		if (body.size > 0)
			msgpack_sbuffer_write(out, body.data, body.size);
	}
	msgpack_sbuffer_destroy(&body);
	ps->depth--;
	return r;
}

static int parse_value(struct parser *ps, msgpack_sbuffer *out)
{
	skip_space(ps);
	switch (*ps->p) {
	case '"':
		return parse_string(ps, out);
	case '[':
	case '{':
		return parse_container(ps, out);
	case 'b':
		if (ps->p[1] == '"')
			return parse_bin(ps, out);
		return parse_word(ps, out);
	default:
		return parse_word(ps, out);
	}
}

int cli_value_parse(const char *text, msgpack_sbuffer *out, char *err, size_t errlen)
{
	struct parser ps = { text, 0, err, errlen };
	size_t mark = out->size, n;
	const char *start;
	msgpack_packer pk;
	int r;

	skip_space(&ps);
	if (strchr("[{\"", *ps.p) != NULL || (ps.p[0] == 'b' && ps.p[1] == '"')) {
		if (parse_value(&ps, out) == 0) {
			skip_space(&ps);
			if (*ps.p == '\0')
				return 0;
			fail(&ps, "unexpected '%c' after the value", *ps.p);
		}
		out->size = mark;
		return -1;
	}
	/* Anything else is a literal word, or else the whole text as a str. */
	start = ps.p;
	n = strlen(start);
	while (n > 0 && isspace((unsigned char)start[n - 1]))
		n--;
	r = n > 0 ? pack_literal(&ps, start, n, out) : 0;
	if (r != 0)
		return r < 0 ? -1 : 0;
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	msgpack_pack_str_with_body(&pk, text, strlen(text));
	return 0;
}

/* ---- printing ---- */

static void print_json_str(FILE *f, const char *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void print_hex(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned char)p[i]);
}

/* The shortest text that reads back as the same double. */
static void format_double(char *buf, size_t len, double d)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".en") == NULL)
		strncat(buf, ".0", len - strlen(buf) - 1);
}

static void print_double(FILE *f, double d, bool json)
{
	char buf[64];

	if (isnan(d) || isinf(d)) {
		fputs(json ? "null" : isnan(d) ? "nan" : d > 0 ? "inf" : "-inf", f);
		return;
	}
	format_double(buf, sizeof buf, d);
	fputs(buf, f);
}

static uint64_t ref_id(const msgpack_object_ext *e)
{
	uint64_t id = 0;

	for (uint32_t i = 0; i < e->size; i++)
		id = id << 8 | (unsigned char)e->ptr[i];
	return id;
}

static void print_ext(FILE *f, const msgpack_object_ext *e, bool json)
{
	if (e->type == CLI_EXT_REF && e->size == 8) {
		fprintf(f, json ? "{\"$ref\": %" PRIu64 "}" : "ref(%" PRIu64 ")", ref_id(e));
		return;
	}
	fprintf(f, json ? "{\"$ext\": %d, \"hex\": \"" : "ext(%d, \"", (int)e->type);
	print_hex(f, e->ptr, e->size);
	fputs(json ? "\"}" : "\")", f);
}

static void print_any(FILE *f, const msgpack_object *o, bool json);

/* A JSON object key: a str as it is, anything else as its notation. */
static void print_json_key(FILE *f, const msgpack_object *k)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	if (k->type == MSGPACK_OBJECT_STR) {
		print_json_str(f, k->via.str.ptr, k->via.str.size);
		return;
	}
	m = open_memstream(&text, &len);
	if (m == NULL) {
		fputs("\"?\"", f);
		return;
	}
	print_any(m, k, false);
	fclose(m);
	print_json_str(f, text, len);
	free(text);
}

static void print_map(FILE *f, const msgpack_object_map *m, bool json)
{
	fputc('{', f);
	for (uint32_t i = 0; i < m->size; i++) {
		if (i > 0)
			fputs(", ", f);
		if (json)
			print_json_key(f, &m->ptr[i].key);
		else
			print_any(f, &m->ptr[i].key, false);
		fputs(": ", f);
		print_any(f, &m->ptr[i].val, json);
	}
	fputc('}', f);
}

static void print_any(FILE *f, const msgpack_object *o, bool json)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", f); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%" PRIu64, o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%" PRId64, o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: print_double(f, o->via.f64, json); break;
	case MSGPACK_OBJECT_STR: print_json_str(f, o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN:
		fputs(json ? "{\"$bin\": \"" : "b\"", f);
		print_hex(f, o->via.bin.ptr, o->via.bin.size);
		fputs(json ? "\"}" : "\"", f);
		break;
	case MSGPACK_OBJECT_EXT: print_ext(f, &o->via.ext, json); break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputs(", ", f);
			print_any(f, &o->via.array.ptr[i], json);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP: print_map(f, &o->via.map, json); break;
	default: fputs(json ? "null" : "?", f); break;
	}
}

void cli_value_print(FILE *f, const msgpack_object *o)
{
	print_any(f, o, false);
}

void cli_value_json(FILE *f, const msgpack_object *o)
{
	print_any(f, o, true);
}
