/*
 * CRC32C (Castagnoli, poly 0x1EDC6F41 / reflected 0x82F63B78), the iSCSI
 * header and data digest (RFC 7143 section 13.1, test vectors in RFC 3720
 * appendix B.4).
 *
 * isc_crc32c() dispatches at first use to the SSE4.2 `crc32` instruction
 * when the CPU has it, else to the portable table-driven implementation.
 * Both paths are exported separately so tests can compare them.
 */
#ifndef ISC_CRC32C_H
#define ISC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Full CRC of a buffer: initial value ~0, final xor ~0 (the iSCSI digest
 * value). Continue a running CRC with isc_crc32c_update(). */
uint32_t isc_crc32c(const void *buf, size_t len);

/* Running form: start with crc = 0xFFFFFFFF, feed pieces, finish with
 * crc ^ 0xFFFFFFFF. Lets the PDU code digest data + padding without copying. */
uint32_t isc_crc32c_update(uint32_t crc, const void *buf, size_t len);

/* The two implementations of isc_crc32c_update (same contract). The hardware
 * one must only be called when isc_crc32c_have_hw() is true. */
uint32_t isc_crc32c_update_sw(uint32_t crc, const void *buf, size_t len);
uint32_t isc_crc32c_update_hw(uint32_t crc, const void *buf, size_t len);
int isc_crc32c_have_hw(void);

/* Force the software path (tests, and ISC_CRC32C=sw in the environment). */
void isc_crc32c_force_sw(int on);

/* The 4 digest bytes as they go on the wire. RFC 7143 sends the CRC in
 * the byte order that results from the reflected algorithm, i.e. little
 * endian (the RFC 3720 B.4 vectors show the byte sequence). */
void isc_crc32c_put(uint8_t out[4], uint32_t crc);
uint32_t isc_crc32c_get(const uint8_t in[4]);

#endif
