/*
 * Text key=value codec: parse rules and limits (RFC 7143 section 6.1),
 * multi-PDU reassembly, builder errors, send-side chunking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"
#include "text.h"

static int parse_str(const char *s, size_t len, struct isc_kv_list *l)
{
	return isc_text_parse((const uint8_t *)s, len, l);
}

static void test_basic(void)
{
	static const char t[] = "InitiatorName=iqn.2024-01.org.example:init\0SessionType=Normal\0"
				"Empty=\0a=b=c\0SessionType=Discovery\0";
	struct isc_kv_list l;

	CHECK_EQ_INT(parse_str(t, sizeof(t) - 1, &l), 0);
	CHECK_EQ_INT(l.count, 5);
	CHECK_EQ_STR(l.items[0].key, "InitiatorName");
	CHECK_EQ_STR(l.items[0].value, "iqn.2024-01.org.example:init");
	CHECK_EQ_INT(l.items[0].value_len, 28);
	CHECK_EQ_STR(l.items[2].key, "Empty");
	CHECK_EQ_STR(l.items[2].value, "");
	CHECK_EQ_INT(l.items[2].value_len, 0);
	/* only the first '=' separates: value keeps the rest */
	CHECK_EQ_STR(l.items[3].key, "a");
	CHECK_EQ_STR(l.items[3].value, "b=c");
	/* duplicates kept in wire order; get returns the first */
	CHECK_EQ_STR(l.items[4].value, "Discovery");
	CHECK_EQ_STR(isc_kv_get(&l, "SessionType"), "Normal");
	CHECK(isc_kv_get(&l, "Missing") == NULL);
	CHECK(isc_kv_get(&l, "sessiontype") == NULL); /* keys are case sensitive */
	isc_kv_list_free(&l);
	CHECK_EQ_INT(l.count, 0);
	CHECK(l.items == NULL && l.storage == NULL);
}

