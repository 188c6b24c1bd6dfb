/*
 * Stored values and the references they hold.
 */
#include <stdlib.h>
#include <string.h>

#include "ps_mp.h"
#include "registry.h"
#include "val.h"

static void incref_cb(uint64_t id, void *arg)
{
	struct registry *reg = arg;
	struct object *obj = registry_get(reg, id);

	/* call_val checked every id before the value was built. */
	if (obj != NULL)
		registry_incref(reg, obj);
}

static void decref_cb(uint64_t id, void *arg)
{
	struct registry *reg = arg;
	struct object *obj = registry_get(reg, id);

	if (obj != NULL)
		registry_decref(reg, obj);
}

void val_refs_take(struct registry *reg, const uint8_t *p, size_t len)
{
	ps_mp_foreach_ref(p, len, incref_cb, reg);
}

void val_refs_drop(struct registry *reg, const uint8_t *p, size_t len)
{
	if (!reg->closing)
		ps_mp_foreach_ref(p, len, decref_cb, reg);
}

bool val_over_limit(const struct registry *reg, size_t len)
{
	size_t need = sizeof(struct val) + len;
	size_t used = reg->held_bytes + reg->other_bytes;

	return reg->max_bytes != 0 && (used > reg->max_bytes || need > reg->max_bytes - used);
}

struct val *val_new(struct registry *reg, const uint8_t *canon, size_t len, uint32_t nrefs)
{
	struct val *v;

	if (len > UINT32_MAX || val_over_limit(reg, len))
		return NULL;
	v = malloc(sizeof *v + len);
	if (v == NULL)
		return NULL;
	reg->held_bytes += sizeof *v + len;
	v->len = (uint32_t)len;
	v->nrefs = nrefs;
	memcpy(v->data, canon, len);
	v->hash = registry_hash(reg, v->data, len);
	if (nrefs > 0)
		ps_mp_foreach_ref(v->data, v->len, incref_cb, reg);
	return v;
}

void val_free(struct registry *reg, struct val *v)
{
	if (v == NULL)
		return;
	if (v->nrefs > 0 && !reg->closing)
		ps_mp_foreach_ref(v->data, v->len, decref_cb, reg);
	reg->held_bytes -= reg->held_bytes < sizeof *v + v->len ? reg->held_bytes : sizeof *v + v->len;
	free(v);
}
