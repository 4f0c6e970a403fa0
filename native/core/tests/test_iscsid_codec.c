/*
 * iscsid request/response codec: field placement per open-iscsi layout,
 * defaults, value spellings, refusals (offending key reported, never the
 * value), response decoding and error mapping.
 *
 * Expected offsets are the x86_64 pahole facts (node_rec_offsets.md in the
 * team reference) plus 16 for the request header; the 16104-byte case was
 * also observed on the wire from Debian's iscsiadm 2.1.8: name @32,
 * conn[0].address @2252, port @3280, iface.name @3360, transport @14534,
 * disc_type 4 @15064.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "isc/errors.h"
#include "isc/iscsid.h"

static uint8_t buf[ISC_ISCSID_MAX_REQUEST + 64];

static int32_t i32_at(size_t off)
{
	int32_t v;
	memcpy(&v, buf + off, 4);
	return v;
}

static const char *str_at(size_t off)
{
	return (const char *)buf + off;
}

static int build(size_t size, const char *const *kv, size_t pairs, char *bad, size_t badlen)
{
	const char *keys[64], *values[64];
	for (size_t i = 0; i < pairs; i++) {
		keys[i] = kv[2 * i];
		values[i] = kv[2 * i + 1];
	}
	return isc_iscsid_build_login(isc_iscsid_layout_for_size(size), keys, values, pairs, buf, sizeof(buf), bad,
				      badlen);
}

static const char *const minimal[] = {
	"node.name", "iqn.2026-11.test:t1",
	"node.conn[0].address", "10.0.2.2",
};

static void test_layout_table(void)
{
	static const size_t sizes[] = { 16080, 16088, 16104, 16112, 16128 };
	for (size_t i = 0; i < 5; i++) {
		const struct isc_rec_layout *l = isc_iscsid_layout_at(i);
		CHECK(l != NULL);
		CHECK_EQ_INT(isc_iscsid_layout_request_size(l), sizes[i]);
		CHECK(isc_iscsid_layout_for_size(sizes[i]) == l);
	}
	CHECK(isc_iscsid_layout_at(5) == NULL);
	CHECK(isc_iscsid_layout_for_size(16096) == NULL);
	CHECK(isc_iscsid_layout_for_size(0) == NULL);
	CHECK_EQ_STR(isc_iscsid_layout_versions(isc_iscsid_layout_for_size(16104)), "2.1.1 - 2.1.10");
}

static void test_debian12_layout_matches_wire_capture(void)
{
	char bad[64];
	const char *kv[] = {
		"node.name", "iqn.2024-01.test:tgt1",
		"node.conn[0].address", "127.0.0.1",
		"node.conn[0].port", "3260",
		"node.discovery_type", "static",
	};
	CHECK_EQ_INT(build(16104, kv, 4, bad, sizeof(bad)), 16104);
	CHECK_EQ_INT(i32_at(0), 1);     /* MGMT_IPC_SESSION_LOGIN */
	CHECK_EQ_INT(i32_at(4), 0);     /* payload_len */
	CHECK_EQ_STR(str_at(32), "iqn.2024-01.test:tgt1");
	CHECK_EQ_STR(str_at(16 + 2236), "127.0.0.1");
	CHECK_EQ_INT(i32_at(16 + 3264), 3260);
	CHECK_EQ_STR(str_at(16 + 3344), "default");
	CHECK_EQ_STR(str_at(16 + 14518), "tcp");
	CHECK_EQ_INT(i32_at(16 + 15048), 4);  /* DISCOVERY_TYPE_STATIC */
	/* idbm_node_setup_defaults(): */
	CHECK_EQ_INT(i32_at(16 + 272), -1);   /* tpgt unknown */
	CHECK_EQ_INT(i32_at(16 + 300), 128);  /* cmds_max */
	CHECK_EQ_INT(i32_at(16 + 304), 32);   /* queue_depth */
	CHECK_EQ_INT(i32_at(16 + 308), 4);    /* initial_login_retry_max */
	CHECK_EQ_INT(i32_at(16 + 316), 1);    /* scan = auto */
	CHECK_EQ_INT(i32_at(16 + 1356), 5);   /* chap_algs = { MD5, ~0, ... } */
	CHECK_EQ_INT(i32_at(16 + 1360), -1);
	CHECK_EQ_INT(i32_at(16 + 1372), -1);
	CHECK_EQ_INT(i32_at(16 + 1376), 120); /* replacement_timeout */
	CHECK_EQ_INT(i32_at(16 + 1412), 1);   /* ImmediateData */
	CHECK_EQ_INT(i32_at(16 + 1416), 262144);
	CHECK_EQ_INT(i32_at(16 + 1420), 16776192);
	CHECK_EQ_INT(i32_at(16 + 3276), 30);  /* login_timeout */
	CHECK_EQ_INT(i32_at(16 + 3284), 45);  /* auth_timeout */
	CHECK_EQ_INT(i32_at(16 + 3300), 262144);
	CHECK_EQ_INT(i32_at(16 + 836), 0);    /* no CHAP: password_length 0 */
}

