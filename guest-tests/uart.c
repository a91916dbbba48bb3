/* uart — the COM1 16550A as a driver sees it (docs/platform.md "UART"):
 *   1. the scratch register keeps what is written; IER keeps bits 3:0;
 *   2. FCR bit 0 turns the FIFOs on and off, and IIR bits 7:6 say so (11);
 *   3. LSR says THRE and TEMT with nothing to send;
 *   4. the THRE interrupt: pending in IIR (0x02) as soon as IER.ETBEI is
 *      set, gone after one read of IIR, back after a byte is written, and
 *      back when ETBEI is set again (Linux's UART_BUG_TXEN/THRE probes);
 *   5. loopback (MCR bit 4): MSR follows MCR (Linux's probe: MCR 0x1a reads
 *      MSR 0x90 in bits 7:4), written bytes come back in order with LSR.DR,
 *      IIR says received data (0x04) at the trigger level and a character
 *      timeout (0x0c) below it, 17 bytes into the 16-byte FIFO overrun it
 *      (LSR.OE, read once) and the first 16 are kept;
 *   6. with input=1 (under tscvisor, the runner types on the console): the
 *      line "# uart: ready for input" asks for INPUT below, which must
 *      arrive whole and in order. The guest enables the received-data
 *      interrupt (so the hypervisor polls its console on a timer) and
 *      makes no exit for 3 s (native TSC mode: RDTSC does not exit); its
 *      first read then finds IIR 0xc4 (trigger 8 reached), a full FIFO of
 *      16 bytes and no overrun: the input came by the timer poll, and the
 *      rest waited in the hypervisor's console backlog, not lost.
 *   7. with save=1 (under tscvisor, on_save = restore): three bytes in the
 *      FIFO (trigger 4), THRE pending and the scratch register survive a
 *      snapshot and the restore from it.
 * The loopback parts print nothing while MCR.LOOP is on (the output would
 * loop back); their results are reported afterwards. */
#include "guest.h"
#include "pvclock.h"

#define COM1 0x3f8
#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_NORMAL 0x03         /* DTR, RTS: what the library's serial_init sets */
#define MCR_LOOP   0x10

/* What the runner types, after the Ctrl-A sequences that are the
 * hypervisor's: Ctrl-A Ctrl-A reaches the guest as one Ctrl-A. */
static const char INPUT[] = "\x01" "tscvisor uart input 0123456789 abcdefghijklmnopqrstuvwxyz!";

static u8 rd(u16 r) { return inb(COM1 + r); }
static void wr(u16 r, u8 v) { outb(COM1 + r, v); }

static bool wait_lsr(u8 bits, u64 ms)
{
	u64 end = tsc_after_ms(ms);

	while ((rd(LSR) & bits) != bits)
		if (timed_out(end))
			return false;
	return true;
}

/* Transmit one byte (into the loopback), waiting for THR first. */
static void put(u8 c)
{
	wait_lsr(LSR_THRE, 100);
	wr(THR, c);
}

static void registers(void)
{
	u8 a, b, ier, iir_on, iir_off, lsr;

	wr(SCR, 0x5a);
	a = rd(SCR);
	wr(SCR, 0xa5);
	b = rd(SCR);
	ok(a == 0x5a && b == 0xa5, "scratch register keeps 0x5a and 0xa5: read 0x%02x 0x%02x", a, b);
	wr(IER, 0xff);
	ier = rd(IER);
	wr(IER, 0);
	ok(ier == 0x0f, "IER 0xff reads 0x%02x (want 0x0f)", ier);

	wr(FCR, 0x07);
	iir_on = rd(IIR);
	wr(FCR, 0x00);
	iir_off = rd(IIR);
	wr(FCR, 0x07);
	ok(iir_on == 0xc1, "FIFOs on (FCR 0x07): IIR 0x%02x (want 0xc1)", iir_on);
	ok(iir_off == 0x01, "FIFOs off (FCR 0x00): IIR 0x%02x (want 0x01)", iir_off);

	wait_lsr(LSR_TEMT, 100);
	lsr = rd(LSR);
	ok((lsr & (LSR_THRE | LSR_TEMT | LSR_DR)) == (LSR_THRE | LSR_TEMT),
	   "idle LSR 0x%02x: THRE and TEMT set, DR clear", lsr);
}

