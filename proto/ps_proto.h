/*
 * Protocol constants shared by procshared and libprocshare: the protocol
 * version, the named limits and the stable error codes that travel on the
 * wire. proto/PROTOCOL.md is the normative description of all of them.
 */
#ifndef PS_PROTO_H
#define PS_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Bump PS_PROTO_VERSION whenever anything on the wire changes meaning. */
#define PS_PROTO_VERSION 1

/* Largest encoded message either side accepts unless configured otherwise. */
#define PS_MAX_MESSAGE_DEFAULT (16u * 1024u * 1024u)
/* Smallest maximum a daemon may be configured with. */
#define PS_MAX_MESSAGE_MIN 1024u
/* Deepest nesting of arrays and maps inside one message (the message's own
 * top-level array counts as level 1). */
#define PS_MAX_DEPTH 32
/* Deepest nesting of a stored value (a scalar is depth 1). Replies wrap
 * values in up to 4 levels (response, items array, pair), so this leaves
 * room for any reply under PS_MAX_DEPTH. */
#define PS_MAX_VALUE_DEPTH (PS_MAX_DEPTH - 4)
/* Longest object name, in bytes. */
#define PS_MAX_NAME 255
/* Paged reads of big containers (dict.scan, list.scan): most entries one
 * page holds, and the size past which a page ends early (a page holds at
 * least one entry), so every reply stays small whatever the container. */
#define PS_PAGE_MAX_ITEMS 10000
#define PS_PAGE_MAX_BYTES (1024u * 1024u)
/* Milliseconds an unauthenticated peer may take to finish the handshake. */
#define PS_HANDSHAKE_TIMEOUT_MS 5000

/* MessagePack-RPC message kinds. */
#define PS_MSG_REQUEST 0
#define PS_MSG_RESPONSE 1
#define PS_MSG_NOTIFY 2

/* The extension type that references another shared object; its payload is
 * the object's 64-bit id, big-endian (always encoded as fixext 8). */
#define PS_EXT_REF 1

/* Stable error codes sent in error responses. Their names (ps_code_name) are
 * what travels; the numbers are only this implementation's. */
enum ps_code {
	PS_OK = 0,
	PS_E_KEY,          /* KeyError: missing dict key */
	PS_E_INDEX,        /* IndexError: index out of range, pop from empty */
	PS_E_VALUE,        /* ValueError: value not present, bad argument value */
	PS_E_TYPE,         /* TypeError: wrong argument type or count */
	PS_E_NOSUCHOBJECT, /* NoSuchObject: unknown handle or name */
	PS_E_NOSUCHMETHOD, /* NoSuchMethod: unknown method name */
	PS_E_AUTH,         /* AuthFailed: handshake failed */
	PS_E_TOOLARGE,     /* TooLarge: message or reply over the size limit */
	PS_E_TIMEOUT,      /* Timeout: a blocking call ran out of time */
	PS_E_NOMEM,        /* OutOfMemory: the daemon could not allocate */
	PS_E_PROTOCOL,     /* ProtocolError: malformed message */
	PS_E_EXISTS,       /* Exists: a name is taken by an object of another type */
	PS_E_LIMIT,        /* LimitExceeded: a configured limit refused the request */
	PS_E_SHUTDOWN,     /* Shutdown: the daemon is stopping */
	PS_E_OVERFLOW,     /* OverflowError: arithmetic result out of range */
	PS_E_EMPTY,        /* Empty: get from an empty queue without waiting, or timed out */
	PS_E_FULL,         /* Full: put to a full queue without waiting, or timed out */
	PS_E_RUNTIME,      /* RuntimeError: releasing a lock the caller does not hold */
	PS_E_BROKENBARRIER, /* BrokenBarrierError: a barrier was broken (timeout, abort, reset, a party died) */
	PS_E_ATTRIBUTE,    /* AttributeError: a Namespace has no such attribute */
	PS_E__COUNT
};

/* The wire name of a code ("KeyError"); never NULL. */
const char *ps_code_name(enum ps_code code);
/* The code for a wire name, or -1 when the name is not a known code. */
int ps_code_from_name(const char *name, size_t len);

#endif
