/*
 * iBFT parser tests: golden tables (built by ibft_builder.h, stored under
 * fixtures/ibft/ with their expected text dumps), the reconstructed iPXE
 * table with its known length and checksum, must-fail tables asserting the
 * typed error and the named field, and exhaustive truncation / byte-flip
 * sweeps under the sanitizers.
 *
 * ISC_IBFT_REGEN=1 rewrites the fixture files from the builder (review the
 * git diff afterwards); normally the test asserts the stored bytes equal
 * what the builder makes, then parses the stored bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ibft_builder.h"
#include "isc/errors.h"
#include "isc/ibft.h"

#ifndef ISC_FIXTURES_DIR
#define ISC_FIXTURES_DIR "native/core/tests/fixtures"
#endif

static int regen;

/* ---- text dump: one "path=value" line per field (libnvme nbft-dump style) */

static void dump_ip(FILE *f, const char *path, const struct isc_ibft_ip *ip)
{
	if (ip->present)
		fprintf(f, "%s=%s\n", path, ip->text);
}

static void dump_str(FILE *f, const char *path, const char *s)
{
	if (s)
		fprintf(f, "%s=%s\n", path, s);
}

static void dump(FILE *f, const struct isc_ibft *t)
{
	fprintf(f, "signature=%s\nlength=%u\nrevision=%u\nchecksum=0x%02x\noem_id=%s\noem_table_id=%s\n",
		t->signature, (unsigned)t->length, (unsigned)t->revision, (unsigned)t->checksum,
		t->oem_id, t->oem_table_id);
	fprintf(f, "oem_revision=%u\nasl_compiler_id=0x%x\nasl_compiler_revision=%u\n",
		(unsigned)t->oem_revision, (unsigned)t->asl_compiler_id,
		(unsigned)t->asl_compiler_revision);
	fprintf(f, "control.length=%u\ncontrol.flags=%u\ncontrol.extensions_offset=0x%x\n",
		(unsigned)t->control_length, (unsigned)t->control_flags,
		(unsigned)t->extensions_offset);
	for (size_t i = 0; i < t->pair_count; i++)
		fprintf(f, "control.pair%zu=0x%x,0x%x\n", i, (unsigned)t->pairs[i].nic_offset,
			(unsigned)t->pairs[i].target_offset);
	if (t->initiator.present) {
		const struct isc_ibft_initiator *n = &t->initiator;
		fprintf(f, "initiator.offset=0x%x\ninitiator.index=%u\ninitiator.flags=%u\n",
			(unsigned)n->offset, (unsigned)n->index, (unsigned)n->flags);
		dump_ip(f, "initiator.isns_server", &n->isns_server);
		dump_ip(f, "initiator.slp_server", &n->slp_server);
		dump_ip(f, "initiator.pri_radius_server", &n->pri_radius_server);
		dump_ip(f, "initiator.sec_radius_server", &n->sec_radius_server);
		dump_str(f, "initiator.name", n->name);
	}
	for (size_t i = 0; i < t->nic_count; i++) {
		const struct isc_ibft_nic *n = &t->nics[i];
		char p[64];
		fprintf(f, "nic%zu.offset=0x%x\nnic%zu.index=%u\nnic%zu.flags=%u\n", i,
			(unsigned)n->offset, i, (unsigned)n->index, i, (unsigned)n->flags);
#define P(x) (snprintf(p, sizeof(p), "nic%zu.%s", i, x), p)
		dump_ip(f, P("ip"), &n->ip);
		fprintf(f, "nic%zu.prefix_len=%u\n", i, (unsigned)n->prefix_len);
		if (n->subnet_mask[0])
			fprintf(f, "nic%zu.subnet_mask=%s\n", i, n->subnet_mask);
		fprintf(f, "nic%zu.origin=%u\n", i, (unsigned)n->origin);
		dump_ip(f, P("gateway"), &n->gateway);
		dump_ip(f, P("primary_dns"), &n->primary_dns);
		dump_ip(f, P("secondary_dns"), &n->secondary_dns);
		dump_ip(f, P("dhcp_server"), &n->dhcp_server);
		fprintf(f, "nic%zu.vlan=%u\nnic%zu.mac=%s\nnic%zu.pci_bdf=0x%04x\n", i,
			(unsigned)n->vlan, i, n->mac_text, i, (unsigned)n->pci_bdf);
		dump_str(f, P("hostname"), n->hostname);
#undef P
	}
	for (size_t i = 0; i < t->target_count; i++) {
		const struct isc_ibft_target *g = &t->targets[i];
		char p[64];
		fprintf(f, "target%zu.offset=0x%x\ntarget%zu.index=%u\ntarget%zu.flags=%u\n", i,
			(unsigned)g->offset, i, (unsigned)g->index, i, (unsigned)g->flags);
#define P(x) (snprintf(p, sizeof(p), "target%zu.%s", i, x), p)
		dump_ip(f, P("ip"), &g->ip);
		fprintf(f, "target%zu.port=%u\ntarget%zu.lun_raw=", i, (unsigned)g->port, i);
		for (int k = 0; k < 8; k++)
			fprintf(f, "%02x", g->lun_raw[k]);
		fprintf(f, "\ntarget%zu.lun=%lld\ntarget%zu.lun_sysfs=%s\n", i, (long long)g->lun, i,
			g->lun_sysfs);
		fprintf(f, "target%zu.chap_type=%u\ntarget%zu.nic_assoc=%u\ntarget%zu.nic=%zu\n", i,
			(unsigned)g->chap_type, i, (unsigned)g->nic_assoc, i, g->nic);
		dump_str(f, P("target_name"), g->target_name);
		dump_str(f, P("chap_name"), g->chap_name);
		dump_str(f, P("chap_secret"), g->chap_secret);
		dump_str(f, P("rev_chap_name"), g->rev_chap_name);
		dump_str(f, P("rev_chap_secret"), g->rev_chap_secret);
#undef P
	}
}

