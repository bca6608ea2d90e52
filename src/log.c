/*
 * log: tagged, levelled, rate-limited logging (see log.h).
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Rate limit: a burst of RL_BURST messages per RL_INTERVAL per call site. */
#define RL_BURST 10
#define RL_INTERVAL_NS (5LL * 1000 * 1000 * 1000)

static _Atomic int log_level = LOG_INFO;
static atomic_bool log_raw;
static char log_debug_tags[256];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, level);
}

enum log_level log_get_level(void)
{
	return atomic_load(&log_level);
}

void log_set_debug_tags(const char *tags)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_debug_tags, sizeof(log_debug_tags), ",%s,", tags ? tags : "");
	pthread_mutex_unlock(&log_lock);
	if (tags && *tags)
		log_set_level(LOG_DEBUG);
}

void log_set_raw_terminal(bool raw)
{
	atomic_store(&log_raw, raw);
}

bool log_enabled(enum log_level level, const char *tag)
{
	if ((int)level > atomic_load(&log_level))
		return false;
	if (level < LOG_DEBUG || log_debug_tags[0] == 0 || strcmp(log_debug_tags, ",,") == 0)
		return true;
	/* Debug output restricted to a tag list: match ",tag,". */
	char needle[40];
	snprintf(needle, sizeof(needle), ",%s,", tag);
	return strstr(log_debug_tags, needle) != NULL;
}

static void log_vwrite(enum log_level level, const char *tag, const char *suffix,
		       const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	/* Messages are single sentences: drop a trailing newline if given. */
	size_t len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = 0;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "lodge: %s%s%s: %s%s%s", tag ? tag : "", tag ? " " : "",
		level_names[level], buf, suffix ? suffix : "",
		atomic_load(&log_raw) ? "\r\n" : "\n");
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	if (!log_enabled(level, tag))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, tag, NULL, fmt, ap);
	va_end(ap);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Any thread. The per-site state is updated under log_lock so that two vCPUs
 * hitting the same site cannot both pass the budget check.
 */
void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
			 const char *tag, const char *fmt, ...)
{
	if (!log_enabled(level, tag))
		return;
	int64_t now = now_ns();
	unsigned suppressed = 0;
	bool print;

	pthread_mutex_lock(&log_lock);
	if (now - rl->window_start_ns > RL_INTERVAL_NS) {
		suppressed = rl->suppressed;
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	print = rl->printed < RL_BURST;
	if (print)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&log_lock);

	if (!print)
		return;
	char suffix[64] = "";
	if (suppressed)
		snprintf(suffix, sizeof(suffix), " (%u similar messages suppressed)", suppressed);
	else if (rl->printed == RL_BURST)
		snprintf(suffix, sizeof(suffix), " (further messages like this are rate-limited)");
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, tag, suffix, fmt, ap);
	va_end(ap);
}
