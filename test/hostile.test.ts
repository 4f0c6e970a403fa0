/**
 * Hostile-peer tests: a tiny scripted iSCSI target on node:net (tgtd cannot
 * be made to misbehave). PDUs are built by hand from RFC 7143 section 11:
 * 48-byte BHS, DataSegmentLength in bytes 5..7, data padded to 4 bytes.
 */
import * as net from 'node:net';
import { discoverSendTargets, IscsiError, type Logger } from '../lib';
import { rejection } from './harness/scripted-session';

const OP_NOP_OUT = 0x00;
const OP_LOGIN_REQ = 0x03;
const OP_TEXT_REQ = 0x04;
const OP_LOGOUT_REQ = 0x06;

interface Pdu {
  bhs: Buffer;
  data: Buffer;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** key=value\0 ... (RFC 7143 6.1). Values are latin1 so any byte survives. */
function textData(pairs: Array<[string, string]>): Buffer {
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'latin1');
}

function parseText(data: Buffer): Array<[string, string]> {
  return data
    .toString('latin1')
    .split('\0')
    .filter((s) => s.length > 0)
    .map((kv) => {
      const i = kv.indexOf('=');
      return [kv.slice(0, i), kv.slice(i + 1)] as [string, string];
    });
}

function pdu(bhs: Buffer, data: Buffer = Buffer.alloc(0)): Buffer {
  bhs.writeUIntBE(data.length, 5, 3);
  const out = Buffer.alloc(48 + pad4(data.length));
  bhs.copy(out, 0, 0, 48);
  data.copy(out, 48);
  return out;
}

/** Answers for the keys a login request offered (enough for discovery). */
function answerKeys(offered: Array<[string, string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of offered) {
    switch (k) {
      case 'InitiatorName':
      case 'InitiatorAlias':
      case 'SessionType':
      case 'TargetName':
        break; // declarations
      case 'AuthMethod':
        out.push([k, 'None']);
        break;
      case 'HeaderDigest':
      case 'DataDigest':
        out.push([k, 'None']);
        break;
      case 'MaxRecvDataSegmentLength':
        out.push([k, '8192']); // declarative: ours
        break;
      case 'InitialR2T':
      case 'ImmediateData':
      case 'DataPDUInOrder':
      case 'DataSequenceInOrder':
      case 'MaxBurstLength':
      case 'FirstBurstLength':
      case 'DefaultTime2Wait':
      case 'DefaultTime2Retain':
      case 'MaxOutstandingR2T':
      case 'MaxConnections':
      case 'ErrorRecoveryLevel':
      case 'IFMarker':
      case 'OFMarker':
        out.push([k, v]); // echoing the offer is a valid answer for these
        break;
      default:
        out.push([k, 'NotUnderstood']);
    }
  }
  return out;
}

interface Script {
  /** Called for the first login request of each connection; return a
   * Buffer to send instead of the normal answer. */
  onLogin?: (req: Pdu, sock: net.Socket) => Buffer | null;
  sendTargets?: Buffer;
}

class ScriptedTarget {
  server: net.Server;
  port = 0;
  sockets = new Set<net.Socket>();
  connections = 0;

  constructor(private script: Script) {
    this.server = net.createServer((s) => this.serve(s));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private serve(sock: net.Socket): void {
    this.connections++;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let statSN = 0x100;
    let expCmdSN = 0;
    let firstLogin = true;
    const hdr = (op: number, flags: number, itt: number): Buffer => {
      const b = Buffer.alloc(48);
      b[0] = op;
      b[1] = flags;
      b.writeUInt32BE(itt, 16);
      b.writeUInt32BE(statSN++ >>> 0, 24);
      b.writeUInt32BE(expCmdSN >>> 0, 28);
      b.writeUInt32BE((expCmdSN + 31) >>> 0, 32);
      return b;
    };
    const handle = (req: Pdu): void => {
      const op = req.bhs[0] & 0x3f;
      const immediate = (req.bhs[0] & 0x40) !== 0;
      const itt = req.bhs.readUInt32BE(16);
      const cmdSN = req.bhs.readUInt32BE(24);
      if (op === OP_LOGIN_REQ) {
        if (firstLogin) {
          expCmdSN = cmdSN;
          firstLogin = false;
          const special = this.script.onLogin?.(req, sock);
          if (special) {
            sock.write(special);
            return;
          }
        }
        const t = (req.bhs[1] & 0x80) !== 0;
        const csg = (req.bhs[1] >> 2) & 3;
        const nsg = req.bhs[1] & 3;
        const b = hdr(0x23, (t ? 0x80 | nsg : 0) | (csg << 2), itt);
        req.bhs.copy(b, 8, 8, 14); // ISID
        if (t && nsg === 3) b.writeUInt16BE(0x2a, 14); // TSIH on the final response
        sock.write(pdu(b, textData(answerKeys(parseText(req.data)))));
        return;
      }
      if (!immediate && cmdSN === expCmdSN) expCmdSN++;
      if (op === OP_TEXT_REQ) {
        const b = hdr(0x24, 0x80, itt);
        b.writeUInt32BE(0xffffffff, 20);
        sock.write(pdu(b, this.script.sendTargets ?? Buffer.alloc(0)));
      } else if (op === OP_LOGOUT_REQ) {
        sock.write(pdu(hdr(0x26, 0x80, itt)));
        sock.end();
      } else if (op === OP_NOP_OUT && itt !== 0xffffffff) {
        const b = hdr(0x20, 0x80, itt);
        b.writeUInt32BE(0xffffffff, 20);
        sock.write(pdu(b, req.data));
      }
    };
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 48) {
        const ahs = buf[4] * 4;
        const dlen = buf.readUIntBE(5, 3);
        const total = 48 + ahs + pad4(dlen);
        if (buf.length < total) break;
        const bhs = Buffer.from(buf.subarray(0, 48));
        const data = Buffer.from(buf.subarray(48 + ahs, 48 + ahs + dlen));
        buf = buf.subarray(total);
        handle({ bhs, data });
      }
    });
  }
}

