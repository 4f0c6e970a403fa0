/*
 * CRC32C: RFC 3720 appendix B.4 vectors (as digest bytes on the wire), the
 * CRC catalogue check value, running-CRC composition, and the software and
 * SSE4.2 paths agreeing on every length 0..1024 at every alignment 0..15.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crc32c.h"

static void check_vector(const uint8_t *buf, size_t len, const uint8_t wire[4])
{
	uint8_t got[4];

	isc_crc32c_put(got, isc_crc32c(buf, len));
	CHECK_MEM(got, wire, 4);
	CHECK_EQ_INT(isc_crc32c_get(wire), isc_crc32c(buf, len));
	isc_crc32c_put(got, isc_crc32c_update_sw(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu);
	CHECK_MEM(got, wire, 4);
	if (isc_crc32c_have_hw()) {
		isc_crc32c_put(got, isc_crc32c_update_hw(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu);
		CHECK_MEM(got, wire, 4);
	}
}

static void test_rfc3720_b4(void)
{
	uint8_t buf[48];
	/* RFC 3720 appendix B.4 (repeated in RFC 7143 appendix A.4): the CRC
	 * lines list the digest bytes in transmission order. */
	static const uint8_t zeros_crc[4] = { 0xaa, 0x36, 0x91, 0x8a };
	static const uint8_t ones_crc[4] = { 0x43, 0xab, 0xa8, 0x62 };
	static const uint8_t inc_crc[4] = { 0x4e, 0x79, 0xdd, 0x46 };
	static const uint8_t dec_crc[4] = { 0x5c, 0xdb, 0x3f, 0x11 };
	/* "An iSCSI - SCSI Read (10) Command PDU" */
	static const uint8_t read_pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t read_crc[4] = { 0x56, 0x3a, 0x96, 0xd9 };

	memset(buf, 0, 32);
	check_vector(buf, 32, zeros_crc);
	CHECK_EQ_INT(isc_crc32c(buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, 32);
	check_vector(buf, 32, ones_crc);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	check_vector(buf, 32, inc_crc);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	check_vector(buf, 32, dec_crc);
	check_vector(read_pdu, sizeof(read_pdu), read_crc);
}

static void test_check_value(void)
{
	/* CRC catalogue "CRC-32/ISCSI" check value. */
	CHECK_EQ_INT(isc_crc32c("123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(isc_crc32c("", 0), 0);
	CHECK_EQ_INT(isc_crc32c(NULL, 0), 0);
}

static void test_put_get(void)
{
	uint8_t b[4];

	isc_crc32c_put(b, 0x11223344u);
	CHECK_EQ_INT(b[0], 0x44);
	CHECK_EQ_INT(b[3], 0x11);
	CHECK_EQ_INT(isc_crc32c_get(b), 0x11223344u);
}

static void test_running(void)
{
	const char *s = "123456789";
	/* Every split point of the running form gives the one-shot value. */
	for (size_t cut = 0; cut <= 9; cut++) {
		uint32_t c = isc_crc32c_update(0xFFFFFFFFu, s, cut);
		c = isc_crc32c_update(c, s + cut, 9 - cut);
		CHECK_EQ_INT(c ^ 0xFFFFFFFFu, 0xE3069283u);
	}
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rng_byte(void)
{
	/* xorshift64: deterministic so a failure reproduces */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

static void test_sw_equals_hw(void)
{
	enum { MAXLEN = 1024, MAXOFF = 16 };
	uint8_t *buf = malloc(MAXLEN + MAXOFF);
	int mismatches = 0, have_hw = isc_crc32c_have_hw();

	if (!buf) {
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < MAXLEN + MAXOFF; i++)
		buf[i] = rng_byte();
	if (!have_hw)
		printf("note: no SSE4.2 on this CPU, comparing sw with dispatch only\n");
	for (size_t off = 0; off < MAXOFF; off++) {
		for (size_t len = 0; len <= MAXLEN; len++) {
			uint32_t sw = isc_crc32c_update_sw(0xFFFFFFFFu, buf + off, len);
			uint32_t other = have_hw ? isc_crc32c_update_hw(0xFFFFFFFFu, buf + off, len)
						 : isc_crc32c_update(0xFFFFFFFFu, buf + off, len);
			if (sw != other)
				mismatches++;
		}
	}
	CHECK_EQ_INT(mismatches, 0);
	free(buf);
}

static void test_force_sw(void)
{
	isc_crc32c_force_sw(1);
	CHECK_EQ_INT(isc_crc32c("123456789", 9), 0xE3069283u);
	isc_crc32c_force_sw(0);
	CHECK_EQ_INT(isc_crc32c("123456789", 9), 0xE3069283u);
}

int main(void)
{
	test_rfc3720_b4();
	test_check_value();
	test_put_get();
	test_running();
	test_sw_equals_hw();
	test_force_sw();
	printf("crc32c hw path available: %d\n", isc_crc32c_have_hw());
	return check_finish();
}
