/*
 * The login state machine (RFC 7143 sections 6.3, 11.12, 11.13, 12.1.3).
 *
 * Pure: isc_login_response() consumes one Login Response PDU and prepares
 * the next Login Request, which isc_login_request() hands out. Nothing here
 * touches a socket or a clock, so the whole exchange is driven from unit
 * tests and the fuzzer with scripted responses.
 *
 * Flow:
 *   stage 0: InitiatorName, SessionType, TargetName, AuthMethod
 *            [CHAP: -> AuthMethod=CHAP; CHAP_A -> CHAP_A,CHAP_I,CHAP_C;
 *             CHAP_N,CHAP_R(,CHAP_I,CHAP_C) with T=1 -> (CHAP_N,CHAP_R)]
 *   stage 1: our operational offer with T=1 NSG=3; answers until the
 *            target transits to Full Feature Phase.
 */
#include "login.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "isc/errors.h"

/* A target that keeps answering T=0 (or C=1) could hold us in the login
 * forever; a real login needs about 5 round trips. */
#define MAX_ROUND_TRIPS 32
/* RFC 7143 section 13.12: during login the peer's MaxRecvDataSegmentLength
 * is the default 8192 until negotiated; we never send bigger pieces. */
#define LOGIN_MAX_SEG 8192

static int failf(struct isc_login *lg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int failf(struct isc_login *lg, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lg->message, sizeof(lg->message), fmt, ap);
	va_end(ap);
	lg->phase = ISC_LP_FAILED;
	return err;
}

static int has_chap_keys(const struct isc_kv_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		if (strncmp(l->items[i].key, "CHAP_", 5) == 0)
			return 1;
	return 0;
}

static int is_mutual(const struct isc_login *lg)
{
	return lg->cfg.reverse_username != NULL;
}

/* ---- request construction ---- */

/* Start a new request text with the given T / NSG wish. */
static void next_request(struct isc_login *lg, int transit, int nsg)
{
	isc_text_builder_reset(&lg->tx_text);
	lg->tx_offset = 0;
	lg->transit = transit;
	lg->nsg = nsg;
}

/* Fixed fields of every Login Request (RFC 7143 11.12). Byte 1 (flags) is
 * finished by isc_login_request(), which knows about text splitting. */
static void fill_bhs(struct isc_login *lg)
{
	uint8_t *b = lg->bhs;
	memset(b, 0, ISC_BHS_LEN);
	b[0] = ISC_BHS_IMMEDIATE | ISC_OP_LOGIN_REQ;
	b[ISC_OFF_LOGIN_VMAX] = 0; /* Version-max: RFC 7143 = 0x00 */
	b[ISC_OFF_LOGIN_VMIN] = 0; /* Version-min */
	memcpy(b + ISC_OFF_ISID, lg->cfg.isid, 6);
	isc_put_be16(b + ISC_OFF_TSIH, lg->cfg.tsih);
	isc_put_be32(b + ISC_OFF_ITT, lg->cfg.itt);
	isc_put_be16(b + ISC_OFF_CID, lg->cfg.cid);
	/* Login requests are immediate: CmdSN stays the same for all of them. */
	isc_put_be32(b + ISC_OFF_CMDSN, lg->cfg.cmdsn);
	isc_put_be32(b + ISC_OFF_EXPSTATSN, lg->exp_statsn);
}

static int build_first_request(struct isc_login *lg)
{
	const struct isc_login_config *c = &lg->cfg;
	struct isc_text_builder *b = &lg->tx_text;
	int chap = c->username != NULL;

	/* Without credentials we have nothing to negotiate in stage 0 and ask
	 * to move on at once; with CHAP the exchange takes several steps. */
	next_request(lg, chap ? 0 : 1, ISC_STAGE_OPERATIONAL);
	isc_text_add(b, "InitiatorName", c->initiator_name);
	if (c->initiator_alias && c->initiator_alias[0])
		isc_text_add(b, "InitiatorAlias", c->initiator_alias);
	isc_text_add(b, "SessionType",
		     c->session_type == ISC_SESSION_DISCOVERY ? "Discovery" : "Normal");
	if (c->session_type == ISC_SESSION_NORMAL)
		isc_text_add(b, "TargetName", c->target_name);
	/* Mutual CHAP offers CHAP alone: a target that would pick None could
	 * not prove itself, which is exactly what the user asked for. */
	isc_text_add(b, "AuthMethod", !chap ? "None" : is_mutual(lg) ? "CHAP" : "CHAP,None");
	return b->error;
}

