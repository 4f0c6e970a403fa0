/*
 * CHAP primitives. Known-answer vectors were computed independently with
 * the openssl command line over the same byte string, e.g.
 *   printf '\x2asecretpass\x00\x01\x02\x03\xfe\xff\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0' \
 *     | openssl dgst -sha256
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "chap.h"
#include "isc/errors.h"

static const uint8_t CHALLENGE[16] = { 0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x10, 0x20,
				       0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0 };
static const char SECRET[] = "secretpass";

static void kat(int alg, const char *hex)
{
	uint8_t out[ISC_CHAP_MAX_DIGEST];
	char enc[2 * ISC_CHAP_MAX_DIGEST + 3];
	size_t n = isc_chap_digest_len(alg);

	CHECK(isc_chap_alg_available(alg));
	CHECK_EQ_INT(isc_chap_compute(alg, 0x2a, (const uint8_t *)SECRET, strlen(SECRET), CHALLENGE,
				      sizeof(CHALLENGE), out),
		     0);
	CHECK_EQ_INT(isc_chap_encode_hex(out, n, enc, sizeof(enc)), 0);
	CHECK_EQ_STR(enc, hex);
}

static void test_vectors(void)
{
	kat(ISC_CHAP_MD5, "0xf2be8e50cd2d0765f82caace26602ece");
	kat(ISC_CHAP_SHA1, "0x2debbb4c504f2bc30d104c060ee0cdc9d026b024");
	kat(ISC_CHAP_SHA256, "0x008e873baaa5e0225b5bb13068640965d3a59ec51c588886d67a71263c14ba96");
	kat(ISC_CHAP_SHA3_256,
	    "0x05c357bda0964b44ea0b610040773bc8ff61a7724d7983f0ae7ce7115b0ba9a5");

	/* A different id must change the digest. */
	uint8_t a[32], b[32];
	CHECK_EQ_INT(isc_chap_compute(ISC_CHAP_SHA256, 1, (const uint8_t *)"k", 1, CHALLENGE, 16, a), 0);
	CHECK_EQ_INT(isc_chap_compute(ISC_CHAP_SHA256, 2, (const uint8_t *)"k", 1, CHALLENGE, 16, b), 0);
	CHECK(memcmp(a, b, 32) != 0);
	CHECK_EQ_INT(isc_chap_compute(99, 1, (const uint8_t *)"k", 1, CHALLENGE, 16, a),
		     ISC_ERR_UNSUPPORTED);
}

static void test_names(void)
{
	CHECK_EQ_STR(isc_chap_alg_name(ISC_CHAP_MD5), "MD5");
	CHECK_EQ_STR(isc_chap_alg_name(ISC_CHAP_SHA1), "SHA1");
	CHECK_EQ_STR(isc_chap_alg_name(ISC_CHAP_SHA256), "SHA256");
	CHECK_EQ_STR(isc_chap_alg_name(ISC_CHAP_SHA3_256), "SHA3-256");
	CHECK(isc_chap_alg_name(4) == NULL);
	CHECK_EQ_INT(isc_chap_alg_from_name("md5"), ISC_CHAP_MD5);
	CHECK_EQ_INT(isc_chap_alg_from_name("SHA-1"), ISC_CHAP_SHA1);
	CHECK_EQ_INT(isc_chap_alg_from_name("sha1"), ISC_CHAP_SHA1);
	CHECK_EQ_INT(isc_chap_alg_from_name("SHA-256"), ISC_CHAP_SHA256);
	CHECK_EQ_INT(isc_chap_alg_from_name("Sha256"), ISC_CHAP_SHA256);
	CHECK_EQ_INT(isc_chap_alg_from_name("sha3-256"), ISC_CHAP_SHA3_256);
	CHECK(isc_chap_alg_from_name("SHA512") < 0);
	CHECK(isc_chap_alg_from_name("") < 0);
	CHECK_EQ_INT(isc_chap_digest_len(ISC_CHAP_MD5), 16);
	CHECK_EQ_INT(isc_chap_digest_len(ISC_CHAP_SHA1), 20);
	CHECK_EQ_INT(isc_chap_digest_len(ISC_CHAP_SHA256), 32);
	CHECK_EQ_INT(isc_chap_digest_len(ISC_CHAP_SHA3_256), 32);
	CHECK_EQ_INT(isc_chap_digest_len(0), 0);
	CHECK(!isc_chap_alg_available(0));
}

