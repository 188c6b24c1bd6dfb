/*
 * procshare: inspect and edit a running procshared from a terminal or a
 * script. Built on libprocshare's generic call (ps_call), so that every
 * shared type is reachable the same way; values on the command line and
 * in the output use the notation of cli.h, or JSON with --json.
 *
 * Exit statuses: 0 success; 1 the daemon answered with an error (no such
 * object, KeyError, Empty, ...); 2 a usage error; 3 no connection (cannot
 * connect or authenticate, or the connection broke or timed out).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "cli.h"
#include "procshare.h"

#define EXIT_REMOTE 1
#define EXIT_USAGE 2
#define EXIT_CONNECT 3

/* Default time allowed for one call, in seconds (-t changes it); blocking
 * get and put wait as long as their own --timeout says instead. */
#define CLI_CALL_TIMEOUT_S 30.0
/* Extra time a blocking call's connection allows beyond its timeout. */
#define CLI_MARGIN_MS 10000
/* The daemon's system-wide key, readable by those the operator allows. */
#define CLI_SYSTEM_KEY "/etc/procshare/authkey"

struct cli {
	const char *addr;       /* -a, else PROCSHARE_ADDRESS, else the default */
	const char *keyfile;    /* -k, else PROCSHARE_AUTHKEY_FILE, ... */
	bool json;
	double timeout_s;       /* -t: per call */
	ps_ctx *ctx;
};

/* An object named on the command line. */
struct target {
	const char *name;
	char type[64];
	uint64_t id;
	uint64_t size;
};

/* A decoded answer; free with result_free. */
struct result {
	void *data;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *o;
};