function redirectTo(port: number) {
  return (req: Pdu): Buffer => {
    const b = Buffer.alloc(48);
    b[0] = 0x23;
    b[1] = ((req.bhs[1] >> 2) & 3) << 2; // T=0, CSG echoed
    req.bhs.copy(b, 8, 8, 14);
    req.bhs.copy(b, 16, 16, 20); // ITT
    b.writeUInt32BE(1, 24);
    b.writeUInt32BE(req.bhs.readUInt32BE(24), 28);
    b.writeUInt32BE(req.bhs.readUInt32BE(24) + 1, 32);
    b[36] = 0x01; // status class: redirection
    b[37] = 0x01; // target moved temporarily
    return pdu(b, textData([['TargetAddress', `127.0.0.1:${port},1`]]));
  };
}


const started: ScriptedTarget[] = [];
async function target(script: Script): Promise<ScriptedTarget> {
  const t = new ScriptedTarget(script);
  await t.listen();
  started.push(t);
  return t;
}

afterAll(async () => {
  await Promise.all(started.map((t) => t.close()));
});

const GOOD_TARGETS: Array<[string, string]> = [
  ['TargetName', 'iqn.2026-11.test.hostile:good'],
  ['TargetAddress', '127.0.0.1:3260,1'],
  ['TargetName', 'iqn.2026-11.test.hostile:bad\x01name'],
  ['TargetAddress', '127.0.0.1:3260,1'],
  ['TargetName', 'iqn.2026-11.test.hostile:also-good'],
  ['TargetAddress', '[::1]:3261,7'],
  ['TargetAddress', '10.0.0.1:3262,2'],
  ['TargetName', 'iqn.2026-11.test.hostile:esc\x1b[31mred'],
  ['TargetAddress', '127.0.0.1:3260,1'],
  ['TargetName', `iqn.2026-11.test.hostile:${'x'.repeat(300)}`],
  ['TargetAddress', '127.0.0.1:3260,1'],
  ['TargetName', 'iqn.2026-11.test.hostile:del\x7f'],
  ['TargetAddress', '127.0.0.1:3260,1'],
];

const EXPECTED = [
  { target: 'iqn.2026-11.test.hostile:good', address: '127.0.0.1', port: 3260, tpgt: 1, iface: 'default' },
  { target: 'iqn.2026-11.test.hostile:also-good', address: '::1', port: 3261, tpgt: 7, iface: 'default' },
  { target: 'iqn.2026-11.test.hostile:also-good', address: '10.0.0.1', port: 3262, tpgt: 2, iface: 'default' },
];

describe('hostile peers', () => {
  it('drops SendTargets entries with control characters or oversized names', async () => {
    const t = await target({ sendTargets: textData(GOOD_TARGETS) });
    const warnings: string[] = [];
    const logger: Logger = { warn: (m) => warnings.push(m) };
    const got = await discoverSendTargets(`127.0.0.1:${t.port}`, { timeoutMs: 5000, logger });
    expect(got).toEqual(EXPECTED);
    for (const e of got) expect(e.target).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(warnings.some((w) => /dropped \d+ invalid/.test(w))).toBe(true);
  });

  it('garbage instead of a login response -> ISCSI_PROTOCOL_ERROR', async () => {
    const garbage = Buffer.alloc(48 + 16, 0xa5);
    garbage[0] = 0x15; // not a target opcode (RFC 7143 11.1)
    garbage[4] = 0; // no AHS, so the whole PDU is on the wire
    garbage.writeUIntBE(16, 5, 3);
    const t = await target({ onLogin: () => garbage });
    const e = await rejection(discoverSendTargets(`127.0.0.1:${t.port}`, { timeoutMs: 5000 }));
    expect(e.code).toBe('ISCSI_PROTOCOL_ERROR');
    expect(e.portal).toBe(`127.0.0.1:${t.port}`);
  });

  it('follows a 0x0101 redirect to a second listener', async () => {
    const real = await target({ sendTargets: textData(GOOD_TARGETS.slice(0, 2)) });
    const front = await target({ onLogin: redirectTo(real.port) });
    const got = await discoverSendTargets(`127.0.0.1:${front.port}`, { timeoutMs: 5000 });
    expect(got).toEqual([EXPECTED[0]]);
    expect(front.connections).toBe(1);
    expect(real.connections).toBe(1);
  });

  it('a redirect loop -> ISCSI_TOO_MANY_REDIRECTS', async () => {
    const a = new ScriptedTarget({});
    const b = new ScriptedTarget({});
    await a.listen();
    await b.listen();
    started.push(a, b);
    (a as unknown as { script: Script }).script = { onLogin: redirectTo(b.port) };
    (b as unknown as { script: Script }).script = { onLogin: redirectTo(a.port) };
    const e = await rejection(discoverSendTargets(`127.0.0.1:${a.port}`, { timeoutMs: 5000 }));
    expect(e.code).toBe('ISCSI_TOO_MANY_REDIRECTS');
    expect(a.connections + b.connections).toBeGreaterThan(2);
    expect(a.connections + b.connections).toBeLessThan(20);
  });
});
