import * as fs from 'node:fs';
import { openSession, IscsiError, type Session, type Inquiry } from '../lib';
import { startTgtd, runTool, type Tgtd } from './harness/tgtd';

const TARGET = 'iqn.2026-11.test.scsi:disk';
let tgtd: Tgtd;
let tid = 0;

/** Parses iscsi-inq's "Key:value" lines (standard INQUIRY page). */
function parseInqTool(out: string): Record<string, string | string[]> {
  const r: Record<string, string | string[]> = {};
  const descriptors: string[] = [];
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i);
    const value = line.slice(i + 1);
    if (key === 'Version Descriptor') descriptors.push(value.split(' ')[0]);
    else r[key] = value;
  }
  r['Version Descriptor'] = descriptors;
  return r;
}

const b = (v: boolean): string => (v ? '1' : '0');

function inquiryAsTool(q: Inquiry): Record<string, string | string[]> {
  return {
    'Peripheral Qualifier': q.peripheralQualifier === 0 ? 'CONNECTED' : String(q.peripheralQualifier),
    'Peripheral Device Type': q.deviceTypeName,
    Removable: b(q.removable),
    Version: String(q.version),
    NormACA: b(q.normaca),
    HiSup: b(q.hisup),
    ReponseDataFormat: String(q.responseDataFormat),
    SCCS: b(q.sccs),
    ACC: b(q.acc),
    TPGS: String(q.tpgs),
    '3PC': b(q.threePc),
    Protect: b(q.protect),
    EncServ: b(q.encserv),
    MultiP: b(q.multip),
    SYNC: b(q.sync),
    CmdQue: b(q.cmdque),
    Vendor: q.vendor,
    Product: q.product,
    Revision: q.revision,
    'Version Descriptor': q.versionDescriptors.map((d) => d.toString(16).padStart(4, '0')),
  };
}

function normaliseTool(r: Record<string, string | string[]>): Record<string, string | string[]> {
  const out = { ...r };
  // iscsi-inq prints "5 ANSI INCITS 408-2005 (SPC-3)" and keeps padding.
  out.Version = String(out.Version).split(' ')[0];
  for (const k of ['Vendor', 'Product', 'Revision']) out[k] = String(out[k]).replace(/ +$/, '');
  return out;
}

function parseCapTool(out: string): Record<string, number> {
  const m = (re: RegExp): number => {
    const x = re.exec(out);
    if (!x) throw new Error(`iscsi-readcapacity16 output lacks ${re}: ${out}`);
    return Number(x[1]);
  };
  return {
    lastLba: m(/RETURNED LOGICAL BLOCK ADDRESS:(\d+)/),
    blockLength: m(/LOGICAL BLOCK LENGTH IN BYTES:(\d+)/),
    pType: m(/P_TYPE:(\d+)/),
    protEn: m(/PROT_EN:(\d+)/),
    pIExponent: m(/P_I_EXPONENT:(\d+)/),
    lbppbe: m(/LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT:(\d+)/),
    lbpme: m(/LBPME:(\d+)/),
    lbprz: m(/LBPRZ:(\d+)/),
    lowestAlignedLba: m(/LOWEST ALIGNED LOGICAL BLOCK ADDRESS:(\d+)/),
    bytes: m(/Total size:(\d+)/),
  };
}

beforeAll(async () => {
  tgtd = await startTgtd();
  tid = await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: 64 }, { sizeMiB: 3 }] });
});

afterAll(async () => {
  await tgtd?.stop();
});