static char *dump_to_string(const struct isc_ibft *t)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	if (!f)
		return NULL;
	dump(f, t);
	fclose(f);
	return s;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	fclose(f);
}

/* ---- table descriptions ------------------------------------------------- */

/* Every field and flag: mutual + one-way CHAP, RADIUS flags, iSNS/SLP/RADIUS
 * servers, secondary DNS, VLAN, global flag, non-boot second pair, LUN 0x1f
 * in iPXE's big-endian 16-bit groups, control single-login flag. */
static struct ibft_b_spec spec_full(void)
{
	struct ibft_b_spec s = ibft_builder_ipxe_bios();
	s.control_flags = ISC_IBFT_FL_CONTROL_SINGLE_LOGIN;
	s.oem_revision = 7;
	s.isns = "192.0.2.10";
	s.slp = "192.0.2.11";
	s.radius1 = "192.0.2.12";
	s.radius2 = "192.0.2.13";
	s.nics[0].flags = 7;
	s.nics[0].secondary_dns = "10.0.2.4";
	s.nics[0].vlan = 100;
	s.nic_count = 2;
	s.nics[1] = (struct ibft_b_nic){
		.index = 1, .flags = 1, .ip = "192.168.7.20", .prefix_len = 16, .origin = 1,
		.gateway = "192.168.0.1", .mac = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef},
		.pci_bdf = (1 << 8) | (3 << 3) | 1,
	};
	s.targets[0].chap_type = ISC_IBFT_CHAP_MUTUAL;
	s.targets[0].chap_name = "ibftuser";
	s.targets[0].chap_secret = "ibftsecret1234";
	s.targets[0].rev_chap_name = "tgtuser";
	s.targets[0].rev_chap_secret = "tgtsecret56789";
	s.target_count = 2;
	s.targets[1] = (struct ibft_b_target){
		.index = 1, .flags = 1 | 4 | 8, .ip = "192.168.7.1", .port = 3261,
		.lun = {0x00, 0x1f}, .chap_type = ISC_IBFT_CHAP_ONE_WAY, .nic_assoc = 1,
		.name = "iqn.2025-01.test.ibft:target2", .chap_name = "user2", .chap_secret = "secret2secret2",
	};
	return s;
}

/* u-root style: 8-byte alignment, three pairs (control length 22), IPv6
 * NIC and target, "unchanged" origin 15, no hostname, flat-space LUN 300,
 * zero port (consumers default to 3260). */
