/**
 * The initiator's iSCSI name (RFC 7143 4.2.7 / RFC 3722).
 *
 * Default: the InitiatorName= line of /etc/iscsi/initiatorname.iscsi (the
 * file open-iscsi writes, so targets' ACLs that already admit this host keep
 * working), else a stable per-host IQN derived from the host name:
 *   iqn.2026-11.org.npmjs.iscsi-initiator:<first 12 hex of sha256(hostname)>
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { invalidArg } from './errors';
import { atomicWrite, fsError, makeBudget } from './kernel/db-lock';

export const INITIATOR_NAME_FILE = '/etc/iscsi/initiatorname.iscsi';
export const DEFAULT_IQN_PREFIX = 'iqn.2026-11.org.npmjs.iscsi-initiator';
/** RFC 7143 4.2.7.1: iSCSI names are at most 223 bytes (UTF-8). */
export const MAX_NAME_BYTES = 223;

/** Returns a reason string when `name` is not a usable iSCSI name, else null. */
export function iscsiNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty string';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes`;
  // Control characters, spaces and NUL break the key=value text format.
  if (/[\x00-\x20\x7f]/.test(name)) return 'must not contain spaces or control characters';
  const lower = name.toLowerCase();
  if (lower.startsWith('iqn.')) {
    // iqn.yyyy-mm.reversed.domain[:anything]
    if (!/^iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[^.:]/i.test(name)) return 'must look like iqn.yyyy-mm.reversed-domain[:id]';
    return null;
  }
  if (lower.startsWith('eui.')) {
    return /^eui\.[0-9a-f]{16}$/i.test(name) ? null : 'must be eui. followed by 16 hex digits';
  }
  if (lower.startsWith('naa.')) {
    return /^naa\.([0-9a-f]{16}|[0-9a-f]{32})$/i.test(name) ? null : 'must be naa. followed by 16 or 32 hex digits';
  }
  return 'must start with iqn., eui. or naa.';
}

export function validateIscsiName(name: unknown, argName: string): string {
  const problem = iscsiNameProblem(name);
  if (problem) throw invalidArg(argName, name, problem);
  return name as string;
}

/** Extracts InitiatorName= from the text of initiatorname.iscsi. */
export function parseInitiatorNameFile(text: string): string | null {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const m = /^InitiatorName\s*=\s*(\S+)\s*$/.exec(line);
    if (m && iscsiNameProblem(m[1]) === null) return m[1];
  }
  return null;
}

export function hostDerivedInitiatorName(hostname: string = os.hostname()): string {
  const h = createHash('sha256').update(hostname, 'utf8').digest('hex').slice(0, 12);
  return `${DEFAULT_IQN_PREFIX}:${h}`;
}

/** The default initiator name (see the module comment). Never throws. */
export async function defaultInitiatorName(file: string = INITIATOR_NAME_FILE): Promise<string> {
  try {
    const name = parseInitiatorNameFile(await fsp.readFile(file, 'utf8'));
    if (name) return name;
  } catch {
    // Unreadable or absent: fall back to the host-derived name.
  }
  return hostDerivedInitiatorName();
}

/** Validates a user-supplied name or returns the default. */
export async function resolveInitiatorName(value: unknown): Promise<string> {
  if (value === undefined) return defaultInitiatorName();
  return validateIscsiName(value, 'options.initiatorName');
}

// ------------------------------------------------------------------------
// initiatorname.iscsi management for installers (issue 4).

/** open-iscsi's iscsi-iname default prefix (utils/iscsi-iname.c DEFAULT_PREFIX, 2.1.8). */
export const ISCSI_INAME_DEFAULT_PREFIX = 'iqn.2016-04.com.open-iscsi';
/** The prefix Debian's open-iscsi postinst passes to `iscsi-iname -p`
 * (Debian 12 open-iscsi 2.1.8-1+deb12u1), giving iqn.1993-08.org.debian:01:<hex>. */
