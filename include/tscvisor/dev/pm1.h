/* The guest's ACPI PM1a event and control blocks (vmm/dev/pm1.c): PM1_STS,
 * PM1_EN and PM1_CNT at the ports the guest's FADT names
 * (ACPI_GUEST_PM1A_EVT_PORT, ACPI_GUEST_PM1A_CNT_PORT in acpi_build.h). */
#ifndef TSCVISOR_DEV_PM1_H
#define TSCVISOR_DEV_PM1_H

#include <stdint.h>

struct vm;
struct snap_vm;
struct save_ctx;

/* PM1_STS / PM1_EN bits (ACPI 6.0, 4.8.3.1). */
#define PM1_TMR            (1u << 0)
#define PM1_BM_STS         (1u << 4)
#define PM1_GBL            (1u << 5)
#define PM1_PWRBTN         (1u << 8)
#define PM1_SLPBTN         (1u << 9)
#define PM1_RTC            (1u << 10)
#define PM1_PCIEXP_WAKE    (1u << 14)   /* PCIEXP_WAKE_STS / _DIS */
#define PM1_WAK_STS        (1u << 15)
/* What PM1_EN keeps: TMR_EN reads 0 (the timer's carry raises no SCI). */
#define PM1_EN_WRITABLE    (PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | PM1_PCIEXP_WAKE)

/* PM1_CNT bits (4.8.3.2.1). */
#define PM1_CNT_SCI_EN     (1u << 0)    /* read-only 1: always in ACPI mode */
#define PM1_CNT_BM_RLD     (1u << 1)
#define PM1_CNT_GBL_RLS    (1u << 2)    /* write-only */
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP    (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN     (1u << 13)   /* write-only: enter SLP_TYP */
#define PM1_CNT_KEPT       (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP)

struct pm1_state {
	uint16_t sts;               /* PM1_STS: nothing sets a bit yet; write 1 to clear */
	uint16_t en;                /* PM1_EN, masked to PM1_EN_WRITABLE */
	uint16_t cnt;               /* PM1_CNT's kept bits (SCI_EN is not stored) */
};

int pm1_create(struct vm *vm);
/* The optional PM1 snapshot section (0x8000000D); a snapshot without it
 * restores the registers at reset (all 0, SCI_EN still reads 1). */
void pm1_save(struct vm *vm, struct snap_vm *s, struct save_ctx *c);
int pm1_restore(struct vm *vm, const struct snap_vm *s, struct save_ctx *c);

#endif
