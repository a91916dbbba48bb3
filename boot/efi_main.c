/* UEFI entry: read the config and the kernels from the volume we were loaded
 * from, reserve the hypervisor's memory, leave boot services and enter the
 * arch-neutral core on the hypervisor's own stack.
 *
 * Only this directory talks to UEFI boot services. */
#include <efi.h>
#include <efilib.h>
#include <efipciio.h>
#include <string.h>
#include <tscvisor/bootinfo.h>
#include <tscvisor/config.h>
#include <tscvisor/format.h>
#include <tscvisor/hw.h>
#include <tscvisor/log.h>
#include <tscvisor/save.h>
#include <tscvisor/snapshot.h>
#include "platform.h"
#include "serial.h"

#define TSCVISOR_VERSION   "0.1"
#define DEFAULT_CONFIG     "\\tscvisor.cfg"
#define MAX_CONFIG_BYTES   (64 * 1024)
#define MAX_KERNEL_BYTES   (64ull << 20)
#define MAX_RAMDISK_BYTES  (512ull << 20)
#define MAX_SNAPSHOT_BYTES (512ull << 20)
#define HV_POOL_BYTES      (32ull << 20)
#define HV_STACK_BYTES     (64ull << 10)
#define MAX_OVERRIDES      16
#define MAX_ARG            256

static struct boot_info boot_info;

static EFI_HANDLE self_image;
static char config_path[CFG_PATH_MAX + 2] = DEFAULT_CONFIG;
static char overrides[MAX_OVERRIDES][MAX_ARG];
static unsigned n_overrides;

static const char *efi_status_text(EFI_STATUS st)
{
	switch (st) {
	case EFI_NOT_FOUND: return "not found";
	case EFI_OUT_OF_RESOURCES: return "out of memory";
	case EFI_VOLUME_CORRUPTED: return "volume corrupted";
	case EFI_DEVICE_ERROR: return "device error";
	case EFI_ACCESS_DENIED: return "access denied";
	case EFI_INVALID_PARAMETER: return "invalid parameter";
	case EFI_BUFFER_TOO_SMALL: return "buffer too small";
	case EFI_UNSUPPORTED: return "unsupported";
	default: return "EFI error";
	}
}

/* Firmware's own power-off, the last resort of hv_exit() on real hardware.
 * Runtime services stay callable after ExitBootServices (we never call
 * SetVirtualAddressMap, so their physical addresses stay valid). */
static void fw_shutdown(bool pass)
{
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown,
			  pass ? EFI_SUCCESS : EFI_ABORTED, (UINTN)0, NULL);
}

static bool has_char(const char *s, char c)
{
	for (; *s; s++)
		if (*s == c)
			return true;
	return false;
}

/* UCS-2 load options -> ASCII words. The first word is the image's own name
 * when started from the UEFI shell; words of the form `config=PATH` choose the
 * config file, any other word containing '=' is a config override. */
static void parse_load_options(EFI_LOADED_IMAGE *li)
{
	const CHAR16 *opt = li->LoadOptions;
	UINTN n = li->LoadOptionsSize / sizeof(CHAR16), i = 0;

	while (opt && i < n && opt[i]) {
		char word[MAX_ARG];
		unsigned len = 0;

		while (i < n && (opt[i] == L' ' || opt[i] == L'\t'))
			i++;
		while (i < n && opt[i] && opt[i] != L' ' && opt[i] != L'\t') {
			if (len + 1 < sizeof(word))
				word[len++] = opt[i] < 0x80 ? (char)opt[i] : '?';
			i++;
		}
		word[len] = 0;
		if (!len)
			continue;
		if (!strncmp(word, "config=", 7)) {
			tv_snprintf(config_path, sizeof(config_path), "%s", word + 7);
		} else if (has_char(word, '=')) {
			if (n_overrides < MAX_OVERRIDES)
				tv_snprintf(overrides[n_overrides++], MAX_ARG, "%s", word);
			else
				log_warn("boot: more than %d overrides, ignoring '%s'", MAX_OVERRIDES, word);
		}
	}
}

