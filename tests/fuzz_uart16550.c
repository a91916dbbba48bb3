/* libFuzzer target for the guest UART's register model (pure/uart16550.c):
 * every byte pair of the input is one guest access or one byte arriving on
 * the line, as a hostile guest (and a fast typist) would drive it.
 *
 * Input: pairs [op, value]: op bits 2:0 the register, bits 4:3 the kind (0
 * read, 1 write, 2 a byte received, 3 a read of the same register twice).
 *
 * Invariants after every step: the state is one the model can reach
 * (u16550_valid: FIFO count within what FCR allows, head inside the ring,
 * register bits within their masks); the bytes read from RBR are exactly
 * the bytes received (or looped back) and not lost to an overrun, in order,
 * checked against an independent queue; LSR.DR says whether one is
 * waiting; IIR bits 7:6 are 00 or 11 and its low nibble one of the six
 * codes; the interrupt line is never up with OUT2 clear or in loopback; a
 * write returns a byte to transmit only outside loopback and only from THR.
 * Run through `make fuzz`. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tscvisor/uart16550.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t q[64];
static unsigned qn;

static void expect_push(const struct u16550 *before, uint8_t b)
{
	unsigned cap = (before->fcr & U16550_FCR_ENABLE) ? U16550_FIFO_LEN : 1;

	if (before->rx_count < cap) {
		q[qn++] = b;
	} else if (!(before->fcr & U16550_FCR_ENABLE)) {
		q[0] = b;                      /* the holding register is overwritten */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct u16550 u, before;
	static const uint8_t codes[] = { 0x01, 0x00, 0x02, 0x04, 0x06, 0x0c };

	u16550_reset(&u);
	qn = 0;
	for (size_t i = 0; i + 1 < size; i += 2) {
		unsigned reg = data[i] & 7, kind = (data[i] >> 3) & 3;
		uint8_t v = data[i + 1], r;
		bool dlab = u.lcr & U16550_LCR_DLAB;
		int out;

		before = u;
		switch (kind) {
		case 0:
		case 3:
			for (unsigned k = 0; k < (kind == 3 ? 2u : 1u); k++) {
				bool had = u.rx_count != 0;

				before = u;
				r = u16550_read(&u, reg);
				if (reg == U16550_RBR_THR && !dlab) {
					if (had != (qn != 0))
						abort();
					if (had) {
						if (r != q[0])
							abort();
						memmove(q, q + 1, --qn);
					} else if (r != 0) {
						abort();
					}
				}
				if (reg == U16550_LSR && (!!(r & U16550_LSR_DR) != (qn != 0) ||
							  (r & 0x60) != 0x60))
					abort();
				if (reg == U16550_IIR_FCR) {
					if ((r & 0xc0) != 0 && (r & 0xc0) != 0xc0)
						abort();
					if (!memchr(codes, r & 0x0f, sizeof(codes)) || (r & 0x30))
						abort();
				}
			}
			break;
		case 1:
			out = u16550_write(&u, reg, v);
			if (out >= 0 && (reg != U16550_RBR_THR || dlab || (before.mcr & U16550_MCR_LOOP) ||
					 out != v))
				abort();
			if (reg == U16550_RBR_THR && !dlab && (before.mcr & U16550_MCR_LOOP))
				expect_push(&before, v);
			if (reg == U16550_IIR_FCR &&
			    (((v ^ before.fcr) & U16550_FCR_ENABLE) ||
			     ((v & U16550_FCR_ENABLE) && (v & U16550_FCR_CLR_RX))))
				qn = 0;
			break;
		default:
			if (u16550_receive(&u, v) != (!(before.mcr & U16550_MCR_LOOP) &&
						      (before.rx_count < ((before.fcr & 1) ? 16u : 1u) ||
						       !(before.fcr & 1))))
				abort();
			if (!(before.mcr & U16550_MCR_LOOP))
				expect_push(&before, v);
			break;
		}
		if (!u16550_valid(&u) || u.rx_count != qn)
			abort();
		if (u16550_irq(&u) && (!(u.mcr & U16550_MCR_OUT2) || (u.mcr & U16550_MCR_LOOP)))
			abort();
	}
	return 0;
}
