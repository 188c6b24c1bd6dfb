/*
 * Ordered hash table. Removal leaves a hole in the entry array and a
 * tombstone in the index; both are swept when the entry array fills up, so
 * a table that churns keys does not grow without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "odict.h"
#include "val.h"

#define ODICT_TOMB UINT32_MAX
#define ODICT_MIN 8

void odict_init(struct odict *d)
{
	memset(d, 0, sizeof *d);
}

void odict_free(struct odict *d)
{
	free(d->entries);
	free(d->slots);
	odict_init(d);
}

/* Slot holding key, or the slot where it would go (*found = 0). */
static size_t probe(const struct odict *d, const uint8_t *p, size_t len, uint64_t hash, int *found)
{
	size_t mask = d->nslots - 1, i = (size_t)hash & mask, free_slot = SIZE_MAX;

	for (;;) {
		uint32_t s = d->slots[i];
		if (s == 0) {
			*found = 0;
			return free_slot != SIZE_MAX ? free_slot : i;
		}
		if (s == ODICT_TOMB) {
			if (free_slot == SIZE_MAX)
				free_slot = i;
		} else {
			const struct val *k = d->entries[s - 1].key;
			if (k->hash == hash && val_eq(k, p, len)) {
				*found = 1;
				return i;
			}
		}
		i = (i + 1) & mask;
	}
}

struct odict_entry *odict_find(const struct odict *d, const uint8_t *p, size_t len, uint64_t hash)
{
	int found;
	size_t i;

	if (d->count == 0)
		return NULL;
	i = probe(d, p, len, hash, &found);
	return found ? &d->entries[d->slots[i] - 1] : NULL;
}

/* Compacts the entries into a new array of cap and rebuilds the index. */
static int rebuild(struct odict *d, size_t cap)
{
	size_t nslots = ODICT_MIN * 2, j = 0;
	struct odict_entry *e;
	uint32_t *slots;
	int found;

	while (nslots < cap * 2)
		nslots *= 2;
	if (cap > UINT32_MAX - 1)
		return -1;
	e = malloc(cap * sizeof *e);
	slots = calloc(nslots, sizeof *slots);
	if (e == NULL || slots == NULL) {
		free(e);
		free(slots);
		return -1;
	}
	for (size_t i = 0; i < d->used; i++)
		if (d->entries[i].key != NULL)
			e[j++] = d->entries[i];
	free(d->entries);
	free(d->slots);
	d->swept += d->used - j;
	d->entries = e;
	d->slots = slots;
	d->nslots = nslots;
	d->cap = cap;
	d->used = j;
	d->tombs = 0;
	for (size_t i = 0; i < j; i++) {
		const struct val *k = e[i].key;
		d->slots[probe(d, k->data, k->len, k->hash, &found)] = (uint32_t)(i + 1);
	}
	return 0;
}

int odict_reserve(struct odict *d, size_t n)
{
	size_t cap;

	/* Probing ends at an empty slot: keep live and removed slots at
	 * most half of the index, or a churned table would probe forever. */
	if (d->used + n <= d->cap && (d->count + d->tombs + n) * 2 <= d->nslots)
		return 0;
	/* Sweep holes when that alone makes room for long enough. */
	cap = d->cap ? d->cap : ODICT_MIN;
	while (cap < (d->count + n) * 3 / 2)
		cap *= 2;
	return rebuild(d, cap);
}

struct odict_entry *odict_insert(struct odict *d, struct val *key, void *value)
{
	struct odict_entry *e;
	int found;
	size_t i;

	if (odict_reserve(d, 1) < 0)
		return NULL;
	i = probe(d, key->data, key->len, key->hash, &found);
	if (d->slots[i] == ODICT_TOMB)
		d->tombs--;
	e = &d->entries[d->used];
	e->key = key;
	e->value = value;
	d->slots[i] = (uint32_t)(++d->used);
	d->count++;
	return e;
}

void odict_remove(struct odict *d, struct odict_entry *e)
{
	const struct val *k = e->key;
	int found;
	size_t i = probe(d, k->data, k->len, k->hash, &found);

	d->slots[i] = ODICT_TOMB;
	d->tombs++;
	e->key = NULL;
	e->value = NULL;
	d->count--;
	/* Trailing holes can be reused at once, keeping popitem O(1). */
	while (d->used > 0 && d->entries[d->used - 1].key == NULL)
		d->used--;
}

struct odict_entry *odict_next(const struct odict *d, size_t *pos)
{
	while (*pos < d->used) {
		struct odict_entry *e = &d->entries[(*pos)++];
		if (e->key != NULL)
			return e;
	}
	return NULL;
}

struct odict_entry *odict_last(const struct odict *d)
{
	return d->count ? &d->entries[d->used - 1] : NULL;
}
