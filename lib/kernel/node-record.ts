/**
 * open-iscsi node records: the key set, built-in defaults and the text
 * format iscsiadm 2.1.8 reads and writes under <dbroot>/nodes/.
 *
 * Facts (not code) from open-iscsi 2.1.8:
 *  - key names: usr/idbm_fields.h;
 *  - key order, value kinds and enum spellings: idbm_recinfo_node() in
 *    usr/idbm.c (the order iscsiadm writes a record in);
 *  - built-in defaults: idbm_node_setup_defaults() in usr/idbm.c plus
 *    usr/config.h / usr/initiator.h constants, checked against a record
 *    written by Debian 12's iscsiadm 2.1.8 with no iscsid.conf
 *    (test/fixtures/node-db/);
 *  - the file format: idbm_print() writes "# BEGIN RECORD 2.1.8", one
 *    "key = value" line per visible key whose value is not empty (empty
 *    strings are left out; numbers are always written), "# END RECORD";
 *    idbm_recinfo_config() reads "key = value" lines, skipping blank and '#'
 *    lines and stripping surrounding white space;
 *  - which iface.* keys a record carries depends on the iface's address
 *    family (iface_get_iptype() in usr/iface.c): IPv4 keys unless
 *    iface.ipaddress has no '.' (and bootproto is not dhcp) or, with no
 *    address, the iface name contains "ipv6".
 */
import { inspect } from 'node:util';
import { ErrorCodes, IscsiError, invalidArg } from '../errors';

/** A node record keyed by open-iscsi key names; values exactly as written
 * in the file ("automatic", "CHAP", "Yes", "CRC32C,None", "-1"...). A key
 * that is absent means "empty" (iscsiadm does not write empty strings). */
export type NodeRecord = Record<string, string>;

/** The version string iscsiadm puts in the BEGIN line; records written here
 * claim the format of the version they are byte-compatible with. */
export const RECORD_VERSION = '2.1.8';
export const BEGIN_RECORD = `# BEGIN RECORD ${RECORD_VERSION}`;
export const END_RECORD = '# END RECORD';

/** Bounds used by every reader (records are a few KB; iscsiadm's own
 * line buffer is 2048 bytes and its values are at most 255 bytes). */
export const MAX_RECORD_BYTES = 256 * 1024;
export const MAX_LINE_BYTES = 2047;
export const MAX_VALUE_BYTES = 255;

type Kind =
  | { t: 'str' }
  | { t: 'int' }
  | { t: 'uint'; max: number }
  | { t: 'enum'; opts: readonly string[] }
  | { t: 'algs' };

interface KeyInfo {
  key: string;
  kind: Kind;
  /** False for the fields iscsiadm uses to look a record up ("cannot be changed"). */
  modifiable: boolean;
  /** Written only for ifaces of this address family. */
  family?: 'ipv4' | 'ipv6';
}

const STR: Kind = { t: 'str' };
const INT: Kind = { t: 'int' };
const U8: Kind = { t: 'uint', max: 0xff };
const U16: Kind = { t: 'uint', max: 0xffff };
const U32: Kind = { t: 'uint', max: 0xffffffff };
const NO_YES: Kind = { t: 'enum', opts: ['No', 'Yes'] };
const STARTUP: Kind = { t: 'enum', opts: ['manual', 'automatic', 'onboot'] };
const DIGEST: Kind = { t: 'enum', opts: ['None', 'CRC32C', 'CRC32C,None', 'None,CRC32C'] };

/** CHAP algorithm names of node.session.auth.chap_algs (usr/idbm.c chap_algs[]). */
export const CHAP_ALG_NAMES: readonly string[] = ['MD5', 'SHA1', 'SHA256', 'SHA3-256'];
/** open-iscsi keeps at most AUTH_CHAP_ALG_MAX_COUNT (5) entries. */
const MAX_CHAP_ALGS = 5;

function k(key: string, kind: Kind, modifiable = true, family?: 'ipv4' | 'ipv6'): KeyInfo {
  return { key, kind, modifiable, family };
}

