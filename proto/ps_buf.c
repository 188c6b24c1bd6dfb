/*
 * Growable byte buffer. Growth doubles so appends cost amortised O(1).
 */
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"

void ps_buf_init(struct ps_buf *b)
{
	b->data = NULL;
	b->len = b->pos = b->cap = 0;
	b->oom = 0;
}

void ps_buf_free(struct ps_buf *b)
{
	free(b->data);
	ps_buf_init(b);
}

int ps_buf_reserve(struct ps_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (n <= b->cap - b->len)
		return 0;
	if (b->pos > 0 && n <= b->cap - b->len + b->pos) {
		ps_buf_compact(b);
		return 0;
	}
	need = b->len - b->pos + n;
	if (need < n)
		return -1;
	cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	ps_buf_compact(b);
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int ps_buf_append(struct ps_buf *b, const void *p, size_t n)
{
	/* The packer appends a few bytes at a time: the common case first. */
	if (n <= b->cap - b->len) {
		if (n == 1)
			b->data[b->len] = *(const uint8_t *)p;
		else if (n > 0)
			memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	if (ps_buf_reserve(b, n) < 0) {
		b->oom = 1;
		return -1;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void ps_buf_consume(struct ps_buf *b, size_t n)
{
	b->pos += n;
	if (b->pos >= b->len)
		b->pos = b->len = 0;
}

void ps_buf_compact(struct ps_buf *b)
{
	if (b->pos == 0)
		return;
	memmove(b->data, b->data + b->pos, b->len - b->pos);
	b->len -= b->pos;
	b->pos = 0;
}

int ps_buf_write_cb(void *data, const char *p, size_t n)
{
	return ps_buf_append(data, p, n);
}
