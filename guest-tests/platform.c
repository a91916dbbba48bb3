/* platform — the ACPI platform a stock kernel needs: the FADT's PM1 blocks
 * and SCI, the PM1 registers, the DSDT, the PCI host bridge, and S5.
 *
 * Checks:
 *   - the FADT: a PM1a event block of 4 bytes and a control block of 2,
 *     the same ports in the 32-bit and X_ fields, SCI_INT 9, SMI_CMD 0
 *     (ACPI mode on from the start), HW_REDUCED_ACPI clear;
 *   - the DSDT (X_DSDT): signature, length, checksum, and a \_S5 package
 *     whose first element is the S5 SLP_TYP used below;
 *   - PM1_CNT has SCI_EN set and keeps it when written 0; SLP_TYP reads back
 *     as written (without SLP_EN); SLP_EN with another type (3) is ignored;
 *   - PM1_STS reads 0 (nothing pending) and writing ones sets nothing
 *     (write-1-to-clear); PM1_EN keeps PWRBTN_EN and RTC_EN as written,
 *     word and byte, and a dword read of the block is PM1_STS | PM1_EN << 16;
 *   - PCI mechanism #1: 00:00.0 is a host bridge (option pci_id, default
 *     0x00081b36: tscvisor's), class 06 00 00, header type 0, no BARs (a
 *     BAR written all-ones reads 0); every other function of bus 0, bus 1,
 *     the AMD extended-register bits and a disabled CONFIG_ADDRESS read
 *     all-ones;
 *   - on a machine that is not tscvisor's (the FADT's hypervisor ID is not
 *     "TSCVISOR": bare QEMU q35), the checks of tscvisor's own choices are
 *     skipped (SMI_CMD 0 and SCI_EN from the start, SLP_EN with type 3, the
 *     bridge's IDs, nothing else on bus 0) and the PM timer's status bit
 *     (TMR_STS, which QEMU sets) is left out of PM1_STS, and the dword and
 *     byte accesses to the event block (QEMU's take words only);
 *   - save=1 (under tscvisor, on_save = restore): PM1_EN and PM1_CNT set,
 *     a save hypercall, and after the restore (incarnation + 1) both read
 *     as before;
 *   - poweroff=1: after the checks, SLP_TYP from \_S5 with SLP_EN written to
 *     PM1_CNT; the VM must end there (the case checks the hypervisor's line),
 *     so anything after it fails. */
#include "guest.h"
#include "pvclock.h"

#define F_SCI_INT       46
#define F_SMI_CMD       48
#define F_PM1A_EVT      56
#define F_PM1A_CNT      64
#define F_PM1_EVT_LEN   88
#define F_PM1_CNT_LEN   89
#define F_FLAGS         112
#define F_X_DSDT        140
#define F_X_PM1A_EVT    148
#define F_X_PM1A_CNT    172

#define SCI_EN    (1u << 0)
#define SLP_TYP(x) ((u16)((x) << 10))
#define SLP_EN    (1u << 13)
#define PWRBTN    (1u << 8)
#define RTC       (1u << 10)

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

static u8 sum8(const u8 *p, u32 n)
{
	u8 s = 0;

	while (n--)
		s = (u8)(s + *p++);
	return s;
}

static u32 cfg_read(u32 addr)
{
	outl(0xcf8, addr);
	return inl(0xcfc);
}

/* The first element of \_S5 (a BytePrefix or ZeroOp/OneOp), or -1. */
static int s5_type(const u8 *dsdt, u32 len)
{
	u32 i;

	for (i = 36; i + 9 <= len; i++) {
		const u8 *e = dsdt + i;

		if (memcmp(e, "_S5_", 4) || e[4] != 0x12)
			continue;
		e += 7;                         /* PackageOp, PkgLength, count (short forms) */
		if (e[0] == 0x0A)
			return e[1];
		if (e[0] == 0x00 || e[0] == 0x01)
			return e[0];
		return -1;
	}
	return -1;
}

static bool tv;                 /* tscvisor's tables (FADT hypervisor ID) */

