/* The VM's ISA interrupt lines (include/tscvisor/dev/irq.h), routed to the
 * I/O APIC (vmm/dev/ioapic.c) as a PC's firmware describes them: ISA IRQ n
 * is IOAPIC pin n, except IRQ 0 (the timer), which is pin 2 (the MADT's
 * interrupt source override, pure/acpi_build.c). The 8259s deliver nothing
 * (vmm/dev/pic.c). The levels are also kept in vm->isa_irq_level. */
#include <tscvisor/dev/ioapic.h>
#include <tscvisor/dev/irq.h>
#include <tscvisor/vm.h>

#define ISA_IRQ_TIMER   0u
#define IOAPIC_PIN_TIMER 2u

void isa_irq_set(struct vm *vm, unsigned irq, bool level)
{
	if (irq >= ISA_IRQ_N)
		return;
	if (level)
		__atomic_or_fetch(&vm->isa_irq_level, 1u << irq, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&vm->isa_irq_level, ~(1u << irq), __ATOMIC_RELAXED);
	ioapic_set_irq(vm, irq == ISA_IRQ_TIMER ? IOAPIC_PIN_TIMER : irq, level);
}