export const DEBIAN_INAME_PREFIX = 'iqn.1993-08.org.debian:01';
/** iscsi-iname's PREFIX_MAX_LEN. */
export const MAX_INAME_PREFIX_LEN = 210;

/**
 * A fresh initiator name like `iscsi-iname -p <prefix>`: "<prefix>:<12 hex>"
 * from 6 random bytes (node:crypto). iscsi-iname prints the 6 bytes of an
 * MD5 of entropy with "%x" (leading zeros of each byte dropped, so 6-12
 * digits); we always print 12 digits — same shape, fixed length.
 * Default prefix: upstream's iqn.2016-04.com.open-iscsi (distro-neutral);
 * pass DEBIAN_INAME_PREFIX for the name a Debian install would generate.
 */
export function generateInitiatorName(prefix: string = ISCSI_INAME_DEFAULT_PREFIX): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > MAX_INAME_PREFIX_LEN) {
    throw invalidArg('prefix', prefix, `must be a non-empty string of at most ${MAX_INAME_PREFIX_LEN} characters`);
  }
  const name = `${prefix}:${randomBytes(6).toString('hex')}`;
  const problem = iscsiNameProblem(name);
  if (problem) throw invalidArg('prefix', prefix, `gives an invalid iSCSI name (${problem})`);
  return name;
}

export interface InitiatorNameFileOptions {
  /** Directory prefix (tests); default '/'. */
  root?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

function nameFile(root: string | undefined): string {
  if (root !== undefined && (typeof root !== 'string' || root.length === 0)) {
    throw invalidArg('options.root', root, 'must be a non-empty path');
  }
  return root && root !== '/' ? path.join(root, INITIATOR_NAME_FILE) : INITIATOR_NAME_FILE;
}

/** The InitiatorName= of <root>/etc/iscsi/initiatorname.iscsi, or null when
 * the file is absent or holds no valid name. Other read errors throw
 * (ISCSI_PERMISSION_DENIED for EACCES — the Debian file is mode 0600). */
export async function getInitiatorName(options: InitiatorNameFileOptions = {}): Promise<string | null> {
  const file = nameFile(options.root);
  const budget = makeBudget(options, 'read initiator name', 10_000);
  budget.check();
  let text: string;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError(err, `could not read ${file}`);
  }
  return parseInitiatorNameFile(text);
}

/** Header Debian's postinst writes above the name (kept so the file looks
 * the way admins expect). */
const NAME_FILE_HEADER = [
  '## DO NOT EDIT OR REMOVE THIS FILE!',
  '## If you remove this file, the iSCSI daemon will not start.',
  '## If you change the InitiatorName, existing access control lists',
  '## may reject this initiator.  The InitiatorName must be unique',
  '## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.',
];

/**
 * Writes <root>/etc/iscsi/initiatorname.iscsi = Debian's header +
 * "InitiatorName=<name>\n", atomically (temp + fsync + rename). Mode: the
 * existing file's mode when there is one, else 0600 — what Debian's
 * postinst sets (`chmod 600`); the name is not secret but iscsid only needs
 * root to read it. iscsid reads the file at start: restart it to use the
 * new name for kernel logins.
 */
export async function setInitiatorName(name: string, options: InitiatorNameFileOptions = {}): Promise<void> {
  validateIscsiName(name, 'name');
  const file = nameFile(options.root);
  const budget = makeBudget(options, 'write initiator name', 10_000);
  budget.check();
  let mode = 0o600;
  try {
    mode = (await fsp.stat(file)).mode & 0o777;
  } catch {
    // new file
  }
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  } catch (err) {
    throw fsError(err, `could not create ${path.dirname(file)}`);
  }
  budget.check();
  await atomicWrite(file, `${NAME_FILE_HEADER.join('\n')}\nInitiatorName=${name}\n`, mode);
}
