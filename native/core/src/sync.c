/*
 * Blocking convenience layer for C programs: each call runs a poll() loop
 * on the context until its operation completes (libiscsi's sync layer
 * works the same way). Not used by the Node addon, which drives the
 * context from the event loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "ctx.h"

struct sync_state {
	int done;
	int status;
	void *result;
};

static void sync_cb(isc_ctx *ctx, int status, void *result, void *priv)
{
	struct sync_state *st = priv;
	st->done = 1;
	st->status = status;
	st->result = result;
}

static int run_until_done(isc_ctx *ctx, struct sync_state *st)
{
	while (!st->done) {
		struct pollfd pfd = { .fd = isc_get_fd(ctx), .events = (short)isc_which_events(ctx) };
		int64_t t;

		isc_prepare_wait(ctx);
		t = isc_next_timeout_ms(ctx, isc_now_ms());
		int timeout = t < 0 ? 1000 : (t > 1000 ? 1000 : (int)t);
		int n;

		if (pfd.fd < 0) {
			/* No socket but the op is pending: only timers can end it. */
			isc_service(ctx, 0);
			if (!st->done && isc_next_timeout_ms(ctx, isc_now_ms()) < 0)
				return ISC_ERR_STATE;
			continue;
		}
		n = poll(&pfd, 1, timeout);
		if (n < 0 && errno != EINTR)
			return isc_err_from_errno(errno);
		isc_service(ctx, n > 0 ? pfd.revents : 0);
	}
	return st->status;
}

int isc_sync_login(isc_ctx *ctx)
{
	struct sync_state st = { 0 };
	int rc = isc_login_async(ctx, sync_cb, &st);
	return rc ? rc : run_until_done(ctx, &st);
}

int isc_sync_discovery(isc_ctx *ctx, struct isc_discovery **out)
{
	struct sync_state st = { 0 };
	int rc = isc_discovery_async(ctx, sync_cb, &st);

	*out = NULL;
	if (rc)
		return rc;
	rc = run_until_done(ctx, &st);
	if (rc == ISC_OK)
		*out = st.result;
	return rc;
}

int isc_sync_scsi(isc_ctx *ctx, uint64_t lun, const uint8_t *cdb, size_t cdb_len, int dir,
		  const uint8_t *data_out, size_t out_len, size_t in_len,
		  struct isc_scsi_result **out)
{
	struct sync_state st = { 0 };
	int rc = isc_scsi_async(ctx, lun, cdb, cdb_len, dir, data_out, out_len, in_len, sync_cb,
				&st);

	*out = NULL;
	if (rc)
		return rc;
	rc = run_until_done(ctx, &st);
	if (rc == ISC_OK)
		*out = st.result;
	return rc;
}

int isc_sync_logout(isc_ctx *ctx)
{
	struct sync_state st = { 0 };
	int rc = isc_logout_async(ctx, sync_cb, &st);
	return rc ? rc : run_until_done(ctx, &st);
}
