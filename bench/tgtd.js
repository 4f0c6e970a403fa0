'use strict';
/**
 * A private, throwaway tgtd for the demo and the benchmarks (plain
 * JavaScript so it runs without ts-node or a build step).
 *
 * Starting, checking and killing the daemon is shared with the jest harness
 * (test/harness/tgtd.ts) in test/harness/tgtd-process.js: a control port per
 * attempt below 32767, portals on the command line, the `--mode portal`
 * check against tgtd's silent fallback to 0.0.0.0:3260, retries, SIGKILL
 * by the pid we spawned (tgtd ignores SIGTERM while it has targets).
 * Everything it creates lives in one mkdtemp directory removed by stop();
 * an 'exit' hook kills every tgtd of this process not yet stopped.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const proc = require('../test/harness/tgtd-process.js');

const { freePort, killAllSync } = proc;

/**
 * Starts tgtd. Returns { pid, port, portal, controlPort, dir, logFile,
 * tgtadm(args), addTarget(iqn, {luns:[{sizeMiB}], chap:{username,password}}),
 * stop() }.
 */
async function startTgtd(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsi-bench-tgtd-'));
  proc.trackDir(dir);
  const logFile = path.join(dir, 'tgtd.log');
  const started = await proc.startTgtdProcess({
    dir,
    logFile,
    // A different control port per attempt, in 20000..31999 (tgtd refuses
    // -C above 32767).
    pickControl: (n) => 20000 + ((process.pid * 7 + n * 7919) % 12000),
    track: true,
    env: opts.env,
  });
  if (!started) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-400) : '';
    fs.rmSync(dir, { recursive: true, force: true });
    proc.untrackDir(dir);
    throw new Error(`could not start tgtd (is the "tgt" package installed?) ${tail}`);
  }
  const { child, control, port } = started;
  let nextTid = 1;
  const backing = [];
  let stopped = false;
  const tgtadm = (args) => proc.tgtadmRaw(control, args);

  return {
    pid: child.pid,
    port,
    portal: `127.0.0.1:${port}`,
    controlPort: control,
    dir,
    logFile,
    tgtadm,
    async addTarget(iqn, spec = {}) {
      const tid = nextTid++;
      await tgtadm(['--op', 'new', '--mode', 'target', '--tid', String(tid), '-T', iqn]);
      const luns = spec.luns || [];
      for (let i = 0; i < luns.length; i++) {
        const lun = i + 1; // LUN 0 is tgtd's own controller
        // spec.backingDir: e.g. /dev/shm for a tmpfs-backed LUN (benchmarks
        // measure the iSCSI path, not the disk).
        const file = path.join(spec.backingDir || dir, `t${tid}-lun${lun}-${process.pid}.img`);
        if (spec.backingDir) backing.push(file);
        fs.closeSync(fs.openSync(file, 'w'));
        fs.truncateSync(file, luns[i].sizeMiB * 1024 * 1024); // sparse
        await tgtadm(['--op', 'new', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(lun), '-b', file]);
      }
      await tgtadm(['--op', 'bind', '--mode', 'target', '--tid', String(tid), '-I', 'ALL']);
      if (spec.chap) {
        // The secret travels on tgtadm's argv (tgtadm has no other way);
        // it is a per-run random value on a private tgtd and is never printed.
        await tgtadm(['--op', 'new', '--mode', 'account', '--user', spec.chap.username, '--password', spec.chap.password]);
        await tgtadm(['--op', 'bind', '--mode', 'account', '--tid', String(tid), '--user', spec.chap.username]);
      }
      return tid;
    },
    /** Synchronous so it can run from 'exit' handlers too. */
    stopSync() {
      if (stopped) return;
      stopped = true;
      proc.killPid(child.pid);
      proc.untrack(child.pid);
      fs.rmSync(dir, { recursive: true, force: true });
      for (const f of backing) fs.rmSync(f, { force: true });
      proc.untrackDir(dir);
    },
    async stop() {
      if (stopped) return;
      const exited = proc.waitForExit(child, 5000);
      this.stopSync();
      await exited;
    },
  };
}

/** `dpkg-query` version of a Debian package, or 'not installed'. */
function debVersion(pkg) {
  try {
    const { execFileSync } = require('node:child_process');
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not installed';
  }
}

module.exports = { startTgtd, freePort, debVersion, killAllSync };