static void test_padding_and_empty(void)
{
	struct isc_kv_list l;

	CHECK_EQ_INT(parse_str("", 0, &l), 0);
	CHECK_EQ_INT(l.count, 0);
	isc_kv_list_free(&l);
	/* trailing NUL padding (a 4-byte padded data segment) tolerated */
	CHECK_EQ_INT(parse_str("A=1\0\0\0\0", 7, &l), 0);
	CHECK_EQ_INT(l.count, 1);
	CHECK_EQ_STR(isc_kv_get(&l, "A"), "1");
	isc_kv_list_free(&l);
	CHECK_EQ_INT(parse_str("\0\0\0\0", 4, &l), 0);
	CHECK_EQ_INT(l.count, 0);
	isc_kv_list_free(&l);
	/* an empty pair in the middle is not padding */
	CHECK_EQ_INT(parse_str("A=1\0\0B=2\0", 9, &l), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(l.count, 0);
	CHECK(l.items == NULL && l.storage == NULL);
	CHECK_EQ_INT(parse_str("\0A=1\0", 5, &l), ISC_ERR_PROTOCOL);
}

static void test_malformed(void)
{
	struct isc_kv_list l;
	char key64[80];

	CHECK_EQ_INT(parse_str("A=1\0B=2", 7, &l), ISC_ERR_PROTOCOL); /* unterminated */
	CHECK_EQ_INT(l.count, 0);
	CHECK_EQ_INT(parse_str("A=1\0NoEquals\0", 13, &l), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(parse_str("=value\0", 7, &l), ISC_ERR_PROTOCOL); /* empty key */
	CHECK_EQ_INT(parse_str("Bad Key=1\0", 10, &l), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(parse_str("Bad\xc3\xa9=1\0", 8, &l), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(parse_str("X", 1, &l), ISC_ERR_PROTOCOL);
	/* 63-character key accepted, 64 refused */
	memset(key64, 'K', 63);
	memcpy(key64 + 63, "=v", 3);
	CHECK_EQ_INT(parse_str(key64, 63 + 3, &l), 0);
	CHECK_EQ_INT(strlen(l.items[0].key), 63);
	isc_kv_list_free(&l);
	memset(key64, 'K', 64);
	memcpy(key64 + 64, "=v", 3);
	CHECK_EQ_INT(parse_str(key64, 64 + 3, &l), ISC_ERR_PROTOCOL);
	/* every allowed punctuation character */
	CHECK_EQ_INT(parse_str("X-com.example+v@1_a=z\0", 22, &l), 0);
	CHECK_EQ_STR(isc_kv_get(&l, "X-com.example+v@1_a"), "z");
	isc_kv_list_free(&l);
}

static void test_value_limit(void)
{
	size_t n = 2 + ISC_TEXT_MAX_VALUE + 2;
	uint8_t *t = malloc(n);
	struct isc_kv_list l;

	memcpy(t, "V=", 2);
	memset(t + 2, 'x', ISC_TEXT_MAX_VALUE);
	t[2 + ISC_TEXT_MAX_VALUE] = '\0';
	CHECK_EQ_INT(isc_text_parse(t, 2 + ISC_TEXT_MAX_VALUE + 1, &l), 0); /* 8192 bytes */
	CHECK_EQ_INT(l.count, 1);
	CHECK_EQ_INT(l.items[0].value_len, 8192);
	CHECK_EQ_INT(strlen(l.items[0].value), 8192);
	isc_kv_list_free(&l);
	t[2 + ISC_TEXT_MAX_VALUE] = 'x';
	t[2 + ISC_TEXT_MAX_VALUE + 1] = '\0';
	CHECK_EQ_INT(isc_text_parse(t, n, &l), ISC_ERR_TOO_LARGE); /* 8193 bytes */
	CHECK_EQ_INT(l.count, 0);
	free(t);
}

static void test_key_valid(void)
{
	CHECK(isc_text_key_valid("HeaderDigest", 12));
	CHECK(!isc_text_key_valid("", 0));
	CHECK(!isc_text_key_valid(NULL, 3));
	CHECK(!isc_text_key_valid("a=b", 3));
	CHECK(!isc_text_key_valid("a\0b", 3));
	CHECK(isc_text_key_valid("a\0b", 1)); /* only len bytes are looked at */
}

/* A text split across two data segments in the middle of a pair, the way
 * a target may cut a SendTargets response at MaxRecvDataSegmentLength. */
static void test_accum_split(void)
{
	static const char t[] = "TargetName=iqn.2001-04.com.example:storage.disk1\0"
				"TargetAddress=127.0.0.1:3260,1\0";
	size_t len = sizeof(t) - 1;
	struct isc_text_accum a;
	struct isc_kv_list l;

	for (size_t cut = 0; cut <= len; cut++) {
		isc_text_accum_init(&a);
		CHECK_EQ_INT(isc_text_accum_add(&a, (const uint8_t *)t, cut), 0);
		CHECK_EQ_INT(isc_text_accum_add(&a, (const uint8_t *)t + cut, len - cut), 0);
		CHECK_EQ_INT(a.len, len);
		CHECK_EQ_INT(isc_text_parse(a.buf, a.len, &l), 0);
		CHECK_EQ_INT(l.count, 2);
		CHECK_EQ_STR(isc_kv_get(&l, "TargetAddress"), "127.0.0.1:3260,1");
		CHECK_EQ_STR(isc_kv_get(&l, "TargetName"), "iqn.2001-04.com.example:storage.disk1");
		isc_kv_list_free(&l);
		isc_text_accum_free(&a);
	}
	/* The first piece alone (cut inside the second pair) is unterminated */
	CHECK_EQ_INT(parse_str(t, 60, &l), ISC_ERR_PROTOCOL);
}

static void test_accum_limit(void)
{
	struct isc_text_accum a;
	size_t piece = 1024 * 1024;
	uint8_t *big = calloc(1, piece);

	isc_text_accum_init(&a);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(isc_text_accum_add(&a, big, piece), 0);
	CHECK_EQ_INT(a.len, ISC_TEXT_MAX_TOTAL);
	CHECK_EQ_INT(isc_text_accum_add(&a, big, 1), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(a.len, ISC_TEXT_MAX_TOTAL);
	CHECK_EQ_INT(isc_text_accum_add(&a, big, 0), 0);
	isc_text_accum_reset(&a);
	CHECK_EQ_INT(a.len, 0);
	CHECK_EQ_INT(isc_text_accum_add(&a, (const uint8_t *)"A=1", 3), 0);
	CHECK_EQ_INT(a.len, 3);
	isc_text_accum_free(&a);
	CHECK(a.buf == NULL);
	/* SIZE_MAX-ish length must not wrap the limit check */
	isc_text_accum_init(&a);
	CHECK_EQ_INT(isc_text_accum_add(&a, big, (size_t)-1), ISC_ERR_TOO_LARGE);
	isc_text_accum_free(&a);
	/* parse refuses more than the total cap before allocating */
	{
		struct isc_kv_list l;
		CHECK_EQ_INT(isc_text_parse(big, (size_t)ISC_TEXT_MAX_TOTAL + 1, &l),
			     ISC_ERR_TOO_LARGE);
	}
	free(big);
}

static void test_builder(void)
{
	struct isc_text_builder b;
	struct isc_kv_list l;
	char *longv;
	static const char expect[] = "HeaderDigest=None\0MaxRecvDataSegmentLength=262144\0E=\0";

	isc_text_builder_init(&b);
	CHECK_EQ_INT(isc_text_add(&b, "HeaderDigest", "None"), 0);
	CHECK_EQ_INT(isc_text_addf(&b, "MaxRecvDataSegmentLength", "%u", 262144u), 0);
	CHECK_EQ_INT(isc_text_add(&b, "E", ""), 0);
	CHECK_EQ_INT(b.len, sizeof(expect) - 1);
	CHECK_MEM(b.buf, expect, sizeof(expect) - 1);
	CHECK_EQ_INT(isc_text_parse(b.buf, b.len, &l), 0);
	CHECK_EQ_STR(isc_kv_get(&l, "MaxRecvDataSegmentLength"), "262144");
	isc_kv_list_free(&l);

	/* sticky error: a bad key fails, later good adds fail too, buffer unchanged */
	CHECK_EQ_INT(isc_text_add(&b, "bad key", "x"), ISC_ERR_INVAL);
	CHECK_EQ_INT(b.error, ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_text_add(&b, "Good", "x"), ISC_ERR_INVAL);
	CHECK_EQ_INT(b.len, sizeof(expect) - 1);
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(b.error, 0);
	CHECK_EQ_INT(b.len, 0);

	/* value limits for add and addf; first error sticks */
	longv = malloc(ISC_TEXT_MAX_VALUE + 2);
	memset(longv, 'v', ISC_TEXT_MAX_VALUE);
	longv[ISC_TEXT_MAX_VALUE] = '\0';
	CHECK_EQ_INT(isc_text_add(&b, "CHAP_C", longv), 0);
	CHECK_EQ_INT(b.len, 7 + ISC_TEXT_MAX_VALUE + 1);
	longv[ISC_TEXT_MAX_VALUE] = 'v';
	longv[ISC_TEXT_MAX_VALUE + 1] = '\0';
	CHECK_EQ_INT(isc_text_add(&b, "CHAP_C", longv), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(isc_text_add(&b, "", "x"), ISC_ERR_TOO_LARGE);
	CHECK_EQ_INT(b.error, ISC_ERR_TOO_LARGE);
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_text_addf(&b, "K", "%s", longv), ISC_ERR_TOO_LARGE);
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_text_add(&b, NULL, "x"), ISC_ERR_INVAL);
	isc_text_builder_reset(&b);
	CHECK_EQ_INT(isc_text_add(&b, "K", NULL), ISC_ERR_INVAL);
	isc_text_builder_reset(&b);
	{
		char k64[65];
		memset(k64, 'K', 64);
		k64[64] = '\0';
		CHECK_EQ_INT(isc_text_add(&b, k64, "x"), ISC_ERR_INVAL);
	}
	free(longv);
	isc_text_builder_free(&b);
	CHECK(b.buf == NULL);
}

static void test_chunk(void)
{
	size_t off = 0, lens[8], n = 0;

	while (off < 20000 && n < 8) {
		lens[n] = isc_text_chunk_len(20000, off, 8192);
		off += lens[n++];
	}
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(lens[0], 8192);
	CHECK_EQ_INT(lens[1], 8192);
	CHECK_EQ_INT(lens[2], 3616);
	CHECK_EQ_INT(isc_text_chunk_len(20000, 20000, 8192), 0);
	CHECK_EQ_INT(isc_text_chunk_len(20000, 30000, 8192), 0);
	CHECK_EQ_INT(isc_text_chunk_len(8192, 0, 8192), 8192);
	CHECK_EQ_INT(isc_text_chunk_len(0, 0, 8192), 0);
	CHECK_EQ_INT(isc_text_chunk_len(100, 0, 0), 100);
}

/* RFC 7143 6.1 numerical values, shared by login and parameter code. */
static void test_number(void)
{
	uint32_t v = 7;

	CHECK_EQ_INT(isc_text_number("0", 10, &v), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(isc_text_number("8192", UINT32_MAX, &v), 0);
	CHECK_EQ_INT(v, 8192);
	CHECK_EQ_INT(isc_text_number("0x2000", UINT32_MAX, &v), 0);
	CHECK_EQ_INT(v, 8192);
	CHECK_EQ_INT(isc_text_number("0XfF", 255, &v), 0);
	CHECK_EQ_INT(v, 255);
	CHECK_EQ_INT(isc_text_number("4294967295", UINT32_MAX, &v), 0);
	CHECK_EQ_INT(v, UINT32_MAX);
	v = 7;
	CHECK_EQ_INT(isc_text_number("4294967296", UINT32_MAX, &v), -1); /* overflow */
	CHECK_EQ_INT(isc_text_number("256", 255, &v), -1);
	CHECK_EQ_INT(isc_text_number("", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number("0x", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number("-1", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number("+1", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number(" 1", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number("1 ", 10, &v), -1);
	CHECK_EQ_INT(isc_text_number("12a", 1000, &v), -1);
	CHECK_EQ_INT(isc_text_number("99999999999999999999999", UINT32_MAX, &v), -1);
	CHECK_EQ_INT(isc_text_number(NULL, 10, &v), -1);
	CHECK_EQ_INT(v, 7); /* untouched on failure */
}

int main(void)
{
	test_number();
	test_basic();
	test_padding_and_empty();
	test_malformed();
	test_value_limit();
	test_key_valid();
	test_accum_split();
	test_accum_limit();
	test_builder();
	test_chunk();
	return check_finish();
}
