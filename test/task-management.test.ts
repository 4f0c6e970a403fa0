/**
 * Per-command timeouts, AbortSignal, keepalive and session reinstatement
 * against a scripted target (test/harness/scripted-target.ts): tgtd cannot
 * be told to hold one command, refuse or ignore an ABORT TASK, stop
 * answering NOP-Outs or drop the connection under a command in flight.
 *
 * What is checked on the wire (RFC 7143):
 * - ABORT TASK (11.5.1): immediate, function 1, Referenced Task Tag = the
 *   command's ITT, RefCmdSN = its CmdSN, CmdSN = the next one (not used up).
 * - TMF Response (11.6.1): 0/1 end the command with the caller's error and
 *   keep the connection; anything else, or no answer within abortTimeoutMs,
 *   drops the connection before the command is handed back.
 * - NOP-Out ping (11.18): valid ITT, TTT 0xffffffff; an unanswered one is a
 *   lost connection.
 * - Session reinstatement (6.3.5): new connection, same ISID, TSIH 0;
 *   pending commands are reissued and complete exactly once.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import type { IscsiError, Session } from '../lib';
import type { ReconnectInfo } from '../lib/session';
import { RESERVED_TAG, TmfResponse } from './harness/scripted-target';
import { expectBytes, readAt, rejection, scriptedFixture, sleep, writeAt } from './harness/scripted-session';

const INITIATOR = 'iqn.2026-11.test.initiator:task-management';
const DIST = path.join(__dirname, '..', 'dist', 'index.js');

const { target, open } = scriptedFixture(INITIATOR);

/** Collects a session's 'disconnect' / 'reconnect' events in order. */
function recordEvents(s: Session): Array<{ event: string; info: ReconnectInfo }> {
  const out: Array<{ event: string; info: ReconnectInfo }> = [];
  s.on('disconnect', (info: ReconnectInfo) => out.push({ event: 'disconnect', info }));
  s.on('reconnect', (info: ReconnectInfo) => out.push({ event: 'reconnect', info }));
  return out;
}

