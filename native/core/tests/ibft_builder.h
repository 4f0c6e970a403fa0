/*
 * Test-side iBFT builder: writes a valid table from a plain description so
 * tests can cover every field and flag, both writers' alignments (iPXE 16,
 * u-root / spec 1.4.4.4 8) and any number of NIC/target pairs, then corrupt
 * single bytes and re-checksum.
 *
 * Layout follows iPXE (src/drivers/block/ibft.c ibft_install): table header,
 * control at 0x30 with max(2, n) pairs, initiator, `pairs` NIC slots, then
 * `pairs` target slots, each structure aligned, then the string heap (each
 * string followed by a NUL that its length does not count). With the
 * description in ibft_builder_ipxe_bios() it reproduces, byte for byte, the
 * 585-byte table Debian's ipxe-qemu wrote under SeaBIOS (annotated dump in
 * /work/shared/reference/ibft.md section 1.9: length 0x249, checksum 0x87).
 */
#ifndef ISC_TEST_IBFT_BUILDER_H
#define ISC_TEST_IBFT_BUILDER_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "isc/ibft.h"

#define IBFT_B_MAX 8

struct ibft_b_nic {
	uint8_t index, flags;
	const char *ip; /* dotted IPv4 or IPv6 text; NULL = all-zero */
	uint8_t prefix_len, origin;
	const char *gateway, *primary_dns, *secondary_dns, *dhcp_server;
	uint16_t vlan;
	uint8_t mac[6];
	uint16_t pci_bdf;
	const char *hostname;
};

struct ibft_b_target {
	uint8_t index, flags;
	const char *ip;
	uint16_t port;
	uint8_t lun[8];
	uint8_t chap_type, nic_assoc;
	const char *name, *chap_name, *chap_secret, *rev_chap_name, *rev_chap_secret;
};

struct ibft_b_spec {
	const char *signature;    /* default "iBFT" */
	const char *oem_id;       /* up to 6 bytes */
	const char *oem_table_id; /* up to 8 bytes */
	uint32_t oem_revision;
	unsigned align;    /* 16 (iPXE) or 8 (u-root); default 16 */
	size_t pairs;      /* control slot pairs; default max(2, nics, targets) */
	uint8_t control_flags;
	int no_initiator;
	uint8_t initiator_flags;
	const char *initiator_name;
	const char *isns, *slp, *radius1, *radius2;
	size_t nic_count;
	struct ibft_b_nic nics[IBFT_B_MAX];
	size_t target_count;
	struct ibft_b_target targets[IBFT_B_MAX];
};

/* Where the builder put things, for tests that corrupt a table. */
struct ibft_b_layout {
	size_t len, control, initiator, heap;
	size_t nic[IBFT_B_MAX], target[IBFT_B_MAX];
};

static inline void ibft_b_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ibft_b_le32(uint8_t *p, uint32_t v)
{
	ibft_b_le16(p, (uint16_t)v);
	ibft_b_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void ibft_b_ip(uint8_t *p, const char *text)
{
	memset(p, 0, 16);
	if (!text)
		return;
	if (strchr(text, ':')) {
		inet_pton(AF_INET6, text, p);
	} else {
		p[10] = p[11] = 0xff;
		inet_pton(AF_INET, text, p + 12);
	}
}

static inline size_t ibft_b_align(size_t v, unsigned a)
{
	return (v + a - 1) / a * a;
}

static inline void ibft_b_hdr(uint8_t *p, uint8_t id, uint16_t len, uint8_t index, uint8_t flags)
{
	p[0] = id;
	p[1] = 1;
	ibft_b_le16(p + 2, len);
	p[4] = index;
	p[5] = flags;
}

/* Appends s (+ NUL) to the heap and points the (len, off) pair at it. */
static inline void ibft_b_str(uint8_t *buf, size_t *heap, uint8_t *field, const char *s)
{
	size_t n;
	if (!s || !*s)
		return; /* absent: 0/0 like iPXE and u-root */
	n = strlen(s);
	memcpy(buf + *heap, s, n);
	buf[*heap + n] = 0;
	ibft_b_le16(field, (uint16_t)n);
	ibft_b_le16(field + 2, (uint16_t)*heap);
	*heap += n + 1;
}

/* Byte sum of buf[0..len) made 0 through the checksum byte. len is the
 * caller's (not the header field, which a test may have corrupted). */
static inline void ibft_b_fix_checksum(uint8_t *buf, size_t len)
{
	uint8_t sum = 0;
	buf[9] = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + buf[i]);
	buf[9] = (uint8_t)(0x100 - sum);
}

/* Builds into buf (cap bytes, must be large enough: 4096 fits every test)
 * and returns the table length; lay (optional) receives the offsets. */
static inline size_t ibft_build(const struct ibft_b_spec *s, uint8_t *buf, size_t cap,
				struct ibft_b_layout *lay)
{
	unsigned a = s->align ? s->align : 16;
	size_t pairs = s->pairs, pos, heap;
	struct ibft_b_layout l;
	uint16_t clen;

	memset(&l, 0, sizeof(l));
	if (pairs < 2)
		pairs = 2;
	if (pairs < s->nic_count)
		pairs = s->nic_count;
	if (pairs < s->target_count)
		pairs = s->target_count;
	memset(buf, 0, cap);
	memcpy(buf, s->signature ? s->signature : "iBFT", 4);
	buf[8] = 1;
	if (s->oem_id)
		memcpy(buf + 10, s->oem_id, strnlen(s->oem_id, 6));
	if (s->oem_table_id)
		memcpy(buf + 16, s->oem_table_id, strnlen(s->oem_table_id, 8));
	ibft_b_le32(buf + 24, s->oem_revision);

