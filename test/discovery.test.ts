import * as net from 'node:net';
import { discoverSendTargets, IscsiError, type DiscoveredTarget } from '../lib';
import { startTgtd, freePort, runTool, type Tgtd } from './harness/tgtd';
import { rejection } from './harness/scripted-session';

const PLAIN = ['iqn.2026-11.test.disc:alpha', 'iqn.2026-11.test.disc:beta', 'iqn.2026-11.test.disc:gamma'];

let tgtd: Tgtd;
let silent: net.Server;
let silentPort = 0;
const silentSockets = new Set<net.Socket>();

function sortEntries(list: DiscoveredTarget[]): DiscoveredTarget[] {
  return [...list].sort((a, b) =>
    a.target === b.target ? `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`) : a.target.localeCompare(b.target),
  );
}


beforeAll(async () => {
  tgtd = await startTgtd({ ipv6: true });
  for (const name of PLAIN) await tgtd.addTarget(name, { luns: [{ sizeMiB: 16 }] });
  // A peer that accepts and never answers: exercises login timeouts/aborts.
  silent = net.createServer((s) => {
    silentSockets.add(s);
    s.on('error', () => {});
    s.on('close', () => silentSockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await tgtd?.stop();
});

describe('SendTargets discovery against tgtd', () => {
  it('returns exactly the configured targets (IPv4)', async () => {
    const got = await discoverSendTargets(tgtd.portal, { timeoutMs: 10000 });
    expect(sortEntries(got)).toEqual(
      PLAIN.map((target) => ({ target, address: '127.0.0.1', port: tgtd.port, tpgt: 1, iface: 'default' })),
    );
  });

  it('accepts the object form and an explicit initiator name', async () => {
    const got = await discoverSendTargets(
      { address: '127.0.0.1', port: tgtd.port },
      { initiatorName: 'iqn.2026-11.test.jest:discovery' },
    );
    expect(got.map((e) => e.target).sort()).toEqual(PLAIN);
  });

  it('discovers over IPv6 ([::1])', async () => {
    const got = await discoverSendTargets(tgtd.portal6 as string);
    expect(sortEntries(got)).toEqual(
      PLAIN.map((target) => ({ target, address: '::1', port: tgtd.port6, tpgt: 1, iface: 'default' })),
    );
  });

  it('resolves a host name (localhost)', async () => {
    const got = await discoverSendTargets(`localhost:${tgtd.port}`);
    expect(got.map((e) => e.target).sort()).toEqual(PLAIN);
  });

  describe('with 600 more targets (multi-PDU SendTargets response)', () => {
    const many: string[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 600; i++) many.push(`iqn.2026-11.test.disc.many:target-number-${String(i).padStart(4, '0')}`);
      // Four tgtadm processes at a time: tgtd serialises them anyway and
      // this keeps setup well under a minute on two cores.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < many.length) await tgtd.addTarget(many[next++], { digests: false });
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    }, 120000);

    it('returns all 603 targets', async () => {
      const trace: string[] = [];
      // 8 KiB PDUs: the ~60 KB answer needs several (the default 256 KiB
      // would take it in one).
      const got = await discoverSendTargets(tgtd.portal, {
        maxRecvDataSegmentLength: 8192,
        logger: { trace: (m: string) => trace.push(m) },
      });
      // The answer really spanned several Text Response PDUs (C bit / TTT
      // continuation, RFC 7143 11.11.2), i.e. the multi-PDU path was used.
      const textResponses = trace.filter((l) => l.startsWith('<- Text Response')).length;
      expect(textResponses).toBeGreaterThan(1);
      expect(got).toHaveLength(603);
      expect(new Set(got.map((e) => e.target))).toEqual(new Set([...PLAIN, ...many]));
      for (const e of got) expect(e).toEqual({ target: e.target, address: '127.0.0.1', port: tgtd.port, tpgt: 1, iface: 'default' });
    });

    it('equals what iscsi-ls prints for the same portal', async () => {
      const out = await runTool('iscsi-ls', [`iscsi://${tgtd.portal}`]);
      const fromTool: DiscoveredTarget[] = [];
      for (const line of out.split('\n')) {
        const m = /^Target:(\S+) Portal:(.+):(\d+),(\d+)$/.exec(line.trim());
        if (!m) continue;
        const address = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
        fromTool.push({ target: m[1], address, port: Number(m[3]), tpgt: Number(m[4]), iface: 'default' });
      }
      expect(fromTool.length).toBe(603);
      const got = await discoverSendTargets(tgtd.portal);
      expect(sortEntries(got)).toEqual(sortEntries(fromTool));
    });

    it('64 concurrent discoveries all return the same result', async () => {
      const first = sortEntries(await discoverSendTargets(tgtd.portal));
      const all = await Promise.all(Array.from({ length: 64 }, () => discoverSendTargets(tgtd.portal, { timeoutMs: 45000 })));
      for (const r of all) expect(sortEntries(r)).toEqual(first);
    });
  });
});

describe('failures', () => {
  it('connection refused -> ECONNREFUSED', async () => {
    const port = await freePort('127.0.0.1');
    const e = await rejection(discoverSendTargets(`127.0.0.1:${port}`, { timeoutMs: 5000 }));
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.portal).toBe(`127.0.0.1:${port}`);
    expect(e.message).toContain(`127.0.0.1:${port}`);
  });

  it('a peer that never answers -> ETIMEDOUT within timeoutMs + 1000 ms', async () => {
    const t0 = Date.now();
    const e = await rejection(discoverSendTargets(`127.0.0.1:${silentPort}`, { timeoutMs: 800 }));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('ETIMEDOUT');
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(1800);
    expect(e.message).toContain(`127.0.0.1:${silentPort}`);
  });

  it('abort mid-login -> ABORT_ERR quickly', async () => {
    const c = new AbortController();
    const t0 = Date.now();
    setTimeout(() => c.abort(), 100);
    const e = await rejection(discoverSendTargets(`127.0.0.1:${silentPort}`, { signal: c.signal, timeoutMs: 30000 }));
    const elapsed = Date.now() - t0;
    expect(e.code).toBe('ABORT_ERR');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1000);
  });

  it('an already aborted signal -> ABORT_ERR without connecting', async () => {
    const c = new AbortController();
    c.abort();
    const before = silentSockets.size;
    const e = await rejection(discoverSendTargets(`127.0.0.1:${silentPort}`, { signal: c.signal }));
    expect(e.code).toBe('ABORT_ERR');
    await new Promise((r) => setTimeout(r, 50));
    expect(silentSockets.size).toBe(before);
  });

  it.each([
    ['empty portal', '', undefined],
    ['port 0', '127.0.0.1:0', undefined],
    ['port 65536', '127.0.0.1:65536', undefined],
    ['junk port', '127.0.0.1:32a', undefined],
    ['unbracketed v6 with port', 'fe80::1:3260:x', undefined],
    ['unterminated bracket', '[::1:3260', undefined],
    ['object with bad port', { address: '127.0.0.1', port: 70000 }, undefined],
    ['timeoutMs -1', '127.0.0.1', { timeoutMs: -1 }],
    ['timeoutMs NaN', '127.0.0.1', { timeoutMs: NaN }],
    ['signal not a signal', '127.0.0.1', { signal: {} }],
    ['bad initiator name', '127.0.0.1', { initiatorName: 'not-an-iqn' }],
    ['bad chap algorithm', '127.0.0.1', { chapAlgorithms: ['SHA512'] }],
    ['maxRecvDataSegmentLength 511', '127.0.0.1', { maxRecvDataSegmentLength: 511 }],
    ['auth without password', '127.0.0.1', { auth: { username: 'u' } }],
  ])('bad argument (%s) -> ERR_INVALID_ARG_VALUE', async (_name, portal, options) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const e = await rejection(discoverSendTargets(portal as any, options as any));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
