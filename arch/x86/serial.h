#ifndef ARCH_X86_SERIAL_H
#define ARCH_X86_SERIAL_H
void serial_init(void);
/* Characters go out through hw_console_putc (<tscvisor/hw.h>). */
#endif