static void to_efi_path(const char *in, CHAR16 *out, unsigned max)
{
	unsigned i;

	for (i = 0; in[i] && i + 1 < max; i++)
		out[i] = in[i] == '/' ? L'\\' : (CHAR16)(unsigned char)in[i];
	out[i] = 0;
}

/* Read a whole file into pool memory. Returns EFI status; *size set. */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, const char *path, UINT64 max,
			    void **data, UINT64 *size)
{
	CHAR16 wpath[CFG_PATH_MAX * 2];
	EFI_FILE_HANDLE fh;
	EFI_FILE_INFO *info;
	EFI_STATUS st;
	UINTN n;
	void *buf;

	to_efi_path(path, wpath, sizeof(wpath) / sizeof(wpath[0]));
	st = uefi_call_wrapper(root->Open, 5, root, &fh, wpath, EFI_FILE_MODE_READ, 0ull);
	if (EFI_ERROR(st))
		return st;
	info = LibFileInfo(fh);
	if (!info) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_DEVICE_ERROR;
	}
	if (info->Attribute & EFI_FILE_DIRECTORY) {
		FreePool(info);
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_ACCESS_DENIED;
	}
	*size = info->FileSize;
	FreePool(info);
	if (*size > max) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_BUFFER_TOO_SMALL;
	}
	buf = AllocatePool(*size + 1);
	if (!buf) {
		uefi_call_wrapper(fh->Close, 1, fh);
		return EFI_OUT_OF_RESOURCES;
	}
	n = *size;
	st = uefi_call_wrapper(fh->Read, 3, fh, &n, buf);
	uefi_call_wrapper(fh->Close, 1, fh);
	if (EFI_ERROR(st) || n != *size) {
		FreePool(buf);
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	}
	((char *)buf)[n] = 0;
	*data = buf;
	return EFI_SUCCESS;
}

/* Kernel paths are relative to the config file's folder. */
static void kernel_path(const char *kernel, char *out, unsigned max)
{
	unsigned dir_len = 0, i;

	if (kernel[0] == '/' || kernel[0] == '\\') {
		tv_snprintf(out, max, "%s", kernel);
		return;
	}
	for (i = 0; config_path[i]; i++)
		if (config_path[i] == '\\' || config_path[i] == '/')
			dir_len = i + 1;
	tv_snprintf(out, max, "%.*s%s", (int)dir_len, config_path, kernel);
}

static void *alloc_pages(UINT64 bytes, UINT64 align)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	UINT64 pages = (bytes + align + 4095) / 4096;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
			       pages, &addr);
	if (EFI_ERROR(st))
		return NULL;
	addr = (addr + align - 1) & ~(align - 1);
	return (void *)(UINTN)addr;
}

/* Pages that end below `max` (for what 32-bit or real-mode code must reach). */
static void *alloc_pages_below(UINT64 bytes, UINT64 max)
{
	EFI_PHYSICAL_ADDRESS addr = max;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateMaxAddress, EfiLoaderData,
			       (bytes + 4095) / 4096, &addr);
	return EFI_ERROR(st) ? NULL : (void *)(UINTN)addr;
}

/* Days from 1970-01-01 to a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The wall clock for kvmclock's wall-clock area: UEFI's time, in UTC when
 * the firmware knows its time zone. */
static void read_wall_clock(void)
{
	EFI_TIME t;
	int64_t secs;

	if (EFI_ERROR(uefi_call_wrapper(RT->GetTime, 2, &t, NULL)) || t.Year < 1970)
		return;
	secs = days_from_civil(t.Year, t.Month, t.Day) * 86400 + t.Hour * 3600 + t.Minute * 60 + t.Second;
	if (t.TimeZone != EFI_UNSPECIFIED_TIMEZONE)
		secs += (int64_t)t.TimeZone * 60;
	boot_info.wall_tsc = rdtsc();
	boot_info.wall_ns = (uint64_t)secs * 1000000000ull + t.Nanosecond;
}

static uint64_t find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	uint64_t rsdp1 = 0;
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20))
			return (uint64_t)(UINTN)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			rsdp1 = (uint64_t)(UINTN)t->VendorTable;
	}
	return rsdp1;
}

