'use strict';
/**
 * Issue 5, the real-firmware proof. Runs INSIDE the kernel lab after qemu's
 * iPXE ROM sanhooked the phase's targets and booted the lab kernel
 * (test/kernel-lab/phase-20-firmware.sh): the iBFT is real firmware output.
 * Compares our readers (the compiled library in dist/) with open-iscsi's
 * own reader, `iscsiadm -m fw`, on the same table, and with what the phase
 * configured (the 0600 file named by KLAB_TEST_ENV):
 *   - discoverFirmware() from /sys/firmware/ibft: targets, addresses,
 *     ports, LUN, CHAP names and secrets (secrets compared in-process with
 *     assert.ok and fixed messages: never printed);
 *   - getFirmwareNetworkConfig() vs iscsiadm's iface.* values;
 *   - getFirmwareInitiatorName() vs iface.initiatorname;
 *   - the raw-table source (UEFI: /sys/firmware/acpi/tables/iBFT; BIOS: the
 *     low-memory table read from /dev/mem) gives the same results;
 *   - util.inspect / JSON of everything returned shows no secret;
 *   - login() of the firmware nodes through iscsid, once lib.login exists.
 *
 *   node --test --test-reporter=spec test/kernel/firmware-ipxe.test.js
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { inspect } = require('node:util');
const { recordToApi } = require('./firmware-iscsiadm-fw');
const lab = require('./firmware-lab');

const REPO = path.resolve(__dirname, '..', '..');
const lib = require(path.join(REPO, 'dist', 'index.js'));

const env = lab.readLabEnv();
const MODE = env.FW_MODE; // 'bios' | 'uefi'
const expected = lab.expectedTargets(env);
const secrets = lab.allSecrets(env);

/** Secret equality without ever putting a secret into a message. */
function sameSecret(actual, wanted, what) {
  assert.ok(typeof actual === 'string' && actual === wanted, `${what} differs (values not shown)`);
}

/** Auth equality: names shown on mismatch (not secret), secrets never. */
function sameAuth(actual, wanted, what) {
  assert.ok(actual, `${what}: no auth`);
  assert.equal(actual.username, wanted.username, `${what}: username`);
  sameSecret(actual.password, wanted.password, `${what}: password`);
  assert.equal(actual.reverseUsername, wanted.reverseUsername, `${what}: reverseUsername`);
  if (wanted.reversePassword === undefined) assert.equal(actual.reversePassword, undefined, `${what}: unexpected reversePassword`);
  else sameSecret(actual.reversePassword, wanted.reversePassword, `${what}: reversePassword`);
}

/** Fails if any secret appears in `text` (the text is not shown). */
function noSecretIn(text, what) {
  for (const s of secrets) assert.ok(!text.includes(s), `${what} shows a CHAP secret (output not shown)`);
}

/** FirmwareNode without auth (safe to diff) and without `source`. */
function plain(node) {
  const { auth, source, ...rest } = node;
  return rest;
}

let fw; // iscsiadm records, as API shapes
let sysNodes;
let sysNet;
let sysIqn;

test.before(async () => {
  fw = lab.iscsiadmFw().map(recordToApi);
  sysNodes = await lib.discoverFirmware();
  sysNet = await lib.getFirmwareNetworkConfig();
  sysIqn = await lib.getFirmwareInitiatorName();
});

test(`${MODE}: iPXE left an iBFT that the kernel and iscsiadm -m fw see`, () => {
  assert.ok(fs.existsSync('/sys/firmware/ibft/initiator'), '/sys/firmware/ibft/initiator missing');
  assert.equal(fw.length, expected.length, 'iscsiadm -m fw record count = sanhook count');
  assert.deepEqual(
    fw.map((r) => r.node.target),
    expected.map((t) => t.target),
    'iscsiadm targets in sanhook order',
  );
  if (MODE === 'uefi') assert.ok(fs.existsSync('/sys/firmware/acpi/tables/iBFT'), 'UEFI: no ACPI iBFT');
  else assert.ok(!fs.existsSync('/sys/firmware/acpi/tables/iBFT'), 'BIOS: unexpected ACPI iBFT');
});

test(`${MODE}: discoverFirmware() (sysfs) equals iscsiadm -m fw`, () => {
  assert.equal(sysNodes.length, fw.length, 'node count');
  for (const [i, ref] of fw.entries()) {
    const n = sysNodes[i];
    const what = `target${i} ${ref.node.target}`;
    assert.equal(n.source, 'ibft', `${what}: source`);
    // Every field iscsiadm prints, in our names.
    assert.deepEqual(
      { target: n.target, address: n.address, port: n.port, tpgt: n.tpgt, iface: n.iface, lunText: n.lunText, ifaceName: n.ifaceName },
      ref.node,
      `${what}: node fields`,
    );
    sameAuth(n.auth, ref.auth, `${what} vs iscsiadm`);
  }
});