/* A request's params: the elements, then the array around them. */
struct params {
	msgpack_sbuffer body;
	msgpack_packer pk;
	uint32_t n;
	msgpack_sbuffer whole;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: procshare [options] command [arguments]\n"
		"options:\n"
		"  -a, --address ADDR       daemon address (default $PROCSHARE_ADDRESS, else the\n"
		"                           daemon's default socket)\n"
		"  -k, --authkey-file PATH  authkey file (default $PROCSHARE_AUTHKEY_FILE, else\n"
		"                           $PROCSHARE_AUTHKEY, RUNDIR/authkey,\n"
		"                           %s)\n"
		"  -j, --json               JSON output, for scripts\n"
		"  -t, --timeout SECONDS    time allowed for each call (default %g)\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n"
		"commands:\n"
		"  ls                       named objects with their type and size\n"
		"  show NAME                an object's contents or state\n"
		"  set NAME KEY VALUE       dict key, list or array index, namespace attribute\n"
		"  set NAME VALUE           a Value's value\n"
		"  del NAME KEY             remove a dict key, list index, namespace attribute\n"
		"                           or set member\n"
		"  append NAME VALUE        append to a list; add to a set\n"
		"  put QUEUE VALUE          put on a queue   [--timeout S] [--nowait]\n"
		"  get QUEUE                get from a queue [--timeout S] [--nowait]\n"
		"  create TYPE NAME [ARG..] open NAME, creating a TYPE with ARGs when absent\n"
		"  rm NAME                  drop a name (the object lives on while used)\n"
		"  locks                    lock holders and waiters\n"
		"  info                     daemon statistics\n"
		"NAME may be @ID for an anonymous object. VALUEs are literals: 42, 1.5, true,\n"
		"null, \"text\", [1, 2], {\"k\": 1}, b\"00ff\", ref(7); any other word is a string.\n"
		"See procshare(1).\n",
		CLI_SYSTEM_KEY, CLI_CALL_TIMEOUT_S);
}

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("procshare: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* Reports the context's last error; the status says whose fault it is. */
static int fail_ctx(struct cli *cl)
{
	int kind = ps_err(cl->ctx);
	int status = kind == PS_ERR_REMOTE ? EXIT_REMOTE : kind == PS_ERR_ARG ? EXIT_USAGE : EXIT_CONNECT;

	return fail(status, "%s", ps_errstr(cl->ctx));
}

/* ---- requests ---- */

static void params_init(struct params *p)
{
	msgpack_sbuffer_init(&p->body);
	msgpack_sbuffer_init(&p->whole);
	msgpack_packer_init(&p->pk, &p->body, msgpack_sbuffer_write);
	p->n = 0;
}

static void params_free(struct params *p)
{
	msgpack_sbuffer_destroy(&p->body);
	msgpack_sbuffer_destroy(&p->whole);
}

static void params_uint(struct params *p, uint64_t v)
{
	msgpack_pack_uint64(&p->pk, v);
	p->n++;
}

static void params_str(struct params *p, const char *s)
{
	msgpack_pack_str_with_body(&p->pk, s, strlen(s));
	p->n++;
}

static void params_bool(struct params *p, bool b)
{
	if (b)
		msgpack_pack_true(&p->pk);
	else
		msgpack_pack_false(&p->pk);
	p->n++;
}

/* A timeout in seconds; negative: nil (wait forever). */
static void params_timeout(struct params *p, double s)
{
	if (s < 0)
		msgpack_pack_nil(&p->pk);
	else
		msgpack_pack_double(&p->pk, s);
	p->n++;
}

/* A value written on the command line. Returns 0, or EXIT_USAGE after
 * saying what is wrong with it. */
static int params_value(struct params *p, const char *what, const char *text)
{
	char err[200];

	if (cli_value_parse(text, &p->body, err, sizeof err) < 0)
		return fail(EXIT_USAGE, "%s '%s': %s", what, text, err);
	p->n++;
	return 0;
}

static void result_free(struct result *r)
{
	msgpack_unpacked_destroy(&r->u);
	free(r->data);
	r->data = NULL;
}

/* Calls method with p's params (p may be NULL: none) and decodes the
 * answer into r. Returns 0, or an exit status after reporting. */
static int call(struct cli *cl, const char *method, struct params *p, struct result *r)
{
	msgpack_packer pk;
	size_t off = 0;

	memset(r, 0, sizeof *r);
	msgpack_unpacked_init(&r->u);
	if (p != NULL) {
		msgpack_packer_init(&pk, &p->whole, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, p->n);
		if (p->body.size > 0)
			msgpack_sbuffer_write(&p->whole, p->body.data, p->body.size);
	}
	if (ps_call(cl->ctx, method, p != NULL ? p->whole.data : "\x90", p != NULL ? p->whole.size : 1, &r->data,
		    &r->len) < 0)
		return fail_ctx(cl);
	if (msgpack_unpack_next(&r->u, r->data, r->len, &off) != MSGPACK_UNPACK_SUCCESS) {
		result_free(r);
		return fail(EXIT_CONNECT, "%s: the daemon's answer does not decode", method);
	}
	r->o = &r->u.data;
	return 0;
}

/* Calls method on t's object with p's params after the id (p may be
 * NULL). The answer goes to r, or is dropped when r is NULL. */
static int call_on(struct cli *cl, const struct target *t, const char *method, struct params *p, struct result *r)
{
	struct params ids;
	struct result ignored;
	char full[128];
	int status;

	snprintf(full, sizeof full, "%s.%s", t->type, method);
	params_init(&ids);
	params_uint(&ids, t->id);
	if (p != NULL) {
		if (p->body.size > 0)
			msgpack_sbuffer_write(&ids.body, p->body.data, p->body.size);
		ids.n += p->n;
	}
	status = call(cl, full, &ids, r != NULL ? r : &ignored);
	if (status == 0 && r == NULL)
		result_free(&ignored);
	params_free(&ids);
	return status;
}

/* ---- map lookups in answers ---- */

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	size_t n = strlen(key);

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static uint64_t map_uint(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = map_get(m, key);

	return v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 : 0;
}

static double map_double(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = map_get(m, key);

	if (v == NULL)
		return 0;
	if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
		return v->via.f64;
	return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)v->via.u64 : 0;
}

static void copy_str(char *out, size_t len, const msgpack_object *o)
{
	if (o != NULL && o->type == MSGPACK_OBJECT_STR)
		snprintf(out, len, "%.*s", (int)o->via.str.size, o->via.str.ptr);
	else
		snprintf(out, len, "?");
}

/* ---- finding objects ---- */

static bool str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* Reads one row of "objects" into t when it is the one named. */
static bool row_match(const msgpack_object *row, struct target *t)
{
	const msgpack_object *f;

	if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size < 4)
		return false;
	f = row->via.array.ptr;
	if (!str_is(&f[0], t->name))
		return false;
	copy_str(t->type, sizeof t->type, &f[1]);
	t->id = f[2].via.u64;
	t->size = f[3].via.u64;
	return true;
}

/* "@12": an object by id, named or not. */
static int resolve_id(struct cli *cl, struct target *t)
{
	struct params p;
	struct result r;
	char *end;
	int status;

	errno = 0;
	t->id = strtoull(t->name + 1, &end, 10);
	if (errno != 0 || end == t->name + 1 || *end != '\0')
		return fail(EXIT_USAGE, "'%s' is not @ followed by an object id", t->name);
	params_init(&p);
	params_uint(&p, t->id);
	status = call(cl, "describe", &p, &r);
	params_free(&p);
	if (status != 0)
		return status;
	copy_str(t->type, sizeof t->type, map_get(r.o, "type"));
	t->size = map_uint(r.o, "size");
	result_free(&r);
	return 0;
}

/* Finds the object called name, and holds a handle on it for as long as
 * the tool runs so it cannot vanish between two calls. */
