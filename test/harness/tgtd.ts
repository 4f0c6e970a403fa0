/**
 * A private tgtd per test file.
 *
 * Starting, checking and killing the daemon is shared with bench/tgtd.js in
 * ./tgtd-process.js (control port per attempt below 32767, portals on the
 * command line, the `--mode portal` check against tgtd's silent fallback to
 * 0.0.0.0:3260, retries, SIGKILL by pid). This file adds the IPv6 portal,
 * targets, LUNs, accounts and digests, and a watchdog that kills tgtd if
 * the jest worker dies without stop().
 *
 * kill() and restart() simulate a target crash for the recovery tests: the
 * daemon dies by SIGKILL, and a new one comes back on the SAME iSCSI
 * port(s) with the same targets, LUNs and backing files (every configuring
 * tgtadm command is recorded and replayed).
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

/**
 * By default the restarted daemon opens the iSCSI port only once every
 * target and LUN is back. A real tgtd started by an init script listens
 * first and is configured afterwards (tgt-admin); these recreate the two
 * windows that leaves, each on its own so a test knows which one it hit.
 */
export interface RestartOptions {
  /** Listen this long with no target at all, then close the port again
   * while the targets are replayed (tgtd accepts and then closes login
   * connections for unknown targets). */
  emptyMs?: number;
  /** Listen this long with the targets and LUNs created but not yet bound
   * to initiators (`--op bind`): tgtd answers logins with status 0x0203
   * "target not found", as it hides targets from initiators outside their
   * ACL. */
  unboundMs?: number;
}

export interface Tgtd {
  /** The current daemon's pid (changes on restart()). */
  readonly pid: number;
  /** The current daemon's -C control port (changes on restart()). */
  readonly controlPort: number;
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
  /** SIGKILL the daemon (as a crash would) and wait for it to exit. The
   * directory with the backing files stays; stop() still cleans up. */
  kill(): Promise<void>;
  /** A new daemon (after kill()) on the same iSCSI port(s), with every
   * configuring tgtadm command so far replayed: same targets, LUNs,
   * parameters and backing files. */
  restart(opts?: RestartOptions): Promise<RestartResult>;
  stop(): Promise<void>;
}

/** What restart() saw. */
export interface RestartResult {
  /** process.hrtime in ms, taken right before the tgtadm call that opened
   * our portal(s) for the last time: no initiator can have reached the
   * restarted target earlier (restart() itself returns a few tgtadm calls
   * later). */
  portalOpenedAt: number;
}

export function freePort(host: '127.0.0.1' | '::1'): Promise<number> {
  return proc.freePort(host);
}

/** A writable directory for the temp dir: `want` if usable, else os.tmpdir(). */
function usableBase(want: string | undefined): string {
  if (!want) return os.tmpdir();
  try {
    fs.accessSync(want, fs.constants.W_OK);
    return want;
  } catch {
    return os.tmpdir();
  }
}

export interface StartOptions {
  ipv6?: boolean;
  /** Parent of the temp dir holding the log and backing files, e.g.
   * '/dev/shm' so large LUNs live in RAM; falls back to os.tmpdir() when
   * not writable (see Tgtd.dir for where it went). */
  baseDir?: string;
}

/** A different control port per attempt (1000..31999; tgtd refuses > 32767). */
const pickControl = (n: number): number => 1000 + ((process.pid + n * 20011) % 31000);

