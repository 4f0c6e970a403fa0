/**
 * Golden tests on iBFTs written by real firmware: Debian's iPXE (ipxe-qemu
 * 1.0.0+git-20190125.36a4c85) in the kernel lab, captured by
 * test/kernel-lab/phase-20-firmware.sh (KLAB_FW_CAPTURE_DIR) and
 * test/kernel-lab/selftest.sh. Each fixture holds what the guest saw: the
 * /sys/firmware/ibft tree (byte-exact), the raw table (BIOS: read from
 * /dev/mem; UEFI: the ACPI table) and `iscsiadm -m fw` on that same boot.
 * The lab proves these equalities live (test/kernel/firmware-ipxe.test.js);
 * this keeps them proven on every jest run without qemu.
 * The CHAP secrets are the lab's test-only values.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { discoverFirmware, getFirmwareInitiatorName, getFirmwareNetworkConfig, readFirmwareTable } from '../lib/index';
import type { FirmwareNode } from '../lib/index';
import { parseIscsiadmFw, recordToApi } from './kernel/firmware-iscsiadm-fw';

const FIX = path.join(__dirname, 'fixtures', 'firmware');
const CAPTURES = path.join(__dirname, 'kernel-lab', 'captures');
const BIOS = path.join(FIX, 'ipxe-real-bios-2targets');
const UEFI = path.join(FIX, 'ipxe-real-uefi-oneway');

const SECRETS = ['klab-fw-mutual-s3cret', 'klab-fw-mutual-tgt-s3cret', 'klab-fw-oneway-s3cret', 'klab-ini-secret-1', 'klab-tgt-secret-2'];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-ipxe-captures-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A root holding only sys/firmware/acpi/tables/iBFT (+ eth0's MAC): the
 * readers must take the raw-table source. */
function rawRoot(name: string, table: Buffer): string {
  const r = path.join(tmp, name);
  fs.mkdirSync(path.join(r, 'sys/firmware/acpi/tables'), { recursive: true });
  fs.writeFileSync(path.join(r, 'sys/firmware/acpi/tables/iBFT'), table);
  fs.mkdirSync(path.join(r, 'sys/class/net/eth0'), { recursive: true });
  fs.writeFileSync(path.join(r, 'sys/class/net/eth0/address'), '52:54:00:12:34:56\n');
  return r;
}

/** A root from a selftest capture directory (sysfs-ibft/ as the module made it). */
function sysfsRoot(name: string, captureDir: string): string {
  const r = path.join(tmp, name);
  fs.cpSync(path.join(captureDir, 'sysfs-ibft'), path.join(r, 'sys/firmware/ibft'), { recursive: true });
  fs.mkdirSync(path.join(r, 'sys/class/net/eth0'), { recursive: true });
  fs.writeFileSync(path.join(r, 'sys/class/net/eth0/address'), '52:54:00:12:34:56\n');
  return r;
}

const withoutAuth = ({ auth, source, ...rest }: FirmwareNode): Omit<FirmwareNode, 'auth' | 'source'> => rest;

/** discoverFirmware/getFirmwareNetworkConfig/getFirmwareInitiatorName on
 * `root` equal the `iscsiadm -m fw` records of the same boot. */
async function expectEqualsIscsiadm(root: string, iscsiadmText: string): Promise<void> {
  const refs = parseIscsiadmFw(iscsiadmText).map(recordToApi);
  const nodes = await discoverFirmware({ root, includeSecrets: true });
  expect(nodes).toHaveLength(refs.length);
  const net = await getFirmwareNetworkConfig({ root });
  const iqn = await getFirmwareInitiatorName({ root });
  refs.forEach((ref, i) => {
    const n = nodes[i];
    expect({ target: n.target, address: n.address, port: n.port, tpgt: n.tpgt, iface: n.iface, lunText: n.lunText, ifaceName: n.ifaceName }).toEqual(
      ref.node,
    );
    expect({ ...n.auth }).toEqual({ ...ref.auth });
    expect(net).not.toBeNull();
    const { bootproto, ifaceName, mac, ip, prefixLength, netmask, gateway, dns, vlan } = net!;
    expect({ bootproto, ifaceName, mac, ip, prefixLength, netmask, gateway, dns, vlan }).toEqual(ref.net);
    expect(iqn).toBe(ref.initiatorName);
  });
}