static int resolve(struct cli *cl, const char *name, struct target *t)
{
	struct params p;
	struct result r;
	bool found = false;
	int status;

	memset(t, 0, sizeof *t);
	t->name = name;
	if (name[0] == '@')
		return resolve_id(cl, t);
	status = call(cl, "objects", NULL, &r);
	if (status != 0)
		return status;
	for (uint32_t i = 0; !found && r.o->type == MSGPACK_OBJECT_ARRAY && i < r.o->via.array.size; i++)
		found = row_match(&r.o->via.array.ptr[i], t);
	result_free(&r);
	if (!found)
		return fail(EXIT_REMOTE, "NoSuchObject: no object named '%s'", name);
	params_init(&p);
	params_str(&p, t->type);
	params_str(&p, name);
	params_bool(&p, false);
	status = call(cl, "open", &p, &r);
	params_free(&p);
	if (status == 0)
		result_free(&r);
	return status;
}

/* ---- what each type offers the commands ---- */

enum layout {
	LAYOUT_MAP,             /* key: value lines */
	LAYOUT_SEQ,             /* [index] value lines */
	LAYOUT_MEMBERS,         /* one member per line */
	LAYOUT_SCALAR,          /* one value */
	LAYOUT_STATE            /* no contents: describe's view */
};

struct kind {
	const char *type;
	const char *contents;   /* method answering the whole contents */
	enum layout layout;
	const char *set;        /* set NAME KEY VALUE (or NAME VALUE for a Value) */
	const char *del;        /* del NAME KEY */
	const char *append;     /* append NAME VALUE */
};

static const struct kind kinds[] = {
	{ "dict", "copy", LAYOUT_MAP, "set", "del", NULL },
	{ "list", "copy", LAYOUT_SEQ, "setitem", "delitem", "append" },
	{ "array", "tolist", LAYOUT_SEQ, "setitem", NULL, NULL },
	{ "namespace", "vars", LAYOUT_MAP, "setattr", "delattr", NULL },
	{ "value", "get", LAYOUT_SCALAR, "set", NULL, NULL },
	{ "set", "copy", LAYOUT_MEMBERS, NULL, "remove", "add" },
};

static const struct kind state_kind = { NULL, NULL, LAYOUT_STATE, NULL, NULL, NULL };

static const struct kind *kind_of(const struct target *t)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].type, t->type) == 0)
			return &kinds[i];
	return &state_kind;
}

static bool is_queue(const struct target *t)
{
	return strcmp(t->type, "queue") == 0 || strcmp(t->type, "joinablequeue") == 0;
}

/* The types "locks" lists. */
static bool is_lock_type(const char *type)
{
	static const char *const names[] = { "lock", "rlock", "semaphore", "boundedsemaphore", "condition" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(type, names[i]) == 0)
			return true;
	return false;
}

/* ---- ls ---- */

static int row_cmp(const void *a, const void *b)
{
	const msgpack_object *x = ((const msgpack_object *)a)->via.array.ptr;
	const msgpack_object *y = ((const msgpack_object *)b)->via.array.ptr;
	size_t n = x[0].via.str.size < y[0].via.str.size ? x[0].via.str.size : y[0].via.str.size;
	int c = memcmp(x[0].via.str.ptr, y[0].via.str.ptr, n);

	return c != 0 ? c : (x[0].via.str.size > y[0].via.str.size) - (x[0].via.str.size < y[0].via.str.size);
}

static bool rows_valid(const msgpack_object *rows)
{
	if (rows->type != MSGPACK_OBJECT_ARRAY)
		return false;
	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i];
		if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size < 4 ||
		    row->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
			return false;
	}
	return true;
}

static void print_ls_json(const msgpack_object *rows)
{
	putchar('[');
	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *f = rows->via.array.ptr[i].via.array.ptr;
		printf(i > 0 ? ", {\"name\": " : "{\"name\": ");
		cli_value_json(stdout, &f[0]);
		printf(", \"type\": ");
		cli_value_json(stdout, &f[1]);
		printf(", \"id\": %" PRIu64 ", \"size\": %" PRIu64 "}", f[2].via.u64, f[3].via.u64);
	}
	printf("]\n");
}

static void print_ls_table(const msgpack_object *rows)
{
	int w = 4;

	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		int n = (int)rows->via.array.ptr[i].via.array.ptr[0].via.str.size;
		w = n > w ? n : w;
	}
	printf("%-*s  %-16s %8s %10s\n", w, "NAME", "TYPE", "ID", "SIZE");
	for (uint32_t i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *f = rows->via.array.ptr[i].via.array.ptr;
		char type[64];
		copy_str(type, sizeof type, &f[1]);
		printf("%-*.*s  %-16s %8" PRIu64 " %10" PRIu64 "\n", w, (int)f[0].via.str.size, f[0].via.str.ptr, type,
		       f[2].via.u64, f[3].via.u64);
	}
}

