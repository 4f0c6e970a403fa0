/**
 * Firmware readers against the fixture trees in test/fixtures/firmware (see
 * its README) and the raw-table parser through the addon with the C core's
 * golden and must-fail tables. Expected values are those iscsiadm -m fw
 * prints for the same tables (/work/shared/reference/ibft.md 3.1, 4.3).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import {
  discoverFirmware,
  getFirmwareInitiatorName,
  getFirmwareNetworkConfig,
  readFirmwareTable,
  FirmwareErrorCodes,
} from '../lib/index';
import { loadBinding } from '../lib/native';
import { decodeSysfsLun, normalizeIp } from '../lib/firmware/util';

const FIX = path.join(__dirname, 'fixtures', 'firmware');
const CORE_FIX = path.join(__dirname, '..', 'native', 'core', 'tests', 'fixtures', 'ibft');
const root = (name: string): string => path.join(FIX, name);

describe('sysfs ibft (iPXE, two targets, mutual + one-way CHAP)', () => {
  const r = root('ibft-ipxe-2targets');

  it('discovers both targets like iscsiadm -m fw', async () => {
    const nodes = await discoverFirmware({ root: r, includeSecrets: true });
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toEqual({
      target: 'iqn.2025-01.test.ibft:target1',
      address: '10.0.2.2',
      port: 3270,
      tpgt: 1,
      iface: 'default',
      lun: 1,
      lunText: '01000000',
      boot: true,
      nic: 0,
      ifaceName: 'eth0',
      source: 'ibft',
      auth: {
        username: 'ibftuser',
        password: 'ibftsecret1234',
        reverseUsername: 'tgtuser',
        reversePassword: 'tgtsecret56789',
      },
    });
    expect(nodes[1].target).toBe('iqn.2025-01.test.ibft:target2');
    expect(nodes[1].lun).toBe(31);
    expect(nodes[1].lunText).toBe('01f000000');
    expect(nodes[1].auth).toEqual({ username: 'ibftuser', password: 'ibftsecret1234' });
  });

  it('redacts CHAP secrets in inspect and JSON unless includeSecrets', async () => {
    const nodes = await discoverFirmware({ root: r });
    const auth = nodes[0].auth!;
    // Code can still read them (to hand them to openSession).
    expect(auth.password).toBe('ibftsecret1234');
    expect(auth.reversePassword).toBe('tgtsecret56789');
    const shown = inspect(nodes, { depth: 10 }) + JSON.stringify(nodes);
    expect(shown).not.toContain('ibftsecret1234');
    expect(shown).not.toContain('tgtsecret56789');
    expect(shown).toContain('[redacted]');
    expect(shown).toContain('ibftuser');
    expect(JSON.parse(JSON.stringify(nodes[0].auth))).toEqual({
      username: 'ibftuser',
      password: '[redacted]',
      reverseUsername: 'tgtuser',
      reversePassword: '[redacted]',
    });
    expect(Object.keys(auth)).toEqual(['username', 'password', 'reverseUsername', 'reversePassword']);
    const open = await discoverFirmware({ root: r, includeSecrets: true });
    expect(JSON.stringify(open)).toContain('ibftsecret1234');
    expect(inspect(open, { depth: 10 })).toContain('tgtsecret56789');
  });

  it('network config: libiscsi dhcp, iscsiadm bootproto, subnet-mask without newline', async () => {
    expect(await getFirmwareNetworkConfig({ root: r })).toEqual({
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
      hostname: 'ibftguest',
      origin: 3,
      source: 'ibft',
    });
  });

  it('initiator name', async () => {
    expect(await getFirmwareInitiatorName({ root: r })).toBe('iqn.2025-01.test.ibft:initiator0');
  });

  it('readFirmwareTable is null when only sysfs is exposed (BIOS boot)', async () => {
    expect(await readFirmwareTable({ root: r })).toBeNull();
  });
});

describe('sysfs ibft (static, IPv6, MAC match, invalid block)', () => {
  const r = root('ibft-static-mac');

  it('skips flags-0 targets, defaults port 0 to 3260, normalizes %pI6', async () => {
    const nodes = await discoverFirmware({ root: r });
    expect(nodes.map((n) => n.target)).toEqual(['iqn.2025-01.test.ibft:v6', 'iqn.2025-01.test.ibft:open3']);
    expect(nodes[0]).toMatchObject({ address: '2001:db8::1', port: 3260, lun: 300, boot: false, nic: 0, ifaceName: null });
    expect(nodes[0].auth).toBeUndefined();
    expect(nodes[1]).toMatchObject({ address: '10.0.2.2', port: 3260, lun: 0, boot: true, nic: 1, ifaceName: 'ens3' });
  });

  it('boot entry is the first boot-selected NIC; STATIC without DHCP server', async () => {
    const cfg = await getFirmwareNetworkConfig({ root: r });
    expect(cfg).toEqual({
      dhcp: false,
      bootproto: 'STATIC',
      ifaceName: 'ens3',
      mac: '52:54:00:ab:cd:ef',
      ip: '10.0.2.16',
      prefixLength: 16,
      netmask: '255.255.0.0',
      gateway: '10.0.2.2',
      dns: ['10.0.2.3', '10.0.2.4'],
      dhcpServer: null,
      vlan: 100,
      hostname: null,
      origin: 1,
      source: 'ibft',
    });
    expect(await getFirmwareInitiatorName({ root: r })).toBe('iqn.2010-04.org.ipxe:ibftguest');
  });
});

describe('iscsi_boot (qla4xxx offload)', () => {
  const r = root('iscsi-boot-qla4xxx');
  it('targets without lun, offload iface, no IP config', async () => {
    const nodes = await discoverFirmware({ root: r, includeSecrets: true });
    expect(nodes).toHaveLength(2);
    expect(nodes[0]).toMatchObject({
      target: 'iqn.2001-05.com.equallogic:boot-vol',
      address: '192.168.1.50',
      port: 3260,
      iface: 'qla4xxx.00:0e:1e:35:74:ac',
      lun: 0,
      lunText: null,
      boot: true,
      source: 'iscsi_boot5',
      auth: { username: 'qlauser', password: 'qlasecret12345' },
    });
    expect(nodes[1]).toMatchObject({ port: 3261 });
    expect(nodes[1].auth).toBeUndefined();
    const cfg = await getFirmwareNetworkConfig({ root: r });
    expect(cfg).toMatchObject({ dhcp: false, ip: null, mac: '00:0e:1e:35:74:ac', ifaceName: null, source: 'iscsi_boot5' });
    expect(await getFirmwareInitiatorName({ root: r })).toBe('iqn.2000-04.com.qlogic:isp8214.000e1e3574ac.4');
  });
});

describe('raw ACPI table (UEFI) through the C parser', () => {
  it('discovers from /sys/firmware/acpi/tables/iBFT when no sysfs tree exists', async () => {
    const r = root('acpi-only');
    const nodes = await discoverFirmware({ root: r });
    expect(nodes.map((n) => [n.target, n.lun, n.lunText, n.boot, n.port, n.ifaceName, n.source])).toEqual([
      ['iqn.2025-01.test.ibft:target1', 1, '01000000', true, 3270, 'eth0', 'acpi:iBFT'],
      ['iqn.2025-01.test.ibft:target2', 31, '01f000000', false, 3261, null, 'acpi:iBFT'],
    ]);
    expect(nodes[0].auth?.reversePassword).toBe('tgtsecret56789');
    expect(JSON.stringify(nodes)).not.toContain('tgtsecret56789');
    const cfg = await getFirmwareNetworkConfig({ root: r });
    expect(cfg).toMatchObject({ ip: '10.0.2.15', vlan: 100, dns: ['10.0.2.3', '10.0.2.4'], ifaceName: 'eth0', dhcp: true });
    expect(await getFirmwareInitiatorName({ root: r })).toBe('iqn.2025-01.test.ibft:initiator0');
  });

  it('readFirmwareTable returns every field, secrets redacted in output', async () => {
    const t = await readFirmwareTable({ root: root('acpi-only') });
    expect(t).not.toBeNull();
    expect(t!.path).toBe(path.join(root('acpi-only'), 'sys/firmware/acpi/tables/iBFT'));
    expect(t).toMatchObject({
      signature: 'iBFT',
      length: 683,
      revision: 1,
      oemId: 'FENSYS',
      oemTableId: 'iPXE',
      oemRevision: 7,
      control: { length: 18, flags: 1, singleLogin: true, pairs: [{ nicOffset: 0xa0, targetOffset: 0x180 }, { nicOffset: 0x110, targetOffset: 0x1c0 }] },
      initiator: { index: 0, flags: 3, isnsServer: '192.0.2.10', slpServer: '192.0.2.11', priRadiusServer: '192.0.2.12', secRadiusServer: '192.0.2.13', name: 'iqn.2025-01.test.ibft:initiator0' },
    });
    expect(t!.nics[0]).toMatchObject({ flags: 7, global: true, bootSelected: true, valid: true, pciBdf: 0x10, vlan: 100, hostname: 'ibftguest', subnetMask: '255.255.255.0' });
    expect(t!.nics[1]).toMatchObject({ global: false, bootSelected: false, pciBdf: 0x119, hostname: null });
    expect(t!.targets[1]).toMatchObject({ radiusChap: true, radiusReverseChap: true, lun: 31, lunSysfs: '01f000000', chapType: 1, nic: 1 });
    expect([...t!.targets[1].lunRaw]).toEqual([0, 0x1f, 0, 0, 0, 0, 0, 0]);
    expect(t!.targets[0].chapSecret).toBe('ibftsecret1234');
    const shown = inspect(t, { depth: 10 }) + JSON.stringify(t);
    expect(shown).not.toContain('ibftsecret1234');
    expect(shown).not.toContain('tgtsecret56789');
    expect(shown).not.toContain('secret2secret2');
    const open = await readFirmwareTable({ root: root('acpi-only'), includeSecrets: true });
    expect(JSON.stringify(open)).toContain('secret2secret2');
  });

  it('accepts the Broadcom BIFT signature', async () => {
    const t = await readFirmwareTable({ root: root('acpi-bift') });
    expect(t).toMatchObject({ signature: 'BIFT', oemId: 'BRCM', initiator: { name: null } });
    expect(await getFirmwareInitiatorName({ root: root('acpi-bift') })).toBeNull();
  });

  it('a bad table rejects with FIRMWARE_INVALID_TABLE naming the field', async () => {
    await expect(discoverFirmware({ root: root('acpi-bad') })).rejects.toMatchObject({
      name: 'IscsiError',
      code: 'FIRMWARE_INVALID_TABLE',
      message: expect.stringContaining('target0.nic_assoc: 5 names no NIC structure'),
    });
  });

  it('readFirmwareTable({ path }) reads an explicit dump', async () => {
    const t = await readFirmwareTable({ path: path.join(CORE_FIX, 'ipxe-bios-nochap.bin') });
    expect(t).toMatchObject({ length: 585, checksum: 0x87, nics: [{ ip: '10.0.2.15', mac: '52:54:00:12:34:56' }] });
  });
});

describe('parseIbft (addon)', () => {
  const parse = (b: Uint8Array): unknown => loadBinding().parseIbft(b);

  it('parses every golden table', () => {
    for (const f of fs.readdirSync(CORE_FIX).filter((n) => n.endsWith('.bin'))) {
      expect(() => parse(fs.readFileSync(path.join(CORE_FIX, f)))).not.toThrow();
    }
  });

  it.each(fs.readdirSync(path.join(CORE_FIX, 'bad')).filter((n) => n.endsWith('.bin')))(
    'must-fail %s throws FIRMWARE_INVALID_TABLE with the field',
    (f) => {
      let err: (Error & { code?: string }) | undefined;
      try {
        parse(fs.readFileSync(path.join(CORE_FIX, 'bad', f)));
      } catch (e) {
        err = e as Error & { code?: string };
      }
      // Errors from the addon come from the main realm, not jest's sandbox.
      expect(err).toBeDefined();
      expect(err!.code).toBe('FIRMWARE_INVALID_TABLE');
      expect(err!.message).toMatch(/^invalid iBFT: (header|control|initiator|nic\d|target\d)[.:]/);
      expect(err!.message).not.toContain('ibftsecret1234');
    },
  );

  it('rejects non-bytes with a TypeError', () => {
    expect(() => (loadBinding().parseIbft as (x: unknown) => unknown)('iBFT')).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => parse(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'FIRMWARE_INVALID_TABLE' }));
  });
});

describe('no firmware, unsupported firmware, options', () => {
  it('empty root: [], null, null, null', async () => {
    const r = root('empty');
    expect(await discoverFirmware({ root: r })).toEqual([]);
    expect(await getFirmwareNetworkConfig({ root: r })).toBeNull();
    expect(await getFirmwareInitiatorName({ root: r })).toBeNull();
    expect(await readFirmwareTable({ root: r })).toBeNull();
    expect(await discoverFirmware({ root: path.join(r, 'does-not-exist') })).toEqual([]);
  });

  it('PowerPC Open Firmware boot path is FIRMWARE_UNSUPPORTED', async () => {
    await expect(discoverFirmware({ root: root('ppc-of') })).rejects.toMatchObject({ code: FirmwareErrorCodes.UNSUPPORTED });
  });

  it('validates options and honours an aborted signal', async () => {
    await expect(discoverFirmware({ root: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(discoverFirmware({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(discoverFirmware({ includeSecrets: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(discoverFirmware(null as unknown as undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const ac = new AbortController();
    ac.abort();
    await expect(discoverFirmware({ root: root('ibft-ipxe-2targets'), signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    // Aborted while reading: rejects at once; the reads finish on their own.
    const ac2 = new AbortController();
    const p = discoverFirmware({ root: root('ibft-ipxe-2targets'), signal: ac2.signal });
    ac2.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });

  it('EACCES from sysfs (non-root) is reported, not treated as "no firmware"', async () => {
    const fsp = fs.promises;
    const orig = fsp.readFile;
    const spy = jest.spyOn(fsp, 'readFile').mockImplementation((async (p: fs.PathLike, o?: unknown) => {
      if (String(p).endsWith('chap-secret')) {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', errno: -13 });
      }
      return (orig as (p: fs.PathLike, o?: unknown) => Promise<string>)(p, o);
    }) as typeof fsp.readFile);
    try {
      const err = await discoverFirmware({ root: root('ibft-ipxe-2targets') }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EACCES' });
      expect((err as Error).message).toContain('target0/chap-secret');
      expect((err as Error).message).toContain('CAP_SYS_ADMIN');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('helpers', () => {
  it('decodes the sysfs LUN text where unambiguous', () => {
    expect(decodeSysfsLun('00000000')).toBe(0);
    expect(decodeSysfsLun('01000000')).toBe(1);
    expect(decodeSysfsLun('01f000000')).toBe(31);
    expect(decodeSysfsLun('0ff000000')).toBe(255);
    expect(decodeSysfsLun('412c000000')).toBe(300);
    expect(decodeSysfsLun('c1234567')).toBeNull();
  });
  it('normalizes %pI6 text', () => {
    expect(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normalizeIp('10.0.2.2')).toBe('10.0.2.2');
  });
});