static void config_fail(const struct cfg_error *err)
{
	if (err->line && err->key[0])
		log_err("%s:%u: key '%s': %s", config_path, err->line, err->key, err->msg);
	else if (err->line)
		log_err("%s:%u: %s", config_path, err->line, err->msg);
	else if (err->key[0])
		log_err("%s: key '%s': %s", config_path, err->key, err->msg);
	else
		log_err("%s: %s", config_path, err->msg);
	log_err("boot: configuration rejected; no VM started");
	hv_exit(false, "bad configuration");
}

static void load_config(EFI_FILE_HANDLE root)
{
	struct hv_config *cfg = &boot_info.config;
	struct cfg_error err;
	void *text = NULL;
	UINT64 size = 0;
	EFI_STATUS st;
	unsigned i;

	st = read_file(root, config_path, MAX_CONFIG_BYTES, &text, &size);
	if (EFI_ERROR(st)) {
		log_err("boot: cannot read config %s: %s%s", config_path, efi_status_text(st),
			st == EFI_BUFFER_TOO_SMALL ? " (file larger than 64 KiB)" : "");
		hv_exit(false, "no configuration");
	}
	config_defaults(cfg);
	if (config_parse(text, size, cfg, &err))
		config_fail(&err);
	for (i = 0; i < n_overrides; i++) {
		log_info("boot: override %s", overrides[i]);
		if (config_override(cfg, overrides[i], &err)) {
			log_err("boot: command-line override '%s': %s", overrides[i], err.msg);
			hv_exit(false, "bad override");
		}
	}
	if (config_validate(cfg, &err))
		config_fail(&err);
	log_set_level(cfg->log_level);
	boot_info.config_path = config_path;
	log_info("boot: config %s: %u VM(s)", config_path, cfg->nvms);
}

/* A VM's own snapshot buffer (key save_buffer, docs/config.md), reserved
 * beside its RAM; its saves encode into it instead of the boot's shared
 * 16 MiB budget (vmm/save.c). Nothing reserved without the key. */
static bool reserve_save_buffer(const struct vm_config *vm, struct boot_vm *bv)
{
	if (!vm->save_buffer_mib)
		return true;
	bv->save_buf_size = (uint64_t)vm->save_buffer_mib << 20;
	bv->save_buf_base = (uint64_t)(UINTN)alloc_pages(bv->save_buf_size, 4096);
	if (!bv->save_buf_base) {
		log_err("%s:%u: key 'save_buffer': VM '%s': cannot reserve %u MiB for its snapshot "
			"buffer (beside its %u MiB of RAM); lower save_buffer or give the machine "
			"more memory", config_path, vm->save_buffer_line ? vm->save_buffer_line :
			vm->line, vm->name, vm->save_buffer_mib, vm->memory_mib);
		bv->save_buf_size = 0;
		return false;
	}
	log_info("boot: VM '%s': %u MiB snapshot buffer reserved at 0x%lx (save_buffer)", vm->name,
		 vm->save_buffer_mib, bv->save_buf_base);
	return true;
}

/* A VM restored from a snapshot: the file is read and checked (every check
 * of the decoder, no RAM written) before anything runs; the VM's identity
 * (vCPUs, memory, tsc_mode, tsc_khz) comes from it. */
