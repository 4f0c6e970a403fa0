/**
 * Kernel iSCSI sessions through iscsid, exactly as `iscsiadm -m node
 * --login/--logout` does it, without running iscsiadm:
 *
 *   login():  node record = open-iscsi defaults ⊕ iscsid.conf ⊕ the stored
 *             node ⊕ the caller's auth/parameters  →  MGMT_IPC_SESSION_LOGIN
 *             (the core probes iscsid's layout first)  →  find the session
 *             in sysfs (the reply carries no sid)  →  wait for its disks.
 *   logout(): sid from sysfs  →  MGMT_IPC_SESSION_LOGOUT  →  wait until the
 *             session is gone from sysfs.
 *   sessions(): sysfs only.
 */
import { ErrorCodes, IscsiError, invalidArg, type ErrorContext } from '../errors';
import { formatPortal } from '../portal';
import { Deadline, validateOptionsObject, validateSignal, validateTimeout } from '../options';
import { iscsiNameProblem } from '../initiator-name';
import { iscsidCall, IscsidCommand, iscsidInfo as queryIscsid, type IscsidInfo } from './iscsid';
import { buildNodeRecord } from './node-db';
import { readSessions, waitForSession } from './sysfs';
import { openSession } from '../session';
import type { Chap, KernelOptions, KernelSession, Node } from './types';

/** iscsid retries a failing login itself (initial_login_retry_max ×
 * login_timeout: 8 × 15 s with Debian's iscsid.conf), so give it room. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 150_000;
export const DEFAULT_LOGOUT_TIMEOUT_MS = 60_000;
export const DEFAULT_SESSIONS_TIMEOUT_MS = 10_000;
/** After iscsid answered, how long block devices may take to register. */
const DISK_SETTLE_MS = 15_000;

export interface LoginOptions extends KernelOptions {
  /** CHAP for this login (node.session.auth.*); overrides the stored node's
   * and a FirmwareNode's own `auth`; null logs in without CHAP. */
  auth?: Chap | null;
  /** Extra open-iscsi node parameters, e.g. { 'node.session.timeo.replacement_timeout': '30' }. */
  parameters?: Record<string, string>;
  /** open-iscsi iface (default: the node's, else "default"). */
  iface?: string;
  /** Wait until every LUN of the session has a block device (default true). */
  waitForDisks?: boolean;
  /** Abstract socket name of iscsid (tests only). */
  iscsidSocket?: string;
}

export interface LogoutOptions extends KernelOptions {
  iscsidSocket?: string;
}

const PRINTABLE_RE = /^[\x21-\x7e]+$/;

function validateNode(value: unknown, name: string): Required<Pick<Node, 'target' | 'address' | 'port' | 'iface'>> & { tpgt?: number } {
  if (typeof value !== 'object' || value === null) throw invalidArg(name, value, 'must be an object { target, address, port? }');
  const n = value as Partial<Node>;
  const problem = iscsiNameProblem(n.target);
  if (problem) throw invalidArg(`${name}.target`, n.target, problem);
  if (typeof n.address !== 'string' || !n.address || !PRINTABLE_RE.test(n.address) || n.address.length > 1024) {
    throw invalidArg(`${name}.address`, n.address, 'must be an IPv4 or IPv6 address');
  }
  const port = n.port ?? 3260;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArg(`${name}.port`, n.port, 'must be 1..65535');
  if (n.tpgt !== undefined && (!Number.isInteger(n.tpgt) || n.tpgt < -1 || n.tpgt > 65535)) {
    throw invalidArg(`${name}.tpgt`, n.tpgt, 'must be -1..65535');
  }
  const iface = n.iface ?? 'default';
  if (typeof iface !== 'string' || !/^[\w.:-]{1,64}$/.test(iface)) throw invalidArg(`${name}.iface`, n.iface, 'must be an iface name');
  const address = n.address.startsWith('[') && n.address.endsWith(']') ? n.address.slice(1, -1) : n.address;
  return { target: n.target as string, address, port, iface, tpgt: n.tpgt };
}

