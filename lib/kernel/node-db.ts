/**
 * The open-iscsi node database, read and written like iscsiadm 2.1.8 so
 * both tools see the same nodes.
 *
 * Layout (open-iscsi 2.1.8 usr/idbm.c idbm_rec_write()/idbm_open_rec_r(),
 * libopeniscsiusr/node.c iscsi_nodes_get()):
 *   <dbroot>/nodes/<target>/<address>,<port>,<tpgt>/<iface>   new style (file)
 *   <dbroot>/nodes/<target>/<address>,<port>                  old style (file,
 *       tpgt unknown; what `iscsiadm -m node -o new` without ",tpgt" writes)
 * <address> is the bare address as given, IPv6 without brackets
 * ("nodes/iqn.x/::1,3261,5/default"). A write with a known tpgt replaces an
 * old-style file of the same portal (iscsiadm "converts" it the same way).
 * Static nodes also get <dbroot>/static/<target>,<addr>,<port>,<tpgt>,<iface>
 * -> <dbroot>/nodes/<target>/<addr>,<port>,<tpgt> (setup_disc_to_node_link()).
 *
 * DB root (findDbRoot): open-iscsi's ISCSI_DB_ROOT is a build option —
 * /etc/iscsi up to 2.1.8 (Debian 12), /var/lib/iscsi from 2.1.9 upstream and
 * on Fedora/RHEL. Rule: the first of /etc/iscsi, /var/lib/iscsi (under
 * `root`) that has a nodes/ directory; else the first that has send_targets/;
 * else /var/lib/iscsi if that directory exists (packages that use it create
 * it); else /etc/iscsi.
 *
 * Writes: under the open-iscsi lock (db-lock.ts), to a temp file in the
 * target directory (mode 0600, fsync), renamed over the record, then the
 * directory fsynced; directories are created 0700 (what iscsiadm 2.1.8
 * leaves on Debian 12). A crash leaves either the old or the new record;
 * a leftover temp file (".iscsi-initiator-tmp-*") is removed by the next
 * write under the lock, before libopeniscsiusr (which fails a whole listing
 * over one unparsable file) can trip on it — listers take the same lock.
 *
 * Secrets: records returned by get()/buildNodeRecord() keep CHAP passwords
 * readable as ordinary properties (login needs them) but render them as
 * '********' in util.inspect/console.log/JSON.stringify (non-enumerable
 * toJSON and util.inspect.custom; see makeRedacted in node-record.ts).
 * Error messages name files and keys, never values of secret keys.
 */
import { promises as fsp } from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { ErrorCodes, IscsiError, invalidArg } from '../errors';
import { iscsiNameProblem } from '../initiator-name';
import { validateAuth } from '../options';
import { type Budget, TMP_PREFIX, atomicWrite, fsError, fsyncDir, makeBudget, underRoot, withDbLock } from './db-lock';
import { DEFAULT_IFACE, ifaceNameProblem, readIfaceRecord } from './ifaces';
import { nodeDefaultsFromConf, readIscsidConfWith } from './iscsid-conf';
import {
  IPV6_IFACE_NUMERIC_KEYS,
  MAX_RECORD_BYTES,
  type NodeRecord,
  OPEN_ISCSI_NODE_DEFAULTS,
  formatNodeRecord,
  ifaceFamily,
  isModifiableKey,
  isNodeKey,
  makeRedacted,
  parseNodeRecord,
  validateNodeValue,
} from './node-record';
import type { Chap, Node } from './types';

export const DB_ROOT_CANDIDATES: readonly string[] = ['/etc/iscsi', '/var/lib/iscsi'];
const DEFAULT_TIMEOUT_MS = 30_000;

