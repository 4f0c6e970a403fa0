/**
 * Typed block commands on a userspace Session: TEST UNIT READY,
 * MODE SENSE(10), the block VPD pages (0x00, 0xB0, 0xB2), UNMAP and
 * WRITE SAME(10|16).
 *
 * Commands go through Session's checked path (UNIT ATTENTION retried,
 * non-GOOD status -> ISCSI_SCSI_ERROR with decoded sense). UNMAP and WRITE
 * SAME are refused up front with ISCSI_NOT_SUPPORTED when the LUN's VPD
 * pages do not advertise the capability, and ranges past READ CAPACITY
 * with ISCSI_LBA_OUT_OF_RANGE, so no command is sent that the target is
 * known to reject. Large requests are split by the Block Limits page and
 * issued one command at a time; `timeoutMs` bounds the whole call.
 * The CDB layouts and parsers live in ./scsi-block.
 */
import { ErrorCodes, IscsiError, invalidArg, timeoutError, type ErrorContext } from './errors';
import { Deadline, validateOptionsObject, validateSignal, validateTimeout, type OperationOptions } from './options';
import { SenseKey, cdbInquiry, type Capacity } from './scsi';
import { blockCapacity } from './block-io';
import type { Session } from './session';
import {
  UNMAP_MAX_DESCRIPTORS_PER_LIST,
  cdbModeSense10,
  cdbTestUnitReady,
  cdbUnmap,
  cdbWriteSame10,
  cdbWriteSame16,
  checkVpdPage,
  modeSense10Length,
  parseBlockLimitsVpd,
  parseLogicalBlockProvisioningVpd,
  parseModeSense10,
  parseSupportedVpdPages,
  unmapParameterList,
  vpdPageLength,
  type BlockLimits,
  type LogicalBlockProvisioning,
  type ModeSenseResult,
  type PageControl,
  type UnmapDescriptor,
} from './scsi-block';

export * from './scsi-block';

const MAX_LUN = 16383;
const U32 = 0xffffffff;
/** Both INQUIRY and MODE SENSE(10) carry a 16-bit ALLOCATION LENGTH. */
const MAX_ALLOCATION = 0xffff;
/** Per-command block counts when the Block Limits page reports none: the
 * same conservative defaults Linux's sd uses (SD_MAX_WS16_BLOCKS for
 * unmapping, one 10-byte-sized chunk for writing data). */
const DEFAULT_UNMAP_BLOCKS = 0x7fffff;
const DEFAULT_WRITE_SAME_BLOCKS = 0xffff;

// ------------------------------------------------------------ helpers

function checkLun(lun: unknown): asserts lun is number {
  if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0 || lun > MAX_LUN) {
    throw invalidArg('lun', lun, `must be an integer between 0 and ${MAX_LUN}`);
  }
}

function toLba(v: unknown, name: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n) throw invalidArg(name, v, 'must not be negative');
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArg(name, v, 'must be a non-negative safe integer or a bigint');
  }
  return BigInt(v);
}

function toCount(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArg(name, v, 'must be a non-negative safe integer');
  }
  return v;
}

function intIn(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArg(name, v, `must be an integer between ${min} and ${max}`);
  }
  return v;
}

function boolOpt(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidArg(name, v, 'must be a boolean');
  return v;
}

function where(session: Session): { target: string; portal: string } {
  return { target: session.target, portal: session.portal };
}

function ctxOf(session: Session, operation: string): ErrorContext {
  return { operation, ...where(session) };
}

function outOfRange(session: Session, lun: number, lba: bigint, blocks: bigint, cap: Capacity): IscsiError {
  return new IscsiError(
    ErrorCodes.LBA_OUT_OF_RANGE,
    `LBA range ${lba}..${lba + blocks - 1n} (${blocks} blocks) on LUN ${lun} is past the end of the LUN (last LBA ${cap.lastLba}, target ${session.target})`,
    where(session),
  );
}

