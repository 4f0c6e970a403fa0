/*
 * iscsid management IPC: layouts, request builders and response decoder
 * (pure functions over bytes; contract: include/isc/iscsid.h).
 *
 * Facts used (no code taken): iscsiadm_req_t / iscsiadm_rsp_t from open-iscsi
 * usr/mgmt_ipc.h; node_rec_t field offsets per release from pahole dumps
 * (iscsid_layouts.inc); the node-record key names and value spellings of
 * usr/idbm_fields.h + idbm_recinfo_node() (2.1.8); the defaults of
 * idbm_node_setup_defaults() and usr/iscsi_settings.h (2.1.8); error codes
 * of include/iscsi_err.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "iscsid_layout.h"
#include "isc/errors.h"

#include "iscsid_layouts.inc"

#define N_LAYOUTS (sizeof(all_layouts) / sizeof(all_layouts[0]))

const struct isc_rec_layout *isc_iscsid_layout_at(size_t index)
{
	return index < N_LAYOUTS ? all_layouts[index] : NULL;
}

const struct isc_rec_layout *isc_iscsid_layout_for_size(size_t request_size)
{
	for (size_t i = 0; i < N_LAYOUTS; i++)
		if (all_layouts[i]->request_size == request_size)
			return all_layouts[i];
	return NULL;
}

size_t isc_iscsid_layout_request_size(const struct isc_rec_layout *layout)
{
	return layout ? layout->request_size : 0;
}

const char *isc_iscsid_layout_versions(const struct isc_rec_layout *layout)
{
	return layout ? layout->versions : "unknown";
}

/* ---- value kinds ---------------------------------------------------------- */

enum kind {
	K_INT,      /* decimal integer */
	K_STR,      /* NUL-terminated string field */
	K_SECRET,   /* CHAP secret: string + its length field */
	K_ENUM,     /* one of `names`, stored as its index */
	K_CHAP_ALGS,/* comma list of CHAP algorithm names */
	K_DISC_TYPE,/* discovery_type_e, release dependent */
	K_IGNORE,   /* accepted, not part of the login request */
};

static const char *const no_yes[] = { "No", "Yes", NULL };
static const char *const startup_names[] = { "manual", "automatic", "onboot", NULL };
static const char *const scan_names[] = { "manual", "auto", NULL };
static const char *const authmethod_names[] = { "None", "CHAP", NULL };
static const char *const digest_names[] = { "None", "CRC32C", "CRC32C,None", "None,CRC32C", NULL };

struct key_spec {
	const char *key;
	enum kind kind;
	int field;                 /* enum isc_rec_field */
	const char *const *names;  /* K_ENUM */
	int length_field;          /* K_SECRET: where its length goes */
	long min, max;             /* K_INT range */
};

#define INT_KEY(k, f, lo, hi) { k, K_INT, ISC_RF_##f, NULL, 0, lo, hi }
#define STR_KEY(k, f) { k, K_STR, ISC_RF_##f, NULL, 0, 0, 0 }
#define ENUM_KEY(k, f, n) { k, K_ENUM, ISC_RF_##f, n, 0, 0, 0 }
#define IGNORE_KEY(k) { k, K_IGNORE, 0, NULL, 0, 0, 0 }

