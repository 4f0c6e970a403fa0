/*
 * Login state machine (RFC 7143 sections 6.3, 11.12, 11.13), pure: it turns
 * login responses into the next login request and never touches a socket.
 *
 * Stages: SecurityNegotiation (0) -> LoginOperationalNegotiation (1) ->
 * FullFeaturePhase (3). Without credentials we still start in stage 0 and
 * offer AuthMethod=None (so a target that demands CHAP tells us with 0x0201).
 * With credentials we offer AuthMethod=CHAP,None (one-way) or CHAP alone
 * (mutual: the target must prove itself), run the CHAP_A / CHAP_I,CHAP_C /
 * CHAP_N,CHAP_R exchange, verify the target's CHAP_R in mutual mode and
 * refuse a target challenge equal to ours (reflection attack).
 *
 * The T bit is set once our side has nothing more to negotiate in the
 * current stage; the stage advances when the target answers with T=1 and
 * NSG. A response with the C bit set is accumulated and answered with an
 * empty request until the final piece arrives. Redirects (status class 1)
 * hand the TargetAddress back to the engine, which reconnects.
 */
#ifndef ISC_LOGIN_H
#define ISC_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "isc/iscsi.h"
#include "chap.h"
#include "params.h"
#include "pdu.h"
#include "text.h"

enum isc_login_result {
	ISC_LOGIN_SEND = 1,      /* isc_login_request() has the next PDU */
	ISC_LOGIN_DONE = 2,      /* Full Feature Phase reached */
	ISC_LOGIN_REDIRECT = 3   /* reconnect to isc_login_redirect_address() */
};

struct isc_login_config {
	int session_type;
	const char *initiator_name;
	const char *initiator_alias;   /* may be NULL */
	const char *target_name;       /* NULL for discovery */
	uint8_t isid[6];
	uint16_t tsih;                 /* 0 for a new session */
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;                /* CmdSN carried by every login request */
	const char *username;          /* NULL: no CHAP */
	const uint8_t *secret;
	size_t secret_len;
	const char *reverse_username;  /* NULL: one-way CHAP */
	const uint8_t *reverse_secret;
	size_t reverse_secret_len;
	int chap_algs[ISC_MAX_CHAP_ALGS];
	int chap_alg_count;            /* > 0, already filtered to available ones */
	struct isc_param_offer offer;
};

enum isc_login_phase {
	ISC_LP_SEC_START,      /* next request: first security request */
	ISC_LP_SEC_CHAP_A,     /* sent CHAP_A, waiting CHAP_I/CHAP_C */
	ISC_LP_SEC_CHAP_R,     /* sent CHAP_N/CHAP_R, waiting (target CHAP_N/R) */
	ISC_LP_SEC_DONE,       /* security done, waiting transit */
	ISC_LP_OP,             /* operational negotiation */
	ISC_LP_FFP,
	ISC_LP_FAILED
};

struct isc_login {
	struct isc_login_config cfg;   /* secrets point into the engine's copy */
	int phase;                     /* enum isc_login_phase */
	int csg;                       /* current stage */
	int nsg;                       /* stage we ask to go to */
	int transit;                   /* T bit in the next request */
	uint32_t exp_statsn;
	uint32_t statsn;               /* last StatSN from the target */
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
	int first_response_seen;
	int offered_ops;               /* operational keys already sent */
	int awaiting_continue;         /* target sent C=1: we send an empty request */
	struct isc_text_accum rx_text; /* multi-PDU response accumulator */
	struct isc_text_builder tx_text; /* text of the next request */
	size_t tx_offset;              /* how much of tx_text was sent (multi-PDU) */
	uint8_t bhs[ISC_BHS_LEN];      /* the next request header */
	uint8_t our_challenge[ISC_CHAP_OUR_CHALLENGE_LEN];
	size_t our_challenge_len;
	uint8_t our_chap_id;
	int chap_alg;
	struct isc_negotiated neg;
	int status_class;
	int status_detail;
	char redirect[300];            /* TargetAddress value from a redirect */
	char message[256];             /* reason of a failure; never a secret */
};

/* Prepare the first request. 0 or negative isc_err. The config strings and
 * secrets must outlive the login. */
int isc_login_start(struct isc_login *lg, const struct isc_login_config *cfg);
/* The request to send now: header (48 bytes; DataSegmentLength filled in by
 * isc_pdu_build from *len) and its data segment. Valid until the next call.
 * Call once after isc_login_start() and after each ISC_LOGIN_SEND. */
void isc_login_request(struct isc_login *lg, const uint8_t **bhs, const uint8_t **data,
		       size_t *len);
/* Feed one Login Response PDU. Returns ISC_LOGIN_SEND / _DONE / _REDIRECT or
 * a negative isc_err (ISC_ERR_AUTH_FAILED, ISC_ERR_TARGET_NOT_FOUND,
 * ISC_ERR_LOGIN_REJECTED, ISC_ERR_TARGET_ERROR, ISC_ERR_PROTOCOL ...) with
 * status_class/status_detail/message filled. */
int isc_login_response(struct isc_login *lg, const struct isc_pdu *rsp);
/* Zeroes every secret-bearing buffer and frees. */
void isc_login_free(struct isc_login *lg);

#endif