static int cmd_ls(struct cli *cl, int argc, char **argv)
{
	struct result r;
	int status;

	(void)argv;
	if (argc != 0)
		return fail(EXIT_USAGE, "usage: procshare ls");
	status = call(cl, "objects", NULL, &r);
	if (status != 0)
		return status;
	if (!rows_valid(r.o)) {
		result_free(&r);
		return fail(EXIT_CONNECT, "objects: unexpected answer from the daemon");
	}
	qsort(r.o->via.array.ptr, r.o->via.array.size, sizeof *r.o->via.array.ptr, row_cmp);
	if (cl->json)
		print_ls_json(r.o);
	else
		print_ls_table(r.o);
	result_free(&r);
	return 0;
}

/* ---- show ---- */

static void print_contents(const struct kind *k, const msgpack_object *o)
{
	if (k->layout == LAYOUT_MAP && o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			printf("  ");
			cli_value_print(stdout, &o->via.map.ptr[i].key);
			printf(": ");
			cli_value_print(stdout, &o->via.map.ptr[i].val);
			putchar('\n');
		}
	} else if ((k->layout == LAYOUT_SEQ || k->layout == LAYOUT_MEMBERS) && o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (k->layout == LAYOUT_SEQ)
				printf("  [%" PRIu32 "] ", i);
			else
				printf("  ");
			cli_value_print(stdout, &o->via.array.ptr[i]);
			putchar('\n');
		}
	} else {
		printf("  ");
		cli_value_print(stdout, o);
		putchar('\n');
	}
}

/* "conn 4 (unix pid 12 uid 0)" for a describe entry naming a connection. */
static void print_conn(const msgpack_object *c)
{
	char peer[128];

	copy_str(peer, sizeof peer, map_get(c, "peer"));
	printf("conn %" PRIu64 " (%s)", map_uint(c, "conn"), peer);
}

/* One party of a waiters or holders list: a connection {"conn", "peer"},
 * or a holder {"by": connection, "count": levels or units, ...}. */
static void print_party(const msgpack_object *e)
{
	const msgpack_object *by = map_get(e, "by"), *count = map_get(e, "count");

	if (e->type != MSGPACK_OBJECT_MAP) {
		cli_value_print(stdout, e);
		return;
	}
	print_conn(by != NULL ? by : e);
	if (count != NULL && !(count->type == MSGPACK_OBJECT_POSITIVE_INTEGER && count->via.u64 == 1)) {
		printf(", count ");
		cli_value_print(stdout, count);
	}
}

static void print_conn_list(const char *label, const msgpack_object *list)
{
	uint32_t n = list != NULL && list->type == MSGPACK_OBJECT_ARRAY ? list->via.array.size : 0;

	printf("  %s", label);
	if (n == 0)
		printf(" none");
	for (uint32_t i = 0; i < n; i++) {
		printf(i == 0 ? " " : "\n  %*s", i == 0 ? 0 : (int)strlen(label) + 1, "");
		print_party(&list->via.array.ptr[i]);
	}
	putchar('\n');
}

/* A lock's holders, or a condition's lock's; NULL when not described. */
static const msgpack_object *state_holders(const msgpack_object *state)
{
	const msgpack_object *h = map_get(state, "holders");

	return h != NULL ? h : map_get(map_get(state, "lock"), "holders");
}

/* The state's fields but the holders; a condition's lock's inline. */
static void print_fields(const msgpack_object *state, const char *prefix)
{
	for (uint32_t i = 0; state != NULL && state->type == MSGPACK_OBJECT_MAP && i < state->via.map.size; i++) {
		const msgpack_object *v = &state->via.map.ptr[i].val;
		char name[64];

		copy_str(name, sizeof name, &state->via.map.ptr[i].key);
		if (strcmp(name, "holders") == 0)
			continue;
		if (strcmp(name, "lock") == 0 && v->type == MSGPACK_OBJECT_MAP) {
			print_fields(v, "lock ");
			continue;
		}
		printf("  %s%s: ", prefix, name);
		cli_value_print(stdout, v);
		putchar('\n');
	}
}

/* describe's view, for types whose contents are not values. */
static void print_state(const msgpack_object *d)
{
	const msgpack_object *state = map_get(d, "state");
	const msgpack_object *holders = state_holders(state);

	if (holders != NULL)
		print_conn_list("held by:", holders);
	print_conn_list("waiting:", map_get(d, "waiters"));
	print_fields(state, "");
}