export interface NodeDbOptions {
  root?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface SaveOptions extends NodeDbOptions {
  /** Values to set (open-iscsi keys). node.name / node.tpgt /
   * node.conn[0].address / node.conn[0].port come from `node` only (ignored here). */
  record?: Partial<NodeRecord>;
  /** New CHAP credentials (null = no CHAP). Overrides keepExistingAuth. */
  auth?: Chap | null;
  /** Default true: when the node already exists, its stored
   * node.session.auth.* values survive this save even if `record` carries
   * other auth values (e.g. a rediscovery's defaults). Change credentials
   * with `auth`, setAuth(), or keepExistingAuth: false. */
  keepExistingAuth?: boolean;
}

export const AUTH_KEYS: readonly string[] = [
  'node.session.auth.authmethod',
  'node.session.auth.username',
  'node.session.auth.password',
  'node.session.auth.username_in',
  'node.session.auth.password_in',
  'node.session.auth.chap_algs',
];

// ---------------------------------------------------------------- paths

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The node DB directory under `root` (see the module comment for the rule). */
export async function findDbRoot(root?: string): Promise<string> {
  const cands = DB_ROOT_CANDIDATES.map((c) => underRoot(root, c));
  for (const sub of ['nodes', 'send_targets']) {
    for (const c of cands) if (await isDir(path.join(c, sub))) return c;
  }
  if (await isDir(cands[1])) return cands[1];
  return cands[0];
}

interface NodeId {
  target: string;
  address: string;
  port: number;
  /** undefined = any (lookup) / unknown. */
  tpgt: number | undefined;
  iface: string;
}

function validateNode(node: unknown, argName = 'node'): NodeId {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw invalidArg(argName, node, 'must be an object { target, address, port?, tpgt?, iface? }');
  }
  const n = node as Record<string, unknown>;
  const target = n.target;
  if (typeof target !== 'string' || target.includes('/') || target === '.' || target === '..' || target.includes('..')) {
    throw invalidArg(`${argName}.target`, target, 'must be an iSCSI name without "/" or ".." (it is a directory name in the node DB)');
  }
  const problem = iscsiNameProblem(target);
  if (problem) throw invalidArg(`${argName}.target`, target, problem);
  let address = n.address;
  if (typeof address === 'string' && address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  if (typeof address !== 'string' || isIP(address) === 0 || address.includes('/')) {
    throw invalidArg(`${argName}.address`, n.address, 'must be an IPv4 or IPv6 address');
  }
  const port = n.port === undefined ? 3260 : n.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArg(`${argName}.port`, port, 'must be an integer 1..65535');
  }
  const tpgt = n.tpgt;
  if (tpgt !== undefined && (typeof tpgt !== 'number' || !Number.isInteger(tpgt) || tpgt < -1 || tpgt > 65535)) {
    throw invalidArg(`${argName}.tpgt`, tpgt, 'must be an integer -1..65535');
  }
  const iface = n.iface === undefined ? DEFAULT_IFACE : n.iface;
  const ip = ifaceNameProblem(iface);
  if (ip) throw invalidArg(`${argName}.iface`, iface, ip);
  return { target, address: address.toLowerCase(), port, tpgt: tpgt === -1 ? undefined : (tpgt as number | undefined), iface: iface as string };
}

interface Located {
  file: string;
  /** tpgt from the path (new style) or undefined (old style). */
  tpgt: number | undefined;
  oldStyle: boolean;
}

/** Parses a portal entry name "<addr>,<port>[,<tpgt>]". */
function parsePortalEntry(name: string): { address: string; port: number; tpgt?: number } | null {
  const m = /^(.+?),(\d{1,5})(?:,(-?\d{1,5}))?$/.exec(name);
  if (!m) return null;
  return { address: m[1], port: Number(m[2]), tpgt: m[3] === undefined ? undefined : Number(m[3]) };
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).filter((e) => !e.startsWith(TMP_PREFIX)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw fsError(err, `could not list ${dir}`);
  }
}

/** Every stored record of `id`: the old-style file (any tpgt, as
 * iscsiadm reads it) first, then new-style records (of id.tpgt, or of any
 * tpgt when undefined) sorted by tpgt. */