// Order = idbm_recinfo_node() of open-iscsi 2.1.8 (usr/idbm.c:282-575).
const TABLE: readonly KeyInfo[] = [
  k('node.name', STR, false),
  k('node.tpgt', INT, false),
  k('node.startup', STARTUP),
  k('node.leading_login', NO_YES),
  k('iface.hwaddress', STR),
  k('iface.ipaddress', STR),
  k('iface.iscsi_ifacename', STR),
  k('iface.net_ifacename', STR),
  k('iface.gateway', STR),
  k('iface.subnet_mask', STR),
  k('iface.prefix_len', U8),
  k('iface.transport_name', STR),
  k('iface.initiatorname', STR),
  k('iface.state', STR),
  k('iface.vlan_id', U16),
  k('iface.vlan_priority', U8),
  k('iface.vlan_state', STR),
  k('iface.iface_num', INT),
  k('iface.mtu', U16),
  k('iface.port', U16),
  k('iface.bootproto', STR, true, 'ipv4'),
  k('iface.dhcp_alt_client_id_state', STR, true, 'ipv4'),
  k('iface.dhcp_alt_client_id', STR, true, 'ipv4'),
  k('iface.dhcp_dns', STR, true, 'ipv4'),
  k('iface.dhcp_learn_iqn', STR, true, 'ipv4'),
  k('iface.dhcp_req_vendor_id_state', STR, true, 'ipv4'),
  k('iface.dhcp_vendor_id_state', STR, true, 'ipv4'),
  k('iface.dhcp_vendor_id', STR, true, 'ipv4'),
  k('iface.dhcp_slp_da', STR, true, 'ipv4'),
  k('iface.fragmentation', STR, true, 'ipv4'),
  k('iface.gratuitous_arp', STR, true, 'ipv4'),
  k('iface.incoming_forwarding', STR, true, 'ipv4'),
  k('iface.tos_state', STR, true, 'ipv4'),
  k('iface.tos', U8, true, 'ipv4'),
  k('iface.ttl', U8, true, 'ipv4'),
  k('iface.ipv6_autocfg', STR, true, 'ipv6'),
  k('iface.linklocal_autocfg', STR, true, 'ipv6'),
  k('iface.router_autocfg', STR, true, 'ipv6'),
  k('iface.ipv6_linklocal', STR, true, 'ipv6'),
  k('iface.ipv6_router', STR, true, 'ipv6'),
  k('iface.dup_addr_detect_cnt', U8, true, 'ipv6'),
  k('iface.flow_label', U32, true, 'ipv6'),
  k('iface.gratuitous_neighbor_adv', STR, true, 'ipv6'),
  k('iface.hop_limit', U8, true, 'ipv6'),
  k('iface.mld', STR, true, 'ipv6'),
  k('iface.nd_reachable_tmo', U32, true, 'ipv6'),
  k('iface.nd_rexmit_time', U32, true, 'ipv6'),
  k('iface.nd_stale_tmo', U32, true, 'ipv6'),
  k('iface.router_adv_link_mtu', U32, true, 'ipv6'),
  k('iface.traffic_class', U8, true, 'ipv6'),
  k('iface.delayed_ack', STR),
  k('iface.tcp_nagle', STR),
  k('iface.tcp_wsf_state', STR),
  k('iface.tcp_wsf', U8),
  k('iface.tcp_timer_scale', U8),
  k('iface.tcp_timestamp', STR),
  k('iface.redirect', STR),
  k('iface.def_task_mgmt_timeout', U16),
  k('iface.header_digest', STR),
  k('iface.data_digest', STR),
  k('iface.immediate_data', STR),
  k('iface.initial_r2t', STR),
  k('iface.data_seq_inorder', STR),
  k('iface.data_pdu_inorder', STR),
  k('iface.erl', U8),
  k('iface.max_receive_data_len', U32),
  k('iface.first_burst_len', U32),
  k('iface.max_outstanding_r2t', U16),
  k('iface.max_burst_len', U32),
  k('iface.chap_auth', STR),
  k('iface.bidi_chap', STR),
  k('iface.strict_login_compliance', STR),
  k('iface.discovery_auth', STR),
  k('iface.discovery_logout', STR),
  k('node.discovery_address', STR, false),
  k('node.discovery_port', INT, false),
  // 2.1.8 spells all six discovery_type_e values (usr/idbm.c:442-444).
  k('node.discovery_type', { t: 'enum', opts: ['send_targets', 'isns', 'offload_send_targets', 'slp', 'static', 'fw'] }, false),
  k('node.session.initial_cmdsn', INT),
  k('node.session.initial_login_retry_max', INT),
  k('node.session.xmit_thread_priority', INT),
  k('node.session.cmds_max', INT),
  k('node.session.queue_depth', INT),
  k('node.session.nr_sessions', INT),
  k('node.session.auth.authmethod', { t: 'enum', opts: ['None', 'CHAP'] }),
  k('node.session.auth.username', STR),
  k('node.session.auth.password', STR),
  k('node.session.auth.username_in', STR),
  k('node.session.auth.password_in', STR),
  k('node.session.auth.chap_algs', { t: 'algs' }),
  k('node.session.timeo.replacement_timeout', INT),
  k('node.session.err_timeo.abort_timeout', INT),
  k('node.session.err_timeo.lu_reset_timeout', INT),
  k('node.session.err_timeo.tgt_reset_timeout', INT),
  k('node.session.err_timeo.host_reset_timeout', INT),
  k('node.session.iscsi.FastAbort', NO_YES),
  k('node.session.iscsi.InitialR2T', NO_YES),
  k('node.session.iscsi.ImmediateData', NO_YES),
  k('node.session.iscsi.FirstBurstLength', INT),
  k('node.session.iscsi.MaxBurstLength', INT),
  k('node.session.iscsi.DefaultTime2Retain', INT),
  k('node.session.iscsi.DefaultTime2Wait', INT),
  k('node.session.iscsi.MaxConnections', INT),
  k('node.session.iscsi.MaxOutstandingR2T', INT),
  k('node.session.iscsi.ERL', INT),
  k('node.session.scan', { t: 'enum', opts: ['manual', 'auto'] }),
  k('node.session.reopen_max', INT),
  k('node.conn[0].address', STR, false),
  k('node.conn[0].port', INT, false),
  k('node.conn[0].startup', STARTUP),
  k('node.conn[0].tcp.window_size', INT),
  k('node.conn[0].tcp.type_of_service', INT),
  k('node.conn[0].timeo.logout_timeout', INT),
  k('node.conn[0].timeo.login_timeout', INT),
  k('node.conn[0].timeo.auth_timeout', INT),
  k('node.conn[0].timeo.noop_out_interval', INT),
  k('node.conn[0].timeo.noop_out_timeout', INT),
  k('node.conn[0].iscsi.MaxXmitDataSegmentLength', INT),
  k('node.conn[0].iscsi.MaxRecvDataSegmentLength', INT),
  k('node.conn[0].iscsi.HeaderDigest', DIGEST),
  k('node.conn[0].iscsi.DataDigest', DIGEST),
  k('node.conn[0].iscsi.IFMarker', NO_YES),
  k('node.conn[0].iscsi.OFMarker', NO_YES),
];

