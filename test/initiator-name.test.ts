import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  iscsiNameProblem, parseInitiatorNameFile, hostDerivedInitiatorName, defaultInitiatorName, resolveInitiatorName,
  DEBIAN_INAME_PREFIX, ISCSI_INAME_DEFAULT_PREFIX, generateInitiatorName, getInitiatorName, setInitiatorName,
} from '../lib/initiator-name';

describe('iSCSI name validation', () => {
  it.each([
    'iqn.2026-11.org.npmjs.iscsi-initiator:abc',
    'iqn.1993-08.org.debian:01:abcdef',
    'iqn.2003-01.org.linux-iscsi.host.x8664:sn.1234',
    'eui.02004567A425678D',
    'naa.52004567BA64678D',
    'naa.62004567BA64678D0123456789ABCDEF',
  ])('accepts %s', (n) => {
    expect(iscsiNameProblem(n)).toBeNull();
  });
  it.each([
    '', 'iqn', 'iqn.', 'iqn.2026.org.x', 'iqn.2026-13.org.x', 'iqn.2026-11.', 'foo.2026-11.org.x', 'eui.123',
    'naa.1234', 'iqn.2026-11.org.x:a b', 'iqn.2026-11.org.x:\x01', 'iqn.2026-11.org.x\x7f',
    `iqn.2026-11.org.x:${'a'.repeat(210)}`,
  ])('rejects %j', (n) => {
    expect(iscsiNameProblem(n)).not.toBeNull();
  });
  it('counts bytes, not characters (223 byte limit)', () => {
    const base = 'iqn.2026-11.org.x:';
    expect(iscsiNameProblem(base + 'a'.repeat(223 - base.length))).toBeNull();
    expect(iscsiNameProblem(base + 'a'.repeat(224 - base.length))).not.toBeNull();
    expect(iscsiNameProblem(base + 'é'.repeat(102))).toBeNull(); // 18 + 204 = 222 bytes
    expect(iscsiNameProblem(base + 'é'.repeat(103))).not.toBeNull(); // 224 bytes, 121 characters
  });
});

