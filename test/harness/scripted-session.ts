/**
 * The session side of suites that run against the scripted target
 * (scripted-target.ts): a fixture that starts targets, opens sessions on
 * them and tears both down after each test while failing any test that
 * left an unhandled rejection behind, and the small assertions those
 * suites share.
 */
import * as crypto from 'node:crypto';
import { IscsiError, openSession, type Session, type SessionOptions } from '../../lib';
import { startScriptedTarget, type CommandRecord, type ScriptedTarget, type ScriptedTargetOptions } from './scripted-target';

export interface ScriptedFixture {
  /** A started target, closed after the test. */
  target(options?: ScriptedTargetOptions): Promise<ScriptedTarget>;
  /** A session on `t` (closed after the test), with READ CAPACITY of LUN 0
   * already cached. */
  open(t: ScriptedTarget, extra?: SessionOptions): Promise<Session>;
}

/**
 * Registers the suite's beforeAll / afterEach / afterAll hooks; call once
 * at the top level of a test file. Sessions get keepalive off and fast
 * reinstatement unless `defaults` or the test says otherwise.
 */
export function scriptedFixture(initiatorName: string, defaults: SessionOptions = {}): ScriptedFixture {
  const targets: ScriptedTarget[] = [];
  const sessions: Session[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close({ timeoutMs: 2000 })));
    await Promise.all(targets.splice(0).map((t) => t.close()));
    expect(unhandled).toEqual([]);
  });

  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  return {
    async target(options?: ScriptedTargetOptions): Promise<ScriptedTarget> {
      const t = await startScriptedTarget(options);
      targets.push(t);
      return t;
    },
    async open(t: ScriptedTarget, extra: SessionOptions = {}): Promise<Session> {
      const s = await openSession(
        { target: t.targetName, address: '127.0.0.1', port: t.port },
        {
          initiatorName,
          timeoutMs: 5000,
          keepaliveIntervalMs: 0,
          reconnect: { attempts: 3, delayMs: 50, maxDelayMs: 200 },
          ...defaults,
          ...extra,
        },
      );
      sessions.push(s);
      // Block I/O caches READ CAPACITY per session: fetch it now, so the
      // commands a test holds or scripts are the READs/WRITEs themselves.
      expect(await s.read(0, 0, 1)).toEqual(t.expected(0, 1));
      return s;
    },
  };
}

/** The IscsiError `p` rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<IscsiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IscsiError);
    return e as IscsiError;
  }
  throw new Error('expected a rejection');
}

/** Byte equality without jest's element-by-element diff (slow on 128 KiB). */
export function expectBytes(got: Buffer | undefined, want: Buffer): void {
  expect(Buffer.isBuffer(got)).toBe(true);
  const digest = (b: Buffer): string => `${b.length} bytes, sha256 ${crypto.createHash('sha256').update(b).digest('hex')}`;
  expect(digest(got as Buffer)).toBe(digest(want));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** READ(10)/(16) or WRITE(10)/(16) of LUN 0 starting at `lba`. */
function rwAt(write: boolean, lba: number): (c: CommandRecord) => boolean {
  return (c) => {
    if (write ? c.opcode === 0x2a : c.opcode === 0x28) return c.cdb.readUInt32BE(2) === lba;
    if (write ? c.opcode === 0x8a : c.opcode === 0x88) return c.cdb.readBigUInt64BE(2) === BigInt(lba);
    return false;
  };
}
export const readAt = (lba: number): ((c: CommandRecord) => boolean) => rwAt(false, lba);
export const writeAt = (lba: number): ((c: CommandRecord) => boolean) => rwAt(true, lba);
