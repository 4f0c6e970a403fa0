'use strict';
/**
 * Parser for `iscsiadm -m fw` output (open-iscsi 2.1.8 usr/fwparam_ibft/
 * fw_entry.c fw_print_entry; format in /work/shared/reference/ibft.md 3.1):
 * one record per firmware target,
 *
 *   # BEGIN RECORD 2.1.8
 *   iface.initiatorname = iqn...
 *   ...
 *   node.boot_lun = 01000000
 *   # END RECORD
 *
 * Each line is printed only when its value is non-empty; `key = value` is
 * split at the first " = ". Written from the format, not from open-iscsi's
 * code. Used by the kernel-lab firmware test (test/kernel/firmware-ipxe.test.js)
 * as the reference side and unit-tested on the committed captures
 * (test/firmware-iscsiadm-fw.test.ts).
 *
 * The output holds CHAP secrets in clear (node.session.auth.password,
 * password_in). Parsed records keep them readable but render them as
 * '[redacted]' in util.inspect and JSON, so an assertion diff or a log line
 * cannot print them.
 */
const { inspect } = require('node:util');

const SECRET_KEYS = ['node.session.auth.password', 'node.session.auth.password_in'];
const REDACTED = '[redacted]';

/** Makes the secret keys of `values` render redacted; returns values. */
function redactValues(values) {
  const render = () => {
    const out = {};
    for (const [k, v] of Object.entries(values)) out[k] = SECRET_KEYS.includes(k) ? REDACTED : v;
    return out;
  };
  Object.defineProperty(values, 'toJSON', { value: render, enumerable: false });
  Object.defineProperty(values, inspect.custom, {
    value: (depth, options, insp = inspect) => insp(render(), options),
    enumerable: false,
  });
  return values;
}

/**
 * Parses the whole output. Returns [{ version, values }] where `values`
 * maps each key ("iface.ipaddress", "node.conn[0].port", ...) to its text.
 * Throws (without echoing line contents past the key) on text that is not
 * this format: a key line outside a record, an unterminated record, a
 * duplicate key, a line without " = ".
 */
function parseIscsiadmFw(text) {
  if (typeof text !== 'string') throw new TypeError('iscsiadm -m fw output must be a string');
  const records = [];
  let cur = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const where = `line ${i + 1}`;
    if (line.trim() === '') continue;
    const begin = /^# BEGIN RECORD (\S+)\s*$/.exec(line);
    if (begin) {
      if (cur) throw new Error(`iscsiadm -m fw: ${where}: BEGIN RECORD inside a record`);
      cur = { version: begin[1], values: redactValues({}) };
      continue;
    }
    if (/^# END RECORD\s*$/.test(line)) {
      if (!cur) throw new Error(`iscsiadm -m fw: ${where}: END RECORD without BEGIN`);
      records.push(cur);
      cur = null;
      continue;
    }
    if (!cur) throw new Error(`iscsiadm -m fw: ${where}: text outside a record (an error message?)`);
    const eq = line.indexOf(' = ');
    if (eq <= 0) throw new Error(`iscsiadm -m fw: ${where}: not "key = value"`);
    const key = line.slice(0, eq);
    if (!/^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)+$/.test(key)) throw new Error(`iscsiadm -m fw: ${where}: bad key`);
    if (Object.prototype.hasOwnProperty.call(cur.values, key)) throw new Error(`iscsiadm -m fw: ${where}: duplicate key ${key}`);
    cur.values[key] = line.slice(eq + 3);
  }
  if (cur) throw new Error('iscsiadm -m fw: unterminated record (no END RECORD)');
  return records;
}

/**
 * One record in the shapes of our firmware API, for comparison:
 *  node: FirmwareNode fields iscsiadm shows (target, address, port, tpgt 1,
 *        iface 'default' for transport tcp, lunText = node.boot_lun,
 *        ifaceName = iface.net_ifacename),
 *  auth: FirmwareAuth or undefined (secrets readable, redacted when shown),
 *  net:  FirmwareNetworkConfig fields iscsiadm shows,
 *  initiatorName.
 */
function recordToApi(rec) {
  const v = rec.values;
  const num = (k) => (v[k] === undefined ? undefined : Number.parseInt(v[k], 10));
  const node = {
    target: v['node.name'],
    address: v['node.conn[0].address'],
    port: num('node.conn[0].port'),
    tpgt: 1,
    iface: v['iface.transport_name'] === undefined || v['iface.transport_name'] === 'tcp' ? 'default' : v['iface.transport_name'],
    lunText: v['node.boot_lun'] ?? null,
    ifaceName: v['iface.net_ifacename'] ?? null,
  };
  let auth;
  if (v['node.session.auth.username'] !== undefined || v['node.session.auth.password'] !== undefined) {
    auth = { username: v['node.session.auth.username'] ?? '', password: v['node.session.auth.password'] ?? '' };
    if (v['node.session.auth.username_in'] !== undefined || v['node.session.auth.password_in'] !== undefined) {
      auth.reverseUsername = v['node.session.auth.username_in'] ?? '';
      auth.reversePassword = v['node.session.auth.password_in'] ?? '';
    }
    const shown = () => ({
      ...auth,
      password: REDACTED,
      ...(auth.reversePassword !== undefined && { reversePassword: REDACTED }),
    });
    Object.defineProperty(auth, 'toJSON', { value: shown, enumerable: false });
    Object.defineProperty(auth, inspect.custom, {
      value: (depth, options, insp = inspect) => insp(shown(), options),
      enumerable: false,
    });
  }
  const dns = [v['iface.primary_dns'], v['iface.secondary_dns']].filter((d) => d !== undefined);
  const net = {
    bootproto: v['iface.bootproto'] ?? null,
    ifaceName: v['iface.net_ifacename'] ?? null,
    mac: v['iface.hwaddress'] ? v['iface.hwaddress'].toLowerCase() : null,
    ip: v['iface.ipaddress'] ?? null,
    prefixLength: num('iface.prefix_len') ?? null,
    netmask: v['iface.subnet_mask'] ?? null,
    gateway: v['iface.gateway'] ?? null,
    dns,
    vlan: num('iface.vlan_id') ?? 0,
  };
  return { node, auth, net, initiatorName: v['iface.initiatorname'] ?? null };
}

module.exports = { parseIscsiadmFw, recordToApi, SECRET_KEYS, REDACTED };
