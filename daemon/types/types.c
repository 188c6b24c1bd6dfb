/*
 * The table of shared types.
 */
#include <stdbool.h>
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

/* Whether the NUL-terminated s is the len bytes at name. Every request
 * looks up a type and a method: the first byte rules out most names
 * before any strlen. */
static bool name_is(const char *s, const char *name, size_t len)
{
	return len > 0 && s[0] == name[0] && strlen(s) == len && memcmp(s, name, len) == 0;
}

const struct type *types_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
		if (name_is(all_types[i]->name, name, len))
			return all_types[i];
	return NULL;
}

const struct method *types_method(const struct type *t, const char *name, size_t len)
{
	for (const struct method *m = t->methods; m->name != NULL; m++)
		if (name_is(m->name, name, len))
			return m;
	return NULL;
}
