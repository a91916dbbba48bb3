/* The hypervisor's console log: one line per call, prefixed with the level
 * (and a subsystem tag chosen by the caller in the message). Lines at a level
 * above the configured one are dropped. */
#ifndef TSCVISOR_LOG_H
#define TSCVISOR_LOG_H

#include <stdbool.h>
#include <tscvisor/config.h>

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw text, no prefix, no level filter (register dumps, banners). */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...)  log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_dbg(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

/* End the run: print the final `TSCVISOR-RESULT:` line and stop the machine
 * (QEMU isa-debug-exit, Bochs shutdown port, UEFI ResetSystem, then halt). */
__attribute__((noreturn)) void hv_exit(bool pass, const char *reason);
/* log_err + hv_exit(false). */
__attribute__((noreturn, format(printf, 1, 2))) void hv_panic(const char *fmt, ...);

#endif
