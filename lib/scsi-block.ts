/**
 * CDB builders and response parsers for the block commands of
 * lib/block-commands.ts: TEST UNIT READY, MODE SENSE(10), the block VPD
 * pages, UNMAP and WRITE SAME.
 *
 * Pure functions over Buffers (like lib/scsi.ts). Parsers check every
 * length the data declares against the bytes present before reading, so
 * malformed or truncated data throws ISCSI_PROTOCOL_ERROR and never a
 * RangeError from a Buffer read.
 */
import { ErrorCodes, IscsiError } from './errors';

function malformed(what: string, why: string): IscsiError {
  return new IscsiError(ErrorCodes.PROTOCOL_ERROR, `${what} data is malformed: ${why}`);
}

// ---------------------------------------------------------------- CDBs

/** TEST UNIT READY 0x00 (SPC-4), 6 bytes of which only the opcode is set. */
export function cdbTestUnitReady(): Buffer {
  return Buffer.alloc(6);
}

export type PageControl = 'current' | 'changeable' | 'default' | 'saved';
const PAGE_CONTROL: Record<PageControl, number> = { current: 0, changeable: 1, default: 2, saved: 3 };

export interface ModeSenseCdbFields {
  page: number;
  subpage: number;
  pageControl: PageControl;
  /** DBD: ask for no block descriptors. */
  dbd: boolean;
  /** LLBAA: allow 16-byte block descriptors. */
  longLba: boolean;
  allocationLength: number;
}

/** MODE SENSE(10) 0x5A (SPC-4 6.12): byte 1 LLBAA (bit 4) and DBD (bit 3),
 * byte 2 PC (bits 7-6) and PAGE CODE, byte 3 SUBPAGE CODE, bytes 7-8
 * ALLOCATION LENGTH. */
export function cdbModeSense10(f: ModeSenseCdbFields): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5a;
  cdb[1] = (f.longLba ? 0x10 : 0) | (f.dbd ? 0x08 : 0);
  cdb[2] = (PAGE_CONTROL[f.pageControl] << 6) | (f.page & 0x3f);
  cdb[3] = f.subpage & 0xff;
  cdb.writeUInt16BE(f.allocationLength & 0xffff, 7);
  return cdb;
}

/** UNMAP 0x42 (SBC-3 5.28): bytes 7-8 PARAMETER LIST LENGTH. */
export function cdbUnmap(parameterListLength: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x42;
  cdb.writeUInt16BE(parameterListLength & 0xffff, 7);
  return cdb;
}

/** Descriptors one UNMAP parameter list can hold: both length fields of
 * the list and the CDB's PARAMETER LIST LENGTH are 16 bits (SBC-3 5.28.2). */
export const UNMAP_MAX_DESCRIPTORS_PER_LIST = Math.floor((0xffff - 8) / 16);

export interface UnmapDescriptor {
  lba: bigint;
  /** 1 .. 2^32-1 */
  blocks: number;
}

/** UNMAP parameter list (SBC-3 5.28.2): 8-byte header (UNMAP DATA LENGTH =
 * total - 2, UNMAP BLOCK DESCRIPTOR DATA LENGTH = 16 x n), then 16-byte
 * descriptors (8-byte LBA, 4-byte NUMBER OF LOGICAL BLOCKS, 4 reserved). */
export function unmapParameterList(descriptors: readonly UnmapDescriptor[]): Buffer {
  if (descriptors.length > UNMAP_MAX_DESCRIPTORS_PER_LIST) {
    throw new RangeError(`at most ${UNMAP_MAX_DESCRIPTORS_PER_LIST} UNMAP block descriptors fit one parameter list`);
  }
  const buf = Buffer.alloc(8 + 16 * descriptors.length);
  buf.writeUInt16BE(buf.length - 2, 0);
  buf.writeUInt16BE(16 * descriptors.length, 2);
  descriptors.forEach((d, i) => {
    buf.writeBigUInt64BE(d.lba, 8 + 16 * i);
    buf.writeUInt32BE(d.blocks, 16 + 16 * i);
  });
  return buf;
}