function validateChap(value: unknown): Chap | null | undefined {
  if (value === undefined || value === null) return value as null | undefined;
  if (typeof value !== 'object') throw invalidArg('options.auth', value, 'must be { username, password, reverseUsername?, reversePassword? }');
  const c = value as Partial<Chap>;
  const str = (v: unknown, key: string, required: boolean): void => {
    if (v === undefined && !required) return;
    // Never echo a secret: describe only its type/length.
    if (typeof v !== 'string' || !v || v.length > 255 || /[\0\n]/.test(v)) {
      throw new IscsiError(ErrorCodes.INVALID_ARG, `The argument 'options.auth.${key}' must be a non-empty string of at most 255 characters without NUL or newline`);
    }
  };
  str(c.username, 'username', true);
  str(c.password, 'password', true);
  str(c.reverseUsername, 'reverseUsername', c.reversePassword !== undefined);
  str(c.reversePassword, 'reversePassword', c.reverseUsername !== undefined);
  return c as Chap;
}

function samePortal(s: KernelSession, n: { target: string; address: string; port: number; iface: string }): boolean {
  return s.target === n.target && s.address === n.address && s.port === n.port && s.iface === n.iface;
}

/**
 * Logs in to `node` through iscsid and resolves with the kernel session
 * (its disks included) once sysfs shows it. Requires uid 0, a running
 * iscsid in this network namespace and the iscsi_tcp module.
 */
export async function login(node: Node, options: LoginOptions = {}): Promise<KernelSession> {
  const opts = validateOptionsObject(options);
  const signal = validateSignal(opts.signal);
  const timeoutMs = validateTimeout(opts.timeoutMs, 'options.timeoutMs', DEFAULT_LOGIN_TIMEOUT_MS);
  const n = validateNode(node, 'node');
  if (opts.iface !== undefined) n.iface = validateNode({ ...n, iface: opts.iface }, 'options').iface;
  // A FirmwareNode from discoverFirmware() carries the firmware's CHAP: use
  // it unless the caller passes auth explicitly (null = no CHAP).
  const nodeAuth = (node as { auth?: unknown } | null)?.auth;
  const auth = validateChap(opts.auth !== undefined ? opts.auth : nodeAuth);
  const parameters = opts.parameters as Record<string, string> | undefined;
  if (parameters !== undefined) {
    if (typeof parameters !== 'object' || parameters === null) throw invalidArg('options.parameters', parameters, 'must be an object of strings');
    for (const [k, v] of Object.entries(parameters)) {
      if (!/^(node|iface)\.[\w.[\]]+$/.test(k)) throw invalidArg('options.parameters', k, 'must use open-iscsi node keys such as node.session.timeo.replacement_timeout');
      if (typeof v !== 'string' || /[\0\n]/.test(v)) throw new IscsiError(ErrorCodes.INVALID_ARG, `The parameter '${k}' must be a string without NUL or newline`);
    }
  }
  const root = typeof opts.root === 'string' ? opts.root : undefined;
  const portal = formatPortal(n.address, n.port);
  const ctx: ErrorContext = { operation: 'login', target: n.target, portal };
  const deadline = new Deadline(timeoutMs);

  // iscsid would answer ISCSI_ERR_SESS_EXISTS; saying so up front is clearer
  // and costs one sysfs walk.
  const existing = (await readSessions({ root, signal, timeoutMs: deadline.remaining() })).find((s) => samePortal(s, n));
  if (existing) {
    throw new IscsiError(ErrorCodes.ALREADY_LOGGED_IN, `Login failed (target ${n.target}, portal ${portal}): session ${existing.sid} to this node already exists; log out first`, { target: n.target, portal });
  }

  const record = await buildNodeRecord({ target: n.target, address: n.address, port: n.port, tpgt: n.tpgt, iface: n.iface }, { root, signal, timeoutMs: deadline.remaining() });
  const rec: Record<string, string> = { ...record };
  if (auth) {
    rec['node.session.auth.authmethod'] = 'CHAP';
    rec['node.session.auth.username'] = auth.username;
    rec['node.session.auth.password'] = auth.password;
    rec['node.session.auth.username_in'] = auth.reverseUsername ?? '';
    rec['node.session.auth.password_in'] = auth.reversePassword ?? '';
  } else if (auth === null) {
    rec['node.session.auth.authmethod'] = 'None';
    for (const k of ['username', 'password', 'username_in', 'password_in']) rec[`node.session.auth.${k}`] = '';
  }
  Object.assign(rec, parameters ?? {});
  const keys = Object.keys(rec);
  const values = keys.map((k) => rec[k]);

  // iscsid 2.1.10 never answers when node.session.scan = manual
  // (open-iscsi#484): then the session showing up in sysfs is the answer.
  const manualScan = rec['node.session.scan'] === 'manual';
  const loginCall = iscsidCall((c) => c.login(keys, values), ctx, { signal, timeoutMs: deadline.remaining(), socketName: opts.iscsidSocket as string | undefined });
  values.fill('');
  if (manualScan) {
    const appeared = new AbortController();
    const viaSysfs = waitForSession(n, { root, signal: appeared.signal, timeoutMs: deadline.remaining() }).then(
      () => 'sysfs' as const,
      () => new Promise<never>(() => undefined),
    );
    try {
      await Promise.race([loginCall, viaSysfs]);
    } finally {
      appeared.abort();
      loginCall.catch(() => undefined);
    }
  } else {
    try {
      await loginCall;
    } catch (err) {
      throw await diagnose(err, n, rec, deadline.remaining(), signal);
    }
  }

  const waitForDisks = opts.waitForDisks !== false;
  let session = await waitForSession(n, { root, signal, timeoutMs: deadline.remaining() });
  if (waitForDisks && session.disks.some((d) => d.device === null)) {
    session = await waitForSession(n, {
      root,
      signal,
      timeoutMs: Math.min(deadline.remaining(), DISK_SETTLE_MS),
      requireDisks: session.disks.length,
    }).catch(() => session);
  }
  return session;
}