describe('iPXE under SeaBIOS, two sanhooks: mutual CHAP (LUN 1) + one-way CHAP (LUN 0x1f)', () => {
  const table = (): Buffer => fs.readFileSync(path.join(BIOS, 'lowmem-iBFT.bin'));

  it('raw table (from /dev/mem): every field', async () => {
    const bytes = table();
    expect(bytes.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    const t = await readFirmwareTable({ path: path.join(BIOS, 'lowmem-iBFT.bin'), includeSecrets: true });
    expect(t).toMatchObject({
      signature: 'iBFT',
      length: 738,
      revision: 1,
      checksum: 0xba,
      oemId: 'FENSYS',
      oemTableId: 'iPXE',
      control: {
        version: 1,
        length: 18,
        flags: 0,
        singleLogin: false,
        pairs: [
          { nicOffset: 0xa0, targetOffset: 0x180 },
          { nicOffset: 0, targetOffset: 0x1c0 },
        ],
      },
      initiator: { offset: 0x50, flags: 3, isnsServer: null, slpServer: null, name: 'iqn.2026-11.test.klab:fw-initiator' },
    });
    expect(t!.nics).toHaveLength(1);
    expect(t!.nics[0]).toMatchObject({
      offset: 0xa0,
      index: 0,
      flags: 3,
      valid: true,
      bootSelected: true,
      global: false,
      ip: '10.0.2.15',
      prefixLength: 24,
      subnetMask: '255.255.255.0',
      origin: 3,
      gateway: '10.0.2.2',
      primaryDns: '10.0.2.3',
      secondaryDns: null,
      dhcpServer: '10.0.2.2',
      vlan: 0,
      mac: '52:54:00:12:34:56',
      pciBdf: 0x20,
      hostname: null,
    });
    expect(t!.targets).toHaveLength(2);
    expect(t!.targets[0]).toMatchObject({
      offset: 0x180,
      index: 0,
      flags: 3,
      bootSelected: true,
      ip: '10.0.2.2',
      port: 47645,
      lun: 1,
      lunSysfs: '01000000',
      chapType: 2,
      nicAssoc: 0,
      nic: 0,
      targetName: 'iqn.2026-11.test.klab:fw-mutual',
      chapName: 'klab-fw-mutual-ini',
      chapSecret: 'klab-fw-mutual-s3cret',
      reverseChapName: 'klab-fw-mutual-tgt',
      reverseChapSecret: 'klab-fw-mutual-tgt-s3cret',
    });
    expect([...t!.targets[0].lunRaw]).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    expect(t!.targets[1]).toMatchObject({
      offset: 0x1c0,
      index: 1,
      flags: 3,
      bootSelected: true,
      port: 47645,
      lun: 31,
      lunSysfs: '01f000000',
      chapType: 1,
      nicAssoc: 0,
      targetName: 'iqn.2026-11.test.klab:fw-oneway',
      chapName: 'klab-fw-oneway-ini',
      chapSecret: 'klab-fw-oneway-s3cret',
      reverseChapName: null,
      reverseChapSecret: null,
    });
    expect([...t!.targets[1].lunRaw]).toEqual([0, 0x1f, 0, 0, 0, 0, 0, 0]);
  });

  it('sysfs tree: nodes, network config and initiator name equal iscsiadm -m fw of the same boot', async () => {
    await expectEqualsIscsiadm(BIOS, fs.readFileSync(path.join(BIOS, 'iscsiadm-fw.txt'), 'utf8'));
    const nodes = await discoverFirmware({ root: BIOS });
    expect(nodes.map((n) => [n.target, n.lun, n.boot, n.nic, n.source])).toEqual([
      ['iqn.2026-11.test.klab:fw-mutual', 1, true, 0, 'ibft'],
      ['iqn.2026-11.test.klab:fw-oneway', 31, true, 0, 'ibft'],
    ]);
    expect(await getFirmwareNetworkConfig({ root: BIOS })).toEqual({
      dhcp: true,
      bootproto: 'DHCP',
      ifaceName: 'eth0',
      mac: '52:54:00:12:34:56',
      ip: '10.0.2.15',
      prefixLength: 24,
      netmask: '255.255.255.0',
      gateway: '10.0.2.2',
      dns: ['10.0.2.3'],
      dhcpServer: '10.0.2.2',
      vlan: 0,
      hostname: null,
      origin: 3,
      source: 'ibft',
    });
  });

  it('the raw table as the only source gives the same nodes and config as sysfs', async () => {
    const r = rawRoot('bios-raw', table());
    const raw = await discoverFirmware({ root: r, includeSecrets: true });
    const sys = await discoverFirmware({ root: BIOS, includeSecrets: true });
    expect(raw.map((n) => n.source)).toEqual(['acpi:iBFT', 'acpi:iBFT']);
    expect(raw.map(withoutAuth)).toEqual(sys.map(withoutAuth));
    expect(raw.map((n) => ({ ...n.auth }))).toEqual(sys.map((n) => ({ ...n.auth })));
    const rawNet = await getFirmwareNetworkConfig({ root: r });
    expect({ ...rawNet, source: '' }).toEqual({ ...(await getFirmwareNetworkConfig({ root: BIOS })), source: '' });
    expect(await getFirmwareInitiatorName({ root: r })).toBe('iqn.2026-11.test.klab:fw-initiator');
  });

  it('no secret in inspect/JSON of nodes or the table', async () => {
    const nodes = await discoverFirmware({ root: BIOS });
    const t = await readFirmwareTable({ path: path.join(BIOS, 'lowmem-iBFT.bin') });
    const shown = inspect(nodes, { depth: null }) + JSON.stringify(nodes) + inspect(t, { depth: null }) + JSON.stringify(t);
    for (const s of SECRETS) expect(shown).not.toContain(s);
    expect(shown).toContain('klab-fw-mutual-tgt');
    // Code can still read them.
    expect(nodes[0].auth?.reversePassword).toBe('klab-fw-mutual-tgt-s3cret');
  });
});

describe('iPXE under OVMF (UEFI), one sanhook: one-way CHAP (LUN 0x1f), ACPI table', () => {
  const present = fs.existsSync(path.join(UEFI, 'sys/firmware/acpi/tables/iBFT'));

  it('fixture is present', () => {
    expect(present).toBe(true);
  });

  it('ACPI table: every field', async () => {
    const t = await readFirmwareTable({ root: UEFI, includeSecrets: true });
    expect(t).toMatchObject({
      path: path.join(UEFI, 'sys/firmware/acpi/tables/iBFT'),
      signature: 'iBFT',
      revision: 1,
      oemId: 'FENSYS',
      oemTableId: 'iPXE',
      initiator: { flags: 3, name: 'iqn.2026-11.test.klab:fw-initiator' },
      nics: [{ index: 0, flags: 3, ip: '10.0.2.15', prefixLength: 24, origin: 3, gateway: '10.0.2.2', dhcpServer: '10.0.2.2', mac: '52:54:00:12:34:56' }],
    });
    expect(t!.targets).toHaveLength(1);
    expect(t!.targets[0]).toMatchObject({
      index: 0,
      flags: 3,
      ip: '10.0.2.2',
      lun: 31,
      lunSysfs: '01f000000',
      chapType: 1,
      targetName: 'iqn.2026-11.test.klab:fw-oneway',
      chapName: 'klab-fw-oneway-ini',
      chapSecret: 'klab-fw-oneway-s3cret',
      reverseChapName: null,
      reverseChapSecret: null,
    });
    expect(fs.readFileSync(t!.path).reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
  });

  it('sysfs tree equals iscsiadm -m fw; the ACPI table alone gives the same', async () => {
    await expectEqualsIscsiadm(UEFI, fs.readFileSync(path.join(UEFI, 'iscsiadm-fw.txt'), 'utf8'));
    const sys = await discoverFirmware({ root: UEFI, includeSecrets: true });
    expect(sys.map((n) => [n.source, n.lun])).toEqual([['ibft', 31]]);
    const r = rawRoot('uefi-raw', fs.readFileSync(path.join(UEFI, 'sys/firmware/acpi/tables/iBFT')));
    const raw = await discoverFirmware({ root: r, includeSecrets: true });
    expect(raw.map(withoutAuth)).toEqual(sys.map(withoutAuth));
    expect({ ...raw[0].auth }).toEqual({ username: 'klab-fw-oneway-ini', password: 'klab-fw-oneway-s3cret' });
    expect(JSON.stringify(await discoverFirmware({ root: r })) + inspect(await discoverFirmware({ root: r }), { depth: null })).not.toContain(
      'klab-fw-oneway-s3cret',
    );
  });
});

describe('selftest captures (test/kernel-lab/captures, one target, mutual CHAP)', () => {
  it.each(['bios', 'uefi'])('%s: sysfs tree equals iscsiadm -m fw', async (mode) => {
    const dir = path.join(CAPTURES, mode);
    await expectEqualsIscsiadm(sysfsRoot(`selftest-${mode}`, dir), fs.readFileSync(path.join(dir, 'iscsiadm-fw.txt'), 'utf8'));
  });

  it.each([
    ['bios', 'lowmem-iBFT.bin', 51825],
    ['uefi', 'acpi-iBFT.bin', 55673],
  ])('%s: raw table parses to the same node', async (mode, file, port) => {
    const dir = path.join(CAPTURES, mode);
    const raw = await discoverFirmware({ root: rawRoot(`selftest-raw-${mode}`, fs.readFileSync(path.join(dir, file))), includeSecrets: true });
    const sys = await discoverFirmware({ root: sysfsRoot(`selftest-sys-${mode}`, dir), includeSecrets: true });
    expect(raw.map(withoutAuth)).toEqual(sys.map(withoutAuth));
    expect(raw[0]).toMatchObject({ target: 'iqn.2026-11.test.klab:selftest', port, lun: 1, lunText: '01000000' });
    expect({ ...raw[0].auth }).toEqual({ ...sys[0].auth });
  });
});
