/* The 16550A register model: see include/tscvisor/uart16550.h. */
#include <tscvisor/uart16550.h>

static const uint8_t trigger_level[4] = { 1, 4, 8, 14 };

static bool fifo_on(const struct u16550 *u)
{
	return u->fcr & U16550_FCR_ENABLE;
}

static unsigned capacity(const struct u16550 *u)
{
	return fifo_on(u) ? U16550_FIFO_LEN : 1;
}

uint8_t u16550_msr_lines(uint8_t mcr)
{
	uint8_t m = 0;

	if (!(mcr & U16550_MCR_LOOP))
		return U16550_MSR_CTS | U16550_MSR_DSR | U16550_MSR_DCD;
	if (mcr & U16550_MCR_RTS)
		m |= U16550_MSR_CTS;
	if (mcr & U16550_MCR_DTR)
		m |= U16550_MSR_DSR;
	if (mcr & U16550_MCR_OUT1)
		m |= U16550_MSR_RI;
	if (mcr & U16550_MCR_OUT2)
		m |= U16550_MSR_DCD;
	return m;
}

void u16550_reset(struct u16550 *u)
{
	*u = (struct u16550){ 0 };
	u->msr = u16550_msr_lines(0);
}

static void rx_clear(struct u16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* The modem inputs became `lines`: record which changed in the deltas
 * (TERI only on RI's trailing edge, 1 to 0). */
static void msr_update(struct u16550 *u, uint8_t lines)
{
	uint8_t old = u->msr & 0xf0, d = u->msr & U16550_MSR_DELTAS;

	if ((old ^ lines) & U16550_MSR_CTS)
		d |= U16550_MSR_DCTS;
	if ((old ^ lines) & U16550_MSR_DSR)
		d |= U16550_MSR_DDSR;
	if ((old & U16550_MSR_RI) && !(lines & U16550_MSR_RI))
		d |= U16550_MSR_TERI;
	if ((old ^ lines) & U16550_MSR_DCD)
		d |= U16550_MSR_DDCD;
	u->msr = (uint8_t)(lines | d);
}

static bool rx_push(struct u16550 *u, uint8_t byte)
{
	if (u->rx_count >= capacity(u)) {
		u->lsr_err |= U16550_LSR_OE;
		u->rx_dropped++;
		if (fifo_on(u))
			return false;          /* the FIFO keeps what it has */
		u->rx[u->rx_head] = byte;      /* the holding register is overwritten */
		return true;
	}
	u->rx[(u->rx_head + u->rx_count) % U16550_FIFO_LEN] = byte;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct u16550 *u)
{
	uint8_t b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (uint8_t)((u->rx_head + 1) % U16550_FIFO_LEN);
	u->rx_count--;
	return b;
}

uint8_t u16550_pending(const struct u16550 *u)
{
	if ((u->ier & U16550_IER_ELSI) && (u->lsr_err & U16550_LSR_OE))
		return U16550_IIR_RLSI;
	if ((u->ier & U16550_IER_ERBFI) && u->rx_count) {
		if (!fifo_on(u) || u->rx_count >= trigger_level[u->fcr >> 6])
			return U16550_IIR_RDI;
		return U16550_IIR_CTI;
	}
	if ((u->ier & U16550_IER_ETBEI) && u->thr_ipending)
		return U16550_IIR_THRI;
	if ((u->ier & U16550_IER_EDSSI) && (u->msr & U16550_MSR_DELTAS))
		return U16550_IIR_MSI;
	return U16550_IIR_NONE;
}

bool u16550_irq(const struct u16550 *u)
{
	return (u->mcr & (U16550_MCR_OUT2 | U16550_MCR_LOOP)) == U16550_MCR_OUT2 &&
	       u16550_pending(u) != U16550_IIR_NONE;
}

uint8_t u16550_read(struct u16550 *u, unsigned off)
{
	bool dlab = u->lcr & U16550_LCR_DLAB;
	uint8_t v;

	switch (off & 7) {
	case U16550_RBR_THR:
		return dlab ? u->dll : rx_pop(u);
	case U16550_IER:
		return dlab ? u->dlm : u->ier;
	case U16550_IIR_FCR:
		v = u16550_pending(u);
		if (v == U16550_IIR_THRI)
			u->thr_ipending = false;   /* reading IIR acknowledges THRE */
		return (uint8_t)(v | (fifo_on(u) ? U16550_IIR_FIFO : 0));
	case U16550_LCR:
		return u->lcr;
	case U16550_MCR:
		return u->mcr;
	case U16550_LSR:
		v = (uint8_t)(U16550_LSR_THRE | U16550_LSR_TEMT | u->lsr_err |
			      (u->rx_count ? U16550_LSR_DR : 0));
		u->lsr_err = 0;
		return v;
	case U16550_MSR:
		v = u->msr;
		u->msr &= (uint8_t)~U16550_MSR_DELTAS;
		return v;
	default:
		return u->scr;
	}
}

static void fcr_write(struct u16550 *u, uint8_t val)
{
	/* Bits 7:1 are taken only together with bit 0 (the datasheet: FCR0
	 * must be 1 for the others to be written). Switching the FIFOs on or
	 * off empties them. */
	if ((val ^ u->fcr) & U16550_FCR_ENABLE)
		rx_clear(u);
	if (!(val & U16550_FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (val & U16550_FCR_CLR_RX)
		rx_clear(u);
	u->fcr = val & U16550_FCR_KEPT;
}

int u16550_write(struct u16550 *u, unsigned off, uint8_t val)
{
	bool dlab = u->lcr & U16550_LCR_DLAB;
	uint8_t old;

	switch (off & 7) {
	case U16550_RBR_THR:
		if (dlab) {
			u->dll = val;
			return -1;
		}
		/* Sent at once: THR is empty again, which raises THRE anew. */
		u->thr_ipending = true;
		if (u->mcr & U16550_MCR_LOOP) {
			rx_push(u, val);
			return -1;
		}
		return val;
	case U16550_IER:
		if (dlab) {
			u->dlm = val;
			return -1;
		}
		old = u->ier;
		u->ier = val & U16550_IER_MASK;
		if ((u->ier & U16550_IER_ETBEI) && !(old & U16550_IER_ETBEI))
			u->thr_ipending = true;    /* THR is empty: THRE at once */
		return -1;
	case U16550_IIR_FCR:
		fcr_write(u, val);
		return -1;
	case U16550_LCR:
		u->lcr = val;
		return -1;
	case U16550_MCR:
		u->mcr = val & U16550_MCR_MASK;
		msr_update(u, u16550_msr_lines(u->mcr));
		return -1;
	case U16550_LSR:
	case U16550_MSR:
		return -1;                     /* read-only here */
	default:
		u->scr = val;
		return -1;
	}
}

bool u16550_receive(struct u16550 *u, uint8_t byte)
{
	if (u->mcr & U16550_MCR_LOOP)
		return false;
	return rx_push(u, byte);
}

unsigned u16550_rx_room(const struct u16550 *u)
{
	if (u->mcr & U16550_MCR_LOOP)
		return 0;
	return capacity(u) > u->rx_count ? capacity(u) - u->rx_count : 0;
}

bool u16550_valid(const struct u16550 *u)
{
	if (u->fcr & ~U16550_FCR_KEPT)
		return false;
	if (u->fcr && !(u->fcr & U16550_FCR_ENABLE))
		return false;
	if (u->rx_head >= U16550_FIFO_LEN || u->rx_count > capacity(u))
		return false;
	if (u->lsr_err & ~U16550_LSR_OE)
		return false;
	if (u->ier & ~U16550_IER_MASK || u->mcr & ~U16550_MCR_MASK)
		return false;
	return true;
}