async function locate(dbRoot: string, id: NodeId): Promise<Located[]> {
  const tdir = path.join(dbRoot, 'nodes', id.target);
  const out: Located[] = [];
  for (const entry of await readdirSafe(tdir)) {
    const p = parsePortalEntry(entry);
    if (!p || p.address.toLowerCase() !== id.address || p.port !== id.port) continue;
    const full = path.join(tdir, entry);
    let st;
    try {
      st = await fsp.stat(full);
    } catch {
      continue;
    }
    if (st.isFile() && p.tpgt === undefined) {
      // idbm_rec_read() (2.1.8 usr/idbm.c:1572) tries the old-style file first, whatever the tpgt.
      // Old-style records carry their iface inside; they are "default" unless the file says otherwise.
      const rec = await readRecordFile(full);
      if ((rec['iface.iscsi_ifacename'] || DEFAULT_IFACE) !== id.iface) continue;
      out.push({ file: full, tpgt: undefined, oldStyle: true });
    } else if (st.isDirectory() && p.tpgt !== undefined) {
      if (id.tpgt !== undefined && p.tpgt !== id.tpgt) continue;
      const f = path.join(full, id.iface);
      if (await fsp.stat(f).then((s) => s.isFile(), () => false)) out.push({ file: f, tpgt: p.tpgt, oldStyle: false });
    }
  }
  out.sort((a, b) => (a.tpgt ?? -1) - (b.tpgt ?? -1));
  return out;
}

async function readRecordFile(file: string): Promise<NodeRecord> {
  let text: string;
  try {
    const st = await fsp.stat(file);
    if (st.size > MAX_RECORD_BYTES) {
      throw new IscsiError(ErrorCodes.NODE_DB_ERROR, `node record ${file} is larger than ${MAX_RECORD_BYTES} bytes`);
    }
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof IscsiError) throw err;
    throw fsError(err, `could not read node record ${file}`);
  }
  return parseNodeRecord(text, { source: file });
}

function notFound(id: NodeId): IscsiError {
  const tp = id.tpgt === undefined ? '' : `,${id.tpgt}`;
  return new IscsiError(
    ErrorCodes.NODE_NOT_FOUND,
    `no open-iscsi node record for ${id.target} at ${id.address.includes(':') ? `[${id.address}]` : id.address}:${id.port}${tp} iface ${id.iface}`,
    { target: id.target },
  );
}

// ---------------------------------------------------------------- writes

async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, `could not create ${dir}`);
    if (!(await isDir(dir))) throw new IscsiError(ErrorCodes.NODE_DB_ERROR, `${dir} exists and is not a directory`);
  }
}

/** Removes temp files a crashed writer left in `dir` (we hold the lock, so none is live). */
async function sweepTemps(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const e of entries) if (e.startsWith(TMP_PREFIX)) await fsp.unlink(path.join(dir, e)).catch(() => undefined);
}

function portalName(id: NodeId, tpgt: number | undefined): string {
  return tpgt === undefined ? `${id.address},${id.port}` : `${id.address},${id.port},${tpgt}`;
}

/** The path a record lives at as the system sees it (without `root`). */
function systemPath(root: string | undefined, p: string): string {
  if (!root || root === '/') return p;
  const rel = path.relative(root, p);
  return `/${rel}`;
}

async function ensureDiscoveryLink(root: string | undefined, dbRoot: string, id: NodeId, rec: NodeRecord, tpgt: number): Promise<void> {
  const linkName = `${id.target},${id.address},${id.port},${tpgt},${id.iface}`;
  let dir: string;
  const type = rec['node.discovery_type'];
  if (type === 'static') {
    dir = path.join(dbRoot, 'static');
    await ensureDir(dir);
  } else if (type === 'send_targets' && rec['node.discovery_address']) {
    dir = path.join(dbRoot, 'send_targets', `${rec['node.discovery_address']},${rec['node.discovery_port'] ?? '3260'}`);
    if (!(await isDir(dir))) return; // discovery record not ours to create
  } else {
    return;
  }
  const target = systemPath(root, path.join(dbRoot, 'nodes', id.target, portalName(id, tpgt)));
  const link = path.join(dir, linkName);
  try {
    await fsp.symlink(target, link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, `could not create ${link}`);
  }
}

