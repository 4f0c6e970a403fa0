/* Unit tests for src/sendtargets.c: TargetAddress parsing, iSCSI name
 * validation and whole SendTargets responses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"
#include "isc/iscsi.h"
#include "sendtargets.h"
#include "text.h"

#ifndef ISC_FIXTURES_DIR
#define ISC_FIXTURES_DIR "native/core/tests/fixtures"
#endif

/* A kv list over caller-owned strings (no storage): pairs of key, value. */
static struct isc_kv_list kv_from(struct isc_kv *items, const char *const *pairs, size_t npairs)
{
	struct isc_kv_list l;
	for (size_t i = 0; i < npairs; i++) {
		items[i].key = pairs[2 * i];
		items[i].value = pairs[2 * i + 1];
		items[i].value_len = strlen(pairs[2 * i + 1]);
	}
	l.items = items;
	l.count = npairs;
	l.cap = npairs;
	l.storage = NULL;
	return l;
}

static void expect_addr(const char *v, const char *addr, unsigned port, int has_tpgt,
			unsigned tpgt)
{
	struct isc_portal p;
	int rc = isc_target_address_parse(v, &p);
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  rejected: %s\n", v);
		return;
	}
	CHECK_EQ_STR(p.address, addr);
	CHECK_EQ_INT(p.port, port);
	CHECK_EQ_INT(p.has_tpgt, has_tpgt);
	CHECK_EQ_INT(p.tpgt, tpgt);
	CHECK_EQ_INT(p.defaulted, 0);
}

static void test_target_address(void)
{
	expect_addr("10.0.0.1:3260,1", "10.0.0.1", 3260, 1, 1);
	expect_addr("10.0.0.1,1", "10.0.0.1", 3260, 1, 1);
	expect_addr("10.0.0.1", "10.0.0.1", 3260, 0, 0);
	expect_addr("10.0.0.1:3261", "10.0.0.1", 3261, 0, 0);
	expect_addr("[fe80::1]:3260,2", "fe80::1", 3260, 1, 2);
	expect_addr("[2001:db8::1],1", "2001:db8::1", 3260, 1, 1);
	expect_addr("[2001:db8::1]", "2001:db8::1", 3260, 0, 0);
	expect_addr("[fe80::1%eth0]:860,7", "fe80::1%eth0", 860, 1, 7);
	expect_addr("host.example:3261,1", "host.example", 3261, 1, 1);
	expect_addr("host-name,1", "host-name", 3260, 1, 1);
	expect_addr("san_01.example.com:65535,65535", "san_01.example.com", 65535, 1, 65535);
	expect_addr("127.0.0.1:13290,1", "127.0.0.1", 13290, 1, 1);
	expect_addr("10.0.0.1:3260,0", "10.0.0.1", 3260, 1, 0);
	expect_addr("fe80::1,3", "fe80::1", 3260, 1, 3); /* bare IPv6, no port */

	char longhost[300];
	memset(longhost, 'a', 255);
	strcpy(longhost + 255, ":3260,1");
	longhost[100] = '.';
	struct isc_portal p;
	CHECK_EQ_INT(isc_target_address_parse(longhost, &p), 0);
	CHECK_EQ_INT(strlen(p.address), 255);

	static const char *const bad[] = {
		"",
		",1",
		":3260,1",
		"10.0.0.1:,1",
		"10.0.0.1:0,1",
		"10.0.0.1:65536,1",
		"10.0.0.1:99999,1",
		"10.0.0.1:32a0,1",
		"10.0.0.1:-1,1",
		"10.0.0.1:3260,",
		"10.0.0.1:3260,65536",
		"10.0.0.1:3260,100000",
		"10.0.0.1:3260,1x",
		"10.0.0.1:3260,-1",
		"10.0.0.1:3260,1,2",
		"10.0.0.1 ,1",
		" 10.0.0.1,1",
		"10.0.0.1:3260 ,1",
		"10.0.0\x1b.1,1",
		"host\nname,1",
		"host\tname,1",
		"host\x7fname,1",
		"host/name,1",
		"user@host,1",
		"h\xc3\xa9st,1",
		"1.2.3,1",
		"999.1.1.1,1",
		"[fe80::1,1",
		"[fe80::1:3260,1",
		"fe80::1]:3260,1",
		"[fe80::1]]:3260,1",
		"[[fe80::1]:3260,1",
		"[]:3260,1",
		"[fe80::1]3260,1",
		"[fe80::1]:,1",
		"[fe80::1]:0,1",
		"[10.0.0.1]:3260,1",
		"[host.example]:3260,1",
		"[fe80::1%]:3260,1",
		"[fe80::1%e th0]:3260,1",
		"[fe80::gg]:3260,1",
		"a:b:c,1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = isc_target_address_parse(bad[i], &p);
		if (rc != ISC_ERR_PROTOCOL)
			fprintf(stderr, "  accepted bad TargetAddress #%zu\n", i);
		CHECK_EQ_INT(rc, ISC_ERR_PROTOCOL);
	}
	CHECK_EQ_INT(isc_target_address_parse(NULL, &p), ISC_ERR_PROTOCOL);
	/* Address longer than 255 bytes. */
	memset(longhost, 'a', 256);
	strcpy(longhost + 256, ",1");
	CHECK_EQ_INT(isc_target_address_parse(longhost, &p), ISC_ERR_PROTOCOL);
	char huge[2000];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	CHECK_EQ_INT(isc_target_address_parse(huge, &p), ISC_ERR_PROTOCOL);
}

