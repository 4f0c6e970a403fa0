/*
 * libFuzzer target for the login state machine.
 *
 * Input: one mode byte, then a sequence of Login Response PDUs, each as a
 * 2-byte big-endian length L followed by L bytes (the 48-byte BHS, zero
 * padded when L < 48, then the data segment). Mode (low 2 bits): 0 mutual
 * CHAP (the main target: every CHAP path is reachable), 1 one-way CHAP,
 * 2 no authentication, 3 discovery. The ITT the machine expects is the one
 * the seeds carry (0x11223344), so mutated seeds get deep into the flow.
 *
 * After each response the machine must return a verdict; on SEND the
 * request is fetched and sanity-checked. The round-trip bound guarantees
 * termination, which the loop asserts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "login.h"

#define ITT 0x11223344u

static const char SECRET[] = "initiator-secret-12";
static const char RSECRET[] = "target-secret-3456";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isc_login_config c;
	struct isc_login lg;
	size_t pos = 1;
	int mode, rounds = 0, echo_ok;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	/* Keys and values the target sends may be echoed back (NotUnderstood
	 * replies, error messages): a secret that appears in the input is
	 * not a leak. */
	echo_ok = memmem(data, size, SECRET, sizeof(SECRET) - 1) ||
		  memmem(data, size, RSECRET, sizeof(RSECRET) - 1);
	memset(&c, 0, sizeof(c));
	c.session_type = mode == 3 ? ISC_SESSION_DISCOVERY : ISC_SESSION_NORMAL;
	c.initiator_name = "iqn.2026-11.test:init";
	c.initiator_alias = "host1";
	c.target_name = mode == 3 ? NULL : "iqn.2026-11.test:disk";
	c.isid[0] = 0x80;
	c.cid = 1;
	c.itt = ITT;
	c.cmdsn = 7;
	if (mode <= 1) {
		c.username = "iuser";
		c.secret = (const uint8_t *)SECRET;
		c.secret_len = sizeof(SECRET) - 1;
		c.chap_algs[0] = 8;
		c.chap_algs[1] = 7;
		c.chap_algs[2] = 6;
		c.chap_algs[3] = 5;
		c.chap_alg_count = 4;
	}
	if (mode == 0) {
		c.reverse_username = "tuser";
		c.reverse_secret = (const uint8_t *)RSECRET;
		c.reverse_secret_len = sizeof(RSECRET) - 1;
	}
	isc_param_offer_defaults(&c.offer, c.session_type);
	if (isc_login_start(&lg, &c) != 0)
		abort();
	{
		const uint8_t *bhs, *d;
		size_t len;
		isc_login_request(&lg, &bhs, &d, &len);
	}

	while (size - pos >= 2) {
		uint8_t bhs[ISC_BHS_LEN];
		size_t l = isc_get_be16(data + pos);
		struct isc_pdu p;
		int rc;

		pos += 2;
		if (l > size - pos)
			l = size - pos;
		memset(bhs, 0, sizeof(bhs));
		memcpy(bhs, data + pos, l < ISC_BHS_LEN ? l : ISC_BHS_LEN);
		memset(&p, 0, sizeof(p));
		p.bhs = bhs;
		/* A private copy of the data so ASan sees any over-read. */
		p.data_len = l > ISC_BHS_LEN ? l - ISC_BHS_LEN : 0;
		uint8_t *copy = p.data_len ? malloc(p.data_len) : NULL;
		if (copy)
			memcpy(copy, data + pos + ISC_BHS_LEN, p.data_len);
		p.data = copy;
		if (p.data_len && !copy)
			p.data_len = 0;
		pos += l;

		rc = isc_login_response(&lg, &p);
		free(copy);
		if (++rounds > 64)
			abort(); /* the machine must have stopped us by now */
		if (rc == ISC_LOGIN_SEND) {
			const uint8_t *rb, *rd;
			size_t rl;
			isc_login_request(&lg, &rb, &rd, &rl);
			if (rl > 8192 || (rl && !rd) || (rb[0] & 0x3f) != 0x03)
				abort();
			/* Never a secret on the wire. */
			if (rl && !echo_ok && (memmem(rd, rl, SECRET, sizeof(SECRET) - 1) ||
				   memmem(rd, rl, RSECRET, sizeof(RSECRET) - 1)))
				abort();
			continue;
		}
		if (!echo_ok && (strstr(lg.message, SECRET) || strstr(lg.message, RSECRET)))
			abort();
		break;
	}
	isc_login_free(&lg);
	return 0;
}
