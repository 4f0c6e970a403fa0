import * as util from 'node:util';
import { openSession, IscsiError, type Session } from '../lib';
import { startTgtd, type Tgtd } from './harness/tgtd';

const PLAIN = 'iqn.2026-11.test.login:plain';
const CHAP = 'iqn.2026-11.test.login:chap';
const MUTUAL = 'iqn.2026-11.test.login:mutual';
// Distinctive so a leak anywhere in a message or inspect output is found.
const CHAP_PW = 'Chap-Secret-7f3a91c2';
const MUTUAL_PW = 'Mutual-Secret-b81e4d70';
const TARGET_PW = 'Target-Secret-5c0d2e99';
const WRONG_PW = 'Wrong-Secret-0a1b2c3d';
const SECRETS = [CHAP_PW, MUTUAL_PW, TARGET_PW, WRONG_PW];

let tgtd: Tgtd;
const open: Session[] = [];

function node(target: string): { target: string; address: string; port: number } {
  return { target, address: '127.0.0.1', port: tgtd.port };
}

async function rejection(p: Promise<unknown>): Promise<IscsiError> {
  try {
    const s = await p;
    if (s && typeof (s as Session).close === 'function') open.push(s as Session);
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    return e as IscsiError;
  }
  throw new Error('expected a rejection');
}

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

beforeAll(async () => {
  tgtd = await startTgtd();
  await tgtd.addTarget(PLAIN, { luns: [{ sizeMiB: 8 }] });
  await tgtd.addTarget(CHAP, { luns: [{ sizeMiB: 8 }], chap: { username: 'cuser', password: CHAP_PW } });
  await tgtd.addTarget(MUTUAL, {
    luns: [{ sizeMiB: 8 }],
    chap: { username: 'muser', password: MUTUAL_PW },
    mutual: { username: 'tuser', password: TARGET_PW },
  });
});

afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await tgtd?.stop();
});

