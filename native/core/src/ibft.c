/*
 * iBFT parser: raw bytes -> struct isc_ibft (see isc/ibft.h).
 *
 * Every field is read at the offsetof() of the packed layer-1 structure
 * with explicit little-endian loads, after the byte range has been checked
 * against the table length. Offsets and lengths are u16/u32 values from
 * the table; every "offset + length" comparison is written as
 * "length > limit - offset" after checking "offset <= limit", so nothing
 * can wrap (the NBFT reader bug nvme-cli#3641 was exactly such a wrap).
 *
 * Where Linux (drivers/firmware/iscsi_ibft.c) skips a bad structure and
 * keeps the rest, this parser fails the whole table with a message naming
 * the field: a boot table the firmware got wrong is not something an
 * installer should half-trust.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "isc/errors.h"
#include "isc/ibft.h"
#include "isc/scsi.h"

_Static_assert(sizeof(struct isc_ibft_raw_table_header) == ISC_IBFT_TABLE_HEADER_LEN,
	       "iBFT table header is 48 bytes");
_Static_assert(sizeof(struct isc_ibft_raw_header) == 6, "structure header is 6 bytes");
_Static_assert(sizeof(struct isc_ibft_raw_control) == ISC_IBFT_CONTROL_LEN, "control is 18 bytes");
_Static_assert(sizeof(struct isc_ibft_raw_initiator) == ISC_IBFT_INITIATOR_LEN,
	       "initiator is 74 bytes");
_Static_assert(sizeof(struct isc_ibft_raw_nic) == ISC_IBFT_NIC_LEN, "NIC is 102 bytes");
_Static_assert(sizeof(struct isc_ibft_raw_target) == ISC_IBFT_TARGET_LEN, "target is 54 bytes");

#define HDR_OFF(f) offsetof(struct isc_ibft_raw_header, f)

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parser state: the table bytes (already bounded by the header length) and
 * where messages go. */