static bool load_snapshot(EFI_FILE_HANDLE root, struct vm_config *vm, struct boot_vm *bv)
{
	static struct snap_vm id;   /* ~200 KiB: not on the firmware's stack */
	struct snap_error err;
	char path[CFG_PATH_MAX * 2];
	void *data = NULL;
	UINT64 size = 0;
	EFI_STATUS st;

	kernel_path(vm->restore, path, sizeof(path));
	st = read_file(root, path, MAX_SNAPSHOT_BYTES, &data, &size);
	if (EFI_ERROR(st)) {
		log_err("%s:%u: key 'restore': VM '%s': cannot load \"%s\": %s", config_path,
			vm->line, vm->name, path, efi_status_text(st));
		return false;
	}
	if (snap_check(data, size, &id, &err)) {
		log_err("%s:%u: key 'restore': VM '%s': snapshot %s refused: %s (%s, at byte %lu)",
			config_path, vm->line, vm->name, path, err.msg, snap_err_name(err.code),
			err.offset);
		return false;
	}
	vm->vcpus = id.id.vcpus;
	vm->memory_mib = id.id.memory_mib;
	vm->tsc_mode = id.id.tsc_mode;
	vm->tsc_khz = id.id.tsc_khz;
	bv->snapshot = data;
	bv->snapshot_size = size;
	bv->snap_platform = id.platform.present;
	bv->snap_pm_port = id.platform.pm_timer_port;
	bv->snap_pm_32bit = id.platform.pm_timer_32bit;
	bv->ram_size = (uint64_t)vm->memory_mib << 20;
	bv->ram_base = (uint64_t)(UINTN)alloc_pages(bv->ram_size, 2ull << 20);
	if (!bv->ram_base) {
		log_err("%s:%u: VM '%s': cannot reserve %u MiB of guest RAM", config_path, vm->line,
			vm->name, vm->memory_mib);
		return false;
	}
	log_info("boot: VM '%s': snapshot %s (%lu bytes) of '%s': %u vCPU(s), %u MiB, tsc_mode %s, "
		 "tsc_khz %u, saved on %s, incarnation %u", vm->name, path, size,
		 id.id.name, id.id.vcpus, id.id.memory_mib, tsc_mode_name(id.id.tsc_mode),
		 id.id.tsc_khz, snap_vendor_name(id.id.vendor), id.time.incarnation);
	return reserve_save_buffer(vm, bv);
}

static void load_kernels(EFI_FILE_HANDLE root)
{
	struct hv_config *cfg = &boot_info.config;
	bool failed = false;
	unsigned i;

	for (i = 0; i < cfg->nvms; i++) {
		struct vm_config *vm = &cfg->vms[i];
		struct boot_vm *bv = &boot_info.vms[i];
		char path[CFG_PATH_MAX * 2];
		void *data = NULL;
		UINT64 size = 0;
		EFI_STATUS st;

		if (vm->restore[0]) {
			if (!load_snapshot(root, vm, bv))
				failed = true;
			continue;
		}
		kernel_path(vm->kernel, path, sizeof(path));
		st = read_file(root, path, MAX_KERNEL_BYTES, &data, &size);
		if (EFI_ERROR(st)) {
			log_err("%s:%u: key 'kernel': VM '%s': cannot load \"%s\": %s",
				config_path, vm->kernel_line, vm->name, path, efi_status_text(st));
			failed = true;
			continue;
		}
		bv->kernel = data;
		bv->kernel_size = size;
		if (vm->ramdisk[0]) {
			/* A Linux kernel's initramfs (docs/linux-guest.md). */
			char rpath[CFG_PATH_MAX * 2];
			void *rd = NULL;
			UINT64 rsize = 0;

			kernel_path(vm->ramdisk, rpath, sizeof(rpath));
			st = read_file(root, rpath, MAX_RAMDISK_BYTES, &rd, &rsize);
			if (EFI_ERROR(st)) {
				log_err("%s:%u: key 'ramdisk': VM '%s': cannot load \"%s\": %s",
					config_path, vm->ramdisk_line, vm->name, rpath,
					efi_status_text(st));
				failed = true;
				continue;
			}
			bv->ramdisk = rd;
			bv->ramdisk_size = rsize;
		}
		bv->ram_size = (uint64_t)vm->memory_mib << 20;
		bv->ram_base = (uint64_t)(UINTN)alloc_pages(bv->ram_size, 2ull << 20);
		if (!bv->ram_base) {
			log_err("%s:%u: key 'memory': VM '%s': cannot reserve %u MiB of guest RAM",
				config_path, vm->line, vm->name, vm->memory_mib);
			failed = true;
			continue;
		}
		log_info("boot: VM '%s': kernel %s (%lu bytes), %u MiB RAM reserved at 0x%lx",
			 vm->name, path, size, vm->memory_mib,
			 bv->ram_base);
		if (!reserve_save_buffer(vm, bv))
			failed = true;
	}
	if (failed) {
		log_err("boot: kernel loading failed; no VM started");
		hv_exit(false, "kernel not loaded");
	}
}