static struct ibft_b_spec spec_uroot3(void)
{
	struct ibft_b_spec s;
	memset(&s, 0, sizeof(s));
	s.oem_id = "U-ROOT";
	s.oem_table_id = "uroot";
	s.align = 8;
	s.initiator_flags = 1;
	s.initiator_name = "iqn.2025-01.test.ibft:uroot";
	s.nic_count = 3;
	for (int i = 0; i < 3; i++) {
		s.nics[i] = (struct ibft_b_nic){
			.index = (uint8_t)i, .flags = i == 1 ? 7 : 5, .ip = "2001:db8::10", .prefix_len = 64,
			.origin = 15, .gateway = "fe80::1", .primary_dns = "2001:db8::53",
			.mac = {0x02, 0, 0, 0, 0, (uint8_t)(0x10 + i)}, .pci_bdf = (uint16_t)(i << 3),
		};
	}
	s.target_count = 3;
	for (int i = 0; i < 3; i++) {
		s.targets[i] = (struct ibft_b_target){
			.index = (uint8_t)i, .flags = i == 2 ? 3 : 1, .ip = "2001:db8::1", .port = 0,
			.lun = {0x41, 0x2c}, .nic_assoc = (uint8_t)(2 - i),
			.name = i == 0 ? "iqn.2025-01.test.ibft:v6a" : i == 1 ? "iqn.2025-01.test.ibft:v6b" : "iqn.2025-01.test.ibft:v6c",
		};
	}
	return s;
}

/* Broadcom offload signature, minimal: no initiator name, no NIC IP. */
static struct ibft_b_spec spec_bift(void)
{
	struct ibft_b_spec s = ibft_builder_ipxe_bios();
	s.signature = "BIFT";
	s.oem_id = "BRCM";
	s.oem_table_id = "BCM57xx";
	s.initiator_name = NULL;
	s.nics[0].ip = NULL;
	s.nics[0].prefix_len = 0;
	s.nics[0].gateway = s.nics[0].primary_dns = s.nics[0].dhcp_server = NULL;
	s.nics[0].hostname = NULL;
	s.nics[0].origin = 0;
	return s;
}

struct golden {
	const char *name;
	struct ibft_b_spec (*spec)(void);
};

static const struct golden goldens[] = {
	{"ipxe-bios-nochap", ibft_builder_ipxe_bios},
	{"full-mutual-2pairs", spec_full},
	{"uroot-ipv6-3pairs", spec_uroot3},
	{"bift-minimal", spec_bift},
};

static void test_goldens(void)
{
	static uint8_t built[4096];
	char path[512];
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
		struct ibft_b_spec s = goldens[i].spec();
		size_t blen = ibft_build(&s, built, sizeof(built), NULL), flen = 0;
		unsigned char *file;
		struct isc_ibft *t = NULL;
		char err[256];
		int rc;

		snprintf(path, sizeof(path), "%s/ibft/%s.bin", ISC_FIXTURES_DIR, goldens[i].name);
		if (regen)
			write_file(path, built, blen);
		file = check_read_file(path, &flen);
		CHECK(file != NULL);
		if (!file)
			continue;
		CHECK_EQ_INT(flen, blen);
		CHECK(flen == blen && memcmp(file, built, blen) == 0);
		rc = isc_ibft_parse(file, flen, &t, err, sizeof(err));
		CHECK_EQ_INT(rc, 0);
		if (rc) {
			fprintf(stderr, "%s: %s\n", goldens[i].name, err);
		} else {
			char *text = dump_to_string(t);
			unsigned char *want;
			size_t wlen = 0;
			snprintf(path, sizeof(path), "%s/ibft/%s.txt", ISC_FIXTURES_DIR, goldens[i].name);
			if (regen)
				write_file(path, text, strlen(text));
			want = check_read_file(path, &wlen);
			CHECK(want != NULL);
			if (want) {
				want[wlen] = '\0';
				CHECK_EQ_STR(text, (char *)want);
			}
			free(want);
			free(text);
		}
		isc_ibft_free(t);
		free(file);
	}
}

/* The builder reproduces the iPXE table exactly: same length and the same
 * checksum byte as the table captured in the reference lab (ibft.md 1.9). */