describe('ABORT TASK', () => {
  it('a per-command timeout sends ABORT TASK; response 0 ends the command with ETIMEDOUT and keeps the connection', async () => {
    const t = await target();
    const s = await open(t);
    t.hold(readAt(100));
    const t0 = Date.now();
    const e = await rejection(s.read(0, 100, 4, { timeoutMs: 300 }));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('ETIMEDOUT');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);

    const held = await t.waitFor('command', readAt(100));
    expect(t.tmfs).toHaveLength(1);
    const tmf = t.tmfs[0];
    expect(tmf).toMatchObject({
      function: 1,
      immediate: true,
      lun: 0,
      referencedTaskTag: held.itt,
      refCmdSN: held.cmdSN,
      response: TmfResponse.FUNCTION_COMPLETE,
    });
    expect(tmf.itt).not.toBe(held.itt);
    expect(tmf.itt).not.toBe(RESERVED_TAG);
    // Immediate: it carries the next CmdSN without using it up.
    expect(tmf.cmdSN).toBe(tmf.expCmdSNAtArrival);
    expect(held.aborted).toBe(true);
    expect(held.answered).toBe(false);

    // Same session, same connection, still working.
    expect(await s.read(0, 200, 8)).toEqual(t.expected(200, 8));
    const next = t.commands[t.commands.length - 1];
    expect(readAt(200)(next)).toBe(true);
    expect(next.cmdSN).toBe(tmf.cmdSN);
    expect(t.connections).toHaveLength(1);
    expect(t.logins).toHaveLength(1);
    expect(t.connections[0].closed).toBe(false);
    expect(t.connections[0].sequenceErrors).toBe(0);
  });

  it('an AbortSignal sends ABORT TASK for that command only; ABORT_ERR, other commands complete', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    t.hold(readAt(10));
    t.hold(readAt(20));
    const ac = new AbortController();
    const pA = s.read(0, 10, 2, { signal: ac.signal });
    const pB = s.read(0, 20, 2);
    const a = await t.waitFor('command', readAt(10));
    const b = await t.waitFor('command', readAt(20));
    // A third command passes the two held ones.
    expect(await s.read(0, 30, 2)).toEqual(t.expected(30, 2));

    setTimeout(() => ac.abort(), 100);
    const e = await rejection(pA);
    expect(e.code).toBe('ABORT_ERR');
    expect(t.tmfs).toHaveLength(1);
    expect(t.tmfs[0]).toMatchObject({
      function: 1,
      immediate: true,
      referencedTaskTag: a.itt,
      refCmdSN: a.cmdSN,
      response: TmfResponse.FUNCTION_COMPLETE,
    });
    expect(a.aborted).toBe(true);

    // B was not aborted and still completes, with its data.
    expect(b.aborted).toBe(false);
    t.release(b);
    expect(await pB).toEqual(t.expected(20, 2));

    // session.scsi() goes through the same per-command path.
    t.hold((c) => c.opcode === 0x00);
    const ac2 = new AbortController();
    const pTur = s.scsi(0, Buffer.alloc(6), { signal: ac2.signal });
    const tur = await t.waitFor('command', (c) => c.opcode === 0x00);
    ac2.abort();
    expect((await rejection(pTur)).code).toBe('ABORT_ERR');
    expect(t.tmfs).toHaveLength(2);
    expect(t.tmfs[1]).toMatchObject({ referencedTaskTag: tur.itt, refCmdSN: tur.cmdSN, response: 0 });
    expect((await s.scsi(0, Buffer.alloc(6))).status).toBe(0);

    expect(events).toEqual([]);
    expect(t.connections).toHaveLength(1);
    expect(t.connections[0].sequenceErrors).toBe(0);
  });

  it.each([
    ['5 (function not supported)', TmfResponse.FUNCTION_NOT_SUPPORTED],
    ['255 (function rejected)', TmfResponse.FUNCTION_REJECTED],
  ])(
    'TMF response %s drops the connection: reinstatement with the same ISID, the command still rejects',
    async (_label, response) => {
      const t = await target();
      const s = await open(t);
      const events = recordEvents(s);
      t.onTmf = () => response;
      t.hold(readAt(40));
      const e = await rejection(s.read(0, 40, 1, { timeoutMs: 300 }));
      expect(e.code).toBe('ETIMEDOUT');
      // Handed back only once the connection that could still deliver its
      // data is gone.
      expect(events.map((x) => x.event)).toContain('disconnect');
      expect(t.tmfs).toHaveLength(1);
      expect(t.tmfs[0].response).toBe(response);

      const again = await t.waitFor('login', (l) => l.conn.id === 2);
      expect(again.isid).toBe(t.logins[0].isid);
      expect(again.tsih).toBe(0);
      expect(again.reinstatement).toBe(true);
      if (!events.some((x) => x.event === 'reconnect')) await once(s, 'reconnect');
      expect(t.connections[0].closed).toBe(true);

      expect(await s.read(0, 41, 1)).toEqual(t.expected(41, 1));
      // The aborted READ is not reissued on the new connection.
      expect(t.commands.filter((c) => readAt(40)(c) && c.conn.id === 2)).toEqual([]);
    },
  );

  it('an unanswered ABORT TASK drops the connection after abortTimeoutMs', async () => {
    const t = await target();
    const s = await open(t, { abortTimeoutMs: 500 });
    const events = recordEvents(s);
    t.onTmf = () => null;
    t.hold(readAt(50));
    const t0 = Date.now();
    const e = await rejection(s.read(0, 50, 1, { timeoutMs: 300 }));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('ETIMEDOUT');
    expect(elapsed).toBeGreaterThanOrEqual(700); // 300 command + 500 TMF, minus timer slack
    expect(elapsed).toBeLessThan(5000);
    expect(events.map((x) => x.event)).toContain('disconnect');
    expect(events[0].info.error?.code).toBe('ETIMEDOUT');
    expect(t.tmfs).toHaveLength(1);
    expect(t.tmfs[0]).toMatchObject({ function: 1, response: null });

    const again = await t.waitFor('login', (l) => l.conn.id === 2);
    expect(again.isid).toBe(t.logins[0].isid);
    expect(again.tsih).toBe(0);
    if (!events.some((x) => x.event === 'reconnect')) await once(s, 'reconnect');
    expect(await s.read(0, 51, 1)).toEqual(t.expected(51, 1));
  });
});

