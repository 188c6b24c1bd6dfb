/*
 * The shared types. Each type lives in its own file in daemon/types/ and
 * exports one const struct type; types.c lists them all. A new type is one
 * new file and one line in that list.
 */
#ifndef TYPES_H
#define TYPES_H

#include <stddef.h>

struct call;
struct registry;

/* A method: reads its arguments from the call, writes exactly one result
 * value with call_result_* (or the packer c->pk) and returns 0, or returns
 * call_error(...) (-1) having written nothing. */
struct method {
	const char *name;
	int (*fn)(struct call *c, void *data);
};

struct type {
	const char *name;                       /* "dict", "list", ... */
	/* Builds the object's state from the remaining create arguments
	 * (c->args). Returns NULL after call_error. */
	void *(*create)(struct call *c);
	/* Frees the state, dropping references held by stored values. */
	void (*destroy)(struct registry *reg, void *data);
	/* Number of items, for listings. */
	size_t (*size)(const void *data);
	const struct method *methods;           /* ends with { NULL, NULL } */
	/* Optional (NULL: none): writes one value, a map, to c->pk saying
	 * what an operator inspecting the object should see beyond its size
	 * and parked calls, which the "describe" global adds itself: a lock's
	 * holders, say. stats_pack_conn (stats.h) names a connection. */
	void (*describe)(struct call *c, void *data);
};

extern const struct type dict_type;
extern const struct type list_type;
extern const struct type queue_type;
extern const struct type joinablequeue_type;
extern const struct type namespace_type;
extern const struct type value_type;
extern const struct type array_type;
extern const struct type set_type;
extern const struct type lock_type;
extern const struct type rlock_type;
extern const struct type semaphore_type;
extern const struct type boundedsemaphore_type;
extern const struct type condition_type;
extern const struct type event_type;
extern const struct type barrier_type;

/* Looks a type up by name; NULL when unknown. */
const struct type *types_find(const char *name, size_t len);
/* Looks a method up by name; NULL when unknown. */
const struct method *types_method(const struct type *t, const char *name, size_t len);

#endif
