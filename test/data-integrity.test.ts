/**
 * Data integrity against a scripted target (issue 11): Data-In and R2T PDUs
 * that break the rules, status that does not match the data, and Async
 * Messages. tgtd always sends well-formed PDUs, so only a scripted target
 * (test/harness/scripted-target.ts) can show what the initiator does with
 * a bad one.
 *
 * What the initiator must enforce (RFC 7143; DataPDUInOrder and
 * DataSequenceInOrder are Yes, 13.18 / 13.19):
 * - Data-In (11.7): each Buffer Offset equals the bytes received so far,
 *   DataSN counts up from 0 without gaps (11.7.5), nothing past the
 *   Expected Data Transfer Length. Otherwise the command rejects with
 *   ISCSI_PROTOCOL_ERROR and the connection is dropped (session
 *   reinstated; other commands reissued).
 * - Status (11.4.5 / 11.7.4): GOOD completes only when the bytes received
 *   are EDTL, or EDTL - residual with U; U and O together are invalid.
 *   read() never resolves with bytes the target did not send; scsi()
 *   reports an honest underflow as it came.
 * - R2T (11.8): offset = the data sent so far, R2TSN consecutive, inside
 *   the write; no Data-Out outside the command's range.
 * - Async Message (11.9): 'asyncEvent' for each, plus the event's own
 *   event; logout / renegotiation requests (AsyncEvent 1 / 4) end in a
 *   Logout (reason 0, 11.14) within Parameter3 and a new login, or in a
 *   closed session; drop requests (2 / 3) reinstate after Time2Wait.
 *
 * No assertion measures time: order and content come from the target's
 * records and the session's events.
 */
import * as crypto from 'node:crypto';
import { finished } from 'node:stream/promises';
import type {
  AsyncEventInfo,
  DropRequestInfo,
  IscsiError,
  LogoutRequestInfo,
  ReconnectInfo,
  RenegotiateRequestInfo,
  ScsiEventInfo,
  Session,
} from '../lib';
import {
  dataInPdus,
  fixedSense,
  type CommandRecord,
  type Connection,
  type DataInPlan,
  type R2tFields,
  type ScriptedTarget,
} from './harness/scripted-target';
import { expectBytes, readAt, rejection, scriptedFixture, sleep, writeAt } from './harness/scripted-session';

const KiB = 1024;
/** One READ of 64 KiB (128 blocks of 512), sent as 16 KiB Data-In PDUs. */
const LEN = 64 * KiB;
const PIECE = 16 * KiB;
const BLOCKS = LEN / 512;

// A command timeout well inside jest's: a command the initiator loses
// fails with a message instead of running into the test timeout.
const { target, open } = scriptedFixture('iqn.2026-11.test.initiator:data-integrity', { commandTimeoutMs: 10000 });

// ------------------------------------------------------------ helpers

const isReadCapacity = (c: CommandRecord): boolean => c.opcode === 0x25 || (c.opcode === 0x9e && (c.cdb[1] & 0x1f) === 0x10);

/** Session events in order, with their payloads. */
function recordEvents(s: Session, names = ['disconnect', 'reconnect']): Array<{ event: string; info: unknown }> {
  const out: Array<{ event: string; info: unknown }> = [];
  for (const n of names) s.on(n, (info: unknown) => out.push({ event: n, info }));
  return out;
}
const named = (events: Array<{ event: string }>): string[] => events.map((x) => x.event);
const infoOf = <T>(events: Array<{ event: string; info: unknown }>, name: string): T[] =>
  events.filter((x) => x.event === name).map((x) => x.info as T);

/** Scripts the Data-In of the first `times` READs that match; later ones
 * are answered normally (so a reissue or a re-read gets the real data). */
function scriptRead(t: ScriptedTarget, match: (c: CommandRecord) => boolean, plan: () => DataInPlan, times = 1): void {
  let left = times;
  t.dataIn = (cmd) => {
    if (left === 0 || !match(cmd)) return undefined;
    left--;
    return plan();
  };
}

