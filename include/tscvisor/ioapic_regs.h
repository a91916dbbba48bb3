/* The register file and pin logic of a virtual I/O APIC (pure/ioapic_regs.c,
 * host-tested by tests/test_ioapic_regs.c): an 82093AA-style IOAPIC of
 * version 0x11 with 24 redirection entries, as docs/platform.md describes.
 * No locking and no delivery here: the device (vmm/dev/ioapic.c) holds its
 * lock around every call and hands each interrupt message to the local
 * APICs through the callback. */
#ifndef TSCVISOR_IOAPIC_REGS_H
#define TSCVISOR_IOAPIC_REGS_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS        24u
#define IOAPIC_VERSION     0x11u
#define IOAPIC_VERSION_VAL (((IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION)   /* 0x00170011 */

/* Registers behind IOREGSEL/IOWIN. */
#define IOAPIC_REG_ID      0x00u
#define IOAPIC_REG_VER     0x01u
#define IOAPIC_REG_ARB     0x02u
#define IOAPIC_REG_REDIR   0x10u    /* entry n: low dword 0x10 + 2n, high 0x11 + 2n */

/* The MMIO window (offsets in the device's page). */
#define IOAPIC_OFF_IOREGSEL 0x00u
#define IOAPIC_OFF_IOWIN    0x10u

#define IOAPIC_ID_SHIFT    24
#define IOAPIC_ID_MASK     (0xfu << IOAPIC_ID_SHIFT)  /* 4-bit APIC ID, bits 27:24 */

/* Redirection entry bits. */
#define IOAPIC_RTE_VECTOR      0xffull
#define IOAPIC_RTE_DM_SHIFT    8
#define IOAPIC_RTE_DM_MASK     (7ull << IOAPIC_RTE_DM_SHIFT)
#define IOAPIC_RTE_DESTMODE    (1ull << 11)   /* 1: logical */
#define IOAPIC_RTE_DELIVS      (1ull << 12)   /* delivery status, read-only */
#define IOAPIC_RTE_POLARITY    (1ull << 13)   /* 1: active low */
#define IOAPIC_RTE_REMOTE_IRR  (1ull << 14)   /* read-only */
#define IOAPIC_RTE_LEVEL       (1ull << 15)   /* trigger mode 1: level */
#define IOAPIC_RTE_MASKED      (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT  56
/* What a guest's write can change: vector, delivery mode, destination
 * mode, polarity, trigger, mask, destination. Bits 17-55 are reserved
 * (read 0), 12 and 14 are the IOAPIC's. */
#define IOAPIC_RTE_WRITABLE    ((0xff00000000000000ull | 0x1ffffull) & ~(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR))

#define IOAPIC_DM_FIXED   0u
#define IOAPIC_DM_LOWEST  1u
#define IOAPIC_DM_SMI     2u
#define IOAPIC_DM_NMI     4u
#define IOAPIC_DM_INIT    5u
#define IOAPIC_DM_EXTINT  7u

/* One interrupt message to the local APICs. */
struct ioapic_msg {
	uint8_t vector;
	uint8_t delivery_mode;     /* IOAPIC_DM_FIXED or IOAPIC_DM_LOWEST */
	bool logical;              /* destination mode */
	bool level;                /* level-triggered: the LAPIC must EOI back */
	uint8_t dest;              /* bits 63:56 of the entry */
	uint8_t pin;
};

/* Deliver `m`; true when at least one local APIC accepted it. */
typedef bool (*ioapic_deliver_fn)(void *ctx, const struct ioapic_msg *m);

struct ioapic_regs {
	uint32_t id;               /* IOAPIC ID register (bits 27:24 kept) */
	uint32_t ioregsel;         /* last IOREGSEL written (8 bits kept) */
	uint32_t line;             /* bit n: pin n's input asserted */
	uint64_t rte[IOAPIC_PINS];
};

/* Power-up state: every entry masked, edge, vector 0; ID `id`. */
void ioapic_regs_reset(struct ioapic_regs *s, uint8_t id);

/* The register IOREGSEL selects. Unknown registers read 0. */
uint32_t ioapic_regs_read(const struct ioapic_regs *s);

/* Write the register IOREGSEL selects; an unmasked level entry whose pin is
 * asserted and not in service is delivered at once. */
void ioapic_regs_write(struct ioapic_regs *s, uint32_t val, ioapic_deliver_fn fn, void *ctx);

/* Pin `pin`'s input is now `level` (asserted or not). An edge entry sends a
 * message on the rising edge, a level entry while asserted and not already
 * in service (remote IRR); a masked entry sends nothing (a masked edge is
 * lost, a masked level is sent when unmasked). Out-of-range pins ignored. */
void ioapic_regs_set_line(struct ioapic_regs *s, unsigned pin, bool level, ioapic_deliver_fn fn, void *ctx);

/* A local APIC took an EOI for level-triggered `vector`: every level entry
 * with that vector and remote IRR set leaves service, and is sent again if
 * its pin is still asserted. At most IOAPIC_PINS messages. */
void ioapic_regs_eoi(struct ioapic_regs *s, uint8_t vector, ioapic_deliver_fn fn, void *ctx);

/* Restore: keep only the bits a real IOAPIC holds (the snapshot's values
 * are validated by the codec; this is the last word). */
void ioapic_regs_sanitize(struct ioapic_regs *s);

#endif
