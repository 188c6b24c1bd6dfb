/*
 * Object registry and reference counting.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "registry.h"
#include "types.h"
#include "val.h"

int registry_init(struct registry *reg)
{
	memset(reg, 0, sizeof *reg);
	odict_init(&reg->by_id);
	odict_init(&reg->by_name);
	ps_buf_init(&reg->scratch);
	reg->next_id = 1;
	randombytes_buf(reg->hash_key, sizeof reg->hash_key);
	return 0;
}

void registry_free(struct registry *reg)
{
	struct odict_entry *e;
	size_t pos = 0;

	/* References between objects no longer matter: free everything flat. */
	reg->closing = true;
	reg->last = NULL;
	while ((e = odict_next(&reg->by_id, &pos)) != NULL) {
		struct object *obj = e->value;
		obj->type->destroy(reg, obj->data);
		free(obj->name);
		free(obj);
		free(e->key);
	}
	pos = 0;
	while ((e = odict_next(&reg->by_name, &pos)) != NULL)
		free(e->key);
	odict_free(&reg->by_id);
	odict_free(&reg->by_name);
	ps_buf_free(&reg->scratch);
}

uint64_t registry_hash(const struct registry *reg, const uint8_t *p, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, p, len, reg->hash_key);
	memcpy(&h, out, sizeof h);
	return h;
}

struct val *registry_key(const struct registry *reg, const void *p, size_t len)
{
	struct val *v = malloc(sizeof *v + len);

	if (v == NULL)
		return NULL;
	v->len = (uint32_t)len;
	v->nrefs = 0;
	memcpy(v->data, p, len);
	v->hash = registry_hash(reg, v->data, len);
	return v;
}

static void id_bytes(uint8_t out[8], uint64_t id)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(id >> (56 - 8 * i));
}

struct object *registry_add(struct registry *reg, const struct type *type, void *data)
{
	struct object *obj = calloc(1, sizeof *obj);
	uint8_t idb[8];
	struct val *key;

	if (obj == NULL)
		return NULL;
	obj->id = reg->next_id;
	obj->type = type;
	obj->data = data;
	id_bytes(idb, obj->id);
	key = registry_key(reg, idb, sizeof idb);
	if (key == NULL || odict_insert(&reg->by_id, key, obj) == NULL) {
		free(key);
		free(obj);
		return NULL;
	}
	reg->next_id++;
	return obj;
}

int registry_name(struct registry *reg, struct object *obj, const char *name, size_t len)
{
	struct val *key = registry_key(reg, name, len);

	if (key == NULL)
		return -1;
	obj->name = registry_key(reg, name, len);
	if (obj->name == NULL || odict_insert(&reg->by_name, key, obj) == NULL) {
		free(obj->name);
		obj->name = NULL;
		free(key);
		return -1;
	}
	obj->refs++;
	return 0;
}

void registry_unname(struct registry *reg, struct object *obj)
{
	struct odict_entry *e;

	if (obj->name == NULL)
		return;
	e = odict_find(&reg->by_name, obj->name->data, obj->name->len, obj->name->hash);
	if (e != NULL) {
		struct val *k = e->key;
		odict_remove(&reg->by_name, e);
		free(k);
	}
	free(obj->name);
	obj->name = NULL;
	registry_decref(reg, obj);
}

struct object *registry_get(struct registry *reg, uint64_t id)
{
	uint8_t idb[8];
	struct odict_entry *e;

	if (reg->last != NULL && reg->last->id == id)
		return reg->last;
	id_bytes(idb, id);
	e = odict_find(&reg->by_id, idb, sizeof idb, registry_hash(reg, idb, sizeof idb));
	if (e == NULL)
		return NULL;
	/* Not while registry_free destroys objects without unlinking them. */
	if (!reg->closing)
		reg->last = e->value;
	return e->value;
}

struct object *registry_find(const struct registry *reg, const char *name, size_t len)
{
	struct odict_entry *e;

	e = odict_find(&reg->by_name, (const uint8_t *)name, len, registry_hash(reg, (const uint8_t *)name, len));
	return e ? e->value : NULL;
}

void registry_incref(struct registry *reg, struct object *obj)
{
	(void)reg;
	obj->refs++;
}

void registry_decref(struct registry *reg, struct object *obj)
{
	uint8_t idb[8];
	struct odict_entry *e;

	if (reg->closing || --obj->refs > 0)
		return;
	if (reg->last == obj)
		reg->last = NULL;
	id_bytes(idb, obj->id);
	e = odict_find(&reg->by_id, idb, sizeof idb, registry_hash(reg, idb, sizeof idb));
	if (e != NULL) {
		struct val *k = e->key;
		odict_remove(&reg->by_id, e);
		free(k);
	}
	/* Destroying may drop references to other objects, which may die too. */
	obj->type->destroy(reg, obj->data);
	free(obj);
}
