/**
 * Block I/O on a userspace Session: READ/WRITE(10|16), SYNCHRONIZE CACHE(10)
 * and byte streams over a LUN (issue 6).
 *
 * Every command goes through Session's checked path, so UNIT ATTENTION is
 * retried and a non-GOOD status rejects as ISCSI_SCSI_ERROR with decoded
 * sense (e.g. DATA PROTECT for a read-only LUN). Large requests are split
 * into chunks and issued with a bounded number in flight; the C core queues
 * them against the target's CmdSN window (RFC 7143 4.2.2.1).
 *
 * Cancelling: a signal aborts the native session as every other Session
 * command does (the core fails all pending commands and drops the
 * connection). Stream destroy() therefore does NOT abort: it stops issuing
 * and waits for the commands already in flight, so the session stays usable
 * and 'close' is emitted only once nothing of the stream is pending.
 */
import { Readable, Writable } from 'node:stream';
import { setMaxListeners } from 'node:events';
import { ErrorCodes, IscsiError, invalidArg, timeoutError, type ErrorContext } from './errors';
import { Deadline, validateOptionsObject, validateSignal, validateTimeout, type OperationOptions } from './options';
import type { Capacity } from './scsi';
import type { ScsiResult, Session } from './session';

/** Code for LBA ranges past the LUN's capacity (also ErrorCodes.LBA_OUT_OF_RANGE). */
export const LBA_OUT_OF_RANGE = ErrorCodes.LBA_OUT_OF_RANGE;

export const DEFAULT_QUEUE_DEPTH = 8;
const MAX_QUEUE_DEPTH = 64;
const MAX_CHUNK_BYTES = 1024 * 1024;
/** The addon's inLength limit is 2^31-1; stay well below. */
const MAX_CHUNK_OPTION = 2 ** 30;
const MAX_LUN = 16383;
const U32 = 0xffffffffn;

export interface BlockIoOptions extends OperationOptions {
  /** Bytes per SCSI command (multiple of the block size). Default:
   * min(negotiated MaxBurstLength, 1 MiB), rounded down to whole blocks. */
  chunkBytes?: number;
  /** Commands in flight at once, 1..64, default 8. */
  queueDepth?: number;
}

export interface ReadStreamOptions {
  /** First byte (block aligned), default 0. */
  start?: number | bigint;
  /** Last byte, INCLUSIVE like fs.createReadStream (so end + 1 must be
   * block aligned). Default: the last byte of the LUN. */
  end?: number | bigint;
  /** Readable buffer limit in bytes; no READ is issued while the buffered
   * data is at or above it. Default: 4 chunks. */
  highWaterMark?: number;
  queueDepth?: number;
  chunkBytes?: number;
  /** Per-command timeout (default: the session's commandTimeoutMs). */
  timeoutMs?: number;
}

export interface WriteStreamOptions {
  /** First byte (block aligned), default 0. */
  start?: number | bigint;
  highWaterMark?: number;
  queueDepth?: number;
  chunkBytes?: number;
  timeoutMs?: number;
}

// ------------------------------------------------------------ CDBs (SBC-3)

/** READ(10) 0x28 / WRITE(10) 0x2A (SBC-3 5.11 / 5.32): 32-bit LBA, 16-bit length. */
export function cdbRw10(write: boolean, lba: bigint, blocks: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = write ? 0x2a : 0x28;
  cdb.writeUInt32BE(Number(lba), 2);
  cdb.writeUInt16BE(blocks, 7);
  return cdb;
}

/** READ(16) 0x88 / WRITE(16) 0x8A (SBC-3 5.13 / 5.34): 64-bit LBA, 32-bit length. */
export function cdbRw16(write: boolean, lba: bigint, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = write ? 0x8a : 0x88;
  cdb.writeBigUInt64BE(lba, 2);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

/** READ/WRITE(10) when the whole range fits in 32 bits and the length in
 * 16 bits, else the 16-byte form. */
export function cdbRw(write: boolean, lba: bigint, blocks: number): Buffer {
  return lba + BigInt(blocks) <= U32 && blocks <= 0xffff ? cdbRw10(write, lba, blocks) : cdbRw16(write, lba, blocks);
}

/** SYNCHRONIZE CACHE(10) 0x35 (SBC-3 5.22): LBA 0 and 0 blocks = the whole medium. */
export function cdbSynchronizeCache10(): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x35;
  return cdb;
}

