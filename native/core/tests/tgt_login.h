/*
 * The target's side of a session reinstatement, for tests and the engine
 * fuzzer: a loopback listener stands in for the portal, and the two Login
 * Responses (security stage with AuthMethod=None, then the operational
 * keys with T=1 to Full Feature Phase; RFC 7143 sections 6.3 and 13) bring
 * the reconnecting context back with the same negotiated values.
 */
#ifndef ISC_TEST_TGT_LOGIN_H
#define ISC_TEST_TGT_LOGIN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>

#include "ctx.h"
#include "tgt_pdu.h"

/* A non-blocking listener on 127.0.0.1; its address goes into c->addr. */
static inline int tgt_listen(struct isc_config *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 16) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) != 0) {
		if (l >= 0)
			close(l);
		return -1;
	}
	memset(&c->addr, 0, sizeof(c->addr));
	memcpy(&c->addr, &a, sizeof(a));
	c->addrlen = sizeof(a);
	return l;
}

/* Key=value pairs, each NUL-terminated (RFC 7143 section 6.1). */
static inline size_t tgt_login_keys(const struct isc_negotiated *n, char *out, size_t cap)
{
	int len = snprintf(out, cap,
			   "HeaderDigest=%s|DataDigest=%s|MaxConnections=1|InitialR2T=%s|"
			   "ImmediateData=%s|MaxRecvDataSegmentLength=%u|MaxBurstLength=%u|"
			   "FirstBurstLength=%u|DefaultTime2Wait=2|DefaultTime2Retain=0|"
			   "MaxOutstandingR2T=1|DataPDUInOrder=Yes|DataSequenceInOrder=Yes|"
			   "ErrorRecoveryLevel=0|",
			   n->header_digest ? "CRC32C" : "None", n->data_digest ? "CRC32C" : "None",
			   n->initial_r2t ? "Yes" : "No", n->immediate_data ? "Yes" : "No",
			   n->max_xmit_data_segment_length, n->max_burst_length,
			   n->first_burst_length);

	if (len < 0 || (size_t)len >= cap)
		return 0;
	for (int i = 0; i < len; i++)
		if (out[i] == '|')
			out[i] = '\0';
	return (size_t)len;
}

/* Answers one Login Request: go where it asks (T, its NSG) with nothing to
 * negotiate in the security stage and the values *n in the operational one. */
static inline int tgt_login_answer(struct tgt_peer *p, const struct isc_pdu *req,
				   const struct isc_negotiated *n)
{
	uint8_t bhs[ISC_BHS_LEN];
	char text[512];
	uint8_t flags = isc_pdu_flags(req);
	int csg = ISC_LOGIN_CSG(flags);
	uint32_t cmdsn = isc_pdu_u32(req, ISC_OFF_CMDSN);
	size_t len;

	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISC_OP_LOGIN_RSP;
	bhs[1] = (uint8_t)(ISC_FLAG_TRANSIT | (csg << 2) | ISC_LOGIN_NSG(flags));
	memcpy(bhs + ISC_OFF_ISID, req->bhs + ISC_OFF_ISID, 6);
	if (csg == ISC_STAGE_OPERATIONAL)
		isc_put_be16(bhs + ISC_OFF_TSIH, n->tsih ? n->tsih : 1);
	memcpy(bhs + ISC_OFF_ITT, req->bhs + ISC_OFF_ITT, 4);
	isc_put_be32(bhs + ISC_OFF_STATSN, p->statsn++);
	isc_put_be32(bhs + ISC_OFF_EXPCMDSN, cmdsn);
	isc_put_be32(bhs + ISC_OFF_MAXCMDSN, cmdsn + 1024);
	p->exp_cmdsn = cmdsn;
	if (csg == ISC_STAGE_SECURITY) {
		static const char none[] = "AuthMethod=None";
		return tgt_send(p, bhs, (const uint8_t *)none, sizeof(none));
	}
	len = tgt_login_keys(n, text, sizeof(text));
	return len ? tgt_send(p, bhs, (const uint8_t *)text, len) : -1;
}

/* Completes the reinstatement a context started (state CONNECTING): accepts
 * its connection on lfd and logs it in with *n in force; p then speaks on
 * the new connection (the old fd is closed). 0, or -1 when the context did
 * not come back to Full Feature Phase. */
static inline int tgt_relogin(isc_ctx *ctx, int lfd, struct tgt_peer *p,
			      const struct isc_negotiated *n)
{
	struct pollfd pl = { .fd = lfd, .events = POLLIN };
	struct isc_digests none = { 0, 0 }, dg = { n->header_digest, n->data_digest };
	uint32_t statsn = p->statsn;
	int fd;

	if (ctx->state != ISC_ST_CONNECTING || poll(&pl, 1, 1000) != 1)
		return -1;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (p->fd >= 0)
		close(p->fd);
	tgt_free(p);
	tgt_init(p, fd, none); /* no digests during login (RFC 7143 13.1) */
	p->statsn = statsn;
	isc_service(ctx, POLLOUT); /* connected: the first Login Request goes out */
	for (int round = 0; round < 4 && ctx->state == ISC_ST_LOGIN; round++) {
		struct isc_pdu req;

		if (tgt_recv(p, &req) != 1 || isc_pdu_opcode(&req) != ISC_OP_LOGIN_REQ ||
		    tgt_login_answer(p, &req, n) != 0)
			return -1;
		isc_service(ctx, POLLIN);
	}
	p->dg = dg;
	return ctx->state == ISC_ST_FFP ? 0 : -1;
}

#endif