static void test_ipxe_reconstruction(void)
{
	static uint8_t b[4096];
	struct ibft_b_spec s = ibft_builder_ipxe_bios();
	struct ibft_b_layout l;
	struct isc_ibft *t = NULL;
	char err[256];
	size_t len = ibft_build(&s, b, sizeof(b), &l);

	CHECK_EQ_INT(len, 0x249);
	CHECK_EQ_INT(b[9], 0x87);
	CHECK_EQ_INT(l.initiator, 0x50);
	CHECK_EQ_INT(l.nic[0], 0xa0);
	CHECK_EQ_INT(l.target[0], 0x180);
	CHECK_EQ_INT(l.heap, 0x200);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	if (!t)
		return;
	CHECK_EQ_STR(t->signature, "iBFT");
	CHECK_EQ_STR(t->oem_id, "FENSYS");
	CHECK_EQ_STR(t->oem_table_id, "iPXE");
	CHECK_EQ_INT(t->pair_count, 2);
	CHECK_EQ_INT(t->pairs[1].nic_offset, 0);
	CHECK_EQ_STR(t->initiator.name, "iqn.2025-01.test.ibft:initiator0");
	CHECK_EQ_INT(t->initiator.flags, 3);
	CHECK(!t->initiator.isns_server.present);
	CHECK_EQ_INT(t->nic_count, 1);
	CHECK_EQ_STR(t->nics[0].ip.text, "10.0.2.15");
	CHECK_EQ_INT(t->nics[0].ip.family, 4);
	CHECK_EQ_INT(t->nics[0].prefix_len, 24);
	CHECK_EQ_STR(t->nics[0].subnet_mask, "255.255.255.0");
	CHECK_EQ_INT(t->nics[0].origin, ISC_IBFT_ORIGIN_DHCP);
	CHECK_EQ_STR(t->nics[0].gateway.text, "10.0.2.2");
	CHECK_EQ_STR(t->nics[0].primary_dns.text, "10.0.2.3");
	CHECK(!t->nics[0].secondary_dns.present);
	CHECK_EQ_STR(t->nics[0].dhcp_server.text, "10.0.2.2");
	CHECK_EQ_STR(t->nics[0].mac_text, "52:54:00:12:34:56");
	CHECK_EQ_INT(t->nics[0].pci_bdf, 0x10);
	CHECK_EQ_STR(t->nics[0].hostname, "ibftguest");
	CHECK_EQ_INT(t->target_count, 1);
	CHECK_EQ_STR(t->targets[0].ip.text, "10.0.2.2");
	CHECK_EQ_INT(t->targets[0].port, 3270);
	CHECK_EQ_INT(t->targets[0].lun, 1);
	CHECK_EQ_STR(t->targets[0].lun_sysfs, "01000000"); /* Linux sysfs text */
	CHECK_EQ_INT(t->targets[0].chap_type, 0);
	CHECK(t->targets[0].chap_name == NULL && t->targets[0].chap_secret == NULL);
	CHECK_EQ_STR(t->targets[0].target_name, "iqn.2025-01.test.ibft:target1");
	CHECK(isc_ibft_boot_nic(t) == &t->nics[0]);
	CHECK(isc_ibft_boot_target(t) == &t->targets[0]);
	isc_ibft_free(t);
}

static void test_full_fields(void)
{
	static uint8_t b[4096];
	struct ibft_b_spec s = spec_full();
	struct isc_ibft *t = NULL;
	char err[256];
	size_t len = ibft_build(&s, b, sizeof(b), NULL);

	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	if (!t)
		return;
	CHECK_EQ_INT(t->control_flags, 1);
	CHECK_EQ_INT(t->oem_revision, 7);
	CHECK_EQ_STR(t->initiator.isns_server.text, "192.0.2.10");
	CHECK_EQ_STR(t->initiator.slp_server.text, "192.0.2.11");
	CHECK_EQ_STR(t->initiator.pri_radius_server.text, "192.0.2.12");
	CHECK_EQ_STR(t->initiator.sec_radius_server.text, "192.0.2.13");
	CHECK_EQ_INT(t->nics[0].flags, 7);
	CHECK_EQ_INT(t->nics[0].vlan, 100);
	CHECK_EQ_STR(t->nics[0].secondary_dns.text, "10.0.2.4");
	CHECK_EQ_STR(t->nics[1].subnet_mask, "255.255.0.0");
	CHECK_EQ_INT(t->nics[1].pci_bdf, 0x0119);
	CHECK(t->nics[1].hostname == NULL);
	CHECK_EQ_INT(t->targets[0].chap_type, 2);
	CHECK_EQ_STR(t->targets[0].chap_name, "ibftuser");
	CHECK_EQ_STR(t->targets[0].chap_secret, "ibftsecret1234");
	CHECK_EQ_STR(t->targets[0].rev_chap_name, "tgtuser");
	CHECK_EQ_STR(t->targets[0].rev_chap_secret, "tgtsecret56789");
	CHECK_EQ_INT(t->targets[1].flags, 13);
	CHECK_EQ_INT(t->targets[1].lun, 31);
	/* The ambiguous Linux text for LUN 0x1f (ibft.md 4.3 configuration 2). */
	CHECK_EQ_STR(t->targets[1].lun_sysfs, "01f000000");
	CHECK_EQ_INT(t->targets[1].nic, 1);
	CHECK(t->targets[1].rev_chap_name == NULL);
	/* Boot entry = first NIC/target with bit 1, not simply the first. */
	CHECK(isc_ibft_boot_target(t) == &t->targets[0]);
	isc_ibft_free(t);
}