// ------------------------------------------------------------ helpers

/** Per-session READ CAPACITY cache (keyed by the Session instance). */
const capacities = new WeakMap<Session, Map<number, Promise<Capacity>>>();
/** The same once resolved, for the synchronous fast path below. */
const knownCapacities = new WeakMap<Session, Map<number, { cap: Capacity; chunk: number }>>();

/**
 * The fast path of read/readInto/write: one command, no options beyond
 * queueDepth, LUN geometry already known. Returns undefined when the
 * general path must run (it validates and reports everything). Saves the
 * async layers (capacity lookup, bounded runner) per call, which is most
 * of the JS cost of a small I/O.
 */
function singleCommand(session: Session, lun: unknown, lba: unknown, buffer: Buffer, opts: unknown): { cdbLba: bigint; blocks: number; bl: number } | undefined {
  if (opts !== undefined) {
    if (opts === null || typeof opts !== 'object') return undefined;
    for (const k in opts) if (k !== 'queueDepth') return undefined;
  }
  if (typeof lun !== 'number' || typeof lba !== 'number' || !Number.isSafeInteger(lba) || lba < 0) return undefined;
  const k = knownCapacities.get(session)?.get(lun);
  if (!k || buffer.length === 0 || buffer.length > k.chunk || buffer.length % k.cap.blockLength !== 0) return undefined;
  const blocks = buffer.length / k.cap.blockLength;
  const first = BigInt(lba);
  if (first + BigInt(blocks) > k.cap.blocks) return undefined;
  return { cdbLba: first, blocks, bl: k.cap.blockLength };
}

function checkLun(lun: unknown): asserts lun is number {
  if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
    throw invalidArg('lun', lun, `must be an integer between 0 and ${MAX_LUN}`);
  }
}

function toBigInt(v: unknown, name: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n) throw invalidArg(name, v, 'must not be negative');
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArg(name, v, 'must be a non-negative safe integer or a bigint');
  }
  return BigInt(v);
}

function intOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArg(name, v, `must be an integer between ${min} and ${max}`);
  }
  return v;
}

function ctxOf(session: Session, operation: string): ErrorContext {
  return { operation, target: session.target, portal: session.portal };
}

/** Drops a LUN's cached READ CAPACITY: the target reported that it
 * changed (CAPACITY DATA HAS CHANGED), so the next I/O asks again. */
export function forgetCapacity(session: Session, lun: number): void {
  capacities.get(session)?.delete(lun);
  knownCapacities.get(session)?.delete(lun);
}

/** The READ CAPACITY data of a LUN, fetched once per session and LUN. */
export function blockCapacity(session: Session, lun: number, opts?: OperationOptions): Promise<Capacity> {
  checkLun(lun);
  let m = capacities.get(session);
  if (!m) capacities.set(session, (m = new Map()));
  let p = m.get(lun);
  if (!p) {
    p = session.readCapacity(lun, opts).then((c) => {
      if (c.blockLength <= 0 || c.blockLength > MAX_CHUNK_OPTION) {
        throw new IscsiError(
          ErrorCodes.PROTOCOL_ERROR,
          `READ CAPACITY of LUN ${lun} reported an unusable block length ${c.blockLength} (target ${session.target})`,
          { target: session.target, portal: session.portal },
        );
      }
      let known = knownCapacities.get(session);
      if (!known) knownCapacities.set(session, (known = new Map()));
      known.set(lun, { cap: c, chunk: defaultChunk(session, c.blockLength) });
      return c;
    });
    const mm = m;
    // A failed lookup (timeout, abort...) is not cached.
    p.catch(() => mm.delete(lun));
    m.set(lun, p);
  }
  return p;
}

