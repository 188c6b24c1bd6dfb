/*
 * The dict's dense table. A record is
 *
 *     u32 hash | u8 flags | varint klen | varint vlen | key | value
 *
 * in one allocation: 7 bytes of header for small entries, so an int key
 * and an 8-character string fit malloc's 32-byte chunk. The index holds
 * entry positions; a probe compares the record's stored hash before its
 * bytes. Removal leaves a hole and a tombstone, swept when the entry array
 * fills up, as in odict.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dtab.h"
#include "registry.h"
#include "val.h"

#define DTAB_TOMB UINT32_MAX
#define DTAB_MIN 8
#define DTAB_MIN_SLOTS 16

/* What a record counts in the registry's stored bytes (memory_values,
 * max-memory): two stored values, each its bytes plus a 16-byte header,
 * as proto/PROTOCOL.md defines it, whatever the record really takes. */
#define REC_CHARGE(klen, vlen) (2 * sizeof(struct val) + (klen) + (vlen))

#define REC_KREFS 1             /* the key holds references */
#define REC_VREFS 2             /* the value holds references */

struct dtab_rec {
	uint32_t hash;
	uint8_t flags;
	uint8_t b[];
};

/* ---- records ---- */

static size_t varint_len(size_t n)
{
	size_t k = 1;

	while (n >= 0x80) {
		n >>= 7;
		k++;
	}
	return k;
}

static uint8_t *varint_put(uint8_t *p, size_t n)
{
	while (n >= 0x80) {
		*p++ = (uint8_t)(n | 0x80);
		n >>= 7;
	}
	*p++ = (uint8_t)n;
	return p;
}