/** The payload of the session's next `name` event; rejects with a message
 * if none comes within `ms` (so a missing event fails fast). */
function nextEvent<T>(s: Session, name: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (info: T): void => {
      clearTimeout(timer);
      resolve(info);
    };
    const timer = setTimeout(() => {
      s.off(name, on);
      reject(new Error(`no '${name}' event within ${ms} ms`));
    }, ms);
    s.once(name, on);
  });
}

/** Resolves when the connection's socket has closed. */
function connectionClosed(t: ScriptedTarget, conn: Connection): Promise<void> {
  if (conn.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const on = (c: Connection): void => {
      if (c !== conn) return;
      t.off('connection-closed', on);
      resolve();
    };
    t.on('connection-closed', on);
  });
}

/** A READ of 8 blocks at `lba` that the target holds: its promise (marked
 * handled, so a rejection counts only where the test awaits it) and its
 * record at the target. */
async function heldRead(t: ScriptedTarget, s: Session, lba: number): Promise<{ p: Promise<Buffer>; held: CommandRecord }> {
  t.hold(readAt(lba));
  const p = s.read(0, lba, 8);
  p.catch(() => undefined);
  return { p, held: await t.waitFor('command', readAt(lba)) };
}

/** 64 KiB in 16 KiB PDUs with PDU `skip` left out: offsets jump, DataSN
 * stays consecutive, the last PDU says GOOD with residual 0. */
function withHole(skip: number): DataInPlan {
  return { pdus: dataInPdus(LEN, PIECE).filter((_p, i) => i !== skip).map((p, i) => ({ ...p, dataSN: i })) };
}

/** A READ(16) CDB of `blocks` blocks at `lba` for session.scsi(). */
function read16(lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x88;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

// ------------------------------------------------------------ Data-In sequence

describe('Data-In out of sequence: the command fails, the connection is dropped and the session reinstated', () => {
  const cases: Array<[string, () => DataInPlan]> = [
    [
      'a hole: the second PDU skipped, DataSN still consecutive, GOOD with residual 0',
      () => withHole(1),
    ],
    [
      'an overlap: offsets 0, 0, 32 KiB, 48 KiB',
      () => ({ pdus: [0, 0, 32 * KiB, 48 * KiB].map((offset) => ({ offset, length: PIECE })) }),
    ],
    [
      'a DataSN gap: offsets in order, DataSN 0, 2, 3, 4',
      () => ({ pdus: dataInPdus(LEN, PIECE).map((p, i) => ({ ...p, dataSN: i === 0 ? 0 : i + 1 })) }),
    ],
    ['a fifth PDU past the expected length', () => ({ pdus: dataInPdus(LEN + PIECE, PIECE) })],
    [
      'the last PDU running past the expected length',
      () => ({ pdus: [...dataInPdus(48 * KiB, PIECE), { offset: 48 * KiB, length: 2 * PIECE }] }),
    ],
  ];

  it.each(cases)('%s', async (_label, plan) => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    // Another command is at the target when the bad Data-In comes.
    const { p: pOther } = await heldRead(t, s, 600);

    scriptRead(t, readAt(100), plan);
    const e = await rejection(s.read(0, 100, BLOCKS));
    expect(e.code).toBe('ISCSI_PROTOCOL_ERROR');

    expect(await pOther).toEqual(t.expected(600, 8));
    if (!named(events).includes('reconnect')) await nextEvent(s, 'reconnect');
    expect(named(events)).toEqual(['disconnect', 'reconnect']);
    expect(t.connections[0].closed).toBe(true);
    expect(t.logins[1]).toMatchObject({ isid: t.logins[0].isid, tsih: 0 });
    // The other command was reissued; the failed one was not.
    expect(t.commands.filter(readAt(600)).map((c) => c.conn.id)).toEqual([1, 2]);
    expect(t.commands.filter(readAt(100)).map((c) => c.conn.id)).toEqual([1]);

    expectBytes(await s.read(0, 100, BLOCKS), t.expected(100, BLOCKS));
  });

  it('a read stream with a hole in one command errors and never emits the hole', async () => {
    const t = await target();
    const s = await open(t);
    const first = 512;
    const chunk = 64 * KiB;
    // Four commands of 64 KiB; the second gets the hole.
    scriptRead(t, readAt(first + BLOCKS), () => withHole(2));
    const stream = s.createReadStream(0, { start: first * 512, end: first * 512 + 4 * chunk - 1, chunkBytes: chunk, queueDepth: 2 });
    const got: Buffer[] = [];
    stream.on('data', (d: Buffer) => got.push(d));
    const err = await rejection(finished(stream));
    expect(err.code).toBe('ISCSI_PROTOCOL_ERROR');
    const emitted = Buffer.concat(got);
    // Only whole, correct data before the broken command.
    expect(emitted.length).toBeLessThanOrEqual(chunk);
    expectBytes(emitted, t.expected(first, emitted.length / 512));

    expectBytes(await s.read(0, first, 4 * BLOCKS), t.expected(first, 4 * BLOCKS));
  });
});

