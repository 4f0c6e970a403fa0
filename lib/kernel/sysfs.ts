/**
 * Kernel iSCSI sessions and their disks, read from sysfs the way open-iscsi
 * does (no iscsiadm, no iscsid).
 *
 * Layout (Linux drivers/scsi/scsi_transport_iscsi.c, libiscsi.c; open-iscsi
 * 2.1.8 usr/iscsi_sysfs.c; checked on the kernel lab's 6.1 kernel, see
 * test/fixtures/sysfs-iscsi/README.md):
 *   /sys/class/iscsi_session/sessionS/{targetname,tpgt,ifacename,state,initiatorname}
 *   /sys/class/iscsi_connection/connectionS:0/{persistent_address,persistent_port,address,port}
 *     (open-iscsi and udev both assume connection id 0)
 *   /sys/class/iscsi_session/sessionS/device -> …/hostH/sessionS, below it
 *     targetH:C:T/H:C:T:L/block/sdX (very old kernels: a `block:sdX` link)
 *   /sys/block/sdX/size in 512-byte sectors
 * The udev by-path name is systemd's path_id handle_scsi_iscsi():
 *   ip-<persistent_address>:<persistent_port>-iscsi-<targetname>-lun-<L>
 * with the address verbatim (IPv6 without brackets: iscsid stores the node
 * record's address string, which has none) and format_lun_number()'s LUN form.
 *
 * Every read is async and capped at one page; a session or LUN that vanishes
 * mid-read (logout, ENOENT/ENODEV races) is skipped, never an error. The
 * CAP_SYS_ADMIN-only CHAP attributes (username*, password*) are never opened.
 */
import { constants as fsc } from 'fs';
import * as fsp from 'fs/promises';
import * as net from 'net';
import * as path from 'path';
import { ErrorCodes, IscsiError, abortError, invalidArg, type ErrorContext } from '../errors';
import { MAX_TIMEOUT_MS, raceSignal, validateOptionsObject, validateSignal, validateTimeout } from '../options';
import type { KernelDisk, KernelOptions, KernelSession } from './types';

/** Default budget of every call (and of waitForSession's wait). */
export const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_MS = 200;
/** sysfs attributes are at most one page (sysfs_emit); anything bigger is not sysfs. */
const ATTR_CAP = 4096;
/** Errors that mean "this object is gone (or going)" rather than a fault. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'ENXIO', 'ESTALE']);
/**
 * SCSI peripheral device types a Linux upper driver turns into a block device
 * (sd: disk 0x00, optical 0x07, RBC 0x0e, zoned 0x14; sr: WORM 0x04, CD/DVD
 * 0x05). Others, such as tgtd's LUN 0 "storage array controller" (0x0c),
 * never get one, so they are not reported as disks.
 */
const BLOCK_TYPES = new Set([0x00, 0x04, 0x05, 0x07, 0x0e, 0x14]);

/** Which session to find; unset fields match anything. */
export interface SessionMatch {
  target: string;
  /** Portal address (IPv4, or IPv6 with or without brackets); compared in canonical form. */
  address?: string;
  port?: number;
  tpgt?: number;
  iface?: string;
}

export interface WaitForSessionOptions extends KernelOptions {
  /** How often sysfs is read again (default 200 ms). */
  pollMs?: number;
  /** Also wait for disks with a block device: true = at least one, N = at least N. */
  requireDisks?: boolean | number;
}

interface Validated {
  root: string;
  signal: AbortSignal | undefined;
  timeoutMs: number;
}

function validateKernelOptions(options: unknown): Validated & { raw: Record<string, unknown> } {
  const o = validateOptionsObject(options);
  const root = o.root === undefined ? '/' : o.root;
  if (typeof root !== 'string' || root.length === 0 || root.includes('\0')) {
    throw invalidArg('options.root', root, 'must be a non-empty path');
  }
  return {
    root: path.resolve(root),
    signal: validateSignal(o.signal),
    timeoutMs: validateTimeout(o.timeoutMs, 'options.timeoutMs', DEFAULT_TIMEOUT_MS),
    raw: o,
  };
}

function errCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function isGone(err: unknown): boolean {
  const c = errCode(err);
  return c !== undefined && GONE.has(c);
}

// --- attribute reading ---------------------------------------------------------