static void test_chap_and_values(void)
{
	char bad[64];
	const char *kv[] = {
		"node.name", "iqn.2026-11.test:t1",
		"node.conn[0].address", "10.0.2.2",
		"node.conn[0].port", "3261",
		"node.tpgt", "1",
		"node.session.auth.authmethod", "CHAP",
		"node.session.auth.username", "muser",
		"node.session.auth.password", "msecret-12345",
		"node.session.auth.username_in", "tuser",
		"node.session.auth.password_in", "tsecret-1234567",
		"node.session.auth.chap_algs", "SHA256,MD5",
		"node.conn[0].iscsi.HeaderDigest", "CRC32C,None",
		"node.conn[0].iscsi.DataDigest", "None,CRC32C",
		"node.session.iscsi.InitialR2T", "Yes",
		"node.session.scan", "manual",
		"node.startup", "automatic",
		"node.conn[0].startup", "onboot",
		"node.conn[0].timeo.login_timeout", "15",
		"iface.initiatorname", "iqn.2026-11.test:init",
		"node.session.auth.password_length", "99",  /* ignored: derived */
		"iface.vlan_id", "0",                       /* offload-only: ignored */
	};
	CHECK_EQ_INT(build(16112, kv, 20, bad, sizeof(bad)), 16112);
	/* 2.1.11: conn[] and iface shift by 8 */
	CHECK_EQ_STR(str_at(16 + 2244), "10.0.2.2");
	CHECK_EQ_INT(i32_at(16 + 3272), 3261);
	CHECK_EQ_INT(i32_at(16 + 272), 1);
	CHECK_EQ_INT(i32_at(16 + 320), 1);
	CHECK_EQ_STR(str_at(16 + 324), "muser");
	CHECK_EQ_STR(str_at(16 + 580), "msecret-12345");
	CHECK_EQ_INT(i32_at(16 + 836), 13);
	CHECK_EQ_STR(str_at(16 + 840), "tuser");
	CHECK_EQ_STR(str_at(16 + 1096), "tsecret-1234567");
	CHECK_EQ_INT(i32_at(16 + 1352), 15);
	CHECK_EQ_INT(i32_at(16 + 1356), 7);
	CHECK_EQ_INT(i32_at(16 + 1360), 5);
	CHECK_EQ_INT(i32_at(16 + 1364), -1);
	CHECK_EQ_INT(i32_at(16 + 3316), 2);   /* HeaderDigest CRC32C,None */
	CHECK_EQ_INT(i32_at(16 + 3320), 3);
	CHECK_EQ_INT(i32_at(16 + 1408), 1);
	CHECK_EQ_INT(i32_at(16 + 316), 0);
	CHECK_EQ_INT(i32_at(16 + 276), 1);
	CHECK_EQ_INT(i32_at(16 + 2240), 2);
	CHECK_EQ_INT(i32_at(16 + 3284), 15);
	CHECK_EQ_STR(str_at(16 + 14798), "iqn.2026-11.test:init");
	CHECK_EQ_STR(str_at(16 + 14526), "tcp");
}