describe('initiatorname.iscsi', () => {
  it('parses the InitiatorName line, skipping comments', () => {
    const text = '## DO NOT EDIT\n#InitiatorName=iqn.1999-01.com.bad:x\nInitiatorName=iqn.1993-08.org.debian:01:5ea1f00d\n';
    expect(parseInitiatorNameFile(text)).toBe('iqn.1993-08.org.debian:01:5ea1f00d');
    expect(parseInitiatorNameFile('InitiatorName = iqn.2026-11.a.b:c\r\n')).toBe('iqn.2026-11.a.b:c');
    expect(parseInitiatorNameFile('InitiatorName=garbage\n')).toBeNull();
    expect(parseInitiatorNameFile('')).toBeNull();
  });

  it('derives a stable host name IQN', () => {
    const h = createHash('sha256').update('node-a.example').digest('hex').slice(0, 12);
    expect(hostDerivedInitiatorName('node-a.example')).toBe(`iqn.2026-11.org.npmjs.iscsi-initiator:${h}`);
    expect(iscsiNameProblem(hostDerivedInitiatorName())).toBeNull();
  });

  it('reads the file when present, falls back otherwise', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iname-'));
    const f = path.join(dir, 'initiatorname.iscsi');
    fs.writeFileSync(f, 'InitiatorName=iqn.2026-11.test.file:me\n');
    await expect(defaultInitiatorName(f)).resolves.toBe('iqn.2026-11.test.file:me');
    await expect(defaultInitiatorName(path.join(dir, 'missing'))).resolves.toBe(hostDerivedInitiatorName(os.hostname()));
    fs.writeFileSync(f, 'nothing useful\n');
    await expect(defaultInitiatorName(f)).resolves.toBe(hostDerivedInitiatorName(os.hostname()));
    fs.rmSync(dir, { recursive: true });
  });

  it('validates user supplied names', async () => {
    await expect(resolveInitiatorName('iqn.2026-11.x.y:z')).resolves.toBe('iqn.2026-11.x.y:z');
    await expect(resolveInitiatorName('bogus')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(resolveInitiatorName(42)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});

// ---- initiatorname.iscsi management (issue 4)

describe('initiatorname.iscsi management', () => {
  const roots: string[] = [];
  const mk = (): string => {
    const r = fs.mkdtempSync(path.join(os.tmpdir(), 'iname-'));
    roots.push(r);
    return r;
  };
  afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

  it('generateInitiatorName: iscsi-iname shape, random, prefix validated', () => {
    const a = generateInitiatorName();
    expect(a).toMatch(/^iqn\.2016-04\.com\.open-iscsi:[0-9a-f]{12}$/);
    expect(ISCSI_INAME_DEFAULT_PREFIX).toBe('iqn.2016-04.com.open-iscsi');
    expect(generateInitiatorName()).not.toBe(a);
    expect(generateInitiatorName(DEBIAN_INAME_PREFIX)).toMatch(/^iqn\.1993-08\.org\.debian:01:[0-9a-f]{12}$/);
    expect(() => generateInitiatorName('')).toThrow(/prefix/);
    expect(() => generateInitiatorName('x'.repeat(211))).toThrow(/prefix/);
    expect(() => generateInitiatorName('foo.bar')).toThrow(/invalid iSCSI name/);
    // Same shape as the real tool's output.
    const real = spawnSync('iscsi-iname', ['-p', DEBIAN_INAME_PREFIX], { encoding: 'utf8' });
    if (real.error) throw new Error(`iscsi-iname (open-iscsi) is not installed: ${real.error.message}`);
    expect(real.stdout.trim()).toMatch(/^iqn\.1993-08\.org\.debian:01:[0-9a-f]{6,12}$/);
  });

  it('getInitiatorName: null when absent, reads Debian-style files', async () => {
    const r = mk();
    expect(await getInitiatorName({ root: r })).toBeNull();
    fs.mkdirSync(path.join(r, 'etc/iscsi'), { recursive: true });
    fs.writeFileSync(path.join(r, 'etc/iscsi/initiatorname.iscsi'), '## DO NOT EDIT\nInitiatorName=iqn.1993-08.org.debian:01:bfbcfd5dc67a\n');
    expect(await getInitiatorName({ root: r })).toBe('iqn.1993-08.org.debian:01:bfbcfd5dc67a');
    fs.writeFileSync(path.join(r, 'etc/iscsi/initiatorname.iscsi'), '#InitiatorName=iqn.2000-01.x:y\n');
    expect(await getInitiatorName({ root: r })).toBeNull();
  });

  it('setInitiatorName: validates, writes atomically with Debian header, mode 0600 (new) or the existing mode', async () => {
    const r = mk();
    await expect(setInitiatorName('not a name', { root: r })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(setInitiatorName('iqn.2024-01.x:a\nInitiatorName=iqn.2024-01.evil:b', { root: r })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const file = path.join(r, 'etc/iscsi/initiatorname.iscsi');
    expect(fs.existsSync(file)).toBe(false);
    await setInitiatorName('iqn.2024-01.test:host1', { root: r });
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\nInitiatorName=iqn.2024-01.test:host1\n')).toBe(true);
    expect(text.startsWith('## DO NOT EDIT OR REMOVE THIS FILE!\n')).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await getInitiatorName({ root: r })).toBe('iqn.2024-01.test:host1');
    expect(parseInitiatorNameFile(text)).toBe('iqn.2024-01.test:host1');
    fs.chmodSync(file, 0o644);
    await setInitiatorName('iqn.2024-01.test:host2', { root: r });
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(await getInitiatorName({ root: r })).toBe('iqn.2024-01.test:host2');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['initiatorname.iscsi']);
  });
});
