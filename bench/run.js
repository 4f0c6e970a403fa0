#!/usr/bin/env node
'use strict';
/**
 * `npm run bench` (runs `node --expose-gc bench/run.js`): iscsi-initiator
 * side by side with libiscsi's command-line tools against one private
 * tgtd on 127.0.0.1, in one process run.
 *
 *  a) discovery: per-call latency of discoverSendTargets() in-process
 *     (sequential) vs whole-process wall time of `iscsi-ls iscsi://...`
 *  b) openSession + inquiry(1) + close in-process vs whole-process
 *     `iscsi-inq iscsi://.../IQN/1`
 *  c) event-loop delay p99 (monitorEventLoopDelay, 1 ms resolution) while
 *     64 discoveries run concurrently, repeated for several rounds, vs the
 *     same measurement on an idle loop
 *  d) RSS and heap before/after many discovery cycles (after global.gc()
 *     when --expose-gc is given)
 *
 * The comparisons in a) and b) are deliberately "what a Node program pays":
 * a library call versus spawning the C tool per operation, the way
 * iscsiadm/libiscsi-utils wrappers do it. Process start-up is part of the
 * tools' figures by design; `spawnSync('true')` is measured as the floor.
 *
 * Options: --quick (small counts, ~1 minute), --out FILE (JSON results,
 * default bench/results/latest.json).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { startTgtd, debVersion } = require('./tgtd.js');

const ROOT = path.join(__dirname, '..');

// `npm run bench` runs plain `node bench/run.js` (package.json is shared);
// the memory part needs global.gc(), so re-run this script once under
// --expose-gc instead of asking every caller to remember the flag.
if (typeof global.gc !== 'function' && !process.env.ISC_BENCH_REEXEC) {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ISC_BENCH_REEXEC: '1' },
  });
  process.exit(r.status === null ? 1 : r.status);
}
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const outIdx = argv.indexOf('--out');
const OUT = outIdx >= 0 ? path.resolve(argv[outIdx + 1]) : path.join(__dirname, 'results', 'latest.json');

const N = QUICK
  ? { discover: 200, tool: 20, session: 60, toolSession: 20, rounds: 5, conc: 64, memCycles: 1000 }
  : { discover: 1000, tool: 100, session: 300, toolSession: 100, rounds: 20, conc: 64, memCycles: 10000 };
const WARMUP = 20;
const TARGET = 'iqn.2026-11.org.example.bench:disk1';

// ------------------------------------------------------------ helpers

/** Nearest-rank percentile of an ascending-sorted array. */
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function stats(samplesMs) {
  const s = [...samplesMs].sort((x, y) => x - y);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: round(pct(s, 50)), p99: round(pct(s, 99)), mean: round(mean), min: round(s[0]), max: round(s[s.length - 1]) };
}

function round(x, d = 3) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function ratio(a, b) {
  return round(a / b, 1);
}

const now = () => performance.now();

function runTool(cmd, args) {
  const t0 = now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30000 });
  const dt = now() - t0;
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').trim()}`);
  return { ms: dt, stdout: r.stdout };
}

function timeTool(cmd, args, n, check) {
  const first = runTool(cmd, args);
  if (check) check(first.stdout);
  for (let i = 1; i < 5; i++) runTool(cmd, args); // warm the page cache
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(runTool(cmd, args).ms);
  return stats(samples);
}

function gc() {
  if (typeof global.gc === 'function') {
    global.gc();
    global.gc();
  }
}

function mem() {
  const m = process.memoryUsage();
  return { rssMiB: round(m.rss / 1048576, 1), heapUsedMiB: round(m.heapUsed / 1048576, 2), externalMiB: round(m.external / 1048576, 2) };
}

function machine() {
  let kernel = os.release();
  try {
    kernel = `${os.type()} ${os.release()} ${os.version()}`;
  } catch {
    /* os.version() is new in some Node lines */
  }
  return {
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel,
    node: process.version,
    tgt: debVersion('tgt'),
    libiscsiBin: debVersion('libiscsi-bin'),
    exposeGc: typeof global.gc === 'function',
    // Other work on the machine shows up in the p99 figures: record it.
    loadavg: os.loadavg().map((x) => round(x, 2)),
  };
}

