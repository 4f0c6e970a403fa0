/**
 * The one error type of the public API.
 *
 * Native failures arrive as plain Errors carrying `NativeErrorInfo`
 * (`code`, `statusClass`, ...); the facade re-wraps them so every rejection
 * users see is an `IscsiError` with a stable string `code` plus the target
 * and portal involved. Messages are built only from names, addresses and
 * codes: no function in this module ever receives a secret.
 */
import type { SenseData } from './scsi';

/** Codes the facade itself produces or documents. Native codes pass through
 * unchanged, so `code` is typed as string. */
export const ErrorCodes = {
  AUTH_FAILED: 'ISCSI_AUTH_FAILED',
  TARGET_NOT_FOUND: 'ISCSI_TARGET_NOT_FOUND',
  LOGIN_REJECTED: 'ISCSI_LOGIN_REJECTED',
  PROTOCOL_ERROR: 'ISCSI_PROTOCOL_ERROR',
  SESSION_CLOSED: 'ISCSI_SESSION_CLOSED',
  SCSI_ERROR: 'ISCSI_SCSI_ERROR',
  TOO_MANY_REDIRECTS: 'ISCSI_TOO_MANY_REDIRECTS',
  ETIMEDOUT: 'ETIMEDOUT',
  ECONNREFUSED: 'ECONNREFUSED',
  EHOSTUNREACH: 'EHOSTUNREACH',
  ABORT_ERR: 'ABORT_ERR',
  INVALID_ARG: 'ERR_INVALID_ARG_VALUE',
  // Kernel sessions through iscsid (issue 4).
  ISCSID_NOT_RUNNING: 'ISCSID_NOT_RUNNING',
  ISCSID_UNSUPPORTED_VERSION: 'ISCSID_UNSUPPORTED_VERSION',
  ISCSID_ERROR: 'ISCSID_ERROR',
  PERMISSION_DENIED: 'ISCSI_PERMISSION_DENIED',
  ALREADY_LOGGED_IN: 'ISCSI_ALREADY_LOGGED_IN',
  SESSION_NOT_FOUND: 'ISCSI_SESSION_NOT_FOUND',
  TRANSPORT_NOT_FOUND: 'ISCSI_TRANSPORT_NOT_FOUND',
  NODE_NOT_FOUND: 'ISCSI_NODE_NOT_FOUND',
  NODE_DB_ERROR: 'ISCSI_NODE_DB_ERROR',
  NODE_DB_LOCKED: 'ISCSI_NODE_DB_LOCKED',
  CONFIG_ERROR: 'ISCSI_CONFIG_ERROR',
  DRACUT_UNREPRESENTABLE: 'DRACUT_UNREPRESENTABLE',
  // Userspace block I/O (issue 6).
  LBA_OUT_OF_RANGE: 'ISCSI_LBA_OUT_OF_RANGE',
  // Block commands (lib/block-commands.ts): the LUN does not advertise the
  // capability a command needs (e.g. UNMAP without LBPU), so nothing was sent.
  NOT_SUPPORTED: 'ISCSI_NOT_SUPPORTED',
  // The target asked for a logout (Async Message) and the session ended
  // (options.targetLogout 'logout', or reconnect off).
  TARGET_LOGOUT: 'ISCSI_TARGET_LOGOUT',
} as const;

export interface IscsiErrorDetails {
  statusClass?: number;
  statusDetail?: number;
  target?: string;
  portal?: string;
  scsiStatus?: number;
  sense?: SenseData;
  errno?: number;
  /** iscsid's ISCSI_ERR_* number and name, for failures iscsid reported. */
  iscsidError?: number;
  iscsidErrorName?: string;
  cause?: unknown;
}

export class IscsiError extends Error {
  readonly code: string;
  /** Login status class/detail (RFC 7143 11.13.5) when the target refused. */
  declare readonly statusClass?: number;
  declare readonly statusDetail?: number;
  declare readonly target?: string;
  /** "addr:port" as the user named it (or as redirected). */
  declare readonly portal?: string;
  /** SCSI status byte for ISCSI_SCSI_ERROR. */
  declare readonly scsiStatus?: number;
  /** Decoded sense data for CHECK CONDITION. */
  declare readonly sense?: SenseData;
  /** errno behind a socket failure. */
  declare readonly errno?: number;
  /** iscsid's own error number (open-iscsi ISCSI_ERR_*) and name. */
  declare readonly iscsidError?: number;
  declare readonly iscsidErrorName?: string;

  constructor(code: string, message: string, details: IscsiErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    // Only define the properties that carry a value (the optional fields are
    // `declare`d so ES2022 class fields do not create them as undefined).
    if (details.statusClass !== undefined && details.statusClass >= 0) this.statusClass = details.statusClass;
    if (details.statusDetail !== undefined && details.statusDetail >= 0) this.statusDetail = details.statusDetail;
    if (details.target !== undefined) this.target = details.target;
    if (details.portal !== undefined) this.portal = details.portal;
    if (details.scsiStatus !== undefined) this.scsiStatus = details.scsiStatus;
    if (details.sense !== undefined) this.sense = details.sense;
    if (details.errno !== undefined && details.errno !== 0) this.errno = details.errno;
    if (details.iscsidError !== undefined) this.iscsidError = details.iscsidError;
    if (details.iscsidErrorName !== undefined) this.iscsidErrorName = details.iscsidErrorName;
  }
}