static int enter_operational(struct isc_login *lg)
{
	int rc;
	lg->csg = ISC_STAGE_OPERATIONAL;
	lg->phase = ISC_LP_OP;
	next_request(lg, 1, ISC_STAGE_FULL_FEATURE);
	rc = isc_params_offer_text(&lg->cfg.offer, &lg->tx_text);
	if (rc < 0)
		return failf(lg, rc, "cannot build the operational parameter offer");
	lg->offered_ops = 1;
	return ISC_LOGIN_SEND;
}

int isc_login_start(struct isc_login *lg, const struct isc_login_config *cfg)
{
	int rc;

	if (!lg || !cfg)
		return ISC_ERR_INVAL;
	memset(lg, 0, sizeof(*lg));
	isc_text_accum_init(&lg->rx_text);
	isc_text_builder_init(&lg->tx_text);
	lg->status_class = -1;
	lg->status_detail = -1;
	lg->phase = ISC_LP_FAILED;
	if (!cfg->initiator_name || !cfg->initiator_name[0] ||
	    (cfg->session_type != ISC_SESSION_NORMAL && cfg->session_type != ISC_SESSION_DISCOVERY) ||
	    (cfg->session_type == ISC_SESSION_NORMAL && (!cfg->target_name || !cfg->target_name[0])))
		return ISC_ERR_INVAL;
	if (cfg->username) {
		if (!cfg->username[0] || !cfg->secret || cfg->secret_len == 0 ||
		    cfg->chap_alg_count <= 0 || cfg->chap_alg_count > ISC_MAX_CHAP_ALGS)
			return ISC_ERR_INVAL;
		for (int i = 0; i < cfg->chap_alg_count; i++)
			if (isc_chap_digest_len(cfg->chap_algs[i]) == 0)
				return ISC_ERR_INVAL;
		if (cfg->reverse_username &&
		    (!cfg->reverse_username[0] || !cfg->reverse_secret || cfg->reverse_secret_len == 0))
			return ISC_ERR_INVAL;
	} else if (cfg->reverse_username) {
		return ISC_ERR_INVAL; /* mutual CHAP needs the forward half */
	}
	lg->cfg = *cfg;
	isc_negotiated_defaults(&lg->neg);
	lg->csg = ISC_STAGE_SECURITY;
	lg->phase = ISC_LP_SEC_START;
	rc = build_first_request(lg);
	if (rc < 0) {
		lg->phase = ISC_LP_FAILED;
		return rc;
	}
	return 0;
}

void isc_login_request(struct isc_login *lg, const uint8_t **bhs, const uint8_t **data,
		       size_t *len)
{
	size_t chunk = isc_text_chunk_len(lg->tx_text.len, lg->tx_offset, LOGIN_MAX_SEG);
	int more = lg->tx_offset + chunk < lg->tx_text.len;
	uint8_t flags = (uint8_t)(lg->csg << 2);

	fill_bhs(lg);
	/* C=1 while our text continues; T only on the last piece and never on
	 * the empty requests that fetch the target's continued text (RFC 7143
	 * 11.12.2: T and C are never both set). */
	if (more)
		flags |= ISC_FLAG_CONTINUE;
	else if (lg->transit && !lg->awaiting_continue)
		flags |= (uint8_t)(ISC_FLAG_TRANSIT | (lg->nsg & 3));
	lg->bhs[1] = flags;
	isc_put_be24(lg->bhs + ISC_OFF_DSL, (uint32_t)chunk);
	*bhs = lg->bhs;
	*data = chunk ? lg->tx_text.buf + lg->tx_offset : NULL;
	*len = chunk;
}