static void test_newest_layout(void)
{
	char bad[64];
	const char *kv[] = { "node.name", "iqn.x:y", "node.conn[0].address", "fd00::1",
			     "node.discovery_type", "send_targets", "node.conn[0].timeo.login_timeout", "7" };
	CHECK_EQ_INT(build(16128, kv, 4, bad, sizeof(bad)), 16128);
	CHECK_EQ_STR(str_at(16 + 2244), "fd00::1");
	CHECK_EQ_INT(i32_at(16 + 3300), 7);
	CHECK_EQ_STR(str_at(16 + 14542), "tcp");
	CHECK_EQ_INT(i32_at(16 + 15072), 0);
	const char *kv2[] = { "node.name", "iqn.x:y", "node.conn[0].address", "fd00::1", "node.discovery_type", "static" };
	CHECK_EQ_INT(build(16128, kv2, 3, bad, sizeof(bad)), 16128);
	CHECK_EQ_INT(i32_at(16 + 15072), 3);  /* no SLP member any more */
}

static void test_old_layouts(void)
{
	char bad[64];
	/* 2.0.874: no scan, no chap_algs fields */
	CHECK_EQ_INT(build(16080, minimal, 2, bad, sizeof(bad)), 16080);
	CHECK_EQ_STR(str_at(16 + 2212), "10.0.2.2");
	const char *scan_manual[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "node.session.scan", "manual" };
	CHECK_EQ_INT(build(16080, scan_manual, 3, bad, sizeof(bad)), ISC_ERR_UNSUPPORTED);
	CHECK_EQ_STR(bad, "node.session.scan");
	const char *sha_only[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "node.session.auth.chap_algs", "SHA256" };
	CHECK_EQ_INT(build(16088, sha_only, 3, bad, sizeof(bad)), ISC_ERR_UNSUPPORTED);
	/* 16088 = 2.0.875/876 or 2.0.877-2.1.0: "tcp" written where both look */
	CHECK_EQ_INT(build(16088, minimal, 2, bad, sizeof(bad)), 16088);
	CHECK_EQ_STR(str_at(16 + 14502), "tcp");
	CHECK_EQ_STR(str_at(16 + 14498), "tcp");     /* where 2.0.875/876 read transport_name */
	CHECK_EQ_INT(buf[16 + 14484], 0);            /* 2.0.877 hwaddress stays empty */
	const char *iname[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "iface.initiatorname", "iqn.a:b" };
	CHECK_EQ_INT(build(16088, iname, 3, bad, sizeof(bad)), ISC_ERR_UNSUPPORTED);
	CHECK_EQ_STR(bad, "iface.initiatorname");
	const char *iser[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "iface.transport_name", "iser" };
	CHECK_EQ_INT(build(16088, iser, 3, bad, sizeof(bad)), ISC_ERR_UNSUPPORTED);
	CHECK_EQ_INT(build(16104, iser, 3, bad, sizeof(bad)), 16104);
}

