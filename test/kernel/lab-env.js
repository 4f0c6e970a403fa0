'use strict';
/**
 * Parameters a kernel-lab phase hands to the guest tests: the phase writes
 * KEY=VALUE lines into a mode-0600 file in its results directory (never on a
 * command line: it holds CHAP secrets) and the guest script names that file
 * in KLAB_TEST_ENV. Test files read it with labEnv().
 *
 * phase-10-sessions.sh writes (all values without quotes):
 *   TGT_PORTAL=10.0.2.2:PORT  TGT_PORT=PORT          host tgtd as the guest reaches it
 *   TGT_IQN_NOAUTH=...        TGT_IQN_CHAP=...       targets (LUN 1 each)
 *   TGT_CHAP_USER/TGT_CHAP_PASS                      initiator's CHAP (target checks)
 *   TGT_CHAP_TUSER/TGT_CHAP_TPASS                    target's CHAP (mutual)
 *   TGT_BACKING_NOAUTH=/path  TGT_BACKING_CHAP=/path LUN backing files, readable in
 *                                                    the guest (host root over 9p)
 *   TGT_LUN_MIB=32                                   LUN size
 */
const fs = require('node:fs');

let cached;

function labEnv() {
  if (cached) return cached;
  const file = process.env.KLAB_TEST_ENV;
  if (!file) throw new Error('KLAB_TEST_ENV is not set: run kernel tests through `npm run test:kernel`');
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed line in ${file} (no KEY=)`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  cached = Object.freeze(out);
  return cached;
}

/** A required key; throws (naming the key, never a value) when missing. */
function need(key) {
  const v = labEnv()[key];
  if (v === undefined || v === '') throw new Error(`${key} missing from ${process.env.KLAB_TEST_ENV}`);
  return v;
}

module.exports = { labEnv, need };
