/**
 * How a session waits for answers: receive coalescing (SO_RCVLOWAT set from
 * the commands in flight, native/core/src/rxwake.c, on by default) and busy
 * polling (openSession({ busyPollUs })).
 *
 * Coalescing may only make answers wait for each other, never lose or stall
 * them, so the cases here are the ones where the expected batch does not
 * come:
 * - a scripted target answers 3 of 32 READs and holds the rest: the 3 must
 *   be delivered on their own (the stall deadline), long before the command
 *   timeout;
 * - tgtd answers 24 concurrent READs past the end of the LUN with CHECK
 *   CONDITION and no data (the wake level counted on the data);
 * - at queue depth 32, random READs and WRITEs against tgtd match its
 *   backing file byte for byte, with coalescing on and off.
 * Busy polling: data is right, the loop stops spinning once nothing is in
 * flight (CPU use while idle), and a session that is left open does not
 * hold the process.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSession, type Session, type SessionOptions } from '../lib/session';
import { IscsiError } from '../lib/errors';
import { startScriptedTarget, type CommandRecord, type ScriptedTarget } from './harness/scripted-target';
import { startTgtd, type Tgtd } from './harness/tgtd';

const INITIATOR = 'iqn.2026-11.test.initiator:rxwake';
const TARGET = 'iqn.2026-11.test.rxwake:disk';
const DIST = path.join(__dirname, '..', 'dist', 'index.js');
const LUN_MIB = 16;

let tgtd: Tgtd;
let tid = 0;
const sessions: Session[] = [];
const scripted: ScriptedTarget[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  tgtd = await startTgtd();
  tid = await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: LUN_MIB }] });
  fs.writeFileSync(tgtd.backingFile(tid, 1), crypto.randomBytes(LUN_MIB * 1024 * 1024));
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close({ timeoutMs: 2000 })));
  await Promise.all(scripted.splice(0).map((t) => t.close()));
  expect(unhandled).toEqual([]);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await tgtd?.stop();
});

async function openTgtd(extra: SessionOptions = {}): Promise<Session> {
  const s = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port }, { initiatorName: INITIATOR, keepaliveIntervalMs: 0, ...extra });
  sessions.push(s);
  return s;
}

const readAt = (lba: number) => (c: CommandRecord) => c.opcode === 0x28 && c.cdb.readUInt32BE(2) === lba;

describe('receive coalescing', () => {
  it('answers that cannot fill a batch are delivered on their own (3 of 32 READs answered, 29 held)', async () => {
    const t = await startScriptedTarget();
    scripted.push(t);
    const s = await openSession(
      { target: t.targetName, address: '127.0.0.1', port: t.port },
      { initiatorName: INITIATOR, keepaliveIntervalMs: 0, commandTimeoutMs: 20000 },
    );
    sessions.push(s);
    expect(await s.read(0, 0, 1)).toEqual(t.expected(0, 1)); // READ CAPACITY cached
    const answered = new Set([0, 13, 31]);
    for (let i = 0; i < 32; i++) if (!answered.has(i)) t.hold(readAt(8 * i));
    const reads = Array.from({ length: 32 }, (_, i) => s.read(0, 8 * i, 8));
    const early = await Promise.all([...answered].map((i) => reads[i]));
    [...answered].forEach((i, j) => expect(early[j]).toEqual(t.expected(8 * i, 8)));
    // The others are still held by the target, not lost by us.
    const held = t.commands.filter((c) => c.opcode === 0x28 && !answered.has(c.cdb.readUInt32BE(2) / 8) && c.cdb.readUInt32BE(2) < 256);
    expect(held).toHaveLength(29);
    for (const c of held) t.release(c);
    const all = await Promise.all(reads);
    all.forEach((b, i) => expect(b).toEqual(t.expected(8 * i, 8)));
  });

  it('READs that end in CHECK CONDITION without data complete promptly (24 in flight, past the end of the LUN)', async () => {
    const s = await openTgtd({ commandTimeoutMs: 10000 });
    const blocks = (await s.readCapacity(1)).blocks;
    const cdb = (lba: bigint): Buffer => {
      const b = Buffer.alloc(10);
      b[0] = 0x28;
      b.writeUInt32BE(Number(lba), 2);
      b.writeUInt16BE(8, 7);
      return b;
    };
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => s.scsi(1, cdb(blocks + BigInt(i * 8)), { inLength: 4096 })));
    for (const r of results) {
      expect(r.statusName).toBe('CHECK CONDITION');
      expect(r.senseData?.senseKey).toBe(5); // ILLEGAL REQUEST
    }
    // Mixed with good READs in the same batch.
    const good = Buffer.alloc(4096);
    const mixed = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => s.readInto(1, i * 8, Buffer.alloc(4096))),
      s.scsi(1, cdb(blocks), { inLength: 4096 }),
      s.readInto(1, 0, good),
    ]);
    expect((mixed[20] as { statusName: string }).statusName).toBe('CHECK CONDITION');
    expect(good.equals(fs.readFileSync(tgtd.backingFile(tid, 1)).subarray(0, 4096))).toBe(true);
  });

  it.each([
    ['on', true],
    ['off', false],
  ])('random READ/WRITE at queue depth 32 match the backing file (coalescing %s)', async (_label, coalesce) => {
    const s = await openTgtd({ coalesce });
    const blocks = Number((await s.readCapacity(1)).blocks);
    const file = tgtd.backingFile(tid, 1);
    // 32 workers, 64 commands each, distinct 4 KiB slots so writes cannot race.
    const slots = crypto.randomBytes(32 * 64 * 4).reduce<number[]>((acc, _b, i, arr) => {
      if (i % 4 === 0) acc.push(arr.readUInt32BE(i) % (blocks / 8));
      return acc;
    }, []);
    const unique = [...new Set(slots)].slice(0, 32 * 48);
    const written = new Map<number, Buffer>();
    await Promise.all(
      Array.from({ length: 32 }, async (_w, w) => {
        for (let j = w; j < unique.length; j += 32) {
          const slot = unique[j];
          if (j % 2) {
            const data = crypto.randomBytes(4096);
            await s.write(1, slot * 8, data);
            written.set(slot, data);
          } else {
            const into = Buffer.alloc(4096);
            await s.readInto(1, slot * 8, into);
            const disk = Buffer.alloc(4096);
            const fd = fs.openSync(file, 'r');
            fs.readSync(fd, disk, 0, 4096, slot * 4096);
            fs.closeSync(fd);
            expect(into.equals(disk)).toBe(true);
          }
        }
      }),
    );
    await s.flush(1);
    const fd = fs.openSync(file, 'r');
    try {
      for (const [slot, data] of written) {
        const disk = Buffer.alloc(4096);
        fs.readSync(fd, disk, 0, 4096, slot * 4096);
        expect(disk.equals(data)).toBe(true);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('busy polling', () => {
  it('reads right, and stops spinning once nothing is in flight', async () => {
    const s = await openTgtd({ busyPollUs: 5000 });
    const disk = fs.readFileSync(tgtd.backingFile(tid, 1));
    for (let i = 0; i < 200; i++) {
      const lba = (i * 97) % 4096;
      expect((await s.read(1, lba, 8)).equals(disk.subarray(lba * 512, lba * 512 + 4096))).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 50)); // past the 5 ms spin window
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 400));
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(cpu0);
    const cpuMs = (c.user + c.system) / 1000;
    // A loop still spinning would burn about wallMs; idle jest uses little.
    expect(cpuMs).toBeLessThan(wallMs / 4);
  });

  it('a session left open with busy polling does not hold the process', async () => {
    const script = `
      const { openSession } = require(${JSON.stringify(DIST)});
      openSession({ target: ${JSON.stringify(TARGET)}, address: '127.0.0.1', port: ${tgtd.port} },
                  { initiatorName: ${JSON.stringify(INITIATOR)}, busyPollUs: 100000 })
        .then(async (s) => { await s.read(1, 0, 8); console.log('read done'); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 15000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(out).toContain('read done');
    expect(code).toBe(0);
  });

  it.each([
    ['busyPollUs', -1],
    ['busyPollUs', 1.5],
    ['busyPollUs', 100001],
    ['busyPollUs', '100'],
    ['coalesce', 'yes'],
    ['coalesce', 1],
  ])('refuses options.%s = %p', async (key, value) => {
    const err = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port }, { [key]: value } as SessionOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IscsiError);
    expect((err as IscsiError).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
