'use strict';
/**
 * Discovery CHAP against the guest kernel's own LIO iSCSI target: a second
 * target implementation besides tgtd, configured through configfs
 * (test/kernel/lio.js) on 127.0.0.1:3260 inside the kernel-lab guest.
 *
 * Runs only in the kernel lab (test/kernel-lab/phase-10-sessions.sh boots
 * the guest and runs `node --test` on test/kernel/*.test.js); outside it,
 * it fails at load time instead of touching the host's configfs.
 *
 * What LIO does that these tests pin down (Linux 6.1,
 * drivers/target/iscsi/iscsi_target_auth.c / iscsi_target_nego.c /
 * iscsi_target_configfs.c):
 *  - discovery_auth/{userid,password} are what the INITIATOR must prove
 *    (the target checks CHAP_N/CHAP_R against them); {userid,password}_mutual
 *    is what the target answers with when the initiator challenges it.
 *  - enforce_discovery_auth=1 makes the discovery TPG offer AuthMethod=CHAP
 *    only, so an initiator offering only None cannot log in.
 */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

if (process.env.KLAB_GUEST !== '1') {
  throw new Error('discovery-lio.test.js runs only inside the kernel lab guest: use `npm run test:kernel`');
}

const lib = require('../../dist');
const lio = require('./lio');

const { discoverSendTargets } = lib;
const PORTAL = '127.0.0.1:3260';
const TARGET_IQN = 'iqn.2026-11.test.klab:lio-discovery';
const INITIATOR = 'iqn.2026-11.test.klab:lio-initiator';
const TIMEOUT_MS = 20000;

// Fresh secrets per run (12..16 bytes is what LIO and open-iscsi accept
// without complaint; CHAP secrets here are printable ASCII).
const secret = () => crypto.randomBytes(9).toString('base64url');
const CRED = {
  user: 'klab-disc-user',
  pass: secret(),
  tuser: 'klab-disc-target',
  tpass: secret(),
};

let target;

before(() => {
  const version = lio.ensureFabric();
  assert.match(version, /iSCSI Target/, 'LIO fabric (iscsi_target_mod) present');
  target = lio.createTarget({ iqn: TARGET_IQN, address: '127.0.0.1', port: 3260, sizeMiB: 8 });
});

after(() => {
  // Tear LIO down whatever happened, so later test files see a clean kernel.
  try {
    lio.clearDiscoveryAuth();
  } finally {
    if (target) lio.removeTarget(target);
  }
  assert.equal(fs.existsSync(path.join('/sys/kernel/config/target/iscsi', TARGET_IQN)), false, 'LIO target removed');
});

function discover(auth) {
  return discoverSendTargets(PORTAL, { initiatorName: INITIATOR, timeoutMs: TIMEOUT_MS, ...(auth ? { auth } : {}) });
}

function assertListsTarget(found) {
  const mine = found.filter((d) => d.target === TARGET_IQN);
  assert.equal(mine.length, 1, `SendTargets lists ${TARGET_IQN} once: ${JSON.stringify(found)}`);
  assert.deepEqual(mine[0], { target: TARGET_IQN, address: '127.0.0.1', port: 3260, tpgt: 1, iface: 'default' });
}

/** Awaits a rejection and returns the error (assert.rejects hides it). */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the discovery to fail');
}

test('LIO without discovery auth: anonymous discovery lists the target', async () => {
  lio.clearDiscoveryAuth();
  assert.deepEqual(lio.discoveryAuthState(), { enforce: false, authenticateTarget: false, userid: 'NULL' });
  assertListsTarget(await discover());
});

test('one-way discovery CHAP (enforced) succeeds and lists the target', async () => {
  lio.setDiscoveryAuth({ enforce: true, userid: CRED.user, password: CRED.pass });
  const st = lio.discoveryAuthState();
  assert.equal(st.enforce, true);
  assert.equal(st.authenticateTarget, false);
  assertListsTarget(await discover({ username: CRED.user, password: CRED.pass }));
});