/* ---- status ---- */

static const char *alg_list(const struct isc_login *lg, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < lg->cfg.chap_alg_count && o < cap; i++) {
		int n = snprintf(buf + o, cap - o, "%s%d", i ? "," : "", lg->cfg.chap_algs[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}


static const char *status_name(int cls, int detail)
{
	switch (cls << 8 | detail) {
	case 0x0101: return "target moved temporarily";
	case 0x0102: return "target moved permanently";
	case 0x0200: return "initiator error";
	case 0x0201: return "authentication failure - check the CHAP username/password";
	case 0x0202: return "authorization failure - this initiator may not access the target";
	case 0x0203: return "target not found - check the target name";
	case 0x0204: return "target removed";
	case 0x0205: return "unsupported version";
	case 0x0206: return "too many connections";
	case 0x0207: return "missing parameter";
	case 0x0208: return "cannot include in session";
	case 0x0209: return "session type not supported";
	case 0x020a: return "session does not exist";
	case 0x020b: return "invalid request during login";
	case 0x0300: return "target error";
	case 0x0301: return "service unavailable";
	case 0x0302: return "out of resources";
	default: return cls == 2 ? "initiator error" : cls == 3 ? "target error" : "unknown status";
	}
}

/* Status class != 0 (RFC 7143 11.13.5). */
static int handle_status(struct isc_login *lg, int cls, int detail, const struct isc_kv_list *kv)
{
	const char *name = status_name(cls, detail);
	lg->status_class = cls;
	lg->status_detail = detail;

	if (cls == 1) {
		const char *addr = isc_kv_get(kv, "TargetAddress");
		size_t n;
		if (!addr || !addr[0])
			return failf(lg, ISC_ERR_PROTOCOL,
				     "target redirected the login (0x%02x%02x) without a TargetAddress",
				     cls, detail);
		n = strlen(addr);
		if (n >= sizeof(lg->redirect))
			return failf(lg, ISC_ERR_PROTOCOL, "redirect TargetAddress is too long");
		memcpy(lg->redirect, addr, n + 1);
		snprintf(lg->message, sizeof(lg->message), "login redirected (0x%02x%02x %s)", cls,
			 detail, name);
		lg->phase = ISC_LP_FAILED; /* this connection is done */
		return ISC_LOGIN_REDIRECT;
	}
	if (cls == 2) {
		int err = ISC_ERR_LOGIN_REJECTED;
		char algs[64];
		if (detail == 0x01 || detail == 0x02)
			err = ISC_ERR_AUTH_FAILED;
		else if (detail == 0x03 || detail == 0x04)
			err = ISC_ERR_TARGET_NOT_FOUND;
		/* Targets that do not like our CHAP algorithm say "initiator
		 * error" rather than anything specific; say what we know. tgt
		 * (<= 1.0.85 at least) picks CHAP_A=7 but computes SHA-1 for it
		 * (the IANA number of SHA-1 is 6), so SHA-256 logins to it fail
		 * right after our CHAP_R. */
		if (detail == 0x00 && lg->phase == ISC_LP_SEC_CHAP_A)
			return failf(lg, err,
				     "login rejected by target: 0x0200 %s after our CHAP_A=%s - the "
				     "target may support none of these algorithms (try MD5)",
				     name, alg_list(lg, algs, sizeof(algs)));
		if (detail == 0x00 && lg->phase == ISC_LP_SEC_CHAP_R && lg->chap_alg == ISC_CHAP_SHA256)
			return failf(lg, err,
				     "login rejected by target: 0x0200 %s after our SHA-256 CHAP "
				     "response - some targets (tgt) take CHAP_A=7 for SHA-1; "
				     "offer MD5 instead",
				     name);
		return failf(lg, err, "login rejected by target: 0x%02x%02x %s", cls, detail, name);
	}
	if (cls == 3)
		return failf(lg, ISC_ERR_TARGET_ERROR, "target could not complete the login: 0x%02x%02x %s",
			     cls, detail, name);
	return failf(lg, ISC_ERR_LOGIN_REJECTED, "login failed with unknown status 0x%02x%02x", cls,
		     detail);
}

/* ---- CHAP ---- */

/* Target sent CHAP_A, CHAP_I, CHAP_C: answer with CHAP_N, CHAP_R (and our
 * own challenge in mutual mode). */
static int chap_answer(struct isc_login *lg, const struct isc_kv_list *kv)
{
	const char *a = isc_kv_get(kv, "CHAP_A"), *id_s = isc_kv_get(kv, "CHAP_I"),
		   *c_s = isc_kv_get(kv, "CHAP_C");
	uint8_t challenge[ISC_CHAP_MAX_CHALLENGE], digest[ISC_CHAP_MAX_DIGEST];
	char hex[2 * ISC_CHAP_MAX_CHALLENGE + 3], algs[64];
	size_t clen = 0, dlen;
	uint32_t alg, id;
	int ok = 0, rc;

	if (!a)
		return failf(lg, ISC_ERR_PROTOCOL, "target did not answer CHAP_A");
	if (strcmp(a, "Reject") == 0 || strcmp(a, "NotUnderstood") == 0)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target supports none of the CHAP algorithms we offered (%s)",
			     alg_list(lg, algs, sizeof(algs)));
	if (isc_text_number(a, 255, &alg) < 0)
		return failf(lg, ISC_ERR_PROTOCOL, "target sent a malformed CHAP_A");
	for (int i = 0; i < lg->cfg.chap_alg_count; i++)
		ok |= lg->cfg.chap_algs[i] == (int)alg;
	if (!ok)
		return failf(lg, ISC_ERR_PROTOCOL,
			     "target chose CHAP_A=%" PRIu32 ", which we did not offer (%s)", alg,
			     alg_list(lg, algs, sizeof(algs)));
	if (!id_s || isc_text_number(id_s, 255, &id) < 0)
		return failf(lg, ISC_ERR_PROTOCOL, "target sent a missing or malformed CHAP_I");
	if (!c_s)
		return failf(lg, ISC_ERR_PROTOCOL, "target sent no CHAP_C challenge");
	rc = isc_chap_decode(c_s, challenge, sizeof(challenge), &clen);
	if (rc < 0)
		return failf(lg, ISC_ERR_PROTOCOL, "target sent a %s CHAP_C challenge",
			     rc == ISC_ERR_TOO_LARGE ? "too long (> 1024 bytes)" : "malformed");
	/* Reflection (RFC 7143 12.1.3): a target that hands us back a
	 * challenge we issued wants us to compute the answer it owes. */
	if (lg->our_challenge_len && clen == lg->our_challenge_len &&
	    isc_ct_memcmp(challenge, lg->our_challenge, clen) == 0)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target sent our own CHAP challenge back (reflection attack)");

	lg->chap_alg = (int)alg;
	dlen = isc_chap_digest_len(lg->chap_alg);
	rc = isc_chap_compute(lg->chap_alg, (uint8_t)id, lg->cfg.secret, lg->cfg.secret_len,
			      challenge, clen, digest);
	if (rc < 0) {
		isc_memzero(digest, sizeof(digest));
		return failf(lg, rc, "cannot compute the CHAP response (algorithm %" PRIu32 ")", alg);
	}
	next_request(lg, 1, ISC_STAGE_OPERATIONAL);
	isc_text_add(&lg->tx_text, "CHAP_N", lg->cfg.username);
	isc_chap_encode_hex(digest, dlen, hex, sizeof(hex));
	isc_text_add(&lg->tx_text, "CHAP_R", hex);
	isc_memzero(digest, sizeof(digest));
	isc_memzero(hex, sizeof(hex));

	if (is_mutual(lg)) {
		if (isc_random_bytes(&lg->our_chap_id, 1) < 0 ||
		    isc_random_bytes(lg->our_challenge, ISC_CHAP_OUR_CHALLENGE_LEN) < 0)
			return failf(lg, ISC_ERR_IO, "cannot read random bytes for our CHAP challenge");
		lg->our_challenge_len = ISC_CHAP_OUR_CHALLENGE_LEN;
		if (clen == lg->our_challenge_len &&
		    isc_ct_memcmp(challenge, lg->our_challenge, clen) == 0)
			return failf(lg, ISC_ERR_AUTH_FAILED,
				     "target's CHAP challenge equals ours (reflection attack)");
		isc_text_addf(&lg->tx_text, "CHAP_I", "%u", (unsigned)lg->our_chap_id);
		isc_chap_encode_hex(lg->our_challenge, lg->our_challenge_len, hex, sizeof(hex));
		isc_text_add(&lg->tx_text, "CHAP_C", hex);
	}
	isc_memzero(challenge, sizeof(challenge));
	if (lg->tx_text.error)
		return failf(lg, lg->tx_text.error, "cannot build the CHAP response");
	lg->neg.auth_method_chap = 1;
	lg->neg.chap_alg = lg->chap_alg;
	lg->phase = ISC_LP_SEC_CHAP_R;
	return ISC_LOGIN_SEND;
}

/* Mutual CHAP: the target's CHAP_N / CHAP_R must prove it knows the
 * reverse secret. Returns 0 when verified. */
static int chap_verify_target(struct isc_login *lg, const struct isc_kv_list *kv)
{
	const char *n = isc_kv_get(kv, "CHAP_N"), *r = isc_kv_get(kv, "CHAP_R");
	uint8_t got[ISC_CHAP_MAX_DIGEST], want[ISC_CHAP_MAX_DIGEST];
	size_t dlen = isc_chap_digest_len(lg->chap_alg), glen = 0;
	int rc, bad;

	if (!r)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target did not authenticate itself (no CHAP_R in mutual CHAP)");
	if (!n || strcmp(n, lg->cfg.reverse_username) != 0)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target failed to authenticate: its CHAP_N is not the configured "
			     "reverse (target) username");
	if (isc_chap_decode(r, got, sizeof(got), &glen) < 0 || glen != dlen)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target failed to authenticate: malformed CHAP_R");
	rc = isc_chap_compute(lg->chap_alg, lg->our_chap_id, lg->cfg.reverse_secret,
			      lg->cfg.reverse_secret_len, lg->our_challenge, lg->our_challenge_len,
			      want);
	bad = rc < 0 || isc_ct_memcmp(got, want, dlen) != 0;
	isc_memzero(want, sizeof(want));
	isc_memzero(got, sizeof(got));
	if (bad)
		return failf(lg, ISC_ERR_AUTH_FAILED,
			     "target failed to authenticate: check the reverse (target) secret");
	lg->neg.mutual_chap = 1;
	return 0;
}

