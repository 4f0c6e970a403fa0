#!/usr/bin/env node
'use strict';
/**
 * Block I/O side by side: iscsi-initiator's Node API against Sahlberg
 * libiscsi 1.19 on the same tgtd and the same tmpfs-backed 1 GiB LUN, in
 * one run (issue 6). Part of `npm run bench`; alone: `node bench/block-io.js`.
 *
 * Peers (each a separate process, like our worker):
 *  - reads:  `iscsi-perf` (Debian libiscsi-bin) -m QD -b BLOCKS -t SECONDS
 *  - writes: bench/peer/libiscsi-rw-perf (our own program on libiscsi's
 *            async API; iscsi-perf only reads), same access pattern
 *  - ours:   bench/block-io-worker.js (session.readInto / session.write)
 * Pattern for all three: sequential from LBA 0, wrapping, exactly QD
 * commands in flight. Cases: 4 KiB and 128 KiB, QD 1 and 32, read and
 * write. Each case runs ROUNDS times alternating peer/ours; the medians are
 * compared. Also: a full-LUN createReadStream (event-loop delay p99, CPU
 * per GB) and RSS per idle session.
 *
 * Ours runs twice per round: with the defaults (receive coalescing on) and
 * with openSession({ busyPollUs }) (--busy-poll-us, default 100); then our
 * C core alone (bench/core/isc-core-perf.c, same pattern as the peer).
 * --target-malloc glibc|tuned: see TGTD_ENV below.
 *
 * Options: --quick (1 round of 1 s: the CI smoke), --rounds N, --seconds S,
 * --out FILE (default bench/results/block-io-latest.json).
 * Performance claims come from this output only; tests never time things.
 */
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startTgtd, debVersion } = require('./tgtd.js');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const QUICK = argv.includes('--quick');
const ROUNDS = Number(opt('--rounds', QUICK ? 1 : 3));
const SECONDS = Number(opt('--seconds', QUICK ? 1 : 3));
const OUT = path.resolve(opt('--out', path.join(__dirname, 'results', 'block-io-latest.json')));
const TARGET = 'iqn.2026-11.org.example.bench:blockio';
const LUN = 1;
const LUN_MIB = 1024;
const SHM = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
/** openSession({ busyPollUs }) for the third column. */
const BUSY_POLL_US = Number(opt('--busy-poll-us', 100));
/** --target-malloc tuned: tgtd runs with glibc's mmap threshold raised and
 * heap trimming off (MALLOC_MMAP_THRESHOLD_=4 MiB, MALLOC_TRIM_THRESHOLD_=
 * 256 MiB). tgtd valloc()s a fresh buffer per command; with glibc's
 * defaults a 128 KiB buffer is often a new mmap (page faults while it is
 * filled, TLB shootdowns when it is unmapped), and whether it is depends on
 * the allocator's history, so the target's cost per command swings up to
 * 4x between runs. Both initiators always see the same tgtd. */
const TARGET_MALLOC = opt('--target-malloc', 'glibc');
if (!['glibc', 'tuned'].includes(TARGET_MALLOC)) throw new Error('--target-malloc must be glibc or tuned');
const TGTD_ENV = TARGET_MALLOC === 'tuned' ? { MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_TRIM_THRESHOLD_: '268435456' } : undefined;