static int describe(struct cli *cl, const struct target *t, struct result *r)
{
	struct params p;
	int status;

	params_init(&p);
	params_uint(&p, t->id);
	status = call(cl, "describe", &p, r);
	params_free(&p);
	return status;
}

static void print_json_cstr(const char *s)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t)strlen(s), s } };

	cli_value_json(stdout, &o);
}

static void print_target_json(const struct target *t)
{
	printf("{\"name\": ");
	if (t->name[0] == '@')
		printf("null");
	else
		print_json_cstr(t->name);
	printf(", \"type\": ");
	print_json_cstr(t->type);
	printf(", \"id\": %" PRIu64 ", \"size\": %" PRIu64, t->id, t->size);
}

static int cmd_show(struct cli *cl, int argc, char **argv)
{
	const struct kind *k;
	struct target t;
	struct result r;
	int status;

	if (argc != 1)
		return fail(EXIT_USAGE, "usage: procshare show NAME");
	status = resolve(cl, argv[0], &t);
	if (status != 0)
		return status;
	k = kind_of(&t);
	status = k->contents != NULL ? call_on(cl, &t, k->contents, NULL, &r) : describe(cl, &t, &r);
	if (status != 0)
		return status;
	if (cl->json) {
		print_target_json(&t);
		printf(k->contents != NULL ? ", \"value\": " : ", \"describe\": ");
		cli_value_json(stdout, r.o);
		printf("}\n");
	} else {
		/* A lock's or a barrier's size is not a number of items. */
		if (k->contents != NULL || is_queue(&t))
			printf("%s: %s, %" PRIu64 " item%s, id %" PRIu64 "\n", t.name, t.type, t.size,
			       t.size == 1 ? "" : "s", t.id);
		else
			printf("%s: %s, id %" PRIu64 "\n", t.name, t.type, t.id);
		if (k->contents != NULL)
			print_contents(k, r.o);
		else
			print_state(r.o);
	}
	result_free(&r);
	return 0;
}

/* ---- set, del, append ---- */

static int cmd_set(struct cli *cl, int argc, char **argv)
{
	const struct kind *k;
	struct params p;
	struct target t;
	int status;

	if (argc != 2 && argc != 3)
		return fail(EXIT_USAGE, "usage: procshare set NAME KEY VALUE, or set NAME VALUE for a Value");
	status = resolve(cl, argv[0], &t);
	if (status != 0)
		return status;
	k = kind_of(&t);
	if (k->set == NULL)
		return fail(EXIT_USAGE, "set: a %s has no keys to set", t.type);
	if ((k->layout == LAYOUT_SCALAR) != (argc == 2))
		return fail(EXIT_USAGE, k->layout == LAYOUT_SCALAR ? "set: a %s takes one VALUE, no KEY"
								   : "set: a %s needs a KEY and a VALUE", t.type);
	params_init(&p);
	status = params_value(&p, argc == 3 ? "KEY" : "VALUE", argv[1]);
	if (status == 0 && argc == 3)
		status = params_value(&p, "VALUE", argv[2]);
	if (status == 0)
		status = call_on(cl, &t, k->set, &p, NULL);
	params_free(&p);
	return status;
}

/* del, append: one method on the object with one value. */
static int cmd_one_value(struct cli *cl, int argc, char **argv, bool append)
{
	const char *what = append ? "append" : "del";
	const struct kind *k;
	struct params p;
	struct target t;
	int status;

	if (argc != 2)
		return fail(EXIT_USAGE, append ? "usage: procshare append NAME VALUE" : "usage: procshare del NAME KEY");
	status = resolve(cl, argv[0], &t);
	if (status != 0)
		return status;
	k = kind_of(&t);
	if ((append ? k->append : k->del) == NULL)
		return fail(EXIT_USAGE, "%s: not possible on a %s", what, t.type);
	params_init(&p);
	status = params_value(&p, append ? "VALUE" : "KEY", argv[1]);
	if (status == 0)
		status = call_on(cl, &t, append ? k->append : k->del, &p, NULL);
	params_free(&p);
	return status;
}

static int cmd_del(struct cli *cl, int argc, char **argv)
{
	return cmd_one_value(cl, argc, argv, false);
}

static int cmd_append(struct cli *cl, int argc, char **argv)
{
	return cmd_one_value(cl, argc, argv, true);
}

/* ---- put, get ---- */

struct wait_opts {
	double timeout_s;       /* < 0: forever */
	bool nowait;
	int nargs;              /* positional arguments left in args */
	char *args[2];
};