/* ---- per-phase response handling ---- */

static int security_response(struct isc_login *lg, int transit, const struct isc_kv_list *kv)
{
	const char *am = isc_kv_get(kv, "AuthMethod");
	int chap_cfg = lg->cfg.username != NULL;
	char algs[64];

	switch (lg->phase) {
	case ISC_LP_SEC_START:
		if (has_chap_keys(kv))
			return failf(lg, ISC_ERR_PROTOCOL, "target sent CHAP keys before CHAP_A");
		if (am && (strcmp(am, "Reject") == 0 || strcmp(am, "NotUnderstood") == 0))
			return failf(lg, ISC_ERR_AUTH_FAILED,
				     chap_cfg ? "target refused CHAP authentication"
					      : "target requires authentication: configure CHAP "
						"credentials");
		if (am && strcmp(am, "CHAP") == 0) {
			if (!chap_cfg)
				return failf(lg, ISC_ERR_PROTOCOL,
					     "target chose AuthMethod=CHAP, which we did not offer");
			if (transit)
				return failf(lg, ISC_ERR_PROTOCOL,
					     "target left the security stage before CHAP ran");
			next_request(lg, 0, 0);
			isc_text_add(&lg->tx_text, "CHAP_A", alg_list(lg, algs, sizeof(algs)));
			lg->phase = ISC_LP_SEC_CHAP_A;
			return lg->tx_text.error ? lg->tx_text.error : ISC_LOGIN_SEND;
		}
		if (am && strcmp(am, "None") != 0)
			return failf(lg, ISC_ERR_PROTOCOL, "target chose an AuthMethod we did not offer");
		if (!am && chap_cfg)
			return failf(lg, ISC_ERR_PROTOCOL, "target did not answer AuthMethod");
		if (am && is_mutual(lg))
			return failf(lg, ISC_ERR_PROTOCOL, "target chose AuthMethod=None, which we did not offer");
		/* AuthMethod=None: nothing more to do in this stage. */
		lg->phase = ISC_LP_SEC_DONE;
		if (transit)
			return enter_operational(lg);
		next_request(lg, 1, ISC_STAGE_OPERATIONAL);
		return ISC_LOGIN_SEND;

	case ISC_LP_SEC_CHAP_A:
		if (transit)
			return failf(lg, ISC_ERR_PROTOCOL, "target left the security stage during CHAP");
		return chap_answer(lg, kv);

	case ISC_LP_SEC_CHAP_R:
		if (isc_kv_get(kv, "CHAP_A") || isc_kv_get(kv, "CHAP_C") || isc_kv_get(kv, "CHAP_I"))
			return failf(lg, ISC_ERR_PROTOCOL, "target restarted the CHAP exchange");
		if (is_mutual(lg)) {
			if (isc_kv_get(kv, "CHAP_R") || isc_kv_get(kv, "CHAP_N") || transit) {
				int rc = chap_verify_target(lg, kv);
				if (rc < 0)
					return rc;
			} else {
				/* T=0 and nothing yet: ask again. */
				next_request(lg, 1, ISC_STAGE_OPERATIONAL);
				return ISC_LOGIN_SEND;
			}
		} else if (has_chap_keys(kv)) {
			return failf(lg, ISC_ERR_PROTOCOL,
				     "target sent CHAP_N/CHAP_R although we did not challenge it");
		}
		lg->phase = ISC_LP_SEC_DONE;
		if (transit)
			return enter_operational(lg);
		next_request(lg, 1, ISC_STAGE_OPERATIONAL);
		return ISC_LOGIN_SEND;

	case ISC_LP_SEC_DONE:
		if (has_chap_keys(kv) || am)
			return failf(lg, ISC_ERR_PROTOCOL, "target sent security keys after authentication");
		if (transit)
			return enter_operational(lg);
		next_request(lg, 1, ISC_STAGE_OPERATIONAL);
		return ISC_LOGIN_SEND;
	default:
		return failf(lg, ISC_ERR_STATE, "login response in an unexpected state");
	}
}

