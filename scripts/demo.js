#!/usr/bin/env node
'use strict';
/**
 * `npm run demo`: the library end to end against a real target.
 *
 * Default: starts a private tgtd on 127.0.0.1 (free ports, private control
 * socket), creates one target with a 64 MiB sparse LUN and one-way CHAP
 * with a user name and password generated for this run, then:
 *   discoverSendTargets -> openSession (CHAP) -> negotiated parameters ->
 *   REPORT LUNS -> READ CAPACITY + INQUIRY per LUN -> close.
 * tgtd is killed and its temp dir removed on success, on error and on
 * Ctrl-C / SIGTERM.
 *
 * Existing target instead:
 *   node scripts/demo.js --portal HOST[:PORT] --target IQN [--user U --password-env VAR]
 * The password is read from the named environment variable so it never
 * appears on a command line (ps) or in shell history.
 *
 * The CHAP password is never printed: all output goes through say(), which
 * also masks the password should it ever appear in a message.
 */
const crypto = require('node:crypto');
const path = require('node:path');
const fs = require('node:fs');

const ROOT = path.join(__dirname, '..');
const USAGE = `usage: node scripts/demo.js [--portal HOST[:PORT] --target IQN [--user U --password-env VAR]]
  without options: runs against a private tgtd started for this run`;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--portal') out.portal = take();
    else if (a === '--target') out.target = take();
    else if (a === '--user') out.user = take();
    else if (a === '--password-env') out.passwordEnv = take();
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown option ${a}`);
  }
  if ((out.portal === undefined) !== (out.target === undefined)) fail('--portal and --target go together');
  if ((out.user === undefined) !== (out.passwordEnv === undefined)) fail('--user and --password-env go together');
  if (out.user !== undefined && out.portal === undefined) fail('--user needs --portal and --target');
  return out;
}

function fail(msg) {
  console.error(`demo: ${msg}\n${USAGE}`);
  process.exit(2);
}

const secrets = [];
function say(line = '') {
  let s = String(line);
  for (const secret of secrets) if (secret) s = s.split(secret).join('********');
  process.stdout.write(`${s}\n`);
}

function loadLibrary() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    console.error('demo: dist/ is missing; run `npm run build:ts` (npm install / npm test do it for you)');
    process.exit(1);
  }
  return require(ROOT);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const lib = loadLibrary();
  let tgtd = null;
  let session = null;
  let cleaning = null;

  const cleanup = async () => {
    if (cleaning) return cleaning;
    cleaning = (async () => {
      if (session) {
        try {
          await session.close({ timeoutMs: 3000 });
        } catch {
          /* best effort */
        }
      }
      if (tgtd) {
        await tgtd.stop();
        say(`tgtd (pid ${tgtd.pid}) stopped, ${tgtd.dir} removed`);
      }
    })();
    return cleaning;
  };
  const abort = new AbortController();
  const onSignal = (sig) => {
    say(`\n${sig}: cleaning up`);
    abort.abort();
    cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort if something calls process.exit() elsewhere: never leave
  // a tgtd behind.
  process.once('exit', () => tgtd && tgtd.stopSync());

  try {
    let portal;
    let targetName;
    let auth;
    if (args.portal) {
      portal = args.portal;
      targetName = args.target;
      if (args.user) {
        const password = process.env[args.passwordEnv];
        if (!password) fail(`environment variable ${args.passwordEnv} is empty or unset`);
        secrets.push(password);
        auth = { username: args.user, password };
      }
      say(`Using existing target ${targetName} at ${portal}${auth ? ` (CHAP user ${auth.username})` : ''}`);
    } else {
      const { startTgtd } = require('../bench/tgtd.js');
      const t0 = Date.now();
      tgtd = await startTgtd();
      targetName = `iqn.2026-11.org.example.demo:disk-${crypto.randomBytes(3).toString('hex')}`;
      auth = { username: `demo-${crypto.randomBytes(3).toString('hex')}`, password: crypto.randomBytes(12).toString('hex') };
      secrets.push(auth.password);
      await tgtd.addTarget(targetName, { luns: [{ sizeMiB: 64 }], chap: auth });
      portal = tgtd.portal;
      say(`Started tgtd pid ${tgtd.pid} on ${portal} (control port ${tgtd.controlPort}) in ${Date.now() - t0} ms`);
      say(`Target ${targetName}: one 64 MiB sparse LUN, one-way CHAP user ${auth.username} (password generated, not shown)`);
    }
    const signal = abort.signal;

    say(`\n== discoverSendTargets('${portal}')`);
    let t = process.hrtime.bigint();
    const found = await lib.discoverSendTargets(portal, { auth, signal, timeoutMs: 10000 });
    say(`${found.length} entr${found.length === 1 ? 'y' : 'ies'} in ${ms(t)} ms`);
    for (const d of found) say(`  ${d.address}:${d.port},${d.tpgt} ${d.target}`);

    const entry = found.find((d) => d.target === targetName);
    const parsed = lib.parsePortal(portal);
    const node = entry
      ? { target: entry.target, address: entry.address, port: entry.port }
      : { target: targetName, address: parsed.host, port: parsed.port };

    say(`\n== openSession(${node.target} @ ${node.address}:${node.port})${auth ? ' with CHAP' : ''}`);
    t = process.hrtime.bigint();
    session = await lib.openSession(node, { auth, signal, timeoutMs: 10000 });
    say(`logged in in ${ms(t)} ms; negotiated parameters:`);
    for (const [k, v] of Object.entries(session.parameters)) say(`  ${k.padEnd(26)} ${JSON.stringify(v)}`);

    say('\n== REPORT LUNS');
    const luns = await session.reportLuns({ signal });
    say(`  LUNs: ${luns.join(', ')}`);

    for (const lun of luns) {
      say(`\n== LUN ${lun}`);
      const inq = await session.inquiry(lun, { signal });
      say(`  INQUIRY: ${inq.vendor} ${inq.product} rev ${inq.revision}, type ${inq.deviceType} (${inq.deviceTypeName}), SPC version 0x${inq.version.toString(16)}`);
      if (inq.deviceType === 0) {
        const cap = await session.readCapacity(lun, { signal });
        const mib = Number(cap.bytes) / (1024 * 1024);
        say(`  READ CAPACITY: ${cap.blocks} blocks x ${cap.blockLength} bytes = ${cap.bytes} bytes (${mib} MiB), last LBA ${cap.lastLba}`);
      } else {
        say('  READ CAPACITY: skipped (not a direct-access block device)');
      }
    }

    say('\n== close');
    t = process.hrtime.bigint();
    const s = session;
    session = null;
    await s.close();
    say(`logged out in ${ms(t)} ms`);
    await cleanup();
    say('\ndemo OK');
  } catch (err) {
    const code = err && err.code ? ` [${err.code}]` : '';
    say(`\ndemo failed${code}: ${err && err.message ? err.message : err}`);
    if (tgtd && fs.existsSync(tgtd.logFile)) {
      say(`tgtd log (last lines):\n${fs.readFileSync(tgtd.logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
    }
    await cleanup();
    process.exitCode = 1;
  }
}

function ms(t0) {
  return (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);
}

main();