test(`${MODE}: discoverFirmware() equals what iPXE was told`, () => {
  for (const [i, want] of expected.entries()) {
    const n = sysNodes[i];
    const what = `target${i} (${want.kind})`;
    assert.equal(n.target, want.target, `${what}: target`);
    assert.equal(n.address, want.address, `${what}: address`);
    assert.equal(n.port, want.port, `${what}: port`);
    assert.equal(n.lun, want.lun, `${what}: lun`);
    assert.equal(n.nic, 0, `${what}: nic`);
    assert.equal(n.ifaceName, 'eth0', `${what}: ifaceName`);
    sameAuth(n.auth, want, `${what} vs sanhook settings`);
    // chap-type as the kernel shows it: 2 mutual, 1 one-way.
    assert.equal(lab.ibftAttr(`target${i}/chap-type`), want.kind === 'mutual' ? '2' : '1', `${what}: chap-type`);
  }
});

test(`${MODE}: getFirmwareNetworkConfig() equals iscsiadm's iface.*`, () => {
  assert.ok(sysNet, 'no network config');
  for (const [i, ref] of fw.entries()) {
    const what = `record ${i}`;
    assert.deepEqual(
      {
        bootproto: sysNet.bootproto,
        ifaceName: sysNet.ifaceName,
        mac: sysNet.mac,
        ip: sysNet.ip,
        prefixLength: sysNet.prefixLength,
        netmask: sysNet.netmask,
        gateway: sysNet.gateway,
        dns: sysNet.dns,
        vlan: sysNet.vlan,
      },
      ref.net,
      `${what}: iface.* values`,
    );
  }
  // What qemu's user-network DHCP gave iPXE, and eth0's real MAC.
  assert.equal(sysNet.ip, '10.0.2.15');
  assert.equal(sysNet.gateway, '10.0.2.2');
  assert.equal(sysNet.bootproto, 'DHCP');
  assert.equal(sysNet.source, 'ibft');
  assert.equal(sysNet.mac, fs.readFileSync('/sys/class/net/eth0/address', 'utf8').trim());
  noSecretIn(inspect(sysNet, { depth: null }) + JSON.stringify(sysNet), 'network config');
});

test(`${MODE}: getFirmwareInitiatorName() equals iface.initiatorname`, () => {
  for (const ref of fw) assert.equal(sysIqn, ref.initiatorName);
  assert.equal(sysIqn, env.FW_INITIATOR);
});

test(`${MODE}: secrets are redacted in util.inspect and JSON`, async () => {
  const shown = inspect(sysNodes, { depth: null }) + JSON.stringify(sysNodes) + String(sysNodes.map((n) => inspect(n.auth)));
  noSecretIn(shown, 'discoverFirmware() output');
  assert.ok(shown.includes('[redacted]'), 'no [redacted] marker');
  assert.ok(shown.includes(expected[0].username), 'CHAP user names stay visible');
  // The iscsiadm side of this test redacts too (an assertion diff of it
  // must not print secrets either).
  noSecretIn(inspect(fw, { depth: null }) + JSON.stringify(fw), 'parsed iscsiadm records');
  const table = await lib.readFirmwareTable(MODE === 'uefi' ? {} : { path: lowmemFile() });
  noSecretIn(inspect(table, { depth: null }) + JSON.stringify(table), 'readFirmwareTable() output');
});

let lowmem;
function lowmemFile() {
  if (lowmem) return lowmem;
  const f = path.join(os.tmpdir(), 'fw-lowmem-iBFT.bin');
  const addr = lab.dumpLowmemTable(f);
  assert.ok(addr !== null, 'BIOS: the kernel logged no "iBFT found at" address');
  lowmem = f;
  return f;
}

