/**
 * A private tgtd per test file.
 *
 * Starting, checking and killing the daemon is shared with bench/tgtd.js in
 * ./tgtd-process.js (control port per attempt below 32767, portals on the
 * command line, the `--mode portal` check against tgtd's silent fallback to
 * 0.0.0.0:3260, retries, SIGKILL by pid). This file adds the IPv6 portal,
 * targets, LUNs, accounts and digests, and a watchdog that kills tgtd if
 * the jest worker dies without stop().
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as proc from './tgtd-process';

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

export function freePort(host: '127.0.0.1' | '::1'): Promise<number> {
  return proc.freePort(host);
}

export async function startTgtd(opts: { ipv6?: boolean } = {}): Promise<Tgtd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsi-tgtd-'));
  const logFile = path.join(dir, 'tgtd.log');
  const started = await proc.startTgtdProcess({
    dir,
    logFile,
    ipv6: !!opts.ipv6,
    // A different control port per attempt (1000..31999; tgtd refuses > 32767).
    pickControl: (n) => 1000 + ((process.pid + n * 20011) % 31000),
  });
  if (!started) {
    throw new Error(`could not start tgtd; see ${logFile}`);
  }
  const { child, pid, control, port, port6 } = started;
  // If this process dies without stop() (a crashed jest worker), nothing
  // else would kill tgtd: the watchdog does, and removes the temp dir.
  const watchdog = proc.spawnWatchdog(process.pid, pid, dir);
  let nextTid = 1;
  const accounts = new Set<string>();
  const files = new Map<string, string>();
  let stopped = false;

  const tgtadm = (args: string[]): Promise<string> => proc.tgtadmRaw(control, args);

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
      const exited = proc.waitForExit(child, 5000);
      proc.killPid(pid);
      proc.killPid(watchdog.pid);
      await exited;
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