async function removeDiscoveryLinks(dbRoot: string, id: NodeId, rec: NodeRecord, tpgt: number): Promise<void> {
  const linkName = `${id.target},${id.address},${id.port},${tpgt},${id.iface}`;
  const cands = [path.join(dbRoot, 'static', linkName), path.join(dbRoot, 'fw', linkName), path.join(dbRoot, 'isns', linkName)];
  if (rec['node.discovery_address']) {
    const dp = `${rec['node.discovery_address']},${rec['node.discovery_port'] ?? '3260'}`;
    cands.push(path.join(dbRoot, 'send_targets', dp, linkName), path.join(dbRoot, 'isns', dp, linkName));
  }
  for (const c of cands) await fsp.unlink(c).catch(() => undefined);
}

async function removeIfEmpty(dir: string): Promise<void> {
  await fsp.rmdir(dir).catch(() => undefined);
}

// ---------------------------------------------------------------- records

function identity(id: NodeId, tpgt: number | undefined): NodeRecord {
  return {
    'node.name': id.target,
    'node.tpgt': String(tpgt ?? -1),
    'node.conn[0].address': id.address,
    'node.conn[0].port': String(id.port),
    'iface.iscsi_ifacename': id.iface,
  };
}

function fillFamilyDefaults(rec: NodeRecord): NodeRecord {
  if (ifaceFamily(rec) === 'ipv6') for (const k of IPV6_IFACE_NUMERIC_KEYS) if (rec[k] === undefined) rec[k] = '0';
  return rec;
}

function chapToRecord(chap: Chap | null): NodeRecord {
  if (chap === null) {
    return {
      'node.session.auth.authmethod': 'None',
      'node.session.auth.username': '',
      'node.session.auth.password': '',
      'node.session.auth.username_in': '',
      'node.session.auth.password_in': '',
    };
  }
  const a = validateAuth(chap);
  if (!a) throw invalidArg('auth', chap, 'must be a Chap object or null');
  const out: NodeRecord = {
    'node.session.auth.authmethod': 'CHAP',
    'node.session.auth.username': a.username,
    'node.session.auth.password': a.password,
    'node.session.auth.username_in': a.reverseUsername ?? '',
    'node.session.auth.password_in': a.reversePassword ?? '',
  };
  for (const [k, v] of Object.entries(out)) {
    try {
      validateNodeValue(k, v);
    } catch {
      throw invalidArg(`auth (${k})`, '<secret>', 'must not start or end with white space (open-iscsi strips it)');
    }
  }
  return out;
}

function validateRecordArg(record: unknown): NodeRecord {
  if (record === undefined) return {};
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw invalidArg('options.record', record, 'must be an object of open-iscsi keys');
  }
  const out: NodeRecord = {};
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) {
    if (v === undefined) continue;
    validateNodeValue(k, v, 'options.record key');
    // The node argument is the identity; a full record (e.g. from get()) may carry these.
    if (['node.name', 'node.tpgt', 'node.conn[0].address', 'node.conn[0].port'].includes(k)) continue;
    out[k] = v as string;
  }
  return out;
}

function strip(rec: NodeRecord): NodeRecord {
  const out: NodeRecord = {};
  for (const [k, v] of Object.entries(rec)) if (v !== '' && isNodeKey(k)) out[k] = v;
  return out;
}

function hasStoredAuth(rec: NodeRecord): boolean {
  return (rec['node.session.auth.password'] ?? '') !== '' || rec['node.session.auth.authmethod'] === 'CHAP';
}

async function readExisting(dbRoot: string, id: NodeId): Promise<{ loc: Located; rec: NodeRecord } | null> {
  const locs = await locate(dbRoot, id);
  if (locs.length === 0) return null;
  return { loc: locs[0], rec: await readRecordFile(locs[0].file) };
}

