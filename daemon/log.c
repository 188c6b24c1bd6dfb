/*
 * Logging. The level and the journal check are process-wide settings made
 * once at start-up, hence the two statics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_level max_level = LOG_INFO;
static int journal = -1;

void log_set_level(enum log_level level)
{
	max_level = level;
}

int log_parse_level(const char *s)
{
	static const struct { const char *name; enum log_level level; } names[] = {
		{ "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { [LOG_ERROR] = "error", [LOG_WARN] = "warning",
					    [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (journal)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "procshared: %s: %s\n", tags[level], line);
}
