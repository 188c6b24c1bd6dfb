/*
 * The procshare command line tool's value notation, shared by what it
 * reads and what it prints (procshare(1), "VALUES"):
 *
 *   null true false 42 -7 1.5 "text" [1, "a"] {"k": 1, 2: [3]}
 *   b"00ff" (bin, hex digits)   ref(7) (a reference to object 7)
 *
 * A command-line argument that is not such a literal, and does not start
 * with [ { or ", is a string: `procshare set d k hello` stores "hello".
 * Inside brackets a bare word is a string too: [a, b] is ["a", "b"].
 * Output uses the same notation (ext(T, "hex") for other extension
 * types), or JSON with --json (procshare(1) says how values without a
 * JSON form are written). Not part of libprocshare.
 */
#ifndef PS_CLI_H
#define PS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <msgpack.h>

/* Deepest nesting of brackets accepted in an argument. */
#define CLI_MAX_DEPTH 32

/* Parses one command-line argument, appending its MessagePack encoding
 * to out. Returns 0, or -1 with the reason in err. */
int cli_value_parse(const char *text, msgpack_sbuffer *out, char *err, size_t errlen);

/* Writes o in the notation above. */
void cli_value_print(FILE *f, const msgpack_object *o);
/* Writes o as JSON. */
void cli_value_json(FILE *f, const msgpack_object *o);

#endif