describe.each([
  ['no digests', {}],
  ['CRC32C digests', { headerDigest: 'crc32c' as const, dataDigest: 'crc32c' as const }],
])('SCSI helpers equal libiscsi tools (%s)', (_label, digestOpts) => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession({ target: TARGET, address: '127.0.0.1', port: tgtd.port }, digestOpts);
  });
  afterAll(async () => {
    await s?.close();
  });

  it.each([0, 1, 2])('INQUIRY LUN %d equals iscsi-inq', async (lun) => {
    const tool = normaliseTool(parseInqTool(await runTool('iscsi-inq', [`iscsi://${tgtd.portal}/${TARGET}/${lun}`])));
    const mine = inquiryAsTool(await s.inquiry(lun));
    expect(mine).toEqual(tool);
  });

  it.each([1, 2])('READ CAPACITY LUN %d equals iscsi-readcapacity16', async (lun) => {
    const tool = parseCapTool(await runTool('iscsi-readcapacity16', [`iscsi://${tgtd.portal}/${TARGET}/${lun}`]));
    const c = await s.readCapacity(lun);
    expect({
      lastLba: Number(c.lastLba),
      blockLength: c.blockLength,
      pType: c.pType,
      protEn: Number(c.protEn),
      pIExponent: c.pIExponent,
      lbppbe: c.lbppbe,
      lbpme: Number(c.lbpme),
      lbprz: Number(c.lbprz),
      lowestAlignedLba: c.lowestAlignedLba,
      bytes: Number(c.bytes),
    }).toEqual(tool);
    expect(c.blocks).toBe(c.lastLba + 1n);
    expect(c.bytes).toBe(BigInt(fs.statSync(tgtd.backingFile(tid, lun)).size));
  });

  it('REPORT LUNS equals the LUNs iscsi-ls -s lists', async () => {
    const out = await runTool('iscsi-ls', ['-s', `iscsi://${tgtd.portal}`]);
    const luns: number[] = [];
    let inTarget = false;
    for (const line of out.split('\n')) {
      if (line.startsWith('Target:')) inTarget = line.startsWith(`Target:${TARGET} `);
      const m = /^\s*Lun:(\d+)\s/.exec(line);
      if (m && inTarget) luns.push(Number(m[1]));
    }
    expect(luns.sort()).toEqual([0, 1, 2]);
    expect((await s.reportLuns()).sort()).toEqual(luns);
  });

  it('raw READ(10) returns the backing file contents', async () => {
    const file = tgtd.backingFile(tid, 2);
    const pattern = Buffer.alloc(4096);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 3) & 0xff;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, pattern, 0, pattern.length, 512 * 10);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // READ(10): LBA 10, 8 blocks of 512 bytes.
    const cdb = Buffer.from([0x28, 0, 0, 0, 0, 10, 0, 0, 8, 0]);
    const r = await s.scsi(2, cdb, { inLength: 4096 });
    expect(r.status).toBe(0);
    expect(r.statusName).toBe('GOOD');
    expect(r.data.equals(pattern)).toBe(true);
  });

  it('raw TEST UNIT READY', async () => {
    const r = await s.scsi(1, Buffer.alloc(6));
    expect(r.status).toBe(0);
    expect(r.data.length).toBe(0);
  });

  it('raw pass-through resolves a CHECK CONDITION with decoded sense', async () => {
    // Opcode 0xff is not supported by tgtd: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE.
    const r = await s.scsi(1, Buffer.from([0xff, 0, 0, 0, 0, 0]));
    expect(r.status).toBe(2);
    expect(r.statusName).toBe('CHECK CONDITION');
    expect(r.senseData).toMatchObject({ senseKey: 5, senseKeyName: 'ILLEGAL REQUEST', asc: 0x20, ascq: 0 });
  });

  it('typed helpers map CHECK CONDITION to ISCSI_SCSI_ERROR', async () => {
    let err: IscsiError | undefined;
    try {
      await s.readCapacity(9); // no such LUN
    } catch (e) {
      err = e as IscsiError;
    }
    expect(err).toBeInstanceOf(IscsiError);
    expect(err?.code).toBe('ISCSI_SCSI_ERROR');
    expect(err?.scsiStatus).toBe(2);
    expect(err?.sense?.senseKey).toBe(5);
    expect(err?.sense?.asc).toBe(0x25); // LOGICAL UNIT NOT SUPPORTED
    expect(err?.message).toContain('ILLEGAL REQUEST');
    expect(err?.message).toContain('ASC 0x25');
    expect(err?.message).toContain(TARGET);
  });

  it('validates arguments', async () => {
    await expect(s.inquiry(-1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.inquiry(1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.scsi(1, Buffer.alloc(17))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.scsi(1, Buffer.alloc(6), { inLength: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.scsi(1, Buffer.alloc(6), { inLength: 1, dataOut: Buffer.alloc(1) })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(s.inquiry(1, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