// ------------------------------------------------------------ status vs data

describe('status that does not match the data: the command fails, the connection stays', () => {
  const cases: Array<[string, () => DataInPlan]> = [
    ['GOOD in the last Data-In after 48 of 64 KiB, residual 0', () => ({ pdus: dataInPdus(48 * KiB, PIECE) })],
    [
      'GOOD in a separate SCSI Response after 48 of 64 KiB, residual 0',
      () => ({ pdus: dataInPdus(48 * KiB, PIECE).map((p) => ({ ...p, status: false })), response: { status: 0 } }),
    ],
    [
      'GOOD with U and a residual of 8 KiB after 48 of 64 KiB',
      () => ({ pdus: dataInPdus(48 * KiB, PIECE).map((p, i) => (i === 2 ? { ...p, underflow: true, residual: 8 * KiB } : p)) }),
    ],
  ];

  it.each(cases)('%s: read() and scsi() reject', async (_label, plan) => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    scriptRead(t, readAt(100), plan, 2);
    expect((await rejection(s.read(0, 100, BLOCKS))).code).toBe('ISCSI_PROTOCOL_ERROR');
    expect((await rejection(s.scsi(0, read16(100, BLOCKS), { inLength: LEN }))).code).toBe('ISCSI_PROTOCOL_ERROR');

    expectBytes(await s.read(0, 100, BLOCKS), t.expected(100, BLOCKS));
    expect(events).toEqual([]);
    expect(t.connections).toHaveLength(1);
    expect(t.connections[0].closed).toBe(false);
  });

  it.each([
    ['in the last Data-In', (): DataInPlan => ({ pdus: dataInPdus(LEN, PIECE).map((p, i) => (i === 3 ? { ...p, underflow: true, overflow: true } : p)) })],
    [
      'in a SCSI Response',
      (): DataInPlan => ({ pdus: dataInPdus(LEN, PIECE).map((p) => ({ ...p, status: false })), response: { status: 0, underflow: true, overflow: true } }),
    ],
  ])('U and O both set %s', async (_label, plan) => {
    const t = await target();
    const s = await open(t);
    scriptRead(t, readAt(100), plan);
    expect((await rejection(s.read(0, 100, BLOCKS))).code).toBe('ISCSI_PROTOCOL_ERROR');
    expectBytes(await s.read(0, 100, BLOCKS), t.expected(100, BLOCKS));
  });
});