/** WRITE SAME(10) 0x41 (SBC-3): UNMAP is byte 1 bit 3, 32-bit LBA,
 * 16-bit NUMBER OF LOGICAL BLOCKS. Zero blocks means "to the end of the
 * medium" on most devices, so callers never build one with 0. */
export function cdbWriteSame10(lba: bigint, blocks: number, unmap: boolean): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x41;
  cdb[1] = unmap ? 0x08 : 0;
  cdb.writeUInt32BE(Number(lba), 2);
  cdb.writeUInt16BE(blocks, 7);
  return cdb;
}

/** WRITE SAME(16) 0x93 (SBC-3): 64-bit LBA, 32-bit NUMBER OF LOGICAL BLOCKS. */
export function cdbWriteSame16(lba: bigint, blocks: number, unmap: boolean): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x93;
  cdb[1] = unmap ? 0x08 : 0;
  cdb.writeBigUInt64BE(lba, 2);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

// ---------------------------------------------------------------- MODE SENSE(10)

export interface BlockDescriptor {
  /** NUMBER OF LOGICAL BLOCKS (0xFFFFFFFF in a short descriptor means "more
   * than fits"; some targets, tgtd among them, report 0). */
  blocks: bigint;
  blockLength: number;
}

export interface ModePage {
  page: number;
  /** 0 for pages in the page_0 format (SPF = 0). */
  subpage: number;
  /** PS: the page can be saved. */
  ps: boolean;
  /** The page parameters, after the 2- or 4-byte page header. */
  data: Buffer;
  /** The whole page including its header (what MODE SELECT takes back). */
  raw: Buffer;
}

/** Caching mode page 0x08 (SBC-3, caching mode page), byte 2. */
export interface CachingPage {
  /** WCE: write cache enabled. */
  wce: boolean;
  /** RCD: read cache disabled. */
  rcd: boolean;
}

export interface ModeSenseResult {
  mediumType: number;
  /** The raw DEVICE-SPECIFIC PARAMETER byte. */
  deviceSpecific: number;
  /** WP (device-specific parameter bit 7 for direct-access devices, SBC-3). */
  writeProtected: boolean;
  /** DPOFUA (bit 4): DPO and FUA bits are supported. */
  dpofua: boolean;
  /** LONGLBA: the block descriptors are 16 bytes each. */
  longLba: boolean;
  blockDescriptors: BlockDescriptor[];
  pages: ModePage[];
  /** Decoded caching page when the data holds page 0x08 subpage 0. */
  caching?: CachingPage;
}

/** Bytes the whole MODE SENSE(10) data occupies (MODE DATA LENGTH + 2), or
 * undefined when not even that field is present. */
export function modeSense10Length(buf: Buffer): number | undefined {
  return buf.length >= 2 ? buf.readUInt16BE(0) + 2 : undefined;
}

/**
 * MODE SENSE(10) parameter data (SPC-4 mode parameter header(10), block
 * descriptors, page_0/sub_page formats): 8-byte header,
 * block descriptors (8 bytes short / 16 bytes with LONGLBA), mode pages.
 * The data must hold all MODE DATA LENGTH + 2 bytes it declares (bytes
 * after that are ignored); a truncated buffer is an error, not a partial
 * result, so callers re-issue with a larger allocation instead.
 */
