/*
 * Operational parameter negotiation (RFC 7143 sections 6.2, 13).
 *
 * One table describes every operational key we know: its result function,
 * legal range, and whether it is irrelevant in a discovery session. The
 * same table drives both directions:
 *  - a key we offered and the target answers: the answer is checked
 *    against the rule (a min-key may not exceed our offer, a max-key may
 *    not be below it, a boolean must be consistent with AND/OR, a list
 *    answer must be one of our values) and stored;
 *  - a key the target offers on its own: we compute the result from our
 *    own preference, store it and reply with it.
 *
 * Note: RFC 7143 sections 13.18 and 13.19 give OR as the result function
 * of DataPDUInOrder and DataSequenceInOrder (not AND); InitialR2T is OR,
 * ImmediateData is AND (13.10, 13.11).
 *
 * Reject / NotUnderstood answers to our offers keep the RFC 7143 section 13
 * default of the key (already in struct isc_negotiated), which our engine
 * handles for every key; the one exception is a digest we *require*
 * (ISC_DIGEST_CRC32C, no "None" in our list): refusing it is a protocol
 * error, since continuing without the digest would silently drop what the
 * user asked for. "Irrelevant" always keeps the default.
 */
#include "params.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "isc/errors.h"

enum key_type {
	KT_DIGEST,   /* list: None / CRC32C */
	KT_BOOL_AND,
	KT_BOOL_OR,
	KT_MIN,
	KT_MAX,
	KT_DECL,     /* declarative: MaxRecvDataSegmentLength */
	KT_MARKER,   /* IFMarker/OFMarker: we always say No */
	KT_MARKINT   /* IFMarkInt/OFMarkInt: Irrelevant without markers */
};

enum key_id {
	K_HEADER_DIGEST,
	K_DATA_DIGEST,
	K_MAX_CONNECTIONS,
	K_INITIAL_R2T,
	K_IMMEDIATE_DATA,
	K_MRDSL,
	K_MAX_BURST,
	K_FIRST_BURST,
	K_TIME2WAIT,
	K_TIME2RETAIN,
	K_MAX_OUTSTANDING_R2T,
	K_DATA_PDU_IN_ORDER,
	K_DATA_SEQ_IN_ORDER,
	K_ERL,
	K_IFMARKER,
	K_OFMARKER,
	K_IFMARKINT,
	K_OFMARKINT,
	K__COUNT
};

struct key_def {
	const char *name;
	int type;
	uint32_t min, max;
	int discovery_irrelevant; /* RFC 7143 13.x "Irrelevant when: SessionType=Discovery" */
};

/* Ranges and result functions: RFC 7143 section 13. */
static const struct key_def KEYS[K__COUNT] = {
	[K_HEADER_DIGEST] = { "HeaderDigest", KT_DIGEST, 0, 0, 0 },
	[K_DATA_DIGEST] = { "DataDigest", KT_DIGEST, 0, 0, 0 },
	[K_MAX_CONNECTIONS] = { "MaxConnections", KT_MIN, 1, 65535, 1 },
	[K_INITIAL_R2T] = { "InitialR2T", KT_BOOL_OR, 0, 1, 1 },
	[K_IMMEDIATE_DATA] = { "ImmediateData", KT_BOOL_AND, 0, 1, 1 },
	[K_MRDSL] = { "MaxRecvDataSegmentLength", KT_DECL, 512, 16777215, 0 },
	[K_MAX_BURST] = { "MaxBurstLength", KT_MIN, 512, 16777215, 1 },
	[K_FIRST_BURST] = { "FirstBurstLength", KT_MIN, 512, 16777215, 1 },
	[K_TIME2WAIT] = { "DefaultTime2Wait", KT_MAX, 0, 3600, 0 },
	[K_TIME2RETAIN] = { "DefaultTime2Retain", KT_MIN, 0, 3600, 0 },
	[K_MAX_OUTSTANDING_R2T] = { "MaxOutstandingR2T", KT_MIN, 1, 65535, 1 },
	[K_DATA_PDU_IN_ORDER] = { "DataPDUInOrder", KT_BOOL_OR, 0, 1, 1 },
	[K_DATA_SEQ_IN_ORDER] = { "DataSequenceInOrder", KT_BOOL_OR, 0, 1, 1 },
	[K_ERL] = { "ErrorRecoveryLevel", KT_MIN, 0, 2, 0 },
	[K_IFMARKER] = { "IFMarker", KT_MARKER, 0, 1, 0 },
	[K_OFMARKER] = { "OFMarker", KT_MARKER, 0, 1, 0 },
	[K_IFMARKINT] = { "IFMarkInt", KT_MARKINT, 0, 0, 0 },
	[K_OFMARKINT] = { "OFMarkInt", KT_MARKINT, 0, 0, 0 },
};