// On the prototype (not an own enumerable field) so inspect/JSON output
// shows only the codes and details.
Object.defineProperty(IscsiError.prototype, 'name', { value: 'IscsiError', writable: true, configurable: true });

/** Argument validation failure (mirrors Node's ERR_INVALID_ARG_VALUE). */
export function invalidArg(name: string, value: unknown, reason: string): IscsiError {
  return new IscsiError(ErrorCodes.INVALID_ARG, `The argument '${name}' ${reason}. Received ${describeValue(value)}`);
}

/** A short, secret-free rendering of a rejected argument. Strings are
 * truncated; objects are described by type only (they may hold secrets). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 64 ? `${value.slice(0, 64)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
}

/** Where an operation ran, for messages and error properties. */
export interface ErrorContext {
  /** What was attempted, e.g. "SendTargets discovery", "login". */
  operation: string;
  target?: string;
  portal?: string;
}

/** What the user should check, per code. Appended to native messages that
 * do not already carry advice. */
const HINTS: Record<string, string> = {
  ISCSI_AUTH_FAILED: 'check the CHAP user names and secrets configured on both sides',
  ISCSI_TARGET_NOT_FOUND: 'check the target name (run discovery to list the names this portal serves)',
  ISCSI_LOGIN_REJECTED: 'check the target ACLs (initiator name / address) and its logs',
  ISCSI_PROTOCOL_ERROR: 'the peer sent data that is not valid iSCSI; check that the port is an iSCSI target',
  ISCSI_TOO_MANY_REDIRECTS: 'the target keeps redirecting the login; check its portal configuration',
  ETIMEDOUT: 'check that the target is reachable and responsive, or raise timeoutMs',
  ECONNREFUSED: 'check the address and port, and that the target daemon is running',
  EHOSTUNREACH: 'check the network route to the target',
  ISCSI_SESSION_CLOSED: 'open a new session',
  ISCSI_TARGET_LOGOUT: 'the target ended the session (e.g. for maintenance or to move it); open a new session, or use targetLogout: "relogin"',
  ISCSID_NOT_RUNNING: 'start iscsid (systemctl start iscsid, or its socket unit); from a container, share the host network namespace',
  ISCSID_UNSUPPORTED_VERSION: 'this open-iscsi release uses a request layout this library does not know; please report its version',
  ISCSI_PERMISSION_DENIED: 'iscsid only accepts requests from uid 0',
  ISCSI_TRANSPORT_NOT_FOUND: 'load the iscsi_tcp kernel module (modprobe iscsi_tcp); check that the kernel supports iSCSI',
  ISCSI_ALREADY_LOGGED_IN: 'log out first, or use sessions() to find the existing session',
  ISCSI_SESSION_NOT_FOUND: 'list the current sessions with sessions()',
};

function where(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.target) parts.push(`target ${ctx.target}`);
  if (ctx.portal) parts.push(`portal ${ctx.portal}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** Converts whatever a native call rejected with into an IscsiError. */
export function fromNative(err: unknown, ctx: ErrorContext): IscsiError {
  if (err instanceof IscsiError) return err;
  const e = (err ?? {}) as Partial<Error> & {
    code?: unknown;
    statusClass?: unknown;
    statusDetail?: unknown;
    errno?: unknown;
  };
  const code = typeof e.code === 'string' && e.code ? e.code : 'ISCSI_ERROR';
  const nativeMsg = typeof e.message === 'string' ? e.message.trim() : '';
  let message: string;
  if (code === ErrorCodes.ABORT_ERR) {
    message = `${cap(ctx.operation)} was aborted${where(ctx)}`;
  } else if (code === ErrorCodes.ETIMEDOUT && !nativeMsg) {
    message = `${cap(ctx.operation)} timed out${where(ctx)}; ${HINTS.ETIMEDOUT}`;
  } else {
    message = `${cap(ctx.operation)} failed${where(ctx)}: ${nativeMsg || code}`;
    const hint = HINTS[code];
    if (hint && !/check/i.test(nativeMsg)) message += `; ${hint}`;
  }
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return new IscsiError(code, message, {
    statusClass: num(e.statusClass),
    statusDetail: num(e.statusDetail),
    errno: num(e.errno),
    target: ctx.target,
    portal: ctx.portal,
  });
}

export function abortError(ctx: ErrorContext): IscsiError {
  return new IscsiError(ErrorCodes.ABORT_ERR, `${cap(ctx.operation)} was aborted${where(ctx)}`, {
    target: ctx.target,
    portal: ctx.portal,
  });
}

export function timeoutError(ctx: ErrorContext, ms: number): IscsiError {
  return new IscsiError(
    ErrorCodes.ETIMEDOUT,
    `${cap(ctx.operation)} timed out after ${ms} ms${where(ctx)}; ${HINTS.ETIMEDOUT}`,
    { target: ctx.target, portal: ctx.portal },
  );
}

export function sessionClosedError(ctx: ErrorContext): IscsiError {
  return new IscsiError(
    ErrorCodes.SESSION_CLOSED,
    `${cap(ctx.operation)} failed${where(ctx)}: the session is closed; ${HINTS.ISCSI_SESSION_CLOSED}`,
    { target: ctx.target, portal: ctx.portal },
  );
}

function cap(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
