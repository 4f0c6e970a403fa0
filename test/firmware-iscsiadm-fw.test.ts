/**
 * The `iscsiadm -m fw` output parser the kernel-lab firmware test uses as its
 * reference side (test/kernel/firmware-iscsiadm-fw.js), on the real outputs
 * committed from the lab (test/kernel-lab/captures/, test/fixtures/firmware/
 * ipxe-real-*), plus malformed text it must refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { parseIscsiadmFw, recordToApi } from './kernel/firmware-iscsiadm-fw';

const CAPTURES = path.join(__dirname, 'kernel-lab', 'captures');
const FIX = path.join(__dirname, 'fixtures', 'firmware');
const read = (p: string): string => fs.readFileSync(p, 'utf8');

describe('parseIscsiadmFw on real captures', () => {
  it('selftest capture (BIOS, one target, mutual CHAP): every line, secrets readable', () => {
    const recs = parseIscsiadmFw(read(path.join(CAPTURES, 'bios', 'iscsiadm-fw.txt')));
    expect(recs).toHaveLength(1);
    expect(recs[0].version).toBe('2.1.8');
    expect(Object.keys(recs[0].values)).toEqual([
      'iface.initiatorname',
      'iface.transport_name',
      'iface.hwaddress',
      'iface.bootproto',
      'iface.ipaddress',
      'iface.prefix_len',
      'iface.subnet_mask',
      'iface.gateway',
      'iface.primary_dns',
      'iface.vlan_id',
      'iface.net_ifacename',
      'node.name',
      'node.conn[0].address',
      'node.conn[0].port',
      'node.session.auth.username',
      'node.session.auth.password',
      'node.session.auth.username_in',
      'node.session.auth.password_in',
      'node.boot_lun',
    ]);
    expect(recs[0].values['node.session.auth.password']).toBe('klab-ini-secret-1');
    expect(recs[0].values['node.conn[0].port']).toBe('51825');
    const api = recordToApi(recs[0]);
    expect(api.node).toEqual({
      target: 'iqn.2026-11.test.klab:selftest',
      address: '10.0.2.2',
      port: 51825,
      tpgt: 1,
      iface: 'default',
      lunText: '01000000',
      ifaceName: 'eth0',
    });
    expect({ ...api.auth }).toEqual({
      username: 'klab-initiator',
      password: 'klab-ini-secret-1',
      reverseUsername: 'klab-target',
      reversePassword: 'klab-tgt-secret-2',
    });
    expect(api.net).toEqual({
      bootproto: 'DHCP',
      ifaceName: 'eth0',
      mac: '52:54:00:12:34:56',
      ip: '10.0.2.15',
      prefixLength: 24,
      netmask: '255.255.255.0',
      gateway: '10.0.2.2',
      dns: ['10.0.2.3'],
      vlan: 0,
    });
    expect(api.initiatorName).toBe('iqn.2026-11.test.klab:ipxe-initiator');
  });

  it('selftest capture (UEFI): same record, other port', () => {
    const [rec] = parseIscsiadmFw(read(path.join(CAPTURES, 'uefi', 'iscsiadm-fw.txt')));
    expect(recordToApi(rec).node.port).toBe(55673);
  });

  it('phase-20 capture (BIOS, two targets: mutual + one-way CHAP, LUN 1 and 0x1f)', () => {
    const recs = parseIscsiadmFw(read(path.join(FIX, 'ipxe-real-bios-2targets', 'iscsiadm-fw.txt'))).map(recordToApi);
    expect(recs.map((r) => [r.node.target, r.node.lunText, r.auth?.username, r.auth?.reverseUsername])).toEqual([
      ['iqn.2026-11.test.klab:fw-mutual', '01000000', 'klab-fw-mutual-ini', 'klab-fw-mutual-tgt'],
      ['iqn.2026-11.test.klab:fw-oneway', '01f000000', 'klab-fw-oneway-ini', undefined],
    ]);
    expect(recs[1].auth?.password).toBe('klab-fw-oneway-s3cret');
    expect(recs[1].auth && 'reversePassword' in recs[1].auth).toBe(false);
  });

  it('redacts the secrets in inspect and JSON of records and API shapes', () => {
    const recs = parseIscsiadmFw(read(path.join(FIX, 'ipxe-real-bios-2targets', 'iscsiadm-fw.txt')));
    const shown = inspect(recs, { depth: null }) + JSON.stringify(recs) + inspect(recs.map(recordToApi), { depth: null }) + JSON.stringify(recs.map(recordToApi));
    for (const s of ['klab-fw-mutual-s3cret', 'klab-fw-mutual-tgt-s3cret', 'klab-fw-oneway-s3cret']) expect(shown).not.toContain(s);
    expect(shown).toContain('[redacted]');
    expect(shown).toContain('klab-fw-mutual-tgt');
  });
});

describe('parseIscsiadmFw refuses what is not the format', () => {
  it('empty output is no records', () => {
    expect(parseIscsiadmFw('')).toEqual([]);
  });
  it.each([
    ['an error message', 'iscsiadm: Could not get list of targets from firmware. (err 21)\n', /outside a record/],
    ['an unterminated record', '# BEGIN RECORD 2.1.8\nnode.name = x\n', /unterminated/],
    ['nested BEGIN', '# BEGIN RECORD 2.1.8\n# BEGIN RECORD 2.1.8\n', /inside a record/],
    ['END without BEGIN', '# END RECORD\n', /without BEGIN/],
    ['a line without " = "', '# BEGIN RECORD 2.1.8\nnode.name=x\n# END RECORD\n', /not "key = value"/],
    ['a bad key', '# BEGIN RECORD 2.1.8\nNode Name = x\n# END RECORD\n', /bad key/],
    ['a duplicate key', '# BEGIN RECORD 2.1.8\nnode.name = a\nnode.name = b\n# END RECORD\n', /duplicate key node.name/],
  ])('%s', (_what, text, msg) => {
    expect(() => parseIscsiadmFw(text)).toThrow(msg);
  });
  it('never echoes a value in its errors', () => {
    expect(() => parseIscsiadmFw('# BEGIN RECORD 2.1.8\nnode.session.auth.password=hunter2hunter2\n# END RECORD\n')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
  it('keeps " = " inside a value and tolerates CRLF', () => {
    const [r] = parseIscsiadmFw('# BEGIN RECORD 2.1.8\r\nnode.session.auth.username = a = b\r\n# END RECORD\r\n');
    expect(r.values['node.session.auth.username']).toBe('a = b');
  });
  it('rejects non-strings', () => {
    expect(() => parseIscsiadmFw(undefined as unknown as string)).toThrow(TypeError);
  });
});
