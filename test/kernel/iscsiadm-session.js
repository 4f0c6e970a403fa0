'use strict';
/**
 * Parser for `iscsiadm -m session -P 3` text (open-iscsi 2.1.x,
 * usr/session_info.c session_info_print_tree() and iface_print()), so
 * in-guest tests can compare lib/kernel/sysfs.ts's readSessions() with
 * open-iscsi's own view of the same sysfs.
 *
 * The layout, per target, then per session (tabs are the indentation):
 *   Target: <name> (non-flash)
 *   \tCurrent Portal: <addr>:<port>,<tpgt>      IPv6 as [addr]
 *   \tPersistent Portal: <addr>:<port>,<tpgt>   (a blank line instead of both
 *                                                when the portal repeats)
 *   \t\tInterface: … Iface Name / Transport / Initiatorname / IPaddress …
 *   \t\tSID: N, iSCSI Connection State, iSCSI Session State, Internal …
 *   \t\tTimeouts, CHAP (never kept here), Negotiated iSCSI params
 *   \t\tHost Number: H\tState: running
 *   \t\tscsiH Channel 00 Id T Lun: L
 *   \t\t\tAttached scsi disk sdX\t\tState: running
 * The CHAP block (username/password lines) is skipped: nothing from it is
 * kept, so secrets shown with `--show` never reach a result or a message.
 *
 * CLI: node iscsiadm-session.js [FILE]   (stdin without FILE) prints JSON.
 */

/** "10.0.2.2:3260,1" or "[fd00::1]:3260,1" -> { address, port, tpgt } or null. */
function parsePortal(text) {
  const m = /^(?:\[([^\]\s]+)\]|([^\s:[\]]+)):([0-9]{1,5}),(-?[0-9]{1,5})$/.exec(text.trim());
  if (!m) return null;
  return { address: m[1] !== undefined ? m[1] : m[2], port: Number(m[3]), tpgt: Number(m[4]) };
}

function num(text) {
  return /^-?[0-9]{1,15}$/.test(text) ? Number(text) : null;
}

/**
 * @param {string} text the command's output
 * @returns {{ transportVersion: string|null, version: string|null, sessions: object[] }}
 */
