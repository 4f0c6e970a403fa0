'use strict';
/**
 * Guest-side helper for kernel-lab tests: configures the guest kernel's own
 * LIO iSCSI target (iscsi_target_mod) through configfs, so a test has a
 * second, independent target implementation on 127.0.0.1 inside the guest.
 *
 * Only for the kernel lab (test/kernel-lab/): it writes the live
 * /sys/kernel/config of the machine it runs on, so it refuses to run
 * unless KLAB_GUEST=1.
 *
 * configfs layout used (Linux drivers/target/iscsi/iscsi_target_configfs.c
 * and drivers/target/target_core_configfs.c, as in Debian 12's 6.1 kernel):
 *   target/core/rd_mcp_N/NAME/{control,enable}       ramdisk backstore
 *                                                    ("rd_pages=N" pages of 4 KiB)
 *   target/iscsi/IQN/tpgt_T/{enable,attrib/*}         target portal group
 *   target/iscsi/IQN/tpgt_T/np/ADDR:PORT/             network portal (mkdir = listen)
 *   target/iscsi/IQN/tpgt_T/lun/lun_L/NAME -> core/.. LUN (symlink to the backstore)
 *   target/iscsi/discovery_auth/{userid,password,userid_mutual,password_mutual,
 *                               enforce_discovery_auth,authenticate_target}
 * Facts that shape this module:
 *  - The auth string attributes store the written bytes verbatim (snprintf
 *    of the page), so values are written without a trailing newline; the
 *    literal "NULL" clears an attribute's "set" flag.
 *  - authenticate_target (read-only) becomes 1 when both userid_mutual and
 *    password_mutual are set: the target then insists on mutual CHAP.
 *  - enforce_discovery_auth=1 narrows the discovery TPG's AuthMethod to
 *    "CHAP"; 0 restores "CHAP,None".
 *  - The fabric directory target/iscsi appears on the first mkdir.
 * Secrets are written straight to configfs and never logged.
 */
const fs = require('node:fs');
const path = require('node:path');

const TARGET = '/sys/kernel/config/target';
const ISCSI = path.join(TARGET, 'iscsi');
const DISCOVERY_AUTH = path.join(ISCSI, 'discovery_auth');

function assertGuest() {
  if (process.env.KLAB_GUEST !== '1') {
    throw new Error('test/kernel/lio.js configures the running kernel\'s LIO target: only inside the kernel lab guest (KLAB_GUEST=1)');
  }
}

/** One write per attribute, no newline (see the header). */
function writeAttr(file, value) {
  fs.writeFileSync(file, String(value));
}

function readAttr(file) {
  return fs.readFileSync(file, 'utf8').trim();
}

/** Makes sure configfs and the iSCSI fabric are there; returns the LIO version line. */
function ensureFabric() {
  assertGuest();
  if (!fs.existsSync(TARGET)) {
    throw new Error(`${TARGET} missing: configfs not mounted or target_core_mod not loaded`);
  }
  if (!fs.existsSync(ISCSI)) fs.mkdirSync(ISCSI);
  if (!fs.existsSync(DISCOVERY_AUTH)) {
    throw new Error(`${DISCOVERY_AUTH} missing: iscsi_target_mod not loaded`);
  }
  return readAttr(path.join(ISCSI, 'lio_version'));
}

/**
 * Creates a ramdisk LUN 0 behind target `iqn` listening on `address:port`
 * (TPG 1, demo mode: generated ACLs, writable, no per-session CHAP).
 * Returns a handle for removeTarget().
 */
function createTarget({ iqn, address = '127.0.0.1', port = 3260, sizeMiB = 8, rdName = 'klab_rd0' }) {
  ensureFabric();
  const t = {
    iqn,
    rd: path.join(TARGET, 'core', 'rd_mcp_0', rdName),
    tiqn: path.join(ISCSI, iqn),
    tpg: path.join(ISCSI, iqn, 'tpgt_1'),
    np: path.join(ISCSI, iqn, 'tpgt_1', 'np', `${address}:${port}`),
    lun: path.join(ISCSI, iqn, 'tpgt_1', 'lun', 'lun_0'),
  };
  fs.mkdirSync(t.rd, { recursive: true });
  writeAttr(path.join(t.rd, 'control'), `rd_pages=${sizeMiB * 256}`);
  writeAttr(path.join(t.rd, 'enable'), 1);
  fs.mkdirSync(t.tpg, { recursive: true });
  fs.mkdirSync(t.lun);
  fs.symlinkSync(t.rd, path.join(t.lun, rdName));
  fs.mkdirSync(t.np);
  const attrib = path.join(t.tpg, 'attrib');
  writeAttr(path.join(attrib, 'authentication'), 0);
  writeAttr(path.join(attrib, 'generate_node_acls'), 1);
  writeAttr(path.join(attrib, 'demo_mode_write_protect'), 0);
  writeAttr(path.join(t.tpg, 'enable'), 1);
  t.rdName = rdName;
  return t;
}

function rmdirIfPresent(dir) {
  if (fs.existsSync(dir)) fs.rmdirSync(dir);
}

/** Undoes createTarget() (reverse order; configfs removes attribute files itself). */
function removeTarget(t) {
  assertGuest();
  if (fs.existsSync(path.join(t.tpg, 'enable'))) writeAttr(path.join(t.tpg, 'enable'), 0);
  const link = path.join(t.lun, t.rdName);
  if (fs.existsSync(link) || isSymlink(link)) fs.unlinkSync(link);
  rmdirIfPresent(t.lun);
  rmdirIfPresent(t.np);
  rmdirIfPresent(t.tpg);
  rmdirIfPresent(t.tiqn);
  rmdirIfPresent(t.rd);
}

function isSymlink(p) {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Sets discovery authentication. Absent names/secrets are cleared
 * ("NULL"). `enforce` true makes CHAP mandatory for discovery sessions.
 */
function setDiscoveryAuth({ enforce, userid, password, useridMutual, passwordMutual }) {
  ensureFabric();
  // Disable enforcement first so no half-configured state is enforced.
  writeAttr(path.join(DISCOVERY_AUTH, 'enforce_discovery_auth'), 0);
  writeAttr(path.join(DISCOVERY_AUTH, 'userid'), userid ?? 'NULL');
  writeAttr(path.join(DISCOVERY_AUTH, 'password'), password ?? 'NULL');
  writeAttr(path.join(DISCOVERY_AUTH, 'userid_mutual'), useridMutual ?? 'NULL');
  writeAttr(path.join(DISCOVERY_AUTH, 'password_mutual'), passwordMutual ?? 'NULL');
  if (enforce) writeAttr(path.join(DISCOVERY_AUTH, 'enforce_discovery_auth'), 1);
}

/** Non-secret view of the discovery auth state, for assertions. */
function discoveryAuthState() {
  ensureFabric();
  return {
    enforce: readAttr(path.join(DISCOVERY_AUTH, 'enforce_discovery_auth')) === '1',
    authenticateTarget: readAttr(path.join(DISCOVERY_AUTH, 'authenticate_target')) === '1',
    userid: readAttr(path.join(DISCOVERY_AUTH, 'userid')),
  };
}

/** Back to LIO's defaults: no discovery CHAP, not enforced. */
function clearDiscoveryAuth() {
  setDiscoveryAuth({ enforce: false });
}

module.exports = {
  ensureFabric,
  createTarget,
  removeTarget,
  setDiscoveryAuth,
  clearDiscoveryAuth,
  discoveryAuthState,
};
