/*
 * The registry of shared objects: every live object by id, named objects
 * by name, and the reference counts that decide when an anonymous object
 * dies (proto/PROTOCOL.md, "Objects").
 *
 * An object's refs count: one per handle a connection holds on it, one per
 * reference stored inside another object's values, and one for its name
 * while it has one. It is destroyed when refs reaches 0.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "odict.h"
#include "ps_buf.h"

struct type;
struct val;

struct object {
	uint64_t id;
	const struct type *type;
	void *data;
	struct val *name;       /* NULL when anonymous */
	uint64_t refs;
};

struct registry {
	struct odict by_id;     /* 8-byte big-endian id -> object */
	struct odict by_name;   /* name bytes -> object */
	uint64_t next_id;       /* ids are never reused */
	uint8_t hash_key[16];   /* siphash key: keeps hash flooding out */
	struct ps_buf scratch;  /* canonicalisation space for lookups */
	bool closing;           /* registry_free in progress */
	/* The object registry_get found last: requests mostly hit the same
	 * object again, and this saves a keyed hash and a probe each. */
	struct object *last;
	size_t held_bytes;      /* live stored values, headers included (val.c) */
	size_t max_bytes;       /* limit on held_bytes + other_bytes (max-memory); 0: none */
	size_t other_bytes;     /* connection buffers, counted in the same budget (conn.c) */
};

/* Sets up an empty registry with a random hash key. Returns 0 or -1. */
int registry_init(struct registry *reg);
/* Destroys every object and frees the registry's storage. */
void registry_free(struct registry *reg);

/* Keyed hash of bytes (siphash-2-4). */
uint64_t registry_hash(const struct registry *reg, const uint8_t *p, size_t len);
/* A value holding raw bytes with its hash set (for table keys). NULL on OOM. */
struct val *registry_key(const struct registry *reg, const void *p, size_t len);

/* Adds a new object owning data with refs 0; the caller takes the first
 * reference. On OOM returns NULL and the caller still owns data. */
struct object *registry_add(struct registry *reg, const struct type *type, void *data);
/* Binds name to obj (which must be anonymous and the name free); takes a
 * reference for the name. Returns 0, or -1 on OOM. */
int registry_name(struct registry *reg, struct object *obj, const char *name, size_t len);
/* Removes obj's name and drops the name's reference. */
void registry_unname(struct registry *reg, struct object *obj);

struct object *registry_get(struct registry *reg, uint64_t id);
struct object *registry_find(const struct registry *reg, const char *name, size_t len);

void registry_incref(struct registry *reg, struct object *obj);
/* Drops one reference; destroys the object when none is left. */
void registry_decref(struct registry *reg, struct object *obj);

#endif