static void test_uroot_ipv6_pairs(void)
{
	static uint8_t b[4096];
	struct ibft_b_spec s = spec_uroot3();
	struct ibft_b_layout l;
	struct isc_ibft *t = NULL;
	char err[256];
	size_t len = ibft_build(&s, b, sizeof(b), &l);

	CHECK_EQ_INT(l.initiator % 8, 0);
	CHECK(l.initiator % 16 != 0 || l.nic[0] % 16 != 0 || l.target[0] % 16 != 0);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	if (!t)
		return;
	CHECK_EQ_INT(t->control_length, 22);
	CHECK_EQ_INT(t->pair_count, 3);
	CHECK_EQ_INT(t->nic_count, 3);
	CHECK_EQ_INT(t->target_count, 3);
	CHECK_EQ_STR(t->nics[2].ip.text, "2001:db8::10");
	CHECK_EQ_INT(t->nics[2].ip.family, 6);
	CHECK_EQ_INT(t->nics[2].origin, 15);
	/* Linux prints an IPv4 mask for any non-zero prefix, all ones > 32. */
	CHECK_EQ_STR(t->nics[2].subnet_mask, "255.255.255.255");
	CHECK_EQ_STR(t->targets[2].target_name, "iqn.2025-01.test.ibft:v6c");
	CHECK_EQ_INT(t->targets[2].nic, 0);
	CHECK_EQ_INT(t->targets[0].nic, 2);
	CHECK_EQ_INT(t->targets[0].lun, 300);
	CHECK_EQ_INT(t->targets[0].port, 0);
	CHECK(isc_ibft_boot_nic(t) == &t->nics[1]);
	CHECK(isc_ibft_boot_target(t) == &t->targets[2]);
	isc_ibft_free(t);
}