describe('login', () => {
  it('without authentication', async () => {
    const s = await openSession(node(PLAIN));
    open.push(s);
    expect(s.target).toBe(PLAIN);
    expect(s.portal).toContain(String(tgtd.port));
    expect(s.parameters.authMethod).toBe('None');
    expect(s.parameters.mutualChap).toBe(false);
    expect(s.parameters.tsih).toBeGreaterThan(0);
    await s.close();
  });

  it('one-way CHAP', async () => {
    const s = await openSession(node(CHAP), { auth: { username: 'cuser', password: CHAP_PW } });
    open.push(s);
    expect(s.parameters.authMethod).toBe('CHAP');
    expect(s.parameters.mutualChap).toBe(false);
    expect(s.parameters.chapAlgorithm).toMatch(/^(SHA3-256|SHA256|SHA-256|SHA1|SHA-1|MD5)$/);
    expectNoSecret(util.inspect(s, { depth: Infinity, showHidden: true }));
    await s.close();
  });

  it('one-way CHAP restricted to MD5', async () => {
    const s = await openSession(node(CHAP), { auth: { username: 'cuser', password: CHAP_PW }, chapAlgorithms: ['MD5'] });
    open.push(s);
    expect(s.parameters.chapAlgorithm).toBe('MD5');
    await s.close();
  });

  it('mutual CHAP', async () => {
    const s = await openSession(node(MUTUAL), {
      auth: { username: 'muser', password: MUTUAL_PW, reverseUsername: 'tuser', reversePassword: TARGET_PW },
    });
    open.push(s);
    expect(s.parameters.authMethod).toBe('CHAP');
    expect(s.parameters.mutualChap).toBe(true);
    expectNoSecret(util.inspect(s, { depth: Infinity, showHidden: true }));
    expectNoSecret(JSON.stringify(s));
    await s.close();
  });

  it('wrong password -> ISCSI_AUTH_FAILED, no secret in message or inspect', async () => {
    const e = await rejection(openSession(node(CHAP), { auth: { username: 'cuser', password: WRONG_PW } }));
    expect(e.code).toBe('ISCSI_AUTH_FAILED');
    expect(e.target).toBe(CHAP);
    expect(e.message).toContain(CHAP);
    expectNoSecret(e.message);
    expectNoSecret(util.inspect(e, { depth: Infinity, showHidden: true }));
    expectNoSecret(String(e.stack));
  });

  it('no credentials for a CHAP target -> ISCSI_AUTH_FAILED', async () => {
    const e = await rejection(openSession(node(CHAP)));
    expect(e.code).toBe('ISCSI_AUTH_FAILED');
  });

  it('wrong reverse (target) secret -> ISCSI_AUTH_FAILED (the initiator refuses)', async () => {
    const e = await rejection(
      openSession(node(MUTUAL), {
        auth: { username: 'muser', password: MUTUAL_PW, reverseUsername: 'tuser', reversePassword: WRONG_PW },
      }),
    );
    expect(e.code).toBe('ISCSI_AUTH_FAILED');
    expectNoSecret(e.message);
    expectNoSecret(util.inspect(e, { depth: Infinity, showHidden: true }));
  });

  it('unknown target -> ISCSI_TARGET_NOT_FOUND', async () => {
    const e = await rejection(openSession(node('iqn.2026-11.test.login:does-not-exist')));
    expect(e.code).toBe('ISCSI_TARGET_NOT_FOUND');
    expect(e.statusClass).toBe(2);
    expect(e.message).toContain('iqn.2026-11.test.login:does-not-exist');
  });

  it('CRC32C header and data digests', async () => {
    const s = await openSession(node(PLAIN), { headerDigest: 'crc32c', dataDigest: 'crc32c' });
    open.push(s);
    expect(s.parameters.headerDigest).toBe('CRC32C');
    expect(s.parameters.dataDigest).toBe('CRC32C');
    const inq = await s.inquiry(1);
    expect(inq.deviceTypeName).toBe('DIRECT_ACCESS');
    await s.close();
  });

  it('negotiated parameters are readable and frozen', async () => {
    const s = await openSession(node(PLAIN), { headerDigest: 'none' });
    open.push(s);
    const p = s.parameters;
    expect(Object.isFrozen(p)).toBe(true);
    expect(p.headerDigest).toBe('None');
    expect(p.dataDigest).toBe('None');
    expect(p.maxRecvDataSegmentLength).toBeGreaterThanOrEqual(512);
    expect(p.maxXmitDataSegmentLength).toBeGreaterThanOrEqual(512);
    expect(p.maxBurstLength).toBeGreaterThanOrEqual(p.firstBurstLength);
    expect(typeof p.initialR2T).toBe('boolean');
    expect(typeof p.immediateData).toBe('boolean');
    expect(p.errorRecoveryLevel).toBe(0);
    expect(p.targetPortalGroupTag).toBe(1);
    expect(() => {
      (p as { maxBurstLength: number }).maxBurstLength = 1;
    }).toThrow(TypeError);
    expect(s.parameters.maxBurstLength).not.toBe(1);
    await s.close();
  });

  it('close twice is fine; every method rejects ISCSI_SESSION_CLOSED afterwards', async () => {
    const s = await openSession(node(PLAIN));
    await s.close();
    await s.close();
    await Promise.all([s.close(), s.close()]);
    expect(s.closed).toBe(true);
    for (const p of [
      s.reportLuns(),
      s.inquiry(1),
      s.readCapacity(1),
      s.scsi(1, Buffer.from([0, 0, 0, 0, 0, 0])),
    ]) {
      const e = await rejection(p);
      expect(e.code).toBe('ISCSI_SESSION_CLOSED');
      expect(e.target).toBe(PLAIN);
    }
  });

  it('bad arguments -> ERR_INVALID_ARG_VALUE', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const bad: Array<[any, any]> = [
      [{ target: 'not a name', address: '127.0.0.1' }, undefined],
      [{ target: PLAIN, address: '127.0.0.1', port: 0 }, undefined],
      [{ target: PLAIN, address: '' }, undefined],
      [null, undefined],
      [node(PLAIN), { headerDigest: 'CRC32C' }],
      [node(PLAIN), { commandTimeoutMs: 0 }],
      [node(PLAIN), { timeoutMs: 2 ** 31 }],
      [node(PLAIN), { auth: { username: 'u', password: CHAP_PW, reverseUsername: 't' } }],
    ];
    for (const [n, o] of bad) {
      const e = await rejection(openSession(n, o));
      expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
      expectNoSecret(e.message);
    }
  });
});
