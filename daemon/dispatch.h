/*
 * Turns one complete message into one reply: decodes it, finds the global
 * function or the type's method, runs it and encodes the result or error.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ps_buf.h"

struct conn;
struct daemon;

/* Handles the message p[0..n) from conn, appending any reply to out. */
void dispatch_message(struct daemon *d, struct conn *conn, const uint8_t *p, size_t n, struct ps_buf *out);

#endif