function log(s = '') {
  process.stdout.write(`${s}\n`);
}

function fmt(st) {
  return `p50 ${st.p50.toFixed(3)} ms  p99 ${st.p99.toFixed(3)} ms  (mean ${st.mean.toFixed(3)}, n=${st.n})`;
}

// ------------------------------------------------------------ parts

async function partDiscovery(lib, tgtd) {
  const portal = tgtd.portal;
  const first = await lib.discoverSendTargets(portal);
  if (!first.some((d) => d.target === TARGET)) throw new Error(`discovery did not list ${TARGET}: ${JSON.stringify(first)}`);
  for (let i = 0; i < WARMUP; i++) await lib.discoverSendTargets(portal);
  const samples = [];
  for (let i = 0; i < N.discover; i++) {
    const t0 = now();
    await lib.discoverSendTargets(portal);
    samples.push(now() - t0);
  }
  const ours = stats(samples);
  const tool = timeTool('iscsi-ls', [`iscsi://${portal}`], N.tool, (out) => {
    if (!out.includes(TARGET)) throw new Error(`iscsi-ls did not list ${TARGET}: ${out}`);
  });
  return { inProcess: ours, iscsiLs: tool, ratioP50: ratio(tool.p50, ours.p50), ratioP99: ratio(tool.p99, ours.p99) };
}

async function partSession(lib, tgtd) {
  const node = { target: TARGET, address: '127.0.0.1', port: tgtd.port };
  const once = async () => {
    const s = await lib.openSession(node);
    try {
      const inq = await s.inquiry(1);
      return inq;
    } finally {
      await s.close();
    }
  };
  const inq = await once();
  if (inq.deviceType !== 0) throw new Error(`LUN 1 is not a disk: ${JSON.stringify(inq)}`);
  for (let i = 0; i < WARMUP; i++) await once();
  const samples = [];
  for (let i = 0; i < N.session; i++) {
    const t0 = now();
    await once();
    samples.push(now() - t0);
  }
  const ours = stats(samples);
  const tool = timeTool('iscsi-inq', [`iscsi://${tgtd.portal}/${TARGET}/1`], N.toolSession, (out) => {
    if (!/Vendor|vendor|Product/.test(out)) throw new Error(`iscsi-inq printed no INQUIRY data: ${out}`);
  });
  return { inProcess: ours, iscsiInq: tool, ratioP50: ratio(tool.p50, ours.p50), ratioP99: ratio(tool.p99, ours.p99) };
}

function histSummary(h) {
  // Histogram values are nanoseconds.
  return {
    p50: round(h.percentile(50) / 1e6),
    p99: round(h.percentile(99) / 1e6),
    max: round(h.max / 1e6),
    mean: round(h.mean / 1e6),
    count: h.count,
  };
}

async function partEventLoop(lib, tgtd) {
  const portal = tgtd.portal;
  // Load: rounds of N.conc concurrent discoveries.
  const hLoad = monitorEventLoopDelay({ resolution: 1 });
  hLoad.enable();
  const t0 = now();
  let ok = 0;
  let failed = 0;
  const codes = {};
  for (let r = 0; r < N.rounds; r++) {
    const results = await Promise.allSettled(Array.from({ length: N.conc }, () => lib.discoverSendTargets(portal)));
    for (const x of results) {
      if (x.status === 'fulfilled') ok++;
      else {
        failed++;
        const c = (x.reason && x.reason.code) || 'unknown';
        codes[c] = (codes[c] || 0) + 1;
      }
    }
  }
  const loadMs = now() - t0;
  hLoad.disable();
  // The fixed rounds finish quickly on a fast target (few 1 ms samples), so
  // also keep the same load up for a fixed time to get a stabler p99.
  const sustainMs = QUICK ? 1000 : 5000;
  const hSustained = monitorEventLoopDelay({ resolution: 1 });
  hSustained.enable();
  const t1 = now();
  let sustainedRounds = 0;
  let sustainedOk = 0;
  while (now() - t1 < sustainMs) {
    const results = await Promise.allSettled(Array.from({ length: N.conc }, () => lib.discoverSendTargets(portal)));
    sustainedRounds++;
    sustainedOk += results.filter((x) => x.status === 'fulfilled').length;
  }
  const sustainedWall = now() - t1;
  hSustained.disable();
  // Idle baseline over the sustained phase's duration.
  const hIdle = monitorEventLoopDelay({ resolution: 1 });
  hIdle.enable();
  await new Promise((r) => setTimeout(r, sustainMs));
  hIdle.disable();
  const load = histSummary(hLoad);
  const idle = histSummary(hIdle);
  return {
    concurrency: N.conc,
    rounds: N.rounds,
    discoveries: { ok, failed, failureCodes: codes },
    wallMs: round(loadMs, 1),
    throughputPerSec: round((ok / loadMs) * 1000, 1),
    underLoad: load,
    sustained: {
      rounds: sustainedRounds,
      ok: sustainedOk,
      wallMs: round(sustainedWall, 1),
      throughputPerSec: round((sustainedOk / sustainedWall) * 1000, 1),
      delay: histSummary(hSustained),
    },
    idle,
  };
}

