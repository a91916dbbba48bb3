/* What the UEFI loader (boot/) hands to the arch-neutral core (vmm/) after
 * ExitBootServices. Everything it points to lives in memory the loader
 * allocated as EfiLoaderData, which belongs to the hypervisor from then on. */
#ifndef TSCVISOR_BOOTINFO_H
#define TSCVISOR_BOOTINFO_H

#include <stdint.h>
#include <tscvisor/config.h>

#define BOOT_MAX_MMAP_BYTES (64 * 1024)

struct boot_vm {
	const uint8_t *kernel;       /* the kernel file's bytes */
	uint64_t kernel_size;
	const uint8_t *ramdisk;      /* the file of `ramdisk = ...` (a Linux initramfs), or NULL */
	uint64_t ramdisk_size;
	const uint8_t *snapshot;     /* the file of `restore = ...`, checked (snap_check) */
	uint64_t snapshot_size;
	bool snap_platform;          /* the snapshot records the guest's platform: */
	uint16_t snap_pm_port;       /*   its PM timer port (0: none) */
	bool snap_pm_32bit;          /*   and width */
	uint64_t ram_base;           /* host-physical base of guest RAM (2 MiB aligned) */
	uint64_t ram_size;           /* bytes */
	uint64_t save_buf_base;      /* the VM's own snapshot buffer (key save_buffer), 0: none */
	uint64_t save_buf_size;      /* bytes */
};

struct boot_info {
	uint64_t image_base;         /* where UEFI loaded tscvisor.efi (for gdb) */
	uint64_t image_size;
	uint64_t rsdp;               /* ACPI RSDP physical address, 0 if none */
	const char *config_path;     /* as opened, e.g. "\\tscvisor.cfg" */
	struct hv_config config;
	struct boot_vm vms[CFG_MAX_VMS];
	uint64_t pool_base;          /* the hypervisor's own memory pool */
	uint64_t pool_size;
	uint64_t stack_top;          /* the BSP's hypervisor stack */
	uint64_t trampoline;         /* a page below 1 MiB for AP start-up, 0 if none */
	uint64_t max_phys;           /* highest physical address in the memory map */
	uint64_t mmap_entries;
	uint64_t mmap_desc_size;
	const void *mmap;            /* EFI_MEMORY_DESCRIPTOR array */
	uint64_t wall_ns;            /* UEFI GetTime as ns since 1970 (0 if unavailable) */
	uint64_t wall_tsc;           /* the host TSC when it was read */
	uint32_t exit_boot_tries;    /* how many ExitBootServices calls it took */
	void *runtime_services;      /* EFI_RUNTIME_SERVICES *, for ResetSystem */
	uint64_t snap_shm_base;      /* the fast snapshot channel (ivshmem BAR), 0 if none */
	uint64_t snap_shm_size;
};

/* Entered on the hypervisor's own stack, boot services gone. Never returns. */
__attribute__((noreturn)) void vmm_main(struct boot_info *bi);

#endif