struct parser {
	const uint8_t *buf;
	size_t len; /* the table's own length, <= the caller's buffer */
	char *err;
	size_t errlen;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(struct parser *p, int code, const char *fmt, ...)
{
	if (p->err && p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* True when [off, off + n) lies inside the table. */
static bool in_table(const struct parser *p, size_t off, size_t n)
{
	return off <= p->len && n <= p->len - off;
}

static void parse_ip(const uint8_t *raw, struct isc_ibft_ip *ip)
{
	static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[16];

	memcpy(ip->raw, raw, 16);
	ip->text[0] = '\0';
	ip->present = false;
	ip->family = 0;
	/* Linux address_not_null(): all-zero and ::ffff:0.0.0.0 are absent. */
	if (memcmp(raw, zero, 16) == 0 ||
	    (memcmp(raw, mapped_prefix, 12) == 0 && memcmp(raw + 12, zero, 4) == 0))
		return;
	ip->present = true;
	if (memcmp(raw, mapped_prefix, 12) == 0) {
		ip->family = 4;
		snprintf(ip->text, sizeof(ip->text), "%u.%u.%u.%u", raw[12], raw[13], raw[14], raw[15]);
	} else {
		ip->family = 6;
		if (!inet_ntop(AF_INET6, raw, ip->text, sizeof(ip->text)))
			ip->text[0] = '\0';
	}
}

/* A (u16 length, u16 offset) heap string at table offset field_off.
 * Length 0 = absent (NULL). Otherwise the bytes must lie inside the table
 * and after the table header; the copy stops at the first NUL, which is
 * what Linux's "%.*s" shows in sysfs. */
static int parse_string(struct parser *p, size_t field_off, const char *what, char **out)
{
	uint16_t slen = get_le16(p->buf + field_off + offsetof(struct isc_ibft_raw_string, length));
	uint16_t soff = get_le16(p->buf + field_off + offsetof(struct isc_ibft_raw_string, offset));
	const uint8_t *s;
	size_t n;

	*out = NULL;
	if (slen == 0)
		return 0;
	if (soff < ISC_IBFT_TABLE_HEADER_LEN)
		return fail(p, ISC_ERR_PROTOCOL,
			    "%s: string offset 0x%x points into the 48-byte table header", what,
			    (unsigned)soff);
	if (!in_table(p, soff, slen))
		return fail(p, ISC_ERR_PROTOCOL,
			    "%s: string at offset 0x%x with length %u runs past the end of the "
			    "table (%zu bytes)",
			    what, (unsigned)soff, (unsigned)slen, p->len);
	s = p->buf + soff;
	n = strnlen((const char *)s, slen);
	*out = malloc(n + 1);
	if (!*out)
		return fail(p, ISC_ERR_NOMEM, "%s: out of memory", what);
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	return 0;
}

/* Checks a structure header at off: inside the table, after the table
 * header, expected id, version 1, min_len <= length <= what remains, and a
 * non-zero flags byte (open-iscsi and the iBFT spec: bit 0 clear = the
 * block is not valid). */
static int check_struct(struct parser *p, size_t off, uint8_t id, size_t min_len, const char *what,
			const char *slot)
{
	const uint8_t *h;
	uint16_t slen;

	if (off < ISC_IBFT_TABLE_HEADER_LEN)
		return fail(p, ISC_ERR_PROTOCOL, "%s: offset 0x%zx points into the 48-byte table header",
			    slot, off);
	if (!in_table(p, off, sizeof(struct isc_ibft_raw_header)))
		return fail(p, ISC_ERR_PROTOCOL,
			    "%s: offset 0x%zx is past the end of the table (%zu bytes)", slot, off,
			    p->len);
	h = p->buf + off;
	if (h[HDR_OFF(id)] != id)
		return fail(p, ISC_ERR_PROTOCOL, "%s.id: %u, expected %u", what,
			    (unsigned)h[HDR_OFF(id)], (unsigned)id);
	if (h[HDR_OFF(version)] != ISC_IBFT_STRUCT_VERSION)
		return fail(p, ISC_ERR_PROTOCOL, "%s.version: %u, expected 1", what,
			    (unsigned)h[HDR_OFF(version)]);
	slen = get_le16(h + HDR_OFF(length));
	if (slen < min_len)
		return fail(p, ISC_ERR_PROTOCOL, "%s.length: %u is shorter than the %zu bytes of the spec",
			    what, (unsigned)slen, min_len);
	if (!in_table(p, off, slen))
		return fail(p, ISC_ERR_PROTOCOL,
			    "%s.length: %u bytes at offset 0x%zx run past the end of the table (%zu bytes)",
			    what, (unsigned)slen, off, p->len);
	if (h[HDR_OFF(flags)] == 0 && id != ISC_IBFT_ID_CONTROL)
		return fail(p, ISC_ERR_PROTOCOL, "%s.flags: 0 (block not valid)", what);
	return 0;
}

static int parse_initiator(struct parser *p, size_t off, struct isc_ibft_initiator *ini)
{
#define F(f) (p->buf + off + offsetof(struct isc_ibft_raw_initiator, f))
	int rc = check_struct(p, off, ISC_IBFT_ID_INITIATOR, ISC_IBFT_INITIATOR_LEN, "initiator",
			      "control.initiator_offset");
	if (rc)
		return rc;
	ini->present = true;
	ini->offset = (uint16_t)off;
	ini->version = *F(hdr.version);
	ini->length = get_le16(F(hdr.length));
	ini->index = *F(hdr.index);
	ini->flags = *F(hdr.flags);
	if (ini->index != 0)
		return fail(p, ISC_ERR_PROTOCOL, "initiator.index: %u, expected 0", (unsigned)ini->index);
	parse_ip(F(isns_server), &ini->isns_server);
	parse_ip(F(slp_server), &ini->slp_server);
	parse_ip(F(pri_radius_server), &ini->pri_radius_server);
	parse_ip(F(sec_radius_server), &ini->sec_radius_server);
	return parse_string(p, off + offsetof(struct isc_ibft_raw_initiator, name), "initiator.name",
			    &ini->name);
#undef F
}

static int parse_nic(struct parser *p, size_t off, size_t slot, struct isc_ibft_nic *nic)
{
#define F(f) (p->buf + off + offsetof(struct isc_ibft_raw_nic, f))
	char what[32], slotname[64], field[64];
	int rc;

	snprintf(what, sizeof(what), "nic%zu", slot);
	snprintf(slotname, sizeof(slotname), "control.nic%zu_offset", slot);
	rc = check_struct(p, off, ISC_IBFT_ID_NIC, ISC_IBFT_NIC_LEN, what, slotname);
	if (rc)
		return rc;
	nic->offset = (uint16_t)off;
	nic->version = *F(hdr.version);
	nic->length = get_le16(F(hdr.length));
	nic->index = *F(hdr.index);
	nic->flags = *F(hdr.flags);
	parse_ip(F(ip_addr), &nic->ip);
	nic->prefix_len = *F(prefix_len);
	nic->subnet_mask[0] = '\0';
	if (nic->prefix_len) {
		/* Linux ibft_attr_show_nic: an IPv4 mask from the prefix, all
		 * ones for prefixes > 32. */
		unsigned pl = nic->prefix_len > 32 ? 32 : nic->prefix_len;
		uint32_t m = pl == 32 ? 0xffffffffu : ~(0xffffffffu >> pl);
		snprintf(nic->subnet_mask, sizeof(nic->subnet_mask), "%u.%u.%u.%u", m >> 24,
			 (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff);
	}
	nic->origin = *F(origin);
	parse_ip(F(gateway), &nic->gateway);
	parse_ip(F(primary_dns), &nic->primary_dns);
	parse_ip(F(secondary_dns), &nic->secondary_dns);
	parse_ip(F(dhcp_server), &nic->dhcp_server);
	nic->vlan = get_le16(F(vlan));
	memcpy(nic->mac, F(mac), 6);
	snprintf(nic->mac_text, sizeof(nic->mac_text), "%02x:%02x:%02x:%02x:%02x:%02x", nic->mac[0],
		 nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5]);
	nic->pci_bdf = get_le16(F(pci_bdf));
	snprintf(field, sizeof(field), "%s.hostname", what);
	return parse_string(p, off + offsetof(struct isc_ibft_raw_nic, hostname), field, &nic->hostname);
#undef F
}

static int parse_target(struct parser *p, size_t off, size_t slot, struct isc_ibft_target *t)
{
#define F(f) (p->buf + off + offsetof(struct isc_ibft_raw_target, f))
	static const struct {
		size_t off;
		size_t member;
		const char *name;
	} strings[] = {
		{offsetof(struct isc_ibft_raw_target, target_name), offsetof(struct isc_ibft_target, target_name), "target_name"},
		{offsetof(struct isc_ibft_raw_target, chap_name), offsetof(struct isc_ibft_target, chap_name), "chap_name"},
		{offsetof(struct isc_ibft_raw_target, chap_secret), offsetof(struct isc_ibft_target, chap_secret), "chap_secret"},
		{offsetof(struct isc_ibft_raw_target, rev_chap_name), offsetof(struct isc_ibft_target, rev_chap_name), "rev_chap_name"},
		{offsetof(struct isc_ibft_raw_target, rev_chap_secret), offsetof(struct isc_ibft_target, rev_chap_secret), "rev_chap_secret"},
	};
	char what[32], slotname[64], field[64];
	size_t pos = 0;
	int rc;

	snprintf(what, sizeof(what), "target%zu", slot);
	snprintf(slotname, sizeof(slotname), "control.target%zu_offset", slot);
	rc = check_struct(p, off, ISC_IBFT_ID_TARGET, ISC_IBFT_TARGET_LEN, what, slotname);
	if (rc)
		return rc;
	t->offset = (uint16_t)off;
	t->version = *F(hdr.version);
	t->length = get_le16(F(hdr.length));
	t->index = *F(hdr.index);
	t->flags = *F(hdr.flags);
	parse_ip(F(ip_addr), &t->ip);
	t->port = get_le16(F(port));
	memcpy(t->lun_raw, F(lun), 8);
	t->lun = isc_lun_decode(isc_get_be64(t->lun_raw));
	/* Linux prints every LUN byte as "%x" without padding (ambiguous, kept
	 * only so callers can compare with sysfs and iscsiadm's boot_lun). */
	for (size_t i = 0; i < 8; i++) {
		int n = snprintf(t->lun_sysfs + pos, sizeof(t->lun_sysfs) - pos, "%x", t->lun_raw[i]);
		pos += (size_t)n;
	}
	t->chap_type = *F(chap_type);
	if (t->chap_type > ISC_IBFT_CHAP_MUTUAL)
		return fail(p, ISC_ERR_PROTOCOL, "%s.chap_type: %u is not 0 (none), 1 (CHAP) or 2 (mutual CHAP)",
			    what, (unsigned)t->chap_type);
	t->nic_assoc = *F(nic_assoc);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		snprintf(field, sizeof(field), "%s.%s", what, strings[i].name);
		rc = parse_string(p, off + strings[i].off, field,
				  (char **)((char *)t + strings[i].member));
		if (rc)
			return rc;
	}
	return 0;
#undef F
}

static void free_secret(char *s)
{
	if (s) {
		isc_memzero(s, strlen(s));
		free(s);
	}
}

void isc_ibft_free(struct isc_ibft *t)
{
	if (!t)
		return;
	free(t->initiator.name);
	for (size_t i = 0; i < t->nic_count; i++)
		free(t->nics[i].hostname);
	for (size_t i = 0; i < t->target_count; i++) {
		struct isc_ibft_target *g = &t->targets[i];
		free(g->target_name);
		free(g->chap_name);
		free_secret(g->chap_secret);
		free(g->rev_chap_name);
		free_secret(g->rev_chap_secret);
	}
	free(t->nics);
	free(t->targets);
	free(t->pairs);
	free(t);
}

static int parse_header(struct parser *p, size_t buflen, struct isc_ibft *t)
{
	const uint8_t *b = p->buf;
	uint32_t tlen;
	uint8_t sum = 0;

#define H(f) offsetof(struct isc_ibft_raw_table_header, f)
	if (buflen < ISC_IBFT_TABLE_HEADER_LEN)
		return fail(p, ISC_ERR_PROTOCOL, "header: %zu bytes is shorter than the 48-byte table header",
			    buflen);
	/* "iBFT" is the spec's; Linux also accepts ACPI's "IBFT" and the
	 * "BIFT" Broadcom offload firmware writes (iscsi_ibft.c ibft_signs). */
	if (memcmp(b, "iBFT", 4) != 0 && memcmp(b, "IBFT", 4) != 0 && memcmp(b, "BIFT", 4) != 0)
		return fail(p, ISC_ERR_PROTOCOL, "header.signature: not \"iBFT\", \"IBFT\" or \"BIFT\"");
	memcpy(t->signature, b, 4);
	t->signature[4] = '\0';
	tlen = get_le32(b + H(length));
	if (tlen < ISC_IBFT_TABLE_HEADER_LEN + ISC_IBFT_CONTROL_LEN)
		return fail(p, ISC_ERR_PROTOCOL,
			    "header.length: %u is shorter than the table header and control structure (66 bytes)",
			    (unsigned)tlen);
	if (tlen > ISC_IBFT_MAX_LEN)
		return fail(p, ISC_ERR_PROTOCOL, "header.length: %u exceeds the %u-byte limit",
			    (unsigned)tlen, ISC_IBFT_MAX_LEN);
	if (tlen > buflen)
		return fail(p, ISC_ERR_PROTOCOL, "header.length: %u exceeds the %zu bytes read (truncated table)",
			    (unsigned)tlen, buflen);
	p->len = tlen;
	t->length = tlen;
	t->revision = b[H(revision)];
	if (t->revision != ISC_IBFT_REVISION)
		return fail(p, ISC_ERR_UNSUPPORTED, "header.revision: %u, only revision 1 is defined",
			    (unsigned)t->revision);
	for (size_t i = 0; i < tlen; i++)
		sum = (uint8_t)(sum + b[i]);
	t->checksum = b[H(checksum)];
	if (sum != 0)
		return fail(p, ISC_ERR_PROTOCOL, "header.checksum: bytes sum to 0x%02x, not 0",
			    (unsigned)sum);
	/* Linux sysfs prints these with "%.*s": up to the first NUL. */
	memcpy(t->oem_id, b + H(oem_id), 6);
	t->oem_id[6] = '\0';
	t->oem_id[strnlen(t->oem_id, 6)] = '\0';
	memcpy(t->oem_table_id, b + H(oem_table_id), 8);
	t->oem_table_id[8] = '\0';
	t->oem_table_id[strnlen(t->oem_table_id, 8)] = '\0';
	t->oem_revision = get_le32(b + H(oem_revision));
	t->asl_compiler_id = get_le32(b + H(asl_compiler_id));
	t->asl_compiler_revision = get_le32(b + H(asl_compiler_revision));
	return 0;
#undef H
}

/* The control structure sits right after the table header (Linux
 * ibft_register_kobjects). Its u16 slots after the header are: extensions,
 * initiator, then NIC/target offset pairs for as many as its length holds
 * (iPXE writes max(2, targets) pairs; Linux >= 6.1 walks them all). */
static int parse_control(struct parser *p, struct isc_ibft *t)
{
	const size_t off = ISC_IBFT_TABLE_HEADER_LEN;
	const uint8_t *c = p->buf + off;
	size_t slots;
	int rc;

	rc = check_struct(p, off, ISC_IBFT_ID_CONTROL, ISC_IBFT_CONTROL_LEN, "control", "control");
	if (rc)
		return rc;
	if (c[HDR_OFF(index)] != 0)
		return fail(p, ISC_ERR_PROTOCOL, "control.index: %u, expected 0", (unsigned)c[HDR_OFF(index)]);
	t->control_version = c[HDR_OFF(version)];
	t->control_length = get_le16(c + HDR_OFF(length));
	t->control_flags = c[HDR_OFF(flags)];
	t->extensions_offset = get_le16(c + offsetof(struct isc_ibft_raw_control, extensions_offset));
	/* A trailing odd byte belongs to no slot; an odd slot count leaves a
	 * last NIC slot without a target slot. */
	slots = (t->control_length - offsetof(struct isc_ibft_raw_control, nic0_offset)) / 2;
	t->pair_count = (slots + 1) / 2;
	t->pairs = calloc(t->pair_count, sizeof(*t->pairs));
	if (!t->pairs)
		return fail(p, ISC_ERR_NOMEM, "control: out of memory");
	for (size_t i = 0; i < slots; i++) {
		uint16_t v = get_le16(c + offsetof(struct isc_ibft_raw_control, nic0_offset) + 2 * i);
		if (i % 2 == 0)
			t->pairs[i / 2].nic_offset = v;
		else
			t->pairs[i / 2].target_offset = v;
	}
	return 0;
}

static int parse_all(struct parser *p, size_t buflen, struct isc_ibft *t)
{
	uint16_t ini_off;
	size_t nics = 0, targets = 0;
	int rc;

	rc = parse_header(p, buflen, t);
	if (rc)
		return rc;
	rc = parse_control(p, t);
	if (rc)
		return rc;
	ini_off = get_le16(p->buf + ISC_IBFT_TABLE_HEADER_LEN +
			   offsetof(struct isc_ibft_raw_control, initiator_offset));
	if (ini_off) {
		rc = parse_initiator(p, ini_off, &t->initiator);
		if (rc)
			return rc;
	}
	/* Size the arrays by the non-empty slots: a long control structure of
	 * mostly zero slots must not cost a large allocation. */
	for (size_t i = 0; i < t->pair_count; i++) {
		nics += t->pairs[i].nic_offset != 0;
		targets += t->pairs[i].target_offset != 0;
	}
	t->nics = calloc(nics ? nics : 1, sizeof(*t->nics));
	t->targets = calloc(targets ? targets : 1, sizeof(*t->targets));
	if (!t->nics || !t->targets)
		return fail(p, ISC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->pair_count; i++) {
		if (t->pairs[i].nic_offset == 0)
			continue;
		rc = parse_nic(p, t->pairs[i].nic_offset, i, &t->nics[t->nic_count]);
		t->nic_count++; /* counted even on failure so free() sees the strings */
		if (rc)
			return rc;
		for (size_t k = 0; k + 1 < t->nic_count; k++)
			if (t->nics[k].index == t->nics[t->nic_count - 1].index)
				return fail(p, ISC_ERR_PROTOCOL,
					    "nic%zu.index: %u is already used by another NIC structure", i,
					    (unsigned)t->nics[t->nic_count - 1].index);
	}
	for (size_t i = 0; i < t->pair_count; i++) {
		struct isc_ibft_target *g;
		size_t k;
		if (t->pairs[i].target_offset == 0)
			continue;
		g = &t->targets[t->target_count];
		rc = parse_target(p, t->pairs[i].target_offset, i, g);
		t->target_count++;
		if (rc)
			return rc;
		for (k = 0; k + 1 < t->target_count; k++)
			if (t->targets[k].index == g->index)
				return fail(p, ISC_ERR_PROTOCOL,
					    "target%zu.index: %u is already used by another target structure",
					    i, (unsigned)g->index);
		/* open-iscsi get_targets(): the NIC whose index == nic-assoc. */
		for (k = 0; k < t->nic_count; k++)
			if (t->nics[k].index == g->nic_assoc)
				break;
		if (k == t->nic_count)
			return fail(p, ISC_ERR_PROTOCOL, "target%zu.nic_assoc: %u names no NIC structure", i,
				    (unsigned)g->nic_assoc);
		g->nic = k;
	}
	return 0;
}

int isc_ibft_parse(const uint8_t *buf, size_t len, struct isc_ibft **out, char *err, size_t errlen)
{
	struct parser p = {buf, len, err, errlen};
	struct isc_ibft *t;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return ISC_ERR_INVAL;
	*out = NULL;
	if (!buf && len)
		return fail(&p, ISC_ERR_INVAL, "buffer: NULL");
	if (!buf)
		return fail(&p, ISC_ERR_PROTOCOL, "header: 0 bytes is shorter than the 48-byte table header");
	t = calloc(1, sizeof(*t));
	if (!t)
		return fail(&p, ISC_ERR_NOMEM, "out of memory");
	rc = parse_all(&p, len, t);
	if (rc) {
		isc_ibft_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

const struct isc_ibft_nic *isc_ibft_boot_nic(const struct isc_ibft *t)
{
	for (size_t i = 0; t && i < t->nic_count; i++)
		if (t->nics[i].flags & ISC_IBFT_FL_BOOT_SELECTED)
			return &t->nics[i];
	return NULL;
}

const struct isc_ibft_target *isc_ibft_boot_target(const struct isc_ibft *t)
{
	for (size_t i = 0; t && i < t->target_count; i++)
		if (t->targets[i].flags & ISC_IBFT_FL_BOOT_SELECTED)
			return &t->targets[i];
	return NULL;
}