function defaultChunk(session: Session, blockLength: number): number {
  const burst = session.parameters.maxBurstLength || MAX_CHUNK_BYTES;
  const bytes = Math.min(burst, MAX_CHUNK_BYTES);
  return Math.max(1, Math.floor(bytes / blockLength)) * blockLength;
}

function chunkOption(v: unknown, name: string, session: Session, blockLength: number): number {
  if (v === undefined) return defaultChunk(session, blockLength);
  const n = intOption(v, name, blockLength, MAX_CHUNK_OPTION, 0);
  if (n % blockLength !== 0) throw invalidArg(name, v, `must be a multiple of the block size (${blockLength} bytes)`);
  return n;
}

function outOfRange(session: Session, lun: number, lba: bigint, blocks: bigint, cap: Capacity): IscsiError {
  return new IscsiError(
    LBA_OUT_OF_RANGE,
    `LBA range ${lba}..${lba + blocks - 1n} (${blocks} blocks) on LUN ${lun} is past the end of the LUN (last LBA ${cap.lastLba}, target ${session.target})`,
    { target: session.target, portal: session.portal },
  );
}

function checkRange(session: Session, lun: number, lba: bigint, blocks: bigint, cap: Capacity): void {
  if (lba + blocks > cap.blocks) throw outOfRange(session, lun, lba, blocks, cap);
}

/**
 * One READ or WRITE command of `blocks` blocks, straight between the target
 * and the caller's memory: a read lands in `dataIn` (no copy in JS or the
 * addon), a write is sent from `dataOut`.
 */
