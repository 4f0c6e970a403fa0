/**
 * Block commands (lib/block-commands.ts, lib/scsi-block.ts): the pure
 * parsers on captured tgtd data and must-fail fixtures, then every command
 * against a private tgtd 1.0.85:
 *
 * - tgtd advertises UNMAP / WRITE SAME with UNMAP (VPD 0xB2 LBPU, LBPWS,
 *   LBPWS10, LBPRZ, thin provisioning type) only after
 *   `tgtadm --op update --mode logicalunit --params thin_provisioning=1`
 *   (--params is refused at LUN creation). It then punches holes in the
 *   backing file, so unmapped blocks read as zeros.
 * - On a plain LUN it rejects UNMAP and WRITE SAME with UNMAP as ILLEGAL
 *   REQUEST; the library refuses both before sending (ISCSI_NOT_SUPPORTED).
 * - Block Limits: MAXIMUM UNMAP LBA/DESCRIPTOR COUNT 0xFFFFFFFF (no limit),
 *   MAXIMUM WRITE SAME LENGTH 0 (not reported), so the splits exercised
 *   here are the 16-bit parameter list (4095 descriptors) and the 65535
 *   block default for WRITE SAME.
 *
 * Command counts come from a pass-through spy on Session._checkedCommand:
 * every command still goes to tgtd.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { openSession, type Session } from '../lib/session';
import { ErrorCodes, IscsiError } from '../lib/errors';
import {
  blockDeviceInfo,
  inquiryVpd,
  modeSense,
  parseBlockLimitsVpd,
  parseLogicalBlockProvisioningVpd,
  parseModeSense10,
  parseSupportedVpdPages,
  testUnitReady,
  unmap,
  unmapCommands,
  unmapLimits,
  unmapParameterList,
  writeSame,
} from '../lib/block-commands';
import { startTgtd, type Tgtd } from './harness/tgtd';

const TARGET = 'iqn.2026-11.test.blockcmds:t';
const BS = 512;
// LUN numbers on the one target.
const PLAIN = 1; // 4 MiB, fully provisioned
const THIN = 2; // 8 MiB, thin_provisioning=1
const RO = 3; // 1 MiB, readonly=1
const RO_THIN = 4; // 1 MiB, readonly=1,thin_provisioning=1
const BIG = 5; // 48 MiB, fully provisioned
const ABSENT = 9;

let tgtd: Tgtd;
let tid = 0;

// Captured from tgtd 1.0.85: MODE SENSE(10) page 0x3f of a 4 MiB LUN
// (header, one short block descriptor, pages 0x00 0x02 0x08 0x0a 0x0a/01 0x1c).
const MS_ALL =
  '006c00100000000800000000000002000000020e8080000a0000000000000000000008121400ffff0000ffffffff80140000000000000a0a02100000' +
  '0000000002004a01001c040000000000000000000000000000000000000000000000000000001c0a08000000000000000000';
// VPD 0x00, 0xB0 and 0xB2 of a thin LUN.
const VPD_00 = '00000006008083b0b1b2';
const VPD_B0 =
  '00b0003c00800000000000000000000000000000ffffffffffffffff000000000000000000000000000000000000000000000000000000000000000000000000';
const VPD_B2 = '00b2000400e40200';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');

function expectProtocolError(fn: () => unknown, text?: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IscsiError);
  expect((err as IscsiError).code).toBe(ErrorCodes.PROTOCOL_ERROR);
  if (text) expect((err as IscsiError).message).toContain(text);
}

function allocatedBytes(file: string): number {
  return fs.statSync(file).blocks * 512;
}

beforeAll(async () => {
  tgtd = await startTgtd();
  tid = await tgtd.addTarget(TARGET, {
    luns: [{ sizeMiB: 4 }, { sizeMiB: 8 }, { sizeMiB: 1 }, { sizeMiB: 1 }, { sizeMiB: 48 }],
  });
  const params = async (lun: number, p: string): Promise<void> => {
    await tgtd.tgtadm(['--op', 'update', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(lun), '--params', p]);
  };
  await params(THIN, 'thin_provisioning=1');
  await params(RO, 'readonly=1');
  await params(RO_THIN, 'readonly=1,thin_provisioning=1');
});

afterAll(async () => {
  await tgtd?.stop();
});

// ------------------------------------------------------------ pure parsers

describe('parsers', () => {
  it('MODE SENSE(10): header, block descriptor, page_0 and sub_page pages, caching page', () => {
    const r = parseModeSense10(hex(MS_ALL));
    expect(r).toMatchObject({ mediumType: 0, writeProtected: false, dpofua: true, longLba: false, caching: { wce: true, rcd: false } });
    expect(r.blockDescriptors).toEqual([{ blocks: 0n, blockLength: 512 }]);
    expect(r.pages.map((p) => [p.page, p.subpage, p.data.length])).toEqual([
      [0x00, 0, 0],
      [0x02, 0, 14],
      [0x08, 0, 18],
      [0x0a, 0, 10],
      [0x0a, 1, 28],
      [0x1c, 0, 10],
    ]);
    const caching = r.pages[2];
    expect(caching.raw.toString('hex')).toBe('08121400ffff0000ffffffff8014000000000000');
    // WP is bit 7 of the device-specific parameter; padding after the data is ignored.
    const ro = Buffer.concat([hex(MS_ALL), Buffer.alloc(20)]);
    ro[3] = 0x90;
    expect(parseModeSense10(ro)).toMatchObject({ writeProtected: true, dpofua: true, deviceSpecific: 0x90 });
  });

  it('MODE SENSE(10): 16-byte block descriptors with LONGLBA and no pages', () => {
    const b = Buffer.alloc(8 + 16);
    b.writeUInt16BE(b.length - 2, 0);
    b[4] = 0x01;
    b.writeUInt16BE(16, 6);
    b.writeBigUInt64BE(2n ** 40n, 8);
    b.writeUInt32BE(4096, 20);
    expect(parseModeSense10(b)).toMatchObject({ longLba: true, blockDescriptors: [{ blocks: 2n ** 40n, blockLength: 4096 }], pages: [] });
    expect(parseModeSense10(b).caching).toBeUndefined();
  });

  it('MODE SENSE(10) must-fail fixtures give ISCSI_PROTOCOL_ERROR', () => {
    const good = hex(MS_ALL);
    expectProtocolError(() => parseModeSense10(Buffer.alloc(0)), 'the header alone is 8');
    expectProtocolError(() => parseModeSense10(good.subarray(0, 7)), 'the header alone is 8');
    // Truncated: MODE DATA LENGTH says 110 bytes.
    expectProtocolError(() => parseModeSense10(good.subarray(0, 60)), 'truncated');
    // MODE DATA LENGTH smaller than the header.
    const tiny = Buffer.from(good);
    tiny.writeUInt16BE(3, 0);
    expectProtocolError(() => parseModeSense10(tiny), 'shorter than the rest of the header');
    // Block descriptors past the data / not a multiple of 8.
    const bd = Buffer.from(good);
    bd.writeUInt16BE(0x200, 6);
    expectProtocolError(() => parseModeSense10(bd), 'BLOCK DESCRIPTOR LENGTH');
    const odd = Buffer.from(good);
    odd.writeUInt16BE(7, 6);
    expectProtocolError(() => parseModeSense10(odd), 'not a multiple of 8');
    // A page whose length runs past MODE DATA LENGTH.
    const page = Buffer.from(good);
    page[8 + 8 + 2 + 1] = 0xff; // page 0x02's PAGE LENGTH
    expectProtocolError(() => parseModeSense10(page), 'past the data');
    // A sub_page header cut by MODE DATA LENGTH.
    const sp = Buffer.alloc(8 + 3);
    sp.writeUInt16BE(sp.length - 2, 0);
    sp[8] = 0x4a;
    expectProtocolError(() => parseModeSense10(sp), 'header at offset 8');
  });

  it('VPD pages: supported list, Block Limits, Logical Block Provisioning', () => {
    expect(parseSupportedVpdPages(hex(VPD_00))).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    expect(parseBlockLimitsVpd(hex(VPD_B0))).toEqual({
      wsnz: false,
      maxCompareAndWriteLength: 0x80,
      optimalTransferLengthGranularity: 0,
      maxTransferLength: 0,
      optimalTransferLength: 0,
      maxPrefetchLength: 0,
      maxUnmapLbaCount: 0xffffffff,
      maxUnmapBlockDescriptorCount: 0xffffffff,
      optimalUnmapGranularity: 0,
      unmapGranularityAlignmentValid: false,
      unmapGranularityAlignment: 0,
      maxWriteSameLength: 0n,
    });
    expect(parseLogicalBlockProvisioningVpd(hex(VPD_B2))).toEqual({
      thresholdExponent: 0,
      lbpu: true,
      lbpws: true,
      lbpws10: true,
      lbprz: true,
      lbprzField: 1,
      ancSup: false,
      dp: false,
      provisioningType: 2,
    });
    // Every field of Block Limits at a distinct value.
    const b0 = Buffer.alloc(64);
    b0[1] = 0xb0;
    b0.writeUInt16BE(0x3c, 2);
    b0[4] = 1;
    b0[5] = 2;
    b0.writeUInt16BE(3, 6);
    [4, 5, 6, 7, 8, 9].forEach((v, i) => b0.writeUInt32BE(v, 8 + 4 * i));
    b0.writeUInt32BE(0x8000000a, 32);
    b0.writeBigUInt64BE(2n ** 33n, 36);
    expect(parseBlockLimitsVpd(b0)).toMatchObject({
      wsnz: true,
      maxCompareAndWriteLength: 2,
      optimalTransferLengthGranularity: 3,
      maxTransferLength: 4,
      optimalTransferLength: 5,
      maxPrefetchLength: 6,
      maxUnmapLbaCount: 7,
      maxUnmapBlockDescriptorCount: 8,
      optimalUnmapGranularity: 9,
      unmapGranularityAlignmentValid: true,
      unmapGranularityAlignment: 10,
      maxWriteSameLength: 2n ** 33n,
    });
    // An SBC-2 length page (16 bytes): the later fields read as "not reported".
    const sbc2 = Buffer.from(b0.subarray(0, 16));
    sbc2.writeUInt16BE(12, 2);
    expect(parseBlockLimitsVpd(sbc2)).toMatchObject({ maxTransferLength: 4, maxUnmapLbaCount: 0, maxWriteSameLength: 0n });
  });

  it('VPD must-fail fixtures give ISCSI_PROTOCOL_ERROR', () => {
    expectProtocolError(() => parseSupportedVpdPages(Buffer.alloc(3)), 'the header alone is 4');
    expectProtocolError(() => parseSupportedVpdPages(hex(VPD_00).subarray(0, 8)), 'truncated');
    expectProtocolError(() => parseBlockLimitsVpd(hex(VPD_B2)), 'returned page 0xb2 instead');
    expectProtocolError(() => parseBlockLimitsVpd(hex(VPD_B0).subarray(0, 8)), 'truncated');
    expectProtocolError(() => parseBlockLimitsVpd(hex('00b0000400000000')), 'shorter than the 12 bytes');
    expectProtocolError(() => parseLogicalBlockProvisioningVpd(hex('00b2000200e4')), 'shorter than the 4 bytes');
    const huge = hex(VPD_B2);
    huge.writeUInt16BE(0xffff, 2);
    expectProtocolError(() => parseLogicalBlockProvisioningVpd(huge), 'truncated');
  });

  it('never throws anything but IscsiError on truncated or random data', () => {
    const parsers: [(b: Buffer) => unknown, Buffer][] = [
      [parseModeSense10, hex(MS_ALL)],
      [parseSupportedVpdPages, hex(VPD_00)],
      [parseBlockLimitsVpd, hex(VPD_B0)],
      [parseLogicalBlockProvisioningVpd, hex(VPD_B2)],
    ];
    const check = (fn: (b: Buffer) => unknown, b: Buffer): void => {
      try {
        fn(b);
      } catch (e) {
        if (!(e instanceof IscsiError) || e.code !== ErrorCodes.PROTOCOL_ERROR) throw e;
      }
    };
    for (const [fn, good] of parsers) {
      for (let n = 0; n <= good.length; n++) check(fn, good.subarray(0, n));
      for (let i = 0; i < 300; i++) {
        // Random bytes, keeping the page code so the VPD parsers get past it.
        const b = crypto.randomBytes(1 + (i % 80));
        if (b.length > 1 && fn !== parseModeSense10) b[1] = good[1];
        check(fn, b);
      }
    }
  });

  it('UNMAP parameter list and the split of ranges into commands', () => {
    expect(unmapParameterList([{ lba: 0x1122334455n, blocks: 7 }]).toString('hex')).toBe(
      '001600100000000000000011223344550000000700000000',
    );
    const ranges = [
      { lba: 0n, blocks: 25 },
      { lba: 100n, blocks: 0 },
      { lba: 200n, blocks: 5 },
    ];
    expect([...unmapCommands(ranges, { maxLbaCount: 10, maxDescriptors: 2 })]).toEqual([
      [{ lba: 0n, blocks: 10 }],
      [{ lba: 10n, blocks: 10 }],
      [
        { lba: 20n, blocks: 5 },
        { lba: 200n, blocks: 5 },
      ],
    ]);
    // No limit: descriptors are still capped at 2^32-1 blocks and 4095 per list.
    const noLimit = unmapLimits(parseBlockLimitsVpd(hex(VPD_B0)));
    expect(noLimit).toEqual({ maxLbaCount: Infinity, maxDescriptors: 4095 });
    expect([...unmapCommands([{ lba: 0n, blocks: 2 ** 33 }], noLimit)]).toEqual([
      [
        { lba: 0n, blocks: 0xffffffff },
        { lba: 0xffffffffn, blocks: 0xffffffff },
        { lba: 0x1fffffffen, blocks: 2 },
      ],
    ]);
    // Nothing reported: one descriptor of at most 0x7fffff blocks per command.
    expect(unmapLimits(undefined)).toEqual({ maxLbaCount: 0x7fffff, maxDescriptors: 1 });
    expect(() => [...unmapCommands(ranges, { maxLbaCount: 10, maxDescriptors: 0 })]).toThrow(IscsiError);
  });
});

// ------------------------------------------------------------ against tgtd

describe('against tgtd', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port });
  });
  afterAll(async () => {
    await s?.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const spy = (): jest.SpyInstance => jest.spyOn(s, '_checkedCommand');
  const opcodes = (sp: jest.SpyInstance): number[] => sp.mock.calls.map((c) => (c[2] as Buffer)[0]);

  it('TEST UNIT READY: resolves on a LUN, ILLEGAL REQUEST on a LUN that does not exist', async () => {
    await expect(testUnitReady(s, PLAIN)).resolves.toBeUndefined();
    await expect(testUnitReady(s, RO, { timeoutMs: 5000 })).resolves.toBeUndefined();
    await expect(testUnitReady(s, ABSENT)).rejects.toMatchObject({
      code: ErrorCodes.SCSI_ERROR,
      sense: { senseKey: 0x5, asc: 0x25 },
    });
    await expect(testUnitReady(s, -1)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
  });

  it('MODE SENSE(10): WP only on the read-only LUNs; caching page; block descriptor matches READ CAPACITY', async () => {
    const rw = await modeSense(s, PLAIN);
    expect(rw.writeProtected).toBe(false);
    expect(rw.caching).toEqual({ wce: true, rcd: false });
    expect(rw.blockDescriptors).toHaveLength(1);
    expect(rw.blockDescriptors[0].blockLength).toBe((await s.readCapacity(PLAIN)).blockLength);
    expect(rw.pages.map((p) => p.page)).toEqual(expect.arrayContaining([0x08, 0x0a]));
    expect((await modeSense(s, RO)).writeProtected).toBe(true);
    expect((await modeSense(s, RO_THIN, { page: 0x08 })).writeProtected).toBe(true);
    expect((await modeSense(s, THIN, { page: 0x08 })).writeProtected).toBe(false);
  });

  it('MODE SENSE(10): page, subpage, page control and DBD reach the target', async () => {
    const caching = await modeSense(s, PLAIN, { page: 0x08 });
    expect(caching.pages.map((p) => [p.page, p.subpage])).toEqual([[0x08, 0]]);
    // The changeable mask: WCE can be changed, RCD cannot.
    expect((await modeSense(s, PLAIN, { page: 0x08, pageControl: 'changeable' })).caching).toEqual({ wce: true, rcd: false });
    expect((await modeSense(s, PLAIN, { page: 0x08, pageControl: 'default' })).caching).toEqual({ wce: true, rcd: false });
    // tgtd has no saved values: ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED.
    await expect(modeSense(s, PLAIN, { page: 0x08, pageControl: 'saved' })).rejects.toMatchObject({
      code: ErrorCodes.SCSI_ERROR,
      sense: { senseKey: 0x5, asc: 0x39 },
    });
    expect((await modeSense(s, PLAIN, { dbd: true })).blockDescriptors).toEqual([]);
    const control1 = await modeSense(s, PLAIN, { page: 0x0a, subpage: 0x01 });
    expect(control1.pages).toHaveLength(1);
    expect(control1.pages[0]).toMatchObject({ page: 0x0a, subpage: 0x01 });
    expect(control1.pages[0].raw[0] & 0x40).toBe(0x40);
    await expect(modeSense(s, PLAIN, { pageControl: 'bogus' as 'saved' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
    await expect(modeSense(s, PLAIN, { page: 0x40 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
  });

  it('MODE SENSE(10): a too-small allocation is re-issued with the reported MODE DATA LENGTH', async () => {
    const full = await modeSense(s, PLAIN);
    const sp = spy();
    const again = await modeSense(s, PLAIN, { allocationLength: 8 });
    expect(opcodes(sp)).toEqual([0x5a, 0x5a]);
    expect((sp.mock.calls[1][2] as Buffer).readUInt16BE(7)).toBe(110);
    expect(again.pages.map((p) => p.raw.toString('hex'))).toEqual(full.pages.map((p) => p.raw.toString('hex')));
  });

  it('INQUIRY VPD: supported pages, re-issue on a short allocation, unsupported page', async () => {
    const pages = parseSupportedVpdPages(await inquiryVpd(s, PLAIN, 0x00));
    expect(pages).toEqual(expect.arrayContaining([0x00, 0x80, 0x83, 0xb0, 0xb2]));
    const sp = spy();
    const b0 = await inquiryVpd(s, PLAIN, 0xb0, { allocationLength: 8 });
    expect(opcodes(sp)).toEqual([0x12, 0x12]);
    expect(b0.length).toBe(64);
    expect(parseBlockLimitsVpd(b0).maxCompareAndWriteLength).toBeGreaterThanOrEqual(0);
    await expect(inquiryVpd(s, PLAIN, 0x89)).rejects.toMatchObject({ code: ErrorCodes.SCSI_ERROR, sense: { senseKey: 0x5 } });
    await expect(inquiryVpd(s, PLAIN, 256)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
  });

  it('blockDeviceInfo: thin LUN advertises UNMAP/WRITE SAME, plain LUN nothing; cached per session and LUN', async () => {
    const thin = await blockDeviceInfo(s, THIN);
    expect(thin).toMatchObject({
      supportsUnmap: true,
      supportsWriteSame16: true,
      supportsWriteSame10: true,
      provisioning: { lbpu: true, lbprz: true, provisioningType: 2 },
      blockLimits: { maxUnmapLbaCount: 0xffffffff, maxUnmapBlockDescriptorCount: 0xffffffff },
    });
    expect((await s.readCapacity(THIN)).lbprz).toBe(true);
    const plain = await blockDeviceInfo(s, PLAIN);
    expect(plain).toMatchObject({
      supportsUnmap: false,
      supportsWriteSame16: false,
      supportsWriteSame10: false,
      provisioning: { lbpu: false, provisioningType: 0 },
    });
    const sp = spy();
    expect(await blockDeviceInfo(s, THIN)).toBe(thin);
    expect(sp).not.toHaveBeenCalled();
    expect(Object.isFrozen(thin)).toBe(true);
  });

  it('blockDeviceInfo: a failed lookup is not cached', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(blockDeviceInfo(s, BIG, { signal: ac.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORT_ERR });
    expect((await blockDeviceInfo(s, BIG)).supportsUnmap).toBe(false);
  });

  it('UNMAP: the ranges read back as zeros, the rest is intact, the backing file matches and shrinks', async () => {
    const file = tgtd.backingFile(tid, THIN);
    const blocks = (8 * 1024 * 1024) / BS;
    const image = crypto.randomBytes(blocks * BS);
    await s.write(THIN, 0, image);
    await s.flush(THIN);
    const before = allocatedBytes(file);
    const sp = spy();
    await unmap(s, THIN, [
      { lba: 64, blocks: 128 },
      { lba: 1000n, blocks: 3 },
      { lba: 5000, blocks: 0 },
    ]);
    expect(opcodes(sp)).toEqual([0x42]);
    const expected = Buffer.from(image);
    expected.fill(0, 64 * BS, 192 * BS);
    expected.fill(0, 1000 * BS, 1003 * BS);
    expect((await s.read(THIN, 0, 2048)).equals(expected.subarray(0, 2048 * BS))).toBe(true);
    expect(fs.readFileSync(file).equals(expected)).toBe(true);
    // 64 KiB of whole file-system blocks were punched out.
    expect(allocatedBytes(file)).toBeLessThanOrEqual(before - 64 * 1024);
  });

  it('UNMAP: more ranges than one parameter list holds are split into several commands', async () => {
    const file = tgtd.backingFile(tid, THIN);
    const pattern = Buffer.alloc(9000 * BS, 0xa5);
    await s.write(THIN, 4096, pattern);
    const ranges = Array.from({ length: 4500 }, (_, i) => ({ lba: 4096 + 2 * i, blocks: 1 }));
    const sp = spy();
    await unmap(s, THIN, ranges);
    expect(opcodes(sp)).toEqual([0x42, 0x42]);
    // Parameter lists of 4095 and 405 descriptors.
    expect(sp.mock.calls.map((c) => (c[3] as Buffer).length)).toEqual([8 + 16 * 4095, 8 + 16 * 405]);
    const back = await s.read(THIN, 4096, 9000);
    const disk = fs.readFileSync(file).subarray(4096 * BS, (4096 + 9000) * BS);
    for (let b = 0; b < 9000; b++) {
      // Ranges 4096 + 2i (i < 4500) cover every even block of the 9000.
      const wantByte = b % 2 === 0 ? 0 : 0xa5;
      if (back[b * BS] !== wantByte || back[b * BS + BS - 1] !== wantByte || disk[b * BS] !== wantByte) {
        throw new Error(`block ${4096 + b}: read ${back[b * BS]}, file ${disk[b * BS]}, expected ${wantByte}`);
      }
    }
  });

  it('UNMAP is refused without LBPU (tgtd agrees), past the end, and on a read-only LUN', async () => {
    const sp = spy();
    await expect(unmap(s, PLAIN, [{ lba: 0, blocks: 8 }])).rejects.toMatchObject({
      code: ErrorCodes.NOT_SUPPORTED,
      message: expect.stringContaining('LBPU'),
    });
    await expect(unmap(s, THIN, [{ lba: 16383, blocks: 2 }])).rejects.toMatchObject({ code: ErrorCodes.LBA_OUT_OF_RANGE });
    await expect(unmap(s, THIN, [{ lba: -1, blocks: 2 }])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
    await expect(unmap(s, THIN, [{ lba: 0, blocks: 1.5 }])).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
    expect(sp).not.toHaveBeenCalled();
    // What the target itself says to an UNMAP on the plain LUN.
    const params = unmapParameterList([{ lba: 0n, blocks: 8 }]);
    const raw = await s.scsi(PLAIN, Buffer.from([0x42, 0, 0, 0, 0, 0, 0, 0, params.length, 0]), { dataOut: params });
    expect(raw.status).toBe(2);
    expect(raw.senseData).toMatchObject({ senseKey: 0x5 });
    await expect(unmap(s, RO_THIN, [{ lba: 0, blocks: 8 }])).rejects.toMatchObject({
      code: ErrorCodes.SCSI_ERROR,
      sense: { senseKey: 0x7, senseKeyName: 'DATA PROTECT' },
    });
  });

  it('WRITE SAME(16) and (10) fill the range; neighbours and the backing file agree', async () => {
    const file = tgtd.backingFile(tid, PLAIN);
    const image = crypto.randomBytes(2048 * BS);
    await s.write(PLAIN, 0, image);
    const block = crypto.randomBytes(BS);
    const block10 = crypto.randomBytes(BS);
    const sp = spy();
    await writeSame(s, PLAIN, 100, 500, block);
    await writeSame(s, PLAIN, 1000n, 37, block10, { cdbSize: 10 });
    await writeSame(s, PLAIN, 1500, 0, block); // nothing sent
    expect(opcodes(sp)).toEqual([0x93, 0x41]);
    const expected = Buffer.from(image);
    for (let b = 100; b < 600; b++) block.copy(expected, b * BS);
    for (let b = 1000; b < 1037; b++) block10.copy(expected, b * BS);
    expect((await s.read(PLAIN, 0, 2048)).equals(expected)).toBe(true);
    expect(fs.readFileSync(file).subarray(0, 2048 * BS).equals(expected)).toBe(true);
  });

  it('WRITE SAME longer than 65535 blocks is split (tgtd reports no MAXIMUM WRITE SAME LENGTH)', async () => {
    const file = tgtd.backingFile(tid, BIG);
    const block = crypto.randomBytes(BS);
    const guard = Buffer.alloc(BS, 0x3c);
    await s.write(BIG, 99, guard);
    await s.write(BIG, 100 + 70000, guard);
    const sp = spy();
    await writeSame(s, BIG, 100, 70000, block);
    expect(sp.mock.calls.map((c) => (c[2] as Buffer).readUInt32BE(10))).toEqual([65535, 4465]);
    expect(sp.mock.calls.map((c) => (c[2] as Buffer).readBigUInt64BE(2))).toEqual([100n, 100n + 65535n]);
    const disk = Buffer.alloc(70002 * BS);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, disk, 0, disk.length, 99 * BS);
    } finally {
      fs.closeSync(fd);
    }
    expect(disk.subarray(0, BS).equals(guard)).toBe(true);
    expect(disk.subarray(70001 * BS).equals(guard)).toBe(true);
    for (let b = 1; b <= 70000; b++) {
      if (!disk.subarray(b * BS, (b + 1) * BS).equals(block)) throw new Error(`block ${98 + b} of the backing file differs`);
    }
    const edge = await s.read(BIG, 100 + 65533, 4);
    for (let i = 0; i < 4; i++) expect(edge.subarray(i * BS, (i + 1) * BS).equals(block)).toBe(true);
  });

  it('WRITE SAME with UNMAP on the thin LUN: zeros read back, holes in the backing file, both CDB sizes', async () => {
    const file = tgtd.backingFile(tid, THIN);
    const image = crypto.randomBytes(1024 * BS);
    await s.write(THIN, 2048, image);
    await s.flush(THIN);
    const before = allocatedBytes(file);
    const sp = spy();
    await writeSame(s, THIN, 2048, 256, Buffer.alloc(BS), { unmap: true });
    await writeSame(s, THIN, 2048 + 512, 256, Buffer.alloc(BS), { unmap: true, cdbSize: 10 });
    expect(sp.mock.calls.map((c) => [(c[2] as Buffer)[0], (c[2] as Buffer)[1]])).toEqual([
      [0x93, 0x08],
      [0x41, 0x08],
    ]);
    const expected = Buffer.from(image);
    expected.fill(0, 0, 256 * BS);
    expected.fill(0, 512 * BS, 768 * BS);
    expect((await s.read(THIN, 2048, 1024)).equals(expected)).toBe(true);
    expect(fs.readFileSync(file).subarray(2048 * BS, 3072 * BS).equals(expected)).toBe(true);
    expect(allocatedBytes(file)).toBeLessThanOrEqual(before - 2 * 128 * 1024);
  });

  it('WRITE SAME refusals: UNMAP without LBPWS (tgtd agrees), non-zero unmap data, bad sizes and ranges', async () => {
    const sp = spy();
    await expect(writeSame(s, PLAIN, 0, 8, Buffer.alloc(BS), { unmap: true })).rejects.toMatchObject({
      code: ErrorCodes.NOT_SUPPORTED,
      message: expect.stringContaining('LBPWS'),
    });
    await expect(writeSame(s, PLAIN, 0, 8, Buffer.alloc(BS), { unmap: true, cdbSize: 10 })).rejects.toMatchObject({
      code: ErrorCodes.NOT_SUPPORTED,
      message: expect.stringContaining('LBPWS10'),
    });
    await expect(writeSame(s, THIN, 0, 8, Buffer.alloc(BS, 1), { unmap: true })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARG,
      message: expect.stringContaining('all zeros'),
    });
    await expect(writeSame(s, PLAIN, 0, 8, Buffer.alloc(BS * 2))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARG,
      message: expect.stringContaining('block size 512'),
    });
    await expect(writeSame(s, PLAIN, 8191, 2, Buffer.alloc(BS))).rejects.toMatchObject({ code: ErrorCodes.LBA_OUT_OF_RANGE });
    await expect(writeSame(s, PLAIN, 2n ** 40n, 1, Buffer.alloc(BS))).rejects.toMatchObject({ code: ErrorCodes.LBA_OUT_OF_RANGE });
    await expect(writeSame(s, PLAIN, 0, 1, Buffer.alloc(BS), { cdbSize: 12 as 10 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARG });
    expect(sp).not.toHaveBeenCalled();
    // tgtd refuses the UNMAP bit on a LUN that is not thin-provisioned, too.
    const cdb = Buffer.alloc(16);
    cdb[0] = 0x93;
    cdb[1] = 0x08;
    cdb.writeUInt32BE(8, 10);
    const raw = await s.scsi(PLAIN, cdb, { dataOut: Buffer.alloc(BS) });
    expect(raw.status).toBe(2);
    expect(raw.senseData).toMatchObject({ senseKey: 0x5 });
    // A read-only LUN: the target's DATA PROTECT.
    await expect(writeSame(s, RO, 0, 8, Buffer.alloc(BS, 9))).rejects.toMatchObject({
      code: ErrorCodes.SCSI_ERROR,
      sense: { senseKey: 0x7 },
    });
  });
});
