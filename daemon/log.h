/*
 * Logging, the only place the daemon prints diagnostics. Lines go to
 * stderr, with a syslog priority prefix ("<6>") when stderr is the
 * journal so journald files them at the right level; or, with log-file
 * set, to that file with a timestamp, reopened on SIGHUP so logrotate can
 * move it away.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_ERROR = 3, LOG_WARN = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

/* Sets the most verbose level printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug". Returns the level or -1. */
int log_parse_level(const char *s);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends lines to the file at path from now on (created 0640 when
 * missing). Returns 0, or -1 with errno set (lines still go to stderr). */
int log_open(const char *path);
/* Opens the log file's path again, for after it was renamed. Keeps the
 * old file when that fails. A no-op returning 0 when logging to stderr. */
int log_reopen(void);
/* Closes the log file; lines go to stderr again. */
void log_close(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