/* Keys the login machine owns (security and informational); apply skips
 * them. */
static int is_login_key(const char *key)
{
	static const char *const names[] = { "AuthMethod",   "TargetAlias",   "TargetPortalGroupTag",
					     "TargetAddress", "TargetName",   "InitiatorName",
					     "InitiatorAlias", "SessionType" };
	if (strncmp(key, "CHAP_", 5) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

static int key_lookup(const char *key)
{
	for (int i = 0; i < K__COUNT; i++)
		if (strcmp(key, KEYS[i].name) == 0)
			return i;
	return -1;
}

/* A hostile target could send thousands of made-up keys; each would cost
 * us a NotUnderstood reply. Past this many in one response we give up. */
#define MAX_UNKNOWN_KEYS 64

void isc_param_offer_defaults(struct isc_param_offer *o, int session_type)
{
	memset(o, 0, sizeof(*o));
	o->session_type = session_type;
	o->header_digest = ISC_DIGEST_NONE;
	o->data_digest = ISC_DIGEST_NONE;
	o->max_recv_data_segment_length = 262144;
	o->max_burst_length = 262144;
	o->first_burst_length = 65536;
	o->max_outstanding_r2t = 1;
	o->default_time2wait = 2;
	/* We run ErrorRecoveryLevel 0 without session reinstatement, so we
	 * never come back for tasks of a dead connection: ask the target not
	 * to keep them (as open-iscsi does). */
	o->default_time2retain = 0;
	/* Unsolicited data is allowed (saves a round trip per write); the
	 * engine honours whatever the target settles on. */
	o->initial_r2t = 0;
	o->immediate_data = 1;
	o->data_pdu_in_order = 1;
	o->data_sequence_in_order = 1;
	o->error_recovery_level = 0;
}

void isc_negotiated_defaults(struct isc_negotiated *n)
{
	/* RFC 7143 section 13: the values in force when a key is never
	 * negotiated. */
	memset(n, 0, sizeof(*n));
	n->header_digest = 0;
	n->data_digest = 0;
	n->max_recv_data_segment_length = 8192;
	n->max_xmit_data_segment_length = 8192;
	n->max_burst_length = 262144;
	n->first_burst_length = 65536;
	n->default_time2wait = 2;
	n->default_time2retain = 20;
	n->max_outstanding_r2t = 1;
	n->max_connections = 1;
	n->initial_r2t = 1;
	n->immediate_data = 1;
	n->data_pdu_in_order = 1;
	n->data_sequence_in_order = 1;
	n->error_recovery_level = 0;
}

/* ---- value accessors keyed by id ---- */

static uint32_t offer_value(const struct isc_param_offer *o, int id)
{
	switch (id) {
	case K_MAX_CONNECTIONS: return 1;
	case K_INITIAL_R2T: return o->initial_r2t ? 1 : 0;
	case K_IMMEDIATE_DATA: return o->immediate_data ? 1 : 0;
	case K_MRDSL: return o->max_recv_data_segment_length;
	case K_MAX_BURST: return o->max_burst_length;
	case K_FIRST_BURST: return o->first_burst_length;
	case K_TIME2WAIT: return o->default_time2wait;
	case K_TIME2RETAIN: return o->default_time2retain;
	case K_MAX_OUTSTANDING_R2T: return o->max_outstanding_r2t;
	case K_DATA_PDU_IN_ORDER: return o->data_pdu_in_order ? 1 : 0;
	case K_DATA_SEQ_IN_ORDER: return o->data_sequence_in_order ? 1 : 0;
	case K_ERL: return o->error_recovery_level;
	default: return 0;
	}
}

static void neg_store(struct isc_negotiated *n, int id, uint32_t v)
{
	switch (id) {
	case K_HEADER_DIGEST: n->header_digest = (int)v; break;
	case K_DATA_DIGEST: n->data_digest = (int)v; break;
	case K_MAX_CONNECTIONS: n->max_connections = v; break;
	case K_INITIAL_R2T: n->initial_r2t = (uint8_t)v; break;
	case K_IMMEDIATE_DATA: n->immediate_data = (uint8_t)v; break;
	case K_MRDSL: n->max_xmit_data_segment_length = v; break;
	case K_MAX_BURST: n->max_burst_length = v; break;
	case K_FIRST_BURST: n->first_burst_length = v; break;
	case K_TIME2WAIT: n->default_time2wait = v; break;
	case K_TIME2RETAIN: n->default_time2retain = v; break;
	case K_MAX_OUTSTANDING_R2T: n->max_outstanding_r2t = v; break;
	case K_DATA_PDU_IN_ORDER: n->data_pdu_in_order = (uint8_t)v; break;
	case K_DATA_SEQ_IN_ORDER: n->data_sequence_in_order = (uint8_t)v; break;
	case K_ERL: n->error_recovery_level = (uint8_t)v; break;
	default: break;
	}
}

/* Whether our offer text carries this key (see isc_params_offer_text). */
static int key_offered(const struct isc_param_offer *o, int id)
{
	if (KEYS[id].type == KT_MARKER || KEYS[id].type == KT_MARKINT)
		return 0;
	if (o->session_type == ISC_SESSION_DISCOVERY)
		return id == K_HEADER_DIGEST || id == K_DATA_DIGEST || id == K_MRDSL;
	return 1;
}

static int digest_pref_of(const struct isc_param_offer *o, int id)
{
	return id == K_HEADER_DIGEST ? o->header_digest : o->data_digest;
}

static const char *digest_offer_text(int pref)
{
	switch (pref) {
	case ISC_DIGEST_NONE: return "None";
	case ISC_DIGEST_CRC32C: return "CRC32C";
	case ISC_DIGEST_PREFER_CRC32C: return "CRC32C,None";
	case ISC_DIGEST_PREFER_NONE: return "None,CRC32C";
	default: return NULL;
	}
}

/* Whether our preference accepts digest value v (0 None, 1 CRC32C). */
static int digest_acceptable(int pref, int v)
{
	if (pref == ISC_DIGEST_NONE)
		return v == 0;
	if (pref == ISC_DIGEST_CRC32C)
		return v == 1;
	return 1;
}

/* ---- value syntax ---- */

static int parse_bool(const char *s, uint32_t *out)
{
	if (strcmp(s, "Yes") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "No") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int parse_digest(const char *s, size_t len, uint32_t *out)
{
	if (len == 4 && memcmp(s, "None", 4) == 0) {
		*out = 0;
		return 0;
	}
	if (len == 6 && memcmp(s, "CRC32C", 6) == 0) {
		*out = 1;
		return 0;
	}
	return -1;
}

static int is_special(const char *v)
{
	return strcmp(v, "Reject") == 0 || strcmp(v, "Irrelevant") == 0 ||
	       strcmp(v, "NotUnderstood") == 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ISC_ERR_PROTOCOL;
}

/* Values we echo in errors come from the target: keep them short and
 * printable so a hostile value cannot flood or garble the message. */
static void sanitize(const char *v, char *out, size_t cap)
{
	size_t i = 0;
	for (; v[i] && i + 1 < cap; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	out[i] = '\0';
}

/* ---- offer ---- */

int isc_params_offer_text(const struct isc_param_offer *o, struct isc_text_builder *b)
{
	const char *hd, *dd;

	if (!o || !b)
		return ISC_ERR_INVAL;
	hd = digest_offer_text(o->header_digest);
	dd = digest_offer_text(o->data_digest);
	if (!hd || !dd)
		return ISC_ERR_INVAL;
	for (int id = 0; id < K__COUNT; id++) {
		const struct key_def *k = &KEYS[id];
		uint32_t v;
		if (!key_offered(o, id) || k->type == KT_DIGEST || k->type == KT_BOOL_AND ||
		    k->type == KT_BOOL_OR)
			continue;
		v = offer_value(o, id);
		if (v < k->min || v > k->max)
			return ISC_ERR_INVAL;
	}
	if (o->session_type == ISC_SESSION_NORMAL &&
	    o->first_burst_length > o->max_burst_length)
		return ISC_ERR_INVAL;

	isc_text_add(b, "HeaderDigest", hd);
	isc_text_add(b, "DataDigest", dd);
	if (o->session_type == ISC_SESSION_DISCOVERY) {
		isc_text_addf(b, "MaxRecvDataSegmentLength", "%" PRIu32,
			      o->max_recv_data_segment_length);
		return b->error;
	}
	for (int id = K_MAX_CONNECTIONS; id <= K_ERL; id++) {
		uint32_t v = offer_value(o, id);
		if (KEYS[id].type == KT_BOOL_AND || KEYS[id].type == KT_BOOL_OR)
			isc_text_add(b, KEYS[id].name, v ? "Yes" : "No");
		else
			isc_text_addf(b, KEYS[id].name, "%" PRIu32, v);
	}
	return b->error;
}

/* ---- apply ---- */

/* The target answered a key we offered. */
static int apply_answer(const struct isc_param_offer *o, int id, const char *value,
			struct isc_negotiated *n, char *err, size_t errlen)
{
	const struct key_def *k = &KEYS[id];
	uint32_t ours = offer_value(o, id), v;
	char shown[64];

	if (strcmp(value, "Irrelevant") == 0)
		return 0;
	if (strcmp(value, "Reject") == 0 || strcmp(value, "NotUnderstood") == 0) {
		if (k->type == KT_DIGEST && digest_pref_of(o, id) == ISC_DIGEST_CRC32C)
			return fail(err, errlen,
				    "target refused %s=CRC32C (%s), which this connection requires",
				    k->name, value);
		return 0; /* the RFC default stays in force */
	}
	sanitize(value, shown, sizeof(shown));

	switch (k->type) {
	case KT_DIGEST:
		/* The answer is a single value picked from our list. */
		if (parse_digest(value, strlen(value), &v) < 0 ||
		    !digest_acceptable(digest_pref_of(o, id), (int)v)) {
			/* The usual cause: CRC32C required here, the target only
			 * allows None (tgt's default) and answers None instead of
			 * Reject. Say what to change. */
			if (digest_pref_of(o, id) == ISC_DIGEST_CRC32C)
				return fail(err, errlen,
					    "target answered %s=%s: it does not accept the CRC32C "
					    "digest this connection requires (enable CRC32C on the "
					    "target, or use 'prefer-crc32c')",
					    k->name, shown);
			return fail(err, errlen, "target answered %s=%s, which we did not offer",
				    k->name, shown);
		}
		neg_store(n, id, v);
		return 0;
	case KT_BOOL_AND:
	case KT_BOOL_OR:
		if (parse_bool(value, &v) < 0)
			return fail(err, errlen, "target answered %s=%s: not Yes/No", k->name,
				    shown);
		/* AND with our No can only be No; OR with our Yes only Yes. */
		if ((k->type == KT_BOOL_AND && !ours && v) || (k->type == KT_BOOL_OR && ours && !v))
			return fail(err, errlen, "target answered %s=%s, violating the %s rule",
				    k->name, shown, k->type == KT_BOOL_AND ? "AND" : "OR");
		neg_store(n, id, v);
		return 0;
	default:
		break;
	}

	if (isc_text_number(value, UINT32_MAX, &v) < 0 || v < k->min || v > k->max)
		return fail(err, errlen, "target sent %s=%s: not a number in %" PRIu32 "..%" PRIu32,
			    k->name, shown, k->min, k->max);
	if (k->type == KT_MIN && v > ours)
		return fail(err, errlen,
			    "target answered %s=%s, above our offer %" PRIu32 " (result is the minimum)",
			    k->name, shown, ours);
	if (k->type == KT_MAX && v < ours)
		return fail(err, errlen,
			    "target answered %s=%s, below our offer %" PRIu32 " (result is the maximum)",
			    k->name, shown, ours);
	/* KT_DECL: the target's MaxRecvDataSegmentLength is its own
	 * declaration, what we may send in one PDU. */
	neg_store(n, id, v);
	return 0;
}

/* The target proposed a key we did not offer: compute the result from our
 * preference and answer it. (Digests are in every offer we make, so they
 * always arrive as answers and never reach this function.) */
static int apply_target_offer(const struct isc_param_offer *o, int id, const char *value,
			      struct isc_negotiated *n,
			      struct isc_text_builder *reply, char *err, size_t errlen)
{
	const struct key_def *k = &KEYS[id];
	uint32_t ours = offer_value(o, id), v, r;
	char shown[64];

	if (is_special(value))
		return 0; /* not a proposal: nothing to answer */
	sanitize(value, shown, sizeof(shown));

	if (k->type == KT_DECL) {
		if (isc_text_number(value, UINT32_MAX, &v) < 0 || v < k->min || v > k->max)
			return fail(err, errlen, "target declared %s=%s: not in %" PRIu32 "..%" PRIu32,
				    k->name, shown, k->min, k->max);
		neg_store(n, id, v);
		return 0;
	}
	if (o->session_type == ISC_SESSION_DISCOVERY && k->discovery_irrelevant)
		return isc_text_add(reply, k->name, "Irrelevant");

	switch (k->type) {
	case KT_MARKER:
		/* Markers are obsolete; refusing them is always legal. */
		return isc_text_add(reply, k->name, "No");
	case KT_MARKINT:
		return isc_text_add(reply, k->name, "Irrelevant");
	case KT_BOOL_AND:
	case KT_BOOL_OR:
		if (parse_bool(value, &v) < 0)
			return isc_text_add(reply, k->name, "Reject");
		r = k->type == KT_BOOL_AND ? (v && ours) : (v || ours);
		neg_store(n, id, r);
		return isc_text_add(reply, k->name, r ? "Yes" : "No");
	default:
		if (isc_text_number(value, UINT32_MAX, &v) < 0 || v < k->min || v > k->max)
			return isc_text_add(reply, k->name, "Reject");
		r = k->type == KT_MIN ? (v < ours ? v : ours) : (v > ours ? v : ours);
		neg_store(n, id, r);
		return isc_text_addf(reply, k->name, "%" PRIu32, r);
	}
}

int isc_params_apply(const struct isc_param_offer *o, const struct isc_kv_list *rsp,
		     struct isc_negotiated *n, struct isc_text_builder *reply, char *err,
		     size_t errlen)
{
	uint32_t seen = 0;
	size_t unknown = 0;
	int rc;

	if (!o || !rsp || !n || !reply)
		return ISC_ERR_INVAL;
	if (err && errlen)
		err[0] = '\0';
	/* Our declaration is in force from the moment we sent it. */
	n->max_recv_data_segment_length = o->max_recv_data_segment_length;

	for (size_t i = 0; i < rsp->count; i++) {
		const char *key = rsp->items[i].key, *value = rsp->items[i].value;
		int id;

		if (is_login_key(key))
			continue;
		id = key_lookup(key);
		if (id < 0) {
			/* RFC 7143 6.2: an unknown key is answered NotUnderstood;
			 * a special value is itself an answer and gets none. */
			if (is_special(value))
				continue;
			if (++unknown > MAX_UNKNOWN_KEYS)
				return fail(err, errlen, "target sent more than %d unknown keys",
					    MAX_UNKNOWN_KEYS);
			rc = isc_text_add(reply, key, "NotUnderstood");
			if (rc < 0)
				return rc;
			continue;
		}
		/* RFC 7143 6.1: a key may not be repeated in one exchange. */
		if (seen & (1u << id))
			return fail(err, errlen, "target sent %s twice", KEYS[id].name);
		seen |= 1u << id;

		if (key_offered(o, id))
			rc = apply_answer(o, id, value, n, err, errlen);
		else
			rc = apply_target_offer(o, id, value, n, reply, err, errlen);
		if (rc < 0)
			return rc;
	}

	/* RFC 7143 13.14: FirstBurstLength must not exceed MaxBurstLength;
	 * irrelevant when no unsolicited data can be sent at all. A target
	 * that explicitly settles on a larger FirstBurstLength is broken; one
	 * that lowered MaxBurstLength without answering FirstBurstLength left
	 * the default in force, which we clamp (never sending more
	 * unsolicited data than a burst may hold). */
	if (o->session_type == ISC_SESSION_NORMAL && n->first_burst_length > n->max_burst_length) {
		if (!(seen & (1u << K_FIRST_BURST)))
			n->first_burst_length = n->max_burst_length;
		else if (!(n->initial_r2t && !n->immediate_data))
			return fail(err, errlen,
				    "negotiated FirstBurstLength %" PRIu32
				    " exceeds MaxBurstLength %" PRIu32,
				    n->first_burst_length, n->max_burst_length);
	}
	return reply->error;
}