const BY_KEY = new Map<string, KeyInfo>(TABLE.map((i) => [i.key, i]));

/** Every key a 2.1.8 node record can carry, in the order iscsiadm writes them. */
export const NODE_KEYS: readonly string[] = Object.freeze(TABLE.map((i) => i.key));

/** Keys iscsiadm refuses to update because they identify the record. */
export const NODE_IDENTITY_KEYS: readonly string[] = Object.freeze(
  TABLE.filter((i) => !i.modifiable).map((i) => i.key),
);

export function isNodeKey(key: string): boolean {
  return BY_KEY.has(key);
}

/**
 * open-iscsi's built-in values for a new node, exactly the lines iscsiadm
 * 2.1.8 writes for `-m node -o new` when iscsid.conf is not consulted
 * (minus node.name and node.conn[0].address, which identify the node).
 * node.session.auth.authmethod None + no password = no CHAP.
 */
export const OPEN_ISCSI_NODE_DEFAULTS: Readonly<NodeRecord> = Object.freeze({
  'node.tpgt': '-1',
  'node.startup': 'manual',
  'node.leading_login': 'No',
  'iface.iscsi_ifacename': 'default',
  'iface.prefix_len': '0',
  'iface.transport_name': 'tcp',
  'iface.vlan_id': '0',
  'iface.vlan_priority': '0',
  'iface.iface_num': '0',
  'iface.mtu': '0',
  'iface.port': '0',
  'iface.tos': '0',
  'iface.ttl': '0',
  'iface.tcp_wsf': '0',
  'iface.tcp_timer_scale': '0',
  'iface.def_task_mgmt_timeout': '0',
  'iface.erl': '0',
  'iface.max_receive_data_len': '0',
  'iface.first_burst_len': '0',
  'iface.max_outstanding_r2t': '0',
  'iface.max_burst_len': '0',
  'node.discovery_port': '0',
  'node.discovery_type': 'static',
  'node.session.initial_cmdsn': '0',
  'node.session.initial_login_retry_max': '4',
  'node.session.xmit_thread_priority': '-20',
  'node.session.cmds_max': '128',
  'node.session.queue_depth': '32',
  'node.session.nr_sessions': '1',
  'node.session.auth.authmethod': 'None',
  'node.session.auth.chap_algs': 'MD5',
  'node.session.timeo.replacement_timeout': '120',
  'node.session.err_timeo.abort_timeout': '15',
  'node.session.err_timeo.lu_reset_timeout': '30',
  'node.session.err_timeo.tgt_reset_timeout': '30',
  'node.session.err_timeo.host_reset_timeout': '60',
  'node.session.iscsi.FastAbort': 'Yes',
  'node.session.iscsi.InitialR2T': 'No',
  'node.session.iscsi.ImmediateData': 'Yes',
  'node.session.iscsi.FirstBurstLength': '262144',
  'node.session.iscsi.MaxBurstLength': '16776192',
  'node.session.iscsi.DefaultTime2Retain': '0',
  'node.session.iscsi.DefaultTime2Wait': '2',
  'node.session.iscsi.MaxConnections': '1',
  'node.session.iscsi.MaxOutstandingR2T': '1',
  'node.session.iscsi.ERL': '0',
  'node.session.scan': 'auto',
  'node.session.reopen_max': '0',
  'node.conn[0].port': '3260',
  'node.conn[0].startup': 'manual',
  'node.conn[0].tcp.window_size': '524288',
  'node.conn[0].tcp.type_of_service': '0',
  'node.conn[0].timeo.logout_timeout': '15',
  'node.conn[0].timeo.login_timeout': '30',
  'node.conn[0].timeo.auth_timeout': '45',
  'node.conn[0].timeo.noop_out_interval': '5',
  'node.conn[0].timeo.noop_out_timeout': '5',
  'node.conn[0].iscsi.MaxXmitDataSegmentLength': '0',
  'node.conn[0].iscsi.MaxRecvDataSegmentLength': '262144',
  'node.conn[0].iscsi.HeaderDigest': 'None',
  'node.conn[0].iscsi.DataDigest': 'None',
  'node.conn[0].iscsi.IFMarker': 'No',
  'node.conn[0].iscsi.OFMarker': 'No',
});