async function doSave(root: string | undefined, dbRoot: string, id: NodeId, options: SaveOptions, budget: Budget): Promise<NodeRecord> {
  const callerRec = validateRecordArg(options.record);
  const keepAuth = options.keepExistingAuth ?? true;
  if (typeof keepAuth !== 'boolean') throw invalidArg('options.keepExistingAuth', keepAuth, 'must be a boolean');
  const authRec = options.auth === undefined ? null : chapToRecord(options.auth);
  budget.check();
  // With a known tpgt, an old-style record of the portal is found here and converted below (idbm_rec_write()).
  const existing = await readExisting(dbRoot, id);
  let base: NodeRecord;
  if (existing) {
    base = { ...OPEN_ISCSI_NODE_DEFAULTS, ...existing.rec };
  } else {
    const conf = nodeDefaultsFromConf(await readIscsidConfWith(root, budget));
    base = { ...OPEN_ISCSI_NODE_DEFAULTS, ...conf };
    if (id.iface !== DEFAULT_IFACE) Object.assign(base, await readIfaceRecord(dbRoot, id.iface));
  }
  const tpgt = id.tpgt ?? existing?.loc.tpgt;
  const merged: NodeRecord = { ...base, ...callerRec };
  if (existing && keepAuth && hasStoredAuth(existing.rec)) {
    for (const k of AUTH_KEYS) {
      if (existing.rec[k] !== undefined) merged[k] = existing.rec[k];
      else delete merged[k];
    }
  }
  if (authRec) Object.assign(merged, authRec);
  Object.assign(merged, identity(id, tpgt));
  const rec = fillFamilyDefaults(strip(merged));
  const text = formatNodeRecord(rec); // validates every value
  budget.check();

  const nodesDir = path.join(dbRoot, 'nodes');
  const tdir = path.join(nodesDir, id.target);
  // The DB root itself is the package's directory (0755 on Debian); only create it when missing (fixture roots).
  await fsp.mkdir(dbRoot, { recursive: true, mode: 0o755 }).catch((err: unknown) => {
    throw fsError(err, `could not create ${dbRoot}`);
  });
  await ensureDir(nodesDir);
  await ensureDir(tdir);
  await sweepTemps(tdir);
  if (tpgt === undefined) {
    await atomicWrite(path.join(tdir, portalName(id, undefined)), text, 0o600);
  } else {
    const pdir = path.join(tdir, portalName(id, tpgt));
    await ensureDir(pdir);
    await sweepTemps(pdir);
    await atomicWrite(path.join(pdir, id.iface), text, 0o600);
    await fsyncDir(tdir).catch(() => undefined);
    if (existing?.loc.oldStyle) {
      // Same conversion as idbm_rec_write(): the old-style file goes once a tpgt is known.
      await fsp.unlink(existing.loc.file).catch(() => undefined);
    }
    await ensureDiscoveryLink(root, dbRoot, id, rec, tpgt);
  }
  return makeRedacted(rec);
}

// ---------------------------------------------------------------- public API

/** Options validation shared by the public calls. */
function prep(options: NodeDbOptions | undefined, operation: string): { root: string | undefined; budget: Budget } {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw invalidArg('options', options, 'must be an object');
  }
  const root = options?.root;
  if (root !== undefined && (typeof root !== 'string' || root.length === 0)) {
    throw invalidArg('options.root', root, 'must be a non-empty path');
  }
  return { root, budget: makeBudget(options, operation, DEFAULT_TIMEOUT_MS) };
}

async function getRecord(node: Node, options: NodeDbOptions | undefined, operation: string): Promise<NodeRecord> {
  const id = validateNode(node);
  const { root, budget } = prep(options, operation);
  const dbRoot = await findDbRoot(root);
  return withDbLock(root, budget, async () => {
    const ex = await readExisting(dbRoot, id);
    if (!ex) throw notFound(id);
    return makeRedacted(fillFamilyDefaults({ ...OPEN_ISCSI_NODE_DEFAULTS, ...ex.rec }));
  });
}

