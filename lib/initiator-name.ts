/**
 * The initiator's iSCSI name (RFC 7143 4.2.7 / RFC 3722).
 *
 * Default: the InitiatorName= line of /etc/iscsi/initiatorname.iscsi (the
 * file open-iscsi writes, so targets' ACLs that already admit this host keep
 * working), else a stable per-host IQN derived from the host name:
 *   iqn.2026-11.org.npmjs.iscsi-initiator:<first 12 hex of sha256(hostname)>
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import { invalidArg } from './errors';

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
