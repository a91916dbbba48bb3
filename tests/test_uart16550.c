/* Host tests of pure/uart16550.c: the 16550A register model, including the
 * probe sequence a Linux 8250 driver runs (its autoconfig and startup
 * tests), which must find a 16550A with working THRE interrupts. */
#include "harness.h"
#include <tscvisor/uart16550.h>

static struct u16550 u;

static uint8_t rd(unsigned off) { return u16550_read(&u, off); }
static int wr(unsigned off, uint8_t v) { return u16550_write(&u, off, v); }

static void test_reset_and_storage(void)
{
	u16550_reset(&u);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x01);          /* no interrupt, FIFOs off */
	CHECK_EQ_U64(rd(U16550_LSR), 0x60);              /* THRE | TEMT */
	CHECK_EQ_U64(rd(U16550_MSR), 0xb0);              /* CTS DSR DCD, no delta */
	CHECK_EQ_U64(rd(U16550_RBR_THR), 0);             /* nothing received */
	wr(U16550_SCR, 0x5a);
	CHECK_EQ_U64(rd(U16550_SCR), 0x5a);
	wr(U16550_IER, 0xff);
	CHECK_EQ_U64(rd(U16550_IER), 0x0f);              /* bits 7:4 read 0 */
	wr(U16550_IER, 0);
	wr(U16550_LCR, 0x83);
	wr(U16550_RBR_THR, 0x01);
	wr(U16550_IER, 0x02);
	CHECK_EQ_U64(rd(U16550_RBR_THR), 0x01);          /* DLL */
	CHECK_EQ_U64(rd(U16550_IER), 0x02);              /* DLM */
	wr(U16550_LCR, 0x03);
	CHECK_EQ_U64(rd(U16550_IER), 0);                 /* IER untouched by DLM */
	CHECK_EQ_U64(rd(U16550_LCR), 0x03);
	CHECK_EQ_U64(wr(U16550_RBR_THR, 'A'), 'A');      /* transmitted */
	CHECK_EQ_U64(wr(U16550_LSR, 0), (uint64_t)-1);
	CHECK_EQ_U64(rd(U16550_LSR), 0x60);
}

static void test_fifo(void)
{
	unsigned i;

	u16550_reset(&u);
	wr(U16550_IIR_FCR, 0x06);                        /* bits without bit 0: ignored */
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x01);
	wr(U16550_IIR_FCR, 0x07);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0xc1);          /* IIR 7:6 = 11 */
	for (i = 0; i < 20; i++)
		u16550_receive(&u, (uint8_t)('a' + i));
	CHECK_EQ_U64(u.rx_count, 16);
	CHECK_EQ_U64(u.rx_dropped, 4);
	CHECK_EQ_U64(rd(U16550_LSR), 0x63);              /* DR, OE */
	CHECK_EQ_U64(rd(U16550_LSR), 0x61);              /* OE cleared by the read */
	for (i = 0; i < 16; i++)
		if (rd(U16550_RBR_THR) != 'a' + i)
			break;
	CHECK_EQ_U64(i, 16);                             /* in order, the first 16 kept */
	CHECK_EQ_U64(rd(U16550_LSR), 0x60);
	/* Wrap around the ring. */
	for (i = 0; i < 40; i++) {
		u16550_receive(&u, (uint8_t)i);
		if (rd(U16550_RBR_THR) != i)
			break;
	}
	CHECK_EQ_U64(i, 40);
	/* FCR bit 1 clears the receive FIFO; turning the FIFOs off empties it. */
	u16550_receive(&u, 'x');
	wr(U16550_IIR_FCR, 0x03);
	CHECK_EQ_U64(rd(U16550_LSR) & 1, 0);
	u16550_receive(&u, 'y');
	wr(U16550_IIR_FCR, 0x00);
	CHECK_EQ_U64(rd(U16550_LSR) & 1, 0);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x01);
	/* Without FIFOs: one holding register, overwritten on overrun. */
	CHECK(u16550_receive(&u, '1'));
	CHECK_EQ_U64(u16550_rx_room(&u), 0);
	CHECK(u16550_receive(&u, '2'));
	CHECK_EQ_U64(rd(U16550_LSR), 0x63);
	CHECK_EQ_U64(rd(U16550_RBR_THR), '2');
	CHECK_EQ_U64(u16550_rx_room(&u), 1);
	CHECK(u16550_valid(&u));
}