export const nodes = {
  /** Every node in the DB (new- and old-style records), sorted. Old-style
   * records report tpgt -1. Does not take the lock (reads only names). */
  async list(options?: NodeDbOptions): Promise<Node[]> {
    const { root, budget } = prep(options, 'list nodes');
    const dbRoot = await findDbRoot(root);
    const nodesDir = path.join(dbRoot, 'nodes');
    const out: Node[] = [];
    for (const target of await readdirSafe(nodesDir)) {
      budget.check();
      const tdir = path.join(nodesDir, target);
      for (const entry of await readdirSafe(tdir)) {
        const p = parsePortalEntry(entry);
        if (!p) continue;
        const full = path.join(tdir, entry);
        const st = await fsp.stat(full).catch(() => null);
        if (!st) continue;
        if (st.isFile() && p.tpgt === undefined) {
          let iface = DEFAULT_IFACE;
          try {
            iface = (await readRecordFile(full))['iface.iscsi_ifacename'] || DEFAULT_IFACE;
          } catch {
            // unreadable record: still list it under the default iface
          }
          out.push({ target, address: p.address, port: p.port, tpgt: -1, iface });
        } else if (st.isDirectory() && p.tpgt !== undefined) {
          for (const iface of await readdirSafe(full)) {
            out.push({ target, address: p.address, port: p.port, tpgt: p.tpgt, iface });
          }
        }
      }
    }
    return out;
  },

  /** The node's full record (built-in defaults for keys the file leaves
   * out, as iscsiadm reads it). ISCSI_NODE_NOT_FOUND if absent. With no
   * node.tpgt, the record with the lowest tpgt (old style first) is used. */
  get(node: Node, options?: NodeDbOptions): Promise<NodeRecord> {
    return getRecord(node, options, 'read node record');
  },

  /** Creates or updates the node's record; returns what was written. */
  async save(node: Node, options?: SaveOptions): Promise<NodeRecord> {
    const id = validateNode(node);
    const { root, budget } = prep(options, 'save node record');
    const dbRoot = await findDbRoot(root);
    return withDbLock(root, budget, () => doSave(root, dbRoot, id, options ?? {}, budget));
  },

  /** Deletes every stored record of the node (all tpgts when node.tpgt is
   * absent) and its discovery links. ISCSI_NODE_NOT_FOUND if none. */
  async delete(node: Node, options?: NodeDbOptions): Promise<void> {
    const id = validateNode(node);
    const { root, budget } = prep(options, 'delete node record');
    const dbRoot = await findDbRoot(root);
    await withDbLock(root, budget, async () => {
      const locs = await locate(dbRoot, id);
      if (locs.length === 0) throw notFound(id);
      for (const loc of locs) {
        let rec: NodeRecord = {};
        try {
          rec = await readRecordFile(loc.file);
        } catch {
          // delete even an unparsable record
        }
        try {
          await fsp.unlink(loc.file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, `could not delete ${loc.file}`);
        }
        if (loc.tpgt !== undefined) {
          await removeDiscoveryLinks(dbRoot, id, rec, loc.tpgt);
          await removeIfEmpty(path.dirname(loc.file));
        }
      }
      await removeIfEmpty(path.join(dbRoot, 'nodes', id.target));
    });
  },

  /** Sets (chap) or clears (null) node.session.auth.*; the node must exist. */
  async setAuth(node: Node, chap: Chap | null, options?: NodeDbOptions): Promise<void> {
    const id = validateNode(node);
    if (chap !== null && (typeof chap !== 'object' || Array.isArray(chap))) {
      throw invalidArg('chap', chap, 'must be a Chap object or null');
    }
    chapToRecord(chap); // validate before taking the lock
    const { root, budget } = prep(options, 'set node auth');
    const dbRoot = await findDbRoot(root);
    await withDbLock(root, budget, async () => {
      if ((await locate(dbRoot, id)).length === 0) throw notFound(id);
      await doSave(root, dbRoot, id, { auth: chap }, budget);
    });
  },

  /** The node's CHAP credentials, or null when it has none (no password). */
  async getAuth(node: Node, options?: NodeDbOptions): Promise<Chap | null> {
    const rec = await getRecord(node, options, 'read node auth');
    const password = rec['node.session.auth.password'] ?? '';
    if (password === '') return null;
    const chap: Chap = { username: rec['node.session.auth.username'] ?? '', password };
    const pin = rec['node.session.auth.password_in'] ?? '';
    if (pin !== '') {
      chap.reverseUsername = rec['node.session.auth.username_in'] ?? '';
      chap.reversePassword = pin;
    }
    return redactChap(chap);
  },

  /** Sets one key like `iscsiadm -o update -n key -v value` ('' clears a
   * string key). Refuses unknown keys and the keys that identify the node. */
  async setParameter(node: Node, key: string, value: string, options?: NodeDbOptions): Promise<void> {
    const id = validateNode(node);
    validateNodeValue(key, value);
    if (!isModifiableKey(key)) throw invalidArg('key', key, 'identifies the node record and cannot be changed');
    const { root, budget } = prep(options, 'set node parameter');
    const dbRoot = await findDbRoot(root);
    await withDbLock(root, budget, async () => {
      if ((await locate(dbRoot, id)).length === 0) throw notFound(id);
      const isAuth = AUTH_KEYS.includes(key);
      await doSave(root, dbRoot, id, { record: { [key]: value }, keepExistingAuth: !isAuth }, budget);
    });
  },

  /** One key of the node's record ('' when empty). Refuses unknown keys. */
  async getParameter(node: Node, key: string, options?: NodeDbOptions): Promise<string> {
    if (typeof key !== 'string' || !isNodeKey(key)) {
      throw invalidArg('key', key, 'must be one of the open-iscsi 2.1.8 node keys (NODE_KEYS)');
    }
    const rec = await getRecord(node, options, 'read node parameter');
    return rec[key] ?? '';
  },
};

