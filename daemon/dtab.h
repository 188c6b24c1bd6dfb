/*
 * The dict's table: insertion-ordered like odict.h, but dense, because a
 * dict may hold millions of small entries. Each entry is one allocation,
 * a record holding a 32-bit hash, the key's bytes and the value's bytes
 * (where odict keeps two struct vals with 16-byte headers and an entry of
 * two pointers); the entry array holds one pointer per record and the
 * index 4 bytes per slot at most three quarters full. An int -> short str
 * entry costs about 50 bytes in all, against about 110 with odict.
 *
 * A record keeps its key for life; its value changes in place only when
 * the new one has the same size, else a new record takes its entry.
 */
#ifndef DTAB_H
#define DTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct registry;

/* One entry: see dtab.c for the layout; read it with dtab_key/dtab_value. */
struct dtab_rec;

struct dtab {
	struct dtab_rec **entries;      /* insertion order; NULL: removed */
	size_t used;            /* entries filled, removed ones included */
	size_t cap;             /* entries allocated */
	size_t count;           /* live entries */
	size_t tombs;           /* DTAB_TOMB slots in the index */
	uint32_t *slots;        /* 0 empty, DTAB_TOMB removed, else entry index + 1 */
	size_t nslots;          /* power of two */
	/* Holes removed by compaction since the table was initialised (the
	 * dict's scan cursors rely on it as on odict's). */
	uint64_t swept;
};

/* ---- records ---- */

/* A record of canonical key k[0..klen) (hash: its keyed hash) and value
 * v[0..vlen), taking a reference on every object either refers to
 * (krefs/vrefs: whether they hold any). Counted in the registry's stored
 * bytes (as two struct vals would be). NULL on OOM. Free with dtab_rec_free. */
struct dtab_rec *dtab_rec_new(struct registry *reg, const uint8_t *k, size_t klen, bool krefs, const uint8_t *v,
			      size_t vlen, bool vrefs, uint64_t hash);
/* The same key (and hash) with another value. NULL on OOM. */
struct dtab_rec *dtab_rec_with_value(struct registry *reg, const struct dtab_rec *r, const uint8_t *v, size_t vlen,
				     bool vrefs);
/* Gives r the value v[0..vlen) in place when it has the size of r's
 * value (a counter, a flag, a fixed-size field: no allocation). Returns
 * 0, or -1 when the sizes differ (r unchanged: use dtab_rec_with_value). */
int dtab_rec_set_value(struct registry *reg, struct dtab_rec *r, const uint8_t *v, size_t vlen, bool vrefs);
/* Drops the record's references and frees it; NULL is a no-op. */
void dtab_rec_free(struct registry *reg, struct dtab_rec *r);
const uint8_t *dtab_key(const struct dtab_rec *r, size_t *len);
const uint8_t *dtab_value(const struct dtab_rec *r, size_t *len);
/* The key's hash, as dtab_find takes it. */
uint64_t dtab_rec_hash(const struct dtab_rec *r);
/* Bytes a record of klen + vlen bytes of data takes. */
size_t dtab_rec_size(size_t klen, size_t vlen);

/* ---- the table (it never frees records: the caller does) ---- */

void dtab_init(struct dtab *t);
/* Frees the arrays, not the records. */
void dtab_free(struct dtab *t);
/* The entry holding key k[0..klen) of the given hash, or NULL. The entry
 * may be given a new record of the same key (*e = new), which keeps its
 * position. Valid until the next insert or remove. */
struct dtab_rec **dtab_find(const struct dtab *t, const uint8_t *k, size_t klen, uint64_t hash);
/* Makes room so that n more inserts cannot fail. Returns 0, or -1 on OOM. */
int dtab_reserve(struct dtab *t, size_t n);
/* Adds a record whose key is absent. Returns its entry, or NULL on OOM
 * (table unchanged). */
struct dtab_rec **dtab_insert(struct dtab *t, struct dtab_rec *r);
/* Removes an entry (found by dtab_find, dtab_next or dtab_last); the
 * caller frees its record. */
void dtab_remove(struct dtab *t, struct dtab_rec **e);
/* Iterates in insertion order: start with *pos = 0; NULL at the end. */
struct dtab_rec **dtab_next(const struct dtab *t, size_t *pos);
/* The most recently inserted live entry, NULL when empty. */
struct dtab_rec **dtab_last(const struct dtab *t);

#endif