/* Get the final memory map and leave boot services. The map key changes
 * whenever firmware allocates; retry with the same (generously sized)
 * buffer: after a failed ExitBootServices we may not allocate any more. */
static void exit_boot_services(void)
{
	UINTN map_size = 0, key = 0, desc_size = 0, buf_size;
	UINT32 desc_ver = 0;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	EFI_STATUS st;
	unsigned tries;

	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &key, &desc_size, &desc_ver);
	buf_size = map_size * 2 + 64 * (desc_size ? desc_size : 48);
	map = AllocatePool(buf_size);
	if (!map)
		hv_panic("boot: cannot allocate the memory map buffer");
	for (tries = 1; tries <= 16; tries++) {
		map_size = buf_size;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &key, &desc_size, &desc_ver);
		if (EFI_ERROR(st))
			hv_panic("boot: GetMemoryMap failed: %s", efi_status_text(st));
		st = uefi_call_wrapper(BS->ExitBootServices, 2, self_image, key);
		if (!EFI_ERROR(st))
			break;
	}
	if (EFI_ERROR(st))
		hv_panic("boot: ExitBootServices kept failing (%u tries)", tries - 1);
	boot_info.exit_boot_tries = tries;
	boot_info.mmap = map;
	boot_info.mmap_desc_size = desc_size;
	boot_info.mmap_entries = map_size / desc_size;
	for (UINTN i = 0; i < boot_info.mmap_entries; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)((const char *)map + i * desc_size);
		uint64_t end = d->PhysicalStart + d->NumberOfPages * 4096;

		if (end > boot_info.max_phys)
			boot_info.max_phys = end;
	}
}

/* The fast snapshot channel (docs/save-restore.md): a QEMU ivshmem-plain
 * device (PCI 1af4:1110) whose BAR 2 is a file on the emulator's host, made
 * by scripts/boot --snapshot-out with a header that says it is meant for
 * snapshots. Found here, while the firmware's PCI I/O protocol still says
 * where it put the BAR; its memory decoding is turned on. Without one (real
 * hardware, Bochs), snapshots go out of COM2. */
#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110
#define IVSHMEM_SHM_BAR 2
#define SNAP_SHM_MAX_END (1ull << 46)