static void test_accepts(void)
{
	static uint8_t b[4096];
	struct ibft_b_spec s = ibft_builder_ipxe_bios();
	struct ibft_b_layout l;
	struct isc_ibft *t = NULL;
	char err[256];
	size_t len;

	/* "IBFT" (ACPI_SIG_IBFT) is accepted like Linux does. */
	s.signature = "IBFT";
	len = ibft_build(&s, b, sizeof(b), &l);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	isc_ibft_free(t);
	t = NULL;

	/* A buffer longer than the table (a whole memory window) is fine. */
	s = ibft_builder_ipxe_bios();
	len = ibft_build(&s, b, sizeof(b), &l);
	b[len] = 0xAA;
	CHECK_EQ_INT(isc_ibft_parse(b, len + 100, &t, err, sizeof(err)), 0);
	CHECK(t && t->length == len);
	isc_ibft_free(t);
	t = NULL;

	/* ::ffff:0.0.0.0 is "absent" like all-zero (Linux address_not_null). */
	b[l.nic[0] + 24 + 10] = 0xff;
	b[l.nic[0] + 24 + 11] = 0xff;
	memset(b + l.nic[0] + 24 + 12, 0, 4);
	ibft_b_fix_checksum(b, len);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	CHECK(t && !t->nics[0].gateway.present && t->nics[0].gateway.text[0] == '\0');
	isc_ibft_free(t);
	t = NULL;

	/* A string is copied up to its first NUL, as Linux's "%.*s" shows it. */
	b[l.heap + 3] = 0;
	ibft_b_fix_checksum(b, len);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	CHECK(t && strcmp(t->initiator.name, "iqn") == 0);
	isc_ibft_free(t);
	t = NULL;

	/* A structure longer than the spec size (future fields) is accepted;
	 * an odd control length leaves the last byte out of every slot. */
	s = ibft_builder_ipxe_bios();
	len = ibft_build(&s, b, sizeof(b), &l);
	ibft_b_le16(b + l.target[0] + 2, 60);
	ibft_b_le16(b + l.control + 2, 19);
	ibft_b_fix_checksum(b, len);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	CHECK(t && t->targets[0].length == 60 && t->pair_count == 2);
	isc_ibft_free(t);
	t = NULL;

	/* A string ending exactly at the table's last byte (no NUL) is fine. */
	s = ibft_builder_ipxe_bios();
	len = ibft_build(&s, b, sizeof(b), &l);
	ibft_b_le32(b + 4, (uint32_t)(len - 1)); /* drop the target name's NUL */
	ibft_b_fix_checksum(b, len - 1);
	CHECK_EQ_INT(isc_ibft_parse(b, len - 1, &t, err, sizeof(err)), 0);
	CHECK(t && strcmp(t->targets[0].target_name, "iqn.2025-01.test.ibft:target1") == 0);
	isc_ibft_free(t);
	t = NULL;

	/* No initiator structure at all (offset 0) is allowed. */
	s = ibft_builder_ipxe_bios();
	s.no_initiator = 1;
	len = ibft_build(&s, b, sizeof(b), &l);
	CHECK_EQ_INT(isc_ibft_parse(b, len, &t, err, sizeof(err)), 0);
	CHECK(t && !t->initiator.present && t->initiator.name == NULL);
	isc_ibft_free(t);
}

/* ---- must-fail tables ---------------------------------------------------- */

struct bad_case {
	const char *name;
	void (*corrupt)(uint8_t *b, size_t *len, const struct ibft_b_layout *l);
	int fix_checksum;
	int rc;
	const char *err; /* exact message */
};

static void c_checksum(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->heap] ^= 0x01;
}
static void c_truncated(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	*len -= 10;
}
static void c_short_header(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	*len = 40;
}
static void c_signature(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	memcpy(b, "ibft", 4);
}
static void c_revision(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[8] = 2;
}
static void c_huge_length(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le32(b + 4, 0xfffffff0u);
}
static void c_string_past_end(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->target[0] + 34, (uint16_t)(*len - l->heap)); /* length too long */
}
static void c_wrapping_offset(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	/* 0xfff0 + 0x20 wraps to 0x10 in u16 arithmetic. */
	ibft_b_le16(b + l->initiator + 70, 0x20);
	ibft_b_le16(b + l->initiator + 72, 0xfff0);
}
static void c_string_in_header(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->nic[0] + 100, 0x10);
}
static void c_struct_length_short(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->nic[0] + 2, 100);
}
static void c_struct_length_past_end(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->target[0] + 2, 0x2000);
}
static void c_struct_id(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->target[0]] = ISC_IBFT_ID_NIC;
}
static void c_struct_version(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->initiator + 1] = 2;
}
static void c_control_index(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->control + 4] = 1;
}
static void c_control_short(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->control + 2, 16);
}
static void c_initiator_index(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->initiator + 4] = 3;
}
static void c_offset_past_end(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->control + 12, 0xff00);
}
static void c_offset_in_header(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	ibft_b_le16(b + l->control + 10, 0x08);
}
static void c_bad_nic_assoc(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->target[0] + 33] = 5;
}
static void c_zero_flags(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->target[0] + 5] = 0;
}
static void c_zero_nic_flags(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->nic[0] + 5] = 0;
}
static void c_chap_type(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	b[l->target[0] + 32] = 3;
}
static void c_dup_nic_index(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	/* Second NIC slot points at the same NIC structure. */
	ibft_b_le16(b + l->control + 14, (uint16_t)l->nic[0]);
}
static void c_secret_past_end(uint8_t *b, size_t *len, const struct ibft_b_layout *l)
{
	/* The secret's bytes must not reach the message (only the field). */
	ibft_b_le16(b + l->target[0] + 42, 0x7fff);
}

