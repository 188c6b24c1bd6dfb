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
};

extern const struct type dict_type;
extern const struct type list_type;

/* Looks a type up by name; NULL when unknown. */
const struct type *types_find(const char *name, size_t len);
/* Looks a method up by name; NULL when unknown. */
const struct method *types_method(const struct type *t, const char *name, size_t len);

#endif
