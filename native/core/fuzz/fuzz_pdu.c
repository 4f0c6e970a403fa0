/*
 * libFuzzer target for the PDU codec.
 *
 * Input layout: byte 0 = receiver settings (bits 0-1 digest combination,
 * bits 2-5 log2 of max_data_len), byte 1 = seed for the chunk sizes, the
 * rest = the byte stream.
 *
 * Checks (abort on violation):
 *  - isc_pdu_parse with all four digest combinations, from either side,
 *    only returns views inside the input and a length <= the input;
 *  - an isc_rx fed the stream in pseudo-random chunks yields exactly the
 *    PDUs (same bytes) and the same final result as parsing the stream
 *    PDU by PDU in one buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isc/errors.h"
#include "pdu.h"

#define FUZZ_ASSERT(c) do { if (!(c)) abort(); } while (0)

static void check_view(const uint8_t *base, size_t len, long r, const struct isc_pdu *p)
{
	const uint8_t *end = base + len;

	if (r <= 0)
		return;
	FUZZ_ASSERT((size_t)r <= len && (size_t)r >= ISC_BHS_LEN);
	FUZZ_ASSERT(p->bhs == base);
	FUZZ_ASSERT(p->ahs_len <= 1020 && (p->ahs_len & 3) == 0);
	FUZZ_ASSERT(p->ahs_len ? (p->ahs == base + ISC_BHS_LEN) : (p->ahs == NULL));
	FUZZ_ASSERT(p->data_len <= ISC_MAX_DSL);
	if (p->data_len) {
		FUZZ_ASSERT(p->data >= base + ISC_BHS_LEN + p->ahs_len);
		FUZZ_ASSERT(p->data <= end && p->data_len <= (size_t)(end - p->data));
		FUZZ_ASSERT((size_t)(p->data - base) + p->data_len <= (size_t)r);
	} else {
		FUZZ_ASSERT(p->data == NULL);
	}
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Reference: the stream parsed PDU by PDU from one contiguous buffer. */
struct ref_pdu {
	size_t off, len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct isc_digests combos[4] = { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 1, 1 } };
	struct ref_pdu ref[64];
	size_t nref = 0, off = 0, max_data_len, fed = 0, got = 0;
	const uint8_t *s;
	size_t slen;
	struct isc_digests dg;
	struct isc_pdu p;
	struct isc_rx rx;
	uint32_t seed;
	long ref_end = 0, r;
	int rr = 0;

	if (size < 2)
		return 0;
	dg = combos[data[0] & 3];
	max_data_len = (size_t)1 << ((data[0] >> 2) & 15);
	seed = 0x9e3779b9u ^ ((uint32_t)data[1] * 0x01000193u);
	s = data + 2;
	slen = size - 2;

	/* 1. single-shot parse, every digest combination, both directions */
	for (int c = 0; c < 4; c++) {
		for (int ft = 0; ft < 2; ft++) {
			memset(&p, 0xa5, sizeof(p));
			r = isc_pdu_parse(s, slen, &combos[c], max_data_len, ft, &p);
			FUZZ_ASSERT(r >= 0 || r == ISC_ERR_DIGEST || r == ISC_ERR_TOO_LARGE ||
				    r == ISC_ERR_PROTOCOL);
			check_view(s, slen, r, &p);
		}
	}

	/* 2. reference sequence */
	for (;;) {
		r = isc_pdu_parse(s + off, slen - off, &dg, max_data_len, 1, &p);
		check_view(s + off, slen - off, r, &p);
		if (r <= 0 || nref == 64) {
			ref_end = r;
			break;
		}
		ref[nref].off = off;
		ref[nref].len = (size_t)r;
		nref++;
		off += (size_t)r;
	}
	if (nref == 64)
		ref_end = 1; /* too many to compare the tail; compare the first 64 */

	/* 3. the receiver, chunked */
	isc_rx_init(&rx, max_data_len);
	rx.dg = dg;
	for (;;) {
		size_t room, chunk = (rng_next(&seed) % 97u) + 1u;
		uint8_t *w;

		/* drain first: the receiver must not need more bytes to
		 * deliver what it already holds */
		while (got < 64 && (rr = isc_rx_next(&rx, &p)) == 1) {
			FUZZ_ASSERT(got < nref);
			FUZZ_ASSERT(p.bhs >= rx.buf && p.bhs + ref[got].len <= rx.buf + rx.len);
			check_view(p.bhs, ref[got].len, (long)ref[got].len, &p);
			FUZZ_ASSERT(memcmp(p.bhs, s + ref[got].off, ref[got].len) == 0);
			got++;
		}
		if (rr < 0 || got == 64)
			break;
		if (fed == slen)
			break;
		if (chunk > slen - fed)
			chunk = slen - fed;
		w = isc_rx_space(&rx, chunk, &room);
		FUZZ_ASSERT(w != NULL && room >= chunk);
		memcpy(w, s + fed, chunk);
		isc_rx_commit(&rx, chunk);
		fed += chunk;
	}
	if (nref < 64) {
		FUZZ_ASSERT(got == nref);
		if (ref_end < 0)
			FUZZ_ASSERT(rr == ref_end);
		else
			FUZZ_ASSERT(rr == 0);
	}
	isc_rx_free(&rx);
	return 0;
}