static void check_pci(void)
{
	u64 want_id = cmdline_u64("pci_id", 0x00081b36, NULL);
	u32 id = pci_read32(0, 0, 0, 0), cls = pci_read32(0, 0, 0, 8);
	u32 hdr = pci_read32(0, 0, 0, 0x0c), bars = 0, bar0, others = 0, d;
	unsigned i;

	if (tv)
		ok(id == want_id, "PCI 00:00.0 vendor:device 0x%08x (want 0x%08x)", id, (u32)want_id);
	else
		skip("PCI 00:00.0 vendor:device 0x%08x: not tscvisor's", id);
	ok(cls >> 8 == 0x060000, "PCI 00:00.0 class 0x%06x: host bridge", cls >> 8);
	ok(((hdr >> 16) & 0x7f) == 0, "PCI 00:00.0 header type %u", (hdr >> 16) & 0x7f);
	for (i = 0; i < 6; i++)
		bars |= pci_read32(0, 0, 0, (u8)(0x10 + 4 * i));
	outl(0xcf8, 0x80000010u);
	outl(0xcfc, 0xffffffffu);
	bar0 = pci_read32(0, 0, 0, 0x10);
	ok(bars == 0 && bar0 == 0, "PCI 00:00.0 has no BARs (0x%x; BAR0 after all-ones 0x%x)",
	   bars, bar0);
	for (d = 1; d < 256; d++)               /* devfn 1..255 on bus 0 */
		if (cfg_read(0x80000000u | d << 8) != 0xffffffffu)
			others++;
	if (!tv) {
		skip("PCI bus 0: %u functions besides 00:00.0 (not tscvisor's)", others);
		skip("PCI bus 1 and extended registers: not tscvisor's");
	} else {
	ok(others == 0, "PCI bus 0: no function but 00:00.0 answers (%u did)", others);
	ok(cfg_read(0x80010000u) == 0xffffffffu && cfg_read(0x81000000u) == 0xffffffffu &&
	   cfg_read(0x00000000u) == 0xffffffffu,
	   "PCI: bus 1, extended register bits and a disabled CONFIG_ADDRESS read all-ones");
	}
	outl(0xcf8, 0x80000000u);
	ok(inw(0xcfe) == (u16)(id >> 16) && inb(0xcfc) == (u8)id,
	   "PCI 00:00.0: word and byte reads of CONFIG_DATA");
}

static bool tv_tables(void)
{
	const u8 *f = acpi_find_table("FACP");

	return f && rd32(f + 4) >= 276 && !memcmp(f + 268, "TSCVISOR", 8);
}

