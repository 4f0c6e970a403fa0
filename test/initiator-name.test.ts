import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  iscsiNameProblem, parseInitiatorNameFile, hostDerivedInitiatorName, defaultInitiatorName, resolveInitiatorName,
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