const CASES = [];
for (const op of ['read', 'write']) {
  for (const bytes of [4096, 131072]) {
    for (const qd of [1, 32]) CASES.push({ op, bytes, qd });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x) => Math.round(x * 10) / 10;

/** CPU seconds of the children of a `sh -c` (its `times` builtin). */
function parseTimes(text) {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1].trim().split(/\s+/);
  const sec = (t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  return { cpuUserS: sec(last[0]), cpuSysS: sec(last[1]) };
}

function runIscsiPerf(url, c) {
  const blocks = c.bytes / 512;
  const cmd = `iscsi-perf -i iqn.2026-11.org.example.bench:libiscsi -t ${SECONDS} -m ${c.qd} -b ${blocks} '${url}' >&2; times`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const m = /iops average (\d+)/.exec(r.stderr.replace(/\r/g, '\n'));
  if (r.status !== 0 || !m) throw new Error(`iscsi-perf failed (status ${r.status}): ${r.stderr.slice(-400)}`);
  const iops = Number(m[1]);
  return { tool: 'iscsi-perf', iops, MBps: (iops * c.bytes) / 1e6, seconds: SECONDS, ...parseTimes(r.stdout) };
}

/** A program with libiscsi-rw-perf's flags and JSON output line: the
 * libiscsi peer (bench/peer/libiscsi-rw-perf.c) or our C core alone
 * (bench/core/isc-core-perf.c, what the engine costs without Node). */
function runPerfProgram(bin, name, url, c) {
  const blocks = c.bytes / 512;
  const args = [c.op === 'write' ? '-w' : '-r', '-m', String(c.qd), '-b', String(blocks), '-t', String(SECONDS), '-i', `iqn.2026-11.org.example.bench:${name}`, url];
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  if (r.status !== 0) throw new Error(`${name} failed (status ${r.status}): ${r.stderr.slice(-400)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function runOurs(spec) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'block-io-worker.js'), JSON.stringify(spec)], {
    encoding: 'utf8',
    timeout: ((spec.seconds || 0) + 120) * 1000,
  });
  if (r.status !== 0) throw new Error(`block-io-worker ${spec.mode} failed (status ${r.status}): ${r.stderr.slice(-800)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Fills the backing file with non-zero data: reads of a sparse file would
 * only measure tmpfs's zero page. */
function prefill(file) {
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 0xff || 1;
  const fd = fs.openSync(file, 'r+');
  try {
    for (let off = 0; off < LUN_MIB; off++) fs.writeSync(fd, chunk, 0, chunk.length, off * chunk.length);
  } finally {
    fs.closeSync(fd);
  }
}

async function main() {
  const peerBin = execFileSync('bash', [path.join(__dirname, 'peer', 'build.sh')], { encoding: 'utf8' }).trim();
  const coreBin = execFileSync('bash', [path.join(__dirname, 'core', 'build.sh')], { encoding: 'utf8' }).trim();
  const tgtd = await startTgtd({ env: TGTD_ENV });
  try {
    await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: LUN_MIB }], backingDir: SHM });
    const file = fs
      .readdirSync(SHM || tgtd.dir)
      .map((f) => path.join(SHM || tgtd.dir, f))
      .find((f) => f.endsWith(`-lun${LUN}-${process.pid}.img`));
    if (!file) throw new Error('backing file not found');
    prefill(file);
    const url = `iscsi://127.0.0.1:${tgtd.port}/${TARGET}/${LUN}`;
    const base = { address: '127.0.0.1', port: tgtd.port, target: TARGET, lun: LUN };

    console.log(`block I/O: iscsi-initiator vs libiscsi ${debVersion('libiscsi-bin')} on tgtd ${debVersion('tgt')} (malloc: ${TARGET_MALLOC}), ` +
      `${LUN_MIB} MiB LUN on ${SHM ? 'tmpfs' : 'disk'}, ${ROUNDS} round(s) x ${SECONDS} s per tool and case\n`);
    const results = [];
    for (const c of CASES) {
      const peer = [];
      const ours = [];
      const busy = [];
      const core = [];
      // Alternating, so that drift of the (shared, virtual) machine hits
      // all three alike; medians over the rounds.
      for (let round = 0; round < ROUNDS; round++) {
        peer.push(c.op === 'read' ? runIscsiPerf(url, c) : runPerfProgram(peerBin, 'libiscsi-rw-perf', url, c));
        ours.push(runOurs({ mode: 'io', ...base, ...c, seconds: SECONDS }));
        busy.push(runOurs({ mode: 'io', ...base, ...c, seconds: SECONDS, busyPollUs: BUSY_POLL_US }));
        core.push(runPerfProgram(coreBin, 'isc-core-perf', url, c));
      }
      const pIops = median(peer.map((x) => x.iops));
      const oIops = median(ours.map((x) => x.iops));
      const bIops = median(busy.map((x) => x.iops));
      const cIops = median(core.map((x) => x.iops));
      const cpuPerGB = (xs) => Math.round(median(xs.map((x) => (x.cpuUserS + x.cpuSysS) / ((x.iops * x.seconds * c.bytes) / 1e9))) * 100) / 100;
      const ratio = (x) => Math.round((x / pIops) * 100) / 100;
      const row = {
        ...c,
        peer: peer[0].tool,
        peerIops: Math.round(pIops),
        oursIops: Math.round(oIops),
        busyPollIops: Math.round(bIops),
        peerMBps: r1((pIops * c.bytes) / 1e6),
        oursMBps: r1((oIops * c.bytes) / 1e6),
        busyPollMBps: r1((bIops * c.bytes) / 1e6),
        ratio: ratio(oIops),
        busyPollRatio: ratio(bIops),
        coreIops: Math.round(cIops),
        coreRatio: ratio(cIops),
        coreCpuSecPerGB: cpuPerGB(core),
        peerCpuSecPerGB: cpuPerGB(peer),
        oursCpuSecPerGB: cpuPerGB(ours),
        busyPollCpuSecPerGB: cpuPerGB(busy),
        rounds: {
          peer: peer.map((x) => Math.round(x.iops)),
          ours: ours.map((x) => Math.round(x.iops)),
          busyPoll: busy.map((x) => Math.round(x.iops)),
          core: core.map((x) => Math.round(x.iops)),
        },
      };
      results.push(row);
      const fmt = (iops, mbps) => `${String(iops).padStart(6)} IOPS ${String(mbps).padStart(6)} MB/s`;
      console.log(
        `${c.op.padEnd(5)} ${String(c.bytes / 1024).padStart(3)} KiB QD${String(c.qd).padEnd(2)}  ` +
          `${row.peer.padEnd(16)} ${fmt(row.peerIops, row.peerMBps)} | ours ${fmt(row.oursIops, row.oursMBps)} ${row.ratio.toFixed(2)}x | ` +
          `busy-poll ${fmt(row.busyPollIops, row.busyPollMBps)} ${row.busyPollRatio.toFixed(2)}x | ` +
          `C core ${String(row.coreIops).padStart(6)} IOPS ${row.coreRatio.toFixed(2)}x | ` +
          `CPU s/GB ${row.peerCpuSecPerGB} / ${row.oursCpuSecPerGB} / ${row.busyPollCpuSecPerGB} / ${row.coreCpuSecPerGB}`,
      );
    }
    const stream = runOurs({ mode: 'stream', ...base, qd: 8, seconds: 0 });
    console.log(`\nstream: createReadStream of ${LUN_MIB} MiB: ${r1(stream.MBps)} MB/s, event-loop delay p99 ${r1(stream.eventLoopDelayP99Ms)} ms ` +
      `(max ${r1(stream.eventLoopDelayMaxMs)} ms), CPU ${r1(stream.cpuSecondsPerGB * 100) / 100} s/GB`);
    const idle = runOurs({ mode: 'idle', ...base, sessions: QUICK ? 10 : 50 });
    console.log(`idle sessions: ${r1(idle.rssPerSessionKiB)} KiB RSS and ${r1(idle.heapPerSessionKiB)} KiB JS heap per logged-in session (${idle.sessions} sessions)`);

    const out = { date: new Date().toISOString(), quick: QUICK, rounds: ROUNDS, seconds: SECONDS, targetMalloc: TARGET_MALLOC, busyPollUs: BUSY_POLL_US, node: process.version, cases: results, stream, idle };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
    for (const [label, key] of [['defaults', 'ratio'], [`busyPollUs ${BUSY_POLL_US}`, 'busyPollRatio'], ['C core', 'coreRatio']]) {
      const short = results.filter((r) => r[key] < 1.1);
      console.log(`\n${label}: ${results.length - short.length}/${results.length} cases at >= 1.1x libiscsi`);
      if (short.length) console.log(`  below 1.1x: ${short.map((r) => `${r.op} ${r.bytes / 1024}K QD${r.qd} (${r[key]}x)`).join(', ')}`);
    }
    console.log(`results in ${path.relative(process.cwd(), OUT)}`);
  } finally {
    await tgtd.stop();
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
