/* VM lifecycle: create from config and boot info, run, report. */
#ifndef TSCVISOR_VMRUN_H
#define TSCVISOR_VMRUN_H

#include <stdbool.h>
#include <tscvisor/bootinfo.h>
#include <tscvisor/tsc.h>
#include <tscvisor/vm.h>

enum vm_verdict { VERDICT_PASS, VERDICT_SKIP, VERDICT_FAIL };

struct platform_info {
	const struct vendor_ops *ops;
	struct tsc_host_info tsc;
	uint16_t pm_timer_port;
	bool pm_timer_32bit;
};

/* Check every VM's kernel against its RAM size before any VM runs. */
bool vms_check_kernels(const struct boot_info *bi);
/* Build the VM (RAM, kernel, ACPI tables, vCPU, time). false on failure. */
bool vm_create(struct vm *vm, unsigned index, const struct boot_info *bi,
	       const struct platform_info *pf);
/* Run until the VM ends, on `npcpus` physical CPUs. */
void vm_run(struct vm *vm, unsigned npcpus);
uint64_t vm_exit_count(const struct vm *vm, enum exit_reason r);
/* Print the exit statistics and the verdict. */
enum vm_verdict vm_report(struct vm *vm);

#endif