static const struct key_spec key_specs[] = {
	STR_KEY("node.name", NAME),
	INT_KEY("node.tpgt", TPGT, -1, 65535),
	ENUM_KEY("node.startup", STARTUP, startup_names),
	ENUM_KEY("node.leading_login", LEADING_LOGIN, no_yes),
	{ "node.discovery_type", K_DISC_TYPE, ISC_RF_DISC_TYPE, NULL, 0, 0, 0 },
	STR_KEY("node.discovery_address", DISC_ADDRESS),
	INT_KEY("node.discovery_port", DISC_PORT, 0, 65535),
	INT_KEY("node.session.initial_cmdsn", INITIAL_CMDSN, 0, INT_MAX),
	INT_KEY("node.session.initial_login_retry_max", INITIAL_LOGIN_RETRY_MAX, 0, INT_MAX),
	INT_KEY("node.session.xmit_thread_priority", XMIT_THREAD_PRIORITY, -20, 19),
	INT_KEY("node.session.cmds_max", CMDS_MAX, 1, INT_MAX),
	INT_KEY("node.session.queue_depth", QUEUE_DEPTH, 1, INT_MAX),
	INT_KEY("node.session.nr_sessions", NR_SESSIONS, 1, INT_MAX),
	ENUM_KEY("node.session.auth.authmethod", AUTHMETHOD, authmethod_names),
	STR_KEY("node.session.auth.username", USERNAME),
	{ "node.session.auth.password", K_SECRET, ISC_RF_PASSWORD, NULL, ISC_RF_PASSWORD_LENGTH, 0, 0 },
	STR_KEY("node.session.auth.username_in", USERNAME_IN),
	{ "node.session.auth.password_in", K_SECRET, ISC_RF_PASSWORD_IN, NULL, ISC_RF_PASSWORD_IN_LENGTH, 0, 0 },
	/* Derived from the secrets themselves, as iscsiadm does. */
	IGNORE_KEY("node.session.auth.password_length"),
	IGNORE_KEY("node.session.auth.password_in_length"),
	{ "node.session.auth.chap_algs", K_CHAP_ALGS, ISC_RF_CHAP_ALGS, NULL, 0, 0, 0 },
	INT_KEY("node.session.timeo.replacement_timeout", REPLACEMENT_TIMEOUT, -1, INT_MAX),
	INT_KEY("node.session.err_timeo.abort_timeout", ABORT_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.session.err_timeo.lu_reset_timeout", LU_RESET_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.session.err_timeo.tgt_reset_timeout", TGT_RESET_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.session.err_timeo.host_reset_timeout", HOST_RESET_TIMEOUT, 0, INT_MAX),
	ENUM_KEY("node.session.iscsi.FastAbort", FAST_ABORT, no_yes),
	ENUM_KEY("node.session.iscsi.InitialR2T", INITIAL_R2T, no_yes),
	ENUM_KEY("node.session.iscsi.ImmediateData", IMMEDIATE_DATA, no_yes),
	INT_KEY("node.session.iscsi.FirstBurstLength", FIRST_BURST, 512, 16777215),
	INT_KEY("node.session.iscsi.MaxBurstLength", MAX_BURST, 512, 16777215),
	INT_KEY("node.session.iscsi.DefaultTime2Retain", TIME2RETAIN, 0, 3600),
	INT_KEY("node.session.iscsi.DefaultTime2Wait", TIME2WAIT, 0, 3600),
	INT_KEY("node.session.iscsi.MaxConnections", MAX_CONNECTIONS, 1, 65535),
	INT_KEY("node.session.iscsi.MaxOutstandingR2T", MAX_R2T, 1, 65535),
	INT_KEY("node.session.iscsi.ERL", ERL, 0, 2),
	ENUM_KEY("node.session.scan", SCAN, scan_names),
	INT_KEY("node.session.reopen_max", REOPEN_MAX, 0, INT_MAX),
	STR_KEY("node.conn[0].address", CONN_ADDRESS),
	INT_KEY("node.conn[0].port", CONN_PORT, 1, 65535),
	ENUM_KEY("node.conn[0].startup", CONN_STARTUP, startup_names),
	INT_KEY("node.conn[0].tcp.window_size", WINDOW_SIZE, 0, INT_MAX),
	INT_KEY("node.conn[0].tcp.type_of_service", TYPE_OF_SERVICE, 0, 255),
	INT_KEY("node.conn[0].timeo.logout_timeout", LOGOUT_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.conn[0].timeo.login_timeout", LOGIN_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.conn[0].timeo.auth_timeout", AUTH_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.conn[0].timeo.noop_out_interval", NOOP_OUT_INTERVAL, 0, INT_MAX),
	INT_KEY("node.conn[0].timeo.noop_out_timeout", NOOP_OUT_TIMEOUT, 0, INT_MAX),
	INT_KEY("node.conn[0].iscsi.MaxXmitDataSegmentLength", MAX_XMIT_DSL, 0, 16777215),
	INT_KEY("node.conn[0].iscsi.MaxRecvDataSegmentLength", MAX_RECV_DSL, 512, 16777215),
	ENUM_KEY("node.conn[0].iscsi.HeaderDigest", HEADER_DIGEST, digest_names),
	ENUM_KEY("node.conn[0].iscsi.DataDigest", DATA_DIGEST, digest_names),
	ENUM_KEY("node.conn[0].iscsi.IFMarker", IFMARKER, no_yes),
	ENUM_KEY("node.conn[0].iscsi.OFMarker", OFMARKER, no_yes),
	STR_KEY("iface.iscsi_ifacename", IFACE_NAME),
	INT_KEY("iface.iface_num", IFACE_NUM, 0, INT_MAX),
	STR_KEY("iface.net_ifacename", IFACE_NETDEV),
	STR_KEY("iface.ipaddress", IFACE_IPADDRESS),
	STR_KEY("iface.hwaddress", IFACE_HWADDRESS),
	STR_KEY("iface.transport_name", IFACE_TRANSPORT),
	STR_KEY("iface.initiatorname", IFACE_INAME),
	/* Stored in node files, not used by a software-iSCSI login. */
	IGNORE_KEY("node.boot_lun"),
	IGNORE_KEY("node.session.auth.sid"),
};

#define N_KEYS (sizeof(key_specs) / sizeof(key_specs[0]))

static const struct key_spec *find_key(const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(key_specs[i].key, key) == 0)
			return &key_specs[i];
	return NULL;
}

/* The remaining iface.* keys (IP/VLAN/DHCP/TCP settings, ...) configure
 * offload adapters; iscsid applies none of them to the tcp/iser transports
 * (iface_setup_host_params only runs for offload), which are the only
 * transports accepted here. */
static int is_offload_only_iface_key(const char *key)
{
	return strncmp(key, "iface.", 6) == 0;
}

/* ---- field writers ---------------------------------------------------------- */

static void put_int(uint8_t *rec, const struct isc_rec_field_pos *p, long v)
{
	int32_t x = (int32_t)v;
	memcpy(rec + p->offset, &x, sizeof(x));  /* native endianness, like iscsid */
}

static int parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s)
		return ISC_ERR_INVAL;
	errno = 0;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (errno || !end || *end != '\0' || v < min || v > max)
		return ISC_ERR_INVAL;
	*out = v;
	return ISC_OK;
}