describe('an honest underflow (U, residual 16 KiB, 48 of 64 KiB sent)', () => {
  const underflow: Array<[string, () => DataInPlan]> = [
    ['in the last Data-In', () => ({ pdus: dataInPdus(48 * KiB, PIECE).map((p, i) => (i === 2 ? { ...p, underflow: true, residual: PIECE } : p)) })],
    [
      'in a SCSI Response',
      () => ({ pdus: dataInPdus(48 * KiB, PIECE).map((p) => ({ ...p, status: false })), response: { status: 0, underflow: true, residual: PIECE } }),
    ],
  ];

  it.each(underflow)('%s: read() rejects, saying how many bytes came', async (_label, plan) => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    scriptRead(t, readAt(100), plan);
    const e = await rejection(s.read(0, 100, BLOCKS));
    expect({ code: e.code, message: e.message }).toEqual({ code: 'ISCSI_PROTOCOL_ERROR', message: expect.stringContaining(String(48 * KiB)) });
    expect(events).toEqual([]);
    expectBytes(await s.read(0, 100, BLOCKS), t.expected(100, BLOCKS));
  });

  it.each(underflow)('%s: scsi() resolves with exactly the bytes received', async (_label, plan) => {
    const t = await target();
    const s = await open(t);
    scriptRead(t, readAt(100), plan);
    const r = await s.scsi(0, read16(100, BLOCKS), { inLength: LEN });
    expect(r).toMatchObject({ status: 0, response: 0, underflow: true, overflow: false, residual: PIECE });
    expectBytes(r.data, t.expected(100, 96));
    expect(t.connections).toHaveLength(1);
  });
});

// ------------------------------------------------------------ R2T

describe('R2T that breaks the rules: write() fails, no Data-Out outside the command', () => {
  const cases: Array<[string, (cmd: CommandRecord, next: R2tFields) => Partial<R2tFields>]> = [
    ['at the wrong offset (a hole)', (_c, next) => ({ offset: next.offset + 4096 })],
    ['with the wrong R2TSN', (_c, next) => ({ r2tSN: next.r2tSN + 1 })],
    ['running past the write length', (_c, next) => ({ length: next.length + 4096 })],
    ['starting at the write length', (c) => ({ offset: c.edtl, length: 4096 })],
  ];

  it.each(cases)('%s', async (_label, bend) => {
    const t = await target();
    const s = await open(t);
    // 128 KiB: more than FirstBurstLength, so at least one R2T.
    const data = crypto.randomBytes(256 * 512);
    let bent: number | undefined;
    t.r2t = (cmd, next) => {
      if (bent !== undefined || !writeAt(300)(cmd)) return undefined;
      bent = cmd.itt;
      return bend(cmd, next);
    };
    const e = await rejection(s.write(0, 300, data));
    expect(e.code).toBe('ISCSI_PROTOCOL_ERROR');
    expect(bent).toBeDefined();

    // One command carries the whole write (chunks are MaxBurstLength).
    const outside = t.dataOuts.filter((d) => d.itt === bent && d.conn.id === 1 && d.offset + d.length > data.length);
    expect(outside.map((d) => [d.offset, d.length])).toEqual([]);

    // The session still works and the write can be redone.
    await s.write(0, 300, data);
    expectBytes(await s.read(0, 300, 256), data);
  });
});

// ------------------------------------------------------------ Async Messages