static void test_name_valid(void)
{
	char n[300];
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:scsi"), 1);
	CHECK_EQ_INT(isc_iscsi_name_valid("eui.02004567A425678D"), 1);
	CHECK_EQ_INT(isc_iscsi_name_valid("naa.52004567BA64678D"), 1);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2001-04.com.example:storage.disk2.sys1.xyz"), 1);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.t\xc3\xa9st:\xe2\x82\xac\xf0\x9f\x92\xbe"), 1);
	CHECK_EQ_INT(isc_iscsi_name_valid(NULL), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid(""), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn."), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("foo.2026-11.test"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("IQN.2026-11.test"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:a\x1b[31m"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:a\nb"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:a b"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:a\x7f"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xff"), 0);       /* invalid byte */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xc3"), 0);       /* truncated */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xc0\xaf"), 0);   /* overlong '/' */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xe0\x80\xaf"), 0);
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xed\xa0\x80"), 0); /* surrogate */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xf4\x90\x80\x80"), 0); /* > U+10FFFF */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\x80"), 0);       /* lone continuation */
	CHECK_EQ_INT(isc_iscsi_name_valid("iqn.2026-11.test:\xc2\x9b" "2J"), 0); /* C1 CSI */
	/* 223 bytes ok, 224 not (RFC 7143 section 4.2.7.1). */
	memset(n, 'x', sizeof(n));
	memcpy(n, "iqn.2026-11.test:", 17);
	n[223] = '\0';
	CHECK_EQ_INT(isc_iscsi_name_valid(n), 1);
	n[223] = 'x';
	n[224] = '\0';
	CHECK_EQ_INT(isc_iscsi_name_valid(n), 0);
}

