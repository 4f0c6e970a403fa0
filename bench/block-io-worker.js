'use strict';
/**
 * One block-I/O load run of iscsi-initiator, in its own process so it is
 * measured like the peer tools (CPU time of this process only, a fresh
 * heap). Spawned by bench/block-io.js; prints one JSON line.
 *
 *   node bench/block-io-worker.js '{"mode":"io","op":"read","bytes":4096,"qd":32,"seconds":5,
 *                                   "address":"127.0.0.1","port":3260,"target":"iqn...","lun":1}'
 *
 * Optional spec fields: busyPollUs, coalesce (openSession options).
 *
 * mode "io": the same access pattern as iscsi-perf / libiscsi-rw-perf:
 *   sequential from LBA 0, wrapping at the end of the LUN, exactly `qd`
 *   commands in flight (qd loops over session.readInto / session.write,
 *   each with its own buffer), for `seconds`.
 * mode "stream": session.createReadStream over the whole LUN into a sink,
 *   with the event-loop delay histogram running (how much a full-speed
 *   stream disturbs everything else on the loop).
 * mode "idle": opens `sessions` sessions and reports RSS per session.
 */
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { openSession } = require('../dist/index.js');

const spec = JSON.parse(process.argv[2]);
const INITIATOR = 'iqn.2026-11.org.example.bench:node';

function cpuSeconds(since) {
  const c = process.cpuUsage(since);
  return { cpuUserS: c.user / 1e6, cpuSysS: c.system / 1e6 };
}

async function open() {
  return openSession(
    { address: spec.address, port: spec.port, target: spec.target },
    { initiatorName: INITIATOR, keepaliveIntervalMs: 0, busyPollUs: spec.busyPollUs || 0, coalesce: spec.coalesce !== false },
  );
}

async function runIo() {
  const s = await open();
  const cap = await s.readCapacity(spec.lun);
  const blocks = spec.bytes / cap.blockLength;
  const total = Number(cap.blocks);
  const write = spec.op === 'write';
  // Warm-up: the UNIT ATTENTION after login and the capacity cache.
  await s.read(spec.lun, 0, blocks);
  let next = 0;
  let ios = 0;
  const stopAt = performance.now() + spec.seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = async () => {
    const buf = Buffer.alloc(spec.bytes, 0x5a);
    while (performance.now() < stopAt) {
      if (next + blocks > total) next = 0;
      const lba = next;
      next += blocks;
      if (write) await s.write(spec.lun, lba, buf);
      else await s.readInto(spec.lun, lba, buf);
      ios++;
    }
  };
  await Promise.all(Array.from({ length: spec.qd }, loop));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0);
  await s.close();
  return { ios, seconds, iops: ios / seconds, MBps: (ios * spec.bytes) / seconds / 1e6, ...cpu };
}

async function runStream() {
  const s = await open();
  const cap = await s.readCapacity(spec.lun);
  const h = monitorEventLoopDelay({ resolution: 1 });
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  h.enable();
  await pipeline(
    s.createReadStream(spec.lun, { queueDepth: spec.qd }),
    new Writable({
      write(chunk, _enc, cb) {
        bytes += chunk.length;
        cb();
      },
    }),
  );
  h.disable();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0);
  await s.close();
  if (BigInt(bytes) !== cap.bytes) throw new Error(`stream delivered ${bytes} bytes, LUN has ${cap.bytes}`);
  return {
    bytes,
    seconds,
    MBps: bytes / seconds / 1e6,
    ...cpu,
    cpuSecondsPerGB: (cpu.cpuUserS + cpu.cpuSysS) / (bytes / 1e9),
    eventLoopDelayP99Ms: h.percentile(99) / 1e6,
    eventLoopDelayMaxMs: h.max / 1e6,
  };
}

async function runIdle() {
  global.gc?.();
  const before = process.memoryUsage();
  const sessions = [];
  for (let i = 0; i < spec.sessions; i++) sessions.push(await open());
  global.gc?.();
  const after = process.memoryUsage();
  const out = {
    sessions: spec.sessions,
    rssPerSessionKiB: (after.rss - before.rss) / spec.sessions / 1024,
    heapPerSessionKiB: (after.heapUsed - before.heapUsed) / spec.sessions / 1024,
  };
  await Promise.all(sessions.map((s) => s.close()));
  return out;
}

const run = { io: runIo, stream: runStream, idle: runIdle }[spec.mode];
run().then(
  (r) => {
    process.stdout.write(`${JSON.stringify({ tool: 'iscsi-initiator', ...spec, ...r })}\n`);
  },
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