static int parse_wait_opts(int argc, char **argv, struct wait_opts *w, int want)
{
	char *end;

	w->timeout_s = -1;
	w->nowait = false;
	w->nargs = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--nowait") == 0) {
			w->nowait = true;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			w->timeout_s = strtod(argv[++i], &end);
			if (*end != '\0' || !(w->timeout_s >= 0) || isinf(w->timeout_s))
				return fail(EXIT_USAGE, "--timeout: '%s' is not a number of seconds", argv[i]);
		} else if (w->nargs < want) {
			w->args[w->nargs++] = argv[i];
		} else {
			return fail(EXIT_USAGE, "unexpected argument '%s'", argv[i]);
		}
	}
	return w->nargs == want ? 0 : fail(EXIT_USAGE, want == 2 ? "usage: procshare put QUEUE VALUE [--timeout S] [--nowait]"
								: "usage: procshare get QUEUE [--timeout S] [--nowait]");
}

/* A blocking call may outlast the per-call timeout: the connection waits
 * for its own timeout plus a margin. */
static void wait_timeout(struct cli *cl, const struct wait_opts *w)
{
	if (w->nowait)
		return;
	ps_set_timeout(cl->ctx, w->timeout_s < 0 ? -1 : (int)(w->timeout_s * 1000) + CLI_MARGIN_MS);
}

static int queue_call(struct cli *cl, int argc, char **argv, bool put)
{
	struct wait_opts w;
	struct target t;
	struct params p;
	struct result r;
	int status = parse_wait_opts(argc, argv, &w, put ? 2 : 1);

	if (status != 0)
		return status;
	status = resolve(cl, w.args[0], &t);
	if (status != 0)
		return status;
	if (!is_queue(&t))
		return fail(EXIT_USAGE, "%s: '%s' is a %s, not a queue", put ? "put" : "get", t.name, t.type);
	params_init(&p);
	if (put)
		status = params_value(&p, "VALUE", w.args[1]);
	params_bool(&p, !w.nowait);
	params_timeout(&p, w.timeout_s);
	wait_timeout(cl, &w);
	if (status == 0)
		status = call_on(cl, &t, put ? "put" : "get", &p, put ? NULL : &r);
	params_free(&p);
	if (status != 0 || put)
		return status;
	if (cl->json)
		cli_value_json(stdout, r.o);
	else
		cli_value_print(stdout, r.o);
	putchar('\n');
	result_free(&r);
	return 0;
}

static int cmd_put(struct cli *cl, int argc, char **argv)
{
	return queue_call(cl, argc, argv, true);
}

static int cmd_get(struct cli *cl, int argc, char **argv)
{
	return queue_call(cl, argc, argv, false);
}

/* ---- create, rm ---- */

static int cmd_create(struct cli *cl, int argc, char **argv)
{
	struct params p, args;
	struct result r;
	int status = 0;

	if (argc < 2)
		return fail(EXIT_USAGE, "usage: procshare create TYPE NAME [ARG...]");
	params_init(&args);
	for (int i = 2; status == 0 && i < argc; i++)
		status = params_value(&args, "ARG", argv[i]);
	params_init(&p);
	params_str(&p, argv[0]);
	params_str(&p, argv[1]);
	params_bool(&p, true);
	msgpack_pack_array(&p.pk, args.n);
	if (args.body.size > 0)
		msgpack_sbuffer_write(&p.body, args.body.data, args.body.size);
	p.n++;
	if (status == 0)
		status = call(cl, "open", &p, &r);
	params_free(&p);
	params_free(&args);
	if (status != 0)
		return status;
	if (cl->json) {
		printf("{\"name\": ");
		print_json_cstr(argv[1]);
		printf(", \"type\": ");
		print_json_cstr(argv[0]);
		printf(", \"id\": %" PRIu64 "}\n", r.o->via.u64);
	} else
		printf("%s: %s, id %" PRIu64 "\n", argv[1], argv[0], r.o->via.u64);
	result_free(&r);
	return 0;
}

static int cmd_rm(struct cli *cl, int argc, char **argv)
{
	if (argc != 1)
		return fail(EXIT_USAGE, "usage: procshare rm NAME");
	return ps_delete(cl->ctx, argv[0]) < 0 ? fail_ctx(cl) : 0;
}

/* ---- locks ---- */

static void print_lock(const struct target *t, const msgpack_object *d, bool json, bool first)
{
	const msgpack_object *state = map_get(d, "state");
	const msgpack_object *holders = state_holders(state);

	if (json) {
		printf(first ? "" : ", ");
		print_target_json(t);
		printf(", \"holders\": ");
		if (holders != NULL)
			cli_value_json(stdout, holders);
		else
			printf("null");
		printf(", \"waiters\": ");
		cli_value_json(stdout, map_get(d, "waiters"));
		printf(", \"state\": ");
		cli_value_json(stdout, state != NULL ? state : &(msgpack_object){ .type = MSGPACK_OBJECT_NIL });
		printf("}");
		return;
	}
	printf("%s: %s, id %" PRIu64 "\n", t->name, t->type, t->id);
	if (holders == NULL)
		printf("  held by: (the daemon does not describe this type's holders)\n");
	print_state(d);
}

