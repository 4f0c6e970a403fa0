/* Unit tests for src/errors.c: code strings, descriptions, errno mapping. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"

static void test_codes_exact(void)
{
	CHECK_EQ_STR(isc_err_code(ISC_OK), "OK");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_NOMEM), "ENOMEM");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_INVAL), "ERR_INVALID_ARG_VALUE");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_TIMEDOUT), "ETIMEDOUT");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_CONNREFUSED), "ECONNREFUSED");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_HOSTUNREACH), "EHOSTUNREACH");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_IO), "ISCSI_CONNECTION_ERROR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_AUTH_FAILED), "ISCSI_AUTH_FAILED");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_TARGET_NOT_FOUND), "ISCSI_TARGET_NOT_FOUND");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_LOGIN_REJECTED), "ISCSI_LOGIN_REJECTED");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_PROTOCOL), "ISCSI_PROTOCOL_ERROR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_CANCELLED), "ABORT_ERR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_CLOSED), "ISCSI_SESSION_CLOSED");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_DIGEST), "ISCSI_DIGEST_ERROR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_TOO_MANY_REDIRECTS), "ISCSI_TOO_MANY_REDIRECTS");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_SCSI), "ISCSI_SCSI_ERROR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_STATE), "ISCSI_INVALID_STATE");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_TOO_LARGE), "ISCSI_TOO_LARGE");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_UNSUPPORTED), "ISCSI_UNSUPPORTED");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_TARGET_ERROR), "ISCSI_TARGET_ERROR");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_ADDRINUSE), "EADDRINUSE");
}

/* Every defined value has its own non-empty code and description: two
 * errors sharing a code would be indistinguishable to JS callers. */
static void test_codes_distinct(void)
{
	for (int a = 0; a > ISC_ERR__LAST; a--) {
		const char *ca = isc_err_code(a), *da = isc_strerror(a);
		CHECK(ca != NULL && ca[0] != '\0');
		CHECK(da != NULL && da[0] != '\0');
		CHECK(strcmp(ca, "ISCSI_UNKNOWN_ERROR") != 0);
		for (int b = a - 1; b > ISC_ERR__LAST; b--) {
			if (strcmp(ca, isc_err_code(b)) == 0) {
				fprintf(stderr, "duplicate code %s for %d and %d\n", ca, a, b);
				CHECK(0);
			}
			CHECK(strcmp(da, isc_strerror(b)) != 0);
		}
	}
}

static void test_unknown(void)
{
	const int bad[] = { ISC_ERR__LAST, ISC_ERR__LAST - 1, -1000, 1, 5, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_STR(isc_err_code(bad[i]), "ISCSI_UNKNOWN_ERROR");
		CHECK_EQ_STR(isc_strerror(bad[i]), "unknown error");
	}
}

static void test_from_errno(void)
{
	CHECK_EQ_INT(isc_err_from_errno(ECONNREFUSED), ISC_ERR_CONNREFUSED);
	CHECK_EQ_INT(isc_err_from_errno(EHOSTUNREACH), ISC_ERR_HOSTUNREACH);
	CHECK_EQ_INT(isc_err_from_errno(ENETUNREACH), ISC_ERR_HOSTUNREACH);
	CHECK_EQ_INT(isc_err_from_errno(EHOSTDOWN), ISC_ERR_HOSTUNREACH);
	CHECK_EQ_INT(isc_err_from_errno(ENETDOWN), ISC_ERR_HOSTUNREACH);
	CHECK_EQ_INT(isc_err_from_errno(ETIMEDOUT), ISC_ERR_TIMEDOUT);
	CHECK_EQ_INT(isc_err_from_errno(ENOMEM), ISC_ERR_NOMEM);
	CHECK_EQ_INT(isc_err_from_errno(EADDRINUSE), ISC_ERR_ADDRINUSE);
	CHECK_EQ_INT(isc_err_from_errno(EADDRNOTAVAIL), ISC_ERR_ADDRINUSE);
	CHECK_EQ_INT(isc_err_from_errno(ECONNRESET), ISC_ERR_IO);
	CHECK_EQ_INT(isc_err_from_errno(EPIPE), ISC_ERR_IO);
	CHECK_EQ_INT(isc_err_from_errno(0), ISC_ERR_IO);
	CHECK_EQ_INT(isc_err_from_errno(-5), ISC_ERR_IO);
	CHECK_EQ_INT(isc_err_from_errno(INT_MAX), ISC_ERR_IO);
}

int main(void)
{
	test_codes_exact();
	test_codes_distinct();
	test_unknown();
	test_from_errno();
	return check_finish();
}
