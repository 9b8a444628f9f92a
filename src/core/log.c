/* Logging sinks; see log.h. The only process-wide state in pxed: where lines go. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct {
	enum log_level level;
	bool to_stderr;
	bool to_syslog;
	bool syslog_open;
} g_log = {LOG_LVL_INFO, true, false, false};

void log_setup(enum log_level level, bool to_stderr, bool to_syslog)
{
	g_log.level = level;
	g_log.to_stderr = to_stderr;
	g_log.to_syslog = to_syslog;
	if (to_syslog && !g_log.syslog_open) {
		openlog("pxed", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		g_log.syslog_open = true;
	}
}

int log_level_parse(const char *s)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

bool log_enabled(enum log_level level)
{
	return level <= g_log.level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *tag[] = {"error", "warning", "info", "debug"};
	if (!log_enabled(level))
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (g_log.to_stderr) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000, tag[level], line);
	}
	if (g_log.to_syslog)
		syslog(prio[level], "%s", line);
}
