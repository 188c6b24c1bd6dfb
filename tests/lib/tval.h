/*
 * MessagePack values written as text, for readable tests:
 *   nil true false 42 -7 1.5 "str" b"00ff" (bin, hex) [1, "a"] {"k": 1}
 *   ref(7) (a reference, ext 1) ext(5, "0a0b") (any other ext)
 * tval_enc parses such text into encoded bytes; tval_text renders encoded
 * bytes back in the same notation (floats with %.17g, trimmed), so a test
 * can compare a result with what Python would print.
 *
 * Returned buffers live in a ring of recent results owned by this module:
 * valid until 64 later calls, never freed by the caller. Not thread-safe;
 * threaded tests use the typed helpers of procshare.h. Test-only code.
 */
#ifndef TVAL_H
#define TVAL_H

#include <stddef.h>
#include <stdint.h>

#include "procshare.h"

/* Encodes text; fails the running cmocka test on a syntax error. */
const uint8_t *tval_enc(const char *text, size_t *len);
/* Renders p[0..n) as text; "<bad>" when it is not one valid value. */
const char *tval_text(const void *p, size_t n);

/* The outcome of a client call as text: when rc is 0, the text of
 * result[0..len) (which it frees); else "!" and the daemon's error code
 * ("!KeyError"), or "!err<kind>: <errstr>" for a local error. */
const char *tval_res(ps_ctx *ctx, int rc, void *result, size_t len);
/* The same for calls without a result: "ok" or the error as above. */
const char *tval_rc(ps_ctx *ctx, int rc);

#endif
