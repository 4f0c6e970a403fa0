/**
 * open-iscsi iface records (<dbroot>/ifaces/<name>), read only: a node bound
 * to a non-default iface copies that iface's iface.* values into its own
 * record when iscsiadm creates it (idbm_bind_ifaces_to_nodes / iface_copy,
 * open-iscsi 2.1.8). Same text format as node records (idbm_recinfo_iface()).
 *
 * Built-in ifaces that need no file (usr/iface.c 2.1.8 "default" and
 * "iser"): default = software iSCSI over tcp, iser = transport iser.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, IscsiError } from '../errors';
import { fsError } from './db-lock';
import { MAX_RECORD_BYTES, type NodeRecord, parseNodeRecord } from './node-record';

export const DEFAULT_IFACE = 'default';
const BUILTIN: Readonly<Record<string, NodeRecord>> = {
  default: { 'iface.iscsi_ifacename': 'default', 'iface.transport_name': 'tcp' },
  iser: { 'iface.iscsi_ifacename': 'iser', 'iface.transport_name': 'iser' },
};

/** open-iscsi's ISCSI_MAX_IFACE_LEN is 65 including the NUL. */
export function ifaceNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (name.length > 64) return 'must be at most 64 characters';
  if (name === '.' || name === '..' || !/^[A-Za-z0-9_.:-]+$/.test(name)) {
    return 'must be letters, digits, "_", ".", ":" or "-" (it is a file name in the node DB)';
  }
  return null;
}

/**
 * The iface.* values a node bound to `name` gets: the built-in record for
 * "default"/"iser" when no file overrides it, else the parsed file.
 * Throws ISCSI_CONFIG_ERROR when a non-built-in iface has no record.
 */
export async function readIfaceRecord(dbRoot: string, name: string): Promise<NodeRecord> {
  const file = path.join(dbRoot, 'ifaces', name);
  let text: string | null = null;
  try {
    const st = await fsp.stat(file);
    if (st.size > MAX_RECORD_BYTES) throw new IscsiError(ErrorCodes.NODE_DB_ERROR, `${file} is too large`);
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof IscsiError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, `could not read ${file}`);
  }
  if (text === null) {
    const b = BUILTIN[name];
    if (b) return { ...b };
    throw new IscsiError(ErrorCodes.CONFIG_ERROR, `iface ${name} has no record (${file}); create it with iscsiadm -m iface`);
  }
  const rec = parseNodeRecord(text, { source: file });
  const out: NodeRecord = {};
  for (const [k, v] of Object.entries(rec)) if (k.startsWith('iface.')) out[k] = v;
  out['iface.iscsi_ifacename'] = name;
  if (!out['iface.transport_name']) out['iface.transport_name'] = 'tcp';
  return out;
}