/**
 * iscsid folds every initiator-class login failure except "authentication
 * failed" into ISCSI_ERR_FATAL_LOGIN (19) -- including a target that fails
 * mutual CHAP and "target not found". Our own userspace login with the same
 * name and credentials tells them apart; the original error stays the cause.
 */
async function diagnose(
  err: unknown,
  n: { target: string; address: string; port: number },
  rec: Record<string, string>,
  budgetMs: number,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  if (!(err instanceof IscsiError) || err.iscsidError !== 19 || budgetMs < 500 || signal?.aborted) return err;
  const str = (k: string): string | undefined => {
    const v = rec[k];
    return v && v !== '<empty>' ? v : undefined;
  };
  const auth =
    rec['node.session.auth.authmethod'] === 'CHAP' && str('node.session.auth.username') && str('node.session.auth.password')
      ? {
          username: str('node.session.auth.username') as string,
          password: str('node.session.auth.password') as string,
          reverseUsername: str('node.session.auth.username_in'),
          reversePassword: str('node.session.auth.password_in'),
        }
      : undefined;
  if (auth && (auth.reverseUsername === undefined) !== (auth.reversePassword === undefined)) return err;
  try {
    const probe = await openSession(n, {
      auth,
      initiatorName: str('iface.initiatorname') ?? (await queryIscsid({ signal, timeoutMs: Math.min(budgetMs, 5000) })).initiatorName,
      signal,
      timeoutMs: Math.min(budgetMs, 15_000),
    });
    await probe.close().catch(() => undefined);
    return err;
  } catch (probeErr) {
    if (!(probeErr instanceof IscsiError) || probeErr.code === ErrorCodes.ABORT_ERR || probeErr.code === ErrorCodes.ETIMEDOUT) return err;
    return new IscsiError(
      probeErr.code,
      `${err.message}. A userspace login with the same initiator name and credentials says: ${probeErr.message}`,
      {
        target: err.target,
        portal: err.portal,
        statusClass: probeErr.statusClass,
        statusDetail: probeErr.statusDetail,
        iscsidError: err.iscsidError,
        iscsidErrorName: err.iscsidErrorName,
        cause: err,
      },
    );
  }
}

