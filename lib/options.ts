/**
 * Option validation and the per-operation timeout/abort wrapper.
 *
 * The native session owns the socket and its own deadlines; JS adds the
 * caller's AbortSignal and timeoutMs on top by calling native.abort(code),
 * which fails every pending operation of that NativeSession with `code` and
 * drops its connection. That is why a timeout or abort on one Session method
 * ends the whole session: iSCSI has no cheap per-command cancel that leaves
 * the connection in a known state (task management is out of scope here).
 */
import type { NativeDigest, NativeSession } from './native';
import {
  ErrorCodes,
  abortError,
  fromNative,
  invalidArg,
  timeoutError,
  type ErrorContext,
} from './errors';

/** setTimeout's upper bound (a signed 32-bit millisecond count). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface OperationOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface AuthOptions {
  username: string;
  password: string;
  reverseUsername?: string;
  reversePassword?: string;
}

export type ChapAlgorithm = 'SHA3-256' | 'SHA256' | 'SHA1' | 'MD5';
export const CHAP_ALGORITHMS: readonly ChapAlgorithm[] = ['SHA3-256', 'SHA256', 'SHA1', 'MD5'];

export type DigestOption = 'none' | 'crc32c' | 'prefer-crc32c' | 'prefer-none';
const DIGESTS: readonly DigestOption[] = ['none', 'crc32c', 'prefer-crc32c', 'prefer-none'];

export function validateTimeout(value: unknown, name: string, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw invalidArg(name, value, `must be a positive finite number of milliseconds <= ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

export function validateSignal(value: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  // Duck-typed like Node's own validateAbortSignal, so signals from another
  // realm (vm contexts, polyfills) are accepted.
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function' ||
    typeof (value as AbortSignal).removeEventListener !== 'function'
  ) {
    throw invalidArg(name, value, 'must be an AbortSignal');
  }
  return value as AbortSignal;
}

export function validateOptionsObject(value: unknown, name = 'options'): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArg(name, value, 'must be an object');
  }
  return value as Record<string, unknown>;
}

export interface ValidatedAuth {
  username: string;
  password: string;
  reverseUsername?: string;
  reversePassword?: string;
}

function checkCredentialName(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255 || /[\x00-\x1f\x7f]/.test(v)) {
    throw invalidArg(name, v, 'must be a non-empty string of at most 255 characters without control characters');
  }
  return v;
}

function checkSecret(v: unknown, name: string): string {
  // Never echo the value: it is a secret.
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 255) {
    throw invalidArg(name, typeof v === 'string' ? '<secret>' : v, 'must be a non-empty string of at most 255 bytes');
  }
  return v;
}

export function validateAuth(value: unknown): ValidatedAuth | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArg('options.auth', value, 'must be an object with username and password');
  }
  const a = value as Record<string, unknown>;
  const out: ValidatedAuth = {
    username: checkCredentialName(a.username, 'options.auth.username'),
    password: checkSecret(a.password, 'options.auth.password'),
  };
  const hasRu = a.reverseUsername !== undefined;
  const hasRp = a.reversePassword !== undefined;
  if (hasRu !== hasRp) {
    throw invalidArg(
      'options.auth',
      value,
      'must set reverseUsername and reversePassword together (mutual CHAP needs both)',
    );
  }
  if (hasRu) {
    out.reverseUsername = checkCredentialName(a.reverseUsername, 'options.auth.reverseUsername');
    out.reversePassword = checkSecret(a.reversePassword, 'options.auth.reversePassword');
  }
  return out;
}

export function validateChapAlgorithms(value: unknown): ChapAlgorithm[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > CHAP_ALGORITHMS.length) {
    throw invalidArg('options.chapAlgorithms', value, `must be a non-empty array of ${CHAP_ALGORITHMS.join(', ')}`);
  }
  const seen = new Set<string>();
  for (const v of value) {
    if (typeof v !== 'string' || !(CHAP_ALGORITHMS as readonly string[]).includes(v) || seen.has(v)) {
      throw invalidArg('options.chapAlgorithms', v, `must list distinct values of ${CHAP_ALGORITHMS.join(', ')}`);
    }
    seen.add(v);
  }
  return value as ChapAlgorithm[];
}

export function validateDigest(value: unknown, name: string): NativeDigest | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(DIGESTS as readonly string[]).includes(value)) {
    throw invalidArg(name, value, `must be one of ${DIGESTS.map((d) => `'${d}'`).join(', ')}`);
  }
  return value as NativeDigest;
}

/** RFC 7143 13.12: MaxRecvDataSegmentLength is 512 .. 2^24-1. */
export function validateMaxRecvDataSegmentLength(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 512 || value > 16777215) {
    throw invalidArg('options.maxRecvDataSegmentLength', value, 'must be an integer between 512 and 16777215');
  }
  return value;
}

/** A point in time all steps of one public call share (DNS, each address
 * tried, login, discovery). */
export class Deadline {
  readonly totalMs: number;
  private readonly end: number;
  constructor(ms: number) {
    this.totalMs = ms;
    this.end = Date.now() + ms;
  }
  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }
}

/**
 * Runs one operation of one NativeSession under a signal and a time budget.
 * Rejects at once with ABORT_ERR if the signal is already aborted; otherwise
 * the signal's 'abort' event calls native.abort('ABORT_ERR') and the timer
 * calls native.abort('ETIMEDOUT'). Both are removed when the op settles.
 * The rejection is an IscsiError whose code is the one native reports.
 */
export async function runOperation<T>(
  native: Pick<NativeSession, 'abort'>,
  op: () => Promise<T>,
  ctx: ErrorContext,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<T> {
  if (signal?.aborted) throw abortError(ctx);
  let timedOut = false;
  const onAbort = (): void => native.abort('ABORT_ERR');
  signal?.addEventListener('abort', onAbort, { once: true });
  // A zero budget (deadline already spent) still goes through native so the
  // error path is the same; the timer fires on the next turn.
  const timer = setTimeout(() => {
    timedOut = true;
    native.abort('ETIMEDOUT');
  }, Math.max(0, Math.min(timeoutMs, MAX_TIMEOUT_MS)));
  try {
    return await op();
  } catch (err) {
    const e = fromNative(err, ctx);
    if (e.code === ErrorCodes.ETIMEDOUT && timedOut) throw timeoutError(ctx, timeoutMs);
    throw e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Awaits a promise that cannot be cancelled (e.g. dns.lookup) under the same
 * signal and budget; the underlying work is left to finish on its own.
 */
export function raceSignal<T>(
  p: Promise<T>,
  ctx: ErrorContext,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(ctx));
  return new Promise<T>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      cleanup();
      reject(abortError(ctx));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(timeoutError(ctx, timeoutMs));
    }, Math.max(0, Math.min(timeoutMs, MAX_TIMEOUT_MS)));
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