export function parseModeSense10(buf: Buffer): ModeSenseResult {
  const what = 'MODE SENSE(10)';
  if (buf.length < 8) throw malformed(what, `${buf.length} bytes, the header alone is 8`);
  const end = buf.readUInt16BE(0) + 2;
  if (end < 8) throw malformed(what, `MODE DATA LENGTH ${end - 2} is shorter than the rest of the header`);
  if (end > buf.length) throw malformed(what, `MODE DATA LENGTH declares ${end} bytes but only ${buf.length} are present (truncated)`);
  const longLba = (buf[4] & 0x01) !== 0;
  const bdLength = buf.readUInt16BE(6);
  const bdSize = longLba ? 16 : 8;
  if (8 + bdLength > end) throw malformed(what, `BLOCK DESCRIPTOR LENGTH ${bdLength} runs past the data (${end} bytes)`);
  if (bdLength % bdSize !== 0) throw malformed(what, `BLOCK DESCRIPTOR LENGTH ${bdLength} is not a multiple of ${bdSize}`);
  const blockDescriptors: BlockDescriptor[] = [];
  for (let off = 8; off < 8 + bdLength; off += bdSize) {
    if (longLba) {
      blockDescriptors.push({ blocks: buf.readBigUInt64BE(off), blockLength: buf.readUInt32BE(off + 12) });
    } else {
      // Short (SBC) descriptor: 4-byte NUMBER OF LOGICAL BLOCKS, reserved
      // byte, 3-byte LOGICAL BLOCK LENGTH.
      blockDescriptors.push({ blocks: BigInt(buf.readUInt32BE(off)), blockLength: buf.readUIntBE(off + 5, 3) });
    }
  }
  const pages: ModePage[] = [];
  for (let off = 8 + bdLength; off < end; ) {
    const spf = (buf[off] & 0x40) !== 0;
    const headerLength = spf ? 4 : 2;
    if (off + headerLength > end) throw malformed(what, `mode page header at offset ${off} runs past the data (${end} bytes)`);
    const pageLength = spf ? buf.readUInt16BE(off + 2) : buf[off + 1];
    const pageEnd = off + headerLength + pageLength;
    if (pageEnd > end) throw malformed(what, `mode page 0x${(buf[off] & 0x3f).toString(16)} at offset ${off} declares ${pageLength} bytes, past the data (${end} bytes)`);
    pages.push({
      page: buf[off] & 0x3f,
      subpage: spf ? buf[off + 1] : 0,
      ps: (buf[off] & 0x80) !== 0,
      data: buf.subarray(off + headerLength, pageEnd),
      raw: buf.subarray(off, pageEnd),
    });
    off = pageEnd;
  }
  const dsp = buf[3];
  const result: ModeSenseResult = {
    mediumType: buf[2],
    deviceSpecific: dsp,
    writeProtected: (dsp & 0x80) !== 0,
    dpofua: (dsp & 0x10) !== 0,
    longLba,
    blockDescriptors,
    pages,
  };
  const cachingPage = pages.find((p) => p.page === 0x08 && p.subpage === 0);
  // Byte 2 of the page is data[0]; an empty caching page has nothing to decode.
  if (cachingPage && cachingPage.data.length >= 1) {
    result.caching = { wce: (cachingPage.data[0] & 0x04) !== 0, rcd: (cachingPage.data[0] & 0x01) !== 0 };
  }
  return result;
}

// ---------------------------------------------------------------- VPD pages

/** Bytes the whole VPD page occupies (PAGE LENGTH + 4), or undefined when
 * the 4-byte header is not present. */
export function vpdPageLength(buf: Buffer): number | undefined {
  return buf.length >= 4 ? buf.readUInt16BE(2) + 4 : undefined;
}

/** Checks a VPD page's 4-byte header (SPC-4 VPD page format) and returns the page
 * cut to its declared length. */
export function checkVpdPage(buf: Buffer, page: number, minLength = 4): Buffer {
  const what = `VPD page 0x${page.toString(16).padStart(2, '0')}`;
  if (buf.length < 4) throw malformed(what, `${buf.length} bytes, the header alone is 4`);
  if (buf[1] !== page) throw malformed(what, `the target returned page 0x${buf[1].toString(16).padStart(2, '0')} instead`);
  const end = buf.readUInt16BE(2) + 4;
  if (end > buf.length) throw malformed(what, `PAGE LENGTH declares ${end} bytes but only ${buf.length} are present (truncated)`);
  if (end < minLength) throw malformed(what, `PAGE LENGTH ${end - 4} is shorter than the ${minLength - 4} bytes this page needs`);
  return buf.subarray(0, end);
}

/** Supported VPD Pages (SPC-4): the page codes, in target order. */
export function parseSupportedVpdPages(buf: Buffer): number[] {
  return [...checkVpdPage(buf, 0x00).subarray(4)];
}

/** Block Limits VPD page 0xB0 (SBC-3 6.6.4). A field of 0 means the
 * target does not report that limit. */
