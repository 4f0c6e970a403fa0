/**
 * Normal sessions: openSession() and the Session class.
 *
 * Also holds loginFirst(), the connect-and-login step discovery shares:
 * resolve a host name under the caller's signal and deadline, then try the
 * addresses in order until one logs in (first success wins; the error of
 * the last attempt is reported, as getaddrinfo users expect).
 *
 * Secrets: passwords become Buffers only for the NativeSession constructor
 * (which copies them into the C core) and are zero-filled right after. A
 * Session never holds them, so util.inspect(session) cannot show them.
 */
import { resolveHost } from './resolve';
import * as util from 'node:util';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import * as blockIo from './block-io';
import { asyncEvents, isCapacityChange, type AsyncEventInfo } from './async-events';
import * as blockCmd from './block-commands';
import {
  loadBinding,
  type NativeNegotiated,
  type NativeScsiResult,
  type NativeSession,
  type NativeSessionConfig,
  type NativeSessionEvent,
  type NativeAsyncMessage,
} from './native';
import {
  ErrorCodes,
  IscsiError,
  invalidArg,
  sessionClosedError,
  timeoutError,
  abortError,
  fromNative,
  type ErrorContext,
} from './errors';
import { parsePortal, formatPortal, type ParsedPortal } from './portal';
import {
  Deadline,
  raceSignal,
  runOperation,
  validateAuth,
  validateChapAlgorithms,
  validateDigest,
  validateMaxRecvDataSegmentLength,
  validateOptionsObject,
  validateSignal,
  validateTimeout,
  type ChapAlgorithm,
  type DigestOption,
  type OperationOptions,
  type ValidatedAuth,
  type AuthOptions,
} from './options';
import { resolveInitiatorName, validateIscsiName } from './initiator-name';
import { emit, nativeLogConfig, validateLogger, type Logger } from './log';
import {
  cdbInquiry,
  cdbReadCapacity10,
  cdbReadCapacity16,
  cdbReportLuns,
  decodeLun,
  describeSense,
  parseInquiry,
  parseReadCapacity10,
  parseReadCapacity16,
  parseReportLuns,
  parseSense,
  scsiStatusName,
  ScsiStatus,
  SenseKey,
  type Capacity,
  type Inquiry,
  type SenseData,
} from './scsi';

export const DEFAULT_LOGIN_TIMEOUT_MS = 15000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 30000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
const MAX_LUN = 16383;
const MAX_IN_LENGTH = 2 ** 30;

// ------------------------------------------------------------ loginFirst

export interface LoginParams {
  sessionType: 'discovery' | 'normal';
  initiatorName: string;
  targetName?: string;
  portal: ParsedPortal;
  auth?: ValidatedAuth;
  chapAlgorithms?: ChapAlgorithm[];
  headerDigest?: DigestOption;
  dataDigest?: DigestOption;
  commandTimeoutMs?: number;
  maxRecvDataSegmentLength?: number;
  /** Normal sessions: reinstatement and keepalive (validated). */
  recovery?: RecoverySettings;
  busyPollUs?: number;
  coalesce?: boolean;
  onEvent?: NativeSessionConfig['onEvent'];
  /** What a target's logout request leads to (SessionOptions.targetLogout). */
  targetLogout?: 'relogin' | 'logout';
  logger?: Logger;
  signal?: AbortSignal;
  deadline: Deadline;
  ctx: ErrorContext;
}

/** Validated reconnect/keepalive options of openSession(). */
export interface RecoverySettings {
  maxReconnects: number;
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  abortTimeoutMs: number;
}

async function resolveAddresses(p: LoginParams): Promise<string[]> {
  if (p.portal.family !== 0) return [p.portal.host];
  const lookupCtx = { ...p.ctx, operation: `resolving ${p.portal.host}` };
  let found: Array<{ address: string }>;
  try {
    found = await raceSignal(
      resolveHost(p.portal.host, { signal: p.signal }).then((a) => a.map((address) => ({ address }))),
      lookupCtx,
      p.signal,
      p.deadline.remaining(),
    );
  } catch (err) {
    if (err instanceof IscsiError) throw err;
    const code = (err as { code?: string }).code ?? 'ENOTFOUND';
    throw new IscsiError(
      code,
      `Could not resolve host ${p.portal.host} for ${p.ctx.operation}${p.ctx.target ? ` of target ${p.ctx.target}` : ''}: ${code}; check the host name and DNS configuration`,
      { target: p.ctx.target, portal: p.ctx.portal },
    );
  }
  if (found.length === 0) {
    throw new IscsiError('ENOTFOUND', `Host ${p.portal.host} has no addresses; check the host name`, {
      target: p.ctx.target,
      portal: p.ctx.portal,
    });
  }
  return found.map((f) => f.address);
}

function secretBuffer(s: string | undefined): Buffer | undefined {
  return s === undefined ? undefined : Buffer.from(s, 'utf8');
}

