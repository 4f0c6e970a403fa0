/* Unit tests for src/portal.c: isc_parse_numeric_portal(). */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "isc/iscsi.h"

static void expect_v4(const char *text, uint16_t defport, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	struct in_addr want;
	int rc = isc_parse_numeric_portal(text, defport, &ss, &sl);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  input: %s\n", text);
		return;
	}
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	CHECK_EQ_INT(sl, sizeof(struct sockaddr_in));
	CHECK_EQ_INT(sin->sin_family, AF_INET);
	CHECK_EQ_INT(ntohs(sin->sin_port), port);
	CHECK_EQ_INT(inet_pton(AF_INET, ip, &want), 1);
	CHECK_MEM(&sin->sin_addr, &want, sizeof(want));
}

static void expect_v6(const char *text, uint16_t defport, const char *ip, uint16_t port,
		      uint32_t scope)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	struct in6_addr want;
	int rc = isc_parse_numeric_portal(text, defport, &ss, &sl);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  input: %s\n", text);
		return;
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	CHECK_EQ_INT(sl, sizeof(struct sockaddr_in6));
	CHECK_EQ_INT(sin6->sin6_family, AF_INET6);
	CHECK_EQ_INT(ntohs(sin6->sin6_port), port);
	CHECK_EQ_INT(sin6->sin6_scope_id, scope);
	CHECK_EQ_INT(inet_pton(AF_INET6, ip, &want), 1);
	CHECK_MEM(&sin6->sin6_addr, &want, sizeof(want));
}

static void expect_inval(const char *text, uint16_t defport)
{
	struct sockaddr_storage ss;
	socklen_t sl = 77;
	memset(&ss, 0xa5, sizeof(ss));
	int rc = isc_parse_numeric_portal(text, defport, &ss, &sl);
	if (rc != ISC_ERR_INVAL)
		fprintf(stderr, "  accepted/wrong error for: \"%s\" (rc %d)\n",
			text ? text : "(null)", rc);
	CHECK_EQ_INT(rc, ISC_ERR_INVAL);
	/* Outputs untouched on failure. */
	CHECK_EQ_INT(sl, 77);
	CHECK_EQ_INT(((unsigned char *)&ss)[0], 0xa5);
}

static void test_ipv4(void)
{
	expect_v4("1.2.3.4", 3260, "1.2.3.4", 3260);
	expect_v4("1.2.3.4:3261", 3260, "1.2.3.4", 3261);
	expect_v4("127.0.0.1:1", 3260, "127.0.0.1", 1);
	expect_v4("127.0.0.1:65535", 3260, "127.0.0.1", 65535);
	expect_v4("10.0.0.1", 860, "10.0.0.1", 860);
	expect_v4("255.255.255.255:03260", 3260, "255.255.255.255", 3260);
}

static void test_ipv6(void)
{
	unsigned lo = if_nametoindex("lo");
	CHECK(lo != 0);
	expect_v6("[::1]", 3260, "::1", 3260, 0);
	expect_v6("[::1]:3261", 3260, "::1", 3261, 0);
	expect_v6("::1", 3260, "::1", 3260, 0);
	expect_v6("fe80::1", 4000, "fe80::1", 4000, 0);
	expect_v6("2001:db8::1:3260", 3260, "2001:db8::1:3260", 3260, 0); /* bare: no port */
	expect_v6("[2001:db8::7]:65535", 3260, "2001:db8::7", 65535, 0);
	expect_v6("[::ffff:1.2.3.4]:3260", 1, "::ffff:1.2.3.4", 3260, 0);
	expect_v6("[fe80::1%lo]:3260", 1, "fe80::1", 3260, lo);
	expect_v6("[fe80::1%7]", 3260, "fe80::1", 3260, 7);
	expect_v6("fe80::1%lo", 3260, "fe80::1", 3260, lo);
}

static void test_invalid(void)
{
	static const char *const bad[] = {
		"",
		":3260",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:99999",
		"1.2.3.4:123456",
		"1.2.3.4:-1",
		"1.2.3.4:+80",
		"1.2.3.4:80x",
		"1.2.3.4:80 ",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2.3.4x",
		"1.2.3",
		"1.2.3.4.5",
		"256.1.1.1",
		"0x7f.0.0.1",
		"localhost",
		"localhost:3260",
		"target.example.com",
		"host-name:3260",
		"[::1",
		"[::1:3260",
		"::1]",
		"[]",
		"[]:3260",
		"[::1]:",
		"[::1]:0",
		"[::1]:65536",
		"[::1]3260",
		"[::1] ",
		"[::1]:3260x",
		"[::1]]",
		"[1.2.3.4]",
		"[1.2.3.4]:3260",
		"[localhost]",
		"[fe80::1%]",
		"[fe80::1%nosuchif0]:3260",
		"[fe80::1%0]",
		"[fe80::1%99999999999]",
		"[fe80::1%lo%lo]",
		"[fe80::1%l o]",
		"1.2.3.4%lo",
		":::",
		"1:2:3:4:5:6:7:8:9",
		"[::1]\n",
		"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001.2.3.4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_inval(bad[i], 3260);
	expect_inval(NULL, 3260);
	expect_inval("1.2.3.4", 0); /* no usable default port */

	struct sockaddr_storage ss;
	socklen_t sl;
	CHECK_EQ_INT(isc_parse_numeric_portal("1.2.3.4", 3260, NULL, &sl), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_parse_numeric_portal("1.2.3.4", 3260, &ss, NULL), ISC_ERR_INVAL);
}

/* sockaddr_storage must be zeroed beyond the family struct so callers can
 * compare/copy whole storages. */
static void test_zero_fill(void)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0xff, sizeof(ss));
	CHECK_EQ_INT(isc_parse_numeric_portal("1.2.3.4", 3260, &ss, &sl), 0);
	const unsigned char *p = (const unsigned char *)&ss;
	int nonzero = 0;
	for (size_t i = sizeof(struct sockaddr_in); i < sizeof(ss); i++)
		nonzero |= p[i];
	CHECK_EQ_INT(nonzero, 0);
	CHECK_MEM(((const struct sockaddr_in *)&ss)->sin_zero, "\0\0\0\0\0\0\0\0", 8);
}

int main(void)
{
	test_ipv4();
	test_ipv6();
	test_invalid();
	test_zero_fill();
	return check_finish();
}