static void test_tgtd_fixture(void)
{
	char path[512];
	size_t len = 0;
	struct isc_kv_list kv;
	struct isc_discovery *d = NULL;
	char err[128];
	snprintf(path, sizeof(path), "%s/sendtargets/tgt_single.bin", ISC_FIXTURES_DIR);
	uint8_t *b = check_read_file(path, &len);
	CHECK(b != NULL);
	if (!b)
		return;
	isc_kv_list_init(&kv);
	CHECK_EQ_INT(isc_text_parse(b, len, &kv), 0);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1:13290", 0, &d, err, sizeof(err)), 0);
	CHECK(d != NULL);
	if (d) {
		/* iscsi-ls: Target:iqn.2026-11.test:scsi Portal:127.0.0.1:13290,1 */
		CHECK_EQ_INT(d->target_count, 1);
		CHECK_EQ_INT(d->rejected_count, 0);
		CHECK_EQ_STR(d->targets[0].name, "iqn.2026-11.test:scsi");
		CHECK_EQ_INT(d->targets[0].portal_count, 1);
		CHECK_EQ_STR(d->targets[0].portals[0].address, "127.0.0.1");
		CHECK_EQ_INT(d->targets[0].portals[0].port, 13290);
		CHECK_EQ_INT(d->targets[0].portals[0].tpgt, 1);
		CHECK_EQ_INT(d->targets[0].portals[0].has_tpgt, 1);
		CHECK_EQ_INT(d->targets[0].portals[0].defaulted, 0);
	}
	isc_discovery_free(d);
	isc_kv_list_free(&kv);
	free(b);
}

/* 600 targets with two portals each, through the real text codec. */
static void test_many_targets(void)
{
	size_t cap = 600 * 200, len = 0;
	char *buf = malloc(cap);
	struct isc_kv_list kv;
	struct isc_discovery *d = NULL;
	char err[128];
	CHECK(buf != NULL);
	if (!buf)
		return;
	for (int i = 0; i < 600; i++) {
		len += (size_t)snprintf(buf + len, cap - len, "TargetName=iqn.2026-11.test:t%03d", i) + 1;
		len += (size_t)snprintf(buf + len, cap - len, "TargetAlias=alias %d", i) + 1;
		len += (size_t)snprintf(buf + len, cap - len, "TargetAddress=10.0.%d.%d:3260,1",
					i / 256, i % 256) + 1;
		len += (size_t)snprintf(buf + len, cap - len,
					"TargetAddress=[2001:db8::%x]:3261,2", i) + 1;
	}
	isc_kv_list_init(&kv);
	CHECK_EQ_INT(isc_text_parse((const uint8_t *)buf, len, &kv), 0);
	CHECK_EQ_INT(kv.count, 2400);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "10.9.9.9", 3260, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_EQ_INT(d->target_count, 600);
		CHECK_EQ_INT(d->rejected_count, 0);
		CHECK_EQ_STR(d->targets[0].name, "iqn.2026-11.test:t000");
		CHECK_EQ_STR(d->targets[599].name, "iqn.2026-11.test:t599");
		CHECK_EQ_INT(d->targets[599].portal_count, 2);
		CHECK_EQ_STR(d->targets[599].portals[0].address, "10.0.2.87");
		CHECK_EQ_INT(d->targets[599].portals[0].tpgt, 1);
		CHECK_EQ_STR(d->targets[599].portals[1].address, "2001:db8::257");
		CHECK_EQ_INT(d->targets[599].portals[1].port, 3261);
		CHECK_EQ_INT(d->targets[599].portals[1].tpgt, 2);
		size_t total = 0;
		for (size_t i = 0; i < d->target_count; i++)
			total += d->targets[i].portal_count;
		CHECK_EQ_INT(total, 1200);
	}
	isc_discovery_free(d);
	isc_kv_list_free(&kv);
	free(buf);
}