static int enum_index(const char *const *names, const char *value)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], value) == 0)
			return i;
	return -1;
}

/* open-iscsi writes "<empty>" for empty strings in node files. */
static const char *unempty(const char *v)
{
	return strcmp(v, "<empty>") == 0 ? "" : v;
}

static int put_str(uint8_t *rec, const struct isc_rec_field_pos *p, const char *v)
{
	size_t n = strlen(v);
	if (n >= (size_t)p->size)
		return ISC_ERR_TOO_LARGE;
	memset(rec + p->offset, 0, (size_t)p->size);
	memcpy(rec + p->offset, v, n);
	return ISC_OK;
}

static int put_chap_algs(uint8_t *rec, const struct isc_rec_layout *l, const char *value)
{
	static const struct { const char *name; int32_t id; } algs[] = {
		{ "MD5", 5 }, { "SHA1", 6 }, { "SHA256", 7 }, { "SHA3-256", 8 },
	};
	int32_t list[5];
	size_t n = 0;
	int has_md5 = 0;
	const char *s = value;
	while (*s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		while (len && *s == ' ') { s++; len--; }
		while (len && s[len - 1] == ' ') len--;
		int32_t id = -1;
		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			if (strlen(algs[i].name) == len && strncmp(algs[i].name, s, len) == 0)
				id = algs[i].id;
		if (id < 0 || n == 5)
			return ISC_ERR_INVAL;
		for (size_t i = 0; i < n; i++)
			if (list[i] == id)
				return ISC_ERR_INVAL;
		has_md5 |= id == 5;
		list[n++] = id;
		if (!comma)
			break;
		s = comma + 1;
	}
	if (n == 0)
		return ISC_ERR_INVAL;
	const struct isc_rec_field_pos *p = &l->fields[ISC_RF_CHAP_ALGS];
	if (p->offset < 0)
		/* Releases before 2.1.1 only speak MD5 and have no such field. */
		return has_md5 ? ISC_OK : ISC_ERR_UNSUPPORTED;
	/* Unused slots are ~0 ("unset"), as idbm_node_setup_defaults does. */
	memset(rec + p->offset, 0xff, (size_t)p->size);
	memcpy(rec + p->offset, list, n * sizeof(int32_t));
	return ISC_OK;
}

static int put_disc_type(uint8_t *rec, const struct isc_rec_layout *l, const char *value)
{
	/* Names as idbm_recinfo_node() prints them. */
	static const char *const with_slp[] = { "send_targets", "isns", "offload_send_targets", "slp", "static", "fw", NULL };
	static const char *const without_slp[] = { "send_targets", "isns", "offload_send_targets", "static", "fw", NULL };
	int i = enum_index(l->disc_type_has_slp ? with_slp : without_slp, value);
	if (i < 0)
		return ISC_ERR_INVAL;
	put_int(rec, &l->fields[ISC_RF_DISC_TYPE], i);
	return ISC_OK;
}