export interface BlockLimits {
  /** WSNZ: WRITE SAME with 0 blocks (= "to the end") is refused. */
  wsnz: boolean;
  maxCompareAndWriteLength: number;
  optimalTransferLengthGranularity: number;
  /** MAXIMUM TRANSFER LENGTH in blocks. */
  maxTransferLength: number;
  /** OPTIMAL TRANSFER LENGTH in blocks. */
  optimalTransferLength: number;
  maxPrefetchLength: number;
  /** MAXIMUM UNMAP LBA COUNT (0xFFFFFFFF: no limit). */
  maxUnmapLbaCount: number;
  /** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (0xFFFFFFFF: no limit). */
  maxUnmapBlockDescriptorCount: number;
  optimalUnmapGranularity: number;
  /** UGAVALID: unmapGranularityAlignment is meaningful. */
  unmapGranularityAlignmentValid: boolean;
  unmapGranularityAlignment: number;
  /** MAXIMUM WRITE SAME LENGTH in blocks. */
  maxWriteSameLength: bigint;
}

/**
 * The page is 64 bytes in SBC-3 (PAGE LENGTH 0x3C); SBC-2 devices return
 * only the first 16 (through OPTIMAL TRANSFER LENGTH). Fields past what the
 * target returned read as 0, "not reported".
 */
export function parseBlockLimitsVpd(buf: Buffer): BlockLimits {
  const p = checkVpdPage(buf, 0xb0, 16);
  const u32 = (off: number): number => (off + 4 <= p.length ? p.readUInt32BE(off) : 0);
  return {
    wsnz: (p[4] & 0x01) !== 0,
    maxCompareAndWriteLength: p[5],
    optimalTransferLengthGranularity: p.readUInt16BE(6),
    maxTransferLength: p.readUInt32BE(8),
    optimalTransferLength: p.readUInt32BE(12),
    maxPrefetchLength: u32(16),
    maxUnmapLbaCount: u32(20),
    maxUnmapBlockDescriptorCount: u32(24),
    optimalUnmapGranularity: u32(28),
    unmapGranularityAlignmentValid: p.length > 32 && (p[32] & 0x80) !== 0,
    unmapGranularityAlignment: u32(32) & 0x7fffffff,
    maxWriteSameLength: p.length >= 44 ? p.readBigUInt64BE(36) : 0n,
  };
}

export const ProvisioningType = { FULL: 0, RESOURCE: 1, THIN: 2 } as const;

/** Logical Block Provisioning VPD page 0xB2 (SBC-3). */
export interface LogicalBlockProvisioning {
  thresholdExponent: number;
  /** LBPU: UNMAP is supported. */
  lbpu: boolean;
  /** LBPWS: WRITE SAME(16) with UNMAP = 1 is supported. */
  lbpws: boolean;
  /** LBPWS10: WRITE SAME(10) with UNMAP = 1 is supported. */
  lbpws10: boolean;
  /** Unmapped blocks read as zeros (LBPRZ; in SBC-4 the 3-bit field's
   * low bit, see lbprzField). */
  lbprz: boolean;
  /** Byte 5 bits 4-2: SBC-3's LBPRZ bit sits at bit 2; SBC-4 widened it. */
  lbprzField: number;
  /** ANC_SUP: ANCHOR is supported. */
  ancSup: boolean;
  /** DP: a provisioning group descriptor follows. */
  dp: boolean;
  /** 0 full, 1 resource, 2 thin (ProvisioningType). */
  provisioningType: number;
}

export function parseLogicalBlockProvisioningVpd(buf: Buffer): LogicalBlockProvisioning {
  const p = checkVpdPage(buf, 0xb2, 8);
  const lbprzField = (p[5] >> 2) & 0x07;
  return {
    thresholdExponent: p[4],
    lbpu: (p[5] & 0x80) !== 0,
    lbpws: (p[5] & 0x40) !== 0,
    lbpws10: (p[5] & 0x20) !== 0,
    lbprz: (lbprzField & 0x01) !== 0,
    lbprzField,
    ancSup: (p[5] & 0x02) !== 0,
    dp: (p[5] & 0x01) !== 0,
    provisioningType: p[6] & 0x07,
  };
}
