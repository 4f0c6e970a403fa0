import {
  cdbInquiry, cdbReadCapacity10, cdbReadCapacity16, cdbReportLuns, parseInquiry, parseReadCapacity10,
  parseReadCapacity16, parseReportLuns, decodeLun, encodeLun, parseSense, scsiStatusName, senseKeyName,
  deviceTypeName, describeSense,
} from '../lib/scsi';
import { IscsiError } from '../lib/errors';

// Standard INQUIRY data as tgtd returns it for a file-backed disk (bytes
// captured with sg_inq -H against tgt 1.0.85; values match iscsi-inq output).
function tgtdInquiry(): Buffer {
  const b = Buffer.alloc(74);
  b[0] = 0x00; b[1] = 0x00; b[2] = 0x05; b[3] = 0x12; b[4] = 69; b[5] = 0x00; b[6] = 0x00; b[7] = 0x02;
  b.write('IET     ', 8, 'ascii');
  b.write('VIRTUAL-DISK    ', 16, 'ascii');
  b.write('0001', 32, 'ascii');
  b.writeUInt16BE(0x04c0, 58);
  b.writeUInt16BE(0x0960, 60);
  b.writeUInt16BE(0x0300, 62);
  return b;
}

describe('CDB builders', () => {
  it('INQUIRY', () => {
    expect(cdbInquiry(255).toString('hex')).toBe('12000000ff00');
    expect(cdbInquiry(0x1234, true, 0x80).toString('hex')).toBe('120180123400');
  });
  it('READ CAPACITY', () => {
    expect(cdbReadCapacity10().toString('hex')).toBe('25000000000000000000');
    expect(cdbReadCapacity16(32).toString('hex')).toBe('9e100000000000000000000000200000');
  });
  it('REPORT LUNS', () => {
    expect(cdbReportLuns(528).toString('hex')).toBe('a00000000000000002100000');
    expect(cdbReportLuns(0x01020304, 2).toString('hex')).toBe('a00002000000010203040000');
  });
});

describe('parseInquiry', () => {
  it('decodes tgtd data', () => {
    expect(parseInquiry(tgtdInquiry())).toEqual({
      peripheralQualifier: 0, deviceType: 0, deviceTypeName: 'DIRECT_ACCESS', removable: false, version: 5,
      normaca: false, hisup: true, responseDataFormat: 2, additionalLength: 69, sccs: false, acc: false, tpgs: 0,
      threePc: false, protect: false, encserv: false, multip: false, sync: false, cmdque: true,
      vendor: 'IET', product: 'VIRTUAL-DISK', revision: '0001', versionDescriptors: [0x04c0, 0x0960, 0x0300],
    });
  });
  it('decodes every bit', () => {
    const b = Buffer.alloc(36, 0x20);
    b[0] = 0x6c; b[1] = 0x80; b[2] = 6; b[3] = 0x32; b[4] = 31; b[5] = 0xf9; b[6] = 0x50; b[7] = 0x12;
    const q = parseInquiry(b);
    expect(q).toMatchObject({
      peripheralQualifier: 3, deviceType: 0x0c, deviceTypeName: 'STORAGE_ARRAY_CONTROLLER', removable: true,
      version: 6, normaca: true, hisup: true, responseDataFormat: 2, sccs: true, acc: true, tpgs: 3, threePc: true,
      protect: true, encserv: true, multip: true, sync: true, cmdque: true, vendor: '', product: '', revision: '',
      versionDescriptors: [],
    });
  });
  it('limits descriptors to ADDITIONAL LENGTH and replaces non-printables', () => {
    const b = tgtdInquiry();
    b[4] = 57; // declares 62 bytes: descriptors 58..61 only
    b[8] = 0x01;
    const q = parseInquiry(b);
    expect(q.versionDescriptors).toEqual([0x04c0, 0x0960]);
    expect(q.vendor).toBe('?ET');
  });
  it.each([0, 1, 35])('rejects %d bytes with ISCSI_PROTOCOL_ERROR', (n) => {
    expect(() => parseInquiry(Buffer.alloc(n))).toThrow(IscsiError);
    try { parseInquiry(Buffer.alloc(n)); } catch (e) { expect((e as IscsiError).code).toBe('ISCSI_PROTOCOL_ERROR'); }
  });
  it('device type names', () => {
    expect(deviceTypeName(0)).toBe('DIRECT_ACCESS');
    expect(deviceTypeName(5)).toBe('MMC');
    expect(deviceTypeName(0x1f)).toBe('UNKNOWN');
    expect(deviceTypeName(0x1a)).toBe('UNKNOWN');
  });
});

describe('READ CAPACITY parsers', () => {
  it('(16): 64 MiB tgtd disk, LBPPBE 3', () => {
    const b = Buffer.alloc(32);
    b.writeBigUInt64BE(131071n, 0);
    b.writeUInt32BE(512, 8);
    b[13] = 0x03;
    expect(parseReadCapacity16(b)).toEqual({
      lastLba: 131071n, blockLength: 512, blocks: 131072n, bytes: 67108864n, pType: 0, protEn: false, pIExponent: 0,
      lbppbe: 3, lbpme: false, lbprz: false, lowestAlignedLba: 0, source: 'READ CAPACITY(16)',
    });
  });
  it('(16): all fields and > 2^53 sizes', () => {
    const b = Buffer.alloc(32);
    b.writeBigUInt64BE(0xffffffffffffn, 0);
    b.writeUInt32BE(4096, 8);
    b[12] = 0x05; b[13] = 0x21; b[14] = 0xc0 | 0x12; b[15] = 0x34;
    const c = parseReadCapacity16(b);
    expect(c).toMatchObject({ pType: 2, protEn: true, pIExponent: 2, lbppbe: 1, lbpme: true, lbprz: true, lowestAlignedLba: 0x1234 });
    expect(c.bytes).toBe(0x1000000000000n * 4096n);
  });
  it('(10)', () => {
    const b = Buffer.from('0001ffff00000200', 'hex');
    expect(parseReadCapacity10(b)).toMatchObject({ lastLba: 131071n, blockLength: 512, blocks: 131072n, bytes: 67108864n, source: 'READ CAPACITY(10)' });
  });
  it('short data', () => {
    expect(() => parseReadCapacity16(Buffer.alloc(15))).toThrow(/too short/);
    expect(() => parseReadCapacity10(Buffer.alloc(7))).toThrow(/too short/);
  });
});

