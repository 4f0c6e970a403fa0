/**
 * SCSI CDB builders and response parsers used by Session's typed helpers.
 *
 * Pure functions over Buffers, mirroring SPC-4 / SBC-3 byte layouts (the C
 * core has the same builders in native/core/src for C users; doing these
 * trivial layouts in TypeScript avoids N-API round trips). Parsers never
 * read past the buffer: short data throws ISCSI_PROTOCOL_ERROR.
 */
import { IscsiError } from './errors';

export const ScsiStatus = {
  GOOD: 0x00,
  CHECK_CONDITION: 0x02,
  CONDITION_MET: 0x04,
  BUSY: 0x08,
  RESERVATION_CONFLICT: 0x18,
  TASK_SET_FULL: 0x28,
  ACA_ACTIVE: 0x30,
  TASK_ABORTED: 0x40,
} as const;

export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  BLANK_CHECK: 0x8,
  VENDOR_SPECIFIC: 0x9,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  VOLUME_OVERFLOW: 0xd,
  MISCOMPARE: 0xe,
  COMPLETED: 0xf,
} as const;

const SENSE_KEY_NAMES = [
  'NO SENSE', 'RECOVERED ERROR', 'NOT READY', 'MEDIUM ERROR', 'HARDWARE ERROR', 'ILLEGAL REQUEST',
  'UNIT ATTENTION', 'DATA PROTECT', 'BLANK CHECK', 'VENDOR SPECIFIC', 'COPY ABORTED', 'ABORTED COMMAND',
  'RESERVED', 'VOLUME OVERFLOW', 'MISCOMPARE', 'COMPLETED',
];

export function senseKeyName(key: number): string {
  return SENSE_KEY_NAMES[key & 0xf];
}

const STATUS_NAMES: Record<number, string> = {
  0x00: 'GOOD',
  0x02: 'CHECK CONDITION',
  0x04: 'CONDITION MET',
  0x08: 'BUSY',
  0x18: 'RESERVATION CONFLICT',
  0x28: 'TASK SET FULL',
  0x30: 'ACA ACTIVE',
  0x40: 'TASK ABORTED',
};

export function scsiStatusName(status: number): string {
  return STATUS_NAMES[status] ?? `UNKNOWN STATUS 0x${status.toString(16).padStart(2, '0')}`;
}

// Peripheral device type names (SPC-4 table 49), spelled like libiscsi's
// iscsi-ls/iscsi-inq output so results can be compared with those tools.
const DEVICE_TYPE_NAMES: Record<number, string> = {
  0x00: 'DIRECT_ACCESS',
  0x01: 'SEQUENTIAL_ACCESS',
  0x02: 'PRINTER',
  0x03: 'PROCESSOR',
  0x04: 'WRITE_ONCE',
  0x05: 'MMC',
  0x06: 'SCANNER',
  0x07: 'OPTICAL_MEMORY',
  0x08: 'MEDIA_CHANGER',
  0x09: 'COMMUNICATIONS',
  0x0c: 'STORAGE_ARRAY_CONTROLLER',
  0x0d: 'ENCLOSURE_SERVICES',
  0x0e: 'SIMPLIFIED_DIRECT_ACCESS',
  0x0f: 'OPTICAL_CARD_READER',
  0x10: 'BRIDGE_CONTROLLER',
  0x11: 'OSD',
  0x12: 'AUTOMATION',
  0x13: 'SECURITY_MANAGER',
  0x1e: 'WELL_KNOWN_LUN',
  0x1f: 'UNKNOWN',
};

export function deviceTypeName(type: number): string {
  return DEVICE_TYPE_NAMES[type] ?? 'UNKNOWN';
}

function short(what: string, need: number, got: number): IscsiError {
  return new IscsiError(
    'ISCSI_PROTOCOL_ERROR',
    `${what} response is too short: ${got} bytes, at least ${need} needed`,
  );
}

// ---------------------------------------------------------------- CDBs

