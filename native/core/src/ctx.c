/*
 * isc_ctx lifecycle: copying the configuration (secrets into owned memory,
 * zeroed on free), defaults, error recording and logging.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chap.h"
#include "ctx.h"
#include "sendtargets.h"

#define DEFAULT_LOGIN_TIMEOUT_MS 15000u
#define DEFAULT_COMMAND_TIMEOUT_MS 30000u
#define DEFAULT_LOGOUT_TIMEOUT_MS 5000u
#define DEFAULT_MAX_REDIRECTS 4u
#define DEFAULT_MAX_RECV_DSL 262144u
#define DEFAULT_MAX_BURST 262144u
#define DEFAULT_FIRST_BURST 65536u

int64_t isc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void isc_log(const isc_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ctx->cfg.log_fn || level > ctx->cfg.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->cfg.log_fn(level, msg, ctx->cfg.log_user);
}

int isc_set_error(isc_ctx *ctx, int code, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	ctx->err.code = code;
	ctx->err.sys_errno = sys_errno;
	ctx->err.status_class = -1;
	ctx->err.status_detail = -1;
	va_start(ap, fmt);
	vsnprintf(ctx->err.message, sizeof(ctx->err.message), fmt, ap);
	va_end(ap);
	isc_log(ctx, ISC_LOG_WARN, "%s", ctx->err.message);
	return code;
}

void isc_format_portal(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(out, outlen, "(unknown address family)");
	}
}

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

static uint8_t *dup_secret(const uint8_t *s, size_t n, int *failed)
{
	uint8_t *d;

	if (!s || !n)
		return NULL;
	d = malloc(n);
	if (!d) {
		*failed = 1;
		return NULL;
	}
	memcpy(d, s, n);
	return d;
}

/* Free a secret copy after overwriting it. */
static void free_secret(uint8_t *s, size_t n)
{
	if (s) {
		isc_memzero(s, n);
		free(s);
	}
}

static void free_string(char *s)
{
	if (s) {
		isc_memzero(s, strlen(s));
		free(s);
	}
}

static int validate_config(const struct isc_config *cfg)
{
	if (cfg->session_type != ISC_SESSION_NORMAL && cfg->session_type != ISC_SESSION_DISCOVERY)
		return ISC_ERR_INVAL;
	if (!cfg->initiator_name || !isc_iscsi_name_valid(cfg->initiator_name))
		return ISC_ERR_INVAL;
	if (cfg->session_type == ISC_SESSION_NORMAL &&
	    (!cfg->target_name || !isc_iscsi_name_valid(cfg->target_name)))
		return ISC_ERR_INVAL;
	if (cfg->addr.ss_family != AF_INET && cfg->addr.ss_family != AF_INET6)
		return ISC_ERR_INVAL;
	if (cfg->addrlen == 0 || cfg->addrlen > sizeof(cfg->addr))
		return ISC_ERR_INVAL;
	/* CHAP: a username needs a secret; mutual needs the one-way part. */
	if (cfg->username && (!cfg->secret || !cfg->secret_len))
		return ISC_ERR_INVAL;
	if (cfg->reverse_username && (!cfg->username || !cfg->reverse_secret ||
				      !cfg->reverse_secret_len))
		return ISC_ERR_INVAL;
	if (cfg->secret_len > 1024 || cfg->reverse_secret_len > 1024)
		return ISC_ERR_INVAL;
	/* RFC 7143 section 12.1.3: a secret used to authenticate the initiator
	 * must not also authenticate the target (it would let a rogue target
	 * that learned one direction answer the other). */
	if (cfg->reverse_username && cfg->secret_len == cfg->reverse_secret_len &&
	    memcmp(cfg->secret, cfg->reverse_secret, cfg->secret_len) == 0)
		return ISC_ERR_INVAL;
	if (cfg->chap_alg_count < 0 || cfg->chap_alg_count > ISC_MAX_CHAP_ALGS)
		return ISC_ERR_INVAL;
	if (cfg->header_digest < ISC_DIGEST_NONE || cfg->header_digest > ISC_DIGEST_PREFER_NONE ||
	    cfg->data_digest < ISC_DIGEST_NONE || cfg->data_digest > ISC_DIGEST_PREFER_NONE)
		return ISC_ERR_INVAL;
	if (cfg->max_recv_data_segment_length &&
	    (cfg->max_recv_data_segment_length < 512 ||
	     cfg->max_recv_data_segment_length > ISC_MAX_DSL))
		return ISC_ERR_INVAL;
	return ISC_OK;
}

/* The CHAP_A offer: the caller's list or SHA3-256, SHA-256, SHA-1, MD5,
 * keeping only digests this OpenSSL provides. */
