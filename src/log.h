/*
 * log: tagged, levelled, rate-limited logging to stderr.
 *
 * Every message carries a short tag naming the subsystem ("uart", "kvm", ...).
 * Guest-triggerable messages must use the _ratelimited forms so that a hostile
 * guest cannot flood the host's terminal or disk: each call site keeps its own
 * small budget (a burst, then one message per interval, with a count of what
 * was suppressed).
 *
 * Thread-safe: messages from vCPU, worker and loop threads are written whole.
 * When the terminal is in raw mode (serial on stdio) lines end in "\r\n".
 */
#ifndef LODGE_LOG_H
#define LODGE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Per-call-site rate-limit budget; zero-initialised statics are ready to use. */
struct log_ratelimit {
	int64_t window_start_ns;
	unsigned printed;
	unsigned suppressed;
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Enable debug output only for the comma-separated tags (e.g. "uart,kvm"). */
void log_set_debug_tags(const char *tags);
/* Called by the stdio serial back-end when it enters or leaves raw mode. */
void log_set_raw_terminal(bool raw);

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level level,
			 const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool log_enabled(enum log_level level, const char *tag);

#define log_err(tag, ...)   log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...)                                                    \
	do {                                                                   \
		if (log_enabled(LOG_DEBUG, tag))                               \
			log_msg(LOG_DEBUG, tag, __VA_ARGS__);                  \
	} while (0)

/* For messages a guest can trigger at will. */
#define log_guest(level, tag, ...)                                             \
	do {                                                                   \
		static struct log_ratelimit log_rl_;                           \
		log_msg_ratelimited(&log_rl_, level, tag, __VA_ARGS__);        \
	} while (0)

#endif