function redactChap(chap: Chap): Chap {
  const render = (): Record<string, unknown> => {
    const o: Record<string, unknown> = { ...chap };
    if (o.password !== undefined) o.password = '********';
    if (o.reversePassword !== undefined) o.reversePassword = '********';
    return o;
  };
  Object.defineProperty(chap, 'toJSON', { value: render, enumerable: false, configurable: true });
  Object.defineProperty(chap, Symbol.for('nodejs.util.inspect.custom'), {
    value: (_d: number, opts: object, insp: (v: unknown, o: object) => string) => insp(render(), opts),
    enumerable: false,
    configurable: true,
  });
  return chap;
}

/**
 * The record a login of `node` uses — what `iscsiadm -m node -T .. -p ..
 * --login` sends to iscsid (open-iscsi 2.1.8): for a node in the DB,
 * built-in defaults ⊕ the stored record (iscsiadm's idbm_rec_read() does
 * NOT re-apply iscsid.conf to an existing record; iscsid.conf only seeded
 * it when it was created); for a node not in the DB, built-in defaults ⊕
 * iscsid.conf node.* values ⊕ the iface record (as `-o new` would create
 * it). Then the node's own identity (name, address, port, tpgt, iface).
 */
export async function buildNodeRecord(node: Node, options?: NodeDbOptions): Promise<NodeRecord> {
  const id = validateNode(node);
  const { root, budget } = prep(options, 'build node record');
  const dbRoot = await findDbRoot(root);
  const stored = await withDbLock(root, budget, () => readExisting(dbRoot, id));
  let rec: NodeRecord;
  let tpgt = id.tpgt;
  if (stored) {
    rec = { ...OPEN_ISCSI_NODE_DEFAULTS, ...stored.rec };
    tpgt = tpgt ?? stored.loc.tpgt;
  } else {
    const conf = nodeDefaultsFromConf(await readIscsidConfWith(root, budget));
    rec = { ...OPEN_ISCSI_NODE_DEFAULTS, ...conf };
    if (id.iface !== DEFAULT_IFACE) Object.assign(rec, await readIfaceRecord(dbRoot, id.iface));
  }
  Object.assign(rec, identity(id, tpgt));
  return makeRedacted(fillFamilyDefaults(rec));
}
