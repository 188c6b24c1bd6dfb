/*
 * Test vector file loading.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvec.h"

struct tvec_entry {
	char *name;
	uint8_t *bytes;
	size_t len;
};

struct tvec {
	struct tvec_entry *e;
	size_t n;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

uint8_t *tvec_unhex(const char *hex, size_t *len)
{
	size_t n = 0, cap = strlen(hex) / 2 + 1;
	uint8_t *out = malloc(cap);
	int hi = -1;

	if (out == NULL)
		return NULL;
	for (const char *p = hex; *p != '\0'; p++) {
		int d;

		if (isspace((unsigned char)*p))
			continue;
		d = hexval((unsigned char)*p);
		if (d < 0)
			goto fail;
		if (hi < 0) {
			hi = d;
		} else {
			out[n++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto fail;
	*len = n;
	return out;
fail:
	free(out);
	return NULL;
}

/* Opens dir/file for reading; NULL when it is not there. */
static FILE *open_in(const char *dir, const char *file)
{
	char path[4608];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return fopen(path, "r");
}

static FILE *find_file(const char *file)
{
	char dir[2304], up[2048];
	const char *env;
	FILE *f;

	env = getenv("PS_VECTORS_DIR");
	if (env != NULL && *env != '\0')
		return open_in(env, file);
	env = getenv("PS_SRCDIR");
	if (env != NULL && *env != '\0') {
		snprintf(dir, sizeof dir, "%s/proto/vectors", env);
		return open_in(dir, file);
	}
	if (getcwd(up, sizeof up) == NULL)
		return NULL;
	for (;;) {
		char *slash;

		snprintf(dir, sizeof dir, "%s/proto/vectors", up);
		f = open_in(dir, file);
		if (f != NULL)
			return f;
		slash = strrchr(up, '/');
		if (slash == NULL || slash == up)
			return NULL;
		*slash = '\0';
	}
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int add_line(struct tvec *v, char *line, const char *file, int lineno)
{
	char *eq = strchr(line, '='), *name, *hex;
	struct tvec_entry *e;

	if (eq == NULL) {
		fprintf(stderr, "%s:%d: expected name = hex\n", file, lineno);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	hex = trim(eq + 1);
	e = realloc(v->e, (v->n + 1) * sizeof *v->e);
	if (e == NULL)
		return -1;
	v->e = e;
	e = &v->e[v->n];
	e->name = strdup(name);
	e->bytes = tvec_unhex(hex, &e->len);
	if (e->name == NULL || e->bytes == NULL) {
		fprintf(stderr, "%s:%d: bad hex for %s\n", file, lineno, name);
		free(e->name);
		free(e->bytes);
		return -1;
	}
	v->n++;
	return 0;
}

struct tvec *tvec_load(const char *file)
{
	struct tvec *v;
	char line[8192];
	int lineno = 0;
	FILE *f = find_file(file);

	if (f == NULL) {
		fprintf(stderr, "cannot find proto/vectors/%s (set PS_SRCDIR or PS_VECTORS_DIR): %s\n",
			file, strerror(errno));
		return NULL;
	}
	v = calloc(1, sizeof *v);
	if (v == NULL)
		goto fail;
	while (fgets(line, sizeof line, f) != NULL) {
		char *s = trim(line);

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		if (add_line(v, s, file, lineno) < 0)
			goto fail;
	}
	fclose(f);
	return v;
fail:
	fclose(f);
	tvec_free(v);
	return NULL;
}

void tvec_free(struct tvec *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->e[i].name);
		free(v->e[i].bytes);
	}
	free(v->e);
	free(v);
}

const uint8_t *tvec_get(const struct tvec *v, const char *name, size_t *len)
{
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->e[i].name, name) == 0) {
			*len = v->e[i].len;
			return v->e[i].bytes;
		}
	}
	return NULL;
}

size_t tvec_count(const struct tvec *v)
{
	return v->n;
}

const char *tvec_name(const struct tvec *v, size_t i)
{
	return v->e[i].name;
}

const uint8_t *tvec_bytes(const struct tvec *v, size_t i, size_t *len)
{
	*len = v->e[i].len;
	return v->e[i].bytes;
}