describe('REPORT LUNS', () => {
  it('parses the list and the total', () => {
    const b = Buffer.from('00000010000000000000000000000000' + '0001000000000000', 'hex');
    const r = parseReportLuns(b);
    expect(r.total).toBe(2);
    expect(r.neededLength).toBe(24);
    expect(r.entries.map(decodeLun)).toEqual([0, 1]);
  });
  it('reports truncation (list longer than the buffer)', () => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(8 * 100, 0);
    const r = parseReportLuns(b);
    expect(r.entries.length).toBe(1);
    expect(r.total).toBe(100);
    expect(r.neededLength).toBe(808);
  });
  it('ignores a partial trailing entry and hostile lengths', () => {
    const b = Buffer.alloc(8 + 12);
    b.writeUInt32BE(0xffffffff, 0);
    const r = parseReportLuns(b);
    expect(r.entries.length).toBe(1);
    expect(r.neededLength).toBe(8 + 0xffffffff);
    expect(() => parseReportLuns(Buffer.alloc(7))).toThrow(IscsiError);
  });
  it('LUN encoding (SAM-5 4.7)', () => {
    expect(decodeLun(Buffer.from('0000000000000000', 'hex'))).toBe(0);
    expect(decodeLun(Buffer.from('00ff000000000000', 'hex'))).toBe(255);
    expect(decodeLun(Buffer.from('4100000000000000', 'hex'))).toBe(256);
    expect(decodeLun(Buffer.from('7fff000000000000', 'hex'))).toBe(16383);
    expect(decodeLun(Buffer.from('0101000000000000', 'hex'))).toBe(-1); // bus 1
    expect(decodeLun(Buffer.from('8001000000000000', 'hex'))).toBe(-1); // logical unit addressing
    expect(decodeLun(Buffer.from('c001000000000000', 'hex'))).toBe(-1); // extended
    expect(decodeLun(Buffer.from('0001000100000000', 'hex'))).toBe(-1); // second level
    expect(decodeLun(Buffer.alloc(7))).toBe(-1);
    for (const n of [0, 1, 255, 256, 4097, 16383]) expect(decodeLun(encodeLun(n))).toBe(n);
    expect(encodeLun(256).toString('hex')).toBe('4100000000000000');
    expect(() => encodeLun(16384)).toThrow(RangeError);
  });
});

describe('sense data', () => {
  it('fixed format with INFORMATION', () => {
    // ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (0x20/0x00)
    const s = Buffer.from('f00005000012340a00000000200000000000', 'hex');
    expect(parseSense(s)).toEqual({ responseCode: 0x70, senseKey: 5, senseKeyName: 'ILLEGAL REQUEST', asc: 0x20, ascq: 0, information: 0x1234n });
  });
  it('fixed format with the iSCSI SenseLength prefix', () => {
    const s = Buffer.from('0012' + '700006000000000a00000000290000000000', 'hex');
    expect(parseSense(s)).toMatchObject({ senseKey: 6, senseKeyName: 'UNIT ATTENTION', asc: 0x29, ascq: 0 });
  });
  it('descriptor format with an information descriptor', () => {
    const s = Buffer.from('72052400000000 0c 000a80000000000000000abc'.replace(/ /g, ''), 'hex');
    expect(parseSense(s)).toEqual({ responseCode: 0x72, senseKey: 5, senseKeyName: 'ILLEGAL REQUEST', asc: 0x24, ascq: 0, information: 0xabcn });
  });
  it('short fixed sense: key only', () => {
    expect(parseSense(Buffer.from('700002', 'hex'))).toMatchObject({ senseKey: 2, asc: 0, ascq: 0 });
  });
  it('hostile descriptor lengths never read past the end', () => {
    expect(parseSense(Buffer.from('72052400000000ff00ff80', 'hex'))).toMatchObject({ asc: 0x24 });
    expect(parseSense(Buffer.from('7205240000000008 00ff', 'hex'))).toMatchObject({ asc: 0x24 });
    expect(parseSense(Buffer.alloc(0))).toBeUndefined();
    expect(parseSense(Buffer.from('12345678', 'hex'))).toBeUndefined();
    expect(parseSense(Buffer.from('7205', 'hex'))).toBeUndefined();
  });
  it('names', () => {
    expect(senseKeyName(0xb)).toBe('ABORTED COMMAND');
    expect(scsiStatusName(2)).toBe('CHECK CONDITION');
    expect(scsiStatusName(0x18)).toBe('RESERVATION CONFLICT');
    expect(scsiStatusName(0x99)).toBe('UNKNOWN STATUS 0x99');
    expect(describeSense({ responseCode: 0x70, senseKey: 5, senseKeyName: 'ILLEGAL REQUEST', asc: 0x25, ascq: 0 }))
      .toBe('sense key ILLEGAL REQUEST (0x05), ASC 0x25 ASCQ 0x00');
  });
});
