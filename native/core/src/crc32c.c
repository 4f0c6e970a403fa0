/*
 * CRC32C (Castagnoli) for iSCSI header and data digests.
 *
 * RFC 7143 section 13.1 names the generator 0x11EDC6F41; the digest is the
 * bit-reflected CRC with initial value 0xFFFFFFFF and final complement, so
 * we work with the reflected polynomial 0x82F63B78 and shift right.
 *
 * Two implementations with the same contract:
 *  - software: slicing-by-8 over eight 256-entry tables built once from the
 *    polynomial (pthread_once, so concurrent first users are safe);
 *  - hardware: the SSE4.2 `crc32` instruction (which computes exactly this
 *    reflected CRC32C), x86-64 only, selected at run time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ISC_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define ISC_CRC32C_X86 0
#endif

#define CRC32C_POLY_REFLECTED 0x82F63B78u

/* table[k][b]: CRC contribution of byte b followed by k zero bytes. Slicing
 * by 8 folds eight input bytes per step with eight independent lookups. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;
		for (int i = 0; i < 8; i++)
			c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1u)));
		crc_table[0][b] = c;
	}
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = crc_table[0][b];
		for (int k = 1; k < 8; k++) {
			c = (c >> 8) ^ crc_table[0][c & 0xff];
			crc_table[k][b] = c;
		}
	}
}

uint32_t isc_crc32c_update_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_table_once, crc_table_build);
	/* Byte-wise until 8-byte aligned so the main loop's loads are cheap;
	 * loads go through explicit byte assembly (little-endian order, which
	 * is what the reflected CRC consumes), so host endianness and
	 * alignment never matter for correctness. */
	while (len && ((uintptr_t)p & 7u)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if ISC_CRC32C_X86
__attribute__((target("sse4.2")))
uint32_t isc_crc32c_update_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c64;

	while (len && ((uintptr_t)p & 7u)) {
		crc = _mm_crc32_u8(crc, *p++);
		len--;
	}
	c64 = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8); /* aligned here, memcpy keeps it strict-aliasing clean */
		c64 = _mm_crc32_u64(c64, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c64;
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}

int isc_crc32c_have_hw(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}
#else
uint32_t isc_crc32c_update_hw(uint32_t crc, const void *buf, size_t len)
{
	/* No hardware path on this architecture; callers must check
	 * isc_crc32c_have_hw() first, but stay correct if they do not. */
	return isc_crc32c_update_sw(crc, buf, len);
}

int isc_crc32c_have_hw(void)
{
	return 0;
}
#endif

/* Dispatch state: 0 = not decided yet, 1 = software, 2 = hardware.
 * Deciding twice in a race is harmless (same answer), hence a plain atomic
 * rather than a once-guard. */
static _Atomic int crc_impl;

static int crc_decide(void)
{
	const char *env = getenv("ISC_CRC32C");
	int impl = 1;

	if (!(env && strcmp(env, "sw") == 0) && isc_crc32c_have_hw())
		impl = 2;
	atomic_store(&crc_impl, impl);
	return impl;
}

void isc_crc32c_force_sw(int on)
{
	if (on)
		atomic_store(&crc_impl, 1);
	else
		crc_decide();
}

uint32_t isc_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	int impl = atomic_load_explicit(&crc_impl, memory_order_relaxed);

	if (len == 0)
		return crc;
	if (impl == 0)
		impl = crc_decide();
	return impl == 2 ? isc_crc32c_update_hw(crc, buf, len)
			 : isc_crc32c_update_sw(crc, buf, len);
}

uint32_t isc_crc32c(const void *buf, size_t len)
{
	return isc_crc32c_update(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu;
}

/* The digest goes out least significant byte first: RFC 3720 B.4 shows
 * 32 zero bytes giving the byte sequence aa 36 91 8a for CRC 0x8A9136AA. */
void isc_crc32c_put(uint8_t out[4], uint32_t crc)
{
	out[0] = (uint8_t)crc;
	out[1] = (uint8_t)(crc >> 8);
	out[2] = (uint8_t)(crc >> 16);
	out[3] = (uint8_t)(crc >> 24);
}

uint32_t isc_crc32c_get(const uint8_t in[4])
{
	return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 |
	       (uint32_t)in[3] << 24;
}