/** Keys holding CHAP secrets (node, discovery and host auth blocks). */
export function isSecretKey(key: string): boolean {
  return /(^|\.)auth\.password(_in)?$/.test(key);
}

export const REDACTED_VALUE = '********';

/** A copy with every non-empty secret replaced by '********' (what
 * `iscsiadm -m node -T ..` shows). For display and logs. */
export function redactRecord(rec: Readonly<NodeRecord>): NodeRecord {
  const out: NodeRecord = {};
  for (const [key, v] of Object.entries(rec)) out[key] = isSecretKey(key) && v !== '' ? REDACTED_VALUE : v;
  return out;
}

/**
 * Marks `rec` so util.inspect, console.log and JSON.stringify show it
 * redacted, while `rec['node.session.auth.password']` stays readable (the
 * login path needs it). Done with non-enumerable `toJSON` and
 * `[util.inspect.custom]` properties, so Object.keys/entries and spreads
 * see only the record keys (a spread copy is a plain, unredacted object).
 */
export function makeRedacted<T extends NodeRecord>(rec: T): T {
  Object.defineProperty(rec, 'toJSON', { value: () => redactRecord(rec), enumerable: false, configurable: true });
  Object.defineProperty(rec, inspect.custom, {
    value: (depth: number, options: object, insp: typeof inspect = inspect) =>
      insp(redactRecord(rec), { ...options, depth: depth < 0 ? 0 : depth }),
    enumerable: false,
    configurable: true,
  });
  return rec;
}