static int pick_chap_algs(isc_ctx *ctx, const struct isc_config *cfg)
{
	static const int defaults[] = { ISC_CHAP_SHA3_256, ISC_CHAP_SHA256, ISC_CHAP_SHA1,
					ISC_CHAP_MD5 };
	const int *list = cfg->chap_alg_count ? cfg->chap_algs : defaults;
	int n = cfg->chap_alg_count ? cfg->chap_alg_count : 4;

	ctx->chap_alg_count = 0;
	for (int i = 0; i < n; i++) {
		if (!isc_chap_digest_len(list[i]))
			return ISC_ERR_INVAL;
		if (isc_chap_alg_available(list[i]))
			ctx->chap_algs[ctx->chap_alg_count++] = list[i];
	}
	if (cfg->username && ctx->chap_alg_count == 0)
		return ISC_ERR_UNSUPPORTED;
	return ISC_OK;
}

int isc_ctx_new(const struct isc_config *cfg, isc_ctx **out)
{
	isc_ctx *ctx;
	int failed = 0;
	int rc;

	if (!cfg || !out)
		return ISC_ERR_INVAL;
	*out = NULL;
	rc = validate_config(cfg);
	if (rc)
		return rc;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return ISC_ERR_NOMEM;
	ctx->cfg = *cfg;
	ctx->fd = -1;
	ctx->state = ISC_ST_IDLE;
	ctx->reconnect_delay_override = -1;
	ctx->err.status_class = -1;
	ctx->err.status_detail = -1;

	ctx->initiator_name = dup_or_null(cfg->initiator_name, &failed);
	ctx->initiator_alias = dup_or_null(cfg->initiator_alias, &failed);
	ctx->target_name = cfg->session_type == ISC_SESSION_NORMAL
				   ? dup_or_null(cfg->target_name, &failed)
				   : NULL;
	ctx->portal_text = dup_or_null(cfg->portal_text, &failed);
	ctx->username = dup_or_null(cfg->username, &failed);
	ctx->reverse_username = dup_or_null(cfg->reverse_username, &failed);
	ctx->secret = dup_secret(cfg->secret, cfg->secret_len, &failed);
	ctx->secret_len = ctx->secret ? cfg->secret_len : 0;
	ctx->reverse_secret = dup_secret(cfg->reverse_secret, cfg->reverse_secret_len, &failed);
	ctx->reverse_secret_len = ctx->reverse_secret ? cfg->reverse_secret_len : 0;
	/* The copy in ctx->cfg must not keep pointers to the caller's memory. */
	ctx->cfg.initiator_name = ctx->initiator_name;
	ctx->cfg.initiator_alias = ctx->initiator_alias;
	ctx->cfg.target_name = ctx->target_name;
	ctx->cfg.portal_text = ctx->portal_text;
	ctx->cfg.username = ctx->username;
	ctx->cfg.reverse_username = ctx->reverse_username;
	ctx->cfg.secret = ctx->secret;
	ctx->cfg.reverse_secret = ctx->reverse_secret;
	if (failed) {
		isc_ctx_free(ctx);
		return ISC_ERR_NOMEM;
	}
	rc = pick_chap_algs(ctx, cfg);
	if (rc) {
		isc_ctx_free(ctx);
		return rc;
	}

	if (!ctx->cfg.login_timeout_ms)
		ctx->cfg.login_timeout_ms = DEFAULT_LOGIN_TIMEOUT_MS;
	if (!ctx->cfg.command_timeout_ms)
		ctx->cfg.command_timeout_ms = DEFAULT_COMMAND_TIMEOUT_MS;
	if (!ctx->cfg.logout_timeout_ms)
		ctx->cfg.logout_timeout_ms = DEFAULT_LOGOUT_TIMEOUT_MS;
	if (!ctx->cfg.reconnect_delay_ms)
		ctx->cfg.reconnect_delay_ms = 250;
	if (!ctx->cfg.reconnect_max_delay_ms)
		ctx->cfg.reconnect_max_delay_ms = 5000;
	if (ctx->cfg.reconnect_max_delay_ms < ctx->cfg.reconnect_delay_ms)
		ctx->cfg.reconnect_max_delay_ms = ctx->cfg.reconnect_delay_ms;
	if (!ctx->cfg.nop_timeout_ms)
		ctx->cfg.nop_timeout_ms = 10000;
	if (!ctx->cfg.tmf_timeout_ms)
		ctx->cfg.tmf_timeout_ms = 10000;
	if (!cfg->max_redirects)
		ctx->cfg.max_redirects = DEFAULT_MAX_REDIRECTS;
	if (!ctx->cfg.max_recv_data_segment_length)
		ctx->cfg.max_recv_data_segment_length = DEFAULT_MAX_RECV_DSL;
	if (!ctx->cfg.max_burst_length)
		ctx->cfg.max_burst_length = DEFAULT_MAX_BURST;
	if (!ctx->cfg.first_burst_length)
		ctx->cfg.first_burst_length = DEFAULT_FIRST_BURST;
	if (ctx->cfg.first_burst_length > ctx->cfg.max_burst_length)
		ctx->cfg.first_burst_length = ctx->cfg.max_burst_length;

	/* ISID: type 0x80 "random" format (RFC 7143 section 11.12.5) unless the
	 * caller fixed one. */
	static const uint8_t zero_isid[6];
	if (memcmp(cfg->isid, zero_isid, 6) == 0) {
		if (isc_random_bytes(ctx->cfg.isid, sizeof(ctx->cfg.isid)) != 0) {
			isc_ctx_free(ctx);
			return ISC_ERR_IO;
		}
		ctx->cfg.isid[0] = 0x80 | (ctx->cfg.isid[0] & 0x3f);
	}
	/* Start task tags and CmdSN at random points: nothing depends on them
	 * starting at 0, and it makes stale-response bugs visible. */
	if (isc_random_bytes(&ctx->next_itt, sizeof(ctx->next_itt)) != 0)
		ctx->next_itt = 1;
	ctx->cmdsn = 1;

	memcpy(&ctx->addr, &cfg->addr, sizeof(ctx->addr));
	ctx->addrlen = cfg->addrlen;
	isc_format_portal(&ctx->addr, ctx->portal, sizeof(ctx->portal));
	isc_negotiated_defaults(&ctx->neg);
	isc_rx_init(&ctx->rx, ctx->cfg.max_recv_data_segment_length);
	*out = ctx;
	return ISC_OK;
}

