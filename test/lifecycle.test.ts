/**
 * Lifecycle: close with work in flight, process exit with open sessions,
 * worker_threads, and garbage collection of unclosed sessions. Child
 * processes and workers load the compiled facade (dist/), built once here
 * exactly as `npm run build:ts` does.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { discoverSendTargets, openSession, IscsiError } from '../lib';
import { startTgtd, type Tgtd } from './harness/tgtd';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'index.js');
const TARGET = 'iqn.2026-11.test.life:disk';
let tgtd: Tgtd;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], script: string, env: Record<string, string>, timeoutMs = 30000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'write-esm-entry.js')], { cwd: ROOT, stdio: 'ignore' });
  tgtd = await startTgtd();
  await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: 16 }] });
}, 120000);

it('the package works as an ES module (import by package name, self-reference)', async () => {
  const script = `
    import { discoverSendTargets, openSession, IscsiError, Session } from 'iscsi-initiator';
    import cjs from 'iscsi-initiator';
    const r = await discoverSendTargets('127.0.0.1:' + process.env.ISC_PORT);
    console.log(JSON.stringify({ names: r.map((e) => e.target), fns: [typeof openSession, typeof IscsiError, typeof Session],
      same: cjs.discoverSendTargets === discoverSendTargets }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(JSON.parse(out)).toEqual({ names: [TARGET], fns: ['function', 'function', 'function'], same: true });
});

afterAll(async () => {
  await tgtd?.stop();
});

function env(): Record<string, string> {
  return { ISC_DIST: DIST, ISC_PORT: String(tgtd.port), ISC_TARGET: TARGET };
}

it('close() while operations are pending: they reject, nothing crashes', async () => {
  const s = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port });
  const ops: Array<Promise<unknown>> = [];
  for (let i = 0; i < 16; i++) {
    // READ(10) of 256 blocks each: enough data to still be in flight.
    ops.push(s.scsi(1, Buffer.from([0x28, 0, 0, 0, 0, i, 0, 1, 0, 0]), { inLength: 256 * 512 }));
    ops.push(s.inquiry(1));
  }
  await s.close();
  const settled = await Promise.allSettled(ops);
  const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(rejected.length).toBeGreaterThan(0);
  for (const r of rejected) {
    expect(r.reason).toBeInstanceOf(IscsiError);
    expect((r.reason as IscsiError).code).toBe('ISCSI_SESSION_CLOSED');
  }
  await expect(s.inquiry(1)).rejects.toMatchObject({ code: 'ISCSI_SESSION_CLOSED' });
  // The target still serves new sessions.
  const s2 = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port });
  expect((await s2.inquiry(1)).deviceTypeName).toBe('DIRECT_ACCESS');
  await s2.close();
});

it('a process that exits with open sessions (and a pending command) exits 0 cleanly', async () => {
  const script = `
    const m = require(process.env.ISC_DIST);
    (async () => {
      const node = { target: process.env.ISC_TARGET, address: '127.0.0.1', port: Number(process.env.ISC_PORT) };
      const a = await m.openSession(node);
      const b = await m.openSession(node, { headerDigest: 'crc32c' });
      await b.readCapacity(1);
      a.inquiry(1).catch(() => {});
      console.log('opened');
      process.exit(0);
    })().catch((e) => { console.error('FAILED', e); process.exit(3); });
  `;
  const r = await runNode([], script, env());
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('opened');
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
});

it('an unclosed, unreachable session is garbage-collected without a crash', async () => {
  const script = `
    const m = require(process.env.ISC_DIST);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      const node = { target: process.env.ISC_TARGET, address: '127.0.0.1', port: Number(process.env.ISC_PORT) };
      for (let i = 0; i < 3; i++) {
        let s = await m.openSession(node);
        await s.inquiry(1);
        s = null;
      }
      for (let i = 0; i < 10; i++) { global.gc(); await sleep(20); }
      const again = await m.openSession(node);
      await again.close();
      console.log('ok');
    })().catch((e) => { console.error('FAILED', e); process.exit(3); });
  `;
  const r = await runNode(['--expose-gc'], script, env());
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('ok');
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
});

function inWorker(code: string, data: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: data });
    let result: unknown;
    w.on('message', (m) => {
      result = m;
    });
    w.on('error', reject);
    w.on('exit', (c) => (c === 0 ? resolve(result) : reject(new Error(`worker exited ${c}`))));
  });
}

it('discovery inside a worker_threads Worker returns the same result', async () => {
  const main = await discoverSendTargets(tgtd.portal);
  const fromWorker = await inWorker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const m = require(workerData.dist);
     m.discoverSendTargets(workerData.portal).then(
       (r) => parentPort.postMessage(r),
       (e) => parentPort.postMessage({ error: e.code }));`,
    { dist: DIST, portal: tgtd.portal },
  );
  expect(fromWorker).toEqual(main);
});

it('terminating a worker with an open session and a pending command does not crash the process', async () => {
  // Run in a child so an addon crash at worker teardown shows up as this
  // test's failure (with the child's stderr) instead of killing jest.
  const script = `
    const { Worker } = require('node:worker_threads');
    const m = require(process.env.ISC_DIST);
    const node = { target: process.env.ISC_TARGET, address: '127.0.0.1', port: Number(process.env.ISC_PORT) };
    (async () => {
      for (let i = 0; i < 10; i++) {
        const w = new Worker(\`
          const { parentPort, workerData } = require('node:worker_threads');
          const m = require(workerData.dist);
          m.openSession(workerData.node).then(
            (s) => { s.inquiry(1).catch(() => {}); parentPort.postMessage('open'); },
            (e) => parentPort.postMessage('error ' + e.code));\`,
          { eval: true, workerData: { dist: process.env.ISC_DIST, node } });
        const msg = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
        if (msg !== 'open') throw new Error(msg);
        await w.terminate();
      }
      const s = await m.openSession(node);
      const c = await s.readCapacity(1);
      await s.close();
      console.log(String(c.bytes));
    })().catch((e) => { console.error('FAILED', e); process.exit(3); });
  `;
  const r = await runNode([], script, env());
  expect(r.stderr).toBe('');
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(String(16 * 1024 * 1024));
});