static void test_interrupts(void)
{
	u16550_reset(&u);
	wr(U16550_MCR, U16550_MCR_OUT2);
	CHECK(!u16550_irq(&u));
	/* THRE: pending when ETBEI goes on, cleared by reading IIR. */
	wr(U16550_IER, U16550_IER_ETBEI);
	CHECK(u16550_irq(&u));
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x02);
	CHECK(!u16550_irq(&u));
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x01);
	wr(U16550_RBR_THR, 'z');                         /* sent: THR empty again */
	CHECK(u16550_irq(&u));
	wr(U16550_IER, 0);
	CHECK(!u16550_irq(&u));
	wr(U16550_IER, U16550_IER_ETBEI);                /* re-enabled: again */
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0x02);
	/* OUT2 gates the line; loopback forces it off. */
	wr(U16550_RBR_THR, 'z');
	wr(U16550_MCR, 0);
	CHECK(!u16550_irq(&u));
	CHECK_EQ_U64(u16550_pending(&u), 0x02);
	wr(U16550_MCR, U16550_MCR_OUT2 | U16550_MCR_LOOP);
	CHECK(!u16550_irq(&u));
	wr(U16550_MCR, U16550_MCR_OUT2);
	rd(U16550_MSR);
	CHECK(u16550_irq(&u));
	rd(U16550_IIR_FCR);
	/* Received data outranks THRE; trigger level and timeout with FIFOs. */
	wr(U16550_IIR_FCR, 0x81);                        /* FIFO on, trigger 8 */
	wr(U16550_IER, U16550_IER_ERBFI | U16550_IER_ETBEI | U16550_IER_ELSI);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0xc1);          /* ETBEI was already on: no new THRE */
	u16550_receive(&u, 'a');
	CHECK_EQ_U64(u16550_pending(&u), U16550_IIR_CTI);
	for (int i = 0; i < 7; i++)
		u16550_receive(&u, 'b');
	CHECK_EQ_U64(u16550_pending(&u), U16550_IIR_RDI);
	CHECK(u16550_irq(&u));
	for (int i = 0; i < 9; i++)
		u16550_receive(&u, 'c');                 /* one too many */
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0xc6);          /* line status first */
	CHECK_EQ_U64(rd(U16550_LSR) & 0x03, 0x03);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0xc4);
	while (rd(U16550_LSR) & 1)
		rd(U16550_RBR_THR);
	CHECK_EQ_U64(rd(U16550_IIR_FCR), 0xc1);          /* THRE was read above */
	/* Modem status: a delta, cleared by reading MSR. */
	wr(U16550_IER, U16550_IER_EDSSI);
	wr(U16550_MCR, U16550_MCR_OUT2 | U16550_MCR_LOOP);
	CHECK_EQ_U64(u16550_pending(&u), U16550_IIR_MSI);
	CHECK_EQ_U64(rd(U16550_MSR), 0x83);              /* DCD stays; CTS and DSR dropped */
	CHECK_EQ_U64(u16550_pending(&u), U16550_IIR_NONE);
	wr(U16550_MCR, U16550_MCR_OUT2 | U16550_MCR_LOOP | U16550_MCR_OUT1);
	CHECK_EQ_U64(rd(U16550_MSR), 0xc0);              /* RI rising: no TERI */
	wr(U16550_MCR, U16550_MCR_OUT2 | U16550_MCR_LOOP);
	CHECK_EQ_U64(rd(U16550_MSR), 0x84);              /* RI falling: TERI */
}

static void test_loopback(void)
{
	u16550_reset(&u);
	wr(U16550_IIR_FCR, 0x07);
	wr(U16550_MCR, U16550_MCR_LOOP);
	CHECK_EQ_U64(wr(U16550_RBR_THR, 'L'), (uint64_t)-1);   /* not on the line */
	CHECK_EQ_U64(wr(U16550_RBR_THR, 'B'), (uint64_t)-1);
	CHECK(!u16550_receive(&u, 'X'));                        /* line disconnected */
	CHECK_EQ_U64(u16550_rx_room(&u), 0);
	CHECK_EQ_U64(rd(U16550_LSR), 0x61);
	CHECK_EQ_U64(rd(U16550_RBR_THR), 'L');
	CHECK_EQ_U64(rd(U16550_RBR_THR), 'B');
	CHECK_EQ_U64(rd(U16550_LSR), 0x60);
	wr(U16550_MCR, 0);
	CHECK_EQ_U64(rd(U16550_MSR), 0xbb);                     /* back to the line */
	CHECK_EQ_U64(wr(U16550_RBR_THR, 'L'), 'L');
}

/* What a Linux 8250 driver checks before it calls the port a 16550A and
 * trusts its THRE interrupt (the sequence of its autoconfig and startup). */
