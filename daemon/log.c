/*
 * Logging. The level, the journal check and the log file are process-wide
 * settings made at start-up (and on SIGHUP), hence the statics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level max_level = LOG_INFO;
static int journal = -1;
static int file_fd = -1;        /* the log file, or -1 for stderr */
static char *file_path;

static const char *const tags[] = { [LOG_ERROR] = "error", [LOG_WARN] = "warning",
				    [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };

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

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int log_open(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return -1;
	fd = open_file(path);
	if (fd < 0) {
		free(copy);
		return -1;
	}
	log_close();
	file_fd = fd;
	file_path = copy;
	return 0;
}

int log_reopen(void)
{
	int fd;

	if (file_path == NULL)
		return 0;
	fd = open_file(file_path);
	if (fd < 0)
		return -1;
	close(file_fd);
	file_fd = fd;
	return 0;
}

void log_close(void)
{
	if (file_fd >= 0)
		close(file_fd);
	file_fd = -1;
	free(file_path);
	file_path = NULL;
}

/* One write() per line: O_APPEND keeps lines whole even when another
 * process (a second daemon, logrotate's copytruncate) shares the file. */
static void to_file(enum log_level level, const char *line)
{
	char stamp[40], out[1200];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(out, sizeof out, "%s.%03ld procshared[%ld]: %s: %s\n", stamp, ts.tv_nsec / 1000000,
		     (long)getpid(), tags[level], line);
	if (n >= (int)sizeof out) {
		n = (int)sizeof out;
		out[n - 1] = '\n';
	}
	if (write(file_fd, out, (size_t)n) < 0) {
		/* Nowhere better to say it: the line goes to stderr instead. */
		fprintf(stderr, "procshared: %s: %s\n", tags[level], line);
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int saved = errno;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (file_fd >= 0) {
		to_file(level, line);
	} else {
		if (journal < 0)
			journal = getenv("JOURNAL_STREAM") != NULL;
		if (journal)
			fprintf(stderr, "<%d>%s\n", (int)level, line);
		else
			fprintf(stderr, "procshared: %s: %s\n", tags[level], line);
	}
	errno = saved;
}