/**
 * One sysfs attribute: its text without the trailing newline; undefined when
 * it does not exist (or is vanishing) or the kernel says "(null)" (a string
 * parameter iscsid has not set yet, libiscsi prints it with %s); null when it
 * exists but is unusable (unreadable, not a regular file, over one page,
 * control characters or invalid UTF-8).
 */
async function readAttr(file: string): Promise<string | null | undefined> {
  let fh: fsp.FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted in a tree must not hang a libuv thread.
    fh = await fsp.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (err) {
    return isGone(err) ? undefined : null;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const buf = Buffer.alloc(ATTR_CAP + 1);
    const { bytesRead } = await fh.read(buf, 0, ATTR_CAP + 1, 0);
    if (bytesRead > ATTR_CAP) return null;
    const text = buf.toString('utf8', 0, bytesRead).replace(/[\n\r\t ]+$/, '');
    if (text.includes('\uFFFD') || /[\x00-\x1f\x7f]/.test(text)) return null;
    if (text === '(null)') return undefined;
    return text;
  } catch (err) {
    return isGone(err) ? undefined : null;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** A decimal integer attribute ("%d"/"%u"/"%llu"), or null. */
function parseIntAttr(v: string | null | undefined): number | null {
  if (typeof v !== 'string' || !/^-?[0-9]{1,16}$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

/** A name-like attribute (target, iface, initiator): printable, no blanks, <= 255 bytes. */
function nameAttr(v: string | null | undefined): string | null {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 255 || /\s/.test(v)) return null;
  return v;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (isGone(err) || errCode(err) === 'EACCES' || errCode(err) === 'EPERM') return [];
    throw err;
  }
}

// --- names ----------------------------------------------------------------------

/** systemd path_id format_lun_number(): "lun-N" below 256, else the 8-byte form. */
export function formatLun(lun: number): string {
  if (lun < 256) return `lun-${lun}`;
  const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
  return `lun-0x${hex4(lun % 0x10000)}${hex4(Math.floor(lun / 0x10000) % 0x10000)}00000000`;
}

/** The /dev/disk/by-path name udev gives LUN `lun` of a session. */
export function byPathName(address: string, port: number, target: string, lun: number): string {
  return `/dev/disk/by-path/ip-${address}:${port}-iscsi-${target}-${formatLun(lun)}`;
}

/** Canonical form for comparing portal addresses (IPv6: lowercase, compressed, no brackets). */
function canonicalAddress(a: string): string {
  let s = a.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (net.isIPv6(s)) {
    try {
      return new URL(`http://[${s}]/`).hostname.slice(1, -1);
    } catch {
      // A zone id (fe80::1%eth0) is not URL syntax; compare it as text.
    }
  }
  return s.toLowerCase();
}

function portalText(address: string | undefined, port: number | undefined): string | undefined {
  if (address === undefined) return undefined;
  const a = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return port === undefined ? a : `${a}:${port}`;
}

// --- the walk -------------------------------------------------------------------------

/** The block device of one LUN directory, or null while it has none. */
async function blockDeviceOf(lunDir: string): Promise<string | null> {
  const valid = (n: string): boolean => /^[A-Za-z0-9!._-]{1,64}$/.test(n);
  const inBlock = (await listDir(path.join(lunDir, 'block'))).filter(valid).sort();
  if (inBlock.length > 0) return inBlock[0];
  // Kernels before 2.6.26 (no CONFIG_SYSFS_DEPRECATED) had a block:sdX link
  // in the LUN directory instead (open-iscsi iscsi_sysfs_get_blockdev_from_lun).
  const legacy = (await listDir(lunDir))
    .filter((n) => n.startsWith('block:') && valid(n.slice(6)))
    .sort();
  return legacy.length > 0 ? legacy[0].slice(6) : null;
}

async function readDisk(
  root: string,
  targetDir: string,
  hctl: string,
  lun: number,
  address: string,
  port: number,
  target: string,
): Promise<KernelDisk | null> {
  const lunDir = path.join(targetDir, hctl);
  const name = await blockDeviceOf(lunDir);
  if (name === null) {
    const type = parseIntAttr(await readAttr(path.join(lunDir, 'type')));
    if (type !== null && !BLOCK_TYPES.has(type)) return null;
    // Gone altogether (removed while we looked)?
    if ((await listDir(lunDir)).length === 0) return null;
  }
  let size: number | null = null;
  if (name !== null) {
    let sectors = parseIntAttr(await readAttr(path.join(root, 'sys/block', name, 'size')));
    if (sectors === null) sectors = parseIntAttr(await readAttr(path.join(lunDir, 'block', name, 'size')));
    if (sectors !== null && sectors >= 0 && Number.isSafeInteger(sectors * 512)) size = sectors * 512;
  }
  return {
    lun,
    hctl,
    // udev maps '!' in kernel names to '/' (cciss!c0d0 -> /dev/cciss/c0d0).
    device: name === null ? null : `/dev/${name.replace(/!/g, '/')}`,
    byPath: byPathName(address, port, target, lun),
    size,
  };
}

async function readDisks(
  root: string,
  sessionDevice: string,
  address: string,
  port: number,
  target: string,
): Promise<{ disks: KernelDisk[]; hostFromTarget: number | null }> {
  const disks: KernelDisk[] = [];
  let hostFromTarget: number | null = null;
  const targets = (await listDir(sessionDevice)).filter((n) => /^target[0-9]+:[0-9]+:[0-9]+$/.test(n)).sort();
  for (const t of targets) {
    const targetDir = path.join(sessionDevice, t);
    const [h] = t.slice(6).split(':').map(Number);
    if (Number.isSafeInteger(h)) hostFromTarget = h;
    const luns = (await listDir(targetDir))
      .map((n) => /^([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,16})$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null && Number.isSafeInteger(Number(m[4])));
    const read = await Promise.all(
      luns.map((m) => readDisk(root, targetDir, m[0], Number(m[4]), address, port, target).catch((err) => {
        if (isGone(err)) return null;
        throw err;
      })),
    );
    for (const d of read) if (d) disks.push(d);
  }
  disks.sort((a, b) => {
    const ta = Number(a.hctl.split(':')[2]);
    const tb = Number(b.hctl.split(':')[2]);
    return ta - tb || a.lun - b.lun;
  });
  return { disks, hostFromTarget };
}

/** hostH from the session's device path (…/hostH/sessionS), as open-iscsi does. */
async function hostOfSession(sessionDevice: string, sid: number): Promise<number | null | undefined> {
  let real: string;
  try {
    real = await fsp.realpath(sessionDevice);
  } catch (err) {
    if (isGone(err)) return undefined;
    return null;
  }
  if (path.basename(real) !== `session${sid}`) return null;
  const m = /^host([0-9]{1,10})$/.exec(path.basename(path.dirname(real)));
  return m ? Number(m[1]) : null;
}

/**
 * One session, or null when it does not exist, is vanishing, or is not
 * complete yet (iscsid sets targetname and the portal right after the kernel
 * creates the session; until then they read "(null)").
 */
async function readSessionAt(root: string, sid: number): Promise<KernelSession | null> {
  const sessDir = path.join(root, 'sys/class/iscsi_session', `session${sid}`);
  const connDir = path.join(root, 'sys/class/iscsi_connection', `connection${sid}:0`);
  const attr = (dir: string, name: string): Promise<string | null | undefined> => readAttr(path.join(dir, name));
  const [targetRaw, tpgtRaw, ifaceRaw, stateRaw, initiatorRaw, pAddr, pPort, cAddr, cPort] = await Promise.all([
    attr(sessDir, 'targetname'),
    attr(sessDir, 'tpgt'),
    attr(sessDir, 'ifacename'),
    attr(sessDir, 'state'),
    attr(sessDir, 'initiatorname'),
    attr(connDir, 'persistent_address'),
    attr(connDir, 'persistent_port'),
    attr(connDir, 'address'),
    attr(connDir, 'port'),
  ]);
  const target = nameAttr(targetRaw);
  if (target === null) return null;
  const okAddr = (a: string | null | undefined): a is string =>
    typeof a === 'string' && a.length > 0 && a.length <= 255 && !/\s/.test(a);
  const okPort = (p: number | null): p is number => p !== null && p >= 1 && p <= 65535;
  const address = okAddr(pAddr) ? pAddr : okAddr(cAddr) ? cAddr : null;
  const pp = parseIntAttr(pPort);
  const cp = parseIntAttr(cPort);
  const port = okPort(pp) ? pp : okPort(cp) ? cp : null;
  if (address === null || port === null) return null;
  const tpgt = parseIntAttr(tpgtRaw);
  const state = typeof stateRaw === 'string' && /^[A-Z_]{1,32}$/.test(stateRaw) ? stateRaw : 'UNKNOWN';

  const sessionDevice = path.join(sessDir, 'device');
  const host = await hostOfSession(sessionDevice, sid);
  if (host === undefined) {
    // No device link: gone if the session directory went too.
    if ((await listDir(sessDir)).length === 0) return null;
  }
  const { disks, hostFromTarget } = await readDisks(root, sessionDevice, address, port, target);
  return {
    sid,
    target,
    address,
    port,
    tpgt: tpgt ?? -1,
    iface: nameAttr(ifaceRaw) ?? 'default',
    state,
    host: host ?? hostFromTarget,
    initiatorName: nameAttr(initiatorRaw),
    disks,
  };
}

async function listSessionIds(root: string): Promise<number[]> {
  const dir = path.join(root, 'sys/class/iscsi_session');
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    // No iscsi_session class: scsi_transport_iscsi is not loaded, so no sessions.
    if (isGone(err)) return [];
    const code = errCode(err);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new IscsiError(ErrorCodes.PERMISSION_DENIED, `Listing kernel iSCSI sessions failed: ${dir} is not readable (${code})`, {
        cause: err,
      });
    }
    throw new IscsiError(code ?? 'EIO', `Listing kernel iSCSI sessions failed: cannot read ${dir} (${code ?? 'error'})`, {
      cause: err,
    });
  }
  const ids: number[] = [];
  for (const n of names) {
    const m = /^session([0-9]{1,9})$/.exec(n);
    if (m) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

async function readAll(root: string): Promise<KernelSession[]> {
  const ids = await listSessionIds(root);
  const sessions = await Promise.all(ids.map((sid) => readSessionAt(root, sid)));
  return sessions.filter((s): s is KernelSession => s !== null);
}

// --- public API -------------------------------------------------------------------------------

/** Every kernel iSCSI session (/sys/class/iscsi_session/sessionN), sorted by sid. */
export async function readSessions(options?: KernelOptions): Promise<KernelSession[]> {
  const v = validateKernelOptions(options);
  const ctx: ErrorContext = { operation: 'listing kernel iSCSI sessions' };
  return raceSignal(readAll(v.root), ctx, v.signal, v.timeoutMs);
}

/** Session `sid`, or null when there is none (or it is not complete yet). */
export async function readSession(sid: number, options?: KernelOptions): Promise<KernelSession | null> {
  if (typeof sid !== 'number' || !Number.isSafeInteger(sid) || sid < 0 || sid > 999_999_999) {
    throw invalidArg('sid', sid, 'must be a non-negative integer session id');
  }
  const v = validateKernelOptions(options);
  const ctx: ErrorContext = { operation: `reading kernel iSCSI session ${sid}` };
  return raceSignal(readSessionAt(v.root, sid), ctx, v.signal, v.timeoutMs);
}

interface ValidatedMatch {
  target: string;
  address?: string;
  port?: number;
  tpgt?: number;
  iface?: string;
}

function validateMatch(match: unknown): ValidatedMatch {
  if (match === null || typeof match !== 'object' || Array.isArray(match)) {
    throw invalidArg('match', match, 'must be an object with a target');
  }
  const m = match as Record<string, unknown>;
  if (typeof m.target !== 'string' || m.target.length === 0) {
    throw invalidArg('match.target', m.target, 'must be a non-empty target name');
  }
  const out: ValidatedMatch = { target: m.target };
  if (m.address !== undefined) {
    if (typeof m.address !== 'string' || m.address.length === 0) {
      throw invalidArg('match.address', m.address, 'must be a non-empty address');
    }
    out.address = m.address;
  }
  if (m.port !== undefined) {
    if (typeof m.port !== 'number' || !Number.isInteger(m.port) || m.port < 1 || m.port > 65535) {
      throw invalidArg('match.port', m.port, 'must be an integer between 1 and 65535');
    }
    out.port = m.port;
  }
  if (m.tpgt !== undefined) {
    if (typeof m.tpgt !== 'number' || !Number.isInteger(m.tpgt) || m.tpgt < -1 || m.tpgt > 65535) {
      throw invalidArg('match.tpgt', m.tpgt, 'must be an integer between -1 and 65535');
    }
    out.tpgt = m.tpgt;
  }
  if (m.iface !== undefined) {
    if (typeof m.iface !== 'string' || m.iface.length === 0) {
      throw invalidArg('match.iface', m.iface, 'must be a non-empty iface name');
    }
    out.iface = m.iface;
  }
  return out;
}

function matches(s: KernelSession, m: ValidatedMatch): boolean {
  if (s.target !== m.target) return false;
  if (m.address !== undefined && canonicalAddress(s.address) !== canonicalAddress(m.address)) return false;
  if (m.port !== undefined && s.port !== m.port) return false;
  if (m.tpgt !== undefined && m.tpgt !== -1 && s.tpgt !== m.tpgt) return false;
  if (m.iface !== undefined && s.iface !== m.iface) return false;
  return true;
}

/** The sessions to `match.target` (and the portal, tpgt, iface when given), sorted by sid. */
export async function findSessions(match: SessionMatch, options?: KernelOptions): Promise<KernelSession[]> {
  const m = validateMatch(match);
  const v = validateKernelOptions(options);
  const ctx: ErrorContext = { operation: 'finding kernel iSCSI sessions', target: m.target, portal: portalText(m.address, m.port) };
  const all = await raceSignal(readAll(v.root), ctx, v.signal, v.timeoutMs);
  return all.filter((s) => matches(s, m));
}

/** What a candidate still lacks, or null when it is ready. */
function missing(s: KernelSession, wantDisks: number): string | null {
  if (s.state !== 'LOGGED_IN') return `session ${s.sid} is ${s.state}, not LOGGED_IN`;
  const ready = s.disks.filter((d) => d.device !== null).length;
  if (ready < wantDisks) {
    return `session ${s.sid} has ${ready} of ${wantDisks} disk${wantDisks === 1 ? '' : 's'} with a block device`;
  }
  return null;
}

/**
 * Polls sysfs until a session matching `match` is LOGGED_IN (and, with
 * requireDisks, has that many disks with a block device). Rejects with
 * ETIMEDOUT naming what was still missing, or ABORT_ERR.
 */
export function waitForSession(match: SessionMatch, options?: WaitForSessionOptions): Promise<KernelSession> {
  let m: ValidatedMatch;
  let v: ReturnType<typeof validateKernelOptions>;
  let pollMs: number;
  let wantDisks: number;
  try {
    m = validateMatch(match);
    v = validateKernelOptions(options);
    pollMs = validateTimeout(v.raw.pollMs, 'options.pollMs', DEFAULT_POLL_MS);
    const rd = v.raw.requireDisks;
    if (rd === undefined || rd === false) wantDisks = 0;
    else if (rd === true) wantDisks = 1;
    else if (typeof rd === 'number' && Number.isInteger(rd) && rd >= 0 && rd <= 65536) wantDisks = rd;
    else throw invalidArg('options.requireDisks', rd, 'must be a boolean or a non-negative integer');
  } catch (err) {
    return Promise.reject(err);
  }
  const portal = portalText(m.address, m.port);
  const ctx: ErrorContext = { operation: 'waiting for the kernel iSCSI session', target: m.target, portal };
  if (v.signal?.aborted) return Promise.reject(abortError(ctx));
  const signal = v.signal;
  const timeoutMs = v.timeoutMs;

  return new Promise<KernelSession>((resolve, reject) => {
    let settled = false;
    let pollTimer: NodeJS.Timeout | undefined;
    let lastMissing = `no session to ${m.target}${portal ? ` at ${portal}` : ''}`;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(pollTimer);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => finish(() => reject(abortError(ctx)));
    const deadline = setTimeout(() => {
      finish(() =>
        reject(
          new IscsiError(
            ErrorCodes.ETIMEDOUT,
            `Waiting for the kernel iSCSI session timed out after ${timeoutMs} ms: ${lastMissing}`,
            { target: m.target, portal },
          ),
        ),
      );
    }, Math.min(timeoutMs, MAX_TIMEOUT_MS));
    signal?.addEventListener('abort', onAbort, { once: true });

    const poll = async (): Promise<void> => {
      pollTimer = undefined;
      try {
        const found = (await readAll(v.root)).filter((s) => matches(s, m));
        if (settled) return;
        let best: string | null = null;
        for (const s of found) {
          const why = missing(s, wantDisks);
          if (why === null) {
            finish(() => resolve(s));
            return;
          }
          best ??= why;
        }
        if (best !== null) lastMissing = best;
        else lastMissing = `no session to ${m.target}${portal ? ` at ${portal}` : ''}`;
        pollTimer = setTimeout(() => void poll(), pollMs);
      } catch (err) {
        finish(() => reject(err));
      }
    };
    void poll();
  });
}