static const struct bad_case bad_cases[] = {
	{"bad-checksum", c_checksum, 0, ISC_ERR_PROTOCOL, "header.checksum: bytes sum to 0xff, not 0"},
	{"truncated", c_truncated, 0, ISC_ERR_PROTOCOL,
	 "header.length: 609 exceeds the 599 bytes read (truncated table)"},
	{"short-header", c_short_header, 0, ISC_ERR_PROTOCOL,
	 "header: 40 bytes is shorter than the 48-byte table header"},
	{"bad-signature", c_signature, 1, ISC_ERR_PROTOCOL,
	 "header.signature: not \"iBFT\", \"IBFT\" or \"BIFT\""},
	{"revision-2", c_revision, 1, ISC_ERR_UNSUPPORTED, "header.revision: 2, only revision 1 is defined"},
	{"huge-length", c_huge_length, 0, ISC_ERR_PROTOCOL,
	 "header.length: 4294967280 exceeds the 1048576-byte limit"},
	{"string-past-end", c_string_past_end, 1, ISC_ERR_PROTOCOL,
	 "target0.target_name: string at offset 0x22b with length 97 runs past the end of the table (609 bytes)"},
	{"wrapping-offset", c_wrapping_offset, 1, ISC_ERR_PROTOCOL,
	 "initiator.name: string at offset 0xfff0 with length 32 runs past the end of the table (609 bytes)"},
	{"string-in-header", c_string_in_header, 1, ISC_ERR_PROTOCOL,
	 "nic0.hostname: string offset 0x10 points into the 48-byte table header"},
	{"nic-length-short", c_struct_length_short, 1, ISC_ERR_PROTOCOL,
	 "nic0.length: 100 is shorter than the 102 bytes of the spec"},
	{"target-length-past-end", c_struct_length_past_end, 1, ISC_ERR_PROTOCOL,
	 "target0.length: 8192 bytes at offset 0x180 run past the end of the table (609 bytes)"},
	{"target-wrong-id", c_struct_id, 1, ISC_ERR_PROTOCOL, "target0.id: 3, expected 4"},
	{"initiator-version-2", c_struct_version, 1, ISC_ERR_PROTOCOL, "initiator.version: 2, expected 1"},
	{"control-index", c_control_index, 1, ISC_ERR_PROTOCOL, "control.index: 1, expected 0"},
	{"control-short", c_control_short, 1, ISC_ERR_PROTOCOL,
	 "control.length: 16 is shorter than the 18 bytes of the spec"},
	{"initiator-index", c_initiator_index, 1, ISC_ERR_PROTOCOL, "initiator.index: 3, expected 0"},
	{"target-offset-past-end", c_offset_past_end, 1, ISC_ERR_PROTOCOL,
	 "control.target0_offset: offset 0xff00 is past the end of the table (609 bytes)"},
	{"nic-offset-in-header", c_offset_in_header, 1, ISC_ERR_PROTOCOL,
	 "control.nic0_offset: offset 0x8 points into the 48-byte table header"},
	{"bad-nic-assoc", c_bad_nic_assoc, 1, ISC_ERR_PROTOCOL, "target0.nic_assoc: 5 names no NIC structure"},
	{"zero-target-flags", c_zero_flags, 1, ISC_ERR_PROTOCOL, "target0.flags: 0 (block not valid)"},
	{"zero-nic-flags", c_zero_nic_flags, 1, ISC_ERR_PROTOCOL, "nic0.flags: 0 (block not valid)"},
	{"bad-chap-type", c_chap_type, 1, ISC_ERR_PROTOCOL,
	 "target0.chap_type: 3 is not 0 (none), 1 (CHAP) or 2 (mutual CHAP)"},
	{"duplicate-nic-index", c_dup_nic_index, 1, ISC_ERR_PROTOCOL,
	 "nic1.index: 0 is already used by another NIC structure"},
	{"secret-past-end", c_secret_past_end, 1, ISC_ERR_PROTOCOL,
	 "target0.chap_secret: string at offset 0x252 with length 32767 runs past the end of the table (609 bytes)"},
};

/* Must-fail tables start from a one-way-CHAP variant of the iPXE table so
 * the CHAP fields exist to corrupt. */
static struct ibft_b_spec spec_bad_base(void)
{
	struct ibft_b_spec s = ibft_builder_ipxe_bios();
	s.targets[0].chap_type = 1;
	s.targets[0].chap_name = "ibftuser";
	s.targets[0].chap_secret = "ibftsecret1234";
	return s;
}