function createNative(p: LoginParams, address: string): NativeSession {
  const binding = loadBinding();
  const secret = secretBuffer(p.auth?.password);
  const reverseSecret = secretBuffer(p.auth?.reversePassword);
  const cfg: NativeSessionConfig = {
    sessionType: p.sessionType,
    initiatorName: p.initiatorName,
    address,
    port: p.portal.port,
    portalText: p.portal.text,
    loginTimeoutMs: Math.max(1, Math.ceil(p.deadline.remaining())),
    ...nativeLogConfig(p.logger, { target: p.targetName, portal: p.portal.text }),
  };
  if (p.targetName !== undefined) cfg.targetName = p.targetName;
  if (p.auth) {
    cfg.username = p.auth.username;
    cfg.secret = secret;
    if (p.auth.reverseUsername !== undefined) {
      cfg.reverseUsername = p.auth.reverseUsername;
      cfg.reverseSecret = reverseSecret;
    }
  }
  if (p.chapAlgorithms) cfg.chapAlgorithms = [...p.chapAlgorithms];
  if (p.headerDigest) cfg.headerDigest = p.headerDigest;
  if (p.dataDigest) cfg.dataDigest = p.dataDigest;
  if (p.maxRecvDataSegmentLength !== undefined) cfg.maxRecvDataSegmentLength = p.maxRecvDataSegmentLength;
  if (p.commandTimeoutMs !== undefined) cfg.commandTimeoutMs = Math.max(1, Math.ceil(p.commandTimeoutMs));
  if (p.recovery) {
    cfg.maxReconnects = p.recovery.maxReconnects;
    cfg.reconnectDelayMs = p.recovery.reconnectDelayMs;
    cfg.reconnectMaxDelayMs = p.recovery.reconnectMaxDelayMs;
    cfg.nopIntervalMs = p.recovery.keepaliveIntervalMs;
    cfg.nopTimeoutMs = p.recovery.keepaliveTimeoutMs;
    cfg.tmfTimeoutMs = p.recovery.abortTimeoutMs;
  }
  if (p.busyPollUs) cfg.busyPollUs = p.busyPollUs;
  if (p.coalesce) cfg.rxCoalesce = 1;
  if (p.onEvent) cfg.onEvent = p.onEvent;
  if (p.targetLogout === 'logout') cfg.asyncLogoutClose = 1;
  try {
    return new binding.NativeSession(cfg);
  } catch (err) {
    throw fromNative(err, p.ctx);
  } finally {
    // The addon copied the secrets into the core; drop ours.
    secret?.fill(0);
    reverseSecret?.fill(0);
    cfg.secret = undefined;
    cfg.reverseSecret = undefined;
  }
}

/** Connects and logs in to the first address that accepts. */
export async function loginFirst(p: LoginParams): Promise<NativeSession> {
  const addresses = await resolveAddresses(p);
  let last: IscsiError | undefined;
  for (const address of addresses) {
    if (p.signal?.aborted) throw abortError(p.ctx);
    const remaining = p.deadline.remaining();
    if (remaining <= 0) throw last ?? timeoutError(p.ctx, p.deadline.totalMs);
    const ctx = { ...p.ctx, portal: p.portal.family ? p.ctx.portal : `${p.ctx.portal} (${formatPortal(address, p.portal.port)})` };
    const native = createNative(p, address);
    try {
      await runOperation(native, () => native.login(), ctx, p.signal, remaining);
      return native;
    } catch (err) {
      native.close();
      last = err as IscsiError;
      if (last.code === ErrorCodes.ABORT_ERR) throw last;
      if (last.code === ErrorCodes.ETIMEDOUT && p.deadline.remaining() <= 0) {
        throw timeoutError(p.ctx, p.deadline.totalMs);
      }
      emit(p.logger, 'debug', `login via ${formatPortal(address, p.portal.port)} failed: ${last.code}`, {
        target: p.targetName,
        portal: p.portal.text,
      });
    }
  }
  throw last as IscsiError;
}

// ------------------------------------------------------------ Session

export type NegotiatedParameters = NativeNegotiated;

