#!/usr/bin/env node
'use strict';
/**
 * Prints the Markdown table of one bench/block-io.js result file, as used in
 * docs/benchmarks.md (so the page is written from the raw output, not by
 * hand):
 *
 *   node bench/block-io-table.js bench/results/block-io-2026-12-02-glibc.json
 */
const fs = require('node:fs');

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/block-io-table.js RESULTS.json');
  process.exit(2);
}
const res = JSON.parse(fs.readFileSync(file, 'utf8'));
const size = (b) => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
const rate = (c, iops) => (c.bytes >= 65536 ? `${iops} (${Math.round((iops * c.bytes) / 1e6)} MB/s)` : String(iops));
const x = (r) => `${r.toFixed(2)}x`;

console.log(
  `| case | libiscsi | ours, defaults | ratio | ours, busyPollUs ${res.busyPollUs ?? 100} | ratio | C core alone | ratio | CPU s/GB libiscsi / ours / busy-poll / C core |`,
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const c of res.cases) {
  console.log(
    `| ${c.op} ${size(c.bytes)} QD${c.qd} | ${rate(c, c.peerIops)} | ${rate(c, c.oursIops)} | **${x(c.ratio)}** | ` +
      `${rate(c, c.busyPollIops)} | **${x(c.busyPollRatio)}** | ${c.coreIops === undefined ? '-' : rate(c, c.coreIops)} | ` +
      `${c.coreRatio === undefined ? '-' : x(c.coreRatio)} | ${c.peerCpuSecPerGB} / ${c.oursCpuSecPerGB} / ${c.busyPollCpuSecPerGB} / ${c.coreCpuSecPerGB ?? '-'} |`,
  );
}
console.log('');
console.log(
  `${res.rounds} rounds x ${res.seconds} s per tool and case, medians; tgtd malloc: ${res.targetMalloc ?? 'glibc'}; ` +
    `stream ${Math.round(res.stream.MBps)} MB/s, event-loop delay p99 ${res.stream.eventLoopDelayP99Ms.toFixed(1)} ms; ` +
    `idle session ${Math.round(res.idle.rssPerSessionKiB)} KiB RSS.`,
);