static void test_defaulted_and_mixed(void)
{
	struct isc_kv items[16];
	struct isc_discovery *d = NULL;
	char err[128];
	static const char *const pairs[] = {
		"TargetName", "iqn.2026-11.test:noaddr",
		"TargetName", "iqn.2026-11.test:host",
		"TargetAddress", "san.example.com:3261,5",
		"TargetAddress", "[fe80::1%lo],6",
		"X-com.example.vendor", "ignored",
		"TargetName", "iqn.2026-11.test:host", /* duplicate: kept separately */
		"TargetAddress", "10.1.1.1",
		"TargetName", "iqn.2026-11.test:last-noaddr",
	};
	struct isc_kv_list kv = kv_from(items, pairs, 8);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "[::1]:3262", 0, &d, err, sizeof(err)), 0);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ_INT(d->target_count, 4);
	CHECK_EQ_INT(d->rejected_count, 0);
	/* No TargetAddress: the asked portal, defaulted, no tpgt. */
	CHECK_EQ_STR(d->targets[0].name, "iqn.2026-11.test:noaddr");
	CHECK_EQ_INT(d->targets[0].portal_count, 1);
	CHECK_EQ_STR(d->targets[0].portals[0].address, "::1");
	CHECK_EQ_INT(d->targets[0].portals[0].port, 3262);
	CHECK_EQ_INT(d->targets[0].portals[0].defaulted, 1);
	CHECK_EQ_INT(d->targets[0].portals[0].has_tpgt, 0);
	CHECK_EQ_INT(d->targets[0].portals[0].tpgt, 0);
	CHECK_EQ_INT(d->targets[1].portal_count, 2);
	CHECK_EQ_STR(d->targets[1].portals[0].address, "san.example.com");
	CHECK_EQ_INT(d->targets[1].portals[0].port, 3261);
	CHECK_EQ_INT(d->targets[1].portals[0].tpgt, 5);
	CHECK_EQ_STR(d->targets[1].portals[1].address, "fe80::1%lo");
	CHECK_EQ_INT(d->targets[1].portals[1].port, 3260);
	CHECK_EQ_INT(d->targets[1].portals[1].defaulted, 0);
	CHECK_EQ_STR(d->targets[2].name, "iqn.2026-11.test:host");
	CHECK_EQ_INT(d->targets[2].portal_count, 1);
	CHECK_EQ_STR(d->targets[2].portals[0].address, "10.1.1.1");
	CHECK_EQ_INT(d->targets[2].portals[0].has_tpgt, 0);
	CHECK_EQ_INT(d->targets[3].portal_count, 1);
	CHECK_EQ_INT(d->targets[3].portals[0].defaulted, 1);
	isc_discovery_free(d);

	/* Default portal forms: bare address + default_port, and port 0 = 3260. */
	static const char *const one[] = { "TargetName", "iqn.2026-11.test:a" };
	kv = kv_from(items, one, 1);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "192.0.2.7", 3999, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_EQ_STR(d->targets[0].portals[0].address, "192.0.2.7");
		CHECK_EQ_INT(d->targets[0].portals[0].port, 3999);
		isc_discovery_free(d);
	}
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "192.0.2.7", 0, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_EQ_INT(d->targets[0].portals[0].port, 3260);
		isc_discovery_free(d);
	}
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "192.0.2.7:3000", 3999, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_EQ_INT(d->targets[0].portals[0].port, 3000);
		isc_discovery_free(d);
	}
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "bad portal", 0, &d, err, sizeof(err)),
		     ISC_ERR_INVAL);
	CHECK(d == NULL);

	/* Empty response: no targets. */
	kv = kv_from(items, one, 0);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_EQ_INT(d->target_count, 0);
		isc_discovery_free(d);
	}
	CHECK_EQ_INT(isc_sendtargets_parse(NULL, "127.0.0.1", 3260, &d, err, sizeof(err)),
		     ISC_ERR_INVAL);
	isc_discovery_free(NULL);
}

