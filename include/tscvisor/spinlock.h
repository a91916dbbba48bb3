/* Spin lock for short critical sections between physical CPUs. */
#ifndef TSCVISOR_SPINLOCK_H
#define TSCVISOR_SPINLOCK_H

#include <stdint.h>

struct spinlock { volatile uint32_t locked; };

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			__asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