/** INQUIRY (SPC-4 6.6.1), 6 bytes. */
export function cdbInquiry(allocLength: number, evpd = false, page = 0): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = 0x12;
  cdb[1] = evpd ? 1 : 0;
  cdb[2] = evpd ? page & 0xff : 0;
  cdb.writeUInt16BE(allocLength & 0xffff, 3);
  return cdb;
}

/** READ CAPACITY (10) (SBC-3 5.15), 10 bytes. */
export function cdbReadCapacity10(): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x25;
  return cdb;
}

/** READ CAPACITY (16) = SERVICE ACTION IN (16) 0x9E / SA 0x10 (SBC-3 5.16). */
export function cdbReadCapacity16(allocLength = 32): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x9e;
  cdb[1] = 0x10;
  cdb.writeUInt32BE(allocLength >>> 0, 10);
  return cdb;
}

/** REPORT LUNS (SPC-4 6.33), 12 bytes. Allocation length must be >= 16. */
export function cdbReportLuns(allocLength: number, selectReport = 0): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa0;
  cdb[2] = selectReport & 0xff;
  cdb.writeUInt32BE(allocLength >>> 0, 6);
  return cdb;
}

// ---------------------------------------------------------------- INQUIRY

export interface Inquiry {
  peripheralQualifier: number;
  deviceType: number;
  deviceTypeName: string;
  removable: boolean;
  version: number;
  normaca: boolean;
  hisup: boolean;
  responseDataFormat: number;
  additionalLength: number;
  sccs: boolean;
  acc: boolean;
  tpgs: number;
  threePc: boolean;
  protect: boolean;
  encserv: boolean;
  multip: boolean;
  /** Byte 7 bit 4 (obsolete SYNC in SPC-4; iscsi-inq still prints it). */
  sync: boolean;
  cmdque: boolean;
  /** T10 vendor identification, trailing spaces trimmed. */
  vendor: string;
  product: string;
  revision: string;
  /** Non-zero version descriptors present in the returned data. */
  versionDescriptors: number[];
}

function ascii(buf: Buffer, start: number, end: number): string {
  // SPC-4 4.4.1: ASCII printable (0x20..0x7e); anything else shown as '?'.
  let s = '';
  for (let i = start; i < end && i < buf.length; i++) {
    const c = buf[i];
    s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '?';
  }
  return s.replace(/ +$/, '');
}

/** Standard INQUIRY data (SPC-4 6.6.2). Needs the 36-byte fixed part. */
export function parseInquiry(buf: Buffer): Inquiry {
  if (buf.length < 36) throw short('INQUIRY', 36, buf.length);
  const descriptors: number[] = [];
  // Version descriptors live at bytes 58..73, limited by what the target
  // both returned and declared (ADDITIONAL LENGTH + 5).
  const declaredEnd = Math.min(buf.length, buf[4] + 5);
  for (let off = 58; off + 2 <= declaredEnd && off < 74; off += 2) {
    const d = buf.readUInt16BE(off);
    if (d !== 0) descriptors.push(d);
  }
  return {
    peripheralQualifier: buf[0] >> 5,
    deviceType: buf[0] & 0x1f,
    deviceTypeName: deviceTypeName(buf[0] & 0x1f),
    removable: (buf[1] & 0x80) !== 0,
    version: buf[2],
    normaca: (buf[3] & 0x20) !== 0,
    hisup: (buf[3] & 0x10) !== 0,
    responseDataFormat: buf[3] & 0x0f,
    additionalLength: buf[4],
    sccs: (buf[5] & 0x80) !== 0,
    acc: (buf[5] & 0x40) !== 0,
    tpgs: (buf[5] >> 4) & 0x03,
    threePc: (buf[5] & 0x08) !== 0,
    protect: (buf[5] & 0x01) !== 0,
    encserv: (buf[6] & 0x40) !== 0,
    multip: (buf[6] & 0x10) !== 0,
    sync: (buf[7] & 0x10) !== 0,
    cmdque: (buf[7] & 0x02) !== 0,
    vendor: ascii(buf, 8, 16),
    product: ascii(buf, 16, 32),
    revision: ascii(buf, 32, 36),
    versionDescriptors: descriptors,
  };
}