export interface SessionOptions {
  initiatorName?: string;
  auth?: AuthOptions;
  chapAlgorithms?: ChapAlgorithm[];
  headerDigest?: 'none' | 'crc32c' | 'prefer-crc32c';
  dataDigest?: 'none' | 'crc32c' | 'prefer-crc32c';
  logger?: Logger;
  signal?: AbortSignal;
  /** Login timeout, default 15000. */
  timeoutMs?: number;
  /** Default timeout of later commands, default 30000. */
  commandTimeoutMs?: number;
  /** Largest data segment we accept per PDU (RFC 7143 13.12), 512 ..
   * 16777215; default 262144. Tuning only. */
  maxRecvDataSegmentLength?: number;
  /** Session reinstatement after a lost connection (ERL 0): a new login
   * with the same ISID, then every pending command is reissued. `false`
   * fails pending commands at once. Default { attempts: 5, delayMs: 250,
   * maxDelayMs: 5000 } (exponential backoff between attempts). */
  reconnect?: false | { attempts?: number; delayMs?: number; maxDelayMs?: number };
  /** NOP-Out ping after this much silence from the target, 0 = off;
   * default 15000. An unanswered ping counts as a lost connection. */
  keepaliveIntervalMs?: number;
  /** How long a keepalive ping may go unanswered, default 10000. */
  keepaliveTimeoutMs?: number;
  /** A command that times out or is aborted gets an ABORT TASK; if the
   * target does not confirm it within this time (default 10000) the
   * connection is dropped (and the session reinstated). */
  abortTimeoutMs?: number;
  /** Busy polling, in microseconds (0 .. 100000; default 0 = off). While
   * commands are in flight the event loop polls the socket without
   * sleeping for up to this long after each submission,
   * like the kernel's SO_BUSY_POLL: the answer is seen without a wakeup,
   * which shortens each round trip at the price of a busy CPU core while
   * I/O is outstanding. Nothing blocks: timers, other I/O and JS keep
   * running. Adaptive: spins that see no answer back off (slow targets
   * cost no spinning). See docs/streams.md and docs/benchmarks.md. */
  busyPollUs?: number;
  /** Receive coalescing (default true): with 6 or more commands in flight
   * and answers of at most 16 KiB, the socket wakes us once for a batch of
   * 2, 4 or 8 answers (SO_RCVLOWAT set from what the commands in flight
   * will return) instead of once per answer. Fewer system calls and less
   * CPU per command; an answer may wait up to ~2 ms for the others of its
   * batch when they do not come (e.g. a READ that fails without data). */
  coalesce?: boolean;
  /** What the session does when the target asks for a logout (Async
   * Message, AsyncEvent 1) or for renegotiation (AsyncEvent 4): 'relogin'
   * (default, as open-iscsi does) logs out and back in — commands waiting
   * are reissued, like after a lost connection; needs `reconnect` on.
   * 'logout' logs out and ends the session: pending commands reject with
   * ISCSI_TARGET_LOGOUT. Either way new commands wait and those at the
   * target may finish until the Logout goes out (within half of the time
   * the target gave). See docs/streams.md. */
  targetLogout?: 'relogin' | 'logout';
}

/** A per-command timeout as the addon takes it: 1 .. 2^31-1 ms (0 would
 * mean "the session default" to the core). */
function nativeTimeout(ms: number): number {
  return Math.max(1, Math.min(ms, 2147483647));
}

function msOption(v: unknown, name: string, min: number, dflt: number, max = 2147483647): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArg(name, v, `must be an integer between ${min} and ${max}`);
  }
  return v;
}

function validateRecovery(o: SessionOptions): RecoverySettings {
  const r = o.reconnect;
  if (r !== undefined && r !== false && (r === null || typeof r !== 'object')) {
    throw invalidArg('options.reconnect', r, 'must be false or an object { attempts?, delayMs?, maxDelayMs? }');
  }
  const rr = r || {};
  const attempts = r === false ? 0 : msOption(rr.attempts, 'options.reconnect.attempts', 0, 5, 1000);
  return {
    maxReconnects: attempts,
    reconnectDelayMs: msOption(rr.delayMs, 'options.reconnect.delayMs', 1, 250),
    reconnectMaxDelayMs: msOption(rr.maxDelayMs, 'options.reconnect.maxDelayMs', 1, 5000),
    keepaliveIntervalMs: msOption(o.keepaliveIntervalMs, 'options.keepaliveIntervalMs', 0, 15000),
    keepaliveTimeoutMs: msOption(o.keepaliveTimeoutMs, 'options.keepaliveTimeoutMs', 1, 10000),
    abortTimeoutMs: msOption(o.abortTimeoutMs, 'options.abortTimeoutMs', 1, 10000),
  };
}

/** Payload of Session's 'disconnect' and 'reconnect' events. */
export interface ReconnectInfo {
  /** Reinstatement attempt (1-based) that is scheduled / succeeded. */
  attempt: number;
  /** Why the connection was lost ('disconnect' only). */
  error?: IscsiError;
}

export interface NodeAddress {
  target: string;
  address: string;
  port?: number;
}

export interface ScsiOptions extends OperationOptions {
  dataOut?: Buffer;
  inLength?: number;
}

export interface ScsiResult {
  status: number;
  statusName: string;
  /** iSCSI response code (0 = command completed at target). */
  response: number;
  data: Buffer;
  sense: Buffer;
  /** Decoded sense, when the target sent any. */
  senseData?: SenseData;
  residual: number;
  overflow: boolean;
  underflow: boolean;
}

export type { Inquiry, Capacity };

interface SessionInit {
  native: NativeSession;
  target: string;
  portal: string;
  parameters: NegotiatedParameters;
  commandTimeoutMs: number;
  logger?: Logger;
}

const sessionInit = Symbol('sessionInit');

