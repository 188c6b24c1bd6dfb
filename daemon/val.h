/*
 * Stored values: one canonical MessagePack encoding per allocation
 * (proto/PROTOCOL.md, "Values and equality"). Two values are equal exactly
 * when their bytes are equal. A value that holds references to other
 * objects keeps each of them alive until the value is freed.
 */
#ifndef VAL_H
#define VAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct registry;

struct val {
	uint32_t len;
	uint32_t nrefs;         /* references inside; 0 for most values */
	uint64_t hash;          /* keyed hash of the bytes (registry's key) */
	uint8_t data[];
};

/* Copies canonical bytes into a new value, taking a reference on every
 * object it refers to. Returns NULL on OOM. Free with val_free. */
struct val *val_new(struct registry *reg, const uint8_t *canon, size_t len, uint32_t nrefs);
/* Drops the value's references and frees it. val_free(reg, NULL) is a no-op. */
void val_free(struct registry *reg, struct val *v);
/* True when v's bytes are p[0..len). */
static inline bool val_eq(const struct val *v, const uint8_t *p, size_t len);

#include <string.h>
static inline bool val_eq(const struct val *v, const uint8_t *p, size_t len)
{
	return v->len == len && memcmp(v->data, p, len) == 0;
}

#endif