static void test_refusals(void)
{
	char bad[64];
	struct { const char *k, *v; int rc; } cases[] = {
		{ "node.unknown", "1", ISC_ERR_INVAL },
		{ "node.conn[0].port", "0", ISC_ERR_INVAL },
		{ "node.conn[0].port", "65536", ISC_ERR_INVAL },
		{ "node.conn[0].port", "32x", ISC_ERR_INVAL },
		{ "node.conn[0].port", "", ISC_ERR_INVAL },
		{ "node.conn[0].port", "99999999999999999999", ISC_ERR_INVAL },
		{ "node.startup", "sometimes", ISC_ERR_INVAL },
		{ "node.session.auth.chap_algs", "MD5,MD5", ISC_ERR_INVAL },
		{ "node.session.auth.chap_algs", "MD4", ISC_ERR_INVAL },
		{ "node.session.auth.chap_algs", "", ISC_ERR_INVAL },
		{ "node.session.auth.chap_algs", "MD5,SHA1,SHA256,SHA3-256,MD5", ISC_ERR_INVAL },
		{ "node.conn[0].iscsi.HeaderDigest", "crc32c", ISC_ERR_INVAL },
		{ "iface.transport_name", "bnx2i", ISC_ERR_UNSUPPORTED },
		{ "node.discovery_type", "slp-ish", ISC_ERR_INVAL },
		{ "node.session.auth.password", "0123456789012345678901234567890123456789012345678901234567890123"
						"0123456789012345678901234567890123456789012345678901234567890123"
						"0123456789012345678901234567890123456789012345678901234567890123"
						"0123456789012345678901234567890123456789012345678901234567890123", ISC_ERR_TOO_LARGE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", cases[i].k, cases[i].v };
		int rc = build(16104, kv, 3, bad, sizeof(bad));
		if (rc != cases[i].rc)
			fprintf(stderr, "case %zu (%s=%s)\n", i, cases[i].k, cases[i].v);
		CHECK_EQ_INT(rc, cases[i].rc);
		CHECK_EQ_STR(bad, cases[i].k);  /* the key, never the value */
		/* A refused request leaves nothing (secrets) behind. */
		int clean = 1;
		for (size_t b = 0; b < 16104; b++)
			clean &= buf[b] == 0;
		CHECK(clean);
	}
	/* name and address are required */
	const char *no_addr[] = { "node.name", "iqn.x:y" };
	CHECK_EQ_INT(build(16104, no_addr, 1, bad, sizeof(bad)), ISC_ERR_INVAL);
	CHECK_EQ_STR(bad, "node.conn[0].address");
	const char *empty_name[] = { "node.name", "<empty>", "node.conn[0].address", "1.2.3.4" };
	CHECK_EQ_INT(build(16104, empty_name, 2, bad, sizeof(bad)), ISC_ERR_INVAL);
	CHECK_EQ_STR(bad, "node.name");
	/* "<empty>" clears a string */
	const char *clear[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "node.session.auth.username", "<empty>" };
	CHECK_EQ_INT(build(16104, clear, 3, bad, sizeof(bad)), 16104);
	CHECK_EQ_STR(str_at(16 + 324), "");
	CHECK_EQ_INT(isc_iscsid_build_login(NULL, NULL, NULL, 0, buf, sizeof(buf), bad, sizeof(bad)), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_iscsid_build_login(isc_iscsid_layout_at(0), NULL, NULL, 0, buf, 100, bad, sizeof(bad)), ISC_ERR_TOO_LARGE);
	/* a tiny bad_key buffer is truncated safely */
	char tiny[5];
	const char *unk[] = { "node.name", "iqn.x:y", "node.conn[0].address", "1.2.3.4", "node.definitely.unknown", "1" };
	CHECK_EQ_INT(build(16104, unk, 3, tiny, sizeof(tiny)), ISC_ERR_INVAL);
	CHECK_EQ_STR(tiny, "node");
}

static void test_simple_and_response(void)
{
	CHECK_EQ_INT(isc_iscsid_build_simple(ISC_IPC_SESSION_LOGOUT, 7, buf, 16104), 16104);
	CHECK_EQ_INT(i32_at(0), 2);
	CHECK_EQ_INT(i32_at(8), 7);
	CHECK_EQ_INT(buf[16103], 0);
	CHECK_EQ_INT(isc_iscsid_build_simple(ISC_IPC_SESSION_LOGIN, 0, buf, 16104), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_iscsid_build_simple(11, 0, buf, 16104), ISC_ERR_INVAL);  /* IMMEDIATE_STOP */
	CHECK_EQ_INT(isc_iscsid_build_simple(8, 0, buf, 8), ISC_ERR_INVAL);

	uint8_t rsp[ISC_ISCSID_RSP_SIZE];
	memset(rsp, 0, sizeof(rsp));
	int32_t cmd = 8, err = 0;
	memcpy(rsp, &cmd, 4);
	memcpy(rsp + 4, &err, 4);
	memset(rsp + 8, 'a', 300);  /* no NUL within var[255] */
	struct isc_iscsid_response r;
	CHECK_EQ_INT(isc_iscsid_parse_response(rsp, sizeof(rsp), 8, &r), 0);
	CHECK_EQ_INT(strlen(r.text), 255);
	CHECK_EQ_INT(isc_iscsid_parse_response(rsp, sizeof(rsp) - 1, 8, &r), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_iscsid_parse_response(rsp, sizeof(rsp), 13, &r), ISC_ERR_PROTOCOL);
	cmd = 0;
	err = 13;
	memcpy(rsp, &cmd, 4);
	memcpy(rsp + 4, &err, 4);
	CHECK_EQ_INT(isc_iscsid_parse_response(rsp, sizeof(rsp), 1, &r), 0);
	CHECK_EQ_INT(r.iscsid_err, 13);
	cmd = 13;
	err = 0;
	int32_t st[2] = { 0, 3 };
	memcpy(rsp, &cmd, 4);
	memcpy(rsp + 4, &err, 4);
	memcpy(rsp + 8, st, 8);
	CHECK_EQ_INT(isc_iscsid_parse_response(rsp, sizeof(rsp), 13, &r), 0);
	CHECK_EQ_INT(r.conn_state, 3);
}

static void test_errors(void)
{
	CHECK_EQ_INT(isc_iscsid_error(24), ISC_ERR_AUTH_FAILED);
	CHECK_EQ_INT(isc_iscsid_error(15), ISC_ERR_ALREADY_LOGGED_IN);
	CHECK_EQ_INT(isc_iscsid_error(2), ISC_ERR_SESSION_NOT_FOUND);
	CHECK_EQ_INT(isc_iscsid_error(12), ISC_ERR_TRANSPORT_NOT_FOUND);
	CHECK_EQ_INT(isc_iscsid_error(13), ISC_ERR_PERMISSION);
	CHECK_EQ_INT(isc_iscsid_error(5), ISC_ERR_ISCSID);
	CHECK_EQ_INT(isc_iscsid_error(1000), ISC_ERR_ISCSID);
	CHECK_EQ_STR(isc_iscsid_error_name(24), "ISCSI_ERR_LOGIN_AUTH_FAILED");
	CHECK_EQ_STR(isc_iscsid_error_name(33), "ISCSI_ERR_REQ_TIMEDOUT");
	CHECK_EQ_STR(isc_iscsid_error_name(34), "ISCSI_ERR_UNKNOWN");
	CHECK_EQ_STR(isc_iscsid_error_name(-1), "ISCSI_ERR_UNKNOWN");
	CHECK_EQ_STR(isc_err_code(ISC_ERR_ISCSID_UNSUPPORTED), "ISCSID_UNSUPPORTED_VERSION");
}

/* Every key of a record written by Debian's iscsiadm 2.1.8 (captured into
 * test/fixtures/node-db and copied here) is accepted and lands where
 * iscsid reads it. */
static void test_iscsiadm_written_record(const char *file, const char *want_address)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/iscsid/%s", ISC_FIXTURES_DIR, file);
	size_t len = 0;
	unsigned char *text = check_read_file(path, &len);
	CHECK(text != NULL);
	if (!text)
		return;
	text[len] = '\0';
	const char *keys[200], *values[200];
	size_t n = 0;
	char *save = NULL;
	for (char *line = strtok_r((char *)text, "\n", &save); line && n < 200; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		char *eq = strstr(line, " = ");
		if (!eq)
			continue;
		*eq = '\0';
		keys[n] = line;
		values[n] = eq + 3;
		n++;
	}
	CHECK(n > 60);
	char bad[96];
	int rc = isc_iscsid_build_login(isc_iscsid_layout_for_size(16104), keys, values, n, buf, sizeof(buf), bad, sizeof(bad));
	if (rc < 0)
		fprintf(stderr, "%s: refused key %s (%d)\n", file, bad, rc);
	CHECK_EQ_INT(rc, 16104);
	CHECK_EQ_STR(str_at(16 + 2236), want_address);
	free(text);
}

int main(void)
{
	test_iscsiadm_written_record("newstyle-chap.rec", "192.0.2.10");
	test_iscsiadm_written_record("ipv6.rec", "fd00::10");
	test_layout_table();
	test_debian12_layout_matches_wire_capture();
	test_chap_and_values();
	test_newest_layout();
	test_old_layouts();
	test_refusals();
	test_simple_and_response();
	test_errors();
	return check_finish();
}
