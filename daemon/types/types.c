/*
 * The table of shared types.
 */
#include <string.h>

#include "types.h"

static const struct type *const all_types[] = {
	&dict_type,
	&list_type,
	&queue_type,
	&joinablequeue_type,
	&namespace_type,
	&value_type,
	&array_type,
	&set_type,
	&lock_type,
	&rlock_type,
	&semaphore_type,
	&boundedsemaphore_type,
	&condition_type,
	&event_type,
	&barrier_type,
};

const struct type *types_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
		if (strlen(all_types[i]->name) == len && memcmp(all_types[i]->name, name, len) == 0)
			return all_types[i];
	return NULL;
}

const struct method *types_method(const struct type *t, const char *name, size_t len)
{
	for (const struct method *m = t->methods; m->name != NULL; m++)
		if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
			return m;
	return NULL;
}