describe('keepalive', () => {
  it('answered NOP-Outs keep the session; unanswered ones reinstate it and pending commands complete after', async () => {
    const t = await target();
    const s = await open(t, { keepaliveIntervalMs: 200, keepaliveTimeoutMs: 300 });
    const events = recordEvents(s);
    await sleep(1100);
    expect(events).toEqual([]);
    const pings = t.nops.filter((n) => n.conn.id === 1);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    for (const p of pings) {
      expect(p.ttt).toBe(RESERVED_TAG);
      expect(p.itt).not.toBe(RESERVED_TAG);
      expect(p.immediate).toBe(true);
      expect(p.final).toBe(true);
      expect(p.answered).toBe(true);
    }
    expect(new Set(pings.map((p) => p.itt)).size).toBe(pings.length);
    expect(t.connections).toHaveLength(1);

    // The target goes quiet on pings but keeps the socket open.
    const order: string[] = [];
    s.on('reconnect', () => order.push('reconnect'));
    t.connections[0].answerNops = false;
    t.hold(readAt(60));
    const pHeld = s.read(0, 60, 1).then((b) => {
      order.push('held read');
      return b;
    });
    await t.waitFor('command', readAt(60));
    let pQueued: Promise<Buffer> | undefined;
    s.once('disconnect', () => {
      pQueued = s.read(0, 70, 1).then((b) => {
        order.push('queued read');
        return b;
      });
    });
    const [info] = (await once(s, 'disconnect')) as [ReconnectInfo];
    expect(info.attempt).toBe(1);
    expect(info.error?.code).toBe('ETIMEDOUT');
    expect(t.nops.some((n) => n.conn.id === 1 && !n.answered)).toBe(true);

    const again = await t.waitFor('login', (l) => l.conn.id === 2);
    expect(again.isid).toBe(t.logins[0].isid);
    expect(again.tsih).toBe(0);
    expect(again.reinstatement).toBe(true);
    expect(await pHeld).toEqual(t.expected(60, 1));
    expect(pQueued).toBeDefined();
    expect(await pQueued).toEqual(t.expected(70, 1));
    expect(order[0]).toBe('reconnect');
    expect(order.slice(1).sort()).toEqual(['held read', 'queued read']);
    expect(events.map((x) => x.event)).toEqual(['disconnect', 'reconnect']);
    expect(t.connections[0].closed).toBe(true);
    expect(t.connections[1].sequenceErrors).toBe(0);
  });

  it('an idle session with keepalive does not keep the process alive', async () => {
    expect(fs.existsSync(DIST)).toBe(true); // needs `npm run build:ts`
    const t = await target();
    const script = `
      const { openSession } = require(${JSON.stringify(DIST)});
      const [port, target, initiatorName] = process.argv.slice(1);
      openSession({ target, address: '127.0.0.1', port: Number(port) },
                  { initiatorName, timeoutMs: 5000, keepaliveIntervalMs: 200, keepaliveTimeoutMs: 300 })
        .then(() => {
          process.stdout.write('open\\n');
          // Alive for another reason for a while: the keepalive runs...
          setTimeout(() => process.stdout.write('idle\\n'), 700);
          // ...and after that nothing but the (never closed) session is left.
        }, (e) => { console.error(e); process.exit(2); });
    `;
    const child = spawn(process.execPath, ['-e', script, String(t.port), t.targetName, INITIATOR], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let idleAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!idleAt && out.includes('idle')) idleAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    try {
      const code = await exited;
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toBe('open\nidle\n');
      expect(Date.now() - idleAt).toBeLessThan(2000);
    } finally {
      clearTimeout(killer);
    }
    // The keepalive did run while the process was alive.
    expect(t.nops.filter((n) => n.conn.id === 1).length).toBeGreaterThanOrEqual(2);
  });
});