static int operational_response(struct isc_login *lg, int transit, uint16_t tsih,
				const struct isc_kv_list *kv)
{
	struct isc_text_builder reply;
	char err[200];
	int rc;

	if (has_chap_keys(kv) || isc_kv_get(kv, "AuthMethod"))
		return failf(lg, ISC_ERR_PROTOCOL, "target sent security keys in the operational stage");
	isc_text_builder_init(&reply);
	rc = isc_params_apply(&lg->cfg.offer, kv, &lg->neg, &reply, err, sizeof(err));
	if (rc < 0) {
		isc_text_builder_free(&reply);
		return failf(lg, rc, "operational negotiation failed: %s",
			     err[0] ? err : "cannot build the reply");
	}
	if (transit) {
		/* Full Feature Phase. Answers we might still owe the target
		 * (e.g. NotUnderstood for a vendor key it sent with T=1) are
		 * moot: it has declared the negotiation over. */
		isc_text_builder_free(&reply);
		if (lg->cfg.session_type == ISC_SESSION_NORMAL && lg->cfg.tsih == 0 && tsih == 0)
			return failf(lg, ISC_ERR_PROTOCOL,
				     "target completed the login without assigning a TSIH");
		lg->neg.tsih = tsih;
		lg->csg = ISC_STAGE_FULL_FEATURE;
		lg->phase = ISC_LP_FFP;
		next_request(lg, 0, 0);
		return ISC_LOGIN_DONE;
	}
	/* Keep asking to move on; carry our answers to its proposals. */
	next_request(lg, 1, ISC_STAGE_FULL_FEATURE);
	isc_text_builder_free(&lg->tx_text);
	lg->tx_text = reply;
	return ISC_LOGIN_SEND;
}