/** Logs out of a session (by KernelSession/sid) or of every session to a node. */
export async function logout(target: Node | KernelSession | number, options: LogoutOptions = {}): Promise<void> {
  const opts = validateOptionsObject(options);
  const signal = validateSignal(opts.signal);
  const timeoutMs = validateTimeout(opts.timeoutMs, 'options.timeoutMs', DEFAULT_LOGOUT_TIMEOUT_MS);
  const root = typeof opts.root === 'string' ? opts.root : undefined;
  const deadline = new Deadline(timeoutMs);
  const all = await readSessions({ root, signal, timeoutMs: deadline.remaining() });
  let victims: KernelSession[];
  let ctx: ErrorContext;
  if (typeof target === 'number' || (typeof target === 'object' && target !== null && 'sid' in target && typeof (target as KernelSession).sid === 'number')) {
    const sid = typeof target === 'number' ? target : (target as KernelSession).sid;
    if (!Number.isInteger(sid) || sid < 0) throw invalidArg('target', target, 'must be a session, a sid or a node');
    victims = all.filter((s) => s.sid === sid);
    ctx = { operation: 'logout', target: victims[0]?.target };
    if (!victims.length) throw new IscsiError(ErrorCodes.SESSION_NOT_FOUND, `Logout failed: there is no session ${sid}`);
  } else {
    const n = validateNode(target, 'target');
    const portal = formatPortal(n.address, n.port);
    ctx = { operation: 'logout', target: n.target, portal };
    victims = all.filter((s) => s.target === n.target && s.address === n.address && s.port === n.port && (!(target as Node).iface || s.iface === n.iface));
    if (!victims.length) throw new IscsiError(ErrorCodes.SESSION_NOT_FOUND, `Logout failed (target ${n.target}, portal ${portal}): no session to this node`, { target: n.target, portal });
  }
  for (const s of victims) {
    const sctx = { ...ctx, target: s.target, portal: formatPortal(s.address, s.port) };
    await iscsidCall((c) => c.request(IscsidCommand.SESSION_LOGOUT, s.sid), sctx, { signal, timeoutMs: deadline.remaining(), socketName: opts.iscsidSocket as string | undefined });
  }
  // iscsid answers once the kernel session is destroyed; sysfs follows.
  const sids = new Set(victims.map((s) => s.sid));
  while ((await readSessions({ root, signal, timeoutMs: deadline.remaining() })).some((s) => sids.has(s.sid))) {
    if (deadline.remaining() === 0) throw new IscsiError(ErrorCodes.ETIMEDOUT, `Logout timed out waiting for session(s) ${[...sids].join(', ')} to leave sysfs`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every kernel iSCSI session with its disks (sysfs; no iscsid needed). */
export async function sessions(options: KernelOptions = {}): Promise<KernelSession[]> {
  const opts = validateOptionsObject(options);
  const signal = validateSignal(opts.signal);
  const timeoutMs = validateTimeout(opts.timeoutMs, 'options.timeoutMs', DEFAULT_SESSIONS_TIMEOUT_MS);
  return readSessions({ root: typeof opts.root === 'string' ? opts.root : undefined, signal, timeoutMs });
}

/**
 * What the running iscsid is: its request layout (the open-iscsi releases
 * sharing it), initiator name and config file. Fails with
 * ISCSID_NOT_RUNNING, ISCSI_PERMISSION_DENIED (uid 0 needed) or
 * ISCSID_UNSUPPORTED_VERSION like login() would, without logging in.
 */
export async function iscsidInfo(options: KernelOptions & { iscsidSocket?: string } = {}): Promise<IscsidInfo> {
  const opts = validateOptionsObject(options);
  const signal = validateSignal(opts.signal);
  const timeoutMs = validateTimeout(opts.timeoutMs, 'options.timeoutMs', DEFAULT_SESSIONS_TIMEOUT_MS);
  return queryIscsid({ signal, timeoutMs, socketName: opts.iscsidSocket as string | undefined });
}
