/**
 * open-iscsi's node database lock, so iscsiadm and this library never
 * write the DB at the same time.
 *
 * The protocol (idbm_lock()/idbm_unlock(), open-iscsi 2.1.8 usr/idbm.c:1448-1500;
 * paths from usr/idbm.h and the strings in Debian 12's /usr/sbin/iscsiadm):
 *   mkdir LOCK_DIR (/run/lock/iscsi) if missing; create LOCK_DIR/lock;
 *   link(lock, lock.write) — success = lock held, EEXIST = someone else
 *   holds it, retry every 10 ms (3000 tries = 30 s); unlock = unlink(lock.write).
 * Stale locks: the convention stores no owner, so a crashed holder's
 * lock.write cannot be told from a live one. open-iscsi <= 2.1.9 proceeds
 * without the lock after 30 s; 2.1.10+ fails ("Timeout on acquiring lock",
 * commit 13cddb2). We do what 2.1.10+ does: wait up to the caller's budget
 * (default 30 s, like iscsiadm) and then fail with ISCSI_NODE_DB_LOCKED
 * naming the file, so an admin can remove a stale lock.write — silently
 * breaking someone else's lock could corrupt the DB.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ErrorCodes, IscsiError, abortError, timeoutError } from '../errors';
import { Deadline, validateSignal, validateTimeout } from '../options';

export const LOCK_DIR = '/run/lock/iscsi';
export const LOCK_FILE = 'lock';
export const LOCK_WRITE_FILE = 'lock.write';
/** iscsiadm's poll interval and total wait (3000 × 10 ms). */
export const LOCK_RETRY_MS = 10;
export const DEFAULT_LOCK_WAIT_MS = 30_000;

export interface BudgetOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Validated signal + deadline shared by every step of one public call. */
export interface Budget {
  signal?: AbortSignal;
  deadline: Deadline;
  operation: string;
  check(): void;
}

export function makeBudget(options: BudgetOptions | undefined, operation: string, dfltMs: number): Budget {
  const signal = validateSignal(options?.signal);
  const ms = validateTimeout(options?.timeoutMs, 'options.timeoutMs', dfltMs);
  const deadline = new Deadline(ms);
  return {
    signal,
    deadline,
    operation,
    check(): void {
      if (signal?.aborted) throw abortError({ operation });
      if (deadline.remaining() <= 0) throw timeoutError({ operation }, ms);
    },
  };
}

/** Joins `root` and an absolute system path ("/" root = the path itself). */
export function underRoot(root: string | undefined, p: string): string {
  return root && root !== '/' ? path.join(root, p) : p;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export interface DbLock {
  /** Path of the lock.write link this lock holds. */
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the node DB lock under `root` (LOCK_DIR relocated under it), waiting
 * while another process holds it. Rejects with ISCSI_NODE_DB_LOCKED when the
 * budget runs out while the lock is held elsewhere, ABORT_ERR on abort,
 * ISCSI_PERMISSION_DENIED / ISCSI_NODE_DB_ERROR when the lock cannot be
 * created at all.
 */
export async function acquireDbLock(root: string | undefined, budget: Budget): Promise<DbLock> {
  const dir = underRoot(root, LOCK_DIR);
  const lockFile = path.join(dir, LOCK_FILE);
  const writeFile = path.join(dir, LOCK_WRITE_FILE);
  budget.check();
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const fh = await fsp.open(lockFile, 'a', 0o600);
    await fh.close();
  } catch (err) {
    throw fsError(err, `could not prepare the node DB lock in ${dir}`);
  }
  for (;;) {
    try {
      await fsp.link(lockFile, writeFile);
      let released = false;
      return {
        path: writeFile,
        async release(): Promise<void> {
          if (released) return;
          released = true;
          await fsp.unlink(writeFile).catch(() => undefined);
        },
      };
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw fsError(err, `could not take the node DB lock ${writeFile}`);
    }
    if (budget.signal?.aborted) throw abortError({ operation: budget.operation });
    const left = budget.deadline.remaining();
    if (left <= 0) {
      throw new IscsiError(
        ErrorCodes.NODE_DB_LOCKED,
        `${budget.operation}: the open-iscsi node DB lock ${writeFile} is held by another process ` +
          `(waited ${budget.deadline.totalMs} ms); if no iscsiadm is running it is stale and may be removed`,
      );
    }
    await sleep(Math.min(LOCK_RETRY_MS, left), budget.signal);
  }
}

/** Runs fn while holding the DB lock; always releases it. */
export async function withDbLock<T>(root: string | undefined, budget: Budget, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireDbLock(root, budget);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Maps a filesystem error to a typed IscsiError (path only, never content). */
export function fsError(err: unknown, what: string): IscsiError {
  const code = errno(err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new IscsiError(ErrorCodes.PERMISSION_DENIED, `${what}: ${code}`, { cause: err });
  }
  return new IscsiError(ErrorCodes.NODE_DB_ERROR, `${what}: ${code ?? String(err)}`, { cause: err });
}

/** Prefix of the temp files atomicWrite() creates next to their target. */
export const TMP_PREFIX = '.iscsi-initiator-tmp-';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Test hook: called after the temp file is complete and before the rename. */
let beforeRenameHook: ((tmp: string, dest: string) => Promise<void> | void) | null = null;
/** @internal For crash-simulation tests only. */
export function _setBeforeRenameHook(fn: typeof beforeRenameHook): void {
  beforeRenameHook = fn;
}

/** Writes `text` to `dest` atomically with `mode` (temp + fsync + rename + dir fsync). */
export async function atomicWrite(dest: string, text: string, mode: number): Promise<void> {
  const dir = path.dirname(dest);
  const tmp = path.join(dir, `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  const buf = Buffer.from(text, 'utf8');
  let fh;
  try {
    fh = await fsp.open(tmp, 'wx', mode);
  } catch (err) {
    throw fsError(err, `could not create ${tmp}`);
  }
  try {
    await fh.chmod(mode); // umask must not widen or narrow it
    await fh.writeFile(buf);
    await fh.sync();
    await fh.close();
    fh = undefined;
    if (beforeRenameHook) await beforeRenameHook(tmp, dest);
    await fsp.rename(tmp, dest);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw err instanceof IscsiError ? err : fsError(err, `could not write ${dest}`);
  } finally {
    buf.fill(0); // may hold CHAP secrets
  }
  await fsyncDir(dir).catch(() => undefined);
}

