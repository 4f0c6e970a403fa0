/**
 * Block I/O (lib/block-io.ts) against a private tgtd: 64 MiB images through
 * the streams (plain, CRC32C digests, and the R2T path with
 * ImmediateData=No/InitialR2T=Yes on the target), compared by SHA-256 with
 * the image and with tgtd's backing file; typed errors for bad ranges and a
 * read-only LUN; stream destroy() leaving the session usable.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openSession, type Session } from '../lib/session';
import { LBA_OUT_OF_RANGE, cdbRw } from '../lib/block-io';
import { startTgtd, type Tgtd } from './harness/tgtd';

const PLAIN = 'iqn.2026-11.test.blockio:plain';
const R2T = 'iqn.2026-11.test.blockio:r2t';
const IMAGE_MIB = 64;
let tgtd: Tgtd;
let tidPlain = 0;
let tidR2t = 0;
let image: Buffer;
let imageSha = '';
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

function fileSha(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** The image in odd-sized pieces, so the write stream must carry partial blocks. */
function* pieces(buf: Buffer, size: number): Generator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, Math.min(off + size, buf.length));
}

async function streamRoundTrip(s: Session, lun: number, label: string, backing: string): Promise<void> {
  let t = process.hrtime.bigint();
  await pipeline(Readable.from(pieces(image, 100_003)), s.createWriteStream(lun));
  const wSec = Number(process.hrtime.bigint() - t) / 1e9;
  expect(await fileSha(backing)).toBe(imageSha);

  t = process.hrtime.bigint();
  const h = crypto.createHash('sha256');
  let n = 0;
  for await (const chunk of s.createReadStream(lun)) {
    h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  const rSec = Number(process.hrtime.bigint() - t) / 1e9;
  expect(n).toBe(image.length);
  expect(h.digest('hex')).toBe(imageSha);
  // Measured, not asserted.
  process.stdout.write(
    `block-io ${label}: write ${(IMAGE_MIB / wSec).toFixed(1)} MB/s, read ${(IMAGE_MIB / rSec).toFixed(1)} MB/s (MiB/s, ${IMAGE_MIB} MiB)\n`,
  );
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  image = crypto.randomBytes(IMAGE_MIB * 1024 * 1024);
  imageSha = sha(image);
  tgtd = await startTgtd();
  // LUN 1: the image; LUN 2: small scratch; LUN 3: read-only.
  tidPlain = await tgtd.addTarget(PLAIN, { luns: [{ sizeMiB: IMAGE_MIB }, { sizeMiB: 1 }, { sizeMiB: 1 }] });
  await tgtd.tgtadm(['--op', 'update', '--mode', 'logicalunit', '--tid', String(tidPlain), '--lun', '3', '--params', 'readonly=1']);
  tidR2t = await tgtd.addTarget(R2T, { luns: [{ sizeMiB: IMAGE_MIB }] });
  for (const [k, v] of [['ImmediateData', 'No'], ['InitialR2T', 'Yes']]) {
    await tgtd.tgtadm(['--op', 'update', '--mode', 'target', '--tid', String(tidR2t), '-n', k, '-v', v]);
  }
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await tgtd?.stop();
});

describe('CDB choice', () => {
  it('uses the 10-byte form only when LBA+length fit 32 bits and length fits 16 bits', () => {
    expect(cdbRw(false, 0n, 65535).toString('hex')).toBe('28000000000000ffff00');
    expect(cdbRw(true, 0xfffffffen, 1).toString('hex')).toBe('2a00fffffffe00000100');
    expect(cdbRw(false, 0n, 65536).toString('hex')).toBe('88000000000000000000000100000000');
    expect(cdbRw(true, 0xffffffffn, 1).toString('hex')).toBe('8a0000000000ffffffff000000010000');
  });
});

describe.each([
  ['no digests', {}],
  ['CRC32C header+data digests', { headerDigest: 'crc32c' as const, dataDigest: 'crc32c' as const }],
])('block I/O (%s)', (label, digestOpts) => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession({ target: PLAIN, address: '127.0.0.1', port: tgtd.port }, digestOpts);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('streams a 64 MiB random image in and out (SHA-256 = image = backing file)', async () => {
    if ('headerDigest' in digestOpts) {
      expect(s.parameters.headerDigest).toBe('CRC32C');
      expect(s.parameters.dataDigest).toBe('CRC32C');
    }
    await streamRoundTrip(s, 1, label, tgtd.backingFile(tidPlain, 1));
  }, 60000);

  it('read/readInto/write/flush with 10- and 16-byte CDBs', async () => {
    const data = crypto.randomBytes(1024 * 1024);
    await s.write(2, 0, data, { chunkBytes: 64 * 1024, queueDepth: 4 });
    await s.flush(2);
    expect((await s.read(2, 0, 2048)).equals(data)).toBe(true);
    const into = Buffer.alloc(4096);
    expect(await s.readInto(2, 8n, into)).toBe(4096);
    expect(into.equals(data.subarray(4096, 8192))).toBe(true);
    // 80000 blocks in one command: READ(16).
    const big = await s.read(1, 1000, 80000, { chunkBytes: 80000 * 512 });
    expect(big.equals(image.subarray(1000 * 512, 81000 * 512))).toBe(true);
    expect(fs.readFileSync(tgtd.backingFile(tidPlain, 2)).equals(data)).toBe(true);
  });
});