void isc_ctx_abort(isc_ctx *ctx, int err)
{
	if (!ctx)
		return;
	if (err >= 0)
		err = ISC_ERR_CANCELLED;
	if (ctx->state != ISC_ST_CLOSED || ctx->task_count) {
		if (err == ISC_ERR_CANCELLED)
			isc_set_error(ctx, err, 0, "operation on %s aborted by the caller", ctx->portal);
		else if (err == ISC_ERR_TIMEDOUT)
			isc_set_error(ctx, err, 0,
				      "operation on %s timed out: the target did not answer in time "
				      "(check that the portal is an iSCSI target and reachable)",
				      ctx->portal);
		else
			isc_set_error(ctx, err, 0, "connection to %s closed", ctx->portal);
	}
	isc_transport_close(ctx);
	ctx->state = ISC_ST_CLOSED;
	ctx->reconnecting = 0; /* a caller's abort ends the session for good */
	if (ctx->login_active) {
		isc_login_free(&ctx->login);
		ctx->login_active = 0;
	}
	isc_fail_all(ctx, err);
}

void isc_ctx_free(isc_ctx *ctx)
{
	if (!ctx)
		return;
	isc_transport_close(ctx);
	ctx->state = ISC_ST_CLOSED;
	if (ctx->task_count)
		isc_set_error(ctx, ISC_ERR_CLOSED, 0, "session to %s closed with operations pending",
			      ctx->portal);
	isc_fail_all(ctx, ISC_ERR_CLOSED);
	if (ctx->login_active)
		isc_login_free(&ctx->login);
	isc_rx_free(&ctx->rx);
	free_string(ctx->initiator_name);
	free_string(ctx->initiator_alias);
	free_string(ctx->target_name);
	free_string(ctx->portal_text);
	free_string(ctx->username);
	free_string(ctx->reverse_username);
	free_secret(ctx->secret, ctx->secret_len);
	free_secret(ctx->reverse_secret, ctx->reverse_secret_len);
	isc_memzero(ctx, sizeof(*ctx));
	free(ctx);
}

int isc_get_fd(const isc_ctx *ctx)
{
	return ctx ? ctx->fd : -1;
}

uint32_t isc_get_fd_generation(const isc_ctx *ctx)
{
	return ctx ? ctx->fd_generation : 0;
}

int isc_is_logged_in(const isc_ctx *ctx)
{
	return ctx && ctx->state == ISC_ST_FFP;
}

const struct isc_negotiated *isc_get_negotiated(const isc_ctx *ctx)
{
	return ctx && (ctx->state == ISC_ST_FFP || ctx->state == ISC_ST_LOGOUT) ? &ctx->neg : NULL;
}

const struct isc_error_info *isc_last_error(const isc_ctx *ctx)
{
	return &ctx->err;
}

size_t isc_pending_count(const isc_ctx *ctx)
{
	return ctx ? ctx->task_count : 0;
}

const char *isc_current_portal(const isc_ctx *ctx)
{
	return ctx->portal;
}
