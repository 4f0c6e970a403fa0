/*
 * libFuzzer target for the text key=value codec.
 *
 * Checks (abort on violation):
 *  - isc_text_parse never returns an undocumented error, and on success
 *    every key is valid, every value NUL-terminated with the stated length
 *    within the limits;
 *  - parsing the text whole equals parsing it after reassembly in an
 *    isc_text_accum from two pieces split at an input-derived point;
 *  - re-building a parsed list with isc_text_add and parsing that again
 *    gives the same list;
 *  - isc_text_chunk_len pieces cover the text exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isc/errors.h"
#include "text.h"

#define FUZZ_ASSERT(c) do { if (!(c)) abort(); } while (0)

static void check_list(const struct isc_kv_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct isc_kv *kv = &l->items[i];
		FUZZ_ASSERT(isc_text_key_valid(kv->key, strlen(kv->key)));
		FUZZ_ASSERT(kv->value_len <= ISC_TEXT_MAX_VALUE);
		FUZZ_ASSERT(strlen(kv->value) == kv->value_len);
	}
}

static void same_list(const struct isc_kv_list *a, const struct isc_kv_list *b)
{
	FUZZ_ASSERT(a->count == b->count);
	for (size_t i = 0; i < a->count; i++) {
		FUZZ_ASSERT(strcmp(a->items[i].key, b->items[i].key) == 0);
		FUZZ_ASSERT(a->items[i].value_len == b->items[i].value_len);
		FUZZ_ASSERT(memcmp(a->items[i].value, b->items[i].value, a->items[i].value_len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isc_kv_list whole, again;
	struct isc_text_accum acc;
	struct isc_text_builder b;
	size_t split = 0, off = 0, seg;
	int rc, rc2;

	rc = isc_text_parse(data, size, &whole);
	FUZZ_ASSERT(rc == 0 || rc == ISC_ERR_PROTOCOL || rc == ISC_ERR_TOO_LARGE);
	if (rc != 0)
		FUZZ_ASSERT(whole.count == 0 && whole.items == NULL && whole.storage == NULL);
	check_list(&whole);

	if (size)
		split = ((size_t)data[0] << 8 | data[size - 1]) % (size + 1);
	isc_text_accum_init(&acc);
	FUZZ_ASSERT(isc_text_accum_add(&acc, data, split) == 0);
	FUZZ_ASSERT(isc_text_accum_add(&acc, data + split, size - split) == 0);
	FUZZ_ASSERT(acc.len == size);
	rc2 = isc_text_parse(acc.buf, acc.len, &again);
	FUZZ_ASSERT(rc2 == rc);
	same_list(&whole, &again);
	isc_kv_list_free(&again);
	isc_text_accum_free(&acc);

	if (rc == 0) {
		isc_text_builder_init(&b);
		for (size_t i = 0; i < whole.count; i++)
			FUZZ_ASSERT(isc_text_add(&b, whole.items[i].key, whole.items[i].value) == 0);
		FUZZ_ASSERT(b.error == 0);
		FUZZ_ASSERT(isc_text_parse(b.buf, b.len, &again) == 0);
		same_list(&whole, &again);
		isc_kv_list_free(&again);
		isc_text_builder_free(&b);
	}
	isc_kv_list_free(&whole);

	seg = size ? (size_t)data[0] + 1 : 1;
	for (int n = 0; off < size; n++) {
		size_t c = isc_text_chunk_len(size, off, seg);
		FUZZ_ASSERT(c > 0 && c <= seg && n <= (int)size);
		off += c;
	}
	FUZZ_ASSERT(off == size);
	return 0;
}
