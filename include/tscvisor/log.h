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

/* A line the guest can cause at will (a refused MSR write, MMIO to a new
 * unbacked page, an exception it raises, ...): limited per VM to
 * VM_LOG_BURST lines at once, then VM_LOG_PER_SEC a second (host TSC; a
 * token bucket, pure/ratelimit.c), so that no guest can keep the log lock
 * and the 115200-baud console busy. Lines refused are counted; the count is
 * logged before the next line allowed and by vm_log_summary() at the VM's
 * end. The level filter applies first (a filtered line costs no token). */
#define VM_LOG_BURST   20
#define VM_LOG_PER_SEC 2
struct vm;
void vm_log(struct vm *vm, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* At the VM's end: how many of its lines were suppressed, if any. */
void vm_log_summary(struct vm *vm);

#define vm_warn(vm, ...) vm_log((vm), LOG_WARN, __VA_ARGS__)
#define vm_info(vm, ...) vm_log((vm), LOG_INFO, __VA_ARGS__)
#define vm_dbg(vm, ...)  vm_log((vm), LOG_DEBUG, __VA_ARGS__)

/* End the run: print the final `TSCVISOR-RESULT:` line and stop the machine
 * (QEMU isa-debug-exit, Bochs shutdown port, UEFI ResetSystem, then halt). */
__attribute__((noreturn)) void hv_exit(bool pass, const char *reason);
/* log_err + hv_exit(false). */
__attribute__((noreturn, format(printf, 1, 2))) void hv_panic(const char *fmt, ...);

#endif