static void test_hostile_names(void)
{
	struct isc_kv items[32];
	struct isc_discovery *d = NULL;
	char err[128];
	char long224[260];
	memset(long224, 'x', sizeof(long224));
	memcpy(long224, "iqn.2026-11.test:", 17);
	long224[224] = '\0';
	const char *const pairs[] = {
		"TargetName", "iqn.2026-11.test:good1",
		"TargetAddress", "10.0.0.1:3260,1",
		"TargetName", "iqn.2026-11.test:esc\x1b]0;pwned\x07",
		"TargetAddress", "10.0.0.2:3260,1",
		"TargetAddress", "this one is skipped, not parsed",
		"TargetName", "iqn.2026-11.test:new\nline",
		"TargetName", "iqn.2026-11.test:with space",
		"TargetName", "iqn.2026-11.test:del\x7f",
		"TargetName", "iqn.2026-11.test:bad\xc3\x28utf8",
		"TargetName", long224,
		"TargetAddress", "10.0.0.3,1",
		"TargetName", "notaniqn",
		"TargetName", "iqn.2026-11.test:good2",
		"TargetAddress", "10.0.0.4,1",
	};
	struct isc_kv_list kv = kv_from(items, pairs, sizeof(pairs) / sizeof(pairs[0]) / 2);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)), 0);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_EQ_INT(d->rejected_count, 7);
	CHECK_EQ_INT(d->target_count, 2);
	CHECK_EQ_STR(d->targets[0].name, "iqn.2026-11.test:good1");
	CHECK_EQ_INT(d->targets[0].portal_count, 1);
	CHECK_EQ_STR(d->targets[0].portals[0].address, "10.0.0.1");
	/* The rejected target's addresses did not leak into good1 or good2. */
	CHECK_EQ_STR(d->targets[1].name, "iqn.2026-11.test:good2");
	CHECK_EQ_INT(d->targets[1].portal_count, 1);
	CHECK_EQ_STR(d->targets[1].portals[0].address, "10.0.0.4");
	isc_discovery_free(d);
}

static void test_protocol_errors(void)
{
	struct isc_kv items[8];
	struct isc_discovery *d = (struct isc_discovery *)&items; /* must be reset to NULL */
	char err[128];

	static const char *const early[] = {
		"TargetAddress", "10.0.0.1:3260,1",
		"TargetName", "iqn.2026-11.test:a",
	};
	struct isc_kv_list kv = kv_from(items, early, 2);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)),
		     ISC_ERR_PROTOCOL);
	CHECK(d == NULL);
	CHECK_EQ_STR(err, "TargetAddress before any TargetName");

	/* A bad port in an accepted target's address fails the whole parse;
	 * the message names the (validated) target. */
	static const char *const bad_port[] = {
		"TargetName", "iqn.2026-11.test:a",
		"TargetAddress", "10.0.0.1:3260,1",
		"TargetName", "iqn.2026-11.test:b",
		"TargetAddress", "10.0.0.1:65536,1",
	};
	kv = kv_from(items, bad_port, 4);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)),
		     ISC_ERR_PROTOCOL);
	CHECK(d == NULL);
	CHECK_EQ_STR(err, "malformed TargetAddress for target iqn.2026-11.test:b");

	static const char *const hostile_addr[] = {
		"TargetName", "iqn.2026-11.test:c",
		"TargetAddress", "10.0.0.1\x1b[2J,1",
	};
	kv = kv_from(items, hostile_addr, 2);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, err, sizeof(err)),
		     ISC_ERR_PROTOCOL);
	CHECK(strchr(err, 0x1b) == NULL); /* the hostile value is not echoed */
	CHECK_EQ_STR(err, "malformed TargetAddress for target iqn.2026-11.test:c");

	static const char *const unbalanced[] = {
		"TargetName", "iqn.2026-11.test:d",
		"TargetAddress", "[fe80::1:3260,1",
	};
	kv = kv_from(items, unbalanced, 2);
	CHECK_EQ_INT(isc_sendtargets_parse(&kv, "127.0.0.1", 3260, &d, NULL, 0), ISC_ERR_PROTOCOL);
	CHECK(d == NULL);
}

int main(void)
{
	test_target_address();
	test_name_valid();
	test_tgtd_fixture();
	test_many_targets();
	test_defaulted_and_mixed();
	test_hostile_names();
	test_protocol_errors();
	return check_finish();
}