static void thre(void)
{
	u8 none, first, again, after_write, reenabled;

	wait_lsr(LSR_TEMT, 100);
	none = rd(IIR);
	wr(IER, 0x02);                  /* ETBEI */
	first = rd(IIR);
	again = rd(IIR);
	wr(IER, 0);
	wr(IER, 0x02);
	reenabled = rd(IIR);
	rd(IIR);
	wr(THR, '.');                   /* a byte sent: THR empty again */
	wait_lsr(LSR_THRE, 100);
	after_write = rd(IIR);
	wr(IER, 0);
	serial_putc('\n');
	ok(none == 0xc1, "IER 0: IIR 0x%02x (no interrupt)", none);
	ok(first == 0xc2, "IER.ETBEI set with THR empty: IIR 0x%02x (want 0xc2, THRE)", first);
	ok(again == 0xc1, "THRE cleared by reading IIR: IIR 0x%02x (want 0xc1)", again);
	ok(reenabled == 0xc2, "ETBEI set again: IIR 0x%02x (want 0xc2)", reenabled);
	ok(after_write == 0xc2, "after a byte written: IIR 0x%02x (want 0xc2)", after_write);
}

static void loopback(void)
{
	static const char word[] = "LOOP";
	u8 msr, dr_before, got[4] = { 0 }, lsr_dr, lsr_after, iir_rdi, iir_read, iir_cti, lsr_oe, lsr_oe2;
	unsigned n = 0, kept = 0, i;
	u64 end;
	bool in_order = true;

	wait_lsr(LSR_TEMT, 100);
	while (rd(LSR) & LSR_DR)        /* nothing stale */
		rd(RBR);
	wr(MCR, MCR_LOOP | 0x0a);       /* loopback, OUT2, RTS */
	msr = rd(MSR) & 0xf0;
	dr_before = rd(LSR) & LSR_DR;
	for (i = 0; i < 4; i++)
		put((u8)word[i]);
	wait_lsr(LSR_DR, 100);
	lsr_dr = rd(LSR);
	end = tsc_after_ms(100);
	while (n < 4 && !timed_out(end))
		if (rd(LSR) & LSR_DR)
			got[n++] = rd(RBR);
	lsr_after = rd(LSR);

	/* Received-data interrupt: trigger 1 (FCR 0x07), then trigger 4 (0x47)
	 * with one byte: a character timeout (at once here, after four
	 * character times on a real one: wait up to 10 ms). */
	wr(IER, 0x01);
	put('x');
	wait_lsr(LSR_DR, 100);
	iir_rdi = rd(IIR);
	rd(RBR);
	iir_read = rd(IIR);
	wr(FCR, 0x47);
	put('y');
	wait_lsr(LSR_DR, 100);
	end = tsc_after_ms(10);
	do
		iir_cti = rd(IIR);
	while (iir_cti != 0xcc && !timed_out(end));
	wr(IER, 0);
	wr(FCR, 0x07);                  /* clears the receive FIFO */

	/* Overrun: 17 bytes into 16. */
	for (i = 0; i < 17; i++)
		put((u8)('a' + i));
	/* No LSR read until the last one is in (a read clears OE): on a real
	 * UART it takes a character time. */
	udelay(2000);
	lsr_oe = rd(LSR);
	lsr_oe2 = rd(LSR);
	end = tsc_after_ms(100);
	while (!timed_out(end) && (rd(LSR) & LSR_DR)) {
		if (rd(RBR) != 'a' + kept)
			in_order = false;
		kept++;
	}
	wr(MCR, MCR_NORMAL);

	ok(msr == 0x90, "loopback MCR 0x1a: MSR bits 7:4 0x%02x (want 0x90: DCD, CTS)", msr);
	ok(!dr_before && (lsr_dr & LSR_DR), "LSR.DR clear before, set after the loopback bytes");
	ok(n == 4 && got[0] == 'L' && got[1] == 'O' && got[2] == 'O' && got[3] == 'P',
	   "loopback returned %u bytes '%c%c%c%c' (want LOOP)", n, n > 0 ? got[0] : '?',
	   n > 1 ? got[1] : '?', n > 2 ? got[2] : '?', n > 3 ? got[3] : '?');
	ok(!(lsr_after & LSR_DR), "LSR.DR clear after reading them: LSR 0x%02x", lsr_after);
	ok(iir_rdi == 0xc4, "received data, trigger 1: IIR 0x%02x (want 0xc4)", iir_rdi);
	ok(iir_read == 0xc1, "after reading it: IIR 0x%02x (want 0xc1)", iir_read);
	ok(iir_cti == 0xcc, "one byte below trigger 4: IIR 0x%02x (want 0xcc, timeout)", iir_cti);
	ok((lsr_oe & (LSR_OE | LSR_DR)) == (LSR_OE | LSR_DR) && !(lsr_oe2 & LSR_OE),
	   "17 bytes into the FIFO: LSR 0x%02x then 0x%02x (OE once)", lsr_oe, lsr_oe2);
	ok(kept == 16 && in_order, "the FIFO kept %u bytes%s (want the first 16)", kept,
	   in_order ? " in order" : " OUT OF ORDER");
}

