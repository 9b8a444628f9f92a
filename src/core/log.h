/* Logging: one line per decision, to stderr and/or syslog.
 *
 * Adapters log where they decide; codecs and policies never log. Every line names its object
 * ("tftp 198.18.0.21:2001 \"pxelinux.0\": ..."). Untrusted strings go through str_escape first.
 */
#ifndef PXED_CORE_LOG_H
#define PXED_CORE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/** Configure the sinks. Safe to call again (on reload). */
void log_setup(enum log_level level, bool to_stderr, bool to_syslog);
/** Parse "error|warning|info|debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