describe('R2T path (target ImmediateData=No, InitialR2T=Yes)', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession({ target: R2T, address: '127.0.0.1', port: tgtd.port });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('negotiated the R2T-only parameters and round-trips 64 MiB', async () => {
    expect(s.parameters.immediateData).toBe(false);
    expect(s.parameters.initialR2T).toBe(true);
    await streamRoundTrip(s, 1, 'R2T path', tgtd.backingFile(tidR2t, 1));
  }, 60000);
});

describe('errors and cancellation', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openSession({ target: PLAIN, address: '127.0.0.1', port: tgtd.port });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('LBA ranges past the capacity reject with ISCSI_LBA_OUT_OF_RANGE before any I/O', async () => {
    const blocks = 2048; // 1 MiB of 512-byte blocks
    await expect(s.read(2, blocks - 1, 2)).rejects.toMatchObject({ code: LBA_OUT_OF_RANGE, name: 'IscsiError' });
    await expect(s.write(2, blocks, Buffer.alloc(512))).rejects.toMatchObject({ code: 'ISCSI_LBA_OUT_OF_RANGE' });
    await expect(s.read(2, 2n ** 40n, 1)).rejects.toMatchObject({ code: 'ISCSI_LBA_OUT_OF_RANGE' });
    const rs = s.createReadStream(2, { start: 0, end: blocks * 512 + 511 });
    await expect(rs.toArray()).rejects.toMatchObject({ code: 'ISCSI_LBA_OUT_OF_RANGE' });
    const ws = s.createWriteStream(2, { start: (blocks - 1) * 512 });
    await expect(pipeline(Readable.from([Buffer.alloc(1024)]), ws)).rejects.toMatchObject({ code: 'ISCSI_LBA_OUT_OF_RANGE' });
    // The last block itself is fine.
    expect((await s.read(2, blocks - 1, 1)).length).toBe(512);
  });

  it('refuses byte ranges that are not block aligned', async () => {
    await expect(s.write(2, 0, Buffer.alloc(100))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('not a multiple of the block size 512'),
    });
    await expect(s.readInto(2, 0, Buffer.alloc(513))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.read(2, -1, 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(s.createReadStream(2, { start: 100 }).toArray()).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('options.start'),
    });
    await expect(s.createReadStream(2, { end: 1000 }).toArray()).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    // A stream whose total is not whole blocks fails at end(); the whole
    // blocks before the tail were written.
    const ws = s.createWriteStream(2, { start: 4096 });
    await expect(pipeline(Readable.from([Buffer.alloc(512, 7), Buffer.alloc(10, 7)]), ws)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('partial 512-byte block'),
    });
    expect((await s.read(2, 8, 1)).equals(Buffer.alloc(512, 7))).toBe(true);
  });

  it('a read-only LUN rejects WRITE with ISCSI_SCSI_ERROR, sense key DATA PROTECT', async () => {
    const err = await s.write(3, 0, Buffer.alloc(512)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ISCSI_SCSI_ERROR', scsiStatus: 2, sense: { senseKey: 0x7, senseKeyName: 'DATA PROTECT' } });
    const ws = s.createWriteStream(3);
    await expect(pipeline(Readable.from([Buffer.alloc(4096)]), ws)).rejects.toMatchObject({
      code: 'ISCSI_SCSI_ERROR',
      sense: { senseKey: 0x7 },
    });
    // Reading it is fine.
    expect((await s.read(3, 0, 1)).length).toBe(512);
  });

  it('read stream respects backpressure: nothing is issued while the buffer is full', async () => {
    const hwm = 256 * 1024;
    const chunk = 64 * 1024;
    const rs = s.createReadStream(1, { highWaterMark: hwm, queueDepth: 2, chunkBytes: chunk });
    rs.read(0); // start filling, consume nothing
    await new Promise((r) => setTimeout(r, 300));
    const buffered = rs.readableLength;
    expect(buffered).toBeGreaterThanOrEqual(hwm);
    // At most what was in flight when the buffer crossed the mark.
    expect(buffered).toBeLessThanOrEqual(hwm + 2 * chunk);
    await new Promise((r) => setTimeout(r, 200));
    expect(rs.readableLength).toBe(buffered);
    // Consuming resumes it, in order.
    const first = rs.read(8192) as Buffer;
    expect(first.equals(image.subarray(0, 8192))).toBe(true);
    rs.destroy();
    await new Promise((r) => rs.on('close', r));
  });

  it('destroy() mid-stream waits for in-flight reads; the session stays usable and closes', async () => {
    const rs = s.createReadStream(1, { queueDepth: 8, highWaterMark: 512 * 1024 });
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      rs.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 4 * 1024 * 1024 && !rs.destroyed) rs.destroy();
      });
      rs.on('error', reject);
      rs.on('close', resolve);
    });
    expect(got).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(got).toBeLessThan(image.length);
    // Nothing of the stream is pending: a command right after works and
    // returns the image's bytes.
    expect((await s.read(1, 0, 8)).equals(image.subarray(0, 4096))).toBe(true);
    const ws = s.createWriteStream(2);
    ws.write(Buffer.alloc(512));
    ws.destroy();
    await new Promise((r) => ws.on('close', r));
    await s.close();
    await expect(s.read(1, 0, 1)).rejects.toMatchObject({ code: 'ISCSI_SESSION_CLOSED' });
    expect(unhandled).toEqual([]);
  });
});
