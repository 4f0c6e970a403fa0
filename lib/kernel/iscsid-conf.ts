/**
 * /etc/iscsi/iscsid.conf: the administrator's defaults for new node records
 * (node.*), discovery records (discovery.*) and iscsid itself (iscsid.*).
 *
 * Format (open-iscsi 2.1.8 idbm_recinfo_config(), usr/idbm.c:1209-1272):
 * one "key = value" per line, blank lines and lines starting with '#'
 * ignored, white space around key and value stripped; a line without '=',
 * without a value or longer than the 2048-byte line buffer is skipped with
 * a warning. We skip the same lines (an admin's typo must not stop logins,
 * as it does not stop iscsiadm).
 *
 * Where it lives: CONFIG_FILE "/etc/iscsi/iscsid.conf" (usr/idbm.h; the
 * path iscsid answers to MGMT_IPC_CONFIG_FILE and Debian 12's iscsiadm
 * binary contains). Debian/Ubuntu, Fedora/RHEL (which moved the node DB to
 * /var/lib/iscsi but kept the config in /etc/iscsi) and SUSE all install it
 * there; no distro we could verify uses another path, so it is the only
 * candidate.
 */
import { promises as fsp } from 'node:fs';
import { ErrorCodes, IscsiError } from '../errors';
import { type Budget, fsError, makeBudget, underRoot } from './db-lock';
import {
  MAX_LINE_BYTES,
  type NodeRecord,
  isNodeKey,
  makeRedacted,
  nodeValueProblem,
  splitConfigLine,
} from './node-record';

export const ISCSID_CONF = '/etc/iscsi/iscsid.conf';
export const ISCSID_CONF_CANDIDATES: readonly string[] = [ISCSID_CONF];
/** Debian's file is 14 KB; anything beyond 1 MiB is not a config file. */
export const MAX_ISCSID_CONF_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface ConfOptions {
  root?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The iscsid.conf path under `root`, or null when there is none. */
export async function findIscsidConf(root?: string): Promise<string | null> {
  for (const p of ISCSID_CONF_CANDIDATES) {
    const full = underRoot(root, p);
    try {
      const st = await fsp.stat(full);
      if (st.isFile()) return full;
    } catch {
      // absent or unreadable directory: try the next candidate
    }
  }
  return null;
}

/**
 * Parses iscsid.conf text. Pure; every key is kept (node.*, iface.*,
 * discovery.*, iscsid.*), later lines win. Secrets (…auth.password*) stay
 * readable but are redacted in util.inspect/JSON.
 */
export function parseIscsidConf(text: string): NodeRecord {
  const out: NodeRecord = {};
  if (typeof text !== 'string') return makeRedacted(out);
  const body = text.length > MAX_ISCSID_CONF_BYTES ? text.slice(0, MAX_ISCSID_CONF_BYTES) : text;
  for (const raw of body.split('\n')) {
    if (raw.length > MAX_LINE_BYTES || raw.includes('\0')) continue;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const kv = splitConfigLine(line);
    if (!kv || kv.value === '') continue;
    if (kv.key === '__proto__' || kv.key === 'constructor' || kv.key === 'prototype') continue;
    out[kv.key] = kv.value;
  }
  return makeRedacted(out);
}

/**
 * The node-record part of a parsed iscsid.conf: the keys iscsiadm would
 * apply to a new record (every 2.1.8 node key present in the file), with
 * values it could store. A value the record cannot hold (e.g.
 * "node.startup = sometimes") is dropped, so the built-in default stays —
 * what iscsiadm does for enum values (it warns and keeps the default).
 */
export function nodeDefaultsFromConf(conf: Readonly<NodeRecord>): NodeRecord {
  const out: NodeRecord = {};
  for (const [key, value] of Object.entries(conf)) {
    if (!isNodeKey(key)) continue;
    if (nodeValueProblem(key, value) !== null) continue;
    out[key] = value;
  }
  return makeRedacted(out);
}

/** Reads and parses iscsid.conf under options.root; {} when it does not exist. */
export async function readIscsidConf(options: ConfOptions = {}): Promise<NodeRecord> {
  const budget = makeBudget(options, 'read iscsid.conf', DEFAULT_TIMEOUT_MS);
  return readIscsidConfWith(options.root, budget);
}

/** readIscsidConf under an existing budget (used by node-db). */
export async function readIscsidConfWith(root: string | undefined, budget: Budget): Promise<NodeRecord> {
  budget.check();
  const file = await findIscsidConf(root);
  if (file === null) return makeRedacted({});
  let text: string;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const st = await fh.stat();
      if (st.size > MAX_ISCSID_CONF_BYTES) {
        throw new IscsiError(ErrorCodes.CONFIG_ERROR, `${file} is larger than ${MAX_ISCSID_CONF_BYTES} bytes`);
      }
      const buf = Buffer.alloc(Math.min(st.size, MAX_ISCSID_CONF_BYTES));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
      buf.fill(0); // may hold CHAP secrets
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof IscsiError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return makeRedacted({});
    throw fsError(err, `could not read ${file}`);
  }
  budget.check();
  return parseIscsidConf(text);
}
