/*
 * Big-endian field access for wire structures. iSCSI is big-endian on the
 * wire (RFC 7143 section 11); these never assume alignment.
 */
#ifndef ISC_BYTES_H
#define ISC_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t isc_get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t isc_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t isc_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t isc_get_be64(const uint8_t *p)
{
	return (uint64_t)isc_get_be32(p) << 32 | isc_get_be32(p + 4);
}

static inline void isc_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void isc_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void isc_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void isc_put_be64(uint8_t *p, uint64_t v)
{
	isc_put_be32(p, (uint32_t)(v >> 32));
	isc_put_be32(p + 4, (uint32_t)v);
}

/* RFC 1982 serial number arithmetic on 32-bit sequence numbers (CmdSN,
 * StatSN, DataSN wrap around). True when a < b in serial order. */
static inline int isc_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

static inline int isc_sn_le(uint32_t a, uint32_t b)
{
	return a == b || isc_sn_lt(a, b);
}

/* Overwrite memory the compiler may not elide (for secrets). */
void isc_memzero(void *p, size_t n);

#endif