/**
 * Events:
 * - 'disconnect' (info: ReconnectInfo): the connection failed; a session
 *   reinstatement is scheduled and pending commands wait for it.
 * - 'reconnect' (info: ReconnectInfo): logged in again; pending commands are
 *   being reissued (the LUNs report UNIT ATTENTION once; block I/O retries it).
 * - 'error' (err: IscsiError): reinstatement gave up or was off; every
 *   pending command has rejected with a typed error. Emitted only when an
 *   'error' listener exists, so an unobserved session cannot crash the
 *   process (the commands' own rejections carry the error as well).
 * - 'close': the session is closed (close(), the failure above, or a
 *   logout the target asked for with targetLogout 'logout').
 *
 * Async Messages from the target (RFC 7143 11.9; see docs/streams.md):
 * - 'scsiEvent' (ScsiEventInfo): AsyncEvent 0, a SCSI event with sense data
 *   (e.g. CAPACITY DATA HAS CHANGED, which also drops the cached READ
 *   CAPACITY of that LUN; REPORTED LUNS DATA HAS CHANGED).
 * - 'logoutRequest' (LogoutRequestInfo): AsyncEvent 1; the session logs out
 *   and, by options.targetLogout, back in ('disconnect' with
 *   ISCSI_TARGET_LOGOUT, 'reconnect') or not ('close'; pending commands
 *   reject with ISCSI_TARGET_LOGOUT).
 * - 'dropRequest' (DropRequestInfo): AsyncEvent 2/3; the connection is
 *   closed now and the session reinstated after Time2Wait.
 * - 'renegotiateRequest' (RenegotiateRequestInfo): AsyncEvent 4; handled
 *   like a logout request (logging in again renegotiates every key).
 * - 'asyncEvent' (AsyncEventInfo): every Async Message, vendor-specific
 *   and reserved ones included, after the specific event above.
 */
export class Session extends EventEmitter {
  readonly target: string;
  readonly portal: string;
  readonly parameters: Readonly<NegotiatedParameters>;
  #native: NativeSession | null;
  #closing: Promise<void> | null = null;
  /** Set when the core gave up on the session: pending commands then keep
   * the real error instead of ISCSI_SESSION_CLOSED. */
  #failed = false;
  readonly #commandTimeoutMs: number;
  readonly #logger?: Logger;

  /** @internal Use openSession(). */
  constructor(token: symbol, init: SessionInit) {
    if (token !== sessionInit) throw new TypeError('Use openSession() to create a Session');
    super();
    this.target = init.target;
    this.portal = init.portal;
    this.parameters = Object.freeze({ ...init.parameters });
    this.#native = init.native;
    this.#commandTimeoutMs = init.commandTimeoutMs;
    this.#logger = init.logger;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing !== null || this.#native === null;
  }