/** The iface address family that decides which iface.* keys are written. */
export function ifaceFamily(rec: Readonly<NodeRecord>): 'ipv4' | 'ipv6' {
  const ip = rec['iface.ipaddress'] ?? '';
  if (ip === '' || ip === '<empty>') {
    return (rec['iface.iscsi_ifacename'] ?? '').includes('ipv6') ? 'ipv6' : 'ipv4';
  }
  return rec['iface.bootproto'] !== 'dhcp' && !ip.includes('.') ? 'ipv6' : 'ipv4';
}

/** Numeric iface fields of the IPv6 block, written as "0" by iscsiadm when
 * the iface is IPv6 and they were never set. */
export const IPV6_IFACE_NUMERIC_KEYS: readonly string[] = Object.freeze(
  TABLE.filter((i) => i.family === 'ipv6' && i.kind.t === 'uint').map((i) => i.key),
);

const KEY_SYNTAX = /^[A-Za-z0-9_.[\]-]+$/;

/** Returns a reason when `value` cannot be stored under `key` (a value
 * open-iscsi would reject or mangle), else null. Never echoes secrets. */
export function nodeValueProblem(key: string, value: string): string | null {
  const info = BY_KEY.get(key);
  if (!info) return 'is not an open-iscsi 2.1.8 node record key';
  if (typeof value !== 'string') return 'must be a string';
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) return `must be at most ${MAX_VALUE_BYTES} bytes`;
  if (/[\x00-\x1f\x7f]/.test(value)) return 'must not contain control characters (newlines would start a new key)';
  // idbm_recinfo_config() strips white space around values: it would not round-trip.
  if (value !== value.trim()) return 'must not start or end with white space';
  if (value === '') return null;
  switch (info.kind.t) {
    case 'str':
      return null;
    case 'int':
      if (!/^-?[0-9]+$/.test(value)) return 'must be an integer';
      if (Number(value) < -2147483648 || Number(value) > 2147483647) return 'must fit in a signed 32-bit integer';
      return null;
    case 'uint':
      if (!/^[0-9]+$/.test(value) || Number(value) > info.kind.max) return `must be an integer 0..${info.kind.max}`;
      return null;
    case 'enum':
      return info.kind.opts.includes(value) ? null : `must be one of ${info.kind.opts.join(' | ')}`;
    case 'algs': {
      const parts = value.split(',');
      if (parts.length > MAX_CHAP_ALGS || new Set(parts).size !== parts.length) {
        return `must be a comma-separated list of distinct ${CHAP_ALG_NAMES.join(', ')}`;
      }
      for (const p of parts) if (!CHAP_ALG_NAMES.includes(p)) return `must list only ${CHAP_ALG_NAMES.join(', ')}`;
      return null;
    }
  }
}

/** Throws invalidArg when key/value cannot be stored. */
export function validateNodeValue(key: unknown, value: unknown, argName = 'key'): void {
  if (typeof key !== 'string' || !BY_KEY.has(key)) {
    throw invalidArg(argName, key, `must be one of the open-iscsi 2.1.8 node keys (NODE_KEYS)`);
  }
  if (typeof value !== 'string') throw invalidArg(`value of ${key}`, isSecretKey(key) ? '<secret>' : value, 'must be a string');
  const problem = nodeValueProblem(key, value);
  if (problem) throw invalidArg(`value of ${key}`, isSecretKey(key) ? '<secret>' : value, problem);
}