function parseSessionP3(text) {
  if (typeof text !== 'string') throw new TypeError('parseSessionP3: text must be a string');
  const out = { transportVersion: null, version: null, sessions: [] };
  let target = null;
  let flash = null;
  let current = null; // last printed portals, inherited by the next session of the same target
  let persistent = null;
  let s = null;
  let section = null;
  let lastLun = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const t = line.trim();
    let m;
    if ((m = /^iSCSI Transport Class version (\S+)$/.exec(t))) {
      out.transportVersion = m[1];
      continue;
    }
    if ((m = /^version (\S+)$/.exec(t)) && !line.startsWith('\t')) {
      out.version = m[1];
      continue;
    }
    if ((m = /^Target: (\S+)(?: \((non-flash|flash)\))?$/.exec(t)) && !line.startsWith('\t')) {
      target = m[1];
      flash = m[2] === undefined ? null : m[2] === 'flash';
      current = persistent = null;
      s = null;
      continue;
    }
    if ((m = /^Current Portal: (.+)$/.exec(t))) {
      current = parsePortal(m[1]);
      continue;
    }
    if ((m = /^Persistent Portal: (.+)$/.exec(t))) {
      persistent = parsePortal(m[1]);
      continue;
    }
    if (/^\*+$/.test(t) || t === '') continue;
    if (/^[A-Za-z ]+:$/.test(t)) {
      section = t.slice(0, -1);
      if (section === 'Interface' && target !== null) {
        s = {
          target,
          flash,
          currentAddress: current ? current.address : null,
          currentPort: current ? current.port : null,
          persistentAddress: persistent ? persistent.address : null,
          persistentPort: persistent ? persistent.port : null,
          tpgt: persistent ? persistent.tpgt : current ? current.tpgt : null,
          sid: null,
          iface: null,
          transport: null,
          initiatorName: null,
          ifaceAddress: null,
          connectionState: null,
          sessionState: null,
          internalState: null,
          host: null,
          hostState: null,
          luns: [],
        };
        out.sessions.push(s);
        lastLun = null;
      }
      continue;
    }
    if (s === null || section === 'CHAP') continue;
    if ((m = /^Iface Name: (.*)$/.exec(t))) s.iface = m[1];
    else if ((m = /^Iface Transport: (.*)$/.exec(t))) s.transport = m[1];
    else if ((m = /^Iface Initiatorname: (.*)$/.exec(t))) s.initiatorName = m[1];
    else if ((m = /^Iface IPaddress: (.*)$/.exec(t))) s.ifaceAddress = m[1];
    else if ((m = /^SID: (.*)$/.exec(t))) s.sid = num(m[1]);
    else if ((m = /^iSCSI Connection State: (.*)$/.exec(t))) s.connectionState = m[1];
    else if ((m = /^iSCSI Session State: (.*)$/.exec(t))) s.sessionState = m[1];
    else if ((m = /^Internal iscsid Session State: (.*)$/.exec(t))) s.internalState = m[1];
    else if ((m = /^Host Number: (-?[0-9]+)\s+State: (.*)$/.exec(t))) {
      s.host = num(m[1]);
      s.hostState = m[2];
    } else if ((m = /^scsi([0-9]+) Channel ([0-9]+) Id ([0-9]+) Lun: ([0-9]+)$/.exec(t))) {
      lastLun = { host: num(m[1]), channel: num(m[2]), id: num(m[3]), lun: num(m[4]), disk: null, state: null };
      s.luns.push(lastLun);
    } else if ((m = /^Attached scsi disk (\S+)\s+State: (.*)$/.exec(t)) && lastLun) {
      lastLun.disk = m[1];
      lastLun.state = m[2];
    }
  }
  return out;
}

/**
 * Differences between parsed `-P 3` sessions and readSessions() results
 * (lib/kernel/types.ts KernelSession); [] when both describe the same
 * sessions. LUNs are compared only where a disk is attached: iscsiadm also
 * lists LUNs that never get a block device (tgtd's controller LUN 0), which
 * readSessions() leaves out.
 */
function diffSessions(parsed, kernel) {
  const diffs = [];
  const ps = new Map(parsed.sessions.map((s) => [s.sid, s]));
  const ks = new Map(kernel.map((s) => [s.sid, s]));
  for (const sid of new Set([...ps.keys(), ...ks.keys()])) {
    const p = ps.get(sid);
    const k = ks.get(sid);
    if (!p || !k) {
      diffs.push(`session ${sid}: only in ${p ? 'iscsiadm' : 'readSessions()'}`);
      continue;
    }
    const eq = (what, a, b) => {
      if (a !== b) diffs.push(`session ${sid}: ${what} iscsiadm=${JSON.stringify(a)} readSessions()=${JSON.stringify(b)}`);
    };
    eq('target', p.target, k.target);
    eq('address', p.persistentAddress, k.address);
    eq('port', p.persistentPort, k.port);
    eq('tpgt', p.tpgt, k.tpgt);
    eq('iface', p.iface, k.iface);
    eq('state', p.sessionState, k.state);
    eq('host', p.host, k.host);
    const pd = p.luns
      .filter((l) => l.disk)
      .map((l) => `${l.host}:${l.channel}:${l.id}:${l.lun}=/dev/${l.disk}`)
      .sort();
    const kd = k.disks
      .filter((d) => d.device)
      .map((d) => `${d.hctl}=${d.device}`)
      .sort();
    eq('disks', pd.join(' '), kd.join(' '));
  }
  return diffs;
}

module.exports = { parseSessionP3, parsePortal, diffSessions };

if (require.main === module) {
  const fs = require('fs');
  const text = fs.readFileSync(process.argv[2] || 0, 'utf8');
  process.stdout.write(`${JSON.stringify(parseSessionP3(text), null, 2)}\n`);
}
