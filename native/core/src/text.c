/*
 * iSCSI text key=value codec (RFC 7143 section 6.1 for the syntax and
 * limits, 11.10-11.13 for the Text/Login data segments that carry it).
 *
 * Everything here may hold CHAP values (CHAP_N/CHAP_R/CHAP_C travel as
 * text), so every buffer is zeroed before it is freed or abandoned by a
 * reallocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "isc/errors.h"
#include "text.h"

/* ---- key syntax ---- */

static int key_char_ok(unsigned char c)
{
	/* RFC 7143 section 6.1: letters, digits, '.', '-', '+', '@', '_', and
	 * '#' for the "X#..." IANA-registered extension keys (section 13.5.4),
	 * which a target may send and we must answer NotUnderstood rather than
	 * fail the whole text. Spelled out rather than isalnum() so the locale
	 * cannot widen it. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
}

int isc_text_key_valid(const char *key, size_t len)
{
	if (!key || len == 0 || len > ISC_TEXT_MAX_KEY)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!key_char_ok((unsigned char)key[i]))
			return 0;
	return 1;
}

/* ---- zeroing growth ---- */

/* Grow *buf (holding `used` bytes, `*cap` allocated) to at least `need`
 * bytes. Not realloc(): realloc may move the data and leave the old copy,
 * possibly a CHAP response, in freed heap memory. */
static int grow_zeroing(uint8_t **buf, size_t *cap, size_t used, size_t need, size_t limit)
{
	size_t ncap;
	uint8_t *nbuf;

	if (need <= *cap)
		return ISC_OK;
	if (need > limit)
		return ISC_ERR_TOO_LARGE;
	ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap = ncap > limit / 2 ? limit : ncap * 2;
	nbuf = malloc(ncap);
	if (!nbuf)
		return ISC_ERR_NOMEM;
	if (*buf) {
		memcpy(nbuf, *buf, used);
		isc_memzero(*buf, *cap);
		free(*buf);
	}
	*buf = nbuf;
	*cap = ncap;
	return ISC_OK;
}

/* ---- kv list ---- */

void isc_kv_list_init(struct isc_kv_list *l)
{
	l->items = NULL;
	l->count = 0;
	l->cap = 0;
	l->storage = NULL;
}

void isc_kv_list_free(struct isc_kv_list *l)
{
	if (!l)
		return;
	if (l->storage) {
		/* storage is the text copy plus one terminator; its length is
		 * not kept, so recover it from the last item when there is one
		 * and otherwise there is nothing sensitive in it. */
		if (l->count) {
			const struct isc_kv *last = &l->items[l->count - 1];
			size_t n = (size_t)(last->value - l->storage) + last->value_len + 1;
			isc_memzero(l->storage, n);
		}
		free(l->storage);
	}
	free(l->items);
	isc_kv_list_init(l);
}

const char *isc_kv_get(const struct isc_kv_list *l, const char *key)
{
	if (!l || !key)
		return NULL;
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].key, key) == 0)
			return l->items[i].value;
	return NULL;
}

/* ---- parse ---- */

/*
 * Walks the pairs of buf[0..len). With `items` NULL it only validates and
 * counts; otherwise it also fills items with pointers into `storage`, a
 * copy of buf in which each '=' separating key and value becomes NUL.
 * The two passes share this one walker so validation cannot diverge from
 * what gets filled in.
 */
static int text_walk(const uint8_t *buf, size_t len, size_t *count, struct isc_kv *items,
		     char *storage)
{
	size_t pos = 0, n = 0;

	while (pos < len) {
		const uint8_t *pair = buf + pos;
		size_t rest = len - pos;
		const uint8_t *nul, *eq;
		size_t pair_len, key_len, value_len;

		if (pair[0] == '\0') {
			/* An empty pair is only acceptable as the start of the
			 * trailing NUL padding; anything after it is an error. */
			for (size_t i = 0; i < rest; i++)
				if (pair[i] != '\0')
					return ISC_ERR_PROTOCOL;
			break;
		}
		nul = memchr(pair, '\0', rest);
		if (!nul)
			return ISC_ERR_PROTOCOL; /* unterminated last pair */
		pair_len = (size_t)(nul - pair);
		eq = memchr(pair, '=', pair_len);
		if (!eq)
			return ISC_ERR_PROTOCOL;
		key_len = (size_t)(eq - pair);
		if (!isc_text_key_valid((const char *)pair, key_len))
			return ISC_ERR_PROTOCOL;
		value_len = pair_len - key_len - 1;
		if (value_len > ISC_TEXT_MAX_VALUE)
			return ISC_ERR_TOO_LARGE;
		if (items) {
			storage[pos + key_len] = '\0';
			items[n].key = storage + pos;
			items[n].value = storage + pos + key_len + 1;
			items[n].value_len = value_len;
		}
		n++;
		pos += pair_len + 1;
	}
	*count = n;
	return ISC_OK;
}