test('one-way discovery CHAP with a wrong secret: ISCSI_AUTH_FAILED', async () => {
  lio.setDiscoveryAuth({ enforce: true, userid: CRED.user, password: CRED.pass });
  const err = await rejection(discover({ username: CRED.user, password: `${CRED.pass}x` }));
  assert.equal(err.code, 'ISCSI_AUTH_FAILED', `got ${err.code}: ${err.message}`);
  assert.equal(err.statusClass, 2, 'initiator error class');
  assert.equal(err.statusDetail, 1, 'authentication failure detail');
  assert.ok(!err.message.includes(CRED.pass), 'secret not in the message');
});

test('one-way discovery CHAP with a wrong user name: ISCSI_AUTH_FAILED', async () => {
  lio.setDiscoveryAuth({ enforce: true, userid: CRED.user, password: CRED.pass });
  const err = await rejection(discover({ username: `${CRED.user}-other`, password: CRED.pass }));
  assert.equal(err.code, 'ISCSI_AUTH_FAILED', `got ${err.code}: ${err.message}`);
});

test('no credentials while discovery auth is enforced: LIO drops the connection (ISCSI_SESSION_CLOSED)', async () => {
  lio.setDiscoveryAuth({ enforce: true, userid: CRED.user, password: CRED.pass });
  const err = await rejection(discover());
  // Without credentials we offer AuthMethod=None only. LIO's discovery TPG
  // offers "CHAP" only when enforced; iscsi_target_handle_csg_zero()
  // (drivers/target/iscsi/iscsi_target_nego.c, 6.1) returns -1 when
  // iscsi_decode_text_input() finds no common value ("Proposer's value list
  // "None" contains no valid values ...") WITHOUT sending a Login Response,
  // so there is no status class/detail to map: the target just closes the
  // connection, which the library reports as ISCSI_SESSION_CLOSED.
  assert.equal(err.code, 'ISCSI_SESSION_CLOSED', `got ${err.code} (class ${err.statusClass}, detail ${err.statusDetail}): ${err.message}`);
  assert.equal(err.statusClass, undefined, 'LIO sent no login status');
});

test('mutual discovery CHAP succeeds and lists the target', async () => {
  lio.setDiscoveryAuth({
    enforce: true,
    userid: CRED.user,
    password: CRED.pass,
    useridMutual: CRED.tuser,
    passwordMutual: CRED.tpass,
  });
  assert.equal(lio.discoveryAuthState().authenticateTarget, true);
  assertListsTarget(
    await discover({ username: CRED.user, password: CRED.pass, reverseUsername: CRED.tuser, reversePassword: CRED.tpass }),
  );
});

test('mutual discovery CHAP, wrong target secret on our side: the initiator refuses the target (ISCSI_AUTH_FAILED)', async () => {
  lio.setDiscoveryAuth({
    enforce: true,
    userid: CRED.user,
    password: CRED.pass,
    useridMutual: CRED.tuser,
    passwordMutual: CRED.tpass,
  });
  const err = await rejection(
    discover({ username: CRED.user, password: CRED.pass, reverseUsername: CRED.tuser, reversePassword: `${CRED.tpass}x` }),
  );
  assert.equal(err.code, 'ISCSI_AUTH_FAILED', `got ${err.code}: ${err.message}`);
  // The target accepted us; it is our library that rejects the target's
  // CHAP_R, so there is no login status from the target.
  assert.equal(err.statusClass, undefined, `no target status expected, got class ${err.statusClass}`);
  assert.ok(!err.message.includes(CRED.tpass), 'secret not in the message');
});

test('mutual discovery CHAP, wrong target user name on our side: ISCSI_AUTH_FAILED', async () => {
  lio.setDiscoveryAuth({
    enforce: true,
    userid: CRED.user,
    password: CRED.pass,
    useridMutual: CRED.tuser,
    passwordMutual: CRED.tpass,
  });
  const err = await rejection(
    discover({ username: CRED.user, password: CRED.pass, reverseUsername: `${CRED.tuser}-other`, reversePassword: CRED.tpass }),
  );
  assert.equal(err.code, 'ISCSI_AUTH_FAILED', `got ${err.code}: ${err.message}`);
});