static void input(void)
{
	char got[sizeof(INPUT)];
	unsigned n = 0, first = 0, want = sizeof(INPUT) - 1;
	u8 lsr, iir_full, lsr_full, iir;
	bool overrun = false;
	u64 end;

	while (rd(LSR) & LSR_DR)
		rd(RBR);
	wr(FCR, 0x87);                  /* FIFOs on, trigger 8 */
	wr(IER, 0x01);                  /* ERBFI: the hypervisor polls on a timer */
	printf("# uart: ready for input\n");
	/* No UART access (no exit at all in native TSC mode) for 3 s: the
	 * input can only reach the FIFO by the hypervisor's timer poll. */
	udelay(3000000);
	iir_full = rd(IIR);
	if (iir_full == 0xc1 && !wait_lsr(LSR_DR, 60000)) {
		ok(false, "no input within 60 s");
		wr(IER, 0);
		return;
	}
	lsr_full = rd(LSR);
	while (rd(LSR) & LSR_DR && n < want)
		got[n++] = (char)rd(RBR);
	first = n;
	end = tsc_after_ms(10000);
	while (n < want && !timed_out(end)) {
		iir = rd(IIR) & 0x0f;
		if (iir != 0x04 && iir != 0x0c)
			continue;               /* wait for the received-data interrupt */
		while (((lsr = rd(LSR)) & LSR_DR) && n < want) {
			overrun |= lsr & LSR_OE;
			got[n++] = (char)rd(RBR);
		}
		overrun |= lsr & LSR_OE;
	}
	wr(IER, 0);
	wr(FCR, 0x07);
	got[n] = 0;
	ok(iir_full == 0xc4, "input arrived without an exit: first IIR 0x%02x (want 0xc4, trigger 8 "
	   "reached)", iir_full);
	ok((lsr_full & (LSR_DR | LSR_OE)) == LSR_DR, "input waiting: LSR 0x%02x (DR, no overrun)",
	   lsr_full);
	/* At least the 16 of a full FIFO (more when the hypervisor's poll
	 * refills it while the guest reads). */
	ok(first >= 16, "first read took %u bytes (want at least 16: a full FIFO)", first);
	ok(!overrun, "no overrun while reading");
	ok(n == want && !memcmp(got, INPUT, want), "received %u of %u bytes, in order: %s", n, want,
	   n == want && !memcmp(got, INPUT, want) ? "equal" : "DIFFERENT");
	diag("uart: received \"%s\"", got + (got[0] == 1));
}

static u32 incarnation(void)
{
	u32 max;

	return tv_signature(&max) && max >= TV_LEAF_TIME ? cpuid(TV_LEAF_TIME).edx : 0;
}

/* Across a snapshot and a restore: the FIFO's bytes, its trigger level, the
 * pending THRE interrupt and the scratch register come back. */
static void save_restore(void)
{
	u32 inc0 = incarnation();
	u8 iir_cti, got[3], iir_thre, iir_none, scr;
	s64 rc;
	unsigned i;

	while (rd(LSR) & LSR_DR)
		rd(RBR);
	wr(FCR, 0x47);                  /* FIFOs on, trigger 4 */
	wr(MCR, MCR_LOOP | MCR_NORMAL);
	put('S');
	put('N');
	put('P');
	wait_lsr(LSR_DR | LSR_TEMT, 100);
	wr(MCR, MCR_NORMAL);
	wr(SCR, 0x77);
	wr(IER, 0x03);                  /* ERBFI, ETBEI: THRE pending */
	rc = tv_hypercall(TV_HC_SAVE, 0, 0, 0, 0);
	iir_cti = rd(IIR);
	for (i = 0; i < 3; i++)
		got[i] = rd(RBR);
	iir_thre = rd(IIR);
	iir_none = rd(IIR);
	scr = rd(SCR);
	wr(IER, 0);
	wr(FCR, 0x07);
	ok(rc == 0 && incarnation() == inc0 + 1, "a snapshot was taken (%lld) and the VM restored "
	   "from it (incarnation %u -> %u)", (long long)rc, inc0, incarnation());
	ok(iir_cti == 0xcc, "after the restore: IIR 0x%02x (want 0xcc: 3 bytes below trigger 4)",
	   iir_cti);
	ok(got[0] == 'S' && got[1] == 'N' && got[2] == 'P', "the FIFO's bytes came back: '%c%c%c'",
	   got[0], got[1], got[2]);
	ok(iir_thre == 0xc2 && iir_none == 0xc1, "THRE still pending: IIR 0x%02x then 0x%02x",
	   iir_thre, iir_none);
	ok(scr == 0x77, "scratch register 0x%02x (want 0x77)", scr);
}

void test_main(const struct mb_info *mbi)
{
	bool want_input = cmdline_u64("input", 0, NULL) != 0;
	bool want_save = cmdline_u64("save", 0, NULL) != 0;

	(void)mbi;
	plan(19 + (want_input ? 5 : 0) + (want_save ? 5 : 0));
	registers();
	thre();
	loopback();
	if (want_input)
		input();
	if (want_save)
		save_restore();
	done();
}
