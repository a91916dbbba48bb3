/* The register model of a 16550A UART (pure C, no hardware access;
 * host-tested in tests/test_uart16550.c). vmm/dev/uart.c puts one at the
 * guest's COM1 and feeds it the hypervisor's console input; docs/platform.md
 * describes what the guest sees.
 *
 * What is modelled (National Semiconductor PC16550D datasheet):
 *   - the divisor latch (LCR.DLAB), LCR, SCR: plain storage;
 *   - FCR: FIFO enable (bit 0; clearing or setting it empties the FIFO),
 *     receive FIFO reset (bit 1), DMA mode and receive trigger level (bits
 *     3, 7:6, stored); IIR bits 7:6 read 11 while the FIFOs are on;
 *   - receive: a 16-byte FIFO (one holding register with the FIFOs off),
 *     LSR.DR, LSR.OE on a byte arriving with no room (with the FIFO on the
 *     new byte is lost, without it the held byte is overwritten), cleared by
 *     reading LSR;
 *   - transmit completes at once: LSR.THRE and TEMT always read 1, and a
 *     written byte is handed back to the caller to print (or, in loopback,
 *     received);
 *   - IER (bits 3:0) and IIR with the datasheet's priorities: receiver line
 *     status (OE), received data available (FIFO at its trigger level, or
 *     any byte with the FIFOs off), character timeout (FIFO below its
 *     trigger level but not empty: reported at once, there is no timer),
 *     THR empty, modem status. The THRE interrupt becomes pending when
 *     ETBEI goes from 0 to 1 and after every byte written to THR (it is
 *     transmitted at once, so THR is empty again); reading IIR while it is
 *     the interrupt reported clears it;
 *   - MCR bits 4:0 and loopback (bit 4): THR goes to the receive FIFO, the
 *     modem inputs follow MCR (CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2),
 *     and nothing from outside is received; MSR's delta bits follow every
 *     change of the inputs and are cleared by reading MSR. Outside loopback
 *     the inputs read CTS, DSR and DCD asserted, RI not;
 *   - the interrupt line as on a PC: asserted while an interrupt is pending,
 *     MCR.OUT2 is set and loopback is off (the OUT2 pin gates the IRQ
 *     driver, and loopback forces the pin inactive). */
#ifndef TSCVISOR_UART16550_H
#define TSCVISOR_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define U16550_FIFO_LEN 16

/* Register offsets from the base port. */
#define U16550_RBR_THR 0           /* DLL with LCR.DLAB */
#define U16550_IER     1           /* DLM with LCR.DLAB */
#define U16550_IIR_FCR 2           /* IIR on read, FCR on write */
#define U16550_LCR     3
#define U16550_MCR     4
#define U16550_LSR     5
#define U16550_MSR     6
#define U16550_SCR     7

#define U16550_IER_ERBFI  0x01     /* received data available */
#define U16550_IER_ETBEI  0x02     /* THR empty */
#define U16550_IER_ELSI   0x04     /* receiver line status */
#define U16550_IER_EDSSI  0x08     /* modem status */
#define U16550_IER_MASK   0x0f

#define U16550_IIR_NONE   0x01
#define U16550_IIR_MSI    0x00
#define U16550_IIR_THRI   0x02
#define U16550_IIR_RDI    0x04
#define U16550_IIR_RLSI   0x06
#define U16550_IIR_CTI    0x0c     /* character timeout */
#define U16550_IIR_FIFO   0xc0     /* FIFOs enabled */

#define U16550_FCR_ENABLE 0x01
#define U16550_FCR_CLR_RX 0x02
#define U16550_FCR_CLR_TX 0x04
#define U16550_FCR_DMA    0x08
#define U16550_FCR_TRIG   0xc0
#define U16550_FCR_KEPT   (U16550_FCR_ENABLE | U16550_FCR_DMA | U16550_FCR_TRIG)

#define U16550_LCR_DLAB   0x80
#define U16550_MCR_DTR    0x01
#define U16550_MCR_RTS    0x02
#define U16550_MCR_OUT1   0x04
#define U16550_MCR_OUT2   0x08
#define U16550_MCR_LOOP   0x10
#define U16550_MCR_MASK   0x1f

#define U16550_LSR_DR     0x01
#define U16550_LSR_OE     0x02
#define U16550_LSR_THRE   0x20
#define U16550_LSR_TEMT   0x40

#define U16550_MSR_DCTS   0x01
#define U16550_MSR_DDSR   0x02
#define U16550_MSR_TERI   0x04
#define U16550_MSR_DDCD   0x08
#define U16550_MSR_DELTAS 0x0f
#define U16550_MSR_CTS    0x10
#define U16550_MSR_DSR    0x20
#define U16550_MSR_RI     0x40
#define U16550_MSR_DCD    0x80

struct u16550 {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fcr;                 /* U16550_FCR_KEPT bits as last written; 0: FIFOs off */
	uint8_t lsr_err;             /* sticky LSR error bits (U16550_LSR_OE) */
	uint8_t msr;                 /* inputs (7:4) and their deltas (3:0) */
	bool thr_ipending;           /* the THRE interrupt is pending */
	uint8_t rx_head, rx_count;   /* receive FIFO: oldest byte at rx[rx_head] */
	uint8_t rx[U16550_FIFO_LEN];
	uint64_t rx_dropped;         /* bytes lost to a full FIFO (overruns) */
};

/* The state after a hardware reset: everything 0, the modem inputs of a
 * line with nothing in loopback (CTS, DSR, DCD), no delta. */
void u16550_reset(struct u16550 *u);

/* A guest read of register `off` (0-7; taken modulo 8). */
uint8_t u16550_read(struct u16550 *u, unsigned off);

/* A guest write of register `off`. Returns the byte to transmit (0-255) when
 * the write sent one out of the line, -1 otherwise (a loopback byte goes to
 * the receive FIFO and is not returned). */
int u16550_write(struct u16550 *u, unsigned off, uint8_t val);

/* A byte arriving on the line. false when it was not received: in loopback
 * (the line is disconnected) or lost to a full FIFO (LSR.OE is then set). */
bool u16550_receive(struct u16550 *u, uint8_t byte);

/* Room left in the receive FIFO (0 in loopback: nothing is received). */
unsigned u16550_rx_room(const struct u16550 *u);

/* IIR bits 3:0 as a read would return them now (without clearing). */
uint8_t u16550_pending(const struct u16550 *u);

/* The level of the interrupt line (IRQ 4 for COM1). */
bool u16550_irq(const struct u16550 *u);

/* The modem inputs MCR gives (loopback) or the line gives (not), without
 * deltas. */
uint8_t u16550_msr_lines(uint8_t mcr);

/* The receive FIFO's state is consistent: count within what the FCR allows,
 * head inside the array, FCR and error bits within their masks. A snapshot
 * restorer checks this before it takes such a state. */
bool u16550_valid(const struct u16550 *u);

#endif