async function partMemory(lib, tgtd) {
  const portal = tgtd.portal;
  for (let i = 0; i < 100; i++) await lib.discoverSendTargets(portal); // reach steady state
  gc();
  const before = mem();
  const mid = [];
  const t0 = now();
  for (let i = 1; i <= N.memCycles; i++) {
    await lib.discoverSendTargets(portal);
    if (i % (N.memCycles / 4) === 0) {
      gc();
      mid.push({ cycles: i, ...mem() });
    }
  }
  const wallMs = now() - t0;
  gc();
  const after = mem();
  return {
    cycles: N.memCycles,
    gcExposed: typeof global.gc === 'function',
    before,
    checkpoints: mid,
    after,
    rssDeltaMiB: round(after.rssMiB - before.rssMiB, 1),
    heapDeltaMiB: round(after.heapUsedMiB - before.heapUsedMiB, 2),
    wallMs: round(wallMs, 1),
  };
}

// ------------------------------------------------------------ main

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    console.error('bench: dist/ is missing; run `npm run build:ts` first');
    process.exit(1);
  }
  const lib = require(ROOT);
  const started = new Date();
  const m = machine();
  log(`iscsi-initiator benchmark${QUICK ? ' (--quick)' : ''}, ${started.toISOString()}`);
  log(`machine: ${m.cpu}, ${m.nproc} CPUs, ${m.ramGiB} GiB RAM, ${m.kernel}`);
  log(`load average at start: ${m.loadavg.join(' ')}`);
  log(`node ${m.node}, tgt ${m.tgt}, libiscsi-bin ${m.libiscsiBin}, --expose-gc: ${m.exposeGc ? 'yes' : 'NO (RSS figures are without forced GC)'}`);
  let info = {};
  try {
    info = lib.nativeInfo();
    // Which binary node-gyp-build picked (build/Release or a prebuild).
    info.addon = path.relative(ROOT, require('node-gyp-build').path(ROOT));
    log(`native core ${info.coreVersion}, crc32c ${info.crc32c}, addon ${info.addon}`);
  } catch (err) {
    // Without the addon every figure would be an error path: stop here.
    console.error(`bench: the native addon does not load (${err.message.split('\n')[0]}); run \`npm install\` or \`npm run build:native\``);
    process.exit(1);
  }

  const floor = timeTool('true', [], QUICK ? 20 : 100);
  log(`process spawn floor (spawnSync('true')): ${fmt(floor)}`);

  const tgtd = await startTgtd();
  const stopNow = () => tgtd.stopSync();
  process.once('exit', stopNow);
  process.once('SIGINT', () => {
    stopNow();
    process.exit(130);
  });
  const results = { started: started.toISOString(), quick: QUICK, counts: N, machine: m, native: info, spawnFloor: floor };
  try {
    await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: 64 }] });
    log(`tgtd pid ${tgtd.pid} on ${tgtd.portal}, target ${TARGET} (64 MiB sparse LUN 1, no CHAP)\n`);

    const parts = [
      ['discovery', 'a) discovery latency', partDiscovery],
      ['session', 'b) openSession + inquiry(1) + close', partSession],
      ['eventLoop', 'c) event-loop delay', partEventLoop],
      ['memory', 'd) memory', partMemory],
    ];
    for (const [key, title, fn] of parts) {
      log(`== ${title}`);
      const t0 = now();
      try {
        results[key] = await fn(lib, tgtd);
      } catch (err) {
        results[key] = { error: `${err.code ? `[${err.code}] ` : ''}${err.message}` };
        log(`   FAILED: ${results[key].error}`);
        continue;
      }
      const r = results[key];
      if (key === 'discovery') {
        log(`   discoverSendTargets (in-process, sequential): ${fmt(r.inProcess)}`);
        log(`   iscsi-ls (whole process):                      ${fmt(r.iscsiLs)}`);
        log(`   ratio iscsi-ls / in-process: p50 ${r.ratioP50}x, p99 ${r.ratioP99}x`);
      } else if (key === 'session') {
        log(`   openSession+inquiry+close (in-process):        ${fmt(r.inProcess)}`);
        log(`   iscsi-inq (whole process):                     ${fmt(r.iscsiInq)}`);
        log(`   ratio iscsi-inq / in-process: p50 ${r.ratioP50}x, p99 ${r.ratioP99}x`);
      } else if (key === 'eventLoop') {
        log(`   ${r.rounds} rounds x ${r.concurrency} concurrent discoveries: ${r.discoveries.ok} ok, ${r.discoveries.failed} failed${r.discoveries.failed ? ` ${JSON.stringify(r.discoveries.failureCodes)}` : ''}, ${r.throughputPerSec}/s`);
        log(`   event-loop delay, ${r.rounds} rounds: p50 ${r.underLoad.p50} ms, p99 ${r.underLoad.p99} ms, max ${r.underLoad.max} ms`);
        const su = r.sustained;
        log(`   sustained ${(su.wallMs / 1000).toFixed(1)} s (${su.rounds} rounds, ${su.ok} ok, ${su.throughputPerSec}/s): p50 ${su.delay.p50} ms, p99 ${su.delay.p99} ms, max ${su.delay.max} ms`);
        log(`   event-loop delay idle:       p50 ${r.idle.p50} ms, p99 ${r.idle.p99} ms, max ${r.idle.max} ms  (${r.idle.count} samples vs ${r.underLoad.count} under load)`);
      } else if (key === 'memory') {
        log(`   ${r.cycles} discovery cycles in ${(r.wallMs / 1000).toFixed(1)} s${r.gcExposed ? ' (global.gc() before each reading)' : ''}`);
        log(`   before: rss ${r.before.rssMiB} MiB, heapUsed ${r.before.heapUsedMiB} MiB`);
        for (const c of r.checkpoints) log(`   after ${String(c.cycles).padStart(5)}: rss ${c.rssMiB} MiB, heapUsed ${c.heapUsedMiB} MiB`);
        log(`   delta: rss ${r.rssDeltaMiB >= 0 ? '+' : ''}${r.rssDeltaMiB} MiB, heapUsed ${r.heapDeltaMiB >= 0 ? '+' : ''}${r.heapDeltaMiB} MiB`);
      }
      log(`   (${((now() - t0) / 1000).toFixed(1)} s)\n`);
    }
  } finally {
    await tgtd.stop();
  }
  results.finished = new Date().toISOString();
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), OUT) || OUT}`);
  const failedParts = ['discovery', 'session', 'eventLoop', 'memory'].filter((k) => results[k] && results[k].error);
  if (failedParts.length) {
    log(`parts that failed: ${failedParts.join(', ')}`);
    process.exitCode = 1;
  }
  // Part 2: block I/O side by side with libiscsi (its own tgtd and LUN).
  if (!argv.includes('--no-block-io')) {
    log('\n== block I/O (bench/block-io.js) ==');
    const r = spawnSync(process.execPath, [path.join(__dirname, 'block-io.js'), ...(QUICK ? ['--quick'] : [])], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`bench failed: ${err.stack || err}`);
  process.exitCode = 1;
});
