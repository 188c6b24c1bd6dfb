/*
 * MessagePack-RPC messages: decoding a complete message into its parts,
 * reading the parameters one by one, and encoding requests, responses,
 * errors and notifications.
 */
#ifndef PS_RPC_H
#define PS_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"
#include "ps_mp.h"

/* A cursor over a sequence of encoded values (the params of a request). */
struct ps_args {
	const uint8_t *p;
	size_t n;
	uint32_t left;          /* values not yet read */
};

struct ps_rpc_msg {
	int type;               /* PS_MSG_REQUEST, _RESPONSE or _NOTIFY */
	uint32_t msgid;         /* requests and responses */
	const uint8_t *method;  /* requests and notifications; not NUL-terminated */
	size_t method_len;
	struct ps_args params;  /* requests and notifications */
	const uint8_t *error;   /* responses: the error object (nil when none) */
	size_t error_len;
	const uint8_t *result;  /* responses: the result object */
	size_t result_len;
};

/* Splits the complete message p[0..n) (as found by ps_mp_scan). Returns 0,
 * or -1 with a reason in err when it is not a well-formed message; *msgid_ok
 * then says whether m->msgid could still be read, so that the error can be
 * answered. */
int ps_rpc_decode(const uint8_t *p, size_t n, struct ps_rpc_msg *m, bool *msgid_ok, char *err, size_t errlen);

/* Takes the next value's raw span. Returns 0, or -1 when none is left. */
int ps_args_next(struct ps_args *a, const uint8_t **v, size_t *len);
/* Takes the next value as a token (for scalars; the token's payload pointer
 * stays valid). Returns 0, or -1 when none is left. */
int ps_args_tok(struct ps_args *a, struct ps_mp_tok *t);

/* Encodes a request header [0, msgid, method, [ and the caller appends
 * nparams values. */
void ps_rpc_put_request(msgpack_packer *pk, uint32_t msgid, const char *method, uint32_t nparams);
/* Encodes [1, msgid, nil, and the caller appends one result value. */
void ps_rpc_put_result_hdr(msgpack_packer *pk, uint32_t msgid);
/* Encodes a complete error response [1, msgid, [code, message], nil]. */
void ps_rpc_put_error(msgpack_packer *pk, uint32_t msgid, enum ps_code code, const char *msg);
/* Encodes a complete notification [2, "error", [code, message]], sent when
 * an error cannot be tied to a request. */
void ps_rpc_put_error_notify(msgpack_packer *pk, enum ps_code code, const char *msg);

/* Reads an error object [code, message]: *code gets the known code (or
 * PS_E_PROTOCOL for unknown names), name/msg are copied NUL-terminated.
 * Returns 0, or -1 when the object is not of that shape. */
int ps_rpc_read_error(const uint8_t *p, size_t n, int *code, char *name, size_t namelen, char *msg, size_t msglen);

#endif