/* Informational keys the target may send in any response. */
static int note_info(struct isc_login *lg, const struct isc_kv_list *kv)
{
	const char *alias = isc_kv_get(kv, "TargetAlias");
	const char *tpgt = isc_kv_get(kv, "TargetPortalGroupTag");
	uint32_t v;

	if (alias)
		snprintf(lg->neg.target_alias, sizeof(lg->neg.target_alias), "%s", alias);
	if (tpgt) {
		if (isc_text_number(tpgt, 65535, &v) < 0)
			return failf(lg, ISC_ERR_PROTOCOL, "target sent a malformed TargetPortalGroupTag");
		lg->neg.tpgt = (uint16_t)v;
	}
	return 0;
}

int isc_login_response(struct isc_login *lg, const struct isc_pdu *rsp)
{
	const uint8_t *h;
	uint8_t flags;
	int transit, cont, csg, nsg, cls, detail, rc;
	size_t sent;
	struct isc_kv_list kv;

	if (!lg || !rsp || !rsp->bhs)
		return ISC_ERR_INVAL;
	if (lg->phase == ISC_LP_FFP || lg->phase == ISC_LP_FAILED)
		return ISC_ERR_STATE;
	h = rsp->bhs;
	if (rsp->data_len && !rsp->data)
		return failf(lg, ISC_ERR_INVAL, "login response without its data segment");
	/* first_response_seen doubles as the round-trip counter. */
	if (++lg->first_response_seen > MAX_ROUND_TRIPS)
		return failf(lg, ISC_ERR_PROTOCOL,
			     "target did not finish the login within %d exchanges", MAX_ROUND_TRIPS);

	if ((h[0] & ISC_BHS_OPCODE_MASK) != ISC_OP_LOGIN_RSP)
		return failf(lg, ISC_ERR_PROTOCOL, "expected a Login Response, got opcode 0x%02x",
			     h[0] & ISC_BHS_OPCODE_MASK);
	if (isc_get_be32(h + ISC_OFF_ITT) != lg->cfg.itt)
		return failf(lg, ISC_ERR_PROTOCOL, "login response for another task (ITT mismatch)");
	cls = h[ISC_OFF_LOGIN_CLASS];
	detail = h[ISC_OFF_LOGIN_DETAIL];
	flags = h[1];
	transit = !!(flags & ISC_FLAG_TRANSIT);
	cont = !!(flags & ISC_FLAG_CONTINUE);
	csg = ISC_LOGIN_CSG(flags);
	nsg = ISC_LOGIN_NSG(flags);

	/* The numbering is valid in every response (RFC 7143 11.13). */
	lg->statsn = isc_get_be32(h + ISC_OFF_STATSN);
	lg->exp_statsn = lg->statsn + 1;
	lg->exp_cmdsn = isc_get_be32(h + ISC_OFF_EXPCMDSN);
	lg->max_cmdsn = isc_get_be32(h + ISC_OFF_MAXCMDSN);

	if (cls != 0) {
		/* A refusal carries no continuation; its text (TargetAddress
		 * of a redirect) is in this PDU, after anything accumulated. */
		rc = isc_text_accum_add(&lg->rx_text, rsp->data, rsp->data_len);
		if (rc == 0)
			rc = isc_text_parse(lg->rx_text.buf, lg->rx_text.len, &kv);
		isc_text_accum_reset(&lg->rx_text);
		if (rc < 0)
			isc_kv_list_init(&kv);
		rc = handle_status(lg, cls, detail, &kv);
		isc_kv_list_free(&kv);
		return rc;
	}
	if (h[ISC_OFF_LOGIN_VMIN] != 0)
		return failf(lg, ISC_ERR_PROTOCOL, "target uses iSCSI version %u, we speak 0",
			     h[ISC_OFF_LOGIN_VMIN]);
	if (csg != lg->csg)
		return failf(lg, ISC_ERR_PROTOCOL,
			     "login response for stage %d while we are in stage %d", csg, lg->csg);
	if (transit && cont)
		return failf(lg, ISC_ERR_PROTOCOL, "login response with both T and C set");
	/* The target may only follow our wish: T only when we set T, to the
	 * stage we named (never backwards or elsewhere). The empty requests
	 * that fetch a continued text carry no T, but the wish of the request
	 * that started the exchange still holds for its final piece. */
	if (transit && (!lg->transit || nsg != lg->nsg))
		return failf(lg, ISC_ERR_PROTOCOL,
			     "target moved to stage %d, which we did not ask for", nsg);

	/* Our own text did not fit in one PDU: the target acknowledges each
	 * piece with an empty response; send the next one. */
	sent = isc_text_chunk_len(lg->tx_text.len, lg->tx_offset, LOGIN_MAX_SEG);
	if (lg->tx_offset + sent < lg->tx_text.len) {
		if (rsp->data_len || transit || cont)
			return failf(lg, ISC_ERR_PROTOCOL,
				     "target answered before our continued text was complete");
		lg->tx_offset += sent;
		return ISC_LOGIN_SEND;
	}

	rc = isc_text_accum_add(&lg->rx_text, rsp->data, rsp->data_len);
	if (rc < 0)
		return failf(lg, ISC_ERR_PROTOCOL, "login response text exceeds %u bytes",
			     ISC_TEXT_MAX_TOTAL);
	if (cont) {
		/* More text follows: fetch it with an empty request. */
		lg->awaiting_continue = 1;
		isc_text_builder_reset(&lg->tx_text);
		lg->tx_offset = 0;
		return ISC_LOGIN_SEND;
	}
	lg->awaiting_continue = 0;
	rc = isc_text_parse(lg->rx_text.buf, lg->rx_text.len, &kv);
	isc_text_accum_reset(&lg->rx_text);
	if (rc < 0)
		return failf(lg, ISC_ERR_PROTOCOL, "malformed login response text");

	rc = note_info(lg, &kv);
	if (rc == 0) {
		if (lg->csg == ISC_STAGE_SECURITY)
			rc = security_response(lg, transit, &kv);
		else
			rc = operational_response(lg, transit, isc_get_be16(h + ISC_OFF_TSIH), &kv);
	}
	isc_kv_list_free(&kv);
	return rc;
}

void isc_login_free(struct isc_login *lg)
{
	if (!lg)
		return;
	isc_text_accum_free(&lg->rx_text);
	isc_text_builder_free(&lg->tx_text);
	isc_memzero(lg->our_challenge, sizeof(lg->our_challenge));
	isc_memzero(lg->bhs, sizeof(lg->bhs));
	/* The secrets belong to the engine, which zeroes them; forget the
	 * pointers so a stale login cannot reach them. */
	lg->cfg.secret = NULL;
	lg->cfg.secret_len = 0;
	lg->cfg.reverse_secret = NULL;
	lg->cfg.reverse_secret_len = 0;
}