static const uint8_t *varint_get(const uint8_t *p, size_t *n)
{
	size_t v = 0;
	int shift = 0;

	while (*p & 0x80) {
		v |= (size_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*n = v | (size_t)*p++ << shift;
	return p;
}

size_t dtab_rec_size(size_t klen, size_t vlen)
{
	return offsetof(struct dtab_rec, b) + varint_len(klen) + varint_len(vlen) + klen + vlen;
}

const uint8_t *dtab_key(const struct dtab_rec *r, size_t *len)
{
	size_t vlen;

	return varint_get(varint_get(r->b, len), &vlen);
}

const uint8_t *dtab_value(const struct dtab_rec *r, size_t *len)
{
	size_t klen;
	const uint8_t *p = varint_get(varint_get(r->b, &klen), len);

	return p + klen;
}

struct dtab_rec *dtab_rec_new(struct registry *reg, const uint8_t *k, size_t klen, bool krefs, const uint8_t *v,
			      size_t vlen, bool vrefs, uint64_t hash)
{
	size_t size = dtab_rec_size(klen, vlen);
	struct dtab_rec *r = malloc(size);
	uint8_t *p;

	if (r == NULL)
		return NULL;
	r->hash = (uint32_t)hash;
	r->flags = (uint8_t)((krefs ? REC_KREFS : 0) | (vrefs ? REC_VREFS : 0));
	p = varint_put(varint_put(r->b, klen), vlen);
	memcpy(p, k, klen);
	memcpy(p + klen, v, vlen);
	if (krefs)
		val_refs_take(reg, p, klen);
	if (vrefs)
		val_refs_take(reg, p + klen, vlen);
	reg->held_bytes += REC_CHARGE(klen, vlen);
	return r;
}

struct dtab_rec *dtab_rec_with_value(struct registry *reg, const struct dtab_rec *r, const uint8_t *v, size_t vlen,
				     bool vrefs)
{
	size_t klen;
	const uint8_t *k = dtab_key(r, &klen);

	return dtab_rec_new(reg, k, klen, r->flags & REC_KREFS, v, vlen, vrefs, r->hash);
}

uint64_t dtab_rec_hash(const struct dtab_rec *r)
{
	return r->hash;
}

int dtab_rec_set_value(struct registry *reg, struct dtab_rec *r, const uint8_t *v, size_t vlen, bool vrefs)
{
	size_t old_len;
	uint8_t *p = (uint8_t *)dtab_value(r, &old_len);

	if (old_len != vlen)
		return -1;
	/* Take the new references before dropping the old ones, so that an
	 * object both refer to does not die in between. */
	if (vrefs)
		val_refs_take(reg, v, vlen);
	if (r->flags & REC_VREFS)
		val_refs_drop(reg, p, old_len);
	memcpy(p, v, vlen);
	r->flags = (uint8_t)((r->flags & ~REC_VREFS) | (vrefs ? REC_VREFS : 0));
	return 0;
}

void dtab_rec_free(struct registry *reg, struct dtab_rec *r)
{
	size_t klen, vlen, charge;
	const uint8_t *k, *v;

	if (r == NULL)
		return;
	k = dtab_key(r, &klen);
	v = dtab_value(r, &vlen);
	if (r->flags & REC_KREFS)
		val_refs_drop(reg, k, klen);
	if (r->flags & REC_VREFS)
		val_refs_drop(reg, v, vlen);
	charge = REC_CHARGE(klen, vlen);
	reg->held_bytes -= reg->held_bytes < charge ? reg->held_bytes : charge;
	free(r);
}

/* ---- the table ---- */

void dtab_init(struct dtab *t)
{
	memset(t, 0, sizeof *t);
}

void dtab_free(struct dtab *t)
{
	free(t->entries);
	free(t->slots);
	dtab_init(t);
}

static bool rec_is(const struct dtab_rec *r, const uint8_t *k, size_t klen, uint32_t hash)
{
	size_t len;
	const uint8_t *p;

	if (r->hash != hash)
		return false;
	p = dtab_key(r, &len);
	return len == klen && memcmp(p, k, klen) == 0;
}

struct dtab_rec **dtab_find(const struct dtab *t, const uint8_t *k, size_t klen, uint64_t hash)
{
	size_t mask = t->nslots - 1, i;
	uint32_t h = (uint32_t)hash, s;

	if (t->count == 0)
		return NULL;
	for (i = h & mask; (s = t->slots[i]) != 0; i = (i + 1) & mask)
		if (s != DTAB_TOMB && rec_is(t->entries[s - 1], k, klen, h))
			return &t->entries[s - 1];
	return NULL;
}

/* The first empty or removed slot on h's probe path (the key is absent). */
static size_t free_slot(const struct dtab *t, uint32_t h)
{
	size_t mask = t->nslots - 1, i = h & mask;

	while (t->slots[i] != 0 && t->slots[i] != DTAB_TOMB)
		i = (i + 1) & mask;
	return i;
}

/* Rebuilds the index for the live entries, with room for n more. */
static int reindex(struct dtab *t, size_t n)
{
	size_t nslots = DTAB_MIN_SLOTS;
	uint32_t *slots;

	while (nslots * 3 < (t->count + n) * 4)
		nslots *= 2;
	slots = calloc(nslots, sizeof *slots);
	if (slots == NULL)
		return -1;
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	t->tombs = 0;
	for (size_t i = 0; i < t->used; i++)
		if (t->entries[i] != NULL)
			t->slots[free_slot(t, t->entries[i]->hash)] = (uint32_t)(i + 1);
	return 0;
}

/* Sweeps the holes out of the entry array (positions change). */
static void compact(struct dtab *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->used; i++)
		if (t->entries[i] != NULL)
			t->entries[j++] = t->entries[i];
	t->swept += t->used - j;
	t->used = j;
}

int dtab_reserve(struct dtab *t, size_t n)
{
	bool slots_ok = (t->count + t->tombs + n) * 4 <= t->nslots * 3;
	size_t cap;

	if (t->used + n <= t->cap && slots_ok)
		return 0;
	if (t->count + n > UINT32_MAX - 1)
		return -1;
	if (t->used + n > t->cap && t->count + n > t->cap - t->cap / 4) {
		/* Grow by half: the array is most of a dict's overhead. */
		struct dtab_rec **e;
		cap = t->cap ? t->cap : DTAB_MIN;
		while (cap < t->count + n)
			cap += cap / 2;
		e = realloc(t->entries, cap * sizeof *e);
		if (e == NULL)
			return -1;
		t->entries = e;
		t->cap = cap;
	}
	/* The index is rebuilt (first, so failing changes nothing) when it
	 * is too full or when holes are swept, since positions move. */
	if (t->used + n > t->cap) {
		size_t live = t->count;
		uint32_t *old = t->slots;
		t->slots = NULL;
		compact(t);
		if (reindex(t, n) < 0) {
			/* Compaction kept the order; only the index is lost:
			 * rebuild it as it was (no allocation needed). */
			t->slots = old;
			memset(old, 0, t->nslots * sizeof *old);
			t->tombs = 0;
			for (size_t i = 0; i < live; i++)
				old[free_slot(t, t->entries[i]->hash)] = (uint32_t)(i + 1);
			return -1;
		}
		free(old);
	} else if (!slots_ok && reindex(t, n) < 0) {
		return -1;
	}
	return 0;
}

struct dtab_rec **dtab_insert(struct dtab *t, struct dtab_rec *r)
{
	size_t i;

	if (dtab_reserve(t, 1) < 0)
		return NULL;
	i = free_slot(t, r->hash);
	if (t->slots[i] == DTAB_TOMB)
		t->tombs--;
	t->entries[t->used] = r;
	t->slots[i] = (uint32_t)(++t->used);
	t->count++;
	return &t->entries[t->used - 1];
}

void dtab_remove(struct dtab *t, struct dtab_rec **e)
{
	uint32_t pos = (uint32_t)(e - t->entries) + 1;
	size_t mask = t->nslots - 1, i = (*e)->hash & mask;

	while (t->slots[i] != pos)
		i = (i + 1) & mask;
	t->slots[i] = DTAB_TOMB;
	t->tombs++;
	*e = NULL;
	t->count--;
	/* Trailing holes can be reused at once, keeping popitem O(1). */
	while (t->used > 0 && t->entries[t->used - 1] == NULL)
		t->used--;
}

struct dtab_rec **dtab_next(const struct dtab *t, size_t *pos)
{
	while (*pos < t->used) {
		struct dtab_rec **e = &t->entries[(*pos)++];
		if (*e != NULL)
			return e;
	}
	return NULL;
}

struct dtab_rec **dtab_last(const struct dtab *t)
{
	return t->count ? &t->entries[t->used - 1] : NULL;
}