static void test_decode(void)
{
	uint8_t out[2048];
	size_t n = 0;

	CHECK_EQ_INT(isc_chap_decode("0x00fF10", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_MEM(out, "\x00\xff\x10", 3);
	/* Odd digit count: implied leading zero nibble (RFC 7143 6.1). */
	CHECK_EQ_INT(isc_chap_decode("0XABC", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_MEM(out, "\x0a\xbc", 2);
	CHECK_EQ_INT(isc_chap_decode("0x1", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(out[0], 1);

	/* Base64 with and without padding. */
	CHECK_EQ_INT(isc_chap_decode("0bAAECAw==", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_MEM(out, "\x00\x01\x02\x03", 4);
	CHECK_EQ_INT(isc_chap_decode("0BAAECAw", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_MEM(out, "\x00\x01\x02\x03", 4);
	CHECK_EQ_INT(isc_chap_decode("0bAAE=", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_MEM(out, "\x00\x01", 2);
	CHECK_EQ_INT(isc_chap_decode("0b+/+/", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_MEM(out, "\xfb\xff\xbf", 3);
	CHECK_EQ_INT(isc_chap_decode("0bc2VjcmV0", out, sizeof(out), &n), 0);
	CHECK_EQ_INT(n, 6);
	CHECK_MEM(out, "secret", 6);

	/* Must-fail cases. */
	CHECK_EQ_INT(isc_chap_decode("", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0x", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0b", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0b==", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0x12g4", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0x 12", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("1234", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0y12", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0bA", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0bAAE", out, sizeof(out), &n), 0); /* 3 chars = 2 bytes */
	CHECK_EQ_INT(isc_chap_decode("0bAA=", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0bAA=A", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0bAA*A", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0bA===", out, sizeof(out), &n), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_chap_decode("0x0102", out, 1, &n), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(isc_chap_decode("0bAAECAw==", out, 3, &n), ISC_ERR_TOO_LARGE);
}

static void test_big_challenge(void)
{
	static uint8_t bin[ISC_CHAP_MAX_CHALLENGE + 1], back[ISC_CHAP_MAX_CHALLENGE];
	static char hex[2 * (ISC_CHAP_MAX_CHALLENGE + 1) + 3];
	uint8_t dg[32];
	size_t n = 0;

	memset(bin, 0x5a, sizeof(bin));
	/* 1024 bytes: accepted, round trips. */
	CHECK_EQ_INT(isc_chap_encode_hex(bin, 1024, hex, sizeof(hex)), 0);
	CHECK_EQ_INT(strlen(hex), 2 + 2048);
	CHECK_EQ_INT(isc_chap_decode(hex, back, sizeof(back), &n), 0);
	CHECK_EQ_INT(n, 1024);
	CHECK_MEM(back, bin, 1024);
	/* (printf '\x07key'; head -c 1024 /dev/zero | tr '\0' Z) | openssl dgst -sha256 */
	CHECK_EQ_INT(isc_chap_compute(ISC_CHAP_SHA256, 7, (const uint8_t *)"key", 3, back, n, dg), 0);
	{
		char e[67];
		isc_chap_encode_hex(dg, 32, e, sizeof(e));
		CHECK_EQ_STR(e, "0x21d5cae189b8b3bead33630b431b3639ff181987b7e516d7cfcceefa7a4ad1d2");
	}
	/* 1025 bytes: refused with the typed error. */
	CHECK_EQ_INT(isc_chap_encode_hex(bin, 1025, hex, sizeof(hex)), 0);
	CHECK_EQ_INT(isc_chap_decode(hex, back, ISC_CHAP_MAX_CHALLENGE, &n), ISC_ERR_TOO_LARGE);
	/* Encoder capacity. */
	CHECK_EQ_INT(isc_chap_encode_hex(bin, 4, hex, 10), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(isc_chap_encode_hex(bin, 4, hex, 11), 0);
	CHECK_EQ_STR(hex, "0x5a5a5a5a");
	CHECK_EQ_INT(isc_chap_encode_hex(bin, 0, hex, 3), 0);
	CHECK_EQ_STR(hex, "0x");
}

static void test_random_and_ct(void)
{
	uint8_t a[300], b[300];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK_EQ_INT(isc_random_bytes(a, sizeof(a)), 0);
	CHECK_EQ_INT(isc_random_bytes(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ_INT(isc_ct_memcmp(a, a, sizeof(a)), 0);
	CHECK(isc_ct_memcmp(a, b, sizeof(a)) != 0);
	memcpy(b, a, sizeof(a));
	b[299] ^= 1;
	CHECK(isc_ct_memcmp(a, b, sizeof(a)) != 0);
	b[299] ^= 1;
	b[0] ^= 0x80;
	CHECK(isc_ct_memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ_INT(isc_ct_memcmp(a, b, 0), 0);
}

int main(void)
{
	test_vectors();
	test_names();
	test_decode();
	test_big_challenge();
	test_random_and_ct();
	return check_finish();
}