// ---------------------------------------------------------------- READ CAPACITY

export interface Capacity {
  /** Address of the last logical block. */
  lastLba: bigint;
  blockLength: number;
  blocks: bigint;
  bytes: bigint;
  /** Logical blocks per physical block exponent. */
  lbppbe: number;
  /** Logical block provisioning management enabled (thin provisioning). */
  lbpme: boolean;
  /** Unmapped blocks read as zeros. */
  lbprz: boolean;
  protEn: boolean;
  pType: number;
  pIExponent: number;
  lowestAlignedLba: number;
  /** Which command produced the data. */
  source: 'READ CAPACITY(16)' | 'READ CAPACITY(10)';
}

/** READ CAPACITY (16) parameter data (SBC-3 5.16.2), 32 bytes (>= 16 used). */
export function parseReadCapacity16(buf: Buffer): Capacity {
  if (buf.length < 16) throw short('READ CAPACITY(16)', 16, buf.length);
  const lastLba = buf.readBigUInt64BE(0);
  const blockLength = buf.readUInt32BE(8);
  const blocks = lastLba + 1n;
  return {
    lastLba,
    blockLength,
    blocks,
    bytes: blocks * BigInt(blockLength),
    pType: (buf[12] >> 1) & 0x07,
    protEn: (buf[12] & 0x01) !== 0,
    pIExponent: buf[13] >> 4,
    lbppbe: buf[13] & 0x0f,
    lbpme: (buf[14] & 0x80) !== 0,
    lbprz: (buf[14] & 0x40) !== 0,
    lowestAlignedLba: buf.readUInt16BE(14) & 0x3fff,
    source: 'READ CAPACITY(16)',
  };
}

/** READ CAPACITY (10) parameter data (SBC-3 5.15.2), 8 bytes. */
export function parseReadCapacity10(buf: Buffer): Capacity {
  if (buf.length < 8) throw short('READ CAPACITY(10)', 8, buf.length);
  const lastLba = BigInt(buf.readUInt32BE(0));
  const blockLength = buf.readUInt32BE(4);
  const blocks = lastLba + 1n;
  return {
    lastLba,
    blockLength,
    blocks,
    bytes: blocks * BigInt(blockLength),
    pType: 0,
    protEn: false,
    pIExponent: 0,
    lbppbe: 0,
    lbpme: false,
    lbprz: false,
    lowestAlignedLba: 0,
    source: 'READ CAPACITY(10)',
  };
}

// ---------------------------------------------------------------- REPORT LUNS

export interface ReportLuns {
  /** Raw 8-byte LUN entries present in the buffer. */
  entries: Buffer[];
  /** Number of entries the target has (LUN LIST LENGTH / 8). */
  total: number;
  /** Bytes needed to receive the whole list (8 + LUN LIST LENGTH). */
  neededLength: number;
}

export function parseReportLuns(buf: Buffer): ReportLuns {
  if (buf.length < 8) throw short('REPORT LUNS', 8, buf.length);
  const listLength = buf.readUInt32BE(0);
  const entries: Buffer[] = [];
  const available = Math.min(listLength, buf.length - 8);
  for (let off = 8; off + 8 <= 8 + available; off += 8) entries.push(buf.subarray(off, off + 8));
  return { entries, total: Math.floor(listLength / 8), neededLength: 8 + listLength };
}

/**
 * Decodes a single-level LUN (SAM-5 4.7): peripheral device addressing with
 * bus 0 (LUN < 256) and flat space addressing (LUN < 16384). Returns -1 for
 * formats that have no single number (bus != 0, logical unit addressing,
 * extended, or multi-level LUNs with non-zero second level).
 */
