/*
 * Operational parameter negotiation (RFC 7143 sections 6.2 and 13).
 *
 * Each key has a type that fixes the result rule:
 *  - boolean OR (InitialR2T, DataPDUInOrder, DataSequenceInOrder: RFC 7143
 *    13.10, 13.18, 13.19) and AND (ImmediateData), numerical minimum (MaxBurstLength,
 *    FirstBurstLength, MaxConnections, MaxOutstandingR2T, ErrorRecoveryLevel,
 *    DefaultTime2Retain), numerical maximum (DefaultTime2Wait), list (digests:
 *    the responder picks the first of our list it supports), declarative
 *    (MaxRecvDataSegmentLength: each side states what it can receive).
 * Defaults when a key is not negotiated come from RFC 7143 section 13.
 * Values outside the legal range, or answers that violate the rule (a target
 * raising a min-key above our offer, picking a digest we did not offer),
 * are protocol errors.
 */
#ifndef ISC_PARAMS_H
#define ISC_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "isc/iscsi.h"
#include "text.h"

/* What we propose. Filled from isc_config by the engine. */
struct isc_param_offer {
	int session_type;               /* ISC_SESSION_NORMAL / _DISCOVERY */
	int header_digest;              /* enum isc_digest_pref */
	int data_digest;                /* enum isc_digest_pref */
	uint32_t max_recv_data_segment_length; /* declared by us, 512..2^24-1 */
	uint32_t max_burst_length;
	uint32_t first_burst_length;
	uint32_t max_outstanding_r2t;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint8_t initial_r2t;
	uint8_t immediate_data;
	uint8_t data_pdu_in_order;
	uint8_t data_sequence_in_order;
	uint8_t error_recovery_level;
};

/* Our defaults for an offer (what we propose when the user says nothing). */
void isc_param_offer_defaults(struct isc_param_offer *o, int session_type);
/* RFC 7143 defaults of the negotiated values (the result when a key is
 * never exchanged). */
void isc_negotiated_defaults(struct isc_negotiated *n);

/* Append our operational proposals to b (only keys legal for the session
 * type: discovery sessions carry just digests and MaxRecvDataSegmentLength). */
int isc_params_offer_text(const struct isc_param_offer *o, struct isc_text_builder *b);

/*
 * Apply the target's operational keys from one login response.
 *  - answers to our offers are checked against the rule and stored in *n;
 *  - keys the target offers on its own (e.g. its declarative
 *    MaxRecvDataSegmentLength, or a proposal we did not make) are stored and,
 *    where a reply is required, answered into `reply`;
 *  - unknown keys are answered with "NotUnderstood" into `reply`;
 *  - security keys (AuthMethod, CHAP_*), TargetAlias, TargetPortalGroupTag,
 *    TargetAddress are ignored here (the login machine handles them).
 * Returns 0 or ISC_ERR_PROTOCOL with a message in err.
 */
int isc_params_apply(const struct isc_param_offer *o, const struct isc_kv_list *rsp,
		     struct isc_negotiated *n, struct isc_text_builder *reply,
		     char *err, size_t errlen);

#endif