static int cmd_locks(struct cli *cl, int argc, char **argv)
{
	struct result objs, d;
	struct target t;
	int status, shown = 0;

	(void)argv;
	if (argc != 0)
		return fail(EXIT_USAGE, "usage: procshare locks");
	status = call(cl, "objects", NULL, &objs);
	if (status != 0)
		return status;
	if (!rows_valid(objs.o)) {
		result_free(&objs);
		return fail(EXIT_CONNECT, "objects: unexpected answer from the daemon");
	}
	qsort(objs.o->via.array.ptr, objs.o->via.array.size, sizeof *objs.o->via.array.ptr, row_cmp);
	if (cl->json)
		putchar('[');
	for (uint32_t i = 0; status == 0 && i < objs.o->via.array.size; i++) {
		const msgpack_object *f = objs.o->via.array.ptr[i].via.array.ptr;
		char name[512];

		copy_str(name, sizeof name, &f[0]);
		memset(&t, 0, sizeof t);
		t.name = name;
		if (!row_match(&objs.o->via.array.ptr[i], &t) || !is_lock_type(t.type))
			continue;
		status = describe(cl, &t, &d);
		if (status != 0)
			break;
		print_lock(&t, d.o, cl->json, shown++ == 0);
		result_free(&d);
	}
	if (cl->json && status == 0)
		printf("]\n");
	else if (status == 0 && shown == 0)
		printf("no named locks\n");
	result_free(&objs);
	return status;
}

/* ---- info ---- */

static void print_bytes(const char *label, uint64_t b)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	printf(u == 0 ? "%s%.0f %s" : "%s%.1f %s", label, v, units[u]);
}