test(`${MODE}: the raw table (${MODE === 'uefi' ? 'ACPI' : '/dev/mem dump'}) gives the same results`, async () => {
  let table;
  if (MODE === 'uefi') {
    table = await lib.readFirmwareTable();
    assert.ok(table, 'readFirmwareTable() found no ACPI table');
    assert.equal(table.path, '/sys/firmware/acpi/tables/iBFT');
  } else {
    // A BIOS boot exposes no ACPI table: readFirmwareTable() is null.
    assert.equal(await lib.readFirmwareTable(), null, 'BIOS: readFirmwareTable() should be null');
    table = await lib.readFirmwareTable({ path: lowmemFile() });
  }
  assert.equal(table.signature, 'iBFT');
  assert.equal(table.oemId, 'FENSYS');
  assert.equal(table.oemTableId, 'iPXE');
  assert.equal(table.initiator.name, env.FW_INITIATOR);
  assert.equal(table.targets.length, expected.length, 'raw target count');
  for (const [i, t] of table.targets.entries()) {
    const what = `raw target${i}`;
    // Raw fields agree with the kernel's own rendering of the same bytes.
    assert.equal(t.lunSysfs, lab.ibftAttr(`target${i}/lun`), `${what}: lun text vs sysfs`);
    assert.equal(t.chapType, Number(lab.ibftAttr(`target${i}/chap-type`)), `${what}: chap type`);
    assert.equal(t.flags, Number(lab.ibftAttr(`target${i}/flags`)), `${what}: flags`);
    assert.equal(t.lun, expected[i].lun, `${what}: exact LUN`);
  }
  assert.equal(table.nics[0].mac, lab.ibftAttr('ethernet0/mac'));
  assert.equal(table.nics[0].origin, Number(lab.ibftAttr('ethernet0/origin')));

  // Force the raw-table source: a root with only the table (+ interface
  // MACs), as on a system without the iscsi_ibft module.
  const root = lab.rawTableRoot(path.join(os.tmpdir(), 'fw-raw-root'), fs.readFileSync(table.path));
  const rawNodes = await lib.discoverFirmware({ root });
  assert.equal(rawNodes.length, sysNodes.length);
  for (const [i, n] of rawNodes.entries()) {
    assert.equal(n.source, 'acpi:iBFT');
    assert.deepEqual(plain(n), plain(sysNodes[i]), `raw vs sysfs node ${i}`);
    sameAuth(n.auth, sysNodes[i].auth, `raw vs sysfs node ${i}`);
  }
  const rawNet = await lib.getFirmwareNetworkConfig({ root });
  assert.deepEqual({ ...rawNet, source: 'x' }, { ...sysNet, source: 'x' }, 'raw vs sysfs network config');
  assert.equal(await lib.getFirmwareInitiatorName({ root }), sysIqn);
  noSecretIn(inspect(rawNodes, { depth: null }) + JSON.stringify(rawNodes), 'raw-source nodes');
});

// ---------------------------------------------------------------------------
// LOGIN OF THE FIRMWARE NODES (issue 5, installer hand-off): the nodes go
// into the open-iscsi node DB (saveFirmwareNodes: discovery type fw, CHAP
// from the firmware; iscsiadm reads them back), then login(node) uses the
// firmware's CHAP, and a firmware node WITHOUT CHAP saved over them never
// clears the stored credentials. sessions()/logout() end it.
// ---------------------------------------------------------------------------
test(
  `${MODE}: firmware nodes saved to the node DB, login() with the firmware's CHAP gives a /dev/sdX, logout() ends it`,
  { timeout: 120000 },
  async () => {
    const saved = await lib.saveFirmwareNodes(sysNodes);
    assert.equal(saved.length, sysNodes.length);
    for (const node of sysNodes) {
      const rec = await lib.nodes.get({ target: node.target, address: node.address, port: node.port, tpgt: 1 });
      assert.equal(rec['node.discovery_type'], 'fw');
      assert.equal(rec['node.session.auth.username'], node.auth ? node.auth.username : '');
      assert.equal(rec['node.session.auth.password'] === (node.auth ? node.auth.password : ''), true, 'stored secret differs');
      // Rediscovery from a firmware without CHAP must not clear them.
      await lib.saveFirmwareNodes([{ ...node, auth: undefined }]);
      const again = await lib.nodes.getAuth({ target: node.target, address: node.address, port: node.port, tpgt: 1 });
      if (node.auth) assert.equal(again && again.username, node.auth.username, 'CHAP cleared by a firmware node without CHAP');
    }
    const listed = require('node:child_process').execFileSync('iscsiadm', ['-m', 'node'], { encoding: 'utf8' });
    for (const node of sysNodes) assert.ok(listed.includes(node.target), `iscsiadm -m node does not list ${node.target}`);
    assert.equal(typeof lib.sessions, 'function', 'lib.sessions missing');
    assert.equal(typeof lib.logout, 'function', 'lib.logout missing');
    const stop = await lab.startIscsid(path.join(process.env.KLAB_RESULTS, 'iscsid.log'));
    try {
      for (const node of sysNodes) {
        const what = `${node.target} (${node.address}:${node.port})`;
        // The table says 10.0.2.2 (iPXE's view of the host), which the
        // guest reaches directly.
        // No options: the stored node (and the FirmwareNode's own auth) carry the CHAP.
        await lib.login({ target: node.target, address: node.address, port: node.port, tpgt: 1, iface: node.iface });
        let session;
        let disk;
        const deadline = Date.now() + 30000;
        while (Date.now() < deadline) {
          session = (await lib.sessions()).find((s) => s.target === node.target && s.address === node.address && s.port === node.port);
          disk = session?.disks.find((d) => d.lun === node.lun && d.device);
          if (disk) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.ok(session, `${what}: no kernel session after login()`);
        assert.equal(session.state, 'LOGGED_IN', `${what}: session state`);
        assert.ok(disk, `${what}: LUN ${node.lun} has no block device`);
        assert.match(disk.device, /^\/dev\/sd[a-z]+$/, `${what}: device`);
        assert.ok(fs.existsSync(disk.device), `${what}: ${disk.device} missing`);
        await lib.logout(session);
        const after = (await lib.sessions()).find((s) => s.sid === session.sid);
        assert.equal(after, undefined, `${what}: session ${session.sid} still there after logout()`);
      }
    } finally {
      await stop();
    }
  },
);
