/*
 * Insertion-ordered hash table from byte-string keys (struct val) to
 * pointers: a dense entry array in insertion order plus an open-addressing
 * index into it (the layout CPython's dict uses). Used by the dict type, the
 * registry's id and name tables and each connection's handle table.
 *
 * The table never frees keys or values: callers own them and free them
 * before odict_free (iterate with odict_next).
 */
#ifndef ODICT_H
#define ODICT_H

#include <stddef.h>
#include <stdint.h>

struct val;

struct odict_entry {
	struct val *key;        /* NULL: removed */
	void *value;
};

struct odict {
	struct odict_entry *entries;
	size_t used;            /* entries filled, removed ones included */
	size_t cap;             /* entries allocated */
	size_t count;           /* live entries */
	size_t tombs;           /* ODICT_TOMB slots in the index */
	uint32_t *slots;        /* 0 empty, ODICT_TOMB removed, else entry index + 1 */
	size_t nslots;          /* power of two, at least 2 * cap */
	/* Holes removed by compaction since the table was initialised: an
	 * entry never moves down by more than the growth of this count, which
	 * lets a paging cursor (dict.scan) survive a compaction. */
	uint64_t swept;
};

/* Initialises an empty table (no allocation). */
void odict_init(struct odict *d);
/* Frees the table's arrays (not keys or values). */
void odict_free(struct odict *d);
/* Finds key p[0..len) whose hash is hash; NULL when absent. */
struct odict_entry *odict_find(const struct odict *d, const uint8_t *p, size_t len, uint64_t hash);
/* Adds key (absent; key->hash set) with value. The entry pointer returned is
 * valid until the next insert. Returns NULL on OOM (table unchanged). */
struct odict_entry *odict_insert(struct odict *d, struct val *key, void *value);
/* Makes room so that n more inserts cannot fail. Returns 0, or -1 on OOM. */
int odict_reserve(struct odict *d, size_t n);
/* Removes an entry found by odict_find/odict_next; the caller frees its key
 * (after this call: the key is used to find the index slot)
 * and value. Entries keep their positions (no compaction until an insert). */
void odict_remove(struct odict *d, struct odict_entry *e);
/* Iterates in insertion order: start with *pos = 0. NULL at the end. */
struct odict_entry *odict_next(const struct odict *d, size_t *pos);
/* The most recently inserted live entry, NULL when empty. */
struct odict_entry *odict_last(const struct odict *d);

#endif