static void test_linux_probe(void)
{
	uint8_t save_ier, scratch2, scratch3, save_mcr, status1, iir, iir1, lsr;

	u16550_reset(&u);
	wr(U16550_MCR, U16550_MCR_DTR | U16550_MCR_RTS);
	/* IER: 0 reads 0, 0x0f reads 0x0f. */
	save_ier = rd(U16550_IER);
	wr(U16550_IER, 0);
	scratch2 = rd(U16550_IER) & 0x0f;
	wr(U16550_IER, 0x0f);
	scratch3 = rd(U16550_IER) & 0x0f;
	wr(U16550_IER, save_ier);
	CHECK(scratch2 == 0 && scratch3 == 0x0f);
	/* Loopback with OUT2 and RTS: MSR's top nibble must be DCD | CTS. */
	save_mcr = rd(U16550_MCR);
	wr(U16550_MCR, U16550_MCR_LOOP | U16550_MCR_OUT2 | U16550_MCR_RTS);
	status1 = rd(U16550_MSR) & 0xf0;
	wr(U16550_MCR, save_mcr);
	CHECK_EQ_U64(status1, 0x90);
	/* EFR (LCR 0xbf) cleared, FIFO enabled: IIR 7:6 = 3 is a 16550A. */
	wr(U16550_LCR, 0xbf);
	wr(U16550_IIR_FCR, 0);
	wr(U16550_LCR, 0);
	wr(U16550_IIR_FCR, 0x01);
	CHECK_EQ_U64(rd(U16550_IIR_FCR) >> 6, 3);
	/* Not an ST16C650 (EFR reads non-zero with DLAB), not a 16750 (IIR bit
	 * 5 stays 0 with FCR bit 5), no UUE bit in IER. */
	wr(U16550_LCR, 0x80);
	CHECK(rd(U16550_IIR_FCR) != 0);
	wr(U16550_LCR, 0);
	wr(U16550_IIR_FCR, 0x21);
	CHECK_EQ_U64(rd(U16550_IIR_FCR) & 0x20, 0);
	wr(U16550_IER, 0x40);
	CHECK_EQ_U64(rd(U16550_IER) & 0x40, 0);
	wr(U16550_IER, 0);
	/* Startup: LSR is not 0xff; the THRE interrupt comes when ETBEI is
	 * enabled (no UART_BUG_TXEN) and comes back when it is enabled again
	 * after IIR was read (no UART_BUG_THRE). */
	wr(U16550_IIR_FCR, 0x87);
	CHECK(rd(U16550_LSR) != 0xff);
	wr(U16550_IER, U16550_IER_ETBEI);
	lsr = rd(U16550_LSR);
	iir = rd(U16550_IIR_FCR);
	wr(U16550_IER, 0);
	CHECK(!((lsr & U16550_LSR_TEMT) && (iir & U16550_IIR_NONE)));
	wr(U16550_IER, U16550_IER_ETBEI);
	iir1 = rd(U16550_IIR_FCR);
	wr(U16550_IER, 0);
	wr(U16550_IER, U16550_IER_ETBEI);
	iir = rd(U16550_IIR_FCR);
	wr(U16550_IER, 0);
	CHECK(!(iir1 & U16550_IIR_NONE) && !(iir & U16550_IIR_NONE));
	/* The interrupt probe (MCR with OUT2, IER 0x0f, a THR write) raises
	 * the line. */
	wr(U16550_MCR, U16550_MCR_DTR | U16550_MCR_RTS | U16550_MCR_OUT2);
	wr(U16550_IER, 0x0f);
	CHECK(u16550_irq(&u));
	wr(U16550_IER, 0);
	CHECK(!u16550_irq(&u));
}

static void test_valid(void)
{
	u16550_reset(&u);
	CHECK(u16550_valid(&u));
	u.rx_count = 2;
	CHECK(!u16550_valid(&u));                        /* FIFOs off: at most 1 */
	u.fcr = 0xc1;
	CHECK(u16550_valid(&u));
	u.rx_count = 17;
	CHECK(!u16550_valid(&u));
	u.rx_count = 0;
	u.rx_head = 16;
	CHECK(!u16550_valid(&u));
	u.rx_head = 0;
	u.fcr = 0xc0;
	CHECK(!u16550_valid(&u));                        /* trigger without enable */
	u.fcr = 0x03;
	CHECK(!u16550_valid(&u));                        /* bit 1 is not kept */
	u.fcr = 0;
	u.lsr_err = 0x04;
	CHECK(!u16550_valid(&u));
}

int main(void)
{
	test_reset_and_storage();
	test_fifo();
	test_interrupts();
	test_loopback();
	test_linux_probe();
	test_valid();
	return th_done();
}
