/*
 * CHAP primitives (RFC 7143 section 12.1.3, RFC 1994 section 4.1):
 * response = H(identifier || secret || challenge), computed through
 * OpenSSL EVP only; binary-value decoding ("0x" hex / "0b" base64,
 * RFC 7143 section 6.1); kernel randomness; constant-time compare.
 */
#include "chap.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "isc/errors.h"

struct alg_info {
	int alg;
	const char *name;      /* spelling we print (open-iscsi's) */
	const char *evp_name;  /* name OpenSSL knows the digest by */
	size_t len;
};

static const struct alg_info ALGS[] = {
	{ ISC_CHAP_MD5, "MD5", "MD5", 16 },
	{ ISC_CHAP_SHA1, "SHA1", "SHA1", 20 },
	{ ISC_CHAP_SHA256, "SHA256", "SHA256", 32 },
	{ ISC_CHAP_SHA3_256, "SHA3-256", "SHA3-256", 32 },
};

static const struct alg_info *alg_find(int alg)
{
	for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++)
		if (ALGS[i].alg == alg)
			return &ALGS[i];
	return NULL;
}

const char *isc_chap_alg_name(int alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->name : NULL;
}

int isc_chap_alg_from_name(const char *name)
{
	/* Accept both the compact spelling open-iscsi uses in its config
	 * ("SHA256") and the hyphenated one users tend to type ("SHA-256"). */
	static const struct {
		const char *name;
		int alg;
	} names[] = {
		{ "MD5", ISC_CHAP_MD5 },         { "SHA1", ISC_CHAP_SHA1 },
		{ "SHA-1", ISC_CHAP_SHA1 },      { "SHA256", ISC_CHAP_SHA256 },
		{ "SHA-256", ISC_CHAP_SHA256 },  { "SHA3-256", ISC_CHAP_SHA3_256 },
		{ "SHA3_256", ISC_CHAP_SHA3_256 },
	};
	if (!name)
		return ISC_ERR_INVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].alg;
	return ISC_ERR_UNSUPPORTED;
}

size_t isc_chap_digest_len(int alg)
{
	const struct alg_info *a = alg_find(alg);
	return a ? a->len : 0;
}

/* OpenSSL 3 wants explicit fetching (and may lack MD5 under a FIPS-only
 * configuration); 1.1.1 only has the static lookup. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static EVP_MD *md_get(const struct alg_info *a)
{
	return EVP_MD_fetch(NULL, a->evp_name, NULL);
}
static void md_put(EVP_MD *md)
{
	EVP_MD_free(md);
}
#else
static EVP_MD *md_get(const struct alg_info *a)
{
	return (EVP_MD *)EVP_get_digestbyname(a->evp_name);
}
static void md_put(EVP_MD *md)
{
	(void)md;
}
#endif

int isc_chap_alg_available(int alg)
{
	const struct alg_info *a = alg_find(alg);
	EVP_MD *md;
	if (!a)
		return 0;
	md = md_get(a);
	if (!md)
		return 0;
	md_put(md);
	return 1;
}

int isc_chap_compute(int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		     const uint8_t *challenge, size_t challenge_len, uint8_t *out)
{
	const struct alg_info *a = alg_find(alg);
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned int outlen = 0;
	int ok;

	if (!a || !out || (secret_len && !secret) || (challenge_len && !challenge))
		return a ? ISC_ERR_INVAL : ISC_ERR_UNSUPPORTED;
	md = md_get(a);
	if (!md)
		return ISC_ERR_UNSUPPORTED;
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		md_put(md);
		return ISC_ERR_NOMEM;
	}
	/* RFC 1994 4.1: the hash is over Identifier, then the secret, then
	 * the Challenge Value. */
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, &id, 1) == 1 &&
	     (secret_len == 0 || EVP_DigestUpdate(ctx, secret, secret_len) == 1) &&
	     (challenge_len == 0 || EVP_DigestUpdate(ctx, challenge, challenge_len) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, &outlen) == 1 && outlen == a->len;
	/* EVP_MD_CTX_free cleanses the context, which held the secret. */
	EVP_MD_CTX_free(ctx);
	md_put(md);
	return ok ? 0 : ISC_ERR_UNSUPPORTED;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode_hex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t need = n / 2 + (n & 1);
	size_t o = 0, i = 0;

	if (n == 0)
		return ISC_ERR_PROTOCOL;
	for (size_t k = 0; k < n; k++)
		if (hex_val(s[k]) < 0)
			return ISC_ERR_PROTOCOL;
	if (need > cap)
		return ISC_ERR_TOO_LARGE;
	/* RFC 7143 6.1: an odd digit count means an implied leading zero. */
	if (n & 1)
		out[o++] = (uint8_t)hex_val(s[i++]);
	for (; i < n; i += 2)
		out[o++] = (uint8_t)(hex_val(s[i]) << 4 | hex_val(s[i + 1]));
	*outlen = o;
	return 0;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 (RFC 4648 section 4) is an encoding, not crypto: a table decoder.
 * Padding is optional, but when present the text must be whole quanta. */
static int decode_b64(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t pad = 0, data, need, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	data = n - pad;
	if (data == 0)
		return ISC_ERR_PROTOCOL;
	if (pad && n % 4 != 0)
		return ISC_ERR_PROTOCOL;
	/* A single leftover character carries only 6 bits: not a byte. */
	if (data % 4 == 1)
		return ISC_ERR_PROTOCOL;
	for (size_t k = 0; k < data; k++)
		if (b64_val(s[k]) < 0)
			return ISC_ERR_PROTOCOL;
	need = data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0);
	if (need > cap)
		return ISC_ERR_TOO_LARGE;
	for (size_t k = 0; k < data; k++) {
		acc = (acc << 6 | (uint32_t)b64_val(s[k])) & 0xffffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return 0;
}

int isc_chap_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n;

	if (!text || !outlen || (cap && !out))
		return ISC_ERR_INVAL;
	n = strlen(text);
	if (n < 2 || text[0] != '0')
		return ISC_ERR_PROTOCOL;
	if (text[1] == 'x' || text[1] == 'X')
		return decode_hex(text + 2, n - 2, out, cap, outlen);
	if (text[1] == 'b' || text[1] == 'B')
		return decode_b64(text + 2, n - 2, out, cap, outlen);
	return ISC_ERR_PROTOCOL;
}

int isc_chap_encode_hex(const uint8_t *bin, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (!out || (len && !bin))
		return ISC_ERR_INVAL;
	if (len > (SIZE_MAX - 3) / 2 || 2 * len + 3 > cap)
		return ISC_ERR_TOO_LARGE;
	out[o++] = '0';
	out[o++] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[o++] = digits[bin[i] >> 4];
		out[o++] = digits[bin[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

int isc_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;

	if (n && !buf)
		return ISC_ERR_INVAL;
	while (n > 0) {
		/* getrandom may return fewer bytes than asked (> 256 bytes, or
		 * a signal): loop until done. */
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ISC_ERR_IO;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int isc_ct_memcmp(const void *a, const void *b, size_t n)
{
	/* Accumulate every difference so the time does not depend on where
	 * the first mismatching byte is. */
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (uint8_t)(x[i] ^ y[i]);
	return diff != 0;
}