function notSupported(session: Session, lun: number, what: string, why: string): IscsiError {
  return new IscsiError(
    ErrorCodes.NOT_SUPPORTED,
    `${what} on LUN ${lun} is not supported (target ${session.target}, portal ${session.portal}): ${why}; nothing was sent`,
    where(session),
  );
}

/** Runs a parser on a target's response; its ISCSI_PROTOCOL_ERROR gains
 * the command, LUN, target and portal. */
function parsed<T>(session: Session, lun: number, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof IscsiError)) throw err;
    throw new IscsiError(
      err.code,
      `${name} on LUN ${lun} (target ${session.target}, portal ${session.portal}): ${err.message}`,
      { ...where(session), cause: err },
    );
  }
}

/**
 * The caller's signal and timeoutMs for a call made of several commands:
 * timeoutMs is the budget of the whole call (as in lib/block-io.ts), each
 * command getting what is left of it.
 */
class Budget {
  readonly #signal?: AbortSignal;
  readonly #deadline?: Deadline;
  constructor(opts: unknown) {
    const o = validateOptionsObject(opts);
    this.#signal = validateSignal(o.signal);
    if (o.timeoutMs !== undefined) this.#deadline = new Deadline(validateTimeout(o.timeoutMs, 'options.timeoutMs', 0));
  }
  next(ctx: ErrorContext): OperationOptions {
    const o: OperationOptions = {};
    if (this.#signal) o.signal = this.#signal;
    if (this.#deadline) {
      const left = this.#deadline.remaining();
      if (left <= 0) throw timeoutError(ctx, this.#deadline.totalMs);
      o.timeoutMs = Math.ceil(left);
    }
    return o;
  }
}

function isIllegalRequest(err: unknown): boolean {
  const e = err as IscsiError;
  return e instanceof IscsiError && e.code === ErrorCodes.SCSI_ERROR && e.sense?.senseKey === SenseKey.ILLEGAL_REQUEST;
}

// ------------------------------------------------------------ TEST UNIT READY

/** TEST UNIT READY: resolves when the LUN is ready; NOT READY and the like
 * reject as ISCSI_SCSI_ERROR with the sense data. */
export async function testUnitReady(session: Session, lun: number, opts?: OperationOptions): Promise<void> {
  checkLun(lun);
  await session._checkedCommand('TEST UNIT READY', lun, cdbTestUnitReady(), null, 0, opts);
}

// ------------------------------------------------------------ MODE SENSE(10)

export interface ModeSenseRequest {
  /** PAGE CODE 0..0x3f, default 0x3f (all pages). */
  page?: number;
  /** SUBPAGE CODE 0..0xff, default 0 (0xff with page 0x3f: all subpages too). */
  subpage?: number;
  /** PC field, default 'current'. */
  pageControl?: PageControl;
  /** DBD: leave out the block descriptors. */
  dbd?: boolean;
  /** LLBAA: accept 16-byte block descriptors (targets may ignore it). */
  longLba?: boolean;
  /** First ALLOCATION LENGTH, 8..65535, default 1024. The command is
   * re-issued with the MODE DATA LENGTH the target reports when that is more. */
  allocationLength?: number;
}

const PAGE_CONTROLS: readonly PageControl[] = ['current', 'changeable', 'default', 'saved'];

/** MODE SENSE(10), decoded (header, block descriptors, pages, caching page). */
export async function modeSense(
  session: Session,
  lun: number,
  request?: ModeSenseRequest,
  opts?: OperationOptions,
): Promise<ModeSenseResult> {
  checkLun(lun);
  const r = validateOptionsObject(request, 'request');
  const page = intIn(r.page, 'request.page', 0, 0x3f, 0x3f);
  const subpage = intIn(r.subpage, 'request.subpage', 0, 0xff, 0);
  const pageControl = (r.pageControl ?? 'current') as PageControl;
  if (!PAGE_CONTROLS.includes(pageControl)) {
    throw invalidArg('request.pageControl', r.pageControl, `must be one of ${PAGE_CONTROLS.join(', ')}`);
  }
  const dbd = boolOpt(r.dbd, 'request.dbd');
  const longLba = boolOpt(r.longLba, 'request.longLba');
  let alloc = intIn(r.allocationLength, 'request.allocationLength', 8, MAX_ALLOCATION, 1024);
  const budget = new Budget(opts);
  const ctx = ctxOf(session, `MODE SENSE(10) on LUN ${lun}`);
  for (let round = 0; ; round++) {
    const cdb = cdbModeSense10({ page, subpage, pageControl, dbd, longLba, allocationLength: alloc });
    const res = await session._checkedCommand('MODE SENSE(10)', lun, cdb, null, alloc, budget.next(ctx));
    const need = modeSense10Length(res.data);
    // Cut short by our allocation length: ask again for all of it.
    if (need !== undefined && need > res.data.length && need > alloc && alloc < MAX_ALLOCATION && round < 2) {
      alloc = Math.min(need, MAX_ALLOCATION);
      continue;
    }
    return parsed(session, lun, 'MODE SENSE(10)', () => parseModeSense10(res.data));
  }
}

// ------------------------------------------------------------ VPD

export interface VpdOptions extends OperationOptions {
  /** First ALLOCATION LENGTH, 4..65535, default 255 (what every target
   * accepts; the command is re-issued when PAGE LENGTH says more). */
  allocationLength?: number;
}

/** INQUIRY with EVPD = 1: the whole VPD page, header included, checked
 * against its PAGE LENGTH and page code. */
export async function inquiryVpd(session: Session, lun: number, page: number, opts?: VpdOptions): Promise<Buffer> {
  checkLun(lun);
  const pageCode = intIn(page, 'page', 0, 0xff, 0);
  const o = validateOptionsObject(opts);
  let alloc = intIn(o.allocationLength, 'options.allocationLength', 4, MAX_ALLOCATION, 255);
  const budget = new Budget(o);
  const name = `INQUIRY VPD 0x${pageCode.toString(16).padStart(2, '0')}`;
  const ctx = ctxOf(session, `${name} on LUN ${lun}`);
  for (let round = 0; ; round++) {
    const res = await session._checkedCommand(name, lun, cdbInquiry(alloc, true, pageCode), null, alloc, budget.next(ctx));
    const need = vpdPageLength(res.data);
    if (need !== undefined && need > res.data.length && need > alloc && alloc < MAX_ALLOCATION && round < 2) {
      alloc = Math.min(need, MAX_ALLOCATION);
      continue;
    }
    return parsed(session, lun, name, () => checkVpdPage(res.data, pageCode));
  }
}

export interface BlockDeviceInfo {
  /** Page codes of the Supported VPD Pages page ([] when the LUN has none). */
  supportedVpdPages: readonly number[];
  /** Block Limits (0xB0), when listed. */
  blockLimits?: Readonly<BlockLimits>;
  /** Logical Block Provisioning (0xB2), when listed. */
  provisioning?: Readonly<LogicalBlockProvisioning>;
  /** UNMAP is advertised (0xB2 LBPU). */
  supportsUnmap: boolean;
  /** WRITE SAME(16) with UNMAP = 1 is advertised (0xB2 LBPWS). Plain WRITE
   * SAME (no unmapping) has no VPD bit; the target decides. */
  supportsWriteSame16: boolean;
  /** WRITE SAME(10) with UNMAP = 1 is advertised (0xB2 LBPWS10). */
  supportsWriteSame10: boolean;
}

/** Per-session, per-LUN cache of blockDeviceInfo (keyed by the Session). */
const infos = new WeakMap<Session, Map<number, Promise<BlockDeviceInfo>>>();

async function fetchBlockDeviceInfo(session: Session, lun: number, budget: Budget): Promise<BlockDeviceInfo> {
  const ctx = ctxOf(session, `reading the block VPD pages of LUN ${lun}`);
  // A LUN without VPD support answers ILLEGAL REQUEST: nothing advertised.
  const optional = async <T>(page: number, parse: (b: Buffer) => T): Promise<T | undefined> => {
    try {
      const buf = await inquiryVpd(session, lun, page, budget.next(ctx));
      return parsed(session, lun, `INQUIRY VPD 0x${page.toString(16)}`, () => parse(buf));
    } catch (err) {
      if (isIllegalRequest(err)) return undefined;
      throw err;
    }
  };
  const pages = (await optional(0x00, parseSupportedVpdPages)) ?? [];
  const blockLimits = pages.includes(0xb0) ? await optional(0xb0, parseBlockLimitsVpd) : undefined;
  const provisioning = pages.includes(0xb2) ? await optional(0xb2, parseLogicalBlockProvisioningVpd) : undefined;
  const info: BlockDeviceInfo = {
    supportedVpdPages: Object.freeze(pages),
    supportsUnmap: provisioning?.lbpu ?? false,
    supportsWriteSame16: provisioning?.lbpws ?? false,
    supportsWriteSame10: provisioning?.lbpws10 ?? false,
  };
  if (blockLimits) info.blockLimits = Object.freeze(blockLimits);
  if (provisioning) info.provisioning = Object.freeze(provisioning);
  // Shared by every caller of the cache: frozen so no one alters it for the others.
  return Object.freeze(info);
}

/**
 * What the LUN advertises for UNMAP / WRITE SAME: the Supported VPD Pages
 * page, then Block Limits and Logical Block Provisioning when listed.
 * Fetched once per session and LUN (a failed lookup is not cached).
 */
export function blockDeviceInfo(session: Session, lun: number, opts?: OperationOptions): Promise<BlockDeviceInfo> {
  checkLun(lun);
  const budget = new Budget(opts);
  let m = infos.get(session);
  if (!m) infos.set(session, (m = new Map()));
  let p = m.get(lun);
  if (!p) {
    p = fetchBlockDeviceInfo(session, lun, budget);
    const mm = m;
    p.catch(() => mm.delete(lun));
    m.set(lun, p);
  }
  return p;
}

// ------------------------------------------------------------ UNMAP

export interface UnmapRange {
  lba: number | bigint;
  blocks: number;
}

export interface UnmapLimits {
  /** Blocks one UNMAP command may cover in total (Infinity: no limit). */
  maxLbaCount: number;
  /** Descriptors one UNMAP command may carry (at most 4095). */
  maxDescriptors: number;
}

/** The per-command limits from the Block Limits page: 0 means not
 * reported (conservative default), 0xFFFFFFFF means no limit. */
export function unmapLimits(bl: BlockLimits | undefined): UnmapLimits {
  const lba = bl?.maxUnmapLbaCount ?? 0;
  const desc = bl?.maxUnmapBlockDescriptorCount ?? 0;
  return {
    maxLbaCount: lba === U32 ? Infinity : lba || DEFAULT_UNMAP_BLOCKS,
    maxDescriptors: Math.min(desc === 0 ? 1 : desc, UNMAP_MAX_DESCRIPTORS_PER_LIST),
  };
}

/**
 * Splits ranges into UNMAP commands: every descriptor covers at most
 * min(maxLbaCount, 2^32-1) blocks (its NUMBER OF LOGICAL BLOCKS is 32
 * bits), every command at most maxDescriptors descriptors and maxLbaCount
 * blocks in total. Zero-length ranges are dropped. Order is kept.
 */
export function* unmapCommands(ranges: readonly { lba: bigint; blocks: number }[], limits: UnmapLimits): Generator<UnmapDescriptor[]> {
  if (!(limits.maxLbaCount >= 1) || !Number.isInteger(limits.maxDescriptors) || limits.maxDescriptors < 1 || limits.maxDescriptors > UNMAP_MAX_DESCRIPTORS_PER_LIST) {
    throw invalidArg('limits', limits, `must allow at least 1 block and 1..${UNMAP_MAX_DESCRIPTORS_PER_LIST} descriptors per command`);
  }
  const perDescriptor = Math.min(Math.floor(limits.maxLbaCount), U32);
  let cmd: UnmapDescriptor[] = [];
  let total = 0;
  for (const r of ranges) {
    let lba = r.lba;
    let left = r.blocks;
    while (left > 0) {
      let n = Math.min(left, perDescriptor);
      if (cmd.length >= limits.maxDescriptors || total >= limits.maxLbaCount) {
        yield cmd;
        cmd = [];
        total = 0;
      }
      n = Math.min(n, limits.maxLbaCount - total);
      cmd.push({ lba, blocks: n });
      total += n;
      lba += BigInt(n);
      left -= n;
    }
  }
  if (cmd.length > 0) yield cmd;
}

/**
 * UNMAP (SBC-3 5.28) of the given ranges, split by the LUN's Block Limits.
 * Refused with ISCSI_NOT_SUPPORTED unless the LUN advertises LBPU; what
 * unmapped blocks read as afterwards is the LUN's LBPRZ
 * (blockDeviceInfo().provisioning.lbprz).
 */
export async function unmap(session: Session, lun: number, ranges: readonly UnmapRange[], opts?: OperationOptions): Promise<void> {
  checkLun(lun);
  if (!Array.isArray(ranges)) throw invalidArg('ranges', ranges, 'must be an array of { lba, blocks }');
  const list = ranges.map((r, i) => {
    if (r === null || typeof r !== 'object') throw invalidArg(`ranges[${i}]`, r, 'must be an object { lba, blocks }');
    return { lba: toLba(r.lba, `ranges[${i}].lba`), blocks: toCount(r.blocks, `ranges[${i}].blocks`) };
  });
  const budget = new Budget(opts);
  const ctx = ctxOf(session, `UNMAP on LUN ${lun}`);
  const cap = await blockCapacity(session, lun, budget.next(ctx));
  for (const r of list) {
    if (r.lba + BigInt(r.blocks) > cap.blocks) throw outOfRange(session, lun, r.lba, BigInt(r.blocks), cap);
  }
  const info = await blockDeviceInfo(session, lun, budget.next(ctx));
  if (!info.supportsUnmap) {
    throw notSupported(session, lun, 'UNMAP', 'the LUN does not set LBPU in its Logical Block Provisioning VPD page (not thin-provisioned, or not advertised)');
  }
  for (const descriptors of unmapCommands(list, unmapLimits(info.blockLimits))) {
    const params = unmapParameterList(descriptors);
    await session._checkedCommand('UNMAP', lun, cdbUnmap(params.length), params, 0, budget.next(ctx));
  }
}

// ------------------------------------------------------------ WRITE SAME

export interface WriteSameOptions {
  /** Set UNMAP: the target may deallocate the blocks instead of writing
   * them. Needs LBPWS (or LBPWS10) and an all-zero `data` block, because a
   * target that deallocates does not store the data (it reads back as the
   * LUN's LBPRZ value). */
  unmap?: boolean;
  /** Force WRITE SAME(10) or (16). Default: (16), or (10) for unmap when
   * the LUN advertises only LBPWS10. */
  cdbSize?: 10 | 16;
}

/**
 * WRITE SAME: writes the one block `data` to `blocks` blocks from `lba`,
 * split by the Block Limits MAXIMUM WRITE SAME LENGTH (or 65535 blocks per
 * command, 0x7FFFFF when unmapping, if the LUN reports none). `blocks` = 0
 * sends nothing (a 0 in the CDB would mean "to the end of the medium").
 */
export async function writeSame(
  session: Session,
  lun: number,
  lbaIn: number | bigint,
  blocksIn: number,
  data: Buffer,
  wsOpts?: WriteSameOptions,
  opts?: OperationOptions,
): Promise<void> {
  checkLun(lun);
  const lba = toLba(lbaIn, 'lba');
  const blocks = toCount(blocksIn, 'blocks');
  if (!Buffer.isBuffer(data)) throw invalidArg('data', data, 'must be a Buffer of one block');
  const w = validateOptionsObject(wsOpts, 'wsOptions');
  const unmapBit = boolOpt(w.unmap, 'wsOptions.unmap');
  if (w.cdbSize !== undefined && w.cdbSize !== 10 && w.cdbSize !== 16) {
    throw invalidArg('wsOptions.cdbSize', w.cdbSize, 'must be 10 or 16');
  }
  if (unmapBit && data.some((b) => b !== 0)) {
    throw invalidArg('data', data, 'must be all zeros with unmap: true (a target that deallocates does not store the data)');
  }
  const budget = new Budget(opts);
  const what = unmapBit ? 'WRITE SAME with UNMAP' : 'WRITE SAME';
  const ctx = ctxOf(session, `${what} on LUN ${lun}`);
  const cap = await blockCapacity(session, lun, budget.next(ctx));
  if (data.length !== cap.blockLength) {
    throw invalidArg('data', data, `must be exactly one block: length ${data.length} is not the block size ${cap.blockLength} of LUN ${lun}`);
  }
  if (lba + BigInt(blocks) > cap.blocks) throw outOfRange(session, lun, lba, BigInt(blocks), cap);
  const info = await blockDeviceInfo(session, lun, budget.next(ctx));

  let size: 10 | 16 = (w.cdbSize as 10 | 16 | undefined) ?? 16;
  if (unmapBit) {
    const ws16 = info.supportsWriteSame16;
    const ws10 = info.supportsWriteSame10;
    if (w.cdbSize === 16 && !ws16) throw notSupported(session, lun, 'WRITE SAME(16) with UNMAP', 'the LUN does not set LBPWS in its Logical Block Provisioning VPD page');
    if (w.cdbSize === 10 && !ws10) throw notSupported(session, lun, 'WRITE SAME(10) with UNMAP', 'the LUN does not set LBPWS10 in its Logical Block Provisioning VPD page');
    if (!ws16 && !ws10) throw notSupported(session, lun, what, 'the LUN sets neither LBPWS nor LBPWS10 in its Logical Block Provisioning VPD page');
    if (w.cdbSize === undefined && !ws16) size = 10;
  }
  if (blocks === 0) return;
  if (size === 10 && lba + BigInt(blocks) > BigInt(U32)) {
    const why = `WRITE SAME(10) has a 32-bit LBA, and the range ends at LBA ${lba + BigInt(blocks) - 1n}`;
    if (w.cdbSize === 10) throw invalidArg('wsOptions.cdbSize', 10, `cannot address this range: ${why}`);
    throw notSupported(session, lun, what, `the LUN advertises unmapping only through WRITE SAME(10) (LBPWS10), and ${why}`);
  }

  const cdbMax = size === 10 ? 0xffff : U32;
  const reported = info.blockLimits?.maxWriteSameLength ?? 0n;
  const perCommand =
    reported > 0n
      ? Number(reported < BigInt(cdbMax) ? reported : BigInt(cdbMax))
      : Math.min(unmapBit ? DEFAULT_UNMAP_BLOCKS : DEFAULT_WRITE_SAME_BLOCKS, cdbMax);
  const name = `WRITE SAME(${size})`;
  for (let done = 0; done < blocks; ) {
    const n = Math.min(perCommand, blocks - done);
    const at = lba + BigInt(done);
    const cdb = size === 10 ? cdbWriteSame10(at, n, unmapBit) : cdbWriteSame16(at, n, unmapBit);
    await session._checkedCommand(name, lun, cdb, data, 0, budget.next(ctx));
    done += n;
  }
}
