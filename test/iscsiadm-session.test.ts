/**
 * test/kernel/iscsiadm-session.js (the `iscsiadm -m session -P 3` parser the
 * in-guest tests use as open-iscsi's view) on the output captured in the
 * kernel lab next to the sysfs trees, plus hand-made variants.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readSessions } from '../lib/kernel/sysfs';
import { diffSessions, parsePortal, parseSessionP3 } from './kernel/iscsiadm-session';

const FIX = path.join(__dirname, 'fixtures/sysfs-iscsi');
const P3 = (name: string): string => fs.readFileSync(path.join(FIX, name, 'iscsiadm-session-P3.txt'), 'utf8');
const IQN_A = 'iqn.2026-11.test.klab:sysfs-a';
const IQN_B = 'iqn.2026-11.test.klab:sysfs-b';
const INITIATOR = 'iqn.1993-08.org.debian:01:bfbcfd5dc67a';
const PORT = 42613;

describe('captured output', () => {
  test('logged in: exact fields', () => {
    const out = parseSessionP3(P3('logged-in'));
    expect(out.transportVersion).toBe('2.0-870');
    expect(out.version).toBe('2.1.8');
    expect(out.sessions).toEqual([
      {
        target: IQN_A,
        flash: false,
        currentAddress: '10.0.2.2',
        currentPort: PORT,
        persistentAddress: '10.0.2.2',
        persistentPort: PORT,
        tpgt: 1,
        sid: 1,
        iface: 'default',
        transport: 'tcp',
        initiatorName: INITIATOR,
        ifaceAddress: '10.0.2.15',
        connectionState: 'LOGGED IN',
        sessionState: 'LOGGED_IN',
        internalState: 'NO CHANGE',
        host: 0,
        hostState: 'running',
        luns: [
          { host: 0, channel: 0, id: 0, lun: 0, disk: null, state: null },
          { host: 0, channel: 0, id: 0, lun: 1, disk: 'sda', state: 'running' },
          { host: 0, channel: 0, id: 0, lun: 2, disk: 'sdb', state: 'running' },
        ],
      },
      expect.objectContaining({
        target: IQN_B,
        sid: 2,
        host: 1,
        sessionState: 'LOGGED_IN',
        luns: [
          { host: 1, channel: 0, id: 0, lun: 0, disk: null, state: null },
          { host: 1, channel: 0, id: 0, lun: 1, disk: 'sdc', state: 'running' },
        ],
      }),
    ]);
  });

  test('failed: states as iscsiadm shows them while iscsid reopens', () => {
    const out = parseSessionP3(P3('failed'));
    expect(out.sessions.map((s) => [s.sid, s.sessionState, s.connectionState, s.internalState, s.ifaceAddress])).toEqual([
      [1, 'FAILED', 'TRANSPORT WAIT', 'REOPEN', '[default]'],
      [2, 'FAILED', 'TRANSPORT WAIT', 'REOPEN', '[default]'],
    ]);
    expect(out.sessions.flatMap((s) => s.luns.filter((l) => l.disk).map((l) => `${l.disk} ${l.state}`))).toEqual([
      'sda blocked',
      'sdb blocked',
      'sdc blocked',
    ]);
  });

  test.each(['logged-in', 'failed'])('%s: open-iscsi and readSessions() agree on the same tree', async (name) => {
    const ours = await readSessions({ root: path.join(FIX, name) });
    expect(ours).toHaveLength(2);
    expect(diffSessions(parseSessionP3(P3(name)), ours)).toEqual([]);
  });

  test('diffSessions reports each difference', async () => {
    const ours = await readSessions({ root: path.join(FIX, 'logged-in') });
    const parsed = parseSessionP3(P3('logged-in'));
    const changed = ours.map((s) => ({ ...s, disks: [...s.disks] }));
    changed[0].state = 'FAILED';
    changed[0].port = 1;
    changed[1].disks = [];
    changed.push({ ...changed[1], sid: 9 });
    expect(diffSessions(parsed, changed)).toEqual([
      'session 1: port iscsiadm=42613 readSessions()=1',
      'session 1: state iscsiadm="LOGGED_IN" readSessions()="FAILED"',
      'session 2: disks iscsiadm="1:0:0:1=/dev/sdc" readSessions()=""',
      'session 9: only in readSessions()',
    ]);
  });
});

describe('hand-made variants', () => {
  const session = (sid: number, extra = ''): string =>
    [
      '\t\t**********',
      '\t\tInterface:',
      '\t\t**********',
      '\t\tIface Name: iface0',
      `\t\tSID: ${sid}`,
      '\t\tiSCSI Session State: LOGGED_IN',
      '\t\t*****',
      '\t\tCHAP:',
      '\t\t*****',
      '\t\tusername: alice',
      '\t\tpassword: very-secret-1',
      '\t\tusername_in: bob',
      '\t\tpassword_in: very-secret-2',
      '\t\t************************',
      '\t\tAttached SCSI devices:',
      '\t\t************************',
      `\t\tHost Number: ${sid + 3}\tState: running`,
      `\t\tscsi${sid + 3} Channel 00 Id 0 Lun: 5`,
      `\t\t\tAttached scsi disk sd${String.fromCharCode(96 + sid)}\t\tState: running`,
      extra,
    ].join('\n');

  test('IPv6 portals in brackets; a repeated portal printed as a blank line is inherited', () => {
    const text = [
      'Target: iqn.2026-11.test:v6',
      '\tCurrent Portal: [fd00:0002:0000:0000:0000:0000:0000:0010]:3261,7',
      '\tPersistent Portal: [fd00:2::10]:3261,7',
      session(1),
      '',
      session(2),
    ].join('\n');
    const out = parseSessionP3(text);
    expect(out.sessions.map((s) => [s.sid, s.flash, s.currentAddress, s.persistentAddress, s.persistentPort, s.tpgt, s.iface, s.host])).toEqual([
      [1, null, 'fd00:0002:0000:0000:0000:0000:0000:0010', 'fd00:2::10', 3261, 7, 'iface0', 4],
      [2, null, 'fd00:0002:0000:0000:0000:0000:0000:0010', 'fd00:2::10', 3261, 7, 'iface0', 5],
    ]);
    expect(out.sessions[1].luns).toEqual([{ host: 5, channel: 0, id: 0, lun: 5, disk: 'sdb', state: 'running' }]);
  });

  test('CHAP lines (even shown with --show) never reach the result', () => {
    const out = parseSessionP3(['Target: iqn.2026-11.test:chap', '\tCurrent Portal: 10.0.0.1:3260,1', '\tPersistent Portal: 10.0.0.1:3260,1', session(1)].join('\n'));
    const json = JSON.stringify(out);
    expect(out.sessions).toHaveLength(1);
    expect(json).not.toMatch(/very-secret|alice|bob/);
  });

  test('parsePortal', () => {
    expect(parsePortal('10.0.2.2:3260,1')).toEqual({ address: '10.0.2.2', port: 3260, tpgt: 1 });
    expect(parsePortal('[::1]:3260,-1')).toEqual({ address: '::1', port: 3260, tpgt: -1 });
    for (const bad of ['', '10.0.2.2', '10.0.2.2:3260', '::1:3260,1', '[::1]3260,1', 'a b:1,1']) expect(parsePortal(bad)).toBeNull();
  });

  test('empty, foreign and hostile text: no throw, no sessions', () => {
    expect(parseSessionP3('')).toEqual({ transportVersion: null, version: null, sessions: [] });
    expect(parseSessionP3('iscsiadm: No active sessions.\n').sessions).toEqual([]);
    // Fields before any Target/Interface are ignored.
    expect(parseSessionP3('\t\tSID: 4\n\t\tHost Number: 3\tState: running\n').sessions).toEqual([]);
    const junk = Array.from({ length: 2000 }, (_, i) => String.fromCharCode(i % 256)).join('') + 'Target: x\n\t\tInterface:\n\t\tSID: nope\n';
    const out = parseSessionP3(junk.repeat(50));
    expect(out.sessions.every((s) => s.sid === null)).toBe(true);
    expect(() => parseSessionP3(undefined as unknown as string)).toThrow(TypeError);
  });
});
