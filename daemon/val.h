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
 * object it refers to. Returns NULL on OOM, or past the memory limit. Free with val_free. */
struct val *val_new(struct registry *reg, const uint8_t *canon, size_t len, uint32_t nrefs);
/* True when a value of len bytes would take the stored values past the
 * memory limit (max-memory); val_new then returns NULL. */
bool val_over_limit(const struct registry *reg, size_t len);
/* Drops the value's references and frees it. val_free(reg, NULL) is a no-op. */
void val_free(struct registry *reg, struct val *v);
/* For values stored outside a struct val (the dict's records, dtab.h): take
 * a reference on every object the canonical value p[0..len) refers to, or
 * drop them (as val_new and val_free do). */
void val_refs_take(struct registry *reg, const uint8_t *p, size_t len);
void val_refs_drop(struct registry *reg, const uint8_t *p, size_t len);
/* True when v's bytes are p[0..len). */
static inline bool val_eq(const struct val *v, const uint8_t *p, size_t len);

#include <string.h>
static inline bool val_eq(const struct val *v, const uint8_t *p, size_t len)
{
	return v->len == len && memcmp(v->data, p, len) == 0;
}

#endif
