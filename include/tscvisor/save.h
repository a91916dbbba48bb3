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
 * Take a snapshot of `vm` (every vCPU stopped): encode it into a buffer
 * from the pool and stream it out of COM2. Returns the buffer, or NULL. */
const uint8_t *save_vm(struct vm *vm, struct vcpu *self, uint64_t *len);
/* Restore `vm` (already created with the snapshot's identity) from a
 * checked snapshot: RAM, vCPUs, devices, and time with pause semantics on
 * this host. Returns 0, or -1 with a message logged. */
int restore_vm(struct vm *vm, struct vcpu *self, const uint8_t *snap, uint64_t len);

#endif
