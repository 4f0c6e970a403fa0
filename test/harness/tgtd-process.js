'use strict';
/**
 * Starting, checking and killing a private tgtd: the process-level half
 * shared by test/harness/tgtd.ts (jest) and bench/tgtd.js (demo and
 * benchmarks). Plain CommonJS so the bench and the demo run it without a
 * build step; test/harness/tgtd-process.d.ts gives TypeScript its types.
 * Targets, LUNs and accounts stay in the two callers.
 *
 * What tgtd does that shapes this module (tgt 1.0.x as packaged by Debian):
 *  - `-C N` selects the management socket /var/run/tgtd/socket.N (guarded by
 *    socket.N.lock); a second tgtd with the same N exits with "another tgtd
 *    is using ...", so every attempt uses another N. tgtd refuses N above
 *    32767 ("out of range"), which pickControl results are checked against.
 *  - Portals go on the command line (`--iscsi portal=A,portal=B`).
 *  - When it cannot bind the requested portals it silently listens on
 *    0.0.0.0:3260 instead, so `tgtadm --mode portal` must list exactly our
 *    ports before a start counts; otherwise it is killed and retried with
 *    new ports.
 *  - It ignores SIGTERM while it has targets: it is killed with SIGKILL, by
 *    the pid we spawned (never by name).
 */
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const { promisify } = require('node:util');

const execFileP = promisify(execFile);

/** tgtd rejects control ports above this. */
const MAX_CONTROL_PORT = 32767;
/** Start attempts (fresh control port and portal ports each) before giving up. */
const START_ATTEMPTS = 8;
/** Polls of the control socket per attempt, POLL_INTERVAL_MS apart (about 5 s). */
const POLL_ROUNDS = 100;
const POLL_INTERVAL_MS = 50;
const TGTADM_TIMEOUT_MS = 20000;

let attemptCounter = 0;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port the kernel just handed out on `host`. tgtd binds it a moment
 * later; the portal check in tryStart catches the rare race. */
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

/** Runs `tgtadm -C control --lld iscsi ...args` and returns its stdout. */
async function tgtadmRaw(control, args) {
  const { stdout } = await execFileP('tgtadm', ['-C', String(control), '--lld', 'iscsi', ...args], {
    timeout: TGTADM_TIMEOUT_MS,
  });
  return stdout;
}

/** SIGKILL to one pid we spawned; a process that is already gone is fine.
 * Never signals pid <= 0 (that would hit a whole process group). */
function killPid(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

// Registry for callers that ask for it (bench/tgtd.js): every tgtd spawned
// and not yet stopped, and every temp dir not yet removed. An 'exit' hook
// kills and removes them, so an interrupted start (Ctrl-C while a start is
// still polling) never leaves a daemon behind. The jest harness uses a
// watchdog instead (see spawnWatchdog) and does not register.
const livePids = new Set();
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
  livePids.add(pid);
}
function untrack(pid) {
  livePids.delete(pid);
}
function trackDir(dir) {
  hookExit();
  liveDirs.add(dir);
}
function untrackDir(dir) {
  liveDirs.delete(dir);
}
/** Kills every tracked tgtd and removes every tracked dir (synchronous, so
 * it can run from 'exit' handlers). */
function killAllSync() {
  for (const pid of livePids) killPid(pid);
  livePids.clear();
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function checkedControl(control) {
  if (!Number.isInteger(control) || control < 1 || control > MAX_CONTROL_PORT) {
    throw new RangeError(`tgtd control port ${control} is outside 1..${MAX_CONTROL_PORT}`);
  }
  return control;
}

/** One attempt: spawn tgtd on fresh ports, wait for its control socket and
 * check that it listens on exactly our portals. Returns null (tgtd killed)
 * when it exited, never answered, or fell back to other portals. */
async function tryStart(dir, logFd, ipv6, pickControl, tracked, env) {
  attemptCounter += 1;
  const control = checkedControl(pickControl(attemptCounter));
  const port = await freePort('127.0.0.1');
  const port6 = ipv6 ? await freePort('::1') : undefined;
  let portals = `portal=127.0.0.1:${port}`;
  if (port6 !== undefined) portals += `,portal=[::1]:${port6}`;
  const child = spawn('tgtd', ['-f', '-C', String(control), '--iscsi', portals], {
    cwd: dir,
    env: env ? { ...process.env, ...env } : process.env,
    stdio: ['ignore', logFd, logFd],
    detached: false,
  });
  if (tracked && child.pid) track(child.pid);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  for (let i = 0; i < POLL_ROUNDS && !exited; i++) {
    await sleep(POLL_INTERVAL_MS);
    try {
      await tgtadmRaw(control, ['--op', 'show', '--mode', 'target']);
      const shown = await tgtadmRaw(control, ['--op', 'show', '--mode', 'portal']);
      const ok =
        shown.includes(`127.0.0.1:${port},`) && (port6 === undefined || shown.includes(`[::1]:${port6},`));
      // `exited` again: another tgtd may own this control port and answer
      // for ours, which has just died of the collision.
      if (ok && !exited && child.pid) return { child, pid: child.pid, control, port, port6 };
      break; // bound the wrong portals (fallback to 0.0.0.0:3260): retry
    } catch {
      // not listening on its control socket yet
    }
  }
  if (!exited) killPid(child.pid);
  if (tracked) untrack(child.pid);
  return null;
}

/**
 * Starts tgtd in `dir` (its cwd), appending its output to `logFile`, with
 * up to START_ATTEMPTS attempts. `pickControl(n)` gives the control port
 * for the n-th attempt in this process (1-based; must be 1..32767).
 * `track` registers the pid for killAllSync()/the exit hook. Resolves to
 * { child, pid, control, port, port6? } or null when every attempt failed
 * (dir and log are left to the caller).
 */
async function startTgtdProcess({ dir, logFile, ipv6 = false, pickControl, track: tracked = false, env }) {
  const logFd = fs.openSync(logFile, 'a');
  let started = null;
  try {
    for (let attempt = 0; attempt < START_ATTEMPTS && !started; attempt++) {
      started = await tryStart(dir, logFd, !!ipv6, pickControl, tracked, env);
    }
  } finally {
    fs.closeSync(logFd);
  }
  return started;
}

/**
 * If `ownerPid` dies without stopping tgtd (a crashed jest worker), nothing
 * else would kill it: this detached shell does, and removes `dir`. It exits
 * on its own once tgtd is gone; kill it by pid after a normal stop.
 */
function spawnWatchdog(ownerPid, tgtdPid, dir) {
  const watchdog = spawn(
    'sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -9 "$2" 2>/dev/null; rm -rf "$3"',
      'watchdog',
      String(ownerPid),
      String(tgtdPid),
      dir,
    ],
    { stdio: 'ignore', detached: true },
  );
  watchdog.unref();
  return watchdog;
}

/** Resolves when `child` has exited or after `timeoutMs`, whichever is
 * first, leaving no timer behind. Call it before signalling the child. */
async function waitForExit(child, timeoutMs) {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let timer;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}

module.exports = {
  MAX_CONTROL_PORT,
  START_ATTEMPTS,
  sleep,
  freePort,
  tgtadmRaw,
  killPid,
  startTgtdProcess,
  spawnWatchdog,
  waitForExit,
  track,
  untrack,
  trackDir,
  untrackDir,
  killAllSync,
};