export async function startTgtd(opts: StartOptions = {}): Promise<Tgtd> {
  const dir = fs.mkdtempSync(path.join(usableBase(opts.baseDir), 'iscsi-tgtd-'));
  const logFile = path.join(dir, 'tgtd.log');
  const started = await proc.startTgtdProcess({
    dir,
    logFile,
    ipv6: !!opts.ipv6,
    pickControl,
  });
  if (!started) {
    throw new Error(`could not start tgtd; see ${logFile}`);
  }
  const { port, port6 } = started;
  let { child, pid, control } = started;
  // If this process dies without stop() (a crashed jest worker), nothing
  // else would kill tgtd: the watchdog does, and removes the temp dir.
  let watchdog = proc.spawnWatchdog(process.pid, pid, dir);
  let alive = true;
  /** Every tgtadm command that changes the configuration, in order, for
   * restart() to replay. */
  const config: string[][] = [];
  let nextTid = 1;
  const accounts = new Set<string>();
  const files = new Map<string, string>();
  let stopped = false;

  const tgtadm = async (args: string[]): Promise<string> => {
    const out = await proc.tgtadmRaw(control, args);
    const op = args[args.indexOf('--op') + 1];
    if (op !== 'show') config.push([...args]);
    return out;
  };

  const portals = (): string[] => [`127.0.0.1:${port}`, ...(port6 !== undefined ? [`[::1]:${port6}`] : [])];

  async function ensureAccount(c: Credentials): Promise<void> {
    if (accounts.has(c.username)) return;
    await tgtadm(['--op', 'new', '--mode', 'account', '--user', c.username, '--password', c.password]);
    accounts.add(c.username);
  }

  const h: Tgtd = {
    get pid() {
      return pid;
    },
    get controlPort() {
      return control;
    },
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
    async kill() {
      if (!alive) return;
      alive = false;
      // The watchdog first: it removes the directory (our backing files)
      // as soon as it sees tgtd gone. Until restart() or stop(), nothing
      // removes the directory if this process dies.
      proc.killPid(watchdog.pid);
      const exited = proc.waitForExit(child, 5000);
      proc.killPid(pid);
      await exited;
    },
    async restart(ro = {}) {
      if (stopped) throw new Error('tgtd was stopped');
      if (alive) await h.kill();
      // tgtd takes its portals from the command line only at start, and
      // listens at once. To control when OUR port opens, it starts on a
      // throwaway port, and our port is added with `--mode portal` (tgtd
      // 1.0.x adds and removes portals at runtime) before or after the
      // targets are replayed.
      const next = await proc.startTgtdProcess({ dir, logFile, ipv6: false, pickControl });
      if (!next) throw new Error(`could not restart tgtd; see ${logFile}`);
      ({ child, pid, control } = next);
      alive = true;
      watchdog = proc.spawnWatchdog(process.pid, pid, dir);
      const raw = (args: string[]): Promise<string> => proc.tgtadmRaw(control, args);
      let throwaway = true;
      let portalOpenedAt = 0;
      const setPortals = async (open: boolean): Promise<void> => {
        if (open) portalOpenedAt = Number(process.hrtime.bigint() / 1000000n);
        for (const p of portals()) await raw(['--op', open ? 'new' : 'delete', '--mode', 'portal', '--param', `portal=${p}`]);
        if (throwaway) {
          await raw(['--op', 'delete', '--mode', 'portal', '--param', `portal=127.0.0.1:${next.port}`]);
          throwaway = false;
        }
        const shown = await raw(['--op', 'show', '--mode', 'portal']);
        for (const p of portals()) {
          if (shown.includes(`${p},`) !== open) throw new Error(`restarted tgtd: portal ${p} not ${open ? 'open' : 'closed'}: ${shown}`);
        }
      };
      if (ro.emptyMs !== undefined) {
        await setPortals(true);
        await proc.sleep(ro.emptyMs);
        await setPortals(false);
      }
      // Everything before the first bind, then (optionally) the unbound
      // window, then the rest.
      const argOf = (a: string[], k: string): string | undefined => a[a.indexOf(k) + 1];
      let firstBind = config.findIndex((a) => argOf(a, '--op') === 'bind' && argOf(a, '--mode') === 'target');
      if (firstBind < 0) firstBind = config.length;
      for (const args of config.slice(0, firstBind)) await raw(args);
      if (ro.unboundMs !== undefined) {
        await setPortals(true);
        await proc.sleep(ro.unboundMs);
      }
      for (const args of config.slice(firstBind)) await raw(args);
      if (ro.unboundMs === undefined) await setPortals(true);
      return { portalOpenedAt };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = proc.waitForExit(child, 5000);
      // After kill() the pid is gone and may have been reused: leave it.
      if (alive) proc.killPid(pid);
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