describe('reissue after reinstatement', () => {
  it('a READ in flight when the target drops the connection is reissued and returns the right data', async () => {
    const t = await target({ unitAttentionOnReinstatement: true });
    const s = await open(t);
    const events = recordEvents(s);
    t.hold(readAt(80));
    const p = s.read(0, 80, 16);
    const held = await t.waitFor('command', readAt(80));
    held.conn.destroy();
    expect(await p).toEqual(t.expected(80, 16));

    expect(t.logins).toHaveLength(2);
    expect(t.logins[1].isid).toBe(t.logins[0].isid);
    expect(t.logins[1].tsih).toBe(0);
    expect(t.logins[1].reinstatement).toBe(true);
    expect(events.map((x) => x.event)).toEqual(['disconnect', 'reconnect']);
    // On the new connection: UNIT ATTENTION once (retried by block I/O),
    // then the data.
    const reissued = t.commands.filter((c) => readAt(80)(c) && c.conn.id === 2);
    expect(reissued.map((c) => c.status)).toEqual([0x02, 0x00]);
    expect(t.connections[1].sequenceErrors).toBe(0);
  });

  it('a WRITE in flight when the target drops the connection is reissued and completes exactly once', async () => {
    const t = await target();
    const s = await open(t);
    const events = recordEvents(s);
    // 128 KiB: more than FirstBurstLength, so the write needs an R2T too.
    const data = crypto.randomBytes(256 * t.blockLength);
    const before = t.expected(300, 256);
    t.hold(writeAt(300));
    let settled = 0;
    let storeAtResolve: Buffer | undefined;
    const p = s.write(0, 300, data).then(() => {
      settled++;
      storeAtResolve = t.expected(300, 256);
    });
    const held = await t.waitFor('command', writeAt(300));
    expect(held.received).toBe(data.length);
    expectBytes(t.expected(300, 256), before); // held: not applied
    held.conn.destroy();
    await p;
    await sleep(200);
    expect(settled).toBe(1);
    // Resolved only once the target had the data.
    expectBytes(storeAtResolve, data);
    expectBytes(t.expected(300, 256), data);

    const writes = t.commands.filter(writeAt(300));
    expect(writes.map((c) => [c.conn.id, c.answered, c.status])).toEqual([
      [1, false, undefined],
      [2, true, 0],
    ]);
    expectBytes(writes[1].dataOut, data);
    expect(t.logins[1]).toMatchObject({ isid: t.logins[0].isid, tsih: 0, reinstatement: true });
    expect(events.map((x) => x.event)).toEqual(['disconnect', 'reconnect']);
    expectBytes(await s.read(0, 300, 256), data);
  });

  it('when reinstatement gives up, a pending command rejects with the error the session reports', async () => {
    const t = await target();
    const s = await open(t, { reconnect: { attempts: 2, delayMs: 50, maxDelayMs: 100 } });
    const events = recordEvents(s);
    const errors: IscsiError[] = [];
    s.on('error', (e: IscsiError) => errors.push(e));
    // (events.once would reject on the 'error' event.)
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    t.hold(readAt(5));
    const p = s.read(0, 5, 1);
    const held = await t.waitFor('command', readAt(5));
    await t.close(); // nothing listens any more: every login attempt is refused
    held.conn.destroy();
    const e = await rejection(p);
    await closed;
    expect(events.map((x) => x.event)).toEqual(['disconnect', 'disconnect']);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('ECONNREFUSED');
    // Session docs: "the commands' own rejections carry the error as well".
    expect(e.code).toBe(errors[0].code);
    expect(s.closed).toBe(true);
  });
});