export function isModifiableKey(key: string): boolean {
  return BY_KEY.get(key)?.modifiable ?? false;
}

/**
 * The record in iscsiadm's file format: BEGIN line, known keys in NODE_KEYS
 * order (empty values left out, iface.* keys of the other address family
 * left out), END line, each line ending in "\n". Keys that are not 2.1.8
 * node keys are NOT written: libopeniscsiusr (used by `iscsiadm -m node`)
 * rejects a whole record over one unknown key. Throws invalidArg for a
 * value that would not survive a re-read (newline, bad enum...).
 */
export function formatNodeRecord(rec: Readonly<NodeRecord>): string {
  const family = ifaceFamily(rec);
  const lines = [BEGIN_RECORD];
  for (const info of TABLE) {
    if (info.family && info.family !== family) continue;
    let v = rec[info.key];
    if (v === undefined && family === 'ipv6' && info.family === 'ipv6' && info.kind.t === 'uint') v = '0';
    if (v === undefined || v === '') continue;
    validateNodeValue(info.key, v);
    lines.push(`${info.key} = ${v}`);
  }
  lines.push(END_RECORD);
  return `${lines.join('\n')}\n`;
}

function dbError(message: string): IscsiError {
  return new IscsiError(ErrorCodes.NODE_DB_ERROR, message);
}

export interface ParseOptions {
  /** Name used in error messages (a file path); never the content. */
  source?: string;
}

/**
 * One "key = value" line as open-iscsi's idbm_recinfo_config() splits it:
 * the key runs to the first white space or '='; then optional white space,
 * '=', optional white space; the value is the rest (already trimmed).
 * Returns null when the line has no '=' separator or no key.
 */
export function splitConfigLine(line: string): { key: string; value: string } | null {
  const m = /^([^\s=]+)\s*=\s*(.*)$/.exec(line);
  if (!m) return null;
  return { key: m[1], value: m[2] };
}

/**
 * Parses a node record file. Pure. Blank lines and '#' comments (including
 * BEGIN/END RECORD) are skipped; unknown but well-formed keys are kept (a
 * newer open-iscsi may have written them); a key repeated later wins (as in
 * iscsiadm). A "key =" line with nothing after '=' is skipped (as iscsiadm does).
 * Throws ISCSI_NODE_DB_ERROR naming the line number for a line that is not
 * "key = value", a key with characters no open-iscsi key has, NUL bytes,
 * an over-long line or a file over MAX_RECORD_BYTES. Secrets never appear
 * in messages. The result is marked with makeRedacted().
 */
export function parseNodeRecord(text: string, options: ParseOptions = {}): NodeRecord {
  if (typeof text !== 'string') throw invalidArg('text', text, 'must be a string');
  const where = options.source ? ` in ${options.source}` : '';
  if (text.length > MAX_RECORD_BYTES) {
    throw dbError(`node record${where} is larger than ${MAX_RECORD_BYTES} bytes`);
  }
  const rec: NodeRecord = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i];
    if (raw.length > MAX_LINE_BYTES) throw dbError(`node record${where} line ${n} is too long`);
    if (raw.includes('\0')) throw dbError(`node record${where} line ${n} contains a NUL byte`);
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const kv = splitConfigLine(line);
    if (!kv) throw dbError(`node record${where} line ${n} is not "key = value"`);
    if (!KEY_SYNTAX.test(kv.key) || kv.key.length > 127) {
      throw dbError(`node record${where} line ${n} has an invalid key`);
    }
    if (kv.key === '__proto__' || kv.key === 'constructor' || kv.key === 'prototype') {
      throw dbError(`node record${where} line ${n} has an invalid key`);
    }
    // iscsiadm skips a line without a value ("does not have value").
    if (kv.value === '') continue;
    rec[kv.key] = kv.value;
  }
  return makeRedacted(rec);
}
