/*
 * Test vector files (the .txt files in proto/vectors): "name = hex" lines and "#"
 * comments. Test-only code.
 */
#ifndef TVEC_H
#define TVEC_H

#include <stddef.h>
#include <stdint.h>

struct tvec;

/* Loads proto/vectors/<file>. The directory is $PS_VECTORS_DIR, else
 * $PS_SRCDIR/proto/vectors, else the first proto/vectors found walking up
 * from the working directory. Returns NULL (with a message on stderr) when
 * the file cannot be found or a line is malformed. Free with tvec_free. */
struct tvec *tvec_load(const char *file);
void tvec_free(struct tvec *v);

/* The bytes of entry name, or NULL when there is none. */
const uint8_t *tvec_get(const struct tvec *v, const char *name, size_t *len);
/* Entries in file order. */
size_t tvec_count(const struct tvec *v);
const char *tvec_name(const struct tvec *v, size_t i);
const uint8_t *tvec_bytes(const struct tvec *v, size_t i, size_t *len);

/* Decodes hex (whitespace ignored) into a malloc'd buffer; NULL when the
 * text is not an even number of hex digits. Caller frees. */
uint8_t *tvec_unhex(const char *hex, size_t *len);

#endif