describe('Async Message', () => {
  it('AsyncEvent 0, CAPACITY DATA HAS CHANGED: scsiEvent, and the next read fetches the capacity again', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['asyncEvent', 'scsiEvent', 'disconnect']);
    const oldBlocks = t.blocks;
    t.resize(oldBlocks + 256);
    // The session still has the old size.
    expect((await rejection(s.read(0, oldBlocks, 8))).code).toBe('ISCSI_LBA_OUT_OF_RANGE');

    const sense = fixedSense(0x06, 0x2a, 0x09); // UNIT ATTENTION, CAPACITY DATA HAS CHANGED
    const seen = nextEvent(s, 'scsiEvent');
    t.connections[0].sendAsync({ event: 0, lun: 0, sense });
    await seen;
    const [ev] = infoOf<AsyncEventInfo>(events, 'asyncEvent');
    expect(ev).toMatchObject({ event: 0, name: 'scsi-event', lun: 0, action: 'report' });
    expect(ev.sense).toEqual(sense);
    expect(ev.senseData).toMatchObject({ senseKey: 0x06, asc: 0x2a, ascq: 0x09 });
    const [scsi] = infoOf<ScsiEventInfo>(events, 'scsiEvent');
    expect(scsi).toMatchObject({ lun: 0, sense, senseData: { senseKey: 0x06, asc: 0x2a, ascq: 0x09 } });
    expect(named(events)).toEqual(['scsiEvent', 'asyncEvent']);

    const capacityReads = t.commands.filter(isReadCapacity).length;
    expectBytes(await s.read(0, oldBlocks, 8), t.expected(oldBlocks, 8));
    expect(t.commands.filter(isReadCapacity).length).toBe(capacityReads + 1);
    expect(t.connections).toHaveLength(1);
  });

  it('AsyncEvent 0, REPORTED LUNS DATA HAS CHANGED: reported, the session keeps working', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['asyncEvent', 'scsiEvent', 'disconnect']);
    const seen = nextEvent<ScsiEventInfo>(s, 'scsiEvent');
    t.connections[0].sendAsync({ event: 0, lun: 0, sense: fixedSense(0x06, 0x3f, 0x0e) });
    const scsi = await seen;
    expect(scsi).toMatchObject({ lun: 0, senseData: { senseKey: 0x06, asc: 0x3f, ascq: 0x0e } });
    expect(named(events)).toEqual(['scsiEvent', 'asyncEvent']);
    expect(await s.read(0, 10, 1)).toEqual(t.expected(10, 1));
  });

  it('AsyncEvent 1 (relogin): new commands wait, the held one finishes, Logout (reason 0), login again; both reads correct', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['asyncEvent', 'logoutRequest', 'disconnect', 'reconnect']);
    const { p: pHeld, held } = await heldRead(t, s, 100);

    const asked = nextEvent<LogoutRequestInfo>(s, 'logoutRequest');
    held.conn.sendAsync({ event: 1, parameter3: 30 });
    const req = await asked;
    expect(req.action).toBe('relogin');
    expect(req.withinMs).toBeGreaterThan(0);
    expect(req.withinMs).toBeLessThanOrEqual(30000);
    const pAfter = s.read(0, 200, 8);
    // Time for a Logout sent too early, or the new READ, to reach the
    // target; neither may have.
    await sleep(200);
    expect(t.logouts).toEqual([]);
    expect(t.commands.filter(readAt(200))).toEqual([]);

    t.release(held);
    const lo = await t.waitFor('logout');
    expect(lo).toMatchObject({ reason: 0, cid: t.logins[0].cid, openTasks: [] });
    expect(lo.conn.id).toBe(1);
    expect(held.answered).toBe(true);
    expect(await pHeld).toEqual(t.expected(100, 8));
    expect(await pAfter).toEqual(t.expected(200, 8));

    expect(t.logins).toHaveLength(2);
    expect(t.logins[1]).toMatchObject({ isid: t.logins[0].isid, tsih: 0 });
    expect(t.logins[1].conn.id).toBe(2);
    expect(t.commands.filter(readAt(200)).map((c) => c.conn.id)).toEqual([2]);
    expect(named(events)).toEqual(['logoutRequest', 'asyncEvent', 'disconnect', 'reconnect']);
    const [ev] = infoOf<AsyncEventInfo>(events, 'asyncEvent');
    expect(ev).toMatchObject({ event: 1, name: 'logout-request', parameter3: 30, action: 'relogin' });
    expect(ev.delayMs).toBeGreaterThan(0);
    expect(ev.delayMs).toBeLessThanOrEqual(30000);
    expect(infoOf<ReconnectInfo>(events, 'disconnect')[0].error?.code).toBe('ISCSI_TARGET_LOGOUT');
    expect(t.connections[1].sequenceErrors).toBe(0);
  });

  it('AsyncEvent 1 (relogin): a command the target never finishes does not stop the Logout; it is reissued after the login', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    const { p: pHeld, held } = await heldRead(t, s, 100);
    held.conn.sendAsync({ event: 1, parameter3: 2 });
    // Parameter3 = 2 s: the Logout goes out with the READ still held.
    const lo = await t.waitFor('logout', undefined, 5000);
    expect(lo).toMatchObject({ reason: 0, openTasks: [held.itt] });
    expect(await pHeld).toEqual(t.expected(100, 8));
    expect(t.commands.filter(readAt(100)).map((c) => [c.conn.id, c.answered])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(named(events)).toEqual(['disconnect', 'reconnect']);
  });

  it('AsyncEvent 1 (relogin): the new login waits for the Logout Response', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    t.logoutAnswer = { delayMs: 300, time2wait: 0, time2retain: 0 };
    let answeredAtLogin: boolean | undefined;
    t.on('login', () => {
      answeredAtLogin ??= t.logouts[0]?.answered;
    });
    t.connections[0].sendAsync({ event: 1, parameter3: 30 });
    const lo = await t.waitFor('logout');
    expect(lo.reason).toBe(0);
    await t.waitFor('login', (l) => l.conn.id === 2);
    expect(answeredAtLogin).toBe(true);
    if (!named(events).includes('reconnect')) await nextEvent(s, 'reconnect');
    expect(await s.read(0, 200, 8)).toEqual(t.expected(200, 8));
  });

  it("AsyncEvent 1 with targetLogout 'logout': the held command finishes, the waiting one rejects, the session closes", async () => {
    const t = await target();
    const s = await open(t, { targetLogout: 'logout' });
    const events = recordEvents(s, ['logoutRequest', 'disconnect', 'reconnect']);
    const closed = nextEvent(s, 'close', 10000);
    const { p: pHeld, held } = await heldRead(t, s, 100);
    const asked = nextEvent<LogoutRequestInfo>(s, 'logoutRequest');
    held.conn.sendAsync({ event: 1, parameter3: 30 });
    const req = await asked;
    expect(req.action).toBe('logout');
    const eAfter = rejection(s.read(0, 200, 8));
    await sleep(200);
    expect(t.logouts).toEqual([]);

    t.release(held);
    expect(await pHeld).toEqual(t.expected(100, 8));
    const lo = await t.waitFor('logout');
    expect(lo).toMatchObject({ reason: 0, openTasks: [] });
    expect((await eAfter).code).toBe('ISCSI_TARGET_LOGOUT');
    await closed;
    expect(s.closed).toBe(true);
    expect((await rejection(s.read(0, 300, 1))).code).toBe('ISCSI_SESSION_CLOSED');
    expect(t.logins).toHaveLength(1);
    expect(t.commands.filter(readAt(200))).toEqual([]);
    expect(named(events)).not.toContain('reconnect');
  });

  it('AsyncEvent 1 with reconnect off: Logout, the held command rejects, the session closes', async () => {
    const t = await target();
    const s = await open(t, { reconnect: false });
    const closed = nextEvent(s, 'close', 10000);
    const { p: pHeld, held } = await heldRead(t, s, 100);
    held.conn.sendAsync({ event: 1, parameter3: 2 });
    const lo = await t.waitFor('logout', undefined, 5000);
    expect(lo).toMatchObject({ reason: 0, openTasks: [held.itt] });
    expect((await rejection(pHeld)).code).toBe('ISCSI_TARGET_LOGOUT');
    await closed;
    expect((await rejection(s.read(0, 300, 1))).code).toBe('ISCSI_SESSION_CLOSED');
    expect(t.logins).toHaveLength(1);
  });

  it.each([
    [2, false],
    [3, true],
  ])('AsyncEvent %i: the initiator drops the connection and reinstates after Time2Wait; the held READ is reissued', async (event, all) => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['asyncEvent', 'dropRequest', 'disconnect', 'reconnect']);
    const { p: pHeld, held } = await heldRead(t, s, 100);
    const asked = nextEvent<DropRequestInfo>(s, 'dropRequest');
    held.conn.sendAsync({ event, parameter2: 1, parameter3: 10 });
    const req = await asked;
    expect(req).toEqual({ allConnections: all, time2waitMs: 1000, time2retainMs: 10000, action: 'reconnect' });
    // The target never closes it: the initiator does, before logging in
    // again (the harness closes the old connection of a reinstated session
    // itself, so a close only seen after the new login would prove nothing).
    await connectionClosed(t, held.conn);
    expect(t.logins).toHaveLength(1);

    expect(await pHeld).toEqual(t.expected(100, 8));
    expect(t.logouts).toEqual([]);
    expect(t.logins[1]).toMatchObject({ isid: t.logins[0].isid, tsih: 0 });
    expect(t.commands.filter(readAt(100)).map((c) => c.conn.id)).toEqual([1, 2]);
    expect(named(events)).toEqual(['dropRequest', 'asyncEvent', 'disconnect', 'reconnect']);
    const [ev] = infoOf<AsyncEventInfo>(events, 'asyncEvent');
    expect(ev).toMatchObject({
      event,
      name: all ? 'session-drop' : 'connection-drop',
      parameter2: 1,
      parameter3: 10,
      action: 'reconnect',
      delayMs: 1000,
    });
    expect(await s.read(0, 200, 8)).toEqual(t.expected(200, 8));
  });

  it('AsyncEvent 2 with reconnect off: the session fails, the held command rejects', async () => {
    const t = await target();
    const s = await open(t, { reconnect: false });
    const errors: IscsiError[] = [];
    s.on('error', (e: IscsiError) => errors.push(e));
    const closed = nextEvent(s, 'close', 10000);
    const asked = nextEvent<DropRequestInfo>(s, 'dropRequest');
    const { p: pHeld, held } = await heldRead(t, s, 100);
    held.conn.sendAsync({ event: 2, parameter2: 0, parameter3: 0 });
    expect((await asked).action).toBe('fail');
    const e = await rejection(pHeld);
    await closed;
    expect(errors).toHaveLength(1);
    expect(e.code).toBe(errors[0].code);
    expect(s.closed).toBe(true);
    expect((await rejection(s.read(0, 300, 1))).code).toBe('ISCSI_SESSION_CLOSED');
  });

  it('AsyncEvent 4: renegotiation is a Logout and a new login offering every key again', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['renegotiateRequest', 'disconnect', 'reconnect']);
    t.connections[0].sendAsync({ event: 4, parameter3: 30 });
    const lo = await t.waitFor('logout');
    expect(lo.reason).toBe(0);
    const again = await t.waitFor('login', (l) => l.conn.id === 2);
    if (!named(events).includes('reconnect')) await nextEvent(s, 'reconnect');
    expect(again).toMatchObject({ isid: t.logins[0].isid, tsih: 0 });
    const keys = (i: number): string[] => [...new Set(t.logins[i].keys.map(([k]) => k))].sort();
    expect(keys(1)).toEqual(keys(0));
    expect(infoOf<RenegotiateRequestInfo>(events, 'renegotiateRequest')).toEqual([{ action: 'relogin' }]);
    expect(named(events)).toEqual(['renegotiateRequest', 'disconnect', 'reconnect']);
    expect(await s.read(0, 200, 8)).toEqual(t.expected(200, 8));
  });

  it.each([
    [255, 'vendor'],
    [5, 'reserved'],
    [200, 'reserved'],
  ])('AsyncEvent %i: reported as %s only, the session keeps working', async (event, name) => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s, ['asyncEvent', 'scsiEvent', 'logoutRequest', 'dropRequest', 'renegotiateRequest', 'disconnect']);
    const data = Buffer.from('vendor-data!');
    const seen = nextEvent<AsyncEventInfo>(s, 'asyncEvent');
    t.connections[0].sendAsync({ event, vcode: 0x42, parameter1: 1, parameter2: 2, parameter3: 3, data });
    const ev = await seen;
    expect(ev).toMatchObject({ event, name, vcode: 0x42, lun: 0, parameter1: 1, parameter2: 2, parameter3: 3, action: 'report' });
    expect(ev.data).toEqual(data);
    expect(await s.read(0, 200, 8)).toEqual(t.expected(200, 8));
    expect(named(events)).toEqual(['asyncEvent']);
    expect(t.logouts).toEqual([]);
    expect(t.connections).toHaveLength(1);
  });
});
