/**
 * A private tgtd per test file.
 *
 * tgtd's `-C N` selects its management socket /var/run/tgtd/socket.N (a
 * filesystem AF_UNIX socket guarded by socket.N.lock; a second tgtd with the
 * same N exits with "another tgtd is using ..."), so each harness picks an
 * N derived from its pid and retries on collision. Portals are given on the
 * command line (`--iscsi portal=A,portal=B` accepts several). tgtd silently
 * falls back to 0.0.0.0:3260 when it cannot bind the requested portals, so
 * the harness checks `--mode portal` and retries with new ports.
 * tgtd ignores SIGTERM while it has targets: stop() uses SIGKILL.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface LunSpec {
  sizeMiB: number;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface TargetSpec {
  luns?: LunSpec[];
  /** Incoming CHAP: the initiator authenticates to the target. */
  chap?: Credentials;
  /** Outgoing CHAP: the target authenticates to the initiator. */
  mutual?: Credentials;
  /** Allow CRC32C header/data digests (default true). tgtd's own default
   * is "None" only, which refuses initiators that require CRC32C. */
  digests?: boolean;
}

export interface Tgtd {
  pid: number;
  controlPort: number;
  port: number;
  port6?: number;
  /** "127.0.0.1:PORT" */
  portal: string;
  /** "[::1]:PORT6" when ipv6 was requested. */
  portal6?: string;
  dir: string;
  logFile: string;
  tgtadm(args: string[]): Promise<string>;
  addTarget(name: string, spec?: TargetSpec): Promise<number>;
  removeTarget(tid: number): Promise<void>;
  backingFile(tid: number, lun: number): string;
  stop(): Promise<void>;
}

let counter = 0;

export async function freePort(host: '127.0.0.1' | '::1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function tgtadmRaw(control: number, args: string[]): Promise<string> {
  const { stdout } = await execFileP('tgtadm', ['-C', String(control), '--lld', 'iscsi', ...args], {
    timeout: 20000,
  });
  return stdout;
}

interface Started {
  child: ChildProcess;
  control: number;
  port: number;
  port6?: number;
}

async function tryStart(dir: string, log: number, ipv6: boolean): Promise<Started | null> {
  counter += 1;
  // tgtd refuses -C above 32767.
  const control = 1000 + ((process.pid + counter * 20011) % 31000);
  const port = await freePort('127.0.0.1');
  const port6 = ipv6 ? await freePort('::1') : undefined;
  let portals = `portal=127.0.0.1:${port}`;
  if (port6 !== undefined) portals += `,portal=[::1]:${port6}`;
  const child = spawn('tgtd', ['-f', '-C', String(control), '--iscsi', portals], {
    cwd: dir,
    stdio: ['ignore', log, log],
    detached: false,
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  for (let i = 0; i < 100 && !exited; i++) {
    await sleep(50);
    try {
      await tgtadmRaw(control, ['--op', 'show', '--mode', 'target']);
      const shown = await tgtadmRaw(control, ['--op', 'show', '--mode', 'portal']);
      const ok =
        shown.includes(`127.0.0.1:${port},`) && (port6 === undefined || shown.includes(`[::1]:${port6},`));
      if (ok && !exited) return { child, control, port, port6 };
      break; // bound the wrong portals (fallback to :3260): retry
    } catch {
      // not up yet
    }
  }
  if (!exited && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return null;
}

export async function startTgtd(opts: { ipv6?: boolean } = {}): Promise<Tgtd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsi-tgtd-'));
  const logFile = path.join(dir, 'tgtd.log');
  const log = fs.openSync(logFile, 'a');
  let started: Started | null = null;
  for (let attempt = 0; attempt < 8 && !started; attempt++) {
    started = await tryStart(dir, log, !!opts.ipv6);
  }
  fs.closeSync(log);
  if (!started) {
    throw new Error(`could not start tgtd; see ${logFile}`);
  }
  const { child, control, port, port6 } = started;
  const pid = child.pid as number;
  // If this process dies without stop() (a crashed jest worker), nothing
  // else would kill tgtd: a tiny watchdog does, and removes the temp dir.
  const watchdog = spawn(
    'sh',
    ['-c', 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; rm -rf "$3"', 'watchdog', String(process.pid), String(pid), dir],
    { stdio: 'ignore', detached: true },
  );
  watchdog.unref();
  let nextTid = 1;
  const accounts = new Set<string>();
  const files = new Map<string, string>();
  let stopped = false;

  const tgtadm = (args: string[]): Promise<string> => tgtadmRaw(control, args);

  async function ensureAccount(c: Credentials): Promise<void> {
    if (accounts.has(c.username)) return;
    await tgtadm(['--op', 'new', '--mode', 'account', '--user', c.username, '--password', c.password]);
    accounts.add(c.username);
  }

  const h: Tgtd = {
    pid,
    controlPort: control,
    port,
    port6,
    portal: `127.0.0.1:${port}`,
    portal6: port6 !== undefined ? `[::1]:${port6}` : undefined,
    dir,
    logFile,
    tgtadm,
    async addTarget(name, spec = {}) {
      const tid = nextTid++;
      await tgtadm(['--op', 'new', '--mode', 'target', '--tid', String(tid), '-T', name]);
      const luns = spec.luns ?? [];
      for (let i = 0; i < luns.length; i++) {
        const lun = i + 1; // LUN 0 is tgtd's own controller LUN
        const file = path.join(dir, `t${tid}-lun${lun}.img`);
        fs.closeSync(fs.openSync(file, 'w'));
        // Sparse: truncate only sets the size.
        await fs.promises.truncate(file, luns[i].sizeMiB * 1024 * 1024);
        files.set(`${tid}/${lun}`, file);
        await tgtadm(['--op', 'new', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(lun), '-b', file]);
      }
      if (spec.digests !== false) {
        for (const key of ['HeaderDigest', 'DataDigest']) {
          await tgtadm(['--op', 'update', '--mode', 'target', '--tid', String(tid), '-n', key, '-v', 'CRC32C,None']);
        }
      }
      await tgtadm(['--op', 'bind', '--mode', 'target', '--tid', String(tid), '-I', 'ALL']);
      if (spec.chap) {
        await ensureAccount(spec.chap);
        await tgtadm(['--op', 'bind', '--mode', 'account', '--tid', String(tid), '--user', spec.chap.username]);
      }
      if (spec.mutual) {
        await ensureAccount(spec.mutual);
        await tgtadm([
          '--op', 'bind', '--mode', 'account', '--tid', String(tid), '--user', spec.mutual.username, '--outgoing',
        ]);
      }
      return tid;
    },
    async removeTarget(tid) {
      await tgtadm(['--op', 'delete', '--force', '--mode', 'target', '--tid', String(tid)]);
    },
    backingFile(tid, lun) {
      const f = files.get(`${tid}/${lun}`);
      if (!f) throw new Error(`no backing file for tid ${tid} lun ${lun}`);
      return f;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      try {
        if (watchdog.pid) process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      if (!process.env.ISC_KEEP_TGTD_DIR) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Runs a libiscsi-utils command and returns stdout. */
export async function runTool(cmd: string, args: string[], timeout = 30000): Promise<string> {
  const { stdout } = await execFileP(cmd, args, { timeout });
  return stdout;
}