int isc_text_parse(const uint8_t *buf, size_t len, struct isc_kv_list *out)
{
	size_t count = 0;
	int rc;

	isc_kv_list_init(out);
	if (len && !buf)
		return ISC_ERR_INVAL;
	if (len > ISC_TEXT_MAX_TOTAL)
		return ISC_ERR_TOO_LARGE;
	rc = text_walk(buf, len, &count, NULL, NULL);
	if (rc < 0 || count == 0)
		return rc;
	/* count <= len / 2 (each pair is at least "k=\0") and len is capped
	 * at ISC_TEXT_MAX_TOTAL, so neither size below can overflow. */
	out->storage = malloc(len + 1);
	out->items = calloc(count, sizeof(*out->items));
	if (!out->storage || !out->items) {
		free(out->storage);
		free(out->items);
		isc_kv_list_init(out);
		return ISC_ERR_NOMEM;
	}
	memcpy(out->storage, buf, len);
	out->storage[len] = '\0';
	rc = text_walk(buf, len, &count, out->items, out->storage);
	if (rc < 0) { /* cannot happen: same input as the first pass */
		isc_memzero(out->storage, len);
		free(out->storage);
		free(out->items);
		isc_kv_list_init(out);
		return rc;
	}
	out->count = count;
	out->cap = count;
	return ISC_OK;
}

/* ---- accumulator ---- */

void isc_text_accum_init(struct isc_text_accum *a)
{
	a->buf = NULL;
	a->len = 0;
	a->cap = 0;
}

void isc_text_accum_reset(struct isc_text_accum *a)
{
	if (a->buf)
		isc_memzero(a->buf, a->cap);
	a->len = 0;
}

void isc_text_accum_free(struct isc_text_accum *a)
{
	isc_text_accum_reset(a);
	free(a->buf);
	isc_text_accum_init(a);
}

int isc_text_accum_add(struct isc_text_accum *a, const uint8_t *data, size_t len)
{
	int rc;

	if (len == 0)
		return ISC_OK;
	if (!data)
		return ISC_ERR_INVAL;
	if (len > ISC_TEXT_MAX_TOTAL - a->len)
		return ISC_ERR_TOO_LARGE;
	rc = grow_zeroing(&a->buf, &a->cap, a->len, a->len + len, ISC_TEXT_MAX_TOTAL);
	if (rc < 0)
		return rc;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	return ISC_OK;
}

/* ---- builder ---- */

void isc_text_builder_init(struct isc_text_builder *b)
{
	b->buf = NULL;
	b->len = 0;
	b->cap = 0;
	b->error = 0;
}

void isc_text_builder_reset(struct isc_text_builder *b)
{
	if (b->buf)
		isc_memzero(b->buf, b->cap);
	b->len = 0;
	b->error = 0;
}

void isc_text_builder_free(struct isc_text_builder *b)
{
	isc_text_builder_reset(b);
	free(b->buf);
	isc_text_builder_init(b);
}

static int builder_fail(struct isc_text_builder *b, int err)
{
	if (!b->error)
		b->error = err;
	return err;
}

static int builder_append(struct isc_text_builder *b, const char *key, const char *value,
			  size_t value_len)
{
	size_t key_len = strlen(key), need;
	int rc;

	if (b->error)
		return b->error;
	/* A bad key is our caller's bug, not something the peer did. */
	if (!isc_text_key_valid(key, key_len))
		return builder_fail(b, ISC_ERR_INVAL);
	if (value_len > ISC_TEXT_MAX_VALUE)
		return builder_fail(b, ISC_ERR_TOO_LARGE);
	/* key_len <= 63 and value_len <= 8192: the pair size cannot overflow;
	 * the running total is capped like a received text. */
	need = key_len + 1 + value_len + 1;
	if (need > ISC_TEXT_MAX_TOTAL - b->len)
		return builder_fail(b, ISC_ERR_TOO_LARGE);
	rc = grow_zeroing(&b->buf, &b->cap, b->len, b->len + need, ISC_TEXT_MAX_TOTAL);
	if (rc < 0)
		return builder_fail(b, rc);
	memcpy(b->buf + b->len, key, key_len);
	b->buf[b->len + key_len] = '=';
	memcpy(b->buf + b->len + key_len + 1, value, value_len);
	b->buf[b->len + need - 1] = '\0';
	b->len += need;
	return ISC_OK;
}

int isc_text_add(struct isc_text_builder *b, const char *key, const char *value)
{
	if (!key || !value)
		return builder_fail(b, ISC_ERR_INVAL);
	/* strnlen: a value longer than the cap is refused without walking an
	 * arbitrarily long string. */
	return builder_append(b, key, value, strnlen(value, ISC_TEXT_MAX_VALUE + 1));
}

int isc_text_addf(struct isc_text_builder *b, const char *key, const char *fmt, ...)
{
	char value[ISC_TEXT_MAX_VALUE + 1];
	va_list ap;
	int n, rc;

	if (b->error)
		return b->error;
	if (!key || !fmt)
		return builder_fail(b, ISC_ERR_INVAL);
	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0)
		rc = builder_fail(b, ISC_ERR_INVAL);
	else if ((size_t)n > ISC_TEXT_MAX_VALUE)
		rc = builder_fail(b, ISC_ERR_TOO_LARGE);
	else
		rc = builder_append(b, key, value, (size_t)n);
	/* The formatted value may be a CHAP response. */
	isc_memzero(value, sizeof(value));
	return rc;
}

/* ---- send-side splitting ---- */

size_t isc_text_chunk_len(size_t len, size_t offset, size_t max_seg)
{
	size_t rest;

	if (offset >= len)
		return 0;
	rest = len - offset;
	/* max_seg 0 is not a valid MaxRecvDataSegmentLength (RFC 7143 13.12:
	 * 512..2^24-1); treat it as "no limit" rather than return 0 forever
	 * to a caller looping until the text is sent. */
	if (max_seg == 0 || rest < max_seg)
		return rest;
	return max_seg;
}

int isc_text_number(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int base = 10;

	if (!s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (s[i] == '\0')
		return -1;
	for (; s[i]; i++) {
		char c = s[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}
