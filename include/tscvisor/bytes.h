/* Little-endian fields in byte buffers: kernel images, firmware tables, the
 * boot protocol's zero page, snapshots. Every format tscvisor reads or
 * writes is little-endian, and so is every machine its code runs on (the
 * hypervisor and the host tests are x86-64), so an unaligned copy is the
 * whole conversion. Pure: no hardware, usable from every layer. */
#ifndef TSCVISOR_BYTES_H
#define TSCVISOR_BYTES_H

#include <stdint.h>

static inline uint16_t get_le16(const void *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t get_le32(const void *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t get_le64(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline void put_le16(void *p, uint16_t v) { __builtin_memcpy(p, &v, sizeof(v)); }
static inline void put_le32(void *p, uint32_t v) { __builtin_memcpy(p, &v, sizeof(v)); }
static inline void put_le64(void *p, uint64_t v) { __builtin_memcpy(p, &v, sizeof(v)); }

#endif