function rwCommand(
  session: Session,
  lun: number,
  lba: bigint,
  blocks: number,
  blockLength: number,
  dataOut: Buffer | null,
  dataIn: Buffer | null,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<void> {
  const write = dataOut !== null;
  const cdb = cdbRw(write, lba, blocks);
  const name = write ? (cdb.length === 10 ? 'WRITE(10)' : 'WRITE(16)') : cdb.length === 10 ? 'READ(10)' : 'READ(16)';
  return session._blockIo(name, lun, cdb, dataOut, dataIn, signal, timeoutMs).then((got) => {
    if (!write && got !== blocks * blockLength) throw shortRead(session, name, lun, lba, blocks, blockLength, got);
  });
}

function shortRead(session: Session, name: string, lun: number, lba: bigint, blocks: number, blockLength: number, got: number): IscsiError {
  return new IscsiError(
    ErrorCodes.PROTOCOL_ERROR,
    `${name} of ${blocks} blocks at LBA ${lba} on LUN ${lun} returned ${got} bytes, ${blocks * blockLength} expected (target ${session.target})`,
    { target: session.target, portal: session.portal },
  );
}

interface Prepared {
  signal?: AbortSignal;
  deadline?: Deadline;
  queueDepth: number;
  chunkOpt: unknown;
}

function prepare(opts: unknown): Prepared {
  const o = validateOptionsObject(opts);
  const queueDepth0 = intOption(o.queueDepth, 'options.queueDepth', 1, MAX_QUEUE_DEPTH, DEFAULT_QUEUE_DEPTH);
  let signal = validateSignal(o.signal);
  if (signal) {
    // One listener on the caller's signal; the per-command listeners (up to
    // queueDepth at once) go on our own signal, sized so Node does not warn.
    const own = new AbortController();
    setMaxListeners(queueDepth0 + 4, own.signal);
    if (signal.aborted) own.abort(signal.reason);
    else signal.addEventListener('abort', () => own.abort(signal!.reason), { once: true });
    signal = own.signal;
  }
  const deadline = o.timeoutMs === undefined ? undefined : new Deadline(validateTimeout(o.timeoutMs, 'options.timeoutMs', 0));
  return { signal, deadline, queueDepth: queueDepth0, chunkOpt: o.chunkBytes };
}

/** Options for one command: the caller's signal and what is left of the
 * caller's overall timeout (or the session default per command). */
function commandOptions(p: Prepared, ctx: ErrorContext): OperationOptions {
  const o: OperationOptions = {};
  if (p.signal) o.signal = p.signal;
  const t = commandTimeout(p, ctx);
  if (t !== undefined) o.timeoutMs = t;
  return o;
}

function commandTimeout(p: Prepared, ctx: ErrorContext): number | undefined {
  if (!p.deadline) return undefined;
  const left = p.deadline.remaining();
  if (left <= 0) throw timeoutError(ctx, p.deadline.totalMs);
  return Math.ceil(left);
}

/**
 * Runs `count` jobs with at most `depth` in flight. On the first failure no
 * further job starts; the ones in flight are awaited (so nothing is left
 * pending on the session) and the first error is thrown.
 */
async function runBounded(count: number, depth: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      const i = next++;
      try {
        await job(i);
      } catch (err) {
        if (!failed) failed = { err };
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(depth, count); w++) workers.push(worker());
  await Promise.all(workers);
  if (failed) throw failed.err;
}

async function transfer(
  session: Session,
  lun: number,
  lbaIn: unknown,
  buffer: Buffer,
  write: boolean,
  opts: unknown,
): Promise<void> {
  checkLun(lun);
  const lba = toBigInt(lbaIn, 'lba');
  const p = prepare(opts);
  const what = write ? 'WRITE' : 'READ';
  const ctx = ctxOf(session, `${what} on LUN ${lun}`);
  const cap = await blockCapacity(session, lun, commandOptions(p, ctx));
  const bl = cap.blockLength;
  if (buffer.length % bl !== 0) {
    throw invalidArg(write ? 'data' : 'buffer', buffer, `must be a whole number of blocks: length ${buffer.length} is not a multiple of the block size ${bl} of LUN ${lun}`);
  }
  const totalBlocks = buffer.length / bl;
  checkRange(session, lun, lba, BigInt(totalBlocks), cap);
  if (totalBlocks === 0) return;
  const chunk = chunkOption(p.chunkOpt, 'options.chunkBytes', session, bl);
  const chunkBlocks = chunk / bl;
  const jobs = Math.ceil(totalBlocks / chunkBlocks);
  await runBounded(jobs, p.queueDepth, async (i) => {
    const first = i * chunkBlocks;
    const n = Math.min(chunkBlocks, totalBlocks - first);
    const slice = buffer.subarray(first * bl, (first + n) * bl);
    await rwCommand(session, lun, lba + BigInt(first), n, bl, write ? slice : null, write ? null : slice, p.signal, commandTimeout(p, ctx));
  });
}

// ------------------------------------------------------------ public API

/** The fast path's single command: straight to Session._fastIo (one
 * promise reaction) with the same short-read error as rwCommand. */
function fastCommand<T>(session: Session, lun: number, one: { cdbLba: bigint; blocks: number; bl: number }, dataOut: Buffer | null, dataIn: Buffer | null, result: T): Promise<T> {
  const write = dataOut !== null;
  const cdb = cdbRw(write, one.cdbLba, one.blocks);
  const name = write ? (cdb.length === 10 ? 'WRITE(10)' : 'WRITE(16)') : cdb.length === 10 ? 'READ(10)' : 'READ(16)';
  return session._fastIo(name, lun, cdb, dataOut, dataIn, result, (got) => shortRead(session, name, lun, one.cdbLba, one.blocks, one.bl, got));
}

/** Reads `blocks` blocks from `lba`. */
export function read(session: Session, lun: number, lba: number | bigint, blocks: number, opts?: BlockIoOptions): Promise<Buffer> {
  const k = typeof lun === 'number' ? knownCapacities.get(session)?.get(lun) : undefined;
  if (k && typeof blocks === 'number' && Number.isSafeInteger(blocks) && blocks > 0 && blocks * k.cap.blockLength <= k.chunk) {
    const buf = Buffer.allocUnsafe(blocks * k.cap.blockLength);
    const one = singleCommand(session, lun, lba, buf, opts);
    if (one) return fastCommand(session, lun, one, null, buf, buf);
  }
  return readGeneral(session, lun, lba, blocks, opts);
}

async function readGeneral(session: Session, lun: number, lba: number | bigint, blocks: number, opts?: BlockIoOptions): Promise<Buffer> {
  checkLun(lun);
  if (typeof blocks !== 'number' || !Number.isSafeInteger(blocks) || blocks < 0) {
    throw invalidArg('blocks', blocks, 'must be a non-negative integer');
  }
  const cap = await blockCapacity(session, lun, pickOpOpts(opts));
  if (blocks * cap.blockLength > 2 ** 31 - 1) {
    throw invalidArg('blocks', blocks, `is too large for one Buffer (${blocks} x ${cap.blockLength} bytes); use readInto() or createReadStream()`);
  }
  const buf = Buffer.allocUnsafe(blocks * cap.blockLength);
  await transfer(session, lun, lba, buf, false, opts);
  return buf;
}

/** Reads buffer.length bytes (a whole number of blocks) from `lba` into
 * `buffer`; resolves with the number of bytes read. */
export function readInto(session: Session, lun: number, lba: number | bigint, buffer: Buffer, opts?: BlockIoOptions): Promise<number> {
  const one = Buffer.isBuffer(buffer) ? singleCommand(session, lun, lba, buffer, opts) : undefined;
  if (one) return fastCommand(session, lun, one, null, buffer, buffer.length);
  return readIntoGeneral(session, lun, lba, buffer, opts);
}

async function readIntoGeneral(session: Session, lun: number, lba: number | bigint, buffer: Buffer, opts?: BlockIoOptions): Promise<number> {
  if (!Buffer.isBuffer(buffer)) throw invalidArg('buffer', buffer, 'must be a Buffer');
  await transfer(session, lun, lba, buffer, false, opts);
  return buffer.length;
}

/** Writes `data` (a whole number of blocks) at `lba`. */
export function write(session: Session, lun: number, lba: number | bigint, data: Buffer, opts?: BlockIoOptions): Promise<void> {
  const one = Buffer.isBuffer(data) ? singleCommand(session, lun, lba, data, opts) : undefined;
  if (one) return fastCommand(session, lun, one, data, null, undefined);
  return writeGeneral(session, lun, lba, data, opts);
}

async function writeGeneral(session: Session, lun: number, lba: number | bigint, data: Buffer, opts?: BlockIoOptions): Promise<void> {
  if (!Buffer.isBuffer(data)) throw invalidArg('data', data, 'must be a Buffer');
  await transfer(session, lun, lba, data, true, opts);
}

/** SYNCHRONIZE CACHE(10) of the whole LUN. */
export async function flush(session: Session, lun: number, opts?: OperationOptions): Promise<void> {
  checkLun(lun);
  await session._checkedCommand('SYNCHRONIZE CACHE(10)', lun, cdbSynchronizeCache10(), null, 0, opts);
}

function pickOpOpts(opts: unknown): OperationOptions {
  const o = validateOptionsObject(opts);
  const out: OperationOptions = {};
  if (o.signal !== undefined) out.signal = validateSignal(o.signal);
  if (o.timeoutMs !== undefined) out.timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', 0);
  return out;
}

interface StreamCommon {
  start: bigint;
  queueDepth: number;
  chunkOpt: unknown;
  timeoutMs?: number;
  highWaterMark?: number;
}

function streamCommon(opts: unknown): StreamCommon {
  const o = validateOptionsObject(opts);
  const c: StreamCommon = {
    start: o.start === undefined ? 0n : toBigInt(o.start, 'options.start'),
    queueDepth: intOption(o.queueDepth, 'options.queueDepth', 1, MAX_QUEUE_DEPTH, DEFAULT_QUEUE_DEPTH),
    chunkOpt: o.chunkBytes,
  };
  if (o.timeoutMs !== undefined) c.timeoutMs = validateTimeout(o.timeoutMs, 'options.timeoutMs', 0);
  if (o.highWaterMark !== undefined) c.highWaterMark = intOption(o.highWaterMark, 'options.highWaterMark', 1, 2 ** 30, 0);
  return c;
}

function alignedBlock(v: bigint, bl: number, name: string, lun: number): bigint {
  if (v % BigInt(bl) !== 0n) {
    throw invalidArg(name, v, `must be a multiple of the block size ${bl} of LUN ${lun} (streams move whole blocks)`);
  }
  return v / BigInt(bl);
}

/**
 * A Readable of the bytes start..end (inclusive, fs semantics) of a LUN.
 * Both ends must be block aligned (start % blockSize === 0 and
 * (end + 1) % blockSize === 0); a misaligned or out-of-range request fails
 * the stream ('error') before any READ is issued.
 */
export function createReadStream(session: Session, lun: number, opts?: ReadStreamOptions): Readable {
  checkLun(lun);
  const o = validateOptionsObject(opts);
  const c = streamCommon(o);
  const endOpt = o.end === undefined ? undefined : toBigInt(o.end, 'options.end');
  const cmdOpts: OperationOptions = c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {};

  let bl = 0;
  let chunkBlocks = 0;
  let nextLba = 0n;
  let endLba = 0n; // exclusive
  let wantMore = false;
  let finished = false;
  const queue: Array<{ settled: boolean; data?: Buffer; err?: unknown; p: Promise<void> }> = [];

  const stream = new Readable({
    highWaterMark: c.highWaterMark ?? 4 * MAX_CHUNK_BYTES,
    construct(cb) {
      blockCapacity(session, lun, cmdOpts).then(
        (cap) => {
          try {
            bl = cap.blockLength;
            chunkBlocks = chunkOption(c.chunkOpt, 'options.chunkBytes', session, bl) / bl;
            nextLba = alignedBlock(c.start, bl, 'options.start', lun);
            const endExcl = endOpt === undefined ? cap.bytes : endOpt + 1n;
            endLba = alignedBlock(endExcl, bl, 'options.end + 1', lun);
            if (endLba < nextLba) throw invalidArg('options.end', endOpt, `must not be before options.start (${c.start})`);
            checkRange(session, lun, nextLba, endLba - nextLba, cap);
            cb();
          } catch (err) {
            cb(err as Error);
          }
        },
        (err: Error) => cb(err),
      );
    },
    read() {
      wantMore = true;
      // Not synchronously: Node calls _read() while the chunk it is about
      // to hand out still counts in readableLength, so pump() could see a
      // full buffer, issue nothing, and no later push would ever call
      // _read() again (a stall behind a slow consumer).
      process.nextTick(deliver);
    },
    destroy(err, cb) {
      finished = true;
      // Wait for what is in flight (see the file comment): the session
      // must not be left with commands nobody listens to.
      Promise.allSettled(queue.map((e) => e.p)).then(() => cb(err));
    },
  });

  function pump(): void {
    while (
      wantMore &&
      !finished &&
      !stream.destroyed &&
      queue.length < c.queueDepth && // in flight + landed but not yet pushed (order)
      nextLba < endLba &&
      stream.readableLength < stream.readableHighWaterMark
    ) {
      const lba = nextLba;
      const n = Number(endLba - lba < BigInt(chunkBlocks) ? endLba - lba : BigInt(chunkBlocks));
      nextLba += BigInt(n);
      const entry: (typeof queue)[number] = { settled: false, p: Promise.resolve() };
      const data = Buffer.allocUnsafe(n * bl);
      entry.p = rwCommand(session, lun, lba, n, bl, null, data, undefined, c.timeoutMs).then(
        () => {
          entry.data = data;
        },
        (err: unknown) => {
          entry.err = err;
        },
      ).finally(() => {
        entry.settled = true;
        deliver();
      });
      queue.push(entry);
    }
  }

  function deliver(): void {
    if (finished || stream.destroyed) return;
    while (queue.length > 0 && queue[0].settled) {
      const e = queue.shift()!;
      if (e.err !== undefined) {
        stream.destroy(e.err as Error);
        return;
      }
      if (!stream.push(e.data)) wantMore = false;
    }
    if (queue.length === 0 && nextLba >= endLba) {
      finished = true;
      stream.push(null);
      return;
    }
    pump();
  }

  return stream;
}

/**
 * A Writable storing bytes at `start` (block aligned) onward. Partial blocks
 * are buffered until complete; writes run with up to queueDepth commands in
 * flight; end() waits for them and issues SYNCHRONIZE CACHE(10). The total
 * length must be a whole number of blocks, else end() fails the stream with
 * ERR_INVALID_ARG_VALUE (nothing of the partial tail is written).
 */
export function createWriteStream(session: Session, lun: number, opts?: WriteStreamOptions): Writable {
  checkLun(lun);
  const c = streamCommon(opts);
  const cmdOpts: OperationOptions = c.timeoutMs !== undefined ? { timeoutMs: c.timeoutMs } : {};

  let cap: Capacity;
  let bl = 0;
  let chunkBytes = 0;
  let nextLba = 0n;
  let partial: Buffer = Buffer.alloc(0);
  let failed: { err: unknown } | undefined;
  const inFlight = new Set<Promise<void>>();

  async function issue(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += chunkBytes) {
      while (inFlight.size >= c.queueDepth && !failed) await Promise.race(inFlight);
      if (failed) throw failed.err;
      const piece = data.subarray(off, Math.min(off + chunkBytes, data.length));
      const blocks = piece.length / bl;
      const lba = nextLba;
      checkRange(session, lun, lba, BigInt(blocks), cap);
      nextLba += BigInt(blocks);
      const p: Promise<void> = rwCommand(session, lun, lba, blocks, bl, piece, null, undefined, c.timeoutMs).then(
        () => undefined,
        (err: unknown) => {
          if (!failed) failed = { err };
        },
      ).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }

  async function settle(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  function accept(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    if (failed) return cb(failed.err as Error);
    // Commands send straight from this memory and run after cb(): the
    // caller may reuse its chunk by then, so keep a private copy (concat
    // makes one anyway when joining a partial block or several chunks).
    const all = partial.length || chunks.length > 1 ? Buffer.concat([partial, ...chunks]) : Buffer.from(chunks[0]);
    const aligned = all.length - (all.length % bl);
    partial = Buffer.from(all.subarray(aligned));
    if (aligned === 0) return cb();
    issue(all.subarray(0, aligned)).then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  return new Writable({
    highWaterMark: c.highWaterMark ?? 4 * MAX_CHUNK_BYTES,
    construct(cb) {
      blockCapacity(session, lun, cmdOpts).then(
        (cp) => {
          try {
            cap = cp;
            bl = cp.blockLength;
            chunkBytes = chunkOption(c.chunkOpt, 'options.chunkBytes', session, bl);
            nextLba = alignedBlock(c.start, bl, 'options.start', lun);
            if (nextLba > cp.blocks) throw outOfRange(session, lun, nextLba, 0n, cp);
            cb();
          } catch (err) {
            cb(err as Error);
          }
        },
        (err: Error) => cb(err),
      );
    },
    write(chunk: Buffer, _enc, cb) {
      accept([chunk], cb);
    },
    writev(chunks, cb) {
      accept(
        chunks.map((x) => x.chunk as Buffer),
        cb,
      );
    },
    final(cb) {
      settle()
        .then(() => {
          if (failed) throw failed.err;
          if (partial.length > 0) {
            throw invalidArg(
              'data',
              partial,
              `must be a whole number of blocks: the stream ended with ${partial.length} bytes of a partial ${bl}-byte block (not written) on LUN ${lun}`,
            );
          }
          return flush(session, lun, cmdOpts);
        })
        .then(
          () => cb(),
          (err: Error) => cb(err),
        );
    },
    destroy(err, cb) {
      settle().then(() => cb(err));
    },
  });
}
