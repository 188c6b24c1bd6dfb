/*
 * One request being answered: what a method sees. Arguments are read in
 * order from c->args; the result is written with the call_result_*
 * helpers or directly with the packer c->pk, which appends to the reply.
 */
#ifndef CALL_H
#define CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "ps_proto.h"
#include "ps_rpc.h"

struct conn;
struct daemon;
struct object;
struct registry;
struct val;

struct call {
	struct daemon *d;
	struct registry *reg;
	struct conn *conn;
	struct object *obj;     /* the target of a type method; NULL for globals */
	struct ps_args args;    /* arguments not yet read (the handle is taken) */
	struct ps_buf *out;     /* the reply being built */
	msgpack_packer pk;      /* appends to out */
	uint32_t msgid;
	uint32_t canon_nrefs;   /* references found by the last call_canon */
	enum ps_code code;      /* set by call_error */
	char msg[256];
};

/* Records an error for the reply; always returns -1. */
int call_error(struct call *c, enum ps_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Argument readers. Each fails with TypeError naming what when the
 * argument is missing or of the wrong type. */
int call_arg_raw(struct call *c, const char *what, const uint8_t **v, size_t *len);
int call_arg_int(struct call *c, const char *what, int64_t *out);
int call_arg_str(struct call *c, const char *what, const char **s, size_t *len);
/* Optional arguments: absent or nil leaves *present false. */
int call_arg_opt_int(struct call *c, const char *what, int64_t *out, bool *present);
int call_arg_opt_bool(struct call *c, const char *what, bool *out);
/* An optional timeout in seconds (int or float; absent or nil: forever),
 * as the milliseconds wait_park takes: rounded up, so a tiny positive
 * timeout still waits; -1 for forever. ValueError when negative or NaN,
 * OverflowError above CALL_TIMEOUT_MAX seconds. */
#define CALL_TIMEOUT_MAX 1e9
int call_arg_timeout(struct call *c, const char *what, int64_t *ms);
/* True when another argument follows. */
bool call_has_arg(const struct call *c);
/* TypeError when arguments are left over. */
int call_no_more(struct call *c);

/* Canonicalises a raw argument into a stored value (key: reject maps),
 * checking that every reference in it names a live object. NULL after
 * call_error. */
struct val *call_val(struct call *c, const uint8_t *raw, size_t len, bool key);
/* Canonicalises into the scratch buffer without storing (for lookups);
 * The result points into registry scratch space, valid until the next
 * call_canon or call_val.
 * Returns 0 or -1 after call_error. */
int call_canon(struct call *c, const uint8_t *raw, size_t len, bool key, const uint8_t **p, size_t *plen);
/* A key and a value canonicalised together, for containers that store
 * them in one record (the dict). */
struct call_kv {
	const uint8_t *k, *v;   /* in registry scratch space, as call_canon's */
	size_t klen, vlen;
	uint32_t krefs, vrefs;  /* references inside each */
	uint64_t hash;          /* call_hash of the key */
};
/* Canonicalises a key (maps refused) and a value, checks their references
 * and the memory limit (as call_val does). Returns 0, or -1 after
 * call_error. Valid until the next call_canon, call_canon_kv or call_val. */
int call_canon_kv(struct call *c, const uint8_t *kraw, size_t klen, const uint8_t *vraw, size_t vlen,
		  struct call_kv *kv);
/* The keyed hash used by containers for canonical bytes. */
uint64_t call_hash(const struct call *c, const uint8_t *p, size_t len);

/* LimitExceeded when a container holding have items cannot take more:
 * the max-items limit (SECURITY.md). Containers call it before changing
 * anything. Returns 0, or -1 after call_error. */
int call_room(struct call *c, size_t have, size_t more);

/* Result writers. */
void call_result_nil(struct call *c);
void call_result_bool(struct call *c, bool b);
void call_result_uint(struct call *c, uint64_t u);
void call_result_int(struct call *c, int64_t i);
void call_result_val(struct call *c, const struct val *v);
void call_result_raw(struct call *c, const uint8_t *p, size_t len);


#endif