  #onAsyncMessage(m: NativeAsyncMessage): void {
    emit(this.#logger, m.action === 'report' ? 'info' : 'warn', `Async Message: AsyncEvent ${m.event}, action ${m.action}`, {
      target: this.target,
      portal: this.portal,
    });
    const events = asyncEvents(m);
    // The size changed: the next block I/O must not use the old geometry.
    if (m.event === 0 && m.lun >= 0 && isCapacityChange((events[events.length - 1][1] as AsyncEventInfo).senseData)) {
      blockIo.forgetCapacity(this, m.lun);
    }
    for (const [name, payload] of events) this.emit(name, payload);
  }

  #ctx(operation: string): ErrorContext {
    return { operation, target: this.target, portal: this.portal };
  }

  /** @internal Native connection events (wired by openSession). */
  _onNativeEvent(kind: NativeSessionEvent, code: string, attempt: number, message: string, info?: NativeAsyncMessage): void {
    const err = (): IscsiError => fromNative({ code, message }, this.#ctx('session'));
    if (kind === 'async-message') {
      if (info) this.#onAsyncMessage(info);
    } else if (kind === 'logged-out') {
      emit(this.#logger, 'warn', `logged out as the target asked; session closed`, { target: this.target, portal: this.portal });
      // Pending commands keep ISCSI_TARGET_LOGOUT (not SESSION_CLOSED).
      this.#failed = true;
      void this.close();
    } else if (kind === 'connection-lost') {
      emit(this.#logger, 'warn', `connection lost, reinstating (attempt ${attempt})`, { target: this.target, portal: this.portal });
      this.emit('disconnect', { attempt, error: err() } satisfies ReconnectInfo);
    } else if (kind === 'reconnected') {
      emit(this.#logger, 'info', `session reinstated (attempt ${attempt})`, { target: this.target, portal: this.portal });
      this.emit('reconnect', { attempt } satisfies ReconnectInfo);
    } else {
      const e = err();
      emit(this.#logger, 'error', `session failed: ${e.message}`, { target: this.target, portal: this.portal });
      this.#failed = true;
      if (this.listenerCount('error') > 0) this.emit('error', e);
      // The native context is dead; release it and report close once.
      void this.close();
    }
  }

  /**
   * @internal One command through the core's per-command path: timeout and
   * AbortSignal end only this command (ABORT TASK), not the session.
   * Resolves with the bytes received on GOOD status, else the raw result.
   */
  async _submit(
    ctx: ErrorContext,
    lun: number,
    cdb: Buffer,
    dataOut: Buffer | null,
    dataIn: Buffer | null,
    inLength: number,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<number | NativeScsiResult> {
    const native = this.#native;
    if (!native || this.#closing) throw sessionClosedError(ctx);
    if (signal?.aborted) throw abortError(ctx);
    const dir: 0 | 1 | 2 = dataOut ? 2 : inLength > 0 ? 1 : 0;
    const p = native.io(lun, cdb, dir, dataOut, dataIn, inLength, nativeTimeout(timeoutMs));
    let onAbort: (() => void) | undefined;
    if (signal) {
      const id = native.lastTaskId();
      onAbort = () => void native.abortTask(id, 'ABORT_ERR');
      signal.addEventListener('abort', onAbort, { once: true });
    }
    try {
      return await p;
    } catch (err) {
      // A close() racing this command reports the documented code.
      throw this.#ioError(err, ctx, timeoutMs);
    } finally {
      if (onAbort) signal!.removeEventListener('abort', onAbort);
    }
  }

  /** @internal Block I/O (lib/block-io.ts): one READ/WRITE into/from the
   * caller's memory. UNIT ATTENTION is retried (reported after login and
   * after a reinstatement); non-GOOD rejects as ISCSI_SCSI_ERROR. Resolves
   * with the bytes received. */
  _blockIo(
    name: string,
    lun: number,
    cdb: Buffer,
    dataOut: Buffer | null,
    dataIn: Buffer | null,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<number> {
    const native = this.#native;
    if (!native || this.#closing || signal) return this.#blockIoChecked(name, lun, cdb, dataOut, dataIn, signal, timeoutMs);
    // Hot path: straight to the addon; anything but a plain GOOD (errors,
    // sense, UNIT ATTENTION) is re-run through the checked path below.
    const inLength = dataIn ? dataIn.length : 0;
    return native
      .io(lun, cdb, dataOut ? 2 : inLength > 0 ? 1 : 0, dataOut, dataIn, inLength, nativeTimeout(timeoutMs ?? this.#commandTimeoutMs))
      .then(
        (r) => (typeof r === 'number' ? r : this.#blockIoChecked(name, lun, cdb, dataOut, dataIn, signal, timeoutMs, r)),
        (err: unknown) => {
          throw this.#ioError(err, this.#ctx(`${name} on LUN ${lun}`), timeoutMs ?? this.#commandTimeoutMs);
        },
      );
  }

  /**
   * @internal The one-command fast path of read/readInto/write: resolves
   * with `result` when the command ends GOOD having moved all of dataIn
   * (reads) — one promise reaction per command. Anything else (UNIT
   * ATTENTION, sense, a short read, errors) goes through the checked path,
   * and `onShort(got)` builds the error for a short read.
   */
  _fastIo<T>(
    name: string,
    lun: number,
    cdb: Buffer,
    dataOut: Buffer | null,
    dataIn: Buffer | null,
    result: T,
    onShort: (got: number) => IscsiError,
  ): Promise<T> {
    const want = dataIn ? dataIn.length : 0;
    const finish = (got: number): T => {
      if (got !== want) throw onShort(got);
      return result;
    };
    const native = this.#native;
    if (!native || this.#closing) return this.#blockIoChecked(name, lun, cdb, dataOut, dataIn, undefined, undefined).then(finish);
    return native.io(lun, cdb, dataOut ? 2 : want > 0 ? 1 : 0, dataOut, dataIn, want, nativeTimeout(this.#commandTimeoutMs)).then(
      (r) => (r === want ? result : typeof r === 'number' ? finish(r) : this.#blockIoChecked(name, lun, cdb, dataOut, dataIn, undefined, undefined, r).then(finish)),
      (err: unknown) => {
        throw this.#ioError(err, this.#ctx(`${name} on LUN ${lun}`), this.#commandTimeoutMs);
      },
    );
  }

  #ioError(err: unknown, ctx: ErrorContext, timeoutMs: number): IscsiError {
    const e = fromNative(err, ctx);
    if (this.#closing && !this.#failed && e.code !== ErrorCodes.SESSION_CLOSED && e.code !== ErrorCodes.ABORT_ERR) return sessionClosedError(ctx);
    if (e.code === ErrorCodes.ETIMEDOUT) return timeoutError(ctx, timeoutMs);
    return e;
  }

  async #blockIoChecked(
    name: string,
    lun: number,
    cdb: Buffer,
    dataOut: Buffer | null,
    dataIn: Buffer | null,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    first?: NativeScsiResult,
  ): Promise<number> {
    const inLength = dataIn ? dataIn.length : 0;
    let ctx: ErrorContext | undefined;
    for (let attempt = 0; ; attempt++) {
      ctx ??= this.#ctx(`${name} on LUN ${lun}`);
      const r = attempt === 0 && first ? first : await this._submit(ctx, lun, cdb, dataOut, dataIn, inLength, signal, timeoutMs ?? this.#commandTimeoutMs);
      if (typeof r === 'number') return r;
      const out = this.#toResult(r);
      if (attempt < 3 && out.status === ScsiStatus.CHECK_CONDITION && out.senseData?.senseKey === SenseKey.UNIT_ATTENTION) {
        emit(this.#logger, 'debug', `${name}: UNIT ATTENTION, retrying`, { target: this.target, lun });
        if (isCapacityChange(out.senseData)) blockIo.forgetCapacity(this, lun);
        continue;
      }
      // GOOD with a residual (the core checked it matches the bytes that
      // came): the caller's short-read check decides.
      if (out.response === 0 && out.status === ScsiStatus.GOOD) return r.dataLength;
      throw this.#scsiError(name, lun, out);
    }
  }

  #toResult(r: NativeScsiResult, data?: Buffer): ScsiResult {
    const senseData = r.sense && r.sense.length ? parseSense(r.sense) : undefined;
    const out: ScsiResult = {
      status: r.status,
      statusName: scsiStatusName(r.status),
      response: r.response,
      data: data ?? r.data,
      sense: r.sense,
      residual: r.residual,
      overflow: r.overflow,
      underflow: r.underflow,
    };
    if (senseData) out.senseData = senseData;
    return out;
  }

  async #raw(name: string, lun: number, cdb: Buffer, dataOut: Buffer | null, inLength: number, opts: unknown): Promise<ScsiResult> {
    const ctx = this.#ctx(`${name} on LUN ${lun}`);
    const o = validateOptionsObject(opts);
    const signal = validateSignal(o.signal);
    const timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', this.#commandTimeoutMs);
    const dataIn = inLength > 0 ? Buffer.alloc(inLength) : null;
    const r = await this._submit(ctx, lun, cdb, dataOut, dataIn, inLength, signal, timeoutMs);
    if (typeof r === 'number') {
      const data = dataIn ? dataIn.subarray(0, r) : Buffer.alloc(0);
      return { status: 0, statusName: scsiStatusName(0), response: 0, data, sense: Buffer.alloc(0), residual: 0, overflow: false, underflow: false };
    }
    return this.#toResult(r, dataIn ? dataIn.subarray(0, r.dataLength) : Buffer.alloc(0));
  }

  /** Runs a typed helper's command: retries UNIT ATTENTION (reported once
   * after login/reset, SAM-5 5.14) and turns non-GOOD into ISCSI_SCSI_ERROR. */
  async #checked(name: string, lun: number, cdb: Buffer, inLength: number, opts: unknown, dataOut: Buffer | null = null): Promise<ScsiResult> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.#raw(name, lun, cdb, dataOut, inLength, opts);
      if (r.response === 0 && r.status === ScsiStatus.GOOD) return r;
      if (
        attempt < 3 &&
        r.status === ScsiStatus.CHECK_CONDITION &&
        r.senseData?.senseKey === SenseKey.UNIT_ATTENTION
      ) {
        emit(this.#logger, 'debug', `${name}: UNIT ATTENTION, retrying`, { target: this.target, lun });
        if (isCapacityChange(r.senseData)) blockIo.forgetCapacity(this, lun);
        continue;
      }
      throw this.#scsiError(name, lun, r);
    }
  }

  #scsiError(name: string, lun: number, r: ScsiResult): IscsiError {
    const where = `target ${this.target}, portal ${this.portal}`;
    let message: string;
    if (r.response !== 0) {
      message = `${name} on LUN ${lun} failed (${where}): the target reported iSCSI response 0x${r.response.toString(16)} (target failure); check the target logs`;
    } else {
      message = `${name} on LUN ${lun} failed (${where}): ${r.statusName}`;
      if (r.senseData) message += `, ${describeSense(r.senseData)}`;
      if (r.senseData?.senseKey === SenseKey.ILLEGAL_REQUEST) message += '; check that the LUN exists and supports this command';
    }
    return new IscsiError(ErrorCodes.SCSI_ERROR, message, {
      target: this.target,
      portal: this.portal,
      scsiStatus: r.status,
      sense: r.senseData,
    });
  }

  /** REPORT LUNS (SPC-4 6.33): the decoded LUN numbers, in target order. */
  async reportLuns(opts?: OperationOptions): Promise<number[]> {
    let alloc = 16 + 8 * 64;
    for (let round = 0; ; round++) {
      const r = await this.#checked('REPORT LUNS', 0, cdbReportLuns(alloc), alloc, opts);
      const parsed = parseReportLuns(r.data);
      // The list was truncated: re-issue with room for all of it.
      if (parsed.neededLength > r.data.length && parsed.neededLength > alloc && round < 2) {
        alloc = Math.min(parsed.neededLength, 8 + 8 * 65536);
        continue;
      }
      const luns: number[] = [];
      for (const e of parsed.entries) {
        const n = decodeLun(e);
        if (n >= 0) luns.push(n);
        else emit(this.#logger, 'debug', `REPORT LUNS: skipped LUN ${e.toString('hex')} (not single-level)`, { target: this.target });
      }
      return luns;
    }
  }

  /** Standard INQUIRY data of a LUN. */
  async inquiry(lun: number, opts?: OperationOptions): Promise<Inquiry> {
    checkLun(lun);
    const r = await this.#checked('INQUIRY', lun, cdbInquiry(255), 255, opts);
    return parseInquiry(r.data);
  }

  /** READ CAPACITY(16), falling back to READ CAPACITY(10) on ILLEGAL REQUEST
   * (SBC-2 era devices without SERVICE ACTION IN). */
  async readCapacity(lun: number, opts?: OperationOptions): Promise<Capacity> {
    checkLun(lun);
    try {
      const r = await this.#checked('READ CAPACITY(16)', lun, cdbReadCapacity16(32), 32, opts);
      return parseReadCapacity16(r.data);
    } catch (err) {
      const e = err as IscsiError;
      if (e.code !== ErrorCodes.SCSI_ERROR || e.sense?.senseKey !== SenseKey.ILLEGAL_REQUEST) throw e;
    }
    const r = await this.#checked('READ CAPACITY(10)', lun, cdbReadCapacity10(), 8, opts);
    return parseReadCapacity10(r.data);
  }

  /** Raw pass-through. Non-GOOD statuses resolve (inspect `status` and
   * `senseData`); only transport/session failures reject. */
  async scsi(lun: number, cdb: Buffer, opts?: ScsiOptions): Promise<ScsiResult> {
    checkLun(lun);
    if (!Buffer.isBuffer(cdb) || cdb.length < 1 || cdb.length > 16) {
      throw invalidArg('cdb', cdb, 'must be a Buffer of 1 to 16 bytes');
    }
    const o = validateOptionsObject(opts);
    let dataOut: Buffer | null = null;
    if (o.dataOut !== undefined) {
      if (!Buffer.isBuffer(o.dataOut)) throw invalidArg('options.dataOut', o.dataOut, 'must be a Buffer');
      dataOut = o.dataOut;
    }
    let inLength = 0;
    if (o.inLength !== undefined) {
      const v = o.inLength;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_IN_LENGTH) {
        throw invalidArg('options.inLength', v, `must be an integer between 0 and ${MAX_IN_LENGTH}`);
      }
      inLength = v;
    }
    if (dataOut && inLength > 0) {
      throw invalidArg('options', 'dataOut+inLength', 'must not set both dataOut and inLength (bidirectional commands are not supported)');
    }
    const name = `SCSI command 0x${cdb[0].toString(16).padStart(2, '0')}`;
    return this.#raw(name, lun, Buffer.from(cdb), dataOut, inLength, o);
  }

  /** @internal lib/block-io.ts's way to a checked command (UNIT ATTENTION
   * retry, non-GOOD -> ISCSI_SCSI_ERROR with decoded sense). */
  _checkedCommand(name: string, lun: number, cdb: Buffer, dataOut: Buffer | null, inLength: number, opts: unknown): Promise<ScsiResult> {
    return this.#checked(name, lun, cdb, inLength, opts, dataOut);
  }

  // Block I/O (lib/block-io.ts): byte-exact blocks, chunked and pipelined.
  /** Reads `blocks` blocks at `lba`. */
  read(lun: number, lba: number | bigint, blocks: number, opts?: blockIo.BlockIoOptions): Promise<Buffer> {
    return blockIo.read(this, lun, lba, blocks, opts);
  }
  /** Fills `buffer` (whole blocks) from `lba`; resolves with bytes read. */
  readInto(lun: number, lba: number | bigint, buffer: Buffer, opts?: blockIo.BlockIoOptions): Promise<number> {
    return blockIo.readInto(this, lun, lba, buffer, opts);
  }
  /** Writes `data` (whole blocks) at `lba`. */
  write(lun: number, lba: number | bigint, data: Buffer, opts?: blockIo.BlockIoOptions): Promise<void> {
    return blockIo.write(this, lun, lba, data, opts);
  }
  /** SYNCHRONIZE CACHE(10) of the whole LUN. */
  flush(lun: number, opts?: OperationOptions): Promise<void> {
    return blockIo.flush(this, lun, opts);
  }
  /** Readable of bytes start..end (inclusive, like fs), block aligned. */
  createReadStream(lun: number, opts?: blockIo.ReadStreamOptions): Readable {
    return blockIo.createReadStream(this, lun, opts);
  }
  /** Writable from byte `start`; end() flushes the cache. */
  createWriteStream(lun: number, opts?: blockIo.WriteStreamOptions): Writable {
    return blockIo.createWriteStream(this, lun, opts);
  }

  // Block commands (lib/block-commands.ts): capabilities come from the VPD
  // pages, so UNMAP / WRITE SAME are refused (ISCSI_NOT_SUPPORTED) where
  // the LUN does not advertise them.
  /** TEST UNIT READY (SPC-4 6.37). */
  testUnitReady(lun: number, opts?: OperationOptions): Promise<void> {
    return blockCmd.testUnitReady(this, lun, opts);
  }
  /** MODE SENSE(10) (SPC-4 6.12): block descriptors, WP, caching page. */
  modeSense(lun: number, request?: blockCmd.ModeSenseRequest, opts?: OperationOptions): Promise<blockCmd.ModeSenseResult> {
    return blockCmd.modeSense(this, lun, request, opts);
  }
  /** INQUIRY with EVPD=1: the raw VPD page. */
  inquiryVpd(lun: number, page: number, opts?: blockCmd.VpdOptions): Promise<Buffer> {
    return blockCmd.inquiryVpd(this, lun, page, opts);
  }
  /** Block Limits (0xB0) and Logical Block Provisioning (0xB2), cached. */
  blockDeviceInfo(lun: number, opts?: OperationOptions): Promise<blockCmd.BlockDeviceInfo> {
    return blockCmd.blockDeviceInfo(this, lun, opts);
  }
  /** UNMAP (SBC-3 5.28) of LBA ranges, split per the Block Limits page. */
  unmap(lun: number, ranges: readonly blockCmd.UnmapRange[], opts?: OperationOptions): Promise<void> {
    return blockCmd.unmap(this, lun, ranges, opts);
  }
  /** WRITE SAME(16|10) of one block over a range (optionally unmapping). */
  writeSame(lun: number, lba: number | bigint, blocks: number, data: Buffer, wsOpts?: blockCmd.WriteSameOptions, opts?: OperationOptions): Promise<void> {
    return blockCmd.writeSame(this, lun, lba, blocks, data, wsOpts, opts);
  }

  /** Logs out and releases the connection. Idempotent; pending commands
   * reject with ISCSI_SESSION_CLOSED. Never rejects for a failed logout
   * (the session is gone either way); only for invalid options. */
  close(opts?: OperationOptions): Promise<void> {
    if (this.#closing) return this.#closing;
    let signal: AbortSignal | undefined;
    let timeoutMs: number;
    try {
      const o = validateOptionsObject(opts);
      signal = validateSignal(o.signal);
      timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', DEFAULT_CLOSE_TIMEOUT_MS);
    } catch (err) {
      return Promise.reject(err);
    }
    const native = this.#native;
    const ctx = this.#ctx('logout');
    this.#closing = (async () => {
      if (!native) return;
      try {
        // Logout while commands are in flight would wait for them; the
        // caller asked to close, so pending work is failed instead.
        if (native.pendingCount() === 0 && !signal?.aborted) {
          await runOperation(native, () => native.logout(), ctx, signal, timeoutMs);
        }
      } catch (err) {
        emit(this.#logger, 'debug', `logout failed: ${(err as IscsiError).code}`, { target: this.target, portal: this.portal });
      } finally {
        this.#native = null;
        native.close();
        this.emit('close');
      }
    })();
    return this.#closing;
  }

  [util.inspect.custom](depth: number, options: util.InspectOptionsStylized, inspect: typeof util.inspect): string {
    const shown = { target: this.target, portal: this.portal, closed: this.closed, parameters: this.parameters };
    return `Session ${inspect(shown, { ...options, depth: options.depth === null ? null : depth - 1 })}`;
  }
}

function checkLun(lun: unknown): void {
  if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
    throw invalidArg('lun', lun, `must be an integer between 0 and ${MAX_LUN}`);
  }
}

/** Logs in to one target (normal session). */
export async function openSession(node: NodeAddress, options?: SessionOptions): Promise<Session> {
  if (node === null || typeof node !== 'object') throw invalidArg('node', node, 'must be an object with target and address');
  const target = validateIscsiName(node.target, 'node.target');
  const portal = parsePortal({ address: node.address, port: node.port }, 'node');
  const o = validateOptionsObject(options);
  const signal = validateSignal(o.signal);
  const timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', DEFAULT_LOGIN_TIMEOUT_MS);
  const commandTimeoutMs = validateTimeout(o.commandTimeoutMs, 'options.commandTimeoutMs', DEFAULT_COMMAND_TIMEOUT_MS);
  const auth = validateAuth(o.auth);
  const chapAlgorithms = validateChapAlgorithms(o.chapAlgorithms);
  const headerDigest = validateDigest(o.headerDigest, 'options.headerDigest');
  const dataDigest = validateDigest(o.dataDigest, 'options.dataDigest');
  const maxRecvDataSegmentLength = validateMaxRecvDataSegmentLength(o.maxRecvDataSegmentLength);
  const logger = validateLogger(o.logger);
  const recovery = validateRecovery(o);
  const busyPollUs = msOption(o.busyPollUs, 'options.busyPollUs', 0, 0, 100000);
  if (o.coalesce !== undefined && typeof o.coalesce !== 'boolean') throw invalidArg('options.coalesce', o.coalesce, 'must be a boolean');
  const coalesce = o.coalesce ?? true;
  const deadline = new Deadline(timeoutMs);
  const ctx: ErrorContext = { operation: 'login', target, portal: portal.text };
  // The native context exists before the Session object: relay its events.
  let session: Session | undefined;
  const onEvent: NativeSessionConfig['onEvent'] = (kind, code, attempt, message, info) => session?._onNativeEvent(kind, code, attempt, message, info);
  if (o.targetLogout !== undefined && o.targetLogout !== 'relogin' && o.targetLogout !== 'logout') {
    throw invalidArg('options.targetLogout', o.targetLogout, "must be 'relogin' or 'logout'");
  }
  if (signal?.aborted) throw abortError(ctx);
  const initiatorName = await resolveInitiatorName(o.initiatorName);
  const native = await loginFirst({
    sessionType: 'normal',
    initiatorName,
    targetName: target,
    portal,
    auth,
    chapAlgorithms,
    headerDigest,
    dataDigest,
    commandTimeoutMs,
    maxRecvDataSegmentLength,
    recovery,
    busyPollUs,
    coalesce,
    onEvent,
    targetLogout: o.targetLogout,
    logger,
    signal,
    deadline,
    ctx,
  });
  const neg = native.negotiated();
  if (!neg) {
    native.close();
    throw new IscsiError(ErrorCodes.PROTOCOL_ERROR, `Login to target ${target} at ${portal.text} completed without negotiated parameters`, {
      target,
      portal: portal.text,
    });
  }
  emit(logger, 'info', `logged in to ${target}`, { target, portal: neg.portal || portal.text });
  session = new Session(sessionInit, {
    native,
    target,
    portal: neg.portal || portal.text,
    parameters: neg,
    commandTimeoutMs,
    logger,
  });
  return session;
}
