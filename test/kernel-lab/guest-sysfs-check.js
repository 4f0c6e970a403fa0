'use strict';
// Guest half of `capture-sysfs.sh --check`: runs lib/kernel/sysfs.ts (compiled
// by the host half into SYSFS_JS) against the guest's live /sys and compares
// it with open-iscsi's own view (`iscsiadm -m session -P 3`, parsed by
// test/kernel/iscsiadm-session.js).
//
//   node guest-sysfs-check.js compare P3FILE OUTJSON
//       readSessions() must agree with the parsed -P 3 output (diffSessions)
//   node guest-sysfs-check.js login-wait IQN PORTAL OUTJSON
//       starts `iscsiadm --login` for IQN and, concurrently, waitForSession()
//       with requireDisks: the poll must see the session the kernel builds
//       (through its "(null)" window) and return it with a block device
// Exit 0 on agreement, 1 with the differences on stderr.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');

const sysfs = require(process.env.SYSFS_JS || '');
const { parseSessionP3, diffSessions } = require(path.join(__dirname, '../kernel/iscsiadm-session.js'));

async function compare(p3File, outJson) {
  const t0 = process.hrtime.bigint();
  const ours = await sysfs.readSessions();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.writeFileSync(outJson, JSON.stringify({ readSessionsMs: ms, sessions: ours }, null, 2));
  const diffs = diffSessions(parseSessionP3(fs.readFileSync(p3File, 'utf8')), ours);
  if (ours.length === 0) diffs.push('readSessions() found no sessions');
  if (diffs.length) {
    console.error(`guest-sysfs-check: readSessions() and iscsiadm differ:\n  ${diffs.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`guest-sysfs-check: readSessions() agrees with iscsiadm -P 3 on ${ours.length} sessions (${ms.toFixed(1)} ms)`);
}

async function loginWait(iqn, portal, outJson) {
  const [address, port] = [portal.slice(0, portal.lastIndexOf(':')), Number(portal.slice(portal.lastIndexOf(':') + 1))];
  const t0 = Date.now();
  const waiting = sysfs.waitForSession({ target: iqn, address, port }, { requireDisks: 1, pollMs: 25, timeoutMs: 60000 });
  const login = new Promise((resolve, reject) => {
    const c = spawn('iscsiadm', ['-m', 'node', '-T', iqn, '-p', portal, '--login'], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(Date.now() - t0) : reject(new Error(`iscsiadm --login exited ${code}`))));
  });
  const [session, loginMs] = await Promise.all([waiting, login]);
  const waitMs = Date.now() - t0;
  fs.writeFileSync(outJson, JSON.stringify({ loginMs, waitMs, session }, null, 2));
  const disk = session.disks.find((d) => d.device);
  if (session.state !== 'LOGGED_IN' || !disk || !fs.existsSync(disk.device)) {
    console.error(`guest-sysfs-check: waitForSession returned an unready session: ${JSON.stringify(session)}`);
    process.exit(1);
  }
  console.log(`guest-sysfs-check: waitForSession saw session ${session.sid} with ${disk.device} ${waitMs} ms after the login started (iscsiadm returned after ${loginMs} ms)`);
}

const [mode, ...args] = process.argv.slice(2);
const run = mode === 'compare' ? compare(...args) : mode === 'login-wait' ? loginWait(...args) : Promise.reject(new Error(`unknown mode ${mode}`));
run.catch((err) => {
  console.error(`guest-sysfs-check: FAIL: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