/* idbm_node_setup_defaults() (open-iscsi 2.1.8) + iface_setup_defaults(). */
static void apply_defaults(uint8_t *rec, const struct isc_rec_layout *l)
{
	static const struct { int field; int32_t value; } ints[] = {
		{ ISC_RF_TPGT, -1 },
		{ ISC_RF_CMDS_MAX, 128 },
		{ ISC_RF_XMIT_THREAD_PRIORITY, -20 },
		{ ISC_RF_QUEUE_DEPTH, 32 },
		{ ISC_RF_NR_SESSIONS, 1 },
		{ ISC_RF_INITIAL_LOGIN_RETRY_MAX, 4 },
		{ ISC_RF_ABORT_TIMEOUT, 15 },
		{ ISC_RF_LU_RESET_TIMEOUT, 30 },
		{ ISC_RF_TGT_RESET_TIMEOUT, 30 },
		{ ISC_RF_HOST_RESET_TIMEOUT, 60 },
		{ ISC_RF_REPLACEMENT_TIMEOUT, 120 },
		{ ISC_RF_SCAN, 1 },
		{ ISC_RF_IMMEDIATE_DATA, 1 },
		{ ISC_RF_FIRST_BURST, 262144 },
		{ ISC_RF_MAX_BURST, 16776192 },
		{ ISC_RF_TIME2WAIT, 2 },
		{ ISC_RF_MAX_CONNECTIONS, 1 },
		{ ISC_RF_MAX_R2T, 1 },
		{ ISC_RF_FAST_ABORT, 1 },
		{ ISC_RF_CONN_PORT, 3260 },
		{ ISC_RF_WINDOW_SIZE, 512 * 1024 },
		{ ISC_RF_LOGIN_TIMEOUT, 30 },
		{ ISC_RF_LOGOUT_TIMEOUT, 15 },
		{ ISC_RF_AUTH_TIMEOUT, 45 },
		{ ISC_RF_NOOP_OUT_INTERVAL, 5 },
		{ ISC_RF_NOOP_OUT_TIMEOUT, 5 },
		{ ISC_RF_MAX_RECV_DSL, 262144 },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (l->fields[ints[i].field].offset >= 0)
			put_int(rec, &l->fields[ints[i].field], ints[i].value);
	put_disc_type(rec, l, "static");
	if (l->fields[ISC_RF_CHAP_ALGS].offset >= 0)
		put_chap_algs(rec, l, "MD5");
	put_str(rec, &l->fields[ISC_RF_IFACE_NAME], "default");
	put_str(rec, &l->fields[ISC_RF_IFACE_TRANSPORT], "tcp");
}

static void report_key(char *bad_key, size_t len, const char *key)
{
	if (!bad_key || !len)
		return;
	size_t n = strlen(key);
	if (n >= len)
		n = len - 1;
	memcpy(bad_key, key, n);
	bad_key[n] = '\0';
}

static int apply_key(uint8_t *rec, const struct isc_rec_layout *l, const char *key, const char *raw)
{
	const struct key_spec *spec = find_key(key);
	if (!spec)
		return is_offload_only_iface_key(key) ? ISC_OK : ISC_ERR_INVAL;
	const char *value = unempty(raw);
	const struct isc_rec_field_pos *p = spec->kind == K_IGNORE ? NULL : &l->fields[spec->field];
	if (p && p->offset < 0 && spec->kind != K_CHAP_ALGS) {
		/* This release has no such field: fine as long as the value is the
		 * built-in default it would have had anyway. */
		if (spec->kind == K_ENUM && strcmp(key, "node.session.scan") == 0 && strcmp(value, "auto") == 0)
			return ISC_OK;
		return ISC_ERR_UNSUPPORTED;
	}
	long v;
	int rc;
	switch (spec->kind) {
	case K_IGNORE:
		return ISC_OK;
	case K_INT:
		if ((rc = parse_long(value, spec->min, spec->max, &v)) < 0)
			return rc;
		put_int(rec, p, v);
		return ISC_OK;
	case K_STR:
		if (l->alt_transport_offset &&
		    (spec->field == ISC_RF_IFACE_HWADDRESS || spec->field == ISC_RF_IFACE_INAME) && *value)
			return ISC_ERR_UNSUPPORTED;  /* ambiguous offsets, see iscsid_layout.h */
		if (spec->field == ISC_RF_IFACE_TRANSPORT && strcmp(value, "tcp") != 0 && strcmp(value, "iser") != 0)
			return ISC_ERR_UNSUPPORTED;  /* offload transports need iface host params */
		return put_str(rec, p, value);
	case K_SECRET: {
		size_t n = strlen(value);
		if ((rc = put_str(rec, p, value)) < 0)
			return rc;
		put_int(rec, &l->fields[spec->length_field], (long)n);
		return ISC_OK;
	}
	case K_ENUM: {
		int i = enum_index(spec->names, value);
		if (i < 0)
			return ISC_ERR_INVAL;
		put_int(rec, p, i);
		return ISC_OK;
	}
	case K_CHAP_ALGS:
		return put_chap_algs(rec, l, value);
	case K_DISC_TYPE:
		return put_disc_type(rec, l, value);
	}
	return ISC_ERR_INVAL;
}

int isc_iscsid_build_login(const struct isc_rec_layout *layout, const char *const *keys,
			   const char *const *values, size_t count, uint8_t *buf, size_t buflen,
			   char *bad_key, size_t bad_key_len)
{
	if (bad_key && bad_key_len)
		bad_key[0] = '\0';
	if (!layout || !buf || (count && (!keys || !values)))
		return ISC_ERR_INVAL;
	if (buflen < layout->request_size)
		return ISC_ERR_TOO_LARGE;
	memset(buf, 0, layout->request_size);
	int32_t cmd = ISC_IPC_SESSION_LOGIN;
	memcpy(buf, &cmd, sizeof(cmd));
	uint8_t *rec = buf + ISC_REQ_REC_OFFSET;
	apply_defaults(rec, layout);

	int have_name = 0, have_address = 0;
	for (size_t i = 0; i < count; i++) {
		if (!keys[i] || !values[i]) {
			isc_memzero(buf, layout->request_size);
			return ISC_ERR_INVAL;
		}
		int rc = apply_key(rec, layout, keys[i], values[i]);
		if (rc < 0) {
			report_key(bad_key, bad_key_len, keys[i]);
			isc_memzero(buf, layout->request_size);
			return rc;
		}
		have_name |= strcmp(keys[i], "node.name") == 0 && *unempty(values[i]);
		have_address |= strcmp(keys[i], "node.conn[0].address") == 0 && *unempty(values[i]);
	}
	if (!have_name || !have_address) {
		report_key(bad_key, bad_key_len, have_name ? "node.conn[0].address" : "node.name");
		isc_memzero(buf, layout->request_size);
		return ISC_ERR_INVAL;
	}
	if (layout->alt_transport_offset) {
		const struct isc_rec_field_pos *t = &layout->fields[ISC_RF_IFACE_TRANSPORT];
		/* Same string at the sibling release's offset (4 bytes earlier: the
		 * tail of an empty hwaddress here, the head of transport_name there). */
		if (rec[t->offset + 3] != '\0') {  /* only "tcp" fits in both */
			report_key(bad_key, bad_key_len, "iface.transport_name");
			isc_memzero(buf, layout->request_size);
			return ISC_ERR_UNSUPPORTED;
		}
		memcpy(rec + layout->alt_transport_offset, rec + t->offset, 4);
	}
	return (int)layout->request_size;
}

int isc_iscsid_build_simple(int command, int sid, uint8_t *buf, size_t len)
{
	if (!buf || len < ISC_REQ_REC_OFFSET || command <= 0 || command == ISC_IPC_SESSION_LOGIN ||
	    command == 11 /* IMMEDIATE_STOP: never */ || command == 12 /* SESSION_SYNC needs a rec */)
		return ISC_ERR_INVAL;
	memset(buf, 0, len);
	int32_t c = command, s = sid;
	memcpy(buf, &c, 4);
	memcpy(buf + ISC_REQ_SID_OFFSET, &s, 4);
	return (int)len;
}

int isc_iscsid_parse_response(const uint8_t *buf, size_t len, int expected_command,
			      struct isc_iscsid_response *out)
{
	if (!buf || !out)
		return ISC_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (len < ISC_ISCSID_RSP_SIZE)
		return ISC_ERR_PROTOCOL;
	int32_t cmd, err;
	memcpy(&cmd, buf, 4);
	memcpy(&err, buf + 4, 4);
	out->command = cmd;
	out->iscsid_err = err;
	/* iscsid answers an unauthorized peer with (0, ISCSI_ERR_ACCESS) before
	 * reading the request (mgmt_ipc_handle(), open-iscsi 2.1.8). */
	if (cmd != expected_command && !(cmd == 0 && err == 13))
		return ISC_ERR_PROTOCOL;
	if (expected_command == ISC_IPC_CONFIG_INAME || expected_command == ISC_IPC_CONFIG_IALIAS ||
	    expected_command == ISC_IPC_CONFIG_FILE) {
		/* rsp.u.config.var[255] at offset 8; may lack a NUL. */
		size_t n = strnlen((const char *)buf + 8, 255);
		memcpy(out->text, buf + 8, n);
		out->text[n] = '\0';
	} else if (expected_command == ISC_IPC_SESSION_INFO) {
		int32_t a, b;
		memcpy(&a, buf + 8, 4);
		memcpy(&b, buf + 12, 4);
		out->session_state = a;
		out->conn_state = b;
	}
	return ISC_OK;
}

/* include/iscsi_err.h (identical 0..31 since 2.0.874; 32 from 2.1.0; 33 from 2.1.6). */
static const char *const iscsid_err_names[] = {
	"ISCSI_SUCCESS", "ISCSI_ERR", "ISCSI_ERR_SESS_NOT_FOUND", "ISCSI_ERR_NOMEM",
	"ISCSI_ERR_TRANS", "ISCSI_ERR_LOGIN", "ISCSI_ERR_IDBM", "ISCSI_ERR_INVAL",
	"ISCSI_ERR_TRANS_TIMEOUT", "ISCSI_ERR_INTERNAL", "ISCSI_ERR_LOGOUT", "ISCSI_ERR_PDU_TIMEOUT",
	"ISCSI_ERR_TRANS_NOT_FOUND", "ISCSI_ERR_ACCESS", "ISCSI_ERR_TRANS_CAPS", "ISCSI_ERR_SESS_EXISTS",
	"ISCSI_ERR_INVALID_MGMT_REQ", "ISCSI_ERR_ISNS_UNAVAILABLE", "ISCSI_ERR_ISCSID_COMM_ERR",
	"ISCSI_ERR_FATAL_LOGIN", "ISCSI_ERR_ISCSID_NOTCONN", "ISCSI_ERR_NO_OBJS_FOUND",
	"ISCSI_ERR_SYSFS_LOOKUP", "ISCSI_ERR_HOST_NOT_FOUND", "ISCSI_ERR_LOGIN_AUTH_FAILED",
	"ISCSI_ERR_ISNS_QUERY", "ISCSI_ERR_ISNS_REG_FAILED", "ISCSI_ERR_OP_NOT_SUPP", "ISCSI_ERR_BUSY",
	"ISCSI_ERR_AGAIN", "ISCSI_ERR_UNKNOWN_DISCOVERY_TYPE", "ISCSI_ERR_CHILD_TERMINATED",
	"ISCSI_ERR_SESSION_NOT_CONNECTED", "ISCSI_ERR_REQ_TIMEDOUT",
};

const char *isc_iscsid_error_name(int e)
{
	if (e < 0 || (size_t)e >= sizeof(iscsid_err_names) / sizeof(iscsid_err_names[0]))
		return "ISCSI_ERR_UNKNOWN";
	return iscsid_err_names[e];
}

int isc_iscsid_error(int e)
{
	switch (e) {
	case 0: return ISC_OK;
	case 2: return ISC_ERR_SESSION_NOT_FOUND;
	case 3: return ISC_ERR_NOMEM;
	case 7: return ISC_ERR_INVAL;
	case 8: case 11: case 33: return ISC_ERR_TIMEDOUT;
	case 12: return ISC_ERR_TRANSPORT_NOT_FOUND;
	case 13: return ISC_ERR_PERMISSION;
	case 15: return ISC_ERR_ALREADY_LOGGED_IN;
	case 19: return ISC_ERR_LOGIN_REJECTED;   /* FATAL_LOGIN: the target refused for good */
	case 24: return ISC_ERR_AUTH_FAILED;
	case 27: return ISC_ERR_UNSUPPORTED;
	default: return ISC_ERR_ISCSID;
	}
}