static void find_snapshot_shm(void)
{
	EFI_GUID pci_guid = EFI_PCI_IO_PROTOCOL_GUID;
	EFI_HANDLE *handles = NULL;
	UINTN n = 0, i;
	EFI_STATUS st;

	st = uefi_call_wrapper(BS->LocateHandleBuffer, 5, ByProtocol, &pci_guid, NULL, &n, &handles);
	if (EFI_ERROR(st))
		return;
	for (i = 0; i < n; i++) {
		EFI_PCI_IO_PROTOCOL *pci;
		UINT16 id[2];
		const UINT8 *res = NULL;
		uint64_t base, len;

		if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, handles[i], &pci_guid,
						(void **)&pci)))
			continue;
		if (EFI_ERROR(uefi_call_wrapper(pci->Pci.Read, 5, pci, EfiPciIoWidthUint16, 0, 2, id)) ||
		    id[0] != IVSHMEM_VENDOR || id[1] != IVSHMEM_DEVICE)
			continue;
		st = uefi_call_wrapper(pci->GetBarAttributes, 4, pci, IVSHMEM_SHM_BAR, NULL,
				       (void **)&res);
		/* An ACPI QWORD address space descriptor (tag 0x8a): the range's
		 * minimum at byte 14, its length at byte 38. */
		if (EFI_ERROR(st) || !res || res[0] != 0x8a) {
			log_warn("boot: ivshmem device: no memory BAR %d (%s); snapshots go out of COM2",
				 IVSHMEM_SHM_BAR, efi_status_text(st));
			if (res)
				uefi_call_wrapper(BS->FreePool, 1, (void *)res);
			continue;
		}
		memcpy(&base, res + 14, 8);
		memcpy(&len, res + 38, 8);
		uefi_call_wrapper(BS->FreePool, 1, (void *)res);
		st = uefi_call_wrapper(pci->Attributes, 4, pci, EfiPciIoAttributeOperationEnable,
				       EFI_PCI_IO_ATTRIBUTE_MEMORY, NULL);
		if (EFI_ERROR(st) || !base || len < SNAP_SHM_MIN_BYTES) {
			log_warn("boot: ivshmem device: BAR %d at 0x%lx, %lu bytes, unusable (%s); "
				 "snapshots go out of COM2", IVSHMEM_SHM_BAR, base, len,
				 efi_status_text(st));
			continue;
		}
		if (base + len > SNAP_SHM_MAX_END || base + len < base || (base | len) & 0x1fffff) {
			/* arch/ maps it with 2 MiB pages, below 2^46 */
			log_warn("boot: ivshmem device: BAR %d at 0x%lx, %lu bytes: not 2 MiB-aligned "
				 "below 2^46; snapshots go out of COM2", IVSHMEM_SHM_BAR, base, len);
			continue;
		}
		boot_info.snap_shm_base = base;
		boot_info.snap_shm_size = len;
		break;
	}
	uefi_call_wrapper(BS->FreePool, 1, handles);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_GUID li_guid = LOADED_IMAGE_PROTOCOL;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_LOADED_IMAGE *li;
	EFI_FILE_HANDLE root;
	EFI_STATUS st;
	void *stack, *pool;

	InitializeLib(image, systab);
	self_image = image;
	serial_init();
	platform_set_fw_shutdown(fw_shutdown);
	/* Keep the watchdog from resetting us while we load kernels. */
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);

	log_raw("\ntscvisor " TSCVISOR_VERSION " - a hypervisor for getting guest time right\n");
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &li_guid, (void **)&li);
	if (EFI_ERROR(st))
		hv_panic("boot: no LoadedImage protocol: %s", efi_status_text(st));
	boot_info.image_base = (uint64_t)(UINTN)li->ImageBase;
	boot_info.image_size = li->ImageSize;
	log_info("boot: image base 0x%lx size 0x%lx", boot_info.image_base,
		 boot_info.image_size);
	parse_load_options(li);

	st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle, &fs_guid, (void **)&fs);
	if (EFI_ERROR(st))
		hv_panic("boot: the boot volume has no file system: %s", efi_status_text(st));
	st = uefi_call_wrapper(fs->OpenVolume, 2, fs, &root);
	if (EFI_ERROR(st))
		hv_panic("boot: cannot open the boot volume: %s", efi_status_text(st));

	load_config(root);
	load_kernels(root);

	boot_info.rsdp = find_rsdp();
	find_snapshot_shm();
	read_wall_clock();
	log_info("boot: ACPI RSDP at 0x%lx", boot_info.rsdp);
	pool = alloc_pages_below(HV_POOL_BYTES, 0xffffffffull);  /* the AP trampoline loads CR3 in 32-bit mode */
	boot_info.trampoline = (uint64_t)(UINTN)alloc_pages_below(4096, 0x9ffff);
	stack = alloc_pages(HV_STACK_BYTES, 4096);
	if (!pool || !stack)
		hv_panic("boot: cannot reserve the hypervisor's memory");
	boot_info.pool_base = (uint64_t)(UINTN)pool;
	boot_info.pool_size = HV_POOL_BYTES;
	boot_info.stack_top = (uint64_t)(UINTN)stack + HV_STACK_BYTES;
	boot_info.runtime_services = RT;
	log_info("boot: hypervisor pool %lu MiB at 0x%lx, stack at 0x%lx; leaving boot services",
		 (uint64_t)(HV_POOL_BYTES >> 20), boot_info.pool_base,
		 (uint64_t)(boot_info.stack_top - HV_STACK_BYTES));

	exit_boot_services();
	arch_switch_stack(boot_info.stack_top, vmm_main, &boot_info);
}
