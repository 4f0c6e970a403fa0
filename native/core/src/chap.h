/*
 * CHAP for iSCSI (RFC 7143 section 12.1.3, RFC 1994), with the algorithm
 * numbers of the IANA "PPP Authentication Algorithms" registry that RFC 7143
 * and its successors use: MD5 = 5, SHA-1 = 6, SHA-256 = 7, SHA3-256 = 8.
 *
 * Digests are computed only through OpenSSL's EVP API (the system libcrypto
 * for the standalone build, Node's own OpenSSL inside the addon): no
 * hand-written hash code. Response = H(id || secret || challenge).
 *
 * Binary values travel as "0x<hex>" or "0b<base64>" (RFC 7143 section 6.1,
 * "binary-value"); a CHAP_C may be up to 1024 bytes.
 */
#ifndef ISC_CHAP_H
#define ISC_CHAP_H

#include <stddef.h>
#include <stdint.h>

enum isc_chap_alg {
	ISC_CHAP_MD5 = 5,
	ISC_CHAP_SHA1 = 6,
	ISC_CHAP_SHA256 = 7,
	ISC_CHAP_SHA3_256 = 8
};

#define ISC_CHAP_MAX_CHALLENGE 1024
#define ISC_CHAP_MAX_DIGEST 64
/* Length of the challenge we send to the target in mutual CHAP. */
#define ISC_CHAP_OUR_CHALLENGE_LEN 32

/* "MD5", "SHA1", "SHA256", "SHA3-256" (open-iscsi's spelling), NULL if unknown. */
const char *isc_chap_alg_name(int alg);
/* Parses those names (case-insensitive, also "SHA-1", "SHA-256"); <0 if unknown. */
int isc_chap_alg_from_name(const char *name);
/* Digest size in bytes, 0 when unknown. */
size_t isc_chap_digest_len(int alg);
/* 1 when this OpenSSL provides the digest (SHA3-256 needs OpenSSL >= 1.1.1). */
int isc_chap_alg_available(int alg);

/* out must hold isc_chap_digest_len(alg) bytes. Returns 0 or a negative
 * isc_err (ISC_ERR_UNSUPPORTED when the digest is not available). */
int isc_chap_compute(int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		     const uint8_t *challenge, size_t challenge_len, uint8_t *out);

/* Decodes "0x..."/"0X..." (hex, odd digit count allowed per RFC: a leading
 * zero nibble is implied) or "0b..."/"0B..." (base64). Returns 0 and *outlen,
 * ISC_ERR_PROTOCOL for bad syntax, ISC_ERR_TOO_LARGE when > cap bytes. */
int isc_chap_decode(const char *text, uint8_t *out, size_t cap, size_t *outlen);
/* Encodes as "0x" + lowercase hex, NUL-terminated. out needs 2*len+3 bytes.
 * Returns 0 or ISC_ERR_TOO_LARGE. */
int isc_chap_encode_hex(const uint8_t *bin, size_t len, char *out, size_t cap);

/* Fills buf with n bytes from the kernel CSPRNG (getrandom). 0 or <0. */
int isc_random_bytes(void *buf, size_t n);

/* Constant-time comparison of two byte strings of equal length: 0 when equal. */
int isc_ct_memcmp(const void *a, const void *b, size_t n);

#endif