static void test_must_fail(void)
{
	static uint8_t b[4096];
	char path[512];
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct ibft_b_spec s = spec_bad_base();
		struct ibft_b_layout l;
		size_t len = ibft_build(&s, b, sizeof(b), &l), flen = 0;
		unsigned char *file;
		struct isc_ibft *t = (struct isc_ibft *)&s; /* must be reset to NULL */
		char err[256];
		int rc;

		c->corrupt(b, &len, &l);
		if (c->fix_checksum)
			ibft_b_fix_checksum(b, len);
		snprintf(path, sizeof(path), "%s/ibft/bad/%s.bin", ISC_FIXTURES_DIR, c->name);
		if (regen)
			write_file(path, b, len);
		file = check_read_file(path, &flen);
		CHECK(file != NULL);
		if (!file)
			continue;
		CHECK(flen == len && memcmp(file, b, len) == 0);
		memset(err, 'X', sizeof(err));
		rc = isc_ibft_parse(file, flen, &t, err, sizeof(err));
		if (rc != c->rc)
			fprintf(stderr, "case %s\n", c->name);
		CHECK_EQ_INT(rc, c->rc);
		CHECK(t == NULL);
		CHECK_EQ_STR(err, c->err);
		CHECK(strstr(err, "ibftsecret1234") == NULL);
		free(file);
	}
}

static void test_arguments(void)
{
	struct isc_ibft *t = NULL;
	char err[64];
	CHECK_EQ_INT(isc_ibft_parse(NULL, 10, &t, err, sizeof(err)), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_ibft_parse((const uint8_t *)"", 0, NULL, err, sizeof(err)), ISC_ERR_INVAL);
	CHECK_EQ_INT(isc_ibft_parse(NULL, 0, &t, err, sizeof(err)), ISC_ERR_PROTOCOL);
	CHECK_EQ_INT(isc_ibft_parse((const uint8_t *)"iBFT", 4, &t, NULL, 0), ISC_ERR_PROTOCOL);
	/* A tiny err buffer is truncated, still NUL-terminated. */
	CHECK_EQ_INT(isc_ibft_parse((const uint8_t *)"iBFT", 4, &t, err, 8), ISC_ERR_PROTOCOL);
	CHECK_EQ_STR(err, "header:");
	isc_ibft_free(NULL);
	CHECK(isc_ibft_boot_nic(NULL) == NULL && isc_ibft_boot_target(NULL) == NULL);
}

/* Every truncation of a valid table fails cleanly; every single-byte change
 * (checksum repaired) either parses or fails with a message - never a
 * crash or a sanitizer report. */
static void test_sweeps(void)
{
	static uint8_t b[4096], m[4096];
	struct ibft_b_spec s = spec_full();
	size_t len = ibft_build(&s, b, sizeof(b), NULL);
	char err[256];
	int bad = 0;

	for (size_t n = 0; n < len; n++) {
		struct isc_ibft *t = NULL;
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(copy, b, n);
		if (isc_ibft_parse(copy, n, &t, err, sizeof(err)) == 0 || t != NULL || err[0] == '\0')
			bad++;
		free(copy);
	}
	CHECK_EQ_INT(bad, 0);
	for (size_t i = 0; i < len; i++) {
		for (int v = 0; v < 3; v++) {
			struct isc_ibft *t = NULL;
			static const uint8_t vals[3] = {0x00, 0xff, 0x80};
			int rc;
			memcpy(m, b, len);
			m[i] = vals[v] == m[i] ? (uint8_t)(m[i] ^ 0x55) : vals[v];
			if (i != 9)
				ibft_b_fix_checksum(m, len);
			rc = isc_ibft_parse(m, len, &t, err, sizeof(err));
			if ((rc == 0) != (t != NULL) || (rc != 0 && err[0] == '\0'))
				bad++;
			isc_ibft_free(t);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	regen = getenv("ISC_IBFT_REGEN") != NULL;
	test_ipxe_reconstruction();
	test_full_fields();
	test_uroot_ipv6_pairs();
	test_accepts();
	test_arguments();
	test_goldens();
	test_must_fail();
	test_sweeps();
	return check_finish();
}
