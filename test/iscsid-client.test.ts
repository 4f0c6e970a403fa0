/**
 * The addon's iscsid client on its event-loop path (uv_poll across the
 * probe's several connections, abort/timeout, not running), against a
 * stand-in daemon on an abstract socket that reads requests the way iscsid
 * does: exactly its own struct size, else EOF without an answer. The real
 * iscsid 2.1.8 is exercised in the kernel lab (test/kernel/login.test.js).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { iscsidInfo } from '../lib';

interface Daemon {
  name: string;
  /** Commands the stand-in answered, in order. */
  commands: number[];
  close(): Promise<void>;
}

/** answer=false: accept and never answer (a wedged daemon). */
function startDaemon(size: number, answer = true): Promise<Daemon> {
  const name = `isc-jest-iscsid-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const commands: number[] = [];
  const child = spawn('python3', [path.join(__dirname, 'harness', 'fake-iscsid.py'), name, String(size), answer ? 'answer' : 'silent'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fake-iscsid.py exited with ${code} before it was ready`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') {
          child.removeAllListeners('exit');
          resolve({
            name,
            commands,
            close: () =>
              new Promise<void>((r) => {
                child.once('exit', () => r());
                child.kill('SIGKILL');
              }),
          });
        } else if (line.startsWith('cmd ')) {
          commands.push(Number(line.slice(4)));
        }
      }
    });
  });
}

test('probes the layout over several connections, then asks for the name and config file', async () => {
  const d = await startDaemon(16112);
  try {
    const info = await iscsidInfo({ iscsidSocket: d.name, timeoutMs: 5000 });
    expect(info).toEqual({
      requestSize: 16112,
      versions: '2.1.11',
      initiatorName: 'iqn.2026-11.test:jest-initiator',
      configFile: '/etc/iscsi/iscsid.conf',
    });
    // probe (8) + CONFIG_INAME (8), probe (8) + CONFIG_FILE (10); the
    // stand-in reports each after it has answered, so let its output arrive.
    for (let i = 0; i < 50 && d.commands.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(d.commands).toEqual([8, 8, 8, 10]);
  } finally {
    await d.close();
  }
});

test('a daemon that never answers: ETIMEDOUT at the deadline', async () => {
  const d = await startDaemon(16104, false);
  try {
    const t0 = Date.now();
    await expect(iscsidInfo({ iscsidSocket: d.name, timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - t0).toBeLessThan(5000);
  } finally {
    await d.close();
  }
});

test('AbortSignal: ABORT_ERR', async () => {
  const d = await startDaemon(16104, false);
  try {
    const ac = new AbortController();
    const p = iscsidInfo({ iscsidSocket: d.name, signal: ac.signal, timeoutMs: 5000 });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
  } finally {
    await d.close();
  }
});

test('nobody listening: ISCSID_NOT_RUNNING', async () => {
  await expect(iscsidInfo({ iscsidSocket: `isc-jest-nobody-${process.pid}`, timeoutMs: 2000 })).rejects.toMatchObject({
    code: 'ISCSID_NOT_RUNNING',
  });
});

test('an unknown layout: ISCSID_UNSUPPORTED_VERSION', async () => {
  const d = await startDaemon(20000);
  try {
    await expect(iscsidInfo({ iscsidSocket: d.name, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'ISCSID_UNSUPPORTED_VERSION',
    });
    expect(d.commands).toEqual([]);
  } finally {
    await d.close();
  }
});
