'use strict';
/**
 * Guest-side helpers of the firmware kernel-lab test (firmware-ipxe.test.js):
 * the phase's 0600 parameter file, open-iscsi's `iscsiadm -m fw`, the iBFT
 * in low memory (BIOS boots), a root tree that holds only a raw table, and
 * an iscsid started for a login test. Nothing here prints a secret.
 */
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { parseIscsiadmFw } = require('./firmware-iscsiadm-fw');
const { labEnv } = require('./lab-env');

/** The phase's parameters: KEY=VALUE lines of the 0600 file named by
 * KLAB_TEST_ENV ($KLAB_RESULTS/firmware.env, written by
 * test/kernel-lab/phase-20-firmware.sh), read with the shared lab-env.js. */
function readLabEnv() {
  const file = process.env.KLAB_TEST_ENV;
  if (!process.env.KLAB_GUEST || !file) {
    throw new Error('not in the kernel lab: run test/kernel-lab/phase-20-firmware.sh (KLAB_GUEST/KLAB_TEST_ENV unset)');
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file} must be mode 0600 (it holds CHAP secrets)`);
  const env = labEnv();
  for (const k of ['FW_MODE', 'FW_PORT', 'FW_INITIATOR', 'FW_TARGETS']) {
    if (!env[k]) throw new Error(`${file}: ${k} missing`);
  }
  return env;
}

/** The targets the phase told iPXE to hook, in sanhook order. */
function expectedTargets(env) {
  return env.FW_TARGETS.split(',').map((kind) => {
    const p = kind === 'mutual' ? 'FW_MUT_' : 'FW_ONE_';
    const t = {
      kind,
      target: env[`${p}IQN`],
      address: '10.0.2.2',
      port: Number(env.FW_PORT),
      lun: Number(env[`${p}LUN`]),
      username: env[`${p}USER`],
      password: env[`${p}PASS`],
    };
    if (kind === 'mutual') {
      t.reverseUsername = env.FW_MUT_TUSER;
      t.reversePassword = env.FW_MUT_TPASS;
    }
    return t;
  });
}

/** Every secret of the run (for "never shown" checks). */
function allSecrets(env) {
  return [env.FW_MUT_PASS, env.FW_MUT_TPASS, env.FW_ONE_PASS].filter(Boolean);
}

/** `iscsiadm -m fw`, parsed; the raw text is never printed. */
function iscsiadmFw() {
  let out;
  try {
    out = execFileSync('iscsiadm', ['-m', 'fw'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // Its stderr has no secrets (error text only); stdout might.
    throw new Error(`iscsiadm -m fw failed (status ${err.status}): ${String(err.stderr || '').trim()}`);
  }
  return parseIscsiadmFw(out);
}

/** BIOS boot: the iBFT bytes from /dev/mem at the address the kernel logged
 * ("iBFT found at 0x..."); the low 1 MiB stays readable with STRICT_DEVMEM.
 * Writes them to `file` and returns the address, or null when not logged. */
function dumpLowmemTable(file) {
  const dmesg = execFileSync('dmesg', { encoding: 'utf8' });
  const m = /iBFT found at (0x[0-9a-fA-F]+)/.exec(dmesg);
  if (!m) return null;
  const addr = Number.parseInt(m[1], 16);
  const fd = fs.openSync('/dev/mem', 'r');
  try {
    const hdr = Buffer.alloc(8);
    if (fs.readSync(fd, hdr, 0, 8, addr) !== 8 || hdr.toString('latin1', 0, 4) !== 'iBFT') {
      throw new Error(`/dev/mem at ${m[1]} does not hold an iBFT header`);
    }
    const len = hdr.readUInt32LE(4);
    if (len < 48 || len > 65536) throw new Error(`implausible iBFT length ${len} at ${m[1]}`);
    const buf = Buffer.alloc(len);
    if (fs.readSync(fd, buf, 0, len, addr) !== len) throw new Error('short read of the iBFT from /dev/mem');
    fs.writeFileSync(file, buf, { mode: 0o600 });
    return addr;
  } finally {
    fs.closeSync(fd);
  }
}

/** A root holding only sys/firmware/acpi/tables/iBFT (so the readers must
 * take the raw-table source) plus sys/class/net/<if>/address copied from the
 * running system (so the interface name resolves by MAC as on a real root
 * without iscsi_ibft). */
function rawTableRoot(dir, tableBytes) {
  fs.rmSync(dir, { recursive: true, force: true });
  const tables = path.join(dir, 'sys/firmware/acpi/tables');
  fs.mkdirSync(tables, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(tables, 'iBFT'), tableBytes, { mode: 0o600 });
  for (const ifname of fs.readdirSync('/sys/class/net')) {
    let addr;
    try {
      addr = fs.readFileSync(path.join('/sys/class/net', ifname, 'address'));
    } catch {
      continue;
    }
    fs.mkdirSync(path.join(dir, 'sys/class/net', ifname), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sys/class/net', ifname, 'address'), addr);
  }
  return dir;
}

/** One sysfs attribute of /sys/firmware/ibft, trailing newline stripped. */
function ibftAttr(rel) {
  const t = fs.readFileSync(path.join('/sys/firmware/ibft', rel), 'utf8');
  return t.endsWith('\n') ? t.slice(0, -1) : t;
}

/** Starts iscsid in its own session (it signals its whole process group on
 * SIGTERM) with its log in the results dir; resolves once it listens on
 * @ISCSIADM_ABSTRACT_NAMESPACE. Returns a stop() that kills that pid only. */
async function startIscsid(logFile, timeoutMs = 15000) {
  const log = fs.openSync(logFile, 'a', 0o600);
  const child = spawn('iscsid', ['-f'], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = `${code ?? sig}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`iscsid exited (${exited}) before listening; see ${logFile}`);
    if (fs.readFileSync('/proc/net/unix', 'utf8').includes('@ISCSIADM_ABSTRACT_NAMESPACE')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`iscsid did not listen within ${timeoutMs} ms; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return async () => {
    if (exited !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  };
}

module.exports = { readLabEnv, expectedTargets, allSecrets, iscsiadmFw, dumpLowmemTable, rawTableRoot, ibftAttr, startIscsid };