	l.control = ISC_IBFT_TABLE_HEADER_LEN;
	clen = (uint16_t)(10 + 4 * pairs);
	ibft_b_hdr(buf + l.control, ISC_IBFT_ID_CONTROL, clen, 0, s->control_flags);
	pos = ibft_b_align(l.control + clen, a);
	if (!s->no_initiator) {
		l.initiator = pos;
		pos = ibft_b_align(pos + ISC_IBFT_INITIATOR_LEN, a);
	}
	for (size_t i = 0; i < pairs; i++) {
		if (i < s->nic_count)
			l.nic[i] = pos;
		pos = ibft_b_align(pos + ISC_IBFT_NIC_LEN, a);
	}
	for (size_t i = 0; i < pairs; i++) {
		if (i < s->target_count)
			l.target[i] = pos;
		pos = ibft_b_align(pos + ISC_IBFT_TARGET_LEN, a);
	}
	heap = l.heap = pos;

	ibft_b_le16(buf + l.control + 8, (uint16_t)l.initiator);
	for (size_t i = 0; i < pairs; i++) {
		ibft_b_le16(buf + l.control + 10 + 4 * i, (uint16_t)l.nic[i]);
		ibft_b_le16(buf + l.control + 12 + 4 * i, (uint16_t)l.target[i]);
	}
	if (!s->no_initiator) {
		uint8_t *p = buf + l.initiator;
		ibft_b_hdr(p, ISC_IBFT_ID_INITIATOR, ISC_IBFT_INITIATOR_LEN, 0, s->initiator_flags);
		ibft_b_ip(p + 6, s->isns);
		ibft_b_ip(p + 22, s->slp);
		ibft_b_ip(p + 38, s->radius1);
		ibft_b_ip(p + 54, s->radius2);
		ibft_b_str(buf, &heap, p + 70, s->initiator_name);
	}
	for (size_t i = 0; i < s->nic_count; i++) {
		const struct ibft_b_nic *n = &s->nics[i];
		uint8_t *p = buf + l.nic[i];
		ibft_b_hdr(p, ISC_IBFT_ID_NIC, ISC_IBFT_NIC_LEN, n->index, n->flags);
		ibft_b_ip(p + 6, n->ip);
		p[22] = n->prefix_len;
		p[23] = n->origin;
		ibft_b_ip(p + 24, n->gateway);
		ibft_b_ip(p + 40, n->primary_dns);
		ibft_b_ip(p + 56, n->secondary_dns);
		ibft_b_ip(p + 72, n->dhcp_server);
		ibft_b_le16(p + 88, n->vlan);
		memcpy(p + 90, n->mac, 6);
		ibft_b_le16(p + 96, n->pci_bdf);
		ibft_b_str(buf, &heap, p + 98, n->hostname);
	}
	for (size_t i = 0; i < s->target_count; i++) {
		const struct ibft_b_target *t = &s->targets[i];
		uint8_t *p = buf + l.target[i];
		ibft_b_hdr(p, ISC_IBFT_ID_TARGET, ISC_IBFT_TARGET_LEN, t->index, t->flags);
		ibft_b_ip(p + 6, t->ip);
		ibft_b_le16(p + 22, t->port);
		memcpy(p + 24, t->lun, 8);
		p[32] = t->chap_type;
		p[33] = t->nic_assoc;
		ibft_b_str(buf, &heap, p + 34, t->name);
		ibft_b_str(buf, &heap, p + 38, t->chap_name);
		ibft_b_str(buf, &heap, p + 42, t->chap_secret);
		ibft_b_str(buf, &heap, p + 46, t->rev_chap_name);
		ibft_b_str(buf, &heap, p + 50, t->rev_chap_secret);
	}
	l.len = heap;
	ibft_b_le32(buf + 4, (uint32_t)heap);
	ibft_b_fix_checksum(buf, heap);
	if (lay)
		*lay = l;
	return heap;
}

/* The description of the table iPXE (Debian ipxe-qemu, SeaBIOS, no CHAP)
 * wrote in the reference lab run (ibft.md 1.9 / 4.3 configuration 1). */
static inline struct ibft_b_spec ibft_builder_ipxe_bios(void)
{
	struct ibft_b_spec s;
	memset(&s, 0, sizeof(s));
	s.oem_id = "FENSYS";
	s.oem_table_id = "iPXE";
	s.align = 16;
	s.initiator_flags = 3;
	s.initiator_name = "iqn.2025-01.test.ibft:initiator0";
	s.nic_count = 1;
	s.nics[0] = (struct ibft_b_nic){
		.index = 0, .flags = 3, .ip = "10.0.2.15", .prefix_len = 24, .origin = 3,
		.gateway = "10.0.2.2", .primary_dns = "10.0.2.3", .dhcp_server = "10.0.2.2",
		.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, .pci_bdf = 0x0010,
		.hostname = "ibftguest",
	};
	s.target_count = 1;
	s.targets[0] = (struct ibft_b_target){
		.index = 0, .flags = 3, .ip = "10.0.2.2", .port = 3270,
		.lun = {0x00, 0x01}, .chap_type = 0, .nic_assoc = 0,
		.name = "iqn.2025-01.test.ibft:target1",
	};
	return s;
}

#endif