void test_main(const struct mb_info *mbi)
{
	const u8 *fadt = acpi_find_table("FACP"), *dsdt = NULL;
	bool poweroff = cmdline_u64("poweroff", 0, NULL) != 0;
	u16 evt = 0, cnt = 0, v, sts_mask;
	int s5 = -1;
	u64 dsdt_at;

	(void)mbi;
	plan(22 + (tv_tables() ? 1 : 0) + (cmdline_u64("save", 0, NULL) ? 1 : 0));

	if (!ok(fadt != NULL, "the FADT is there"))
		done();
	tv = tv_tables();
	sts_mask = tv ? 0xffff : 0xfffe;        /* QEMU sets TMR_STS */
	diag("FADT revision %u, hypervisor ID %s", fadt[8], tv ? "TSCVISOR" : "not tscvisor's");
	evt = (u16)rd32(fadt + F_PM1A_EVT);
	cnt = (u16)rd32(fadt + F_PM1A_CNT);
	ok(evt && fadt[F_PM1_EVT_LEN] == 4 && rd64(fadt + F_X_PM1A_EVT + 4) == evt &&
	   fadt[F_X_PM1A_EVT] == 1 && fadt[F_X_PM1A_EVT + 1] == 32,
	   "FADT PM1a event block: port 0x%x, %u bytes, X_ form agrees", evt, fadt[F_PM1_EVT_LEN]);
	ok(cnt && fadt[F_PM1_CNT_LEN] == 2 && rd64(fadt + F_X_PM1A_CNT + 4) == cnt &&
	   fadt[F_X_PM1A_CNT] == 1 && fadt[F_X_PM1A_CNT + 1] == 16,
	   "FADT PM1a control block: port 0x%x, %u bytes, X_ form agrees", cnt, fadt[F_PM1_CNT_LEN]);
	ok((fadt[F_SCI_INT] | fadt[F_SCI_INT + 1] << 8) == 9 && (!tv || rd32(fadt + F_SMI_CMD) == 0) &&
	   !(rd32(fadt + F_FLAGS) & (1u << 20)),
	   "FADT SCI_INT %u, SMI_CMD 0x%x, flags 0x%x (not hardware-reduced)",
	   fadt[F_SCI_INT] | fadt[F_SCI_INT + 1] << 8, rd32(fadt + F_SMI_CMD), rd32(fadt + F_FLAGS));

	dsdt_at = rd64(fadt + F_X_DSDT) ? rd64(fadt + F_X_DSDT) : rd32(fadt + 40);
	if (tv)
		ok(dsdt_at == rd64(fadt + F_X_DSDT), "tscvisor's FADT names the DSDT in X_DSDT");
	dsdt = phys_ptr(dsdt_at);
	ok(dsdt_at && !memcmp(dsdt, "DSDT", 4) && rd32(dsdt + 4) > 36 &&
	   rd32(dsdt + 4) < 0x100000 && sum8(dsdt, rd32(dsdt + 4)) == 0,
	   "DSDT at 0x%llx: signature, %u bytes, checksum", (unsigned long long)dsdt_at,
	   rd32(dsdt + 4));
	s5 = s5_type(dsdt, rd32(dsdt + 4));
	ok(s5 >= 0 && s5 <= 7, "DSDT \\_S5: SLP_TYP %d", s5);

	/* PM1_CNT. */
	if (!evt || !cnt)
		skip_rest("no PM1 blocks");
	v = inw(cnt);
	if (tv) {
		ok(v & SCI_EN, "PM1_CNT 0x%04x: SCI_EN set (ACPI mode)", v);
		outw(cnt, 0);
		ok(inw(cnt) & SCI_EN, "PM1_CNT written 0: SCI_EN still set (0x%04x)", inw(cnt));
	} else {
		skip("PM1_CNT 0x%04x: SCI_EN is the OS's to set here (SMI_CMD 0x%x)", v,
		     rd32(fadt + F_SMI_CMD));
		skip("SCI_EN kept: not tscvisor's");
	}
	outw(cnt, (u16)((v & SCI_EN) | SLP_TYP(5)));
	v = inw(cnt);
	ok((v & SLP_TYP(7)) == SLP_TYP(5) && !(v & SLP_EN), "PM1_CNT keeps SLP_TYP 5 (0x%04x)", v);
	if (tv) {
		outw(cnt, SLP_TYP(3) | SLP_EN); /* no S3 offered: nothing happens */
		v = inw(cnt);
		ok((v & SLP_TYP(7)) == SLP_TYP(3) && !(v & SLP_EN),
		   "PM1_CNT: SLP_EN with SLP_TYP 3 ignored, SLP_EN reads 0 (0x%04x)", v);
	} else {
		skip("SLP_EN with SLP_TYP 3: a machine that is not tscvisor's may sleep");
	}
	outw(cnt, (u16)(inw(cnt) & SCI_EN));

	/* PM1_STS and PM1_EN. */
	v = inw(evt);
	if (tv)
		ok(v == 0, "PM1_STS 0x%04x: nothing pending", v);
	else
		skip("PM1_STS 0x%04x: not tscvisor's", v);
	outw(evt, 0xffff);
	v = inw(evt);
	ok((v & sts_mask) == 0, "PM1_STS after writing ones: 0x%04x (write 1 to clear)", v);
	outw((u16)(evt + 2), PWRBTN | RTC);
	v = inw((u16)(evt + 2));
	ok(v == (PWRBTN | RTC), "PM1_EN keeps PWRBTN_EN | RTC_EN (0x%04x)", v);
	if (tv) {
		ok(inl(evt) == (u32)v << 16, "dword read of the event block: 0x%08x", inl(evt));
		outb((u16)(evt + 3), 0);
		v = inw((u16)(evt + 2));
		ok(v == 0, "PM1_EN high byte written 0: 0x%04x", v);
	} else {
		/* QEMU's PM1 registers take word accesses only. */
		skip("dword read of the event block: not tscvisor's");
		skip("byte write to PM1_EN: not tscvisor's");
	}
	outw((u16)(evt + 2), 0);

	check_pci();

	if (cmdline_u64("save", 0, NULL)) {
		u32 max, inc0 = cpuid(TV_LEAF_TIME).edx, inc1;
		u16 en, cn;
		s64 rc;

		if (!tv_signature(&max)) {
			skip("save: not under tscvisor");
		} else {
			outw((u16)(evt + 2), 0x0520);
			outw(cnt, (u16)(SLP_TYP(5) | 2));       /* SLP_TYP 5, BM_RLD */
			rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
			inc1 = cpuid(TV_LEAF_TIME).edx;
			en = inw((u16)(evt + 2));
			cn = inw(cnt);
			ok(rc == 0 && inc1 == inc0 + 1 && en == 0x0520 && cn == (SLP_TYP(5) | 2 | SCI_EN),
			   "after a save and restore (%lld, incarnation %u -> %u): PM1_EN 0x%04x, "
			   "PM1_CNT 0x%04x", (long long)rc, inc0, inc1, en, cn);
			outw((u16)(evt + 2), 0);
			outw(cnt, 0);
		}
	}

	if (poweroff) {
		diag("writing SLP_TYP %d | SLP_EN to PM1_CNT (0x%x): the VM ends here", s5, cnt);
		outw(cnt, (u16)(SLP_TYP((unsigned)s5) | SLP_EN));
		ok(false, "still running after S5");
	}
	done();
}