static void print_uptime(double s)
{
	uint64_t t = (uint64_t)s;

	if (t >= 86400)
		printf("%" PRIu64 "d ", t / 86400);
	printf("%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "\n", t / 3600 % 24, t / 60 % 60, t % 60);
}

static void print_info(const msgpack_object *m)
{
	const msgpack_object *types = map_get(m, "objects_by_type");
	const msgpack_object *rss = map_get(m, "memory_rss");
	char version[32];

	copy_str(version, sizeof version, map_get(m, "version"));
	printf("procshared %s (protocol %" PRIu64 "), pid %" PRIu64 "\n", version, map_uint(m, "protocol"),
	       map_uint(m, "pid"));
	printf("uptime:       ");
	print_uptime(map_double(m, "uptime"));
	printf("connections:  %" PRIu64 " open (%" PRIu64 " encrypted), %" PRIu64 " since start, %" PRIu64
	       " refused, %" PRIu64 " failed authentication\n", map_uint(m, "connections"),
	       map_uint(m, "connections_encrypted"), map_uint(m, "connections_total"),
	       map_uint(m, "connections_refused"), map_uint(m, "auth_failures"));
	printf("objects:      %" PRIu64 " (%" PRIu64 " named)", map_uint(m, "objects"), map_uint(m, "named_objects"));
	for (uint32_t i = 0; types != NULL && types->type == MSGPACK_OBJECT_MAP && i < types->via.map.size; i++) {
		char name[64];
		copy_str(name, sizeof name, &types->via.map.ptr[i].key);
		printf("%s %s %" PRIu64, i == 0 ? ":" : ",", name, types->via.map.ptr[i].val.via.u64);
	}
	printf("\nmemory:       ");
	if (rss != NULL && rss->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		print_bytes("resident ", rss->via.u64);
	else
		printf("resident unknown");
	print_bytes(", values ", map_uint(m, "memory_values"));
	if (map_uint(m, "memory_limit") != 0)
		print_bytes(" of ", map_uint(m, "memory_limit"));
	else
		printf(" (no limit)");
	printf("\nrequests:     %" PRIu64 ", %.1f/s\n", map_uint(m, "requests"), map_double(m, "requests_per_second"));
	print_bytes("traffic:      in ", map_uint(m, "bytes_in"));
	print_bytes(", out ", map_uint(m, "bytes_out"));
	putchar('\n');
}

static int cmd_info(struct cli *cl, int argc, char **argv)
{
	struct result r;
	int status;

	(void)argv;
	if (argc != 0)
		return fail(EXIT_USAGE, "usage: procshare info");
	status = call(cl, "info", NULL, &r);
	if (status != 0)
		return status;
	if (cl->json) {
		cli_value_json(stdout, r.o);
		putchar('\n');
	} else {
		print_info(r.o);
	}
	result_free(&r);
	return 0;
}

/* ---- connecting ---- */

/* The daemon's default directory as seen by this user (procshared(8)). */
static void rundir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/procshare", xdg);
	else if (geteuid() == 0)
		snprintf(out, len, "/run/procshare");
	else
		snprintf(out, len, "/tmp/procshare-%u", (unsigned)geteuid());
}

static const char *default_address(char *buf, size_t len)
{
	char dir[256];
	struct stat st;

	rundir(dir, sizeof dir);
	snprintf(buf, len, "%s/procshared.sock", dir);
	if (stat(buf, &st) == 0)
		return buf;
	return "/run/procshare/procshared.sock";
}

/* -k, $PROCSHARE_AUTHKEY_FILE, $PROCSHARE_AUTHKEY, RUNDIR/authkey, the
 * system key: the first that is set (or, for the last two, exists). */
static unsigned char *load_key(struct cli *cl, size_t *len, int *status)
{
	const char *file = cl->keyfile, *env = getenv("PROCSHARE_AUTHKEY");
	char dir[256], path[300];
	unsigned char *key;

	if (file == NULL && (file = getenv("PROCSHARE_AUTHKEY_FILE")) != NULL && file[0] == '\0')
		file = NULL;
	if (file == NULL && env != NULL && env[0] != '\0') {
		*len = strlen(env);
		key = malloc(*len + 1);
		if (key != NULL)
			memcpy(key, env, *len + 1);
		return key;
	}
	if (file == NULL) {
		rundir(dir, sizeof dir);
		snprintf(path, sizeof path, "%s/authkey", dir);
		file = access(path, F_OK) == 0 ? path : CLI_SYSTEM_KEY;
	}
	key = ps_read_keyfile(file, len);
	if (key == NULL)
		*status = fail(EXIT_CONNECT, "authkey file %s: %s (set -k or PROCSHARE_AUTHKEY_FILE)", file, strerror(errno));
	return key;
}

static int connect_daemon(struct cli *cl)
{
	char buf[300];
	const char *addr = cl->addr;
	unsigned char *key;
	size_t len = 0;
	int status = EXIT_CONNECT;

	if (addr == NULL && (addr = getenv("PROCSHARE_ADDRESS")) != NULL && addr[0] == '\0')
		addr = NULL;
	if (addr == NULL)
		addr = default_address(buf, sizeof buf);
	key = load_key(cl, &len, &status);
	if (key == NULL)
		return status;
	cl->ctx = ps_connect(addr, key, len);
	memset(key, 0, len);
	free(key);
	if (cl->ctx == NULL)
		return fail(EXIT_CONNECT, "out of memory");
	if (ps_err(cl->ctx) != PS_ERR_NONE)
		return fail(EXIT_CONNECT, "%s: %s", addr, ps_errstr(cl->ctx));
	ps_set_timeout(cl->ctx, (int)(cl->timeout_s * 1000));
	return 0;
}

/* ---- main ---- */

struct command {
	const char *name;
	int (*fn)(struct cli *cl, int argc, char **argv);
};

static const struct command commands[] = {
	{ "ls", cmd_ls }, { "show", cmd_show }, { "set", cmd_set }, { "del", cmd_del },
	{ "append", cmd_append }, { "put", cmd_put }, { "get", cmd_get }, { "create", cmd_create },
	{ "rm", cmd_rm }, { "locks", cmd_locks }, { "info", cmd_info },
};

static int parse_options(struct cli *cl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "address", required_argument, NULL, 'a' }, { "authkey-file", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' }, { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "+a:k:jt:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': cl->addr = optarg; break;
		case 'k': cl->keyfile = optarg; break;
		case 'j': cl->json = true; break;
		case 't':
			cl->timeout_s = strtod(optarg, &end);
			if (*end != '\0' || !(cl->timeout_s > 0) || cl->timeout_s > 2e6)
				return fail(EXIT_USAGE, "--timeout: '%s' is not a number of seconds", optarg);
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("procshare %s\n", PS_LIB_VERSION); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	return 0;
}

/* --json may also follow the command. */
static int take_json_flag(struct cli *cl, int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
			cl->json = true;
		else
			argv[n++] = argv[i];
	}
	return n;
}

int main(int argc, char **argv)
{
	struct cli cl = { .timeout_s = CLI_CALL_TIMEOUT_S };
	const struct command *cmd = NULL;
	int status = parse_options(&cl, argc, argv), n;

	if (status != 0)
		return status;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[optind]) == 0)
			cmd = &commands[i];
	if (cmd == NULL)
		return fail(EXIT_USAGE, "unknown command '%s' (see procshare --help)", argv[optind]);
	n = take_json_flag(&cl, argc - optind - 1, argv + optind + 1);
	status = connect_daemon(&cl);
	if (status == 0)
		status = cmd->fn(&cl, n, argv + optind + 1);
	ps_free(cl.ctx);
	return status;
}
