/* Save and restore (docs/save-restore.md; vmm/save.c). */
#ifndef TSCVISOR_SAVE_H
#define TSCVISOR_SAVE_H

#include <stdbool.h>
#include <stdint.h>
#include <tscvisor/snapshot.h>
#include <tscvisor/vcpu.h>

struct vm;

/* `self`: the vCPU whose control block is loaded on this pCPU (NULL when
 * none); the others are loaded here one by one to be read or written.
 * Take a snapshot of `vm` (every vCPU stopped) as it was at host TSC
 * `stopped` (the instant the guest stopped: its clocks are captured there,
 * whatever the save does after): encode it into a buffer from the pool and
 * stream it out of COM2. Returns the buffer, or NULL. */
const uint8_t *save_vm(struct vm *vm, struct vcpu *self, uint64_t stopped, uint64_t *len);
/* Restore `vm` (already created with the snapshot's identity) from a
 * checked snapshot: RAM, vCPUs, devices, and time with pause semantics on
 * this host. Returns 0, or -1 with a message logged. */
int restore_vm(struct vm *vm, struct vcpu *self, const uint8_t *snap, uint64_t len);

/* The fast snapshot channel (docs/save-restore.md): a window of memory the
 * emulator's host sees as a file (QEMU's ivshmem-plain BAR 2, found by
 * boot/). scripts/boot writes the header's magic before the boot, so a
 * window without it is not used. A save writes state WRITING, then the
 * bytes at SNAP_SHM_DATA, then the VM's name, the length and state DONE;
 * a later save of the boot replaces an earlier one. A snapshot larger than
 * the window goes out of COM2 as without one. */
#define SNAP_SHM_MAGIC      "TSCVSHM1"
#define SNAP_SHM_DATA       4096u
#define SNAP_SHM_MIN_BYTES  (1ull << 20)
#define SNAP_SHM_WRITING    1u
#define SNAP_SHM_DONE       2u
struct snap_shm_hdr {
	char magic[8];
	uint64_t state;
	uint64_t len;        /* bytes at SNAP_SHM_DATA */
	char vm[32];         /* the VM's name, NUL-terminated */
};
/* Use the window at physical `base`, `size` bytes (0: none). */
void save_set_channel(uint64_t base, uint64_t size);

/* A snapshot now, for the guest's HC_SAVE: 0 when the save was taken (also
 * to the restored guest, in RAX), negative otherwise, HC_RETRY while
 * another pCPU holds the VM's pause. */
int64_t vm_request_save(struct vcpu *v);
/* The operator's save (save_after_ms), taken by vCPU v between two exits
 * (or by pCPU 0 with v NULL while every vCPU sleeps): the same as the
 * guest's request but no register of the guest changes. HC_RETRY: not
 * taken, another pCPU holds the pause. */
int64_t vm_operator_save(struct vm *vm, struct vcpu *v);

/* Every subsystem with state a guest can see has a save and a restore of
 * this shape (vmm/save.c calls them from one table, in one fixed order,
 * every vCPU stopped). save fills its part of the snapshot; restore puts it
 * back, 0 or -1 with a log line. */
struct save_ctx {
	struct vcpu *self;   /* as for save_vm / restore_vm */
	uint64_t now;        /* save: the host TSC of the save instant; restore:
			      * the host TSC the clocks resume at (set by the
			      * time part, for the parts after it) */
};

/* The time (vmm/vmtime.c): every vCPU's guest TSC and IA32_TSC_ADJUST, the
 * mode decided again on this host, the incarnation. */
void vmtime_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int vmtime_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);
/* kvmclock (vmm/kvmclock.c): the master pair, the MSRs, the window; every
 * area rewritten, saying PVCLOCK_GUEST_STOPPED. After the time. */
void kvmclock_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int kvmclock_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
