/*
 * A growable byte buffer with a read position, used for socket input and
 * output and for building messages. Both daemon and client use it.
 */
#ifndef PS_BUF_H
#define PS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ps_buf {
	uint8_t *data;
	size_t len;   /* bytes written */
	size_t pos;   /* bytes consumed from the front */
	size_t cap;
	int oom;      /* set when an append failed; cleared by ps_buf_init */
};

/* Initialises an empty buffer; no allocation until the first write. */
void ps_buf_init(struct ps_buf *b);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void ps_buf_free(struct ps_buf *b);
/* Makes room for n more bytes after len. Returns 0, or -1 on OOM. */
int ps_buf_reserve(struct ps_buf *b, size_t n);
/* Appends n bytes. Returns 0, or -1 on OOM (the buffer is unchanged and
 * oom is set, so a sequence of appends can be checked once at the end). */
int ps_buf_append(struct ps_buf *b, const void *p, size_t n);
/* Marks n bytes at the front as consumed; resets when all are consumed. */
void ps_buf_consume(struct ps_buf *b, size_t n);
/* Moves unconsumed bytes to the front so that pos is 0. */
void ps_buf_compact(struct ps_buf *b);
/* Unconsumed bytes. */
static inline size_t ps_buf_avail(const struct ps_buf *b) { return b->len - b->pos; }
/* msgpack_packer write callback; data is a struct ps_buf. */
int ps_buf_write_cb(void *data, const char *p, size_t n);

#endif
