/* The VM's ISA interrupt lines (include/tscvisor/dev/irq.h). Until an
 * interrupt controller routes them (the 8259s deliver nothing,
 * vmm/dev/pic.c), a line's level is only recorded. */
#include <tscvisor/dev/irq.h>
#include <tscvisor/vm.h>

void isa_irq_set(struct vm *vm, unsigned irq, bool level)
{
	if (irq >= ISA_IRQ_N)
		return;
	if (level)
		__atomic_or_fetch(&vm->isa_irq_level, 1u << irq, __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&vm->isa_irq_level, ~(1u << irq), __ATOMIC_RELAXED);
}
