'use strict';
/**
 * A private, throwaway tgtd for the demo and the benchmarks (plain
 * JavaScript so it runs without ts-node or a build step).
 *
 * It follows test/harness/tgtd.ts (which jest uses) on every point that
 * matters, for the same reasons:
 *  - `tgtd -C N` selects the management socket /var/run/tgtd/socket.N; a
 *    second tgtd with the same N exits ("another tgtd is using ..."), so N is
 *    derived from our pid and retried on collision;
 *  - portals go on the command line (`--iscsi portal=127.0.0.1:PORT`);
 *  - tgtd silently falls back to 0.0.0.0:3260 when it cannot bind the
 *    requested portal, so `tgtadm --mode portal` is checked after start;
 *  - tgtd ignores SIGTERM while it has targets, so stop() uses SIGKILL on
 *    the pid we spawned (never a name-based kill).
 * Everything it creates lives in one mkdtemp directory removed by stop().
 */
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

// Every tgtd this process spawned and has not stopped yet, with its temp
// dir. An 'exit' hook kills them (by pid) so an interrupted start (Ctrl-C
// while startTgtd() is still polling) never leaves a daemon behind.
const live = new Map(); // pid -> true
const liveDirs = new Set();
let exitHooked = false;
function hookExit() {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', killAllSync);
  }
}
function track(pid) {
  hookExit();
  live.set(pid, true);
}
function killAllSync() {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function tgtadmRaw(control, args) {
  const { stdout } = await execFileP('tgtadm', ['-C', String(control), '--lld', 'iscsi', ...args], {
    timeout: 20000,
  });
  return stdout;
}

async function tryStart(dir, logFd) {
  counter += 1;
  // A different control port per attempt. tgtd refuses -C above 32767
  // ("out of range"), so stay in 20000..31999.
  const control = 20000 + ((process.pid * 7 + counter * 7919) % 12000);
  const port = await freePort('127.0.0.1');
  const child = spawn('tgtd', ['-f', '-C', String(control), '--iscsi', `portal=127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', logFd, logFd],
  });
  if (child.pid) track(child.pid);
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
      if (shown.includes(`127.0.0.1:${port},`) && !exited) return { child, control, port };
      break; // fell back to another portal: retry with new ports
    } catch {
      // not listening on its control socket yet
    }
  }
  if (!exited && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.delete(child.pid);
  return null;
}

/**
 * Starts tgtd. Returns { pid, port, portal, controlPort, dir, logFile,
 * tgtadm(args), addTarget(iqn, {luns:[{sizeMiB}], chap:{username,password}}),
 * stop() }.
 */
async function startTgtd() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsi-bench-tgtd-'));
  hookExit();
  liveDirs.add(dir);
  const logFile = path.join(dir, 'tgtd.log');
  const logFd = fs.openSync(logFile, 'a');
  let started = null;
  try {
    for (let attempt = 0; attempt < 8 && !started; attempt++) started = await tryStart(dir, logFd);
  } finally {
    fs.closeSync(logFd);
  }
  if (!started) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-400) : '';
    fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw new Error(`could not start tgtd (is the "tgt" package installed?) ${tail}`);
  }
  const { child, control, port } = started;
  let nextTid = 1;
  let stopped = false;
  const tgtadm = (args) => tgtadmRaw(control, args);

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
        const file = path.join(dir, `t${tid}-lun${lun}.img`);
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
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      live.delete(child.pid);
      fs.rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
    async stop() {
      if (stopped) return;
      const exited = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', resolve);
      });
      this.stopSync();
      await Promise.race([exited, sleep(5000)]);
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