test('target configured for mutual CHAP, initiator one-way only: LIO accepts (mutual is the initiator\'s choice)', async () => {
  lio.setDiscoveryAuth({
    enforce: true,
    userid: CRED.user,
    password: CRED.pass,
    useridMutual: CRED.tuser,
    passwordMutual: CRED.tpass,
  });
  // authenticate_target=1 only means LIO CAN answer a challenge: when the
  // initiator sends no CHAP_I/CHAP_C, chap_server_compute_hash()
  // (iscsi_target_auth.c) finishes as one-way authentication.
  assertListsTarget(await discover({ username: CRED.user, password: CRED.pass }));
});

test('initiator asks for mutual CHAP, target has no mutual credentials: ISCSI_AUTH_FAILED', async () => {
  lio.setDiscoveryAuth({ enforce: true, userid: CRED.user, password: CRED.pass });
  assert.equal(lio.discoveryAuthState().authenticateTarget, false);
  const err = await rejection(
    discover({ username: CRED.user, password: CRED.pass, reverseUsername: CRED.tuser, reversePassword: CRED.tpass }),
  );
  assert.equal(err.code, 'ISCSI_AUTH_FAILED', `got ${err.code} (class ${err.statusClass}, detail ${err.statusDetail}): ${err.message}`);
});

test('cross-check: Debian iscsiadm discovery with the same LIO discovery CHAP', async () => {
  lio.setDiscoveryAuth({
    enforce: true,
    userid: CRED.user,
    password: CRED.pass,
    useridMutual: CRED.tuser,
    passwordMutual: CRED.tpass,
  });
  const good = iscsiadmDiscover({ user: CRED.user, pass: CRED.pass, tuser: CRED.tuser, tpass: CRED.tpass });
  assert.equal(good.status, 0, `iscsiadm discovery failed (${good.status}): ${good.output}`);
  assert.match(good.output, new RegExp(`^127\\.0\\.0\\.1:3260,1 ${TARGET_IQN.replace(/\./g, '\\.')}$`, 'm'));
  const bad = iscsiadmDiscover({ user: CRED.user, pass: `${CRED.pass}x`, tuser: CRED.tuser, tpass: CRED.tpass });
  // open-iscsi 2.1.8 usr/iscsi_err.h: ISCSI_ERR_LOGIN_AUTH_FAILED = 24.
  assert.equal(bad.status, 24, `iscsiadm with a wrong secret: want exit 24, got ${bad.status}: ${bad.output}`);
});

/**
 * Runs `iscsiadm -m discovery -t st -p 127.0.0.1:3260` in a private mount
 * namespace whose /etc/iscsi is a scratch directory: the discovery CHAP
 * settings come from its iscsid.conf (mode 0600), never from a command
 * line, and the guest's real node database is untouched.
 */
function iscsiadmDiscover({ user, pass, tuser, tpass }) {
  // iscsiadm gets the initiator name (and runs the discovery login) through
  // iscsid; the kernel-lab phase starts it.
  const unix = fs.readFileSync('/proc/net/unix', 'utf8');
  assert.ok(unix.includes('@ISCSIADM_ABSTRACT_NAMESPACE'), 'iscsid must be running for the iscsiadm cross-check');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lio-iscsiadm-'));
  try {
    fs.writeFileSync(path.join(dir, 'initiatorname.iscsi'), `InitiatorName=${INITIATOR}\n`);
    fs.writeFileSync(
      path.join(dir, 'iscsid.conf'),
      [
        'discovery.sendtargets.auth.authmethod = CHAP',
        `discovery.sendtargets.auth.username = ${user}`,
        `discovery.sendtargets.auth.password = ${pass}`,
        `discovery.sendtargets.auth.username_in = ${tuser}`,
        `discovery.sendtargets.auth.password_in = ${tpass}`,
        'discovery.sendtargets.timeo.login_timeout = 15',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$1" /etc/iscsi && exec iscsiadm -m discovery -t st -p 127.0.0.1:3260',
        'iscsiadm-discovery',
        dir,
      ],
      { encoding: 'utf8', timeout: 60000 },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