export function decodeLun(entry: Buffer): number {
  if (entry.length !== 8) return -1;
  for (let i = 2; i < 8; i++) if (entry[i] !== 0) return -1;
  const method = entry[0] >> 6;
  if (method === 0) return (entry[0] & 0x3f) === 0 ? entry[1] : -1;
  if (method === 1) return ((entry[0] & 0x3f) << 8) | entry[1];
  return -1;
}

/** SAM-5 encoding matching decodeLun (peripheral < 256, else flat). */
export function encodeLun(lun: number): Buffer {
  if (!Number.isInteger(lun) || lun < 0 || lun > 16383) throw new RangeError(`LUN ${lun} out of range`);
  const b = Buffer.alloc(8);
  if (lun < 256) b[1] = lun;
  else {
    b[0] = 0x40 | (lun >> 8);
    b[1] = lun & 0xff;
  }
  return b;
}

// ---------------------------------------------------------------- sense data

export interface SenseData {
  responseCode: number;
  senseKey: number;
  senseKeyName: string;
  asc: number;
  ascq: number;
  /** INFORMATION field when valid (fixed format VALID bit / descriptor 0x00). */
  information?: bigint;
}

/**
 * Fixed (0x70/0x71) and descriptor (0x72/0x73) sense data (SPC-4 4.5).
 * Accepts data with the iSCSI 2-byte SenseLength prefix too (RFC 7143
 * 11.4.7.2) and strips it. Returns undefined when nothing decodable.
 */
export function parseSense(input: Buffer): SenseData | undefined {
  let buf = input;
  if (buf.length >= 2 && !isSenseCode(buf[0]) && buf.readUInt16BE(0) === buf.length - 2) buf = buf.subarray(2);
  else if (buf.length >= 2 && !isSenseCode(buf[0]) && buf.readUInt16BE(0) < buf.length - 2) {
    // Prefix plus padding: keep only the declared sense bytes.
    buf = buf.subarray(2, 2 + buf.readUInt16BE(0));
  }
  if (buf.length < 1) return undefined;
  const rc = buf[0] & 0x7f;
  if (rc === 0x70 || rc === 0x71) {
    if (buf.length < 3) return undefined;
    const out: SenseData = {
      responseCode: rc,
      senseKey: buf[2] & 0x0f,
      senseKeyName: senseKeyName(buf[2] & 0x0f),
      asc: buf.length > 12 ? buf[12] : 0,
      ascq: buf.length > 13 ? buf[13] : 0,
    };
    if (buf[0] & 0x80 && buf.length >= 7) out.information = BigInt(buf.readUInt32BE(3));
    return out;
  }
  if (rc === 0x72 || rc === 0x73) {
    if (buf.length < 4) return undefined;
    const out: SenseData = {
      responseCode: rc,
      senseKey: buf[1] & 0x0f,
      senseKeyName: senseKeyName(buf[1] & 0x0f),
      asc: buf[2],
      ascq: buf[3],
    };
    // Walk descriptors (starting at byte 8) for the Information descriptor
    // (type 0x00, additional length 0x0a, VALID bit in byte 2).
    const end = Math.min(buf.length, 8 + (buf.length > 7 ? buf[7] : 0));
    for (let off = 8; off + 2 <= end; ) {
      const type = buf[off];
      const len = buf[off + 1];
      if (off + 2 + len > end) break;
      if (type === 0x00 && len >= 0x0a && buf[off + 2] & 0x80) out.information = buf.readBigUInt64BE(off + 4);
      off += 2 + len;
    }
    return out;
  }
  return undefined;
}

function isSenseCode(b: number): boolean {
  const rc = b & 0x7f;
  return rc >= 0x70 && rc <= 0x73;
}

export function describeSense(s: SenseData): string {
  const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
  return `sense key ${s.senseKeyName} (${hex(s.senseKey)}), ASC ${hex(s.asc)} ASCQ ${hex(s.ascq)}`;
}
